"""Turning numbers and user text into short, safe display strings (shared by DOT and text)."""

from __future__ import annotations

from collections.abc import Callable

from .errors import DrawOptionError

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


def _escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible_lines(text: str) -> list[str]:
    """``text`` split into lines, every invisible or control character written as an escape
    (``\\x1b``), so that no label can hide text, move a terminal cursor or break XML."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [
        "".join(c if c.isprintable() else " " if c == "\t" else _escape_char(c) for c in line)
        for line in lines
    ]


def one_line(text: str) -> str:
    """``text`` on a single visible line (newlines written as ``\\n``), for the terminal."""
    return "\\n".join(visible_lines(text))
