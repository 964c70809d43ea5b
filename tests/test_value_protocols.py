"""Value in everyday Python (issue 14, point 4): the tests the engine change must make pass.

They are expected to fail (strict xfail) until engine/value.py gains the three protocols below;
once it does, each turns into an unexpected pass and the marker must go. The semantics proposed:

* ``format(v, spec)`` formats ``v.data`` when ``spec`` is not empty (``f"{loss:.4f}"``), as
  ``format(tensor, spec)`` does for a 0-d tensor; an empty spec keeps ``str(v)``.
* ``v.item()`` returns ``v.data`` as a Python float, as ``tensor.item()`` does.
* ``bool(v)`` is ``v.data != 0.0``, the rule for a one-element tensor; it never records a graph.
"""

from __future__ import annotations

import copy
import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine import (
    GradientError,
    OperandTypeError,
    Primitive,
    TracingError,
    Value,
    add_n,
    dot,
    jit,
    no_grad,
    scope,
    topological_order,
)
from chainrule.engine.value import observing


@pytest.mark.parametrize(("spec", "expected"), [
    (".4f", "0.1235"), (".2e", "1.23e-01"), ("10.3f", "     0.123"), ("<8.1%", "12.3%   "),
    ("g", "0.123457"), ("+.1f", "+0.1"),
])
def test_format_spec_applies_to_data(spec: str, expected: str) -> None:
    v = Value(0.123456789, label="loss")
    assert format(v, spec) == expected
    assert f"{v:{spec}}" == expected


def test_format_in_an_fstring_with_a_training_log_line() -> None:
    loss, acc = Value(0.5), Value(0.75)
    assert f"loss {loss:.3f} accuracy {acc:.0%}" == "loss 0.500 accuracy 75%"


def test_format_spec_errors_are_floats_errors() -> None:
    with pytest.raises(ValueError, match="Unknown format code 'd'"):
        format(Value(2.0), "d")  # as format(2.0, "d") (and a 0-d float tensor) refuse it


def test_an_empty_format_spec_keeps_str() -> None:
    v = Value(2.0, label="x")
    assert f"{v}" == str(v) == repr(v) and format(v, "") == str(v)


def test_item_returns_the_data_as_a_python_float() -> None:
    v = Value(3) * 2
    assert v.item() == 6.0 and type(v.item()) is float
    assert Value(-0.0).item() == 0.0 and math.copysign(1.0, Value(-0.0).item()) == -1.0


@pytest.mark.parametrize("data", [0.0, -0.0])
def test_bool_of_zero_is_false(data: float) -> None:
    assert bool(Value(data)) is False


@pytest.mark.parametrize("data", [1.0, -2.5, 5e-324])
def test_bool_of_anything_else_is_true(data: float) -> None:
    assert bool(Value(data)) is True  # true today (object's rule) and after the change


def test_bool_of_a_computed_value_and_in_conditions() -> None:
    x = Value(2.0)
    assert not (x - 2.0)
    assert (x * 0.5 if x - 2.0 else "zero") == "zero"
    with no_grad():
        assert bool(x * 3)


def test_truth_never_records_a_graph_or_touches_gradients() -> None:
    # Holds today (bool is object's) and must keep holding after the change.
    x = Value(0.0)
    y = x * 2
    bool(y)
    assert y.inputs[0] is x and x.grad == 0.0 and y.grad == 0.0


# -- int(), round() and pickle (issue 25) ------------------------------------------------------


@given(data=st.floats(-1e6, 1e6))
def test_int_and_round_are_those_of_the_data(data: float) -> None:
    v = Value(data) * 1.0
    assert int(v) == int(data) and type(int(v)) is int
    assert round(v) == round(data) and type(round(v)) is int
    for ndigits in (0, 2, -1):
        assert round(v, ndigits) == round(data, ndigits) and type(round(v, ndigits)) is float
    assert round(v, None) == round(data)


def test_int_and_round_are_reads_that_tracing_observes() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.reads: list[str] = []

        def number_read(self, value: Value, how: str) -> None:
            self.reads.append(how)

        def compared(self, *args: object) -> None:
            raise AssertionError("int() and round() compare nothing")

    recorder = Recorder()
    with observing(recorder):
        int(Value(2.5)), round(Value(2.5)), round(Value(2.5), 1)
    assert recorder.reads == ["int()", "round()", "round()"]
    # So a function compiled by jit may not read one: its number would be frozen at trace time.
    with pytest.raises(TracingError, match=r"int\(\)"):
        jit(lambda x: Value(float(int(x * 2.0))))(1.25)


def test_a_leaf_pickles_as_its_data_grad_label_and_scope() -> None:
    with scope("layer0"):
        x = Value(1.5, label="x")
    x.grad = 0.25
    loaded = pickle.loads(pickle.dumps(x))
    assert (loaded.data, loaded.grad, loaded.label, loaded.scope) == (1.5, 0.25, "x", ("layer0",))
    assert loaded.is_leaf and not loaded.is_constant and loaded is not x


def test_a_computed_value_pickles_with_its_graph_and_backpropagates_the_same() -> None:
    w, x = Value(0.5, label="w"), Value(-2.0, label="x")
    with scope("neuron0"):
        y = (w * x + 1.0).tanh() ** 2 + w.exp() / 3.0
    loaded_y, loaded_w, loaded_x = pickle.loads(pickle.dumps((y, w, x)))
    assert [(n.op, n.data, n.label, n.scope) for n in topological_order(loaded_y)] == [
        (n.op, n.data, n.label, n.scope) for n in topological_order(y)]
    # The leaves pickled beside it are the graph's own leaves, and constants stay constants.
    assert loaded_w in topological_order(loaded_y) and loaded_x in topological_order(loaded_y)
    assert sum(n.is_constant for n in topological_order(loaded_y)) == 3
    y.backward()
    loaded_y.backward()
    assert (loaded_w.grad, loaded_x.grad) == (w.grad, x.grad)
    assert copy.deepcopy(y).data == y.data


def test_a_deep_graph_pickles_without_recursion() -> None:
    total = Value(0.0)
    for k in range(20_000):
        total = total + k
    loaded = pickle.loads(pickle.dumps(total))
    assert loaded.data == total.data and len(topological_order(loaded)) == 40_001


def test_a_result_of_no_grad_pickles_as_one_and_an_unknown_operation_is_named() -> None:
    with no_grad():
        y = Value(2.0) * 3.0
    with pytest.raises(GradientError, match=r"no_grad\(\)"):
        pickle.loads(pickle.dumps(y)).backward()
    # An operation that is not in the table under its name travels as its definition.
    cube = Primitive("cube", "{x}^3", "x * x * x", ("3.0 * x * x",), ("3 x^2",))
    x = Value(2.0)
    loaded = pickle.loads(pickle.dumps(cube(x)))
    assert loaded.op == "cube" and loaded.primitive is not None
    assert loaded.primitive.write("a") == "a^3"
    loaded.backward()
    assert loaded.inputs[0].grad == 12.0
    doctored = pickle.dumps(x * x).replace(b"\x8c\x03mul", b"\x8c\x03zzz")
    with pytest.raises(OperandTypeError, match="no operation named 'zzz'"):
        pickle.loads(doctored)


def test_n_ary_nodes_pickle_as_their_familys_expansion() -> None:
    ws = [Value(0.5, label="w1"), Value(-1.5, label="w2"), Value(2.0, label="w3")]
    xs = [Value(1.0), Value(2.0), 3.0]
    y = add_n([dot(ws, xs), ws[0] * 2.0, xs[1]]).tanh()
    loaded = pickle.loads(pickle.dumps(y))
    mine = [(n.op, n.data, len(n.inputs)) for n in topological_order(y)]
    assert [(n.op, n.data, len(n.inputs)) for n in topological_order(loaded)] == mine
    n_ary = [n for n in topological_order(loaded) if n.op in ("dot", "add_n", "sum")]
    assert len(n_ary) == 2
    for node in n_ary:  # the table's own expansion, so every consumer recognises it
        original = next(o for o in topological_order(y) if o.op == node.op)
        assert node.primitive is original.primitive
    y.backward()
    loaded.backward()
    leaves = [n for n in topological_order(loaded) if n.is_leaf and not n.is_constant]
    assert [n.grad for n in leaves] == [n.grad for n in topological_order(y)
                                        if n.is_leaf and not n.is_constant]
