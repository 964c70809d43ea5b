"""Seeing a computation graph: :func:`draw` (graphviz) and :func:`render_text` (terminal).

>>> from chainrule.engine import Value, draw
>>> a = Value(2.0, label="a")
>>> g = draw(a * a + 1)
>>> g.source.count("n0 -> op1")   # a * a: two edges from a
2

``draw`` needs nothing to build the DOT text; SVG, PNG and PDF are made by graphviz's ``dot``
program when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..value import Value
from .dot import DIRECTIONS, Direction, Style, write_dot
from .errors import DrawOptionError, GraphTooLargeError, GraphvizError, GraphvizNotFoundError
from .labels import NumberFormat, number_formatter
from .render import FORMATS, Drawing
from .scene import DEFAULT_MAX_NODES, Collapse, build_scene
from .text import render_text

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "DrawOptionError",
    "Drawing",
    "GraphTooLargeError",
    "GraphvizError",
    "GraphvizNotFoundError",
    "draw",
    "render_text",
]


def draw(
    root: Value,
    *,
    direction: Direction = "LR",
    number_format: NumberFormat = ".4g",
    show_grad: bool = True,
    highlight: Iterable[Value] | None = None,
    parameters: Iterable[Value] | None = None,
    colour_roles: bool = True,
    legend: bool = False,
    collapse: Collapse = None,
    clusters: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    names: Sequence[str] | None = None,
    gradients: Sequence[float | None] | None = None,
    order: list[Value] | None = None,
) -> Drawing:
    """Draw the graph that computed ``root``.

    Each Value is a box showing its name, data and grad; a small oval beside it shows the
    operation that computed it in its inputs' own names (``q * z``, constants written in place:
    ``x ** 2``), with each local derivative in the same names on hover (``d/dq (q * z) = z``).
    A Value used twice gets two edges. Names come from
    :func:`~chainrule.engine.naming.node_names` (the label; ``n1, n2...`` for
    unlabeled values in order of appearance; ``f`` for an unlabeled output), the same names the
    walkthrough uses; ``names`` overrides them (one per node of ``topological_order(root)``).

    Options:
        direction: "LR" (left to right, the default), "TB" (top to bottom), "RL" or "BT".
        number_format: a format spec (".4g") or a function float -> str.
        show_grad: show each Value's ``grad``.
        highlight: Values to outline in red.
        parameters: leaves to colour as parameters; leaves created inside a ``scope`` (nn's
            weights and biases) are parameters already. Not given: leaves named like a weight
            or bias (``w1``, ``b``) are parameters too (see ``naming.node_roles``).
        colour_roles: fill boxes by role: input, parameter, intermediate value, output (root).
        legend: add a legend of the colours.
        collapse: a word draws each scope it names (``"neuron"``: ``neuron0``, ``neuron1``...,
            nn's neurons; ``"layer"``: its layers) as one box with its inputs and outputs; an
            int collapses at that scope depth.
        clusters: draw Values of the same scope (nn layer, neuron) inside a dashed frame.
        max_nodes: refuse (GraphTooLargeError) to draw more nodes than this; None: no limit.
        names: what each node is called, one per node of ``topological_order(root)``.
        gradients: the gradients to show instead of each Value's ``grad`` (one per node, as
            ``names``; the walkthrough passes its trace's, so that drawing never needs
            ``backward()`` to have run).
        order: ``topological_order(root)``, when the caller has it already (the walkthrough
            sorts its graph once for everything it shows).

    Node ids are stable: the i-th Value of ``topological_order(root)`` is the DOT node and SVG
    element ``n{i}``, its operation ``op{i}``; collapsed boxes are ``group_<scope path>``.
    """
    if direction not in DIRECTIONS:
        raise DrawOptionError(
            f"draw: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    style = Style(
        direction=direction,
        number=number_formatter(number_format),
        show_grad=bool(show_grad),
        colour_roles=bool(colour_roles),
        legend=bool(legend),
    )
    scene = build_scene(
        root,
        parameters=parameters,
        highlight=highlight,
        collapse=collapse,
        clusters=clusters,
        max_nodes=max_nodes,
        names=names,
        gradients=gradients,
        order=order,
    )
    return Drawing(
        write_dot(scene, style), value_count=scene.value_count, group_count=scene.group_count
    )
