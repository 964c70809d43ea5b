"""demos/walkthrough.py writes the pages, the Markdown and the worksheet it promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demos" / "walkthrough.py"


def test_walkthrough_demo_writes_pages_markdown_and_a_worksheet(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(DEMO), "--out", str(tmp_path), "--no-screenshot"],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "neuron-worksheet-circuit.svg", "neuron-worksheet.html", "neuron-worksheet.md",
        "neuron.html", "neuron.md", "xor.html", "xor.md"]
    out = finished.stdout
    assert "neuron: 9 forward and 9 backward steps; 7 of 7 gradients agree" in out
    assert "xor: 11 forward and 11 backward steps; 11 of 11 gradients agree" in out
    assert re.search(r"L = 0\.0544097 before, 0\.0453482\s+after \(it went down\)", out)
    sheet = (tmp_path / "neuron-worksheet.md").read_text(encoding="utf-8")
    questions, key = sheet.split("## Answer key")
    blanks = re.findall(r"^\d+\. .* = _{12}$", questions, re.M)
    assert len(blanks) == len(re.findall(r"^\d+\. \*\*", key, re.M)) == 9
    assert "](neuron-worksheet-circuit.svg)" in questions
    assert "## What the numbers mean" in questions
    xor = (tmp_path / "xor.md").read_text(encoding="utf-8")
    assert "### Layer by layer" in xor and "layer0.neuron1.tanh" in xor
    page = (tmp_path / "xor.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="walkthrough-data">(.*?)</script>', page, re.S).group(1))
    assert [view["layer"] for view in data["layers"]] == [1, 0]
