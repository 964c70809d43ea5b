"""The README and the documentation pages stay true: the README's two commands and its example's
printed output, every Python example in them, and the operations table and function list
generated from the primitive table (in docs/guide/, where the README's reference moved)."""

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
DOCS = ROOT / "docs"
#: The page that holds the operations table, and the one that holds the function list.
ENGINE_PAGE = (DOCS / "guide" / "engine.md").read_text()
WALKTHROUGH_PAGE = (DOCS / "guide" / "walkthrough.md").read_text()
#: A package index shows the README as the project's page; the reference is in docs/.
README_LIMIT = 20_000


def code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def operations_table() -> str:
    """The operations table (docs/guide/engine.md), rendered from the primitive table itself."""
    rows = ["| operation | written | function and method | local derivative(s) | as code |",
            "|---|---|---|---|---|"]
    for name, primitive in PRIMITIVES.items():
        written = primitive.write(*primitive.input_names)
        function = f"`{primitive.function}`" if primitive.function else "operator"
        special = primitive.special_cases or (None,) * primitive.arity
        derivatives = "<br>".join(
            f"d/d{v} = {f}" + (f" (0 where {case})" if case else "")
            for v, f, case in zip(primitive.input_names, primitive.formulas, special, strict=True)
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
    """The list of functions (docs/guide/walkthrough.md), from the primitive table."""
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


DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_python_example_runs(document: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples write files such as steps.html
    blocks = [code for lang, code in code_blocks(document.read_text()) if lang == "python"]
    for number, code in enumerate(blocks, start=1):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"{document.name} python block {number}", "exec"), {})


def test_the_documents_have_python_examples() -> None:
    counted = sum(len([1 for lang, _ in code_blocks(path.read_text()) if lang == "python"])
                  for path in DOCUMENTS)
    assert counted >= 15


def test_operation_table_matches_the_primitive_table() -> None:
    match = re.search(r"<!-- operations:start -->\n(.*?)\n<!-- operations:end -->", ENGINE_PAGE,
                      re.S)
    assert match, "docs/guide/engine.md lacks the operations table markers"
    assert match.group(1).strip() == operations_table(), (
        "docs/guide/engine.md's operation table is out of date; expected:\n" + operations_table()
    )


def test_function_list_matches_the_primitive_table() -> None:
    match = re.search(r"<!-- functions:start -->(.*?)<!-- functions:end -->", WALKTHROUGH_PAGE,
                      re.S)
    assert match, "docs/guide/walkthrough.md lacks the function list markers"
    assert match.group(1).strip(" `") == function_list()


def test_the_readme_is_a_package_index_page() -> None:
    """Short enough for a package index, and it leads to every page of the guide."""
    assert len(README) < README_LIMIT
    linked = set(re.findall(r"\]\(https://github\.com/chainrule/chainrule/blob/main/([^)#]+)\)",
                            README))
    guide = {path.relative_to(ROOT).as_posix() for path in (DOCS / "guide").glob("*.md")}
    assert guide <= linked, guide - linked
    assert {"docs/install.md", "CHANGELOG.md", "CONTRIBUTING.md"} <= linked
