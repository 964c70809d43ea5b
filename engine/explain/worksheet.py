"""The learner's turn on paper: the quiz's questions as a printable worksheet with an answer key."""

from __future__ import annotations

from . import wording
from .lesson import Lesson
from .markdown import escape_markdown
from .quiz import forward_questions, questions


def worksheet(w: Lesson, steps: bool = True) -> str:
    """A printable Markdown worksheet: the forward and backward passes with blanks to fill in,
    then, on a separate page, the answer key with the worked steps."""
    e = escape_markdown
    blank = "\\_" * 10
    forward = forward_questions(w)
    backward = questions(w, steps=steps, times="×")
    lines = [f"# Worksheet: {e(w.title)}", "", "Name: " + blank, "",
             "Work out each number with the chain rule. Three significant digits are enough.", ""]
    given = wording.given_text(w)
    if given:
        lines += ["Given: " + "; ".join(f"{kind} {e(text)}" for kind, text in given), ""]
    lines += ["## Forward pass", ""]
    number = 0
    for q in forward:
        number += 1
        lines.append(f"{number}. {e(q.prompt[:-1])}{blank}")
    lines += ["", "## Backward pass", "",
              "Each node hands *upstream gradient × local derivative* to each input; an input "
              "used several times adds up what it receives.", ""]
    for q in backward:
        number += 1
        lines.append(f"{number}. {e(q.prompt[:-1])}{blank}")
    lines += ["", '<div style="page-break-before: always"></div>', "", "## Answer key", ""]
    for k, q in enumerate(forward + backward, 1):
        lines.append(f"{k}. **{e(wording.number(w, q.answer))}**: {e(q.worked)}")
    return "\n".join(lines) + "\n"
