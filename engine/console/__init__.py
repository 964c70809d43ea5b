"""The ``chainrule`` console command: ``chainrule explain`` and ``chainrule quiz`` on an
expression typed in the shell (parsed by a whitelist, never by ``eval``)."""

from .cli import main
from .expression import ExpressionError, parse_assignment, parse_expression

__all__ = ["ExpressionError", "main", "parse_assignment", "parse_expression"]
