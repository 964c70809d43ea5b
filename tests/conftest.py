"""Shared pytest configuration: hypothesis profiles.

``ci`` (selected when the CI environment variable is set) has no deadline and derandomizes
example generation, so a CI run is reproducible; ``dev`` (the default) also has no deadline
(timings on a shared 2-core machine are noise) but explores new examples on every run.

Browser tests (marked ``browser``) need Debian's Chromium. Without it they are skipped with the
reason, so ``make test`` runs for a user who cannot install system packages; in CI (the ``CI``
environment variable set) a missing Chromium fails them instead, so CI always runs them.
"""

from __future__ import annotations

import os
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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


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
