"""From chainrule to PyTorch: the same network, the same numbers.

1. The tutorial's PyTorch network, nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1),
   nn.Sigmoid()), trained on its four samples with BCELoss and Adam(lr=0.01) for 100 epochs:
   once in PyTorch and once in chainrule (from_torch gives it the same starting weights), with
   the two loss columns side by side.
2. The XOR network trained in chainrule, exported with to_torch and evaluated in PyTorch; its
   state_dict is saved to the output folder and read back.

Everything runs in float64, where the two agree to rounding (about 1e-16).

Run: python demos/pytorch.py [--out FOLDER]   (needs PyTorch: pip install 'chainrule[torch]')
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from chainrule.nn import (
    MLP,
    Adam,
    binary_cross_entropy,
    datasets,
    fit,
    from_torch,
    predict,
    to_torch,
)
from chainrule.nn.interop import parameter_map

REPO = Path(__file__).resolve().parent.parent
EPOCHS = 100
SHOWN = (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "out" / "pytorch",
                        help="folder for the exported model (default: out/pytorch/)")
    return parser.parse_args()


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        sys.exit("demos/pytorch.py needs PyTorch: pip install 'chainrule[torch]'")
    return torch


def tutorial_side_by_side(torch: Any) -> None:
    nn = torch.nn
    print("1. The tutorial's network, trained in PyTorch and in chainrule from the same weights")
    print()
    torch.manual_seed(0)
    tmodel = nn.Sequential(
        nn.Linear(3, 8),  # 3 inputs -> 8 hidden units
        nn.ReLU(),
        nn.Linear(8, 1),  # 8 hidden -> 1 output
        nn.Sigmoid(),
    ).double()
    x = torch.rand(4, 3, dtype=torch.float64)  # 4 samples, 3 features
    y = torch.tensor([[1.0], [0.0], [1.0], [0.0]], dtype=torch.float64)
    model = from_torch(tmodel)  # the same starting weights, in chainrule
    print(f"   PyTorch:   {' -> '.join(type(m).__name__ for m in tmodel)}")
    print(f"   chainrule: {model}")
    print("   loss: BCELoss / binary_cross_entropy; optimizer: Adam(lr=0.01) on both sides")
    print()

    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    samples = x.tolist()
    targets = [row[0] for row in y.tolist()]
    chainrule_optimizer = Adam(model.parameters(), lr=0.01)

    print(f"   {'epoch':>5}  {'chainrule loss':>20}  {'PyTorch loss':>20}  {'difference':>10}")
    worst = 0.0
    for epoch in range(1, EPOCHS + 1):
        optimizer.zero_grad()
        loss = loss_fn(tmodel(x), y)
        loss.backward()  # backpropagation
        optimizer.step()  # gradient descent update

        chainrule_optimizer.zero_grad()
        chainrule_loss = binary_cross_entropy([model(s) for s in samples], targets)
        chainrule_loss.backward()
        chainrule_optimizer.step()

        difference = abs(chainrule_loss.data - loss.item())
        worst = max(worst, difference)
        if epoch in SHOWN:
            print(f"   {epoch:>5}  {chainrule_loss.data:>20.17f}  {loss.item():>20.17f}  "
                  f"{difference:>10.1e}")
    drift = max(
        abs(p.data - tmodel.get_parameter(name)[index].item())
        for p, (_, name, index) in zip(model.parameters(), parameter_map(model), strict=True)
    )
    print()
    print(f"   largest loss difference over {EPOCHS} epochs: {worst:.1e}")
    print(f"   largest parameter difference after training: {drift:.1e}")


def xor_exported(torch: Any, out: Path) -> None:
    print()
    print("2. XOR trained in chainrule, then evaluated in PyTorch")
    print()
    X, y = datasets.xor()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    history = fit(model, X, y, loss=binary_cross_entropy,
                  optimizer=Adam(model.parameters(), lr=0.05), epochs=500, progress=False)
    print(f"   chainrule: {model}")
    print(f"   500 epochs of binary cross-entropy and Adam(lr=0.05): accuracy "
          f"{history.accuracy[-1]:.0%}")
    tmodel = to_torch(model)
    print("   to_torch(model):")
    for line in str(tmodel).splitlines():
        print(f"     {line}")
    first = parameter_map(model)[0]
    print(f"   parameter names: {first[0]} is {first[1]}[{first[2][0]}, {first[2][1]}], "
          f"layers.1.neurons.0.b is 2.bias[0]")
    print()

    path = out / "xor_state_dict.pt"
    torch.save(tmodel.state_dict(), path)
    reloaded = to_torch(MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=1))
    reloaded.load_state_dict(torch.load(path, weights_only=True))
    with torch.no_grad():
        outputs = reloaded(torch.tensor(X, dtype=torch.float64))[:, 0].tolist()

    print(f"   {'x1':>3} {'x2':>3}  {'target':>6}  {'chainrule':>19}  {'PyTorch':>19}  "
          f"{'difference':>10}")
    for (x1, x2), target, ours, theirs in zip(X, y, predict(model, X), outputs, strict=True):
        print(f"   {x1:>3.0f} {x2:>3.0f}  {target:>6}  {ours:>19.17f}  {theirs:>19.17f}  "
              f"{abs(ours - theirs):>10.1e}")
    print()
    print(f"   saved the PyTorch state_dict to {shown(path)} and evaluated it from there")


def shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def main() -> None:
    args = parse_args()
    torch = import_torch()
    args.out.mkdir(parents=True, exist_ok=True)
    tutorial_side_by_side(torch)
    xor_exported(torch, args.out)


if __name__ == "__main__":
    main()
