"""Bad input gets a clear error naming the operation and the value: never a silent NaN, a
complex number, a raw ``math domain error`` or an inf inside a Value."""

from __future__ import annotations

import array
import math

import pytest

from chainrule.engine import (
    ChainruleError,
    DivisionByZeroError,
    DomainError,
    NonFiniteError,
    NumericOverflowError,
    OperandTypeError,
    Value,
    exp,
    leaky_relu,
    log,
    power,
    sqrt,
)


class TestConstruction:
    @pytest.mark.parametrize("data,expected", [(2, 2.0), (2.5, 2.5), (True, 1.0), (-0.0, -0.0)])
    def test_accepts_int_float_and_bool(self, data: object, expected: float) -> None:
        v = Value(data)  # type: ignore[arg-type]
        assert v.data == expected and type(v.data) is float and v.grad == 0.0

    @pytest.mark.parametrize(
        "data,type_name",
        [("2.0", "str"), (None, "NoneType"), (1 + 2j, "complex"), ([1.0], "list"),
         (array.array("d", [1.0]), "array")],
    )
    def test_rejects_non_numbers_naming_the_type(self, data: object, type_name: str) -> None:
        with pytest.raises(OperandTypeError, match=rf"Value: expected a real number.*got {type_name}"):
            Value(data)  # type: ignore[arg-type]

    def test_rejects_a_numpy_array(self) -> None:
        np = pytest.importorskip("numpy")
        with pytest.raises(TypeError, match="got ndarray"):
            Value(np.array([1.0, 2.0]))  # type: ignore[arg-type]

    def test_accepts_a_numpy_scalar(self) -> None:
        np = pytest.importorskip("numpy")
        assert Value(np.float32(0.5)).data == 0.5

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    def test_rejects_nan_and_infinity(self, bad: float) -> None:
        with pytest.raises(NonFiniteError, match=r"Value: .* is not a finite number"):
            Value(bad)

    def test_rejects_an_int_too_large_for_a_float(self) -> None:
        with pytest.raises(NumericOverflowError, match="too large for a float"):
            Value(10**400)

    def test_label_must_be_text(self) -> None:
        with pytest.raises(OperandTypeError, match="label must be a str"):
            Value(1.0, label=3)  # type: ignore[arg-type]

    def test_errors_are_also_the_matching_builtins(self) -> None:
        assert issubclass(OperandTypeError, TypeError)
        assert issubclass(DomainError, ValueError)
        assert issubclass(DivisionByZeroError, ZeroDivisionError)
        assert issubclass(NumericOverflowError, OverflowError)
        assert all(issubclass(e, ChainruleError) for e in (OperandTypeError, DomainError))


class TestDomain:
    @pytest.mark.parametrize(
        "compute,message",
        [
            (lambda: Value(0.0).log(), r"log: log\(0.0\) is undefined: log needs x > 0"),
            (lambda: Value(-1.0).log(), r"log: log\(-1.0\) is undefined"),
            (lambda: Value(-1.0).sqrt(), r"sqrt: sqrt\(-1.0\) is undefined: sqrt needs x >= 0"),
            (lambda: Value(-1.0).log1p(), r"log1p: log1p\(-1.0\) is undefined: log1p needs x > -1"),
            (lambda: Value(-8.0) ** (1 / 3), r"pow: -8.0 \*\* 0.333.* a negative base needs an integer exponent"),
            (lambda: (-8.0) ** Value(0.5), r"pow: -8.0 \*\* 0.5 is undefined"),
            (lambda: log(0), r"log: log\(0.0\) is undefined"),
            (lambda: sqrt(-4.0), r"sqrt: sqrt\(-4.0\)"),
            (lambda: power(-2.0, 1.5), r"pow: -2.0 \*\* 1.5"),
        ],
    )
    def test_out_of_domain(self, compute, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(DomainError, match=message):
            compute()

    def test_negative_base_with_integer_exponent_is_fine(self) -> None:
        assert (Value(-2.0) ** 3).data == -8.0
        assert power(-2.0, 2) == 4.0


class TestDivisionByZero:
    @pytest.mark.parametrize(
        "compute,message",
        [
            (lambda: Value(1.0) / 0, r"div: 1.0 / 0.0 divides by zero"),
            (lambda: 1 / Value(0.0), r"div: 1.0 / 0.0 divides by zero"),
            (lambda: Value(0.0) ** -1, r"pow: 0.0 \*\* -1.0 divides by zero"),
            (lambda: power(0.0, -2.0), r"pow: 0.0 \*\* -2.0 divides by zero"),
        ],
    )
    def test_division_by_zero(self, compute, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(DivisionByZeroError, match=message):
            compute()


class TestOverflow:
    @pytest.mark.parametrize(
        "compute,message",
        [
            (lambda: Value(1000.0).exp(), r"exp: exp\(1000.0\) overflows"),
            (lambda: exp(1000), r"exp: exp\(1000.0\) overflows"),
            (lambda: Value(10.0) ** 400, r"pow: 10.0 \*\* 400.0 overflows"),
            (lambda: Value(1e200) * 1e200, r"mul: 1e\+200 \* 1e\+200 overflows"),
            (lambda: Value(1.7e308) + 1.7e308, r"add: 1.7e\+308 \+ 1.7e\+308 overflows"),
            (lambda: Value(1e300) / 1e-300, r"div: 1e\+300 / 1e-300 overflows"),
        ],
    )
    def test_results_too_large_for_a_float(self, compute, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(NumericOverflowError, match=message):
            compute()


class TestOperands:
    @pytest.mark.parametrize(
        "compute,message",
        [
            (lambda: Value(2.0) * "3", r"mul: operand expected a real number.*got str '3'"),
            (lambda: "3" + Value(2.0), r"add: operand expected a real number.*got str"),
            (lambda: Value(2.0) - None, r"sub: operand .*got NoneType"),
            (lambda: Value(2.0) ** [2], r"pow: operand .*got list"),
            (lambda: Value(2.0) / (1 + 1j), r"div: operand .*got complex"),
            (lambda: exp("1"), r"exp:.*got str"),
            (lambda: leaky_relu(Value(1.0), "0.1"), r"leaky_relu: operand .*got str"),
        ],
    )
    def test_non_numbers(self, compute, message: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(OperandTypeError, match=message):
            compute()

    def test_a_nan_operand(self) -> None:
        with pytest.raises(NonFiniteError, match=r"mul: operand nan is not a finite number"):
            Value(2.0) * math.nan

    def test_an_infinite_seed_gradient(self) -> None:
        with pytest.raises(NonFiniteError, match=r"backward: gradient inf"):
            Value(2.0).backward(math.inf)

    def test_comparison_with_a_non_number(self) -> None:
        with pytest.raises(OperandTypeError, match="comparison"):
            _ = Value(1.0) < "2"


def test_no_operation_ever_returns_a_non_finite_value() -> None:
    x = Value(700.0)
    y = x.exp()
    assert math.isfinite(y.data)
    with pytest.raises(NumericOverflowError):
        y * y
