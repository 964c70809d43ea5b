"""The forward and backward passes of a graph, recorded step by step as plain data.

Everything here is read from the primitive table: the expression text of a step comes from
``primitive.write``, each local derivative's formula from ``primitive.derivative_formula`` and its
number from ``primitive.derivatives[i]``. The backward trace walks the graph in exactly the order
and with exactly the arithmetic of :meth:`Value.backward` (reversed :func:`topological_order`,
input a then input b, ``upstream * local``, constants skipped), so replaying its steps gives the
same floats as ``backward()``, bit for bit.

Tracing is read-only: it keeps its running sums in its own table and never touches any ``.grad``,
so explaining a graph does not disturb a training loop that owns it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..chain_rule import DERIVATIVE_ERRORS
from ..errors import ChainruleError, GradientError, OperandTypeError
from ..graph import topological_order
from ..value import Value, as_float

#: Relative and absolute tolerance of the finite-difference check (see docs: float64 central
#: differences with h = 1e-6 * max(1, |x|) agree with exact gradients to about 1e-8 relative).
CHECK_RTOL = 1e-5
CHECK_ATOL = 1e-6


def format_number(x: float, digits: int = 6) -> str:
    """A float as a learner wants to read it: ``2.0``, ``-6.0``, ``0.731059``.

    Short floats keep Python's exact repr (so ``2.0`` stays ``2.0``); long ones are rounded to
    ``digits`` significant digits. The exact values stay available in the trace's fields.
    """
    exact = repr(float(x))
    if len(exact) <= digits + 4:
        return exact
    rounded = f"{x:.{digits}g}"
    # "12" would read as an integer; the trace only holds floats.
    return rounded if any(c in rounded for c in ".en") else rounded + ".0"


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

    ``variable`` is the input's name in the formula (``x`` or ``y``). For a constant input
    everything numeric is ``None``: no gradient is computed for a plain number.
    """

    input: int
    input_name: str
    variable: str
    formula: str  # "d/dx tanh(x) = 1 - tanh(x)^2"
    input_value: float
    is_constant: bool
    local: float | None = None
    contribution: float | None = None  # upstream * local, the engine's exact product
    grad_before: float | None = None
    grad_after: float | None = None  # grad_before + contribution: the running sum


@dataclass(frozen=True)
class BackwardStep:
    """One node of the backward pass: it hands ``upstream * local`` to each input.

    ``skipped`` is True when the upstream gradient is exactly 0: like the engine, the step passes
    nothing on. ``pending`` lists the nodes whose gradient is still incomplete after this step
    (some node that uses them has not been processed yet).
    """

    node: int
    name: str
    op: str
    value: float
    upstream: float
    contributions: tuple[Contribution, ...]
    skipped: bool
    pending: tuple[int, ...]


@dataclass(frozen=True)
class ForwardTrace:
    """The forward pass: the graph's nodes and one step per operation, in evaluation order."""

    nodes: tuple[NodeInfo, ...]
    steps: tuple[ForwardStep, ...]
    root: int


@dataclass(frozen=True)
class GradientCheck:
    """The finite-difference check of one leaf's gradient (central difference).

    ``numeric`` is None when nudging the leaf leaves the functions' domains; ``error`` says why.
    """

    node: int
    name: str
    analytic: float
    numeric: float | None
    step: float
    passed: bool
    error: str | None = None


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

    @property
    def all_checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)


# -- building the traces --------------------------------------------------------------------------


def _require_value(root: object, caller: str) -> Value:
    if not isinstance(root, Value):
        raise OperandTypeError(f"{caller}: root must be a Value, got {type(root).__name__}")
    return root


def _kind(node: Value) -> str:
    if node.is_constant:
        return "constant"
    return "input" if node.is_leaf else "operation"


def _names(order: list[Value]) -> list[str]:
    """A distinct, readable name per node.

    A label is used as is when it is unique; repeated labels (every neuron has a "w0") are
    qualified with the node's scope ("layer0.neuron1.w0"). Constants are written as their
    number; an unlabeled output is ``f``; other unlabeled nodes get ``n{index}``, the id the
    graph picture uses.
    """
    names = []
    for index, node in enumerate(order):
        if node.is_constant:
            names.append(format_number(node.data))
        elif node.label:
            names.append(node.label)
        else:
            names.append(f"n{index}")
    # An unlabeled output is "f", as in df/dx, unless a label already says "f".
    if not order[-1].label and not order[-1].is_constant and "f" not in names:
        names[-1] = "f"
    counts: dict[str, int] = {}
    for index, node in enumerate(order):
        if not node.is_constant:
            counts[names[index]] = counts.get(names[index], 0) + 1
    qualified = list(names)
    for index, node in enumerate(order):
        if not node.is_constant and counts[names[index]] > 1 and node.scope:
            qualified[index] = ".".join((*node.scope, names[index]))
    seen: dict[str, int] = {}
    for index, node in enumerate(order):
        if node.is_constant:
            continue
        name = qualified[index]
        if name in seen:  # still ambiguous: same label in the same scope
            qualified[index] = f"{name}#{index}"
        seen[name] = index
    return qualified


def _node_infos(order: list[Value]) -> tuple[dict[Value, int], tuple[NodeInfo, ...]]:
    position = {node: index for index, node in enumerate(order)}
    names = _names(order)

    def expression(node: Value) -> str | None:
        if node.is_leaf or node.primitive is None:
            return None
        return node.primitive.write(*(names[position[i]] for i in node.inputs))

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
        )
        for index, node in enumerate(order)
    )
    return position, infos


def trace_forward(root: Value, digits: int = 6) -> ForwardTrace:
    """The forward pass of ``root``'s graph, one step per operation, in evaluation order.

    >>> from chainrule.engine import Value
    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
    >>> trace_forward(c).steps[0].equation()
    'c = a * b = 2.0 * -3.0 = -6.0'
    """
    order = topological_order(_require_value(root, "trace_forward"))
    _, nodes = _node_infos(order)
    steps = []
    for info, node in zip(nodes, order, strict=True):
        if info.kind != "operation":
            continue
        primitive = node.primitive
        assert primitive is not None
        steps.append(
            ForwardStep(
                node=info.index,
                name=info.name,
                expression=info.expression or "",
                numbers=primitive.write(*(format_number(nodes[i].value, digits) for i in info.inputs)),
                value=node.data,
            )
        )
    return ForwardTrace(nodes=nodes, steps=tuple(steps), root=len(order) - 1)


def trace_backward(root: Value, gradient: float = 1.0, check: bool = True) -> BackwardTrace:
    """The backward pass from ``root``, step by step, in the order ``root.backward()`` runs it.

    Does not modify any ``.grad``. Raises :class:`GradientError` where ``backward()`` would.
    With ``check=True`` every leaf gradient is verified by central finite differences.
    """
    order = topological_order(_require_value(root, "trace_backward"))
    position, nodes = _node_infos(order)
    grads = [0.0] * len(order)
    grads[-1] = as_float(gradient, "trace_backward: gradient")

    # How many uses of each node are still to be processed: a node's gradient is complete once
    # every operation that consumes it has handed back its contribution.
    waiting = [0] * len(order)
    for info in nodes:
        for i in info.inputs:
            waiting[i] += 1
    pending = {info.index for info in nodes if waiting[info.index] and not info.is_constant}

    steps = []
    for index in range(len(order) - 1, -1, -1):
        node = order[index]
        upstream = grads[index]
        if upstream - upstream:
            raise GradientError(
                f"trace_backward: the gradient of {_describe(nodes[index])} became {upstream}"
            )
        if node.is_leaf:
            continue
        primitive = node.primitive
        assert primitive is not None
        info = nodes[index]
        operands = [order[i].data for i in info.inputs]
        skipped = not upstream  # the engine passes nothing on from a zero gradient
        contributions = []
        for slot, input_index in enumerate(info.inputs):
            input_info = nodes[input_index]
            common = dict(
                input=input_index,
                input_name=input_info.name,
                variable=primitive.input_names[slot],
                formula=primitive.derivative_formula(slot),
                input_value=input_info.value,
                is_constant=input_info.is_constant,
            )
            if input_info.is_constant or skipped:
                contributions.append(Contribution(**common))  # type: ignore[arg-type]
                continue
            try:
                local = primitive.derivatives[slot](*operands, node.data)
                product = upstream * local
            except DERIVATIVE_ERRORS as error:
                raise GradientError(
                    f"trace_backward: the local derivative of {_describe(info)} is infinite or "
                    f"undefined at {primitive.write(*map(repr, operands))} ({error})"
                ) from None
            before = grads[input_index]
            grads[input_index] = before + product
            contributions.append(
                Contribution(
                    **common,  # type: ignore[arg-type]
                    local=local,
                    contribution=product,
                    grad_before=before,
                    grad_after=grads[input_index],
                )
            )
        for input_index in info.inputs:
            waiting[input_index] -= 1
            if not waiting[input_index]:
                pending.discard(input_index)
        steps.append(
            BackwardStep(
                node=index,
                name=info.name,
                op=primitive.name,
                value=node.data,
                upstream=upstream,
                contributions=tuple(contributions),
                skipped=skipped,
                pending=tuple(sorted(pending)),
            )
        )
    final = tuple(None if info.is_constant else grads[info.index] for info in nodes)
    checks = _finite_difference_checks(order, position, nodes, final, grads[-1]) if check else ()
    return BackwardTrace(
        nodes=nodes, root=len(order) - 1, seed=grads[-1], steps=tuple(steps), gradients=final,
        checks=checks,
    )


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


def _evaluate(data: list[float], plan: list[_Operation], nudged: int, value: float) -> float:
    """The root's value with node ``nudged`` set to ``value``, recomputed forward through the
    primitive table; only the operations that depend on ``nudged`` are recomputed, and the
    graph itself is not touched."""
    data = list(data)
    data[nudged] = value
    changed = {nudged}
    for index, evaluate, inputs in plan[bisect.bisect_right(plan, (nudged,)):]:
        if not changed.isdisjoint(inputs):
            data[index] = evaluate(*(data[i] for i in inputs))
            changed.add(index)
    return data[-1]


def _finite_difference_checks(
    order: list[Value],
    position: dict[Value, int],
    nodes: tuple[NodeInfo, ...],
    gradients: tuple[float | None, ...],
    seed: float,
) -> tuple[GradientCheck, ...]:
    checks = []
    plan = _forward_plan(order, position)
    data = [node.data for node in order]
    for info in nodes:
        if not info.is_input:
            continue
        analytic = gradients[info.index]
        assert analytic is not None
        x = info.value
        h = 1e-6 * max(1.0, abs(x))
        try:
            plus = _evaluate(data, plan, info.index, x + h)
            minus = _evaluate(data, plan, info.index, x - h)
        except ChainruleError as error:
            checks.append(
                GradientCheck(info.index, info.name, analytic, None, h, False, str(error))
            )
            continue
        numeric = seed * (plus - minus) / (2.0 * h)
        passed = math.isfinite(numeric) and abs(analytic - numeric) <= (
            CHECK_ATOL + CHECK_RTOL * abs(numeric)
        )
        checks.append(GradientCheck(info.index, info.name, analytic, numeric, h, passed))
    return tuple(checks)
