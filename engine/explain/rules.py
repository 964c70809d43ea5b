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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from ..naming import operand_text
from ..primitives import Primitive
from .template import Choice, Compare, Numbers, Slot, Template, fill, join, template

__all__ = ["Branch", "Case", "branches", "gate_name", "gate_rule", "gate_rule_template",
           "kink_conditions", "kink_sides", "local_case", "partner_slots"]

_SYMBOL: dict[type[ast.cmpop], str] = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=",
                                       ast.Eq: "=", ast.NotEq: "≠"}
_OPERATOR: dict[type[ast.cmpop], str] = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=",
                                         ast.Eq: "==", ast.NotEq: "!="}
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
                and type(test.ops[0]) in _OPERATOR):
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


def _ref(text: str, primitive: Primitive) -> Slot | float:
    """A side of a condition: operand j's value (a slot of the operands' numbers) or a number."""
    if text in primitive.input_names:
        return Slot("v", primitive.input_names.index(text))
    return float(text)


def _side(text: str, primitive: Primitive) -> str | Slot:
    """A side of a condition as it is written: the operand's number, or the table's text."""
    return Slot("v", primitive.input_names.index(text)) if text in primitive.input_names else text


@dataclass(frozen=True)
class Branch:
    """One branch of a piecewise derivative: taken when ``when`` holds on the operands (None:
    when no earlier branch's condition holds), and then said as ``condition`` (a template
    whose slot ``v`` j is operand j: ``x > 0``, or the negations of the earlier conditions) and
    ``branch``, the branch in the learner's names. A ``formula`` branch is the table's formula
    as written (outside a special case such as pow's ``y = 0``): no case to state."""

    when: Compare | None
    condition: Template
    branch: str
    value: str = ""  # the branch as the table writes it: "1", "1/2", "slope"
    formula: bool = False


def branches(primitive: Primitive, slot: int, names: Sequence[str]) -> tuple[Branch, ...] | None:
    """The branches of input ``slot``'s piecewise derivative, in the order they are tried, the
    same for any numbers (None for a formula that is not piecewise). Which one holds is for
    the numbers to say: :func:`local_case` on recorded numbers, a template's choice on any."""
    special = primitive.special_cases[slot] if primitive.special_cases else None
    pieces = _pieces(primitive.formulas[slot] if special is None
                     else f"0 if {special} else {primitive.formulas[slot]}")
    if pieces is None:
        return None

    def written(comparison: _Comparison, kind: type[ast.cmpop] | None = None) -> Template:
        symbol = "=" if kind is None else _SYMBOL[kind]
        return template(_side(comparison.left, primitive), f" {symbol} ",
                        _side(comparison.right, primitive))

    def when(comparison: _Comparison) -> Compare:
        return Compare(_ref(comparison.left, primitive), _OPERATOR[comparison.kind],
                       _ref(comparison.right, primitive))

    words = [operand_text(n) for n in names]
    found: list[Branch] = []
    failed: list[_Comparison] = []
    for piece in pieces:
        comparison = piece.condition
        if comparison is not None:
            found.append(Branch(when(comparison), written(comparison, comparison.kind),
                                _fill(piece.value, primitive, words), piece.value))
            failed.append(comparison)
            if special is not None:  # "y = 0": 0 there, the formula everywhere else
                return (*found, Branch(None, (), "", formula=True))
            continue
        sides = {frozenset((c.left, c.right)) for c in failed}
        if len(failed) == 2 and len(sides) == 1:  # not >, not <: equal
            condition = written(failed[0])
        else:
            condition = join([written(c, _NEGATION[c.kind]) for c in failed], " and ")
        found.append(Branch(None, condition, _fill(piece.value, primitive, words), piece.value))
    return tuple(found)


def operand_numbers(operands: Sequence[float]) -> Numbers:
    """Numbers whose values are ``operands``: what a branch's condition reads (slot ``v`` j is
    operand j) on the recorded numbers of one step."""
    return Numbers(values=tuple(operands), grads=(), local=(), product=(), before=(), after=(),
                   seed=1.0)


def holding(found: Sequence[Branch], numbers: Numbers) -> Branch:
    """The branch that applies: the first whose condition holds."""
    return next(b for b in found if b.when is None or b.when.holds(numbers))


def local_case(
    primitive: Primitive, slot: int, names: Sequence[str], operands: Sequence[float],
    digits: int = 6,
) -> Case | None:
    """The case of input ``slot``'s piecewise derivative that applies to ``operands`` (None
    for a formula that is not piecewise, or outside a special case). When no condition holds,
    the case is stated as the negation of them all (``0 <= 0``; ``0.7 = 0.7`` where two
    negations meet)."""
    found = branches(primitive, slot, names)
    if found is None:
        return None
    numbers = operand_numbers(operands)
    chosen = holding(found, numbers)
    if chosen.formula:
        return None  # the formula applies, as written
    kink = any(
        b.when is not None and b.when.op not in ("==", "!=")
        and _number(b.when.left, numbers) == _number(b.when.right, numbers)
        for b in found
    )
    return Case(fill(chosen.condition, numbers, digits), chosen.branch, kink)


def _number(ref: Slot | float, numbers: Numbers) -> float | None:
    return ref.number(numbers) if isinstance(ref, Slot) else ref


@cache
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


def gate_rule(primitive: Primitive, names: Sequence[str], operands: Sequence[float],
              digits: int = 6) -> str | None:
    """The rule of the gate, in one short sentence with the step's names (numbers written with
    ``digits`` significant digits), or None for an operation that follows no rule worth
    naming."""
    rule = gate_rule_template(primitive, names)
    return None if rule is None else fill(rule, operand_numbers(operands), digits)


def gate_rule_template(primitive: Primitive, names: Sequence[str]) -> Template | None:
    """:func:`gate_rule` for any numbers: a template on the step's operands (slot ``v`` j is
    operand j) whose choice says which input a router sends the gradient to, or which way a
    switch is set."""
    gate = gate_name(primitive)
    if primitive.constant_derivatives is not None and all(
            d == 1.0 for d in primitive.constant_derivatives):
        return (f"{gate} distributes: each input gets the upstream gradient unchanged",)
    partners = partner_slots(primitive)
    if None not in partners and all(p != k for k, p in enumerate(partners)):
        if primitive.arity == 2:
            a, b = names
            return (f"{gate} swaps: {a} gets the upstream gradient times {b}, "
                    f"and {b} times {a}",)
        if primitive.family is not None and len(primitive.family.groups) == 2:
            n = primitive.arity // 2  # a weighted sum: its inputs pair up, w_i with x_i
            more = ", and so on for each pair" if n > 1 else ""
            return (f"{gate} swaps in pairs: {names[0]} gets the upstream gradient times "
                    f"{names[n]}, and {names[n]} times {names[0]}{more}",)
        return (f"{gate} swaps: each input gets the upstream gradient times its partner",)
    if any(_pieces(formula) is None for formula in primitive.formulas):
        return None
    every = [found for k in range(primitive.arity)
             if (found := branches(primitive, k, names)) is not None]
    values = {b.value for found in every for b in found}
    if primitive.arity >= 2 and values <= _ROUTING:
        # An input gets the whole gradient when its derivative's first branch, 1, holds.
        if any(found[0].value != "1" or found[0].when is None for found in every):
            return None
        return (Choice((
            *((found[0].when, (f"{gate} routes: the larger input, {names[k]}, gets the whole "
                               "upstream gradient, the other 0",))
              for k, found in enumerate(every)),
            (None, (f"{gate} routes: at a tie each input gets half of the upstream gradient "
                    "(as in PyTorch)",)),
        )),)
    if primitive.arity == 1 and values <= {"0", "1"}:
        return (Choice(tuple(
            (b.when, template(f"{gate} is a switch: ", b.condition, ", so it ",
                              "passes the gradient on" if b.branch == "1"
                              else "blocks the gradient"))
            for b in every[0])),)
    return None
