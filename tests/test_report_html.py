"""`databack report`: the page it writes (self-contained, no captured string able to break out of its data), where it
writes it, the figures for a paper, and what the command says. The page in a browser: test_report_browser.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from builders import entry, write_har
from conftest import REPO
from typer.testing import CliRunner

from converters import report_html
from converters.cli import app

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert run("convert", *SAMPLES, "-o", out, "-j", "1").exit_code == 0
    return out


class Scripts(HTMLParser):
    """The page's script elements: (attributes, text), as a browser would split them."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.tags: list[tuple[str, dict]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append((self._open, "".join(self._text)))
            self._open = None


def parse(html: str) -> Scripts:
    parser = Scripts()
    parser.feed(html)
    return parser


def page_data(html: str) -> dict:
    [data] = [text for attrs, text in parse(html).scripts if attrs.get("id") == "databack-data"]
    return json.loads(data)


def test_the_command_writes_report_html_into_out_and_says_where_to_open_it(out):
    result = run("report", out)
    assert result.exit_code == 0, result.output
    path = out / "report.html"
    assert result.output.splitlines() == [
        f"databack: report of 1 participant, 6 nights, 2 runs and workouts "
        f"({path.stat().st_size / 1e6:.1f} MB) -> {path}",
        f"  open it in a browser: {path.resolve().as_uri()}",
    ]
    assert not list(out.glob(".databack-*"))  # committed through OUT's store, nothing left beside it


def test_the_page_can_go_elsewhere_and_out_is_left_as_it_was(out, tmp_path):
    before = sorted(p.name for p in out.iterdir())
    result = run("report", out, "-o", tmp_path / "night.html")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "night.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_folder_without_a_run_is_a_usage_error(tmp_path):
    result = run("report", tmp_path)
    assert (result.exit_code, result.output) == (2, f"databack: not a databack output folder (no report.json): "
                                                    f"{tmp_path}\n")


def test_the_page_loads_nothing_from_anywhere(out):
    html = report_html.build(out).html
    page = parse(html)
    linked = [tag for tag, attrs in page.tags if "src" in attrs or not attrs.get("href", "#").startswith("#")]
    assert linked == []
    assert not [tag for tag, _ in page.tags if tag in ("link", "img", "iframe", "object", "embed")]
    [policy] = [attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy.startswith("default-src 'none';") and "connect-src" not in policy  # so fetch/XHR fall to 'none'
    assert len([1 for attrs, _ in page.scripts if attrs.get("type") == "module"]) == 2  # Vega's bundle, the page's


def test_the_page_holds_every_night_and_run_and_their_charts(out):
    data = page_data(report_html.build(out).html)
    assert [(n["night"], n["device"]) for n in data["nights"]] == [
        ("2015-01-08", "band"), ("2015-01-09", "band"), ("2015-01-20", "sense"), ("2017-03-01", "sense"),
        ("2017-03-02", "sense"), ("2017-03-03", "sense")]
    assert [c["name"] for c in data["nights"][0]["charts"]] == ["hypnogram", "night_hr"]
    hypnogram = data["nights"][0]["charts"][0]
    assert hypnogram["data"]["segments"]["stage"][:3] == ["awake", "restless", "restful"]  # Dozing, then sleep
    assert hypnogram["params"]["span"][1] - hypnogram["params"]["span"][0] == 23460 * 1000  # the time in bed
    run = next(r for r in data["runs"] if r["type"] == "Running")
    route = next(c for c in run["charts"] if c["name"] == "route")
    assert len(route["data"]["track"]["lon"]) == 22  # its GPS points: the chart draws a leg from each to the next
    low, high = route["params"]["paceDomain"]
    assert 5 < low < high < 6.5  # min/km: the run's 5th to 95th percentile


def test_a_page_for_one_participant_holds_their_data_alone(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("pattern,participant_id\n*.har,P1\n*.flow,P2\n")
    out = tmp_path / "out"
    assert run("convert", *SAMPLES, "-o", out, "--participants", people, "-j", "1").exit_code == 0
    result = run("report", out, "-o", tmp_path / "p2.html", "--participant", "P2")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("databack: report of 1 participant, 3 nights, 2 runs and workouts")
    data = page_data((tmp_path / "p2.html").read_text())
    assert data["participants"] == ["P2"] and {n["p"] for n in data["nights"] + data["runs"]} == {"P2"}
    assert [f["file"] for f in data["overview"]["files"]] == [str(SAMPLES[1])]
    result = run("report", out, "-o", tmp_path / "p3.html", "--participant", "P3")
    assert (result.exit_code, result.output) == (2, f"databack: no participant P3 in {out} (it has: P1, P2)\n")


def test_a_captured_string_cannot_end_the_pages_data(tmp_path):
    hostile = "</script><script>window.pwned = 1</script><!--"
    timeline = {"score": 80, "score_condition": "IDEAL", "message": hostile, "date": "2017-03-01", "metrics": [],
                "events": [{"timestamp": 1488438000000, "timezone_offset": -28800000, "duration_millis": 60000,
                            "message": hostile, "sleep_depth": 0, "sleep_state": "AWAKE",
                            "event_type": "GOT_IN_BED"}]}
    capture = write_har(tmp_path / "a.har", [entry("https://api.hello.is/v2/timeline/2017-03-01", timeline)])
    assert run("convert", capture, "-o", tmp_path / "out", "-j", "1").exit_code == 0
    html = report_html.build(tmp_path / "out").html
    page = parse(html)
    assert len(page.scripts) == 4  # the bundle, the specs, the data, the page: none split by the message
    assert "window.pwned" not in "".join(text for attrs, text in page.scripts if attrs.get("type") == "module")
    [night] = page_data(html)["nights"]
    assert night["charts"][1]["data"]["events"]["text"] == [hostile]  # kept, as data


def test_errors_read_back_from_report_json_pass_through_the_redaction_policy(out, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    report = json.loads((copy / "report.json").read_text())
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdEFGHijklMNOP"
    report["files"][0] |= {"status": "partial", "error": f"cut short at entry 7: Authorization: Bearer {token}"}
    (copy / "report.json").write_text(json.dumps(report))
    html = report_html.build(copy).html
    assert token not in html
    [shown] = [f for f in page_data(html)["overview"]["files"] if f["status"] == "partial"]
    assert shown["error"] == "cut short at entry 7: Authorization: REDACTED REDACTED"


def test_event_text_an_older_databack_left_in_the_tables_passes_the_policy_again(out, tmp_path):
    """Tables written before a rule of the policy (or before the policy) keep what it would now replace: the page
    shows a night's event messages and a run's name and type from them, redacted as convert writes them today."""
    import polars as pl

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdEFGHijklMNOP"
    for table, column in (("sense_timeline_events", "message"), ("band_events", "name")):
        df = pl.read_parquet(copy / f"{table}.parquet")
        df.with_columns(pl.lit(f"note password=Tr0ub4dor-1 {token}").alias(column)).write_parquet(
            copy / f"{table}.parquet")
    html = report_html.build(copy).html
    assert token not in html and "Tr0ub4dor" not in html
    data = page_data(html)
    assert "note password=REDACTED" in json.dumps(data["nights"])  # (the token goes with the passphrase)
    assert {r["name"] for r in data["runs"]} == {"note password=REDACTED"}


@pytest.mark.parametrize("page", ["-o FILE", "into OUT"])
def test_figures_stopped_by_a_full_disk_are_named_so_and_leave_no_figure_behind(out, tmp_path, monkeypatch,
                                                                                  page):
    # a full disk while the figures were saved said 'cannot write into r.html' (the page, not yet written) and
    # left the folders and the figures saved so far
    import errno
    import os

    import vl_convert

    drawn, real = [], vl_convert.vegalite_to_png

    def png(spec, **options):
        drawn.append(1)
        if len(drawn) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(spec, **options)

    monkeypatch.setattr(vl_convert, "vegalite_to_png", png)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "notes.txt").write_text("the user's")
    folder = tmp_path / "figures" / "paper"
    args = ["-o", tmp_path / "r.html"] if page == "-o FILE" else []
    before = sorted(out.rglob("*"))
    result = run("report", out, *args, "--figures", folder)
    assert (result.exit_code, result.output) == (
        1, f"databack: cannot save the figures in {folder}: No space left on device\n")
    assert [p.name for p in (tmp_path / "figures").iterdir()] == ["notes.txt"]
    assert not (tmp_path / "r.html").exists() and sorted(out.rglob("*")) == before


def test_figures_saves_every_chart_as_svg_and_png(out, tmp_path):
    result = run("report", out, "-o", tmp_path / "r.html", "--figures", tmp_path / "figures")
    assert result.exit_code == 0, result.output
    data = page_data((tmp_path / "r.html").read_text())
    charts = sum(len(item["charts"]) for item in data["nights"] + data["runs"]) + sum(map(len, data["trends"]))
    files = sorted((tmp_path / "figures" / "all").iterdir())
    assert len(files) == 2 * charts
    assert f"  {2 * charts} figure files in {tmp_path / 'figures'}" in result.output.splitlines()
    hypnogram = (tmp_path / "figures" / "all" / "night-2015-01-08-band-hypnogram.svg").read_text()
    assert hypnogram.startswith("<svg") and hypnogram.count("<path") >= 11  # its eleven sequences, drawn
    assert (tmp_path / "figures" / "all" / "run-2015-01-11-Running-route.png").read_bytes()[:4] == b"\x89PNG"


def test_a_run_that_changes_the_tables_removes_the_report_drawn_from_the_old_ones(out, tmp_path):
    assert run("report", out).exit_code == 0
    assert run("convert", SAMPLES[0], "-o", out, "-j", "1", "--force").exit_code == 0
    assert not (out / "report.html").exists()


def test_without_the_report_extra_the_command_says_what_to_install(out, monkeypatch):
    monkeypatch.setitem(sys.modules, "altair", None)  # import altair fails, as where the extra is not installed
    result = run("report", out, "-o", out.parent / "x.html")
    assert (result.exit_code, result.output) == (
        2, "databack: the HTML report needs the report extra: pip install 'databack[report]'\n")


def test_the_command_line_starts_without_the_reports_libraries():
    code = "import sys; from converters import cli; print(sorted({'altair', 'vl_convert'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_the_vega_bundle_is_kept_in_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    report_html.vega_bundle.cache_clear()
    try:
        bundle = report_html.vega_bundle()
        [cached] = (tmp_path / "databack").glob("vega-*.js")
        assert cached.read_text() == bundle and "window.vegaEmbed" in bundle
        assert not re.search(r"</script", bundle, re.IGNORECASE)
    finally:
        report_html.vega_bundle.cache_clear()


def test_steps_per_day_draw_the_accounts_day_once_not_also_each_devices_part_of_it():
    """band_daily_summaries holds a day's totals for the account and, asked for one device (device_filter), that
    device's part: the trends drew both as that day's steps (two values on one day, 8123 and 2000). Now the
    account's, else one device's where the account's day was not captured."""
    from datetime import date

    import polars as pl

    from converters.tables import TABLES

    schema = TABLES["band_daily_summaries"].schema
    rows = [{"day": date(2019, 3, 10), "steps": 8123, "device_filter": None},
            {"day": date(2019, 3, 10), "steps": 2000, "device_filter": "b7e1"},
            {"day": date(2019, 3, 11), "steps": 1500, "device_filter": "b7e1"}]
    days = pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)
    (charts,) = report_html._trends({"band_daily_summaries": days.lazy()}, [""])
    steps = next(c for c in charts if c["name"] == "trend_steps")
    assert (steps["data"]["days"]["day"], steps["data"]["days"]["steps"]) == (
        ["2019-03-10", "2019-03-11"], [8123, 1500])


def test_the_room_chart_takes_the_v2_bucket_where_a_v1_history_holds_it_too():
    """A v1 and a v2 history of one bucket are two records of sense_sensor_samples (their values computed apart); the
    room during a night draws one value a bucket: the v2 one, and a v1 bucket alone where no v2 one is; an OUT
    written before api_version existed (null) still draws its samples."""
    from datetime import UTC, datetime

    import polars as pl

    from converters.tables import TABLES

    at = [datetime(2017, 3, 3, 12, m, tzinfo=UTC) for m in (30, 35)]
    samples = pl.DataFrame({
        "time": [at[0], at[0], at[1]], "sensor": ["sound"] * 3, "value": [38.0, 44.0, 40.0], "api_version": [1, 2, 1],
        "resolution_s": [300] * 3, "participant_id": [None] * 3,
    }).cast({"time": pl.Datetime("us", "UTC")})
    full = samples.select(pl.col(c) if c in samples.columns else pl.lit(None, t).alias(c)
                          for c, t in TABLES["sense_sensor_samples"].schema.items())
    drawn = report_html._room_samples({"sense_sensor_samples": full}).sort("time").collect()
    assert drawn.select("time", "value").rows() == [(at[0], 44.0), (at[1], 40.0)]
    older = full.with_columns(pl.lit(None, pl.Int64).alias("api_version"))
    assert report_html._room_samples({"sense_sensor_samples": older}).collect().height == 3


def test_a_night_without_a_date_in_an_older_databacks_out_is_on_the_page_not_a_traceback(out, tmp_path):
    """An older databack filed a Band sleep event without a DayId under no date (sleep_nights.night null), and the
    report of such an OUT failed with a traceback (None.isoformat, then the trend's span of no dates). The night is on
    the page as "(no date)"; the trends, which place nights by their date, leave it out."""
    from collections import Counter

    import polars as pl

    older = tmp_path / "older"
    shutil.copytree(out, older)
    nights = older / "sleep_nights.parquet"
    undated = pl.when(pl.col("device") == "band").then(None).otherwise(pl.col("night")).alias("night")
    pl.read_parquet(nights).with_columns(undated).write_parquet(nights)
    result = run("report", older, "-o", tmp_path / "report.html")
    assert result.exit_code == 0, result.output
    data = page_data((tmp_path / "report.html").read_text())
    held = pl.read_parquet(nights).group_by("device").len().sort("device").rows()
    shown = [(n["device"], n["night"]) for n in data["nights"]]
    assert [device for device, night in shown if night == "(no date)"] == ["band"] * dict(held)["band"]
    assert sorted(Counter(device for device, _ in shown).items()) == held  # every night, dated ones as they were


def test_a_nights_events_and_room_are_drawn_at_its_offset_across_a_dst_change(tmp_path):
    """A Sense night across the end of daylight saving time (US Pacific, 2016-11-06 09:00 UTC: -07:00 then -08:00,
    each event and bucket sent with its own offset). The page draws the night at its offset (-07:00, so it says), as
    its hypnogram: the events and room samples were drawn at their own, so waking and getting out of bed after the
    change stood an hour before the hypnogram's end of sleep and of the time in bed, and the room went on for an
    hour after the wearer got up (its samples placed in bed by their own local times)."""
    from datetime import UTC, datetime, timedelta

    pdt, pst, hour = -25_200_000, -28_800_000, 3_600_000
    t0 = 1478408400000  # 2016-11-06 05:00 UTC: 22:00 on the 5th at -07:00

    def event(t, offset, kind, length=0, state="AWAKE", depth=0):
        return {"timestamp": t, "timezone_offset": offset, "duration_millis": length, "event_type": kind,
                "sleep_state": state, "sleep_depth": depth, "message": kind, "valid_actions": []}

    events = [event(t0, pdt, "GOT_IN_BED"), event(t0, pdt, "IN_BED", hour),
              event(t0 + hour, pdt, "FELL_ASLEEP"), event(t0 + hour, pdt, "IN_BED", 3 * hour, "SOUND", 100),
              event(t0 + 4 * hour, pst, "IN_BED", 4 * hour, "LIGHT", 40),  # 09:00 UTC on: -08:00
              event(t0 + 8 * hour, pst, "WOKE_UP"), event(t0 + 8 * hour, pst, "IN_BED", hour // 2),
              event(t0 + 17 * hour // 2, pst, "GOT_OUT_OF_BED")]
    stamps = [{"t": t0 + i * 300_000, "o": pdt if i < 48 else pst} for i in range(120)]  # 10 h of 5-minute buckets
    har = write_har(tmp_path / "night.har", [
        entry("https://api.hello.is/v2/timeline/2016-11-05",
              {"date": "2016-11-05", "score": 80, "message": "", "events": events, "metrics": []}),
        entry("https://api.hello.is/v2/sensors", {"timestamps": stamps, "sensors": {"temperature": [20.0] * 120}},
              method="POST", post='{"scope":"DAY_5_MINUTE"}'),
    ])
    out = tmp_path / "out"
    assert run("convert", har, "-o", out, "-j", "1").exit_code == 0
    [night] = report_html.build(out).data["nights"]
    assert night["offset_s"] == -25_200

    def clock(ms):
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).strftime("%H:%M")

    charts = {c["name"]: next(iter(c["data"].values())) for c in night["charts"]}
    hypnogram = charts["hypnogram"]
    assert [(clock(a), clock(b), s) for a, b, s in zip(hypnogram["start"], hypnogram["end"], hypnogram["stage"])] == [
        ("22:00", "23:00", "awake"), ("23:00", "02:00", "sound"), ("02:00", "06:00", "light"),
        ("06:00", "06:30", "awake")]
    assert list(zip(charts["events"]["type"], map(clock, charts["events"]["t"]))) == [
        ("got in bed", "22:00"), ("fell asleep", "23:00"), ("woke up", "06:00"), ("got out of bed", "06:30")]
    room = [clock(t) for t in charts["night_room"]["t"]]
    assert (room[0], room[-1], len(room)) == ("22:00", "06:25", 102)  # in bed, 8.5 hours of buckets


def test_a_minute_the_band_measured_no_heart_rate_in_is_not_drawn_as_0_bpm(tmp_path):
    """The Band sends 0 for a minute it measured no heart rate in: a run's heart-rate chart drew it as 0 bpm (a drop
    to the floor mid-run); it is left out, the minutes with a reading drawn as before."""
    from builders import band_event

    event = band_event()
    event["value"][0]["Info"] = [
        {"TimeOfDay": f"2015-01-12T06:{m}:00Z", "AverageHeartRate": hr, "StepsTaken": 100, "TotalDistance": "10000"}
        for m, hr in ((44, 120), (45, 0), (46, 130))]
    har = write_har(tmp_path / "run.har", [
        entry("https://prodphswus.dns-cargo.com/v1/Events(eventType='Running')?$expand=Info", event)])
    out = tmp_path / "out"
    assert run("convert", har, "-o", out, "-j", "1").exit_code == 0
    [r] = report_html.build(out).data["runs"]
    [hr] = [c["data"]["hr"] for c in r["charts"] if c["name"] == "run_hr"]
    assert hr["bpm"] == [120.0, 130.0]


def test_a_participants_room_sensor_is_drawn_in_one_unit():
    """A v1 history's particulates are an AQI (unit aqi, early servers) where a v2 history's are µg/m³ (mg_cm): a
    participant with both drew, in the one particulates line and the night's mean, v2 values where v2 holds the bucket
    and v1 AQI values where only v1 does. A sensor is drawn in its newest API version's unit; temperature, in
    celsius in both, keeps every bucket."""
    from datetime import UTC, datetime

    import polars as pl

    from converters.tables import TABLES

    at = [datetime(2017, 3, 3, 12, m, tzinfo=UTC) for m in (30, 35, 40)]
    samples = pl.DataFrame({
        "time": [at[0], at[1], at[1], at[2], at[0], at[2]],
        "sensor": ["particulates"] * 4 + ["temperature"] * 2,
        "value": [40.0, 42.0, 9.5, 10.0, 20.5, 21.0], "api_version": [1, 1, 2, 2, 1, 2],
        "unit": ["aqi", "aqi", "mg_cm", "mg_cm", "celsius", "celsius"], "resolution_s": [300] * 6,
        "participant_id": [None] * 6,
    }).cast({"time": pl.Datetime("us", "UTC")})
    full = samples.select(pl.col(c) if c in samples.columns else pl.lit(None, t).alias(c)
                          for c, t in TABLES["sense_sensor_samples"].schema.items())
    drawn = report_html._room_samples({"sense_sensor_samples": full}).sort("sensor", "time").collect()
    assert drawn.select("sensor", "time", "value").rows() == [
        ("particulates", at[1], 9.5), ("particulates", at[2], 10.0),
        ("temperature", at[0], 20.5), ("temperature", at[2], 21.0)]
