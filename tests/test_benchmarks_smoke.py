"""The benchmark runner, in quick mode: it runs, checks itself, and writes complete JSON.

Timings on a shared machine are noise, so nothing here compares speeds; only that every
workload produced sane numbers and that the engines agree on what they computed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("micrograd")
pytest.importorskip("numpy")

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
ENGINES = ("chainrule", "micrograd", "floats")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    completed = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--output", str(output)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "| workload |" in completed.stdout  # the table was printed
    return json.loads(output.read_text())


def assert_timing(engine: dict[str, Any]) -> None:
    assert engine["median"] > 0 and math.isfinite(engine["median"])
    assert engine["samples"] and all(s > 0 for s in engine["samples"])
    assert 0 <= engine["collector_median"] <= engine["median"] * 1.01


def test_every_workload_is_reported(results: dict[str, Any]) -> None:
    expected = {"moons_step", "moons_step_isolated", "moons_demo", "tanh_chain",
                "sum_of_products", "bytes_per_node", "gpt_step", "moons_step_compiled",
                "digits_epoch", "live_page", "targets", "checks_passed", "environment"}
    assert expected <= set(results)
    assert results["environment"]["quick"] is True


@pytest.mark.parametrize("workload", ["moons_step", "moons_step_isolated", "moons_demo",
                                      "sum_of_products"])
def test_each_engine_has_timings_and_ratios(results: dict[str, Any], workload: str) -> None:
    report = results[workload]
    assert set(report["engines"]) == set(ENGINES)
    for engine in ENGINES:
        assert_timing(report["engines"][engine])
    for name, ratio in report["ratios"].items():
        assert ratio > 0 and math.isfinite(ratio), name


def test_chain_sizes(results: dict[str, Any]) -> None:
    sizes = results["tanh_chain"]["sizes"]
    assert list(sizes) == ["1000", "10000"]
    for size in sizes.values():
        assert size["gradients_agree"]
        for engine in ENGINES:
            assert_timing(size["engines"][engine])


def test_engines_compute_the_same_thing(results: dict[str, Any]) -> None:
    check = results["moons_step_isolated"]["check"]
    assert math.isclose(check["loss"], 0.8958441028683222, rel_tol=1e-12)  # micrograd's demo
    assert all(d <= 1e-9 for d in check["max_gradient_difference"].values())
    assert results["moons_step_isolated"]["parameters"] == 337
    demo = results["moons_demo"]
    assert demo["check"]["losses_agree"] and demo["check"]["same_accuracy"]
    losses = {e: demo["engines"][e]["final_loss"] for e in ENGINES}
    assert max(losses.values()) - min(losses.values()) <= 1e-9
    assert results["checks_passed"] is True


def test_memory_is_measured_per_node(results: dict[str, Any]) -> None:
    engines = results["bytes_per_node"]["engines"]
    for engine in ("chainrule binary", "micrograd"):
        report = engines[engine]
        assert report["nodes"] > 60_000  # the moons loss graph, one binary node per operation
        assert 16 <= report["bytes_per_node"] <= report["bytes_per_node_after_backward"] < 10_000
    dot = engines["chainrule"]  # nn.MLP: a neuron is a dot node, an add and a relu
    assert 5_000 < dot["nodes"] < 20_000
    assert dot["bytes"] < engines["chainrule binary"]["bytes"]


def test_targets_are_evaluated(results: dict[str, Any]) -> None:
    targets = results["targets"]
    live_page = "skipped" not in results["live_page"]  # Chromium and playwright present
    assert len(targets) == (14 if _has_torch() else 12) + live_page
    for target in targets.values():
        assert isinstance(target["met"], bool) and math.isfinite(target["value"])


def test_gpt_against_an_engine_of_microgpts_design(results: dict[str, Any]) -> None:
    gpt = results["gpt_step"]
    assert gpt["steps"] == 3 and gpt["parameters"] == 4192
    for engine in ("chainrule", "microgpt"):
        assert len(gpt["engines"][engine]["samples"]) == 3
        assert_timing(gpt["engines"][engine])
    assert gpt["check"]["losses_agree"]
    assert gpt["check"]["max_relative_loss_difference"] <= 1e-12
    # microgpt's first loss: its initial weights are random, so close to ln(27) = 3.30.
    assert abs(gpt["losses"][0] - 3.2958) < 0.5
    assert gpt["microgpt/chainrule"] > 0


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def test_compiled_moons_step_against_every_engine(results: dict[str, Any]) -> None:
    report = results["moons_step_compiled"]
    engines = {"eager", "micrograd", "floats", "compiled", "numpy", "numpy_per_node",
               "jit_per_sample"} | (
        {"pytorch"} if _has_torch() else set())
    assert set(report["engines"]) == engines
    for name in engines:
        assert report["engines"][name]["median"] > 0
    assert report["check"]["agree"]  # every engine's gradients equal eager's to 1e-9
    assert all(d <= 1e-12 for d in report["check"]["loss_relative_difference"].values())
    assert all(0 < seconds < 60 for seconds in report["build_seconds"].values())
    dispatch = report["dispatch"]
    assert dispatch["program_us"] > 0 and dispatch["call_us"] > 0
    assert dispatch["parameters"] == 337 and dispatch["calls_per_step"] == 100


def test_digits_epoch_engines_agree(results: dict[str, Any]) -> None:
    report = results["digits_epoch"]
    assert report["samples"] == 64 and report["hidden"] == 4
    assert report["check"]["agree"]
    assert all(d <= 1e-12 for d in report["check"]["relative_loss_difference"].values())
    assert report["eager/compiled"] > 0 and report["eager/numpy"] > 0
    assert report["build"]["programs"] == 10  # one per class
