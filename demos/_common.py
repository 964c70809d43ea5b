"""What the training demos share: command line, figures and tables.

Figures are drawn with matplotlib's Agg backend (no display needed) into the folder given by
``--out`` (``out/<demo>/`` by default); ``--fast`` makes a short run for the tests.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chainrule.nn import Module, predict

REPO = Path(__file__).resolve().parent.parent
# One colour per class, readable by colour-blind viewers (Okabe and Ito's palette).
CLASS_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def parse_args(demo: str, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out", type=Path, default=REPO / "out" / demo,
        help=f"folder for the figures (default: out/{demo}/)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="a short run (fewer points and epochs), for tests",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported here: the library itself never needs it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(curves: dict[str, Sequence[float]], path: Path, title: str) -> Path:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, losses in curves.items():
        axes.plot(range(1, len(losses) + 1), losses, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if len(curves) > 1:
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


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
    from matplotlib.colors import ListedColormap

    plt = pyplot()
    xs = [p[0] for p in X]
    ys = [p[1] for p in X]
    x_low, x_high = min(xs) - margin, max(xs) + margin
    y_low, y_high = min(ys) - margin, max(ys) + margin
    grid_x = [x_low + (x_high - x_low) * i / (resolution - 1) for i in range(resolution)]
    grid_y = [y_low + (y_high - y_low) * j / (resolution - 1) for j in range(resolution)]
    points = [[gx, gy] for gy in grid_y for gx in grid_x]
    outputs = predict(model, points)
    figure, axes = plt.subplots(figsize=(5.5, 5))
    if isinstance(outputs[0], list):
        # Region of class k: where its output beats every other one. Contouring that margin
        # (rather than the argmax) draws smooth boundaries instead of grid-sized steps.
        class_ids = list(range(len(outputs[0])))
        index = {c: c for c in class_ids}
        for k in class_ids:
            margin_k = [o[k] - max(v for j, v in enumerate(o) if j != k) for o in outputs]
            grid = [margin_k[j * resolution : (j + 1) * resolution] for j in range(resolution)]
            top = max(max(margin_k), 0.0) + 1.0
            axes.contourf(grid_x, grid_y, grid, levels=[0.0, top], colors=[CLASS_COLOURS[k]],
                          alpha=0.3)
            axes.contour(grid_x, grid_y, grid, levels=[0.0], colors="black", linewidths=0.6)
    else:
        # Contour the output itself (not the rounded classes): the boundary, where the output
        # crosses the threshold, is then drawn smooth instead of in grid-sized steps.
        class_ids = list(labels)
        index = {c: i for i, c in enumerate(class_ids)}
        grid = [outputs[j * resolution : (j + 1) * resolution] for j in range(resolution)]
        low, high = min(outputs), max(outputs)
        levels = [min(low, threshold) - 1.0, threshold, max(high, threshold) + 1.0]
        axes.contourf(grid_x, grid_y, grid, levels=levels,
                      cmap=ListedColormap(CLASS_COLOURS[:2]), alpha=0.3)
        axes.contour(grid_x, grid_y, grid, levels=[threshold], colors="black", linewidths=0.8)
    for c in class_ids:
        members = [p for p, label in zip(X, y, strict=True) if label == c]
        axes.scatter([p[0] for p in members], [p[1] for p in members], s=28,
                     color=CLASS_COLOURS[index[c]], edgecolors="black", linewidths=0.5,
                     label=f"class {c}")
    for line_x, line_y, name in lines:
        axes.plot(line_x, line_y, "k--", linewidth=1.5, label=name)
    axes.set_xlim(x_low, x_high)
    axes.set_ylim(y_low, y_high)
    axes.set_title(title)
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


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
