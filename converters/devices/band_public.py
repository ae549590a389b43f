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

import re
from typing import Any

from .. import hosts
from .band import CM, E7, MS, local_day, minutes_s, text_or_none
from .base import Device, Endpoint, Request, Row, Rows, integer, iso_date, iso_utc, number, per, route

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
# The collections of an ActivitiesResponse (hikeActivities came after the January 2016 Swagger)
COLLECTIONS = (
    "runActivities",
    "bikeActivities",
    "freePlayActivities",
    "guidedWorkoutActivities",
    "golfActivities",
    "hikeActivities",
    "sleepActivities",
)
# band_daily_summaries column -> the public HeartRateZones name(s), first present wins
PUBLIC_HR_ZONES = {
    "hr_zone_under_s": ("underHealthyHeart", "underAerobic"),  # underAerobic: the deprecated name
    "hr_zone_healthy_heart_s": ("healthyHeart",),
    "hr_zone_fitness_s": ("fitnessZone",),
    "hr_zone_aerobic_s": ("aerobic",),
    "hr_zone_anaerobic_s": ("anaerobic",),
    "hr_zone_redline_s": ("redline",),
    "hr_zone_over_s": ("overRedline",),
}

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
    return -total if m["sign"] else total


def decode_activities(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/me/Activities (an ActivitiesResponse: one list per activity type, empty ones left out) or
    /v1/me/Activities/{id} (a bare activity, as the service really answered, or a response holding it)."""
    if "activityType" in payload:
        yield from _activity_rows(payload)
        return
    for collection in COLLECTIONS:
        for activity in payload.get(collection) or ():
            yield from _activity_rows(activity)


def _activity_rows(a: dict[str, Any]) -> Rows:
    event_id = str(a["id"])
    start = iso_utc(a.get("startTime"))
    calories = a.get("caloriesBurnedSummary") or {}
    hr = a.get("heartRateSummary") or {}
    dist = a.get("distanceSummary") or {}
    perf = a.get("performanceSummary") or {}
    activity_type = a.get("activityType")
    yield "band_events", {
        "event_id": event_id,
        "api": "public",
        "event_type": EVENT_TYPES.get(activity_type, activity_type),
        "name": a.get("name"),
        "day_id": iso_date(a.get("dayId")),
        "start_time": start,
        "duration_s": duration_s(a.get("duration")),
        "paused_s": duration_s(a.get("pausedDuration")),
        "distance_m": per(dist.get("totalDistance", a.get("totalDistanceWalked")), CM),  # golf: distance walked
        "actual_distance_m": per(dist.get("actualDistance"), CM),
        "steps": integer(a.get("totalStepCount")),  # golf only: other activities have steps per minute only
        "calories_kcal": number(calories.get("totalCalories")),
        "calories_from_carbs_kcal": None,
        "calories_from_fat_kcal": None,
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        "pace_s_per_km": per(dist.get("pace"), MS),
        "training_effect": None,
        "recovery_time_s": None,
        "finish_hr_bpm": number(perf.get("finishHeartRate")),
        "max_altitude_m": per(dist.get("maxElevation"), CM),
        "min_altitude_m": per(dist.get("minElevation"), CM),
        "altitude_gain_m": per(dist.get("elevationGain"), CM),
        "altitude_loss_m": per(dist.get("elevationLoss"), CM),
        "workout_plan_id": text_or_none(a.get("workoutPlanId")),
        "rounds": integer(a.get("roundsPerformed")),
        "repetitions": integer(a.get("repetitionsPerformed")),
        "golf_holes_played": None,
        "golf_score": None,
        "golf_par": None,
        "golf_par_or_better_holes": integer(a.get("parOrBetterCount")),
        "golf_longest_drive_m": per(a.get("longestDriveDistance"), CM),
        "fall_asleep_time": iso_utc(a.get("fallAsleepTime")),
        "wake_up_time": iso_utc(a.get("wakeupTime")),
        "sleep_s": duration_s(a.get("sleepDuration")),
        "awake_s": duration_s(a.get("awakeDuration")),
        "time_to_fall_asleep_s": duration_s(a.get("fallAsleepDuration")),
        "restful_sleep_s": duration_s(a.get("totalRestfulSleepDuration")),
        "restless_sleep_s": duration_s(a.get("totalRestlessSleepDuration")),
        "wakeups": integer(a.get("numberOfWakeups")),
        "resting_hr_bpm": number(a.get("restingHeartRate")),
        "sleep_efficiency_pct": number(a.get("sleepEfficiencyPercentage")),
        "auto_detected": None,
    }
    for order, s in enumerate(a.get("activitySegments") or (), start=1):
        yield "band_sequences", _segment_row(event_id, order, s)
    for m in a.get("minuteSummaries") or ():
        yield "band_minutes", _minute_row(event_id, m)
    for p in a.get("mapPoints") or ():
        yield "band_map_points", _map_point_row(event_id, start, p)


def _segment_row(event_id: str, order: int, s: dict[str, Any]) -> Row:
    calories = s.get("caloriesBurnedSummary") or {}
    hr = s.get("heartRateSummary") or {}
    dist = s.get("distanceSummary") or {}
    segment_type = s.get("segmentType")
    return {
        "event_id": event_id,
        "sequence_id": str(s["segmentId"]),
        "sequence_order": order,  # segments come in order; the public API gives no Order of its own
        "sequence_type": SEQUENCE_TYPES.get(segment_type, segment_type),
        "sleep_type": s.get("sleepType"),
        "start_time": iso_utc(s.get("startTime")),
        "duration_s": duration_s(s.get("duration")),
        "sleep_s": minutes_s(s.get("sleepTime")),
        "calories_kcal": number(calories.get("totalCalories")),
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        "split_distance_m": per(dist.get("totalDistance"), CM),  # of a split summary: the split's distance
        "total_distance_m": None,
        "split_pace_s_per_km": per(dist.get("pace"), MS),
    }


def _summary_measures(s: dict[str, Any]) -> Row:
    """Steps, calories, heart rate and distance of a `Summary` (minute, hourly or daily)."""
    calories = s.get("caloriesBurnedSummary") or {}
    hr = s.get("heartRateSummary") or {}
    dist = s.get("distanceSummary") or {}
    return {
        "steps": integer(s.get("stepsTaken")),
        "calories_kcal": number(calories.get("totalCalories")),
        "hr_avg_bpm": number(hr.get("averageHeartRate")),
        "hr_peak_bpm": number(hr.get("peakHeartRate")),
        "hr_low_bpm": number(hr.get("lowestHeartRate")),
        "distance_m": per(dist.get("totalDistance"), CM),
        "distance_on_foot_m": per(dist.get("totalDistanceOnFoot"), CM),
        "floors_climbed": None,
    }


def _minute_row(event_id: str, m: dict[str, Any]) -> Row:
    return {"event_id": event_id, "time": iso_utc(m["startTime"]), **_summary_measures(m), "activity_level": None}


def _map_point_row(event_id: str, start: int | None, p: dict[str, Any]) -> Row:
    loc = p.get("location") or {}
    since = number(p.get("secondsSinceStart"))
    point_type = p.get("mapPointType")
    return {
        "event_id": event_id,
        "ordinal": integer(p["ordinal"]),
        "time": start + round(since * 1_000_000) if start is not None and since is not None else None,
        "seconds_since_start": since,
        "point_type": POINT_TYPES.get(point_type, point_type),
        "latitude_deg": per(loc.get("latitude"), E7),
        "longitude_deg": per(loc.get("longitude"), E7),
        "altitude_m": per(loc.get("elevationFromMeanSeaLevel"), CM),
        "horizontal_error_m": per(loc.get("estimatedHorizontalError"), CM),
        "vertical_error_m": per(loc.get("estimatedVerticalError"), CM),
        "heart_rate_bpm": number(p.get("heartRate")),
        "distance_m": per(p.get("totalDistance"), CM),
        "pace_s_per_km": per(p.get("pace"), MS),
        "speed_m_s": per(p.get("speed"), CM),
        "is_paused": p.get("isPaused"),
        "split_ordinal": None,
    }


def decode_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/me/Summaries/{Hourly,Daily}: `{"summaries": [Summary…], "nextPage": url, "itemCount": n}`. The
    period comes from the path, or (a response saved without its URL) from each summary's `period` or `duration`."""
    for s in payload.get("summaries") or ():
        daily = _period(s, request) == "daily"
        values = {
            "api": "public",
            **_summary_measures(s),
            "active_hours": integer(s.get("activeHours")),
            "uv_exposure_s": duration_s(s.get("uvExposure")),
        }
        if daily:
            zones = s.get("heartRateZones") or {}  # not in the 2016 Swagger's Summary; taken if it is there
            yield "band_daily_summaries", {
                "day": iso_date(s.get("parentDay")) or local_day(s["startTime"], None),
                "start_time": iso_utc(s["startTime"]),
                **values,
                "cardio_s": None,
                "intense_cardio_s": None,
                **{column: minutes_s(_first(zones, names)) for column, names in PUBLIC_HR_ZONES.items()},
            }
        else:
            yield "band_hourly_summaries", {"time": iso_utc(s["startTime"]), **values, "activity_level": None}


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
            "device_id": str(d["id"]),
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


ACTIVITIES = Endpoint(
    "band-public/activities", "data", "band-public-activities.json", decode_activities,
    tables=("band_events", "band_sequences", "band_minutes", "band_map_points"),
)
SUMMARIES = Endpoint(
    "band-public/summaries", "data", "band-public-summaries.json", decode_summaries,
    tables=("band_daily_summaries", "band_hourly_summaries"),
)
DEVICES = Endpoint("band-public/devices", "data", "band-public-devices.json", decode_devices, tables=("band_devices",))

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
