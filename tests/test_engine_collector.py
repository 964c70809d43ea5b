"""fewer_collections: the collector's threshold is raised only inside the block, and restored."""

from __future__ import annotations

import gc

import pytest

from chainrule.engine import fewer_collections
from chainrule.engine.collector import THRESHOLD
from chainrule.nn import MLP, SGD, fit, mse


@pytest.fixture(autouse=True)
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_threshold_is_raised_inside_and_restored_after_even_on_an_error() -> None:
    with fewer_collections():
        assert gc.get_threshold() == (THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)
    with pytest.raises(KeyError), fewer_collections():
        raise KeyError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_or_a_disabled_collector_is_left_alone() -> None:
    gc.set_threshold(10**6, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (10**6, 10, 10)
    gc.set_threshold(700, 10, 10)
    gc.disable()
    try:
        with fewer_collections():
            assert gc.get_threshold() == (700, 10, 10) and not gc.isenabled()
    finally:
        gc.enable()


def test_fit_uses_it_only_while_training_and_can_be_told_not_to() -> None:
    seen = []

    def watch(epoch, history):
        seen.append(gc.get_threshold()[0])

    for fewer in (True, False):
        model = MLP(2, [2, 1], seed=0)
        fit(model, [[0.0, 1.0], [1.0, 0.0]], [1.0, 0.0], loss=mse,
            optimizer=SGD(model.parameters(), lr=0.1), epochs=1, progress=False,
            callback=watch, fewer_collections=fewer)
        assert gc.get_threshold() == (700, 10, 10)
    assert seen == [THRESHOLD, 700]
