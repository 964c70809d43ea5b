"""render_text(): the terminal tree view (no graphviz)."""

from __future__ import annotations

import re

import pytest

from chainrule.engine import OperandTypeError, Value, render_text, scope
from chainrule.engine.drawing import DrawOptionError

from support.draw import hand_mlp


def test_tree_of_a_small_expression() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = (a * b + a.tanh()) ** 2
    c.label = "c"
    c.backward()
    # the names draw() and the walkthrough use; b counts as a bias, so a parameter
    assert render_text(c) == (
        "c = n3 ** 2  data 25.36  grad 1\n"
        "└── n3 = n1 + n2  data -5.036  grad -10.07\n"
        "    ├── n1 = a * b  data -6  grad -10.07\n"
        "    │   ├── a  data 2  grad 29.5  [input]\n"
        "    │   └── b  data -3  grad -20.14  [parameter]\n"
        "    └── n2 = tanh(a)  data 0.964  grad -10.07\n"
        "        └── a (see above)\n"
    )


def test_options_number_format_grad_and_parameters() -> None:
    w, x = Value(0.5, label="w"), Value(2.0, label="x")
    y = w * x
    text = render_text(y, number_format=".2f", show_grad=False, parameters=[w])
    assert text == (
        "f = w * x  data 1.00\n"
        "├── w  data 0.50  [parameter]\n"
        "└── x  data 2.00  [input]\n"
    )
    with pytest.raises(DrawOptionError, match="'bad' is not a valid float format spec"):
        render_text(y, number_format="bad")


def test_a_repeated_input_is_listed_twice_but_described_once() -> None:
    a = Value(3.0, label="a")
    assert render_text(a + a, show_grad=False) == (
        "f = a + a  data 6\n├── a  data 3  [input]\n└── a (see above)\n"
    )


def test_shared_subexpressions_keep_the_text_linear() -> None:
    # 40 doublings: as a tree 2**40 leaves, as a graph 41 nodes.
    v = Value(1.0, label="x")
    for _ in range(40):
        v = v + v
    lines = render_text(v, show_grad=False, max_depth=50).splitlines()
    # each sum's line, then its second input as a reference; then the leaf
    assert len(lines) == 40 + 40 + 1
    assert sum("(see above)" in line for line in lines) == 40


def test_duplicate_labels_are_qualified_by_their_scope() -> None:
    y, _, _ = hand_mlp()
    text = render_text(y, show_grad=False)
    # every neuron has a "b": each is named by its scope, unnamed values n1, n2...
    assert "layer1.neuron0.b  data 0.05  [parameter layer1/neuron0]" in text
    assert "n1 = layer0.neuron0.w0 * x1  data 0.5" in text
    assert text.startswith("layer1.neuron0.sigmoid = sigmoid(n12)")


def test_a_deep_chain_is_cut_into_bounded_pieces() -> None:
    v = Value(0.5, label="x")
    for _ in range(3000):
        v = v.sin()
    text = render_text(v, show_grad=False, max_depth=10)
    lines = text.splitlines()
    assert max(map(len, lines)) < 80  # indentation stays bounded
    assert len(text) < 3001 * 100  # linear
    # 3001 nodes, 10 per piece; the leaf at depth 10 of the last piece needs no cut
    assert text.count("(continued below)") == text.count("continued:") == 299
    assert lines[-1].endswith("[input]")


def test_labels_cannot_inject_lines_or_terminal_control_sequences() -> None:
    a = Value(1.0, label="evil\nline\x1b[31mred\x07")
    text = render_text(a * 2)
    assert "\x1b" not in text and "\x07" not in text
    assert text.count("\n") == 2
    assert "evil\\nline\\x1b[31mred\\x07" in text


def test_scope_parameters_show_their_scope() -> None:
    x = Value(1.0, label="x")
    with scope("layer0"), scope("neuron2"):
        w = Value(0.25, label="w")
        y = w * x
    assert "w  data 0.25  grad 0  [parameter layer0/neuron2]" in render_text(y)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((1.0,), {}, OperandTypeError, "render_text: root must be a Value, got float"),
        ((Value(1.0),), {"max_depth": 0}, DrawOptionError, "max_depth must be an int >= 1, got 0"),
    ],
)
def test_bad_arguments(args, kwargs, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        render_text(*args, **kwargs)
