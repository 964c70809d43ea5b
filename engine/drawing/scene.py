"""What a drawing of a graph contains, independent of how it is written (DOT or text).

A :class:`Scene` decides which Values get a box, what role colours them, which operation node
feeds each box, which edges connect them, and which scope cluster each box sits in. Values
created inside ``scope()`` blocks carry a scope path such as nn's ``("layer0", "neuron1")``;
collapsing replaces every Value of such a scope (named by a word, or at a depth) by a single
group box.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..errors import OperandTypeError
from ..graph import topological_order
from ..naming import (
    local_formula,
    named_by,
    node_names,
    node_roles,
    operation_text,
    scope_words,
)
from ..primitives import Primitive
from ..value import Value
from .errors import DrawOptionError, GraphTooLargeError

Role = Literal["input", "parameter", "intermediate", "output", "constant"]
Collapse = str | int | None
ScopePath = tuple[str, ...]
GroupRule = Callable[[ScopePath], "ScopePath | None"]

DEFAULT_MAX_NODES = 300


@dataclass(eq=False)
class ValueBox:
    """One drawn Value: DOT name and SVG id ``n{index}``, ``index`` its topological position."""

    index: int
    value: Value
    role: Role
    highlighted: bool
    title: str = ""  # what the node is called (see naming.node_names)
    grad: float = 0.0  # the gradient shown

    @property
    def name(self) -> str:
        return f"n{self.index}"


@dataclass(eq=False)
class OperationBox:
    """The small node showing the operation that computed the Value ``n{index}``.

    ``operands[i]`` is the i-th input: ``None`` for a Value drawn as an edge, or the number of
    a constant, which is written into the node instead (``x * 2``).
    """

    index: int
    value: Value
    operands: tuple[float | None, ...]
    operand_names: tuple[str, ...] = ()  # the inputs' names (constants: their number)

    @property
    def name(self) -> str:
        return f"op{self.index}"

    @property
    def primitive(self) -> Primitive:
        primitive = self.value.primitive
        assert primitive is not None, "an operation box is made for operation nodes only"
        return primitive

    def text(self, number: Callable[[float], str]) -> str:
        """The operation in its operands' names: ``q * z``, ``x ** 2``."""
        written = [
            name if value is None else number(value)
            for name, value in zip(self.operand_names, self.operands, strict=True)
        ]
        return operation_text(self.primitive, written)

    def formulas(self) -> list[str]:
        """The local derivative of each input that gets a gradient (constants get none)."""
        return [
            local_formula(self.primitive, slot, self.operand_names)
            for slot, value in enumerate(self.operands)
            if value is None
        ]


@dataclass(eq=False)
class GroupBox:
    """A whole neuron or layer drawn as one box; ``outputs`` are its Values used outside."""

    name: str
    path: ScopePath
    outputs: list[ValueBox] = field(default_factory=list)
    size: int = 0
    highlighted: bool = False


@dataclass(eq=False)
class Edge:
    source: str
    target: str
    #: "x" or "y" when the target operation has two drawn inputs, so that non-commutative
    #: operations (x - y, x / y, x ** y) can be read off the picture.
    input_name: str | None = None


@dataclass(eq=False)
class Cluster:
    name: str
    path: ScopePath
    boxes: list[ValueBox | OperationBox | GroupBox] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)


@dataclass(eq=False)
class Scene:
    top: Cluster  # the graph itself: the cluster with the empty path
    edges: list[Edge]
    value_count: int  # Values that got their own box
    group_count: int
    has_highlight: bool
    roles: set[str]  # roles of the boxes drawn ("group" for collapsed boxes, "operation")


def _values(argument: str, values: Iterable[Value] | None) -> set[Value]:
    if values is None:
        return set()
    if isinstance(values, Value):
        values = (values,)
    if not isinstance(values, Iterable) or isinstance(values, str):
        raise OperandTypeError(
            f"draw: {argument} must be Values (a list or set of them), got "
            f"{type(values).__name__}"
        )
    chosen = set()
    for v in values:
        if not isinstance(v, Value):
            raise OperandTypeError(f"draw: {argument} must hold Values, got {type(v).__name__}")
        chosen.add(v)
    return chosen


def _group_rule(collapse: Collapse) -> GroupRule:
    """The scope prefix a Value is collapsed into (None: drawn on its own)."""
    if collapse is None:
        return lambda path: None
    if isinstance(collapse, str) and collapse:
        word = collapse

        # By name, not depth, so that a model wrapping its layers in a further scope still
        # collapses at the right level: the first scope named by the word ("neuron1").
        def by_name(path: ScopePath) -> ScopePath | None:
            for depth, part in enumerate(path):
                if named_by(part, word):
                    return path[: depth + 1]
            return None

        return by_name
    if isinstance(collapse, int) and not isinstance(collapse, bool) and collapse >= 1:
        return lambda path: path[:collapse] if len(path) >= collapse else None
    raise DrawOptionError(
        "draw: collapse must be a word naming scopes ('neuron' for neuron0, neuron1...), a "
        f"scope depth >= 1 or None, got {collapse!r}"
    )


def _check_collapse_word(collapse: Collapse, order: list[Value], group_of: GroupRule) -> None:
    """A word that names none of the graph's scopes is a mistake (a misspelt one, most often)."""
    if not isinstance(collapse, str) or any(group_of(v.scope) for v in order):
        return
    scopes = sorted({part for v in order for part in v.scope})
    words = scope_words([v.scope for v in order])
    found = f"its scopes: {', '.join(scopes[:8])}{'...' if len(scopes) > 8 else ''}" if scopes \
        else "it has none"
    advice = f"; try {' or '.join(repr(w) for w in words)}" if words else ""
    raise DrawOptionError(
        f"draw: collapse={collapse!r} names none of the graph's scopes ({found}){advice}"
    )


class _Names:
    """Deterministic, DOT- and SVG-safe names for scope paths (``cluster_layer0_neuron1``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.by_path: dict[ScopePath, str] = {}
        self.taken: set[str] = set()

    def __call__(self, path: ScopePath) -> str:
        name = self.by_path.get(path)
        if name is None:
            base = self.prefix + "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in path)
            name, suffix = base, 1
            while name in self.taken:  # "a-b" and "a_b" would otherwise share a name
                suffix += 1
                name = f"{base}_{suffix}"
            self.taken.add(name)
            self.by_path[path] = name
        return name


def build_scene(
    root: Value,
    *,
    parameters: Iterable[Value] | None = None,
    highlight: Iterable[Value] | None = None,
    collapse: Collapse = None,
    clusters: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    names: Sequence[str] | None = None,
    gradients: Sequence[float | None] | None = None,
    order: list[Value] | None = None,
) -> Scene:
    if not isinstance(root, Value):
        raise OperandTypeError(f"draw: root must be a Value, got {type(root).__name__}")
    if max_nodes is not None and (
        not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1
    ):
        raise DrawOptionError(f"draw: max_nodes must be a positive int or None, got {max_nodes!r}")
    group_of = _group_rule(collapse)
    if order is None:
        order = topological_order(root)
    _check_collapse_word(collapse, order, group_of)
    if names is None:
        names = node_names(order)
    elif len(names) != len(order) or not all(isinstance(n, str) for n in names):
        raise DrawOptionError(
            f"draw: names must hold one str per node of topological_order(root) ({len(order)})"
        )
    if gradients is not None and (
        len(gradients) != len(order)
        or not all(
            g is None or (isinstance(g, int | float) and not isinstance(g, bool))
            for g in gradients
        )
    ):
        raise DrawOptionError(
            f"draw: gradients must hold one number per node of topological_order(root) "
            f"({len(order)}, None for a constant), got "
            f"{len(gradients)} items of types "
            f"{', '.join(sorted({type(g).__name__ for g in gradients}))[:80]}"
        )
    given = None if parameters is None else _values("parameters", parameters)
    builder = _SceneBuilder(
        root, node_roles(order, given, names), names, _values("highlight", highlight), clusters
    )
    if max_nodes is not None:
        # Counted before anything is built: refusing a huge graph should be quick.
        count = _count_boxes(order, root, group_of)
        if count > max_nodes:
            raise GraphTooLargeError(_too_large_message(count, max_nodes, collapse, order))
    builder.position = {v: i for i, v in enumerate(order)}
    builder.gradients = gradients
    members = builder.position
    for v in builder.highlighted:
        if v not in members:
            raise DrawOptionError(f"draw: highlight: {v!r} is not part of the graph of {root!r}")
    for i, v in enumerate(order):
        if v.is_constant and v is not root:
            continue  # written into the operation that uses it
        path = group_of(v.scope)
        if path is None:
            builder.add_value(i, v)
        else:
            builder.add_to_group(i, v, path)
    return builder.scene()


class _SceneBuilder:
    """Places Values, in topological order, as boxes (or into collapsed groups) with edges."""

    def __init__(
        self,
        root: Value,
        roles: Sequence[str],
        names: Sequence[str],
        highlighted: set[Value],
        clusters: bool,
    ) -> None:
        self.root = root
        self.position: dict[Value, int] = {}
        self.gradients: Sequence[float | None] | None = None
        self.roles_by_index = roles
        self.names = names
        self.highlighted = highlighted
        self.use_clusters = clusters
        self.top = Cluster("", ())
        self.clusters: dict[ScopePath, Cluster] = {(): self.top}
        self.cluster_names = _Names("cluster_")
        self.group_names = _Names("group_")
        self.groups: dict[ScopePath, GroupBox] = {}
        self.group_of: dict[Value, GroupBox] = {}  # collapsed Values only
        self.drawn_as: dict[Value, str] = {}  # Value -> name of the box its edges leave from
        self.boxes: dict[Value, ValueBox] = {}
        self.edges: list[Edge] = []
        self.group_inputs: set[tuple[str, str]] = set()
        self.roles: set[str] = set()

    def role(self, i: int) -> Role:
        role = self.roles_by_index[i]
        # The vocabulary's "operation" is drawn as an intermediate value (the operation itself
        # is the oval beside it).
        return "intermediate" if role == "operation" else role  # type: ignore[return-value]

    def cluster(self, path: ScopePath) -> Cluster:
        if not self.use_clusters:
            return self.top
        found = self.clusters.get(path)
        if found is None:
            found = Cluster(self.cluster_names(path), path)
            self.cluster(path[:-1]).children.append(found)
            self.clusters[path] = found
        return found

    def box(self, i: int, v: Value) -> ValueBox:
        grad = v.grad if self.gradients is None else self.gradients[i]
        box = self.boxes[v] = ValueBox(
            i, v, self.role(i), v in self.highlighted, self.names[i], float(grad or 0.0)
        )
        return box

    def used_outside_its_group(self, u: Value) -> None:
        group = self.group_of.get(u)
        if group is not None and self.boxes[u] not in group.outputs:
            group.outputs.append(self.boxes[u])

    def add_value(self, i: int, v: Value) -> None:
        box = self.box(i, v)
        self.drawn_as[v] = box.name
        self.roles.add(box.role)
        home = self.cluster(v.scope)
        home.boxes.append(box)
        if v.is_leaf:
            return
        self.roles.add("operation")
        operation = OperationBox(
            i,
            v,
            tuple(u.data if u.is_constant else None for u in v.inputs),
            tuple(self.names[self.position[u]] for u in v.inputs),
        )
        home.boxes.append(operation)
        drawn_inputs = [u for u in v.inputs if not u.is_constant]
        names = operation.primitive.input_names
        for position, u in enumerate(v.inputs):
            if not u.is_constant:
                name = names[position] if len(drawn_inputs) > 1 else None
                self.edges.append(Edge(self.drawn_as[u], operation.name, name))
                self.used_outside_its_group(u)
        self.edges.append(Edge(operation.name, box.name))

    def add_to_group(self, i: int, v: Value, path: ScopePath) -> None:
        box = self.box(i, v)
        group = self.groups.get(path)
        if group is None:
            group = self.groups[path] = GroupBox(self.group_names(path), path)
            self.cluster(path[:-1]).boxes.append(group)
        group.size += 1
        group.highlighted |= box.highlighted
        self.group_of[v] = group
        self.drawn_as[v] = group.name
        for u in v.inputs:
            source = self.drawn_as.get(u)  # None for a constant
            if source is None or source == group.name:
                continue
            # One edge per outside Value read, however often the group reads it.
            if (source, group.name) not in self.group_inputs:
                self.group_inputs.add((source, group.name))
                self.edges.append(Edge(source, group.name))
            self.used_outside_its_group(u)
        if v is self.root:
            self.used_outside_its_group(v)

    def scene(self) -> Scene:
        for group in self.groups.values():
            group.outputs.sort(key=lambda box: box.index)
        return Scene(
            top=self.top,
            edges=self.edges,
            value_count=len(self.boxes) - sum(group.size for group in self.groups.values()),
            group_count=len(self.groups),
            has_highlight=bool(self.highlighted),
            roles=self.roles | ({"group"} if self.groups else set()),
        )


def _count_boxes(order: list[Value], root: Value, group_of: GroupRule) -> int:
    """How many boxes (Values and collapsed groups) drawing ``order`` takes."""
    groups: set[ScopePath] = set()
    count = 0
    for v in order:
        if v.is_constant and v is not root:
            continue
        path = group_of(v.scope)
        if path is None:
            count += 1
        elif path not in groups:
            groups.add(path)
            count += 1
    return count


def _too_large_message(count: int, max_nodes: int, collapse: Collapse,
                       order: list[Value]) -> str:
    # Suggest collapsing at the graph's own numbered scopes (nn's neurons, then its layers),
    # those further out than the present collapse.
    words = scope_words([v.scope for v in order])
    if isinstance(collapse, str) and collapse in words:
        words = words[words.index(collapse) + 1 :]
    elif isinstance(collapse, int):
        words = [w for w in words
                 if any(named_by(p, w) for v in order for p in v.scope[: collapse - 1])]
    if words:
        first, *others = words
        advice = (f"collapse scopes into single boxes (draw(root, collapse={first!r})"
                  + "".join(f" or collapse={w!r}" for w in others) + "), ")
    else:
        advice = ""
    remedies = (f"{advice}{'or ' if advice else ''}raise the limit "
                f"(draw(root, max_nodes={count})), or print it with render_text(root)")
    return (
        f"draw: the graph has {count} nodes to draw, more than max_nodes={max_nodes}; "
        f"graphviz would be slow and the picture unreadable. {remedies[0].upper()}{remedies[1:]}"
    )
