"""``chainrule course [DIR]``: copy the course's notebooks out of the installed package.

The notebooks (demos/notebooks/ in the repository) ship in the wheel as the package data of
``chainrule.course``. They are copied as they are, with their saved outputs, into DIR
(``chainrule-course`` by default); a notebook already there is never overwritten unless
``--force`` is given, and then each file is replaced whole (written beside it, then renamed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from importlib import util
from pathlib import Path
from typing import Any

from ..errors import ChainruleError

#: The package whose data the notebooks are (see [tool.setuptools] in pyproject.toml).
PACKAGE = "chainrule.course"
DEFAULT_FOLDER = Path("chainrule-course")
#: What the notebooks need beyond the library, and which of them needs PyTorch.
EXTRA = "chainrule[course]"
TORCH_NOTEBOOK = "07_pytorch.ipynb"
#: PyTorch's own index of CPU-only wheels (PyPI's Linux wheels carry CUDA, gigabytes of it).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


class CourseError(ChainruleError):
    """The course cannot be copied (said in one line)."""


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``course`` to the ``chainrule`` command's subcommands."""
    course = commands.add_parser(
        "course",
        help="copy the course's Jupyter notebooks into a folder, ready to open",
        description=(
            "Copy the course's seven Jupyter notebooks, with their saved outputs, into DIR "
            f"(default: {DEFAULT_FOLDER}), and say how to open them. Notebooks already in DIR "
            "are left alone unless --force is given."
        ),
    )
    course.add_argument("folder", metavar="DIR", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where to put the notebooks (default: {DEFAULT_FOLDER})")
    course.add_argument("--force", action="store_true",
                        help="overwrite notebooks of the same names already in DIR")


def notebooks() -> list[Path]:
    """The course's notebooks in order, where the installed package holds them."""
    # chainrule.course is a namespace package (a folder of data, no __init__.py): its folders
    # are read from its import spec, which works for wheel and editable installs alike, where
    # importlib.resources stumbles over an editable install's placeholder paths.
    spec = util.find_spec(PACKAGE)
    folders = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    found = sorted(path for folder in folders if folder.is_dir()
                   for path in folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise CourseError(
            f"the course's notebooks are not installed (no package data in {PACKAGE}): "
            "reinstall chainrule from its wheel or sdist"
        )
    return found


def title(notebook: Path) -> str:
    """The notebook's first heading, without its '#' (its file name if it has none)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", [])).splitlines():
                if line.startswith("# "):
                    return line.removeprefix("# ").strip()
    return notebook.name


def copy_course(folder: Path, force: bool = False) -> str:
    """Copy the notebooks into ``folder``; returns what to tell the learner."""
    sources = notebooks()
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"{folder} exists and is not a folder")
    existing = [source.name for source in sources if (folder / source.name).exists()]
    if existing and not force:
        raise CourseError(
            f"{folder} already holds {', '.join(existing)}: use --force to overwrite "
            f"them, or choose another folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for source in sources:
            _write_whole(folder / source.name, source.read_bytes())
    except OSError as error:
        raise CourseError(f"cannot write into {folder}: {error.strerror or error}") from None
    lines = [f"copied the course ({len(sources)} notebooks) into {folder}:"]
    lines += [f"  {source.name:<26} {title(source)}" for source in sources]
    lines += [
        "",
        "Open them in Jupyter (the notebooks, widgets, figures and graph pictures):",
        f"  pip install '{EXTRA}'",
        f"  jupyter notebook {shlex.quote(str(folder))}",
        "",
        f"{TORCH_NOTEBOOK} also needs PyTorch; its CPU-only build is enough:",
        f"  pip install torch --index-url {TORCH_CPU_INDEX}",
        "The graph pictures need graphviz's dot program (Debian/Ubuntu: sudo apt-get install "
        "graphviz).",
    ]
    return "\n".join(lines) + "\n"


def _write_whole(path: Path, data: bytes) -> None:
    # Into a new file beside the target (mode from the umask, as for any file the user
    # creates), then renamed over it: an interrupted copy never leaves a half-written notebook.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
