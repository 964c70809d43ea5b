"""fit's run control (callbacks, EarlyStopping, per-step schedules, interruption), recording,
and the History as a table."""

from __future__ import annotations

import dataclasses
import math

import pytest

from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    ConfigurationError,
    EarlyStopping,
    History,
    Neuron,
    bce_with_logits,
    datasets,
    fit,
    mse,
)


def _moons(n: int = 30):
    return datasets.moons(n, noise=0.1, seed=0)


def test_callbacks_list_and_single_callback_both_run() -> None:
    X, y = datasets.xor()
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    first, second = [], []
    history = fit(model, X, y, mse, SGD(model, lr=0.1), epochs=5, progress=False,
                  callback=lambda e, h: first.append(e),
                  callbacks=[lambda e, h: second.append(h.epochs), lambda e, h: e == 2])
    assert first == [0, 1, 2] and second == [1, 2, 3]
    assert history.epochs == 3 and history.stop_reason.endswith("stopped training after epoch 3")
    with pytest.raises(ConfigurationError, match="callback must be callable"):
        fit(model, X, y, mse, SGD(model, lr=0.1), epochs=1, progress=False, callbacks=[3])


def test_early_stopping_stops_after_patience_and_restores_the_best() -> None:
    X, y = _moons()
    X_val, y_val = datasets.moons(20, noise=0.3, seed=4)
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    stopper = EarlyStopping(patience=3, restore_best=True)
    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.5), epochs=300,
                  validation=(X_val, y_val), progress=False, callbacks=[stopper])
    assert history.epochs < 300
    best = min(history.val_loss)
    assert stopper.best == best and history.val_loss[stopper.best_epoch - 1] == best
    # Exactly `patience` epochs without improvement after the best one.
    assert history.epochs == stopper.best_epoch + 3
    assert history.stop_reason == stopper.reason and "restored" in stopper.reason
    from chainrule.nn import evaluate
    assert evaluate(model, X_val, y_val, bce_with_logits).loss == pytest.approx(best, abs=1e-12)
    # Used again, it starts counting afresh (as Keras's does at the start of training).
    again = fit(model, X, y, bce_with_logits, Adam(model, lr=0.5), epochs=300,
                validation=(X_val, y_val), progress=False, callbacks=[stopper])
    assert stopper.best == min(again.val_loss) and again.epochs == stopper.best_epoch + 3


def test_early_stopping_needs_what_it_monitors() -> None:
    X, y = _moons()
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ConfigurationError, match=r"val_loss.*validation"):
        fit(model, X, y, bce_with_logits, Adam(model, lr=0.1), epochs=3, progress=False,
            callbacks=[EarlyStopping()])
    with pytest.raises(ConfigurationError, match="unknown EarlyStopping monitor"):
        EarlyStopping(monitor="val_los")


def test_per_step_schedule_sets_the_rate_before_every_batch() -> None:
    X, y = _moons(20)
    model = MLP(2, [4, 1], seed=0)
    seen = []

    def schedule(k: int) -> float:
        seen.append(k)
        return 0.1 / (1 + k)

    history = fit(model, X, y, bce_with_logits, SGD(model, lr=1.0), epochs=3, batch_size=8,
                  schedule=schedule, schedule_per="step", progress=False)
    assert seen == list(range(9))  # 3 batches (8, 8, 4) per epoch
    assert history.learning_rate == [0.1 / 3, 0.1 / 6, 0.1 / 9]
    with pytest.raises(ConfigurationError, match="schedule_per"):
        fit(model, X, y, bce_with_logits, SGD(model, lr=1.0), epochs=1, schedule=schedule,
            schedule_per="batch", progress=False)


def test_ctrl_c_returns_the_history_so_far(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _moons()
    model = MLP(2, [4, 1], seed=0)

    def interrupt(epoch: int, history: History) -> None:
        if epoch == 4:
            raise KeyboardInterrupt

    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.1), epochs=50, progress=False,
                  callback=interrupt, record=True)
    assert history.interrupted and history.epochs == 5
    assert "KeyboardInterrupt" in history.stop_reason
    assert "returning the History of the 5 completed epoch(s)" in capsys.readouterr().err
    assert history.recording.epochs == [0, 1, 2, 3, 4, 5]
    assert repr(history).endswith("interrupted)")


def test_an_error_mid_fit_carries_the_history() -> None:
    X, y = _moons()
    model = MLP(2, [4, 1], seed=0)

    def fail(epoch: int, history: History) -> None:
        if epoch == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full") as caught:
        fit(model, X, y, bce_with_logits, Adam(model, lr=0.1), epochs=50, progress=False,
            callback=fail)
    history = caught.value.history
    assert history.interrupted and history.epochs == 3 and len(history.loss) == 3
    assert "RuntimeError during epoch 4" in history.stop_reason


def test_history_as_records_and_dataframe() -> None:
    X, y = datasets.xor()
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    history = fit(model, X, y, mse, SGD(model, lr=0.1), epochs=4, progress=False)
    records = history.records()
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[0] == {"epoch": 1, "loss": history.loss[0], "accuracy": history.accuracy[0],
                          "learning_rate": 0.1, "val_loss": None, "val_accuracy": None}
    columns = dataclasses.asdict(history)
    assert {len(c) for c in columns.values()} == {4}
    pandas = pytest.importorskip("pandas")
    assert pandas.DataFrame(columns).shape == (4, 5)
    frame = history.to_dataframe()
    assert list(frame.index) == [1, 2, 3, 4] and frame["loss"].tolist() == history.loss
    assert History().to_dataframe().shape == (0, 5)


def test_recording_keeps_snapshots_bounded_and_evenly_spaced() -> None:
    X, y = datasets.xor()
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    start = [p.data for p in model.parameters()]
    history = fit(model, X, y, mse, SGD(model, lr=0.1), epochs=37, progress=False,
                  record=True, record_limit=10)
    recording = history.recording
    assert recording.names[0] == "layers.0.neurons.0.w0"
    epochs = recording.epochs
    assert epochs[0] == 0 and epochs[-1] == 37 and len(epochs) <= 11
    assert epochs[:-1] == list(range(0, 37, recording.every))
    assert list(recording.snapshots[0].parameters) == start
    assert recording.snapshots[-1].parameters == tuple(p.data for p in model.parameters())
    last = recording.snapshots[-1]
    assert last.loss == history.loss[-1] and set(last.gradient_norms) == {"layer0", "layer1"}
    assert recording.snapshots[0].gradient_norms is None


def test_record_every_k_epochs_and_gradient_norms_match_backward() -> None:
    X, y = datasets.xor()
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    history = fit(model, X, y, mse, SGD(model, lr=0.1), epochs=7, progress=False, record=3)
    assert history.recording.epochs == [0, 3, 6, 7]
    # The norms are those of the gradients of the epoch's last step, layer by layer.
    for layer, name in zip(model.layers, ("layer0", "layer1"), strict=True):
        expected = math.sqrt(sum(p.grad**2 for p in layer.parameters()))
        assert history.recording.snapshots[-1].gradient_norms[name] == pytest.approx(expected)
    neuron = Neuron(2, "sigmoid", seed=1)
    single = fit(neuron, X, y, mse, SGD(neuron, lr=0.1), epochs=2, progress=False, record=True)
    assert set(single.recording.snapshots[-1].gradient_norms) == {"layer0"}
    with pytest.raises(ConfigurationError, match="record"):
        fit(model, X, y, mse, SGD(model, lr=0.1), epochs=1, progress=False, record=0)
