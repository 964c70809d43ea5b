"""The live walkthrough page in a real headless Chromium: every leaf a field, the page's numbers
after an edit equal to eager Python's for the rebuilt graph, chainrule's own refusals, the
nudge, descent by hand, reset, the keyboard, contrast and a phone's width."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule.engine import ChainruleError, Value, topological_order, walkthrough
from chainrule.engine.explain.live import eager_numbers, editable_leaves, rebuilt
from chainrule.engine.explain.wording import CHECKED_AGAIN, check_summary
from chainrule.engine.naming import format_number

from support.arithmetic import check_line
from support.explain import build, graph_recipes, load_demo

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]


def open_page(browser: Any, path: Path, width: int = 1280, scheme: str = "light") -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri())
    page.problems = problems  # checked by the tests: no script error, ever
    return page


def field(page: Any, name: str) -> Any:
    """A leaf's field, found by its accessible name, as a screen reader finds it."""
    return page.get_by_role("textbox", name=name, exact=True)


def page_numbers(page: Any) -> dict[int, tuple[float, float]]:
    """The exact numbers the values table carries: node -> (value, gradient)."""
    rows = page.eval_on_selector_all(
        "#grad-table tbody tr", "rows => rows.map(r => [r.dataset.node, r.dataset.value, "
        "r.dataset.grad])")
    return {int(node): (float(value), float(grad)) for node, value, grad in rows}


def close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def assert_matches(page: Any, root: Value, leaves: dict[int, float]) -> None:
    expected = eager_numbers(root, leaves)
    shown = page_numbers(page)
    assert shown, "the values table carries no numbers"
    for i, (value, grad) in shown.items():
        assert close(value, expected.values[i]), (i, value, expected.values[i])
        python_grad = expected.grads[i]
        assert python_grad is not None
        assert close(grad, python_grad), (i, grad, python_grad)


def visible_text(page: Any) -> str:
    return page.evaluate("document.body.innerText")


def save(w: Any, folder: Path, name: str = "live.html") -> Path:
    return w.save_html(folder / name)


# -- edits on random graphs -------------------------------------------------------------------


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(recipe=graph_recipes(max_leaves=3, max_steps=8), data=st.data())
def test_edited_leaves_give_pythons_eager_numbers(browser, tmp_path_factory, recipe, data):
    built = build(recipe)
    assume(built is not None)
    root, _ = built
    try:
        w = walkthrough(root, picture=False)
    except ChainruleError:  # a gradient that overflows: no walkthrough to edit
        assume(False)
    order = topological_order(root)
    editable = editable_leaves(order)
    assume(editable)
    page = open_page(browser, save(w, tmp_path_factory.mktemp("live")))
    assert_matches(page, root, {})  # the recorded numbers, before any edit
    leaves: dict[int, float] = {}
    for _ in range(2):
        i = data.draw(st.sampled_from(editable))
        x = data.draw(st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3)))
        field(page, w.forward.nodes[i].name).fill(repr(x))
        try:
            eager_numbers(root, {**leaves, i: x})
        except ChainruleError as refusal:
            # The page says Python's sentence and keeps the last valid numbers.
            assert page.locator("#live-error").text_content() == str(refusal)
            assert page.evaluate("document.body.classList.contains('stale')")
            assert_matches(page, root, leaves)
            field(page, w.forward.nodes[i].name).fill(repr(order[i].data))  # back
            continue
        leaves[i] = x
        assert page.locator("#live-error").is_hidden()
        assert_matches(page, root, leaves)
    assert "NaN" not in visible_text(page)
    assert page.problems == []
    page.close()


# -- refusals, reset ----------------------------------------------------------------------------


def log_graph() -> Value:
    """f = log(x) * y at x = 2, y = 3."""
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    return x.log() * y


def test_a_domain_error_shows_pythons_sentence_and_keeps_the_numbers_greyed(browser, tmp_path):
    f = log_graph()
    page = open_page(browser, save(walkthrough(f, picture=False), tmp_path))
    before = page_numbers(page)
    field(page, "x").fill("-1")
    with pytest.raises(ChainruleError) as python:
        (Value(-1.0).log() * 3.0)  # the sentence Python raises for these numbers
    banner = page.locator("#live-error")
    assert banner.is_visible() and banner.text_content() == str(python.value)
    assert banner.text_content() == "log: log(-1.0) is undefined: log needs x > 0"
    assert page.evaluate("document.body.classList.contains('stale')")
    assert page_numbers(page) == before  # the last valid numbers, kept
    assert "NaN" not in visible_text(page) and "nan" not in visible_text(page).split()
    # Back in the domain: the refusal goes, the numbers follow.
    field(page, "x").fill("4")
    assert banner.is_hidden()
    assert not page.evaluate("document.body.classList.contains('stale')")
    assert any(close(v, math.log(4.0) * 3.0) for v, _ in page_numbers(page).values())
    assert page.problems == []


def test_text_that_is_not_a_number_is_refused_not_computed(browser, tmp_path):
    f = log_graph()
    page = open_page(browser, save(walkthrough(f, picture=False), tmp_path))
    before = page_numbers(page)
    for text in ("abc", "1e", "", "--2", "1e999"):
        field(page, "y").fill(text)
        assert field(page, "y").get_attribute("aria-invalid") == "true"
        why = page.locator("#leaf-" + field(page, "y").get_attribute("data-node") + "-why")
        assert "number" in why.text_content().lower(), text
        assert page_numbers(page) == before
    field(page, "y").fill("−2")  # a typographic minus reads as a minus
    assert field(page, "y").get_attribute("aria-invalid") is None
    assert any(close(v, math.log(2.0) * -2.0) for v, _ in page_numbers(page).values())
    assert "NaN" not in visible_text(page)
    assert page.problems == []


def test_reset_returns_to_the_recorded_values(browser, tmp_path):
    f = log_graph()
    w = walkthrough(f, picture=False)
    page = open_page(browser, save(w, tmp_path))
    recorded = page_numbers(page)
    step_text = page.locator("#step-panel").inner_text()
    assert page.locator("#reset").is_disabled()
    field(page, "x").fill("5")
    field(page, "y").fill("-1")
    assert page_numbers(page) != recorded
    page.click("#reset")
    assert page_numbers(page) == recorded
    assert field(page, "x").input_value() == "2.0" and field(page, "y").input_value() == "3.0"
    assert page.locator("#step-panel").inner_text() == step_text
    assert page.locator("#reset").is_disabled()
    # After a refusal, too.
    field(page, "x").fill("0")
    assert page.locator("#live-error").is_visible()
    page.click("#reset")
    assert page.locator("#live-error").is_hidden() and page_numbers(page) == recorded
    assert page.problems == []


def test_a_long_tables_rows_out_of_view_catch_up_with_the_edit(browser, tmp_path):
    """A table of more than 200 rows writes the rows out of view over the next frames: once
    they are written, the table is the one a full redraw at those numbers shows, and its exact
    numbers are eager Python's."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(80):
        y = (y * 0.9).tanh() + x
    page = open_page(browser, save(walkthrough(y, picture=False), tmp_path))
    assert page.locator("#grad-table tbody tr").count() > 200
    page.evaluate("chainruleWalkthrough.show(chainruleWalkthrough.firstBackward + 60)")
    field(page, "x").fill("0.25")
    page.wait_for_function("() => !chainruleWalkthrough.pendingRows()")
    written = page.locator("#grad-table").inner_html()
    assert_matches(page, y, {0: 0.25})
    page.evaluate("chainruleWalkthrough.show(chainruleWalkthrough.current())")
    assert page.locator("#grad-table").inner_html() == written
    assert page.problems == []


# -- the text after an edit ---------------------------------------------------------------------


def test_after_an_edit_every_equation_on_every_step_holds(browser, tmp_path):
    neuron = load_demo("walkthrough").neuron_walkthrough()
    page = open_page(browser, save(neuron, tmp_path))
    first = page.locator("#leaf-fields input").first
    name = page.eval_on_selector("#leaf-fields input", "e => e.labels[0].textContent")
    recorded_lines = []
    total = len(neuron.forward.steps) + len(neuron.backward.steps) + 2
    for k in range(total):
        page.evaluate(f"window.chainruleWalkthrough.show({k})")
        recorded_lines.append(page.locator("#step-panel").inner_text())
    first.fill("0.37")
    checked = 0
    changed = 0
    for k in range(total):
        page.evaluate(f"window.chainruleWalkthrough.show({k})")
        text = page.locator("#step-panel").inner_text()
        changed += text != recorded_lines[k]
        for line in text.splitlines():
            checked += check_line(line, neuron.digits).equalities
    assert changed > total // 2, f"editing {name} changed little of the text"
    assert checked > 20
    assert "NaN" not in visible_text(page)
    assert page.problems == []


def test_an_edited_page_says_what_a_page_recorded_at_those_values_says(browser, tmp_path):
    """The lesson's templates filled in the browser with the live numbers give, at every step,
    the very text Python writes for the graph rebuilt with the new leaf value; only the count
    of agreeing checks, which is said with the recorded numbers alone, gives way to the note
    that each check is made again (its verdict in the table)."""
    neuron = load_demo("walkthrough").neuron_walkthrough()
    (x1,) = [n.index for n in neuron.forward.nodes if n.name == "x1"]
    rebuilt_root = rebuilt(neuron.order[-1], {x1: 0.37})
    order = topological_order(rebuilt_root)
    fresh = walkthrough(rebuilt_root, lr=neuron.lr, parameters=[order[u.node] for u in
                                                                 neuron.updates],
                        title=neuron.title)
    edited = open_page(browser, save(neuron, tmp_path))
    field(edited, "x1").fill("0.37")
    recorded = open_page(browser, save(fresh, tmp_path, "fresh.html"))
    total = len(neuron.forward.steps) + len(neuron.backward.steps) + 2
    for k in range(total):
        for page in (edited, recorded):
            page.evaluate(f"window.chainruleWalkthrough.show({k})")
        assert (edited.locator("#step-panel").inner_text()
                == recorded.locator("#step-panel").inner_text().replace(
                    check_summary(fresh), CHECKED_AGAIN)), k
        assert (edited.locator("#grad-table").inner_text()
                == recorded.locator("#grad-table").inner_text()), k
    assert edited.problems == [] and recorded.problems == []


# -- the nudge ----------------------------------------------------------------------------------


def test_the_nudge_measures_the_slope_beside_the_gradient(browser, tmp_path):
    f = log_graph()
    w = walkthrough(f, picture=False)
    page = open_page(browser, save(w, tmp_path))
    page.select_option("#nudge-leaf", label="x")
    quotients = page.eval_on_selector_all("#nudge-table tbody td[data-value]",
                                          "cells => cells.map(c => Number(c.dataset.value))")
    for h, quotient in zip((0.1, 0.01, 0.001), quotients, strict=True):
        expected = (math.log(2.0 + h) * 3.0 - math.log(2.0) * 3.0) / h
        assert close(quotient, expected), (h, quotient, expected)
    gradient = 3.0 / 2.0
    predicted = page.locator("#nudge-predicted").text_content()
    assert predicted == (f"nudging x by +0.01 moves f by about {format_number(gradient)} × 0.01 "
                         f"= {format_number(gradient * 0.01)}")
    # The panel follows an edit: at x = 4 the gradient is 3/4.
    field(page, "x").fill("4")
    assert "0.75 × 0.01 = 0.0075" in page.locator("#nudge-predicted").text_content()
    # Where a nudge leaves the domain, the refusal is said, not computed: sqrt at 0.05, nudged
    # by -0.1, is undefined; the page nudges by +h, so the case is a leaf at -0.05.
    assert page.problems == []


def test_a_nudge_out_of_the_domain_says_why(browser, tmp_path):
    x = Value(0.0005, label="x")
    f = (x - 0.001).abs().sqrt() + (0.002 - x).log()
    w = walkthrough(f, picture=False)
    page = open_page(browser, save(w, tmp_path))
    cells = page.eval_on_selector_all("#nudge-table tbody tr td:last-child",
                                      "cells => cells.map(c => c.textContent)")
    # x + 0.1 and x + 0.01 leave log's domain (0.002 - x <= 0); x + 0.001 does not.
    assert cells[0].startswith("f(x + 0.1) is undefined: log: log(")
    assert cells[1].startswith("f(x + 0.01) is undefined: log: log(")
    assert "undefined" not in cells[2]
    assert page.problems == []


# -- descent by hand ----------------------------------------------------------------------------


def test_descent_by_hand_steps_as_python_does_and_draws_the_loss(browser, tmp_path):
    demo = load_demo("walkthrough")
    w = demo.neuron_walkthrough()  # lr 0.5, target 1
    page = open_page(browser, save(w, tmp_path))
    assert page.locator("#lr").input_value() == repr(demo.LEARNING_RATE)
    page.click("#descend")
    steps = page.locator("#descent-steps li")
    assert steps.count() == 1
    assert w.loss_after is not None
    assert steps.first.text_content() == (
        f"step 1: L went from {format_number(w.loss_before)} to {format_number(w.loss_after)} "
        f"({format_number(w.loss_after - w.loss_before)})")
    # The fields hold the updated parameters, exactly Python's.
    for update in w.updates:
        assert float(field(page, update.name).input_value()) == update.after
    root = w.forward.nodes[w.forward.root].value
    assert root == w.loss_before
    page.click("#descend")
    page.locator("#lr").press("Enter")  # the keyboard steps too
    assert steps.count() == 3
    assert page.locator("#loss-curve svg circle").count() == 4
    losses = [float(t.split(" to ")[1].split(" (")[0]) for t in steps.all_text_contents()]
    assert losses == sorted(losses, reverse=True)  # a small enough lr: the loss falls
    assert page.problems == []


def test_a_too_large_lr_is_refused_with_pythons_sentence(browser, tmp_path):
    w1, x = Value(3.0, label="w"), Value(2.0, label="x")
    prediction = w1 * x
    page = open_page(browser, save(walkthrough(prediction, target=1.0), tmp_path))
    with pytest.raises(ChainruleError) as python:  # dL/dw = 20: the step overflows
        walkthrough(prediction, lr=1e308, target=1.0)
    page.fill("#lr", "1e308")
    page.click("#descend")
    assert page.locator("#descent-error").text_content() == str(python.value)
    assert "choose a smaller lr" in str(python.value)
    assert page.locator("#descent-steps li").count() == 0
    # The other refusal: the step itself is finite, the forward pass after it is not defined.
    w2 = Value(0.5, label="w")
    loss = (w2.log() + 3.0) ** 2
    loss.label = "L"
    page = open_page(browser, save(walkthrough(loss, parameters=[w2]), tmp_path, "log.html"))
    with pytest.raises(ChainruleError) as python:
        walkthrough(loss, lr=1.0, parameters=[w2])
    page.fill("#lr", "1")
    page.click("#descend")
    assert page.locator("#descent-error").text_content() == str(python.value)
    assert "the forward pass after the gradient-descent step fails (log: " in str(python.value)
    assert page.problems == []


# -- the quiz stays on the recorded values ------------------------------------------------------


def test_while_edited_the_quiz_says_it_asks_about_the_recorded_values(browser, tmp_path):
    f = log_graph()
    page = open_page(browser, save(walkthrough(f, picture=False), tmp_path))
    page.click("#quiz-toggle")
    assert page.locator("#quiz-note").is_hidden()
    field(page, "x").fill("3")
    assert page.locator("#quiz-note").is_visible()
    assert "recorded values" in page.locator("#quiz-note").text_content()
    page.click("#quiz-reset")
    assert page.locator("#quiz-note").is_hidden()
    assert field(page, "x").input_value() == "2.0"
    assert page.problems == []


# -- keyboard, contrast, phone ------------------------------------------------------------------


def test_the_keyboard_alone_edits_nudges_steps_and_resets(browser, tmp_path):
    demo = load_demo("walkthrough")
    w = demo.neuron_walkthrough()
    page = open_page(browser, save(w, tmp_path))
    recorded = page_numbers(page)
    first = page.locator("#leaf-fields input").first
    first.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.25")
    assert page_numbers(page) != recorded
    reached = set()
    for _ in range(60):  # Tab onwards: every live control is reached
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
        if page.evaluate("document.activeElement.id") == "reset":
            page.keyboard.press("Enter")
            break
    assert page_numbers(page) == recorded
    page.focus("#nudge-leaf")
    page.keyboard.press("ArrowDown")
    assert page.eval_on_selector("#nudge-leaf", "s => s.selectedIndex") == 1
    page.focus("#lr")
    page.keyboard.press("Enter")
    assert page.locator("#descent-steps li").count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "descend"
    page.keyboard.press("Enter")
    assert page.locator("#descent-steps li").count() == 2
    assert page.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_live_panels_have_a_contrast_of_at_least_4_5(browser, tmp_path, scheme):
    from test_walkthrough_browser import CONTRAST

    demo = load_demo("walkthrough")
    page = open_page(browser, save(demo.neuron_walkthrough(), tmp_path), scheme=scheme)
    measured = page.evaluate(CONTRAST)
    page.locator("#leaf-fields input").first.fill("abc")  # the field's own refusal
    page.click("#descend")
    measured += page.evaluate(CONTRAST)
    page.click("#reset")
    page.click("#descend")
    page.click("#descend")
    page.fill("#lr", "abc")
    page.click("#descend")  # the descent's refusal, the steps and the curve
    measured += page.evaluate(CONTRAST)
    page.locator("#leaf-fields input").first.fill("1e300")
    measured += page.evaluate(CONTRAST)
    page.click("#quiz-toggle")
    measured += page.evaluate(CONTRAST)
    panels = [text for text, _ in measured if any(
        word in text for word in ("Nudge", "Descent", "step 1", "not a number", "choose a "
                                  "smaller lr", "recorded"))]
    assert len(panels) >= 5, panels
    low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < 4.5]
    assert low == []
    assert page.problems == []


def test_a_phone_never_scrolls_sideways_with_the_live_panels(browser, tmp_path):
    walk = load_demo("walkthrough").xor_walkthrough()
    page = open_page(browser, save(walk, tmp_path), width=390)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.locator("#leaf-fields input").first.fill("-0.123456789012345")
    for _ in range(4):
        page.click("#descend")
    page.fill("#lr", "a lot")
    page.click("#descend")
    assert page.locator("#descent-error").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    for selector in ("#live-panel", "#nudge-panel", "#descent-panel"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    assert page.problems == []
