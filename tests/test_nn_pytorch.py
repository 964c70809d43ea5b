"""The bridge to PyTorch: the same model, the same numbers, both ways.

Every test here runs against the real PyTorch that ``make test`` installs (torch==2.13.0, the
CPU build); outside CI (no `CI` variable) a venv without torch skips them.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chainrule.engine import ChainruleError, Value
from chainrule.nn import (
    ACTIVATIONS,
    MLP,
    SGD,
    Adam,
    AdamW,
    ConfigurationError,
    Layer,
    Module,
    Neuron,
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    from_torch,
    mse,
    to_torch,
)
from chainrule.nn.interop import (
    PrecisionWarning,
    TorchNotInstalledError,
    UnsupportedModuleError,
    parameter_map,
)

from support.nn import run_demo

if os.environ.get("CI"):
    import torch  # `make test` installs torch==2.13.0: in CI a missing torch fails, never skips
else:
    torch = pytest.importorskip("torch")
# One thread: these tensors are tiny, and on a shared 2-core machine torch's worker threads only
# spin (cross-entropy steps cost 10x more CPU with them).
torch.set_num_threads(1)
F = torch.nn.functional
nn = torch.nn
REL = 1e-12
PYTORCH_PAGE = (Path(__file__).resolve().parent.parent / "docs" / "guide" / "pytorch.md").read_text()


def close(a: float, b: float, rel: float = REL, floor: float = 1e-15) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + floor


def torch_values(tmodel: Any, model: Module, *, grads: bool = False) -> list[float]:
    """The torch model's parameters (or their gradients) in ``model.named_parameters()`` order."""
    tensors = {name: (p.grad if grads else p.detach()).tolist()
               for name, p in tmodel.named_parameters()}
    values = []
    for _, name, index in parameter_map(model):
        entry = tensors[name]
        for i in index:
            entry = entry[i]
        values.append(entry)
    return values


def inputs(nin: int, count: int = 5, seed: int = 1) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-2.0, 2.0) for _ in range(nin)] for _ in range(count)]


def chainrule_outputs(model: Module, X: list[list[float]]) -> list[list[float]]:
    rows = []
    for x in X:
        out = model(x)
        rows.append([v.data for v in out] if isinstance(out, list) else [out.data])
    return rows


MODELS: dict[str, Callable[[str, str], Module]] = {
    "neuron": lambda hidden, out: Neuron(3, out, seed=2),
    "layer": lambda hidden, out: Layer(3, 4, out, seed=2),
    "mlp": lambda hidden, out: MLP(3, [5, 4, 2], activation=hidden, output_activation=out, seed=2),
    "mlp_one_layer": lambda hidden, out: MLP(3, [2], activation="tanh", output_activation=out,
                                             seed=2),
}
CASES = [
    (kind, hidden, out)
    for kind in MODELS
    for hidden in (ACTIVATIONS if kind == "mlp" else ["-"])
    for out in ACTIVATIONS
]


# -- to_torch --------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "hidden", "out"), CASES)
def test_to_torch_gives_the_same_outputs_and_gradients(kind: str, hidden: str, out: str) -> None:
    model = MODELS[kind](hidden, out)
    tmodel = to_torch(model)
    assert isinstance(tmodel, nn.Sequential)
    assert all(p.dtype == torch.float64 for p in tmodel.parameters())
    X = inputs(3)
    expected = chainrule_outputs(model, X)
    got = tmodel(torch.tensor(X, dtype=torch.float64))
    for row_c, row_t in zip(expected, got.tolist(), strict=True):
        assert all(close(a, b) for a, b in zip(row_c, row_t, strict=True)), (row_c, row_t)

    # The same loss (mean squared error against fixed targets) backpropagated on both sides.
    targets = [[0.3 * (i - k) for k in range(len(expected[0]))] for i in range(len(X))]
    preds = [model(x) for x in X]
    mse([p if isinstance(p, list) else [p] for p in preds], targets).backward()
    F.mse_loss(got, torch.tensor(targets, dtype=torch.float64)).backward()
    grads_t = torch_values(tmodel, model, grads=True)
    grads_c = [p.grad for p in model.parameters()]
    scale = max(map(abs, grads_c))
    for (name, _), g_c, g_t in zip(model.named_parameters(), grads_c, grads_t, strict=True):
        assert close(g_c, g_t, floor=1e-15 * scale), (name, g_c, g_t)


def test_the_parameter_map_is_one_to_one_and_documented() -> None:
    model = MLP(3, [4, 1], activation="relu", output_activation="sigmoid", seed=0)
    tmodel = to_torch(model)
    mapping = parameter_map(model)
    assert [name for name, _, _ in mapping] == [name for name, _ in model.named_parameters()]
    # Every entry of every torch parameter is named exactly once.
    entries = [(t_name, index) for _, t_name, index in mapping]
    assert len(set(entries)) == len(entries) == sum(p.numel() for p in tmodel.parameters())
    assert dict(mapping[i][:2] for i in (0, 3, 4)) == {
        "layers.0.neurons.0.w0": "0.weight", "layers.0.neurons.0.b": "0.bias",
        "layers.0.neurons.1.w0": "0.weight",
    }
    assert mapping[-1] == ("layers.1.neurons.0.b", "2.bias", (0,))
    assert mapping[-2] == ("layers.1.neurons.0.w3", "2.weight", (0, 3))
    # The copied weights are the same floats, bit for bit.
    assert torch_values(tmodel, model) == [p.data for p in model.parameters()]
    assert [n for n, _, _ in parameter_map(Neuron(2, seed=0))] == ["w0", "w1", "b"]
    assert parameter_map(Layer(2, 2, seed=0))[3] == ("neurons.1.w0", "0.weight", (1, 0))


def test_the_layout_is_linear_then_activation_with_identity_for_linear() -> None:
    model = MLP(2, [3, 3, 1], activation="leaky_relu", output_activation="linear", seed=0)
    tmodel = to_torch(model)
    kinds = [type(m).__name__ for m in tmodel]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Identity"]
    assert tmodel[1].negative_slope == 0.01


def test_the_copy_is_independent_and_leaves_the_torch_random_state_alone() -> None:
    model = MLP(2, [3, 1], seed=0)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    tmodel = to_torch(model)
    assert torch.equal(torch.rand(3), expected)
    before = [p.data for p in model.parameters()]
    with torch.no_grad():
        tmodel[0].weight.add_(1.0)
    assert [p.data for p in model.parameters()] == before


def test_to_torch_refuses_what_is_not_a_chainrule_model() -> None:
    with pytest.raises(UnsupportedModuleError, match=r"to_torch: expected a chainrule.nn Neuron"):
        to_torch(nn.Linear(2, 1))  # type: ignore[arg-type]
    assert issubclass(UnsupportedModuleError, TypeError)


# -- from_torch ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "hidden", "out"), CASES)
def test_from_torch_of_to_torch_is_the_same_model(kind: str, hidden: str, out: str) -> None:
    model = MODELS[kind](hidden, out)
    back = from_torch(to_torch(model))
    assert type(back) is type(model) and back.architecture() == model.architecture()
    assert [(n, p.data) for n, p in back.named_parameters()] == [
        (n, p.data) for n, p in model.named_parameters()
    ]


def test_from_torch_reads_the_tutorials_network() -> None:
    torch.manual_seed(0)
    tmodel = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()).double()
    model = from_torch(tmodel)
    assert isinstance(model, MLP) and model.architecture() == {
        "type": "MLP", "nin": 3, "sizes": [8, 1], "activation": "relu",
        "output_activation": "sigmoid",
    }
    X = inputs(3)
    got = tmodel(torch.tensor(X, dtype=torch.float64)).tolist()
    for row_c, row_t in zip(chainrule_outputs(model, X), got, strict=True):
        assert close(row_c[0], row_t[0])


def test_from_torch_accepts_missing_and_identity_activations_and_a_bare_linear() -> None:
    stack = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Identity(), nn.Linear(3, 2)).double()
    model = from_torch(stack)
    assert model.architecture()["activation"] == "tanh"
    assert model.architecture()["output_activation"] == "linear"
    bare = from_torch(nn.Linear(4, 2).double())
    assert isinstance(bare, MLP) and bare.sizes == [2] and bare.output_activation == "linear"


@pytest.mark.parametrize(
    ("stack", "error", "message"),
    [
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)),
         UnsupportedModuleError, r"module 1 is GELU\(approximate='none'\), which chainrule"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5)),
         UnsupportedModuleError, r"module 1 is Dropout\(p=0.5"),
        (lambda: nn.Sequential(nn.Sequential(nn.Linear(2, 1))),
         UnsupportedModuleError, r"module 0 is Sequential"),
        (lambda: nn.Conv1d(1, 1, 3), UnsupportedModuleError, r"got Conv1d"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)),
         ConfigurationError, r"LeakyReLU\(negative_slope=0.2\); chainrule's leaky_relu"),
        (lambda: nn.Sequential(nn.Linear(2, 3, bias=False)),
         ConfigurationError, r"module 0 is Linear\(.*bias=False\) without a bias"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)),
         ConfigurationError, r"module 1 expects 4 inputs but the layer before it has 3"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(),
                               nn.Linear(3, 1)),
         ConfigurationError, r"different activations \(relu, tanh\)"),
        (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)),
         ConfigurationError, r"module 0 \(ReLU\(\)\) does not directly follow a Linear"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sigmoid()),
         ConfigurationError, r"module 2 \(Sigmoid\(\)\) does not directly follow"),
        (lambda: nn.Sequential(), ConfigurationError, r"has no Linear layer"),
    ],
)
def test_from_torch_names_what_it_cannot_convert(
    stack: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        from_torch(stack().double())
    assert isinstance(caught.value, ChainruleError)


def test_from_torch_refuses_non_finite_weights() -> None:
    linear = nn.Linear(2, 1).double()
    with torch.no_grad():
        linear.weight[0, 1] = float("nan")
    with pytest.raises(ConfigurationError, match="holds nan"):
        from_torch(nn.Sequential(linear))


def test_float32_modules_convert_exactly_with_a_precision_warning() -> None:
    torch.manual_seed(3)
    tmodel = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    with pytest.warns(PrecisionWarning, match=r"torch.float32.*agree only to torch.float32"):
        model = from_torch(tmodel)
    # The float32 weights are represented exactly in float64 ...
    assert torch_values(tmodel, model) == [p.data for p in model.parameters()]
    # ... and the outputs then agree to float32 precision, not better.
    X = inputs(3)
    got = tmodel(torch.tensor(X, dtype=torch.float32)).tolist()
    for row_c, row_t in zip(chainrule_outputs(model, X), got, strict=True):
        assert close(row_c[0], row_t[0], rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_torch(tmodel.double())  # float64: no warning


def test_without_torch_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    for convert, arg in ((to_torch, MLP(2, [1], seed=0)), (from_torch, object())):
        with pytest.raises(TorchNotInstalledError, match=r"pip install 'chainrule\[torch\]'"):
            convert(arg)  # type: ignore[operator]
    assert issubclass(TorchNotInstalledError, ImportError)


def test_the_torch_extra_is_a_range_and_make_test_pins_the_offline_build() -> None:
    root = Path(__file__).resolve().parent.parent
    pyproject = (root / "pyproject.toml").read_text()
    assert re.search(r'^torch = \["torch>=2\.1"\]$', pyproject, re.M)
    pins = [line for line in (root / ".ci" / "constraints.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins == ["torch==2.13.0"]
    install = re.search(r"pip install .*-e '\.\[(.*)\]'", (root / "Makefile").read_text())
    assert install and "-c .ci/constraints.txt" in install.group(0)
    assert "torch" in install.group(1).split(",")


def test_importing_chainrule_nn_does_not_import_torch() -> None:
    code = "import sys, chainrule.nn; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the losses where PyTorch computes something else ----------------------------------------


def test_bce_at_a_clamped_log_has_gradient_0_where_torch_has_minus_1e12() -> None:
    # Documented in docs/guide/pytorch.md: both losses are 100, the gradients differ on purpose.
    for p in (0.0, 1e-50):
        prediction = Value(p)
        loss = binary_cross_entropy(prediction, 1.0)
        loss.backward()
        tp = torch.tensor([p], dtype=torch.float64, requires_grad=True)
        tloss = F.binary_cross_entropy(tp, torch.tensor([1.0], dtype=torch.float64))
        tloss.backward()
        assert loss.data == tloss.item() == 100.0
        assert prediction.grad == 0.0 and tp.grad.item() == pytest.approx(-1e12, rel=1e-8)


def test_bce_with_logits_matches_torch_beyond_softplus_threshold() -> None:
    # torch's F.softplus is linear above 20, but its BCE-with-logits formula is exact there.
    for x, y in ((30.0, 0.0), (-30.0, 1.0), (25.0, 0.25), (3.0, 0.0)):
        ours = bce_with_logits(Value(x), y).data
        theirs = F.binary_cross_entropy_with_logits(
            torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)).item()
        assert close(ours, theirs), (x, y, ours, theirs)


# -- training side by side -------------------------------------------------------------------

SAMPLES = inputs(2, count=6, seed=5)
LOSSES: dict[str, tuple[Callable[[], Module], Any, Any, list[Any]]] = {
    # name: (model, chainrule loss, torch loss on (output tensor, targets), targets)
    "bce": (lambda: MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=4),
            binary_cross_entropy,
            lambda out, y: F.binary_cross_entropy(out[:, 0], torch.tensor(y, dtype=torch.float64)),
            [0, 1, 1, 0, 1, 0]),
    "mse": (lambda: MLP(2, [4, 1], activation="leaky_relu", seed=4),
            mse,
            lambda out, y: F.mse_loss(out[:, 0], torch.tensor(y, dtype=torch.float64)),
            [0.5, -1.0, 0.25, 2.0, 0.0, -0.75]),
    "cross_entropy": (lambda: MLP(2, [5, 3], activation="relu", seed=4),
                      cross_entropy,
                      lambda out, y: F.cross_entropy(out, torch.tensor(y)),
                      [0, 2, 1, 1, 0, 2]),
}
OPTIMIZERS: dict[str, tuple[Callable[[Module], Any], Callable[[Any], Any]]] = {
    "adam": (lambda m: Adam(m.parameters(), lr=0.05),
             lambda t: torch.optim.Adam(t.parameters(), lr=0.05)),
    "adamw": (lambda m: AdamW(m.parameters(), lr=0.05, weight_decay=0.1),
              lambda t: torch.optim.AdamW(t.parameters(), lr=0.05, weight_decay=0.1)),
    "sgd_momentum": (lambda m: SGD(m.parameters(), lr=0.1, momentum=0.9),
                     lambda t: torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)),
}


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
def test_100_training_steps_agree_after_every_step(loss_name: str, optimizer_name: str) -> None:
    make_model, loss_c, loss_t, targets = LOSSES[loss_name]
    make_c, make_t = OPTIMIZERS[optimizer_name]
    model = make_model()
    tmodel = to_torch(model)
    opt_c, opt_t = make_c(model), make_t(tmodel)
    X = torch.tensor(SAMPLES, dtype=torch.float64)
    worst = 0.0
    for step in range(1, 101):
        opt_c.zero_grad()
        value_c = loss_c([model(x) for x in SAMPLES], targets)
        value_c.backward()
        opt_c.step()
        opt_t.zero_grad()
        value_t = loss_t(tmodel(X), targets)
        value_t.backward()
        opt_t.step()
        assert close(value_c.data, value_t.item(), rel=1e-10), (step, value_c.data, value_t.item())
        for (name, p), t in zip(model.named_parameters(), torch_values(tmodel, model), strict=True):
            error = abs(p.data - t)
            worst = max(worst, error)
            assert error <= 1e-10 * max(1.0, abs(t)), (step, name, p.data, t)
    assert math.isfinite(worst)


# -- the demo --------------------------------------------------------------------------------


def test_the_demo_trains_the_tutorials_network_twice_and_exports_xor(tmp_path: Path) -> None:
    out = run_demo("pytorch", "--out", str(tmp_path)).stdout
    tutorial, xor = out.split("2. XOR trained in chainrule")
    assert "Linear -> ReLU -> Linear -> Sigmoid" in tutorial
    assert "MLP(3, [8, 1], activation='relu', output_activation='sigmoid')" in tutorial
    rows = [line.split() for line in tutorial.splitlines() if line.strip()[:3].strip().isdigit()]
    assert [int(r[0]) for r in rows] == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    ours, theirs = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    assert all(close(a, b) for a, b in zip(ours, theirs, strict=True))
    assert ours == sorted(ours, reverse=True) and ours[-1] < 0.5 * ours[0]  # it learns
    for line in ("largest loss difference over 100 epochs", "largest parameter difference"):
        (value,) = [float(x.split(": ")[1]) for x in tutorial.splitlines() if line in x]
        assert value < 1e-12

    assert "accuracy 100%" in xor and "(3): Sigmoid()" in xor
    table = [line.split() for line in xor.splitlines() if line.startswith("     ")
             and len(line.split()) == 6 and line.split()[0] in "01"]
    assert len(table) == 4
    for x1, x2, target, ours_x, theirs_x, _ in table:
        assert int(target) == (int(x1) ^ int(x2))
        assert round(float(theirs_x)) == int(target) and close(float(ours_x), float(theirs_x))
    assert [p.name for p in tmp_path.iterdir()] == ["xor_state_dict.pt"]
    # docs/guide/pytorch.md shows this run's output: chainrule's numbers verbatim, PyTorch's to
    # the last bit or two (its CPU kernels may round differently from one processor to another).
    section = PYTORCH_PAGE.split("# From chainrule to PyTorch")[1].split("\n## ")[0]
    shown = [block for lang, block in re.findall(r"```(\w*)\n(.*?)```", section, re.S)
             if lang == "text"]
    printed = [line.split() for line in out.splitlines()]
    assert len(shown) == 2
    for line in "".join(shown).splitlines():
        words = line.split()
        numeric = len(words) in (4, 6) and all(_is_number(w) for w in words)
        if not numeric:
            assert words in printed, f"documented line not in the demo's output: {line!r}"
            continue
        ours_column = len(words) - 3  # then PyTorch's, then the difference
        match = [p for p in printed if p[:ours_column + 1] == words[:ours_column + 1]]
        assert match, f"documented line not in the demo's output: {line!r}"
        assert float(match[0][ours_column + 1]) == pytest.approx(float(words[ours_column + 1]),
                                                                 rel=1e-15, abs=1e-19)
    state = torch.load(tmp_path / "xor_state_dict.pt", weights_only=True)
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight"]


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
