"""Shared fixtures: where the real reference files are (../shared/reference beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


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
