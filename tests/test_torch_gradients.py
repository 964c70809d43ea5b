"""chainrule's gradients against PyTorch's autograd, in float64: first and second derivatives.

Every primitive is mapped to its PyTorch function below (a new primitive without a mapping fails
the first test), and random expression graphs built from all of them, with shared
subexpressions, are differentiated twice on both sides. Agreement is to 1e-12, relative to the
size of the derivatives being compared: the two sides compute the same formulas, in possibly
different summation orders and with transcendental functions that may differ in the last bit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.engine import PRIMITIVES, Value, gradients
from chainrule.engine.primitives import DOT, FAMILIES, SUM

from support.strategies import DOMAINS, reals

if os.environ.get("CI"):
    import torch  # `make test` installs torch==2.13.0: in CI a missing torch fails, never skips
else:
    torch = pytest.importorskip("torch")
# One thread: these tensors are tiny, and on a shared 2-core machine torch's worker threads only
# spin (cross-entropy steps cost 10x more CPU with them).
torch.set_num_threads(1)
F = torch.nn.functional
P = PRIMITIVES
REL = 1e-12


def _leaky_relu(x: Any, slope: Any) -> Any:
    # F.leaky_relu takes its slope as a plain number; chainrule's slope is an input with a
    # gradient, so the same function is written with torch.where (identical at the kink:
    # x = 0 takes the slope branch in both).
    return torch.where(x > 0, x, slope * x)


#: Each chainrule primitive and the PyTorch function that computes the same thing.
TORCH: dict[str, Callable[..., Any]] = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x**y,
    "neg": lambda x: -x,
    "exp": torch.exp,
    "log": torch.log,
    "log1p": torch.log1p,
    "sqrt": torch.sqrt,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
    "log_sigmoid": F.logsigmoid,
    "relu": torch.relu,
    "leaky_relu": _leaky_relu,
    "abs": torch.abs,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "maximum": torch.maximum,
    # The n-ary operations, on their operands in input order (weights, then inputs).
    "dot": lambda *o: torch.dot(torch.stack(o[:len(o) // 2]), torch.stack(o[len(o) // 2:])),
    "sum": lambda *o: torch.stack(o).sum(),
}
#: chainrule's side of the same table: the primitives, and the n-ary operations called on
#: their operands in input order.
OURS: dict[str, Callable[..., Any]] = {
    **PRIMITIVES,
    "dot": lambda *o: DOT.apply(o[:len(o) // 2], o[len(o) // 2:]),
    "sum": lambda *o: SUM.apply(o),
}
#: PyTorch's derivative of x ** y in x is masked to 0 where y == 0 (``torch.where``), so its
#: mixed second derivative d/dy d/dx there is 0; the true value, which chainrule gives, is 1 / x.
#: Comparisons keep y away from exactly 0 (see the test that pins the difference down).
#: PyTorch's softplus returns x itself (slope 1) above this input (``threshold=20``), where
#: chainrule computes softplus exactly: the two differ there by up to exp(-20) ~ 2e-9.
SOFTPLUS_THRESHOLD = 20.0


def test_every_primitive_has_a_torch_counterpart_and_a_graph_step() -> None:
    missing = sorted((set(P) | set(FAMILIES)) - set(TORCH))
    assert not missing, f"map these primitives to their torch function in TORCH: {missing}"
    assert not sorted((set(P) | set(FAMILIES)) - set(STEPS)), "give every primitive a step in STEPS"
    assert set(OURS) == set(TORCH)
    assert set(DOMAINS) == set(P)


# -- the derivatives of a function of a few inputs, on both sides ----------------------------


def chainrule_derivatives(
    f: Callable[..., Any], point: list[float]
) -> tuple[float, list[float], list[list[float]]]:
    leaves = [Value(v) for v in point]
    out = f(*leaves)
    first = gradients(out, leaves, create_graph=True)
    second = [
        gradients(g, leaves) if isinstance(g, Value) else [0.0] * len(leaves) for g in first
    ]
    return out.data, [float(getattr(g, "data", g)) for g in first], second


def torch_derivatives(
    f: Callable[..., Any], point: list[float]
) -> tuple[float, list[float], list[list[float]]]:
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    out = f(*leaves)
    first = torch.autograd.grad(out, leaves, create_graph=True, materialize_grads=True)
    second = [
        [h.item() for h in torch.autograd.grad(g, leaves, retain_graph=True, allow_unused=True,
                                               materialize_grads=True)]
        if g.requires_grad else [0.0] * len(leaves)
        for g in first
    ]
    return out.item(), [g.item() for g in first], second


def assert_close(ours: list[float], theirs: list[float], what: str) -> None:
    """Entry by entry to 1e-12 relative, with an absolute floor of 1e-12 of the largest entry
    (a sum that cancels to near 0 keeps the rounding of its largest terms)."""
    floor = REL * max(1.0, *map(abs, ours), *map(abs, theirs))
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert abs(a - b) <= REL * max(abs(a), abs(b)) + floor, (
            f"{what}[{i}]: chainrule {a!r} vs torch {b!r} (difference {abs(a - b):.3g})"
        )


def assert_same_derivatives(
    ours: Callable[..., Any], theirs: Callable[..., Any], point: list[float], what: str
) -> None:
    value_c, first_c, second_c = chainrule_derivatives(ours, point)
    value_t, first_t, second_t = torch_derivatives(theirs, point)
    assert_close([value_c], [value_t], f"{what}: value")
    assert_close(first_c, first_t, f"{what}: gradient")
    assert_close([h for row in second_c for h in row], [h for row in second_t for h in row],
                 f"{what}: second derivatives")


# -- one primitive at a time, over its whole test domain --------------------------------------


@pytest.mark.parametrize("name", sorted(P))
@settings(max_examples=25)
@given(data=st.data())
def test_each_primitive_matches_torch_to_second_order(name: str, data: st.DataObject) -> None:
    point = [data.draw(domain) for domain in DOMAINS[name]]
    if name == "softplus":
        assume(abs(point[0]) <= SOFTPLUS_THRESHOLD)
    if name == "pow":
        assume(point[1] != 0.0)
    assert_same_derivatives(P[name], TORCH[name], point, f"{name}{tuple(point)}")


def test_kink_conventions_agree_with_torch() -> None:
    for name, point in [("relu", [0.0]), ("abs", [0.0]), ("leaky_relu", [0.0, 0.2])]:
        assert_same_derivatives(P[name], TORCH[name], point, f"{name} at its kink")


def test_maximum_splits_a_tie_like_torch_in_backward() -> None:
    a, b = Value(1.5), Value(1.5)
    P["maximum"](a, b).backward()
    _, first_t, _ = torch_derivatives(TORCH["maximum"], [1.5, 1.5])
    assert [a.grad, b.grad] == first_t == [0.5, 0.5]


def test_maximum_splits_a_tie_like_torch_with_create_graph() -> None:
    assert_same_derivatives(P["maximum"], TORCH["maximum"], [1.5, 1.5], "maximum at a tie")


def test_softplus_differs_from_torch_only_above_its_threshold_of_20() -> None:
    # Documented difference: torch's softplus is x itself above 20; chainrule's stays exact.
    for x in (20.5, 25.0, 30.0):
        value_c, (slope_c,), _ = chainrule_derivatives(P["softplus"], [x])
        value_t, (slope_t,), _ = torch_derivatives(TORCH["softplus"], [x])
        assert value_t == x and slope_t == 1.0
        assert value_c == pytest.approx(x + math.log1p(math.exp(-x)), rel=1e-15)
        assert slope_c == pytest.approx(1.0 - math.exp(-x), rel=1e-15) and slope_c < 1.0


def test_pow_at_exponent_zero_differs_from_torch_in_the_mixed_second_derivative() -> None:
    # d/dy (y x^(y-1)) = x^(y-1) (1 + y log x), which is 1/x at y = 0: chainrule gives it, and
    # so does torch an ulp away from 0; at exactly 0 torch's masked derivative gives 0.
    _, _, second_c = chainrule_derivatives(P["pow"], [2.0, 0.0])
    _, _, second_t = torch_derivatives(TORCH["pow"], [2.0, 0.0])
    _, _, near_t = torch_derivatives(TORCH["pow"], [2.0, 1e-300])
    assert second_c[0][1] == second_c[1][0] == 0.5 == near_t[0][1]
    assert second_t[0][1] == 0.0


# -- random graphs over every primitive ------------------------------------------------------

# Each step applies its primitive (the key) to earlier nodes, shifted where needed so that the
# input lies in the domain; ``ops`` is the primitive table of either side. Guards reject the
# rare example that lands within 1e-6 of a kink, where rounding could put the two sides on
# different branches, or beyond torch's softplus threshold.
Step = tuple[int, Callable[..., Any], Callable[..., bool] | None]
STEPS: dict[str, Step] = {
    "add": (2, lambda o, x, y: o["add"](x, y), None),
    "sub": (2, lambda o, x, y: o["sub"](x, y), None),
    "mul": (2, lambda o, x, y: o["mul"](x, y), None),
    "div": (2, lambda o, x, y: o["div"](x, o["add"](2.0, o["sin"](y))), None),
    "pow": (2, lambda o, x, y: o["pow"](o["add"](1.5, o["sin"](x)), o["tanh"](y)),
            lambda x, y: y != 0.0),
    "neg": (1, lambda o, x: o["neg"](x), None),
    "exp": (1, lambda o, x: o["exp"](x), lambda x: x <= 20.0),
    "log": (1, lambda o, x: o["log"](o["add"](0.5, o["mul"](x, x))), None),
    "log1p": (1, lambda o, x: o["log1p"](o["mul"](x, x)), None),
    "sqrt": (1, lambda o, x: o["sqrt"](o["add"](0.5, o["mul"](x, x))), None),
    "tanh": (1, lambda o, x: o["tanh"](x), None),
    "sigmoid": (1, lambda o, x: o["sigmoid"](x), None),
    "softplus": (1, lambda o, x: o["softplus"](x), lambda x: abs(x) <= SOFTPLUS_THRESHOLD),
    "log_sigmoid": (1, lambda o, x: o["log_sigmoid"](x), None),
    "relu": (1, lambda o, x: o["relu"](x), lambda x: abs(x) >= 1e-6),
    "leaky_relu": (2, lambda o, x, y: o["leaky_relu"](x, o["sigmoid"](y)),
                   lambda x, y: abs(x) >= 1e-6),
    "abs": (1, lambda o, x: o["abs"](x), lambda x: abs(x) >= 1e-6),
    "sin": (1, lambda o, x: o["sin"](x), None),
    "cos": (1, lambda o, x: o["cos"](x), None),
    "tan": (1, lambda o, x: o["tan"](o["mul"](0.5, o["sin"](x))), None),  # |input| <= 1/2
    "maximum": (2, lambda o, x, y: o["maximum"](x, y), lambda x, y: abs(x - y) >= 1e-6),
    "dot": (4, lambda o, w1, w2, x1, x2: o["dot"](w1, w2, x1, x2), None),
    "sum": (3, lambda o, a, b, c: o["sum"](a, b, c), None),
}
Recipe = tuple[list[float], list[tuple[str, tuple[int, ...]]]]


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    """Leaf values and steps naming earlier nodes as operands (with reuse: fan-out, ``x * x``)."""
    leaves = draw(st.lists(reals(-2.0, 2.0), min_size=1, max_size=3))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        name = draw(st.sampled_from(sorted(STEPS)))
        operands = tuple(draw(st.integers(0, len(leaves) + k - 1)) for _ in range(STEPS[name][0]))
        steps.append((name, operands))
    return leaves, steps


def build(recipe_steps: list[tuple[str, tuple[int, ...]]], ops: Any) -> Callable[..., Any]:
    """The recipe as a function of its leaves; the output sums every step (all of them matter)."""

    def f(*leaves: Any) -> Any:
        nodes = list(leaves)
        for name, operands in recipe_steps:
            nodes.append(STEPS[name][1](ops, *(nodes[i] for i in operands)))
        total = nodes[len(leaves)]
        for node in nodes[len(leaves) + 1:]:
            total = ops["add"](total, node)
        return total

    return f


def well_posed(recipe: Recipe) -> bool:
    """Every guard holds and every node stays moderate (no overflow, no branch near a kink)."""
    values, recipe_steps = recipe
    nodes = list(values)
    for name, operands in recipe_steps:
        args = [nodes[i] for i in operands]
        guard = STEPS[name][2]
        if guard is not None and not guard(*args):
            return False
        try:
            nodes.append(STEPS[name][1](OURS, *args))
        except (ArithmeticError, ValueError):
            return False
        if abs(nodes[-1]) > 1e4:
            return False
    return True


@settings(max_examples=150)
@given(recipes())
def test_random_graphs_match_torch_autograd_to_second_order(recipe: Recipe) -> None:
    assume(well_posed(recipe))
    values, recipe_steps = recipe
    assert_same_derivatives(build(recipe_steps, OURS), build(recipe_steps, TORCH), values,
                            f"graph {recipe_steps} at {values}")
