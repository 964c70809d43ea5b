"""The forward and backward passes of a graph, recorded step by step as plain data.

Everything here is read from the primitive table, in the learner's own names (see
:mod:`chainrule.engine.naming`): the expression of a step is ``primitive.notation``
filled with its operands' names, each local derivative's formula ``primitive.formulas[i]`` filled
the same way, and its number ``primitive.derivatives[i]``. The backward trace computes with
exactly the order and the arithmetic of :meth:`Value.backward` (reversed
:func:`topological_order`, input a then input b, ``upstream * local``, constants skipped), so
replaying its steps gives the same floats as ``backward()``, bit for bit. It may *present* the
steps in another valid order (layer by layer through an nn network), but only when every
node then receives its contributions in the engine's order, so the running sums it shows are
the engine's own.

Tracing is read-only: it keeps its running sums in its own table and never touches any ``.grad``,
so explaining a graph does not disturb a training loop that owns it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from ..chain_rule import check_unchanged, is_zero, local_gradients, non_finite_gradient
from ..errors import ChainruleError, OperandTypeError
from ..graph import topological_order
from ..naming import (
    Role,
    format_number,
    layer_of,
    layer_order_of,
    layer_ranks,
    local_formulas,
    local_numbers,
    node_names,
    node_roles,
    operation_text,
)
from ..primitives import Primitive
from ..value import Value, as_float
from .rules import gate_name, gate_rule, kink_conditions, local_case, partner_slots

__all__ = [
    "BackwardStep", "BackwardTrace", "Contribution", "ForwardStep", "ForwardTrace",
    "GradientCheck", "NodeInfo", "Pending", "Recording", "format_number", "layer_of", "record",
    "trace_backward", "trace_forward",
]

#: Relative and absolute tolerance of the finite-difference check (see docs: float64 central
#: differences with h = 1e-6 * max(1, |x|) agree with exact gradients to about 1e-8 relative).
CHECK_RTOL = 1e-5
CHECK_ATOL = 1e-6
#: A check that could nudge only one side (the JavaScript runtime reads it too).
ONE_SIDED = "only one side could be measured, the other leaves a domain ({error})"


# -- the data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    """One node of the traced graph. ``index`` is its position in ``topological_order(root)``."""

    index: int
    name: str
    label: str | None
    op: str | None
    kind: str  # "input" (a leaf you created), "constant" (a number operand) or "operation"
    value: float
    inputs: tuple[int, ...]
    scope: tuple[str, ...]
    expression: str | None  # the operation written with its inputs' names; None for a leaf
    role: Role = "operation"  # what it is to the learner: input, parameter, constant, ...
    #: The operation's entry of the primitive table (None for a leaf): what its templates
    #: are written from.
    primitive: Primitive | None = field(default=None, compare=False, repr=False)

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    @property
    def is_input(self) -> bool:
        return self.kind == "input"


@dataclass(frozen=True)
class ForwardStep:
    """One operation of the forward pass: ``c = a * b = 2.0 * -3.0 = -6.0``."""

    node: int
    name: str
    expression: str  # the operation written with the inputs' names: "a * b"
    numbers: str  # the same with the inputs' values: "2.0 * -3.0"
    value: float

    def equation(self, digits: int = 6) -> str:
        return f"{self.name} = {self.expression} = {self.numbers} = {format_number(self.value, digits)}"


@dataclass(frozen=True)
class Contribution:
    """What one step hands to one of its inputs.

    ``variable`` is the primitive table's placeholder for this input (``x`` or ``y``);
    ``formula`` is the local derivative in the learner's names (``d/dq (q * z) = z``) and
    ``numbers`` the same with the numbers filled in (``0.767 * (1 - 0.767)``, None when the
    formula is a plain number). For a constant input everything numeric is ``None``: no
    gradient is computed for a plain number. ``use`` counts the contributions this input has
    received so far, ``uses`` how many it receives in all (more than one: a fan-out, whose
    contributions add up).
    """

    input: int
    input_name: str
    variable: str
    formula: str
    input_value: float
    is_constant: bool
    numbers: str | None = None
    use: int = 0
    uses: int = 0
    local: float | None = None
    #: For a piecewise derivative, the case that applies: ``0.7 < 1.3, so 0``.
    case: str | None = None
    #: The node whose value is this input's local derivative (a mul's other input, a dot's
    #: paired input: the x of ``dL/dw = delta x``), or None.
    partner: int | None = None
    contribution: float | None = None  # upstream * local, the engine's exact product
    grad_before: float | None = None
    grad_after: float | None = None  # grad_before + contribution: the running sum
    #: The contribution's number in the engine's backward order (operation nodes from the
    #: last, each one's inputs first to last; constants not counted): where its numbers are
    #: in :class:`~.lesson.Numbers`. None for a constant input.
    k: int | None = None
    node: int = -1  # the operation node that hands it over
    slot: int = 0  # which of that node's inputs it goes to


@dataclass(frozen=True)
class BackwardStep:
    """One node of the backward pass: it hands ``upstream * local`` to each input.

    ``skipped`` is True when the upstream gradient is exactly 0: like the engine, the step passes
    nothing on. ``completed`` lists the nodes whose gradient this step completes (it hands them
    their last contribution). A step stores only what it changes, so a trace grows linearly with
    the graph; the nodes still waiting after step ``k`` are :meth:`BackwardTrace.pending_after`,
    or :class:`Pending` replayed step by step.
    """

    node: int
    name: str
    op: str
    value: float
    upstream: float
    contributions: tuple[Contribution, ...]
    skipped: bool
    completed: tuple[int, ...] = ()
    #: The gate's rule in one sentence (add distributes, mul swaps, max routes), or None.
    rule: str | None = None


@dataclass(frozen=True)
class ForwardTrace:
    """The forward pass: the graph's nodes and one step per operation, in evaluation order."""

    nodes: tuple[NodeInfo, ...]
    steps: tuple[ForwardStep, ...]
    root: int


@dataclass(frozen=True)
class GradientCheck:
    """The finite-difference check of one leaf's gradient (central difference).

    ``numeric`` is None when nudging the leaf leaves the functions' domains on both sides;
    ``error`` says why (when only one side leaves it, ``numeric`` is the other side's slope).
    When the central difference disagrees because the function has a kink within the nudge
    (a relu, abs or max whose two sides meet there), ``left`` and ``right`` are the one-sided
    slopes, ``kink`` says which one chainrule's gradient is and why, and the check passes if
    the gradient is one of them (or, at a tie of max, between them).
    """

    node: int
    name: str
    analytic: float
    numeric: float | None
    step: float
    passed: bool
    error: str | None = None
    left: float | None = None
    right: float | None = None
    kink: str | None = None
    #: At a kink, which slope the gradient is: "the left one", "the right one", "their
    #: average" or "between them" (the end of ``kink``).
    side: str | None = None


@dataclass(frozen=True)
class BackwardTrace:
    """The backward pass: the seed, one step per operation node, and the summary.

    ``gradients[i]`` is the gradient node ``i`` ends with (what ``.grad`` holds after
    ``backward()`` on a graph whose gradients were zero); ``checks`` verifies each leaf's
    gradient by finite differences.
    """

    nodes: tuple[NodeInfo, ...]
    root: int
    seed: float
    steps: tuple[BackwardStep, ...]
    gradients: tuple[float | None, ...]  # None for constants
    checks: tuple[GradientCheck, ...] = field(default=())
    #: Why some checks met a kink: each node at one, with the derivative chainrule takes there.
    kinks: tuple[str, ...] = field(default=())

    @property
    def all_checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def pending_after(self, step: int) -> tuple[int, ...]:
        """The nodes whose gradient is still incomplete after ``steps[step]`` (some operation
        that uses them has not been processed yet), in graph order. Linear in the graph's size;
        to go through every step, replay a :class:`Pending` instead."""
        if not -len(self.steps) <= step < len(self.steps):
            raise IndexError(f"pending_after: step {step} out of range 0..{len(self.steps) - 1}")
        pending = Pending(self)
        for s in self.steps[: step % len(self.steps) + 1]:
            pending.advance(s)
        return tuple(pending.first())


class Pending:
    """The nodes still waiting for contributions, replayed through a trace's steps.

    Start it before the first step, :meth:`advance` it over each step in order; :attr:`count`
    and :meth:`first` then describe the nodes still pending after that step. The whole replay
    takes time linear in the graph's size (nodes are only ever removed; the next pending node
    after each removed one is found through a path-halving successor table).
    """

    def __init__(self, trace: BackwardTrace) -> None:
        size = len(trace.nodes)
        self._alive = [False] * size
        for step in trace.steps:
            for index in step.completed:
                self._alive[index] = True
        self.count = sum(self._alive)
        # _next[i]: a candidate for the first pending node at or after i (size: none left).
        self._next = [i if self._alive[i] else i + 1 for i in range(size)] + [size]

    def _find(self, index: int) -> int:
        nxt = self._next
        while nxt[index] != index:
            nxt[index] = nxt[nxt[index]]  # path halving keeps every lookup near-constant
            index = nxt[index]
        return index

    def advance(self, step: BackwardStep) -> None:
        """Remove the nodes ``step`` completes."""
        for index in step.completed:
            if self._alive[index]:
                self._alive[index] = False
                self._next[index] = index + 1
                self.count -= 1

    def first(self, limit: int | None = None) -> list[int]:
        """The pending nodes in graph order, at most ``limit`` of them."""
        found: list[int] = []
        end = len(self._alive)
        at = self._find(0)
        while at < end and (limit is None or len(found) < limit):
            found.append(at)
            at = self._find(at + 1)
        return found


# -- building the traces --------------------------------------------------------------------------


def _require_value(root: object, caller: str) -> Value:
    if not isinstance(root, Value):
        raise OperandTypeError(f"{caller}: root must be a Value, got {type(root).__name__}")
    return root


def _kind(node: Value) -> str:
    if node.is_constant:
        return "constant"
    return "input" if node.is_leaf else "operation"


@dataclass(frozen=True)
class Recording:
    """A graph read once: its nodes in ``topological_order(root)`` (root last), each node's
    position, the nodes as the learner sees them, and each node's nn layer (``ranks``, None
    without layers). Every part of a walkthrough reads this one recording rather than sorting
    and naming the graph again."""

    order: list[Value]
    position: dict[Value, int]
    nodes: tuple[NodeInfo, ...]
    ranks: list[int] | None
    evaluation: list[int]  # the forward pass's order: layer by layer (see layer_order)

    @property
    def root(self) -> Value:
        return self.order[-1]


def record(
    root: Value,
    parameters: Collection[Value] | None = None,
    digits: int = 6,
    suggested: Mapping[Value, str] | None = None,
    order: list[Value] | None = None,
) -> Recording:
    """``root``'s graph read once (see :class:`Recording`); ``order`` is its topological order
    when the caller has it already."""
    order = topological_order(root) if order is None else order
    ranks = layer_ranks(order)
    evaluation = layer_order_of(ranks, len(order))
    position = {node: index for index, node in enumerate(order)}
    names = node_names(order, digits, suggested, evaluation)
    roles = node_roles(order, parameters, names)

    def expression(node: Value) -> str | None:
        if node.is_leaf or node.primitive is None:
            return None
        return operation_text(node.primitive, [names[position[i]] for i in node.inputs])

    infos = tuple(
        NodeInfo(
            index=index,
            name=names[index],
            label=node.label,
            op=node.op,
            kind=_kind(node),
            value=node.data,
            inputs=tuple(position[i] for i in node.inputs),
            scope=tuple(node.scope),
            expression=expression(node),
            role=roles[index],
            primitive=node.primitive,
        )
        for index, node in enumerate(order)
    )
    return Recording(order, position, infos, ranks, evaluation)


def trace_forward(
    root: Value,
    digits: int = 6,
    parameters: Collection[Value] | None = None,
    suggested: Mapping[Value, str] | None = None,
    recording: Recording | None = None,
) -> ForwardTrace:
    """The forward pass of ``root``'s graph, one step per operation, in evaluation order
    (through an nn network, layer by layer).

    ``parameters`` only decides which leaves are called parameters (see
    :func:`~chainrule.engine.naming.node_roles`), ``suggested`` names for unlabeled
    nodes (see :func:`~chainrule.engine.naming.node_names`); a ``recording`` of the graph
    (see :func:`record`) replaces all three.

    >>> from chainrule.engine import Value
    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
    >>> trace_forward(c).steps[0].equation()
    'c = a * b = 2 * (-3) = -6'
    """
    if recording is None:
        recording = record(_require_value(root, "trace_forward"), parameters, digits, suggested)
    order, nodes = recording.order, recording.nodes
    steps = []
    for index in recording.evaluation:
        info, node = nodes[index], order[index]
        if info.kind != "operation":
            continue
        primitive = node.primitive
        assert primitive is not None
        numbers = [format_number(nodes[i].value, digits) for i in info.inputs]
        steps.append(
            ForwardStep(
                node=info.index,
                name=info.name,
                expression=info.expression or "",
                numbers=operation_text(primitive, numbers),
                value=node.data,
            )
        )
    return ForwardTrace(nodes=nodes, steps=tuple(steps), root=len(order) - 1)


def presentation_order(order: list[Value], position: dict[Value, int],
                       ranks: list[int] | None) -> list[int]:
    """The operation nodes in the order the walkthrough shows the backward pass.

    Without numbered scopes it is the engine's order, reversed :func:`topological_order`. When
    nodes carry numbered outermost scopes (nn's ``layer0``, ``layer1``...: stages, see
    :func:`~chainrule.engine.naming.scope_stage`) it visits stage by stage from the output: of
    the nodes whose every use has been processed, the one in the highest stage goes next (a node
    outside any stage, such as a loss, counts as the highest stage among its inputs), ties
    broken by position from the end. Only nodes whose uses are all processed are eligible, so it is a reverse
    topological order too; and it is deterministic (no ids, no sets).
    """
    engine = [i for i in range(len(order) - 1, -1, -1) if not order[i].is_leaf]
    if ranks is None:
        return engine
    uses = [0] * len(order)
    for node in order:
        for u in set(node.inputs):
            uses[position[u]] += 1
    ready = [(-ranks[-1], -(len(order) - 1))] if not order[-1].is_leaf else []
    result = []
    while ready:
        _, negative = heapq.heappop(ready)
        index = -negative
        result.append(index)
        for u in dict.fromkeys(order[index].inputs):
            at = position[u]
            uses[at] -= 1
            if not uses[at] and not u.is_leaf:
                heapq.heappush(ready, (-ranks[at], -at))
    return result


def _same_summation_order(
    order: list[Value], position: dict[Value, int], engine: list[int], shown: list[int]
) -> bool:
    """Whether every node receives its contributions in the same sequence in both orders: then
    each running sum adds the same products in the same order, so the floats are identical."""
    if sorted(engine) != sorted(shown):
        return False

    def senders(sequence: list[int]) -> dict[int, list[int]]:
        received: dict[int, list[int]] = {}
        for index in sequence:
            for u in order[index].inputs:
                received.setdefault(position[u], []).append(index)
        return received

    return senders(engine) == senders(shown)


def trace_backward(
    root: Value,
    gradient: float = 1.0,
    check: bool = True,
    parameters: Collection[Value] | None = None,
    digits: int = 6,
    suggested: Mapping[Value, str] | None = None,
    recording: Recording | None = None,
) -> BackwardTrace:
    """The backward pass from ``root``, step by step, with the numbers ``root.backward()``
    computes.

    Does not modify any ``.grad``. Raises :class:`GradientError` where ``backward()`` would.
    With ``check=True`` every leaf gradient is verified by central finite differences.
    Through an nn network the steps are shown layer by layer (see :func:`presentation_order`).
    A ``recording`` of the graph (see :func:`record`) replaces ``parameters`` and ``suggested``.
    """
    if recording is None:
        order = topological_order(_require_value(root, "trace_backward"))
        check_unchanged(order, root, "trace_backward")
        recording = record(root, parameters, digits, suggested, order)
    else:
        check_unchanged(recording.order, recording.root, "trace_backward")
    order, position, nodes = recording.order, recording.position, recording.nodes
    grads = [0.0] * len(order)
    grads[-1] = as_float(gradient, "trace_backward: gradient")
    received = [0] * len(order)
    uses = [0] * len(order)
    for info in nodes:
        for i in info.inputs:
            uses[i] += 1

    # The chain rule, in the engine's order, by the rules of engine/chain_rule.py.
    counted = 0  # contributions numbered so far (k)
    computed: dict[int, tuple[float, tuple[Contribution, ...], bool, str | None]] = {}
    for index in range(len(order) - 1, -1, -1):
        node = order[index]
        upstream = grads[index]
        if upstream - upstream:
            raise non_finite_gradient("trace_backward", node, upstream, _describe(nodes[index]))
        if node.is_leaf:
            continue
        primitive = node.primitive
        assert primitive is not None
        info = nodes[index]
        operands = [order[i].data for i in info.inputs]
        names = [nodes[i].name for i in info.inputs]
        values = [format_number(v, digits) for v in operands]
        handed = {
            slot: (local, product)
            for slot, local, product in local_gradients(
                "trace_backward", node, upstream, operands, node.data, primitive.derivatives,
                _describe(info),
            )
        }
        skipped = is_zero(upstream)  # rule 2: nothing is passed on from a zero gradient
        partners = partner_slots(primitive)
        graded = [slot for slot, i in enumerate(info.inputs) if not nodes[i].is_constant]
        formulas = dict(zip(graded, local_formulas(primitive, graded, names), strict=True))
        contributions = []
        for slot, input_index in enumerate(info.inputs):
            input_info = nodes[input_index]
            received[input_index] += 1
            numbers: str | None = local_numbers(
                primitive, slot, values, format_number(node.data, digits)
            )
            common = Contribution(
                input=input_index,
                input_name=input_info.name,
                variable=primitive.input_names[slot],
                formula=formulas.get(slot, ""),
                input_value=input_info.value,
                is_constant=input_info.is_constant,
                use=received[input_index],
                uses=uses[input_index],
                partner=None if (paired := partners[slot]) is None else info.inputs[paired],
                k=None if input_info.is_constant else counted,
                node=index,
                slot=slot,
            )
            counted += not input_info.is_constant
            if slot not in handed:  # a constant, or a zero gradient (rules 2 and 3)
                contributions.append(common)
                continue
            local, product = handed[slot]
            before = grads[input_index]
            grads[input_index] = before + product
            case = local_case(primitive, slot, names, operands, digits)
            if case is not None:
                numbers = None  # the case that applies, not the formula's code with numbers
            if numbers is not None and numbers.strip("()") == format_number(local, digits):
                numbers = None  # "= x = -2", not "= x = -2 = -2"
            contributions.append(
                replace(
                    common,
                    numbers=numbers,
                    local=local,
                    case=None if case is None else case.text(format_number(local, digits)),
                    contribution=product,
                    grad_before=before,
                    grad_after=grads[input_index],
                )
            )
        computed[index] = (upstream, tuple(contributions), skipped,
                           gate_rule(primitive, names, operands, digits))

    engine = list(computed)
    shown = presentation_order(order, position, recording.ranks)
    if not _same_summation_order(order, position, engine, shown):
        shown = engine
    steps = _steps_in_order(nodes, computed, shown)
    final = tuple(None if info.is_constant else grads[info.index] for info in nodes)
    checks, kinks = (_finite_difference_checks(recording, final, grads[-1], digits)
                     if check else ((), ()))
    return BackwardTrace(
        nodes=nodes, root=len(order) - 1, seed=grads[-1], steps=steps, gradients=final,
        checks=checks, kinks=kinks,
    )


def _steps_in_order(
    nodes: tuple[NodeInfo, ...],
    computed: dict[int, tuple[float, tuple[Contribution, ...], bool, str | None]],
    shown: list[int],
) -> tuple[BackwardStep, ...]:
    """The computed steps in the order shown, each with the nodes it completes."""
    # How many uses of each node are still to be processed: a node's gradient is complete once
    # every operation that consumes it has handed back its contribution.
    waiting = [0] * len(nodes)
    for info in nodes:
        for i in info.inputs:
            waiting[i] += 1
    steps = []
    for index in shown:
        info = nodes[index]
        upstream, contributions, skipped, rule = computed[index]
        completed = []
        for input_index in info.inputs:
            waiting[input_index] -= 1
            if not waiting[input_index] and not nodes[input_index].is_constant:
                completed.append(input_index)
        assert info.op is not None
        steps.append(
            BackwardStep(
                node=index,
                name=info.name,
                op=info.op,
                value=info.value,
                upstream=upstream,
                contributions=contributions,
                skipped=skipped,
                completed=tuple(sorted(completed)),
                rule=rule,
            )
        )
    return tuple(steps)


def _describe(info: NodeInfo) -> str:
    return f"{info.name!r} ({info.op or info.kind}, data={info.value!r})"


# -- the finite-difference check ------------------------------------------------------------------


# One operation of the forward recomputation: (node index, forward function, input indices).
_Operation = tuple[int, Callable[..., float], tuple[int, ...]]


def _forward_plan(order: list[Value], position: dict[Value, int]) -> list[_Operation]:
    plan = []
    for index, node in enumerate(order):
        primitive = node.primitive
        if primitive is not None and not node.is_constant:
            plan.append((index, primitive.evaluate, tuple(position[i] for i in node.inputs)))
    return plan


def _dependants(plan: list[_Operation], size: int) -> Callable[[int], list[_Operation]]:
    """For a node, the operations of ``plan`` that depend on it, in evaluation order: nudging a
    leaf recomputes only these, so checking every leaf of a batch's loss costs each sample's
    inputs their own sample only, not the whole graph."""
    consumers: list[list[int]] = [[] for _ in range(size)]
    for k, (_, _, inputs) in enumerate(plan):
        for i in dict.fromkeys(inputs):
            consumers[i].append(k)
    node_of = [index for index, _, _ in plan]

    def dependants(nudged: int) -> list[_Operation]:
        seen: set[int] = set()
        frontier = [nudged]
        while frontier:
            node = frontier.pop()
            for k in consumers[node]:
                if k not in seen:
                    seen.add(k)
                    frontier.append(node_of[k])
        return [plan[k] for k in sorted(seen)]  # plan order is topological order

    return dependants


def _evaluate(data: list[float], operations: list[_Operation], nudged: int, value: float) -> float:
    """The root's value with node ``nudged`` set to ``value``, recomputed forward through the
    primitive table along ``operations`` (those that depend on ``nudged``); neither ``data`` nor
    the graph is touched."""
    data = list(data)  # a C-speed copy, cheaper than looking every operand up in an overlay
    data[nudged] = value
    for index, evaluate, inputs in operations:
        data[index] = evaluate(*[data[i] for i in inputs])
    return data[-1]


def recompute(root: Value, changes: dict[Value, float],
              recording: Recording | None = None) -> float:
    """``root``'s value with some leaves set to new values, recomputed forward through the
    primitive table (the graph itself is not touched): the forward pass after an update.
    ``recording`` is the graph's (see :func:`record`) when the caller has it."""
    if recording is None:
        order = topological_order(_require_value(root, "recompute"))
        position = {node: index for index, node in enumerate(order)}
    else:
        order, position = recording.order, recording.position
    data = [node.data for node in order]
    for node, value in changes.items():
        data[position[node]] = value
    for index, evaluate, inputs in _forward_plan(order, position):
        data[index] = evaluate(*(data[i] for i in inputs))
    return data[-1]


def _agrees(analytic: float, numeric: float) -> bool:
    return math.isfinite(numeric) and abs(analytic - numeric) <= (
        CHECK_ATOL + CHECK_RTOL * abs(numeric)
    )


def _one_sided(at: Callable[[float], float], x: float, h: float, side: float) -> float | None:
    """The slope on one side of ``x`` (``side`` +1: right, -1: left), second-order accurate
    like the central difference: (-3 f(x) + 4 f(x + h) - f(x + 2h)) / 2h, mirrored; None when
    the nudge leaves a function's domain."""
    try:
        return side * (-3.0 * at(x) + 4.0 * at(x + side * h) - at(x + 2.0 * side * h)) / (2.0 * h)
    except ChainruleError:
        return None


def _kinks(order: list[Value], nodes: tuple[NodeInfo, ...], operations: list[_Operation],
           digits: int) -> dict[int, str]:
    """The nodes among ``operations`` that sit exactly on a kink of their derivative, each
    said with the case chainrule takes there: ``f = relu(n2) is at relu's kink: chainrule
    takes d/dn2 = 0 there (0 <= 0, so 0), PyTorch's choice``."""
    found = {}
    for index, _, inputs in operations:
        primitive = order[index].primitive
        if primitive is None or not kink_conditions(primitive):
            continue
        operands = [nodes[i].value for i in inputs]
        names = [nodes[i].name for i in inputs]
        for slot in range(primitive.arity):
            case = local_case(primitive, slot, names, operands, digits)
            if case is None or not case.at_kink or nodes[inputs[slot]].is_constant:
                continue
            local = primitive.derivatives[slot](*operands, order[index].data)
            value = format_number(local, digits)
            found[index] = (
                f"{nodes[index].name} = {primitive.write(*names)} is at {gate_name(primitive)}'s "
                f"kink: chainrule takes d/d{names[slot]} = {value} there "
                f"({case.text(value)}), PyTorch's choice"
            )
            break
    return found


def kink_text(left: str, right: str, side: str) -> str:
    """Why a check at a kink passes, with the two one-sided slopes written as ``left`` and
    ``right`` (text: numbers, or a template's slots)."""
    return (f"at a kink: slope {left} on the left, {right} on the right (the central "
            f"difference averages them); the gradient is {side}")


def _finite_difference_checks(
    recording: Recording,
    gradients: tuple[float | None, ...],
    seed: float,
    digits: int = 6,
) -> tuple[tuple[GradientCheck, ...], tuple[str, ...]]:
    """Each input's gradient checked, and the kinks that explain the checks made at one."""
    order, position, nodes = recording.order, recording.position, recording.nodes
    checks = []
    kinks: dict[str, None] = {}
    plan = _forward_plan(order, position)
    dependants = _dependants(plan, len(order))
    data = [node.data for node in order]
    at_kink = _kinks(order, nodes, plan, digits)
    for info in nodes:
        if not info.is_input:
            continue
        analytic = gradients[info.index]
        assert analytic is not None
        x = info.value
        h = 1e-6 * max(1.0, abs(x))
        operations = dependants(info.index)

        def at(value: float, operations: list[_Operation] = operations,
               index: int = info.index) -> float:
            return seed * _evaluate(data, operations, index, value)

        try:
            numeric = (at(x + h) - at(x - h)) / (2.0 * h)
        except ChainruleError as error:
            # One side leaves a function's domain: the other side's slope, if it has one.
            slopes = [s for s in (_one_sided(at, x, h, 1.0), _one_sided(at, x, h, -1.0))
                      if s is not None]
            one_sided = slopes[0] if slopes else None
            passed = one_sided is not None and _agrees(analytic, one_sided)
            reason = str(error) if not slopes else ONE_SIDED.format(error=error)
            checks.append(GradientCheck(info.index, info.name, analytic, one_sided, h, passed,
                                        None if passed else reason))
            continue
        # A node on a kink (relu at 0, a tie of max) or a disagreement: look at each side.
        where = [at_kink[index] for index, _, _ in operations if index in at_kink]
        if _agrees(analytic, numeric) and not where:
            checks.append(GradientCheck(info.index, info.name, analytic, numeric, h, True))
            continue
        left, right = _one_sided(at, x, h, -1.0), _one_sided(at, x, h, 1.0)
        if left is None or right is None or _agrees(left, right):
            checks.append(GradientCheck(info.index, info.name, analytic, numeric, h,
                                        _agrees(analytic, numeric)))
            continue
        # The two sides disagree: a kink within the nudge, which the central difference
        # averages. chainrule's gradient is right if it is one side's slope (or, at a tie of
        # max, which hands each side half, between them).
        side = ("left" if _agrees(analytic, left) else "right" if _agrees(analytic, right)
                else "average" if _agrees(analytic, (left + right) / 2.0)
                else "between" if min(left, right) <= analytic <= max(left, right) else None)
        said = {"left": "the left one", "right": "the right one", "average": "their average",
                "between": "between them"}
        kink = None
        if side is not None:
            kink = kink_text(format_number(left, digits), format_number(right, digits),
                             said[side])
            kinks.update(dict.fromkeys(where))
        checks.append(GradientCheck(info.index, info.name, analytic, numeric, h,
                                    side is not None, left=left, right=right, kink=kink,
                                    side=None if side is None else said[side]))
    return tuple(checks), tuple(kinks)
