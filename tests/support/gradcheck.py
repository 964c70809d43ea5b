"""Numerical gradient oracles for the tests (float64).

Central differences use h = 1e-6 * max(1, |x|) and the tolerance
|analytic - numeric| <= 1e-6 + 1e-5 * |numeric| (see the project's field notes). The
complex-step derivative Im(f(x + ih)) / h with h = 1e-20 has no subtractive cancellation, so it
is exact to rounding and is checked with a much tighter tolerance where the function is analytic.
"""

from __future__ import annotations

from collections.abc import Callable

ABS_TOL = 1e-6
REL_TOL = 1e-5


def step_for(x: float) -> float:
    return 1e-6 * max(1.0, abs(x))


def central_difference(f: Callable[[float], float], x: float) -> float:
    h = step_for(x)
    return (f(x + h) - f(x - h)) / (2.0 * h)


def complex_step(f: Callable[[complex], complex], x: float, h: float = 1e-20) -> float:
    return f(complex(x, h)).imag / h


def partial_difference(f: Callable[..., float], args: list[float], index: int) -> float:
    """Central difference of ``f(*args)`` in argument ``index``."""

    def along(t: float) -> float:
        moved = list(args)
        moved[index] = t
        return f(*moved)

    return central_difference(along, args[index])


def assert_gradient_close(analytic: float, numeric: float, what: str = "") -> None:
    error = abs(analytic - numeric)
    limit = ABS_TOL + REL_TOL * abs(numeric)
    assert error <= limit, (
        f"{what}: analytic {analytic!r} vs numeric {numeric!r} (error {error:.3g} > {limit:.3g})"
    )
