"""fit's progress bar: which one it shows where (a terminal, a Jupyter kernel with or without
ipywidgets, a script whose output is redirected), and the summary line it ends with in a
kernel, where a saved widget bar would stay at 0%. (The real kernel is exercised by the course
notebooks in test_notebooks.py.)"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import types
from typing import Any

import pytest

from chainrule.nn import MLP, SGD, datasets, fit, mse
from chainrule.nn.training import progress as progress_module

tqdm_std = pytest.importorskip("tqdm.std")


@pytest.mark.parametrize(("progress", "kernel", "terminal", "widgets", "style"), [
    (None, False, False, False, None),         # a script writing to a file or a pipe: quiet
    (None, False, True, False, "terminal"),
    (True, False, False, False, "terminal"),   # asked for: shown anyway, on stderr
    (None, True, False, True, "widget"),       # a notebook with ipywidgets
    (None, True, False, False, "text"),        # a notebook without: plain text, no warning
    (True, True, False, False, "text"),
    (True, True, False, True, "widget"),
    (False, True, False, True, None),
    (False, False, True, False, None),
])
def test_the_bar_style_depends_on_where_fit_runs(
        progress: bool | None, kernel: bool, terminal: bool, widgets: bool, style: str | None
) -> None:
    assert progress_module._bar_style(progress, kernel=kernel, terminal=terminal, widgets=widgets) == style


def _fake_ipython(shell: Any) -> types.ModuleType:
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    return module


def test_a_jupyter_kernel_is_recognised_by_its_ipkernelapp_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not progress_module._in_jupyter_kernel()  # IPython never imported: a plain Python
    kernel = types.SimpleNamespace(config={"IPKernelApp": {"connection_file": "kernel.json"}})
    monkeypatch.setitem(sys.modules, "IPython", _fake_ipython(kernel))
    assert progress_module._in_jupyter_kernel()
    terminal_ipython = types.SimpleNamespace(config={"TerminalInteractiveShell": {}})
    monkeypatch.setitem(sys.modules, "IPython", _fake_ipython(terminal_ipython))
    assert not progress_module._in_jupyter_kernel()
    monkeypatch.setitem(sys.modules, "IPython", _fake_ipython(None))  # imported, not running
    assert not progress_module._in_jupyter_kernel()


def test_widgets_are_used_only_when_ipywidgets_imports() -> None:
    assert progress_module._widgets_available() == (importlib.util.find_spec("ipywidgets") is not None)


def _train(epochs: int = 30, **options: Any) -> Any:
    X, y = datasets.xor()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    return fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.5), epochs=epochs, **options)


SUMMARY = r"training: 30 epochs in \d+\.\d s, loss 0\.\d{4}, accuracy \d+\.\d%\n"


def test_in_a_kernel_without_widgets_the_bar_is_text_on_stdout_then_a_summary(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress_module, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(progress_module, "_widgets_available", lambda: False)
    history = _train()
    out, err = capsys.readouterr()
    assert err == ""  # no "IProgress not found" warning, nothing that reads as an error
    final_bar, summary = out.split("\r")[-1].splitlines(keepends=True)
    assert re.fullmatch(r"training: 100%\|█+\| 30/30 \[[^\]]*epoch/s, loss=0\.\d{4}, "
                        r"accuracy=\d+\.\d%\]\n", final_bar), final_bar
    assert len(final_bar) <= 101  # 100 columns
    assert re.fullmatch(SUMMARY, summary), summary
    assert f"loss {history.loss[-1]:.4f}, accuracy {history.accuracy[-1]:.1%}" in summary


def test_in_a_kernel_with_widgets_the_notebook_bar_is_used_then_a_summary(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = pytest.importorskip("tqdm.notebook")
    drawn = io.StringIO()
    built: list[dict[str, Any]] = []

    class Widget(tqdm_std.tqdm):  # type: ignore[misc,name-defined]
        """Stands in for the widget bar (ipywidgets need a live frontend to draw)."""

        def __init__(self, **options: Any) -> None:
            built.append(options)
            super().__init__(**options, file=drawn)

    monkeypatch.setattr(progress_module, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(progress_module, "_widgets_available", lambda: True)
    monkeypatch.setattr(notebook, "tqdm", Widget)
    _train()
    out, err = capsys.readouterr()
    assert built == [{"total": 30, "desc": "training", "unit": "epoch"}]
    assert "30/30" in drawn.getvalue()
    assert err == "" and re.fullmatch(SUMMARY, out), out


def test_a_summary_says_when_training_stopped_early(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress_module, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(progress_module, "_widgets_available", lambda: False)
    _train(epochs=50, callback=lambda epoch, history: epoch == 11)
    summary = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"training: 12 of 50 epochs in \d+\.\d s, loss 0\.\d{4}, "
                        r"accuracy \d+\.\d%", summary), summary


def test_a_script_whose_output_is_redirected_trains_silently(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert not sys.stderr.isatty() and not progress_module._in_jupyter_kernel()
    _train()
    assert capsys.readouterr() == ("", "")
