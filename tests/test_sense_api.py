"""More of the Sense API: trends (v1 and v2), insights, devices, and timeline edits replacing a whole night."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import orjson
import polars as pl
import pytest
from builders import entry, write_har
from conftest import REPO

from converters import devices
from converters.pipeline import Input, convert
from converters.devices import columns, sense
from converters.devices.base import Request, datetime_us, row_by_row
from converters.tables import TABLES
from converters.validation import schema_problem

CAPTURED = datetime(2017, 4, 20, 15, 30, tzinfo=UTC)


def endpoint(host: str, method: str, path: str) -> str | None:
    m = devices.match(host, method, path)
    return None if m is None else (m.endpoint.name if m.endpoint else "undecoded")


def decode(ep, payload, path_params=None, query=None, captured_at=CAPTURED):
    assert schema_problem(ep.schema, payload) is None
    out: dict[str, list] = {}
    for table, row in row_by_row(ep.decode(payload, Request(path_params or {}, query or {}, None, captured_at))):
        assert set(row) <= set(TABLES[table].row_schema), f"{table}: rows carry only the table's columns"
        out.setdefault(table, []).append(dict.fromkeys(TABLES[table].row_schema) | row)
    return out


def load(reference, name):
    return orjson.loads((reference / "sense" / name).read_bytes())


def utc(*args) -> int:
    return datetime_us(datetime(*args, tzinfo=UTC))


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("GET", "/v2/trends/LAST_WEEK", "sense/trends-v2"),
        ("GET", "/v2/trends/LAST_MONTH", "sense/trends-v2"),
        ("GET", "/v2/trends/LAST_3_MONTHS", "sense/trends-v2"),
        ("GET", "/v2/trends/last_week", "sense/trends-v2"),  # the spec's examples are lower case
        ("GET", "/v2/trends/LAST_YEAR", "undecoded"),
        ("GET", "/v1/insights/trends/all", "sense/trends-v1"),
        ("GET", "/v1/insights/trends/graph", "sense/trends-v1"),
        ("GET", "/v1/insights/trends/list", "sense/trends-v1"),
        ("GET", "/insights/trends/all", "sense/trends-v1"),  # 2014: no version
        ("GET", "/v2/insights", "sense/insights"),
        ("GET", "/v1/insights", "sense/insights"),
        ("GET", "/insights", "sense/insights"),
        ("GET", "/v2/insights/info/SLEEP_HYGIENE", "undecoded"),
        ("GET", "/v2/devices", "sense/devices"),
        ("GET", "/v2/devices/info", "undecoded"),
        ("DELETE", "/v2/devices/pill/ABC", "undecoded"),
        ("PATCH", "/v2/timeline/2017-04-20/events/WOKE_UP/1492700000000", "sense/timeline-v2"),
        ("DELETE", "/v2/timeline/2017-04-20/events/SNORED/1492700000000", "sense/timeline-v2"),
        ("PUT", "/v2/timeline/2017-04-20/events/WOKE_UP/1492700000000", "undecoded"),  # verify: no body
        ("GET", "/v1/questions/more", "undecoded"),
        ("GET", "/v2/alarms/sounds", "undecoded"),
    ],
)
def test_routes(method, path, expected):
    assert endpoint("api.hello.is", method, path) == expected


def test_v2_trends_time_scale_comes_from_the_path_when_the_graph_has_none():
    m = devices.match("api.hello.is", "GET", "/v2/trends/last_month")
    payload = {"graphs": [{"data_type": "SCORES", "graph_type": "GRID", "sections": [{"values": [80]}]}]}
    (row,) = decode(m.endpoint, payload, m.path_params)["sense_trends"]
    assert row["time_scale"] == "LAST_MONTH"


# Every real Sense payload beside the repository, with the endpoint its URL would have matched.
REAL = {
    "all_trends.json": sense.TRENDS_V1,
    "single_trend.json": sense.TRENDS_V1,
    "insights.json": sense.INSIGHTS,
    "current_conditions.json": sense.ROOM_CURRENT,
    "get_sensors_v2.json": sense.SENSORS_CURRENT,
    "post_sensors_v2_LAST_3H_5_MINUTE.json": sense.SENSORS_HISTORY,
    "room_sensor_history.json": sense.ALL_SENSORS,
    "timeline_v1_2014.json": sense.TIMELINE_V1,
    "timeline_v1_with_statistics.json": sense.TIMELINE_V1,
}


def test_every_real_sense_file_fits_its_schema_and_decodes(reference):
    names = sorted(p.name for p in (reference / "sense").glob("*.json"))
    assert names == sorted(REAL), "a new reference file needs an endpoint here"
    for name in names:
        t = decode(REAL[name], load(reference, name), {"date": "2015-01-20", "period": "hours", "sensor": "light"})
        assert sum(map(len, t.values())) > 0, name


def test_v1_all_trends_real_file(reference):
    rows = decode(sense.TRENDS_V1, load(reference, "all_trends.json"))["sense_trends"]
    assert len(rows) == 7 + 7 + 2
    dow = [r for r in rows if r["graph_type"] == "HISTOGRAM" and r["data_type"] == "SLEEP_SCORE"]
    assert [r["label"] for r in dow] == ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    assert [r["position"] for r in dow] == list(range(7))
    assert [r["value"] for r in dow][:3] == [72.0, 75.0, 0.0]  # 0 for weekdays without nights: kept as sent
    # Day-of-week points carry datetime 0: no date, no time; they are a view kept per capture day.
    assert all(r["time"] is None and r["date"] is None and r["utc_offset_s"] is None for r in dow)
    assert {r["snapshot_day"] for r in dow} == {date(2017, 4, 20)}
    assert {r["trend_set"] for r in dow} == {"v1/DOW/SLEEP_SCORE/HISTOGRAM/2017-04-20"}
    assert all(r["unit"] == "score" and r["time_scale"] == "DOW" and r["api_version"] == 1 for r in dow)
    assert dow[0]["condition"] == "BAD" and dow[2]["condition"] == "OK"

    duration = [r for r in rows if r["data_type"] == "SLEEP_DURATION"]
    assert [r["value"] for r in duration][:2] == [375 * 60, 555 * 60]  # minutes -> seconds
    assert {r["unit"] for r in duration} == {"s"}

    series = [r for r in rows if r["graph_type"] == "TIME_SERIES_LINE"]
    assert [r["date"] for r in series] == [date(2015, 1, 5), date(2015, 1, 6)]
    assert [r["time"] for r in series] == [utc(2015, 1, 5), utc(2015, 1, 6)]
    assert {r["utc_offset_s"] for r in series} == {-28800}
    assert all(r["snapshot_day"] is None and r["label"] is None for r in series)  # "" x_value is no label
    assert series[0]["trend_set"] == "v1/ALL/SLEEP_SCORE/TIME_SERIES_LINE/2015-01-05"
    assert [r["value"] for r in series] == [72.0, 75.0]


def test_v1_single_trend_real_file(reference):
    rows = decode(sense.TRENDS_V1, load(reference, "single_trend.json"))["sense_trends"]
    assert [(r["time_scale"], r["date"], r["value"]) for r in rows] == [
        ("1M", date(2015, 1, 5), 72.0),
        ("1M", date(2015, 1, 6), 75.0),
    ]


def test_v1_trend_point_stamped_off_midnight_takes_its_local_date():
    graph = {"data_type": "SLEEP_SCORE", "graph_type": "TIME_SERIES_LINE", "time_period": "1W",
             "data_points": [{"datetime": 1420444800000, "offset_millis": -28800000, "y_value": 70}]}  # 08:00 UTC
    (row,) = decode(sense.TRENDS_V1, [graph])["sense_trends"]
    assert row["date"] == date(2015, 1, 5) and row["time"] == utc(2015, 1, 5, 8)


def test_v1_trends_list_without_data_points_gives_no_rows():
    available = [{"title": "SLEEP SCORE OVER TIME", "data_type": "SLEEP_SCORE", "graph_type": "TIME_SERIES_LINE",
                  "time_period": "1M", "options": ["1W", "1M"]}]
    assert decode(sense.TRENDS_V1, available) == {}


def v2_trends() -> dict:
    """A LAST_WEEK response as suripu-core trends/v2 and suripu-spec describe it (no real file exists)."""
    return {
        "available_time_scales": ["LAST_WEEK", "LAST_MONTH"],
        "graphs": [
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Score",
                "data_type": "SCORES",
                "graph_type": "GRID",
                "min_value": 0,
                "max_value": 100,
                "sections": [
                    {"values": [None, None, 78, -1, 85, 91, 60], "titles": ["S", "M", "T", "W", "T", "F", "S"],
                     "highlighted_values": [6], "highlighted_title": 6},
                ],
                "condition_ranges": [{"min_value": 0, "max_value": 59, "condition": "ALERT"}],
                "annotations": [],
            },
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Duration",
                "data_type": "HOURS",
                "graph_type": "BAR",
                "min_value": 0,
                "max_value": 9.5,
                "sections": [{"values": [7.5, -1], "titles": ["APR"], "highlighted_values": []},
                             {"values": [8.25], "titles": [], "highlighted_values": [0]}],
                "annotations": [{"title": "AVG", "value": 7.9, "data_type": "HOURS"}],
            },
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Depth",
                "data_type": "PERCENTS",
                "graph_type": "BUBBLES",
                "sections": [{"values": [0.25, 0.5, 0.25], "titles": ["Light", "Medium", "Deep"]}],
                "future_field": {"ignored": True},
            },
        ],
    }


def test_v2_trends_one_row_per_value_with_padding_and_gaps_null():
    rows = decode(sense.TRENDS_V2, v2_trends(), {"time_scale": "LAST_WEEK"})["sense_trends"]
    assert len(rows) == 7 + 3 + 3
    grid = [r for r in rows if r["data_type"] == "SCORES"]
    assert [r["value"] for r in grid] == [None, None, 78, None, 85, 91, 60]
    assert [r["missing"] for r in grid] == ["padding", "padding", None, "no_data", None, None, None]
    assert [r["label"] for r in grid] == ["S", "M", "T", "W", "T", "F", "S"]
    assert [r["highlighted"] for r in grid] == [False] * 6 + [True]
    assert all(r["date"] is None and r["time"] is None for r in rows)  # a layout that pins no day: none invented
    assert {r["snapshot_day"] for r in rows} == {date(2017, 4, 20)}
    assert grid[0]["trend_set"] == "v2/LAST_WEEK/SCORES/GRID/2017-04-20"
    assert {(r["unit"], r["api_version"], r["time_scale"]) for r in grid} == {("score", 2, "LAST_WEEK")}

    hours = [r for r in rows if r["data_type"] == "HOURS"]
    assert [(r["section"], r["position"]) for r in hours] == [(0, 0), (0, 1), (1, 0)]
    assert [r["value"] for r in hours] == [7.5 * 3600, None, 8.25 * 3600]
    assert {r["unit"] for r in hours} == {"s"}
    assert [r["section_title"] for r in hours] == ["APR", "APR", None]
    assert [r["label"] for r in hours] == [None, None, None]

    percents = [r for r in rows if r["data_type"] == "PERCENTS"]
    assert [r["value"] for r in percents] == [0.25, 0.5, 0.25]
    assert {r["unit"] for r in percents} == {"fraction"}
    assert [r["label"] for r in percents] == ["Light", "Medium", "Deep"]


def week_grid(values: list) -> dict:
    """A LAST_WEEK score grid as suripu-core lays it out for a wearer whose today is Thursday 2017-04-20: the days
    from 04-13 (a Thursday) to 04-19 in week rows from Sunday, padded with nulls."""
    row1, row2 = [None] * 4 + values[:3], values[3:] + [None] * 3
    return {"time_scale": "LAST_WEEK", "data_type": "SCORES", "graph_type": "GRID",
            "sections": [{"values": row1, "titles": list("SMTWTFS"), "highlighted_title": 3},
                         {"values": row2, "titles": [], "highlighted_values": [3]}]}


def test_v2_trend_values_get_the_day_the_layout_pins_for_the_capture():
    durations = {"time_scale": "LAST_WEEK", "data_type": "HOURS", "graph_type": "BAR",
                 "sections": [{"values": [7.5, 5.6666665, -1, 8.0, 6.25, 7.0, 8.5],
                               "titles": ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]}]}
    month = {"time_scale": "LAST_MONTH", "data_type": "HOURS", "graph_type": "BAR",
             "sections": [{"values": [7.0] * 11, "titles": ["MARCH"]}, {"values": [8.0] * 19, "titles": ["APRIL"]}]}
    bubbles = {"time_scale": "LAST_WEEK", "data_type": "PERCENTS", "graph_type": "BUBBLES",
               "sections": [{"values": [0.3, 0.5, 0.2], "titles": ["LIGHT", "MEDIUM", "SOUND"]}]}
    payload = {"graphs": [week_grid([80, 81, -1, 83, 84, 85, 86]), durations, month, bubbles]}
    rows = decode(sense.TRENDS_V2, payload)["sense_trends"]  # captured 2017-04-20 15:30 UTC
    days = [date(2017, 4, d) for d in range(13, 20)]
    grid = [r for r in rows if r["data_type"] == "SCORES"]
    assert [r["date"] for r in grid] == [None] * 4 + days + [None] * 3
    assert [r["value"] for r in grid if r["date"] == date(2017, 4, 15)] == [None]  # -1: no data, yet dated
    bars = [r for r in rows if r["data_type"] == "HOURS" and r["time_scale"] == "LAST_WEEK"]
    assert [r["date"] for r in bars] == days
    assert bars[1]["value"] == 20400.0  # 340 minutes / 60 as a float32, not 20399.9994 s
    months = [r for r in rows if r["time_scale"] == "LAST_MONTH"]
    assert months[0]["date"] == date(2017, 3, 21) and months[-1]["date"] == date(2017, 4, 19)
    assert all(r["date"] is None for r in rows if r["data_type"] == "PERCENTS")


def test_v2_trend_days_stay_null_when_the_layout_does_not_pin_them():
    reversed_titles = {"time_scale": "LAST_WEEK", "data_type": "HOURS", "graph_type": "BAR",
                       "sections": [{"values": [7.0] * 7, "titles": ["Wed", "Tue", "Mon", "Sun", "Sat", "Fri", "Thu"]}]}
    (bar,) = {r["date"] for r in decode(sense.TRENDS_V2, {"graphs": [reversed_titles]})["sense_trends"][:1]}
    assert bar == date(2017, 4, 13)  # the server names a week's durations from yesterday backwards: also read
    no_marks = {"time_scale": "LAST_WEEK", "data_type": "HOURS", "sections": [{"values": [7.0] * 7}]}
    short = week_grid([80, 81, 82])
    for graph in (no_marks, short):
        assert {r["date"] for r in decode(sense.TRENDS_V2, {"graphs": [graph]})["sense_trends"]} == {None}
    saved = decode(sense.TRENDS_V2, {"graphs": [week_grid([80] * 7)]}, captured_at=None)["sense_trends"]
    assert {r["date"] for r in saved} == {None}  # no capture time: no today


def test_v2_trends_without_capture_time_have_no_snapshot_day():
    rows = decode(sense.TRENDS_V2, v2_trends(), captured_at=None)["sense_trends"]
    assert {r["snapshot_day"] for r in rows} == {None}
    assert rows[0]["trend_set"] == "v2/LAST_WEEK/SCORES/GRID/-"


def test_trends_schema_rejects_text_values():
    bad = v2_trends()
    bad["graphs"][0]["sections"][0]["values"][2] = "78"
    assert schema_problem(sense.TRENDS_V2.schema, bad).startswith("at /graphs/0/sections/0/values/2")


def test_insights_real_file_drop_account_id(reference):
    payload = load(reference, "insights.json")
    rows = decode(sense.INSIGHTS, payload)["sense_insights"]
    assert [r["category"] for r in rows] == ["GENERIC", "SLEEP_DURATION", "SLEEP_HYGIENE"]
    assert rows[0]["time"] == 1428082329484 * 1000
    assert rows[0]["title"] == "Nice To Meet You" and "**Sleep Insights**" in rows[0]["message"]
    assert rows[1]["info_preview"] == "Sleep Duration: What's the ideal?"
    assert all(r["api_version"] == 1 and r["insight_id"] is None for r in rows)
    account_ids = {card["account_id"] for card in payload}
    for r in rows:
        assert "account_id" not in r
        assert not account_ids & set(r.values())
        assert not any(str(a) in str(v) for a in account_ids for v in r.values() if isinstance(v, str))


def test_2014_insights_with_only_created_utc_title_and_message_decode():
    """The 2014 app's Insight model (suripu-android api/model/Insight.java): id, title, message, created_utc."""
    payload = [{"id": 12, "title": "Welcome", "message": "Hi **there**.", "created_utc": 1411500000000},
               {"id": 13, "title": "Light", "message": "Dark room.", "created_utc": "2014-09-24T06:00:00Z"}]
    rows = decode(sense.INSIGHTS, payload)["sense_insights"]
    assert [(r["time"], r["insight_id"], r["category"], r["title"]) for r in rows] == [
        (1411500000000 * 1000, "12", None, "Welcome"), (utc(2014, 9, 24, 6), "13", None, "Light")]


def test_an_insight_list_of_an_unknown_shape_makes_the_file_partial(tmp_path):
    har = write_har(tmp_path / "x.har", [entry("https://api.hello.is/v1/insights", [{"headline": "x", "when": 1}])])
    (f,) = convert([Input(har, "x.har", True)]).files
    assert (f.status, f.rejects) == ("partial", 1)
    assert f.error == "1 device response of a shape databack does not know (kept in rejects)"


def test_v2_insights_keep_id_and_type():
    m = devices.match("api.hello.is", "GET", "/v2/insights")
    payload = [{"id": "c0ffee00-0000-4000-8000-000000000001", "account_id": 99, "title": "Light",
                "message": "Your room was **bright**.", "category": "LIGHT", "category_name": "Light",
                "timestamp": 1492700000000, "info_preview": None, "image": None, "insight_type": "DEFAULT"}]
    (r,) = decode(m.endpoint, payload, m.path_params)["sense_insights"]
    assert (r["insight_id"], r["insight_type"], r["api_version"]) == (payload[0]["id"], "DEFAULT", 2)
    assert r["category_name"] == "Light" and r["time"] == 1492700000000 * 1000


def v2_devices(battery: int = 87, last_updated: int = 1492690000000) -> dict:
    """GET /v2/devices as SENSE-API.md §2g lists its fields (no real file exists)."""
    return {
        "senses": [{"id": "8AF6441AF72321F4", "firmware_version": "1530208f", "state": "NORMAL",
                    "last_updated": 1492700000000, "color": "BLACK",
                    "wifi_info": {"ssid": "home", "rssi": -50}, "hw_version": "SENSE_WITH_VOICE"}],
        "pills": [{"id": "D2B4E2AC7A3F6E1C", "firmware_version": "2", "battery_level": battery,
                   "last_updated": last_updated, "state": "NORMAL", "color": "BLUE", "battery_type": "SEALED"}],
    }


def test_v2_devices():
    rows = decode(sense.DEVICES, v2_devices())["sense_devices"]
    s, p = rows
    assert (s["device_kind"], s["device_id"], s["hw_version"], s["battery_pct"]) == (
        "sense", "8AF6441AF72321F4", "SENSE_WITH_VOICE", None)
    assert s["last_updated"] == 1492700000000 * 1000 and s["firmware_version"] == "1530208f"
    assert (p["device_kind"], p["battery_pct"], p["battery_type"], p["color"]) == ("pill", 87, "SEALED", "BLUE")
    assert all("home" not in r.values() for r in rows)  # the Wi-Fi network name (ssid) is not kept


def test_a_senses_wifi_info_keeps_when_the_signal_was_last_heard_and_drops_its_own_sense_id():
    """suripu-core's WifiInfo sends sense_id, ssid, rssi, condition and last_updated (epoch ms)."""
    payload = v2_devices()
    payload["senses"][0]["wifi_info"] |= {"sense_id": "8AF6441AF72321F4", "condition": "GOOD",
                                          "last_updated": 1492699000000}
    s, p = decode(sense.DEVICES, payload)["sense_devices"]
    assert (s["wifi_rssi_dbm"], s["wifi_condition"], s["wifi_last_updated"]) == (-50, "GOOD", 1492699000000 * 1000)
    assert p["wifi_last_updated"] is None
    assert sense.DEVICES.fields.unknown_in_sample(payload) == []


def test_devices_schema_requires_device_lists():
    assert schema_problem(sense.DEVICES.schema, {"status": "OK"}) is not None
    assert schema_problem(sense.DEVICES.schema, {"pills": [{"firmware_version": "2"}]}) is not None


# --- Through the whole pipeline: which capture wins -------------------------------------------------------------

def run(tmp_path, entries) -> dict[str, pl.DataFrame]:
    har = write_har(tmp_path / "x.har", entries)
    result = convert([Input(har, "x.har", True)])
    assert result.ok and result.files[0].rejects == 0
    return result.tables


def night(events: list[tuple[int, str]], score: int) -> dict:
    return {
        "score": score,
        "score_condition": "IDEAL",
        "message": f"Score {score}",
        "date": "2017-03-02",
        "events": [{"timestamp": ts, "timezone_offset": -28800000, "duration_millis": 60000, "message": kind,
                    "sleep_depth": 0, "sleep_state": "AWAKE", "event_type": kind} for ts, kind in events],
        "metrics": [{"name": "total_sleep", "value": 400, "unit": "MINUTES", "condition": "IDEAL"},
                    {"name": "times_awake", "value": 3, "unit": "QUANTITY", "condition": "IDEAL"}],
    }


def test_timeline_edit_replaces_the_earlier_copy_of_the_night_entirely(tmp_path):
    base = "https://api.hello.is/v2/timeline/2017-03-02"
    fell, snored, woke = 1488520800000, 1488535200000, 1488549600000
    before = night([(fell, "FELL_ASLEEP"), (snored, "SNORED"), (woke, "WOKE_UP")], 80)
    after = night([(fell, "FELL_ASLEEP"), (woke + 600000, "WOKE_UP")], 82)  # snore removed, wake-up moved
    after["metrics"] = after["metrics"][:1]
    tables = run(tmp_path, [
        entry(base, before, started="2017-03-03T08:00:00Z"),
        entry(f"{base}/events/WOKE_UP/{woke}", after, method="PATCH", started="2017-03-03T08:05:00Z"),
    ])
    events = tables["sense_timeline_events"]
    assert events["event_type"].to_list() == ["FELL_ASLEEP", "WOKE_UP"]
    assert events["time"].to_list() == [datetime(2017, 3, 3, 6, tzinfo=UTC), datetime(2017, 3, 3, 14, 10, tzinfo=UTC)]
    assert set(events["source_entry"].to_list()) == {1}
    assert tables["sense_nights"]["score"].to_list() == [82]
    assert tables["sense_night_metrics"]["name"].to_list() == ["total_sleep"]  # times_awake went with the old copy


def test_timeline_delete_then_get_the_newest_wins_whatever_the_method(tmp_path):
    base = "https://api.hello.is/v2/timeline/2017-03-02"
    deleted = night([(1488520800000, "FELL_ASLEEP")], 75)
    fresh = night([(1488520800000, "FELL_ASLEEP"), (1488549600000, "WOKE_UP")], 79)
    tables = run(tmp_path, [
        entry(f"{base}/events/SNORED/1488535200000", deleted, method="DELETE", started="2017-03-03T09:00:00Z"),
        entry(base, fresh, started="2017-03-03T08:00:00Z"),  # listed later, captured earlier
    ])
    assert tables["sense_nights"]["score"].to_list() == [75]
    assert tables["sense_timeline_events"]["event_type"].to_list() == ["FELL_ASLEEP"]


def test_trends_same_day_recapture_replaces_the_set_and_other_days_are_kept(tmp_path):
    url = "https://api.hello.is/v2/trends/LAST_WEEK"
    morning = v2_trends()
    evening = copy.deepcopy(morning)
    evening["graphs"][0]["sections"][0]["values"] = [None, 78, -1, 85, 91, 60]  # one value fewer
    next_day = copy.deepcopy(morning)
    tables = run(tmp_path, [
        entry(url, morning, started="2017-04-20T08:00:00Z"),
        entry(url, evening, started="2017-04-20T20:00:00Z"),
        entry(url, next_day, started="2017-04-21T08:00:00Z"),
    ])
    t = tables["sense_trends"]
    grid = t.filter(pl.col("data_type") == "SCORES")
    first = grid.filter(pl.col("snapshot_day") == date(2017, 4, 20))
    assert first["value"].to_list() == [None, 78, None, 85, 91, 60]  # no stale 7th value from the morning
    assert set(first["source_entry"].to_list()) == {1}
    assert grid.filter(pl.col("snapshot_day") == date(2017, 4, 21)).height == 7
    assert t.select(TABLES["sense_trends"].key).is_duplicated().sum() == 0


def test_v1_dated_trend_points_are_one_record_per_day_across_captures(tmp_path, reference):
    url = "https://api.hello.is/v1/insights/trends/graph?data_type=SLEEP_SCORE&time_period=1M"
    payload = load(reference, "single_trend.json")
    later = copy.deepcopy(payload)
    later[0]["data_points"] = later[0]["data_points"][1:] + [
        {"data_label": "GOOD", "datetime": 1420588800000, "offset_millis": -28800000, "x_value": "", "y_value": 88.0}]
    tables = run(tmp_path, [
        entry(url, payload, started="2015-01-07T08:00:00Z"),
        entry(url, later, started="2015-02-06T08:00:00Z"),
    ])
    t = tables["sense_trends"].sort("date")
    assert t["date"].to_list() == [date(2015, 1, 5), date(2015, 1, 6), date(2015, 1, 7)]
    assert t["value"].to_list() == [72.0, 75.0, 88.0]
    assert t["source_entry"].to_list() == [0, 1, 1]  # Jan 5 only the first capture had; Jan 6 from the newest


def test_a_v1_dated_trend_point_seen_again_elsewhere_in_a_later_window_is_a_duplicate_not_a_conflict(tmp_path,
                                                                                                     reference):
    """A 1W/1M graph's window slides between captures: Jan 6's point, the same value, is second in one and first in
    the next. It was counted as a conflict (its place was part of what was compared); Jan 6 sent anew with another
    score is one."""
    url = "https://api.hello.is/v1/insights/trends/graph?data_type=SLEEP_SCORE&time_period=1M"
    payload = load(reference, "single_trend.json")
    later = copy.deepcopy(payload)
    later[0]["data_points"] = later[0]["data_points"][1:] + [
        {"data_label": "GOOD", "datetime": 1420588800000, "offset_millis": -28800000, "x_value": "", "y_value": 88.0}]
    revised = copy.deepcopy(later)
    revised[0]["data_points"][0]["y_value"] = 80.0
    for second, duplicates, conflicts in ((later, 1, 0), (revised, 0, 1)):
        har = write_har(tmp_path / "x.har", [entry(url, payload, started="2015-01-07T08:00:00Z"),
                                             entry(url, second, started="2015-02-06T08:00:00Z")])
        result = convert([Input(har, "x.har", True)])
        (f,) = result.files
        assert (f.duplicates["sense_trends"], f.conflicts["sense_trends"]) == (duplicates, conflicts)
        t = result.tables["sense_trends"].sort("date")
        assert t["position"].to_list() == [0, 0, 0]  # each the first (only) point of its day


def test_no_account_id_reaches_any_table(tmp_path, reference):
    insights = load(reference, "insights.json")
    tables = run(tmp_path, [
        entry("https://api.hello.is/v1/insights", insights),
        entry("https://api.hello.is/v2/devices", v2_devices()),
        entry("https://api.hello.is/v2/trends/LAST_WEEK", v2_trends()),
    ])
    assert {"sense_insights", "sense_devices", "sense_trends"} <= set(tables)
    account_ids = {str(card["account_id"]) for card in insights}
    for name, df in tables.items():
        assert "account_id" not in df.columns
        for column in df.columns:
            values = [str(v) for v in df[column].to_list() if v is not None]
            assert not account_ids & set(values), (name, column)


def test_device_history_builds_up_by_last_contact(tmp_path):
    url = "https://api.hello.is/v2/devices"
    tables = run(tmp_path, [
        entry(url, v2_devices(87, 1492690000000), started="2017-04-20T12:00:00Z"),
        entry(url, v2_devices(87, 1492690000000), started="2017-04-20T13:00:00Z"),  # same contact: a duplicate
        entry(url, v2_devices(80, 1493290000000), started="2017-04-27T12:00:00Z"),
    ])
    pills = tables["sense_devices"].filter(pl.col("device_kind") == "pill").sort("last_updated")
    assert pills["battery_pct"].to_list() == [87.0, 80.0]
    assert tables["sense_devices"].filter(pl.col("device_kind") == "sense").height == 1


def test_a_response_that_decodes_to_nothing_with_fields_of_no_known_shape_makes_the_file_partial(tmp_path):
    har = write_har(tmp_path / "x.har", [
        entry("https://api.hello.is/v2/trends/LAST_WEEK", {"graphs": [], "charts": [{"points": [1, 2]}]}),
        entry("https://api.hello.is/v2/trends/LAST_MONTH", {"available_time_scales": [], "graphs": []}),
    ])
    result = convert([Input(har, "x.har", True)])
    (f,) = result.files
    assert (f.status, f.rejects, dict(f.device_responses)) == ("partial", 1, {"sense/trends-v2": 1})
    (reject,) = result.tables["rejects"].to_dicts()
    assert reject["reason"] == "decodes to nothing; fields of no known shape: charts[]/points[]"


def test_v1_and_v2_sensor_histories_of_one_bucket_are_two_records_each_with_its_unit(tmp_path, monkeypatch):
    """A v1 history (GET /v1/room/all_sensors/24hours) and a v2 one (POST /v2/sensors) of the same 5-minute bucket are
    two records, not copies of one: the servers computed them differently (hello/suripu SensorViewLogic.data passes
    useAudioPeakEnergy=true to DeviceDataDAODynamoDB.generateTimeSeriesByUTCTimeAllSensors, the v1
    RoomConditionsResource does not; v1 particulates were an AQI on early servers, Bucketing.populateMapAll), and
    each row says its unit: suripu-app SensorViewFactory's for v2 (MG_CM for particulates and VOCs, µg/m³), the v1
    API's own names (room/current) for v1. Keyed by sensor, resolution and time alone, the later capture replaced
    the other as a "conflict"."""
    t, n = 1488544200000, 40  # 2017-03-03T12:30:00Z; long enough to be read by columns as well as value by value
    times = [t + 300_000 * i for i in range(n)]
    v1 = {sensor: [{"datetime": at, "value": value, "offset_millis": -28800000} for at in times]
          for sensor, value in (("temperature", 21.5), ("sound", 38.0), ("particulates", 12.0))}
    v2 = {"timestamps": [{"t": at, "o": -28800000} for at in times],
          "sensors": {name: [value] * n for name, value in (
              ("TEMPERATURE", 21.5), ("SOUND", 44.0), ("PARTICULATES", 12.0), ("CO2", 612.0), ("TVOC", 90.0),
              ("UV", 0.0), ("PRESSURE", 1012.5))}}
    har = write_har(tmp_path / "room.har", [
        entry("https://api.hello.is/v1/room/all_sensors/24hours?from_utc=1488555000000", v1,
              started="2017-03-03T07:31:00.000-08:00"),
        entry("https://api.hello.is/v2/sensors", v2, method="POST", started="2017-03-03T07:32:00.000-08:00",
              post='{"scope":"DAY_5_MINUTE","sensors":["TEMPERATURE","SOUND"]}'),
        entry("https://api.hello.is/v2/sensors", v2, method="POST", started="2017-03-03T07:33:00.000-08:00",
              post='{"scope":"DAY_5_MINUTE","sensors":["TEMPERATURE","SOUND"]}'),
    ])
    for columnar in (True, False):
        with monkeypatch.context() as m:
            m.setattr(columns, "by_columns", columnar)
            result = convert([Input(har, "room.har", True)])
        samples = result.tables["sense_sensor_samples"]
        assert samples.height == 10 * n
        samples = samples.filter(pl.col("time") == datetime(2017, 3, 3, 12, 30, tzinfo=UTC))
        samples = samples.sort("api_version", "sensor")
        assert samples.select("api_version", "sensor", "value", "unit").rows() == [
            (1, "particulates", 12.0, "aqi"), (1, "sound", 38.0, "db"), (1, "temperature", 21.5, "celsius"),
            (2, "co2", 612.0, "ppm"), (2, "particulates", 12.0, "mg_cm"), (2, "pressure", 1012.5, "millibar"),
            (2, "sound", 44.0, "db"), (2, "temperature", 21.5, "celsius"), (2, "tvoc", 90.0, "mg_cm"),
            (2, "uv", 0.0, "count"),
        ]
        assert (result.duplicates["sense_sensor_samples"], result.conflicts["sense_sensor_samples"]) == (7 * n, 0)


def test_a_v1_single_sensor_history_asked_for_a_named_sense_is_decoded_as_the_sensors_history(tmp_path, monkeypatch):
    """GET /v1/room/{sensor}/{device_name}/day and …/24hours (suripu-app RoomConditionsResource getLastDayDeviceName,
    getLast24hoursDeviceName) answer the same `List<Sample>` as /v1/room/{sensor}/day, of the Sense named in the
    path rather than the account's latest: 5-minute samples with their offsets. They were counted as undecoded
    device paths, their samples in no table. The same bucket asked both ways is one record (an account has one
    Sense at a time), a duplicate."""
    t, n = 1422432000000, 120  # 2015-01-28T08:00:00Z; long enough to be read by columns as well as value by value
    samples = [{"datetime": t + 300_000 * i, "value": 20.5 + i / 100, "offset_millis": -28800000} for i in range(n)]
    har = write_har(tmp_path / "room.har", [
        entry("https://api.hello.is/v1/room/temperature/0CA0B6C7A4B5D3E2/day?from=1422460800000", samples,
              started="2015-01-28T07:31:00.000-08:00"),
        entry("https://api.hello.is/v1/room/humidity/0CA0B6C7A4B5D3E2/24hours?from=1422460800000",
              [s | {"value": 40.0} for s in samples], started="2015-01-28T07:31:30.000-08:00"),
        entry("https://api.hello.is/v1/room/temperature/day?from=1422460800000", samples,
              started="2015-01-28T07:32:00.000-08:00"),
    ])
    for columnar in (True, False):
        with monkeypatch.context() as m:
            m.setattr(columns, "by_columns", columnar)
            result = convert([Input(har, "room.har", True)])
        report = result.files[0]
        assert report.undecoded_device_paths == {}
        assert report.device_responses == {"sense/room-sensor-history": 3}
        rows = result.tables["sense_sensor_samples"].sort("sensor", "time")
        assert rows.height == 2 * n
        assert rows.select("sensor", "api_version", "unit", "resolution_s").unique().sort("sensor").rows() == [
            ("humidity", 1, "percent", 300), ("temperature", 1, "celsius", 300)]
        first = rows.filter(pl.col("sensor") == "temperature").row(0, named=True)
        assert (first["time"], first["utc_offset_s"], first["value"]) == (
            datetime(2015, 1, 28, 8, tzinfo=UTC), -28800, 20.5)
        assert (result.duplicates["sense_sensor_samples"], result.conflicts["sense_sensor_samples"]) == (n, 0)


@pytest.mark.parametrize("woke_up_ms", [10**15, -(10**15)])
def test_a_time_in_epoch_ms_outside_years_1_to_9999_rejects_its_exchange_with_a_reason_that_says_so(tmp_path,
                                                                                                     woke_up_ms):
    """Epoch-ms times were taken whatever their year where no schema bounds them: a v2 night's woke_up metric of
    10**15 ms wrote year 33658 into sense_night_metrics (and sleep_nights), on which export omh failed. Such a time
    rejects its exchange as an ISO time outside years 1 to 9999 does; the reject's reason reads as it was made
    ("could not decode: ValueError: …" lost its error to the policy, which took it for a code's value)."""
    from converters.export_omh import export
    from converters.pipeline import collect_inputs
    from converters.writers import write

    har = orjson.loads((REPO / "samples" / "phone-sync.har").read_bytes())
    [night] = [e for e in har["log"]["entries"] if e["request"]["url"].endswith("/v2/timeline/2017-03-01")]
    body = orjson.loads(night["response"]["content"]["text"])
    [woke_up] = [m for m in body["metrics"] if m["name"] == "woke_up"]
    woke_up["value"] = woke_up_ms
    night["response"]["content"]["text"] = orjson.dumps(body).decode()
    (tmp_path / "night.har").write_bytes(orjson.dumps(har))
    out = tmp_path / "out"
    write(convert(collect_inputs([tmp_path / "night.har"])), out)
    rejects = pl.read_parquet(out / "rejects.parquet").filter(pl.col("endpoint") == "sense/timeline-v2")
    assert rejects["reason"].to_list() == ["could not be decoded: ValueError: a time before year 1 or after year 9999 "
                                           "in UTC"]
    nights = pl.read_parquet(out / "sense_nights.parquet")["night"].to_list()
    assert date(2017, 3, 1) not in nights and date(2017, 3, 2) in nights  # the night alone is rejected
    export(out, tmp_path / "omh")


def test_a_night_metric_of_a_unit_not_known_keeps_its_value_in_its_unit(tmp_path):
    """A v2 metric's value was kept only for the units MINUTES and QUANTITY (and TIMESTAMP's time): one of another
    unit (written in lower case, none, or one not listed) became a row of null value and unit, the value lost
    without a word. Now a unit's case does not matter, and a value of an unknown unit is kept as sent, in its unit
    (as v1 statistics of no known unit are); sleep_nights takes a device figure only in the unit it is in."""
    night = {"date": "2017-03-01", "score": 80, "events": [], "metrics": [
        {"name": "total_sleep", "value": 400, "unit": "minutes", "condition": "IDEAL"},
        {"name": "sound_sleep", "value": 1.5, "unit": "HOURS", "condition": "IDEAL"},
        {"name": "time_to_sleep", "value": 12, "condition": "IDEAL"},
        {"name": "temperature", "value": 21, "unit": "CONDITION", "condition": "IDEAL"},
        {"name": "times_awake", "value": 2, "unit": "QUANTITY", "condition": "IDEAL"},
        {"name": "humidity", "unit": "CONDITION", "condition": "IDEAL"},
    ]}
    rows = {m["name"]: (m["value"], m["unit"]) for m in decode(sense.TIMELINE_V2, night)["sense_night_metrics"]}
    assert rows == {"total_sleep": (24000.0, "s"), "sound_sleep": (1.5, "hours"), "time_to_sleep": (12.0, None),
                    "temperature": (21.0, "condition"), "times_awake": (2.0, "count"), "humidity": (None, None)}

    nights = run(tmp_path, [entry("https://api.hello.is/v2/timeline/2017-03-01", night)])["sleep_nights"]
    (row,) = nights.to_dicts()
    assert (row["device_total_sleep_s"], row["device_awakenings"]) == (24000.0, 2)
    assert row["device_sound_sleep_s"] is None and row["device_sleep_latency_s"] is None  # hours, no unit: not s


def test_an_insight_card_fetched_through_v1_and_v2_is_a_duplicate_not_a_conflict(tmp_path):
    """GET /v1/insights and /v2/insights give the same cards, v2 with its id, display name and type, and each copy
    says which API it came through (api_version, as the Band's copies say `api`): the v1 copy of a card, every value
    of which the v2 copy kept holds, was counted a conflict. A card that differs in a value is still one."""
    v2 = {"id": "c0ffee00-0000-4000-8000-000000000001", "account_id": 99, "title": "Light",
          "message": "Your room was **bright**.", "category": "LIGHT", "category_name": "Light",
          "timestamp": 1492700000000, "info_preview": None, "image": None, "insight_type": "DEFAULT"}
    v1 = {k: v2[k] for k in ("account_id", "title", "message", "category", "timestamp", "info_preview")}
    for v1_card, conflicts in ((v1, 0), ({**v1, "message": "Your room was dark."}, 1)):
        har = write_har(tmp_path / "cards.har", [
            entry("https://api.hello.is/v1/insights", [v1_card], started="2017-04-20T08:00:00.000-07:00"),
            entry("https://api.hello.is/v2/insights", [v2], started="2017-04-20T08:01:00.000-07:00")])
        result = convert([Input(har, "cards.har", True)])
        (card,) = result.tables["sense_insights"].rows(named=True)
        assert (card["insight_id"], card["api_version"], card["message"]) == (v2["id"], 2, v2["message"])
        assert (result.duplicates["sense_insights"], result.conflicts["sense_insights"]) == (1 - conflicts, conflicts)


def test_two_insight_cards_made_at_one_moment_are_two_cards(tmp_path):
    """sense_insights was keyed by time and category alone, so two cards the server made at one moment (the 2014
    cards: no category, a created_utc to the second; v1 cards of one category in the same millisecond) were taken
    for copies of one: the older lost, counted a conflict. A card is also its title."""
    for n, cards in enumerate([[{"id": 12, "title": "Welcome", "message": "Hi.", "created_utc": "2014-09-24T06:00:00Z"},
                   {"id": 13, "title": "Light", "message": "Dark room.", "created_utc": "2014-09-24T06:00:00Z"}],
                  [{"category": "GENERIC", "title": "Nice To Meet You", "message": "Welcome.",
                    "timestamp": 1428082329484},
                   {"category": "GENERIC", "title": "Questions", "message": "Answer them.",
                    "timestamp": 1428082329484}]]):
        har = write_har(tmp_path / f"cards{n}.har", [entry("https://api.hello.is/v1/insights", cards)])
        result = convert([Input(har, "cards.har", True)])
        assert sorted(result.tables["sense_insights"]["title"]) == sorted(c["title"] for c in cards)
        assert not result.conflicts["sense_insights"] and not result.duplicates["sense_insights"]


def test_a_night_metric_time_with_a_fraction_of_a_millisecond_keeps_its_microseconds():
    """A v2 TIMESTAMP metric is epoch ms, which the schema lets be a float: 1488520800123.5 was cut to ...123 ms
    (int()), and -1.5 ms (before 1970) to -1 ms, towards zero: now the nearest µs, exactly."""
    night = {"date": "2017-03-01", "score": 80, "events": [], "metrics": [
        {"name": "fell_asleep", "value": 1488520800123.5, "unit": "TIMESTAMP", "condition": "IDEAL"},
        {"name": "woke_up", "value": -1.5, "unit": "TIMESTAMP", "condition": "IDEAL"},
    ]}
    rows = {m["name"]: m["time"] for m in decode(sense.TIMELINE_V2, night)["sense_night_metrics"]}
    assert rows == {"fell_asleep": 1488520800123500, "woke_up": -1500}
