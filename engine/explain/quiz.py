"""The learner's turn: the walkthrough's numbers as questions, checked with a tolerance.

:func:`questions` turns a :class:`Lesson` into questions, one line each, naming what they
ask (``df/dz = ?``); ``chainrule quiz``, the page's quiz mode and the worksheet all ask these
same questions, after :func:`definitions` has shown the forward pass in the learner's names
(``n1 = x + y = -2 + 5 = 3``), so that every name a question uses is on the screen first.
Each question carries its hints in steps (the rule, then the formula, then the numbers: never
the answer) and the worked step that produces its answer; :mod:`.feedback` recognises the
mistakes a wrong answer makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from . import wording
from .lesson import Lesson
from .trace import BackwardStep, Contribution

#: An answer is right when it is within ABSOLUTE + RELATIVE * |expected| of the exact value:
#: three significant digits are enough, a sign error or a wrong digit is not.
ABSOLUTE = 1e-3
RELATIVE = 1e-2

Kind = Literal["forward", "local", "contribution", "gradient"]

#: What the learner's progress calls each kind of question (a gradient is a sum of
#: contributions when its node is used more than once).
KIND_NAMES: dict[str, str] = {"forward": "forward values", "local": "local derivatives",
                              "contribution": "contributions", "gradient": "gradients (sums)"}

#: Tries per question, in the page and by default on the command line: a wrong answer is told
#: which mistake it is and gets a hint and a second try.
TRIES = 2


@dataclass(frozen=True)
class Question:
    """One question: ``prompt`` names what it asks (``df/dz = ?``), ``answer`` is the exact
    float, ``hints`` lead to it in steps (the rule, the formula, the numbers) and ``worked`` is
    the step that produces it. ``node`` is the node it is about (for a local derivative or a
    contribution: the input), ``step`` the backward step it belongs to (0-based, None for the
    seed and the forward pass) and ``slot`` the input's position in that step's
    contributions (None for a gradient)."""

    kind: Kind
    prompt: str
    answer: float
    hints: tuple[str, ...]
    worked: str
    node: int
    step: int | None = None
    slot: int | None = None

    @property
    def hint(self) -> str:
        """The first hint (the rule)."""
        return self.hints[0]


def is_right(answer: float, expected: float) -> bool:
    """Whether ``answer`` is ``expected`` to within :data:`ABSOLUTE` + :data:`RELATIVE` x |it|."""
    return math.isfinite(answer) and abs(answer - expected) <= ABSOLUTE + RELATIVE * abs(expected)


def parse_answer(text: str) -> float | None:
    """A typed answer as a float (``-4``, ``0.25``, ``1/4``, ``-1e-3``), or None if it is not a
    number."""
    text = text.strip().replace("\u2212", "-")
    numerator, slash, denominator = text.partition("/")
    try:
        value = float(numerator) / float(denominator) if slash else float(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def definitions(w: Lesson) -> list[str]:
    """The forward pass in the learner's names, as every form of the quiz shows it before the
    first question: the given leaves (``given x = -2, y = 5, z = -4``), then each operation
    with its numbers (``n1 = x + y = -2 + 5 = 3``)."""
    given = wording.given_text(w)
    lines = ["given " + "; ".join(f"{kind} {text}" for kind, text in given)] if given else []
    return lines + [s.equation(w.digits) for s in w.forward.steps]


def forward_questions(w: Lesson) -> list[Question]:
    """The value of every operation, in the order the forward pass computes them."""
    nodes = w.forward.nodes
    return [
        Question("forward", f"{s.name} = {s.expression} = ?", s.value,
                 (f"compute {s.expression} from its inputs' values",
                  "with " + ", ".join(f"{nodes[i].name} = {wording.number(w, nodes[i].value)}"
                                      for i in dict.fromkeys(nodes[s.node].inputs))),
                 s.equation(w.digits), s.node)
        for s in w.forward.steps
    ]


def questions(w: Lesson, steps: bool = False, times: str = "x") -> list[Question]:
    """The final gradient of the output with respect to every node, in the order the backward
    pass completes them (the output first). With ``steps``, each backward step first asks for
    the local derivative of each input and the contribution ``upstream x local`` it hands on.
    ``times`` is the multiplication sign (``x`` for a terminal, ``×`` for a page). Show
    :func:`definitions` first: the questions use the names defined there.
    """
    root = w.backward.root
    asked = [Question("gradient", f"{wording.gradient_of(w, root)} = ?", w.backward.seed,
                      _seed_hints(w),
                      f"{wording.gradient_of(w, root)} = {wording.number(w, w.backward.seed)} "
                      "(the start of the backward pass)", root)]
    for k, step in enumerate(w.backward.steps):
        for slot, c in enumerate(step.contributions):
            if not steps or c.is_constant or step.skipped:
                continue
            assert c.local is not None and c.contribution is not None
            asked.append(Question("local", f"{local_name(c)} = ?", c.local,
                                  _local_hints(w, step, c), wording.local_text(w, c), c.input,
                                  k, slot))
            asked.append(Question(
                "contribution",
                f"{wording.gradient_of(w, step.node)} {times} {local_name(c)} = ?",
                c.contribution,
                _contribution_hints(w, step, c, times),
                f"{wording.gradient_of(w, step.node)} {times} local = "
                f"{wording.product_text(w, step, c, times)}",
                c.input, k, slot))
        for c in step.contributions:
            if c.is_constant or c.use != c.uses:
                continue  # not complete yet (or a constant: no gradient)
            gradient = w.backward.gradients[c.input]
            assert gradient is not None
            asked.append(Question("gradient", f"{wording.gradient_of(w, c.input)} = ?", gradient,
                                  _gradient_hints(w, c.input, times),
                                  _gradient_worked(w, c.input, times), c.input, k))
    return asked


def local_name(c: Contribution) -> str:
    """How a local derivative is written: ``d/dz (n1 * z)``."""
    return c.formula.split(" = ")[0]


_CHAIN_RULE = "chain rule: what a node hands an input is upstream gradient {times} local derivative"


def _seed_hints(w: Lesson) -> tuple[str, ...]:
    name = w.root_name
    return (f"the backward pass starts at the output {name}: by how much does {name} change "
            f"when {name} itself is nudged by a small amount h?",
            f"{wording.gradient_of(w, w.backward.root)} is the change in {name} divided by the "
            "nudge h")


def _local_hints(w: Lesson, step: BackwardStep, c: Contribution) -> tuple[str, ...]:
    """The gate's rule, the formula (when it is not a plain number, which would be the answer)
    and the operands' values."""
    nodes = w.forward.nodes
    expression = nodes[step.node].expression
    rule = step.rule or (f"the local derivative says how fast {step.name} = {expression} "
                         f"changes when only {c.input_name} moves (the other inputs held still)")
    formula = c.formula.partition(" = ")[2]
    if parse_answer(formula) is not None:  # "= 1": the formula would be the answer
        return (rule, f"nudge {c.input_name} by a small amount h in {expression}: what multiple "
                      "of h does the result move by? It is the same at every value")
    return (rule, f"the formula: {c.formula}",
            "the numbers: " + ", ".join(
                f"{nodes[i].name} = {wording.number(w, nodes[i].value)}"
                for i in dict.fromkeys(nodes[step.node].inputs))
            + f" and {step.name} = {wording.number(w, step.value)}")


def _contribution_hints(w: Lesson, step: BackwardStep, c: Contribution,
                        times: str) -> tuple[str, ...]:
    upstream = wording.gradient_of(w, step.node)
    assert c.local is not None
    return (_CHAIN_RULE.format(times=times) + (f"; {step.rule}" if step.rule else ""),
            f"the formula: {upstream} {times} {local_name(c)}",
            f"the numbers: {upstream} = {wording.number(w, step.upstream)} (upstream), "
            f"{local_name(c)} = {wording.number(w, c.local)}")


def _gradient_hints(w: Lesson, node: int, times: str) -> tuple[str, ...]:
    """The chain rule (and the gate's rule, or fan-out sums), the formula, then each
    contribution's numbers."""
    uses = w.received.get(node, [])
    name = w.forward.nodes[node].name
    terms = [f"{wording.gradient_of(w, step.node)} {times} {local_name(c)}" for step, c in uses]
    numbers = [f"{wording.gradient_of(w, step.node)} = {wording.number(w, step.upstream)} "
               f"and {local_name(c)} = "
               + ("not needed (the upstream gradient is 0)" if c.local is None
                  else wording.number(w, c.local)) for step, c in uses]
    if len(uses) > 1:
        rule = (f"fan-out sums: {name} is used {len(uses)} times, so its gradient adds up "
                f"{len(uses)} contributions, each upstream gradient {times} local derivative")
    else:
        (step, _), = uses
        rule = (f"chain rule: {name} is used once, by {step.name}: upstream gradient "
                f"{times} local derivative" + (f"; {step.rule}" if step.rule else ""))
    return (rule, f"the formula: {wording.gradient_of(w, node)} = " + " + ".join(terms),
            "the numbers: " + "; ".join(numbers))


def _gradient_worked(w: Lesson, node: int, times: str) -> str:
    """How the final gradient of ``node`` comes about: ``df/dy = df/dq x d/dy (x + y) =
    (-4) x 1 = -4``, or the sum of several such contributions."""
    parts = []
    for step, c in w.received.get(node, ()):
        chain = f"{wording.gradient_of(w, step.node)} {times} {local_name(c)}"
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
