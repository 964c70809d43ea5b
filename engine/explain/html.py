"""The walkthrough as one self-contained, interactive HTML page.

The page needs no network and loads nothing: CSS, script and the graph's SVG are inline, and
a Content-Security-Policy allows only the page's own script (by hash), so even markup that
slipped into a label could not run. All data travels as JSON in a
``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped, and the script
builds the page's text with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..errors import ChainruleError
from . import wording
from .circuit import edge_text, picture_name, short
from .circuit_svg import circuit_svg, legend
from .feedback import CLOSE, UNRECOGNISED, mistakes, verdict
from .layers import UNICODE, layer_views
from .picture import sanitize_svg
from .quiz import ABSOLUTE, KIND_NAMES, RELATIVE, TRIES, Question, definitions, questions

if TYPE_CHECKING:
    from .lesson import Lesson

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


_PACKAGE = __name__.rpartition(".")[0]  # this module's package, where its assets are


@cache
def _asset(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _finite_or_text(data: Any) -> Any:
    """``data`` with every infinite or NaN float written as text (``"inf"``, ``"-inf"``,
    ``"nan"``), which JSON cannot carry as a number: a page shows it rather than failing."""
    if isinstance(data, float):
        return data if math.isfinite(data) else repr(data)
    if isinstance(data, dict):
        return {key: _finite_or_text(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite_or_text(value) for value in data]
    return data


def json_for_script(data: Any) -> str:
    """JSON that can sit inside a ``<script>`` element: ``<``, ``>`` and ``&`` are written as
    ``\\u003c`` etc., so no string in it can close the element or open a comment. Infinite and
    NaN floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"``."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # rare: only then is every number looked at
        text = json.dumps(_finite_or_text(data), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


# -- the page -------------------------------------------------------------------------------------


def _short(x: float | None) -> str | None:
    """A number as the graph picture writes it (4 significant digits)."""
    return None if x is None else short(x)


def _question(w: Lesson, k: int, q: Question) -> dict[str, Any]:
    """One question as the page's quiz asks it, with the verdicts worked out in Python: the
    right answer's words, each recognised mistake's number and words, the hints in order."""
    # A gradient is asked at both levels: one id, so an answer at one counts at the other.
    ident = f"gradient-of-{q.node}" if q.kind == "gradient" else f"{q.kind}{k}"
    return {"id": ident, "kind": q.kind, "prompt": q.prompt, "answer": q.answer,
            "answerText": wording.number(w, q.answer), "hints": list(q.hints),
            "worked": q.worked, "node": q.node, "step": -1 if q.step is None else q.step,
            "right": verdict(w, q, q.answer).message,
            "mistakes": [{"value": m.value, "kind": m.kind, "message": m.message}
                         for m in mistakes(w, q)]}


def _texts(w: Lesson) -> dict[str, Any]:
    """Everything the script shows, with the numbers already written out (so the page says
    exactly what the text and Markdown renderers say)."""
    nodes = w.forward.nodes
    def num(x: float | None) -> str | None:
        return None if x is None else wording.number(w, x)

    root = nodes[w.forward.root]
    data: dict[str, Any] = {
        "title": w.title,
        "root": w.forward.root,
        "rootName": root.name,
        "nodes": [
            {
                "name": n.name,
                "pictureName": picture_name(n.name),
                "kind": n.kind,
                "role": n.role,
                "op": n.op,
                "expression": n.expression,
                "inputs": list(n.inputs),
                "value": n.value,
                "valueText": num(n.value),
                "valueShort": _short(n.value),
                "gradient": w.backward.gradients[n.index],
                "gradientText": num(w.backward.gradients[n.index]),
                "gradientShort": _short(w.backward.gradients[n.index]),
                "gradientName": wording.gradient_of(w, n.index),
            }
            for n in nodes
        ],
        "forward": [
            {
                "node": s.node,
                "equation": s.equation(w.digits),
                "explanation": "Its inputs are known: "
                + ", ".join(f"{nodes[i].name} = {num(nodes[i].value)}"
                            for i in dict.fromkeys(nodes[s.node].inputs))
                + ".",
            }
            for s in w.forward.steps
        ],
        "seed": {
            "gradient": w.backward.seed,
            "gradientText": num(w.backward.seed),
            "equation": f"{wording.gradient_of(w, root.index)} = {num(w.backward.seed)}",
            "explanation": (
                f"The gradient of the output with respect to itself: nudging {root.name} by a "
                f"tiny amount changes {root.name} by that same amount."
            ),
        },
        "backward": [],
        "checks": [
            {
                "node": c.node,
                "name": c.name,
                "analytic": c.analytic,
                "analyticText": num(c.analytic),
                "numeric": c.numeric,
                "numericText": "n/a" if c.numeric is None else num(c.numeric),
                "passed": c.passed,
                "error": c.error,
                "kink": c.kink,
                "leftText": None if c.left is None else num(c.left),
                "rightText": None if c.right is None else num(c.right),
            }
            for c in wording.checks_in_order(w)
        ],
        "lr": w.lr,
        "lrText": None if w.lr is None else num(w.lr),
        "updates": [
            {
                "node": u.node,
                "name": u.name,
                "equation": f"{num(u.before)} − {num(w.lr or 0.0)} × {wording.operand(w, u.grad)}",
                "after": u.after,
                "afterText": num(u.after),
            }
            for u in w.updates
        ],
        "lossChange": None if w.loss_after is None else wording.loss_change_text(w),
        "layers": [
            {"layer": view.layer, "heading": view.heading, "lines": list(view.lines),
             "step": view.step}
            for view in layer_views(w, UNICODE)
        ],
    }
    data["quiz"] = {level: [_question(w, k, q) for k, q in
                            enumerate(questions(w, steps=level == "steps", times="×"))]
                    for level in ("steps", "gradients")}
    data["quizTolerance"] = {"absolute": ABSOLUTE, "relative": RELATIVE}
    data["quizFeedback"] = {"close": CLOSE, "unrecognised": UNRECOGNISED, "tries": TRIES,
                            "kinds": KIND_NAMES, "definitions": definitions(w)}
    data["summaryText"] = wording.check_summary(w)
    data["kinks"] = list(w.backward.kinks)
    for step in w.backward.steps:
        contributions = []
        for c in step.contributions:
            if c.is_constant:
                lines = [{"kind": "note", "text": "a constant: no gradient needed"}]
            elif step.skipped:
                lines = [{"kind": "note", "text": "upstream is 0: nothing passed on"}]
            else:
                lines = [
                    {"kind": "formula", "text": f"local {wording.local_text(w, c)}"},
                    {"kind": "product",
                     "text": "upstream × local = " + wording.product_text(w, step, c, "×")},
                    {"kind": "sum", "text": wording.running_sum_text(w, c)},
                ]
                fan_out = wording.fan_out_text(w, c)
                if fan_out:
                    lines.append({"kind": "fanout", "text": fan_out})
            contributions.append({
                "input": c.input,
                "inputName": c.input_name,
                "slot": c.variable,
                "constant": c.is_constant,
                "lines": lines,
                "formula": c.formula,
                "local": c.local,
                "localText": None if c.local is None else num(c.local),
                "contribution": c.contribution,
                "contributionText": None if c.contribution is None else num(c.contribution),
                "edgeText": edge_text(step, c),
                "after": c.grad_after,
                "afterText": None if c.grad_after is None else num(c.grad_after),
                "afterShort": _short(c.grad_after),
                "use": c.use,
                "uses": c.uses,
            })
        data["backward"].append({
            "node": step.node,
            "name": step.name,
            "operation": f"{step.name} = {nodes[step.node].expression} = {num(step.value)}",
            "upstream": step.upstream,
            "upstreamName": wording.gradient_of(w, step.node),
            "upstreamText": f"upstream {wording.gradient_of(w, step.node)} = {num(step.upstream)}",
            "skippedText": wording.skipped_text(w, step) if step.skipped else None,
            "rule": None if step.skipped else step.rule,
            "notes": wording.shortcut_notes(w, step),
            "contributions": contributions,
        })
    return data


def walkthrough_html(w: Lesson, svg: str | None = None) -> str:
    """The walkthrough as one HTML document (a string) that works offline in any browser.

    ``svg`` overrides the graph picture stored in the walkthrough (it is sanitized either way).
    """
    try:
        picture = w.svg if svg is None else sanitize_svg(svg)
    except ChainruleError as error:  # said in terms of the call the user made
        raise type(error)(f"html(svg=...): {str(error).removeprefix('sanitize_svg: ')}") from None
    circuit = "" if w.circuit is None else circuit_svg(w, w.circuit, 1, interactive=True)
    note = w.graph_note if picture is None and not circuit else ""
    data = _texts(w)
    data["circuit"] = None if w.circuit is None else {
        "width": w.circuit.width, "height": w.circuit.height, "legend": legend(w, w.circuit),
        "graph": picture is not None}
    # One inline script (one CSP hash): the walkthrough, then the quiz that plugs into it.
    script = _asset("walkthrough.js") + "\n" + _asset("quiz.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    fields = {
        "TITLE": html.escape(w.title),
        "CSS": _asset("walkthrough.css") + _asset("quiz.css"),
        "SVG": picture or "",
        "CIRCUIT": circuit,
        "GRAPH_NOTE": html.escape(note or ""),
        "DATA": json_for_script(data),
        "SCRIPT": script,
        "SCRIPT_HASH": f"sha256-{digest}",
    }
    # One pass: text inserted for one placeholder is never searched for another.
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], _asset("walkthrough.html"))
