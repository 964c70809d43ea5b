"""``chainrule explain``: good expressions, files, and clean one-line errors for bad input."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import Value
from chainrule.engine.console.cli import main
from chainrule.engine.console.expression import (
    MAX_EXPRESSION_LENGTH,
    ExpressionError,
    parse_expression,
)

NEURON = ["sigmoid(w1*x1 + w2*x2 + w3*x3 + b)", "x1=0.8", "x2=0.6", "x3=0.9", "w1=0.5",
          "w2=0.7", "w3=0.3", "b=0.1"]
CONSOLE_SCRIPT = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "chainrule"


def run(*argv: str) -> tuple[int, str, str]:
    """main() in-process, with stdout and stderr captured (works inside hypothesis too)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def test_explain_prints_forward_and_backward_steps(capsys):
    assert main(["explain", *NEURON]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "1. n1 = w1 * x1 = 0.5 * 0.8 = 0.4" in out  # unnamed values: n1, n2... in order
    assert "f = sigmoid(n6) = sigmoid(1.19) = 0.766741" in out
    assert "d/dn6 sigmoid(n6) = sigmoid(n6) * (1 - sigmoid(n6)) = 0.766741 * (1 - 0.766741)" in (
        " ".join(out.split()))
    assert "df/dw1 = 0.143079   numeric 0.143079   ok" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_explain_gradients_match_the_engine(capsys):
    assert main(["explain", "x*y + exp(x) - leaky_relu(y) + leaky_relu(x, 0.2)", "x=0.5",
                 "y=-2"]) == 0
    out = capsys.readouterr().out
    x, y = Value(0.5), Value(-2.0)
    f = x * y + x.exp() - y.leaky_relu() + x.leaky_relu(0.2)
    f.backward()
    assert f"df/dx = {x.grad:.6g}" in out and f"df/dy = {y.grad:.6g}" in out


def test_explain_writes_the_requested_files(tmp_path, capsys):
    html, md, svg = tmp_path / "steps.html", tmp_path / "steps.md", tmp_path / "graph.svg"
    status = main(["explain", *NEURON, "--html", str(html), "--md", str(md), "--svg", str(svg),
                   "--lr", "0.1", "--params", "w1,w2,w3,b", "--quiet"])
    out, err = capsys.readouterr()
    assert status == 0 and out == ""
    assert f"wrote {html}" in err
    page = html.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="walkthrough-data">(.*?)</script>', page, re.S).group(1))
    assert [u["name"] for u in data["updates"]] == ["w1", "w2", "w3", "b"]
    assert "| 1 | n1 | w1 \\* x1 |" in md.read_text(encoding="utf-8")
    picture = svg.read_text(encoding="utf-8")
    assert picture.lstrip().startswith("<svg")
    assert ">grad 0.1431<" in picture and ">w1 * x1<" in picture  # gradients, own names


def test_without_dot_svg_is_an_error_and_html_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["explain", "tanh(x)", "x=1", "--svg", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dot program, which is not installed" in err
    # a small graph's page has its circuit, which needs no graphviz: nothing to note
    assert main(["explain", "tanh(x)", "x=1", "--html", str(tmp_path / "p.html"), "-q"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert 'class="circuit"' in (tmp_path / "p.html").read_text(encoding="utf-8")
    big = " + ".join(f"x*{k}" for k in range(1, 45))  # more nodes than a circuit shows
    assert main(["explain", big, "x=1", "--html", str(tmp_path / "p.html"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "note: No graph picture: graphviz's dot program is not installed" in err
    assert "dot program is not installed" in (tmp_path / "p.html").read_text(encoding="utf-8")


BAD = {
    "attribute": (["x.real", "x=1"], "attribute access at column 1 is not allowed"),
    "other call": (["__import__('os')", "x=1"], "unknown function __import__"),
    "method call": (["x.exp()", "x=1"], "only chainrule's functions can be called"),
    "string": (["x + 'a'", "x=1"], "str 'a' at column 5 is not allowed"),
    "lambda": (["(lambda: x)()", "x=1"], "only chainrule's functions can be called"),
    "bare lambda": (["lambda: 1"], "a lambda at column 1 is not allowed"),
    "comprehension": (["[x for x in y]", "y=1"], "a comprehension at column 1"),
    "subscript": (["x[0]", "x=1"], "indexing at column 1 is not allowed"),
    "keyword": (["leaky_relu(x, slope=0.1)", "x=1"], "keyword arguments are not supported"),
    "arity": (["tanh(x, x)", "x=1"], "tanh at column 1 takes 1 argument(s), got 2"),
    "undefined": (["x + y", "x=1"], "y at column 5 has no value: add y=<number>"),
    "unused": (["x", "x=1", "y=2"], "y is given but not used in the expression"),
    "malformed number": (["x", "x=1.2.3"], "x: '1.2.3' is not a number"),
    "not finite": (["x", "x=inf"], "x: 'inf' is not a finite number"),
    "no equals": (["x", "x"], "expected name=value, got 'x'"),
    "bad name": (["x", "2x=1"], "'2x' is not a valid variable name"),
    "function as name": (["exp", "exp=1"], "'exp' is a function name"),
    "function not called": (["x + exp", "x=1"], "exp at column 5 is a function"),
    "duplicate": (["x", "x=1", "x=2"], "x is given more than once"),
    "too long": (["x" + "+x" * 1000, "x=1"], f"the limit is {MAX_EXPRESSION_LENGTH}"),
    "deep": (["x*" + "-" * 500 + "x", "x=1"], "nested more than 200 levels deep"),
    "parentheses": (["(" * 300 + "x" + ")" * 300, "x=1"], "too many nested parentheses"),
    "overflowing power": (["x ** 1e308", "x=2"], "pow: 2.0 ** 1e+308 overflows"),
    "tower": (["9**9**9*x", "x=1"], "overflows"),
    "huge literal": (["x*" + "9" * 400, "x=1"], "too large for a float"),
    "domain": (["log(x)", "x=-1"], "log: log(-1.0) is undefined: log needs x > 0"),
    "division": (["x / (x - 1)", "x=1"], "div: 1.0 / 0.0 divides by zero"),
    "gradient": (["sqrt(x)", "x=0"], "local derivative of 'f' (sqrt, data=0.0)"),
    "complex": (["x * 1j", "x=1"], "a complex number 1j"),
    "boolean": (["x * True", "x=1"], "bool True"),
    "syntax": (["x +", "x=1"], "invalid syntax"),
    "empty": (["  ", "x=1"], "the expression is empty"),
    "no variables": (["2 * 3"], "no variables to differentiate"),
    "operator": (["x % 2", "x=1"], "the operator % at column 1 is not supported"),
    "comparison": (["x < 2", "x=1"], "a comparison at column 1"),
    "leading minus": (["-x", "x=1"], "write it in parentheses, '(-x)'"),
    "bad lr": (["x", "x=1", "--lr", "nan"], "--lr must be a finite number"),
    "lr not a number": (["x", "x=1", "--lr", "fast"], "invalid float value: 'fast'"),
    "params without lr": (["x", "x=1", "--params", "x"], "--params needs --lr"),
    "unknown param": (["x", "x=1", "--lr", "1", "--params", "y"], "--params: y: not a name"),
    "unwritable": (["x", "x=1", "-q", "--md", "/nonexistent/dir/a.md"], "cannot write"),
    "bad target": (["x", "x=1", "--target", "inf"], "--target must be a finite number"),
    "loss without target": (["x", "x=1", "--loss", "bce"], "--loss needs --target"),
    "unknown loss": (["x", "x=1", "--target", "1", "--loss", "l1"], "invalid choice: 'l1'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_exit_2(case):
    argv, message = BAD[case]
    status, out, err = run("explain", *argv)
    assert status == 2, (out, err)
    assert err.startswith("chainrule: error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_no_command_shows_help(capsys):
    assert main([]) == 2
    assert "explain" in capsys.readouterr().out


def test_parse_expression_shares_leaves_and_never_evaluates_python():
    f = parse_expression("x * x + tanh(x)", {"x": 0.5})
    assert [n.label for n in f.inputs[0].inputs] == ["x", "x"]
    assert f.inputs[0].inputs[0] is f.inputs[1].inputs[0]
    with pytest.raises(ExpressionError, match="attribute access"):
        parse_expression("x.__class__.__mro__", {"x": 1.0})
    with pytest.raises(ExpressionError, match="must be a str, got int"):
        parse_expression(3, {})  # type: ignore[arg-type]


GOOD = ["sigmoid(w*x + b)", "tanh(x) * exp(-x ** 2) / (1 + x * x)", "log1p(x * x) - sqrt(b * b)",
        "relu(x - b) + abs(w) + sin(x) * cos(w)", "softplus(w) + log_sigmoid(b) + leaky_relu(x)"]
ASSIGNMENTS = ["x=0.3", "w=-1.2", "b=0.7"]

# Random text made of expression-like pieces (tokens, not just characters).
_BAD_TEXT = st.lists(
    st.sampled_from([*"xwb0123456789.+-*/()_ ,e'\"[]{}:=<>@%!~^&|\n\x00é", "exp", "log", "sqrt",
                     "**", "1e400", "lambda", "import", "__class__"]),
    max_size=30,
).map("".join) | st.text(max_size=40)


@st.composite
def mutated(draw):
    """A good expression with a few characters replaced, inserted or deleted."""
    text = list(draw(st.sampled_from(GOOD)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        char = draw(st.sampled_from(list("()*+-/.,x1e'[]_ ")))
        if action == "insert" or position == len(text):
            text.insert(position, char)
        elif action == "replace":
            text[position] = char
        else:
            del text[position]
    return "".join(text)


def assert_clean(status: int, out: str, err: str) -> None:
    if status == 0:
        assert err == "" and "Backward pass" in out
    elif status == 1:  # a gradient finite differences could not confirm, said in the output
        assert err == "" and "MISMATCH" in out
    else:
        assert status == 2
        assert err.startswith("chainrule: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


@settings(max_examples=150)
@given(expression=_BAD_TEXT | mutated(), assignments=st.lists(
    st.sampled_from([*ASSIGNMENTS, "x=1e999", "y=", "=3", "w=0x1", "b=1_0", "x=-0.0"]),
    max_size=4))
def test_fuzzed_input_never_escapes_as_a_traceback(expression, assignments):
    assert_clean(*run("explain", "--", expression, *assignments))


@pytest.mark.parametrize("expression", GOOD)
def test_good_expressions_succeed(expression):
    used = [a for a in ASSIGNMENTS if a[0] in expression.replace("exp", "").replace("abs", "")]
    status, out, err = run("explain", expression, *used)
    assert (status, err) == (0, "")
    assert "MISMATCH" not in out


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the console script is not installed")
def test_installed_console_script(tmp_path):
    html = tmp_path / "steps.html"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "explain", *NEURON, "--html", str(html)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Backward pass" in done.stdout and html.exists()
    bad = subprocess.run([str(CONSOLE_SCRIPT), "explain", "open('x')", "x=1"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert bad.stderr == "chainrule: error: unknown function open at column 1; the functions " \
        "are abs, add, add_n, cos, div, dot, exp, leaky_relu, log, log1p, log_sigmoid, maximum, mul, " \
        "neg, pow, power, relu, sigmoid, sin, softplus, sqrt, sub, sum, tan, tanh\n"


def test_lr_updates_only_the_parameters_by_default_and_shows_the_loss_fall(capsys):
    assert main(["explain", *NEURON, "--target", "1", "--loss", "mse", "--lr", "1"]) == 0
    out = capsys.readouterr().out
    update = out.split("One gradient-descent step")[1]
    assert [line.split(" = ")[0].strip() for line in update.splitlines()[1:5]] == [
        "w1", "w2", "w3", "b"]  # the inputs x1..x3 stay as they are
    assert "x1 =" not in update
    flat = " ".join(update.split())
    assert re.search(r"L = 0\.0544097 before, 0\.0\d+ after \(it went down\)", flat)
    assert main(["explain", *NEURON, "--lr", "1", "--params", "x1"]) == 0
    update = capsys.readouterr().out.split("One gradient-descent step")[1]
    assert "x1 = 0.8 - 1 x" in update and "w1 =" not in update


def test_worksheet_has_blanks_and_a_separate_answer_key(tmp_path, capsys):
    sheet = tmp_path / "sheet.md"
    assert main(["explain", "(x + y) * z", "x=-2", "y=5", "z=-4", "-q", "--worksheet",
                 str(sheet)]) == 0
    assert capsys.readouterr().err.split() == ["wrote", str(sheet), "wrote",
                                               str(tmp_path / "sheet-circuit.svg")]
    text = sheet.read_text(encoding="utf-8")
    questions, key = text.split("## Answer key")
    assert "](sheet-circuit.svg)" in questions  # the circuit, beside the sheet
    assert "- `n1 = x + y = -2 + 5 = 3`" in questions  # the learner's names: n1 = x + y
    assert "1. `df/dn1 = df/df × d/dn1 (n1 * z)` = ____________" in questions
    assert "-4" not in questions.split("## Backward pass")[1]  # no answer before the key
    assert "2. **3**: `d/dz (n1 * z) = n1 = 3; df/dz = df/df × d/dz (n1 * z) = 1 × 3 = 3`" in key
    assert "   - -4 multiplies by z's own value" in key  # a common mistake, named
    page = tmp_path / "sheet.html"
    assert main(["explain", "(x + y) * z", "x=-2", "y=5", "z=-4", "-q", "--worksheet",
                 str(page)]) == 0
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["explain", "x * 2", "x=1", "-q", "--worksheet",
                 str(tmp_path / "missing" / "sheet.md")]) == 2
    assert "cannot write" in capsys.readouterr().err


# -- chainrule quiz ------------------------------------------------------------------------------

CIRCUIT = ["(x + y) * z", "x=-2", "y=5", "z=-4"]


def quiz(*argv: str, answers: str) -> tuple[int, str, str]:
    """``chainrule quiz`` as a learner runs it: a real process, answers on standard input."""
    finished = subprocess.run([str(CONSOLE_SCRIPT), "quiz", *argv], input=answers,
                              capture_output=True, text=True, timeout=60, check=False)
    return finished.returncode, finished.stdout, finished.stderr


def test_quiz_all_right_exits_0():
    status, out, err = quiz(*CIRCUIT, answers="1\n-4\n3\n-4\n-4.001\n")
    assert (status, err) == (0, "")
    prompts = [line for line in out.splitlines() if " = ? " in line]
    # the final gradient of every node, in the order the backward pass completes them; the
    # answers read from a pipe are shown where a learner would have typed them
    assert prompts == ["1. df/df = ? 1", "2. df/dn1 = ? -4", "3. df/dz = ? 3", "4. df/dx = ? -4",
                       "5. df/dy = ? -4.001"]
    assert out.count("   right: ") == 5 and out.rstrip().endswith("score: 5 of 5")


def test_quiz_a_wrong_answer_is_corrected_with_its_step_and_exits_1():
    status, out, _ = quiz(*CIRCUIT, "--tries", "1", answers="1\n4\n3\nminus four\n")
    assert status == 1
    assert "wrong. Expected -4: df/dn1 = df/df x d/dn1 (n1 * z) = 1 x (-4) = -4" in out
    # not a number: refused, and the same question asked again with the next line
    assert "'minus four' is not a number: type one such as -4, 0.25 or 1/4" in out
    assert "4. df/dx = ? minus four\n" in out and "\n4. df/dx = ? \n" in out
    assert "no answer (end of input): df/dx = df/dn1 x d/dx (x + y) = (-4) x 1 = -4" in out
    assert out.rstrip().endswith("score: 2 of 5")


def test_quiz_shows_the_forward_pass_in_the_names_it_asks_about_first():
    """The issue: df/dn1 was asked without ever saying that n1 = x + y."""
    _, out, _ = quiz(*CIRCUIT, answers="")
    shown, _, asked = out.partition("1. df/df = ?")
    assert "the forward pass:\n   given inputs x = -2, y = 5, z = -4\n" in shown
    assert "   n1 = x + y = -2 + 5 = 3\n   f = n1 * z = 3 * (-4) = -12\n" in shown
    assert "n1" in asked


def test_quiz_tries_give_hints_in_steps_then_the_worked_step():
    status, out, _ = quiz(*CIRCUIT, "--tries", "3", answers="1\n17\n18\n19\n")
    assert status == 1
    hints = re.findall(r"^   hint: (.*)$", out, re.M)
    assert [h.split(":")[0] for h in hints] == ["chain rule", "the formula"]
    assert out.count("2. df/dn1 = ? ") == 3
    assert "   wrong. Expected -4: df/dn1 = " in out
    status, _, err = run_quiz_in_process(*CIRCUIT, "--tries", "0", answers="")
    assert status == 2 and "--tries: needs a whole number of at least 1, got '0'" in err


def test_quiz_steps_asks_locals_and_contributions_and_adds_up_a_fan_out():
    answers = "\n".join(["1", "1", "1", "1", "1", "1", "3", "3", "3", "3", "7"]) + "\n"
    status, out, _ = run_quiz_in_process("a*a + a", "a=3", "--steps", answers=answers)
    assert status == 0, out
    assert "2. d/dn1 (n1 + a) = ? 1" in out and "3. df/df x d/dn1 (n1 + a) = ? 1" in out
    assert "11. df/da = ? 7" in out
    status, out, _ = run_quiz_in_process("a*a + a", "a=3", answers="1\n1\n6\n")
    assert status == 1
    assert ("df/da = the sum of its 3 contributions, 7: df/df x d/da (n1 + a) = 1 x 1 = 1; "
            "df/dn1 x d/da (a * a) = 1 x 3 = 3; df/dn1 x d/da (a * a) = 1 x 3 = 3") in out


def test_quiz_with_a_loss_and_bad_input():
    status, out, _ = run_quiz_in_process("sigmoid(w*x)", "w=0.5", "x=2", "--target", "1",
                                         answers="")
    assert status == 1 and "1. dL/dL = ?" in out and "dL/dw = ?" in out
    status, _, err = run_quiz_in_process("log(x)", "x=-1", answers="")
    assert status == 2 and err.count("\n") == 1 and "log needs x > 0" in err


def run_quiz_in_process(*argv: str, answers: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import sys

    stdin = sys.stdin
    sys.stdin = io.StringIO(answers)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["quiz", *argv])
    finally:
        sys.stdin = stdin
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("answer", "expected", "right"), [
    ("0.179", 0.178849, True), ("0.18", 0.178849, True), ("0.17", 0.178849, False),
    ("-0.0537", -0.0536548, True), ("0.0537", -0.0536548, False), ("1/4", 0.25, True),
    ("−4", -4.0, True), ("nan", 1.0, False), ("1/0", 1.0, False),
])
def test_answers_are_checked_with_a_tolerance(answer, expected, right):
    from chainrule.engine.explain.quiz import is_right, parse_answer

    parsed = parse_answer(answer)
    assert (parsed is not None and is_right(parsed, expected)) is right


def test_the_documented_quiz_session_is_real_output():
    page = Path(__file__).resolve().parent.parent / "docs" / "guide" / "walkthrough.md"
    session = re.search(r"```\n\$ chainrule quiz (.*?)\n(.*?)```", page.read_text(encoding="utf-8"),
                        re.S)
    assert session is not None
    command, shown = session.group(1), session.group(2)
    expression = re.match(r'"(.*?)" (.*)', command)
    answers = "".join(line.split(" = ? ")[1] + "\n" for line in shown.splitlines()
                      if " = ? " in line)
    status, out, err = quiz(expression.group(1), *expression.group(2).split(), answers=answers)
    assert (out, err, status) == (shown, "", 1)


def test_a_kink_is_not_a_failure_and_a_mismatch_is() -> None:
    """The issue's relu at its kink: the check shows both one-sided slopes, says which one
    chainrule takes and why, and the exit status agrees with the summary."""
    status, out, err = run("explain", "relu(w*x + b)", "w=1", "x=1", "b=-1")
    assert (status, err) == (0, "")
    flat = " ".join(out.split())
    assert "MISMATCH" not in out
    assert "df/dw = 0 numeric 0.5 ok at a kink" in flat
    assert ("at a kink: slope 0 on the left, 1 on the right (the central difference averages "
            "them); the gradient is the left one") in flat
    assert "f = relu(n2) is at relu's kink: chainrule takes d/dn2 = 0 there (0 <= 0, so 0), " \
        "PyTorch's choice" in flat
    assert ("3 of 3 leaf gradients agree with finite differences (3 at a kink, where the slopes "
            "on the two sides differ and the gradient follows PyTorch's choice: not a failure)."
            ) in flat
    # Next to sqrt's singularity the nudge leaves the domain on one side and the other side's
    # slope is far off: the check fails, and so does the command.
    status, out, err = run("explain", "sqrt(t)", "t=1e-13")
    assert (status, err) == (1, "")
    assert "MISMATCH" in out and "0 of 1 leaf gradients agree" in out
