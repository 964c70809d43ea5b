"""One vocabulary for every picture and explanation of a graph: what a node is called, what role
it plays, how its numbers and a user's text are written, how an operation's formulas read in its
own names, and what a scope's name says.

The graph drawing (:func:`~chainrule.engine.draw`), the text tree
(:func:`~chainrule.engine.render_text`), the walkthrough and the command line all call these
functions, so a node that the walkthrough calls ``n2`` is ``n2`` in the picture too. Names are
computed and passed around; they are never written onto the user's Values.

Scopes are read by one convention, whoever makes them: a scope named with a word and a number
(``layer0``, ``neuron1``, ``block2``) is the number-th of its kind (see :func:`scope_stage` and
:func:`named_by`). nn names its layers and neurons so; the engine knows no model's names.

Formulas come from the primitive table, once: :func:`operation_text` and :func:`local_formula`
substitute the operands' names (or numbers) for the placeholders ``x`` and ``y`` of
``Primitive.notation`` and ``Primitive.formulas``, so ``d/dx (x * y) = y`` is read as
``d/dq (q * z) = z`` where ``q * z`` is computed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Literal

from .primitives import PRIMITIVES

if TYPE_CHECKING:
    from .primitives import Primitive
    from .value import Value

Role = Literal["input", "parameter", "constant", "operation", "output"]

#: Operations whose unlabeled result is named after the operation in a scope
#: (``layer0.neuron1.tanh``): the activation functions of the primitive table.
ACTIVATIONS = frozenset(name for name, p in PRIMITIVES.items() if p.activation)

# The default parameters of a hand-built graph: w, w1, w_out, weight2, b, b0, bias...
_PARAMETER_NAME = re.compile(r"(w|b|weight|bias)(\d|_|$)")
_SIMPLE_NAME = re.compile(r"[\w.#']+")
_NUMBER = re.compile(r"-?\d+(\.\d*)?(e[-+]?\d+)?")
_FUNCTION_CALL = re.compile(r"^\w+\(.*\)$")
_OUTPUT = "\0"  # stands for the operation's own result while a formula is being filled in
_NUMBERED_SCOPE = re.compile(r"([^\W\d]+)(\d+)")


def format_number(x: float, digits: int = 6) -> str:
    """A float as a person writes it: ``2``, ``-4``, ``0.5``, ``0.731059``, ``1e-07``.

    Whole numbers lose their ``.0``; short floats keep Python's exact repr; long ones are
    rounded to ``digits`` significant digits. The exact floats stay in the data.
    """
    x = float(x) + 0.0  # -0.0 reads like a mistake: a zero is 0
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    exact = repr(x)
    if len(exact) <= digits + 4:
        return exact
    return f"{x:.{digits}g}"


def operand_text(text: str) -> str:
    """``text`` ready to stand as an operand: a negative number or a compound name in
    parentheses (``0 + (-0.317)``, ``-(-0.646)``, ``(-0.741) ** 2``)."""
    if text.startswith("-") or not _SIMPLE_NAME.fullmatch(text):
        return f"({text})"
    return text


def layer_of(scope: Sequence[str]) -> int | None:
    """The layer of a network a scope is in: its stage (see :func:`scope_stage`), so
    ``("layer1", "neuron0")`` is in layer 1, and so is any scope numbered like it."""
    return scope_stage(scope)


def layer_ranks(order: Sequence[Value]) -> list[int] | None:
    """Each node's nn layer (a node outside any layer: the highest layer among its inputs, -1
    for none), or None when no node of ``order`` (a topological order) is in an nn layer."""
    position = {node: index for index, node in enumerate(order)}
    ranks = [-1] * len(order)
    any_layer = False
    for index, node in enumerate(order):
        layer = layer_of(node.scope)
        if layer is not None:
            ranks[index] = layer
            any_layer = True
        elif not node.is_leaf:
            ranks[index] = max((ranks[position[u]] for u in node.inputs), default=-1)
    return ranks if any_layer else None


def layer_order(order: Sequence[Value]) -> list[int]:
    """The positions of ``order`` layer by layer through an nn network (unchanged otherwise):
    a stable sort by layer keeps every node after its inputs, whose layer is never higher, so
    it is an evaluation order too; the root stays last."""
    return layer_order_of(layer_ranks(order), len(order))


def layer_order_of(ranks: Sequence[int] | None, size: int) -> list[int]:
    """:func:`layer_order` from the graph's :func:`layer_ranks` (already computed)."""
    if ranks is None:
        return list(range(size))
    last = size - 1
    return [*sorted(range(last), key=lambda i: ranks[i]), last]


def is_parameter_name(name: str | None) -> bool:
    """Whether a hand-built graph's leaf counts as a parameter by its name: ``w``, ``w1``,
    ``w_2``, ``b``, ``b0``, ``weight``, ``bias3`` (a w or b, then digits, ``_`` or nothing)."""
    return bool(name) and _PARAMETER_NAME.match(name) is not None  # type: ignore[arg-type]


def node_names(
    order: Sequence[Value], digits: int = 6, suggested: Mapping[Value, str] | None = None,
    evaluation: Sequence[int] | None = None,
) -> list[str]:
    """A distinct, readable name for each node of ``order`` (a topological order, root last).

    - a label is used as is when it is unique; repeated labels (every nn neuron has a ``w0``)
      are qualified with the node's scope (``layer0.neuron1.w0``);
    - a constant is its number (``2``);
    - an unlabeled output is ``f`` (as in df/dx);
    - an unlabeled activation created in an nn scope is named after it
      (``layer0.neuron1.tanh``);
    - every other unlabeled node gets the next of ``n1, n2, n3...`` in order of appearance.

    ``suggested`` names unlabeled nodes where no label already takes the name (the walkthrough
    calls the prediction under a loss ``y``); ``evaluation`` is :func:`layer_order` of
    ``order`` when the caller has it already.
    """
    suggested = suggested or {}
    labels = {node.label for node in order if node.label}
    base: list[str | None] = []
    for node in order:
        if node.is_constant:
            named = suggested.get(node)  # a sample's input fed to a network as a number: x1
            base.append(named if named and named not in labels
                        else format_number(node.data, digits))
        elif node.label:
            base.append(node.label)
        elif node in suggested and suggested[node] not in labels:
            base.append(suggested[node])
        elif node.scope and node.op in ACTIVATIONS:
            base.append(".".join((*node.scope, str(node.op))))
        else:
            base.append(None)
    last = len(order) - 1
    if order and base[last] is None and "f" not in base:
        base[last] = "f"
    counts: dict[str, int] = {}
    for node, name in zip(order, base, strict=True):
        if name is not None and not node.is_constant:
            counts[name] = counts.get(name, 0) + 1
    names: list[str | None] = [
        ".".join((*node.scope, name))
        if name is not None and not node.is_constant and counts[name] > 1 and node.scope
        else name
        for node, name in zip(order, base, strict=True)
    ]
    taken = {name for name in names if name is not None}
    counter = 0
    seen: dict[str, int] = {}
    result = [""] * len(order)
    # Numbered in order of appearance, layer by layer through an nn network (as the
    # walkthrough shows its forward pass).
    for index in layer_order(order) if evaluation is None else evaluation:
        node, name = order[index], names[index]
        if name is None:
            counter += 1
            while f"n{counter}" in taken:
                counter += 1
            name = f"n{counter}"
            taken.add(name)
        elif not node.is_constant:
            repeats = seen[name] = seen.get(name, 0) + 1
            if repeats > 1:  # still ambiguous: the same label twice in the same scope
                name = f"{name}#{repeats}"
        result[index] = name
    return result


def node_roles(
    order: Sequence[Value],
    parameters: Collection[Value] | None = None,
    names: Sequence[str] | None = None,
) -> list[Role]:
    """The role of each node of ``order`` (root last): ``output`` (the root), ``constant`` (a
    number operand), ``parameter`` (a leaf to train), ``input`` (any other leaf) or
    ``operation``.

    A leaf is a parameter when it was created inside an nn scope (nn's weights and biases),
    when it is in ``parameters``, or, when ``parameters`` is not given, when its name says so
    (:func:`is_parameter_name`: ``w1``, ``b``).
    """
    names = node_names(order) if names is None else names
    chosen = set(parameters) if parameters is not None else set()
    roles: list[Role] = []
    last = len(order) - 1
    for index, (node, name) in enumerate(zip(order, names, strict=True)):
        if index == last:
            roles.append("output")
        elif node.is_constant:
            roles.append("constant")
        elif not node.is_leaf:
            roles.append("operation")
        elif node.scope or node in chosen or (parameters is None and is_parameter_name(name)):
            roles.append("parameter")
        else:
            roles.append("input")
    return roles


@cache
def _placeholders(names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """The pattern that finds a primitive's input names in its formulas, and each name's
    position (once per primitive: an n-ary dot has hundreds of names)."""
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    return pattern, {name: k for k, name in enumerate(names)}


def _fill(template: str, operands: Sequence[str], names: tuple[str, ...],
          wrap: bool = False) -> str:
    """``template`` with the primitive's input ``names`` (x, y, slope...) replaced, all at
    once, by ``operands`` (each as an operand, see :func:`operand_text`, with ``wrap``). Only
    the operands the template names are read: the time is the template's, not the operands'."""
    pattern, position = _placeholders(names)

    def operand(match: re.Match[str]) -> str:
        text = operands[position[match.group(0)]]
        return operand_text(text) if wrap else text

    return pattern.sub(operand, template)


def operation_text(primitive: Primitive, operands: Sequence[str]) -> str:
    """The operation written with its operands' names or numbers: ``q * z``, ``0 + (-0.317)``,
    ``-(-0.646)``, ``tanh(-0.5)`` (a function's argument needs no parentheses)."""
    if _FUNCTION_CALL.match(primitive.notation):
        return primitive.write(*operands)
    wrapped = [operand_text(text) for text in operands]
    if primitive.notation.startswith("{x} ") and primitive.name != "pow" and _NUMBER.fullmatch(
        operands[0]
    ):
        wrapped[0] = operands[0]  # "-2 + 5": a leading minus sign is read correctly
    return primitive.write(*wrapped)


def local_formula(primitive: Primitive, slot: int, operands: Sequence[str]) -> str:
    """The local derivative of input ``slot``, in the operands' own names:
    ``d/dq (q * z) = z``, ``d/dz sigmoid(z) = sigmoid(z) * (1 - sigmoid(z))``."""
    return local_formulas(primitive, [slot], operands)[0]


def local_formulas(primitive: Primitive, slots: Sequence[int], operands: Sequence[str]
                   ) -> list[str]:
    """:func:`local_formula` of each of ``slots``, the operation written once (an n-ary dot's
    is long: once per input would take time quadratic in its inputs)."""
    written = operation_text(primitive, operands)
    if not _FUNCTION_CALL.match(written):
        written = f"({written})"
    return [f"d/d{operands[slot]} {written} = "
            + _fill(primitive.formulas[slot], operands, primitive.input_names, wrap=True)
            for slot in slots]


@cache
def _itself(primitive: Primitive) -> re.Pattern[str]:
    """A call of the function ``primitive`` writes, on its own inputs (``sigmoid(x)``)."""
    return re.compile(rf"(?<![\w.]){re.escape(primitive.write(*primitive.input_names))}")


def local_numbers(
    primitive: Primitive, slot: int, values: Sequence[str], output: str
) -> str | None:
    """The local derivative's formula with the numbers filled in (``0.767 * (1 - 0.767)``), the
    operation's own result standing for itself (``sigmoid(z)`` is the output); None when the
    formula is a plain number already."""
    formula = primitive.formulas[slot]
    if _NUMBER.fullmatch(formula):
        return None
    # The result stands for a whole call of the function in the formula (``sigmoid(x)`` in
    # sigmoid's), never for an operator's text inside a longer term (``x / y`` in ``-x / y^2``
    # is not the quotient: it reads -(x) / (y^2)).
    with_output = formula
    if _FUNCTION_CALL.match(primitive.notation):
        with_output = _itself(primitive).sub(_OUTPUT, formula)
    filled = _fill(with_output, values, primitive.input_names, wrap=True)
    filled = filled.replace(_OUTPUT, operand_text(output))
    # "2 sqrt(x)" means a product: written out once the operands are numbers.
    return re.sub(r"(?<=[\d)]) (?=[\d(])", " * ", filled)


# -- a user's text -----------------------------------------------------------------------------


def _escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible_lines(text: str) -> list[str]:
    """``text`` split into lines, every invisible or control character written as an escape
    (``\\x1b``), so that no label can hide text, move a terminal cursor or break XML."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [
        "".join(c if c.isprintable() else " " if c == "\t" else _escape_char(c) for c in line)
        for line in lines
    ]


def one_line(text: str) -> str:
    """``text`` on a single visible line (newlines written as ``\\n``), for the terminal."""
    return "\\n".join(visible_lines(text))


# -- what a scope's name says ------------------------------------------------------------------


def scope_stage(scope: Sequence[str]) -> int | None:
    """The stage a scope path is in: the number of its outermost scope when that is named with
    a word and a number (``("layer1", "neuron0")`` is in stage 1), else None. Numbered scopes at
    the top of the path are taken as stages in depth order (a network's layers, a pipeline's
    steps); the walkthrough shows the backward pass stage by stage from the last."""
    match = _NUMBERED_SCOPE.fullmatch(scope[0]) if scope else None
    return int(match.group(2)) if match else None


def named_by(part: str, word: str) -> bool:
    """Whether the scope ``part`` is named by ``word``: the word itself, or followed by a number
    (``neuron1`` and ``neuron1.attn`` for ``neuron``)."""
    return part.startswith(word) and (len(part) == len(word) or part[len(word)].isdigit())


def scope_words(scopes: Collection[Sequence[str]]) -> list[str]:
    """The words of the numbered scopes in ``scopes``, innermost first (``["neuron", "layer"]``
    for an nn network): what ``draw(collapse=...)`` can collapse."""
    depth: dict[str, int] = {}
    for path in scopes:
        for k, part in enumerate(path):
            match = _NUMBERED_SCOPE.match(part)
            if match:
                word = match.group(1)
                depth[word] = max(depth.get(word, k), k)
    return sorted(depth, key=lambda word: -depth[word])
