"""A plan as numpy array code: every per-sample slot an array over a batch.

The same :class:`~.plan.Plan` that :mod:`.emit_python` writes on floats is written here with
every slot that depends on the inputs a 1-D array (one entry per sample) and every captured
Value (a model's parameters) a number broadcast over the batch. The table's code texts are
written through :mod:`.renderings` in the numpy dialect: ``a if c else b`` becomes
``np.where(c, a, b)``, ``or`` becomes ``np.logical_or``, comparisons stay elementwise, the
table's functions become numpy functions of the same meaning (``sigmoid`` keeps its
overflow-free form). Nothing restates a formula or a rule of the chain rule.

Numbers. Arithmetic (``+ - * /``), comparisons, ``sqrt``, ``sin``, ``cos`` and ``fabs`` are
the same IEEE operations as on floats, so a program made only of them gives every sample
bitwise eager's value and gradients. numpy's ``exp``, ``log``, ``log1p``, ``tanh``, ``tan``
and ``power`` are its own (SIMD) implementations and may differ from the C library's in the
last bit. Gradients of captured Values are summed over the batch by numpy (pairwise), and a
lifted layer (:func:`~.plan.lift_layers`) adds its products in another order: those agree
with eager to rounding.

Errors. The forward pass runs with numpy's floating-point errors raising; the backward pass
evaluates a guarded step's local derivatives with errors ignored and keeps rule 2 by masking
(``np.where(upstream != 0, upstream * local, 0)``), and the gradients where backpropagation
ends are checked for anything not finite. A guard must hold for every sample. Whenever
anything goes wrong the caller runs the exact per-sample path instead.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..value import Value
from .emit_python import GuardFailed, NonFinite, Writer, tuple_of, unpacked
from .plan import (
    BackStep,
    Check,
    Layer,
    LayerBackward,
    LayerMap,
    LayerMapBackward,
    Plan,
    Step,
)
from .renderings import Dialect, comment, render


def require_numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise ImportError("the numpy backend needs numpy: pip install 'chainrule[fast]'") from None
    return numpy


class _ArraySyntax(ast.NodeTransformer):
    """Python's scalar syntax as elementwise numpy: conditionals, ``and``/``or``/``not`` and
    chained comparisons."""

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


def _call(function: str, arguments: list[ast.expr]) -> ast.Call:
    return ast.Call(func=ast.parse(function, mode="eval").body, args=arguments, keywords=[])


#: numpy over a batch: the renderings' numpy names, and array syntax.
NUMPY = Dialect("numpy", _ArraySyntax)


def namespace() -> dict[str, Any]:
    """What generated numpy programs refer to."""
    np = require_numpy()

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
            return stacked * n + 0.0
        return stacked.sum(axis=1) + 0.0

    return {
        "np": np, "np_sigmoid": np_sigmoid, "np_softplus": np_softplus,
        "np_log_sigmoid": np_log_sigmoid, "all_finite": all_finite, "sum_rows": sum_rows,
        "GuardFailed": GuardFailed, "NonFinite": NonFinite,
        "errors_raise": lambda: np.errstate(over="raise", divide="raise", invalid="raise",
                                            under="ignore"),
        "errors_ignore": lambda: np.errstate(all="ignore"),
    }


class _NumpyWriter(Writer):
    dialect = NUMPY


@dataclass
class BatchProgram:
    """A plan as numpy code, and how to call it (see :func:`emit_numpy`)."""

    source: str
    plan: Plan
    captured: list[Value]
    run: Any

    def __call__(self, inputs: Any, seeds: Sequence[Any] = (1.0,)) -> tuple[list[Any], Any]:
        """Run on ``inputs``, an array of shape (number of inputs, batch size), with the
        captured Values' current numbers; ``seeds`` are the upstream gradients of the seeded
        outputs (arrays over the batch, or numbers). Returns the outputs (arrays, or numbers
        for outputs that do not depend on the samples) and the gradients."""
        np = require_numpy()
        captured = np.array([c._data for c in self.captured], dtype=np.float64)
        result: tuple[list[Any], Any] = self.run(inputs, captured, tuple(seeds))
        return result


def emit_numpy(plan: Plan, summed: bool = True) -> BatchProgram:
    """The numpy program of ``plan``: ``program(inputs, captured, seeds)``.

    ``inputs`` holds one row per input of the plan (a sample per column), ``captured`` the
    numbers of the captured Values. It returns the outputs and, with a backward pass, the
    gradient of ``sum_k seeds[k] * output_k`` over the seeded outputs with respect to each
    ``wrt``: summed over the batch (an array) when ``summed``, else per sample (a list).
    """
    w = _NumpyWriter(plan)
    np = require_numpy()
    constants: dict[str, Any] = {}
    at_captured = {slot: i for i, slot in enumerate(plan.captured_slots)}
    maps = {i.layer.index: i for i in plan.forward if isinstance(i, LayerMap)}
    lines = ["def program(inputs, captured, seeds):", f"    # traced from {comment(plan.name)}"]
    body: list[str] = []
    if plan.captured_slots:
        body.append(f"{unpacked([w.name(s) for s in plan.captured_slots])} = captured")
    if plan.inputs:
        body.append(f"{unpacked([w.name(s) for s in plan.inputs])} = inputs")
    body.append("with errors_raise():  # forward: an overflow or a domain error raises")
    forward: list[str] = []
    for item in plan.forward:
        if isinstance(item, Step):
            forward.append(w.forward_line(item))
        elif isinstance(item, Check):
            condition = w.condition(item)
            test = f"not np.all({condition})" if item.outcome else f"np.any({condition})"
            forward.append(f"if {test}: raise GuardFailed  # {w.check_comment(item)} "
                           "(every sample)")
        elif isinstance(item, LayerMap):
            forward.extend(_layer_map(item, w))
        else:
            forward.extend(_layer_forward(item.layer, w, constants, at_captured, maps))
    body.extend("    " + line for line in forward or ["pass"])
    outputs = tuple_of([w.name(o) for o in plan.outputs])
    if plan.backward is None:
        body.append(f"return {outputs}, None")
    else:
        body.extend(_backward(plan, w))
        body.extend(_gradients(plan, w, summed, constants))
        body.append(f"return {outputs}, gradients")
    lines.extend("    " + line for line in body)
    source = "\n".join(lines) + "\n"
    scope = namespace()
    scope.update({key: np.array(value, dtype=np.intp) for key, value in constants.items()})
    exec(compile(source, f"<chainrule numpy program {plan.name}>", "exec"), scope)
    return BatchProgram(source, plan, plan.captured, scope["program"])


def _backward(plan: Plan, w: Writer) -> list[str]:
    lines = ["# backward: each node hands upstream x local derivative to its inputs",
             "with errors_ignore():  # not finite where no gradient flows is fine: masked"]
    seeded: set[int] = set()
    for k, slot in plan.seeds:
        target = w.gradient(slot)
        lines.append(f"    {target} = {target} + seeds[{k}]" if slot in seeded
                     else f"    {target} = seeds[{k}]")
        seeded.add(slot)
    for item in plan.backward or ():
        if isinstance(item, LayerBackward):
            lines.extend("    " + line for line in _layer_backward(item, plan, w))
            continue
        if isinstance(item, LayerMapBackward):
            lines.extend("    " + line for line in _layer_map_backward(item, plan))
            continue
        upstream = w.gradient(item.step.slot)
        for c in item.contributions:
            local = w.local(item.step, c.position)
            product = upstream if local is None else f"{upstream} * {local}"
            if item.guarded:  # rule 2: a zero upstream passes nothing on, whatever the slope
                product = f"np.where({upstream} != 0.0, {product}, 0.0)"
            target = w.gradient(c.target)
            # Never in place: a gradient may be the very array of another node's gradient.
            code = product if c.first else f"{target} + {product}"
            lines.append(f"    {target} = {code}  # {w.formula(item.step, c.position)}")
    if len(lines) == 2:
        lines.append("    pass")
    return lines


def _gradients(plan: Plan, w: Writer, summed: bool, constants: dict[str, Any]) -> list[str]:
    """The ``wrt`` gradients (summed over the batch, or per sample), and the check that
    every gradient where backpropagation ends is finite."""
    passing = {i.step.slot for i in plan.backward or () if isinstance(i, BackStep)}
    passing |= {a for i in plan.backward or () if isinstance(i, LayerMapBackward)
                for a in i.map.outputs}
    layers = [i.layer for i in plan.backward or () if isinstance(i, LayerBackward)]
    lifted = {s for layer in layers for row in layer.weights for s in row} | {
        b for layer in layers for b in layer.biases if b is not None}
    passing |= {t for layer in layers for t in layer.tops}
    ends = [w.gradient(s) for s in plan.gradients if s not in passing and s not in lifted]
    lines = []
    if not summed:
        gradients = [f"0.0 + {w.gradient(s)}" if s is not None else "0.0" for s in plan.wrt]
        lines.append(f"gradients = [{', '.join(gradients)}]")
    else:
        rest = [(k, s) for k, s in enumerate(plan.wrt) if s is not None and s not in lifted]
        constants["rest_index"] = [k for k, _ in rest]
        lines.append(f"gradients = np.zeros({len(plan.wrt)})")
        lines.append("gradients[rest_index] = sum_rows([" + ", ".join(
            w.gradient(s) for _, s in rest) + "], inputs.shape[1])")
        at = {s: k for k, s in enumerate(plan.wrt) if s is not None}
        for layer in layers:  # each a matrix of the wrt positions of its weights
            k = layer.index
            constants[f"layer{k}_w_at"] = [[at[s] for s in row] for row in layer.weights]
            lines.append(f"gradients[layer{k}_w_at] = dW{k} + 0.0")
            with_bias = [(j, b) for j, b in enumerate(layer.biases) if b is not None]
            if with_bias:
                constants[f"layer{k}_b_rows"] = [j for j, _ in with_bias]
                constants[f"layer{k}_b_at"] = [at[b] for _, b in with_bias]
                lines.append(f"gradients[layer{k}_b_at] = dB{k}[layer{k}_b_rows] + 0.0")
        ends.append("gradients")
    lines.append(f"if not all_finite([{', '.join(ends)}]): raise NonFinite"
                 "  # eager then says where")
    return lines


def _layer_forward(layer: Layer, w: Writer, constants: dict[str, Any],
                   at_captured: dict[int, int], maps: dict[int, LayerMap]) -> list[str]:
    k = layer.index
    # The previous layer's activations, already one matrix: its rows are these inputs.
    previous = next((f"A{m.layer.index}" for m in maps.values()
                     if m.outputs == layer.inputs), None)
    constants[f"layer{k}_w"] = [[at_captured[s] for s in row] for row in layer.weights]
    constants[f"layer{k}_b"] = [at_captured[b] if b is not None else -1 for b in layer.biases]
    inputs = ", ".join(w.name(x) for x in layer.inputs)
    bias = (f" + np.where(layer{k}_b >= 0, captured[layer{k}_b], 0.0)[:, None]"
            if any(b is not None for b in layer.biases) else "")
    stacked = previous or f"np.stack(np.broadcast_arrays({inputs}, np.empty(inputs.shape[1]))[:-1])"
    lines = [
        f"# layer {k}: {len(layer.tops)} sums of {len(layer.inputs)} products, as W @ X + b",
        f"X{k} = {stacked}",
        f"W{k} = captured[layer{k}_w]",
        f"Z{k} = W{k} @ X{k}{bias}",
        f"if not np.isfinite(Z{k}).all(): raise NonFinite  # matmul does not raise",
    ]
    if k not in maps:  # else only the activation reads the sums, as the matrix Z
        lines.append(f"{unpacked([w.name(t) for t in layer.tops])} = Z{k}")
    return lines


def _layer_map(item: LayerMap, w: Writer) -> list[str]:
    k = item.layer.index
    code = render(item.primitive.forward_code, {item.primitive.input_names[0]: f"Z{k}"}, NUMPY)
    return [f"A{k} = {code}  # {item.primitive.name} of every row of layer {k}",
            f"{unpacked([w.name(a) for a in item.outputs])} = A{k}"]


def _layer_map_backward(item: LayerMapBackward, plan: Plan) -> list[str]:
    m = item.map
    k = m.layer.index
    received = set(plan.gradients)
    w = _NumpyWriter(plan)
    rows = ", ".join(w.gradient(a) if a in received else "0.0" for a in m.outputs)
    local = render(m.primitive.derivative_code[0],
                   {m.primitive.input_names[0]: f"Z{k}", "out": f"A{k}"}, NUMPY)
    product = f"dA{k} * ({local})"
    if m.guarded:  # rule 2: a zero upstream passes nothing on, whatever the slope
        product = f"np.where(dA{k} != 0.0, {product}, 0.0)"
    return [f"# layer {k}: {m.primitive.derivative_formula(0)}, for every row at once",
            f"dA{k} = np.stack(np.broadcast_arrays({rows}, np.empty(inputs.shape[1]))[:-1])",
            f"dZ{k} = {product}"]


def _layer_backward(item: LayerBackward, plan: Plan, w: Writer) -> list[str]:
    layer, k = item.layer, item.layer.index
    received = set(plan.gradients)
    mapped = any(isinstance(i, LayerMap) and i.layer.index == k for i in plan.forward)
    rows = ", ".join(w.gradient(t) if t in received else "0.0" for t in layer.tops)
    lines = [f"# layer {k}: dW = dZ @ X.T (summed over the batch), dX = W.T @ dZ"]
    if not mapped:  # else dZ is the activation's backward
        lines.append(
            f"dZ{k} = np.stack(np.broadcast_arrays({rows}, np.empty(inputs.shape[1]))[:-1])")
    lines += [f"dW{k} = dZ{k} @ X{k}.T",
             f"dB{k} = dZ{k}.sum(axis=1)",
             f"dX{k} = W{k}.T @ dZ{k}"]
    for i, (x, first) in enumerate(zip(layer.inputs, item.firsts, strict=True)):
        if isinstance(x, int):
            target = w.gradient(x)
            lines.append(f"{target} = dX{k}[{i}]" if first else f"{target} = {target} + dX{k}[{i}]")
    return lines

