"""Hello Sense: api.hello.is (and dev-api., canary-api.), see SENSE-API.md.

Units on the wire: times in epoch ms UTC with offsets in ms, v2 durations in ms, v1 segment durations in seconds,
timeline statistics in minutes; sensor history marks gaps with -1; trends: v2 HOURS in hours, PERCENTS as 0-1
fractions, null for padding and -1 for a day without data; v1 SLEEP_DURATION in minutes.
"""

from __future__ import annotations

import hashlib
import re
from functools import partial
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from .. import hosts
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
        col = partial(values_of, events)
        yield "sense_timeline_events", Block(
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
            },
            len(events),
        )
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
                "sleep_state": v1_sleep_state(depth),
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
    """GET /v1/room/all_sensors/{hours,24hours,week}: `{sensor: [samples]}`. A bucket in which every sensor (two or
    more) reads exactly 0 is a gap the server filled with its default (0 °C, 0 % humidity and 0 lux at once is no
    reading): its values are null."""
    period = request.path_params.get("period")
    gaps = _all_zero_buckets(payload)
    for sensor, samples in payload.items():
        resolution = RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in samples[:2]])
        yield from _v1_samples(sensor, samples, resolution, gaps)


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
    """GET /v1/room/{sensor}/{day,week,24hours}: `[samples]` of the sensor named in the URL."""
    sensor, period = request.path_params.get("sensor"), request.path_params.get("period")
    if sensor is None:
        raise ValueError("the sensor is named only in the URL, which a saved response does not have")
    resolution = RESOLUTION_S[period.lower()] if period else _spacing_s([{"t": s["datetime"]} for s in payload[:2]])
    yield from _v1_samples(sensor, payload, resolution)


def _v1_samples(
    sensor: str, samples: list[dict[str, Any]], resolution: int | None, gaps: frozenset[int] = frozenset()
) -> Rows:
    """Samples of one v1 sensor history: -1 marks a gap, and so do the buckets in `gaps` (times in epoch ms)."""
    if samples:
        yield "sense_sensor_samples", Block(
            {
                "time": [ms_utc(s["datetime"]) for s in samples],
                "utc_offset_s": [_offset_s(s.get("offset_millis")) for s in samples],
                "sensor": [sensor.lower()] * len(samples),
                "value": [None if s["datetime"] in gaps else _gap_to_null(s.get("value")) for s in samples],
                "resolution_s": [resolution] * len(samples),
            },
            len(samples),
        )


def decode_sensors_history(payload: dict[str, Any], request: Request) -> Rows:
    """POST /v2/sensors: parallel arrays of values per sensor over `timestamps`; -1 marks a gap."""
    stamps = payload["timestamps"]
    resolution = _scope_resolution(request.body) or _spacing_s(stamps)
    times = [ms_utc(ts["t"]) for ts in stamps]
    offsets = [_offset_s(ts.get("o")) for ts in stamps]
    for sensor, values in payload["sensors"].items():
        if len(values) != len(times):
            raise ValueError(f"{sensor} has {len(values)} values for {len(times)} timestamps")
        if values:
            yield "sense_sensor_samples", Block(
                {
                    "time": times,
                    "utc_offset_s": offsets,
                    "sensor": [sensor.lower()] * len(values),
                    "value": [None if value == -1 else value for value in values],
                    "resolution_s": [resolution] * len(values),
                },
                len(values),
            )


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
            for position, raw in enumerate(values):
                row = _trend_row(2, time_scale, data_type, graph_type, g.get("title"), trend_set, raw, unit, factor)
                if data_type == "HOURS" and row["value"] is not None:  # minutes / 60 as a float32: whole minutes
                    row["value"] = round(number(raw) * 60) * 60.0
                yield "sense_trends", {
                    **row,
                    "date": days[s_index][position] if days else None,
                    "snapshot_day": snapshot,
                    "section": s_index,
                    "section_title": None if per_value or not titles else ", ".join(str(t) for t in titles),
                    "position": position,
                    "label": titles[position] if per_value else None,
                    "highlighted": position in highlighted,
                }


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
        for position, p in enumerate(g.get("data_points") or ()):
            time = ms_utc(p.get("datetime")) or None  # 0: the point has no date
            offset_s = _offset_s(p.get("offset_millis")) if time else None
            day = _point_day(p.get("datetime"), offset_s) if time else None
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
    at = request.captured_at
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


TIMELINE_V2 = Endpoint(
    "sense/timeline-v2", "data", "sense-timeline-v2.json", decode_timeline_v2,
    tables=("sense_nights", "sense_timeline_events", "sense_night_metrics"),
)
TIMELINE_V1 = Endpoint(
    "sense/timeline-v1", "data", "sense-timeline-v1.json", decode_timeline_v1,
    tables=("sense_nights", "sense_timeline_events", "sense_night_metrics"),
)
ROOM_CURRENT = Endpoint(
    "sense/room-current", "data", "sense-room-current.json", decode_room_current, tables=("sense_room_readings",)
)
ALL_SENSORS = Endpoint(
    "sense/room-all-sensors", "data", "sense-room-all-sensors.json", decode_all_sensors,
    tables=("sense_sensor_samples",),
)
SENSOR_HISTORY = Endpoint(
    "sense/room-sensor-history", "data", "sense-room-sensor-history.json", decode_sensor_history,
    tables=("sense_sensor_samples",),
)
SENSORS_CURRENT = Endpoint(
    "sense/sensors-current", "data", "sense-sensors-current.json", decode_sensors_current,
    tables=("sense_room_readings",),
)
SENSORS_HISTORY = Endpoint(
    "sense/sensors-history", "data", "sense-sensors-history.json", decode_sensors_history,
    tables=("sense_sensor_samples",),
)
TRENDS_V2 = Endpoint("sense/trends-v2", "data", "sense-trends-v2.json", decode_trends_v2, tables=("sense_trends",))
TRENDS_V1 = Endpoint("sense/trends-v1", "data", "sense-trends-v1.json", decode_trends_v1, tables=("sense_trends",))
INSIGHTS = Endpoint("sense/insights", "data", "sense-insights.json", decode_insights, tables=("sense_insights",))
DEVICES = Endpoint("sense/devices", "data", "sense-devices.json", decode_devices, tables=("sense_devices",))
QUESTIONS = Endpoint(
    "sense/questions", "data", "sense-questions.json", decode_questions,
    tables=("sense_questions", "sense_question_choices"),
)
QUESTION_ANSWERS = Endpoint(
    "sense/question-answers", "data", "sense-question-answers.json", decode_question_answers, reads="request",
    tables=("sense_question_answers",),
)
QUESTION_SKIPS = Endpoint(
    "sense/question-skips", "data", "sense-question-skips.json", decode_question_skip, reads="query",
    tables=("sense_question_answers",),
)
ALARMS = Endpoint("sense/alarms", "data", "sense-alarms.json", decode_alarms, tables=("sense_alarms",))
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
