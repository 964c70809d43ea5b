"""What :func:`~chainrule.nn.fit` returns: the :class:`History` of a run, and the snapshots
it records on request (parameters, loss, accuracy and per-layer gradient norms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..module import Module


class Page(Protocol):
    """A page that shows a recorded run: what :meth:`History.explorer` returns (the training
    explorer's :class:`~chainrule.nn.Explorer`)."""

    def html(self) -> str: ...

    def save_html(self, path: str | Path) -> Path: ...

    def _repr_html_(self) -> str: ...


#: Makes a run's page: ``maker(history, model, X, y, **options)``.
PageMaker = Callable[..., Page]
#: Set by :func:`register_page`. The record does not know its page: the explorer package,
#: which depends on this module, registers itself here when imported (as importing
#: ``chainrule.nn`` does), so the dependency points from the page to the record.
_page_makers: list[PageMaker] = []


def register_page(maker: PageMaker) -> None:
    """Make ``maker`` what :meth:`History.explorer` and :meth:`History.save_html` use
    (:func:`chainrule.nn.explorer.explore` is registered when the explorer is imported)."""
    if not callable(maker):
        raise ConfigurationError(f"register_page: expected a callable, got {maker!r:.40}")
    _page_makers[:] = [maker]


@dataclass(frozen=True)
class Snapshot:
    """The model as it was at the end of ``epoch`` (epoch 0: before training).

    ``parameters`` follows ``model.named_parameters()`` and holds the values after the epoch's
    last step; ``loss`` and ``accuracy`` (and the validation pair) are the History's entries for
    that epoch, so, as in the History, loss and accuracy were measured during the epoch, before
    each update. ``gradient_norms`` is the norm of each layer's gradients at the epoch's last
    step. At epoch 0 everything but the parameters is ``None``.
    """

    epoch: int
    parameters: tuple[float, ...]
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    gradient_norms: dict[str, float] | None


class Recording:
    """Snapshots taken every ``every`` epochs, at most ``limit`` of them (plus the last epoch).

    When the limit is reached, every second snapshot is dropped and the interval doubles, so a
    long run keeps an evenly spaced sample of itself in bounded memory. Epoch 0 (the starting
    parameters) is always kept.
    """

    def __init__(self, names: Sequence[str], every: int = 1, limit: int = 200) -> None:
        self.names = tuple(names)
        self.every = every
        self.limit = max(limit, 2)
        self.snapshots: list[Snapshot] = []

    def wants(self, epoch: int) -> bool:
        """Whether a snapshot is to be taken at ``epoch`` (every ``every`` epochs)."""
        return epoch % self.every == 0

    def add(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` (taken at an epoch that :meth:`wants`), thinning when full."""
        self.snapshots.append(snapshot)
        while len(self.snapshots) > self.limit:
            self.every *= 2
            self.snapshots = [s for s in self.snapshots if s.epoch % self.every == 0]

    def finish(self, snapshot: Snapshot) -> None:
        """Keep the last epoch of a run, whatever the interval (one beyond the limit)."""
        if not self.snapshots or self.snapshots[-1].epoch != snapshot.epoch:
            self.snapshots.append(snapshot)

    @property
    def epochs(self) -> list[int]:
        """The epoch of each snapshot kept, in order."""
        return [s.epoch for s in self.snapshots]

    def __len__(self) -> int:
        return len(self.snapshots)

    def __repr__(self) -> str:
        return (f"Recording({len(self.snapshots)} snapshots, epochs {self.epochs[:1]}..."
                f"{self.epochs[-1:]}, every {self.every})")


@dataclass
class History:
    """What happened during :func:`~chainrule.nn.fit`, one entry per epoch.

    ``loss`` is the training objective averaged over the epoch's batches (including the L2
    penalty, if any); ``accuracy`` is measured on the same forward passes, before each update
    (``None`` when the targets are not class labels); ``learning_rate`` is the rate of the
    epoch's last step. ``val_loss`` and ``val_accuracy`` hold the validation results when
    ``fit`` is given validation data, ``None`` for each epoch otherwise, so that every column
    has one entry per epoch: ``pandas.DataFrame(dataclasses.asdict(history))`` works, as do
    :meth:`records` and :meth:`to_dataframe`.

    Besides the columns: ``recording`` (the snapshots of ``fit(record=...)``, else None),
    ``interrupted`` (True when training was cut short by an exception or Ctrl-C) and
    ``stop_reason`` (why training ended before ``epochs``, in words, else None).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Not dataclass fields: asdict(history) stays a table of equal-length columns.
        self.recording: Recording | None = None
        self.interrupted: bool = False
        self.stop_reason: str | None = None

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    @property
    def best_accuracy(self) -> float | None:
        """The highest training accuracy reached, or None if accuracy was not measured."""
        measured = [a for a in self.accuracy if a is not None]
        return max(measured) if measured else None

    def records(self) -> list[dict[str, Any]]:
        """One dict per epoch: ``{"epoch": 1, "loss": ..., "accuracy": ..., ...}``."""
        columns = [f.name for f in fields(self)]
        return [
            {"epoch": k + 1, **{name: getattr(self, name)[k] for name in columns}}
            for k in range(self.epochs)
        ]

    def to_dataframe(self) -> Any:
        """The history as a ``pandas.DataFrame`` indexed by epoch (pandas is not a dependency
        of chainrule: this needs it installed)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("History.to_dataframe() needs pandas: pip install pandas "
                              "(or use history.records(), which needs nothing)") from None
        return pandas.DataFrame.from_records(self.records(), index="epoch",
                                             columns=["epoch", *(f.name for f in fields(self))])

    def explorer(self, model: Module, X: Sequence[Any], y: Sequence[Any], **options: Any
                 ) -> Page:
        """The training explorer of this run (see :func:`chainrule.nn.explorer.explore`)."""
        if not _page_makers:
            raise ConfigurationError("History.explorer: no page is registered; "
                                     "import chainrule.nn.explorer")
        return _page_makers[0](self, model, X, y, **options)

    def save_html(self, path: str | Path, model: Module, X: Sequence[Any], y: Sequence[Any],
                  **options: Any) -> Path:
        """Write the training explorer page to ``path`` (and its walkthrough pages next to it);
        needs ``fit(..., record=...)``."""
        return self.explorer(model, X, y, **options).save_html(path)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(0 epochs)"
        last = f"loss {self.loss[-1]:.4g}"
        if self.accuracy[-1] is not None:
            last += f", accuracy {self.accuracy[-1]:.1%}"
        flags = ", interrupted" if self.interrupted else ""
        return f"History({self.epochs} epochs, last: {last}{flags})"
