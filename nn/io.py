"""Saving and loading models as JSON (never pickle: loading a file runs no code).

The file holds a format name and version, the architecture and every parameter by its dotted
name (see :meth:`Module.named_parameters`)::

    {"format": "chainrule.nn/model", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "sizes": [4, 1],
                      "activation": "tanh", "output_activation": "sigmoid"},
     "parameters": {"layers.0.neurons.0.w0": 0.123..., ...}}

Floats are written with ``repr``, so a round trip is exact.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import ModelFileError
from .module import ACTIVATIONS, MLP, Layer, Module, Neuron

FORMAT = "chainrule.nn/model"
VERSION = 1
PathLike = str | os.PathLike[str]


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` to ``path`` as JSON, atomically.

    The file is written to a temporary file in the same directory and then moved into place
    with ``os.replace``, so a save that fails part-way leaves any previous file intact.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a chainrule.nn Module, got {type(model).__name__}")
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": model.architecture(),
        "parameters": {name: p.data for name, p in model.named_parameters()},
    }
    text = json.dumps(document, indent=1, allow_nan=False)
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load(path: PathLike, into: Module | None = None) -> Module:
    """Read a model saved by :func:`save`.

    Returns a new model, or, with ``into``, copies the parameters into that model (whose
    architecture must match the file's) and returns it. Every field is checked; a corrupt or
    mismatched file raises :class:`~chainrule.nn.errors.ModelFileError` (a ``ValueError``)
    naming the problem, and ``into`` is left untouched.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"load: {where} is not a text (UTF-8) file: {error}") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"load: {where} is not valid JSON: {error}") from None
    except ValueError as error:
        raise ModelFileError(f"load: {where}: {error}") from None
    if not isinstance(document, dict):
        raise ModelFileError(f"load: {where} must hold a JSON object, found {type(document).__name__}")
    for key in ("format", "version", "architecture", "parameters"):
        if key not in document:
            raise ModelFileError(f"load: {where} has no {key!r} field; is it a chainrule model?")
    if document["format"] != FORMAT:
        raise ModelFileError(
            f"load: {where} has format {document['format']!r}, expected {FORMAT!r}"
        )
    version = document["version"]
    if version != VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"load: {where} has format version {version!r}; this chainrule reads version {VERSION}"
        )
    architecture = document["architecture"]
    model = _build(architecture, where)
    values = _parameters(document["parameters"], model, where)
    if into is not None:
        if not isinstance(into, Module):
            raise TypeError(f"load: into must be a chainrule.nn Module, got {type(into).__name__}")
        if into.architecture() != model.architecture():
            raise ModelFileError(
                f"load: {where} holds {model!r}, which does not match the model to load into, "
                f"{into!r}"
            )
        model = into
    for (_, p), value in zip(model.named_parameters(), values, strict=True):
        p.data = value
    return model


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number (parameters must be finite)")


def _field(architecture: dict[str, Any], key: str, where: str) -> Any:
    if key not in architecture:
        raise ModelFileError(f"load: {where}: the architecture has no {key!r} field")
    return architecture[key]


def _size(architecture: dict[str, Any], key: str, where: str) -> int:
    value = _field(architecture, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelFileError(
            f"load: {where}: architecture {key!r} must be a positive integer, got {value!r}"
        )
    return value


def _activation(architecture: dict[str, Any], key: str, where: str) -> str:
    value = _field(architecture, key, where)
    if not isinstance(value, str) or value not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise ModelFileError(
            f"load: {where}: unknown activation {value!r} for {key!r} (known: {known})"
        )
    return value


def _build(architecture: Any, where: str) -> Module:
    """An empty model of the described architecture (its parameters are overwritten next)."""
    if not isinstance(architecture, dict):
        raise ModelFileError(f"load: {where}: 'architecture' must be an object, got {architecture!r:.60}")
    kind = _field(architecture, "type", where)
    if kind in SEQUENCE_MODELS:  # see "sequence models" at the end of this file
        return _build_sequence_model(architecture, where)
    expected = {
        "Neuron": {"type", "nin", "activation"},
        "Layer": {"type", "nin", "nout", "activation"},
        "MLP": {"type", "nin", "sizes", "activation", "output_activation"},
    }
    if kind not in expected:
        raise ModelFileError(
            f"load: {where}: unknown model type {kind!r} (known: Neuron, Layer, MLP, "
            f"{', '.join(SEQUENCE_MODELS)})"
        )
    unexpected = set(architecture) - expected[kind]
    if unexpected:
        raise ModelFileError(
            f"load: {where}: unexpected architecture field(s) {sorted(unexpected)} for {kind}"
        )
    nin = _size(architecture, "nin", where)
    activation = _activation(architecture, "activation", where)
    # seed=0: the initial weights are thrown away, so draw them without touching global state.
    if kind == "Neuron":
        return Neuron(nin, activation, seed=0)
    if kind == "Layer":
        return Layer(nin, _size(architecture, "nout", where), activation, seed=0)
    sizes = _field(architecture, "sizes", where)
    if (not isinstance(sizes, list) or not sizes
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes)):
        raise ModelFileError(
            f"load: {where}: architecture 'sizes' must be a non-empty list of positive "
            f"integers, got {sizes!r:.60}"
        )
    output = _activation(architecture, "output_activation", where)
    return MLP(nin, sizes, activation, output, seed=0)


def _parameters(stored: Any, model: Module, where: str) -> list[float]:
    """The stored values in the model's parameter order, after checking names and numbers."""
    if not isinstance(stored, dict):
        raise ModelFileError(f"load: {where}: 'parameters' must be an object, got {stored!r:.60}")
    names = [name for name, _ in model.named_parameters()]
    missing = [name for name in names if name not in stored]
    if missing:
        raise ModelFileError(
            f"load: {where}: {len(missing)} parameter(s) of {model!r} are missing, "
            f"e.g. {missing[0]!r}"
        )
    extra = sorted(set(stored) - set(names))
    if extra:
        raise ModelFileError(
            f"load: {where}: {len(extra)} parameter(s) do not belong to {model!r}, "
            f"e.g. {extra[0]!r}"
        )
    values = []
    for name in names:
        value = stored[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelFileError(
                f"load: {where}: parameter {name!r} must be a number, got {value!r:.40}"
            )
        try:
            number = float(value)
        except OverflowError:  # an integer literal too large for a float
            number = math.inf
        if not math.isfinite(number):
            raise ModelFileError(f"load: {where}: parameter {name!r} is {value!r}, not finite")
        values.append(number)
    return values


# -- sequence models (GPT) ---------------------------------------------------------------------
# A separate section so that it merges cleanly with changes to the code above: the file format
# is the same; only the architecture differs.

#: The architecture fields of each sequence model and module: positive integers, except
#: ``bias``/``affine`` (true or false) and ``eps`` (a positive number).
SEQUENCE_MODELS = {
    "GPT": ("vocab_size", "n_embd", "n_head", "n_layer", "block_size", "mlp_width"),
    "Linear": ("nin", "nout", "bias"),
    "Embedding": ("num", "dim"),
    "RMSNorm": ("dim", "eps", "affine"),
    "LayerNorm": ("dim", "eps", "affine"),
    "SelfAttention": ("n_embd", "n_head", "bias"),
    "FeedForward": ("n_embd", "width"),
    "Block": ("n_embd", "n_head", "mlp_width"),
}
#: Larger models than this are refused before any is built (a corrupt file could ask for
#: billions of parameters).
MAX_SEQUENCE_PARAMETERS = 10_000_000


def _flag(architecture: dict[str, Any], key: str, where: str) -> bool:
    value = _field(architecture, key, where)
    if not isinstance(value, bool):
        raise ModelFileError(f"load: {where}: architecture {key!r} must be true or false, "
                             f"got {value!r:.40}")
    return value


def _positive_number(architecture: dict[str, Any], key: str, where: str) -> float:
    value = _field(architecture, key, where)
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value <= 0):
        raise ModelFileError(f"load: {where}: architecture {key!r} must be a positive number, "
                             f"got {value!r:.40}")
    return float(value)


def _parameter_count(kind: str, a: dict[str, Any]) -> int:
    """How many parameters the architecture asks for, computed before building anything."""
    if kind == "GPT":
        n, width = a["n_embd"], a["mlp_width"]
        return (2 * a["vocab_size"] + a["block_size"]) * n + a["n_layer"] * (4 * n * n
                                                                               + 2 * n * width)
    if kind == "Linear":
        return a["nout"] * (a["nin"] + 1)
    if kind == "Embedding":
        return a["num"] * a["dim"]
    if kind in ("RMSNorm", "LayerNorm"):
        return 2 * a["dim"]
    if kind == "SelfAttention":
        return 4 * a["n_embd"] * (a["n_embd"] + 1)
    if kind == "FeedForward":
        return 2 * a["n_embd"] * a["width"]
    return a["n_embd"] * (4 * a["n_embd"] + 2 * a["mlp_width"])  # Block


def _build_sequence_model(architecture: dict[str, Any], where: str) -> Module:
    from . import modules
    from .errors import ConfigurationError

    kind = architecture["type"]
    fields = SEQUENCE_MODELS[kind]
    unexpected = set(architecture) - {"type", *fields}
    if unexpected:
        raise ModelFileError(
            f"load: {where}: unexpected architecture field(s) {sorted(unexpected)} for {kind}"
        )
    values: dict[str, Any] = {}
    for key in fields:
        if key in ("bias", "affine"):
            values[key] = _flag(architecture, key, where)
        elif key == "eps":
            values[key] = _positive_number(architecture, key, where)
        else:
            values[key] = _size(architecture, key, where)
    count = _parameter_count(kind, values)
    if count > MAX_SEQUENCE_PARAMETERS:
        raise ModelFileError(f"load: {where}: the architecture describes a {kind} of {count:,} "
                             f"parameters, more than the {MAX_SEQUENCE_PARAMETERS:,} allowed")
    try:
        # seed=0: the initial weights are thrown away, so draw them without touching global state.
        if kind in ("RMSNorm", "LayerNorm"):
            return getattr(modules, kind)(**values)
        return getattr(modules, kind)(**values, seed=0)
    except ConfigurationError as error:
        raise ModelFileError(f"load: {where}: {error}") from None
