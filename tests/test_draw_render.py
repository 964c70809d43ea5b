"""Rendering through graphviz's real `dot`: SVG (parsed back), PNG, PDF, the missing-`dot`
error, a failing `dot`, and labels that try to break the DOT or inject markup into the SVG."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import Value, draw, scope, topological_order
from chainrule.engine.drawing import DrawOptionError, GraphvizError, GraphvizNotFoundError
from chainrule.engine.naming import visible_lines

from support.draw import hand_mlp, svg_group_ids, svg_root, svg_texts

#: Everything graphviz's SVG writer produces for our graphs; anything else would be injected.
SVG_VOCABULARY = {"svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text", "a"}


def neuron() -> Value:
    x1, x2 = Value(0.8, label="x1"), Value(0.6, label="x2")
    w1, w2, b = Value(0.5, label="w1"), Value(0.7, label="w2"), Value(0.1, label="b")
    y = (w1 * x1 + w2 * x2 + b).sigmoid()
    y.label = "y"
    y.backward()
    return y


def test_svg_has_every_node_with_its_id_and_the_numbers() -> None:
    y = neuron()
    root = svg_root(draw(y).svg())
    order = topological_order(y)
    expected = []
    for i, v in enumerate(order):
        if not v.is_constant:
            expected.append(f"n{i}")
            if not v.is_leaf:
                expected.append(f"op{i}")
    assert sorted(svg_group_ids(root, "node")) == sorted(expected)
    texts = svg_texts(root)
    for v in order:
        assert f"data {v.data:.4g}" in texts
        assert f"grad {v.grad:.4g}" in texts
    assert {"x1", "w2", "y", "w1 * x1", "n1 + n2", "n3 + b", "sigmoid(n4)"} <= set(texts)
    edges = svg_group_ids(root, "edge")
    assert len(edges) == len(set(edges)) == 14  # 5 operations: 9 inputs + 5 outputs


def test_clusters_and_collapsed_boxes_reach_the_svg() -> None:
    y, _, _ = hand_mlp()
    y.backward()
    expanded = svg_root(draw(y).svg())
    assert sorted(svg_group_ids(expanded, "cluster")) == [
        "cluster_layer0", "cluster_layer0_neuron0", "cluster_layer0_neuron1",
        "cluster_layer1", "cluster_layer1_neuron0",
    ]
    collapsed = svg_root(draw(y, collapse="neuron").svg())
    nodes = svg_group_ids(collapsed, "node")
    assert len(nodes) == 5
    assert sum(n.startswith("group_") for n in nodes) == 3
    assert f"data {y.data:.4g}" in " ".join(svg_texts(collapsed))


def test_png_and_pdf_files(tmp_path: Path) -> None:
    g = draw(neuron(), legend=True)
    png = g.render(tmp_path / "deep" / "neuron.png")
    assert png == tmp_path / "deep" / "neuron.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    width_96 = int.from_bytes(png.read_bytes()[16:20], "big")
    sharp = g.render(tmp_path / "sharp.png", dpi=192)
    assert int.from_bytes(sharp.read_bytes()[16:20], "big") > 1.5 * width_96
    assert g.render(str(tmp_path / "neuron.pdf")).read_bytes().startswith(b"%PDF-")
    assert g.render(tmp_path / "neuron.dot").read_text() == g.source
    assert g.render(tmp_path / "as-svg.txt", format="svg").read_text().startswith("<?xml")
    assert g.pipe("dot") == g.source.encode()


@pytest.mark.parametrize(
    ("path", "message"),
    [("graph.jpeg", "cannot make format 'jpeg'; choose one of svg, png, pdf, dot"),
     ("graph", "cannot tell the format of")],
)
def test_unknown_formats_are_refused_before_writing(tmp_path: Path, path, message) -> None:
    with pytest.raises(DrawOptionError, match=re.escape(message)):
        draw(neuron()).render(tmp_path / path)
    assert not (tmp_path / path).exists()


def test_jupyter_display() -> None:
    g = draw(neuron())
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<?xml")
    assert bundle["text/plain"] == "<chainrule Drawing: 10 values>"
    assert svg_root(g._repr_svg_()).tag.endswith("svg")


def test_to_graphviz_gives_a_graphviz_source() -> None:
    import graphviz

    g = draw(neuron())
    source = g.to_graphviz()
    assert isinstance(source, graphviz.Source)
    assert source.source == g.source


# -- without dot, or with a broken one ---------------------------------------------------------


def test_missing_dot_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    g = draw(neuron())
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError) as caught:
        g.svg()
    message = str(caught.value)
    assert "making SVG needs graphviz's `dot` program, which is not on PATH" in message
    assert "sudo apt-get install graphviz" in message and "brew install graphviz" in message
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(GraphvizNotFoundError, match="making PNG needs"):
        g.pipe("png")
    # what still works without dot
    assert g.source.startswith("digraph chainrule {")
    assert g.pipe("dot") == g.source.encode()
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "apt-get install graphviz" in bundle["text/plain"]


def test_a_failing_dot_reports_what_it_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizError) as caught:
        draw(neuron()).render(tmp_path / "out.svg")
    assert "`dot -Tsvg` failed with exit status 3: Error: syntax error in line 1" in str(caught.value)
    assert not (tmp_path / "out.svg").exists()


# -- adversarial labels ------------------------------------------------------------------------

ADVERSARIAL = [
    'say "hi"',
    "{braces} [brackets] |pipes| <ports>",
    "<script>alert(1)</script>",
    "</TD></TR></TABLE>>]; evil [label=<x>",
    '"]; injected [shape=box]; x [label="',
    "back\\slash \\N \\G \\L \\n \\\\",
    "line one\nline two\r\nline three",
    "&amp; &lt; &#60; &#x3C; ]]> <![CDATA[x]]>",
    "tab\there, bell\x07, escape\x1b[31m, nul\x00, del\x7f",
    "ünïcødé λ → ∂ 日本 🙂",
    "' or 1=1 --",
]


def assert_label_survives(svg: str, label: str) -> None:
    root = svg_root(svg)  # well-formed XML, whatever the label held
    assert {element.tag.split("}")[1] for element in root.iter()} <= SVG_VOCABULARY
    texts = svg_texts(root)
    for line in visible_lines(label):
        if line.strip():
            assert line in texts, (line, texts)


@pytest.mark.parametrize("label", ADVERSARIAL)
def test_adversarial_labels_are_shown_literally(label: str) -> None:
    a = Value(1.0, label=label)
    out = a * 2
    out.label = label
    with scope(label):
        inner = out + 1
    svg = draw(inner, highlight=[a], legend=True).svg()
    assert_label_survives(svg, label)
    # shown in a's box, in out's box (as label#2: the same label twice) and as the title of the
    # scope's cluster
    first_line = visible_lines(label)[0]
    assert sum(text.startswith(first_line) for text in svg_texts(svg_root(svg))) >= 3


@settings(max_examples=25)
@given(st.text(min_size=1, max_size=30))
def test_any_label_renders_to_valid_svg_showing_it(label: str) -> None:
    a = Value(0.5, label=label)
    assert_label_survives(draw(a.exp()).svg(), label)

