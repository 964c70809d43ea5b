"""What a drawing of a graph contains, independent of how it is written (DOT or text).

A :class:`Scene` decides which Values get a box, what role colours them, which operation node
feeds each box, which edges connect them, and which scope cluster each box sits in. Values
created inside nn neurons and layers carry a scope path such as ``("layer0", "neuron1")``;
collapsing replaces every Value of such a neuron (or layer) by a single group box.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..errors import OperandTypeError
from ..graph import topological_order
from ..value import Value
from .errors import DrawOptionError, GraphTooLargeError

Role = Literal["input", "parameter", "intermediate", "output", "constant"]
Collapse = Literal["neuron", "layer"] | int | None
ScopePath = tuple[str, ...]

DEFAULT_MAX_NODES = 300


@dataclass(eq=False)
class ValueBox:
    """One drawn Value: DOT name and SVG id ``n{index}``, ``index`` its topological position."""

    index: int
    value: Value
    role: Role
    highlighted: bool

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

    @property
    def name(self) -> str:
        return f"op{self.index}"


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
    chosen = set()
    for v in values:
        if not isinstance(v, Value):
            raise OperandTypeError(f"draw: {argument} must hold Values, got {type(v).__name__}")
        chosen.add(v)
    return chosen


def _group_rule(collapse: Collapse):  # -> Callable[[ScopePath], ScopePath | None]
    """The scope prefix a Value is collapsed into (None: drawn on its own)."""
    if collapse is None:
        return lambda path: None
    if isinstance(collapse, str) and collapse in ("neuron", "layer"):
        # By name, not depth, so that a model wrapping its layers in a further scope still
        # collapses at the right level: the first "neuron..." (or "layer...") in the path.
        def by_name(path: ScopePath) -> ScopePath | None:
            for depth, part in enumerate(path):
                if part.startswith(collapse):
                    return path[: depth + 1]
            return None

        return by_name
    if isinstance(collapse, int) and not isinstance(collapse, bool) and collapse >= 1:
        return lambda path: path[:collapse] if len(path) >= collapse else None
    raise DrawOptionError(
        f"draw: collapse must be 'neuron', 'layer', a scope depth >= 1 or None, got {collapse!r}"
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
) -> Scene:
    if not isinstance(root, Value):
        raise OperandTypeError(f"draw: root must be a Value, got {type(root).__name__}")
    if max_nodes is not None and (
        not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1
    ):
        raise DrawOptionError(f"draw: max_nodes must be a positive int or None, got {max_nodes!r}")
    group_of = _group_rule(collapse)
    given_parameters = _values("parameters", parameters)
    highlighted = _values("highlight", highlight)

    order = topological_order(root)
    index = {v: i for i, v in enumerate(order)}
    for v in highlighted:
        if v not in index:
            raise DrawOptionError(f"draw: highlight: {v!r} is not part of the graph of {root!r}")

    cluster_names, group_names = _Names("cluster_"), _Names("group_")
    top = Cluster("", ())
    clusters_by_path: dict[ScopePath, Cluster] = {(): top}

    def cluster(path: ScopePath) -> Cluster:
        if not clusters:
            return top
        found = clusters_by_path.get(path)
        if found is None:
            parent = cluster(path[:-1])
            found = Cluster(cluster_names(path), path)
            parent.children.append(found)
            clusters_by_path[path] = found
        return found

    def role(v: Value) -> Role:
        if v is root:
            return "output"
        if v.is_constant:
            return "constant"
        if v.is_leaf:
            return "parameter" if v.scope or v in given_parameters else "input"
        return "intermediate"

    groups: dict[ScopePath, GroupBox] = {}
    group_path: dict[Value, ScopePath] = {}
    drawn_as: dict[Value, str] = {}  # Value -> name of the box its edges leave from
    value_box: dict[Value, ValueBox] = {}
    edges: list[Edge] = []
    group_inputs: set[tuple[str, str]] = set()
    roles: set[str] = set()
    node_count = 0

    for i, v in enumerate(order):
        if v.is_constant and v is not root:
            continue  # written into the operation that uses it
        path = group_of(v.scope)
        box = ValueBox(i, v, role(v), v in highlighted)
        value_box[v] = box
        if path is not None:
            group = groups.get(path)
            if group is None:
                group = groups[path] = GroupBox(group_names(path), path)
                cluster(path[:-1]).boxes.append(group)
                node_count += 1
            group.size += 1
            group.highlighted |= box.highlighted
            group_path[v] = path
            drawn_as[v] = group.name
            for u in v.inputs:
                source = drawn_as.get(u)
                # One edge per outside Value read, however often the neuron reads it.
                if source is not None and source != group.name:
                    if (source, group.name) not in group_inputs:
                        group_inputs.add((source, group.name))
                        edges.append(Edge(source, group.name))
                    _mark_output(u, group_path, groups, value_box)
            if v is root:
                _mark_output(v, group_path, groups, value_box)
            continue

        node_count += 1
        drawn_as[v] = box.name
        roles.add(box.role)
        home = cluster(v.scope)
        home.boxes.append(box)
        if v.is_leaf:
            continue
        roles.add("operation")
        operation = OperationBox(i, v, tuple(u.data if u.is_constant else None for u in v.inputs))
        home.boxes.append(operation)
        drawn_inputs = [u for u in v.inputs if not u.is_constant]
        names = v.primitive.input_names
        for position, u in enumerate(v.inputs):
            if u.is_constant:
                continue
            name = names[position] if len(drawn_inputs) > 1 else None
            edges.append(Edge(drawn_as[u], operation.name, name))
            _mark_output(u, group_path, groups, value_box)
        edges.append(Edge(operation.name, box.name))

    for group in groups.values():
        group.outputs.sort(key=lambda box: box.index)
    if max_nodes is not None and node_count > max_nodes:
        raise GraphTooLargeError(_too_large_message(node_count, max_nodes, collapse, bool(groups)))
    return Scene(
        top=top,
        edges=edges,
        value_count=node_count - len(groups),
        group_count=len(groups),
        has_highlight=bool(highlighted),
        roles=roles | ({"group"} if groups else set()),
    )


def _mark_output(
    u: Value,
    group_path: dict[Value, ScopePath],
    groups: dict[ScopePath, GroupBox],
    value_box: dict[Value, ValueBox],
) -> None:
    """Record that ``u``, a member of a collapsed group, is used outside it (or is the root)."""
    path = group_path.get(u)
    if path is None:
        return
    outputs = groups[path].outputs
    box = value_box[u]
    if box not in outputs:
        outputs.append(box)


def _too_large_message(count: int, max_nodes: int, collapse: Collapse, grouped: bool) -> str:
    if collapse is None:
        advice = (
            "collapse neurons or layers into single boxes (draw(root, collapse='neuron') or "
            "collapse='layer'), "
        )
    elif collapse != "layer":
        advice = "collapse whole layers (draw(root, collapse='layer')), "
    else:
        advice = ""
    return (
        f"draw: the graph has {count} nodes to draw, more than max_nodes={max_nodes}; "
        f"graphviz would be slow and the picture unreadable. {advice.capitalize()}"
        f"{'or ' if advice else ''}raise the limit (draw(root, max_nodes={count})), "
        f"or print it with render_text(root)"
    )
