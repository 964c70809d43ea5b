"""User code as a type checker sees it: tests/test_typing.py runs mypy (strict) on this file, and
also runs it, so every line here is real, working chainrule code.

It trains a one-output MLP by hand the micrograd way, and uses the engine's functions, the
function transforms and a multi-output model, each with the type a user relies on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.engine import Value, grad, gradients, maximum, no_grad, tanh
from chainrule.nn import MLP, SGD, Layer, Neuron, mse

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    def assert_type(value, _type):
        return value


def train_xor(steps: int) -> float:
    """A few hand-written gradient steps on XOR; returns the last loss."""
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y = [0.0, 1.0, 1.0, 0.0]
    model = MLP(2, (4, 1), activation="tanh", seed=0)  # sizes end in 1: calls give a Value
    optimizer = SGD(model.parameters(), lr=0.1)
    loss = Value(0.0)
    for _ in range(steps):
        predictions = [model(x) for x in X]
        assert_type(predictions, list[Value])
        loss = sum(((p - t) ** 2 for p, t in zip(predictions, y, strict=True)), Value(0.0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.data


def one_output_from_a_list() -> None:
    """Sizes given as a list: say what the model returns, then use it as a Value."""
    model: MLP[Value] = MLP(3, [4, 1], activation="relu", output_activation="sigmoid", seed=0)
    out = model([0.1, 0.2, 0.3])
    out.backward()
    assert 0.0 < out.data < 1.0


def several_outputs() -> None:
    """A model with several outputs: a list, or the union when nothing is said."""
    classifier: MLP[list[Value]] = MLP(2, [8, 3], seed=0)
    logits = classifier([0.5, -0.5])
    assert_type(logits, list[Value])
    unknown = MLP(2, [3])
    result = unknown([0.5, -0.5])
    assert_type(result, "Value | list[Value]")
    if isinstance(result, list):
        total = sum(result, Value(0.0))
        total.backward()
    layer_out = Layer(2, 3)([1.0, 2.0])
    assert_type(layer_out, list[Value])
    neuron_out = Neuron(2)([1.0, 2.0])
    assert_type(neuron_out, Value)
    assert len(logits) == 3 and len(layer_out) == 3


def engine() -> None:
    """Values, engine functions, losses, gradients and no_grad as typed for users."""
    w = Value(-0.5, label="w")
    x = Value(2.0, label="x")
    y = tanh(w * x + 0.3)
    assert_type(y, Value)  # the engine's functions: a Value in, a Value out
    assert_type(tanh(0.5), float)  # numbers in, a float out
    assert_type(maximum(0.0, y), Value)
    loss = mse([y], [1.0])
    assert_type(loss, Value)
    loss.backward()
    (dw,) = gradients(loss, [w])
    assert abs(dw - w.grad) < 1e-12
    slope = grad(lambda v: v * v * v)(2.0)
    assert slope == 12.0
    with no_grad():
        z = w * 2.0
    assert_type(z, Value)
    h = (w.tanh() + x.exp()).sigmoid()
    assert_type(h, Value)
    assert f"{h:.3f}" == f"{h.data:.3f}"


if __name__ == "__main__":
    assert train_xor(20) < train_xor(1)
    one_output_from_a_list()
    several_outputs()
    engine()
    print("ok")
