"""The numpy backend: a traced program as array code, every node an array over a batch.

The same :class:`~chainrule.engine.compile.Trace` that :mod:`.codegen` turns into Python on
floats is written out here with every per-sample node a 1-D numpy array (one entry per sample)
and every captured Value (a model's parameters) a scalar broadcast over the batch. Each line
still comes from the primitive table: the forward and derivative code texts are translated by
an :mod:`ast` transformer (``a if c else b`` becomes ``np.where(c, a, b)``, ``or`` becomes
``np.logical_or``, comparisons stay elementwise, the table's functions become numpy ufuncs
with the same semantics, ``sigmoid`` keeps its overflow-free form). Nothing restates a formula.

Numbers. Arithmetic (``+ - * /``), comparisons, ``sqrt``, ``sin``, ``cos`` and ``fabs`` are
the same IEEE operations as on floats, so a program made only of them (a relu MLP with the
hinge loss) gives every sample bitwise eager's value and gradients. numpy's ``exp``, ``log``,
``log1p``, ``tanh``, ``tan`` and ``power`` are its own (SIMD) implementations and may differ
from the C library's in the last bit, so programs using them agree with eager to about 1e-15
relative per operation. Gradients of captured Values are summed over the batch by numpy
(pairwise summation), in another order than a Python loop: they agree to rounding.

Layers. In a program whose parameter gradients are summed over the batch (training), the
sums of products a layer of neurons records (``w_j0*x0 + w_j1*x1 + ... + b_j`` for every
neuron j, over the same inputs) are lifted to one matrix product ``W @ X + b`` forward and
two backward (``dW = dZ @ X.T``, already summed over the batch, and ``dX = W.T @ dZ``). The
graph is unchanged; only the order of the additions inside each sum differs (and the matrix
product may fuse a multiply and an add), so those sums agree with eager's to rounding.

Errors. The forward pass runs with numpy's floating-point errors raising (overflow, division
by zero, an invalid operation such as ``log(-1)``); the backward pass computes every local
derivative with errors ignored, keeps the eager rule that a zero upstream gradient passes
nothing on (``np.where(upstream != 0, upstream * local, 0)``, so an infinite slope where no
gradient flows does not count) and checks the leaves' gradients for anything not finite (a
non-finite gradient anywhere reaches every leaf below it). A guard must hold for every sample.
Whenever anything goes wrong the caller runs the exact per-sample path instead, which raises
the eager engine's own error (or, if the check was too cautious, gives the result).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..autograd import _argnum_tuple, _contains_value, value_and_grad
from ..primitives import Primitive
from ..value import CONSTANT, Value
from .codegen import (
    GuardFailed,
    NonFinite,
    _can_raise,
    _fill,
    _is_atom,
    _literal,
    _Names,
    guards_by_position,
    name_nodes,
    program_order,
    program_roots,
)
from .tracing import Guard, Trace, trace

#: The table's functions as numpy functions of the same meaning (name in the generated code).
NUMPY_FUNCTIONS = {
    "exp": "np.exp", "log": "np.log", "log1p": "np.log1p", "sqrt": "np.sqrt",
    "tanh": "np.tanh", "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "fabs": "np.fabs",
    "power": "np.power", "sigmoid": "np_sigmoid", "softplus": "np_softplus",
    "log_sigmoid": "np_log_sigmoid",
}
_HELPERS = {"np", "np_sigmoid", "np_softplus", "np_log_sigmoid", "all_finite", "GuardFailed",
            "NonFinite", "errors_raise", "errors_ignore", "seeds", "inputs", "captured",
            "sum_rows", "leaf_rows", "sums", "rest_index"}


class Untranslatable(TypeError):
    """Code of the primitive table that the numpy backend has no translation for."""


def _require_numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise ImportError("the numpy backend needs numpy: pip install 'chainrule[fast]'") from None
    return numpy


class _ToNumpy(ast.NodeTransformer):
    """Float code of the primitive table as elementwise numpy code."""

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return _call("np.where", [node.test, node.body, node.orelse])

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        function = "np.logical_or" if isinstance(node.op, ast.Or) else "np.logical_and"
        result = node.values[0]
        for value in node.values[1:]:
            result = _call(function, [result, value])
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return _call("np.logical_not", [node.operand])
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        left, pairs = node.left, []  # a < b < c: (a < b) and (b < c), elementwise
        for op, right in zip(node.ops, node.comparators, strict=True):
            pairs.append(ast.Compare(left=left, ops=[op], comparators=[right]))
            left = right
        result: ast.expr = pairs[0]
        for pair in pairs[1:]:
            result = _call("np.logical_and", [result, pair])
        return result

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.func, ast.Name) or node.func.id not in NUMPY_FUNCTIONS:
            raise Untranslatable(f"numpy backend: no translation for {ast.unparse(node)!r}")
        node.func = ast.parse(NUMPY_FUNCTIONS[node.func.id], mode="eval").body
        return node


def _call(function: str, arguments: list[ast.expr]) -> ast.Call:
    return ast.Call(func=ast.parse(function, mode="eval").body, args=arguments, keywords=[])


@functools.cache
def translate(code: str) -> str:
    """A forward or derivative code text of the primitive table, as numpy code.

    >>> translate("1.0 if x > 0.0 else 0.0")
    'np.where(x > 0.0, 1.0, 0.0)'
    """
    tree = ast.parse(code, mode="eval")
    return ast.unparse(ast.fix_missing_locations(_ToNumpy().visit(tree)))


def namespace() -> dict[str, Any]:
    """What generated numpy programs refer to."""
    np = _require_numpy()

    def np_sigmoid(x: Any) -> Any:
        # The float function's two branches, both computed from exp(-|x|), which never
        # overflows: exp(-x) for x >= 0 and exp(x) for x < 0, the same floats.
        z = np.exp(-np.fabs(x))
        return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))

    def np_softplus(x: Any) -> Any:
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.fabs(x)))

    def np_log_sigmoid(x: Any) -> Any:
        return np.minimum(x, 0.0) - np.log1p(np.exp(-np.fabs(x)))

    def all_finite(rows: list[Any]) -> bool:
        return all(bool(np.isfinite(row).all()) for row in rows)

    def sum_rows(rows: list[Any], n: int) -> Any:
        """Each gradient summed over the batch (a number is the same on every sample)."""
        if not rows:
            return np.zeros(0)
        try:
            stacked = np.stack(rows)
        except ValueError:  # arrays and numbers mixed
            stacked = np.stack([np.broadcast_to(r, (n,)) for r in rows])
        if stacked.ndim == 1:
            return stacked * n
        return stacked.sum(axis=1)

    return {
        "np": np, "np_sigmoid": np_sigmoid, "np_softplus": np_softplus,
        "np_log_sigmoid": np_log_sigmoid, "all_finite": all_finite, "sum_rows": sum_rows,
        "GuardFailed": GuardFailed, "NonFinite": NonFinite,
        "errors_raise": lambda: np.errstate(over="raise", divide="raise", invalid="raise",
                                            under="ignore"),
        "errors_ignore": lambda: np.errstate(all="ignore"),
    }


@dataclass
class BatchProgram:
    """A traced program as numpy code, and how to call it (see :func:`generate`)."""

    source: str
    name: str
    trace: Trace
    captured: list[Value]
    wrt: list[Value]
    run: Callable[..., Any]

    def __call__(self, inputs: Any, seeds: Sequence[Any] = (1.0,)) -> tuple[list[Any], Any]:
        """Run on ``inputs``, an array of shape (number of trace inputs, batch size), with
        the captured Values' current numbers; ``seeds`` are the upstream gradients of the
        seeded outputs (arrays over the batch, or numbers). Returns the outputs (arrays, or
        numbers for outputs that do not depend on the samples) and the gradients."""
        np = _require_numpy()
        captured = np.array([c._data for c in self.captured], dtype=np.float64)
        result: tuple[list[Any], Any] = self.run(inputs, captured, tuple(seeds))
        return result


def generate(trace: Trace, wrt: Sequence[Value] | None, name: str, *,
             seeded: Sequence[int] = (0,), summed: bool = True,
             lift: bool = True) -> BatchProgram:
    """The numpy program of ``trace``, a function ``(inputs, captured, seeds)``.

    ``inputs`` holds one row per input leaf of the trace (a sample per column); ``captured``
    the numbers of the captured Values. The program returns the outputs and, with ``wrt``,
    the gradient of ``sum_k seeds[k] * outputs[seeded[k]]`` with respect to each of ``wrt``:
    summed over the batch (an array, one entry per ``wrt``) when ``summed``, else per sample
    (a list of arrays or numbers). Several seeded outputs serve several programs at once: a
    classifier's loss for each class, each sample seeding the one of its own class.

    With ``lift`` (and ``summed``), sums of products of parameters and per-sample values that
    share their inputs (a layer's neurons, ``w0*x0 + w1*x1 + ... + b``) run as one matrix
    product forward and two backward (see :func:`_find_layers`).
    """
    order = program_order(trace)
    position = {node: i for i, node in enumerate(order)}
    names = _Names()
    names.taken.update(_HELPERS)
    text, captured = name_nodes(trace, order, names)
    # Which nodes are arrays over the batch: the inputs and everything computed from them.
    varying = set(trace.inputs)
    for node in order:
        if node._a is not None and any(i in varying for i in node.inputs):
            varying.add(node)
    layers: list[_Layer] = []
    if lift and summed and wrt is not None:
        layers = _find_layers(order, program_roots(trace), set(wrt), varying, set(captured))
    lifted = {node: layer for layer in layers for node in layer.members}
    first_top = {min(layer.tops, key=position.__getitem__): k for k, layer in enumerate(layers)}
    slot = {c: i for i, c in enumerate(captured)}
    constants: dict[str, Any] = {}
    for k, layer in enumerate(layers):
        constants[f"layer{k}_w"] = [[slot[w] for w in row] for row in layer.weights]
        constants[f"layer{k}_b"] = [slot[b] if b is not None else -1 for b in layer.biases]

    lines = [f"def {name}(inputs, captured, seeds):"]
    body: list[str] = []
    if captured:
        body.append(f"{_unpacked([text[v] for v in captured])} = captured")
    if trace.inputs:
        body.append(f"{_unpacked([text[v] for v in trace.inputs])} = inputs")
    guards_after = guards_by_position(trace, position)
    body.append("with errors_raise():  # forward: an overflow or a domain error raises")
    forward: list[str] = []
    for index, node in enumerate(order):
        op = node._primitive
        if node in first_top:
            forward.extend(_lifted_forward(first_top[node], layers[first_top[node]], text))
        elif node in lifted:
            pass  # computed by its layer's matrix product
        elif node._a is not None and op is not None:
            operands = [text[i] for i in node.inputs]
            code = _fill(translate(op.forward_code), op.input_names, operands)
            forward.append(f"{text[node]} = {code}  # {op.write(*operands)}")
        forward.extend(_guard_line(g, text) for g in guards_after.get(index, []))
    body.extend("    " + line for line in forward or ["pass"])

    outputs = [text[o] if isinstance(o, Value) else _literal(o) for o in trace.outputs]
    if wrt is None:
        body.append(f"return {_tuple(outputs)}, None")
    else:
        seed_roots = [trace.outputs[k] for k in seeded]
        backward, defined = _backward(order, seed_roots, text, varying, lifted, first_top,
                                      layers)
        body.extend(backward)
        leaves = [n for n in order if n in defined and n._a is None]
        gradients = [f"d_{text[w]}" if w in defined else "0.0" for w in wrt]
        if layers:
            wrt_position = {w: i for i, w in enumerate(wrt)}
            in_layers = {w: (k, j, i) for k, layer in enumerate(layers)
                         for j, row in enumerate(layer.weights) for i, w in enumerate(row)}
            biases = {b: (k, j) for k, layer in enumerate(layers)
                      for j, b in enumerate(layer.biases) if b is not None}
            rest = [i for i, w in enumerate(wrt) if w not in in_layers and w not in biases]
            constants["rest_index"] = rest
            body.append(f"sums = np.zeros({len(wrt)})")
            body.append("sums[rest_index] = sum_rows([" + ", ".join(gradients[i] for i in rest)
                        + "], inputs.shape[1])")
            for k, layer in enumerate(layers):
                constants[f"layer{k}_w_at"] = [[wrt_position[w] for w in row]
                                               for row in layer.weights]
                body.append(f"if dW{k} is not None: sums[layer{k}_w_at] = dW{k}")
                with_bias = [(j, b) for j, b in enumerate(layer.biases) if b is not None]
                if with_bias:
                    constants[f"layer{k}_b_rows"] = [j for j, _ in with_bias]
                    constants[f"layer{k}_b_at"] = [wrt_position[b] for _, b in with_bias]
                    body.append(f"if dW{k} is not None: "
                                f"sums[layer{k}_b_at] = dB{k}[layer{k}_b_rows]")
            others = [f"d_{text[n]}" for n in leaves if n not in set(wrt)]
            body.append(f"leaf_rows = [sums, {', '.join(others)}]")
            body.append("if not all_finite(leaf_rows): raise NonFinite  # eager then says where")
            body.append(f"return {_tuple(outputs)}, sums")
        elif summed:
            # A sum is not finite when any of its terms is not (or, rarely, when it overflows:
            # then the exact path runs, to no harm), so the sums stand for the wrt leaves.
            others = [f"d_{text[n]}" for n in leaves if n not in set(wrt)]
            body.append(f"sums = sum_rows([{', '.join(gradients)}], inputs.shape[1])")
            body.append(f"leaf_rows = [sums, {', '.join(others)}]")
            body.append("if not all_finite(leaf_rows): raise NonFinite  # eager then says where")
            body.append(f"return {_tuple(outputs)}, sums")
        else:
            body.append(f"leaf_rows = [{', '.join(f'd_{text[n]}' for n in leaves)}]")
            body.append("if not all_finite(leaf_rows): raise NonFinite  # eager then says where")
            body.append(f"return {_tuple(outputs)}, [{', '.join(gradients)}]")
    lines.extend("    " + line for line in body)
    source = "\n".join(lines) + "\n"
    scope = namespace()
    np = scope["np"]
    scope.update({key: np.array(value, dtype=np.intp) for key, value in constants.items()})
    exec(compile(source, f"<chainrule numpy program {name}>", "exec"), scope)
    return BatchProgram(source, name, trace, captured, list(wrt or ()), scope[name])


def _guard_line(guard: Guard, text: dict[Value, str]) -> str:
    other = text[guard.other] if isinstance(guard.other, Value) else _literal(guard.other)
    condition = f"{text[guard.value]} {guard.operator} {other}"
    test = f"not np.all({condition})" if guard.outcome else f"np.any({condition})"
    return f"if {test}: raise GuardFailed  # traced: {condition} was {guard.outcome} (every sample)"


def _tuple(items: Sequence[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _unpacked(items: Sequence[str]) -> str:
    return f"{items[0]}," if len(items) == 1 else ", ".join(items)


def _backward(order: list[Value], seed_roots: Sequence[Any], text: dict[Value, str],
              varying: set[Value], lifted: dict[Value, _Layer] | None = None,
              first_top: dict[Value, int] | None = None, layers: Sequence[_Layer] = ()
              ) -> tuple[list[str], set[Value]]:
    """The backward pass's lines (the chain-rule module's rules, elementwise) and the nodes
    that get a gradient variable."""
    lines = ["# backward: each node hands upstream x local derivative to its inputs",
             "with errors_ignore():  # not finite where no gradient flows is fine: masked"]
    defined: set[Value] = set()
    for k, root in enumerate(seed_roots):
        if not isinstance(root, Value) or root._primitive is CONSTANT:
            continue
        target = f"d_{text[root]}"
        lines.append(f"    {target} = {target} + seeds[{k}]" if root in defined
                     else f"    {target} = seeds[{k}]")
        defined.add(root)
    for k in range(len(layers)):
        lines.append(f"    dW{k} = dB{k} = None")
    for node in reversed(order):
        op = node._primitive
        if first_top and node in first_top:
            k = first_top[node]
            lines.extend("    " + line for line in _lifted_backward(k, layers[k], text, defined))
            continue
        if lifted and node in lifted:
            continue  # its layer's matrix products hand on its gradient
        if node._a is None or op is None or node not in defined:
            continue
        upstream = f"d_{text[node]}"
        conditional = any(_can_raise(op.derivative_code[slot])
                          for slot, i in enumerate(node.inputs) if i._primitive is not CONSTANT)
        for slot, input_node in enumerate(node.inputs):
            if input_node._primitive is CONSTANT:
                continue
            lines.append("    " + _contribution(op, slot, node, input_node, upstream, text,
                                                input_node not in defined, conditional))
            defined.add(input_node)
    if len(lines) == 2:
        lines.append("    pass")
    return lines, defined


def _contribution(op: Primitive, slot: int, node: Value, input_node: Value, upstream: str,
                  text: dict[Value, str], first: bool, conditional: bool) -> str:
    operands = [text[i] for i in node.inputs]
    comment = f"  # d/d{operands[slot]} {op.write(*operands)} = " \
              f"{_fill(op.formulas[slot], op.input_names, operands)}"
    code = op.derivative_code[slot]
    target = f"d_{text[input_node]}"
    if code == "1.0":
        product = upstream
    elif code == "-1.0":
        product = f"-{upstream}"
    else:
        local = _fill(translate(code), (*op.input_names, "out"), (*operands, text[node]))
        product = f"{upstream} * {local if _is_atom(local) else f'({local})'}"
        if conditional:  # rule 2: a zero upstream passes nothing on, whatever the slope
            product = f"np.where({upstream} != 0.0, {product}, 0.0)"
    if first:
        return f"{target} = {product}{comment}"
    # Never in place: a gradient may be the very array of another node's gradient.
    return f"{target} = {target} + {product}{comment}"


# -- layers lifted to matrix products ------------------------------------------------------


@dataclass
class _Layer:
    """Sums of products ``w_j0*x0 + w_j1*x1 + ... (+ b_j)`` over the same inputs ``x``."""

    inputs: list[Value]
    tops: list[Value]  # each sum's last node, in the layer's order
    weights: list[list[Value]]
    biases: list[Value | None]
    members: set[Value]  # every node the matrix products compute


def _find_layers(order: list[Value], roots: Sequence[Value], wrt: set[Value],
                 varying: set[Value], captured: set[Value]) -> list[_Layer]:
    """The sums of products a layer of neurons records, grouped by their inputs.

    A sum qualifies when it is a ``dot`` node or a chain of ``add`` nodes over ``mul`` nodes,
    each product of a
    parameter (a captured Value in ``wrt`` used nowhere else) and a per-sample value, plus at
    most one such parameter added at either end (the bias), and when nothing outside the chain
    uses its inner nodes. Its value is then one row of ``W @ X + b``.
    """
    uses: dict[Value, int] = {}
    for node in order:
        for i in node.inputs:
            uses[i] = uses.get(i, 0) + 1
    seen = set(roots)

    def parameter(v: Value) -> bool:
        return v in captured and v in wrt and uses.get(v) == 1 and v not in seen

    def inner(v: Value) -> bool:
        return uses.get(v) == 1 and v not in seen

    def product(v: Value) -> tuple[Value, Value] | None:
        if v._primitive is None or v._primitive.name != "mul" or not inner(v):
            return None
        a, b = v.inputs
        if parameter(a) and b in varying:
            return a, b
        if parameter(b) and a in varying:
            return b, a
        return None

    def chain(top: Value) -> tuple[list[tuple[Value, Value]], Value | None, set[Value]] | None:
        members = {top}
        bias = None
        node = top
        if node._primitive is not None and node._primitive.name == "add" and parameter(node.inputs[1]) \
                and node.inputs[0]._primitive is not None and inner(node.inputs[0]):
            bias, node = node.inputs[1], node.inputs[0]
            members.add(node)
        terms: list[tuple[Value, Value]] = []
        while True:
            if node._primitive is None:
                return None
            if node._primitive.name == "dot":  # the whole sum of products in one node
                n = len(node.inputs) // 2
                weights, xs = node.inputs[:n], node.inputs[n:]
                if (node is not top and not inner(node)) or not all(
                        parameter(w) and x in varying for w, x in zip(weights, xs, strict=True)):
                    return None
                terms.extend(reversed(list(zip(weights, xs, strict=True))))  # reversed with the chain's
                break
            if node._primitive.name == "mul":
                term = product(node) if node is not top else _top_product(node, parameter)
                if term is None:
                    return None
                terms.append(term)
                break
            if node._primitive.name != "add":
                return None
            left, right = node.inputs
            term = product(right)
            if term is None:
                return None
            terms.append(term)
            members.add(right)
            if bias is None and parameter(left):  # micrograd's sum(..., b): the bias first
                bias = left
                break
            if left._primitive is None or not inner(left):
                return None
            members.add(left)
            node = left
        terms.reverse()
        return terms, bias, members

    groups: dict[tuple[Value, ...], _Layer] = {}
    claimed: set[Value] = set()
    for node in reversed(order):  # tops before their inner nodes
        if node in claimed or node._primitive is None or \
                node._primitive.name not in ("add", "mul", "dot"):
            continue
        found = chain(node)
        if found is None:
            continue
        terms, bias, members = found
        inputs = tuple(x for _, x in terms)
        layer = groups.get(inputs)
        if layer is None:
            layer = groups[inputs] = _Layer(list(inputs), [], [], [], set())
        layer.tops.append(node)
        layer.weights.append([w for w, _ in terms])
        layer.biases.append(bias)
        layer.members |= members
        claimed |= members
    position = {node: i for i, node in enumerate(order)}
    layers = []
    for group in sorted(groups.values(), key=lambda g: min(position[t] for t in g.tops)):
        ranked = sorted(range(len(group.tops)), key=lambda j: position[group.tops[j]])
        group.tops = [group.tops[j] for j in ranked]
        group.weights = [group.weights[j] for j in ranked]
        group.biases = [group.biases[j] for j in ranked]
        layers.append(group)
    return layers


def _top_product(node: Value, parameter: Callable[[Value], bool]) -> tuple[Value, Value] | None:
    """A lone product at the top of a chain (a neuron of one input) may be used many times."""
    a, b = node.inputs
    if parameter(a):
        return a, b
    if parameter(b):
        return b, a
    return None


def _lifted_forward(k: int, layer: _Layer, text: dict[Value, str]) -> list[str]:
    inputs = ", ".join(text[x] for x in layer.inputs)
    bias = (f" + np.where(layer{k}_b >= 0, captured[layer{k}_b], 0.0)[:, None]"
            if any(b is not None for b in layer.biases) else "")
    return [
        f"# layer {k}: {len(layer.tops)} sums of {len(layer.inputs)} products, as W @ X + b",
        f"X{k} = np.stack(np.broadcast_arrays({inputs}, np.empty(inputs.shape[1]))[:-1])",
        f"W{k} = captured[layer{k}_w]",
        f"Z{k} = W{k} @ X{k}{bias}",
        f"if not np.isfinite(Z{k}).all(): raise NonFinite  # matmul does not raise",
        f"{_unpacked([text[t] for t in layer.tops])} = Z{k}",
    ]


def _lifted_backward(k: int, layer: _Layer, text: dict[Value, str],
                     defined: set[Value]) -> list[str]:
    flowing = [t for t in layer.tops if t in defined]
    if not flowing:
        return [f"# layer {k}: no gradient reaches it"]
    rows = ", ".join(f"d_{text[t]}" if t in defined else "0.0" for t in layer.tops)
    lines = [f"# layer {k}: dW = dZ @ X.T (summed over the batch), dX = W.T @ dZ",
             f"dZ{k} = np.stack(np.broadcast_arrays({rows}, np.empty(inputs.shape[1]))[:-1])",
             f"dW{k} = dZ{k} @ X{k}.T",
             f"dB{k} = dZ{k}.sum(axis=1)",
             f"dX{k} = W{k}.T @ dZ{k}"]
    for i, x in enumerate(layer.inputs):
        if x._primitive is CONSTANT:
            continue
        target = f"d_{text[x]}"
        lines.append(f"{target} = {target} + dX{k}[{i}]" if x in defined
                     else f"{target} = dX{k}[{i}]")
        defined.add(x)
    return lines


# -- functions over batches: vectorize -------------------------------------------------------


class Vectorized:
    """A function compiled by :func:`vectorize`; call it with 1-D arrays (see there)."""

    def __init__(self, function: Callable[..., Any], mode: str,
                 argnums: int | tuple[int, ...] | None) -> None:
        self.function = function
        self.mode = mode  # "value", "value_and_grad" or "grad"
        self.argnums = argnums
        self.name = getattr(function, "__name__", "f")
        self._programs: dict[int, list[BatchProgram]] = {}
        self.__doc__ = getattr(function, "__doc__", None)

    def _eager_one(self, numbers: Sequence[float]) -> Any:
        if self.mode == "value":
            result = self.function(*[Value(x) for x in numbers])
            if not isinstance(result, Value):
                from ..errors import OperandTypeError

                raise OperandTypeError(f"vectorize({self.name}): the function must return one "
                                       f"Value, got {type(result).__name__}")
            return result._data
        result = value_and_grad(self.function, self.argnums)(*numbers)  # type: ignore[arg-type]
        return result if self.mode == "value_and_grad" else result[1]

    def __call__(self, *args: Any) -> Any:
        np = _require_numpy()
        if _contains_value(args):
            raise TypeError(f"vectorize({self.name}): give numbers or arrays, not Values")
        columns, n = _columns(args, self.name)
        batch = np.ascontiguousarray(np.array(columns, dtype=np.float64).reshape(len(args), n))
        for program in self._programs.get(len(args), ()):
            try:
                return self._run(program, batch)
            except (GuardFailed, NonFinite, ArithmeticError):
                break
        else:
            if len(self._programs.get(len(args), ())) < 8:
                built = self._build(batch[:, 0].tolist())
                if built is not None:
                    self._programs.setdefault(len(args), []).append(built)
                    try:
                        return self._run(built, batch)
                    except (GuardFailed, NonFinite, ArithmeticError):
                        pass
        return self._per_sample(batch)

    def _build(self, example: list[float]) -> BatchProgram | None:
        traced = trace(self.function, example, self.name)
        if traced.output_structure is not None or not isinstance(traced.outputs[0], Value):
            return None  # not one Value: the per-sample path says what is wrong
        wrt = None
        if self.mode != "value":
            wrt = [traced.inputs[n]
                   for n in _argnum_tuple(self.argnums, len(example), "vectorize")]  # type: ignore[arg-type]
        return generate(traced, wrt, "vectorized_" + "".join(
            c if c.isalnum() else "_" for c in self.name), summed=False)

    def _run(self, program: BatchProgram, batch: Any) -> Any:
        np = _require_numpy()
        n = batch.shape[1]
        (value,), gradients = program(batch)
        value = np.broadcast_to(value, (n,)).copy()
        if self.mode == "value":
            return value
        grads = tuple(np.broadcast_to(g, (n,)).copy() for g in gradients)
        grouped = grads[0] if isinstance(self.argnums, int) else grads
        return (value, grouped) if self.mode == "value_and_grad" else grouped

    def _per_sample(self, batch: Any) -> Any:
        """Sample by sample on the eager engine: its results, or its error for the first
        sample that has one."""
        np = _require_numpy()
        results = [self._eager_one(column) for column in batch.T.tolist()]
        if self.mode == "value":
            return np.array(results, dtype=np.float64)
        if self.mode == "value_and_grad":
            values = np.array([r[0] for r in results], dtype=np.float64)
            gradients = [r[1] for r in results]
        else:
            values, gradients = None, results
        if isinstance(self.argnums, int):
            grouped: Any = np.array(gradients, dtype=np.float64)
        else:
            grouped = tuple(np.array(column, dtype=np.float64) for column in zip(*gradients, strict=True))
        return (values, grouped) if self.mode == "value_and_grad" else grouped

    def source(self, *args: Any) -> str:
        """The numpy program that runs for these arguments (tracing it first if needed)."""
        self(*args)
        programs = self._programs.get(len(args))
        if not programs:
            raise RuntimeError(f"vectorize({self.name}): no numpy program for these arguments")
        return programs[-1].source


def _columns(args: Sequence[Any], name: str) -> tuple[list[list[float]], int]:
    """Each argument as a list of n numbers: 1-D arrays (all of one length n) as they are,
    numbers repeated n times."""
    np = _require_numpy()
    arrays = [np.asarray(a) for a in args]
    lengths = {a.shape[0] for a in arrays if a.ndim == 1}
    if any(a.ndim > 1 for a in arrays) or len(lengths) > 1:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"vectorize({name}): every argument must be a number or a 1-D array, "
                         f"all of one length; got shapes {shapes}")
    n = lengths.pop() if lengths else 1
    if n == 0:
        raise ValueError(f"vectorize({name}): the arrays are empty")
    columns = []
    for index, a in enumerate(arrays):
        values = a.tolist() if a.ndim == 1 else [a.item()] * n
        for k, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                from ..errors import OperandTypeError

                where = f"argument {index}" + (f"[{k}]" if a.ndim == 1 else "")
                raise OperandTypeError(
                    f"vectorize({name}): {where} must be a finite number, got {v!r:.40}")
        columns.append([float(v) for v in values])
    return columns, n


def vectorize(function: Callable[..., Any]) -> Vectorized:
    """Compile ``function`` to numpy array code that runs it on a whole batch at once.

    ``function`` takes numbers (scalars) and returns one Value. The compiled function takes
    1-D arrays of one length n (numbers are repeated), and gives what calling ``function``
    on each position would: ``vectorize(f)(xs)`` is the array of ``f(x)`` for x in xs, and
    ``vectorize(value_and_grad(f, argnums))(...)`` gives the values and the per-sample
    gradients as arrays (``grad(f)`` too). The program is traced once (on the first sample),
    like :func:`jit`'s, from the same primitive table; a comparison it relied on must come out
    the same on every sample, else (and on any error) the batch runs sample by sample on the
    eager engine, which raises its own error. Needs numpy (``pip install 'chainrule[fast]'``).

    >>> import numpy as np
    >>> from chainrule.engine import value_and_grad
    >>> from chainrule.engine.compile import vectorize
    >>> f = vectorize(value_and_grad(lambda w, x: (w * x).tanh(), argnums=0))
    >>> values, dw = f(np.array([0.5, -1.0]), 2.0)
    >>> dw.shape
    (2,)
    """
    _require_numpy()
    transform = getattr(function, "__chainrule_transform__", None)
    if transform is not None:
        mode, inner, argnums = transform
        return Vectorized(inner, mode, argnums)
    return Vectorized(function, "value", None)

