"""The compact circuit of a walkthrough: its layout (geometry checked from the numbers) and its
SVG at every step."""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, assume, given, settings

from chainrule.engine import GradientError, Value, dot, walkthrough
from chainrule.engine.explain import Lesson
from chainrule.engine.explain.circuit import (
    Box,
    Circuit,
    edge_text,
    gate_symbol,
    layout,
    picture_name,
    polyline,
)
from chainrule.engine.explain.circuit_svg import (
    CircuitStepError,
    state_at,
    step_count,
)
from chainrule.engine.explain.trace import (
    BackwardStep,
    BackwardTrace,
    Contribution,
    ForwardStep,
    ForwardTrace,
    NodeInfo,
)

from support.explain import build, graph_recipes, load_demo


def small_graphs() -> Iterator[tuple[str, Lesson]]:
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    yield "a/b", walkthrough(a / b, picture=False)
    x = Value(3.0, label="x")
    yield "x*x + x", walkthrough(x * x + x, picture=False)
    y, _, params = load_demo("neuron").build_neuron()
    yield "neuron", walkthrough(y, lr=0.5, parameters=params.values(), target=1.0, picture=False)
    yield "xor", load_demo("walkthrough").xor_walkthrough()
    yield "dot", dot_lesson(3)
    yield "dot neuron", walkthrough(dot_neuron(), target=1.0, picture=False)


def dot_neuron() -> Value:
    """The 3-input neuron with its weighted sum as one n-ary node: sigmoid(dot(w, x) + b)."""
    ws = [Value(v, label=f"w{k + 1}") for k, v in enumerate((0.5, 0.7, 0.3))]
    xs = [Value(v, label=f"x{k + 1}") for k, v in enumerate((0.8, 0.6, 0.9))]
    return (dot(ws, xs) + Value(0.1, label="b")).sigmoid()


def dot_lesson(n: int) -> Lesson:
    """A hand-made trace of one n-ary node, dot(w1..wn, x1..xn) = w1*x1 + ... + wn*xn, as the
    engine's n-ary nodes will record it (inputs w1..wn, then x1..xn)."""
    ws = [0.5 + 0.1 * k for k in range(n)]
    xs = [1.0 - 0.2 * k for k in range(n)]
    leaves = [NodeInfo(k, f"w{k + 1}", f"w{k + 1}", None, "input", v, (), (), None, "parameter")
              for k, v in enumerate(ws)]
    leaves += [NodeInfo(n + k, f"x{k + 1}", f"x{k + 1}", None, "input", v, (), (), None, "input")
               for k, v in enumerate(xs)]
    total = 0.0
    for w, x in zip(ws, xs, strict=True):
        total += w * x
    root = NodeInfo(2 * n, "z", "z", "dot", "operation", total, tuple(range(2 * n)), (),
                    "dot(w, x)", "output")
    nodes = (*leaves, root)
    values = ws + xs
    contributions = tuple(
        Contribution(k, nodes[k].name, nodes[k].name, f"d/d{nodes[k].name} = ...",
                     values[k], False, None, 1, 1, values[(k + n) % (2 * n)],
                     values[(k + n) % (2 * n)], 0.0, values[(k + n) % (2 * n)])
        for k in range(2 * n))
    backward = BackwardTrace(nodes, 2 * n, 1.0, (BackwardStep(2 * n, "z", "dot", total, 1.0,
                                                                contributions, False,
                                                                tuple(range(2 * n))),),
                             tuple([values[(k + n) % (2 * n)] for k in range(2 * n)] + [1.0]))
    forward = ForwardTrace(nodes, (ForwardStep(2 * n, "z", "dot(w, x)", "...", total),), 2 * n)
    return Lesson("dot", forward, backward, None, ())


# -- names and symbols --------------------------------------------------------------------------


def test_nn_names_are_short_in_pictures():
    assert picture_name("layer1.neuron0.w0") == "w¹₀₀"
    assert picture_name("layer0.neuron12.w3") == "w⁰₁₂₃"
    assert picture_name("layer2.neuron1.b") == "b²₁"
    assert picture_name("layer0.neuron1.tanh") == "tanh⁰₁"
    assert picture_name("w1") == "w1" and picture_name("layer0.w1") == "layer0.w1"


def test_gate_symbols_fold_a_constant_operand():
    assert gate_symbol("mul") == "×" and gate_symbol("sigmoid") == "σ"
    assert gate_symbol("sub", [None, "1"]) == "−1"
    assert gate_symbol("sub", ["1", None]) == "1−"
    assert gate_symbol("pow", [None, "2"]) == "^2"
    assert gate_symbol("maximum", [None, "0"]) == "max 0"
    assert gate_symbol("dot") == "Σwx"
    assert gate_symbol("tanh") == "tanh"


# -- geometry -------------------------------------------------------------------------------------


def to_segment(point, p, q) -> float:
    (x, y), (x0, y0), (x1, y1) = point, p, q
    length = (x1 - x0) ** 2 + (y1 - y0) ** 2
    t = 0.0 if not length else max(0.0, min(1.0, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0))
                                            / length))
    return math.dist(point, (x0 + t * (x1 - x0), y0 + t * (y1 - y0)))


def check_geometry(w: Lesson, circuit: Circuit) -> int:
    """Every contribution's label is placed, inside the picture, and clear of the gates, the
    texts, every wire and edge, and the other labels of its step. Returns the labels seen."""
    obstacles = circuit.obstacles()
    lines = [polyline(edge.curves) for edge in circuit.edges]
    lines += [[(wire.left, wire.y), (wire.right, wire.y)] for wire in circuit.wires]
    by_key = {(edge.target, edge.slot): edge for edge in circuit.edges}
    seen = 0
    for step in w.backward.steps:
        boxes: list[Box] = []
        for slot, c in enumerate(step.contributions):
            text = edge_text(step, c)
            if text is None:
                continue
            edge = by_key[(step.node, slot)]
            assert edge.label is not None, (step.name, slot)
            assert edge.label.text == text
            box = edge.label.box
            view = circuit.view
            assert view.left <= box.left and box.right <= view.right
            assert view.top <= box.top and box.bottom <= view.bottom
            assert not any(box.overlaps(other) for other in obstacles + boxes), text
            for points in lines:
                assert not any(box.crosses(p, q) for p, q in pairwise(points)), text
            if edge.label.leader is not None:  # a leader runs from its edge to its label
                start, end = edge.label.leader
                points = polyline(edge.curves)
                assert min(to_segment(start, p, q) for p, q in pairwise(points)) < 1e-6
                assert math.dist(box.nearest(end), end) < 1e-9
                assert not any(o.crosses(start, end) for o in obstacles + boxes)
            boxes.append(box)
            seen += 1
    return seen


@pytest.mark.parametrize("name", ["a/b", "x*x + x", "neuron", "xor", "dot", "dot neuron"])
def test_every_label_is_placed_clear_of_everything(name):
    w = dict(small_graphs())[name]
    circuit = layout(w)
    labelled = sum(edge_text(s, c) is not None for s in w.backward.steps for c in s.contributions)
    assert check_geometry(w, circuit) == labelled > 0


def test_gates_and_texts_never_overlap_and_edges_avoid_other_gates():
    for name, w in small_graphs():
        circuit = layout(w)
        boxes = circuit.obstacles()
        for k, a in enumerate(boxes):
            for b in boxes[k + 1:]:
                assert not a.overlaps(b), (name, a, b)
        for edge in circuit.edges:
            points = polyline(edge.curves)
            for gate in circuit.gates:
                if gate.node == edge.target:
                    continue
                inner = Box(gate.cx - gate.rx + 2, gate.cy - gate.ry + 2, gate.cx + gate.rx - 2,
                            gate.cy + gate.ry - 2)
                assert not any(inner.crosses(p, q) for p, q in pairwise(points)), (
                    name, edge.source, edge.target, gate.node)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph_recipes(max_leaves=4, max_steps=10))
def test_random_graphs_get_every_label_placed(recipe):
    built = build(recipe)
    assume(built is not None)
    root, _ = built
    try:
        w = walkthrough(root, picture=False)
    except GradientError:  # a gradient overflows (1 / 3e-302): there is nothing to draw
        assume(False)
    circuit = layout(w)
    labelled = sum(edge_text(s, c) is not None for s in w.backward.steps for c in s.contributions
                   if any(e.target == s.node for e in circuit.edges))
    assert check_geometry(w, circuit) == labelled


def test_the_layout_is_deterministic():
    first = [layout(w) for _, w in small_graphs()]
    second = [layout(w) for _, w in small_graphs()]
    assert first == second


def test_a_neuron_fits_a_wide_screen():
    # 1280 px less the page's margins is about 1,220 px: the neuron's circuit fits at 100 %.
    circuit = dict(small_graphs())["neuron"].circuit
    assert circuit is None  # picture=False: no circuit was made for the page
    circuit = layout(dict(small_graphs())["neuron"])
    assert circuit.width <= 1220


def test_a_weighted_sum_is_one_gate_with_a_port_per_input():
    circuit = layout(dot_lesson(3))
    assert [g.symbol for g in circuit.gates] == ["Σwx"]
    assert sorted((e.source, e.slot) for e in circuit.edges) == [(k, k) for k in range(6)]
    ports = {e.slot: polyline(e.curves)[-1][1] for e in circuit.edges}
    # pairs from top to bottom: w1, x1, w2, x2, w3, x3
    assert sorted(ports, key=ports.__getitem__) == [0, 3, 1, 4, 2, 5]
    wires = {wire.node: wire.y for wire in circuit.wires}
    assert sorted(range(6), key=wires.__getitem__) == [0, 3, 1, 4, 2, 5]


def test_the_engines_dot_node_is_one_gate_too():
    circuit = layout(dict(small_graphs())["dot neuron"])
    assert [g.symbol for g in circuit.gates] == ["Σwx", "+", "σ", "−1", "^2"]
    (gate,) = [g for g in circuit.gates if g.symbol == "Σwx"]
    assert sum(e.target == gate.node for e in circuit.edges) == 6


def test_a_constant_operand_is_written_into_its_gate():
    x = Value(3.0, label="x")
    w = walkthrough((x - 1.0) ** 2, picture=False)
    circuit = layout(w)
    assert [g.symbol for g in circuit.gates] == ["−1", "^2"]
    assert {wire.name for wire in circuit.wires} == {"x", "n1", "f"}


# -- the SVG at a step ----------------------------------------------------------------------------


def texts(svg: str) -> dict[str, str]:
    root = ElementTree.fromstring(svg)
    return {t.get("id"): (t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text")}


def test_the_svg_follows_the_steps():
    x = Value(3.0, label="x")
    w = walkthrough(x * x + x)
    assert w.circuit is not None
    assert step_count(w) == 6  # 2 forward, the seed, 2 backward, the summary
    first = texts(w.circuit_svg(1))
    assert first["c-v0"] == "x = 3" and first["c-v1"] == "n1 = 9" and first["c-v2"] == "f = ?"
    assert first["c-g0"] == "" and not any(k.startswith("c-t") for k in first)
    after_sum = texts(w.circuit_svg(4))  # f = n1 + x hands 1 to n1 and 1 to x
    assert after_sum["c-g0"] == "1 + …" and after_sum["c-g1"] == "1"
    assert sorted(v for k, v in after_sum.items() if k.startswith("c-t")) == [
        "1 × 1 = 1", "1 × 1 = 1"]
    after_mul = texts(w.circuit_svg(5))
    assert after_mul["c-g0"] == "7"
    assert sorted(v for k, v in after_mul.items() if k.startswith("c-t")) == [
        "1 × 3 = 3", "1 × 3 = 3"]
    assert texts(w.circuit_svg())["c-g0"] == "7"  # the default: the last step
    with pytest.raises(CircuitStepError, match="from 1 to 6, got 7"):
        w.circuit_svg(7)
    assert state_at(w, 6).phase == "summary"


def test_a_step_is_highlighted_in_the_standalone_svg():
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    w = walkthrough(a / b)
    svg = w.circuit_svg(3)
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    active = [g.get("id") for g in root.iter(f"{ns}g") if "active" in (g.get("class") or "")]
    assert active == ["c-e2-0", "c-e2-1"]
    assert 'stroke="#b03a00"' in svg  # drawn in the highlight colour, no style sheet needed
    assert re.search(r'<svg [^>]*width="[\d.]+" height="[\d.]+" viewBox=', svg)


def test_the_legend_lists_the_short_names():
    w = load_demo("walkthrough").xor_walkthrough()
    svg = w.circuit_svg(1)
    assert "w¹₀₀ = layer1.neuron0.w0" in texts(svg).values()
    assert "w¹₀₀ = layer1.neuron0.w0" not in w.circuit_svg(1, legend=False)


def test_save_svg_and_pdf(tmp_path):
    x = Value(3.0, label="x")
    w = walkthrough(x.tanh())
    path = w.save_svg(tmp_path / "c.svg", step=2)
    assert path.read_text(encoding="utf-8") == w.circuit_svg(2)
    if not any(shutil.which(p) for p in ("rsvg-convert", "chromium", "chromium-browser")):
        pytest.skip("no SVG to PDF converter installed")
    pdf = w.save_svg(tmp_path / "c.pdf", step=2)
    assert pdf.read_bytes().startswith(b"%PDF")


def test_explain_writes_the_circuit_at_a_step(tmp_path, capsys):
    from chainrule.engine.console.cli import main

    path = tmp_path / "c.svg"
    assert main(["explain", "a/b", "a=3", "b=2", "-q", "--circuit", str(path), "--step", "3"]) == 0
    labels = [v for k, v in texts(path.read_text(encoding="utf-8")).items() if k.startswith("c-t")]
    assert labels == ["1 × 0.5 = 0.5", "1 × -0.75 = -0.75"]
    assert main(["explain", "a/b", "a=3", "b=2", "-q", "--circuit", str(path), "--step", "9"]) == 2
    assert "--step must be from 1 to 4, got 9" in capsys.readouterr().err
    assert main(["explain", "a/b", "a=3", "b=2", "-q", "--step", "2"]) == 2
    assert "--step needs --circuit" in capsys.readouterr().err


def test_the_circuit_inks_read_on_its_white_card():
    # The circuit keeps a white card in the light and the dark theme alike (as graphviz's
    # picture does), so each ink is measured against white, and the symbol of the current gate
    # against its highlight.
    from chainrule.engine.explain import circuit_svg as inks

    def luminance(colour: str) -> float:
        def channel(c: int) -> float:
            v = c / 255
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)

    def ratio(a: str, b: str) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    for ink in (inks.VALUE_INK, inks.GRAD_INK, inks.LABEL_INK, inks.INK):
        assert ratio(ink, "#ffffff") >= 4.5, ink
    assert ratio(inks.INK, "#fff0e6") >= 4.5


def test_a_large_graph_keeps_the_graph_view_and_says_why_it_has_no_circuit(tmp_path):
    from chainrule.engine.explain.circuit import CIRCUIT_MAX_NODES, CircuitLayoutError

    x = Value(0.5, label="x")
    big = sum((x * k for k in range(1, 45)), Value(0.0))
    w = walkthrough(big, picture=False)
    assert len(w.forward.nodes) > CIRCUIT_MAX_NODES
    assert walkthrough(big).circuit is None
    with pytest.raises(CircuitLayoutError, match=r"more than a compact circuit shows \(80\); "
                       r"draw it with draw\(\) instead"):
        w.save_svg(tmp_path / "big.svg")
    assert not (tmp_path / "big.svg").exists()


def test_a_label_never_sits_on_the_leader_line_of_a_label_placed_before_it():
    # Found by hypothesis: a dot whose inputs are one value three times; a later label was
    # placed on the leader line of an earlier one.
    constant = ("const", 0.5)
    recipe = {"leaves": [0.125], "steps": [
        ("dot", (("node", 0), ("node", 0), ("node", 0), constant)), ("abs", (constant,)),
        ("abs", (("node", 0),)), *[("abs", (constant,))] * 5, ("add", (("node", 4), ("node", 1)))]}
    built = build(recipe)
    assert built is not None
    w = walkthrough(built[0], picture=False)
    assert check_geometry(w, layout(w)) == 7
