"""The walkthrough's renderers: text (80 columns), Markdown, the self-contained HTML page."""

from __future__ import annotations

import html
import json
import math
import re

import pytest

from chainrule.engine import (
    DomainError,
    OperandTypeError,
    Value,
    scope,
    topological_order,
    walkthrough,
)
from chainrule.engine.explain.html import json_for_script, sanitize_svg
from chainrule.engine.explain.markdown import escape_markdown
from chainrule.engine.explain.template import fill, numbers_from_json, template_from_json

from support.explain import load_demo

EVIL = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>|`*'


@pytest.fixture(scope="module")
def neuron():
    y, inputs, params = load_demo("neuron").build_neuron()
    return y, inputs, params


@pytest.fixture(scope="module")
def neuron_walk(neuron):
    y, _, params = neuron
    return walkthrough(y, lr=0.5, parameters=params.values())


def filled(data: dict, template: list) -> str:
    """A template of the page's data filled with its recorded numbers, as the page fills it."""
    return fill(template_from_json(template), numbers_from_json(data["numbers"]),
                data["digits"])


def page_data(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="walkthrough-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_text_fits_80_columns_and_tells_the_whole_story(neuron_walk):
    text = neuron_walk.text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.isascii()
    assert "7. y = sigmoid(z) = sigmoid(1.19) = 0.766741" in text
    # the learner's own names, and the numbers put into the formula
    assert ("local d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z)) = 0.766741 * (1 - 0.766741) "
            "= 0.178849") in " ".join(text.split())
    assert "d/dx " not in text and "with x =" not in text
    assert "upstream x local = 1 x 0.178849 = 0.178849" in text
    assert "dy/dz = 0.178849" in text
    assert "dy/dw1 = 0.143079   numeric 0.143079   ok" in text
    assert "w1 = 0.5 - 0.5 x 0.143079 = 0.42846" in text
    assert "x1 =" not in text.split("gradient-descent")[1]  # only the parameters are updated
    assert "y = 0.766741 before, 0.71884 after" in " ".join(text.split())


def test_text_wraps_long_names_within_the_width():
    a = Value(1.0, label="a_very_long_label_" * 4)
    b = Value(2.0, label="another_quite_long_label_" * 3)
    root = (a * b + a).tanh()
    for width in (80, 60):
        out = walkthrough(root, picture=False).text(width=width)
        assert max(len(line) for line in out.splitlines()) <= width
    with pytest.raises(ValueError, match="at least 40 columns, got 20"):
        walkthrough(root, picture=False).text(width=20)


def test_markdown_tables_and_escaping():
    x = Value(1.0, label=EVIL)
    w = walkthrough(x * 3.0 + x, picture=False)
    md = w.markdown()
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;" in md
    for line in md.splitlines():
        if line.startswith("| "):  # every table row keeps its column count
            assert line.replace("\\|", "").count("|") in (6, 7)
    assert escape_markdown("a|b*c_d") == "a\\|b\\*c\\_d"


def test_markdown_shows_the_running_sum(neuron_walk):
    md = neuron_walk.markdown()
    assert "### Forward pass" in md and "### Backward pass" in md and "### Check" in md
    assert "| 7 | y | sigmoid(z) | sigmoid(1.19) | 0.766741 |" in md
    assert "d/dz sigmoid(z) = sigmoid(z) \\* (1 - sigmoid(z))" in md
    assert "| dy/dz = 0.178849 |" in md
    assert "### One gradient-descent step (lr = 0.5)" in md


def test_html_is_self_contained_and_its_data_complete(neuron_walk):
    page = neuron_walk.html()
    assert page.startswith("<!DOCTYPE html>")
    for external in ("<link", " src=", "@import", "https://", "//cdn", "fetch("):
        assert external not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    data = page_data(page)
    assert [n["name"] for n in data["nodes"]][-1] == "y"
    assert len(data["forward"]) == 7 and len(data["backward"]) == 7
    assert filled(data, data["forward"][-1]["equation"]) == (
        "y = sigmoid(z) = sigmoid(1.19) = 0.766741")
    first = data["backward"][0]["contributions"][0]
    assert [filled(data, line["text"]) for line in first["lines"]][1] == (
        "upstream × local = 1 × 0.178849 = 0.178849"
    )
    grads = {c["name"]: c["analytic"] for c in data["checks"]}
    assert grads == {c.name: c.analytic for c in neuron_walk.backward.checks}
    assert [u["name"] for u in data["updates"]] == ["w1", "w2", "w3", "b"]


def test_html_escapes_labels_everywhere():
    x = Value(0.5, label=EVIL)
    w = walkthrough((x * x).tanh(), title=EVIL, picture=False)
    page = w.html()
    assert "<img" not in page and "window.__pwned=2</script>" not in page
    data = page_data(page)
    assert data["nodes"][0]["name"] == EVIL  # the JSON carries the label unchanged
    assert f"<title>{html.escape(EVIL)}</title>" in page


def test_json_for_script_escapes_markup():
    text = json_for_script({"a": "</script><!--&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!--&\u2028"}


def test_sanitize_svg_keeps_drawing_and_drops_active_content():
    svg = (
        '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'onload="evil()"><g id="n0" class="node"><script>evil()</script>'
        '<a xlink:href="javascript:evil()" xlink:title="tip"><polygon points="0,0 1,1" '
        'style="fill: url(https://x/y)"/><text>a&lt;b</text></a>'
        '<foreignObject><div>hi</div></foreignObject></g></svg>'
    )
    clean = sanitize_svg(svg)
    assert "evil" not in clean and "script" not in clean and "foreignObject" not in clean
    assert "https://" not in clean and "DOCTYPE" not in clean
    assert 'id="svg-n0"' in clean and "a&lt;b" in clean and 'xlink:title="tip"' in clean


def test_html_has_the_graph_with_node_ids(neuron_walk):
    if neuron_walk.svg is None:
        pytest.skip(f"no graph picture: {neuron_walk.graph_note}")
    page = neuron_walk.html()
    for i in range(len(neuron_walk.forward.nodes)):
        assert f'id="svg-n{i}"' in page
    assert f'id="svg-op{neuron_walk.forward.root}"' in page
    assert ">n2<" in page  # unlabeled nodes are drawn with their walkthrough names
    assert ">w2 * x2<" in page  # operations in the operands' own names
    assert ">grad 0.1431<" in page  # the trace's gradients, though y.grad was never set


def test_drawing_never_writes_names_onto_the_nodes(monkeypatch):
    x = Value(1.0, label="x")
    y = (x * 2.0).exp()
    written = []
    original = Value.__setattr__

    def spy(self, name, value):
        if name == "label" and any(self is node for node in graph):
            written.append(value)
        original(self, name, value)

    graph = topological_order(y)  # the user's nodes (the lesson's copy of them has its names)
    monkeypatch.setattr(Value, "__setattr__", spy)
    walkthrough(y)
    monkeypatch.undo()
    assert written == [] and [n.label for n in (y, y.inputs[0])] == [None, None]


def test_without_dot_the_page_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    w = walkthrough(Value(2.0, label="x").tanh())
    assert w.svg is None and "dot program is not installed" in w.graph_note
    # a small graph still has its circuit, which needs no graphviz
    assert w.circuit is not None and 'class="circuit"' in w.html()
    assert "dot program is not installed" not in w.html()
    x = Value(0.5, label="x")
    big = sum((x * k for k in range(1, 60)), Value(0.0))
    page = walkthrough(big).html()
    assert "dot program is not installed" in page and "<svg" not in page


def test_jupyter_displays_the_page_in_an_iframe(neuron_walk):
    shown = neuron_walk._repr_html_()
    assert shown.startswith("<iframe srcdoc=")
    srcdoc = re.search(r'srcdoc="([^"]*)"', shown).group(1)
    assert html.unescape(srcdoc) == neuron_walk.html()


def test_a_plain_python_shell_shows_one_line(neuron_walk):
    # Not the whole page (about 12,000 characters, which would bury the prompt): what it is
    # and how to see it. The neuron sigmoid(w1*x1 + w2*x2 + w3*x3 + b) has 7 operations.
    assert repr(neuron_walk) == ("<Walkthrough of y: 7 forward steps, 7 backward steps; "
                                 ".text(), .html(), .worksheet(), .save_html(path)>")
    one = walkthrough(Value(2.0, label="x").tanh(), picture=False)
    assert repr(one) == ("<Walkthrough of f: 1 forward step, 1 backward step; "
                         ".text(), .html(), .worksheet(), .save_html(path)>")


def test_updates_default_to_nn_parameters_and_weight_and_bias_names():
    with scope("neuron0"):
        w = Value(0.5, label="w")
    x = Value(2.0, label="x")
    walk = walkthrough(w * x, lr=0.1, picture=False)
    assert [(u.name, u.before, u.grad, u.after) for u in walk.updates] == [
        ("w", 0.5, 2.0, 0.5 - 0.1 * 2.0)
    ]
    chosen = walkthrough(w * x, lr=0.1, parameters=[x], picture=False)
    assert [u.name for u in chosen.updates] == ["x"]  # exactly the parameters given
    a = Value(1.0, label="a")
    b = Value(3.0, label="b")
    walk = walkthrough(a * b, lr=1.0, picture=False)
    assert [u.name for u in walk.updates] == ["b"]  # a is an input
    assert walkthrough(a * b, picture=False).updates == ()
    walk = walkthrough(a * b, lr=1.0, parameters=[a], picture=False)
    assert [u.name for u in walk.updates] == ["a"]


def test_descent_on_a_loss_runs_the_forward_pass_again():
    x1, w1, b = Value(0.8, label="x1"), Value(0.5, label="w1"), Value(0.1, label="b")
    y = (w1 * x1 + b).sigmoid()
    walk = walkthrough(y, lr=1.0, target=1.0, loss="mse", picture=False)
    assert walk.root_name == "L" and [u.name for u in walk.updates] == ["w1", "b"]
    # the unnamed prediction is called y, without a label being written onto it
    assert "error = y - 1 = " in walk.text() and y.label is None
    expected = ((w1.data - 1.0 * walk.updates[0].grad) * 0.8
                + (b.data - 1.0 * walk.updates[1].grad))
    prediction = 1.0 / (1.0 + math.exp(-expected))
    assert walk.loss_after == pytest.approx((prediction - 1.0) ** 2, rel=1e-12)
    assert walk.loss_after < walk.loss_before == pytest.approx((y.data - 1.0) ** 2)
    assert (w1.data, b.data, w1.grad) == (0.5, 0.1, 0.0)  # the graph is left alone
    bce = walkthrough(y, lr=1.0, target=1.0, loss="bce", picture=False)
    assert bce.loss_before == pytest.approx(-math.log(y.data))
    assert bce.loss_after < bce.loss_before
    with pytest.raises(OperandTypeError, match="loss must be one of mse, bce, got 'hinge'"):
        walkthrough(y, target=1.0, loss="hinge")
    with pytest.raises(DomainError, match=r"loss='bce' needs a probability .* got 2.0"):
        walkthrough(w1 * 4.0, target=1.0, loss="bce")


def test_walkthrough_errors_name_the_problem():
    a = Value(1.0, label="a")
    y = a * 2.0
    with pytest.raises(OperandTypeError, match="parameter 3 is not a Value of this graph"):
        walkthrough(y, lr=0.1, parameters=[3])
    with pytest.raises(OperandTypeError, match="parameter 'f' is not a leaf"):
        walkthrough(y, lr=0.1, parameters=[y])
    with pytest.raises(OperandTypeError, match="walkthrough: root must be a Value, got int"):
        walkthrough(3)
    with pytest.raises(OperandTypeError, match="digits must be an int from 1 to 17, got 0"):
        walkthrough(y, digits=0)


def test_text_shows_constants_and_skipped_steps():
    a = Value(2.0, label="a")
    b = Value(-1.0, label="b")
    root = (a * b * 3.0).relu()
    text = walkthrough(root, picture=False).text()
    assert "-> 3 is a constant: no gradient needed" in text
    assert "the upstream gradient df/dn2 is 0, so n2 passes nothing on" in text
    assert "df/da = 0   numeric 0   ok" in text


def test_fan_out_is_said_in_words_with_each_contribution():
    a = Value(3.0, label="a")
    root = a * a + a
    text = " ".join(walkthrough(root, picture=False).text().split())
    assert "fan-out sums: a is used 3 times, so its gradient adds up 3 contributions; this is " \
        "number 1" in text
    assert "fan-out sums: all 3 uses of a have contributed: df/da = 1 + 3 + 3 = 7" in text


def test_picture_text_tree_and_walkthrough_speak_one_vocabulary():
    from chainrule.engine import draw, render_text, topological_order
    from chainrule.engine.naming import node_names, node_roles
    from chainrule.nn import MLP

    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    loss = (model([Value(0.0, label="x1"), Value(1.0, label="x2")]) - 1.0) ** 2
    order = topological_order(loss)
    walk = walkthrough(loss, picture=False)
    names = [n.name for n in walk.forward.nodes]
    assert names == node_names(order)
    assert [n.role for n in walk.forward.nodes] == node_roles(order)
    assert "layer0.neuron1.tanh" in names and "layer1.neuron0.w1" in names
    source, tree = draw(loss).source, render_text(loss)
    for node, name in zip(order, names, strict=True):
        if not node.is_constant:
            assert f"<B>{name}</B>" in source
            assert re.search(rf"(^|[─ ]){re.escape(name)}( =|  data)", tree, re.M), name
    assert [n.label for n in order if not n.is_leaf and not n.label] != []  # nothing written


def _lessons():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    neuron, _, _ = load_demo("neuron").build_neuron()
    return {
        "CS231n circuit": walkthrough(q * z, picture=False),
        "the seeds' neuron": walkthrough(neuron, lr=0.5, target=1.0, picture=False),
        "one XOR sample": load_demo("walkthrough").xor_walkthrough(),
    }


@pytest.mark.parametrize("lesson", ["CS231n circuit", "the seeds' neuron", "one XOR sample"])
def test_lessons_read_in_the_learners_names_in_text_markdown_and_page(lesson):
    walk = _lessons()[lesson]
    names = {n.name for n in walk.forward.nodes}
    page = json.dumps(page_data(walk.html()), ensure_ascii=False)
    markdown = re.sub(r"\\(.)", r"\1", walk.markdown())
    for rendering in (walk.text(), markdown, page):
        flat = " ".join(rendering.split())
        # every local derivative is taken with respect to a node of the graph, by its name
        variables = set(re.findall(r"(?<![\w/])d/d([\w.#]+) ", flat))
        assert variables and variables <= names, variables - names
        assert "with x =" not in flat and "(x * y)" not in flat
        assert "0.0 +" not in flat and "--" not in flat.replace("---", "")
    if lesson == "CS231n circuit":
        assert "d/dq (q * z) = z = -4" in walk.text()
    if lesson == "one XOR sample":
        assert "layer0.neuron1.tanh = tanh(layer0.neuron1.z)" in walk.text()


def test_the_explain_modules_import_each_other_without_a_cycle():
    """Data first (trace, lesson), then the shared wording, the renderers and the picture, then
    the builder: every import inside the package, lazy ones included, points one way."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "engine" / "explain"
    imports: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                found |= {name for name in names if (folder / f"{name}.py").exists()}
        imports[path.stem] = found - {"__init__"}
    imports.pop("__init__")
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, " -> ".join([*visiting, module])
        if module in done:
            return
        visiting.append(module)
        for other in sorted(imports[module]):
            visit(other)
        visiting.pop()
        done.add(module)

    for module in sorted(imports):
        visit(module)
    # the lesson is data made of data: the traces, its numbers' templates, the circuit's shapes
    assert imports["lesson"] == {"trace", "template", "geometry"} and "walkthrough" not in set().union(
        *(found for name, found in imports.items() if name != "walkthrough"))
