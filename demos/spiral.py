"""Three interleaved spiral arms, separated by an MLP with softmax cross-entropy and Adam.

The classic multi-class example of Stanford's CS231n notes: no straight line separates any
arm from the others. The network outputs one logit per class; softmax turns them into
probabilities and the loss is -log(probability of the right class).

Run: python demos/spiral.py [--out FOLDER] [--fast]
"""

from __future__ import annotations

import time

from _common import parse_args, plot_decision_regions, plot_loss, show_saved

from chainrule.engine import no_grad
from chainrule.nn import (
    MLP,
    Adam,
    History,
    cross_entropy,
    datasets,
    fit,
    softmax,
    train_test_split,
)

SEED = 0
CLASSES = 3


def main() -> None:
    args = parse_args("spiral", __doc__.splitlines()[0])
    per_class, epochs, resolution = (30, 25, 30) if args.fast else (100, 40, 70)

    X, y = datasets.spiral(per_class, CLASSES, noise=0.2, seed=SEED)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=SEED)
    model = MLP(2, [16, 16, CLASSES], activation="relu", init="he_uniform", seed=SEED)
    print(f"{CLASSES} spiral arms of {per_class} points: {len(X_train)} to train on, "
          f"{len(X_test)} held out")
    print(model)
    print(model.summary())
    print(f"loss: softmax cross-entropy; Adam (lr=0.02), batches of 16, {epochs} epochs")
    print()

    def report(epoch: int, history: History) -> None:
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {history.loss[-1]:.4f}  "
                  f"train accuracy {history.accuracy[-1]:.1%}  "
                  f"test accuracy {history.val_accuracy[-1]:.1%}")

    started = time.perf_counter()
    history = fit(model, X_train, y_train, loss=cross_entropy, optimizer=Adam(model, lr=0.02),
                  epochs=epochs, batch_size=16, seed=SEED, validation=(X_test, y_test),
                  progress=False, callback=report)
    seconds = time.perf_counter() - started
    print(f"({seconds:.1f} s)")

    print()
    # The held-out point the network is least sure about: the smallest top probability.
    with no_grad():
        confidence = [max(p.data for p in softmax(model(x))) for x in X_test]
        k = confidence.index(min(confidence))
        point, target = X_test[k], y_test[k]
        logits = model(point)
        probabilities = softmax(logits)
        loss = cross_entropy(logits, target)
    print(f"the held-out point it is least sure about, ({point[0]:.3f}, {point[1]:.3f}), "
          f"of class {target}:")
    print("  class          " + "  ".join(f"{c:>8}" for c in range(CLASSES)))
    print("  logit          " + "  ".join(f"{z.data:+8.3f}" for z in logits))
    print("  softmax        " + "  ".join(f"{p.data:8.4f}" for p in probabilities))
    print(f"  cross-entropy  -log(softmax[{target}]) = -log({probabilities[target].data:.4f}) "
          f"= {loss.data:.4f}")

    figures = [
        plot_loss({"training": history.loss, "held out": history.val_loss},
                  args.out / "loss.png", "spiral: cross-entropy during training"),
        plot_decision_regions(model, X, y, args.out / "decision_regions.png",
                              f"spiral: decision regions, test accuracy {history.val_accuracy[-1]:.0%}",
                              resolution=resolution, margin=0.2),
    ]
    show_saved(figures)


if __name__ == "__main__":
    main()
