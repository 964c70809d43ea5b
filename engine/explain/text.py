"""The walkthrough as plain text for a terminal, no line longer than the width: ASCII apart
from the learner's own labels, in which control characters and bidirectional overrides are
written as escapes (``\\x1b``, ``\\u202e``)."""

from __future__ import annotations

import textwrap

from ..naming import one_line
from . import wording
from .layers import LayerView, layer_views
from .lesson import Lesson
from .template import Slot
from .trace import Pending

#: How a layer's block is introduced in the terminal.
LAYER_RULE = "The layer rule in matrix form, as PyTorch computes it, for"


class _Writer:
    """Collects lines, wrapping each one to the width with a hanging indent."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []

    def wrapped(self, text: str, indent: int = 0, hang: int = 4) -> list[str]:
        return textwrap.wrap(
            one_line(text),  # no label can move the cursor or reverse the line
            width=self.width,
            initial_indent=" " * indent,
            subsequent_indent=" " * (indent + hang),
            break_long_words=True,
            break_on_hyphens=False,
        )

    def line(self, text: str = "", indent: int = 0, hang: int = 4) -> None:
        if not text:
            self.lines.append("")
            return
        self.lines.extend(self.wrapped(text, indent, hang))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def walkthrough_text(w: Lesson, width: int = 80) -> str:
    """The forward steps, the backward steps with the chain rule in numbers, and the summary."""
    if width < 40:
        raise ValueError(f"walkthrough_text: width must be at least 40 columns, got {width}")
    out = _Writer(width)
    nodes = w.forward.nodes
    out.line(w.title)
    out.line("=" * min(width, len(w.title)))
    out.line()
    out.line("Forward pass: each operation is computed once its inputs are known.")
    for kind, given in wording.given_text(w):
        out.line(f"{kind}: {given}", indent=2)
    for number, forward_step in enumerate(w.forward.steps, 1):
        out.line(f"{number}. {w.said(wording.forward_equation(w, forward_step))}", indent=2,
                 hang=5)
    root = nodes[w.forward.root]
    out.line(f"output: {root.name} = {w.said((wording.value(root.index),))}", indent=2)
    out.line()

    out.line("Backward pass: from the output back to the inputs, each node hands")
    out.line("upstream gradient x local derivative to each of its inputs (chain rule).")
    out.line(f"start: {w.said(wording.seed_equation(w))}", indent=2)
    pending = Pending(w.backward)
    by_step: dict[int, list[LayerView]] = {}
    for view in layer_views(w):
        by_step.setdefault(view.step, []).append(view)
    for number, step in enumerate(w.backward.steps, 1):
        pending.advance(step)
        out.line(f"{number}. {wording.step_heading(w, step)}", indent=2, hang=5)
        rule = wording.rule_text(w, step)
        if rule:
            out.line(rule, indent=5, hang=2)
        if step.skipped:
            out.line(wording.skipped_text(w, step), indent=5)
        for c in step.contributions:
            if c.is_constant:
                out.line(f"-> {wording.constant_text(w, c)}", indent=5, hang=3)
                continue
            if step.skipped:
                continue
            local = wording.local_text(w, c)
            # "-> x: local d/dx (x * y) = ...", or "-> local d/dx = ..." when the operation is
            # left out: the input is named once.
            named = "" if local.startswith(f"d/d{c.input_name} =") else f"{c.input_name}: "
            out.line(f"-> {named}local {local}", indent=5, hang=6)
            out.line(f"upstream x local = {wording.product_text(w, step, c)}", indent=8)
            out.line(wording.running_sum_text(w, c), indent=8)
            fan_out = wording.fan_out_text(w, c)
            if fan_out:
                out.line(fan_out, indent=8, hang=2)
        for note in wording.shortcut_notes(w, step):
            out.line(note, indent=5, hang=2)
        for view in by_step.get(number - 1, ()):
            out.line(f"{LAYER_RULE} {view.heading}:", indent=5, hang=2)
            for line in view.lines:
                out.line(line, indent=7, hang=4)
        if pending.count:
            shown = pending.first(limit=12)
            said = "still pending: " + wording.pending_names(w, shown, pending.count)
            while len(out.wrapped(said, indent=5)) > 2 and len(shown) > 1:  # two lines at most
                shown.pop()
                said = "still pending: " + wording.pending_names(w, shown, pending.count)
            out.line(said, indent=5)
    out.line()

    out.line("Gradients, checked by central finite differences (h = 1e-6 * max(1, |x|))")
    where = wording.check_index(w)
    for check in wording.checks_in_order(w):
        at = where[check.node]
        out.line(w.said(wording.check_template(w, check, at)), indent=2)
        why = wording.kink_template(check, at)
        for remark in (None if why is None else w.said(why), check.error):
            if remark:
                out.line(remark, indent=6, hang=2)
    for kink in w.backward.kinks:
        out.line(kink, indent=2, hang=2)
    out.line(wording.check_summary(w), indent=2, hang=2)
    if w.lr is not None:
        out.line()
        out.line(f"One gradient-descent step on the parameters, lr = {w.said((Slot('lr'),))}: "
                 f"p <- p - lr x d{w.root_name}/dp")
        for k in range(len(w.updates)):
            out.line(wording.update_text(w, k), indent=2)
        if not w.updates:
            out.line("(no parameters: name them w..., b..., or choose them)", indent=2)
        out.line(wording.loss_change_text(w), indent=2)
    return out.text()
