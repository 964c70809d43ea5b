"""``Linear``: a fully connected layer, ``y = W x + b``, one dot product per output."""

from __future__ import annotations

import random
from typing import Any

from chainrule.engine import Value, dot, scope

from .._checks import positive_int
from ..module import Module, as_inputs, random_source
from ._parts import inverse_sqrt, matrix, normal_init, uniform_init


class Linear(Module):
    """``nout`` dot products of the same ``nin`` inputs, plus a bias each (``bias=False``: none).

    Initialisation: PyTorch's ``nn.Linear`` by default (weights and biases uniform in
    ±1/sqrt(nin)); with ``std=`` weights are drawn from N(0, std) and biases start at 0, as in
    GPT-2 and microgpt. Parameters are named ``weight.{out}.{in}`` and ``bias.{out}`` (labels
    ``w{out}.{in}`` and ``b{out}``); every node carries the scope ``name``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        bias: bool = True,
        *,
        std: float | None = None,
        seed: int | random.Random | None = None,
        name: str = "linear",
    ) -> None:
        self.nin = positive_int(nin, "Linear: nin (number of inputs)")
        self.nout = positive_int(nout, "Linear: nout (number of outputs)")
        self.name = name
        self.std = std
        rng = random_source(seed)
        draw = uniform_init(inverse_sqrt(self.nin)) if std is None else normal_init(std, "Linear: std")
        with scope(name):
            self.weight = matrix(rng, self.nout, self.nin, draw, "w")
            self.bias: list[Value] | None = None
            if bias:
                self.bias = [Value(0.0 if std is not None else draw(rng), label=f"b{o}")
                             for o in range(self.nout)]

    def named_parameters(self) -> list[tuple[str, Value]]:
        named = [(f"weight.{o}.{i}", w) for o, row in enumerate(self.weight)
                 for i, w in enumerate(row)]
        if self.bias is not None:
            named += [(f"bias.{o}", b) for o, b in enumerate(self.bias)]
        return named

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def __call__(self, x: Any) -> list[Value]:
        inputs = as_inputs(x, self.nin, f"Linear {self.name}")
        with scope(self.name):
            if self.bias is None:
                return [dot(row, inputs) for row in self.weight]
            return [dot(row, inputs) + b for row, b in zip(self.weight, self.bias, strict=True)]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Linear", "nin": self.nin, "nout": self.nout,
                "bias": self.bias is not None}

    def __repr__(self) -> str:
        return f"Linear({self.nin}, {self.nout}, bias={self.bias is not None})"
