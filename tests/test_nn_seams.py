"""chainrule.nn's modules meet at public names: no private helper crosses a module boundary, and
the training record does not know the page that shows it."""

from __future__ import annotations

import ast
from pathlib import Path

NN = Path(__file__).resolve().parent.parent / "nn"


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from module import name`` anywhere in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.extend((module, alias.name) for alias in node.names)
    return found


def _within_nn(module: str) -> bool:
    return module.startswith(".") or module.startswith("chainrule.nn")


def test_no_private_name_is_imported_from_another_nn_module() -> None:
    crossings = [
        f"{path.relative_to(NN)}: from {module} import {name}"
        for path in sorted(NN.rglob("*.py"))
        for module, name in _imports(path)
        if _within_nn(module) and name.startswith("_") and not name.startswith("__")
    ]
    assert crossings == []


def test_the_training_record_does_not_import_the_explorer() -> None:
    history = NN / "training" / "history.py"
    assert not [module for module, _ in _imports(history) if "explorer" in module]
    explorer = NN / "explorer" / "__init__.py"
    assert ("..training.history", "register_page") in _imports(explorer)
