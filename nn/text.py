"""Turning text into token ids and back: :class:`CharTokenizer`, one token per character."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from .errors import DataError


class CharTokenizer:
    """A vocabulary of the characters in ``texts`` (sorted) plus one BOS token, as microgpt's.

    ``encode("emma")`` is ``[bos, e, m, m, a, bos]``: BOS marks both where a text begins and
    where it ends, so a model learns to start and to stop. ``decode`` leaves the BOS tokens
    out. ``vocab_size`` is the number of characters + 1; ``bos`` is the last id.

    >>> tok = CharTokenizer(["emma", "ava"])
    >>> tok.vocab_size, tok.encode("ava")
    (5, [4, 0, 3, 0, 4])
    >>> tok.decode(tok.encode("ava"))
    'ava'
    """

    def __init__(self, texts: Iterable[str]) -> None:
        if isinstance(texts, str):
            raise DataError("CharTokenizer: texts must be a list of strings, not a single "
                            f"string {texts!r:.40} (use CharTokenizer([text]))")
        characters: set[str] = set()
        count = 0
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"CharTokenizer: text {i} must be a str, got "
                                f"{type(text).__name__} {text!r:.40}")
            characters.update(text)
            count += 1
        if not characters:
            raise DataError(f"CharTokenizer: the {count} text(s) hold no characters, so there "
                            "is no vocabulary")
        #: The characters, in order: character ``chars[i]`` has id ``i``.
        self.chars = "".join(sorted(characters))
        self._ids = {c: i for i, c in enumerate(self.chars)}
        #: The id of the BOS (beginning / end of sequence) token.
        self.bos = len(self.chars)
        self.vocab_size = len(self.chars) + 1

    def encode(self, text: str, *, bos: bool = True) -> list[int]:
        """The ids of ``text``'s characters, between two BOS tokens (``bos=False``: without)."""
        if not isinstance(text, str):
            raise DataError(f"CharTokenizer.encode: expected a str, got "
                            f"{type(text).__name__} {text!r:.40}")
        ids = []
        for position, character in enumerate(text):
            token = self._ids.get(character)
            if token is None:
                raise DataError(
                    f"CharTokenizer.encode: {text!r:.40} has the character {character!r} "
                    f"(U+{ord(character):04X}) at position {position}, which is not in the "
                    f"vocabulary {self.chars!r:.60}"
                )
            ids.append(token)
        return [self.bos, *ids, self.bos] if bos else ids

    def decode(self, tokens: Sequence[int]) -> str:
        """The text of ``tokens``, BOS tokens left out."""
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise DataError(f"CharTokenizer.decode: expected a list of token ids, got "
                            f"{type(tokens).__name__} {tokens!r:.40}")
        out: list[str] = []
        for position, token in enumerate(tokens):
            if (isinstance(token, bool) or not isinstance(token, numbers.Integral)
                    or not 0 <= token < self.vocab_size):
                raise DataError(f"CharTokenizer.decode: token {position} is {token!r:.40}, not "
                                f"an id from 0 to {self.vocab_size - 1}")
            if token != self.bos:
                out.append(self.chars[token])
        return "".join(out)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CharTokenizer({self.chars!r} + BOS, vocab_size={self.vocab_size})"
