"""The measured values real payloads carry, and the wearer's UTC offsets, reach the tables in their units."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from conftest import REFERENCE

from converters.devices import band, band_public, sense
from converters.devices.base import Request, row_by_row
from converters.tables import TABLES
from converters.validation import schema_problem


def decode(endpoint, payload, path_params=None, query=None, captured_at=None) -> dict[str, list[dict]]:
    assert schema_problem(endpoint.schema, payload) is None
    out: dict[str, list[dict]] = {}
    request = Request(path_params or {}, query or {}, None, captured_at)
    for table, row in row_by_row(endpoint.decode(payload, request)):
        out.setdefault(table, []).append(dict.fromkeys(TABLES[table].row_schema) | row)
    return out


def load(reference, name):
    return orjson.loads((reference / name).read_bytes())


def test_private_run_keeps_zones_recovery_vo2_stress_balance_splits_and_feeling(reference):
    t = decode(band.EVENTS, load(reference, "band-private/run.json"))
    (run,) = t["band_events"]
    assert (run["hr_zone_healthy_heart_s"], run["hr_zone_anaerobic_s"], run["hr_zone_over_s"]) == (25 * 60, 120, 0)
    assert (run["recovery_hr_1min_bpm"], run["recovery_hr_2min_bpm"], run["finish_hr_bpm"]) == (70, 0, 101)
    assert (run["vo2max_ml_kg_min"], run["stress_balance"]) == (0.0, 50.0)
    assert run["training_effect"] == 2.1  # 2.0999999046325684: a float32 2.1
    assert (run["split_length_m"], run["waypoint_distance_m"]) == (1000.0, 25.0)  # 1 km splits, GPS every 25 m
    assert (run["feeling"], run["analysis_status"], run["flags"], run["delivery_id"]) == ("Unknown", "Successful", 1, 0)
    assert run["parent_event_id"] is None  # "0"
    assert run["utc_offset_s"] is None  # the private API writes UTC and no offset
    splits = sorted(t["band_sequences"], key=lambda s: s["sequence_order"])
    assert [s["split_distance_m"] for s in splits] == [1000.5, 999.96, 366.56]
    assert [s["overall_pace_s_per_km"] for s in splits] == [812.413, 786.999, 773.482]
    assert [s["actual_distance_m"] for s in splits] == [1000.5, 2000.46, 2367.02]
    assert {s["paused_s"] for s in splits} == {0}
    assert splits[0]["hr_zone_healthy_heart_s"] == 8 * 60 and splits[0]["training_effect"] == 1.7
    assert (splits[0]["calories_from_carbs_kcal"], splits[0]["stress_balance"]) == (0, 50.0)
    assert splits[0]["hr_zone_classification"] is None and splits[0]["analysis_status"] == "Successful"
    assert {s["location_blob"] for s in splits} == {"00000000-0000-0000-0000-000000000000"}
    points = t["band_map_points"]
    assert sum(p["actual_distance_m"] != p["distance_m"] for p in points) == 43  # of 98
    start = next(p for p in points if p["point_type"] == "Start")
    assert (start["scaled_pace"], start["is_resume"]) == (100, False)
    assert {p["split_ordinal"] for p in points if p["point_type"] == "Split"} == {0, 1}
    assert {p["split_ordinal"] for p in points if p["point_type"] != "Split"} == {None}
    minute = next(m for m in t["band_minutes"])
    assert (minute["uv_exposure_s"], minute["day_classification"], minute["itcal"]) == (0, "None", 0)


def test_private_workout_keeps_recovery_at_two_minutes(reference):
    (workout,) = decode(band.EVENTS, load(reference, "band-private/workout.json"))["band_events"]
    assert (workout["recovery_hr_1min_bpm"], workout["recovery_hr_2min_bpm"]) == (109, 93)
    assert (workout["hr_zone_aerobic_s"], workout["hr_zone_anaerobic_s"]) == (8 * 60, 13 * 60)
    assert (workout["calories_from_carbs_kcal"], workout["calories_from_fat_kcal"]) == (170, 174)


def test_public_activities_keep_recovery_zones_split_length_waypoints_and_their_offsets(reference):
    t = decode(band_public.ACTIVITIES, load(reference, "band-public/activities.json"))
    run = next(e for e in t["band_events"] if e["event_type"] == "Running")
    payload = load(reference, "band-public/activities.json")["runActivities"][0]
    perf = payload["performanceSummary"]
    assert run["recovery_hr_1min_bpm"] == perf["recoveryHeartRateAt1Minute"]
    assert run["hr_zone_under_s"] == perf["heartRateZones"]["underAerobic"] * 60  # the deprecated name
    assert run["split_length_m"] == payload["splitDistance"] / 100
    assert run["waypoint_distance_m"] == payload["distanceSummary"]["waypointDistance"] / 100
    assert {e["utc_offset_s"] for e in t["band_events"]} == {None}  # +00:00: the service's UTC, no zone


def test_public_activities_written_at_utc_name_no_wearer_offset_and_another_offset_is_kept(reference):
    """The recorded user's activities (July 2015) are written +00:00 while their daily summaries start at
    23:00+00:00, local midnight of UTC+1, and their hourly ones are written +01:00: the service wrote activities in
    UTC, so +00:00 is not the wearer's offset (it was kept as 0, and sleep_nights, the report and export omh drew
    the nights an hour early as local time). Events, segments, minutes and GPS points alike; an offset other than
    +00:00 is the one the time was written in."""
    payload = load(reference, "band-public/one_activity.json")
    t = decode(band_public.ACTIVITIES, payload)
    assert {r["utc_offset_s"] for table in ("band_events", "band_sequences", "band_minutes")
            for r in t[table]} == {None}
    days = decode(band_public.SUMMARIES, load(reference, "band-public/summary_day.json"),
                  {"period": "Daily"})["band_daily_summaries"]
    assert {d["utc_offset_s"] for d in days} == {3600}  # the same user's days: UTC+1
    shifted = json.loads(json.dumps(payload).replace("+00:00", "+05:45"))
    t = decode(band_public.ACTIVITIES, shifted)
    assert {r["utc_offset_s"] for table in ("band_events", "band_sequences", "band_minutes")
            for r in t[table]} == {20700}


def test_public_hourly_summaries_keep_the_offset_the_request_asked_in(reference):
    rows = decode(band_public.SUMMARIES, load(reference, "band-public/hourly_summary.json"),
                  {"period": "Hourly"})["band_hourly_summaries"]
    assert {r["utc_offset_s"] for r in rows} == {3600}  # "2015-06-27T23:00:00.000+01:00"


def test_public_daily_summaries_take_the_offset_of_their_local_midnight(reference):
    rows = decode(band_public.SUMMARIES, load(reference, "band-public/summary_day.json"),
                  {"period": "Daily"})["band_daily_summaries"]
    first = rows[0]
    assert (first["day"], first["utc_offset_s"]) == (date(2015, 7, 31), 3600)  # 23:00 UTC is midnight at UTC+1


def test_public_end_times_are_start_plus_duration_plus_pause_on_every_real_record(reference):
    """endTime is dropped as derivable: check that it is, exactly, on every record of every real payload."""
    checked = 0
    for name in ("activities.json", "one_activity.json", "summary_day.json", "hourly_summary.json"):
        stack = [load(reference, f"band-public/{name}")]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "startTime" in node and "endTime" in node:
                    start, end = (datetime.fromisoformat(node[k]) for k in ("startTime", "endTime"))
                    length = (band_public.duration_s(node.get("duration")) or 0) + (
                        band_public.duration_s(node.get("pausedDuration")) or 0)
                    assert end - start == timedelta(seconds=length), node
                    checked += 1
                stack += node.values()
            elif isinstance(node, list):
                stack += node
    assert checked == 66


def test_private_daily_summaries_keep_the_requests_offset_zones_max_hr_and_sources():
    payload = {"value": [{"TimeOfDay": "2015-01-11T08:00:00Z", "StepsTaken": 10,
                          "DailyHeartRateZones": {"Under": 1300, "HealthyHeart": 40, "MaxHr": 191},
                          "SourceDevices": [{"SensorType": "Steps", "DeviceGroups": [
                              {"DeviceIds": ["A", "B"], "DeviceMetadataHint": "Band", "SourceType": "Band"}]}]}]}
    (day,) = decode(band.DAILY_SUMMARIES, payload, {"args": "timeZoneUtcOffset=-480,startDate='2015-01-11'"})[
        "band_daily_summaries"]
    assert (day["day"], day["utc_offset_s"]) == (date(2015, 1, 11), -8 * 3600)
    assert (day["hr_zone_healthy_heart_s"], day["max_hr_bpm"]) == (2400, 191)
    assert day["source_devices"] == "Steps:Band/Band=A+B"
    (alone,) = decode(band.DAILY_SUMMARIES, payload)["band_daily_summaries"]  # no offset in the URL
    assert alone["utc_offset_s"] == -8 * 3600  # 08:00 UTC is the nearest midnight at UTC-8


def test_private_hourly_summaries_take_the_offset_of_the_filter_bounds():
    payload = {"value": [{"TimeOfDay": "2015-01-11T08:00:00Z", "StepsTaken": 3}]}
    query = {"$filter": "TimeOfDay ge datetimeoffset'2015-01-11T00:00:00-08:00' and "
                        "TimeOfDay lt datetimeoffset'2015-01-12T00:00:00-08:00'"}
    (hour,) = decode(band.HOURLY_SUMMARIES, payload, query=query)["band_hourly_summaries"]
    assert hour["utc_offset_s"] == -8 * 3600
    (bare,) = decode(band.HOURLY_SUMMARIES, payload)["band_hourly_summaries"]
    assert bare["utc_offset_s"] is None


def test_a_private_hour_written_at_an_offset_keeps_it_where_no_filter_names_one():
    """Before: a private hourly summary's offset came from the $filter bounds alone, so an hour whose TimeOfDay was
    written at -03:30 (the schema takes an offset) in a request without such a filter lost it. Where the filter
    names none, the hour's own written offset is kept (UTC names none); the filter's still wins."""
    payload = {"value": [{"TimeOfDay": "2015-01-11T04:30:00-03:30", "StepsTaken": 3},
                         {"TimeOfDay": "2015-01-11T09:00:00+00:00", "StepsTaken": 4}]}
    rows = decode(band.HOURLY_SUMMARIES, payload)["band_hourly_summaries"]
    assert [r["utc_offset_s"] for r in rows] == [-(3 * 3600 + 1800), None]


def test_sense_v2_sensors_keep_each_sensors_name_and_scale(reference):
    t = decode(sense.SENSORS_CURRENT, load(reference, "sense/get_sensors_v2.json"),
               captured_at=datetime(2017, 4, 20, tzinfo=UTC))
    noise = next(r for r in t["sense_room_readings"] if r["sensor"] == "sound")
    assert noise["sensor_name"] == "Noise"
    particulates = next(r for r in t["sense_room_readings"] if r["sensor"] == "particulates")
    assert particulates["unit"] == "mg_cm"  # MG_CM as the real payload sends it
    scales = [s for s in t["sense_sensor_scales"] if s["sensor"] == "temperature"]
    assert [(s["position"], s["name"], s["min_value"], s["max_value"], s["condition"]) for s in scales[:2]] == [
        (0, "Cold", None, 9.99, "ALERT"), (1, "Cool", 10.0, 14.99, "WARNING")]
    assert {s["unit"] for s in scales} == {"celsius"}


def test_sense_v2_scale_bounds_in_fahrenheit_are_converted():
    payload = {"sensors": [{"type": "TEMPERATURE", "unit": "FAHRENHEIT", "value": 68.0,
                            "scale": [{"name": "Ideal", "min": 59.0, "max": 68.0, "condition": "IDEAL"}]}]}
    t = decode(sense.SENSORS_CURRENT, payload)
    assert t["sense_room_readings"][0]["value"] == 20.0
    assert [(s["min_value"], s["max_value"], s["unit"]) for s in t["sense_sensor_scales"]] == [(15.0, 20.0, "celsius")]


def test_sense_v1_trends_keep_the_graphs_options(reference):
    rows = decode(sense.TRENDS_V1, load(reference, "sense/all_trends.json"))["sense_trends"]
    assert {r["options"] for r in rows if r["graph_type"] == "TIME_SERIES_LINE"} == {"1W,2W,1M,3M,ALL"}
    assert {r["options"] for r in rows if r["graph_type"] == "HISTOGRAM"} == {None}


def test_sense_v1_segments_keep_their_ids_sounds_and_room_readings(reference):
    t = decode(sense.TIMELINE_V1, load(reference, "sense/timeline_v1_with_statistics.json"))
    ids = [e["segment_id"] for e in t["sense_timeline_events"]]
    assert len(set(ids)) == len(ids) and None not in ids
    payload = [{"date": "2015-01-20", "segments": [{
        "id": 7, "timestamp": 1421823720000, "offset_millis": -28800000, "duration": 60, "sleep_depth": 40,
        "event_type": "NOISE", "sensors": [{"name": "temperature", "value": 21, "unit": "CELCIUS"}],
        "sound": {"url": "https://example.invalid/x.mp3?sig=secret", "duration_millis": 4500, "is_empty": False}}]}]
    t = decode(sense.TIMELINE_V1, payload)
    (event,) = t["sense_timeline_events"]
    assert (event["segment_id"], event["sound_duration_s"], event["sound_empty"]) == (7, 4.5, False)
    assert "secret" not in str(t)  # the signed link is not kept
    (reading,) = t["sense_room_readings"]
    assert (reading["sensor"], reading["value"], reading["unit"], reading["time"]) == (
        "temperature", 21.0, "celsius", 1421823720000 * 1000)


def test_sense_v1_statistics_of_an_unknown_name_are_kept_as_sent():
    payload = [{"date": "2015-01-20", "statistics": {"total_sleep": 330, "motion_score": 12}}]
    metrics = {m["name"]: m for m in decode(sense.TIMELINE_V1, payload)["sense_night_metrics"]}
    assert (metrics["total_sleep"]["value"], metrics["total_sleep"]["unit"]) == (330 * 60, "s")
    assert (metrics["motion_score"]["value"], metrics["motion_score"]["unit"]) == (12, None)


def test_sense_v2_events_and_nights_keep_periods_and_actions():
    payload = {"date": "2017-04-20", "sleep_periods": ["NIGHT"], "locked_down": False, "events": [
        {"timestamp": 1492700000000, "timezone_offset": -25200000, "event_type": "WOKE_UP", "sleep_period": "NIGHT",
         "valid_actions": ["ADJUST_TIME", "VERIFY"]}]}
    t = decode(sense.TIMELINE_V2, payload)
    assert (t["sense_nights"][0]["sleep_periods"], t["sense_nights"][0]["locked_down"]) == ("NIGHT", False)
    event = t["sense_timeline_events"][0]
    assert (event["sleep_period"], event["valid_actions"]) == ("NIGHT", "ADJUST_TIME,VERIFY")


@pytest.mark.parametrize("value, expected", [(2.0999999046325684, 2.1), (1.2000000476837158, 1.2), (50.0, 50.0),
                                             (0.1, 0.1), (None, None), (3, 3.0)])
def test_float32_values_are_kept_at_their_precision(value, expected):
    assert band.single(value) == expected


@pytest.mark.parametrize("where", ["event", "minute", "minute of a long array", "public activity"])
def test_a_fraction_in_an_integer_field_rejects_its_exchange_not_cut_to_the_integer_below(tmp_path, where):
    """Before: a number with a fraction in a field an integer column keeps (a private event's StepsTaken 12.7, a
    minute's, in an array long enough to be made by columns or not, a public activity's numberOfWakeups) was cut to
    12 by int() (and by polars' cast), without a word. Such a value now rejects its exchange, saying which it was;
    a whole number written as a float (146.0) is that integer."""
    import copy

    from builders import BAND_EVENTS_URL, band_event, entry, write_har

    from converters.pipeline import collect_inputs, convert

    def capture(value):
        if where == "public activity":
            body = json.loads((REFERENCE / "band-public" / "one_activity.json").read_text())
            body["numberOfWakeups"] = value
            return "https://api.microsofthealth.net/v1/me/Activities/" + str(body["id"]), body
        body = band_event()
        event = body["value"][0]
        if where == "event":
            event["StepsTaken"] = value
        else:
            minutes = 1 if where == "minute" else 300
            event["Info"] = [{"TimeOfDay": f"2015-01-12T{7 + m // 60:02}:{m % 60:02}:00Z", "StepsTaken": 146,
                              "TotalDistance": 11906} for m in range(minutes)]
            event["Info"][minutes // 2]["StepsTaken"] = value
        return BAND_EVENTS_URL, copy.deepcopy(body)

    for value, kept in ((12.7, None), (146.0, 146)):
        har = write_har(tmp_path / f"{value}.har", [entry(*capture(value))])
        result = convert(collect_inputs([har]))
        if kept is None:
            (reject,) = result.tables["rejects"].to_dicts()
            assert "12.7" in reject["reason"] and "fraction" in reject["reason"]
        else:
            assert "rejects" not in result.tables or result.tables["rejects"].height == 0
            table = "band_minutes" if "minute" in where else "band_events"
            column = "wakeups" if where == "public activity" else "steps"
            assert kept in result.tables[table][column].to_list()


@pytest.mark.parametrize("offset", ["+05:45", "-03:30", "+13:45", "Z", "+00:00"])
@pytest.mark.parametrize("items", [1, 300])
def test_a_private_time_written_at_an_offset_keeps_it_in_every_band_table(tmp_path, offset, items):
    """Before: band.py set every private row's utc_offset_s to None ('the private API writes UTC'), so a private
    event, its sequences, minutes and GPS points written at +05:45 (the schema's pattern takes an offset) lost the
    wearer's offset: the local time the source gave was in no column. A private time keeps the offset it was written
    with, as a public one does; UTC (Z or +00:00) names none."""
    from builders import BAND_EVENTS_URL, band_event, entry, write_har

    from converters.pipeline import collect_inputs, convert

    body = band_event()
    event = body["value"][0]
    event["StartTime"] = "2015-01-12T06:43:56.9908271" + offset
    event["Info"] = [{"TimeOfDay": f"2015-01-12T{7 + m // 60:02}:{m % 60:02}:00{offset}", "StepsTaken": m}
                     for m in range(items)]
    event["Sequences"] = [{"SequenceId": str(n), "StartTime": f"2015-01-12T07:{n % 60:02}:00{offset}", "Duration": 60,
                           "Order": n} for n in range(items)]
    event["MapPoints"] = [{"MapPointOrdinal": n, "SecondsSinceStart": n} for n in range(items)]
    result = convert(collect_inputs([write_har(tmp_path / "a.har", [entry(BAND_EVENTS_URL, body)])]))
    assert "rejects" not in result.tables
    expected = None if offset in ("Z", "+00:00") else (
        datetime.fromisoformat("2015-01-12T00:00:00" + offset).utcoffset() // timedelta(seconds=1))
    for table in ("band_events", "band_sequences", "band_minutes", "band_map_points"):
        assert result.tables[table]["utc_offset_s"].to_list() == [expected] * result.tables[table].height, table
    assert result.tables["band_minutes"].height == items
