"""report.json follows its published JSON Schema (schemas/report.schema.json) in every kind of run: every count is
present, zero ones too."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO
from test_generic import capture as generic_capture
from typer.testing import CliRunner

from converters.cli import app
from converters.validation import schema_dir
from converters.writers import TOTALS

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
runner = CliRunner()


def run(*args) -> dict:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    out = args[args.index("-o") + 1]
    report = json.loads((out / "report.json").read_bytes())
    assert json.loads(result.stdout) == report if "--json" in args else True
    return report


@pytest.fixture(scope="module")
def validator():
    return jsonschema_rs.validator_for(json.loads((schema_dir() / "report.schema.json").read_bytes()))


def runs(tmp_path):
    """Reports of a plain run, a CSV run of a folder with a broken and a non-capture file, a partitioned run with a
    participant, a generic export, and a merge of shards."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "broken.har").write_text('{"log": {"entries": [')
    (folder / "notes.txt").write_text("not a capture")
    write_har(folder / "extra.har", [entry(BAND_EVENTS_URL, band_event("42"))])
    yield "plain", run("convert", *SAMPLES, "-o", tmp_path / "plain", "-j", "1")
    yield "csv", run("convert", folder, "-o", tmp_path / "csv", "--format", "csv", "-j", "1", "--json")
    yield "partitioned", run("convert", *SAMPLES, "-o", tmp_path / "part", "--participant", "P1",
                             "--partition-by", "participant_id,night,day", "-j", "1")
    yield "generic", run("convert", generic_capture(tmp_path), "-o", tmp_path / "generic",
                         "--generic", "api.fitbit.com")
    shards = [run("convert", *SAMPLES, folder, "-o", tmp_path / f"s{i}", "--shard", f"{i}/2") and tmp_path / f"s{i}"
              for i in (1, 2)]
    yield "merged", run("merge", *shards, "-o", tmp_path / "merged")


def test_every_report_follows_the_published_schema(tmp_path, validator):
    seen = {}
    for kind, report in runs(tmp_path):
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(report)]
        assert not errors, (kind, errors[:5])
        assert list(report["totals"]) == list(TOTALS), kind  # every count, zero ones too
        for f in report["files"]:
            assert f["duplicates"].keys() == f["conflicts"].keys() >= f["rows"].keys(), (kind, f["file"])
        seen[kind] = report
    assert seen["plain"]["totals"]["files_failed"] == 0 and seen["plain"]["valid"] is True
    csv = seen["csv"]["totals"]
    assert (csv["files_failed"] + csv["files_partial"], csv["files_skipped"], seen["csv"]["valid"]) == (1, 1, False)
    assert seen["generic"]["totals"]["generic_responses"] == 3


def test_the_schema_rejects_a_report_missing_a_count(tmp_path, validator):
    report = run("convert", SAMPLES[0], "-o", tmp_path / "out", "-j", "1")
    del report["totals"]["files_failed"]
    assert not validator.is_valid(report)


def test_the_schema_is_shipped_in_the_package():
    project = (REPO / "pyproject.toml").read_text()
    assert '"schemas" = "converters/schemas"' in project  # the wheel's converters/schemas/report.schema.json
    assert (REPO / "schemas" / "report.schema.json").is_file()
