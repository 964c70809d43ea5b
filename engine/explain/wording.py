"""The sentences every renderer shares, so text, Markdown and HTML say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..naming import operand_text
from .lesson import Lesson
from .trace import BackwardStep, Contribution, NodeInfo, format_number


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


def local_text(w: Lesson, c: Contribution) -> str:
    """``d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z)) = 0.767 * (1 - 0.767) = 0.1787``:
    the formula in the learner's names, then with the numbers, then its value."""
    assert c.local is not None
    value = number(w, c.local)
    numbers = f" = {c.numbers}" if c.numbers else ""
    if not numbers and c.formula.rsplit(" = ", 1)[-1] == value:
        return c.formula  # "d/dx (x + y) = 1", not "= 1 = 1"
    return f"{c.formula}{numbers} = {value}"


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
            f"{name} is used {c.uses} times, so its gradient is the sum of one contribution "
            f"per use: this is contribution {c.use} of {c.uses}"
        )
    parts = contributions_to(w, c.input)
    total = w.backward.gradients[c.input]
    assert total is not None
    terms = " + ".join(operand(w, part) for part in parts) if parts else "0"
    return (
        f"all {c.uses} uses of {name} have now contributed; they add up: "
        f"{gradient_of(w, c.input)} = {terms} = {number(w, total)}"
    )


def constant_text(c: Contribution) -> str:
    return f"{c.input_name} is a constant: no gradient needed"


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
    """The leaves of a role (``input`` or ``parameter``)."""
    return [node for node in w.forward.nodes if node.role == kind]


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


@dataclass(frozen=True)
class NeuronView:
    """One neuron's backward pass in the NumPy tutorials' shorthand: ``delta = dL/dz``, then
    ``dL/dw_i = delta x x_i`` and ``dL/db = delta``."""

    scope: str
    lines: tuple[str, ...]


def neuron_views(w: Lesson, times: str = "x") -> list[NeuronView]:
    """A view per neuron of the graph (a scope holding a pre-activation labelled ``z``, as
    each of nn's neurons does), in the order the backward pass reaches them."""
    nodes = w.forward.nodes
    gradients = w.backward.gradients
    by_scope: dict[tuple[str, ...], list[NodeInfo]] = {}
    for node in nodes:
        if node.scope:
            by_scope.setdefault(node.scope, []).append(node)
    consumers: dict[int, list[NodeInfo]] = {}
    for node in nodes:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node)
    reached = {step.node: k for k, step in enumerate(w.backward.steps)}
    views = []
    for scope, members in by_scope.items():
        z = next((n for n in members if n.label == "z" and n.kind == "operation"), None)
        if z is None:
            continue
        delta = gradients[z.index]
        assert delta is not None
        lines = [f"delta = {gradient_of(w, z.index)} = {number(w, delta)}"]
        for leaf in members:
            if leaf.kind != "input":
                continue
            grad = gradients[leaf.index]
            assert grad is not None
            users = consumers.get(leaf.index, [])
            if leaf.label == "b" or not users:
                lines.append(f"{gradient_of(w, leaf.index)} = delta = {number(w, grad)}")
                continue
            product = users[0]
            other = next((i for i in product.inputs if i != leaf.index), leaf.index)
            x = nodes[other]
            lines.append(
                f"{gradient_of(w, leaf.index)} = delta {times} {x.name} = {operand(w, delta)} "
                f"{times} {operand(w, x.value)} = {number(w, grad)}"
            )
        views.append((reached.get(z.index, len(reached)), NeuronView(".".join(scope), tuple(lines))))
    return [view for _, view in sorted(views, key=lambda pair: pair[0])]
