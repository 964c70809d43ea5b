"""Through an nn network: a sample's inputs named, parameters and steps layer by layer, names
that do not wrap, and the layer rule (delta = dL/dz, dL/dW = delta x^T, delta_prev = (W^T
delta) * f'(z)) with this run's numbers."""

from __future__ import annotations

import ast
import re
import textwrap

import pytest

from chainrule.engine import Value, walkthrough
from chainrule.engine.explain.layers import ASCII, UNICODE, layer_views
from chainrule.engine.explain.trace import format_number, layer_of
from chainrule.nn import MLP, binary_cross_entropy, mse


def _xor_sample() -> Value:
    model = MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    return binary_cross_entropy(model([1.0, 0.0]), 1.0)


def test_a_samples_inputs_are_named_not_anonymous_constants() -> None:
    w = walkthrough(_xor_sample(), picture=False)
    text = w.text()
    assert "  sample inputs: x1 = 1, x2 = 0\n" in text
    flat = " ".join(text.split())
    assert "layer0.neuron0.w0 * x1 + layer0.neuron0.w1 * x2 = 0.688844 * 1 + 0.515909 * 0" in flat
    assert "-> x2 = 0 is the sample's input, a constant: no gradient needed" in text
    assert not re.search(r"w\d \* [01]\b", text)
    assert "1 is a constant" not in text and "0 is a constant" not in text
    assert "Sample inputs: x1 = 1, x2 = 0" in w.markdown()
    assert "- Sample inputs: `x1 = 1, x2 = 0`" in w.worksheet()
    # A label the user chose wins over the suggestion; numbers not fed to a weight stay numbers.
    model = MLP(2, [1], seed=0)
    text = walkthrough(mse(model([Value(3.0, label="x1"), 2.0]), 1.0), picture=False).text()
    assert "sample inputs: x2 = 2" in text and "inputs: x1 = 3" in text
    assert "-> 1 is a constant" in text  # the target


def _layers_in(seq: list[int | None]) -> bool:
    seen = [k for k in seq if k is not None]
    return seen == sorted(seen)


def test_parameters_steps_and_checks_are_listed_layer_by_layer() -> None:
    loss = _xor_sample()
    w = walkthrough(loss, lr=0.5, picture=False)
    text = w.text()
    assert text.index("layer 0 parameters: layer0.neuron0.w0") < text.index(
        "layer 1 parameters: layer1.neuron0.w0")
    nodes = w.forward.nodes
    forward_layers = [layer_of(nodes[s.node].scope) for s in w.forward.steps]
    assert [k for k in forward_layers if k is not None] == sorted(
        k for k in forward_layers if k is not None)
    checked = re.findall(r"^  df/dlayer(\d)", text, re.M)
    assert checked == sorted(checked) and len(checked) == 9
    updated = [layer_of(nodes[u.node].scope) for u in w.updates]
    assert updated == sorted(updated)  # type: ignore[type-var]
    # Unnamed nodes are numbered in the order the forward pass shows them.
    numbered = [int(s.name[1:]) for s in w.forward.steps if re.fullmatch(r"n\d+", s.name)]
    assert numbered == list(range(1, len(numbered) + 1))


def test_long_names_never_wrap_a_line_three_times() -> None:
    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    w = walkthrough(binary_cross_entropy(model([1.0, 0.0]), 1.0), picture=False)
    text = w.text()
    # Each local derivative, as the terminal wraps it at 80 columns with its hanging indent,
    # takes two lines at most (a step's heading is as long as its operation: a dot of n terms).
    for line in w.text(width=10_000).splitlines():
        indent = len(line) - len(line.lstrip())
        if re.match(r"\s+-> ", line):
            wrapped = textwrap.wrap(line.strip(), 80, initial_indent=" " * indent,
                                    subsequent_indent=" " * (indent + 6))
            assert len(wrapped) <= 2, "\n".join(wrapped)
    # full names in the text: the local derivatives name the nodes themselves
    assert "-> local d/dlayer1.neuron0.z = sigmoid(layer1.neuron0.z) * (1 -" in text


def _vectors(line: str) -> list[list[float]]:
    """The bracketed vectors and matrices of a layer line, in order (a vector as one row)."""
    found = []
    for match in re.finditer(r"\[\[.*?\]\]|\[[^\[\]]*\]", line):
        value = ast.literal_eval(match.group(0))
        found.append(value)
    return found


@pytest.mark.parametrize(("sizes", "activation"), [([2, 1], "sigmoid"), ([3, 2, 1], "tanh"),
                                                   ([4, 3, 2], "relu")])
def test_the_layer_rule_shows_this_runs_numbers(sizes: list[int], activation: str) -> None:
    model = MLP(3, sizes, activation=activation, output_activation="sigmoid", seed=1)
    xs = [Value(v, label=f"x{k + 1}") for k, v in enumerate((0.5, -1.0, 2.0))]
    outputs = model(xs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    loss = mse(outputs, [1.0] * len(outputs))
    loss.label = "L"
    w = walkthrough(loss, picture=False)
    loss.backward()
    views = layer_views(w)
    assert [v.layer for v in views] == list(range(len(sizes)))[::-1]
    for at, view in enumerate(views):
        neurons = model.layers[view.layer].neurons
        m, n = len(neurons), neurons[0].nin
        assert view.heading == f"layer {view.layer} ({n} inputs -> {m} neuron{'s' * (m > 1)})"
        lines = {line.split(" = ")[0]: line for line in view.lines}
        (delta,) = _vectors(lines["delta"])
        (x,) = _vectors(lines["x"])
        (dw,) = _vectors(lines["dL/dW"])
        assert f"({m} x {n})" in lines["dL/dW"]
        # the engine's own gradients, as backward() leaves them
        assert dw == [[float(format_number(p.grad)) for p in nr.weights] for nr in neurons]
        (db,) = _vectors(lines["dL/db"])
        assert db == [float(format_number(nr.bias.grad)) for nr in neurons]
        # and the matrix rule holds to the printed precision: dL/dW = delta x^T
        for j in range(m):
            for k in range(n):
                assert dw[j][k] == pytest.approx(delta[j] * x[k], rel=2e-5, abs=1e-9)
        if view.layer == 0:
            assert "delta_prev" not in lines
            continue
        upstream, slopes, previous = _vectors(lines["delta_prev"])
        weights = [[p.data for p in nr.weights] for nr in neurons]
        for k in range(n):
            transposed = sum(weights[j][k] * delta[j] for j in range(m))
            assert upstream[k] == pytest.approx(transposed, rel=1e-4, abs=1e-8)
            assert previous[k] == pytest.approx(upstream[k] * slopes[k], rel=1e-4, abs=1e-9)
        # delta_prev is the next layer down's delta
        below = {ln.split(" = ")[0]: ln for ln in views[at + 1].lines}
        assert [previous] == _vectors(below["delta"])


def test_the_layer_rule_is_shown_where_its_numbers_are_known() -> None:
    w = walkthrough(_xor_sample(), picture=False)
    text = w.text(width=10_000)
    output, hidden = layer_views(w)
    assert hidden.step > output.step
    assert text.index("for layer 1 (2 inputs -> 1 neuron):") < text.index(
        "for layer 0 (2 inputs -> 2 neurons):") < text.index("Gradients, checked")
    # after the backward step that completes its last number
    steps = re.split(r"\n  (?=\d+\. )", text.split("Backward pass")[1])
    shown_in = next(k for k, part in enumerate(steps) if "for layer 1 (" in part)
    assert shown_in == output.step + 1  # steps[0] is the start
    assert "### Layer by layer" in w.markdown()
    assert layer_views(w, UNICODE)[0].lines[2].startswith("df/dW = δ xᵀ = [[")
    assert layer_views(w, ASCII)[0].lines[2].startswith("df/dW = delta x^T = [[")
    assert "δ_prev = (Wᵀ δ) ⊙ f'(z) = [" in w.html()
