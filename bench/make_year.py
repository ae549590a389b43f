"""A year of one participant's data, written as a databack run writes OUT: what `databack report` is timed on.

Every night a Band sleep (12 sequences, a heart rate a minute for 7.5 hours) and a Sense timeline (40 events and
their metrics); three runs a week (45 minutes: a heart rate a minute, a GPS point every 5 s, a split a km); the
Band's daily and hourly totals; the Sense room history (5 sensors, a value every 5 minutes, all year). Made from
a seed, straight into tables (no capture is parsed), through databack's own writer and views.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from make_captures import DATA

from converters import views
from converters.pipeline import Conversion
from converters.tables import TABLES
from converters.writers import write


DAYS = 365
OFFSET_S = -8 * 3600  # the participant's UTC offset (US Pacific, winter)
SENSORS = {"temperature": (19.5, 1.5), "humidity": (42.0, 6.0), "light": (2.0, 2.0), "sound": (35.0, 4.0),
           "particulates": (12.0, 4.0)}


def ensure_year(seed: int = 0) -> Path:
    """OUT holding the year (made once per seed, then reused)."""
    out = DATA / f"year-{seed}"
    if not (out / "report.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        tables = year_tables(random.Random(seed))
        write(Conversion([], tables | views.derive(tables)), out)
    return out


def year_tables(rng: random.Random) -> dict[str, pl.DataFrame]:
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    first = date(2015, 1, 1)
    for d in range(DAYS):
        day = first + timedelta(days=d)
        bed = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            hours=23 - OFFSET_S / 3600, minutes=rng.randint(-60, 60))
        _band_night(rows, rng, day, bed)
        _sense_night(rows, rng, day, bed + timedelta(minutes=rng.randint(-5, 5)))
        if d % 7 in (1, 3, 5):
            _run(rows, rng, day, datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=26))
        steps = rng.randint(4000, 14000)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(seconds=OFFSET_S)
        rows["band_daily_summaries"].append({"day": day, "api": "private", "start_time": midnight, "steps": steps,
                                             "calories_kcal": float(rng.randint(2100, 2900))})
        for h in range(24):
            rows["band_hourly_summaries"].append({"time": midnight + timedelta(hours=h), "api": "private",
                                                  "steps": steps // 24, "calories_kcal": 95.0})
    start = datetime(2015, 1, 1, tzinfo=UTC) - timedelta(seconds=OFFSET_S)
    for sensor, (mean, spread) in SENSORS.items():
        for i in range(DAYS * 288):
            value = mean + spread * math.sin(i / 288 * 2 * math.pi) + rng.gauss(0, spread / 5)
            rows["sense_sensor_samples"].append({"time": start + timedelta(minutes=5 * i), "utc_offset_s": OFFSET_S,
                                                 "sensor": sensor, "value": round(value, 2), "resolution_s": 300})
    provenance = {"participant_id": "p-1a2b3c4d5e6f7a8b", "source_file": "year.har", "source_entry": 0,
                  "captured_at": datetime(2016, 1, 2, tzinfo=UTC)}
    return {
        name: pl.DataFrame([{c: (provenance | r).get(c) for c in TABLES[name].schema} for r in table_rows],
                           schema=TABLES[name].schema)
        for name, table_rows in rows.items() if table_rows
    }


def _band_night(rows, rng: random.Random, day: date, bed: datetime) -> None:
    event_id = str(2_519_000_000_000_000_000 - int(bed.timestamp()))
    asleep = ["RestfulSleep", "RestlessSleep"]
    t, kinds = bed, [("Dozing", "UNKNOWN")] + [
        (("Sleep", rng.choice(asleep)) if i % 4 else ("Awake", "UNKNOWN")) for i in range(1, 11)
    ] + [("Awake", "UNKNOWN")]
    for order, (kind, sleep) in enumerate(kinds, 1):
        seconds = 60 * (rng.randint(3, 10) if kind != "Sleep" else rng.randint(30, 60))
        rows["band_sequences"].append({"event_id": event_id, "sequence_id": f"{event_id}-{order}",
                                       "sequence_order": order, "sequence_type": kind, "sleep_type": sleep,
                                       "start_time": t, "duration_s": float(seconds)})
        t += timedelta(seconds=seconds)
    duration = (t - bed).total_seconds()
    rows["band_events"].append({"event_id": event_id, "api": "private", "event_type": "Sleeping", "day_id": day,
                                "start_time": bed, "duration_s": duration, "paused_s": 0.0,
                                "sleep_s": duration * 0.88, "resting_hr_bpm": 52.0})
    for m in range(int(duration // 60)):
        rows["band_minutes"].append({"event_id": event_id, "time": bed + timedelta(minutes=m),
                                     "hr_avg_bpm": float(rng.randint(48, 66)), "steps": 0})


def _sense_night(rows, rng: random.Random, day: date, bed: datetime) -> None:
    rows["sense_nights"].append({"night": day, "score": rng.randint(60, 95), "api_version": 2})
    t = bed
    for i in range(40):
        kind = "GOT_IN_BED" if i == 0 else "GOT_OUT_OF_BED" if i == 39 else rng.choice(
            ["IN_BED"] * 8 + ["GENERIC_MOTION", "SNORED"])
        state = "AWAKE" if i in (0, 1, 38, 39) else rng.choice(["LIGHT", "MEDIUM", "MEDIUM", "SOUND", "SOUND"])
        seconds = 60 if kind != "IN_BED" else 60 * rng.randint(5, 20)
        rows["sense_timeline_events"].append({"night": day, "time": t, "utc_offset_s": OFFSET_S,
                                              "duration_s": float(seconds), "event_type": kind, "sleep_state": state,
                                              "message": f"{kind.replace('_', ' ').lower()}"})
        t += timedelta(seconds=seconds)
    for name, value in (("total_sleep", (t - bed).total_seconds() * 0.9), ("times_awake", 1.0)):
        rows["sense_night_metrics"].append({"night": day, "name": name, "value": value})


def _run(rows, rng: random.Random, day: date, start: datetime) -> None:
    event_id = str(2_519_000_000_000_000_000 - int(start.timestamp()))
    seconds, pace = 45 * 60, rng.uniform(300, 390)  # s/km
    distance = seconds / pace * 1000
    rows["band_events"].append({"event_id": event_id, "api": "private", "event_type": "Running", "name": "Loop",
                                "day_id": day, "start_time": start, "duration_s": float(seconds), "paused_s": 0.0,
                                "distance_m": distance, "pace_s_per_km": pace, "calories_kcal": 480.0,
                                "hr_avg_bpm": 150.0, "hr_peak_bpm": 172.0})
    for m in range(45):
        rows["band_minutes"].append({"event_id": event_id, "time": start + timedelta(minutes=m),
                                     "hr_avg_bpm": float(min(175, 100 + 3 * m + rng.randint(-4, 4))), "steps": 165})
    for i in range(seconds // 5):
        angle = i / (seconds // 5) * 2 * math.pi
        rows["band_map_points"].append({
            "event_id": event_id, "ordinal": i, "time": start + timedelta(seconds=5 * i),
            "seconds_since_start": 5.0 * i, "latitude_deg": 37.77 + 0.01 * math.sin(angle),
            "longitude_deg": -122.47 + 0.015 * math.cos(angle), "heart_rate_bpm": 150.0,
            "distance_m": distance * i / (seconds // 5), "pace_s_per_km": pace + rng.uniform(-25, 25)})
    for k in range(1, int(distance // 1000) + 1):
        rows["band_sequences"].append({"event_id": event_id, "sequence_id": f"{event_id}-s{k}", "sequence_order": k,
                                       "sequence_type": "Running", "start_time": start, "duration_s": pace,
                                       "split_distance_m": 1000.0, "split_pace_s_per_km": pace + rng.uniform(-15, 15)})


if __name__ == "__main__":
    print(ensure_year())
