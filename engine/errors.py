"""chainrule's exceptions.

Each one subclasses both :class:`ChainruleError` (catch everything chainrule raises) and the
built-in exception a Python programmer would expect (``except ValueError`` keeps working).
Messages always name the operation and the offending value.
"""

from __future__ import annotations


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class OperandTypeError(ChainruleError, TypeError):
    """Something that is not a real number was used where a number or a Value is needed."""


class NonFiniteError(ChainruleError, ValueError):
    """NaN or infinity was given where chainrule needs a finite number."""


class DomainError(ChainruleError, ValueError):
    """An operation was applied outside its mathematical domain (``log(0)``, ``sqrt(-1)``...)."""


class DivisionByZeroError(ChainruleError, ZeroDivisionError):
    """Division by zero, including ``0 ** negative``."""


class NumericOverflowError(ChainruleError, OverflowError):
    """A result is too large to be represented as a finite float (``exp(1000)``)."""


class GradientError(ChainruleError, OverflowError):
    """A gradient became infinite or undefined during backpropagation.

    Raised instead of leaving ``inf`` or ``NaN`` in ``.grad``; the message names the node.
    """


class TracingError(ChainruleError, TypeError):
    """A function being compiled did something a compiled program cannot repeat faithfully:
    it read a number out of a traced Value (``.data``, ``float()``), for example."""
