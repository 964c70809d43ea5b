"""The README stays true: its two commands, its example's printed output, its operation table."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from chainrule.engine import PRIMITIVES
from chainrule.engine.primitives import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def operations_table() -> str:
    """The README's operation table, rendered from the primitive table itself."""
    rows = ["| operation | written | function and method | local derivative(s) | as code |",
            "|---|---|---|---|---|"]
    for name, primitive in PRIMITIVES.items():
        written = primitive.write(*primitive.input_names)
        function = f"`{primitive.function}`" if primitive.function else "operator"
        derivatives = "<br>".join(
            f"d/d{v} = {f}" for v, f in zip(primitive.input_names, primitive.formulas, strict=True)
        )
        code = "<br>".join(f"`{c}`" for c in primitive.derivative_code)
        rows.append(f"| `{name}` | `{written}` | {function} | {derivatives} | {code} |")
    for name, family in FAMILIES.items():
        written = family.at(2).write(*family.at(2).input_names) + " + ..."
        indexed = [f"{g}_i" for g in family.groups]
        derivatives = "<br>".join(f"d/d{v} = {f}" for v, f in
                                  zip(indexed, family.general_formulas(), strict=True))
        code = "<br>".join(f"`{c.format(**{g: f'{g}_i' for g in family.groups})}`"
                           for c in family.derivative_code)
        rows.append(f"| `{name}` | `{written}` | `{family.function}` | {derivatives} | {code} |")
    return "\n".join(rows)


def function_list() -> str:
    """The README's list of functions, from the primitive table."""
    return " ".join(sorted([p.function for p in PRIMITIVES.values() if p.function]
                           + [f.function for f in FAMILIES.values()]))


def test_readme_starts_with_exactly_the_two_make_commands() -> None:
    first_language, first_block = code_blocks(README)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert first_language == "bash"
    assert commands == ["make demo", "make test"]
    assert README.index("```") < README.index("\n## ")  # before any section
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_first_example_prints_what_the_readme_says() -> None:
    blocks = code_blocks(README)
    index = next(i for i, (lang, code) in enumerate(blocks) if lang == "python")
    program, (_, expected) = blocks[index][1], blocks[index + 1]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(program, "README.md", "exec"), {})  # the README's own trusted example
    assert printed.getvalue().strip() == expected.strip()


def test_every_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples write files such as steps.html
    blocks = [code for lang, code in code_blocks(README) if lang == "python"]
    assert len(blocks) >= 3
    for number, code in enumerate(blocks, start=1):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"README.md python block {number}", "exec"), {})


def test_operation_table_matches_the_primitive_table() -> None:
    match = re.search(r"<!-- operations:start -->\n(.*?)\n<!-- operations:end -->", README, re.S)
    assert match, "README.md lacks the operations table markers"
    assert match.group(1).strip() == operations_table(), (
        "README's operation table is out of date; expected:\n" + operations_table()
    )


def test_function_list_matches_the_primitive_table() -> None:
    match = re.search(r"<!-- functions:start -->(.*?)<!-- functions:end -->", README, re.S)
    assert match, "README.md lacks the function list markers"
    assert match.group(1).strip(" `") == function_list()
