"""Errors are values per exchange: whatever goes wrong while reading, migrating, routing, checking, decoding or
building the rows of one exchange costs that exchange alone (a counted unreadable entry, or a reject with its reason),
the rest of the file converts, and every exchange is still counted exactly once."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, entry, write_har
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from old_dumps import dump, flow_state

from converters import devices, pipeline
from converters.devices import band
from converters.pipeline import Input, RowBuffer, convert_file

BAND_HOST = "prodphswus.dns-cargo.com"
EVENTS_PATH = "/v1/Events(eventType='Running')"
GOOD, BAD = ("2519812557630091701", "2519812557630091703"), "2519812557630091702"


@pytest.fixture
def feeling_as_sent(monkeypatch):
    """band_events.feeling read as sent, as it was before the schema typed Feeling: a number (Feeling=5) is then a
    value that column cannot hold, which no payload now reaches (the frame's own check, tested here)."""
    as_text = band.text_or_none
    monkeypatch.setattr(band, "text_or_none", lambda value: value if type(value) is int else as_text(value))


def band_run(event_id: str, seconds: int = 5, **fields) -> dict:
    """A Band run with one GPS point `seconds` after its start (and the event's other `fields`)."""
    return {
        "value": [{
            "EventId": event_id, "EventType": "Running", "StartTime": "2015-01-12T06:43:56Z",
            "DayId": "2015-01-11T00:00:00Z", "Duration": 1830, "CaloriesBurned": 242, **fields,
            "MapPoints": [{
                "MapPointOrdinal": 0, "SecondsSinceStart": seconds, "MapPointType": "Start",
                "Location": {"Latitude": 476205000, "Longitude": -1223493000, "AltitudeFromMSL": 5620, "EHPE": 300},
            }],
        }]
    }


def three_runs(tmp_path: Path, middle: dict | None = None, middle_url: str = BAND_EVENTS_URL) -> Path:
    """A HAR of a good run, a middle entry (a third run unless given), a good run and a page of another host."""
    entries = [
        entry(BAND_EVENTS_URL, band_run(GOOD[0])),
        middle if middle is not None else entry(middle_url, band_run(BAD)),
        entry(BAND_EVENTS_URL, band_run(GOOD[1])),
        entry("https://www.example.com/", "<html></html>"),
    ]
    return write_har(tmp_path / "runs.har", entries)


def converted(path: Path, separate_reader: bool = False) -> tuple[pipeline.FileReport, dict[str, pl.DataFrame]]:
    report, tables = convert_file(Input(path, path.name, True), separate_reader=separate_reader)
    frames = {name: pl.concat([p.source if isinstance(p.source, pl.DataFrame) else p.frame() for p in parts])
              if isinstance(parts, list) else parts for name, parts in tables.items()}
    return report, frames


def event_ids(frames: dict, table: str = "band_events") -> set[str]:
    return set(frames[table]["event_id"].cast(pl.String)) if table in frames else set()


def assert_the_others_converted(report, frames) -> None:
    assert report.exchanges == report.accounted(), report
    assert event_ids(frames) == set(GOOD)
    assert event_ids(frames, "band_map_points") == set(GOOD)  # nothing of the failing exchange in any table
    assert report.status == "partial", report.error


def assert_rejected(report, frames, reason_start: str) -> None:
    assert report.rejects == 1 and report.device_responses == {"band/events": 2}
    (reason,) = frames["rejects"]["reason"]
    assert reason.startswith(reason_start), reason
    assert reason_start in report.error


def test_an_entry_that_cannot_be_read_is_counted_with_its_reason_and_the_rest_converts(tmp_path):
    report, frames = converted(three_runs(tmp_path, middle={"request": {"url": 7}, "response": {}}))
    assert_the_others_converted(report, frames)
    assert report.skipped_entries == {"malformed": 1} and report.exchanges == 3
    assert report.error == "1 entry could not be read (an entry without a request URL)"


def test_a_flow_that_cannot_be_built_is_counted_with_its_reason_and_the_flows_after_it_convert(tmp_path):
    flows = [flow_state(21, BAND_HOST, EVENTS_PATH, json.dumps(band_run(i)).encode()) for i in (GOOD[0], BAD, GOOD[1])]
    del flows[1]["request"]["method"]
    path = tmp_path / "runs.mitm"
    path.write_bytes(dump(*flows))
    for separate_reader in (False, True):
        report, frames = converted(path, separate_reader)
        assert_the_others_converted(report, frames)
        assert report.skipped_entries == {"unreadable": 1}
        assert report.error == "1 entry could not be read (Invalid data format)"


def test_a_migration_raising_inside_mitmproxy_costs_that_flow_alone(tmp_path, monkeypatch):
    from mitmproxy.io import compat

    bodies = [json.dumps(band_run(i)).encode() for i in (GOOD[0], BAD, GOOD[1])]
    flows = [flow_state((0, 11), BAND_HOST, EVENTS_PATH, body) for body in bodies]
    original = compat.converters[(0, 11)]

    def failing(data):
        if BAD.encode() in data[b"response"][b"content"]:
            raise AttributeError("'NoneType' object has no attribute 'pop'")
        return original(data)

    monkeypatch.setitem(compat.converters, (0, 11), failing)
    path = tmp_path / "runs-0.11.mitm"
    path.write_bytes(dump(*flows))
    report, frames = converted(path)
    assert_the_others_converted(report, frames)
    assert report.error == "1 entry could not be read (invalid flow data (AttributeError))"


def test_routing_that_raises_rejects_that_exchange_alone(tmp_path, monkeypatch):
    match = devices.match

    def failing(host, method, path):
        if "Sleeping" in path:
            raise RecursionError("maximum recursion depth exceeded")
        return match(host, method, path)

    monkeypatch.setattr(devices, "match", failing)
    report, frames = converted(three_runs(tmp_path, middle_url=BAND_EVENTS_URL.replace("Running", "Sleeping")))
    assert_the_others_converted(report, frames)
    assert report.rejects == 1 and report.device_responses == {"band/events": 2}
    assert frames["rejects"]["reason"].to_list() == ["databack failed on this exchange (RecursionError)"]
    assert frames["rejects"]["body"][0] == json.dumps(band_run(BAD))  # the body kept


@pytest.mark.parametrize("stage", ["schema", "decode"])
def test_a_schema_check_or_decoder_that_raises_rejects_that_exchange_alone(tmp_path, monkeypatch, stage):
    name = "schema_problem" if stage == "schema" else "decode_payload"
    original = getattr(devices, name)

    def failing(*args):
        if BAD in json.dumps(args[1] if stage == "schema" else args[0]):  # schema_problem(name, payload)
            raise TypeError("unhashable type: 'list'") if stage == "schema" else RecursionError("too deep")
        return original(*args)

    monkeypatch.setattr(devices, name, failing)
    report, frames = converted(three_runs(tmp_path))
    assert_the_others_converted(report, frames)
    assert_rejected(report, frames, "databack failed on this exchange (")


@pytest.mark.parametrize("separate_reader", [False, True])
@pytest.mark.parametrize("batch", [10_000, 1])
def test_a_value_no_column_holds_rejects_its_exchange_and_only_it(tmp_path, monkeypatch, separate_reader, batch,
                                                                  feeling_as_sent):
    """One run among good runs whose Feeling, passed on as sent (`feeling_as_sent`), is a number, which
    band_events.feeling (text) cannot hold: the frame of its batch cannot be built; the exchange
    (its GPS point too) is taken out of every table and rejected, the others kept. (A GPS point 10**19 seconds
    after its start, beyond Int64 microseconds, was such a value until its time was bounded as every time read is:
    its decoder now rejects it, test_band_api's test_a_map_point_past_year_9999_rejects_its_exchange_….)"""
    monkeypatch.setattr(RowBuffer, "BATCH", batch)
    report, frames = converted(three_runs(tmp_path, middle=entry(BAND_EVENTS_URL, band_run(BAD, Feeling=5))),
                               separate_reader)
    assert_the_others_converted(report, frames)
    assert_rejected(report, frames, "a value that band_events.feeling (String) cannot hold")
    assert report.rows["band_events"] == 2 and report.rows["band_map_points"] == 2
    assert frames["band_events"].height == 2 and frames["band_map_points"].height == 2


@pytest.mark.parametrize("where", ["here", "in the reading process"])
def test_the_rejected_exchange_keeps_its_body_wherever_it_was_decoded(tmp_path, monkeypatch, where, feeling_as_sent):
    if where != "here":  # the reading process decodes every device response, as when its caller is behind
        from test_pipe import served_here

        from converters.captures import pipe
        monkeypatch.setattr(pipe, "BEHIND_BYTES", 0)
        monkeypatch.setattr(pipeline, "read_capture_beside", served_here)
    report, frames = converted(three_runs(tmp_path, middle=entry(BAND_EVENTS_URL, band_run(BAD, Feeling=5))),
                               separate_reader=where != "here")
    assert_rejected(report, frames, "a value that band_events.feeling (String) cannot hold")
    assert json.loads(frames["rejects"]["body"][0]) == band_run(BAD, Feeling=5)
    long_run = band_run(BAD, Feeling=5)  # a body over what a reject keeps: its first MiB, and the reason says so
    long_run["value"][0]["MapPoints"] *= 8000
    report, frames = converted(three_runs(tmp_path, middle=entry(BAND_EVENTS_URL, long_run)),
                               separate_reader=where != "here")
    (reason,) = frames["rejects"]["reason"]
    assert reason.endswith("; body cut to its first 1 MiB") and len(frames["rejects"]["body"][0]) == 1 << 20


# --- the property: whatever fails where, every exchange is counted once and the good ones convert -----------------

FAULTS = {
    "good": lambda i: entry(BAND_EVENTS_URL, band_run(i)),
    "no url": lambda i: {"request": {"method": "GET"}, "response": {"status": 200}},
    "headers an object": lambda i: _with(entry(BAND_EVENTS_URL, band_run(i)), "headers", {"Content-Type": "x"}),
    "text a number": lambda i: _with(entry(BAND_EVENTS_URL, band_run(i)), "content", {"text": 12, "size": 2}),
    "header value null": lambda i: _with(
        entry(BAND_EVENTS_URL, band_run(i)), "headers", [{"name": "A", "value": None}]
    ),
    "value no column holds": lambda i: entry(BAND_EVENTS_URL, band_run(i, Feeling=5)),  # (`feeling_as_sent`)
    "time past year 9999": lambda i: entry(BAND_EVENTS_URL, band_run(i, 10**19)),  # its decoder rejects it
    "not json": lambda i: entry(BAND_EVENTS_URL, "{cut"),
    "no response": lambda i: _with(entry(BAND_EVENTS_URL, None), "status", 0),
    "other host": lambda i: entry("https://example.com/a", "x"),
}


def _with(har_entry: dict, field: str, value) -> dict:
    har_entry = copy.deepcopy(har_entry)
    har_entry["response"][field] = value
    return har_entry


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=12),
       batch=st.sampled_from([1, 2, 5, 10_000]))
def test_property_whatever_fails_in_which_exchanges_the_accounting_adds_up(tmp_path, faults, batch, feeling_as_sent):
    ids = [f"25198125576300{n:05d}" for n in range(len(faults))]
    path = write_har(tmp_path / "faults.har", [FAULTS[fault](i) for fault, i in zip(faults, ids)])
    saved, RowBuffer.BATCH = RowBuffer.BATCH, batch
    try:
        report, frames = converted(path)
    finally:
        RowBuffer.BATCH = saved
    assert report.exchanges + report.skipped_entries.total() == len(faults)
    assert report.exchanges == report.accounted()
    assert report.skipped_entries.total() == faults.count("no url")
    damaged = {"headers an object", "text a number", "header value null", "value no column holds",
               "time past year 9999", "not json", "no response"}
    assert report.rejects == sum(f in damaged for f in faults)
    assert event_ids(frames) == {i for fault, i in zip(faults, ids) if fault == "good"}
    assert report.no_response.total() == faults.count("no response")
    hurt = {"no url", "headers an object", "text a number", "header value null", "value no column holds"}
    assert (report.status == "ok") == (not hurt & set(faults)), report.error


def test_inspect_counts_an_exchange_it_fails_on_and_goes_on(tmp_path, monkeypatch):
    from converters import inspect_captures

    classify = inspect_captures._classify

    def failing(host, method, path):
        if "Sleeping" in path:
            raise RecursionError("maximum recursion depth exceeded")
        return classify(host, method, path)

    monkeypatch.setattr(inspect_captures, "_classify", failing)
    path = three_runs(tmp_path, middle_url=BAND_EVENTS_URL.replace("Running", "Sleeping"))
    summary, rows = inspect_captures.inspect_file(Input(path, path.name, True))
    assert (summary.status, summary.exchanges, summary.error) == ("partial", 4, "1 entry could not be read")
    assert sum(row.count for row in rows.values()) == 3


@pytest.mark.parametrize("status", ["OK", 0, 10**400, None])
def test_a_response_with_a_body_but_no_readable_status_is_rejected_saying_so(tmp_path, status):
    path = three_runs(tmp_path, _with(entry(BAND_EVENTS_URL, band_run(BAD)), "status", status))
    report, frames = converted(path)
    assert event_ids(frames) == set(GOOD)
    assert frames["rejects"]["reason"].to_list() == ["the response has a body but no HTTP status"]


def test_an_escaped_lone_surrogate_in_a_device_body_costs_one_character_not_the_response(tmp_path):
    """A server's string cut inside an emoji (a workout's name cut at 30 UTF-16 units) is an escaped lone
    surrogate: orjson refused the whole body for it ('not JSON: no low surrogate in string'), every event of the
    response rejected. It reads as U+FFFD, as in a HAR's own JSON; an escaped pair stays one character."""
    import json as json_module

    from builders import BAND_EVENTS_URL, band_event, entry, write_har

    from converters.pipeline import Input, convert

    events = band_event()
    events["value"][0]["Name"] = "__NAME__"
    text = json_module.dumps(events).replace('"__NAME__"', '"Run \\ud83c\\udfc3 to the \\ud83d"')
    path = write_har(tmp_path / "lone.har", [entry(BAND_EVENTS_URL, text)])
    result = convert([Input(path, path.name, True)])
    (f,) = result.files
    assert (f.status, f.rejects) == ("ok", 0)
    assert result.tables["band_events"]["name"].to_list() == ["Run \U0001f3c3 to the \ufffd"]
