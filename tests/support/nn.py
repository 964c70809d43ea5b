"""Helpers for the chainrule.nn tests: finite-difference gradients, image checks, demo runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from chainrule.engine import Value

REPO = Path(__file__).resolve().parents[2]  # tests/support/nn.py -> the repository
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def numeric_gradient(f: Callable[[list[Value]], Value], xs: Sequence[float]) -> list[float]:
    """Central differences, step h = 1e-6 * max(1, |x|), in float64 (see the shared notes)."""
    grads = []
    for i, x in enumerate(xs):
        h = 1e-6 * max(1.0, abs(x))
        up = [Value(v) for v in xs]
        down = [Value(v) for v in xs]
        up[i] = Value(x + h)
        down[i] = Value(x - h)
        grads.append((f(up).data - f(down).data) / (2.0 * h))
    return grads


def analytic_gradient(f: Callable[[list[Value]], Value], xs: Sequence[float]) -> list[float]:
    leaves = [Value(v) for v in xs]
    f(leaves).backward()
    return [leaf.grad for leaf in leaves]


def assert_gradients_match(f: Callable[[list[Value]], Value], xs: Sequence[float]) -> None:
    """backward() agrees with finite differences: |a - n| <= 1e-6 + 1e-5 |n| for every input."""
    analytic = analytic_gradient(f, xs)
    numeric = numeric_gradient(f, xs)
    for i, (a, n) in enumerate(zip(analytic, numeric, strict=True)):
        assert abs(a - n) <= 1e-6 + 1e-5 * abs(n), (
            f"input {i} (x = {xs[i]!r}): backward gives {a!r}, finite differences {n!r}"
        )


def assert_valid_png(path: Path, min_bytes: int = 5000) -> None:
    """A real PNG image: the signature, a non-trivial size, and matplotlib can read it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG file"
    assert len(data) >= min_bytes, f"{path} is only {len(data)} bytes"
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert height >= 200 and width >= 200, f"{path} is only {width}x{height}"
    # Not a blank image: more than one colour.
    assert pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.01, f"{path} is blank"


def run_demo(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``demos/<name>.py`` with ``args`` in a subprocess; fail with its output if it fails."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(REPO / "demos" / f"{name}.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )
    assert result.returncode == 0, f"demos/{name}.py failed:\n{result.stdout}\n{result.stderr}"
    return result
