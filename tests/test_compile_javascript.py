"""The JavaScript program of a recorded graph (issue 23): in real Chromium, its values, gradients
and every contribution equal eager Python's (exactly for arithmetic), before and after its
leaves are edited; it refuses what Python refuses with Python's very message; its
finite-difference check is trace's; ``pyRepr`` is Python's ``repr``; and it runs under a
strict Content-Security-Policy (no eval anywhere).

Each browser test opens one page holding many programs and runs them all in one call."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.engine import PRIMITIVES, ChainruleError, Value, topological_order
from chainrule.engine.compile import (
    RENDERINGS,
    emit_javascript,
    javascript_runtime,
    plan_of_graph,
)
from chainrule.engine.compile.emit_javascript import JAVASCRIPT
from chainrule.engine.compile.renderings import render
from chainrule.engine.explain.trace import trace_backward
from chainrule.engine.primitives import FUNCTIONS

from support.explain import HOSTILE_LABELS, graph_recipes, twisted_nodes

browser_test = pytest.mark.browser

#: Operations whose program is arithmetic and comparisons only: the same floats, bit for bit.
EXACT = {"add", "sub", "mul", "div", "neg", "dot", "sum", "relu", "leaky_relu", "abs", "maximum"}


@st.composite
def twisted_recipes(draw: Any) -> dict[str, Any]:
    """A random graph over every primitive and dot/sum, some nodes detached or computed under
    no_grad (leaves of the recorded graph), with hostile labels."""
    recipe = draw(graph_recipes())
    count = len(recipe["steps"])
    twists = draw(st.lists(st.sampled_from(["plain", "plain", "detach", "no_grad"]),
                           min_size=count, max_size=count))
    twists[-1] = "plain"  # the root is recorded
    labels = draw(st.lists(st.sampled_from(HOSTILE_LABELS), min_size=count, max_size=count))
    fresh = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=len(recipe["leaves"]),
                          max_size=len(recipe["leaves"])))
    return {**recipe, "twists": twists, "labels": labels, "fresh": fresh}


def _build(recipe: dict[str, Any]) -> Value | None:
    try:
        root: Value = twisted_nodes(recipe, [Value(x, label=f"x{i}")
                                             for i, x in enumerate(recipe["leaves"])])[-1]
    except ChainruleError:
        return None
    return root


def _replay(root: Value, leaf_values: Sequence[float]) -> Value:
    """``root``'s graph built again eagerly, node by node in its topological order, with the
    editable leaves set to ``leaf_values`` (the same labels, operations and constants)."""
    order = topological_order(root)
    position = {node: i for i, node in enumerate(order)}
    fresh = iter(leaf_values)
    built: list[Any] = []
    for node in order:
        if node.is_constant:
            built.append(node.data)
        elif node.is_leaf:
            built.append(Value(next(fresh), label=node.label))
        else:
            assert node.primitive is not None
            made = node.primitive(*(built[position[i]] for i in node.inputs))
            made.label = node.label
            built.append(made)
    return built[-1]  # type: ignore[no-any-return]


def _error(error: ChainruleError) -> dict[str, Any]:
    return {"kind": type(error).__name__, "message": str(error)}


def _expected(root: Value, leaf_values: Sequence[float]) -> dict[str, Any]:
    """What eager Python computes for the graph with these leaf values: every value, every
    gradient (backward's .grad), every contribution (trace_backward's), or the error."""
    try:
        rebuilt = _replay(root, leaf_values)
    except ChainruleError as error:
        return {"error": _error(error)}
    order = topological_order(rebuilt)
    values = [n.data for n in order]
    try:
        rebuilt.backward()
    except ChainruleError as error:
        return {"error": _error(error)}
    traced = trace_backward(rebuilt, check=False)
    contributions = [c for step in sorted(traced.steps, key=lambda s: -s.node)
                     for c in step.contributions if not c.is_constant]
    return {
        "values": values,
        "grads": [None if n.is_constant else n.grad for n in order],
        "traced_grads": list(traced.gradients),
        "contributions": [(c.local, c.contribution, c.grad_before, c.grad_after)
                          for c in contributions],
    }


def _page(browser: Any, programs: Sequence[str]) -> Any:
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    blocks = "".join(f"{{\n{p}programs.push(chainruleProgram);\n}}\n" for p in programs)
    script = f"{javascript_runtime()}\nconst programs = [];\n{blocks}"
    page.set_content(f"<!doctype html><meta charset='utf-8'><script>{script}</script>")
    assert not problems, problems
    assert page.evaluate("() => programs.length") == len(programs)
    return page


#: Runs programs[j].run(leafValues) for each [j, leafValues]: the numbers, or the error.
RUN = """(runs) => runs.map(([j, leafValues]) => {
  try {
    const n = programs[j].run(leafValues);
    const fields = ["values", "grads", "local", "product", "before", "after"];
    return Object.fromEntries([...fields.map((f) => [f, Array.from(n[f])]), ["seed", n.seed]]);
  } catch (e) {
    if (!(e instanceof ChainruleError)) { throw e; }
    return { error: { kind: e.kind, message: e.message, node: e.node } };
  }
})"""

#: Each program's size, editable leaves, recorded values and forward pass's result.
SHAPES = """() => programs.map((p) => [p.size, p.leaves, Array.from(p.initial),
                                   p.forward(p.initial.slice())])"""

#: Each program's finite-difference checks of its leaves at the recorded values.
CHECKS = """() => programs.map((p) => {
  try {
    const r = p.run(p.leaves.map((i) => p.initial[i]));
    return p.leaves.map((i) => [i, p.check(r.values, i), p.check(r.values, i, r.grads)]);
  } catch (e) {
    if (!(e instanceof ChainruleError)) { throw e; }
    return null;
  }
})"""


def _compare_checks(got: list[Any], expected: list[dict[str, Any]], graph: Any) -> None:
    """The page's checks (each computed with and without the gradients given) against
    trace's ``GradientCheck``s."""
    assert [g[0] for g in got] == [e["node"] for e in expected], graph
    for (_, without, with_grads), wanted in zip(got, expected, strict=True):
        assert without == with_grads, graph
        for key in ("passed", "error", "step"):
            assert without[key] == wanted[key], (key, without, wanted, graph)
        for key in ("numeric", "left", "right"):
            if wanted[key] is None:
                assert without[key] is None, (key, without, wanted, graph)
            else:
                assert math.isclose(without[key], wanted[key], rel_tol=1e-9, abs_tol=1e-12), (
                    key, without, wanted, graph)


def _same(got: float, expected: float, exact: bool) -> bool:
    got = float(got)  # a whole number comes back from the page as a Python int
    if math.isnan(got) or math.isnan(expected):
        return math.isnan(got) and math.isnan(expected)
    if exact:
        return got == expected and math.copysign(1, got) == math.copysign(1, expected)
    return got == expected or abs(got - expected) <= 1e-12 * max(abs(got), abs(expected))


def _compare(got: dict[str, Any], expected: dict[str, Any], exact: bool) -> None:
    if "error" in expected:
        assert "error" in got, (got, expected)
        assert {k: got["error"][k] for k in ("kind", "message")} == expected["error"]
        return
    assert "error" not in got, (got, expected)
    for js, py in zip(got["values"], expected["values"], strict=True):
        assert _same(js, py, exact), (js, py)
    for js, py in zip(got["grads"], expected["grads"], strict=True):
        assert _same(js, math.nan if py is None else py, exact), (js, py)
    for js, py in zip(got["grads"], expected["traced_grads"], strict=True):
        assert _same(js, math.nan if py is None else py, exact), (js, py)
    assert len(got["local"]) == len(expected["contributions"])
    for k, (local, product, before, after) in enumerate(expected["contributions"]):
        if local is None:  # rule 2: nothing passed on, the running sum unchanged
            assert math.isnan(got["local"][k]) and math.isnan(got["product"][k])
            assert got["before"][k] == got["after"][k]
            continue
        for name, py in (("local", local), ("product", product), ("before", before),
                         ("after", after)):
            assert _same(got[name][k], py, exact), (name, k, got[name][k], py)
    assert got["seed"] == 1.0


@browser_test
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes=st.lists(twisted_recipes(), min_size=30, max_size=30))
def test_random_graphs_match_eager_python_before_and_after_an_edit(
        browser: Any, recipes: list[dict[str, Any]]) -> None:
    built = [(recipe, root) for recipe in recipes if (root := _build(recipe)) is not None]
    programs = [emit_javascript(plan_of_graph(root)) for _, root in built]
    page = _page(browser, programs)
    try:
        runs, expectations, shapes = [], [], []
        for j, (recipe, root) in enumerate(built):
            order = topological_order(root)
            leaves = [i for i, n in enumerate(order) if n.is_leaf and not n.is_constant]
            recorded = [order[i].data for i in leaves]
            edited = [recipe["fresh"][k % len(recipe["fresh"])] for k in range(len(leaves))]
            exact = {name for name, _ in recipe["steps"]} <= EXACT
            shapes.append([len(order), leaves, [n.data for n in order], root.data])
            for values in (recorded, edited):
                runs.append([j, values])
                expectations.append((_expected(root, values), exact, recipe))
        for got_shape, shape, (recipe, _) in zip(page.evaluate(SHAPES), shapes, built,
                                                 strict=True):
            size, leaves, initial, result = got_shape  # numbers as floats (not JSON's ints)
            got_shape = [size, leaves, [float(x) for x in initial], float(result)]
            assert got_shape == shape, (got_shape, shape, recipe)
        for got_checks, (recipe, root) in zip(page.evaluate(CHECKS), built, strict=True):
            try:
                expected_checks = _checks(root)
            except ChainruleError:  # its gradient cannot be computed: nothing to check
                continue
            _compare_checks(got_checks, expected_checks, recipe)
        for got, (expected, exact, recipe) in zip(page.evaluate(RUN, runs), expectations,
                                                  strict=True):
            try:
                _compare(got, expected, exact)
            except AssertionError as error:
                raise AssertionError(f"{error} in the graph of {recipe}") from None
    finally:
        page.close()


def _graph(build: Any, *values: float) -> Value:
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    root: Value = build(*leaves)
    return root


#: (graph, recorded leaves, edited leaves) whose edit leaves a domain, forward or backward.
REFUSALS = [
    (lambda x: x.log() * 2.0, (2.0,), (-1.0,)),
    (lambda x: x.log() * 2.0, (2.0,), (0.0,)),
    (lambda x: (x + 1.0).sqrt(), (2.0,), (-2.0,)),
    (lambda x: x.log1p() + x, (0.5,), (-1.0,)),
    (lambda x, y: x ** y, (8.0, 2.0), (-8.0, 1.0 / 3.0)),
    (lambda x, y: x ** y, (8.0, 2.0), (0.0, -1.0)),
    (lambda x, y: x ** y, (8.0, 2.0), (10.0, 400.0)),
    (lambda x, y: x / y, (1.0, 2.0), (1.0, 0.0)),
    (lambda x, y: x / y, (1.0, 2.0), (0.0, -0.0)),
    (lambda x: x.exp() + 1.0, (1.0,), (1000.0,)),
    (lambda x, y: x * y, (1.0, 2.0), (1e300, 1e10)),
    (lambda x: x.sqrt() * 3.0, (4.0,), (0.0,)),  # backward: the slope of sqrt at 0
    (lambda x, y: x ** y, (2.0, 2.0), (-2.0, 2.0)),  # backward: d/dy needs log(x)
    (lambda x, y: x ** y, (2.0, 2.0), (0.0, 0.5)),  # backward: 0 to a negative power
    (lambda x: x.tan() * 1e307, (1.0,), (1.5,)),  # backward: the gradient overflows
    (lambda x: x.sqrt() * 0.0, (4.0,), (0.0,)),  # rule 2: the slope at 0 is never needed
]


@browser_test
def test_every_refusal_is_pythons_kind_and_message(browser: Any) -> None:
    roots = [_graph(build, *recorded) for build, recorded, _ in REFUSALS]
    page = _page(browser, [emit_javascript(plan_of_graph(root)) for root in roots])
    try:
        runs = [[j, list(edited)] for j, (_, _, edited) in enumerate(REFUSALS)]
        expected = [_expected(root, edited) for root, (_, _, edited) in zip(roots, REFUSALS,
                                                                             strict=True)]
        assert all("error" in e for e in expected[:-1]), expected
        for got, wanted in zip(page.evaluate(RUN, runs), expected, strict=True):
            _compare(got, wanted, exact=True)
        log_error = page.evaluate(RUN, [[0, [-1.0]]])[0]["error"]
        assert log_error == {"kind": "DomainError", "node": 1,
                             "message": "log: log(-1.0) is undefined: log needs x > 0"}
    finally:
        page.close()


def _checks(root: Value) -> list[dict[str, Any]]:
    traced = trace_backward(root)
    return [{"node": c.node, "numeric": c.numeric, "left": c.left, "right": c.right,
             "step": c.step, "passed": c.passed, "error": c.error} for c in traced.checks]


CHECKED = [
    (lambda x, y: (x * y).tanh() + x.log(), (0.7, -1.3)),
    (lambda x: x.relu() * 3.0, (0.0,)),  # a kink: one-sided slopes
    (lambda x: x.abs() + x, (0.0,)),
    (lambda x, y: x.maximum(y) * 2.0, (1.5, 1.5)),  # a tie of max: between the sides
    (lambda x: x.sqrt(), (1e-7,)),  # one side leaves the domain
    (lambda x: (1e-14 - x * x).log(), (0.0,)),  # both sides leave it
    (lambda x, y: x.leaky_relu() - (x * y).sigmoid() + y.softplus() + y.log_sigmoid(), (0.0, 2.0)),
    (lambda x: x.sin() * x.cos() / (x.tan() + 2.0), (0.4,)),
    (lambda x: x, (0.3,)),  # a leaf alone
]


@browser_test
def test_the_finite_difference_check_is_traces(browser: Any) -> None:
    roots = [_graph(build, *values) for build, values in CHECKED]
    page = _page(browser, [emit_javascript(plan_of_graph(root)) for root in roots])
    try:
        for got, (_, values), root in zip(page.evaluate(CHECKS), CHECKED, roots,
                                          strict=True):
            _compare_checks(got, _checks(root), values)
    finally:
        page.close()


SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.1, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5,
                  0.00012345, 1.5e-5, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                  123456789.123, 1e22, 1e21, 100.0, 0.30000000000000004, math.inf, -math.inf,
                  math.nan, 2.5e-07, 1e100, -1.2345e-300]


@browser_test
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example])
@given(numbers=st.lists(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
                        min_size=300, max_size=300))
def test_py_repr_is_pythons_repr(browser: Any, numbers: list[float]) -> None:
    page = _page(browser, [])
    try:
        floats = SPECIAL_FLOATS + numbers + [-x for x in numbers]
        assert page.evaluate("(xs) => xs.map(pyRepr)", floats) == [repr(x) for x in floats]
    finally:
        page.close()


def test_every_function_of_the_table_has_a_javascript_rendering() -> None:
    assert set(RENDERINGS) == set(FUNCTIONS)
    assert all(r.javascript for r in RENDERINGS.values())
    for primitive in PRIMITIVES.values():
        for code in (primitive.forward_code, *primitive.derivative_code):
            render(code, {}, JAVASCRIPT)  # raises MissingRendering otherwise


def test_the_program_grows_linearly_and_evaluates_no_text() -> None:
    def chain(n: int) -> Value:
        x = Value(0.5, label="</script><!--*/")
        y = x
        for _ in range(n):
            y = (y * 0.9).tanh() + x
        return y

    def wide(n: int) -> Value:
        xs = [Value(0.1 * i) for i in range(n)]
        from chainrule.engine import add_n, dot
        return add_n(xs) + dot(xs, xs[::-1])

    for build in (chain, wide):
        small, large = (len(emit_javascript(plan_of_graph(build(n)))) for n in (100, 1000))
        assert large < 11 * small
    text = javascript_runtime() + emit_javascript(plan_of_graph(chain(10)))
    for forbidden in ("eval(", "Function(", "</script", "<!--", "import(", "export "):
        assert forbidden not in text


def _csp_page(script: str, digest_of: str) -> str:
    digest = base64.b64encode(hashlib.sha256(digest_of.encode("utf-8")).digest()).decode()
    return (f"<!doctype html><meta charset='utf-8'><meta http-equiv='Content-Security-Policy' "
            f"content=\"default-src 'none'; script-src 'sha256-{digest}'\">"
            f"<body><output id='out'></output><script>{script}</script></body>")


@browser_test
def test_the_program_runs_under_a_strict_content_security_policy(browser: Any) -> None:
    x = Value(0.8, label="x</script>")
    root = (x * x.sin()).log() / (x + 2.0)
    script = (javascript_runtime() + "\n" + emit_javascript(plan_of_graph(root)) +
              "\ndocument.getElementById('out').textContent = JSON.stringify("
              "Array.from(chainruleProgram.run([1.3]).grads));")
    edited = _replay(root, [1.3])
    edited.backward()
    expected = [n.grad for n in topological_order(edited) if not n.is_constant]
    for digest_of, runs in ((script, True), (script + " ", False)):
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda message, found=violations: found.append(message.text))
        try:
            page.set_content(_csp_page(script, digest_of))
            shown = page.text_content("#out")
            if runs:
                grads = [g for g in json.loads(shown or "[]") if g is not None]
                assert len(grads) == len(expected)
                assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(grads, expected,
                                                                          strict=True))
                assert not violations, violations
            else:  # the policy is in force: a script it does not hash never runs
                assert shown == ""
                assert any("Content Security Policy" in v for v in violations), violations
        finally:
            page.close()


def test_a_graph_eager_would_refuse_is_refused() -> None:
    from chainrule.engine import GradientError, no_grad

    with no_grad():
        unrecorded = Value(2.0) * 3.0
    with pytest.raises(GradientError, match=r"emit_javascript: .* computed under no_grad"):
        emit_javascript(plan_of_graph(unrecorded))
    x = Value(1.0)
    y = x * 2.0
    x.data = 5.0
    with pytest.raises(GradientError, match=r"emit_javascript: .* was changed"):
        emit_javascript(plan_of_graph(y))


def test_a_leaf_alone_is_a_program() -> None:
    text = emit_javascript(plan_of_graph(Value(1.5, label="x")))
    assert "size: 1," in text and "leaves: [0]," in text and "contributions: 0," in text
