"""The primitives as functions that accept Values or plain numbers.

A Value in gives a recorded Value out; plain numbers in give a plain float out (checked the
same way), like HIPS autograd's wrapped numpy functions. So one function serves for
computing with numbers, for building graphs, and for writing derivatives.
"""

from __future__ import annotations

from typing import overload

from .primitives import (
    ABS,
    COS,
    EXP,
    LEAKY_RELU,
    LOG,
    LOG1P,
    LOG_SIGMOID,
    MAXIMUM,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SQRT,
    TANH,
)
from .value import Value

Number = int | float


@overload
def exp(x: Value) -> Value: ...
@overload
def exp(x: Number) -> float: ...
def exp(x):  # type: ignore[no-untyped-def]
    """e to the power x."""
    return EXP(x)


@overload
def log(x: Value) -> Value: ...
@overload
def log(x: Number) -> float: ...
def log(x):  # type: ignore[no-untyped-def]
    """Natural logarithm; x must be > 0."""
    return LOG(x)


@overload
def log1p(x: Value) -> Value: ...
@overload
def log1p(x: Number) -> float: ...
def log1p(x):  # type: ignore[no-untyped-def]
    """log(1 + x), accurate for small x; x must be > -1."""
    return LOG1P(x)


@overload
def sqrt(x: Value) -> Value: ...
@overload
def sqrt(x: Number) -> float: ...
def sqrt(x):  # type: ignore[no-untyped-def]
    """Square root; x must be >= 0 (its derivative is infinite at 0)."""
    return SQRT(x)


@overload
def tanh(x: Value) -> Value: ...
@overload
def tanh(x: Number) -> float: ...
def tanh(x):  # type: ignore[no-untyped-def]
    """Hyperbolic tangent."""
    return TANH(x)


@overload
def sigmoid(x: Value) -> Value: ...
@overload
def sigmoid(x: Number) -> float: ...
def sigmoid(x):  # type: ignore[no-untyped-def]
    """The logistic function 1 / (1 + exp(-x)), computed without overflow."""
    return SIGMOID(x)


@overload
def softplus(x: Value) -> Value: ...
@overload
def softplus(x: Number) -> float: ...
def softplus(x):  # type: ignore[no-untyped-def]
    """log(1 + exp(x)), computed without overflow."""
    return SOFTPLUS(x)


@overload
def log_sigmoid(x: Value) -> Value: ...
@overload
def log_sigmoid(x: Number) -> float: ...
def log_sigmoid(x):  # type: ignore[no-untyped-def]
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), computed without overflow."""
    return LOG_SIGMOID(x)


@overload
def relu(x: Value) -> Value: ...
@overload
def relu(x: Number) -> float: ...
def relu(x):  # type: ignore[no-untyped-def]
    """max(x, 0); its derivative at 0 is 0, as in PyTorch."""
    return RELU(x)


@overload
def leaky_relu(x: Value, slope: Value | Number = ...) -> Value: ...
@overload
def leaky_relu(x: Number, slope: Number = ...) -> float: ...
def leaky_relu(x, slope=0.01):  # type: ignore[no-untyped-def]
    """x for x > 0, slope * x otherwise (PyTorch's convention at 0: derivative = slope)."""
    return LEAKY_RELU(x, slope)


@overload
def abs(x: Value) -> Value: ...
@overload
def abs(x: Number) -> float: ...
def abs(x):  # type: ignore[no-untyped-def]
    """Absolute value; its derivative at 0 is 0, as in PyTorch."""
    return ABS(x)


@overload
def sin(x: Value) -> Value: ...
@overload
def sin(x: Number) -> float: ...
def sin(x):  # type: ignore[no-untyped-def]
    """Sine (radians)."""
    return SIN(x)


@overload
def cos(x: Value) -> Value: ...
@overload
def cos(x: Number) -> float: ...
def cos(x):  # type: ignore[no-untyped-def]
    """Cosine (radians)."""
    return COS(x)


@overload
def power(base: Value, exponent: Value | Number) -> Value: ...
@overload
def power(base: Number, exponent: Value) -> Value: ...
@overload
def power(base: Number, exponent: Number) -> float: ...
def power(base, exponent):  # type: ignore[no-untyped-def]
    """base ** exponent; a negative base needs an integer exponent."""
    return POW(base, exponent)


@overload
def maximum(x: Value, y: Value | Number) -> Value: ...
@overload
def maximum(x: Number, y: Value) -> Value: ...
@overload
def maximum(x: Number, y: Number) -> float: ...
def maximum(x, y):  # type: ignore[no-untyped-def]
    """The larger of x and y; at a tie each gets half of the gradient (as torch.maximum)."""
    return MAXIMUM(x, y)
