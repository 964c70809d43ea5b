"""Measuring engines fairly: interleaved repetitions, garbage collected between measurements.

Every measurement is prepared outside the timed region (models built, inputs created), then
``gc.collect()`` runs, also outside it, so that no engine pays for collecting another engine's
garbage; the collector stays enabled during the timed region, as it is for any user. The time
the collector spent inside each timed region is recorded too (``gc.callbacks``), to explain
where time goes; it is never subtracted.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: A case prepares its work (untimed) and returns the function to time.
Case = Callable[[], Callable[[], Any]]


@dataclass
class Samples:
    """One engine's timings on one workload, in seconds."""

    seconds: list[float] = field(default_factory=list)
    collector_seconds: list[float] = field(default_factory=list)
    result: Any = None  # what the last run returned (for checking it)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_collector(self) -> float:
        return statistics.median(self.collector_seconds)

    @property
    def median_without_collector(self) -> float:
        """A diagnostic (where the time goes), never the reported timing."""
        return statistics.median(
            s - c for s, c in zip(self.seconds, self.collector_seconds, strict=True)
        )


class CollectorClock:
    """Adds up the time the cyclic garbage collector runs while it is installed."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started

    @contextmanager
    def installed(self) -> Iterator[CollectorClock]:
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)


def time_once(case: Case) -> tuple[float, float, Any]:
    """Prepare, collect garbage, then time one run: (seconds, collector seconds, result)."""
    return time_work(case())


def time_work(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Collect garbage, then time ``work()``: (seconds, collector seconds, result)."""
    gc.collect()
    clock = CollectorClock()
    with clock.installed():
        start = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - start
    return elapsed, clock.total, result


def interleaved(cases: dict[str, Case], repeats: int) -> dict[str, Samples]:
    """Run every case ``repeats`` times, alternating engines within each repetition (and
    rotating which goes first), so that a slow phase of a busy machine hits all of them."""
    samples = {name: Samples() for name in cases}
    names = list(cases)
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, collector, samples[name].result = time_once(cases[name])
            samples[name].seconds.append(seconds)
            samples[name].collector_seconds.append(collector)
    gc.collect()
    return samples


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """micrograd sorts its graph recursively: give it the depth it needs, only while it runs."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
