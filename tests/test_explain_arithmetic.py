"""Every equation the walkthrough prints is true: the text, the Markdown, the page's data, the
worksheet, the quiz's worked steps and the command line are parsed, and each chain of numbers
in them is evaluated and must hold to the printed precision (see support/arithmetic.py)."""

from __future__ import annotations

import dataclasses
import io
import re
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.engine import PRIMITIVES, Value, walkthrough
from chainrule.engine.console.cli import main
from chainrule.engine.console.expression import parse_expression
from chainrule.engine.explain import wording
from chainrule.engine.explain.quiz import forward_questions, questions
from chainrule.engine.explain.template import fill, template_from_json

from support.arithmetic import (
    Report,
    check_line,
    check_text,
    page_data,
    page_strings,
    unescape_markdown,
)
from support.explain import graph_recipes, recipe_walkthrough

#: Operand values for each primitive: ordinary ones, negative ones, and its kinks and ties.
VALUES = {
    # (a negative base has no real derivative along the exponent: refused, as it should be)
    "pow": [(0.7, 1.3), (1.5, 2.0), (2.0, -1.5)],
    "div": [(3.0, 2.0), (-3.0, 2.0), (0.7, -1.3)],
    "log": [(0.7,), (2.5,)], "sqrt": [(0.7,), (4.0,)], "log1p": [(0.7,), (-0.5,)],
    "relu": [(0.7,), (-0.7,), (0.0,)], "abs": [(0.7,), (-0.7,), (0.0,)],
    "leaky_relu": [(0.7, 0.01), (-0.7, 0.01), (0.0, 0.2)],
    "maximum": [(0.7, 1.3), (1.3, 0.7), (0.7, 0.7)],
}
DEFAULT_VALUES = [(0.7, 1.3), (-0.7, 1.3), (-1.3, -0.7)]


#: The page's fields written with the picture's 4 significant digits, not the walkthrough's.
SHORT_FIELDS = re.compile(r".*Short|edgeText")


def every_printed_text(w: Any) -> dict[str, list[tuple[str, int]]]:
    """What each renderer prints, as lines to check with the digits they are written with
    (the text unwrapped: a wide terminal)."""
    quiz = questions(w, steps=True) + questions(w, steps=True, times="×") + forward_questions(w)
    def lines(text: str) -> list[tuple[str, int]]:
        return [(unescape_markdown(line), w.digits) for line in text.splitlines()]

    return {
        "text": [(line, w.digits) for line in w.text(width=10_000).splitlines()],
        "markdown": lines(w.markdown()),
        "worksheet": lines(w.worksheet().replace("`", "")),  # code spans read as text
        "page": [(text, 4 if SHORT_FIELDS.fullmatch(key) else w.digits)
                 for key, text in page_strings(page_data(w.html()))],
        "quiz": [(text, w.digits) for q in quiz for text in (q.worked, q.hint)],
    }


def check_renderings(shown: dict[str, list[tuple[str, int]]], said: str = ""
                     ) -> dict[str, Report]:
    """Every line of each rendering checked (see support/arithmetic.py)."""
    reports = {}
    for renderer, lines in shown.items():
        report = Report()
        for line, digits in lines:
            try:
                report += check_line(line, digits)
            except AssertionError as error:
                raise AssertionError(f"{renderer}{said}: {error}") from None
        reports[renderer] = report
    return reports


def check_walkthrough(w: Any) -> dict[str, Report]:
    return check_renderings(every_printed_text(w))


def with_numbers(w: Any, numbers: Any) -> Any:
    """The lesson ``w`` whose templates are filled with other ``numbers``: what the live page
    shows after a learner's edit (its static sentences stay as recorded)."""
    other = dataclasses.replace(w)
    other.__dict__["numbers"] = numbers  # Lesson.numbers is a cached property
    return other


def other_numbers(other: Any) -> Any:
    """The numbers of ``other`` as the page holds them after an edit: not the recorded ones."""
    return dataclasses.replace(other.numbers, recorded=False)


def check_with_other_numbers(w: Any, other: Any) -> dict[str, Report]:
    """Every equation of ``w``'s text, Markdown and page, filled with the numbers of ``other``
    (the same graph recorded at other leaf values), holds: no template hard-codes a number."""
    assert [(c.node, c.slot) for s in w.backward.steps for c in s.contributions] == [
        (c.node, c.slot) for s in other.backward.steps for c in s.contributions]
    shown = {"page": [(text, 4 if SHORT_FIELDS.fullmatch(key) else w.digits)
                      for key, text in page_strings(page_data(w.html()), other_numbers(other))]}
    if [s.skipped for s in w.backward.steps] == [s.skipped for s in other.backward.steps]:
        # The text and Markdown lay out the recorded steps (the page's templates choose).
        lesson = with_numbers(w, other_numbers(other))
        shown["text"] = [(line, w.digits) for line in lesson.text(width=10_000).splitlines()]
        shown["markdown"] = [(unescape_markdown(line), w.digits)
                             for line in lesson.markdown().splitlines()]
    return check_renderings(shown, " with other numbers")


def primitive_cases() -> list[tuple[str, tuple[float, ...]]]:
    return [(name, values) for name in PRIMITIVES
            for values in VALUES.get(name, DEFAULT_VALUES)]


def _graph(name: str, values: tuple[float, ...]) -> tuple[Value, list[Value]]:
    """The primitive applied to named leaves, used again (a fan-out) and scaled, so that every
    step of the walkthrough has something to say."""
    primitive = PRIMITIVES[name]
    leaves = [Value(v, label=label) for v, label in zip(values, "ab", strict=False)]
    out = primitive(*leaves[:primitive.arity])
    out.label = "c"
    return out * leaves[0] + out, leaves


@pytest.mark.parametrize(("name", "values"), primitive_cases())
def test_every_printed_equation_of_every_primitive_holds(name: str, values: tuple) -> None:
    root, leaves = _graph(name, values)
    w = walkthrough(root, lr=0.1, parameters=leaves[:1], picture=False)
    reports = check_walkthrough(w)
    # Each renderer checked the local derivatives of the primitive's inputs at least.
    for renderer, report in reports.items():
        assert report.equalities >= 3, (renderer, report)
    # ... and the primitive's own local derivatives, unless they are plain numbers (add's 1).
    local = [line for line, _ in every_printed_text(w)["text"]
             if re.search(r"local d/d[ab] (?!\(c \* a\))", line)]
    checked = sum(check_line(line).equalities + check_line(line).comparisons for line in local)
    primitive = PRIMITIVES[name]
    computed = any(not re.fullmatch(r"-?[\w.]+", f) and f != primitive.write(*primitive.input_names)
                   for f in primitive.formulas)
    assert local and (checked or not computed), local


@pytest.mark.parametrize(("name", "values"), primitive_cases())
def test_every_equation_filled_with_other_numbers_holds(name: str, values: tuple) -> None:
    """The lesson recorded at one point, its templates filled with the numbers of another
    (each primitive's next test point: across a kink, a tie, a special case)."""
    cases = VALUES.get(name, DEFAULT_VALUES)
    others = cases[(cases.index(values) + 1) % len(cases)]
    root, leaves = _graph(name, values)
    w = walkthrough(root, lr=0.1, parameters=leaves[:1], picture=False)
    root, leaves = _graph(name, others)
    other = walkthrough(root, lr=0.1, parameters=leaves[:1], picture=False)
    reports = check_with_other_numbers(w, other)
    assert reports["page"].equalities >= 3
    page = " ".join(text for _, text in page_strings(page_data(w.html()), other.numbers))
    recorded = " ".join(text for _, text in page_strings(page_data(other.html())))
    # The templated sentences say what a lesson recorded at the other numbers says.
    for step in other.forward.steps:
        assert step.equation(other.digits) in page
    for step in other.backward.steps:
        for c in step.contributions:
            if not c.is_constant and not step.skipped:
                assert wording.local_text(other, c) in page, (wording.local_text(other, c),
                                                              recorded)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=graph_recipes(max_steps=8), lr=st.sampled_from([None, 0.1]),
       shift=st.lists(st.floats(-2, 2, allow_nan=False), min_size=4, max_size=4))
def test_every_equation_of_a_random_graph_filled_with_other_numbers_holds(
        recipe: dict, lr: float | None, shift: list[float]) -> None:
    """The graph run again eagerly with its leaves moved, the first run's templates filled
    with the second run's numbers."""
    moved = {**recipe, "leaves": [x + dx for x, dx in zip(recipe["leaves"], shift,
                                                          strict=False)]}
    first, second = recipe_walkthrough(recipe, lr), recipe_walkthrough(moved, lr)
    if first is None or second is None:
        return
    (w, _), (other, _) = first, second
    if [n.name for n in w.forward.nodes] != [n.name for n in other.forward.nodes]:
        return  # a constant computed from a leaf is named by its number
    check_with_other_numbers(w, other)


def test_the_division_slip_of_the_issue_is_gone() -> None:
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    text = walkthrough(a / b, picture=False).text()
    assert "local d/db (a / b) = -a / b^2 = -3 / 2^2 = -0.75" in text
    assert "-1.5^2" not in text


def test_a_false_equation_is_caught() -> None:
    with pytest.raises(AssertionError, match="false equation"):
        check_line("local d/db (a / b) = -a / b^2 = -1.5^2 = -0.75")
    with pytest.raises(AssertionError, match="false comparison"):
        check_line("d/da max(a, b): 1.3 < 0.7, so 0")
    with pytest.raises(AssertionError, match="false equation"):
        check_line("df/dx = 0.2 + (-0.3) = 0.1")
    # Rounding is not an error: 0.766741 * (1 - 0.766741) is 0.178849 to six digits.
    assert check_line("y = 0.766741 * (1 - 0.766741) = 0.178849").equalities == 1
    assert check_line("0.7 < 1.3, so 0").comparisons == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=graph_recipes(max_steps=8), lr=st.sampled_from([None, 0.1]))
def test_every_printed_equation_of_a_random_graph_holds(recipe: dict, lr: float | None) -> None:
    made = recipe_walkthrough(recipe, lr)
    if made is None:
        return
    w, _ = made
    check_walkthrough(w)


def _expression(name: str) -> str:
    primitive = PRIMITIVES[name]
    names = ("a", "b")[:primitive.arity]
    call = f"{primitive.function}({', '.join(names)})" if primitive.function else (
        f"({primitive.write(*names)})")
    return f"{call} * a + {call}"


@pytest.mark.parametrize(("name", "values"), primitive_cases())
def test_the_command_line_prints_only_true_equations(
        name: str, values: tuple, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    values = values[:PRIMITIVES[name].arity]
    assignments = [f"{label}={v!r}" for label, v in zip("ab", values, strict=False)]
    expression = _expression(name)
    assert main(["explain", expression, *assignments]) == 0
    printed = capsys.readouterr().out
    # The command prints the walkthrough's text wrapped to 80 columns: the same words as the
    # unwrapped text of the same graph, whose every line is checked.
    root = parse_expression(expression, dict(zip("ab", values, strict=False)))
    wide = walkthrough(root, picture=False,
                       title=f"Backpropagation through {expression}").text(width=10_000)
    assert printed.split() == wide.split()
    assert check_text(wide).equalities >= 5
    # The quiz, answered with nothing, shows every worked step.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["quiz", "--steps", expression, *assignments]) == 1
    session = capsys.readouterr().out
    assert check_text(session).equalities >= 5


def test_an_equation_with_numbers_near_the_ends_of_the_floats_is_checked_exactly() -> None:
    # -x / y^2 at x = y = 1.9e-263: y^2 underflows in floats, the printed equation still holds.
    x = Value(1.8876729127012245e-263, label="x")
    text = walkthrough(x / x, picture=False).text(width=200)
    assert "-x / x^2 = -(1.88767e-263) / (1.88767e-263)^2 = -5.29753e+262" in text
    assert check_text(text).equalities > 0


@pytest.mark.parametrize(("x", "y"), [(0.0, 0.0), (0.0, 2.0), (3.0, 0.0)])
def test_pow_at_its_special_cases_prints_the_case_not_an_undefined_formula(x: float, y: float) -> None:
    # 0 * 0^(0 - 1) and 0^2 * log(0) are undefined; x^0 is the constant 1 and 0^y is 0 along y.
    text = walkthrough(Value(x, label="x") ** Value(y, label="y"), picture=False).text(width=200)
    check_text(text)
    assert "0^(0 - 1)" not in text and "log(0)" not in text
    assert ": 0 = 0, so 0" in text


def _crossing(name: str) -> Any:
    """Small graphs whose leaves, moved, cross a kink: each builds the root from leaf values."""
    def leaves(values: dict[str, float]) -> dict[str, Value]:
        return {k: Value(v, label=k) for k, v in values.items()}

    def build_root(values: dict[str, float]) -> Value:
        v = leaves(values)
        a, b = v["a"], v["b"]
        if name == "relu":  # a fan-out whose use through the relu is skipped when it is off
            return (a * b).relu() + a
        if name == "max":
            return a.maximum(b) * a + b
        if name == "abs":
            return (a - b).abs() * a
        return (a * b).relu() * b + a.relu()  # "kink": relu exactly at 0
    return build_root


#: (graph, recorded leaves, leaves after an edit): a relu turning on and off (a zero upstream
#: appearing and disappearing), max changing its winner and tying, abs changing sign, a relu
#: sitting exactly on its kink.
CROSSINGS = [
    ("relu", {"a": 1.0, "b": -2.0}, {"a": 1.0, "b": 2.0}),
    ("max", {"a": 0.7, "b": 1.3}, {"a": 1.3, "b": 0.7}),
    ("max", {"a": 0.7, "b": 1.3}, {"a": 0.7, "b": 0.7}),
    ("abs", {"a": 0.7, "b": 1.3}, {"a": 1.3, "b": 0.7}),
    ("kink", {"a": 0.0, "b": 2.0}, {"a": 0.5, "b": -2.0}),
    ("kink", {"a": 0.5, "b": 2.0}, {"a": 0.0, "b": -2.0}),
]


@pytest.mark.parametrize(("name", "recorded", "edited"),
                         CROSSINGS + [(n, b, a) for n, a, b in CROSSINGS])
def test_a_lesson_filled_with_numbers_across_a_kink_says_only_true_things(
        name: str, recorded: dict[str, float], edited: dict[str, float]) -> None:
    """The page of a lesson recorded at one point, filled with the numbers of the same graph
    run again eagerly where a relu, max or abs takes its other branch (the live page after an
    edit): every equation holds, every fan-out sums all of its uses, every verdict is the
    check's."""
    build_root = _crossing(name)
    w = walkthrough(build_root(recorded), picture=False)
    other = walkthrough(build_root(edited), picture=False)
    check_with_other_numbers(w, other)
    data = page_data(w.html())
    numbers = other_numbers(other)

    def filled(part: Any) -> str:
        return fill(template_from_json(part), numbers, w.digits)

    grads = other.numbers.grads
    for step in data["backward"]:
        for c in step["contributions"]:
            for line in c["lines"]:
                said = filled(line["text"]) if line["kind"] == "fanout" else ""
                if "have contributed" not in said:  # the sum is said with the last use
                    continue
                # Every use is a term, and they add up to the gradient the engine computes.
                terms = said.split(": ", 1)[1].split(" = ")[1].split(" + ")
                assert len(terms) == c["uses"], said
                total = sum(float(t.strip("()")) for t in terms)
                assert total == pytest.approx(grads[c["input"]], rel=1e-5, abs=1e-6), said
    for check in data["checks"]:
        verdict = filled(check["verdict"])
        assert verdict.startswith("✓") == other.numbers.passed[check["check"]], verdict
        # Which one-sided slope the gradient is, an error's message: the recorded check's.
        said = filled(check["kink"]) if check["kink"] else ""
        assert not re.search("the left one|the right one|their average|between them", said)
        assert not check["error"] or filled(check["error"]) == ""
    # The recorded count of checks and the recorded kinks are not said of other numbers.
    assert filled(data["summaryText"]) == wording.CHECKED_AGAIN
    assert all(filled(kink) == "" for kink in data["kinks"])
    recorded = {text for _, text in page_strings(data)}
    assert wording.check_summary(w) in recorded and set(w.backward.kinks) <= recorded


def _loss(kind: str, z: float) -> Value:
    from chainrule.nn import bce_with_logits, binary_cross_entropy, cross_entropy

    score = Value(z, label="z")
    if kind == "logits":
        return bce_with_logits(score, 1.0)
    if kind == "probability":
        return binary_cross_entropy(score.sigmoid(), 0.0)
    return cross_entropy([score, Value(0.5, label="z1"), Value(-1.0, label="z2")], 0)


@pytest.mark.parametrize("kind", ["logits", "probability", "softmax"])
def test_a_loss_shortcut_filled_with_other_numbers_holds(kind: str) -> None:
    """dL/dz = y - t with another score: the probability follows the numbers (a node's value,
    or its formula on the slots where the graph computes it only inside a step)."""
    w, other = walkthrough(_loss(kind, 0.4), picture=False), walkthrough(_loss(kind, -1.7),
                                                                        picture=False)
    assert w.shortcuts and set(w.shortcuts) == set(other.shortcuts)
    check_with_other_numbers(w, other)
    numbers = other_numbers(other)
    for node, note in w.shortcuts.items():
        said = fill(note, numbers, w.digits)
        gradient = re.search(r" - [01] = ([^ ,]+)", said)
        assert gradient is not None, said
        assert gradient.group(1) == wording.number(other, other.numbers.grads[node] or 0.0)
        assert check_line(said).equalities >= 1, said
        probability = re.search(r"[yp] - t = (.*?) - [01] =", w.said(note))
        assert probability is not None and probability.group(1) not in said  # not recorded
