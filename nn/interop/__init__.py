"""Bridges from chainrule.nn to other frameworks. Each imports its framework only when used."""

from .pytorch import (
    PrecisionWarning,
    TorchNotInstalledError,
    UnsupportedModuleError,
    from_torch,
    parameter_map,
    to_torch,
)

__all__ = [
    "PrecisionWarning",
    "TorchNotInstalledError",
    "UnsupportedModuleError",
    "from_torch",
    "parameter_map",
    "to_torch",
]
