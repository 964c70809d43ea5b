"""Optimizers against their update equations worked by hand, and the schedules."""

from __future__ import annotations

import math

import pytest

from chainrule.engine import NonFiniteError, Value
from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    AdamW,
    ConfigurationError,
    CosineDecay,
    ExponentialDecay,
    LinearDecay,
    StepDecay,
)

START = [1.0, -2.0, 0.5]
# The gradient each parameter sees at steps 1, 2 and 3 (set by hand, as backward() would).
GRADS = [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0], [-0.75, 0.125, 0.5]]


def _run(make_optimizer, steps: int = 3) -> list[list[float]]:
    params = [Value(x) for x in START]
    optimizer = make_optimizer(params)
    trajectory = []
    for grads in GRADS[:steps]:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
        trajectory.append([p.data for p in params])
    return trajectory


def test_sgd_first_step_by_hand() -> None:
    # p - lr * g: 1 - 0.1 * 0.5, -2 - 0.1 * -1, 0.5 - 0.1 * 2
    assert _run(lambda ps: SGD(ps, lr=0.1), steps=1) == [[0.95, -1.9, 0.3]]


def test_sgd_plain() -> None:
    expected, p = [], list(START)
    for g in GRADS:
        p = [pi - 0.1 * gi for pi, gi in zip(p, g, strict=True)]
        expected.append(p)
    assert _run(lambda ps: SGD(ps, lr=0.1)) == expected


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_sgd_momentum_nesterov_weight_decay(nesterov: bool, weight_decay: float) -> None:
    lr, mu = 0.1, 0.9
    expected, p, buf = [], list(START), None
    for g in GRADS:
        g = [gi + weight_decay * pi for gi, pi in zip(g, p, strict=True)]
        buf = g if buf is None else [mu * b + gi for b, gi in zip(buf, g, strict=True)]
        step = [gi + mu * b for gi, b in zip(g, buf, strict=True)] if nesterov else buf
        p = [pi - lr * s for pi, s in zip(p, step, strict=True)]
        expected.append(p)
    actual = _run(lambda ps: SGD(ps, lr=lr, momentum=mu, weight_decay=weight_decay,
                                 nesterov=nesterov))
    for a, e in zip(actual, expected, strict=True):
        assert a == pytest.approx(e, rel=1e-15, abs=1e-16)


def test_sgd_momentum_second_step_by_hand() -> None:
    # step 1: b = g = 0.5, p = 1 - 0.1 * 0.5 = 0.95
    # step 2: b = 0.9 * 0.5 + 0.25 = 0.7, p = 0.95 - 0.1 * 0.7 = 0.88
    trajectory = _run(lambda ps: SGD(ps, lr=0.1, momentum=0.9), steps=2)
    assert trajectory[0][0] == pytest.approx(0.95)
    assert trajectory[1][0] == pytest.approx(0.88)


def test_sgd_dampening() -> None:
    # b1 = g1 (no dampening on the first step); b2 = 0.9 * b1 + (1 - 0.5) * g2
    trajectory = _run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.5), steps=2)
    b2 = 0.9 * 0.5 + 0.5 * 0.25
    assert trajectory[1][0] == pytest.approx(0.95 - 0.1 * b2)


def _adam_reference(lr, betas, eps, weight_decay, decoupled) -> list[list[float]]:
    b1, b2 = betas
    p, m, v, expected = list(START), [0.0] * 3, [0.0] * 3, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = [pi * (1 - lr * weight_decay) for pi in p]
        elif weight_decay:
            g = [gi + weight_decay * pi for gi, pi in zip(g, p, strict=True)]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        m_hat = [mi / (1 - b1**t) for mi in m]
        v_hat = [vi / (1 - b2**t) for vi in v]
        p = [pi - lr * mh / (math.sqrt(vh) + eps) for pi, mh, vh in zip(p, m_hat, v_hat, strict=True)]
        expected.append(p)
    return expected


def test_adam_first_step_moves_each_parameter_by_lr() -> None:
    # m_hat = g and v_hat = g^2 after one step, so the update is lr * g / (|g| + eps).
    (first,) = _run(lambda ps: Adam(ps, lr=0.01), steps=1)
    for p, start, g in zip(first, START, GRADS[0], strict=True):
        assert p == pytest.approx(start - 0.01 * g / (abs(g) + 1e-8), rel=1e-15)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_the_equations(weight_decay: float) -> None:
    expected = _adam_reference(0.01, (0.9, 0.999), 1e-8, weight_decay, decoupled=False)
    actual = _run(lambda ps: Adam(ps, lr=0.01, weight_decay=weight_decay))
    for a, e in zip(actual, expected, strict=True):
        assert a == pytest.approx(e, rel=1e-14)


def test_adamw_matches_the_equations_with_decoupled_decay() -> None:
    expected = _adam_reference(0.01, (0.9, 0.999), 1e-8, 0.01, decoupled=True)
    actual = _run(lambda ps: AdamW(ps, lr=0.01))
    for a, e in zip(actual, expected, strict=True):
        assert a == pytest.approx(e, rel=1e-14)
    # Decoupled decay differs from Adam's L2 penalty.
    assert actual != _run(lambda ps: Adam(ps, lr=0.01, weight_decay=0.01))


def test_pytorch_defaults() -> None:
    params = [Value(1.0)]
    adam, adamw, sgd = Adam(params), AdamW(params), SGD(params)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (0.001, (0.9, 0.999), 1e-8, 0.0)
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (0.001, (0.9, 0.999), 1e-8, 0.01)
    assert (sgd.lr, sgd.momentum, sgd.dampening, sgd.weight_decay, sgd.nesterov) == (
        0.01, 0.0, 0.0, 0.0, False)


def test_zero_grad_and_step_count_and_module_parameters() -> None:
    model = MLP(2, [3, 1], seed=0)
    optimizer = Adam(model, lr=0.1)  # a Module is accepted in place of its parameters
    assert optimizer.params == model.parameters()
    model([1.0, 2.0]).backward()
    optimizer.step()
    assert optimizer.steps == 1
    optimizer.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_step_that_would_overflow_raises_and_changes_nothing() -> None:
    params = [Value(1.0), Value(1e308)]
    optimizer = SGD(params, lr=1.0)
    params[0].grad, params[1].grad = 1.0, -1e308
    with pytest.raises(NonFiniteError, match=r"SGD.step: parameter 1 .* would become inf"):
        optimizer.step()
    assert [p.data for p in params] == [1.0, 1e308]
    assert optimizer.steps == 0


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf"), "0.1", None])
@pytest.mark.parametrize("optimizer", [SGD, Adam, AdamW])
def test_learning_rate_must_be_positive_and_finite(optimizer, lr) -> None:
    with pytest.raises(ConfigurationError, match=f"{optimizer.__name__}: learning rate lr must be"):
        optimizer([Value(1.0)], lr=lr)


def test_schedules_cannot_set_a_bad_learning_rate() -> None:
    optimizer = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ConfigurationError, match="positive finite number, got 0"):
        optimizer.lr = 0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SGD([], lr=0.1), "SGD: got an empty parameter list"),
        (lambda: SGD([1.0], lr=0.1), "SGD: parameters must be Values, item 0 is float"),
        (lambda: (lambda v: SGD([v, v], lr=0.1))(Value(1.0)), "appears more than once"),
        (lambda: SGD([Value(1.0)], nesterov=True), "nesterov momentum needs momentum > 0"),
        (lambda: SGD([Value(1.0)], momentum=-0.5), "momentum must be >= 0"),
        (lambda: Adam([Value(1.0)], betas=(0.9, 1.0)), r"beta2 must lie in \[0, 1\)"),
        (lambda: Adam([Value(1.0)], betas=0.9), "betas must be a pair"),
        (lambda: Adam([Value(1.0)], eps=-1.0), "eps must be >= 0"),
        (lambda: AdamW([Value(1.0)], weight_decay=float("nan")), "weight_decay must be a finite"),
    ],
)
def test_bad_optimizer_settings_are_named(build, message: str) -> None:
    with pytest.raises((ConfigurationError, TypeError), match=message):
        build()


def test_linear_decay_is_micrographs_schedule() -> None:
    schedule = LinearDecay(1.0, 0.1, 100)
    assert [schedule(k) for k in range(100)] == [1.0 - 0.9 * k / 100 for k in range(100)]
    assert schedule(100) == schedule(500) == pytest.approx(0.1)


def test_other_schedules() -> None:
    assert [StepDecay(1.0, 2, 0.5)(k) for k in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert ExponentialDecay(0.1, 0.9)(3) == pytest.approx(0.1 * 0.9**3)
    cosine = CosineDecay(1.0, 0.01, 10)
    assert cosine(0) == 1.0
    assert cosine(5) == pytest.approx((1.0 + 0.01) / 2)
    assert cosine(10) == cosine(99) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LinearDecay(1.0, 0.0, 10), "LinearDecay: end must be a positive finite number"),
        (lambda: LinearDecay(1.0, 0.1, 0), "LinearDecay: steps must be a positive integer"),
        (lambda: StepDecay(1.0, 0), "StepDecay: every must be a positive integer"),
        (lambda: CosineDecay(float("inf"), 0.1, 5), "CosineDecay: start must be a finite"),
        (lambda: LinearDecay(1.0, 0.1, 10)(-1), "LinearDecay: step must be an integer >= 0"),
    ],
)
def test_bad_schedules_are_named(build, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()
