"""jit: compiled programs give exactly the eager engine's numbers and errors."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import (
    ChainruleError,
    DomainError,
    GradientError,
    OperandTypeError,
    TracingError,
    Value,
    grad,
    jit,
    maximum,
    value_and_grad,
)
from chainrule.engine.compile import MAX_PROGRAMS_PER_STRUCTURE

from support.explain import graph_recipes, outcome, recipe_function


@settings(max_examples=150)
@given(recipe=graph_recipes(), fresh=st.lists(st.floats(-3, 3, allow_nan=False), min_size=4,
                                              max_size=4))
def test_compiled_value_and_gradients_equal_eager_exactly(recipe: dict[str, Any],
                                                         fresh: list[float]) -> None:
    f = recipe_function(recipe)
    count = len(recipe["leaves"])
    argnums = tuple(range(count))
    eager = value_and_grad(f, argnums)
    compiled = jit(value_and_grad(f, argnums))
    for point in (recipe["leaves"], fresh[:count]):
        expected = outcome(lambda point=point: eager(*point))
        got = outcome(lambda point=point: compiled(*point))
        assert got == expected  # == on floats: the same numbers, bit for bit (up to -0.0)
    forward = jit(f)
    for point in (recipe["leaves"], fresh[:count]):
        expected_value = outcome(lambda point=point: _data(f(*[Value(x) for x in point])))
        assert outcome(lambda point=point: forward(*point)) == expected_value


def _data(result: Any) -> float:
    return result.data if isinstance(result, Value) else float(result)


def test_operations_whose_results_are_thrown_away_keep_their_errors() -> None:
    def f(x):
        (1.0 / x).log()  # computed and dropped: eager raises at x = 0 and for x < 0
        return x * 2.0

    compiled = jit(f)
    assert compiled(1.0) == 2.0
    assert "v1 / v0" in compiled.source(1.0) or "1.0 / v0" in compiled.source(1.0)
    with pytest.raises(ChainruleError, match="divides by zero"):
        compiled(0.0)
    with pytest.raises(DomainError, match=r"log\(-1.0\) is undefined"):
        compiled(-1.0)


def test_the_readme_example_and_its_source() -> None:
    def f(w, b, x):
        return (w * x + b).tanh()

    step = jit(value_and_grad(f, argnums=(0, 1)))
    out, (dw, db) = step(0.5, 0.1, 2.0)
    w, b = Value(0.5), Value(0.1)
    y = f(w, b, Value(2.0))
    y.backward()
    assert (out, dw, db) == (y.data, w.grad, b.grad)
    source = step.source(0.5, 0.1, 2.0)
    assert "v0, v1, v2 = inputs  # w, b, x" in source
    assert "d_v4 = d_v5 * (1.0 - v5 * v5)  # d/dv4 tanh(v4) = 1 - tanh(v4)^2" in source
    assert "d_v0 = d_v3 * v2  # d/dw (w * x) = x" in source
    assert source.rstrip().endswith("return (v5,), (0.0 + d_v0, 0.0 + d_v1)")
    assert len(step.programs) == 1 and step.programs[0].build_seconds < 5


def test_nested_arguments_and_grad_keep_their_structure() -> None:
    def loss(weights, xs):
        return sum((w * x for w, x in zip(weights, xs, strict=True)), Value(0.0)) ** 2

    compiled = jit(grad(loss))
    assert compiled([1.0, 2.0], [3.0, 4.0]) == grad(loss)([1.0, 2.0], [3.0, 4.0]) == [66.0, 88.0]
    assert compiled((1.0, 2.0), [3.0, 4.0]) == (66.0, 88.0)  # a tuple stays a tuple
    assert len(compiled.programs) == 2  # list and tuple are different structures
    assert compiled([1.0, 2.0, 0.5], [3.0, 4.0, 2.0]) == grad(loss)([1.0, 2.0, 0.5], [3.0, 4.0, 2.0])


class TestGuards:
    def test_data_dependent_branches_are_guarded_and_retraced(self) -> None:
        f = jit(lambda x: x * 2 if x > 0 else x * 3)
        assert (f(1.0), f(-1.0), f(2.0), f(-2.0)) == (2.0, -3.0, 4.0, -6.0)
        assert len(f.programs) == 2
        assert "raise GuardFailed  # traced: x > 0.0 was True" in f.source(1.0)

    def test_python_max_over_values_is_guarded(self) -> None:
        f = jit(value_and_grad(lambda a, b: max(a, b) * 2.0, argnums=(0, 1)))
        assert f(1.0, 3.0) == (6.0, (0.0, 2.0))
        assert f(4.0, 3.0) == (8.0, (2.0, 0.0))

    def test_truth_of_a_value_is_guarded(self) -> None:
        f = jit(lambda x: x + 1.0 if x else x - 1.0)
        assert (f(0.0), f(2.0), f(0.0)) == (-1.0, 3.0, -1.0)

    def test_too_many_retraces_fall_back_to_eager_with_a_warning(self) -> None:
        def staircase(x):
            step = x
            for k in range(MAX_PROGRAMS_PER_STRUCTURE + 2):
                if x > k:
                    step = step + 1.0
            return step

        f = jit(staircase)
        with pytest.warns(RuntimeWarning, match="running it eagerly"):
            results = [f(k + 0.5) for k in range(MAX_PROGRAMS_PER_STRUCTURE + 2)]
        assert results == [staircase(Value(k + 0.5)).data
                           for k in range(MAX_PROGRAMS_PER_STRUCTURE + 2)]

    def test_the_in_graph_maximum_needs_no_guard(self) -> None:
        f = jit(lambda a, b: maximum(a, b) * 2.0)
        assert (f(1.0, 3.0), f(4.0, 3.0)) == (6.0, 8.0)
        assert len(f.programs) == 1


class TestRefusals:
    @pytest.mark.parametrize("read", [
        lambda x: x * x.data, lambda x: x * float(x), lambda x: x * x.item(),
        lambda x: Value(float(f"{x:.3f}")),
    ])
    def test_reading_a_number_out_of_a_traced_value_is_an_error(self, read: Any) -> None:
        with pytest.raises(TracingError, match=r"read the number of a traced Value .*without jit"):
            jit(read)(1.5)

    def test_reading_numbers_outside_tracing_and_in_other_threads_is_fine(self) -> None:
        seen = []

        def slow(x):
            worker = threading.Thread(target=lambda: seen.append(Value(2.0).data))
            worker.start()
            worker.join()
            return x * 2.0

        assert jit(slow)(1.0) == 2.0 and seen == [2.0]
        assert Value(1.0).data == 1.0


class TestErrors:
    def test_bad_input_gives_the_eager_errors(self) -> None:
        f = jit(value_and_grad(lambda x: (x.log() * x).sqrt()))
        assert f(2.0) == value_and_grad(lambda x: (x.log() * x).sqrt())(2.0)
        with pytest.raises(DomainError, match=r"log: log\(-1.0\) is undefined"):
            f(-1.0)
        with pytest.raises(GradientError, match=r"local derivative of the sqrt node"):
            f(1.0)
        with pytest.raises(OperandTypeError, match="got str"):
            f("1.0")
        with pytest.raises(ChainruleError, match="not a finite number"):
            f(math.nan)

    def test_overflow_that_a_later_operation_hides_is_still_an_error(self) -> None:
        f = jit(lambda x: (x * 1e200 * 1e200).relu())  # -inf would become relu(-inf) = 0
        assert f(-1e-300) == 0.0
        with pytest.raises(ChainruleError, match="overflows"):
            f(-1.0)

    def test_a_gradient_that_overflows_is_reported_like_eager(self) -> None:
        f = jit(value_and_grad(lambda x: (x * 1e200 * 1e200)))
        with pytest.raises(GradientError, match="became inf"):
            f(1e-300)


class TestCapturedValues:
    def test_captured_values_are_read_at_every_call(self) -> None:
        w = Value(2.0, label="w")
        f = jit(lambda x: w * x)
        assert f(3.0) == 6.0
        w.data = 5.0
        assert f(3.0) == 15.0
        assert "v1, = captured  # w, read at each call" in f.source(3.0)

    def test_gradients_are_for_the_arguments_only(self) -> None:
        w = Value(2.0)
        f = jit(value_and_grad(lambda x: w * x * x))
        assert f(3.0) == (18.0, 12.0)
        assert w.grad == 0.0


def test_inside_another_transformation_it_runs_eagerly() -> None:
    f = jit(lambda x: x ** 3)
    assert grad(f)(2.0) == 12.0
    assert grad(grad(f))(2.0) == 12.0
    assert f.programs == []


def test_a_long_chain_compiles_in_linear_time_and_matches() -> None:
    def chain(x):
        for _ in range(5000):
            x = (x * 0.9 + 0.1).tanh()
        return x

    step = jit(value_and_grad(chain))
    assert step(0.3) == value_and_grad(chain)(0.3)
    (program,) = step.programs
    assert program.line_count > 25_000


# -- training with compiled programs -------------------------------------------------------------

def _train(compile_: bool, loss: Any, sizes: list[int], output: str, y: list[Any],
           **options: Any) -> Any:
    from chainrule.nn import MLP, Adam, fit

    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.25], [0.2, 0.9]]
    model = MLP(2, sizes, activation="tanh", output_activation=output, seed=3)
    history = fit(model, X, y, loss=loss, optimizer=Adam(model.parameters(), lr=0.05),
                  epochs=6, batch_size=4, seed=1, progress=False, compile=compile_, **options)
    return history, [p.data for p in model.parameters()]


@pytest.mark.parametrize("case", ["mse", "bce", "bce_with_logits", "hinge", "cross_entropy"])
def test_fit_compiled_gives_the_eager_history(case: str) -> None:
    from chainrule.nn import bce_with_logits, binary_cross_entropy, cross_entropy, hinge, mse

    setups = {
        "mse": (mse, [4, 1], "sigmoid", [0.0, 1.0, 1.0, 0.0, 0.5, 0.9], {}),
        "bce": (binary_cross_entropy, [4, 1], "sigmoid", [0, 1, 1, 0, 1, 0], {"l2": 1e-3}),
        "bce_with_logits": (bce_with_logits, [4, 1], "linear", [0, 1, 1, 0, 1, 0], {}),
        "hinge": (hinge, [4, 1], "linear", [-1, 1, 1, -1, 1, -1], {"l2": 1e-4}),
        "cross_entropy": (cross_entropy, [4, 3], "linear", [0, 1, 2, 0, 1, 2], {}),
    }
    loss, sizes, output, y, options = setups[case]
    eager, eager_params = _train(False, loss, sizes, output, y, **options)
    compiled, compiled_params = _train(True, loss, sizes, output, y, **options)
    assert compiled.loss == pytest.approx(eager.loss, rel=1e-12, abs=1e-15)
    assert compiled.accuracy == eager.accuracy
    assert compiled_params == pytest.approx(eager_params, rel=1e-11, abs=1e-13)


def test_fit_compiled_refuses_a_loss_that_is_not_a_mean_over_samples() -> None:
    from chainrule.nn import ConfigurationError

    def max_error(outputs: Any, targets: Any) -> Any:
        return max((o - t) ** 2 for o, t in zip(outputs, targets, strict=True))

    with pytest.raises(ConfigurationError, match="mean of its values on the samples"):
        _train(True, max_error, [3, 1], "sigmoid", [0.0, 1.0, 1.0, 0.0, 0.5, 0.9])


def test_the_docs_show_the_source_jit_generates() -> None:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "guide" / "compile.md").read_text()
    shown = re.search(r"<!-- jit-source:start -->\n```python\n(.*?)```\n<!-- jit-source:end -->",
                      page, re.S)
    assert shown is not None

    def f(w, b, x):
        return (w * x + b).tanh()

    assert shown.group(1) == jit(value_and_grad(f, argnums=(0, 1))).source(0.5, 0.1, 2.0)
