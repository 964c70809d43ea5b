"""fit, predict, accuracy and evaluate: behaviour, XOR convergence, micrograd equivalence and
bad input. (The longer moons run is in test_nn_convergence.py.)"""

from __future__ import annotations

import random

import pytest

from chainrule.engine import is_recording
from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    ConfigurationError,
    DataError,
    History,
    LinearDecay,
    Neuron,
    ShapeError,
    accuracy,
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    datasets,
    evaluate,
    fit,
    hinge,
    mse,
    predict,
)


def _xor_model(seed: int = 0) -> MLP:
    return MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=seed)


def test_the_issue_example_learns_xor() -> None:
    X, y = datasets.xor()
    model = _xor_model()
    history = fit(model, X, y, loss=binary_cross_entropy,
                  optimizer=Adam(model.parameters(), lr=0.05), epochs=500, progress=False)
    assert isinstance(history, History)
    assert history.epochs == len(history.loss) == len(history.accuracy) == 500
    assert history.accuracy[-1] == 1.0
    assert accuracy(model, X, y, loss=binary_cross_entropy) == 1.0
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert [round(p) for p in predict(model, X)] == y


@pytest.mark.parametrize("seed", range(5))
def test_xor_learns_for_several_seeds(seed: int) -> None:
    X, y = datasets.xor()
    model = _xor_model(seed)
    fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model, lr=0.05), epochs=500,
        progress=False)
    assert accuracy(model, X, y, loss=binary_cross_entropy) == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_a_single_neuron_never_beats_three_quarters_on_xor(seed: int) -> None:
    X, y = datasets.xor()
    neuron = Neuron(2, "sigmoid", seed=seed)
    history = fit(neuron, X, y, loss=binary_cross_entropy, optimizer=Adam(neuron, lr=0.05),
                  epochs=300, progress=False)
    assert history.best_accuracy == 0.75  # reached, and never beaten: XOR is not linear


def test_fit_reproduces_micrograds_training_step_by_step() -> None:
    """micrograd's demo recipe on a small problem: the same losses and parameters to rounding."""
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MicrogradValue

    X, labels = datasets.moons(30, noise=0.1, seed=3)
    y = datasets.signed_labels(labels)
    random.seed(7)
    theirs = micrograd_nn.MLP(2, [8, 8, 1])
    ours = MLP(2, [8, 8, 1], seed=7)
    steps = 5
    their_losses = []
    for k in range(steps):
        scores = [theirs([MicrogradValue(a) for a in x]) for x in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in theirs.parameters())
        theirs.zero_grad()
        total.backward()
        for p in theirs.parameters():
            p.data -= (1.0 - 0.9 * k / steps) * p.grad
        their_losses.append(total.data)
    history = fit(ours, X, y, loss=hinge, optimizer=SGD(ours, lr=1.0), epochs=steps, l2=1e-4,
                  schedule=LinearDecay(1.0, 0.1, steps), progress=False)
    assert history.loss == pytest.approx(their_losses, rel=1e-12)
    assert [p.data for p in ours.parameters()] == pytest.approx(
        [p.data for p in theirs.parameters()], rel=1e-9, abs=1e-12)
    assert history.learning_rate == pytest.approx([1.0 - 0.9 * k / steps for k in range(steps)])


def test_minibatches_are_reproducible_and_cover_every_sample() -> None:
    X, y = datasets.moons(20, noise=0.1, seed=0)
    runs = []
    for _ in range(2):
        model = MLP(2, [4, 1], activation="tanh", seed=1)
        history = fit(model, X, y, loss=bce_with_logits, optimizer=Adam(model, lr=0.01),
                      epochs=3, batch_size=6, seed=5, progress=False)
        runs.append((history.loss, [p.data for p in model.parameters()]))
        assert all(a is not None and a * 20 == round(a * 20) for a in history.accuracy)
    assert runs[0] == runs[1]


def test_validation_callback_and_early_stop() -> None:
    X, y = datasets.moons(40, noise=0.1, seed=0)
    X_val, y_val = datasets.moons(20, noise=0.1, seed=1)
    model = MLP(2, [6, 1], activation="tanh", seed=0)
    seen = []

    def stop_after_three(epoch: int, history: History) -> bool:
        seen.append((epoch, history.epochs))
        return epoch == 2

    history = fit(model, X, y, loss=bce_with_logits, optimizer=Adam(model, lr=0.05), epochs=50,
                  validation=(X_val, y_val), progress=False, callback=stop_after_three)
    assert seen == [(0, 1), (1, 2), (2, 3)]
    assert history.epochs == 3 and len(history.val_loss) == len(history.val_accuracy) == 3
    assert history.val_loss[-1] == pytest.approx(evaluate(model, X_val, y_val, bce_with_logits).loss)


def test_progress_bar_reports_loss_and_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    X, y = datasets.xor()
    model = _xor_model()
    fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model, lr=0.05), epochs=5,
        progress=True)
    err = capsys.readouterr().err
    assert "loss=" in err and "accuracy=" in err and "5/5" in err
    fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model, lr=0.05), epochs=5,
        progress=False)
    assert capsys.readouterr().err == ""


def test_regression_has_no_accuracy() -> None:
    X = [[x / 10] for x in range(-10, 11)]
    y = [2 * x[0] + 0.5 for x in X]
    model = MLP(1, [1], output_activation="linear", seed=0)
    history = fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.3), epochs=100, progress=False)
    assert history.accuracy == [None] * 100 and history.best_accuracy is None
    assert history.loss[-1] < 1e-6
    result = evaluate(model, X, y, mse)
    assert result.accuracy is None and result.loss == pytest.approx(history.loss[-1], abs=1e-6)
    with pytest.raises(DataError, match="targets are not class labels"):
        accuracy(model, X, y)


def test_how_outputs_become_labels() -> None:
    model = MLP(1, [1], output_activation="linear", seed=0)
    model.layers[0].neurons[0].weights[0].data = 1.0  # the output is the input
    X = [[-0.5], [0.25], [0.75]]
    assert accuracy(model, X, [0, 1, 1], loss=bce_with_logits) == 1.0  # threshold 0
    assert accuracy(model, X, [0, 0, 1], loss=binary_cross_entropy) == 1.0  # threshold 0.5
    assert accuracy(model, X, [0, 0, 1]) == 1.0  # midpoint of 0 and 1
    assert accuracy(model, X, [-1, 1, 1], loss=hinge) == 1.0
    assert accuracy(model, X, [-1, 1, 1]) == 1.0  # midpoint of -1 and 1


def test_multiclass_accuracy_is_argmax() -> None:
    model = MLP(2, [3], output_activation="linear", seed=0)
    X = [[0.1, 0.2], [-0.4, 0.9], [1.0, -1.0]]
    outputs = predict(model, X)
    y = [max(range(3), key=o.__getitem__) for o in outputs]
    assert accuracy(model, X, y) == 1.0
    assert evaluate(model, X, y, cross_entropy).accuracy == 1.0


def test_predict_records_no_graph_and_returns_floats() -> None:
    model = MLP(2, [3, 2], seed=0)
    outputs = predict(model, [[0.1, 0.2]])
    assert isinstance(outputs[0][0], float)
    assert is_recording()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"X": []}, DataError, "fit: the data set is empty"),
        ({"y": [0, 1, 1]}, DataError, "fit: X has 4 samples but y has 3 targets"),
        ({"X": [[0, 0], [0, 1], [1], [1, 1]]}, ShapeError, r"fit: the model \(MLP\) expects 2 inputs, got 1: \[1\] \(in sample X\[2\]\)"),
        ({"X": [[0, 0], [0, float("nan")], [1, 0], [1, 1]]}, DataError, r"X\[1\]\[1\] must be a finite"),
        ({"X": "abcd"}, DataError, "X must be a list of samples"),
        ({"y": [0, 1, 2, 0]}, DataError, "binary_cross_entropy: target 2 must lie in"),
        ({"epochs": 0}, ConfigurationError, "fit: epochs must be a positive integer, got 0"),
        ({"batch_size": 0}, ConfigurationError, "fit: batch_size must be a positive integer"),
        ({"l2": -1.0}, ConfigurationError, "fit: l2 must be >= 0"),
        ({"model": "model"}, ConfigurationError, "model must be a chainrule.nn Module"),
        ({"optimizer": "adam"}, ConfigurationError, "optimizer must be a chainrule.nn optimizer"),
        ({"loss": "mse"}, ConfigurationError, "loss must be a loss function"),
        ({"validation": ([[0, 0]], [0, 1])}, DataError, "fit: validation: X has 1 samples but y"),
    ],
)
def test_bad_fit_input_is_named(kwargs: dict, error: type[Exception], message: str) -> None:
    X, y = datasets.xor()
    model = _xor_model()
    arguments = {"model": model, "X": X, "y": y, "loss": binary_cross_entropy,
                 "optimizer": Adam(model, lr=0.05), "epochs": 2, "progress": False}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        fit(**arguments)


def test_an_optimizer_of_another_model_is_refused() -> None:
    X, y = datasets.xor()
    model = _xor_model()
    with pytest.raises(ConfigurationError, match=r"holds 17 parameter.*not this model's"):
        fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(_xor_model(), lr=0.1),
            epochs=1, progress=False)


def test_a_bad_learning_rate_is_named_before_training() -> None:
    model = _xor_model()
    with pytest.raises(ConfigurationError, match="Adam: learning rate lr must be a positive"):
        Adam(model, lr=-0.05)
    X, y = datasets.xor()
    with pytest.raises(ConfigurationError, match="learning rate lr must be a positive"):
        fit(model, X, y, loss=binary_cross_entropy, optimizer=SGD(model, lr=0.1), epochs=2,
            schedule=lambda epoch: 0.0, progress=False)
