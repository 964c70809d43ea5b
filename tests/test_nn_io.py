"""save/load: exact round trips, atomic writes, and a clear error for every kind of bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from chainrule.nn import MLP, Layer, ModelFileError, Module, Neuron, load, save
from chainrule.nn import io as nn_io


def _model() -> MLP:
    return MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)


@pytest.mark.parametrize(
    "model",
    [_model(), Layer(3, 2, "leaky_relu", seed=1), Neuron(4, "linear", seed=2),
     MLP(1, [2, 2, 3], init="he_normal", seed=3)],
    ids=["MLP", "Layer", "Neuron", "deep MLP"],
)
def test_round_trip_is_exact(tmp_path: Path, model) -> None:
    for p in model.parameters():
        p.data += 0.1 / 3  # biases too, and digits a short repr would lose
    path = tmp_path / "model.json"
    save(model, path)
    loaded = load(path)
    assert type(loaded) is type(model)
    assert loaded.architecture() == model.architecture()
    assert [(n, p.data) for n, p in loaded.named_parameters()] == [
        (n, p.data) for n, p in model.named_parameters()]
    x = [0.3] * model.nin
    assert _data(loaded(x)) == _data(model(x))


def _data(out):
    return [o.data for o in out] if isinstance(out, list) else out.data


def test_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(_model(), path)
    document = json.loads(path.read_text())
    assert document["format"] == "chainrule.nn/model" and document["version"] == 1
    assert document["architecture"] == {"type": "MLP", "nin": 2, "sizes": [3, 1],
                                        "activation": "tanh", "output_activation": "sigmoid"}
    assert list(document["parameters"])[:3] == ["layers.0.neurons.0.w0", "layers.0.neurons.0.w1",
                                                "layers.0.neurons.0.b"]


def test_load_into_an_existing_model(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    source = _model()
    save(source, path)
    target = MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=9)
    assert load(path, into=target) is target
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]


def test_load_into_a_different_architecture_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(_model(), path)
    other = MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=9)
    before = [p.data for p in other.parameters()]
    with pytest.raises(ModelFileError, match=r"holds MLP\(2, \[3, 1\].*does not match.*MLP\(2, \[4, 1\]"):
        load(path, into=other)
    assert [p.data for p in other.parameters()] == before


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "model.json"
    save(_model(), path)
    previous = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(nn_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save(MLP(2, [5, 1], seed=1), path)
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["model.json"]  # the temporary file was removed


def test_a_save_interrupted_while_writing_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "model.json"
    save(_model(), path)
    previous = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(nn_io.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        save(MLP(2, [5, 1], seed=1), path)
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["model.json"]


def _document() -> dict:
    return {
        "format": "chainrule.nn/model",
        "version": 1,
        "architecture": {"type": "Neuron", "nin": 2, "activation": "relu"},
        "parameters": {"w0": 0.5, "w1": -0.25, "b": 0.0},
    }


def _with(change) -> dict:
    document = _document()
    change(document)
    return document


CORRUPT = {
    "not JSON": ("{not json", "is not valid JSON"),
    "truncated": ('{"format": "chainrule.nn/model", "vers', "is not valid JSON"),
    "a list": ("[1, 2]", "must hold a JSON object, found list"),
    "NaN parameter": (json.dumps(_document()).replace("0.5", "NaN"), "NaN is not a finite number"),
    "Infinity": (json.dumps(_document()).replace("0.5", "-Infinity"), "-Infinity is not a finite"),
    "huge exponent": (json.dumps(_document()).replace("0.5", "1e999"), "'w0' is inf, not finite"),
    "huge integer": (json.dumps(_document()).replace("0.5", "1" + "0" * 400), "not finite"),
    "repeated parameter": (json.dumps(_document()).replace('"w0": 0.5', '"w0": 0.5, "w0": 9.0'),
                           "the key 'w0' appears more than once in one object"),
    "repeated field": (json.dumps(_document()).replace('"version": 1', '"version": 1, "version": 1'),
                       "the key 'version' appears more than once"),
}
MALFORMED = {
    "no format": (lambda d: d.pop("format"), "has no 'format' field"),
    "wrong format": (lambda d: d.update(format="pickle"), "has format 'pickle', expected"),
    "newer version": (lambda d: d.update(version=2), "format version 2; this chainrule reads version 1"),
    "bool version": (lambda d: d.update(version=True), "format version True"),
    "no parameters": (lambda d: d.pop("parameters"), "has no 'parameters' field"),
    "architecture not object": (lambda d: d.update(architecture=[2]), "'architecture' must be an object"),
    "unknown type": (lambda d: d["architecture"].update(type="CNN"), "unknown model type 'CNN'"),
    "no type": (lambda d: d["architecture"].pop("type"), "architecture has no 'type' field"),
    "bad nin": (lambda d: d["architecture"].update(nin=0), "'nin' must be a positive integer, got 0"),
    "float nin": (lambda d: d["architecture"].update(nin=2.0), "'nin' must be a positive integer"),
    "unknown activation": (lambda d: d["architecture"].update(activation="gelu"),
                           "unknown activation 'gelu' for 'activation'"),
    "extra field": (lambda d: d["architecture"].update(dropout=0.5), r"unexpected architecture field\(s\) \['dropout'\]"),
    "parameters not object": (lambda d: d.update(parameters=[0.5, 0.1, 0.0]), "'parameters' must be an object"),
    "missing parameter": (lambda d: d["parameters"].pop("w1"),
                          r"Neuron\(2, activation='relu'\) has 3 parameters but the file stores 2"),
    "extra parameter": (lambda d: d["parameters"].update(w2=1.0), "has 3 parameters but the file stores 4"),
    "renamed parameter": (lambda d: d["parameters"].update(w9=d["parameters"].pop("w1")),
                          r"Neuron\(2.*1 parameter\(s\) are missing, e.g. 'w1'"),
    "string parameter": (lambda d: d["parameters"].update(b="0"), "parameter 'b' must be a number, got '0'"),
    "bool parameter": (lambda d: d["parameters"].update(b=True), "parameter 'b' must be a number, got True"),
    "shape mismatch": (lambda d: d["architecture"].update(nin=3), r"Neuron\(3.* has 4 parameters"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_text_is_refused(tmp_path: Path, case: str) -> None:
    text, message = CORRUPT[case]
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(ModelFileError, match=message):
        load(path)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_documents_are_refused(tmp_path: Path, case: str) -> None:
    change, message = MALFORMED[case]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_with(change)))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_an_mlp_with_bad_sizes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(_model(), path)
    document = json.loads(path.read_text())
    document["architecture"]["sizes"] = [3, 0]
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="'sizes' must be a non-empty list of positive integers"):
        load(path)


def test_the_valid_document_of_these_tests_loads(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_document()))
    neuron = load(path)
    assert [p.data for p in neuron.parameters()] == [0.5, -0.25, 0.0]


def test_binary_file_and_errors_are_value_errors(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\x80\x81\xff")
    with pytest.raises(ValueError, match="is not a text"):
        load(path)


def test_missing_file_is_a_plain_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.json")


class Scaled(Module):
    """A module of the user's own, made loadable by registering its type."""

    def __init__(self, nin: int, factor: float, seed: int | None = None) -> None:
        self.nin, self.factor = nin, factor
        self.inner = Neuron(nin, "linear", seed=seed)

    def forward(self, x: Any) -> Any:
        return self.inner(x) * self.factor

    def architecture(self) -> dict[str, Any]:
        return {"type": "Scaled", "nin": self.nin, "factor": self.factor}


def test_a_registered_module_type_saves_and_loads(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(nn_io, "MODULE_TYPES", dict(nn_io.MODULE_TYPES))  # this test's own
    model = Scaled(2, 3.0, seed=1)
    save(model, tmp_path / "scaled.json")
    with pytest.raises(ModelFileError, match="unknown model type 'Scaled'"):
        load(tmp_path / "scaled.json")
    nn_io.register_module_type("Scaled", nn_io.ModuleType(
        Scaled, {"nin": nn_io._size, "factor": nn_io._positive_number}, lambda a: a["nin"] + 1))
    loaded = load(tmp_path / "scaled.json")
    assert isinstance(loaded, Scaled) and loaded.factor == 3.0
    assert loaded.state_dict() == model.state_dict()
    assert loaded([1.0, 2.0]).data == model([1.0, 2.0]).data


def test_the_loader_names_no_module_type_in_its_code() -> None:
    """Every type comes from the registry: the checking and building code switch on no name."""
    source = Path(nn_io.__file__).read_text(encoding="utf-8")
    code = source[source.index("from __future__"): source.index("# -- the built-in module types")]
    for name in nn_io.MODULE_TYPES:
        assert f'"{name}"' not in code, name
