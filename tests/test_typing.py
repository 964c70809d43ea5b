"""The package's types are true for user code: mypy --strict accepts tests/typing_sample.py
(which also runs), and rejects the mistakes the types exist to catch.

mypy reads chainrule as installed (the editable install or a wheel), through a view of links in
a temporary folder: it cannot follow the editable install's import hook by itself.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule.engine
import chainrule.nn

pytest.importorskip("mypy", reason="mypy is not installed: pip install 'chainrule[dev]'")

SAMPLE = Path(__file__).with_name("typing_sample.py")

MISTAKES = """\
from chainrule.engine import Value, tanh
from chainrule.nn import MLP

several = MLP(2, [4, 3])
several([1.0, 2.0]).backward()
listed: MLP[list[Value]] = MLP(2, (4, 1))
Value(1.0).grad = "high"
tanh(0.5).backward()
"""
#: line -> what mypy must say about it.
EXPECTED = {
    5: 'Item "list[Value]" of "Value | list[Value]" has no attribute "backward"',
    6: "Incompatible types in assignment",
    7: 'Incompatible types in assignment (expression has type "str", variable has type "float")',
    8: '"float" has no attribute "backward"',
}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy's messages for the sample and for the mistakes, by file name."""
    root = tmp_path_factory.mktemp("typing")
    view = root / "view" / "chainrule"
    view.mkdir(parents=True)
    for package in (chainrule.engine, chainrule.nn):
        (view / package.__name__.split(".")[-1]).symlink_to(Path(package.__path__[0]))
    mistakes = root / "mistakes.py"
    mistakes.write_text(MISTAKES)
    # --no-site-packages: user code needs only chainrule's own types, and not following nn into
    # torch, matplotlib and pandas keeps this check at seconds instead of a minute.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file=", "--strict", "--python-version=3.10",
         "--follow-imports=silent", "--no-site-packages", "--no-error-summary", "--hide-error-context",
         f"--cache-dir={root / 'cache'}", str(SAMPLE), str(mistakes)],
        env={"MYPYPATH": str(root / "view"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    by_file: dict[str, list[str]] = {SAMPLE.name: [], mistakes.name: []}
    for line in result.stdout.splitlines():
        by_file.setdefault(Path(line.split(":", 1)[0]).name, []).append(line)
    return by_file


def test_the_sample_type_checks_under_strict(mypy_output: dict[str, list[str]]) -> None:
    assert mypy_output[SAMPLE.name] == []


def test_the_sample_runs() -> None:
    runpy.run_path(str(SAMPLE), run_name="__main__")


def test_mypy_catches_the_mistakes(mypy_output: dict[str, list[str]]) -> None:
    errors = [line for line in mypy_output["mistakes.py"] if ": error:" in line]
    by_line = {int(line.split(":")[1]): line for line in errors}
    assert sorted(by_line) == sorted(EXPECTED), errors
    for number, message in EXPECTED.items():
        assert message in by_line[number], by_line[number]
