"""Microsoft Band: the public Microsoft Health Cloud API on api.microsofthealth.net (see BAND-API.md §B).

Paths are case-insensitive (`/V1/me/...` occurs); every page of a paged answer (`nextPage`, with `ct=`) is an
exchange of its own on the same route. Rows go into the same tables as the private API's, with `api` = "public":
an activity's `id` is the private `EventId`, so an event fetched through both APIs is one `band_events` record.

Units on the wire: times ISO 8601 with an offset (converted to UTC), durations ISO 8601 (`PT8H27M53S`),
distances and elevations in cm, pace in ms/km, speed in cm/s, coordinates in degrees x 10^7, heart-rate zones and
sleep segments' `sleepTime` in minutes. Zero and unknown values are both left out (`"caloriesBurnedSummary":
{"period": "Minute"}`): a value left out is null, never 0. Names are mapped to the private API's where they differ
(activityType Run -> Running, segmentType Doze -> Dozing, mapPointType Waypoint -> WayPoint); others are kept.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import hosts
from .band import CM, E7, MS, local_day, midnight_offset_s, minutes_s, offset_s, text, text_or_none
from .base import (Device, Endpoint, Request, Row, Rows, identifier, in_utc_range, integer, iso_date, iso_utc,
                   number, per, route)
from .fields import Dropped, Fields, Target

# activityType -> the private API's EventType
EVENT_TYPES = {
    "Run": "Running",
    "Sleep": "Sleeping",
    "Bike": "Biking",
    "FreePlay": "Workout",
    "GuidedWorkout": "GuidedWorkout",
    "Golf": "Golf",
    "Hike": "Hike",
}
# segmentType -> the private API's SequenceType (only names both APIs are known to use for the same thing)
SEQUENCE_TYPES = {"Run": "Running", "FreePlay": "Workout", "Doze": "Dozing", "Snooze": "Snoozing"}
POINT_TYPES = {"Waypoint": "WayPoint"}
# hr_zone_* column -> the public HeartRateZones name(s), first present wins
PUBLIC_HR_ZONES = {
    "hr_zone_under_s": ("underHealthyHeart", "underAerobic"),  # underAerobic: the deprecated name
    "hr_zone_healthy_heart_s": ("healthyHeart",),
    "hr_zone_fitness_s": ("fitnessZone",),
    "hr_zone_aerobic_s": ("aerobic",),
    "hr_zone_anaerobic_s": ("anaerobic",),
    "hr_zone_redline_s": ("redline",),
    "hr_zone_over_s": ("overRedline",),
}
# band_sequences columns a segment's distanceSummary fills under the same name as the event's
SEGMENT_DISTANCES = (
    "distance_on_foot_m",
    "actual_distance_m",
    "altitude_gain_m",
    "altitude_loss_m",
    "max_altitude_m",
    "min_altitude_m",
    "waypoint_distance_m",
    "overall_pace_s_per_km",
)


def public_zones(zones: dict[str, Any] | None) -> Row:
    """The hr_zone_* columns (seconds) of a public HeartRateZones object (minutes)."""
    z = zones or {}
    return {column: minutes_s(_first(z, names)) for column, names in PUBLIC_HR_ZONES.items()}

DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
DURATION_UNITS_S = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_s(value: Any) -> float | None:
    """An ISO 8601 duration (`PT26M18S`, `P1D`, `PT0.5S`) in seconds; None stays None. Years and months (of no fixed
    length) are refused."""
    if value is None or value == "":
        return None
    m = DURATION.fullmatch(value)
    if m is None or value.rstrip("T").endswith("P") or value.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration in days, hours, minutes and seconds: {value!r}")
    total = sum(float(m[u]) * factor for u, factor in DURATION_UNITS_S.items() if m[u])
    if not math.isfinite(total):  # (`P999…9D` of 309 digits and more: float() gives infinity)
        raise ValueError(f"an ISO 8601 duration of {len(value):,} characters, longer than a float holds")
    return -total if m["sign"] else total


def activity_offset_s(value: str | None) -> int | None:
    """The wearer's UTC offset in an activity's time (its start, a segment's or a minute's): the service wrote
    activities in UTC, `+00:00`, whatever the wearer's zone (BAND-API.md §B.3: the recorded user's activities of July
    2015 are at +00:00, their daily summaries start at 23:00+00:00, local midnight of UTC+1, and their hourly ones are
    written +01:00), so +00:00 names no zone: None. Another offset is the one the time was written in."""
    offset = offset_s(value)
    return None if offset == 0 else offset


# An activity's id is the private EventId: this less its start in .NET ticks (100 ns since 0001-01-01, UTC); a
# segment's segmentId is its start in ticks (BAND-API.md §A.3, §B.3).
EVENT_ID_BASE = 3_155_378_975_999_999_999
NET_EPOCH_TICKS = 621_355_968_000_000_000  # 1970-01-01 in .NET ticks


def to_the_tick(us: int | None, ticks: Any) -> int | None:
    """A time the public API wrote to the millisecond (`us`, epoch µs) to the microsecond its id's ticks name, where
    they are the same time cut to the millisecond (as the service cuts them): the private API writes the same
    start to the tick (`2015-01-11T16:12:31.2714530Z`, the public `…31.271+00:00`), and an event fetched through
    both is one record, whichever copy is kept. `us` as it is otherwise (an id that names another time)."""
    if us is None or us % 1000:
        return us
    try:
        exact = (int(ticks) - NET_EPOCH_TICKS) // 10
    except (TypeError, ValueError):
        return us
    return exact if exact // 1000 * 1000 == us else us


def decode_activities(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/me/Activities (an ActivitiesResponse: one list per activity type, `runActivities`…, empty ones left
    out) or /v1/me/Activities/{id} (a bare activity, as the service really answered, or a response holding it)."""
    if "activityType" in payload:
        yield from _activity_rows(payload)
        return
    for key, activities in payload.items():
        if key.endswith("Activities") and isinstance(activities, list):  # hikeActivities came after the Swagger
            for activity in activities:
                yield from _activity_rows(activity)


def _activity_rows(a: dict[str, Any], parent_id: str | None = None) -> Rows:
    event_id = identifier(a["id"])
    try:
        ticks: Any = EVENT_ID_BASE - int(event_id)
    except ValueError:
        ticks = None
    start = to_the_tick(iso_utc(a.get("startTime")), ticks)
    offset = activity_offset_s(a.get("startTime"))
    calories = a.get("caloriesBurnedSummary") or {}
    hr = a.get("heartRateSummary") or {}
    perf = a.get("performanceSummary") or {}
    activity_type = a.get("activityType")
    yield "band_events", {
        "event_id": event_id,
        "api": "public",
        "event_type": EVENT_TYPES.get(activity_type, activity_type),
        "name": a.get("name"),
        "day_id": iso_date(a.get("dayId")),
        "start_time": start,
        "utc_offset_s": offset,
        "duration_s": duration_s(a.get("duration")),
        "paused_s": duration_s(a.get("pausedDuration")),
        "parent_event_id": parent_id,
        "device_id": text_or_none(a.get("deviceId")),
        "created_time": iso_utc(a.get("createdTime")),
        "created_by": text(a.get("createdBy")),
        **_distances(a.get("distanceSummary") or {}, walked=a.get("totalDistanceWalked")),
        "split_length_m": per(a.get("splitDistance"), CM),
        "steps": integer(a.get("totalStepCount")),  # golf only: other activities have steps per minute only
        "calories_kcal": number(calories.get("totalCalories")),
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        **public_zones(perf.get("heartRateZones")),
        "finish_hr_bpm": number(perf.get("finishHeartRate")),
        "recovery_hr_1min_bpm": number(perf.get("recoveryHeartRateAt1Minute")),
        "recovery_hr_2min_bpm": number(perf.get("recoveryHeartRateAt2Minutes")),
        "uv_exposure_s": duration_s(a.get("uvExposure")),
        "workout_plan_id": text_or_none(a.get("workoutPlanId")),
        "rounds": integer(a.get("roundsPerformed")),
        "repetitions": integer(a.get("repetitionsPerformed")),
        "golf_par_or_better_holes": integer(a.get("parOrBetterCount")),
        "golf_longest_drive_m": per(a.get("longestDriveDistance"), CM),
        "golf_longest_stroke_m": per(a.get("longestStrokeDistance"), CM),
        "fall_asleep_time": _fall_asleep(a, start),
        "wake_up_time": iso_utc(a.get("wakeupTime")),
        "sleep_s": duration_s(a.get("sleepDuration")),
        "awake_s": duration_s(a.get("awakeDuration")),
        "time_to_fall_asleep_s": duration_s(a.get("fallAsleepDuration")),
        "restful_sleep_s": duration_s(a.get("totalRestfulSleepDuration")),
        "restless_sleep_s": duration_s(a.get("totalRestlessSleepDuration")),
        "wakeups": integer(a.get("numberOfWakeups")),
        "resting_hr_bpm": number(a.get("restingHeartRate")),
        "sleep_efficiency_pct": number(a.get("sleepEfficiencyPercentage")),
    }
    split_length = a.get("splitDistance")  # the split length asked for (splitDistanceType): splits and track follow it
    covered: float | None = 0.0  # cm: the segments' actualDistance so far
    for order, s in enumerate(a.get("activitySegments") or (), start=1):
        row = _segment_row(event_id, order, s, split_length)
        # a segment's actualDistance is its own ("during the period", as its totalDistance is the split's), where
        # the private API's ActualDistance, and the column, is the distance to the segment's end: their running sum
        # (unknown from a segment that has none on)
        own = number((s.get("distanceSummary") or {}).get("actualDistance"))
        covered = None if covered is None or own is None else covered + own
        row["actual_distance_m"] = None if covered is None else covered / CM
        yield "band_sequences", row
    for m in a.get("minuteSummaries") or ():
        yield "band_minutes", _minute_row(event_id, m)
    for p in a.get("mapPoints") or ():
        yield "band_map_points", _map_point_row(event_id, start, offset, p, split_length)
    for child in a.get("childActivities") or ():  # a golf round's parts: activities of their own
        yield from _activity_rows(child, event_id)


def _fall_asleep(a: dict[str, Any], start: int | None) -> int | None:
    """A sleep's fallAsleepTime, to the µs of its start (`start`, to the tick its id names) plus fallAsleepDuration
    where that is the time written (the service writes it so: fallAsleepTime - startTime = fallAsleepDuration, to
    the millisecond, in every real record)."""
    written = iso_utc(a.get("fallAsleepTime"))
    after = duration_s(a.get("fallAsleepDuration"))
    if start is None or after is None or written is None:
        return written
    return to_the_tick(written, NET_EPOCH_TICKS + start * 10 + round(after * 10_000_000))


def _distances(d: dict[str, Any], walked: Any = None) -> Row:
    """The columns of a `distanceSummary` (distances and elevations in cm, speed in cm/s, paces in ms/km); a golf
    round's distance is the distance `walked`."""
    return {
        "distance_m": per(d.get("totalDistance") if walked is None else walked, CM),
        "distance_on_foot_m": per(d.get("totalDistanceOnFoot"), CM),
        "actual_distance_m": per(d.get("actualDistance"), CM),
        "altitude_gain_m": per(d.get("elevationGain"), CM),
        "altitude_loss_m": per(d.get("elevationLoss"), CM),
        "max_altitude_m": per(d.get("maxElevation"), CM),
        "min_altitude_m": per(d.get("minElevation"), CM),
        "waypoint_distance_m": per(d.get("waypointDistance"), CM),
        "speed_avg_m_s": per(d.get("speed"), CM),
        "pace_s_per_km": per(d.get("pace"), MS),
        "overall_pace_s_per_km": per(d.get("overallPace"), MS),
    }


def _segment_row(event_id: str, order: int, s: dict[str, Any], split_length: Any = None) -> Row:
    calories = s.get("caloriesBurnedSummary") or {}
    hr = s.get("heartRateSummary") or {}
    d = _distances(s.get("distanceSummary") or {})
    segment_type = s.get("segmentType")
    return {
        "event_id": event_id,
        "sequence_id": identifier(s["segmentId"]),
        "sequence_order": order,  # segments come in order; the public API gives no Order of its own
        "sequence_type": SEQUENCE_TYPES.get(segment_type, segment_type),
        "sleep_type": s.get("sleepType"),
        "day_id": iso_date(s.get("dayId")),
        "start_time": to_the_tick(iso_utc(s.get("startTime")), s["segmentId"]),
        "utc_offset_s": activity_offset_s(s.get("startTime")),
        "duration_s": duration_s(s.get("duration")),
        "paused_s": duration_s(s.get("pausedDuration")),
        "sleep_s": minutes_s(s.get("sleepTime")),
        "steps": integer(s.get("stepCount")),
        "calories_kcal": number(calories.get("totalCalories")),
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        **public_zones(s.get("heartRateZones")),
        # of a split summary, distanceSummary.totalDistance is the split's distance; golf holes: distance walked
        "split_distance_m": d["distance_m"] if s.get("distanceWalked") is None else per(s["distanceWalked"], CM),
        "split_pace_s_per_km": d["pace_s_per_km"],
        "split_speed_m_s": d["speed_avg_m_s"],
        "split_length_m": per(split_length if s.get("splitDistance") is None else s["splitDistance"], CM),
        **{k: d[k] for k in SEGMENT_DISTANCES},
        "circuit_ordinal": integer(s.get("circuitOrdinal")),
        "circuit_type": integer(s.get("circuitType")),
        "golf_hole": integer(s.get("holeNumber")),
    }


def _summary_measures(s: dict[str, Any]) -> Row:
    """Steps, calories, heart rate, distances and UV of a `Summary` (minute, hourly or daily)."""
    calories = s.get("caloriesBurnedSummary") or {}
    hr = s.get("heartRateSummary") or {}
    return {
        "utc_offset_s": offset_s(s.get("startTime")),
        "transit_day": s.get("isTransitDay"),
        "steps": integer(s.get("stepsTaken")),
        "calories_kcal": number(calories.get("totalCalories")),
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        **_distances(s.get("distanceSummary") or {}),
        "active_hours": integer(s.get("activeHours")),
        "uv_exposure_s": duration_s(s.get("uvExposure")),
    }


def _minute_row(event_id: str, m: dict[str, Any]) -> Row:
    return {"event_id": event_id, "time": iso_utc(m["startTime"]), "day_id": iso_date(m.get("parentDay")),
            **_summary_measures(m), "utc_offset_s": activity_offset_s(m["startTime"])}


def _map_point_row(event_id: str, start: int | None, offset: int | None, p: dict[str, Any],
                   split_length: Any = None) -> Row:
    loc = p.get("location") or {}
    since = number(p.get("secondsSinceStart"))
    point_type = p.get("mapPointType")
    return {
        "event_id": event_id,
        "ordinal": integer(p["ordinal"]),
        "split_length_m": per(split_length, CM),
        "time": in_utc_range(start + round(since * 1_000_000)) if start is not None and since is not None else None,
        "utc_offset_s": offset,
        "seconds_since_start": since,
        "point_type": POINT_TYPES.get(point_type, point_type),
        "latitude_deg": per(loc.get("latitude"), E7),
        "longitude_deg": per(loc.get("longitude"), E7),
        "altitude_m": per(loc.get("elevationFromMeanSeaLevel"), CM),
        "horizontal_error_m": per(loc.get("estimatedHorizontalError"), CM),
        "vertical_error_m": per(loc.get("estimatedVerticalError"), CM),
        "speed_over_ground_m_s": per(loc.get("speedOverGround"), CM),
        "heart_rate_bpm": number(p.get("heartRate")),
        "distance_m": per(p.get("totalDistance"), CM),
        "actual_distance_m": per(p.get("actualDistance"), CM),
        "pace_s_per_km": per(p.get("pace"), MS),
        "scaled_pace": integer(p.get("scaledPace")),
        "speed_m_s": per(p.get("speed"), CM),
        "is_paused": p.get("isPaused"),
        "is_resume": p.get("isResume"),
    }


def decode_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/me/Summaries/{Hourly,Daily}: `{"summaries": [Summary…], "nextPage": url, "itemCount": n}`. The
    period comes from the path, or (a response saved without its URL) from each summary's `period` or `duration`."""
    devices = ",".join(d.strip() for d in request.query.get("deviceids", "").split(",") if d.strip()) or None
    asked = _asked_offsets(request)
    for s in payload.get("summaries") or ():
        daily = _period(s, request) == "daily"
        values = {"api": "public", "device_filter": devices, **_summary_measures(s)}
        if daily:
            day = iso_date(s.get("parentDay")) or _day_at(s["startTime"], asked) or local_day(s["startTime"], None)
            start = iso_utc(s["startTime"])
            yield "band_daily_summaries", {
                "day": day,
                "start_time": start,
                "duration_s": _day_length_s(start, s),
                **values,
                "utc_offset_s": midnight_offset_s(s["startTime"], day),
                "cardio_s": None,
                "intense_cardio_s": None,
                **public_zones(s.get("heartRateZones")),  # not in the 2016 Swagger's Summary; taken if it is there
            }
        else:
            yield "band_hourly_summaries", {"time": iso_utc(s["startTime"]), "day_id": iso_date(s.get("parentDay")),
                                            **values}


def _day_length_s(start: int, s: dict[str, Any]) -> float | None:
    """A daily summary's length: endTime - startTime (the next local midnight: 23 or 25 hours on where the clocks
    change), else its duration (P1D); None where neither is a time or a length."""
    end, duration = s.get("endTime"), s.get("duration")
    try:  # (endTime is not checked by the schema: one that is no time says no length)
        if isinstance(end, str) and end:
            return (iso_utc(end) - start) / 1e6
    except ValueError:
        pass
    try:
        return duration_s(duration) if isinstance(duration, str) else None
    except ValueError:  # (P1M: no length in seconds)
        return None


def _asked_offsets(request: Request) -> list[timedelta]:
    """The UTC offsets the request's startTime and endTime are written at (the app asks from the wearer's local
    midnight: `startTime=2015-07-27T00:00:00+01:00` in the recorded 2015 session, tnataly/MShealth
    test/fixtures/summary_day.yml); a '+' sent unencoded reads as a space."""
    offsets = []
    for name in ("starttime", "endtime"):
        try:
            offset = datetime.fromisoformat(request.query.get(name, "").strip().replace(" ", "+")).utcoffset()
        except ValueError:
            continue
        if offset is not None and offset not in offsets:
            offsets.append(offset)
    return offsets


def _day_at(value: str, offsets: list[timedelta]) -> date | None:
    """The local day a daily summary starting at `value` (local midnight, written in UTC) stands for, at the first of
    `offsets` at which it is midnight; None at none of them."""
    t = datetime.fromisoformat(value)
    utc = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    for offset in offsets:
        local = utc + offset
        if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
            return local.date()
    return None


def _period(summary: dict[str, Any], request: Request) -> str:
    period = (request.path_params.get("period") or summary.get("period") or "").lower()
    if period not in ("hourly", "daily"):
        period = {"PT1H": "hourly", "P1D": "daily"}.get(summary.get("duration"), period)
    if period not in ("hourly", "daily"):
        raise ValueError(f"a summary of period {period or None!r}: only Hourly and Daily are decoded")
    return period



def decode_devices(payload: Any, request: Request) -> Rows:
    """GET /v1/me/Devices (`{"deviceProfiles": [...], "itemCount": n}` as recorded; a bare list per the Swagger)
    or /v1/me/Devices/{id} (one DeviceProfile)."""
    if isinstance(payload, list):
        profiles = payload
    elif "deviceProfiles" in payload:
        profiles = payload["deviceProfiles"] or ()
    else:
        profiles = (payload,)
    for d in profiles:
        yield "band_devices", {
            "device_id": identifier(d["id"]),
            "display_name": d.get("displayName") or None,
            "device_family": d.get("deviceFamily"),
            "model_name": d.get("modelName"),
            "manufacturer": d.get("manufacturer"),
            "hardware_version": d.get("hardwareVersion"),
            "software_version": d.get("softwareVersion"),
            "device_status": d.get("deviceStatus"),
            "last_successful_sync": iso_utc(d.get("lastSuccessfulSync")),
            "created_time": iso_utc(d.get("createdDate")),
        }


def _first(d: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((d[n] for n in names if d.get(n) is not None), None)


# --- Where every field goes (see fields.py) ---------------------------------------------------------------------

ERROR = Dropped("the API's error answer (ErrorResponse: code, message, target, details): no data; an exchange "
                "answering it is counted among http_errors")
PAGE = {
    "itemCount": Dropped("envelope: how many records this page holds (its rows are counted in the report)"),
    "nextPage": Dropped("paging envelope: the address of the next page, whose records come in its own response"),
    "error": ERROR,
}
USER_ID = Dropped("identifies the account (userId), not the wearer's data")
PERIOD = Dropped("the period a summary covers (Activity, Segment, Minute, Hourly, Daily): the row's table says it")
END_TIME = Dropped("derivable exactly: startTime + duration (+ pausedDuration), checked on every real record")


def zone_fields(prefix: str, table: str) -> dict[str, Target]:
    """A public HeartRateZones object (minutes per zone) -> the table's hr_zone_* columns."""
    return {f"{prefix}/{name}": f"{table}.{column}" for column, names in PUBLIC_HR_ZONES.items() for name in names}


def distance_fields(prefix: str, *tables: str, renamed: dict[str, str] | None = None) -> dict[str, Target]:
    """A DistanceSummary's fields -> the tables' columns (`renamed`: field -> column where the table differs)."""
    names = {
        "totalDistance": "distance_m",
        "totalDistanceOnFoot": "distance_on_foot_m",
        "actualDistance": "actual_distance_m",
        "elevationGain": "altitude_gain_m",
        "elevationLoss": "altitude_loss_m",
        "maxElevation": "max_altitude_m",
        "minElevation": "min_altitude_m",
        "waypointDistance": "waypoint_distance_m",
        "speed": "speed_avg_m_s",
        "pace": "pace_s_per_km",
        "overallPace": "overall_pace_s_per_km",
    } | (renamed or {})
    return {f"{prefix}/period": PERIOD} | {f"{prefix}/{f}": columns(tables, c) for f, c in names.items()}


def measure_fields(prefix: str, *tables: str) -> dict[str, Target]:
    """caloriesBurnedSummary and heartRateSummary -> the tables' calories and heart-rate columns."""
    return {
        f"{prefix}/caloriesBurnedSummary/period": PERIOD,
        f"{prefix}/caloriesBurnedSummary/totalCalories": columns(tables, "calories_kcal"),
        f"{prefix}/heartRateSummary/period": PERIOD,
        f"{prefix}/heartRateSummary/averageHeartRate": columns(tables, "hr_avg_bpm"),
        f"{prefix}/heartRateSummary/peakHeartRate": columns(tables, "hr_peak_bpm"),
        f"{prefix}/heartRateSummary/lowestHeartRate": columns(tables, "hr_low_bpm"),
    }


def summary_fields(prefix: str, start: Target, *tables: str, end: Target = END_TIME) -> dict[str, Target]:
    """A Summary (minute, hourly, daily) -> the tables' columns; `start` is where its startTime goes, `end` its
    endTime."""
    return {
        f"{prefix}/userId": USER_ID,
        f"{prefix}/startTime": start,
        f"{prefix}/endTime": end,
        f"{prefix}/period": PERIOD,
        f"{prefix}/duration": Dropped("the length of the period (PT1M, PT1H, P1D): the row's table says it; read "
                                      "only to tell hourly from daily summaries saved without their URL"),
        f"{prefix}/isTransitDay": columns(tables, "transit_day"),
        f"{prefix}/stepsTaken": columns(tables, "steps"),
        **measure_fields(prefix, *tables),
        **distance_fields(f"{prefix}/distanceSummary", *tables),
        f"{prefix}/activeHours": columns(tables, "active_hours"),
        f"{prefix}/uvExposure": columns(tables, "uv_exposure_s"),
    }


def columns(tables: tuple[str, ...], column: str) -> tuple[str, ...]:
    return tuple(f"{table}.{column}" for table in tables)


ACT = "*[]"  # an activity in any collection (runActivities, sleepActivities…)
SEG = f"{ACT}/activitySegments[]"
MIN = f"{ACT}/minuteSummaries[]"
PT = f"{ACT}/mapPoints[]"
ACTIVITY_FIELDS = Fields(
    {
        **PAGE,
        f"{ACT}/id": ("band_events.event_id", "band_sequences.event_id", "band_minutes.event_id",
                      "band_map_points.event_id", "band_events.parent_event_id"),
        f"{ACT}/userId": USER_ID,
        f"{ACT}/deviceId": "band_events.device_id",
        f"{ACT}/startTime": ("band_events.start_time", "band_events.utc_offset_s", "band_map_points.time",
                             "band_map_points.utc_offset_s"),
        f"{ACT}/endTime": END_TIME,
        f"{ACT}/dayId": "band_events.day_id",
        f"{ACT}/createdTime": "band_events.created_time",
        f"{ACT}/createdBy": "band_events.created_by",
        f"{ACT}/activityType": "band_events.event_type",
        f"{ACT}/name": "band_events.name",
        f"{ACT}/duration": "band_events.duration_s",
        f"{ACT}/pausedDuration": "band_events.paused_s",
        f"{ACT}/splitDistance": ("band_events.split_length_m", "band_sequences.split_length_m",
                                 "band_map_points.split_length_m"),
        f"{ACT}/uvExposure": "band_events.uv_exposure_s",
        **measure_fields(ACT, "band_events"),
        **distance_fields(f"{ACT}/distanceSummary", "band_events"),
        f"{ACT}/performanceSummary/finishHeartRate": "band_events.finish_hr_bpm",
        f"{ACT}/performanceSummary/recoveryHeartRateAt1Minute": "band_events.recovery_hr_1min_bpm",
        f"{ACT}/performanceSummary/recoveryHeartRateAt2Minutes": "band_events.recovery_hr_2min_bpm",
        **zone_fields(f"{ACT}/performanceSummary/heartRateZones", "band_events"),
        f"{ACT}/workoutPlanId": "band_events.workout_plan_id",
        f"{ACT}/roundsPerformed": "band_events.rounds",
        f"{ACT}/repetitionsPerformed": "band_events.repetitions",
        f"{ACT}/totalStepCount": "band_events.steps",
        f"{ACT}/totalDistanceWalked": "band_events.distance_m",
        f"{ACT}/parOrBetterCount": "band_events.golf_par_or_better_holes",
        f"{ACT}/longestDriveDistance": "band_events.golf_longest_drive_m",
        f"{ACT}/longestStrokeDistance": "band_events.golf_longest_stroke_m",
        f"{ACT}/fallAsleepTime": "band_events.fall_asleep_time",
        f"{ACT}/wakeupTime": "band_events.wake_up_time",
        f"{ACT}/sleepDuration": "band_events.sleep_s",
        f"{ACT}/awakeDuration": "band_events.awake_s",
        f"{ACT}/fallAsleepDuration": "band_events.time_to_fall_asleep_s",
        f"{ACT}/totalRestfulSleepDuration": "band_events.restful_sleep_s",
        f"{ACT}/totalRestlessSleepDuration": "band_events.restless_sleep_s",
        f"{ACT}/numberOfWakeups": "band_events.wakeups",
        f"{ACT}/restingHeartRate": "band_events.resting_hr_bpm",
        f"{ACT}/sleepEfficiencyPercentage": "band_events.sleep_efficiency_pct",
        f"{SEG}/segmentId": "band_sequences.sequence_id",
        f"{SEG}/segmentType": "band_sequences.sequence_type",
        f"{SEG}/startTime": ("band_sequences.start_time", "band_sequences.utc_offset_s"),
        f"{SEG}/endTime": END_TIME,
        f"{SEG}/duration": "band_sequences.duration_s",
        f"{SEG}/pausedDuration": "band_sequences.paused_s",
        f"{SEG}/sleepTime": "band_sequences.sleep_s",
        f"{SEG}/dayId": "band_sequences.day_id",
        f"{SEG}/sleepType": "band_sequences.sleep_type",
        **measure_fields(SEG, "band_sequences"),
        **distance_fields(f"{SEG}/distanceSummary", "band_sequences", renamed={
            "totalDistance": "split_distance_m", "speed": "split_speed_m_s", "pace": "split_pace_s_per_km"}),
        **zone_fields(f"{SEG}/heartRateZones", "band_sequences"),
        f"{SEG}/splitDistance": "band_sequences.split_length_m",
        f"{SEG}/circuitOrdinal": "band_sequences.circuit_ordinal",
        f"{SEG}/circuitType": "band_sequences.circuit_type",
        f"{SEG}/holeNumber": "band_sequences.golf_hole",
        f"{SEG}/stepCount": "band_sequences.steps",
        f"{SEG}/distanceWalked": "band_sequences.split_distance_m",
        **summary_fields(MIN, ("band_minutes.time", "band_minutes.utc_offset_s"), "band_minutes"),
        f"{MIN}/parentDay": "band_minutes.day_id",
        f"{PT}/ordinal": "band_map_points.ordinal",
        f"{PT}/secondsSinceStart": ("band_map_points.seconds_since_start", "band_map_points.time"),
        f"{PT}/mapPointType": "band_map_points.point_type",
        f"{PT}/location/latitude": "band_map_points.latitude_deg",
        f"{PT}/location/longitude": "band_map_points.longitude_deg",
        f"{PT}/location/elevationFromMeanSeaLevel": "band_map_points.altitude_m",
        f"{PT}/location/estimatedHorizontalError": "band_map_points.horizontal_error_m",
        f"{PT}/location/estimatedVerticalError": "band_map_points.vertical_error_m",
        f"{PT}/location/speedOverGround": "band_map_points.speed_over_ground_m_s",
        f"{PT}/heartRate": "band_map_points.heart_rate_bpm",
        f"{PT}/totalDistance": "band_map_points.distance_m",
        f"{PT}/actualDistance": "band_map_points.actual_distance_m",
        f"{PT}/pace": "band_map_points.pace_s_per_km",
        f"{PT}/scaledPace": "band_map_points.scaled_pace",
        f"{PT}/speed": "band_map_points.speed_m_s",
        f"{PT}/isPaused": "band_map_points.is_paused",
        f"{PT}/isResume": "band_map_points.is_resume",
    },
    # one bare activity (/Activities/{id}) is read as an item of a collection; a golf round's childActivities are
    # activities of their own, their parent_event_id the round's id
    aliases={f"{ACT}/childActivities[]": ACT, "": ACT},
)

SUMMARY = "summaries[]"
SUMMARY_FIELDS = Fields(
    {
        **PAGE,
        **summary_fields(SUMMARY, (
            "band_hourly_summaries.time", "band_hourly_summaries.utc_offset_s", "band_daily_summaries.day",
            "band_daily_summaries.start_time", "band_daily_summaries.utc_offset_s"),
            "band_hourly_summaries", "band_daily_summaries",
            # a day's end: the next local midnight, 23 or 25 hours on (P1D) where the clocks change (an hour's end is
            # its start + 1 h, derivable exactly)
            end="band_daily_summaries.duration_s"),
        f"{SUMMARY}/parentDay": ("band_hourly_summaries.day_id", "band_daily_summaries.day"),
        **zone_fields(f"{SUMMARY}/heartRateZones", "band_daily_summaries"),
    }
)

DEVICE_PROFILE = "deviceProfiles[]"
DEVICE_FIELDS = Fields(
    {
        **PAGE,
        f"{DEVICE_PROFILE}/id": "band_devices.device_id",
        f"{DEVICE_PROFILE}/displayName": "band_devices.display_name",
        f"{DEVICE_PROFILE}/deviceFamily": "band_devices.device_family",
        f"{DEVICE_PROFILE}/modelName": "band_devices.model_name",
        f"{DEVICE_PROFILE}/manufacturer": "band_devices.manufacturer",
        f"{DEVICE_PROFILE}/hardwareVersion": "band_devices.hardware_version",
        f"{DEVICE_PROFILE}/softwareVersion": "band_devices.software_version",
        f"{DEVICE_PROFILE}/deviceStatus": "band_devices.device_status",
        f"{DEVICE_PROFILE}/lastSuccessfulSync": "band_devices.last_successful_sync",
        f"{DEVICE_PROFILE}/createdDate": "band_devices.created_time",
    },
    aliases={"[]": DEVICE_PROFILE, "": DEVICE_PROFILE},  # a bare list (the Swagger's), or one DeviceProfile
)

ACTIVITIES = Endpoint(
    "band-public/activities", "data", "band-public-activities.json", decode_activities,
    tables=("band_events", "band_sequences", "band_minutes", "band_map_points"),
    fields=ACTIVITY_FIELDS,
)
SUMMARIES = Endpoint(
    "band-public/summaries", "data", "band-public-summaries.json", decode_summaries,
    tables=("band_daily_summaries", "band_hourly_summaries"),
    fields=SUMMARY_FIELDS,
)
DEVICES = Endpoint(
    "band-public/devices", "data", "band-public-devices.json", decode_devices, tables=("band_devices",),
    fields=DEVICE_FIELDS,
)

# Profile (/v1/me/Profile: name, birth date, height, weight) is personal data databack has no table for: undecoded.
DEVICE = Device(
    "band-public",
    hosts.BAND_PUBLIC,
    (
        route("GET", r"/v1/me/Activities(/[^/]+)?", ACTIVITIES),
        route("GET", r"/v1/me/Summaries/(?P<period>Hourly|Daily)", SUMMARIES),
        route("GET", r"/v1/me/Devices(/[^/]+)?", DEVICES),
    ),
)
