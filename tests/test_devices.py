"""Routes recognise device URLs as the apps sent them; decoders turn real payloads into rows with the right units."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from converters import devices
from converters.devices import band, sense
from converters.devices.base import Request, datetime_us, row_by_row
from converters.tables import TABLES
from converters.validation import schema_problem


def endpoint(host: str, method: str, path: str) -> str | None:
    m = devices.match(host, method, path)
    return None if m is None else (m.endpoint.name if m.endpoint else "undecoded")


@pytest.mark.parametrize(
    "host, method, path, expected",
    [
        # Android percent-encodes the OData key arguments; other clients send them raw.
        ("prodphseus.dns-cargo.com", "GET", "/v1/Events(eventType=%27Sleeping%27)", "band/events"),
        ("prodphswus.dns-cargo.com", "GET", "/v1/Events(eventType='Running')", "band/events"),
        ("prodphsweu.dns-cargo.com", "GET", "/v1/Events(eventId='2519812557630091728')", "band/events"),
        ("prodphseus.dns-cargo.com", "GET", "//v1/Events", "band/events"),  # as typed in the story's URL
        ("prodphseus.dns-cargo.com", "GET", "/v1/events", "band/events"),
        ("PRODPHSEUS.dns-cargo.com", "GET", "/v1/Events", "band/events"),  # host names are case-insensitive
        ("prodphseus.dns-cargo.com", "GET", "/v2/UserDailySummary(startDate='2019-03-10')", "band/daily-summaries"),
        ("prodphseus.dns-cargo.com", "GET", "/v2/Goals", "undecoded"),
        ("prodphseus.dns-cargo.com", "DELETE", "/v1/Events(eventid='1')", "undecoded"),
        ("prodkds.dns-cargo.com", "GET", "/api/v1/user", "band/auth"),
        ("api.hello.is", "GET", "/v2/timeline/2017-04-20", "sense/timeline-v2"),
        ("api.hello.is", "GET", "/v2/timeline/2017-04-20T07:31", "sense/timeline-v2"),  # iOS adds the time
        ("api.hello.is", "PATCH", "/v2/timeline/2017-04-20/events/WOKE_UP/1492700000000", "sense/timeline-v2"),
        ("api.hello.is", "GET", "/v1/timeline/2015-01-20", "sense/timeline-v1"),
        ("dev-api.hello.is", "GET", "/timeline/2014-09-08", "sense/timeline-v1"),  # 2014: no version
        ("canary-api.hello.is", "GET", "/v1/room/current", "sense/room-current"),
        ("api.hello.is", "GET", "/room/current", "sense/room-current"),
        ("api.hello.is", "GET", "/v1/room/all_sensors/hours", "sense/room-all-sensors"),
        ("api.hello.is", "GET", "/v1/room/all_sensors/week", "sense/room-all-sensors"),
        ("api.hello.is", "GET", "/v1/room/temperature/day", "sense/room-sensor-history"),
        ("api.hello.is", "GET", "/v1/room/particulates/24hours", "sense/room-sensor-history"),
        ("api.hello.is", "GET", "/v2/sensors", "sense/sensors-current"),
        ("api.hello.is", "POST", "/v2/sensors", "sense/sensors-history"),
        ("api.hello.is", "POST", "/v1/oauth2/token", "sense/auth"),
        ("api.hello.is", "DELETE", "/v1/oauth2/token", "sense/auth"),
        ("api.hello.is", "GET", "/v1/account", "undecoded"),
        ("hello.is", "GET", "/v2/timeline/2017-04-20", None),
        ("www.google.com", "GET", "/v1/Events", None),
    ],
)
def test_route_table_recognises_each_client_url_form(host, method, path, expected):
    assert endpoint(host, method, path) == expected


def test_path_parameters_come_from_the_decoded_path():
    m = devices.match("api.hello.is", "GET", "/v2/timeline/2017-04-20T07%3A31")
    assert m.endpoint.name == "sense/timeline-v2" and m.path_params == {"date": "2017-04-20"}


def decode(endpoint, payload, path_params=None, body=None, captured_at=None):
    assert schema_problem(endpoint.schema, payload) is None
    rows = list(row_by_row(endpoint.decode(payload, Request(path_params or {}, {}, body, captured_at))))
    out: dict[str, list] = {}
    for table, row in rows:
        assert set(row) <= set(TABLES[table].row_schema), table  # a column left out is null; none misnamed
        out.setdefault(table, []).append(dict.fromkeys(TABLES[table].row_schema) | row)
    return out


def utc(*args) -> int:
    """A UTC time as decoders give it: epoch microseconds."""
    return datetime_us(datetime(*args, tzinfo=UTC))


def load(reference, name):
    return orjson.loads((reference / name).read_bytes())


def test_band_run_converts_units_and_keeps_microseconds(reference):
    t = decode(band.EVENTS, load(reference, "band-private/run.json"))
    (event,) = t["band_events"]
    assert event["event_id"] == "2519812557630091728"
    assert event["start_time"] == utc(2015, 1, 12, 6, 43, 56, 990827)
    assert event["day_id"] == date(2015, 1, 11)  # a local date: not shifted by the UTC start time
    assert event["duration_s"] == 1830
    assert event["distance_m"] == pytest.approx(2367.02)  # 236702 cm
    assert event["pace_s_per_km"] == pytest.approx(773.482)  # 773482 ms/km
    assert len(t["band_sequences"]) == 3 and len(t["band_map_points"]) == 98 and len(t["band_minutes"]) == 31
    minute = next(m for m in t["band_minutes"] if m["time"] == utc(2015, 1, 12, 7, 13))
    assert minute["distance_m"] == pytest.approx(119.06)  # TotalDistance is the string "11906" (cm)
    last = max(t["band_map_points"], key=lambda p: p["ordinal"])
    assert last["time"] == utc(2015, 1, 12, 7, 14, 27, 990827)  # start + 1831 s


def test_band_event_id_is_start_time_in_reverse_ticks(reference):
    """EventId = 3155378975999999999 - StartTime in .NET ticks (BAND-API.md), checked on every real event."""
    for name in ("run.json", "workout.json", "guidedworkout.json"):
        for event in decode(band.EVENTS, load(reference, f"band-private/{name}"))["band_events"]:
            ticks = 3155378975999999999 - int(event["event_id"])
            epoch_ticks = 621355968000000000
            start_us = (ticks - epoch_ticks) // 10
            assert start_us == event["start_time"]


def test_band_map_point_coordinates_are_degrees_and_metres():
    payload = {
        "EventId": "1",
        "EventType": "Running",
        "StartTime": "2015-06-01T10:00:00Z",
        "MapPoints": [
            {
                "MapPointOrdinal": 0,
                "SecondsSinceStart": 5,
                "MapPointType": "Start",
                "Location": {"Latitude": 476205000, "Longitude": -1223493000, "AltitudeFromMSL": 5620, "EHPE": 300},
            }
        ],
    }
    (p,) = decode(band.EVENTS, payload)["band_map_points"]
    assert p["latitude_deg"] == pytest.approx(47.6205) and p["longitude_deg"] == pytest.approx(-122.3493)
    assert p["altitude_m"] == pytest.approx(56.2) and p["horizontal_error_m"] == pytest.approx(3.0)
    assert p["time"] == utc(2015, 6, 1, 10, 0, 5)


def test_band_sleep_event_fields_and_sequences():
    payload = {
        "value": [
            {
                "EventId": "2519600000000000000",
                "EventType": "Sleeping",
                "StartTime": "2015-01-10T06:30:00.1234567Z",
                "DayId": "2015-01-09T00:00:00Z",
                "Duration": 28800,
                "FallAsleepTime": "2015-01-10T06:40:00Z",
                "WakeUpTime": "2015-01-10T14:20:00Z",
                "NumberOfWakeups": 3,
                "RestingHeartRate": 52,
                "SleepEfficiencyPercentage": 91.5,
                "TotalRestfulSleep": 9000,
                "TotalRestlessSleep": 16000,
                "IsAutoDetected": False,
                "Sequences": [
                    {
                        "SequenceId": "635564934000000000",
                        "Order": 1,
                        "SequenceType": "Sleep",
                        "SleepType": "RestfulSleep",
                        "StartTime": "2015-01-10T06:30:00Z",
                        "Duration": 600,
                        "SleepTime": 600,
                    }
                ],
            }
        ]
    }
    t = decode(band.EVENTS, payload)
    (e,) = t["band_events"]
    assert e["start_time"] == utc(2015, 1, 10, 6, 30, 0, 123456)  # the 7th fractional digit is dropped
    assert (e["wakeups"], e["resting_hr_bpm"], e["sleep_efficiency_pct"]) == (3, 52, 91.5)
    assert (e["restful_sleep_s"], e["restless_sleep_s"]) == (9000, 16000)
    assert e["distance_m"] is None
    (s,) = t["band_sequences"]
    assert (s["sequence_type"], s["sleep_type"], s["duration_s"]) == ("Sleep", "RestfulSleep", 600)


def test_band_events_schema_rejects_a_wrong_shape_with_the_path():
    problem = schema_problem(band.EVENTS.schema, {"value": [{"EventId": ["x"], "EventType": "Running"}]})
    assert problem.startswith("at /value/0")


def test_sense_timeline_v1_maps_event_types_as_the_server_did(reference):
    t = decode(sense.TIMELINE_V1, load(reference, "sense/timeline_v1_with_statistics.json"), {"date": "2015-01-20"})
    (night,) = t["sense_nights"]
    assert night["night"] == date(2015, 1, 20) and night["score"] == 66 and night["api_version"] == 1
    by_raw = {(e["event_type_raw"], e["event_type"]) for e in t["sense_timeline_events"]}
    for raw, mapped in by_raw:
        assert mapped == sense.V1_TO_V2_EVENT_TYPE.get(raw, "UNKNOWN")
    metrics = {m["name"]: m for m in t["sense_night_metrics"]}
    stats = load(reference, "sense/timeline_v1_with_statistics.json")[0]["statistics"]
    assert metrics["total_sleep"]["value"] == stats["total_sleep"] * 60 and metrics["total_sleep"]["unit"] == "s"
    assert metrics["temperature"]["condition"] is not None  # v1 insights become condition metrics


def test_sense_timeline_v1_2014_null_event_type_is_in_bed_and_awake(reference):
    t = decode(sense.TIMELINE_V1, load(reference, "sense/timeline_v1_2014.json"), {"date": "2014-09-22"})
    nulls = [e for e in t["sense_timeline_events"] if e["event_type_raw"] is None]
    assert nulls and all(e["event_type"] == "IN_BED" for e in nulls)  # the later server's v1->v2 mapping
    assert all(e["utc_offset_s"] == -25200 for e in t["sense_timeline_events"])


@pytest.mark.parametrize(
    "name, states",
    [  # the real nights' segments by the v1 app's rule: 0 awake, 100 sound, below 60 light, else medium
        ("sense/timeline_v1_2014.json", {"SOUND": 12, "MEDIUM": 10, "LIGHT": 5, "AWAKE": 0}),
        ("sense/timeline_v1_with_statistics.json", {"SOUND": 6, "MEDIUM": 5, "LIGHT": 22, "AWAKE": 2}),
    ],
)
def test_sense_timeline_v1_segments_are_in_the_state_the_v1_app_drew_them(reference, name, states):
    t = decode(sense.TIMELINE_V1, load(reference, name))
    events = t["sense_timeline_events"]
    assert {s: sum(e["sleep_state"] == s for e in events) for s in states} == states
    for e in events:
        depth = e["sleep_depth"]
        expected = "AWAKE" if depth == 0 else "SOUND" if depth == 100 else "LIGHT" if depth < 60 else "MEDIUM"
        assert e["sleep_state"] == expected
    plain = [e for e in events if e["event_type_raw"] in ("", None)]
    assert sum(e["sleep_state"] != "AWAKE" for e in plain) == len(plain)  # ordinary sleep, not a night awake


def test_sense_v1_sleep_state_rule_edges():
    assert [sense.v1_sleep_state(d) for d in (None, -1, 0, 1, 59, 60, 99, 100)] == [
        None, "AWAKE", "AWAKE", "LIGHT", "LIGHT", "MEDIUM", "MEDIUM", "SOUND"]


def test_sense_timeline_v2_converts_ms_and_minutes():
    payload = {
        "score": 82,
        "score_condition": "IDEAL",
        "message": "You slept for **7.8 hours**.",
        "date": "2017-03-02",
        "events": [
            {
                "timestamp": 1488520800000,
                "timezone_offset": -28800000,
                "duration_millis": 540000,
                "message": "You fell asleep.",
                "sleep_depth": 40,
                "sleep_state": "MEDIUM",
                "event_type": "FELL_ASLEEP",
                "valid_actions": ["ADJUST_TIME"],
            }
        ],
        "metrics": [
            {"name": "total_sleep", "value": 468, "unit": "MINUTES", "condition": "IDEAL"},
            {"name": "times_awake", "value": 2, "unit": "QUANTITY", "condition": "IDEAL"},
            {"name": "fell_asleep", "value": 1488520800000, "unit": "TIMESTAMP", "condition": "IDEAL"},
            {"name": "temperature", "unit": "CONDITION", "condition": "WARNING"},
        ],
    }
    t = decode(sense.TIMELINE_V2, payload, {"date": "2017-03-02"})
    (ev,) = t["sense_timeline_events"]
    assert ev["time"] == utc(2017, 3, 3, 6, 0)
    assert (ev["utc_offset_s"], ev["duration_s"]) == (-28800, 540)
    m = {x["name"]: x for x in t["sense_night_metrics"]}
    assert (m["total_sleep"]["value"], m["total_sleep"]["unit"]) == (468 * 60, "s")
    assert (m["times_awake"]["value"], m["times_awake"]["unit"]) == (2, "count")
    assert m["fell_asleep"]["time"] == utc(2017, 3, 3, 6, 0) and m["fell_asleep"]["value"] is None
    assert m["temperature"]["condition"] == "WARNING"


def test_sense_room_current_units_are_normalised(reference):
    t = decode(sense.ROOM_CURRENT, load(reference, "sense/current_conditions.json"))
    by_sensor = {r["sensor"]: r for r in t["sense_room_readings"]}
    assert by_sensor["temperature"]["unit"] == "celsius" and by_sensor["humidity"]["unit"] == "percent"
    assert by_sensor["temperature"]["time"] == 1413235620000 * 1000  # last_updated_utc, ms


def test_sense_fahrenheit_readings_become_celsius():
    payload = {"sensors": [{"type": "TEMPERATURE", "unit": "FAHRENHEIT", "value": 68.0}]}
    when = datetime(2017, 1, 1, tzinfo=UTC)
    (r,) = decode(sense.SENSORS_CURRENT, payload, captured_at=when)["sense_room_readings"]
    assert (r["value"], r["unit"], r["time"]) == (20.0, "celsius", datetime_us(when))


def test_sense_v2_sensor_history_gaps_are_null_and_resolution_comes_from_scope(reference):
    payload = load(reference, "sense/post_sensors_v2_LAST_3H_5_MINUTE.json")
    rows = decode(sense.SENSORS_HISTORY, payload, body=b'{"scope":"WEEK_1_HOUR"}')["sense_sensor_samples"]
    assert len(rows) == len(payload["timestamps"]) * len(payload["sensors"])
    assert {r["resolution_s"] for r in rows} == {3600}
    gaps = sum(v == -1 for values in payload["sensors"].values() for v in values)
    assert gaps and sum(r["value"] is None for r in rows) == gaps


def test_sense_v2_sensor_history_without_request_body_infers_resolution(reference):
    payload = load(reference, "sense/post_sensors_v2_LAST_3H_5_MINUTE.json")
    rows = decode(sense.SENSORS_HISTORY, payload)["sense_sensor_samples"]
    assert {r["resolution_s"] for r in rows} == {300}


def test_sense_v1_all_sensors_history(reference):
    payload = load(reference, "sense/room_sensor_history.json")
    rows = decode(sense.ALL_SENSORS, payload, {"period": "hours"})["sense_sensor_samples"]
    assert {r["sensor"] for r in rows} == set(payload)
    assert all(r["resolution_s"] == 300 and r["utc_offset_s"] == -28800 for r in rows)


def test_sense_v1_all_sensors_buckets_where_every_sensor_reads_zero_are_gaps(reference):
    payload = load(reference, "sense/room_sensor_history.json")
    first = payload["temperature"][0]["datetime"]
    assert all(samples[0] == {**samples[0], "datetime": first, "value": 0.0} for samples in payload.values())
    rows = decode(sense.ALL_SENSORS, payload, {"period": "hours"})["sense_sensor_samples"]
    at_first = [r for r in rows if r["time"] == first * 1000]
    assert len(at_first) == 5 and all(r["value"] is None for r in at_first)  # 0 °C, 0 %, 0 lux at once: a gap
    assert all(r["value"] is not None for r in rows if r["time"] != first * 1000)


def test_sense_v1_zero_is_a_reading_unless_every_sensor_reads_zero_and_minus_one_is_a_gap():
    t0, t1 = 1422432000000, 1422432300000
    payload = {
        "light": [{"datetime": t0, "value": 0.0}, {"datetime": t1, "value": 0.0}],
        "temperature": [{"datetime": t0, "value": 0.0}, {"datetime": t1, "value": 19.5}],
        "humidity": [{"datetime": t0, "value": -1}, {"datetime": t1, "value": 41.0}],
    }
    rows = decode(sense.ALL_SENSORS, payload, {"period": "hours"})["sense_sensor_samples"]
    values = {(r["sensor"], r["time"] // 1000): r["value"] for r in rows}
    assert values == {("light", t0): 0.0, ("temperature", t0): 0.0, ("humidity", t0): None,  # -1 is not 0
                      ("light", t1): 0.0, ("temperature", t1): 19.5, ("humidity", t1): 41.0}  # a dark room
    alone = decode(sense.ALL_SENSORS, {"light": [{"datetime": t0, "value": 0.0}]})["sense_sensor_samples"]
    assert alone[0]["value"] == 0.0  # one sensor alone cannot tell a gap from darkness
    single = decode(sense.SENSOR_HISTORY, [{"datetime": t0, "value": -1}, {"datetime": t1, "value": 0}],
                    {"sensor": "light", "period": "day"})["sense_sensor_samples"]
    assert [r["value"] for r in single] == [None, 0.0]


def test_sense_parallel_arrays_of_different_length_are_an_error_not_a_silent_cut():
    payload = {"timestamps": [{"t": 0, "o": 0}, {"t": 300000, "o": 0}], "sensors": {"LIGHT": [1.0]}}
    with pytest.raises(ValueError):
        decode(sense.SENSORS_HISTORY, payload)


T = 1496188800000  # 2017-05-31 00:00 UTC, in ms
# Every Sense endpoint whose payloads carry UTC offsets: (endpoint, path parameters, a payload with the offset o).
PAYLOADS_WITH_AN_OFFSET = {
    "sensors-history": (
        sense.SENSORS_HISTORY, {}, lambda o: {"timestamps": [{"t": T, "o": o}], "sensors": {"LIGHT": [1.0]}}
    ),
    "room-all-sensors": (
        sense.ALL_SENSORS, {}, lambda o: {"light": [{"datetime": T, "value": 1.0, "offset_millis": o}]}
    ),
    "room-sensor-history": (
        sense.SENSOR_HISTORY, {"sensor": "light"}, lambda o: [{"datetime": T, "value": 1.0, "offset_millis": o}]
    ),
    "timeline-v2": (sense.TIMELINE_V2, {}, lambda o: {"date": "2017-05-30", "events": [
        {"timestamp": T, "timezone_offset": o, "duration_millis": 60000, "event_type": "IN_BED"}]}),
    "timeline-v1": (sense.TIMELINE_V1, {}, lambda o: [{"date": "2017-05-30", "segments": [
        {"timestamp": T, "offset_millis": o, "duration": 60, "event_type": "SLEEP"}]}]),
    "trends-v1": (sense.TRENDS_V1, {}, lambda o: [{"data_type": "SLEEP_SCORE", "data_points": [
        {"datetime": T + 3_600_000, "offset_millis": o, "y_value": 80}]}]),
}


@pytest.mark.parametrize("kind", PAYLOADS_WITH_AN_OFFSET)
@pytest.mark.parametrize("offset_ms", [86_400_001, -86_400_001, 2**62])
def test_a_sense_utc_offset_of_more_than_a_day_rejects_the_response(kind, offset_ms):
    endpoint, path_params, payload = PAYLOADS_WITH_AN_OFFSET[kind]
    problem, rows, _ = devices.decode_payload(payload(offset_ms), endpoint, Request(path_params, {}, None, None))
    assert problem == f"could not be decoded: ValueError: a UTC offset of {offset_ms} ms is more than a day"
    assert rows == []


@pytest.mark.parametrize("kind", PAYLOADS_WITH_AN_OFFSET)
@pytest.mark.parametrize("offset_ms", [86_400_000, -86_400_000, -25_200_000])
def test_a_sense_utc_offset_of_up_to_a_day_either_way_is_kept_in_seconds(kind, offset_ms):
    endpoint, path_params, payload = PAYLOADS_WITH_AN_OFFSET[kind]
    problem, rows, _ = devices.decode_payload(payload(offset_ms), endpoint, Request(path_params, {}, None, None))
    assert problem is None
    offsets = {r["utc_offset_s"] for _, r in row_by_row(rows) if "utc_offset_s" in r}
    assert offsets == {offset_ms // 1000}


@pytest.mark.parametrize(
    "name, endpoint",
    [
        ("band-private/run.json", band.EVENTS),
        ("band-private/workout.json", band.EVENTS),
        ("band-private/guidedworkout.json", band.EVENTS),
        ("sense/timeline_v1_2014.json", sense.TIMELINE_V1),
        ("sense/timeline_v1_with_statistics.json", sense.TIMELINE_V1),
        ("sense/current_conditions.json", sense.ROOM_CURRENT),
        ("sense/room_sensor_history.json", sense.ALL_SENSORS),
        ("sense/get_sensors_v2.json", sense.SENSORS_CURRENT),
        ("sense/post_sensors_v2_LAST_3H_5_MINUTE.json", sense.SENSORS_HISTORY),
    ],
)
def test_every_real_payload_in_scope_fits_its_schema_and_decodes(reference, name, endpoint):
    t = decode(endpoint, load(reference, name), {"date": "2015-01-20", "period": "hours", "sensor": "light"})
    assert sum(map(len, t.values())) > 0
