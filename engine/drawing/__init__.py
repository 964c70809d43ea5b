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

from collections.abc import Iterable

from ..value import Value
from .dot import DIRECTIONS, Direction, Style, write_dot
from .errors import DrawOptionError, GraphTooLargeError, GraphvizError, GraphvizNotFoundError
from .graph import FORMATS, Graph
from .labels import NumberFormat, number_formatter
from .scene import DEFAULT_MAX_NODES, Collapse, build_scene
from .text import render_text

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "DrawOptionError",
    "Graph",
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
) -> Graph:
    """Draw the graph that computed ``root``.

    Each Value is a box showing its label (if any), data and grad; a small oval below it shows
    the operation that computed it, with its inputs named x and y as in the primitive's
    derivative formulas (shown on hover) and constants written in place (``x * 2``). A Value
    used twice gets two edges.

    Options:
        direction: "LR" (left to right, the default), "TB" (top to bottom), "RL" or "BT".
        number_format: a format spec (".4g") or a function float -> str.
        show_grad: show each Value's ``grad``.
        highlight: Values to outline in red.
        parameters: leaves to colour as parameters; leaves created inside a ``scope`` (nn's
            weights and biases) are parameters already.
        colour_roles: fill boxes by role: input, parameter, intermediate value, output (root).
        legend: add a legend of the colours.
        collapse: "neuron" or "layer" draws each nn neuron (or layer) as one box with its
            inputs and outputs; an int collapses at that scope depth.
        clusters: draw Values of the same scope (nn layer, neuron) inside a dashed frame.
        max_nodes: refuse (GraphTooLargeError) to draw more nodes than this; None: no limit.

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
    )
    return Graph(
        write_dot(scene, style), value_count=scene.value_count, group_count=scene.group_count
    )
