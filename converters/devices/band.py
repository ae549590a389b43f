"""Microsoft Band: the Health app's private OData API on prodphs<region>.dns-cargo.com (see BAND-API.md §A).

Units on the wire: durations in seconds, distances and altitudes in cm, pace in ms/km, speed in cm/s,
coordinates in degrees x 10^7, times ISO 8601 UTC with 7 fractional digits; `DayId` is a local date.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Device, Endpoint, Request, Row, Rows, integer, iso_date, iso_utc, number, per, route

CM = 100  # centimetres per metre
MS = 1000  # milliseconds per second (pace: ms/km to s/km)
E7 = 10_000_000  # the API's units per degree of latitude or longitude


def decode_events(payload: dict[str, Any], request: Request) -> Rows:
    """An OData collection of events (`{"value": [...]}`), or one bare event, into rows of the band_* tables."""
    for event in payload["value"] if "value" in payload else (payload,):
        yield from _event_rows(event)


def _event_rows(event: dict[str, Any]) -> Rows:
    e = {k.lower(): v for k, v in event.items()}  # real payloads vary the casing (DeliveryId / DeliveryID)
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
        "distance_m": per(e.get("totaldistance"), CM),
        "actual_distance_m": per(e.get("actualdistance"), CM),
        "steps": integer(e.get("stepstaken")),
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
    for s in e.get("sequences") or ():
        yield "band_sequences", _sequence_row(event_id, s)
    for m in e.get("info") or ():
        yield "band_minutes", _minute_row(event_id, m)
    for p in e.get("mappoints") or ():
        yield "band_map_points", _map_point_row(event_id, start, p)


def _sequence_row(event_id: str, s: dict[str, Any]) -> Row:
    return {
        "event_id": event_id,
        "sequence_id": str(s["SequenceId"]),
        "sequence_order": integer(s.get("Order")),
        "sequence_type": s.get("SequenceType"),
        "sleep_type": s.get("SleepType"),
        "start_time": iso_utc(s.get("StartTime")),
        "duration_s": number(s.get("Duration")),
        "sleep_s": number(s.get("SleepTime")),
        "calories_kcal": number(s.get("CaloriesBurned")),
        "hr_avg_bpm": number(s.get("AverageHeartRate")),
        "hr_peak_bpm": number(s.get("PeakHeartRate")),
        "hr_low_bpm": number(s.get("LowestHeartRate")),
        "split_distance_m": per(s.get("SplitDistance"), CM),
        "total_distance_m": per(s.get("TotalDistance"), CM),
        "split_pace_s_per_km": per(s.get("SplitPace"), MS),
    }


def _minute_row(event_id: str, m: dict[str, Any]) -> Row:
    return {
        "event_id": event_id,
        "time": iso_utc(m["TimeOfDay"]),
        "steps": integer(m.get("StepsTaken")),
        "calories_kcal": number(m.get("CaloriesBurned")),
        "hr_avg_bpm": number(m.get("AverageHeartRate")),
        "hr_peak_bpm": number(m.get("PeakHeartRate")),
        "hr_low_bpm": number(m.get("LowestHeartRate")),
        "distance_m": per(m.get("TotalDistance"), CM),
        "distance_on_foot_m": per(m.get("TotalDistanceOnFoot"), CM),
        "floors_climbed": integer(m.get("FloorsClimbed")),
        "activity_level": m.get("ActivityLevel"),
    }


def _map_point_row(event_id: str, start, p: dict[str, Any]) -> Row:
    loc = p.get("Location") or {}
    since = number(p.get("SecondsSinceStart"))
    return {
        "event_id": event_id,
        "ordinal": integer(p["MapPointOrdinal"]),
        "time": start + round(since * 1_000_000) if start is not None and since is not None else None,
        "seconds_since_start": since,
        "point_type": p.get("MapPointType"),
        "latitude_deg": per(loc.get("Latitude"), E7),
        "longitude_deg": per(loc.get("Longitude"), E7),
        "altitude_m": per(loc.get("AltitudeFromMSL"), CM),
        "horizontal_error_m": per(loc.get("EHPE"), CM),
        "vertical_error_m": per(loc.get("EVPE"), CM),
        "heart_rate_bpm": number(p.get("HeartRate")),
        "distance_m": per(p.get("TotalDistance"), CM),
        "pace_s_per_km": per(p.get("Pace"), MS),
        "speed_m_s": per(p.get("Speed"), CM),
        "is_paused": p.get("IsPaused"),
        "split_ordinal": integer(p.get("SplitOrdinal")),
    }


EVENTS = Endpoint("band/events", "data", "band-events.json", decode_events)
AUTH = Endpoint("band/auth", "auth")

# `/v1/Events`, optionally with OData key arguments: (eventType='Sleeping'), (eventId='…'), in any order.
DEVICE = Device(
    "band",
    re.compile(r"prodphs[a-z0-9]+\.dns-cargo\.com", re.IGNORECASE),
    (route("GET", r"/v1/Events(\([^)]*\))?", EVENTS),),
)
# Sign-in and discovery of the user's data host (prodkds, stgkds, intkds): tokens and profile, never decoded.
LOGIN = Device(
    "band-login",
    re.compile(r"[a-z]*kds\.dns-cargo\.com", re.IGNORECASE),
    (route("GET POST PUT DELETE", r"/.*", AUTH),),
)
