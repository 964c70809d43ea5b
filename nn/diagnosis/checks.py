"""The checks of :func:`~chainrule.nn.diagnose`: each reads the :class:`~.evidence.Run` and
reports a :class:`~.findings.Finding` only when the evidence is clear, with the numbers and the
fix it needs as a root cause (:mod:`.ranking` says which findings follow from which). The
thresholds are the constants below."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from chainrule.engine import Value, gradients

from ..activations import ACTIVATIONS
from ..anatomy import layers_of, relative_slope, saturates
from ..data import Loss, check_data, check_model, classifier, count_correct, is_integral, single
from ..errors import ConfigurationError
from ..losses import bce_with_logits, binary_cross_entropy, hinge
from ..module import Module
from .evidence import Run, mean_abs_weight, neighbour_agreement, typical_start
from .findings import Finding, number, unit_list

#: A run is no better than chance when its accuracy closes less than this share of the gap
#: between chance (the majority class's share) and 100%, or its loss less than this share of
#: the gap between the best constant output's loss and 0.
CHANCE_MARGIN = 0.1
#: Below this many samples the neighbour test for signal in the inputs is not run.
SIGNAL_SAMPLES = 20
#: The inputs carry no signal when neighbours agree on labels no more than this share of the
#: gap between chance and 100% above chance.
SIGNAL_MARGIN = 0.25
#: Identical inputs with different labels are reported when at least this share of the
#: samples cannot be fit by any model.
CONFLICT_SHARE = 0.05
#: A feature is unscaled when its root mean square exceeds this: weights are initialised for
#: inputs of about unit size.
UNSCALED = 10.0
#: A unit is dead when its output is exactly 0 on every sample; a layer is reported when at
#: least this share of its units is dead (one dead unit among many is common and harmless).
DEAD_SHARE = 0.25
#: A sigmoid or tanh unit is flat on a sample when its slope is below this fraction of the
#: activation's largest slope; saturated when it is flat on at least SATURATED_SAMPLES of the
#: samples that matter to learning (each sample weighted by how much it still pulls on the
#: output: |dloss/doutput|); a layer is reported when more than SATURATED_UNITS of its units
#: are saturated (a majority).
SATURATED_SLOPE = 0.01
SATURATED_SAMPLES = 0.5
SATURATED_UNITS = 0.5
#: Weights this many times larger than any initialisation starts them are "large".
LARGE_WEIGHTS = 4.0
#: Gradient reaching the first layer relative to the last: below this it vanishes, above its
#: inverse it explodes.
VANISHING_RATIO = 1e-3
#: The loss barely moves: it changed by less than this fraction over the second half of at
#: least MIN_EPOCHS epochs (or is still no better than chance) while falling in at least
#: STEADY_FALLS of them.
STALLED_CHANGE = 0.01
MIN_EPOCHS = 20
STEADY_FALLS = 0.9
#: The loss rose: the last epoch's loss is this much above the first's.
RISE = 0.1
#: The loss oscillates: over the second half of training at least this share of epochs
#: increased the loss, and the mean jump is at least OSCILLATION_SIZE of the mean loss.
OSCILLATION_SHARE = 0.3
OSCILLATION_SIZE = 0.05


def _labels(run: Run) -> list[int] | None:
    if run.chance.accuracy is None:
        return None
    return [int(t) for t in run.targets]


# -- the data -----------------------------------------------------------------------------------


def labels_against_loss(run: Run) -> Finding | None:
    """0/1 labels with hinge, labels outside [0, 1] with BCE, targets the output cannot reach."""
    targets, loss = run.targets, run.loss
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
    if loss in (binary_cross_entropy, bce_with_logits) and any(v < 0.0 or v > 1.0 for v in values):
        return Finding(
            "labels_do_not_fit_loss",
            "The labels do not fit the loss: binary cross-entropy expects targets between 0 "
            "and 1.",
            f"targets take the values {sorted(values)[:6]}.",
            "map -1/+1 labels with y = (y + 1) / 2, or use hinge for -1/+1 labels.",
        )
    if run.layers is not None:
        output = run.layers[-1].activation
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


def contradictory_labels(run: Run) -> Finding | None:
    """Identical inputs with different labels: a share of the samples no model can fit."""
    labels, rows = _labels(run), run.numeric_rows
    if labels is None or rows is None:
        return None
    groups: defaultdict[tuple[float, ...], list[int]] = defaultdict(list)
    for row, label in zip(rows, labels, strict=True):
        groups[tuple(row)].append(label)
    mixed = [g for g in groups.values() if len(set(g)) > 1]
    unfit = sum(len(g) - Counter(g).most_common(1)[0][1] for g in mixed)
    if unfit < CONFLICT_SHARE * len(rows):
        return None
    ceiling = 1.0 - unfit / len(rows)
    assert run.chance.accuracy is not None
    return Finding(
        "contradictory_labels",
        "Identical inputs carry different labels: no model can get every sample right, "
        "because a model gives the same input the same answer.",
        f"{len(mixed)} groups of identical inputs ({sum(len(g) for g in mixed)} samples) hold "
        f"more than one label; at best {ceiling:.0%} of the samples can be right (always "
        f"answering the majority class gets {run.chance.accuracy:.0%}).",
        "check the labels (were X and y put together correctly?); if the inputs really are the "
        "same, add the features that tell these samples apart.",
    )


def unscaled_inputs(run: Run) -> Finding | None:
    """Features far larger than the unit scale weights are initialised for."""
    rows = run.numeric_rows
    if rows is None or run.layers is None:
        return None
    sizes = [math.sqrt(math.fsum(v * v for v in column) / len(column))
             for column in zip(*rows, strict=True)]
    large = [k for k, size in enumerate(sizes) if size > UNSCALED]
    if not large:
        return None
    listing = ", ".join(f"x{k} {number(sizes[k])}" for k in large[:6])
    return Finding(
        "unscaled_inputs",
        "The inputs are not scaled: some features are far larger than the weights were "
        "initialised for, so the first layer's weighted sums and gradients are as large.",
        f"root mean square of {len(large)} of {len(sizes)} features above {UNSCALED:g}: "
        f"{listing}.",
        "standardise each feature (subtract its mean, divide by its standard deviation) or "
        "scale it to about [-1, 1] before training, and the same for new data.",
    )


def _no_signal(run: Run) -> float | None:
    """The neighbour agreement when it shows no signal in the inputs, else None."""
    labels, rows = _labels(run), run.numeric_rows
    if labels is None or rows is None or len(rows) < SIGNAL_SAMPLES:
        return None
    chance = run.chance.accuracy
    assert chance is not None
    agreement = neighbour_agreement(rows, labels)
    return agreement if agreement <= chance + SIGNAL_MARGIN * (1.0 - chance) else None


def at_chance(run: Run) -> bool:
    """Whether the run's accuracy or loss is no better than chance."""
    chance = run.chance
    if run.accuracy is not None and chance.accuracy is not None and \
            run.accuracy <= chance.accuracy + CHANCE_MARGIN * (1.0 - chance.accuracy):
        return True
    return (run.loss_value is not None and chance.loss is not None and chance.loss > 0.0
            and run.loss_value >= (1.0 - CHANCE_MARGIN) * chance.loss)


def no_better_than_chance(run: Run) -> Finding | None:
    """A run no better than chance always gets this finding (kind ``no_better_than_chance``,
    or ``no_signal`` when a neighbour test finds that the inputs do not carry the labels at
    all: then no model can learn them)."""
    if not at_chance(run):
        return None
    chance = run.chance
    said = []
    if run.accuracy is not None and chance.accuracy is not None:
        said.append(f"accuracy {run.accuracy:.0%}, while always answering {chance.majority} "
                    f"gets {chance.accuracy:.0%}")
    if run.loss_value is not None and chance.loss is not None:
        said.append(f"loss {run.loss_value:.5g}, while the best constant output (ignoring the "
                    f"inputs) gets {chance.loss:.5g}")
    worse_loss = (run.loss_value is not None and chance.loss is not None
                  and run.loss_value > chance.loss and run.accuracy is not None
                  and chance.accuracy is not None
                  and run.accuracy > chance.accuracy + CHANCE_MARGIN * (1.0 - chance.accuracy))
    title = ("The loss is worse than chance: a model that ignored its inputs would do better."
             if worse_loss else
             "No better than chance: the model has learned nothing that a guess without the "
             "inputs does not know.")
    agreement = _no_signal(run)
    if agreement is not None:
        return Finding(
            "no_signal",
            "No better than chance, and the inputs carry no sign of the labels: no model can "
            "learn them.",
            "; ".join(said) + f". A sample's 5 nearest neighbours share its label in "
            f"{agreement:.0%} of the samples, no more than chance: the labels look unrelated to "
            "the inputs.",
            "check that each label belongs to its sample (were X and y shuffled separately, or "
            "a wrong column taken as the label?); training longer or a larger model cannot help.",
        )
    return Finding(
        "no_better_than_chance", title, "; ".join(said) + ".",
        "train longer or with a larger learning rate (or Adam), and check the findings above.",
    )


# -- the model ----------------------------------------------------------------------------------


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


def single_neuron_on_curved_data(run: Run) -> Finding | None:
    """A model without a hidden layer on two classes no hyperplane separates."""
    layers, rows, targets = run.layers, run.numeric_rows, run.targets
    if layers is None or rows is None or len(layers) != 1 or len(layers[0].neurons) != 1:
        return None
    if not all(is_integral(t) for t in targets) or len({int(t) for t in targets}) != 2:
        return None
    classify = classifier(False, targets, run.loss)
    right = 0 if classify is None else count_correct(classify, run.outputs, targets)
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


def identical_units(run: Run) -> Finding | None:
    """Units of a layer with the same weights (a constant initialisation)."""
    if run.layers is None:
        return None
    reports = []
    for layer in run.layers:
        groups: dict[tuple[float, ...], list[int]] = {}
        for j, neuron in enumerate(layer.neurons):
            groups.setdefault(tuple(p.data for p in neuron.parameters()), []).append(j)
        for weights, members in groups.items():
            if len(members) > 1:
                reports.append(f"{layer.name}: neurons {unit_list(members)} have the same "
                               f"weights and bias ({', '.join(number(w) for w in weights[:4])}"
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


def _hidden(run: Run) -> list[int]:
    assert run.layers is not None
    return list(range(len(run.layers) - 1))


def dead_units(run: Run) -> Finding | None:
    """Relu units whose output is 0 on every sample; the fix depends on what killed them."""
    if run.layers is None or run.activations is None:
        return None
    reports, biases, reach, total_dead, total = [], [], [], 0, 0
    for k in _hidden(run):
        layer, outputs = run.layers[k], run.activations[k]
        if not ACTIVATIONS[layer.activation].dies:
            continue
        dead = [j for j, pattern in enumerate(outputs) if all(a == 0.0 for a in pattern)]
        total += len(outputs)
        total_dead += len(dead)
        if dead and len(dead) >= DEAD_SHARE * len(outputs):
            reports.append(f"{layer.name}: {len(dead)} of {len(outputs)} units "
                           f"(neuron {unit_list(dead)})")
            inputs = run.layer_inputs(k)
            for j in dead:
                neuron = layer.neurons[j]
                biases.append(neuron.bias.data)
                reach.append(max(abs(math.fsum(w.data * x for w, x in zip(neuron.weights, row,
                                                                            strict=True)))
                                 for row in inputs))
    if not reports:
        return None
    evidence = (f"{'; '.join(reports)} output exactly 0 on all {len(run.rows)} samples "
                f"({total_dead} of {total} relu units dead)")
    init = ACTIVATIONS["relu"].init
    # Killed by the bias: each bias alone is below anything its weights reach on the data, so
    # no sign of the weights could bring the unit to life; biases start at 0.
    if all(b < 0.0 and -b > r for b, r in zip(biases, reach, strict=True)):
        mean_bias = math.fsum(biases) / len(biases)
        return Finding(
            "dead_relu_units",
            "Dead relu units, killed by their bias: some units output 0 on every sample, so no "
            "gradient reaches their weights and they never recover.",
            f"{evidence}; their biases (mean {number(mean_bias)}) are below anything their "
            f"weights reach on the data (|w·x| at most {number(max(reach))}).",
            f"fix the initialisation first: start the biases at 0 (as every init= scheme does) "
            f"and the weights with init='{init}'; activation='leaky_relu' also lets a unit "
            "with a negative input still learn.",
        )
    return Finding(
        "dead_relu_units",
        "Dead relu units: some units output 0 on every sample, so no gradient reaches their "
        "weights and they never recover.",
        evidence + ".",
        f"initialise with init='{init}' (biases at 0), or use activation='leaky_relu' so a "
        "negative input still passes a small gradient; if they died during training, lower "
        "the learning rate.",
    )


def _span(shares: list[float]) -> str:
    low, high = f"{min(shares):.0%}", f"{max(shares):.0%}"
    return low if low == high else f"{low} to {high}"


def saturated_units(run: Run) -> Finding | None:
    """A majority of a layer's sigmoid or tanh units flat on most samples that matter."""
    if run.layers is None or run.activations is None:
        return None
    pull = run.pull
    total = math.fsum(pull)
    reports, large = [], []
    for k in _hidden(run):
        layer, outputs = run.layers[k], run.activations[k]
        if not saturates(layer.activation):
            continue
        activation = layer.activation
        flat_shares = [
            math.fsum(p for p, a in zip(pull, pattern, strict=True)
                      if relative_slope(activation, a) < SATURATED_SLOPE) / total
            for pattern in outputs]
        saturated = [j for j, share in enumerate(flat_shares) if share >= SATURATED_SAMPLES]
        if len(saturated) <= SATURATED_UNITS * len(outputs):
            continue
        shares = [flat_shares[j] for j in saturated]
        reports.append(f"{layer.name} ({activation}): {len(saturated)} of {len(outputs)} units "
                       f"(neuron {unit_list(saturated)}) are flat on {_span(shares)} of the samples")
        fan_out = len(run.layers[k + 1].neurons)
        typical, now = typical_start(layer, fan_out), mean_abs_weight(layer)
        if now > LARGE_WEIGHTS * typical:
            large.append(f"{layer.name}'s mean |w| is {number(now)}, {number(now / typical)} "
                         f"times the largest any initialisation scheme gives it "
                         f"({number(typical)})")
    if not reports:
        return None
    activation = run.layers[0].activation
    init = ACTIVATIONS[activation].init
    evidence = ("; ".join(reports) + f" (weighted by how much each sample still drives "
                f"learning; flat: slope below {SATURATED_SLOPE:g} of the largest)")
    if large:
        fix = (f"initialise smaller weights: init='{init}' suits {activation}; then scale the "
               "inputs to about [-1, 1] if they are not.")
        evidence += "; " + "; ".join(large)
    else:
        fix = (f"scale the inputs to about [-1, 1] and initialise with init='{init}'; if the "
               "weights grew during training, lower the learning rate.")
    return Finding(
        "saturated_units",
        "Saturated units: their weighted sums are so large that the activation is flat, so "
        "almost no gradient passes through them.",
        evidence + ".", fix,
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
    return [(layer.name, math.sqrt(math.fsum(g * g for g in (next(grads) for _ in values))))
            for layer, values in zip(layers, per_layer, strict=True)]


def _hidden_activations(run: Run) -> list[str]:
    assert run.layers is not None
    return sorted({run.layers[k].activation for k in _hidden(run)})


def gradient_flow(run: Run) -> Finding | None:
    """The gradient shrinking (or growing) by orders of magnitude from the last layer back."""
    # The gradient of a loss the labels do not fit says nothing about the layers.
    if run.layers is None or len(run.layers) < 2 or labels_against_loss(run) is not None:
        return None
    norms = layer_gradient_norms(run.model, run.rows, run.targets, run.loss)
    if norms[-1][1] == 0.0:
        return None
    ratio = norms[0][1] / norms[-1][1]
    listing = ", ".join(f"{name} {number(n / norms[-1][1])}" for name, n in norms)
    hidden = _hidden_activations(run)
    if ratio < VANISHING_RATIO:
        if "sigmoid" in hidden:
            fix = ("use tanh or relu instead of sigmoid in the hidden layers (sigmoid's slope "
                   "is at most 0.25, so each layer shrinks the gradient at least fourfold), "
                   "init='xavier_uniform' (tanh) or 'he_uniform' (relu), or fewer layers.")
        elif "tanh" in hidden:
            fix = ("initialise with init='xavier_uniform', use relu in the hidden layers "
                   "(init='he_uniform'), or fewer layers.")
        else:
            init = ACTIVATIONS[hidden[0]].init if hidden else "xavier_uniform"
            fix = f"initialise with init='{init}' or use fewer layers."
        return Finding(
            "vanishing_gradients",
            "Vanishing gradients: the gradient shrinks layer by layer on its way back, so the "
            "first layers barely learn.",
            f"gradient reaching each layer relative to the last: {listing} (the first layer "
            f"gets {number(ratio)} of it).",
            fix,
        )
    if ratio > 1.0 / VANISHING_RATIO:
        return Finding(
            "exploding_gradients",
            "Exploding gradients: the gradient grows layer by layer on its way back, so the "
            "first layers take huge steps.",
            f"gradient reaching each layer relative to the last: {listing} (the first layer "
            f"gets {number(ratio)} times as much).",
            "initialise smaller weights (init='xavier_uniform'), lower the learning rate, or "
            "use fewer layers.",
        )
    return None


# -- the learning rate --------------------------------------------------------------------------


def learning_rate(run: Run) -> Finding | None:
    """From the history: the loss falls every epoch but barely moves (too small), or it rises
    or oscillates (too large)."""
    history = run.history
    if history is None or history.epochs < MIN_EPOCHS:
        return None
    losses = history.loss
    first, last = losses[0], losses[-1]
    rate = history.learning_rate[-1]
    accuracy = history.accuracy[-1]
    half = len(losses) // 2
    middle = losses[half]
    tail = losses[half:]
    falls = sum(1 for a, b in pairwise(tail) if b < a)
    # Stuck rather than done: the loss still fell nearly every epoch (steps in a good
    # direction, too small to matter) and either barely moved over the second half or is
    # still no better than chance, while the model does not classify every sample yet.
    stalled = middle > 0.0 and abs(last - middle) < STALLED_CHANGE * middle
    if (accuracy is None or accuracy < 1.0) and (stalled or at_chance(run)) \
            and falls >= STEADY_FALLS * (len(tail) - 1):
        return Finding(
            "learning_rate_too_small",
            "The learning rate looks too small: the loss still falls every epoch, but by so "
            "little that it barely moves.",
            f"at lr {number(rate)}, the loss went from {first:.5f} (epoch 1) to {middle:.5f} "
            f"(epoch {half + 1}) to {last:.5f} (epoch {len(losses)}): "
            f"{(last - middle) / middle:+.2%} over the last {len(losses) - half - 1} epochs, "
            f"falling in {falls} of them"
            + ("" if accuracy is None else f"; accuracy ends at {accuracy:.0%}") + ".",
            f"raise the learning rate (try 10 to 50 times larger, lr {number(rate * 10)} to "
            f"{number(rate * 50)}) or use Adam, which adapts its step size.",
        )
    if last > first * (1.0 + RISE):
        return Finding(
            "learning_rate_too_large",
            "The learning rate looks too large: the loss rose during training.",
            f"at lr {number(rate)} the loss went from {number(first)} to {number(last)} "
            f"({(last - first) / first:+.0%}).",
            f"lower the learning rate (try lr {number(rate / 10)}).",
        )
    changes = [b - a for a, b in pairwise(tail)]
    rises = sum(1 for c in changes if c > 0.0)
    mean_loss = math.fsum(tail) / len(tail)
    mean_jump = math.fsum(abs(c) for c in changes) / len(changes)
    if rises >= OSCILLATION_SHARE * len(changes) and mean_loss > 0.0 \
            and mean_jump >= OSCILLATION_SIZE * mean_loss:
        return Finding(
            "learning_rate_too_large",
            "The learning rate looks too large: the loss oscillates instead of settling.",
            f"in the last {len(tail)} epochs at lr {number(rate)} the loss rose in {rises} of "
            f"{len(changes)} epochs and moved by {number(mean_jump)} per epoch on average "
            f"(mean loss {number(mean_loss)}).",
            f"lower the learning rate (try lr {number(rate / 10)}) or decay it with a schedule.",
        )
    return None


#: Every check, in the order they run (the ranking orders what they find).
CHECKS = (labels_against_loss, contradictory_labels, unscaled_inputs,
          single_neuron_on_curved_data, identical_units, dead_units, saturated_units,
          gradient_flow, learning_rate, no_better_than_chance)
