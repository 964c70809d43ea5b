"""What the training explorer shows, computed in Python from the recorded parameters.

For every frame (a recorded epoch), the model is loaded with that epoch's parameters and asked
for its outputs on a grid (the decision boundary) and its units' outputs on the data; the page
only draws these numbers, it never computes the model itself. The model's own parameters are
put back afterwards.

The page size is bounded: at most ``max_frames`` frames (evenly spaced over the recorded epochs,
first and last always kept), a ``grid`` x ``grid`` heatmap per frame, at most ``max_points``
data points (evenly spaced over the data), curves thinned to at most 400 points, and one byte per
heatmap cell and per unit output (base64). Measured: a 2-8-8-1 network on 100 points makes a
page of 260 KB at the defaults (30 frames, 32 x 32); a 2-16-16-1 network 690 KB at 40 frames and
36 x 36. The walkthrough pages it links to are
written separately, one per chosen sample and chosen epoch (by default 2 samples at 3 epochs);
their size grows with the graph of one sample's loss: about 135 KB for a 2-4-1 network (about 50
nodes), 850 KB for a 2-8-8-1 network (315 nodes).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from chainrule.engine import jit, sigmoid

from ..activations import ACTIVATIONS
from ..anatomy import layers_of, relative_slope, saturates, unit_activations
from ..data import Loss, check_data, check_model, is_integral, single
from ..diagnosis import SATURATED_SLOPE
from ..errors import ConfigurationError, DataError
from ..losses import DECISION_THRESHOLDS
from ..module import Module
from ..training.history import History, Snapshot

CURVE_POINTS = 400


def evenly(count: int, limit: int) -> list[int]:
    """At most ``limit`` indices out of ``range(count)``, evenly spaced, first and last kept."""
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [count - 1]
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})


def _bytes(values: Sequence[float]) -> str:
    """Numbers in [0, 1] as one byte each (0..255), base64-encoded."""
    return base64.b64encode(bytes(
        min(255, max(0, round(v * 255.0))) for v in values)).decode("ascii")


@contextmanager
def parameters_of(model: Module, snapshot: Snapshot) -> Any:
    """The model with a snapshot's parameters for the duration of the block."""
    params = model.parameters()
    saved = [p.data for p in params]
    try:
        for p, value in zip(params, snapshot.parameters, strict=True):
            p.data = value
        yield model
    finally:
        for p, value in zip(params, saved, strict=True):
            p.data = value


def _scale(activation: str, values: list[list[float]]) -> list[list[float]]:
    """A layer's unit outputs mapped to [0, 1] for colouring: 0.5 is zero for the signed
    activations, sigmoid outputs are already probabilities."""
    if saturates(activation):  # a bounded output: its range is [0, 1]
        low, high = ACTIVATIONS[activation].output_range
        return [[(a - low) / (high - low) for a in unit] for unit in values]
    top = max((abs(a) for unit in values for a in unit), default=0.0) or 1.0
    return [[(a / top + 1.0) / 2.0 for a in unit] for unit in values]


def _unit_summary(activation: str, pattern: list[float]) -> dict[str, Any]:
    n = len(pattern)
    summary: dict[str, Any] = {"mean": sum(pattern) / n, "min": min(pattern), "max": max(pattern)}
    if ACTIVATIONS[activation].kind == "rectifier":
        summary["active"] = sum(1 for a in pattern if a > 0.0)
    elif saturates(activation):
        summary["saturated"] = sum(
            1 for a in pattern if relative_slope(activation, a) < SATURATED_SLOPE)
    return summary


class Classes:
    """How outputs are coloured: ``mode`` is "binary" (one output, two labels), "classes"
    (one output per class) or "none" (regression: no heatmap)."""

    def __init__(self, targets: list[Any], outputs: int, loss: Loss | None,
                 probability: bool) -> None:
        self.labels: list[int] = []
        self.mode = "none"
        self.threshold = 0.0
        self.probability = probability
        if not all(is_integral(t) for t in targets):
            return
        found = sorted({int(t) for t in targets})
        if outputs > 1:
            self.mode, self.labels = "classes", list(range(outputs))
        elif len(found) == 2:
            self.mode, self.labels = "binary", found
            default = 0.5 if probability else (found[0] + found[1]) / 2.0
            self.threshold = DECISION_THRESHOLDS.get(loss, default)  # type: ignore[arg-type]

    def shade(self, output: Any) -> float:
        """A binary output as the chance of the higher label, in [0, 1]; for several outputs
        the index of the largest, over 255 (one byte)."""
        if self.mode == "classes":
            data = list(output)
            return max(range(len(data)), key=data.__getitem__) / 255.0
        if self.probability and 0.0 < self.threshold < 1.0:
            # The probability scale is kept, with the decision threshold moved to 0.5.
            p, t = float(output), self.threshold
            return 0.5 * p / t if p <= t else 0.5 + 0.5 * (p - t) / (1.0 - t)
        return float(sigmoid(float(output) - self.threshold))


def build(history: History, model: Module, X: Sequence[Any], y: Sequence[Any], *,
          loss: Loss | None, title: str | None, max_frames: int, grid: int,
          max_points: int) -> tuple[dict[str, Any], list[Snapshot], list[int]]:
    """The page's data, the frames' snapshots and the indices of the shown data points."""
    model = check_model(model, "explore")
    rows, targets = check_data(model, X, y, "explore")
    if not isinstance(history, History):
        raise ConfigurationError(f"explore: history must be a History from fit, got "
                                 f"{type(history).__name__}")
    recording = history.recording
    if recording is None or not recording.snapshots:
        raise DataError("explore: this History has no recorded snapshots; train with "
                        "fit(..., record=True) (or record=k for every k epochs)")
    names = [name for name, _ in model.named_parameters()]
    if list(recording.names) != names:
        raise DataError("explore: the History was recorded on a different model (its "
                        f"parameters are {len(recording.names)} named {recording.names[:2]}..., "
                        f"the model's {len(names)} named {names[:2]}...)")
    layers = layers_of(model)
    if layers is None:
        raise ConfigurationError("explore: the model must be a Neuron, Layer or MLP (the page "
                                 "draws its layers)")
    for value, what in ((max_frames, "max_frames"), (grid, "grid"), (max_points, "max_points")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ConfigurationError(f"explore: {what} must be an integer >= 2, got {value!r}")

    chosen = [recording.snapshots[k] for k in evenly(len(recording.snapshots), max_frames)]
    shown = evenly(len(rows), max_points)
    points = [rows[i] for i in shown]
    classes = Classes(targets, len(layers[-1].neurons), loss, layers[-1].activation == "sigmoid")
    two_d = model.nin == 2 and classes.mode != "none"
    box = None
    cells: list[list[float]] = []
    if two_d:
        xs = [float(r[0]) for r in rows]
        ys = [float(r[1]) for r in rows]
        pad_x = 0.1 * (max(xs) - min(xs) or 1.0)
        pad_y = 0.1 * (max(ys) - min(ys) or 1.0)
        box = (min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y)
        # Canvas order: the top row (largest y) first, each row left to right; cell centres.
        cells = [
            [box[0] + (box[1] - box[0]) * (i + 0.5) / grid,
             box[3] - (box[3] - box[2]) * (j + 0.5) / grid]
            for j in range(grid) for i in range(grid)
        ]

    # The heat map runs the model on every cell of every frame: one compiled forward pass (the
    # same numbers as predict(), each call reading the parameters the frame has set).
    forward = jit(lambda x: single(model(x)))
    frames = []
    for snapshot in chosen:
        with parameters_of(model, snapshot):
            frame: dict[str, Any] = {
                "epoch": snapshot.epoch,
                "loss": snapshot.loss,
                "accuracy": snapshot.accuracy,
                "valLoss": snapshot.val_loss,
                "valAccuracy": snapshot.val_accuracy,
                "gradientNorms": None if snapshot.gradient_norms is None else [
                    snapshot.gradient_norms.get(layer.name, 0.0) for layer in layers],
                "weights": [[[p.data for p in neuron.parameters()] for neuron in layer.neurons]
                            for layer in layers],
            }
            if two_d:
                frame["heat"] = _bytes([classes.shade(forward(cell)) for cell in cells])
            activations = unit_activations(layers, points)
            frame["units"] = [
                [_unit_summary(layer.activation, pattern) for pattern in outputs]
                for layer, outputs in zip(layers, activations, strict=True)
            ]
            frame["activations"] = _bytes([
                v for layer, outputs in zip(layers, activations, strict=True)
                for unit in _scale(layer.activation, outputs) for v in unit
            ])
        frames.append(frame)

    keep = evenly(history.epochs, CURVE_POINTS)

    def curve(column: list[Any]) -> list[Any] | None:
        if not column or all(v is None for v in column):
            return None
        return [column[k] for k in keep]

    data = {
        "title": title or f"Training {type(model).__name__} over {history.epochs} epochs",
        "nin": model.nin,
        "layers": [{"name": layer.name, "activation": layer.activation,
                    "units": len(layer.neurons)} for layer in layers],
        "mode": classes.mode,
        "labels": classes.labels,
        "grid": grid if two_d else None,
        "box": box,
        "points": [[float(v) for v in row] for row in points] if two_d else None,
        "pointLabels": [int(targets[i]) if classes.mode != "none" else None for i in shown],
        "pointIndex": shown,
        "samples": len(rows),
        "frames": frames,
        "curves": {
            "epochs": [k + 1 for k in keep],
            "loss": curve(history.loss),
            "accuracy": curve(history.accuracy),
            "valLoss": curve(history.val_loss),
            "valAccuracy": curve(history.val_accuracy),
        },
        "recordedEvery": recording.every,
        "totalEpochs": history.epochs,
        "walkthroughs": [],
    }
    return data, chosen, shown
