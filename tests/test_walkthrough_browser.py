"""The walkthrough page in a real headless Chromium (Debian's, driven by playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_explain import load_demo

from chainrule.engine import Value, topological_order, walkthrough
from chainrule.engine.explain import wording

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at "
                       "/usr/bin/chromium (make system-deps installs it)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'chainrule[browser]'")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    problems: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri())
    return page, problems, requests


def equation_lines(page) -> list[str]:
    return page.eval_on_selector_all("#equation .line", "els => els.map(e => e.textContent)")


def highlighted(page) -> tuple[list[str], list[str]]:
    """Ids of the highlighted graph nodes and of the highlighted table rows."""
    graph = page.eval_on_selector_all("#graph g.node.current", "els => els.map(e => e.id)")
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
    assert equation_lines(page)[0] == forward[0].equation() == "n2 = w1 * x1 = 0.5 * 0.8 = 0.4"
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
            assert equation_lines(page)[0] == "dy/dy = 1.0"
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
            assert pending == ("" if not step.pending else
                               "Still pending (more contributions to come): "
                               + wording.pending_names(w, step))
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
    assert sums == ["dc/da = 0.0 + 2.0 = 2.0", "dc/da = 2.0 + 2.0 = 4.0"]
    assert page.text_content("#grad-table #row0 .grad") == "4.0"
    page.keyboard.press("ArrowLeft")  # c = b + b: b's running sum, 0 -> 1 -> 2
    sums = page.eval_on_selector_all(".contribution .sum", "els => els.map(e => e.textContent)")
    assert sums == ["dc/db = 0.0 + 1.0 = 1.0", "dc/db = 1.0 + 1.0 = 2.0"]
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
