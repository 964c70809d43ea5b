"""The step-by-step walkthrough of backpropagation, for the single neuron and for one XOR sample.

Writes, under out/walkthrough/ (or --out FOLDER):
  neuron.html, neuron.md   the sigmoid neuron of demos/neuron.py with the squared error against
                           target 1, and one gradient-descent step
  neuron-worksheet.html    the neuron as a printable worksheet (circuit, blanks, questions about
                           meaning, the answer key on a page of its own)
  neuron-worksheet.md      the same in Markdown, its circuit beside it (neuron-worksheet-circuit.svg)
  xor.html, xor.md         the loss of one XOR sample through a 2-2-1 network (tanh, sigmoid)
and the screenshots in the README: walkthrough.png (the page at a backward step) and
walkthrough-live.png (the live panels after an edit and two steps of descent by hand), with
walkthrough-live-390.png (the same on a 390 px phone). They need the playwright package and
Chromium at /usr/bin/chromium (skipped with a note otherwise); --publish copies the README's
two into demos/images/.
Prints the neuron's walkthrough as text. Open an .html file in any browser: it works offline.

Run: python demos/walkthrough.py [--out FOLDER] [--no-screenshot] [--publish]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/neuron.py, next to this file

from neuron import build_neuron

from chainrule.engine import Value, Walkthrough, walkthrough
from chainrule.nn import MLP, binary_cross_entropy, datasets

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "walkthrough"
SCREENSHOT = ROOT / "demos" / "images" / "walkthrough.png"
LIVE_SCREENSHOT = ROOT / "demos" / "images" / "walkthrough-live.png"
CHROMIUM = Path("/usr/bin/chromium")
LEARNING_RATE = 0.5
TARGET = 1.0


def neuron_walkthrough() -> Walkthrough:
    y, _, parameters = build_neuron()
    return walkthrough(y, lr=LEARNING_RATE, parameters=parameters.values(), target=TARGET,
                       loss="mse", title="Backpropagation through one sigmoid neuron")


def xor_walkthrough(sample: int = 1) -> Walkthrough:
    """The binary cross-entropy of one XOR sample through MLP(2, [2, 1]): its parameters are
    created by chainrule.nn inside layer/neuron scopes, so they are the ones updated."""
    points, labels = datasets.xor()
    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    x1, x2 = (Value(v, label=name) for v, name in zip(points[sample], ("x1", "x2"), strict=True))
    prediction = model([x1, x2])
    prediction.label = "p"
    loss = binary_cross_entropy([prediction], [labels[sample]])
    loss.label = "loss"
    return walkthrough(
        loss,
        lr=LEARNING_RATE,
        title=f"Backpropagation through a 2-2-1 network: XOR sample {points[sample]} -> "
        f"{labels[sample]}",
    )


def screenshot(page: Path, target: Path, steps: int) -> str:
    """A picture of ``page`` after ``steps`` presses of the Next button; '' or why not."""

    def take(tab: Any) -> None:
        for _ in range(steps):
            tab.click("#next")
        tab.screenshot(path=str(target))

    return in_chromium(page, 1280, take)


def live_screenshot(page: Path, target: Path, width: int, steps: int) -> str:
    """A picture of the live panels of ``page`` at ``width`` px after ``steps`` presses of the
    Next button: the input x1 typed as 1.5, then two steps of descent by hand; '' or why
    not."""

    def take(tab: Any) -> None:
        for _ in range(steps):
            tab.click("#next")
        tab.get_by_role("textbox", name="x1", exact=True).fill("1.5")
        tab.click("#descend")
        tab.click("#descend")
        tab.select_option("#nudge-leaf", label="x1")
        tab.evaluate("window.scrollTo(0, 0)")  # the sticky step bar back at the page's top
        # From the top of the leaf fields to the bottom of the descent panel, in page pixels.
        top, bottom = tab.evaluate(
            "() => [document.getElementById('live-panel').getBoundingClientRect().top, "
            "document.getElementById('descent-panel').getBoundingClientRect().bottom]"
            ".map(y => y + window.scrollY)")
        tab.screenshot(path=str(target), full_page=True, clip={
            "x": 0, "y": top - 8, "width": width, "height": min(bottom - top + 16, 2400)})

    return in_chromium(page, width, take)


def in_chromium(page: Path, width: int, take: Callable[[Any], None]) -> str:
    """Run ``take`` on ``page`` opened in Chromium at ``width`` px; '' or why it could not."""
    if not CHROMIUM.exists():
        return f"no screenshot: {CHROMIUM} is missing (sudo apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "no screenshot: the playwright package is missing (pip install 'chainrule[browser]')"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            tab = browser.new_page(viewport={"width": width, "height": 860},
                                   device_scale_factor=1)
            tab.goto(page.resolve().as_uri())
            take(tab)
        finally:
            browser.close()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the pages")
    parser.add_argument("--no-screenshot", action="store_true", help="skip the README picture")
    parser.add_argument("--publish", action="store_true",
                        help="also copy the README picture into demos/images/")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    neuron = neuron_walkthrough()
    print(neuron.text())
    xor = xor_walkthrough()
    for sheet in ("neuron-worksheet.md", "neuron-worksheet.html"):
        neuron.save_worksheet(args.out / sheet)
    for name, walk in (("neuron", neuron), ("xor", xor)):
        walk.save_html(args.out / f"{name}.html")
        (args.out / f"{name}.md").write_text(walk.markdown(), encoding="utf-8")
        checks = walk.backward.checks
        passed = sum(check.passed for check in checks)
        print(f"{name}: {len(walk.forward.steps)} forward and {len(walk.backward.steps)} "
              f"backward steps; {passed} of {len(checks)} gradients agree with finite "
              f"differences -> {args.out / name}.html")
        if walk.svg is None:
            print(f"  {walk.graph_note}")
    if args.no_screenshot:
        return
    # The screenshot shows the 7th backward step, through n3 = n1 + n2: the circuit carries every
    # gradient found so far and upstream x local on the two edges in use; the table marks the
    # gradients still pending.
    steps_to_show = len(neuron.forward.steps) + 1 + 6
    target = args.out / SCREENSHOT.name
    problem = screenshot(args.out / "neuron.html", target, steps_to_show)
    print(problem or f"screenshot -> {target}")
    if not problem and args.publish:
        shutil.copyfile(target, SCREENSHOT)
        print(f"published -> {SCREENSHOT}")
    for width, name in ((1280, LIVE_SCREENSHOT.name), (390, "walkthrough-live-390.png")):
        target = args.out / name
        # The XOR sample's 4th backward step: its sentences filled with the edited numbers.
        problem = problem or live_screenshot(args.out / "xor.html", target, width,
                                             len(xor.forward.steps) + 1 + 4)
        print(problem or f"screenshot -> {target}")
        if not problem and args.publish and name == LIVE_SCREENSHOT.name:
            shutil.copyfile(target, LIVE_SCREENSHOT)
            print(f"published -> {LIVE_SCREENSHOT}")
    if not problem and shutil.which("dot") is None:
        print("  (graphviz's dot is missing: the screenshot has no graph picture)")


if __name__ == "__main__":
    main()
