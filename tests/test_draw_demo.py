"""demos/graph.py runs, writes the pictures it promises, and the README's image is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.draw import svg_group_ids, svg_root, svg_texts

DEMO = Path(__file__).resolve().parent.parent / "demos" / "graph.py"


def test_graph_demo_writes_svg_and_png_and_the_readme_image_is_current(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(DEMO), "--out", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"{graph}.{suffix}"
        for graph in ("neuron", "xor_expanded", "xor_neurons", "xor_layers")
        for suffix in ("svg", "png")
    )
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes().startswith(b"\x89PNG")
    neurons = svg_root((tmp_path / "xor_neurons.svg").read_text())
    assert sum(i.startswith("group_") for i in svg_group_ids(neurons, "node")) == 3
    assert "y = sigmoid(z)  data " in finished.stdout  # the text tree of the neuron

    # Same nodes and same text as the committed picture (coordinates may differ between
    # graphviz versions, so the files are not compared byte for byte).
    fresh = svg_root((tmp_path / "neuron.svg").read_text())
    committed = svg_root((DEMO.parent / "images" / "neuron.svg").read_text())
    assert svg_group_ids(committed, "node") == svg_group_ids(fresh, "node")
    assert svg_texts(committed) == svg_texts(fresh)
    assert "sigmoid(z)" in svg_texts(fresh)  # the operands' own names
