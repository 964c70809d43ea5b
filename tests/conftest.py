"""Shared pytest configuration: hypothesis profiles, the slow tier, the browser tests.

``ci`` (selected when the CI environment variable is set) has no deadline and derandomizes
example generation, so a CI run is reproducible; ``dev`` (the default) also has no deadline
(timings on a shared 2-core machine are noise) but explores new examples on every run; ``check``
(``make check``, the fast tier) tries 10 examples per property instead of 100.

The slow tests are marked ``slow`` here, by module (``SLOW_MODULES``) and by name
(``SLOW_TESTS``), rather than in each test file: ``make check`` runs the others
(``-m "not slow and not browser"``) in under a minute, ``make test`` runs them all.

Browser tests (marked ``browser``) need Debian's Chromium. Without it they are skipped with the
reason, so ``make test`` runs for a user who cannot install system packages; in CI (the ``CI``
environment variable set) a missing Chromium fails them instead, so CI always runs them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

CHROMIUM = Path("/usr/bin/chromium")

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("check", deadline=None, print_blob=True, max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


#: Modules whose every test takes seconds: they build and install the package, build the site,
#: run the demos, the notebooks, the benchmarks or a type checker, or train to convergence.
SLOW_MODULES = {
    "test_benchmarks_smoke.py",
    "test_digits_demo.py",
    "test_docs.py",
    "test_draw_demo.py",
    "test_gpt_demo.py",
    "test_nn_convergence.py",
    "test_nn_demos.py",
    "test_notebooks.py",
    "test_packaging.py",
    "test_typing.py",
    "test_walkthrough_demo.py",
    "test_why_it_fails_demo.py",
}
#: Single slow tests (module::name, every parametrization) in otherwise fast modules.
SLOW_TESTS = {
    "test_adversarial.py::test_a_long_chain_is_walked_through_and_its_text_still_lists_pending_nodes",
    "test_adversarial.py::test_cli_degrades_to_ascii_escapes_on_an_ascii_only_stdout",
    "test_adversarial_io.py::test_any_document_loads_or_raises_model_file_error",
    "test_cli.py::test_fuzzed_input_never_escapes_as_a_traceback",
    "test_cli.py::test_installed_console_script",
    "test_compile.py::test_a_long_chain_compiles_in_linear_time_and_matches",
    "test_compile_rules.py::test_its_memory_stops_growing_at_the_bound",
    "test_compile_numpy.py::test_fit_numpy_on_digits_is_the_python_programs_per_sample",
    "test_engine_graphs.py::test_deep_chain_of_a_million_operations_at_the_default_recursion_limit",
    "test_engine_nary.py::test_a_dot_of_twenty_thousand_pairs_and_its_gradient_of_gradient",
    "test_engine_nary.py::test_a_long_chain_of_sums_backpropagates_without_recursion",
    "test_nn_diagnosis_runs.py::test_the_guides_explorer_example_prints_what_the_guide_shows_and_its_advice_works",
    "test_nn_explorer.py::test_page_size_stays_bounded",
    "test_nn_fit_compiled.py::test_more_classes_than_programs_by_label_train_as_eagerly",
    "test_nn_gpt.py::test_gpt_gradients",
    "test_nn_gpt.py::test_the_issue_example",
    "test_nn_pytorch.py::test_100_training_steps_agree_after_every_step",
    "test_nn_pytorch.py::test_the_demo_trains_the_tutorials_network_twice_and_exports_xor",
    "test_nn_sequence_modules.py::test_attention_gradients",
    "test_nn_sequence_modules.py::test_block_gradients",
    "test_nn_train.py::test_fit_reproduces_micrograds_training_step_by_step",
    "test_nn_train.py::test_xor_learns_for_several_seeds",
    "test_readme.py::test_every_python_example_runs",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    collected = {item.path.name for item in items}
    named = set()
    for item in items:
        key = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        if item.path.name in SLOW_MODULES or key in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
            named.add(key)
    # A renamed or removed test leaves its entry behind, and the test it meant in the fast tier.
    stale = sorted(key for key in SLOW_TESTS - named if key.split("::")[0] in collected)
    chosen = (config.getoption("keyword") or config.getoption("deselect")
              or any("::" in argument for argument in config.args))
    if stale and not chosen:
        warnings.warn(f"tests/conftest.py: SLOW_TESTS names no collected test: {stale}",
                      pytest.PytestConfigWarning, stacklevel=1)


@pytest.hookimpl(tryfirst=True)  # before the test modules' own skipif markers are evaluated
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is None or CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"CI runs every browser test, but Chromium is missing at {CHROMIUM}: "
            f"run `make system-deps` (as root or with sudo) before the tests",
            pytrace=False,
        )
    pytest.skip(
        f"browser test: Chromium is not installed at {CHROMIUM} and `make system-deps` could "
        f"not install it without root or sudo (`sudo apt-get install chromium` enables these)"
    )


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's headless Chromium driven by playwright (never a browser of its own download),
    one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'chainrule[browser]'")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()
