"""demos/digits.py in fast mode: its story, its three timings agreeing, its figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.nn import assert_valid_png, run_demo

pytest.importorskip("sklearn")
pytest.importorskip("numpy")


def test_digits_demo(tmp_path: Path) -> None:
    out = run_demo("digits", "--fast", "--out", str(tmp_path)).stdout
    assert "160 digits, 8x8 pixels in [0, 1]: 120 to train on, 40 held out" in out
    assert re.search(r"held-out accuracy: \d+\.\d% \(\d+ of 40\)", out)
    matrix = out.split("confusion matrix (rows: true digit, columns: predicted)\n")[1]
    rows = matrix.splitlines()[1:11]
    counts = [int(n) for row in rows for n in row.split()[1:] if n != "."]
    assert sum(counts) == 40  # every held-out digit lands in one cell
    for name in ("eager", "compiled (compile=True)", "numpy (compile='numpy')"):
        assert re.search(rf"  {re.escape(name)} +\d+\.\d\d s   loss \d\.\d+", out), name
    agreement = float(re.search(r"the epoch losses agree to (\S+) \(relative\)", out).group(1))
    assert agreement <= 1e-12
    for figure in ("loss.png", "mistakes.png"):
        assert_valid_png(tmp_path / figure)
        assert str(tmp_path / figure) in out
