"""The sentences every renderer shares, so text, Markdown and HTML say the same thing."""

from __future__ import annotations

from .trace import BackwardStep, Contribution, NodeInfo, format_number
from .walkthrough import Walkthrough


def gradient_of(w: Walkthrough, node: int) -> str:
    """How the gradient of the output with respect to ``node`` is written: ``dy/dz``."""
    return f"d{w.root_name}/d{w.forward.nodes[node].name}"


def number(w: Walkthrough, x: float) -> str:
    return format_number(x, w.digits)


def step_heading(w: Walkthrough, step: BackwardStep) -> str:
    operation = w.forward.nodes[step.node].expression
    return (
        f"{step.name} = {operation} = {number(w, step.value)}, "
        f"upstream {gradient_of(w, step.node)} = {number(w, step.upstream)}"
    )


def binding(w: Walkthrough, step: BackwardStep) -> str:
    """The formula's variables bound to the step's inputs: ``x = w3 = 0.3, y = x3 = 0.9``."""
    parts = []
    for c in step.contributions:
        value = number(w, c.input_value)
        parts.append(f"{c.variable} = {value}" if c.is_constant
                     else f"{c.variable} = {c.input_name} = {value}")
    return "with " + ", ".join(parts)


def local_text(w: Walkthrough, c: Contribution) -> str:
    """``d/dx tanh(x) = 1 - tanh(x)^2 = 0.42`` with the input's value."""
    assert c.local is not None
    return f"{c.formula} = {number(w, c.local)}"


def product_text(w: Walkthrough, step: BackwardStep, c: Contribution, times: str = "x") -> str:
    assert c.local is not None and c.contribution is not None
    return (
        f"{number(w, step.upstream)} {times} {number(w, c.local)} = {number(w, c.contribution)}"
    )


def running_sum_text(w: Walkthrough, c: Contribution) -> str:
    assert c.grad_before is not None and c.contribution is not None and c.grad_after is not None
    return (
        f"{gradient_of(w, c.input)} = {number(w, c.grad_before)} + "
        f"{number(w, c.contribution)} = {number(w, c.grad_after)}"
    )


def constant_text(c: Contribution) -> str:
    return f"{c.input_name} is a constant: no gradient needed"


def skipped_text(w: Walkthrough, step: BackwardStep) -> str:
    return (
        f"the upstream gradient {gradient_of(w, step.node)} is 0, so {step.name} passes "
        "nothing on"
    )


def pending_names(w: Walkthrough, step: BackwardStep, limit: int | None = None) -> str:
    """The nodes still waiting for contributions, at most ``limit`` of them by name."""
    names = [w.forward.nodes[i].name for i in step.pending]
    if limit is not None and len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def leaf_names(w: Walkthrough, kind: str) -> list[NodeInfo]:
    return [node for node in w.forward.nodes if node.kind == kind]
