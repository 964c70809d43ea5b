"""The whole lesson on one graph: forward pass, backward pass, checks and an optional update.

:func:`walkthrough` bundles :func:`trace_forward`, :func:`trace_backward` and (when a learning
rate is given) one gradient-descent step into a :class:`Walkthrough`, which renders itself as
text, Markdown or a self-contained HTML page and displays inline in Jupyter.
"""

from __future__ import annotations

import html as html_module
from collections.abc import Iterable
from pathlib import Path

from ..drawing.vocabulary import node_names
from ..errors import DomainError, OperandTypeError
from ..graph import topological_order
from ..value import Value, as_float
from .html import walkthrough_html
from .lesson import Lesson, Update
from .markdown import walkthrough_markdown
from .picture import graph_picture
from .quiz import worksheet
from .text import walkthrough_text
from .trace import recompute, trace_backward, trace_forward

__all__ = ["LOSSES", "Update", "Walkthrough", "attach_loss", "walkthrough"]


class Walkthrough(Lesson):
    """A :class:`Lesson` that renders itself: as text, Markdown, a worksheet or a page, and
    inline in Jupyter. Build it with :func:`walkthrough`."""

    def text(self, width: int = 80) -> str:
        """The walkthrough for a terminal, no line longer than ``width``."""
        return walkthrough_text(self, width=width)

    def markdown(self) -> str:
        """The walkthrough as Markdown (the same steps as :meth:`text`)."""
        return walkthrough_markdown(self)

    def worksheet(self, steps: bool = True) -> str:
        """A printable Markdown worksheet with blanks for every number, then the answer key
        (with ``steps``, each local derivative and contribution too, not only the gradients)."""
        return worksheet(self, steps=steps)

    def html(self, svg: str | None = None) -> str:
        """The interactive page as one self-contained HTML document (see :func:`walkthrough_html`)."""
        return walkthrough_html(self, svg=svg)

    def save_html(self, path: str | Path) -> Path:
        """Write the page (see :meth:`html`) to ``path`` and return the path."""
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


#: The losses ``walkthrough(..., target=...)`` can put on top of the output.
LOSSES = ("mse", "bce")


def attach_loss(prediction: Value, target: float, loss: str = "mse") -> Value:
    """A loss on ``prediction`` against ``target``, built from new nodes (the user's nodes are
    not changed): ``mse`` is ``(prediction - target) ** 2``, ``bce`` the binary cross-entropy
    ``-(target * log(prediction) + (1 - target) * log(1 - prediction))`` of a probability."""
    if loss not in LOSSES:
        raise OperandTypeError(
            f"walkthrough: loss must be one of {', '.join(LOSSES)}, got {loss!r:.40}"
        )
    t = as_float(target, "walkthrough", " target")
    if loss == "bce" and not 0.0 < prediction.data < 1.0:
        raise DomainError(
            f"walkthrough: loss='bce' needs a probability strictly between 0 and 1, got "
            f"{prediction.data!r} (end the expression with a sigmoid, or use loss='mse')"
        )
    if loss == "mse":
        error = prediction - t
        error.label = "error"
        result = error**2
    else:
        result = -(t * prediction.log() + (1.0 - t) * (1.0 - prediction).log())
    result.label = "L"
    return result


def walkthrough(
    root: Value,
    lr: float | None = None,
    parameters: Iterable[Value] | None = None,
    title: str | None = None,
    digits: int = 6,
    picture: bool = True,
    target: float | None = None,
    loss: str = "mse",
) -> Walkthrough:
    """Trace the forward and backward passes of ``root`` and check every leaf gradient.

    With a ``target``, the walkthrough is of a loss put on top of ``root`` (``loss="mse"``,
    ``(root - target) ** 2``, or ``"bce"``, binary cross-entropy); without one, ``root`` is
    taken to be the loss already. With a learning rate ``lr``, it ends with one
    gradient-descent step ``p <- p - lr * dL/dp`` on each of ``parameters`` and the forward
    pass run again, to show the loss before and after. The default parameters are the leaves
    created inside an nn scope and the leaves named like a weight or a bias (``w``, ``w1``,
    ``b``, ``bias``; see :func:`~chainrule.engine.drawing.vocabulary.is_parameter_name`); the
    other leaves are inputs and stay as they are. Nothing in the graph is modified, ``.grad``
    included.

    With ``picture=True`` the graph is drawn for the HTML page (needs graphviz's ``dot``; without
    it the page carries a note instead, see ``graph_note``), with the walkthrough's names.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"walkthrough: root must be a Value, got {type(root).__name__}")
    if not isinstance(digits, int) or not 1 <= digits <= 17:
        raise OperandTypeError(f"walkthrough: digits must be an int from 1 to 17, got {digits!r}")
    suggested = {}
    if target is not None:
        suggested[root] = "y"  # the prediction, when it has no name of its own
        root = attach_loss(root, target, loss)
    order = topological_order(root)
    position = {node: index for index, node in enumerate(order)}
    given = None if parameters is None else list(parameters)
    for parameter in given or ():
        if not isinstance(parameter, Value) or parameter not in position:
            raise OperandTypeError(
                f"walkthrough: parameter {parameter!r:.60} is not a Value of this graph"
            )
        if not parameter.is_leaf or parameter.is_constant:
            name = node_names(order, digits, suggested)[position[parameter]]
            raise OperandTypeError(
                f"walkthrough: parameter {name!r:.60} is not a leaf created with Value(...)"
            )
    forward = trace_forward(root, digits=digits, parameters=given, suggested=suggested)
    backward = trace_backward(root, parameters=given, digits=digits, suggested=suggested)
    updates: tuple[Update, ...] = ()
    loss_after = None
    rate = None
    if lr is not None:
        rate = as_float(lr, "walkthrough", " lr")
        rows = []
        chosen = None if given is None else {position[p] for p in given}
        for info in forward.nodes:
            if info.role != "parameter" if chosen is None else info.index not in chosen:
                continue
            grad = backward.gradients[info.index]
            assert grad is not None
            rows.append(Update(info.index, info.name, info.value, grad, info.value - rate * grad))
        updates = tuple(rows)
        loss_after = recompute(root, {order[u.node]: u.after for u in updates})
    if picture:
        svg, note = graph_picture(root, [node.name for node in forward.nodes], given,
                                  backward.gradients)
    else:
        svg, note = None, "No graph picture was requested."
    name = forward.nodes[forward.root].name
    return Walkthrough(
        title=title or f"Backpropagation through {name}",
        forward=forward,
        backward=backward,
        lr=rate,
        updates=updates,
        digits=digits,
        svg=svg,
        graph_note=note,
        loss_after=loss_after,
    )
