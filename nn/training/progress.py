"""The progress bar of :func:`~chainrule.nn.fit`: tqdm on a terminal, in a Jupyter kernel a
bar that ends with a one-line summary (a saved notebook keeps a widget bar as first drawn)."""

from __future__ import annotations

import sys
from typing import Any


def _in_jupyter_kernel() -> bool:
    """Whether this Python runs as a Jupyter kernel (the test tqdm.autonotebook makes)."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has done it already
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython too old or too odd to say: treat it as no kernel
        return False


def _widgets_available() -> bool:
    """Whether tqdm's notebook bar can draw itself: it is an ipywidgets widget, which
    tqdm.notebook imports if it can (IProgress is None when it could not)."""
    try:
        from tqdm.notebook import IProgress  # type: ignore[attr-defined]
    except ImportError:
        return False
    return IProgress is not None


def _bar_style(progress: bool | None, *, kernel: bool, terminal: bool, widgets: bool
               ) -> str | None:
    """Which bar ``fit`` shows: ``"widget"`` (tqdm's notebook bar), ``"text"`` (plain tqdm on
    stdout: a kernel without ipywidgets, where tqdm.auto would warn "IProgress not found"),
    ``"terminal"`` (plain tqdm on stderr) or None. ``progress=None`` shows one in a Jupyter
    kernel or on a terminal, not in a script whose output goes to a file or a pipe."""
    if progress is False:
        return None
    if kernel:
        return "widget" if widgets else "text"
    if progress or terminal:
        return "terminal"
    return None


class _KernelBar:
    """A bar in a Jupyter kernel that ends with one line of text saying how training ended:
    a saved notebook keeps a widget bar as it was first drawn, at 0%, forever."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._postfix: dict[str, Any] = {}
        self._closed = False

    def set_postfix(self, postfix: dict[str, Any], refresh: bool = True) -> None:
        self._postfix = dict(postfix)
        self._bar.set_postfix(postfix, refresh=refresh)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        done, total = self._bar.n, self._bar.total
        elapsed = self._bar.format_dict["elapsed"]
        self._bar.close()
        print(_summary(done, total, elapsed, self._postfix), file=sys.stdout, flush=True)


def _summary(done: int, total: int, elapsed: float, postfix: dict[str, Any]) -> str:
    """``training: 3,000 epochs in 0.6 s, loss 0.2503, accuracy 50.0%``."""
    epochs = f"{done:,} epochs" if done == total else f"{done:,} of {total:,} epochs"
    measures = "".join(f", {name} {value}" for name, value in postfix.items())
    return f"training: {epochs} in {elapsed:.1f} s{measures}"


def progress_bar(progress: bool | None, epochs: int) -> Any:
    """A tqdm bar (see :func:`_bar_style` for which), or None without tqdm installed."""
    kernel = _in_jupyter_kernel()
    style = _bar_style(progress, kernel=kernel, terminal=not kernel and sys.stderr.isatty(),
                       widgets=kernel and _widgets_available())
    if style is None:
        return None
    try:
        from tqdm.std import tqdm
    except ImportError:
        if progress:
            raise ImportError("fit(progress=True) needs tqdm: pip install 'chainrule[nn]'") from None
        return None
    options: dict[str, Any] = {"total": epochs, "desc": "training", "unit": "epoch"}
    if style == "terminal":
        return tqdm(**options)
    if style == "widget":
        from tqdm.notebook import tqdm as notebook_tqdm

        return _KernelBar(notebook_tqdm(**options))
    # 100 columns: room for the bar next to the epochs, the rate, the loss and the accuracy.
    return _KernelBar(tqdm(**options, file=sys.stdout, ncols=100))


def show_epoch(bar: Any, loss: float, accuracy: float | None) -> None:
    """Advance ``bar`` (from :func:`progress_bar`; None shows nothing) by one epoch."""
    if bar is None:
        return
    postfix = {"loss": f"{loss:.4f}"}
    if accuracy is not None:
        postfix["accuracy"] = f"{accuracy:.1%}"
    bar.set_postfix(postfix, refresh=False)
    bar.update(1)
