"""Hostile model files (issue 11, point 3): each reproducer is a test.

Loading must end in a ModelFileError, fast and in bounded memory, for anything that is not a
model file; saving must keep a file's mode and write through symbolic links.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine import Value
from chainrule.nn import MLP, ConfigurationError, ModelFileError, Module, Neuron, load, save
from chainrule.nn import io as nn_io

pytestmark = pytest.mark.timeout(60)  # a hang (a FIFO waiting for a writer) fails, not blocks


@pytest.fixture
def nothing_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if load() builds a model: every check must come first."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"load() built a model from {args}")
    for name in ("Neuron", "Layer", "MLP"):
        monkeypatch.setattr(nn_io, name, refuse)


def _file(tmp_path: Path, architecture: dict, parameters: dict | None = None) -> Path:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"format": "chainrule.nn/model", "version": 1,
                                "architecture": architecture, "parameters": parameters or {}}))
    return path


# -- sizes are checked before anything is built --------------------------------------------------


def test_a_billion_inputs_fail_fast(tmp_path: Path, nothing_is_built: None) -> None:
    # The reproducer: 150 bytes that ran 53 s into a MemoryError.
    path = _file(tmp_path, {"type": "Neuron", "nin": 1_000_000_000, "activation": "relu"})
    with pytest.raises(ModelFileError, match=r"1,000,000,001 parameters, more than the limit of 1,000,000"):
        load(path)


@pytest.mark.parametrize("architecture", [
    {"type": "Layer", "nin": 10**5, "nout": 10**5, "activation": "relu"},
    {"type": "MLP", "nin": 2, "sizes": [10**4] * 1000, "activation": "relu",
     "output_activation": "linear"},
    {"type": "MLP", "nin": 10**300, "sizes": [1], "activation": "relu",
     "output_activation": "linear"},
])
def test_huge_architectures_are_refused_before_building(
        tmp_path: Path, nothing_is_built: None, architecture: dict) -> None:
    with pytest.raises(ModelFileError, match="more than the limit"):
        load(_file(tmp_path, architecture))


def test_an_architecture_under_the_cap_but_not_matching_the_file_is_never_built(
        tmp_path: Path, nothing_is_built: None) -> None:
    path = _file(tmp_path, {"type": "Neuron", "nin": 999_999, "activation": "relu"}, {"b": 0.0})
    with pytest.raises(ModelFileError, match=r"has 1,000,000 parameters but the file stores 1$"):
        load(path)


def test_the_cap_is_a_documented_keyword(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(MLP(2, [3, 1], seed=0), path)  # 13 parameters
    assert load(path, max_parameters=13).num_parameters == 13
    with pytest.raises(ModelFileError, match="13 parameters, more than the limit of 12"):
        load(path, max_parameters=12)
    assert "MAX_PARAMETERS" in nn_io.__doc__ and nn_io.MAX_PARAMETERS == 1_000_000


def test_an_integer_with_thousands_of_digits(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "chainrule.nn/model", "version": 1, "architecture": '
                    '{"type": "Neuron", "nin": 1' + "0" * 5000 + ', "activation": "relu"}, '
                    '"parameters": {}}')
    with pytest.raises(ModelFileError):
        load(path)


# -- bounded reading: size, nesting, and anything that is not a regular file ---------------------


def test_a_file_above_the_size_limit_is_refused_without_reading_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json"
    with open(path, "wb") as file:
        file.truncate(nn_io.MAX_FILE_BYTES + 1)  # sparse: no disk space used
    monkeypatch.setattr(nn_io.os, "open", lambda *a, **k: pytest.fail("the file was opened"))
    with pytest.raises(ModelFileError, match=r"67,108,865 bytes, more than the limit of 67,108,864"):
        load(path)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_a_file_that_claims_size_0_is_still_read_only_up_to_the_limit() -> None:
    # /proc files report st_size 0 however much they hold.
    with pytest.raises(ModelFileError, match="larger than the limit of 64 bytes"):
        load("/proc/self/maps", max_bytes=64)


def test_deeply_nested_json(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)
    with pytest.raises(ModelFileError, match="1,000,000 JSON objects and arrays"):
        load(path)


def test_nesting_deeper_than_the_recursion_limit_but_under_the_container_cap(tmp_path: Path) -> None:
    depth = min(nn_io.MAX_CONTAINERS, sys.getrecursionlimit() * 5)
    path = tmp_path / "model.json"
    path.write_text('{"a": ' * depth + "1" + "}" * depth)
    with pytest.raises(ModelFileError):
        load(path)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    os.mkfifo(path)
    with pytest.raises(ModelFileError, match=r"is a FIFO \(named pipe\), not a model file"):
        load(path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is a directory, not a model file"):
        load(tmp_path)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device: str) -> None:
    with pytest.raises(ModelFileError, match="is a character device"):
        load(device)


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "model.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match="is a character device"):
        load(link)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ModelFileError, match="is a socket"):
            load(path)


@pytest.mark.parametrize("content", [
    b"", b"\x00" * 100, b"\xef\xbb\xbf{}", b"null", b'"model"', b"1e999", b"[]",
    b'{"format": "chainrule.nn/model", "version": 1, "architecture": {"type": "MLP"}, "parameters": {}}',
    b'{"format": "chainrule.nn/model", "version": 1, "architecture": {"type": ["MLP"]}, "parameters": {}}',
    b'{"format": {"a": 1}, "version": 1, "architecture": {}, "parameters": {}}',
], ids=repr)
def test_assorted_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        load(path)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=80)
@given(
    architecture=st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["Neuron", "Layer", "MLP"]) | _json,
        "nin": st.integers(-2, 4) | _json, "nout": st.integers(-2, 4) | _json,
        "sizes": st.lists(st.integers(-1, 3), max_size=3) | _json,
        "activation": st.sampled_from(["relu", "tanh"]) | _json,
        "output_activation": st.sampled_from(["linear"]) | _json,
    }) | _json,
    parameters=st.dictionaries(st.sampled_from(["w0", "w1", "b", "neurons.0.w0", "x"]),
                               st.floats(-2, 2) | _json, max_size=5) | _json,
)
def test_any_document_loads_or_raises_model_file_error(architecture, parameters) -> None:
    text = json.dumps({"format": "chainrule.nn/model", "version": 1,
                       "architecture": architecture, "parameters": parameters})
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"chainrule-fuzz-{os.getpid()}.json"
    path.write_text(text)
    try:
        model = load(path)
    except ModelFileError:
        return
    finally:
        path.unlink()
    assert isinstance(model, Module)  # a valid document slipped through: it must be a model
    assert model.state_dict() == parameters


@settings(max_examples=60)
@given(cut=st.integers(0, 400), junk=st.binary(max_size=8))
def test_truncated_or_corrupted_files(cut: int, junk: bytes) -> None:
    model = MLP(2, [2, 1], seed=0)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"chainrule-cut-{os.getpid()}.json"
    save(model, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] + junk + data[cut + len(junk):])
    try:
        loaded = load(path)
    except ModelFileError:
        return
    finally:
        path.unlink()
    assert loaded.architecture() == model.architecture()


# -- save keeps modes and writes through symbolic links ------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o644)])
def test_a_new_file_is_0644_under_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    previous = os.umask(umask)
    try:
        save(Neuron(2, seed=0), tmp_path / "model.json")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "model.json") == expected


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_an_existing_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "model.json"
    save(Neuron(2, seed=0), path)
    path.chmod(mode)
    save(Neuron(2, seed=1), path)
    assert _mode(path) == mode
    assert load(path).parameters()[0].data == Neuron(2, seed=1).parameters()[0].data


def test_save_writes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "real.json"
    save(Neuron(2, seed=0), target)
    target.chmod(0o640)
    link = tmp_path / "model.json"
    link.symlink_to(Path("models") / "real.json")
    save(Neuron(2, seed=5), link)
    assert link.is_symlink() and os.readlink(link) == str(Path("models") / "real.json")
    assert _mode(target) == 0o640
    assert load(target).state_dict() == Neuron(2, seed=5).state_dict()
    assert sorted(os.listdir(tmp_path / "models")) == ["real.json"]  # no temporary left behind


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "model.json"
    link.symlink_to(tmp_path / "new.json")
    save(Neuron(2, seed=0), link)
    assert link.is_symlink() and (tmp_path / "new.json").is_file()


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_save_refuses_to_replace_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.json"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    with pytest.raises(ModelFileError, match="not a regular file; refusing to replace it"):
        save(Neuron(2, seed=0), path)
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_module_without_an_architecture_is_refused_by_save_with_a_hint(tmp_path: Path) -> None:
    class Scale(Module):
        def __init__(self) -> None:
            self.k = Value(2.0)

        def __call__(self, x):
            return self.k * x

    with pytest.raises(ConfigurationError, match=r"Scale does not describe its architecture; save its state_dict\(\)"):
        save(Scale(), tmp_path / "model.json")
    assert not (tmp_path / "model.json").exists()


def test_loading_into_a_module_without_an_architecture_is_refused(tmp_path: Path) -> None:
    class Bare(Module):
        def __init__(self) -> None:
            self.w0, self.w1, self.b = Value(1.0), Value(2.0), Value(3.0)

    path = tmp_path / "model.json"
    save(Neuron(2, seed=0), path)
    bare = Bare()
    with pytest.raises(ConfigurationError, match="Bare does not describe its architecture"):
        load(path, into=bare)
    assert bare.state_dict() == {"w0": 1.0, "w1": 2.0, "b": 3.0}


def test_into_must_be_a_module_and_is_checked_before_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"into must be a chainrule\.nn Module, got dict"):
        load(tmp_path / "absent.json", into={})
