"""The training loop, :func:`fit`."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.engine import Value

from .._checks import choice, non_negative_float, positive_int
from ..anatomy import gradient_norms
from ..errors import ConfigurationError, DataError
from ..losses import l2_penalty
from ..module import Module
from ..optim import Optimizer
from .callbacks import Callback
from .compiled import CompiledSteps, NumpySteps
from .evaluation import (
    Classifier,
    Loss,
    _check_data,
    _check_model,
    _classifier,
    _correct,
    _single,
    evaluate,
)
from .history import History, Recording, Snapshot


def _progress_bar(progress: bool | None, epochs: int) -> Any:
    """A tqdm bar, or None. ``progress=None`` shows one only on a terminal with tqdm installed."""
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("fit(progress=True) needs tqdm: pip install 'chainrule[nn]'") from None
        return None
    return tqdm(total=epochs, desc="training", unit="epoch")


def _callbacks(callback: Any, callbacks: Any) -> list[Callback]:
    chosen: list[Any] = []
    for given in (callback, callbacks):
        if given is None:
            continue
        chosen.extend(given if isinstance(given, (list, tuple)) else [given])
    for c in chosen:
        if not callable(c):
            raise ConfigurationError(
                f"fit: a callback must be callable as callback(epoch, history), got {c!r:.60}"
            )
    return chosen


def _recording(record: bool | int, limit: int, model: Module) -> Recording | None:
    if record is False or record is None:
        return None
    every = 1 if record is True else positive_int(record, "fit: record (every k epochs)")
    limit = positive_int(limit, "fit: record_limit")
    return Recording([name for name, _ in model.named_parameters()], every, limit)


def _snapshot(epoch: int, model: Module, history: History, norms: bool) -> Snapshot:
    last = lambda column: column[-1] if column else None  # noqa: E731
    return Snapshot(
        epoch=epoch,
        parameters=tuple(p.data for p in model.parameters()),
        loss=last(history.loss), accuracy=last(history.accuracy),
        val_loss=last(history.val_loss), val_accuracy=last(history.val_accuracy),
        gradient_norms=gradient_norms(model) if norms else None,
    )


def _train_step(model: Module, rows: list[Any], targets: list[Any], batch: list[int],
                loss: Loss, params: list[Value], l2: float, optimizer: Optimizer
                ) -> tuple[Value, list[Any], list[Any]]:
    """One gradient-descent step on one batch; returns the objective, outputs and targets."""
    objective, outputs, batch_targets = _gradients(model, rows, targets, batch, loss, params, l2)
    optimizer.step()
    return objective, outputs, batch_targets


def _gradients(model: Module, rows: list[Any], targets: list[Any], batch: list[int],
               loss: Loss, params: list[Value], l2: float) -> tuple[Value, list[Any], list[Any]]:
    """The objective on one batch, with every parameter's .grad set to its gradient."""
    outputs = [_single(model(rows[i])) for i in batch]
    batch_targets = [targets[i] for i in batch]
    objective = loss(outputs, batch_targets)
    if l2:
        objective = objective + l2_penalty(params, l2)
    model.zero_grad()
    objective.backward()
    return objective, outputs, batch_targets


def _compiled_steps(compile: bool | str, model: Module, loss: Loss, params: list[Value],
                    l2: float, rows: list[Any], targets: list[Any]
                    ) -> CompiledSteps | NumpySteps | None:
    """What ``fit(compile=...)`` trains through: None (eager), Python or numpy programs."""
    if compile is False or compile is None:
        return None
    if compile is True or compile == "python":
        return CompiledSteps(model, loss, params, l2, targets)
    if compile == "numpy":
        return NumpySteps(model, loss, params, l2, rows, targets)
    raise ConfigurationError(
        f"fit: compile must be False, True, 'python' or 'numpy', got {compile!r:.40}")


def fit(
    model: Module,
    X: Sequence[Any],
    y: Sequence[Any],
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    *,
    l2: float = 0.0,
    schedule: Callable[[int], float] | None = None,
    schedule_per: str = "epoch",
    shuffle: bool = True,
    seed: int | None = None,
    validation: tuple[Sequence[Any], Sequence[Any]] | None = None,
    progress: bool | None = None,
    callback: Callback | Sequence[Callback] | None = None,
    callbacks: Sequence[Callback] | None = None,
    record: bool | int = False,
    record_limit: int = 200,
    compile: bool | str = False,
) -> History:
    """Train ``model`` on ``X, y`` by gradient descent and return the :class:`History`.

    Each step: forward every sample of the batch, ``loss(outputs, targets)`` (plus
    ``l2 * sum(p^2)`` over the model's parameters when ``l2`` > 0), zero the gradients,
    ``backward()``, ``optimizer.step()``.

    * ``batch_size=None`` trains on the whole data set at once (one step per epoch); otherwise
      the samples are shuffled every epoch (with ``seed``) unless ``shuffle`` is false.
    * ``schedule(k)`` sets ``optimizer.lr``: at the start of every epoch ``k`` (counted from 0),
      or with ``schedule_per="step"`` before every step ``k`` of this run (PyTorch's habit of
      calling ``scheduler.step()`` per batch).
    * ``validation=(X_val, y_val)`` is evaluated after every epoch.
    * ``progress`` shows a tqdm bar with the loss and accuracy (default: only on a terminal).
    * ``callback`` / ``callbacks``: one callable or a list, each run as
      ``callback(epoch, history)`` after every epoch; when any returns True, training stops
      (see :class:`EarlyStopping`).
    * ``record=True`` (or ``record=k``: every k epochs) keeps snapshots of the parameters, loss,
      accuracy and per-layer gradient norms in ``history.recording``, at most ``record_limit``
      (older ones are thinned evenly, see :class:`Recording`); the training explorer and
      :func:`diagnose` read them.
    * ``compile=True`` trains through compiled programs (:func:`chainrule.engine.jit`'s
      machinery): one program per sample (traced once, then replayed on plain floats), looped
      over the batch. Losses and accuracies agree with eager training to rounding (the
      per-sample gradients are summed in another order); everything else works the same.
      ``compile="python"`` is the same; ``compile="numpy"`` runs the per-sample program as
      numpy array code over the whole batch (every node an array, the parameters broadcast;
      needs numpy, ``pip install 'chainrule[fast]'``), falling back to the Python programs
      for a batch whenever the fast path cannot vouch for its numbers.

    Interrupted training keeps what it learned: on Ctrl-C (KeyboardInterrupt) ``fit`` prints a
    note and returns the History of the completed epochs with ``history.interrupted`` set; any
    other exception propagates with that History attached as ``error.history``.
    """
    model = _check_model(model, "fit")
    rows, targets = _check_data(model, X, y, "fit")
    if not callable(loss):
        raise ConfigurationError(f"fit: loss must be a loss function, got {loss!r:.40}")
    if not isinstance(optimizer, Optimizer):
        raise ConfigurationError(
            f"fit: optimizer must be a chainrule.nn optimizer (SGD, Adam, AdamW), got {optimizer!r:.40}"
        )
    own = {id(p) for p in model.parameters()}
    strangers = sum(1 for p in optimizer.params if id(p) not in own)
    if strangers:
        raise ConfigurationError(
            f"fit: the optimizer holds {strangers} parameter(s) that are not this model's; "
            f"build it with optimizer(model.parameters(), ...)"
        )
    epochs = positive_int(epochs, "fit: epochs")
    n = len(rows)
    size = n if batch_size is None else min(positive_int(batch_size, "fit: batch_size"), n)
    l2 = non_negative_float(l2, "fit: l2")
    per_step = choice(schedule_per, ("epoch", "step"), "schedule_per") == "step"
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise DataError("fit: validation must be a pair (X_val, y_val)")
        val_rows, val_targets = _check_data(model, validation[0], validation[1], "fit: validation")
    hooks = _callbacks(callback, callbacks)
    for hook in hooks:
        if hasattr(hook, "set_model"):
            hook.set_model(model)

    params = model.parameters()
    compiled = _compiled_steps(compile, model, loss, params, l2, rows, targets)
    rng = random.Random(seed)
    history = History()
    history.recording = _recording(record, record_limit, model)
    if history.recording is not None:
        history.recording.add(_snapshot(0, model, history, norms=False))
    bar = _progress_bar(progress, epochs)
    order = list(range(n))
    classify: Classifier | None = None
    step = 0
    try:
        for epoch in range(epochs):
            if schedule is not None and not per_step:
                optimizer.lr = schedule(epoch)
            if size < n and shuffle:
                rng.shuffle(order)
            total, correct = 0.0, 0
            for start in range(0, n, size):
                if schedule is not None and per_step:
                    optimizer.lr = schedule(step)
                batch = order[start : start + size]
                if compiled is None:
                    objective, outputs, batch_targets = _train_step(
                        model, rows, targets, batch, loss, params, l2, optimizer)
                    objective_value = objective.data
                else:
                    def eager(batch: list[int] = batch) -> float:
                        return _gradients(model, rows, targets, batch, loss, params, l2)[0].data

                    objective_value, outputs, batch_targets = compiled.step(
                        rows, targets, batch, optimizer, eager)
                step += 1
                total += objective_value * len(batch)
                if classify is None and epoch == 0 and start == 0:
                    classify = _classifier(isinstance(outputs[0], list), targets, loss)
                if classify is not None:
                    correct += _correct(classify, outputs, batch_targets)
            history.loss.append(total / n)
            history.accuracy.append(None if classify is None else correct / n)
            history.learning_rate.append(optimizer.lr)
            if validation is not None:
                result = evaluate(model, val_rows, val_targets, loss)
                history.val_loss.append(result.loss)
                history.val_accuracy.append(result.accuracy)
            else:
                history.val_loss.append(None)
                history.val_accuracy.append(None)
            if history.recording is not None and history.recording.wants(epoch + 1):
                history.recording.add(_snapshot(epoch + 1, model, history, norms=True))
            if bar is not None:
                postfix = {"loss": f"{history.loss[-1]:.4f}"}
                if history.accuracy[-1] is not None:
                    postfix["accuracy"] = f"{history.accuracy[-1]:.1%}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
            stops = [hook for hook in hooks if hook(epoch, history)]
            if stops:
                history.stop_reason = getattr(stops[0], "reason", None) or (
                    f"callback {getattr(stops[0], '__name__', type(stops[0]).__name__)} "
                    f"stopped training after epoch {epoch + 1}")
                break
    except KeyboardInterrupt:
        history.interrupted = True
        history.stop_reason = (f"interrupted (KeyboardInterrupt) during epoch {history.epochs + 1}"
                               f" of {epochs}")
        print(f"fit: {history.stop_reason}; returning the History of the {history.epochs} "
              "completed epoch(s) (the model keeps the parameters of the last completed step)",
              file=sys.stderr)
    except Exception as error:
        history.interrupted = True
        history.stop_reason = (f"{type(error).__name__} during epoch {history.epochs + 1} "
                               f"of {epochs}: {error}")
        error.history = history  # type: ignore[attr-defined]
        if hasattr(error, "add_note"):
            error.add_note(f"fit: the History of the {history.epochs} completed epoch(s) is "
                           "attached to this exception as .history")
        raise
    finally:
        if bar is not None:
            bar.close()
        if history.recording is not None and history.epochs and not history.interrupted:
            history.recording.finish(_snapshot(history.epochs, model, history, norms=True))
    return history
