"""sleep_nights: every rule of the data dictionary, on hand-made nights whose answers are worked out here on paper."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from conftest import REPO

from converters.pipeline import collect_inputs, convert, update
from converters.tables import SLEEP_NIGHTS, TABLES
from converters.views import derive, sleep_nights
from converters.writers import read_output, write

SAMPLES = REPO / "samples"


def frame(name: str, rows: list[dict]) -> pl.DataFrame:
    """A decoded table from rows that name only some of its columns."""
    schema = TABLES[name].schema
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def at(hhmm: str, day: date = date(2015, 3, 1)) -> datetime:
    """A UTC time on `day`; hours past 24 run into the next day."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hours, minutes=minutes)


def band_tables(participant: str | None = None) -> dict[str, pl.DataFrame]:
    """Night A (filed under 2015-03-01): ten sequences from 23:00 to 02:45, and a 20-minute nap the same day."""
    sequences = [  # (type, sleep type, start, seconds)
        ("Dozing", "UNKNOWN", "23:00", 600),
        ("Sleep", "RestlessSleep", "23:10", 1800),
        ("Sleep", "RestfulSleep", "23:40", 3600),
        ("Awake", "UNKNOWN", "24:40", 300),
        ("Snoozing", "UNKNOWN", "24:45", 300),
        ("Sleep", "UndifferentiatedSleep", "24:50", 2400),
        ("NotWorn", "UNKNOWN", "25:30", 1200),
        ("Awake", "UNKNOWN", "25:50", 600),
        ("Sleep", "RestfulSleep", "26:00", 1800),
        ("Awake", "UNKNOWN", "26:30", 900),
    ]
    common = {"participant_id": participant, "event_type": "Sleeping", "day_id": date(2015, 3, 1),
              "source_file": "a.har", "source_entry": 3, "captured_at": at("40:00")}
    return {
        "band_events": frame("band_events", [
            common | {"event_id": "A", "start_time": at("23:00"), "duration_s": 13500.0, "paused_s": 0.0,
                      "utc_offset_s": 3600,
                      "sleep_s": 9000.0, "awake_s": 2700.0, "time_to_fall_asleep_s": 600.0, "wakeups": 1,
                      "sleep_efficiency_pct": 66.7, "restful_sleep_s": 5400.0, "restless_sleep_s": 3600.0,
                      "resting_hr_bpm": 48.0, "fall_asleep_time": at("23:10"), "wake_up_time": at("26:30")},
            common | {"event_id": "NAP", "start_time": at("14:00"), "duration_s": 1200.0},
            common | {"event_id": "RUN", "event_type": "Running", "start_time": at("08:00"), "duration_s": 1800.0},
        ]),
        "band_sequences": frame("band_sequences", [
            {"participant_id": participant, "event_id": "A", "sequence_id": str(i), "sequence_order": i,
             "sequence_type": kind, "sleep_type": sleep, "start_time": at(start), "duration_s": float(seconds)}
            for i, (kind, sleep, start, seconds) in enumerate(sequences, 1)
        ] + [{"participant_id": participant, "event_id": "RUN", "sequence_id": "r", "sequence_order": 1,
              "sequence_type": "Running", "start_time": at("08:00"), "duration_s": 1800.0}]),
        "band_minutes": frame("band_minutes", [
            {"participant_id": participant, "event_id": "A", "time": at(t), "hr_avg_bpm": hr}
            for t, hr in [("23:05", 70.0), ("23:10", 60.0), ("24:00", 50.0), ("26:29", 55.0), ("26:30", 80.0)]
        ]),
    }


def sense_tables(participant: str | None = None) -> dict[str, pl.DataFrame]:
    """Three Sense nights: 2017-03-01 in full, 2017-03-02 without GOT_IN_BED / GOT_OUT_OF_BED, 2017-03-03 empty."""
    d1, d2 = date(2017, 3, 2), date(2017, 3, 3)
    events = [  # (night, type, start, seconds, state)
        (date(2017, 3, 1), "GOT_IN_BED", at("07:00", d1), 60, "AWAKE"),
        (date(2017, 3, 1), "IN_BED", at("07:01", d1), 540, "AWAKE"),
        (date(2017, 3, 1), "IN_BED", at("07:10", d1), 600, "LIGHT"),
        (date(2017, 3, 1), "FELL_ASLEEP", at("07:20", d1), 60, "MEDIUM"),
        (date(2017, 3, 1), "IN_BED", at("07:21", d1), 3540, "SOUND"),
        (date(2017, 3, 1), "IN_BED", at("08:20", d1), 600, "AWAKE"),
        (date(2017, 3, 1), "GENERIC_MOTION", at("08:30", d1), None, "MEDIUM"),
        (date(2017, 3, 1), "IN_BED", at("08:30", d1), 3600, "MEDIUM"),
        (date(2017, 3, 1), "WOKE_UP", at("09:30", d1), 60, "AWAKE"),
        (date(2017, 3, 1), "IN_BED", at("09:31", d1), 240, "AWAKE"),
        (date(2017, 3, 1), "GOT_OUT_OF_BED", at("09:35", d1), 60, "AWAKE"),
        (date(2017, 3, 2), "IN_BED", at("06:00", d2), 1800, "LIGHT"),
        (date(2017, 3, 2), "IN_BED", at("06:30", d2), 600, "AWAKE"),
    ]
    metrics = [("total_sleep", 7800.0, None), ("time_to_sleep", 1200.0, None), ("times_awake", 1.0, None),
               ("sound_sleep", 3540.0, None), ("fell_asleep", None, at("07:20", d1)),
               ("woke_up", None, at("09:30", d1)), ("temperature", None, None)]
    p = {"participant_id": participant, "source_file": "b.flow", "source_entry": 7, "captured_at": at("20:00", d1)}
    return {
        "sense_nights": frame("sense_nights", [
            p | {"night": date(2017, 3, 1), "score": 80, "api_version": 2},
            p | {"night": date(2017, 3, 2), "score": 60, "api_version": 2},
            p | {"night": date(2017, 3, 3), "score": 0, "score_condition": "UNAVAILABLE", "api_version": 2},
        ]),
        "sense_timeline_events": frame("sense_timeline_events", [
            p | {"night": night, "event_type": kind, "time": start, "utc_offset_s": -28800,
                 "duration_s": None if seconds is None else float(seconds), "sleep_state": state}
            for night, kind, start, seconds, state in events
        ]),
        "sense_night_metrics": frame("sense_night_metrics", [
            p | {"night": date(2017, 3, 1), "name": name, "value": value, "time": time,
                 "unit": None if value is None else "count" if name == "times_awake" else "s"}  # (the decoders')
            for name, value, time in metrics
        ]),
    }


def night(df: pl.DataFrame, source_id: str, participant: str | None = None) -> dict:
    rows = df.filter((pl.col("source_id") == source_id) & (pl.col("participant_id").eq_missing(participant)))
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def band() -> pl.DataFrame:
    return sleep_nights.derive(band_tables())


@pytest.fixture(scope="module")
def sense() -> pl.DataFrame:
    return sleep_nights.derive(sense_tables())


def test_a_band_night_is_in_bed_from_the_event_start_to_the_end_of_its_last_sequence(band):
    a = night(band, "A")
    assert (a["device"], a["night"], a["in_bed_time"], a["out_of_bed_time"]) == ("band", date(2015, 3, 1), at("23:00"),
                                                                                  at("26:45"))
    assert a["time_in_bed_s"] == 13500.0  # 3 h 45 min
    assert a["segments"] == 10
    assert (a["utc_offset_s"], night(band, "NAP")["utc_offset_s"]) == (3600, None)  # the event's, where it has one


def test_band_onset_and_wake_are_the_first_and_last_sleep_sequences(band):
    a = night(band, "A")
    assert (a["sleep_onset_time"], a["wake_time"]) == (at("23:10"), at("26:30"))
    assert a["sleep_latency_s"] == 600.0  # the Dozing before the first Sleep


def test_band_stages_are_summed_in_the_band_apps_names(band):
    a = night(band, "A")
    assert a["restful_s"] == 3600 + 1800
    assert a["restless_s"] == 1800 + 2400  # UndifferentiatedSleep is drawn as restless
    assert a["awake_s"] == 600 + 300 + 300 + 600 + 900  # Awake, Dozing and Snoozing
    assert a["unscored_s"] == 1200  # NotWorn
    assert a["total_sleep_s"] == 9600.0
    assert (a["light_s"], a["medium_s"], a["sound_s"]) == (None, None, None)  # not Band stages


def test_waso_counts_only_awake_time_between_onset_and_wake(band):
    a = night(band, "A")
    assert a["waso_s"] == 300 + 300 + 600  # not the Dozing before onset, nor the Awake after 02:30


def test_awakenings_join_consecutive_awake_sequences_and_see_through_unscored_ones(band):
    # Awake+Snoozing at 00:40: one; the Awake at 01:50 follows NotWorn, itself after sleep: two; the last is after wake
    assert night(band, "A")["awakenings"] == 2


def test_sleep_efficiency_is_sleep_over_time_in_bed(band):
    assert night(band, "A")["sleep_efficiency_pct"] == pytest.approx(100 * 9600 / 13500)


def test_the_devices_own_figures_are_kept_beside_the_derived_ones(band):
    a = night(band, "A")
    assert a["device_total_sleep_s"] == 9000.0 and a["total_sleep_s"] == 9600.0
    assert (a["device_awakenings"], a["device_sleep_latency_s"], a["device_awake_s"]) == (1, 600.0, 2700.0)
    assert (a["device_sleep_efficiency_pct"], a["device_resting_hr_bpm"]) == (66.7, 48.0)
    assert (a["device_restful_sleep_s"], a["device_restless_sleep_s"]) == (5400.0, 3600.0)
    assert (a["device_sleep_onset_time"], a["device_wake_time"]) == (at("23:10"), at("26:30"))


def test_sleep_heart_rate_takes_the_minutes_from_onset_to_wake(band):
    a = night(band, "A")
    assert a["sleep_hr_avg_bpm"] == pytest.approx((60 + 50 + 55) / 3)  # not 23:05 (before onset) nor 02:30 (wake)
    assert a["sleep_hr_lowest_bpm"] == 50.0


def test_a_night_without_sequences_has_its_time_in_bed_and_nothing_made_from_segments(band):
    nap = night(band, "NAP")
    assert (nap["in_bed_time"], nap["out_of_bed_time"], nap["time_in_bed_s"]) == (at("14:00"), at("14:20"), 1200.0)
    assert nap["segments"] == 0
    for column in ("total_sleep_s", "awake_s", "restful_s", "waso_s", "awakenings", "sleep_efficiency_pct",
                   "sleep_onset_time", "sleep_latency_s"):
        assert nap[column] is None, column


def test_the_longest_sleep_of_a_date_is_the_main_one_and_exercise_is_not_a_night(band):
    assert night(band, "A")["is_main_sleep"] and not night(band, "NAP")["is_main_sleep"]
    assert "RUN" not in band["source_id"].to_list()


def test_a_night_awake_throughout_has_no_onset_and_no_sleep():
    tables = band_tables()
    tables["band_sequences"] = tables["band_sequences"].filter(pl.col("event_id") != "A").vstack(frame(
        "band_sequences", [{"event_id": "A", "sequence_id": "1", "sequence_type": "Awake", "start_time": at("23:00"),
                            "duration_s": 1800.0}]))
    a = night(sleep_nights.derive(tables), "A")
    assert (a["total_sleep_s"], a["awake_s"], a["sleep_efficiency_pct"]) == (0.0, 1800.0, 0.0)
    assert (a["sleep_onset_time"], a["sleep_latency_s"], a["waso_s"], a["awakenings"]) == (None, None, None, None)


def test_a_sense_night_is_in_bed_from_got_in_bed_to_got_out_of_bed(sense):
    n = night(sense, "2017-03-01")
    assert (n["device"], n["night"]) == ("sense", date(2017, 3, 1))
    assert (n["in_bed_time"], n["out_of_bed_time"]) == (at("07:00", date(2017, 3, 2)), at("09:35", date(2017, 3, 2)))
    assert n["time_in_bed_s"] == 9300.0
    assert n["utc_offset_s"] == -28800
    assert n["segments"] == 11


def test_sense_figures_follow_the_same_rules(sense):
    n = night(sense, "2017-03-01")
    d = date(2017, 3, 2)
    assert (n["sleep_onset_time"], n["wake_time"]) == (at("07:10", d), at("09:30", d))  # the LIGHT before FELL_ASLEEP
    assert n["sleep_latency_s"] == 600.0
    assert (n["light_s"], n["medium_s"], n["sound_s"]) == (600.0, 60 + 3600.0, 3540.0)  # the 0 s motion adds nothing
    assert n["awake_s"] == 60 + 540 + 600 + 60 + 240  # GOT_OUT_OF_BED starts as the time in bed ends
    assert n["total_sleep_s"] == 7800.0
    assert (n["waso_s"], n["awakenings"]) == (600.0, 1)
    assert n["sleep_efficiency_pct"] == pytest.approx(100 * 7800 / 9300)
    assert (n["restful_s"], n["restless_s"]) == (None, None)


def test_sense_device_figures_come_from_the_nights_metrics(sense):
    n = night(sense, "2017-03-01")
    d = date(2017, 3, 2)
    assert (n["device_total_sleep_s"], n["device_sleep_latency_s"], n["device_awakenings"]) == (7800.0, 1200.0, 1)
    assert (n["device_sleep_onset_time"], n["device_wake_time"]) == (at("07:20", d), at("09:30", d))
    assert (n["device_sound_sleep_s"], n["device_score"]) == (3540.0, 80)


def test_without_got_in_bed_a_sense_night_spans_its_segments(sense):
    n = night(sense, "2017-03-02")
    assert n["time_in_bed_s"] == 2400.0 and n["sleep_latency_s"] == 0.0
    assert (n["total_sleep_s"], n["waso_s"], n["awakenings"]) == (1800.0, 0.0, 0)  # the awake end is after wake
    assert n["sleep_efficiency_pct"] == 75.0


def test_a_sense_night_without_events_keeps_its_score_and_nothing_else(sense):
    n = night(sense, "2017-03-03")
    assert (n["segments"], n["device_score"], n["in_bed_time"], n["time_in_bed_s"]) == (0, 0, None, None)


def test_a_date_twice_in_one_response_is_one_night_its_last_copy_with_gaps_filled():
    """A v1 timeline array may hold two nights without dates, both filed under the URL's: one sleep_nights row
    (not one per pairing of the copies), the last copy with what it lacks from the one before, whatever the
    threads do (the scrub property found it picked by chance)."""
    copy = {"night": date(2017, 3, 2), "api_version": 1, "source_file": "c.har", "source_entry": 4}
    tables = {"sense_nights": frame("sense_nights", [copy | {"score": 4, "message": "first"},
                                                      copy | {"message": "second"}])}
    for _ in range(20):
        rows = sleep_nights.derive(tables).to_dicts()
        assert [(r["night"], r["device_score"], r["is_main_sleep"]) for r in rows] == [(date(2017, 3, 2), 4, True)]


def test_nights_of_different_participants_stay_apart():
    tables = {name: pl.concat([sense_tables("p1")[name], sense_tables("p2")[name]])
              for name in ("sense_nights", "sense_timeline_events", "sense_night_metrics")}
    df = sleep_nights.derive(tables)
    assert df.height == 6
    assert night(df, "2017-03-01", "p1")["total_sleep_s"] == night(df, "2017-03-01", "p2")["total_sleep_s"] == 7800


def test_a_night_keeps_the_provenance_of_its_source_record(band, sense):
    a, n = night(band, "A"), night(sense, "2017-03-01")
    assert (a["source_file"], a["source_entry"]) == ("a.har", 3)
    assert (n["source_file"], n["source_entry"], n["captured_at"]) == ("b.flow", 7, at("20:00", date(2017, 3, 2)))


def test_the_table_has_the_declared_schema_and_no_rows_without_sleep():
    df = sleep_nights.derive(band_tables() | sense_tables())
    assert df.schema == pl.Schema(SLEEP_NIGHTS.schema)
    assert df.height == 5
    assert derive({}) == {}


def test_a_run_writes_sleep_nights_with_its_tables_and_makes_it_anew_when_adding_files(tmp_path):
    out = tmp_path / "out"
    report = write(convert(collect_inputs([SAMPLES / "phone-sync.har"])), out)
    assert report["tables"]["sleep_nights"]["rows"] == 5  # two Band nights, three Sense nights
    assert "sleep_nights" in {r["name"] for r in json.loads((out / "datapackage.json").read_text())["resources"]}
    previous, files, _ = read_output(out)
    assert "sleep_nights" not in previous  # a view is never read back as input
    result, _ = update(collect_inputs([SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow"]), previous, files)
    both = result.tables["sleep_nights"]
    assert both.height == 6 and both.filter(pl.col("device") == "sense").height == 4


def test_time_two_segments_overlap_counts_once():
    """The 2014 v1 Sense timeline (reference `timeline_v1_2014.json`) sent 10-minute segments 5 minutes apart: summed
    as sent, its night slept 595 minutes of 535 in bed (efficiency 111 %). Each instant counts once, in the earlier
    segment."""
    d = date(2014, 9, 23)
    events = [  # (start, seconds, state) as that payload has them: overlapping, and one 5-minute gap
        ("05:35", 600, "SOUND"), ("05:40", 600, "LIGHT"), ("05:45", 600, "MEDIUM"), ("06:00", 600, "SOUND"),
    ]
    p = {"night": date(2014, 9, 22), "source_file": "t.har", "source_entry": 1}
    tables = {
        "sense_nights": frame("sense_nights", [p | {"score": 77, "api_version": 1}]),
        "sense_timeline_events": frame("sense_timeline_events", [
            p | {"event_type": "IN_BED", "time": at(start, d), "utc_offset_s": -25200, "duration_s": float(seconds),
                 "sleep_state": state}
            for start, seconds, state in events
        ]),
    }
    n = night(sleep_nights.derive(tables), "2014-09-22")
    assert n["time_in_bed_s"] == 2100.0  # 05:35 to 06:10
    assert (n["sound_s"], n["light_s"], n["medium_s"]) == (600 + 600.0, 300.0, 300.0)  # 05:35-45, 05:45-50, 05:50-55
    assert n["total_sleep_s"] == 1800.0  # 05:55 to 06:00 is a gap
    assert n["sleep_efficiency_pct"] == pytest.approx(100 * 1800 / 2100)
    hypnogram = sleep_nights.segments(tables).collect()
    assert hypnogram.select("start", "end", "stage").rows() == [
        (at("05:35", d), at("05:45", d), "sound"), (at("05:45", d), at("05:50", d), "light"),
        (at("05:50", d), at("05:55", d), "medium"), (at("06:00", d), at("06:10", d), "sound")]


def test_without_got_out_of_bed_a_sense_night_ends_at_woke_up_not_its_last_segment():
    """A v1 night sends no OUT_OF_BED, and its timeline goes on after WAKE_UP: the real 2015 night (reference
    `timeline_v1_with_statistics.json`) has 2 h 13 min of segments of depth 18-100 after it, while its own
    total_sleep (330 min) runs from SLEEP to WAKE_UP and its message says "in bed for 5.5 hours". Counted up to
    the last segment, the night slept 28,380 s of 28,440 in bed (efficiency 99.8 %, wake at 16:49)."""
    d = date(2015, 1, 21)
    events = [  # (type, start, seconds, state)
        ("GOT_IN_BED", "08:55", 60, "AWAKE"), ("IN_BED", "08:56", 600, "LIGHT"), ("FELL_ASLEEP", "09:06", 60, "LIGHT"),
        ("IN_BED", "09:07", 19740, "SOUND"), ("WOKE_UP", "14:36", 60, "AWAKE"), ("IN_BED", "14:37", 840, "MEDIUM"),
        ("IN_BED", "14:51", 900, "SOUND"), ("IN_BED", "15:06", 900, "LIGHT"),
    ]
    p = {"night": date(2015, 1, 20), "source_file": "t.har", "source_entry": 1}
    tables = {
        "sense_nights": frame("sense_nights", [p | {"score": 66, "api_version": 1}]),
        "sense_timeline_events": frame("sense_timeline_events", [
            p | {"event_type": kind, "time": at(start, d), "utc_offset_s": -28800, "duration_s": float(seconds),
                 "sleep_state": state}
            for kind, start, seconds, state in events
        ]),
    }
    n = night(sleep_nights.derive(tables), "2015-01-20")
    assert (n["in_bed_time"], n["wake_time"], n["out_of_bed_time"]) == (at("08:55", d), at("14:36", d), at("14:36", d))
    assert n["time_in_bed_s"] == 20460.0
    assert n["total_sleep_s"] == 20400.0  # 08:56 to 14:36
    assert n["sound_s"] == 19740.0 and n["medium_s"] == 0.0  # nothing after WOKE_UP
    assert n["sleep_efficiency_pct"] == pytest.approx(100 * 20400 / 20460)


def test_the_real_v1_night_sleeps_no_longer_than_it_was_in_bed_before_waking(reference):
    from converters.devices import sense as sense_device
    from test_devices import decode, load

    t = decode(sense_device.TIMELINE_V1, load(reference, "sense/timeline_v1_with_statistics.json"),
               {"date": "2015-01-20"})
    tables = {name: frame(name, rows) for name, rows in t.items() if name in TABLES}
    n = night(sleep_nights.derive(tables), "2015-01-20")
    d = date(2015, 1, 21)
    assert (n["wake_time"], n["out_of_bed_time"]) == (at("14:36", d), at("14:36", d))  # WAKE_UP; before: 16:49
    assert n["time_in_bed_s"] == 20460.0  # 08:55 (IN_BED) to 14:36; before: 28,440
    assert n["total_sleep_s"] <= n["time_in_bed_s"] and n["device_total_sleep_s"] == 19800.0


def test_a_band_night_without_a_day_id_is_filed_under_the_local_date_of_its_start_less_five_hours():
    """A sleep event with no DayId (a client that sent none) was a night of no date, and `databack report` failed on
    it with a traceback. It is filed as the API files one: the local date of its start less 5 hours (a sleep begun
    before 05:00 belongs to the evening before), in UTC where the offset is unknown."""
    tables = band_tables()
    undated = [  # (event, start, utc_offset_s, night)
        ("LATE", datetime(2015, 3, 2, 3, 0, tzinfo=UTC), 3600, date(2015, 3, 1)),  # 04:00 local: the evening before
        ("EARLY", datetime(2015, 3, 2, 21, 0, tzinfo=UTC), -3600, date(2015, 3, 2)),  # 20:00 local
        ("NO_OFFSET", datetime(2015, 3, 2, 4, 0, tzinfo=UTC), None, date(2015, 3, 1)),  # 04:00 UTC
        ("YEAR_1", datetime(1, 1, 1, 0, 10, tzinfo=UTC), None, date(1, 1, 1)),  # less 5 hours is no date: the start's
    ]
    tables["band_events"] = tables["band_events"].vstack(frame("band_events", [
        {"event_id": event, "event_type": "Sleeping", "start_time": start, "utc_offset_s": offset, "duration_s": 600.0}
        for event, start, offset, _ in undated]))
    nights = sleep_nights.derive(tables)
    assert {event: night(nights, event)["night"] for event, *_ in undated} == {e: n for e, *_, n in undated}
    assert night(nights, "A")["night"] == date(2015, 3, 1)  # a DayId is kept as sent


@pytest.mark.parametrize("seconds", [10**15, 10**20, -(10**15)])
def test_a_duration_of_no_representable_length_neither_fails_the_run_nor_writes_a_time_outside_years_1_to_9999(
        tmp_path, seconds):
    """A sleep event of 10**15 s (a 16-digit Duration) failed the whole convert with a polars traceback while
    deriving sleep_nights, nothing written; one starting 9999-12-31T23:00Z for 2 hours wrote +10000-01-01 into
    sleep_nights, which export omh then failed on. A time worked out from a start and durations is kept within years
    1 to 9999 in UTC, as every time read from a payload is, and report and export omh read the night."""
    from builders import entry, write_har
    from test_band_api import PRIVATE
    from typer.testing import CliRunner

    from converters.cli import app

    sequences = [{"SequenceId": "1", "SequenceType": "Sleep", "SleepType": "RestfulSleep",
                  "StartTime": "9999-12-31T23:30:00Z", "Duration": 7200}]
    events = {"value": [
        {"EventId": "1", "EventType": "Sleeping", "StartTime": "2016-01-01T23:00:00Z", "Duration": seconds},
        {"EventId": "2", "EventType": "Sleeping", "StartTime": "9999-12-31T23:00:00Z", "Duration": 7200,
         "DayId": "9999-12-31T00:00:00Z", "Sequences": sequences},
    ]}
    har = write_har(tmp_path / "edge.har", [entry(f"https://{PRIVATE}/v1/Events", events)])
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(app, ["convert", str(har), "-o", str(out)]).exit_code == 0
    nights = pl.read_parquet(out / "sleep_nights.parquet")
    times = [c for c, t in nights.schema.items() if isinstance(t, pl.Datetime)]
    bounds = nights.select(pl.min_horizontal(times).min().alias("first"), pl.max_horizontal(times).max().alias("last"))
    assert bounds.row(0) >= (datetime(1, 1, 1, tzinfo=UTC),) and bounds["last"][0] <= datetime.max.replace(tzinfo=UTC)
    assert night(nights, "2")["out_of_bed_time"] == datetime.max.replace(tzinfo=UTC)
    assert nights.to_dicts()  # every value a Python value (year 10000 is none)
    assert runner.invoke(app, ["report", str(out), "-o", str(tmp_path / "r.html")]).exit_code == 0
    assert runner.invoke(app, ["export", "omh", str(out), "-o", str(tmp_path / "omh")]).exit_code == 0


@pytest.mark.parametrize("times_awake", [-1e308, 1e19, 2.0])
def test_a_sense_times_awake_beyond_a_count_is_no_count_and_fails_nothing(times_awake):
    """A night's times_awake of -1e308 (any JSON number fits the schema there) failed the whole convert
    while deriving sleep_nights (polars' strict cast to an integer), nothing written. A figure no integer holds is
    null in device_awakenings; one that fits is kept."""
    tables = sense_tables()
    tables["sense_night_metrics"] = tables["sense_night_metrics"].filter(pl.col("name") != "times_awake").vstack(
        frame("sense_night_metrics", [{"night": date(2017, 3, 1), "name": "times_awake", "value": times_awake,
                                       "unit": "count"}]))
    awakenings = night(sleep_nights.derive(tables), "2017-03-01")["device_awakenings"]
    assert awakenings == (2 if times_awake == 2.0 else None)


def test_a_sense_nights_offset_is_its_first_events_that_sends_one():
    """A Sense night's utc_offset_s is its first event's; where that event sends none (a v1 LIGHTS_OUT without
    offset_millis, say) the night had none, and the report drew it and the export wrote it in UTC though every other
    event says -08:00. It is the offset of the first event that sends one."""
    d = date(2015, 1, 21)
    p = {"night": date(2015, 1, 20), "source_file": "t.har", "source_entry": 1}
    events = [("LIGHTS_OUT", "08:36", None, 900, "AWAKE"), ("GOT_IN_BED", "08:55", -28800, 60, "AWAKE"),
              ("IN_BED", "08:56", -28800, 3600, "LIGHT"), ("GOT_OUT_OF_BED", "09:56", -28800, 60, "AWAKE")]
    tables = {
        "sense_nights": frame("sense_nights", [p | {"score": 66, "api_version": 1}]),
        "sense_timeline_events": frame("sense_timeline_events", [
            p | {"event_type": kind, "time": at(start, d), "utc_offset_s": offset, "duration_s": float(seconds),
                 "sleep_state": state}
            for kind, start, offset, seconds, state in events
        ]),
    }
    assert night(sleep_nights.derive(tables), "2015-01-20")["utc_offset_s"] == -28800


def test_a_minute_the_band_measured_no_heart_rate_in_is_not_the_nights_lowest():
    """The Band sends 0 for a minute it measured no heart rate in (the real guidedworkout.json's minute: average,
    peak and lowest all 0); such a minute during sleep made the night's lowest heart rate 0 bpm and pulled its mean
    down (50, 0, 55: 35 bpm). The night's figures are of the minutes with a reading."""
    tables = band_tables()
    tables["band_minutes"] = pl.concat([tables["band_minutes"], frame("band_minutes", [
        {"event_id": "A", "time": at("24:30"), "hr_avg_bpm": 0.0}])])
    a = night(sleep_nights.derive(tables), "A")
    assert a["sleep_hr_lowest_bpm"] == 50.0
    assert a["sleep_hr_avg_bpm"] == pytest.approx((60 + 50 + 55) / 3)
