"""The primitive operations: each one defined once, and read by every consumer.

A :class:`Primitive` holds everything chainrule knows about an operation:

* its ``name`` and the names of its inputs (``x``, or ``x`` and ``y``, with defaults);
* how a person writes it (``notation``: ``"{x} * {y}"``);
* its forward computation, as a Python expression on floats (``forward_code``: ``"x * y"``);
* one local derivative per input, as a Python expression in the inputs and ``out``, the
  operation's result (``derivative_code``: ``"1.0 - out * out"`` for tanh);
* the same derivatives as a person writes them (``formulas``: ``"1 - tanh(x)^2"``);
* the name under which it is a function of ``chainrule.engine`` and a method of ``Value``.

Operations of any number of inputs (the weighted sum ``dot`` and the n-ary ``sum``) are a
:class:`Family`: one record that says what each term is and what each input's derivative is,
expanded at each arity into an ordinary :class:`Primitive` (``dot`` of three pairs has the
inputs ``w1 w2 w3 x1 x2 x3``, the forward code ``w1 * x1 + w2 * x2 + w3 * x3`` and the local
derivative ``x2`` for ``w2``). A recorded node holds its expansion, so every consumer reads an
n-ary node exactly as it reads a binary one.

Every consumer reads these texts: eager backward and the walkthrough evaluate the derivative
code compiled on floats, gradients of gradients evaluate the same code on Values, the compiler
pastes it into the programs it generates, and labels and the README table print the formulas.
Adding an operation means adding one entry to :data:`PRIMITIVES` (and its test domain).

Derivative code may use arithmetic, comparisons, conditional expressions and the functions
named in :data:`FUNCTIONS`; nothing else, so that it means the same on floats and on Values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from operator import add, mul
from typing import Any

from .errors import DivisionByZeroError, DomainError, NumericOverflowError

_FUNCTION_CALL = re.compile(r"^\w+\(.*\)$")


class OutOfDomain(Exception):
    """Raised by a forward function with the reason its input is invalid; never escapes."""


#: What a forward function may raise; each is translated into a chainrule error.
FORWARD_ERRORS = (OutOfDomain, ArithmeticError, ValueError)


#: Why a function refuses an input, by function: written once here, read by the float
#: functions below and, as data, by the JavaScript runtime of compiled pages.
DOMAIN_REASONS: Mapping[str, str] = {
    "power": "a negative base needs an integer exponent (the result would be complex)",
    "log": "log needs x > 0",
    "log1p": "log1p needs x > -1",
    "sqrt": "sqrt needs x >= 0",
}

#: How a forward error is said, by the error's class: ``{op}`` is the operation's name,
#: ``{expression}`` the operation written with its operands' reprs, ``{reason}`` a domain
#: reason. The JavaScript runtime reads them too, so a page says exactly what Python raises.
FORWARD_MESSAGES: Mapping[str, str] = {
    "DomainError": "{op}: {expression} is undefined: {reason}",
    "DivisionByZeroError": "{op}: {expression} divides by zero",
    "NumericOverflowError": ("{op}: {expression} overflows: the result is too large for a float "
                             "(the largest is about 1.8e308)"),
}


# -- the float functions that forward and derivative code may call -----------------------------


def _power(base: float, exponent: float) -> float:
    # Python's float ** silently returns a complex number for a negative base and a
    # fractional exponent; chainrule only deals in real numbers.
    if base < 0.0 and not exponent.is_integer():
        raise OutOfDomain(DOMAIN_REASONS["power"])
    result: float = base**exponent  # float ** float is typed Any: it may be complex
    return result


def _log(x: float) -> float:
    if x <= 0.0:
        raise OutOfDomain(DOMAIN_REASONS["log"])
    return math.log(x)


def _log1p(x: float) -> float:
    if x <= -1.0:
        raise OutOfDomain(DOMAIN_REASONS["log1p"])
    return math.log1p(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise OutOfDomain(DOMAIN_REASONS["sqrt"])
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never sees a large positive argument (PyTorch's stable form).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _log_sigmoid(x: float) -> float:
    return min(x, 0.0) - math.log1p(math.exp(-abs(x)))


#: The functions forward and derivative code may call, on floats. Evaluated on Values, the
#: same names mean the recorded operations of the same name (see ``value.py``).
FUNCTIONS: Mapping[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": _log,
    "log1p": _log1p,
    "sqrt": _sqrt,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "log_sigmoid": _log_sigmoid,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "fabs": math.fabs,
    "power": _power,
}


def compile_expression(code: str, parameters: tuple[str, ...], namespace: Mapping[str, Any],
                       name: str) -> Callable[..., Any]:
    """``code`` as a function of ``parameters``, with ``namespace`` as its globals."""
    source = f"lambda {', '.join(parameters)}: {code}"
    function: Callable[..., Any] = eval(compile(source, f"<primitive {name}>", "eval"), dict(namespace))
    return function


@dataclass(frozen=True, eq=False)
class Primitive:
    """One differentiable operation (see the module docstring for the fields)."""

    name: str
    notation: str
    forward_code: str
    derivative_code: tuple[str, ...]
    formulas: tuple[str, ...]
    #: The inputs' names, used in the notation, the code and the formulas.
    input_names: tuple[str, ...] = ("x",)
    #: Default values of trailing inputs (``leaky_relu``'s slope), by name.
    defaults: Mapping[str, float] = field(default_factory=dict)
    #: The name of the function in ``chainrule.engine`` and of the method of ``Value``; None
    #: for operations written with an operator (``+``, ``*``...).
    function: str | None = None
    #: A line of documentation for the function and the method.
    doc: str = ""
    #: The :class:`Family` this primitive is an expansion of (``dot``, ``sum``), else None.
    family: Family | None = None
    #: Per input, a condition under which the local derivative is 0 although its formula,
    #: filled in, would be undefined (``pow``: ``x^0`` is the constant 1, so d/dx is 0 where
    #: y = 0; ``0^y`` is 0 along y, so d/dy is 0 where x = 0), or None. The code handles
    #: these cases; the walkthrough says which one applies instead of printing ``0 * 0^(-1)``.
    special_cases: tuple[str | None, ...] | None = None
    #: An activation function of neural networks (relu, tanh...): pictures and the walkthrough
    #: name an unlabeled one after it (``layer0.neuron1.tanh``); ``chainrule.nn`` applies them.
    activation: bool = False

    # Derived from the code above at import, never typed.
    #: The forward function on floats.
    forward: Callable[..., float] = field(init=False, repr=False)
    #: The local derivatives on floats, each called as ``derivative(*inputs, out)``.
    derivatives: tuple[Callable[..., float], ...] = field(init=False, repr=False)
    #: Every local derivative is a fixed number (``add``: (1.0, 1.0), ``sub``: (1.0, -1.0)).
    constant_derivatives: tuple[float, ...] | None = field(init=False, repr=False)
    #: The derivative with respect to each of two inputs is the other input (``mul``).
    swaps_inputs: bool = field(init=False, repr=False)
    #: Where each local derivative is one of the inputs, that input's position (``mul``: (1,
    #: 0); ``dot`` of n pairs: each weight's partner is its input, and each input's its weight).
    partners: tuple[int, ...] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not len(self.derivative_code) == len(self.formulas) == len(self.input_names):
            raise ValueError(f"primitive {self.name}: one derivative and formula per input")
        numbers = [_number_or_none(code) for code in self.derivative_code]
        slots = {name: slot for slot, name in enumerate(self.input_names)}
        partners = [slots.get(code) for code in self.derivative_code]
        derived = {
            # A family's forward code is a left fold of any length, which Python's compiler
            # would have to nest as deep as it is long: its fold function computes the same.
            # Its local derivatives are inputs or numbers (see Family), so they are picked
            # rather than compiled: n functions of 2n + 1 arguments each would cost O(n^2).
            "forward": self.family.fold if self.family is not None else compile_expression(
                self.forward_code, self.input_names, FUNCTIONS, self.name),
            "derivatives": tuple(
                compile_expression(code, (*self.input_names, "out"), FUNCTIONS, self.name)
                for code in self.derivative_code
            ) if self.family is None else tuple(
                _picker(partner) if partner is not None else _constant(number)
                for partner, number in zip(partners, numbers, strict=True)
            ),
            "constant_derivatives": (
                tuple(numbers) if numbers and None not in numbers else None
            ),
            "swaps_inputs": self.arity == 2
            and self.derivative_code == tuple(reversed(self.input_names)),
            "partners": tuple(partners) if partners and None not in partners else None,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    @property
    def arity(self) -> int:
        """How many inputs the operation takes (1 or 2; an expanded :class:`Family`, any)."""
        return len(self.input_names)

    def write(self, *operands: object) -> str:
        """This operation applied to ``operands``, as text: ``MUL.write("a", "b") == "a * b"``."""
        return self.notation.format(**dict(zip(self.input_names, map(str, operands), strict=True)))

    def derivative_formula(self, index: int) -> str:
        """The human formula of one local derivative: ``d/dx tanh(x) = 1 - tanh(x)^2``, and
        with an operator parenthesized, ``d/dy (x * y) = x``."""
        written = self.write(*self.input_names)
        if not _FUNCTION_CALL.match(written):
            written = f"({written})"
        return f"d/d{self.input_names[index]} {written} = {self.formulas[index]}"

    def evaluate(self, *operands: float) -> float:
        """The forward function on floats, with chainrule's errors and the finiteness check."""
        try:
            result = self.forward(*operands)
        except FORWARD_ERRORS as error:
            raise self.forward_error(error, operands) from None
        if result - result:  # inf - inf and nan - nan are nan (truthy); finite x - x is 0.0
            raise self.forward_error(OverflowError(), operands)
        return result

    def forward_error(self, error: Exception, operands: tuple[float, ...]) -> Exception:
        """Translate what a forward function raised into a message naming the operation."""
        expression = self.write(*map(repr, operands))
        for kind, caught in ((DomainError, OutOfDomain), (DivisionByZeroError, ZeroDivisionError),
                             (NumericOverflowError, OverflowError)):
            if isinstance(error, caught):
                return kind(FORWARD_MESSAGES[kind.__name__].format(
                    op=self.name, expression=expression, reason=error))
        return DomainError(f"{self.name}: {expression} is undefined ({error})")

    def __call__(self, *operands: Any) -> Any:
        """Apply to floats (giving a float) or to Values (giving a recorded Value)."""
        return APPLY[0](self, operands)

    def __repr__(self) -> str:
        return f"<primitive {self.name}: {self.write(*self.input_names)}>"


#: How a primitive is applied to operands; ``value.py``, which defines Values, puts its
#: ``apply`` here when it loads (this module knows nothing of Values).
APPLY: list[Callable[[Primitive, tuple[Any, ...]], Any]] = []
#: Likewise, how a :class:`Family` is applied to its groups of operands.
APPLY_FAMILY: list[Callable[[Family, tuple[Any, ...]], Any]] = []


def _picker(slot: int) -> Callable[..., Any]:
    """A local derivative that is one of the operands: ``d/dw2 (w1*x1 + w2*x2) = x2``."""
    def pick(*operands: Any) -> Any:
        return operands[slot]
    return pick


def _constant(number: float | None) -> Callable[..., Any]:
    if number is None:
        raise ValueError("a family's local derivatives must be inputs of the same term or numbers")

    def constant(*operands: Any) -> float:
        return number
    return constant


def _number_or_none(code: str) -> float | None:
    """The number a piece of code states (``"-1.0"`` -> -1.0), or None if it computes."""
    try:
        number = float(code)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


X, XY = ("x",), ("x", "y")

ADD = Primitive("add", "{x} + {y}", "x + y", ("1.0", "1.0"), ("1", "1"), XY)
SUB = Primitive("sub", "{x} - {y}", "x - y", ("1.0", "-1.0"), ("1", "-1"), XY)
MUL = Primitive("mul", "{x} * {y}", "x * y", ("y", "x"), ("y", "x"), XY)
# -(x / y) / y rather than -x / y^2: y * y underflows or overflows where the slope is finite.
DIV = Primitive("div", "{x} / {y}", "x / y", ("1.0 / y", "-(x / y) / y"),
                ("1 / y", "-x / y^2"), XY)
# x ** 0 is the constant 1, so its slope is 0 even at x = 0 (where y * x^(y - 1) divides by
# zero); at x = 0 with y > 0, x ** y is identically 0 along y, so d/dy is 0 there too.
POW = Primitive("pow", "{x} ** {y}", "power(x, y)",
                ("y * x ** (y - 1.0) if x or y else 0.0", "out * log(x) if x else 0.0"),
                ("y * x^(y - 1)", "x^y * log(x)"), XY, function="power",
                special_cases=("y = 0", "x = 0"),
                doc="x to the power y; a negative x needs an integer y.")
NEG = Primitive("neg", "-{x}", "-x", ("-1.0",), ("-1",))
EXP = Primitive("exp", "exp({x})", "exp(x)", ("out",), ("exp(x)",), function="exp",
                doc="e to the power x.")
LOG = Primitive("log", "log({x})", "log(x)", ("1.0 / x",), ("1 / x",), function="log",
                doc="The natural logarithm; x must be > 0.")
LOG1P = Primitive("log1p", "log1p({x})", "log1p(x)", ("1.0 / (1.0 + x)",), ("1 / (1 + x)",),
                  function="log1p", doc="log(1 + x), accurate for small x; x must be > -1.")
SQRT = Primitive("sqrt", "sqrt({x})", "sqrt(x)", ("0.5 / out",), ("1 / (2 sqrt(x))",),
                 function="sqrt", doc="The square root; x must be >= 0 (its slope at 0 is infinite).")
TANH = Primitive("tanh", "tanh({x})", "tanh(x)", ("1.0 - out * out",), ("1 - tanh(x)^2",),
                 function="tanh", activation=True, doc="The hyperbolic tangent.")
SIGMOID = Primitive("sigmoid", "sigmoid({x})", "sigmoid(x)", ("out * (1.0 - out)",),
                    ("sigmoid(x) * (1 - sigmoid(x))",), function="sigmoid", activation=True,
                    doc="The logistic function 1 / (1 + exp(-x)), computed without overflow.")
SOFTPLUS = Primitive("softplus", "softplus({x})", "softplus(x)", ("sigmoid(x)",),
                     ("sigmoid(x)",), function="softplus", activation=True,
                     doc="log(1 + exp(x)), computed without overflow.")
LOG_SIGMOID = Primitive("log_sigmoid", "log_sigmoid({x})", "log_sigmoid(x)", ("sigmoid(-x)",),
                        ("sigmoid(-x)",), function="log_sigmoid",
                        doc="log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), without overflow.")
RELU = Primitive("relu", "relu({x})", "x if x > 0.0 else 0.0", ("1.0 if x > 0.0 else 0.0",),
                 ("1 if x > 0 else 0",), function="relu", activation=True,
                 doc="max(x, 0); its slope at 0 is 0, as in PyTorch.")
LEAKY_RELU = Primitive("leaky_relu", "leaky_relu({x}, {slope})", "x if x > 0.0 else slope * x",
                       ("1.0 if x > 0.0 else slope", "0.0 if x > 0.0 else x"),
                       ("1 if x > 0 else slope", "0 if x > 0 else x"), ("x", "slope"),
                       defaults={"slope": 0.01}, function="leaky_relu", activation=True,
                       doc="x for x > 0, slope * x otherwise (slope 0.01 by default, as in "
                           "PyTorch; its slope at 0 is `slope`).")
ABS = Primitive("abs", "abs({x})", "fabs(x)", ("1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0",),
                ("1 if x > 0 else -1 if x < 0 else 0",), function="abs",
                doc="The absolute value; its slope at 0 is 0, as in PyTorch.")
SIN = Primitive("sin", "sin({x})", "sin(x)", ("cos(x)",), ("cos(x)",), function="sin",
                doc="The sine (radians).")
COS = Primitive("cos", "cos({x})", "cos(x)", ("-sin(x)",), ("-sin(x)",), function="cos",
                doc="The cosine (radians).")
TAN = Primitive("tan", "tan({x})", "tan(x)", ("1.0 + out * out",), ("1 + tan(x)^2",),
                function="tan", doc="The tangent (radians).")
# PyTorch's torch.maximum: at a tie each input gets half of the gradient.
MAXIMUM = Primitive("maximum", "max({x}, {y})", "x if x >= y else y",
                    # < and > compare numbers (== on Values is identity).
                    ("1.0 if x > y else 0.0 if x < y else 0.5",
                     "1.0 if y > x else 0.0 if y < x else 0.5"),
                    ("1 if x > y else 0 if x < y else 1/2", "1 if y > x else 0 if y < x else 1/2"),
                    XY, function="maximum",
                    doc="The larger of x and y, recorded (Python's max picks a node by its data); "
                        "at a tie each gets half of the gradient, as in torch.maximum.")

#: Every primitive by name: the vocabulary of the engine, the explainer, the CLI and the compiler.
PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, LOG1P, SQRT, TANH, SIGMOID, SOFTPLUS,
              LOG_SIGMOID, RELU, LEAKY_RELU, ABS, SIN, COS, TAN, MAXIMUM)
}


# -- operations of any number of inputs ------------------------------------------------------------


def _dot_fold(*operands: float) -> float:
    # w1*x1 + w2*x2 + ... folded left, one product and one addition at a time: the same float
    # operations in the same order as the chain of binary nodes (builtin sum() is compensated
    # from Python 3.12 on, so it would not be), in C loops.
    n = len(operands) // 2
    total: float = reduce(add, map(mul, operands[:n], operands[n:]))
    return total


def _sum_fold(*operands: float) -> float:
    total: float = reduce(add, operands)
    return total


@dataclass(frozen=True, eq=False)
class Family:
    """An operation of any number of inputs, written as a sum of terms, one per index i.

    Its inputs come in ``groups`` of n each (``dot``: the weights ``w1..wn``, then the inputs
    ``x1..xn``); ``term`` is the i-th term in the groups' names, and ``derivative_code`` and
    ``formulas`` give, per group, the local derivative of its i-th input (``dot``: ``{x}`` for
    the weight, ``{w}`` for the input). :meth:`at` expands it into the :class:`Primitive` of n
    terms that a recorded node holds.
    """

    name: str
    groups: tuple[str, ...]
    term: str
    derivative_code: tuple[str, ...]
    formulas: tuple[str, ...]
    #: Computes the sum of terms on floats, operands in input order (group by group).
    fold: Callable[..., float]
    function: str
    #: The function's parameters, one sequence per group (``dot(weights, inputs)``).
    parameters: tuple[str, ...]
    doc: str
    _expansions: dict[int, Primitive] = field(default_factory=dict, init=False, repr=False)

    def at(self, n: int) -> Primitive:
        """The primitive of ``n`` terms (n >= 1), made once per n."""
        primitive = self._expansions.get(n)
        if primitive is None:
            if n < 1:
                raise ValueError(f"{self.name} needs at least one term, got {n}")
            indices = range(1, n + 1)

            def per_term(template: str, name_of: Callable[[str, int], str]) -> list[str]:
                return [template.format(**{g: name_of(g, i) for g in self.groups})
                        for i in indices]

            def per_input(templates: tuple[str, ...]) -> tuple[str, ...]:
                return tuple(text for template in templates
                             for text in per_term(template, lambda g, i: f"{g}{i}"))

            primitive = Primitive(
                self.name,
                " + ".join(per_term(self.term, lambda g, i: f"{{{g}{i}}}")),
                " + ".join(per_term(self.term, lambda g, i: f"{g}{i}")),
                per_input(self.derivative_code), per_input(self.formulas),
                tuple(f"{g}{i}" for g in self.groups for i in indices),
                doc=self.doc, family=self,
            )
            self._expansions[n] = primitive
        return primitive

    def apply(self, *groups: Any) -> Any:
        """Apply to the groups of operands (``DOT.apply(weights, inputs)``): numbers give a
        float, Values a recorded node."""
        return APPLY_FAMILY[0](self, groups)

    def general_formulas(self) -> tuple[str, ...]:
        """Each group's local derivative with the index written ``i``: ``("x_i", "w_i")``."""
        return tuple(formula.format(**{g: f"{g}_i" for g in self.groups})
                     for formula in self.formulas)

    def __repr__(self) -> str:
        return f"<family {self.name}>"


DOT = Family("dot", ("w", "x"), "{w} * {x}", ("{x}", "{w}"), ("{x}", "{w}"), _dot_fold,
             function="dot", parameters=("weights", "inputs"),
             doc="The weighted sum w1*x1 + w2*x2 + ... of two equally long sequences, as one "
                 "node (the same floats as the chain of products and sums).")
SUM = Family("sum", ("a",), "{a}", ("1.0",), ("1",), _sum_fold, function="add_n",
             parameters=("terms",), doc="The sum a1 + a2 + ... of a sequence, as one node (the same floats as the "
                 "chain of additions).")

#: The operations of any number of inputs, by name.
FAMILIES: dict[str, Family] = {f.name: f for f in (DOT, SUM)}
