"""The learner's turn: the walkthrough's numbers as questions, checked with a tolerance.

:func:`questions` turns a :class:`Lesson` into questions, one line each, naming what they
ask (``df/dz = ?``); ``chainrule quiz``, the page's quiz mode and
:meth:`Lesson.worksheet` all ask these same questions. Each carries the formula as a hint
and the worked step that produces its answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from . import wording
from .lesson import Lesson

#: An answer is right when it is within ABSOLUTE + RELATIVE * |expected| of the exact value:
#: three significant digits are enough, a sign error or a wrong digit is not.
ABSOLUTE = 1e-3
RELATIVE = 1e-2

Kind = Literal["forward", "local", "contribution", "gradient"]


@dataclass(frozen=True)
class Question:
    """One question: ``prompt`` names what it asks (``df/dz = ?``), ``answer`` is the exact
    float, ``hint`` the formula to use and ``worked`` the step that produces the answer."""

    kind: Kind
    prompt: str
    answer: float
    hint: str
    worked: str
    node: int  # the node the question is about (for a local or a contribution: its input)
    step: int | None = None  # the backward step (0-based) it belongs to, None for the seed


def is_right(answer: float, expected: float) -> bool:
    """Whether ``answer`` is ``expected`` to within :data:`ABSOLUTE` + :data:`RELATIVE` x |it|."""
    return math.isfinite(answer) and abs(answer - expected) <= ABSOLUTE + RELATIVE * abs(expected)


def parse_answer(text: str) -> float | None:
    """A typed answer as a float (``-4``, ``0.25``, ``1/4``, ``-1e-3``), or None if it is not a
    number."""
    text = text.strip().replace("−", "-")
    numerator, slash, denominator = text.partition("/")
    try:
        if slash:
            return float(numerator) / float(denominator)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def forward_questions(w: Lesson) -> list[Question]:
    """The value of every operation, in the order the forward pass computes them."""
    return [
        Question("forward", f"{s.name} = {s.expression} = ?", s.value, s.expression,
                 s.equation(w.digits), s.node)
        for s in w.forward.steps
    ]


def questions(w: Lesson, steps: bool = False, times: str = "x") -> list[Question]:
    """The final gradient of the output with respect to every node, in the order the backward
    pass completes them (the output first). With ``steps``, each backward step first asks for
    the local derivative of each input and the contribution ``upstream x local`` it hands on.
    ``times`` is the multiplication sign (``x`` for a terminal, ``×`` for a page).
    """
    root = w.backward.root
    asked = [Question("gradient", f"{wording.gradient_of(w, root)} = ?", w.backward.seed,
                      "the gradient of the output with respect to itself",
                      f"{wording.gradient_of(w, root)} = {wording.number(w, w.backward.seed)} "
                      "(the start of the backward pass)", root)]
    for k, step in enumerate(w.backward.steps):
        for c in step.contributions:
            if not steps or c.is_constant or step.skipped:
                continue
            assert c.local is not None and c.contribution is not None
            asked.append(Question("local", f"{c.formula.split(' = ')[0]} = ?", c.local,
                                  c.formula, wording.local_text(w, c), c.input, k))
            asked.append(Question(
                "contribution",
                f"{wording.gradient_of(w, step.node)} {times} {c.formula.split(' = ')[0]} = ?",
                c.contribution,
                f"upstream gradient {times} local derivative",
                f"{wording.gradient_of(w, step.node)} {times} local = "
                f"{wording.product_text(w, step, c, times)}",
                c.input, k))
        for c in step.contributions:
            if c.is_constant or c.use != c.uses:
                continue  # not complete yet (or a constant: no gradient)
            gradient = w.backward.gradients[c.input]
            assert gradient is not None
            asked.append(Question("gradient", f"{wording.gradient_of(w, c.input)} = ?", gradient,
                                  _gradient_hint(w, c.input, times), _gradient_worked(w, c.input, times),
                                  c.input,
                                  k))
    return asked


def _gradient_hint(w: Lesson, node: int, times: str) -> str:
    uses = len(w.received.get(node, ()))
    if uses > 1:
        return f"{w.forward.nodes[node].name} is used {uses} times: add up the contributions"
    return f"upstream gradient {times} local derivative (chain rule)"


def _gradient_worked(w: Lesson, node: int, times: str) -> str:
    """How the final gradient of ``node`` comes about: ``df/dy = df/dq x d/dy (x + y) =
    (-4) x 1 = -4``, or the sum of several such contributions."""
    parts = []
    for step, c in w.received.get(node, ()):
        chain = f"{wording.gradient_of(w, step.node)} {times} {c.formula.split(' = ')[0]}"
        if c.contribution is None:
            parts.append(f"{chain} = 0 (the upstream gradient is 0)")
        else:
            parts.append(f"{chain} = {wording.product_text(w, step, c, times)}")
    gradient = w.backward.gradients[node]
    assert gradient is not None
    total = f"{wording.gradient_of(w, node)} = "
    if len(parts) == 1:
        return total + parts[0]
    return (total + f"the sum of its {len(parts)} contributions, {wording.number(w, gradient)}: "
            + "; ".join(parts))
