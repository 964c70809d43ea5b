"""A tutor's answer to a wrong number: which mistake it is, what the learner did and what to do
next, worked out once from the lesson's recorded numbers.

:func:`mistakes` lists, for one question of :mod:`.quiz`, the wrong answers a learner is likely
to give, each with the number it produces: the local derivative given for the gradient, the
upstream gradient passed on unchanged or added to the local derivative instead of multiplied,
a wrong sign, an input multiplied by its own value where the gate swaps, a fan-out summed from
only some of its uses, and the value from the forward pass given for a gradient.
:func:`verdict` judges a typed answer: right (within the quiz's tolerance), one of those
mistakes, close (right to 2 or 3 significant digits: give one more), or not recognised; each
verdict names the hint to show next. The command line asks through :func:`verdict`; the page
carries the same mistakes and words as data and only matches the typed number against them.

The order of the likelier mistake (:data:`LIKELIER`), used when two mistakes give the same
number, is: the local derivative alone, a fan-out summed in part, the upstream gradient
alone, a wrong sign, the input's own value where the gate swaps, upstream added to local, the
upstream gradient already included in a local derivative, and the forward value. The right
answer always wins: a mistake whose number counts as right (the local derivative when the
upstream gradient is 1) is not listed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from . import wording
from .lesson import Lesson
from .quiz import ABSOLUTE, RELATIVE, Question, is_right, local_name
from .trace import BackwardStep, Contribution

__all__ = ["CLOSE", "LIKELIER", "UNRECOGNISED", "Mistake", "MistakeKind", "Verdict",
           "close_digits", "mistakes", "verdict"]

MistakeKind = Literal["local", "partial", "upstream", "sign", "swap", "added", "product",
                      "value"]

#: The order in which mistakes that give the same number are told apart (the likelier first).
LIKELIER: tuple[MistakeKind, ...] = ("local", "partial", "upstream", "sign", "swap", "added",
                                     "product", "value")

#: The verdict on an answer right to ``{digits}`` significant digits only, and on a wrong answer
#: that is none of the mistakes; the page fills in ``{digits}`` and ``{more}`` the same way.
CLOSE = "close: right to {digits} significant digits, give {more} (rounded, not cut off)"
UNRECOGNISED = "not right, and not a slip I recognise"

#: A fan-out with more uses than this is checked for single contributions and for all but one,
#: not every subset (2^uses of them).
_SUBSETS_UP_TO = 5


@dataclass(frozen=True)
class Mistake:
    """One recognised mistake: ``kind`` (see :data:`LIKELIER`), the number it gives, what the
    learner did and what to do instead."""

    kind: MistakeKind
    value: float
    did: str
    advice: str

    @property
    def message(self) -> str:
        """What a wrong answer equal to :attr:`value` is told: ``that is the local derivative
        d/dx (x + y) alone: multiply it by the upstream gradient df/dn1``."""
        return f"{self.did}: {self.advice}"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: ``mistake`` is a :class:`Mistake`'s kind, ``"close"`` for
    an answer right to fewer digits than needed, or None (right, or not recognised);
    ``next_hint`` is the hint to show next (None when every hint has been shown)."""

    correct: bool
    mistake: MistakeKind | Literal["close"] | None
    message: str
    next_hint: str | None


def close_digits(answer: float, expected: float) -> int | None:
    """For an answer that is not right but agrees with ``expected`` to 2 or 3 significant
    digits (``-0.46`` for ``-0.4665``), how many it agrees to; else None."""
    if (is_right(answer, expected) or not math.isfinite(answer) or expected == 0.0
            or (answer < 0.0) != (expected < 0.0)):
        return None
    exponent = math.floor(math.log10(abs(expected)))
    for digits in (3, 2):
        if abs(answer - expected) < 10.0 ** (exponent - digits + 1):
            return digits
    return None


def verdict(w: Lesson, question: Question, answer: float, hints_shown: int = 0) -> Verdict:
    """The verdict on ``answer`` to ``question``, after ``hints_shown`` of its hints: right
    wins, then a recognised mistake, then "close", then not recognised."""
    hint = question.hints[hints_shown] if hints_shown < len(question.hints) else None
    if is_right(answer, question.answer):
        return Verdict(True, None, f"right: {wording.number(w, question.answer)}", None)
    for mistake in mistakes(w, question):
        if is_right(answer, mistake.value):
            return Verdict(False, mistake.kind, mistake.message, hint)
    digits = close_digits(answer, question.answer)
    if digits is not None:
        return Verdict(False, "close", CLOSE.format(digits=digits, more=digits + 1), hint)
    return Verdict(False, None, UNRECOGNISED, hint)


def mistakes(w: Lesson, question: Question) -> tuple[Mistake, ...]:
    """The recognised mistakes for ``question``, likeliest first (see :data:`LIKELIER`), each
    with a number that does not count as right and differs from every likelier one's."""
    if question.kind == "gradient":
        found = list(_gradient_mistakes(w, question))
    elif question.kind == "forward":
        found = [_sign(question.answer)]
    else:
        assert question.step is not None and question.slot is not None
        step = w.backward.steps[question.step]
        c = step.contributions[question.slot]
        found = list((_local_mistakes if question.kind == "local" else _contribution_mistakes)(
            w, step, c))
    kept: list[Mistake] = []
    for mistake in sorted(found, key=lambda m: LIKELIER.index(m.kind)):
        if not math.isfinite(mistake.value) or is_right(mistake.value, question.answer):
            continue
        if any(_same(mistake.value, other.value) for other in kept):
            continue
        kept.append(mistake)
    return tuple(kept)


def _same(a: float, b: float) -> bool:
    """Two mistakes no answer could tell apart (each within the tolerance of the other)."""
    return abs(a - b) <= 2.0 * (ABSOLUTE + RELATIVE * max(abs(a), abs(b)))


# -- each kind of question's mistakes ----------------------------------------------------------

_SIGN_ADVICE = ("check each sign: a negative upstream gradient or local derivative flips the "
                "sign of the product")


def _sign(answer: float) -> Mistake:
    return Mistake("sign", -answer, "right size, wrong sign", _SIGN_ADVICE)


def _swap_advice(w: Lesson, step: BackwardStep, c: Contribution) -> str:
    assert c.partner is not None
    return (f"{step.name} = {w.forward.nodes[step.node].expression} multiplies "
            f"{c.input_name} by {w.forward.nodes[c.partner].name}, so the local derivative "
            f"of {c.input_name} is the value of {w.forward.nodes[c.partner].name} (the gate "
            "swaps)")


def _local_mistakes(w: Lesson, step: BackwardStep, c: Contribution) -> Iterator[Mistake]:
    assert c.local is not None
    expression = w.forward.nodes[step.node].expression
    yield _sign(c.local)
    if c.partner is not None:
        yield Mistake("swap", c.input_value, f"that is {c.input_name}'s own value",
                      _swap_advice(w, step, c))
    yield Mistake("product", step.upstream * c.local,
                  f"that already multiplies by the upstream gradient "
                  f"{wording.gradient_of(w, step.node)}",
                  f"the local derivative is of {step.name} = {expression} alone; the chain "
                  "rule multiplies afterwards")
    yield Mistake("value", step.value,
                  f"that is the value of {step.name} itself, not its slope",
                  f"differentiate {expression} with respect to {c.input_name}")


def _contribution_mistakes(w: Lesson, step: BackwardStep, c: Contribution
                           ) -> Iterator[Mistake]:
    assert c.local is not None and c.contribution is not None
    upstream = wording.gradient_of(w, step.node)
    yield Mistake("local", c.local, "that is the local derivative alone",
                  f"multiply it by the upstream gradient {upstream} (chain rule)")
    yield Mistake("upstream", step.upstream, f"that is the upstream gradient {upstream} alone",
                  f"multiply it by the local derivative {local_name(c)}")
    yield _sign(c.contribution)
    if c.partner is not None:
        yield Mistake("swap", step.upstream * c.input_value,
                      f"that multiplies by {c.input_name}'s own value", _swap_advice(w, step, c))
    yield Mistake("added", step.upstream + c.local,
                  "that adds the upstream gradient and the local derivative",
                  "multiply them: upstream gradient times local derivative")


def _gradient_mistakes(w: Lesson, question: Question) -> Iterator[Mistake]:
    node = question.node
    name = w.forward.nodes[node].name
    root = w.root_name
    yield _sign(question.answer)
    yield Mistake("value", w.forward.nodes[node].value,
                  f"that is the value of {name} from the forward pass, not its gradient",
                  f"the gradient says how much {root} changes when {name} is nudged: work "
                  f"back from {root} with the chain rule")
    uses = [(step, c) for step, c in w.received.get(node, []) if c.local is not None]
    if not uses:
        return  # the output itself, or every use skipped (upstream 0)
    if len(uses) == 1:
        ((step, c),) = uses
        upstream = wording.gradient_of(w, step.node)
        assert c.local is not None
        yield Mistake("local", c.local, f"that is the local derivative {local_name(c)} alone",
                      f"multiply it by the upstream gradient {upstream} (chain rule)")
        yield Mistake("upstream", step.upstream,
                      f"that is the upstream gradient {upstream} passed on unchanged",
                      f"multiply it by the local derivative {local_name(c)}")
        yield Mistake("added", step.upstream + c.local,
                      f"that adds the upstream gradient {upstream} and the local derivative",
                      "multiply them: upstream gradient times local derivative (chain rule)")
        if c.partner is not None:
            yield Mistake("swap", step.upstream * c.input_value,
                          f"that multiplies by {name}'s own value", _swap_advice(w, step, c))
        return
    locals_ = [c.local for _, c in uses if c.local is not None]
    yield Mistake("local", math.fsum(locals_), "that adds up the local derivatives alone",
                  "multiply each by its upstream gradient, then add the contributions")
    yield Mistake("upstream", math.fsum(step.upstream for step, _ in uses),
                  "that adds up the upstream gradients alone",
                  "multiply each by its local derivative, then add the contributions")
    yield Mistake("added", math.fsum(step.upstream + local
                                     for (step, _), local in zip(uses, locals_, strict=True)),
                  "that adds each upstream gradient to its local derivative",
                  "multiply them instead: upstream gradient times local derivative")
    if any(c.partner is not None for _, c in uses):
        yield Mistake("swap", math.fsum(step.upstream * (c.input_value if c.partner is not None
                                                         else local)
                                        for (step, c), local in zip(uses, locals_, strict=True)),
                      f"that multiplies by {name}'s own value where {name} is multiplied",
                      "the local derivative of a product's input is the other input's value "
                      "(the gate swaps)")
    yield from _partial_sums(w, node, [c.contribution for _, c in uses
                                       if c.contribution is not None])


def _partial_sums(w: Lesson, node: int, parts: Sequence[float]) -> Iterator[Mistake]:
    """A fan-out's gradient from only some of its uses' contributions."""
    name = w.forward.nodes[node].name
    uses = len(w.received.get(node, []))
    sizes = (range(1, len(parts)) if len(parts) <= _SUBSETS_UP_TO
             else (1, len(parts) - 1))
    for size in sizes:
        for subset in itertools.combinations(parts, size):
            yield Mistake("partial", math.fsum(subset),
                          f"that adds up only {size} of the {uses} contributions {name} "
                          "receives",
                          f"{name} is used {uses} times: add all {uses} contributions "
                          "(fan-out sums)")
