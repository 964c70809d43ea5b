"""From a traced graph to straight-line Python: every line comes from the primitive table.

The program performs the same float operations in the same order as the eager engine (the
forward functions of :mod:`~chainrule.engine.primitives`, then the rules of
:mod:`~chainrule.engine.chain_rule` with each local derivative's code pasted in), so its
results are equal (``==``) to eager's. What it does not do is check each step: when anything
goes wrong (an exception, a number that is not finite, a guard that no longer holds) it stops,
and the caller runs the eager engine, which raises exactly the error eager raises.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..graph import topological_order
from ..primitives import FUNCTIONS, Primitive
from ..value import CONSTANT, Value
from .tracing import Guard, Trace

_IDENTIFIER = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_NOT_IDENTIFIER = re.compile(r"\W")
#: Functions whose value is finite wherever their input is (derivative code using only these,
#: arithmetic without division and comparisons can never raise).
_TOTAL_FUNCTIONS = {"sigmoid", "sin", "cos", "tanh", "softplus", "log_sigmoid", "fabs"}
#: Python's words and the program's own helpers: never a variable's name.
_RESERVED = set(keyword.kwlist) | set(dir(builtins)) | set(FUNCTIONS) | {
    "fsum", "GuardFailed", "NonFinite", "inputs", "captured", "program",
}


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
        }
        exec(compile(self.source, f"<chainrule program {self.name}>", "exec"), namespace)
        return namespace[self.name]


def _literal(number: float) -> str:
    text = repr(float(number))
    return f"({text})" if text.startswith("-") else text


def _fill(code: str, names: Sequence[str], operands: Sequence[str]) -> str:
    """``code`` with its input names (and ``out``) replaced by ``operands``, all at once."""
    by_name = dict(zip(names, operands, strict=True))
    return _IDENTIFIER.sub(lambda m: by_name.get(m.group(0), m.group(0)), code)


_FOLDABLE: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
}


class _Folder(ast.NodeTransformer):
    """Folds what is fixed once the operands are known: arithmetic on two numbers (the same
    float operation Python would do at run time, so the same result) and a conditional whose
    test is decided by numbers alone (``y * x ** (y - 1.0) if x or y else 0.0`` with y = 2)."""

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


def _constant(number: float) -> ast.AST:
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


def _simplified(code: str) -> str:
    tree = _Folder().visit(ast.parse(code, mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree))


def _is_atom(text: str) -> bool:
    """Whether ``text`` needs no parentheses as an operand of ``*``: a name, a number or one
    function call."""
    expression = ast.parse(text, mode="eval").body
    return isinstance(expression, (ast.Name, ast.Constant, ast.Call))


def _can_raise(code: str) -> bool:
    """Whether evaluating derivative ``code`` on finite numbers may raise (division, powers,
    logarithms...): such a step must be skipped when its gradient is 0, as eager skips it."""
    if "/" in code or "**" in code:
        return True
    called = re.findall(r"([A-Za-z_]\w*)\(", code)
    return any(name not in _TOTAL_FUNCTIONS for name in called)


class _Names:
    """Readable, distinct Python names: labels where there are any, else v1, v2..."""

    def __init__(self) -> None:
        self.taken: set[str] = set(_RESERVED)
        self.counter = 0

    def claim(self, wanted: str | None) -> str:
        if wanted:
            base = _NOT_IDENTIFIER.sub("_", wanted)
            if base[0].isdigit():
                base = f"v_{base}"
            name, suffix = base, 2
            while name in self.taken or f"d_{name}" in self.taken:
                name, suffix = f"{base}_{suffix}", suffix + 1
        else:
            self.counter += 1
            name = f"v{self.counter}"
            while name in self.taken or f"d_{name}" in self.taken:
                self.counter += 1
                name = f"v{self.counter}"
        self.taken.update((name, f"d_{name}"))
        return name


def generate(trace: Trace, wrt: Sequence[Value] | None, name: str,
             accumulate: bool = False) -> Generated:
    """The program of ``trace``: forward (and, with ``wrt``, backward) as Python source.

    The function it defines takes ``(inputs, captured)``, two tuples of floats, and returns
    the outputs (a tuple), followed with ``wrt`` by the tuple of their gradients. With
    ``accumulate`` (and ``wrt``) it takes ``(samples, captured)`` instead, a list of input
    tuples, runs the program on each, and returns the list of their outputs and the sums of
    their gradients: a training step's loop over a batch, inside the generated code.
    """
    order = program_order(trace)
    position = {node: i for i, node in enumerate(order)}
    names = _Names()
    text, captured = name_nodes(trace, order, names)

    lines = [f"def {name}({'samples' if accumulate else 'inputs'}, captured):"]
    body: list[str] = []
    if captured:
        lines.append(f"    {_unpacked([text[v] for v in captured])} = captured  # read at each call")
    if trace.inputs:
        body.append(f"{_unpacked([text[v] for v in trace.inputs])} = inputs")

    guards_after = guards_by_position(trace, position)
    body.append("# forward")
    checked: list[str] = []
    for index, node in enumerate(order):
        op = node._primitive
        if node._a is not None and op is not None:
            operands = [text[i] for i in node.inputs]
            code = _fill(op.forward_code, op.input_names, operands)
            written = op.write(*operands)
            comment = f"  # {written}" if written.replace(" ", "") != code.replace(" ", "") else ""
            body.append(f"{text[node]} = {code}{comment}")
            if re.search(r"[-+*/]", op.forward_code):
                checked.append(text[node])  # arithmetic on floats can overflow without raising
        for guard in guards_after.get(index, []):
            body.append(_guard_line(guard, text))
    if checked:
        body.extend(_finite_check(checked))

    outputs = [text[o] if isinstance(o, Value) else _literal(o) for o in trace.outputs]
    gradient_names: list[str] = []
    if wrt is None:
        body.append(f"return {_tuple(outputs)}")
    else:
        backward, defined = _backward(order, trace, text)
        body.extend(backward)
        gradient_names = [f"d_{text[w]}" if w in defined else "0.0" for w in wrt]
        if not accumulate:
            body.append(f"return {_tuple(outputs)}, {_tuple(gradient_names)}")
    if accumulate and wrt is not None:
        sums = [names.claim(f"sum_{text[w]}") for w in wrt]
        for start in range(0, len(sums), 8):
            lines.append(f"    {' = '.join(sums[start : start + 8])} = 0.0")
        lines.append("    results = []")
        lines.append("    for inputs in samples:")
        body.append(f"results.append({_tuple(outputs)})")
        body.extend(f"{total} += {g}" for total, g in zip(sums, gradient_names, strict=True)
                    if g != "0.0")
        lines.extend("        " + line for line in body)
        lines.append(f"    return results, {_tuple(sums) if sums else '()'}")
        source = "\n".join(lines) + "\n"
        return Generated(source, name, captured, len(lines))
    lines.extend("    " + line for line in body)
    source = "\n".join(lines) + "\n"
    return Generated(source, name, captured, len(lines))


def program_roots(trace: Trace) -> list[Value]:
    """What a program must compute: the outputs that are Values and what the guards compare."""
    roots = [o for o in trace.outputs if isinstance(o, Value)]
    for guard in trace.guards:
        roots.append(guard.value)
        if isinstance(guard.other, Value):
            roots.append(guard.other)
    return roots


def program_order(trace: Trace) -> list[Value]:
    """Every node a program computes, in evaluation order."""
    roots = program_roots(trace)
    return topological_order(*roots) if roots else []


def name_nodes(trace: Trace, order: Sequence[Value], names: _Names
               ) -> tuple[dict[Value, str], list[Value]]:
    """Each node's text in a program (the argument names for inputs, labels where there are
    any, literals for constants), and the captured leaves (read from outside the arguments)."""
    input_set = set(trace.inputs)
    text: dict[Value, str] = {}
    for leaf, leaf_name in zip(trace.inputs, trace.input_names, strict=True):
        text[leaf] = names.claim(leaf_name)
    captured = [
        node for node in order
        if node._a is None and node._primitive is not CONSTANT and node not in input_set
    ]
    for node in captured:
        text[node] = names.claim(node.label or "c")
    for node in order:
        if node._primitive is CONSTANT:
            text[node] = _literal(node._data)
        elif node not in text:
            text[node] = names.claim(node.label)
    return text, captured


def guards_by_position(trace: Trace, position: dict[Value, int]) -> dict[int, list[Guard]]:
    """Each guard under the position (in the program's order) of the later of its operands:
    a guard is checked as soon as what it compares is computed, before anything that relied
    on it."""
    guards_after: dict[int, list[Guard]] = {}
    for guard in trace.guards:
        compared = [guard.value] + ([guard.other] if isinstance(guard.other, Value) else [])
        guards_after.setdefault(max(position[v] for v in compared), []).append(guard)
    return guards_after


def _guard_line(guard: Guard, text: dict[Value, str]) -> str:
    other = text[guard.other] if isinstance(guard.other, Value) else _literal(guard.other)
    condition = f"{text[guard.value]} {guard.operator} {other}"
    expected = "not " if guard.outcome else ""
    return f"if {expected}({condition}): raise GuardFailed  # traced: {condition} was {guard.outcome}"


def _tuple(items: Sequence[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _unpacked(items: Sequence[str]) -> str:
    return f"{items[0]}," if len(items) == 1 else ", ".join(items)


def _finite_check(names: list[str]) -> list[str]:
    # fsum raises on inf - inf and gives inf or nan for any other non-finite term, in C.
    return [f"total = fsum({_tuple(names)})",
            "if total - total: raise NonFinite  # the eager engine then says where"]


def _backward(order: list[Value], trace: Trace,
              text: dict[Value, str]) -> tuple[list[str], set[Value]]:
    """The backward pass's lines (from the first output), and the nodes that get a gradient
    variable."""
    root = trace.outputs[0] if trace.outputs else None
    if not isinstance(root, Value) or root._primitive is CONSTANT:
        return [], set()  # a number (or a constant): every gradient is 0
    lines = ["# backward: each node hands upstream x local derivative to its inputs"]
    defined: set[Value] = {root}
    seed_line = len(lines)
    lines.append(f"d_{text[root]} = 1.0")
    initial: list[str] = []  # gradients whose first contribution may be skipped
    gradients: list[str] = [f"d_{text[root]}"]
    for node in reversed(order):
        op = node._primitive
        if node._a is None or op is None or node not in defined:
            continue
        upstream = f"d_{text[node]}"
        statements: list[str] = []
        conditional = False
        for slot, input_node in enumerate(node.inputs):
            if input_node._primitive is CONSTANT:
                continue
            code = op.derivative_code[slot]
            conditional = conditional or _can_raise(code)
        for slot, input_node in enumerate(node.inputs):
            if input_node._primitive is CONSTANT:
                continue
            statements.extend(_contribution(op, slot, node, input_node, upstream, text,
                                            first=input_node not in defined and not conditional))
            if input_node not in defined:
                if conditional:
                    initial.append(f"d_{text[input_node]}")
                defined.add(input_node)
                gradients.append(f"d_{text[input_node]}")
        if not statements:
            continue
        if conditional:
            lines.append(f"if {upstream}:  # a zero gradient passes nothing on")
            lines.extend("    " + s for s in statements)
        else:
            lines.extend(statements)
    if initial:
        for start in range(0, len(initial), 8):
            chunk = initial[start : start + 8]
            lines.insert(seed_line + 1 + start // 8, f"{' = '.join(chunk)} = 0.0")
    lines.extend(_finite_check(gradients))
    return lines, defined


def _contribution(op: Primitive, slot: int, node: Value, input_node: Value, upstream: str,
                  text: dict[Value, str], first: bool) -> list[str]:
    operands = [text[i] for i in node.inputs]
    formula = _fill(op.formulas[slot], op.input_names, operands)
    written = op.write(*operands)
    if not re.fullmatch(r"\w+\(.*\)", written):
        written = f"({written})"
    comment = f"  # d/d{operands[slot]} {written} = {formula}"
    code = op.derivative_code[slot]
    target = f"d_{text[input_node]}"
    if code == "1.0":
        product = upstream
    elif code == "-1.0":
        product = f"-{upstream}"
    else:
        local = _simplified(_fill(code, (*op.input_names, "out"), (*operands, text[node])))
        product = f"{upstream} * {local if _is_atom(local) else f'({local})'}"
    if first:
        return [f"{target} = {product}{comment}"]
    if code == "-1.0":
        return [f"{target} -= {upstream}{comment}"]
    return [f"{target} += {product}{comment}"]
