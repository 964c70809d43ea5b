"""How the drawing writes numbers (its ``number_format`` option); a user's text is written by
:mod:`chainrule.engine.naming`, which every renderer shares."""

from __future__ import annotations

from collections.abc import Callable

from ..naming import one_line, visible_lines
from .errors import DrawOptionError

# one_line and visible_lines live in naming now; they are named here for old imports.
__all__ = ["NumberFormat", "number_formatter", "one_line", "visible_lines"]

#: A format spec for :func:`format` (``".4g"``) or a function from a float to its text.
NumberFormat = str | Callable[[float], str]


def number_formatter(number_format: NumberFormat) -> Callable[[float], str]:
    """A checked float -> str function for ``number_format``.

    A bad spec fails here, once, with a message naming the option, rather than in the middle
    of drawing.
    """
    if callable(number_format):
        custom = number_format

        def formatted(x: float) -> str:
            text = custom(x)
            if not isinstance(text, str):
                raise DrawOptionError(
                    f"number_format: the function returned {type(text).__name__} "
                    f"{text!r:.60} for {x!r}; it must return a str"
                )
            return text

        return formatted
    if not isinstance(number_format, str):
        raise DrawOptionError(
            f"number_format: expected a format spec such as '.4g' or a function, "
            f"got {type(number_format).__name__} {number_format!r:.60}"
        )
    try:
        format(-1.5, number_format)
    except ValueError as error:
        raise DrawOptionError(
            f"number_format: {number_format!r} is not a valid float format spec ({error}); "
            f"try '.4g' or '.6f'"
        ) from None
    spec = number_format

    def formatted_with_spec(x: float) -> str:
        # "-0" reads like a mistake in a teaching picture; a zero gradient is just 0.
        return format(x + 0.0, spec)

    return formatted_with_spec
