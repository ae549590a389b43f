"""More of the Band: private daily/hourly summaries, golf/hike/guided-workout fields, and the public Microsoft Health
Cloud API (activities, summaries, devices) into the same Band tables, one event whichever API it came through."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import orjson
import polars as pl
import pytest
from builders import band_event, entry, write_har
from conftest import REFERENCE

from converters import devices
from converters.pipeline import Input, convert
from converters.devices import band, band_public
from converters.devices.base import Request, datetime_us, row_by_row
from converters.tables import TABLES
from converters.validation import schema_problem

PRIVATE = "prodphsweu.dns-cargo.com"
PUBLIC = "api.microsofthealth.net"


def endpoint(host: str, method: str, path: str) -> str | None:
    m = devices.match(host, method, path)
    return None if m is None else (m.endpoint.name if m.endpoint else "undecoded")


def utc(*args) -> int:
    """A UTC time as decoders give it: epoch microseconds."""
    return datetime_us(datetime(*args, tzinfo=UTC))


def decode(ep, payload, path_params=None):
    """Rows per table, after checking the payload fits the endpoint's schema and no row has a column its table lacks
    (provenance aside); a column a row leaves out is null, as in the table."""
    assert schema_problem(ep.schema, payload) is None
    out: dict[str, list] = {}
    for table, row in row_by_row(ep.decode(payload, Request(path_params or {}, {}, None, None))):
        assert set(row) <= set(TABLES[table].row_schema), table  # a column left out is null; none misnamed
        out.setdefault(table, []).append(dict.fromkeys(TABLES[table].row_schema) | row)
    return out


def load(reference, name):
    return orjson.loads((reference / "band-public" / name).read_bytes())


def event_id(start: datetime) -> str:
    """The Band event id of a start time: 3155378975999999999 minus the start in .NET ticks (BAND-API.md)."""
    return str(3155378975999999999 - (621355968000000000 + datetime_us(start) * 10))


# --- routes ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, method, path, expected",
    [
        # private summaries: Windows/iOS quote raw, Android percent-encodes (and quotes the offset too)
        (PRIVATE, "GET", "/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',endDate='2019-03-17')",
         "band/daily-summaries"),
        ("prodphseus.dns-cargo.com", "GET",
         "/v2/UserDailySummary(timeZoneUtcOffset=%27-480%27,startDate=%272015-01-05%27,endDate=%272015-01-11%27)",
         "band/daily-summaries"),
        (PRIVATE, "GET", "/v2/userdailysummary", "band/daily-summaries"),
        (PRIVATE, "GET", "/v2/UserHourlySummary(period='h')", "band/hourly-summaries"),
        (PRIVATE, "GET", "/v2/UserHourlySummary(period=%27h%27,deviceId=%27f00%27)", "band/hourly-summaries"),
        (PRIVATE, "GET", "/v1/UserActivities(period='h')", "band/hourly-summaries"),
        (PRIVATE, "POST", "/v2/UserDailySummary(startDate='2019-03-10')", "undecoded"),
        (PRIVATE, "GET", "/v1/Insights", "undecoded"),  # the catalogue of insight definitions
        (PRIVATE, "GET", "/v1/RaisedInsights(DataUsed='Steps',Timespan='Week',Scope='Global')", "band/raised-insights"),
        (PRIVATE, "GET", "/v1/RaisedInsights(DataUsed=%27Calories%27,Timespan=%27Day%27,scope=%27Global%27)",
         "band/raised-insights"),
        (PRIVATE, "GET", "/v1/RaisedInsights", "band/raised-insights"),
        (PRIVATE, "PUT", "/v1/RaisedInsights(raisedInsightId=7,acknowledged=true)", "undecoded"),  # no body
        (PRIVATE, "GET", "/v1/Events(eventType='Golf')", "band/events"),
        (PRIVATE, "GET", "/v1/Events(eventType='Hike')", "band/events"),
        # public API: paths case-insensitive
        (PUBLIC, "GET", "/v1/me/Activities", "band-public/activities"),
        (PUBLIC, "GET", "/V1/me/Activities", "band-public/activities"),
        (PUBLIC, "GET", "/v1/ME/activities/2519647921241112976", "band-public/activities"),
        (PUBLIC, "GET", "/v1/me/Activities/", "band-public/activities"),
        (PUBLIC, "GET", "/v1/me/Summaries/Hourly", "band-public/summaries"),
        (PUBLIC, "GET", "/V1/me/Summaries/Daily", "band-public/summaries"),
        (PUBLIC, "GET", "/v1/me/summaries/daily", "band-public/summaries"),
        (PUBLIC, "GET", "/v1/me/Summaries/Weekly", "undecoded"),
        (PUBLIC, "GET", "/v1/me/Devices", "band-public/devices"),
        (PUBLIC, "GET", "/v1/me/Devices/FFFF1700-FFFF-FFFF-8529-454E11000210", "band-public/devices"),
        (PUBLIC, "GET", "/v1/me/Profile", "undecoded"),  # personal data without a table
        (PUBLIC, "POST", "/v1/me/Activities", "undecoded"),
        ("API.MicrosoftHealth.net", "GET", "/v1/me/Devices", "band-public/devices"),
        ("microsofthealth.net", "GET", "/v1/me/Devices", None),
    ],
)
def test_routes(host, method, path, expected):
    assert endpoint(host, method, path) == expected


def test_odata_arguments_reach_the_decoder_percent_decoded():
    m = devices.match(PRIVATE, "GET", "/v2/UserDailySummary(timeZoneUtcOffset=%2760%27,startDate=%272019-03-10%27)")
    assert band.odata_args(m.path_params["args"]) == {"timezoneutcoffset": "60", "startdate": "2019-03-10"}
    assert devices.match(PRIVATE, "GET", "/v2/UserHourlySummary").path_params == {"args": None}


def test_a_next_page_url_is_the_same_route():
    """`nextPage` is absolute, with the port, `/V1/` and a `ct=` continuation (BAND-API.md B.1)."""
    url = (
        "https://api.microsofthealth.net:443/V1/me/Summaries/Hourly?startTime=2015-06-27T00%3A00%3A00.000%2B01%3A00"
        "&endTime=2015-06-29T00%3A00%3A00.000%2B01%3A00&ct=635727744000000000"
    )
    parts = urlsplit(url)
    m = devices.match(parts.hostname, "GET", parts.path)
    assert m.endpoint is band_public.SUMMARIES and m.path_params == {"period": "Hourly"}


# --- the real public payloads ------------------------------------------------------------------------------------


REAL = {  # every file in ../shared/reference/band-public: endpoint, path parameters
    "activities.json": (band_public.ACTIVITIES, {}),
    "one_activity.json": (band_public.ACTIVITIES, {}),
    "summary_day.json": (band_public.SUMMARIES, {"period": "Daily"}),
    "hourly_summary.json": (band_public.SUMMARIES, {"period": "Hourly"}),
    "devices.json": (band_public.DEVICES, {}),
    "wrong_request.json": (None, {}),  # an error body: no endpoint takes it
    "swagger_cloudapi_v1.json": (None, {}),  # the spec: checked against the mappings below
}


def test_every_reference_file_is_covered(reference):
    assert sorted(p.name for p in (reference / "band-public").iterdir()) == sorted(REAL)


@pytest.mark.parametrize("name", [n for n, (ep, _) in REAL.items() if ep is not None])
def test_every_real_payload_fits_its_schema_and_decodes(reference, name):
    ep, params = REAL[name]
    t = decode(ep, load(reference, name), params)
    assert sum(map(len, t.values())) > 0


def test_public_activities_collection(reference):
    events = {e["event_id"]: e for e in decode(band_public.ACTIVITIES, load(reference, "activities.json"))["band_events"]}
    assert len(events) == 7 and Counter(e["event_type"] for e in events.values()) == {"Sleeping": 6, "Running": 1}
    assert {e["api"] for e in events.values()} == {"public"}
    run = events["2519647921241112976"]
    # startTime ...55.888+00:00, to the µs its id names (...55.8887023 in ticks)
    assert run["start_time"] == utc(2015, 7, 21, 19, 57, 55, 888702) and run["day_id"] == date(2015, 7, 21)
    assert run["duration_s"] == 26 * 60 + 18  # PT26M18S
    assert run["distance_m"] == pytest.approx(3177.90)  # 317790 cm
    assert run["actual_distance_m"] == pytest.approx(3177.90)
    assert run["pace_s_per_km"] == pytest.approx(496.588)  # 496588 ms/km = 1578 s / 3.1779 km
    assert run["pace_s_per_km"] * run["distance_m"] / 1000 == pytest.approx(run["duration_s"], abs=1)
    assert (run["calories_kcal"], run["finish_hr_bpm"]) == (193, 97)
    assert (run["hr_avg_bpm"], run["hr_peak_bpm"], run["hr_low_bpm"]) == (124, 156, 80)
    assert run["paused_s"] is None and run["steps"] is None  # left out: null, not 0

    sleep = events["2519647754070120053"]
    assert sleep["duration_s"] == 8 * 3600 + 27 * 60 + 53  # PT8H27M53S
    assert (sleep["sleep_s"], sleep["awake_s"]) == (7 * 3600 + 35 * 60 + 1, 52 * 60 + 52)
    # fallAsleepTime ...57.987+00:00: its start to the µs its id names (...32.9879946 in ticks) + fallAsleepDuration
    assert sleep["fall_asleep_time"] == utc(2015, 7, 22, 0, 42, 57, 987994)
    assert sleep["wake_up_time"] == utc(2015, 7, 22, 9, 1, 58, 237000)
    assert (sleep["wakeups"], sleep["sleep_efficiency_pct"], sleep["resting_hr_bpm"]) == (5, 91, 50)
    assert sleep["day_id"] == date(2015, 7, 21)  # the night of the 21st, though it started after midnight (UTC)
    sleeps = [e for e in events.values() if e["event_type"] == "Sleeping"]
    # the API's own arithmetic (B.3); one night has 1185 s that are neither sleep nor awake
    assert sum(e["sleep_s"] + e["awake_s"] == e["duration_s"] for e in sleeps) == 5
    for e in sleeps:
        assert e["sleep_s"] + e["awake_s"] <= e["duration_s"]
        assert e["restful_sleep_s"] + e["restless_sleep_s"] == e["sleep_s"]
        assert e["fall_asleep_time"] - e["start_time"] == e["time_to_fall_asleep_s"] * 1_000_000
    assert events["2519664313057773273"]["wakeups"] is None  # numberOfWakeups left out: null


def test_public_activity_ids_are_private_event_ids(reference):
    """Both APIs name an event by the same id: the start time in reverse .NET ticks (to the public API's ms)."""
    for name in ("activities.json", "one_activity.json"):
        for e in decode(band_public.ACTIVITIES, load(reference, name))["band_events"]:
            ticks = 3155378975999999999 - int(e["event_id"])
            assert (ticks - 621355968000000000) // 10_000 == e["start_time"] // 1000


def test_public_bare_activity_with_segments_and_minutes(reference):
    t = decode(band_public.ACTIVITIES, load(reference, "one_activity.json"))
    (event,) = t["band_events"]
    assert event["event_id"] == "2519647921241112976" and event["event_type"] == "Running"
    first, second = sorted(t["band_sequences"], key=lambda s: s["sequence_order"])
    assert first["sequence_id"] == "635731054758887023"  # a 64-bit JSON number, kept exact
    assert int(first["sequence_id"]) == 3155378975999999999 - int(event["event_id"])  # the event's start ticks
    assert (first["sequence_type"], first["duration_s"], first["start_time"]) == (
        "Running",
        12 * 60 + 43,
        utc(2015, 7, 21, 19, 57, 55, 888702),  # startTime ...55.888, to the µs its segmentId's ticks name
    )
    assert first["calories_kcal"] is None and second["calories_kcal"] == 193  # left out: null
    assert (first["hr_avg_bpm"], first["hr_peak_bpm"], first["hr_low_bpm"]) == (119, 141, 80)
    minutes = {m["time"]: m for m in t["band_minutes"]}
    assert len(minutes) == 27
    m = minutes[utc(2015, 7, 21, 20, 22)]
    assert (m["steps"], m["calories_kcal"], m["hr_avg_bpm"]) == (110, 10, 108)
    assert m["distance_m"] == pytest.approx(101.66) and m["distance_on_foot_m"] == pytest.approx(101.66)
    assert minutes[utc(2015, 7, 21, 20, 23)]["calories_kcal"] is None  # {"period": "Minute"}: null, not 0
    assert minutes[utc(2015, 7, 21, 19, 57)]["distance_m"] == 0  # a 0 the API sent stays 0


def test_public_daily_summaries(reference):
    rows = decode(band_public.SUMMARIES, load(reference, "summary_day.json"), {"period": "Daily"})
    days = {r["day"]: r for r in rows["band_daily_summaries"]}
    # "2015-07-30T23:00:00.000+00:00" is local midnight of a UTC+1 user: the 31st
    assert sorted(days) == [date(2015, 7, d) for d in range(27, 32)]
    d = days[date(2015, 7, 31)]
    assert d["start_time"] == utc(2015, 7, 30, 23) and d["api"] == "public"
    assert d["steps"] == 0  # sent as 0
    assert d["calories_kcal"] is None and d["hr_avg_bpm"] is None and d["distance_m"] is None  # left out


def test_public_hourly_summaries_are_utc(reference):
    rows = decode(band_public.SUMMARIES, load(reference, "hourly_summary.json"), {"period": "Hourly"})
    hours = {r["time"]: r for r in rows["band_hourly_summaries"]}
    assert len(hours) == 24
    h = hours[utc(2015, 6, 27, 22)]  # "2015-06-27T23:00:00.000+01:00"
    assert (h["calories_kcal"], h["steps"], h["hr_avg_bpm"], h["api"]) == (81, 0, None, "public")
    assert all(t % 3_600_000_000 == 0 for t in hours)


def test_public_summaries_saved_without_their_url(reference):
    """A response saved by hand has no path: the period comes from each summary."""
    for name, table in (("summary_day.json", "band_daily_summaries"), ("hourly_summary.json", "band_hourly_summaries")):
        payload = load(reference, name)
        assert decode(band_public.SUMMARIES, payload).keys() == {table}
        for s in payload["summaries"]:
            del s["period"]
        assert decode(band_public.SUMMARIES, payload).keys() == {table}  # by duration: P1D, PT1H
    weekly = {"summaries": [{"startTime": "2015-07-27T00:00:00+01:00", "period": "Weekly", "duration": "P7D"}]}
    with pytest.raises(ValueError, match="only Hourly and Daily"):
        decode(band_public.SUMMARIES, weekly)


def test_public_devices(reference):
    (d,) = decode(band_public.DEVICES, load(reference, "devices.json"))["band_devices"]
    assert d["device_id"] == "FFFF1700-FFFF-FFFF-8529-454E11000210"
    assert d["device_family"] == "Band" and d["display_name"] is None  # "" means not set


def test_public_device_shapes():
    profile = {
        "id": "d1",
        "displayName": "My Band",
        "deviceFamily": "Band",
        "hardwareVersion": "26",
        "softwareVersion": "10.3.3304.0",
        "lastSuccessfulSync": "2015-07-30T20:15:00.000-07:00",
    }
    for payload in (profile, [profile], {"deviceProfiles": [profile], "itemCount": 1}):
        (d,) = decode(band_public.DEVICES, payload)["band_devices"]
        assert d["last_successful_sync"] == utc(2015, 7, 31, 3, 15) and d["display_name"] == "My Band"
        assert (d["hardware_version"], d["software_version"]) == ("26", "10.3.3304.0")


def test_the_error_body_is_no_endpoints_data(reference):
    body = load(reference, "wrong_request.json")
    for ep in (band_public.ACTIVITIES, band_public.SUMMARIES, band_public.DEVICES):
        assert schema_problem(ep.schema, body) is not None


def test_the_error_body_counts_as_an_http_error_or_a_reject(reference, tmp_path):
    body = load(reference, "wrong_request.json")
    url = "https://api.microsofthealth.net/v1/me/Summaries/Daily?deviceIds=nope"
    har = write_har(tmp_path / "e.har", [entry(url, body, status=400), entry(url, body)])
    result = convert([Input(har, "e.har", True)])
    (f,) = result.files
    assert dict(f.http_errors) == {"400": 1} and f.rejects == 1 and not f.device_responses
    (reject,) = result.tables["rejects"].to_dicts()
    assert reject["endpoint"] == "band-public/summaries"
    assert reject["reason"].startswith("does not match schema band-public-summaries.json")


def test_the_mappings_follow_the_swagger(reference):
    spec = load(reference, "swagger_cloudapi_v1.json")["definitions"]
    collections = [k for k, v in spec["ActivitiesResponse"]["properties"].items() if v.get("type") == "array"]
    assert all(c.endswith("Activities") for c in collections)  # every list named so is read (hikeActivities too)
    activity_types = spec["Activity"]["properties"]["activityType"]["enum"]
    assert set(band_public.EVENT_TYPES) - {"Hike"} <= set(activity_types)
    assert set(band_public.SEQUENCE_TYPES) <= set(spec["RunSegment"]["properties"]["segmentType"]["enum"])
    assert set(band_public.POINT_TYPES) <= set(spec["MapPoint"]["properties"]["mapPointType"]["enum"])
    zone_names = {n for names in band_public.PUBLIC_HR_ZONES.values() for n in names}
    assert zone_names == set(spec["HeartRateZones"]["properties"])
    gps = spec["GPSPoint"]["properties"]
    assert "10^7" in gps["latitude"]["description"] and "m * 100" in gps["elevationFromMeanSeaLevel"]["description"]
    assert "minutes" in spec["SleepSegment"]["properties"]["sleepTime"]["description"]


# --- public shapes the recordings lack (built from the Swagger) --------------------------------------------------


def test_public_hike_with_gps_points_and_sleep_segments():
    start = datetime(2016, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)
    payload = {
        "hikeActivities": [
            {
                "id": event_id(start),
                "activityType": "Hike",
                "startTime": "2016-05-01T10:00:00.500+02:00",
                "dayId": "2016-05-01T00:00:00.000+00:00",
                "duration": "PT2H5M",
                "pausedDuration": "PT4M30S",
                "distanceSummary": {"totalDistance": 812345, "elevationGain": 45000, "maxElevation": 152300},
                "mapPoints": [
                    {
                        "ordinal": 3,
                        "secondsSinceStart": 90,
                        "mapPointType": "Waypoint",
                        "totalDistance": 25000,
                        "speed": 150,
                        "pace": 666667,
                        "isPaused": False,
                        "location": {
                            "latitude": 476205000,
                            "longitude": -1223493000,
                            "elevationFromMeanSeaLevel": 5620,
                            "estimatedHorizontalError": 300,
                            "estimatedVerticalError": 450,
                        },
                    }
                ],
            }
        ],
        "sleepActivities": [
            {
                "id": "2519647754070120053",
                "activityType": "Sleep",
                "startTime": "2015-07-22T00:36:32.987+00:00",
                "activitySegments": [
                    {
                        "segmentId": 635733045929870000,
                        "startTime": "2015-07-22T00:36:32.987+00:00",
                        "duration": "PT10M",
                        "segmentType": "Doze",
                        "sleepType": "RestlessSleep",
                        "sleepTime": 7,
                    }
                ],
            }
        ],
        "itemCount": 2,
    }
    t = decode(band_public.ACTIVITIES, payload)
    hike = next(e for e in t["band_events"] if e["event_type"] == "Hike")
    assert hike["start_time"] == datetime_us(start) and hike["duration_s"] == 7500 and hike["paused_s"] == 270
    assert hike["distance_m"] == pytest.approx(8123.45) and hike["altitude_gain_m"] == 450
    assert hike["max_altitude_m"] == 1523
    (p,) = t["band_map_points"]
    assert p["point_type"] == "WayPoint" and p["time"] == datetime_us(start) + 90_000_000
    assert p["latitude_deg"] == pytest.approx(47.6205) and p["longitude_deg"] == pytest.approx(-122.3493)
    assert (p["altitude_m"], p["horizontal_error_m"], p["vertical_error_m"]) == (56.2, 3.0, 4.5)
    assert (p["speed_m_s"], p["distance_m"]) == (1.5, 250) and p["pace_s_per_km"] == pytest.approx(666.667)
    (s,) = t["band_sequences"]
    assert (s["sequence_type"], s["sleep_type"], s["sleep_s"], s["duration_s"]) == ("Dozing", "RestlessSleep", 420, 600)


def test_public_golf_and_guided_workout_fields():
    payload = {
        "golfActivities": [
            {
                "id": "2519000000000000001",
                "activityType": "Golf",
                "startTime": "2015-08-01T15:00:00.000+00:00",
                "totalStepCount": 9120,
                "totalDistanceWalked": 650000,
                "parOrBetterCount": 3,
                "longestDriveDistance": 21500,
            }
        ],
        "guidedWorkoutActivities": [
            {
                "id": "2519000000000000002",
                "activityType": "GuidedWorkout",
                "startTime": "2015-08-02T07:00:00.000+00:00",
                "workoutPlanId": "plan-7",
                "roundsPerformed": 3,
                "repetitionsPerformed": 45,
                "performanceSummary": {"finishHeartRate": 150, "heartRateZones": {"aerobic": 12}},
            }
        ],
    }
    events = {e["event_type"]: e for e in decode(band_public.ACTIVITIES, payload)["band_events"]}
    golf, guided = events["Golf"], events["GuidedWorkout"]
    assert (golf["steps"], golf["distance_m"], golf["golf_par_or_better_holes"]) == (9120, 6500, 3)
    assert golf["golf_longest_drive_m"] == 215 and golf["golf_score"] is None  # the public API has no score
    assert (guided["workout_plan_id"], guided["rounds"], guided["repetitions"]) == ("plan-7", 3, 45)
    assert guided["finish_hr_bpm"] == 150


def test_iso_durations():
    d = band_public.duration_s
    assert (d("PT8H27M53S"), d("PT9H37M"), d("PT1M"), d("P1D"), d("PT0.5S"), d("P1DT1H")) == (
        30473, 34620, 60, 86400, 0.5, 90000
    )
    assert d(None) is None and d("PT0S") == 0
    for bad in ("P", "PT", "P1DT", "P1Y", "1:00:00", "PT1H2"):
        with pytest.raises(ValueError):
            d(bad)
        assert schema_problem(band_public.SUMMARIES.schema, {"summaries": [{"startTime": "2015-07-30T23:00:00Z",
                                                                            "uvExposure": bad}]}) is not None


# --- private summaries -------------------------------------------------------------------------------------------


DAILY = {
    "odata.metadata": f"https://{PRIVATE}/v2/$metadata#UserDailySummary",
    "value": [
        {
            "TimeOfDay": "2019-03-09T23:00:00Z",
            "DayClassification": "None",
            "StepsTaken": 8123,
            "CaloriesBurned": 2450,
            "UvExposure": 15,
            "Location": None,
            "PeakHeartRate": 171,
            "LowestHeartRate": 48,
            "AverageHeartRate": 72,
            "DailyHeartRateZones": {
                "Under": 600,
                "HealthyHeart": 30,
                "FitnessZone": 10,
                "Aerobic": 5,
                "Anaerobic": 2,
                "RedLine": 1,
                "Over": 0,
                "MaxHr": 190,
            },
            "TotalDistance": 612345,
            "TotalDistanceOnFoot": "600000",
            "NumberOfActiveHours": 9,
            "FloorsClimbed": 12,
            "CardioScore": 1800,
            "IntenseCardioSeconds": 300,
            "SourceDevices": [{"SensorType": "Steps", "DeviceGroups": [{"DeviceIds": ["x"], "SourceType": "Band"}]}],
        }
    ],
}


def test_private_daily_summary_units():
    (d,) = decode(band.DAILY_SUMMARIES, DAILY, {"args": "timeZoneUtcOffset=60,startDate='2019-03-10'"})[
        "band_daily_summaries"
    ]
    assert d["day"] == date(2019, 3, 10) and d["start_time"] == utc(2019, 3, 9, 23) and d["api"] == "private"
    assert (d["steps"], d["calories_kcal"], d["floors_climbed"], d["active_hours"]) == (8123, 2450, 12, 9)
    assert (d["hr_avg_bpm"], d["hr_peak_bpm"], d["hr_low_bpm"]) == (72, 171, 48)
    assert d["distance_m"] == pytest.approx(6123.45) and d["distance_on_foot_m"] == 6000  # cm, one as a string
    assert d["uv_exposure_s"] == 15 * 60  # minutes
    assert (d["cardio_s"], d["intense_cardio_s"]) == (1800, 300)
    zones = {k: v for k, v in d.items() if k.startswith("hr_zone_")}
    assert zones == {
        "hr_zone_under_s": 36000,
        "hr_zone_healthy_heart_s": 1800,
        "hr_zone_fitness_s": 600,
        "hr_zone_aerobic_s": 300,
        "hr_zone_anaerobic_s": 120,
        "hr_zone_redline_s": 60,
        "hr_zone_over_s": 0,
    }


@pytest.mark.parametrize(
    "time_of_day, args, day",
    [
        ("2019-03-09T23:00:00Z", "timeZoneUtcOffset=60", date(2019, 3, 10)),  # UTC instant of local midnight
        ("2019-03-10T08:00:00Z", "timeZoneUtcOffset='-480'", date(2019, 3, 10)),
        ("2019-03-10T00:00:00Z", "timeZoneUtcOffset=-480", date(2019, 3, 10)),  # a DayId-style date
        ("2019-03-10T00:00:00+01:00", "timeZoneUtcOffset=60", date(2019, 3, 10)),
        ("2019-03-10T00:00:00Z", None, date(2019, 3, 10)),
        ("2019-03-09T23:00:00Z", None, date(2019, 3, 10)),  # no offset known: the nearest midnight
        ("2019-03-10T08:00:00Z", None, date(2019, 3, 10)),
    ],
)
def test_private_daily_summary_local_day(time_of_day, args, day):
    payload = {"value": [{"TimeOfDay": time_of_day, "StepsTaken": 1}]}
    (d,) = decode(band.DAILY_SUMMARIES, payload, {"args": args})["band_daily_summaries"]
    assert d["day"] == day
    assert d["hr_zone_under_s"] is None and d["cardio_s"] is None  # not sent: null


def test_private_hourly_summaries_v2_and_v1():
    payload = {
        "value": [
            {
                "TimeOfDay": "2015-01-12T07:00:00Z",
                "DayClassification": "None",
                "ActivityLevel": "Inactive",
                "StepsTaken": 1460,
                "CaloriesBurned": 96,
                "UvExposure": 0,
                "PeakHeartRate": 106,
                "LowestHeartRate": 61,
                "AverageHeartRate": 78,
                "TotalDistance": "119060",
                "TotalDistanceOnFoot": "119060",
                "FloorsClimbed": 2,
                "ItCal": 0,
            }
        ]
    }
    for path in ("/v2/UserHourlySummary(period='h')", "/v1/UserActivities(period=%27h%27)"):
        m = devices.match(PRIVATE, "GET", path)
        (h,) = decode(m.endpoint, payload, m.path_params)["band_hourly_summaries"]
        assert h["time"] == utc(2015, 1, 12, 7) and h["api"] == "private"
        assert (h["steps"], h["calories_kcal"], h["floors_climbed"], h["uv_exposure_s"]) == (1460, 96, 2, 0)
        assert h["distance_m"] == pytest.approx(1190.6) and h["activity_level"] == "Inactive"


def test_private_summaries_refuse_other_periods_and_shapes():
    with pytest.raises(ValueError, match="not hourly"):
        list(band.HOURLY_SUMMARIES.decode({"value": []}, Request({"args": "period='d'"}, {}, None, None)))
    assert schema_problem(band.DAILY_SUMMARIES.schema, {"value": [{"StepsTaken": 1}]}).startswith("at /value/0")
    assert schema_problem(band.HOURLY_SUMMARIES.schema, [{"TimeOfDay": "2015-01-12T07:00:00Z"}]) is not None
    assert schema_problem(band.HOURLY_SUMMARIES.schema, {"value": [{"TimeOfDay": "x"}]}) is not None


# --- private golf, hike and guided workouts ------------------------------------------------------------------------


def test_private_golf_hike_and_guided_workout_events():
    payload = {
        "value": [
            {
                "odata.type": "Microsoft.Khronos.Cloud.Ods.Data.Entities.GolfEventDTO",
                "EventId": "2519000000000000001",
                "EventType": "Golf",
                "StartTime": "2015-08-01T15:00:00Z",
                "CourseName": "Pebble",
                "TotalScore": 92,
                "ParForHolesPlayed": 72,
                "TotalHolesPlayed": 18,
                "ParOrBetterCount": 3,
                "LongestDriveInCm": 21500,
                "TotalDistanceWalkedInCm": 650000,
                "TotalStepCount": 9120,
                "Sequences": [{"SequenceId": "635740452000000000", "Order": 1, "SequenceType": "GolfHole",
                               "HoleNumber": 1, "UserScore": 5, "StartTime": "2015-08-01T15:00:00Z"}],
            },
            {
                "odata.type": "Microsoft.Khronos.Cloud.Ods.Data.TransferObjects.Event.Hike.HikeEventDTO",
                "EventId": "2519000000000000003",
                "EventType": "Hike",
                "StartTime": "2016-05-01T08:00:00Z",
                "TotalDistance": 812345,
                "TotalAltitudeGain": 45000,
                "MaxAltitude": 152300,
                "MapPoints": [{"MapPointOrdinal": 0, "SecondsSinceStart": 0, "MapPointType": "Start",
                               "Location": {"Latitude": 476205000, "Longitude": -1223493000}}],
            },
            {
                "EventId": "2519000000000000002",
                "EventType": "GuidedWorkout",
                "StartTime": "2015-08-02T07:00:00Z",
                "WorkoutPlanId": "plan-7",
                "RoundsPerformed": 3,
                "RepetitionsPerformed": 45,
            },
        ]
    }
    t = decode(band.EVENTS, payload)
    events = {e["event_type"]: e for e in t["band_events"]}
    golf, hike, guided = events["Golf"], events["Hike"], events["GuidedWorkout"]
    assert (golf["golf_score"], golf["golf_par"], golf["golf_holes_played"]) == (92, 72, 18)
    assert (golf["golf_par_or_better_holes"], golf["golf_longest_drive_m"]) == (3, 215)
    assert (golf["steps"], golf["distance_m"]) == (9120, 6500)  # TotalStepCount, TotalDistanceWalkedInCm
    assert (hike["distance_m"], hike["altitude_gain_m"], hike["max_altitude_m"]) == (8123.45, 450, 1523)
    assert (guided["workout_plan_id"], guided["rounds"], guided["repetitions"]) == ("plan-7", 3, 45)
    assert [s["sequence_type"] for s in t["band_sequences"]] == ["GolfHole"]
    assert [p["point_type"] for p in t["band_map_points"]] == ["Start"]


# --- one event through both APIs -------------------------------------------------------------------------------


RUN_START = datetime(2015, 7, 21, 19, 57, 55, 888000, tzinfo=UTC)
RUN_ID = event_id(RUN_START)


def private_run() -> dict:
    return {
        "odata.metadata": f"https://{PRIVATE}/v1/$metadata#Events",
        "value": [
            {
                "EventId": RUN_ID,
                "EventType": "Running",
                "Name": "Lunch run",
                "StartTime": "2015-07-21T19:57:55.8880000Z",
                "DayId": "2015-07-21T00:00:00Z",
                "Duration": 1578,
                "PausedTime": 60,
                "TotalDistance": 317790,
                "ActualDistance": 317790,
                "CaloriesBurned": 193,
                "AverageHeartRate": 124,
                "PeakHeartRate": 156,
                "LowestHeartRate": 80,
                "Pace": 496588,
                "FinishHeartRate": 97,
                "MaxAltitude": 5620,
                "MinAltitude": 4210,
                "TotalAltitudeGain": 1500,
                "TotalAltitudeLoss": 1490,
                "Sequences": [
                    {
                        "SequenceId": "635731054758880000",
                        "Order": 1,
                        "SequenceType": "Running",
                        "StartTime": "2015-07-21T19:57:55.8880000Z",
                        "Duration": 763,
                        "CaloriesBurned": 95,
                        "AverageHeartRate": 119,
                        "PeakHeartRate": 141,
                        "LowestHeartRate": 80,
                        "SplitDistance": 160934,
                        "SplitPace": 474110,
                    }
                ],
                "Info": [
                    {
                        "TimeOfDay": "2015-07-21T20:22:00Z",
                        "StepsTaken": 110,
                        "CaloriesBurned": 10,
                        "AverageHeartRate": 108,
                        "PeakHeartRate": 110,
                        "LowestHeartRate": 105,
                        "TotalDistance": "10166",
                        "TotalDistanceOnFoot": "10166",
                    }
                ],
                "MapPoints": [
                    {
                        "MapPointOrdinal": 1,
                        "SecondsSinceStart": 27,
                        "MapPointType": "WayPoint",
                        "HeartRate": 86,
                        "TotalDistance": 2550,
                        "Pace": 694000,
                        "Speed": 144,
                        "IsPaused": False,
                        "Location": {"Latitude": 476205000, "Longitude": -1223493000, "AltitudeFromMSL": 5620,
                                     "EHPE": 300, "EVPE": 400},
                    }
                ],
            }
        ],
    }


def public_run() -> dict:
    """The same run as the public API writes it: offsets, ISO durations, nested summaries, other names."""
    return {
        "runActivities": [
            {
                "id": RUN_ID,
                "activityType": "Run",
                "name": "Lunch run",
                "startTime": "2015-07-21T20:57:55.888+01:00",
                "endTime": "2015-07-21T21:25:13.888+01:00",
                "dayId": "2015-07-21T00:00:00.000+00:00",
                "duration": "PT26M18S",
                "pausedDuration": "PT1M",
                "caloriesBurnedSummary": {"period": "Activity", "totalCalories": 193},
                "heartRateSummary": {"period": "Activity", "averageHeartRate": 124, "peakHeartRate": 156,
                                     "lowestHeartRate": 80},
                "distanceSummary": {"period": "Activity", "totalDistance": 317790, "actualDistance": 317790,
                                    "pace": 496588, "maxElevation": 5620, "minElevation": 4210,
                                    "elevationGain": 1500, "elevationLoss": 1490},
                "performanceSummary": {"finishHeartRate": 97, "heartRateZones": {"aerobic": 2}},
                "activitySegments": [
                    {
                        "segmentId": 635731054758880000,
                        "startTime": "2015-07-21T20:57:55.888+01:00",
                        "duration": "PT12M43S",
                        "segmentType": "Run",
                        "caloriesBurnedSummary": {"period": "Segment", "totalCalories": 95},
                        "heartRateSummary": {"period": "Segment", "averageHeartRate": 119, "peakHeartRate": 141,
                                             "lowestHeartRate": 80},
                        "distanceSummary": {"period": "Segment", "totalDistance": 160934, "pace": 474110},
                    }
                ],
                "minuteSummaries": [
                    {
                        "startTime": "2015-07-21T21:22:00.000+01:00",
                        "period": "Minute",
                        "duration": "PT1M",
                        "stepsTaken": 110,
                        "caloriesBurnedSummary": {"period": "Minute", "totalCalories": 10},
                        "heartRateSummary": {"period": "Minute", "averageHeartRate": 108, "peakHeartRate": 110,
                                             "lowestHeartRate": 105},
                        "distanceSummary": {"period": "Minute", "totalDistance": 10166,
                                            "totalDistanceOnFoot": 10166},
                    }
                ],
                "mapPoints": [
                    {
                        "ordinal": 1,
                        "secondsSinceStart": 27,
                        "mapPointType": "Waypoint",
                        "heartRate": 86,
                        "totalDistance": 2550,
                        "pace": 694000,
                        "speed": 144,
                        "isPaused": False,
                        "location": {"latitude": 476205000, "longitude": -1223493000,
                                     "elevationFromMeanSeaLevel": 5620, "estimatedHorizontalError": 300,
                                     "estimatedVerticalError": 400},
                    }
                ],
            }
        ],
        "itemCount": 1,
    }


SLEEP_START = datetime(2015, 7, 22, 0, 36, 32, 987000, tzinfo=UTC)


def private_sleep() -> dict:
    return {
        "value": [
            {
                "EventId": event_id(SLEEP_START),
                "EventType": "Sleeping",
                "StartTime": "2015-07-22T00:36:32.9870000Z",
                "DayId": "2015-07-21T00:00:00Z",
                "Duration": 30473,
                "CaloriesBurned": 640,
                "AverageHeartRate": 59,
                "PeakHeartRate": 80,
                "LowestHeartRate": 47,
                "FallAsleepTime": "2015-07-22T00:42:57.987Z",
                "WakeUpTime": "2015-07-22T09:01:58.237Z",
                "SleepTime": 27301,
                "AwakeTime": 3172,
                "TimeToFallAsleep": 385,
                "TotalRestfulSleep": 7558,
                "TotalRestlessSleep": 19743,
                "NumberOfWakeups": 5,
                "RestingHeartRate": 50,
                "SleepEfficiencyPercentage": 91,
                "Sequences": [
                    {
                        "SequenceId": "635733045929870000",
                        "Order": 1,
                        "SequenceType": "Dozing",
                        "SleepType": "RestlessSleep",
                        "StartTime": "2015-07-22T00:36:32.987Z",
                        "Duration": 600,
                        "SleepTime": 420,
                    }
                ],
            }
        ]
    }


def public_sleep() -> dict:
    return {
        "sleepActivities": [
            {
                "id": event_id(SLEEP_START),
                "activityType": "Sleep",
                "startTime": "2015-07-21T17:36:32.987-07:00",
                "dayId": "2015-07-21T00:00:00.000+00:00",
                "duration": "PT8H27M53S",
                "caloriesBurnedSummary": {"period": "Activity", "totalCalories": 640},
                "heartRateSummary": {"period": "Activity", "averageHeartRate": 59, "peakHeartRate": 80,
                                     "lowestHeartRate": 47},
                "fallAsleepTime": "2015-07-22T00:42:57.987+00:00",
                "wakeupTime": "2015-07-22T02:01:58.237-07:00",
                "sleepDuration": "PT7H35M1S",
                "awakeDuration": "PT52M52S",
                "fallAsleepDuration": "PT6M25S",
                "totalRestfulSleepDuration": "PT2H5M58S",
                "totalRestlessSleepDuration": "PT5H29M3S",
                "numberOfWakeups": 5,
                "restingHeartRate": 50,
                "sleepEfficiencyPercentage": 91,
                "activitySegments": [
                    {
                        "segmentId": 635733045929870000,
                        "startTime": "2015-07-22T00:36:32.987+00:00",
                        "duration": "PT10M",
                        "segmentType": "Doze",
                        "sleepType": "RestlessSleep",
                        "sleepTime": 7,
                    }
                ],
            }
        ]
    }


def assert_agree(private_rows: list[dict], public_rows: list[dict], key: tuple[str, ...], at_least: int) -> None:
    """Rows of the same records agree on every column both APIs fill (except `api`); `at_least` columns are shared."""
    by_key = {tuple(r[k] for k in key): r for r in private_rows}
    assert len(by_key) == len(public_rows)
    for pub in public_rows:
        priv = by_key[tuple(pub[k] for k in key)]
        shared = [c for c in pub if c != "api" and pub[c] is not None and priv[c] is not None]
        assert len(shared) >= at_least, shared
        for c in shared:
            assert pub[c] == pytest.approx(priv[c]), c


@pytest.mark.parametrize("private, public", [(private_run, public_run), (private_sleep, public_sleep)])
def test_one_event_through_both_apis_gives_the_same_values(private, public):
    priv = decode(band.EVENTS, private())
    pub = decode(band_public.ACTIVITIES, public())
    assert pub.keys() <= priv.keys()
    assert_agree(priv["band_events"], pub["band_events"], ("event_id",), at_least=14)
    assert_agree(priv["band_sequences"], pub["band_sequences"], ("event_id", "sequence_id"), at_least=6)
    if "band_minutes" in pub:
        assert_agree(priv["band_minutes"], pub["band_minutes"], ("event_id", "time"), at_least=9)
        assert_agree(priv["band_map_points"], pub["band_map_points"], ("event_id", "ordinal"), at_least=13)
    assert [e["api"] for e in priv["band_events"] + pub["band_events"]] == ["private", "public"]


def test_one_event_through_both_apis_is_one_row_and_the_later_capture_wins(tmp_path):
    private_url = f"https://{PRIVATE}/v1/Events(eventId='{RUN_ID}')?$expand=Sequences,Info,MapPoints"
    public_url = f"https://{PUBLIC}/v1/me/Activities?activityIds={RUN_ID}&activityIncludes=Details,MinuteSummaries"
    har = write_har(
        tmp_path / "both.har",
        [
            entry(private_url, private_run(), started="2017-03-03T07:31:00.000-08:00"),
            entry(public_url, public_run(), started="2017-03-03T07:32:00.000-08:00"),
        ],
    )
    result = convert([Input(har, "both.har", True)])
    (f,) = result.files
    assert dict(f.device_responses) == {"band/events": 1, "band-public/activities": 1}
    events = result.tables["band_events"]
    assert events.height == 1 and events["api"].to_list() == ["public"]  # the later capture
    assert events["event_id"].to_list() == [RUN_ID]
    # the copies differ in `api` and in the fields one API leaves out: no value of the private copy is lost
    assert (result.duplicates["band_events"], result.conflicts["band_events"]) == (1, 0)
    for table in ("band_sequences", "band_minutes", "band_map_points"):
        assert result.tables[table].height == 1, table


def test_paged_public_summaries_decode_every_page(reference, tmp_path):
    pages = load(reference, "hourly_summary.json")["summaries"]
    first = {"summaries": pages[:12], "itemCount": 12,
             "nextPage": "https://api.microsofthealth.net:443/V1/me/Summaries/Hourly?startTime=2015-06-27T00%3A00"
                         "%3A00.000%2B01%3A00&ct=635727744000000000"}
    second = {"summaries": pages[12:], "itemCount": 12}
    har = write_har(
        tmp_path / "pages.har",
        [
            entry(f"https://{PUBLIC}/v1/me/Summaries/Hourly?startTime=2015-06-27T00%3A00%3A00.000%2B01%3A00", first),
            entry(first["nextPage"], second),
        ],
    )
    result = convert([Input(har, "pages.har", True)])
    assert dict(result.files[0].device_responses) == {"band-public/summaries": 2}
    assert result.tables["band_hourly_summaries"].height == 24


# --- raised insights (private /v1/RaisedInsights) --------------------------------------------------------------------

# Field names and types of the Health apps' RaisedInsight models: Android krestsdk/models/RaisedInsight.java
# (rojas-claudio/microsoft-health-android) and Windows Microsoft.Health.Cloud.Client.RaisedInsight (decompiled). No
# real payload is known; the values are invented.
ANDROID_INSIGHT = {
    "RaisedInsightId": "3f1c9a52-7d0e-4b8f-a6c2-1e9d5b7a0c34", "InsightId": 1204, "Expired": False,
    "Acknowledged": False, "EffectiveDT": "2015-01-11T20:00:00-08:00", "ExpirationDT": "2015-01-18T20:00:00-08:00",
    "IM_Msg": "You took **12% more steps** this week.", "IM_Help": "Compared with last week.", "IM_Action_Msg": None,
    "DeviceLine1_Msg": "+12% steps", "DeviceLine1_Help": None, "DeviceLine2_Msg": "this week",
    "DeviceLine2_Help": None, "DataUsedPivot": ["Steps"], "ComparisonPivot": None, "CategoryPivot": [],
    "TimespanPivot": "Week", "TonePivot": None, "ScopePivot": "Global", "NoteworthyPivot": "False",
    "InsightEvidence": [],
}
WINDOWS_INSIGHT = ANDROID_INSIGHT | {
    "RaisedInsightId": "9b7e0d14-2c5a-4f36-8e1b-6a3d0c9f5e27", "InsightId": "1311", "NoteworthyPivot": True,
    "EffectiveDT": "2015-01-12T04:00:00.0000000+00:00", "ExpirationDT": None, "DataUsedPivot": ["Steps", "Calories"],
}


def raised(*insights) -> dict:
    return {"odata.metadata": f"https://{PRIVATE}/v1/$metadata#RaisedInsights", "value": list(insights)}


def test_raised_insights_in_the_android_and_windows_types():
    a, w = decode(band.RAISED_INSIGHTS, raised(ANDROID_INSIGHT, WINDOWS_INSIGHT))["band_insights"]
    assert (a["insight_id"], a["noteworthy"], w["insight_id"], w["noteworthy"]) == ("1204", "False", "1311", "true")
    # the same instant written with its local offset and in UTC; the offset is kept apart
    assert a["effective_time"] == w["effective_time"] == utc(2015, 1, 12, 4)
    assert (a["utc_offset_s"], w["utc_offset_s"]) == (-8 * 3600, 0)
    assert (a["expiration_time"], w["expiration_time"]) == (utc(2015, 1, 19, 4), None)
    assert (a["data_used"], w["data_used"], a["category"]) == ("Steps", "Steps,Calories", None)
    assert (a["message"], a["band_line1"], a["band_line2"], a["timespan"], a["scope"]) == (
        "You took **12% more steps** this week.", "+12% steps", "this week", "Week", "Global")


def test_raised_insights_schema_requires_the_id_and_iso_times():
    assert schema_problem(band.RAISED_INSIGHTS.schema, raised({"InsightId": 3})) is not None
    assert schema_problem(band.RAISED_INSIGHTS.schema, raised(ANDROID_INSIGHT | {"EffectiveDT": 1421035200})) is not None


def test_a_raised_insight_captured_again_keeps_its_newest_state(tmp_path):
    url = f"https://{PRIVATE}/v1/RaisedInsights(DataUsed='Steps',Timespan='Week',Scope='Global')"
    har = write_har(tmp_path / "x.har", [
        entry(url, raised(ANDROID_INSIGHT), started="2015-01-12T08:00:00.000-08:00"),
        entry(url, raised(ANDROID_INSIGHT | {"Acknowledged": True}), started="2015-01-13T08:00:00.000-08:00"),
    ])
    result = convert([Input(har, "x.har", True)])
    (row,) = result.tables["band_insights"].to_dicts()
    assert row["acknowledged"] is True and result.files[0].conflicts == {"band_insights": 1}


def test_a_saved_raised_insights_response_is_recognised_by_shape(tmp_path):
    path = tmp_path / "insights.json"
    path.write_text(orjson.dumps(raised(ANDROID_INSIGHT)).decode())
    (f,) = convert([Input(path, "insights.json", True)]).files
    assert (f.status, f.read_as, f.rows["band_insights"]) == ("ok", "band/raised-insights", 1)


def test_summaries_of_one_device_and_of_the_account_are_different_records(tmp_path):
    """A summary asked for one device (private `deviceId='…'`, BAND-API §A.2; public `deviceIds=`, §B.1) holds that
    device's totals, not the account's: keyed by day or hour alone, the later capture replaced the other as a
    "conflict". The filter is a column of the key; the same filter captured twice is still one record."""
    daily = "/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',endDate='2019-03-10'{})"
    phone = {**DAILY, "value": [{**DAILY["value"][0], "StepsTaken": 2000}]}
    hourly = {"summaries": [{"startTime": f"2015-06-27T{h:02}:00:00.000+01:00", "period": "Hourly", "duration": "PT1H",
                             "stepsTaken": 10 * h} for h in range(24)], "itemCount": 24}
    hourly_url = f"https://{PUBLIC}/v1/me/Summaries/Hourly?startTime=2015-06-27T00:00:00%2B01:00"
    har = write_har(tmp_path / "devices.har", [
        entry(f"https://{PRIVATE}" + daily.format(""), DAILY, started="2017-03-03T07:31:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format(",deviceId='b7e1'"), phone, started="2017-03-03T07:32:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format(",deviceId=%27b7e1%27"), phone,
              started="2017-03-03T07:33:00.000-08:00"),
        entry(hourly_url, hourly, started="2017-03-03T07:34:00.000-08:00"),
        entry(hourly_url + "&deviceIds=b7e1,c0de", hourly, started="2017-03-03T07:35:00.000-08:00"),
    ])
    result = convert([Input(har, "devices.har", True)])
    days = result.tables["band_daily_summaries"].sort("device_filter", nulls_last=True)
    assert days.select("day", "device_filter", "steps").rows() == [
        (date(2019, 3, 10), "b7e1", 2000), (date(2019, 3, 10), None, 8123)]
    assert (result.duplicates["band_daily_summaries"], result.conflicts["band_daily_summaries"]) == (1, 0)
    hours = result.tables["band_hourly_summaries"]
    assert hours.group_by("device_filter").len().sort("device_filter", nulls_last=True).rows() == [
        ("b7e1,c0de", 24), (None, 24)]
    assert result.conflicts["band_hourly_summaries"] == 0


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_out_written_before_device_filter_existed_takes_new_files(tmp_path, fmt):
    """Files added to an OUT an older databack wrote: its summary tables lack device_filter (added since), read as
    null (the whole account), where reading them back stopped the run."""
    from typer.testing import CliRunner

    from converters.cli import app

    daily = f"https://{PRIVATE}/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',endDate='2019-03-10')"
    first = write_har(tmp_path / "a.har", [entry(daily, DAILY)])
    out = tmp_path / "out"
    run = lambda *paths: CliRunner().invoke(app, ["convert", *map(str, paths), "-o", str(out), "-f", fmt])  # noqa: E731
    assert run(first).exit_code == 0
    table = out / f"band_daily_summaries.{fmt}"
    older = (pl.read_parquet(table) if fmt == "parquet" else pl.read_csv(table)).drop("device_filter")
    older.write_parquet(table) if fmt == "parquet" else older.write_csv(table)
    second = write_har(tmp_path / "b.har", [entry(daily.replace("'2019-03-10')", "'2019-03-10',deviceId='b7e1')"),
                                                  DAILY)])
    result = run(first, second)
    assert result.exit_code == 0, result.output
    days = pl.read_parquet(table) if fmt == "parquet" else pl.read_csv(table)
    assert sorted(days["device_filter"].to_list(), key=str) == [None, "b7e1"]


@pytest.mark.parametrize("args, query, device", [
    ("period='h',deviceId='b7e1'", {}, "b7e1"),  # Windows and iOS: a key argument
    ("period='h'", {"deviceid": "'b7e1'"}, "b7e1"),  # Android: deviceId=%27…%27 after the OData options
    ("period='h'", {}, None),
])
def test_a_private_hourly_summary_names_the_device_it_was_asked_for(args, query, device):
    payload = {"value": [{"TimeOfDay": "2015-01-12T07:00:00Z", "StepsTaken": 1460}]}
    (h,) = [row for _, row in band.decode_hourly_summaries(payload, Request({"args": args}, query, None, None))]
    assert h["device_filter"] == device


def test_a_day_asked_at_another_utc_offset_is_a_record_of_its_own(tmp_path):
    """The private API cuts days by the offset the request gives (`timeZoneUtcOffset`, an argument of the
    UserDailySummary function, BAND-API §A.2): the same date asked at +01:00 and at -08:00 is the totals of two other
    24 hours (TimeOfDay 23:00Z the day before, 08:00Z the day), as a wearer who travelled sees them. Keyed by day
    alone, the later capture replaced the other as a "conflict"; the offset is part of the key, and the same day at
    the same offset captured twice is still one record."""
    daily = "/v2/UserDailySummary(timeZoneUtcOffset={},startDate='2019-03-10',endDate='2019-03-10')"
    pacific = {**DAILY, "value": [{**DAILY["value"][0], "TimeOfDay": "2019-03-10T08:00:00Z", "StepsTaken": 9100}]}
    har = write_har(tmp_path / "travel.har", [
        entry(f"https://{PRIVATE}" + daily.format(60), DAILY, started="2017-03-03T07:31:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format(-480), pacific, started="2017-03-03T07:32:00.000-08:00"),
        entry(f"https://{PRIVATE}" + daily.format("'-480'"), pacific, started="2017-03-03T07:33:00.000-08:00"),
    ])
    result = convert([Input(har, "travel.har", True)])
    days = result.tables["band_daily_summaries"].sort("utc_offset_s")
    assert days.select("day", "utc_offset_s", "start_time", "steps").rows() == [
        (date(2019, 3, 10), -28800, datetime(2019, 3, 10, 8, tzinfo=UTC), 9100),
        (date(2019, 3, 10), 3600, datetime(2019, 3, 9, 23, tzinfo=UTC), 8123)]
    assert (result.duplicates["band_daily_summaries"], result.conflicts["band_daily_summaries"]) == (1, 0)


@pytest.mark.parametrize("start, query, day, offset_s", [
    # the real 2015 recording (tnataly/MShealth test/fixtures/summary_day.yml): asked from local midnight at +01:00,
    # the days come back at 23:00+00:00 without parentDay
    ("2015-07-26T23:00:00.000+00:00", "startTime=2015-07-27T00:00:00%2B01:00", date(2015, 7, 27), 3600),
    # beyond 12 hours the nearest midnight is the wrong day: the request's offset tells the day
    ("2015-07-26T11:00:00.000+00:00", "startTime=2015-07-27T00:00:00%2B13:00", date(2015, 7, 27), 46800),
    ("2015-07-26T10:00:00.000+00:00", "startTime=2015-07-20T00:00:00+14:00&endTime=2015-07-28", date(2015, 7, 27),
     50400),  # '+' unencoded reads as a space
    ("2015-07-26T11:00:00.000+00:00", "startTime=2015-07-20T00:00:00-11:00", date(2015, 7, 26), -39600),
    ("2015-07-26T12:00:00.000+00:00", "endTime=2015-07-28T00:00:00-12:00", date(2015, 7, 26), -43200),
    # a request in UTC, or at an offset the days do not start at, says nothing of the wearer's: the nearest midnight
    ("2015-07-26T23:00:00.000+00:00", "startTime=2015-07-20T00:00:00Z", date(2015, 7, 27), 3600),
    ("2015-07-26T23:00:00.000+00:00", "startTime=2015-07-20T00:00:00-05:00", date(2015, 7, 27), 3600),
    ("2015-07-26T23:00:00.000+00:00", "startTime=last+week", date(2015, 7, 27), 3600),
])
def test_a_public_day_without_parent_day_takes_its_date_from_the_offset_the_request_asked_in(start, query, day,
                                                                                             offset_s):
    """Public daily summaries come without parentDay and start at local midnight written in UTC; the day was the
    nearest midnight's, wrong for the wearer's offsets beyond 12 hours (+13:00 Samoa and Tonga, +14:00 Kiribati; and
    -12:00): the 27th at +13:00 starts at 11:00Z on the 26th, taken as the 26th at -11:00. The request's startTime or
    endTime, written at the wearer's offset, tells it where the days start at that offset."""
    from converters.devices.base import parse_query

    payload = {"summaries": [{"startTime": start, "period": "Daily", "duration": "P1D", "stepsTaken": 10}]}
    rows = list(row_by_row(band_public.SUMMARIES.decode(payload, Request({"period": "Daily"}, parse_query(query),
                                                                          None, None))))
    ((table, d),) = rows
    assert (table, d["day"], d["utc_offset_s"]) == ("band_daily_summaries", day, offset_s)


@pytest.mark.parametrize("query, offset_s", [
    # Windows, iOS and unBand send OData unencoded: a '+' in a query is a space once decoded
    ("$filter=TimeOfDay ge datetimeoffset'2015-06-28T00:00:00+01:00' and "
     "TimeOfDay lt datetimeoffset'2015-06-29T00:00:00+01:00'", 3600),
    ("$filter=TimeOfDay%20ge%20datetimeoffset'2015-06-28T00:00:00+05:45'%20and%20"
     "TimeOfDay%20lt%20datetimeoffset'2015-06-29T00:00:00+05:45'", 20700),
    # Android's encoding, as before
    ("%24filter=TimeOfDay+ge+datetimeoffset%272015-06-28T00%3A00%3A00%2B13%3A00%27+and+"
     "TimeOfDay+lt+datetimeoffset%272015-06-29T00%3A00%3A00%2B13%3A00%27", 46800),
    # a bound that names no instant: the hours are kept, their offset unknown
    ("$filter=TimeOfDay ge datetimeoffset'yesterday' and TimeOfDay lt datetimeoffset'today'", None),
])
def test_a_private_hourly_summary_asked_with_an_unencoded_plus_keeps_its_hours_and_offset(tmp_path, query, offset_s):
    """The private hourly summary's utc_offset_s is the offset of its $filter's datetimeoffset bounds. Sent
    unencoded (datetimeoffset'2015-06-28T00:00:00+01:00'), the '+' is a space once the query is decoded, and the
    bound '2015-06-28T00:00:00 01:00' failed to parse: the whole response was rejected, its hours in no table. The
    '+' is read back; a bound that is no time at all names no offset (null), its hours kept."""
    payload = {"odata.metadata": f"https://{PRIVATE}/v2/$metadata#UserHourlySummary", "value": [
        {"TimeOfDay": "2015-06-27T23:00:00Z", "StepsTaken": 200, "CaloriesBurned": 50, "TotalDistance": "11906",
         "ActivityLevel": "Inactive", "DayClassification": "None", "UvExposure": 0, "ItCal": 0}]}
    har = write_har(tmp_path / "hours.har", [
        entry(f"https://{PRIVATE}/v2/UserHourlySummary(period='h')?{query}", payload)])
    result = convert([Input(har, "hours.har", True)])
    assert result.files[0].rejects == 0
    (hour,) = result.tables["band_hourly_summaries"].rows(named=True)
    assert (hour["time"], hour["steps"], hour["utc_offset_s"]) == (datetime(2015, 6, 27, 23, tzinfo=UTC), 200,
                                                                  offset_s)


@pytest.mark.parametrize("points", [1, 150])  # value by value, and by columns
def test_a_map_point_past_year_9999_rejects_its_exchange_as_a_start_there_does(tmp_path, monkeypatch, points):
    """A GPS point's time is its event's start plus SecondsSinceStart (secondsSinceStart public). Every time read
    from a payload is refused past year 9999 in UTC (base.iso_utc: no table's reader takes it), but a point's was
    not bounded: an event starting 9999-12-31T23:00Z with a point two hours in wrote +10000-01-01 into
    band_map_points (and `export omh` of that OUT then stopped with a traceback). The point rejects its exchange, as
    a start there does; the capture's other exchanges convert."""
    from converters.devices import columns

    start = "9999-12-31T23:00:00Z"
    private = {"value": [{**band_event()["value"][0], "StartTime": start, "MapPoints": [
        {"MapPointOrdinal": i, "SecondsSinceStart": 7200 - i, "MapPointType": "WayPoint", "TotalDistance": 100 * i}
        for i in range(points)]}]}
    public = {"runActivities": [{"id": "2519647921241112976", "activityType": "Run", "startTime": start,
                                 "duration": "PT2H", "mapPoints": [
                                     {"secondsSinceStart": 7200 - i, "mapPointType": "Waypoint", "ordinal": i}
                                     for i in range(points)]}], "itemCount": 1}
    good = {"runActivities": [{"id": "2519647921241112977", "activityType": "Run",
                               "startTime": "2015-07-21T20:00:00.000+00:00", "duration": "PT1H"}], "itemCount": 1}
    har = write_har(tmp_path / "far.har", [
        entry(f"https://{PRIVATE}/v1/Events(eventType='Running')?$expand=MapPoints", private),
        entry(f"https://{PUBLIC}/v1/me/Activities?activityIncludes=MapPoints", public),
        entry(f"https://{PUBLIC}/v1/me/Activities", good),
    ])
    for columnar in (True, False):
        with monkeypatch.context() as m:
            m.setattr(columns, "by_columns", columnar)
            result = convert([Input(har, "far.har", True)])
        assert "band_map_points" not in result.tables
        assert result.files[0].rejects == 2
        assert result.tables["band_events"]["event_id"].to_list() == ["2519647921241112977"]
        reasons = result.tables["rejects"]["reason"].to_list()
        assert all("after year 9999" in reason for reason in reasons), reasons


def _run_in_splits(split_cm: int, public: bool) -> dict:
    """A 3 km run of 20 minutes (evenly paced) as the private or the public API lays it out for one split length
    (private selectedSplitDistance='100000' or '160934', public splitDistanceType=Kilometer or Mile): a split
    (sequence / segment) per split length, a GPS point a minute and a Split point where each split ends, numbered in
    time order (as the real run.json numbers its Split points among the WayPoints)."""
    start = datetime(2015, 1, 12, 6, 43, 56, 990827, tzinfo=UTC)
    total_s, total_cm = 1200, 300_000
    waypoints = [(s, s * total_cm // total_s, "WayPoint") for s in range(60, total_s, 60)]
    splits = [(d * total_s // total_cm, d, "Split") for d in range(split_cm, total_cm, split_cm)]
    track = sorted([(0, 0, "Start"), *waypoints, *splits, (total_s, total_cm, "End")])
    cuts = [*range(0, total_cm, split_cm), total_cm]
    parts = [(a, b, start + timedelta(seconds=a * total_s // total_cm)) for a, b in zip(cuts, cuts[1:])]
    ticks = lambda t: str(621355968000000000 + datetime_us(t) * 10)  # noqa: E731
    if public:
        return {"runActivities": [{
            "id": "2519812557630091728", "activityType": "Run", "startTime": start.isoformat(),
            "duration": f"PT{total_s}S", "splitDistance": split_cm,
            "activitySegments": [{"segmentId": int(ticks(t)), "segmentType": "Run", "startTime": t.isoformat(),
                                  "duration": f"PT{(b - a) * total_s // total_cm}S", "splitDistance": split_cm,
                                  "distanceSummary": {"period": "Segment", "totalDistance": b - a}}
                                 for a, b, t in parts],
            "mapPoints": [{"ordinal": i, "secondsSinceStart": s, "mapPointType": kind.replace("WayPoint", "Waypoint"),
                           "totalDistance": d} for i, (s, d, kind) in enumerate(track)]}], "itemCount": 1}
    return {"value": [{
        "EventId": "2519812557630091728", "EventType": "Running", "StartTime": start.isoformat().replace("+00:00", "Z"),
        "DayId": "2015-01-11T00:00:00Z", "Duration": total_s, "TotalDistance": total_cm, "SplitDistance": split_cm,
        "Sequences": [{"SequenceId": ticks(t), "StartTime": t.isoformat().replace("+00:00", "Z"),
                       "SequenceType": "Running", "Order": n, "Duration": (b - a) * total_s // total_cm,
                       "TotalDistance": b, "SplitDistance": b - a} for n, (a, b, t) in enumerate(parts, 1)],
        "MapPoints": [{"MapPointOrdinal": i, "SecondsSinceStart": s, "MapPointType": kind, "TotalDistance": d}
                      for i, (s, d, kind) in enumerate(track)]}]}


@pytest.mark.parametrize("public", [False, True])
def test_a_run_fetched_with_kilometre_and_with_mile_splits_keeps_each_set_whole(tmp_path, monkeypatch, public):
    """A run's splits and its GPS points' numbering depend on the split length the request asked for (private
    selectedSplitDistance, BAND-API.md §A.2 and the Android app's getTopRunEvents(isMetric); public
    splitDistanceType, Mile by default): kilometre splits start every 400 s of this run, mile splits at 643 s,
    and the Split points between the WayPoints shift every ordinal after them. Keyed by event and sequence id /
    ordinal alone, a capture in kilometres and one in miles were merged: the first split (same start, same id) was
    a "conflict" the later replaced, the others of both sets stayed side by side (four splits summing to 1999 s of
    a 1200 s run), and the points of one ordinal were each a "conflict" (12 of 23, two End points left). Each set
    is now kept whole, keyed by its split length (split_length_m); the same set captured twice is still one."""
    from converters.devices import columns

    host = PUBLIC if public else PRIVATE
    url = (f"https://{host}/v1/me/Activities?activityIncludes=Details,MapPoints&splitDistanceType={{}}" if public
           else f"https://{host}/v1/Events(eventType='Running',selectedSplitDistance='{{}}')?$expand=Sequences,MapPoints")
    km, mile = _run_in_splits(100_000, public), _run_in_splits(160_934, public)
    har = write_har(tmp_path / "run.har", [
        entry(url.format("Kilometer" if public else 100000), km, started="2015-01-13T10:00:00Z"),
        entry(url.format("Mile" if public else 160934), mile, started="2015-01-13T11:00:00Z"),
        entry(url.format("Mile" if public else 160934), mile, started="2015-01-13T12:00:00Z"),
    ])
    for columnar in (True, False):
        with monkeypatch.context() as m:
            m.setattr(columns, "by_columns", columnar)
            result = convert([Input(har, "run.har", True)])
        splits = result.tables["band_sequences"].sort("split_length_m", "start_time")
        assert splits.select("split_length_m", "duration_s").rows() == [
            (1000.0, 400.0), (1000.0, 400.0), (1000.0, 400.0), (1609.34, 643.0), (1609.34, 556.0)]
        points = result.tables["band_map_points"]
        for length, n, split_points in ((1000.0, 23, [400.0, 800.0]), (1609.34, 22, [643.0])):
            track = points.filter(pl.col("split_length_m") == length).sort("ordinal")
            assert track["ordinal"].to_list() == list(range(n))
            assert track.filter(pl.col("point_type") == "Split")["seconds_since_start"].to_list() == split_points
        assert result.conflicts["band_sequences"] == result.conflicts["band_map_points"] == 0
        assert (result.duplicates["band_sequences"], result.duplicates["band_map_points"]) == (2, 22)
        # the report and the export draw the set of the event's split length, its newest capture's (miles)
        (event,) = result.tables["band_events"].rows(named=True)
        assert event["split_length_m"] == 1609.34
        from converters.views import of_event_splits

        tables = {name: df.lazy() for name, df in result.tables.items()}
        assert of_event_splits(tables, "band_map_points").collect().height == 22
        assert of_event_splits(tables, "band_sequences").collect()["duration_s"].to_list() == [643.0, 556.0]


@pytest.mark.parametrize("minutes", [1441, -1441, 100_000])
def test_a_private_daily_summary_asked_at_an_offset_of_more_than_a_day_is_rejected_not_filed_at_it(minutes):
    """timeZoneUtcOffset is the wearer's offset in minutes: one of more than a day either way names none, and its
    days were kept with it (100,000 minutes: a utc_offset_s of 6,000,000, 69 days, the local midnight of which the
    export then failed on); the response is rejected as a Sense offset beyond a day is."""
    payload = {"value": [{"TimeOfDay": "2019-03-09T23:00:00Z", "StepsTaken": 1}]}
    problem, rows, _ = devices.decode_payload(payload, band.DAILY_SUMMARIES,
                                           Request({"args": f"timeZoneUtcOffset={minutes}"}, {}, None, None))
    assert problem == f"could not be decoded: ValueError: a UTC offset of {minutes} minutes is more than a day"
    assert rows == []
    (d,) = decode(band.DAILY_SUMMARIES, payload, {"args": "timeZoneUtcOffset=-1440"})["band_daily_summaries"]
    assert d["utc_offset_s"] == -86_400  # (up to a day either way, as Sense's)


def test_a_public_runs_segments_keep_the_distance_to_their_end_as_the_private_splits_do():
    """band_sequences.actual_distance_m is the distance to the end of the split (the private ActualDistance: 100050,
    200046, 236702 cm in the real run.json). A public segment's distanceSummary.actualDistance is the distance "during
    the period" (the Swagger's DistanceSummary, as its totalDistance is the split's own): it was kept as it came, so
    the same run's second split read 2000.46 m from the private API and 999.96 m from the public one (a conflict,
    the newer copy's per-split figure kept). It is now their running sum; unknown from a segment that has none on."""
    splits = [100050, 99996, 36656]

    def segment(n, cm):
        return {"segmentId": 635566418369908271 + n, "startTime": "2015-01-11T16:12:31.271+00:00",
                "duration": "PT6M", "segmentType": "Run",
                "distanceSummary": {"period": "Segment", "totalDistance": cm, "actualDistance": cm}}

    run = {"runActivities": [{"id": "2519813080487285469", "activityType": "Run",
                              "startTime": "2015-01-11T16:12:31.271+00:00", "duration": "PT30M",
                              "splitDistance": 100000,
                              "activitySegments": [segment(n, cm) for n, cm in enumerate(splits)]}]}
    rows = decode(band_public.ACTIVITIES, run)["band_sequences"]
    assert [(r["split_distance_m"], r["actual_distance_m"]) for r in rows] == [
        (1000.5, 1000.5), (999.96, 2000.46), (366.56, 2367.02)]
    if REFERENCE.is_dir():  # the real private run's splits
        private = decode(band.EVENTS, orjson.loads((REFERENCE / "band-private" / "run.json").read_bytes()))
        assert [r["actual_distance_m"] for r in private["band_sequences"]] == [1000.5, 2000.46, 2367.02]
    del run["runActivities"][0]["activitySegments"][1]["distanceSummary"]["actualDistance"]
    rows = decode(band_public.ACTIVITIES, run)["band_sequences"]
    assert [r["actual_distance_m"] for r in rows] == [1000.5, None, None]


@pytest.mark.parametrize(
    "time_of_day, minutes, start",
    [
        ("2019-03-10T00:00:00Z", -480, utc(2019, 3, 10, 8)),  # a DayId-style date: its local midnight at -08:00
        ("2019-03-10T00:00:00Z", 60, utc(2019, 3, 9, 23)),
        ("2019-03-10T08:00:00Z", -480, utc(2019, 3, 10, 8)),  # the UTC instant of local midnight, as it is
        ("2019-03-10T00:00:00+01:00", 60, utc(2019, 3, 9, 23)),
        ("2019-03-10T00:00:00Z", 0, utc(2019, 3, 10)),
    ],
)
def test_a_private_days_start_is_its_local_midnight_however_timeofday_is_written(time_of_day, minutes, start):
    """band_daily_summaries: start_time + utc_offset_s is the local midnight of `day`. A TimeOfDay written at
    midnight in UTC, with another offset asked for, is read as a date (DayId-style: the 10th at -08:00), but its
    start_time was that midnight in UTC: 16:00 on the 9th at -08:00, a day eight hours off, which export omh wrote as
    the step count's 24 hours. It is the date's local midnight."""
    payload = {"value": [{"TimeOfDay": time_of_day, "StepsTaken": 1}]}
    (d,) = decode(band.DAILY_SUMMARIES, payload, {"args": f"timeZoneUtcOffset={minutes}"})["band_daily_summaries"]
    assert (d["day"], d["start_time"], d["utc_offset_s"]) == (date(2019, 3, 10), start, minutes * 60)
    local = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=d["start_time"], seconds=d["utc_offset_s"])
    assert (local.date(), local.time()) == (date(2019, 3, 10), datetime.min.time())


def test_a_public_copy_of_an_event_keeps_the_start_to_the_microsecond_its_id_names(tmp_path):
    """The public API writes times cut to the millisecond, the private one to the tick; the activity's id (and a
    segment's) names the start to the tick. An event fetched through both APIs, the public copy captured later (and
    so kept), keeps the start the private API wrote, and its GPS points their times; an id naming another time
    leaves the public time as written."""
    start = datetime(2015, 7, 21, 19, 57, 55, 888453, tzinfo=UTC)
    ticks = 621355968000000000 + datetime_us(start) * 10 + 7  # 100 ns beyond the µs, as real ids are
    event = str(3155378975999999999 - ticks)
    private, public = private_run(), public_run()
    p, q = private["value"][0], public["runActivities"][0]
    p["EventId"] = q["id"] = event
    p["StartTime"] = p["Sequences"][0]["StartTime"] = "2015-07-21T19:57:55.8884537Z"
    p["Sequences"][0]["SequenceId"] = str(ticks)
    q["activitySegments"][0]["segmentId"] = ticks
    priv, pub = decode(band.EVENTS, private), decode(band_public.ACTIVITIES, public)
    exact = datetime_us(start)
    assert priv["band_events"][0]["start_time"] == pub["band_events"][0]["start_time"] == exact
    assert priv["band_sequences"][0]["start_time"] == pub["band_sequences"][0]["start_time"] == exact
    assert priv["band_map_points"][0]["time"] == pub["band_map_points"][0]["time"] == exact + 27_000_000
    assert pub["band_events"][0]["utc_offset_s"] == 3600  # the offset as written

    har = write_har(tmp_path / "both.har", [
        entry(f"https://{PRIVATE}/v1/Events(eventId='{event}')?$expand=Sequences,Info,MapPoints", private,
              started="2017-03-03T07:31:00.000-08:00"),
        entry(f"https://{PUBLIC}/v1/me/Activities?activityIds={event}&activityIncludes=Details,MapPoints", public,
              started="2017-03-03T07:32:00.000-08:00"),
    ])
    result = convert([Input(har, "both.har", True)])
    events = result.tables["band_events"]
    assert events["api"].to_list() == ["public"]  # the later capture is kept...
    assert events["start_time"].to_list() == [start]  # ...to the µs the private copy and the id name
    assert result.tables["band_sequences"]["start_time"].to_list() == [start]
    assert result.tables["band_map_points"]["time"].to_list() == [start + timedelta(seconds=27)]

    q["id"] = str(3155378975999999999 - ticks - 10_000_000)  # an id a second later: not this start's
    q["activitySegments"][0]["segmentId"] = ticks - 10_000_000
    pub = decode(band_public.ACTIVITIES, public)
    assert pub["band_events"][0]["start_time"] == pub["band_sequences"][0]["start_time"] == datetime_us(
        start.replace(microsecond=888000))


def test_a_public_sleeps_fall_asleep_time_keeps_the_microsecond_of_its_start():
    """fallAsleepTime is its start plus fallAsleepDuration (to the ms, in every real record): with the start to the
    tick its id names, it is that sum, as the private API writes it, not the ms the public API cut it to."""
    start = datetime(2015, 7, 22, 0, 36, 32, 987453, tzinfo=UTC)
    private, public = private_sleep(), public_sleep()
    p, q = private["value"][0], public["sleepActivities"][0]
    p["EventId"] = q["id"] = event_id(start)
    p["StartTime"] = "2015-07-22T00:36:32.9874530Z"
    p["FallAsleepTime"] = "2015-07-22T00:42:57.9874530Z"
    priv, pub = decode(band.EVENTS, private), decode(band_public.ACTIVITIES, public)
    for column in ("start_time", "fall_asleep_time"):
        assert priv["band_events"][0][column] == pub["band_events"][0][column], column
    assert pub["band_events"][0]["fall_asleep_time"] - pub["band_events"][0]["start_time"] == 385_000_000
    q["fallAsleepDuration"] = "PT6M26S"  # a duration that is not the written time's: the time as written
    pub = decode(band_public.ACTIVITIES, public)
    assert pub["band_events"][0]["fall_asleep_time"] == utc(2015, 7, 22, 0, 42, 57, 987000)


@pytest.mark.parametrize("end, length", [
    ("2015-03-29T23:00:00.000+00:00", 82800.0),  # BST begins: a 23-hour day
    ("2015-03-30T00:00:00.000+01:00", 82800.0),  # the same instant written at the new offset
    ("not a time", 86400.0), (17, 86400.0), (None, 86400.0),  # (not checked by the schema): duration's P1D
])
def test_a_public_daily_summarys_length_is_its_end_less_its_start(end, length):
    summary = {"startTime": "2015-03-29T00:00:00.000+00:00", "endTime": end, "period": "Daily", "duration": "P1D",
               "stepsTaken": 6000}
    (day,) = decode(band_public.SUMMARIES, {"summaries": [summary]})["band_daily_summaries"]
    assert (day["day"], day["duration_s"]) == (date(2015, 3, 29), length)
