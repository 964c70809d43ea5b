"""Optimizers with PyTorch's exact update equations and defaults, and learning-rate schedules.

An optimizer reads each parameter's ``.grad`` and updates its ``.data`` in place, with plain
float arithmetic: a step records no graph. The arithmetic follows ``torch.optim``'s
single-tensor code term by term, so the same gradients give the same parameters.

A schedule is a callable: ``schedule(k)`` is the learning rate for step (or epoch) ``k``,
counted from 0; :func:`~chainrule.nn.fit` applies it at the start of every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from chainrule.engine import NonFiniteError, Value

from ._checks import fraction, non_negative_float, positive_float, positive_int
from .errors import ConfigurationError
from .module import Module, iter_parameters


class Optimizer:
    """Holds the parameters and the learning rate; subclasses implement :meth:`_updates`."""

    def __init__(self, params: Module | Iterable[Value], lr: float) -> None:
        name = type(self).__name__
        self.params = iter_parameters(params, name)  # type: ignore[arg-type]
        if not self.params:
            raise ConfigurationError(f"{name}: got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ConfigurationError(
                f"{name}: a parameter appears more than once (it would be updated twice per step)"
            )
        self.lr = lr
        #: Number of steps taken so far.
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate (a positive finite number; schedules change it between epochs)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = positive_float(value, f"{type(self).__name__}: learning rate lr")

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0; call before each ``backward()``."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its gradient.

        All new values are computed before any is written, so a step that would make a parameter
        infinite or NaN raises :class:`~chainrule.engine.NonFiniteError` and changes nothing.
        """
        self.steps += 1
        new_data = self._updates()
        for i, data in enumerate(new_data):
            if data - data:  # inf or nan
                self.steps -= 1
                p = self.params[i]
                raise NonFiniteError(
                    f"{type(self).__name__}.step: parameter {p.label or i} (grad={p.grad!r}) "
                    f"would become {data!r}; lower the learning rate or check the gradients"
                )
        self._commit()
        for p, data in zip(self.params, new_data, strict=True):
            p.data = data

    def _updates(self) -> list[float]:
        raise NotImplementedError

    def _commit(self) -> None:
        """Make the state computed by the last :meth:`_updates` current (the step succeeded)."""


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``::

        g = grad + weight_decay * p
        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b  if nesterov else  b        (when momentum != 0)
        p = p - lr * g
    """

    def __init__(
        self,
        params: Module | Iterable[Value],
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = non_negative_float(momentum, "SGD: momentum")
        self.dampening = non_negative_float(dampening, "SGD: dampening")
        self.weight_decay = non_negative_float(weight_decay, "SGD: weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ConfigurationError("SGD: nesterov momentum needs momentum > 0 and dampening 0")
        self._buffers: list[float] | None = None
        self._pending: list[float] | None = None

    def _updates(self) -> list[float]:
        lr, momentum, dampening, decay = self.lr, self.momentum, self.dampening, self.weight_decay
        previous = self._buffers
        buffers = []
        new_data = []
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            if momentum:
                b = g if previous is None else momentum * previous[i] + (1.0 - dampening) * g
                buffers.append(b)
                g = g + momentum * b if self.nesterov else b
            new_data.append(p.data - lr * g)
        self._pending = buffers if momentum else None
        return new_data

    def _commit(self) -> None:
        if self._pending is not None:
            self._buffers = self._pending

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov})")


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``, with bias correction::

        g = grad + weight_decay * p                 (L2 penalty folded into the gradient)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    def __init__(
        self,
        params: Module | Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ConfigurationError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (fraction(betas[0], f"{name}: beta1"), fraction(betas[1], f"{name}: beta2"))
        self.eps = non_negative_float(eps, f"{name}: eps")
        self.weight_decay = non_negative_float(weight_decay, f"{name}: weight_decay")
        size = len(self.params)
        self._m = [0.0] * size
        self._v = [0.0] * size
        self._pending: tuple[list[float], list[float]] | None = None

    def _decayed(self, p: Value) -> float:
        """The gradient Adam sees: with Adam's L2 weight decay folded in."""
        return p.grad + self.weight_decay * p.data if self.weight_decay else p.grad

    def _start(self, p: Value) -> float:
        """The parameter before the Adam step (AdamW shrinks it first)."""
        return p.data

    def _updates(self) -> list[float]:
        beta1, beta2 = self.betas
        t = self.steps
        step_size = self.lr / (1.0 - beta1**t)
        correction2_sqrt = math.sqrt(1.0 - beta2**t)
        eps = self.eps
        ms, vs, new_data = [], [], []
        for p, m, v in zip(self.params, self._m, self._v, strict=True):
            g = self._decayed(p)
            m = m + (1.0 - beta1) * (g - m)
            v = v * beta2 + (1.0 - beta2) * g * g
            ms.append(m)
            vs.append(v)
            new_data.append(self._start(p) + -step_size * (m / (math.sqrt(v) / correction2_sqrt + eps)))
        self._pending = (ms, vs)
        return new_data

    def _commit(self) -> None:
        if self._pending is not None:
            self._m, self._v = self._pending

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``:
    the parameter shrinks first, ``p = p * (1 - lr * weight_decay)``, then takes a plain Adam
    step; the decay never passes through the moment estimates."""

    def __init__(
        self,
        params: Module | Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decayed(self, p: Value) -> float:
        return p.grad

    def _start(self, p: Value) -> float:
        return p.data * (1.0 - self.lr * self.weight_decay)


# -- learning-rate schedules -------------------------------------------------------------------


class Schedule:
    """A learning rate per step: ``schedule(k)`` for k = 0, 1, 2, ..."""

    def __call__(self, step: int) -> float:
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigurationError(
                f"{type(self).__name__}: step must be an integer >= 0, got {step!r}"
            )
        return self._rate(step)

    def _rate(self, step: int) -> float:
        raise NotImplementedError


class LinearDecay(Schedule):
    """From ``start`` down (or up) to ``end`` in a straight line over ``steps`` steps, then
    ``end``. micrograd's moons demo is ``LinearDecay(1.0, 0.1, 100)``: lr = 1.0 - 0.9 k / 100."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        self.start = positive_float(start, "LinearDecay: start")
        self.end = positive_float(end, "LinearDecay: end")
        self.steps = positive_int(steps, "LinearDecay: steps")

    def _rate(self, step: int) -> float:
        return self.start + (self.end - self.start) * min(step, self.steps) / self.steps

    def __repr__(self) -> str:
        return f"LinearDecay(start={self.start}, end={self.end}, steps={self.steps})"


class StepDecay(Schedule):
    """``initial * factor ** (k // every)``: multiply by ``factor`` every ``every`` steps."""

    def __init__(self, initial: float, every: int, factor: float = 0.1) -> None:
        self.initial = positive_float(initial, "StepDecay: initial")
        self.every = positive_int(every, "StepDecay: every")
        self.factor = positive_float(factor, "StepDecay: factor")

    def _rate(self, step: int) -> float:
        return self.initial * self.factor ** (step // self.every)

    def __repr__(self) -> str:
        return f"StepDecay(initial={self.initial}, every={self.every}, factor={self.factor})"


class ExponentialDecay(Schedule):
    """``initial * gamma ** k``."""

    def __init__(self, initial: float, gamma: float) -> None:
        self.initial = positive_float(initial, "ExponentialDecay: initial")
        self.gamma = positive_float(gamma, "ExponentialDecay: gamma")

    def _rate(self, step: int) -> float:
        return self.initial * self.gamma**step

    def __repr__(self) -> str:
        return f"ExponentialDecay(initial={self.initial}, gamma={self.gamma})"


class CosineDecay(Schedule):
    """Half a cosine from ``start`` to ``end`` over ``steps`` steps, then ``end``
    (``torch.optim.lr_scheduler.CosineAnnealingLR`` with eta_min = end)."""

    def __init__(self, start: float, end: float, steps: int) -> None:
        self.start = positive_float(start, "CosineDecay: start")
        self.end = positive_float(end, "CosineDecay: end")
        self.steps = positive_int(steps, "CosineDecay: steps")

    def _rate(self, step: int) -> float:
        progress = min(step, self.steps) / self.steps
        return self.end + (self.start - self.end) * (1.0 + math.cos(math.pi * progress)) / 2.0

    def __repr__(self) -> str:
        return f"CosineDecay(start={self.start}, end={self.end}, steps={self.steps})"
