"""The worksheet (engine/explain/worksheet.py): the complaints of issue 24 as tests, then what a
sheet worth handing out needs: the circuit, blanks only for what takes work, distinct
prompts, questions about meaning, a printable page and a key whose every equation is true."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from chainrule.engine import Value, walkthrough
from chainrule.engine.explain.feedback import mistakes
from chainrule.engine.explain.quiz import questions
from chainrule.engine.explain.worksheet import (
    Blank,
    Given,
    build_sheet,
    circuit_path,
    mistake_text,
    worksheet_html,
    worksheet_markdown,
)

from support.arithmetic import Report, check_line, unescape_markdown
from support.browser import CONTRAST
from support.explain import graph_recipes, load_demo, recipe_walkthrough


@pytest.fixture(scope="module")
def neuron() -> Any:
    return load_demo("walkthrough").neuron_walkthrough()


def x_squared_plus_x() -> Any:
    x = Value(3.0, label="x")
    return walkthrough(x * x + x, picture=False)


def key_of(markdown: str) -> str:
    return markdown.split("## Answer key", 1)[1]


def checked(text: str, digits: int = 6) -> Report:
    """Every line of a sheet through the arithmetic checker (code spans read as plain text)."""
    report = Report()
    for line in text.splitlines():
        report += check_line(unescape_markdown(line.replace("`", "")), digits)
    return report


# -- the complaints --------------------------------------------------------------------------


def test_the_seed_neuron_has_a_blank_only_for_what_takes_work(neuron) -> None:
    sheet = build_sheet(neuron)
    blanks = sheet.blanks
    # Before: 55 blanks (9 forward values, the seed, 15 gradients, and a local derivative and
    # a contribution for each of the 15 inputs), about 20 repeating a number just written.
    assert len(blanks) == 9
    assert [b.kind for b in blanks] == ["gradient", "local"] + ["gradient"] * 7
    # No blank repeats a number written in the three blanks before it, nor the seed.
    for k, blank in enumerate(blanks):
        assert blank.answer_text not in [b.answer_text for b in blanks[max(0, k - 3):k]]
        assert blank.answer != neuron.backward.seed
    # The forward pass is given (with its numbers), not asked.
    markdown = worksheet_markdown(sheet)
    assert "- `n1 = w1 * x1 = 0.5 * 0.8 = 0.4`" in markdown
    # An add hands its upstream gradient on: said once, not asked again.
    assert ("- `dL/dn5 = dL/dz × d/dn5 (n5 + b) = dL/dz` (passed on unchanged: d/dn5 (n5 + b) "
            "is 1)") in markdown
    # Each step says where its upstream gradient was found.
    assert "### Step 6: `n4 = w3 * x3`, upstream `dL/dn4` = #3" in markdown


def test_every_gradient_is_on_the_sheet_asked_or_said(neuron) -> None:
    for w in (neuron, x_squared_plus_x()):
        sheet = build_sheet(w)
        text = worksheet_markdown(sheet).split("## What the numbers mean")[0]
        for info in w.forward.nodes:
            if info.is_constant or info.index == w.backward.root:
                continue
            name = f"d{w.root_name}/d{info.name}"
            assert re.search(rf"`{re.escape(name)} = ", text), name


def test_x_times_x_plus_x_never_asks_the_same_thing_twice() -> None:
    w = x_squared_plus_x()
    sheet = build_sheet(w)
    texts = [b.text for b in sheet.blanks]
    assert len(set(texts)) == len(texts)
    assert texts == [
        "df/dx, use 2 of 3 (the 1st x of n1): df/dn1 × d/dx (x * x)",
        "df/dx, use 3 of 3 (the 2nd x of n1): df/dn1 × d/dx (x * x)",
        "df/dx, the sum of its 3 contributions: df/dx = df/df + #1 + #2",
    ]
    assert [b.answer for b in sheet.blanks] == [3.0, 3.0, 7.0]
    # The use handed on unchanged is said, with which use it is.
    (given,) = [line for line in sheet.steps[0].lines
                if isinstance(line, Given) and "use 1 of 3" in line.note]
    assert given.equation == "df/df × d/dx (n1 + x) = df/df"


def test_a_routing_gates_rule_does_not_give_its_blank_away() -> None:
    a, b = Value(-1.0, label="a"), Value(2.0, label="b")
    w = walkthrough(a.relu() * b + a, picture=False)
    sheet = build_sheet(w)
    (relu,) = [s for s in sheet.steps if s.operation == "n1 = relu(a)"]
    assert relu.rule is None and "blocks" not in worksheet_markdown(sheet).split("## Answer")[0]
    assert next(b.text for b in relu.lines if isinstance(b, Blank)) == "dn1/da = d/da relu(a)"
    assert "blocks" in (w.backward.steps[-1].rule or "")  # the page's rule, for comparison


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=graph_recipes(max_steps=8))
def test_a_random_graphs_sheet_has_distinct_prompts_and_only_true_equations(recipe) -> None:
    made = recipe_walkthrough(recipe)
    if made is None:
        return
    w, _ = made
    for steps in (True, False):
        sheet = build_sheet(w, steps=steps)
        texts = [b.text for b in sheet.blanks]
        assert len(set(texts)) == len(texts), texts
        assert [b.number for b in sheet.blanks] == list(range(1, len(texts) + 1))
        markdown = worksheet_markdown(sheet)
        checked(markdown)
        # Every blank is in the key, with its answer.
        key = key_of(markdown)
        for blank in sheet.blanks:
            assert f"\n{blank.number}. **{blank.answer_text}**: " in key


def test_without_steps_only_gradients_are_asked(neuron) -> None:
    x = x_squared_plus_x()
    assert [b.kind for b in build_sheet(x, steps=False).blanks] == ["gradient"]
    assert build_sheet(x, steps=False).blanks[0].text == (
        "df/dx, the sum of its 3 contributions: "
        "df/dx = df/df + df/dn1 × d/dx (x * x) + df/dn1 × d/dx (x * x)")
    assert {b.kind for b in build_sheet(neuron, steps=False).blanks} == {"gradient"}


# -- the circuit -----------------------------------------------------------------------------


def test_the_markdown_shows_the_circuit_as_an_image(neuron, tmp_path: Path) -> None:
    markdown = neuron.worksheet()
    found = re.search(r"^!\[The circuit of L: [^\]]*\]\(data:image/svg\+xml;base64,([^)]*)\)$",
                      markdown, re.M)
    assert found is not None
    svg = base64.b64decode(found.group(1)).decode("utf-8")
    assert svg.startswith("<svg") and ">w1 = 0.5<" in svg and ">y = 0.7667<" in svg
    # Saved: the SVG beside the Markdown, linked by its name.
    path = neuron.save_worksheet(tmp_path / "sheet.md")
    image = circuit_path(path)
    assert image.name == "sheet-circuit.svg" and image.read_text(encoding="utf-8") == svg
    assert "](sheet-circuit.svg)" in path.read_text(encoding="utf-8")
    spaced = neuron.save_worksheet(tmp_path / "my sheet.md")
    assert "](<my sheet-circuit.svg>)" in spaced.read_text(encoding="utf-8")
    # The HTML page carries it inline.
    page = neuron.worksheet_html()
    assert page.count("<svg") == 1 and ">x3 = 0.9<" in page


def test_a_graph_too_big_for_a_circuit_says_so(tmp_path: Path) -> None:
    xs = [Value(0.1 * k, label=f"x{k}") for k in range(30)]
    ws = [Value(0.2, label=f"w{k}") for k in range(30)]
    total = xs[0] * ws[0]
    for x, w in zip(xs[1:], ws[1:], strict=True):
        total = total + x * w
    sheet = build_sheet(walkthrough(total, picture=False))
    assert sheet.circuit is None
    note = "too many to draw as a circuit on a page"
    assert note in worksheet_markdown(sheet) and "![" not in worksheet_markdown(sheet)
    assert note in worksheet_html(sheet) and "<svg" not in worksheet_html(sheet)
    written = walkthrough(total, picture=False).save_worksheet(tmp_path / "big.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == [written.name]


# -- meaning ---------------------------------------------------------------------------------


def test_the_questions_about_meaning_come_from_the_graphs_numbers(neuron) -> None:
    meanings = build_sheet(neuron).meanings
    assert [m.number for m in meanings] == [10, 11, 12, 13]
    sign, largest, doubling, descent = meanings
    assert sign.prompt.startswith("If w1 is made a little larger, does L go up or down?")
    assert "dL/dw1 (your answer #8)" in sign.prompt
    assert sign.answer.startswith("Down: dL/dw1 = -0.0667491 < 0")
    grads = {n.name: neuron.backward.gradients[n.index] for n in neuron.forward.nodes
             if n.kind == "input"}
    top = max(grads, key=lambda name: abs(grads[name]))
    assert largest.answer.startswith(f"{top}: its gradient is the largest in size")
    assert ("to n5: 2 × (-0.0834364) = -0.166873; to b: 2 × (-0.0834364) = -0.166873."
            in doubling.answer)
    assert descent.answer.startswith("w1 = 0.5 - 0.5 × (-0.0667491) = 0.533375: it moved up")
    fan_out = build_sheet(x_squared_plus_x()).meanings
    assert any(m.prompt.startswith("x is used 3 times.") and m.answer.endswith(
        "df/dx = 1 + 3 + 3 = 7.") for m in fan_out)
    # Every answer's equations hold, and each answer is in the key.
    key = key_of(neuron.worksheet())
    for m in meanings:
        assert check_line(m.answer).equalities + check_line(m.answer).comparisons >= 1
        assert f"{m.number}. {m.answer}" in key


# -- the Markdown ----------------------------------------------------------------------------


def test_the_markdown_reads_as_well_raw_as_rendered(neuron) -> None:
    markdown = neuron.worksheet(image="sheet-circuit.svg")
    assert "\\" not in markdown and "&lt;" not in markdown and "&gt;" not in markdown
    assert "1. `dL/derror = dL/dL × d/derror (error ** 2)` = ____________" in markdown
    # A label with Markdown's marks in it is still shown literally.
    a = Value(2.0, label="a_*b*")
    odd = walkthrough(a * a, picture=False, title="the *odd* <label>").worksheet()
    assert odd.startswith("# Worksheet: the \\*odd\\* &lt;label>\n")


def test_every_equation_on_the_sheet_and_in_the_key_is_true(neuron) -> None:
    for w in (neuron, x_squared_plus_x()):
        markdown = w.worksheet()
        report = checked(markdown)
        assert report.equalities >= len(w.forward.steps) + len(build_sheet(w).blanks)
        page = re.sub(r"<svg.*?</svg>", "", w.worksheet_html(), flags=re.S)
        text = html.unescape(re.sub(r"<(?:li|p|h\d)[^>]*>", "\n", page))
        assert checked(re.sub(r"<[^>]+>", "", text)).equalities >= report.equalities


def test_the_key_names_the_common_mistakes(neuron) -> None:
    key = key_of(neuron.worksheet())
    assert ("   - 0.8 is the local derivative d/dw1 (w1 * x1) alone: multiply it by the "
            "upstream gradient dL/dn1 (chain rule)") in key
    assert "   - -0.0834364 is the upstream gradient dL/dn1 passed on unchanged" in key
    assert "   - 0.0667491: right size, wrong sign" in key
    assert "   - 0.5 is the value of w1 from the forward pass, not its gradient" in key
    # Every mistake the feedback engine recognises for each blank's question is listed.
    for w in (neuron, x_squared_plus_x()):
        sheet = build_sheet(w)
        listed = "\n".join(m for b in sheet.blanks for m in b.mistakes)
        quiz = questions(w, steps=True, times="×")
        by_answer = {b.number: b for b in sheet.blanks}
        for blank in by_answer.values():
            assert blank.mistakes, blank
        for q in quiz:
            if q.kind == "gradient" and q.node != w.backward.root and any(
                    b.kind == "gradient" and b.prompt.startswith(
                        f"d{w.root_name}/d{w.forward.nodes[q.node].name} = ")
                    for b in sheet.blanks):
                for m in mistakes(w, q):
                    assert mistake_text(w, m) in listed
        partial = [m for m in listed.splitlines() if "adds up only" in m]
        assert bool(partial) == (w is not neuron)  # a fan-out summed in part


# -- the page --------------------------------------------------------------------------------


def test_the_page_is_self_contained_and_printable(neuron) -> None:
    page = neuron.worksheet_html()
    assert "<script" not in page and "<input" not in page and "<button" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "default-src 'none'" in page  # nothing may be loaded
    assert "@media print" in page and "break-before: page" in page
    sheet = build_sheet(neuron)
    for blank in sheet.blanks:
        assert f'<li class="blank" value="{blank.number}">' in page
    assert page.index('id="answer-key"') > page.index("What the numbers mean")


def test_save_worksheet_writes_html_for_an_html_path(neuron, tmp_path: Path) -> None:
    path = neuron.save_worksheet(tmp_path / "sheet.html")
    assert path.read_text(encoding="utf-8") == neuron.worksheet_html()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.html"]


def test_a_blank_is_a_dataclass_with_its_answer_written_as_the_sheet_writes_numbers(
        neuron) -> None:
    first = build_sheet(neuron).blanks[0]
    assert isinstance(first, Blank)
    assert (first.number, first.answer_text) == (1, "-0.466518")
    assert first.worked.startswith("d/derror (error ** 2) = 2 * error^(2 - 1) = ")


# -- in a browser ----------------------------------------------------------------------------

@pytest.mark.browser
def test_the_page_in_chromium_reads_prints_and_fits_a_phone(browser, neuron, tmp_path) -> None:
    path = neuron.save_worksheet(tmp_path / "sheet.html")
    problems: list[str] = []
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(r.url) if not r.url.startswith("file:")
                else None)
        page.goto(path.resolve().as_uri())
        assert page.locator("svg.circuit").count() == 1
        assert page.locator("li.blank").count() == len(build_sheet(neuron).blanks)
        measured = page.evaluate(CONTRAST)
        assert len(measured) > 100
        assert [(text, round(ratio, 2)) for ratio, text in measured if ratio < 4.5] == []
        # No sideways scroll: the page is exactly as wide as the window.
        assert page.evaluate("document.documentElement.scrollWidth") == width
        page.screenshot(path=str(tmp_path / f"worksheet-{width}.png"), full_page=True)
        page.close()
    page = browser.new_page(viewport={"width": 800, "height": 1100})
    page.goto(path.resolve().as_uri())
    page.emulate_media(media="print")
    placed = page.evaluate("""() => {
      const key = document.getElementById('answer-key');
      const blanks = [...document.querySelectorAll('li.blank, .meaning li')];
      return {breakBefore: getComputedStyle(key).breakBefore,
              keyTop: key.getBoundingClientRect().top,
              lastBlank: Math.max(...blanks.map(b => b.getBoundingClientRect().bottom)),
              stepsWhole: [...document.querySelectorAll('.step')].every(
                  s => getComputedStyle(s).breakInside === 'avoid')};
    }""")
    assert placed["breakBefore"] == "page" and placed["stepsWhole"]
    assert placed["keyTop"] > placed["lastBlank"]
    page.screenshot(path=str(tmp_path / "worksheet-print.png"), full_page=True)
    pdf = page.pdf(format="A4")
    # The heading and the wide circuit on a landscape first page, the rest portrait.
    boxes = re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert len(boxes) >= 3
    assert float(boxes[0][0]) > float(boxes[0][1]) and float(boxes[1][0]) < float(boxes[1][1])
    page.close()
    assert problems == []
