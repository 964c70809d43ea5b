"""datasets.digits: scikit-learn's 8x8 digits, read from its package without importing it."""

from __future__ import annotations

import importlib.util

import pytest

from chainrule.nn import datasets
from chainrule.nn.datasets import MissingExtraError

pytest.importorskip("sklearn")  # the `digits` extra (the `dev` extra pulls it in)


def test_the_digits_as_scikit_learn_gives_them_scaled_to_0_1() -> None:
    from sklearn.datasets import load_digits

    X, y = datasets.digits()
    reference = load_digits()
    assert len(X) == len(y) == 1797 and all(len(x) == 64 for x in X)
    assert y == reference.target.tolist()
    assert (reference.data / 16.0).tolist() == X
    assert min(min(x) for x in X) == 0.0 and max(max(x) for x in X) == 1.0
    assert sorted(set(y)) == list(range(10))


def test_without_scikit_learn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"pip install 'chainrule\[digits\]'"):
        datasets.digits()
    with pytest.raises(ImportError):  # and it is an ImportError, as for any missing package
        datasets.digits()
