"""The live page's recompute (issue 23): a recorded graph as the JavaScript program a
walkthrough page carries, timed in Chromium.

Two graphs of about 2,000 nodes: a walkthrough-sized ``chainrule.nn`` loss (one sample of an
MLP(20, [32, 32, 1]) with tanh, mean squared error: ``dot`` nodes of up to 64 inputs) and a
chain of binary nodes (``tanh(0.9 y) + x``). Each is planned and emitted in Python (timed),
then opened in Debian's Chromium (headless, through playwright) in a page whose script is the
runtime and the program, as a walkthrough page inlines them. In the page: the first
``run()`` (what the first edit costs, compilation included), then, after warming up, the median
of many ``run()`` calls each after editing one leaf (batches of calls timed with
``performance.now()``, whose resolution is coarse), and the same for ``forward()`` alone. The
program's numbers are checked against eager Python's in the same run.

Then the whole page's update after an edit, in the saved walkthrough pages of the MLP's output
(``walkthrough(..., picture=False, target=1.0)``, about 2,000 nodes, 1,977 table rows) and of
the seed neuron (demos/neuron.py, with its picture): typing into the first leaf's field, the
time from its ``input`` event to the end of the synchronous update (the program's run, the
step re-filled, the table's rows in view, the nudge), and the part deferred to the
next frames (a long table's rows out of view, 4 ms of them a frame): how many frames, and
when the last row is written; medians of many edits, at the step the page opens on and at a step
of the backward pass.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from chainrule import nn
from chainrule.engine import Value, topological_order, walkthrough
from chainrule.engine.compile import emit_javascript, javascript_runtime, plan_of_graph

CHROMIUM = Path("/usr/bin/chromium")
TOLERANCE = 1e-12  # relative, JavaScript against eager Python
FRAME_MS = 16.0

#: What the page does: times run() and forward() after an edit, in batches of calls.
TIMING = """([samples, batch]) => {
  const p = chainruleProgram;
  const leaves = p.leaves.map((i) => p.initial[i]);
  const first = performance.now();
  p.run(leaves);
  const firstMs = performance.now() - first;
  const time = (work) => {
    for (let r = 0; r < batch; r++) { work(r); }  // warm up
    const found = [];
    for (let s = 0; s < samples; s++) {
      const start = performance.now();
      for (let r = 0; r < batch; r++) { work(r); }
      found.push((performance.now() - start) / batch);
    }
    return found;
  };
  const edited = (r) => { leaves[r % leaves.length] += 1e-9; return leaves; };
  const values = p.initial.slice();
  const run = time((r) => p.run(edited(r)));
  const forward = time((r) => { values[p.leaves[r % p.leaves.length]] += 1e-9; p.forward(values); });
  const numbers = p.run(p.leaves.map((i) => p.initial[i]));
  return { firstMs, run, forward, values: Array.from(numbers.values),
           grads: Array.from(numbers.grads) };
}"""


#: What the page does: edits the first leaf many times, timing the synchronous update, then
#: counting the frames until the rows deferred to them are written.
EDITS = """async ([edits, step]) => {
  chainruleWalkthrough.show(step);
  const input = document.querySelector("#leaf-fields input");
  const base = Number(input.value);
  const frame = () => new Promise((done) => requestAnimationFrame(() => done(performance.now())));
  const settled = async () => {  // until the page asks for no more frames of work
    let frames = 0;
    while (chainruleWalkthrough.pendingRows() && frames < 1000) { await frame(); frames++; }
    await frame();
  };
  await settled();
  const update = [], frames = [], done = [];
  for (let r = 0; r < edits; r++) {
    input.value = String(base + ((r % 7) + 1) * 1e-3);
    const start = performance.now();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    update.push(performance.now() - start);
    // The deferred part (at most walkthrough.js's budget of 4 ms a frame): how many frames it
    // takes, and when the last row is written.
    let count = 0;
    while (chainruleWalkthrough.pendingRows()) { await frame(); count++; }
    done.push(performance.now() - start);
    frames.push(count);
    await frame();
  }
  return { update, frames, done, rows: document.querySelectorAll("#grad-table tbody tr").length };
}"""


def mlp_output() -> Value:
    """The MLP's output on one sample, before a loss is put on it."""
    model = nn.MLP(20, [32, 32, 1], activation="tanh", seed=0)
    output: Value = model([Value(math.sin(i), label=f"x{i}") for i in range(20)])
    return output


def mlp_loss() -> Value:
    return nn.mse([mlp_output()], [0.5])


def tanh_chain(links: int = 666) -> Value:
    x = Value(0.5, label="x")
    y = x
    for _ in range(links):
        y = (y * 0.9).tanh() + x
    return y


def seed_neuron() -> Value:
    """demos/neuron.py's neuron (demos/ is not a package)."""
    path = Path(__file__).resolve().parent.parent / "demos" / "neuron.py"
    spec = importlib.util.spec_from_file_location("demo_neuron", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output: Value = module.build_neuron()[0]
    return output


def page_updates(browser: Any, edits: int) -> dict[str, Any]:
    """Each saved page's update after an edit, at the first step and in the backward pass."""
    pages = {"mlp_page": (mlp_output, False), "neuron_page": (seed_neuron, True)}
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (build, picture) in pages.items():
            lesson = walkthrough(build(), picture=picture, target=1.0)
            path = lesson.save_html(Path(folder) / f"{name}.html")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(path.resolve().as_uri())
            steps = page.evaluate("chainruleWalkthrough.steps.length")
            first_backward = page.evaluate("chainruleWalkthrough.firstBackward")
            result: dict[str, Any] = {}
            for where, step in (("first step", 0),
                                ("backward step", (first_backward + steps) // 2)):
                got = page.evaluate(EDITS, [edits, step])
                result[where] = {
                    "update_ms": {"median": statistics.median(got["update"]),
                                  "max": max(got["update"]), "samples": got["update"]},
                    "deferred_frames": statistics.median(got["frames"]),
                    "all_written_ms": statistics.median(got["done"]),
                }
            result["nodes"] = page.evaluate("chainruleWalkthrough.data.nodes.length")
            result["rows"] = got["rows"]
            page.close()
            found[name] = result
    return found


def _agree(root: Value, got: dict[str, Any]) -> float:
    """The largest relative difference between the page's numbers and eager Python's."""
    root.backward()
    order = topological_order(root)
    worst = 0.0
    for node, value, grad in zip(order, got["values"], got["grads"], strict=True):
        pairs = [(value, node.data)] + ([] if node.is_constant else [(grad, node.grad)])
        for js, py in pairs:
            worst = max(worst, abs(js - py) / max(abs(py), 1e-300) if js != py else 0.0)
    return worst


def live_page(samples: int, batch: int, edits: int = 61) -> dict[str, Any]:
    """Every graph's program: its size, how long emitting it takes, and its times in
    Chromium, then the pages' updates after an edit (``pages``); or why the measurement was
    skipped."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed (pip install 'chainrule[browser]')"}
    if not CHROMIUM.exists():
        return {"skipped": f"Chromium is not installed at {CHROMIUM}"}
    graphs = {"mlp_loss": mlp_loss, "tanh_chain": tanh_chain}
    found: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for name, build in graphs.items():
                root = build()
                start = time.perf_counter()
                program = emit_javascript(plan_of_graph(root))
                emit_seconds = time.perf_counter() - start
                page = browser.new_page()
                page.set_content("<!doctype html><meta charset='utf-8'><script>"
                                 f"{javascript_runtime()}\n{program}</script>")
                got = page.evaluate(TIMING, [samples, batch])
                page.close()
                order = topological_order(root)
                found[name] = {
                    "nodes": len(order),
                    "contributions": sum(1 for n in order for i in n.inputs
                                         if not i.is_constant),
                    "program_bytes": len(program.encode("utf-8")),
                    "runtime_bytes": len(javascript_runtime().encode("utf-8")),
                    "emit_seconds": emit_seconds,
                    "first_run_ms": got["firstMs"],
                    "run_ms": {"median": statistics.median(got["run"]), "samples": got["run"]},
                    "forward_ms": {"median": statistics.median(got["forward"]),
                                   "samples": got["forward"]},
                    "max_relative_difference": _agree(root, got),
                }
            updates = page_updates(browser, edits)
        finally:
            browser.close()
    found["agree"] = all(g["max_relative_difference"] <= TOLERANCE for g in found.values())
    found["pages"] = updates
    return found


def table(result: dict[str, Any]) -> str:
    """The measurements as a Markdown table."""
    if "skipped" in result:
        return f"live page: skipped ({result['skipped']})"
    rows = ["| live page program (Chromium) | nodes | program bytes | emit (s) | first run (ms) "
            "| run after an edit (ms) | forward (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, g in result.items():
        if not isinstance(g, dict) or name == "pages":
            continue
        rows.append(f"| {name} | {g['nodes']:,} | {g['program_bytes']:,} | "
                    f"{g['emit_seconds']:.2f} | {g['first_run_ms']:.2f} | "
                    f"{g['run_ms']['median']:.3f} | {g['forward_ms']['median']:.3f} |")
    rows += ["", "| page update after an edit (Chromium) | nodes | table rows | where "
             "| update (ms, median / max) | frames with deferred rows | all rows written (ms) |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for name, page in result.get("pages", {}).items():
        for where in ("first step", "backward step"):
            u = page[where]["update_ms"]
            rows.append(f"| {name} | {page['nodes']:,} | {page['rows']:,} | {where} | "
                        f"{u['median']:.1f} / {u['max']:.1f} | "
                        f"{page[where]['deferred_frames']:g} | {page[where]['all_written_ms']:.0f} |")
    return "\n".join(rows)
