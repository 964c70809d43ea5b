"""The learner's turn on paper: a worksheet worth handing out, with its answer key.

:func:`build_sheet` decides what the sheet asks, as plain data (a :class:`Sheet`); the
renderers write it as Markdown (:func:`worksheet_markdown`) or as a printable, self-contained
HTML page (:func:`worksheet_html`). Both show the compact circuit with every value, give the
forward pass, walk the backward pass step by step with blanks, ask a few questions about what
the numbers mean, and end with the answer key on a page of its own.

A blank asks only for a number the learner has to work out:

- a **local derivative** that takes arithmetic (``d/dz sigmoid(z) = y * (1 - y)``); one that
  is a plain number of the rule (an add's 1) or another node's value (a product's partner, the
  ``x`` of ``d/dw (w * x)``) is not asked on its own: the gradient's blank needs it, and the
  answer key names the slip of taking the wrong one;
- a **gradient** ``upstream × local`` handed to an input used once, or, for an input used
  several times, each **contribution** and then their **sum**.

Never a blank for a number already on the sheet: when the upstream gradient is 1 (the first
step), the local derivative's own blank would repeat the gradient's, so only the gradient is
asked; when the local derivative is 1 (an add), the gradient handed on *is* the upstream one,
written a line or two before, so the sheet says so instead of asking for it again. Every
prompt says which use of an input it is about (``x * x + x`` uses x three times), so no two
items read the same.
"""

from __future__ import annotations

import base64
import html
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from . import wording
from .circuit import CIRCUIT_MAX_NODES, CircuitLayoutError, layout
from .circuit_svg import circuit_svg
from .feedback import Mistake, mistakes
from .lesson import Lesson
from .quiz import Question, local_name, parse_answer, questions
from .trace import BackwardStep, Contribution

__all__ = ["Blank", "Given", "Meaning", "Sheet", "StepBlock", "build_sheet", "circuit_path",
           "save_worksheet", "worksheet", "worksheet_html", "worksheet_markdown"]

BlankKind = Literal["local", "contribution", "gradient"]

#: The multiplication sign on paper.
TIMES = "×"


@dataclass(frozen=True)
class Blank:
    """One numbered blank: ``label`` says which quantity it is when the expression alone
    does not (``dL/dx, use 2 of 3 (the 1st x of n1)``, else ''), ``prompt`` is the expression
    the learner evaluates (``dL/dw1 = dL/dn1 × d/dw1 (w1 * x1)``), ``answer`` the exact number,
    ``worked`` the step that gives it (every equation in it true) and ``mistakes`` the common
    slips that lead to other numbers (``0.8: that is the local derivative alone: ...``)."""

    number: int
    kind: BlankKind
    label: str
    prompt: str
    answer: float
    answer_text: str
    worked: str
    mistakes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The blank as one line reads: what it is and the expression."""
        return f"{self.label}: {self.prompt}" if self.label else self.prompt


@dataclass(frozen=True)
class Given:
    """A line the sheet states rather than asks: an ``equation`` (a gradient passed on
    unchanged, a step that passes nothing on) and a ``note`` in words on why."""

    equation: str
    note: str = ""


@dataclass(frozen=True)
class StepBlock:
    """One backward step: the ``operation`` (``n1 = w1 * x1``), its ``upstream`` gradient
    (``dL/dn1``, with its number when the sheet gives it), ``source``, the blank that finds
    it (None: given), the gate's rule in words if it has one, and its lines in order."""

    operation: str
    upstream: str
    source: int | None
    rule: str | None
    lines: tuple[Blank | Given, ...]


@dataclass(frozen=True)
class Meaning:
    """A question about what the numbers mean, answered in words in the key."""

    number: int
    prompt: str
    answer: str


@dataclass(frozen=True)
class Sheet:
    """Everything a worksheet shows, in order, before it is written as Markdown or HTML."""

    title: str
    given: tuple[tuple[str, str], ...]  # ("inputs", "x1 = 0.8, x2 = 0.6")
    forward: tuple[str, ...]  # "n1 = w1 * x1 = 0.5 * 0.8 = 0.4"
    start: str  # "dL/dL = 1"
    steps: tuple[StepBlock, ...]
    meanings: tuple[Meaning, ...]
    circuit: str | None  # the circuit as SVG, values known and gradients to fill in
    circuit_note: str = ""  # why there is no circuit
    circuit_alt: str = ""

    @property
    def blanks(self) -> tuple[Blank, ...]:
        """Every blank, in the order they are numbered."""
        return tuple(line for step in self.steps for line in step.lines
                     if isinstance(line, Blank))


# -- what the sheet asks ----------------------------------------------------------------------


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _which(step: BackwardStep, slot: int) -> str:
    """Which operand of ``step`` an input is, when the operation uses it more than once
    (``x * x``): `` (the 1st x of n1)``; else ''."""
    c = step.contributions[slot]
    same = [k for k, other in enumerate(step.contributions) if other.input == c.input]
    if len(same) == 1:
        return ""
    return f" (the {_ordinal(same.index(slot) + 1)} {c.input_name} of {step.name})"


def _is_read_off(c: Contribution) -> bool:
    """Whether the local derivative is a number of the rule (an add's 1, a subtraction's -1)
    or another node's value read off the sheet (a product's partner): nothing to compute on
    its own."""
    formula = c.formula.partition(" = ")[2]
    return parse_answer(formula) is not None or (
        c.partner is not None and c.case is None and c.numbers is None)


def _quiz_index(w: Lesson) -> dict[tuple[str, int, int], Question]:
    """The quiz's questions (the same ones ``chainrule quiz`` and the page ask), keyed by kind,
    backward step and the input's slot in that step (the node, for a gradient)."""
    return {(q.kind, -1 if q.step is None else q.step, q.node if q.slot is None else q.slot): q
            for q in questions(w, steps=True, times=TIMES)}


def mistake_text(w: Lesson, mistake: Mistake) -> str:
    """A mistake as the answer key lists it: ``-0.0834364 is the upstream gradient dL/dn1
    passed on unchanged: multiply it by the local derivative d/dw1 (w1 * x1)``."""
    value = wording.number(w, mistake.value)
    if mistake.did.startswith("that "):
        return f"{value} {mistake.did.removeprefix('that ')}: {mistake.advice}"
    return f"{value}: {mistake.did}: {mistake.advice}"


def reference(number: int) -> str:
    """How the sheet points at the learner's answer to blank ``number``: ``#3``."""
    return f"#{number}"


class _Builder:
    """Walks the backward pass once, numbering the blanks and remembering which blank holds
    each node's gradient (so a later step can say where its upstream gradient was found)."""

    def __init__(self, w: Lesson, steps: bool) -> None:
        self.w = w
        self.steps = steps
        self.count = itertools.count(1)
        self.quiz = _quiz_index(w)
        # The blank that finds each node's gradient (None: the sheet gives it, or passes it on
        # unchanged from a node whose blank it names).
        self.source: dict[int, int | None] = {w.backward.root: None}
        self.given = {w.backward.root}  # the nodes whose gradient the sheet gives as a number
        self.parts: dict[int, list[str]] = {}  # each fan-out's contributions, as written

    def blank(self, kind: BlankKind, label: str, prompt: str, worked: str,
              asked: Question) -> Blank:
        """The next blank, standing for the quiz's question ``asked`` (its answer, and the
        mistakes the feedback engine recognises for it)."""
        return Blank(next(self.count), kind, label, prompt, asked.answer,
                     wording.number(self.w, asked.answer), worked,
                     tuple(mistake_text(self.w, m) for m in mistakes(self.w, asked)))

    def step_block(self, k: int, step: BackwardStep) -> StepBlock:
        w = self.w
        lines: list[Blank | Given] = []
        upstream = wording.gradient_of(w, step.node)
        if step.node in self.given:  # the seed, or the seed passed on unchanged
            upstream += f" = {wording.number(w, step.upstream)}"
        if step.skipped:
            lines.append(Given(f"{upstream} = 0", wording.skipped_text(w, step)))
        for slot, c in enumerate(step.contributions):
            if c.is_constant:
                continue
            if step.skipped:
                self.parts.setdefault(c.input, []).append("0")
                if c.uses == 1:
                    lines.append(Given(f"{wording.gradient_of(w, c.input)} = 0",
                                       "nothing reaches it"))
                continue
            lines += self.contribution_lines(k, step, slot, c)
        for c in step.contributions:
            if not c.is_constant and c.uses > 1 and c.use == c.uses:
                lines.append(self.sum_blank(k, c))
        # A routing gate's rule states its case with the numbers ("-1 <= 0, so it blocks the
        # gradient"): on a worksheet that is the answer to its local derivative's blank.
        routes = any(c.case for c in step.contributions)
        return StepBlock(f"{step.name} = {w.forward.nodes[step.node].expression}", upstream,
                         self.source.get(step.node),
                         None if step.skipped or routes else step.rule, tuple(lines))

    def contribution_lines(self, k: int, step: BackwardStep, slot: int,
                           c: Contribution) -> list[Blank | Given]:
        w = self.w
        assert c.local is not None and c.contribution is not None
        upstream = wording.gradient_of(w, step.node)
        which = _which(step, slot)
        local = local_name(c)
        term = f"{upstream} {TIMES} {local}"
        target = wording.gradient_of(w, c.input)
        use = f"{target}, use {c.use} of {c.uses}{which}"
        if c.local == 1.0:  # handed on unchanged: its number is the upstream one, already there
            self.parts.setdefault(c.input, []).append(upstream)
            unchanged = f"passed on unchanged: {local}{which} is 1"
            if c.uses > 1:
                return [Given(f"{term} = {upstream}", f"{use}, {unchanged}")]
            self.source[c.input] = self.source.get(step.node)
            if step.node in self.given:
                self.given.add(c.input)
            return [Given(f"{target} = {term} = {upstream}", unchanged)]
        lines: list[Blank | Given] = []
        asks_local = self.steps and step.upstream != 1.0 and not _is_read_off(c)
        if asks_local:
            lines.append(self.blank(
                "local", "", f"d{step.name}/d{c.input_name}{which} = {local}",
                wording.local_text(w, c), self.quiz[("local", k, slot)]))
        # The local derivative's own working, when it has no blank of its own.
        derivation = "" if asks_local else wording.local_text(w, c) + "; "
        if c.uses > 1:
            if not self.steps:
                self.parts.setdefault(c.input, []).append(term)
                return lines
            blank = self.blank("contribution", use, term,
                               f"{derivation}{term} = {wording.product_text(w, step, c, TIMES)}",
                               self.quiz[("contribution", k, slot)])
            self.parts.setdefault(c.input, []).append(reference(blank.number))
            return [*lines, blank]
        gradient_q = self.quiz[("gradient", k, c.input)]
        blank = self.blank("gradient", "", f"{target} = {term}",
                           derivation + gradient_q.worked, gradient_q)
        self.source[c.input] = blank.number
        return [*lines, blank]

    def sum_blank(self, k: int, c: Contribution) -> Blank:
        w = self.w
        target = wording.gradient_of(w, c.input)
        gradient_q = self.quiz[("gradient", k, c.input)]
        blank = self.blank("gradient", f"{target}, the sum of its {c.uses} contributions",
                           f"{target} = " + " + ".join(self.parts.get(c.input, [])),
                           gradient_q.worked, gradient_q)
        self.source[c.input] = blank.number
        return blank


def build_sheet(w: Lesson, steps: bool = True) -> Sheet:
    """What the worksheet of ``w`` asks and shows (see the module's docstring for which
    numbers get a blank). With ``steps`` (the default) it also asks each local derivative that
    takes arithmetic and each contribution to an input used several times; without, only the
    gradients."""
    builder = _Builder(w, steps)
    blocks = tuple(builder.step_block(k, step) for k, step in enumerate(w.backward.steps))
    svg, note, alt = _circuit(w)
    return Sheet(
        title=w.title,
        given=tuple(wording.given_text(w)),
        forward=tuple(s.equation(w.digits) for s in w.forward.steps),
        start=f"{wording.gradient_of(w, w.backward.root)} = {wording.number(w, w.backward.seed)}",
        steps=blocks,
        meanings=tuple(_meanings(w, builder.source, next(builder.count))),
        circuit=svg,
        circuit_note=note,
        circuit_alt=alt,
    )


def _circuit(w: Lesson) -> tuple[str | None, str, str]:
    """The circuit after the forward pass and the seed (every value known, the output's
    gradient 1, every other gradient blank), or why there is none."""
    size = len(w.forward.nodes)
    why = f"The graph has {size} nodes, too many to draw as a circuit on a page"
    try:
        if size > CIRCUIT_MAX_NODES:
            raise CircuitLayoutError(why)
        circuit = w.circuit if w.circuit is not None else layout(w)
    except CircuitLayoutError:
        if size <= CIRCUIT_MAX_NODES:
            why = "The graph's wires cross too much to draw it as a compact circuit"
        return (None, f"{why}: follow the steps below, or open the walkthrough's page for its "
                "graph view.", "")
    alt = (f"The circuit of {w.root_name}: each value above its wire, the gradient "
           f"{wording.gradient_of(w, w.backward.root)} = {wording.number(w, w.backward.seed)} "
           "below the output's wire, the other gradients left for you to write in")
    return circuit_svg(w, circuit, len(w.forward.steps) + 1), "", alt


# -- questions about meaning ------------------------------------------------------------------


def _meanings(w: Lesson, source: dict[int, int | None], first: int) -> Iterator[Meaning]:
    """The questions about meaning this graph's numbers support, numbered from ``first``: the
    sign of a gradient, the input that matters most, doubling an upstream gradient, why a
    fan-out sums, and (with a learning rate) one step of gradient descent."""
    number = itertools.count(first)
    grads = w.backward.gradients
    root = w.root_name
    # Parameters first: they are what training changes.
    leaves = [n.index for n in wording.leaf_names(w, "parameter") + wording.leaf_names(w, "input")
              if grads[n.index] is not None]
    names = {i: w.forward.nodes[i].name for i in leaves}

    def grad(i: int) -> float:
        g = grads[i]
        assert g is not None
        return g

    def found_in(i: int) -> str:
        blank = source.get(i)
        return f" (your answer {reference(blank)})" if blank is not None else ""

    signed = [i for i in leaves if grad(i) != 0.0]
    if signed:
        i = signed[0]
        g = grad(i)
        yield Meaning(
            next(number),
            f"If {names[i]} is made a little larger, does {root} go up or down? How can you tell "
            f"from {wording.gradient_of(w, i)}{found_in(i)}? By about how much does {root} "
            f"change when {names[i]} grows by 0.01?",
            f"{'Up' if g > 0 else 'Down'}: {wording.gradient_of(w, i)} = {wording.number(w, g)} "
            f"{'>' if g > 0 else '<'} 0, and the sign of a gradient says which way the output "
            f"moves when the input grows; {root} changes by about {wording.operand(w, g)} "
            f"{TIMES} 0.01 = {wording.number(w, 0.01 * g)}.")
    ranked = sorted(leaves, key=lambda i: -abs(grad(i)))
    if len(ranked) >= 2 and _clearly_larger(w, abs(grad(ranked[0])), abs(grad(ranked[1]))):
        top, second = ranked[0], ranked[1]
        yield Meaning(
            next(number),
            f"Nudge each of {', '.join(names[i] for i in leaves)} by the same small amount, one "
            f"at a time: which one moves {root} the most, and why?",
            f"{names[top]}: its gradient is the largest in size, {wording.gradient_of(w, top)} = "
            f"{wording.number(w, grad(top))}, against {wording.gradient_of(w, second)} = "
            f"{wording.number(w, grad(second))} for the next ({names[second]}): "
            f"{wording.number(w, abs(grad(top)))} > {wording.number(w, abs(grad(second)))}; a "
            f"gradient is how far {root} moves per unit of nudge, whichever its sign.")
    doubled = _doubling(w)
    if doubled is not None:
        step, handed = doubled
        upstream = wording.gradient_of(w, step.node)
        receivers = [f"{c.input_name}{_which(step, step.contributions.index(c))}" for c in handed]
        products = "; ".join(
            f"to {receiver}: 2 {TIMES} {wording.operand(w, c.contribution or 0.0)} = "
            f"{wording.number(w, 2.0 * (c.contribution or 0.0))}"
            for c, receiver in zip(handed, receivers, strict=True))
        yield Meaning(
            next(number),
            f"Suppose the upstream gradient {upstream} were twice as large. What would "
            f"{step.name} = {w.forward.nodes[step.node].expression} hand on to "
            + " and to ".join(receivers) + "?",
            f"Twice as much: each contribution is upstream {TIMES} local derivative, and the "
            f"local derivatives do not depend on the upstream gradient, so each doubles; "
            f"{products}.")
    fan_out = next((i for i in leaves + list(range(len(grads)))
                    if len(w.received.get(i, ())) > 1 and grads[i] is not None), None)
    if fan_out is not None:
        name = w.forward.nodes[fan_out].name
        parts = wording.contributions_to(w, fan_out)
        terms = " + ".join(wording.operand(w, p) for p in parts) if parts else "0"
        yield Meaning(
            next(number),
            f"{name} is used {len(w.received[fan_out])} times. Why is "
            f"{wording.gradient_of(w, fan_out)} the sum of what each use hands back, and not, "
            "say, the largest of them?",
            f"Each use is a path from {name} to {root}: nudging {name} moves {root} along every "
            "path at once, and small changes add up (the multivariable chain rule): "
            f"{wording.gradient_of(w, fan_out)} = {terms} = {wording.number(w, grad(fan_out))}.")
    if w.lr is not None and w.updates:
        update = w.updates[0]
        rate = wording.number(w, w.lr)
        moved = "up" if update.after > update.before else "down"
        yield Meaning(
            next(number),
            f"One step of gradient descent with learning rate {rate} moves each parameter p "
            f"to p - {rate} {TIMES} d{root}/dp. What is the new {update.name}, which way did it "
            "move, and why that way?",
            f"{update.name} = {wording.number(w, update.before)} - {rate} {TIMES} "
            f"{wording.operand(w, update.grad)} = {wording.number(w, update.after)}: it moved "
            f"{moved}, against its gradient, the direction in which {root} goes down.")


def _clearly_larger(w: Lesson, a: float, b: float) -> bool:
    """``a`` is larger than ``b`` as printed (not a tie that rounding hides)."""
    return a > b and wording.number(w, a) != wording.number(w, b)


def _doubling(w: Lesson) -> tuple[BackwardStep, list[Contribution]] | None:
    """A step to ask the doubling question about: the first below the output's own step
    that hands a nonzero contribution to two inputs (else to one)."""
    best: tuple[BackwardStep, list[Contribution]] | None = None
    for step in w.backward.steps:
        handed = [c for c in step.contributions if c.contribution]
        if step.node == w.backward.root or not handed:
            continue
        if len(handed) >= 2:
            return step, handed
        if best is None:
            best = (step, handed)
    return best


# -- Markdown ---------------------------------------------------------------------------------

#: What a learner writes a number on.
LINE = "_" * 12

INSTRUCTIONS = (
    "Work backwards through the circuit with the chain rule: each node hands *upstream "
    "gradient × local derivative* to each of its inputs, and an input used several times adds "
    "up what it receives. Fill in each blank (three significant digits are enough; #3 means "
    "your answer to blank 3) and write each gradient below its wire in the circuit.")


def _code(text: str) -> str:
    """``text`` as a Markdown code span: read literally, so nothing in it needs escaping."""
    text = text.replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MARK = re.compile(r"[*_]+|[\\`\[\]]|<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def _prose(text: str) -> str:
    """Text that may quote the learner's names, marked up only where Markdown would read
    markup into it: a ``*`` or ``_`` run touching a word, a backslash, backtick or bracket, a
    ``<`` that opens a tag, an ``&`` that opens an entity. ``a * b``, ``x < 0`` and
    ``|dL/db|`` stay as they are, so the raw text reads as well as the rendered one."""
    def mark(found: re.Match[str]) -> str:
        text_, at, end = found.group(0), found.start(), found.end()
        if text_[0] in "*_":
            before = found.string[at - 1] if at else " "
            after = found.string[end] if end < len(found.string) else " "
            return text_ if before.isspace() and after.isspace() else "\\" + "\\".join(text_)
        return {"<": "&lt;", "&": "&amp;"}.get(text_, "\\" + text_)
    return _MARK.sub(mark, text.replace("\n", " "))


def _source(block: StepBlock) -> str:
    return f" = {reference(block.source)}" if block.source is not None else ""


def worksheet_markdown(sheet: Sheet, image: str | None = None) -> str:
    """The sheet as Markdown: the circuit as an image (``image``, a path or URL of the SVG;
    by default a ``data:`` URI carrying it, so the text stands alone), every equation a code
    span (nothing escaped in it), the answer key after a page break."""
    lines = [f"# Worksheet: {_prose(sheet.title)}", "", f"Name: {LINE}", "", INSTRUCTIONS, ""]
    if sheet.circuit is not None:
        source = image or "data:image/svg+xml;base64," + base64.b64encode(
            sheet.circuit.encode("utf-8")).decode("ascii")
        if re.search(r"[\s()<>]", source):  # a link destination with spaces goes in <...>
            source = "<" + source.replace("<", "%3C").replace(">", "%3E") + ">"
        lines += [f"![{_prose(sheet.circuit_alt)}]({source})", ""]
    else:
        lines += [f"*{_prose(sheet.circuit_note)}*", ""]
    lines += ["## Forward pass (given)", ""]
    lines += [f"- {_prose(kind.capitalize())}: {_code(text)}" for kind, text in sheet.given]
    lines += [f"- {_code(text)}" for text in sheet.forward]
    lines += ["", "## Backward pass", "", f"Start: {_code(sheet.start)}", ""]
    for k, block in enumerate(sheet.steps, 1):
        lines += [f"### Step {k}: {_code(block.operation)}, upstream {_code(block.upstream)}"
                  f"{_source(block)}", ""]
        if block.rule:
            lines += [f"*{_prose(block.rule)}*", ""]
        for line in block.lines:
            if isinstance(line, Blank):
                label = f"{_prose(line.label)}: " if line.label else ""
                lines.append(f"{line.number}. {label}{_code(line.prompt)} = {LINE}")
            else:
                note = f" ({_prose(line.note)})" if line.note else ""
                lines.append(f"- {_code(line.equation)}{note}")
        lines.append("")
    if sheet.meanings:
        lines += ["## What the numbers mean", ""]
        for m in sheet.meanings:
            lines += [f"{m.number}. {_prose(m.prompt)}", "", f"   {LINE * 5}", ""]
    lines += ['<div style="page-break-before: always"></div>', "", "## Answer key", ""]
    for blank in sheet.blanks:
        lines.append(f"{blank.number}. **{_prose(blank.answer_text)}**: {_code(blank.worked)}")
        lines += [f"   - {_prose(m)}" for m in blank.mistakes]
    lines += [f"{m.number}. {_prose(m.answer)}" for m in sheet.meanings]
    return "\n".join(lines) + "\n"


def worksheet(w: Lesson, steps: bool = True, image: str | None = None) -> str:
    """The worksheet of ``w`` as Markdown (see :func:`build_sheet` and
    :func:`worksheet_markdown`)."""
    return worksheet_markdown(build_sheet(w, steps), image)


# -- HTML -------------------------------------------------------------------------------------


@cache
def _stylesheet() -> str:
    package = __name__.rpartition(".")[0]  # the stylesheet is package data beside this module
    return resources.files(package).joinpath("worksheet.css").read_text(encoding="utf-8")


#: The width of the sheet's text column in CSS pixels (48rem less padding, about what a
#: portrait A4 page prints): a wider circuit breaks out of it (and on paper gets a landscape
#: page, where its labels stay legible).
TEXT_WIDTH = 736.0


def _svg_width(svg: str) -> float:
    found = re.search(r'width="([\d.]+)"', svg)
    return float(found.group(1)) if found else 0.0


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _html_code(text: str) -> str:
    return f"<code>{_e(text)}</code>"


def worksheet_html(sheet: Sheet) -> str:
    """The sheet as one self-contained HTML page for printing: no script, nothing loaded (a
    Content-Security-Policy allows only the page's own style), the circuit inline, print
    styles (no step split across pages) and the answer key after a page break."""
    wide = sheet.circuit is not None and _svg_width(sheet.circuit) > TEXT_WIDTH
    front = [f"<h1>Worksheet: {_e(sheet.title)}</h1>",
             '<p class="name">Name: <span class="line wide"></span></p>',
             "<p>" + _e(INSTRUCTIONS).replace("*upstream gradient × local derivative*",
                                              "<em>upstream gradient × local derivative</em>")
             + "</p>"]
    if sheet.circuit is not None:
        front.append(f'<figure class="diagram">{sheet.circuit}'
                     f"<figcaption>{_e(sheet.circuit_alt)}.</figcaption></figure>")
    else:
        front.append(f'<p class="note">{_e(sheet.circuit_note)}</p>')
    body = [f'<header class="front{" wide" if wide else ""}">{"".join(front)}</header>']
    body.append('<section class="forward"><h2>Forward pass (given)</h2><ul>'
                + "".join(f"<li>{_e(kind.capitalize())}: {_html_code(text)}</li>"
                          for kind, text in sheet.given)
                + "".join(f"<li>{_html_code(text)}</li>" for text in sheet.forward)
                + "</ul></section>")
    body.append('<section class="backward"><h2>Backward pass</h2>'
                f"<p>Start: {_html_code(sheet.start)}</p>")
    for k, block in enumerate(sheet.steps, 1):
        items = []
        for line in block.lines:
            if isinstance(line, Blank):
                label = f"{_e(line.label)}: " if line.label else ""
                items.append(f'<li class="blank" value="{line.number}">{label}'
                             f'{_html_code(line.prompt)} = <span class="line"></span></li>')
            else:
                note = f" ({_e(line.note)})" if line.note else ""
                items.append(f'<li class="given-line">{_html_code(line.equation)}{note}</li>')
        rule = f'<p class="rule">{_e(block.rule)}</p>' if block.rule else ""
        body.append(f'<div class="step"><h3>Step {k}: {_html_code(block.operation)}, upstream '
                    f"{_html_code(block.upstream)}{_e(_source(block))}</h3>"
                    f"{rule}<ol>{''.join(items)}</ol></div>")
    body.append("</section>")
    if sheet.meanings:
        body.append('<section class="meaning"><h2>What the numbers mean</h2><ol>'
                    + "".join(f'<li value="{m.number}">{_e(m.prompt)}'
                              '<span class="answer-space"></span></li>' for m in sheet.meanings)
                    + "</ol></section>")
    key = []
    for blank in sheet.blanks:
        slips = "".join(f"<li>{_e(m)}</li>" for m in blank.mistakes)
        key.append(f'<li value="{blank.number}"><strong>{_e(blank.answer_text)}</strong>: '
                   f"{_html_code(blank.worked)}"
                   + (f'<ul class="mistakes">{slips}</ul>' if slips else "") + "</li>")
    key += [f'<li value="{m.number}">{_e(m.answer)}</li>' for m in sheet.meanings]
    body.append('<section class="key" id="answer-key"><h2>Answer key</h2>'
                f"<ol>{''.join(key)}</ol></section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>Worksheet: {_e(sheet.title)}</title>"
        f"<style>{_stylesheet()}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


# -- files ------------------------------------------------------------------------------------


def circuit_path(path: Path) -> Path:
    """Where :func:`save_worksheet` writes a Markdown sheet's circuit: beside it,
    ``sheet.md`` -> ``sheet-circuit.svg``."""
    return path.with_name(f"{path.stem}-circuit.svg")


def save_worksheet(w: Lesson, path: Path, steps: bool = True) -> tuple[Path, ...]:
    """Write the worksheet to ``path``: the printable HTML page when ``path`` ends in
    ``.html`` or ``.htm``, else Markdown with its circuit in an SVG file beside it (see
    :func:`circuit_path`; a relative link, which every Markdown viewer shows). Returns the
    files written, the sheet first."""
    sheet = build_sheet(w, steps)
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(worksheet_html(sheet), encoding="utf-8")
        return (path,)
    if sheet.circuit is None:
        path.write_text(worksheet_markdown(sheet), encoding="utf-8")
        return (path,)
    image = circuit_path(path)
    image.write_text(sheet.circuit, encoding="utf-8")
    path.write_text(worksheet_markdown(sheet, image=image.name), encoding="utf-8")
    return (path, image)
