"""Hello Sense: api.hello.is (and dev-api., canary-api.), see SENSE-API.md.

Units on the wire: times in epoch ms UTC with offsets in ms, v2 durations in ms, v1 segment durations in seconds,
timeline statistics in minutes; sensor history marks gaps with -1; trends: v2 HOURS in hours, PERCENTS as 0-1
fractions, null for padding and -1 for a day without data; v1 SLEEP_DURATION in minutes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from itertools import chain, repeat
import re
from functools import partial
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from .. import hosts
from ..captures.sniff import loads_json
from . import columns
from .columns import columnar
from .fields import Dropped, Fields, Target
from .base import (
    EPOCH,
    Block,
    Device,
    Endpoint,
    Request,
    Row,
    Rows,
    datetime_us,
    integer,
    integers,
    iso_date,
    iso_utc,
    ms_utc,
    number,
    per,
    route,
    scaled,
    values_of,
)

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
# The unit of a sensor history's values, which the histories do not send, by API version and sensor. v2: the unit
# GET /v2/sensors names for the sensor (hello/suripu suripu-app sensors/SensorViewFactory `units`; MG_CM is Hello's
# name for µg/m³, SensorUnit "micro grams per cubic meter"), lower case as sense_room_readings writes it. v1: the
# units v1 room/current names (suripu-core CurrentRoomState.State.Unit): particulates "AQI", which later servers
# computed as a density in µg/m³ under that name ("this should be State.Unit.MICRO_G_M3 but clients rely on string
# AQI"; Bucketing.populateMapAll, DataUtils.convertRawDustCountsToDensity) and early ones as an AQI
# (convertRawDustCountsToAQI): a v1 history does not say which. v1 and v2 also differ in sound: v2 is the peak energy
# where the Sense sent one (SensorViewLogic.data: useAudioPeakEnergy true; CalibratedDeviceData.sound).
SAMPLE_UNITS = {
    1: {"temperature": "celsius", "humidity": "percent", "light": "lux", "sound": "db", "particulates": "aqi"},
    2: {"temperature": "celsius", "humidity": "percent", "light": "lux", "sound": "db", "particulates": "mg_cm",
        "co2": "ppm", "tvoc": "mg_cm", "uv": "count", "pressure": "millibar"},
}
# Width of a sensor-history bucket by v1 period or v2 scope.
RESOLUTION_S = {"hours": 300, "24hours": 300, "day": 300, "week": 3600}
SCOPE_RESOLUTION_S = {"DAY_5_MINUTE": 300, "LAST_3H_5_MINUTE": 300, "WEEK_1_HOUR": 3600}


def v1_sleep_state(depth: int | None) -> str | None:
    """The sleep state the v1 app drew a segment in, by its depth alone (hello/suripu-android
    `is.hello.sense.util.Styles.getSleepDepthColorRes`, 2014-2015, commit 12ca585, kept in `ui/common/Styles.java`
    until the v2 timeline): 0 (and negative) awake, 100 deep, below 60 light, else intermediate; named here by the v2
    states AWAKE, SOUND, LIGHT, MEDIUM. (The iOS app of early 2015 put the light/intermediate line at 70.)"""
    if depth is None:
        return None
    return "AWAKE" if depth <= 0 else "SOUND" if depth >= 100 else "LIGHT" if depth < 60 else "MEDIUM"


def decode_timeline_v2(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v2/timeline/{date} (and event edits, which answer with the whole night)."""
    night = _night(payload, request)
    yield "sense_nights", _night_row(night, payload, 2)
    if events := payload.get("events"):
        yield from columnar("sense_timeline_events", len(events), _timeline_event_frames, (night, events),
                            lambda: [("sense_timeline_events", _timeline_event_block(night, events))],
                            long=columns.LONG // 10)
    for m in payload.get("metrics") or ():
        unit_raw = _upper(m.get("unit"))
        value = m.get("value")
        row = _metric_row(night, m["name"], m.get("condition"))
        if unit_raw == "TIMESTAMP":
            row["time"] = ms_utc(value)
        elif value is not None:  # a value of a unit not known here (none, CONDITION…) is kept as sent, in its unit
            row["unit"], factor = METRIC_UNITS.get(unit_raw) or (m.get("unit") and m["unit"].lower(), 1.0)
            row["value"] = float(value) * factor
        yield "sense_night_metrics", row


def _timeline_event_block(night: date, events: list[dict[str, Any]]) -> Block:
    col = partial(values_of, events)
    return Block(
        {
            "night": [night] * len(events),
            "time": [ms_utc(ev["timestamp"]) for ev in events],
            "utc_offset_s": [_offset_s(offset) for offset in col("timezone_offset")],
            "duration_s": scaled(col("duration_millis"), 1000),
            "event_type": col("event_type"),
            "event_type_raw": col("event_type"),
            "sleep_depth": integers(col("sleep_depth")),
            "sleep_state": col("sleep_state"),
            "message": col("message"),
            "sleep_period": col("sleep_period"),
            "valid_actions": [_joined(actions) for actions in col("valid_actions")],
        },
        len(events),
    )


TIMELINE_EVENT_TYPES = {"timestamp": "Int64", "timezone_offset": "Int64", "duration_millis": "Float64",
                        "event_type": "String", "sleep_depth": "Int64", "sleep_state": "String", "message": "String",
                        "sleep_period": "String"}


def _timeline_event_frames(responses: list[tuple[date, list[dict[str, Any]]]]):
    """`_timeline_event_block` of each (night, events) by columns (see `columns`), all at once."""
    import polars as pl

    items = list(chain.from_iterable(events for _, events in responses))
    e = columns.Items(items, {key: getattr(pl, t) for key, t in TIMELINE_EVENT_TYPES.items()})
    e.required("timestamp")
    # lists of texts (the schema's): joined here, as polars reading lists makes a Series of each (20 µs an item)
    actions = [",".join(actions) if actions else None for actions in map(dict.get, items, repeat("valid_actions"))]
    return e.frame("sense_timeline_events", {
        "night": e.runs(((n, len(events)) for n, events in responses), pl.Date),
        "time": e.ms_utc("timestamp"),
        "utc_offset_s": e.offsets_s("timezone_offset"),
        "duration_s": e.scaled("duration_millis", 1000),
        "event_type": e.texts("event_type"),
        "event_type_raw": e.texts("event_type"),
        "sleep_depth": e.integers("sleep_depth"),
        "sleep_state": e.texts("sleep_state"),
        "message": e.texts("message"),
        "sleep_period": e.texts("sleep_period"),
        "valid_actions": pl.Series(actions, dtype=pl.String),
    })


def decode_timeline_v1(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/timeline/{date}: an array of nights with segments, statistics and insights."""
    for tl in payload:
        night = _night(tl, request)
        yield "sense_nights", _night_row(night, tl, 1)
        for seg in tl.get("segments") or ():
            raw = seg.get("event_type")
            depth = integer(seg.get("sleep_depth"))
            time = ms_utc(seg["timestamp"])
            sound = seg.get("sound") or {}
            yield "sense_timeline_events", {
                "night": night,
                "time": time,
                "utc_offset_s": _offset_s(seg.get("offset_millis")),
                "duration_s": number(seg.get("duration")),
                "event_type": V1_TO_V2_EVENT_TYPE.get(raw, "UNKNOWN"),
                "event_type_raw": raw,
                "sleep_depth": depth,
                "sleep_state": v1_sleep_state(depth),
                "message": seg.get("message"),
                "segment_id": integer(seg.get("id")),
                "sleep_period": seg.get("sleep_period"),
                "sound_duration_s": per(sound.get("duration_millis"), 1000),
                "sound_empty": sound.get("is_empty"),
            }
            for reading in seg.get("sensors") or ():  # the room as the segment began (suripu-core SensorReading)
                yield "sense_room_readings", _reading_row(time, reading["name"], reading.get("value"),
                                                          reading.get("unit"), reading)
        for name, value in (tl.get("statistics") or {}).items():
            if value is not None:  # minutes, but times_awake; a statistic of no known unit is kept as sent
                unit, factor = V1_STATISTICS.get(name, (None, 1.0))
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
        "sleep_periods": _joined(tl.get("sleep_periods")),
        "locked_down": tl.get("locked_down"),
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
    """GET /v2/sensors: current readings, and the scale the app graded each by; the payload has no time, so the
    time the request was sent is used (a flow's captured_at, its response's end, is later than the same exchange's
    in a HAR, which records no response time: the same readings would be two records)."""
    for s in payload.get("sensors") or ():
        reading = _reading_row(datetime_us(request.sent_or_captured), s["type"], s.get("value"), s.get("unit"), s)
        yield "sense_room_readings", reading
        for position, r in enumerate(s.get("scale") or ()):
            yield "sense_sensor_scales", {
                "sensor": reading["sensor"],
                "unit": reading["unit"],
                "position": position,
                "name": r.get("name"),
                "min_value": _celsius(r.get("min"), s.get("unit")),
                "max_value": _celsius(r.get("max"), s.get("unit")),
                "condition": r.get("condition"),
            }


def _reading_row(time, sensor: str, value, unit: str | None, r: dict[str, Any]) -> Row:
    unit_l = unit.lower() if unit else None
    return {
        "time": time,
        "sensor": sensor.lower(),
        "value": _celsius(value, unit),
        "unit": "celsius" if unit_l in FAHRENHEIT else ROOM_UNITS.get(unit_l, unit_l),
        "condition": r.get("condition"),
        "message": r.get("message"),
        "ideal_conditions": r.get("ideal_conditions"),
        "sensor_name": r.get("name"),
    }


def _celsius(value, unit: str | None) -> float | None:
    """A reading as a number, converted to Celsius when its unit is Fahrenheit."""
    v = number(value)
    if v is not None and unit and unit.lower() in FAHRENHEIT:
        return round((v - 32) * 5 / 9, 6)
    return v


def decode_all_sensors(payload: dict[str, list[dict[str, Any]]], request: Request) -> Rows:
    """GET /v1/room/all_sensors/{hours,24hours,week}: `{sensor: [samples]}`. A bucket in which every sensor (two or
    more) reads exactly 0 is a gap the server filled with its default (0 °C, 0 % humidity and 0 lux at once is no
    reading): its values are null."""
    period = request.path_params.get("period")
    resolutions = {
        sensor: RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in samples[:2]])
        for sensor, samples in payload.items()
    }
    if any(payload.values()):
        yield from columnar("sense_sensor_samples", sum(map(len, payload.values())), _all_sensors_frames,
                            (payload, resolutions), lambda: _all_sensors_rows(payload, resolutions))


def _all_sensors_frames(responses: list[tuple[dict[str, list[dict[str, Any]]], dict[str, int | None]]]):
    """`_all_sensors_rows` of each (payload, resolutions) by columns: a bucket is a gap where two or more samples of
    one response fall and all of them are 0."""
    import polars as pl

    items, values = _v1_items([(sensor, samples, resolutions[sensor], n)
                               for n, (payload, resolutions) in enumerate(responses)
                               for sensor, samples in payload.items()])
    # a bucket (a time of one response) as one integer: windows over it cost half what they cost over the two
    bucket = pl.col("datetime") * len(responses) + values["response"]
    items.check(pl.col("datetime").is_between(-(2**62 // len(responses)), 2**62 // len(responses)))  # (no overflow)
    zeros = (values["raw"] == 0).fill_null(False).all().over(bucket) & (pl.len().over(bucket) >= 2)
    return items.frame("sense_sensor_samples", values | {"value": pl.when(~zeros).then(values["value"])})


def _all_sensors_rows(payload: dict[str, list[dict[str, Any]]], resolutions: dict[str, int | None]) -> Rows:
    gaps = _all_zero_buckets(payload)
    for sensor, samples in payload.items():
        yield from _v1_samples(sensor, samples, resolutions[sensor], gaps)


def _all_zero_buckets(payload: dict[str, list[dict[str, Any]]]) -> frozenset[int]:
    """The times (epoch ms) at which two or more sensors have a sample and every one of them is exactly 0."""
    seen: dict[int, int] = {}  # time -> sensors with a sample then; -1 once one of them is not 0
    for samples in payload.values():
        for s in samples:
            t, value = s["datetime"], s.get("value")
            if seen.get(t, 0) >= 0:
                seen[t] = seen.get(t, 0) + 1 if value == 0 else -1
    return frozenset(t for t, sensors in seen.items() if sensors >= 2)


def decode_sensor_history(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/room/{sensor}/{day,week,24hours} (and /v1/room/{sensor}/{device_name}/{day,24hours}): `[samples]` of
    the sensor named in the URL."""
    sensor, period = request.path_params.get("sensor"), request.path_params.get("period")
    if sensor is None:
        raise ValueError("the sensor is named only in the URL, which a saved response does not have")
    resolution = RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in payload[:2]])
    if payload:
        yield from columnar("sense_sensor_samples", len(payload), _sensor_history_frames, (sensor, payload, resolution),
                            lambda: _v1_samples(sensor, payload, resolution))


def _sensor_history_frames(responses: list[tuple[str, list[dict[str, Any]], int | None]]):
    items, values = _v1_items([(*response, n) for n, response in enumerate(responses)])
    return items.frame("sense_sensor_samples", values)


def _v1_items(histories: list[tuple[str, list[dict[str, Any]], int | None, int]]):
    """Samples of v1 sensor histories ((sensor, samples, resolution, response) each) by columns, -1 marking a gap:
    their items, and the expressions of their columns, with the values as sent (`value`, -1 a gap; `raw`) and the
    response of each sample (`response`)."""
    import polars as pl

    units = SAMPLE_UNITS[1]
    histories = [(sensor.lower(), *rest, units.get(sensor.lower())) for sensor, *rest in histories if rest[0]]
    items = columns.Items(list(chain.from_iterable(samples for _, samples, *_ in histories)),
                          {"datetime": pl.Int64, "offset_millis": pl.Int64, "value": pl.Float64})
    items.required("datetime")

    def each(i: int, dtype) -> pl.Expr:  # the history's `i`-th field, once a sample
        return items.runs(((h[i], len(h[1])) for h in histories), dtype)

    return items, {
        "time": items.ms_utc("datetime"),
        "utc_offset_s": items.offsets_s("offset_millis"),
        "sensor": each(0, pl.String),
        "value": columns.gaps_to_null(items.numbers("value")),
        "resolution_s": each(2, pl.Int64),
        "api_version": 1,
        "unit": each(4, pl.String),
        "raw": items.numbers("value"),
        "response": each(3, pl.Int64),
    }


def _v1_samples(
    sensor: str, samples: list[dict[str, Any]], resolution: int | None, gaps: frozenset[int] = frozenset()
) -> Rows:
    """Samples of one v1 sensor history, value by value: -1 marks a gap, and so do the buckets in `gaps` (times in
    epoch ms)."""
    if samples:
        yield "sense_sensor_samples", Block(
            {
                "time": [ms_utc(s["datetime"]) for s in samples],
                "utc_offset_s": [_offset_s(s.get("offset_millis")) for s in samples],
                "sensor": [sensor.lower()] * len(samples),
                "value": [None if s["datetime"] in gaps else _gap_to_null(s.get("value")) for s in samples],
                "resolution_s": [resolution] * len(samples),
                "api_version": [1] * len(samples),
                "unit": [SAMPLE_UNITS[1].get(sensor.lower())] * len(samples),
            },
            len(samples),
        )


def decode_sensors_history(payload: dict[str, Any], request: Request) -> Rows:
    """POST /v2/sensors: parallel arrays of values per sensor over `timestamps`; -1 marks a gap."""
    stamps = payload["timestamps"]
    resolution = _scope_resolution(request.body) or _spacing_s(stamps)
    for sensor, values in payload["sensors"].items():
        if len(values) != len(stamps):
            raise ValueError(f"{sensor} has {len(values)} values for {len(stamps)} timestamps")
    if any(payload["sensors"].values()):
        yield from columnar("sense_sensor_samples", len(stamps) * sum(map(bool, payload["sensors"].values())),
                            _sensors_frames, (payload, resolution), lambda: _sensors_rows(payload, resolution))


def _sensors_frames(responses: list[tuple[dict[str, Any], int | None]]):
    """`_sensors_rows` of each (payload, resolution) by columns: every sensor's values over its response's
    timestamps."""
    import polars as pl

    stamps = columns.Items(list(chain.from_iterable(payload["timestamps"] for payload, _ in responses)),
                           {"t": pl.Int64, "o": pl.Int64})
    stamps.required("t")
    times = stamps.collect({"time": stamps.ms_utc("t"), "utc_offset_s": stamps.offsets_s("o")})
    starts, ends, names, resolutions, values = [], [], [], [], []  # of each sensor's values
    at = 0
    for payload, resolution in responses:
        count = len(payload["timestamps"])
        for sensor, sent in payload["sensors"].items():
            if sent:
                starts.append(at)
                ends.append(at + count)
                names.append(sensor.lower())
                resolutions.append(resolution)
                values.append(sent)
        at += count
    rows = times[pl.select(pl.int_ranges(pl.Series(starts, dtype=pl.Int64), pl.Series(ends, dtype=pl.Int64))
                           .explode()).to_series()]
    lengths = pl.Series([end - start for start, end in zip(starts, ends)], dtype=pl.UInt64)  # (none is 0)
    array = pl.select(pl.int_range(0, len(names), dtype=pl.get_index_type()).repeat_by(lengths).explode()).to_series()
    sent = pl.Series(list(chain.from_iterable(values)), dtype=pl.Float64, strict=True)
    return columns.frame("sense_sensor_samples", rows.height, {
        "time": rows.get_column("time"),
        "utc_offset_s": rows.get_column("utc_offset_s"),
        "sensor": pl.Series(names, dtype=pl.String).gather(array),  # (a Python object an array, not a value)
        "value": sent.set(sent == -1, None),
        "resolution_s": pl.Series(resolutions, dtype=pl.Int64).gather(array),
        "api_version": 2,
        "unit": pl.Series([SAMPLE_UNITS[2].get(name) for name in names], dtype=pl.String).gather(array),
    })


def _sensors_rows(payload: dict[str, Any], resolution: int | None) -> Rows:
    times = [ms_utc(ts["t"]) for ts in payload["timestamps"]]
    offsets = [_offset_s(ts.get("o")) for ts in payload["timestamps"]]
    for sensor, values in payload["sensors"].items():
        if values:
            yield "sense_sensor_samples", Block(
                {
                    "time": times,
                    "utc_offset_s": offsets,
                    "sensor": [sensor.lower()] * len(values),
                    "value": [None if value == -1 else value for value in values],
                    "resolution_s": [resolution] * len(values),
                    "api_version": [2] * len(values),
                    "unit": [SAMPLE_UNITS[2].get(sensor.lower())] * len(values),
                },
                len(values),
            )


def _scope_resolution(body: bytes | None) -> int | None:
    """Bucket width named by the request's `scope`, when the request body was captured."""
    try:
        scope = loads_json(body or b"{}").get("scope")
    except (ValueError, AttributeError):  # not JSON, or over a limit
        return None
    return SCOPE_RESOLUTION_S.get(str(scope).upper())


def _spacing_s(stamps: list[dict[str, Any]]) -> int | None:
    """Bucket width seen between the first two timestamps."""
    return (stamps[1]["t"] - stamps[0]["t"]) // 1000 if len(stamps) > 1 else None


# Trends: data type -> (our unit, factor to that unit). v1 SLEEP_DURATION is in minutes (inferred: the real
# fixture's 375 and 555 are 6.25 and 9.25 hours of sleep, and v1 timeline statistics are minutes too).
TREND_UNITS = {
    "SCORES": ("score", 1.0),
    "HOURS": ("s", 3600.0),
    "PERCENTS": ("fraction", 1.0),
    "SLEEP_SCORE": ("score", 1.0),
    "SLEEP_DURATION": ("s", 60.0),
}
DAY_MS = 86_400_000
# v2 days per time scale (suripu-core trends/v2/TimeScale.java)
TIME_SCALE_DAYS = {"LAST_WEEK": 7, "LAST_MONTH": 30, "LAST_3_MONTHS": 90}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")


def decode_trends_v2(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v2/trends/{LAST_WEEK,LAST_MONTH,LAST_3_MONTHS}: graphs of sections of values, with titles but no dates.

    Every value is a row, padding included, so positions stay as the app laid them out. A graph is a view of the
    days before the capture: it is kept as a set per capture day (`trend_set`), newest capture wins. Where the
    server's layout pins each value's day, the row has its `date` (see `_v2_days`)."""
    snapshot = _capture_day(request)
    for g in payload.get("graphs") or ():
        time_scale = _upper(g.get("time_scale")) or _upper(request.path_params.get("time_scale"))
        data_type, graph_type = _upper(g.get("data_type")), _upper(g.get("graph_type"))
        unit, factor = TREND_UNITS.get(data_type, (None, 1.0))
        trend_set = _trend_set(2, time_scale, data_type, graph_type, snapshot)
        sections = g.get("sections") or []
        days = _v2_days(sections, time_scale, data_type, snapshot)
        for s_index, section in enumerate(sections):
            values = section.get("values") or []
            titles = section.get("titles") or []
            per_value = len(titles) == len(values)
            highlighted = set(section.get("highlighted_values") or ())
            if not values:
                continue
            numbers = [number(raw) for raw in values]
            missing = ["padding" if v is None else "no_data" if v == -1 else None for v in numbers]
            if data_type == "HOURS":  # minutes / 60 as a float32: whole minutes
                converted = [None if m else round(v * 60) * 60.0 for v, m in zip(numbers, missing)]
            else:
                converted = [None if m else v * factor for v, m in zip(numbers, missing)]
            n = len(values)
            yield "sense_trends", Block(  # (a block: a dict a value cost more than the decoding)
                {
                    "trend_set": [trend_set] * n,
                    "api_version": [2] * n,
                    "time_scale": [time_scale] * n,
                    "data_type": [data_type] * n,
                    "graph_type": [graph_type] * n,
                    "title": [g.get("title")] * n,
                    "date": days[s_index] if days else [None] * n,
                    "value": converted,
                    "unit": [unit] * n,
                    "missing": missing,
                    "snapshot_day": [snapshot] * n,
                    "section": [s_index] * n,
                    "section_title": [None if per_value or not titles else ", ".join(str(t) for t in titles)] * n,
                    "position": list(range(n)),
                    "label": titles if per_value else [None] * n,
                    "highlighted": [position in highlighted for position in range(n)],
                },
                n,
            )


def _v2_days(sections: list[dict[str, Any]], time_scale, data_type, captured: date | None) -> list[list] | None:
    """Per section, per value: the local day a v2 score or duration stands for, where the layout pins it; else None.

    The server (suripu-core trends/v2/TrendsProcessor and TrendsProcessorUtils) lays out one value per day from
    `today` - days(time scale) onwards (-1 for days without data), in order across sections, padded with nulls:
    score grids in week rows starting on Sunday, 3-month scores in whole months, durations in sections titled by
    month or, for a week, with a day name per value. `today` is the wearer's local date when the app asked: the
    capture's UTC date or a day either side. Each candidate is checked against the layout's own marks (grid
    columns, days of month, month titles, day names); dates are given only when exactly one candidate fits."""
    days = TIME_SCALE_DAYS.get(time_scale or "")
    if captured is None or days is None or data_type not in ("SCORES", "HOURS"):
        return None
    values = [s.get("values") or [] for s in sections]
    placed = [(i, j) for i, vs in enumerate(values) for j, v in enumerate(vs) if v is not None]
    if len(placed) not in (days, days + 1):
        return None
    fits = []
    for today in (captured - timedelta(days=1), captured, captured + timedelta(days=1)):
        dated = {(i, j): today - timedelta(days=days - k) for k, (i, j) in enumerate(placed)}
        if _layout_fits(sections, dated, today, time_scale, data_type):
            fits.append(dated)
    if len(fits) != 1:
        return None
    return [[fits[0].get((i, j)) for j in range(len(vs))] for i, vs in enumerate(values)]


def _layout_fits(sections: list[dict[str, Any]], dated: dict, today: date, time_scale: str, data_type: str) -> bool:
    """Whether days given to values agree with every mark of the layout that applies (and at least one applies)."""
    checks = []
    if data_type == "SCORES" and time_scale in ("LAST_WEEK", "LAST_MONTH"):  # week rows from Sunday (the first
        lengths = {len(s.get("values") or []) for s in sections}  # row's titles name the columns, not the values)
        return lengths == {7} and all(j == d.isoweekday() % 7 for (_, j), d in dated.items())
    if data_type == "SCORES" and time_scale == "LAST_3_MONTHS":
        checks.append(all(j == d.day - 1 for (_, j), d in dated.items()))  # whole months from the 1st
    for i, section in enumerate(sections):
        titles = section.get("titles") or []
        in_section = [(j, d) for (si, j), d in dated.items() if si == i]
        if len(titles) == 1 and (month := _month(titles[0])) and len(section.get("values") or []) != 1:
            checks.append(all(d.month == month for _, d in in_section))
        elif titles and len(titles) == len(section.get("values") or []) and all(map(_weekday, titles)):
            forward = all(d.isoweekday() in _weekday(titles[j]) for j, d in in_section)
            backward = all((today - timedelta(days=1 + j)).isoweekday() in _weekday(titles[j]) for j, _ in in_section)
            checks.append(forward or backward)  # the server names a week's durations from yesterday backwards
    return bool(checks) and all(checks)


def _weekday(title) -> set[int]:
    """The ISO weekdays a title may name (`S` names two), empty if it names none."""
    t = str(title).strip().lower()
    return {n for n, name in enumerate(WEEKDAY_NAMES, 1) if t and name.startswith(t)} if t.isalpha() else set()


def _month(title) -> int | None:
    t = str(title).strip().lower()
    return next((n for n, name in enumerate(MONTH_NAMES, 1) if len(t) >= 3 and name.startswith(t)), None)


def decode_trends_v1(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/insights/trends/{all,graph,list}: graphs of data points (`list`: graphs without points, no rows).

    A point with a `datetime` is one night's value, the same record in every capture that shows it; points with
    `datetime` 0 (day-of-week histograms) are a view at capture time, kept per capture day like v2 graphs."""
    snapshot = _capture_day(request)
    for g in payload:
        time_scale = _upper(g.get("time_period")) or _upper(request.query.get("time_period"))
        data_type = _upper(g.get("data_type")) or _upper(request.query.get("data_type"))
        graph_type = _upper(g.get("graph_type"))
        unit, factor = TREND_UNITS.get(data_type, (None, 1.0))
        of_day: Counter[date] = Counter()  # a dated point's place among the graph's points of its day
        for position, p in enumerate(g.get("data_points") or ()):
            time = ms_utc(p.get("datetime")) or None  # 0: the point has no date
            offset_s = _offset_s(p.get("offset_millis")) if time else None
            day = _point_day(p.get("datetime"), offset_s) if time else None
            if day:  # its set is its day's: where the capture's window put it is no part of the record
                position, of_day[day] = of_day[day], of_day[day] + 1
            trend_set = _trend_set(1, time_scale, data_type, graph_type, day or snapshot)
            yield "sense_trends", {
                **_trend_row(
                    1, time_scale, data_type, graph_type, g.get("title"), trend_set, p.get("y_value"), unit, factor
                ),
                "snapshot_day": None if day else snapshot,
                "section": 0,
                "section_title": None,
                "position": position,
                "label": p.get("x_value") or None,
                "highlighted": None,
                "date": day,
                "time": time,
                "utc_offset_s": offset_s,
                "condition": p.get("data_label"),
                "options": _joined(g.get("options")),
            }


def _trend_row(api_version, time_scale, data_type, graph_type, title, trend_set, raw, unit, factor) -> Row:
    value = number(raw)
    missing = "padding" if value is None else "no_data" if value == -1 else None
    return {
        "trend_set": trend_set,
        "api_version": api_version,
        "time_scale": time_scale,
        "data_type": data_type,
        "graph_type": graph_type,
        "title": title,
        "date": None,
        "time": None,
        "utc_offset_s": None,
        "value": None if missing else value * factor,
        "unit": unit,
        "missing": missing,
        "condition": None,
    }


def _trend_set(api_version: int, time_scale, data_type, graph_type, day: date | None) -> str:
    """The set of values a newer capture replaces whole: one graph on one day (the point's, or the capture's)."""
    parts = (time_scale, data_type, graph_type, day.isoformat() if day else None)
    return f"v{api_version}/" + "/".join(p or "-" for p in parts)


def _point_day(datetime_ms: int, offset_s: int | None) -> date:
    """The day a v1 trend point stands for: the server stamps days as UTC midnights; else the local date."""
    ms = int(datetime_ms)
    if ms % DAY_MS:
        ms += (offset_s or 0) * 1000
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _capture_day(request: Request) -> date | None:
    """The UTC date of the capture (None for a response saved without one)."""
    at = request.sent_or_captured
    if at is None:
        return None
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).date()


def _upper(value) -> str | None:
    """Enum names as the server writes them (the spec's examples use lower case; clients ignore the case)."""
    return str(value).upper() if value else None


def decode_insights(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/insights, /v2/insights: insight cards (`timestamp`, `category`…), or the 2014 ones (`id`, `title`,
    `message`, `created_utc`). `account_id` is left out on purpose."""
    api_version = 2 if request.path_params.get("version") == "v2" else 1
    for card in payload:
        created = card.get("timestamp")
        if created is None:
            created = card["created_utc"]
        yield "sense_insights", {
            "time": iso_utc(created) if isinstance(created, str) else ms_utc(created),
            "category": card.get("category"),
            "insight_id": _text(card.get("id")),
            "category_name": card.get("category_name"),
            "title": card.get("title"),
            "message": card.get("message"),
            "info_preview": card.get("info_preview"),
            "insight_type": card.get("insight_type"),
            "api_version": api_version,
        }


def decode_devices(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v2/devices: the account's Sense(s) and Sleep Pill(s), each with its last contact."""
    for kind, items in (("sense", payload.get("senses")), ("pill", payload.get("pills"))):
        for d in items or ():
            wifi = d.get("wifi_info") or {}
            yield "sense_devices", {
                "device_kind": kind,
                "device_id": d["id"],
                "last_updated": ms_utc(d.get("last_updated")),
                "firmware_version": _text(d.get("firmware_version")),
                "hw_version": _text(d.get("hw_version")),
                "state": d.get("state"),
                "color": d.get("color"),
                "battery_pct": number(d.get("battery_level")),
                "battery_type": d.get("battery_type"),
                "wifi_rssi_dbm": number(wifi.get("rssi")),
                "wifi_condition": wifi.get("condition"),
                "wifi_last_updated": ms_utc(wifi.get("last_updated")),
            }


def decode_questions(payload: list[dict[str, Any]], request: Request) -> Rows:
    """GET /v1/questions?date=: the questions asked, each with the choices offered."""
    for q in payload:
        question_id = q["id"]
        yield "sense_questions", {
            "account_question_id": q.get("account_question_id"),
            "question_id": question_id,
            "ask_date": _utc_day(q.get("ask_local_date")),
            "ask_time": _upper(q.get("ask_time")),
            "question_type": _upper(q.get("type")),
            "text": q.get("text"),
        }
        for position, c in enumerate(q.get("choices") or ()):
            yield "sense_question_choices", {
                "question_id": question_id,
                "choice_id": c["id"],
                "position": position,
                "text": c.get("text"),
            }


def decode_question_answers(payload: list[dict[str, Any]], request: Request) -> Rows:
    """POST /v1/questions/save?account_question_id=: the REQUEST body, the choices the user picked."""
    account_question_id = integer(request.query.get("account_question_id"))
    for c in payload:
        yield "sense_question_answers", _answer_row(account_question_id, c.get("question_id"), "answered", c)


def decode_question_skip(payload: dict[str, str], request: Request) -> Rows:
    """PUT /v1/questions/skip?account_question_id=&id=: the query names the question skipped."""
    yield "sense_question_answers", _answer_row(int(payload["account_question_id"]), payload["id"], "skipped", {})


def _answer_row(account_question_id: int | None, question_id, action: str, choice: dict[str, Any]) -> Row:
    return {
        "account_question_id": account_question_id,
        "question_id": integer(question_id),
        "action": action,
        "choice_id": choice.get("id"),
        "choice_text": choice.get("text"),
    }


ALARM_GROUPS = {"classic": "classic", "voice": "voice", "expansions": "expansion"}  # v2 group -> kind
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # Joda day_of_week 1..7
EXPANSION_STATE = {True: "on", False: "off", None: "unknown"}


def decode_alarms(payload: dict[str, Any] | list[dict[str, Any]], request: Request) -> Rows:
    """GET /v2/alarms (groups), GET /v1/alarms (a list), and the same shapes answering POST …/{client_time_utc}.

    A list is the state at capture time: its rows carry a fingerprint of the whole list (`alarm_set`), so the
    same alarms captured again, through either version, are the same records."""
    if isinstance(payload, list):  # v1: the server files voice alarms in their own group only in v2
        alarms = [("voice" if a.get("source") == "VOICE_SERVICE" else "classic", a) for a in payload]
    else:
        alarms = [(kind, a) for group, kind in ALARM_GROUPS.items() for a in payload.get(group) or ()]
    rows, positions = [], dict.fromkeys(ALARM_GROUPS.values(), 0)
    for kind, a in alarms:
        rows.append(_alarm_row(kind, positions[kind], a))
        positions[kind] += 1
    fingerprint = hashlib.sha256(orjson.dumps(rows)).hexdigest()[:16]
    for row in rows:
        yield "sense_alarms", {"alarm_set": fingerprint, **row}


def _alarm_row(kind: str, position: int, a: dict[str, Any]) -> Row:
    sound = a.get("sound") or {}
    days = sorted(set(a.get("day_of_week") or ()))
    year, month, day = a.get("year"), a.get("month"), a.get("day_of_month")
    expansions = [f"{e['id']}:{EXPANSION_STATE[e.get('enable')]}" for e in a.get("expansions") or ()]
    return {
        "kind": kind,
        "position": position,
        "alarm_id": a.get("id") or None,
        "hour": a["hour"],
        "minute": a["minute"],
        "repeat_days": ",".join(WEEKDAYS[d - 1] for d in days) or None,
        "repeated": a.get("repeated"),
        "ring_date": date(year, month, day) if not a.get("repeated") and year and month and day else None,
        "enabled": a.get("enabled"),
        "smart": a.get("smart"),
        "editable": a.get("editable"),
        "sound_id": integer(sound.get("id")),
        "sound_name": sound.get("name"),
        "source": a.get("source"),
        "expansions": ",".join(expansions) or None,
    }


def _utc_day(value_ms) -> date | None:
    """The UTC date of an epoch-ms instant (the server sends local days as UTC midnights)."""
    return None if value_ms is None else (EPOCH + timedelta(milliseconds=int(value_ms))).date()


def _joined(values) -> str | None:
    """A list of names as one text, joined by ','; null for none."""
    return ",".join(str(v) for v in values) if values else None


def _text(value) -> str | None:
    return None if value is None else str(value)


def _gap_to_null(value) -> float | None:
    v = number(value)
    return None if v == -1 else v


def _offset_s(offset_ms) -> int | None:
    """A UTC offset in ms as seconds. One of more than a day either way is not an offset: the response is rejected.
    (The schemas leave that bound to this: jsonschema-rs checks a bound on a negative integer ten times slower than
    on a positive one, which made checking a sensor history cost more than parsing it.)"""
    if offset_ms is None:
        return None
    if not -DAY_MS <= offset_ms <= DAY_MS:
        raise ValueError(f"a UTC offset of {offset_ms} ms is more than a day")
    return int(offset_ms) // 1000


# --- Where every field goes (see fields.py) ---------------------------------------------------------------------

ACCOUNT_ID = Dropped("identifies the account (account_id), not the wearer's data")
SIGNED_LINK = Dropped("a link to a file on Hello's servers (signed links are credentials; the servers are gone)")
NIGHT = ("sense_nights.night", "sense_timeline_events.night", "sense_night_metrics.night")


def night_fields(prefix: str) -> dict[str, Target]:
    """A timeline's own fields (v1 and v2) -> sense_nights."""
    return {
        f"{prefix}date": NIGHT,
        f"{prefix}score": "sense_nights.score",
        f"{prefix}score_condition": "sense_nights.score_condition",
        f"{prefix}message": "sense_nights.message",
        f"{prefix}sleep_periods[]": "sense_nights.sleep_periods",
        f"{prefix}locked_down": "sense_nights.locked_down",
    }


TIMELINE_V2_FIELDS = Fields(
    {
        **night_fields(""),
        "events[]/timestamp": "sense_timeline_events.time",
        "events[]/timezone_offset": "sense_timeline_events.utc_offset_s",
        "events[]/duration_millis": "sense_timeline_events.duration_s",
        "events[]/message": "sense_timeline_events.message",
        "events[]/sleep_depth": "sense_timeline_events.sleep_depth",
        "events[]/sleep_state": "sense_timeline_events.sleep_state",
        "events[]/event_type": ("sense_timeline_events.event_type", "sense_timeline_events.event_type_raw"),
        "events[]/sleep_period": "sense_timeline_events.sleep_period",
        "events[]/valid_actions[]": "sense_timeline_events.valid_actions",
        "metrics[]/name": "sense_night_metrics.name",
        "metrics[]/value": ("sense_night_metrics.value", "sense_night_metrics.time"),
        "metrics[]/unit": ("sense_night_metrics.unit", "sense_night_metrics.value"),
        "metrics[]/condition": "sense_night_metrics.condition",
    }
)
SEGMENT = "[]/segments[]"
TIMELINE_V1_FIELDS = Fields(
    {
        **night_fields("[]/"),
        f"{SEGMENT}/id": "sense_timeline_events.segment_id",
        f"{SEGMENT}/timestamp": ("sense_timeline_events.time", "sense_room_readings.time"),
        f"{SEGMENT}/duration": "sense_timeline_events.duration_s",
        f"{SEGMENT}/offset_millis": "sense_timeline_events.utc_offset_s",
        f"{SEGMENT}/sleep_depth": ("sense_timeline_events.sleep_depth", "sense_timeline_events.sleep_state"),
        f"{SEGMENT}/event_type": ("sense_timeline_events.event_type", "sense_timeline_events.event_type_raw"),
        f"{SEGMENT}/message": "sense_timeline_events.message",
        f"{SEGMENT}/sleep_period": "sense_timeline_events.sleep_period",
        f"{SEGMENT}/sensors[]/name": "sense_room_readings.sensor",
        f"{SEGMENT}/sensors[]/value": "sense_room_readings.value",
        f"{SEGMENT}/sensors[]/unit": "sense_room_readings.unit",
        f"{SEGMENT}/sound/url": SIGNED_LINK,
        f"{SEGMENT}/sound/duration_millis": "sense_timeline_events.sound_duration_s",
        f"{SEGMENT}/sound/is_empty": "sense_timeline_events.sound_empty",
        "[]/insights[]/sensor": "sense_night_metrics.name",
        "[]/insights[]/condition": "sense_night_metrics.condition",
        "[]/insights[]/message": "sense_night_metrics.message",
        "[]/statistics/*": ("sense_night_metrics.name", "sense_night_metrics.value", "sense_night_metrics.unit"),
    }
)
READING = {"value": "sense_room_readings.value", "unit": "sense_room_readings.unit",
           "condition": "sense_room_readings.condition", "message": "sense_room_readings.message"}
ROOM_CURRENT_FIELDS = Fields(
    {
        **{f"*/{field}": column for field, column in READING.items()},
        "*/last_updated_utc": "sense_room_readings.time",
        "*/ideal_conditions": "sense_room_readings.ideal_conditions",
    },
)
SAMPLE = {"datetime": "sense_sensor_samples.time", "value": "sense_sensor_samples.value",
          "offset_millis": "sense_sensor_samples.utc_offset_s"}
ALL_SENSORS_FIELDS = Fields({f"*[]/{field}": column for field, column in SAMPLE.items()})
SENSOR_HISTORY_FIELDS = Fields({f"[]/{field}": column for field, column in SAMPLE.items()})
SENSORS_CURRENT_FIELDS = Fields(
    {
        "status": Dropped("the answer's state (OK, WAITING_FOR_DATA, NO_SENSE): why `sensors` is empty when it is; "
                          "each reading carries its own condition"),
        "sensors[]/type": ("sense_room_readings.sensor", "sense_sensor_scales.sensor"),
        **{f"sensors[]/{field}": column for field, column in READING.items() if field != "unit"},
        "sensors[]/unit": ("sense_room_readings.unit", "sense_sensor_scales.unit"),
        "sensors[]/name": "sense_room_readings.sensor_name",
        "sensors[]/scale[]/name": "sense_sensor_scales.name",
        "sensors[]/scale[]/min": "sense_sensor_scales.min_value",
        "sensors[]/scale[]/max": "sense_sensor_scales.max_value",
        "sensors[]/scale[]/condition": "sense_sensor_scales.condition",
    }
)
SENSORS_HISTORY_FIELDS = Fields(
    {
        "timestamps[]/t": "sense_sensor_samples.time",
        "timestamps[]/o": "sense_sensor_samples.utc_offset_s",
        "sensors/*[]": ("sense_sensor_samples.sensor", "sense_sensor_samples.value", "sense_sensor_samples.unit"),
    }
)
TRENDS_V2_FIELDS = Fields(
    {
        "available_time_scales[]": Dropped("envelope: the time scales the app may ask for next"),
        "graphs[]/time_scale": "sense_trends.time_scale",
        "graphs[]/title": "sense_trends.title",
        "graphs[]/data_type": ("sense_trends.data_type", "sense_trends.unit"),
        "graphs[]/graph_type": "sense_trends.graph_type",
        "graphs[]/min_value": Dropped("derivable exactly: the smallest of the graph's values (suripu-core "
                                      "TrendsProcessor; 0 for sleep-depth shares)"),
        "graphs[]/max_value": Dropped("derivable exactly: the largest of the graph's values (1 for sleep-depth "
                                      "shares)"),
        "graphs[]/sections[]/values[]": "sense_trends.value",
        "graphs[]/sections[]/titles[]": ("sense_trends.label", "sense_trends.section_title"),
        "graphs[]/sections[]/highlighted_values[]": "sense_trends.highlighted",
        "graphs[]/sections[]/highlighted_title": Dropped("which title the app highlighted: yesterday's, derivable "
                                                         "from the capture day"),
        "graphs[]/condition_ranges": Dropped("the colour bands of score graphs: fixed thresholds (suripu-core "
                                             "ConditionRange), not data"),
        "graphs[]/annotations": Dropped("derivable exactly: averages of the graph's own values (all days, "
                                        "weekdays, weekends; suripu-core TrendsProcessorUtils.getAnnotations)"),
    }
)
TRENDS_V1_FIELDS = Fields(
    {
        "[]/title": "sense_trends.title",
        "[]/data_type": ("sense_trends.data_type", "sense_trends.unit"),
        "[]/graph_type": "sense_trends.graph_type",
        "[]/time_period": "sense_trends.time_scale",
        "[]/options[]": "sense_trends.options",
        "[]/data_points[]/datetime": ("sense_trends.time", "sense_trends.date"),
        "[]/data_points[]/offset_millis": ("sense_trends.utc_offset_s", "sense_trends.date"),
        "[]/data_points[]/x_value": "sense_trends.label",
        "[]/data_points[]/y_value": ("sense_trends.value", "sense_trends.missing"),
        "[]/data_points[]/data_label": "sense_trends.condition",
    }
)
INSIGHTS_FIELDS = Fields(
    {
        "[]/id": "sense_insights.insight_id",
        "[]/account_id": ACCOUNT_ID,
        "[]/title": "sense_insights.title",
        "[]/message": "sense_insights.message",
        "[]/category": "sense_insights.category",
        "[]/category_name": "sense_insights.category_name",
        "[]/timestamp": "sense_insights.time",
        "[]/created_utc": "sense_insights.time",
        "[]/info_preview": "sense_insights.info_preview",
        "[]/insight_type": "sense_insights.insight_type",
        "[]/image": Dropped("links to the card's illustration (phone_1x, phone_2x, phone_3x) on Hello's servers: "
                            "artwork, not data"),
    }
)
DEVICE = "*[]"  # senses[], pills[]
DEVICES_FIELDS = Fields(
    {
        f"{DEVICE}/id": "sense_devices.device_id",
        f"{DEVICE}/last_updated": "sense_devices.last_updated",
        f"{DEVICE}/firmware_version": "sense_devices.firmware_version",
        f"{DEVICE}/hw_version": "sense_devices.hw_version",
        f"{DEVICE}/state": "sense_devices.state",
        f"{DEVICE}/color": "sense_devices.color",
        f"{DEVICE}/battery_level": "sense_devices.battery_pct",
        f"{DEVICE}/battery_type": "sense_devices.battery_type",
        f"{DEVICE}/wifi_info/ssid": Dropped("the home Wi-Fi network's name: identifies the household, not a "
                                            "measurement"),
        f"{DEVICE}/wifi_info/rssi": "sense_devices.wifi_rssi_dbm",
        f"{DEVICE}/wifi_info/condition": "sense_devices.wifi_condition",
        f"{DEVICE}/wifi_info/last_updated": "sense_devices.wifi_last_updated",
        f"{DEVICE}/wifi_info/sense_id": Dropped("derivable exactly: the id of the Sense whose Wi-Fi it is (id)"),
    }
)
QUESTIONS_FIELDS = Fields(
    {
        "[]/id": ("sense_questions.question_id", "sense_question_choices.question_id"),
        "[]/account_question_id": "sense_questions.account_question_id",
        "[]/text": "sense_questions.text",
        "[]/type": "sense_questions.question_type",
        "[]/ask_local_date": "sense_questions.ask_date",
        "[]/ask_time": "sense_questions.ask_time",
        "[]/choices[]/id": ("sense_question_choices.choice_id", "sense_question_choices.position"),
        "[]/choices[]/text": "sense_question_choices.text",
        "[]/choices[]/question_id": Dropped("derivable exactly: the id of the question that lists the choice "
                                            "(suripu-core Choice.questionId)"),
    }
)
ANSWERS_FIELDS = Fields(
    {
        "[]/id": "sense_question_answers.choice_id",
        "[]/text": "sense_question_answers.choice_text",
        "[]/question_id": "sense_question_answers.question_id",
    }
)
SKIPS_FIELDS = Fields(
    {"account_question_id": "sense_question_answers.account_question_id", "id": "sense_question_answers.question_id"}
)
ALARM = "*[]"  # classic[], voice[], expansions[] (v2)
ALARMS_FIELDS = Fields(
    {
        f"{ALARM}/id": "sense_alarms.alarm_id",
        f"{ALARM}/hour": "sense_alarms.hour",
        f"{ALARM}/minute": "sense_alarms.minute",
        f"{ALARM}/year": "sense_alarms.ring_date",
        f"{ALARM}/month": "sense_alarms.ring_date",
        f"{ALARM}/day_of_month": "sense_alarms.ring_date",
        f"{ALARM}/day_of_week[]": "sense_alarms.repeat_days",
        f"{ALARM}/repeated": "sense_alarms.repeated",
        f"{ALARM}/enabled": "sense_alarms.enabled",
        f"{ALARM}/editable": "sense_alarms.editable",
        f"{ALARM}/smart": "sense_alarms.smart",
        f"{ALARM}/source": ("sense_alarms.source", "sense_alarms.kind"),
        f"{ALARM}/sound/id": "sense_alarms.sound_id",
        f"{ALARM}/sound/name": "sense_alarms.sound_name",
        f"{ALARM}/sound/url": SIGNED_LINK,
        f"{ALARM}/expansions[]/id": "sense_alarms.expansions",
        f"{ALARM}/expansions[]/enable": "sense_alarms.expansions",
    },
    aliases={"[]": ALARM},  # v1: one plain list
)

TIMELINE_V2 = Endpoint(
    "sense/timeline-v2", "data", "sense-timeline-v2.json", decode_timeline_v2,
    tables=("sense_nights", "sense_timeline_events", "sense_night_metrics"),
    fields=TIMELINE_V2_FIELDS,
)
TIMELINE_V1 = Endpoint(
    "sense/timeline-v1", "data", "sense-timeline-v1.json", decode_timeline_v1,
    tables=("sense_nights", "sense_timeline_events", "sense_night_metrics", "sense_room_readings"),
    fields=TIMELINE_V1_FIELDS,
)
ROOM_CURRENT = Endpoint(
    "sense/room-current", "data", "sense-room-current.json", decode_room_current, tables=("sense_room_readings",),
    fields=ROOM_CURRENT_FIELDS,
)
ALL_SENSORS = Endpoint(
    "sense/room-all-sensors", "data", "sense-room-all-sensors.json", decode_all_sensors,
    tables=("sense_sensor_samples",),
    fields=ALL_SENSORS_FIELDS,
    by_columns=True,
)
SENSOR_HISTORY = Endpoint(
    "sense/room-sensor-history", "data", "sense-room-sensor-history.json", decode_sensor_history,
    tables=("sense_sensor_samples",),
    fields=SENSOR_HISTORY_FIELDS,
    by_columns=True,
)
SENSORS_CURRENT = Endpoint(
    "sense/sensors-current", "data", "sense-sensors-current.json", decode_sensors_current,
    tables=("sense_room_readings", "sense_sensor_scales"),
    fields=SENSORS_CURRENT_FIELDS,
)
SENSORS_HISTORY = Endpoint(
    "sense/sensors-history", "data", "sense-sensors-history.json", decode_sensors_history,
    tables=("sense_sensor_samples",),
    fields=SENSORS_HISTORY_FIELDS,
    by_columns=True,
)
TRENDS_V2 = Endpoint(
    "sense/trends-v2", "data", "sense-trends-v2.json", decode_trends_v2, tables=("sense_trends",),
    fields=TRENDS_V2_FIELDS,
)
TRENDS_V1 = Endpoint(
    "sense/trends-v1", "data", "sense-trends-v1.json", decode_trends_v1, tables=("sense_trends",),
    fields=TRENDS_V1_FIELDS,
)
INSIGHTS = Endpoint(
    "sense/insights", "data", "sense-insights.json", decode_insights, tables=("sense_insights",),
    fields=INSIGHTS_FIELDS,
)
DEVICES = Endpoint(
    "sense/devices", "data", "sense-devices.json", decode_devices, tables=("sense_devices",),
    fields=DEVICES_FIELDS,
)
QUESTIONS = Endpoint(
    "sense/questions", "data", "sense-questions.json", decode_questions,
    tables=("sense_questions", "sense_question_choices"),
    fields=QUESTIONS_FIELDS,
)
QUESTION_ANSWERS = Endpoint(
    "sense/question-answers", "data", "sense-question-answers.json", decode_question_answers, reads="request",
    tables=("sense_question_answers",),
    fields=ANSWERS_FIELDS,
)
QUESTION_SKIPS = Endpoint(
    "sense/question-skips", "data", "sense-question-skips.json", decode_question_skip, reads="query",
    tables=("sense_question_answers",),
    fields=SKIPS_FIELDS,
)
ALARMS = Endpoint(
    "sense/alarms", "data", "sense-alarms.json", decode_alarms, tables=("sense_alarms",),
    fields=ALARMS_FIELDS,
)
AUTH = Endpoint("sense/auth", "auth")

DATE = r"(?P<date>\d{4}-\d{2}-\d{2})"
V1 = r"(?:/v1)?"  # 2014 clients sent unversioned paths
SENSOR = r"(?P<sensor>temperature|humidity|particulates|sound|light)"
TIME_SCALE = r"(?P<time_scale>LAST_WEEK|LAST_MONTH|LAST_3_MONTHS)"

DEVICE = Device(
    "sense",
    hosts.SENSE,
    (
        route("GET", rf"/v2/timeline/{DATE}(?:T\d{{2}}:\d{{2}})?", TIMELINE_V2),
        route("PATCH DELETE", rf"/v2/timeline/{DATE}/events/[^/]+/\d+", TIMELINE_V2),
        route("GET", rf"{V1}/timeline/{DATE}", TIMELINE_V1),
        route("GET", rf"{V1}/room/current", ROOM_CURRENT),
        route("GET", rf"{V1}/room/all_sensors/(?P<period>hours|24hours|week)", ALL_SENSORS),
        route("GET", rf"{V1}/room/{SENSOR}/(?P<period>day|week|24hours)", SENSOR_HISTORY),
        # The same samples of the Sense named (suripu-app RoomConditionsResource getLastDayDeviceName,
        # getLast24hoursDeviceName): an account has one Sense at a time, so its buckets are the same records.
        route("GET", rf"{V1}/room/{SENSOR}/[^/]+/(?P<period>day|24hours)", SENSOR_HISTORY),
        route("GET", r"/v2/sensors", SENSORS_CURRENT),
        route("POST", r"/v2/sensors", SENSORS_HISTORY),
        route("GET", rf"/v2/trends/{TIME_SCALE}", TRENDS_V2),
        route("GET", rf"{V1}/insights/trends/(?:all|graph|list)", TRENDS_V1),
        route("GET", r"/(?P<version>v2)/insights", INSIGHTS),
        route("GET", rf"{V1}/insights", INSIGHTS),
        route("GET", r"/v2/devices", DEVICES),
        route("GET", rf"{V1}/questions", QUESTIONS),
        route("POST", rf"{V1}/questions/save", QUESTION_ANSWERS),
        route("PUT", rf"{V1}/questions/skip", QUESTION_SKIPS),
        # GET …/alarms/sounds (the fixed ringtone list, with signed links) stays undecoded. One SenseKit version
        # appended the client time without its slash (`v2/alarms1491000000000`).
        route("GET", r"/v[12]/alarms", ALARMS),
        route("POST", r"/v[12]/alarms/?\d+", ALARMS),
        route("GET POST PUT DELETE", rf"{V1}/oauth2(?:/.*)?", AUTH),
    ),
)
