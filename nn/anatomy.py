"""A network seen as layers of units: what the training recorder, :func:`diagnose` and the
training explorer read from a :class:`Neuron`, :class:`Layer` or :class:`MLP`.

Every number here comes from the model itself (its own neurons, called on the data), never
from a second implementation of the forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.engine import Value, no_grad

from .activations import ACTIVATIONS
from .module import MLP, Layer, Module, Neuron


@dataclass(frozen=True)
class LayerView:
    """One layer of a network: its name (``"layer0"``), its neurons and their activation."""

    name: str
    neurons: tuple[Neuron, ...]
    activation: str

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]


def layers_of(model: Module) -> list[LayerView] | None:
    """The model's layers, input side first, or None for a module that is not made of
    chainrule.nn layers (a Module subclass of your own)."""
    if isinstance(model, MLP):
        return [LayerView(layer.name, tuple(layer.neurons), layer.activation)
                for layer in model.layers]
    if isinstance(model, Layer):
        return [LayerView(model.name, tuple(model.neurons), model.activation)]
    if isinstance(model, Neuron):
        return [LayerView("layer0", (model,), model.activation)]
    return None


def parameter_groups(model: Module) -> list[tuple[str, list[Value]]]:
    """Parameters grouped by layer (one group, ``"model"``, for a module without layers)."""
    layers = layers_of(model)
    if layers is None:
        return [("model", model.parameters())]
    return [(layer.name, layer.parameters()) for layer in layers]


def gradient_norms(model: Module) -> dict[str, float]:
    """The Euclidean norm of each layer's parameter gradients (``.grad``), by layer name."""
    return {name: math.sqrt(math.fsum(p.grad * p.grad for p in params))
            for name, params in parameter_groups(model)}


def unit_activations(layers: Sequence[LayerView], rows: Sequence[Sequence[Any]]
                     ) -> list[list[list[float]]]:
    """``result[k][j][i]``: the output of neuron ``j`` of layer ``k`` on sample ``i``, computed
    by calling the model's own neurons layer by layer (no graph is recorded)."""
    result = [[[0.0] * len(rows) for _ in layer.neurons] for layer in layers]
    with no_grad():
        for i, row in enumerate(rows):
            signal: Any = row
            for k, layer in enumerate(layers):
                outputs = [neuron(signal) for neuron in layer.neurons]
                for j, out in enumerate(outputs):
                    result[k][j][i] = out.data
                signal = outputs
    return result


def saturates(activation: str) -> bool:
    """Whether units of this activation go flat at both ends (sigmoid, tanh)."""
    return ACTIVATIONS[activation].kind == "saturating"


def relative_slope(activation: str, output: float) -> float:
    """The slope of a saturating unit whose output is ``output``, as a fraction of the
    activation's largest slope (see :meth:`Activation.relative_slope`)."""
    return ACTIVATIONS[activation].relative_slope(output)
