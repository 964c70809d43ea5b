"""Handwritten digits: an MLP learns the 8x8 images with softmax cross-entropy and Adam.

1,797 digits from scikit-learn's package (``datasets.digits()``, no download); a quarter held
out. Training runs through compiled programs (``fit(..., compile=True)``): every sample's
forward and backward pass as straight-line Python generated from the primitive table, with
the eager engine's numbers. The demo then times one epoch eagerly, through the Python
programs and through the numpy backend (``compile="numpy"``) from the same weights, and
checks that the three agree. It prints the confusion matrix and draws the digits it gets
wrong.

Run: python demos/digits.py [--out FOLDER] [--fast]   (needs the digits and plot extras;
numpy for the numpy timing)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import _agg, parse_args, plot_loss, show_saved

from chainrule.engine import jit
from chainrule.nn import MLP, Adam, History, cross_entropy, datasets, fit, train_test_split
from chainrule.nn.plot import save_figure

SEED = 0
CLASSES = 10


def epoch_times(seconds: list[float]) -> Any:
    """A callback that records when each epoch ends."""
    started = time.perf_counter()

    def callback(epoch: int, history: History) -> None:
        seconds.append(time.perf_counter() - started - sum(seconds))

    return callback


def network(hidden: int) -> MLP:
    return MLP(64, [hidden, CLASSES], activation="relu", init="he_uniform", seed=SEED)


def one_epoch(weights: dict[str, float], hidden: int, X: list, y: list, compile: bool | str
              ) -> tuple[float, float]:
    """One epoch from ``weights``: (seconds, its loss)."""
    model = network(hidden)
    model.load_state_dict(weights)
    started = time.perf_counter()
    history = fit(model, X, y, loss=cross_entropy, optimizer=Adam(model, lr=0.01), epochs=1,
                  batch_size=32, seed=SEED, progress=False, compile=compile)
    return time.perf_counter() - started, history.loss[0]


def confusion_matrix(truth: Sequence[int], predicted: Sequence[int]) -> list[list[int]]:
    matrix = [[0] * CLASSES for _ in range(CLASSES)]
    for t, p in zip(truth, predicted, strict=True):
        matrix[t][p] += 1
    return matrix


def print_confusion(matrix: list[list[int]]) -> None:
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{c:>5}" for c in range(CLASSES)))
    for t, row in enumerate(matrix):
        print(f"  {t:>3} " + "".join(f"{n:>5}" if n else "    ." for n in row))


def draw_mistakes(X: list, truth: list[int], predicted: list[int], path: Path) -> Path:
    _agg()
    import matplotlib.pyplot as plt

    wrong = [k for k, (t, p) in enumerate(zip(truth, predicted, strict=True)) if t != p][:24]
    columns = 8
    rows = max(1, math.ceil(len(wrong) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.2, rows * 1.45 + 0.5),
                                squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, k in zip(axes.flat, wrong, strict=False):
        ax.imshow([X[k][8 * r : 8 * r + 8] for r in range(8)], cmap="gray_r", vmin=0.0,
                  vmax=1.0)
        ax.set_title(f"{truth[k]} as {predicted[k]}", fontsize=9)
    figure.suptitle(f"Held-out digits the network gets wrong ({len(wrong)} shown): "
                    "true as predicted", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def main() -> None:
    args = parse_args("digits", __doc__.splitlines()[0])
    X, y = datasets.digits()
    epochs, hidden = (2, 8) if args.fast else (20, 32)
    if args.fast:
        X, y = X[:160], y[:160]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=SEED)
    model = network(hidden)
    initial = model.state_dict()
    print(f"{len(X)} digits, 8x8 pixels in [0, 1]: {len(X_train)} to train on, "
          f"{len(X_test)} held out")
    print(f"{model}: {len(model.parameters()):,} parameters; softmax cross-entropy, "
          f"Adam (lr=0.01), batches of 32, {epochs} epochs, compiled (compile=True)")

    seconds: list[float] = []
    history = fit(model, X_train, y_train, loss=cross_entropy, optimizer=Adam(model, lr=0.01),
                  epochs=epochs, batch_size=32, seed=SEED, progress=False, compile=True,
                  callback=epoch_times(seconds))
    for epoch in range(0, epochs, max(1, epochs // 5)):
        print(f"epoch {epoch + 1:3d}  loss {history.loss[epoch]:.4f}  "
              f"train accuracy {history.accuracy[epoch]:.1%}  ({seconds[epoch]:.2f} s)")

    forward = jit(lambda x: model(x))  # prediction: the forward pass, compiled
    predicted = []
    for x in X_test:
        scores = forward(x)
        predicted.append(max(range(CLASSES), key=scores.__getitem__))
    correct = sum(p == t for p, t in zip(predicted, y_test, strict=True))
    print(f"\nheld-out accuracy: {correct / len(y_test):.1%} ({correct} of {len(y_test)})\n")
    print_confusion(confusion_matrix(y_test, predicted))

    print("\none epoch from the same initial weights (the first epoch of the run above):")
    timings = {"eager": one_epoch(initial, hidden, X_train, y_train, False),
               "compiled (compile=True)": one_epoch(initial, hidden, X_train, y_train, True)}
    try:
        timings["numpy (compile='numpy')"] = one_epoch(initial, hidden, X_train, y_train, "numpy")
    except ImportError:
        print("  (numpy is not installed: no numpy timing)")
    eager_seconds, eager_loss = timings["eager"]
    for name, (spent, loss) in timings.items():
        speedup = "" if name == "eager" else f"  {eager_seconds / spent:5.1f}x faster"
        print(f"  {name:<24} {spent:7.2f} s   loss {loss:.15f}{speedup}")
    worst = max(abs(loss - eager_loss) / eager_loss for _, loss in timings.values())
    print(f"  the epoch losses agree to {worst:.1e} (relative); the compiled times include "
          "tracing and compiling the programs, and the first batch's check against eager")

    figures = [
        plot_loss({"training": history.loss}, args.out / "loss.png",
                  "digits: cross-entropy during training"),
        draw_mistakes(X_test, y_test, predicted, args.out / "mistakes.png"),
    ]
    print()
    show_saved(figures)


if __name__ == "__main__":
    main()
