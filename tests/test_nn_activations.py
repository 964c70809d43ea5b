"""Each activation is one record (chainrule.nn.ACTIVATIONS) that every part of nn reads."""

from __future__ import annotations

import math

import pytest

from chainrule.engine import PRIMITIVES, Value
from chainrule.nn import ACTIVATIONS, INIT_SCHEMES, MLP, Activation, Neuron


def test_the_records() -> None:
    assert list(ACTIVATIONS) == ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
    for name, record in ACTIVATIONS.items():
        assert isinstance(record, Activation) and record.name == name
        assert record.init in INIT_SCHEMES
        assert (record.primitive is None) == (record.kind == "linear")
        if record.primitive is not None:
            assert record.primitive is PRIMITIVES[name]
    assert ACTIVATIONS["leaky_relu"].slope == PRIMITIVES["leaky_relu"].defaults["slope"] == 0.01
    assert [a.name for a in ACTIVATIONS.values() if a.dies] == ["relu"]
    assert {a.name: a.init for a in ACTIVATIONS.values() if a.kind != "linear"} == {
        "relu": "he_uniform", "tanh": "xavier_uniform", "sigmoid": "xavier_uniform",
        "leaky_relu": "he_uniform"}


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_applying_a_record_is_the_values_own_method_bit_for_bit(name: str) -> None:
    for x in (-3.0, -0.5, 0.0, 0.25, 4.0):
        ours, method = ACTIVATIONS[name](Value(x)), getattr(Value(x), name)()
        assert ours.data == method.data and ours.op == method.op
        low, high = ACTIVATIONS[name].output_range
        assert low <= ours.data <= high


def test_linear_is_the_identity_and_adds_no_node() -> None:
    z = Value(1.5)
    assert ACTIVATIONS["linear"](z) is z
    neuron = Neuron(2, activation="linear", seed=0)
    assert neuron([1.0, 2.0]).label == "z"


def test_relative_slope_is_read_from_the_primitive_tables_derivative() -> None:
    assert ACTIVATIONS["tanh"].relative_slope(math.tanh(0.7)) == pytest.approx(
        1 - math.tanh(0.7) ** 2, rel=1e-15)
    with pytest.raises(ValueError, match="relu does not saturate"):
        ACTIVATIONS["relu"].relative_slope(0.5)


def test_the_torch_modules_are_pytorchs() -> None:
    torch = pytest.importorskip("torch")
    from chainrule.nn import to_torch

    for record in ACTIVATIONS.values():
        assert isinstance(getattr(torch.nn, record.torch_module), type)
    exported = to_torch(MLP(2, [3, 1], activation="leaky_relu", seed=0))
    assert exported[1].negative_slope == ACTIVATIONS["leaky_relu"].slope


def test_every_activation_is_one_the_primitive_table_marks_as_such() -> None:
    from chainrule.engine.naming import ACTIVATIONS as NAMED_AFTER_THEIR_OPERATION

    marked = {name for name, p in PRIMITIVES.items() if p.activation}
    assert {a.primitive.name for a in ACTIVATIONS.values() if a.primitive} <= marked
    assert marked == NAMED_AFTER_THEIR_OPERATION == {
        "relu", "tanh", "sigmoid", "leaky_relu", "softplus"}
