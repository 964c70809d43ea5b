"""The walkthrough page in a real headless Chromium (Debian's, driven by playwright)."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.engine import Value, dot, draw, topological_order, walkthrough
from chainrule.engine.compile import javascript_runtime
from chainrule.engine.explain import wording
from chainrule.engine.explain.circuit import short
from chainrule.engine.explain.html import json_for_script
from chainrule.engine.explain.template import Numbers, fill, numbers_json, template_from_json
from chainrule.engine.naming import format_number, operand_text

from support.arithmetic import page_parts
from support.explain import load_demo


def page_data(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="walkthrough-data">(.*?)</script>',
                      page, re.S)
    assert found is not None
    return json.loads(found.group(1))

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_default_timeout(10_000)
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri())
    return page, problems, requests


def equation_lines(page) -> list[str]:
    return page.eval_on_selector_all("#equation .line", "els => els.map(e => e.textContent)")


#: The ids of the picture's elements, without the prefix every picture id has on the page.
PICTURE_IDS = "els => els.map(e => e.id.replace(/^svg-/, ''))"


def highlighted(page) -> tuple[list[str], list[str]]:
    """Ids of the highlighted graph nodes and of the highlighted table rows."""
    graph = page.eval_on_selector_all("#graph g.node.current", PICTURE_IDS)
    rows = page.eval_on_selector_all("#grad-table tr.current", "els => els.map(e => e.id)")
    return graph, rows


def test_step_through_the_neuron(browser, tmp_path):
    y, _, params = load_demo("neuron").build_neuron()
    w = walkthrough(y, lr=0.5, parameters=params.values())
    path = w.save_html(tmp_path / "neuron.html")
    page, problems, requests = open_page(browser, path)
    forward, backward = w.forward.steps, w.backward.steps
    total = len(forward) + 1 + len(backward) + 1
    assert page.get_attribute("#slider", "max") == str(total - 1)
    has_picture = w.svg is not None

    # Forward pass first: step 0 computes the first operation.
    assert page.text_content("#phase").startswith("Forward pass · step 1 of 7")
    assert equation_lines(page)[0] == forward[0].equation() == "n1 = w1 * x1 = 0.5 * 0.8 = 0.4"
    graph, rows = highlighted(page)
    assert rows == [f"row{forward[0].node}"]
    assert sorted(graph) == ([f"n{forward[0].node}", f"op{forward[0].node}"] if has_picture else [])

    # Step to the end with the Next button, checking every step on the way.
    for k in range(1, total):
        page.click("#next")
        assert page.get_attribute("body", "data-step") == str(k)
        if k < len(forward):
            step = forward[k]
            assert equation_lines(page)[0] == step.equation()
        elif k == len(forward):
            assert equation_lines(page)[0] == "dy/dy = 1"
            continue
        elif k < total - 1:
            step = backward[k - len(forward) - 1]
            lines = equation_lines(page)
            assert lines[0] == f"{step.name} = {w.forward.nodes[step.node].expression} = " \
                f"{wording.number(w, step.value)}"
            products = page.eval_on_selector_all(
                ".contribution .product", "els => els.map(e => e.textContent)")
            assert products == [
                "upstream × local = " + wording.product_text(w, step, c, "×")
                for c in step.contributions if not c.is_constant
            ]
            pending = page.text_content("#pending")
            still = w.backward.pending_after(k - len(forward) - 1)
            assert pending == ("" if not still else
                               "Still pending (more contributions to come): "
                               + wording.pending_names(w, still))
        else:
            break
        graph, rows = highlighted(page)
        assert rows == [f"row{step.node}"]
        if has_picture:
            assert f"n{step.node}" in graph
    assert page.is_disabled("#next")
    assert page.text_content("#step-title") == "All gradients, checked"

    # The final gradients in the page are the engine's, to the last bit.
    y.backward()
    engine = {i: node.grad for i, node in enumerate(topological_order(y))}
    shown = page.eval_on_selector_all(
        "#grad-table tbody tr", "rows => rows.map(r => [r.dataset.node, "
        "r.querySelector('.grad').dataset.value])")
    assert {int(i): float(g) for i, g in shown} == engine
    checks = page.eval_on_selector_all("#checks tbody tr", "rows => rows.map(r => "
                                       "[r.cells[0].textContent, r.cells[3].textContent])")
    assert checks == [[c.name, "✓ pass"] for c in w.backward.checks]
    updates = page.eval_on_selector_all("#updates td[data-value]", "els => els.map(e => "
                                        "Number(e.dataset.value))")
    assert updates == [p.data - 0.5 * p.grad for p in params.values()]
    page.screenshot(path=str(tmp_path / "summary.png"))
    assert (tmp_path / "summary.png").stat().st_size > 10_000

    # Back with the keyboard, to the seed of the backward pass and to the very start.
    for _ in range(len(backward) + 1):
        page.keyboard.press("ArrowLeft")
    assert page.get_attribute("body", "data-phase") == "seed"
    assert page.text_content("#step-title") == "Start at the output y"
    page.keyboard.press("ArrowLeft")
    assert equation_lines(page)[0] == forward[-1].equation()
    page.keyboard.press("Home")
    assert page.get_attribute("body", "data-step") == "0" and page.is_disabled("#prev")
    page.keyboard.press("End")
    assert page.get_attribute("body", "data-phase") == "summary"

    # The slider jumps anywhere.
    page.fill("#slider", str(len(forward) + 2))
    assert page.get_attribute("body", "data-node") == str(backward[1].node)
    page.screenshot(path=str(tmp_path / "step.png"))
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests


def test_fan_out_running_sums_in_the_page(browser, tmp_path):
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    path = walkthrough(c, picture=False).save_html(tmp_path / "fan.html")
    page, problems, _ = open_page(browser, path)
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # the last backward step: b = a + a hands 2 to a, twice
    sums = page.eval_on_selector_all(".contribution .sum", "els => els.map(e => e.textContent)")
    assert sums == ["dc/da = 0 + 2 = 2", "dc/da = 2 + 2 = 4"]
    fan_out = page.eval_on_selector_all(".contribution .fanout", "els => els.map(e => e.textContent)")
    assert fan_out[-1] == "fan-out sums: all 2 uses of a have contributed: dc/da = 2 + 2 = 4"
    assert page.text_content("#grad-table #row0 .grad") == "4"
    page.keyboard.press("ArrowLeft")  # c = b + b: b's running sum, 0 -> 1 -> 2
    sums = page.eval_on_selector_all(".contribution .sum", "els => els.map(e => e.textContent)")
    assert sums == ["dc/db = 0 + 1 = 1", "dc/db = 1 + 1 = 2"]
    assert page.text_content("#pending") == "Still pending (more contributions to come): a"
    assert page.text_content("#graph-note") == "No graph picture was requested."
    assert problems == []


def test_hostile_labels_are_text_and_run_nothing(browser, tmp_path):
    labels = ['<img src=x onerror="window.__pwned=1">', "</script><script>window.__pwned=2"
              "</script>", '"quoted" & <b>bold</b>']
    x, y, z = (Value(v, label=label) for v, label in zip((0.5, -1.0, 2.0), labels, strict=True))
    root = (x * y + z).tanh()
    root.label = "<svg onload=window.__pwned=3>"
    w = walkthrough(root, title='<script>window.__pwned=4</script>"', lr=0.1)
    path = w.save_html(tmp_path / "hostile.html")
    page, problems, requests = open_page(browser, path)
    page.keyboard.press("End")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    names = page.eval_on_selector_all("#grad-table td.name", "els => els.map(e => e.textContent)")
    assert names[:2] == labels[:2] and labels[2] in names and root.label in names
    assert page.evaluate("document.querySelectorAll('img, b, #graph script').length") == 0
    assert page.title() == '<script>window.__pwned=4</script>"'
    if w.svg is not None:  # graphviz's labels are text nodes of the SVG too
        texts = page.eval_on_selector_all("#graph text", "els => els.map(e => e.textContent)")
        assert any("onerror" in t for t in texts)
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests


# -- the graph follows the steps ---------------------------------------------------------------


def circuit() -> tuple[Value, list[Value]]:
    """CS231n's circuit f = (x + y) * z at x = -2, y = 5, z = -4."""
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    return q * z, [x, y, z, q]


def box_texts(page) -> dict[str, list[str]]:
    """The texts of every value's box in the graph, by node id."""
    return page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('#graph g.node'))"
        ".filter(g => /^svg-n\\d+$/.test(g.id))"
        ".map(g => [g.id.slice(4), Array.from(g.querySelectorAll('text')).map(t => t.textContent)]))")


def test_the_graph_shows_values_as_computed_and_gradients_as_they_arrive(browser, tmp_path):
    f, _ = circuit()
    w = walkthrough(f)
    if w.svg is None:
        pytest.skip(w.graph_note)
    page, problems, _ = open_page(browser, w.save_html(tmp_path / "circuit.html"))
    # forward step 1: q = x + y is computed, f is not yet
    boxes = box_texts(page)
    assert boxes["n0"] == ["x", "data -2", "grad ?"] and boxes["n2"] == ["q", "data 3", "grad ?"]
    assert boxes["n4"] == ["f", "data ?", "grad ?"]
    assert sorted(page.eval_on_selector_all("#graph g.unknown", PICTURE_IDS)) == [
        "n4", "op4"]
    page.click("#next")  # f = q * z
    assert box_texts(page)["n4"] == ["f", "data -12", "grad ?"]
    page.click("#next")  # the start of the backward pass
    assert box_texts(page)["n4"][2] == "grad 1"
    page.click("#next")  # f = q * z hands z and q their gradients: upstream x local on the edges
    labels = page.eval_on_selector_all("#graph text.edge-label", "els => els.map(e => e.textContent)")
    assert labels == ["1 × -4 = -4", "1 × 3 = 3"]
    boxes = box_texts(page)
    assert boxes["n2"][2] == "grad -4" and boxes["n3"][2] == "grad 3" and boxes["n0"][2] == "grad ?"
    page.keyboard.press("End")
    boxes = box_texts(page)
    assert [boxes[f"n{i}"][2] for i in range(5)] == ["grad -4", "grad -4", "grad -4", "grad 3",
                                                      "grad 1"]
    assert len(page.eval_on_selector_all("#graph g.node.final", "els => els")) == 5
    assert page.eval_on_selector_all("#graph text.edge-label", "els => els") == []
    assert problems == []


def test_a_partial_sum_is_marked_on_the_graph(browser, tmp_path):
    a = Value(3.0, label="a")
    root = a * a + a
    w = walkthrough(root)
    if w.svg is None:
        pytest.skip(w.graph_note)
    page, problems, _ = open_page(browser, w.save_html(tmp_path / "fan.html"))
    for _ in range(len(w.forward.steps) + 1):  # to the first backward step
        page.click("#next")
    # after n2 = n1 + a: a has 1 of its 3 contributions
    assert box_texts(page)["n0"] == ["a", "data 3", "grad 1 …"]
    assert page.eval_on_selector_all("#graph g.node.partial", PICTURE_IDS) == ["n0"]
    assert problems == []


# -- the learner's turn ------------------------------------------------------------------------


def answer(page, text: str) -> str:
    """Type an answer into the first open question, press Enter; the feedback shown."""
    field = page.locator("#equation .question input:not([disabled])").first
    field.fill(text)
    field.press("Enter")
    return page.locator("#equation .question .feedback").evaluate_all(
        "els => els.map(e => e.textContent).filter(Boolean).pop()")


def test_quiz_accepts_right_answers_and_corrects_wrong_ones(browser, tmp_path):
    f, _ = circuit()
    w = walkthrough(f)
    page, problems, _ = open_page(browser, w.save_html(tmp_path / "quiz.html"))
    page.click("#quiz-toggle")
    assert page.get_attribute("#quiz-toggle", "aria-pressed") == "true"
    assert page.get_attribute("body", "data-phase") == "seed"  # the quiz starts backward
    prompts = page.eval_on_selector_all(".question .prompt", "els => els.map(e => e.textContent)")
    assert prompts == ["df/df ="]
    assert equation_lines(page) == []  # the answer is hidden
    assert answer(page, "1") == "✓ right: 1"
    assert equation_lines(page)[0] == "df/df = 1"  # shown once answered
    page.click("#next")
    prompts = page.eval_on_selector_all(".question .prompt", "els => els.map(e => e.textContent)")
    assert prompts == ["d/dq (q * z) =", "df/df × d/dq (q * z) =", "d/dz (q * z) =",
                       "df/df × d/dz (q * z) =", "df/dq =", "df/dz ="]
    # the step's numbers stay hidden: no contribution cards, no new gradients in the table
    assert page.eval_on_selector_all(".contribution", "els => els") == []
    assert page.text_content("#row2 .grad") == "—"
    assert answer(page, "-4") == "✓ right: -4"
    assert answer(page, "4").startswith("✗ right size, wrong sign")  # named, and a second try
    hints = page.locator(".question .hints").nth(1)
    assert hints.locator("p").all_text_contents() == [
        "Hint 1: chain rule: what a node hands an input is upstream gradient × local derivative; "
        "mul swaps: q gets the upstream gradient times z, and z times q"]
    page.locator(".question button", has_text="Hint").nth(1).click()
    page.locator(".question button", has_text="Hint").nth(1).click()
    assert hints.locator("p").all_text_contents()[1:] == [
        "Hint 2: the formula: df/df × d/dq (q * z)",
        "Hint 3: the numbers: df/df = 1 (upstream), d/dq (q * z) = -4"]
    page.locator(".question button", has_text="Show the step").first.click()
    assert page.locator(".question .feedback").nth(1).text_content() == (
        "The step: df/df × local = 1 × (-4) = -4")
    assert page.locator(".question input").nth(1).input_value() == ""  # the box is cleared
    for value in ("3", "3", "-4", "3.001"):
        answer(page, value)
    assert page.text_content("#score") == "Score: 6 right of 7 answered"
    assert len(page.eval_on_selector_all(".contribution", "els => els")) == 2  # revealed
    assert page.text_content("#row2 .grad") == "-4"
    # only the final gradients
    page.select_option("#quiz-level", "gradients")
    page.click("#next")
    prompts = page.eval_on_selector_all(".question .prompt", "els => els.map(e => e.textContent)")
    assert prompts == ["df/dx =", "df/dy ="]
    assert answer(page, "-4") == "✓ right: -4"
    assert answer(page, "1/4").startswith("✗")
    assert problems == []


def test_keyboard_alone_steps_and_answers(browser, tmp_path):
    f, _ = circuit()
    page, problems, _ = open_page(browser, walkthrough(f, picture=False).save_html(
        tmp_path / "keys.html"))
    page.keyboard.press("Tab")  # "Previous" is disabled at the first step
    assert page.evaluate("document.activeElement.id") == "slider"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "next"
    page.keyboard.press("Enter")
    assert page.get_attribute("body", "data-step") == "1"
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("body", "data-step") == "2"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "quiz-toggle"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the level, the forward pass (folds), the first answer field
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "INPUT"
    page.keyboard.type("-1")
    page.keyboard.press("ArrowLeft")  # moves the caret, not the step
    assert page.get_attribute("body", "data-step") == "2"
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    assert page.text_content(".question .feedback") == "✓ right: 1"
    assert page.evaluate("document.activeElement.id") == "next"  # the step is done: go on
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "q-local1"  # the next step's question
    page.keyboard.type("-4")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "q-contribution2"
    assert problems == []


# -- reading comfort ---------------------------------------------------------------------------

CONTRAST = """() => {
  const parse = c => { const p = c.match(/[\\d.]+/g).map(Number);
                       return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const channel = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = c => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const over = (top, bottom) => ({ r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1 });
  const background = e => {
    if (!e) { return { r: 255, g: 255, b: 255, a: 1 }; }
    const c = parse(getComputedStyle(e).backgroundColor);
    return c.a >= 1 ? c : over(c, background(e.parentElement));
  };
  const results = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') || e.closest(':disabled') || !e.getClientRects().length) { continue; }
    const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own && e.tagName !== 'SELECT') { continue; }
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || Number(style.opacity) < 1) { continue; }
    const fg = over(parse(style.color), background(e));
    const l1 = luminance(fg), l2 = luminance(background(e));
    results.push([e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 30),
                  (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)]);
  }
  return results;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_has_a_contrast_of_at_least_4_5(browser, tmp_path, scheme):
    f, _ = circuit()
    a = Value(3.0, label="a")
    w = walkthrough(f * a + a, lr=0.1, target=1.0)
    path = w.save_html(tmp_path / "contrast.html")
    page = browser.new_page(viewport={"width": 1280, "height": 860}, color_scheme=scheme)
    page.set_default_timeout(10_000)
    page.goto(path.resolve().as_uri())
    measured = []
    stops = [0, len(w.forward.steps) + 2, len(w.forward.steps) + 1 + len(w.backward.steps),
             len(w.forward.steps) + len(w.backward.steps) + 1]
    for stop in stops:
        page.evaluate(f"window.chainruleWalkthrough.show({stop})")
        measured += page.evaluate(CONTRAST)
    page.click("#quiz-toggle")
    page.evaluate(f"window.chainruleWalkthrough.show({len(w.forward.steps)})")
    answer(page, "5")  # a wrong answer's feedback, then a hint
    page.locator(".question button", has_text="Hint").first.click()
    measured += page.evaluate(CONTRAST)
    answer(page, "1")
    measured += page.evaluate(CONTRAST)
    assert len(measured) > 100
    low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < 4.5]
    assert low == []
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(20, 23, 28)")


def test_a_phone_never_scrolls_sideways(browser, tmp_path):
    walk = load_demo("walkthrough").xor_walkthrough()
    path = walk.save_html(tmp_path / "xor.html")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(path.resolve().as_uri())
    total = len(walk.forward.steps) + len(walk.backward.steps) + 2
    for k in range(total):
        if k:
            page.click("#next")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, (k, width)
        assert page.evaluate("document.querySelector('#table-panel .scroll').scrollLeft") == 0
    # the equation panel starts within the first two screens
    top = page.evaluate("document.getElementById('step-panel').getBoundingClientRect().top "
                        "+ window.scrollY")
    assert top < 844
    page.click("#quiz-toggle")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390


def test_a_hostile_svg_override_neither_redirects_nor_submits(browser, tmp_path):
    # Issue 11: the old blacklist let <meta http-equiv=refresh> redirect the page and an injected
    # <form> submit; the whitelist drops both, and the CSP forbids forms and base URLs anyway.
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40">'
        '<meta http-equiv="refresh" content="0;url=https://example.com/"/>'
        '<base href="https://example.com/"/>'
        '<form id="evil" action="https://example.com/"><input name="q" value="1"/></form>'
        '<foreignObject><iframe src="https://example.com/"/></foreignObject>'
        '<g style="display:none" onclick="alert(1)"><text x="5" y="20">kept</text></g></svg>'
    )
    w = walkthrough(Value(2.0, label="x") * 3, picture=False)
    path = tmp_path / "hostile.html"
    path.write_text(w.html(svg=hostile), encoding="utf-8")
    page, problems, requests = open_page(browser, path)
    page.wait_for_timeout(500)  # a meta refresh with delay 0 would have fired by now
    assert page.url == path.resolve().as_uri()
    assert page.evaluate("document.querySelectorAll('form, meta[http-equiv=refresh], base, iframe, "
                         "foreignObject').length") == 0
    assert page.text_content("#graph svg text") == "kept"
    assert [r for r in requests if not r.startswith("file://")] == []
    assert problems == []


# -- the compact circuit -----------------------------------------------------------------------

CIRCUIT_GEOMETRY = """() => {
  const svg = document.querySelector('#circuit svg');
  const r = e => e.getBoundingClientRect();
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
                            a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const inside = (p, b) => p.x > b.left + 1 && p.x < b.right - 1 && p.y > b.top + 1 && p.y < b.bottom - 1;
  const ctm = svg.getScreenCTM();
  const points = [];
  for (const path of svg.querySelectorAll('.c-edge path')) {
    const length = path.getTotalLength();
    for (let k = 0; k <= 80; k++) {
      const p = path.getPointAtLength(length * k / 80).matrixTransform(path.getScreenCTM());
      points.push(p);
    }
  }
  for (const line of svg.querySelectorAll('.c-wire line')) {
    const m = line.getScreenCTM();
    const x1 = +line.getAttribute('x1'), x2 = +line.getAttribute('x2'), y = +line.getAttribute('y1');
    for (let k = 0; k <= 40; k++) {
      points.push(new DOMPoint(x1 + (x2 - x1) * k / 40, y).matrixTransform(m));
    }
  }
  const texts = Array.from(svg.querySelectorAll('.c-value, .c-grad, .c-symbol'))
    .filter(t => t.textContent !== '');
  const shapes = Array.from(svg.querySelectorAll('.c-gate circle, .c-gate rect'));
  const frame = r(svg);
  const labels = Array.from(svg.querySelectorAll('.c-label'))
    .filter(l => l.getAttribute('display') !== 'none');
  const problems = [];
  labels.forEach((label, k) => {
    const box = r(label.querySelector('rect')), text = r(label.querySelector('text'));
    const name = label.id + ' ' + label.textContent;
    if (text.left < box.left - 0.5 || text.right > box.right + 0.5) problems.push(name + ': text outgrows its box');
    if (box.left < frame.left || box.right > frame.right || box.top < frame.top || box.bottom > frame.bottom)
      problems.push(name + ': outside the picture');
    for (const t of texts) if (overlap(box, r(t))) problems.push(name + ': covers ' + t.textContent);
    for (const s of shapes) if (overlap(box, r(s))) problems.push(name + ': covers a gate');
    labels.slice(k + 1).forEach(o => { if (overlap(box, r(o.querySelector('rect')))) problems.push(name + ': covers ' + o.id); });
    if (points.some(p => inside(p, box))) problems.push(name + ': crossed by a wire');
  });
  // the texts themselves never collide, nor cover a gate
  texts.forEach((t, k) => {
    texts.slice(k + 1).forEach(o => { if (overlap(r(t), r(o))) problems.push(t.textContent + ' covers ' + o.textContent); });
    if (!t.classList.contains('c-symbol')) {
      for (const s of shapes) if (overlap(r(t), r(s))) problems.push(t.textContent + ' covers a gate');
    }
  });
  const scale = ctm.a;
  const smallest = Math.min(...Array.from(svg.querySelectorAll('text'))
    .map(t => parseFloat(t.getAttribute('font-size')) * scale));
  return { labels: labels.length, problems, smallest };
}"""


def circuit_graphs():
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    yield "a-over-b", walkthrough(a / b)
    x = Value(3.0, label="x")
    yield "square", walkthrough(x * x + x)
    y, _, params = load_demo("neuron").build_neuron()
    yield "neuron", walkthrough(y, lr=0.5, parameters=params.values(), target=1.0)
    yield "xor", load_demo("walkthrough").xor_walkthrough()
    ws = [Value(v, label=f"w{k + 1}") for k, v in enumerate((0.5, 0.7, 0.3))]
    xs = [Value(v, label=f"x{k + 1}") for k, v in enumerate((0.8, 0.6, 0.9))]
    yield "dot-neuron", walkthrough((dot(ws, xs) + Value(0.1, label="b")).sigmoid(), target=1.0)


@pytest.mark.parametrize("width", [1280, 390])
def test_circuit_labels_sit_on_their_edges_at_every_step(browser, tmp_path, width):
    problems: list[str] = []
    for name, w in circuit_graphs():
        assert w.circuit is not None
        page = browser.new_page(viewport={"width": width, "height": 860 if width > 400 else 844})
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(w.save_html(tmp_path / f"{name}.html").resolve().as_uri())
        assert page.is_visible("#circuit") and not page.is_visible("#graph")
        total = len(w.forward.steps) + len(w.backward.steps) + 2
        labelled = 0
        for k in range(total):
            page.evaluate(f"window.chainruleWalkthrough.show({k})")
            found = page.evaluate(CIRCUIT_GEOMETRY)
            assert found["problems"] == [], (name, width, k)
            assert found["smallest"] >= 9.99, (name, width, k)  # 10 px, to layout rounding
            step = k - len(w.forward.steps) - 1
            if 0 <= step < len(w.backward.steps):
                s = w.backward.steps[step]
                expected = sum(c.contribution is not None for c in s.contributions)
                assert found["labels"] == expected, (name, width, k)
                labelled += expected
                # the view follows the step: the gate being worked on is in sight
                gate = page.evaluate(
                    f"(() => {{ const g = document.getElementById('c-op{s.node}').getBoundingClientRect();"
                    "const c = document.getElementById('circuit').getBoundingClientRect();"
                    "return g.left >= c.left && g.right <= c.right && g.top >= c.top && "
                    "g.bottom <= c.bottom; })()")
                assert gate, (name, width, k)
            else:
                assert found["labels"] == 0
        assert labelled > 0
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"))
        assert problems == []
        page.close()


def test_the_whole_neuron_fits_at_1280_and_a_phone_zooms_and_pans(browser, tmp_path):
    y, _, params = load_demo("neuron").build_neuron()
    w = walkthrough(y, lr=0.5, parameters=params.values(), target=1.0)
    path = w.save_html(tmp_path / "neuron.html")
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(path.resolve().as_uri())
    fits = page.evaluate("(() => { const c = document.getElementById('circuit');"
                         "return [c.scrollWidth <= c.clientWidth, c.scrollHeight <= c.clientHeight]; })()")
    assert fits == [True, True]
    page.close()

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(path.resolve().as_uri())
    zoom = lambda: float(page.get_attribute("#circuit", "data-zoom"))  # noqa: E731
    assert zoom() == pytest.approx(10 / 11)  # the smallest zoom whose text is 10 px
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.focus("#zoom-in")
    page.keyboard.press("Enter")
    assert zoom() == pytest.approx(10 / 11 * 1.25)
    page.focus("#zoom-fit")
    page.keyboard.press("Enter")
    assert zoom() == pytest.approx(10 / 11)
    page.focus("#zoom-out")
    page.keyboard.press("Enter")
    assert zoom() == pytest.approx(10 / 11)  # never below readable
    page.focus("#circuit")
    page.keyboard.press("+")
    assert zoom() == pytest.approx(10 / 11 * 1.25)
    page.keyboard.press("0")
    step = page.get_attribute("body", "data-step")
    page.evaluate("document.getElementById('circuit').scrollLeft = 0")
    page.keyboard.press("ArrowRight")  # pans the picture, not the steps
    assert page.get_attribute("body", "data-step") == step
    assert page.evaluate("document.getElementById('circuit').scrollLeft") > 0
    # the graph view is one click away, and back
    page.click("#view-graph")
    assert page.is_visible("#graph") and not page.is_visible("#circuit")
    page.click("#view-circuit")
    assert page.is_visible("#circuit")
    page.close()


def test_an_svg_override_cannot_replace_the_pages_elements_and_its_own_ids_still_work(
        browser, tmp_path):
    # Issue 25: with its ids kept, the picture's <g id="walkthrough-data"> came first in the
    # page and the script read the picture's text as the walkthrough's data.
    x = Value(2.0, label="x")
    w = walkthrough(x * 3 + x, picture=False)
    decoy = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
        '<g id="walkthrough-data"><text x="5" y="20">{"nodes": [], "forward": []}</text></g>'
        '<g id="equation"><text x="5" y="35">2 + 2 = 5</text></g></svg>'
    )
    path = tmp_path / "decoy.html"
    path.write_text(w.html(svg=decoy), encoding="utf-8")
    page, problems, _ = open_page(browser, path)
    assert page.evaluate("document.getElementById('walkthrough-data').tagName") == "SCRIPT"
    assert equation_lines(page)[0] == w.forward.steps[0].equation()
    assert problems == []
    # A picture drawn elsewhere with the engine's ids (draw()) is still the page's picture.
    try:
        picture = draw(x * 3 + x, names=[n.name for n in w.forward.nodes]).svg()
    except (OSError, RuntimeError) as error:  # no graphviz here
        pytest.skip(str(error))
    path = tmp_path / "drawn.html"
    path.write_text(w.html(svg=picture), encoding="utf-8")
    page, problems, _ = open_page(browser, path)
    graph, _ = highlighted(page)
    first = w.forward.steps[0].node
    assert sorted(graph) == [f"n{first}", f"op{first}"]
    assert problems == []


# -- the templates, filled in the browser ---------------------------------------------------------

FILL_JS = Path(wording.__file__).with_name("fill.js")


@pytest.fixture(scope="module")
def fill_page(browser):  # type: ignore[no-untyped-def]
    """A blank page with the runtime and fill.js loaded, as the walkthrough page loads them."""
    page = browser.new_page()
    page.set_content("<!DOCTYPE html><html><body></body></html>")
    page.add_script_tag(content=javascript_runtime() + "\n" + FILL_JS.read_text(encoding="utf-8"))
    yield page
    page.close()


#: Floats passed to the browser as Python's repr, read with Number() (exact); inf and nan by name.
TO_NUMBER = ("t => t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t === 'nan' ? NaN "
             ": Number(t)")
EDGES = [0.0, -0.0, 1e16, -1e16, 1e15, 1e-5, -1e-5, 1e-4, 0.0001234, 123456789012345.0,
         1234567890123456.0, 2.5, 0.5, -0.0625, 0.125, 5e-324, 1.7976931348623157e308,
         math.inf, -math.inf, math.nan, 0.1 + 0.2, 1 / 3, -2 / 3, 9.9999995, 999999.5,
         0.00009999995, 1e22, 1e21, 123.456, 100.0625]


def _js_format(page, xs: list[float], digits: int) -> dict[str, list[str]]:
    return page.evaluate(
        f"""([texts, digits]) => {{
          const xs = texts.map({TO_NUMBER});
          return {{number: xs.map(x => formatNumber(x, digits)), repr: xs.map(chainruleFill.repr),
                   operand: xs.map(x => operandText(formatNumber(x, digits))),
                   short: xs.map(shortNumber)}};
        }}""", [[repr(x) for x in xs], digits])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(xs=st.lists(st.floats() | st.sampled_from(EDGES)
                   | st.floats(-1e6, 1e6).map(lambda x: round(x, 3))
                   | st.integers(-10**17, 10**17).map(float), min_size=20, max_size=80),
       digits=st.integers(1, 17))
def test_fill_js_writes_numbers_as_python_does(fill_page, xs: list[float], digits: int) -> None:
    got = _js_format(fill_page, [*EDGES, *xs], digits)
    floats = [*EDGES, *xs]
    assert got["repr"] == [repr(x) for x in floats]
    assert got["number"] == [format_number(x, digits) for x in floats]
    assert got["operand"] == [operand_text(format_number(x, digits)) for x in floats]
    assert got["short"] == [short(x) for x in floats]


#: Exact halves that Python rounds to even and JavaScript's toExponential would round up.
TIES = [(-0.0625, 2), (-0.03125, 3), (-0.015625, 4), (0.0078125, 4), (-0.0390625, 5),
        (-0.0703125, 5)]


def test_fill_js_rounds_a_half_to_even_as_python_does(fill_page) -> None:
    for x, digits in TIES:
        expected = format_number(x, digits)
        assert _js_format(fill_page, [x], digits)["number"] == [expected], (x, digits)
    assert format_number(-0.0625, 2) == "-0.062"  # not -0.063: the tie goes to the even 2


def _templates(data: Any) -> list[Any]:
    """Every template in the page's data."""
    return [part for _, part in page_parts(data) if isinstance(part, list)]


def _random_numbers(w: Any, seed: int) -> Numbers:
    """Numbers of the lesson's shape, anything from tiny to huge, some gradients exactly 0 and
    some checks unmeasured: what an edited page may hold."""
    rng = random.Random(seed)

    def x() -> float:
        kind = rng.random()
        if kind < 0.1:
            return 0.0
        if kind < 0.3:
            return float(rng.randint(-20, 20))
        return rng.choice([-1, 1]) * 10 ** rng.uniform(-20, 20)

    recorded = w.numbers
    m = len(recorded.local)
    return Numbers(
        values=tuple(x() for _ in recorded.values),
        grads=tuple(None if g is None else x() for g in recorded.grads),
        local=tuple(x() for _ in range(m)), product=tuple(x() for _ in range(m)),
        before=tuple(x() for _ in range(m)), after=tuple(x() for _ in range(m)),
        seed=x(), lr=x(), updated=tuple(x() for _ in recorded.updated), loss_after=x(),
        numeric=tuple(None if rng.random() < 0.2 else x() for _ in recorded.numeric),
        left=tuple(None if rng.random() < 0.5 else x() for _ in recorded.left),
        right=tuple(x() for _ in recorded.right),
        passed=tuple(rng.random() < 0.7 for _ in recorded.passed),
        recorded=rng.random() < 0.5,
    )


def test_fill_js_fills_every_template_as_python_does(fill_page) -> None:
    a, b, t = Value(0.0, label="a"), Value(1.3, label="b"), Value(2.0, label="t")
    hostile = Value(0.5, label='</script>"{slot}"')
    root = (a.maximum(b) * a + (a - b).relu() + a ** t + b.log() + a.abs() * hostile).tanh()
    w = walkthrough(root, lr=0.1, parameters=[a, b], picture=False)
    data = page_data(w.html())
    templates = _templates(data)
    assert len(templates) > 40 and any("choose" in str(t) for t in templates)
    for seed in range(12):
        numbers = _random_numbers(w, seed)
        digits = 1 + seed
        expected = [fill(template_from_json(t), numbers, digits) for t in templates]
        got = fill_page.evaluate(
            "([templates, numbers, digits]) => templates.map(t => fillTemplate(t, numbers, "
            "digits))", [templates, json.loads(json_for_script(numbers_json(numbers))), digits])
        assert got == expected


def _everything_shown(page, steps: int) -> list[list[str]]:
    """Each step's text, table and summary, as the page shows them."""
    shown = []
    for k in range(steps):
        page.evaluate(f"window.chainruleWalkthrough.show({k})")
        shown.append(page.eval_on_selector_all(
            "#equation .line, #grad-table td, #summary td, #summary .line, #step-title",
            "els => els.map(e => e.textContent + '|' + (e.dataset.value || ''))"))
    return shown


def test_show_numbers_fills_the_page_with_other_numbers(browser, tmp_path) -> None:
    """The page of one run, shown with the numbers of another run of the same graph, says
    what the other run's own page says, step by step; showNumbers() brings the first back."""
    def lesson(x: float, y: float) -> Any:
        a, b = Value(x, label="a"), Value(y, label="b")
        c = a * b + b.tanh()
        c.label = "c"
        return walkthrough((c * a).relu() + c, lr=0.1, parameters=[a, b])

    first, second = lesson(2.0, -3.0), lesson(-0.5, 1.25)
    steps = len(first.forward.steps) + len(first.backward.steps) + 2
    pages = {}
    for name, w in (("first", first), ("second", second)):
        page, problems, _ = open_page(browser, w.save_html(tmp_path / f"{name}.html"))
        pages[name] = (page, problems)
    page, problems = pages["first"]
    original = _everything_shown(page, steps)
    page.evaluate("numbers => window.chainruleWalkthrough.showNumbers(numbers)",
                  json.loads(json_for_script(numbers_json(second.numbers))))
    edited = _everything_shown(page, steps)
    # What holds only for the recorded numbers (the checks' count) is not said with others.
    summary = wording.check_summary(second) + "|"
    assert summary in _everything_shown(pages["second"][0], steps)[-1]
    assert summary not in edited[-1] and wording.CHECKED_AGAIN + "|" in edited[-1]
    edited[-1] = [summary if line == wording.CHECKED_AGAIN + "|" else line
                  for line in edited[-1]]
    assert edited == _everything_shown(pages["second"][0], steps)
    # The recorded leaves again (as the live page's reset computes them): the recorded page.
    page.evaluate("numbers => window.chainruleWalkthrough.showNumbers(numbers)",
                  json.loads(json_for_script(numbers_json(first.numbers))))
    assert _everything_shown(page, steps) == original
    page.evaluate("window.chainruleWalkthrough.showNumbers()")
    assert _everything_shown(page, steps) == original
    assert problems == [] and pages["second"][1] == []


def test_fill_js_uses_the_runtimes_repr_and_refuses_to_load_without_it(browser) -> None:
    """The live page's script is the program's runtime, then fill.js, in one script: no name
    is declared twice, and one pyRepr (the runtime's) writes the page; without the runtime,
    fill.js says what is missing rather than writing numbers some other way."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_content("<!DOCTYPE html><html><body></body></html>")
    page.add_script_tag(content="const pyRepr = (x) => 'repr ' + String(x);\n"
                        + FILL_JS.read_text(encoding="utf-8"))
    assert page.evaluate("formatNumber(0.5, 6)") == "repr 0.5"
    assert problems == []
    page.close()
    alone = browser.new_page()
    alone.on("pageerror", lambda error: problems.append(str(error)))
    alone.set_content("<!DOCTYPE html><html><body></body></html>")
    alone.add_script_tag(content=FILL_JS.read_text(encoding="utf-8"))
    assert alone.evaluate("typeof chainruleFill") == "undefined"
    assert len(problems) == 1 and "needs chainrule's JavaScript runtime" in problems[0]
    alone.close()
