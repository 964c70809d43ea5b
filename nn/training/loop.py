"""The training loop, :func:`fit`."""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.engine import fewer_collections as relaxed_collector
from chainrule.engine import is_recording

from .._checks import choice, non_negative_float, positive_int
from ..anatomy import gradient_norms
from ..data import Classifier, Loss, check_data, check_model, classifier, count_correct
from ..errors import ConfigurationError, DataError
from ..module import Module
from ..optim import Optimizer
from .callbacks import Callback
from .evaluation import evaluate
from .history import History, Recording, Snapshot
from .progress import progress_bar, show_epoch
from .steps import Problem, choose_steps


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
    def last(column: Sequence[float | None]) -> float | None:
        return column[-1] if column else None

    return Snapshot(
        epoch=epoch,
        parameters=tuple(p.data for p in model.parameters()),
        loss=last(history.loss), accuracy=last(history.accuracy),
        val_loss=last(history.val_loss), val_accuracy=last(history.val_accuracy),
        gradient_norms=gradient_norms(model) if norms else None,
    )


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
    fewer_collections: bool = True,
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
    * ``progress`` shows a tqdm bar with the loss and accuracy (default: on a terminal or in a
      Jupyter notebook, where it ends with a one-line summary that stays readable when saved).
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
      for a batch whenever the fast path cannot vouch for its numbers. Whatever trains eagerly
      trains compiled (any number of classes, targets that are lists, parameters the data
      never reaches, which get the gradient 0); how to compile is decided on the first sample,
      before the first step, and a model that cannot be compiled gets a
      :class:`ConfigurationError` then (see :mod:`chainrule.nn.training.compiled`).
    * ``fewer_collections`` (on by default) lets Python's cyclic garbage collector run less often
      while training: chainrule's graphs hold no reference cycles, so its scans find nothing
      (see :func:`chainrule.engine.fewer_collections`; restored when ``fit`` returns).

    The model is in training mode (``model.train()``) for the steps and in eval mode for the
    validation pass; ``fit`` restores the mode it found. Called inside ``no_grad()``, where no
    graph is recorded and nothing could be learned, ``fit`` raises a :class:`ConfigurationError`
    (PyTorch would raise at ``backward()``) rather than return an untrained model.

    Interrupted training keeps what it learned: on Ctrl-C (KeyboardInterrupt) ``fit`` prints a
    note and returns the History of the completed epochs with ``history.interrupted`` set; any
    other exception propagates with that History attached as ``error.history``.
    """
    model = check_model(model, "fit")
    if not is_recording():
        raise ConfigurationError(
            "fit: called inside no_grad(), where no graph is recorded and so nothing could be "
            "learned; call fit outside the no_grad() block")
    rows, targets = check_data(model, X, y, "fit")
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
    val_rows: list[Any] = []
    val_targets: list[Any] = []
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise DataError("fit: validation must be a pair (X_val, y_val)")
        val_rows, val_targets = check_data(model, validation[0], validation[1], "fit: validation")
    hooks = _callbacks(callback, callbacks)
    for hook in hooks:
        set_model = getattr(hook, "set_model", None)
        if set_model is not None:
            set_model(model)

    steps = choose_steps(compile, Problem(model, loss, model.parameters(), l2, rows, targets))
    rng = random.Random(seed)
    history = History()
    history.recording = _recording(record, record_limit, model)
    if history.recording is not None:
        history.recording.add(_snapshot(0, model, history, norms=False))
    bar = progress_bar(progress, epochs)
    order = list(range(n))
    classify: Classifier | None = None
    step = 0
    was_training = model.training
    model.train()
    settings = contextlib.ExitStack()
    if fewer_collections:
        settings.enter_context(relaxed_collector())
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
                done = steps.gradients(batch)
                optimizer.step()
                step += 1
                total += done.objective * len(batch)
                if classify is None and epoch == 0 and start == 0:
                    classify = classifier(isinstance(done.outputs[0], list), targets, loss)
                if classify is not None:
                    correct += count_correct(classify, done.outputs, done.targets)
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
            show_epoch(bar, history.loss[-1], history.accuracy[-1])
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
        add_note = getattr(error, "add_note", None)  # Python >= 3.11
        if add_note is not None:
            add_note(f"fit: the History of the {history.epochs} completed epoch(s) is "
                           "attached to this exception as .history")
        raise
    finally:
        settings.close()
        model.train(was_training)
        if bar is not None:
            bar.close()
        if history.recording is not None and history.epochs and not history.interrupted:
            history.recording.finish(_snapshot(history.epochs, model, history, norms=True))
    return history
