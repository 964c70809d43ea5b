"""demos/why_it_fails.py in fast mode: each failure is diagnosed as the README says, and the
figures and explorer pages are written."""

from __future__ import annotations

from pathlib import Path

from support.nn import REPO, assert_valid_png, run_demo


def section(out: str, start: str, end: str) -> str:
    return out.split(start, 1)[1].split(end, 1)[0]


def test_each_failure_is_diagnosed_and_pictured(tmp_path: Path) -> None:
    out = run_demo("why_it_fails", "--fast", "--out", str(tmp_path), timeout=600).stdout
    keras = section(out, "1. The Keras XOR recipe", "fixed, lr 0.5")
    assert "2 findings, the cause first:\n1. The learning rate looks too small" in keras
    assert "  cause: follows from the learning rate (finding 1)" in keras
    assert "at lr 0.01" in keras and "lr 0.1 to 0.5" in keras and "accuracy ends at 50%" in keras
    fixed = section(out, "fixed, lr 0.5", "2. A chain")
    assert "all four cases right from epoch 1,870" in fixed and "No problems found" in fixed
    chain = section(out, "2. A chain of 10 sigmoid neurons", "3. A relu network")
    assert "layer0 1.6e-06" in chain and "layer9 1\n" in chain
    assert "1. Vanishing gradients" in chain
    relu = section(out, "3. A relu network", "4. A single")
    assert "Dead relu units" in relu and "output exactly 0 on all 100 samples" in relu
    assert "1. The learning rate looks too large" in relu  # the cause, before the dead units
    assert "  cause: caused by the learning rate (finding 1)" in relu
    neuron = section(out, "4. A single sigmoid neuron", "The training explorer")
    assert "2 findings, the cause first:\n1. A single neuron is asked to separate" in neuron
    assert "(best 75%)" in neuron
    moons = out.split("The training explorer: two moons", 1)[1]
    assert "No problems found" in moons
    for name in ("keras_xor_loss.png", "sigmoid_chain_gradients.png", "dead_relu_units.png",
                 "single_neuron_xor.png"):
        assert_valid_png(tmp_path / name)
        assert str(tmp_path / name) in out
    for page in ("xor_explorer", "moons_explorer"):
        text = (tmp_path / f"{page}.html").read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text
        steps = sorted(p.name for p in (tmp_path / f"{page}_steps").iterdir())
        assert len(steps) == 6 and all(name.endswith(".html") for name in steps)
    assert not (tmp_path / "explorer_moons.png").exists()  # screenshots in full runs only


def test_the_readme_screenshot_is_the_demos() -> None:
    # Taken by the full run (python demos/why_it_fails.py) and copied from out/why_it_fails/.
    assert_valid_png(REPO / "demos" / "images" / "explorer_moons.png", min_bytes=100_000)
    assert "demos/images/explorer_moons.png" in (REPO / "README.md").read_text()
