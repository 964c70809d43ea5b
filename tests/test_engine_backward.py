"""backward() semantics (PyTorch's where there is a choice), no_grad, detach, grad of grad."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from chainrule.engine import (
    ChainruleError,
    GradientError,
    Value,
    add_n,
    constant,
    cos,
    dot,
    enable_grad,
    exp,
    grad,
    gradients,
    is_recording,
    log,
    no_grad,
    scope,
    sigmoid,
    sin,
    tanh,
)

from support.gradcheck import assert_gradient_close, central_difference
from support.strategies import reals


def test_the_readme_example() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = (a * b + a.tanh()) ** 2
    c.backward()
    inner = 2.0 * -3.0 + math.tanh(2.0)
    assert c.data == pytest.approx(inner**2)
    assert a.grad == pytest.approx(2 * inner * (-3.0 + 1 - math.tanh(2.0) ** 2))
    assert b.grad == pytest.approx(2 * inner * 2.0)


class TestRepeatedBackward:
    def test_leaf_gradients_accumulate_exactly(self) -> None:
        a = Value(2.0)
        c = a * a + a
        c.backward()
        assert a.grad == 5.0
        c.backward()
        assert a.grad == 10.0  # micrograd gives 14: its intermediate grads are not reset

    @given(reals(-3.0, 3.0), reals(-3.0, 3.0))
    def test_calling_twice_gives_exactly_double(self, x: float, y: float) -> None:
        a, b = Value(x), Value(y)
        out = (a * b).tanh() * a + b.sin() * b
        out.backward()
        first = (a.grad, b.grad)
        out.backward()
        assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])

    def test_intermediate_gradients_are_recomputed_from_zero_and_kept(self) -> None:
        a = Value(2.0)
        square = a * a
        c = square + a
        c.backward()
        c.backward()
        assert square.grad == 1.0
        assert c.grad == 1.0

    def test_zero_grad_resets_the_whole_graph(self) -> None:
        a = Value(2.0)
        c = a * a + a
        c.backward()
        c.zero_grad()
        assert a.grad == 0.0 and c.grad == 0.0
        c.backward()
        assert a.grad == 5.0

    def test_seed_gradient(self) -> None:
        a = Value(3.0)
        (a * a).backward(gradient=0.5)
        assert a.grad == 3.0

    def test_backward_of_a_leaf(self) -> None:
        a = Value(3.0)
        a.backward()
        a.backward()
        assert a.grad == 2.0

    def test_constants_get_no_gradient(self) -> None:
        x = Value(-2.0)
        y = x**2 * 3 + 1
        y.backward()
        constants = [n for n in (y.inputs[1], y.inputs[0].inputs[1]) if n.is_constant]
        assert len(constants) == 2 and all(c.grad == 0.0 for c in constants)
        assert x.grad == -12.0


class TestGradientErrors:
    def test_infinite_local_derivative_names_the_node_and_leaves_grads_untouched(self) -> None:
        x = Value(0.0, label="x")
        x.grad = 7.0
        y = x.sqrt()
        y.label = "root"
        with pytest.raises(GradientError, match=r"'root' \(sqrt, data=0.0\).*infinite or undefined"):
            y.backward()
        assert x.grad == 7.0

    def test_a_gradient_that_overflows_to_infinity_is_caught(self) -> None:
        x = Value(1e-200, label="tiny")
        y = x * 1e200 * 1e200  # every value is finite (at most 1e200); dy/dx = 1e400 is not
        with pytest.raises(GradientError, match=r"gradient of 'tiny'.*became inf"):
            y.backward()
        assert x.grad == 0.0 and y.grad == 0.0

    def test_a_derivative_that_divides_by_zero_is_reported_with_its_inputs(self) -> None:
        x = Value(0.0)
        with pytest.raises(GradientError, match=r"sqrt node.*at sqrt\(0.0\) \(float division by zero\)"):
            x.sqrt().backward()

    def test_an_overflowing_slope_is_reported_at_the_node_it_reaches(self) -> None:
        x = Value(1e-200, label="tiny")
        with pytest.raises(GradientError, match=r"gradient of 'tiny'.*became -inf"):
            (1.0 / x).backward()

    def test_exponent_gradient_of_a_negative_base_is_undefined(self) -> None:
        x, n = Value(-2.0), Value(2.0, label="n")
        y = x**n
        assert y.data == 4.0
        with pytest.raises(GradientError, match=r"pow.*-2.0 \*\* 2.0.*log needs x > 0"):
            y.backward()

    def test_a_constant_exponent_needs_no_log_of_the_negative_base(self) -> None:
        x = Value(-2.0)
        (x**2).backward()
        assert x.grad == -4.0


class TestRecordingSwitches:
    def test_no_grad_records_nothing_and_restores_recording(self) -> None:
        x = Value(2.0)
        with no_grad():
            assert not is_recording()
            y = x * 3 + 1
        assert is_recording()
        assert y.is_leaf and y.inputs == () and y.op is None and y.data == 7.0

    def test_backward_from_a_result_computed_under_no_grad_is_refused(self) -> None:
        # PyTorch raises too ("element 0 of tensors does not require grad"): silently giving
        # every parameter a zero gradient would look like a network that learns nothing.
        x = Value(2.0, label="x")
        with no_grad():
            y = (x * 3 + 1).tanh()
            y.label = "y"
        for refused in (y.backward, lambda: gradients(y, [x])):
            with pytest.raises(GradientError, match=r"'y' \(leaf, data=.*\) was computed under "
                                                    r"no_grad\(\), so no graph was recorded"):
                refused()
        assert x.grad == 0.0 and y.grad == 0.0
        with no_grad(), enable_grad():
            z = x * 3
        z.backward()
        assert x.grad == 3.0

    def test_a_result_of_no_grad_can_still_be_used_and_a_leaf_of_yours_is_a_root(self) -> None:
        x, w = Value(2.0), Value(0.5)
        with no_grad():
            features = x * 3  # as a model's frozen part would compute them
        (features * w).backward()
        assert w.grad == 6.0 and x.grad == 0.0 and features.grad == 0.5  # a leaf of that graph
        Value(4.0).backward()  # a Value you created is a root of its own (gradient 1)
        with no_grad():
            c = constant(2.0)
        c.backward()  # a constant is a leaf too, whatever the mode it was made in
        features.data = 7.0  # setting its data makes it a Value of yours
        features.backward()
        assert features.grad == 0.5 + 1.0

    def test_no_grad_is_restored_after_an_exception(self) -> None:
        with pytest.raises(RuntimeError), no_grad():
            raise RuntimeError
        assert is_recording()

    def test_detach_cuts_the_history(self) -> None:
        x = Value(2.0, label="x")
        d = (x * 3).detach()
        assert d.is_leaf and d.data == 6.0
        (d * x).backward()
        assert x.grad == 6.0 and d.grad == 2.0

    def test_scope_tags_new_values(self) -> None:
        with scope("layer0"), scope("neuron1"):
            w = Value(1.0)
            y = w * 2
        assert w.scope == y.scope == ("layer0", "neuron1")
        assert (y + 1).scope == ()


class TestGradAsAFunction:
    @given(reals(-5.0, 5.0))
    def test_second_derivatives(self, x: float) -> None:
        assert grad(grad(sin))(x) == pytest.approx(-math.sin(x), abs=1e-12)
        assert grad(grad(cos))(x) == pytest.approx(-math.cos(x), abs=1e-12)
        assert grad(grad(exp))(x) == pytest.approx(math.exp(x), rel=1e-12)
        assert grad(grad(lambda v: v**3))(x) == pytest.approx(6 * x, abs=1e-12)
        t = math.tanh(x)
        assert grad(grad(tanh))(x) == pytest.approx(-2 * t * (1 - t * t), abs=1e-12)
        s = 1 / (1 + math.exp(-x))
        assert grad(grad(sigmoid))(x) == pytest.approx(s * (1 - s) * (1 - 2 * s), abs=1e-12)

    @given(reals(0.1, 10.0))
    def test_third_derivative_of_log(self, x: float) -> None:
        assert grad(grad(grad(log)))(x) == pytest.approx(2 / x**3, rel=1e-10)

    @given(reals(-2.0, 2.0), reals(-2.0, 2.0))
    def test_grad_of_a_two_argument_function(self, x: float, y: float) -> None:
        def f(a, b):  # type: ignore[no-untyped-def]
            return tanh(a * b) + a * a * b

        d_dy = grad(f, argnum=1)
        numeric = central_difference(lambda t: f(x, t), y)
        assert_gradient_close(d_dy(x, y), numeric, "df/dy")
        mixed = grad(lambda a: d_dy(a, y))(x)  # d2f / dx dy
        assert_gradient_close(mixed, central_difference(lambda t: d_dy(t, y), x), "d2f/dxdy")

    def test_nested_grad_that_closes_over_the_outer_variable(self) -> None:
        # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x: the inner gradient must stay a function
        # of the outer x (the "perturbation confusion" trap).
        f = grad(lambda x: x * grad(lambda y: x * y)(3.0))
        assert f(5.0) == 10.0

    def test_grad_of_a_constant_function_is_zero(self) -> None:
        assert grad(lambda x: 4.0)(1.0) == 0.0
        assert grad(grad(lambda x: x + 1))(1.0) == 0.0

    def test_gradients_with_create_graph_returns_values(self) -> None:
        x = Value(2.0)
        (g,) = gradients(x * x * x, [x], create_graph=True)
        assert isinstance(g, Value) and g.data == 12.0
        (h,) = gradients(g, [x])
        assert h == 12.0
        assert x.grad == 0.0

    def test_gradient_wrt_an_unrelated_value_is_zero(self) -> None:
        x, y = Value(1.0), Value(2.0)
        assert gradients(x * 3, [x, y]) == [3.0, 0.0]


class TestChangedData:
    """PyTorch's version counter: a graph whose numbers changed after it was built is refused."""

    def test_changing_a_leaf_between_forward_and_backward_is_an_error(self) -> None:
        x = Value(2.0, label="x")
        y = x * x + x  # dy/dx at 2 is 5; with x.data = 3 mixed in, it would silently be 6 or 7
        x.data = 3.0
        with pytest.raises(GradientError, match=r"'x' \(leaf, data=3.0\) was changed"):
            y.backward()
        with pytest.raises(GradientError, match="was changed"):
            gradients(y, [x])
        assert x.grad == 0.0
        z = x * x + x  # computed again from the new data: fine
        z.backward()
        assert x.grad == 7.0

    def test_the_training_loop_order_is_fine(self) -> None:
        w = Value(0.7)
        for _ in range(3):
            loss = (w * 2.0 - 1.0) ** 2
            w.grad = 0.0
            loss.backward()
            w.data -= 0.1 * w.grad  # the update comes after backward and before the next forward
        assert w.data < 0.7

    def test_a_leaf_changed_between_a_node_and_the_root_is_refused_and_named(self) -> None:
        # The root (y + 1) is computed after x changed, y before: comparing every node with the
        # root's time alone missed it and gave x.grad == 10, mixing the old y with the new x.
        x = Value(3.0, label="x")
        y = x * x
        x.data = 5.0
        z = y + 1
        for refused in (z.backward, lambda: gradients(z, [x])):
            with pytest.raises(GradientError, match=r"'x' \(leaf, data=5.0\) was changed \(its "
                                                    r"\.data set\) after the mul node with data=9.0"):
                refused()
        assert x.grad == 0.0 and y.grad == 0.0 and z.grad == 0.0
        w = Value(1.0, label="w")
        h = (w * 2.0).tanh()
        w.data = 0.5
        with pytest.raises(GradientError, match="'w'"):
            (h * w.exp()).backward()  # the new exp(w) with the old tanh(2w)
        v = Value(3.0, label="v")
        s = dot([v, Value(2.0)], [Value(1.0), v])  # an n-ary node checks every input
        v.data = 4.0
        with pytest.raises(GradientError, match=r"'v' \(leaf, data=4.0\) was changed .* the dot"):
            (s + v).backward()
        with no_grad():
            unrecorded = add_n([v, v, v])
        with pytest.raises(GradientError, match=r"no_grad\(\)"):
            unrecorded.backward()

    def test_changing_an_intermediate_value_is_an_error_too(self) -> None:
        x = Value(1.5)
        h = x.tanh()
        y = h * x
        h.data = 0.0
        with pytest.raises(GradientError, match="was changed"):
            y.backward()


class TestBookkeeping:
    @pytest.mark.parametrize("gradient", [math.nan, math.inf, None, "1.0", 10**400])
    def test_a_bad_seed_gradient_is_refused_before_anything_is_touched(self, gradient) -> None:
        x = Value(2.0)
        y = x * x
        y.backward()
        grads = (x.grad, y.grad)
        with pytest.raises(ChainruleError):
            y.backward(gradient)
        assert (x.grad, y.grad) == grads

    def test_a_leaf_gradient_that_overflows_by_accumulation_is_an_error(self) -> None:
        x = Value(1.0, label="x")
        y = x * 1e308
        y.backward()
        with pytest.raises(GradientError, match=r"accumulated gradient of 'x'.*inf"):
            y.backward()
        assert x.grad == 1e308  # as it was before the failing call

    def test_every_gradient_is_restored_after_a_gradient_error(self) -> None:
        x = Value(0.0)
        h = x * 2.0
        y = h.sqrt() + h
        (h * 3.0).backward()
        before = (x.grad, h.grad, y.grad)
        with pytest.raises(GradientError):
            y.backward()
        assert (x.grad, h.grad, y.grad) == before


def test_gradients_and_value_and_grad_start_from_zero_as_backward_does() -> None:
    """A contribution that underflows to -0.0 gives a leaf the gradient 0.0 (0.0 + -0.0), on
    every path, as backward() gives it."""
    from chainrule.engine import gradients, value_and_grad

    a, b, s = Value(1.0), Value(-1e-200), Value(1e-200)
    ((a * b) * s).backward()
    (by_gradients,) = gradients((a * b) * s, [a])
    _, by_value_and_grad = value_and_grad(lambda a: (a * -1e-200) * 1e-200)(1.0)
    assert str(a.grad) == str(by_gradients) == str(by_value_and_grad) == "0.0"
