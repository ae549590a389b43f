"""The offline HTML report of a committed OUT: one self-contained page that a person opens from a USB stick.

Charts are Vega-Lite specifications made with Altair, drawn in the page by Vega (its JavaScript bundled into the
page by vl-convert), each page's data embedded as JSON: nothing is fetched, and a Content-Security-Policy forbids
the page any request. Pages: an overview of the run, each night (hypnogram, events, heart rate, room, figures),
each run or workout (heart rate and pace, the GPS route from projected coordinates coloured by pace, splits), and
each participant's trends. Times are the wearer's local time where the tables carry the UTC offset, else UTC.
Altair and vl-convert come with the `report` extra and are imported only here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Iterator

import orjson
import polars as pl

from . import __version__, redaction
from .atomic import atomic_path
from .views import frame, of_event_splits, sleep_nights
from .writers import read_back, scan_output

MAX_ROUTE_POINTS = 1500  # a longer track is thinned to about this many points (every n-th kept)
STAGES = ("awake", "restless", "light", "medium", "restful", "sound", "unscored")  # top to bottom of a hypnogram
STAGE_COLOURS = ("#f4a261", "#90caf9", "#90caf9", "#3f88c5", "#1d3557", "#1d3557", "#c8c8c8")
SENSORS = ("temperature", "humidity", "light", "sound", "particulates")
DEVICE_NAMES = {"band": "Microsoft Band", "sense": "Hello Sense"}
NOT_SEGMENTS = ("IN_BED",)  # Sense timeline events that are only stage segments, not events to mark
# A Vega expression: a pace in min/km (the field in {0}) as m:ss
PACE_TEXT = "floor(round({0} * 60) / 60) + ':' + pad(toString(round({0} * 60) % 60), 2, '0', 'left')"


class ReportUnavailable(RuntimeError):
    """The report's libraries (the `report` extra) are not installed."""


class UnknownParticipant(ValueError):
    """A participant asked for that the run does not have."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while the report was being written: `written` when the page had taken its place all the same (the
    Ctrl-C came during its commit, which it waited for)."""

    def __init__(self, written: bool) -> None:
        super().__init__()
        self.written = written


@dataclass(frozen=True, slots=True)
class Page:
    """What `build` made: the HTML, and the data it draws."""

    html: str
    data: dict[str, Any]
    repaired: str | None = None  # what a killed run left in OUT, repaired before the page was drawn (one line)

    @property
    def size_bytes(self) -> int:
        return len(self.html.encode())

    @property
    def nights(self) -> int:
        return len(self.data["nights"])

    @property
    def runs(self) -> int:
        return len(self.data["runs"])

    @property
    def participants(self) -> int:
        return len(self.data["participants"])


def build(out: Path, participants: tuple[str, ...] = ()) -> Page:
    """The report page of the run in `out` (of these participants alone, if any are named). Raises
    FileNotFoundError when `out` holds no databack run, UnknownParticipant for a participant it does not have."""
    with read_back([out]):
        data = collect(*_read(out, participants))
    return Page(_page(data, chart_specs()), data)


def write(out: Path, target: Path | None = None, wait: float = 0.0, figures_in: Path | None = None,
          participants: tuple[str, ...] = ()) -> tuple[Path, Page, list[Path]]:
    """Build the report of `out` and write it to `target`, by default into OUT as report.html (committed through
    OUT's store, which is held meanwhile: no run changes the tables under it); with `figures_in`, save every chart
    there too. Returns where the page is, the page, and the figure files."""
    from . import store

    if target is not None and (place := store.owner(target)) is not None:
        if place == (out.resolve(), "report.html"):  # OUT's own page: written as by default, through OUT's store
            target = None
        else:
            raise store.OutError(f"cannot write the page to {target}: it would replace {place[1]} of the databack "
                                 f"output folder {place[0]} (write it outside that folder's files)", usage=True)
    if figures_in is not None and (place := store.owner(figures_in / "x")) is not None:
        raise store.OutError(f"cannot save the figures in {figures_in}: it is {place[1]} of the databack output "
                             f"folder {place[0]}", usage=True)
    if target is None:
        with store.lock(out, wait) as held:
            try:
                page = replace(build(out, participants), repaired=held.repaired)
                saved = figures(page, figures_in) if figures_in else []
                with held.transaction() as tx:
                    tx.path("report.html").write_text(page.html, encoding="utf-8")
            except KeyboardInterrupt:
                raise Interrupted(held.committed) from None
        return out / "report.html", page, saved
    with store.reading(out, wait) as repaired:
        page = replace(build(out, participants), repaired=repaired)
    saved = figures(page, figures_in) if figures_in else []
    with atomic_path(target) as tmp:
        tmp.write_text(page.html, encoding="utf-8")
    return target, page, saved


def figures(page: Page, folder: Path, formats: tuple[str, ...] = ("svg", "png")) -> list[Path]:
    """Every chart of the page as a file per format, for a paper: FOLDER/<participant>/<page>-<chart>.<format>
    (participant `all` when the run has no ids). Returns the files written."""
    import vl_convert

    from . import store

    data, specs = page.data, chart_specs()
    written, new = [], []  # new: the files and folders this call made, the deepest last
    try:
        for participant, page, c in _every_chart(data):
            spec = _standalone(specs[c["name"]], c)
            stem = folder / _file_name(participant or "all") / f"{page}-{c['name']}"
            new += reversed([p for p in (stem.parent, *stem.parent.parents) if not p.exists()])
            stem.parent.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                path = stem.with_name(f"{stem.name}.{fmt}")
                had = os.path.lexists(path)
                with atomic_path(path) as tmp:
                    if fmt == "svg":
                        tmp.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8")
                    else:
                        tmp.write_bytes(vl_convert.vegalite_to_png(spec, scale=2))
                written.append(path)
                if not had:
                    new.append(path)
    except BaseException as e:  # (a full disk, Ctrl-C): the figures and folders this call made are removed
        for path in reversed(new):
            try:
                path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
            except OSError:
                pass
        if isinstance(e, OSError):  # named as the figures' folder, not as the page (not written yet)
            raise store.OutError(f"cannot save the figures in {folder}: {store.reason(e) or e}") from e
        raise
    return written


def _every_chart(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(participant, page, chart) for every chart the report draws; pages named for files, unique per participant."""
    named: set[tuple[str, str]] = set()
    for kind, items in (("night", data["nights"]), ("run", data["runs"])):
        for item in items:
            if kind == "night":
                base, key = f"night-{item['night']}-{item['device']}", item["source_id"]
            else:
                base, key = f"run-{item['day']}-{item['type']}", item["event_id"]
            page = _file_name(base if (item["p"], base) not in named else f"{base}-{key}")
            named.add((item["p"], base))
            yield from ((item["p"], page, c) for c in item["charts"])
    for participant, charts in zip(data["participants"], data["trends"]):
        yield from ((participant, "trends", c) for c in charts)


def _standalone(spec: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    """A chart's spec with its data and params in it, and fixed widths (a file has no container to fill)."""
    spec = orjson.loads(orjson.dumps(spec)) | {"datasets": {k: _rows(v) for k, v in c["data"].items()}}
    for param in spec.get("params", ()):
        param["value"] = c["params"].get(param["name"], param["value"])
    if "facet" in spec:
        spec["spec"]["width"] = 560
    elif spec.get("width") == "container":
        spec["width"] = 640
    return spec


def _rows(columns: dict[str, list]) -> list[dict[str, Any]]:
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


def _read(out: Path, participants: tuple[str, ...] = ()) -> tuple[dict[str, pl.LazyFrame], dict[str, Any]]:
    """OUT's tables and report; with `participants`, only their rows and files."""
    tables, report = scan_output(out, counted=True)
    if not report:
        raise FileNotFoundError(f"{out} holds no databack output (no report.json)")
    if not participants:
        return tables, report
    known = {f.get("participant_id") for f in report.get("files", ())} - {None}
    if missing := [p for p in participants if p not in known]:
        raise UnknownParticipant(f"no participant {', '.join(missing)} in {out} (it has: "
                                 f"{', '.join(sorted(known)) or 'none with an id'})")
    chosen = pl.col("participant_id").is_in(list(participants))
    files = [f for f in report["files"] if f.get("participant_id") in participants]
    return {name: lf.filter(chosen) for name, lf in tables.items()}, report | {"files": files}


# --- data: the tables, cut into what each page draws ----------------------------------------------------------


def collect(tables: dict[str, pl.LazyFrame], report: dict[str, Any]) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready values: columns as lists, times as the wearer's local wall-clock
    time in epoch milliseconds (the page draws them on a UTC scale, so they show as local times)."""
    nights = _nights(tables)
    runs = _runs(tables)
    participants = sorted({n["p"] for n in nights} | {r["p"] for r in runs} | _participants(tables))
    return {
        "generated_by": f"databack {__version__}",
        "overview": _overview(tables, report, nights, runs, participants),
        "participants": participants,
        "nights": nights,
        "runs": runs,
        "trends": _trends(tables, participants),
    }


def pkey(column: str = "participant_id") -> pl.Expr:
    """A participant as the page names it: its id, or "" when the run was given none."""
    return pl.col(column).fill_null("").alias("p")


def local_ms(column: str, offset: pl.Expr | int | None = None) -> pl.Expr:
    """A UTC time as local wall-clock epoch ms (UTC when the offset is unknown)."""
    shift = pl.lit(0) if offset is None else (offset if isinstance(offset, pl.Expr) else pl.lit(offset))
    return pl.col(column).dt.epoch("ms") + shift.fill_null(0) * 1000


def _columns(df: pl.DataFrame) -> dict[str, list]:
    return {c: df[c].to_list() for c in df.columns}


def _groups(df: pl.DataFrame, by: list[str]) -> dict[tuple, pl.DataFrame]:
    return df.partition_by(by, as_dict=True, include_key=False, maintain_order=True) if df.height else {}


def _participants(tables: dict[str, pl.LazyFrame]) -> set[str]:
    found: set[str] = set()
    for name in ("band_daily_summaries", "sense_sensor_samples"):
        found |= set(frame(tables, name).select(pkey()).unique().collect()["p"].to_list())
    return found


NIGHT_FIGURES = (
    "in_bed_time", "sleep_onset_time", "wake_time", "out_of_bed_time", "time_in_bed_s", "total_sleep_s",
    "sleep_latency_s", "waso_s", "awakenings", "sleep_efficiency_pct", "restful_s", "restless_s", "light_s",
    "medium_s", "sound_s", "awake_s", "unscored_s", "sleep_hr_avg_bpm", "sleep_hr_lowest_bpm", "device_total_sleep_s",
    "device_sleep_latency_s", "device_sleep_onset_time", "device_wake_time", "device_awake_s", "device_awakenings",
    "device_sleep_efficiency_pct", "device_restful_sleep_s", "device_restless_sleep_s", "device_sound_sleep_s",
    "device_resting_hr_bpm", "device_score", "is_main_sleep",
)


def chart(name: str, title: str, params: dict[str, Any] | None = None, **datasets: pl.DataFrame) -> dict[str, Any]:
    """One chart of a page: its spec's name, its title, its datasets (as columns) and the values of its params."""
    return {"name": name, "title": title, "data": {k: _columns(df) for k, df in datasets.items()},
            "params": params or {}}


def _nights(tables: dict[str, pl.LazyFrame]) -> list[dict[str, Any]]:
    """Every night of sleep_nights with its charts: hypnogram, events (Sense), heart rate (Band) and room (Sense),
    all over the time in bed."""
    times = [c for c in NIGHT_FIGURES if c.endswith("_time")]
    nights = (
        frame(tables, "sleep_nights")
        .with_columns(pkey(), *(local_ms(c, pl.col("utc_offset_s")).alias(c) for c in times))
        .sort("p", "night", "device", "in_bed_time", nulls_last=True)
        .collect()
    )
    offsets = nights.select("p", "device", "source_id", "utc_offset_s")
    key = ["p", "device", "source_id"]
    segments = _groups(
        sleep_nights.segments(tables).with_columns(pkey())
        .join(offsets.lazy(), on=key, how="left", maintain_order="left")  # (in their order, as events and heart)
        .select(*key, local_ms("start", pl.col("utc_offset_s")).alias("start"),
                local_ms("end", pl.col("utc_offset_s")).alias("end"), "stage",
                ((pl.col("end") - pl.col("start")).dt.total_seconds() / 60).round(1).alias("minutes"))
        .collect(),
        key,
    )
    events = _groups(
        redaction.strict_frame(  # its text as this policy writes it (OUT may be an older databack's)
            frame(tables, "sense_timeline_events").filter(~pl.col("event_type").is_in(NOT_SEGMENTS))
            .select(pkey(), pl.lit("sense").alias("device"), pl.col("night").cast(pl.String).alias("source_id"),
                    "time", pl.col("event_type").str.to_lowercase().str.replace_all("_", " ").alias("type"),
                    pl.col("message").str.replace_all(r"\*\*", "").alias("text"))
            .join(offsets.lazy(), on=key, how="left")  # at the night's offset, as its hypnogram (not the event's own:
            .select(*key, local_ms("time", pl.col("utc_offset_s")).alias("t"), "type", "text")  # a DST change)
            .sort(*key, "t").collect()
        ),
        key,
    )
    heart = _groups(
        frame(tables, "band_minutes").filter(pl.col("hr_avg_bpm") > 0)  # (0: a minute the Band measured none in)
        .select(pkey(), pl.lit("band").alias("device"), pl.col("event_id").alias("source_id"), "time", "hr_avg_bpm")
        .join(offsets.lazy(), on=key)  # at the night's offset, as its other charts
        .select(*key, local_ms("time", pl.col("utc_offset_s")).alias("t"), pl.col("hr_avg_bpm").alias("bpm"))
        .sort(*key, "t").collect(),
        key,
    )
    room = _groups(_room_in_bed(tables, nights), key)
    result = []
    for row in nights.iter_rows(named=True):
        k = (row["p"], row["device"], row["source_id"])
        parts = {"segments": segments.get(k), "events": events.get(k), "hr": heart.get(k), "room": room.get(k)}
        extent = [t for df in parts.values() if df is not None for c in ("start", "end", "t") if c in df.columns
                  for t in (df[c].min(), df[c].max())]
        span = {"span": [row["in_bed_time"] if row["in_bed_time"] is not None else min(extent, default=0),
                         row["out_of_bed_time"] if row["out_of_bed_time"] is not None else max(extent, default=1)]}
        charts = [
            chart(name, title, span, **{dataset: parts[dataset]})
            for name, title, dataset in (("hypnogram", "Hypnogram", "segments"), ("events", "Events", "events"),
                                         ("night_hr", "Heart rate", "hr"), ("night_room", "Room", "room"))
            if parts[dataset] is not None
        ]
        result.append({
            "p": row["p"], "device": row["device"], "source_id": row["source_id"],
            "night": "(no date)" if row["night"] is None else row["night"].isoformat(),  # (an older databack's)
            "offset_s": row["utc_offset_s"], "figures": {c: row[c] for c in NIGHT_FIGURES}, "charts": charts,
        })
    return result


def _room_samples(tables: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Sense sensor history, the five room sensors, at the finest resolution each participant's sensor has; where a
    v1 and a v2 history hold the same bucket (two records), the v2 one. A participant's sensor is drawn in one unit,
    its newest API version's: v1 particulates are an AQI on early servers where v2's are µg/m³ (mg_cm), and buckets
    only a v1 history holds would put both in one line (and in a night's mean)."""
    samples = frame(tables, "sense_sensor_samples").filter(
        pl.col("sensor").is_in(SENSORS) & pl.col("value").is_not_null()).with_columns(pkey())
    finest = samples.filter(pl.col("resolution_s") == pl.col("resolution_s").min().over("p", "sensor"))
    version = pl.col("api_version").fill_null(0)  # (null: an OUT written before the column)
    unit = pl.col("unit").fill_null("")
    return finest.filter(version == version.max().over("p", "sensor", "time")).filter(
        unit == unit.sort_by(version).last().over("p", "sensor"))


def _room_in_bed(tables: dict[str, pl.LazyFrame], nights: pl.DataFrame) -> pl.DataFrame:
    """The room samples of each Sense night's time in bed, at the night's local times (as its hypnogram: a sample's
    own offset differs from the night's once a DST change falls in the night)."""
    shift = pl.col("utc_offset_s").fill_null(0) * 1000
    bed = nights.filter((pl.col("device") == "sense") & pl.col("in_bed_time").is_not_null()).select(
        "p", "source_id", "utc_offset_s", (pl.col("in_bed_time") - shift).alias("in_bed"),  # (local ms: UTC ms)
        (pl.col("out_of_bed_time") - shift).alias("out_of_bed"))
    if not bed.height:
        return pl.DataFrame(schema={"p": pl.String, "device": pl.String, "source_id": pl.String})
    samples = _room_samples(tables).select(
        "p", pl.col("time").dt.epoch("ms").alias("utc"), "sensor", pl.col("value").round(2)
    ).sort("utc").collect()
    in_bed = (
        samples.join_asof(bed.sort("in_bed"), left_on="utc", right_on="in_bed", by="p",
                          check_sortedness=False)  # sorted by time: within each participant too
        .filter(pl.col("utc") < pl.col("out_of_bed"))
        .with_columns((pl.col("utc") + shift).alias("t"))
    )
    # a column per sensor (the chart folds them back): the sensor's name is not repeated on every sample
    wide = in_bed.pivot("sensor", index=["p", "source_id", "t"], values="value", aggregate_function="first")
    return wide.select("p", pl.lit("sense").alias("device"), "source_id", "t",
                       *(s for s in SENSORS if s in wide.columns)).sort("p", "source_id", "t")


RUN_FIGURES = ("start_time", "duration_s", "paused_s", "distance_m", "calories_kcal", "steps", "hr_avg_bpm",
               "hr_peak_bpm", "hr_low_bpm", "pace_s_per_km", "altitude_gain_m", "altitude_loss_m", "training_effect",
               "recovery_time_s")


def _runs(tables: dict[str, pl.LazyFrame]) -> list[dict[str, Any]]:
    """Every Band event other than sleep, with its charts: the route coloured by pace, heart rate and pace over
    time, splits."""
    events = redaction.strict_frame(  # its text as this policy writes it (OUT may be an older databack's)
        frame(tables, "band_events").filter(pl.col("event_type").fill_null("") != "Sleeping")
        .with_columns(pkey(), local_ms("start_time", pl.col("utc_offset_s")).alias("start_time"))
        .sort("p", "start_time", "event_id", nulls_last=True).collect()
    )
    key = ["p", "event_id"]
    points = _groups(
        of_event_splits(tables, "band_map_points")  # (one track: the event's split length)
        .filter(pl.col("latitude_deg").is_not_null() & pl.col("longitude_deg").is_not_null())
        .select(pkey(), "event_id", "seconds_since_start", pl.col("latitude_deg").round(6).alias("lat"),
                pl.col("longitude_deg").round(6).alias("lon"), "heart_rate_bpm", "distance_m",
                pl.when(pl.col("pace_s_per_km") > 0).then(pl.col("pace_s_per_km")).alias("pace"))
        .sort(*key, "seconds_since_start").collect(),
        key,
    )
    heart = _groups(
        frame(tables, "band_minutes").filter(pl.col("hr_avg_bpm") > 0)  # (0: a minute the Band measured none in)
        .select(pkey(), "event_id", local_ms("time", pl.col("utc_offset_s")).alias("t"),
                pl.col("hr_avg_bpm").alias("bpm"))
        .sort(*key, "t").collect(),
        key,
    )
    splits = _groups(
        of_event_splits(tables, "band_sequences").filter(pl.col("split_pace_s_per_km").is_not_null())
        .select(pkey(), "event_id", pl.col("sequence_order").alias("n"), pl.col("split_distance_m").round(1).alias("m"),
                (pl.col("split_pace_s_per_km") / 60).round(3).alias("pace_min"), pl.col("hr_avg_bpm").alias("bpm"))
        .sort(*key, "n").collect(),
        key,
    )
    result = []
    for row in events.iter_rows(named=True):
        k = (row["p"], row["event_id"])
        charts = []
        track = points.get(k)
        if track is not None and track.height > 1:
            charts.append(_route(_thinned(track)))
        if k in heart:
            # (the minute the event started in is drawn from its start)
            since = (pl.col("t") - row["start_time"]).clip(lower_bound=0)
            hr = heart[k].select((since / 60_000).round(2).alias("minute"), "bpm")
        elif track is not None:
            hr = track.filter(pl.col("heart_rate_bpm") > 0).select(
                (pl.col("seconds_since_start") / 60).round(2).alias("minute"), pl.col("heart_rate_bpm").alias("bpm"))
        else:
            hr = None
        if hr is not None and hr.height:
            charts.append(chart("run_hr", "Heart rate", hr=hr))
        if track is not None and (paced := track.filter(pl.col("pace").is_not_null())).height:
            charts.append(chart("run_pace", "Pace", pace=paced.select(
                (pl.col("seconds_since_start") / 60).round(2).alias("minute"),
                (pl.col("pace") / 60).round(3).alias("pace_min"))))
        if k in splits:
            charts.append(chart("splits", "Splits", splits=splits[k]))
        result.append({
            "p": row["p"], "event_id": row["event_id"], "type": row["event_type"], "name": row["name"],
            "offset_s": row["utc_offset_s"],
            "day": row["day_id"].isoformat() if row["day_id"] else None,
            "figures": {c: row[c] for c in RUN_FIGURES}, "charts": charts,
            "splits": _columns(splits[k]) if k in splits else None,
        })
    return result


def _route(track: pl.DataFrame) -> dict[str, Any]:
    """A track's points (the chart draws a leg from each to the next, coloured by the pace at its end; a point
    without a pace takes its neighbour's), and a pace scale from the run's 5th to 95th percentile."""
    points = track.select(
        pl.col("lon").round(5), pl.col("lat").round(5),  # (a metre)
        (pl.col("pace").forward_fill().backward_fill() / 60).round(3).alias("pace_min"),
        (pl.col("distance_m") / 1000).round(2).alias("km"), pl.col("heart_rate_bpm").alias("bpm"),
    )
    legs = points["pace_min"].slice(1)
    low, high = legs.quantile(0.05), legs.quantile(0.95)
    domain = [low, max(high, low + 0.5)] if low is not None else [4, 8]
    return chart("route", "Route, coloured by pace", {"paceDomain": domain}, track=points)


def _thinned(points: pl.DataFrame) -> pl.DataFrame:
    """A track of at most about MAX_ROUTE_POINTS points: every n-th kept, and the last."""
    step = -(-points.height // MAX_ROUTE_POINTS)
    if step <= 1:
        return points
    return points.with_row_index("i").filter((pl.col("i") % step == 0) | (pl.col("i") == points.height - 1)).drop("i")


def _trends(tables: dict[str, pl.LazyFrame], participants: list[str]) -> list[list[dict[str, Any]]]:
    """Each participant's charts: the main sleep of each night, the days' totals, the room during each Sense night
    (means over the time in bed)."""
    sleep = _groups(
        frame(tables, "sleep_nights").filter(pl.col("is_main_sleep") & pl.col("night").is_not_null())  # (dated)
        .select(pkey(), "night", pl.col("device").replace_strict(DEVICE_NAMES),
                (pl.coalesce("total_sleep_s", "device_total_sleep_s") / 3600).round(2).alias("sleep_h"),
                (pl.col("time_in_bed_s") / 3600).round(2).alias("bed_h"),
                pl.coalesce("sleep_efficiency_pct", "device_sleep_efficiency_pct").round(1).alias("efficiency"))
        .collect(),
        ["p"],
    )
    days = _groups(  # a day's totals: the account's, else one device's (device_filter: a device's part of the day);
        frame(tables, "band_daily_summaries")  # of a day asked at two UTC offsets, the newest capture
        .sort("device_filter", "captured_at", descending=[False, True], nulls_last=[False, True], maintain_order=True)
        .select(pkey(), pl.col("day").cast(pl.String), "steps", pl.col("calories_kcal").round(0).alias("kcal"))
        .unique(["p", "day"], keep="first", maintain_order=True)
        .sort("p", "day").collect(),
        ["p"],
    )
    nights = frame(tables, "sleep_nights").filter(
        (pl.col("device") == "sense") & pl.col("in_bed_time").is_not_null() & pl.col("night").is_not_null()
    ).select(pkey(), pl.col("night").cast(pl.String), "in_bed_time", "out_of_bed_time").sort("in_bed_time").collect()
    room = {}
    if nights.height:
        samples = _room_samples(tables).select("p", "time", "sensor", "value").sort("time").collect()
        room = _groups(
            samples.join_asof(nights, left_on="time", right_on="in_bed_time", by="p", check_sortedness=False)
            .filter(pl.col("time") < pl.col("out_of_bed_time"))
            .group_by("p", "night", "sensor").agg(pl.col("value").mean().round(2))
            .sort("p", "night", "sensor"),
            ["p"],
        )
    result = []
    for p in participants:
        charts = []
        if (nightly := sleep.get((p,))) is not None:
            nightly, ticks = _with_gaps(nightly), _day_ticks(nightly["night"])
            charts += [chart("trend_sleep", "Sleep per night", ticks, sleep=nightly),
                       chart("trend_efficiency", "Sleep efficiency", ticks, sleep=nightly)]
        if (daily := days.get((p,))) is not None:
            ticks = _day_ticks(daily["day"])
            charts += [chart("trend_steps", "Steps per day", ticks, days=daily),
                       chart("trend_calories", "Calories per day", ticks, days=daily)]
        if (rooms := room.get((p,))) is not None:
            charts.append(chart("trend_room", "Room conditions per night", _day_ticks(rooms["night"]), room=rooms))
        result.append(charts)
    return result


def _day_ticks(dates: pl.Series) -> dict[str, Any]:
    """The `ticks` param of a chart over days: one a day over a fortnight or less (else about 8, wherever they
    fall, which over a few days means several per day)."""
    days = dates.str.to_date() if dates.dtype == pl.String else dates
    span = (days.max() - days.min()).days if days.len() else 0
    return {"ticks": {"interval": "day", "step": 1}} if span <= 14 else {}


def _with_gaps(nights: pl.DataFrame) -> pl.DataFrame:
    """Per device, a night without values after every night not followed by the next day's, so lines break there."""
    nights = nights.sort("device", "night")
    gaps = nights.filter(
        (pl.col("night").shift(-1).over("device") - pl.col("night")).dt.total_days() > 1
    ).select((pl.col("night") + pl.duration(days=1)).alias("night"), "device")
    nights = pl.concat([nights, gaps], how="diagonal").sort("device", "night")
    return nights.with_columns(pl.col("night").cast(pl.String))


def _overview(tables: dict[str, pl.LazyFrame], report: dict[str, Any], nights: list, runs: list,
              participants: list[str]) -> dict[str, Any]:
    """The run at a glance: who, which devices, which dates, which files (with the errors of those that did not
    convert fully, both read back from report.json through the redaction policy) and how many rows each table has.
    (The tables' text the page shows, event names and messages, passes the policy again where it is read.)"""
    tables_rows = {name: t["rows"] for name, t in report.get("tables", {}).items() if t.get("rows")}
    devices = sorted({DEVICE_NAMES[name.split("_")[0]] for name in tables_rows if name.split("_")[0] in DEVICE_NAMES})
    dates = [n["night"] for n in nights] + [r["day"] for r in runs if r["day"]]
    for name, column in (("band_daily_summaries", "day"), ("sense_sensor_samples", "time")):
        if name in tables_rows:
            span = frame(tables, name).select(pl.col(column).min().alias("a"), pl.col(column).max().alias("b"))
            span = span.collect()
            dates += [_day(v) for v in span.row(0) if v is not None]
    files = [
        {"file": redaction.from_earlier_output(f["file"], name=True), "participant": f.get("participant_id") or "",
         "format": f.get("format"), "status": f["status"], "error": redaction.from_earlier_output(f.get("error")),
         "exchanges": f.get("exchanges", 0)}
        for f in report.get("files", [])
    ]
    return {
        "participants": participants,
        "devices": devices,
        "first_day": min(dates) if dates else None,
        "last_day": max(dates) if dates else None,
        "files": files,
        "totals": report.get("totals", {}),
        "tables": tables_rows,
        "generated_at": report.get("generated_at"),
        "nights": len(nights),
        "runs": len(runs),
    }


def _day(value: date | datetime) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat()


# --- charts: Vega-Lite specifications made with Altair, data supplied by the page ------------------------------


def chart_specs() -> dict[str, dict[str, Any]]:
    """Every chart the page draws, by name, each reading named datasets that the page fills per night, run or
    participant."""
    try:
        import altair as alt
    except ImportError as e:
        raise ReportUnavailable("the HTML report needs the report extra: pip install 'databack[report]'") from e

    night_time = alt.Scale(type="utc", domain=alt.ExprRef("span"))  # the same time in bed on every night chart
    clock = alt.Axis(format="%H:%M", title=None, labelFlush=True)
    span = alt.param(name="span", value=[0, 1])

    def chart(data: str) -> alt.Chart:
        return alt.Chart(alt.NamedData(data)).properties(width="container")

    def at(field: str, title: str = "time") -> alt.Tooltip:
        return alt.Tooltip(f"{field}:T", title=title, format="%H:%M", formatType="utc")  # local ms: UTC fields

    def over_night(data: str) -> alt.Chart:
        return chart(data).add_params(span)

    stage_scale = alt.Scale(domain=list(STAGES), range=list(STAGE_COLOURS))
    hypnogram = over_night("segments").mark_rect().encode(
        x=alt.X("start:T", scale=night_time, axis=clock),
        x2="end:T",
        y=alt.Y("stage:N", sort=list(STAGES), title=None),
        color=alt.Color("stage:N", scale=stage_scale, legend=None),
        tooltip=[alt.Tooltip("stage:N"), at("start", "from"), at("end", "to"), alt.Tooltip("minutes:Q")],
    ).properties(height=150)
    events = over_night("events").mark_point(filled=True, size=70).encode(
        x=alt.X("t:T", scale=night_time, axis=clock),
        y=alt.Y("type:N", title=None),
        color=alt.Color("type:N", legend=None),
        tooltip=[at("t"), alt.Tooltip("type:N"), alt.Tooltip("text:N")],
    ).properties(height=110)
    night_hr = over_night("hr").mark_line(point=alt.OverlayMarkDef(size=12), color="#c0392b").encode(
        x=alt.X("t:T", scale=night_time, axis=clock),
        y=alt.Y("bpm:Q", scale=alt.Scale(zero=False), title="heart rate (bpm)"),
        tooltip=[at("t"), alt.Tooltip("bpm:Q")],
    ).properties(height=140)
    night_room = alt.Chart(alt.NamedData("room")).transform_fold(  # a column per sensor, folded back into rows
        list(SENSORS), as_=["sensor", "value"]).transform_filter("isValid(datum.value)").mark_line().encode(
        x=alt.X("t:T", scale=night_time, axis=clock),
        y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
        color=alt.Color("sensor:N", legend=None),
        tooltip=[alt.Tooltip("sensor:N"), at("t"), alt.Tooltip("value:Q")],
    ).properties(height=60, width=400).facet(  # width: the page sets it to its column's
        row=alt.Row("sensor:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
    ).resolve_scale(y="independent").add_params(span)

    route = alt.Chart(alt.NamedData("track")).transform_window(
        lon2="lead(lon)", lat2="lead(lat)", leg_pace="lead(pace_min)", leg_km="lead(km)", leg_bpm="lead(bpm)"
    ).transform_filter("isValid(datum.lon2)").transform_calculate(pace=PACE_TEXT.format("datum.leg_pace")).mark_rule(
        strokeWidth=4, strokeCap="round").encode(
        longitude="lon:Q", latitude="lat:Q", longitude2="lon2:Q", latitude2="lat2:Q",
        color=alt.Color("leg_pace:Q", title="pace (min/km)", legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(scheme="turbo", reverse=True, clamp=True, domain=alt.ExprRef("paceDomain"))),
        tooltip=[alt.Tooltip("leg_km:Q", title="km"), alt.Tooltip("pace:N", title="pace (min/km)"),
                 alt.Tooltip("leg_bpm:Q", title="bpm")],
    ).project(type="mercator").properties(width=360, height=360).add_params(
        alt.param(name="paceDomain", value=[4, 8]))
    over_time = alt.X("minute:Q", title="minutes since start")
    run_hr = chart("hr").mark_line(color="#c0392b").encode(
        x=over_time, y=alt.Y("bpm:Q", scale=alt.Scale(zero=False), title="heart rate (bpm)"),
        tooltip=[alt.Tooltip("minute:Q"), alt.Tooltip("bpm:Q")],
    ).properties(height=140)
    run_pace = chart("pace").transform_calculate(pace=PACE_TEXT.format("datum.pace_min")).mark_line(
        color="#1d3557").encode(
        x=over_time, y=alt.Y("pace_min:Q", scale=alt.Scale(zero=False, reverse=True), title="pace (min/km)"),
        tooltip=[alt.Tooltip("minute:Q"), alt.Tooltip("pace:N", title="pace (min/km)")],
    ).properties(height=140)
    splits = chart("splits").transform_calculate(pace=PACE_TEXT.format("datum.pace_min")).mark_bar(
        color="#3f88c5").encode(
        x=alt.X("n:O", title="split", axis=alt.Axis(labelAngle=0)), y=alt.Y("pace_min:Q", title="pace (min/km)"),
        tooltip=[alt.Tooltip("n:O", title="split"), alt.Tooltip("pace:N", title="pace (min/km)"),
                 alt.Tooltip("m:Q", title="metres"), alt.Tooltip("bpm:Q")],
    ).properties(height=140)

    ticks = alt.param(name="ticks", value=8)  # a tick a day for a short span (`_day_ticks`)
    by_night = alt.X("utcyearmonthdate(night):T", title=None, axis=alt.Axis(tickCount=alt.ExprRef("ticks")))
    device = alt.Color("device:N", title=None, legend=alt.Legend(orient="top"),
                       scale=alt.Scale(domain=list(DEVICE_NAMES.values()), range=["#3f88c5", "#e76f51"]))
    trend_sleep = chart("sleep").mark_line(point=alt.OverlayMarkDef(size=20)).add_params(ticks).encode(
        x=by_night, y=alt.Y("sleep_h:Q", title="hours asleep"), color=device,
        tooltip=["night:N", "device:N", alt.Tooltip("sleep_h:Q", title="hours asleep"),
                 alt.Tooltip("bed_h:Q", title="hours in bed")],
    ).properties(height=160)
    trend_efficiency = chart("sleep").mark_line(point=alt.OverlayMarkDef(size=20)).add_params(ticks).encode(
        x=by_night, y=alt.Y("efficiency:Q", title="sleep efficiency (%)", scale=alt.Scale(zero=False)), color=device,
        tooltip=["night:N", "device:N", alt.Tooltip("efficiency:Q", title="efficiency (%)")],
    ).properties(height=160)
    by_day = alt.X("utcyearmonthdate(day):T", title=None, axis=alt.Axis(tickCount=alt.ExprRef("ticks")))
    trend_steps = chart("days").mark_bar(color="#2a9d8f").add_params(ticks).encode(
        x=by_day, y=alt.Y("steps:Q", title="steps"), tooltip=["day:N", "steps:Q"]).properties(height=140)
    trend_calories = chart("days").mark_line(
        color="#e76f51", point=alt.OverlayMarkDef(size=20, color="#e76f51")).add_params(ticks).encode(
        x=by_day, y=alt.Y("kcal:Q", title="calories (kcal)", scale=alt.Scale(zero=False)),
        tooltip=["day:N", "kcal:Q"]).properties(height=140)
    trend_room = alt.Chart(alt.NamedData("room")).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=by_night, y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
        color=alt.Color("sensor:N", legend=None), tooltip=["night:N", "sensor:N", "value:Q"],
    ).properties(height=60, width=400).facet(
        row=alt.Row("sensor:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
    ).resolve_scale(y="independent").add_params(ticks)

    charts = {
        "hypnogram": hypnogram, "events": events, "night_hr": night_hr, "night_room": night_room, "route": route,
        "run_hr": run_hr, "run_pace": run_pace, "splits": splits, "trend_sleep": trend_sleep,
        "trend_efficiency": trend_efficiency, "trend_steps": trend_steps, "trend_calories": trend_calories,
        "trend_room": trend_room,
    }
    specs = {}
    for name, c in charts.items():
        spec = c.configure_view(stroke=None).configure(font="sans-serif").to_dict()
        spec.pop("$schema", None)
        specs[name] = spec
    return specs


# --- the page ---------------------------------------------------------------------------------------------------


def _page(data: dict[str, Any], specs: dict[str, Any]) -> str:
    """The template with Vega's bundle, the specs and the data put in; JSON escaped so that no captured string
    can end its script element."""
    template = resources.files("converters").joinpath("report_page.html").read_text(encoding="utf-8")
    return (
        template.replace("/*VEGA*/", _script_safe(vega_bundle()))
        .replace("/*SPECS*/", _json(specs))
        .replace("/*DATA*/", _json(data))
        .replace("<!--TITLE-->", "databack report")
    )


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (BSD-3-Clause), made by vl-convert: a few seconds the first
    time, so it is kept in the user's cache folder (`$XDG_CACHE_HOME/databack`), by vl-convert and Vega-Lite
    version."""
    import vl_convert

    version = f"{metadata.version('vl-convert-python')}-vl{_vega_lite_version()}"
    cached = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "databack" / f"vega-{version}.js"
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vl_convert.javascript_bundle(vl_version=_vega_lite_version())
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            tmp.write_text(bundle, encoding="utf-8")
    except OSError:  # no cache folder to write to: made again next time
        pass
    return bundle


def _vega_lite_version() -> str:
    import altair as alt

    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode().replace("<", "\\u003c")


def _script_safe(js: str) -> str:
    """JavaScript that cannot end its <script> element early."""
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)

