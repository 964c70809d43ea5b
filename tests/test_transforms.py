"""Gradients as functions: value_and_grad, grad with argnums, jacobian and hessian."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
