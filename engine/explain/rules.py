"""The rules a learner takes away, read from the primitive table: what a gate does with the
gradient (CS231n's add distributes, mul swaps, max routes) and which case of a piecewise
derivative applies (``0.7 < 1.3, so 0``).

Nothing here knows an operation by name. A gate *distributes* when every local derivative is
the number 1, *swaps* when each input's derivative is another input, *routes* when its
derivative is a choice between 1, 0 and 1/2 among several inputs, and is a *switch* when it is
a choice between 1 and 0 for one input; a piecewise derivative is a formula written as
``A if C else B`` in the table, whose conditions are evaluated on the step's numbers.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from ..naming import format_number, operand_text
from ..primitives import Primitive

__all__ = ["Case", "gate_name", "gate_rule", "kink_conditions", "kink_sides", "local_case",
           "partner_slots"]

_HOLDS: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_SYMBOL: dict[type[ast.cmpop], str] = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=",
                                       ast.Eq: "=", ast.NotEq: "≠"}
_NEGATION: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.LtE, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq}
#: Conditions that pick a special case (x^0 at y = 0) rather than a side of a kink.
_SPECIAL_CASES = (ast.Eq, ast.NotEq)
_ROUTING = frozenset({"0", "1", "1/2"})


@dataclass(frozen=True)
class _Comparison:
    left: str  # a placeholder of the table (x, y) or a number
    kind: type[ast.cmpop]
    right: str


@dataclass(frozen=True)
class _Piece:
    condition: _Comparison | None  # None: the last branch, taken when no condition holds
    value: str  # the branch in the table's placeholders: "1", "slope", "1/2"


@cache
def _pieces(formula: str) -> tuple[_Piece, ...] | None:
    """A table formula written ``A if C else B if D else E`` as its branches; None when it is
    not piecewise."""
    source = re.sub(r"(?<![<>=!])=(?!=)", "==", formula.replace("^", "**"))  # "y = 0"
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None

    def text(node: ast.AST) -> str:  # as the table writes it: "1/2", not "1 / 2"; x^y
        segment = ast.get_source_segment(source, node) or ast.unparse(node)
        return segment.replace("**", "^").replace("==", "=")

    pieces = []
    while isinstance(tree, ast.IfExp):
        test = tree.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and type(test.ops[0]) in _HOLDS):
            return None
        comparison = _Comparison(text(test.left), type(test.ops[0]), text(test.comparators[0]))
        pieces.append(_Piece(comparison, text(tree.body)))
        tree = tree.orelse
    if not pieces:
        return None
    pieces.append(_Piece(None, text(tree)))
    return tuple(pieces)


@dataclass(frozen=True)
class Case:
    """The case of a piecewise derivative that applies: ``condition`` with the numbers
    (``0.7 < 1.3``), the branch in the learner's names (``slope``) and ``at_kink``: the
    condition's two sides are equal, so the derivative is the convention chosen there."""

    condition: str
    branch: str
    at_kink: bool

    def text(self, value: str) -> str:
        """``0.7 < 1.3, so 0``; a branch that names an operand is followed by its number."""
        branch = self.branch if self.branch.strip("()") == value else f"{self.branch} = {value}"
        return f"{self.condition}, so {branch}"


def _fill(text: str, primitive: Primitive, words: Sequence[str]) -> str:
    by_name = dict(zip(primitive.input_names, words, strict=True))
    if text in by_name:
        return by_name[text]
    return re.sub(r"\b\w+\b", lambda m: by_name.get(m.group(0), m.group(0)), text)


def _number(text: str, primitive: Primitive, operands: Sequence[float]) -> float:
    by_name = dict(zip(primitive.input_names, operands, strict=True))
    return by_name[text] if text in by_name else float(text)


def local_case(
    primitive: Primitive, slot: int, names: Sequence[str], operands: Sequence[float],
    digits: int = 6,
) -> Case | None:
    """The case of input ``slot``'s piecewise derivative that applies to ``operands`` (None
    for a formula that is not piecewise). When no condition holds, the case is stated as the
    negation of them all (``0 <= 0``; ``0.7 = 0.7`` where two negations meet)."""
    special = primitive.special_cases[slot] if primitive.special_cases else None
    pieces = _pieces(primitive.formulas[slot])
    if special is not None:  # "y = 0": 0 there, the formula everywhere else
        pieces = _pieces(f"0 if {special} else {primitive.formulas[slot]}")
        assert pieces is not None and pieces[0].condition is not None
        case_of = pieces[0].condition
        if not _HOLDS[case_of.kind](_number(case_of.left, primitive, operands),
                                    _number(case_of.right, primitive, operands)):
            return None  # the formula applies, as written
    if pieces is None:
        return None
    numbers = [format_number(v, digits) for v in operands]  # "-0.7 <= 0" needs no parentheses

    def written(comparison: _Comparison, kind: type[ast.cmpop] | None = None) -> str:
        left = _fill(comparison.left, primitive, numbers)
        right = _fill(comparison.right, primitive, numbers)
        symbol = "=" if kind is None else _SYMBOL[kind]
        return f"{left} {symbol} {right}"

    kink = any(
        _number(p.condition.left, primitive, operands)
        == _number(p.condition.right, primitive, operands)
        for p in pieces if p.condition is not None and p.condition.kind not in _SPECIAL_CASES
    )
    failed: list[_Comparison] = []
    for piece in pieces:
        branch = _fill(piece.value, primitive, [operand_text(n) for n in names])
        comparison = piece.condition
        if comparison is None:
            sides = {frozenset((c.left, c.right)) for c in failed}
            if len(failed) == 2 and len(sides) == 1:  # not >, not <: equal
                condition = written(failed[0])
            else:
                condition = " and ".join(written(c, _NEGATION[c.kind]) for c in failed)
            return Case(condition, branch, kink)
        left = _number(comparison.left, primitive, operands)
        right = _number(comparison.right, primitive, operands)
        if _HOLDS[comparison.kind](left, right):
            return Case(written(comparison, comparison.kind), branch, kink)
        failed.append(comparison)
    raise AssertionError("unreachable: the last piece has no condition")


def kink_conditions(primitive: Primitive) -> bool:
    """Whether the primitive's derivative is piecewise, so it may sit at a kink."""
    return any(_pieces(formula) is not None for formula in primitive.formulas)


def kink_sides(primitive: Primitive, slot: int) -> tuple[tuple[str, str], ...]:
    """The two sides of each comparison in input ``slot``'s piecewise derivative (a table
    placeholder or a number each: relu's ``(("x", "0"),)``): the step sits at a kink where
    the two sides of one of them are equal (see :attr:`Case.at_kink`)."""
    return tuple((p.condition.left, p.condition.right) for p in _pieces(primitive.formulas[slot]) or ()
                 if p.condition is not None and p.condition.kind not in _SPECIAL_CASES)


def gate_name(primitive: Primitive) -> str:
    """How a learner calls the gate: the function it is written with (``max``), or the name."""
    call = re.match(r"(\w+)\(", primitive.notation)
    return call.group(1) if call else primitive.name


@cache
def partner_slots(primitive: Primitive) -> tuple[int | None, ...]:
    """For each input, the input whose value is its local derivative (mul: (1, 0); a dot's
    w1 gets x1), or None."""
    return tuple(primitive.input_names.index(code) if code in primitive.input_names else None
                 for code in primitive.derivative_code)


def gate_rule(primitive: Primitive, names: Sequence[str], operands: Sequence[float]) -> str | None:
    """The rule of the gate, in one short sentence with the step's names, or None for an
    operation that follows no rule worth naming."""
    gate = gate_name(primitive)
    if primitive.constant_derivatives is not None and all(
            d == 1.0 for d in primitive.constant_derivatives):
        return f"{gate} distributes: each input gets the upstream gradient unchanged"
    partners = partner_slots(primitive)
    if None not in partners and all(p != k for k, p in enumerate(partners)):
        if primitive.arity == 2:
            a, b = names
            return (f"{gate} swaps: {a} gets the upstream gradient times {b}, "
                    f"and {b} times {a}")
        if primitive.family is not None and len(primitive.family.groups) == 2:
            n = primitive.arity // 2  # a weighted sum: its inputs pair up, w_i with x_i
            more = ", and so on for each pair" if n > 1 else ""
            return (f"{gate} swaps in pairs: {names[0]} gets the upstream gradient times "
                    f"{names[n]}, and {names[n]} times {names[0]}{more}")
        return f"{gate} swaps: each input gets the upstream gradient times its partner"
    pieces = [_pieces(formula) for formula in primitive.formulas]
    if any(p is None for p in pieces):
        return None
    branches = {piece.value for formula in pieces if formula for piece in formula}
    if primitive.arity >= 2 and branches <= _ROUTING:
        cases = [local_case(primitive, k, names, operands) for k in range(primitive.arity)]
        winners = [names[k] for k, case in enumerate(cases) if case and case.branch == "1"]
        if not winners:
            return (f"{gate} routes: at a tie each input gets half of the upstream gradient "
                    "(as in PyTorch)")
        return (f"{gate} routes: the larger input, {winners[0]}, gets the whole upstream "
                "gradient, the other 0")
    if primitive.arity == 1 and branches <= {"0", "1"}:
        case = local_case(primitive, 0, names, operands)
        assert case is not None
        verdict = "passes the gradient on" if case.branch == "1" else "blocks the gradient"
        return f"{gate} is a switch: {case.condition}, so it {verdict}"
    return None
