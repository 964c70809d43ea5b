"""The whole lesson on one graph: forward pass, backward pass, checks and an optional update.

:func:`walkthrough` bundles :func:`trace_forward`, :func:`trace_backward` and (when a learning
rate is given) one gradient-descent step into a :class:`Walkthrough`, which renders itself as
text, Markdown or a self-contained HTML page and displays inline in Jupyter.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html as html_module
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..drawing.errors import GraphTooLargeError
from ..errors import (
    ChainruleError,
    DomainError,
    GradientError,
    NumericOverflowError,
    OperandTypeError,
)
from ..graph import size_in_binary_nodes, topological_order
from ..naming import node_names
from ..value import Value, as_float
from .circuit import CIRCUIT_MAX_NODES, CircuitLayoutError, layout
from .circuit_svg import circuit_svg, step_count, svg_to_pdf
from .html import walkthrough_html
from .lesson import Lesson, Update
from .live import rebuilt_order
from .markdown import walkthrough_markdown
from .nudge import DESCENT
from .picture import graph_picture
from .rules import partner_slots
from .shortcuts import loss_shortcuts
from .template import fill
from .text import walkthrough_text
from .trace import layer_of, recompute, record, trace_backward, trace_forward
from .worksheet import build_sheet, save_worksheet, worksheet, worksheet_html

__all__ = [
    "LOSSES", "MAX_NODES", "Update", "Walkthrough", "WalkthroughOptionError", "attach_loss",
    "walkthrough",
]

#: The most nodes :func:`walkthrough` steps through unless told otherwise (``max_nodes=``),
#: counting an n-ary node as the binary nodes it stands for (a ``dot`` of n pairs as 2n - 1:
#: its step writes a line per input). Time
#: and memory grow linearly (about 0.2 ms and 2 KB per node, and 3 KB per node of HTML page), so
#: the limit is about what a person can step through: one sample's loss through a network of a
#: few thousand parameters, not a whole batch.
MAX_NODES = 20_000


class WalkthroughOptionError(ChainruleError, ValueError):
    """An option of a walkthrough's renderer has a value it cannot use (``text(width=20)``)."""


class Walkthrough(Lesson):
    """A :class:`Lesson` that renders itself: as text, Markdown, a worksheet or a page, and
    inline in Jupyter. Build it with :func:`walkthrough`."""

    def text(self, width: int = 80) -> str:
        """The walkthrough for a terminal, no line longer than ``width`` (at least 40)."""
        if isinstance(width, bool) or not isinstance(width, int):
            raise OperandTypeError(
                f"text: width must be an int of at least 40 columns, got {width!r:.40}"
            )
        if width < 40:
            raise WalkthroughOptionError(
                f"text: width must be at least 40 columns, got {width}"
            )
        return walkthrough_text(self, width=width)

    def markdown(self) -> str:
        """The walkthrough as Markdown (the same steps as :meth:`text`)."""
        return walkthrough_markdown(self)

    def worksheet(self, steps: bool = True, image: str | None = None) -> str:
        """A printable Markdown worksheet: the circuit, the forward pass, the backward pass with
        a blank for each number worth working out (with ``steps``, the default, the local
        derivatives that take arithmetic and the contributions of a fan-out too, not only the
        gradients), questions about what the numbers mean, then the answer key with the
        common mistakes after a page break. The circuit is an image: ``image`` is the path
        or URL of its SVG (see :meth:`save_worksheet`), by default a ``data:`` URI inside the
        text (see :mod:`~chainrule.engine.explain.worksheet`)."""
        return worksheet(self, steps=steps, image=image)

    def worksheet_html(self, steps: bool = True) -> str:
        """The same worksheet as one self-contained, printable HTML page: the circuit inline,
        print styles, the answer key on a page of its own."""
        return worksheet_html(build_sheet(self, steps))

    def save_worksheet(self, path: str | Path, steps: bool = True) -> Path:
        """Write the worksheet to ``path``: HTML for ``.html``, else Markdown with the circuit
        beside it (``sheet.md`` and ``sheet-circuit.svg``). Returns the path."""
        return save_worksheet(self, Path(path), steps)[0]

    def html(self, svg: str | None = None) -> str:
        """The interactive page as one self-contained HTML document (see :func:`walkthrough_html`)."""
        return walkthrough_html(self, svg=svg)

    def widget(self) -> Any:
        """The live page as a Jupyter widget (needs the ``widget`` extra, anywidget): every
        leaf a field, with the leaf values readable and settable from Python as
        ``widget.leaves`` (by name) and the numbers at them as ``widget.output``,
        ``widget.values`` and ``widget.gradients`` (see :mod:`~chainrule.engine.explain.widget`).
        """
        from .widget import walkthrough_widget

        return walkthrough_widget(self, self._repr_html_())

    def save_html(self, path: str | Path) -> Path:
        """Write the page (see :meth:`html`) to ``path`` and return the path."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def circuit_svg(self, step: int | None = None, legend: bool = True) -> str:
        """The compact circuit at ``step`` as a standalone SVG document, for a slide or a
        handout: the picture the page shows at its step ``step`` (counted from 1 as the page's
        counter counts; default: the last step, every gradient known). With ``legend``, the
        full names of the names it shortens (``w¹₀₀ = layer1.neuron0.w0``) are listed below.
        """
        circuit = self.circuit if self.circuit is not None else layout(self)
        return circuit_svg(self, circuit, step_count(self) if step is None else step,
                           with_legend=legend)

    def save_svg(self, path: str | Path, step: int | None = None, legend: bool = True) -> Path:
        """Write the circuit at ``step`` (see :meth:`circuit_svg`) to ``path``: SVG, or PDF when
        ``path`` ends in ``.pdf`` (needs rsvg-convert or Chromium). Returns the path."""
        path = Path(path)
        svg = self.circuit_svg(step, legend)
        if path.suffix.lower() == ".pdf":
            return svg_to_pdf(svg, path)
        path.write_text(svg, encoding="utf-8")
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

    def __repr__(self) -> str:
        # One line in a plain Python shell; Jupyter shows the page (_repr_html_) instead.
        def count(n: int, what: str) -> str:
            return f"{n} {what} step{'' if n == 1 else 's'}"
        return (f"<Walkthrough of {self.root_name}: {count(len(self.forward.steps), 'forward')}, "
                f"{count(len(self.backward.steps), 'backward')}; "
                ".text(), .html(), .worksheet(), .save_html(path)>")


#: The losses ``walkthrough(..., target=...)`` can put on top of the output.
LOSSES = ("mse", "bce")


def attach_loss(prediction: Value, target: float, loss: str = "mse") -> Value:
    """A loss on ``prediction`` against ``target``, built from new nodes (the user's nodes are
    not changed): ``mse`` is ``(prediction - target) ** 2``, ``bce`` the binary cross-entropy
    ``-(target * log(prediction) + (1 - target) * log(1 - prediction))`` of a probability,
    built as :func:`chainrule.nn.binary_cross_entropy` builds it (so with the same numbers as
    PyTorch's): ``-log(y)`` for a target of 1 and ``-log1p(-y)`` for 0, with no term
    multiplied by zero."""
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
    elif t == 1.0:  # the term a target of 1 multiplies by 0 is left out, as nn's loss does
        result = -prediction.log()
    elif t == 0.0:
        result = -(-prediction).log1p()  # log(1 - y) without the rounding of 1 - y
    else:
        result = -(prediction.log() * t + (-prediction).log1p() * (1.0 - t))
    result.label = "L"
    return result


_WEIGHT = re.compile(r"w(\d+)")


def sample_inputs(order: list[Value]) -> dict[Value, str]:
    """Names for a sample's inputs given to an nn network as plain numbers (constants): the
    number multiplied by a first-layer weight ``wK`` is ``x{K+1}``, as the course writes a
    sample ``(x1, x2)``, so the walkthrough never shows an anonymous ``w0 * 1``."""
    named: dict[Value, str] = {}
    for node in order:
        primitive = node.primitive
        if primitive is None:
            continue
        for slot, partner in enumerate(partner_slots(primitive)):
            weight = node.inputs[slot]
            match = _WEIGHT.fullmatch(weight.label or "")
            if partner is None or match is None or not weight.scope or not weight.is_leaf:
                continue
            value = node.inputs[partner]
            if value.is_constant:
                named[value] = f"x{int(match.group(1)) + 1}"
    return named


def walkthrough(
    root: Value,
    lr: float | None = None,
    parameters: Iterable[Value] | None = None,
    title: str | None = None,
    digits: int = 6,
    picture: bool = True,
    target: float | None = None,
    loss: str = "mse",
    max_nodes: int | None = MAX_NODES,
) -> Walkthrough:
    """Trace the forward and backward passes of ``root`` and check every leaf gradient.

    With a ``target``, the walkthrough is of a loss put on top of ``root`` (``loss="mse"``,
    ``(root - target) ** 2``, or ``"bce"``, binary cross-entropy); without one, ``root`` is
    taken to be the loss already. With a learning rate ``lr``, it ends with one
    gradient-descent step ``p <- p - lr * dL/dp`` on each of ``parameters`` and the forward
    pass run again, to show the loss before and after. The default parameters are the leaves
    created inside an nn scope and the leaves named like a weight or a bias (``w``, ``w1``,
    ``b``, ``bias``; see :func:`~chainrule.engine.naming.is_parameter_name`); the
    other leaves are inputs and stay as they are. Nothing in the graph is modified, ``.grad``
    included.

    With ``picture=True`` the graph is drawn for the HTML page (needs graphviz's ``dot``; without
    it the page carries a note instead, see ``graph_note``), with the walkthrough's names; a
    graph of at most :data:`~chainrule.engine.explain.circuit.CIRCUIT_MAX_NODES` nodes is also
    laid out as a compact circuit (``circuit``, no graphviz needed), which the page shows first
    and :meth:`Walkthrough.save_svg` writes for slides.

    A graph of more than ``max_nodes`` nodes (default :data:`MAX_NODES`, 20,000; None for no
    limit) is refused with a :class:`~chainrule.engine.drawing.GraphTooLargeError`.
    """
    if not isinstance(root, Value):
        raise OperandTypeError(f"walkthrough: root must be a Value, got {type(root).__name__}")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise OperandTypeError(
            f"walkthrough: digits must be an int from 1 to 17, got {digits!r:.40}"
        )
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise OperandTypeError(
            f"walkthrough: max_nodes must be a positive int or None, got {max_nodes!r:.40}"
        )
    if not isinstance(picture, bool):
        raise OperandTypeError(f"walkthrough: picture must be True or False, got {picture!r:.40}")
    if title is not None and not isinstance(title, str):
        raise OperandTypeError(
            f"walkthrough: title must be a str, got {type(title).__name__}"
        )
    prediction = root
    if target is not None:
        root = attach_loss(root, target, loss)
    # The graph is sorted once, here; every part of the lesson reads this order.
    order = topological_order(root)
    suggested = sample_inputs(order)
    if target is not None:
        suggested[prediction] = "y"  # the prediction, when it has no name of its own
    size = size_in_binary_nodes(order)
    if max_nodes is not None and size > max_nodes:
        counted = "" if size == len(order) else (
            f" ({len(order)} nodes, some n-ary: as many steps and lines as {size} binary ones)")
        raise GraphTooLargeError(
            f"walkthrough: the graph has {size} nodes{counted}, more than max_nodes={max_nodes}: "
            "too many steps to follow one by one (and about 3 MB of page per 1,000 nodes). "
            "Walk through one sample's loss rather than a whole batch's, or raise the limit "
            f"(walkthrough(root, max_nodes={size}), or max_nodes=None)"
        )
    position = {node: index for index, node in enumerate(order)}
    if isinstance(parameters, Value):  # one parameter, as draw() takes it
        parameters = [parameters]
    if parameters is not None and (
        not isinstance(parameters, Iterable) or isinstance(parameters, str)
    ):
        raise OperandTypeError(
            f"walkthrough: parameters must be Values of the graph (a list of them), got "
            f"{type(parameters).__name__}"
        )
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
    recording = record(root, given, digits, suggested, order)
    forward = trace_forward(root, digits=digits, recording=recording)
    try:
        backward = trace_backward(root, digits=digits, recording=recording)
    except GradientError as error:  # named after the call the user made
        raise GradientError(f"walkthrough{str(error).removeprefix('trace_backward')}") from None
    updates: tuple[Update, ...] = ()
    loss_after = None
    rate = None
    if lr is not None:
        rate = as_float(lr, "walkthrough", " lr")
        rows = []
        chosen = None if given is None else {position[p] for p in given}
        for info in sorted(forward.nodes, key=lambda n: layer_of(n.scope) or 0):
            if info.role != "parameter" if chosen is None else info.index not in chosen:
                continue
            grad = backward.gradients[info.index]
            assert grad is not None
            after = info.value - rate * grad
            if not math.isfinite(after):
                raise NumericOverflowError(fill(DESCENT["overflow"], None, holes={
                    "lr": rate, "name": info.name, "before": info.value, "grad": grad,
                    "after": after}))
            rows.append(Update(info.index, info.name, info.value, grad, after))
        updates = tuple(rows)
        try:
            loss_after = recompute(root, {order[u.node]: u.after for u in updates}, recording)
        except ChainruleError as error:
            raise type(error)(fill(DESCENT["fails"], None, holes={
                "lr": rate, "error": str(error)})) from None
    if picture:
        svg, note = graph_picture(root, [node.name for node in forward.nodes], given,
                                  backward.gradients, order=order)
    else:
        svg, note = None, "No graph picture was requested."
    name = forward.nodes[forward.root].name
    shortcuts = loss_shortcuts(backward.nodes, backward.root, backward.gradients, digits,
                               f"d{name}")
    steps = Walkthrough(
        title=title or f"Backpropagation through {name}",
        forward=forward,
        backward=backward,
        lr=rate,
        updates=updates,
        digits=digits,
        svg=svg,
        graph_note=note,
        loss_after=loss_after,
        shortcuts=shortcuts,
        # A copy of the graph as recorded: training it afterwards (setting its leaves' data)
        # leaves the lesson, its live page and its widget as they were.
        order=tuple(rebuilt_order(order, {})),
    )
    if picture and len(order) <= CIRCUIT_MAX_NODES:  # small enough to read as a circuit
        with contextlib.suppress(CircuitLayoutError):  # too dense: the graph view only
            steps = dataclasses.replace(steps, circuit=layout(steps))
    return steps
