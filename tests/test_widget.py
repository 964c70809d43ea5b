"""``walkthrough(...).widget()``: the live page as an anywidget widget. Its model state from
Python, in a real Jupyter kernel (nbclient), and its ES module rendered in Chromium with a model
that stands for a notebook's."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from chainrule.engine import ChainruleError, Value, walkthrough
from chainrule.engine.explain import widget as widget_module
from chainrule.engine.explain.live import eager_numbers

pytest.importorskip("anywidget", reason="pip install 'chainrule[widget]'")

CHROMIUM = Path("/usr/bin/chromium")


def neuron() -> tuple[Value, Any]:
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.25, label="b")
    y = (w * x + b).tanh()
    y.label = "y"
    return y, walkthrough(y, target=1.0, picture=False)


def test_the_leaves_are_readable_and_settable_by_name() -> None:
    _, w = neuron()
    live = w.widget()
    assert live.leaves == {"w": -0.5, "x": 2.0, "b": 0.25}
    assert live.output == w.loss_before and live.error == ""
    live.leaves = {"w": 0.75}  # the other leaves stay
    assert live.leaves == {"x": 2.0, "w": 0.75, "b": 0.25}
    y = (Value(0.75) * 2.0 + 0.25).tanh()
    assert live.values["y"] == y.data
    assert live.output == (y.data - 1.0) ** 2
    (at,) = [n.index for n in w.forward.nodes if n.name == "w"]
    expected = eager_numbers(w.order[-1], {at: 0.75})
    assert live.gradients == {w.forward.nodes[i].name: g for i, g in enumerate(expected.grads)
                              if g is not None}
    live.reset()
    assert live.leaves == {"x": 2.0, "w": -0.5, "b": 0.25} and live.output == w.loss_before


def test_a_domain_error_is_pythons_sentence_and_the_numbers_stay() -> None:
    x = Value(2.0, label="x")
    f = x.log()
    live = walkthrough(f, picture=False).widget()
    live.leaves = {"x": -1.0}
    assert live.error == "log: log(-1.0) is undefined: log needs x > 0"
    assert live.output == math.log(2.0)
    live.leaves = {"x": 1.0}
    assert live.error == "" and live.output == 0.0


def test_bad_leaves_are_refused_by_name() -> None:
    _, w = neuron()
    live = w.widget()
    with pytest.raises(widget_module.WidgetLeafError, match=r"'q' is not a leaf .* w, x, b"):
        live.leaves = {"q": 1.0}
    with pytest.raises(widget_module.WidgetLeafError, match="leaf x must be a finite number"):
        live.leaves = {"x": math.inf}
    with pytest.raises(widget_module.WidgetLeafError, match="got '3'"):
        live.leaves = {"x": "3"}
    assert live.leaves == {"w": -0.5, "x": 2.0, "b": 0.25}


def test_the_module_is_the_pages_script_and_runs_no_eval() -> None:
    _, w = neuron()
    live = w.widget()
    esm = live._esm
    assert "export default { render };" in esm
    code = re.sub(r"^\s*//.*$", "", esm, flags=re.M)  # the comments say "no eval" themselves
    assert not re.search(r"\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(", code)
    page = w.html()
    script = page.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert script in esm  # the very script the page runs (its CSP hash covers it)
    bundle, _ = live._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == w._repr_html_()  # the static page, for readers without widgets
    assert bundle["text/plain"] == "<live walkthrough of L: 3 leaves; .leaves, .output, .gradients>"


def test_changing_the_graph_afterwards_leaves_the_lesson_as_recorded() -> None:
    """Training a model after walking through one of its steps sets its leaves' data: the page
    and the widget keep the graph as it was recorded (a copy), and never refuse it."""
    x, w = Value(2.0, label="x"), Value(-0.5, label="w")
    lesson = walkthrough((w * x).tanh(), target=1.0, picture=False)
    w.data = 3.0  # a training step on the original graph
    page = lesson.html()
    assert '"w"' in page and "chainruleProgram" in page
    live = lesson.widget()
    assert live.leaves == {"w": -0.5, "x": 2.0} and live.output == lesson.loss_before
    assert all(node is not w for node in lesson.order)


def test_without_anywidget_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _, w = neuron()
    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget fails
    widget_module._widget_class.cache_clear()
    try:
        with pytest.raises(widget_module.WidgetNotInstalledError,
                           match=r"pip install 'chainrule\[widget\]'"):
            w.widget()
        assert issubclass(widget_module.WidgetNotInstalledError, ChainruleError)
        assert issubclass(widget_module.WidgetNotInstalledError, ImportError)
    finally:
        widget_module._widget_class.cache_clear()


# -- in a real kernel ---------------------------------------------------------------------------


def test_the_model_state_in_a_jupyter_kernel() -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from test_notebooks import _load_build

    build = _load_build()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from chainrule.engine import Value, walkthrough\n"
            "x, w = Value(2.0, label='x'), Value(-0.5, label='w')\n"
            "live = walkthrough((w * x).tanh(), target=1.0, picture=False).widget()\n"
            "live"),
        nbformat.v4.new_code_cell(
            "live.leaves = {'w': 0.25}\n"
            "print(sorted(live.leaves.items()), repr(live.output), live.error)\n"
            "state = live.get_state()  # what the kernel sends the notebook's page\n"
            "print(state['leaves'], 'export default { render };' in state['_esm'])"),
        nbformat.v4.new_code_cell(
            "live.leaves = {'x': 1e200, 'w': 1e200}\n"
            "print(live.error)\n"
            "print(repr(live.output))"),
    ]
    path = Path(__file__).parent / "widget-notebook.ipynb"
    with build.kernel_folder() as folder:
        nbformat.write(notebook, path)
        try:
            ran = build.execute(path, folder)
        finally:
            path.unlink()
    shown, changed, refused = ran.cells
    (display,) = [o for o in shown.outputs if o.output_type == "execute_result"]
    assert display.data["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert display.data["text/html"].startswith("<iframe srcdoc=")
    expected = (math.tanh(0.25 * 2.0) - 1.0) ** 2
    assert changed.outputs[0].text == (f"[('w', 0.25), ('x', 2.0)] {expected!r} \n"
                                       "{'w': 0.25, 'x': 2.0} True\n")
    lines = refused.outputs[0].text.splitlines()
    assert lines[0].startswith("mul: ") and lines[1] == repr(expected)


# -- the ES module in a browser -----------------------------------------------------------------

#: A notebook's model, as anywidget hands it to render: get, set, on, off, save_changes.
MODEL = """(state) => {
  const handlers = {}, saved = [];
  return {
    saved,
    get: (key) => state[key],
    set: (key, value) => { state[key] = value; },
    save_changes: () => { saved.push(JSON.parse(JSON.stringify(state.leaves))); },
    on: (event, handler) => { (handlers[event] = handlers[event] || []).push(handler); },
    off: (event, handler) => { handlers[event] = (handlers[event] || []).filter(h => h !== handler); },
    fire: (event) => (handlers[event] || []).forEach(h => h()),
  };
}"""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium")
def test_the_module_renders_the_live_page_and_syncs_the_leaves(browser) -> None:
    _, w = neuron()
    live = w.widget()
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_content("<!DOCTYPE html><html><body><div id='cell'></div></body></html>")
    page.add_script_tag(content=f"window.makeModel = {MODEL};")
    page.evaluate(
        """async ([esm, leaves]) => {
             const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
             const widget = (await import(url)).default;
             window.model = window.makeModel({ leaves });
             window.cleanup = widget.render({ model: window.model,
                                              el: document.getElementById("cell") });
           }""", [live._esm, live.leaves])
    frame = page.frame_locator("#cell iframe")
    assert frame.get_by_role("textbox", name="w", exact=True).input_value() == "-0.5"
    # Python sets a leaf: the page recomputes.
    page.evaluate("model.set('leaves', {x: 2.0, w: 0.75, b: 0.25}); model.fire('change:leaves')")
    live.leaves = {"w": 0.75}
    value = frame.locator("#grad-table tbody tr[data-node]").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.value))")
    assert live.output in value
    # The learner types: the model hears it.
    frame.get_by_role("textbox", name="x", exact=True).fill("3")
    assert page.evaluate("model.saved[model.saved.length - 1]") == {"x": 3.0, "w": 0.75,
                                                                     "b": 0.25}
    page.evaluate("cleanup()")
    assert problems == []
