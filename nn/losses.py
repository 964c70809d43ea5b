"""Loss functions, built only from engine operations.

Every loss returns a :class:`~chainrule.engine.Value` whose graph shows how it was computed, so
it can be drawn and stepped through like the model that produced the predictions. The
numerically delicate ones use the stable forms PyTorch uses (see each docstring).

Predictions are Values (or plain numbers, taken as constants); targets are plain numbers.
``predictions`` is one prediction or a sequence of them (one per sample; for a model with several
outputs, one sequence per sample); ``reduction`` is ``"mean"`` (the default) or ``"sum"``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from chainrule.engine import DomainError, Value, add_n, dot

from ._checks import choice, non_negative_float
from .errors import DataError, ShapeError
from .module import Module, iter_parameters

#: log(p) is clamped at this value, as PyTorch's BCELoss does, so that a prediction of exactly
#: 0 or 1 gives a large finite loss instead of infinity.
LOG_CLAMP = -100.0
_REDUCTIONS = ("mean", "sum")


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _as_value(x: Any, loss: str, index: int) -> Value:
    if isinstance(x, Value):
        return x
    if _is_number(x):
        return Value(x)
    raise ShapeError(
        f"{loss}: prediction {index} must be a Value or a number, got {type(x).__name__} {x!r:.60}"
    )


def _target(t: Any, loss: str, index: int) -> Any:
    if isinstance(t, Value):
        return t  # a target that is itself computed (or traced by jit): used as it is
    if not _is_number(t) or not math.isfinite(t):
        raise DataError(f"{loss}: target {index} must be a finite number, got {t!r:.60}")
    return float(t)


def _samples(predictions: Any, targets: Any, loss: str) -> tuple[list[Any], list[Any]]:
    """Predictions and targets as two lists of equal, non-zero length."""
    single = isinstance(predictions, Value) or _is_number(predictions)
    if single:
        predictions = [predictions]
        targets = [targets] if _is_number(targets) or isinstance(targets, Value) else targets
    if not isinstance(predictions, Sequence) or isinstance(predictions, (str, bytes)):
        raise ShapeError(f"{loss}: predictions must be a Value or a sequence of them, "
                         f"got {type(predictions).__name__}")
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise DataError(f"{loss}: targets must be a number or a sequence of numbers, "
                        f"got {type(targets).__name__} {targets!r:.60}")
    if len(predictions) != len(targets):
        raise ShapeError(
            f"{loss}: {len(predictions)} predictions but {len(targets)} targets; "
            f"there must be one target per prediction"
        )
    if not predictions:
        raise DataError(f"{loss}: no predictions (an empty batch has no loss)")
    return list(predictions), list(targets)


def _reduce(terms: list[Any], reduction: str, loss: str) -> Value:
    choice(reduction, _REDUCTIONS, f"{loss} reduction")
    total = add_n(terms) if len(terms) > 1 else terms[0]
    if reduction == "mean" and len(terms) > 1:
        total = total / len(terms)
    # Every term can be a clamped constant (a float); the loss is still a Value.
    return total if isinstance(total, Value) else Value(total)


def mse(predictions: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Mean squared error: mean of ``(prediction - target)^2`` over every output of every sample.

    For a model with several outputs, each sample's prediction and target are sequences of the
    same length.
    """
    predictions, targets = _samples(predictions, targets, "mse")
    terms = []
    for i, (p, t) in enumerate(zip(predictions, targets, strict=True)):
        if isinstance(p, Sequence) or isinstance(t, Sequence):
            if not (isinstance(p, Sequence) and isinstance(t, Sequence)) or len(p) != len(t):
                raise ShapeError(
                    f"mse: sample {i} has prediction {p!r:.60} and target {t!r:.60}, "
                    f"which differ in shape"
                )
            if not p:
                raise ShapeError(f"mse: sample {i} has no outputs")
            pairs = list(zip(p, t, strict=True))
        else:
            pairs = [(p, t)]
        for p_k, t_k in pairs:
            error = _as_value(p_k, "mse", i) - _target(t_k, "mse", i)
            terms.append(error * error)
    return _reduce(terms, reduction, "mse")


def _probability_target(t: Any, loss: str, index: int) -> Any:
    y = _target(t, loss, index)
    if not 0.0 <= y <= 1.0:
        raise DataError(f"{loss}: target {index} must lie in [0, 1] (a class label 0 or 1, or a "
                        f"probability), got {t!r}")
    return y


def _smallest_unclamped() -> float:
    """The smallest p whose rounded log(p) is at least LOG_CLAMP: log(p) < LOG_CLAMP exactly
    when p is below it, so the clamp is a comparison of Values (which jit guards) rather than
    a number read out of p."""
    p = math.exp(LOG_CLAMP)
    while math.log(math.nextafter(p, 0.0)) >= LOG_CLAMP:
        p = math.nextafter(p, 0.0)
    while math.log(p) < LOG_CLAMP:
        p = math.nextafter(p, 1.0)
    return p


_CLAMPED_BELOW = _smallest_unclamped()


def _clamped_log(p: Value) -> Value | float:
    if p < _CLAMPED_BELOW:
        return LOG_CLAMP
    return p.log()


def _clamped_log_one_minus(p: Value) -> Value | float:
    # log1p(-p) is log(1 - p) without the rounding of 1 - p when p is tiny. log(1 - p) is
    # clamped only at p = 1: the largest float below 1 gives log(2^-53), about -36.7.
    if p >= 1.0:
        return LOG_CLAMP
    return (-p).log1p()


def binary_cross_entropy(predictions: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Binary cross-entropy of probabilities: ``-(y log p + (1 - y) log(1 - p))``.

    Predictions must lie in [0, 1] (a sigmoid output); targets in [0, 1]. As in PyTorch each
    log is clamped at -100, so p = 0 or p = 1 gives a finite loss; a clamped log is a constant
    (the derivative of the clamp), and the terms a target of exactly 0 or 1 multiplies by zero
    are left out of the graph. For raw scores prefer :func:`bce_with_logits`, which is exact.
    """
    loss = "binary_cross_entropy"
    predictions, targets = _samples(predictions, targets, loss)
    terms: list[Any] = []
    for i, (p, t) in enumerate(zip(predictions, targets, strict=True)):
        p = _as_value(p, loss, i)
        y = _probability_target(t, loss, i)
        if not 0.0 <= p <= 1.0:
            raise DomainError(
                f"{loss}: prediction {i} is {p._data!r}, not a probability in [0, 1] "
                f"(apply sigmoid to the output, or use bce_with_logits on raw scores)"
            )
        if y == 1.0:
            terms.append(-_clamped_log(p))
        elif y == 0.0:
            terms.append(-_clamped_log_one_minus(p))
        else:
            terms.append(-(_clamped_log(p) * y + _clamped_log_one_minus(p) * (1.0 - y)))
    return _reduce(terms, reduction, loss)


def bce_with_logits(logits: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Binary cross-entropy of ``sigmoid(x)``, computed from the raw score ``x``, with gradient
    ``sigmoid(x) - y``. Targets lie in [0, 1].

    Mathematically ``softplus(x) - x*y``; computed as ``softplus(x)`` for y = 0,
    ``softplus(-x)`` for y = 1 and ``(1 - y) softplus(x) + y softplus(-x)`` otherwise (the
    same function, since softplus(x) - x = softplus(-x)): a sum of non-negative terms, so no
    cancellation, no overflow and no clamping; ``bce_with_logits(37, 1)`` is 8.5e-17, not 0.
    """
    loss = "bce_with_logits"
    logits, targets = _samples(logits, targets, loss)
    terms = []
    for i, (x, t) in enumerate(zip(logits, targets, strict=True)):
        x = _as_value(x, loss, i)
        y = _probability_target(t, loss, i)
        if y == 0.0:
            terms.append(x.softplus())
        elif y == 1.0:
            terms.append((-x).softplus())
        else:
            terms.append(x.softplus() * (1.0 - y) + (-x).softplus() * y)
    return _reduce(terms, reduction, loss)


def hinge(scores: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Max-margin (SVM) loss: ``relu(1 - y*s)`` with labels y = -1 or +1, as in micrograd's demo."""
    loss = "hinge"
    scores, targets = _samples(scores, targets, loss)
    terms = []
    for i, (s, t) in enumerate(zip(scores, targets, strict=True)):
        y = _target(t, loss, i)
        if y not in (-1.0, 1.0):
            raise DataError(
                f"hinge: target {i} must be -1 or +1, got {t!r} (map 0/1 labels with 2*y - 1)"
            )
        terms.append((1.0 - _as_value(s, loss, i) * y).relu())
    return _reduce(terms, reduction, loss)


def _logit_list(logits: Any, loss: str, index: int) -> list[Value]:
    if isinstance(logits, (str, bytes)) or not isinstance(logits, Sequence):
        raise ShapeError(f"{loss}: sample {index} must be a sequence of logits (one per class), "
                         f"got {type(logits).__name__} {logits!r:.60}")
    if not logits:
        raise ShapeError(f"{loss}: sample {index} has no logits")
    return [_as_value(z, loss, index) for z in logits]


def running_maximum(values: Sequence[Value]) -> Value:
    """The largest of ``values`` as a node of the graph: ``max(max(max(v0, v1), v2), ...)``.

    A maximum read from ``.data`` would be a constant frozen into the graph; recorded with the
    ``maximum`` primitive it is recomputed whenever the graph is (as a compiled or traced
    program replays it). Its value is exactly Python's ``max`` of the data.
    """
    m = values[0]
    for v in values[1:]:
        m = m.maximum(v)
    return m


def _shifted(logits: list[Value]) -> tuple[list[Value], Value]:
    """``z - m`` for each logit and ``log(sum(exp(z - m)))``, with ``m = max(z)``: the largest
    exponent is exp(0), so nothing overflows. The result does not depend on m, so neither
    does its gradient: the two paths through m (in ``z - m`` and inside the log) cancel,
    to rounding. m stays in the graph (see :func:`running_maximum`)."""
    m = running_maximum(logits)
    shifted = [z - m for z in logits]
    exps = [s.exp() for s in shifted]
    total = add_n(exps) if len(exps) > 1 else exps[0]
    return shifted, total.log()


def softmax(logits: Sequence[Value | float]) -> list[Value]:
    """``exp(z_i) / sum_j exp(z_j)``, computed as ``exp(z_i - m) / sum_j exp(z_j - m)`` with
    ``m = max(z)`` recorded in the graph (see :func:`running_maximum`).

    >>> [round(p.data, 4) for p in softmax([1.0, 2.0, 3.0])]
    [0.09, 0.2447, 0.6652]
    """
    values = _logit_list(logits, "softmax", 0)
    m = running_maximum(values)
    exps = [(z - m).exp() for z in values]
    total = add_n(exps) if len(exps) > 1 else exps[0]
    return [e / total for e in exps]


def log_softmax(logits: Sequence[Value | float]) -> list[Value]:
    """``z_i - log(sum_j exp(z_j))``, computed stably as ``(z_i - m) - log(sum_j exp(z_j - m))``."""
    shifted, log_total = _shifted(_logit_list(logits, "log_softmax", 0))
    return [s - log_total for s in shifted]


def _class_index(t: Any, classes: int, index: int) -> int:
    if isinstance(t, bool) or not _is_number(t) or not float(t).is_integer():
        raise DataError(f"cross_entropy: target {index} must be a class index (an integer), "
                        f"got {t!r:.60}")
    if not 0 <= int(t) < classes:
        raise DataError(f"cross_entropy: target {index} is class {t!r}, but there are {classes} "
                        f"logits (classes 0 to {classes - 1})")
    return int(t)


def cross_entropy(logits: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Softmax cross-entropy: ``-log_softmax(z)[target]``, with integer class targets.

    ``logits`` is one sequence of logits per sample (or a single sequence, with a single integer
    target). Computed as ``log(sum(exp(z - m))) - (z_t - m)``; its gradient is
    ``softmax(z) - onehot(target)``.

    >>> from chainrule.engine import Value
    >>> logits = [Value(2.0), Value(0.5), Value(-1.0)]
    >>> loss = cross_entropy(logits, 0)         # one sample of class 0
    >>> loss.backward()
    >>> round(loss.data, 6), [round(z.grad, 4) for z in logits]
    (0.241311, [-0.2144, 0.1753, 0.0391])
    """
    loss = "cross_entropy"
    if _is_number(targets) and not isinstance(targets, bool):
        logits, targets = [logits], [targets]
    logits, targets = _samples(logits, targets, loss)
    terms = []
    for i, (z, t) in enumerate(zip(logits, targets, strict=True)):
        values = _logit_list(z, loss, i)
        shifted, log_total = _shifted(values)
        terms.append(log_total - shifted[_class_index(t, len(values), i)])
    return _reduce(terms, reduction, loss)


def l2_penalty(parameters: Module | Iterable[Value], alpha: float = 1.0) -> Value:
    """``alpha * sum(p * p)``: weight decay written as a loss term (micrograd uses alpha = 1e-4)."""
    alpha = non_negative_float(alpha, "l2_penalty: alpha")
    params = iter_parameters(parameters, "l2_penalty")
    if not params:
        raise DataError("l2_penalty: no parameters")
    return dot(params, params) * alpha


#: How a single-output model's prediction becomes a class label for each loss: the output is
#: the positive class when it exceeds this threshold (a probability for BCE, a score otherwise).
DECISION_THRESHOLDS: dict[Callable[..., Value], float] = {
    binary_cross_entropy: 0.5,
    bce_with_logits: 0.0,
    hinge: 0.0,
}
