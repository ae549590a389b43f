"""Responses saved by hand as .json files convert too: by their shape, or as the endpoint named."""

from __future__ import annotations

import json

import pytest
from builders import band_event
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input, convert

runner = CliRunner()

RECOGNISED = {  # reference file -> the endpoint its shape says
    "band-private/run.json": "band/events",
    "band-private/workout.json": "band/events",
    "band-private/guidedworkout.json": "band/events",
    "sense/timeline_v1_2014.json": "sense/timeline-v1",
    "sense/timeline_v1_with_statistics.json": "sense/timeline-v1",
    "sense/current_conditions.json": "sense/room-current",
    "sense/room_sensor_history.json": "sense/room-all-sensors",
    "sense/get_sensors_v2.json": "sense/sensors-current",
    "sense/post_sensors_v2_LAST_3H_5_MINUTE.json": "sense/sensors-history",
    "sense/all_trends.json": "sense/trends-v1",
    "sense/single_trend.json": "sense/trends-v1",
    "sense/insights.json": "sense/insights",
}


def test_every_reference_payload_is_read_as_a_saved_response_or_named_as_unrecognised(reference):
    for folder in ("band-private", "band-public", "sense"):
        for path in sorted((reference / folder).glob("*.json")):
            name = f"{folder}/{path.name}"
            (f,) = convert([Input(path, name, True)]).files
            assert f.format == "json"
            if name in RECOGNISED:
                assert (f.status, f.read_as) == ("ok", RECOGNISED[name]), name
                assert f.device_responses == {RECOGNISED[name]: 1} and f.rows.total() > 0
            elif f.read_as is None:
                assert f.status == "failed" and "name one with --endpoint" in f.error, name
            assert f.accounted() == f.exchanges


def test_saved_rows_have_provenance_but_no_capture_time(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(band_event()))
    result = convert([Input(path, "run.json", True)])
    events = result.tables["band_events"]
    assert events.select("source_file", "source_entry", "captured_at").rows() == [("run.json", 0, None)]


def test_endpoint_option_reads_a_saved_response_as_that_endpoint(tmp_path):
    path = tmp_path / "samples.json"  # a list of samples: the sensor is not in the payload
    path.write_text(json.dumps([{"datetime": 1422500000000, "value": 20.5, "offset_millis": 0}]))
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out"), "--endpoint", "sense/room-sensor-history"])
    assert result.exit_code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["files"][0]["read_as"] == "sense/room-sensor-history"
    assert report["files"][0]["rejects"] == 1  # and the reject says why: the sensor is only in the URL


def test_an_unknown_endpoint_name_is_a_usage_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out"), "--endpoint", "nope"])
    assert result.exit_code == 2 and "`databack endpoints` lists them" in result.output


def test_endpoints_lists_every_decoded_endpoint():
    result = runner.invoke(app, ["endpoints"])
    assert result.exit_code == 0
    for name in ("band/events", "sense/timeline-v2", "sense/sensors-history"):
        assert name in result.output


@pytest.mark.parametrize("text", ["[1, 2", "[]", "{\"something\": \"else\"}"])
def test_json_that_no_endpoint_fits_fails_clearly_when_named_and_is_skipped_in_a_folder(tmp_path, text):
    path = tmp_path / "x.json"
    path.write_text(text)
    (f,) = convert([Input(path, "x.json", True)]).files
    assert f.status == "failed" and f.accounted() == f.exchanges
    (g,) = convert([Input(path, "x.json", False)]).files
    assert g.status == "skipped"


def test_a_saved_2014_insight_list_is_recognised(tmp_path):
    path = tmp_path / "insights.json"
    path.write_text(json.dumps([{"id": 1, "title": "Hi", "message": "Welcome.", "created_utc": 1411500000000}]))
    (f,) = convert([Input(path, "insights.json", True)]).files
    assert (f.status, f.read_as, f.rows["sense_insights"]) == ("ok", "sense/insights", 1)
