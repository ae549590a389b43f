"""`sleep_nights`: one row per participant, device and night, Band and Sense alike.

Every value follows the rule its column's description in `converters/tables.py` states (the README's data
dictionary): a night is its stage segments (Band sleep sequences, Sense timeline events) cut to the time in bed,
and the device's own figures are kept beside the derived ones in `device_` columns.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping

import polars as pl

from ..tables import SLEEP_NIGHTS, UTC_TIME
from . import frame

KEY = ["participant_id", "device", "source_id"]
ASLEEP = ("restful", "restless", "light", "medium", "sound")
BAND_STAGES = ("restful", "restless", "awake", "unscored")
SENSE_STAGES = ("light", "medium", "sound", "awake", "unscored")
PROVENANCE = ["source_file", "source_entry", "captured_at"]
FIRST_TIME, LAST_TIME = datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)  # (base's)
SPAN_S = (LAST_TIME - FIRST_TIME).total_seconds()

# Band sequences as the Band app drew them (SleepChartFragment): Awake, Dozing, Snoozing awake; Sleep restful or
# restless; NotWorn and Unknown a gap.
BAND_STAGE = (
    pl.when(pl.col("sequence_type") == "Sleep")
    .then(pl.when(pl.col("sleep_type") == "RestfulSleep").then(pl.lit("restful")).otherwise(pl.lit("restless")))
    .when(pl.col("sequence_type").is_in(["Awake", "Dozing", "Snoozing"]))
    .then(pl.lit("awake"))
    .otherwise(pl.lit("unscored"))
)
SENSE_STAGE = pl.col("sleep_state").str.to_lowercase().replace_strict(
    {"light": "light", "medium": "medium", "sound": "sound", "awake": "awake"}, default="unscored"
)


# A Band night without a DayId (a payload of a client that sent none): the date its API would give, the local date of
# its start less 5 hours (the public API's dayId: a sleep started before 05:00 is filed under the evening before),
# in UTC where the offset is unknown.
_BEDTIME = (pl.col("start_time").dt.replace_time_zone(None) + pl.duration(seconds=pl.col("utc_offset_s").fill_null(0))
            - pl.duration(hours=5))
UNDATED_NIGHT = pl.coalesce(
    pl.when(_BEDTIME.is_between(datetime.min, datetime.max)).then(_BEDTIME.dt.date()),
    pl.col("start_time").dt.date(),  # (that date outside years 1 to 9999: the start's own in UTC)
)


def seconds(column: str) -> pl.Expr:
    """A column of seconds as a duration (null counts 0), no longer than the time between years 1 and 9999 either way
    (a payload's 10**15 s is no duration a time can be moved by)."""
    return pl.duration(microseconds=(pl.col(column).fill_null(0).clip(-SPAN_S, SPAN_S) * 1_000_000).round()
                       .cast(pl.Int64))


def ending(start: str, *durations: str) -> pl.Expr:
    """`start` plus the `durations` (seconds; null counts 0), kept within years 1 to 9999 in UTC: no table holds a
    time outside them (a payload's are refused), nor do Python's datetimes."""
    end = pl.col(start)
    for duration in durations:
        end = end + seconds(duration)
    return end.clip(FIRST_TIME, LAST_TIME)


def derive(tables: Mapping[str, object]) -> pl.DataFrame:
    """The sleep_nights table of the decoded `tables`."""
    band_nights, band_segments = _band(tables)
    sense_nights, sense_segments = _sense(tables)
    nights = pl.concat([band_nights, sense_nights], how="diagonal_relaxed")
    segments = pl.concat([band_segments, sense_segments], how="vertical_relaxed")
    figures = _figures(nights, segments)
    hr = _sleep_heart_rate(tables, figures)
    out = (
        nights.join(figures, on=KEY, how="left", nulls_equal=True)
        .join(hr, on=KEY, how="left", nulls_equal=True)
        .pipe(_main_sleep)
        .sort("participant_id", "device", "night", "in_bed_time", "source_id", nulls_last=True, maintain_order=True)
    )
    schema = SLEEP_NIGHTS.schema
    # in memory: polars' streaming engine (its default) took twice the time on these few thousand nights' joins and
    # group-bys (8 x 50 MB captures: 0.094 s against 0.042 s), after the last file of a run
    return out.select([pl.col(c).cast(t) if c in out.collect_schema() else pl.lit(None, t).alias(c)
                       for c, t in schema.items()]).collect(engine="in-memory")


def segments(tables: Mapping[str, object]) -> pl.LazyFrame:
    """Every night's stage segments, cut to its time in bed: participant_id, device, source_id, start, end, stage
    (the hypnogram the report draws and the Open mHealth export writes)."""
    band_nights, band_segments = _band(tables)
    sense_nights, sense_segments = _sense(tables)
    nights = pl.concat([band_nights, sense_nights], how="diagonal_relaxed")
    return _in_bed(nights, pl.concat([band_segments, sense_segments], how="vertical_relaxed")).select(
        *KEY, "start", "end", "stage"
    )


def _band(tables: Mapping[str, object]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Band sleep events as nights (in bed: the event's start) and their sequences as stage segments."""
    events = frame(tables, "band_events").filter(pl.col("event_type") == "Sleeping")
    segs = (
        frame(tables, "band_sequences")
        .join(events.select("participant_id", "event_id"), on=["participant_id", "event_id"], how="semi",
              nulls_equal=True)
        .select(
            "participant_id",
            pl.lit("band").alias("device"),
            pl.col("event_id").alias("source_id"),
            pl.col("start_time").alias("start"),
            ending("start_time", "duration_s").alias("end"),
            BAND_STAGE.alias("stage"),
        )
    )
    last_end = segs.group_by("participant_id", "source_id").agg(pl.col("end").max().alias("last_end"))
    nights = (
        events.join(last_end, left_on=["participant_id", "event_id"], right_on=["participant_id", "source_id"],
                    how="left", nulls_equal=True)
        .select(
            "participant_id",
            pl.lit("band").alias("device"),
            pl.coalesce("day_id", UNDATED_NIGHT).alias("night"),
            pl.col("event_id").alias("source_id"),
            pl.col("start_time").alias("in_bed_time"),
            pl.coalesce("last_end", ending("start_time", "duration_s", "paused_s"))
            .alias("out_of_bed_time"),
            "utc_offset_s",
            pl.col("sleep_s").alias("device_total_sleep_s"),
            pl.col("time_to_fall_asleep_s").alias("device_sleep_latency_s"),
            pl.col("fall_asleep_time").alias("device_sleep_onset_time"),
            pl.col("wake_up_time").alias("device_wake_time"),
            pl.col("awake_s").alias("device_awake_s"),
            pl.col("wakeups").alias("device_awakenings"),
            pl.col("sleep_efficiency_pct").alias("device_sleep_efficiency_pct"),
            pl.col("restful_sleep_s").alias("device_restful_sleep_s"),
            pl.col("restless_sleep_s").alias("device_restless_sleep_s"),
            pl.col("resting_hr_bpm").alias("device_resting_hr_bpm"),
            *PROVENANCE,
        )
    )
    return nights, segs


def _sense(tables: Mapping[str, object]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Sense timelines as nights (in and out of bed from GOT_IN_BED / GOT_OUT_OF_BED, else WOKE_UP) and their events
    as stage segments."""
    events = frame(tables, "sense_timeline_events").with_columns(
        pl.col("night").cast(pl.String).alias("source_id"),
        pl.col("time").alias("start"),
        ending("time", "duration_s").alias("end"),
    )
    segs = events.select(
        "participant_id", pl.lit("sense").alias("device"), "source_id", "start", "end", SENSE_STAGE.alias("stage")
    )
    bed = events.group_by("participant_id", "source_id").agg(
        pl.coalesce(pl.col("start").filter(pl.col("event_type") == "GOT_IN_BED").min(), pl.col("start").min())
        .alias("in_bed_time"),
        # no GOT_OUT_OF_BED (v1 nights): the night ends as the app's own figures do, at the last WOKE_UP; the real
        # 2015 v1 night (reference timeline_v1_with_statistics) goes on 2 h 13 min past WAKE_UP in segments of depth
        # 18-100, while its total_sleep (330 min) runs from SLEEP to WAKE_UP and "in bed for 5.5 hours" ends there
        pl.coalesce(
            pl.col("start").filter(pl.col("event_type") == "GOT_OUT_OF_BED").max(),
            pl.col("start").filter(pl.col("event_type") == "WOKE_UP").max(),
            pl.col("end").max(),
        ).alias("out_of_bed_time"),
        pl.col("utc_offset_s").sort_by("start").drop_nulls().first(),  # (the first event that sends one)
    )
    metrics = frame(tables, "sense_night_metrics")
    # (a value is the figure where it is in the figure's unit: one of a unit not known is kept as sent, in its own)
    metric = lambda name, column="value", unit=None: pl.col(column).filter(  # noqa: E731
        (pl.col("name") == name) & (pl.lit(True) if unit is None else pl.col("unit").eq_missing(unit))).first()
    reported = metrics.group_by("participant_id", "night").agg(
        metric("total_sleep", unit="s").alias("device_total_sleep_s"),
        metric("time_to_sleep", unit="s").alias("device_sleep_latency_s"),
        metric("fell_asleep", "time").alias("device_sleep_onset_time"),
        metric("woke_up", "time").alias("device_wake_time"),
        metric("times_awake", unit="count").round().cast(pl.Int64, strict=False).alias("device_awakenings"),
        metric("sound_sleep", unit="s").alias("device_sound_sleep_s"),
    )
    nights = (
        _one_per_night(frame(tables, "sense_nights").with_columns(pl.col("night").cast(pl.String).alias("source_id")))
        .join(bed, on=["participant_id", "source_id"], how="left", nulls_equal=True)
        .join(reported, on=["participant_id", "night"], how="left", nulls_equal=True)
        .select(
            "participant_id",
            pl.lit("sense").alias("device"),
            "night",
            "source_id",
            "in_bed_time",
            "out_of_bed_time",
            "utc_offset_s",
            "device_total_sleep_s",
            "device_sleep_latency_s",
            "device_sleep_onset_time",
            "device_wake_time",
            "device_awakenings",
            "device_sound_sleep_s",
            pl.col("score").alias("device_score"),
            *PROVENANCE,
        )
    )
    return nights, segs


def _one_per_night(nights: pl.LazyFrame) -> pl.LazyFrame:
    """One Sense night per participant and date: a response may hold a date twice (a v1 timeline array of nights
    without dates, filed under the URL's), and the table keeps what the response said; the night is its last copy,
    what it lacks (null) filled from the copies before it, as de-duplication does for copies of a record. Rows
    come sorted by key, copies in the order they were decoded."""
    key = ["participant_id", "source_id"]
    others = pl.all().exclude(key)
    return nights.with_columns(others.forward_fill().over(key)).filter(
        pl.int_range(pl.len()).over(key) == pl.len().over(key) - 1
    )


def _in_bed(nights: pl.LazyFrame, segs: pl.LazyFrame) -> pl.LazyFrame:
    """Segments cut to their night's time in bed (out of bed never before in bed), and to what the segments before
    them left: time two segments overlap is counted once, in the earlier one (the 2014 v1 Sense timeline sent
    10-minute segments 5 minutes apart); those left empty dropped."""
    bed = nights.select(*KEY, "in_bed_time", pl.max_horizontal("in_bed_time", "out_of_bed_time").alias("out"))
    covered = pl.col("end").cum_max().shift(1).over(KEY)  # the latest end of the segments before
    return (
        segs.join(bed, on=KEY, nulls_equal=True)
        .with_columns(
            pl.max_horizontal("start", "in_bed_time").alias("start"), pl.min_horizontal("end", "out").alias("end")
        )
        .filter(pl.col("end") > pl.col("start"))
        .sort(*KEY, "start", "end", "stage", nulls_last=True)
        .with_columns(pl.max_horizontal("start", covered).alias("start"))
        .filter(pl.col("end") > pl.col("start"))
    )


def _figures(nights: pl.LazyFrame, segs: pl.LazyFrame) -> pl.LazyFrame:
    """Per night: the times and sums the data dictionary defines, from its segments."""
    asleep = pl.col("stage").is_in(ASLEEP)
    awake = pl.col("stage") == "awake"
    s = _in_bed(nights, segs).with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6).alias("seconds"),
        pl.col("start").filter(asleep).min().over(KEY).alias("onset"),
        pl.col("end").filter(asleep).max().over(KEY).alias("wake"),
    )
    # asleep -> awake transitions, unscored segments between them ignored
    scored = s.filter(pl.col("stage") != "unscored").with_columns(
        asleep.shift(1).over(KEY).fill_null(False).alias("after_sleep")
    )
    awakenings = scored.group_by(KEY).agg(
        (awake & pl.col("after_sleep") & (pl.col("start") < pl.col("wake"))).sum().cast(pl.Int64).alias("awakenings")
    )
    during = (pl.min_horizontal("end", "wake") - pl.max_horizontal("start", "onset")).dt.total_microseconds() / 1e6
    stage_sum = lambda stage: pl.col("seconds").filter(pl.col("stage") == stage).sum()  # noqa: E731
    counts = segs.group_by(KEY).agg(pl.len().cast(pl.Int64).alias("segments"))
    figures = s.group_by(KEY).agg(
        pl.col("onset").first().alias("sleep_onset_time"),
        pl.col("wake").first().alias("wake_time"),
        pl.col("seconds").filter(asleep).sum().alias("total_sleep_s"),
        during.clip(lower_bound=0).filter(awake).sum().alias("waso_s"),
        *(stage_sum(stage).alias(f"{stage}_s") for stage in (*ASLEEP, "awake", "unscored")),
    )
    bed = nights.select(
        *KEY,
        ((pl.max_horizontal("in_bed_time", "out_of_bed_time") - pl.col("in_bed_time")).dt.total_microseconds() / 1e6)
        .alias("time_in_bed_s"),
        "in_bed_time",
    )
    has_onset = pl.col("sleep_onset_time").is_not_null()
    device_stages = {"band": BAND_STAGES, "sense": SENSE_STAGES}
    return (
        bed.join(counts, on=KEY, how="left", nulls_equal=True)
        .join(figures, on=KEY, how="left", nulls_equal=True)
        .join(awakenings, on=KEY, how="left", nulls_equal=True)
        .with_columns(pl.col("segments").fill_null(0))
        .with_columns(
            *(
                pl.when(pl.col("segments") > 0).then(pl.col(c).fill_null(0.0)).alias(c)
                for c in ("total_sleep_s", "awake_s", "unscored_s")
            ),
            *(
                pl.when((pl.col("segments") > 0) & pl.col("device").is_in([d for d, st in device_stages.items()
                                                                           if stage in st]))
                .then(pl.col(f"{stage}_s").fill_null(0.0))
                .alias(f"{stage}_s")
                for stage in ASLEEP
            ),
            pl.when(has_onset).then(pl.col("waso_s")).alias("waso_s"),
            pl.when(has_onset).then(pl.col("awakenings").fill_null(0)).alias("awakenings"),
            ((pl.col("sleep_onset_time") - pl.col("in_bed_time")).dt.total_microseconds() / 1e6)
            .alias("sleep_latency_s"),
        )
        .with_columns(
            pl.when(pl.col("time_in_bed_s") > 0)
            .then(100 * pl.col("total_sleep_s") / pl.col("time_in_bed_s"))
            .alias("sleep_efficiency_pct")
        )
        .drop("in_bed_time")
    )


def _sleep_heart_rate(tables: Mapping[str, object], figures: pl.LazyFrame) -> pl.LazyFrame:
    """Band: the mean and lowest minute heart rate from sleep onset to wake, of the minutes with a reading (the Band
    sends 0 for a minute it measured none in)."""
    minutes = frame(tables, "band_minutes").filter(pl.col("hr_avg_bpm") > 0).select(
        "participant_id", pl.lit("band").alias("device"), pl.col("event_id").alias("source_id"), "time", "hr_avg_bpm"
    )
    window = figures.filter(pl.col("device") == "band").select(*KEY, "sleep_onset_time", "wake_time")
    return (
        minutes.join(window, on=KEY, nulls_equal=True)
        .filter((pl.col("time") >= pl.col("sleep_onset_time")) & (pl.col("time") < pl.col("wake_time")))
        .group_by(KEY)
        .agg(
            pl.col("hr_avg_bpm").mean().alias("sleep_hr_avg_bpm"),
            pl.col("hr_avg_bpm").min().alias("sleep_hr_lowest_bpm"),
        )
    )


def _main_sleep(nights: pl.LazyFrame) -> pl.LazyFrame:
    """is_main_sleep: the longest time in bed of a participant's nights of one device filed under one date (ties:
    the earliest)."""
    group = ["participant_id", "device", "night"]
    return nights.sort(
        pl.col("time_in_bed_s").fill_null(-1.0), "in_bed_time", "source_id", descending=[True, False, False],
        nulls_last=True, maintain_order=True,
    ).with_columns((pl.int_range(pl.len()).over(group) == 0).alias("is_main_sleep"))
