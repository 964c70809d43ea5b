"""What the checks of :func:`~chainrule.nn.diagnose` read, gathered once: the model's outputs
and units on the data, the loss and accuracy it reaches, what chance reaches, and how much each
sample still drives learning."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chainrule.engine import ChainruleError, Value, gradients, no_grad

from ..activations import ACTIVATIONS
from ..anatomy import LayerView, layers_of, saturates, unit_activations
from ..data import Classifier, Loss, check_data, check_model, classifier, count_correct, single
from ..errors import ConfigurationError
from ..module import INIT_SCHEMES, Module
from ..training.evaluation import predict
from ..training.history import History


class _TypicalMagnitude:
    """A stand-in for a random source that returns, instead of a draw, the mean |w| of the
    distribution asked for (zero-centred, as every initialisation scheme's is): E|U(a, b)| =
    (b - a) / 4 and E|N(0, sigma)| = sigma * sqrt(2 / pi). Passed to a scheme of
    ``INIT_SCHEMES``, it gives that scheme's typical weight size, read from the scheme itself."""

    def uniform(self, a: float, b: float) -> float:
        return (b - a) / 4.0

    def gauss(self, mu: float, sigma: float) -> float:
        return sigma * math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class Chance:
    """What a model that ignores its inputs reaches: the majority class's share (``accuracy``,
    None for regression) and the loss of the best constant output (``loss``: for 0/1 labels
    with BCE, predicting the share of 1s; with MSE, the mean target; None when the loss cannot
    take a constant output)."""

    accuracy: float | None
    majority: Any
    loss: float | None


@dataclass(frozen=True)
class Run:
    """A model on its data, and the training history when given: everything the checks read."""

    model: Module
    rows: list[Any]
    targets: list[Any]
    loss: Loss
    history: History | None
    layers: list[LayerView] | None
    #: ``activations[k][j][i]``: unit ``j`` of layer ``k`` on sample ``i`` (None without layers).
    activations: list[list[list[float]]] | None
    #: The model's output on each sample (a float, or a list of floats for several outputs).
    outputs: list[Any]
    #: The mean loss on the data now (None when the loss cannot be computed on the outputs).
    loss_value: float | None
    accuracy: float | None
    chance: Chance
    #: How much each sample still drives learning: |dloss/doutput| (all 1 when unknown).
    pull: list[float]

    @cached_property
    def numeric_rows(self) -> list[list[float]] | None:
        """The samples as lists of floats, or None when they are not flat numbers."""
        if not all(isinstance(row, (list, tuple)) and all(isinstance(v, (int, float)) for v in row)
                   for row in self.rows):
            return None
        return [[float(v) for v in row] for row in self.rows]

    def layer_inputs(self, k: int) -> list[list[float]]:
        """The inputs of layer ``k`` on every sample (sample-major)."""
        if k == 0:
            rows = self.numeric_rows
            assert rows is not None
            return rows
        assert self.activations is not None
        units = self.activations[k - 1]
        return [[unit[i] for unit in units] for i in range(len(self.rows))]


def gather(model: Module, X: Sequence[Any], y: Sequence[Any], loss: Loss,
           history: History | None) -> Run:
    """The :class:`Run` of ``model`` on ``X, y`` (arguments checked, errors named ``diagnose``)."""
    model = check_model(model, "diagnose")
    rows, targets = check_data(model, X, y, "diagnose")
    if not callable(loss):
        raise ConfigurationError(f"diagnose: loss must be a loss function, got {loss!r:.40}")
    if history is not None and not isinstance(history, History):
        raise ConfigurationError(f"diagnose: history must be a History from fit, got "
                                 f"{type(history).__name__}")
    layers = layers_of(model)
    activations = None if layers is None else unit_activations(layers, rows)
    if activations is None:
        outputs = predict(model, rows)
    else:
        outputs = [single([unit[i] for unit in activations[-1]]) for i in range(len(rows))]
    vector = isinstance(outputs[0], list)
    classify = classifier(vector, targets, loss)
    accuracy = None if classify is None else count_correct(classify, outputs, targets) / len(rows)
    return Run(model, rows, targets, loss, history, layers, activations, outputs,
               _loss_of(loss, outputs, targets), accuracy,
               chance_of(loss, targets, vector, classify, layers), _pull(loss, outputs, targets))


def _loss_of(loss: Loss, outputs: list[Any], targets: list[Any]) -> float | None:
    try:
        with no_grad():
            value = float(loss(outputs, targets).data)
    except (ChainruleError, TypeError, ValueError, AttributeError):
        return None  # a loss of one's own that takes only Values of its own kind
    return value if math.isfinite(value) else None


def _pull(loss: Loss, outputs: list[Any], targets: list[Any]) -> list[float]:
    """|dloss/doutput| for each sample: how much it still pulls on the model."""
    try:
        leaves = [[Value(v) for v in o] if isinstance(o, list) else Value(o) for o in outputs]
        flat = [v for leaf in leaves for v in (leaf if isinstance(leaf, list) else [leaf])]
        grads = iter(gradients(loss(leaves, targets), flat))
    except (ChainruleError, TypeError, ValueError, AttributeError):
        return [1.0] * len(outputs)
    pull = []
    for leaf in leaves:
        parts = [next(grads) for _ in (leaf if isinstance(leaf, list) else [leaf])]
        pull.append(math.sqrt(math.fsum(g * g for g in parts)))
    return pull if math.fsum(pull) > 0.0 else [1.0] * len(outputs)


def chance_of(loss: Loss, targets: list[Any], vector: bool, classify: Classifier | None,
              layers: list[LayerView] | None) -> Chance:
    """What chance reaches on ``targets`` (see :class:`Chance`)."""
    if classify is None:
        accuracy, majority = None, None
    else:
        counts = Counter(int(t) for t in targets)
        majority, count = counts.most_common(1)[0]
        accuracy = count / len(targets)
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in targets):
        return Chance(accuracy, majority, None)
    if vector:
        if classify is None or layers is None:
            return Chance(accuracy, majority, None)
        counts = Counter(int(t) for t in targets)
        classes = len(layers[-1].neurons)
        # The class frequencies as logits: the best constant output of a softmax loss.
        logits = [math.log(counts[k] / len(targets)) if counts[k] else -30.0
                  for k in range(classes)]
        return Chance(accuracy, majority, _loss_of(loss, [logits] * len(targets), targets))
    low, high = min(targets) - 10.0, max(targets) + 10.0
    if layers is not None and saturates(layers[-1].activation):
        bottom, top = ACTIVATIONS[layers[-1].activation].output_range
        low, high = bottom + 1e-9, top - 1e-9
    return Chance(accuracy, majority, _best_constant_loss(loss, targets, low, high))


def _best_constant_loss(loss: Loss, targets: list[Any], low: float, high: float) -> float | None:
    """The loss of the best constant output in [low, high], by golden-section search (every
    loss chainrule has is convex in a constant output)."""
    def at(c: float) -> float:
        value = _loss_of(loss, [c] * len(targets), targets)
        return math.inf if value is None else value

    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = at(c), at(d)
    for _ in range(80):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = at(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = at(d)
    best = min(fc, fd)
    return best if math.isfinite(best) else None


def neighbour_agreement(rows: list[list[float]], labels: list[int], k: int = 5,
                        limit: int = 400) -> float:
    """How often the majority label of a sample's ``k`` nearest neighbours (the sample left
    out; features standardised) is its own: well above chance when the inputs carry the
    labels, about chance when the labels are unrelated to them. At most ``limit`` evenly
    spaced samples are used."""
    step = max(1, len(rows) // limit)
    rows, labels = rows[::step], labels[::step]
    columns = list(zip(*rows, strict=True))
    means = [math.fsum(c) / len(c) for c in columns]
    spreads = [math.sqrt(math.fsum((v - m) ** 2 for v in c) / len(c)) or 1.0
               for c, m in zip(columns, means, strict=True)]
    scaled = [[(v - m) / s for v, m, s in zip(row, means, spreads, strict=True)] for row in rows]
    agree = 0
    for i, row in enumerate(scaled):
        distances = sorted(
            (math.fsum((a - b) ** 2 for a, b in zip(row, other, strict=True)), j)
            for j, other in enumerate(scaled) if j != i)
        votes = Counter(labels[j] for _, j in distances[:k])
        agree += votes.most_common(1)[0][0] == labels[i]
    return agree / len(rows)


def typical_start(layer: LayerView, fan_out: int) -> float:
    """The largest typical |w| (mean of |w|) any initialisation scheme gives ``layer``."""
    fan_in = layer.neurons[0].nin
    return max(abs(scheme(_TypicalMagnitude(), fan_in, fan_out))
               for scheme in INIT_SCHEMES.values())


def mean_abs_weight(layer: LayerView) -> float:
    """The mean |w| of the layer's weights (not its biases)."""
    weights = [w.data for neuron in layer.neurons for w in neuron.weights]
    return math.fsum(abs(w) for w in weights) / len(weights)


def weights_at_start(run: Run, k: int) -> float | None:
    """The mean |w| of layer ``k``'s weights at epoch 0, when the history recorded it."""
    recording = None if run.history is None else run.history.recording
    if recording is None or not recording.snapshots or recording.snapshots[0].epoch != 0:
        return None
    assert run.layers is not None
    position = {id(p): i for i, (_, p) in enumerate(run.model.named_parameters())}
    weights = [w for neuron in run.layers[k].neurons for w in neuron.weights]
    start = recording.snapshots[0].parameters
    if len(start) != len(position) or not all(id(w) in position for w in weights):
        return None
    return math.fsum(abs(start[position[id(w)]]) for w in weights) / len(weights)


def weight_growth(run: Run, k: int) -> str:
    """How layer ``k``'s weights compare with their start, in words with numbers."""
    assert run.layers is not None
    layer = run.layers[k]
    now = mean_abs_weight(layer)
    start = weights_at_start(run, k)
    if start is not None and start > 0.0:
        return (f"{layer.name}'s weights grew to a mean |w| of {now:.3g}, {now / start:.3g} "
                f"times their {start:.3g} at epoch 0")
    fan_out = len(run.layers[k + 1].neurons) if k + 1 < len(run.layers) else 1
    typical = typical_start(layer, fan_out)
    return (f"{layer.name}'s weights grew to a mean |w| of {now:.3g}, {now / typical:.3g} "
            f"times the largest any initialisation scheme gives them ({typical:.3g})")
