"""The architecture holds: layers load in order, nothing imports in a circle, and adding an
operation is the primitive table (the surface follows it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import engine
from chainrule.engine import PRIMITIVES, Value
from chainrule.engine.primitives import Primitive

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"engine": "chainrule.engine", "nn": "chainrule.nn"}


def _module_name(path: Path) -> str:
    """``engine/explain/trace.py`` -> ``chainrule.engine.explain.trace``."""
    folder = path.relative_to(ROOT).parts
    parts = [PACKAGES[folder[0]], *folder[1:-1]]
    if path.stem != "__init__":
        parts.append(path.stem)
    return ".".join(parts)


def _module_level_imports(path: Path, name: str) -> set[str]:
    """The chainrule modules ``path`` imports when it is imported (not inside functions, not
    under ``if TYPE_CHECKING``)."""
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If) else node.body:
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base]) if base else ".".join(anchor)
                if base.startswith("chainrule"):
                    submodules = {f"{base}.{a.name}" for a in child.names}
                    found.update(submodules)
                    # "from . import trace" loads the submodule; the package itself only when
                    # a name is taken from it.
                    if not submodules <= KNOWN:
                        found.add(base)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("chainrule"))
    return found


MODULES = {
    _module_name(path): path for folder in PACKAGES for path in (ROOT / folder).rglob("*.py")
}
KNOWN = set(MODULES)


def _graph() -> dict[str, set[str]]:
    modules = MODULES
    return {
        name: {m for m in _module_level_imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_no_module_imports_itself_through_others() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target):], target] if target in path else [name, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_engine_never_imports_nn() -> None:
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith("chainrule.engine"):
            assert not any(t.startswith("chainrule.nn") for t in targets), name


def test_importing_the_engine_loads_no_visual_layer_and_no_compiler() -> None:
    program = (
        "import sys, chainrule.engine as e; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('chainrule') "
        "or m in ('subprocess', 'xml', 'xml.dom', 'html', 'json'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True).stdout.split()
    for layer in ("drawing", "explain", "console", "compile"):
        assert not any(f"chainrule.engine.{layer}" in m for m in loaded), (layer, loaded)
    assert "subprocess" not in loaded and "xml" not in loaded
    # ...and each comes on first use.
    assert engine.draw.__module__.startswith("chainrule.engine.drawing")
    assert engine.jit.__module__ == "chainrule.engine.compile.jit"


def test_every_primitive_with_a_function_name_is_a_method_a_function_and_an_export() -> None:
    for primitive in PRIMITIVES.values():
        if primitive.function is None:
            continue
        method = getattr(Value, primitive.function)
        function = getattr(engine, primitive.function)
        assert primitive.function in engine.__all__
        assert method.__doc__ and function.__doc__
        arguments = [1.25] * primitive.arity
        assert function(*arguments) == primitive.evaluate(*arguments)
        assert method(Value(1.25), *arguments[1:]).data == primitive.evaluate(*arguments)


def test_a_new_primitive_is_one_table_entry() -> None:
    """What the table's entries get, a new one gets too: compiled forward and derivatives that
    agree with its formulas, a notation and a formula a person reads."""
    cube = Primitive("cube", "cube({x})", "x * x * x", ("3.0 * x * x",), ("3 x^2",),
                     function="cube")
    assert cube.forward(2.0) == 8.0 and cube.derivatives[0](2.0, 8.0) == 12.0
    assert cube.derivative_formula(0) == "d/dx cube(x) = 3 x^2"
    assert cube.write("a") == "cube(a)"
