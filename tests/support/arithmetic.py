"""Reading the arithmetic a walkthrough prints, and checking that every equation holds.

A walkthrough writes chains such as ``d/db (a / b) = -a / b^2 = -3 / 2^2 = -0.75``: the formula
in the learner's names, then the same with the numbers filled in, then the value. Each
stretch of the chain made only of numbers, operators and the primitive table's functions is
evaluated here (``^`` is a power, ``x`` and ``×`` are products), and consecutive numeric
members must be equal *to the printed precision*: every printed number stands for any value
that rounds to it at ``digits`` significant digits, so two members agree when they differ by no
more than what that rounding can move them (the sensitivity of each member to each of its
numbers, measured by nudging the number by half a unit of its last significant digit). A
comparison that states a case (``0.7 < 1.3``) must hold to the same precision.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from chainrule.engine import PRIMITIVES
from chainrule.engine.primitives import FUNCTIONS

#: Every function a printed expression may call: the table's float functions and each
#: primitive written as a call (``relu(0)``, ``max(0.7, 1.3)``, ``leaky_relu(-1, 0.01)``).
CALLS: dict[str, Callable[..., float]] = dict(FUNCTIONS)
for _primitive in PRIMITIVES.values():
    _call = re.fullmatch(r"(\w+)\(.*\)", _primitive.notation)
    if _call:
        CALLS[_call.group(1)] = _primitive.forward

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[float, float, float], bool]] = {
    # (left, right, tolerance): whether the comparison holds to the printed precision.
    ast.Lt: lambda a, b, t: a < b + t, ast.LtE: lambda a, b, t: a <= b + t,
    ast.Gt: lambda a, b, t: a > b - t, ast.GtE: lambda a, b, t: a >= b - t,
    ast.Eq: lambda a, b, t: abs(a - b) <= t, ast.NotEq: lambda a, b, t: abs(a - b) > t,
}
_TIMES = re.compile(r"(?<=[\d)]) [x×] (?=[\d(\w-])")
_PROSE_PAREN = re.compile(r" \((?=[A-Za-z])")
_SEPARATORS = ("; ", ": ", ", ")


class NotArithmetic(Exception):
    """The text is not an expression of numbers (it names something, or it is prose)."""


def half_unit(text: str, digits: int) -> float:
    """How far the number printed as ``text`` may be from the value it stands for: half a unit
    in its ``digits``-th significant digit (0 for a printed 0, which is only ever exact)."""
    value = abs(float(text))
    if value == 0.0:
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(value)) - digits + 1)


def _normalised(text: str) -> str:
    text = text.strip().replace("−", "-").replace("^", "**").replace("≤", "<=").replace("≥", ">=")
    text = text.replace("≠", "!=")
    text = _TIMES.sub(" * ", text)
    # "0.7 = 0.7" states a tie inside a case; Python spells it ==.
    return re.sub(r"(?<=[\d)]) = (?=[\d(-])", " == ", text)


@dataclass
class _Evaluator:
    """An expression's value with its printed numbers replaced: ``numbers[k]`` for the literal
    node whose id is ``literals[k]``."""

    literals: list[int]
    numbers: list[float]
    #: Arithmetic in exact fractions (functions still on floats): for numbers so small or so
    #: large that float arithmetic on them underflows or overflows where the printed
    #: equation holds (``-(1.9e-263) / (1.9e-263)^2``).
    exact: bool = False

    def value(self, node: ast.AST) -> Any:
        try:
            return self._eval(node)
        except (ZeroDivisionError, OverflowError):
            if self.exact:
                raise
            exact = _Evaluator(self.literals, self.numbers, exact=True)._eval(node)
            return exact if isinstance(exact, tuple) else float(exact)

    def _eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self._eval(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            number = self.numbers[self.literals.index(id(node))]
            return Fraction(number) if self.exact else number
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._eval(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](self._eval(node.left), self._eval(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in CALLS and not node.keywords):
            return CALLS[node.func.id](*(float(self._eval(a)) for a in node.args))
        if isinstance(node, ast.IfExp):
            kind, left, right = self._eval(node.test)
            holds = _COMPARE[kind](left, right, 0.0)
            return self._eval(node.body) if holds else self._eval(node.orelse)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return (type(node.ops[0]), self._eval(node.left), self._eval(node.comparators[0]))
        raise NotArithmetic(ast.dump(node)[:60])


@dataclass(frozen=True)
class Member:
    """One numeric member of a chain: its value and how far rounding may move it."""

    text: str
    value: Any
    tolerance: float


def member(text: str, digits: int) -> Member:
    """``text`` evaluated, with the tolerance its printed numbers allow (raises NotArithmetic)."""
    source = _normalised(text)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise NotArithmetic(text) from None
    literals = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    if not literals or any(type(n.value) not in (int, float) for n in literals):
        raise NotArithmetic(text)
    ids = [id(n) for n in literals]
    printed = [float(n.value) for n in literals]
    spans = [source[n.col_offset:n.end_col_offset] for n in literals]
    evaluate = _Evaluator(ids, printed)
    try:
        value = evaluate.value(tree)
    except NotArithmetic:
        raise
    except (ArithmeticError, ValueError, TypeError, Exception) as error:
        raise AssertionError(f"cannot evaluate the printed {text!r}: {error}") from None
    if isinstance(value, tuple):  # a comparison: its two sides, each with its own tolerance
        return Member(text, value, 0.0)
    tolerance = 0.0
    for k, span in enumerate(spans):
        delta = half_unit(span, digits)
        moved = 0.0
        for sign in (-1.0, 1.0):
            nudged = list(printed)
            nudged[k] += sign * delta
            try:
                moved = max(moved, abs(_Evaluator(ids, nudged).value(tree) - value))
            except Exception:  # a nudge off a function's domain: the other side counts
                continue
        tolerance += moved
    return Member(text, float(value), tolerance)


def clauses(line: str) -> Iterator[str]:
    """``line`` cut where prose separates statements: at ``;``, ``:`` and ``,`` outside
    parentheses, and before a parenthesis that opens words (``0.5 (all 2 uses...)``)."""
    depth, start = 0, 0
    line = _PROSE_PAREN.sub("; ", line)
    k = 0
    while k < len(line):
        char = line[k]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and line.startswith(_SEPARATORS, k):
            yield line[start:k]
            start = k + 2
            k += 1
        k += 1
    yield line[start:]


@dataclass
class Report:
    """What was checked: how many equalities and comparisons, and the lines they came from."""

    equalities: int = 0
    comparisons: int = 0

    def __iadd__(self, other: Report) -> Report:
        self.equalities += other.equalities
        self.comparisons += other.comparisons
        return self


def check_line(line: str, digits: int = 6) -> Report:
    """Every equation and comparison of numbers in ``line`` holds to the printed precision
    (raises AssertionError naming the false one); returns how many were checked."""
    report = Report()
    for clause in clauses(line):
        run: list[Member] = []
        for part in [*clause.split(" = "), ""]:  # "" ends the last run
            try:
                found = member(part, digits) if part.strip() else None
            except NotArithmetic:
                found = None
            if found is not None and isinstance(found.value, tuple):
                kind, left, right = found.value
                tolerance = _comparison_tolerance(part, digits)
                assert _COMPARE[kind](left, right, tolerance), (
                    f"false comparison {part!r} in: {line}")
                report.comparisons += 1
                found = None
            if found is not None:
                run.append(found)
                continue
            for a, b in itertools.pairwise(run):
                allowed = (a.tolerance + b.tolerance) * 1.001 + 1e-12 * max(
                    1.0, abs(a.value), abs(b.value))
                assert abs(a.value - b.value) <= allowed, (
                    f"false equation {a.text!r} = {b.text!r} ({a.value!r} vs {b.value!r}, "
                    f"allowed {allowed:.3g}) in: {line}")
                report.equalities += 1
            run = []
    return report


def _comparison_tolerance(text: str, digits: int) -> float:
    sides = re.split(r" (?:<=|>=|<|>|=|==|≤|≥) ", _normalised(text).replace(" == ", " = "))
    return sum(member(side, digits).tolerance for side in sides if side.strip())


def check_text(text: str, digits: int = 6) -> Report:
    """:func:`check_line` on every line of ``text``."""
    report = Report()
    for line in text.splitlines():
        report += check_line(line, digits)
    return report


#: The page data's fields that hold a template (see chainrule.engine.explain.template): a list
#: of text, slots and choices, filled by the page's script with its numbers.
TEMPLATE_FIELDS = frozenset({
    "equation", "explanation", "operation", "upstreamText", "skippedText", "rule", "text",
    "analyticText", "numericText", "verdict", "kink", "lrText", "afterText", "lossChange",
    "summaryText", "error",
})
#: The page data's fields that hold a list of templates.
TEMPLATE_LISTS = frozenset({"lines", "notes", "kinks"})


def page_data(page: str) -> Any:
    """The data of a walkthrough page (its JSON block)."""
    found = re.search(r'<script type="application/json" id="walkthrough-data">(.*?)</script>',
                      page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def page_parts(data: Any, key: str = "") -> Iterator[tuple[str, str | list[Any]]]:
    """Every plain string and every template (a list) of the page's data, with the key it is
    stored under (the recorded numbers left out)."""
    if key == "numbers":
        return
    if isinstance(data, list) and (key in TEMPLATE_FIELDS or (
            key in TEMPLATE_LISTS and data and all(isinstance(line, list) for line in data))):
        for template in ([data] if key in TEMPLATE_FIELDS else data):
            yield key, template
    elif isinstance(data, str):
        yield key, data
    elif isinstance(data, dict):
        for name, value in data.items():
            yield from page_parts(value, name)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from page_parts(value, key)


def page_strings(data: Any, numbers: Any = None) -> Iterator[tuple[str, str]]:
    """What the page shows, from its data: every plain string, and every template filled as
    the page's script fills it, with the recorded numbers or with ``numbers``."""
    from chainrule.engine.explain.template import fill, numbers_from_json, template_from_json

    if numbers is None:
        numbers = numbers_from_json(data["numbers"])
    for key, part in page_parts(data):
        yield key, part if isinstance(part, str) else fill(template_from_json(part), numbers,
                                                           data["digits"])


def unescape_markdown(text: str) -> str:
    """Markdown's backslash escapes and HTML entities undone, table pipes kept as separators."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"\*\*(.*?)\*\*", r"\1", text)
    return re.sub(r"\\(.)", r"\1", text.replace(" | ", "; "))
