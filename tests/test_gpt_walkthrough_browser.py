"""The tiny GPT's walkthrough page in a real headless Chromium: it loads with its picture,
steps with the keyboard to the end, and its final gradients are the engine's."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.engine import topological_order, walkthrough
from chainrule.nn import GPT, CharTokenizer

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]


def test_tiny_gpt_walkthrough_in_the_browser(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'chainrule[browser]'")
    tok = CharTokenizer(["ab", "ba"])
    model = GPT(tok.vocab_size, n_embd=4, n_head=1, n_layer=1, block_size=2, mlp_width=4, seed=0)
    loss = model.loss(tok.encode("a")[:2])
    steps = walkthrough(loss, lr=0.1)
    path = steps.save_html(tmp_path / "tiny_gpt.html")
    total = len(steps.forward.steps) + len(steps.backward.steps) + 2
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(path.resolve().as_uri())
            assert page.get_attribute("#slider", "max") == str(total - 1)
            if steps.svg is not None:
                assert page.locator("svg g.node").count() > 200  # the whole graph is drawn
            # The page fits a phone's width: only the graph scrolls sideways, inside its frame.
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 390
            page.keyboard.press("End")
            assert page.get_attribute("body", "data-phase") == "summary"
            page.screenshot(path=str(tmp_path / "summary.png"))
            loss.backward()
            engine = {i: node.grad for i, node in enumerate(topological_order(loss))
                      if not node.is_constant}  # constants get no gradient and no row
            shown = page.eval_on_selector_all(
                "#grad-table tbody tr", "rows => rows.map(r => [r.dataset.node, "
                "r.querySelector('.grad').dataset.value])")
            assert {int(i): float(g) for i, g in shown} == engine
            checks = page.eval_on_selector_all("#checks tbody tr",
                                               "rows => rows.map(r => r.cells[3].textContent)")
            assert checks and all(c == "✓ pass" for c in checks)
            assert problems == []
        finally:
            browser.close()
