"""The package as published (issue 14.1): the sdist and the wheel built from it, their metadata
(``twine check --strict``), a clean install without extras, an sdist whose test suite runs,
and extras that match what the code imports."""

from __future__ import annotations

import ast
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from chainrule.engine import __version__ as VERSION

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/chainrule/chainrule"
RAW = "https://raw.githubusercontent.com/chainrule/chainrule/main/"
BLOB = f"{REPOSITORY}/blob/main/"

pytestmark = pytest.mark.timeout(300)


def _tracked() -> list[str]:
    """The files git tracks, or, in an unpacked sdist (no git), the files that are there."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout (this is an unpacked source archive)")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.split("\0")
    return [name for name in listed if name and (ROOT / name).is_file()]


def _run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel), the wheel built from the sdist, from a clean copy of what git tracks: an
    in-tree build/ folder could carry stale files into the wheel and hide a missing package."""
    source = tmp_path_factory.mktemp("source")
    for name in _tracked():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the setuptools of the dev extra, offline.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source)
    (sdist,) = out.glob(f"chainrule-{VERSION}.tar.gz")
    (wheel,) = out.glob(f"chainrule-{VERSION}-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def wheel_names(dist: tuple[Path, Path]) -> set[str]:
    with zipfile.ZipFile(dist[1]) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def metadata(dist: tuple[Path, Path]) -> email.message.Message:
    with zipfile.ZipFile(dist[1]) as archive:
        text = archive.read(f"chainrule-{VERSION}.dist-info/METADATA").decode()
    return email.parser.Parser().parsestr(text)


# -- the wheel ---------------------------------------------------------------------------------


def test_every_source_file_is_packaged_under_chainrule(wheel_names: set[str]) -> None:
    tracked = [name for name in _tracked() if name.startswith(("engine/", "nn/"))]
    assert len(tracked) > 10
    for name in tracked:
        assert f"chainrule/{name}" in wheel_names, name


def test_nothing_generic_at_the_top_of_site_packages(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    assert tops == {"chainrule", f"chainrule-{VERSION}.dist-info"}


def test_the_course_ships_in_the_wheel(wheel_names: set[str]) -> None:
    course = sorted(path.name for path in (ROOT / "demos" / "notebooks").glob("*.ipynb"))
    assert len(course) == 7
    assert {f"chainrule/course/{name}" for name in course} <= wheel_names


def test_the_version_is_written_once(metadata: email.message.Message) -> None:
    """engine/__init__.py holds it; pyproject, the Makefile's stamp and the CLI derive it."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "chainrule.engine.__version__"}
    assert metadata["Version"] == VERSION
    assignments = [path for folder in ("engine", "nn") for path in (ROOT / folder).rglob("*.py")
                   if re.search(r"^__version__ =", path.read_text(), flags=re.M)]
    assert assignments == [ROOT / "engine" / "__init__.py"]
    makefile = (ROOT / "Makefile").read_text()
    assert VERSION not in makefile and "engine/__init__.py" in makefile


def test_typed_with_a_console_script_and_a_license(wheel_names: set[str]) -> None:
    assert {"chainrule/engine/py.typed", "chainrule/nn/py.typed"} <= wheel_names
    assert f"chainrule-{VERSION}.dist-info/entry_points.txt" in wheel_names
    assert f"chainrule-{VERSION}.dist-info/licenses/LICENSE" in wheel_names


def test_engine_never_imports_nn() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        for module in _imports(path, runtime_only=False):  # not even for type checkers
            assert not module.startswith(("chainrule.nn", "..nn", "...nn")), (path, module)


# -- metadata ----------------------------------------------------------------------------------


def test_twine_check_strict_passes(dist: tuple[Path, Path]) -> None:
    result = _run(sys.executable, "-m", "twine", "check", "--strict", *dist)
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_metadata_license_urls_and_extras(metadata: email.message.Message) -> None:
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Description-Content-Type"] == "text/markdown"
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert urls == {"Homepage": REPOSITORY, "Repository": REPOSITORY,
                    "Issues": f"{REPOSITORY}/issues", "Documentation": f"{REPOSITORY}/tree/main/docs",
                    "Changelog": f"{BLOB}CHANGELOG.md"}
    assert set(metadata.get_all("Provides-Extra")) == {*EXTRA_USERS, *TOOL_EXTRAS}
    classifiers = metadata.get_all("Classifier")
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    versions = [c.rsplit(" ", 1)[1] for c in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions and versions[0] == metadata["Requires-Python"].removeprefix(">=")
    # Zero dependencies: every requirement belongs to an extra.
    assert all("extra ==" in requirement for requirement in metadata.get_all("Requires-Dist"))
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def _link_targets(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)", markdown) + re.findall(r"<img[^>]*src=\"([^\"]+)", markdown)


def test_the_package_description_has_only_absolute_links(metadata: email.message.Message) -> None:
    description = metadata.get_payload()
    targets = _link_targets(description)
    assert len(targets) >= 6
    for target in targets:
        assert target.startswith(("https://", "#")), f"{target} does not resolve on PyPI"


def test_readme_links_point_at_tracked_files() -> None:
    tracked = set(_tracked())
    for target in _link_targets((ROOT / "README.md").read_text()):
        if target.startswith(RAW):
            assert target.removeprefix(RAW) in tracked, target
        elif target.startswith(BLOB):
            assert target.removeprefix(BLOB) in tracked, target


# -- the sdist ---------------------------------------------------------------------------------


def test_the_sdist_carries_every_tracked_file(dist: tuple[Path, Path]) -> None:
    with tarfile.open(dist[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [name for name in _tracked() if name not in names and name != ".gitignore"]
    assert not missing
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_sdist_test_suite_collects_and_runs(
        dist: tuple[Path, Path], tmp_path: Path) -> None:
    with tarfile.open(dist[0]) as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            archive.extractall(tmp_path, filter="data")
        else:
            archive.extractall(tmp_path)  # our own freshly built archive
    unpacked = tmp_path / f"chainrule-{VERSION}"
    installed = tmp_path / "wheel"
    with zipfile.ZipFile(dist[1]) as archive:
        archive.extractall(installed)
    # The sdist's tests import chainrule from the wheel built from it, not from this checkout.
    env = {**os.environ, "PYTHONPATH": str(installed), "MPLBACKEND": "Agg"}
    where = _run(sys.executable, "-c", "import chainrule.nn as m; print(m.__file__)",
                 cwd=unpacked, env=env).stdout
    assert where.startswith(str(installed)), where
    collected = _run(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                     "no:cacheprovider", cwd=unpacked, env=env).stdout
    assert re.search(r"^\d{3,} tests collected", collected, flags=re.M), collected[-2000:]
    _run(sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "tests/test_nn_io.py", cwd=unpacked, env=env)


# -- a clean install -------------------------------------------------------------------------

CLEAN_USE = """
import importlib.metadata, json, sys
from chainrule.engine import Value, draw, walkthrough
from chainrule.nn import MLP, Adam, binary_cross_entropy, datasets, fit, load, predict, save

X, y = datasets.xor()
model = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
history = fit(model, X, y, loss=binary_cross_entropy,
              optimizer=Adam(model.parameters(), lr=0.05), epochs=300, progress=None)
save(model, "model.json")
assert predict(load("model.json"), X) == predict(model, X)
w, x = Value(-0.5, label="w"), Value(2.0, label="x")
assert "digraph" in draw((w * x).tanh()).source
assert walkthrough((w * x).tanh()).text()
try:
    fit(model, X, y, loss=binary_cross_entropy, optimizer=Adam(model), epochs=1, progress=True)
except ImportError as error:
    hint = str(error)
print(json.dumps({
    "accuracy": history.accuracy[-1], "hint": hint,
    "distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
    "third_party": sorted({"tqdm", "graphviz", "matplotlib", "numpy", "playwright"}
                          & set(sys.modules)),
}))
"""


@pytest.fixture(scope="module")
def clean_venv(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding nothing but the wheel (installed offline, without dependencies)."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
         "--no-index", "--no-deps", "--disable-pip-version-check", dist[1])
    return venv


#: The environment of a program run in the clean virtualenv: nothing of this checkout.
CLEAN_ENV = {key: value for key, value in os.environ.items()
             if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def test_the_wheel_installs_and_works_in_a_clean_venv_without_extras(
        clean_venv: Path, tmp_path: Path) -> None:
    import json

    python = clean_venv / "bin" / "python"
    result = json.loads(_run(python, "-I", "-c", CLEAN_USE, cwd=tmp_path, env=CLEAN_ENV).stdout)
    assert result == {
        "accuracy": 1.0, "hint": "fit(progress=True) needs tqdm: pip install 'chainrule[nn]'",
        "distributions": ["chainrule"], "third_party": []}
    assert "usage: chainrule" in _run(clean_venv / "bin" / "chainrule", "--help",
                                      env=CLEAN_ENV).stdout


def test_chainrule_course_from_the_wheel_in_a_clean_venv(clean_venv: Path, tmp_path: Path) -> None:
    command = clean_venv / "bin" / "chainrule"
    out = _run(command, "course", "lessons", cwd=tmp_path, env=CLEAN_ENV).stdout
    course = sorted((ROOT / "demos" / "notebooks").glob("*.ipynb"))
    copied = sorted((tmp_path / "lessons").iterdir())
    assert [path.name for path in copied] == [path.name for path in course]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(copied, course, strict=True))
    assert "pip install 'chainrule[course]'" in out and "jupyter notebook lessons" in out
    refused = subprocess.run([command, "course", "lessons"], cwd=tmp_path, env=CLEAN_ENV,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "use --force" in refused.stderr
    _run(command, "course", "lessons", "--force", cwd=tmp_path, env=CLEAN_ENV)


# -- extras match the imports ----------------------------------------------------------------

#: Where each extra's packages are used (an import there is its reason to exist).
EXTRA_USERS = {
    "viz": ("engine", "nn"),
    "nn": ("engine", "nn"),
    "plot": ("engine", "nn", "demos"),
    "browser": ("tests", "demos"),
    "torch": ("engine", "nn", "tests"),
    "text": ("engine", "nn"),
    "bench": ("benchmarks",),
    # datasets.digits finds scikit-learn's data with importlib (no import); the tests import it.
    "digits": ("nn", "tests"),
    "fast": ("engine", "nn"),
    "widget": ("engine",),
}
#: Extras for working on or with chainrule rather than for its code: no import is their reason.
TOOL_EXTRAS = {"dev", "docs", "course"}
#: Import names of distributions whose name differs.
IMPORT_NAMES: dict[str, str] = {"scikit-learn": "sklearn"}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` (never run)."""
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                    "typing.TYPE_CHECKING"):
            pending += node.orelse
        else:
            pending += ast.iter_child_nodes(node)
    return nodes


def _imports(path: Path, runtime_only: bool = True) -> list[str]:
    tree = ast.parse(path.read_text())
    modules = []
    for node in _runtime_nodes(tree) if runtime_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules.append(("." * node.level) + (node.module or ""))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "importorskip" and node.args
              and isinstance(node.args[0], ast.Constant)):
            modules.append(str(node.args[0].value))  # pytest.importorskip("torch")
    return modules


def _third_party(folders: tuple[str, ...]) -> set[str]:
    found = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for module in _imports(path):
                top = module.split(".")[0]
                if top and top not in sys.stdlib_module_names and top != "chainrule":
                    found.add(top)
    return found


def _extras(metadata: email.message.Message) -> dict[str, list[str]]:
    """Each extra's distributions, from the built wheel's ``Requires-Dist`` lines."""
    extras: dict[str, list[str]] = {name: [] for name in metadata.get_all("Provides-Extra")}
    for requirement in metadata.get_all("Requires-Dist"):
        spec, marker = requirement.split(";", 1)
        (extra,) = re.findall(r"extra == [\"']([\w-]+)[\"']", marker)
        extras[extra].append(spec.strip())
    return extras


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ]", requirement)[0] for requirement in requirements}


def test_every_extra_is_imported_where_it_says(metadata: email.message.Message) -> None:
    extras = _extras(metadata)
    assert set(extras) == {*EXTRA_USERS, *TOOL_EXTRAS}
    for extra, users in EXTRA_USERS.items():
        imported = _third_party(users)
        for distribution in _names(extras[extra]):
            name = IMPORT_NAMES.get(distribution, distribution)
            assert name in imported, f"the {extra!r} extra installs {distribution}, unused in {users}"


def test_the_library_imports_only_what_its_extras_install(
        metadata: email.message.Message) -> None:
    extras = _extras(metadata)
    library_extras = ("viz", "nn", "plot", "text", "torch", "digits", "fast", "widget")
    provided = {IMPORT_NAMES.get(d, d) for e in library_extras for d in _names(extras[e])}
    # pandas is imported only by History.to_dataframe(), for a user who asks for a DataFrame:
    # their own library, never one chainrule installs.
    assert _third_party(("engine", "nn")) - {"pandas"} <= provided
    # The test suite needs every extra but torch (`make test` installs torch==2.13.0 itself).
    assert "chainrule[bench,browser,digits,fast,nn,plot,text,viz,widget]" in extras["dev"]
    assert {"pytest", "hypothesis", "ruff", "build", "twine", "setuptools"} <= _names(extras["dev"])


def test_the_course_and_docs_extras(metadata: email.message.Message) -> None:
    extras = _extras(metadata)
    # The notebooks draw figures and graphs, show fit's progress bar and the live walkthrough
    # as widgets, use numpy.
    assert "chainrule[fast,nn,plot,viz,widget]" in extras["course"]
    assert {"notebook", "ipywidgets"} <= _names(extras["course"])
    # Every theme and plugin mkdocs.yml names, each with an upper bound on its major version.
    config = (ROOT / "mkdocs.yml").read_text()
    assert "name: material" in config and "- mkdocs-jupyter:" in config
    assert "- mkdocstrings:" in config and "default_handler: python" in config
    assert _names(extras["docs"]) == {"mkdocs", "mkdocs-material", "mkdocstrings",
                                      "mkdocs-jupyter"}
    assert "mkdocstrings[python]" in " ".join(extras["docs"])
    assert all("<" in requirement for requirement in extras["docs"])
