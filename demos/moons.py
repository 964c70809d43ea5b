"""micrograd's demo, on chainrule: a two-layer MLP separates two interleaving half moons.

The recipe is micrograd's demo.ipynb exactly: 100 points with noise 0.1, labels -1/+1,
MLP(2, [16, 16, 1]) with relu hidden layers and weights drawn from U(-1, 1) by a generator
seeded with 1337, the max-margin (hinge) loss plus 1e-4 times the sum of squared parameters,
and 100 full-batch steps of gradient descent with learning rate 1.0 - 0.9 k / 100.
(The data differ from micrograd's: sklearn draws its noise with numpy's generator.)

Run: python demos/moons.py [--out FOLDER] [--fast]
"""

from __future__ import annotations

import time

from _common import parse_args, plot_decision_regions, plot_loss, publish, show_saved

from chainrule.nn import MLP, SGD, History, LinearDecay, accuracy, datasets, fit, hinge

SEED = 1337
L2 = 1e-4


def main() -> None:
    args = parse_args("moons", __doc__.splitlines()[0])
    points, steps, resolution = (50, 40, 30) if args.fast else (100, 100, 70)

    X, labels = datasets.moons(points, noise=0.1, seed=SEED)
    y = datasets.signed_labels(labels)  # the hinge loss wants -1/+1
    model = MLP(2, [16, 16, 1], activation="relu", seed=SEED)
    print(f"{points} points in two moons (noise 0.1); labels -1 and +1")
    print(model)
    print(model.summary())
    print(f"number of parameters {model.num_parameters}")
    print(f"loss: hinge, mean of relu(1 - y * score), + {L2:g} * sum(p^2)")
    print(f"{steps} steps of full-batch gradient descent, lr = 1.0 - 0.9 * k / {steps}")
    print()

    def report(step: int, history: History) -> None:
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step} loss {history.loss[-1]:.6f}, accuracy {history.accuracy[-1]:.0%}")

    started = time.perf_counter()
    history = fit(model, X, y, loss=hinge, optimizer=SGD(model, lr=1.0), epochs=steps, l2=L2,
                  schedule=LinearDecay(1.0, 0.1, steps), progress=False, callback=report)
    seconds = time.perf_counter() - started
    final = accuracy(model, X, y, loss=hinge)
    print()
    print(f"training accuracy after {steps} steps: {final:.0%} ({seconds:.1f} s, "
          f"{seconds / steps * 1000:.0f} ms per step)")

    figures = [
        plot_loss({"hinge + L2": history.loss}, args.out / "loss.png",
                  "moons: loss during training"),
        plot_decision_regions(model, X, y, args.out / "decision_boundary.png",
                              f"moons: MLP(2, [16, 16, 1]), training accuracy {final:.0%}",
                              threshold=0.0, labels=(-1, 1), resolution=resolution, margin=0.6),
    ]
    if args.publish and not args.fast:  # the README's figure comes from the full run only
        figures.append(publish(figures[1], "moons.png"))
    show_saved(figures)


if __name__ == "__main__":
    main()
