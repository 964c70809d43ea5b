"""One recorded lesson: the graph sorted once, its numbers (Numbers, contribution k) the engine's,
and its sentences templates whose slots any numbers fill (see engine/explain/template.py)."""

from __future__ import annotations

import json
import math
import sys

import pytest
from hypothesis import HealthCheck, given, settings

from chainrule.engine import Value, topological_order, walkthrough
from chainrule.engine import graph as graph_module
from chainrule.engine.chain_rule import backward_schedule
from chainrule.engine.explain import wording
from chainrule.engine.explain.html import json_for_script
from chainrule.engine.explain.rules import local_case
from chainrule.engine.explain.template import (
    Choice,
    Compare,
    Hole,
    Known,
    Numbers,
    Slot,
    UpstreamZero,
    fill,
    numbers_from_json,
    numbers_json,
    template,
    template_from_json,
    template_json,
)
from chainrule.nn import MLP

from support.explain import graph_recipes, recipe_walkthrough


def test_a_walkthrough_sorts_its_graph_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One recording read by every part: the traces, the checks, the default parameters, the
    update's forward pass and the picture (topological_order once, not five times)."""
    calls = []
    original = graph_module.topological_order

    def counted(root: Value) -> list[Value]:
        calls.append(root)
        return original(root)

    for module in list(sys.modules.values()):
        if (module is not None and module.__name__.startswith("chainrule")
                and getattr(module, "topological_order", None) is original):
            monkeypatch.setattr(module, "topological_order", counted)
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    prediction = model([0.5, -1.0])
    w = walkthrough(prediction, target=0.3, lr=0.1, picture=True)
    assert len(calls) == 1
    assert w.loss_after is not None and w.updates and w.backward.checks
    calls.clear()
    w.text(), w.markdown(), w.html()
    assert calls == []  # the renderers read the lesson, never the graph


def _engine_order(root: Value) -> list[tuple[int, int]]:
    """(node, input slot) of every contribution, in the order the engine makes them."""
    order = topological_order(root)
    position = {node: i for i, node in enumerate(order)}
    handoffs, _ = backward_schedule([root])
    return [(position[h.node], slot) for h in handoffs for slot, _, _ in h.inputs]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=graph_recipes(max_steps=8))
def test_numbers_are_the_engines_in_the_engines_order(recipe: dict) -> None:
    made = recipe_walkthrough(recipe)
    if made is None:
        return
    w, root = made
    numbers = w.numbers
    order = topological_order(root)
    contributions = sorted((c for s in w.backward.steps for c in s.contributions if not
                            c.is_constant), key=lambda c: c.k or 0)
    # k numbers the contributions 0..m-1 in the engine's order: node by node from the last,
    # each node's inputs first to last; a constant has none.
    assert [c.k for c in contributions] == list(range(len(contributions)))
    assert [(c.node, c.slot) for c in contributions] == _engine_order(root)
    assert all(c.k is None for s in w.backward.steps for c in s.contributions if c.is_constant)
    root.backward()
    assert numbers.values == tuple(node.data for node in order)
    for i, node in enumerate(order):
        assert numbers.grads[i] == (None if node.is_constant else node.grad)
    assert numbers.seed == 1.0
    running: dict[int, float] = {}
    for c in contributions:
        assert c.k is not None
        upstream = numbers.grads[c.node]
        assert upstream is not None
        if upstream == 0.0:  # rule 2: nothing passed on, no local derivative evaluated
            assert numbers.local[c.k] is numbers.product[c.k] is numbers.after[c.k] is None
            continue
        local = order[c.node].primitive.derivatives[c.slot](  # type: ignore[union-attr]
            *(n.data for n in order[c.node].inputs), order[c.node].data)
        assert numbers.local[c.k] == local
        assert numbers.product[c.k] == upstream * local
        assert numbers.before[c.k] == running.get(c.input, 0.0)
        running[c.input] = running.get(c.input, 0.0) + upstream * local
        assert numbers.after[c.k] == running[c.input]
    for i, total in running.items():
        assert numbers.grads[i] == total


def test_templates_travel_as_json_and_back() -> None:
    a, b = Value(0.7, label="a"), Value(1.3, label="b")
    c = a.maximum(b) * a + (a - b).relu()
    w = walkthrough(c, lr=0.1, parameters=[a], picture=False)
    every = [wording.forward_equation(w, s) for s in w.forward.steps] + [
        wording.local_template(w, c) for s in w.backward.steps for c in s.contributions
        if not c.is_constant] + [wording.loss_change_template(w)]
    assert any(isinstance(part, Choice) for t in every for part in t)
    for t in every:
        back = template_from_json(json.loads(json.dumps(template_json(t))))
        assert back == t
        assert fill(back, w.numbers, w.digits) == fill(t, w.numbers, w.digits)
    assert numbers_from_json(json.loads(json_for_script(numbers_json(w.numbers)))) == w.numbers


def _numbers(values: tuple[float, ...], grads: tuple[float | None, ...] = ()) -> Numbers:
    return Numbers(values=values, grads=grads, local=(), product=(), before=(), after=(),
                   seed=1.0)


def test_a_choice_takes_the_first_variant_that_holds() -> None:
    case = (Choice((
        (Compare(Slot("v", 0), ">", 0.0), (Slot("v", 0), " > 0, so 1")),
        (None, (Slot("v", 0), " <= 0, so 0")),
    )),)
    assert fill(case, _numbers((0.7,))) == "0.7 > 0, so 1"
    assert fill(case, _numbers((-0.7,))) == "-0.7 <= 0, so 0"
    assert fill(case, _numbers((0.0,))) == "0 <= 0, so 0"
    skipped = (Choice(((UpstreamZero(1), ("nothing passed on",)), (None, ("passed on",)))),)
    assert fill(skipped, _numbers((), (1.0, 0.0))) == "nothing passed on"
    assert fill(skipped, _numbers((), (1.0, -0.0))) == "nothing passed on"
    assert fill(skipped, _numbers((), (0.0, 2.0))) == "passed on"
    # A missing number fails a comparison (as NaN does in JavaScript) and is not Known.
    missing = (Choice(((Known(Slot("l", 0)), (Slot("l", 0),)), (None, ("n/a",)))),)
    unknown = Numbers((), (), (None,), (), (), (), 1.0)
    assert fill(missing, unknown) == "n/a"
    assert fill(case, Numbers((math.nan,), (), (), (), (), (), 1.0)) == "nan <= 0, so 0"
    with pytest.raises(ValueError, match="no number"):
        fill((Slot("l", 0),), unknown)


def test_styles_write_numbers_as_the_walkthrough_and_the_pictures_do() -> None:
    numbers = _numbers((-0.123456789, 2.0, 1e-7))
    assert fill(template(Slot("v", 0), " x ", Slot("v", 0, "operand")), numbers) == (
        "-0.123457 x (-0.123457)")
    assert fill((Slot("v", 0, "short"), " ", Slot("v", 2, "operand")), numbers) == (
        "-0.1235 (1e-07)")
    assert fill((Slot("v", 0),), numbers, digits=3) == "-0.123"


@pytest.mark.parametrize(("x", "y"), [(0.7, 1.3), (1.3, 0.7), (0.7, 0.7)])
def test_a_piecewise_case_is_the_same_code_for_every_branch(x: float, y: float) -> None:
    """The template's choice, filled with any operands, says what local_case says of them."""
    a, b = Value(x, label="a"), Value(y, label="b")
    w = walkthrough(a.maximum(b), picture=False)
    (step,) = w.backward.steps
    primitive = w.forward.nodes[step.node].primitive
    assert primitive is not None
    for c in step.contributions:
        said = fill(wording.local_template(w, c), w.numbers, w.digits)
        case = local_case(primitive, c.slot, ["a", "b"], [x, y])
        assert case is not None and said.endswith(case.text(wording.number(w, c.local or 0)))
    # The same templates with the other order of the operands: the other branch.
    swapped = walkthrough(Value(y, label="a").maximum(Value(x, label="b")), picture=False)
    for c, other in zip(step.contributions, swapped.backward.steps[0].contributions,
                        strict=True):
        assert fill(wording.local_template(w, c), swapped.numbers, w.digits) == (
            wording.local_text(swapped, other))


HOSTILE = 'a</script><b>"{x}" {{slot}} \\u2028'


def test_hostile_labels_stay_text_in_templates_and_on_the_page() -> None:
    x = Value(0.5, label=HOSTILE)
    y = Value(-2.0, label="{slot: v}")
    w = walkthrough((x * y).tanh(), picture=False)
    equation = wording.forward_equation(w, w.forward.steps[0])
    assert fill(equation, w.numbers) == f"n1 = ({HOSTILE}) * ({{slot: v}}) = 0.5 * (-2) = -1"
    page = w.html()
    assert "</script><b>" not in page
    found = page.split('id="walkthrough-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(found)
    assert template_from_json(data["forward"][0]["equation"]) == equation


@pytest.mark.parametrize("digits", [3, 6, 9])
def test_a_gate_rule_is_one_template_written_with_the_lessons_digits(digits: int) -> None:
    """The rule a step records, the text's and the page's: the same template, the same digits
    (a switch states its case with the step's numbers)."""
    x = Value(-0.123456789123, label="x")
    w = walkthrough((x * 2.0).relu() + x.maximum(Value(0.987654321987, label="y")),
                    digits=digits, picture=False)
    page = w.html()
    data = json.loads(page.split('id="walkthrough-data">', 1)[1].split("</script>", 1)[0])
    rules = [step.rule for step in w.backward.steps if step.rule]
    assert any(wording.number(w, -0.246913578246) in rule for rule in rules), rules
    for step, shown in zip(w.backward.steps, data["backward"], strict=True):
        said = None if shown["rule"] is None else fill(template_from_json(shown["rule"]),
                                                       w.numbers, digits)
        assert (said or None) == (None if step.skipped else step.rule)
        assert said is None or said in w.text(width=10_000)


def test_a_hole_is_filled_by_name_and_travels_as_json() -> None:
    """The live page's own numbers (a nudge's slope) and names fill holes, in Python as in the
    page: the nudge and descent sentences are templates like the lesson's."""
    sentence = template("nudging ", Hole("leaf", "text"), " by +", Hole("h"), " gives ",
                        Hole("slope", "operand"), " (", Hole("exact", "repr"), ")")
    assert template_from_json(template_json(sentence)) == sentence
    values = {"leaf": "x₁", "h": 0.01, "slope": -1.2345678, "exact": -1.2345678}
    assert fill(sentence, None, 3, values) == "nudging x₁ by +0.01 gives (-1.23) (-1.2345678)"
    with pytest.raises(ValueError, match="no value for"):
        fill(sentence, None, 3, {"leaf": "x"})
    with pytest.raises(ValueError, match="needs the lesson's numbers"):
        fill(template("a = ", Slot("v", 0)), None)
