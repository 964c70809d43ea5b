"""The training explorer page in a real headless Chromium (Debian's, driven by playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.nn import bce_with_logits

from support.browser import CONTRAST
from support.explorer import moons_run, xor_run

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]

@pytest.fixture(scope="module")
def moons_page(tmp_path_factory):
    model, X, y, history = moons_run()
    folder = tmp_path_factory.mktemp("explorer")
    return history.save_html(folder / "moons.html", model, X, y, loss=bce_with_logits,
                             walkthrough_epochs=2, grid=20, max_frames=31)


def open_page(browser, path: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri())
    return page, problems, requests


def heat(page) -> str:
    return page.eval_on_selector("#heat", "c => c.toDataURL()")


def cursor_x(page) -> str:
    return page.get_attribute("#loss-chart .cursor", "x1")


def frame(page) -> int:
    return int(page.get_attribute("body", "data-frame"))


def test_slider_moves_the_picture_the_cursor_and_the_network(browser, moons_page) -> None:
    page, problems, requests = open_page(browser, moons_page)
    last = int(page.get_attribute("#slider", "max"))
    assert last == 30 and frame(page) == 0  # 31 recorded epochs; opens at the start
    assert page.text_content("#counter") == "epoch 0 of 30"
    pictures = {heat(page)}
    boundaries = {page.get_attribute("#boundary-line", "d")}
    cursors = {cursor_x(page)}
    widths = {page.get_attribute("#network line >> nth=0", "stroke-width")}
    for k in (30, 5, 15):
        page.eval_on_selector("#slider", f"s => {{ s.value = '{k}'; s.dispatchEvent(new Event('input')); }}")
        assert frame(page) == k and page.text_content("#counter") == f"epoch {k} of 30"
        pictures.add(heat(page))
        boundaries.add(page.get_attribute("#boundary-line", "d"))
        cursors.add(cursor_x(page))
        widths.add(page.get_attribute("#network line >> nth=0", "stroke-width"))
    assert len(pictures) == 4 and len(cursors) == 4 and len(widths) == 4
    assert len(boundaries) == 4 and all(d.startswith("M") for d in boundaries)
    assert "at the last step of epoch 15" in page.text_content("#gradient-note")
    assert page.locator("#gradient-chart rect").count() == 3  # one bar per layer
    assert "Epoch 15: loss" in page.text_content("#curve-values")
    assert problems == [] and requests == [moons_page.resolve().as_uri()]
    page.close()


def test_play_runs_pauses_and_stops_at_the_end(browser, moons_page) -> None:
    page, problems, _ = open_page(browser, moons_page)
    page.eval_on_selector("#slider", "s => { s.value = '30'; s.dispatchEvent(new Event('input')); }")
    page.click("#play")  # at the end: starts again from epoch 0
    assert page.get_attribute("#play", "aria-pressed") == "true"
    assert page.text_content("#play") == "❚❚ Pause"
    page.wait_for_function("() => Number(document.body.dataset.frame) >= 3")
    page.click("#play")
    paused = frame(page)
    assert page.get_attribute("#play", "aria-pressed") == "false" and 3 <= paused < 30
    page.wait_for_timeout(700)
    assert frame(page) == paused
    page.eval_on_selector("#slider", "s => { s.value = '27'; s.dispatchEvent(new Event('input')); }")
    page.click("#play")
    page.wait_for_function("() => document.getElementById('play').getAttribute('aria-pressed') === 'false'")
    assert frame(page) == 30 and page.text_content("#play") == "▶ Play"
    assert page.text_content("#counter") == "epoch 30 of 30"
    assert problems == []
    page.close()


def test_keyboard_hover_and_walkthrough_links(browser, moons_page) -> None:
    page, problems, _ = open_page(browser, moons_page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "play"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "slider"
    page.keyboard.press("ArrowRight")
    assert frame(page) == 1
    page.keyboard.press("End")
    assert frame(page) == 30
    page.keyboard.press("Home")
    assert frame(page) == 0 and "no gradient" in page.text_content("#gradient-note")
    page.keyboard.press("Tab")  # into the network: the first unit
    assert page.text_content("#unit-title") == "layer0 · neuron 0 (tanh) at epoch 0"
    assert page.is_visible("#unit-picture")
    assert page.locator("#unit-picture circle").count() == 40
    page.hover("#network .unit >> nth=8")
    assert page.text_content("#unit-title").startswith("layer1 · neuron 2 (tanh)")
    links = page.eval_on_selector_all("#walkthroughs a", "as => as.map(a => [a.textContent, a.href])")
    assert [text for text, _ in links] == ["Sample 0: its loss at epoch 0, step by step",
                                           "Sample 1: its loss at epoch 0, step by step"]
    page.eval_on_selector("#slider", "s => { s.value = '30'; s.dispatchEvent(new Event('input')); }")
    href = page.get_attribute("#walkthroughs a >> nth=1", "href")
    assert href == "moons_steps/sample1_epoch30.html"
    page.click("#walkthroughs a >> nth=1")
    page.wait_for_load_state()
    assert page.url.endswith("moons_steps/sample1_epoch30.html")
    assert "Sample 1 (target 1) at epoch 30" in page.title()
    assert problems == []
    page.close()


def test_usable_at_390_px_with_readable_contrast(browser, moons_page, tmp_path) -> None:
    page, problems, _ = open_page(browser, moons_page, width=390)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("#play", "#slider", "#heat", "#network", "#loss-chart", "#gradient-chart"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 0 and box["x"] >= 0
        assert box["x"] + box["width"] <= 390, selector
    assert page.locator("#slider").bounding_box()["width"] >= 140
    page.hover("#network .unit >> nth=2")
    worst = page.evaluate(CONTRAST)
    assert worst and worst[0][0] >= 4.5, worst
    page.screenshot(path=str(tmp_path / "narrow.png"), full_page=True)
    assert problems == []
    page.close()


def test_xor_page_without_links_or_validation(browser, tmp_path) -> None:
    model, X, y, history = xor_run(epochs=10)
    path = history.save_html(tmp_path / "xor.html", model, X, y)
    page, problems, _ = open_page(browser, path)
    assert page.locator("#loss-chart polyline").count() == 1  # no validation curve
    assert "Give explore() (or save_html) the loss" in page.text_content("#walkthroughs")
    worst = page.evaluate(CONTRAST)
    assert worst[0][0] >= 4.5, worst
    assert problems == []
    page.close()


def test_the_inline_jupyter_view_runs_in_its_iframe(browser) -> None:
    model, X, y, history = xor_run(epochs=5)
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_content(history.explorer(model, X, y, loss=bce_with_logits)._repr_html_())
    inner = page.frame_locator("iframe")
    assert inner.locator("body").get_attribute("data-frame") == "0"  # 6 frames, the first shown
    assert inner.locator("#counter").text_content() == "epoch 0 of 5"
    assert "no files to link to" in inner.locator("#walkthroughs").text_content()
    assert problems == []
    page.close()


def test_the_loss_axis_keeps_wide_numbers_inside_the_chart(browser, tmp_path) -> None:
    # Issue 22: the loss axis's numbers were written left of a fixed 52-unit margin, so a wide
    # one (a loss of 12345.6789 or 1.23e-4) was cut off by the chart's edge.
    model, X, y, history = xor_run(epochs=5)
    explorer = history.explorer(model, X, y, loss=bce_with_logits)
    explorer.data["curves"]["loss"] = [v * 1e5 + 0.1234 for v in explorer.data["curves"]["loss"]]
    path = tmp_path / "wide.html"
    path.write_text(explorer.html(), encoding="utf-8")
    for width in (1280, 390):
        page, problems, _ = open_page(browser, path, width)
        outside = page.evaluate("""() => {
          const chart = document.getElementById('loss-chart').getBoundingClientRect();
          return Array.from(document.querySelectorAll('#loss-chart text')).filter(t => {
            const r = t.getBoundingClientRect();
            return r.left < chart.left || r.right > chart.right; }).map(t => t.textContent); }""")
        assert outside == [] and problems == []
        assert max(len(t) for t in page.eval_on_selector_all(
            "#loss-chart text", "els => els.map(e => e.textContent)")) >= 10
        page.close()
