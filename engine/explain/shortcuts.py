"""The shortcuts a loss on top of a sigmoid or a softmax allows: ``dL/dz = y - t``.

For binary cross-entropy on ``y = sigmoid(z)`` (or its stable form from the raw score,
``softplus(-z)`` for a target of 1 and ``softplus(z)`` for 0), the chain of local derivatives
from the loss down to ``z`` collapses to ``y - t``; for softmax cross-entropy, ``dL/dz_i = p_i -
t_i`` with ``p = softmax(z)`` and ``t`` the one-hot target. The walkthrough shows each shortcut
next to the step that completes ``z``'s gradient, with this run's numbers, where the graph has
one of these shapes (read from the traced nodes, whatever built them) and the numbers agree.
Each shortcut is a template (see :mod:`.template`): the gradient and a probability that is a
node's value are slots; one the graph computes only inside a step (``sigmoid(z)`` of a loss
written from the score, a softmax's ``p``) is its number with the recorded numbers and its
formula on the slots with any others (``sigmoid(0.4)``, ``1.64872 / 4.31``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..naming import format_number
from .template import Choice, Recorded, Slot, Template, template
from .trace import NodeInfo

__all__ = ["loss_shortcuts"]


def _op(nodes: Sequence[NodeInfo], index: int, name: str) -> int | None:
    """The single input of node ``index`` when it is the unary operation ``name``."""
    node = nodes[index]
    return node.inputs[0] if node.op == name and len(node.inputs) == 1 else None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 + 1e-9 * abs(b)


def _sigmoid_bce(nodes: Sequence[NodeInfo], root: int) -> tuple[int, int | None, float] | None:
    """(z, y or None, t) when the root is a single sample's BCE of ``y = sigmoid(z)``:
    ``-log(y)`` (t = 1), ``-log1p(-y)`` (t = 0), or from the score z, ``softplus(-z)`` (t = 1)
    or ``softplus(z)`` (t = 0)."""
    inner = _op(nodes, root, "neg")
    if inner is not None:
        y = _op(nodes, inner, "log")
        target = 1.0
        if y is None:
            negated = _op(nodes, inner, "log1p")
            y = None if negated is None else _op(nodes, negated, "neg")
            target = 0.0
        z = None if y is None else _op(nodes, y, "sigmoid")
        return None if z is None or y is None else (z, y, target)
    score = _op(nodes, root, "softplus")
    if score is None:
        return None
    negated = _op(nodes, score, "neg")
    return (negated, None, 1.0) if negated is not None else (score, None, 0.0)


def _exp_terms(nodes: Sequence[NodeInfo], index: int) -> list[int] | None:
    """The exp nodes a sum adds up (``exp(a) + exp(b) + exp(c)``, folded from binary adds or
    one n-ary sum), or None."""
    node = nodes[index]
    if node.op == "exp":
        return [index]
    if node.op not in ("add", "sum"):
        return None
    terms = []
    for i in node.inputs:
        found = _exp_terms(nodes, i)
        if found is None:
            return None
        terms += found
    return terms


def _softmax_cross_entropy(nodes: Sequence[NodeInfo], root: int
                           ) -> tuple[list[int], list[int], int, int] | None:
    """(logits, their exp nodes, the target's position, the sum of the exps) when the root is ``log(sum_j exp(z_j
    - m)) - (z_t - m)``, the stable softmax cross-entropy of one sample."""
    node = nodes[root]
    if node.op != "sub" or len(node.inputs) != 2:
        return None
    log_total, picked = node.inputs
    total = _op(nodes, log_total, "log")
    terms = None if total is None else _exp_terms(nodes, total)
    if not terms or len(terms) < 2:
        return None
    shifted = [nodes[t].inputs[0] for t in terms]
    if picked not in shifted or any(nodes[s].op != "sub" for s in shifted):
        return None
    shifts = {nodes[s].inputs[1] for s in shifted}
    if len(shifts) != 1:
        return None
    logits = [nodes[s].inputs[0] for s in shifted]
    assert total is not None
    return logits, terms, shifted.index(picked), total


def loss_shortcuts(
    nodes: Sequence[NodeInfo], root: int, gradients: Sequence[float | None], digits: int = 6,
    gradient_name: str = "dL",
) -> dict[int, Template]:
    """Node index -> the shortcut that gives its gradient (``dL/dz = y - t = 0.767 - 1 =
    -0.233``), for the logits of a sigmoid or softmax cross-entropy at ``root``; only where
    the shortcut agrees with the traced gradient."""
    def number(x: float) -> str:
        return format_number(x, digits)

    def as_recorded(x: float, formula: Template) -> Choice:
        """``x`` with the recorded numbers, ``formula`` (slots) with any others."""
        return Choice(((Recorded(), (number(x),)), (None, formula)))

    found: dict[int, Template] = {}
    binary = _sigmoid_bce(nodes, root)
    if binary is not None:
        z, y, target = binary
        probability = (nodes[y].value if y is not None
                       else 1.0 / (1.0 + math.exp(-nodes[z].value)))
        grad = gradients[z]
        if grad is not None and _close(probability - target, grad):
            said = nodes[y].name if y is not None else f"sigmoid({nodes[z].name})"
            found[z] = template(
                f"sigmoid + binary cross-entropy shortcut: {gradient_name}/d{nodes[z].name} = "
                "y - t = ",
                Slot("v", y) if y is not None
                else as_recorded(probability, ("sigmoid(", Slot("v", z), ")")),
                f" - {number(target)} = ", Slot("g", z),
                "" if said == "y" else f", with y = {said}")
    softmax = _softmax_cross_entropy(nodes, root)
    if softmax is not None:
        logits, terms, picked, total_node = softmax
        total = sum(nodes[t].value for t in terms)
        for k, (z, term) in enumerate(zip(logits, terms, strict=True)):
            probability, target = nodes[term].value / total, float(k == picked)
            grad = gradients[z]
            if grad is None or nodes[z].is_constant or not _close(probability - target, grad):
                continue
            found[z] = template(
                f"softmax + cross-entropy shortcut: {gradient_name}/d{nodes[z].name} = p - t = ",
                as_recorded(probability, (Slot("v", term), " / ", Slot("v", total_node))),
                f" - {number(target)} = ", Slot("g", z), f", where p is {nodes[z].name}'s "
                "softmax probability and t its one-hot target")
    return found
