"""Compiling a recorded computation into programs: :func:`jit` and :func:`vectorize`.

A function is run once on Values (:mod:`.tracing`), and what it recorded becomes one
backend-neutral :class:`~.plan.Plan` (:mod:`.plan`): the forward steps in eager's order, the
guards, the finiteness checks and the backward pass by the chain-rule module's rules. Emitters
write the plan down, each line through the per-function table of :mod:`.renderings`: as
straight-line Python on floats (:mod:`.emit_python`, what :func:`jit` runs, exactly eager's
numbers) or as numpy array code over a batch (:mod:`.emit_numpy`, for :func:`vectorize` and
``fit(..., compile="numpy")``, with layers lifted to matrix products by a rewrite of the plan).
Both share one program cache and one fallback policy (:mod:`.cache`). A recorded graph's plan
(:func:`plan_of_graph`) is written as JavaScript by :mod:`.emit_javascript`, for pages that
recompute it as the reader edits its leaves.
"""

from .cache import MAX_PROGRAMS_PER_STRUCTURE, MAX_STRUCTURES, CompileFallbackWarning, Fallbacks
from .emit_javascript import emit_javascript, javascript_runtime
from .emit_python import Generated, emit_python
from .jit import Compiled, Program, compile_gradient, jit
from .numpy_backend import vectorize  # numpy is imported only when a program is built
from .plan import Plan, lift_layers, make_plan, plan_of_graph
from .renderings import RENDERINGS, MissingRendering, Rendering
from .tracing import Guard, Trace, trace

__all__ = [
    "MAX_PROGRAMS_PER_STRUCTURE",
    "MAX_STRUCTURES",
    "RENDERINGS",
    "CompileFallbackWarning",
    "Compiled",
    "Fallbacks",
    "Generated",
    "Guard",
    "MissingRendering",
    "Plan",
    "Program",
    "Rendering",
    "Trace",
    "compile_gradient",
    "emit_javascript",
    "emit_python",
    "javascript_runtime",
    "jit",
    "lift_layers",
    "make_plan",
    "plan_of_graph",
    "trace",
    "vectorize",
]
