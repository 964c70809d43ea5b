"""Sentences whose numbers are slots: the wording is written once, the numbers filled in later.

A :data:`Template` is a tuple of parts: literal text, a :class:`Slot` (a number of the lesson,
such as node 3's value or contribution 5's local derivative, and how to write it), a
:class:`Hole` (a value given by name when the template is filled: a number the live page
computes beyond the lesson's, such as the slope after a nudge, or a name) or a
:class:`Choice` (text whose structure depends on the numbers: the case of a piecewise
derivative that holds, a step that passes nothing on). :func:`fill` writes a template with a
:class:`~.lesson.Numbers`; the page's script (``fill.js``) does the same in the browser with
the numbers the live page recomputes, so the text, Markdown and every page say one thing.

The JSON form (:func:`template_json`), read by ``fill.js``: a template is a list of strings,
slots ``{"slot": "v", "i": 3, "as": "operand"}``, holes ``{"hole": "h", "as": "number"}`` and
choices ``{"choose": [{"when": condition
or null, "text": template}, ...]}``; a condition is ``{"compare": [ref, op, ref]}`` (a ref is a
slot or a number; op one of ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``), ``{"zero": i}``
(node i's gradient, the upstream of its step, is exactly 0), ``{"known": ref}`` (the number
exists: not None in Python, not NaN in JavaScript), ``{"passed": c}`` (check c passed) or
``{"recorded": true}`` (the numbers are the recorded ones: a sentence whose facts no slot can
follow, such as a check's error message, is said only then).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, overload

from ..naming import format_number, operand_text

__all__ = [
    "KINDS",
    "Choice",
    "Compare",
    "Condition",
    "Hole",
    "Known",
    "Numbers",
    "Passed",
    "Recorded",
    "Slot",
    "Template",
    "UpstreamZero",
    "at_nodes",
    "fill",
    "join",
    "slotted",
    "template",
    "template_json",
]

#: What a slot can stand for, and the field of :class:`Numbers` it reads (indexed by
#: node for v and g, by contribution k for l, p, b and a, by update for u, by check for cn, cl
#: and cr; seed, lr and loss are single numbers).
KINDS: dict[str, str] = {
    "v": "values", "g": "grads", "l": "local", "p": "product", "b": "before", "a": "after",
    "seed": "seed", "lr": "lr", "u": "updated", "loss": "loss_after", "cn": "numeric",
    "cl": "left", "cr": "right",
}


@dataclass(frozen=True)
class Numbers:
    """Every number a lesson's templates show, by position (see :mod:`.template`): the same
    shape as the numbers the page's program computes, so a template fills the same way with
    the recorded numbers and with a learner's edited ones.

    ``values`` and ``grads`` are indexed by node (the position in ``topological_order(root)``;
    a constant's gradient is None); ``local``, ``product``, ``before`` and ``after`` by
    contribution ``k`` (:attr:`~.trace.Contribution.k`: the engine's backward order; None where
    a zero upstream gradient skipped the step). ``updated`` is each update's new value,
    ``loss_after`` the output after the update; ``numeric``, ``left``, ``right`` and ``passed``
    describe each finite-difference check, in the order of ``backward.checks``. ``recorded``
    says whether these are the numbers the lesson was recorded with (a learner's edit makes
    others): some sentences hold only for those.
    """

    values: tuple[float, ...]
    grads: tuple[float | None, ...]
    local: tuple[float | None, ...]
    product: tuple[float | None, ...]
    before: tuple[float | None, ...]
    after: tuple[float | None, ...]
    seed: float
    lr: float | None = None
    updated: tuple[float, ...] = ()
    loss_after: float | None = None
    numeric: tuple[float | None, ...] = ()
    left: tuple[float | None, ...] = ()
    right: tuple[float | None, ...] = ()
    passed: tuple[bool, ...] = ()
    recorded: bool = True


Style = Literal["number", "operand", "short"]
#: The digits the pictures write a number with (``short``).
SHORT_DIGITS = 4


@dataclass(frozen=True)
class Slot:
    """A number of the lesson (``kind`` and ``index``, see :data:`KINDS`) written as a number
    (``number``: the lesson's digits), an operand (``operand``: in parentheses when negative,
    ``2 x (-4)``) or as the pictures write it (``short``: 4 significant digits)."""

    kind: str
    index: int = 0
    style: Style = "number"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Slot: unknown kind {self.kind!r}")

    def number(self, numbers: Numbers) -> float | None:
        """This slot's number in ``numbers`` (None: not computed, as a skipped step's local)."""
        field = getattr(numbers, KINDS[self.kind])
        if isinstance(field, tuple):
            return field[self.index]  # type: ignore[no-any-return]
        return field  # type: ignore[no-any-return]

    def written(self, x: float, digits: int) -> str:
        if self.style == "short":
            return format_number(x, SHORT_DIGITS)
        text = format_number(x, digits)
        return operand_text(text) if self.style == "operand" else text


Ref: TypeAlias = "Slot | float"
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


def _number(ref: Ref, numbers: Numbers) -> float | None:
    return ref.number(numbers) if isinstance(ref, Slot) else ref


@dataclass(frozen=True)
class Compare:
    """``left op right`` on two refs (a slot or a number); false when either is unknown, as a
    comparison with NaN is in JavaScript."""

    left: Ref
    op: str
    right: Ref

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"Compare: unknown operator {self.op!r}")

    def holds(self, numbers: Numbers) -> bool:
        left, right = _number(self.left, numbers), _number(self.right, numbers)
        return left is not None and right is not None and _COMPARE[self.op](left, right)


@dataclass(frozen=True)
class UpstreamZero:
    """Node ``node``'s gradient, the upstream of its backward step, is exactly 0: the step
    passes nothing on (rule 2)."""

    node: int

    def holds(self, numbers: Numbers) -> bool:
        grad = numbers.grads[self.node]
        return grad is not None and grad == 0.0


@dataclass(frozen=True)
class Known:
    """The number ``ref`` exists (a check measured on a side, a step's local computed)."""

    ref: Slot

    def holds(self, numbers: Numbers) -> bool:
        return self.ref.number(numbers) is not None


@dataclass(frozen=True)
class Passed:
    """The finite-difference check ``check`` passed."""

    check: int

    def holds(self, numbers: Numbers) -> bool:
        return bool(numbers.passed[self.check])


@dataclass(frozen=True)
class Recorded:
    """The numbers are the ones the lesson was recorded with."""

    def holds(self, numbers: Numbers) -> bool:
        return numbers.recorded


Condition: TypeAlias = "Compare | UpstreamZero | Known | Passed | Recorded"


@dataclass(frozen=True)
class Choice:
    """Text that depends on the numbers: the first variant whose condition holds (a variant
    with condition None always holds)."""

    variants: tuple[tuple[Condition | None, Template], ...]

    def chosen(self, numbers: Numbers) -> Template:
        for when, text in self.variants:
            if when is None or when.holds(numbers):
                return text
        return ()


@dataclass(frozen=True)
class Hole:
    """A value given by ``name`` when the template is filled (see :func:`fill`), written as a
    number (``number``: the lesson's digits), an ``operand``, Python's exact ``repr`` (as
    error messages write floats) or as ``text`` (a name, another sentence: as it is)."""

    name: str
    style: Literal["number", "operand", "repr", "text"] = "number"

    def written(self, value: Any, digits: int) -> str:
        if self.style == "text" or isinstance(value, str):
            return str(value)
        if self.style == "repr":
            return repr(float(value))
        text = format_number(float(value), digits)
        return operand_text(text) if self.style == "operand" else text


Part: TypeAlias = "str | Slot | Hole | Choice"
Template: TypeAlias = "tuple[Part, ...]"
#: What :func:`template` joins: parts, templates, nested tuples of them, None (nothing).
Piece: TypeAlias = "str | Slot | Hole | Choice | tuple[Piece, ...] | None"


def template(*pieces: Piece) -> Template:
    """The pieces as one template: nested templates flattened, neighbouring text joined, None
    and empty text left out."""
    parts: list[Part] = []
    text = ""  # text waiting to be joined with the text that follows it

    def add(pieces: tuple[Piece, ...]) -> None:
        nonlocal text
        for piece in pieces:
            if isinstance(piece, str):
                text += piece
            elif isinstance(piece, tuple):
                add(piece)
            elif piece is not None:
                if text:
                    parts.append(text)
                    text = ""
                parts.append(piece)

    add(pieces)
    if text:
        parts.append(text)
    return tuple(parts)


def join(templates: Sequence[Template], separator: str) -> Template:
    """The templates one after the other, ``separator`` between them."""
    pieces: list[Piece] = []
    for k, each in enumerate(templates):
        if k:
            pieces.append(separator)
        pieces.append(each)
    return template(*pieces)


@overload
def at_nodes(written: Template, nodes: Sequence[int], output: int | None = None
             ) -> Template: ...
@overload
def at_nodes(written: Compare, nodes: Sequence[int], output: int | None = None) -> Compare: ...


def at_nodes(written: Template | Compare, nodes: Sequence[int], output: int | None = None
             ) -> Template | Compare:
    """A step's template (or condition) written on its operands, where slot ``v`` j is operand
    j, moved onto the graph: operand j is node ``nodes[j]``, and slot ``v`` ``len(nodes)`` is
    node ``output`` (the step's own node) when it is given."""
    def moved(ref: Any) -> Any:
        if isinstance(ref, Slot) and ref.kind == "v":
            node = output if output is not None and ref.index == len(nodes) else nodes[ref.index]
            return Slot("v", node, ref.style)
        return ref

    if isinstance(written, Compare):
        return Compare(moved(written.left), written.op, moved(written.right))

    def part_moved(part: Part) -> Part:
        if isinstance(part, Choice):  # a choice's conditions and texts are on operands too
            return Choice(tuple((at_nodes(when, nodes, output) if isinstance(when, Compare)
                                 else when, at_nodes(text, nodes, output))
                                for when, text in part.variants))
        return moved(part)  # type: ignore[no-any-return]

    return tuple(part_moved(part) for part in written)


def fill(text: Template, numbers: Numbers | None, digits: int = 6,
         holes: Mapping[str, Any] | None = None) -> str:
    """``text`` with every slot written with ``numbers`` and every hole with its value in
    ``holes`` (``digits`` significant digits). A sentence of holes alone needs no numbers."""
    out: list[str] = []
    for part in text:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Hole):
            if holes is None or part.name not in holes:
                raise ValueError(f"fill: no value for {part}")
            out.append(part.written(holes[part.name], digits))
        elif numbers is None:
            raise ValueError(f"fill: {part} needs the lesson's numbers")
        elif isinstance(part, Slot):
            x = part.number(numbers)
            if x is None:
                raise ValueError(f"fill: {part} has no number (a step that was skipped)")
            out.append(part.written(x, digits))
        else:
            out.append(fill(part.chosen(numbers), numbers, digits, holes))
    return "".join(out)


# Stand-ins that the naming functions (operation_text, local_numbers) treat as a negative
# number: wrapped in parentheses exactly where a negative number would be, left bare where a
# leading number is ("-2 + 5"), so the result says where each slot goes and in which style.
# No primitive's notation, the only other text those functions see, holds such an exponent.
_TOKEN = "-{}e-987654321"
_TOKENS = re.compile(r"(?<!\w)\(-(\d+)e-987654321\)|-(\d+)e-987654321")  # not a call's "f("


def slotted(render: Callable[[Sequence[str]], str], slots: Sequence[Slot]) -> Template:
    """``render`` (a function that writes numbers given as text into a notation, such as
    :func:`~chainrule.engine.naming.operation_text`) turned into a template: each slot is
    written as an operand where ``render`` puts a negative number in parentheses, else as a
    number."""
    text = render([_TOKEN.format(k) for k in range(len(slots))])
    parts: list[str | Slot] = []
    at = 0
    for match in _TOKENS.finditer(text):
        parts.append(text[at:match.start()])
        wrapped = match.group(1) is not None
        slot = slots[int(match.group(1) if wrapped else match.group(2))]
        parts.append(Slot(slot.kind, slot.index, "operand" if wrapped else "number"))
        at = match.end()
    parts.append(text[at:])
    return template(*parts)


# -- JSON -----------------------------------------------------------------------------------------


def _ref_json(ref: Ref) -> Any:
    return _slot_json(ref) if isinstance(ref, Slot) else ref


def _slot_json(slot: Slot) -> dict[str, Any]:
    return {"slot": slot.kind, "i": slot.index, "as": slot.style}


def _condition_json(when: Condition | None) -> Any:
    if when is None:
        return None
    if isinstance(when, Compare):
        return {"compare": [_ref_json(when.left), when.op, _ref_json(when.right)]}
    if isinstance(when, UpstreamZero):
        return {"zero": when.node}
    if isinstance(when, Known):
        return {"known": _slot_json(when.ref)}
    if isinstance(when, Recorded):
        return {"recorded": True}
    return {"passed": when.check}


def template_json(text: Template) -> list[Any]:
    """The JSON form ``fill.js`` reads (see the module's docstring)."""
    out: list[Any] = []
    for part in text:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Slot):
            out.append(_slot_json(part))
        elif isinstance(part, Hole):
            out.append({"hole": part.name, "as": part.style})
        else:
            out.append({"choose": [{"when": _condition_json(when), "text": template_json(t)}
                                   for when, t in part.variants]})
    return out


#: The page's name of each field of :class:`Numbers` (JavaScript's camel case).
JSON_FIELDS: dict[str, str] = {
    "values": "values", "grads": "grads", "local": "local", "product": "product",
    "before": "before", "after": "after", "seed": "seed", "lr": "lr", "updated": "updated",
    "loss_after": "lossAfter", "numeric": "numeric", "left": "left", "right": "right",
    "passed": "passed", "recorded": "recorded",
}


def numbers_json(numbers: Numbers) -> dict[str, Any]:
    """``numbers`` as the page carries them (None as null; ``fill.js`` reads null as NaN)."""
    return {key: list(value) if isinstance(value, tuple) else value
            for field, key in JSON_FIELDS.items()
            for value in (getattr(numbers, field),)}


def _json_number(x: Any) -> Any:
    if isinstance(x, str):  # html.json_for_script writes inf and nan as text
        return float(x)
    return x


def numbers_from_json(data: dict[str, Any]) -> Numbers:
    """The page's numbers (see :func:`numbers_json`) back as :class:`Numbers`."""
    fields: dict[str, Any] = {}
    for field, key in JSON_FIELDS.items():
        if key not in data:  # left at its default (recorded: numbers without the mark)
            continue
        value = data[key]
        fields[field] = (tuple(_json_number(x) for x in value) if isinstance(value, list)
                         else _json_number(value))
    return Numbers(**fields)


def _ref_from_json(ref: Any) -> Ref:
    return _slot_from_json(ref) if isinstance(ref, dict) else float(ref)


def _slot_from_json(slot: dict[str, Any]) -> Slot:
    return Slot(slot["slot"], slot["i"], slot["as"])


def _condition_from_json(when: Any) -> Condition | None:
    if when is None:
        return None
    if "compare" in when:
        left, op, right = when["compare"]
        return Compare(_ref_from_json(left), op, _ref_from_json(right))
    if "zero" in when:
        return UpstreamZero(when["zero"])
    if "known" in when:
        return Known(_slot_from_json(when["known"]))
    if "recorded" in when:
        return Recorded()
    return Passed(when["passed"])


def template_from_json(data: list[Any]) -> Template:
    """A template back from its JSON form (see :func:`template_json`)."""
    parts: list[Part] = []
    for part in data:
        if isinstance(part, str):
            parts.append(part)
        elif "choose" in part:
            parts.append(Choice(tuple((_condition_from_json(v["when"]),
                                       template_from_json(v["text"]))
                                      for v in part["choose"])))
        elif "hole" in part:
            parts.append(Hole(part["hole"], part["as"]))
        else:
            parts.append(_slot_from_json(part))
    return tuple(parts)
