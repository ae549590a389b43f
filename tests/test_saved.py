"""Responses saved by hand as .json files convert too: by their shape, or as the endpoint named."""

from __future__ import annotations

import base64
import json

import pytest
from builders import BAND_EVENTS_URL, band_event, entry
from test_fields import REFERENCE_PAYLOADS
from typer.testing import CliRunner

from converters import devices, saved
from converters.cli import app
from converters.pipeline import Input, convert

runner = CliRunner()

# reference file -> the endpoint its shape says: every real payload but the error answer
RECOGNISED = {name: endpoint for name, endpoint in REFERENCE_PAYLOADS.items() if "wrong_request" not in name}
NOT_DATA = {  # reference file -> why it converts to nothing
    "band-public/wrong_request.json": "an error answer of the API (BadArgument), saved on its own: no data",
    "band-public/swagger_cloudapi_v1.json": "JSON, but neither a HAR file nor a response databack recognises "
                                            "(name one with --endpoint)",
}


def test_every_reference_payload_is_recognised_by_its_shape_or_said_to_be_no_data(reference):
    for folder in ("band-private", "band-public", "sense"):
        for path in sorted((reference / folder).glob("*.json")):
            name = f"{folder}/{path.name}"
            (f,) = convert([Input(path, name, True)]).files
            assert f.format == "json"
            if name in RECOGNISED:
                assert (f.status, f.read_as) == ("ok", RECOGNISED[name]), name
                assert f.device_responses == {RECOGNISED[name]: 1} and f.rows.total() > 0
            else:
                assert (f.status, f.error) == ("failed", NOT_DATA[name]), name
            assert f.accounted() == f.exchanges


def test_a_shape_fits_one_endpoint_only(reference):
    """No reference payload (nor the samples' responses) fits two shapes: recognition is never a guess."""
    for name, endpoint in RECOGNISED.items():
        payload = json.loads((reference / name).read_text())
        assert [e for e, fits in saved.SHAPES.items() if fits(payload)] == [endpoint], name


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


ONE_EVENT = band_event()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_saved_json_with_a_bom_or_in_utf16_or_utf32_reads(tmp_path, encoding):
    path = tmp_path / "run.json"
    path.write_bytes(json.dumps(ONE_EVENT).encode(encoding))
    (f,) = convert([Input(path, "run.json", True)]).files
    assert (f.status, f.read_as, f.rows["band_events"]) == ("ok", "band/events", 1)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_saved_list_with_a_bom_or_in_utf16_is_json_too(tmp_path, encoding):
    path = tmp_path / "insights.json"
    path.write_bytes(json.dumps([{"title": "t", "message": "m", "category": "GENERIC", "timestamp": 1}]).encode(encoding))
    (f,) = convert([Input(path, "insights.json", False)]).files  # found in a folder: read by content
    assert (f.format, f.status, f.read_as) == ("json", "ok", "sense/insights")


@pytest.mark.parametrize("text", [json.dumps(ONE_EVENT)[:150], json.dumps([{"datetime": 1, "value": 2}] * 3)[:30]])
def test_a_cut_off_saved_json_is_reported_as_cut_off_json(tmp_path, text):
    path = tmp_path / "cut.json"
    path.write_text(text)
    (f,) = convert([Input(path, "cut.json", True)]).files
    assert (f.format, f.status) == ("json", "failed")
    assert f.error == f"cut-off JSON: the text ends before its value does ({len(text):,} bytes)"


def test_a_cut_off_har_is_still_a_cut_off_har(tmp_path):
    path = tmp_path / "cut.har"
    path.write_text('{"log": {"version": "1.2", "creator": {"name": "x"}, "entries": [{"startedDate')
    (f,) = convert([Input(path, "cut.har", True)]).files
    assert (f.format, f.status, f.error) == ("har", "failed", "cut off before the first entry")


@pytest.mark.parametrize("suffix", [");", ");\n", ")", " ) ; \n\n"])
def test_har_viewers_jsonp_form_reads(tmp_path, suffix):
    har = {"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [
        entry(BAND_EVENTS_URL, ONE_EVENT)]}}
    path = tmp_path / "capture.harp"
    path.write_text("onInputData(" + json.dumps(har) + suffix)
    (f,) = convert([Input(path, "capture.harp", True)]).files
    assert (f.format, f.status, dict(f.device_responses)) == ("har", "ok", {"band/events": 1})


def test_endpoint_per_file_converts_a_mixed_folder_in_one_run(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    sample = [{"datetime": 1422500000000, "value": 20.5, "offset_millis": 0}]
    (folder / "temperature-day.json").write_text(json.dumps(sample))
    (folder / "humidity-day.json").write_text(json.dumps(sample))
    (folder / "run.json").write_text(json.dumps(ONE_EVENT))  # recognised by its shape
    (folder / "answers.json").write_text(json.dumps([{"id": 3, "text": "Yes", "question_id": 1}]))
    result = runner.invoke(app, [
        "convert", str(folder), "-o", str(tmp_path / "out"),
        "--endpoint", "*temperature*=sense/room-sensor-history", "--endpoint", "*humidity*=sense/room-sensor-history",
        "--endpoint", "sense/question-answers",  # every other saved response that is not recognised... named here
    ])
    report = {f["file"]: f for f in json.loads((tmp_path / "out" / "report.json").read_text())["files"]}
    read_as = {name.rpartition("/")[2]: f["read_as"] for name, f in report.items()}
    assert read_as == {"temperature-day.json": "sense/room-sensor-history", "humidity-day.json":
                       "sense/room-sensor-history", "run.json": "sense/question-answers",
                       "answers.json": "sense/question-answers"}
    assert result.exit_code == 1  # the run event read as answers does not fit: rejected, its file partial


def test_endpoint_rules_patterned_first_and_unknown_names_refused(tmp_path):
    rules = saved.endpoint_rules(["band/events", "*/p07/*=sense/insights"])
    assert saved.endpoint_for(rules, "study/p07/x.json") == "sense/insights"
    assert saved.endpoint_for(rules, "study/p08/x.json") == "band/events"
    assert saved.endpoint_for(saved.endpoint_rules(["*.json=band/events"]), "a.har") is None
    with pytest.raises(ValueError, match="no endpoint 'nope'"):
        saved.endpoint_rules(["x=nope"])
    path = tmp_path / "x.json"
    path.write_text("{}")
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out"), "--endpoint", "*.json=nope"])
    assert result.exit_code == 2 and "`databack endpoints` lists them" in result.output


def test_saved_private_summaries_are_told_apart_by_odata_metadata_fields_or_spacing():
    day = {"TimeOfDay": "2015-01-11T08:00:00Z", "StepsTaken": 1, "NumberOfActiveHours": 3}
    hour = {"TimeOfDay": "2015-01-11T08:00:00Z", "StepsTaken": 1}
    next_hour = {**hour, "TimeOfDay": "2015-01-11T09:00:00Z"}
    meta = "https://prodphswus.dns-cargo.com/v2/$metadata#"
    assert saved.recognise({"value": [day]}).name == "band/daily-summaries"
    assert saved.recognise({"value": [hour, next_hour]}).name == "band/hourly-summaries"
    assert saved.recognise({"odata.metadata": meta + "UserHourlySummary", "value": [hour]}).name == "band/hourly-summaries"
    assert saved.recognise({"odata.metadata": meta + "UserDailySummary", "value": [hour]}).name == "band/daily-summaries"
    assert saved.recognise({"value": [hour]}) is None  # one hour, no daily field, no metadata: ambiguous
    assert saved.recognise({"value": []}) is None


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_device_response_body_with_a_bom_or_in_utf16_decodes(tmp_path, encoding):
    body = json.dumps(ONE_EVENT).encode(encoding)
    har = {"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [entry(BAND_EVENTS_URL)]}}
    content = har["log"]["entries"][0]["response"]["content"]
    content.update(text=base64.b64encode(body).decode(), encoding="base64", size=len(body))
    path = tmp_path / "bom-body.har"
    path.write_text(json.dumps(har))
    (f,) = convert([Input(path, "bom-body.har", True)]).files
    assert (f.status, dict(f.device_responses), f.rejects) == ("ok", {"band/events": 1}, 0)


def test_every_data_endpoint_is_recognised_by_shape_or_said_why_not():
    names = {e.name for e in devices.endpoints() if e.kind == "data"}
    assert set(saved.SHAPES) | set(saved.AMBIGUOUS) == names and not set(saved.SHAPES) & set(saved.AMBIGUOUS)
