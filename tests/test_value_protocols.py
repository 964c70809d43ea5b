"""Value in everyday Python (issue 14, point 4): the tests the engine change must make pass.

They are expected to fail (strict xfail) until engine/value.py gains the three protocols below;
once it does, each turns into an unexpected pass and the marker must go. The semantics proposed:

* ``format(v, spec)`` formats ``v.data`` when ``spec`` is not empty (``f"{loss:.4f}"``), as
  ``format(tensor, spec)`` does for a 0-d tensor; an empty spec keeps ``str(v)``.
* ``v.item()`` returns ``v.data`` as a Python float, as ``tensor.item()`` does.
* ``bool(v)`` is ``v.data != 0.0``, the rule for a one-element tensor; it never records a graph.
"""

from __future__ import annotations

import math

import pytest

from chainrule.engine import Value, no_grad


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
