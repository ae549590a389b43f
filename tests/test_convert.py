"""The pipeline accounts for every exchange, keeps rejects whole, and the CLI reports and exits as documented."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input, collect_inputs, convert

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_file(path: Path):
    return convert([Input(path, str(path), explicit=True)]).files[0]


def test_every_exchange_lands_in_exactly_one_category(tmp_path):
    har = write_har(
        tmp_path / "c.har",
        [
            entry(BAND_EVENTS_URL, band_event()),
            entry(BAND_EVENTS_URL, {"value": [{"EventId": 1}]}),  # wrong shape -> reject
            entry(BAND_EVENTS_URL, "<html>Service Unavailable</html>", status=503),
            entry("https://api.hello.is/v1/oauth2/token", {"access_token": "x"}, method="POST"),
            entry("https://api.hello.is/v1/account", {"id": 1}),
            entry("https://www.google.com/", "<html></html>"),
            entry("https://www.google.com/x", "<html></html>"),
        ],
    )
    f = one_file(har)
    assert f.format == "har" and f.exchanges == 7
    assert f.status == "partial"  # the response of a shape databack does not know: its data is in no table
    assert dict(f.device_responses) == {"band/events": 1}
    assert f.rejects == 1 and dict(f.http_errors) == {"503": 1} and f.auth == 1
    assert dict(f.undecoded_device_paths) == {"GET api.hello.is /v1/account": 1}
    assert f.not_device == 2 and dict(f.unrecognised_hosts) == {"www.google.com": 2}
    assert f.accounted() == f.exchanges
    assert dict(f.rows) == {"band_events": 1, "band_minutes": 1}


def test_a_reject_keeps_the_raw_body_and_the_schema_message(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL + "&access_token=TOKEN", {"value": [{"EventId": 1}]})])
    result = convert([Input(har, "c.har", True)])
    (reject,) = result.tables["rejects"].to_dicts()
    assert reject["endpoint"] == "band/events" and reject["path"] == "/v1/Events(eventType=%27Running%27)"
    assert "does not match schema band-events.json: at /value/0" in reject["reason"]
    assert json.loads(reject["body"]) == {"value": [{"EventId": 1}]} and reject["body_encoding"] == "utf-8"
    assert "TOKEN" not in str(reject)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("<html>oops</html>", "not JSON"),
        ('{"value": [', "not JSON"),
        (None, "the capture holds no response body"),
    ],
)
def test_undecodable_device_bodies_are_rejected_with_a_reason(tmp_path, body, reason):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, body)])
    (reject,) = convert([Input(har, "c.har", True)]).tables["rejects"].to_dicts()
    assert reject["reason"].startswith(reason)


def test_cli_writes_tables_and_report_and_exits_0(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = run("convert", str(har), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "band_events.parquet", "band_minutes.parquet", "copies.parquet", "datapackage.json", "report.json"]
    events = pl.read_parquet(out / "band_events.parquet")
    assert events["event_id"].to_list() == ["2519812557630091728"]
    assert events.schema["start_time"] == pl.Datetime("us", "UTC")
    report = json.loads((out / "report.json").read_text())
    assert report["valid"] is True and report["tables"]["band_events"]["rows"] == 1
    assert report["files"][0]["file"] == str(har) and report["files"][0]["sha256"]


def test_cli_csv_output_and_participant_column(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = run("convert", str(har), "-o", str(tmp_path / "out"), "--format", "csv", "--participant", "P07")
    assert result.exit_code == 0, result.output
    events = pl.read_csv(tmp_path / "out" / "band_events.csv")
    assert events["participant_id"].to_list() == ["P07"]
    assert events["start_time"].to_list() == ["2015-01-12T06:43:56.990827Z"]  # ISO 8601, read as a time anywhere


def test_cli_missing_path_is_a_usage_error(tmp_path):
    result = run("convert", str(tmp_path / "nope.har"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_cli_bad_file_exits_1_and_the_other_files_still_convert(tmp_path):
    good = write_har(tmp_path / "good.har", [entry(BAND_EVENTS_URL, band_event())])
    bad = tmp_path / "bad.har"
    bad.write_text('{"log": {"entries": [' + json.dumps(entry(BAND_EVENTS_URL, band_event("1"))) + ", {")
    result = run("convert", str(good), str(bad), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    statuses = {f["file"]: f["status"] for f in report["files"]}
    assert statuses == {str(good): "ok", str(bad): "partial"}
    assert report["valid"] is False
    events = pl.read_parquet(tmp_path / "out" / "band_events.parquet")
    assert sorted(events["event_id"]) == ["1", "2519812557630091728"]  # the complete entry before the cut counts
    assert f"{bad}: partial:" in result.output


def test_folder_walk_skips_files_that_are_not_captures_without_failing(tmp_path):
    (tmp_path / "a").mkdir()
    write_har(tmp_path / "a" / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    (tmp_path / "a" / "notes.txt").write_text("hello")
    (tmp_path / "a" / ".hidden.har").write_text("{}")
    result = run("convert", str(tmp_path / "a"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {f["file"].rsplit("/", 1)[1]: f["status"] for f in report["files"]} == {"c.har": "ok", "notes.txt": "skipped"}


def test_a_file_named_explicitly_that_is_not_a_capture_fails(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = run("convert", str(notes), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"{notes}: failed: not a HAR file or a mitmproxy flow dump" in result.output


def test_a_file_named_twice_by_two_paths_or_also_found_in_a_folder_is_read_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "study"
    folder.mkdir()
    har = write_har(folder / "a.har", [entry(BAND_EVENTS_URL, band_event())])
    (folder / "b.har").hardlink_to(har)
    inputs = collect_inputs([Path("study"), Path("study/a.har"), Path("./study/a.har"), har, Path("study/b.har")])
    assert [(i.name, i.explicit) for i in inputs] == [("study/a.har", True)]
    result = run("convert", "study/a.har", "study/a.har", "study", "-o", "out")
    assert result.exit_code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [f["file"] for f in report["files"]] == ["study/a.har"]
    assert report["tables"]["band_events"] == {"rows": 1, "duplicates": 0, "conflicts": 0, "file": "band_events.parquet"}
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as z:  # an archive named twice: its members once
        z.write(har, "p1/a.har")
        z.write(har, "p2/a.har")  # (two members of one content: two files, whose records are copies)
    assert [i.name for i in collect_inputs([Path("s.zip"), Path("./s.zip")])] == ["s.zip/p1/a.har", "s.zip/p2/a.har"]
    result = run("convert", "s.zip", "s.zip", "-o", "zipped")
    assert [f["file"] for f in json.loads((tmp_path / "zipped" / "report.json").read_text())["files"]] == [
        "s.zip/p1/a.har", "s.zip/p2/a.har"]


def test_the_output_folder_is_not_read_as_input(tmp_path):
    write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    inputs = collect_inputs([tmp_path], exclude=tmp_path / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text("{}")
    assert [i.path.name for i in collect_inputs([tmp_path], exclude=tmp_path / "out")] == ["c.har"] == [
        i.path.name for i in inputs
    ]


def test_rerun_removes_tables_of_the_earlier_run_and_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "out"
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    assert run("convert", str(har), "-o", str(out)).exit_code == 0
    write_har(har, [entry("https://api.hello.is/v1/room/current", {"light": {"value": 1.0, "unit": "lux"}})])
    assert run("convert", str(har), "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "copies.parquet", "datapackage.json", "report.json", "sense_room_readings.parquet"]


def test_json_flag_prints_the_report_to_stdout(tmp_path):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    result = runner.invoke(app, ["convert", str(har), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["totals"]["device_responses"] == 1


def reference_captures():
    from conftest import REFERENCE

    folder = REFERENCE / "captures"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


@pytest.mark.parametrize("capture", reference_captures(), ids=lambda p: p.name)
def test_every_real_capture_converts_with_every_exchange_accounted_for(capture):
    f = one_file(capture)
    assert f.accounted() == f.exchanges
    assert f.status in ("ok", "partial", "failed")
    assert f.status == "ok", f.error


def test_parallel_jobs_give_the_same_tables_and_report_as_one_job(tmp_path):
    har = REPO / "samples" / "phone-sync.har"
    flow = REPO / "samples" / "phone-sync.flow"
    other = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event(calories=999))])
    inputs = [Input(p, p.name, True) for p in (har, flow, other)]
    one, two = convert(inputs, jobs=1), convert(inputs, jobs=2)
    assert [f.as_dict() for f in one.files] == [f.as_dict() for f in two.files]
    assert one.tables.keys() == two.tables.keys()
    for name in one.tables:
        assert one.tables[name].equals(two.tables[name]), name


def test_a_full_disk_is_one_line_and_exit_1_with_the_previous_output_intact(tmp_path, monkeypatch):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    out = tmp_path / "out"
    assert run("convert", str(har), "-o", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", disk_full)
    result = run("convert", str(har), "-o", str(out), "--force")
    assert result.exit_code == 1
    assert result.output.strip().endswith(f"databack: cannot write into {out}: No space left on device")
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_internal_error_fails_only_that_file_with_a_hint(tmp_path, monkeypatch):
    from converters import pipeline as conversion

    good = write_har(tmp_path / "good.har", [entry(BAND_EVENTS_URL, band_event())])
    bad = write_har(tmp_path / "bad.har", [entry(BAND_EVENTS_URL, band_event())])
    original = conversion._convert_file

    def buggy(inp, *args):
        if inp.name.endswith("bad.har"):
            raise RuntimeError("bug")
        return original(inp, *args)

    monkeypatch.setattr(conversion, "_convert_file", buggy)
    result = conversion.convert([Input(good, "good.har", True), Input(bad, "bad.har", True)])
    assert [(f.file, f.status) for f in result.files] == [("good.har", "ok"), ("bad.har", "failed")]
    assert result.files[1].error == "internal error (RuntimeError); run again with --debug to see where"
    with pytest.raises(RuntimeError):
        conversion.convert([Input(bad, "bad.har", True)], debug=True)


def test_the_console_script_flushes_its_output_and_keeps_exit_codes_though_it_skips_teardown(tmp_path):
    import subprocess
    import sys

    def databack(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "converters", *args], capture_output=True, text=True, cwd=REPO)

    done = databack("convert", "samples/phone-sync.har", "-o", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["files_ok"] == 1  # the whole report, though stdout is a pipe
    assert done.stderr.splitlines()[0].startswith("databack: 1 file, 16 exchanges: ")
    assert not list((tmp_path / "out").glob(".databack-*"))  # the work folder is removed before leaving
    missing = databack("convert", "no-such.har", "-o", str(tmp_path / "out"))
    assert (missing.returncode, missing.stderr) == (2, "databack: no such file or folder: no-such.har\n")
    bad = tmp_path / "bad.har"
    bad.write_text("{")
    failed = databack("convert", str(bad), "-o", str(tmp_path / "out"))
    assert failed.returncode == 1 and f"{bad}: failed" in failed.stderr


def test_the_same_current_readings_in_a_flow_and_in_its_har_export_are_one_record_each(tmp_path):
    """GET /v2/sensors sends readings without a time: a reading's time is the capture's. A flow's captured_at is its
    response's end and a HAR's the request's start (it records no response time), so the same exchange saved both
    ways (a mitmproxy dump and mitmproxy's own HAR export of it) gave each reading twice, 0.39 s apart, and no
    duplicate counted. A reading's time is now when the request was sent, which both record."""
    from mitmproxy import http
    from mitmproxy import io as mio
    from mitmproxy.addons.savehar import SaveHar
    from mitmproxy.test import tflow

    body = {"sensors": [{"type": "TEMPERATURE", "name": "Temperature", "value": 21.5, "unit": "CELSIUS",
                         "condition": "IDEAL", "message": "", "scale": []},
                        {"type": "HUMIDITY", "name": "Humidity", "value": 40, "unit": "PERCENT",
                         "condition": "IDEAL", "message": "", "scale": []}]}
    flow = tflow.tflow(resp=True)
    flow.request.host, flow.request.path, flow.request.method = "api.hello.is", "/v2/sensors", "GET"
    flow.request.headers["Host"] = "api.hello.is"
    flow.request.timestamp_start, flow.request.timestamp_end = 1488641535.958123, 1488641535.96
    flow.response = http.Response.make(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
    flow.response.timestamp_start, flow.response.timestamp_end = 1488641536.30, 1488641536.35
    with open(tmp_path / "sync.flow", "wb") as f:
        mio.FlowWriter(f).add(flow)
    (tmp_path / "sync.har").write_text(json.dumps(SaveHar().make_har([flow])))
    from converters.writers import write

    report = write(convert(collect_inputs([tmp_path / "sync.flow", tmp_path / "sync.har"])), tmp_path / "out")
    readings = pl.read_parquet(tmp_path / "out" / "sense_room_readings.parquet")
    assert sorted(readings.select("sensor", "value", pl.col("time").dt.epoch("us")).rows()) == [
        ("humidity", 40.0, 1488641535958123), ("temperature", 21.5, 1488641535958123)]
    table = report["tables"]["sense_room_readings"]
    assert (table.get("duplicates"), table.get("conflicts", 0)) == (2, 0)
