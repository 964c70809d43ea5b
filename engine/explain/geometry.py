"""The shapes of a laid-out circuit (see :mod:`.circuit`), as plain numbers: boxes, gates,
wires, edges and their labels, in the picture's coordinates (y grows downwards)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Box", "Circuit", "Cubic", "Edge", "Gate", "Label", "Point", "Wire", "bounds",
           "polyline"]

Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in the picture's coordinates (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        return (self.left < other.right + gap and other.left < self.right + gap
                and self.top < other.bottom + gap and other.top < self.bottom + gap)

    def crosses(self, p: Point, q: Point) -> bool:
        """Whether the segment pq passes through the box (Liang-Barsky clipping)."""
        (x0, y0), (x1, y1) = p, q
        dx, dy = x1 - x0, y1 - y0
        low, high = 0.0, 1.0
        for step, distance in ((-dx, x0 - self.left), (dx, self.right - x0),
                               (-dy, y0 - self.top), (dy, self.bottom - y0)):
            if step == 0:
                if distance < 0:
                    return False
                continue
            t = distance / step
            if step < 0:
                low = max(low, t)
            else:
                high = min(high, t)
            if low > high:
                return False
        return True

    def nearest(self, p: Point) -> Point:
        return (min(max(p[0], self.left), self.right), min(max(p[1], self.top), self.bottom))

    def union(self, other: Box) -> Box:
        return Box(min(self.left, other.left), min(self.top, other.top),
                   max(self.right, other.right), max(self.bottom, other.bottom))


def _sample(curve: Cubic, count: int = 12) -> list[Point]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    points = []
    for k in range(count + 1):
        t = k / count
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        points.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return points


def polyline(curves: Iterable[Cubic]) -> list[Point]:
    """An edge's curves as a polyline fine enough for geometry checks."""
    points: list[Point] = []
    for curve in curves:
        sampled = _sample(curve) if curve[1] != curve[0] or curve[2] != curve[3] else [
            curve[0], curve[3]]
        points.extend(sampled if not points else sampled[1:])
    return points


def bounds(points: Sequence[Point]) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Box(min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class Gate:
    """An operation: a circle (``rx == ry``) or a pill of many ports, centred at (cx, cy)."""

    node: int
    cx: float
    cy: float
    rx: float
    ry: float
    symbol: str
    font: float

    @property
    def box(self) -> Box:
        return Box(self.cx - self.rx, self.cy - self.ry, self.cx + self.rx, self.cy + self.ry)


@dataclass(frozen=True)
class Wire:
    """A value's wire from ``left`` to ``right`` at height ``y``: ``name = value`` above it
    (in ``value_box``), its gradient below (in ``grad_box``, sized for the longest text it
    ever shows)."""

    node: int
    y: float
    left: float
    right: float
    name: str
    value_box: Box
    grad_box: Box | None  # None for a constant: it gets no gradient


@dataclass(frozen=True)
class Label:
    """An ``upstream × local`` label: its box, and a leader line to its edge when it does not
    touch the edge."""

    text: str
    box: Box
    leader: tuple[Point, Point] | None


@dataclass(frozen=True)
class Edge:
    """Input ``slot`` of ``target`` receiving ``source``'s value, drawn as cubic curves."""

    source: int
    target: int
    slot: int
    curves: tuple[Cubic, ...]
    label: Label | None


@dataclass(frozen=True)
class Circuit:
    """A laid-out circuit: everything in the picture's coordinates, ``view`` its extent."""

    gates: tuple[Gate, ...]
    wires: tuple[Wire, ...]
    edges: tuple[Edge, ...]
    view: Box
    names: tuple[str, ...]  # each node's name in the picture (see picture_name)

    @property
    def width(self) -> float:
        return self.view.right - self.view.left

    @property
    def height(self) -> float:
        return self.view.bottom - self.view.top

    def obstacles(self) -> list[Box]:
        """The boxes no label may overlap: gates and the texts of the wires."""
        boxes = [gate.box for gate in self.gates]
        for wire in self.wires:
            boxes.append(wire.value_box)
            if wire.grad_box is not None:
                boxes.append(wire.grad_box)
        return boxes
