"""A plan as straight-line Python on floats: what :func:`~chainrule.engine.compile.jit` runs.

Every line writes down one item of the :class:`~.plan.Plan` through :mod:`.renderings`: the
table's forward code of each step, then the backward pass with each local derivative's code
pasted in and its formula as a comment. The program performs the same float operations in the
same order as the eager engine, calling the same float functions, so its results are equal
(``==``, signed zeros included) to eager's. It does not check each step: when anything goes
wrong (an exception, a number that is not finite, a guard that no longer holds) it stops, and
the caller runs the eager engine, which raises exactly the error eager raises.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..primitives import FUNCTIONS
from ..value import Value
from .plan import (
    Check,
    Layer,
    LayerBackward,
    LayerForward,
    LayerMapBackward,
    Plan,
    Ref,
    Step,
)
from .renderings import PYTHON, Dialect, MissingRendering, comment, is_atom, literal, render


class GuardFailed(Exception):
    """A comparison the trace relied on came out differently: trace again."""


class NonFinite(Exception):
    """A value or gradient is not finite: let the eager engine say where."""


@dataclass
class Generated:
    """A program's source and what its caller needs to run it."""

    source: str
    name: str
    captured: list[Value]  # leaves read from outside the arguments, by their current .data
    line_count: int

    def compile(self) -> Any:
        namespace: dict[str, Any] = {
            **FUNCTIONS, "fsum": math.fsum, "GuardFailed": GuardFailed, "NonFinite": NonFinite,
            "reduce": functools.reduce, "add": operator.add, "mul": operator.mul,
        }
        exec(compile(self.source, f"<chainrule program {self.name}>", "exec"), namespace)
        return namespace["program"]


class Writer:
    """What both emitters write the same way: names of slots, operands, comments, guards' and
    backward lines' shapes. An emitter subclasses it for its dialect."""

    dialect: Dialect = PYTHON

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def name(self, ref: Ref) -> str:
        return literal(ref) if isinstance(ref, float) else f"v{ref}"

    def gradient(self, slot: int) -> str:
        return f"d_v{slot}"

    def written(self, step: Step) -> str:
        """The step as a person writes it, with labels: for comments."""
        assert step.primitive is not None
        return comment(step.primitive.write(*(self.plan.describe(o) for o in step.operands)))

    def expression(self, step: Step) -> str:
        if step.primitive is None:
            return self.name(step.operands[0])
        operands = dict(zip(step.primitive.input_names,
                            (self.name(o) for o in step.operands), strict=True))
        return render(step.primitive.forward_code, operands, self.dialect)

    def forward_line(self, step: Step) -> str:
        target = self.name(step.slot)
        label = self.plan.labels.get(step.slot)
        if step.primitive is None:
            return (f"{target} = {self.expression(step)}  # {comment(label or target)} = "
                    f"{comment(self.plan.describe(step.operands[0]))}, passing no gradient back")
        code = self.expression(step)
        said = self.written(step)
        named = f"{comment(label)} = " if label else ""
        note = f"  # {named}{said}" if named or said.replace(" ", "") != code.replace(" ", "") \
            else ""
        return f"{target} = {code}{note}"

    def condition(self, check: Check) -> str:
        return f"{self.name(check.left)} {check.operator} {self.name(check.right)}"

    def check_comment(self, check: Check) -> str:
        said = f"{self.plan.describe(check.left)} {check.operator} {self.plan.describe(check.right)}"
        return f"traced: {comment(said)} was {check.outcome}"

    def local(self, step: Step, position: int) -> str | None:
        """``upstream *`` what, for one contribution (None: the derivative is 1)."""
        assert step.primitive is not None
        code = step.primitive.derivative_code[position]
        if code == "1.0":
            return None
        names = (*step.primitive.input_names, "out")
        operands = (*(self.name(o) for o in step.operands), self.name(step.slot))
        text = render(code, dict(zip(names, operands, strict=True)), self.dialect)
        return text if is_atom(text) else f"({text})"

    def formula(self, step: Step, position: int) -> str:
        assert step.primitive is not None
        described = [self.plan.describe(o) for o in step.operands]
        formula = _fill_formula(step.primitive.formulas[position], step.primitive.input_names,
                                described)
        written = step.primitive.write(*described)
        if not (written.endswith(")") and "(" in written and written[0].isalpha()):
            written = f"({written})"
        return comment(f"d/d{described[position]} {written} = {formula}")


def _fill_formula(formula: str, names: Sequence[str], operands: Sequence[str]) -> str:
    """A human formula with its input names replaced by ``operands``, all at once."""
    by_name = dict(zip(names, operands, strict=True))
    return re.sub(r"(?<![\w.])[A-Za-z_]\w*", lambda m: by_name.get(m.group(0), m.group(0)),
                  formula)


def emit_python(plan: Plan, accumulate: bool = False) -> Generated:
    """The program of ``plan`` as Python source.

    It defines ``program(inputs, captured)``, two tuples of floats, returning the outputs (a
    tuple), followed with a backward pass by the tuple of the ``wrt`` gradients. With
    ``accumulate`` it takes ``(samples, captured)`` instead, a list of input tuples, runs on
    each, and returns the list of their outputs and the sums of their gradients: a training
    step's loop over a batch, inside the generated code.
    """
    if plan.backward is not None and len(plan.seeds) > 1:
        raise MissingRendering("the Python emitter seeds one output")
    w = Writer(plan)
    lines = [f"def program({'samples' if accumulate else 'inputs'}, captured):",
             f"    # traced from {comment(plan.name)}"]
    body: list[str] = []
    if plan.captured_slots:
        lines.append(f"    {unpacked([w.name(s) for s in plan.captured_slots])} = captured"
                     f"  # {comment(', '.join(plan.describe(s) for s in plan.captured_slots))}"
                     ", read at each call")
    if plan.inputs:
        body.append(f"{unpacked([w.name(s) for s in plan.inputs])} = inputs"
                    f"  # {comment(', '.join(plan.describe(s) for s in plan.inputs))}")
    body.append("# forward")
    for item in plan.forward:
        if isinstance(item, Step):
            body.append(w.forward_line(item))
        elif isinstance(item, Check):
            negation = "not " if item.outcome else ""
            body.append(f"if {negation}({w.condition(item)}): raise GuardFailed"
                        f"  # {w.check_comment(item)}")
        elif isinstance(item, LayerForward):
            body.extend(_layer_forward(item.layer, w))
        else:
            raise MissingRendering("the Python emitter writes activations row by row")
    if plan.overflow_checked:
        body.extend(_finite_check([w.name(s) for s in plan.overflow_checked]))
    outputs = [w.name(o) for o in plan.outputs]
    gradients: list[str] = []
    if plan.backward is not None:
        body.extend(_backward(plan, w))
        gradients = [f"0.0 + {w.gradient(s)}" if s is not None else "0.0" for s in plan.wrt]
    if not accumulate:
        result = tuple_of(outputs)
        body.append(f"return {result}" if plan.backward is None
                    else f"return {result}, {tuple_of(gradients)}")
        lines.extend("    " + line for line in body)
        return Generated("\n".join(lines) + "\n", plan.name, plan.captured, len(lines))
    sums = [f"s{k}" for k in range(len(plan.wrt))]
    for start in range(0, len(sums), 8):
        lines.append(f"    {' = '.join(sums[start : start + 8])} = 0.0")
    lines.append("    results = []")
    lines.append("    for inputs in samples:")
    body.append(f"results.append({tuple_of(outputs)})")
    body.extend(f"{total} += {w.gradient(s)}" for total, s in zip(sums, plan.wrt, strict=True)
                if s is not None)
    lines.extend("        " + line for line in body)
    lines.append(f"    return results, {tuple_of(sums) if sums else '()'}")
    return Generated("\n".join(lines) + "\n", plan.name, plan.captured, len(lines))


def _backward(plan: Plan, w: Writer) -> list[str]:
    if not plan.seeds:
        return []  # a number (or a constant) is differentiated: every gradient is 0
    lines = ["# backward: each node hands upstream x local derivative to its inputs"]
    (_, root), = plan.seeds
    lines.append(f"{w.gradient(root)} = 1.0")
    seed_line = len(lines)
    initial: list[str] = []  # gradients whose first contribution may be skipped
    for item in plan.backward or ():
        if isinstance(item, LayerBackward):
            lines.extend(_layer_backward(item, w))
            continue
        if isinstance(item, LayerMapBackward):
            raise MissingRendering("the Python emitter writes activations row by row")
        upstream = w.gradient(item.step.slot)
        statements = []
        for c in item.contributions:
            local = w.local(item.step, c.position)
            target = w.gradient(c.target)
            product = upstream if local is None else f"{upstream} * {local}"
            note = f"  # {w.formula(item.step, c.position)}"
            if c.first and not item.guarded:
                statements.append(f"{target} = {product}{note}")
            else:
                if c.first:
                    initial.append(target)
                statements.append(f"{target} += {product}{note}")
        if item.guarded:
            lines.append(f"if {upstream}:  # a zero gradient passes nothing on")
            lines.extend("    " + s for s in statements)
        else:
            lines.extend(statements)
    for start in range(0, len(initial), 8):
        chunk = initial[start : start + 8]
        lines.insert(seed_line + start // 8, f"{' = '.join(chunk)} = 0.0")
    lines.extend(_finite_check([w.gradient(s) for s in plan.gradients]))
    return lines


def _layer_forward(layer: Layer, w: Writer) -> list[str]:
    """A layer's sums of products as C loops: each row a left fold of its products in the
    order eager adds them (``reduce``, never ``sum``, which compensates from Python 3.12)."""
    k = layer.index
    lines = [f"# layer {k}: {len(layer.tops)} sums of {len(layer.inputs)} products, each "
             "folded left in eager's order",
             f"X{k} = {tuple_of([w.name(x) for x in layer.inputs])}"]
    for top, weights, bias, bias_first in zip(layer.tops, layer.weights, layer.biases,
                                              layer.bias_first, strict=True):
        products = f"map(mul, {tuple_of([w.name(s) for s in weights])}, X{k})"
        if bias is None:
            folded = f"reduce(add, {products})"
        elif bias_first:
            folded = f"reduce(add, {products}, {w.name(bias)})"
        else:
            folded = f"reduce(add, {products}) + {w.name(bias)}"
        label = w.plan.labels.get(top)
        lines.append(f"{w.name(top)} = {folded}" + (f"  # {comment(label)}" if label else ""))
    return lines


def _layer_backward(item: LayerBackward, w: Writer) -> list[str]:
    """Each row (in the order eager visits them) hands its gradient times its inputs to its
    weights, and times its weights to its inputs, whose sums start at 0.0 as ``.grad`` does."""
    layer, k = item.layer, item.layer.index
    lines = [f"# layer {k}: d/dw (w * x) = x to the weights, d/dx (w * x) = w to the inputs",
             f"dX{k} = [0.0] * {len(layer.inputs)}"]
    for j in item.rows:
        upstream = w.gradient(layer.tops[j])
        lines.append(f"{unpacked([w.gradient(s) for s in layer.weights[j]])} = "
                     f"map({upstream}.__mul__, X{k})")
        bias = layer.biases[j]
        if bias is not None:
            lines.append(f"{w.gradient(bias)} = {upstream}")
        lines.append(f"dX{k} = list(map(add, dX{k}, map({upstream}.__mul__, "
                     f"{tuple_of([w.name(s) for s in layer.weights[j]])})))")
    lines.append(f"{unpacked([w.gradient(int(x)) for x in layer.inputs])} = dX{k}")
    return lines


def tuple_of(items: Sequence[str]) -> str:
    """A tuple display of program texts."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def unpacked(items: Sequence[str]) -> str:
    """The left side of an assignment that unpacks into ``items``."""
    return f"{items[0]}," if len(items) == 1 else ", ".join(items)


def _finite_check(names: list[str]) -> list[str]:
    # fsum raises on inf - inf and gives inf or nan for any other non-finite term, in C.
    return [f"checked = fsum({tuple_of(names)})",
            "if checked - checked: raise NonFinite  # the eager engine then says where"]
