"""Figures for training and teaching: loss curves, decision regions and activation functions.

Every function returns a matplotlib ``Figure`` drawn with ``pyplot`` on whatever backend is in
use: in Jupyter it shows inline (end the line with ``;`` so it is not shown twice), in a script
save it with :func:`save_figure`. matplotlib is imported only when a figure is drawn, so
``import chainrule.nn`` never needs it; without it these functions raise an ``ImportError`` that
says to install the ``plot`` extra.

>>> from chainrule.nn import plot                          # doctest: +SKIP
>>> plot.loss_curves(history);                              # doctest: +SKIP
>>> plot.decision_regions(model, X, y, threshold=0.5);      # doctest: +SKIP
>>> plot.activations(["sigmoid", "tanh", "relu"]);          # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainrule.engine import Value, grad

from .activations import ACTIVATIONS
from .errors import ConfigurationError, DataError
from .module import Module
from .training import History, predict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: One colour per class or curve, readable by colour-blind viewers (Okabe and Ito's palette).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "chainrule.nn.plot needs matplotlib: pip install 'chainrule[plot]'"
        ) from None
    return plt


def save_figure(figure: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``figure`` to ``path`` (PNG, SVG or PDF, from the suffix) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    _pyplot().close(figure)
    return path


# -- loss curves -------------------------------------------------------------------------------


def loss_curves(
    curves: History | Sequence[float] | Mapping[str, Sequence[float] | History],
    *,
    title: str = "loss during training",
    log_scale: bool = True,
) -> Figure:
    """The loss per epoch: one curve, a :class:`History` (with its validation loss, if any), or
    several named ones (``{"single neuron": h1.loss, "hidden layer": h2.loss}``)."""
    named = _named_curves(curves)
    plt = _pyplot()
    figure: Figure
    figure, axes = plt.subplots(figsize=(6, 4))
    for (name, losses), colour in zip(named.items(), COLOURS * len(named), strict=False):
        axes.plot(range(1, len(losses) + 1), losses, label=name, color=colour)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    if log_scale and all(v > 0 for losses in named.values() for v in losses):
        axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if len(named) > 1:
        axes.legend()
    figure.tight_layout()
    return figure


def _named_curves(curves: Any) -> dict[str, list[float]]:
    if isinstance(curves, History):
        named: dict[str, Any] = {"training": curves.loss}
        if any(v is not None for v in curves.val_loss):  # fit without validation: all None
            named["validation"] = curves.val_loss
    elif isinstance(curves, Mapping):
        named = {str(name): c.loss if isinstance(c, History) else c for name, c in curves.items()}
    else:
        named = {"loss": curves}
    result = {}
    for name, losses in named.items():
        if isinstance(losses, (str, bytes)) or not isinstance(losses, Sequence) or not losses:
            raise DataError(f"loss_curves: curve {name!r} must be a non-empty list of losses, "
                            f"got {losses!r:.40}")
        values = [float(v) for v in losses]
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"loss_curves: curve {name!r} holds a value that is not finite")
        result[name] = values
    return result


# -- decision regions --------------------------------------------------------------------------


def decision_regions(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    *,
    title: str = "decision regions",
    threshold: float = 0.5,
    labels: tuple[int, int] = (0, 1),
    resolution: int = 60,
    margin: float = 0.5,
    lines: Sequence[tuple[Sequence[float], Sequence[float], str]] = (),
) -> Figure:
    """The class the model gives every point of a grid around 2-D data, with the data on top.

    A model with one output assigns ``labels[1]`` where its output exceeds ``threshold``
    (0.5 for a sigmoid output, 0 for hinge or logits); a model with several outputs assigns the
    index of the largest. ``lines`` adds dashed lines ``(xs, ys, name)``, such as a neuron's
    own boundary.
    """
    if len(X) != len(y) or not X:
        raise DataError(f"decision_regions: X has {len(X)} samples and y has {len(y)} labels")
    if any(len(p) != 2 for p in X):
        raise DataError("decision_regions: draws 2-D data only (every sample must have 2 features)")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ConfigurationError(f"decision_regions: resolution must be an int >= 2, got {resolution!r}")
    from matplotlib.colors import ListedColormap

    plt = _pyplot()
    xs = [float(p[0]) for p in X]
    ys = [float(p[1]) for p in X]
    x_low, x_high = min(xs) - margin, max(xs) + margin
    y_low, y_high = min(ys) - margin, max(ys) + margin
    grid_x = [x_low + (x_high - x_low) * i / (resolution - 1) for i in range(resolution)]
    grid_y = [y_low + (y_high - y_low) * j / (resolution - 1) for j in range(resolution)]
    outputs = predict(model, [[gx, gy] for gy in grid_y for gx in grid_x])
    figure: Figure
    figure, axes = plt.subplots(figsize=(5.5, 5))
    if isinstance(outputs[0], list):
        # Region of class k: where its output beats every other one. Contouring that margin
        # (rather than the argmax) draws smooth boundaries instead of grid-sized steps.
        class_ids = list(range(len(outputs[0])))
        index = {c: c % len(COLOURS) for c in class_ids}
        for k in class_ids:
            margin_k = [o[k] - max(v for j, v in enumerate(o) if j != k) for o in outputs]
            grid = [margin_k[j * resolution : (j + 1) * resolution] for j in range(resolution)]
            top = max(max(margin_k), 0.0) + 1.0
            axes.contourf(grid_x, grid_y, grid, levels=[0.0, top], colors=[COLOURS[index[k]]],
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
                      cmap=ListedColormap(list(COLOURS[:2])), alpha=0.3)
        if low < threshold < high:
            axes.contour(grid_x, grid_y, grid, levels=[threshold], colors="black", linewidths=0.8)
    for c in class_ids:
        members = [p for p, label in zip(X, y, strict=True) if label == c]
        axes.scatter([p[0] for p in members], [p[1] for p in members], s=28,
                     color=COLOURS[index[c]], edgecolors="black", linewidths=0.5,
                     label=f"class {c}")
    for line_x, line_y, name in lines:
        axes.plot(line_x, line_y, "k--", linewidth=1.5, label=name)
    axes.set_xlim(x_low, x_high)
    axes.set_ylim(y_low, y_high)
    axes.set_title(title)
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


# -- activation functions ----------------------------------------------------------------------


def activations(
    names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu"),
    *,
    derivatives: bool = True,
    x_range: tuple[float, float] = (-5.0, 5.0),
    points: int = 201,
) -> Figure:
    """Each activation function (left) and, with ``derivatives``, its slope (right), both
    computed by the engine: the values by the function itself, the slopes by :func:`grad`."""
    unknown = [n for n in names if n not in ACTIVATIONS or ACTIVATIONS[n].kind == "linear"]
    if unknown or not names:
        raise ConfigurationError(
            f"activations: unknown activation {unknown[0] if unknown else None!r}; choose from "
            + ", ".join(n for n, a in ACTIVATIONS.items() if a.kind != "linear")
        )
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ConfigurationError(f"activations: points must be an int >= 2, got {points!r}")
    low, high = (float(v) for v in x_range)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigurationError(f"activations: x_range must be (low, high) with low < high, "
                                 f"got {x_range!r}")
    plt = _pyplot()
    xs = [low + (high - low) * i / (points - 1) for i in range(points)]
    figure: Figure
    figure, panels = plt.subplots(1, 2 if derivatives else 1, figsize=(10 if derivatives else 5, 4),
                                  squeeze=False)
    for name, colour in zip(names, COLOURS * len(names), strict=False):
        function = ACTIVATIONS[name]  # the very function a Neuron applies (Value -> Value)
        panels[0][0].plot(xs, [function(Value(x)).data for x in xs], label=name, color=colour)
        if derivatives:
            slope = grad(function)
            panels[0][1].plot(xs, [float(slope(x)) for x in xs], label=name, color=colour)
    titles = ["activation f(x)", "derivative f'(x), by grad"]
    for axes, panel_title in zip(panels[0], titles, strict=False):
        axes.axhline(0.0, color="black", linewidth=0.5)
        axes.axvline(0.0, color="black", linewidth=0.5)
        axes.set_xlabel("x")
        axes.set_title(panel_title)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
