"""Hypothesis strategies, one per operation's domain.

Each keeps its examples away from kinks (relu and abs at 0) and domain edges (log and sqrt at 0,
division by 0, log1p at -1) by at least 1e-2, which is 10,000 times the finite-difference step
at those points: hypothesis favours boundaries and tiny values, so a plain ``floats(-10, 10)``
would put a quarter of its examples within 1e-6 of the kink.
"""

from __future__ import annotations

from hypothesis import strategies as st

MARGIN = 1e-2


def reals(low: float = -10.0, high: float = 10.0) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(limit: float = 10.0, margin: float = MARGIN) -> st.SearchStrategy[float]:
    return reals(margin, limit) | reals(-limit, -margin)


def positive(low: float = MARGIN, high: float = 100.0) -> st.SearchStrategy[float]:
    return reals(low, high)


#: For each primitive, a strategy per input that keeps the gradient check well-posed.
DOMAINS: dict[str, tuple[st.SearchStrategy[float], ...]] = {
    "add": (reals(), reals()),
    "sub": (reals(), reals()),
    "mul": (reals(), reals()),
    "div": (reals(), away_from_zero(margin=0.1)),
    "pow": (positive(0.1, 10.0), reals(-3.0, 3.0)),
    "neg": (reals(),),
    "exp": (reals(-20.0, 20.0),),
    "log": (positive(),),
    "log1p": (reals(-1.0 + MARGIN, 100.0),),
    "sqrt": (positive(),),
    "tanh": (reals(-20.0, 20.0),),
    "sigmoid": (reals(-30.0, 30.0),),
    "softplus": (reals(-30.0, 30.0),),
    "log_sigmoid": (reals(-30.0, 30.0),),
    "relu": (away_from_zero(),),
    "leaky_relu": (away_from_zero(), reals(0.0, 1.0)),
    "abs": (away_from_zero(),),
    "sin": (reals(-10.0, 10.0),),
    "cos": (reals(-10.0, 10.0),),
    "tan": (reals(-1.2, 1.2),),  # away from the poles at +-pi/2
    # |x| >= 1e-2 > |y|: never a tie, and either input can be the larger.
    "maximum": (away_from_zero(), reals(-0.005, 0.005)),
}
