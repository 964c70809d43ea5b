"""Callbacks for :func:`~chainrule.nn.fit`.

A callback is any callable ``callback(epoch, history)`` run after every epoch (``epoch``
counts from 0); returning True stops training. A callback may also define
``set_model(model)``, called once before training starts, and ``reason``, a sentence saying
why it stopped (``fit`` copies it to ``history.stop_reason``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from .._checks import choice, non_negative_float, positive_int
from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..module import Module
    from .history import History


class Callback(Protocol):
    def __call__(self, epoch: int, history: History) -> bool | None: ...


_MONITORED = {"loss": "min", "val_loss": "min", "accuracy": "max", "val_accuracy": "max"}


class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row (Keras's rule). ``restore_best=True`` puts back the parameters of the best
    epoch when it stops.

    ``monitor`` is one of ``"val_loss"`` (the default; needs ``fit(validation=...)``),
    ``"loss"``, ``"accuracy"`` or ``"val_accuracy"``.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 restore_best: bool = False) -> None:
        self.monitor = choice(monitor, tuple(_MONITORED), "EarlyStopping monitor")
        self.patience = positive_int(patience, "EarlyStopping: patience")
        self.min_delta = non_negative_float(min_delta, "EarlyStopping: min_delta")
        self.restore_best = bool(restore_best)
        self._model: Module | None = None
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if _MONITORED[self.monitor] == "min" else -math.inf
        self.best_epoch: int | None = None
        self.reason: str | None = None
        self._best_parameters: list[float] | None = None
        self._waited = 0

    def set_model(self, model: Module) -> None:
        """Called by fit before training: remember the model and start counting afresh."""
        self._model = model
        self._reset()

    def _improved(self, value: float) -> bool:
        if _MONITORED[self.monitor] == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def __call__(self, epoch: int, history: History) -> bool:
        value = getattr(history, self.monitor)[-1]
        if value is None:
            raise ConfigurationError(
                f"EarlyStopping: {self.monitor!r} was not measured at epoch {epoch + 1} "
                + ("(pass fit(..., validation=(X_val, y_val)))" if self.monitor.startswith("val")
                   else "(the targets are not class labels)")
            )
        if self._improved(value):
            self.best, self.best_epoch, self._waited = value, epoch + 1, 0
            if self.restore_best and self._model is not None:
                self._best_parameters = [p.data for p in self._model.parameters()]
            return False
        self._waited += 1
        if self._waited < self.patience:
            return False
        self.reason = (f"early stopping: {self.monitor} did not improve for {self.patience} "
                       f"epochs (best {self.best:.6g} at epoch {self.best_epoch})")
        if self.restore_best and self._model is not None and self._best_parameters is not None:
            for p, data in zip(self._model.parameters(), self._best_parameters, strict=True):
                p.data = data
            self.reason += "; the parameters of that epoch were restored"
        return True

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best={self.restore_best})")
