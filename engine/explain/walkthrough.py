"""The whole lesson on one graph: forward pass, backward pass, checks and an optional update.

:func:`walkthrough` bundles :func:`trace_forward`, :func:`trace_backward` and (when a learning
rate is given) one gradient-descent step into a :class:`Walkthrough`, which renders itself as
text, Markdown or a self-contained HTML page and displays inline in Jupyter.
"""

from __future__ import annotations

import html as html_module
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import OperandTypeError
from ..graph import topological_order
from ..value import Value, as_float
from .trace import BackwardTrace, ForwardTrace, trace_backward, trace_forward


@dataclass(frozen=True)
class Update:
    """One gradient-descent update of a parameter: ``after = before - lr * grad``."""

    node: int
    name: str
    before: float
    grad: float
    after: float


@dataclass(frozen=True)
class Walkthrough:
    """Everything the renderers show. Build it with :func:`walkthrough`."""

    title: str
    forward: ForwardTrace
    backward: BackwardTrace
    lr: float | None
    updates: tuple[Update, ...]
    digits: int = 6
    svg: str | None = None  # the graph picture (inline SVG), None when it could not be drawn
    graph_note: str = ""  # why there is no picture

    @property
    def root_name(self) -> str:
        return self.forward.nodes[self.forward.root].name

    def text(self, width: int = 80) -> str:
        """The walkthrough for a terminal, no line longer than ``width``."""
        from .text import walkthrough_text

        return walkthrough_text(self, width=width)

    def markdown(self) -> str:
        from .markdown import walkthrough_markdown

        return walkthrough_markdown(self)

    def html(self, svg: str | None = None) -> str:
        """The interactive page as one self-contained HTML document (see :func:`walkthrough_html`)."""
        from .html import walkthrough_html

        return walkthrough_html(self, svg=svg)

    def save_html(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # An iframe keeps the page's script and style apart from the notebook's own.
        page = html_module.escape(self.html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" title="{html_module.escape(self.title)}" '
            'style="width: 100%; height: 640px; border: 1px solid #ccc"></iframe>'
        )

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.text()


def _default_parameters(order: list[Value]) -> list[Value]:
    # chainrule.nn creates its parameters inside a scope; a hand-built graph has none, and then
    # every leaf it depends on is treated as a parameter.
    leaves = [node for node in order if node.is_leaf and not node.is_constant]
    scoped = [node for node in leaves if node.scope]
    return scoped or leaves


def walkthrough(
    root: Value,
    lr: float | None = None,
    parameters: Iterable[Value] | None = None,
    title: str | None = None,
    digits: int = 6,
    picture: bool = True,
) -> Walkthrough:
    """Trace the forward and backward passes of ``root`` and check every leaf gradient.

    With a learning rate ``lr``, the summary also shows one update ``w <- w - lr * grad`` for
    each of ``parameters`` (default: the leaves created inside an nn scope, or every leaf when
    there are none). Nothing in the graph is modified, ``.grad`` included.

    With ``picture=True`` the graph is drawn for the HTML page (needs graphviz's ``dot``; without
    it the page carries a note instead, see ``graph_note``). While it is drawn, unlabeled nodes
    are lent their walkthrough names (``n5``) so that picture and steps agree; the labels are
    given back (``None``) before this function returns.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"walkthrough: root must be a Value, got {type(root).__name__}")
    if not isinstance(digits, int) or not 1 <= digits <= 17:
        raise OperandTypeError(f"walkthrough: digits must be an int from 1 to 17, got {digits!r}")
    forward = trace_forward(root, digits=digits)
    backward = trace_backward(root)
    updates: tuple[Update, ...] = ()
    if lr is not None:
        rate = as_float(lr, "walkthrough", " lr")
        order = topological_order(root)
        position = {node: index for index, node in enumerate(order)}
        chosen = _default_parameters(order) if parameters is None else list(parameters)
        rows = []
        for parameter in chosen:
            if not isinstance(parameter, Value) or parameter not in position:
                raise OperandTypeError(
                    f"walkthrough: parameter {parameter!r:.60} is not a Value of this graph"
                )
            index = position[parameter]
            grad = backward.gradients[index]
            if grad is None or not parameter.is_leaf:
                raise OperandTypeError(
                    f"walkthrough: parameter {backward.nodes[index].name!r} is not a leaf "
                    "created with Value(...)"
                )
            rows.append(Update(index, backward.nodes[index].name, parameter.data, grad,
                               parameter.data - rate * grad))
        updates = tuple(rows)
    else:
        rate = None
    name = forward.nodes[forward.root].name
    if picture:
        from .html import graph_picture

        svg, note = graph_picture(root, [node.name for node in forward.nodes])
    else:
        svg, note = None, "No graph picture was requested."
    return Walkthrough(
        title=title or f"Backpropagation through {name}",
        forward=forward,
        backward=backward,
        lr=rate,
        updates=updates,
        digits=digits,
        svg=svg,
        graph_note=note,
    )
