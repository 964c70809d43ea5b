"""``Embedding``: a table of learned vectors, one row per token (or per position)."""

from __future__ import annotations

import numbers
import random
from typing import Any

from chainrule.engine import Value, scope

from .._checks import positive_int
from ..errors import DataError
from ..module import Module, random_source
from ._parts import matrix, normal_init


class Embedding(Module):
    """``num`` vectors of ``dim`` parameters; ``embedding(i)`` is row ``i``.

    A lookup records no operation: it hands back the row's parameters themselves, so the
    gradient of a row is the sum of what every use of it receives. Rows start N(0, std)
    (PyTorch's ``nn.Embedding`` uses std 1; microgpt uses 0.08). Parameters are named
    ``weight.{row}.{col}`` (labels ``e{row}.{col}``).
    """

    nin = 1

    def __init__(
        self,
        num: int,
        dim: int,
        *,
        std: float = 1.0,
        seed: int | random.Random | None = None,
        name: str = "embedding",
    ) -> None:
        self.num = positive_int(num, "Embedding: num (number of rows)")
        self.dim = positive_int(dim, "Embedding: dim (size of each row)")
        self.std = std
        self.name = name
        rng = random_source(seed)
        with scope(name):
            self.weight = matrix(rng, self.num, self.dim, normal_init(std, "Embedding: std"), "e")

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"weight.{r}.{c}", e) for r, row in enumerate(self.weight)
                for c, e in enumerate(row)]

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def __call__(self, index: Any) -> list[Value]:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise DataError(f"Embedding {self.name}: index must be an integer, "
                            f"got {type(index).__name__} {index!r:.40}")
        if not 0 <= int(index) < self.num:
            raise DataError(f"Embedding {self.name}: index {index} is out of range "
                            f"(it has {self.num} rows, 0 to {self.num - 1})")
        return self.weight[index]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Embedding", "num": self.num, "dim": self.dim}

    def __repr__(self) -> str:
        return f"Embedding({self.num}, {self.dim})"
