"""What :func:`~chainrule.engine.jit` and :func:`~chainrule.engine.compile.vectorize` share:
the cache of compiled programs and the policy for calls that leave them.

**Cache.** Programs are kept per compiled function, by argument structure (the nesting and
lengths of the arguments, and the values of static ones); one structure may have several
programs, one per outcome of the comparisons it was traced with. At most
:data:`MAX_STRUCTURES` structures are kept, the least recently used dropped first, so a
function called with ever new shapes holds a bounded amount of memory (tests measure it).

**Fallbacks.** A call the compiled path does not finish runs the slow, exact path instead
(the eager engine, or the per-sample programs). That is never silent when it costs: each is
counted by reason in :attr:`Fallbacks.counts` (tests read it) and the first one of a function
that can keep happening (a batch that leaves numpy) warns with the reason, once.
"""

from __future__ import annotations

import warnings
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

#: How many programs (different guard outcomes) one argument structure may have before the
#: function is run the slow way for it (TorchDynamo's limit is 8 too).
MAX_PROGRAMS_PER_STRUCTURE = 8
#: How many argument structures a compiled function keeps programs for.
MAX_STRUCTURES = 64

P = TypeVar("P")


class CompileFallbackWarning(RuntimeWarning):
    """A compiled function ran the slow path instead of its program (warned once each)."""


class ProgramCache(Generic[P]):
    """Programs by argument structure, least recently used dropped past ``limit``."""

    def __init__(self, limit: int = MAX_STRUCTURES) -> None:
        self.limit = limit
        self._entries: OrderedDict[Hashable, list[P]] = OrderedDict()
        self._given_up: OrderedDict[Hashable, None] = OrderedDict()

    def programs_for(self, key: Hashable) -> list[P]:
        """The programs of one structure (empty if none), marked as just used."""
        found = self._entries.get(key)
        if found is None:
            return []
        self._entries.move_to_end(key)
        return found

    def add(self, key: Hashable, program: P) -> None:
        programs = self._entries.get(key)
        if programs is None:
            programs = self._entries[key] = []
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        programs.append(program)

    def full(self, key: Hashable) -> bool:
        """Whether ``key`` has as many programs as it may."""
        return len(self._entries.get(key, ())) >= MAX_PROGRAMS_PER_STRUCTURE

    def give_up(self, key: Hashable) -> None:
        self._given_up[key] = None
        while len(self._given_up) > self.limit:
            self._given_up.popitem(last=False)

    def given_up(self, key: Hashable) -> bool:
        return key in self._given_up

    def __iter__(self) -> Iterator[P]:
        for programs in self._entries.values():
            yield from programs

    def __len__(self) -> int:
        """How many structures have programs."""
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._given_up.clear()


class Fallbacks:
    """The calls of one compiled function that ran the slow path, counted by reason."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.counts: Counter[str] = Counter()
        self.warned = False

    def record(self, reason: str, *, warn: bool, stacklevel: int = 3) -> None:
        """Count one fallback; with ``warn``, say so the first time (with the reason)."""
        self.counts[reason] += 1
        if warn and not self.warned:
            self.warned = True
            warnings.warn(
                f"{self.owner}: ran the slow path instead of the compiled program ({reason}); "
                "the results are exact, only slower. Further fallbacks are counted in "
                ".fallbacks.counts without a warning",
                CompileFallbackWarning, stacklevel=stacklevel,
            )

    @property
    def total(self) -> int:
        return sum(self.counts.values())
