"""The walkthrough's data: forward and backward traces, replay, fan-out, formulas, checks."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.engine import (
    PRIMITIVES,
    GradientError,
    OperandTypeError,
    Value,
    scope,
    topological_order,
    trace_backward,
    trace_forward,
)
from chainrule.engine.explain.trace import format_number

from support.explain import apply_operation, build, graph_recipes
from support.strategies import DOMAINS


def replay(trace, size: int) -> list[float]:
    """The gradients the steps produce, recomputed from the recorded upstreams and locals."""
    grads = [0.0] * size
    grads[trace.root] = trace.seed
    for step in trace.steps:
        assert step.upstream == grads[step.node]
        if step.skipped:
            continue
        for c in step.contributions:
            if c.is_constant:
                continue
            grads[c.input] += step.upstream * c.local
    return grads


def test_forward_step_reads_like_the_issue():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    (step,) = trace_forward(c).steps
    assert step.equation() == "c = a * b = 2 * (-3) = -6"
    assert (step.node, step.expression, step.numbers, step.value) == (2, "a * b", "2 * (-3)", -6.0)


def test_numbers_are_written_as_a_person_writes_them():
    a = Value(0.0, label="a")
    b = Value(-0.317, label="b")
    c = Value(-0.741, label="c")
    root = (a + b) * -c + c**2
    equations = [s.equation() for s in trace_forward(root).steps]
    assert equations[:3] == ["n1 = a + b = 0 + (-0.317) = -0.317", "n2 = -c = -(-0.741) = 0.741",
                             "n3 = n1 * n2 = -0.317 * 0.741 = -0.234897"]
    assert equations[3] == "n4 = c ** 2 = (-0.741) ** 2 = 0.549081"


def test_forward_steps_follow_the_topological_order_and_skip_leaves():
    x = Value(0.5, label="x")
    y = (x * 2.0).tanh() + x
    trace = trace_forward(y)
    order = topological_order(y)
    assert [s.node for s in trace.steps] == [i for i, n in enumerate(order) if not n.is_leaf]
    assert [s.value for s in trace.steps] == [n.data for n in order if not n.is_leaf]
    assert [n.kind for n in trace.nodes] == ["input", "constant", "operation", "operation",
                                             "operation"]


def test_fan_out_shows_running_sums():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    trace = trace_backward(c)
    history = {
        name: [(x.grad_before, x.contribution, x.grad_after)
               for s in trace.steps for x in s.contributions if x.input_name == name]
        for name in ("a", "b")
    }
    assert history["b"] == [(0.0, 1.0, 1.0), (1.0, 1.0, 2.0)]
    assert history["a"] == [(0.0, 2.0, 2.0), (2.0, 2.0, 4.0)]
    c.backward()
    assert trace.gradients[0] == a.grad == 4.0


@given(graph_recipes(), st.floats(-2.0, 2.0, allow_nan=False))
def test_replay_equals_backward_exactly_and_tracing_touches_no_grad(recipe, seed):
    built = build(recipe)
    assume(built is not None)
    root, _ = built
    order = topological_order(root)
    for i, node in enumerate(order):  # stale gradients from an earlier pass must stay as they are
        node.grad = float(i) - 0.5
    before = [node.grad for node in order]
    try:
        trace = trace_backward(root, gradient=seed, check=False)
    except GradientError:
        root.zero_grad()
        with pytest.raises(GradientError):
            root.backward(seed)
        return
    assert [node.grad for node in order] == before
    root.zero_grad()
    root.backward(seed)
    engine = [node.grad for node in order]
    replayed = replay(trace, len(order))
    for i, node in enumerate(order):
        if node.is_constant:
            assert trace.gradients[i] is None
        else:
            assert trace.gradients[i] == replayed[i] == engine[i], (i, node)
    for step in trace.steps:
        for c in step.contributions:
            if c.local is not None:
                assert c.contribution == step.upstream * c.local
                assert c.grad_after == c.grad_before + c.contribution


def test_constants_are_shown_and_get_no_gradient():
    x = Value(1.5, label="x")
    y = x * 2.0
    (step,) = trace_backward(y).steps
    to_x, to_two = step.contributions
    assert (to_x.input_name, to_x.local, to_x.contribution) == ("x", 2.0, 2.0)
    assert to_two.is_constant and to_two.input_name == "2"
    assert (to_two.local, to_two.contribution, to_two.grad_after) == (None, None, None)
    assert to_x.formula == "d/dx (x * 2) = 2" and to_two.formula == ""


def test_formulas_speak_in_the_learners_names():
    # CS231n's circuit: the learner's own y and the table's placeholder y must not clash.
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    trace = trace_backward(f)
    to_q, to_z = trace.steps[0].contributions
    assert to_q.formula == "d/dq (q * z) = z" and to_q.local == -4.0
    assert to_z.formula == "d/dz (q * z) = q" and to_z.local == 3.0
    swapped = trace_backward(y * x).steps[0].contributions
    assert [c.formula for c in swapped] == ["d/dy (y * x) = x", "d/dx (y * x) = y"]


def test_the_sigmoid_derivative_is_shown_with_its_numbers():
    z = Value(1.19, label="z")
    y = z.sigmoid()
    y.label = "y"
    (c,) = trace_backward(y).steps[0].contributions
    assert c.formula == "d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z))"
    assert c.numbers == "0.766741 * (1 - 0.766741)"
    root = Value(4.0, label="v").sqrt()
    (c,) = trace_backward(root).steps[0].contributions
    assert c.numbers == "1 / (2 * 2)" and c.local == 0.25


def test_zero_upstream_is_skipped_like_the_engine():
    a = Value(2.0, label="a")
    b = Value(-1.0, label="b")
    y = (a * b).relu()  # relu'(-2) = 0: the product gets upstream 0 and passes nothing on
    trace = trace_backward(y)
    relu_step, mul_step = trace.steps
    assert relu_step.contributions[0].local == 0.0 and not relu_step.skipped
    assert mul_step.skipped and mul_step.upstream == 0.0
    assert all(c.local is None for c in mul_step.contributions)
    y.backward()
    assert (trace.gradients[0], trace.gradients[1]) == (a.grad, b.grad) == (0.0, 0.0)


def test_gradient_error_is_raised_where_backward_raises_it():
    x = Value(0.0, label="x")
    y = x.sqrt()
    with pytest.raises(GradientError, match=r"local derivative of 'f' \(sqrt, data=0.0\)"):
        trace_backward(y)
    with pytest.raises(GradientError):
        y.backward()


def test_pending_lists_nodes_still_waiting_for_contributions():
    a = Value(1.0, label="a")
    b = Value(2.0, label="b")
    u = a * b
    u.label = "u"
    v = u + a
    v.label = "v"
    trace = trace_backward(v)
    names = [n.name for n in trace.nodes]
    pending = [[names[i] for i in trace.pending_after(k)] for k in range(len(trace.steps))]
    # v hands to u and a; a still waits for u's contribution, b waits for u.
    assert pending == [["a", "b"], []]
    # Each step stores only the nodes it completes: v completes u, u completes a and b.
    assert [[names[i] for i in s.completed] for s in trace.steps] == [["u"], ["a", "b"]]


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_formula_of_every_primitive_comes_from_the_table(name):
    p = PRIMITIVES[name]
    for slot in range(p.arity):
        formula = p.derivative_formula(slot)
        assert formula.startswith(f"d/d{p.input_names[slot]} ")
        assert formula.endswith(f" = {p.formulas[slot]}")
        assert p.write(*p.input_names) in formula


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
@given(data=st.data())
def test_every_primitive_local_derivative_and_check(name, data):
    p = PRIMITIVES[name]
    names = "uv"[: p.arity]
    operands = [Value(data.draw(d), label=v) for d, v in zip(DOMAINS[name], names, strict=True)]
    try:
        out = p(*operands)
    except (ArithmeticError, ValueError):
        assume(False)
    trace = trace_backward(out)
    (step,) = trace.steps
    for slot, c in enumerate(step.contributions):
        expected = p.derivatives[slot](*(o.data for o in operands), out.data)
        assert c.local == expected
        # the table's formula, with the operands' own names put in for x and y
        renamed = dict(zip(p.input_names, names, strict=True))
        named = re.sub(r"\b(" + "|".join(p.input_names) + r")\b", lambda m, renamed=renamed: renamed[m[0]],
                       p.derivative_formula(slot))
        assert c.formula == named.replace(f"d/d{p.input_names[slot]} ", f"d/d{names[slot]} ", 1)
        assert c.variable == p.input_names[slot]
    out.backward()
    for check in trace.checks:
        assert check.passed, check
        assert check.analytic == operands[check.node].grad


def test_check_at_a_kink_shows_both_slopes_and_reports_domain_edges():
    x = Value(0.0, label="x")
    trace = trace_backward(x.relu())
    (check,) = trace.checks
    assert check.analytic == 0.0 and check.numeric == pytest.approx(0.5)
    assert check.passed and trace.all_checks_passed
    assert check.left == pytest.approx(0.0, abs=1e-9) and check.right == pytest.approx(1.0)
    assert check.kink.endswith("the gradient is the left one")
    assert trace.kinks == ("f = relu(x) is at relu's kink: chainrule takes d/dx = 0 there "
                           "(0 <= 0, so 0), PyTorch's choice",)
    # abs at 0 (PyTorch: 0) is the average of the slopes -1 and 1, as at a tie of max; leaky_relu takes the left one.
    (between,) = trace_backward(Value(0.0, label="x").abs()).checks
    assert between.passed and between.kink.endswith("the gradient is their average")
    (tie,) = trace_backward(Value(1.0, label="a").maximum(1.0)).checks
    assert tie.passed and tie.kink.endswith("the gradient is their average")
    (leaky,) = trace_backward(Value(0.0, label="x").leaky_relu(0.2)).checks
    assert leaky.passed and leaky.left == pytest.approx(0.2) and "left one" in leaky.kink
    # A kink within the nudge but not on it: the gradient is the slope of the side x is on.
    (near,) = trace_backward(Value(1e-9, label="x").relu()).checks
    assert near.passed and near.analytic == 1.0 and near.kink.endswith("the right one")
    # Away from kinks nothing is said.
    assert trace_backward(Value(0.5, label="x").relu()).kinks == ()
    tiny = Value(1e-13, label="t")
    (edge,) = trace_backward(tiny.sqrt()).checks
    assert not edge.passed and edge.kink is None
    assert "sqrt" in edge.error and "undefined" in edge.error
    # A domain edge on one side only: the other side's slope checks the gradient.
    (log_edge,) = trace_backward(Value(5e-7, label="t").log()).checks
    assert log_edge.passed is False or log_edge.numeric == pytest.approx(2e6, rel=1e-3)
    (one_side,) = trace_backward(Value(1e-6, label="t").log1p()).checks
    assert one_side.passed


def test_a_wrong_gradient_at_a_kink_is_still_a_mismatch(monkeypatch):
    """Only one of the two one-sided slopes passes: a gradient beyond both fails."""
    from chainrule.engine.explain import trace as trace_module

    x = Value(0.0, label="x")
    root = x.relu() * 3.0
    real = trace_module._finite_difference_checks

    def wrong(recording, gradients, seed, digits=6):
        return real(recording, tuple(7.0 if g is not None else None for g in gradients), seed,
                    digits)

    monkeypatch.setattr(trace_module, "_finite_difference_checks", wrong)
    (check,) = trace_backward(root).checks
    assert not check.passed and check.kink is None and check.left is not None


def test_check_scales_with_the_seed_gradient():
    x = Value(0.7, label="x")
    trace = trace_backward(x.sin(), gradient=-3.0)
    (check,) = trace.checks
    assert check.passed and check.analytic == pytest.approx(-3.0 * math.cos(0.7))
    assert check.step == 1e-6


def test_names_are_distinct_and_readable():
    with scope("layer0"):
        with scope("neuron0"):
            w0 = Value(0.1, label="w0")
        with scope("neuron1"):
            w1 = Value(0.2, label="w0")
    x = Value(2.0, label="x")
    root = (w0 * x + w1 * x).tanh()
    names = [n.name for n in trace_forward(root).nodes]
    assert "layer0.neuron0.w0" in names and "layer0.neuron1.w0" in names
    assert names[-1] == "f" and "2.0" not in names
    # unnamed values: consecutive names in order of appearance
    assert [name for name in names if name.startswith("n")] == ["n1", "n2", "n3"]
    assert len(set(names)) == len(names)


def test_nn_activations_get_readable_names():
    x = Value(0.5, label="x")
    with scope("layer0"), scope("neuron1"):
        z = Value(0.1, label="w0") * x
        z.label = "z"
        h = z.tanh()
    names = [n.name for n in trace_forward(h * 2.0).nodes]
    assert "layer0.neuron1.tanh" in names


def test_same_label_in_the_same_scope_gets_an_index():
    a = Value(1.0, label="a")
    b = Value(2.0, label="a")
    names = [n.name for n in trace_forward(a + b).nodes]
    assert names == ["a", "a#2", "f"]


def test_traces_reject_non_values():
    with pytest.raises(OperandTypeError, match="trace_backward: root must be a Value, got float"):
        trace_backward(1.0)
    with pytest.raises(OperandTypeError, match="trace_forward: root must be a Value, got str"):
        trace_forward("x")


@pytest.mark.parametrize(
    ("x", "text"),
    [(2.0, "2"), (-6.0, "-6"), (-0.0, "0"), (0.5, "0.5"), (0.7310585786300049, "0.731059"),
     (12.000000000001, "12"), (1.5e-07, "1.5e-07"), (1.234567891e-12, "1.23457e-12")],
)
def test_format_number(x, text):
    assert format_number(x) == text


# -- layer by layer --------------------------------------------------------------------------


def xor_loss():
    from chainrule.nn import MLP

    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    x1, x2 = Value(0.0, label="x1"), Value(1.0, label="x2")
    return (model([x1, x2]) - 1.0) ** 2


def assert_valid_reverse_topological(trace, order):
    position = {node: i for i, node in enumerate(order)}
    done = set()
    for step in trace.steps:
        users = [i for i, node in enumerate(order) if order[step.node] in node.inputs]
        assert all(u in done for u in users), (step.name, users)
        done.add(step.node)
    assert len(done) == sum(not node.is_leaf for node in order) == len(position) - sum(
        node.is_leaf for node in order)


def test_through_an_nn_network_the_backward_pass_goes_layer_by_layer():
    loss = xor_loss()
    order = topological_order(loss)
    trace = trace_backward(loss)
    assert_valid_reverse_topological(trace, order)
    layers = [next((int(p[5:]) for p in order[s.node].scope if p.startswith("layer")), None)
              for s in trace.steps]
    in_layers = [layer for layer in layers if layer is not None]
    assert in_layers == sorted(in_layers, reverse=True)  # every layer-1 step before layer 0
    assert trace_backward(loss).steps == trace.steps  # deterministic
    loss.backward()
    replayed = replay(trace, len(order))
    for i, node in enumerate(order):
        if not node.is_constant:
            assert trace.gradients[i] == replayed[i] == node.grad


def test_the_engine_order_is_kept_where_layer_order_would_change_a_sum():
    x = Value(0.7, label="x")
    with scope("layer0"):
        h = Value(0.3, label="w") * x
    with scope("layer1"):
        o = Value(-1.2, label="v") * h
    root = o + x * x  # x is used by layer 0 and outside any layer
    order = topological_order(root)
    trace = trace_backward(root)
    engine = [i for i in range(len(order) - 1, -1, -1) if not order[i].is_leaf]
    assert [s.node for s in trace.steps] == engine
    root.backward()
    assert trace.gradients[order.index(x)] == x.grad


@settings(max_examples=40)
@given(graph_recipes(), st.lists(st.integers(0, 2), min_size=12, max_size=12))
def test_layer_order_replays_to_the_engines_gradients_exactly(recipe, layers):
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(recipe["leaves"])]
    nodes = list(leaves)
    try:
        for (name, operands), layer in zip(recipe["steps"], layers, strict=False):
            args = [nodes[ref] if kind == "node" else ref for kind, ref in operands]
            if not any(isinstance(a, Value) for a in args):
                args[0] = nodes[-1]
            with scope(f"layer{layer}"):
                nodes.append(apply_operation(name, args))
    except (ArithmeticError, ValueError):
        assume(False)
    root = nodes[-1]
    order = topological_order(root)
    try:
        trace = trace_backward(root, check=False)
    except GradientError:
        assume(False)
    assert_valid_reverse_topological(trace, order)
    root.backward()
    replayed = replay(trace, len(order))
    for i, node in enumerate(order):
        if not node.is_constant:
            assert trace.gradients[i] == replayed[i] == node.grad
