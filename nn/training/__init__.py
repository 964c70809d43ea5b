"""Training: the loop (:func:`fit`), its :class:`History` and recorded snapshots, callbacks
(:class:`EarlyStopping`), and using a model (:func:`predict`, :func:`accuracy`,
:func:`evaluate`)."""

from .callbacks import Callback, EarlyStopping
from .evaluation import Evaluation, accuracy, evaluate, predict
from .history import History, Recording, Snapshot
from .loop import fit

__all__ = [
    "Callback",
    "EarlyStopping",
    "Evaluation",
    "History",
    "Recording",
    "Snapshot",
    "accuracy",
    "evaluate",
    "fit",
    "predict",
]
