"""demos/gpt.py in its quick mode: it trains, beats uniform guessing on held-out names, makes
up names, saves a model that loads, and draws its figures."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from chainrule.nn import GPT, load

from support.nn import assert_valid_png, run_demo

pytest.importorskip("names")
pytest.importorskip("matplotlib")


def test_gpt_demo_quick_run(tmp_path: Path) -> None:
    out = run_demo("gpt", "--fast", "--out", str(tmp_path), timeout=300).stdout
    assert "5,163 first names" in out and "4,192 parameters" in out
    before, after = map(float, re.search(r"held-out loss: ([\d.]+) -> ([\d.]+) nats", out).groups())
    assert after < before and after < math.log(27) - 0.2
    table = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", out, flags=re.MULTILINE)
    assert [int(step) for step, _, _ in table] == [5, 10, 15, 20]
    names_block = out.split("20 made-up names (temperature 0.5):\n")[1].split("\n\n")[0]
    assert len(names_block.split()) >= 15  # 20 names, a few of which may be empty
    assert "loaded it back: it makes up the same names" in out
    model = load(tmp_path / "model.json")
    assert isinstance(model, GPT) and model.num_parameters == 4192
    assert_valid_png(tmp_path / "loss.png")
    assert_valid_png(tmp_path / "attention.png")
    assert (tmp_path / "tiny_gpt_walkthrough.html").read_text().startswith("<!DOCTYPE html>")
    svg = tmp_path / "attention_score.svg"
    if svg.exists():  # needs graphviz's dot
        text = svg.read_text()
        assert "layer0.attn / query" in text and "score" in text
