"""Every primitive's local derivatives against numerical oracles, input by input."""

from __future__ import annotations

import cmath
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine import PRIMITIVES, Value, gradients
from chainrule.engine.primitives import FUNCTIONS, POW

from support.gradcheck import assert_gradient_close, complex_step, partial_difference
from support.strategies import DOMAINS, reals

# Independent complex implementations of the analytic primitives: the complex-step oracle.
COMPLEX_FORMS = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: cmath.exp(y * cmath.log(x)),
    "neg": lambda x: -x,
    "exp": cmath.exp,
    "log": cmath.log,
    "log1p": lambda x: cmath.log(1 + x),
    "sqrt": cmath.sqrt,
    "tanh": cmath.tanh,
    "sigmoid": lambda x: 1 / (1 + cmath.exp(-x)),
    "softplus": lambda x: cmath.log(1 + cmath.exp(x)),
    "log_sigmoid": lambda x: -cmath.log(1 + cmath.exp(-x)),
    "sin": cmath.sin,
    "cos": cmath.cos,
    "tan": cmath.tan,
}
NOT_ANALYTIC = {"relu", "leaky_relu", "abs", "maximum"}  # kinks at 0: finite differences only


def input_cases() -> list[tuple[str, int]]:
    return [(name, i) for name, p in PRIMITIVES.items() for i in range(p.arity)]


def analytic_partials(name: str, args: list[float]) -> list[float]:
    leaves = [Value(a) for a in args]
    out = PRIMITIVES[name](*leaves)
    out.backward()
    return [leaf.grad for leaf in leaves]


def test_every_primitive_has_a_domain_and_an_oracle() -> None:
    assert set(DOMAINS) == set(PRIMITIVES)
    assert set(COMPLEX_FORMS) | NOT_ANALYTIC == set(PRIMITIVES)


@pytest.mark.parametrize("name,index", input_cases())
@given(data=st.data())
def test_gradient_matches_central_difference(name: str, index: int, data: st.DataObject) -> None:
    primitive = PRIMITIVES[name]
    args = [data.draw(strategy) for strategy in DOMAINS[name]]
    analytic = analytic_partials(name, args)[index]
    numeric = partial_difference(primitive.evaluate, args, index)
    assert_gradient_close(analytic, numeric, f"d/d{primitive.input_names[index]} {name}{tuple(args)}")


@pytest.mark.parametrize("name,index", [c for c in input_cases() if c[0] in COMPLEX_FORMS])
@given(data=st.data())
def test_gradient_matches_complex_step(name: str, index: int, data: st.DataObject) -> None:
    args = [data.draw(strategy) for strategy in DOMAINS[name]]
    form = COMPLEX_FORMS[name]

    def along(t: complex) -> complex:
        moved: list[complex] = list(args)
        moved[index] = t
        return form(*moved)

    analytic = analytic_partials(name, args)[index]
    exact = complex_step(along, args[index])
    assert analytic == pytest.approx(exact, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", sorted(COMPLEX_FORMS))
@given(data=st.data())
def test_forward_matches_independent_formula(name: str, data: st.DataObject) -> None:
    args = [data.draw(strategy) for strategy in DOMAINS[name]]
    expected = COMPLEX_FORMS[name](*map(complex, args)).real
    assert PRIMITIVES[name].evaluate(*args) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name,index", input_cases())
@given(data=st.data())
def test_second_derivative_matches_difference_of_first(
    name: str, index: int, data: st.DataObject
) -> None:
    """Local derivatives evaluated on Values are differentiable themselves (grad of grad)."""
    args = [data.draw(strategy) for strategy in DOMAINS[name]]
    leaves = [Value(a) for a in args]
    (first,) = gradients(PRIMITIVES[name](*leaves), [leaves[index]], create_graph=True)
    second = gradients(first, leaves)

    def first_derivative(*point: float) -> float:
        return analytic_partials(name, list(point))[index]

    for j, analytic in enumerate(second):
        numeric = partial_difference(first_derivative, args, j)
        assert_gradient_close(analytic, numeric, f"d2 {name}/d{index}d{j} at {args}")


@given(base=reals(-10.0, -0.1), exponent=st.integers(-3, 4))
def test_negative_base_with_integer_exponent(base: float, exponent: int) -> None:
    x = Value(base)
    (x**exponent).backward()
    numeric = partial_difference(POW.evaluate, [base, float(exponent)], 0)
    assert_gradient_close(x.grad, numeric, f"d/dx {base} ** {exponent}")


class TestConventionsAtKinks:
    """Where a derivative does not exist, chainrule picks PyTorch's value."""

    def test_relu_derivative_at_zero_is_zero(self) -> None:
        x = Value(0.0)
        x.relu().backward()
        assert x.grad == 0.0

    def test_abs_derivative_at_zero_is_zero(self) -> None:
        x = Value(0.0)
        abs(x).backward()
        assert x.grad == 0.0

    def test_leaky_relu_derivative_at_zero_is_the_slope(self) -> None:
        x = Value(0.0)
        x.leaky_relu(0.2).backward()
        assert x.grad == 0.2

    def test_pow_exponent_derivative_at_zero_base_is_zero(self) -> None:
        x, y = Value(0.0), Value(2.0)
        (x**y).backward()
        assert (x.grad, y.grad) == (0.0, 0.0)


@pytest.mark.parametrize(
    "name,x,value,slope",
    [
        ("sigmoid", 1000.0, 1.0, 0.0),
        ("sigmoid", -1000.0, 0.0, 0.0),
        ("tanh", 1000.0, 1.0, 0.0),
        ("tanh", -1000.0, -1.0, 0.0),
        ("softplus", 1000.0, 1000.0, 1.0),
        ("softplus", -1000.0, 0.0, 0.0),
        ("log_sigmoid", 1000.0, 0.0, 0.0),
        ("log_sigmoid", -1000.0, -1000.0, 1.0),
    ],
)
def test_stable_forms_are_finite_and_exact_in_the_limit(
    name: str, x: float, value: float, slope: float
) -> None:
    v = Value(x)
    out = PRIMITIVES[name](v)
    out.backward()
    assert out.data == value
    assert v.grad == slope


def test_stable_forms_agree_with_the_naive_formulas_where_those_work() -> None:
    for x in (-30.0, -2.5, 0.0, 0.7, 30.0):
        assert PRIMITIVES["sigmoid"].evaluate(x) == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)
        assert PRIMITIVES["softplus"].evaluate(x) == pytest.approx(math.log1p(math.exp(x)), rel=1e-15)
        assert PRIMITIVES["log_sigmoid"].evaluate(x) == pytest.approx(
            -math.log1p(math.exp(-x)), rel=1e-14, abs=1e-300
        )


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_derivative_has_a_human_formula(name: str) -> None:
    primitive = PRIMITIVES[name]
    assert len(primitive.formulas) == primitive.arity == len(primitive.derivatives)
    for i, variable in enumerate(primitive.input_names):
        formula = primitive.derivative_formula(i)
        assert formula.startswith(f"d/d{variable} ")
        assert primitive.write(*primitive.input_names) in formula
        assert formula.endswith(f" = {primitive.formulas[i]}")


def test_formulas_read_as_written() -> None:
    assert PRIMITIVES["tanh"].derivative_formula(0) == "d/dx tanh(x) = 1 - tanh(x)^2"
    assert PRIMITIVES["mul"].derivative_formula(1) == "d/dy (x * y) = x"
    assert PRIMITIVES["neg"].derivative_formula(0) == "d/dx (-x) = -1"
    assert PRIMITIVES["div"].write("a", "b") == "a / b"


def human_formula_as_python(formula: str) -> str:
    """A human formula (``1 / (2 sqrt(x))``, ``x^y * log(x)``, ``1/2 if x = y``) as Python."""
    python = formula.replace("^", "**")
    python = re.sub(r"(\d)\s+([a-z_]+\(|\()", r"\1 * \2", python)  # "2 sqrt(x)": implicit product
    python = re.sub(r"(?<![<>=!])=(?!=)", "==", python)  # "x = y" in a condition
    return python


@pytest.mark.parametrize("name,index", input_cases())
@given(data=st.data())
def test_each_human_formula_says_what_its_code_computes(
    name: str, index: int, data: st.DataObject
) -> None:
    """The formula a person reads and the code every gradient path runs are the same function
    (on the operation's domain, where the code's special cases, like x^0 at 0, do not apply)."""
    primitive = PRIMITIVES[name]
    args = [data.draw(strategy) for strategy in DOMAINS[name]]
    out = primitive.evaluate(*args)
    namespace = {**FUNCTIONS, **dict(zip(primitive.input_names, args, strict=True))}
    # Functions of the input in a formula mean the operation itself: tanh(x) is the output.
    namespace.update({p.function: p.evaluate for p in PRIMITIVES.values() if p.function})
    said = eval(human_formula_as_python(primitive.formulas[index]), namespace)
    computed = primitive.derivatives[index](*args, out)
    assert said == pytest.approx(computed, rel=1e-12, abs=1e-300), primitive.formulas[index]
