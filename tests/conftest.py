"""Shared fixtures: where the real reference files are (../shared/reference beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"

# Property tests' profiles, loaded before any test module makes its settings. `ci` (the default, `make test`):
# 30 examples per property, derandomized, so that a run fails or passes the same on every machine (a failure
# found by fuzzing becomes an explicit @example); `fuzz` (`make fuzz`): thousands of new examples each run
# (FUZZ_EXAMPLES to change how many; --hypothesis-seed to repeat a run).
_PROPERTIES = {"deadline": None, "print_blob": True,
               "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]}
settings.register_profile("ci", max_examples=30, derandomize=True, **_PROPERTIES)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", 2500)), **_PROPERTIES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def reference() -> Path:
    """The real reference files; tests using them skip when ../shared is absent."""
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    return REFERENCE


def frames_of(rows: dict) -> dict:
    """A file's rows as `convert_file` gives them (a table's parts, sorted by its key; a generic table's frame) as
    one frame per table."""
    import polars as pl

    return {name: pl.concat([p.read() for p in parts]) if isinstance(parts, list) else parts
            for name, parts in rows.items()}
