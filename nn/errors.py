"""The errors chainrule.nn raises on bad input.

Each subclasses :class:`~chainrule.engine.ChainruleError` and :class:`ValueError`, so
``except ValueError`` keeps working. Messages name what was wrong and the offending value.
"""

from __future__ import annotations

from chainrule.engine import ChainruleError


class ShapeError(ChainruleError, ValueError):
    """An input has the wrong number of features, or predictions and targets differ in length."""


class DataError(ChainruleError, ValueError):
    """A data set is empty or malformed, or a label lies outside what a loss accepts."""


class ConfigurationError(ChainruleError, ValueError):
    """A model, optimizer, schedule or training setting is invalid (an unknown activation, a
    learning rate that is not a positive finite number...)."""


class ModelFileError(ChainruleError, ValueError):
    """A saved model file is corrupt, or does not match the model it is loaded into."""
