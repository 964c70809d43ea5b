"""Neuron, Layer and MLP: structure, naming, scopes, initialisation, gradients, bad input."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine import OperandTypeError, Value, topological_order
from chainrule.nn import MLP, ConfigurationError, Layer, Neuron, ShapeError

from support.nn import assert_gradients_match


def test_neuron_computes_activation_of_weighted_sum() -> None:
    neuron = Neuron(3, activation="tanh", seed=1)
    w = [p.data for p in neuron.weights]
    neuron.bias.data = 0.25
    out = neuron([1.0, -2.0, 0.5])
    expected = math.tanh(w[0] * 1.0 + w[1] * -2.0 + w[2] * 0.5 + 0.25)
    assert out.data == pytest.approx(expected, abs=1e-15)
    assert out.op == "tanh"
    assert out.inputs[0].label == "z"


@pytest.mark.parametrize(
    ("activation", "reference"),
    [
        ("relu", lambda z: max(z, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda z: 1.0 / (1.0 + math.exp(-z))),
        ("leaky_relu", lambda z: z if z > 0 else 0.01 * z),
        ("linear", lambda z: z),
    ],
)
def test_every_activation(activation: str, reference) -> None:
    neuron = Neuron(2, activation, seed=3)
    for x in ([1.0, 2.0], [-3.0, 0.5], [0.2, -4.0]):
        z = neuron.weights[0].data * x[0] + neuron.weights[1].data * x[1]
        assert neuron(x).data == pytest.approx(reference(z), rel=1e-12, abs=1e-15)


def test_layer_always_returns_a_list_and_mlp_a_value_for_one_output() -> None:
    layer = Layer(2, 1, seed=0)
    out = layer([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    outputs = MLP(2, [3, 4], seed=0)([1.0, 2.0])
    assert isinstance(outputs, list) and len(outputs) == 4


def test_a_layer_of_one_neuron_in_the_middle_works() -> None:
    # micrograd's MLP(2, [16, 1, 1]) crashes: its one-neuron layer returns a bare Value.
    model = MLP(2, [16, 1, 1], seed=0)
    assert isinstance(model([0.5, -0.5]), Value)


def test_parameters_count_and_order() -> None:
    model = MLP(3, [4, 2], seed=0)
    params = model.parameters()
    assert len(params) == model.num_parameters == (3 + 1) * 4 + (4 + 1) * 2
    expected = [p for layer in model.layers for n in layer.neurons for p in [*n.weights, n.bias]]
    assert all(a is b for a, b in zip(params, expected, strict=True))
    assert model.parameters() == params  # deterministic (== is identity for Values)


def test_named_parameters_scheme() -> None:
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w0", "layers.0.neurons.0.w1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w0"]
    assert names[-1] == "layers.1.neurons.0.b"
    assert len(set(names)) == len(names)
    for name, p in model.named_parameters():
        assert name.endswith("." + p.label)
    assert [n for n, _ in Layer(2, 2, seed=0).named_parameters()][2] == "neurons.0.b"
    assert [n for n, _ in Neuron(2, seed=0).named_parameters()] == ["w0", "w1", "b"]


def test_parameters_and_forward_nodes_carry_layer_and_neuron_scopes() -> None:
    model = MLP(2, [2, 1], seed=0)
    for name, p in model.named_parameters():
        _, layer, _, neuron, _ = name.split(".")
        assert p.scope == (f"layer{layer}", f"neuron{neuron}")
        assert p.is_leaf
    out = model([0.3, -0.7])
    assert out.scope == ("layer1", "neuron0")
    scopes = {node.scope for node in topological_order(out) if not node.is_constant}
    assert scopes == {("layer0", "neuron0"), ("layer0", "neuron1"), ("layer1", "neuron0")}
    # The sample's numbers are made constants once, outside every neuron, and shared.
    inputs = [node for node in topological_order(out) if node.is_constant]
    assert [(c.data, c.scope) for c in inputs] == [(0.3, ()), (-0.7, ())]
    hidden = [node for node in topological_order(out) if node.op == "relu"]
    assert [node.scope for node in hidden] == [("layer0", "neuron0"), ("layer0", "neuron1")]
    # Nothing leaks out of the scope afterwards.
    assert Value(1.0).scope == ()


def test_zero_grad_resets_every_parameter() -> None:
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_and_summary() -> None:
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    assert repr(model) == "MLP(2, [4, 1], activation='tanh', output_activation='sigmoid')"
    assert repr(Layer(3, 2, "relu")) == "Layer(3, 2, activation='relu')"
    assert repr(Neuron(3, "tanh")) == "Neuron(3, activation='tanh')"
    summary = model.summary()
    assert "2 -> 4" in summary and "4 -> 1" in summary and summary.rstrip().endswith("17")


def test_a_seed_reproduces_a_model_exactly_whatever_else_uses_random() -> None:
    first = [p.data for p in MLP(3, [5, 2], seed=42).parameters()]
    random.random()
    second = [p.data for p in MLP(3, [5, 2], seed=42).parameters()]
    assert first == second
    assert first != [p.data for p in MLP(3, [5, 2], seed=43).parameters()]


def test_biases_start_at_zero_and_uniform_weights_lie_in_minus_one_one() -> None:
    model = MLP(4, [30, 30], seed=0)
    for name, p in model.named_parameters():
        if name.endswith(".b"):
            assert p.data == 0.0
        else:
            assert -1.0 <= p.data <= 1.0


@pytest.mark.parametrize(
    ("init", "variance"),
    [
        ("uniform", lambda fin, fout: 1.0 / 3.0),
        ("xavier_uniform", lambda fin, fout: 2.0 / (fin + fout)),
        ("xavier_normal", lambda fin, fout: 2.0 / (fin + fout)),
        ("he_uniform", lambda fin, fout: 2.0 / fin),
        ("he_normal", lambda fin, fout: 2.0 / fin),
    ],
)
def test_init_scheme_variance(init: str, variance) -> None:
    layer = Layer(50, 150, init=init, seed=0)
    weights = [w.data for n in layer.neurons for w in n.weights]  # 7,500 draws
    assert statistics.mean(weights) == pytest.approx(0.0, abs=0.03 * math.sqrt(variance(50, 150)))
    assert statistics.pvariance(weights) == pytest.approx(variance(50, 150), rel=0.06)
    if init.endswith("uniform"):
        bound = math.sqrt(3.0 * variance(50, 150))
        assert max(abs(w) for w in weights) <= bound


def test_uniform_init_with_global_seed_reproduces_micrograd() -> None:
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])  # seed=None draws from the global generator, as micrograd does
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert MLP(2, [16, 16, 1], seed=1337).parameters()[5].data == ours.parameters()[5].data
    x = [0.3, -1.2]
    assert ours(x).data == pytest.approx(theirs(x).data, rel=1e-12)


def test_accepts_values_as_inputs_and_a_lone_number_for_one_input() -> None:
    model = MLP(1, [3, 1], activation="tanh", seed=0)
    x = Value(0.4)
    out = model(x)
    out.backward()
    assert x.grad != 0.0
    assert model(0.4).data == out.data
    assert model([0.4]).data == out.data


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: MLP(2, [3, 1], seed=0)([1.0, 2.0, 3.0]), "MLP expects 2 inputs, got 3"),
        (lambda: MLP(2, [3, 1], seed=0)(1.0), "MLP expects 2 inputs, got a single number"),
        (lambda: MLP(2, [3, 1], seed=0)("ab"), r"expects 2 inputs as a list or tuple of numbers .*numpy.*got str"),
        (lambda: MLP(2, [3, 1], seed=0)({1, 2}), "got set"),
        (lambda: MLP(2, [3, 1], seed=0)([[1.0, 2.0], [3.0, 4.0]]), r"got a batch of 2 samples.*predict\(model, X\)"),
        (lambda: MLP(2, [3, 1], seed=0)([[1.0, 2.0]] * 3), "got a batch of 3 samples"),
        (lambda: Layer(3, 2, seed=0)([1.0]), "Layer layer0 expects 3 inputs, got 1"),
        (lambda: Neuron(2, seed=0)([]), "Neuron neuron0 expects 2 inputs, got 0"),
    ],
)
def test_wrong_input_sizes_are_named(call, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        call()


def test_non_numeric_input_names_the_module_and_the_input() -> None:
    with pytest.raises(OperandTypeError, match=r"^Neuron neuron0: input 1: expected a real "
                                               r"number \(int, float or bool\), got str 'x'$"):
        Neuron(2, seed=0)([1.0, "x"])
    with pytest.raises(OperandTypeError, match=r"^Layer layer0: input 0: expected"):
        Layer(1, 2, seed=0)([None])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Neuron(0), r"nin \(number of inputs\) must be a positive integer, got 0"),
        (lambda: Neuron(2.5), "must be a positive integer, got 2.5"),
        (lambda: Neuron(2, "softmax"), "unknown activation 'softmax'; expected one of 'relu'"),
        (lambda: Layer(2, 0), r"nout \(number of neurons\) must be a positive integer"),
        (lambda: MLP(2, []), "sizes must be a non-empty list"),
        (lambda: MLP(2, [3, -1]), r"sizes\[1\] must be a positive integer, got -1"),
        (lambda: MLP(2, [3], output_activation="soft"), "unknown output_activation 'soft'"),
        (lambda: MLP(2, [3], init="glorot"), "unknown init scheme 'glorot'; expected one of"),
        (lambda: MLP(2, [3], seed="x"), "seed must be an int, a random.Random or None"),
        (lambda: MLP(True, [3]), "must be a positive integer, got True"),
    ],
)
def test_bad_construction_is_named(build, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


_weights = st.floats(-2.0, 2.0, allow_nan=False)
_inputs = st.floats(-3.0, 3.0, allow_nan=False)


@given(st.lists(_weights, min_size=17, max_size=17), st.lists(_inputs, min_size=2, max_size=2))
def test_mlp_input_gradients_match_finite_differences(params: list[float], x: list[float]) -> None:
    """d(output)/d(input) through a tanh -> sigmoid MLP with arbitrary weights."""
    model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    for p, v in zip(model.parameters(), params, strict=True):
        p.data = v
    assert_gradients_match(model, x)


@given(st.lists(_inputs, min_size=2, max_size=2), st.integers(0, 2**16))
def test_mlp_parameter_gradients_match_finite_differences(x: list[float], seed: int) -> None:
    """The real Module path: backward through the model, then nudge each parameter in place."""
    model = MLP(2, [3, 2, 1], activation="tanh", output_activation="linear", seed=seed)
    params = model.parameters()
    model(x).backward()
    analytic = [p.grad for p in params]
    for p, a in zip(params, analytic, strict=True):
        original = p.data
        h = 1e-6 * max(1.0, abs(original))
        p.data = original + h
        up = model(x).data
        p.data = original - h
        down = model(x).data
        p.data = original
        numeric = (up - down) / (2 * h)
        assert abs(a - numeric) <= 1e-6 + 1e-5 * abs(numeric)
