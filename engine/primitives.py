"""The primitive operations: each one defined once, and read by every consumer.

A :class:`Primitive` holds everything chainrule knows about an operation: its name, how to write
it (``notation``), its forward function on floats, one local derivative per input, and the
human-readable formula of each derivative. Eager backward, :func:`~chainrule.engine.gradients`
(gradients of gradients), the step-by-step explainer and graph labels all read this table;
adding an operation means adding one entry here (plus, if it should be a method, one line on
:class:`~chainrule.engine.Value`).

Local derivatives are called as ``derivative(*inputs, out)``: with floats during an ordinary
``backward()``, and with Values when differentiating a gradient, so they are written only with
arithmetic, comparisons and other primitives (which accept both).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import DivisionByZeroError, DomainError, NumericOverflowError

_INPUT_NAMES = ("x", "y")
_FUNCTION_CALL = re.compile(r"^\w+\(.*\)$")


class OutOfDomain(Exception):
    """Raised by a forward function with the reason its input is invalid; never escapes."""


#: What a forward function may raise; each is translated into a chainrule error.
FORWARD_ERRORS = (OutOfDomain, ArithmeticError, ValueError)


@dataclass(frozen=True, eq=False)
class Primitive:
    """One differentiable operation.

    ``notation`` writes an application with ``{x}`` (and ``{y}``) for the inputs; ``formulas[i]``
    is d(out)/d(input i) written with the same names.
    """

    name: str
    notation: str
    forward: Callable[..., float]
    derivatives: tuple[Callable[..., Any], ...]
    formulas: tuple[str, ...]

    # Derived from ``formulas`` (and checked against ``derivatives``), never typed: what eager
    # backward already knows about the local derivatives, so that it can skip calling them.
    #: Every local derivative is a fixed number (``add``: (1.0, 1.0), ``sub``: (1.0, -1.0)).
    constant_derivatives: tuple[float, ...] | None = field(init=False, repr=False)
    #: The derivative with respect to each of two inputs is the other input (``mul``).
    swaps_inputs: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        numbers = [n for n in map(_number_or_none, self.formulas) if n is not None]
        all_numbers = bool(self.formulas) and len(numbers) == len(self.formulas)
        other_inputs = tuple(reversed(self.input_names)) if self.arity == 2 else None
        derived = {
            "constant_derivatives": tuple(numbers) if all_numbers else None,
            "swaps_inputs": self.formulas == other_inputs,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here
        self._check_derived_fields()

    def _check_derived_fields(self) -> None:
        """The derived fields must agree with the derivative functions at a sample point, so
        that a formula and its function can never silently disagree on the fast path."""
        sample = (0.375, 1.625)[: self.arity]
        out = 0.8125
        for index, derivative in enumerate(self.derivatives):
            expected: float | None = None
            if self.constant_derivatives is not None:
                expected = self.constant_derivatives[index]
            elif self.swaps_inputs:
                expected = sample[1 - index]
            if expected is not None and derivative(*sample, out) != expected:
                raise ValueError(
                    f"primitive {self.name}: {self.derivative_formula(index)} disagrees with its "
                    f"derivative function (gives {derivative(*sample, out)!r})"
                )

    @property
    def arity(self) -> int:
        return len(self.derivatives)

    @property
    def input_names(self) -> tuple[str, ...]:
        return _INPUT_NAMES[: self.arity]

    def write(self, *operands: object) -> str:
        """This operation applied to ``operands``, as text: ``MUL.write("a", "b") == "a * b"``."""
        return self.notation.format(**dict(zip(self.input_names, map(str, operands), strict=True)))

    def derivative_formula(self, index: int) -> str:
        """The human formula of one local derivative: ``d/dx tanh(x) = 1 - tanh(x)^2``, and
        with an operator parenthesized, ``d/dy (x * y) = x``."""
        written = self.write(*self.input_names)
        if not _FUNCTION_CALL.match(written):
            written = f"({written})"
        return f"d/d{self.input_names[index]} {written} = {self.formulas[index]}"

    def evaluate(self, *operands: float) -> float:
        """The forward function on floats, with chainrule's errors and the finiteness check."""
        try:
            result = self.forward(*operands)
        except FORWARD_ERRORS as error:
            raise self.forward_error(error, operands) from None
        if result - result:  # inf - inf and nan - nan are nan (truthy); finite x - x is 0.0
            raise self.forward_error(OverflowError(), operands)
        return result

    def forward_error(self, error: Exception, operands: tuple[float, ...]) -> Exception:
        """Translate what a forward function raised into a message naming the operation."""
        expression = self.write(*map(repr, operands))
        if isinstance(error, OutOfDomain):
            return DomainError(f"{self.name}: {expression} is undefined: {error}")
        if isinstance(error, ZeroDivisionError):
            return DivisionByZeroError(f"{self.name}: {expression} divides by zero")
        if isinstance(error, OverflowError):
            return NumericOverflowError(
                f"{self.name}: {expression} overflows: the result is too large for a float "
                f"(the largest is about 1.8e308)"
            )
        return DomainError(f"{self.name}: {expression} is undefined ({error})")

    def __call__(self, *operands: Any) -> Any:
        """Apply to floats (giving a float) or to Values (giving a recorded Value)."""
        return _value.apply(self, operands)

    def __repr__(self) -> str:
        return f"<primitive {self.name}: {self.write(*self.input_names)}>"


def _number_or_none(formula: str) -> float | None:
    """The number a formula states (``"-1"`` -> -1.0), or None if it is an expression."""
    try:
        number = float(formula)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_negative_non_integer_power(base: float, exponent: float) -> bool:
    return base < 0.0 and not exponent.is_integer()


def _power(base: float, exponent: float) -> float:
    # Python's float ** silently returns a complex number for a negative base and a
    # fractional exponent; chainrule only deals in real numbers.
    if _is_negative_non_integer_power(base, exponent):
        raise OutOfDomain("a negative base needs an integer exponent (the result would be complex)")
    return base**exponent


def _log(x: float) -> float:
    if x <= 0.0:
        raise OutOfDomain("log needs x > 0")
    return math.log(x)


def _log1p(x: float) -> float:
    if x <= -1.0:
        raise OutOfDomain("log1p needs x > -1")
    return math.log1p(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise OutOfDomain("sqrt needs x >= 0")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never sees a large positive argument (PyTorch's stable form).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _log_sigmoid(x: float) -> float:
    return min(x, 0.0) - math.log1p(math.exp(-abs(x)))


def _sign(x: Any) -> float:
    # PyTorch's convention: the derivative of abs at 0 is 0.
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def _d_power_exponent(base: Any, exponent: Any, out: Any) -> Any:
    # d/dy x^y = x^y log(x); at x = 0 (with y > 0) x^y is identically 0, so the slope is 0.
    return 0.0 if float(base) == 0.0 else out * LOG(base)


ADD = Primitive("add", "{x} + {y}", operator.add,
                (lambda x, y, out: 1.0, lambda x, y, out: 1.0), ("1", "1"))
SUB = Primitive("sub", "{x} - {y}", operator.sub,
                (lambda x, y, out: 1.0, lambda x, y, out: -1.0), ("1", "-1"))
MUL = Primitive("mul", "{x} * {y}", operator.mul,
                (lambda x, y, out: y, lambda x, y, out: x), ("y", "x"))
DIV = Primitive("div", "{x} / {y}", operator.truediv,
                (lambda x, y, out: 1.0 / y, lambda x, y, out: -x / (y * y)),
                ("1 / y", "-x / y^2"))
POW = Primitive("pow", "{x} ** {y}", _power,
                (lambda x, y, out: y * x ** (y - 1.0), _d_power_exponent),
                ("y * x^(y - 1)", "x^y * log(x)"))
NEG = Primitive("neg", "-{x}", operator.neg, (lambda x, out: -1.0,), ("-1",))
EXP = Primitive("exp", "exp({x})", math.exp, (lambda x, out: out,), ("exp(x)",))
LOG = Primitive("log", "log({x})", _log, (lambda x, out: 1.0 / x,), ("1 / x",))
LOG1P = Primitive("log1p", "log1p({x})", _log1p,
                  (lambda x, out: 1.0 / (1.0 + x),), ("1 / (1 + x)",))
SQRT = Primitive("sqrt", "sqrt({x})", _sqrt, (lambda x, out: 0.5 / out,), ("1 / (2 sqrt(x))",))
TANH = Primitive("tanh", "tanh({x})", math.tanh,
                 (lambda x, out: 1.0 - out * out,), ("1 - tanh(x)^2",))
SIGMOID = Primitive("sigmoid", "sigmoid({x})", _sigmoid,
                    (lambda x, out: out * (1.0 - out),), ("sigmoid(x) * (1 - sigmoid(x))",))
SOFTPLUS = Primitive("softplus", "softplus({x})", _softplus,
                     (lambda x, out: SIGMOID(x),), ("sigmoid(x)",))
LOG_SIGMOID = Primitive("log_sigmoid", "log_sigmoid({x})", _log_sigmoid,
                        (lambda x, out: SIGMOID(-x),), ("sigmoid(-x)",))
RELU = Primitive("relu", "relu({x})", lambda x: x if x > 0.0 else 0.0,
                 (lambda x, out: 1.0 if x > 0.0 else 0.0,), ("1 if x > 0 else 0",))
LEAKY_RELU = Primitive("leaky_relu", "leaky_relu({x}, {y})",
                       lambda x, slope: x if x > 0.0 else slope * x,
                       (lambda x, slope, out: 1.0 if x > 0.0 else slope,
                        lambda x, slope, out: 0.0 if x > 0.0 else x),
                       ("1 if x > 0 else y", "0 if x > 0 else x"))
ABS = Primitive("abs", "abs({x})", math.fabs, (lambda x, out: _sign(x),),
                ("1 if x > 0, -1 if x < 0, 0 at 0",))
SIN = Primitive("sin", "sin({x})", math.sin, (lambda x, out: COS(x),), ("cos(x)",))
COS = Primitive("cos", "cos({x})", math.cos, (lambda x, out: -SIN(x),), ("-sin(x)",))
# PyTorch's torch.maximum: at a tie each input gets half of the gradient.
MAXIMUM = Primitive("maximum", "max({x}, {y})", lambda x, y: x if x >= y else y,
                    (lambda x, y, out: 1.0 if x > y else 0.5 if x == y else 0.0,
                     lambda x, y, out: 1.0 if y > x else 0.5 if x == y else 0.0),
                    ("1 if x > y, 1/2 if x = y, else 0", "1 if y > x, 1/2 if x = y, else 0"))

#: Every primitive by name: the vocabulary of the explainer, the CLI and any compiler.
PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, LOG1P, SQRT, TANH, SIGMOID, SOFTPLUS,
              LOG_SIGMOID, RELU, LEAKY_RELU, ABS, SIN, COS, MAXIMUM)
}

# Bound last: value.py imports this module, and Primitive.__call__ needs value.apply.
from . import value as _value  # noqa: E402
