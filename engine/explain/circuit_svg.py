"""The circuit (see :mod:`.circuit`) written as SVG at one step of the walkthrough: the same
picture on the page (whose script then follows the steps) and on a slide or a handout.

Steps are numbered as the page's counter numbers them, from 1: the forward steps, the start
of the backward pass (the output's own gradient), one step per backward node, and the summary.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..errors import ChainruleError, OperandTypeError
from .circuit import ASCENT, DESCENT, FONT, short
from .geometry import Circuit, Cubic
from .lesson import Lesson
from .trace import Pending

__all__ = ["CircuitStepError", "State", "circuit_svg", "legend", "state_at", "step_count",
           "svg_to_pdf"]

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"
VALUE_INK = "#1f6e30"  # CS231n: values in green above the wire, gradients in red below
GRAD_INK = "#b02525"
LABEL_INK = "#8a2d00"
CURRENT = "#b03a00"
SOURCE = "#1259a0"
INK = "#1d2330"
WIRE = "#4f5868"


class CircuitStepError(ChainruleError, ValueError):
    """A circuit was asked for at a step the walkthrough does not have."""


def step_count(w: Lesson) -> int:
    """How many steps the page has: forward steps, the seed, backward steps, the summary."""
    return len(w.forward.steps) + len(w.backward.steps) + 2


@dataclass(frozen=True)
class State:
    """What the picture shows after a step: ``phase`` (forward, seed, backward, summary), the
    node it is about, the values known, each gradient so far (None: none yet) and the nodes
    still waiting for contributions."""

    phase: str
    node: int | None
    backward_index: int | None
    known: tuple[bool, ...]
    grads: tuple[float | None, ...]
    pending: frozenset[int]


def state_at(w: Lesson, step: int) -> State:
    """The state after ``step`` (1-based, as the page's counter says)."""
    total = step_count(w)
    if isinstance(step, bool) or not isinstance(step, int):
        raise OperandTypeError(f"circuit: step must be an int, got {step!r:.40}")
    if not 1 <= step <= total:
        raise CircuitStepError(f"circuit: step must be from 1 to {total}, got {step}")
    k = step - 1
    forward, backward = w.forward.steps, w.backward.steps
    nodes = w.forward.nodes
    known = [n.kind != "operation" for n in nodes]
    computed = k if k < len(forward) else len(forward) - 1
    for f in forward[: computed + 1]:
        known[f.node] = True
    grads: list[float | None] = [None] * len(nodes)
    if k < len(forward):
        return State("forward", forward[k].node, None, tuple(known), tuple(grads), frozenset())
    grads[w.forward.root] = w.backward.seed
    last = k - len(forward) - 1 if k <= len(forward) + len(backward) else len(backward) - 1
    pending = Pending(w.backward)
    for s in backward[: last + 1]:
        pending.advance(s)
        for c in s.contributions:
            if c.grad_after is not None:
                grads[c.input] = c.grad_after
    waiting = frozenset(pending.first())
    if k == len(forward):
        return State("seed", w.forward.root, None, tuple(known), tuple(grads), waiting)
    if k == total - 1:
        return State("summary", None, None, tuple(known), tuple(grads), waiting)
    index = k - len(forward) - 1
    return State("backward", backward[index].node, index, tuple(known), tuple(grads), waiting)


def value_text(w: Lesson, circuit: Circuit, node: int, known: bool) -> str:
    info = w.forward.nodes[node]
    if info.is_constant:
        return info.name
    return f"{circuit.names[node]} = {short(info.value) if known else '?'}"


def grad_text(state: State, node: int) -> str:
    if state.phase == "forward":
        return ""
    grad = state.grads[node]
    waiting = node in state.pending
    if grad is None:
        return "" if waiting else "0"
    return short(grad) + (" + …" if waiting else "")


def legend(w: Lesson, circuit: Circuit) -> list[str]:
    """The full names of the names shortened in the picture: ``w¹₀₂ = layer1.neuron0.w2``."""
    return [f"{name} = {info.name}" for name, info in zip(circuit.names, w.forward.nodes,
                                                          strict=True)
            if name != info.name and any(wire.node == info.index for wire in circuit.wires)]


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _path(curves: tuple[Cubic, ...]) -> str:
    start = curves[0][0]
    parts = [f"M{_number(start[0])},{_number(start[1])}"]
    for _, c1, c2, end in curves:
        parts.append("C" + " ".join(f"{_number(p[0])},{_number(p[1])}" for p in (c1, c2, end)))
    return "".join(parts)


def _text(x: float, baseline: float, text: str, ident: str, cls: str, fill: str,
          size: float = FONT, anchor: str = "start", weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text id="{ident}" class="{cls}" x="{_number(x)}" y="{_number(baseline)}" '
            f'font-size="{_number(size)}" fill="{fill}" text-anchor="{anchor}"{bold}>'
            f"{escape(text)}</text>")


def circuit_svg(w: Lesson, circuit: Circuit, step: int, interactive: bool = False,
                with_legend: bool = True) -> str:
    """The circuit at ``step`` (1-based) as a standalone SVG document (a string).

    ``interactive`` (the page's copy) keeps every edge label, hidden but for the step's, for
    the page's script to show; the standalone picture holds only the step's labels, and with
    ``with_legend`` the full names of the names it shortens."""
    state = state_at(w, step)
    nodes = w.forward.nodes
    current = state.node if state.phase != "summary" else None
    sources = set(nodes[current].inputs) if current is not None and state.phase != "seed" else set()
    active_gate = current if state.phase in ("forward", "backward") else None
    lines = legend(w, circuit) if with_legend and not interactive else []
    view = circuit.view
    height = view.bottom - view.top + (len(lines) * (FONT + 4) + 6 if lines else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="circuit" '
        f'width="{_number(view.right - view.left)}" height="{_number(height)}" '
        f'viewBox="{_number(view.left)} {_number(view.top)} {_number(view.right - view.left)} '
        f'{_number(height)}" role="img" font-family="{FONT_FAMILY}" '
        f'aria-label={quoteattr(f"circuit of {w.root_name}, step {step} of {step_count(w)}")}>',
        f'<rect class="c-paper" x="{_number(view.left)}" y="{_number(view.top)}" '
        f'width="{_number(view.right - view.left)}" height="{_number(height)}" fill="#ffffff"/>',
    ]
    for edge in circuit.edges:
        active = edge.target == active_gate
        stroke, width = (CURRENT, "2.2") if active and not interactive else (WIRE, "1.2")
        out.append(f'<g id="c-e{edge.target}-{edge.slot}" '
                   f'class="{"c-edge active" if active else "c-edge"}" '
                   f'data-source="{edge.source}" data-target="{edge.target}">'
                   f'<path d="{_path(edge.curves)}" fill="none" stroke="{stroke}" '
                   f'stroke-width="{width}"/></g>')
    for wire in circuit.wires:
        i = wire.node
        known = state.known[i]
        role = "current" if i == current else "source" if i in sources else ""
        classes = " ".join(c for c in ("c-wire", role, "" if known else "unknown") if c)
        if interactive or not role:
            stroke, width = WIRE, "1.2"
        else:
            stroke, width = (CURRENT if role == "current" else SOURCE), "2.2"
        dim = "" if known or interactive else ' opacity="0.45"'
        out.append(f'<g id="c-w{i}" class="{classes}" data-node="{i}"><title>'
                   f'{escape(nodes[i].name)}</title>'
                   f'<line x1="{_number(wire.left)}" y1="{_number(wire.y)}" '
                   f'x2="{_number(wire.right)}" y2="{_number(wire.y)}" stroke="{stroke}" '
                   f'stroke-width="{width}"{dim}/>')
        box = wire.value_box
        out.append(_text(box.left, box.bottom - DESCENT * FONT, value_text(w, circuit, i, known),
                         f"c-v{i}", "c-value", VALUE_INK))
        if wire.grad_box is not None:
            box = wire.grad_box
            out.append(_text(box.left, box.top + ASCENT * FONT, grad_text(state, i),
                             f"c-g{i}", "c-grad", GRAD_INK))
        out.append("</g>")
    for gate in circuit.gates:
        i = gate.node
        is_current = i == active_gate
        classes = " ".join(c for c in ("c-gate", "current" if is_current else "",
                                       "" if state.known[i] else "unknown") if c)
        fill, stroke, width = ("#fff0e6", CURRENT, "2.5") if is_current and not interactive \
            else ("#ffffff", INK, "1.5")
        dim = "" if state.known[i] or interactive else ' opacity="0.45"'
        shape = (f'<circle cx="{_number(gate.cx)}" cy="{_number(gate.cy)}" r="{_number(gate.rx)}"'
                 if gate.rx == gate.ry else
                 f'<rect x="{_number(gate.cx - gate.rx)}" y="{_number(gate.cy - gate.ry)}" '
                 f'width="{_number(2 * gate.rx)}" height="{_number(2 * gate.ry)}" '
                 f'rx="{_number(gate.rx)}"')
        baseline = gate.cy + (ASCENT - DESCENT) * gate.font / 2
        out.append(f'<g id="c-op{i}" class="{classes}" data-node="{i}"><title>'
                   f'{escape(nodes[i].name)} = {escape(nodes[i].expression or "")}</title>'
                   f'{shape} fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dim}/>'
                   + _text(gate.cx, baseline, gate.symbol, f"c-s{i}", "c-symbol", INK,
                           gate.font, "middle") + "</g>")
    for edge in circuit.edges:
        label = edge.label
        if label is None:
            continue
        shown = state.phase == "backward" and edge.target == current
        if not shown and not interactive:
            continue
        box = label.box
        hidden = "" if shown else ' display="none"'
        leader = "" if label.leader is None else (
            f'<line x1="{_number(label.leader[0][0])}" y1="{_number(label.leader[0][1])}" '
            f'x2="{_number(label.leader[1][0])}" y2="{_number(label.leader[1][1])}" '
            f'stroke="{CURRENT}" stroke-width="1" stroke-dasharray="2 2"/>')
        out.append(f'<g id="c-l{edge.target}-{edge.slot}" class="c-label" '
                   f'data-target="{edge.target}"{hidden}>{leader}'
                   f'<rect x="{_number(box.left)}" y="{_number(box.top)}" '
                   f'width="{_number(box.right - box.left)}" '
                   f'height="{_number(box.bottom - box.top)}" rx="3" fill="#ffffff" '
                   f'stroke="{CURRENT}" stroke-width="1"/>'
                   + _text((box.left + box.right) / 2, box.top + 1 + ASCENT * FONT, label.text,
                           f"c-t{edge.target}-{edge.slot}", "c-label-text", LABEL_INK,
                           anchor="middle", weight="600") + "</g>")
    y = view.bottom + 2
    for k, line in enumerate(lines):
        y += FONT + 4
        out.append(_text(view.left + 6, y - DESCENT * FONT, line, f"c-legend{k}", "c-legend",
                         INK))
    out.append("</svg>")
    return "".join(out)


class PdfRendererError(ChainruleError, RuntimeError):
    """No program that turns SVG into PDF is installed."""


def svg_to_pdf(svg: str, path: Path) -> Path:
    """Write ``svg`` as a PDF at ``path`` with the first converter installed: rsvg-convert
    (librsvg, cairo) or headless Chromium."""
    try:
        return _convert(svg, path)
    except (OSError, subprocess.SubprocessError) as error:
        raise PdfRendererError(f"writing the PDF {path} failed ({error})") from None


def _convert(svg: str, path: Path) -> Path:
    data = svg.encode("utf-8")
    if shutil.which("rsvg-convert"):
        pdf = subprocess.run(["rsvg-convert", "-f", "pdf"], input=data, capture_output=True,
                             check=True).stdout
        path.write_bytes(pdf)
        return path
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        return _chromium_pdf(chromium, svg, path)
    raise PdfRendererError(
        "no program to write a PDF is installed (rsvg-convert from librsvg2-bin, or "
        "chromium); write an .svg instead"
    )


def _chromium_pdf(chromium: str, svg: str, path: Path) -> Path:
    import re
    import tempfile

    width = float(re.search(r'width="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    height = float(re.search(r'height="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    page = (f"<!DOCTYPE html><html><head><style>@page {{ size: {math.ceil(width)}px "
            f"{math.ceil(height)}px; margin: 0 }} html, body {{ margin: 0; overflow: hidden }} "
            f"svg {{ display: block }}</style></head>"
            f"<body>{svg}</body></html>")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "circuit.html"
        source.write_text(page, encoding="utf-8")
        target = Path(folder) / "circuit.pdf"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-pdf-header-footer", f"--print-to-pdf={target}",
                        source.as_uri()], capture_output=True, check=True, timeout=120)
        path.write_bytes(target.read_bytes())
    return path
