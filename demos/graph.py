"""Drawing computation graphs: the single sigmoid neuron, and an XOR network expanded and
collapsed into neuron boxes.

Writes, under out/graphs/, the neuron (the picture in the README) and the XOR network's graphs
as SVG and PNG; with --publish it also copies the neuron into demos/images/ (a maintainer's
step). Needs graphviz's `dot` program for the pictures; the text tree printed at the end needs
nothing.

Run: python demos/graph.py [--out FOLDER] [--publish]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuron import build_neuron  # demos/neuron.py, next to this file

from chainrule.engine import Value, draw, render_text
from chainrule.engine.drawing import Drawing
from chainrule.nn import MLP

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "demos" / "images"
OUT = ROOT / "out" / "graphs"


def xor_network() -> MLP:
    """The XOR network of the nn demo: 2 inputs, 2 tanh neurons, 1 sigmoid neuron. nn creates
    every Value of neuron j of layer i inside scope("layer{i}") > scope("neuron{j}"), which
    is what draw() groups into clusters and collapses into boxes."""
    return MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)


def save(graph_name: str, graph: Drawing, folder: Path) -> None:
    for suffix in (".svg", ".png"):
        path = graph.render(folder / f"{graph_name}{suffix}", dpi=144 if suffix == ".png" else None)
        print(f"  wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write every file to this folder")
    parser.add_argument("--publish", action="store_true",
                        help="also write the README's neuron picture into demos/images/")
    arguments = parser.parse_args()
    out = arguments.out or OUT
    images = out

    y, _, parameters = build_neuron()
    y.backward()
    print("The single neuron y = sigmoid(w1*x1 + w2*x2 + w3*x3 + b), after y.backward():")
    neuron = draw(y, parameters=parameters.values(), legend=True)
    save("neuron", neuron, images)
    if arguments.publish:
        save("neuron", neuron, IMAGES)

    # The inputs are Values so that they are drawn (plain numbers would be written into the
    # multiplications as constants).
    prediction = xor_network()([Value(1.0, label="x1"), Value(0.0, label="x2")])
    prediction.label = "prediction"
    loss = (prediction - 1.0) ** 2  # XOR(1, 0) = 1
    loss.label = "loss"
    loss.backward()
    print(f"An XOR network on (1, 0): prediction {prediction.data:.4f}, loss {loss.data:.4f}")
    save("xor_expanded", draw(loss, legend=True), out)
    save("xor_neurons", draw(loss, collapse="neuron", legend=True), out)
    save("xor_layers", draw(loss, collapse="layer"), out)

    print("\nThe neuron as text (render_text; no graphviz needed):\n")
    print(render_text(y, parameters=parameters.values()))


if __name__ == "__main__":
    main()
