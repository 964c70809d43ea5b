"""The chain rule, written once: the rules every gradient path follows.

``Value.backward()``, :func:`~chainrule.engine.gradients` (and so ``grad``), the walkthrough's
trace and the compiler's generated code all backpropagate by these rules:

1. **Order.** Nodes are visited in reverse :func:`~chainrule.engine.topological_order` of the
   root; each hands ``upstream * local`` to its inputs, first input first, and an input's
   gradient is the running sum of what it is handed, in that order.
2. **Zeros.** A node whose gradient is exactly 0 passes nothing on: its local derivatives are
   not evaluated. So zero times infinity is zero: in ``sqrt(x) * 0`` at x = 0 the infinite slope
   of ``sqrt`` is never used and ``x`` gets 0 (PyTorch's masking gives 0 in the same places).
   When gradients are built as Values to be differentiated again (``create_graph=True``), a
   gradient is a function, and only one that is identically 0 (a plain number: from a constant,
   or from the flat side of ``relu``) passes nothing on; one that merely is 0 at this point
   (``x / (2 + sin(x))`` at x = 0 hands ``2 + sin(x)`` the gradient ``-x / (2 + sin(x))^2``)
   still carries its derivative.
3. **Constants** (numbers used as operands) never receive a gradient, whatever their position.
4. **Errors.** A gradient that is not finite when its node is reached, or a local derivative
   that cannot be evaluated (``sqrt`` at 0, ``log`` of a negative base in ``d/dy x ** y``),
   raises :class:`~chainrule.engine.GradientError` naming the node.
5. **Unchanged data.** A graph in which some Value's ``.data`` was set after a node was
   computed from it is refused (the optimizer's update between one step's backward and the next
   step's forward is the usual, correct order), and so is a root computed under ``no_grad()``.

The local derivatives come from the primitive table as code: evaluated on floats here (the
functions compiled in :mod:`~chainrule.engine.primitives`) and on Values for gradients of
gradients (the same text compiled once more with the recorded operations as its functions).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import GradientError, OperandTypeError
from .graph import INPUT_TUPLE, topological_order, topological_order_until
from .primitives import FORWARD_ERRORS, PRIMITIVES, Primitive, compile_expression
from .value import CONSTANT, Value, apply, as_float, describe, enable_grad

#: What evaluating a local derivative may raise; each becomes a GradientError naming the node.
DERIVATIVE_ERRORS = FORWARD_ERRORS


def reverse_order(root: Value) -> list[Value]:
    """Rule 1: the order in which the chain rule visits ``root``'s graph."""
    order = topological_order(root)
    order.reverse()
    return order


def check_unchanged(order: list[Value], root: Value, caller: str) -> None:
    """Rule 5: refuse a graph in which a Value's data was set after a node was computed from it
    (the local derivatives would mix old and new numbers), as PyTorch's version counter does;
    and a root computed under ``no_grad()``, which has no graph (PyTorch raises too)."""
    if root._version < 0:
        raise GradientError(
            f"{caller}: {describe(root)} was computed under no_grad(), so no graph was "
            "recorded and there is nothing to backpropagate through; compute it outside "
            "no_grad() (or inside enable_grad())"
        )
    # Each node against its own inputs: a node is stamped with the data clock when it is
    # created, so an input whose data was set later is newer than its consumer. Nodes stamped
    # with the root's own time (in a training step, every node of the forward pass) can only
    # have inputs that are newer than the root, which the first test finds on the input itself:
    # they are skipped, which keeps this loop as cheap as one comparison per node.
    newest = root._version
    for node in order:
        stamp = node._version
        if stamp == newest:
            continue
        if stamp > newest:
            raise _changed_after(caller, node, root)
        if node._a is not None:  # not a leaf: any number of inputs (dot, sum)
            for changed in node.inputs:
                if changed._version > stamp:
                    raise _changed_after(caller, changed, node)


def _changed_after(caller: str, changed: Value, node: Value) -> GradientError:
    return GradientError(
        f"{caller}: {describe(changed)} was changed (its .data set) after {describe(node)} was "
        "computed from it, so its gradient would mix old and new numbers; compute the result "
        "again from the new data, then backpropagate"
    )


#: Rule 4's messages (the JavaScript runtime of compiled pages reads them too).
NON_FINITE_GRADIENT = "{caller}: the gradient of {name} became {gradient}"
UNDEFINED_DERIVATIVE = ("{caller}: the local derivative of {name} is infinite or undefined at "
                        "{at} ({reason})")


def non_finite_gradient(caller: str, node: Value, gradient: float,
                        name: str | None = None) -> GradientError:
    """Rule 4, for a gradient that overflowed to inf (or became NaN) on its way. ``name``
    describes the node (the walkthrough uses the learner's names)."""
    return GradientError(NON_FINITE_GRADIENT.format(caller=caller, name=name or describe(node),
                                                    gradient=gradient))


def derivative_error(caller: str, node: Value, error: Exception,
                     name: str | None = None) -> GradientError:
    """Rule 4, for a local derivative that could not be evaluated."""
    primitive = node._primitive
    assert primitive is not None
    at = primitive.write(*(repr(i._data) for i in node.inputs))
    reason = str(error) or type(error).__name__
    return GradientError(UNDEFINED_DERIVATIVE.format(caller=caller, name=name or describe(node),
                                                     at=at, reason=reason))


# -- eager backward: floats into .grad --------------------------------------------------------------


def backward(root: Value, gradient: object = 1.0) -> None:
    """``root.backward(gradient)``: see :meth:`Value.backward`."""
    seed = as_float(gradient, "backward", " gradient")  # checked before anything is touched
    order = reverse_order(root)
    check_unchanged(order, root, "backward")
    # Two flat lists rather than (leaf, grad) pairs: a graph can have many leaves, and every
    # tuple would be one more object for the garbage collector to track.
    leaves = [node for node in order if node._a is None and node._primitive is not CONSTANT]
    previous_grads = [leaf.grad for leaf in leaves]
    intermediate_grads = [node.grad for node in order]
    for node in order:
        node.grad = 0.0
    root.grad = seed
    try:
        _propagate(order)
        for leaf, grad in zip(leaves, previous_grads, strict=True):
            total = leaf.grad + grad
            if total - total:
                raise GradientError(
                    f"backward: the accumulated gradient of {describe(leaf)} became {total} "
                    f"(its previous .grad {grad!r} plus this call's {leaf.grad!r})"
                )
            leaf.grad = total
    except GradientError:
        # Leave every .grad as it was before this call.
        for node, grad in zip(order, intermediate_grads, strict=True):
            node.grad = grad
        raise


def _propagate(order: list[Value]) -> None:
    """The rules above on floats, writing ``.grad``: the engine's hot loop.

    For the commonest operations the primitive table already says what the local derivatives
    are (fixed numbers for add and sub, the other input for mul), which saves a call per input
    and gives exactly the same floats (tests/test_hot_paths.py checks it).
    """
    node = order[0]
    try:
        for node in order:
            upstream = node.grad
            if upstream - upstream:
                raise non_finite_gradient("backward", node, upstream)
            a = node._a
            if a is None or not upstream:
                continue
            op: Primitive = node._primitive  # type: ignore[assignment]  # a node with inputs has one
            b = node._b
            if b is None:
                if type(a) is INPUT_TUPLE:
                    _propagate_n_ary(node, op, a, upstream)  # type: ignore[arg-type]
                elif a._primitive is not CONSTANT:
                    a.grad += upstream * op.derivatives[0](a._data, node._data)
            elif op.swaps_inputs:
                if a._primitive is not CONSTANT:
                    a.grad += upstream * b._data
                if b._primitive is not CONSTANT:
                    b.grad += upstream * a._data
            elif op.constant_derivatives is not None:
                slope_a, slope_b = op.constant_derivatives
                if a._primitive is not CONSTANT:
                    a.grad += upstream * slope_a
                if b._primitive is not CONSTANT:
                    b.grad += upstream * slope_b
            else:
                derivative_a, derivative_b = op.derivatives
                if a._primitive is not CONSTANT:
                    a.grad += upstream * derivative_a(a._data, b._data, node._data)
                if b._primitive is not CONSTANT:
                    b.grad += upstream * derivative_b(a._data, b._data, node._data)
    except GradientError:
        raise
    except DERIVATIVE_ERRORS as error:
        raise derivative_error("backward", node, error) from None


def _propagate_n_ary(node: Value, op: Primitive, inputs: tuple[Value, ...],
                     upstream: float) -> None:
    """One n-ary node's contributions (``dot``, ``sum``), in input order."""
    partners = op.partners
    if partners is not None:  # dot: each weight's local derivative is its input, and back
        for input_node, partner in zip(inputs, partners, strict=True):
            if input_node._primitive is not CONSTANT:
                input_node.grad += upstream * inputs[partner]._data
    elif op.constant_derivatives is not None:  # sum: each input's local derivative is 1
        for input_node, slope in zip(inputs, op.constant_derivatives, strict=True):
            if input_node._primitive is not CONSTANT:
                input_node.grad += upstream * slope
    else:
        operands = [i._data for i in inputs]
        for input_node, derivative in zip(inputs, op.derivatives, strict=True):
            if input_node._primitive is not CONSTANT:
                input_node.grad += upstream * derivative(*operands, node._data)


# -- the general form: any number type, no side effects ----------------------------------------------


def local_gradients(
    caller: str, node: Value, upstream: Any, operands: Sequence[Any], out: Any,
    derivatives: Sequence[Callable[..., Any]], name: str | None = None,
) -> list[tuple[int, Any, Any]]:
    """Rules 2 to 4 for one node: ``(slot, local, upstream * local)`` for each input that
    receives a gradient (none when ``upstream`` is 0), in input order.

    On Values (``create_graph``) only a plain-number 0 counts as zero, upstream or local."""
    if is_zero(upstream):
        return []
    handed = []
    # An n-ary node's local derivatives are its operands or numbers: read them directly, not
    # through calls that would copy all 2n operands for each input.
    op: Primitive = node._primitive  # type: ignore[assignment]  # a node with inputs has one
    partners = op.partners if op.family is not None else None
    slopes = op.constant_derivatives if op.family is not None else None
    try:
        for slot, (input_node, derivative) in enumerate(zip(node.inputs, derivatives,
                                                            strict=True)):
            if input_node._primitive is CONSTANT:
                continue
            if partners is not None:
                local = operands[partners[slot]]
            elif slopes is not None:
                local = slopes[slot]
            else:
                local = derivative(*operands, out)
            handed.append((slot, local, 0.0 if is_zero(local) else upstream * local))
    except DERIVATIVE_ERRORS as error:
        raise derivative_error(caller, node, error, name) from None
    return handed


def is_zero(gradient: Any) -> bool:
    """Rule 2's test: a number equal to 0 (a Value is a function, never identically 0)."""
    return type(gradient) is not Value and not gradient


def gradient_map(root: Value, seed: Any, create_graph: bool, caller: str) -> dict[Value, Any]:
    """Every node's gradient, by the rules above, in a table of its own (no ``.grad`` is
    touched). With ``create_graph`` the gradients are Values whose graphs can be differentiated
    again; constants then enter as plain numbers, so what is built from them stays constant."""
    grads: dict[Value, Any] = {root: seed}
    order = reverse_order(root)
    check_unchanged(order, root, caller)
    for node in order:
        upstream = grads.get(node, 0.0)
        value = upstream._data if isinstance(upstream, Value) else upstream
        if value - value:
            raise non_finite_gradient(caller, node, value)
        primitive = node._primitive
        if node._a is None or primitive is None:
            continue
        if create_graph:
            operands = [i._data if i._primitive is CONSTANT else i for i in node.inputs]
            with enable_grad():
                handed = local_gradients(caller, node, upstream, operands, node,
                                         value_derivatives(primitive))
        else:
            operands = [i._data for i in node.inputs]
            handed = local_gradients(caller, node, upstream, operands, node._data,
                                     primitive.derivatives)
        inputs = node.inputs
        for slot, _, contribution in handed:
            input_node = inputs[slot]
            previous = grads.get(input_node)
            if previous is None:
                # backward() adds to a gradient that starts at 0.0, so a -0.0 contribution
                # becomes 0.0 there: the same here (a Value stays itself: it is a function).
                grads[input_node] = contribution if create_graph else 0.0 + contribution
            else:
                with enable_grad():
                    grads[input_node] = previous + contribution
    return grads


# -- derivative code on Values ------------------------------------------------------------------------

_VALUE_DERIVATIVES: dict[Primitive, tuple[Callable[..., Any], ...]] = {}


def _value_namespace() -> dict[str, Callable[..., Any]]:
    """The names derivative code may call, as functions that record when given Values."""

    def recorded(primitive: Primitive) -> Callable[..., Any]:
        return lambda *operands: apply(primitive, operands)

    return {p.function: recorded(p) for p in PRIMITIVES.values() if p.function is not None}


def value_derivatives(primitive: Primitive) -> tuple[Callable[..., Any], ...]:
    """The primitive's derivative code compiled to work on Values (and numbers)."""
    if primitive.family is not None:
        return primitive.derivatives  # inputs picked and numbers: the same on Values
    compiled = _VALUE_DERIVATIVES.get(primitive)
    if compiled is None:
        namespace = _value_namespace()
        compiled = tuple(
            compile_expression(code, (*primitive.input_names, "out"), namespace, primitive.name)
            for code in primitive.derivative_code
        )
        _VALUE_DERIVATIVES[primitive] = compiled
    return compiled


def check_root(root: object, caller: str) -> Value:
    if not isinstance(root, Value):
        raise OperandTypeError(f"{caller}: root must be a Value, got {type(root).__name__}")
    return root


# -- the rules as a schedule: what compiled programs run ---------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """Rule 1 for one node of a compiled program's backward pass: the node hands
    ``upstream * local`` to ``inputs``, each ``(slot, input, first)``, in this order; ``first``
    marks an input's first contribution (its running sum starts there)."""

    node: Value
    inputs: tuple[tuple[int, Value, bool], ...]


def backward_schedule(roots: Sequence[Value], stops: Collection[Value] = ()
                      ) -> tuple[list[Handoff], list[Value]]:
    """Rules 1 and 3 worked out ahead of time, for code that backpropagates without a graph:
    the handoffs in order (reverse topological order of ``roots``, first input first,
    constants getting nothing) and every node that receives a gradient, in the order it first
    does. Nodes in ``stops`` pass nothing on and their inputs are not walked (a detached value,
    a value computed under ``no_grad``: eager made them leaves). Rule 2 (a zero gradient
    passes nothing on) is the caller's to apply at run time, to the handoffs as given."""
    order = topological_order_until(roots, stops)
    order.reverse()
    reached = [root for root in dict.fromkeys(roots) if root._primitive is not CONSTANT]
    receiving = set(reached)
    handoffs = []
    for node in order:
        if node not in receiving or node._a is None or node in stops:
            continue
        inputs = []
        for slot, input_node in enumerate(node.inputs):
            if input_node._primitive is CONSTANT:
                continue
            first = input_node not in receiving
            if first:
                receiving.add(input_node)
                reached.append(input_node)
            inputs.append((slot, input_node, first))
        handoffs.append(Handoff(node, tuple(inputs)))
    return handoffs, reached
