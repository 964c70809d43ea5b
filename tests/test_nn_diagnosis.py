"""diagnose: each finding on a run constructed to show it, and none on healthy runs."""

from __future__ import annotations

import itertools

import pytest

from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    ConfigurationError,
    History,
    Neuron,
    bce_with_logits,
    binary_cross_entropy,
    datasets,
    fit,
    hinge,
    mse,
)
from chainrule.nn.diagnosis import Diagnosis, diagnose, layer_gradient_norms

XOR_X, XOR_Y = datasets.xor()


def _only(diagnosis: Diagnosis, kind: str):
    """The finding of ``kind``, the root cause and first; anything after it follows from it
    (an untrained model also sits at chance)."""
    assert diagnosis.kinds[0] == kind, diagnosis.text()
    finding = diagnosis[0]
    assert finding.title and finding.evidence and finding.fix and finding.is_root
    assert any(ch.isdigit() for ch in finding.evidence)
    assert all(later.cause is not None for later in diagnosis[1:]), diagnosis.text()
    return finding


def sigmoid_chain(layers: int = 10) -> MLP:
    """A chain of single sigmoid neurons with every weight 1 and every bias 0."""
    model = MLP(1, [1] * layers, activation="sigmoid", output_activation="sigmoid", seed=0)
    for name, p in model.named_parameters():
        p.data = 1.0 if name.endswith("w0") else 0.0
    return model


CHAIN_X = [[x / 10] for x in range(-10, 11, 4)]
CHAIN_Y = [0, 1, 0, 1, 0, 1]


def test_healthy_runs_give_no_finding() -> None:
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    history = fit(model, XOR_X, XOR_Y, binary_cross_entropy, Adam(model, lr=0.05), epochs=300,
                  progress=False)
    assert history.accuracy[-1] == 1.0
    diagnosis = diagnose(model, XOR_X, XOR_Y, loss=binary_cross_entropy, history=history)
    assert diagnosis == () and diagnosis.text().startswith("No problems found")
    X, y = datasets.moons(40, noise=0.1, seed=0)
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.05), epochs=60, progress=False)
    assert diagnose(model, X, y, loss=bce_with_logits, history=history) == ()


def test_dead_relu_units() -> None:
    X, y = datasets.moons(30, noise=0.1, seed=0)
    model = MLP(2, [8, 1], activation="relu", seed=0)
    assert "dead_relu_units" not in diagnose(model, X, y, loss=bce_with_logits).kinds
    for neuron in model.layers[0].neurons[:3]:
        neuron.bias.data = -10.0  # far below anything w·x reaches on the data
    finding = _only(diagnose(model, X, y, loss=bce_with_logits), "dead_relu_units")
    assert "layer0: 3 of 8 units (neuron 0, 1, 2)" in finding.evidence
    assert "all 30 samples" in finding.evidence and "leaky_relu" in finding.fix
    assert "killed by their bias" in finding.title and "learning rate" not in finding.fix


def test_saturated_tanh_units() -> None:
    X, y = datasets.moons(30, noise=0.1, seed=0)
    model = MLP(2, [6, 1], activation="tanh", seed=0)
    big = [[100 * a, 100 * b] for a, b in X]  # unscaled inputs
    diagnosis = diagnose(model, big, y, loss=bce_with_logits)
    assert _only(diagnosis, "unscaled_inputs").fix.startswith("standardise each feature")
    (finding,) = [f for f in diagnosis if f.kind == "saturated_units"]
    assert finding.evidence.startswith("layer0 (tanh):") and finding.cause == "unscaled_inputs"
    assert finding.because is not None and "|w·x + b| = " in finding.because
    assert "saturated_units" not in diagnose(model, X, y, loss=bce_with_logits).kinds


def test_vanishing_gradients_in_a_sigmoid_chain() -> None:
    model = sigmoid_chain()
    norms = layer_gradient_norms(model, CHAIN_X, CHAIN_Y, mse)
    ratios = [n / norms[-1][1] for _, n in norms]
    assert all(a < b for a, b in itertools.pairwise(ratios))
    assert 1e-7 < ratios[0] < 1e-5  # from 1 at the output to about 1e-6 at the first layer
    finding = _only(diagnose(model, CHAIN_X, CHAIN_Y, loss=mse), "vanishing_gradients")
    assert "layer9 1 " in finding.evidence
    # The parameters' .grad are untouched by the diagnosis.
    assert all(p.grad == 0.0 for p in model.parameters())


def test_exploding_gradients_in_a_linear_chain() -> None:
    model = MLP(1, [1] * 8, activation="linear", seed=0)
    for name, p in model.named_parameters():
        p.data = 4.0 if name.endswith("w0") else 0.0
    finding = _only(diagnose(model, CHAIN_X, [0.5 * v for v in CHAIN_Y], loss=mse),
                    "exploding_gradients")
    # Each linear layer multiplies the gradient by its weight, 4: 4^7 = 16384 ≈ 1.64e+04.
    assert "layer0 1.64e+04," in finding.evidence and "layer6 4, layer7 1 " in finding.evidence


def test_learning_rate_too_small_on_the_keras_xor_recipe() -> None:
    model = MLP(2, [4, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    history = fit(model, XOR_X, XOR_Y, mse, SGD(model, lr=0.01), epochs=600, progress=False)
    finding = _only(diagnose(model, XOR_X, XOR_Y, loss=mse, history=history),
                    "learning_rate_too_small")
    assert "at lr 0.01" in finding.evidence and "lr 0.1 to 0.5" in finding.fix


def test_learning_rate_too_large_rises_or_oscillates() -> None:
    # Fitting y = 2x with one linear neuron: the bias direction of the MSE has curvature 2, so
    # any lr above 1 overshoots further every step.
    X = [[-1.0], [-0.5], [0.5], [1.0]]
    y = [2 * x for (x,) in X]
    neuron = Neuron(1, "linear", seed=0)
    neuron.bias.data = 0.5
    history = fit(neuron, X, y, mse, SGD(neuron, lr=1.05), epochs=30, progress=False)
    finding = _only(diagnose(neuron, X, y, loss=mse, history=history), "learning_rate_too_large")
    assert "at lr 1.05" in finding.evidence and "lr 0.105" in finding.fix
    assert "rose" in finding.title
    # A rate that overshoots without diverging: the loss jumps up and down around a level.
    bouncing = History(loss=[1.0, 0.6, 0.5] + [0.4, 0.3] * 12, learning_rate=[0.9] * 27,
                       accuracy=[0.5] * 27)
    finding = _only(diagnose(neuron, X, y, loss=mse, history=bouncing), "learning_rate_too_large")
    assert "oscillates" in finding.title and "rose in 6 of 13 epochs" in finding.evidence
    # Diverging a hidden layer also saturates it: the rate comes first, as the cause.
    Xm, ym = datasets.moons(30, noise=0.1, seed=0)
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    history = fit(model, Xm, ym, mse, SGD(model, lr=1.5), epochs=40, progress=False)
    kinds = diagnose(model, Xm, ym, loss=mse, history=history).kinds
    assert kinds[:2] == ["learning_rate_too_large", "saturated_units"]


def test_symmetric_initialisation() -> None:
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    for p in model.layers[0].parameters():
        p.data = 0.5
    finding = _only(diagnose(model, XOR_X, XOR_Y, loss=binary_cross_entropy),
                    "symmetric_initialisation")
    assert "layer0: neurons 0, 1, 2, 3 have the same weights" in finding.evidence


def test_a_single_neuron_on_xor() -> None:
    neuron = Neuron(2, "sigmoid", seed=0)
    history = fit(neuron, XOR_X, XOR_Y, binary_cross_entropy, Adam(neuron, lr=0.1), epochs=200,
                  progress=False)
    finding = _only(diagnose(neuron, XOR_X, XOR_Y, loss=binary_cross_entropy, history=history),
                    "not_linearly_separable")
    assert "no hidden layer" in finding.evidence and "hidden layer" in finding.fix
    # The same neuron on data a line separates: nothing to report.
    AND = [0, 0, 0, 1]
    fit(neuron, XOR_X, AND, binary_cross_entropy, Adam(neuron, lr=0.1), epochs=200,
        progress=False)
    assert diagnose(neuron, XOR_X, AND, loss=binary_cross_entropy) == ()


def test_labels_that_do_not_fit_the_loss() -> None:
    X, y = datasets.moons(20, noise=0.1, seed=0)
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    finding = _only(diagnose(model, X, y, loss=hinge), "labels_do_not_fit_loss")
    assert "2*y - 1" in finding.fix
    assert "labels_do_not_fit_loss" not in diagnose(model, X, [2 * t - 1 for t in y],
                                                    loss=hinge).kinds
    sigmoid_out = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    assert diagnose(sigmoid_out, X, [2 * t - 1 for t in y], loss=mse).kinds[0] == \
        "labels_do_not_fit_loss"


def test_bad_arguments_are_named() -> None:
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ConfigurationError, match="diagnose: history"):
        diagnose(model, XOR_X, XOR_Y, loss=mse, history=[0.1])
    with pytest.raises(ConfigurationError, match="diagnose: loss"):
        diagnose(model, XOR_X, XOR_Y, loss="mse")


def test_saturation_reads_the_slope_from_the_primitive_table() -> None:
    import re

    from chainrule.nn import ACTIVATIONS
    from chainrule.nn.anatomy import relative_slope

    saturating = [a for a in ACTIVATIONS.values() if a.kind == "saturating"]
    assert [a.name for a in saturating] == ["tanh", "sigmoid"]
    for activation in saturating:  # the table writes these slopes in the output alone
        assert activation.primitive is not None
        assert set(re.findall(r"[A-Za-z_]\w*", activation.primitive.derivative_code[0])) == {"out"}
    assert relative_slope("tanh", 0.0) == 1.0 and relative_slope("sigmoid", 0.5) == 1.0
    assert relative_slope("tanh", 0.9) == pytest.approx(1 - 0.81)
    assert relative_slope("sigmoid", 0.9) == pytest.approx(4 * 0.9 * 0.1)
