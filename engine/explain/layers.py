"""The layer rule, the bridge from scalar backprop to the matrix form PyTorch computes.

For each nn layer of the graph (nodes scoped ``layerL`` / ``neuronJ``, each neuron with a
pre-activation labelled ``z``, weights ``w0, w1, ...`` and a bias ``b``), with this very run's
numbers:

* ``delta = dL/dz``, one entry per neuron;
* ``dL/dW = delta x^T``, where x is what the layer's weights multiply (read from the graph: the
  partner of each weight in its product);
* ``dL/db = delta``;
* ``delta_prev = (W^T delta) * f'(z_prev)``, the previous layer's delta, where x = f(z_prev).

Every number shown is the engine's own float (a gradient of the trace, or a local derivative
of a step), so the layer view and the scalar steps can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..naming import scope_stage
from ..primitives import PRIMITIVES
from . import wording
from .lesson import Lesson
from .template import Choice, Known, Part, Slot, Template, join, template
from .trace import NodeInfo, layer_of

__all__ = ["LayerView", "layer_views"]

_WEIGHT = re.compile(r"w(\d+)")

#: The notation, as a terminal (ASCII) and as a page or Markdown writes it.
ASCII = {"delta": "delta", "T": "^T", "odot": "*", "times": "x", "prev": "delta_prev"}
UNICODE = {"delta": "δ", "T": "ᵀ", "odot": "⊙", "times": "×", "prev": "δ_prev"}


@dataclass(frozen=True)
class LayerView:
    """One layer's backward pass in matrix form: a heading and its lines, and the backward
    step after which every number in it is known (where the walkthrough shows it)."""

    layer: int
    heading: str
    lines: tuple[str, ...]
    step: int
    #: The lines as templates (``lines`` is them filled with the recorded numbers).
    templates: tuple[Template, ...] = ()


@dataclass
class _Neuron:
    z: NodeInfo
    weights: list[NodeInfo]
    bias: NodeInfo | None


def _neurons(nodes: Sequence[NodeInfo]) -> dict[int, list[_Neuron]]:
    """The neurons of each layer, in neuron order; a layer with a neuron that has no ``z`` or
    no weights, or neurons with different numbers of weights, is left out."""
    members: dict[tuple[int, int], list[NodeInfo]] = {}
    for node in nodes:
        layer = layer_of(node.scope)
        # A neuron is a numbered scope inside a numbered stage (nn's "layer0" > "neuron1").
        position = scope_stage(node.scope[1:])
        if layer is not None and position is not None:
            members.setdefault((layer, position), []).append(node)
    layers: dict[int, list[_Neuron | None]] = {}
    for (layer, _), found in sorted(members.items()):
        z = next((n for n in found if n.label == "z" and n.kind == "operation"), None)
        weights = sorted((n for n in found if n.is_input and _WEIGHT.fullmatch(n.label or "")),
                         key=lambda n: int((n.label or "w0")[1:]))
        bias = next((n for n in found if n.is_input and n.label == "b"), None)
        neuron = _Neuron(z, weights, bias) if z is not None and weights else None
        layers.setdefault(layer, []).append(neuron)
    readable = {}
    for layer, neurons in layers.items():
        complete = [n for n in neurons if n is not None]
        if len(complete) == len(neurons) and len({len(n.weights) for n in complete}) == 1:
            readable[layer] = complete
    return readable


def _vector(values: Sequence[Part]) -> Template:
    return template("[", join([(v,) for v in values], ", "), "]")


def layer_views(w: Lesson, symbols: dict[str, str] = ASCII) -> list[LayerView]:
    """The layer rule for each nn layer of the walkthrough's graph, from the output layer
    down (the order the backward pass reaches them); [] for a graph without nn layers."""
    nodes, gradients = w.forward.nodes, w.backward.gradients
    delta, times, prev = symbols["delta"], symbols["times"], symbols["prev"]
    d = f"d{w.root_name}"
    completed_at = {i: k for k, step in enumerate(w.backward.steps) for i in step.completed}
    views = []
    layers = _neurons(nodes)
    for layer in sorted(layers, reverse=True):
        neurons = layers[layer]
        deltas = [n.z.index for n in neurons]
        partners = [[_partner(w, weight) for weight in nr.weights] for nr in neurons]
        if any(gradients[i] is None for i in deltas) or any(
                None in row for row in partners) or any(
                gradients[wt.index] is None for n in neurons for wt in n.weights):
            continue
        values = {tuple(nodes[p].value for p in row) for row in partners}  # type: ignore[index]
        if len(values) != 1:  # not one x for the whole layer
            continue
        xs: list[int] = partners[0]  # type: ignore[assignment]
        m, n = len(neurons), len(xs)
        lines = [
            template(f"{delta} = {d}/dz = ", _vector([wording.grad(i) for i in deltas]),
                     f"   ({m})"),
            template("x = ", _vector([wording.value(i) for i in xs]), f"   ({n})"),
            template(f"{d}/dW = {delta} x{symbols['T']} = [",
                     join([_vector([wording.grad(wt.index) for wt in nr.weights])
                           for nr in neurons], ", "),
                     f"]   ({m} {times} {n})"),
        ]
        biases = [nr.bias.index for nr in neurons if nr.bias is not None]
        if len(biases) == m:
            lines.append(template(f"{d}/db = {delta} = ",
                                  _vector([wording.grad(i) for i in biases]), f"   ({m})"))
        last = [completed_at.get(i, -1) for nr in neurons
                for i in (nr.z.index, *(wt.index for wt in nr.weights))]
        below = _previous_delta(w, xs, layer)
        if below is not None:
            upstream, slopes, previous, at = below
            lines.append(template(
                f"{prev} = (W{symbols['T']} {delta}) {symbols['odot']} f'(z) = ",
                _vector(upstream), f" {symbols['odot']} ", _vector(slopes), " = ",
                _vector(previous), f"   ({n}): layer {layer - 1}'s {delta}"))
            last.append(at)
        views.append(LayerView(
            layer,
            f"layer {layer} ({n} inputs -> {m} neuron{'s' if m > 1 else ''})",
            tuple(w.said(line) for line in lines),
            max(last),
            tuple(lines),
        ))
    return views


def _partner(w: Lesson, weight: NodeInfo) -> int | None:
    """What a weight used once multiplies (its partner in a mul or a dot), or None."""
    received = w.received.get(weight.index, [])
    return received[0][1].partner if len(received) == 1 else None


def _previous_delta(w: Lesson, partners: list[int], layer: int
                    ) -> tuple[list[Part], list[Part], list[Part], int] | None:
    """``W^T delta`` (the gradient of each x, the engine's sum over the layer's neurons), ``f'(z)``
    (the local derivative of each x = f(z)) and the previous layer's delta, when each x is an
    activation of a previous layer's z, as slots; with the step that completes the last of
    them."""
    nodes, gradients = w.forward.nodes, w.backward.gradients
    upstream: list[Part] = []
    slopes: list[Part] = []
    previous: list[Part] = []
    steps = []
    for x in partners:
        activation = nodes[x]
        if activation.kind != "operation" or len(activation.inputs) != 1:
            return None
        z = nodes[activation.inputs[0]]
        if z.label != "z" or layer_of(z.scope) != layer - 1:
            return None
        handed = [(step, c) for step, c in w.received.get(z.index, []) if step.node == x]
        primitive = PRIMITIVES.get(activation.op or "")
        if len(handed) != 1 or primitive is None or primitive.arity != 1:
            return None
        step, c = handed[0]
        assert gradients[x] is not None and gradients[z.index] is not None and c.k is not None
        upstream.append(wording.grad(x))
        # A step whose upstream is 0 hands nothing on and computes no local derivative: the
        # table's derivative gives it.
        table = wording.number(w, primitive.derivatives[0](z.value, activation.value))
        slopes.append(Choice(((Known(Slot("l", c.k)), (Slot("l", c.k),)), (None, (table,)))))
        previous.append(wording.grad(z.index))
        steps.append(next(k for k, s in enumerate(w.backward.steps) if s is step))
    return upstream, slopes, previous, max(steps)
