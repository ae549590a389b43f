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

import math
from itertools import chain
import re
import struct
from functools import partial
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import hosts
from ..validation import schema
from . import columns
from .columns import columnar
from .fields import Dropped, Fields, Target
from .base import (
    UTC_RANGE_US,
    Block,
    Device,
    Endpoint,
    Request,
    Row,
    Rows,
    integer,
    identifier,
    in_utc_range,
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
DAY_S = 86_400.0  # seconds in a private daily summary's day
E7 = 10_000_000  # the API's units per degree of latitude or longitude


def decode_events(payload: dict[str, Any], request: Request) -> Rows:
    """An OData collection of events (`{"value": [...]}`), or one bare event, into rows of the band_* tables; the
    minute rows and GPS points of all the events at once, by columns."""
    sequences: list[tuple[str, float | None, list]] = []  # (event id, its split length, its sequences)
    minutes: list[tuple[str, list]] = []  # (event id, its minute rows) of each event
    points: list[tuple[str, int | None, float | None, list]] = []  # (event id, start, split length, its points)
    for event in payload["value"] if "value" in payload else (payload,):
        yield from _event_rows(event, sequences, minutes, points)
    if sequences:  # some forty columns a row, most converted by Python calls: by columns from a few rows on
        yield from columnar("band_sequences", sum(len(rows) for *_, rows in sequences), _sequence_frames, sequences,
                            lambda: [("band_sequences", _sequence_block(*event)) for event in sequences],
                            long=columns.LONG // 10)
    if minutes:
        yield from columnar("band_minutes", sum(len(rows) for _, rows in minutes), _minute_frames, minutes,
                            lambda: [("band_minutes", _minute_block(*event)) for event in minutes])
    if points:
        yield from columnar("band_map_points", sum(len(rows) for *_, rows in points), _map_point_frames, points,
                            lambda: [("band_map_points", _map_point_block(*event)) for event in points])


def _event_rows(event: dict[str, Any], sequences: list, minutes: list, points: list) -> Rows:
    """The event's row; its sequences, minute rows and GPS points are added to `sequences`, `minutes` and
    `points`."""
    # Real payloads vary the casing (WakeUpTime / WakeupTime); where the schema checked a field, its own casing wins
    # (of two it checks, DeliveryId and DeliveryID, the later in the payload, whatever the order of a set)
    e = {k.lower(): v for k, v in event.items()} | {k.lower(): v for k, v in event.items() if k in CHECKED_EVENT_FIELDS}
    event_id = identifier(e["eventid"])
    start = iso_utc(e.get("starttime"))
    # the split length asked for (selectedSplitDistance): a run's splits and its track's numbering follow it
    split_length = per(e.get("splitdistance"), CM)
    yield "band_events", {
        "event_id": event_id,
        "api": "private",
        "event_type": text(e.get("eventtype")),
        "name": text(e.get("name")),
        "day_id": iso_date(e.get("dayid")),
        "start_time": start,
        "utc_offset_s": written_offset_s(e.get("starttime")),  # (the private API writes UTC: mostly None)
        "duration_s": number(e.get("duration")),
        "paused_s": number(e.get("pausedtime")),
        "parent_event_id": _event_ref(e.get("parenteventid")),
        "delivery_id": integer(e.get("deliveryid")),
        "flags": integer(e.get("flags")),
        "feeling": text_or_none(e.get("feeling")),  # an enumeration: its name, or its number
        "analysis_status": text_or_none(e.get("analysisstatus")),
        "distance_m": per(_first(e, "totaldistance", "totaldistancewalkedincm"), CM),  # golf: distance walked
        "actual_distance_m": per(e.get("actualdistance"), CM),
        "split_length_m": split_length,
        "waypoint_distance_m": per(e.get("waypointdistance"), CM),
        "speed_avg_m_s": per(e.get("averagespeed"), CM),
        "speed_max_m_s": per(e.get("maxspeed"), CM),
        "steps": integer(_first(e, "stepstaken", "totalstepcount")),  # golf: TotalStepCount
        "calories_kcal": number(e.get("caloriesburned")),
        "calories_from_carbs_kcal": number(e.get("caloriesfromcarbs")),
        "calories_from_fat_kcal": number(e.get("caloriesfromfat")),
        "hr_avg_bpm": number(e.get("averageheartrate")),
        "hr_peak_bpm": number(e.get("peakheartrate")),
        "hr_low_bpm": number(e.get("lowestheartrate")),
        **private_zones(e.get("heartratezones")),
        "pace_s_per_km": per(e.get("pace"), MS),
        "training_effect": single(e.get("trainingeffect")),
        "vo2max_ml_kg_min": single(e.get("maximalvo2")),
        "stress_balance": single(e.get("stressbalance")),
        "recovery_time_s": number(e.get("recoverytime")),
        "finish_hr_bpm": number(e.get("finishheartrate")),
        "recovery_hr_1min_bpm": number(e.get("recoveryheartrate1minute")),
        "recovery_hr_2min_bpm": number(e.get("recoveryheartrate2minute")),
        "max_altitude_m": per(e.get("maxaltitude"), CM),
        "min_altitude_m": per(e.get("minaltitude"), CM),
        "altitude_gain_m": per(e.get("totalaltitudegain"), CM),
        "altitude_loss_m": per(e.get("totalaltitudeloss"), CM),
        "uv_exposure_s": minutes_s(e.get("uvexposure")),
        "cardio_s": number(e.get("cardioscore")),
        "intense_cardio_s": number(e.get("intensecardioseconds")),
        "gps_state": text_or_none(e.get("gpsstate")),
        "low_power_gps": flag(e.get("islowpowergps")),
        "split_group_size": integer(e.get("splitgroupsize")),
        "workout_plan_id": text_or_none(e.get("workoutplanid")),
        "workout_index": integer(e.get("workoutindex")),
        "workout_day": integer(e.get("workoutdayid")),
        "workout_week": integer(e.get("workoutweekid")),
        "rounds": integer(e.get("roundsperformed")),
        "repetitions": integer(e.get("repetitionsperformed")),
        "cycles": integer(e.get("cyclesperformed")),
        "completion_type": text_or_none(e.get("completiontype")),
        "completion_value": number(e.get("completionvalue")),
        "display_subtype": text_or_none(e.get("kdisplaysubtype")),
        "golf_course_id": text_or_none(e.get("courseid")),
        "golf_course_name": text(e.get("coursename")),
        "golf_course_par": integer(e.get("coursepar")),
        "golf_tee": text(e.get("teenameselected")),
        "golf_holes_played": integer(e.get("totalholesplayed")),
        "golf_score": integer(e.get("totalscore")),
        "golf_par": integer(e.get("parforholesplayed")),
        "golf_par_or_better_holes": integer(e.get("parorbettercount")),
        "golf_longest_drive_m": per(e.get("longestdriveincm"), CM),
        "golf_pace_of_play_s": number(e.get("paceofplayinseconds")),
        **{column: per(e.get(name), CM) for column, name in HIKE_RATES.items()},
        "resting_s": number(e.get("restingtimeinseconds")),
        "active_s": number(e.get("activetimeinseconds")),
        "elevation_source": text_or_none(e.get("mappointelevationsource")),
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
        "sleep_recovery_index": number(e.get("sleeprecoveryindex")),
        "sleep_restoration_message": text(e.get("sleeprestorationmsg")),
        "auto_detected": flag(e.get("isautodetected")),
    }
    if event_sequences := event.get("Sequences"):  # arrays: only as the schema checked them
        sequences.append((event_id, split_length, event_sequences))
    if info := event.get("Info"):
        minutes.append((event_id, info))
    if map_points := event.get("MapPoints"):
        points.append((event_id, start, split_length, written_offset_s(e.get("starttime")), map_points))


def _sequence_block(event_id: str, split_length: float | None, sequences: list[dict[str, Any]]) -> Block:
    col = partial(values_of, sequences)
    zones = [private_zones(s.get("HeartRateZones")) for s in sequences]
    return Block(
        {
            "event_id": [event_id] * len(sequences),
            "sequence_id": [identifier(s["SequenceId"]) for s in sequences],
            "split_length_m": [split_length] * len(sequences),
            "sequence_order": integers(col("Order")),
            "sequence_type": col("SequenceType"),
            "sleep_type": col("SleepType"),
            "day_id": [iso_date(d) for d in col("DayId")],
            "start_time": [iso_utc(t) for t in col("StartTime")],
            "utc_offset_s": [written_offset_s(t) for t in col("StartTime")],
            "duration_s": numbers(col("Duration")),
            "paused_s": numbers(col("PausedTime")),
            "sleep_s": numbers(col("SleepTime")),
            "steps": integers([_first(s, "StepsTaken", "StepCount") for s in sequences]),
            "calories_kcal": numbers(col("CaloriesBurned")),
            "calories_from_carbs_kcal": numbers(col("CaloriesFromCarbs")),
            "calories_from_fat_kcal": numbers(col("CaloriesFromFat")),
            "hr_avg_bpm": numbers(col("AverageHeartRate")),
            "hr_peak_bpm": numbers(col("PeakHeartRate")),
            "hr_low_bpm": numbers(col("LowestHeartRate")),
            **{column: [z[column] for z in zones] for column in ZONE_COLUMNS},
            "hr_zone_classification": [text_or_none(v) for v in col("HRZoneClassification")],
            "training_effect": [single(v) for v in col("TrainingEffect")],
            "vo2max_ml_kg_min": [single(_first(s, "MaximalV02", "MaximalVO2")) for s in sequences],  # sic: V-zero-2
            "stress_balance": [single(v) for v in col("StressBalance")],
            "analysis_status": [text_or_none(v) for v in col("AnalysisStatus")],
            "split_distance_m": scaled([_first(s, "SplitDistance", "DistanceWalkedInCm") for s in sequences], CM),
            "total_distance_m": scaled(col("TotalDistance"), CM),
            "split_pace_s_per_km": scaled(col("SplitPace"), MS),
            "split_speed_m_s": scaled(col("SplitSpeed"), CM),
            "actual_distance_m": scaled(col("ActualDistance"), CM),
            "overall_pace_s_per_km": scaled(col("OverallPace"), MS),
            "altitude_gain_m": scaled(col("AltitudeGain"), CM),
            "altitude_loss_m": scaled(col("AltitudeLoss"), CM),
            "climb_rate_m_per_h": scaled(col("ClimbRateInCMPerHour"), CM),
            "poi_type": [text_or_none(v) for v in col("POIType")],
            "user_poi_ordinal": integers(col("UserPOIOrdinal")),
            "golf_hole": integers(col("HoleNumber")),
            "golf_hole_par": integers(col("HolePar")),
            "golf_hole_score": integers(col("UserScore")),
            "golf_hole_difficulty": integers(col("HoleDifficultyIndex")),
            "golf_distance_to_pin_m": scaled(col("DistanceToPinInCm"), CM),
            "location_blob": [text(v) for v in col("LocationBlob")],
        },
        len(sequences),
    )


# How columnar decoding reads each sequence field (see `columns`, and MINUTE_TYPES below); the fields the schema types
# loosely (a number or its text, a name or a number) are read only where their values are of the Python types given
# (`Items.typed`), else the array falls back.
SEQUENCE_TYPES = {"SequenceId": "String", "Order": "Int64", "SequenceType": "String", "SleepType": "String",
                  "StartTime": "String", "Duration": "Float64", "PausedTime": "Float64", "SleepTime": "Float64",
                  "StepsTaken": "Int64", "CaloriesBurned": "Float64", "CaloriesFromCarbs": "Float64",
                  "CaloriesFromFat": "Float64", "AverageHeartRate": "Float64", "PeakHeartRate": "Float64",
                  "LowestHeartRate": "Float64", "TrainingEffect": "Float64", "MaximalV02": "Float64",
                  "StressBalance": "Float64", "SplitDistance": "String", "TotalDistance": "String",
                  "SplitPace": "String",
                  "ActualDistance": "String", "OverallPace": "String"}
NUMBER = (int, float)
SEQUENCE_UNTYPED = {"DayId": ("String", (str,)), "StepCount": ("Int64", NUMBER), "MaximalVO2": ("Float64", NUMBER),
                    "HRZoneClassification": ("String", (str, int)), "AnalysisStatus": ("String", (str, int)),
                    "DistanceWalkedInCm": ("Float64", NUMBER), "SplitSpeed": ("Float64", NUMBER),
                    "AltitudeGain": ("Float64", NUMBER), "AltitudeLoss": ("Float64", NUMBER),
                    "ClimbRateInCMPerHour": ("Float64", NUMBER), "POIType": ("String", (str, int)),
                    "UserPOIOrdinal": ("Int64", NUMBER), "HoleNumber": ("Int64", NUMBER), "HolePar": ("Int64", NUMBER),
                    "UserScore": ("Int64", NUMBER), "HoleDifficultyIndex": ("Int64", NUMBER),
                    "DistanceToPinInCm": ("Float64", NUMBER), "LocationBlob": ("String", (str,))}
ZONE_FIELDS = {"hr_zone_under_s": "Under", "hr_zone_healthy_heart_s": "HealthyHeart",
               "hr_zone_fitness_s": "FitnessZone", "hr_zone_aerobic_s": "Aerobic", "hr_zone_anaerobic_s": "Anaerobic",
               "hr_zone_redline_s": "RedLine", "hr_zone_over_s": "Over"}  # HRZones as the schema spells them
ZONE_SPELLING = (*ZONE_FIELDS.values(), "MaxHR")


def _sequence_frames(responses: list[list[tuple[str, float | None, list[dict[str, Any]]]]]):
    """`_sequence_block` of each (event id, split length, sequences) of the responses by columns (see `columns`),
    all at once.
    HeartRateZones spelled otherwise than the schema spells them fall back; the float32 fields (`single`) are
    converted once a distinct value."""
    import polars as pl

    events = list(chain.from_iterable(responses))
    items = list(chain.from_iterable(rows for *_, rows in events))
    zones = [z for s in items if (z := s.get("HeartRateZones"))]
    spelled = {name.lower() for name in ZONE_SPELLING}
    if any(k.lower() in spelled and k not in ZONE_SPELLING for k in set().union(*zones)):
        raise columns.Fallback
    s = columns.Items(items, {**{key: getattr(pl, t) for key, t in SEQUENCE_TYPES.items()},
                              **{key: getattr(pl, t) for key, (t, _) in SEQUENCE_UNTYPED.items()},
                              "HeartRateZones": pl.Struct({name: pl.Float64 for name in ZONE_SPELLING})},
                      sparse=True)
    for key, (_, types) in SEQUENCE_UNTYPED.items():
        s.typed(key, types)
    s.typed("SequenceId", (str, int))  # (one written 5.0 falls back, to be refused: `identifier`)
    s.required("SequenceId")
    vo2max = columns.first(s.column("MaximalV02"), s.numbers("MaximalV02"), s.numbers("MaximalVO2"))
    float32s = {"training_effect": s.numbers("TrainingEffect"), "vo2max_ml_kg_min": vo2max,
                "stress_balance": s.numbers("StressBalance")}
    float32s = {column: columns.by_distinct(values, distinct, single)
                for (column, values), distinct in zip(float32s.items(), s.distinct(*float32s.values()))}
    return s.frame("band_sequences", {
        "event_id": s.runs(((i, len(rows)) for i, _, rows in events), pl.String),
        "sequence_id": s.texts("SequenceId"),
        "split_length_m": s.runs(((length, len(rows)) for _, length, rows in events), pl.Float64),
        "sequence_order": s.integers("Order"),
        "sequence_type": s.texts("SequenceType"),
        "sleep_type": s.texts("SleepType"),
        "day_id": s.dates("DayId"),
        "start_time": s.iso_utc("StartTime"),
        "duration_s": s.numbers("Duration"),
        "paused_s": s.numbers("PausedTime"),
        "sleep_s": s.numbers("SleepTime"),
        "steps": columns.first(s.column("StepsTaken"), s.integers("StepsTaken"), s.integers("StepCount")),
        "calories_kcal": s.numbers("CaloriesBurned"),
        "calories_from_carbs_kcal": s.numbers("CaloriesFromCarbs"),
        "calories_from_fat_kcal": s.numbers("CaloriesFromFat"),
        "hr_avg_bpm": s.numbers("AverageHeartRate"),
        "hr_peak_bpm": s.numbers("PeakHeartRate"),
        "hr_low_bpm": s.numbers("LowestHeartRate"),
        **{column: s.numbers("HeartRateZones", name) * 60 for column, name in ZONE_FIELDS.items()},  # minutes
        "max_hr_bpm": s.numbers("HeartRateZones", "MaxHR"),
        "hr_zone_classification": s.text_or_none("HRZoneClassification"),
        **float32s,
        "analysis_status": s.text_or_none("AnalysisStatus"),
        "split_distance_m": columns.first(s.column("SplitDistance"), s.scaled("SplitDistance", CM),
                                          s.scaled("DistanceWalkedInCm", CM)),
        "total_distance_m": s.scaled("TotalDistance", CM),
        "split_pace_s_per_km": s.scaled("SplitPace", MS),
        "split_speed_m_s": s.scaled("SplitSpeed", CM),
        "actual_distance_m": s.scaled("ActualDistance", CM),
        "overall_pace_s_per_km": s.scaled("OverallPace", MS),
        "altitude_gain_m": s.scaled("AltitudeGain", CM),
        "altitude_loss_m": s.scaled("AltitudeLoss", CM),
        "climb_rate_m_per_h": s.scaled("ClimbRateInCMPerHour", CM),
        "poi_type": s.text_or_none("POIType"),
        "user_poi_ordinal": s.integers("UserPOIOrdinal"),
        "golf_hole": s.integers("HoleNumber"),
        "golf_hole_par": s.integers("HolePar"),
        "golf_hole_score": s.integers("UserScore"),
        "golf_hole_difficulty": s.integers("HoleDifficultyIndex"),
        "golf_distance_to_pin_m": s.scaled("DistanceToPinInCm", CM),
        "location_blob": s.texts("LocationBlob"),
    })


def _minute_block(event_id: str, minutes: list[dict[str, Any]]) -> Block:
    col = partial(values_of, minutes)
    return Block(
        {
            "event_id": [event_id] * len(minutes),
            "time": [iso_utc(m["TimeOfDay"]) for m in minutes],
            "utc_offset_s": [written_offset_s(m["TimeOfDay"]) for m in minutes],
            "steps": integers(col("StepsTaken")),
            "calories_kcal": numbers(col("CaloriesBurned")),
            "hr_avg_bpm": numbers(col("AverageHeartRate")),
            "hr_peak_bpm": numbers(col("PeakHeartRate")),
            "hr_low_bpm": numbers(col("LowestHeartRate")),
            "distance_m": scaled(col("TotalDistance"), CM),
            "distance_on_foot_m": scaled(col("TotalDistanceOnFoot"), CM),
            "floors_climbed": integers(col("FloorsClimbed")),
            "uv_exposure_s": [minutes_s(v) for v in col("UvExposure")],
            "activity_level": col("ActivityLevel"),
            "day_classification": col("DayClassification"),
            "itcal": numbers(col("ItCal")),
        },
        len(minutes),
    )


# How columnar decoding reads each field (see `columns`): the schema's number as a float, or as an integer where the
# column is one; numeric (a number or its text) as a text; text as text, flag as a boolean.
MINUTE_TYPES = {"TimeOfDay": "String", "StepsTaken": "Int64", "CaloriesBurned": "Float64",
                "AverageHeartRate": "Float64", "PeakHeartRate": "Float64", "LowestHeartRate": "Float64",
                "TotalDistance": "String", "TotalDistanceOnFoot": "String", "FloorsClimbed": "Int64",
                "UvExposure": "String", "ActivityLevel": "String", "DayClassification": "String", "ItCal": "String"}


def _minute_frames(responses: list[list[tuple[str, list[dict[str, Any]]]]]):
    """`_minute_block` of each (event id, minute rows) of the responses by columns (see `columns`), all at once."""
    import polars as pl

    events = list(chain.from_iterable(responses))
    m = columns.Items(list(chain.from_iterable(rows for _, rows in events)),
                      {key: getattr(pl, t) for key, t in MINUTE_TYPES.items()})
    m.required("TimeOfDay")
    return m.frame("band_minutes", {
        "event_id": m.runs(((i, len(rows)) for i, rows in events), pl.String),
        "time": m.iso_utc("TimeOfDay"),
        "steps": m.integers("StepsTaken"),
        "calories_kcal": m.numbers("CaloriesBurned"),
        "hr_avg_bpm": m.numbers("AverageHeartRate"),
        "hr_peak_bpm": m.numbers("PeakHeartRate"),
        "hr_low_bpm": m.numbers("LowestHeartRate"),
        "distance_m": m.scaled("TotalDistance", CM),
        "distance_on_foot_m": m.scaled("TotalDistanceOnFoot", CM),
        "floors_climbed": m.integers("FloorsClimbed"),
        "uv_exposure_s": m.numbers("UvExposure") * 60,
        "activity_level": m.texts("ActivityLevel"),
        "day_classification": m.texts("DayClassification"),
        "itcal": m.numbers("ItCal"),
    })


POINT_TYPES = {"MapPointOrdinal": "Int64", "SecondsSinceStart": "Float64", "MapPointType": "String",
               "HeartRate": "Float64", "TotalDistance": "String", "ActualDistance": "String", "Pace": "String",
               "ScaledPace": "Int64", "Speed": "String", "IsPaused": "Boolean", "IsResume": "Boolean",
               "SplitOrdinal": "Int64", "POIType": "String", "UserPOIOrdinal": "Int64"}
EXACT_S = 2**53 // 1_000_000  # seconds whose µs a float holds exactly
LOCATION_FIELDS = ("Latitude", "Longitude", "AltitudeFromMSL", "EHPE", "EVPE", "SpeedOverGround")  # numeric


def _map_point_frames(responses: list[list[tuple[str, int | None, float | None, int | None,
                                                  list[dict[str, Any]]]]]):
    """`_map_point_block` of each (event id, start, split length, UTC offset, points) of the responses by columns
    (see `columns`), all at once."""
    import polars as pl

    events = list(chain.from_iterable(responses))
    location = pl.Struct({name: pl.String for name in LOCATION_FIELDS})
    p = columns.Items(list(chain.from_iterable(rows for *_, rows in events)),
                      {**{key: getattr(pl, t) for key, t in POINT_TYPES.items()}, "Location": location})
    p.required("MapPointOrdinal")
    since = p.numbers("SecondsSinceStart")
    p.check(since.is_between(-EXACT_S, EXACT_S))  # beyond, whole seconds are multiplied exactly only value by value
    start = p.runs(((t, len(rows)) for _, t, _, _, rows in events), pl.Int64)
    # start + round(s * 1_000_000): Python's round() rounds half to even; within years 1 to 9999 (`in_utc_range`)
    time = start + (since * 1_000_000).round(0, mode="half_to_even").cast(pl.Int64, strict=True)
    p.check(time.is_between(*UTC_RANGE_US))
    return p.frame("band_map_points", {
        "event_id": p.runs(((i, len(rows)) for i, _, _, _, rows in events), pl.String),
        "ordinal": p.integers("MapPointOrdinal"),
        "split_length_m": p.runs(((length, len(rows)) for *_, length, _, rows in events), pl.Float64),
        "time": time,
        "utc_offset_s": p.runs(((offset, len(rows)) for *_, offset, rows in events), pl.Int64),
        "seconds_since_start": since,
        "point_type": p.texts("MapPointType"),
        "latitude_deg": p.scaled("Location", E7, "Latitude"),
        "longitude_deg": p.scaled("Location", E7, "Longitude"),
        "altitude_m": p.scaled("Location", CM, "AltitudeFromMSL"),
        "horizontal_error_m": p.scaled("Location", CM, "EHPE"),
        "vertical_error_m": p.scaled("Location", CM, "EVPE"),
        "speed_over_ground_m_s": p.scaled("Location", CM, "SpeedOverGround"),
        "heart_rate_bpm": p.numbers("HeartRate"),
        "distance_m": p.scaled("TotalDistance", CM),
        "actual_distance_m": p.scaled("ActualDistance", CM),
        "pace_s_per_km": p.scaled("Pace", MS),
        "scaled_pace": p.integers("ScaledPace"),
        "speed_m_s": p.scaled("Speed", CM),
        "is_paused": p.flags("IsPaused"),
        "is_resume": p.flags("IsResume"),
        "split_ordinal": p.integers("SplitOrdinal"),
        "poi_type": p.text_or_none("POIType"),  # (an integer or a text, says the schema)
        "user_poi_ordinal": p.integers("UserPOIOrdinal"),
    })


def _map_point_block(event_id: str, start: int | None, split_length: float | None, offset: int | None,
                     points: list[dict[str, Any]]) -> Block:
    col = partial(values_of, points)
    location = partial(values_of, [p.get("Location") or {} for p in points])
    since = numbers(col("SecondsSinceStart"))
    return Block(
        {
            "event_id": [event_id] * len(points),
            "ordinal": integers([p["MapPointOrdinal"] for p in points]),
            "split_length_m": [split_length] * len(points),
            "time": [None if start is None or s is None else in_utc_range(start + round(s * 1_000_000)) for s in since],
            "utc_offset_s": [offset] * len(points),
            "seconds_since_start": since,
            "point_type": col("MapPointType"),
            "latitude_deg": scaled(location("Latitude"), E7),
            "longitude_deg": scaled(location("Longitude"), E7),
            "altitude_m": scaled(location("AltitudeFromMSL"), CM),
            "horizontal_error_m": scaled(location("EHPE"), CM),
            "vertical_error_m": scaled(location("EVPE"), CM),
            "speed_over_ground_m_s": scaled(location("SpeedOverGround"), CM),
            "heart_rate_bpm": numbers(col("HeartRate")),
            "distance_m": scaled(col("TotalDistance"), CM),
            "actual_distance_m": scaled(col("ActualDistance"), CM),
            "pace_s_per_km": scaled(col("Pace"), MS),
            "scaled_pace": integers(col("ScaledPace")),
            "speed_m_s": scaled(col("Speed"), CM),
            "is_paused": col("IsPaused"),
            "is_resume": col("IsResume"),
            "split_ordinal": integers(col("SplitOrdinal")),
            "poi_type": [text_or_none(v) for v in col("POIType")],
            "user_poi_ordinal": integers(col("UserPOIOrdinal")),
        },
        len(points),
    )


DAY_MIN = 24 * 60


def decode_daily_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """`/v2/UserDailySummary(timeZoneUtcOffset=…,startDate='…',endDate='…')`: one `UserDailySummary` per day."""
    args = odata_args(request.path_params.get("args"))
    offset = args.get("timezoneutcoffset")
    offset_min = int(offset) if offset not in (None, "") else None
    if offset_min is not None and not -DAY_MIN <= offset_min <= DAY_MIN:  # (as Sense's offsets are bounded)
        raise ValueError(f"a UTC offset of {offset_min} minutes is more than a day")
    devices = device_filter(args, request)
    for summary in payload["value"]:
        s = {k.lower(): v for k, v in summary.items()}
        day = local_day(s["timeofday"], offset_min)
        yield "band_daily_summaries", {
            "day": day,
            "device_filter": devices,
            "api": "private",
            "start_time": _day_start(s["timeofday"], offset_min),
            "duration_s": DAY_S,  # (the service cut the day at the request's offset: 24 hours, whatever the clocks)
            "utc_offset_s": offset_min * 60 if offset_min is not None else midnight_offset_s(s["timeofday"], day),
            **_summary_values(s),
            "active_hours": integer(s.get("numberofactivehours")),
            "cardio_s": number(s.get("cardioscore")),
            "intense_cardio_s": number(s.get("intensecardioseconds")),
            **private_zones(s.get("dailyheartratezones")),
            "source_devices": _source_devices(s.get("sourcedevices")),
        }


def _day_start(value: str, offset_min: int | None) -> int | None:
    """The instant a private daily summary's day starts (UTC epoch µs): its TimeOfDay, the UTC instant of local
    midnight; but a TimeOfDay written at midnight in UTC with another offset asked for is a date (DayId-style, as
    `local_day` reads it), whose day starts at local midnight: that date's midnight less the offset, so that
    start_time + utc_offset_s is the local midnight of `day`, as the table says."""
    start = iso_utc(value)
    t = datetime.fromisoformat(value)
    if offset_min and (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0) and not t.utcoffset():
        return in_utc_range(start - offset_min * 60_000_000)
    return start


def decode_hourly_summaries(payload: dict[str, Any], request: Request) -> Rows:
    """`/v2/UserHourlySummary(period='h')` and the older `/v1/UserActivities(period='h')`: one `UserActivity` per
    hour. Another period than 'h' is refused rather than filed as hours. The request's $filter bounds name the
    offset of the local day the app asked for: the rows' `utc_offset_s`."""
    args = odata_args(request.path_params.get("args"))
    period = args.get("period")
    if period not in (None, "", "h", "H"):
        raise ValueError(f"period {period!r} is not hourly")
    offset = filter_offset_s(request.query.get("$filter"))
    devices = device_filter(args, request)
    for summary in payload["value"]:
        s = {k.lower(): v for k, v in summary.items()}
        yield "band_hourly_summaries", {
            "time": iso_utc(s["timeofday"]),
            "device_filter": devices,
            "api": "private",
            "utc_offset_s": written_offset_s(s["timeofday"]) if offset is None else offset,
            **_summary_values(s),
            "active_hours": None,
        }


def device_filter(args: dict[str, str], request: Request) -> str | None:
    """The device a private summary was asked for: the OData key argument deviceId='…', or the query parameter
    deviceId=%27…%27 the Android app adds (BAND-API §A.1); None for the whole account."""
    device = args.get("deviceid") or request.query.get("deviceid", "").strip().strip("'\"")
    return device or None


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
        "activity_level": text(s.get("activitylevel")),
        "day_classification": text(s.get("dayclassification")),
        "itcal": number(s.get("itcal")),
    }


def _source_devices(sources: list | None) -> str | None:
    """SourceDevices (`[{SensorType, DeviceGroups: [{DeviceIds, DeviceMetadataHint, SourceType}]}]`) as text:
    `SensorType:SourceType/DeviceMetadataHint=DeviceId+DeviceId`, joined by ','."""
    parts = []
    for source in sources or ():
        s = {k.lower(): v for k, v in source.items()}
        for group in s.get("devicegroups") or ():
            g = {k.lower(): v for k, v in group.items()}
            ids = "+".join(str(i) for i in g.get("deviceids") or ())
            hint = f"/{g['devicemetadatahint']}" if g.get("devicemetadatahint") else ""
            parts.append(f"{s.get('sensortype')}:{g.get('sourcetype')}{hint}={ids}")
    return ",".join(parts) or None


def filter_offset_s(odata_filter: str | None) -> int | None:
    """The UTC offset the datetimeoffset bounds of an OData $filter are written with, when they all name the same. A
    '+' sent unencoded (Windows, iOS and unBand send OData as it is) reads as a space; a bound that is no time names
    none: the offset is unknown, the rows are not rejected for it."""
    offsets = set()
    for value in re.findall(r"datetimeoffset'([^']+)'", odata_filter or "", re.IGNORECASE):
        try:
            offsets.add(datetime.fromisoformat(re.sub(r" (\d\d(?::?\d\d)?)$", r"+\1", value.strip())).utcoffset())
        except ValueError:
            return None
    if len(offsets) != 1 or None in offsets:
        return None
    return int(offsets.pop().total_seconds())


def midnight_offset_s(value: str, day: date) -> int | None:
    """The UTC offset of a day's local midnight written as `value` (a daily summary's start): its written offset if
    written at midnight (None for UTC written without an offset, a DayId-style date), else local midnight of `day`
    minus the instant (`day` having been worked out from the instant)."""
    t = datetime.fromisoformat(value)
    if (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0):
        offset = t.utcoffset()
        return None if offset is None or value.endswith("Z") else int(offset.total_seconds())
    utc = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return int((datetime(day.year, day.month, day.day, tzinfo=UTC) - utc).total_seconds())


def decode_raised_insights(payload: dict[str, Any], request: Request) -> Rows:
    """GET /v1/RaisedInsights(…): an OData collection of the insights raised for the wearer."""
    for r in payload["value"]:
        effective = r.get("EffectiveDT")
        yield "band_insights", {
            "raised_insight_id": identifier(r["RaisedInsightId"]),
            "insight_id": text_or_none(r.get("InsightId")),
            "effective_time": iso_utc(effective),
            "utc_offset_s": offset_s(effective),
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


def written_offset_s(value: str | None) -> int | None:
    """The wearer's UTC offset a private time names: the private API writes UTC (`Z`, or +00:00), which names no
    zone (None), but a time written at another offset (+05:45) keeps it, as the public API's do
    (`band_public.activity_offset_s`)."""
    offset = offset_s(value)
    return None if offset == 0 else offset


def offset_s(value: str | None) -> int | None:
    """The UTC offset an ISO timestamp was written with, in seconds (None when it names none)."""
    offset = datetime.fromisoformat(value).utcoffset() if value else None
    return None if offset is None else int(offset.total_seconds())


def _joined(values: list | None) -> str | None:
    return ",".join(str(v) for v in values) if values else None


def _pivot_text(value: Any) -> str | None:
    """A pivot as text; Windows sends NoteworthyPivot as a JSON boolean (written true/false)."""
    return str(value).lower() if isinstance(value, bool) else text_or_none(value)


# hr_zone_* column -> the zone's name in the private API's HRZones (lower-cased); MaxHR / MaxHr: the maximum used
PRIVATE_HR_ZONES = {
    "hr_zone_under_s": "under",
    "hr_zone_healthy_heart_s": "healthyheart",
    "hr_zone_fitness_s": "fitnesszone",
    "hr_zone_aerobic_s": "aerobic",
    "hr_zone_anaerobic_s": "anaerobic",
    "hr_zone_redline_s": "redline",
    "hr_zone_over_s": "over",
}
ZONE_COLUMNS = (*PRIVATE_HR_ZONES, "max_hr_bpm")
NO_ZONES = dict.fromkeys(ZONE_COLUMNS)  # the columns of no HRZones object
# Hikes: band_events column -> the private field, cm/h
HIKE_RATES = {
    "climb_rate_m_per_h": "climbrateincmperhour",
    "climb_rate_max_m_per_h": "maxclimbrateincmperhour",
    "ascent_rate_m_per_h": "ascentrateincmperhour",
    "ascent_rate_max_m_per_h": "maxascentrateincmperhour",
    "descent_rate_m_per_h": "descentrateincmperhour",
    "descent_rate_max_m_per_h": "maxdescentrateincmperhour",
}


def private_zones(zones: dict[str, Any] | None) -> Row:
    """The hr_zone_* columns (seconds) and max_hr_bpm of a private HRZones object (minutes), whatever its casing."""
    if not zones:
        return dict(NO_ZONES)
    z = {k.lower(): v for k, v in zones.items()}
    return {column: minutes_s(z.get(name)) for column, name in PRIVATE_HR_ZONES.items()} | {
        "max_hr_bpm": number(z.get("maxhr"))
    }


def single(value: Any) -> float | None:
    """A float the service computed in single precision (TrainingEffect 2.0999999046325684) at that precision (2.1):
    the shortest decimal that is the same float32. Values that are not float32s are kept as they are."""
    v = number(value)
    if v is None or not math.isfinite(v):
        return v
    try:
        if struct.unpack("<f", struct.pack("<f", v))[0] != v:
            return v
    except OverflowError:
        return v
    for digits in range(1, 10):
        shortest = float(f"{v:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", shortest))[0] == v:
            return shortest
    return v


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


def _event_ref(value: Any) -> str | None:
    """Another event's id as text; "0" (the private API's "none") is null."""
    ref = None if value is None or value == "" else identifier(value)
    return None if ref in (None, "0") else ref


def text_or_none(value: Any) -> str | None:
    """A text, or a number (an enumeration's), as text; "" is null. ValueError for a boolean, object or array, which
    no text column holds as Python would write it."""
    if value is None or value == "":
        return None
    if type(value) in (str, int, float):
        return str(value)
    raise ValueError(f"a JSON {json_type(value)} where a text or a number belongs")


def text(value: Any) -> str | None:
    """A text column's value as it came; ValueError for another kind than text (a field in a casing the schema did
    not check)."""
    if value is None or type(value) is str:
        return value
    raise ValueError(f"a JSON {json_type(value)} where a text belongs")


def flag(value: Any) -> bool | None:
    """A boolean column's value as it came; ValueError for another kind than a boolean."""
    if value is None or type(value) is bool:
        return value
    raise ValueError(f"a JSON {json_type(value)} where true or false belongs")


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's kind (never the value: it is captured data)."""
    return {bool: "boolean", int: "number", float: "number", str: "string", dict: "object", list: "array"}.get(
        type(value), "null")


# --- Where every field goes (see fields.py) ---------------------------------------------------------------------

ODATA_METADATA = Dropped("OData envelope: the address of the service's metadata document")
ODATA_NEXT = Dropped("OData paging envelope: the address of the next page, whose records come in its own response")
ODATA_TYPE = Dropped("the record's class name (…UserRunEventDTO, …RunEventSequenceDTO): implied by EventType and "
                     "SequenceType")
NEVER_SEEN = "not in any known payload, its shape unknown: not decoded"


def zone_fields(prefix: str, table: str) -> dict[str, Target]:
    """A private HRZones object's fields (minutes per zone, MaxHR) -> the table's hr_zone_* columns."""
    names = {**{name: column for column, name in PRIVATE_HR_ZONES.items()}, "maxhr": "max_hr_bpm"}
    spelled = {"healthyheart": "HealthyHeart", "fitnesszone": "FitnessZone", "redline": "RedLine", "maxhr": "MaxHR"}
    return {f"{prefix}/{spelled.get(n, n.title())}": f"{table}.{column}" for n, column in names.items()}


def summary_fields(prefix: str, table: str) -> dict[str, Target]:
    """A private UserActivity's fields (event minutes, hourly and daily summaries) -> the table's columns."""
    return {
        f"{prefix}/StepsTaken": f"{table}.steps",
        f"{prefix}/CaloriesBurned": f"{table}.calories_kcal",
        f"{prefix}/AverageHeartRate": f"{table}.hr_avg_bpm",
        f"{prefix}/PeakHeartRate": f"{table}.hr_peak_bpm",
        f"{prefix}/LowestHeartRate": f"{table}.hr_low_bpm",
        f"{prefix}/TotalDistance": f"{table}.distance_m",
        f"{prefix}/TotalDistanceOnFoot": f"{table}.distance_on_foot_m",
        f"{prefix}/FloorsClimbed": f"{table}.floors_climbed",
        f"{prefix}/UvExposure": f"{table}.uv_exposure_s",
        f"{prefix}/ActivityLevel": f"{table}.activity_level",
        f"{prefix}/DayClassification": f"{table}.day_classification",
        f"{prefix}/ItCal": f"{table}.itcal",
        f"{prefix}/Location": Dropped(f"null in every known payload and read by no client: {NEVER_SEEN}"),
    }


EVENT = "value[]"
SEQUENCE = f"{EVENT}/Sequences[]"
MINUTE = f"{EVENT}/Info[]"
POINT = f"{EVENT}/MapPoints[]"
IDS = ("band_events.event_id", "band_sequences.event_id", "band_minutes.event_id", "band_map_points.event_id")
EVENT_FIELDS = Fields(
    {
        "odata.metadata": ODATA_METADATA,
        "odata.nextLink": ODATA_NEXT,
        f"{EVENT}/odata.type": ODATA_TYPE,
        f"{EVENT}/EventId": IDS,
        f"{EVENT}/EventType": "band_events.event_type",
        f"{EVENT}/Name": "band_events.name",
        f"{EVENT}/StartTime": ("band_events.start_time", "band_events.utc_offset_s", "band_map_points.time",
                               "band_map_points.utc_offset_s"),
        f"{EVENT}/DayId": "band_events.day_id",
        f"{EVENT}/Duration": "band_events.duration_s",
        f"{EVENT}/PausedTime": "band_events.paused_s",
        f"{EVENT}/ParentEventId": "band_events.parent_event_id",
        f"{EVENT}/DeliveryId": "band_events.delivery_id",
        f"{EVENT}/Flags": "band_events.flags",
        f"{EVENT}/Feeling": "band_events.feeling",
        f"{EVENT}/AnalysisStatus": "band_events.analysis_status",
        f"{EVENT}/TotalDistance": "band_events.distance_m",
        f"{EVENT}/TotalDistanceWalkedInCm": "band_events.distance_m",
        f"{EVENT}/ActualDistance": "band_events.actual_distance_m",
        f"{EVENT}/SplitDistance": ("band_events.split_length_m", "band_sequences.split_length_m",
                                   "band_map_points.split_length_m"),
        f"{EVENT}/WayPointDistance": "band_events.waypoint_distance_m",
        f"{EVENT}/AverageSpeed": "band_events.speed_avg_m_s",
        f"{EVENT}/MaxSpeed": "band_events.speed_max_m_s",
        f"{EVENT}/StepsTaken": "band_events.steps",
        f"{EVENT}/TotalStepCount": "band_events.steps",
        f"{EVENT}/CaloriesBurned": "band_events.calories_kcal",
        f"{EVENT}/CaloriesFromCarbs": "band_events.calories_from_carbs_kcal",
        f"{EVENT}/CaloriesFromFat": "band_events.calories_from_fat_kcal",
        f"{EVENT}/AverageHeartRate": "band_events.hr_avg_bpm",
        f"{EVENT}/PeakHeartRate": "band_events.hr_peak_bpm",
        f"{EVENT}/LowestHeartRate": "band_events.hr_low_bpm",
        **zone_fields(f"{EVENT}/HeartRateZones", "band_events"),
        f"{EVENT}/Pace": "band_events.pace_s_per_km",
        f"{EVENT}/TrainingEffect": "band_events.training_effect",
        f"{EVENT}/MaximalVO2": "band_events.vo2max_ml_kg_min",
        f"{EVENT}/StressBalance": "band_events.stress_balance",
        f"{EVENT}/RecoveryTime": "band_events.recovery_time_s",
        f"{EVENT}/FinishHeartRate": "band_events.finish_hr_bpm",
        f"{EVENT}/RecoveryHeartRate1Minute": "band_events.recovery_hr_1min_bpm",
        f"{EVENT}/RecoveryHeartRate2Minute": "band_events.recovery_hr_2min_bpm",
        f"{EVENT}/MaxAltitude": "band_events.max_altitude_m",
        f"{EVENT}/MinAltitude": "band_events.min_altitude_m",
        f"{EVENT}/TotalAltitudeGain": "band_events.altitude_gain_m",
        f"{EVENT}/TotalAltitudeLoss": "band_events.altitude_loss_m",
        f"{EVENT}/UvExposure": "band_events.uv_exposure_s",
        f"{EVENT}/CardioScore": "band_events.cardio_s",
        f"{EVENT}/IntenseCardioSeconds": "band_events.intense_cardio_s",
        f"{EVENT}/GPSState": "band_events.gps_state",
        f"{EVENT}/IsLowPowerGPS": "band_events.low_power_gps",
        f"{EVENT}/SplitGroupSize": "band_events.split_group_size",
        f"{EVENT}/WorkoutPlanId": "band_events.workout_plan_id",
        f"{EVENT}/WorkoutIndex": "band_events.workout_index",
        f"{EVENT}/WorkoutDayId": "band_events.workout_day",
        f"{EVENT}/WorkoutWeekId": "band_events.workout_week",
        f"{EVENT}/RoundsPerformed": "band_events.rounds",
        f"{EVENT}/RepetitionsPerformed": "band_events.repetitions",
        f"{EVENT}/CyclesPerformed": "band_events.cycles",
        f"{EVENT}/CompletionType": "band_events.completion_type",
        f"{EVENT}/CompletionValue": "band_events.completion_value",
        f"{EVENT}/KDisplaySubType": "band_events.display_subtype",
        f"{EVENT}/CourseID": "band_events.golf_course_id",
        f"{EVENT}/CourseName": "band_events.golf_course_name",
        f"{EVENT}/CoursePar": "band_events.golf_course_par",
        f"{EVENT}/TeeNameSelected": "band_events.golf_tee",
        f"{EVENT}/TotalHolesPlayed": "band_events.golf_holes_played",
        f"{EVENT}/TotalScore": "band_events.golf_score",
        f"{EVENT}/ParForHolesPlayed": "band_events.golf_par",
        f"{EVENT}/ParOrBetterCount": "band_events.golf_par_or_better_holes",
        f"{EVENT}/LongestDriveInCm": "band_events.golf_longest_drive_m",
        f"{EVENT}/PaceOfPlayInSeconds": "band_events.golf_pace_of_play_s",
        **{f"{EVENT}/{name}": f"band_events.{column}" for column, name in {
            "climb_rate_m_per_h": "ClimbRateInCMPerHour", "climb_rate_max_m_per_h": "MaxClimbRateInCMPerHour",
            "ascent_rate_m_per_h": "AscentRateInCMPerHour", "ascent_rate_max_m_per_h": "MaxAscentRateInCMPerHour",
            "descent_rate_m_per_h": "DescentRateInCMPerHour", "descent_rate_max_m_per_h": "MaxDescentRateInCMPerHour",
        }.items()},
        f"{EVENT}/RestingTimeInSeconds": "band_events.resting_s",
        f"{EVENT}/ActiveTimeInSeconds": "band_events.active_s",
        f"{EVENT}/MapPointElevationSource": "band_events.elevation_source",
        f"{EVENT}/FallAsleepTime": "band_events.fall_asleep_time",
        f"{EVENT}/WakeUpTime": "band_events.wake_up_time",
        f"{EVENT}/SleepTime": "band_events.sleep_s",
        f"{EVENT}/AwakeTime": "band_events.awake_s",
        f"{EVENT}/TimeToFallAsleep": "band_events.time_to_fall_asleep_s",
        f"{EVENT}/TotalRestfulSleep": "band_events.restful_sleep_s",
        f"{EVENT}/TotalRestlessSleep": "band_events.restless_sleep_s",
        f"{EVENT}/NumberOfWakeups": "band_events.wakeups",
        f"{EVENT}/RestingHeartRate": "band_events.resting_hr_bpm",
        f"{EVENT}/SleepEfficiencyPercentage": "band_events.sleep_efficiency_pct",
        f"{EVENT}/SleepRecoveryIndex": "band_events.sleep_recovery_index",
        f"{EVENT}/SleepRestorationMsg": "band_events.sleep_restoration_message",
        f"{EVENT}/IsAutoDetected": "band_events.auto_detected",
        f"{EVENT}/SleepTimeline": Dropped(f"the Android app's rest-type timeline of a night (RestType, Seconds): "
                                          f"{NEVER_SEEN}; the night's stages are in Sequences"),
        f"{EVENT}/Evidences": Dropped(f"$expand=Evidences: {NEVER_SEEN}"),
        f"{EVENT}/PersonalBests": Dropped(f"the apps' personal-best records: {NEVER_SEEN}"),
        f"{SEQUENCE}/odata.type": ODATA_TYPE,
        f"{SEQUENCE}/SequenceId": "band_sequences.sequence_id",
        f"{SEQUENCE}/Order": "band_sequences.sequence_order",
        f"{SEQUENCE}/SequenceType": "band_sequences.sequence_type",
        f"{SEQUENCE}/SleepType": "band_sequences.sleep_type",
        f"{SEQUENCE}/DayId": "band_sequences.day_id",
        f"{SEQUENCE}/StartTime": ("band_sequences.start_time", "band_sequences.utc_offset_s"),
        f"{SEQUENCE}/Duration": "band_sequences.duration_s",
        f"{SEQUENCE}/PausedTime": "band_sequences.paused_s",
        f"{SEQUENCE}/SleepTime": "band_sequences.sleep_s",
        f"{SEQUENCE}/StepsTaken": "band_sequences.steps",
        f"{SEQUENCE}/StepCount": "band_sequences.steps",
        f"{SEQUENCE}/CaloriesBurned": "band_sequences.calories_kcal",
        f"{SEQUENCE}/CaloriesFromCarbs": "band_sequences.calories_from_carbs_kcal",
        f"{SEQUENCE}/CaloriesFromFat": "band_sequences.calories_from_fat_kcal",
        f"{SEQUENCE}/AverageHeartRate": "band_sequences.hr_avg_bpm",
        f"{SEQUENCE}/PeakHeartRate": "band_sequences.hr_peak_bpm",
        f"{SEQUENCE}/LowestHeartRate": "band_sequences.hr_low_bpm",
        **zone_fields(f"{SEQUENCE}/HeartRateZones", "band_sequences"),
        f"{SEQUENCE}/HRZoneClassification": "band_sequences.hr_zone_classification",
        f"{SEQUENCE}/TrainingEffect": "band_sequences.training_effect",
        f"{SEQUENCE}/MaximalV02": "band_sequences.vo2max_ml_kg_min",
        f"{SEQUENCE}/MaximalVO2": "band_sequences.vo2max_ml_kg_min",
        f"{SEQUENCE}/StressBalance": "band_sequences.stress_balance",
        f"{SEQUENCE}/AnalysisStatus": "band_sequences.analysis_status",
        f"{SEQUENCE}/SplitDistance": "band_sequences.split_distance_m",
        f"{SEQUENCE}/DistanceWalkedInCm": "band_sequences.split_distance_m",
        f"{SEQUENCE}/TotalDistance": "band_sequences.total_distance_m",
        f"{SEQUENCE}/SplitPace": "band_sequences.split_pace_s_per_km",
        f"{SEQUENCE}/SplitSpeed": "band_sequences.split_speed_m_s",
        f"{SEQUENCE}/ActualDistance": "band_sequences.actual_distance_m",
        f"{SEQUENCE}/OverallPace": "band_sequences.overall_pace_s_per_km",
        f"{SEQUENCE}/AltitudeGain": "band_sequences.altitude_gain_m",
        f"{SEQUENCE}/AltitudeLoss": "band_sequences.altitude_loss_m",
        f"{SEQUENCE}/ClimbRateInCMPerHour": "band_sequences.climb_rate_m_per_h",
        f"{SEQUENCE}/POIType": "band_sequences.poi_type",
        f"{SEQUENCE}/UserPOIOrdinal": "band_sequences.user_poi_ordinal",
        f"{SEQUENCE}/Location": Dropped(f"hike waypoints' position record: {NEVER_SEEN}"),
        f"{SEQUENCE}/Elevation": Dropped(f"hike waypoints' elevation record: {NEVER_SEEN}"),
        f"{SEQUENCE}/HoleNumber": "band_sequences.golf_hole",
        f"{SEQUENCE}/HolePar": "band_sequences.golf_hole_par",
        f"{SEQUENCE}/UserScore": "band_sequences.golf_hole_score",
        f"{SEQUENCE}/HoleDifficultyIndex": "band_sequences.golf_hole_difficulty",
        f"{SEQUENCE}/DistanceToPinInCm": "band_sequences.golf_distance_to_pin_m",
        f"{SEQUENCE}/LocationBlob": "band_sequences.location_blob",
        f"{MINUTE}/TimeOfDay": ("band_minutes.time", "band_minutes.utc_offset_s"),
        **summary_fields(MINUTE, "band_minutes"),
        f"{POINT}/odata.type": ODATA_TYPE,
        f"{POINT}/MapPointOrdinal": "band_map_points.ordinal",
        f"{POINT}/SecondsSinceStart": ("band_map_points.seconds_since_start", "band_map_points.time"),
        f"{POINT}/MapPointType": "band_map_points.point_type",
        f"{POINT}/Location/Latitude": "band_map_points.latitude_deg",
        f"{POINT}/Location/Longitude": "band_map_points.longitude_deg",
        f"{POINT}/Location/AltitudeFromMSL": "band_map_points.altitude_m",
        f"{POINT}/Location/EHPE": "band_map_points.horizontal_error_m",
        f"{POINT}/Location/EVPE": "band_map_points.vertical_error_m",
        f"{POINT}/Location/SpeedOverGround": "band_map_points.speed_over_ground_m_s",
        f"{POINT}/HeartRate": "band_map_points.heart_rate_bpm",
        f"{POINT}/TotalDistance": "band_map_points.distance_m",
        f"{POINT}/ActualDistance": "band_map_points.actual_distance_m",
        f"{POINT}/Pace": "band_map_points.pace_s_per_km",
        f"{POINT}/ScaledPace": "band_map_points.scaled_pace",
        f"{POINT}/Speed": "band_map_points.speed_m_s",
        f"{POINT}/IsPaused": "band_map_points.is_paused",
        f"{POINT}/IsResume": "band_map_points.is_resume",
        f"{POINT}/SplitOrdinal": "band_map_points.split_ordinal",
        f"{POINT}/POIType": "band_map_points.poi_type",
        f"{POINT}/UserPOIOrdinal": "band_map_points.user_poi_ordinal",
        f"{POINT}/Elevation": Dropped(f"hike points' elevation record: {NEVER_SEEN}"),
    },
    aliases={"": EVENT},  # one bare event: the fields of an item of value[]
)

DAY = "value[]"
DAILY_FIELDS = Fields(
    {
        "odata.metadata": ODATA_METADATA,
        "odata.nextLink": ODATA_NEXT,
        f"{DAY}/TimeOfDay": ("band_daily_summaries.day", "band_daily_summaries.start_time",
                            "band_daily_summaries.utc_offset_s"),
        **summary_fields(DAY, "band_daily_summaries"),
        f"{DAY}/NumberOfActiveHours": "band_daily_summaries.active_hours",
        f"{DAY}/CardioScore": "band_daily_summaries.cardio_s",
        f"{DAY}/IntenseCardioSeconds": "band_daily_summaries.intense_cardio_s",
        **zone_fields(f"{DAY}/DailyHeartRateZones", "band_daily_summaries"),
        f"{DAY}/SourceDevices[]/SensorType": "band_daily_summaries.source_devices",
        f"{DAY}/SourceDevices[]/DeviceGroups[]/DeviceIds[]": "band_daily_summaries.source_devices",
        f"{DAY}/SourceDevices[]/DeviceGroups[]/DeviceMetadataHint": "band_daily_summaries.source_devices",
        f"{DAY}/SourceDevices[]/DeviceGroups[]/SourceType": "band_daily_summaries.source_devices",
    }
)

HOUR = "value[]"
HOURLY_FIELDS = Fields(
    {
        "odata.metadata": ODATA_METADATA,
        "odata.nextLink": ODATA_NEXT,
        f"{HOUR}/TimeOfDay": ("band_hourly_summaries.time", "band_hourly_summaries.utc_offset_s"),
        **summary_fields(HOUR, "band_hourly_summaries"),
    }
)

INSIGHT = "value[]"
INSIGHT_FIELDS = Fields(
    {
        "odata.metadata": ODATA_METADATA,
        "odata.nextLink": ODATA_NEXT,
        f"{INSIGHT}/RaisedInsightId": "band_insights.raised_insight_id",
        f"{INSIGHT}/InsightId": "band_insights.insight_id",
        f"{INSIGHT}/EffectiveDT": ("band_insights.effective_time", "band_insights.utc_offset_s"),
        f"{INSIGHT}/ExpirationDT": "band_insights.expiration_time",
        f"{INSIGHT}/Expired": "band_insights.expired",
        f"{INSIGHT}/Acknowledged": "band_insights.acknowledged",
        f"{INSIGHT}/IM_Msg": "band_insights.message",
        f"{INSIGHT}/IM_Help": "band_insights.help",
        f"{INSIGHT}/IM_Action_Msg": "band_insights.action_message",
        f"{INSIGHT}/DeviceLine1_Msg": "band_insights.band_line1",
        f"{INSIGHT}/DeviceLine1_Help": "band_insights.band_line1_help",
        f"{INSIGHT}/DeviceLine2_Msg": "band_insights.band_line2",
        f"{INSIGHT}/DeviceLine2_Help": "band_insights.band_line2_help",
        f"{INSIGHT}/DataUsedPivot[]": "band_insights.data_used",
        f"{INSIGHT}/CategoryPivot[]": "band_insights.category",
        f"{INSIGHT}/ComparisonPivot": "band_insights.comparison",
        f"{INSIGHT}/TimespanPivot": "band_insights.timespan",
        f"{INSIGHT}/TonePivot": "band_insights.tone",
        f"{INSIGHT}/ScopePivot": "band_insights.scope",
        f"{INSIGHT}/NoteworthyPivot": "band_insights.noteworthy",
        f"{INSIGHT}/InsightEvidence": Dropped(f"the records an insight was drawn from (Windows model): {NEVER_SEEN}"),
    }
)

CHECKED_EVENT_FIELDS = frozenset(schema("band-events.json")["$defs"]["event"]["properties"])
EVENTS = Endpoint(
    "band/events", "data", "band-events.json", decode_events,
    tables=("band_events", "band_sequences", "band_minutes", "band_map_points"),
    fields=EVENT_FIELDS,
    by_columns=True,
)
DAILY_SUMMARIES = Endpoint(
    "band/daily-summaries", "data", "band-daily-summaries.json", decode_daily_summaries,
    tables=("band_daily_summaries",),
    fields=DAILY_FIELDS,
)
HOURLY_SUMMARIES = Endpoint(
    "band/hourly-summaries", "data", "band-hourly-summaries.json", decode_hourly_summaries,
    tables=("band_hourly_summaries",),
    fields=HOURLY_FIELDS,
)
RAISED_INSIGHTS = Endpoint(
    "band/raised-insights", "data", "band-insights.json", decode_raised_insights, tables=("band_insights",),
    fields=INSIGHT_FIELDS,
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
