"""The training explorer: one offline HTML page (see :func:`explore`)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from chainrule.engine import walkthrough
from chainrule.engine.explain.html import json_for_script

from ..data import Loss, check_data, single
from ..errors import ConfigurationError
from ..io import write_atomically
from ..module import Module
from ..training.history import History, Snapshot
from .frames import build, evenly, parameters_of

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
#: The package whose files the page is assembled from (``__package__`` is typed optional).
_PACKAGE = __name__.rpartition(".")[0]


@cache
def _asset(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


class Explorer:
    """The training explorer of one run: :meth:`save_html` writes the page (and the
    walkthrough pages it links to); in Jupyter it shows itself inline (without those links,
    which need files next to the page). Build it with :func:`explore`."""

    def __init__(self, data: dict[str, Any], model: Module, rows: list[Any], targets: list[Any],
                 loss: Loss | None, snapshots: list[Snapshot], shown: list[int],
                 samples: Sequence[int], walkthrough_epochs: int) -> None:
        self.data = data
        self._model = model
        self._rows = rows
        self._targets = targets
        self._loss = loss
        self._snapshots = snapshots
        self._samples = list(samples)
        self._walkthrough_frames = (
            evenly(len(snapshots), walkthrough_epochs) if loss is not None and samples else [])

    @property
    def title(self) -> str:
        """The page's title."""
        return str(self.data["title"])

    def html(self, walkthrough_links: Sequence[dict[str, Any]] = ()) -> str:
        """The page as one self-contained HTML document (a string)."""
        data = dict(self.data, walkthroughs=list(walkthrough_links))
        script = _asset("explorer.js")
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        fields = {
            "TITLE": html.escape(self.title),
            "CSS": _asset("explorer.css"),
            "DATA": json_for_script(data),
            "SCRIPT": script,
            "SCRIPT_HASH": f"sha256-{digest}",
        }
        return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], _asset("explorer.html"))

    def walkthrough_pages(self) -> list[tuple[str, int, int, Any]]:
        """``(file name, sample, epoch, Walkthrough)`` for each chosen sample at each chosen
        epoch: the step-by-step backward pass of that sample's loss with that epoch's
        parameters."""
        pages = []
        loss = self._loss
        assert loss is not None or not self._walkthrough_frames
        for k in self._walkthrough_frames:
            snapshot = self._snapshots[k]
            with parameters_of(self._model, snapshot):
                for i in self._samples:
                    value = loss([single(self._model(self._rows[i]))], [self._targets[i]])  # type: ignore[misc]
                    steps = walkthrough(value, title=f"Sample {i} (target {self._targets[i]}) "
                                                     f"at epoch {snapshot.epoch}: its loss, step by step")
                    pages.append((f"sample{i}_epoch{snapshot.epoch}.html", i, snapshot.epoch, steps))
        return pages

    def save_html(self, path: str | Path) -> Path:
        """Write the page to ``path`` and the walkthrough pages into ``<name>_steps/`` next
        to it; returns the page's path. Each file is written whole or not at all."""
        path = Path(path)
        folder = path.with_name(f"{path.stem}_steps")
        links = []
        pages = self.walkthrough_pages()
        if pages:
            folder.mkdir(parents=True, exist_ok=True)
        for name, sample, epoch, steps in pages:
            _write(folder / name, steps.html())
            links.append({"sample": sample, "epoch": epoch, "href": f"{folder.name}/{name}"})
        _write(path, self.html(links))
        return path

    def _repr_html_(self) -> str:
        page = html.escape(self.html(), quote=True)
        return (f'<iframe srcdoc="{page}" title="{html.escape(self.title)}" '
                'style="width: 100%; height: 760px; border: 1px solid #ccc"></iframe>')

    def __repr__(self) -> str:
        return f"Explorer({self.title!r}, {len(self.data['frames'])} frames)"


def _write(path: Path, text: str) -> None:
    write_atomically(path, text, "Explorer.save_html", refusal=ConfigurationError)


def _default_samples(targets: list[Any], count: int) -> list[int]:
    """The first sample of each class (then the next ones), ``count`` in all."""
    chosen: list[int] = []
    for t in dict.fromkeys(targets):
        if len(chosen) < count:
            chosen.append(targets.index(t))
    for i in range(len(targets)):
        if len(chosen) >= count:
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)


def explore(history: History, model: Module, X: Sequence[Any], y: Sequence[Any], *,
            loss: Loss | None = None, title: str | None = None, samples: Sequence[int] | int = 2,
            walkthrough_epochs: int = 3, max_frames: int = 30, grid: int = 32,
            max_points: int = 200) -> Explorer:
    """The training explorer of a run recorded with ``fit(..., record=True)``.

    One offline page with a slider and a play button over the recorded epochs: the decision
    boundary as a heatmap under the data (2-D inputs), loss and accuracy curves (and validation
    curves) with a cursor at the current epoch, the network with edge width by |w| and colour
    by sign (hover or focus a unit to see its outputs over the data), and per-layer gradient
    norms. Everything is computed here, from the recorded parameters and the model itself.

    With ``loss`` given, ``samples`` (indices, or how many to pick: the first of each class)
    get a link to the step-by-step walkthrough of their loss at ``walkthrough_epochs`` evenly
    spaced epochs (the nearest one before the current epoch is linked). See
    :mod:`chainrule.nn.explorer.frames` for how the page's size is bounded.
    """
    data, snapshots, shown = build(history, model, X, y, loss=loss, title=title,
                                   max_frames=max_frames, grid=grid, max_points=max_points)
    rows, targets = check_data(model, X, y, "explore")
    if isinstance(samples, bool):
        raise ConfigurationError(f"explore: samples must be a count or a list of indices, "
                                 f"got {samples!r}")
    if isinstance(samples, int):
        if samples < 0:
            raise ConfigurationError(f"explore: samples must be >= 0, got {samples}")
        chosen = _default_samples(targets, min(samples, len(rows)))
    else:
        chosen = list(samples)
        for i in chosen:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(rows):
                raise ConfigurationError(
                    f"explore: samples must be indices of X (0 to {len(rows) - 1}), got {i!r}")
    if isinstance(walkthrough_epochs, bool) or not isinstance(walkthrough_epochs, int) \
            or walkthrough_epochs < 1:
        raise ConfigurationError(
            f"explore: walkthrough_epochs must be a positive integer, got {walkthrough_epochs!r}")
    data["chosenSamples"] = chosen if loss is not None else []
    return Explorer(data, model, rows, targets, loss, snapshots, shown, chosen, walkthrough_epochs)
