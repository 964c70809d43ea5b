"""The course (demos/notebooks/): every notebook runs top to bottom in a real Jupyter kernel
(this venv's Python, through ipykernel), without an error or a warning, and shows what it
promises: the tutorials' slips corrected with numbers chainrule computes, a graph as SVG, the
walkthrough as HTML, figures, and a progress bar that reads well in a saved notebook. The
committed notebooks must still match what the code produces."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "demos" / "notebooks"
NAMES = [
    "01_neuron", "02_activations", "03_layers_and_xor", "04_loss_functions",
    "05_backpropagation", "06_training", "07_pytorch",
]

#: What each notebook's checked cells must print: the corrected numbers above all.
EXPECTED = {
    "01_neuron": [
        "w1*x1 + w2*x2 + w3*x3 = 0.40 + 0.42 + 0.27",
        "weighted sum          = 1.09",
        "z = sum + b           = 1.19",
        "y = sigmoid(z)        = 0.7667",
        "sigmoid(1.17) = 0.7631",
        "output = 0.634136, rounded: 0.634",
    ],
    "02_activations": [
        "  0.0 |   0.5000  0.2500 |   0.0000  1.0000 |   0.0   0.0",
        "a * (1 - a), a = σ(z) = 0.178849",
        "z * (1 - z)           = -0.226100",
    ],
    "03_layers_and_xor": [
        "15625 lines tried; the best gets 3 of 4 XOR cases right",
        "single neuron: best accuracy 75%",
        "MLP(2, [4, 1]): accuracy 100% after 500 epochs",
    ],
    "04_loss_functions": [
        "MSE = 0.0000065",
        "the update follows half the sum: True",
    ],
    "05_backpropagation": [
        "dloss/dw1: backward() -0.066749, by hand -0.066749",
        # the live widget's leaves set from Python, then reset
        "at w1 = 0.9: loss = 0.",
        "reset: w1 = 0.5, loss = 0.054410",
        "the same update: True",
        # the learner's turn: a real `chainrule quiz` session with two slips, each named and
        # put right at the second try (the numbering and the node names depend on how the
        # graph is built); the forward pass first, in the names the questions use
        "   n4 = n3 + b = -6 + 6.88137 = 0.881374\n",
        "df/dx1 = ? 1.5\n   right size, wrong sign: ",
        "df/dx2 = ? 0\n   that multiplies by x2's own value: ",
        "df/dx1 = ? -1.5\n   right: -1.5\n",
        "exit status: 0\n",
    ],
    "06_training": [
        "Epoch 900, Loss: 0.2417",
        "MSE printed at epoch 900: 0.2417",
        "all four cases right from epoch 1,931 on (after 1,930 epochs of training)",
        "chainrule's MSE every 100 epochs equals the tutorial's: True",
        "accuracy: 50%",
        "2 findings, the cause first:\n1. The learning rate looks too small",
        "  cause: follows from the learning rate (finding 1)",
        "fix: raise the learning rate (try 10 to 50 times larger, lr 0.1 to 0.5)",
        "lr 0.5: MSE after 3,000 epochs 0.0081, accuracy 100%",
        "all four cases right from epoch 1,870 on (after 1,869 epochs of training)",
        "the loss stays within 0.01 of 0.25 for the first 1,282 epochs",
        "predictions: [0.056, 0.914, 0.907, 0.115]\nNo problems found",
        # the ranked diagnosis of a tanh network at lr 20: the cause first, the rest after it
        "1. The learning rate looks too large: the loss rose during training.",
        "cause: the saturation is caused by the learning rate (finding 1)",
        "cause: follows from the saturated units (finding 2)",
        "root cause: learning_rate_too_large",
        "lr 2: accuracy 100%\nNo problems found",
    ],
    "07_pytorch": [
        "chainrule: MLP(3, [8, 1], activation='relu', output_activation='sigmoid')",
        "the two losses agree to within 1e-14 at every epoch: True",
        "  1  1 |  0.001836 | 0.001836",
    ],
}

#: The tutorial's wrong numbers, which each notebook quotes and corrects in its markdown.
ERRATA = {
    "01_neuron": ["Σ = 1.07", "We get a score of 1.17", "**1.09**", "**1.19**", "**0.7667**",
                  "print(round(output, 3)) # -> 0.633", "**0.634**",
                  'sigmoid(1.17) = 0.7631 reads as "76% confidence", but the right output,\n'
                  "0.7667, is 77%"],
    "04_loss_functions": ["loss = np.mean(np.square(y - output))", "**half the sum**"],
    "06_training": ["We did this 1000 times until the network got good at XOR", "0.2417",
                    "1,930", "model.compile(optimizer='sgd', loss='mse')",
                    "The recipe does not learn XOR",
                    "a hidden layer's weight carries a\nhidden sigmoid's slope (at most 0.25) too, "
                    "the output layer's do not",
                    "plateau at 0.25 for about 1,300 epochs"],
}


def _load_build() -> Any:
    spec = importlib.util.spec_from_file_location("course_build", COURSE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executed() -> dict[str, Any]:
    """Every notebook, run afresh in a kernel (an error in any cell fails here)."""
    build = _load_build()
    with build.kernel_folder() as folder:
        return {name: build.execute(COURSE / f"{name}.ipynb", folder) for name in NAMES}


def _committed(name: str) -> Any:
    return nbformat.read(COURSE / f"{name}.ipynb", as_version=4)


def _tagged(notebook: Any, tag: str) -> list[Any]:
    return [c for c in notebook.cells if tag in c.metadata.get("tags", [])]


def _text(cell: Any) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


#: What may differ between two runs of the same cell: timings, speeds and so the width of a
#: progress bar (whose line ends with the speed).
_VOLATILE = re.compile(
    r"\d+(\.\d+)? ?s\b|\d+(\.\d+)?(it|epoch)/s|\[\d\d:\d\d<\d\d:\d\d, |█+")
#: The outputs compared between a fresh run and the committed notebook (figures are PNG bytes
#: that may differ with the font cache; everything a learner reads as text is compared).
_TEXT_KINDS = ("text/plain", "text/markdown", "text/html", "image/svg+xml")


def _everything(cell: Any) -> list[str]:
    """Every text output of a cell, timings and speeds blanked out."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(f"{output.name}: {output.text}")
        elif output.output_type in ("execute_result", "display_data"):
            parts += [f"{kind}: {output.data[kind]}" for kind in _TEXT_KINDS
                      if kind in output.data]
        elif output.output_type == "error":
            parts.append(f"error: {output.ename}")
    return [_VOLATILE.sub("#", part) for part in parts]


def _markdown(notebook: Any) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_the_course_is_every_notebook_in_order() -> None:
    build = _load_build()
    assert [p.stem for p in build.NOTEBOOKS] == NAMES
    assert sorted(p.stem for p in COURSE.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_notebook_runs_in_a_kernel_without_errors_or_warnings(
        executed: dict[str, Any], name: str) -> None:
    notebook = executed[name]
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None
        for output in cell.outputs:
            assert output.output_type != "error", output
            assert not (output.output_type == "stream" and output.name == "stderr"), output.text


@pytest.mark.parametrize("name", NAMES)
def test_a_notebook_prints_the_right_numbers(executed: dict[str, Any], name: str) -> None:
    checked = "".join(_text(cell) for cell in _tagged(executed[name], "check"))
    for line in EXPECTED[name]:
        assert line in checked


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_notebook_matches_what_the_code_produces(
        executed: dict[str, Any], name: str) -> None:
    fresh, committed = executed[name], _committed(name)
    nbformat.validate(committed)
    assert committed.metadata.kernelspec.name == "python3"  # opens with anyone's Python kernel
    assert [c.source for c in fresh.cells] == [c.source for c in committed.cells]
    for new, old in zip(fresh.cells, committed.cells, strict=True):
        # Every output, not only the checked numbers: a walkthrough's page and text, a graph's
        # SVG, the worksheet and the explorer must be what the code produces today.
        assert _everything(old) == _everything(new), (
            f"{name}.ipynb is out of date: run `make notebooks`\n{old.source[:80]}\n"
            f"{str(_everything(old))[:600]}\n!=\n{str(_everything(new))[:600]}")
    # Every code cell was committed executed, with outputs.
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None and cell.outputs, cell.source[:60]


@pytest.mark.parametrize("name", list(ERRATA))
def test_the_tutorial_slips_are_quoted_and_corrected(name: str) -> None:
    markdown = _markdown(_committed(name))
    assert "**Erratum.**" in markdown
    for quote in ERRATA[name]:
        assert quote in markdown


def test_the_graph_cell_is_svg_and_the_walkthrough_cells_are_html(
        executed: dict[str, Any]) -> None:
    (graph,) = _tagged(executed["01_neuron"], "graph")
    (svg,) = [o.data["image/svg+xml"] for o in graph.outputs if "image/svg+xml" in o.get("data", {})]
    assert "<svg" in svg and ">y<" in svg
    walkthroughs = _tagged(executed["01_neuron"], "walkthrough") + _tagged(
        executed["05_backpropagation"], "walkthrough")
    assert len(walkthroughs) == 2
    for cell in walkthroughs:
        (html,) = [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
        assert html.startswith("<iframe srcdoc=") and "backward" in html


def test_the_widget_cell_is_live_with_the_static_page_beside_it(
        executed: dict[str, Any]) -> None:
    """Notebook 5's live walkthrough: a widget (anywidget) where widgets run, and the static page
    in the same output for a reader where they do not."""
    (cell,) = _tagged(executed["05_backpropagation"], "widget")
    assert "steps.widget()" in cell.source
    (shown,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert shown.data["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert shown.data["text/html"].startswith("<iframe srcdoc=")
    assert shown.data["text/plain"].startswith("<live walkthrough of loss: ")


def test_figure_cells_show_a_png(executed: dict[str, Any]) -> None:
    figures = [cell for name in NAMES for cell in _tagged(executed[name], "figure")]
    assert len(figures) == 6
    for cell in figures:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source


BAR = (r"training: 100%\|█+\| (?P<epochs>2500/2500|3000/3000) \[[^\]\n]*epoch/s, "
       r"loss=(?P<loss>\d\.\d{4}), accuracy=(?P<accuracy>\d+\.\d%)\]\n")
SUMMARY = (r"training: (?P<epochs>2,500|3,000) epochs in \d+\.\d s, "
           r"loss (?P<loss>\d\.\d{4}), accuracy (?P<accuracy>\d+\.\d%)\n")


def test_training_shows_fits_own_progress_bar_and_a_summary_that_reads_well_when_saved(
        executed: dict[str, Any]) -> None:
    """fit's default bar in a kernel: tqdm's widget with ipywidgets, else one line of text on
    stdout (the redraws coalesced to the last); either way a summary line, which is all a saved
    notebook keeps of a widget bar (it would show 0%)."""
    notebook = executed["06_training"]
    assert not any("tqdm" in c.source for c in notebook.cells if c.cell_type == "code")  # fit's bar
    cells = _tagged(notebook, "progress")
    assert len(cells) == 3
    for cell in cells:
        widgets = [o for o in cell.outputs
                   if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        (stream,) = [o for o in cell.outputs if o.output_type == "stream"]
        assert stream.name == "stdout" and "\r" not in stream.text
        if widgets:
            bar, summary = None, stream.text
        else:
            bar, summary = stream.text.splitlines(keepends=True)
            assert len(bar) <= 101, bar  # fits a 100-column notebook output
        ended = re.fullmatch(SUMMARY, summary)
        assert ended, summary
        if bar is not None:
            drawn = re.fullmatch(BAR, bar)
            assert drawn, bar
            assert drawn["epochs"].split("/")[0] == ended["epochs"].replace(",", "")
            assert (drawn["loss"], drawn["accuracy"]) == (ended["loss"], ended["accuracy"])


def _session_prompts(notebook: Any) -> list[str]:
    """The questions of the `chainrule quiz` session the notebook runs, in order."""
    (session,) = _tagged(notebook, "quiz-session")
    # (a second try asks the same question again)
    return list(dict.fromkeys(re.findall(r"^\d+\. (\S+) = \?", _text(session), re.M)))


def _page_data(cell: Any) -> dict[str, Any]:
    (shown,) = [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    page = html.unescape(re.fullmatch(r'<iframe srcdoc="([^"]*)".*', shown, re.S).group(1))
    data = re.search(r'<script type="application/json" id="walkthrough-data">(.*?)</script>',
                     page, re.S)
    assert data is not None
    return json.loads(data.group(1))


def test_the_learners_turn_asks_the_same_questions_in_the_page_the_worksheet_and_the_terminal(
        executed: dict[str, Any]) -> None:
    notebook = executed["05_backpropagation"]
    prompts = _session_prompts(notebook)
    assert prompts[0] == "df/df" and {"df/dx1", "df/dx2", "df/dw1", "df/dw2", "df/db"} <= set(
        prompts)
    session = _text(_tagged(notebook, "quiz-session")[0])
    assert f"score: {len(prompts)} of {len(prompts)} (2 on a later try)\n" in session
    # The page inline, with its quiz: the same questions, and the steps level on top.
    (page,) = _tagged(notebook, "quiz-page")
    assert re.fullmatch(r"<Walkthrough of f: \d+ forward steps?, \d+ backward steps?; .*>",
                        _text(page))  # not the page's source, should the HTML not render
    quiz = _page_data(page)["quiz"]
    assert [q["prompt"].removesuffix(" = ?") for q in quiz["gradients"]] == prompts
    assert len(quiz["steps"]) > len(quiz["gradients"])
    # The worksheet: the circuit, a blank for each gradient worth working out (in the order the
    # quiz asks them; a gradient an add passes on unchanged is said, not asked), questions about
    # meaning, then the answer key folded away with the worked steps and common mistakes.
    (sheet_cell,) = _tagged(notebook, "worksheet")
    (sheet,) = [o.data["text/markdown"] for o in sheet_cell.outputs
                if "text/markdown" in o.get("data", {})]
    questions, key = sheet.split("<details><summary>Answer key")
    assert questions.startswith("# Worksheet: Your turn") and "## Backward pass" in questions
    assert "![The circuit of f: " in questions and "## What the numbers mean" in questions
    blanks = re.findall(r"^\d+\. `(\S+) = .*` = _{12}$", questions, re.M)
    assert blanks == [p for p in prompts if p in blanks] and len(blanks) >= 3
    assert "- `n1 = w1 * x1 = -3 * 2 = -6`" in questions  # the forward pass is given
    assert key.rstrip().endswith("</details>")
    assert re.search(rf"^{len(blanks)}\. \*\*-1\.5\*\*: `.*df/dx1 = df/\w+ × d/dx1", key, re.M)
    assert "   - -3 is the local derivative d/dx1 (w1 * x1) alone" in key


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium")
def test_the_inline_quiz_and_explorer_work_in_a_browser(executed: dict[str, Any]) -> None:
    """The notebook's outputs as a notebook shows them, an iframe each, in a real Chromium:
    Quiz me through every gradient (the right answers are those `chainrule quiz` gave), and the
    explorer drawn without an error."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'chainrule[browser]'")
    session = _text(_tagged(executed["05_backpropagation"], "quiz-session")[0])
    expected = re.findall(r"^   (?:right: |wrong\. Expected )(-?[\d.]+)", session, re.M)
    assert len(expected) == len(_session_prompts(executed["05_backpropagation"]))
    (quiz_cell,) = _tagged(executed["05_backpropagation"], "quiz-page")
    (explorer_cell,) = _tagged(executed["06_training"], "explorer")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.set_default_timeout(10_000)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            outputs = [next(o.data["text/html"] for o in cell.outputs if "text/html" in o.data)
                       for cell in (quiz_cell, explorer_cell)]
            page.set_content("<!DOCTYPE html><html><body>" + "".join(outputs) + "</body></html>")
            quiz = page.frame_locator("iframe").nth(0)
            quiz.locator("#quiz-toggle").click()
            quiz.locator("#quiz-level").select_option("gradients")
            open_fields = quiz.locator(".question input:not([disabled])")
            answered = 0
            while True:
                for _ in range(open_fields.count()):  # a right answer closes its field
                    open_fields.first.fill(expected[answered])
                    open_fields.first.press("Enter")
                    answered += 1
                if quiz.locator("#next").is_disabled():
                    break
                quiz.locator("#next").click()
            assert quiz.locator("#score").text_content() == (
                f"Score: {len(expected)} right of {len(expected)} answered")
            explorer = page.frame_locator("iframe").nth(1)
            assert explorer.locator("h1").text_content() == (
                "The Keras recipe at lr 0.5 learning XOR")
            assert explorer.locator("#slider").is_visible()
            assert problems == []
        finally:
            browser.close()


def test_the_readme_links_the_course_in_order() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Course", 1)[1].split("\n## ", 1)[0]
    linked = re.findall(r"demos/notebooks/(\d\d_\w+)\.ipynb", section)
    assert linked == NAMES
