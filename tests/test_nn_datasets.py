"""Data sets: their constructions, reproducibility from a seed, the split, bad arguments."""

from __future__ import annotations

import math

import pytest

from chainrule.nn import ConfigurationError, DataError, datasets, train_test_split


def test_xor() -> None:
    X, y = datasets.xor()
    assert X == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y == [int(a != b) for a, b in X]


def test_moons_without_noise_lie_on_sklearns_half_circles() -> None:
    X, y = datasets.moons(101, shuffle=False)
    assert y == [0] * 50 + [1] * 51
    for (a, b), label in zip(X, y, strict=True):
        if label == 0:  # upper moon: (cos t, sin t)
            assert math.hypot(a, b) == pytest.approx(1.0)
            assert b >= -1e-15
        else:  # lower moon: (1 - cos t, 0.5 - sin t)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0)
            assert b <= 0.5 + 1e-15
    assert X[0] == [1.0, 0.0] and X[49] == pytest.approx([-1.0, 0.0])
    assert X[50] == [0.0, 0.5] and X[100] == pytest.approx([2.0, 0.5])


def test_moons_shuffles_and_adds_noise_reproducibly() -> None:
    X, y = datasets.moons(100, noise=0.1, seed=1)
    assert (X, y) == datasets.moons(100, noise=0.1, seed=1)
    assert datasets.moons(100, noise=0.1, seed=2)[0] != X
    assert sorted(y) == [0] * 50 + [1] * 50
    assert y[:10] != sorted(y[:10]) or y[10:20] != sorted(y[10:20])  # shuffled
    clean = sorted(map(tuple, datasets.moons(100, seed=1)[0]))
    assert sorted(map(tuple, X)) != clean


def test_circles() -> None:
    X, y = datasets.circles(40, factor=0.5, shuffle=False)
    assert [round(math.hypot(*p), 12) for p in X] == [1.0] * 20 + [0.5] * 20
    assert y == [0] * 20 + [1] * 20


def test_spiral_has_k_classes_of_equal_size() -> None:
    X, y = datasets.spiral(30, classes=4, seed=0)
    assert len(X) == 120 and sorted(set(y)) == [0, 1, 2, 3]
    assert all(y.count(c) == 30 for c in range(4))
    assert all(math.hypot(*p) <= 1.0 + 1e-12 for p in X)
    assert (X, y) == datasets.spiral(30, classes=4, seed=0)


def test_spiral_without_noise_follows_the_arms() -> None:
    X, y = datasets.spiral(5, classes=2, noise=0.0, shuffle=False)
    for i, ((a, b), label) in enumerate(zip(X, y, strict=True)):
        r = (i % 5) / 4
        t = 2 * math.pi * label / 2 + 4 * r
        assert (a, b) == pytest.approx((r * math.sin(t), r * math.cos(t)), abs=1e-15)


def test_blobs() -> None:
    X, y = datasets.blobs(10, centers=[[0.0, 0.0], [10.0, 10.0], [-10.0, 5.0]], std=0.1, seed=0)
    assert [y.count(c) for c in range(3)] == [4, 3, 3]
    for p, label in zip(X, y, strict=True):
        centre = [[0.0, 0.0], [10.0, 10.0], [-10.0, 5.0]][label]
        assert math.dist(p, centre) < 1.0
    X, y = datasets.blobs(60, centers=3, features=3, seed=0)
    assert len(X) == 60 and all(len(p) == 3 for p in X)


def test_signed_labels() -> None:
    assert datasets.signed_labels([0, 1, 1, 0]) == [-1, 1, 1, -1]
    with pytest.raises(DataError, match="signed_labels: label 1 must be 0 or 1, got 2"):
        datasets.signed_labels([0, 2])


def test_train_test_split() -> None:
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    assert len(X_test) == 3 and len(X_train) == 7  # ceil(10 * 0.25) held out, like sklearn
    assert sorted(y_train + y_test) == y
    assert all(x == [float(t)] for x, t in zip(X_train + X_test, y_train + y_test, strict=True))
    assert train_test_split(X, y, seed=0) == train_test_split(X, y, seed=0)
    assert train_test_split(X, y, shuffle=False)[3] == [0, 1, 2]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: datasets.moons(0), ConfigurationError, "moons: n must be a positive integer, got 0"),
        (lambda: datasets.moons(1), ConfigurationError, "moons: n must be at least 2"),
        (lambda: datasets.moons(10, noise=-0.1), ConfigurationError, "noise must be >= 0"),
        (lambda: datasets.circles(10, factor=1.0), ConfigurationError, r"factor must lie in \[0, 1\)"),
        (lambda: datasets.spiral(10, classes=0), ConfigurationError, "classes must be a positive"),
        (lambda: datasets.blobs(10, centers=[]), DataError, "centers must be a non-empty list"),
        (lambda: datasets.blobs(10, centers=[[0.0], [1.0, 2.0]]), DataError, "item 1 has 2"),
        (lambda: datasets.blobs(10, box=(1.0, 1.0)), ConfigurationError, "low < high"),
        (lambda: train_test_split([[1.0]] * 3, [0, 1]), DataError, "X has 3 samples but y has 2"),
        (lambda: train_test_split([[1.0]] * 3, [0] * 3, 1.0), ConfigurationError, r"in \(0, 1\)"),
        (lambda: train_test_split([[1.0]], [0]), DataError, "1 samples cannot be split"),
        (lambda: train_test_split([], []), DataError, "0 samples cannot be split"),
    ],
)
def test_bad_arguments_are_named(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
