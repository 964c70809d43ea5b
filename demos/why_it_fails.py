"""Why a network does not learn: four failures, each diagnosed in plain words by
chainrule.nn.diagnose, and the training explorer of two runs that work.

1. The Keras XOR recipe from the tutorials, as written: Dense(4, sigmoid) -> Dense(1, sigmoid),
   Glorot-uniform weights, SGD with Keras's default lr 0.01, MSE, 3,000 full-batch epochs. The
   loss never leaves 0.25; diagnosed: learning rate too small. Fixed at lr 0.5.
2. A chain of 10 sigmoid neurons (every weight 1): the gradient reaching the first layer is
   about a millionth of the one reaching the last. Diagnosed: vanishing gradients.
3. A relu network trained with too large a step: some units die. Diagnosed: dead relu units.
4. A single neuron on XOR: no straight line separates the classes. Diagnosed as such.

It writes one figure per case, and the explorer pages of the fixed XOR run and of two moons,
into out/why_it_fails/ (or --out DIR). With playwright and Chromium installed it also takes a
screenshot of the moons explorer mid-training.

Run: python demos/why_it_fails.py [--out FOLDER] [--fast]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _common import parse_args, plot_decision_regions, plot_loss, pyplot, show_saved

from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    Neuron,
    accuracy,
    bce_with_logits,
    binary_cross_entropy,
    datasets,
    diagnose,
    fit,
    mse,
)
from chainrule.nn.anatomy import layers_of, unit_activations
from chainrule.nn.diagnosis import layer_gradient_norms
from chainrule.nn.explorer.frames import parameters_of

CHROMIUM = Path("/usr/bin/chromium")


def heading(text: str) -> None:
    print()
    print(text)
    print("-" * len(text))


def first_epoch_all_right(accuracies: list[Any]) -> int | None:
    return next((k + 1 for k, a in enumerate(accuracies) if a == 1.0), None)


def keras_xor(out: Path, epochs: int, fixed_epochs: int) -> tuple[list[Path], Any]:
    heading(f"1. The Keras XOR recipe: sigmoid 2-4-1, SGD lr 0.01, MSE, {epochs:,} epochs")
    X, y = datasets.xor()

    def keras_model() -> MLP:
        return MLP(2, [4, 1], activation="sigmoid", output_activation="sigmoid",
                   init="xavier_uniform", seed=0)

    model = keras_model()
    slow = fit(model, X, y, mse, SGD(model, lr=0.01), epochs=epochs, progress=False)
    print(f"loss {slow.loss[0]:.4f} at epoch 1, {slow.loss[-1]:.4f} at epoch {epochs:,}; "
          f"accuracy {slow.accuracy[-1]:.0%}")
    print(diagnose(model, X, y, loss=mse, history=slow))

    fixed_model = keras_model()
    fixed = fit(fixed_model, X, y, mse, SGD(fixed_model, lr=0.5), epochs=fixed_epochs,
                progress=False, record=10)
    solved = first_epoch_all_right(fixed.accuracy)
    print()
    print(f"fixed, lr 0.5: loss {fixed.loss[-1]:.4f} after {fixed_epochs:,} epochs, all four "
          f"cases right "
          f"from epoch {solved:,}" if solved else "fixed, lr 0.5: not solved")
    print(diagnose(fixed_model, X, y, loss=mse, history=fixed))
    figure = plot_loss({"lr 0.01 (as written)": slow.loss, "lr 0.5": fixed.loss},
                       out / "keras_xor_loss.png", "The Keras XOR recipe: MSE loss per epoch")
    page = fixed.save_html(out / "xor_explorer.html", fixed_model, X, y, loss=mse,
                           title="XOR, the Keras recipe at lr 0.5", samples=[1, 3])
    return [figure, page], fixed


def sigmoid_chain(out: Path) -> list[Path]:
    heading("2. A chain of 10 sigmoid neurons, every weight 1")
    model = MLP(1, [1] * 10, activation="sigmoid", output_activation="sigmoid", seed=0)
    for name, p in model.named_parameters():
        p.data = 1.0 if name.endswith("w0") else 0.0
    X = [[x / 10] for x in range(-10, 11, 4)]
    y = [0, 1, 0, 1, 0, 1]
    norms = layer_gradient_norms(model, X, y, mse)
    last = norms[-1][1]
    print("gradient reaching each layer, relative to the last:")
    print("  " + ", ".join(f"{name} {n / last:.2g}" for name, n in norms))
    print(diagnose(model, X, y, loss=mse))
    plt = pyplot()
    fig, axes = plt.subplots(figsize=(6, 3.6))
    axes.bar([name.replace("layer", "") for name, _ in norms], [n / last for _, n in norms],
             color="#0072B2")
    axes.set_yscale("log")
    axes.set_xlabel("layer (0 = next to the input)")
    axes.set_ylabel("gradient norm / last layer's")
    axes.set_title("10 sigmoid layers: the gradient vanishes on its way back")
    axes.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path = out / "sigmoid_chain_gradients.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def dead_relu(out: Path, epochs: int) -> list[Path]:
    heading(f"3. A relu network 2-8-8-1 on two moons, SGD at lr 2.0 for {epochs} epochs")
    X, y = datasets.moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="relu", seed=0)
    history = fit(model, X, y, bce_with_logits, SGD(model, lr=2.0), epochs=epochs,
                  progress=False)
    print(f"accuracy {history.accuracy[-1]:.0%}")
    print(diagnose(model, X, y, loss=bce_with_logits, history=history))
    layers = layers_of(model)
    assert layers is not None
    outputs = unit_activations(layers, X)
    names, shares = [], []
    for layer, units in zip(layers[:-1], outputs[:-1], strict=True):
        for j, pattern in enumerate(units):
            names.append(f"{layer.name[-1]}.{j}")
            shares.append(sum(1 for a in pattern if a > 0) / len(pattern))
    plt = pyplot()
    fig, axes = plt.subplots(figsize=(7, 3.6))
    axes.bar(names, shares, color="#0072B2")
    for k, share in enumerate(shares):
        if share == 0:
            axes.text(k, 0.02, "dead", rotation=90, ha="center", va="bottom", color="#B35900")
    axes.set_xlabel("hidden unit (layer.neuron)")
    axes.set_ylabel("share of samples where active")
    axes.set_ylim(0, 1)
    axes.set_title("relu units after training at lr 2.0")
    fig.tight_layout()
    path = out / "dead_relu_units.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def single_neuron(out: Path) -> list[Path]:
    heading("4. A single sigmoid neuron on XOR, Adam lr 0.1, 300 epochs")
    X, y = datasets.xor()
    neuron = Neuron(2, "sigmoid", seed=0)
    history = fit(neuron, X, y, binary_cross_entropy, Adam(neuron, lr=0.1), epochs=300,
                  progress=False, record=True)
    print(f"accuracy {history.accuracy[-1]:.0%} (best {history.best_accuracy:.0%})")
    print(diagnose(neuron, X, y, loss=binary_cross_entropy, history=history))
    assert history.recording is not None
    scored = []
    for snapshot in history.recording.snapshots:
        with parameters_of(neuron, snapshot):
            scored.append((accuracy(neuron, X, y, loss=binary_cross_entropy), snapshot.epoch,
                           snapshot))
    right, _, best = max(scored, key=lambda t: t[:2])
    with parameters_of(neuron, best):
        return [plot_decision_regions(
            neuron, X, y, out / "single_neuron_xor.png",
            f"A single neuron on XOR at its best (epoch {best.epoch}): {right:.0%}",
            threshold=0.5, resolution=50)]


def moons_explorer(out: Path, points: int, epochs: int, picture: bool) -> list[Path]:
    heading(f"The training explorer: two moons, tanh 2-8-8-1, Adam lr 0.03, {epochs} epochs")
    X, y = datasets.moons(points, noise=0.15, seed=0)
    X_val, y_val = datasets.moons(50, noise=0.15, seed=1)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    history = fit(model, X, y, bce_with_logits, Adam(model, lr=0.03), epochs=epochs,
                  progress=False, record=True, validation=(X_val, y_val))
    print(f"accuracy {history.accuracy[-1]:.0%}, validation accuracy "
          f"{history.val_accuracy[-1]:.0%}")
    print(diagnose(model, X, y, loss=bce_with_logits, history=history))
    size = {} if picture else {"max_frames": 10, "grid": 20}  # --fast: a smaller page
    page = history.save_html(out / "moons_explorer.html", model, X, y, loss=bce_with_logits,
                             title="Two moons: a 2-8-8-1 tanh network learning", **size)
    return [page, *(screenshot(page, out / "explorer_moons.png") if picture else [])]


def screenshot(page: Path, path: Path) -> list[Path]:
    """The explorer at a third of training, with a unit hovered (needs playwright)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("(no screenshot: playwright is not installed)")
        return []
    if not CHROMIUM.exists():
        print(f"(no screenshot: no Chromium at {CHROMIUM})")
        return []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.goto(page.resolve().as_uri())
        tab.eval_on_selector("#slider", "s => { s.value = String(Math.round(s.max / 3)); "
                                        "s.dispatchEvent(new Event('input')); }")
        tab.hover("#network .unit >> nth=2")
        tab.screenshot(path=str(path), full_page=True)
        browser.close()
    return [path]


def main() -> None:
    args = parse_args("why_it_fails", __doc__.splitlines()[0])
    # --fast: shorter runs (the fixed XOR run still gets all four right), no screenshot.
    keras, fixed, relu, points, moons = (600, 2000, 30, 40, 20) if args.fast else (
        3000, 3000, 60, 100, 150)
    figures, _ = keras_xor(args.out, keras, fixed)
    figures += sigmoid_chain(args.out)
    figures += dead_relu(args.out, relu)
    figures += single_neuron(args.out)
    figures += moons_explorer(args.out, points, moons, picture=not args.fast)
    print()
    show_saved(figures)


if __name__ == "__main__":
    main()
