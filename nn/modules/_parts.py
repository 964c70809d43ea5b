"""What the sequence modules share: initialisers and parameter matrices."""

from __future__ import annotations

import math
from collections.abc import Callable

from chainrule.engine import Value

from .._checks import finite_float
from ..errors import ConfigurationError
from ..module import RandomSource


def normal_init(std: float, what: str) -> Callable[[RandomSource], float]:
    """Draws from N(0, std), as microgpt and GPT-2 initialise their weights."""
    std = finite_float(std, what)
    if std < 0.0:
        raise ConfigurationError(f"{what} must be >= 0, got {std!r}")
    return lambda rng: rng.gauss(0.0, std)


def uniform_init(bound: float) -> Callable[[RandomSource], float]:
    return lambda rng: rng.uniform(-bound, bound)


def matrix(
    rng: RandomSource, rows: int, cols: int, draw: Callable[[RandomSource], float], letter: str
) -> list[list[Value]]:
    """A ``rows x cols`` list of leaf Values drawn row by row, labelled ``{letter}{row}.{col}``."""
    return [[Value(draw(rng), label=f"{letter}{r}.{c}") for c in range(cols)] for r in range(rows)]


def inverse_sqrt(n: int) -> float:
    return 1.0 / math.sqrt(n)
