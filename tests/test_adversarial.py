"""Issue 11's reproducers, each kept as a test: the walkthrough at scale, pages and terminal
text that survive hostile input, the error contract, the CLI, and the core fixes as
regression tests (thread-local recording, gradients under no_grad)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chainrule.engine import ChainruleError, Value, explain, grad, gradients, no_grad, scope
from chainrule.engine.console.cli import main
from chainrule.engine.drawing import GraphTooLargeError
from chainrule.engine.explain import MAX_NODES, Pending, trace_backward, walkthrough
from chainrule.engine.explain.html import json_for_script
from chainrule.engine.explain.picture import PICTURE_ID_PREFIX, SvgError, sanitize_svg

SVG = '<svg xmlns="http://www.w3.org/2000/svg">{}</svg>'


def _chain(links: int) -> Value:
    y = Value(0.5, label="x")
    for _ in range(links):
        y = (y * 0.999).tanh()
    return y


def _naive_pending(trace, k):
    """What the old trace stored per step: every node with a use not yet processed."""
    waiting = [0] * len(trace.nodes)
    for info in trace.nodes:
        for i in info.inputs:
            waiting[i] += 1
    for step in trace.steps[: k + 1]:
        for i in trace.nodes[step.node].inputs:
            waiting[i] -= 1
    return tuple(i for i, n in enumerate(waiting) if n and not trace.nodes[i].is_constant)


# -- the walkthrough at scale ---------------------------------------------------------------------


def test_steps_store_what_changes_not_the_whole_pending_state():
    trace = trace_backward(_chain(300), check=False)
    assert not hasattr(trace.steps[0], "pending")
    # Each node completes exactly once: the trace holds O(nodes) indices, not O(nodes^2).
    completed = [i for step in trace.steps for i in step.completed]
    assert len(completed) == len(set(completed)) < len(trace.nodes)
    for k in (0, 1, 150, len(trace.steps) - 1):
        assert trace.pending_after(k) == _naive_pending(trace, k)


def test_pending_replay_matches_the_naive_state_on_a_shared_graph():
    a, b = Value(0.3, label="a"), Value(-1.2, label="b")
    c = a * b + a
    d = (c.tanh() * a + b * b).exp() + c
    trace = trace_backward(d)
    pending = Pending(trace)
    for k, step in enumerate(trace.steps):
        pending.advance(step)
        assert tuple(pending.first()) == _naive_pending(trace, k)
        assert pending.count == len(_naive_pending(trace, k))
        assert pending.first(limit=1) == list(_naive_pending(trace, k)[:1])


def test_a_long_chain_is_walked_through_and_its_text_still_lists_pending_nodes():
    w = walkthrough(_chain(2000), picture=False)  # 6,001 nodes
    assert len(w.backward.steps) == 4000 and w.backward.all_checks_passed
    assert "still pending: x, n1, n2" in w.text()


def test_walkthrough_refuses_a_graph_over_max_nodes_with_a_hint():
    root = _chain(10)
    with pytest.raises(GraphTooLargeError, match=r"31 nodes, more than max_nodes=30.*"
                       r"one sample's loss.*max_nodes=31") as caught:
        walkthrough(root, max_nodes=30, picture=False)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ChainruleError)
    assert len(walkthrough(root, max_nodes=31, picture=False).backward.steps) == 20
    assert walkthrough(root, max_nodes=None, picture=False).backward.all_checks_passed
    assert MAX_NODES == 20_000


def test_max_nodes_counts_an_n_ary_node_as_the_binary_nodes_it_stands_for():
    from chainrule.engine import dot

    root = dot([Value(0.1 * i) for i in range(20)], [Value(0.2 * i) for i in range(20)])
    with pytest.raises(GraphTooLargeError, match=r"has 79 nodes \(41 nodes, some n-ary: as "
                       r"many steps and lines as 79 binary ones\), more than max_nodes=78"):
        walkthrough(root, max_nodes=78, picture=False)
    assert walkthrough(root, max_nodes=79, picture=False).backward.all_checks_passed


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_max_nodes_must_be_a_positive_int(bad):
    with pytest.raises(TypeError, match="walkthrough: max_nodes must be a positive int"):
        walkthrough(Value(1.0) * 2, max_nodes=bad)


# -- pages and text -------------------------------------------------------------------------------


def test_cli_reproducer_with_an_overflowing_update_is_one_line_not_a_traceback(tmp_path, capsys):
    page = tmp_path / "o.html"
    status = main(["explain", "tanh(w)*1e10", "w=1", "--lr", "1e308", "--html", str(page)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and err.count("\n") == 1
    assert "explain: with --lr 1e+308, the gradient-descent step on w overflows" in err
    assert "choose a smaller lr" in err and not page.exists()
    status = main(["explain", "x*1e10", "x=1", "--lr", "1e308", "--html", str(page)])
    assert status == 0 and page.exists()


def test_overflowing_forward_pass_after_the_update_names_the_walkthrough():
    w = Value(1.0, label="w")
    with pytest.raises(OverflowError, match=r"walkthrough: with lr=1e\+297, the forward pass"):
        walkthrough(w * 1e10, lr=1e297)


def test_non_finite_numbers_reach_the_page_as_text(tmp_path):
    text = json_for_script({"a": [float("inf"), -float("inf"), float("nan"), 0.5]})
    assert text == '{"a":["inf","-inf","nan",0.5]}'
    # A finite-difference estimate that overflowed, shown on the page and in the text.
    w = walkthrough(Value(2.0, label="x") * 3, picture=False)
    check = dataclasses.replace(w.backward.checks[0], numeric=float("inf"), passed=False)
    w = dataclasses.replace(w, backward=dataclasses.replace(w.backward, checks=(check,)))
    page = w.save_html(tmp_path / "inf.html").read_text(encoding="utf-8")
    # (the page's numbers carry it as text, which fill.js reads back as Infinity)
    assert '"numeric":"inf"' in page and '"numeric":["inf"]' in page
    assert "numeric inf   MISMATCH" in w.text()


@pytest.mark.parametrize("body", [
    '<meta http-equiv="refresh" content="0;url=https://example.com"/>',
    '<form action="https://example.com"><input name="q"/><button>go</button></form>',
    '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>',
    "<style>text { fill: url(https://example.com/x) }</style>",
    '<script>alert(1)</script>',
    '<image href="https://example.com/x.png"/>',
    '<use href="https://example.com/x.svg#a"/>',
    '<animate attributeName="href" to="javascript:alert(1)"/>',
    '<h:iframe xmlns:h="http://www.w3.org/1999/xhtml" src="https://example.com"/>',
])
def test_sanitize_svg_drops_every_element_outside_the_whitelist(body):
    clean = sanitize_svg(SVG.format(f"<g>{body}</g>"))
    assert clean == '<svg xmlns="http://www.w3.org/2000/svg"><g /></svg>'


def test_sanitize_svg_keeps_only_drawing_attributes():
    clean = sanitize_svg(SVG.format(
        '<g id="n1" class="node" style="display:none" onclick="alert(1)" onmouseover="x()">'
        '<a href="https://example.com" xlink:href="#n2" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:title="tip">'
        '<rect width="2" fill="url(#grad)" stroke="url(https://example.com/#g)"/></a></g>'
    ))
    assert 'id="svg-n1"' in clean and 'class="node"' in clean and 'fill="url(#svg-grad)"' in clean
    assert 'xlink:href="#svg-n2"' in clean and 'xlink:title="tip"' in clean
    for gone in ("style", "onclick", "onmouseover", "example.com", "stroke="):
        assert gone not in clean


def test_sanitize_svg_puts_every_id_and_reference_in_the_pictures_own_namespace():
    # Issue 25: an id the page uses (its data block, a panel) would have made the picture's
    # element the one the page's script finds.
    clean = sanitize_svg(SVG.format(
        '<defs><marker id="arrow"/><linearGradient id="shade"/></defs>'
        '<g id="walkthrough-data"><path marker-end="url(#arrow)" fill="URL( #shade)"/>'
        '<a href="#equation"><text>{"forward": []}</text></a></g>'
    ))
    assert 'id="svg-arrow"' in clean and 'id="svg-shade"' in clean
    assert 'id="svg-walkthrough-data"' in clean and 'marker-end="url(#svg-arrow)"' in clean
    assert 'fill="URL( #svg-shade)"' in clean and 'href="#svg-equation"' in clean
    assert re.findall(r'id="(?!svg-)', clean) == [] and sanitize_svg(clean) == clean
    w = walkthrough(Value(2.0, label="x") * 3, picture=False)
    assert w.html(svg=SVG.format('<g id="walkthrough-data"/>')).count('id="walkthrough-data"') == 1


def test_no_id_of_the_walkthrough_page_is_in_the_pictures_namespace():
    folder = Path(explain.__file__).parent
    template = (folder / "walkthrough.html").read_text(encoding="utf-8")
    script = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.js")))
    ids = re.findall(r'\bid="([^"{]+)"', template) + re.findall(r'\bid = "([^"]*)"', script)
    assert "walkthrough-data" in ids and "q-" in ids and "row" in ids
    assert not [i for i in ids if i.startswith(PICTURE_ID_PREFIX)]


@pytest.mark.parametrize("svg", [
    '<!DOCTYPE svg [<!ENTITY a "<script>alert(1)</script>">]><svg>&a;</svg>',
    '<!DOCTYPE svg [ <!ENTITY % p SYSTEM "file:///etc/passwd"> %p; ]><svg/>',
    # Variants the old DOCTYPE-stripping regex let through.
    '<!DOCTYPE svg [<!ENTITY a "]>"><!ENTITY b "x">]><svg>&b;</svg>',
    '<!doctype svg[<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><svg>&lol2;</svg>',
])
def test_sanitize_svg_parses_without_any_dtd(svg):
    with pytest.raises(SvgError, match=r"sanitize_svg: the SVG (declares|is not well-formed)"):
        sanitize_svg(svg)


def test_a_bad_svg_override_is_a_chainrule_error_naming_the_call():
    w = walkthrough(Value(2.0, label="x") * 3, picture=False)
    with pytest.raises(ValueError, match=r"html\(svg=...\): the SVG is not well-formed"):
        w.html(svg="<svg><g></svg>")
    with pytest.raises(ValueError, match=r"html\(svg=...\): the root element must be <svg>"):
        w.html(svg="<html/>")
    # graphviz's own prologue and DOCTYPE (no internal subset) are fine
    page = w.html(svg='<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
                      '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg><text>t</text></svg>')
    assert '<svg xmlns="http://www.w3.org/2000/svg"><text>t</text></svg>' in page


def test_every_page_forbids_forms_and_base_urls():
    from chainrule.nn import MLP, SGD, datasets, fit, mse

    policy = "form-action 'none'; base-uri 'none'"
    assert policy in walkthrough(Value(2.0, label="x") * 3, picture=False).html()
    X, y = datasets.xor()
    model = MLP(2, [2, 1], seed=0)
    history = fit(model, X, y, loss=mse, optimizer=SGD(model, lr=0.1), epochs=2, record=1)
    assert policy in history.explorer(model, X, y, loss=mse).html()


HOSTILE = "a\u202eb\x1b[2J\x07c\u2066d"


def test_text_escapes_control_characters_and_bidi_overrides():
    x = Value(1.0, label=HOSTILE)
    text = walkthrough(x * 2, picture=False).text()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\u2066" not in text
    assert "a\\u202eb\\x1b[2J\\x07c\\u2066d" in text


def test_cli_escapes_control_characters_in_what_it_echoes(capsys):
    status = main(["explain", f"x*2 # {HOSTILE}", "x=1"])
    out = capsys.readouterr().out
    assert status == 0 and "\x1b" not in out and "\u202e" not in out and "\\x1b[2J" in out


def _run(*args, stdin=None):
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True,
                          env=env, timeout=60, text=True, encoding="ascii",
                          errors="strict")


def test_cli_degrades_to_ascii_escapes_on_an_ascii_only_stdout():
    result = _run("-m", "chainrule.engine", "explain", "δ*2 + é", "δ=1", "é=2")
    assert result.returncode == 0, result.stderr
    assert "Backpropagation through \\u03b4*2 + \\xe9" in result.stdout
    result = _run("-m", "chainrule.engine", "explain", "δ*", "δ=1")
    assert result.returncode == 2 and "Traceback" not in result.stderr


# -- the error contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [True, 0, 18, 2.0, "6", None])
def test_walkthrough_digits_fails_clearly(digits):
    with pytest.raises(TypeError, match="walkthrough: digits must be an int from 1 to 17"):
        walkthrough(Value(1.0) * 2, digits=digits)


@pytest.mark.parametrize(("keyword", "value", "message"), [
    ("picture", "yes", "walkthrough: picture must be True or False"),
    ("title", 3, "walkthrough: title must be a str"),
    ("loss", "hinge", "walkthrough: loss must be one of mse, bce"),
])
def test_walkthrough_options_fail_clearly(keyword, value, message):
    kwargs = {keyword: value}
    if keyword == "loss":
        kwargs["target"] = 1.0
    with pytest.raises(ChainruleError, match=message):
        walkthrough(Value(1.0) * 2, **kwargs)


def test_walkthrough_and_draw_refuse_odd_collections_clearly():
    from chainrule.engine import draw

    x = Value(1.0, label="x")
    y = (x * 2).tanh()
    with pytest.raises(TypeError, match="walkthrough: parameters must be Values"):
        walkthrough(y, parameters=5)
    with pytest.raises(TypeError, match="draw: parameters must be Values"):
        draw(y, parameters=5)
    with pytest.raises(ValueError, match="draw: gradients must hold one number"):
        draw(y, gradients=["a"] * 4)
    with pytest.raises(TypeError, match="text: width must be an int of at least 40"):
        walkthrough(y, picture=False).text(width="80")
    with pytest.raises(ValueError, match="text: width must be at least 40 columns, got 10") as e:
        walkthrough(y, picture=False).text(width=10)
    assert isinstance(e.value, ChainruleError)
    w = walkthrough(y, parameters=x, lr=0.1, picture=False)  # one Value, as draw() takes
    assert [u.name for u in w.updates] == ["x"]


def test_gradient_error_in_a_walkthrough_names_the_walkthrough():
    with pytest.raises(OverflowError, match=r"^walkthrough: the local derivative of 'f'"):
        walkthrough(Value(0.0, label="x").sqrt())


def test_core_error_contract_regressions():
    np = pytest.importorskip("numpy")
    with pytest.raises(OverflowError, match="too large for a float") as caught:
        Value(10**5000)
    assert isinstance(caught.value, ChainruleError)
    with pytest.raises(TypeError, match="label must be a str") as caught:
        Value(1.0, label=123)
    assert isinstance(caught.value, ChainruleError)
    with pytest.raises(ChainruleError), scope(123):
        pass
    assert Value(np.bool_(True)).data == 1.0


def test_draw_refuses_odd_options_with_chainrule_errors():
    from chainrule.engine import draw

    x = Value(1.0, label="x")
    with pytest.raises(ChainruleError):
        draw(x * 2, max_nodes=0)
    with pytest.raises(ChainruleError):
        draw(x * 2, number_format="%%q")
    with pytest.raises(ChainruleError):
        draw("not a value")


@pytest.mark.parametrize("argv", [
    ["explain", "sqrt(x)", "x=0"],
    ["explain", "w*1e10", "w=1", "--lr", "1e297"],
    ["explain", "x", "x=2", "--target", "1", "--loss", "bce"],
])
def test_cli_errors_do_not_name_internal_functions(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    for internal in ("trace_backward", "walkthrough", "recompute", "as_float", "lr=", "loss="):
        assert internal not in err, err


# -- the CLI (issue 14) ---------------------------------------------------------------------------


def test_python_m_chainrule_engine_and_version():
    from importlib import metadata

    result = subprocess.run([sys.executable, "-m", "chainrule.engine", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"chainrule {metadata.version('chainrule')}"


def test_a_leading_minus_gets_a_hint_that_works(capsys, tmp_path):
    assert main(["explain", "-x*2", "x=1", "--html", str(tmp_path / "o.html")]) == 2
    err = capsys.readouterr().err
    assert "write it in parentheses, '(-x*2)'" in err
    assert main(["explain", "(-x*2)", "x=1", "-q", "--html", str(tmp_path / "o.html")]) == 0
    assert main(["explain", "-q", "--", "-x*2", "x=1"]) == 0
    assert main(["explain", "x", "x=1", "--no-such-option"]) == 2
    assert "unknown option --no-such-option" in capsys.readouterr().err


# -- core regressions: recording state is per thread, gradients record under no_grad ------------


def test_predict_looping_in_one_thread_never_zeroes_another_threads_gradients():
    from chainrule.nn import MLP, predict

    model = MLP(2, [4, 1], seed=0)
    X = [[0.5, -0.25], [1.0, 0.75]]
    stop = threading.Event()

    def predict_forever():
        while not stop.is_set():
            predict(model, X)

    worker = threading.Thread(target=predict_forever)
    worker.start()
    zero_steps = 0
    try:
        for _ in range(200):
            for p in model.parameters():
                p.grad = 0.0
            loss = (model(X[0]) - 1.0) ** 2
            loss.backward()
            zero_steps += all(p.grad == 0.0 for p in model.parameters())
    finally:
        stop.set()
        worker.join()
    assert zero_steps == 0


def test_grad_and_create_graph_record_under_no_grad():
    with no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0
        assert grad(grad(lambda x: x**3))(2.0) == 12.0
    x = Value(2.0)
    y = x**3
    with no_grad():
        (dy,) = gradients(y, [x], create_graph=True)
        (d2y,) = gradients(dy, [x])
    assert dy.data == 12.0 and d2y == 12.0
