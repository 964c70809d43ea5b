"""The n-ary operations: ``dot(weights, inputs)`` and ``add_n(terms)`` (the primitive ``sum``).

Each is one node whose forward pass performs the same float operations, in the same order, as
the chain of binary nodes it replaces, and whose local derivatives come from one record of the
primitive table (``d/dw_i = x_i``, ``d/dx_i = w_i``, ``d/da_i = 1``), read by every gradient path.
"""

from __future__ import annotations

import math
from functools import reduce
from operator import add

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import (
    GradientError,
    NumericOverflowError,
    OperandTypeError,
    Value,
    add_n,
    dot,
    grad,
    gradients,
    jit,
    no_grad,
    topological_order,
    trace_backward,
    value_and_grad,
)
from chainrule.engine.primitives import DOT, FAMILIES, SUM
from chainrule.nn import Neuron

from support.gradcheck import assert_gradient_close, complex_step, partial_difference

numbers = st.floats(-4.0, 4.0, allow_nan=False)


def pairs(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    return st.integers(min_size, max_size).flatmap(
        lambda n: st.tuples(st.lists(numbers, min_size=n, max_size=n),
                            st.lists(numbers, min_size=n, max_size=n)))


def binary_dot(ws: list[Value], xs: list[Value]) -> Value:
    z = ws[0] * xs[0]
    for w, x in zip(ws[1:], xs[1:], strict=True):
        z = z + w * x
    return z


# -- the same numbers as the chain of binary nodes ------------------------------------------------


@given(pairs())
def test_dot_computes_bitwise_what_the_chain_of_products_and_sums_computes(data: tuple) -> None:
    ws, xs = data
    assert dot(ws, xs) == binary_dot([Value(w) for w in ws], [Value(x) for x in xs]).data
    leaves = ([Value(w) for w in ws], [Value(x) for x in xs])
    assert dot(*leaves).data == dot(ws, xs)


@given(pairs())
def test_dot_gives_every_leaf_bitwise_the_chains_gradient(data: tuple) -> None:
    ws, xs = data
    n_ary = ([Value(w) for w in ws], [Value(x) for x in xs])
    chain = ([Value(w) for w in ws], [Value(x) for x in xs])
    dot(*n_ary).tanh().backward()
    binary_dot(*chain).tanh().backward()
    assert [v.grad for v in n_ary[0] + n_ary[1]] == [v.grad for v in chain[0] + chain[1]]


@given(st.lists(numbers, min_size=1, max_size=10))
def test_add_n_computes_bitwise_the_left_fold_of_additions(terms: list[float]) -> None:
    leaves = [Value(t) for t in terms]
    total = add_n(leaves)
    assert total.data == reduce(add, terms) == add_n(terms)
    (total * total).backward()
    assert all(leaf.grad == 2.0 * total.data for leaf in leaves)


# -- gradients against the oracles ----------------------------------------------------------------------


@given(pairs(max_size=6))
def test_dot_gradients_match_central_differences_and_the_complex_step(data: tuple) -> None:
    ws, xs = data
    flat = ws + xs
    n = len(ws)

    def f(*operands: float) -> float:
        return math.sin(DOT.at(n).forward(*operands))

    leaves = [Value(v) for v in flat]
    dot(leaves[:n], leaves[n:]).sin().backward()
    for i, leaf in enumerate(leaves):
        assert_gradient_close(leaf.grad, partial_difference(f, flat, i), f"d/d input {i}")

        def along(t: complex, i: int = i) -> complex:
            moved: list[complex] = [complex(v) for v in flat]
            moved[i] = t
            return complex_sine(DOT.fold(*moved))

        assert leaf.grad == pytest.approx(complex_step(along, flat[i]), rel=1e-13, abs=1e-13)


def complex_sine(z: complex) -> complex:
    import cmath

    return cmath.sin(z)


@given(pairs(max_size=4))
def test_dot_second_derivatives_are_right_through_every_gradient_of_a_gradient(data: tuple) -> None:
    ws, xs = data
    n = len(ws)
    leaves = [Value(v) for v in ws + xs]
    z = dot(leaves[:n], leaves[n:])
    out = z * z  # d/dw_i = 2 z x_i; d2/dw_i dx_j = 2 x_i w_j + 2 z [i == j]
    first = gradients(out, leaves, create_graph=True)
    for i in range(n):
        second = gradients(first[i], leaves)
        for j in range(n):
            assert second[n + j] == pytest.approx(
                2 * xs[i] * ws[j] + (2 * z.data if i == j else 0.0), rel=1e-12, abs=1e-12)
            assert second[j] == pytest.approx(2 * xs[i] * xs[j], rel=1e-12, abs=1e-12)


def test_grad_of_grad_through_shared_inputs() -> None:
    # dot([a, a], [a, a^2]) = a^2 + a^3: first derivative 2a + 3a^2, second 2 + 6a.
    f = lambda a: dot([a, a], [a, a * a])  # noqa: E731
    assert grad(f)(1.5) == 2 * 1.5 + 3 * 1.5**2
    assert grad(grad(f))(1.5) == pytest.approx(2 + 6 * 1.5, rel=1e-15)


def test_dot_and_sum_match_torch_to_second_order() -> None:
    torch = pytest.importorskip("torch")
    ws, xs = [0.5, -1.25, 2.0], [1.5, 0.25, -0.75]
    leaves = [Value(v) for v in ws + xs]
    out = add_n([dot(leaves[:3], leaves[3:]).tanh(), leaves[0] * leaves[4], 2.0])
    first = gradients(out, leaves, create_graph=True)
    second = [gradients(g, leaves) for g in first]

    t = torch.tensor(ws + xs, dtype=torch.float64, requires_grad=True)
    t_out = torch.stack([torch.dot(t[:3], t[3:]).tanh(), t[0] * t[4],
                         torch.tensor(2.0, dtype=torch.float64)]).sum()
    (t_first,) = torch.autograd.grad(t_out, t, create_graph=True)
    t_second = [torch.autograd.grad(t_first[i], t, retain_graph=True)[0].tolist()
                for i in range(6)]
    assert out.data == pytest.approx(t_out.item(), rel=1e-15)
    assert [g.data for g in first] == pytest.approx(t_first.tolist(), rel=1e-14, abs=1e-15)
    for ours, theirs in zip(second, t_second, strict=True):
        assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-14)


# -- every gradient path, one order ---------------------------------------------------------------


@settings(max_examples=60)
@given(numbers, numbers, numbers, numbers)
def test_every_path_agrees_bitwise_where_inputs_share_ancestors(a: float, c: float, w1: float,
                                                                w2: float) -> None:
    """dot([w1, w2], [a, a*c]): a reaches the dot twice, and all of chainrule's paths add its
    contributions in the same (the n-ary graph's) order; only the binary chain's order may
    differ from it, in the last bit."""

    def f(a: Value, c: Value, w1: Value, w2: Value) -> Value:
        return dot([w1, w2], [a, a * c]).tanh()

    leaves = [Value(v) for v in (a, c, w1, w2)]
    root = f(*leaves)
    root.backward()
    by_backward = [leaf.grad for leaf in leaves]
    by_gradients = gradients(root, leaves)
    traced = trace_backward(root, check=False)
    position = {node: i for i, node in enumerate(topological_order(root))}
    by_trace = [traced.gradients[position[leaf]] for leaf in leaves]
    _, by_value_and_grad = value_and_grad(f, argnums=(0, 1, 2, 3))(a, c, w1, w2)
    _, by_jit = jit(value_and_grad(f, argnums=(0, 1, 2, 3)))(a, c, w1, w2)
    assert by_backward == by_gradients == by_trace == list(by_value_and_grad) == list(by_jit)
    chain = [Value(v) for v in (a, c, w1, w2)]
    binary_dot(chain[2:], [chain[0], chain[0] * chain[1]]).tanh().backward()
    for ours, theirs in zip(by_backward, (leaf.grad for leaf in chain), strict=True):
        assert ours == pytest.approx(theirs, rel=1e-15, abs=1e-300)


def test_jit_replays_dot_and_add_n_with_eagers_numbers() -> None:
    def f(ws: list[float], xs: list[float]) -> Value:
        return add_n([dot(ws, xs).sigmoid(), ws[0], 1.0])

    compiled = jit(value_and_grad(f, argnums=(0, 1)))
    for ws, xs in [([0.5, -1.0, 2.0], [1.0, 2.0, 3.0]), ([0.25, 0.0, -3.0], [-1.0, 4.0, 0.5])]:
        assert compiled(ws, xs) == value_and_grad(f, argnums=(0, 1))(ws, xs)


# -- the graph ------------------------------------------------------------------------------------------


def test_a_dot_node_holds_its_inputs_in_order_and_its_expansion_of_the_table() -> None:
    w = [Value(0.5, label="w1"), Value(0.7, label="w2")]
    x = [Value(0.8, label="x1"), 0.6]
    z = dot(w, x)
    assert z.op == "dot" and z.primitive is DOT.at(2)
    assert z.inputs[:3] == (w[0], w[1], x[0]) and z.inputs[3].is_constant
    assert DOT.at(2).write("a", "b", "c", "d") == "a * c + b * d"
    assert DOT.at(3).derivative_formula(4) == "d/dx2 (w1 * x1 + w2 * x2 + w3 * x3) = w2"
    assert DOT.general_formulas() == ("x_i", "w_i") and SUM.general_formulas() == ("1",)
    assert SUM.at(3).write("a", "b", "c") == "a + b + c"
    assert topological_order(z) == [w[0], w[1], x[0], z.inputs[3], z]
    assert set(FAMILIES) == {"dot", "sum"}


def test_a_three_input_neuron_is_seven_leaves_one_dot_one_add_and_its_activation() -> None:
    neuron = Neuron(3, activation="sigmoid", seed=0)
    y = neuron([Value(0.8), Value(0.6), Value(0.9)])
    ops = [node.op for node in topological_order(y)]
    assert ops.count(None) == 7
    assert [op for op in ops if op is not None] == ["dot", "add", "sigmoid"]


def test_no_grad_records_no_dot_node() -> None:
    w, x = Value(2.0), Value(3.0)
    with no_grad():
        z = dot([w], [x])
        s = add_n([w, x])
    assert z.data == 6.0 and z.is_leaf and s.data == 5.0 and s.is_leaf


def test_a_long_chain_of_sums_backpropagates_without_recursion() -> None:
    x = Value(0.5)
    y = x
    for _ in range(50_000):
        y = add_n([y, x, 1.0])
    y.backward()
    assert x.grad == 50_001.0


def test_constants_get_no_gradient_and_zero_upstream_passes_nothing() -> None:
    w = Value(2.0)
    z = dot([w, 3.0], [4.0, w])
    (z * 0.0).backward()
    assert w.grad == 0.0
    z.backward()
    assert w.grad == 7.0


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "message"), [
    (lambda: dot([1.0], [1.0, 2.0]), "dot: weights and inputs must be equally long and not "
                                     "empty, got lengths 1 and 2"),
    (lambda: dot([], []), "dot: weights and inputs must be equally long and not empty"),
    (lambda: dot(Value(1.0), [1.0]), "dot: weights must be a sequence"),
    (lambda: dot("ab", [1.0, 2.0]), "dot: weights must be a sequence"),
    (lambda: dot([1.0]), "dot takes 2 sequence(s) (weights, inputs), got 1"),
    (lambda: add_n([]), "add_n: terms must not be empty"),
    (lambda: add_n(x for x in [Value(1.0)]), "add_n: terms must be a sequence"),
    (lambda: dot([Value(1.0), "a"], [1.0, 2.0]), "expected a real number"),
])
def test_bad_operands_are_refused_with_the_functions_name(call: object, message: str) -> None:
    with pytest.raises(OperandTypeError, match=None) as raised:
        call()  # type: ignore[operator]
    assert message in str(raised.value)


def test_overflow_names_the_dot() -> None:
    with pytest.raises(NumericOverflowError, match=r"^dot: 1e\+200 \* 1e\+200 overflows"):
        dot([Value(1e200)], [1e200])


@given(pairs(max_size=3))
def test_numpy_arrays_are_sequences_too(data: tuple) -> None:
    np = pytest.importorskip("numpy")
    ws, xs = data
    leaves = [Value(w) for w in ws]
    assert dot(leaves, np.array(xs)).data == dot(ws, xs)


def test_gradient_error_names_the_node_when_a_gradient_overflows() -> None:
    w = Value(1e200)
    z = dot([w, w], [Value(1.0), Value(1.0)])
    with pytest.raises(GradientError, match="became inf"):
        (z * 1e-100).backward(1e300)  # dz = 1e200; an input gets dz * w = 1e400: inf
    assert w.grad == 0.0


def test_a_dot_of_twenty_thousand_pairs_and_its_gradient_of_gradient() -> None:
    # Its local derivatives are picked, not compiled per input (which would be O(n^2)).
    n = 20_000
    ws = [Value(((i * 37) % 101) / 101 - 0.5) for i in range(n)]
    squares = dot(ws, ws)
    assert squares.data == reduce(add, (w.data * w.data for w in ws))
    first = gradients(squares, ws[:3], create_graph=True)
    assert [g.data for g in first] == [2.0 * w.data for w in ws[:3]]
    assert gradients(first[0], ws[:2]) == [2.0, 0.0]
