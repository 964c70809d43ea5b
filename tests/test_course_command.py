"""``chainrule course [DIR]`` copies the course's notebooks, byte for byte, refuses to overwrite
without ``--force``, and says how to open them and which extra to install. (The same command
from a wheel in a clean virtualenv: tests/test_packaging.py.)"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from chainrule.engine.console.cli import main
from chainrule.engine.console.course import notebooks

ROOT = Path(__file__).resolve().parent.parent
COURSE = sorted((ROOT / "demos" / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["course", *argv])
    return status, out.getvalue(), err.getvalue()


def test_the_installed_course_is_the_repositorys() -> None:
    assert len(COURSE) == 7
    assert [path.name for path in notebooks()] == [path.name for path in COURSE]


def test_copies_every_notebook_and_says_how_to_open_them(tmp_path: Path) -> None:
    folder = tmp_path / "my course"
    status, out, err = run(str(folder))
    assert (status, err) == (0, "")
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in COURSE]
    for source in COURSE:
        assert (folder / source.name).read_bytes() == source.read_bytes()
    assert "1. A single neuron" in out and "7. The same network in PyTorch" in out
    assert "pip install 'chainrule[course]'" in out
    assert f"jupyter notebook '{folder}'" in out  # quoted for the shell: the name has a space
    assert "--index-url https://download.pytorch.org/whl/cpu" in out


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "03_layers_and_xor.ipynb").write_text("my own notes")
    status, out, err = run(str(tmp_path))
    assert (status, out) == (2, "")
    assert err == (f"chainrule: error: {tmp_path} already holds 03_layers_and_xor.ipynb: use "
                   "--force to overwrite them, or choose another folder\n")
    assert [p.name for p in tmp_path.iterdir()] == ["03_layers_and_xor.ipynb"]  # nothing copied
    assert (tmp_path / "03_layers_and_xor.ipynb").read_text() == "my own notes"

    status, _, err = run(str(tmp_path), "--force")
    assert (status, err) == (0, "")
    assert (tmp_path / "03_layers_and_xor.ipynb").read_bytes() == COURSE[2].read_bytes()
    assert len(list(tmp_path.iterdir())) == 7  # no temporary file left behind


def test_a_file_in_the_way_is_refused_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "course"
    target.write_text("")
    status, out, err = run(str(target))
    assert (status, out, err) == (2, "", f"chainrule: error: {target} exists and is not a folder\n")


def test_an_unwritable_folder_is_said_in_one_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    status, out, err = run(str(tmp_path / "new"))
    assert (status, out) == (2, "")
    assert err == f"chainrule: error: cannot write into {tmp_path / 'new'}: Permission denied\n"


def test_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, _ = run()
    assert status == 0
    assert len(list((tmp_path / "chainrule-course").glob("*.ipynb"))) == 7
    assert out.startswith("copied the course (7 notebooks) into chainrule-course:\n")
