"""The program plan: what a traced call computes, worked out once for every emitter.

A :class:`Plan` is made from a :class:`~.tracing.Trace` and says, in terms of numbered
*slots* (one per value the program holds), everything a compiled program does:

* the **forward steps** in eager's order, every node the call made whether its result is used
  or not (eager computes them all and may fail on any), each a primitive of the table applied
  to slots and literal numbers, or a copy that stops the gradient (``detach()``, and what
  ``no_grad()`` computed inside the function);
* the **guards**, each placed right after the step that computes what it compares;
* the slots whose **finiteness** must be checked (float arithmetic overflows without raising);
* the **backward pass**, from :func:`~chainrule.engine.chain_rule.backward_schedule` (the
  chain rule's order, constants getting nothing, stopped values passing nothing on), each node
  marked *guarded* when a local derivative may fail or be infinite, so that a zero upstream
  gradient passes nothing on without the derivative being evaluated (rule 2);
* which slot holds the gradient of each ``wrt``; emitters add it to ``0.0``, as eager
  accumulates into a ``.grad`` that starts at ``0.0`` (so a ``-0.0`` contribution gives ``0.0``).

Emitters (:mod:`.emit_python`, :mod:`.emit_numpy`) only write this down, each in its
language, through :mod:`.renderings`. Program names are made from slot numbers alone
(``v3``, ``d_v3``), never from labels, so no label can collide with anything; labels appear
in comments, sanitised. :func:`lift_layers` rewrites a plan for array code: a layer's sums of
products become one matrix product.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..chain_rule import backward_schedule
from ..graph import topological_order
from ..primitives import Primitive
from ..value import CONSTANT, Value
from .tracing import Trace

#: A value in a program: a slot (int) or a literal number (float).
Ref = int | float

#: Functions whose value is finite wherever their input is (derivative code using only these,
#: arithmetic without division and comparisons can never raise).
_TOTAL_FUNCTIONS = {"sigmoid", "sin", "cos", "tanh", "softplus", "log_sigmoid", "fabs"}


@dataclass(frozen=True)
class Step:
    """``slot = primitive(*operands)``; with no primitive, ``slot = operands[0]`` passing no
    gradient back (a detached value, or one computed under ``no_grad``)."""

    slot: int
    primitive: Primitive | None
    operands: tuple[Ref, ...]


@dataclass(frozen=True)
class Check:
    """A guard: ``left <operator> right`` must come out ``outcome``, else trace again."""

    left: Ref
    operator: str
    right: Ref
    outcome: bool


@dataclass(frozen=True)
class Contribution:
    """``target`` receives ``upstream * (derivative of the step with respect to its input
    number position)``; ``first`` when it is the first thing ``target`` receives."""

    position: int
    target: int
    first: bool


@dataclass(frozen=True)
class BackStep:
    """One node's handoff in the backward pass (rule 1), in order."""

    step: Step
    guarded: bool  # evaluate only when the upstream gradient is not 0 (rule 2)
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Layer:
    """Sums of products ``w_j0*x0 + w_j1*x1 + ... (+ b_j)`` over the same inputs ``x``: one
    row per sum (its last node is ``tops[j]``), weights and biases captured slots."""

    index: int
    inputs: tuple[Ref, ...]
    tops: tuple[int, ...]
    weights: tuple[tuple[int, ...], ...]
    biases: tuple[int | None, ...]
    bias_first: tuple[bool, ...]  # per row: the bias added first (sum(..., b)) or last
    members: frozenset[int]  # every slot the matrix products compute


@dataclass(frozen=True)
class LayerForward:
    layer: Layer


@dataclass(frozen=True)
class LayerBackward:
    """The layer's gradients: ``dW = dZ @ X.T``, ``dX = W.T @ dZ``; ``firsts[i]`` says whether
    input i receives its first gradient here."""

    layer: Layer
    firsts: tuple[bool, ...]
    #: Exact lifting only: the rows in the order eager hands their gradients on.
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class LayerMap:
    """The same one-input operation applied to every row of a layer's sums (its activation):
    ``outputs[j] = primitive(tops[j])``, forward on the whole matrix at once, and backward
    (``dZ = dA * local``) just before the layer's own backward."""

    layer: Layer
    primitive: Primitive
    outputs: tuple[int, ...]
    guarded: bool


@dataclass(frozen=True)
class LayerMapBackward:
    map: LayerMap


ForwardItem = Step | Check | LayerForward | LayerMap
BackwardItem = BackStep | LayerBackward | LayerMapBackward


@dataclass
class Plan:
    """A traced call as a program, for any emitter (see the module docstring)."""

    name: str  # the traced function's name: for comments and file names, never code
    slot_count: int
    inputs: list[int]
    captured: list[Value]  # read from outside the arguments at each call, by current .data
    captured_slots: list[int]
    labels: dict[int, str]
    forward: list[ForwardItem]
    overflow_checked: list[int]
    outputs: list[Ref]
    #: The seeded outputs: (seed number, slot) for each root of the backward pass.
    seeds: list[tuple[int, int]] = field(default_factory=list)
    backward: list[BackwardItem] | None = None
    gradients: list[int] = field(default_factory=list)  # slots that receive a gradient
    wrt: list[int | None] = field(default_factory=list)  # None: not reached, its gradient is 0
    varying: frozenset[int] = frozenset()  # slots that depend on the inputs (arrays in numpy)
    layers: list[Layer] = field(default_factory=list)
    #: A plan of a recorded graph (:func:`plan_of_graph`): its nodes, node i in slot i.
    graph: list[Value] = field(default_factory=list)

    def describe(self, ref: Ref) -> str:
        """A slot by its label where it has one (sanitised by the emitters), else its name."""
        if isinstance(ref, float):
            return repr(ref)
        return self.labels.get(ref) or f"v{ref}"


def make_plan(trace: Trace, wrt: Sequence[Value] | None, name: str,
              seeded: Sequence[int] = (0,)) -> Plan:
    """The plan of ``trace``: forward, and with ``wrt`` the backward pass of the outputs
    numbered ``seeded`` (their gradients with respect to ``wrt``)."""
    made_steps = [n for n in trace.made if n._primitive is not CONSTANT]
    made = set(made_steps)
    roots = [o for o in trace.outputs if isinstance(o, Value)]
    for guard in trace.guards:
        roots.append(guard.value)
        if isinstance(guard.other, Value):
            roots.append(guard.other)
    roots += [source for source in trace.stopped.values() if source is not None]
    reachable = topological_order(*roots, *made_steps) if roots or made_steps else []
    input_set = set(trace.inputs)
    slot: dict[Value, int] = {leaf: i for i, leaf in enumerate(trace.inputs)}
    labels = {i: n for i, n in enumerate(trace.input_names)}
    captured = [n for n in reachable if n.is_leaf and n._primitive is not CONSTANT
                and n not in input_set and n not in made]
    earlier = [n for n in reachable if not n.is_leaf and n not in made]  # made before the call
    for node in (*captured, *earlier, *made_steps):
        slot[node] = len(slot)
        if node.label:
            labels[slot[node]] = node.label

    def ref(node: Value) -> Ref:
        return node._data if node._primitive is CONSTANT else slot[node]

    steps: dict[Value, Step] = {}
    for node in (*earlier, *made_steps):
        if node in trace.stopped and node.is_leaf:  # a detached leaf: a copy of its source
            source = trace.stopped[node]
            assert source is not None
            steps[node] = Step(slot[node], None, (ref(source),))
        else:
            steps[node] = Step(slot[node], node._primitive, tuple(ref(i) for i in node.inputs))
    forward: list[ForwardItem] = []
    position = {step.slot: k for k, step in enumerate(steps.values())}
    checks_after: dict[int, list[Check]] = {}
    for guard in trace.guards:
        compared = [guard.value] + ([guard.other] if isinstance(guard.other, Value) else [])
        at = max((position.get(slot[v], -1) if v._primitive is not CONSTANT else -1)
                 for v in compared)
        other = ref(guard.other) if isinstance(guard.other, Value) else guard.other
        checks_after.setdefault(at, []).append(Check(ref(guard.value), guard.operator, other,
                                                     guard.outcome))
    forward.extend(checks_after.get(-1, []))
    for k, step in enumerate(steps.values()):
        forward.append(step)
        forward.extend(checks_after.get(k, []))
    overflow_checked = [s.slot for s in steps.values() if s.primitive is not None
                        and re.search(r"[-+*/]", s.primitive.forward_code)]
    varying = set(range(len(trace.inputs)))
    for step in steps.values():
        if any(isinstance(o, int) and o in varying for o in step.operands):
            varying.add(step.slot)
    plan = Plan(name, len(slot), list(range(len(trace.inputs))), captured,
                [slot[c] for c in captured], labels, forward, overflow_checked,
                [ref(o) if isinstance(o, Value) else float(o) for o in trace.outputs],
                varying=frozenset(varying))
    if wrt is None:
        return plan
    seeds = [(k, trace.outputs[index]) for k, index in enumerate(seeded)]
    seed_roots = [(k, o) for k, o in seeds if isinstance(o, Value) and o._primitive is not CONSTANT]
    handoffs, reached = backward_schedule([o for _, o in seed_roots], trace.stopped)
    plan.seeds = [(k, slot[o]) for k, o in seed_roots]
    plan.backward = []
    for handoff in handoffs:
        step = steps[handoff.node]
        if step.primitive is None or not handoff.inputs:
            continue
        assert step.primitive is not None
        contributions = tuple(Contribution(position, slot[i], first)
                              for position, i, first in handoff.inputs)
        plan.backward.append(BackStep(step, _guarded(step.primitive, contributions),
                                      contributions))
    plan.gradients = [slot[n] for n in reached]
    received = set(reached)
    plan.wrt = [slot[w] if w in received and w in slot else None for w in wrt]
    return plan


def _guarded(primitive: Primitive, contributions: Sequence[Contribution]) -> bool:
    """Whether a local derivative evaluated here may raise or be infinite on finite numbers
    (division, powers, logarithms...): then a zero upstream must skip it, as eager does."""
    for contribution in contributions:
        code = primitive.derivative_code[contribution.position]
        if "/" in code or "**" in code:
            return True
        called = re.findall(r"([A-Za-z_]\w*)\(", code)
        if any(name not in _TOTAL_FUNCTIONS for name in called):
            return True
    return False


def uses(plan: Plan) -> dict[int, int]:
    """How many times each slot is an operand of a step (or an output, or compared)."""
    counts: dict[int, int] = {}
    for item in plan.forward:
        refs: Sequence[Ref] = ()
        if isinstance(item, Step):
            refs = item.operands
        elif isinstance(item, Check):
            refs = (item.left, item.right)
        for r in refs:
            if isinstance(r, int):
                counts[r] = counts.get(r, 0) + 1
    for r in plan.outputs:
        if isinstance(r, int):
            counts[r] = counts.get(r, 0) + 1
    return counts


# -- layers lifted to matrix products: a rewrite of the plan --------------------------------------

#: A row of a layer as the recogniser finds it: (weight, input) terms in order, the bias,
#: whether the bias was added first (``sum(..., b)``) or last, and every slot the row's sum
#: computes.
Row = tuple[list[tuple[int, Ref]], int | None, bool, set[int]]


def _slot(ref: Ref) -> bool:
    return type(ref) is int  # a literal 2.0 == 2 would pass for slot 2 in a set


class _Recogniser:
    """Finds the sums of products of parameters (captured slots in ``wrt``, used once) and
    per-sample values. Today's graphs record them as chains of ``add`` over ``mul`` nodes; a
    ``dot`` node (inputs ``w1..wn, x1..xn``) is one row by itself. The bias is a parameter
    added at either end of the chain (``sum(..., b)`` adds it first)."""

    def __init__(self, plan: Plan, parameters: set[int]) -> None:
        self.steps = {i.slot: i for i in plan.forward if isinstance(i, Step)}
        self.uses = uses(plan)
        self.parameters = {p for p in parameters if self.uses.get(p) == 1}
        self.varying = plan.varying
        self.kept = {r for r in plan.outputs if isinstance(r, int)} | {
            r for i in plan.forward if isinstance(i, Check) for r in (i.left, i.right)
            if isinstance(r, int)}

    def op(self, slot: Ref) -> str | None:
        step = self.steps.get(slot) if isinstance(slot, int) else None
        return step.primitive.name if step is not None and step.primitive is not None else None

    def inner(self, slot: Ref) -> bool:
        return isinstance(slot, int) and self.uses.get(slot) == 1 and slot not in self.kept

    def term(self, slot: Ref, top: bool = False) -> tuple[int, Ref] | None:
        """``w * x`` of a parameter and a per-sample value (a lone product at the top of a
        row may be used many times)."""
        if self.op(slot) != "mul" or not (top or self.inner(slot)):
            return None
        assert isinstance(slot, int)
        a, b = self.steps[slot].operands
        if self.parameter(a) and _slot(b) and b in self.varying:
            return int(a), b
        if self.parameter(b) and _slot(a) and a in self.varying:
            return int(b), a
        return None

    def parameter(self, ref: Ref) -> bool:
        return _slot(ref) and ref in self.parameters

    def dot(self, slot: Ref) -> list[tuple[int, Ref]] | None:
        if self.op(slot) != "dot":
            return None
        assert isinstance(slot, int)
        operands = self.steps[slot].operands
        n = len(operands) // 2
        weights, inputs = operands[:n], operands[n:]
        if all(self.parameter(w) for w in weights) and all(_slot(x) and x in self.varying
                                                          for x in inputs):
            return [(int(w), x) for w, x in zip(weights, inputs, strict=True)]
        return None

    def row(self, top: int) -> Row | None:
        members = {top}
        bias: int | None = None
        bias_first = False
        node: Ref = top
        if self.op(top) == "add":
            left, right = self.steps[top].operands
            if self.parameter(right) and self.inner(left) and self.op(left) in ("add", "mul",
                                                                                "dot"):
                bias, node = int(right), left
                members.add(int(left))
        terms: list[tuple[int, Ref]] = []
        while True:
            found = self.dot(node)
            if found is not None:
                terms[:0] = found
                break
            if self.op(node) == "mul":
                term = self.term(node, top=node == top)
                if term is None:
                    return None
                terms.insert(0, term)
                break
            if self.op(node) != "add":
                return None
            assert isinstance(node, int)
            left, right = self.steps[node].operands
            term = self.term(right)
            if term is None:
                return None
            terms.insert(0, term)
            members.add(int(right))
            if bias is None and self.parameter(left):  # sum(..., b): the bias first
                bias, bias_first = int(left), True
                break
            if not self.inner(left):
                return None
            members.add(int(left))
            node = left
        return terms, bias, bias_first, members


def lift_layers(plan: Plan, parameters: set[int], exact: bool = False,
                min_products: int = 1) -> Plan:
    """``plan`` with its layers' sums of products computed together (see :class:`Layer`):
    the rows the recogniser finds among ``parameters`` (slots), grouped by their inputs,
    replace their steps forward (where the first row's sum was) and their handoffs backward
    (after the last handoff that gives a row's sum its gradient).

    With ``exact`` only layers whose result can keep eager's every float are lifted: each
    input used by the layer's rows alone, and receiving their gradients in one order of rows
    (recorded in :attr:`LayerBackward.rows`), so that an emitter can add them up in eager's
    order, row after row. Rows of fewer than ``min_products`` products stay as they are."""
    if plan.backward is None:
        return plan
    recogniser = _Recogniser(plan, parameters)
    order = [i.slot for i in plan.forward if isinstance(i, Step)]
    groups: dict[tuple[Ref, ...], list[tuple[int, Row]]] = {}
    claimed: set[int] = set()
    for top in reversed(order):  # a row's last node before its inner ones
        if top in claimed or recogniser.op(top) not in ("add", "mul", "dot"):
            continue
        found = recogniser.row(top)
        if found is None or len(found[0]) < min_products:
            continue
        claimed |= found[3]
        groups.setdefault(tuple(x for _, x in found[0]), []).append((top, found))
    position = {s: k for k, s in enumerate(order)}
    handed_at = {item.step.slot: k for k, item in enumerate(plan.backward)
                 if isinstance(item, BackStep)}
    layers: list[Layer] = []
    row_orders: dict[int, tuple[int, ...]] = {}
    for inputs, rows in sorted(groups.items(), key=lambda g: min(position[t] for t, _ in g[1])):
        rows.sort(key=lambda r: position[r[0]])
        layer = Layer(len(layers), inputs, tuple(t for t, _ in rows),
                      tuple(tuple(w for w, _ in row[0]) for _, row in rows),
                      tuple(row[1] for _, row in rows), tuple(row[2] for _, row in rows),
                      frozenset(s for _, row in rows for s in row[3]))
        if exact:
            handed = _row_order(layer, [row[3] for _, row in rows], recogniser, handed_at)
            if handed is None:
                continue
            row_orders[layer.index] = handed
        layers.append(layer)
    if not layers:
        return plan
    members = {s: layer for layer in layers for s in layer.members}
    tops = {t for layer in layers for t in layer.tops}
    first_tops = {min(layer.tops, key=position.__getitem__): layer for layer in layers}
    forward: list[ForwardItem] = []
    for entry in plan.forward:
        if isinstance(entry, Step) and entry.slot in first_tops:
            forward.append(LayerForward(first_tops[entry.slot]))
        if not (isinstance(entry, Step) and entry.slot in members):
            forward.append(entry)
    backward = [item for item in plan.backward
                if not (isinstance(item, BackStep) and item.step.slot in members)]
    received = set(plan.gradients)
    for layer in reversed(layers):  # each after the last handoff reaching one of its tops
        reaching = set(layer.tops)
        if not reaching & received:
            continue  # no gradient reaches the layer
        last = max((k for k, item in enumerate(backward) if isinstance(item, BackStep)
                    and any(c.target in reaching for c in item.contributions)), default=-1)
        backward.insert(last + 1, LayerBackward(layer, (), row_orders.get(layer.index, ())))
    lifted = replace(plan, forward=forward, layers=layers,
                     overflow_checked=[s for s in plan.overflow_checked
                                       if s not in members or s in tops])
    lifted.backward = _with_firsts(backward, {s for _, s in plan.seeds})
    lifted.gradients = [s for s in plan.gradients if s not in members or s in tops]
    return lifted


def lift_activations(plan: Plan) -> Plan:
    """``plan`` (with lifted layers) with each layer's activation applied to the whole layer at
    once: where every row's sum is used once, by the same one-input operation (relu, tanh,
    sigmoid...), those steps become one :class:`LayerMap`, placed right after the layer's
    matrix product, and their handoffs one :class:`LayerMapBackward`, right before the
    layer's own backward."""
    if not plan.layers or plan.backward is None:
        return plan
    steps = {i.slot: i for i in plan.forward if isinstance(i, Step)}
    consumers: dict[int, list[Step]] = {}
    for step in steps.values():
        for o in step.operands:
            if _slot(o):
                consumers.setdefault(int(o), []).append(step)
    counts = uses(plan)
    maps: dict[int, LayerMap] = {}
    for layer in plan.layers:
        found = [consumers.get(t, []) for t in layer.tops]
        if not all(len(c) == 1 and counts.get(t) == 1 for c, t in zip(found, layer.tops,
                                                                     strict=True)):
            continue
        activations = [c[0] for c in found]
        primitive = activations[0].primitive
        if primitive is None or primitive.arity != 1 or any(
                a.primitive is not primitive for a in activations):
            continue
        guarded = _guarded(primitive, (Contribution(0, 0, True),))
        maps[layer.index] = LayerMap(layer, primitive, tuple(a.slot for a in activations),
                                     guarded)
    if not maps:
        return plan
    mapped = {slot for m in maps.values() for slot in m.outputs}
    forward: list[ForwardItem] = []
    for entry in plan.forward:
        if isinstance(entry, Step) and entry.slot in mapped:
            continue
        forward.append(entry)
        if isinstance(entry, LayerForward) and entry.layer.index in maps:
            forward.append(maps[entry.layer.index])
    backward: list[BackwardItem] = []
    for item in plan.backward:
        if isinstance(item, BackStep) and item.step.slot in mapped:
            continue
        if isinstance(item, LayerBackward) and item.layer.index in maps:
            backward.append(LayerMapBackward(maps[item.layer.index]))
        backward.append(item)
    tops = {t for m in maps.values() for t in m.layer.tops}
    return replace(plan, forward=forward, backward=backward,
                   gradients=[s for s in plan.gradients if s not in tops])


def _row_order(layer: Layer, row_members: list[set[int]], recogniser: _Recogniser,
               handed_at: dict[int, int]) -> tuple[int, ...] | None:
    """The order in which eager hands the rows' gradients to the layer's inputs (rows that
    hand nothing on left out), if it is one order for every input and nothing else hands
    them anything; else None."""
    for x in layer.inputs:
        if _slot(x) and recogniser.uses.get(int(x)) != len(layer.tops):
            return None  # the input is used elsewhere: its gradient sums interleave
    orders = set()
    for i in range(len(layer.inputs)):
        at = []
        for j, members in enumerate(row_members):
            products = [s for s in members if recogniser.op(s) in ("mul", "dot")]
            handed = [handed_at[p] for p in products if p in handed_at]
            if not handed:
                continue
            if recogniser.op(products[0]) == "dot" or len(products) == 1:
                at.append((min(handed), j))
            else:
                term = _term_product(recogniser, members, layer.inputs[i])
                if term is None or term not in handed_at:
                    return None
                at.append((handed_at[term], j))
        orders.add(tuple(j for _, j in sorted(at)))
    return orders.pop() if len(orders) == 1 else None


def _term_product(recogniser: _Recogniser, members: set[int], x: Ref) -> int | None:
    """The product node of a row that multiplies ``x``."""
    for s in members:
        if recogniser.op(s) == "mul" and any(_slot(o) and o == x
                                             for o in recogniser.steps[s].operands):
            return s
    return None


def _with_firsts(backward: list[BackwardItem], seeded: set[int]) -> list[BackwardItem]:
    """``backward`` with each target's first contribution marked again (after a rewrite)."""
    received = set(seeded)
    marked: list[BackwardItem] = []
    for item in backward:
        if isinstance(item, LayerMapBackward):
            marked.append(item)
            continue
        if isinstance(item, LayerBackward):
            firsts = []
            for x in item.layer.inputs:
                firsts.append(isinstance(x, int) and x not in received)
                if isinstance(x, int):
                    received.add(x)
            marked.append(LayerBackward(item.layer, tuple(firsts), item.rows))
            continue
        contributions = []
        for c in item.contributions:
            contributions.append(Contribution(c.position, c.target, c.target not in received))
            received.add(c.target)
        marked.append(BackStep(item.step, item.guarded, tuple(contributions)))
    return marked



def plan_of_graph(root: Value, name: str = "graph") -> Plan:
    """The plan of a recorded graph, for a page that recomputes it: slot ``i`` is node ``i``
    of ``topological_order(root)`` (the walkthrough's numbering), the inputs are the editable
    leaves (not constants) in that order, a step computes every operation node, constants
    are operands written as numbers, and the backward pass from ``root`` is
    :func:`~chainrule.engine.chain_rule.backward_schedule`'s. Its contributions, in order,
    are numbered ``k`` = 0, 1, ... (node by descending ``i``, inputs in order, constants
    skipped)."""
    order = topological_order(root)
    slot = {node: i for i, node in enumerate(order)}

    def ref(node: Value) -> Ref:
        return node._data if node._primitive is CONSTANT else slot[node]

    steps = {node: Step(slot[node], node._primitive, tuple(ref(i) for i in node.inputs))
             for node in order if not node.is_leaf}
    inputs = [slot[n] for n in order if n.is_leaf and n._primitive is not CONSTANT]
    handoffs, reached = backward_schedule([root])
    backward: list[BackwardItem] = []
    for handoff in handoffs:
        step = steps[handoff.node]
        assert step.primitive is not None
        contributions = tuple(Contribution(position, slot[i], first)
                              for position, i, first in handoff.inputs)
        if contributions:
            backward.append(BackStep(step, _guarded(step.primitive, contributions),
                                     contributions))
    root_slot = slot[root]
    return Plan(
        name, len(order), inputs, [], [], {i: n.label for i, n in enumerate(order) if n.label},
        list(steps.values()), [s.slot for s in steps.values()], [root_slot],
        seeds=[(0, root_slot)] if root._primitive is not CONSTANT else [], backward=backward,
        gradients=[slot[n] for n in reached], wrt=list(inputs),
        varying=frozenset([*inputs, *(s.slot for s in steps.values())]), graph=order)
