"""chainrule.engine: a scalar autograd engine you can see, step through and trust.

>>> from chainrule.engine import Value
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
>>> c = (a * b + a.tanh()) ** 2
>>> c.backward()
"""

from .autograd import grad, gradients
from .drawing import draw, render_text
from .errors import (
    ChainruleError,
    DivisionByZeroError,
    DomainError,
    GradientError,
    NonFiniteError,
    NumericOverflowError,
    OperandTypeError,
)
from .explain import (
    Walkthrough,
    trace_backward,
    trace_forward,
    walkthrough,
    walkthrough_html,
    walkthrough_markdown,
    walkthrough_text,
)
from .functional import (
    abs,
    cos,
    exp,
    leaky_relu,
    log,
    log1p,
    log_sigmoid,
    maximum,
    power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
)
from .graph import topological_order
from .primitives import PRIMITIVES, Primitive
from .value import Value, constant, is_recording, no_grad, scope

__all__ = [
    "PRIMITIVES",
    "ChainruleError",
    "DivisionByZeroError",
    "DomainError",
    "GradientError",
    "NonFiniteError",
    "NumericOverflowError",
    "OperandTypeError",
    "Primitive",
    "Value",
    "Walkthrough",
    "abs",
    "constant",
    "cos",
    "draw",
    "exp",
    "grad",
    "gradients",
    "is_recording",
    "leaky_relu",
    "log",
    "log1p",
    "log_sigmoid",
    "maximum",
    "no_grad",
    "power",
    "relu",
    "render_text",
    "scope",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tanh",
    "topological_order",
    "trace_backward",
    "trace_forward",
    "walkthrough",
    "walkthrough_html",
    "walkthrough_markdown",
    "walkthrough_text",
]
__version__ = "0.1.0"
