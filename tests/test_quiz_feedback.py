"""The quiz's tutor (engine/explain/feedback.py): each recognised mistake is named from the
lesson's recorded numbers, the right answer always wins, hints come in steps and never give
the answer first, and every name a question uses is defined on the screen before it."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings

from chainrule.engine import ChainruleError, Value, walkthrough
from chainrule.engine.explain.feedback import (
    LIKELIER,
    close_digits,
    mistakes,
    verdict,
)
from chainrule.engine.explain.lesson import Lesson
from chainrule.engine.explain.quiz import (
    Question,
    definitions,
    forward_questions,
    is_right,
    questions,
)

from support.explain import build, graph_recipes
from support.quiz import CASES, lesson_of


def circuit() -> Lesson:
    """CS231n's circuit, (x + y) * z at x = -2, y = 5, z = -4: the issue's example."""
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    return walkthrough((x + y) * z, picture=False)


def fan_out() -> Lesson:
    a = Value(3.0, label="a")
    return walkthrough(a * a + a, picture=False)


def micrograd_neuron() -> Lesson:
    """Notebook 5's quiz: o = tanh(w1 x1 + w2 x2 + b), whose unnamed nodes are n1..n4."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    return walkthrough((w1 * x1 + w2 * x2 + b).tanh(), picture=False)


def asked(w: Lesson, prompt: str, steps: bool = True) -> Question:
    (question,) = [q for q in questions(w, steps=steps) if q.prompt == prompt]
    return question


# -- names first -----------------------------------------------------------------------------

NAME = re.compile(r"[A-Za-z_][\w.]*")


def defined_names(w: Lesson) -> list[str]:
    """The names the shown forward pass defines, in the order it defines them."""
    names = []
    for line in definitions(w):
        if line.startswith("given "):
            names += re.findall(r"([\w.]+) = ", line)
        else:
            names.append(line.split(" = ")[0])
    return names


def used_names(w: Lesson, prompt: str) -> set[str]:
    """The node names a prompt uses: ``df/dn1 x d/dz (n1 * z)`` uses f, n1 and z."""
    known = {n.name for n in w.forward.nodes}
    words = set(NAME.findall(prompt.replace("d/d", " ").replace(f"d{w.root_name}/d", " ")))
    return {word for word in words if word in known} | {w.root_name}


@pytest.mark.parametrize(("lesson", "names"), [
    (circuit, ["x", "y", "z", "n1", "f"]),
    (micrograd_neuron, ["w1", "x1", "w2", "x2", "b", "n1", "n2", "n3", "n4", "f"]),
])
def test_the_issues_quizzes_define_every_name_before_asking(lesson, names):
    """`chainrule quiz "(x + y) * z"` asked df/dn1 and notebook 5 asked about n4 and n3
    without saying what they are: now the forward pass comes first, in those names."""
    w = lesson()
    assert sorted(defined_names(w)) == sorted(names)
    shown = definitions(w)
    assert "n1 = x + y = -2 + 5 = 3" in shown or "n1 = w1 * x1 = -3 * 2 = -6" in shown
    for q in questions(w, steps=True):
        assert used_names(w, q.prompt) <= set(defined_names(w)), q.prompt


def random_lesson(recipe) -> Lesson | None:
    """The walkthrough of a random graph; None when building it leaves a domain or its
    gradient overflows (no quiz to ask)."""
    built = build(recipe)
    if built is None:
        return None
    try:
        return walkthrough(built[0], picture=False)
    except ChainruleError:
        return None


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.filter_too_much])
@given(graph_recipes())
def test_every_name_a_question_uses_is_shown_before_it_on_random_graphs(recipe):
    w = random_lesson(recipe)
    if w is None:
        return
    defined = set(defined_names(w))
    for q in questions(w, steps=True) + forward_questions(w):
        assert used_names(w, q.prompt) - {q.prompt.split(" = ")[0]} <= defined, (
            q.prompt, definitions(w))


# -- the mistakes ---------------------------------------------------------------------------------


def kinds(w: Lesson, q: Question) -> dict[str, float]:
    return {m.kind: m.value for m in mistakes(w, q)}


def test_each_mistake_of_the_circuit_is_recognised_with_its_number():
    w = circuit()
    dx = asked(w, "df/dx = ?")  # -4 = df/dn1 (-4) x d/dx (x + y) (1)
    assert kinds(w, dx) == {"local": 1.0, "sign": 4.0, "added": -3.0, "value": -2.0}
    said = verdict(w, dx, 1.0)
    assert (said.correct, said.mistake) == (False, "local")
    assert "local derivative d/dx (x + y) alone" in said.message
    assert "multiply it by the upstream gradient df/dn1" in said.message
    assert verdict(w, dx, 4.0).mistake == "sign" and "wrong sign" in verdict(w, dx, 4.0).message
    assert verdict(w, dx, -3.0).mistake == "added"
    assert verdict(w, dx, -2.0).mistake == "value"
    assert "value of x from the forward pass" in verdict(w, dx, -2.0).message
    dz = asked(w, "df/dz = ?")  # 3 = n1; z's own value is -4
    assert verdict(w, dz, -4.0).mistake == "swap"
    assert "the local derivative of z is the value of n1" in verdict(w, dz, -4.0).message
    contribution = asked(w, "df/dn1 x d/dx (x + y) = ?")
    assert verdict(w, contribution, 1.0).mistake == "local"
    local = asked(w, "d/dx (x + y) = ?")
    assert verdict(w, local, -4.0).mistake == "product"
    assert verdict(w, local, 3.0).mistake == "value"


def test_a_fan_out_summed_from_some_of_its_uses_is_named():
    w = fan_out()
    da = asked(w, "df/da = ?", steps=False)  # 7 = 1 + 3 + 3
    said = verdict(w, da, 4.0)
    assert said.mistake == "partial"
    assert "only 2 of the 3 contributions a receives" in said.message
    assert verdict(w, da, 1.0).mistake == "partial" and "only 1 of the 3" in verdict(
        w, da, 1.0).message
    assert verdict(w, da, 7.0).correct


def test_a_distractor_that_is_the_answer_is_never_flagged():
    """The upstream gradient of df/dn1 is 1, so the local derivative is the gradient: giving
    it is right, not a mistake; two mistakes with one number are reported once, the likelier
    first."""
    w = circuit()
    dn1 = asked(w, "df/dn1 = ?")
    assert "local" not in kinds(w, dn1)
    assert verdict(w, dn1, -4.0).correct
    for lesson in (circuit(), fan_out(), micrograd_neuron()):
        for q in questions(lesson, steps=True):
            found = mistakes(lesson, q)
            assert all(not is_right(m.value, q.answer) for m in found)
            assert [LIKELIER.index(m.kind) for m in found] == sorted(
                LIKELIER.index(m.kind) for m in found)
    w = fan_out()
    da = asked(w, "df/da = ?", steps=False)
    found = [(m.kind, m.value) for m in mistakes(w, da)]
    assert len({value for _, value in found}) == len(found)
    # the upstream gradients add up to 3, which is also one contribution: "partial" wins
    assert ("partial", 3.0) in found and "upstream" not in dict(found)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.filter_too_much])
@given(graph_recipes())
def test_on_random_graphs_each_mistake_is_its_own_verdict_and_the_answer_always_wins(recipe):
    """Whatever the graph (fan-outs, constants, skipped steps, kinks): the right answer is
    right, no listed mistake counts as right, and typing a mistake's number gets that very
    mistake (no likelier one shadows it)."""
    w = random_lesson(recipe)
    if w is None:
        return
    for q in questions(w, steps=True) + forward_questions(w):
        if not math.isfinite(q.answer):
            continue
        assert verdict(w, q, q.answer).correct
        for m in mistakes(w, q):
            said = verdict(w, q, m.value)
            assert (said.correct, said.mistake, said.message) == (False, m.kind, m.message)
        assert len(q.hints) >= 2 and all(q.hints)


@pytest.mark.parametrize(("answer", "expected", "digits"), [
    (-0.46, -0.4665, 2), (0.12, 0.125, 2), (-0.466, -0.4665, None),  # -0.466 is right
    (0.5, 0.4665, None), (0.46, -0.4665, None), (17.25, -4.0, None), (123.0, 123.456, None),
])
def test_close_is_right_to_two_or_three_significant_digits(answer, expected, digits):
    assert close_digits(answer, expected) == digits


def test_an_answer_right_to_two_digits_is_told_to_give_more():
    """-0.46 for -0.4665 is not right (1% is 0.0047) but it is not a slip either."""
    z = Value(1.0, label="z")
    w = walkthrough(z.sigmoid(), picture=False)
    q = asked(w, "df/dz = ?")  # sigmoid'(1) = 0.196612
    said = verdict(w, q, 0.19)
    assert (said.correct, said.mistake) == (False, "close")
    assert said.message == "close: right to 2 significant digits, give 3 (rounded, not cut off)"
    assert verdict(w, q, 0.197).correct


def test_an_unrecognised_answer_is_said_so_and_gets_the_first_hint():
    w = circuit()
    dx = asked(w, "df/dx = ?")
    said = verdict(w, dx, 17.25)
    assert (said.correct, said.mistake) == (False, None)
    assert "not a slip I recognise" in said.message and said.next_hint == dx.hints[0]
    assert verdict(w, dx, 17.25, hints_shown=1).next_hint == dx.hints[1]
    assert verdict(w, dx, 17.25, hints_shown=len(dx.hints)).next_hint is None


# -- hints ----------------------------------------------------------------------------------------


def test_hints_come_in_steps_rule_formula_numbers_and_never_the_answer_first():
    y = Value(3.0, label="y")
    w = walkthrough(y - 1, picture=False)
    (local,) = [q for q in questions(w, steps=True) if q.kind == "local"]
    assert local.prompt == "d/dy (y - 1) = ?"
    assert "1" not in re.sub(r"y - 1", "", local.hints[0])  # the issue: the hint was "= 1"
    assert all(not h.endswith("= 1") for h in local.hints)
    w = circuit()
    dx = asked(w, "df/dx = ?")
    rule, formula, numbers = dx.hints
    assert "add distributes" in rule and "chain rule" in rule
    assert formula == "the formula: df/dx = df/dn1 x d/dx (x + y)"
    assert numbers == "the numbers: df/dn1 = -4 and d/dx (x + y) = 1"
    for q in questions(w, steps=True):
        assert q.hints[0] != q.worked
        assert not re.search(rf"= {re.escape(str(int(q.answer)))}$", q.hints[0]), q.hints[0]


# -- the same mistakes through the command line, fed on standard input ------------------------

def run_quiz(*argv: str, answers: str) -> tuple[int, str]:
    import contextlib
    import io
    import sys

    from chainrule.engine.console.cli import main

    out, stdin = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(answers)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = main(["quiz", *argv])
    finally:
        sys.stdin = stdin
    return status, out.getvalue()


@pytest.mark.parametrize(("expression", "assignments", "steps", "prompt", "wrong", "kind",
                          "words"), CASES)
def test_each_mistake_is_named_by_the_command_then_a_second_try_is_right(
        expression, assignments, steps, prompt, wrong, kind, words):
    w = lesson_of(expression, assignments)
    asked = questions(w, steps=steps)
    question = next(q for q in asked if q.prompt == prompt)
    assert verdict(w, question, float(wrong)).mistake == kind
    answers = []
    for q in asked:
        if q is question:
            answers += [wrong, "oops", repr(q.answer)]  # "oops" is refused, costs no try
        else:
            answers.append(repr(q.answer))
    argv = [expression, *assignments, *(["--steps"] if steps else [])]
    status, out = run_quiz(*argv, answers="\n".join(answers) + "\n")
    assert status == 0, out  # the second try was right, so every question was
    number = asked.index(question) + 1
    told = out.split(f"{number}. {prompt} {wrong}\n", 1)[1].split(f"{number}. {prompt} ")[0]
    said = verdict(w, question, float(wrong)).message
    assert told.splitlines()[0] == f"   {said}" and words in said
    assert told.splitlines()[1] == f"   hint: {question.hints[0]}"
    assert f"score: {len(asked)} of {len(asked)} (1 on a later try)" in out
