"""Compiling a recorded computation into straight-line Python: :func:`jit`.

A function is run once on Values (:mod:`.tracing`), and the graph it records is written out
as a Python program (:mod:`.codegen`) whose every line comes from the primitive table: the
forward functions, then the backward pass by the chain-rule module's rules with each local
derivative's code pasted in. The program runs on plain floats and gives exactly the eager
engine's numbers. :mod:`.numpy_backend` writes the same trace as numpy array code over a
batch (:func:`vectorize`, and ``fit(..., compile="numpy")``).
"""

from .codegen import Generated, generate
from .jit import MAX_PROGRAMS_PER_STRUCTURE, Compiled, Program, compile_gradient, jit
from .numpy_backend import vectorize  # numpy is imported only when a program is built
from .tracing import Guard, Trace, trace

__all__ = [
    "MAX_PROGRAMS_PER_STRUCTURE",
    "Compiled",
    "Generated",
    "Guard",
    "Program",
    "Trace",
    "compile_gradient",
    "generate",
    "jit",
    "trace",
    "vectorize",
]
