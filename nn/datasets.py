"""Small classic data sets, in pure Python and reproducible from a seed.

Each function returns ``(X, y)``: ``X`` a list of points (lists of floats), ``y`` a list of
integer class labels 0, 1, ... All randomness comes from ``random.Random(seed)``: the same seed
gives the same data on every run and platform, and ``seed=None`` gives fresh data.

``moons``, ``circles`` and ``blobs`` follow scikit-learn's constructions (``make_moons`` and
so on), so the tutorials built on them reproduce; the random numbers themselves differ from
numpy's. They, ``spiral`` and :func:`train_test_split` also take scikit-learn's argument names:
``n_samples`` for ``n``, ``random_state`` (an int or None) for ``seed``, and ``test_size`` for
``test_fraction`` (a fraction, or as in scikit-learn an int: that many test samples). Giving
both names of one argument is an error.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Sequence
from typing import Any, TypeVar

from chainrule.engine import ChainruleError

from ._checks import finite_float, non_negative_float, positive_int
from .errors import ConfigurationError, DataError

Points = list[list[float]]
Labels = list[int]
T = TypeVar("T")
L = TypeVar("L")


def _linspace(start: float, stop: float, num: int, endpoint: bool = True) -> list[float]:
    """numpy.linspace: ``num`` evenly spaced numbers from start to stop."""
    if num == 1:
        return [start]
    step = (stop - start) / (num - 1 if endpoint else num)
    return [start + i * step for i in range(num)]


def _noise(noise: float | None) -> float:
    return 0.0 if noise is None else non_negative_float(noise, "noise")


def _either(ours: Any, theirs: Any, default: Any, names: tuple[str, str]) -> Any:
    """The argument given under our name or scikit-learn's (``names``), else ``default``."""
    if ours is not None and theirs is not None:
        raise ConfigurationError(
            f"{names[0]} and {names[1]} are the same argument (scikit-learn's name for it is "
            f"the second); give one of them")
    return default if ours is None and theirs is None else theirs if ours is None else ours


def _finish(X: Points, y: Labels, rng: random.Random, shuffle: bool, noise: float) -> tuple[Points, Labels]:
    """scikit-learn's order of operations: shuffle the samples, then add Gaussian noise."""
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X = [X[i] for i in order]
        y = [y[i] for i in order]
    if noise:
        X = [[coordinate + rng.gauss(0.0, noise) for coordinate in point] for point in X]
    return X, y


def xor() -> tuple[Points, Labels]:
    """The four corners of the unit square, labelled by exclusive or: the smallest problem a
    single neuron cannot solve (no straight line separates its two classes)."""
    return [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0]


def moons(
    n: int | None = None,
    noise: float | None = None,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    n_samples: int | None = None,
    random_state: int | None = None,
) -> tuple[Points, Labels]:
    """Two interleaving half circles (``sklearn.datasets.make_moons``), ``n`` points in all
    (100 by default).

    The upper moon (label 0) is ``(cos t, sin t)``, the lower one (label 1) is
    ``(1 - cos t, 0.5 - sin t)``, for t evenly spaced in [0, pi]; then optional Gaussian noise
    with standard deviation ``noise``. micrograd's demo uses ``moons(100, noise=0.1)``;
    ``moons(n_samples=100, noise=0.1, random_state=0)`` is scikit-learn's spelling.
    """
    n = positive_int(_either(n, n_samples, 100, ("moons: n", "n_samples")), "moons: n")
    seed = _either(seed, random_state, None, ("moons: seed", "random_state"))
    if n < 2:
        raise ConfigurationError(f"moons: n must be at least 2 (one point per moon), got {n}")
    noise_std = _noise(noise)
    n_outer = n // 2
    n_inner = n - n_outer
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_outer)]
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_inner)]
    return _finish(outer + inner, [0] * n_outer + [1] * n_inner, random.Random(seed), shuffle,
                   noise_std)


def circles(
    n: int | None = None,
    noise: float | None = None,
    *,
    factor: float = 0.8,
    shuffle: bool = True,
    seed: int | None = None,
    n_samples: int | None = None,
    random_state: int | None = None,
) -> tuple[Points, Labels]:
    """A circle of radius 1 (label 0) around one of radius ``factor`` (label 1)
    (``sklearn.datasets.make_circles``), ``n`` points in all (100 by default)."""
    n = positive_int(_either(n, n_samples, 100, ("circles: n", "n_samples")), "circles: n")
    seed = _either(seed, random_state, None, ("circles: seed", "random_state"))
    if n < 2:
        raise ConfigurationError(f"circles: n must be at least 2 (one point per circle), got {n}")
    factor = finite_float(factor, "circles: factor")
    if not 0.0 <= factor < 1.0:
        raise ConfigurationError(f"circles: factor must lie in [0, 1), got {factor!r}")
    noise_std = _noise(noise)
    n_outer = n // 2
    n_inner = n - n_outer
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, 2 * math.pi, n_outer, False)]
    inner = [[math.cos(t) * factor, math.sin(t) * factor]
             for t in _linspace(0.0, 2 * math.pi, n_inner, False)]
    return _finish(outer + inner, [0] * n_outer + [1] * n_inner, random.Random(seed), shuffle,
                   noise_std)


def spiral(
    n_per_class: int = 100,
    classes: int = 3,
    noise: float = 0.2,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    random_state: int | None = None,
) -> tuple[Points, Labels]:
    """Interleaved spiral arms, one per class (the spiral of Stanford's CS231n notes, with the
    arms evenly spaced): point i of class j lies at radius r = i / (n - 1) and angle
    ``2 pi j / classes + 4 r`` radians plus Gaussian noise of ``noise`` radians."""
    n_per_class = positive_int(n_per_class, "spiral: n_per_class")
    classes = positive_int(classes, "spiral: classes")
    noise_std = non_negative_float(noise, "spiral: noise")
    rng = random.Random(_either(seed, random_state, None, ("spiral: seed", "random_state")))
    X: Points = []
    y: Labels = []
    for j in range(classes):
        for r in _linspace(0.0, 1.0, n_per_class):
            t = 2 * math.pi * j / classes + 4.0 * r + (rng.gauss(0.0, noise_std) if noise_std else 0.0)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(j)
    return _finish(X, y, rng, shuffle, 0.0)


def blobs(
    n: int | None = None,
    centers: int | Sequence[Sequence[float]] = 3,
    *,
    std: float = 1.0,
    features: int = 2,
    box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True,
    seed: int | None = None,
    n_samples: int | None = None,
    random_state: int | None = None,
) -> tuple[Points, Labels]:
    """Gaussian clusters (``sklearn.datasets.make_blobs``): ``centers`` random centres drawn
    uniformly in ``box`` (or the given centre points), and the n samples (100 by default)
    shared out among them as evenly as possible, each centre plus Gaussian noise of standard
    deviation ``std``."""
    n = positive_int(_either(n, n_samples, 100, ("blobs: n", "n_samples")), "blobs: n")
    std = non_negative_float(std, "blobs: std")
    rng = random.Random(_either(seed, random_state, None, ("blobs: seed", "random_state")))
    if isinstance(centers, int) and not isinstance(centers, bool):
        features = positive_int(features, "blobs: features")
        low, high = (finite_float(b, "blobs: box") for b in box)
        if not low < high:
            raise ConfigurationError(f"blobs: box must be (low, high) with low < high, got {box!r}")
        points = [[rng.uniform(low, high) for _ in range(features)]
                  for _ in range(positive_int(centers, "blobs: centers"))]
    else:
        points = _points(centers, "blobs: centers")
    X: Points = []
    y: Labels = []
    for label, centre in enumerate(points):
        count = n // len(points) + (1 if label < n % len(points) else 0)
        for _ in range(count):
            X.append([c + rng.gauss(0.0, std) for c in centre])
            y.append(label)
    return _finish(X, y, rng, shuffle, 0.0)


def _points(data: Any, what: str) -> Points:
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence) or not data:
        raise DataError(f"{what} must be a non-empty list of points, got {data!r:.60}")
    width = None
    points = []
    for i, point in enumerate(data):
        if isinstance(point, (str, bytes)) or not isinstance(point, Sequence) or not point:
            raise DataError(f"{what}: item {i} must be a list of coordinates, got {point!r:.60}")
        if width is None:
            width = len(point)
        elif len(point) != width:
            raise DataError(f"{what}: item {i} has {len(point)} coordinates, item 0 has {width}")
        points.append([finite_float(c, f"{what}: item {i}") for c in point])
    return points


def signed_labels(y: Sequence[int]) -> list[int]:
    """Labels 0/1 as -1/+1 (``2*y - 1``), the form the hinge loss expects."""
    out = []
    for i, label in enumerate(y):
        if label not in (0, 1) or isinstance(label, bool):
            raise DataError(f"signed_labels: label {i} must be 0 or 1, got {label!r}")
        out.append(2 * int(label) - 1)
    return out


def train_test_split(
    X: Sequence[T],
    y: Sequence[L] | None = None,
    test_fraction: float | None = None,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    test_size: float | int | None = None,
    random_state: int | None = None,
) -> Any:
    """``X_train, X_test, y_train, y_test`` (scikit-learn's order): ``ceil(n * test_fraction)``
    samples (a quarter by default) are held out, chosen at random (from ``seed``) unless
    ``shuffle`` is false. scikit-learn's ``test_size`` (a fraction, or an int: the number of
    test samples) and ``random_state`` work too.

    Without labels (``y=None``, as for a list of texts) it returns ``X_train, X_test``."""
    who = "train_test_split"
    seed = _either(seed, random_state, None, (f"{who}: seed", "random_state"))
    size = _either(test_fraction, test_size, 0.25, (f"{who}: test_fraction", "test_size"))
    if y is None:
        train, test, _, _ = train_test_split(X, X, test_fraction, shuffle=shuffle, seed=seed,
                                             test_size=test_size)
        return train, test
    if len(X) != len(y):
        raise DataError(f"{who}: X has {len(X)} samples but y has {len(y)}")
    n = len(X)
    if isinstance(size, numbers.Integral) and not isinstance(size, bool) and test_size is not None:
        n_test = positive_int(size, f"{who}: test_size (a number of samples)")
    else:
        size = finite_float(size, f"{who}: test_fraction")
        if not 0.0 < size < 1.0:
            raise ConfigurationError(f"{who}: test_fraction must lie in (0, 1), got {size!r}")
        n_test = math.ceil(n * size)
    if n < 2 or n_test >= n:
        raise DataError(
            f"{who}: {n} samples cannot be split into {n - n_test} for training and {n_test} "
            f"for testing: both parts need at least one sample"
        )
    order = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


# -- text ------------------------------------------------------------------------------------


class MissingExtraError(ChainruleError, ImportError):
    """A data set needs a package from an optional extra that is not installed."""


#: The US Census 1990 first-name lists (public domain) inside the ``names`` package.
_NAME_FILES = ("dist.female.first", "dist.male.first")


def names(*, seed: int | None = 42) -> list[str]:
    """About 5,000 real first names, lower case, each once, in an order shuffled by ``seed``.

    The US Census 1990 lists of female and male first names (5,163 distinct names, a to z,
    at most 11 letters), as shipped in the ``names`` package: install the ``text`` extra
    (``pip install 'chainrule[text]'``). ``seed=None`` shuffles differently every time;
    ``sorted(names())`` is alphabetical. Hold some out with ``train_test_split(names(), ...)``.
    """
    try:
        from importlib.resources import files

        import names as package  # noqa: F401  (the data files live inside it)
    except ImportError:
        raise MissingExtraError(
            "datasets.names needs the 'names' package, which ships the US Census first-name "
            "lists: pip install 'chainrule[text]'"
        ) from None
    found = set()
    for filename in _NAME_FILES:
        resource = files("names").joinpath(filename)
        if not resource.is_file():
            raise MissingExtraError(f"datasets.names: the 'names' package has no {filename}; "
                                    "reinstall it: pip install 'chainrule[text]'")
        for line in resource.read_text(encoding="ascii").splitlines():
            fields = line.split()
            if fields:
                found.add(fields[0].lower())
    ordered = sorted(found)
    random.Random(seed).shuffle(ordered)
    return ordered


# -- images ----------------------------------------------------------------------------------

#: Where scikit-learn keeps the digits inside its package (read without importing scikit-learn,
#: which would pull in scipy for nothing).
_DIGITS_FILE = ("datasets", "data", "digits.csv.gz")
DIGITS_SAMPLES, DIGITS_PIXELS, DIGITS_CLASSES = 1797, 64, 10


def digits() -> tuple[Points, Labels]:
    """The 8x8 handwritten digits: 1,797 images of the digits 0 to 9 (UCI's optical
    recognition data set, as ``sklearn.datasets.load_digits`` gives it, in its order).

    Each sample is 64 pixels, row by row, scaled from the file's 0..16 to [0, 1]; each label
    is the digit. The data ship inside scikit-learn: install the ``digits`` extra (``pip install
    'chainrule[digits]'``); nothing is downloaded. Reshape a sample with
    ``[x[8 * r : 8 * r + 8] for r in range(8)]`` to draw it.
    """
    import csv
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "datasets.digits needs scikit-learn, which ships the 8x8 digits inside its "
            "package: pip install 'chainrule[digits]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_DIGITS_FILE)
    if not path.is_file():
        raise MissingExtraError(f"datasets.digits: scikit-learn has no {'/'.join(_DIGITS_FILE)}; "
                                "reinstall it: pip install 'chainrule[digits]'")
    X: Points = []
    y: Labels = []
    with gzip.open(path, "rt", encoding="ascii") as file:
        for row in csv.reader(file):
            if not row:
                continue
            if len(row) != DIGITS_PIXELS + 1:
                raise DataError(f"datasets.digits: a row of {path} has {len(row)} fields, "
                                f"expected {DIGITS_PIXELS + 1}")
            X.append([float(pixel) / 16.0 for pixel in row[:DIGITS_PIXELS]])
            y.append(int(float(row[DIGITS_PIXELS])))
    if len(X) != DIGITS_SAMPLES:
        raise DataError(f"datasets.digits: {path} has {len(X)} images, expected {DIGITS_SAMPLES}")
    return X, y
