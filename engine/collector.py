"""Fewer pauses of Python's cyclic garbage collector during training: :func:`fewer_collections`.

chainrule's graphs contain no reference cycles (a node refers only to its inputs and its
primitive), so they are freed by reference counting the moment they are dropped, and the cyclic
collector never finds anything in them. It still scans them: by default it runs whenever 700
more container objects have been created than freed, and a training step creates tens of
thousands of nodes, so it runs again and again over graphs that are still in use. Raising its
first threshold above the nodes a step creates removes most of that work (about 30% of a
moons training step, see benchmarks/README.md).

The collector's thresholds are process-wide, so this is done in the open: only inside the
block (``fit`` uses it around its loop; ``fit(..., fewer_collections=False)`` does not), restored
on the way out whatever happens, and it never switches the collector off or raises a threshold
that is already higher.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: The first threshold used inside :func:`fewer_collections` (the default is 700).
THRESHOLD = 200_000


@contextmanager
def fewer_collections(threshold: int = THRESHOLD) -> Iterator[None]:
    """Inside the block, the cyclic garbage collector runs after ``threshold`` new objects
    instead of 700 (unless it is already set higher, or switched off)."""
    first, second, third = gc.get_threshold()
    if not gc.isenabled() or first >= threshold:
        yield
        return
    gc.set_threshold(threshold, second, third)
    try:
        yield
    finally:
        gc.set_threshold(first, second, third)
