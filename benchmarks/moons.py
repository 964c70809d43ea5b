"""micrograd's two-moons demo, written three ways: micrograd, chainrule, and plain floats.

All three start from the same data and the same initial weights, and compute the same
expression in the same order (micrograd's demo notebook: ``MLP(2, [16, 16, 1])``, hinge loss
``relu(1 - y * score)`` averaged over the 100 points, plus ``1e-4 * sum(p * p)``; SGD with the
learning rate ``1 - 0.9 * k / 100``), so their losses agree to rounding.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from operator import mul

SEED = 1337
LAYER_SIZES = (2, 16, 16, 1)
ALPHA = 1e-4

#: One neuron's parameters: its input weights and its bias.
Neuron = tuple[list[float], float]
#: One layer of neurons.
Layer = list[Neuron]


@dataclass(frozen=True)
class Moons:
    """The data set: points as plain float pairs, labels as -1 or +1."""

    points: list[tuple[float, float]]
    labels: list[int]


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = SEED) -> Moons:
    """scikit-learn's ``make_moons(n_samples, noise=noise)`` after ``np.random.seed(seed)``,
    as micrograd's demo builds its data (reimplemented on numpy's legacy generator so that the
    benchmark does not need scikit-learn; the random draws are the same, in the same order).
    """
    import numpy as np  # lazily: only the benchmarks need numpy

    generator = np.random.RandomState(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    points = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    classes = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n_samples)
    generator.shuffle(order)  # sklearn.utils.shuffle
    points, classes = points[order], classes[order]
    points = points + generator.normal(scale=noise, size=points.shape)
    return Moons(
        points=[(float(x), float(y)) for x, y in points],
        labels=[int(c) * 2 - 1 for c in classes],
    )


def initial_weights(seed: int = SEED) -> list[Layer]:
    """The weights micrograd's ``MLP(2, [16, 16, 1])`` draws after ``random.seed(seed)``:
    ``uniform(-1, 1)`` for each weight, in micrograd's order, and zero biases."""
    rng = random.Random(seed)
    return [
        [([rng.uniform(-1, 1) for _ in range(n_in)], 0.0) for _ in range(n_out)]
        for n_in, n_out in itertools.pairwise(LAYER_SIZES)
    ]


def learning_rate(step: int, steps: int = 100) -> float:
    return 1.0 - 0.9 * step / steps


def accuracy(labels: list[int], scores: list[float]) -> float:
    return sum((y > 0) == (s > 0) for y, s in zip(labels, scores, strict=True)) / len(labels)


@dataclass
class StepResult:
    """What one training step computed, before its SGD update."""

    loss: float
    accuracy: float
    gradients: list[float]  # every parameter's gradient, in micrograd's parameter order


# -- a model any engine can run ----------------------------------------------------------------


class ScalarMLP:
    """micrograd's MLP over any scalar class with ``+ * relu()`` and ``.data .grad``.

    Written once so that micrograd and chainrule build exactly the same graph: a neuron's
    activation is ``sum(w_i * x_i, b)``, ReLU on every layer but the last.
    """

    def __init__(self, scalar: type, weights: list[Layer]) -> None:
        self.scalar = scalar
        self.layers = [[([scalar(w) for w in ws], scalar(b)) for ws, b in layer]
                       for layer in weights]
        self.parameters = [p for layer in self.layers for ws, b in layer for p in (*ws, b)]

    def __call__(self, x: list) -> object:
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            activations = [sum((w * xi for w, xi in zip(ws, x, strict=True)), b) for ws, b in layer]
            x = activations if index == last else [a.relu() for a in activations]
        return x[0]

    def loss(self, moons: Moons) -> tuple[object, float]:
        """micrograd demo's ``loss()``: the loss node, and the accuracy."""
        inputs = [[self.scalar(c) for c in point] for point in moons.points]
        scores = [self(x) for x in inputs]
        losses = [(1 + -y * score).relu() for y, score in zip(moons.labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in self.parameters)
        return data_loss + reg_loss, accuracy(moons.labels, [s.data for s in scores])

    def step(self, moons: Moons, rate: float) -> StepResult:
        """Forward, zero the gradients, backward, SGD update (the body of the demo's loop)."""
        total, acc = self.loss(moons)
        for p in self.parameters:
            p.grad = 0.0
        total.backward()
        result = StepResult(total.data, acc, [p.grad for p in self.parameters])
        for p in self.parameters:
            p.data -= rate * p.grad
        return result


# -- the same step with plain floats and a hand-written backward -------------------------------


class FloatMLP:
    """The pure-Python floor: the same forward on floats, and its backward written by hand.

    It works a layer at a time for all points together (as a tensor library would), so that
    the arithmetic runs in ``sum(map(mul, ...))`` loops: the least Python can do per operation.
    """

    def __init__(self, weights: list[Layer]) -> None:
        self.rows = [[list(ws) for ws, _ in layer] for layer in weights]  # a neuron's weights
        self.biases = [[b for _, b in layer] for layer in weights]

    def step(self, moons: Moons, rate: float) -> StepResult:
        rows, biases = self.rows, self.biases
        last = len(rows) - 1
        scale = 1.0 / len(moons.points)

        # Forward, keeping each layer's inputs (one vector per point) for the backward pass.
        activations = [list(point) for point in moons.points]
        layer_inputs = []
        for index in range(last + 1):
            layer_inputs.append(activations)
            neurons = list(zip(rows[index], biases[index], strict=True))
            z = [[sum(map(mul, ws, x), b) for ws, b in neurons] for x in activations]
            activations = z if index == last else [[v if v > 0.0 else 0.0 for v in zp] for zp in z]
        scores = [a[0] for a in activations]
        margins = [1 + -y * s for y, s in zip(moons.labels, scores, strict=True)]
        data_loss = sum(m if m > 0.0 else 0.0 for m in margins)

        # Backward. upstream[p][j]: d(loss)/d(pre-activation j) for point p; the hinge passes
        # -y / n where its margin is positive.
        upstream = [[-y * scale if m > 0.0 else 0.0]
                    for y, m in zip(moons.labels, margins, strict=True)]
        row_grads: list[list[list[float]]] = [[] for _ in rows]
        bias_grads: list[list[float]] = [[] for _ in rows]
        for index in range(last, -1, -1):
            inputs = layer_inputs[index]
            # Transposed: one tuple per neuron (its gradients over the points), and one tuple
            # per input (its values over the points).
            per_neuron = list(zip(*upstream, strict=True))
            per_input = list(zip(*inputs, strict=True))
            row_grads[index] = [[sum(map(mul, g, x)) for x in per_input] for g in per_neuron]
            bias_grads[index] = [sum(g) for g in per_neuron]
            if index:
                # Into the layer below, through its ReLU (whose output is this layer's input).
                weights_by_input = list(zip(*rows[index], strict=True))
                upstream = [[sum(map(mul, g, w)) if x > 0.0 else 0.0
                             for w, x in zip(weights_by_input, xp, strict=True)]
                            for g, xp in zip(upstream, inputs, strict=True)]

        parameters = [p for layer_rows, layer_biases in zip(rows, biases, strict=True)
                      for ws, b in zip(layer_rows, layer_biases, strict=True) for p in (*ws, b)]
        gradients = [g for layer_grads, layer_bias_grads in zip(row_grads, bias_grads, strict=True)
                     for gs, gb in zip(layer_grads, layer_bias_grads, strict=True)
                     for g in (*gs, gb)]
        total = data_loss * scale + ALPHA * sum(p * p for p in parameters)
        # The L2 term adds 2 * alpha * p to every parameter's gradient.
        gradients = [g + 2 * ALPHA * p for g, p in zip(gradients, parameters, strict=True)]
        result = StepResult(total, accuracy(moons.labels, scores), gradients)
        updated = iter([p - rate * g for p, g in zip(parameters, gradients, strict=True)])
        for layer_rows, layer_biases in zip(rows, biases, strict=True):
            for j, ws in enumerate(layer_rows):
                ws[:] = [next(updated) for _ in ws]
                layer_biases[j] = next(updated)
        return result


# -- the engines -------------------------------------------------------------------------------


def micrograd_model(weights: list[Layer]) -> ScalarMLP:
    from micrograd.engine import Value

    return ScalarMLP(Value, weights)


def chainrule_model(weights: list[Layer]) -> ScalarMLP:
    from chainrule.engine import Value

    return ScalarMLP(Value, weights)


class NetworkMLP(ScalarMLP):
    """chainrule's own ``nn.MLP`` (each neuron one ``dot`` node, an add and a relu), loaded
    with the same weights, with ``nn.hinge`` and ``nn.l2_penalty``: what a chainrule user
    trains. It adds in another order than micrograd's ``sum(..., b)``, so losses and
    gradients agree to rounding."""

    def __init__(self, weights: list[Layer]) -> None:
        from chainrule.nn import MLP

        self.model = MLP(LAYER_SIZES[0], list(LAYER_SIZES[1:]), activation="relu", seed=0)
        self.parameters = self.model.parameters()
        initial = [p for layer in weights for ws, b in layer for p in (*ws, b)]
        for parameter, number in zip(self.parameters, initial, strict=True):
            parameter.data = number

    def loss(self, moons: Moons) -> tuple[object, float]:
        from chainrule.nn import hinge, l2_penalty

        scores = [self.model(point) for point in moons.points]
        total = hinge(scores, moons.labels) + l2_penalty(self.parameters, ALPHA)
        return total, accuracy(moons.labels, [s.data for s in scores])


def network_model(weights: list[Layer]) -> NetworkMLP:
    return NetworkMLP(weights)


def float_model(weights: list[Layer]) -> FloatMLP:
    return FloatMLP(weights)


#: Engine name -> a function building a fresh model from the initial weights.
MODELS: dict[str, Callable[[list[Layer]], ScalarMLP | FloatMLP]] = {
    "chainrule": network_model,
    "micrograd": micrograd_model,
    "floats": float_model,
}


def train(model: ScalarMLP | FloatMLP, moons: Moons, steps: int = 100) -> StepResult:
    """The demo's training loop; returns the last step's result (loss before its update)."""
    result = None
    for k in range(steps):
        result = model.step(moons, learning_rate(k))
    assert result is not None
    return result


def max_gradient_difference(a: StepResult, b: StepResult) -> float:
    return max(math.fabs(x - y) for x, y in zip(a.gradients, b.gradients, strict=True))
