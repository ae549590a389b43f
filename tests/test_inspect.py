"""`databack inspect`: path templates, what the sample captures hold, damaged files, and no secret in the output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO

from converters.captures import Exchange, read_capture
from converters.pipeline import Input, collect_inputs
from converters.inspect_captures import (
    UNDECODED,
    as_dict,
    human_bytes,
    inspect,
    media_type,
    path_template,
    query_names,
    render_table,
)

sys.path.insert(0, str(REPO / "samples"))
from make_samples import SECRETS  # noqa: E402

SAMPLES = REPO / "samples"
HAR, FLOW = SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow"


def exchanges_in(path: Path) -> int:
    return sum(isinstance(item, Exchange) for item in read_capture(path))


def run(*paths: Path, **kwargs):
    return inspect(collect_inputs(list(paths)), **kwargs)


def rows_by_key(inspection) -> dict[tuple[str, str, str], dict]:
    found = {}
    for r in as_dict(inspection)["rows"]:
        key = (r["host"], r["method"], r["path"])
        assert key not in found, f"{key} in two rows"
        found[key] = r
    return found


# --- path templates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "template"),
    [
        # Band OData keys: ids collapse, enum-like words stay, Android's %27 and iOS's ' alike
        ("/v1/Events(eventId=%272519813080487285469%27)", "/v1/Events(eventId={id})"),
        ("/v1/Events(eventId='2519813080487285469')", "/v1/Events(eventId={id})"),
        ("/v1/Events(eventType=%27Sleeping%27)", "/v1/Events(eventType='Sleeping')"),
        ("/v1/Events(eventType='Running')", "/v1/Events(eventType='Running')"),
        ("/v1/Events", "/v1/Events"),
        ("/v1/UserActivities(period=%27h%27)", "/v1/UserActivities(period='h')"),
        (
            "/v2/UserDailySummary(timeZoneUtcOffset=-480,startDate=%272015-01-05T00:00:00.000Z%27,"
            "endDate=%272015-01-12T00:00:00.000Z%27)",
            "/v2/UserDailySummary(timeZoneUtcOffset={n},startDate={date},endDate={date})",
        ),
        ("/Users(123)/Days(datetime'2015-01-05')", "/Users({n})/Days({date})"),
        ("/Notes('it''s, a note')", "/Notes({id})"),
        # Sense dates, with the iOS minute suffix; the event edit route's millisecond timestamp
        ("/v2/timeline/2017-03-01", "/v2/timeline/{date}"),
        ("/v2/timeline/2017-04-20T07:31", "/v2/timeline/{date}"),
        ("/v2/timeline/2017-04-20T07%3A31", "/v2/timeline/{date}"),
        ("/v1/timeline/2015-01-20", "/v1/timeline/{date}"),
        ("/v2/timeline/2017-03-01/events/SLEEP/1488375000000", "/v2/timeline/{date}/events/SLEEP/{n}"),
        ("/v2/trends/LAST_WEEK", "/v2/trends/LAST_WEEK"),
        ("/v1/room/temperature/day", "/v1/room/temperature/day"),
        # numbers, uuids, hashes, tokens, e-mail addresses
        ("/users/42/photos/7", "/users/{n}/photos/{n}"),
        ("/v1/me/Activities/5b0f7c1e-3d2a-4e8b-9c61-0a7d2e4f8b13", "/v1/me/Activities/{id}"),
        ("/blob/3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "/blob/{id}"),
        ("/c6b2fccb4bebbba5.webp", "/{id}.webp"),
        ("/reports/2017-03-01.json", "/reports/{date}.json"),
        ("/a/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcDEF123", "/a/{id}"),
        ("/reset/s3cr3t-band-wrap-token-0001", "/reset/{id}"),
        ("/account/sleeper%40example.com/settings", "/account/{id}/settings"),
        # short ids of letters and digits: one template (and one --generic table) for every user
        ("/v3/users/u-77/nights/2017-01-09", "/v3/users/{id}/nights/{date}"),
        ("/v3/users/abc123/devices/a1b2c3", "/v3/users/{id}/devices/{id}"),
        ("/study/p07/uploads", "/study/{id}/uploads"),
        ("/v12/oauth2/token", "/v12/oauth2/token"),
        # words, versions and file names stay; slashes fold, the trailing one goes
        ("/ajax/libs/jquery/3.1.1/jquery.min.js", "/ajax/libs/jquery/3.1.1/jquery.min.js"),
        ("/images/googlelogo_color_92x30dp.png", "/images/googlelogo_color_92x30dp.png"),
        ("/generate_204", "/generate_204"),
        ("//v2//sensors/", "/v2/sensors"),
        ("/", "/"),
        ("", "/"),
    ],
)
def test_path_template(raw: str, template: str):
    assert path_template(raw) == template


def test_query_names_keep_names_never_values():
    query = "$filter=DayId+ge+datetime%272015-01-05%27&$expand=Sequences&access_token=planted-0001&temp_unit=c"
    assert query_names(query) == ["$filter", "$expand", "access_token", "temp_unit"]
    assert query_names("a=1&a=2&b") == ["a", "b"]
    # a bare token or number as the whole query is not a name
    assert query_names("s3cr3t-band-wrap-token-0001") == ["{id}"]
    assert query_names("eyJhbGciOiJIUzI1NiJ9xyzXYZ123456") == ["{id}"]
    assert query_names("1488555") == ["{n}"]


def test_media_type_drops_parameters_and_shows_nothing_odd():
    assert media_type("application/json;odata=minimalmetadata;streaming=true;charset=utf-8") == "application/json"
    assert media_type("Text/HTML; charset=UTF-8") == "text/html"
    assert media_type(None) == "none"
    assert media_type("Bearer planted-secret") == "invalid"
    assert media_type("") == "invalid"


def test_human_bytes():
    assert [human_bytes(n) for n in (0, 999, 1000, 22_100, 159_163_411, 2_500_000_000)] == [
        "0 B", "999 B", "1.0 kB", "22.1 kB", "159 MB", "2.5 GB"
    ]


# --- the sample captures -------------------------------------------------------------------------------------


def test_sample_har_rows_name_their_endpoints():
    inspection = run(HAR)
    rows = rows_by_key(inspection)
    endpoints = {k: r["endpoint"] for k, r in rows.items()}
    counts = {k: r["count"] for k, r in rows.items()}
    sense, band = "api.hello.is", "prodphswus.dns-cargo.com"
    assert endpoints[(sense, "GET", "/v2/timeline/{date}")] == "sense/timeline-v2"
    assert counts[(sense, "GET", "/v2/timeline/{date}")] == 2
    assert endpoints[(sense, "GET", "/v1/timeline/{date}")] == "sense/timeline-v1"
    assert endpoints[(sense, "GET", "/v1/room/current")] == "sense/room-current"
    assert endpoints[(sense, "GET", "/v1/room/all_sensors/hours")] == "sense/room-all-sensors"
    assert endpoints[(sense, "GET", "/v1/room/temperature/day")] == "sense/room-sensor-history"
    assert endpoints[(sense, "POST", "/v1/oauth2/token")] == "sense/auth"
    assert endpoints[(band, "GET", "/v1/Events(eventType='Sleeping')")] == "band/events"
    assert endpoints[(band, "GET", "/v1/Events(eventType='Running')")] == "band/events"
    # unrelated hosts are listed, recognised by nothing
    for host in ("www.google.com", "www.gstatic.com", "ajax.googleapis.com", "maps.googleapis.com"):
        assert any(k[0] == host and e is None for k, e in endpoints.items()), host
    assert counts[("www.google.com", "GET", "/")] == 1
    # query names, never values
    assert rows[(sense, "GET", "/v1/room/current")]["query_params"] == {"temp_unit": 1}
    assert set(rows[(band, "GET", "/v1/Events(eventType='Sleeping')")]["query_params"]) == {"$filter", "$expand"}
    # statuses, content types and decoded body bytes
    room = rows[(sense, "GET", "/v1/room/current")]
    assert room["statuses"] == {"200": 1} and room["content_types"] == {"application/json": 1}
    assert room["bytes"] == 1035  # base64 in the HAR, counted decoded
    not_modified = rows[("ajax.googleapis.com", "GET", "/ajax/libs/jquery/3.1.1/jquery.min.js")]
    assert not_modified["statuses"] == {"304": 1} and not_modified["content_types"] == {"none": 1}
    assert not_modified["bytes"] == 0
    d = as_dict(inspection)
    total = exchanges_in(HAR)
    assert d["totals"]["exchanges"] == total == sum(r["count"] for r in d["rows"])
    assert d["totals"]["recognised"] == sum(r["count"] for r in d["rows"] if r["endpoint"])
    assert d["totals"]["auth"] == 1  # the Sense token exchange
    assert d["totals"]["data"] + d["totals"]["auth"] + d["totals"]["undecoded"] + d["totals"]["other"] == total
    assert d["files"] == [
        {"file": str(HAR), "format": "har", "size_bytes": HAR.stat().st_size, "status": "ok", "error": None,
         "exchanges": total, "skipped_entries": {}}
    ]


def test_sample_flow_rows_name_their_endpoints_and_count_the_tcp_flow():
    inspection = run(FLOW)
    rows = rows_by_key(inspection)
    sense = "api.hello.is"
    timeline = rows[(sense, "GET", "/v2/timeline/{date}")]  # 03-01 … 03-04, one of them iOS's 03-03T07:31
    assert timeline["count"] == 4 and timeline["endpoint"] == "sense/timeline-v2"
    assert rows[(sense, "GET", "/v2/sensors")]["endpoint"] == "sense/sensors-current"
    assert rows[(sense, "POST", "/v2/sensors")]["endpoint"] == "sense/sensors-history"
    assert rows[("prodkds.dns-cargo.com", "GET", "/api/v1/user")]["endpoint"] == "band/auth"
    by_id = rows[("prodphseus.dns-cargo.com", "GET", "/v1/Events(eventId={id})")]
    assert by_id["endpoint"] == "band/events" and by_id["count"] == 1
    unauthorised = rows[("prodphswus.dns-cargo.com", "GET", "/v1/Events(eventType='Sleeping')")]
    assert unauthorised["statuses"] == {"401": 1}
    assert rows[("connectivitycheck.gstatic.com", "GET", "/generate_204")]["endpoint"] is None
    # the gzip / brotli bodies are counted decoded, as the readers give them
    assert rows[("fonts.googleapis.com", "GET", "/css")]["bytes"] == 375
    (f,) = as_dict(inspection)["files"]
    assert (f["format"], f["status"], f["skipped_entries"]) == ("flow", "ok", {"tcp": 1})
    assert f["exchanges"] == exchanges_in(FLOW) == inspection.exchanges


def test_both_samples_merge_into_one_row_per_template_sorted_by_count():
    inspection = run(HAR, FLOW)
    rows = rows_by_key(inspection)
    sleeping = rows[("prodphswus.dns-cargo.com", "GET", "/v1/Events(eventType='Sleeping')")]
    assert sleeping["count"] == 2 and sleeping["statuses"] == {"200": 1, "401": 1}
    assert rows[("api.hello.is", "GET", "/v2/timeline/{date}")]["count"] == 6
    keys = [(-r.count, r.host, r.path) for r in inspection.rows]
    assert keys == sorted(keys)
    assert inspection.rows[0].path == "/v2/timeline/{date}"
    assert inspection.exchanges == exchanges_in(HAR) + exchanges_in(FLOW) and inspection.ok


def test_quick_skips_headers_and_bodies_but_keeps_the_rest():
    full, quick = as_dict(run(HAR, FLOW)), as_dict(run(HAR, FLOW, quick=True))
    strip = ("content_types", "bytes")
    assert [{k: v for k, v in r.items() if k not in strip} for r in quick["rows"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in full["rows"]
    ]
    assert all(r["bytes"] is None and r["content_types"] == {} for r in quick["rows"])
    assert quick["totals"]["quick"] is True
    table = render_table(run(HAR, quick=True))
    assert "content type" not in table.splitlines()[0] and "bytes" not in table.splitlines()[0]


def test_parallel_jobs_give_the_same_inspection_as_one_job():
    assert as_dict(run(HAR, FLOW, jobs=2)) == as_dict(run(HAR, FLOW, jobs=1))


def test_progress_is_called_before_and_after_each_file():
    calls = []
    inspect(collect_inputs([HAR, FLOW]), progress=lambda inp, summary: calls.append((inp.name, summary is None)))
    assert calls == [(str(HAR), True), (str(HAR), False), (str(FLOW), True), (str(FLOW), False)]


def test_no_secret_reaches_the_table_or_the_json():
    for quick in (False, True):
        inspection = run(HAR, FLOW, quick=quick)
        texts = [render_table(inspection), json.dumps(as_dict(inspection))]
        for secret in SECRETS:
            for text in texts:
                assert secret not in text
                assert secret[:12] not in text


def test_no_header_value_body_or_query_value_reaches_the_output(tmp_path):
    planted = ["planted-auth-0101", "planted-cookie-0102", "planted-token-0103", "planted-body-0104"]
    auth = {"Authorization": f"Bearer {planted[0]}", "Cookie": f"session={planted[1]}"}
    har = write_har(tmp_path / "planted.har", [
        entry(BAND_EVENTS_URL + f"&access_token={planted[2]}", band_event(), request_headers=auth,
              response_headers={"Set-Cookie": f"s={planted[1]}", "Content-Type": f"text/plain; x={planted[0]}"}),
        entry(f"https://www.example.com/page?q={planted[3]}", {"note": planted[3]}, request_headers=auth,
              response_headers={"Content-Type": planted[0]}),
    ])
    inspection = run(har)
    texts = [render_table(inspection), json.dumps(as_dict(inspection))]
    for secret in planted:
        for text in texts:
            assert secret not in text
    rows = rows_by_key(inspection)
    band = rows[("prodphswus.dns-cargo.com", "GET", "/v1/Events(eventType='Running')")]
    assert band["query_params"] == {"$expand": 1, "access_token": 1}
    assert band["content_types"] == {"text/plain": 1}
    assert rows[("www.example.com", "GET", "/page")]["content_types"] == {"invalid": 1}


def test_device_host_with_a_path_databack_does_not_decode_is_undecoded(tmp_path):
    har = write_har(tmp_path / "a.har", [
        entry("https://api.hello.is/v1/account", {"name": "x"}),
        entry("https://api.hello.is/v1/account", {"name": "x"}),
        entry("https://api.hello.is/v1/timeline/2015-01-20", {"x": 1}, method="DELETE"),
    ])
    inspection = run(har)
    rows = rows_by_key(inspection)
    assert rows[("api.hello.is", "GET", "/v1/account")]["endpoint"] == UNDECODED
    assert rows[("api.hello.is", "DELETE", "/v1/timeline/{date}")]["endpoint"] == UNDECODED
    assert inspection.undecoded == 3 and inspection.recognised == 0
    assert "undecoded" in render_table(inspection)


def test_rows_of_one_template_split_by_the_endpoint_that_recognised_them(tmp_path):
    # both paths template to /v2/timeline/{date}/events/{…}: one is the edit route, one is not
    har = write_har(tmp_path / "a.har", [
        entry("https://api.hello.is/v2/timeline/2017-03-01/events/SLEEP/1488375000000", {}, method="PATCH"),
        entry("https://api.hello.is/v2/timeline/2017-03-01/events/SLEEP/1488375000000.5", {}, method="PATCH"),
    ])
    endpoints = sorted(str(r.endpoint) for r in run(har).rows)
    assert endpoints == ["sense/timeline-v2", UNDECODED]


def test_long_paths_are_cut_to_fit_the_table(tmp_path):
    long = "/v2/" + "/".join(f"segment{i}" for i in range(40))
    har = write_har(tmp_path / "a.har", [entry("https://api.example.com" + long + "?$top=1", "x")])
    table = render_table(run(har))
    rows = table.split("\n\n")[0].splitlines()
    assert len(rows) == 3 and all(len(line) <= 120 for line in rows)
    assert "/v2/segment0/segment1/" in table and "…" in table and "segment39" not in table
    assert long in json.dumps(as_dict(run(har)))


@pytest.mark.parametrize("width", [72, 80, 100, 160])
def test_the_table_fits_the_width_it_is_given(width):
    table = render_table(run(HAR, FLOW), width)
    assert max(len(line) for line in table.splitlines()) <= width
    assert "sense/timeline-v2" in table or width < 100  # narrow: the endpoint's end is cut, never a line too long


def test_the_command_fits_the_terminal_width_it_is_told(monkeypatch):
    from typer.testing import CliRunner

    from converters.cli import app

    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["inspect", str(HAR)])
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) == 80


def test_content_type_comes_from_the_mime_type_when_a_har_has_no_headers(tmp_path):
    har = write_har(tmp_path / "a.har", [entry("https://api.example.com/v1/x", {"a": 1})])  # mimeType, no headers
    ((key, row),) = rows_by_key(run(har)).items()
    assert row["content_types"] == {"application/json": 1}


# --- damaged and unreadable files ----------------------------------------------------------------------------


def test_cut_off_har_is_partial_with_the_readers_message_and_keeps_what_was_read(tmp_path):
    data = HAR.read_bytes()
    cut = tmp_path / "cut.har"
    cut.write_bytes(data[: len(data) * 2 // 3])
    (f,) = as_dict(run(cut))["files"]
    assert f["status"] == "partial" and f["error"].startswith("cut off after entry")
    assert 0 < f["exchanges"] < exchanges_in(HAR)
    assert f"partial  {f['exchanges']} exchanges; cut off" in render_table(run(cut))


def test_cut_off_flow_is_partial(tmp_path):
    data = FLOW.read_bytes()
    cut = tmp_path / "cut.flow"
    cut.write_bytes(data[: len(data) // 2])
    inspection = run(cut)
    (f,) = as_dict(inspection)["files"]
    assert f["status"] == "partial" and "flows read" in f["error"] and f["exchanges"] > 0
    assert not inspection.ok


def test_unreadable_files_fail_when_named_or_named_like_a_capture_and_are_skipped_when_found_in_a_folder(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a capture")
    (folder / "empty.har").write_bytes(b"")
    (folder / "saved.json").write_text(json.dumps({"value": []}))
    (folder / "saved-list.json").write_text(json.dumps([{"category": "x"}]))
    (folder / "broken.har").write_text('{"log": {"entries": [')
    named = {f["file"]: f for f in as_dict(run(folder / "notes.txt", folder / "empty.har"))["files"]}
    assert named[str(folder / "notes.txt")]["status"] == "failed"
    assert named[str(folder / "empty.har")]["status"] == "failed"
    assert named[str(folder / "empty.har")]["error"] == "empty file"
    found = {f["file"]: f for f in as_dict(run(folder))["files"]}
    assert found["study/notes.txt"]["status"] == "skipped"
    assert found["study/empty.har"]["status"] == "failed"  # named like a capture, even when found in a folder
    for saved in ("study/saved.json", "study/saved-list.json"):  # sniffed as HAR / as a JSON list
        assert found[saved]["status"] == "skipped" and "not a capture" in found[saved]["error"]
        assert found[saved]["format"] == "json"
    assert found["study/broken.har"]["status"] == "failed"  # a HAR with nothing readable in it
    assert found["study/broken.har"]["error"].startswith("cut off")


def test_input_with_an_error_and_a_missing_file_fail_alone(tmp_path):
    inputs = [
        Input(HAR, "a.har", explicit=True, error="no participant matches this file"),
        Input(tmp_path / "gone.har", "gone.har", explicit=True),
        Input(HAR, "b.har", explicit=True),
    ]
    inspection = inspect(inputs)
    files = as_dict(inspection)["files"]
    assert [(f["file"], f["status"]) for f in files] == [("a.har", "failed"), ("gone.har", "failed"), ("b.har", "ok")]
    assert files[0]["error"] == "no participant matches this file"
    assert files[1]["error"].startswith("cannot read the file")
    assert inspection.exchanges == exchanges_in(HAR) and not inspection.ok
    table = render_table(inspection)
    assert "gone.har" in table and "1 ok" in table and "2 failed" in table


def test_nothing_to_inspect():
    inspection = inspect([])
    assert inspection.rows == [] and inspection.files == []
    assert render_table(inspection).startswith("no HTTP exchanges")
    assert as_dict(inspection)["totals"]["exchanges"] == 0


def test_table_of_the_samples_lists_device_hosts_first_and_fits_in_120_columns():
    inspection = run(HAR, FLOW)
    table = render_table(inspection)
    lines = table.splitlines()
    assert lines[0].split() == ["count", "method", "path", "status", "content", "type", "bytes", "endpoint"]
    host_lines = [line for line in lines[1:] if line and not line.startswith(" ")]
    device_hosts = {r.host for r in inspection.rows if r.endpoint}
    is_device = [line.rsplit(" (", 1)[0] in device_hosts for line in host_lines]
    assert is_device == sorted(is_device, reverse=True) and is_device[0] and not is_device[-1]
    assert host_lines[0] == f"api.hello.is ({sum(r.count for r in inspection.rows if r.host == 'api.hello.is')})"
    assert "    6  GET     /v2/timeline/{date}" in table and "sense/timeline-v2" in table
    assert "200×1 401×1" in table
    d = as_dict(inspection)["totals"]
    assert lines[-1] == (
        f"2 files (2 ok): {d['exchanges']} exchanges on {d['hosts']} hosts; {d['data']} to device data endpoints, "
        f"{d['auth']} auth, 0 undecoded device paths, {d['other']} other"
    )
    assert max(len(line) for line in lines) <= 120


def test_inspect_command_prints_the_table_or_json_and_exits_by_validity(tmp_path):
    from typer.testing import CliRunner

    from converters.cli import app

    runner = CliRunner()
    table = runner.invoke(app, ["inspect", str(REPO / "samples" / "phone-sync.har"), "-j", "1"])
    assert table.exit_code == 0 and "sense/timeline-v2" in table.stdout
    data = runner.invoke(app, ["inspect", str(REPO / "samples" / "phone-sync.har"), "--json", "-j", "1"])
    assert data.exit_code == 0 and json.loads(data.stdout)["files"][0]["status"] == "ok"
    cut = tmp_path / "cut.har"
    cut.write_bytes((REPO / "samples" / "phone-sync.har").read_bytes()[:5000])
    assert runner.invoke(app, ["inspect", str(cut)]).exit_code == 1
    assert runner.invoke(app, ["inspect", str(tmp_path / "nope")]).exit_code == 2
