"""Benchmarks: chainrule against micrograd 0.1.0 and hand-written plain floats.

Run ``make bench`` (or ``.venv/bin/python benchmarks/run.py``); ``--quick`` for a smoke run of a
few seconds. Prints a table and writes JSON to ``benchmarks/results/latest.json``.
See benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import compiled
import gpt
import live_page
import moons
import workloads
from timing import Samples, interleaved, time_once

ENGINES = ("chainrule", "micrograd", "floats")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
GRADIENT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Plan:
    """How much to run: the full benchmark, or a quick smoke run of the same workloads."""

    step_repeats: int
    loop_steps: int
    demo_steps: int
    demo_repeats: int
    chain_links: tuple[int, ...]
    chain_repeats: dict[int, int]
    micrograd_max_links: int  # deeper chains are skipped for micrograd (time, recursion depth)
    products: int
    product_repeats: int
    gpt_steps: int
    digits_repeats: int = 3
    digits_samples: int | None = None  # None: all 1,797 digits
    digits_hidden: int = compiled.HIDDEN
    live_samples: int = 101  # batches of run() timed in the page
    live_batch: int = 20  # run() calls per batch


FULL = Plan(
    step_repeats=7, loop_steps=4, demo_steps=100, demo_repeats=1,
    chain_links=(1_000, 10_000, 100_000, 1_000_000),
    chain_repeats={1_000: 15, 10_000: 9, 100_000: 5, 1_000_000: 3},
    micrograd_max_links=100_000, products=100_000, product_repeats=5, gpt_steps=31,
)
QUICK = Plan(
    step_repeats=2, loop_steps=1, demo_steps=2, demo_repeats=1,
    chain_links=(1_000, 10_000), chain_repeats={1_000: 3, 10_000: 1},
    micrograd_max_links=10_000, products=10_000, product_repeats=2, gpt_steps=3,
    digits_repeats=1, digits_samples=64, digits_hidden=4, live_samples=5, live_batch=2,
)


def engine_summary(samples: Samples, scale: float, unit: str) -> dict[str, Any]:
    """Median (and every sample) in ``unit``; ``scale`` converts seconds to it."""
    return {
        "unit": unit,
        "median": samples.median * scale,
        "samples": [s * scale for s in samples.seconds],
        "collector_median": samples.median_collector * scale,
        "median_without_collector": samples.median_without_collector * scale,
    }


def ratios(engines: dict[str, dict[str, Any]]) -> dict[str, float]:
    """How many times slower micrograd and the floats are than chainrule (> 1: chainrule
    faster; the floats ratio is below 1, it is the floor)."""
    base = engines["chainrule"]["median"]
    return {f"{name}/chainrule": engines[name]["median"] / base
            for name in engines if name != "chainrule"}


# -- the workloads -----------------------------------------------------------------------------


def moons_step(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    """Per training step, in a loop (each engine paying for its own garbage): the headline."""
    cases = workloads.moons_step_cases(data, weights, plan.loop_steps, in_loop=True)
    samples = interleaved(cases, plan.step_repeats)
    engines = {name: engine_summary(s, 1e3 / plan.loop_steps, "ms") for name, s in samples.items()}
    return {"engines": engines, "ratios": ratios(engines), "repeats": plan.step_repeats,
            "steps_per_sample": plan.loop_steps,
            "note": "consecutive steps, then gc.collect(), all timed; per step"}


def moons_step_isolated(
    plan: Plan, data: moons.Moons, weights: list[moons.Layer]
) -> dict[str, Any]:
    """One step after gc.collect(), its garbage not collected in the timed region; also the
    correctness check: every engine's gradients at the initial weights."""
    samples = interleaved(workloads.moons_step_cases(data, weights), plan.step_repeats)
    # Every run starts from the initial weights: check the gradients of the last ones.
    results = {engine: s.result for engine, s in samples.items()}
    reference = results["chainrule"]
    check = {
        "loss": reference.loss,
        "max_gradient_difference": {
            engine: moons.max_gradient_difference(reference, results[engine])
            for engine in ENGINES if engine != "chainrule"
        },
    }
    check["gradients_agree"] = all(
        d <= GRADIENT_TOLERANCE for d in check["max_gradient_difference"].values()
    )
    engines = {name: engine_summary(s, 1e3, "ms") for name, s in samples.items()}
    return {"engines": engines, "ratios": ratios(engines), "check": check,
            "repeats": plan.step_repeats, "parameters": len(reference.gradients)}


def moons_demo(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    cases = workloads.moons_demo_cases(data, weights, plan.demo_steps)
    finals: dict[str, moons.StepResult] = {}
    samples = {name: Samples() for name in cases}
    for repeat in range(plan.demo_repeats):
        shift = repeat % len(ENGINES)
        for engine in ENGINES[shift:] + ENGINES[:shift]:
            seconds, collector, finals[engine] = time_once(cases[engine])
            samples[engine].seconds.append(seconds)
            samples[engine].collector_seconds.append(collector)
    engines = {name: engine_summary(s, 1.0, "s") for name, s in samples.items()}
    for engine, final in finals.items():
        engines[engine].update(final_loss=final.loss, final_accuracy=final.accuracy)
    reference = finals["chainrule"].loss
    differences = {e: abs(finals[e].loss - reference) for e in ENGINES if e != "chainrule"}
    check = {
        "steps": plan.demo_steps,
        "final_loss_difference": differences,
        "losses_agree": all(d <= GRADIENT_TOLERANCE for d in differences.values()),
        "same_accuracy": len({f.accuracy for f in finals.values()}) == 1,
    }
    return {"engines": engines, "ratios": ratios(engines), "check": check,
            "repeats": plan.demo_repeats}


def tanh_chain(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for links in plan.chain_links:
        runnable = [e for e in ENGINES if e != "micrograd" or links <= plan.micrograd_max_links]
        samples = interleaved(workloads.chain_cases(links, runnable), plan.chain_repeats[links])
        reference = samples["chainrule"].result
        engines = {name: engine_summary(s, 1e6 / links, "us/link") for name, s in samples.items()}
        if "micrograd" not in engines:
            engines["micrograd"] = {"skipped": (
                f"not run: {links:.0e} links would take minutes and a "
                f"{3 * links:,}-deep recursion in micrograd's backward()")}
        # d(x_n)/d(x0), d/dw, d/db: relative tolerance, as d/dw grows with the chain.
        agree = all(
            math.isclose(a, b, rel_tol=GRADIENT_TOLERANCE, abs_tol=GRADIENT_TOLERANCE)
            for engine in runnable
            for a, b in zip(reference, samples[engine].result, strict=True)
        )
        sizes[str(links)] = {"engines": engines, "gradients_agree": agree,
                             "gradients": reference, "repeats": plan.chain_repeats[links]}
    smallest, largest = str(plan.chain_links[0]), str(plan.chain_links[-1])
    flatness, flatness_without_collector = {}, {}
    for engine in ENGINES:
        low, high = sizes[smallest]["engines"][engine], sizes[largest]["engines"][engine]
        if "median" in low and "median" in high:
            flatness[engine] = high["median"] / low["median"]
            # Diagnostic only: how much of the growth is the cyclic collector's.
            flatness_without_collector[engine] = (
                high["median_without_collector"] / low["median_without_collector"]
            )
    return {"sizes": sizes, "link": "x <- tanh(w * x + b), w = 1, b = 0",
            f"per_link_{largest}_over_{smallest}": flatness,
            "same_without_collector_time": flatness_without_collector}


def sum_of_products(
    plan: Plan, data: moons.Moons, weights: list[moons.Layer]
) -> dict[str, Any]:
    operations = 2 * plan.products
    samples = interleaved(workloads.sum_of_products_cases(plan.products), plan.product_repeats)
    engines = {name: engine_summary(s, 1e9 / operations, "ns/op") for name, s in samples.items()}
    return {"engines": engines, "ratios": ratios(engines), "products": plan.products,
            "operations": operations, "repeats": plan.product_repeats,
            "note": "forward and backward of sum(x_i * y_i), per recorded operation"}


def memory(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    engines = {e: workloads.bytes_per_node(e, data, weights)
               for e in ("chainrule", "chainrule binary", "micrograd")}
    return {"engines": engines, "graph": "the moons loss (one training step's forward pass)",
            "micrograd/chainrule": engines["micrograd"]["bytes_per_node"]
            / engines["chainrule binary"]["bytes_per_node"],
            "graph bytes, binary/dot": engines["chainrule binary"]["bytes"]
            / engines["chainrule"]["bytes"]}


def gpt_step(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    """microgpt's GPT, one name per step, against an engine of microgpt's design."""
    return gpt.gpt_training(plan.gpt_steps)


def moons_step_compiled(plan: Plan, data: moons.Moons, weights: list[moons.Layer]
                        ) -> dict[str, Any]:
    """The moons step compiled (Python and numpy backends) against the other engines."""
    return compiled.moons_compiled(plan.step_repeats, plan.loop_steps)


def digits_epoch(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    """A digits epoch: eager, compiled, numpy, PyTorch; and the programs' build time."""
    result = compiled.digits_epoch(plan.digits_repeats, plan.digits_samples, plan.digits_hidden)
    result["build"] = compiled.digits_build(plan.digits_samples, plan.digits_hidden)
    return result


# -- report ------------------------------------------------------------------------------------


def live(plan: Plan, data: moons.Moons, weights: list[moons.Layer]) -> dict[str, Any]:
    """The live page's JavaScript program of a 2,000-node graph, in Chromium (issue 23)."""
    return live_page.live_page(plan.live_samples, plan.live_batch)


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals, as measured in this run."""
    chain = results["tanh_chain"]
    flatness_key = next(k for k in chain if k.startswith("per_link_"))
    found = {
        "moons step with nn.MLP (dot nodes) >= 30x micrograd": (
            results["moons_step"]["ratios"]["micrograd/chainrule"], ">=", 30.0),
        "moons demo >= 10x micrograd": (
            results["moons_demo"]["ratios"]["micrograd/chainrule"], ">=", 10.0),
        "GPT step >= 4x an engine of microgpt's design": (
            results["gpt_step"]["microgpt/chainrule"], ">=", 4.0),
        "<= 150 bytes per binary node": (
            results["bytes_per_node"]["engines"]["chainrule binary"]["bytes_per_node"], "<=",
            150.0),
        "moons step graph smaller with dot nodes than with binary ones": (
            results["bytes_per_node"]["graph bytes, binary/dot"], ">=", 1.0),
        f"chain {flatness_key.removeprefix('per_link_')} per link <= 1.5": (
            chain[flatness_key]["chainrule"], "<=", 1.5),
    }
    moons_compiled = results["moons_step_compiled"]
    digits = results["digits_epoch"]
    found["compiled moons step within 1.25x of the hand-written float step"] = (
        moons_compiled["ratios"]["compiled/floats"], "<=", 1.25)
    found["moons step per sample through jit(value_and_grad(...)) within 1.25x of floats"] = (
        moons_compiled["ratios"]["jit_per_sample/floats"], "<=", 1.25)
    found["jit dispatch per call <= 0.25x the program's own time"] = (
        moons_compiled["dispatch"]["dispatch/program"], "<=", 0.25)
    found["trace + generate + compile of the moons programs < 10% of an eager epoch"] = (
        moons_compiled["build_over_eager_epoch"], "<=", 0.10)
    found["trace + generate + compile of one digits program < 10% of an eager epoch"] = (
        digits["build"]["seconds_each"] / digits["epoch_seconds"]["eager"], "<=", 0.10)
    if moons_compiled["numpy/pytorch"] is not None:
        found["numpy moons step (node by node) within 2x of PyTorch float64 batched"] = (
            moons_compiled["numpy_per_node/pytorch"], "<=", 2.0)
        found["numpy moons step, layers lifted, faster than PyTorch float64 batched"] = (
            moons_compiled["numpy/pytorch"], "<=", 1.0)
    found["digits epoch compiled >= 30x faster than eager"] = (
        digits["eager/compiled"], ">=", 30.0)
    page = results["live_page"]
    if "skipped" not in page:
        found["live page: run() of the 2,000-node MLP loss after an edit < 16 ms (a frame)"] = (
            page["mlp_loss"]["run_ms"]["median"], "<=", live_page.FRAME_MS)
    demo = results["moons_demo"]
    if demo["check"]["steps"] == 100:
        accuracy = demo["engines"]["chainrule"]["final_accuracy"]
        found["demo ends at micrograd's loss (1e-9) with 100% accuracy"] = (
            float(demo["check"]["losses_agree"] and accuracy == 1.0), ">=", 1.0)
    return {
        name: {"value": value, "goal": f"{sign} {goal:g}",
               "met": value >= goal if sign == ">=" else value <= goal}
        for name, (value, sign, goal) in found.items()
    }


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    def cell(engine: dict[str, Any], digits: int) -> str:
        return "skipped" if "median" not in engine else f"{engine['median']:,.{digits}f}"

    def row(name: str, engines: dict[str, Any], ratio: str, digits: int, float_digits: int) -> str:
        return (f"| {name} | {cell(engines['chainrule'], digits)} "
                f"| {cell(engines['micrograd'], digits)} "
                f"| {cell(engines['floats'], float_digits)} | {ratio} |")

    def speedup(result: dict[str, Any]) -> str:
        return f"{result['ratios']['micrograd/chainrule']:.1f}x"

    rows = ["| workload | chainrule | micrograd | floats | micrograd / chainrule |",
            "|---|---:|---:|---:|---:|"]
    for key, name in (("moons_step", "moons training step, in a loop (ms)"),
                      ("moons_step_isolated", "moons step, garbage left uncollected (ms)")):
        step = results[key]
        rows.append(row(name, step["engines"], speedup(step), 1, 2))
    demo = results["moons_demo"]
    rows.append(row(f"moons demo, {demo['check']['steps']} steps (s)", demo["engines"],
                    speedup(demo), 2, 3))
    for links, size in results["tanh_chain"]["sizes"].items():
        e = size["engines"]
        ratio = (f"{e['micrograd']['median'] / e['chainrule']['median']:.1f}x"
                 if "median" in e["micrograd"] else "-")
        rows.append(row(f"tanh chain, {int(links):,} links (us/link)", e, ratio, 2, 3))
    products = results["sum_of_products"]
    rows.append(row(f"sum of {products['products']:,} products (ns/op, fwd+bwd)",
                    products["engines"], speedup(products), 0, 0))
    memory_result = results["bytes_per_node"]
    e = memory_result["engines"]
    rows.append(f"| bytes per graph node (binary nodes) | {e['chainrule binary']['bytes_per_node']:.0f} "
                f"| {e['micrograd']['bytes_per_node']:.0f} | - "
                f"| {memory_result['micrograd/chainrule']:.1f}x less |")
    rows.append(f"| bytes per graph node (`dot` nodes; {e['chainrule']['nodes']:,} nodes, "
                f"{e['chainrule binary']['nodes']:,} binary) | "
                f"{e['chainrule']['bytes_per_node']:.0f} | - | - | "
                f"graph {memory_result['graph bytes, binary/dot']:.1f}x smaller |")
    return "\n".join(rows)


def gpt_table(results: dict[str, Any]) -> str:
    """The GPT workload against the engine of microgpt's design, as a Markdown table."""
    g = results["gpt_step"]
    e = g["engines"]
    return "\n".join([
        "| workload | chainrule | microgpt's design | microgpt / chainrule |",
        "|---|---:|---:|---:|",
        f"| GPT training step, microgpt's configuration, median of {g['steps']} names (ms) "
        f"| {e['chainrule']['median']:,.1f} | {e['microgpt']['median']:,.1f} "
        f"| {g['microgpt/chainrule']:.1f}x |",
    ])


def compiled_table(results: dict[str, Any]) -> str:
    """The compiled workloads (issue 17), as Markdown tables."""
    m = results["moons_step_compiled"]
    e = m["engines"]
    rows = ["| moons training step (ms) | median | / floats |", "|---|---:|---:|"]
    for name in ("floats", "compiled", "jit_per_sample", "numpy_per_node", "numpy", "pytorch",
                 "eager", "micrograd"):
        if name in e:
            rows.append(f"| {name} | {e[name]['median']:,.2f} | {m['ratios'][name + '/floats']:.2f}x |")
    dispatch = m["dispatch"]
    rows.append("")
    rows.append(f"jit(value_and_grad(loss, argnums=0)) per call ({dispatch['parameters']} "
                f"parameters as a flat list): {dispatch['call_us']:,.0f} us, of which dispatch "
                f"{dispatch['dispatch_us']:,.0f} us = {dispatch['dispatch/program']:.2f}x the "
                f"program's own {dispatch['program_us']:,.0f} us")
    builds = ", ".join(f"{k}: {v * 1e3:.0f} ms" for k, v in m["build_seconds"].items())
    rows.append("")
    rows.append(f"build (trace + generate + compile): {builds}; "
                f"{m['build_over_eager_epoch']:.0%} of one eager step (= epoch)")
    d = results["digits_epoch"]
    rows += ["", f"| digits epoch, MLP(64, [{d['hidden']}, 10]), {d['samples']} samples, "
             f"batches of {d['batch_size']} (s) "
             "| epoch | first epoch | eager / this |", "|---|---:|---:|---:|"]
    for name, seconds in d["epoch_seconds"].items():
        rows.append(f"| {name} | {seconds:,.3f} | {d['first_epoch_seconds'][name]:,.3f} "
                    f"| {d['epoch_seconds']['eager'] / seconds:.1f}x |")
    b = d["build"]
    rows.append("")
    rows.append(f"digits programs: {b['programs']} (one per class), {b['lines_each']:,} lines, "
                f"{b['seconds_each']:.2f} s each to build, {b['seconds_total']:.2f} s in all")
    return "\n".join(rows)


def checks_passed(results: dict[str, Any]) -> bool:
    sizes = results["tanh_chain"]["sizes"].values()
    chain_ok = all(size["gradients_agree"] for size in sizes)
    demo = results["moons_demo"]["check"]
    return (results["moons_step_isolated"]["check"]["gradients_agree"] and chain_ok
            and demo["losses_agree"] and demo["same_accuracy"]
            and results["gpt_step"]["check"]["losses_agree"]
            and results["moons_step_compiled"]["check"]["agree"]
            and results["digits_epoch"]["check"]["agree"]
            and results["live_page"].get("agree", True))


def environment(quick: bool) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "micrograd": version("micrograd"),
        "gc_thresholds": list(gc.get_threshold()),
        "quick": quick,
    }


#: Every workload, in the order they run; each runs in a fresh interpreter (see main).
WORKLOADS = {
    "moons_step_isolated": moons_step_isolated,
    "moons_step": moons_step,
    "moons_demo": moons_demo,
    "tanh_chain": tanh_chain,
    "sum_of_products": sum_of_products,
    "bytes_per_node": memory,
    "gpt_step": gpt_step,
    "moons_step_compiled": moons_step_compiled,
    "digits_epoch": digits_epoch,
    "live_page": live,
}


def run_in_fresh_interpreter(name: str, quick: bool) -> dict[str, Any]:
    """One workload in its own Python process, so that none inherits another's heap (a
    million-node chain leaves memory fragmented and slows whatever runs after it)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--workload", name]
    if quick:
        command.append("--quick")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"workload {name} failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


def report(results: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print()
    print(gpt_table(results))
    print()
    print(compiled_table(results))
    print()
    print(live_page.table(results["live_page"]))
    print()
    for name, target in results["targets"].items():
        print(f"{'met    ' if target['met'] else 'NOT MET'}  {name}: {target['value']:.2f}")
    chain = results["tanh_chain"]
    print(f"(diagnostic) chainrule's chain per-link growth without the collector's time: "
          f"{chain['same_without_collector_time']['chainrule']:.2f}x")
    print(f"GPT losses agree at every step to "
          f"{results['gpt_step']['check']['max_relative_loss_difference']:.1e} (relative)")
    print(f"correctness checks (gradients to {GRADIENT_TOLERANCE:g}, demo loss and accuracy, "
          f"GPT losses to {gpt.LOSS_TOLERANCE:g}, the live page's JavaScript to "
          f"{live_page.TOLERANCE:g}): "
          f"{'passed' if results['checks_passed'] else 'FAILED'}")
    print(f"JSON: {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--workload", choices=list(WORKLOADS),
                        help="run only this workload and print its JSON (used internally)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL

    if args.workload:
        data, weights = moons.make_moons(), moons.initial_weights()
        print(json.dumps(WORKLOADS[args.workload](plan, data, weights)))
        return 0

    results: dict[str, Any] = {"environment": environment(args.quick)}
    for name in WORKLOADS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run_in_fresh_interpreter(name, args.quick)
    results["targets"] = targets(results)
    results["checks_passed"] = checks_passed(results)
    report(results, args.output)
    return 0 if results["checks_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
