"""The activation functions of ``chainrule.nn``, each described once.

An :class:`Activation` record holds everything the rest of ``chainrule.nn`` needs to know about
one activation: the engine primitive a neuron applies (so its derivative comes from the
primitive table, like every other), the range of its output, whether it saturates or rectifies,
the weight initialisation that suits it, and its PyTorch module. Neurons apply it, the
diagnosis and the training explorer read its kind and range, the PyTorch bridge its module,
the plots its function; none of them lists activations by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from chainrule.engine import PRIMITIVES, Primitive, Value

#: How an activation shapes the gradient: ``"saturating"`` (flat at both ends: sigmoid, tanh),
#: ``"rectifier"`` (a line for positive inputs, flat or shallow below: relu, leaky_relu) or
#: ``"linear"`` (the identity).
Kind = Literal["saturating", "rectifier", "linear"]


@dataclass(frozen=True)
class Activation:
    """One activation function (see the module docstring)."""

    name: str
    #: The primitive a neuron applies to its weighted sum; None for ``"linear"`` (the identity).
    primitive: Primitive | None
    kind: Kind
    #: The range of the output: finite for sigmoid (0, 1) and tanh (-1, 1).
    output_range: tuple[float, float]
    #: The weight initialisation suited to it (see ``INIT_SCHEMES``): Glorot's for saturating
    #: units, He's for rectifiers.
    init: str
    #: The ``torch.nn`` module that computes the same function.
    torch_module: str
    #: The slope of a leaky relu below 0 (PyTorch's default ``negative_slope``); None otherwise.
    slope: float | None = None

    def __call__(self, z: Value) -> Value:
        """The activation applied to ``z``, recorded in the graph."""
        if self.primitive is None:
            return z
        if self.slope is not None:
            result: Value = self.primitive(z, self.slope)
            return result
        applied: Value = self.primitive(z)
        return applied

    @property
    def dies(self) -> bool:
        """Whether a unit can stop learning for good: a relu whose input is negative on every
        sample has slope 0 there, so no gradient reaches its weights."""
        return self.kind == "rectifier" and not self.slope

    def relative_slope(self, output: float) -> float:
        """The slope of a saturating unit whose output is ``output``, as a fraction of its
        largest slope (at 0): the primitive table's own derivative, which for sigmoid and tanh
        reads only the output (``out * (1 - out)``, ``1 - out * out``)."""
        if self.kind != "saturating" or self.primitive is None:
            raise ValueError(f"{self.name} does not saturate: its slope is not read from its output")
        slope = self.primitive.derivatives[0]
        return slope(0.0, output) / slope(0.0, self.primitive.evaluate(0.0))


_UNBOUNDED = (-math.inf, math.inf)

#: Every activation by name, in the order error messages list them.
ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (
        Activation("relu", PRIMITIVES["relu"], "rectifier", (0.0, math.inf), "he_uniform",
                   "ReLU"),
        Activation("tanh", PRIMITIVES["tanh"], "saturating", (-1.0, 1.0), "xavier_uniform",
                   "Tanh"),
        Activation("sigmoid", PRIMITIVES["sigmoid"], "saturating", (0.0, 1.0),
                   "xavier_uniform", "Sigmoid"),
        Activation("leaky_relu", PRIMITIVES["leaky_relu"], "rectifier", _UNBOUNDED,
                   "he_uniform", "LeakyReLU",
                   slope=PRIMITIVES["leaky_relu"].defaults["slope"]),
        Activation("linear", None, "linear", _UNBOUNDED, "xavier_uniform", "Identity"),
    )
}
