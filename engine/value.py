"""The scalar :class:`Value`: records the computation graph as you compute, and backpropagates.

Design notes (why, not what):

* A node refers only to its inputs (two slots, ``_a`` and ``_b``) and to its
  :class:`~chainrule.engine.primitives.Primitive`; it holds no closure, so no node is part of a
  reference cycle. Graphs are freed by reference counting the moment they are dropped, and the
  cyclic garbage collector (most of micrograd's run time) has nothing to find.
* ``backward()`` walks an iterative depth-first order, so graph depth is limited by memory only.
* Every Value is finite: operations that would produce inf or NaN raise instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Union

from .errors import GradientError, NonFiniteError, NumericOverflowError, OperandTypeError
from .graph import topological_order
from .primitives import (
    ABS,
    ADD,
    COS,
    DIV,
    EXP,
    FORWARD_ERRORS,
    LEAKY_RELU,
    LOG,
    LOG1P,
    LOG_SIGMOID,
    MAXIMUM,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SQRT,
    SUB,
    TANH,
    Primitive,
)

Number = int | float
Operand = Union["Value", int, float]

_recording = True  # switched off by no_grad(); module-global, not thread-local
_scope: tuple[str, ...] = ()  # where new Values are created (set by nn modules, see scope())


def as_float(data: object, context: str = "Value", role: str = "") -> float:
    """``data`` as a finite float, or a chainrule error naming ``context`` and the value."""
    kind = type(data)
    if kind is float:
        number = data
    elif (kind is int or isinstance(data, numbers.Real)) and not isinstance(data, Value):
        try:
            number = float(data)  # type: ignore[arg-type]
        except OverflowError:
            raise NumericOverflowError(
                f"{context}:{role} {data!r:.60} is too large for a float"
            ) from None
    else:
        raise OperandTypeError(
            f"{context}:{role} expected a real number (int, float or bool), "
            f"got {kind.__name__} {data!r:.60}"
        )
    if number - number:  # inf or nan
        raise NonFiniteError(f"{context}:{role} {data!r} is not a finite number")
    return number  # type: ignore[return-value]


class Value:
    """A scalar that remembers how it was computed.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a.tanh()
    >>> c.backward()
    >>> a.grad, b.grad
    (-2.9293466223161, 2.0)
    """

    __slots__ = ("_a", "_b", "_op", "data", "grad", "label", "scope")

    data: float
    grad: float
    label: str | None
    scope: tuple[str, ...]

    def __init__(self, data: Number, label: str | None = None) -> None:
        self.data = as_float(data)
        self.grad = 0.0
        if label is not None and not isinstance(label, str):
            raise OperandTypeError(f"Value: label must be a str, got {type(label).__name__}")
        self.label = label
        self.scope = _scope
        self._op: Primitive | None = None
        self._a: Value | None = None
        self._b: Value | None = None

    # -- the graph -------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The operation's inputs, in order, duplicates kept (``a + a`` has two)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def primitive(self) -> Primitive | None:
        """The operation that produced this Value (``None`` for a leaf)."""
        return self._op

    @property
    def op(self) -> str | None:
        """The operation's name: ``"mul"``, ``"tanh"``...; ``"const"`` for a number that was
        used as an operand; ``None`` for a Value you created."""
        return self._op.name if self._op is not None else None

    @property
    def is_leaf(self) -> bool:
        return self._a is None

    @property
    def is_constant(self) -> bool:
        """True for a plain number that took part in an operation (``x * 2``): gradients are
        not computed for constants, as PyTorch does not compute them for tensors that do not
        require grad."""
        return self._op is CONSTANT

    def detach(self) -> Value:
        """A new leaf with the same data and no history."""
        return Value(self.data, self.label)

    # -- arithmetic ------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Value:
        return _binary(ADD, self, other if type(other) is Value else _operand(ADD, other))

    def __radd__(self, other: Operand) -> Value:
        return _binary(ADD, _operand(ADD, other), self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(SUB, self, other if type(other) is Value else _operand(SUB, other))

    def __rsub__(self, other: Operand) -> Value:
        return _binary(SUB, _operand(SUB, other), self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(MUL, self, other if type(other) is Value else _operand(MUL, other))

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

    # -- functions -------------------------------------------------------------------------

    def exp(self) -> Value:
        return _unary(EXP, self)

    def log(self) -> Value:
        return _unary(LOG, self)

    def log1p(self) -> Value:
        return _unary(LOG1P, self)

    def sqrt(self) -> Value:
        return _unary(SQRT, self)

    def tanh(self) -> Value:
        return _unary(TANH, self)

    def sigmoid(self) -> Value:
        return _unary(SIGMOID, self)

    def softplus(self) -> Value:
        return _unary(SOFTPLUS, self)

    def log_sigmoid(self) -> Value:
        return _unary(LOG_SIGMOID, self)

    def relu(self) -> Value:
        return _unary(RELU, self)

    def leaky_relu(self, slope: Operand = 0.01) -> Value:
        return _binary(LEAKY_RELU, self, _operand(LEAKY_RELU, slope))

    def abs(self) -> Value:
        return _unary(ABS, self)

    def sin(self) -> Value:
        return _unary(SIN, self)

    def cos(self) -> Value:
        return _unary(COS, self)

    def maximum(self, other: Operand) -> Value:
        """The larger of ``self`` and ``other``, recorded (unlike Python's ``max``, which picks
        one of the nodes by comparing data)."""
        return _binary(MAXIMUM, self, other if type(other) is Value else _operand(MAXIMUM, other))

    # -- comparisons and conversions -------------------------------------------------------
    # Ordering compares data, as a tensor comparison does. == stays identity: Values are graph
    # nodes, used as dictionary keys, and two different nodes are never "equal".

    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    __hash__ = object.__hash__

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- backpropagation -------------------------------------------------------------------

    def backward(self, gradient: Number = 1.0) -> None:
        """Backpropagate from this Value, accumulating d(self)/d(leaf) into every leaf's grad.

        Follows PyTorch: leaf gradients accumulate across calls (twice gives exactly double);
        gradients of intermediate nodes are recomputed from zero on every call (and kept, so
        that they can be shown). If a gradient becomes infinite or undefined, a
        :class:`GradientError` names the node and every ``.grad`` is left as it was.
        """
        order = topological_order(self)
        # Two flat lists rather than (leaf, grad) pairs: a graph can have many leaves, and
        # every tuple would be one more object for the garbage collector to track.
        leaves = [node for node in order if node._a is None]
        previous_grads = [leaf.grad for leaf in leaves]
        for node in order:
            node.grad = 0.0
        self.grad = as_float(gradient, "backward", " gradient")
        try:
            _propagate(order)
        except GradientError:
            for node in order:
                node.grad = 0.0
            for leaf, grad in zip(leaves, previous_grads, strict=True):
                leaf.grad = grad
            raise
        for leaf, grad in zip(leaves, previous_grads, strict=True):
            leaf.grad += grad

    def zero_grad(self) -> None:
        """Set the gradient of every node of this Value's graph (itself included) to 0."""
        for node in topological_order(self):
            node.grad = 0.0


def _propagate(order: list[Value]) -> None:
    """The chain rule, node by node in reverse topological order: each node hands
    upstream gradient x local derivative to each of its inputs.

    Local derivatives come from the node's primitive; for the commonest operations the
    primitive already says what they are (a fixed number for add and sub, the other input for
    mul), which saves a call per input and gives exactly the same floats.
    """
    node = None
    try:
        for node in reversed(order):
            upstream = node.grad
            if upstream - upstream:
                raise GradientError(f"backward: the gradient of {describe(node)} became {upstream}")
            a = node._a
            if a is None or not upstream:
                continue
            op = node._op
            b = node._b
            if b is None:
                a.grad += upstream * op.derivatives[0](a.data, node.data)
            elif op.swaps_inputs:
                if a._op is not CONSTANT:
                    a.grad += upstream * b.data
                if b._op is not CONSTANT:
                    b.grad += upstream * a.data
            elif op.constant_derivatives is not None:
                slope_a, slope_b = op.constant_derivatives
                if a._op is not CONSTANT:
                    a.grad += upstream * slope_a
                if b._op is not CONSTANT:
                    b.grad += upstream * slope_b
            else:
                derivative_a, derivative_b = op.derivatives
                if a._op is not CONSTANT:
                    a.grad += upstream * derivative_a(a.data, b.data, node.data)
                if b._op is not CONSTANT:
                    b.grad += upstream * derivative_b(a.data, b.data, node.data)
    except GradientError:
        raise
    except (ArithmeticError, ValueError) as error:  # a local derivative divided by zero...
        raise GradientError(
            f"backward: the local derivative of {describe(node)} is infinite or undefined "
            f"at {node._op.write(*(repr(i.data) for i in node.inputs))} ({error})"
        ) from None


def describe(node: Value) -> str:
    """A short name for a node in messages: its label, or its operation and value."""
    if node.label:
        return f"{node.label!r} ({node.op or 'leaf'}, data={node.data!r})"
    return f"the {node.op or 'leaf'} node with data={node.data!r}"


# -- recording ---------------------------------------------------------------------------------

CONSTANT = Primitive("const", "{x}", float, (), ())
_allocate = object.__new__


def _node(data: float, op: Primitive, a: Value | None, b: Value | None) -> Value:
    # Bypasses __init__'s validation: data was computed by a primitive and already checked.
    node = _allocate(Value)
    node.data = data
    node.grad = 0.0
    node.label = None
    node.scope = _scope
    if _recording:
        node._op = op
        node._a = a
        node._b = b
    else:
        node._op = node._a = node._b = None
    return node


# _unary and _binary run once per operation: they build the node themselves (the body of
# _node, repeated) because a function call per node costs a tenth of the forward pass.


def _unary(op: Primitive, a: Value) -> Value:
    try:
        data = op.forward(a.data)
    except FORWARD_ERRORS as error:
        raise op.forward_error(error, (a.data,)) from None
    if data - data:
        raise op.forward_error(OverflowError(), (a.data,))
    node = _allocate(Value)
    node.data = data
    node.grad = 0.0
    node.label = None
    node.scope = _scope
    if _recording:
        node._op = op
        node._a = a
        node._b = None
    else:
        node._op = node._a = node._b = None
    return node


def _binary(op: Primitive, a: Value, b: Value) -> Value:
    try:
        data = op.forward(a.data, b.data)
    except FORWARD_ERRORS as error:
        raise op.forward_error(error, (a.data, b.data)) from None
    if data - data:
        raise op.forward_error(OverflowError(), (a.data, b.data))
    node = _allocate(Value)
    node.data = data
    node.grad = 0.0
    node.label = None
    node.scope = _scope
    if _recording:
        node._op = op
        node._a = a
        node._b = b
    else:
        node._op = node._a = node._b = None
    return node


def _operand(op: Primitive, other: object) -> Value:
    """``other`` as an input of ``op``: a Value as it is, a number as a new constant node."""
    if isinstance(other, Value):
        return other
    if type(other) is float and not other - other:  # the common case: a finite float
        return _node(other, CONSTANT, None, None)
    return _node(as_float(other, op.name, " operand"), CONSTANT, None, None)


def constant(number: Number) -> Value:
    """A Value that is a fixed number: no gradient is ever computed for it."""
    return _node(as_float(number, "constant"), CONSTANT, None, None)


def _data(x: object) -> float:
    return x.data if isinstance(x, Value) else as_float(x, "comparison")


def apply(op: Primitive, operands: tuple[Any, ...]) -> Any:
    """Apply ``op``: to floats, giving a float; to Values (or a mix), giving a recorded Value."""
    if len(operands) != op.arity:
        raise OperandTypeError(f"{op.name} takes {op.arity} operand(s), got {len(operands)}")
    if not any(isinstance(x, Value) for x in operands):
        return op.evaluate(*(as_float(x, op.name) for x in operands))
    if op.arity == 1:
        return _unary(op, operands[0])
    return _binary(op, _operand(op, operands[0]), _operand(op, operands[1]))


# -- recording switches ------------------------------------------------------------------------


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block operations compute values but record no graph (like ``torch.no_grad``)."""
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


def is_recording() -> bool:
    return _recording


@contextmanager
def scope(name: str) -> Iterator[tuple[str, ...]]:
    """Tag every Value created inside the block with ``name`` (nested blocks make a path).

    nn modules use it so that a rendered graph can group a neuron's or a layer's nodes.
    """
    global _scope
    previous = _scope
    _scope = (*previous, name)
    try:
        yield _scope
    finally:
        _scope = previous
