"""The :class:`Drawing` that ``draw`` returns: DOT text, and pictures made by graphviz's ``dot``.

The DOT text is built without any library; only SVG, PNG and PDF need the system ``dot``
program, which is run directly (the Python ``graphviz`` package is needed only by
:meth:`Drawing.to_graphviz`, for code that wants a ``graphviz.Source``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import INSTALL_DOT, DrawOptionError, GraphvizError, GraphvizNotFoundError

#: What ``render`` and ``pipe`` can produce; "dot" is the DOT source itself.
FORMATS = ("svg", "png", "pdf", "dot")
DOT_TIMEOUT_SECONDS = 120.0


def run_dot(source: str, format: str, dpi: float | None = None) -> bytes:
    """``source`` laid out and drawn by graphviz's ``dot`` as ``format`` (svg, png or pdf)."""
    import shutil
    import subprocess

    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizNotFoundError(
            f"draw: making {format.upper()} needs graphviz's `dot` program, which is not on "
            f"PATH; {INSTALL_DOT}. Drawing.source has the DOT text without it."
        )
    command = [executable, f"-T{format}"]
    if dpi is not None:
        command.append(f"-Gdpi={dpi:g}")
    try:
        finished = subprocess.run(
            command, input=source.encode("utf-8"), capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(
            f"draw: `dot -T{format}` took more than {DOT_TIMEOUT_SECONDS:g} s; "
            f"draw a smaller graph (collapse scopes into boxes: collapse=1, or a scope's word)"
        ) from None
    except OSError as error:  # found by which() but cannot run (permissions, broken install)
        raise GraphvizNotFoundError(
            f"draw: could not run graphviz's `dot` ({executable}): {error}; {INSTALL_DOT}"
        ) from None
    if finished.returncode != 0:
        message = finished.stderr.decode("utf-8", "replace").strip()[:2000]
        raise GraphvizError(
            f"draw: `dot -T{format}` failed with exit status {finished.returncode}: {message}"
        )
    return finished.stdout


def _check_format(format: str) -> str:
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise DrawOptionError(
            f"draw: cannot make format {format!r}; choose one of {', '.join(FORMATS)}"
        )
    return format.lower()


class Drawing:
    """A drawn computation graph.

    ``source`` is the DOT text (byte-identical for the same program on every run); ``render``,
    ``pipe`` and ``svg`` run graphviz's ``dot``; in Jupyter the graph shows itself as SVG.
    """

    def __init__(self, source: str, *, value_count: int, group_count: int) -> None:
        self.source = source
        self.value_count = value_count
        self.group_count = group_count

    def pipe(self, format: str = "svg", *, dpi: float | None = None) -> bytes:
        """The graph drawn as ``format`` ("svg", "png", "pdf", or "dot" for the source)."""
        format = _check_format(format)
        if format == "dot":
            return self.source.encode("utf-8")
        return run_dot(self.source, format, dpi)

    def svg(self) -> str:
        """The graph as SVG text."""
        return self.pipe("svg").decode("utf-8")

    def render(
        self, path: str | os.PathLike[str], *, format: str | None = None, dpi: float | None = None
    ) -> Path:
        """Write the graph to ``path``; the format comes from its suffix (.svg, .png, .pdf,
        .dot) unless given. Missing parent folders are created. Returns the path written."""
        target = Path(path)
        if format is None:
            if not target.suffix:
                raise DrawOptionError(
                    f"draw: cannot tell the format of {str(target)!r} without a suffix; "
                    f"use .svg, .png, .pdf or .dot, or pass format="
                )
            format = target.suffix[1:]
        data = self.pipe(format, dpi=dpi)  # before touching the file system: fail cleanly
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def to_graphviz(self) -> Any:
        """This graph as a ``graphviz.Source`` (needs the ``graphviz`` Python package)."""
        try:
            import graphviz
        except ImportError:
            raise GraphvizNotFoundError(
                "draw: Drawing.to_graphviz() needs the graphviz Python package: "
                "pip install 'chainrule[viz]' (or pip install graphviz)"
            ) from None
        return graphviz.Source(self.source)

    # -- Jupyter ---------------------------------------------------------------------------

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str]:
        # A notebook without graphviz shows why there is no picture instead of a traceback.
        try:
            return {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        except (GraphvizNotFoundError, GraphvizError) as error:
            return {"text/plain": f"{self!r}\n{error}"}

    def __repr__(self) -> str:
        groups = f", {self.group_count} collapsed groups" if self.group_count else ""
        return f"<chainrule Drawing: {self.value_count} values{groups}>"
