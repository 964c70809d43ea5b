"""The rules a learner takes away, named where they apply: add distributes, mul swaps, max
routes, fan-out sums, and a piecewise derivative shown as the case that applies."""

from __future__ import annotations

import pytest

from chainrule.engine import PRIMITIVES, Value, walkthrough
from chainrule.engine.explain.rules import gate_rule, local_case


def _steps(root: Value) -> dict[str, object]:
    w = walkthrough(root, picture=False)
    return {step.name: step for step in w.backward.steps}


def test_each_gate_says_its_rule_in_one_sentence() -> None:
    a, b = Value(0.7, label="a"), Value(1.3, label="b")
    m = a.maximum(b)
    m.label = "m"
    p = a * b
    p.label = "p"
    s = m + p
    s.label = "s"
    steps = _steps(s)
    assert steps["s"].rule == "add distributes: each input gets the upstream gradient unchanged"
    assert steps["p"].rule == "mul swaps: a gets the upstream gradient times b, and b times a"
    assert steps["m"].rule == (
        "max routes: the larger input, b, gets the whole upstream gradient, the other 0")
    text = walkthrough(s, picture=False).text(width=200)
    for step in steps.values():
        assert f"     {step.rule}\n" in text
    markdown = walkthrough(s, picture=False).markdown()
    assert "*max routes: the larger input, b, gets the whole upstream gradient, the other 0*" in (
        markdown)


def test_a_tie_and_a_switch_are_named_too() -> None:
    a = Value(0.5, label="a")
    tie = a.maximum(Value(0.5, label="b"))
    assert gate_rule(PRIMITIVES["maximum"], ["a", "b"], [0.5, 0.5]) == (
        "max routes: at a tie each input gets half of the upstream gradient (as in PyTorch)")
    assert _steps(tie)["f"].rule.startswith("max routes: at a tie")
    assert gate_rule(PRIMITIVES["relu"], ["z"], [-0.2]) == (
        "relu is a switch: -0.2 <= 0, so it blocks the gradient")
    assert gate_rule(PRIMITIVES["relu"], ["z"], [0.2]) == (
        "relu is a switch: 0.2 > 0, so it passes the gradient on")
    # Operations without a rule worth a sentence say nothing.
    assert gate_rule(PRIMITIVES["tanh"], ["z"], [0.2]) is None
    assert gate_rule(PRIMITIVES["sub"], ["a", "b"], [0.2, 0.1]) is None


@pytest.mark.parametrize(("name", "operands", "slot", "expected"), [
    ("maximum", (0.7, 1.3), 0, "0.7 < 1.3, so 0"),
    ("maximum", (0.7, 1.3), 1, "1.3 > 0.7, so 1"),
    ("maximum", (0.7, 0.7), 0, "0.7 = 0.7, so 1/2 = 0.5"),
    ("relu", (0.0,), 0, "0 <= 0, so 0"),
    ("relu", (2.5,), 0, "2.5 > 0, so 1"),
    ("abs", (-2.0,), 0, "-2 < 0, so -1"),
    ("abs", (0.0,), 0, "0 = 0, so 0"),
    ("leaky_relu", (-1.0, 0.01), 0, "-1 <= 0, so s = 0.01"),
    ("leaky_relu", (-1.0, 0.01), 1, "-1 <= 0, so z = -1"),
    # x^y's special cases: x^0 is the constant 1; 0^y is 0 along y.
    ("pow", (0.0, 0.0), 0, "0 = 0, so 0"),
    ("pow", (0.0, 2.0), 1, "0 = 0, so 0"),
])
def test_a_piecewise_derivative_is_the_case_that_applies(
        name: str, operands: tuple, slot: int, expected: str) -> None:
    primitive = PRIMITIVES[name]
    names = ["z", "s"][:primitive.arity] if name == "leaky_relu" else ["a", "b"][:primitive.arity]
    case = local_case(primitive, slot, names, operands)
    assert case is not None
    local = primitive.derivatives[slot](*operands, primitive.forward(*operands))
    assert case.text(f"{local:g}") == expected
    # The case stated is the one the engine's derivative code takes.
    # At a kink the condition's sides are equal; pow's "0 = 0" picks a special case instead
    # (x^0 is constant, 0^y is 0 along y): the function is smooth there, no kink.
    assert case.at_kink == (expected.split(",")[0].split(" ")[0]
                            == expected.split(",")[0].split(" ")[-1] and name != "pow")


def test_the_walkthrough_shows_the_case_not_code() -> None:
    a, b = Value(0.7, label="a"), Value(1.3, label="b")
    text = walkthrough(a.maximum(b), picture=False).text()
    assert "-> a: local d/da max(a, b): 0.7 < 1.3, so 0" in text
    assert " if " not in text.split("Backward pass")[1]


def test_formulas_that_are_not_piecewise_have_no_case() -> None:
    for name in ("add", "mul", "div", "tanh", "sigmoid", "pow"):  # pow away from its cases
        primitive = PRIMITIVES[name]
        operands = (0.7, 1.3)[:primitive.arity]
        assert local_case(primitive, 0, ["a", "b"][:primitive.arity], operands) is None


def test_a_dot_swaps_in_pairs_and_a_sum_distributes() -> None:
    from chainrule.engine import add_n, dot

    w = [Value(0.5, label="w1"), Value(0.7, label="w2")]
    x = [Value(0.8, label="x1"), Value(0.6, label="x2")]
    z = dot(w, x)
    z.label = "z"
    total = add_n([z, w[0], x[1]])
    total.label = "t"
    steps = _steps(total)
    assert steps["z"].rule == ("dot swaps in pairs: w1 gets the upstream gradient times x1, "
                               "and x1 times w1, and so on for each pair")
    assert steps["t"].rule == "sum distributes: each input gets the upstream gradient unchanged"
