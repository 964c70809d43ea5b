"""The sentences every renderer shares, so text, Markdown and HTML say the same thing.

Every sentence with numbers in it is written once, as a template whose numbers are slots (see
:mod:`.template`): the ``..._template`` functions build them, the ``..._text`` ones fill them
with the recorded numbers (``w.said``), and the page fills the same templates in the browser,
with the recorded numbers or a learner's edited ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache

from ..naming import local_numbers, operand_text, operation_text
from ..primitives import Primitive
from .lesson import Lesson
from .rules import Branch, branches, gate_rule_template, kink_conditions
from .template import (
    Choice,
    Compare,
    Known,
    Passed,
    Recorded,
    Slot,
    Style,
    Template,
    UpstreamZero,
    at_nodes,
    join,
    slotted,
    template,
)
from .trace import (
    BackwardStep,
    Contribution,
    ForwardStep,
    GradientCheck,
    NodeInfo,
    format_number,
    kink_text,
    layer_of,
)


def value(node: int, style: Style = "number") -> Slot:
    """Node ``node``'s value, as a slot."""
    return Slot("v", node, style)


def grad(node: int, style: Style = "number") -> Slot:
    """Node ``node``'s gradient, as a slot."""
    return Slot("g", node, style)


def gradient_of(w: Lesson, node: int) -> str:
    """How the gradient of the output with respect to ``node`` is written: ``dy/dz``."""
    return f"d{w.root_name}/d{w.forward.nodes[node].name}"


def number(w: Lesson, x: float) -> str:
    return format_number(x, w.digits)


def operand(w: Lesson, x: float) -> str:
    """A number as an operand: negative ones in parentheses, ``2 x (-4)``."""
    return operand_text(number(w, x))


@cache
def _operation_on_operands(primitive: Primitive) -> Template:
    """The operation written with its operands' numbers, slot ``v`` j for operand j (written
    once per primitive: an n-ary dot's text is long)."""
    return slotted(lambda numbers: operation_text(primitive, numbers),
                   [Slot("v", j) for j in range(primitive.arity)])


def operation_numbers(info: NodeInfo) -> Template:
    """An operation written with its inputs' numbers: ``2 * (-3)``."""
    assert info.primitive is not None
    return at_nodes(_operation_on_operands(info.primitive), info.inputs)


def forward_equation(w: Lesson, step: ForwardStep) -> Template:
    """``c = a * b = 2 * (-3) = -6``."""
    info = w.forward.nodes[step.node]
    return template(f"{step.name} = {step.expression} = ", operation_numbers(info), " = ",
                    value(step.node))


def inputs_known(w: Lesson, node: int) -> Template:
    """``Its inputs are known: a = 2, b = -3.``"""
    nodes = w.forward.nodes
    return template("Its inputs are known: ", join(
        [template(f"{nodes[i].name} = ", value(i)) for i in dict.fromkeys(nodes[node].inputs)],
        ", "), ".")


def seed_equation(w: Lesson) -> Template:
    """The start of the backward pass: ``dL/dL = 1``."""
    return template(f"{gradient_of(w, w.backward.root)} = ", Slot("seed"))


def operation_heading(w: Lesson, step: BackwardStep) -> Template:
    """``c = a * b = -6``."""
    return template(f"{step.name} = {w.forward.nodes[step.node].expression} = ",
                    value(step.node))


def upstream_template(w: Lesson, step: BackwardStep) -> Template:
    """``upstream dL/dc = 1``."""
    return template(f"upstream {gradient_of(w, step.node)} = ", grad(step.node))


def step_heading_template(w: Lesson, step: BackwardStep) -> Template:
    return template(operation_heading(w, step), ", ", upstream_template(w, step))


def step_heading(w: Lesson, step: BackwardStep) -> str:
    return w.said(step_heading_template(w, step))


#: A local derivative longer than this leaves out the operation it is taken of (the step's
#: heading says it): ``d/dlayer1.neuron0.w0 = layer0.neuron0.tanh``, so that long nn names do
#: not wrap a line three times.
LONG_FORMULA = 60


@cache
def _local_on_operands(primitive: Primitive, slot: int) -> Template:
    """:func:`_local_numbers` on the operands: slot ``v`` j for operand j, ``v`` arity for
    the output (written once per primitive and input)."""
    return slotted(
        lambda texts: local_numbers(primitive, slot, texts[:-1], texts[-1]) or "",
        [Slot("v", j) for j in range(primitive.arity + 1)])


def _local_numbers(info: NodeInfo, slot: int) -> Template:
    """The local derivative's formula with the step's numbers (``0.767 * (1 - 0.767)``), ()
    when the formula is a plain number."""
    assert info.primitive is not None
    # (the step's own node given apart: a list of every input for each of them would take
    # time quadratic in an n-ary dot's inputs)
    return at_nodes(_local_on_operands(info.primitive, slot), info.inputs, info.index)


def _as_number(w: Lesson, text: str) -> str | None:
    """A number of the primitive table (``1``, ``-1``, ``1/2``) as the walkthrough writes it."""
    try:
        return number(w, float(Fraction(text)))
    except (ValueError, ZeroDivisionError):
        return None


def _branch_is_its_value(w: Lesson, info: NodeInfo, found: Branch) -> bool:
    """Whether a branch already says its number (``1``; a constant ``0.01``), so that ``= 1``
    would repeat it."""
    assert info.primitive is not None
    names = info.primitive.input_names
    if found.value in names:
        operand = w.forward.nodes[info.inputs[names.index(found.value)]]
        return operand.is_constant and found.branch.strip("()") == number(w, operand.value)
    return found.branch.strip("()") == _as_number(w, found.value)


def local_template(w: Lesson, c: Contribution) -> Template:
    """``d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z)) = 0.767 * (1 - 0.767) = 0.1787``:
    the formula in the learner's names, then with the numbers, then its value; for a piecewise
    derivative, the case that holds (``d/da max(a, b): 0.7 < 1.3, so 0``)."""
    assert c.k is not None
    info = w.forward.nodes[c.node]
    assert info.primitive is not None
    head, _, formula = c.formula.partition(" = ")
    short = f"d/d{c.input_name}"
    local = Slot("l", c.k)

    def as_formula() -> Template:
        start = short if len(c.formula) > LONG_FORMULA else head
        numbers = _local_numbers(info, c.slot)
        repeats: str | None
        if len(numbers) == 1 and isinstance(numbers[0], Slot):  # "y" of a product: the value
            repeats = number(w, w.forward.nodes[numbers[0].index].value)
            numbers = ()
        else:
            repeats = None if numbers else _as_number(w, formula)
        if not numbers and formula == repeats:
            return template(start, " = ", formula)  # "d/dx (x + y) = 1", not "= 1 = 1"
        return template(start, " = ", formula, (" = ", numbers) if numbers else None, " = ",
                        local)

    piecewise = kink_conditions(info.primitive) or info.primitive.special_cases
    found = None if not piecewise else branches(  # (names: an n-ary dot has many)
        info.primitive, c.slot, [w.forward.nodes[i].name for i in info.inputs])
    if found is None:
        return as_formula()
    start = short if len(head) > LONG_FORMULA else head
    variants = []
    for each in found:
        when = None if each.when is None else at_nodes(each.when, info.inputs)
        if each.formula:
            variants.append((when, as_formula()))
            continue
        said = None if _branch_is_its_value(w, info, each) else (" = ", local)
        variants.append((when, template(start, ": ", at_nodes(each.condition, info.inputs),
                                        ", so ", each.branch, said)))
    return (Choice(tuple(variants)),)


def rule_template(w: Lesson, step: BackwardStep) -> Template | None:
    """The gate's rule (see :func:`~.rules.gate_rule_template`) on the step's nodes, or None:
    ``step.rule`` is it filled with the recorded numbers, with the lesson's digits."""
    info = w.forward.nodes[step.node]
    if info.primitive is None:
        return None
    rule = gate_rule_template(info.primitive, [w.forward.nodes[i].name for i in info.inputs])
    return None if rule is None else at_nodes(rule, info.inputs)


def rule_text(w: Lesson, step: BackwardStep) -> str | None:
    """The rule shown with a step that passes something on (None: no rule, or skipped)."""
    rule = None if step.skipped else rule_template(w, step)
    return None if rule is None else w.said(rule)


def local_text(w: Lesson, c: Contribution) -> str:
    """:func:`local_template` with the recorded numbers."""
    return w.said(local_template(w, c))


def product_template(w: Lesson, step: BackwardStep, c: Contribution, times: str = "x"
                     ) -> Template:
    """``upstream x local = product``: ``2 x (-4) = -8``."""
    assert c.k is not None
    return template(grad(step.node, "operand"), f" {times} ", Slot("l", c.k, "operand"), " = ",
                    Slot("p", c.k))


def product_text(w: Lesson, step: BackwardStep, c: Contribution, times: str = "x") -> str:
    return w.said(product_template(w, step, c, times))


def running_sum_template(w: Lesson, c: Contribution) -> Template:
    """The gradient of the input after this contribution: for an input used once simply the
    contribution, for a fan-out the running sum ``dL/dx = 0.2 + (-0.3) = -0.1``."""
    assert c.k is not None
    if c.uses <= 1:
        return template(f"{gradient_of(w, c.input)} = ", Slot("a", c.k))
    return template(f"{gradient_of(w, c.input)} = ", Slot("b", c.k), " + ",
                    Slot("p", c.k, "operand"), " = ", Slot("a", c.k))


def running_sum_text(w: Lesson, c: Contribution) -> str:
    return w.said(running_sum_template(w, c))


def contributions_to(w: Lesson, node: int) -> list[float]:
    """Every contribution ``node`` receives, in the order they are added."""
    return [c.contribution for _, c in w.received.get(node, ()) if c.contribution is not None]


def fan_out_template(w: Lesson, c: Contribution) -> Template | None:
    """For an input used several times, what happens to its gradient, in words: the gradients
    from the several uses add up (None for an input used once)."""
    if c.uses <= 1 or c.is_constant:
        return None
    name = w.forward.nodes[c.input].name
    if c.use < c.uses:
        return (
            f"fan-out sums: {name} is used {c.uses} times, so its gradient adds up "
            f"{c.uses} contributions; this is number {c.use}",
        )
    # Every use is a term, whichever numbers fill it: its step's product, or 0 where a zero
    # upstream gradient skips the step (recorded skipped, a learner's edit may un-skip it).
    terms = [(Choice(((UpstreamZero(part.node), ("0",)),
                      (None, (Slot("p", part.k, "operand"),)))),)
             for _, part in w.received.get(c.input, ()) if part.k is not None]
    return template(
        f"fan-out sums: all {c.uses} uses of {name} have contributed: "
        f"{gradient_of(w, c.input)} = ", join(terms, " + "), " = ", grad(c.input))


def fan_out_text(w: Lesson, c: Contribution) -> str | None:
    said = fan_out_template(w, c)
    return None if said is None else w.said(said)


def check_verdict(check: GradientCheck) -> str:
    """``ok``, ``ok at a kink`` (the gradient is one of the two one-sided slopes) or
    ``MISMATCH``."""
    if not check.passed:
        return "MISMATCH"
    return "ok at a kink" if check.kink else "ok"


#: What the page says instead of the recorded checks' count and kinks, with a learner's
#: numbers (each check's own line is made again with them).
CHECKED_AGAIN = ("These are not the recorded numbers: each leaf gradient is checked again with "
                 "them, its verdict in the table below.")


def recorded_only(text: str | None, otherwise: Template = ()) -> Template:
    """``text`` (a sentence about the recorded numbers that no slot can follow: a count, an
    error's message) with the recorded numbers; ``otherwise`` with any others."""
    return (Choice(((Recorded(), (text or "",)), (None, otherwise))),)


def check_summary_template(w: Lesson) -> Template:
    """:func:`check_summary`, said only with the recorded numbers."""
    return recorded_only(check_summary(w), (CHECKED_AGAIN,))


def kink_templates(w: Lesson) -> list[Template]:
    """The nodes the recorded checks met at a kink (``backward.kinks``), said only with the
    recorded numbers (another point need not be at a kink)."""
    return [recorded_only(kink) for kink in w.backward.kinks]


def check_summary(w: Lesson) -> str:
    """One sentence on the whole check, as the page's summary and the command's exit status
    (0 only when every gradient agrees) both say it."""
    checks = w.backward.checks
    passed = sum(check.passed for check in checks)
    kinks = sum(bool(check.kink) for check in checks)
    text = f"{passed} of {len(checks)} leaf gradients agree with finite differences"
    if kinks:
        text += (f" ({kinks} at a kink, where the slopes on the two sides differ and the "
                 "gradient follows PyTorch's choice: not a failure)")
    return text + "."


def shortcut_templates(w: Lesson, step: BackwardStep) -> list[Template]:
    """The shortcuts (``dL/dz = y - t``) for the gradients this step completes."""
    return [w.shortcuts[i] for i in step.completed if i in w.shortcuts]


def shortcut_notes(w: Lesson, step: BackwardStep) -> list[str]:
    return [w.said(note) for note in shortcut_templates(w, step)]


def is_sample_input(node: NodeInfo, digits: int) -> bool:
    """A constant the walkthrough names (a sample's ``x1``) rather than writes as its number."""
    return node.is_constant and node.name != format_number(node.value, digits)


def constant_text(w: Lesson, c: Contribution) -> str:
    if is_sample_input(w.forward.nodes[c.input], w.digits):
        return (f"{c.input_name} = {number(w, c.input_value)} is the sample's input, a "
                "constant: no gradient needed")
    return f"{c.input_name} is a constant: no gradient needed"


def given_templates(w: Lesson) -> list[tuple[str, Template]]:
    """The forward pass's givens, by kind: the inputs, a sample's inputs given as numbers,
    and the parameters (layer by layer): ``("inputs", "x = 2")``."""
    parameters = leaf_names(w, "parameter")
    layers = sorted({layer_of(n.scope) for n in parameters}, key=lambda k: -1 if k is None else k)
    kinds = [("inputs", leaf_names(w, "input")),
             ("sample inputs", [n for n in w.forward.nodes if is_sample_input(n, w.digits)])]
    if len(layers) > 1:
        kinds += [("parameters" if k is None else f"layer {k} parameters",
                   [n for n in parameters if layer_of(n.scope) == k]) for k in layers]
    else:
        kinds.append(("parameters", parameters))
    given = []
    for kind, nodes in kinds:
        # A sample's input used twice is one given (constants keep their numbers).
        seen: dict[str, Template] = {}
        for n in nodes:
            seen.setdefault(f"{n.name} = {number(w, n.value)}", template(f"{n.name} = ",
                                                                          value(n.index)))
        if seen:
            given.append((kind, join(list(seen.values()), ", ")))
    return given


def given_text(w: Lesson) -> list[tuple[str, str]]:
    return [(kind, w.said(said)) for kind, said in given_templates(w)]


def skipped_text(w: Lesson, step: BackwardStep) -> str:
    return (
        f"the upstream gradient {gradient_of(w, step.node)} is 0, so {step.name} passes "
        "nothing on"
    )


def pending_names(w: Lesson, pending: Sequence[int], count: int | None = None) -> str:
    """The nodes still waiting for contributions by name: ``pending`` (the first few of them,
    from :class:`~.trace.Pending` or :meth:`~.trace.BackwardTrace.pending_after`), then how many
    more there are when ``count`` says there are ``count`` in all."""
    names = ", ".join(w.forward.nodes[i].name for i in pending)
    if count is not None and count > len(pending):
        return names + f" and {count - len(pending)} more"
    return names


def leaf_names(w: Lesson, kind: str) -> list[NodeInfo]:
    """The leaves of a role (``input`` or ``parameter``), layer by layer through an nn network."""
    leaves = [node for node in w.forward.nodes if node.role == kind]
    return sorted(leaves, key=lambda node: layer_of(node.scope) or 0)


def checks_in_order(w: Lesson) -> list[GradientCheck]:
    """The finite-difference checks, layer by layer through an nn network."""
    nodes = w.forward.nodes
    return sorted(w.backward.checks, key=lambda c: layer_of(nodes[c.node].scope) or 0)


def update_template(w: Lesson, update: int, times: str = "x", minus: str = "-") -> Template:
    """One gradient-descent update's arithmetic: ``0.5 - 0.5 x 0.143079``."""
    node = w.updates[update].node
    return template(value(node), f" {minus} ", Slot("lr"), f" {times} ", grad(node, "operand"))


def update_text(w: Lesson, update: int) -> str:
    """One gradient-descent update: ``w1 = 0.5 - 0.5 x 0.143079 = 0.42846``."""
    return w.said(template(f"{w.updates[update].name} = ", update_template(w, update), " = ",
                           Slot("u", update)))


def loss_change_template(w: Lesson) -> Template:
    """The loss before and after the update, the forward pass run again."""
    root = w.forward.root
    went = Choice((
        (Compare(Slot("loss"), "<", value(root)), ("it went down",)),
        (Compare(Slot("loss"), ">", value(root)), ("it went up: lr is too large here",)),
        (None, ("it did not change",)),
    ))
    return template(f"forward pass again with the new parameters: {w.root_name} = ",
                    value(root), " before, ", Slot("loss"), " after (", went, ")")


def loss_change_text(w: Lesson) -> str:
    assert w.loss_after is not None
    return w.said(loss_change_template(w))


# -- the checks -----------------------------------------------------------------------------------


def check_index(w: Lesson) -> dict[int, int]:
    """Each checked leaf's check, by node: where its numbers are in ``w.numbers``."""
    return {check.node: c for c, check in enumerate(w.backward.checks)}


def numeric_template(c: int) -> Template:
    """A check's central difference, ``n/a`` where the nudge leaves a domain on both sides."""
    return (Choice(((Known(Slot("cn", c)), (Slot("cn", c),)), (None, ("n/a",)))),)


def kink_template(check: GradientCheck, c: int) -> Template | None:
    """Why a check at a kink passes (see :func:`~.trace.kink_text`), or None; empty with
    numbers whose two one-sided slopes were not measured (no kink there)."""
    if check.side is None:
        return None
    said = template(slotted(lambda texts: kink_text(texts[0], texts[1], ""),
                            [Slot("cl", c), Slot("cr", c)]),
                    # Which slope it is, the recorded check says; with other numbers, its number.
                    Choice(((Recorded(), (check.side,)), (None, (grad(check.node),)))))
    return (Choice(((Known(Slot("cl", c)), said), (None, ()))),)


def verdict_template(c: int, passed: str, failed: str) -> Template:
    """``passed`` when check ``c`` passes (followed by `` at a kink`` when it passes at one:
    its one-sided slopes were measured), else ``failed``."""
    at_kink = Choice(((Known(Slot("cl", c)), (passed + " at a kink",)), (None, (passed,))))
    return (Choice(((Passed(c), (at_kink,)), (None, (failed,)))),)


def check_template(w: Lesson, check: GradientCheck, c: int) -> Template:
    """The terminal's line of one check: ``dL/dx = 2   numeric 2   ok``."""
    return template(f"{gradient_of(w, check.node)} = ", grad(check.node), "   numeric ",
                    numeric_template(c), "   ", verdict_template(c, "ok", "MISMATCH"))
