"""draw(): the DOT it writes (structure, labels, options, clusters, collapsing, size guard,
determinism). No graphviz needed; rendering through `dot` is in test_draw_render.py."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from chainrule.engine import OperandTypeError, Value, draw, scope, topological_order
from chainrule.engine.drawing import DrawOptionError, GraphTooLargeError
from chainrule.engine.drawing.dot import HIGHLIGHT_COLOUR, ROLE_COLOURS

from support.draw import hand_mlp, parse_dot


def expression() -> tuple[Value, Value, Value]:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="u")  # "b" would be a bias, so a parameter
    c = (a * b + a.tanh()) ** 2
    c.label = "c"
    c.backward()
    return c, a, b


def fill(attributes: str) -> str:
    return re.search(r'BGCOLOR="(#[0-9a-f]{6})"', attributes).group(1)


# -- structure ---------------------------------------------------------------------------------


def test_one_box_per_value_and_one_operation_node_per_operation() -> None:
    c, _, _ = expression()
    dot = parse_dot(draw(c).source)
    # a, b, a*b, tanh(a), a*b + tanh(a), c (the constant 2 is written into the pow node)
    assert len(dot.values()) == 6
    assert len(dot.operations()) == 4
    # each operation: one edge out, one edge in per Value input (mul 2, tanh 1, add 2, pow 1)
    assert len(dot.edges) == 4 + 6


def test_node_names_and_ids_come_from_the_topological_order() -> None:
    c, _, _ = expression()
    dot = parse_dot(draw(c).source)
    for i, v in enumerate(topological_order(c)):
        if v.is_constant:
            assert f"n{i}" not in dot.nodes
            continue
        assert f'id="n{i}"' in dot.nodes[f"n{i}"]
        if not v.is_leaf:
            assert f'id="op{i}"' in dot.nodes[f"op{i}"]
            assert (f"op{i}", f"n{i}") in dot.edge_pairs()


def test_boxes_show_label_data_and_grad() -> None:
    c, a, _ = expression()
    dot = parse_dot(draw(c).source)
    assert "<B>a</B></TD><TD>data 2</TD><TD>grad 29.5</TD>" in dot.nodes["n0"]
    assert "<B>u</B></TD><TD>data -3</TD><TD>grad -20.14</TD>" in dot.nodes["n1"]
    # unlabelled: the next of n1, n2... in order of appearance, as in the walkthrough
    assert "<B>n1</B></TD><TD>data -6</TD><TD>grad -10.07</TD>" in dot.nodes["n2"]
    # the exact floats are in the tooltip
    assert f"grad = {a.grad!r}" in dot.nodes["n0"]


def test_operation_nodes_are_written_with_the_primitive_notation_and_formulas() -> None:
    c, _, _ = expression()
    dot = parse_dot(draw(c).source)
    operations = [dot.nodes[name] for name in dot.operations()]
    # in the operands' own names, from the primitive table's notation and formulas
    assert "label=<a * u>" in operations[0]
    assert "d/da (a * u) = u\\nd/du (a * u) = a" in operations[0]
    assert "label=<tanh(a)>" in operations[1]
    assert "1 - tanh(a)^2" in operations[1]
    assert "label=<n1 + n2>" in operations[2]
    assert "label=<n3 ** 2>" in operations[3]  # the constant exponent, written in place


def test_a_repeated_input_is_drawn_as_repeated_edges() -> None:
    a = Value(3.0, label="a")
    s = a + a
    dot = parse_dot(draw(s).source)
    edges = [e for e in dot.edges if e[:2] == ("n0", "op1")]
    assert len(edges) == 2
    assert [edges[0][2], edges[1][2]] == ['id="e_n0_op1_x"', 'id="e_n0_op1_y"']
    assert "label=<a + a>" in dot.nodes["op1"]
    ids = re.findall(r'id="([^"]+)"', draw(s).source)
    assert len(ids) == len(set(ids)), "every node and edge id is unique"


def test_the_operation_names_its_operands_so_order_can_be_read() -> None:
    a, b = Value(1.0, label="a"), Value(4.0, label="b")
    dot = parse_dot(draw(b - a).source)
    assert "b" in dot.nodes["n0"] and "a" in dot.nodes["n1"]  # inputs are visited in order
    assert "label=<b - a>" in dot.nodes["op2"]
    assert ("n0", "op2", 'id="e_n0_op2_x"') in dot.edges  # the ids still say which input
    assert ("n1", "op2", 'id="e_n1_op2_y"') in dot.edges


@pytest.mark.parametrize(
    ("build", "label"),
    [
        (lambda a: a * 2, "a * 2"),
        (lambda a: 2 - a, "2 - a"),
        (lambda a: 2**a, "2 ** a"),
        (lambda a: a.leaky_relu(0.25), "leaky_relu(a, 0.25)"),
    ],
)
def test_constants_are_written_into_the_operation_instead_of_drawn(build, label) -> None:
    a = Value(1.5, label="a")
    out = build(a)
    dot = parse_dot(draw(out).source)
    assert len(dot.values()) == 2  # a and the result; no box for the constant
    (operation,) = dot.operations()
    assert f"label=<{label}>" in dot.nodes[operation]
    a_box, out_box = dot.values()
    assert "<B>a</B>" in dot.nodes[a_box]
    assert dot.edge_pairs() == [(a_box, operation), (operation, out_box)]
    assert "d/da" in dot.nodes[operation]
    assert dot.nodes[operation].count("d/d") == 1  # no formula for the constant


def test_a_constant_root_and_a_lone_leaf_are_drawn() -> None:
    a = Value(1.0)
    constant = (a * 3).inputs[1]
    assert constant.is_constant
    assert "data 3" in draw(constant).source
    dot = parse_dot(draw(a).source)
    assert dot.values() == ["n0"] and not dot.edges


# -- options -----------------------------------------------------------------------------------


def test_roles_colour_inputs_parameters_intermediates_and_output() -> None:
    x = Value(0.5, label="x")
    w = Value(2.0, label="w")
    b = Value(0.1, label="b")
    y = (w * x + b).tanh()
    dot = parse_dot(draw(y, parameters=[w, b]).source)
    colours = {name: fill(dot.nodes[name]) for name in dot.values()}
    assert colours == {
        "n0": ROLE_COLOURS["parameter"],  # w
        "n1": ROLE_COLOURS["input"],  # x
        "n2": ROLE_COLOURS["intermediate"],
        "n3": ROLE_COLOURS["parameter"],  # b
        "n4": ROLE_COLOURS["intermediate"],
        "n5": ROLE_COLOURS["output"],
    }
    plain = parse_dot(draw(y, parameters=[w, b], colour_roles=False).source)
    assert {fill(plain.nodes[name]) for name in plain.values()} == {"#ffffff"}


def test_weight_and_bias_names_are_parameters_unless_parameters_are_given() -> None:
    x, w, b = Value(0.5, label="x"), Value(2.0, label="w1"), Value(0.1, label="bias")
    y = w * x + b
    colours = {name: fill(attributes) for name, attributes in parse_dot(draw(y).source).nodes.items()
               if name in ("n0", "n1", "n3")}
    assert colours == {"n0": ROLE_COLOURS["parameter"], "n1": ROLE_COLOURS["input"],
                       "n3": ROLE_COLOURS["parameter"]}
    chosen = parse_dot(draw(y, parameters=[x]).source)
    assert fill(chosen.nodes["n1"]) == ROLE_COLOURS["parameter"]
    assert fill(chosen.nodes["n0"]) == ROLE_COLOURS["input"]


def test_gradients_can_be_passed_in_and_names_too() -> None:
    x = Value(0.5, label="x")
    y = x * 3.0
    source = draw(y, gradients=[3.0, None, 1.0], names=["in", "3", "out"]).source
    assert "<B>in</B></TD><TD>data 0.5</TD><TD>grad 3</TD>" in source
    assert "label=<in * 3>" in source and "<B>out</B>" in source
    with pytest.raises(DrawOptionError, match="gradients must hold one number per node"):
        draw(y, gradients=[1.0])
    with pytest.raises(DrawOptionError, match="names must hold one str per node"):
        draw(y, names=["a"])


def test_leaves_created_in_a_scope_are_parameters() -> None:
    x = Value(1.0, label="x")
    with scope("neuron0"):
        w = Value(3.0, label="w")
        y = w * x
    dot = parse_dot(draw(y, clusters=False).source)
    assert fill(dot.nodes["n0"]) == ROLE_COLOURS["parameter"]
    assert fill(dot.nodes["n1"]) == ROLE_COLOURS["input"]


def test_show_grad_false_hides_gradients() -> None:
    c, _, _ = expression()
    source = draw(c, show_grad=False).source
    assert "grad" not in source  # neither in the boxes nor in the tooltips
    assert "grad = " in draw(c).source
    assert "data 25.36" in source


def test_number_format_spec_and_function() -> None:
    c, _, _ = expression()
    assert "<TD>data 2.00</TD><TD>grad 29.50</TD>" in draw(c, number_format=".2f").source
    assert "<TD>data 2.0e+00</TD>" in draw(c, number_format=".1e").source
    source = draw(c, number_format=lambda x: f"≈{round(x)}").source
    assert "<TD>data ≈-6</TD><TD>grad ≈-10</TD>" in source


def test_negative_zero_is_shown_as_zero() -> None:
    a = Value(-0.0, label="a")
    out = a * 2.0
    source = draw(out).source
    assert "data -0" not in source and "grad -0" not in source
    assert "data 0" in source


@pytest.mark.parametrize(
    ("number_format", "message"),
    [
        (".4q", "'.4q' is not a valid float format spec"),
        (4, "expected a format spec such as '.4g' or a function, got int 4"),
    ],
)
def test_bad_number_format_is_rejected_with_a_clear_message(number_format, message) -> None:
    c, _, _ = expression()
    with pytest.raises(DrawOptionError, match=re.escape(message)):
        draw(c, number_format=number_format)


def test_a_number_format_function_must_return_text() -> None:
    c, _, _ = expression()
    with pytest.raises(DrawOptionError, match=re.escape("the function returned float 2.0 for 2.0")):
        draw(c, number_format=lambda x: x)


def test_direction() -> None:
    c, _, _ = expression()
    assert "rankdir=LR" in draw(c).source
    assert "rankdir=TB" in draw(c, direction="TB").source
    with pytest.raises(DrawOptionError, match="direction must be one of LR, TB, RL, BT, got 'up'"):
        draw(c, direction="up")


def test_highlight_outlines_the_given_values() -> None:
    c, a, _ = expression()
    dot = parse_dot(draw(c, highlight=[a, c], legend=True).source)
    outlined = [n for n in dot.values() if HIGHLIGHT_COLOUR in dot.nodes[n]]
    assert outlined == ["n0", "n6"]
    assert "highlighted" in dot.nodes["legend"]
    assert HIGHLIGHT_COLOUR not in draw(c).source


def test_highlighting_a_value_outside_the_graph_is_an_error() -> None:
    c, _, _ = expression()
    stranger = Value(7.0, label="stranger")
    with pytest.raises(DrawOptionError, match=r"highlight: Value\(data=7.0.*'stranger'\) is not"):
        draw(c, highlight=[stranger])


def test_legend_lists_the_roles_drawn_only_when_asked() -> None:
    c, _, _ = expression()
    assert "legend" not in parse_dot(draw(c).source).nodes
    legend = parse_dot(draw(c, legend=True).source).nodes["legend"]
    for name in ("input", "intermediate value", "output", "operation"):
        assert f">{name}</TD>" in legend
    assert ">parameter<" not in legend and "collapsed" not in legend  # none drawn
    y, _, _ = hand_mlp()
    expanded = parse_dot(draw(y, legend=True).source).nodes["legend"]
    assert ">parameter<" in expanded and "collapsed" not in expanded
    collapsed = parse_dot(draw(y, collapse="neuron", legend=True).source).nodes["legend"]
    assert ">collapsed neuron / layer<" in collapsed and ">parameter<" not in collapsed
    assert ">operation<" not in collapsed


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"parameters": [1.0]}, OperandTypeError, "draw: parameters must hold Values, got float"),
        ({"highlight": ["a"]}, OperandTypeError, "draw: highlight must hold Values, got str"),
        ({"max_nodes": 0}, DrawOptionError, "max_nodes must be a positive int or None, got 0"),
        ({"collapse": "brain"}, DrawOptionError, "collapse='brain' names none of the graph's "
                                                  "scopes (it has none)"),
        ({"collapse": ""}, DrawOptionError, "collapse must be a word naming scopes"),
        ({"collapse": 0}, DrawOptionError, "got 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message) -> None:
    c, _, _ = expression()
    with pytest.raises(error, match=re.escape(message)):
        draw(c, **kwargs)


def test_root_must_be_a_value() -> None:
    with pytest.raises(OperandTypeError, match="draw: root must be a Value, got float"):
        draw(1.0)  # type: ignore[arg-type]


# -- clusters and collapsing -------------------------------------------------------------------


def test_values_of_a_neuron_sit_in_nested_layer_and_neuron_clusters() -> None:
    y, xs, parameters = hand_mlp()
    dot = parse_dot(draw(y).source)
    assert sorted(dot.clusters) == [
        ("cluster_layer0",),
        ("cluster_layer0", "cluster_layer0_neuron0"),
        ("cluster_layer0", "cluster_layer0_neuron1"),
        ("cluster_layer1",),
        ("cluster_layer1", "cluster_layer1_neuron0"),
    ]
    order = topological_order(y)
    for i, v in enumerate(order):
        if v.is_constant:
            continue
        expected = tuple(
            "cluster_" + "_".join(v.scope[: depth + 1]) for depth in range(len(v.scope))
        )
        assert dot.cluster_of[f"n{i}"] == expected
        if not v.is_leaf:
            assert dot.cluster_of[f"op{i}"] == expected
    # inputs are outside every cluster, parameters inside their neuron's
    assert dot.cluster_of[f"n{order.index(xs[0])}"] == ()
    assert dot.cluster_of[f"n{order.index(parameters[0])}"][-1] == "cluster_layer0_neuron0"
    assert 'id="cluster_layer0_neuron1"; label=<neuron1>' in draw(y).source
    assert not parse_dot(draw(y, clusters=False).source).clusters


def test_collapsed_2_2_1_network_shows_two_inputs_and_three_neuron_boxes() -> None:
    y, xs, _ = hand_mlp()
    y.backward()
    dot = parse_dot(draw(y, collapse="neuron").source)
    order = topological_order(y)
    x1, x2 = (f"n{order.index(x)}" for x in xs)
    assert dot.values() == [x1, x2]  # the parameters are inside their boxes
    assert "x1" in dot.nodes[x1] and "x2" in dot.nodes[x2]
    assert sorted(dot.groups()) == [
        "group_layer0_neuron0",
        "group_layer0_neuron1",
        "group_layer1_neuron0",
    ]
    assert not dot.operations()
    assert len(dot.nodes) == 5
    assert sorted(dot.edge_pairs()) == sorted([
        (x1, "group_layer0_neuron0"),
        (x2, "group_layer0_neuron0"),
        (x1, "group_layer0_neuron1"),
        (x2, "group_layer0_neuron1"),
        ("group_layer0_neuron0", "group_layer1_neuron0"),
        ("group_layer0_neuron1", "group_layer1_neuron0"),
    ])
    # each box shows its output's numbers; the network's output keeps the output colour role
    output = dot.nodes["group_layer1_neuron0"]
    assert f"data {y.data:.4g}" in output and "grad 1" in output
    assert "layer1 / neuron0</B> (8 values)" in output
    # the neuron boxes sit in their layer's cluster
    assert dot.cluster_of["group_layer0_neuron1"] == ("cluster_layer0",)


def test_collapsed_nn_mlp_shows_its_inputs_and_one_box_per_neuron() -> None:
    from chainrule.nn import MLP

    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    xs = [Value(1.0, label="x1"), Value(0.0, label="x2")]
    y = model(xs)
    y.backward()
    dot = parse_dot(draw(y, collapse="neuron").source)
    order = topological_order(y)
    assert dot.values() == sorted((f"n{order.index(x)}" for x in xs), key=lambda n: int(n[1:]))
    assert sorted(dot.groups()) == [
        "group_layer0_neuron0", "group_layer0_neuron1", "group_layer1_neuron0",
    ]
    assert len(dot.nodes) == 5 and len(dot.edges) == 6
    # expanded, every parameter of the model sits in its neuron's cluster
    expanded = parse_dot(draw(y).source)
    for name, p in model.named_parameters():
        layer, neuron = name.split(".")[1], name.split(".")[3]
        assert expanded.cluster_of[f"n{order.index(p)}"] == (
            f"cluster_layer{layer}", f"cluster_layer{layer}_neuron{neuron}"
        )


def test_collapsing_layers_and_by_depth() -> None:
    y, xs, _ = hand_mlp()
    order = topological_order(y)
    x1, x2 = (f"n{order.index(x)}" for x in xs)
    by_layer = parse_dot(draw(y, collapse="layer").source)
    assert sorted(by_layer.groups()) == ["group_layer0", "group_layer1"]
    assert by_layer.values() == [x1, x2]
    assert sorted(by_layer.edge_pairs()) == sorted([
        ("group_layer0", "group_layer1"),
        (x1, "group_layer0"),
        (x2, "group_layer0"),
    ])
    assert parse_dot(draw(y, collapse=1).source).groups() == by_layer.groups()
    assert len(parse_dot(draw(y, collapse=2).source).groups()) == 3


def test_collapsing_keeps_a_group_output_used_by_plain_code_visible() -> None:
    y, _, _ = hand_mlp()
    target = Value(1.0, label="target")
    loss = (y - target) ** 2
    loss.label = "loss"
    dot = parse_dot(draw(loss, collapse="neuron").source)
    (last_box,) = [g for g in dot.groups() if g.endswith("layer1_neuron0")]
    consumers = [t for s, t in dot.edge_pairs() if s == last_box]
    assert len(consumers) == 1 and consumers[0].startswith("op")
    assert fill(dot.nodes[dot.values()[-1]]) == ROLE_COLOURS["output"]


def test_highlighting_a_hidden_value_outlines_its_group() -> None:
    y, _, parameters = hand_mlp()
    dot = parse_dot(draw(y, collapse="neuron", highlight=[parameters[3]]).source)
    outlined = [n for n in dot.nodes if HIGHLIGHT_COLOUR in dot.nodes[n]]
    assert outlined == ["group_layer0_neuron1"]


def test_unusual_scope_names_get_safe_distinct_cluster_names() -> None:
    x = Value(1.0, label="x")
    with scope('a"b c'):
        first = x * 2
    with scope("a_b_c"):
        second = x * 3
    with scope("a-b c"):
        third = x * 4
    out = first + second + third
    dot = parse_dot(draw(out).source)
    names = [path[-1] for path in dot.clusters]
    assert names == ["cluster_a_b_c", "cluster_a_b_c_2", "cluster_a_b_c_3"]
    assert "label=<a&quot;b c>" in draw(out).source


# -- size guard --------------------------------------------------------------------------------


def chain(length: int) -> Value:
    v = Value(0.1, label="x")
    for _ in range(length):
        v = v.tanh()
    return v


def test_a_graph_above_max_nodes_is_refused_with_advice() -> None:
    with pytest.raises(GraphTooLargeError) as caught:
        draw(chain(400))
    message = str(caught.value)
    assert "the graph has 401 nodes to draw, more than max_nodes=300" in message
    # No scope to collapse in a plain chain: the advice is the limit or the text tree.
    assert "collapse" not in message and "Raise the limit (draw(root, max_nodes=401))" in message
    assert "render_text(root)" in message
    assert isinstance(caught.value, ValueError)


def test_raising_the_limit_or_collapsing_lets_a_large_graph_through() -> None:
    assert len(parse_dot(draw(chain(400), max_nodes=401).source).values()) == 401
    assert len(parse_dot(draw(chain(400), max_nodes=None).source).values()) == 401
    with pytest.raises(GraphTooLargeError):
        draw(chain(400), max_nodes=400)
    x = Value(1.0, label="x")
    outputs = []
    for j in range(60):  # 60 neurons of 7 Values each: 421 boxes expanded, 61 collapsed
        with scope("layer0"), scope(f"neuron{j}"):
            outputs.append((Value(0.1 * j, label="w") * x + Value(0.0, label="b")).tanh())
    total = outputs[0]
    for o in outputs[1:]:
        total = total + o
    with pytest.raises(GraphTooLargeError, match="max_nodes=300"):
        draw(total)
    collapsed = parse_dot(draw(total, collapse="neuron").source)
    assert len(collapsed.groups()) == 60
    with pytest.raises(GraphTooLargeError) as caught:
        draw(total, collapse="neuron", max_nodes=50)
    assert "collapse='layer'" in str(caught.value)


# -- determinism -------------------------------------------------------------------------------

_PROGRAM = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from support.draw import hand_mlp
    from chainrule.engine import Value, draw
    y, xs, _ = hand_mlp()
    loss = (y - 1.0) ** 2 + xs[0] * xs[0]
    loss.backward()
    for options in ({{}}, {{"collapse": "neuron", "legend": True}}, {{"direction": "TB"}}):
        sys.stdout.write(draw(loss, **options).source)
    """
)


def test_dot_is_byte_identical_across_processes() -> None:
    tests = str(__import__("pathlib").Path(__file__).parent)
    outputs = []
    for seed in ("1", "2", "3"):
        finished = subprocess.run(
            [sys.executable, "-c", _PROGRAM.format(tests=tests)],
            capture_output=True, check=True, env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        outputs.append(finished.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count(b"digraph chainrule {") == 3


def test_importing_the_engine_does_not_import_graphviz() -> None:
    code = "import sys, chainrule.engine; print('graphviz' in sys.modules)"
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert finished.stdout.strip() == "False"
