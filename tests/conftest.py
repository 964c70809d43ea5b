"""Shared pytest configuration: hypothesis profiles.

``ci`` (selected when the CI environment variable is set) has no deadline and derandomizes
example generation, so a CI run is reproducible; ``dev`` (the default) also has no deadline
(timings on a shared 2-core machine are noise) but explores new examples on every run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
