"""How each function of the primitive table is written in each language a program is emitted in.

The primitive table (:mod:`~chainrule.engine.primitives`) says what an operation computes as
code on floats (``"tanh(x)"``, ``"1.0 - out * out"``), calling the functions of
:data:`~chainrule.engine.primitives.FUNCTIONS`. This table, kept beside it, says how each of
those functions is written by each emitter: as itself in Python on floats (the very function
eager calls, so the same float and the same error), as an elementwise numpy expression over
a batch, and in JavaScript for pages that recompute a graph (:mod:`.emit_javascript`). Adding a function to the table means
adding its record here; an emitter that meets a function without a rendering for it raises
:class:`MissingRendering` while it writes the program, never later while it runs.

:func:`render` writes one code text of the table for one emitter: the operands put in for the
input names, what is fixed once they are known folded, the functions renamed, and the
emitter's own syntax applied (numpy has no ``a if c else b`` over arrays).
"""

from __future__ import annotations

import ast
import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import ChainruleError
from ..primitives import FUNCTIONS


class MissingRendering(ChainruleError, LookupError):
    """An emitter has no way to write a function of the primitive table."""


@dataclass(frozen=True)
class Rendering:
    """One function of the table in each emitter's language (None: not written yet)."""

    python: str | None
    numpy: str | None
    javascript: str | None = None


#: Every function of :data:`~chainrule.engine.primitives.FUNCTIONS`, per emitter. numpy's
#: ``np_sigmoid``, ``np_softplus`` and ``np_log_sigmoid`` are the float functions' stable
#: forms over arrays (see :mod:`.emit_numpy`); JavaScript's names are the functions of the
#: runtime (``runtime.js``), each computing and refusing what its float function does.
RENDERINGS: Mapping[str, Rendering] = {
    "exp": Rendering("exp", "np.exp", "exp"),
    "log": Rendering("log", "np.log", "log"),
    "log1p": Rendering("log1p", "np.log1p", "log1p"),
    "sqrt": Rendering("sqrt", "np.sqrt", "sqrt"),
    "tanh": Rendering("tanh", "np.tanh", "tanh"),
    "sigmoid": Rendering("sigmoid", "np_sigmoid", "sigmoid"),
    "softplus": Rendering("softplus", "np_softplus", "softplus"),
    "log_sigmoid": Rendering("log_sigmoid", "np_log_sigmoid", "logSigmoid"),
    "sin": Rendering("sin", "np.sin", "sin"),
    "cos": Rendering("cos", "np.cos", "cos"),
    "tan": Rendering("tan", "np.tan", "tan"),
    "fabs": Rendering("fabs", "np.fabs", "fabs"),
    "power": Rendering("power", "np.power", "power"),
}


@dataclass(frozen=True)
class Dialect:
    """An emitter's language: which rendering it reads, and the syntax it writes differently
    (a transformer applied to the expression once functions are renamed)."""

    name: str  # "python", "numpy" or "javascript": the field of Rendering
    rewrite: Callable[[], ast.NodeTransformer] | None = None
    #: How the finished expression is written as text (None: as Python, ``ast.unparse``).
    unparse: Callable[[ast.AST], str] | None = None


def function_name(function: str, dialect: Dialect) -> str:
    """How ``dialect`` writes the table's ``function``; :class:`MissingRendering` if it cannot."""
    record = RENDERINGS.get(function)
    written: str | None = getattr(record, dialect.name, None) if record is not None else None
    if written is None:
        known = "" if function in FUNCTIONS else " (it is not a function of the primitive table)"
        raise MissingRendering(
            f"the {dialect.name} emitter has no rendering of {function!r}{known}: add it to "
            "chainrule.engine.compile.renderings.RENDERINGS"
        )
    return written


def render(code: str, operands: Mapping[str, str], dialect: Dialect) -> str:
    """``code`` from the primitive table with ``operands`` (program text) put in for its
    names, in ``dialect``.

    >>> render("y * x ** (y - 1.0) if x or y else 0.0", {"x": "v1", "y": "2.0"}, PYTHON)
    '2.0 * v1 ** 1.0'
    """
    tree = _Substitute(operands).visit(_parsed(code))
    tree = _Folder().visit(tree)
    tree = _Rename(dialect).visit(tree)
    if dialect.rewrite is not None:
        tree = dialect.rewrite().visit(tree)
    return (dialect.unparse or ast.unparse)(ast.fix_missing_locations(tree))


#: Python on floats: the table's code as it is, its functions the float functions themselves.
PYTHON = Dialect("python")


@functools.lru_cache(maxsize=4096)
def _parsed_text(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def _parsed(code: str) -> ast.expr:
    return copy.deepcopy(_parsed_text(code))


class _Substitute(ast.NodeTransformer):
    """Each name of the code replaced by its operand's text, parsed only where it occurs: a
    dot of n pairs has 2n operands, and each of its local derivatives names one of them."""

    def __init__(self, operands: Mapping[str, str]) -> None:
        self.operands = operands

    def visit_Name(self, node: ast.Name) -> ast.AST:
        replacement = self.operands.get(node.id)
        return _parsed(replacement) if replacement is not None else node


class _Rename(ast.NodeTransformer):
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name):
            raise MissingRendering(f"{self.dialect.name} emitter: cannot write {ast.unparse(node)}")
        node.func = _parsed(function_name(node.func.id, self.dialect))
        return node


_FOLDABLE: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
}


class _Folder(ast.NodeTransformer):
    """Folds what is fixed once the operands are known: arithmetic on two numbers (the same
    float operation the program would do at run time, so the same result) and a conditional
    whose test is decided by numbers alone (``y * x ** (y - 1.0) if x or y else 0.0`` with
    y = 2)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        operation = _FOLDABLE.get(type(node.op))
        left, right = _number(node.left), _number(node.right)
        if operation is None or left is None or right is None:
            return node
        return _constant(operation(left, right))

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        decided = _truth(node.test)
        if decided is None:
            return node
        return node.body if decided else node.orelse


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is float):
        return -node.operand.value
    return None


def _constant(number: float) -> ast.expr:
    if number < 0 or (number == 0 and str(number).startswith("-")):
        return ast.UnaryOp(ast.USub(), ast.Constant(-number))
    return ast.Constant(number)


def _truth(test: ast.AST) -> bool | None:
    """The truth of a test made of numbers (and ``or``/``and`` over them), where it is fixed."""
    number = _number(test)
    if number is not None:
        return bool(number)
    if isinstance(test, ast.BoolOp):
        parts = [_truth(value) for value in test.values]
        if isinstance(test.op, ast.Or):
            return True if True in parts else (False if all(p is False for p in parts) else None)
        return False if False in parts else (True if all(p is True for p in parts) else None)
    return None


def literal(number: float) -> str:
    """A float as program text (``repr`` round-trips every float exactly)."""
    text = repr(float(number))
    return f"({text})" if text.startswith("-") else text


def is_atom(text: str) -> bool:
    """Whether ``text`` needs no parentheses as an operand of ``*``: a name, a number or a
    call."""
    expression = ast.parse(text, mode="eval").body
    return isinstance(expression, (ast.Name, ast.Constant, ast.Call, ast.Attribute))


def comment(text: str) -> str:
    """User text (a label) made safe inside a ``#`` comment: anything unprintable, a newline
    above all, escaped, so no label can end the comment and write code."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
