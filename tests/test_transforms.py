"""Gradients as functions: value_and_grad, grad with argnums, jacobian and hessian."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import engine
from chainrule.engine import (
    OperandTypeError,
    Value,
    grad,
    hessian,
    jacobian,
    no_grad,
    value_and_grad,
)

from support.gradcheck import assert_gradient_close, partial_difference
from support.strategies import reals


def f(w: Any, b: Any, x: Any) -> Any:
    return (w * x + b).tanh() * w


def test_value_and_grad_keeps_the_nesting_of_its_arguments() -> None:
    def loss(ws: Any, point: Any) -> Any:
        (a, (b, c)) = ws
        return a * point[0] + b * c * point[1]

    value, grads = value_and_grad(loss)([1.0, (2.0, 3.0)], (0.5, 4.0))
    assert value == 0.5 + 24.0
    assert grads == [0.5, (12.0, 8.0)]
    value, (g_ws, g_point) = value_and_grad(loss, argnums=(0, 1))([1.0, (2.0, 3.0)], (0.5, 4.0))
    assert g_point == (1.0, 6.0) and g_ws == [0.5, (12.0, 8.0)]


def test_grad_takes_an_int_or_a_tuple_and_negative_positions() -> None:
    assert grad(f, 2)(0.5, 0.1, 2.0) == grad(f, -1)(0.5, 0.1, 2.0)
    both = grad(f, (0, 2))(0.5, 0.1, 2.0)
    assert isinstance(both, tuple) and both == (grad(f, 0)(0.5, 0.1, 2.0), grad(f, 2)(0.5, 0.1, 2.0))
    with pytest.raises(OperandTypeError, match="argnums 3 but only 3"):
        grad(f, 3)(0.5, 0.1, 2.0)
    with pytest.raises(OperandTypeError, match="argnums must be an int or a tuple"):
        grad(f, "w")(0.5, 0.1, 2.0)  # type: ignore[arg-type]


@given(w=reals(-2, 2), b=reals(-2, 2), x=reals(-2, 2))
def test_mixed_second_derivatives_agree_in_either_order_and_are_floats(w: float, b: float,
                                                                      x: float) -> None:
    one = grad(grad(f, 0), 2)(w, b, x)
    other = grad(grad(f, 2), 0)(w, b, x)
    assert type(one) is float and type(other) is float
    assert one == pytest.approx(other, rel=1e-12, abs=1e-12)
    numeric = partial_difference(lambda *a: grad(f, 2)(*a), [w, b, x], 0)
    assert_gradient_close(one, numeric, "d2f/dw dx")


def test_a_leaf_created_inside_the_function_is_not_a_variable() -> None:
    def total(ws: Any) -> Any:
        return sum((w * w for w in ws), Value(0.0))

    assert grad(total)([1.0, 2.0]) == [2.0, 4.0]  # floats, not Values


def test_closures_over_an_enclosing_variable_stay_differentiable() -> None:
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x
    assert grad(lambda x: x * grad(lambda y: x * y)(3.0))(2.0) == 4.0


def test_transformations_record_even_inside_no_grad() -> None:
    with no_grad():
        assert grad(grad(lambda x: x ** 3))(2.0) == 12.0
        assert hessian(lambda v: v[0] * v[1])([1.0, 2.0]) == [[0.0, 1.0], [1.0, 0.0]]


def _vector_function(v: Any) -> list[Any]:
    x, y, z = v
    return [x * y.sin(), (x + z).exp() * 0.1, (y * z).tanh() + x ** 2]


@given(v=st.lists(reals(-1.5, 1.5), min_size=3, max_size=3))
def test_jacobian_matches_finite_differences(v: list[float]) -> None:
    rows = jacobian(_vector_function)(v)
    for i in range(3):
        for j in range(3):
            numeric = partial_difference(
                lambda *a, i=i: _vector_function([Value(t) for t in a])[i].data, v, j)
            assert_gradient_close(rows[i][j], numeric, f"J[{i}][{j}]")


def _scalar(v: Any) -> Any:
    x, y, z = v
    return x * y.sin() + (x * z).exp() * 0.1 + (y * z).tanh() * x


@given(v=st.lists(reals(-1.5, 1.5), min_size=3, max_size=3))
def test_hessian_is_the_jacobian_of_the_gradient_symmetric_and_matches_differences(
    v: list[float],
) -> None:
    h = hessian(_scalar)(v)
    assert h == jacobian(grad(_scalar))(v)
    for i in range(3):
        for j in range(3):
            assert h[i][j] == pytest.approx(h[j][i], rel=1e-12, abs=1e-12)
            numeric = partial_difference(lambda *a, i=i: grad(_scalar)(list(a))[i], v, j)
            assert_gradient_close(h[i][j], numeric, f"H[{i}][{j}]")


def test_jacobian_of_scalar_output_and_scalar_argument() -> None:
    assert jacobian(lambda x: [x * 2.0, x * x])(3.0) == [2.0, 6.0]
    assert jacobian(lambda v: v[0] * v[1])([2.0, 5.0]) == [5.0, 2.0]
    assert math.isclose(jacobian(lambda x: x.exp())(1.0), math.e)


# -- JAX's habits (issue 25): keyword arguments, has_aux, numpy arrays, tuple argnums -----------


def _scaled(w: Any, x: Any, scale: float = 1.0) -> Any:
    return (w * x).tanh() * scale


def test_keyword_arguments_pass_through_and_are_not_differentiated() -> None:
    value, dw = value_and_grad(_scaled)(0.5, 2.0, scale=3.0)
    assert value == 3.0 * math.tanh(1.0)
    assert dw == 3.0 * 2.0 * (1.0 - math.tanh(1.0) ** 2)
    assert grad(_scaled)(0.5, 2.0, scale=3.0) == dw
    assert grad(_scaled, (0, 1))(0.5, 2.0, scale=3.0) == grad(_scaled, (0, 1))(0.5, 2.0, 3.0)
    assert jacobian(_scaled)(0.5, 2.0, scale=3.0) == dw
    assert hessian(_scaled)(0.5, 2.0, scale=3.0) == hessian(_scaled)(0.5, 2.0, 3.0)
    # A keyword argument is never a variable: asking for its gradient by position fails clearly.
    with pytest.raises(OperandTypeError, match="argnums 2 but only 2"):
        grad(_scaled, 2)(0.5, 2.0, scale=3.0)


def _with_aux(w: Any, x: Any) -> Any:
    prediction = w * x
    return (prediction - 1.0) ** 2, {"prediction": prediction, "note": "squared error"}


def test_has_aux_returns_the_auxiliary_data_beside_value_and_gradient_as_jax_does() -> None:
    (value, aux), dw = value_and_grad(_with_aux, has_aux=True)(0.5, 4.0)
    assert value == 1.0 and dw == 2.0 * (2.0 - 1.0) * 4.0
    assert aux == {"prediction": 2.0, "note": "squared error"}  # numbers, not Values
    assert type(aux["prediction"]) is float
    dw_only, aux_only = grad(_with_aux, has_aux=True)(0.5, 4.0)
    assert (dw_only, aux_only) == (dw, aux)
    (_, aux_pair), both = value_and_grad(lambda w, x: (w * x, (w, [x])), (0, 1), True)(2.0, 3.0)
    assert both == (3.0, 2.0) and aux_pair == (2.0, [3.0])


def test_has_aux_composes_and_refuses_a_function_that_returns_no_pair() -> None:
    # Inside another grad the auxiliary data stays a Value (of the outer variable).
    def outer(w: Any) -> Any:
        slope, prediction = grad(_with_aux, has_aux=True)(w, 4.0)
        assert isinstance(prediction["prediction"], Value)
        return slope * prediction["prediction"]

    # slope = 8 (4w - 1), prediction = 4w: d/dw [32 w (4w - 1)] = 256 w - 32
    assert grad(outer)(0.5) == 256.0 * 0.5 - 32.0
    with pytest.raises(OperandTypeError, match=r"value_and_grad\(_scaled\): with has_aux=True the "
                                               r"function must return a pair \(output, aux\), got Value"):
        value_and_grad(_scaled, has_aux=True)(0.5, 2.0)
    with pytest.raises(OperandTypeError, match="must return a pair"):
        grad(lambda w: (w, w, w), has_aux=True)(0.5)


def _pairs(x: Any, y: Any) -> list[Any]:
    return [x * engine.sin(y), engine.exp(x + y) * x]


@given(x=reals(-1.5, 1.5), y=reals(-1.5, 1.5))
def test_tuple_argnums_give_a_jacobian_per_argument_and_hessian_blocks(x: float, y: float) -> None:
    j_x, j_y = jacobian(_pairs, argnums=(0, 1))(x, y)
    assert j_x == jacobian(_pairs, 0)(x, y) and j_y == jacobian(_pairs, 1)(x, y)
    for i in range(2):
        for k, j in enumerate((j_x, j_y)):
            numeric = partial_difference(lambda *a, i=i: _pairs(*map(Value, a))[i].data, [x, y], k)
            assert_gradient_close(j[i], numeric, f"J[{i}] wrt argument {k}")

    def scalar(u: Any, v: Any) -> Any:
        return _pairs(u, v)[0] * _pairs(u, v)[1]

    blocks = hessian(scalar, argnums=(0, 1))(x, y)
    assert isinstance(blocks, tuple) and all(isinstance(row, tuple) for row in blocks)
    assert blocks[0][0] == hessian(scalar, 0)(x, y) and blocks[1][1] == hessian(scalar, 1)(x, y)
    assert blocks[0][1] == pytest.approx(blocks[1][0], rel=1e-12, abs=1e-12)
    numeric = partial_difference(lambda *a: grad(scalar, 0)(*a), [x, y], 1)
    assert_gradient_close(blocks[0][1], numeric, "d2f/dx dy")


def test_tuple_argnums_with_list_arguments_nest_as_jax_does() -> None:
    def f(v: Any, w: Any) -> Any:
        return v[0] * v[1] * w[0] + w[1] ** 2

    (h_vv, h_vw), (h_wv, h_ww) = hessian(f, argnums=(0, 1))([1.0, 2.0], [3.0, 4.0])
    assert h_vv == [[0.0, 3.0], [3.0, 0.0]]
    assert h_vw == [[2.0, 0.0], [1.0, 0.0]]   # d/dw of df/dv = [v1 w0, v0 w0]
    assert h_wv == [[2.0, 1.0], [0.0, 0.0]]   # its transpose
    assert h_ww == [[0.0, 0.0], [0.0, 2.0]]
    # A function returning a tuple gives a tuple, one Jacobian per element.
    assert jacobian(lambda v: (v[0] * v[1], v[0] + v[1]))([2.0, 3.0]) == ([3.0, 2.0], [1.0, 1.0])


def test_numpy_arrays_are_accepted_wherever_lists_are_and_gradients_come_back_as_arrays() -> None:
    np = pytest.importorskip("numpy")
    ws = np.array([[1.0, 2.0], [3.0, -1.0]])

    def total(w: Any, x: Any) -> Any:
        return sum((a * b for row in w for a, b in zip(row, x, strict=True)), Value(0.0)).tanh()

    x = np.array([0.5, -0.25], dtype=np.float32)
    value, (g_w, g_x) = value_and_grad(total, (0, 1))(ws, x)
    listed_value, (listed_w, listed_x) = value_and_grad(total, (0, 1))(ws.tolist(), x.tolist())
    assert value == listed_value
    assert isinstance(g_w, np.ndarray) and g_w.shape == (2, 2) and g_w.dtype == np.float64
    assert g_w.tolist() == listed_w
    assert isinstance(g_x, np.ndarray) and g_x.dtype == np.float32  # the argument's float type
    assert g_x.tolist() == np.array(listed_x, dtype=np.float32).tolist()
    # An integer array gives float gradients; an array inside a list stays an array.
    g_int = grad(lambda v: v[0] * v[1])(np.array([2, 3]))
    assert g_int.dtype == np.float64 and g_int.tolist() == [3.0, 2.0]
    mixed = grad(lambda p: p[0][0] * p[1])([np.array([2.0]), 5.0])
    assert isinstance(mixed[0], np.ndarray) and mixed[0].tolist() == [5.0] and mixed[1] == 2.0


def test_jacobian_and_hessian_of_an_array_are_arrays_of_the_jax_shape() -> None:
    np = pytest.importorskip("numpy")
    v = np.array([2.0, 3.0])
    j = jacobian(lambda u: np.array([u[0] * u[1], u[0] + u[1], u[1] ** 2]))(v)
    assert isinstance(j, np.ndarray) and j.shape == (3, 2)
    assert j.tolist() == jacobian(lambda u: [u[0] * u[1], u[0] + u[1], u[1] ** 2])([2.0, 3.0])
    h = hessian(lambda u: u[0] ** 2 * u[1])(np.array([1.0, 3.0]))
    assert isinstance(h, np.ndarray) and h.tolist() == [[6.0, 2.0], [2.0, 0.0]]


def test_vectorize_is_exported_by_the_engine_without_importing_numpy_with_it() -> None:
    program = (
        "import sys, chainrule.engine as e; "
        "assert 'numpy' not in sys.modules; "
        "assert 'vectorize' in e.__all__ and e.vectorize.__module__.endswith('numpy_backend'); "
        "assert 'numpy' not in sys.modules; "
        "assert e.grad(lambda v: v[0] * v[1])([2.0, 3.0]) == [3.0, 2.0]; "
        "assert 'numpy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", program], check=True)
    np = pytest.importorskip("numpy")
    values, dw = engine.vectorize(value_and_grad(lambda w, x: (w * x).tanh()))(
        np.array([0.5, -1.0]), 2.0)
    assert values.tolist() == [math.tanh(w * 2.0) for w in (0.5, -1.0)]
    assert dw.tolist() == [grad(lambda w: (w * 2.0).tanh())(w) for w in (0.5, -1.0)]


def test_dicts_are_pytrees_and_jit_compiles_has_aux() -> None:
    """As in JAX: a dict argument gets a dict of gradients, and a function with auxiliary
    data (returned in a dict) compiles, giving the eager transformation's results."""
    from chainrule.engine import jit

    params = {"w": 2.0, "b": [0.5, -1.0]}
    loss = lambda p: p["w"] * p["b"][0] + p["b"][1] * p["b"][1]  # noqa: E731
    assert grad(loss)(params) == {"w": 0.5, "b": [2.0, -2.0]}
    assert jit(value_and_grad(loss))(params) == value_and_grad(loss)(params)
    with_aux = lambda w: (w * w, {"w": w, "twice": [w * 2.0]})  # noqa: E731
    for compiled, eager in ((jit(value_and_grad(with_aux, has_aux=True)),
                             value_and_grad(with_aux, has_aux=True)),
                            (jit(grad(with_aux, has_aux=True)), grad(with_aux, has_aux=True))):
        for w in (3.0, -1.5):
            assert compiled(w) == eager(w)
    assert value_and_grad(with_aux, has_aux=True)(3.0) == ((9.0, {"w": 3.0, "twice": [6.0]}), 6.0)
