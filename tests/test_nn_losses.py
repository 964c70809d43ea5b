"""Losses: values against their formulas, gradients against finite differences, stability at
extreme inputs, and clear errors for labels outside each loss's domain."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chainrule.engine import DomainError, Value, topological_order
from chainrule.nn import (
    DataError,
    ShapeError,
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)
from chainrule.nn.errors import ConfigurationError

from support.nn import assert_gradients_match

_logits = st.floats(-8.0, 8.0, allow_nan=False)
_probabilities = st.floats(0.02, 0.98)
_targets01 = st.sampled_from([0.0, 1.0, 0.25, 0.7])


def _values(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


# -- values ------------------------------------------------------------------------------------


def test_mse_value_and_reductions() -> None:
    p = _values([0.5, 2.0, -1.0])
    assert mse(p, [1.0, 2.0, 1.0]).data == pytest.approx((0.25 + 0 + 4) / 3, abs=1e-15)
    assert mse(p, [1.0, 2.0, 1.0], reduction="sum").data == pytest.approx(4.25, abs=1e-15)
    assert mse(Value(3.0), 1.0).data == 4.0


def test_mse_with_several_outputs_averages_every_element() -> None:
    predictions = [_values([1.0, 2.0]), _values([0.0, 0.0])]
    assert mse(predictions, [[1.0, 0.0], [1.0, 1.0]]).data == pytest.approx((0 + 4 + 1 + 1) / 4)


def test_bce_value_matches_formula() -> None:
    p, y = [0.9, 0.2, 0.6], [1.0, 0.0, 0.3]
    expected = -sum(t * math.log(q) + (1 - t) * math.log(1 - q) for q, t in zip(p, y, strict=True)) / 3
    assert binary_cross_entropy(_values(p), y).data == pytest.approx(expected, rel=1e-14)


def test_bce_clamps_logs_at_minus_100_like_pytorch() -> None:
    assert binary_cross_entropy(Value(0.0), 1.0).data == 100.0
    assert binary_cross_entropy(Value(1.0), 0.0).data == 100.0
    assert binary_cross_entropy(Value(1e-50), 1.0).data == 100.0  # log(1e-50) = -115 -> -100
    assert binary_cross_entropy(Value(1e-40), 1.0).data == pytest.approx(-math.log(1e-40))
    assert binary_cross_entropy(Value(0.0), 0.0).data == 0.0
    # Soft label on a saturated prediction: 0.3 * 100 + 0.7 * -log(1 - 0) = 30.
    assert binary_cross_entropy(Value(0.0), 0.3).data == pytest.approx(30.0)
    loss = binary_cross_entropy(Value(0.0), 1.0)
    loss.backward()
    assert math.isfinite(loss.grad)


def test_bce_on_tiny_probability_uses_log1p() -> None:
    # log(1 - 1e-17) rounds to 0; log1p(-1e-17) keeps the -1e-17.
    assert binary_cross_entropy(Value(1e-17), 0.0).data == pytest.approx(1e-17, rel=1e-12)


@pytest.mark.parametrize("x", [-1000.0, -50.0, 0.0, 37.0, 800.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.4])
def test_bce_with_logits_is_exact_and_stable_at_any_score(x: float, y: float) -> None:
    v = Value(x)
    loss = bce_with_logits(v, y)

    def softplus(t: float) -> float:
        return max(t, 0.0) + math.log1p(math.exp(-abs(t)))

    # softplus(x) - x*y, written without cancellation (softplus(x) - x = softplus(-x)).
    expected = (1 - y) * softplus(x) + y * softplus(-x)
    assert loss.data == pytest.approx(expected, rel=1e-14, abs=1e-300)
    loss.backward()
    def sigmoid(t: float) -> float:
        return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))

    # sigmoid(x) - y, again without cancellation: (1 - y) sigmoid(x) - y sigmoid(-x).
    assert v.grad == pytest.approx((1 - y) * sigmoid(x) - y * sigmoid(-x), rel=1e-12, abs=1e-300)
    assert v.grad == pytest.approx(sigmoid(x) - y, rel=1e-12, abs=1e-15)


def test_bce_with_logits_keeps_tiny_losses() -> None:
    # softplus(37) - 37 would round to 0; the loss is log1p(exp(-37)).
    assert bce_with_logits(Value(37.0), 1.0).data == pytest.approx(math.log1p(math.exp(-37.0)),
                                                                   rel=1e-14)


def test_hinge_value_as_micrograd() -> None:
    scores = _values([2.0, 0.5, -0.3])
    assert hinge(scores, [1, 1, 1]).data == pytest.approx((0 + 0.5 + 1.3) / 3)
    assert hinge(scores, [-1, -1, -1]).data == pytest.approx((3 + 1.5 + 0.7) / 3)


def test_softmax_and_log_softmax() -> None:
    logits = _values([1.0, 2.0, 3.0])
    probabilities = softmax(logits)
    reference = [math.exp(z) / sum(math.exp(w) for w in (1, 2, 3)) for z in (1, 2, 3)]
    assert [p.data for p in probabilities] == pytest.approx(reference, rel=1e-14)
    assert sum(p.data for p in probabilities) == pytest.approx(1.0, abs=1e-15)
    assert [v.data for v in log_softmax(logits)] == pytest.approx([math.log(r) for r in reference])


def test_softmax_and_cross_entropy_do_not_overflow() -> None:
    logits = _values([1000.0, 0.0, -1000.0])
    assert [p.data for p in softmax(logits)] == [1.0, 0.0, 0.0]
    assert cross_entropy(logits, 0).data == 0.0
    assert cross_entropy(logits, 2).data == pytest.approx(2000.0)


def test_cross_entropy_value_single_and_batch() -> None:
    logits = [_values([1.0, 2.0, 0.5]), _values([0.0, 0.0, 3.0])]
    single = [-math.log(math.exp(2.0) / (math.exp(1) + math.exp(2) + math.exp(0.5))),
              -math.log(math.exp(3.0) / (2 + math.exp(3)))]
    assert cross_entropy(logits[0], 1).data == pytest.approx(single[0], rel=1e-14)
    assert cross_entropy(logits, [1, 2]).data == pytest.approx(sum(single) / 2, rel=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_onehot() -> None:
    logits = _values([0.3, -1.2, 2.5, 0.0])
    cross_entropy(logits, 2).backward()
    probabilities = [p.data for p in softmax([z.data for z in logits])]
    onehot = [0, 0, 1, 0]
    assert [z.grad for z in logits] == pytest.approx(
        [p - t for p, t in zip(probabilities, onehot, strict=True)], abs=1e-15
    )


def test_l2_penalty() -> None:
    params = _values([1.0, -2.0, 0.5])
    penalty = l2_penalty(params, 1e-4)
    assert penalty.data == pytest.approx(1e-4 * 5.25)
    penalty.backward()
    assert [p.grad for p in params] == pytest.approx([2e-4, -4e-4, 1e-4])


def test_losses_are_graphs_of_engine_operations() -> None:
    """Every node of a loss is a primitive the engine knows, so it can be drawn and explained."""
    from chainrule.engine import PRIMITIVES
    from chainrule.engine.primitives import FAMILIES

    logits = _values([0.1, 0.2])
    for loss in (mse(logits, [0.0, 1.0]), bce_with_logits(logits, [0, 1]),
                 binary_cross_entropy(softmax(logits), [0, 1]), hinge(logits, [-1, 1]),
                 cross_entropy(logits, 1)):
        ops = {node.op for node in topological_order(loss)}
        assert ops <= set(PRIMITIVES) | set(FAMILIES) | {"const", None}


# -- gradients (hypothesis) --------------------------------------------------------------------


@given(st.lists(_logits, min_size=1, max_size=4), st.data())
def test_mse_gradient(xs: list[float], data: st.DataObject) -> None:
    targets = data.draw(st.lists(_logits, min_size=len(xs), max_size=len(xs)))
    assert_gradients_match(lambda v: mse(v, targets), xs)


@given(st.lists(_probabilities, min_size=1, max_size=4), st.data())
def test_binary_cross_entropy_gradient(ps: list[float], data: st.DataObject) -> None:
    targets = data.draw(st.lists(_targets01, min_size=len(ps), max_size=len(ps)))
    assert_gradients_match(lambda v: binary_cross_entropy(v, targets), ps)


@given(st.lists(st.floats(-30.0, 30.0), min_size=1, max_size=4), st.data())
def test_bce_with_logits_gradient(xs: list[float], data: st.DataObject) -> None:
    targets = data.draw(st.lists(_targets01, min_size=len(xs), max_size=len(xs)))
    assert_gradients_match(lambda v: bce_with_logits(v, targets), xs)


@given(st.lists(_logits, min_size=1, max_size=4), st.data())
def test_hinge_gradient_away_from_the_kink(xs: list[float], data: st.DataObject) -> None:
    targets = data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(xs), max_size=len(xs)))
    assume(all(abs(1 - x * t) > 1e-3 for x, t in zip(xs, targets, strict=True)))
    assert_gradients_match(lambda v: hinge(v, targets), xs)


@given(st.lists(_logits, min_size=2, max_size=5), st.data())
def test_cross_entropy_gradient(xs: list[float], data: st.DataObject) -> None:
    target = data.draw(st.integers(0, len(xs) - 1))
    assert_gradients_match(lambda v: cross_entropy(v, target), xs)


@given(st.lists(_logits, min_size=2, max_size=5), st.data())
def test_softmax_gradient(xs: list[float], data: st.DataObject) -> None:
    k = data.draw(st.integers(0, len(xs) - 1))
    assert_gradients_match(lambda v: softmax(v)[k], xs)


@given(st.lists(_logits, min_size=1, max_size=5), st.floats(0.0, 1.0))
def test_l2_penalty_gradient(xs: list[float], alpha: float) -> None:
    assert_gradients_match(lambda v: l2_penalty(v, alpha), xs)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: hinge(_values([0.5, 0.1]), [1, 0]),
         DataError, r"hinge: target 1 must be -1 or \+1, got 0 \(map 0/1 labels with 2\*y - 1\)"),
        (lambda: binary_cross_entropy(_values([0.5]), [2.0]),
         DataError, r"binary_cross_entropy: target 0 must lie in \[0, 1\].*got 2.0"),
        (lambda: bce_with_logits(_values([0.5]), [-1]),
         DataError, r"bce_with_logits: target 0 must lie in \[0, 1\]"),
        (lambda: binary_cross_entropy(_values([0.2, 1.5]), [0, 1]),
         DomainError, r"prediction 1 is 1.5, not a probability in \[0, 1\].*bce_with_logits"),
        (lambda: cross_entropy([_values([0.1, 0.2])], [2]),
         DataError, r"target 0 is class 2, but there are 2 logits \(classes 0 to 1\)"),
        (lambda: cross_entropy([_values([0.1, 0.2])], [0.5]),
         DataError, r"target 0 must be a class index \(an integer\), got 0.5"),
        (lambda: cross_entropy([_values([0.1, 0.2])], [True]),
         DataError, "must be a class index"),
        (lambda: mse(_values([0.1, 0.2]), [1.0, float("nan")]),
         DataError, "mse: target 1 must be a finite number, got nan"),
        (lambda: mse(_values([0.1, 0.2]), [1.0]),
         ShapeError, "mse: 2 predictions but 1 targets"),
        (lambda: mse([], []), DataError, "mse: no predictions"),
        (lambda: mse([_values([1.0, 2.0])], [[1.0]]), ShapeError, "sample 0 .* differ in shape"),
        (lambda: hinge(["a"], [1]), ShapeError, "hinge: prediction 0 must be a Value or a number"),
        (lambda: mse(_values([0.1]), [0.0], reduction="max"),
         ConfigurationError, "unknown mse reduction 'max'"),
        (lambda: l2_penalty([], 0.1), DataError, "l2_penalty: no parameters"),
        (lambda: l2_penalty(_values([1.0]), -1.0), ConfigurationError, "alpha must be >= 0"),
        (lambda: softmax([]), ShapeError, "softmax: sample 0 has no logits"),
    ],
)
def test_bad_input_is_named(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_loss_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        hinge(_values([0.5]), [0])
