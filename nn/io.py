"""Saving and loading models as JSON (never pickle: loading a file runs no code).

The file holds a format name and version, the architecture and every parameter by its dotted
name (see :meth:`Module.named_parameters`)::

    {"format": "chainrule.nn/model", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "sizes": [4, 1],
                      "activation": "tanh", "output_activation": "sigmoid"},
     "parameters": {"layers.0.neurons.0.w0": 0.123..., ...}}

Floats are written with ``repr``, so a round trip is exact.

Loading treats the file as untrusted. Only a regular file is opened (a FIFO, a device, a
directory or a socket is refused without reading it); a file above :data:`MAX_FILE_BYTES` is
refused without reading it all; the architecture and its parameter count are checked against the
file, and against :data:`MAX_PARAMETERS`, before any model is built. Every problem is a
:class:`~chainrule.nn.errors.ModelFileError` naming the file (a missing or unreadable file stays
the ``OSError`` Python gives).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chainrule.engine import ChainruleError

from .activations import ACTIVATIONS
from .errors import ConfigurationError, ModelFileError
from .module import MLP, Layer, Module, Neuron, check_names, checked_values
from .modules import GPT, Block, Embedding, FeedForward, LayerNorm, Linear, RMSNorm, SelfAttention

FORMAT = "chainrule.nn/model"
VERSION = 1
PathLike = str | os.PathLike[str]

#: The largest model file :func:`load` reads by default: 64 MiB, room for the million
#: parameters of :data:`MAX_PARAMETERS` (about 50 bytes each as written by :func:`save`).
MAX_FILE_BYTES = 64 * 2**20
#: The most parameters :func:`load` builds a model for by default. Each is a Value of about 110
#: bytes plus its share of the parsed file, so a million stays well under a gigabyte.
MAX_PARAMETERS = 1_000_000
#: A model file holds a handful of JSON objects and arrays; far more is refused before parsing,
#: which also bounds how deeply they can nest.
MAX_CONTAINERS = 10_000

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` to ``path`` as JSON, atomically (see :func:`write_atomically`: a save
    that fails part-way leaves any previous file intact, an existing file keeps its permission
    bits, a symbolic link is written through)."""
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a chainrule.nn Module, got {type(model).__name__}")
    try:
        architecture = model.architecture()
    except NotImplementedError as error:
        raise ConfigurationError(f"save: {error}") from None
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "parameters": model.state_dict(),
    }
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    write_atomically(path, text, "save")


def write_atomically(path: PathLike, text: str, who: str, *,
                     refusal: type[ChainruleError] = ModelFileError) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all.

    The text goes to a new temporary file beside the target (created exclusively, so a
    symbolic link planted at its name is never followed), then ``os.replace`` moves it into
    place, so a write that fails part-way leaves any previous file intact. An existing file
    keeps its permission bits (a new one gets 0644 less the umask, like any file Python
    creates), and a symbolic link at ``path`` is written through: its target is replaced, the
    link stays. Anything at ``path`` that is not a regular file is refused (``refusal`` is the
    error raised, naming ``who``).
    """
    target = os.path.realpath(os.fspath(path))
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise refusal(
            f"{who}: {os.fspath(path)} is {_kind(existing.st_mode)}, not a regular file; "
            f"refusing to replace it"
        )
    directory, name = os.path.split(target)
    descriptor, temporary = _create_temporary(directory or ".", name, who)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            if existing is not None:
                os.chmod(temporary, stat.S_IMODE(existing.st_mode))  # not subject to the umask
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory or ".")


def _create_temporary(directory: str, name: str, who: str) -> tuple[int, str]:
    """A new file beside the target, created with mode 0644 so the umask applies to it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, 0o644), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"{who}: could not create a temporary file in {directory}")


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; not every platform or file system allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def load(
    path: PathLike,
    into: Module | None = None,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_parameters: int = MAX_PARAMETERS,
) -> Module:
    """Read a model saved by :func:`save`.

    Returns a new model, or, with ``into``, copies the parameters into that model (whose
    architecture must match the file's) and returns it. Every field is checked; a corrupt,
    hostile or mismatched file raises :class:`~chainrule.nn.errors.ModelFileError` (a
    ``ValueError``) naming the problem, and ``into`` is left untouched. Files above
    ``max_bytes`` and architectures with more than ``max_parameters`` parameters are refused
    before anything is built (raise the limits for a bigger model you trust).
    """
    if into is not None and not isinstance(into, Module):
        raise TypeError(f"load: into must be a chainrule.nn Module, got {type(into).__name__}")
    where = os.fspath(path)
    document = _parse(_read(where, max_bytes), where)
    for key in ("format", "version", "architecture", "parameters"):
        if key not in document:
            raise ModelFileError(f"load: {where} has no {key!r} field; is it a chainrule model?")
    if document["format"] != FORMAT:
        raise ModelFileError(
            f"load: {where} has format {document['format']!r:.60}, expected {FORMAT!r}"
        )
    version = document["version"]
    if version != VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"load: {where} has format version {version!r:.20}; this chainrule reads version "
            f"{VERSION}"
        )
    architecture, description, count = _architecture(document["architecture"], where)
    stored = document["parameters"]
    if not isinstance(stored, dict):
        raise ModelFileError(f"load: {where}: 'parameters' must be an object, got {stored!r:.60}")
    if count > max_parameters:
        raise ModelFileError(
            f"load: {where} describes {description} with {count:,} parameters, more than the "
            f"limit of {max_parameters:,} (load(..., max_parameters=) raises it)"
        )
    if len(stored) != count:
        raise ModelFileError(
            f"load: {where}: {description} has {count:,} parameters but the file stores "
            f"{len(stored):,}"
        )
    if into is not None:
        try:
            theirs = into.architecture()
        except NotImplementedError as error:
            raise ConfigurationError(f"load: {error}") from None
        if theirs != architecture:
            raise ModelFileError(
                f"load: {where} holds {description}, which does not match the model to load "
                f"into, {into!r}"
            )
        model = into
    else:
        model = _build(architecture, where)
    names = [name for name, _ in model.named_parameters()]
    check_names(names, stored, f"load: {where}: {description}")
    values = checked_values(stored, names, f"load: {where}")
    for (_, p), value in zip(model.named_parameters(), values, strict=True):
        p.data = value
    return model


def _read(where: str, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a regular file; anything else is refused before it is read."""
    status = os.stat(where)  # a missing or forbidden path raises the usual OSError
    _check_status(status, where, max_bytes)
    # O_NONBLOCK: should the path turn into a FIFO after the check above, opening it must not
    # wait for a writer; the descriptor is checked again below.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(where, flags | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as file:
        _check_status(os.fstat(descriptor), where, max_bytes)
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ModelFileError(
            f"load: {where} is larger than the limit of {max_bytes:,} bytes "
            f"(load(..., max_bytes=) raises it)"
        )
    return data


def _check_status(status: os.stat_result, where: str, max_bytes: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise ModelFileError(
            f"load: {where} is {_kind(status.st_mode)}, not a model file (a regular file)"
        )
    if status.st_size > max_bytes:
        raise ModelFileError(
            f"load: {where} is {status.st_size:,} bytes, more than the limit of {max_bytes:,} "
            f"(load(..., max_bytes=) raises it)"
        )


def _parse(data: bytes, where: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"load: {where} is not a text (UTF-8) file: {error}") from None
    containers = text.count("{") + text.count("[")
    if containers > MAX_CONTAINERS:
        raise ModelFileError(
            f"load: {where} holds {containers:,} JSON objects and arrays; a model file has a "
            f"handful (at most {MAX_CONTAINERS:,} are read)"
        )
    try:
        document = json.loads(text, parse_constant=_reject_constant,
                              object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"load: {where} is not valid JSON: {error}") from None
    except ValueError as error:  # a non-finite constant, or an integer with too many digits
        raise ModelFileError(f"load: {where}: {error}") from None
    except (RecursionError, MemoryError):
        raise ModelFileError(f"load: {where} is nested too deeply or too large to parse") from None
    if not isinstance(document, dict):
        raise ModelFileError(
            f"load: {where} must hold a JSON object, found {type(document).__name__}"
        )
    return document


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refused when a key appears twice: JSON leaves the meaning of a
    repeated key open, and Python's parser silently keeps the last one."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r:.60} appears more than once in one object")
        seen.add(key)
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number (parameters must be finite)")


# -- the module types a file may hold -----------------------------------------------------------
# load() reads the architecture's "type" and finds it in MODULE_TYPES: no type is named in the
# code that checks and builds, and a module of your own becomes loadable with one call to
# register_module_type.

#: A field's check: ``check(architecture, key, where)`` returns the value or raises.
FieldCheck = Callable[[dict[str, Any], str, str], Any]


@dataclass(frozen=True)
class ModuleType:
    """How :func:`load` checks and builds one type of module from its architecture (the dict
    its :meth:`~chainrule.nn.Module.architecture` returns).

    ``fields`` maps every field but ``"type"`` to its check; ``build`` is called with the checked
    fields as keyword arguments (and ``seed=0`` when ``seeded``: its initial weights are thrown
    away, so they are drawn without touching global state); ``count`` gives the number of
    parameters from the checked fields, before anything is built; ``describe`` names the
    architecture in messages (by default ``Type(field=value, ...)``).
    """

    build: Callable[..., Module]
    fields: Mapping[str, FieldCheck]
    count: Callable[[dict[str, Any]], int]
    seeded: bool = True
    describe: Callable[[dict[str, Any]], str] | None = None


#: Every module type a model file may hold, by its architecture's ``"type"``.
MODULE_TYPES: dict[str, ModuleType] = {}


def register_module_type(name: str, module_type: ModuleType) -> None:
    """Make :func:`save`'d modules whose architecture has ``"type": name`` loadable."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"register_module_type: name must be a non-empty string, "
                                 f"got {name!r:.40}")
    if not isinstance(module_type, ModuleType):
        raise ConfigurationError(f"register_module_type: expected a ModuleType, "
                                 f"got {type(module_type).__name__}")
    MODULE_TYPES[name] = module_type


def _architecture(architecture: Any, where: str) -> tuple[dict[str, Any], str, int]:
    """The checked architecture, how to name it, and its parameter count; nothing is built."""
    if not isinstance(architecture, dict):
        raise ModelFileError(
            f"load: {where}: 'architecture' must be an object, got {architecture!r:.60}"
        )
    kind = _field(architecture, "type", where)
    module_type = MODULE_TYPES.get(kind) if isinstance(kind, str) else None
    if module_type is None:
        known = ", ".join(MODULE_TYPES)
        raise ModelFileError(f"load: {where}: unknown model type {kind!r:.40} (known: {known})")
    unexpected = set(architecture) - {"type", *module_type.fields}
    if unexpected:
        raise ModelFileError(
            f"load: {where}: unexpected architecture field(s) {sorted(unexpected)!r:.80} "
            f"for {kind}"
        )
    values = {key: check(architecture, key, where) for key, check in module_type.fields.items()}
    describe = module_type.describe or (
        lambda v: f"{kind}({', '.join(f'{key}={value!r}' for key, value in v.items())})")
    return architecture, describe(values), module_type.count(values)


def _build(architecture: dict[str, Any], where: str) -> Module:
    """A module of a checked architecture (its parameters are overwritten next)."""
    module_type = MODULE_TYPES[architecture["type"]]
    values = {key: architecture[key] for key in module_type.fields}
    try:
        if module_type.seeded:
            return module_type.build(**values, seed=0)
        return module_type.build(**values)
    except ConfigurationError as error:
        raise ModelFileError(f"load: {where}: {error}") from None


# -- field checks ------------------------------------------------------------------------------


def _field(architecture: dict[str, Any], key: str, where: str) -> Any:
    if key not in architecture:
        raise ModelFileError(f"load: {where}: the architecture has no {key!r} field")
    return architecture[key]


def _size(architecture: dict[str, Any], key: str, where: str) -> int:
    value = _field(architecture, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelFileError(
            f"load: {where}: architecture {key!r} must be a positive integer, got {value!r:.40}"
        )
    return value


def _sizes(architecture: dict[str, Any], key: str, where: str) -> list[int]:
    sizes = _field(architecture, key, where)
    if (not isinstance(sizes, list) or not sizes
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes)):
        raise ModelFileError(
            f"load: {where}: architecture {key!r} must be a non-empty list of positive "
            f"integers, got {sizes!r:.60}"
        )
    return sizes


def _activation(architecture: dict[str, Any], key: str, where: str) -> str:
    value = _field(architecture, key, where)
    if not isinstance(value, str) or value not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise ModelFileError(
            f"load: {where}: unknown activation {value!r:.40} for {key!r} (known: {known})"
        )
    return value


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


# -- the built-in module types -----------------------------------------------------------------


def _linear(nin: int, nout: int, bias: bool) -> int:
    return nout * nin + (nout if bias else 0)


def _attention(n_embd: int, bias: bool) -> int:
    return 4 * _linear(n_embd, n_embd, bias)  # query, key, value and output projections


def _block(a: dict[str, Any]) -> int:
    n_embd, width = int(a["n_embd"]), int(a["mlp_width"])
    return _attention(n_embd, False) + 2 * n_embd * width  # norms: no gain


def _mlp(a: dict[str, Any]) -> int:
    widths = [a["nin"], *a["sizes"]]
    return sum(widths[i + 1] * (widths[i] + 1) for i in range(len(a["sizes"])))


def _register_built_in_types() -> None:

    size, flag, positive = _size, _flag, _positive_number
    norm = {"dim": size, "eps": positive, "affine": flag}
    types = {
        "Neuron": ModuleType(
            Neuron, {"nin": size, "activation": _activation}, lambda a: a["nin"] + 1,
            describe=lambda a: f"Neuron({a['nin']}, activation={a['activation']!r})"),
        "Layer": ModuleType(
            Layer, {"nin": size, "nout": size, "activation": _activation},
            lambda a: a["nout"] * (a["nin"] + 1),
            describe=lambda a: f"Layer({a['nin']}, {a['nout']}, activation={a['activation']!r})"),
        "MLP": ModuleType(
            MLP, {"nin": size, "sizes": _sizes, "activation": _activation,
                  "output_activation": _activation}, _mlp,
            describe=lambda a: (f"MLP({a['nin']}, {a['sizes']!r:.60}, "
                                f"activation={a['activation']!r}, "
                                f"output_activation={a['output_activation']!r})")),
        "GPT": ModuleType(
            GPT, dict.fromkeys(("vocab_size", "n_embd", "n_head", "n_layer", "block_size",
                                "mlp_width"), size),
            lambda a: ((2 * a["vocab_size"] + a["block_size"]) * a["n_embd"]
                       + a["n_layer"] * _block(a))),
        "Linear": ModuleType(Linear, {"nin": size, "nout": size, "bias": flag},
                             lambda a: _linear(a["nin"], a["nout"], a["bias"])),
        "Embedding": ModuleType(Embedding, {"num": size, "dim": size},
                                lambda a: a["num"] * a["dim"]),
        "RMSNorm": ModuleType(RMSNorm, norm, lambda a: a["dim"] if a["affine"] else 0,
                              seeded=False),
        "LayerNorm": ModuleType(LayerNorm, norm, lambda a: 2 * a["dim"] if a["affine"] else 0,
                                seeded=False),
        "SelfAttention": ModuleType(SelfAttention, {"n_embd": size, "n_head": size, "bias": flag},
                                    lambda a: _attention(a["n_embd"], a["bias"])),
        "FeedForward": ModuleType(FeedForward, {"n_embd": size, "width": size},
                                  lambda a: 2 * a["n_embd"] * a["width"]),
        "Block": ModuleType(Block, {"n_embd": size, "n_head": size, "mlp_width": size}, _block),
    }
    for name, module_type in types.items():
        register_module_type(name, module_type)


_register_built_in_types()
