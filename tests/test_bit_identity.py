"""nn's numbers are bit-identical across changes of how a graph is recorded.

The fingerprints below were taken before neurons, layers and attention computed their weighted
sums with n-ary ``dot`` nodes (when each was a chain of binary ``mul`` and ``add`` nodes): the
float operations are the same, in the same order, so every loss and every gradient must be the
same to the last bit. A fingerprint is the SHA-256 of the ``repr`` of every number, in order.
"""

from __future__ import annotations

import hashlib

import pytest

from chainrule.engine import Value
from chainrule.nn import (
    GPT,
    MLP,
    Adam,
    CharTokenizer,
    Linear,
    binary_cross_entropy,
    cross_entropy,
    datasets,
    hinge,
    l2_penalty,
    mse,
)


def _fingerprint(numbers: list[float]) -> str:
    return hashlib.sha256(" ".join(map(repr, numbers)).encode()).hexdigest()[:32]


def _train(model: object, loss_of: object, steps: int) -> list[float]:
    """Losses and every gradient of ``steps`` Adam steps."""
    params = model.parameters()  # type: ignore[attr-defined]
    optimizer = Adam(params, lr=0.05)
    numbers: list[float] = []
    for _ in range(steps):
        loss = loss_of()  # type: ignore[operator]
        loss.backward()
        numbers.append(loss.data)
        numbers.extend(p.grad for p in params)
        optimizer.step()
        optimizer.zero_grad()
    return numbers


def _mlp_moons() -> list[float]:
    X, y = datasets.moons(n=24, seed=1)
    model = MLP(2, [8, 8, 1], activation="relu", seed=3)
    targets = [2.0 * t - 1.0 for t in y]

    def loss_of() -> Value:
        return hinge([model(x) for x in X], targets) + l2_penalty(model.parameters(), 1e-4)

    return _train(model, loss_of, 4)


def _mlp_xor_bce() -> list[float]:
    X, y = datasets.xor()
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    return _train(model, lambda: binary_cross_entropy([model(x) for x in X], y), 4)


def _mlp_spiral_softmax() -> list[float]:
    X, y = datasets.spiral(10, 3, seed=2)
    model = MLP(2, [6, 3], activation="leaky_relu", seed=5)
    return _train(model, lambda: cross_entropy([model(x) for x in X], y), 3)


def _mlp_mse_sigmoid() -> list[float]:
    X, y = datasets.circles(n=16, seed=4)
    model = MLP(2, [5, 1], activation="sigmoid", output_activation="linear", seed=7)
    return _train(model, lambda: mse([model(x) for x in X], y), 3)


def _linear_with_float_inputs() -> list[float]:
    layer = Linear(3, 2, seed=1)
    x = [0.25, -1.5, 2.0]
    return _train(layer, lambda: mse(layer(x), [1.0, -1.0]), 3)


def _gpt() -> list[float]:
    tok = CharTokenizer(["emma", "olivia", "ava"])
    model = GPT(tok.vocab_size, n_embd=8, n_head=2, n_layer=1, block_size=8, seed=42)
    return _train(model, lambda: model.loss(tok.encode("olivia")), 2)


FINGERPRINTS = {
    "mlp_moons_hinge": (_mlp_moons, "5a4901e06fba15eb5bd4b43cc1afb734"),
    "mlp_xor_bce": (_mlp_xor_bce, "da353180e3668310b5c1dc2f407b82ed"),
    "mlp_spiral_softmax": (_mlp_spiral_softmax, "6b2466fa0585e5e8db97a75c45b6bb75"),
    "mlp_mse_sigmoid": (_mlp_mse_sigmoid, "ec70688746f6129d11c59e3990637884"),
    "linear_float_inputs": (_linear_with_float_inputs, "37bdf374d1c4d02b797150f2dfeb1f5a"),
    "gpt": (_gpt, "4743e0a638b5745650d3ef8c8fd13d5b"),
}


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_losses_and_gradients_are_bit_identical_to_the_fingerprint(name: str) -> None:
    run, expected = FINGERPRINTS[name]
    assert _fingerprint(run()) == expected
