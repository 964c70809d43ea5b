"""Optimizers with PyTorch's exact update equations and defaults, and learning-rate schedules.

An optimizer reads each parameter's ``.grad`` and updates its ``.data`` in place, with plain
float arithmetic: a step records no graph. The arithmetic follows ``torch.optim``'s
single-tensor code term by term, so the same gradients give the same parameters.

As in ``torch.optim``, parameters may come in groups with their own settings::

    Adam([{"params": model.layers[0].parameters(), "lr": 0.01},
          {"params": model.layers[1].parameters()}], lr=0.001)   # the second group uses 0.001

and an optimizer's whole state (settings, step count, moment estimates) round-trips through
:meth:`Optimizer.state_dict` and :meth:`Optimizer.load_state_dict` as plain JSON data.

A schedule is a callable: ``schedule(k)`` is the learning rate for step (or epoch) ``k``,
counted from 0; :func:`~chainrule.nn.fit` applies it at the start of every epoch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from chainrule.engine import NonFiniteError, Value

from ._checks import flag, fraction, non_negative_float, positive_float, positive_int
from .errors import ConfigurationError, ModelFileError
from .module import Module, as_plain, iter_parameters

Params = Module | Iterable[Value] | Iterable[Mapping[str, Any]]
#: The most steps an optimizer state may record (a 64-bit count, far beyond any run); Adam
#: raises its betas to the step count, which Python refuses for an integer beyond a float.
MAX_STEPS = 2**63 - 1
#: A setting's check: ``check(value, what)`` returns the value to store or raises.
Check = Callable[[Any, str], Any]


def _betas(value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ConfigurationError(f"{what} must be a pair (beta1, beta2), got {value!r}")
    stem = what[: -len("betas")]
    return (fraction(value[0], f"{stem}beta1"), fraction(value[1], f"{stem}beta2"))


def _setting(name: str) -> property:
    """A read-only view of a default setting (each group's own is in ``param_groups``)."""
    return property(lambda self: self.defaults[name],
                    doc=f"The default ``{name}``; each group's own is in ``param_groups``.")


class Optimizer:
    """Holds parameter groups and their settings; subclasses implement :meth:`_updates`.

    ``params`` is a Module, an iterable of Values, or an iterable of dicts, each with
    ``"params"`` (a Module or Values) and any settings that differ from the defaults.
    """

    #: Every setting a group may have and its check; the constructor's arguments are defaults.
    SETTINGS: ClassVar[dict[str, Check]] = {"lr": positive_float}

    def __init__(self, params: Params, lr: float, **settings: Any) -> None:
        name = type(self).__name__
        #: The settings given to the constructor: what a group does not set itself.
        self.defaults = self._checked({"lr": lr, **settings}, f"{name}: ")
        self.param_groups: list[dict[str, Any]] = []
        for i, group in enumerate(self._groups(params)):
            own = {key: value for key, value in group.items() if key != "params"}
            checked = self._checked({**self.defaults, **own}, f"{name}: param_groups[{i}] ")
            self.param_groups.append({"params": group["params"], **checked})
        #: Every parameter, group after group: what ``fit`` and ``zero_grad`` use.
        self.params = [p for group in self.param_groups for p in group["params"]]
        if not self.params:
            raise ConfigurationError(f"{name}: got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ConfigurationError(
                f"{name}: a parameter appears more than once (it would be updated twice per step)"
            )
        #: Number of steps taken so far.
        self.steps = 0

    def _groups(self, params: Params) -> list[dict[str, Any]]:
        name = type(self).__name__
        if isinstance(params, Module):
            return [{"params": iter_parameters(params, name)}]
        if isinstance(params, (str, bytes, Mapping)) or not isinstance(params, Iterable):
            raise ConfigurationError(
                f"{name}: params must be a Module, a list of Values or a list of parameter "
                f"groups (dicts with 'params'), got {type(params).__name__}"
            )
        items: list[Any] = list(params)
        if not items or not all(isinstance(item, Mapping) for item in items):
            return [{"params": iter_parameters(items, name)}]
        groups = []
        for i, group in enumerate(items):
            if "params" not in group:
                raise ConfigurationError(f"{name}: param_groups[{i}] has no 'params'")
            unknown = sorted(set(group) - {"params", *self.SETTINGS}, key=str)
            if unknown:
                raise ConfigurationError(
                    f"{name}: param_groups[{i}] has unknown setting(s) {unknown}; "
                    f"{name} knows {', '.join(self.SETTINGS)}"
                )
            members = group["params"]
            if isinstance(members, Value):
                members = [members]
            groups.append({**group, "params": iter_parameters(members, f"{name}: param_groups[{i}]")})
        return groups

    def _checked(self, settings: Mapping[str, Any], where: str) -> dict[str, Any]:
        checked = {key: check(settings[key], f"{where}{_WHAT.get(key, key)}")
                   for key, check in self.SETTINGS.items()}
        self._check_group(checked, where)
        return checked

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        """Checks that involve several settings of one group."""

    @property
    def lr(self) -> float:
        """The learning rate of the first group. Setting it sets every group's (that is what a
        schedule does between epochs); a positive finite number."""
        return float(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        lr = positive_float(value, f"{type(self).__name__}: learning rate lr")
        for group in self.param_groups:
            group["lr"] = lr
        self.defaults["lr"] = lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's gradient to 0; call before each ``backward()``.
        ``set_to_none`` changes nothing: see :meth:`chainrule.nn.Module.zero_grad` for why."""
        flag(set_to_none, "zero_grad: set_to_none")
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

    # -- state ---------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's settings and state as plain JSON data (a copy)::

            {"optimizer": "Adam", "steps": 3,
             "param_groups": [{"params": [0, 1, 2], "lr": 0.001, ...}, ...],
             "state": {"exp_avg": [...], "exp_avg_sq": [...]}}

        Parameters are referred to by their position in ``params``, as in ``torch.optim``.
        """
        groups, start = [], 0
        for group in self.param_groups:
            size = len(group["params"])
            settings = {key: list(value) if isinstance(value, tuple) else value
                        for key, value in group.items() if key != "params"}
            groups.append({"params": list(range(start, start + size)), **settings})
            start += size
        return {"optimizer": type(self).__name__, "steps": self.steps, "param_groups": groups,
                "state": self._state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for an optimizer over the same parameters.

        Everything is checked first (the optimizer's kind, the groups and their settings, the
        step count, every state value); any problem raises
        :class:`~chainrule.nn.ModelFileError` and changes nothing.
        """
        name = type(self).__name__
        who = f"{name}.load_state_dict"
        if not isinstance(state, Mapping):
            raise ModelFileError(f"{who}: expected a dict, got {type(state).__name__}")
        expected_keys = {"optimizer", "steps", "param_groups", "state"}
        if set(state) != expected_keys:
            raise ModelFileError(
                f"{who}: expected the keys {sorted(expected_keys)}, got {sorted(state, key=str)}"
            )
        if state["optimizer"] != name:
            raise ModelFileError(f"{who}: this is the state of {state['optimizer']!r:.40}, not {name}")
        steps = as_plain(state["steps"])
        if (isinstance(steps, bool) or not isinstance(steps, numbers.Integral)
                or not 0 <= int(steps) <= MAX_STEPS):
            raise ModelFileError(
                f"{who}: steps must be an integer from 0 to 2**63 - 1, got {steps!r:.40}")
        groups = state["param_groups"]
        mine = self.state_dict()["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(mine):
            raise ModelFileError(
                f"{who}: expected a list of {len(mine)} parameter group(s), got {groups!r:.60}"
            )
        settings = []
        for i, (group, own) in enumerate(zip(groups, mine, strict=True)):
            if not isinstance(group, Mapping) or set(group) != set(own):
                raise ModelFileError(
                    f"{who}: param_groups[{i}] must have the keys {sorted(own)}, got {group!r:.80}"
                )
            if as_plain(group["params"]) != own["params"]:
                raise ModelFileError(
                    f"{who}: param_groups[{i}] holds parameters {group['params']!r:.60}; this "
                    f"optimizer's group {i} holds {own['params']!r:.60}"
                )
            try:
                settings.append(self._checked(
                    {key: as_plain(value) for key, value in group.items()}, f"{who}: param_groups[{i}] "))
            except ConfigurationError as error:
                raise ModelFileError(str(error)) from None
        restore = self._checked_state(state["state"], who)
        for group, checked in zip(self.param_groups, settings, strict=True):
            group.update(checked)
        self.steps = int(steps)
        restore()

    def _state(self) -> dict[str, Any]:
        return {}

    def _checked_state(self, state: Any, who: str) -> Callable[[], None]:
        """Check ``state`` (as :meth:`_state` makes it); return what installs it."""
        if state != {}:
            raise ModelFileError(f"{who}: expected an empty state, got {state!r:.60}")
        return lambda: None

    def _floats(self, values: Any, who: str, what: str, *, low: float = -math.inf) -> list[float]:
        """One finite float (>= ``low``) per parameter, or a :class:`ModelFileError`."""
        values = as_plain(values)
        if not isinstance(values, list) or len(values) != len(self.params):
            raise ModelFileError(
                f"{who}: state {what!r} must be a list of {len(self.params)} numbers, "
                f"got {values!r:.60}"
            )
        for i, value in enumerate(values):
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or value < low):
                bound = "" if low == -math.inf else f" >= {low}"
                raise ModelFileError(
                    f"{who}: state {what}[{i}] must be a finite number{bound}, got {value!r:.40}"
                )
        return [float(value) for value in values]

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.defaults.items())
        groups = f", {len(self.param_groups)} groups" if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}({settings}{groups})"


#: How settings are named in error messages.
_WHAT = {"lr": "learning rate lr"}


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``::

        g = grad + weight_decay * p
        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b  if nesterov else  b        (when momentum != 0)
        p = p - lr * g
    """

    SETTINGS: ClassVar[dict[str, Check]] = {
        "lr": positive_float,
        "momentum": non_negative_float,
        "dampening": non_negative_float,
        "weight_decay": non_negative_float,
        "nesterov": flag,
    }
    momentum = _setting("momentum")
    dampening = _setting("dampening")
    weight_decay = _setting("weight_decay")
    nesterov = _setting("nesterov")

    def __init__(
        self,
        params: Params,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=bool(nesterov))
        self._buffers: list[float] | None = None
        self._pending: list[float] | None = None

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ConfigurationError(f"{where}nesterov momentum needs momentum > 0 and dampening 0")

    def _updates(self) -> list[float]:
        previous = self._buffers
        buffers: list[float] = []
        new_data = []
        i = 0
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                g = p.grad
                if decay:
                    g = g + decay * p.data
                # Every parameter has a buffer slot (0.0 where its group has no momentum), so
                # groups with and without momentum share one list.
                if momentum:
                    b = g if previous is None else momentum * previous[i] + (1.0 - dampening) * g
                    buffers.append(b)
                    g = g + momentum * b if nesterov else b
                else:
                    buffers.append(0.0)
                new_data.append(p.data - lr * g)
                i += 1
        self._pending = buffers
        return new_data

    def _commit(self) -> None:
        if self._pending is not None:
            self._buffers = self._pending

    def _state(self) -> dict[str, Any]:
        return {"momentum_buffer": None if self._buffers is None else list(self._buffers)}

    def _checked_state(self, state: Any, who: str) -> Callable[[], None]:
        if not isinstance(state, Mapping) or set(state) != {"momentum_buffer"}:
            raise ModelFileError(f"{who}: state must be {{'momentum_buffer': ...}}, got {state!r:.60}")
        buffers = state["momentum_buffer"]
        checked = None if buffers is None else self._floats(buffers, who, "momentum_buffer")

        def restore() -> None:
            self._buffers = checked
        return restore


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``, with bias correction::

        g = grad + weight_decay * p                 (L2 penalty folded into the gradient)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    SETTINGS: ClassVar[dict[str, Check]] = {
        "lr": positive_float,
        "betas": _betas,
        "eps": non_negative_float,
        "weight_decay": non_negative_float,
    }
    betas = _setting("betas")
    eps = _setting("eps")
    weight_decay = _setting("weight_decay")

    def __init__(
        self,
        params: Params,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)
        size = len(self.params)
        self._m = [0.0] * size
        self._v = [0.0] * size
        self._pending: tuple[list[float], list[float]] | None = None

    def _decayed(self, p: Value, group: dict[str, Any]) -> float:
        """The gradient Adam sees: with Adam's L2 weight decay folded in."""
        decay = group["weight_decay"]
        return p.grad + decay * p.data if decay else p.grad

    def _start(self, p: Value, group: dict[str, Any]) -> float:
        """The parameter before the Adam step (AdamW shrinks it first)."""
        return p.data

    def _updates(self) -> list[float]:
        t = self.steps
        ms, vs, new_data = [], [], []
        i = 0
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            step_size = group["lr"] / (1.0 - beta1**t)
            correction2_sqrt = math.sqrt(1.0 - beta2**t)
            eps = group["eps"]
            for p in group["params"]:
                m, v = self._m[i], self._v[i]
                g = self._decayed(p, group)
                m = m + (1.0 - beta1) * (g - m)
                v = v * beta2 + (1.0 - beta2) * g * g
                ms.append(m)
                vs.append(v)
                new_data.append(
                    self._start(p, group) + -step_size * (m / (math.sqrt(v) / correction2_sqrt + eps)))
                i += 1
        self._pending = (ms, vs)
        return new_data

    def _commit(self) -> None:
        if self._pending is not None:
            self._m, self._v = self._pending

    def _state(self) -> dict[str, Any]:
        return {"exp_avg": list(self._m), "exp_avg_sq": list(self._v)}

    def _checked_state(self, state: Any, who: str) -> Callable[[], None]:
        if not isinstance(state, Mapping) or set(state) != {"exp_avg", "exp_avg_sq"}:
            raise ModelFileError(
                f"{who}: state must be {{'exp_avg': ..., 'exp_avg_sq': ...}}, got {state!r:.60}"
            )
        m = self._floats(state["exp_avg"], who, "exp_avg")
        v = self._floats(state["exp_avg_sq"], who, "exp_avg_sq", low=0.0)

        def restore() -> None:
            self._m, self._v = m, v
        return restore


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``:
    the parameter shrinks first, ``p = p * (1 - lr * weight_decay)``, then takes a plain Adam
    step; the decay never passes through the moment estimates."""

    def __init__(
        self,
        params: Params,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decayed(self, p: Value, group: dict[str, Any]) -> float:
        return p.grad

    def _start(self, p: Value, group: dict[str, Any]) -> float:
        return p.data * (1.0 - float(group["lr"]) * float(group["weight_decay"]))


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
    """Half a cosine from ``start`` to ``end`` over ``steps`` steps: PyTorch's
    ``CosineAnnealingLR(optimizer, T_max=steps, eta_min=end)`` with ``lr=start``, exactly.

    ``schedule(k)`` is the learning rate torch's scheduler gives after ``k`` calls of its
    ``step()``, bit for bit: torch updates the rate recursively from the previous one
    (``lr_k = (1 + cos(pi k / T)) / (1 + cos(pi (k-1) / T)) * (lr_{k-1} - eta_min) + eta_min``),
    which drifts from the closed form ``end + (start - end) (1 + cos(pi k / T)) / 2`` by a few
    units in the last place, and this schedule runs the same recursion (remembering the rates
    it has computed, so asking for every k in turn costs O(1) each).

    One difference, on purpose: after ``steps`` the rate stays at ``end``, whereas torch's
    keeps following the cosine back up to ``start`` over the next ``steps`` steps (a decay that
    silently turns into a warm-up is rarely what a training run wants). ``cycle=True`` gives
    torch's behaviour there too.
    """

    def __init__(self, start: float, end: float, steps: int, *, cycle: bool = False) -> None:
        self.start = positive_float(start, "CosineDecay: start")
        self.end = positive_float(end, "CosineDecay: end")
        self.steps = positive_int(steps, "CosineDecay: steps")
        self.cycle = flag(cycle, "CosineDecay: cycle")
        self._rates = [self.start]

    def _rate(self, step: int) -> float:
        if not self.cycle:
            step = min(step, self.steps)
        rates, end, steps = self._rates, self.end, self.steps
        # The expressions of torch.optim.lr_scheduler.CosineAnnealingLR.get_lr, term by term.
        while len(rates) <= step:
            k, previous = len(rates), rates[-1]
            if (k - 1 - steps) % (2 * steps) == 0:
                rates.append(previous + (self.start - end) * (1 - math.cos(math.pi / steps)) / 2)
            else:
                rates.append((1 + math.cos(math.pi * k / steps))
                             / (1 + math.cos(math.pi * (k - 1) / steps)) * (previous - end) + end)
        return rates[step]

    def __repr__(self) -> str:
        cycle = ", cycle=True" if self.cycle else ""
        return f"CosineDecay(start={self.start}, end={self.end}, steps={self.steps}{cycle})"
