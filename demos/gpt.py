"""A character-level GPT that learns to make up names: karpathy's microgpt, on chainrule.

microgpt's configuration (16-dimensional embeddings, 4 heads, 1 layer, block of 16, RMSNorm,
ReLU MLP, N(0, 0.08) weights; Adam with lr 0.01, betas 0.85 and 0.99, decaying linearly to 0)
trained on real first names (the US Census 1990 lists), one name per step. A tenth of the
names are held out: their loss shows what the model learned about names in general, not just
the ones it saw. Then it makes up 20 names, saves itself as JSON (and loads the file back, as a
check), and draws its loss curve and the attention weights of each head on one name.

Run: python demos/gpt.py [--steps N] [--out FOLDER] [--fast] [--publish]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, pyplot, show_saved

from chainrule.engine import draw, no_grad, walkthrough
from chainrule.nn import GPT, Adam, CharTokenizer, datasets, load, save, train_test_split

SEED = 42
CONFIG = {"n_embd": 16, "n_head": 4, "n_layer": 1, "block_size": 16}
LR, BETAS = 0.01, (0.85, 0.99)
SHOWN_NAME = "olivia"  # whose attention is drawn (not necessarily in the training data)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000,
                        help="training steps, one name each (default: 1000, as microgpt)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "gpt",
                        help="folder for the model and figures (default: out/gpt/)")
    parser.add_argument("--fast", action="store_true",
                        help="a short run for the tests (20 steps, fewer held-out names)")
    parser.add_argument("--publish", action="store_true",
                        help="also copy the README's figures into demos/images/")
    args = parser.parse_args()
    if args.fast:
        args.steps = min(args.steps, 20)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def mean_loss(model: GPT, tokenizer: CharTokenizer, names: list[str]) -> float:
    """The mean per-name loss, without recording a graph."""
    with no_grad():
        return sum(model.loss(tokenizer.encode(name)).data for name in names) / len(names)


def progress(steps: int) -> Any:  # a tqdm bar, or None without tqdm
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=steps, desc="training", unit="name", file=sys.stderr, mininterval=1.0,
                disable=None)


def plot_losses(steps: list[int], train: list[float], held_out: list[float], vocab_size: int,
                path: Path) -> Path:
    """``train[i]`` is the mean loss of the steps up to ``steps[i + 1]``; ``held_out[i]`` the
    held-out loss at ``steps[i]`` (step 0: before training)."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4))
    axes.plot(steps[1:], train, label="training names (mean since the last point)",
              color="#0072B2")
    axes.plot(steps, held_out, "o-", label="held-out names", color="#D55E00", markersize=4)
    uniform = math.log(vocab_size)
    axes.axhline(uniform, color="#555555", linestyle="--", linewidth=1,
                 label=f"guessing uniformly: ln {vocab_size} = {uniform:.2f}")
    axes.set_xlabel("training step (one name each)")
    axes.set_ylabel("loss (nats per predicted token)")
    axes.set_title("GPT on first names: mean next-character cross-entropy")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_attention(model: GPT, tokenizer: CharTokenizer, name: str, path: Path) -> Path:
    """One heat map per head: row t is how much the character at t looks at each earlier one."""
    tokens = tokenizer.encode(name)[:-1]  # the positions that make predictions
    maps = model.attention(tokens)[0]
    labels = ["BOS", *name]
    plt = pyplot()
    import matplotlib

    colours = matplotlib.colormaps["viridis"].copy()
    colours.set_bad("#e8e8e8")  # the future, which a causal model cannot see
    figure, axes = plt.subplots(1, model.n_head, figsize=(3.0 * model.n_head, 3.5),
                                layout="constrained")
    image = None
    for head, (ax, weights) in enumerate(zip(axes, maps, strict=True)):
        masked = [[w if s <= t else math.nan for s, w in enumerate(row)]
                  for t, row in enumerate(weights)]
        image = ax.imshow(masked, cmap=colours, vmin=0.0, vmax=1.0)
        ax.set_title(f"head {head}")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("looks at")
        if head == 0:
            ax.set_ylabel("reading")
    figure.suptitle(f"Attention weights of each head on {name!r}: row = the character being "
                    "read, column = where it looks (grey: the future, hidden)", fontsize=10)
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="weight")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def inside_pictures(model: GPT, tokenizer: CharTokenizer, out: Path) -> list[Path]:
    """The graph of one attention score, one box per module; and a walkthrough of a tiny GPT."""
    saved = []
    caches = model.new_cache()
    for token in tokenizer.encode("emma")[:3]:  # BOS, e, m
        model.step(token, caches)
    score = caches[0].scores[2][0][1]  # position 2 ('m'), head 0, looking at position 1 ('e')
    score.label = "score"
    if shutil.which("dot") is not None:
        saved.append(draw(score, collapse=2).render(out / "attention_score.svg"))
    tiny_tokens = CharTokenizer(["ab", "ba"])
    tiny = GPT(tiny_tokens.vocab_size, n_embd=4, n_head=1, n_layer=1, block_size=2,
               mlp_width=4, seed=0)
    steps = walkthrough(tiny.loss(tiny_tokens.encode("a")[:2]), lr=0.1,
                        title="Backpropagation through a tiny GPT predicting 'a' after BOS")
    saved.append(steps.save_html(out / "tiny_gpt_walkthrough.html"))
    return saved


def main() -> None:
    args = parse_args()
    names = datasets.names(seed=SEED)
    train, held_out = train_test_split(names, test_fraction=0.1, seed=SEED)
    evaluated = held_out[: 10 if args.fast else 100]
    tokenizer = CharTokenizer(names)
    model = GPT(tokenizer.vocab_size, **CONFIG, seed=SEED)
    optimizer = Adam(model.parameters(), lr=LR, betas=BETAS)
    uniform = math.log(tokenizer.vocab_size)
    print(f"{len(names):,} first names (US Census 1990): {len(train):,} to train on, "
          f"{len(held_out):,} held out ({len(evaluated)} of them measured)")
    print(f"vocabulary: {tokenizer.chars!r} + BOS = {tokenizer.vocab_size} tokens")
    print(f"{model}: {model.num_parameters:,} parameters")
    print(f"Adam lr={LR} betas={BETAS}, decaying linearly to 0 over {args.steps} steps")
    print(f"guessing uniformly would cost ln {tokenizer.vocab_size} = {uniform:.3f} nats")
    print()

    every = max(1, args.steps // (4 if args.fast else 10))
    curve_steps, train_curve = [0], []
    held_out_curve = [mean_loss(model, tokenizer, evaluated)]
    print(f"{'step':>6}  {'train loss':>10}  {'held-out loss':>13}")
    print(f"{0:>6}  {'':>10}  {held_out_curve[0]:>13.3f}")
    recent: list[float] = []
    bar = progress(args.steps)
    started = time.perf_counter()
    for step in range(args.steps):
        optimizer.lr = LR * (1 - step / args.steps)
        loss = model.loss(tokenizer.encode(train[step % len(train)]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        recent.append(loss.data)
        if bar is not None:
            bar.update()
            bar.set_postfix(loss=f"{loss.data:.3f}", refresh=False)
        if (step + 1) % every == 0 or step + 1 == args.steps:
            curve_steps.append(step + 1)
            train_curve.append(sum(recent) / len(recent))
            held_out_curve.append(mean_loss(model, tokenizer, evaluated))
            recent = []
            message = f"{step + 1:>6}  {train_curve[-1]:>10.3f}  {held_out_curve[-1]:>13.3f}"
            if bar is not None:
                bar.write(message, file=sys.stdout)
            else:
                print(message)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    print(f"({seconds:.0f} s, {seconds / args.steps * 1000:.0f} ms per step with the "
          f"held-out measurements)")
    print(f"held-out loss: {held_out_curve[0]:.3f} -> {held_out_curve[-1]:.3f} nats "
          f"(uniform guessing: {uniform:.3f})")
    print()

    samples = model.generate(tokenizer, count=20, temperature=0.5, seed=0)
    print("20 made-up names (temperature 0.5):")
    for i in range(0, 20, 5):
        print("  " + "  ".join(f"{s:<12}" for s in samples[i:i + 5]).rstrip())
    new = [s for s in samples if s and s not in set(names)]
    print(f"{len(new)} of them are not in the data set")
    print()

    model_path = args.out / "model.json"
    save(model, model_path)
    reloaded = load(model_path)
    assert reloaded.generate(tokenizer, count=20, temperature=0.5, seed=0) == samples
    print(f"saved the model to {model_path} and loaded it back: it makes up the same names")

    figures = [
        plot_losses(curve_steps, train_curve, held_out_curve, tokenizer.vocab_size,
                    args.out / "loss.png"),
        plot_attention(model, tokenizer, SHOWN_NAME, args.out / "attention.png"),
        *inside_pictures(model, tokenizer, args.out),
    ]
    if args.publish:
        images = REPO / "demos" / "images"
        for figure, name in ((figures[1], "gpt_attention.png"), (figures[0], "gpt_loss.png")):
            figures.append(Path(shutil.copyfile(figure, images / name)))
        if (args.out / "attention_score.svg").exists():
            figures.append(Path(shutil.copyfile(args.out / "attention_score.svg",
                                                images / "gpt_attention_score.svg")))
    show_saved(figures)


if __name__ == "__main__":
    main()
