"""The naming module every renderer shares (issue 25): it lives in the engine, not under the
drawing, and the engine reads scopes by one convention (a word and a number), knowing no
model's scope names: nn's layers and neurons are just scopes named so."""

from __future__ import annotations

import pytest

from chainrule.engine import Value, draw, naming, scope, trace_backward, walkthrough
from chainrule.engine.drawing import DrawOptionError, labels, vocabulary

from support.draw import parse_dot


def network(stage: str, unit: str) -> Value:
    """A 2-2-1 network tagged the way nn tags one, with the scope words given: ``stage{i}`` >
    ``unit{j}``, each pre-activation labelled ``z``; then a squared error outside any scope."""
    xs = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    weights = {(0, 0): (0.5, -0.4, 0.1), (0, 1): (-0.3, 0.8, -0.2), (1, 0): (1.2, -0.7, 0.05)}
    activations = xs
    for i, width in ((0, 2), (1, 1)):
        outputs = []
        for j in range(width):
            with scope(f"{stage}{i}"), scope(f"{unit}{j}"):
                *ws, b = weights[(i, j)]
                z = Value(b, label="b")
                for k, (wk, a) in enumerate(zip(ws, activations, strict=True)):
                    z = z + Value(wk, label=f"w{k}") * a
                z.label = "z"
                outputs.append(z.tanh())
        activations = outputs
    return (activations[0] - 1.0) ** 2


def test_the_naming_module_is_the_engines_and_the_old_paths_still_import() -> None:
    assert vocabulary.node_names is naming.node_names
    assert vocabulary.format_number is naming.format_number
    assert labels.one_line is naming.one_line and labels.visible_lines is naming.visible_lines
    assert naming.one_line("a\nb\x1b") == "a\\nb\\x1b"


def test_the_walkthrough_goes_stage_by_stage_whatever_the_scopes_are_called() -> None:
    nn_like = trace_backward(network("layer", "neuron"))
    renamed = trace_backward(network("stage", "unit"))
    engine_order = trace_backward(network("stage-", "unit-"))  # not numbered: the engine's order
    steps = [s.node for s in renamed.steps]
    assert steps == [s.node for s in nn_like.steps]
    assert steps != [s.node for s in engine_order.steps]
    assert naming.scope_stage(("stage1", "unit0")) == 1 and naming.scope_stage(("x",)) is None


def test_the_layer_rule_reads_any_stage_of_numbered_units() -> None:
    from chainrule.engine.explain.layers import layer_views

    views = layer_views(walkthrough(network("stage", "unit"), picture=False))
    nn_views = layer_views(walkthrough(network("layer", "neuron"), picture=False))
    assert [v.heading for v in views] == [v.heading for v in nn_views] == [
        "layer 1 (2 inputs -> 1 neuron)", "layer 0 (2 inputs -> 2 neurons)"]
    assert [v.lines for v in views] == [v.lines for v in nn_views]  # the same numbers and words


def test_draw_collapses_the_scopes_a_word_names() -> None:
    loss = network("stage", "unit")
    by_unit = parse_dot(draw(loss, collapse="unit").source)
    by_stage = parse_dot(draw(loss, collapse="stage").source)
    assert len(by_unit.groups()) == 3 and len(by_stage.groups()) == 2
    with pytest.raises(DrawOptionError, match=r"collapse='units' names none of the graph's "
                                              r"scopes \(its scopes: stage0, stage1, unit0, "
                                              r"unit1\); try 'unit' or 'stage'"):
        draw(loss, collapse="units")
    assert naming.scope_words([("stage0", "unit1"), ("stage1",)]) == ["unit", "stage"]
