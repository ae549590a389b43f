"""Open mHealth / IEEE 1752.1 export: a committed OUT's tables as data points, JSON Lines per schema.

Every data point has the Open mHealth envelope (data-point 1.0, header 1.2): an id stable across exports (a UUID
5 of the schema, participant, table and source record), the schema id, a creation time (when the record was
captured; the run's time for files without one), acquisition provenance (the device, through databack; the source
record's key; modality sensed) and the participant as user_id. Bodies follow the schema in each file's name.
"""

from __future__ import annotations

import re
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import polars as pl

from . import __version__, atomic, redaction, store
from .atomic import Interrupted, replace_all, staged
from .views import frame, of_event_splits, sleep_nights
from .writers import read_back, scan_output

NAMESPACE = uuid.UUID("6f0a1f4e-4c55-5b43-9d0e-64617461626b")  # databack's: data point ids are uuid5(NAMESPACE, key)
DEVICE_NAMES = {"band": "Microsoft Band", "sense": "Hello Sense"}
SLICE = 50_000  # rows turned into data points at a time
# IEEE 1752.1 sleep stages for each device's own: Band restless and Sense light and medium are light sleep
IEEE_STAGES = {"restful": "Deep_sleep", "sound": "Deep_sleep", "restless": "Light_sleep", "light": "Light_sleep",
               "medium": "Light_sleep", "awake": "Awake"}

Tables = dict[str, pl.LazyFrame]
Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Schema:
    namespace: str
    name: str
    version: str
    points: Callable[[Tables], Iterator[tuple[dict[str, Any], Body]]]  # (source row, body) of each data point

    @property
    def file_name(self) -> str:
        return f"{self.namespace}-{self.name}-{self.version}.jsonl"

    @property
    def schema_id(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name, "version": self.version}


def export(out: Path, folder: Path) -> dict[str, int]:
    """Write every schema's data points from the tables in `out` into `folder` (a file per schema that has any);
    returns the data points written per file. Raises FileNotFoundError when `out` holds no databack run."""
    if (place := store.owner(folder / SCHEMAS[0].file_name)) is not None:
        raise store.OutError(f"cannot write into {folder}: it is {place[1]} of the databack output folder "
                             f"{place[0]}, which only databack's runs change", usage=True)
    tables, report = scan_output(out, counted=True)
    if not report:
        raise FileNotFoundError(f"{out} holds no databack output (no report.json)")
    run_time = report.get("generated_at")
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # made by this export, the deepest first
    folder.mkdir(parents=True, exist_ok=True)
    finish_stopped(folder)  # (before `staged` removes what a killed export left: the files it was moving)
    _remove_leftovers(folder)
    counts = {}
    # every file is written beside its name first, and all of them take their names once every one is complete, at
    # once (`atomic.replace_all`: Ctrl-C waits, a rename that fails puts back those made): a write that fails (a full
    # disk) or a Ctrl-C leaves the folder as it was, no file of this export beside files of an earlier one, nor any
    # part written; nor, where it made the folder, an empty folder
    try:
        with ExitStack() as written, read_back([out]):
            # their text as this policy writes it: OUT may be an older databack's, made before a rule (or the policy)
            tables = {name: lf if name == "rejects" else redaction.strict_frame(lf) for name, lf in tables.items()}
            temps = {}
            for schema in SCHEMAS:
                n = 0
                temps[schema.file_name] = written.enter_context(staged(folder / schema.file_name))
                with open(temps[schema.file_name], "wb") as f:
                    for source, body in schema.points(tables):
                        f.write(orjson.dumps(_data_point(schema, source, body, run_time)) + b"\n")
                        n += 1
                counts[schema.file_name] = n
            # a schema with no data point has no file: an earlier export's is removed
            replace_all([(temps[name], folder / name) for name, n in counts.items() if n],
                        [folder / name for name, n in counts.items() if not n])
    except BaseException as e:
        if not (isinstance(e, Interrupted) and e.written):
            for path in made:
                try:
                    path.rmdir()  # (only if empty)
                except OSError:
                    break
        raise
    return {name: n for name, n in counts.items() if n}


def finish_stopped(folder: Path) -> str | None:
    """Finish the export an `export omh` killed while its files took their names left in `folder` (some of its
    files there, the earlier export's others): one line saying so, or None when there was none."""
    if not folder.is_dir():
        return None
    done = atomic.finish_stopped(folder, [schema.file_name for schema in SCHEMAS])
    if done is None:
        return None
    if not done[1]:
        return f"repaired {folder}: dropped the journal of a stopped export, which it could not read"
    return f"repaired {folder}: finished an export that was stopped ({done[0]} of {done[1]} files were left to move)"


def _remove_leftovers(folder: Path) -> None:
    """Remove the files an export of an earlier version killed in `folder` left half-written (`.<schema file>.<8
    characters>.tmp`, as its `atomic.staged` named them): they would stay there for ever, unseen. (This version's are
    removed by `atomic.staged`.)"""
    names = {schema.file_name for schema in SCHEMAS}
    for entry in folder.iterdir():
        if (m := _LEFTOVER.fullmatch(entry.name)) and m.group(1) in names and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)


_LEFTOVER = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")


def _data_point(schema: Schema, source: dict[str, Any], body: Body, run_time: str | None) -> dict[str, Any]:
    key = "|".join(str(part) for part in (schema.namespace, schema.name, source["participant_id"] or "",
                                          source["table"], *source["key"]))
    provenance = {"source_name": f"{DEVICE_NAMES[source['device']]}, through databack {__version__}",
                  "source_data_point_id": "/".join(str(part) for part in (source["table"], *source["key"])),
                  "modality": "sensed"}
    captured = source.get("captured_at")
    header = {
        "id": str(uuid.uuid5(NAMESPACE, key)),
        "creation_date_time": stamp(captured) if captured else run_time,
        "schema_id": schema.schema_id,
        "acquisition_provenance": provenance,
    }
    if source["participant_id"] is not None:
        header["user_id"] = source["participant_id"]
    return {"header": header, "body": body}


def stamp(t: datetime, offset_s: int | None = None) -> str:
    """An RFC 3339 date-time: the wearer's local time with its offset when known, else UTC (and where the local time
    falls outside years 1 to 9999, which Python's dates do not hold). An offset RFC 3339 cannot write (seconds in it:
    +01:00:30) or that is no offset (a day or more either way: an older databack's table may hold one) names no
    local time: the time is written in UTC, the same instant."""
    if not offset_s or offset_s % 60 or abs(offset_s) >= 86_400:
        return t.isoformat()
    try:
        return t.astimezone(timezone(timedelta(seconds=offset_s))).isoformat()
    except OverflowError:
        return t.isoformat()


def interval(start: datetime, end: datetime, offset_s: int | None = None) -> dict[str, Any]:
    return {"time_interval": {"start_date_time": stamp(start, offset_s), "end_date_time": stamp(end, offset_s)}}


def lasting(start: datetime, seconds: float, offset_s: int | None = None) -> dict[str, Any]:
    return {"time_interval": {"start_date_time": stamp(start, offset_s), "duration": value(seconds, "sec")}}


def event_span(row: dict[str, Any]) -> dict[str, Any] | None:
    """A band_events row's time frame, from its start for its duration and paused time; None where that is no time;
    its start and duration where its end falls past year 9999."""
    seconds = (row["duration_s"] or 0) + (row["paused_s"] or 0)
    try:
        end = row["start_time"] + timedelta(seconds=seconds)
    except OverflowError:
        return lasting(row["start_time"], seconds, row["utc_offset_s"]) if seconds > 0 else None
    return interval(row["start_time"], end, row["utc_offset_s"]) if end > row["start_time"] else None


def value(v: float, unit: str) -> dict[str, Any]:
    return {"value": v, "unit": unit}


def rows(lf: pl.LazyFrame) -> Iterator[dict[str, Any]]:
    """The rows of a (filtered) table, a slice at a time."""
    for df in lf.collect().iter_slices(SLICE):
        yield from df.iter_rows(named=True)


def source(table: str, device: str, row: dict[str, Any], *key: Any) -> dict[str, Any]:
    return {"table": table, "device": device, "participant_id": row["participant_id"], "key": key,
            "captured_at": row["captured_at"]}


def with_fields(body: Body, **fields: Any) -> Body:
    """`body` with the fields whose value is known."""
    return body | {k: v for k, v in fields.items() if v is not None}


def seconds_or_none(v: float | None) -> dict[str, Any] | None:
    return None if v is None else value(v, "sec")


# Sleep: sleep_nights, the time frame from sleep onset to final awakening as Open mHealth defines it (the device's
# onset and wake where no segments were captured); each figure the derived one, else the device's.


def _episodes(tables: Tables) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    nights = frame(tables, "sleep_nights").with_columns(
        pl.coalesce("sleep_onset_time", "device_sleep_onset_time").alias("onset"),
        pl.coalesce("wake_time", "device_wake_time").alias("wake"),
        pl.coalesce("total_sleep_s", "device_total_sleep_s").alias("total_sleep"),
        pl.coalesce("sleep_latency_s", "device_sleep_latency_s").alias("latency"),
        pl.coalesce("awakenings", "device_awakenings").alias("wakes"),
    ).filter(pl.col("onset").is_not_null() & (pl.col("wake") > pl.col("onset")))
    for row in rows(nights):
        yield source("sleep_nights", row["device"], row, row["device"], row["source_id"]), row


def _maintenance_pct(row: dict[str, Any]) -> float | None:
    """Time asleep as a percentage of the episode from onset to final awakening (Open mHealth's efficiency)."""
    span = (row["wake"] - row["onset"]).total_seconds()
    return None if row["total_sleep"] is None else round(100 * row["total_sleep"] / span, 3)


def _arising(row: dict[str, Any]) -> float | None:
    if row["wake_time"] is None or row["out_of_bed_time"] is None:
        return None
    return (row["out_of_bed_time"] - row["wake_time"]).total_seconds()


def _sleep_fields(row: dict[str, Any]) -> Body:
    return with_fields(
        {"effective_time_frame": interval(row["onset"], row["wake"], row["utc_offset_s"])},
        latency_to_sleep_onset=seconds_or_none(row["latency"]),
        latency_to_arising=seconds_or_none(_arising(row)),
        total_sleep_time=seconds_or_none(row["total_sleep"]),
        wake_after_sleep_onset=seconds_or_none(row["waso_s"]),
        number_of_awakenings=row["wakes"],
        is_main_sleep=row["is_main_sleep"],
    )


def _light_deep(row: dict[str, Any]) -> tuple[float | None, float | None]:
    light = [row[c] for c in ("restless_s", "light_s", "medium_s") if row[c] is not None]
    deep = [row[c] for c in ("restful_s", "sound_s") if row[c] is not None]
    return (sum(light) if light else None), (sum(deep) if deep else None)


def omh_sleep_episodes(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    for src, row in _episodes(tables):
        pct = _maintenance_pct(row)
        yield src, with_fields(_sleep_fields(row),
                               sleep_maintenance_efficiency_percentage=None if pct is None else value(pct, "%"))


def ieee_sleep_episodes(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    for src, row in _episodes(tables):
        light, deep = _light_deep(row)
        pct = _maintenance_pct(row)
        yield src, with_fields(_sleep_fields(row), light_sleep_duration=seconds_or_none(light),
                               deep_sleep_duration=seconds_or_none(deep),
                               sleep_efficiency_percentage=None if pct is None else value(pct, "%"))


def ieee_sleep_stage_summaries(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """Nights with stage segments: the summary, and every segment in bed as a stage episode (unscored left out)."""
    segments = sleep_nights.segments(tables).filter(pl.col("stage") != "unscored").collect()
    by_night = segments.partition_by("participant_id", "device", "source_id", as_dict=True)
    for src, row in _episodes(tables):
        night = by_night.get((row["participant_id"], row["device"], row["source_id"]))
        if night is None:
            continue
        light, deep = _light_deep(row)
        pct = _maintenance_pct(row)
        summary = with_fields(
            {"total_sleep_time": value(row["total_sleep"], "sec")},
            sleep_efficiency_percentage=None if pct is None else value(pct, "%"),
            latency_to_sleep_onset=seconds_or_none(row["latency"]),
            latency_to_arising=seconds_or_none(_arising(row)),
            light_sleep_duration=seconds_or_none(light),
            deep_sleep_duration=seconds_or_none(deep),
            awake_duration=seconds_or_none(row["awake_s"]),
            number_of_awakenings=row["wakes"],
        )
        episodes = [
            {"sleep_stage_state": state, "sleep_stage_time_frame": interval(start, end, row["utc_offset_s"])}
            for start, end, state in _stage_episodes(night.select("start", "end", "stage").iter_rows())
        ]
        yield src, {"sleep_stage_summary": summary, "sleep_stage_episodes": episodes,
                    "effective_time_frame": interval(row["onset"], row["wake"], row["utc_offset_s"]),
                    "is_main_sleep": row["is_main_sleep"]}


def _stage_episodes(segments: Iterator[tuple[datetime, datetime, str]]) -> list[tuple[datetime, datetime, str]]:
    """Segments in time order as IEEE stage episodes: back-to-back segments of one IEEE stage are one episode."""
    episodes: list[tuple[datetime, datetime, str]] = []
    for start, end, stage in segments:
        state = IEEE_STAGES[stage]
        if episodes and episodes[-1][2] == state and episodes[-1][1] == start:
            episodes[-1] = (episodes[-1][0], end, state)
        else:
            episodes.append((start, end, state))
    return episodes


# Heart rate, step counts, activities, GPS: the Band tables (at the wearer's offset where the row has one).


def _event_kinds(tables: Tables) -> pl.LazyFrame:
    return frame(tables, "band_events").select("participant_id", "event_id", "event_type")


def _relationship(event_type: str | None) -> dict[str, str]:
    if event_type == "Sleeping":
        return {"temporal_relationship_to_sleep": "during sleep"}
    return {"temporal_relationship_to_physical_activity": "during exercise"} if event_type else {}


def heart_rates(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """Per minute (band_minutes' average) and per event (band_events' average, peak and lowest). A rate of 0 is none:
    the Band sends 0 where it measured no heart rate (the real guidedworkout.json: a 14-second workout, its minute,
    average, peak and lowest all 0), which is no measurement of 0 beats a minute."""
    minutes = frame(tables, "band_minutes").filter(pl.col("hr_avg_bpm") > 0).join(
        _event_kinds(tables), on=["participant_id", "event_id"], how="left", nulls_equal=True, maintain_order="left")
    for row in rows(minutes.select("participant_id", "event_id", "time", "utc_offset_s", "hr_avg_bpm", "event_type",
                                   "captured_at")):
        yield source("band_minutes", "band", row, row["event_id"], row["time"].isoformat()), {
            "heart_rate": value(row["hr_avg_bpm"], "beats/min"),
            "effective_time_frame": lasting(row["time"], 60, row["utc_offset_s"]),
            "descriptive_statistic": "average",
            **_relationship(row["event_type"]),
        }
    events = frame(tables, "band_events").filter(pl.col("start_time").is_not_null())
    for row in rows(events):
        span = event_span(row)
        for column, statistic in (("hr_avg_bpm", "average"), ("hr_peak_bpm", "maximum"), ("hr_low_bpm", "minimum")):
            if row[column] is not None and row[column] > 0 and span is not None:
                yield source("band_events", "band", row, row["event_id"], statistic), {
                    "heart_rate": value(row[column], "beats/min"),
                    "effective_time_frame": span,
                    "descriptive_statistic": statistic,
                    **_relationship(row["event_type"]),
                }


def step_counts(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """Per minute (band_minutes) and per local day (band_daily_summaries, from the day's start for its length, a day
    asked at two UTC offsets as last captured; a day's totals for one device, device_filter, a data point of its
    own)."""
    minutes = frame(tables, "band_minutes").filter(pl.col("steps").is_not_null())
    for row in rows(minutes.select("participant_id", "event_id", "time", "utc_offset_s", "steps", "captured_at")):
        yield source("band_minutes", "band", row, row["event_id"], row["time"].isoformat()), {
            "step_count": value(row["steps"], "steps"),
            "effective_time_frame": lasting(row["time"], 60, row["utc_offset_s"])}
    days = (  # a day asked at two UTC offsets: its newest capture (in the table's order)
        frame(tables, "band_daily_summaries").filter(pl.col("steps").is_not_null() & pl.col("start_time").is_not_null())
        .with_row_index("_order").sort("captured_at", descending=True, nulls_last=True, maintain_order=True)
        .unique(["participant_id", "day", "device_filter"], keep="first").sort("_order")
    )
    for row in rows(days):  # the account's totals, and those of one device (device_filter): records of their own
        device = () if row["device_filter"] is None else (f"device={row['device_filter']}",)
        yield source("band_daily_summaries", "band", row, row["day"].isoformat(), *device), {
            "step_count": value(row["steps"], "steps"),
            "effective_time_frame": lasting(row["start_time"], _day_length_s(row), row["utc_offset_s"])}


def _day_length_s(row: dict[str, Any]) -> float:
    """The length of a band_daily_summaries day: its duration_s (a public day where the clocks change is 23 or 25
    hours), else 24 hours (an OUT an older databack wrote has no such column)."""
    seconds = row.get("duration_s")
    return seconds if seconds is not None and seconds > 0 else 86400


def physical_activities(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """Band events other than sleep: one IEEE physical activity each."""
    events = frame(tables, "band_events").filter(
        (pl.col("event_type") != "Sleeping") & pl.col("start_time").is_not_null() & pl.col("event_type").is_not_null())
    for row in rows(events):
        active, span = row["duration_s"], event_span(row)
        if span is None:
            continue
        distance = row["distance_m"]
        yield source("band_events", "band", row, row["event_id"]), with_fields(
            {"activity_name": row["event_type"], "effective_time_frame": span},
            duration=seconds_or_none(active),
            distance=None if distance is None else value(distance, "m"),
            kcal_burned=None if row["calories_kcal"] is None else value(row["calories_kcal"], "kcal"),
            base_movement_quantity=None if row["steps"] is None else value(row["steps"], "steps"),
            cumulative_elevation_gain=None if row["altitude_gain_m"] is None else value(row["altitude_gain_m"], "m"),
            average_speed=value(round(distance / active, 4), "m/s") if distance and active else None,
        )


def geopositions(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """GPS points with a fix and a time (band_map_points)."""
    points = of_event_splits(tables, "band_map_points").filter(  # one track an event: its split length's
        pl.col("latitude_deg").is_not_null() & pl.col("longitude_deg").is_not_null() & pl.col("time").is_not_null())
    for row in rows(points):
        yield source("band_map_points", "band", row, row["event_id"], row["ordinal"]), with_fields(
            {"latitude": value(row["latitude_deg"], "deg"), "longitude": value(row["longitude_deg"], "deg"),
             "effective_time_frame": {"date_time": stamp(row["time"], row["utc_offset_s"])},
             "positioning_system": "GPS"},
            elevation=None if row["altitude_m"] is None else value(row["altitude_m"], "m"),
        )


def ambient_temperatures(tables: Tables) -> Iterator[tuple[dict[str, Any], Body]]:
    """Sense room temperature: history buckets (sense_sensor_samples; a v1 and a v2 history of one bucket are a data
    point each) and current readings (sense_room_readings)."""
    samples = frame(tables, "sense_sensor_samples").filter(
        (pl.col("sensor") == "temperature") & pl.col("value").is_not_null())
    for row in rows(samples):  # a v1 and a v2 history of one bucket are two records: a v1 point's id says so
        version = ("api=1",) if row["api_version"] == 1 else ()
        width = row["resolution_s"]  # (unknown where the history's period and spacing are not: the bucket's start)
        yield source("sense_sensor_samples", "sense", row, width, row["time"].isoformat(), *version), {
            "ambient_temperature": value(row["value"], "C"),
            "effective_time_frame": lasting(row["time"], width, row["utc_offset_s"]) if width and width > 0
            else {"date_time": stamp(row["time"], row["utc_offset_s"])}}
    readings = frame(tables, "sense_room_readings").filter(
        (pl.col("sensor") == "temperature") & (pl.col("unit") == "celsius") & pl.col("value").is_not_null()
        & pl.col("time").is_not_null())
    for row in rows(readings):
        yield source("sense_room_readings", "sense", row, row["time"].isoformat()), {
            "ambient_temperature": value(row["value"], "C"), "effective_time_frame": {"date_time": stamp(row["time"])}}


SCHEMAS = (
    Schema("omh", "sleep-episode", "1.1", omh_sleep_episodes),
    Schema("ieee", "sleep-episode", "1.0", ieee_sleep_episodes),
    Schema("ieee", "sleep-stage-summary", "1.0", ieee_sleep_stage_summaries),
    Schema("omh", "heart-rate", "2.0", heart_rates),
    Schema("omh", "step-count", "3.0", step_counts),
    Schema("ieee", "physical-activity", "1.0", physical_activities),
    Schema("omh", "geoposition", "1.0", geopositions),
    Schema("ieee", "ambient-temperature", "1.0", ambient_temperatures),
)
