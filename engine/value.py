"""The scalar :class:`Value`: records the computation graph as you compute, and backpropagates.

Design notes (why, not what):

* A node refers only to its inputs (two slots, ``_a`` and ``_b``; an n-ary node, ``dot`` or
  ``sum``, keeps the tuple of its inputs in ``_a``) and to its
  :class:`~chainrule.engine.primitives.Primitive`; it holds no closure, so no node is part of a
  reference cycle. Graphs are freed by reference counting the moment they are dropped, and the
  cyclic garbage collector (most of micrograd's run time) has nothing to find.
* ``backward()`` walks an iterative depth-first order, so graph depth is limited by memory only.
* Every Value is finite: operations that would produce inf or NaN raise instead.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import fields
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union, overload

from .errors import NonFiniteError, NumericOverflowError, OperandTypeError
from .graph import INPUT_TUPLE, topological_order
from .primitives import (
    ABS,
    ADD,
    APPLY,
    APPLY_FAMILY,
    DIV,
    FAMILIES,
    FORWARD_ERRORS,
    MUL,
    NEG,
    POW,
    PRIMITIVES,
    SUB,
    Family,
    Primitive,
)

Number = int | float
Operand = Union["Value", int, float]

# Recording state is per thread and per asyncio task (as PyTorch's grad mode is per thread):
# no_grad() in one thread never stops another thread from recording.
_RECORDING: ContextVar[bool] = ContextVar("chainrule_recording", default=True)
_SCOPE: ContextVar[tuple[str, ...]] = ContextVar("chainrule_scope", default=())


#: The data clock: advanced each time a Value's data is set, read when a node is created.
_TICKS = itertools.count(1)
_clock = 0


class _Labelled:
    """A labelled Value's label and scope (see ``Value._tag``)."""

    __slots__ = ("label", "scope")

    def __init__(self, label: str, scope: tuple[str, ...]) -> None:
        self.label = label
        self.scope = scope


def as_float(data: Any, context: str = "Value", role: str = "") -> float:
    """``data`` as a finite float, or a chainrule error naming ``context`` and the value."""
    kind = type(data)
    number: float
    if kind is float:
        number = data
    elif (kind is int or isinstance(data, numbers.Real)) and not isinstance(data, Value):
        try:
            number = float(data)
        except OverflowError:
            raise NumericOverflowError(
                f"{context}:{role} an integer of {_digits(data)} digits is too large for a float"
            ) from None
    elif hasattr(data, "dtype") and hasattr(data, "item") and getattr(data, "shape", None) == ():
        # A numpy scalar (np.float32(1.5), np.bool_(True)): its Python number.
        return as_float(data.item(), context, role)
    else:
        raise OperandTypeError(
            f"{context}:{role} expected a real number (int, float or bool), "
            f"got {kind.__name__} {_short_repr(data)}"
        )
    if number - number:  # inf or nan
        raise NonFiniteError(f"{context}:{role} {data!r} is not a finite number")
    return number


def _digits(number: object) -> str:
    try:
        return f"{len(str(abs(number))):,}"  # type: ignore[arg-type]
    except ValueError:  # more digits than Python will print
        return "many thousand"


def _short_repr(data: object) -> str:
    try:
        return f"{data!r:.60}"
    except Exception:  # a hostile or broken __repr__ must not hide the real error
        return f"<{type(data).__name__} object>"


class Value:
    """A scalar that remembers how it was computed.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a.tanh()
    >>> c.backward()
    >>> a.grad, b.grad
    (-2.9293491751468355, 2.0)

    Besides the operators, every primitive with a function name (``exp``, ``tanh``,
    ``maximum``...) is a method, generated from the primitive table.
    """

    # One slot holds both the label and the scope (a _Labelled pair when there is a label,
    # else the scope tuple itself, shared by every node of a block): 8 bytes less per node.
    __slots__ = ("_a", "_b", "_data", "_primitive", "_tag", "_version", "grad")

    _data: float
    grad: float
    _tag: tuple[str, ...] | _Labelled
    #: The data clock when this Value was created or its data last set: backward refuses a
    #: graph in which a Value changed after a node was computed from it (PyTorch's version
    #: counter). Its complement (a negative number) for a result computed under no_grad(),
    #: which backward refuses as a root (its data, once set, makes it a leaf of yours).
    _version: int

    def __init__(self, data: Number, label: str | None = None) -> None:
        self._data = as_float(data)
        self._version = _clock
        self.grad = 0.0
        self._tag = _SCOPE.get()
        if label is not None:
            self.label = label
        self._primitive: Primitive | None = None
        self._a: Value | None = None
        self._b: Value | None = None

    if TYPE_CHECKING:
        # The methods generated from the primitive table (exp, tanh, maximum...).
        def __getattr__(self, name: str) -> Callable[..., Value]: ...

    # -- the graph -------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The operation's inputs, in order, duplicates kept (``a + a`` has two)."""
        a = self._a
        if a is None:
            return ()
        if self._b is not None:
            return (a, self._b)
        return a if type(a) is INPUT_TUPLE else (a,)  # type: ignore[return-value]

    @property
    def primitive(self) -> Primitive | None:
        """The operation that produced this Value (``None`` for a leaf)."""
        return self._primitive

    @property
    def op(self) -> str | None:
        """The operation's name: ``"mul"``, ``"tanh"``...; ``"const"`` for a number that was
        used as an operand; ``None`` for a Value you created."""
        return self._primitive.name if self._primitive is not None else None

    @property
    def is_leaf(self) -> bool:
        """True for a Value with no inputs: one you created, or a constant."""
        return self._a is None

    @property
    def is_constant(self) -> bool:
        """True for a plain number that took part in an operation (``x * 2``): gradients are
        not computed for constants, as PyTorch does not compute them for tensors that do not
        require grad."""
        return self._primitive is CONSTANT

    def detach(self) -> Value:
        """A new leaf with the same data and no history."""
        detached = Value(self._data, self.label)
        if _OBSERVERS:
            for observer in list(_OBSERVERS):
                observer.detached(self, detached)
        return detached

    @property
    def label(self) -> str | None:
        """A name for this Value, shown by ``draw``, the walkthrough and error messages."""
        tag = self._tag
        return tag.label if isinstance(tag, _Labelled) else None

    @label.setter
    def label(self, label: str | None) -> None:
        if label is not None and not isinstance(label, str):
            raise OperandTypeError(f"Value: label must be a str, got {type(label).__name__}")
        scope = self.scope
        self._tag = scope if label is None else _Labelled(label, scope)

    @property
    def scope(self) -> tuple[str, ...]:
        """Where the Value was created: the names of the enclosing ``scope()`` blocks."""
        tag = self._tag
        return tag.scope if isinstance(tag, _Labelled) else tag

    @property
    def data(self) -> float:
        """The number this Value holds."""
        if _OBSERVERS:
            _notify_number_read(self, ".data")
        return self._data

    @data.setter
    def data(self, number: Number) -> None:
        global _clock
        self._data = as_float(number, "Value.data", "")
        _clock = self._version = next(_TICKS)

    def item(self) -> float:
        """The number this Value holds, as a float (``tensor.item()``)."""
        if _OBSERVERS:
            _notify_number_read(self, ".item()")
        return self._data

    # -- arithmetic ------------------------------------------------------------------------

    # The three commonest operations build their node here, with the arithmetic written out
    # (the same float operation as the table's forward code, so the same result): a neural
    # network's forward pass is mostly products and sums, and a call fewer per node is
    # measurable (see benchmarks/README.md). tests/test_hot_paths.py checks each against
    # _binary, field by field.

    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(ADD, other)
        data = self._data + other._data
        if data - data:
            raise ADD.forward_error(OverflowError(), (self._data, other._data))
        node = _allocate(Value)
        node._data = data
        node.grad = 0.0
        node._tag = _current_scope()
        node._version = _clock
        if _recording():
            node._primitive = ADD
            node._a = self
            node._b = other
        else:
            node._primitive = node._a = node._b = None
            node._version = ~_clock
        return node

    def __radd__(self, other: Operand) -> Value:
        return _binary(ADD, _operand(ADD, other), self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(SUB, self, other if type(other) is Value else _operand(SUB, other))

    def __rsub__(self, other: Operand) -> Value:
        return _binary(SUB, _operand(SUB, other), self)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _operand(MUL, other)
        data = self._data * other._data
        if data - data:
            raise MUL.forward_error(OverflowError(), (self._data, other._data))
        node = _allocate(Value)
        node._data = data
        node.grad = 0.0
        node._tag = _current_scope()
        node._version = _clock
        if _recording():
            node._primitive = MUL
            node._a = self
            node._b = other
        else:
            node._primitive = node._a = node._b = None
            node._version = ~_clock
        return node

    def __rmul__(self, other: Operand) -> Value:
        return _binary(MUL, _operand(MUL, other), self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(DIV, self, other if type(other) is Value else _operand(DIV, other))

    def __rtruediv__(self, other: Operand) -> Value:
        return _binary(DIV, _operand(DIV, other), self)

    def __pow__(self, exponent: Operand) -> Value:
        return _binary(POW, self, exponent if type(exponent) is Value else _operand(POW, exponent))

    def __rpow__(self, base: Operand) -> Value:
        return _binary(POW, _operand(POW, base), self)

    def __neg__(self) -> Value:
        return _unary(NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _unary(ABS, self)

    # -- comparisons and conversions -------------------------------------------------------
    # Ordering compares data, as a tensor comparison does. == stays identity: Values are graph
    # nodes, used as dictionary keys, and two different nodes are never "equal".

    def __lt__(self, other: Operand) -> bool:
        return _compare(self, "<", other)

    def __le__(self, other: Operand) -> bool:
        return _compare(self, "<=", other)

    def __gt__(self, other: Operand) -> bool:
        return _compare(self, ">", other)

    def __ge__(self, other: Operand) -> bool:
        return _compare(self, ">=", other)

    __hash__ = object.__hash__

    def __float__(self) -> float:
        if _OBSERVERS:
            _notify_number_read(self, "float()")
        return self._data

    def __int__(self) -> int:
        """The data truncated toward zero, as ``int()`` of a float (and a one-element tensor)."""
        if _OBSERVERS:
            _notify_number_read(self, "int()")
        return int(self._data)

    @overload
    def __round__(self, ndigits: None = None) -> int: ...
    @overload
    def __round__(self, ndigits: int) -> float: ...

    def __round__(self, ndigits: int | None = None) -> int | float:
        """``round()`` of the data: an int, or a float with ``ndigits``, as for a float."""
        if _OBSERVERS:
            _notify_number_read(self, "round()")
        return round(self._data, ndigits)

    def __bool__(self) -> bool:
        """True unless the data is 0, as for a one-element tensor (and a float)."""
        return _compare(self, "!=", 0.0)

    def __format__(self, spec: str) -> str:
        """A format spec applies to the data: ``f"{loss:.4f}"``; an empty one gives the repr."""
        if not spec:
            return str(self)
        if _OBSERVERS:
            _notify_number_read(self, "format()")
        return format(self._data, spec)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    # -- pickling --------------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """A leaf pickles as its data, grad, label and scope; a computed Value as its whole
        graph, one record per node (so no depth is too deep), each operation by its name."""
        if self._primitive is None:  # a leaf, or a result computed under no_grad()
            return _leaf, (self._data, self.grad, self.label, self.scope, self._version < 0)
        return _graph, (_graph_records(self),)

    # -- backpropagation -------------------------------------------------------------------

    def backward(self, gradient: Number = 1.0) -> None:
        """Backpropagate from this Value, accumulating d(self)/d(leaf) into every leaf's grad.

        Follows PyTorch: leaf gradients accumulate across calls (twice gives exactly double);
        gradients of intermediate nodes are recomputed from zero on every call (and kept, so
        that they can be shown). The rules (order, zeros, constants, errors) are those of
        :mod:`chainrule.engine.chain_rule`. If a gradient becomes infinite or undefined, a
        :class:`GradientError` names the node and every ``.grad`` is left as it was.
        """
        from .chain_rule import backward

        backward(self, gradient)

    def zero_grad(self) -> None:
        """Set the gradient of every node of this Value's graph (itself included) to 0."""
        for node in topological_order(self):
            node.grad = 0.0


def describe(node: Value) -> str:
    """A short name for a node in messages: its label, or its operation and value."""
    if node.label:
        return f"{node.label!r} ({node.op or 'leaf'}, data={node._data!r})"
    return f"the {node.op or 'leaf'} node with data={node._data!r}"


# -- pickling ----------------------------------------------------------------------------------
# Nodes refer to their operation, whose functions are compiled from the table's code and cannot
# be pickled: a record names the operation instead, and loading finds it in the table again.


def _leaf(data: float, grad: float, label: str | None, scope: tuple[str, ...],
          unrecorded: bool) -> Value:
    value = Value(data, label)
    value.grad = as_float(grad, "Value (unpickled)", " grad")
    value._tag = scope if label is None else _Labelled(label, scope)
    if unrecorded:
        value._version = ~_clock
    return value


def _graph_records(root: Value) -> list[Any]:
    """``root``'s graph in topological order: a leaf as itself (pickled by ``_leaf``, and the
    same object wherever it is used), any other node as ``(data, grad, label, scope,
    operation, positions of its inputs)``."""
    order = topological_order(root)
    position = {node: k for k, node in enumerate(order)}
    records: list[Any] = []
    for node in order:
        op = node._primitive
        if op is None:
            records.append(node)
            continue
        if op is CONSTANT or PRIMITIVES.get(op.name) is op:
            reference: Any = op.name
        elif op.family is not None and FAMILIES.get(op.family.name) is op.family:
            # An n-ary node (dot, sum): its family's expansion for its number of terms.
            reference = (op.family.name, len(node.inputs) // len(op.family.parameters))
        else:  # an operation that is not in the table under its name: its definition
            reference = {f.name: getattr(op, f.name) for f in fields(op) if f.init}
        records.append((node._data, node.grad, node.label, node.scope, reference,
                        tuple(position[i] for i in node.inputs)))
    return records


def _graph(records: list[Any]) -> Value:
    """The inverse of :func:`_graph_records`: the graph rebuilt, its root returned."""
    nodes: list[Value] = []
    for record in records:
        if isinstance(record, Value):
            nodes.append(record)
            continue
        data, grad, label, scope, reference, inputs = record
        if isinstance(reference, dict):
            op = Primitive(**reference)
        elif isinstance(reference, tuple) and reference[0] in FAMILIES:
            op = FAMILIES[reference[0]].at(reference[1])
        elif reference == CONSTANT.name:
            op = CONSTANT
        elif reference in PRIMITIVES:
            op = PRIMITIVES[reference]
        else:
            raise OperandTypeError(
                f"Value (unpickled): no operation named {_short_repr(reference)} in the table"
            )
        node = _allocate(Value)
        node._data = as_float(data, "Value (unpickled)")
        node.grad = as_float(grad, "Value (unpickled)", " grad")
        node._tag = scope if label is None else _Labelled(label, scope)
        node._version = _clock
        node._primitive = op
        if op.family is not None:  # an n-ary node keeps its inputs' tuple
            node._a = tuple(nodes[i] for i in inputs)  # type: ignore[assignment]
            node._b = None
        else:
            node._a = nodes[inputs[0]] if inputs else None
            node._b = nodes[inputs[1]] if len(inputs) > 1 else None
        nodes.append(node)
    return nodes[-1]


# -- recording ---------------------------------------------------------------------------------

# A number used as an operand: a leaf with an operation of its own, so that it is told apart
# from the Values you create (which receive gradients).
CONSTANT = Primitive("const", "const", "0.0", (), (), ())
_allocate = object.__new__
_recording = _RECORDING.get
_current_scope = _SCOPE.get


def _node(data: float, op: Primitive, a: Value | None, b: Value | None) -> Value:
    # Bypasses __init__'s validation: data was computed by a primitive and already checked.
    node = _allocate(Value)
    node._data = data
    node.grad = 0.0
    node._tag = _current_scope()
    node._version = _clock
    if op is CONSTANT or _recording():
        node._primitive = op
        node._a = a
        node._b = b
    else:
        node._primitive = node._a = node._b = None
        node._version = ~_clock
    return node


# _unary and _binary run once per operation: they build the node themselves (the body of
# _node, repeated), which measured 4-5% of a training step's forward pass against a call.


def _unary(op: Primitive, a: Value) -> Value:
    try:
        data = op.forward(a._data)
    except FORWARD_ERRORS as error:
        raise op.forward_error(error, (a._data,)) from None
    if data - data:
        raise op.forward_error(OverflowError(), (a._data,))
    node = _allocate(Value)
    node._data = data
    node.grad = 0.0
    node._tag = _current_scope()
    node._version = _clock
    if _recording():
        node._primitive = op
        node._a = a
        node._b = None
    else:
        node._primitive = node._a = node._b = None
        node._version = ~_clock
    return node


def _binary(op: Primitive, a: Value, b: Value) -> Value:
    try:
        data = op.forward(a._data, b._data)
    except FORWARD_ERRORS as error:
        raise op.forward_error(error, (a._data, b._data)) from None
    if data - data:
        raise op.forward_error(OverflowError(), (a._data, b._data))
    node = _allocate(Value)
    node._data = data
    node.grad = 0.0
    node._tag = _current_scope()
    node._version = _clock
    if _recording():
        node._primitive = op
        node._a = a
        node._b = b
    else:
        node._primitive = node._a = node._b = None
        node._version = ~_clock
    return node


def _operand(op: Primitive, other: object) -> Value:
    """``other`` as an input of ``op``: a Value as it is, a number as a new constant node."""
    if isinstance(other, Value):
        return other
    if type(other) is float and not other - other:  # the common case: a finite float
        return _node(other, CONSTANT, None, None)
    return _node(as_float(other, op.name, " operand"), CONSTANT, None, None)


def constant(number: Number) -> Value:
    """A Value that is a fixed number: no gradient is ever computed for it (also when it is
    created inside ``no_grad()``)."""
    return _node(as_float(number, "constant"), CONSTANT, None, None)


def _data(x: object) -> float:
    return x._data if isinstance(x, Value) else as_float(x, "comparison")


_COMPARISONS = {
    "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
    "!=": float.__ne__,
}


def _compare(value: Value, operator: str, other: object) -> bool:
    outcome: bool = _COMPARISONS[operator](value._data, _data(other))
    if _OBSERVERS:
        _notify_compared(value, operator, other, outcome)
    return outcome


# -- observers: how tracing (chainrule.engine.compile) sees numbers leave the graph ------------

#: Active observers (tracing sessions); empty except while a function is being traced.
_OBSERVERS: list[Any] = []


def _notify_number_read(value: Value, how: str) -> None:
    for observer in list(_OBSERVERS):
        observer.number_read(value, how)


def _notify_compared(value: Value, operator: str, other: object, outcome: bool) -> None:
    for observer in list(_OBSERVERS):
        observer.compared(value, operator, other, outcome)


def _observed_allocate(cls: type[Value]) -> Value:
    node: Value = object.__new__(cls)
    for observer in list(_OBSERVERS):
        observer.created(node)
    return node


def _switch_recording(on: bool) -> bool:
    """What ``no_grad``/``enable_grad`` set while observed: recording stays on when an
    observer (a tracer) keeps the switch itself, so the operations keep their inputs."""
    kept = False
    for observer in list(_OBSERVERS):
        kept = observer.recording_switched(on) or kept
    return True if kept else on


def _switched_back() -> None:
    for observer in list(_OBSERVERS):
        observer.recording_switched_back()


@contextmanager
def observing(observer: Any) -> Iterator[None]:
    """Tell ``observer`` (``number_read(value, how)``, ``compared(value, op, other,
    outcome)``, ``created(node)``, ``detached(value, leaf)``, ``recording_switched(on)`` and
    ``recording_switched_back()``) whenever a number is read out of a Value, a Value is
    compared, a node is made, a Value detached, or recording switched off or on. Each
    observer filters by thread itself."""
    global _allocate
    _OBSERVERS.append(observer)
    _allocate = _observed_allocate  # type: ignore[assignment]
    try:
        yield
    finally:
        _OBSERVERS.remove(observer)
        if not _OBSERVERS:
            _allocate = object.__new__


def apply(op: Primitive, operands: tuple[Any, ...]) -> Any:
    """Apply ``op``: to floats, giving a float; to Values (or a mix), giving a recorded Value."""
    if len(operands) != op.arity:
        raise OperandTypeError(f"{op.name} takes {op.arity} operand(s), got {len(operands)}")
    if not any(isinstance(x, Value) for x in operands):
        return op.evaluate(*(as_float(x, op.name) for x in operands))
    if op.family is not None:
        return _variadic(op, tuple(_operand(op, x) for x in operands))
    if op.arity == 1:
        return _unary(op, operands[0])
    return _binary(op, _operand(op, operands[0]), _operand(op, operands[1]))


def apply_family(family: Family, groups: tuple[Any, ...]) -> Any:
    """Apply an n-ary operation to its groups of operands (``dot``: the weights and the
    inputs, equally long): to numbers, giving a float; to Values (or a mix), a recorded Value."""
    # The common case (every operand a Value) runs in C calls only: it is a network's hot path.
    try:
        n = len(groups[0])
        operands = tuple(chain.from_iterable(groups))
        op = family._expansions.get(n) or family.at(n)
        data = op.forward(*map(_data_of, operands))
    except Exception:  # numbers among the operands, or something that is not a sequence
        return _apply_family_checked(family, groups)
    if len(operands) != n * len(groups) or len(groups) != len(family.parameters):
        return _apply_family_checked(family, groups)
    if data - data:
        raise op.forward_error(OverflowError(), tuple(map(_data_of, operands)))
    return _node(data, op, operands, None)  # type: ignore[arg-type]  # an n-ary node: its inputs' tuple in _a


def _apply_family_checked(family: Family, groups: tuple[Any, ...]) -> Any:
    """:func:`apply_family` for any operands: numbers become constants, and anything else is
    refused with an error that names the operation and what was wrong."""
    if len(groups) != len(family.parameters):
        raise OperandTypeError(
            f"{family.function} takes {len(family.parameters)} sequence(s) "
            f"({', '.join(family.parameters)}), got {len(groups)}"
        )
    sequences = []
    for group, parameter in zip(groups, family.parameters, strict=True):
        if isinstance(group, (Value, str, bytes)) or not hasattr(group, "__len__"):
            raise OperandTypeError(
                f"{family.function}: {parameter} must be a sequence (a list or tuple) of Values "
                f"or numbers, got {type(group).__name__} {_short_repr(group)}"
            )
        sequences.append(list(group))
    n = len(sequences[0])
    if not n or any(len(sequence) != n for sequence in sequences):
        lengths = " and ".join(str(len(sequence)) for sequence in sequences)
        raise OperandTypeError(
            f"{family.function}: " + (f"{' and '.join(family.parameters)} must be equally long "
                                  f"and not empty, got lengths {lengths}"
                                  if len(sequences) > 1 else
                                  f"{family.parameters[0]} must not be empty")
        )
    op = family.at(n)
    operands = [x for sequence in sequences for x in sequence]
    if not any(isinstance(x, Value) for x in operands):
        return op.evaluate(*(as_float(x, op.name) for x in operands))
    return _variadic(op, tuple(_operand(op, x) for x in operands))


_data_of = attrgetter("_data")


def _variadic(op: Primitive, inputs: tuple[Value, ...]) -> Value:
    try:
        data = op.forward(*map(_data_of, inputs))
    except FORWARD_ERRORS as error:  # pragma: no cover - sums of finite products cannot raise
        raise op.forward_error(error, tuple(x._data for x in inputs)) from None
    if data - data:
        raise op.forward_error(OverflowError(), tuple(x._data for x in inputs))
    return _node(data, op, inputs, None)  # type: ignore[arg-type]  # its inputs' tuple in _a




# -- the surface: a method per primitive, generated from the table ------------------------------


def _method(op: Primitive) -> Callable[..., Value]:
    method: Callable[..., Value]
    if op.arity == 1:
        def unary(self: Value) -> Value:
            return _unary(op, self)
        method = unary
    elif op.arity == 2:
        second = op.input_names[1]
        if second in op.defaults:
            default = op.defaults[second]

            def binary_with_default(self: Value, other: Operand = default) -> Value:
                return _binary(op, self, other if type(other) is Value else _operand(op, other))
            method = binary_with_default
        else:
            def binary(self: Value, other: Operand) -> Value:
                return _binary(op, self, other if type(other) is Value else _operand(op, other))
            method = binary
    else:  # pragma: no cover - the table has no such primitive
        raise TypeError(f"primitive {op.name}: methods take one or two inputs")
    assert op.function is not None
    method.__name__ = op.function
    method.__qualname__ = f"Value.{op.function}"
    method.__doc__ = op.doc or f"{op.write(*op.input_names)}, recorded."
    return method


def _install_methods() -> None:
    for op in PRIMITIVES.values():
        if op.function is None:
            continue
        if op.function in Value.__dict__:
            raise TypeError(f"primitive {op.name}: Value.{op.function} already exists")
        setattr(Value, op.function, _method(op))


_install_methods()
APPLY.append(apply)
APPLY_FAMILY.append(apply_family)


# -- recording switches ------------------------------------------------------------------------


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block operations compute values but record no graph (like ``torch.no_grad``).

    The switch is per thread and per asyncio task: other threads keep recording.
    """
    with _recording_set(False):
        yield


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record inside this block even within ``no_grad()`` (like ``torch.enable_grad``)."""
    with _recording_set(True):
        yield


@contextmanager
def _recording_set(on: bool) -> Iterator[None]:
    observed = bool(_OBSERVERS)  # being traced: the tracer records the switch itself
    token = _RECORDING.set(_switch_recording(on) if observed else on)
    try:
        yield
    finally:
        _RECORDING.reset(token)
        if observed:
            _switched_back()


def is_recording() -> bool:
    """Whether operations in this thread (and task) are being recorded."""
    return _RECORDING.get()


class scope:
    """Tag every Value created inside the block with ``name`` (nested blocks make a path).

    nn modules use it so that a rendered graph can group a neuron's or a layer's nodes. Like
    ``no_grad``, it is per thread and per asyncio task. (A class rather than a generator: a
    network enters one per neuron per sample, and this costs a third as much.)
    """

    __slots__ = ("_name", "_tokens")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise OperandTypeError(f"scope: name must be a non-empty str, got {_short_repr(name)}")
        self._name = name
        self._tokens: list[Token[tuple[str, ...]]] = []  # one per entry: a block may be re-entered

    def __enter__(self) -> tuple[str, ...]:
        path = (*_SCOPE.get(), self._name)
        self._tokens.append(_SCOPE.set(path))
        return path

    def __exit__(self, *exception: object) -> None:
        _SCOPE.reset(self._tokens.pop())
