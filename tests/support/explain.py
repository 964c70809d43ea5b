"""Shared helpers of the walkthrough tests: random graphs and the neuron of the demo."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from chainrule.engine import (
    PRIMITIVES,
    ChainruleError,
    DomainError,
    GradientError,
    NumericOverflowError,
    Value,
)
from chainrule.engine.primitives import FAMILIES

ROOT = Path(__file__).resolve().parents[2]  # tests/support/explain.py -> the repository

#: Operations a random graph may use, with their arity. Domain errors are allowed to happen
#: while building (the example is then discarded), so every primitive can take part, and the
#: n-ary operations too, at a small arity each (``dot`` of two pairs, a ``sum`` of three).
OPERATIONS = {name: p.arity for name, p in PRIMITIVES.items()} | {"dot": 4, "sum": 3}


#: Labels a teacher or a hostile user may give, which no program (Python, numpy or JavaScript)
#: or page may take for code: program names of each emitter and Python's own, names that
#: normalise to another (mathematical italic x is x), that are not identifiers, that would end
#: a comment or a script, line ends, quotes.
HOSTILE_LABELS = ["total", "fsum", "checked", "inputs", "captured", "program", "v0", "d_v1",
                  "\U0001d465", "x", "x\u2081", "w\u00b2", "lambda", "it's", 'say "hi"',
                  "a\nreturn 0", "# not code", "results", "s0", "\u2028", "*/", "</script>",
                  "<!--", "v[0]", "g", "u", "chainruleProgram", "${x}", "\\", ""]


def apply_operation(name: str, args: list[Any]) -> Any:
    """One step of a recipe: a primitive on its operands, or an n-ary operation on its
    operands split into its groups (``dot``'s weights, then its inputs)."""
    family = FAMILIES.get(name)
    if family is None:
        return PRIMITIVES[name](*args)
    n = len(args) // len(family.groups)
    return family.apply(*(args[g * n:(g + 1) * n] for g in range(len(family.groups))))


@st.composite
def graph_recipes(draw: Any, max_leaves: int = 4, max_steps: int = 12) -> dict[str, Any]:
    """A recipe for a random graph: leaf values, then steps (op name, operand references).

    An operand is ("node", k) (any earlier node, so fan-out and shared subexpressions happen)
    or ("const", number).
    """
    leaves = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=max_leaves))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(sorted(OPERATIONS)))
        operands = []
        available = len(leaves) + len(steps)
        for _ in range(OPERATIONS[name]):
            if draw(st.integers(0, 4)) == 0:
                operands.append(("const", draw(st.sampled_from([0.5, 2.0, -1.5, 3.0]))))
            else:
                operands.append(("node", draw(st.integers(0, available - 1))))
        steps.append((name, tuple(operands)))
    return {"leaves": leaves, "steps": steps}


def twisted_nodes(recipe: dict[str, Any], leaves: list[Any]) -> list[Any]:
    """The nodes of a recipe built on ``leaves``, each step's node detached or computed under
    ``no_grad`` as ``recipe["twists"]`` says and labelled ``recipe["labels"]`` (hostile ones)."""
    from chainrule.engine import no_grad

    nodes: list[Any] = list(leaves)
    for (name, operands), twist, label in zip(recipe["steps"], recipe["twists"],
                                              recipe["labels"], strict=True):
        args = [nodes[ref] if kind == "node" else ref for kind, ref in operands]
        if not any(isinstance(a, Value) for a in args):
            args[0] = nodes[-1]
        if twist == "no_grad":
            with no_grad():
                node = apply_operation(name, args)
        else:
            node = apply_operation(name, args)
            if twist == "detach":
                node = node.detach()
        node.label = label or None
        nodes.append(node)
    return nodes


def build(recipe: dict[str, Any]) -> tuple[Value, list[Value]] | None:
    """The graph of a recipe (its last node is the root) and its leaves; None when building it
    leaves an operation's domain (log of a negative number, overflow...)."""
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(recipe["leaves"])]
    nodes: list[Value] = list(leaves)
    try:
        for name, operands in recipe["steps"]:
            args = [nodes[ref] if kind == "node" else ref for kind, ref in operands]
            if not any(isinstance(a, Value) for a in args):
                args[0] = nodes[-1]
            nodes.append(apply_operation(name, args))
    except ChainruleError:
        return None
    return nodes[-1], leaves


def recipe_walkthrough(recipe: dict[str, Any], lr: float | None = None) -> tuple[Any, Value] | None:
    """The walkthrough of a random graph (with ``lr``, one update of the leaves it uses) and
    its root; None when building it leaves a domain or the walkthrough refuses it (a gradient
    or an update that overflows, which is fine for these tests)."""
    from chainrule.engine import topological_order, walkthrough

    built = build(recipe)
    if built is None:
        return None
    root, leaves = built
    used = [leaf for leaf in leaves if leaf in topological_order(root)] if lr else None
    try:
        return walkthrough(root, lr=lr, parameters=used, picture=False), root
    except (GradientError, NumericOverflowError, DomainError):
        return None


def load_demo(name: str) -> Any:
    """A module of demos/ by file name (demos/ is not a package)."""
    path = ROOT / "demos" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"demo_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recipe_function(recipe: dict[str, Any]) -> Any:
    """The recipe's graph as a function of its leaves: the sum of every node it computes, so
    that no operation is dead code (a compiled program leaves out what a function throws
    away)."""

    def f(*xs: Any) -> Any:
        nodes = list(xs)
        for name, operands in recipe["steps"]:
            args = [nodes[ref] if kind == "node" else ref for kind, ref in operands]
            if not any(isinstance(a, Value) for a in args):
                args[0] = nodes[-1]
            nodes.append(apply_operation(name, args))
        return sum(nodes[len(xs):], nodes[0])

    return f


def outcome(call: Any) -> tuple[str, Any]:
    """What a call gives: ("ok", result) or ("error", (type, message without its caller))."""
    try:
        return "ok", call()
    except ChainruleError as error:
        return "error", (type(error), str(error).split(": ", 1)[1])
