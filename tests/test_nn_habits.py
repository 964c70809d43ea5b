"""The habits PyTorch and scikit-learn users bring work: a Module with forward(), train()/eval(),
zero_grad(set_to_none=...), targets of shape (N, 1), state dicts of Values, scikit-learn's
argument names; and what cannot work says so clearly (fit inside no_grad)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chainrule.engine import Value, no_grad
from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    ConfigurationError,
    Linear,
    Module,
    datasets,
    evaluate,
    fit,
    mse,
    predict,
    train_test_split,
)


class Net(Module):
    """Written as a PyTorch user writes it: sub-modules in __init__, forward(), no nin."""

    def __init__(self) -> None:
        self.hidden = Linear(2, 3, seed=0)
        self.out = Linear(3, 1, seed=1)
        self.seen_training: list[bool] = []

    def forward(self, x: Any) -> Value:
        self.seen_training.append(self.training)
        return self.out([h.tanh() for h in self.hidden(x)])[0]


def test_calling_a_module_calls_forward_and_a_torch_style_module_trains_with_fit() -> None:
    X, y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, -0.5]], [1.0, -1.0, 0.0, 0.5]
    model = Net()
    assert model([0.0, 1.0]).data == model.forward([0.0, 1.0]).data
    history = fit(model, np.array(X), y, loss=mse, optimizer=Adam(model, lr=0.05), epochs=200,
                  progress=False)
    assert history.loss[-1] < 0.01 * history.loss[0]
    assert predict(model, X)[0] == pytest.approx(1.0, abs=0.2)


def test_a_module_without_forward_says_what_to_define() -> None:
    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty defines neither forward\(\) nor "):
        Empty()([1.0])


def test_train_and_eval_set_the_mode_of_every_sub_module() -> None:
    model = MLP(2, [3, 1], seed=0)
    assert model.training and all(m.training for _, m in model.named_modules())
    assert model.eval() is model
    assert not any(m.training for _, m in model.named_modules())
    assert model.train() is model and all(m.training for _, m in model.named_modules())
    assert model.train(False).training is False
    with pytest.raises(ConfigurationError, match="train: mode must be True or False"):
        model.train("yes")  # type: ignore[arg-type]


def test_fit_trains_in_training_mode_validates_in_eval_mode_and_restores_the_mode() -> None:
    model = Net().eval()
    X, y = [[0.0, 1.0], [1.0, 0.0]], [1.0, -1.0]
    fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.1), epochs=1, progress=False,
        validation=(X, y))
    assert model.seen_training == [True, True, False, False]
    assert model.training is False
    model.train()
    model.seen_training.clear()
    evaluate(model, X, y, mse)
    predict(model, X)
    assert model.seen_training == [False] * 4 and model.training


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_accepts_set_to_none_and_leaves_float_gradients(set_to_none: bool) -> None:
    model = MLP(2, [2, 1], seed=0)
    optimizer = SGD(model, lr=0.1)
    for zero in (model.zero_grad, optimizer.zero_grad):
        model([1.0, 2.0]).backward()
        assert any(p.grad != 0.0 for p in model.parameters())
        zero(set_to_none=set_to_none)
        assert all(p.grad == 0.0 and isinstance(p.grad, float) for p in model.parameters())
    with pytest.raises(ConfigurationError, match="set_to_none must be True or False"):
        model.zero_grad(set_to_none=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", ["lists", "numpy"])
def test_targets_of_shape_n_by_one_train_a_single_output_model(shape: str) -> None:
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    flat = [1.0, 0.0, 1.0, 0.0]
    column: Any = [[t] for t in flat] if shape == "lists" else np.array(flat).reshape(-1, 1)
    losses = []
    for y in (flat, column):
        model = MLP(2, [3, 1], activation="tanh", seed=0)
        losses.append(fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.1), epochs=5,
                          progress=False, validation=(X, y)).loss)
    assert losses[0] == losses[1]


def test_load_state_dict_of_values_copies_their_numbers() -> None:
    source, target = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    target.load_state_dict(dict(source.named_parameters()))
    assert target.state_dict() == source.state_dict()
    assert all(p is not q for p, q in zip(source.parameters(), target.parameters(), strict=True))


def test_fit_inside_no_grad_is_refused_before_anything_changes() -> None:
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with no_grad(), pytest.raises(ConfigurationError, match=r"fit: called inside no_grad\(\)"):
        fit(model, [[0.0, 1.0]], [1.0], loss=mse, optimizer=SGD(model, lr=0.1), epochs=3,
            progress=False)
    assert model.state_dict() == before


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda: datasets.moons(50, noise=0.1, seed=3),
     lambda: datasets.moons(n_samples=50, noise=0.1, random_state=3)),
    (lambda: datasets.circles(40, noise=0.05, seed=2),
     lambda: datasets.circles(n_samples=40, noise=0.05, random_state=2)),
    (lambda: datasets.blobs(30, 2, seed=1),
     lambda: datasets.blobs(n_samples=30, centers=2, random_state=1)),
    (lambda: datasets.spiral(10, seed=4), lambda: datasets.spiral(10, random_state=4)),
    (lambda: train_test_split(list(range(10)), list(range(10)), 0.3, seed=5),
     lambda: train_test_split(list(range(10)), list(range(10)), test_size=0.3, random_state=5)),
    (lambda: train_test_split(list(range(10)), test_fraction=0.2, seed=0),
     lambda: train_test_split(list(range(10)), test_size=2, random_state=0)),
])
def test_scikit_learn_argument_names_give_the_same_data(ours: Any, theirs: Any) -> None:
    assert ours() == theirs()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: datasets.moons(50, n_samples=60), "moons: n and n_samples are the same argument"),
    (lambda: datasets.blobs(seed=1, random_state=1), "blobs: seed and random_state"),
    (lambda: train_test_split([1, 2, 3], [1, 2, 3], 0.5, test_size=0.5),
     "test_fraction and test_size"),
    (lambda: train_test_split([1, 2, 3], [1, 2, 3], test_size=3), "into 0 for training"),
])
def test_both_names_of_one_argument_are_refused(call: Any, message: str) -> None:
    with pytest.raises(Exception, match=message):
        call()


def test_the_default_sizes_stay() -> None:
    assert len(datasets.moons()[0]) == len(datasets.circles()[0]) == len(datasets.blobs()[0]) == 100
    X_train, X_test = train_test_split(list(range(8)))
    assert len(X_test) == 2 and len(X_train) == 6
