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

from ..compile.emit_javascript import emit_javascript, javascript_runtime
from ..compile.plan import plan_of_graph
from ..errors import ChainruleError
from . import wording
from .circuit import edge_text, picture_name
from .circuit_svg import circuit_svg, legend
from .feedback import CLOSE, UNRECOGNISED, mistakes, verdict
from .layers import UNICODE, layer_views
from .nudge import sentences_for_page
from .picture import sanitize_svg
from .quiz import ABSOLUTE, KIND_NAMES, RELATIVE, TRIES, Question, definitions, questions
from .template import (
    Choice,
    Slot,
    Template,
    UpstreamZero,
    numbers_json,
    template,
    template_json,
)
from .trace import layer_of

if TYPE_CHECKING:
    from .lesson import Lesson
    from .trace import BackwardStep, Contribution

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


class LiveGraphError(ChainruleError, ValueError):
    """A lesson without its graph cannot become a live page (it has no program to run)."""


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


def _unless_skipped(step: BackwardStep, text: Template, skipped: Template = ()) -> Template:
    """``text``, or ``skipped`` when the step's upstream gradient is 0 (with the recorded
    numbers, or with a learner's)."""
    return (Choice(((UpstreamZero(step.node), skipped), (None, text))),)


def _contribution_lines(w: Lesson, step: BackwardStep, c: Contribution) -> list[dict[str, Any]]:
    if c.is_constant:
        return [{"kind": "note", "text": ["a constant: no gradient needed"]}]
    lines = [
        ("formula", _unless_skipped(step, template("local ", wording.local_template(w, c)),
                                    ("upstream is 0: nothing passed on",))),
        ("product", _unless_skipped(step, template(
            "upstream × local = ", wording.product_template(w, step, c, "×")))),
        ("sum", _unless_skipped(step, wording.running_sum_template(w, c))),
    ]
    fan_out = wording.fan_out_template(w, c)
    if fan_out:
        lines.append(("fanout", _unless_skipped(step, fan_out)))
    # A line that a zero upstream empties is left out by the page.
    return [{"kind": kind, "text": template_json(text)} for kind, text in lines]


def _texts(w: Lesson) -> dict[str, Any]:
    """Everything the script shows: the sentences as templates (see .template) and the
    recorded numbers to fill them with, so the page says exactly what the text and Markdown
    renderers say, and says it again with a learner's numbers (``showNumbers``)."""
    nodes = w.forward.nodes
    t = template_json
    root = nodes[w.forward.root]
    where = wording.check_index(w)
    data: dict[str, Any] = {
        "title": w.title,
        "digits": w.digits,
        "numbers": numbers_json(w.numbers),
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
                "gradient": w.backward.gradients[n.index],
                "gradientName": wording.gradient_of(w, n.index),
            }
            for n in nodes
        ],
        "forward": [
            {
                "node": s.node,
                "equation": t(wording.forward_equation(w, s)),
                "explanation": t(wording.inputs_known(w, s.node)),
            }
            for s in w.forward.steps
        ],
        "seed": {
            "gradient": w.backward.seed,
            "equation": t(wording.seed_equation(w)),
            "explanation": (
                f"The gradient of the output with respect to itself: nudging {root.name} by a "
                f"tiny amount changes {root.name} by that same amount."
            ),
        },
        "backward": [],
        "checks": [
            {
                "node": c.node,
                "check": where[c.node],
                "name": c.name,
                "analytic": c.analytic,
                "analyticText": t((wording.grad(c.node),)),
                "numeric": c.numeric,
                "numericText": t(wording.numeric_template(where[c.node])),
                "passed": c.passed,
                "verdict": t(wording.verdict_template(where[c.node], "✓ pass", "✗ fail")),
                "error": None if c.error is None else t(wording.recorded_only(c.error)),
                "kink": None if (kink := wording.kink_template(c, where[c.node])) is None
                else t(kink),
            }
            for c in wording.checks_in_order(w)
        ],
        "lr": w.lr,
        "lrText": None if w.lr is None else t((Slot("lr"),)),
        "updates": [
            {
                "node": u.node,
                "name": u.name,
                "equation": t(wording.update_template(w, k, "×", "−")),
                "after": u.after,
                "afterText": t((Slot("u", k),)),
            }
            for k, u in enumerate(w.updates)
        ],
        "lossChange": None if w.loss_after is None else t(wording.loss_change_template(w)),
        "layers": [
            {"layer": view.layer, "heading": view.heading,
             "lines": [t(line) for line in view.templates], "step": view.step}
            for view in layer_views(w, UNICODE)
        ],
    }
    data["quiz"] = {level: [_question(w, k, q) for k, q in
                            enumerate(questions(w, steps=level == "steps", times="×"))]
                    for level in ("steps", "gradients")}
    data["quizTolerance"] = {"absolute": ABSOLUTE, "relative": RELATIVE}
    data["quizFeedback"] = {"close": CLOSE, "unrecognised": UNRECOGNISED, "tries": TRIES,
                            "kinds": KIND_NAMES, "definitions": definitions(w)}
    data["summaryText"] = t(wording.check_summary_template(w))
    data["kinks"] = [t(kink) for kink in wording.kink_templates(w)]
    for step in w.backward.steps:
        rule = wording.rule_template(w, step)
        data["backward"].append({
            "node": step.node,
            "name": step.name,
            "operation": t(wording.operation_heading(w, step)),
            "upstream": step.upstream,
            "upstreamName": wording.gradient_of(w, step.node),
            "upstreamText": t(wording.upstream_template(w, step)),
            "skippedText": t(_unless_skipped(step, (), (wording.skipped_text(w, step),))),
            "rule": None if rule is None else t(_unless_skipped(step, rule)),
            "notes": [t(note) for note in wording.shortcut_templates(w, step)],
            "contributions": [{
                "input": c.input,
                "k": c.k,
                "inputName": c.input_name,
                "slot": c.variable,
                "constant": c.is_constant,
                "lines": _contribution_lines(w, step, c),
                "formula": c.formula,
                "local": c.local,
                "contribution": c.contribution,
                "edgeText": edge_text(step, c),
                "after": c.grad_after,
                "use": c.use,
                "uses": c.uses,
            } for c in step.contributions],
        })
    return data


def _page_fields(w: Lesson, svg: str | None) -> dict[str, str]:
    """Every placeholder of the page but its script."""
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
    data["live"] = _live(w)
    return {
        "TITLE": html.escape(w.title),
        "CSS": page_style(),
        "SVG": picture or "",
        "CIRCUIT": circuit,
        "GRAPH_NOTE": html.escape(note or ""),
        "DATA": json_for_script(data),
    }


def _live(w: Lesson) -> dict[str, Any]:
    """What the live layer (live.js) needs beyond the lesson: its sentences, the digits, and
    the parameters descent by hand updates, in the order Python updates them."""
    nodes = w.forward.nodes
    parameters = [u.node for u in w.updates] or [
        n.index for n in sorted(nodes, key=lambda n: layer_of(n.scope) or 0)
        if n.role == "parameter"]
    return {**sentences_for_page(), "digits": w.digits, "parameters": parameters,
            "defaultLr": "0.1", "checks": [c.node for c in w.backward.checks],
            "updates": [u.node for u in w.updates]}


def page_style() -> str:
    """The page's stylesheet."""
    return _asset("walkthrough.css") + _asset("quiz.css")


def page_script(w: Lesson) -> str:
    """The page's one script: the runtime and the walkthrough's program compiled to
    JavaScript, the templates' filler, the walkthrough, its live layer and the quiz."""
    if not w.order:
        raise LiveGraphError("a live page needs the lesson's graph: build it with walkthrough()")
    program = emit_javascript(plan_of_graph(w.order[-1], order=list(w.order)))
    parts = [javascript_runtime(), program, _asset("fill.js"), _asset("walkthrough.js"),
             _asset("live.js"), _asset("quiz.js")]
    return "\n".join(parts)


#: The page's body, between these two marks of walkthrough.html.
_BODY_START, _BODY_END = "<body>", "<script>{{SCRIPT}}</script>"


def page_body(w: Lesson, svg: str | None = None) -> str:
    """The page's body without its script (the widget runs the script itself)."""
    fields = _page_fields(w, svg)
    template = _asset("walkthrough.html")
    body = template[template.index(_BODY_START) + len(_BODY_START):template.index(_BODY_END)]
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], body)


def walkthrough_html(w: Lesson, svg: str | None = None) -> str:
    """The walkthrough as one HTML document (a string) that works offline in any browser.

    ``svg`` overrides the graph picture stored in the walkthrough (it is sanitized either way).
    """
    fields = _page_fields(w, svg)
    script = page_script(w)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    fields["SCRIPT"] = script
    fields["SCRIPT_HASH"] = f"sha256-{digest}"
    # One pass: text inserted for one placeholder is never searched for another.
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], _asset("walkthrough.html"))
