"""The output tables: every column with its type, unit and meaning, and each table's natural key.

These definitions are the single source of the polars schemas, the de-duplication keys and the README's
data dictionary (`make docs` writes it there).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key (with participant_id): one row per key value
    group: str | None = None  # rows come as whole sets per value of this column: a newer set replaces an older one

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.dtype == UTC_TIME)

    @property
    def row_schema(self) -> dict[str, pl.DataType]:
        """The schema of decoded rows: times as epoch µs integers, provenance not yet added."""
        provenance = {c.name for c in PROVENANCE}
        return {c.name: pl.Int64 if c.dtype == UTC_TIME else c.dtype for c in self.columns if c.name not in provenance}


def C(name: str, dtype: pl.DataType, description: str, unit: str | None = None) -> Column:
    return Column(name, dtype, description, unit)


PROVENANCE = (
    C("participant_id", pl.String, "Study participant the capture belongs to (null unless given)"),
    C("source_file", pl.String, "Capture file the row was read from"),
    C("source_entry", pl.Int64, "0-based index of the HAR entry or flow in that file"),
    C("captured_at", UTC_TIME, "When the response was captured (UTC)"),
)

S, I, F, B, D = pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Date


def table(name: str, description: str, key: tuple[str, ...], *columns: Column, group: str | None = None) -> Table:
    return Table(name, description, (*columns, *PROVENANCE), ("participant_id", *key), group)


BAND_EVENTS = table(
    "band_events",
    "One row per Microsoft Band event (sleep, run, bike, workout, guided workout, golf, hike).",
    ("event_id",),
    C("event_id", S, "Band event id (EventId); decodes to the start time"),
    C("api", S, "Which Band API the row came from: private (dns-cargo.com OData)"),
    C("event_type", S, "EventType: Sleeping, Running, Biking, Workout, GuidedWorkout, Golf, Hike…"),
    C("name", S, "User's label for the event"),
    C("day_id", D, "Local calendar day the event is filed under (DayId)"),
    C("start_time", UTC_TIME, "Start of the event (UTC)"),
    C("duration_s", F, "Duration, pauses excluded", "s"),
    C("paused_s", F, "Time paused", "s"),
    C("distance_m", F, "Total distance (TotalDistance); null when the event has none", "m"),
    C("actual_distance_m", F, "Distance actually covered (ActualDistance)", "m"),
    C("steps", I, "Steps taken", "steps"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("calories_from_carbs_kcal", F, "Calories from carbohydrates", "kcal"),
    C("calories_from_fat_kcal", F, "Calories from fat", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("pace_s_per_km", F, "Average pace (Pace, ms/km in the API)", "s/km"),
    C("training_effect", F, "Training effect score"),
    C("recovery_time_s", F, "Recommended recovery time", "s"),
    C("finish_hr_bpm", F, "Heart rate at the end of the exercise", "bpm"),
    C("max_altitude_m", F, "Highest altitude", "m"),
    C("min_altitude_m", F, "Lowest altitude", "m"),
    C("altitude_gain_m", F, "Total altitude gained", "m"),
    C("altitude_loss_m", F, "Total altitude lost", "m"),
    C("fall_asleep_time", UTC_TIME, "Sleep: when the wearer fell asleep (UTC)"),
    C("wake_up_time", UTC_TIME, "Sleep: when the wearer woke up (UTC)"),
    C("sleep_s", F, "Sleep: time asleep (SleepTime)", "s"),
    C("awake_s", F, "Sleep: time awake (AwakeTime)", "s"),
    C("time_to_fall_asleep_s", F, "Sleep: time to fall asleep", "s"),
    C("restful_sleep_s", F, "Sleep: total restful sleep", "s"),
    C("restless_sleep_s", F, "Sleep: total restless sleep", "s"),
    C("wakeups", I, "Sleep: number of wake-ups", "count"),
    C("resting_hr_bpm", F, "Sleep: resting heart rate", "bpm"),
    C("sleep_efficiency_pct", F, "Sleep: efficiency", "%"),
    C("auto_detected", B, "Sleep: detected automatically rather than started by the wearer"),
)

BAND_SEQUENCES = table(
    "band_sequences",
    "Segments of a Band event: sleep stages, run splits, workout parts (Sequences).",
    ("event_id", "sequence_id"),
    C("event_id", S, "Event the segment belongs to"),
    C("sequence_id", S, "Segment id (SequenceId)"),
    C("sequence_order", I, "1-based position in the event (Order)"),
    C("sequence_type", S, "SequenceType: Sleep, Awake, Dozing, Snoozing, NotWorn, Running, Workout…"),
    C("sleep_type", S, "Sleep segments: RestfulSleep, RestlessSleep, UndifferentiatedSleep"),
    C("start_time", UTC_TIME, "Start of the segment (UTC)"),
    C("duration_s", F, "Duration of the segment", "s"),
    C("sleep_s", F, "Sleep segments: time asleep (SleepTime, seconds assumed)", "s"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("split_distance_m", F, "Run/bike splits: distance in this split", "m"),
    C("total_distance_m", F, "Run/bike splits: cumulative distance", "m"),
    C("split_pace_s_per_km", F, "Run splits: pace in this split", "s/km"),
)

BAND_MINUTES = table(
    "band_minutes",
    "Minute-by-minute readings inside a Band event (Info).",
    ("event_id", "time"),
    C("event_id", S, "Event the minute belongs to"),
    C("time", UTC_TIME, "Start of the minute (UTC)"),
    C("steps", I, "Steps taken", "steps"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("distance_m", F, "Distance covered (TotalDistance, a string of cm in the API)", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot", "m"),
    C("floors_climbed", I, "Floors climbed", "count"),
    C("activity_level", S, "ActivityLevel as reported (e.g. Inactive)"),
)

BAND_MAP_POINTS = table(
    "band_map_points",
    "GPS track points of Band runs, rides and hikes (MapPoints).",
    ("event_id", "ordinal"),
    C("event_id", S, "Event the point belongs to"),
    C("ordinal", I, "0-based position in the track (MapPointOrdinal)"),
    C("time", UTC_TIME, "Event start + seconds since start (UTC)"),
    C("seconds_since_start", F, "Time since the event started", "s"),
    C("point_type", S, "MapPointType: Start, WayPoint, Split, End"),
    C("latitude_deg", F, "Latitude (null without a GPS fix)", "deg"),
    C("longitude_deg", F, "Longitude (null without a GPS fix)", "deg"),
    C("altitude_m", F, "Altitude above mean sea level", "m"),
    C("horizontal_error_m", F, "Estimated horizontal position error (EHPE)", "m"),
    C("vertical_error_m", F, "Estimated vertical position error (EVPE)", "m"),
    C("heart_rate_bpm", F, "Heart rate", "bpm"),
    C("distance_m", F, "Cumulative distance (TotalDistance)", "m"),
    C("pace_s_per_km", F, "Pace", "s/km"),
    C("speed_m_s", F, "Speed", "m/s"),
    C("is_paused", B, "The event was paused at this point"),
    C("split_ordinal", I, "Split the point falls in"),
)

SENSE_NIGHTS = table(
    "sense_nights",
    "One row per Hello Sense night (timeline).",
    ("night",),
    C("night", D, "The night, by its evening's date"),
    C("score", I, "Sleep score, 0-100", "score"),
    C("score_condition", S, "IDEAL, WARNING, ALERT, UNAVAILABLE, INCOMPLETE, NO_DATA"),
    C("message", S, "Summary shown in the app (Markdown)"),
    C("api_version", I, "Timeline API version the night came from: 1 or 2"),
    group="night",
)

SENSE_TIMELINE_EVENTS = table(
    "sense_timeline_events",
    "Events and sleep-depth segments of a Sense night.",
    ("night", "time", "event_type"),
    C("night", D, "The night the event belongs to"),
    C("time", UTC_TIME, "When the event starts (UTC)"),
    C("utc_offset_s", I, "The wearer's UTC offset at that time", "s"),
    C("duration_s", F, "Duration", "s"),
    C("event_type", S, "v2 event type (v1 names mapped as Hello's server did: SLEEP->FELL_ASLEEP, ...)"),
    C("event_type_raw", S, "Event type as sent (v1 names for v1 timelines; null/empty kept)"),
    C("sleep_depth", I, "Sleep depth, 0-100", "score"),
    C("sleep_state", S, "AWAKE, LIGHT, MEDIUM, SOUND (v1: derived from depth as the server did)"),
    C("message", S, "Text shown in the app (Markdown)"),
    group="night",
)

SENSE_NIGHT_METRICS = table(
    "sense_night_metrics",
    "Per-night statistics and room conditions of a Sense timeline (v2 metrics, v1 statistics and insights).",
    ("night", "name"),
    C("night", D, "The night"),
    C("name", S, "total_sleep, sound_sleep, time_to_sleep, times_awake, fell_asleep, woke_up, temperature…"),
    C("value", F, "Value in `unit` (durations converted from minutes to seconds)"),
    C("unit", S, "s, count, or null for timestamps and conditions"),
    C("time", UTC_TIME, "For timestamp metrics (fell_asleep, woke_up): the time (UTC)"),
    C("condition", S, "IDEAL, WARNING, ALERT, UNKNOWN, …"),
    C("message", S, "v1 insights: the text shown (Markdown)"),
    group="night",
)

SENSE_ROOM_READINGS = table(
    "sense_room_readings",
    "Current room conditions reported by Sense (room/current, GET /v2/sensors).",
    ("sensor", "time"),
    C("time", UTC_TIME, "When the reading was taken (v1: last_updated_utc; v2: the capture time)"),
    C("sensor", S, "temperature, humidity, light, sound, particulates, co2, tvoc, uv, pressure…"),
    C("value", F, "Reading in `unit` (temperatures in Celsius)"),
    C("unit", S, "celsius, percent, lux, db, aqi, ppm, ug_m3…: as sent, lower case, Fahrenheit converted"),
    C("condition", S, "IDEAL, WARNING, ALERT, UNKNOWN, …"),
    C("message", S, "Text shown in the app (Markdown)"),
)

SENSE_SENSOR_SAMPLES = table(
    "sense_sensor_samples",
    "Room sensor history: one row per sensor and time bucket.",
    ("sensor", "resolution_s", "time"),
    C("time", UTC_TIME, "Start of the time bucket (UTC)"),
    C("utc_offset_s", I, "The room's UTC offset at that time", "s"),
    C("sensor", S, "temperature, humidity, light, sound, particulates, co2, tvoc, uv, pressure…"),
    C("value", F, "Reading (null where the service marked a gap with -1)"),
    C("resolution_s", I, "Width of the time bucket", "s"),
)

REJECTS = Table(
    "rejects",
    "Device responses that could not be decoded, kept whole with the reason.",
    (
        C("endpoint", S, "The databack endpoint the URL matched"),
        C("method", S, "HTTP method"),
        C("host", S, "Host"),
        C("path", S, "URL path (query left out: it may hold tokens)"),
        C("status", I, "HTTP status"),
        C("reason", S, "Why the response was rejected (e.g. the schema violation)"),
        C("body", S, "The raw response body (UTF-8 text, or base64 when not UTF-8)"),
        C("body_encoding", S, "utf-8 or base64"),
        *PROVENANCE,
    ),
    ("participant_id", "source_file", "source_entry"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        BAND_EVENTS,
        BAND_SEQUENCES,
        BAND_MINUTES,
        BAND_MAP_POINTS,
        SENSE_NIGHTS,
        SENSE_TIMELINE_EVENTS,
        SENSE_NIGHT_METRICS,
        SENSE_ROOM_READINGS,
        SENSE_SENSOR_SAMPLES,
        REJECTS,
    )
}


def data_dictionary() -> str:
    """The README's data dictionary, as Markdown."""
    out = []
    for t in TABLES.values():
        key = ", ".join(f"`{k}`" for k in t.key if k != "participant_id")
        out.append(f"### `{t.name}`\n\n{t.description} Key: {key} (per participant).\n")
        out.append("| column | type | unit | meaning |\n|---|---|---|---|")
        for c in t.columns:
            out.append(f"| `{c.name}` | {_type_name(c.dtype)} | {c.unit or ''} | {c.description} |")
        out.append("")
    return "\n".join(out)


def _type_name(dtype: pl.DataType) -> str:
    if dtype == UTC_TIME:
        return "datetime (UTC)"
    return {pl.String: "string", pl.Int64: "integer", pl.Float64: "float", pl.Boolean: "boolean", pl.Date: "date"}[
        dtype
    ]

