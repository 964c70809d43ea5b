"""The sentences every renderer shares, so text, Markdown and HTML say the same thing."""

from __future__ import annotations

from collections.abc import Sequence

from ..naming import operand_text
from .lesson import Lesson
from .trace import BackwardStep, Contribution, GradientCheck, NodeInfo, format_number, layer_of


def gradient_of(w: Lesson, node: int) -> str:
    """How the gradient of the output with respect to ``node`` is written: ``dy/dz``."""
    return f"d{w.root_name}/d{w.forward.nodes[node].name}"


def number(w: Lesson, x: float) -> str:
    return format_number(x, w.digits)


def operand(w: Lesson, x: float) -> str:
    """A number as an operand: negative ones in parentheses, ``2 x (-4)``."""
    return operand_text(number(w, x))


def step_heading(w: Lesson, step: BackwardStep) -> str:
    operation = w.forward.nodes[step.node].expression
    return (
        f"{step.name} = {operation} = {number(w, step.value)}, "
        f"upstream {gradient_of(w, step.node)} = {number(w, step.upstream)}"
    )


#: A local derivative longer than this leaves out the operation it is taken of (the step's
#: heading says it): ``d/dlayer1.neuron0.w0 = layer0.neuron0.tanh``, so that long nn names do
#: not wrap a line three times.
LONG_FORMULA = 60


def local_text(w: Lesson, c: Contribution) -> str:
    """``d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z)) = 0.767 * (1 - 0.767) = 0.1787``:
    the formula in the learner's names, then with the numbers, then its value."""
    assert c.local is not None
    head, _, formula = c.formula.partition(" = ")
    if len(head if c.case else c.formula) > LONG_FORMULA:
        head = f"d/d{c.input_name}"
    if c.case:  # "d/da max(a, b): 0.7 < 1.3, so 0"
        return f"{head}: {c.case}"
    value = number(w, c.local)
    numbers = f" = {c.numbers}" if c.numbers else ""
    if not numbers and formula == value:
        return f"{head} = {formula}"  # "d/dx (x + y) = 1", not "= 1 = 1"
    return f"{head} = {formula}{numbers} = {value}"


def product_text(w: Lesson, step: BackwardStep, c: Contribution, times: str = "x") -> str:
    assert c.local is not None and c.contribution is not None
    return (
        f"{operand(w, step.upstream)} {times} {operand(w, c.local)} = "
        f"{number(w, c.contribution)}"
    )


def running_sum_text(w: Lesson, c: Contribution) -> str:
    """The gradient of the input after this contribution: for an input used once simply the
    contribution, for a fan-out the running sum ``dL/dx = 0.2 + (-0.3) = -0.1``."""
    assert c.grad_before is not None and c.contribution is not None and c.grad_after is not None
    if c.uses <= 1:
        return f"{gradient_of(w, c.input)} = {number(w, c.grad_after)}"
    return (
        f"{gradient_of(w, c.input)} = {number(w, c.grad_before)} + "
        f"{operand(w, c.contribution)} = {number(w, c.grad_after)}"
    )


def contributions_to(w: Lesson, node: int) -> list[float]:
    """Every contribution ``node`` receives, in the order they are added."""
    return [c.contribution for _, c in w.received.get(node, ()) if c.contribution is not None]


def fan_out_text(w: Lesson, c: Contribution) -> str | None:
    """For an input used several times, what happens to its gradient, in words: the gradients
    from the several uses add up (None for an input used once)."""
    if c.uses <= 1 or c.is_constant:
        return None
    name = w.forward.nodes[c.input].name
    if c.use < c.uses:
        return (
            f"fan-out sums: {name} is used {c.uses} times, so its gradient adds up "
            f"{c.uses} contributions; this is number {c.use}"
        )
    parts = contributions_to(w, c.input)
    total = w.backward.gradients[c.input]
    assert total is not None
    terms = " + ".join(operand(w, part) for part in parts) if parts else "0"
    return (
        f"fan-out sums: all {c.uses} uses of {name} have contributed: "
        f"{gradient_of(w, c.input)} = {terms} = {number(w, total)}"
    )


def check_verdict(check: GradientCheck) -> str:
    """``ok``, ``ok at a kink`` (the gradient is one of the two one-sided slopes) or
    ``MISMATCH``."""
    if not check.passed:
        return "MISMATCH"
    return "ok at a kink" if check.kink else "ok"


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


def shortcut_notes(w: Lesson, step: BackwardStep) -> list[str]:
    """The shortcuts (``dL/dz = y - t``) for the gradients this step completes."""
    return [w.shortcuts[i] for i in step.completed if i in w.shortcuts]


def is_sample_input(node: NodeInfo, digits: int) -> bool:
    """A constant the walkthrough names (a sample's ``x1``) rather than writes as its number."""
    return node.is_constant and node.name != format_number(node.value, digits)


def constant_text(w: Lesson, c: Contribution) -> str:
    if is_sample_input(w.forward.nodes[c.input], w.digits):
        return (f"{c.input_name} = {number(w, c.input_value)} is the sample's input, a "
                "constant: no gradient needed")
    return f"{c.input_name} is a constant: no gradient needed"


def given_text(w: Lesson) -> list[tuple[str, str]]:
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
        seen = dict.fromkeys(f"{n.name} = {number(w, n.value)}" for n in nodes)
        if seen:
            given.append((kind, ", ".join(seen)))
    return given


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


def update_text(w: Lesson, name: str, before: float, grad: float, after: float) -> str:
    """One gradient-descent update: ``w1 = 0.5 - 0.5 x 0.143079 = 0.42846``."""
    assert w.lr is not None
    return (
        f"{name} = {number(w, before)} - {number(w, w.lr)} x {operand(w, grad)} "
        f"= {number(w, after)}"
    )


def loss_change_text(w: Lesson) -> str:
    """The loss before and after the update, the forward pass run again."""
    assert w.loss_after is not None
    before, after = w.loss_before, w.loss_after
    verdict = ("it went down" if after < before else "it went up: lr is too large here"
               if after > before else "it did not change")
    return (
        f"forward pass again with the new parameters: {w.root_name} = {number(w, before)} "
        f"before, {number(w, after)} after ({verdict})"
    )
