"""Converting samples/ gives exactly the golden tables and report (`make golden` rewrites them after a wanted change)."""

from __future__ import annotations

import json
import os

import polars as pl
import pytest
from conftest import REPO

from converters.pipeline import collect_inputs, convert
from converters.writers import write

GOLDEN = REPO / "tests" / "golden"
SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    cwd = os.getcwd()
    os.chdir(REPO)  # source_file as a user in the repository would see it: samples/…
    try:
        report = write(convert(collect_inputs([p.relative_to(REPO) for p in SAMPLES])), out, "csv")
    finally:
        os.chdir(cwd)
    del report["generated_at"]
    return out, report


def test_samples_convert_to_the_golden_tables(converted):
    out, _ = converted
    produced = sorted(p.name for p in out.glob("*.csv"))
    if os.environ.get("UPDATE_GOLDEN"):
        for stale in GOLDEN.glob("*.csv"):
            stale.unlink()
        for name in produced:
            (GOLDEN / name).write_bytes((out / name).read_bytes())
    assert produced == sorted(p.name for p in GOLDEN.glob("*.csv"))
    for name in produced:
        assert (out / name).read_text() == (GOLDEN / name).read_text(), name


def test_samples_give_the_golden_report(converted):
    _, report = converted
    golden = GOLDEN / "report.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(report, indent=2) + "\n")
    assert report == json.loads(golden.read_text())


def test_samples_exercise_every_table_and_both_formats(converted):
    out, report = converted
    assert {f["format"] for f in report["files"]} == {"har", "flow"}
    assert all(f["status"] == "ok" for f in report["files"])
    assert all(t["rows"] for t in report["tables"].values()), "every table should have rows in the samples"
    assert report["tables"]["sense_nights"]["conflicts"] == 1
    assert report["tables"]["band_events"]["duplicates"] == 3  # the public list copy and the two private ones
    assert report["tables"]["band_events"]["conflicts"] == 0  # (the row kept holds every value they hold)
    night = pl.read_csv(out / "sense_nights.csv").filter(pl.col("night") == "2017-03-01")
    assert night["score"].to_list() == [76]  # the later capture (the flow) wins the conflict
