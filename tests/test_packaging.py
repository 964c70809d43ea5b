"""The built wheel: chainrule.engine and chainrule.nn, their data files, nothing generic."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # Build from a clean copy of what git tracks: an in-tree build/ folder could carry stale
    # files into the wheel and hide a missing package.
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = out.glob("chainrule-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_source_file_is_packaged_under_chainrule(wheel_names: set[str]) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "engine", "nn"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    assert len(tracked) > 10
    for name in tracked:
        assert f"chainrule/{name}" in wheel_names, name


def test_nothing_generic_at_the_top_of_site_packages(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    assert tops == {"chainrule", "chainrule-0.1.0.dist-info"}


def test_typed_and_with_a_console_script(wheel_names: set[str]) -> None:
    assert {"chainrule/engine/py.typed", "chainrule/nn/py.typed"} <= wheel_names
    assert "chainrule-0.1.0.dist-info/entry_points.txt" in wheel_names


def test_engine_never_imports_nn() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [("." * node.level) + (node.module or "")]
            else:
                continue
            for module in modules:
                assert not module.startswith(("chainrule.nn", "..nn", "...nn")), (path, module)
