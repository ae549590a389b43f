"""A device response decoded into rows may hold fields its endpoint's field map does not know (an app version newer
than the API notes): no table keeps them, so the report names them per file (`unknown_fields`), through the
redaction policy, and the summary says so; the rows convert as ever and the file stays `ok`."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from test_exchange_errors import BAD, band_run, converted, feeling_as_sent, three_runs  # noqa: F401 (a fixture)
from typer.testing import CliRunner

from converters import pipeline
from converters.cli import app
from converters.pipeline import Input, convert

SENSE_DEVICES_URL = "https://api.hello.is/v2/devices"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def event_with(n: int = 0, **extra) -> dict:
    payload = band_event(f"25198125576300917{n:02}")
    payload["value"][0].update(extra)
    return payload


def capture(tmp_path: Path, payloads: list[dict]) -> Path:
    return write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, p) for p in payloads])


@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: one file is read (and decoded) by a reading process beside
def test_a_field_no_field_map_knows_is_counted_by_endpoint_and_path_and_the_rows_convert(tmp_path, jobs):
    minutes = [{"TimeOfDay": f"2015-01-12T{7 + m // 60:02}:{m % 60:02}:00Z", "StepsTaken": m} for m in range(300)]
    minutes[-1]["SpO2"] = 97  # the last item of a long array is looked at
    har = capture(tmp_path, [event_with(1, Oxygen={"Min": 90}, Info=minutes), event_with(2, Oxygen=None), band_event()])
    result = CliRunner().invoke(app, ["convert", str(har), "-o", str(tmp_path / "out"), "--jobs", jobs])
    assert result.exit_code == 0, result.output
    (f,) = json.loads((tmp_path / "out" / "report.json").read_text())["files"]
    assert f["status"] == "ok" and f["device_responses"] == {"band/events": 3}
    assert f["unknown_fields"] == {"band/events value[]/Oxygen/Min": 1, "band/events value[]/Info[]/SpO2": 1,
                                   "band/events value[]/Oxygen": 1}
    assert f["rows"]["band_minutes"] == 302


def test_the_summary_names_the_fields_databack_does_not_know(tmp_path):
    har = capture(tmp_path, [event_with(1, Oxygen=97), event_with(2, Oxygen=96, Pulse=1, Tilt=2, Glow=3)])
    result = CliRunner().invoke(app, ["convert", str(har), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert result.stderr.splitlines()[1] == (
        "  fields databack does not know, in no table: band/events value[]/Oxygen (2 responses), "
        "band/events value[]/Glow (1 response), band/events value[]/Pulse (1 response) and 1 more (see report.json)")


def test_a_field_named_like_a_credential_is_named_redacted_in_the_report_and_the_summary(tmp_path):
    har = capture(tmp_path, [event_with(**{JWT: 1, "session=hunter2hunter2": {"x": 1}})])
    result = CliRunner().invoke(app, ["convert", str(har), "-o", str(tmp_path / "out")])
    report = (tmp_path / "out" / "report.json").read_text()
    for text in (report, result.stderr):
        assert "hunter2" not in text and JWT[:40] not in text and JWT[-20:] not in text
    assert json.loads(report)["files"][0]["unknown_fields"] == {
        "band/events value[]/{redacted}": 1, "band/events value[]/session=REDACTED/x": 1}


def test_a_file_names_fifty_fields_at_most_and_counts_any_more_together(tmp_path):
    har = capture(tmp_path, [event_with(i, **{f"new{i:03}_{j}": 1 for j in range(5)}) for i in range(12)])
    f = convert([Input(har, "c.har", explicit=True)]).files[0]
    assert len(f.unknown_fields) == pipeline.UNKNOWN_FIELDS_NAMED + 1
    assert f.unknown_fields["band/events (other fields)"] == 10 and f.unknown_fields.total() == 60


def test_a_saved_response_counts_its_unknown_fields_too(tmp_path):
    path = tmp_path / "devices.json"
    path.write_bytes(orjson.dumps({"senses": [{"id": "A1", "wifi_info": {"rssi": -50, "band": "5GHz"}}]}))
    f = convert([Input(path, "devices.json", explicit=True)]).files[0]
    assert f.read_as == "sense/devices" and f.status == "ok"
    assert f.unknown_fields == {"sense/devices senses[]/wifi_info/band": 1}


@pytest.mark.parametrize("separate_reader", [False, True])
def test_a_response_rejected_after_all_takes_back_its_unknown_fields(tmp_path, separate_reader, feeling_as_sent):
    """Its Feeling, a number passed on as sent, fits no text column: the exchange is rejected when its batch is
    built, its body kept
    in `rejects`, and so its new field is no longer counted as one of decoded rows."""
    report, frames = converted(three_runs(tmp_path, entry(BAND_EVENTS_URL, band_run(BAD, Feeling=5, Oxygen=1))),
                               separate_reader)
    assert report.rejects == 1 and report.unknown_fields == {}
    report, frames = converted(three_runs(tmp_path, entry(BAND_EVENTS_URL, band_run(BAD, Oxygen=1))), separate_reader)
    assert report.rejects == 0 and report.unknown_fields == {"band/events value[]/Oxygen": 1}


@pytest.mark.parametrize("where", ["here", "in the reading process"])
def test_unknown_fields_are_counted_wherever_the_response_was_decoded(tmp_path, monkeypatch, where):
    if where != "here":  # the reading process decodes every device response, as when its caller is behind
        from test_pipe import served_here

        from converters.captures import pipe
        monkeypatch.setattr(pipe, "BEHIND_BYTES", 0)
        monkeypatch.setattr(pipeline, "read_capture_beside", served_here)
    report, frames = converted(three_runs(tmp_path, entry(BAND_EVENTS_URL, band_run(BAD, Oxygen=1))),
                               separate_reader=where != "here")
    assert report.device_responses == {"band/events": 3}
    assert report.unknown_fields == {"band/events value[]/Oxygen": 1}
