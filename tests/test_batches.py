"""Study-team batches: whose data each row is, globs and stdin as inputs, pseudonymised participant ids."""

from __future__ import annotations

import json

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input
from converters.participants import assign, matches, pseudonym

runner = CliRunner()


def study(tmp_path):
    """Two participants' folders, each with one capture of a different event."""
    for pid, event_id in (("p01", "100"), ("p02", "200")):
        (tmp_path / "study" / pid).mkdir(parents=True)
        write_har(tmp_path / "study" / pid / "sync.har", [entry(BAND_EVENTS_URL, band_event(event_id))])
    return tmp_path / "study"


def test_patterns_match_the_path_as_given_or_the_file_name():
    assert matches("study/p01/*", "study/p01/sync.har")
    assert matches("*/p01/*", "study/p01/deep/sync.har")  # `*` may cross folders
    assert matches("p07-*.har", "/data/in/p07-night1.har")
    assert not matches("study/p01/*", "study/p02/sync.har")


def test_participants_map_labels_every_row_with_its_files_participant(tmp_path):
    folder = study(tmp_path)
    (tmp_path / "map.csv").write_text("pattern,participant_id\n*/p01/*,P-ONE\n*/p02/*,P-TWO\n")
    result = runner.invoke(app, ["convert", str(folder), "-o", str(tmp_path / "out"), "--participants",
                                 str(tmp_path / "map.csv"), "-j", "1"])
    assert result.exit_code == 0, result.output
    events = pl.read_parquet(tmp_path / "out" / "band_events.parquet")
    assert sorted(events.select("participant_id", "event_id").rows()) == [("P-ONE", "100"), ("P-TWO", "200")]
    assert events["source_file"].to_list() == ["study/p01/sync.har", "study/p02/sync.har"]


def test_a_file_no_pattern_matches_is_an_error_in_the_report_not_unlabelled_rows(tmp_path):
    folder = study(tmp_path)
    (tmp_path / "map.csv").write_text("pattern,participant_id\n*/p01/*,P-ONE\n")
    result = runner.invoke(app, ["convert", str(folder), "-o", str(tmp_path / "out"), "--participants",
                                 str(tmp_path / "map.csv"), "-j", "1"])
    assert result.exit_code == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert [f["file"] for f in failed] == ["study/p02/sync.har"]
    assert failed[0]["error"] == "no pattern of the participants map matches this file"
    events = pl.read_parquet(tmp_path / "out" / "band_events.parquet")
    assert events["participant_id"].to_list() == ["P-ONE"]


def test_pseudonyms_are_stable_keyed_and_never_show_the_id_or_key(tmp_path):
    key = b"k" * 32
    assert pseudonym("P07", key) == pseudonym("P07", key)
    assert pseudonym("P07", key) != pseudonym("P07", b"x" * 32) != pseudonym("P08", key)
    (tmp_path / "key").write_bytes(key)
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = runner.invoke(app, ["convert", str(har), "-o", str(tmp_path / "out"), "--participant", "P07",
                                 "--pseudonymize", "--key-file", str(tmp_path / "key"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    events = pl.read_csv(tmp_path / "out" / "band_events.csv")
    assert events["participant_id"].to_list() == [pseudonym("P07", key)]
    for f in (tmp_path / "out").iterdir():
        text = f.read_bytes().decode("utf-8", "replace")  # copies.parquet too
        assert "P07" not in text and key.decode() not in text


def test_pseudonymize_without_a_key_is_a_usage_error(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = runner.invoke(app, ["convert", str(har), "-o", str(tmp_path / "out"), "--pseudonymize"])
    assert result.exit_code == 2 and "--pseudonymize and --key-file go together" in result.output


def test_assign_gives_one_id_to_every_input_without_a_map():
    inputs = assign([Input(None, "a.har", True), Input(None, "b.har", True)], "P1")
    assert [(i.participant_id, i.error) for i in inputs] == [("P1", None), ("P1", None)]


def test_a_glob_the_shell_did_not_expand_is_expanded(tmp_path):
    folder = study(tmp_path)
    result = runner.invoke(app, ["convert", str(folder / "*" / "*.har"), "-o", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "out" / "band_events.parquet").height == 2


def test_a_capture_can_come_from_stdin(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = runner.invoke(app, ["convert", "-", "-o", str(tmp_path / "out")], input=har.read_bytes())
    assert result.exit_code == 0, result.output
    events = pl.read_parquet(tmp_path / "out" / "band_events.parquet")
    assert events["source_file"].to_list() == ["<stdin>"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "band_events.parquet", "band_minutes.parquet", "copies.parquet", "datapackage.json", "report.json"]  # no spooled copy left


@pytest.mark.parametrize("content, problem", [
    (b"pattern,participant_id\n*/Alice-Smith/*\n", "empty pattern or participant_id on line 2"),
    (b"pattern,participant_id\n*/a/*,\"" + b"P" * 200_000 + b"\"\n", "not a CSV of UTF-8 text (Error)"),
    (b"pattern,participant_id\n*/a/*,P\xe9\n", "not a CSV of UTF-8 text (UnicodeDecodeError)"),
])
def test_a_damaged_participants_map_is_one_usage_error_naming_it(tmp_path, content, problem):
    har = write_har(tmp_path / "s.har", [entry(BAND_EVENTS_URL, band_event())])
    (tmp_path / "map.csv").write_bytes(content)
    result = runner.invoke(app, ["convert", str(har), "-o", str(tmp_path / "out"), "--participants",
                                 str(tmp_path / "map.csv")])
    assert result.exit_code == 2 and result.stderr == f"databack: {tmp_path / 'map.csv'}: {problem}\n"
