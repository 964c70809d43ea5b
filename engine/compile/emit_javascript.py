"""A plan of a recorded graph as JavaScript: the program a live page recomputes the graph with.

:func:`emit_javascript` writes down a :func:`~.plan.plan_of_graph` plan, each step through
the JavaScript column of :mod:`.renderings`, as plain script that defines
``chainruleProgram`` (see docs/guide/compile.md and the live page's interface):
``run(leafValues)`` recomputes every value forward and every gradient backward, by the
chain-rule module's rules, recording each contribution (local derivative, product, running
sum before and after); ``forward(values)`` and ``check(values, i)`` serve the page's nudges
and finite-difference checks. The static part every program needs, :func:`javascript_runtime`,
holds the table's functions with chainrule's domain checks, Python's float ``repr`` and
chainrule's errors; the sentences it says come from Python as data (the domain reasons of the
primitive table, the forward and gradient messages, what Python's own arithmetic raises), so a
page refuses an input with exactly the message Python raises.

The program performs the same float operations in the same order as the eager engine (n-ary
sums folded left), so its arithmetic gives Python's floats exactly; the browser's ``Math``
functions may differ from C's in the last bit. Names come from slot numbers alone
(``v[3]``); labels appear only in comments, escaped, and in the data of error messages, as
JSON that no ``</script>`` can close. Nothing is evaluated from text: no ``eval``, no
``new Function``, so the page's Content-Security-Policy hash covers all of it.
"""

from __future__ import annotations

import ast
import json
import math
import re
import string
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from typing import Any

from ..chain_rule import NON_FINITE_GRADIENT, UNDEFINED_DERIVATIVE, check_unchanged
from ..primitives import DOMAIN_REASONS, FORWARD_MESSAGES, Primitive
from ..value import Value, describe
from .plan import BackStep, Plan, Ref, Step
from .renderings import RENDERINGS, Dialect, MissingRendering, comment, literal, render

__all__ = ["JAVASCRIPT", "emit_javascript", "javascript_runtime"]

_PACKAGE = "chainrule.engine.compile"

#: Statements per generated function: short functions compile and optimise fast.
PART_SIZE = 50

#: Runtime functions that may refuse their operands (a step calling one says where it is).
_REFUSING = re.compile(r"\b(?:exp|log|log1p|sqrt|power|div|pow)\(")

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_CALLED = {ast.Div: "div", ast.Pow: "pow"}  # Python's / and ** raise where JavaScript's do not
_COMPARISONS = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "===",
                ast.NotEq: "!=="}


def _javascript(node: ast.AST) -> str:
    """A Python expression of the primitive table (floats, arithmetic, calls, comparisons,
    conditionals) as JavaScript with the same meaning, every operation parenthesised."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return literal(float(node.value))
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):  # an operand: v[3]
        return f"{_javascript(node.value)}[{_javascript(node.slice).removesuffix('.0')}]"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_javascript(node.operand)})"
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return f"({_javascript(node.left)} {_OPERATORS[type(node.op)]} {_javascript(node.right)})"
    if isinstance(node, ast.BinOp) and type(node.op) in _CALLED:
        return f"{_CALLED[type(node.op)]}({_javascript(node.left)}, {_javascript(node.right)})"
    if isinstance(node, ast.Call) and not node.keywords:
        return f"{_javascript(node.func)}({', '.join(_javascript(a) for a in node.args)})"
    if isinstance(node, ast.IfExp):
        return f"({_test(node.test)} ? {_javascript(node.body)} : {_javascript(node.orelse)})"
    if isinstance(node, ast.Compare | ast.BoolOp):
        return _test(node)
    raise MissingRendering(f"the javascript emitter cannot write {ast.unparse(node)}")


def _test(node: ast.AST) -> str:
    """A condition with Python's truth: a float is true when it is not 0."""
    if isinstance(node, ast.Compare):
        pairs, left = [], node.left
        for operator, right in zip(node.ops, node.comparators, strict=True):
            if type(operator) not in _COMPARISONS:
                raise MissingRendering(f"the javascript emitter cannot write {ast.unparse(node)}")
            pairs.append(f"{_javascript(left)} {_COMPARISONS[type(operator)]} {_javascript(right)}")
            left = right
        return f"({' && '.join(pairs)})"
    if isinstance(node, ast.BoolOp):
        joined = " || " if isinstance(node.op, ast.Or) else " && "
        return f"({joined.join(_test(value) for value in node.values)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"(!{_test(node.operand)})"
    return f"({_javascript(node)} !== 0)"


#: JavaScript: the renderings' javascript names (functions of the runtime) and JS syntax.
JAVASCRIPT = Dialect("javascript", unparse=_javascript)


def _script_json(data: Any) -> str:
    """JSON inside a script element: no ``<``, ``>`` or ``&`` (nothing can close the element
    or open a comment), no line separator JavaScript would read as an end of line."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _line_comment(text: str) -> str:
    """User text (a label) safe in a ``//`` comment of a script inside a page: unprintable
    characters (line ends above all) escaped, and ``<`` too, so no ``</script>`` or ``<!--``."""
    return comment(text).replace("<", "\\x3c")


def _raised(operation: Any) -> str:
    """What Python's own float arithmetic raises, as ``str(error)``: derivative errors
    quote it."""
    try:
        operation()
    except ArithmeticError as error:
        return str(error)
    raise AssertionError("the operation did not raise")


@cache
def _wording() -> dict[str, Any]:
    from ..explain.trace import CHECK_ATOL, CHECK_RTOL, ONE_SIDED

    return {
        "reasons": dict(DOMAIN_REASONS),
        "forward": dict(FORWARD_MESSAGES),
        "nonFinite": NON_FINITE_GRADIENT,
        "undefinedDerivative": UNDEFINED_DERIVATIVE,
        "oneSided": ONE_SIDED,
        "rtol": CHECK_RTOL,
        "atol": CHECK_ATOL,
        "raised": {
            "division": _raised(lambda: 1.0 / 0.0),
            "zeroPower": _raised(lambda: 0.0 ** -1.0),
            "power": _raised(lambda: 10.0 ** 400.0),
            "exp": _raised(lambda: math.exp(1000.0)),
        },
    }


@cache
def javascript_runtime() -> str:
    """The static JavaScript every emitted program needs, to put before it in a page's
    script: defines ``chainruleRuntime``, ``ChainruleError`` and ``pyRepr``."""
    source = resources.files(_PACKAGE).joinpath("runtime.js").read_text(encoding="utf-8")
    return source.replace("/* WORDING */", _script_json(_wording()))


def _notation(primitive: Primitive) -> list[str | int]:
    """How the primitive is written, as literal text and operand positions: ``"{x} * {y}"``
    is ``["", 0, " * ", 1]``."""
    position = {name: k for k, name in enumerate(primitive.input_names)}
    parts: list[str | int] = []
    for text, field, _, _ in string.Formatter().parse(primitive.notation):
        parts.append(text)
        if field is not None:
            parts.append(position[field])
    return parts


def _described(node: Value) -> tuple[str, str]:
    """How messages describe ``node`` (:func:`~chainrule.engine.value.describe`), around its
    data: the page puts in the data it has."""
    text, data = describe(node), f"data={node.data!r}"
    at = text.rindex(data) + len("data=")
    return text[:at], text[at + len(data) - len("data="):]


@cache
def _template(code: str, names: tuple[str, ...], literals: tuple[str | None, ...]) -> str:
    """``code`` rendered with the literal operands put in (and folded where they fix
    something) and a placeholder ``_slotK`` for each slot operand K: a graph's steps share a
    few such shapes, so each is rendered once."""
    operands = {name: f"_slot{k}" if text is None else text
                for k, (name, text) in enumerate(zip(names, literals, strict=True))}
    return render(code, operands, JAVASCRIPT)


def _rendered(code: str, names: Sequence[str], operands: Sequence[Ref]) -> str:
    """``code`` of the primitive table in JavaScript, with ``operands`` for ``names``."""
    template = _template(code, tuple(names), tuple(
        literal(o) if isinstance(o, float) else None for o in operands))
    return _SLOT.sub(lambda m: f"v[{operands[int(m.group(1))]}]", template)


_SLOT = re.compile(r"\b_slot(\d+)\b")


class _Writer:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def name(self, ref: Ref) -> str:
        return literal(ref) if isinstance(ref, float) else f"v[{ref}]"

    def expression(self, step: Step) -> str:
        primitive = step.primitive
        assert primitive is not None
        family = primitive.family
        if family is None:
            return _rendered(primitive.forward_code, primitive.input_names, step.operands)
        # Each term by the family's table, folded left as eager adds them.
        n = primitive.arity // len(family.groups)
        term = family.term.format(**{g: g for g in family.groups})
        return " + ".join(_rendered(term, family.groups, step.operands[i::n])
                          for i in range(n))

    def forward(self, step: Step) -> str:
        code = self.expression(step)
        slot = step.slot
        where = f"s.at = {slot}; " if _REFUSING.search(code) else ""
        label = self.plan.labels.get(slot)
        note = f"  // {_line_comment(label)}" if label else ""
        return f"{where}v[{slot}] = fin({code}, {slot});{note}"

    def local(self, step: Step, position: int) -> str:
        primitive = step.primitive
        assert primitive is not None
        code = primitive.derivative_code[position]
        if primitive.family is not None and code in primitive.input_names:
            return self.name(step.operands[primitive.input_names.index(code)])
        return _rendered(code, (*primitive.input_names, "out"), (*step.operands, step.slot))

    def backward(self, item: BackStep, first: int) -> str:
        i = item.step.slot
        locals_ = [self.local(item.step, c.position) for c in item.contributions]
        given = " ".join(f"c.give({first + k}, u, {local});" for k, local in enumerate(locals_))
        where = "c.at = " + str(i) + "; " if any(_REFUSING.search(t) for t in locals_) else ""
        return (f"if (u = c.up({i})) {{ {where}{given} }} else c.skip({first}, "
                f"{first + len(locals_)});")


def _parts(lines: Sequence[str], parameters: str, prologue: str = "") -> Iterator[str]:
    for start in range(0, len(lines), PART_SIZE):
        body = "\n".join("  " + line for line in lines[start:start + PART_SIZE])
        yield f"function ({parameters}) {{\n{prologue}{body}\n}}"


def _graph_data(nodes: Sequence[Value]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """What messages need of the graph: each node's operation (its name and notation), its
    inputs, and its description around its data (shared by nodes described alike)."""
    primitives: dict[Primitive, int] = {}
    described: dict[tuple[str, str], int] = {}
    position = {node: i for i, node in enumerate(nodes)}
    arrays: dict[str, list[int]] = {"opOf": [], "inputStart": [0], "inputs": [],
                                    "describedOf": []}
    for node in nodes:
        primitive = None if node.is_leaf else node.primitive
        arrays["opOf"].append(-1 if primitive is None
                              else primitives.setdefault(primitive, len(primitives)))
        arrays["describedOf"].append(described.setdefault(_described(node), len(described)))
        arrays["inputs"].extend(position[i] for i in node.inputs)
        arrays["inputStart"].append(len(arrays["inputs"]))
    data = {"ops": [[p.name, _notation(p)] for p in primitives],
            "described": [list(pair) for pair in described]}
    return data, arrays


def _kinks(w: _Writer, steps: Sequence[Step]) -> list[str]:
    """For each step of a piecewise derivative, a test of its values that says it sits at a
    kink (the finite-difference check then looks at each side), as trace's check finds it."""
    from ..explain.rules import kink_conditions, kink_sides

    kinks = []
    for step in steps:
        assert step.primitive is not None
        if not kink_conditions(step.primitive):
            continue
        sides = [pair for slot, operand in enumerate(step.operands) if isinstance(operand, int)
                 for pair in kink_sides(step.primitive, slot)]
        names = dict(zip(step.primitive.input_names, map(w.name, step.operands), strict=True))
        tests = [f"{names.get(a) or literal(float(a))} === {names.get(b) or literal(float(b))}"
                 for a, b in dict.fromkeys(sides)]
        if tests:
            kinks.append(f"[{step.slot}, (v) => {' || '.join(tests)}]")
    return kinks


def emit_javascript(plan: Plan, seed: float = 1.0) -> str:
    """The program of ``plan`` (made by :func:`~.plan.plan_of_graph`) as JavaScript source
    defining ``chainruleProgram``; put :func:`javascript_runtime` before it. ``seed`` is the
    gradient the root starts the backward pass with."""
    if not plan.graph or plan.backward is None:
        raise MissingRendering("the javascript emitter writes plans of recorded graphs "
                               "(plan_of_graph)")
    w = _Writer(plan)
    nodes = plan.graph
    check_unchanged(nodes, nodes[-1], "emit_javascript")  # rule 5: a graph eager refuses
    steps = sorted((item for item in plan.forward if isinstance(item, Step)),
                   key=lambda step: step.slot)
    handed = {item.step.slot: item for item in plan.backward if isinstance(item, BackStep)}
    forward = [w.forward(step) for step in steps]
    backward: list[str] = []
    targets: list[int] = []  # contribution k's target node
    for i in range(len(nodes) - 1, -1, -1):  # the backward schedule's order
        item = handed.get(i)
        if item is not None:
            backward.append(w.backward(item, len(targets)))
            targets.extend(c.target for c in item.contributions)
        elif not nodes[i].is_constant:
            backward.append(f"c.up({i});")  # a leaf: its gradient is checked when reached
    graph, arrays = _graph_data(nodes)
    runtime = {r.javascript for r in RENDERINGS.values()} | set(_CALLED.values())
    called = set(re.findall(r"(?<![\w.])([A-Za-z]\w*)\(", "\n".join(forward + backward)))
    functions = ", ".join(["fin", *sorted(called & runtime)])
    data = {
        "size": len(nodes), "root": plan.outputs[0], "seed": float(seed),
        "contributions": len(targets), "leaves": plan.inputs,
        "constants": [i for i, n in enumerate(nodes) if n.is_constant], **graph,
    }
    typed: dict[str, tuple[str, Sequence[float]]] = {
        **{name: ("Int32Array", values) for name, values in arrays.items()},
        "targets": ("Int32Array", targets),
        "initial": ("Float64Array", [float(n.data) for n in nodes])}
    fields = [f"    {key}: {_script_json(value)}," for key, value in data.items()]
    fields += [f"    {key}: new {kind}({_script_json(values)}),"
               for key, (kind, values) in typed.items()]
    fields.append(f"    kinks: [{', '.join(_kinks(w, steps))}],")
    fields.append("    forward: [\n" + ",\n".join(_parts(forward, "v, s")) + "\n    ],")
    fields.append("    backward: [\n" + ",\n".join(_parts(backward, "v, g, c", "  let u;\n"))
                  + "\n    ],")
    header = (f"// chainrule program of {_line_comment(plan.name)}: {len(nodes)} nodes, "
              f"{len(targets)} contributions (chainrule.engine.compile.emit_javascript)")
    return "\n".join([
        header,
        "const chainruleProgram = (() => {",
        '  "use strict";',
        f"  const {{ {functions} }} = chainruleRuntime.functions;",
        "  return chainruleRuntime.program({",
        *fields,
        "  });",
        "})();",
        "",
    ])
