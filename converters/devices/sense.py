"""Hello Sense: api.hello.is (and dev-api., canary-api.), see SENSE-API.md.

Units on the wire: times in epoch ms UTC with offsets in ms, v2 durations in ms, v1 segment durations in seconds,
timeline statistics in minutes; sensor history marks gaps with -1.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .base import Device, Endpoint, Request, Row, Rows, datetime_us, integer, iso_date, ms_utc, number, per, route

# Hello's server mapping of v1 timeline event types to v2 (suripu-core timeline/v2/TimelineEvent.from).
V1_TO_V2_EVENT_TYPE = {
    "SLEEPING": "IN_BED",
    "NONE": "IN_BED",
    "": "IN_BED",
    None: "IN_BED",
    "IN_BED": "GOT_IN_BED",
    "SLEEP": "FELL_ASLEEP",
    "WAKE_UP": "WOKE_UP",
    "OUT_OF_BED": "GOT_OUT_OF_BED",
    "MOTION": "GENERIC_MOTION",
    "NOISE": "GENERIC_SOUND",
    "ALARM": "ALARM_RANG",
    "SNORING": "SNORED",
    "SLEEP_TALK": "SLEEP_TALKED",
    "PARTNER_MOTION": "PARTNER_MOTION",
    "LIGHT": "LIGHT",
    "LIGHTS_OUT": "LIGHTS_OUT",
    "SUNSET": "SUNSET",
    "SUNRISE": "SUNRISE",
}
NO_EVENT = {"NONE", "", None}  # v1 "no event": a plain segment, shown awake by the server

# v2 metric units -> (our unit, factor to that unit)
METRIC_UNITS = {"MINUTES": ("s", 60.0), "QUANTITY": ("count", 1.0)}
V1_STATISTICS = {  # v1 statistics field -> (unit, factor)
    "total_sleep": ("s", 60.0),
    "sound_sleep": ("s", 60.0),
    "time_to_sleep": ("s", 60.0),
    "uninterrupted_sleep": ("s", 60.0),
    "times_awake": ("count", 1.0),
}
ROOM_UNITS = {"c": "celsius", "celsius": "celsius", "celcius": "celsius", "%": "percent"}
FAHRENHEIT = {"f", "fahrenheit"}
# Width of a sensor-history bucket by v1 period or v2 scope.
RESOLUTION_S = {"hours": 300, "24hours": 300, "day": 300, "week": 3600}
SCOPE_RESOLUTION_S = {"DAY_5_MINUTE": 300, "LAST_3H_5_MINUTE": 300, "WEEK_1_HOUR": 3600}


def sleep_state(depth: int | None) -> str | None:
    """The server's rule (suripu-core SleepState): <5 AWAKE, <10 LIGHT, <70 MEDIUM, else SOUND."""
    if depth is None:
        return None
    return "AWAKE" if depth < 5 else "LIGHT" if depth < 10 else "MEDIUM" if depth < 70 else "SOUND"


def decode_timeline_v2(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v2/timeline/{date} (and event edits, which answer with the whole night)."""
    night = _night(payload, request)
    yield "sense_nights", _night_row(night, payload, 2)
    for ev in payload.get("events") or ():
        yield "sense_timeline_events", {
            "night": night,
            "time": ms_utc(ev["timestamp"]),
            "utc_offset_s": _offset_s(ev.get("timezone_offset")),
            "duration_s": per(ev.get("duration_millis"), 1000),
            "event_type": ev.get("event_type"),
            "event_type_raw": ev.get("event_type"),
            "sleep_depth": integer(ev.get("sleep_depth")),
            "sleep_state": ev.get("sleep_state"),
            "message": ev.get("message"),
        }
    for m in payload.get("metrics") or ():
        unit_raw = m.get("unit")
        value = m.get("value")
        row = _metric_row(night, m["name"], m.get("condition"))
        if unit_raw == "TIMESTAMP":
            row["time"] = ms_utc(value)
        elif unit_raw in METRIC_UNITS and value is not None:
            row["unit"], factor = METRIC_UNITS[unit_raw]
            row["value"] = float(value) * factor
        yield "sense_night_metrics", row


def decode_timeline_v1(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/timeline/{date}: an array of nights with segments, statistics and insights."""
    for tl in payload:
        night = _night(tl, request)
        yield "sense_nights", _night_row(night, tl, 1)
        for seg in tl.get("segments") or ():
            raw = seg.get("event_type")
            depth = integer(seg.get("sleep_depth"))
            yield "sense_timeline_events", {
                "night": night,
                "time": ms_utc(seg["timestamp"]),
                "utc_offset_s": _offset_s(seg.get("offset_millis")),
                "duration_s": number(seg.get("duration")),
                "event_type": V1_TO_V2_EVENT_TYPE.get(raw, "UNKNOWN"),
                "event_type_raw": raw,
                "sleep_depth": depth,
                "sleep_state": "AWAKE" if raw in NO_EVENT else sleep_state(depth),
                "message": seg.get("message"),
            }
        for name, (unit, factor) in V1_STATISTICS.items():
            value = (tl.get("statistics") or {}).get(name)
            if value is not None:
                yield "sense_night_metrics", _metric_row(night, name, None, value=float(value) * factor, unit=unit)
        for ins in tl.get("insights") or ():
            yield "sense_night_metrics", _metric_row(night, ins["sensor"], ins.get("condition"), ins.get("message"))


def _night(timeline: dict[str, Any], request: Request):
    """The night of a timeline: its own `date`, else the date in the URL."""
    night = iso_date(timeline.get("date")) or iso_date(request.path_params.get("date"))
    if night is None:
        raise ValueError("the timeline names no date, and neither does its URL")
    return night


def _night_row(night, tl: dict[str, Any], api_version: int) -> Row:
    return {
        "night": night,
        "score": integer(tl.get("score")),
        "score_condition": tl.get("score_condition"),
        "message": tl.get("message"),
        "api_version": api_version,
    }


def _metric_row(night, name: str, condition, message=None, *, value=None, unit=None) -> Row:
    return {
        "night": night,
        "name": name.lower(),
        "value": value,
        "unit": unit,
        "time": None,
        "condition": condition,
        "message": message,
    }


def decode_room_current(payload: dict[str, dict[str, Any]], request: Request) -> Rows:
    """GET /v1/room/current: one reading per sensor, each with its own update time."""
    for sensor, r in payload.items():
        if isinstance(r, dict):
            yield "sense_room_readings", _reading_row(
                ms_utc(r.get("last_updated_utc")), sensor, r.get("value"), r.get("unit"), r
            )


def decode_sensors_current(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v2/sensors: current readings; the payload has no time, so the capture time is used."""
    for s in payload.get("sensors") or ():
        yield "sense_room_readings", _reading_row(datetime_us(request.captured_at), s["type"], s.get("value"), s.get("unit"), s)


def _reading_row(time, sensor: str, value, unit: str | None, r: dict[str, Any]) -> Row:
    value = number(value)
    unit_l = unit.lower() if unit else None
    if unit_l in FAHRENHEIT:
        value, unit_l = (None if value is None else round((value - 32) * 5 / 9, 6)), "celsius"
    return {
        "time": time,
        "sensor": sensor.lower(),
        "value": value,
        "unit": ROOM_UNITS.get(unit_l, unit_l),
        "condition": r.get("condition"),
        "message": r.get("message"),
    }


def decode_all_sensors(payload: dict[str, list[dict[str, Any]]], request: Request) -> Rows:
    """GET /v1/room/all_sensors/{hours,24hours,week}: `{sensor: [samples]}`."""
    period = request.path_params.get("period")
    for sensor, samples in payload.items():
        resolution = RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in samples[:2]])
        yield from _v1_samples(sensor, samples, resolution)


def decode_sensor_history(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/room/{sensor}/{day,week,24hours}: `[samples]` of the sensor named in the URL."""
    sensor, period = request.path_params.get("sensor"), request.path_params.get("period")
    if sensor is None:
        raise ValueError("the sensor is named only in the URL, which a saved response does not have")
    resolution = RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in payload[:2]])
    yield from _v1_samples(sensor, payload, resolution)


def _v1_samples(sensor: str, samples: list[dict[str, Any]], resolution: int) -> Rows:
    for s in samples:
        yield "sense_sensor_samples", {
            "time": ms_utc(s["datetime"]),
            "utc_offset_s": _offset_s(s.get("offset_millis")),
            "sensor": sensor.lower(),
            "value": _gap_to_null(s.get("value")),
            "resolution_s": resolution,
        }


def decode_sensors_history(payload: dict[str, Any], request: Request) -> Rows:
    """POST /v2/sensors: parallel arrays of values per sensor over `timestamps`; -1 marks a gap."""
    stamps = payload["timestamps"]
    resolution = _scope_resolution(request.body) or _spacing_s(stamps)
    times = [(ms_utc(ts["t"]), _offset_s(ts.get("o"))) for ts in stamps]
    for sensor, values in payload["sensors"].items():
        name = sensor.lower()
        for (time, offset), value in zip(times, values, strict=True):
            yield "sense_sensor_samples", {
                "time": time,
                "utc_offset_s": offset,
                "sensor": name,
                "value": None if value == -1 else value,
                "resolution_s": resolution,
            }


def _scope_resolution(body: bytes | None) -> int | None:
    """Bucket width named by the request's `scope`, when the request body was captured."""
    try:
        scope = orjson.loads(body or b"{}").get("scope")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return SCOPE_RESOLUTION_S.get(str(scope).upper())


def _spacing_s(stamps: list[dict[str, Any]]) -> int | None:
    """Bucket width seen between the first two timestamps."""
    return (stamps[1]["t"] - stamps[0]["t"]) // 1000 if len(stamps) > 1 else None


def _gap_to_null(value) -> float | None:
    v = number(value)
    return None if v == -1 else v


def _offset_s(offset_ms) -> int | None:
    return None if offset_ms is None else int(offset_ms) // 1000


TIMELINE_V2 = Endpoint("sense/timeline-v2", "data", "sense-timeline-v2.json", decode_timeline_v2)
TIMELINE_V1 = Endpoint("sense/timeline-v1", "data", "sense-timeline-v1.json", decode_timeline_v1)
ROOM_CURRENT = Endpoint("sense/room-current", "data", "sense-room-current.json", decode_room_current)
ALL_SENSORS = Endpoint("sense/room-all-sensors", "data", "sense-room-all-sensors.json", decode_all_sensors)
SENSOR_HISTORY = Endpoint("sense/room-sensor-history", "data", "sense-room-sensor-history.json", decode_sensor_history)
SENSORS_CURRENT = Endpoint("sense/sensors-current", "data", "sense-sensors-current.json", decode_sensors_current)
SENSORS_HISTORY = Endpoint("sense/sensors-history", "data", "sense-sensors-history.json", decode_sensors_history)
AUTH = Endpoint("sense/auth", "auth")

DATE = r"(?P<date>\d{4}-\d{2}-\d{2})"
V1 = r"(?:/v1)?"  # 2014 clients sent unversioned paths
SENSOR = r"(?P<sensor>temperature|humidity|particulates|sound|light)"

DEVICE = Device(
    "sense",
    re.compile(r"(?:api|dev-api|canary-api)\.hello\.is", re.IGNORECASE),
    (
        route("GET", rf"/v2/timeline/{DATE}(?:T\d{{2}}:\d{{2}})?", TIMELINE_V2),
        route("PATCH DELETE", rf"/v2/timeline/{DATE}/events/[^/]+/\d+", TIMELINE_V2),
        route("GET", rf"{V1}/timeline/{DATE}", TIMELINE_V1),
        route("GET", rf"{V1}/room/current", ROOM_CURRENT),
        route("GET", rf"{V1}/room/all_sensors/(?P<period>hours|24hours|week)", ALL_SENSORS),
        route("GET", rf"{V1}/room/{SENSOR}/(?P<period>day|week|24hours)", SENSOR_HISTORY),
        route("GET", r"/v2/sensors", SENSORS_CURRENT),
        route("POST", r"/v2/sensors", SENSORS_HISTORY),
        route("GET POST PUT DELETE", rf"{V1}/oauth2(?:/.*)?", AUTH),
    ),
)
