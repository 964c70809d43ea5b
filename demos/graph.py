"""Drawing computation graphs: the single sigmoid neuron, and an XOR network expanded and
collapsed into neuron boxes.

Writes demos/images/neuron.svg and .png (the picture in the README) and, under out/graphs/,
the XOR network's graphs as SVG and PNG. Needs graphviz's `dot` program for the pictures;
the text tree printed at the end needs nothing.

Run: python demos/graph.py [--out FOLDER]   (FOLDER: write every file there instead)
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from neuron import build_neuron  # demos/neuron.py, next to this file

from chainrule.engine import Value, draw, render_text, scope
from chainrule.engine.draw import Graph

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "demos" / "images"
OUT = ROOT / "out" / "graphs"


def xor_network(x1: float, x2: float) -> Value:
    """A 2-2-1 network (tanh hidden layer, sigmoid output) with seeded random weights, built
    the way chainrule.nn builds one: every Value of neuron j of layer i is created inside
    scope("layer{i}") > scope("neuron{j}"), which is what draw() groups and collapses."""
    rng = random.Random(0)
    activations = [Value(x1, label="x1"), Value(x2, label="x2")]
    for layer, (width, activation) in enumerate(((2, "tanh"), (1, "sigmoid"))):
        outputs = []
        for j in range(width):
            with scope(f"layer{layer}"), scope(f"neuron{j}"):
                total = Value(0.0, label="b")
                for k, a in enumerate(activations):
                    total = total + Value(rng.uniform(-1.0, 1.0), label=f"w{k}") * a
                outputs.append(getattr(total, activation)())
        activations = outputs
    return activations[0]


def save(graph_name: str, graph: Graph, folder: Path) -> None:
    for suffix in (".svg", ".png"):
        path = graph.render(folder / f"{graph_name}{suffix}", dpi=144 if suffix == ".png" else None)
        print(f"  wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write every file to this folder")
    arguments = parser.parse_args()
    images, out = (arguments.out, arguments.out) if arguments.out else (IMAGES, OUT)

    y, _, parameters = build_neuron()
    y.backward()
    print("The single neuron y = sigmoid(w1*x1 + w2*x2 + w3*x3 + b), after y.backward():")
    save("neuron", draw(y, parameters=parameters.values(), legend=True), images)

    prediction = xor_network(1.0, 0.0)
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
