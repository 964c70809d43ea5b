"""Compiled code is never silently wrong: each case a new user ran into (issue 20) gives eager's
numbers or a ChainruleError that says why, and the machinery behind it (the plan, the
rendering table, the cache, the dispatch fast path) keeps its promises."""

from __future__ import annotations

import gc
import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import ChainruleError, DomainError, Value, grad, jit, no_grad, value_and_grad
from chainrule.engine.compile import (
    MAX_STRUCTURES,
    MissingRendering,
    compile_gradient,
    make_plan,
    trace,
)
from chainrule.engine.compile import renderings as renderings_module
from chainrule.engine.compile.renderings import Dialect, render
from chainrule.engine.primitives import Primitive
from chainrule.engine.pytree import flat_leaves, flatten, unflatten


def signed(x: float) -> tuple[float, float]:
    return x, math.copysign(1.0, x)


class TestStoppedGradients:
    def test_detach_is_recorded_as_a_value_that_flows_forward(self) -> None:
        f = jit(lambda x: x * x.detach())
        assert f(3.0) == 9.0
        assert f(5.0) == 25.0  # traced at 3.0: the detached copy is computed at every call
        step = jit(value_and_grad(lambda x: x * x.detach()))
        assert step(3.0) == (9.0, 3.0) and step(5.0) == (25.0, 5.0)  # no gradient through it
        assert "passing no gradient back" in step.source(5.0)

    def test_a_comparison_on_a_detached_value_is_guarded(self) -> None:
        f = jit(lambda x: x * 2.0 if x.detach() > 0 else x * 3.0)
        assert (f(1.0), f(-1.0), f(2.0)) == (2.0, -3.0, 4.0)

    def test_no_grad_inside_the_function_stops_the_gradient_at_every_call(self) -> None:
        def f(x: Any) -> Any:
            with no_grad():
                y = x * x
            return x * y

        step = jit(value_and_grad(f))
        for x in (2.0, 3.0, -1.5):
            assert step(x) == value_and_grad(f)(x)  # (x^3, x^2): y is a constant to the gradient
        assert step(3.0) == (27.0, 9.0)

    def test_enable_grad_inside_no_grad_inside_the_function_records_again(self) -> None:
        from chainrule.engine import enable_grad

        def f(x: Any) -> Any:
            with no_grad():
                with enable_grad():
                    y = x * x
                z = y * 2.0
            return y + z

        step = jit(value_and_grad(f))
        assert step(3.0) == value_and_grad(f)(3.0) == (27.0, 6.0)

    def test_the_first_call_under_no_grad_traces_with_recording_on(self) -> None:
        def cube(x: Any) -> Any:
            return x * x * x

        f = jit(cube)
        step = jit(value_and_grad(cube))
        with no_grad():
            assert f(2.0) == 8.0
            assert step(2.0) == (8.0, 12.0)
        assert f(3.0) == 27.0
        assert step(3.0) == (27.0, 27.0)


class TestLabelsAndNames:
    @pytest.mark.parametrize("label", ["total", "fsum", "checked", "inputs", "x", "v0", "d_v0",
                                       "\U0001d465", "x\u2081", "w\u00b2", "lambda", "it's",
                                       'a "quote"', "a\nreturn (0.0,), (0.0,)", "# hash", "s0"])
    def test_any_label_compiles_and_changes_nothing(self, label: str) -> None:
        def f(x: Any) -> Any:
            t = x * x
            t.label = label
            u = t * 3.0 + x
            u.label = label
            return u * t

        step = jit(value_and_grad(f))
        assert step(2.0) == value_and_grad(f)(2.0) == (56.0, 108.0)
        assert step(-1.0) == value_and_grad(f)(-1.0)
        assert step.fallbacks.total == 0
        source = step.source(2.0)
        for line in source.splitlines():
            code = line.split("#", 1)[0]
            assert label not in code or label in ("x", "s0", "v0", "d_v0", "fsum", "checked",
                                                  "inputs")

    def test_a_label_named_total_does_not_change_training_sums(self) -> None:
        w = Value(0.5, label="total")

        def sample(x: Any) -> Any:
            total = w * x
            total.label = "total"
            return [(total - 1.0) ** 2]

        compiled = compile_gradient(sample, [w])
        results, sums = compiled.run_batch([(1.0,), (3.0,)])
        expected = [((0.5 * x - 1.0) ** 2, 2 * (0.5 * x - 1.0) * x) for x in (1.0, 3.0)]
        assert [r[0] for r in results] == [e[0] for e in expected]
        assert sums == [expected[0][1] + expected[1][1]]

    def test_the_italic_x_label_is_not_the_argument_x(self) -> None:
        def f(x: Any) -> Any:
            y = x + 1.0
            y.label = "\U0001d465"
            return x * y

        assert jit(value_and_grad(f))(2.0) == value_and_grad(f)(2.0) == (6.0, 5.0)

    @pytest.mark.parametrize("name", ["fsum", "tanh", "total", "program", "inputs"])
    def test_functions_named_like_the_programs_own_names_compile(self, name: str) -> None:
        def f(x: Any) -> Any:
            return (x * 2.0).tanh()

        f.__name__ = name
        step = jit(value_and_grad(f))
        assert step(0.5) == value_and_grad(f)(0.5)
        assert step(0.7) == value_and_grad(f)(0.7)
        assert len(step.programs) == 1 and step.fallbacks.total == 0


class TestUnusedOperations:
    def test_an_unused_branch_keeps_the_eager_domain_error(self) -> None:
        def f(x: Any) -> Any:
            unused = (x - 2.0).log()  # noqa: F841  (eager computes it, so it may fail)
            return x * 2.0

        step = jit(value_and_grad(f))
        assert step(3.0) == (6.0, 2.0)
        with pytest.raises(DomainError, match=r"log: log\(-1.0\) is undefined"):
            step(1.0)

    def test_vectorize_keeps_it_too(self) -> None:
        np = pytest.importorskip("numpy")
        from chainrule.engine.compile import vectorize

        def f(x: Any) -> Any:
            (x - 2.0).sqrt()
            return x * 2.0

        with pytest.warns(RuntimeWarning), pytest.raises(DomainError, match="sqrt"):
            vectorize(f)(np.array([3.0, 1.0]))


class TestSignedZeros:
    def test_gradients_accumulate_from_zero_as_eager_does(self) -> None:
        step = jit(value_and_grad(lambda x, y: x * y, argnums=(0, 1)))
        x, y = Value(0.0), Value(-0.0)
        (x * y).backward()
        _, (dx, dy) = step(0.0, -0.0)
        assert signed(dx) == signed(x.grad) == (0.0, 1.0)
        assert signed(dy) == signed(y.grad)

    @settings(max_examples=200, deadline=None)
    @given(a=st.sampled_from([0.0, -0.0, 1.0, -2.0]), b=st.sampled_from([0.0, -0.0, 3.0]),
           op=st.sampled_from(["mul", "add", "sub", "relu", "neg"]))
    def test_signs_of_zero_gradients_match_backward(self, a: float, b: float, op: str) -> None:
        def f(x: Any, y: Any) -> Any:
            if op == "mul":
                return x * y
            if op == "add":
                return x * 0.0 + y * -0.0
            if op == "sub":
                return -(x * y) - y
            if op == "relu":
                return (x * y).relu()
            return -(x * y)

        step = jit(value_and_grad(f, argnums=(0, 1)))
        x, y = Value(a), Value(b)
        f(x, y).backward()
        _, (dx, dy) = step(a, b)
        assert (signed(dx), signed(dy)) == (signed(x.grad), signed(y.grad))


class TestCache:
    @staticmethod
    def _shapes(count: int) -> list[list[Any]]:
        """``count`` different argument structures of the same size: nine numbers, each in a
        list or in a tuple."""
        return [[[1.0] if (k >> bit) & 1 else (1.0,) for bit in range(9)] for k in range(count)]

    @staticmethod
    def _f(parts: Any) -> Any:
        total = parts[0][0]
        for part in parts[1:]:
            total = total * 0.5 + part[0]
        return total

    def test_the_cache_is_bounded_per_function(self) -> None:
        f = jit(self._f)
        for parts in self._shapes(MAX_STRUCTURES + 40):
            f(parts)
        assert len(f.cache) == MAX_STRUCTURES
        assert len(f.programs) == MAX_STRUCTURES

    def test_its_memory_stops_growing_at_the_bound(self) -> None:
        shapes = self._shapes(400)
        gc.collect()
        tracemalloc.start()
        try:
            f = jit(self._f)
            for parts in shapes[:MAX_STRUCTURES]:
                f(parts)
            gc.collect()
            at_bound, _ = tracemalloc.get_traced_memory()
            for parts in shapes[MAX_STRUCTURES:]:
                f(parts)
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(f.cache) == MAX_STRUCTURES
        # 336 more structures compiled, none kept beyond the bound: memory stays where it was.
        assert after < at_bound * 1.25, (at_bound, after)

    def test_the_least_recently_used_structure_goes_first(self) -> None:
        f = jit(self._f)
        shapes = self._shapes(MAX_STRUCTURES + 1)
        for parts in shapes[:MAX_STRUCTURES]:
            f(parts)
        f(shapes[0])  # used again: the second is now the oldest
        f(shapes[MAX_STRUCTURES])
        assert f.cache.programs_for(f._leaves_and_key((shapes[0],), {})[1])  # type: ignore[index]
        assert not f.cache.programs_for(f._leaves_and_key((shapes[1],), {})[1])  # type: ignore[index]


class TestKeywordArguments:
    def test_keywords_pass_through_and_select_the_program(self) -> None:
        def f(x: Any, scale: float = 1.0) -> Any:
            return (x * scale).tanh()

        step = jit(value_and_grad(f))
        assert step(0.5, scale=2.0) == value_and_grad(lambda x: f(x, scale=2.0))(0.5)
        assert step(0.5, scale=3.0) == value_and_grad(lambda x: f(x, scale=3.0))(0.5)
        assert step(0.5) == value_and_grad(f)(0.5)
        assert len(step.programs) == 3
        assert jit(f)(0.5, scale=2.0) == f(Value(0.5), scale=2.0).data


class TestRenderings:
    def test_a_missing_rendering_fails_when_the_program_is_written(self,
                                                                  monkeypatch: Any) -> None:
        monkeypatch.setitem(renderings_module.RENDERINGS, "tanh",  # type: ignore[index]
                            renderings_module.Rendering(None, "np.tanh"))
        step = jit(lambda x: x.tanh())
        with pytest.raises(MissingRendering, match="python emitter has no rendering of 'tanh'"):
            step(0.5)

    def test_an_emitter_finds_out_what_it_lacks_at_once(self, monkeypatch: Any) -> None:
        monkeypatch.setitem(renderings_module.RENDERINGS, "tanh",  # type: ignore[index]
                            renderings_module.Rendering("tanh", "np.tanh", None))
        with pytest.raises(MissingRendering, match="javascript emitter has no rendering of 'tanh'"):
            render("1.0 - tanh(x) * out", {"x": "v1", "out": "v2"}, Dialect("javascript"))

    def test_missing_renderings_are_chainrule_errors(self) -> None:
        assert issubclass(MissingRendering, ChainruleError)


class TestPlan:
    def test_every_node_made_is_a_step_in_eager_order(self) -> None:
        def f(x: Any) -> Any:
            a = x * 2.0
            (a + 1.0).log()  # unused
            return a.tanh()

        traced = trace(f, [0.5], "f")
        plan = make_plan(traced, traced.inputs, "f")
        names = [s.primitive.name for s in plan.forward if hasattr(s, "primitive")
                 and s.primitive is not None]
        assert names == ["mul", "add", "log", "tanh"]
        assert plan.backward is not None
        handed = [b.step.primitive.name for b in plan.backward if hasattr(b, "step")]
        assert handed == ["tanh", "mul"]  # the unused branch gets no gradient

    def test_names_in_a_program_come_from_slots_only(self) -> None:
        def f(x: Any) -> Any:
            y = x * 2.0
            y.label = "y\n    return 42"
            return y

        source = jit(f).source(1.0)
        assert "return 42" not in [line.strip() for line in source.splitlines()]
        assert "y\\n    return 42" in source  # escaped inside its comment


class TestDispatch:
    @settings(max_examples=200, deadline=None)
    @given(args=st.lists(st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.one_of(st.floats(-1e308, 1e308), st.integers(-5, 5), st.booleans()),
                 max_size=4),
        st.tuples(st.floats(-3, 3)),
        st.lists(st.lists(st.floats(-3, 3), max_size=2), max_size=2)), max_size=3))
    def test_the_fast_path_agrees_with_flatten_or_steps_aside(self, args: list[Any]) -> None:
        fast = flat_leaves(args)
        try:
            slow = [flatten(a, "test") for a in args]
        except ChainruleError:
            assert fast is None  # bad input is validated by the slow path, which says why
            return
        if fast is None:
            return
        leaves, structures = fast
        assert structures == tuple(s for _, s in slow)
        assert leaves == [leaf for flat, _ in slow for leaf in flat]
        assert [unflatten(s, flat) for flat, s in slow] == args

    def test_a_flat_list_of_floats_takes_the_fast_path_with_identical_results(self) -> None:
        def loss(ws: Any) -> Any:
            return sum((w * w for w in ws), Value(0.0)).tanh()

        step = jit(value_and_grad(loss, argnums=0))
        ws = [0.1 * k for k in range(20)]
        assert flat_leaves((ws,)) is not None
        assert step(ws) == value_and_grad(loss)(ws)
        assert step(tuple(ws)) == value_and_grad(loss)(tuple(ws))  # a tuple stays a tuple
        assert step([1, *ws[1:]]) == value_and_grad(loss)([1, *ws[1:]])  # an int: the slow path
        assert grad(loss)(ws) == step(ws)[1]


class TestLayersAsLoops:
    """A layer's sums of products run as C loops in the Python program: the same floats as
    eager, in eager's order, bit for bit."""

    @staticmethod
    def _mlp_loss(widths: list[list[int]]) -> Any:
        def loss(params: Any, xs: Any, target: Any) -> Any:
            x, k = list(xs), 0
            for index, layer in enumerate(widths):
                activations = []
                for n in layer:
                    ws, b = params[k : k + n], params[k + n]
                    k += n + 1
                    if index % 2:  # bias added last
                        products = [w * xi for w, xi in zip(ws, x, strict=True)]
                        activations.append(sum(products[1:], products[0]) + b)
                    else:  # sum(..., b): bias first, as micrograd
                        activations.append(sum((w * xi for w, xi in zip(ws, x, strict=True)), b))
                x = [a.tanh() for a in activations] if index < len(widths) - 1 else activations
            return (x[0] - target) ** 2

        return loss

    def test_per_sample_gradients_are_bit_identical_with_loops(self) -> None:
        import random

        widths = [[5] * 6, [6] * 4, [4]]  # 5 inputs -> 6 -> 4 -> 1
        loss = self._mlp_loss(widths)
        rng = random.Random(0)
        count = sum(n + 1 for layer in widths for n in layer)
        params = [rng.uniform(-1, 1) for _ in range(count)]
        step = jit(value_and_grad(loss, argnums=0))
        for _ in range(5):
            xs = [rng.uniform(-2, 2) for _ in range(5)]
            assert step(params, xs, 0.5) == value_and_grad(loss)(params, xs, 0.5)
        source = step.source(params, xs, 0.5)
        assert source.count("= reduce(add, map(mul, ") == 6 + 4 + 1
        assert "dX1 = list(map(add, dX1, map(" in source

    def test_compile_gradient_on_an_nn_model_is_bit_identical(self) -> None:
        from chainrule.engine import gradients
        from chainrule.nn import MLP, mse

        model = MLP(6, [8, 1], activation="tanh", seed=1)
        params = model.parameters()

        def sample(x: Any, t: Any) -> Any:
            return [mse([model(x)], [t])]

        compiled = compile_gradient(sample, params)
        x = [0.1 * k - 0.2 for k in range(6)]
        (value,), grads = compiled(x, 0.3)
        root = sample([Value(v) for v in x], 0.3)[0]
        assert value == root.data and list(grads) == gradients(root, params)
        assert "reduce(add, map(mul," in compiled.source(x, 0.3)

    def test_an_input_used_elsewhere_keeps_the_line_by_line_form(self) -> None:
        def dot(ws: Any, xs: Any) -> Any:
            products = [w * x for w, x in zip(ws, xs, strict=True)]
            return sum(products[1:], products[0])

        def alone(ws: Any, xs: Any) -> Any:
            return dot(ws, xs).tanh()

        def shared(ws: Any, xs: Any) -> Any:
            return dot(ws, xs) * xs[0]  # xs[0] is also used outside the sum

        ws, xs = [0.5, -1.0, 2.0, 0.25], [1.5, 2.0, -0.5, 3.0]
        for f, loops in ((alone, True), (shared, False)):
            step = jit(value_and_grad(f, argnums=(0, 1)))
            assert step(ws, xs) == value_and_grad(f, argnums=(0, 1))(ws, xs)
            assert ("reduce(" in step.source(ws, xs)) is loops


class TestDotLayers:
    """The layer recogniser reads an n-ary ``dot`` node (inputs w1..wn, x1..xn) as one row,
    with no special case elsewhere: a plan made by hand with such nodes (the engine records
    binary chains today) lifts, and both emitters write it."""

    DOT = Primitive("dot", "{w1} * {x1} + {w2} * {x2}", "w1 * x1 + w2 * x2",
                    ("x1", "x2", "w1", "w2"), ("x1", "x2", "w1", "w2"),
                    ("w1", "w2", "x1", "x2"))

    def _plan(self) -> Any:
        from chainrule.engine.compile.plan import BackStep, Contribution, Plan, Step
        from chainrule.engine.primitives import ADD

        weights = [Value(v) for v in (0.5, -1.0, 0.25, 2.0, 1.5, -0.75)]  # w11 w12 b1 w21 w22 b2
        forward = [Step(8, self.DOT, (2, 3, 0, 1)), Step(9, ADD, (8, 4)),
                   Step(10, self.DOT, (5, 6, 0, 1)), Step(11, ADD, (10, 7)),
                   Step(12, ADD, (9, 11))]
        by_slot = {s.slot: s for s in forward}

        def back(slot: int, targets: list[tuple[int, int, bool]]) -> BackStep:
            return BackStep(by_slot[slot], False,
                            tuple(Contribution(p, t, first) for p, t, first in targets))

        backward = [back(12, [(0, 9, True), (1, 11, True)]),
                    back(11, [(0, 10, True), (1, 7, True)]),
                    back(10, [(0, 5, True), (1, 6, True), (2, 0, True), (3, 1, True)]),
                    back(9, [(0, 8, True), (1, 4, True)]),
                    back(8, [(0, 2, True), (1, 3, True), (2, 0, False), (3, 1, False)])]
        return Plan("dots", 13, [0, 1], weights, [2, 3, 4, 5, 6, 7], {}, list(forward),
                    [8, 9, 10, 11, 12], [12], [(0, 12)], backward,
                    [12, 9, 11, 10, 7, 5, 6, 0, 1, 8, 4, 2, 3], [2, 3, 4, 5, 6, 7],
                    frozenset({0, 1, 8, 9, 10, 11, 12}))

    @staticmethod
    def _expected(x1: float, x2: float) -> tuple[float, list[float]]:
        w11, w12, b1, w21, w22, b2 = 0.5, -1.0, 0.25, 2.0, 1.5, -0.75
        value = (w11 * x1 + w12 * x2 + b1) + (w21 * x1 + w22 * x2 + b2)
        return value, [x1, x2, 1.0, x1, x2, 1.0]

    def test_dot_rows_form_one_layer(self) -> None:
        from chainrule.engine.compile import lift_layers

        lifted = lift_layers(self._plan(), {2, 3, 4, 5, 6, 7}, exact=True)
        (layer,) = lifted.layers
        assert layer.inputs == (0, 1) and layer.tops == (9, 11)
        assert layer.weights == ((2, 3), (5, 6)) and layer.biases == (4, 7)

    def test_both_emitters_write_the_lifted_dot_layer(self) -> None:
        from chainrule.engine.compile import emit_python, lift_layers

        plan = self._plan()
        exact = lift_layers(plan, {2, 3, 4, 5, 6, 7}, exact=True)
        generated = emit_python(exact)
        assert generated.source.count("reduce(add, map(mul, ") == 2
        run = generated.compile()
        (value,), gradients = run([0.3, -0.2], [w._data for w in plan.captured])
        expected_value, expected_gradients = self._expected(0.3, -0.2)
        assert value == expected_value and list(gradients) == expected_gradients
        np = pytest.importorskip("numpy")
        from chainrule.engine.compile.emit_numpy import emit_numpy

        batch = emit_numpy(lift_layers(plan, {2, 3, 4, 5, 6, 7}))
        (values,), sums = batch(np.array([[0.3, 1.0], [-0.2, 2.0]]))
        assert values.tolist() == pytest.approx([self._expected(0.3, -0.2)[0],
                                                 self._expected(1.0, 2.0)[0]])
        assert sums.tolist() == pytest.approx([1.3, 1.8, 2.0, 1.3, 1.8, 2.0])
