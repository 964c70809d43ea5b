"""Argument checks shared by the nn modules; each raises an error that names the argument."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import ConfigurationError


def flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{what} must be True or False, got {value!r:.40}")
    return value


def positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigurationError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def finite_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(f"{what} must be a real number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{what} must be a finite number, got {value!r}")
    return number


def positive_float(value: Any, what: str) -> float:
    number = finite_float(value, what)
    if number <= 0.0:
        raise ConfigurationError(f"{what} must be a positive finite number, got {value!r}")
    return number


def non_negative_float(value: Any, what: str) -> float:
    number = finite_float(value, what)
    if number < 0.0:
        raise ConfigurationError(f"{what} must be >= 0, got {value!r}")
    return number


def fraction(value: Any, what: str, *, closed_low: bool = True) -> float:
    """A number in [0, 1) (or (0, 1) when ``closed_low`` is false)."""
    number = finite_float(value, what)
    if not (0.0 <= number < 1.0) or (not closed_low and number == 0.0):
        interval = "[0, 1)" if closed_low else "(0, 1)"
        raise ConfigurationError(f"{what} must lie in {interval}, got {value!r}")
    return number


def choice(value: Any, options: dict[str, Any] | tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in options:
        known = ", ".join(repr(name) for name in options)
        raise ConfigurationError(f"unknown {what} {value!r}; expected one of {known}")
    return value
