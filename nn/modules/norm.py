"""Normalisation layers: ``RMSNorm`` (what microgpt uses) and ``LayerNorm``."""

from __future__ import annotations

from typing import Any

from chainrule.engine import Value, add_n, dot, scope

from .._checks import positive_float, positive_int
from ..module import Module, as_features


class _Norm(Module):
    kind = "norm"

    def __init__(self, dim: int, eps: float = 1e-5, *, affine: bool = True, name: str) -> None:
        self.dim = self.nin = positive_int(dim, f"{type(self).__name__}: dim")
        self.eps = positive_float(eps, f"{type(self).__name__}: eps")
        self.affine = bool(affine)
        self.name = name
        with scope(name):
            self.weight = ([Value(1.0, label=f"g{i}") for i in range(self.dim)]
                           if self.affine else None)
            self.bias = self._make_bias()

    def _make_bias(self) -> list[Value] | None:
        return None

    def named_parameters(self) -> list[tuple[str, Value]]:
        named = []
        if self.weight is not None:
            named += [(f"weight.{i}", g) for i, g in enumerate(self.weight)]
        if self.bias is not None:
            named += [(f"bias.{i}", b) for i, b in enumerate(self.bias)]
        return named

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def _scale(self, out: list[Value]) -> list[Value]:
        if self.weight is not None:
            out = [o * g for o, g in zip(out, self.weight, strict=True)]
        if self.bias is not None:
            out = [o + b for o, b in zip(out, self.bias, strict=True)]
        return out

    def architecture(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "dim": self.dim, "eps": self.eps,
                "affine": self.affine}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dim}, eps={self.eps:g}, affine={self.affine})"


class RMSNorm(_Norm):
    """``x_i / sqrt(mean(x^2) + eps)``, times a learned gain ``g_i`` when ``affine``.

    Computed as microgpt does: ``x_i * (sum(x_j * x_j) / n + eps) ** -0.5``. PyTorch's
    ``nn.RMSNorm`` has the learned gain by default too; its default eps is the float's machine
    epsilon where chainrule uses 1e-5 (microgpt's). microgpt has no gain: ``affine=False``.
    """

    def __init__(self, dim: int, eps: float = 1e-5, *, affine: bool = True,
                 name: str = "rmsnorm") -> None:
        super().__init__(dim, eps, affine=affine, name=name)

    def __call__(self, x: Any) -> list[Value]:
        x = as_features(x, self.dim, f"RMSNorm {self.name}")
        with scope(self.name):
            mean_square = dot(x, x) / self.dim
            scale = (mean_square + self.eps) ** -0.5
            return self._scale([xi * scale for xi in x])


class LayerNorm(_Norm):
    """``(x_i - mean(x)) / sqrt(var(x) + eps) * g_i + b_i``, as ``torch.nn.LayerNorm`` (biased
    variance, gain 1 and bias 0 to start; ``affine=False``: neither)."""

    def __init__(self, dim: int, eps: float = 1e-5, *, affine: bool = True,
                 name: str = "layernorm") -> None:
        super().__init__(dim, eps, affine=affine, name=name)

    def _make_bias(self) -> list[Value] | None:
        return [Value(0.0, label=f"b{i}") for i in range(self.dim)] if self.affine else None

    def __call__(self, x: Any) -> list[Value]:
        x = as_features(x, self.dim, f"LayerNorm {self.name}")
        with scope(self.name):
            mean = add_n(x) / self.dim
            centred = [xi - mean for xi in x]
            variance = dot(centred, centred) / self.dim
            scale = (variance + self.eps) ** -0.5
            return self._scale([c * scale for c in centred])
