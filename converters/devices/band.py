"""Microsoft Band: the Health app's private OData API on prodphs<region>.dns-cargo.com (see BAND-API.md §A).

Units on the wire: durations in seconds, distances and altitudes in cm, pace in ms/km, speed in cm/s,
coordinates in degrees x 10^7, times ISO 8601 UTC with 7 fractional digits; `DayId` is a local date.
Summaries (`UserDailySummary`, `UserActivity`): heart-rate zones in minutes, `UvExposure` in minutes,
`CardioScore` and `IntenseCardioSeconds` in seconds, `TotalDistance` in cm (a JSON string in hourly rows).
Golf events carry `TotalStepCount` and `TotalDistanceWalkedInCm` where other events have `StepsTaken` and
`TotalDistance`. Raised insights (`/v1/RaisedInsights`) follow the Health apps' models: no real payload is known.
`/v1/Insights`, the catalogue of insight definitions (InsightMetadata), is not decoded.
"""

from __future__ import annotations

import re
from functools import partial
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import hosts
from ..validation import schema
from .base import (
    Block,
    Device,
    Endpoint,
    Request,
    Row,
    Rows,
    integer,
    integers,
    iso_date,
    iso_utc,
    number,
    numbers,
    per,
    route,
    scaled,
    values_of,
)

CM = 100  # centimetres per metre
MS = 1000  # milliseconds per second (pace: ms/km to s/km)
E7 = 10_000_000  # the API's units per degree of latitude or longitude


def decode_events(payload: dict[str, Any], request: Request) -> Rows:
    """An OData collection of events (`{"value": [...]}`), or one bare event, into rows of the band_* tables."""
    for event in payload["value"] if "value" in payload else (payload,):
        yield from _event_rows(event)


def _event_rows(event: dict[str, Any]) -> Rows:
    # Real payloads vary the casing (WakeUpTime / WakeupTime); where the schema checked a field, its own casing wins.
    e = {k.lower(): v for k, v in event.items()} | {k.lower(): event[k] for k in CHECKED_EVENT_FIELDS & event.keys()}
    event_id = str(e["eventid"])
    start = iso_utc(e.get("starttime"))
    yield "band_events", {
        "event_id": event_id,
        "api": "private",
        "event_type": e.get("eventtype"),
        "name": e.get("name"),
        "day_id": iso_date(e.get("dayid")),
        "start_time": start,
        "duration_s": number(e.get("duration")),
        "paused_s": number(e.get("pausedtime")),
        "distance_m": per(_first(e, "totaldistance", "totaldistancewalkedincm"), CM),  # golf: distance walked
        "actual_distance_m": per(e.get("actualdistance"), CM),
        "steps": integer(_first(e, "stepstaken", "totalstepcount")),  # golf: TotalStepCount
        "calories_kcal": number(e.get("caloriesburned")),
        "calories_from_carbs_kcal": number(e.get("caloriesfromcarbs")),
        "calories_from_fat_kcal": number(e.get("caloriesfromfat")),
        "hr_avg_bpm": number(e.get("averageheartrate")),
        "hr_peak_bpm": number(e.get("peakheartrate")),
        "hr_low_bpm": number(e.get("lowestheartrate")),
        "pace_s_per_km": per(e.get("pace"), MS),
        "training_effect": number(e.get("trainingeffect")),
        "recovery_time_s": number(e.get("recoverytime")),
        "finish_hr_bpm": number(e.get("finishheartrate")),
        "max_altitude_m": per(e.get("maxaltitude"), CM),
        "min_altitude_m": per(e.get("minaltitude"), CM),
        "altitude_gain_m": per(e.get("totalaltitudegain"), CM),
        "altitude_loss_m": per(e.get("totalaltitudeloss"), CM),
        "workout_plan_id": text_or_none(e.get("workoutplanid")),
        "rounds": integer(e.get("roundsperformed")),
        "repetitions": integer(e.get("repetitionsperformed")),
        "golf_holes_played": integer(e.get("totalholesplayed")),
        "golf_score": integer(e.get("totalscore")),
        "golf_par": integer(e.get("parforholesplayed")),
        "golf_par_or_better_holes": integer(e.get("parorbettercount")),
        "golf_longest_drive_m": per(e.get("longestdriveincm"), CM),
        "fall_asleep_time": iso_utc(e.get("fallasleeptime")),
        "wake_up_time": iso_utc(e.get("wakeuptime")),
        "sleep_s": number(e.get("sleeptime")),
        "awake_s": number(e.get("awaketime")),
        "time_to_fall_asleep_s": number(e.get("timetofallasleep")),
        "restful_sleep_s": number(e.get("totalrestfulsleep")),
        "restless_sleep_s": number(e.get("totalrestlesssleep")),
        "wakeups": integer(e.get("numberofwakeups")),
        "resting_hr_bpm": number(e.get("restingheartrate")),
        "sleep_efficiency_pct": number(e.get("sleepefficiencypercentage")),
        "auto_detected": e.get("isautodetected"),
    }
    if sequences := event.get("Sequences"):  # arrays: only as the schema checked them
        yield "band_sequences", _sequence_block(event_id, sequences)
    if minutes := event.get("Info"):
        yield "band_minutes", _minute_block(event_id, minutes)
    if points := event.get("MapPoints"):
        yield "band_map_points", _map_point_block(event_id, start, points)


def _sequence_block(event_id: str, sequences: list[dict[str, Any]]) -> Block:
    col = partial(values_of, sequences)
    return Block(
        {
            "event_id": [event_id] * len(sequences),
            "sequence_id": [str(s["SequenceId"]) for s in sequences],
            "sequence_order": integers(col("Order")),
            "sequence_type": col("SequenceType"),
            "sleep_type": col("SleepType"),
            "start_time": [iso_utc(t) for t in col("StartTime")],
            "duration_s": numbers(col("Duration")),
            "sleep_s": numbers(col("SleepTime")),
            "calories_kcal": numbers(col("CaloriesBurned")),
            "hr_avg_bpm": numbers(col("AverageHeartRate")),
            "hr_peak_bpm": numbers(col("PeakHeartRate")),
            "hr_low_bpm": numbers(col("LowestHeartRate")),
            "split_distance_m": scaled(col("SplitDistance"), CM),
            "total_distance_m": scaled(col("TotalDistance"), CM),
            "split_pace_s_per_km": scaled(col("SplitPace"), MS),
        },
        len(sequences),
    )


def _minute_block(event_id: str, minutes: list[dict[str, Any]]) -> Block:
    col = partial(values_of, minutes)
    return Block(
        {
            "event_id": [event_id] * len(minutes),
            "time": [iso_utc(m["TimeOfDay"]) for m in minutes],
            "steps": integers(col("StepsTaken")),
            "calories_kcal": numbers(col("CaloriesBurned")),
            "hr_avg_bpm": numbers(col("AverageHeartRate")),
            "hr_peak_bpm": numbers(col("PeakHeartRate")),
            "hr_low_bpm": numbers(col("LowestHeartRate")),
            "distance_m": scaled(col("TotalDistance"), CM),
            "distance_on_foot_m": scaled(col("TotalDistanceOnFoot"), CM),
            "floors_climbed": integers(col("FloorsClimbed")),
            "activity_level": col("ActivityLevel"),
        },
        len(minutes),
    )


def _map_point_block(event_id: str, start: int | None, points: list[dict[str, Any]]) -> Block:
    col = partial(values_of, points)
    location = partial(values_of, [p.get("Location") or {} for p in points])
    since = numbers(col("SecondsSinceStart"))
    return Block(
        {
            "event_id": [event_id] * len(points),
            "ordinal": integers([p["MapPointOrdinal"] for p in points]),
            "time": [None if start is None or s is None else start + round(s * 1_000_000) for s in since],
            "seconds_since_start": since,
            "point_type": col("MapPointType"),
            "latitude_deg": scaled(location("Latitude"), E7),
            "longitude_deg": scaled(location("Longitude"), E7),
            "altitude_m": scaled(location("AltitudeFromMSL"), CM),
            "horizontal_error_m": scaled(location("EHPE"), CM),
            "vertical_error_m": scaled(location("EVPE"), CM),
            "heart_rate_bpm": numbers(col("HeartRate")),
            "distance_m": scaled(col("TotalDistance"), CM),
            "pace_s_per_km": scaled(col("Pace"), MS),
            "speed_m_s": scaled(col("Speed"), CM),
            "is_paused": col("IsPaused"),
            "split_ordinal": integers(col("SplitOrdinal")),
        },
        len(points),
    )


def decode_daily_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """`/v2/UserDailySummary(timeZoneUtcOffset=…,startDate='…',endDate='…')`: one `UserDailySummary` per day."""
    offset = odata_args(request.path_params.get("args")).get("timezoneutcoffset")
    offset_min = int(offset) if offset not in (None, "") else None
    for summary in payload["value"]:
        s = {k.lower(): v for k, v in summary.items()}
        zones = {k.lower(): v for k, v in (s.get("dailyheartratezones") or {}).items()}
        yield "band_daily_summaries", {
            "day": local_day(s["timeofday"], offset_min),
            "api": "private",
            "start_time": iso_utc(s["timeofday"]),
            **_summary_values(s),
            "active_hours": integer(s.get("numberofactivehours")),
            "cardio_s": number(s.get("cardioscore")),
            "intense_cardio_s": number(s.get("intensecardioseconds")),
            **{column: minutes_s(zones.get(name)) for column, name in PRIVATE_HR_ZONES.items()},
        }


def decode_hourly_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """`/v2/UserHourlySummary(period='h')` and the older `/v1/UserActivities(period='h')`: one `UserActivity` per
    hour. Another period than 'h' is refused rather than filed as hours."""
    period = odata_args(request.path_params.get("args")).get("period")
    if period not in (None, "", "h", "H"):
        raise ValueError(f"period {period!r} is not hourly")
    for summary in payload["value"]:
        s = {k.lower(): v for k, v in summary.items()}
        yield "band_hourly_summaries", {
            "time": iso_utc(s["timeofday"]),
            "api": "private",
            **_summary_values(s),
            "active_hours": None,
            "activity_level": s.get("activitylevel"),
        }


def _summary_values(s: dict[str, Any]) -> Row:
    """The columns daily and hourly summaries share, from a summary with lower-cased keys."""
    return {
        "steps": integer(s.get("stepstaken")),
        "calories_kcal": number(s.get("caloriesburned")),
        "hr_avg_bpm": number(s.get("averageheartrate")),
        "hr_peak_bpm": number(s.get("peakheartrate")),
        "hr_low_bpm": number(s.get("lowestheartrate")),
        "distance_m": per(s.get("totaldistance"), CM),
        "distance_on_foot_m": per(s.get("totaldistanceonfoot"), CM),
        "floors_climbed": integer(s.get("floorsclimbed")),
        "uv_exposure_s": minutes_s(s.get("uvexposure")),
    }


def decode_raised_insights(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/RaisedInsights(…): an OData collection of the insights raised for the wearer."""
    for r in payload["value"]:
        effective = r.get("EffectiveDT")
        yield "band_insights", {
            "raised_insight_id": str(r["RaisedInsightId"]),
            "insight_id": text_or_none(r.get("InsightId")),
            "effective_time": iso_utc(effective),
            "utc_offset_s": _offset_s(effective),
            "expiration_time": iso_utc(r.get("ExpirationDT")),
            "expired": r.get("Expired"),
            "acknowledged": r.get("Acknowledged"),
            "message": r.get("IM_Msg"),
            "help": r.get("IM_Help"),
            "action_message": r.get("IM_Action_Msg"),
            "band_line1": r.get("DeviceLine1_Msg"),
            "band_line1_help": r.get("DeviceLine1_Help"),
            "band_line2": r.get("DeviceLine2_Msg"),
            "band_line2_help": r.get("DeviceLine2_Help"),
            "data_used": _joined(r.get("DataUsedPivot")),
            "category": _joined(r.get("CategoryPivot")),
            "comparison": text_or_none(r.get("ComparisonPivot")),
            "timespan": text_or_none(r.get("TimespanPivot")),
            "tone": text_or_none(r.get("TonePivot")),
            "scope": text_or_none(r.get("ScopePivot")),
            "noteworthy": _pivot_text(r.get("NoteworthyPivot")),
        }


def _offset_s(value: str | None) -> int | None:
    """The UTC offset an ISO timestamp was written with, in seconds (None when it names none)."""
    offset = datetime.fromisoformat(value).utcoffset() if value else None
    return None if offset is None else int(offset.total_seconds())


def _joined(values: list | None) -> str | None:
    return ",".join(str(v) for v in values) if values else None


def _pivot_text(value: Any) -> str | None:
    """A pivot as text; Windows sends NoteworthyPivot as a JSON boolean (written true/false)."""
    return str(value).lower() if isinstance(value, bool) else text_or_none(value)


# band_daily_summaries column -> the zone's name in the private API's HRZones (lower-cased)
PRIVATE_HR_ZONES = {
    "hr_zone_under_s": "under",
    "hr_zone_healthy_heart_s": "healthyheart",
    "hr_zone_fitness_s": "fitnesszone",
    "hr_zone_aerobic_s": "aerobic",
    "hr_zone_anaerobic_s": "anaerobic",
    "hr_zone_redline_s": "redline",
    "hr_zone_over_s": "over",
}


def minutes_s(value: Any) -> float | None:
    """Minutes as seconds; None stays None."""
    v = number(value)
    return None if v is None else v * 60


def odata_args(text: str | None) -> dict[str, str]:
    """OData key arguments `a='x',b=2` (already percent-decoded) as {lower-case name: value without quotes}."""
    args: dict[str, str] = {}
    for part in (text or "").split(","):
        name, sep, value = part.partition("=")
        if sep:
            args[name.strip().lower()] = value.strip().strip("'\"")
    return args


def local_day(value: str, offset_min: int | None) -> date:
    """The local day a daily summary starting at `value` stands for. A time written at midnight is that day as
    written (a DayId-style date, or local midnight with its offset). Any other time is the instant local midnight
    began: shifted by the UTC offset in minutes when it is known (the private API's timeZoneUtcOffset), else the
    nearest midnight, right for UTC offsets between -12 and +12 hours ("2015-07-30T23:00:00+00:00" at UTC+1: the 31st)."""
    t = datetime.fromisoformat(value)
    if (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0):
        return t.date()
    utc = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return (utc + (timedelta(hours=12) if offset_min is None else timedelta(minutes=offset_min))).date()


def _first(e: dict[str, Any], *names: str) -> Any:
    """The value of the first of these keys the event has (not null)."""
    return next((e[n] for n in names if e.get(n) is not None), None)


def text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


CHECKED_EVENT_FIELDS = frozenset(schema("band-events.json")["$defs"]["event"]["properties"])
EVENTS = Endpoint(
    "band/events", "data", "band-events.json", decode_events,
    tables=("band_events", "band_sequences", "band_minutes", "band_map_points"),
)
DAILY_SUMMARIES = Endpoint(
    "band/daily-summaries", "data", "band-daily-summaries.json", decode_daily_summaries,
    tables=("band_daily_summaries",),
)
HOURLY_SUMMARIES = Endpoint(
    "band/hourly-summaries", "data", "band-hourly-summaries.json", decode_hourly_summaries,
    tables=("band_hourly_summaries",),
)
RAISED_INSIGHTS = Endpoint(
    "band/raised-insights", "data", "band-insights.json", decode_raised_insights, tables=("band_insights",)
)
AUTH = Endpoint("band/auth", "auth")

ODATA_ARGS = r"(\((?P<args>[^)]*)\))?"  # OData key arguments, e.g. (period='h'), captured for the decoder

# `/v1/Events`, optionally with OData key arguments: (eventType='Sleeping'), (eventId='…'), in any order.
DEVICE = Device(
    "band",
    hosts.BAND,
    (
        route("GET", r"/v1/Events(\([^)]*\))?", EVENTS),
        route("GET", r"/v2/UserDailySummary" + ODATA_ARGS, DAILY_SUMMARIES),
        route("GET", r"/v2/UserHourlySummary" + ODATA_ARGS, HOURLY_SUMMARIES),
        route("GET", r"/v1/UserActivities" + ODATA_ARGS, HOURLY_SUMMARIES),
        route("GET", r"/v1/RaisedInsights" + ODATA_ARGS, RAISED_INSIGHTS),
    ),
)
# Sign-in and discovery of the user's data host (prodkds, stgkds, intkds): tokens and profile, never decoded.
LOGIN = Device(
    "band-login",
    hosts.BAND_LOGIN,
    (route("GET POST PUT DELETE", r"/.*", AUTH),),
)
