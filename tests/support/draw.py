"""Helpers for the draw tests: reading back the DOT that draw() writes, a hand-built network
with nn's scope convention, and reading rendered SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from chainrule.engine import Value, scope

SVG_NS = "{http://www.w3.org/2000/svg}"

_NODE = re.compile(r"^\s*(\w+) \[(.*)\];$")
_EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[(.*)\];$")
_SUBGRAPH = re.compile(r"^\s*subgraph (\w+) \{$")


@dataclass
class Dot:
    """draw()'s DOT, read line by line (it writes one statement per line)."""

    nodes: dict[str, str] = field(default_factory=dict)  # name -> attribute text
    cluster_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> clusters
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (source, target, attrs)
    clusters: list[tuple[str, ...]] = field(default_factory=list)  # nesting paths

    def values(self) -> list[str]:
        return [n for n in self.nodes if re.fullmatch(r"n\d+", n)]

    def operations(self) -> list[str]:
        return [n for n in self.nodes if re.fullmatch(r"op\d+", n)]

    def groups(self) -> list[str]:
        return [n for n in self.nodes if n.startswith("group_")]

    def edge_pairs(self) -> list[tuple[str, str]]:
        return [(s, t) for s, t, _ in self.edges]


def parse_dot(source: str) -> Dot:
    dot = Dot()
    open_clusters: list[str] = []
    lines = source.splitlines()
    assert lines[0] == "digraph chainrule {" and lines[-1] == "}"
    for line in lines[1:-1]:
        if match := _SUBGRAPH.match(line):
            open_clusters.append(match.group(1))
            dot.clusters.append(tuple(open_clusters))
        elif line.strip() == "}":
            open_clusters.pop()
        elif match := _EDGE.match(line):
            dot.edges.append(match.groups())
        elif match := _NODE.match(line):
            name, attributes = match.groups()
            if name in ("graph", "node", "edge"):
                continue
            assert name not in dot.nodes, f"node {name} written twice"
            dot.nodes[name] = attributes
            dot.cluster_of[name] = tuple(open_clusters)
    assert not open_clusters, "unbalanced subgraph braces"
    return dot


def hand_mlp(
    inputs: tuple[float, float] = (1.0, -1.0),
) -> tuple[Value, list[Value], list[Value]]:
    """A 2-2-1 tanh/sigmoid network built the way chainrule.nn tags its Values: parameters
    and computations inside scope("layer{i}") > scope("neuron{j}"). Returns (output, inputs,
    parameters)."""
    xs = [Value(x, label=f"x{k + 1}") for k, x in enumerate(inputs)]
    weights = {(0, 0): (0.5, -0.4, 0.1), (0, 1): (-0.3, 0.8, -0.2), (1, 0): (1.2, -0.7, 0.05)}
    parameters: list[Value] = []
    activations = xs
    for layer, width, activation in ((0, 2, "tanh"), (1, 1, "sigmoid")):
        outputs = []
        for j in range(width):
            with scope(f"layer{layer}"), scope(f"neuron{j}"):
                *ws, b = weights[(layer, j)]
                w = [Value(wk, label=f"w{k}") for k, wk in enumerate(ws)]
                bias = Value(b, label="b")
                parameters += [*w, bias]
                total = bias
                for wk, a in zip(w, activations, strict=True):
                    total = total + wk * a
                outputs.append(getattr(total, activation)())
        activations = outputs
    return activations[0], xs, parameters


def svg_root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def svg_texts(root: ET.Element) -> list[str]:
    """The text of every <text> element, with graphviz's no-break spaces made plain."""
    return [
        "".join(element.itertext()).replace("\xa0", " ")
        for element in root.iter(f"{SVG_NS}text")
    ]


def svg_group_ids(root: ET.Element, kind: str) -> list[str]:
    """Ids of the <g class="node"> (or "edge", "cluster") elements, in document order."""
    return [g.get("id") for g in root.iter(f"{SVG_NS}g") if g.get("class") == kind]
