"""The numpy backend: per-node array programs agree with eager (bitwise where they can), and
bad input gives eager's own errors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import (
    PRIMITIVES,
    ChainruleError,
    DomainError,
    GradientError,
    OperandTypeError,
    Value,
    grad,
    value_and_grad,
)
from chainrule.engine.compile import RENDERINGS, CompileFallbackWarning, MissingRendering
from chainrule.engine.compile.emit_numpy import NUMPY
from chainrule.engine.compile.renderings import render
from chainrule.engine.primitives import FUNCTIONS

from support.explain import graph_recipes, outcome, recipe_function

np = pytest.importorskip("numpy")
numpy_backend = pytest.importorskip("chainrule.engine.compile.numpy_backend")
vectorize = numpy_backend.vectorize

#: The operations whose numpy form is the same IEEE computation as the float one.
EXACT = {"add", "sub", "mul", "div", "neg", "relu", "leaky_relu", "abs", "maximum", "sqrt",
         "sin", "cos"}


def per_sample(f: Any, argnums: tuple[int, ...], columns: list[list[float]]) -> Any:
    """Eager, sample by sample: ("ok", values, gradients) or the first sample's error."""
    values, gradients = [], []
    for column in columns:
        kind, result = outcome(lambda column=column: value_and_grad(f, argnums)(*column))
        if kind == "error":
            return kind, result
        values.append(result[0])
        gradients.append(result[1])
    return "ok", (values, [list(g) for g in zip(*gradients, strict=True)])


def batch_outcome(f: Any, argnums: tuple[int, ...], columns: list[list[float]]) -> Any:
    arrays = [np.array(row) for row in zip(*columns, strict=True)]
    with warnings.catch_warnings():  # a batch may leave numpy: counted, warned, exact
        warnings.simplefilter("ignore", CompileFallbackWarning)
        kind, result = outcome(lambda: vectorize(value_and_grad(f, argnums))(*arrays))
    if kind == "error":
        return kind, result
    values, gradients = result
    return "ok", (values.tolist(), [g.tolist() for g in gradients])


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


points = st.lists(st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4),
                  min_size=1, max_size=5)


@settings(max_examples=120, deadline=None)
@given(recipe=graph_recipes(), fresh=points)
def test_batches_agree_with_eager_sample_by_sample(recipe: dict[str, Any],
                                                   fresh: list[list[float]]) -> None:
    f = recipe_function(recipe)
    count = len(recipe["leaves"])
    argnums = tuple(range(count))
    columns = [recipe["leaves"], *(point[:count] for point in fresh)]
    expected = per_sample(f, argnums, columns)
    got = batch_outcome(f, argnums, columns)
    if expected[0] == "error":
        assert got == expected  # the same error, for the first sample that has one
        return
    assert got[0] == "ok"
    (values, gradients), (batch_values, batch_gradients) = expected[1], got[1]
    exact = {name for name, _ in recipe["steps"]} <= EXACT
    got_numbers = batch_values + [g for row in batch_gradients for g in row]
    expected_numbers = values + [g for row in gradients for g in row]
    for a, b in zip(got_numbers, expected_numbers, strict=True):
        assert a == b if exact else close(a, b), (a, b)


def test_every_function_of_the_table_has_a_numpy_rendering() -> None:
    assert set(RENDERINGS) == set(FUNCTIONS)
    for primitive in PRIMITIVES.values():
        for code in (primitive.forward_code, *primitive.derivative_code):
            render(code, {}, NUMPY)  # raises MissingRendering otherwise


def test_numpy_rendering_of_conditionals_and_or() -> None:
    def translate(code: str) -> str:
        return render(code, {}, NUMPY)

    assert translate(PRIMITIVES["pow"].derivative_code[0]) == (
        "np.where(np.logical_or(x, y), y * x ** (y - 1.0), 0.0)")
    assert translate("1.0 if x > y else 0.0 if x < y else 0.5") == (
        "np.where(x > y, 1.0, np.where(x < y, 0.0, 0.5))")
    assert translate("0.0 if a < b < c else 1.0") == (
        "np.where(np.logical_and(a < b, b < c), 0.0, 1.0)")
    with pytest.raises(MissingRendering, match="no rendering of 'hypot'"):
        translate("hypot(x, y)")


def test_sigmoid_keeps_its_stable_form_and_its_floats() -> None:
    f = vectorize(lambda x: x.sigmoid())
    xs = np.array([-1000.0, -30.0, -0.5, 0.0, 0.5, 30.0, 1000.0])
    assert f(xs).tolist() == [Value(x).sigmoid().data for x in xs.tolist()]


class TestVectorize:
    def test_values_and_per_sample_gradients(self) -> None:
        def f(w, b, x):
            return (w * x + b).relu() * x

        step = vectorize(value_and_grad(f, argnums=(0, 1)))
        xs = np.array([-1.0, 0.5, 2.0])
        values, (dw, db) = step(0.5, 0.1, xs)
        for k, x in enumerate(xs.tolist()):
            value, (w_grad, b_grad) = value_and_grad(f, argnums=(0, 1))(0.5, 0.1, x)
            assert (values[k], dw[k], db[k]) == (value, w_grad, b_grad)  # bitwise
        assert "v5 = np.where(v4 > 0.0, v4, 0.0)  # relu(v4)" in step.source(0.5, 0.1, xs)

    def test_forward_only_and_grad(self) -> None:
        xs = np.array([0.25, 1.0])
        assert vectorize(lambda x: x * x + 1.0)(xs).tolist() == [1.0625, 2.0]
        assert vectorize(grad(lambda x: x * x * x))(xs).tolist() == [0.1875, 3.0]

    def test_guards_must_hold_for_every_sample(self) -> None:
        f = vectorize(lambda x: x * 2.0 if x > 0 else x * 3.0)
        assert f(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
        assert f.fallbacks.total == 0
        with pytest.warns(CompileFallbackWarning, match="came out differently on some samples"):
            assert f(np.array([1.0, -1.0, 2.0])).tolist() == [2.0, -3.0, 4.0]
        assert f(np.array([3.0, -1.0])).tolist() == [6.0, -3.0]  # counted, not warned again
        assert f.fallbacks.total == 2 and f.fallbacks.warned

    def test_a_batch_that_leaves_numpy_for_an_error_is_counted(self) -> None:
        f = vectorize(lambda x: x.log())
        with pytest.warns(CompileFallbackWarning, match="not finite, or a domain error"), \
                pytest.raises(DomainError, match=r"log\(-1.0\)"):
            f(np.array([1.0, -1.0]))
        (reason,) = f.fallbacks.counts
        assert "sample by sample" in reason

    def test_bad_input_gives_the_eager_errors(self) -> None:
        f = vectorize(value_and_grad(lambda x: (x.log() * x).sqrt()))
        with pytest.warns(CompileFallbackWarning, match="sample by sample"), \
                pytest.raises(DomainError, match=r"log: log\(-1.0\) is undefined"):
            f(np.array([2.0, -1.0]))
        with pytest.raises(GradientError, match=r"local derivative of the sqrt node"):
            f(np.array([2.0, 1.0]))
        with pytest.raises(OperandTypeError, match=r"argument 0\[1\] must be a finite number"):
            f(np.array([2.0, math.nan]))
        with pytest.raises(ValueError, match="all of one length"):
            vectorize(lambda a, b: a * b)(np.ones(2), np.ones(3))

    def test_overflow_hidden_by_a_later_operation_is_still_an_error(self) -> None:
        f = vectorize(lambda x: (x * 1e200 * 1e200).relu())
        assert f(np.array([-1e-300, 1e-300])).tolist() == [0.0, 1e100]
        with pytest.warns(CompileFallbackWarning, match="not finite"), \
                pytest.raises(ChainruleError, match="overflows"):
            f(np.array([1e-300, -1.0]))

    def test_an_infinite_slope_where_no_gradient_flows_is_zero(self) -> None:
        # eager's rule 2: sqrt(x) * 0 at x = 0 gives 0, however steep sqrt is there
        f = vectorize(grad(lambda x: x.sqrt() * 0.0 + x))
        assert f(np.array([0.0, 4.0])).tolist() == [1.0, 1.0]


# -- fit(compile="numpy") -------------------------------------------------------------------------


def _train(compile: Any, X: Any, y: Any, loss: Any, sizes: list[int], **options: Any) -> Any:
    from chainrule.nn import MLP, Adam, fit

    model = MLP(len(X[0]), sizes, activation="relu", seed=0)
    history = fit(model, X, y, loss=loss, optimizer=Adam(model, lr=0.01), epochs=3,
                  batch_size=8, seed=0, progress=False, compile=compile, **options)
    return history, [p.data for p in model.parameters()]


def _agree(a: list[float], b: list[float]) -> bool:
    return all(close(x, z) for x, z in zip(a, b, strict=True))


def squared_error(outputs: Any, targets: Any) -> Any:
    """Mean squared error in Value operations only (targets may be traced Values)."""
    terms = [(o - t) * (o - t) for o, t in zip(outputs, targets, strict=True)]
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


@pytest.mark.parametrize("case", ["cross_entropy", "hinge", "squared error", "l2"])
def test_fit_with_numpy_programs_agrees_with_eager(case: str) -> None:
    from chainrule.nn import cross_entropy, datasets, hinge

    X, y = datasets.moons(40, noise=0.1, seed=1)
    if case == "cross_entropy":
        X, y, loss, sizes, options = X, y, cross_entropy, [4, 2], {}
    elif case == "hinge":
        y, loss, sizes, options = datasets.signed_labels(y), hinge, [4, 1], {}
    elif case == "squared error":  # numbers as targets: inputs of the program
        y, loss, sizes, options = [x0 * x1 for x0, x1 in X], squared_error, [4, 1], {}
    else:
        loss, sizes, options = cross_entropy, [4, 2], {"l2": 1e-3}
    eager, eager_params = _train(False, X, y, loss, sizes, **options)
    fast, fast_params = _train("numpy", X, y, loss, sizes, **options)
    assert _agree(fast.loss, eager.loss) and fast.accuracy == eager.accuracy
    assert _agree(fast_params, eager_params)


def test_fit_numpy_on_digits_is_the_python_programs_per_sample() -> None:
    from chainrule.nn import MLP, cross_entropy, datasets
    from chainrule.nn.training.compiled import NumpySteps
    from chainrule.nn.training.steps import Problem

    X, y = datasets.digits()
    X, y = X[:24], y[:24]
    model = MLP(64, [6, 10], seed=0)
    steps = NumpySteps(Problem(model, cross_entropy, model.parameters(), 0.0, X, y))
    steps.program = steps._build()
    objective, outputs, _, grads = steps._numpy_step(list(range(24)))
    results, sums = steps.python.sample.run_batch([(x, t) for x, t in zip(X, y, strict=True)])
    assert close(objective, sum(r[0] for r in results) / 24)
    assert _agree(grads, [s / 24 for s in sums])
    assert all(_agree(o, r[1]) for o, r in zip(outputs, results, strict=True))
    assert len(set(y)) == 10  # one program served every class


def test_fit_numpy_falls_back_per_batch_where_a_guard_differs() -> None:
    from chainrule.nn import MLP, SGD, fit

    def loss(outputs, targets):  # a Python branch on a Value: guarded
        terms = [(o - t) * (o - t) if o > t else (t - o) * 2.0 for o, t in
                 zip(outputs, targets, strict=True)]
        return sum(terms[1:], terms[0]) * (1.0 / len(terms))

    X = [[0.1 * k, 1.0 - 0.1 * k] for k in range(10)]
    y = [0.5 * k for k in range(10)]
    results = []
    for compile in (False, "numpy"):
        model = MLP(2, [3, 1], activation="tanh", seed=0)
        results.append(fit(model, X, y, loss=loss, optimizer=SGD(model, lr=0.01), epochs=2,
                           batch_size=5, shuffle=False, progress=False, compile=compile).loss)
    assert _agree(results[0], results[1])


def test_fit_compile_accepts_only_known_backends() -> None:
    from chainrule.nn import MLP, SGD, ConfigurationError, fit, mse

    model = MLP(1, [1], seed=0)
    with pytest.raises(ConfigurationError, match="'python' or 'numpy', got 'jax'"):
        fit(model, [[1.0]], [1.0], loss=mse, optimizer=SGD(model, lr=0.1), epochs=1,
            compile="jax")


def test_layers_are_lifted_to_matrix_products_with_the_same_numbers() -> None:
    from chainrule.engine.compile import trace
    from chainrule.nn import MLP, cross_entropy

    model = MLP(3, [5, 4, 2], activation="tanh", seed=0)
    params = model.parameters()

    def sample(x0, x1, x2):
        return [cross_entropy([model([x0, x1, x2])], [1])]

    traced = trace(sample, (0.1, 0.2, 0.3), "sample")
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(3, 7))
    plain = numpy_backend.generate(traced, params, "plain", lift=False)
    lifted = numpy_backend.generate(traced, params, "lifted")
    assert "W @ X" not in plain.source
    assert lifted.source.count("sums of") == 3  # every layer: 5, 4 and 2 neurons
    # The hidden layers' tanh runs on the whole layer, forward and backward, and the next
    # layer reads the activations as its matrix X.
    assert lifted.source.count("# tanh of every row of layer") == 2
    assert "X1 = A0" in lifted.source and "X2 = A1" in lifted.source
    (loss_plain,), sums_plain = plain(inputs)
    (loss_lifted,), sums_lifted = lifted(inputs)
    assert np.allclose(loss_lifted, loss_plain, rtol=1e-12, atol=0)
    assert np.allclose(sums_lifted, sums_plain, rtol=1e-12, atol=1e-15)
    eager = [0.0] * len(params)
    for column in inputs.T.tolist():
        for p in params:
            p.grad = 0.0
        sample(*column)[0].backward()
        eager = [e + p.grad for e, p in zip(eager, params, strict=True)]
    assert np.allclose(sums_lifted, eager, rtol=1e-12, atol=1e-15)


def test_an_overflow_inside_a_lifted_layer_gives_the_eager_error() -> None:
    from chainrule.nn import MLP, SGD, fit

    model = MLP(2, [3, 2], seed=0)
    for layer, weight in zip(model.layers, (1e300, 1.0), strict=True):
        for neuron in layer.neurons:
            for w in neuron.weights:
                w.data = weight
            neuron.bias.data = 0.0
    # The first sample (traced) is harmless; the second overflows in the first layer's W @ X.
    with pytest.raises(ChainruleError, match="overflows") as error:
        fit(model, [[0.0, 0.0], [1e10, 1.0]], [0, 1], loss=squared_error_of_first,
            optimizer=SGD(model, lr=0.1), epochs=1, progress=False, compile="numpy")
    assert error.value.history.epochs == 0


def squared_error_of_first(outputs: Any, targets: Any) -> Any:
    terms = [o[0] * o[0] for o in outputs]
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))
