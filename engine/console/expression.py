"""Safe parsing of expressions such as ``"sigmoid(w1*x1 + b)"`` into a chainrule graph.

The text is parsed with :mod:`ast` and walked against a whitelist: numbers, variable names, the
operators ``+ - * / **`` and unary ``-``/``+``, calls of chainrule's primitives by name
(``exp``, ``tanh``, ``leaky_relu``...) and of its n-ary operations, whose arguments are lists
(``dot([w1, w2], [x1, x2])``, ``add_n([a, b, c])``, also written ``sum(a, b, c)``). Anything else is an :class:`ExpressionError` naming
what was found and where. Nothing is ever passed to ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import keyword
import math
from collections.abc import Mapping

from ..errors import ChainruleError
from ..primitives import FAMILIES, PRIMITIVES, Family, Primitive
from ..value import Value, apply_family

#: Longer expressions are refused before parsing (the parser's work grows with the text).
MAX_EXPRESSION_LENGTH = 2_000
#: Deeper nesting is refused (a sum of n terms nests n levels: 200 leaves room for long sums
#: while keeping the recursive evaluation far from Python's recursion limit).
MAX_NESTING = 200

_OPERATORS: dict[type[ast.AST], str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
}
_OPERATOR_SYMBOLS = {
    ast.MatMult: "@", ast.Mod: "%", ast.FloorDiv: "//", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
}

#: What users may call: every primitive by its name (exp, log, tanh, ..., add, mul, pow).
FUNCTIONS: Mapping[str, Primitive | Family] = {
    **PRIMITIVES, **{p.function: p for p in PRIMITIVES.values() if p.function},
    **FAMILIES, **{f.function: f for f in FAMILIES.values()},
}


class ExpressionError(ChainruleError, ValueError):
    """The expression or a ``name=value`` assignment cannot be used; the message says why."""


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x1=0.8"`` as ``("x1", 0.8)``, or an :class:`ExpressionError`."""
    name, equals, number = text.partition("=")
    name = name.strip()
    if not equals:
        raise ExpressionError(f"expected name=value, got {text!r:.60}")
    check_variable_name(name)
    try:
        value = float(number.strip())
    except ValueError:
        raise ExpressionError(f"{name}: {number.strip()!r:.40} is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}: {number.strip()!r:.40} is not a finite number")
    return name, value


def check_variable_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ExpressionError(f"{name!r:.40} is not a valid variable name")
    if name in FUNCTIONS:
        raise ExpressionError(f"{name!r} is a function name and cannot be a variable")


def parse_expression(text: str, values: Mapping[str, float]) -> Value:
    """Build the graph of ``text`` with each name bound to a leaf ``Value(values[name])``.

    Every name the expression uses must be given and every given name must be used. A name used
    twice is the same leaf (so its gradient collects both uses). Raises
    :class:`ExpressionError` for anything outside the whitelist, and chainrule's own errors
    (:class:`DomainError`, :class:`NumericOverflowError`...) when evaluating fails.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be a str, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    if not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"invalid syntax{where}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is too deeply nested or malformed") from None
    _check_depth(tree.body)
    for name in values:
        check_variable_name(name)
    leaves = {name: Value(value, label=name) for name, value in values.items()}
    used: set[str] = set()
    result = _build(tree.body, leaves, used)
    unused = [name for name in values if name not in used]
    if unused:
        raise ExpressionError(
            f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} given but not used "
            "in the expression"
        )
    if not isinstance(result, Value):
        raise ExpressionError(
            "the expression has no variables to differentiate: use a name, e.g. 'x * 2' x=3"
        )
    return result


def _check_depth(root: ast.AST) -> None:
    # Iterative, so that measuring a pathological tree cannot itself recurse too deep.
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ExpressionError(f"the expression is nested more than {MAX_NESTING} levels deep")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _where(node: ast.AST) -> str:
    column = getattr(node, "col_offset", None)
    return "" if column is None else f" at column {column + 1}"


def _build(node: ast.AST, leaves: Mapping[str, Value], used: set[str]) -> Value | float:
    """The Value (or, for a constant sub-expression, the float) that ``node`` denotes."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a complex number" if isinstance(value, complex) else type(value).__name__
            raise ExpressionError(f"{kind} {value!r:.40}{_where(node)} is not allowed; use numbers")
        try:
            number = float(value)
        except OverflowError:
            raise ExpressionError(f"the number{_where(node)} is too large for a float") from None
        if not math.isfinite(number):
            raise ExpressionError(f"the number{_where(node)} is too large for a float")
        return number
    if isinstance(node, ast.Name):
        if node.id in leaves:
            used.add(node.id)
            return leaves[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id}{_where(node)} is a function: call it, {node.id}(...)")
        raise ExpressionError(f"{node.id}{_where(node)} has no value: add {node.id}=<number>")
    if isinstance(node, ast.BinOp):
        name = _OPERATORS.get(type(node.op))
        if name is None:
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f"the operator {symbol}{_where(node)} is not supported")
        left = _build(node.left, leaves, used)
        right = _build(node.right, leaves, used)
        result: Value | float = PRIMITIVES[name](left, right)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, leaves, used)
        if isinstance(node.op, ast.USub):
            negated: Value | float = PRIMITIVES["neg"](operand)
            return negated
        if isinstance(node.op, ast.UAdd):
            return operand
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        raise ExpressionError(f"the operator {symbol}{_where(node)} is not supported")
    if isinstance(node, ast.Call):
        return _call(node, leaves, used)
    raise ExpressionError(f"{_describe(node)}{_where(node)} is not allowed in an expression")


def _call(node: ast.Call, leaves: Mapping[str, Value], used: set[str]) -> Value | float:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(
            f"only chainrule's functions can be called, by name{_where(node)} "
            f"({', '.join(sorted(FUNCTIONS))})"
        )
    name = node.func.id
    primitive = FUNCTIONS.get(name)
    if primitive is None:
        raise ExpressionError(
            f"unknown function {name}{_where(node)}; the functions are "
            f"{', '.join(sorted(FUNCTIONS))}"
        )
    if node.keywords:
        raise ExpressionError(f"{name}{_where(node)}: keyword arguments are not supported")
    if any(isinstance(argument, ast.Starred) for argument in node.args):
        raise ExpressionError(f"{name}{_where(node)}: *arguments are not supported")
    if isinstance(primitive, Family):
        return _call_family(name, primitive, node, leaves, used)
    # Trailing inputs with defaults in the table may be left out: leaky_relu(x) is
    # leaky_relu(x, 0.01).
    defaults = tuple(primitive.defaults[n] for n in primitive.input_names if n in primitive.defaults)
    if not primitive.arity - len(defaults) <= len(node.args) <= primitive.arity:
        expected = (str(primitive.arity) if not defaults
                    else f"{primitive.arity - len(defaults)} or {primitive.arity}")
        raise ExpressionError(
            f"{name}{_where(node)} takes {expected} argument(s), got {len(node.args)}"
        )
    arguments = [_build(argument, leaves, used) for argument in node.args]
    arguments += defaults[len(arguments) - primitive.arity + len(defaults):]
    applied: Value | float = primitive(*arguments)
    return applied


def _call_family(name: str, family: Family, node: ast.Call, leaves: Mapping[str, Value],
                 used: set[str]) -> Value | float:
    """``dot([w1, w2], [x1, x2])``, ``add_n([a, b])``; the one-group ``sum`` may also take its
    terms as arguments, ``sum(a, b, c)``."""
    arguments = node.args
    lists = all(isinstance(argument, (ast.List, ast.Tuple)) for argument in arguments)
    if len(family.groups) == 1 and not lists:
        groups = [arguments]
    elif len(arguments) == len(family.groups) and lists:
        groups = [argument.elts for argument in arguments]  # type: ignore[attr-defined]
    else:
        shape = ", ".join(f"[{g}1, {g}2, ...]" for g in family.groups)
        raise ExpressionError(f"{name}{_where(node)} takes {name}({shape})")
    built = [[_build(element, leaves, used) for element in group] for group in groups]
    if any(len(group) != len(built[0]) for group in built) or not built[0]:
        raise ExpressionError(
            f"{name}{_where(node)}: its lists must be equally long and not empty, got "
            + " and ".join(str(len(group)) for group in built)
        )
    applied: Value | float = apply_family(family, tuple(built))
    return applied


_DESCRIPTIONS = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.IfExp: "if/else",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment (:=)", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Starred: "*unpacking", ast.Slice: "a slice",
}


def _describe(node: ast.AST) -> str:
    return _DESCRIPTIONS.get(type(node), type(node).__name__)
