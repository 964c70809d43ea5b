"""XOR: the problem a single neuron cannot solve, and a network with one hidden layer can.

A single sigmoid neuron draws one straight line through the plane; no straight line puts
(0, 1) and (1, 0) on one side and (0, 0) and (1, 1) on the other, so it never gets more than
3 of the 4 points right. One hidden layer of four tanh neurons bends the boundary and learns
XOR exactly.

Run: python demos/xor.py [--out FOLDER] [--fast]
"""

from __future__ import annotations

from _common import parse_args, plot_decision_regions, plot_loss, publish, show_saved

from chainrule.nn import MLP, Adam, History, Neuron, binary_cross_entropy, datasets, fit, predict

EPOCHS = 500
LEARNING_RATE = 0.05
SEED = 0


def train_single_neuron(X: list[list[float]], y: list[int]) -> tuple[Neuron, History, list[float]]:
    """Train one sigmoid neuron; also return its weights at its best epoch."""
    neuron = Neuron(2, activation="sigmoid", seed=SEED)
    # history.accuracy[k] is measured before epoch k's update, so snapshots[k] (the weights
    # after epoch k - 1) are the weights that scored it.
    snapshots = [[p.data for p in neuron.parameters()]]

    def remember(epoch: int, history: History) -> None:
        snapshots.append([p.data for p in neuron.parameters()])

    history = fit(neuron, X, y, loss=binary_cross_entropy, optimizer=Adam(neuron, lr=LEARNING_RATE),
                  epochs=EPOCHS, progress=False, callback=remember)
    # Of the lines it learned (after epoch 1) that reached the best accuracy, the most decided
    # one (largest weights): training shrinks the weights towards 0, where a line means nothing.
    best = [k for k, accuracy in enumerate(history.accuracy)
            if accuracy == history.best_accuracy and k > 0] or [0]
    best_epoch = max(best, key=lambda k: sum(w * w for w in snapshots[k]))
    return neuron, history, snapshots[best_epoch]


def straight_line(weights: list[float], x_range: tuple[float, float]) -> tuple[list[float], list[float]]:
    """Points of the neuron's boundary w0*x1 + w1*x2 + b = 0 across ``x_range``."""
    w0, w1, b = weights
    if abs(w1) > abs(w0):
        xs = list(x_range)
        return xs, [-(w0 * x + b) / w1 for x in xs]
    ys = [-1.0, 2.0]
    return [-(w1 * v + b) / w0 for v in ys], ys


def main() -> None:
    args = parse_args("xor", __doc__.splitlines()[0])
    resolution = 30 if args.fast else 80
    X, y = datasets.xor()

    print("XOR: the output is 1 when exactly one input is 1")
    print("  x1  x2 | x1 XOR x2")
    for (x1, x2), target in zip(X, y, strict=True):
        print(f"   {x1:.0f}   {x2:.0f} |     {target}")

    print()
    print("1. A single sigmoid neuron, sigmoid(w0*x1 + w1*x2 + b)")
    print(f"   trained with binary cross-entropy and Adam (lr={LEARNING_RATE}) for {EPOCHS} epochs")
    neuron, neuron_history, best_weights = train_single_neuron(X, y)
    best = neuron_history.best_accuracy or 0.0
    print(f"   best accuracy: {best:.0%} ({round(best * len(y))} of {len(y)}): "
          f"no straight line separates the two classes")
    outputs = ", ".join(f"{p:.3f}" for p in predict(neuron, X))
    print(f"   after training it outputs [{outputs}] for the four inputs: it gives up, and its")
    print(f"   loss stays at log(2) = {neuron_history.loss[-1]:.4f}, the loss of answering 0.5 everywhere")
    w0, w1, b = best_weights
    print(f"   its best line: {w0:+.3f}*x1 {w1:+.3f}*x2 {b:+.3f} = 0")

    print()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=SEED)
    print(f"2. One hidden layer: {model}, {model.num_parameters} parameters")
    print(f"   trained with binary cross-entropy and Adam (lr={LEARNING_RATE}) for {EPOCHS} epochs")

    def report(epoch: int, history: History) -> None:
        if epoch == 0 or (epoch + 1) % 100 == 0:
            print(f"   epoch {epoch + 1:4d}  loss {history.loss[-1]:.6f}  "
                  f"accuracy {history.accuracy[-1]:.0%}")

    history = fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model, lr=LEARNING_RATE),
                  epochs=EPOCHS, progress=False, callback=report)
    predictions = predict(model, X)

    print()
    print("   Truth table with predictions")
    print("    x1  x2 | target | prediction | class")
    for (x1, x2), target, p in zip(X, y, predictions, strict=True):
        predicted = int(p > 0.5)
        mark = "ok" if predicted == target else "WRONG"
        print(f"     {x1:.0f}   {x2:.0f} |   {target}    |   {p:.4f}   |  {predicted}  {mark}")

    print()
    print("   Mean squared error, sample by sample")
    print("    x1  x2 | target | prediction |   error  | squared error")
    squared = []
    for (x1, x2), target, p in zip(X, y, predictions, strict=True):
        error = target - p
        squared.append(error * error)
        print(f"     {x1:.0f}   {x2:.0f} |   {target}    |   {p:.4f}   | {error:+.5f} | {error * error:.8f}")
    print(f"   {'MSE = mean of the squared errors =':>45} {sum(squared) / len(squared):.8f}")

    print()
    # The trained neuron answers ~0.5 everywhere, so its final regions are noise: draw the
    # regions and the line of its best epoch instead.
    for p, value in zip(neuron.parameters(), best_weights, strict=True):
        p.data = value
    figures = [
        plot_loss({"single neuron": neuron_history.loss, "one hidden layer (4 tanh)": history.loss},
                  args.out / "loss.png", "XOR: binary cross-entropy during training"),
        plot_decision_regions(model, X, y, args.out / "decision_boundary.png",
                              "XOR learned by MLP(2, [4, 1]), tanh then sigmoid",
                              threshold=0.5, resolution=resolution),
        plot_decision_regions(neuron, X, y, args.out / "single_neuron.png",
                              f"A single neuron at its best: {best:.0%}",
                              threshold=0.5, resolution=resolution,
                              lines=[(*straight_line(best_weights, (-0.5, 1.5)), "its line")]),
    ]
    if args.publish and not args.fast:  # the README's figures come from the full run only
        figures += [publish(figures[2], "xor_single_neuron.png"),
                    publish(figures[1], "xor_network.png")]
    show_saved(figures)


if __name__ == "__main__":
    main()
