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

    Weights are kept per layer as rows (one list of input weights per neuron) and biases.
    """

    def __init__(self, weights: list[Layer]) -> None:
        self.rows = [[list(ws) for ws, _ in layer] for layer in weights]
        self.biases = [[b for _, b in layer] for layer in weights]

    def step(self, moons: Moons, rate: float) -> StepResult:
        rows, biases = self.rows, self.biases
        last = len(rows) - 1
        scale = 1.0 / len(moons.points)
        # d(loss)/d(weight) and d(loss)/d(bias), accumulated over the points.
        row_grads = [[[0.0] * len(ws) for ws in layer] for layer in rows]
        bias_grads = [[0.0] * len(layer) for layer in rows]
        data_loss = 0.0
        scores = []
        for point, label in zip(moons.points, moons.labels, strict=True):
            # Forward, keeping each layer's input for the backward pass.
            x = list(point)
            layer_inputs = []
            for index in range(last + 1):
                layer_inputs.append(x)
                z = [sum((w * xi for w, xi in zip(ws, x, strict=True)), b)
                     for ws, b in zip(rows[index], biases[index], strict=True)]
                x = z if index == last else [v if v > 0.0 else 0.0 for v in z]
            score = x[0]
            scores.append(score)
            margin = 1 + -label * score
            if margin <= 0.0:
                continue  # relu(margin) is 0 here, and so is its gradient
            data_loss += margin
            # Backward: hinge, then the layers in reverse; ReLU passes gradient where its
            # output is positive (the next layer's input).
            upstream = [-label * scale]
            for index in range(last, -1, -1):
                x = layer_inputs[index]
                below = [0.0] * len(x)
                neurons = zip(rows[index], row_grads[index], upstream, strict=True)
                for j, (ws, grads, g) in enumerate(neurons):
                    if not g:
                        continue
                    bias_grads[index][j] += g
                    grads[:] = [gw + g * xi for gw, xi in zip(grads, x, strict=True)]
                    below = [bw + g * w for bw, w in zip(below, ws, strict=True)]
                upstream = [g if xi > 0.0 else 0.0 for g, xi in zip(below, x, strict=True)]
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


def float_model(weights: list[Layer]) -> FloatMLP:
    return FloatMLP(weights)


#: Engine name -> a function building a fresh model from the initial weights.
MODELS: dict[str, Callable[[list[Layer]], ScalarMLP | FloatMLP]] = {
    "chainrule": chainrule_model,
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
