"""fit(compile=...) trains whatever eager fit trains, with eager's numbers (to rounding), or
refuses with a clear error before the first step."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from chainrule.engine import Value
from chainrule.nn import (
    MLP,
    SGD,
    ConfigurationError,
    Module,
    Neuron,
    cross_entropy,
    fit,
    mse,
)
from chainrule.nn.training.compiled import MAX_STATIC_TARGETS, CompiledSteps, NumpySteps
from chainrule.nn.training.steps import EagerSteps, Problem, choose_steps

BACKENDS = [True, "numpy"]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def train(build: Any, X: Any, y: Any, loss: Any, compile: Any, **options: Any
          ) -> tuple[list[float], list[float]]:
    model = build()
    history = fit(model, X, y, loss=loss, optimizer=SGD(model, lr=0.1), epochs=3,
                  batch_size=8, seed=0, progress=False, compile=compile, **options)
    return history.loss, [p.data for p in model.parameters()]


def assert_same_training(build: Any, X: Any, y: Any, loss: Any, compile: Any) -> None:
    eager_losses, eager_params = train(build, X, y, loss, False)
    losses, params = train(build, X, y, loss, compile)
    assert all(close(a, b) for a, b in zip(losses, eager_losses, strict=True)), (losses, eager_losses)
    assert all(close(a, b) for a, b in zip(params, eager_params, strict=True))


def points(n: int, width: int, seed: int = 0) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-1.0, 1.0) for _ in range(width)] for _ in range(n)]


@pytest.mark.parametrize("compile", BACKENDS)
def test_more_classes_than_programs_by_label_train_as_eagerly(compile: Any) -> None:
    classes = MAX_STATIC_TARGETS + 8  # above the limit, the targets were traced and crashed
    X = points(2 * classes, 3)
    y = [i % classes for i in range(2 * classes)]
    assert_same_training(lambda: MLP(3, [classes], seed=0), X, y, cross_entropy, compile)


class PartlyUsed(Module):
    """A module with a parameter and a neuron its forward never touches."""

    def __init__(self) -> None:
        self.nin = 2
        self.used = Neuron(2, "tanh", seed=0)
        self.spare = Neuron(2, "tanh", seed=1)
        self.scale = Value(0.5)

    def forward(self, x: Any) -> Value:
        return self.used(x)


@pytest.mark.parametrize("compile", BACKENDS)
def test_parameters_the_data_never_reaches_get_the_gradient_zero(compile: Any) -> None:
    X = points(12, 2)
    y = [x0 - x1 for x0, x1 in X]
    assert_same_training(PartlyUsed, X, y, mse, compile)
    model = PartlyUsed()
    before = [p.data for p in model.spare.parameters()] + [model.scale.data]
    steps = choose_steps(compile, Problem(model, mse, model.parameters(), 0.0, X, y))
    steps.gradients(list(range(12)))
    assert [p.grad for p in model.spare.parameters()] + [model.scale.grad] == [0.0] * 4
    assert [p.data for p in model.spare.parameters()] + [model.scale.data] == before


@pytest.mark.parametrize("compile", BACKENDS)
def test_list_targets_of_a_model_with_several_outputs_train_as_eagerly(compile: Any) -> None:
    X = points(12, 2)
    y = [[x0 + x1, x0 * x1] for x0, x1 in X]  # lists: unhashable, they crashed
    assert_same_training(lambda: MLP(2, [4, 2], activation="tanh", seed=0), X, y, mse, compile)


@pytest.mark.parametrize("compile", BACKENDS)
def test_a_few_class_labels_still_select_a_program_each(compile: Any) -> None:
    X = points(16, 2)
    y = [i % 3 for i in range(16)]
    model = MLP(2, [3], seed=0)
    steps = choose_steps(compile, Problem(model, cross_entropy, model.parameters(), 0.0, X, y))
    python = steps.python if isinstance(steps, NumpySteps) else steps
    assert isinstance(python, CompiledSteps) and python.static_targets
    regression = choose_steps(compile, Problem(model, mse, model.parameters(), 0.0, X,
                                               [[float(i)] * 3 for i in range(16)]))
    python = regression.python if isinstance(regression, NumpySteps) else regression
    assert isinstance(python, CompiledSteps) and not python.static_targets


class ReadsItsWeight(Module):
    """Trains eagerly, but reads a parameter's number in forward: nothing a trace can replay."""

    def __init__(self) -> None:
        self.nin = 1
        self.w = Value(0.5)

    def forward(self, x: Any) -> Value:
        return self.w * x[0] * (2.0 if self.w.data > 0 else 1.0)


@pytest.mark.parametrize("compile", BACKENDS)
def test_a_model_that_cannot_be_compiled_is_refused_before_the_first_step(compile: Any) -> None:
    X, y = [[1.0], [2.0]], [1.0, 2.0]
    model = ReadsItsWeight()
    fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.01), epochs=1, progress=False)
    trained = model.w.data
    with pytest.raises(ConfigurationError, match=r"cannot be compiled .*use compile=False"):
        fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.01), epochs=1, progress=False,
            compile=compile)
    assert model.w.data == trained


def test_a_loss_that_fails_eagerly_keeps_its_own_error_when_compiled() -> None:
    model = MLP(2, [3], seed=0)
    with pytest.raises(Exception, match="is class 7, but there are 3 logits") as eager:
        fit(model, points(4, 2), [0, 1, 2, 7], loss=cross_entropy, optimizer=SGD(model, lr=0.1),
            epochs=1, progress=False)
    with pytest.raises(type(eager.value), match="is class 7, but there are 3 logits"):
        fit(model, points(4, 2), [7, 1, 2, 0], loss=cross_entropy, optimizer=SGD(model, lr=0.1),
            epochs=1, progress=False, compile=True)


@pytest.mark.parametrize(("compile", "kind"), [(False, EagerSteps), (None, EagerSteps),
                                               (True, CompiledSteps), ("python", CompiledSteps),
                                               ("numpy", NumpySteps)])
def test_the_strategy_is_chosen_once_from_compile(compile: Any, kind: type) -> None:
    model = MLP(2, [1], seed=0)
    steps = choose_steps(compile, Problem(model, mse, model.parameters(), 0.0, [[1.0, 2.0]], [0.5]))
    assert type(steps) is kind


def test_numpy_with_more_classes_than_one_program_holds_runs_the_python_programs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.nn.training import compiled

    monkeypatch.setattr(compiled, "MAX_NUMPY_CLASSES", 3)
    X, y = points(12, 2), [i % 4 for i in range(12)]
    with pytest.warns(RuntimeWarning, match="4 classes, more than the 3"):
        assert_same_training(lambda: MLP(2, [4], seed=0), X, y, cross_entropy, "numpy")
    model = MLP(2, [4], seed=0)
    with pytest.warns(RuntimeWarning, match="per-sample Python programs"):
        steps = choose_steps("numpy", Problem(model, cross_entropy, model.parameters(), 0.0, X, y))
    assert isinstance(steps, NumpySteps) and steps.leaves is None
    steps.gradients(list(range(12)))
    assert steps.fallbacks == 1
