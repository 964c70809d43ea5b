"""The compact circuit of a small graph, in CS231n's style, laid out once in Python.

Each operation is a small gate (a circle with its operation: ``+``, ``×``, ``σ``; a gate of
many inputs, such as a weighted sum ``Σwx``, is a taller pill with one port per input); each
value is a wire that carries ``name = value`` above it and, once known, its gradient below.
A constant operand of a binary operation is written into its gate (``−1``, ``^2``) rather than
drawn as a wire. The layout is layered from left to right (a node one column before its
first consumer; an edge that skips columns runs in a lane of its own), and every edge's
``upstream × local`` label is placed next to its edge, where it overlaps no gate, no text, no
wire and no other label of its step (the columns are moved apart until every label fits).

Everything here is deterministic and pure: :func:`layout` reads a
:class:`~chainrule.engine.explain.Lesson` and returns a :class:`Circuit` of plain numbers,
which :mod:`.circuit_svg` writes as SVG (for the page and for slides alike).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..drawing.vocabulary import format_number
from ..errors import ChainruleError
from .geometry import Box, Circuit, Cubic, Edge, Gate, Label, Point, Wire, bounds, polyline
from .lesson import Lesson
from .trace import BackwardStep, Contribution, NodeInfo

__all__ = [
    "CIRCUIT_MAX_NODES", "Box", "Circuit", "CircuitLayoutError", "Edge", "Gate", "Label", "Wire", "edge_text",
    "gate_symbol", "layout", "picture_name", "polyline", "short",
]

#: The most nodes drawn as a circuit; a larger graph keeps graphviz's graph view only.
CIRCUIT_MAX_NODES = 80
#: How many times the layout makes room for labels that do not fit before it gives up.
MAX_ROUNDS = 40


class CircuitLayoutError(ChainruleError, ValueError):
    """A graph too large or too dense to lay out as a compact circuit."""

# Text metrics of the picture's font (DejaVu Sans Mono and the usual monospace fonts are about
# 0.6 em wide per character; a little more is assumed, so that a text never outgrows its box).
FONT = 11.0
GATE_FONT = 13.0
CHAR_WIDTH = 0.62
ASCENT = 0.95
DESCENT = 0.26
TEXT_HEIGHT = (ASCENT + DESCENT) * FONT
TEXT_GAP = 3.0  # between a wire and the text above or below it
ROW_GAP = 8.0  # between the texts of two wires stacked in one column
CONNECT = 34.0  # the horizontal run of an edge from one column to the next
LABEL_PAD = 3.0
MARGIN = 6.0

def text_width(text: str, size: float = FONT) -> float:
    return len(text) * CHAR_WIDTH * size


def short(x: float) -> str:
    """A number as the pictures write it: 4 significant digits."""
    return format_number(x, 4)


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_NN_NAME = re.compile(r"layer(\d+)\.neuron(\d+)\.([A-Za-z_]+?)(\d*)")


def picture_name(name: str) -> str:
    """A name short enough for a picture: an nn parameter ``layer1.neuron0.w2`` is ``w¹₀₂``
    (layer as a superscript, neuron and input as subscripts), ``layer0.neuron1.tanh`` is
    ``tanh⁰₁``; every other name stays as it is.

    >>> picture_name("layer1.neuron0.w2"), picture_name("layer0.neuron1.b"), picture_name("q")
    ('w¹₀₂', 'b⁰₁', 'q')
    """
    match = _NN_NAME.fullmatch(name)
    if match is None:
        return name
    layer, neuron, base, index = match.groups()
    return base + layer.translate(_SUPERSCRIPT) + (neuron + index).translate(_SUBSCRIPT)


# How a gate writes its operation; any other operation is written with its name.
_SYMBOLS = {
    "add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "neg": "−", "sqrt": "√",
    "sigmoid": "σ", "log_sigmoid": "logσ", "maximum": "max", "leaky_relu": "lrelu",
    "dot": "Σwx", "sum": "Σ",
}
_INFIX = frozenset({"add", "sub", "mul", "div", "pow"})


def gate_symbol(op: str, constants: Sequence[str | None] = ()) -> str:
    """The text in a gate: ``+``, ``σ``, ``tanh``; with a constant operand written into it,
    ``−1`` (x - 1), ``1−`` (1 - x), ``^2`` (x ** 2), ``max 0``."""
    symbol = _SYMBOLS.get(op, op)
    if len(constants) == 2 and sum(c is not None for c in constants) == 1:
        first, second = constants
        if op in _INFIX:
            return f"{symbol}{second}" if second is not None else f"{first}{symbol}"
        return f"{symbol} {first if first is not None else second}"
    return symbol


def edge_text(step: BackwardStep, c: Contribution) -> str | None:
    """What the edge of a contribution says during its step: ``1 × -4 = -4``."""
    if c.local is None or c.contribution is None:
        return None
    return f"{short(step.upstream)} × {short(c.local)} = {short(c.contribution)}"


# -- the structure: which nodes are drawn, their columns and their order ----------------------


@dataclass
class _Item:
    """One thing in a column: a node's gate or leaf wire, or a lane of a long edge."""

    key: tuple[int, ...]  # (node,) or (target, slot, column) for a lane
    column: int
    order: int
    top: float  # extent above and below its wire
    bottom: float
    width: float = 0.0  # gate and wire, for a node
    y: float = 0.0


@dataclass
class _Structure:
    nodes: tuple[NodeInfo, ...]
    drawn: list[int]
    ports: dict[int, list[int]]  # gate -> its drawn input slots, top to bottom
    symbols: dict[int, str]
    value_texts: dict[int, list[str]]
    grad_texts: dict[int, list[str]]
    columns: dict[int, int]


def _folded(nodes: Sequence[NodeInfo]) -> dict[int, list[str | None]]:
    """For each operation, the number written into its gate for each input (None: drawn)."""
    folded = {}
    for info in nodes:
        if info.kind != "operation":
            continue
        constants = [short(nodes[i].value) if nodes[i].is_constant else None
                     for i in info.inputs]
        if not (len(constants) == 2 and sum(c is not None for c in constants) == 1):
            constants = [None] * len(constants)
        folded[info.index] = constants
    return folded


def _port_order(info: NodeInfo, drawn_slots: list[int]) -> list[int]:
    """Top to bottom; a weighted sum's inputs w1..wn, x1..xn pair up as w1, x1, w2, x2..."""
    n = len(info.inputs)
    if info.op == "dot" and n % 2 == 0 and len(drawn_slots) == n:
        half = n // 2
        return [slot for k in range(half) for slot in (k, k + half)]
    return drawn_slots


def _structure(w: Lesson) -> _Structure:
    nodes = w.forward.nodes
    folded = _folded(nodes)
    uses_drawn: set[int] = set()
    ports: dict[int, list[int]] = {}
    symbols: dict[int, str] = {}
    for index, constants in folded.items():
        info = nodes[index]
        slots = [s for s, c in enumerate(constants) if c is None]
        ports[index] = _port_order(info, slots)
        uses_drawn.update(info.inputs[s] for s in slots)
        symbols[index] = gate_symbol(info.op or "", constants)
    root = w.forward.root
    drawn = [i for i in range(len(nodes)) if i == root or i in uses_drawn]
    # Columns: a node sits one column before its leftmost consumer.
    depth = {root: 0}
    for index in range(len(nodes) - 1, -1, -1):
        if index not in depth:
            continue
        for slot in ports.get(index, []):
            source = nodes[index].inputs[slot]
            depth[source] = max(depth.get(source, 0), depth[index] + 1)
    deepest = max(depth.values())
    columns = {i: deepest - depth[i] for i in drawn}
    value_texts: dict[int, list[str]] = {}
    grad_texts: dict[int, list[str]] = {i: [] for i in drawn}
    for i in drawn:
        info = nodes[i]
        name = picture_name(info.name)
        value_texts[i] = ([info.name] if info.is_constant
                          else [f"{name} = ?", f"{name} = {short(info.value)}"])
    grad_texts[root].append(short(w.backward.seed))
    for step in w.backward.steps:
        for c in step.contributions:
            if c.grad_after is not None and c.input in grad_texts:
                grad_texts[c.input].append(short(c.grad_after) + " + …")
    for i in drawn:
        final = w.backward.gradients[i]
        if final is not None:
            grad_texts[i].append(short(final))
    return _Structure(nodes, drawn, ports, symbols, value_texts, grad_texts, columns)


def _gate_size(symbol: str, ports: int) -> tuple[float, float, float]:
    """(rx, ry, font) of a gate."""
    font = GATE_FONT if len(symbol) <= 2 else FONT
    radius = max(13.0, text_width(symbol, font) / 2 + 5)
    if ports <= 3:
        return radius, radius, font
    return radius, max(radius, (ports - 1) * 6 + 8), font


def _port_offsets(count: int, rx: float, ry: float) -> list[float]:
    if count <= 1:
        return [0.0] * count
    spacing = min(14.0, 1.5 * rx / (count - 1)) if rx == ry else (2 * ry - 16) / (count - 1)
    return [(k - (count - 1) / 2) * spacing for k in range(count)]


# -- vertical placement -----------------------------------------------------------------------


def _place(items: list[_Item], desired: list[float], row_gap: float) -> None:
    """Set the y of a column's items (in order) as close as possible to ``desired`` (least
    squares) while keeping each pair apart: isotonic regression by pooling adjacent
    violators, on y minus the cumulative separation."""
    offsets = [0.0]
    for a, b in pairwise(items):
        offsets.append(offsets[-1] + a.bottom + b.top + row_gap)
    blocks: list[list[float]] = []  # [sum, count]
    for target, offset in zip(desired, offsets, strict=True):
        blocks.append([target - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    k = 0
    for total, count in blocks:
        for _ in range(int(count)):
            items[k].y = total / count + offsets[k]
            k += 1


def _vertical(columns: list[list[_Item]], links: list[tuple[_Item, _Item, float]],
              row_gap: float) -> None:
    """Alternate sweeps: align each item with the ports it feeds (right to left) and each gate
    with its inputs (left to right), keeping every column's items apart."""
    incoming: dict[int, list[tuple[_Item, float]]] = {}
    outgoing: dict[int, list[tuple[_Item, float]]] = {}
    for source, target, offset in links:
        incoming.setdefault(id(target), []).append((source, offset))
        outgoing.setdefault(id(source), []).append((target, offset))
    for column in columns:
        _place(column, [0.0] * len(column), row_gap)
    for _ in range(12):
        for column in reversed(columns):
            _place(column, [
                sum(t.y + off for t, off in outgoing[id(i)]) / len(outgoing[id(i)])
                if id(i) in outgoing else i.y for i in column], row_gap)
        for column in columns:
            _place(column, [
                sum(s.y - off for s, off in incoming[id(i)]) / len(incoming[id(i)])
                if id(i) in incoming else i.y for i in column], row_gap)


# -- the whole layout -------------------------------------------------------------------------


def layout(w: Lesson) -> Circuit:
    """The circuit of ``w``'s graph, with every edge label placed (see the module docstring).

    Raises :class:`CircuitLayoutError` for a graph of more than :data:`CIRCUIT_MAX_NODES`
    nodes, or one whose labels still do not fit after :data:`MAX_ROUNDS` rounds of making
    room (the page then shows graphviz's graph view only)."""
    if len(w.forward.nodes) > CIRCUIT_MAX_NODES:
        raise CircuitLayoutError(
            f"circuit: {w.root_name}'s graph has {len(w.forward.nodes)} nodes, more than a "
            f"compact circuit shows ({CIRCUIT_MAX_NODES}); draw it with draw() instead")
    s = _structure(w)
    extra: dict[int, float] = {}  # more room after a column, where a label did not fit
    misses: dict[int, int] = {}
    row_gap = ROW_GAP
    for _ in range(MAX_ROUNDS):  # each round makes room where labels did not fit
        circuit, misfits = _attempt(w, s, extra, row_gap)
        if not misfits:
            return circuit
        crowded = False
        for column in misfits:  # a little room at a time: the picture stays compact
            misses[column] = misses.get(column, 0) + 1
            extra[column] = extra.get(column, 0.0) + 24.0
            crowded = crowded or misses[column] % 3 == 0
        if crowded:  # room across did not help: more room between the rows too
            row_gap += 8.0
    raise CircuitLayoutError(
        f"circuit: the labels of {w.root_name}'s graph do not fit a compact circuit after "
        f"{MAX_ROUNDS} rounds of making room; draw it with draw() instead")


def _attempt(w: Lesson, s: _Structure, extra: dict[int, float],
             row_gap: float) -> tuple[Circuit, set[int]]:
    nodes = s.nodes
    count = max(s.columns.values()) + 1
    columns: list[list[_Item]] = [[] for _ in range(count)]
    items: dict[int, _Item] = {}
    lanes: dict[tuple[int, int], list[_Item]] = {}
    sizes: dict[int, tuple[float, float, float]] = {}
    order = 0

    def text_extent(i: int) -> float:
        widths = [text_width(t) for t in s.value_texts[i] + s.grad_texts[i]]
        return max(30.0, max(widths) + 8)

    def add(key: tuple[int, ...], column: int, top: float, bottom: float,
            width: float) -> _Item:
        nonlocal order
        item = _Item(key, column, order, top, bottom, width)
        order += 1
        columns[column].append(item)
        return item

    def visit(i: int) -> None:
        if i in items:
            return
        half = TEXT_GAP + TEXT_HEIGHT
        if i in s.ports:
            rx, ry, _ = sizes[i] = _gate_size(s.symbols[i], len(s.ports[i]))
            items[i] = add((i,), s.columns[i], max(ry, half), max(ry, half),
                           2 * rx + text_extent(i))
            for slot in s.ports[i]:
                source = nodes[i].inputs[slot]
                span = range(s.columns[source] + 1, s.columns[i])
                lanes[(i, slot)] = [add((i, slot, c), c, 5.0, 5.0, 0.0) for c in span]
                visit(source)
        else:
            items[i] = add((i,), s.columns[i], half, half, text_extent(i))

    visit(w.forward.root)
    for column in columns:
        column.sort(key=lambda item: item.order)
    links: list[tuple[_Item, _Item, float]] = []
    offsets: dict[tuple[int, int], float] = {}
    for gate, slots in s.ports.items():
        if gate not in items:
            continue
        rx, ry, _ = sizes[gate]
        for slot, offset in zip(slots, _port_offsets(len(slots), rx, ry), strict=True):
            offsets[(gate, slot)] = offset
            chain = [items[nodes[gate].inputs[slot]], *lanes[(gate, slot)], items[gate]]
            for a, b in pairwise(chain):
                links.append((a, b, offset if b is items[gate] else 0.0))
    _vertical(columns, links, row_gap)

    # Horizontal: each column as wide as its widest item, then the run to the next column.
    lefts, rights = [], []
    x = MARGIN
    for c, column in enumerate(columns):
        lefts.append(x)
        rights.append(x + max((item.width for item in column), default=0.0))
        x = rights[-1] + CONNECT + extra.get(c, 0.0)

    gates, wires = [], []
    for i in s.drawn:
        item = items[i]
        c = item.column
        left = lefts[c]
        if i in s.ports:
            rx, ry, font = sizes[i]
            gates.append(Gate(i, left + rx, item.y, rx, ry, s.symbols[i], font))
            left += 2 * rx
        name = picture_name(nodes[i].name)
        value_width = max(text_width(t) for t in s.value_texts[i])
        value_box = Box(left + 4, item.y - TEXT_GAP - TEXT_HEIGHT, left + 4 + value_width,
                        item.y - TEXT_GAP)
        grad_box = None
        if not nodes[i].is_constant:
            grad_width = max((text_width(t) for t in s.grad_texts[i]), default=0.0)
            grad_box = Box(left + 4, item.y + TEXT_GAP, left + 4 + grad_width,
                           item.y + TEXT_GAP + TEXT_HEIGHT)
        wires.append(Wire(i, item.y, left, rights[c], name, value_box, grad_box))

    gate_at = {g.node: g for g in gates}
    wire_at = {wire.node: wire for wire in wires}
    routes: list[tuple[int, int, int, tuple[Cubic, ...]]] = []
    for gate, slots in s.ports.items():
        g = gate_at[gate]
        for slot in slots:
            source = nodes[gate].inputs[slot]
            dy = offsets[(gate, slot)]
            if g.rx == g.ry:
                port = (g.cx - math.sqrt(max(g.rx * g.rx - dy * dy, 0.0)), g.cy + dy)
            else:
                port = (g.cx - g.rx, g.cy + dy)
            points = [(wire_at[source].right, wire_at[source].y)]
            curves: list[Cubic] = []
            for lane in lanes[(gate, slot)]:
                start, end = (lefts[lane.column], lane.y), (rights[lane.column], lane.y)
                curves.append(_connector(points[-1], start))
                curves.append((start, start, end, end))
                points.append(end)
            curves.append(_connector(points[-1], port))
            routes.append((source, gate, slot, tuple(curves)))

    edges, misfits = _place_labels(w, routes, gates, wires, s)
    view = _view(gates, wires, edges)
    circuit = Circuit(tuple(gates), tuple(wires), tuple(edges), view,
                      tuple(picture_name(n.name) for n in nodes))
    return circuit, misfits


def _connector(start: Point, end: Point) -> Cubic:
    half = (end[0] - start[0]) / 2
    return (start, (start[0] + half, start[1]), (end[0] - half, end[1]), end)


def _view(gates: Sequence[Gate], wires: Sequence[Wire], edges: Sequence[Edge]) -> Box:
    view = gates[0].box if gates else wires[0].value_box
    for gate in gates:
        view = view.union(gate.box)
    for wire in wires:
        view = view.union(wire.value_box).union(Box(wire.left, wire.y, wire.right, wire.y))
        if wire.grad_box is not None:
            view = view.union(wire.grad_box)
    for edge in edges:
        view = view.union(bounds(polyline(edge.curves)))
        if edge.label is not None:
            view = view.union(edge.label.box)
    return Box(view.left - MARGIN, view.top - MARGIN, view.right + MARGIN, view.bottom + MARGIN)


# -- the labels -------------------------------------------------------------------------------


def _place_labels(
    w: Lesson,
    routes: list[tuple[int, int, int, tuple[Cubic, ...]]],
    gates: Sequence[Gate],
    wires: Sequence[Wire],
    s: _Structure,
) -> tuple[list[Edge], set[int]]:
    """Each edge with the label of its step, and the columns after which labels did not fit
    (none when every label fits)."""
    fixed: list[Box] = [g.box for g in gates]
    for wire in wires:
        fixed.append(wire.value_box)
        if wire.grad_box is not None:
            fixed.append(wire.grad_box)
    lines: list[tuple[Box, list[Point]]] = []
    for wire in wires:
        segment = [(wire.left, wire.y), (wire.right, wire.y)]
        lines.append((bounds(segment), segment))
    paths = {}
    for _, target, slot, curves in routes:
        points = polyline(curves)
        paths[(target, slot)] = points
        lines.append((bounds(points), points))
    texts = {}
    for step in w.backward.steps:
        for slot, c in enumerate(step.contributions):
            text = edge_text(step, c)
            if text is not None and (step.node, slot) in paths:
                texts[(step.node, slot)] = text
    placed: dict[tuple[int, int], Label] = {}
    misfits: set[int] = set()
    for step in w.backward.steps:
        this_step: list[Box] = []
        leaders: list[tuple[Box, list[Point]]] = []  # a later label must not sit on one
        for slot in s.ports.get(step.node, []):
            key = (step.node, slot)
            if key not in texts:
                continue
            label = _fit(texts[key], paths[key], fixed + this_step, lines + leaders)
            if label is None:
                misfits.add(s.columns[step.node] - 1)
                continue
            placed[key] = label
            this_step.append(label.box)
            if label.leader is not None:
                leaders.append((bounds(list(label.leader)), list(label.leader)))
    edges = [Edge(source, target, slot, curves, placed.get((target, slot)))
             for source, target, slot, curves in routes]
    return edges, misfits


def _at(points: Sequence[Point], fraction: float) -> Point:
    lengths = [math.dist(a, b) for a, b in pairwise(points)]
    remaining = fraction * sum(lengths)
    for (a, b), length in zip(pairwise(points), lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        remaining -= length
    return points[-1]


_FRACTIONS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8)
_DISTANCES = (2.0, 8.0, 15.0, 24.0, 34.0, 46.0, 60.0)
_ATTACHED = 4.0  # a label this close to its edge needs no leader line
# Where a label is tried, nearest first: (anchor, distance from the edge, shift along it in
# label widths, below the edge); a label sits best close to the middle of its edge, above it.
_CANDIDATES = sorted(
    ((rank, distance, shift, below)
     for rank in range(len(_FRACTIONS)) for distance in _DISTANCES
     for shift in (0.0, -0.3, 0.3, -0.5, 0.5) for below in (False, True)),
    key=lambda c: c[1] + abs(c[2]) * 20 + c[0] * 3 + c[3])


def _fit(text: str, path: Sequence[Point], boxes: Sequence[Box],
         lines: Sequence[tuple[Box, Sequence[Point]]]) -> Label | None:
    width = text_width(text) + 2 * LABEL_PAD
    height = TEXT_HEIGHT + 2
    anchors = [_at(path, fraction) for fraction in _FRACTIONS]
    # Only what lies near the edge can be in the way.
    reach = bounds(path)
    reach = Box(reach.left - width - 4, reach.top - _DISTANCES[-1] - height - 4,
                reach.right + width + 4, reach.bottom + _DISTANCES[-1] + height + 4)
    near = [b for b in boxes if b.overlaps(reach)]
    near_lines = [(b, points) for b, points in lines if b.overlaps(reach)]
    for rank, distance, shift, below in _CANDIDATES:
        anchor = ax, ay = anchors[rank]
        left = ax - width / 2 + shift * width
        top = ay + distance if below else ay - distance - height
        box = Box(left, top, left + width, top + height)
        if any(box.overlaps(other, 2.0) for other in near):
            continue
        grown = Box(box.left - 1, box.top - 1, box.right + 1, box.bottom + 1)
        if any(b.overlaps(grown) and any(grown.crosses(p, q) for p, q in pairwise(points))
               for b, points in near_lines):
            continue
        nearest = box.nearest(anchor)
        leader = None
        if math.dist(nearest, anchor) > _ATTACHED:
            leader = (anchor, nearest)
            if any(b.crosses(*leader) for b in near):
                continue
        return Label(text, box, leader)
    return None
