"""Damaged and odd inputs: nothing crashes, what is readable is kept, and each problem is said in one line."""

from __future__ import annotations

import json

import polars as pl
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input, convert

runner = CliRunner()


def test_a_folder_of_thousands_of_non_capture_files_is_reported_and_skipped(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    for i in range(2000):
        (folder / f"note-{i:04}.txt").write_text("not a capture")
    write_har(folder / "sync.har", [entry(BAND_EVENTS_URL, band_event())])
    result = runner.invoke(app, ["convert", str(folder), "-o", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["totals"]["files_skipped"] == 2000 and report["totals"]["files_ok"] == 1


def test_an_unreadable_file_fails_alone_with_the_reason(tmp_path, monkeypatch):
    good = write_har(tmp_path / "good.har", [entry(BAND_EVENTS_URL, band_event())])
    locked = write_har(tmp_path / "locked.har", [entry(BAND_EVENTS_URL, band_event("2"))])
    real_open = open

    def no_permission(file, *args, **kwargs):
        if str(file).endswith("locked.har"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_permission)
    result = convert([Input(good, "good.har", True), Input(locked, "locked.har", True)])
    assert [(f.file, f.status, f.error) for f in result.files] == [
        ("good.har", "ok", None),
        ("locked.har", "failed", "cannot read the file: Permission denied"),
    ]
    assert result.tables["band_events"].height == 1


def test_a_har_1_1_from_firebug_converts(tmp_path):
    har = tmp_path / "firebug.har"
    log = {"log": {"version": "1.1", "creator": {"name": "Firebug", "version": "1.6"},
                   "entries": [entry(BAND_EVENTS_URL, band_event())]}}
    har.write_text(json.dumps(log))
    (f,) = convert([Input(har, "firebug.har", True)]).files
    assert f.status == "ok" and f.device_responses == {"band/events": 1}


def test_a_lying_mime_type_and_a_zero_size_do_not_hide_a_body(tmp_path):
    e = entry(BAND_EVENTS_URL, band_event())
    e["response"]["content"] |= {"mimeType": "text/html", "size": 0}
    (f,) = convert([Input(write_har(tmp_path / "c.har", [e]), "c.har", True)]).files
    assert f.device_responses == {"band/events": 1}


def test_a_50_mb_device_body_converts(tmp_path):
    minutes = [{"TimeOfDay": f"2015-01-12T{h:02}:{m:02}:00Z", "StepsTaken": 1, "TotalDistance": "100"}
               for h in range(24) for m in range(60)]
    event = band_event()
    event["value"][0]["Info"] = minutes
    event["value"][0]["Name"] = "x" * (50 * 1024 * 1024)  # a 50 MB body
    (f,) = convert([Input(write_har(tmp_path / "big.har", [entry(BAND_EVENTS_URL, event)]), "big.har", True)]).files
    assert f.status == "ok" and f.rows["band_minutes"] == 1440


def test_non_utf8_device_bytes_are_rejected_with_the_body_kept_as_base64(tmp_path):
    e = entry(BAND_EVENTS_URL, "x")
    e["response"]["content"] |= {"text": "/9j/4AAQ", "encoding": "base64"}  # bytes that are not UTF-8
    result = convert([Input(write_har(tmp_path / "c.har", [e]), "c.har", True)])
    (reject,) = result.tables["rejects"].to_dicts()
    assert reject["body_encoding"] == "base64" and reject["body"] == "/9j/4AAQ"
    assert reject["reason"].startswith("not JSON")


def test_the_summary_names_the_file_and_where_it_was_cut(tmp_path):
    entries = [entry(BAND_EVENTS_URL, band_event(str(i))) for i in range(3)]
    text = json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}})
    cut = tmp_path / "p07.har"
    cut.write_text(text[: text.rindex('"startedDateTime"')])
    result = runner.invoke(app, ["convert", str(cut), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{cut}: partial: cut off after entry 2 of an unknown total; 2 entries read" in result.output
    assert "Traceback" not in result.output
    assert pl.read_parquet(tmp_path / "out" / "band_events.parquet").height == 2


def test_a_time_that_leaves_years_1_to_9999_once_in_utc_rejects_its_response_and_the_run_exports(tmp_path):
    """Written with a year Python reads, these are before year 1 or after 9999 in UTC: a table holding one could be
    written, but not read back as datetimes (`export omh` crashed with a traceback)."""
    early, late = band_event("1"), band_event("2")
    early["value"][0]["StartTime"] = "0001-01-01T00:00:00+14:00"
    late["value"][0]["Info"][0]["TimeOfDay"] = "9999-12-31T23:59:59-14:00"
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, e) for e in (early, band_event("3"), late)])
    out = tmp_path / "out"
    assert runner.invoke(app, ["convert", str(har), "-o", str(out)]).exit_code == 0
    reasons = pl.read_parquet(out / "rejects.parquet").sort("source_entry")["reason"].to_list()
    assert [r.endswith("a time before year 1 or after year 9999 in UTC") for r in reasons] == [True, True]
    assert pl.read_parquet(out / "band_events.parquet")["event_id"].to_list() == ["3"]
    exported = runner.invoke(app, ["export", "omh", str(out), "-o", str(tmp_path / "omh")])
    assert exported.exit_code == 0, exported.output


def test_request_fields_that_are_not_utf8_in_a_flow_are_written_with_replacement_characters(tmp_path):
    """mitmproxy holds a path, method or Host header that is not UTF-8 with lone surrogates, which no table or
    report.json takes: a flow to a device host with such a path aborted the whole run at report.json."""
    from hostile_cases import band_body, dump, http_flow

    odd = http_flow(BAND_EVENTS_URL, band_body())
    odd.request.data.path = b"/v1/Events\xff\xe2\x82?q=\xc3"
    odd.request.data.method = b"G\xffT"
    flows = [http_flow(BAND_EVENTS_URL, band_body()), odd]
    (tmp_path / "c.flow").write_bytes(dump(flows))
    result = runner.invoke(app, ["convert", str(tmp_path / "c.flow"), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    (f,) = json.loads((tmp_path / "out" / "report.json").read_text())["files"]
    assert f["undecoded_device_paths"] == {"{redacted} prodphswus.dns-cargo.com /v1/Events\ufffd\ufffd\ufffd": 1}
    assert pl.read_parquet(tmp_path / "out" / "band_events.parquet").height == 1
