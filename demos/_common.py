"""What the training demos share: command line, figures and tables.

Figures are drawn by :mod:`chainrule.nn.plot` on matplotlib's Agg backend (no display needed)
into the folder given by ``--out`` (``out/<demo>/`` by default); ``--fast`` makes a short run
for the tests.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chainrule.nn import Module, plot

REPO = Path(__file__).resolve().parent.parent


def parse_args(demo: str, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out", type=Path, default=REPO / "out" / demo,
        help=f"folder for the figures (default: out/{demo}/)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="a short run (fewer points and epochs), for tests",
    )
    parser.add_argument(
        "--publish", action="store_true",
        help="also copy the README's figures into demos/images/ (a maintainer's step; a demo "
             "otherwise writes only under --out)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def _agg() -> None:
    """Draw on matplotlib's Agg backend: the demos write files and need no display."""
    import matplotlib

    matplotlib.use("Agg")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, for the demos' own figures."""
    _agg()
    import matplotlib.pyplot as plt

    return plt


def plot_loss(curves: dict[str, Sequence[float]], path: Path, title: str) -> Path:
    _agg()
    return plot.save_figure(plot.loss_curves(curves, title=title), path)


def plot_decision_regions(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    path: Path,
    title: str,
    *,
    threshold: float = 0.0,
    labels: tuple[int, int] = (0, 1),
    resolution: int = 60,
    margin: float = 0.5,
    lines: Sequence[tuple[Sequence[float], Sequence[float], str]] = (),
) -> Path:
    """The model's class for every point of a grid around the data, with the data on top."""
    _agg()
    figure = plot.decision_regions(model, X, y, title=title, threshold=threshold, labels=labels,
                                   resolution=resolution, margin=margin, lines=lines)
    return plot.save_figure(figure, path)


def publish(figure: Path, name: str) -> Path:
    """Copy a figure the README shows into demos/images/ (committed, so it renders on GitHub)."""
    target = REPO / "demos" / "images" / name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(figure, target)
    return target


def show_saved(paths: Sequence[Path]) -> None:
    print("figures:")
    for path in paths:
        try:
            shown = path.resolve().relative_to(Path.cwd())
        except ValueError:
            shown = path
        print(f"  {shown}")
