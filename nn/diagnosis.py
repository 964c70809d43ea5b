"""Why a network does not learn, in plain words: :func:`diagnose`.

Each check looks at the model on the data (its units' outputs, the gradient reaching each
layer, its weights) or at the training :class:`~chainrule.nn.History`, and reports a
:class:`Finding` only when the evidence is clear, with the numbers and a suggested fix. The
thresholds are written next to each check; a healthy run gives no finding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from chainrule.engine import Value, gradients

from .activations import ACTIVATIONS
from .anatomy import LayerView, layers_of, relative_slope, saturates, unit_activations
from .data import Loss, check_data, check_model, classifier, count_correct, is_integral, single
from .errors import ConfigurationError
from .losses import bce_with_logits, binary_cross_entropy, hinge
from .module import Module
from .training.history import History

#: A unit is dead when its output is exactly 0 on every sample; a layer is reported when at
#: least this share of its units is dead (one dead unit among many is common and harmless).
DEAD_SHARE = 0.25
#: A sigmoid or tanh unit is saturated on a sample when its slope is below this fraction of
#: the activation's largest slope, and saturated overall when that holds on SATURATED_SAMPLES
#: of the samples; a layer is reported when DEAD_SHARE of its units are saturated.
SATURATED_SLOPE = 0.01
SATURATED_SAMPLES = 0.9
#: Gradient reaching the first layer relative to the last: below this it vanishes, above its
#: inverse it explodes.
VANISHING_RATIO = 1e-3
#: The loss barely moves: it changed by less than this fraction over at least MIN_EPOCHS epochs.
STALLED_CHANGE = 0.01
MIN_EPOCHS = 20
#: The loss rose: the last epoch's loss is this much above the first's.
RISE = 0.1
#: The loss oscillates: over the second half of training at least this share of epochs
#: increased the loss, and the mean jump is at least OSCILLATION_SIZE of the mean loss.
OSCILLATION_SHARE = 0.3
OSCILLATION_SIZE = 0.05


@dataclass(frozen=True)
class Finding:
    """One problem: what it is (``kind``), what it means, the evidence and a fix."""

    kind: str
    title: str
    evidence: str
    fix: str

    def text(self) -> str:
        """The finding in three lines: title, evidence and suggested fix."""
        return f"{self.title}\n  evidence: {self.evidence}\n  fix: {self.fix}"

    def __str__(self) -> str:
        return self.text()


class Diagnosis(tuple[Finding, ...]):
    """The findings of :func:`diagnose` (a tuple; empty when nothing is wrong)."""

    @property
    def kinds(self) -> list[str]:
        """The kind of each finding, in order (``"dead_relu_units"``...)."""
        return [f.kind for f in self]

    def text(self) -> str:
        """Every finding as text, or a line saying that all the checks passed."""
        if not self:
            return "No problems found: the checks for dead, saturated and identical units, " \
                   "vanishing or exploding gradients, the learning rate, separability and " \
                   "the labels all passed."
        lines = [f"{len(self)} finding(s):"]
        lines += [f"{k}. {finding.text()}" for k, finding in enumerate(self, 1)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Diagnosis({self.kinds})"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _unit_list(indices: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


# -- the labels and the loss --------------------------------------------------------------------


def _labels_against_loss(targets: list[Any], loss: Loss, layers: list[LayerView] | None
                         ) -> Finding | None:
    numbers = [float(t) for t in targets if isinstance(t, (int, float)) and not isinstance(t, bool)]
    if len(numbers) != len(targets):
        return None
    values = set(numbers)
    if loss is hinge and values <= {0.0, 1.0}:
        return Finding(
            "labels_do_not_fit_loss",
            "The labels do not fit the loss: hinge loss expects labels -1 and +1, the targets "
            "are 0 and 1.",
            f"targets take the values {sorted(values)}; hinge(score, 0) = max(0, 1) = 1 "
            "whatever the score, so class 0 never pulls the boundary.",
            "map the labels with y = 2*y - 1, or use bce_with_logits with 0/1 labels.",
        )
    if loss in (binary_cross_entropy, bce_with_logits) and not values <= {0.0, 1.0} \
            and any(v < 0.0 or v > 1.0 for v in values):
        return Finding(
            "labels_do_not_fit_loss",
            "The labels do not fit the loss: binary cross-entropy expects targets between 0 "
            "and 1.",
            f"targets take the values {sorted(values)[:6]}.",
            "map -1/+1 labels with y = (y + 1) / 2, or use hinge for -1/+1 labels.",
        )
    if layers is not None:
        output = layers[-1].activation
        low, high = (ACTIVATIONS[output].output_range if saturates(output)
                     else (-math.inf, math.inf))
        outside = [v for v in values if v < low or v > high]
        if outside:
            return Finding(
                "labels_do_not_fit_loss",
                f"The targets lie outside what the output layer can produce: a {output} output "
                f"is always between {low:g} and {high:g}.",
                f"targets {sorted(outside)[:6]} are out of reach.",
                f"rescale the targets into ({low:g}, {high:g}), or use a linear output.",
            )
    return None


# -- separability -------------------------------------------------------------------------------


def _separable(rows: list[list[float]], signs: list[int], passes: int = 200) -> bool:
    """True when the perceptron rule finds a separating hyperplane within ``passes`` passes
    (it always does for separable data, given enough passes)."""
    d = len(rows[0])
    w = [0.0] * (d + 1)
    for _ in range(passes):
        mistakes = 0
        for x, s in zip(rows, signs, strict=True):
            if s * (w[d] + sum(wi * xi for wi, xi in zip(w, x, strict=False))) <= 0.0:
                mistakes += 1
                for k in range(d):
                    w[k] += s * x[k]
                w[d] += s
        if mistakes == 0:
            return True
    return False


def _single_neuron_on_curved_data(layers: list[LayerView] | None, rows: list[list[float]],
                                  targets: list[Any], outputs: list[float], loss: Loss
                                  ) -> Finding | None:
    if layers is None or len(layers) != 1 or len(layers[0].neurons) != 1:
        return None
    if not all(is_integral(t) for t in targets) or len({int(t) for t in targets}) != 2:
        return None
    classify = classifier(False, targets, loss)
    right = 0 if classify is None else count_correct(classify, outputs, targets)
    high = max(int(t) for t in targets)
    if right == len(rows) or _separable(rows, [1 if int(t) == high else -1 for t in targets]):
        return None
    return Finding(
        "not_linearly_separable",
        "A single neuron is asked to separate classes that no straight line (hyperplane) "
        "separates: its decision boundary is a line, so it cannot get every sample right.",
        f"the model has no hidden layer and classifies {right} of {len(rows)} samples "
        f"correctly ({right / len(rows):.0%}); a perceptron run for 200 passes over the data "
        "never found a line that separates the two classes.",
        "add a hidden layer, e.g. MLP(nin, [4, 1], activation='tanh') (2 hidden units are "
        "enough for XOR).",
    )


# -- units --------------------------------------------------------------------------------------


def _dead_units(layers: list[LayerView], activations: list[list[list[float]]]) -> Finding | None:
    reports, total_dead, total = [], 0, 0
    for layer, outputs in zip(layers[:-1], activations[:-1], strict=True):
        if not ACTIVATIONS[layer.activation].dies:
            continue
        dead = [j for j, pattern in enumerate(outputs) if all(a == 0.0 for a in pattern)]
        total += len(outputs)
        total_dead += len(dead)
        if dead and len(dead) >= DEAD_SHARE * len(outputs):
            reports.append(f"{layer.name}: {len(dead)} of {len(outputs)} units "
                           f"(neuron {_unit_list(dead)})")
    if not reports:
        return None
    samples = len(activations[0][0])
    return Finding(
        "dead_relu_units",
        "Dead relu units: some units output 0 on every sample, so no gradient reaches their "
        "weights and they never recover.",
        f"{'; '.join(reports)} output exactly 0 on all {samples} samples "
        f"({total_dead} of {total} relu units dead).",
        f"lower the learning rate, initialise with init='{ACTIVATIONS['relu'].init}', or use "
        "activation='leaky_relu' so a negative input still passes a small gradient.",
    )


def _saturated_units(layers: list[LayerView], activations: list[list[list[float]]]
                     ) -> Finding | None:
    reports = []
    for layer, outputs in zip(layers[:-1], activations[:-1], strict=True):
        if not saturates(layer.activation):
            continue
        activation = layer.activation
        saturated = [
            j for j, pattern in enumerate(outputs)
            if sum(1 for a in pattern if relative_slope(activation, a) < SATURATED_SLOPE)
            >= SATURATED_SAMPLES * len(pattern)
        ]
        if saturated and len(saturated) >= DEAD_SHARE * len(outputs):
            mean_slope = sum(relative_slope(activation, a) for j in saturated for a in outputs[j]) / (
                len(saturated) * len(outputs[0]))
            reports.append(f"{layer.name} ({layer.activation}): {len(saturated)} of "
                           f"{len(outputs)} units (neuron {_unit_list(saturated)}), mean slope "
                           f"{_g(mean_slope)} of the largest")
    if not reports:
        return None
    return Finding(
        "saturated_units",
        "Saturated units: their inputs are so large that the activation is flat, so almost no "
        "gradient passes through them.",
        "; ".join(reports) + f" (slope below {SATURATED_SLOPE:g} of the largest on at least "
        f"{SATURATED_SAMPLES:.0%} of the samples).",
        "scale the inputs to about [-1, 1], initialise with "
        f"init='{ACTIVATIONS[layers[0].activation].init}', or lower the learning rate.",
    )


def _identical_units(layers: list[LayerView]) -> Finding | None:
    reports = []
    for layer in layers:
        groups: dict[tuple[float, ...], list[int]] = {}
        for j, neuron in enumerate(layer.neurons):
            groups.setdefault(tuple(p.data for p in neuron.parameters()), []).append(j)
        for weights, members in groups.items():
            if len(members) > 1:
                reports.append(f"{layer.name}: neurons {_unit_list(members)} have the same "
                               f"weights and bias ({', '.join(_g(w) for w in weights[:4])}"
                               f"{', ...' if len(weights) > 4 else ''})")
    if not reports:
        return None
    return Finding(
        "symmetric_initialisation",
        "Identical neurons: units of a layer with the same weights compute the same thing and "
        "receive the same gradient, so they stay identical forever (the network is narrower "
        "than it looks).",
        "; ".join(reports) + ".",
        "initialise the weights randomly (the default; pass seed= for repeatable runs) instead "
        "of a constant.",
    )


# -- gradients between layers -------------------------------------------------------------------


def layer_gradient_norms(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss
                         ) -> list[tuple[str, float]]:
    """The norm of the loss gradient reaching each layer's outputs (over all units and
    samples), input side first. Computed on a graph of its own: no ``.grad`` is touched."""
    model = check_model(model, "layer_gradient_norms")
    rows, targets = check_data(model, X, y, "layer_gradient_norms")
    layers = layers_of(model)
    if layers is None:
        raise ConfigurationError("layer_gradient_norms: the model is not made of chainrule.nn "
                                 "layers (Neuron, Layer or MLP)")
    per_layer: list[list[Value]] = [[] for _ in layers]
    outputs = []
    for row in rows:
        signal: Any = row
        for k, layer in enumerate(layers):
            signal = [neuron(signal) for neuron in layer.neurons]
            per_layer[k].extend(signal)
        outputs.append(single(signal))
    objective = loss(outputs, targets)
    flat = [v for values in per_layer for v in values]
    grads = iter(gradients(objective, flat))
    norms = []
    for layer, values in zip(layers, per_layer, strict=True):
        norms.append((layer.name, math.sqrt(math.fsum(g * g for g in (next(grads) for _ in values)))))
    return norms


def _gradient_flow(norms: list[tuple[str, float]]) -> Finding | None:
    if len(norms) < 2 or norms[-1][1] == 0.0:
        return None
    ratio = norms[0][1] / norms[-1][1]
    listing = ", ".join(f"{name} {_g(n / norms[-1][1])}" for name, n in norms)
    if ratio < VANISHING_RATIO:
        return Finding(
            "vanishing_gradients",
            "Vanishing gradients: the gradient shrinks layer by layer on its way back, so the "
            "first layers barely learn.",
            f"gradient reaching each layer relative to the last: {listing} (the first layer "
            f"gets {_g(ratio)} of it).",
            "use relu or tanh instead of sigmoid in hidden layers, init='xavier_uniform' "
            "(tanh) or 'he_uniform' (relu), or fewer layers.",
        )
    if ratio > 1.0 / VANISHING_RATIO:
        return Finding(
            "exploding_gradients",
            "Exploding gradients: the gradient grows layer by layer on its way back, so the "
            "first layers take huge steps.",
            f"gradient reaching each layer relative to the last: {listing} (the first layer "
            f"gets {_g(ratio)} times as much).",
            "initialise smaller weights (init='xavier_uniform'), lower the learning rate, or "
            "use fewer layers.",
        )
    return None


# -- the learning rate --------------------------------------------------------------------------


def _learning_rate(history: History | None) -> Finding | None:
    if history is None or history.epochs < MIN_EPOCHS:
        return None
    losses = history.loss
    first, last = losses[0], losses[-1]
    rate = history.learning_rate[-1]
    accuracy = history.accuracy[-1]
    # Stuck rather than done: the second half of training changed the loss by less than
    # STALLED_CHANGE while it still fell nearly every epoch (steps in a good direction, too
    # small to matter), and the model does not classify every sample yet.
    half = len(losses) // 2
    middle = losses[half]
    tail = losses[half:]
    falls = sum(1 for a, b in pairwise(tail) if b < a)
    if (accuracy is None or accuracy < 1.0) and middle > 0.0 \
            and abs(last - middle) < STALLED_CHANGE * middle and falls >= 0.9 * (len(tail) - 1):
        return Finding(
            "learning_rate_too_small",
            "The learning rate looks too small: the loss still falls every epoch, but by so "
            "little that it barely moves.",
            f"at lr {_g(rate)}, the loss went from {first:.5f} (epoch 1) to {middle:.5f} "
            f"(epoch {half + 1}) to {last:.5f} (epoch {len(losses)}): "
            f"{(last - middle) / middle:+.2%} over the last {len(losses) - half - 1} epochs, "
            f"falling in {falls} of them"
            + ("" if accuracy is None else f"; accuracy ends at {accuracy:.0%}") + ".",
            f"raise the learning rate (try 10 to 50 times larger, lr {_g(rate * 10)} to "
            f"{_g(rate * 50)}) or use Adam, which adapts its step size.",
        )
    if last > first * (1.0 + RISE):
        return Finding(
            "learning_rate_too_large",
            "The learning rate looks too large: the loss rose during training.",
            f"at lr {_g(rate)} the loss went from {_g(first)} to {_g(last)} "
            f"({(last - first) / first:+.0%}).",
            f"lower the learning rate (try lr {_g(rate / 10)}).",
        )
    changes = [b - a for a, b in pairwise(tail)]
    rises = sum(1 for c in changes if c > 0.0)
    mean_loss = sum(tail) / len(tail)
    mean_jump = sum(abs(c) for c in changes) / len(changes)
    if rises >= OSCILLATION_SHARE * len(changes) and mean_loss > 0.0 \
            and mean_jump >= OSCILLATION_SIZE * mean_loss:
        return Finding(
            "learning_rate_too_large",
            "The learning rate looks too large: the loss oscillates instead of settling.",
            f"in the last {len(tail)} epochs at lr {_g(rate)} the loss rose in {rises} of "
            f"{len(changes)} epochs and moved by {_g(mean_jump)} per epoch on average (mean loss "
            f"{_g(mean_loss)}).",
            f"lower the learning rate (try lr {_g(rate / 10)}) or decay it with a schedule.",
        )
    return None


# -- all together -------------------------------------------------------------------------------


def diagnose(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss,
             history: History | None = None) -> Diagnosis:
    """Check ``model`` on the data ``X, y`` (and the run's ``history``, when given) for the
    usual reasons a network does not learn; returns the findings, each with its evidence and
    a fix (an empty :class:`Diagnosis` when nothing is wrong).

    Checked: labels that do not fit the loss (0/1 with hinge), a single neuron on data no line
    separates (XOR), dead relu units, saturated sigmoid or tanh units, identical neurons
    (symmetric initialisation), vanishing or exploding gradients between layers, and from the
    history a learning rate too small (the loss barely moves) or too large (it rises or
    oscillates). Nothing in the model is changed; no ``.grad`` is touched.
    """
    model = check_model(model, "diagnose")
    rows, targets = check_data(model, X, y, "diagnose")
    if not callable(loss):
        raise ConfigurationError(f"diagnose: loss must be a loss function, got {loss!r:.40}")
    if history is not None and not isinstance(history, History):
        raise ConfigurationError(f"diagnose: history must be a History from fit, got "
                                 f"{type(history).__name__}")
    layers = layers_of(model)
    findings: list[Finding | None] = [_labels_against_loss(targets, loss, layers)]
    plain_rows = [[float(v) for v in row] for row in rows]
    if layers is not None:
        activations = unit_activations(layers, rows)
        findings.append(_single_neuron_on_curved_data(layers, plain_rows, targets,
                                                      activations[-1][0], loss))
        findings.append(_dead_units(layers, activations))
        findings.append(_saturated_units(layers, activations))
        findings.append(_identical_units(layers))
        if findings[0] is None:
            findings.append(_gradient_flow(layer_gradient_norms(model, rows, targets, loss)))
    rate = _learning_rate(history)
    if rate is not None and rate.kind == "learning_rate_too_large":
        # Too large a rate is a cause: what it did to the units comes after it.
        findings.insert(0, rate)
    elif not any(f is not None for f in findings):
        # A plateau that a structural finding explains is not blamed on the learning rate.
        findings.append(rate)
    return Diagnosis(f for f in findings if f is not None)
