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
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

from chainrule import nn
from chainrule.engine import Value, topological_order
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


def mlp_loss() -> Value:
    model = nn.MLP(20, [32, 32, 1], activation="tanh", seed=0)
    x = [Value(math.sin(i), label=f"x{i}") for i in range(20)]
    return nn.mse([model(x)], [0.5])


def tanh_chain(links: int = 666) -> Value:
    x = Value(0.5, label="x")
    y = x
    for _ in range(links):
        y = (y * 0.9).tanh() + x
    return y


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


def live_page(samples: int, batch: int) -> dict[str, Any]:
    """Every graph's program: its size, how long emitting it takes, and its times in
    Chromium; or why the measurement was skipped."""
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
        finally:
            browser.close()
    found["agree"] = all(g["max_relative_difference"] <= TOLERANCE for g in found.values())
    return found


def table(result: dict[str, Any]) -> str:
    """The measurements as a Markdown table."""
    if "skipped" in result:
        return f"live page: skipped ({result['skipped']})"
    rows = ["| live page program (Chromium) | nodes | program bytes | emit (s) | first run (ms) "
            "| run after an edit (ms) | forward (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, g in result.items():
        if not isinstance(g, dict):
            continue
        rows.append(f"| {name} | {g['nodes']:,} | {g['program_bytes']:,} | "
                    f"{g['emit_seconds']:.2f} | {g['first_run_ms']:.2f} | "
                    f"{g['run_ms']['median']:.3f} | {g['forward_ms']['median']:.3f} |")
    return "\n".join(rows)
