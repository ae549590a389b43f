"""`databack export omh`: every data point written is valid against the official Open mHealth / IEEE 1752.1 schemas
(offline, with jsonschema-rs), and says what the tables say."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from conftest import REFERENCE, REPO
from omh_schemas import OmhSchemas
from typer.testing import CliRunner

from converters.cli import app
from converters.export_omh import SCHEMAS, export
from converters.pipeline import collect_inputs, convert
from converters.writers import write

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


@pytest.fixture(scope="module")
def schemas() -> OmhSchemas:
    if not (REFERENCE / "omh").is_dir():
        pytest.skip("../shared/reference/omh (the official Open mHealth and IEEE 1752.1 schemas) is not present")
    return OmhSchemas(REFERENCE / "omh")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("out")
    write(convert(collect_inputs(SAMPLES)), out)
    folder = out.parent / "omh"
    return out, folder, export(out, folder)


def points(folder: Path, file_name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / file_name).read_text().splitlines()]


def body_of(folder: Path, file_name: str, source_data_point_id: str) -> dict:
    [point] = [p for p in points(folder, file_name)
               if p["header"]["acquisition_provenance"]["source_data_point_id"] == source_data_point_id]
    return point["body"]


def test_every_schema_gets_data_points_from_the_samples(exported):
    _, folder, counts = exported
    assert list(counts) == [s.file_name for s in SCHEMAS]
    assert sorted(p.name for p in folder.iterdir()) == sorted(counts)
    for name, n in counts.items():
        assert len(points(folder, name)) == n


def test_every_data_point_is_valid_against_the_official_schemas(exported, schemas):
    _, folder, counts = exported
    assert schemas.count > 100
    for name in counts:
        for i, point in enumerate(points(folder, name)):
            assert schemas.errors(point) == [], f"{name} line {i + 1}"
            sid = point["header"]["schema_id"]
            assert f"{sid['namespace']}-{sid['name']}-{sid['version']}.jsonl" == name


def test_the_validator_rejects_what_the_schemas_forbid(exported, schemas):
    _, folder, _ = exported
    point = points(folder, "omh-heart-rate-2.0.jsonl")[0]
    point["body"]["heart_rate"]["unit"] = "bpm"
    assert schemas.errors(point) == ['body at /heart_rate/unit: "bpm" is not one of "beats/min"']
    episode = points(folder, "ieee-sleep-stage-summary-1.0.jsonl")[0]
    episode["body"]["sleep_stage_episodes"][0]["sleep_stage_time_frame"]["time_interval"]["end_date_time"] = "07:00"
    assert schemas.errors(episode) != []
    del episode["header"]["schema_id"]
    assert schemas.errors(episode)[0].startswith("envelope: ")


def test_ids_are_unique_and_the_same_in_every_export(exported, tmp_path):
    out, folder, counts = exported
    ids = [p["header"]["id"] for name in counts for p in points(folder, name)]
    assert len(ids) == len(set(ids)) == sum(counts.values())
    assert all(uuid.UUID(i).version == 5 for i in ids)
    export(out, tmp_path)
    for name in counts:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_the_header_names_databack_the_device_the_source_record_and_its_capture(exported):
    _, folder, _ = exported
    header = points(folder, "omh-sleep-episode-1.1.jsonl")[0]["header"]
    assert header["acquisition_provenance"] == {
        "source_name": "Microsoft Band, through databack 0.1.0",
        "source_data_point_id": "sleep_nights/band/2519815145027789534",
        "modality": "sensed",
    }
    assert header["creation_date_time"] == "2017-03-03T15:31:58.078000+00:00"  # when the night was captured
    assert "user_id" not in header  # the samples were converted without a participant


def test_a_band_night_is_an_episode_from_sleep_onset_to_final_awakening(exported):
    _, folder, _ = exported
    body = body_of(folder, "omh-sleep-episode-1.1.jsonl", "sleep_nights/band/2519815145027789534")
    # onset 07:08:37, wake 13:12:37 (21,840 s), 21,240 s asleep; in bed from 06:51:37 to 13:22:37
    assert body == {
        "effective_time_frame": {"time_interval": {"start_date_time": "2015-01-09T07:08:37.221046+00:00",
                                                   "end_date_time": "2015-01-09T13:12:37.221046+00:00"}},
        "latency_to_sleep_onset": {"value": 1020.0, "unit": "sec"},
        "latency_to_arising": {"value": 600.0, "unit": "sec"},
        "total_sleep_time": {"value": 21240.0, "unit": "sec"},
        "wake_after_sleep_onset": {"value": 600.0, "unit": "sec"},
        "number_of_awakenings": 2,
        "is_main_sleep": True,
        "sleep_maintenance_efficiency_percentage": {"value": 97.253, "unit": "%"},
    }


def test_a_sense_night_keeps_the_wearers_local_time_and_its_stages(exported):
    _, folder, _ = exported
    body = body_of(folder, "ieee-sleep-stage-summary-1.0.jsonl", "sleep_nights/sense/2017-03-02")
    assert body["effective_time_frame"]["time_interval"]["start_date_time"] == "2017-03-02T23:00:00-08:00"
    summary = body["sleep_stage_summary"]
    assert summary["light_sleep_duration"]["value"] == 3120 + 12060  # light and medium
    assert summary["deep_sleep_duration"]["value"] == 10800  # sound
    # in bed and lights out (awake, a minute each) are one episode; light sleep, then medium (both light) another
    first, second, third = body["sleep_stage_episodes"][:3]
    assert first == {"sleep_stage_state": "Awake", "sleep_stage_time_frame": {"time_interval": {
        "start_date_time": "2017-03-02T22:58:00-08:00", "end_date_time": "2017-03-02T23:00:00-08:00"}}}
    assert second["sleep_stage_state"] == "Light_sleep"
    assert second["sleep_stage_time_frame"]["time_interval"]["end_date_time"] == "2017-03-03T00:00:00-08:00"
    assert third["sleep_stage_state"] == "Deep_sleep"
    states = [e["sleep_stage_state"] for e in body["sleep_stage_episodes"]]
    assert all(a != b for a, b in zip(states, states[1:]))


def test_heart_rate_per_minute_and_per_event_says_what_it_was_measured_during(exported):
    _, folder, _ = exported
    minute = body_of(folder, "omh-heart-rate-2.0.jsonl", "band_minutes/2519813080487285469/2015-01-11T16:12:00+00:00")
    assert minute == {"heart_rate": {"value": 99.0, "unit": "beats/min"},
                      "effective_time_frame": {"time_interval": {"start_date_time": "2015-01-11T16:12:00+00:00",
                                                                 "duration": {"value": 60, "unit": "sec"}}},
                      "descriptive_statistic": "average",
                      "temporal_relationship_to_physical_activity": "during exercise"}
    peak = body_of(folder, "omh-heart-rate-2.0.jsonl", "band_events/2519814259714906682/maximum")
    assert (peak["heart_rate"]["value"], peak["temporal_relationship_to_sleep"]) == (76.0, "during sleep")


def test_activities_steps_positions_and_temperatures_carry_their_units(exported):
    _, folder, _ = exported
    run = body_of(folder, "ieee-physical-activity-1.0.jsonl", "band_events/2519813080487285469")
    assert (run["activity_name"], run["distance"], run["kcal_burned"]) == (
        "Running", {"value": 5031.2, "unit": "m"}, {"value": 371.0, "unit": "kcal"})
    assert run["base_movement_quantity"] == {"value": 4947, "unit": "steps"}
    day = body_of(folder, "omh-step-count-3.0.jsonl", "band_daily_summaries/2015-01-05")
    assert day == {"step_count": {"value": 7911, "unit": "steps"}, "effective_time_frame": {"time_interval": {
        "start_date_time": "2015-01-05T00:00:00-08:00", "duration": {"value": 86400, "unit": "sec"}}}}  # local midnight
    start = body_of(folder, "omh-geoposition-1.0.jsonl", "band_map_points/2519813080487285469/0")
    assert (start["latitude"], start["longitude"]) == ({"value": 37.7687, "unit": "deg"},
                                                       {"value": -122.467, "unit": "deg"})
    temperatures = points(folder, "ieee-ambient-temperature-1.0.jsonl")
    assert all(p["body"]["ambient_temperature"]["unit"] == "C" for p in temperatures)


def test_the_command_writes_the_files_and_lists_them(exported, tmp_path):
    out, _, counts = exported
    result = CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"databack: {sum(counts.values())} data points in 8 files -> {tmp_path / 'x'}"
    assert lines[1].split() == ["written", "data", "points"]
    assert lines[2].split() == ["omh-sleep-episode-1.1.jsonl", "6"]
    assert len(lines) == 10


def test_the_command_refuses_a_folder_that_holds_no_run(tmp_path):
    result = CliRunner().invoke(app, ["export", "omh", str(tmp_path), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output == f"databack: not a databack output folder (no report.json): {tmp_path}\n"
    assert not (tmp_path / "x").exists()


def test_a_days_steps_of_one_device_and_of_the_account_are_two_data_points_with_their_own_ids(tmp_path):
    """band_daily_summaries holds a day's totals for the account and, asked for one device (device_filter), that
    device's: two records of one day. Their step counts were written under one id (the day alone named the record)
    and one source_data_point_id, so a consumer keeping points by id kept one of them."""
    from builders import entry, write_har
    from test_band_api import DAILY, PRIVATE

    daily = "/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',endDate='2019-03-10'{})"
    phone = {**DAILY, "value": [{**DAILY["value"][0], "StepsTaken": 2000}]}
    har = write_har(tmp_path / "devices.har", [
        entry(f"https://{PRIVATE}" + daily.format(""), DAILY, started="2017-03-03T07:31:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format(",deviceId='b7e1'"), phone, started="2017-03-03T07:32:00.000-08:00"),
    ])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    export(out, tmp_path / "omh")
    steps = points(tmp_path / "omh", "omh-step-count-3.0.jsonl")
    days = {p["header"]["acquisition_provenance"]["source_data_point_id"]: p for p in steps
            if p["header"]["acquisition_provenance"]["source_data_point_id"].startswith("band_daily_summaries/")}
    assert {k: p["body"]["step_count"]["value"] for k, p in days.items()} == {
        "band_daily_summaries/2019-03-10": 8123, "band_daily_summaries/2019-03-10/device=b7e1": 2000}
    assert len({p["header"]["id"] for p in days.values()}) == 2


def test_a_day_held_at_two_utc_offsets_is_one_data_point_the_newest_capture(tmp_path):
    """A date asked at two offsets (timeZoneUtcOffset) is two records of band_daily_summaries, the totals of two
    other 24 hours; the export's step count names the day by its date (and device), so it gives the day once, as it
    was last captured, rather than two points of one id."""
    from builders import entry, write_har
    from test_band_api import DAILY, PRIVATE

    daily = "/v2/UserDailySummary(timeZoneUtcOffset={},startDate='2019-03-10',endDate='2019-03-10')"
    pacific = {**DAILY, "value": [{**DAILY["value"][0], "TimeOfDay": "2019-03-10T08:00:00Z", "StepsTaken": 9100}]}
    har = write_har(tmp_path / "travel.har", [
        entry(f"https://{PRIVATE}" + daily.format(-480), pacific, started="2017-03-03T07:31:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format(60), DAILY, started="2017-03-03T07:32:00.000-08:00"),
    ])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    export(out, tmp_path / "omh")
    days = [p for p in points(tmp_path / "omh", "omh-step-count-3.0.jsonl")
            if p["header"]["acquisition_provenance"]["source_data_point_id"].startswith("band_daily_summaries/")]
    assert [(p["header"]["acquisition_provenance"]["source_data_point_id"], p["body"]["step_count"]["value"],
             p["body"]["effective_time_frame"]["time_interval"]["start_date_time"]) for p in days] == [
        ("band_daily_summaries/2019-03-10", 8123, "2019-03-10T00:00:00+01:00")]


def test_a_v1_and_a_v2_temperature_of_one_bucket_are_two_data_points_with_their_own_ids(tmp_path):
    """sense_sensor_samples holds a v1 and a v2 history of one bucket as two records (api_version); the export named
    a bucket by its resolution and time alone, so both points had one id."""
    from builders import entry, write_har

    t = 1488544200000
    v1 = {"temperature": [{"datetime": t, "value": 21.5, "offset_millis": -28800000}]}
    v2 = {"timestamps": [{"t": t, "o": -28800000}], "sensors": {"TEMPERATURE": [21.75]}}
    har = write_har(tmp_path / "room.har", [
        entry("https://api.hello.is/v1/room/all_sensors/24hours?from_utc=1488555000000", v1),
        entry("https://api.hello.is/v2/sensors", v2, method="POST", post='{"scope":"DAY_5_MINUTE"}'),
    ])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    export(out, tmp_path / "omh")
    buckets = {p["header"]["acquisition_provenance"]["source_data_point_id"]: p
               for p in points(tmp_path / "omh", "ieee-ambient-temperature-1.0.jsonl")}
    assert {k: p["body"]["ambient_temperature"]["value"] for k, p in buckets.items()} == {
        "sense_sensor_samples/300/2017-03-03T12:30:00+00:00/api=1": 21.5,
        "sense_sensor_samples/300/2017-03-03T12:30:00+00:00": 21.75}
    assert len({p["header"]["id"] for p in buckets.values()}) == 2


@pytest.mark.parametrize("fault", ["ENOSPC", "Ctrl-C"])
def test_an_export_stopped_midway_leaves_the_folder_as_an_earlier_export_left_it(exported, tmp_path, monkeypatch,
                                                                                  fault):
    """A full disk, or Ctrl-C, once some files are written: the folder holds the earlier export's files as they were
    (not some of this one's beside some of that one's), no part written, and one line says so."""
    import errno
    import os
    import signal

    import converters.export_omh as omh

    out, earlier, _ = exported
    folder = tmp_path / "omh"
    folder.mkdir()
    for p in earlier.iterdir():
        (folder / p.name).write_bytes(b"an earlier export's\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    data_point = omh._data_point
    written: list[str] = []

    def stopped_in_the_heart_rates(schema, source, body, run_time):
        if schema.name == "heart-rate":
            if fault == "Ctrl-C":
                os.kill(os.getpid(), signal.SIGINT)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(schema.file_name)
        return data_point(schema, source, body, run_time)

    monkeypatch.setattr(omh, "_data_point", stopped_in_the_heart_rates)
    result = CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(folder)])
    assert written  # files before it were written
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    if fault == "Ctrl-C":
        assert (result.exit_code, result.output) == (130, f"databack: interrupted; {folder} was left as it was\n")
    else:
        assert (result.exit_code, result.output) == (
            1, f"databack: cannot write into {folder}: No space left on device\n")


@pytest.mark.parametrize("fault", ["ENOSPC", "Ctrl-C"])
def test_an_export_stopped_midway_into_a_folder_it_made_leaves_no_folder(exported, tmp_path, monkeypatch, fault):
    import errno
    import os
    import signal

    import converters.export_omh as omh

    out, _, _ = exported
    given = tmp_path / "given"
    given.mkdir()
    data_point = omh._data_point

    def stopped_in_the_heart_rates(schema, source, body, run_time):
        if schema.name == "heart-rate":
            if fault == "Ctrl-C":
                os.kill(os.getpid(), signal.SIGINT)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return data_point(schema, source, body, run_time)

    monkeypatch.setattr(omh, "_data_point", stopped_in_the_heart_rates)
    for folder in (tmp_path / "new" / "omh", given):
        result = CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(folder)])
        assert result.exit_code == (130 if fault == "Ctrl-C" else 1), result.output
    assert not (tmp_path / "new").exists()  # the folder and its parent, both made by the export
    assert given.is_dir() and list(given.iterdir()) == []  # a folder given that was there stays


def test_an_export_removes_what_a_killed_export_left_half_written_and_nothing_else(exported, tmp_path):
    out, _, _ = exported
    folder = tmp_path / "omh"
    folder.mkdir()
    left = [folder / f".{SCHEMAS[0].file_name}.k2j4h5l6.tmp", folder / f".{SCHEMAS[3].file_name}.x8_3kq0a.tmp"]
    for p in left:
        p.write_bytes(b'{"header": {"id": "half a data point')
    (folder / ".my-notes.tmp").write_text("not databack's")
    (folder / ".other.jsonl.k2j4h5l6.tmp").write_text("not an export's")
    result = CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(folder)])
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in left)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".my-notes.tmp",
                                                                                   ".other.jsonl.k2j4h5l6.tmp"]


def test_an_activity_ending_past_year_9999_is_exported_by_its_start_and_duration(tmp_path):
    """A run starting 9999-12-31T23:00Z for 2 hours ends in year 10000, which Python's datetimes do not hold: export
    omh failed on it (OverflowError), every data point of the run lost. Its time frame is its start and duration, the
    other form an Open mHealth time interval takes, and a local time outside years 1 to 9999 is written in UTC."""
    from builders import entry, write_har
    from test_band_api import PRIVATE

    from converters.export_omh import stamp

    run = {"EventId": "1", "EventType": "Running", "StartTime": "9999-12-31T23:00:00Z", "Duration": 7200,
           "AverageHeartRate": 140}
    har = write_har(tmp_path / "late.har", [entry(f"https://{PRIVATE}/v1/Events", {"value": [run]})])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    export(out, tmp_path / "omh")
    [activity] = points(tmp_path / "omh", "ieee-physical-activity-1.0.jsonl")
    frame = {"time_interval": {"start_date_time": "9999-12-31T23:00:00+00:00",
                               "duration": {"value": 7200.0, "unit": "sec"}}}
    assert activity["body"]["effective_time_frame"] == frame
    [heart_rate] = points(tmp_path / "omh", "omh-heart-rate-2.0.jsonl")
    assert heart_rate["body"]["effective_time_frame"] == frame
    from datetime import UTC, datetime

    assert stamp(datetime(9999, 12, 31, 23, tzinfo=UTC), 14 * 3600) == "9999-12-31T23:00:00+00:00"
    assert stamp(datetime(1, 1, 1, 1, tzinfo=UTC), -2 * 3600) == "0001-01-01T01:00:00+00:00"
    assert stamp(datetime(2015, 3, 1, 23, tzinfo=UTC), 3600) == "2015-03-02T00:00:00+01:00"


def test_a_bucket_of_unknown_width_or_an_offset_rfc_3339_cannot_write_still_makes_a_valid_data_point(tmp_path, schemas):
    """A v2 sensor history captured without its request body (no scope) and of one timestamp has no bucket width
    (resolution_s null): its time frame was a duration of null seconds, which no schema takes; it is the bucket's
    start. An offset of whole seconds (+01:00:30, 3,630,000 ms) was written as such, which RFC 3339 has no form for
    (the date-time format refuses it): such a time is written in UTC, the same instant."""
    from datetime import datetime, timezone

    from builders import entry, write_har

    from converters.export_omh import stamp

    t = 1488550200000
    har = write_har(tmp_path / "room.har", [
        entry("https://api.hello.is/v2/sensors", {"timestamps": [{"t": t, "o": -28800000}],
                                                  "sensors": {"temperature": [21.5]}}, method="POST"),
        entry("https://api.hello.is/v2/sensors", {"timestamps": [{"t": t + 600_000, "o": 3630000}],
                                                  "sensors": {"temperature": [22.0]}}, method="POST",
              post='{"scope":"DAY_5_MINUTE"}'),
    ])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    export(out, tmp_path / "omh")
    found = points(tmp_path / "omh", "ieee-ambient-temperature-1.0.jsonl")
    assert [schemas.errors(p) for p in found] == [[], []]
    assert sorted((p["body"]["ambient_temperature"]["value"], p["body"]["effective_time_frame"]) for p in found) == [
        (21.5, {"date_time": "2017-03-03T06:10:00-08:00"}),
        (22.0, {"time_interval": {"start_date_time": "2017-03-03T14:20:00+00:00",
                                  "duration": {"value": 300, "unit": "sec"}}})]
    at = datetime(2017, 3, 3, 14, 20, tzinfo=timezone.utc)
    assert [stamp(at, offset) for offset in (86_400, -86_400, 20_700, None)] == [
        "2017-03-03T14:20:00+00:00", "2017-03-03T14:20:00+00:00", "2017-03-03T20:05:00+05:45",
        "2017-03-03T14:20:00+00:00"]


def test_a_heart_rate_of_0_the_band_sent_for_none_measured_is_no_data_point(tmp_path):
    """The real guidedworkout.json is a 14-second workout whose average, peak and lowest heart rate, and its one
    minute's, are 0: the Band measured none. The export wrote four heart-rate data points of 0 beats/min (the
    minute's average and the event's average, maximum and minimum); a rate of 0 is no data point. The other
    figures of the workout are exported as before."""
    from builders import entry, write_har

    if not (REFERENCE / "band-private").is_dir():
        pytest.skip("../shared/reference/band-private (the real Band payloads) is not present")
    payload = json.loads((REFERENCE / "band-private" / "guidedworkout.json").read_text())
    har = write_har(tmp_path / "workout.har", [
        entry("https://prodphswus.dns-cargo.com/v1/Events(eventType='Workout')?$expand=Sequences,Info", payload)])
    out = tmp_path / "out"
    write(convert(collect_inputs([har])), out)
    counts = export(out, tmp_path / "omh")
    assert "omh-heart-rate-2.0.jsonl" not in counts
    [activity] = points(tmp_path / "omh", "ieee-physical-activity-1.0.jsonl")
    assert activity["body"]["kcal_burned"] == {"value": 1.0, "unit": "kcal"}


def test_a_public_day_the_clocks_change_is_its_own_length_not_24_hours(tmp_path, schemas):
    """The public API writes a day's totals from the wearer's local midnight to the next (startTime, endTime: the
    recorded UTC+1 user's days start at 23:00Z); where the clocks change the day is 23 or 25 hours, which endTime
    says and duration (P1D) does not. endTime was dropped as derivable from startTime + duration, and the step count
    written over 24 hours, the 23-hour day overlapping the next by an hour. band_daily_summaries.duration_s keeps the
    day's length; a private day, cut at the request's fixed offset, is 24 hours."""
    from builders import entry, write_har
    from test_band_api import DAILY, PRIVATE, PUBLIC

    def day(start: str, end: str, steps: int) -> dict:
        return {"startTime": start, "endTime": end, "period": "Daily", "duration": "P1D", "stepsTaken": steps}

    london = {"summaries": [  # British Summer Time begins on 2015-03-29 at 01:00 GMT; ends on 2015-10-25
        day("2015-03-28T00:00:00.000+00:00", "2015-03-29T00:00:00.000+00:00", 5000),
        day("2015-03-29T00:00:00.000+00:00", "2015-03-29T23:00:00.000+00:00", 6000),
        day("2015-10-24T23:00:00.000+00:00", "2015-10-26T00:00:00.000+00:00", 7000)], "itemCount": 3}
    query = "startTime=2015-03-28T00%3A00%3A00.000%2B00%3A00&endTime=2015-10-27T00%3A00%3A00.000%2B00%3A00"
    har = write_har(tmp_path / "dst.har", [
        entry(f"https://{PUBLIC}/v1/me/Summaries/Daily?{query}", london, started="2015-11-01T09:00:00.000Z"),
        entry(f"https://{PRIVATE}/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',"
              "endDate='2019-03-10')", DAILY, started="2019-03-11T09:00:00.000Z"),
    ])
    out = tmp_path / "out"
    result = convert(collect_inputs([har]))
    lengths = dict(zip(result.tables["band_daily_summaries"]["day"].cast(str),
                       result.tables["band_daily_summaries"]["duration_s"]))
    assert lengths == {"2015-03-28": 86400.0, "2015-03-29": 82800.0, "2015-10-25": 90000.0, "2019-03-10": 86400.0}
    write(result, out)
    export(out, tmp_path / "omh")
    steps = points(tmp_path / "omh", "omh-step-count-3.0.jsonl")
    frames = {p["body"]["step_count"]["value"]: p["body"]["effective_time_frame"]["time_interval"] for p in steps}
    assert frames[6000] == {"start_date_time": "2015-03-29T00:00:00+00:00", "duration": {"value": 82800.0,
                                                                                         "unit": "sec"}}
    assert frames[7000]["duration"]["value"] == 90000.0 and frames[5000]["duration"]["value"] == 86400.0
    assert all(not schemas.errors(p) for p in steps)


def test_text_an_older_databack_left_in_outs_tables_is_exported_as_this_policy_writes_it(tmp_path):
    """`export omh` read OUT's tables as they were: an OUT written before a rule (or before the policy) keeps a
    token or `password=…` in a Band event's type, which the export wrote as the activity's name. The tables' text
    passes the device tables' policy (`redaction.strict_frame`) where the export reads them, as report.html reads
    them; text this policy wrote is exported as it was."""
    import polars as pl

    out = tmp_path / "old"
    write(convert(collect_inputs(SAMPLES[:1])), out)
    token = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvbGRlci1vbWgiLCJpYXQiOjE0ODg1NTQ3MDB9"
             ".q8GMXG_4Hnj0xwB71WXxSFpovWrVYgU6ndBecuaefwE")
    events = pl.read_parquet(out / "band_events.parquet")
    events.with_columns(pl.when(pl.col("event_type") == "Running").then(
        pl.lit(f"Running {token} password=Tr0ub4dor-omh")).otherwise(pl.col("event_type")).alias("event_type")
    ).write_parquet(out / "band_events.parquet")
    export(out, tmp_path / "omh")
    texts = "".join(p.read_text() for p in (tmp_path / "omh").iterdir())
    assert token[:20] not in texts and "Tr0ub4dor" not in texts
    activities = [p["body"]["activity_name"] for p in points(tmp_path / "omh", "ieee-physical-activity-1.0.jsonl")]
    assert "Running REDACTED password=REDACTED" in activities


def _infinite_public_duration() -> tuple[str, dict]:
    body = json.loads((REFERENCE / "band-public" / "one_activity.json").read_text())
    body["duration"] = "P" + "9" * 400 + "D"  # (the schema's pattern takes any number of digits)
    return "https://api.microsofthealth.net/v1/me/Activities/" + str(body["id"]), body


def _infinite_private_duration() -> tuple[str, dict]:
    from builders import BAND_EVENTS_URL, band_event

    body = band_event()
    body["value"][0]["Info"][0]["TotalDistance"] = "1" + "0" * 400  # an OData Int64 written as text: 401 digits
    return BAND_EVENTS_URL, body


@pytest.mark.parametrize("capture", [_infinite_public_duration, _infinite_private_duration])
def test_a_number_of_more_digits_than_a_float_holds_rejects_its_exchange_and_makes_no_invalid_data_point(
        tmp_path, schemas, capture):
    """Before: text of 309 digits or more (a public activity's ISO duration `P999…9D`, a private event's minute's
    distance as text) was read by float() as infinity, kept in the tables (band_events.duration_s), and export omh
    wrote the activity's physical-activity and heart-rate data points with a duration of null, invalid against the
    official schemas. Such a number raises as an integer too big for 64 bits does: its exchange is a reject saying
    so."""
    from builders import entry, write_har

    url, body = capture()
    har = write_har(tmp_path / "a.har", [entry(url, body)])
    result = convert(collect_inputs([har]))
    (reject,) = result.tables["rejects"].to_dicts()
    assert "more than a float holds" in reject["reason"] or "longer than a float holds" in reject["reason"]
    assert "band_events" not in result.tables or result.tables["band_events"].height == 0
    write(result, tmp_path / "out")
    export(tmp_path / "out", tmp_path / "omh")
    for path in (tmp_path / "omh").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            assert schemas.errors(json.loads(line)) == []


def beside_an_earlier_export(folder: Path, earlier: Path) -> Path:
    """`folder` holding an earlier export's files (other bytes than `earlier`'s) and a file of the user's."""
    folder.mkdir()
    for p in earlier.iterdir():
        (folder / p.name).write_bytes(b"an earlier export's\n")
    (folder / "ieee-old-schema-0.1.jsonl").write_bytes(b"the user's\n")
    return folder


@pytest.mark.parametrize("fault", ["EIO", "Ctrl-C"])
def test_an_export_stopped_while_its_files_take_their_names_leaves_all_or_none_of_them(exported, tmp_path,
                                                                                       monkeypatch, fault):
    """Once every file is written, they take their names one rename each: a rename failing (an I/O error) or Ctrl-C
    between two left some files of this export beside the earlier export's others (and, for Ctrl-C, said 'left as
    it was'). Now a failed rename puts the earlier files back, and Ctrl-C waits for the renames and says so."""
    import errno
    import os
    import signal

    out, earlier, _ = exported
    folder = beside_an_earlier_export(tmp_path / "omh", earlier)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    after = {p.name: p.read_bytes() for p in earlier.iterdir()} | {"ieee-old-schema-0.1.jsonl": b"the user's\n"}
    replace, renamed = os.replace, []

    def failing(src, dst, *args, **kwargs):
        if Path(dst).parent == folder and not Path(dst).name.startswith("."):
            renamed.append(dst)
            if len(renamed) == 3:
                if fault == "Ctrl-C":
                    os.kill(os.getpid(), signal.SIGINT)
                else:
                    raise OSError(errno.EIO, os.strerror(errno.EIO))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    result = CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(folder)])
    monkeypatch.undo()
    assert len(renamed) >= 3
    left = {p.name: p.read_bytes() for p in folder.iterdir()}
    if fault == "Ctrl-C":
        assert left == after
        assert all(p.stat().st_mode & 0o044 for p in folder.iterdir())  # readable as any output, not private
        assert (result.exit_code, result.output) == (130, f"databack: interrupted; {folder} holds the new export\n")
    else:
        assert left == before
        assert (result.exit_code, result.output) == (1, f"databack: cannot write into {folder}: Input/output error\n")


KILLED_AT_THIRD_RENAME = """
import os, signal, sys
folder, replace, renamed = sys.argv[1], os.replace, []
def killing(src, dst, *args, **kwargs):
    if os.path.dirname(str(dst)) == folder and not os.path.basename(str(dst)).startswith("."):
        renamed.append(dst)
        if len(renamed) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
    return replace(src, dst, *args, **kwargs)
os.replace = killing
sys.argv = ["databack", "export", "omh", sys.argv[2], "-o", folder]
from converters.cli import main
main()
"""


def test_an_export_killed_while_its_files_take_their_names_is_finished_by_the_next_export_there(exported, tmp_path):
    """Killed (SIGKILL, the OOM killer) among its renames, an export left some of its files beside the earlier
    export's others, and the next export into the folder did not put that right: one that stopped before its own
    renames (an OUT it cannot read) left the mix for good. The renames are journaled: the next export there makes
    those left first, and says so."""
    import subprocess
    import sys

    out, earlier, _ = exported
    folder = beside_an_earlier_export(tmp_path / "omh", earlier)
    after = {p.name: p.read_bytes() for p in earlier.iterdir()} | {"ieee-old-schema-0.1.jsonl": b"the user's\n"}
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_THIRD_RENAME, str(folder), str(out)], capture_output=True)
    assert killed.returncode == -9, killed.stderr
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "report.json").write_text("{")
    result = CliRunner().invoke(app, ["export", "omh", str(unreadable), "-o", str(folder)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (f"databack: repaired {folder}: finished an export that was stopped "
                                             f"({len(earlier_files := list(earlier.iterdir())) - 2} of "
                                             f"{len(earlier_files)} files were left to move)")
    assert {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")} == after
    assert CliRunner().invoke(app, ["export", "omh", str(out), "-o", str(folder)]).exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == after  # nothing of the killed export's left


@pytest.mark.parametrize("made", ["a link", "a named pipe", "damaged"])
def test_an_export_journal_that_is_no_journal_is_dropped_never_followed_nor_waited_on(exported, tmp_path, made):
    import os
    import subprocess
    import sys

    out, earlier, _ = exported
    folder = tmp_path / "omh"
    folder.mkdir()
    journal = folder / ".databack-files.json"
    if made == "a link":
        (tmp_path / "notes.txt").write_text("the user's\n")
        journal.symlink_to(tmp_path / "notes.txt")
    elif made == "a named pipe":
        os.mkfifo(journal)
    else:
        journal.write_text('{"version": 1, "replace": [["../notes.txt", "x"]]')
    try:
        run = subprocess.run([sys.executable, "-m", "converters", "export", "omh", str(out), "-o", str(folder)],
                             capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the journal was followed or waited on")
    assert run.returncode == 0, run.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {p.name: p.read_bytes() for p in earlier.iterdir()}
    assert made != "a link" or (tmp_path / "notes.txt").read_text() == "the user's\n"
