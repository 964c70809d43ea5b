"""The walkthrough as Markdown, for notebooks and documentation."""

from __future__ import annotations

import re

from . import wording
from .layers import UNICODE, layer_views
from .lesson import Lesson
from .template import Slot, Template, template

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_markdown(text: str) -> str:
    """``text`` shown literally inside a line: the characters that mark up text in the middle
    of a line (emphasis, code, links, table cells) backslash-escaped, HTML characters as
    entities (so a label like ``<script>`` or ``a|b`` cannot break out of its table cell).
    Characters that only matter at the start of a line (``#``, ``-``, ``+``) are left as they
    are, so ``(-0.741) ** 2`` reads as written; nothing escaped here starts a line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def walkthrough_markdown(w: Lesson) -> str:
    """Forward steps as a table, backward steps as one table row per input, then the summary."""
    e = escape_markdown
    def said(text: Template) -> str:
        return e(w.said(text))

    lines = [f"## {e(w.title)}", "", "### Forward pass", ""]
    for kind, given in wording.given_text(w):
        lines += [f"{kind.capitalize()}: {e(given)}", ""]
    lines += ["| # | node | operation | with numbers | value |", "|---|---|---|---|---|"]
    for number, forward_step in enumerate(w.forward.steps, 1):
        info = w.forward.nodes[forward_step.node]
        lines.append(
            f"| {number} | {e(forward_step.name)} | {e(forward_step.expression)} "
            f"| {said(wording.operation_numbers(info))} "
            f"| {said((wording.value(info.index),))} |"
        )
    lines += [
        "",
        "### Backward pass",
        "",
        "Each node hands *upstream gradient × local derivative* to each of its inputs; an "
        "input used several times adds up its contributions (the running sum).",
        "",
        f"Start: {said(wording.seed_equation(w))}",
        "",
        "| # | node (upstream) | to input | local derivative | upstream × local "
        "| gradient so far |",
        "|---|---|---|---|---|---|",
    ]
    for number, step in enumerate(w.backward.steps, 1):
        head = (
            f"{e(step.name)} = {e(w.forward.nodes[step.node].expression or '')}, "
            + said(template(f"{wording.gradient_of(w, step.node)} = ", wording.grad(step.node)))
        )
        rule = wording.rule_text(w, step)
        if rule:
            head += f" — *{e(rule)}*"
        for c in step.contributions:
            if c.is_constant:
                row = (e(c.input_name), "constant", e(wording.constant_text(w, c)), "")
            elif step.skipped:
                row = (e(c.input_name), e(c.formula), "upstream is 0: nothing passed on", "")
            else:
                total = e(wording.running_sum_text(w, c))
                fan_out = wording.fan_out_text(w, c)
                if fan_out:
                    total += f" ({e(fan_out)})"
                row = (
                    e(c.input_name),
                    e(wording.local_text(w, c)),
                    e(wording.product_text(w, step, c, times="×")),
                    total,
                )
            lines.append(f"| {number} | {head} | " + " | ".join(row) + " |")
            head = ""
        for note in wording.shortcut_notes(w, step):
            lines.append(f"| {number} | | | *{e(note)}* | | |")
    layers = layer_views(w, UNICODE)
    if layers:
        lines += ["", "### Layer by layer", "",
                  "The layer rule in matrix form, as PyTorch computes it: δ = dL/dz, "
                  "dL/dW = δ xᵀ, dL/db = δ, δ_prev = (Wᵀ δ) ⊙ f'(z), with this run's numbers "
                  "(each shape in parentheses):", ""]
        for view in layers:
            lines.append(f"- **{e(view.heading)}** (after backward step {view.step + 1}): "
                         + "; ".join(e(line) for line in view.lines))
    lines += [
        "",
        "### Check",
        "",
        "Each leaf gradient against a central finite difference, h = 1e-6 × max(1, |x|):",
        "",
        "| leaf | value | gradient | numeric | check |",
        "|---|---|---|---|---|",
    ]
    where = wording.check_index(w)
    for check in wording.checks_in_order(w):
        at = where[check.node]
        why = wording.kink_template(check, at)
        verdict = ("✗ " + e(check.error or "mismatch") if not check.passed
                   else "✓ " + said(why) if why and said(why) else "✓")
        lines.append(
            f"| {e(check.name)} | {said((wording.value(check.node),))} "
            f"| {said((wording.grad(check.node),))} | {said(wording.numeric_template(at))} "
            f"| {verdict} |"
        )
    lines += [""] + [f"- {e(kink)}" for kink in w.backward.kinks]
    lines += ["", e(wording.check_summary(w))]
    if w.lr is not None:
        lines += [
            "",
            f"### One gradient-descent step (lr = {said((Slot('lr'),))})",
            "",
            "| parameter | before | gradient | after = before − lr × gradient |",
            "|---|---|---|---|",
        ]
        for k, u in enumerate(w.updates):
            lines.append(f"| {e(u.name)} | {said((wording.value(u.node),))} "
                         f"| {said((wording.grad(u.node),))} | {said((Slot('u', k),))} |")
        change = said(wording.loss_change_template(w))
        lines += ["", change[:1].upper() + change[1:] + "."]
    return "\n".join(lines) + "\n"
