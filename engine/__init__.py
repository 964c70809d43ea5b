"""chainrule.engine: a scalar autograd engine you can see, step through and trust.

>>> from chainrule.engine import Value
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
>>> c = (a * b + a.tanh()) ** 2
>>> c.backward()
>>> round(a.grad, 6)
29.504243

The core (Value, the primitive table, the chain rule, gradients and the compiler) is loaded by
``import chainrule.engine``; the visual layers (``draw``, ``walkthrough``...) are loaded on
first use, so importing the engine never imports a renderer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .autograd import grad, gradients, hessian, jacobian, value_and_grad
from .collector import fewer_collections
from .errors import (
    ChainruleError,
    DivisionByZeroError,
    DomainError,
    GradientError,
    NonFiniteError,
    NumericOverflowError,
    OperandTypeError,
    TracingError,
)
from .functional import FUNCTIONS as _FUNCTIONS
from .graph import topological_order
from .primitives import PRIMITIVES, Primitive
from .value import Value, constant, enable_grad, is_recording, no_grad, scope

# One function per primitive (exp, tanh, maximum...), generated from the table.
globals().update(_FUNCTIONS)

#: The visual layers, imported on first use: name -> module that defines it.
_LAZY = {
    "draw": ".drawing",
    "render_text": ".drawing",
    "Walkthrough": ".explain",
    "trace_backward": ".explain",
    "trace_forward": ".explain",
    "walkthrough": ".explain",
    "walkthrough_html": ".explain",
    "walkthrough_markdown": ".explain",
    "walkthrough_text": ".explain",
    "jit": ".compile",
    "vectorize": ".compile",  # JAX's vmap, as numpy array code: numpy is imported on first use
}


if TYPE_CHECKING:
    # What type checkers find here are the generated functions (exp, tanh...), typed by the
    # table's shape; at run time those are globals already and this serves the lazy names,
    # which are imported for type checkers at the end of the module.
    def __getattr__(name: str) -> Function: ...
else:
    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'chainrule.engine' has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .compile import jit, vectorize
    from .drawing import draw, render_text
    from .explain import (
        Walkthrough,
        trace_backward,
        trace_forward,
        walkthrough,
        walkthrough_html,
        walkthrough_markdown,
        walkthrough_text,
    )
    from .functional import Function
    from .functional import add_n as add_n
    from .functional import dot as dot

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
    "TracingError",
    "Value",
    "Walkthrough",
    "constant",
    "draw",
    "enable_grad",
    "fewer_collections",
    "grad",
    "gradients",
    "hessian",
    "is_recording",
    "jacobian",
    "jit",
    "no_grad",
    "render_text",
    "scope",
    "topological_order",
    "trace_backward",
    "trace_forward",
    "value_and_grad",
    "vectorize",
    "walkthrough",
    "walkthrough_html",
    "walkthrough_markdown",
    "walkthrough_text",
]
__all__ += sorted(_FUNCTIONS)  # exp, tanh, maximum... (generated from the table)
__version__ = "0.1.0"
