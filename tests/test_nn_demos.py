"""Every nn demo, run end to end in fast mode: its printout, and its figures as real PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.nn import assert_valid_png, run_demo

DEMOS = {
    "xor": (
        ["loss.png", "decision_boundary.png", "single_neuron.png"],
        ["best accuracy: 75% (3 of 4)", "Truth table with predictions",
         "MSE = mean of the squared errors", "epoch  500  loss"],
    ),
    "moons": (
        ["loss.png", "decision_boundary.png"],
        ["number of parameters 337", "training accuracy after 40 steps: 100%"],
    ),
    "spiral": (
        ["loss.png", "decision_regions.png"],
        ["softmax", "cross-entropy  -log(softmax[", "test accuracy"],
    ),
}


@pytest.mark.parametrize("demo", list(DEMOS))
def test_demo_prints_its_story_and_writes_valid_figures(demo: str, tmp_path: Path) -> None:
    figures, lines = DEMOS[demo]
    out = run_demo(demo, "--fast", "--out", str(tmp_path)).stdout
    for line in lines:
        assert line in out
    for name in figures:
        assert_valid_png(tmp_path / name)
        assert str(tmp_path / name) in out


def test_xor_demo_network_gets_every_row_right(tmp_path: Path) -> None:
    out = run_demo("xor", "--fast", "--out", str(tmp_path)).stdout
    table = out.split("Truth table with predictions")[1].split("Mean squared error")[0]
    assert table.count(" ok") == 4 and "WRONG" not in table
    assert "epoch  500  loss" in out and out.split("epoch  500")[1].split("\n")[0].endswith("100%")


def test_neuron_demo_keeps_its_output_and_takes_gradient_descent_steps() -> None:
    out = run_demo("neuron").stdout
    assert out.startswith("A single sigmoid neuron\n")
    assert "dy/dw1 = 0.1431" in out
    assert "w1 <- w1 - lr * dL/dw1 = 0.5000 - 1.0 * (-0.0667) = 0.5667" in out
    losses = [float(line.split("L = ")[1]) for line in out.splitlines() if ", L = " in line]
    assert len(losses) == 4 and losses == sorted(losses, reverse=True)  # 3 steps, then the result
    assert "d_v0 = d_v7 * v4  # d/dw1 (w1 * x1) = x1" in out  # the compiled program
    assert "the same numbers as the eager engine" in out
