"""Write the synthetic sample captures `phone-sync.har` and `phone-sync.flow` next to this script.

Everything in them is invented: people, tokens, readings, addresses (IPs come from the documentation
ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24). Payload shapes follow the notes on the Microsoft
Band private API, the public Microsoft Health Cloud API and the Hello Sense API. The output is deterministic:
fixed ids, fixed timestamps and seeded random numbers, so running the script twice gives byte-identical files.

Run: `python samples/make_samples.py` (or `make samples`).
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import random
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from mitmproxy import connection, http, tcp
from mitmproxy import io as mitmio
from mitmproxy.net import encoding
from mitmproxy.proxy.mode_specs import ProxyMode

OUT_DIR = Path(__file__).parent
HAR_PATH = OUT_DIR / "phone-sync.har"
FLOW_PATH = OUT_DIR / "phone-sync.flow"

# --- planted secrets: none of them may survive in converted output --------------------------------------

BAND_WRAP_TOKEN = "s3cr3t-band-wrap-token-0001"
SENSE_ACCESS_TOKEN = "2.s3cr3t-sense-access-token-0002"
SENSE_REFRESH_TOKEN = "2.s3cr3t-sense-refresh-token-0003"
SENSE_PASSWORD = "s3cr3t-oauth-password-0004"
SENSE_CLIENT_SECRET = "s3cr3t-client-secret-0005"
COOKIE_VALUE = "s3cr3t-cookie-value-0006"
SET_COOKIE_VALUE = "s3cr3t-set-cookie-value-0007"
BAND_PUBLIC_TOKEN = "EwB4Aq1s3cr3t-msa-bearer-token-0008"  # the Microsoft account token of the public Health API
SECRETS = [
    BAND_WRAP_TOKEN,
    SENSE_ACCESS_TOKEN,
    SENSE_REFRESH_TOKEN,
    SENSE_PASSWORD,
    SENSE_CLIENT_SECRET,
    COOKIE_VALUE,
    SET_COOKIE_VALUE,
    BAND_PUBLIC_TOKEN,
]

SENSE_USERNAME = "sleeper@example.com"
SENSE_CLIENT_ID = "sense-android-example"
SENSE_ACCOUNT_ID = "5b0f7c1e-3d2a-4e8b-9c61-0a7d2e4f8b13"
SENSE_ACCOUNT_NUMBER = 58213  # the numeric account id insight cards carry: personal, must not reach the tables
BAND_DEVICE_ID = "FFFF1700-FFFF-FFFF-6D31-2C4A19000584"  # the Band, as the public API and SourceDevices name it
BAND_PUBLIC_USER_ID = "3e9d1c57-0b8a-4f62-a7d4-5c1e9b20f3a8"

# --- hosts and addresses ----------------------------------------------------------------------------------

BAND_HOST = "prodphswus.dns-cargo.com"
BAND_HOST_EAST = "prodphseus.dns-cargo.com"
KDS_HOST = "prodkds.dns-cargo.com"
BAND_PUBLIC_HOST = "api.microsofthealth.net"
SENSE_HOST = "api.hello.is"
SERVER_IPS = {
    BAND_HOST: "198.51.100.20",
    BAND_HOST_EAST: "198.51.100.21",
    KDS_HOST: "198.51.100.10",
    BAND_PUBLIC_HOST: "198.51.100.40",
    SENSE_HOST: "203.0.113.30",
    "www.google.com": "192.0.2.100",
    "www.google-analytics.com": "192.0.2.101",
    "maps.googleapis.com": "192.0.2.102",
    "ajax.googleapis.com": "192.0.2.103",
    "www.gstatic.com": "192.0.2.104",
    "fonts.googleapis.com": "192.0.2.105",
    "connectivitycheck.gstatic.com": "192.0.2.106",
}
MQTT_SERVER = ("203.0.113.77", 1883)
PHONE_IP = "192.168.1.23"
PROXY_IP = "192.168.1.10"

PST = timezone(timedelta(hours=-8))  # the user lives in US Pacific time; no DST in Jan 2015 / early March 2017
UTC = timezone.utc
TZ_OFFSET_MS = -8 * 3600 * 1000
HAR_SESSION = datetime(2017, 3, 3, 7, 31, 12, 345000, tzinfo=PST)
FLOW_SESSION = datetime(2017, 3, 4, 7, 31, 40, 120000, tzinfo=PST)


def ms(dt: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return round(dt.timestamp() * 1000)


def json_bytes(obj) -> bytes:
    """Compact JSON, as the servers send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def f32(x: float) -> float:
    """A value as the .NET services print a float32 (e.g. 2.1 -> 2.0999999046325684)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ==========================================================================================================
# Microsoft Band private API (/v1/Events)
# ==========================================================================================================

NET_EPOCH_TICKS = 621_355_968_000_000_000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01T00:00Z
EVENT_ID_BASE = 3_155_378_975_999_999_999  # EventId = EVENT_ID_BASE - StartTime in ticks
TICKS_PER_SECOND = 10**7
ENTITIES = "Microsoft.Khronos.Cloud.Ods.Data.Entities."
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def local_ticks(y: int, mo: int, d: int, h: int, mi: int, s: int, frac7: int) -> int:
    """.NET ticks of a Pacific wall-clock time with 7 fractional digits."""
    seconds = int(datetime(y, mo, d, h, mi, s, tzinfo=PST).timestamp())
    return NET_EPOCH_TICKS + seconds * TICKS_PER_SECOND + frac7


def tick_seconds(t: int) -> int:
    return (t - NET_EPOCH_TICKS) // TICKS_PER_SECOND


def tick_iso(t: int) -> str:
    """`2015-01-12T06:43:56.9908271Z`: UTC with 7 fractional digits."""
    seconds, frac = divmod(t - NET_EPOCH_TICKS, TICKS_PER_SECOND)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{frac:07d}Z"


def day_id(t: int) -> str:
    """The local date of `t` written as UTC midnight, like the service's DayId."""
    return f"{datetime.fromtimestamp(tick_seconds(t), PST):%Y-%m-%d}T00:00:00Z"


def event_id(start: int) -> str:
    return str(EVENT_ID_BASE - start)


def info_rows(start: int, seconds: int, row) -> list[dict]:
    """Per-minute `Info` rows covering [start, start+seconds), newest first.

    `row(offset, overlap)` gives the measured values of the minute starting `offset` seconds after the
    event start (negative for the partial first minute); `overlap` is how many seconds of the event it holds.
    """
    first = tick_seconds(start)
    end = first + seconds
    rows = []
    for minute in range(first - first % 60, end, 60):
        overlap = min(end, minute + 60) - max(first, minute)
        values = row(minute - first, overlap)
        rows.append(
            {
                "TimeOfDay": f"{datetime.fromtimestamp(minute, UTC):%Y-%m-%dT%H:%M:%S}Z",
                "DayClassification": "None",
                "ActivityLevel": "Inactive",
                "StepsTaken": values["steps"],
                "CaloriesBurned": values["calories"],
                "UvExposure": 0,
                "Location": None,
                "PeakHeartRate": values["hr"] + values["hr_up"],
                "LowestHeartRate": values["hr"] - values["hr_down"],
                "AverageHeartRate": values["hr"],
                "TotalDistance": str(values["distance_cm"]),  # a JSON string, as the service sends it
                "ItCal": 0,
            }
        )
    return rows[::-1]


def odata_events(host: str, events: list[dict]) -> dict:
    """The OData collection envelope of `/v1/Events`."""
    return {"odata.metadata": f"https://{host}/v1/$metadata#Events", "value": events}


# --- sleep ------------------------------------------------------------------------------------------------

SLEEP_NIGHTS = [
    # (start, auto-detected, sequences as (SequenceType, SleepType, seconds))
    (
        local_ticks(2015, 1, 8, 22, 51, 37, 2210465),
        False,
        [
            ("Dozing", "UNKNOWN", 1020),
            ("Sleep", "RestlessSleep", 2940),
            ("Sleep", "RestfulSleep", 4320),
            ("Awake", "UNKNOWN", 360),
            ("Sleep", "RestlessSleep", 3480),
            ("Sleep", "RestfulSleep", 3900),
            ("Sleep", "RestlessSleep", 2160),
            ("Awake", "UNKNOWN", 240),
            ("Sleep", "RestfulSleep", 2580),
            ("Sleep", "RestlessSleep", 1860),
            ("Awake", "UNKNOWN", 600),
        ],
    ),
    (
        local_ticks(2015, 1, 9, 23, 27, 8, 5093317),
        True,
        [
            ("Awake", "UNKNOWN", 420),
            ("Dozing", "UNKNOWN", 780),
            ("Sleep", "RestlessSleep", 3360),
            ("Sleep", "RestfulSleep", 5040),
            ("Snoozing", "UNKNOWN", 300),
            ("Sleep", "RestlessSleep", 4620),
            ("Awake", "UNKNOWN", 480),
            ("Sleep", "RestfulSleep", 3120),
            ("Sleep", "RestlessSleep", 1500),
            ("Awake", "UNKNOWN", 540),
        ],
    ),
]
SLEEP_HR = {"Awake": 66, "Dozing": 62, "Snoozing": 63, "RestlessSleep": 57, "RestfulSleep": 52}
SLEEP_INFO_MINUTES = 30  # Info is cut to the first half hour of each night to keep the sample small


def band_sleep_event(start: int, auto_detected: bool, phases: list[tuple[str, str, int]]) -> dict:
    """A `SleepEventDTO` with Sequences and (the first half hour of) Info."""
    rng = random.Random(f"sleep-{start}")
    sequences, t = [], start
    for order, (seq_type, sleep_type, seconds) in enumerate(phases, 1):
        hr = SLEEP_HR[sleep_type if seq_type == "Sleep" else seq_type] + rng.randint(-2, 2)
        sequences.append(
            {
                "odata.type": ENTITIES + "SleepEventSequenceDTO",
                "SequenceId": str(t),
                "StartTime": tick_iso(t),
                "SequenceType": seq_type,
                "Duration": seconds,
                "CaloriesBurned": round(seconds / 60 * 1.05),
                "LocationBlob": ZERO_GUID,
                "Order": order,
                "AverageHeartRate": hr,
                "LowestHeartRate": hr - rng.randint(2, 5),
                "PeakHeartRate": hr + rng.randint(4, 12),
                "SleepTime": seconds if seq_type == "Sleep" else 0,
                "SleepType": sleep_type,
                "DayId": day_id(start),
            }
        )
        t += seconds * TICKS_PER_SECOND

    duration = sum(s["Duration"] for s in sequences)
    asleep = [i for i, s in enumerate(sequences) if s["SequenceType"] == "Sleep"]
    first, last = asleep[0], asleep[-1]
    time_to_fall_asleep = sum(s["Duration"] for s in sequences[:first])
    sleep_time = sum(sequences[i]["Duration"] for i in asleep)
    restful = sum(sequences[i]["Duration"] for i in asleep if sequences[i]["SleepType"] == "RestfulSleep")
    wake_up_offset = sum(s["Duration"] for s in sequences[: last + 1])
    average_hr = round(sum(s["AverageHeartRate"] * s["Duration"] for s in sequences) / duration)
    lowest_hr = min(s["LowestHeartRate"] for s in sequences)

    def minute(offset: int, overlap: int) -> dict:
        now = start + max(offset, 0) * TICKS_PER_SECOND
        phase = next(s for s in reversed(sequences) if int(s["SequenceId"]) <= now)
        steps = rng.randint(0, 8) if phase["SequenceType"] != "Sleep" and rng.random() < 0.4 else 0
        return {
            "steps": steps,
            "calories": 1 if overlap >= 30 else 0,
            "hr": phase["AverageHeartRate"] + rng.randint(-2, 2),
            "hr_up": rng.randint(1, 5),
            "hr_down": rng.randint(1, 3),
            "distance_cm": steps * 64,
        }

    return {
        "odata.type": ENTITIES + "SleepEventDTO",
        "Info": info_rows(start, SLEEP_INFO_MINUTES * 60, minute),
        "Sequences": sequences,
        "EventId": event_id(start),
        "Duration": duration,
        "ParentEventId": "0",
        "Name": None,
        "DeliveryID": 0,
        "EventType": "Sleeping",
        "StartTime": tick_iso(start),
        "CaloriesBurned": sum(s["CaloriesBurned"] for s in sequences),
        "DayId": day_id(start),
        "Feeling": "Unknown",
        "AverageHeartRate": average_hr,
        "LowestHeartRate": lowest_hr,
        "PeakHeartRate": max(s["PeakHeartRate"] for s in sequences),
        "Flags": 1,
        "PausedTime": 0,
        "IsAutoDetected": auto_detected,
        "FallAsleepTime": tick_iso(start + time_to_fall_asleep * TICKS_PER_SECOND),
        "WakeUpTime": tick_iso(start + wake_up_offset * TICKS_PER_SECOND),
        "NumberOfWakeups": sum(1 for s in sequences[first:last] if s["SequenceType"] == "Awake"),
        "RestingHeartRate": lowest_hr + 2,
        "SleepEfficiencyPercentage": round(100 * sleep_time / duration, 1),
        "SleepTime": sleep_time,
        "AwakeTime": duration - sleep_time,
        "TimeToFallAsleep": time_to_fall_asleep,
        "TotalRestfulSleep": restful,
        "TotalRestlessSleep": sleep_time - restful,
    }


def band_sleep_events() -> list[dict]:
    return [band_sleep_event(*night) for night in SLEEP_NIGHTS]


# --- run --------------------------------------------------------------------------------------------------

RUN_START = local_ticks(2015, 1, 11, 8, 12, 31, 2714530)
RUN_SPLITS = [(100050, 352), (99960, 361), (100030, 347), (99980, 355), (100010, 340), (3090, 11)]  # (cm, s)
RUN_WAYPOINT_CM = 25000
RUN_ORIGIN = (37.7687, -122.4670)  # a loop in a large public park
RUN_LEGS = [(-1, 0, 200000), (0, 1, 51560), (1, 0, 200000), (0, -1, 51560)]  # (east, north, cm): 5031.2 m
RUN_DIST = [sum(d for d, _ in RUN_SPLITS[:i]) for i in range(len(RUN_SPLITS) + 1)]  # cumulative cm
RUN_TIME = [sum(s for _, s in RUN_SPLITS[:i]) for i in range(len(RUN_SPLITS) + 1)]  # cumulative s


def run_split_index(cumulative: list[int], x: float) -> int:
    """Index of the split holding position `x` of a cumulative distance or time list."""
    return min(bisect.bisect_right(cumulative, x) - 1, len(RUN_SPLITS) - 1)


def run_time_at(cm: float) -> float:
    """Seconds since the start when the runner had covered `cm` (constant pace within a split)."""
    i = run_split_index(RUN_DIST, cm)
    return RUN_TIME[i] + (cm - RUN_DIST[i]) / RUN_SPLITS[i][0] * RUN_SPLITS[i][1]


def run_distance_at(seconds: float) -> float:
    """Centimetres covered `seconds` after the start."""
    seconds = min(max(seconds, 0), RUN_TIME[-1])
    i = run_split_index(RUN_TIME, seconds)
    return RUN_DIST[i] + (seconds - RUN_TIME[i]) / RUN_SPLITS[i][1] * RUN_SPLITS[i][0]


def run_heart_rate(seconds: float) -> int:
    return round(96 + 66 * (1 - math.exp(-seconds / 300)))


def run_location(cm: float, rng: random.Random) -> dict:
    """GPS fix `cm` along the loop: degrees x 10^7, altitude and errors in cm."""
    east = north = 0.0
    left = cm
    for dx, dy, length in RUN_LEGS:
        step = min(left, length)
        east, north, left = east + dx * step, north + dy * step, left - step
    lat = RUN_ORIGIN[0] + north / 100 / 111_320
    lon = RUN_ORIGIN[1] + east / 100 / (111_320 * math.cos(math.radians(RUN_ORIGIN[0])))
    return {
        "Latitude": round(lat * 1e7),
        "Longitude": round(lon * 1e7),
        "AltitudeFromMSL": round(6200 + 900 * math.sin(2 * math.pi * cm / RUN_DIST[-1])) + rng.randint(-40, 40),
        "EHPE": rng.randint(300, 900),
        "EVPE": rng.randint(500, 1500),
    }


def split_pace(cm: int, seconds: int) -> int:
    """Pace in milliseconds per kilometre."""
    return round(seconds * 1000 * 100000 / cm)


def run_sequences(rng: random.Random) -> list[dict]:
    sequences = []
    for i, (cm, seconds) in enumerate(RUN_SPLITS):
        t = RUN_START + RUN_TIME[i] * TICKS_PER_SECOND
        hr = run_heart_rate(RUN_TIME[i] + seconds / 2)
        calories = round(seconds / 60 * 12.6)
        sequences.append(
            {
                "odata.type": ENTITIES + "RunEventSequenceDTO",
                "SequenceId": str(t),
                "StartTime": tick_iso(t),
                "SequenceType": "Running",
                "Duration": seconds,
                "CaloriesBurned": calories,
                "LocationBlob": ZERO_GUID,
                "Order": i + 1,
                "AverageHeartRate": hr,
                "LowestHeartRate": run_heart_rate(RUN_TIME[i]) - rng.randint(0, 3),
                "PeakHeartRate": run_heart_rate(RUN_TIME[i + 1]) + rng.randint(2, 6),
                "CaloriesFromCarbs": round(calories * 0.62),
                "CaloriesFromFat": calories - round(calories * 0.62),
                "StressBalance": 50.0,
                "MaximalV02": 0.0,
                "TrainingEffect": f32(1.4 + 0.3 * i),
                "AnalysisStatus": "Successful",
                "HRZoneClassification": None,
                "HeartRateZones": {"Under": 0, "Aerobic": 2 if i else 3, "Anaerobic": 3 if i > 1 else 0,
                                   "FitnessZone": 1 if i < 2 else 0, "HealthyHeart": 0, "RedLine": 0, "Over": 0},
                "TotalDistance": RUN_DIST[i + 1],
                "SplitDistance": cm,
                "SplitPace": split_pace(cm, seconds),
                "OverallPace": split_pace(RUN_DIST[i + 1], RUN_TIME[i + 1]),
                "ActualDistance": RUN_DIST[i + 1],
                "PausedTime": 0,
            }
        )
    return sequences


def run_map_points(rng: random.Random) -> list[dict]:
    """Start, a waypoint every 250 m, a split at every full kilometre, end."""
    marks = [(0, "Start")]
    marks += [(cm, "WayPoint") for cm in range(RUN_WAYPOINT_CM, RUN_DIST[-1], RUN_WAYPOINT_CM) if cm % 100000]
    marks += [(cm, "Split") for cm in RUN_DIST[1:-1]]
    marks += [(RUN_DIST[-1], "End")]
    points = []
    for ordinal, (cm, kind) in enumerate(sorted(marks)):
        seconds = run_time_at(cm)
        split = run_split_index(RUN_DIST, max(cm - 1, 0))  # the split that ends at a Split point
        pace = 0 if kind == "Start" else round(split_pace(*RUN_SPLITS[split]), -3) + 1000 * rng.randint(-8, 8)
        point = {
            "SecondsSinceStart": round(seconds),
            "MapPointType": kind,
            "MapPointOrdinal": ordinal,
            "ActualDistance": cm,
            "TotalDistance": cm,
            "HeartRate": run_heart_rate(seconds) + rng.randint(-2, 2),
            "Pace": pace,
            "ScaledPace": 100 if kind == "Start" else rng.randint(20, 95),
            "Location": run_location(cm, rng),
            "IsPaused": False,
            "IsResume": False,
        }
        if kind == "Split":
            point = {"odata.type": ENTITIES + "Event.SplitMapPointDTO", **point, "SplitOrdinal": RUN_DIST.index(cm) - 1}
        points.append(point)
    return points


def band_run_event(expand: tuple[str, ...] = ("Sequences", "MapPoints", "Info")) -> dict:
    """The `UserRunEventDTO`, with the navigation properties named in `expand`."""
    rng = random.Random("run")
    sequences, points = run_sequences(rng), run_map_points(rng)

    def minute(offset: int, overlap: int) -> dict:
        start, end = max(offset, 0), offset + 60
        distance = round(run_distance_at(end) - run_distance_at(start))
        return {
            "steps": round(168 * overlap / 60) + rng.randint(-3, 3) if overlap > 5 else 0,
            "calories": round(12.6 * overlap / 60),
            "hr": run_heart_rate(start + overlap / 2),
            "hr_up": rng.randint(2, 6),
            "hr_down": rng.randint(2, 6),
            "distance_cm": distance,
        }

    info = info_rows(RUN_START, RUN_TIME[-1], minute)
    altitudes = [p["Location"]["AltitudeFromMSL"] for p in points]
    climbs = [b - a for a, b in zip(altitudes, altitudes[1:])]
    navigation = {"Info": info, "Sequences": sequences, "MapPoints": points}
    return {
        "odata.type": ENTITIES + "UserRunEventDTO",
        **{name: navigation[name] for name in ("Info", "Sequences", "MapPoints") if name in expand},
        "EventId": event_id(RUN_START),
        "Duration": RUN_TIME[-1],
        "ParentEventId": "0",
        "Name": "Park loop",
        "DeliveryID": 0,
        "EventType": "Running",
        "StartTime": tick_iso(RUN_START),
        "CaloriesBurned": sum(s["CaloriesBurned"] for s in sequences),
        "DayId": day_id(RUN_START),
        "Feeling": "Unknown",
        "AverageHeartRate": round(sum(s["AverageHeartRate"] * s["Duration"] for s in sequences) / RUN_TIME[-1]),
        "LowestHeartRate": min(s["LowestHeartRate"] for s in sequences),
        "PeakHeartRate": max(s["PeakHeartRate"] for s in sequences),
        "Flags": 1,
        "AnalysisStatus": "Successful",
        "CaloriesFromCarbs": sum(s["CaloriesFromCarbs"] for s in sequences),
        "CaloriesFromFat": sum(s["CaloriesFromFat"] for s in sequences),
        "StressBalance": 50.0,
        "MaximalVO2": 0.0,
        "TrainingEffect": f32(3.1),
        "HeartRateZones": {"Under": 0, "Aerobic": 11, "Anaerobic": 12, "FitnessZone": 3, "HealthyHeart": 0,
                           "RedLine": 0, "Over": 0},
        "FinishHeartRate": sequences[-1]["PeakHeartRate"],
        "RecoveryHeartRate1Minute": 131,
        "RecoveryHeartRate2Minute": 112,
        "RecoveryTime": 172800,
        "PausedTime": 0,
        "TotalDistance": RUN_DIST[-1],
        "ActualDistance": RUN_DIST[-1],
        "SplitDistance": 100000,
        "WayPointDistance": RUN_WAYPOINT_CM,
        "Pace": split_pace(RUN_DIST[-1], RUN_TIME[-1]),
        "StepsTaken": sum(row["StepsTaken"] for row in info),
        "MaxAltitude": max(altitudes),
        "MinAltitude": min(altitudes),
        "TotalAltitudeGain": sum(c for c in climbs if c > 0),
        "TotalAltitudeLoss": -sum(c for c in climbs if c < 0),
    }


# --- workout ----------------------------------------------------------------------------------------------

WORKOUT_START = local_ticks(2015, 1, 10, 18, 5, 43, 6617092)
WORKOUT_SECONDS = 1500


def band_workout_event() -> dict:
    """A `UserWorkoutEventDTO` (a kettlebell session) with Sequences and Info."""
    rng = random.Random("workout")

    def minute(offset: int, overlap: int) -> dict:
        steps = rng.randint(4, 40) if overlap > 5 else 0
        return {
            "steps": steps,
            "calories": round(11 * overlap / 60),
            "hr": 118 + round(30 * math.sin(math.pi * max(offset, 0) / WORKOUT_SECONDS)) + rng.randint(-4, 4),
            "hr_up": rng.randint(3, 9),
            "hr_down": rng.randint(3, 9),
            "distance_cm": steps * 55,
        }

    info = info_rows(WORKOUT_START, WORKOUT_SECONDS, minute)
    calories = sum(row["CaloriesBurned"] for row in info)
    zones = {"Under": 2, "Aerobic": 9, "Anaerobic": 6, "FitnessZone": 5, "HealthyHeart": 3, "RedLine": 0, "Over": 0}
    hr = {
        "AverageHeartRate": round(sum(row["AverageHeartRate"] for row in info) / len(info)),
        "LowestHeartRate": min(row["LowestHeartRate"] for row in info),
        "PeakHeartRate": max(row["PeakHeartRate"] for row in info),
    }
    sequence = {
        "odata.type": ENTITIES + "ExerciseEventSequenceDTO",
        "SequenceId": str(WORKOUT_START),
        "StartTime": tick_iso(WORKOUT_START),
        "SequenceType": "Workout",
        "Duration": WORKOUT_SECONDS,
        "CaloriesBurned": calories,
        "LocationBlob": ZERO_GUID,
        "Order": 1,
        **hr,
        "CaloriesFromCarbs": calories // 2,
        "CaloriesFromFat": calories - calories // 2,
        "StressBalance": 50.0,
        "MaximalV02": 0.0,
        "TrainingEffect": f32(2.3),
        "AnalysisStatus": "Successful",
        "HRZoneClassification": None,
        "HeartRateZones": zones,
    }
    return {
        "odata.type": ENTITIES + "UserWorkoutEventDTO",
        "Info": info,
        "Sequences": [sequence],
        "EventId": event_id(WORKOUT_START),
        "Duration": WORKOUT_SECONDS,
        "ParentEventId": "0",
        "Name": "Kettlebell circuit",
        "DeliveryID": 0,
        "EventType": "Workout",
        "StartTime": tick_iso(WORKOUT_START),
        "CaloriesBurned": calories,
        "DayId": day_id(WORKOUT_START),
        "Feeling": "Unknown",
        **hr,
        "Flags": 1,
        "AnalysisStatus": "Successful",
        "CaloriesFromCarbs": calories // 2,
        "CaloriesFromFat": calories - calories // 2,
        "StressBalance": 50.0,
        "MaximalVO2": 0.0,
        "TrainingEffect": f32(2.3),
        "HeartRateZones": zones,
        "FinishHeartRate": info[0]["AverageHeartRate"],
        "RecoveryHeartRate1Minute": 104,
        "RecoveryHeartRate2Minute": 92,
        "RecoveryTime": 64800,
        "PausedTime": 0,
    }


def kds_user() -> dict:
    """The `GET /api/v1/user` discovery answer: where this user's data lives."""
    return {
        "RegisteredUserId": "0c5e2a4b-7f31-4d8e-a1b2-93c4d5e6f701",
        "CreatedOn": "2014-11-02T18:22:10.5530000Z",
        "LastModifiedOn": "2017-02-27T03:14:59.1120000Z",
        "LastUserUpdateOn": "2016-08-19T16:40:02.0000000Z",
        "EndPoint": f"https://{BAND_HOST}/",
        "FUSEndPoint": "https://prodfus.dns-cargo.com/",
        "HnFEndPoint": "https://prodhnf.dns-cargo.com/",
        "HnFQueryParameters": "market=en-us",
        "ODSUserID": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "LFSUserID": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
        "ContainerName": "3c4d5e6f-7081-4a2b-9c3d-4e5f60718293",
        "ApplicationSettings": {"ApplicationId": ZERO_GUID},
    }


# --- daily and hourly summaries (/v2/UserDailySummary, /v2/UserHourlySummary) ----------------------------

SUMMARY_FIRST_DAY = datetime(2015, 1, 5, tzinfo=PST)  # the week Monday 5 to Sunday 11 January 2015
SUMMARY_DAYS = 7
HOURLY_DAY = datetime(2015, 1, 11, tzinfo=PST)  # the day of the run: its hours are fetched one by one
HOUR_STEPS = [0, 0, 0, 0, 0, 0, 0, 420, 0, 1250, 640, 810, 1380, 920, 560, 690, 870, 1310, 960, 480, 310, 190, 60, 0]
AWAKE_HOURS = range(7, 23)  # HOUR_STEPS[8] is unused: the run's hour adds up the run's Info minutes
MAX_HR = 188  # the wearer's maximum heart rate (DailyHeartRateZones.MaxHr)


def utc_z(dt: datetime) -> str:
    return f"{dt.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def band_hourly_rows() -> list[dict]:
    """The 24 `UserActivity` hours of HOURLY_DAY; hour 8 holds the run (its Info minutes, plus some walking)."""
    rng = random.Random("hourly")
    run_info = band_run_event()["Info"]
    run_minutes = len(run_info)
    rows = []
    for hour in range(24):
        awake = hour in AWAKE_HOURS
        steps = round(HOUR_STEPS[hour] * rng.uniform(0.8, 1.2)) if awake else rng.choice([0, 0, 0, 12, 27])
        hr = rng.randint(72, 80) if awake else rng.randint(52, 57)
        values = {
            "steps": steps,
            "calories": round((84 if awake else 61) + steps * 0.045),
            "hr": hr,
            "peak": hr + rng.randint(9, 24) if awake else hr + rng.randint(4, 9),
            "low": hr - rng.randint(6, 12) if awake else hr - rng.randint(3, 6),
            "distance": steps * 68,
            "floors": rng.choice([0, 0, 1, 1, 2, 3]) if awake else 0,
            "uv": rng.randint(0, 4) if 10 <= hour <= 15 else 0,
        }
        if hour == 8:  # the run, 08:12 to 08:42, and a walk to and from the park
            walk = rng.randint(240, 300)
            values["steps"] = sum(m["StepsTaken"] for m in run_info) + walk
            values["calories"] = sum(m["CaloriesBurned"] for m in run_info) + round(84 * (60 - run_minutes) / 60)
            values["hr"] = round((sum(m["AverageHeartRate"] for m in run_info) + 82 * (60 - run_minutes)) / 60)
            values["peak"] = max(m["PeakHeartRate"] for m in run_info)
            values["low"] = 66
            values["distance"] = sum(int(m["TotalDistance"]) for m in run_info) + walk * 68
            values["uv"] = 3
        rows.append(
            {
                "TimeOfDay": utc_z(HOURLY_DAY + timedelta(hours=hour)),
                "DayClassification": "None",
                "ActivityLevel": "Inactive",
                "StepsTaken": values["steps"],
                "CaloriesBurned": values["calories"],
                "UvExposure": values["uv"],
                "Location": None,
                "PeakHeartRate": values["peak"],
                "LowestHeartRate": values["low"],
                "AverageHeartRate": values["hr"],
                "TotalDistance": str(values["distance"]),  # JSON strings, as in Info rows
                "TotalDistanceOnFoot": str(values["distance"]),
                "FloorsClimbed": values["floors"],
                "ItCal": 0,
            }
        )
    return rows


def band_hourly_summary() -> dict:
    return {"odata.metadata": f"https://{BAND_HOST}/v2/$metadata#UserHourlySummary", "value": band_hourly_rows()}


def band_daily_summary() -> dict:
    """`/v2/UserDailySummary` for SUMMARY_DAYS days; the run's day adds up its hourly rows."""
    rng = random.Random("daily")
    source = [{"SensorType": sensor, "DeviceGroups": [{"DeviceIds": [BAND_DEVICE_ID], "DeviceMetadataHint": "Band",
                                                       "SourceType": "Band"}]}
              for sensor in ("Steps", "HeartRate", "Calories")]
    hours = band_hourly_rows()
    days = []
    for i in range(SUMMARY_DAYS):
        start = SUMMARY_FIRST_DAY + timedelta(days=i)
        if start == HOURLY_DAY:
            steps = sum(h["StepsTaken"] for h in hours)
            totals = {
                "steps": steps,
                "calories": sum(h["CaloriesBurned"] for h in hours),
                "uv": sum(h["UvExposure"] for h in hours),
                "peak": max(h["PeakHeartRate"] for h in hours),
                "low": min(h["LowestHeartRate"] for h in hours),
                "hr": round(sum(h["AverageHeartRate"] for h in hours) / 24),
                "distance": sum(int(h["TotalDistance"]) for h in hours),
                "floors": sum(h["FloorsClimbed"] for h in hours),
                "active": sum(1 for h in hours if h["StepsTaken"] >= 250),
            }
            zones = {"HealthyHeart": 52, "FitnessZone": 6, "Aerobic": 12, "Anaerobic": 12, "RedLine": 0, "Over": 0}
            intense = 1440
        else:
            steps = rng.randint(6200, 10900)
            totals = {
                "steps": steps,
                "calories": 2050 + round(steps * 0.045) + rng.randint(-40, 40),
                "uv": rng.randint(2, 16),
                "peak": rng.randint(118, 149),
                "low": rng.randint(47, 53),
                "hr": rng.randint(67, 73),
                "distance": steps * 68 + rng.randint(-900, 900),
                "floors": rng.randint(3, 12),
                "active": rng.randint(7, 11),
            }
            zones = {"HealthyHeart": rng.randint(25, 70), "FitnessZone": rng.randint(0, 9),
                     "Aerobic": rng.randint(0, 4), "Anaerobic": 0, "RedLine": 0, "Over": 0}
            intense = rng.choice([0, 0, 60, 120])
        worn = 1440 - rng.randint(20, 75)  # minutes the Band was worn: charging takes a while
        zones = {"Under": worn - sum(zones.values()), **zones, "MaxHr": MAX_HR}
        days.append(
            {
                "TimeOfDay": utc_z(start),  # the UTC instant of local midnight
                "DayClassification": "None",
                "StepsTaken": totals["steps"],
                "CaloriesBurned": totals["calories"],
                "UvExposure": totals["uv"],
                "Location": None,
                "PeakHeartRate": totals["peak"],
                "LowestHeartRate": totals["low"],
                "AverageHeartRate": totals["hr"],
                "DailyHeartRateZones": zones,
                "TotalDistance": totals["distance"],
                "TotalDistanceOnFoot": str(totals["distance"]),
                "NumberOfActiveHours": totals["active"],
                "FloorsClimbed": totals["floors"],
                "CardioScore": 60 * (zones["FitnessZone"] + zones["Aerobic"] + zones["Anaerobic"] + zones["RedLine"]),
                "IntenseCardioSeconds": intense,
                "SourceDevices": source,
            }
        )
    return {"odata.metadata": f"https://{BAND_HOST}/v2/$metadata#UserDailySummary", "value": days}


def band_raised_insights() -> dict:
    """`GET /v1/RaisedInsights(…)`: insights about the week of the run, in the Android model's types (InsightId a
    number, NoteworthyPivot a string); field names from the Health apps' RaisedInsight models."""
    def insight(n: int, insight_id: int, acknowledged: bool, message: str, line1: str, line2: str, used: str) -> dict:
        return {"RaisedInsightId": fixed_id("raised-insight", n), "InsightId": insight_id, "Expired": False,
                "Acknowledged": acknowledged, "EffectiveDT": "2015-01-11T20:00:00-08:00",
                "ExpirationDT": "2015-01-18T20:00:00-08:00", "IM_Msg": message, "IM_Help": None,
                "IM_Action_Msg": None, "DeviceLine1_Msg": line1, "DeviceLine1_Help": None, "DeviceLine2_Msg": line2,
                "DeviceLine2_Help": None, "DataUsedPivot": [used], "ComparisonPivot": None, "CategoryPivot": [],
                "TimespanPivot": "Week", "TonePivot": None, "ScopePivot": "Global", "NoteworthyPivot": "False",
                "InsightEvidence": []}
    return {"odata.metadata": f"https://{BAND_HOST}/v1/$metadata#RaisedInsights", "value": [
        insight(1, 1204, True, "You took **12% more steps** this week than last week.", "+12% steps", "this week",
                "Steps"),
        insight(2, 1311, False, "Your run on Sunday burned the most calories of your week.", "Top calorie day",
                "Sunday", "Calories"),
    ]}


def band_daily_url() -> str:
    """The iOS app's daily summary query: OData key arguments with plain quotes."""
    last = SUMMARY_FIRST_DAY + timedelta(days=SUMMARY_DAYS - 1)
    return (f"https://{BAND_HOST}/v2/UserDailySummary(timeZoneUtcOffset=-480,"
            f"startDate='{SUMMARY_FIRST_DAY:%Y-%m-%d}',endDate='{last:%Y-%m-%d}')")


def android_hourly_url() -> str:
    """The Android app's hourly query for HOURLY_DAY, percent-encoded by `URLEncoder`."""
    def stamp(dt: datetime) -> str:
        return dt.isoformat().replace(":", "%3A")

    return (f"https://{BAND_HOST}/v2/UserHourlySummary(period=%27h%27)"
            f"?$filter=TimeOfDay+ge+datetimeoffset%27{stamp(HOURLY_DAY)}%27"
            f"+and+TimeOfDay+lt+datetimeoffset%27{stamp(HOURLY_DAY + timedelta(days=1))}%27")


# ==========================================================================================================
# Microsoft Health Cloud API, the public one (api.microsofthealth.net): the same run, the Band
# ==========================================================================================================


def public_time(t: int) -> str:
    """`2015-01-11T16:12:31.271+00:00`: ticks as the public API writes times (milliseconds, cut, with an offset)."""
    seconds, frac = divmod(t - NET_EPOCH_TICKS, TICKS_PER_SECOND)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{frac // 10_000:03d}+00:00"


def public_time_of(text: str) -> str:
    """A private `...Z` time (whole seconds or 7 digits) as the public API writes it."""
    return public_time(NET_EPOCH_TICKS + round(datetime.fromisoformat(text).timestamp() * TICKS_PER_SECOND))


def iso_duration(seconds: int) -> str:
    """`PT29M26S`, as the public API writes durations."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = "".join(f"{v}{u}" for v, u in ((h, "H"), (m, "M"), (s, "S")) if v)
    return f"PT{text or '0S'}"


def public_zones(zones: dict) -> dict:
    """Private HeartRateZones as the public `heartRateZones`: camel case, zeros left out."""
    names = {"Under": "underHealthyHeart", "HealthyHeart": "healthyHeart", "FitnessZone": "fitnessZone",
             "Aerobic": "aerobic", "Anaerobic": "anaerobic", "RedLine": "redline", "Over": "overRedline"}
    return {names[k]: v for k, v in zones.items() if k in names and v}


def summary(period: str, **values) -> dict:
    """A calories / heart-rate / distance summary: zero and unknown values are left out, `period` stays."""
    return {"period": period, **{k: v for k, v in values.items() if v}}


def public_run_activity() -> dict:
    """The run of `band_run_event()` as `/v1/me/Activities` returns it with Details, MinuteSummaries and MapPoints
    (kilometre splits): the same id, times cut to milliseconds, durations in ISO 8601, distances in cm."""
    run = band_run_event()
    end = RUN_START + run["Duration"] * TICKS_PER_SECOND
    segments = []
    for s in run["Sequences"]:
        start = int(s["SequenceId"])
        segments.append(
            {
                "segmentId": start,  # a JSON number here, a string in the private API
                "startTime": public_time(start),
                "endTime": public_time(start + s["Duration"] * TICKS_PER_SECOND),
                "duration": iso_duration(s["Duration"]),
                "heartRateSummary": summary("Segment", averageHeartRate=s["AverageHeartRate"],
                                            peakHeartRate=s["PeakHeartRate"], lowestHeartRate=s["LowestHeartRate"]),
                "caloriesBurnedSummary": summary("Segment", totalCalories=s["CaloriesBurned"]),
                "segmentType": "Run",
                "distanceSummary": summary("Segment", totalDistance=s["SplitDistance"],
                                           actualDistance=s["SplitDistance"], pace=s["SplitPace"],
                                           overallPace=s["OverallPace"]),
                "heartRateZones": public_zones(s["HeartRateZones"]),
                "splitDistance": run["SplitDistance"],
            }
        )
    minutes = []
    for m in run["Info"]:  # newest first, like Info
        start = datetime.fromisoformat(m["TimeOfDay"])
        minutes.append(
            {
                "userId": BAND_PUBLIC_USER_ID,
                "startTime": f"{start:%Y-%m-%dT%H:%M:%S}.000+00:00",
                "endTime": f"{start + timedelta(minutes=1):%Y-%m-%dT%H:%M:%S}.000+00:00",
                "period": "Minute",
                "duration": "PT1M",
                "stepsTaken": m["StepsTaken"],
                "caloriesBurnedSummary": summary("Minute", totalCalories=m["CaloriesBurned"]),
                "heartRateSummary": summary("Minute", averageHeartRate=m["AverageHeartRate"],
                                            peakHeartRate=m["PeakHeartRate"], lowestHeartRate=m["LowestHeartRate"]),
                "distanceSummary": summary("Minute", totalDistance=int(m["TotalDistance"]),
                                           totalDistanceOnFoot=int(m["TotalDistance"])),
            }
        )
    points = []
    for p in run["MapPoints"]:
        loc = p["Location"]
        point = {
            "secondsSinceStart": p["SecondsSinceStart"],
            "mapPointType": "Waypoint" if p["MapPointType"] == "WayPoint" else p["MapPointType"],
            "ordinal": p["MapPointOrdinal"],
            "actualDistance": p["ActualDistance"],
            "totalDistance": p["TotalDistance"],
            "heartRate": p["HeartRate"],
            "pace": p["Pace"],
            "scaledPace": p["ScaledPace"],
            "location": {"latitude": loc["Latitude"], "longitude": loc["Longitude"],
                         "elevationFromMeanSeaLevel": loc["AltitudeFromMSL"],
                         "estimatedHorizontalError": loc["EHPE"], "estimatedVerticalError": loc["EVPE"]},
            "isPaused": p["IsPaused"],
            "isResume": p["IsResume"],
        }
        zero = {"actualDistance", "totalDistance", "pace"}  # at the start: left out, as zeros are
        points.append({k: v for k, v in point.items() if not (k in zero and v == 0)})
    return {
        "activityType": "Run",
        "activitySegments": segments,
        "performanceSummary": {"finishHeartRate": run["FinishHeartRate"],
                               "recoveryHeartRateAt1Minute": run["RecoveryHeartRate1Minute"],
                               "recoveryHeartRateAt2Minutes": run["RecoveryHeartRate2Minute"],
                               "heartRateZones": public_zones(run["HeartRateZones"])},
        "distanceSummary": summary("Activity", totalDistance=run["TotalDistance"], actualDistance=run["ActualDistance"],
                                   elevationGain=run["TotalAltitudeGain"], elevationLoss=run["TotalAltitudeLoss"],
                                   maxElevation=run["MaxAltitude"], minElevation=run["MinAltitude"],
                                   waypointDistance=run["WayPointDistance"], pace=run["Pace"]),
        "splitDistance": run["SplitDistance"],
        "mapPoints": points,
        "id": run["EventId"],
        "startTime": public_time(RUN_START),
        "endTime": public_time(end),
        "dayId": f"{run['DayId'][:10]}T00:00:00.000+00:00",
        "name": run["Name"],
        "duration": iso_duration(run["Duration"]),
        "minuteSummaries": minutes,
        "caloriesBurnedSummary": summary("Activity", totalCalories=run["CaloriesBurned"]),
        "heartRateSummary": summary("Activity", averageHeartRate=run["AverageHeartRate"],
                                    peakHeartRate=run["PeakHeartRate"], lowestHeartRate=run["LowestHeartRate"]),
    }


def public_activities() -> dict:
    """`GET /v1/me/Activities?activityTypes=Run&…`: an ActivitiesResponse (empty collections left out)."""
    return {"runActivities": [public_run_activity()], "itemCount": 1}


def public_devices() -> dict:
    """`GET /v1/me/Devices`, as the service answered it (not the bare list of the Swagger)."""
    return {
        "deviceProfiles": [
            {
                "id": BAND_DEVICE_ID,
                "displayName": "",  # never named: the service sends an empty string
                "lastSuccessfulSync": "2017-03-04T15:18:40.127+00:00",
                "deviceFamily": "Band",
                "hardwareVersion": "19",
                "softwareVersion": "10.3.3304.0 prod",
                "modelName": "Microsoft Band",
                "manufacturer": "Microsoft",
                "deviceStatus": "Active",
                "createdDate": "2014-11-02T18:40:55.410+00:00",
            }
        ],
        "itemCount": 1,
    }


# ==========================================================================================================
# Hello Sense API
# ==========================================================================================================

V2_MESSAGES = {
    "GOT_IN_BED": "You got in bed.",
    "LIGHTS_OUT": "The lights went out.",
    "FELL_ASLEEP": "You fell asleep.",
    "GENERIC_MOTION": "You moved around a little.",
    "PARTNER_MOTION": "Your partner was **moving around**.",
    "GENERIC_SOUND": "There was a **noise** in your room.",
    "SNORED": "You **snored** for a while.",
    "SUNRISE": "The sun rose.",
    "WOKE_UP": "You woke up.",
    "GOT_OUT_OF_BED": "You got out of bed.",
}
IN_BED_MESSAGES = {
    "AWAKE": "You were awake.",
    "LIGHT": "You were in light sleep.",
    "MEDIUM": "You were in medium sleep.",
    "SOUND": "You were in **sound sleep**.",
}
V2_ACTIONS = {
    "GOT_IN_BED": ["ADJUST_TIME", "VERIFY", "INCORRECT"],
    "FELL_ASLEEP": ["ADJUST_TIME", "VERIFY", "INCORRECT"],
    "WOKE_UP": ["ADJUST_TIME", "VERIFY", "INCORRECT"],
    "GOT_OUT_OF_BED": ["ADJUST_TIME", "VERIFY", "INCORRECT"],
    "GENERIC_MOTION": ["VERIFY", "REMOVE"],
    "PARTNER_MOTION": ["VERIFY", "REMOVE"],
    "GENERIC_SOUND": ["VERIFY", "REMOVE"],
    "SNORED": ["VERIFY", "REMOVE"],
}

# Nights as (bedtime, events as (event_type, sleep_depth, minutes), room conditions in the metrics).
SENSE_NIGHTS = {
    "2017-03-01": (
        datetime(2017, 3, 1, 23, 14, tzinfo=PST),
        [("GOT_IN_BED", 0, 1), ("IN_BED", 2, 11), ("LIGHTS_OUT", 4, 1), ("IN_BED", 7, 13), ("FELL_ASLEEP", 15, 1),
         ("IN_BED", 40, 52), ("IN_BED", 82, 71), ("GENERIC_MOTION", 30, 1), ("IN_BED", 55, 64), ("IN_BED", 3, 9),
         ("IN_BED", 48, 58), ("IN_BED", 85, 47), ("GENERIC_SOUND", 35, 1), ("IN_BED", 62, 66), ("IN_BED", 12, 24),
         ("WOKE_UP", 3, 1), ("IN_BED", 1, 8), ("GOT_OUT_OF_BED", 0, 1)],
        {"temperature": "IDEAL", "humidity": "IDEAL", "particulates": "WARNING", "sound": "IDEAL", "light": "IDEAL"},
    ),
    "2017-03-02": (
        datetime(2017, 3, 2, 22, 58, tzinfo=PST),
        [("GOT_IN_BED", 0, 1), ("LIGHTS_OUT", 3, 1), ("IN_BED", 6, 12), ("FELL_ASLEEP", 18, 1), ("IN_BED", 44, 47),
         ("IN_BED", 88, 85), ("GENERIC_MOTION", 30, 1), ("IN_BED", 60, 70), ("SNORED", 55, 1), ("IN_BED", 92, 95),
         ("GENERIC_SOUND", 40, 1), ("IN_BED", 35, 80), ("IN_BED", 9, 40), ("WOKE_UP", 2, 1), ("IN_BED", 0, 12),
         ("GOT_OUT_OF_BED", 0, 1)],
        {"temperature": "IDEAL", "humidity": "IDEAL", "particulates": "IDEAL", "sound": "WARNING", "light": "IDEAL"},
    ),
    "2017-03-03": (
        datetime(2017, 3, 3, 23, 31, tzinfo=PST),
        [("GOT_IN_BED", 0, 1), ("IN_BED", 4, 6), ("LIGHTS_OUT", 6, 1), ("FELL_ASLEEP", 16, 1), ("IN_BED", 52, 41),
         ("IN_BED", 90, 102), ("PARTNER_MOTION", 60, 1), ("IN_BED", 75, 88), ("IN_BED", 4, 6), ("IN_BED", 58, 77),
         ("IN_BED", 84, 54), ("SUNRISE", 30, 1), ("IN_BED", 20, 33), ("WOKE_UP", 3, 1), ("GOT_OUT_OF_BED", 0, 1)],
        {"temperature": "WARNING", "humidity": "IDEAL", "particulates": "IDEAL", "sound": "IDEAL", "light": "WARNING"},
    ),
}


def sleep_state(depth: int) -> str:
    """The server's rule from sleep depth to state."""
    return "AWAKE" if depth < 5 else "LIGHT" if depth < 10 else "MEDIUM" if depth < 70 else "SOUND"


def score_condition(score: int) -> str:
    return "UNAVAILABLE" if score == 0 else "IDEAL" if score >= 80 else "WARNING" if score >= 60 else "ALERT"


def sense_timeline_v2(night: str, score: int) -> dict:
    """A `GET /v2/timeline/{date}` answer for one of `SENSE_NIGHTS`."""
    bedtime, segments, room = SENSE_NIGHTS[night]
    events, t = [], ms(bedtime)
    for event_type, depth, minutes in segments:
        state = sleep_state(depth)
        events.append(
            {
                "timestamp": t,
                "timezone_offset": TZ_OFFSET_MS,
                "duration_millis": minutes * 60_000,
                "message": IN_BED_MESSAGES[state] if event_type == "IN_BED" else V2_MESSAGES[event_type],
                "sleep_depth": depth,
                "sleep_state": state,
                "event_type": event_type,
                "valid_actions": V2_ACTIONS.get(event_type, []),
            }
        )
        t += minutes * 60_000

    def at(event_type: str) -> int:
        return next(i for i, e in enumerate(events) if e["event_type"] == event_type)

    got_in, fell, woke = at("GOT_IN_BED"), at("FELL_ASLEEP"), at("WOKE_UP")
    night_events = events[fell:woke]
    total = sum(e["duration_millis"] for e in night_events if e["sleep_state"] != "AWAKE") // 60_000
    sound = sum(e["duration_millis"] for e in events if e["sleep_state"] == "SOUND") // 60_000
    to_sleep = (events[fell]["timestamp"] - events[got_in]["timestamp"]) // 60_000
    awake = sum(1 for e in night_events if e["sleep_state"] == "AWAKE")
    metrics = [
        {"name": "total_sleep", "value": total, "unit": "MINUTES",
         "condition": "IDEAL" if total >= 420 else "WARNING" if total >= 360 else "ALERT"},
        {"name": "sound_sleep", "value": sound, "unit": "MINUTES", "condition": "IDEAL" if sound >= 120 else "WARNING"},
        {"name": "time_to_sleep", "value": to_sleep, "unit": "MINUTES",
         "condition": "IDEAL" if to_sleep <= 20 else "WARNING"},
        {"name": "times_awake", "value": awake, "unit": "QUANTITY", "condition": "IDEAL" if awake <= 2 else "WARNING"},
        {"name": "fell_asleep", "value": events[fell]["timestamp"], "unit": "TIMESTAMP", "condition": "IDEAL"},
        {"name": "woke_up", "value": events[woke]["timestamp"], "unit": "TIMESTAMP", "condition": "IDEAL"},
    ]
    metrics += [{"name": sensor, "unit": "CONDITION", "condition": condition} for sensor, condition in room.items()]
    return {
        "score": score,
        "score_condition": score_condition(score),
        "message": f"You were asleep for **{total / 60:.1f} hours** "
                   f"and sleeping soundly for **{sound / 60:.1f} hours**.",
        "date": night,
        "events": events,
        "metrics": metrics,
    }


def sense_timeline_cut_off(started: datetime) -> Call:
    """The night of 2017-03-04, its body cut off mid-transfer (the connection dropped): not JSON, so the converter
    must reject it, keeping the bytes that did arrive."""
    call = sense_call(started, "GET", "/v2/timeline/2017-03-04", {
        "score": 0, "score_condition": "UNAVAILABLE", "message": "We're still processing your night.",
        "date": "2017-03-04", "events": [], "metrics": []}, ios=True)
    call.response_body = call.response_body[:97]
    return call


V1_SEGMENTS = [  # (event_type, sleep_depth, seconds, message); 2014 servers wrote null where later ones wrote "";
    # awake is depth 0, as in the real v1 nights (the v1 app drew 0 awake, 1-59 light, 60-99 medium, 100 deep)
    ("LIGHTS_OUT", 0, 600, "The lights went out in your room."),
    ("IN_BED", 0, 60, "You went to bed."),
    ("", 0, 840, ""),
    ("SLEEP", 22, 60, "You fell asleep."),
    (None, 45, 2400, ""),
    ("", 88, 4500, ""),
    ("MOTION", 30, 60, "You were moving around."),
    ("", 0, 420, ""),
    ("", 62, 3600, ""),
    ("SNORING", 55, 120, "There was some **snoring**."),
    (None, 91, 4200, ""),
    ("", 50, 3000, ""),
    ("MOTION", 25, 60, "You were moving around."),
    ("", 18, 2400, ""),
    ("WAKE_UP", 0, 60, "You woke up."),
    ("", 0, 540, ""),
]


# The room as the night's first segment began (suripu-core SensorReading: whole numbers, unit enum names), and the
# snoring clip the v1 server linked (a signed URL, never kept).
V1_SEGMENT_ROOM = {"LIGHTS_OUT": [{"name": "temperature", "value": 19, "unit": "CELCIUS"},
                                  {"name": "humidity", "value": 38, "unit": "PERCENT"},
                                  {"name": "particulates", "value": 12, "unit": "PPM"}]}
V1_SEGMENT_SOUND = {"SNORING": {"url": "https://hello-audio.s3.amazonaws.com/snore/abc.mp3?Signature=made-up",
                                "duration_millis": 6400, "is_empty": False}}


def sense_timeline_v1() -> list[dict]:
    """A `GET /v1/timeline/2015-01-20` answer: an array holding one v1 timeline."""
    t = ms(datetime(2015, 1, 20, 23, 2, tzinfo=PST))
    segments = []
    for i, (event_type, depth, seconds, message) in enumerate(V1_SEGMENTS, 1):
        segments.append({"id": i, "timestamp": t, "duration": seconds, "offset_millis": TZ_OFFSET_MS,
                         "sleep_depth": depth, "event_type": event_type, "message": message,
                         "sensors": V1_SEGMENT_ROOM.get(event_type, []), "sound": V1_SEGMENT_SOUND.get(event_type)})
        t += seconds * 1000
    types = [s["event_type"] for s in segments]
    got_in, fell, woke = types.index("IN_BED"), types.index("SLEEP"), types.index("WAKE_UP")
    asleep = segments[fell:woke]
    stretches = [0]  # minutes of sleep between awake segments
    for s in asleep:
        if s["sleep_depth"] < 10:
            stretches.append(0)
        else:
            stretches[-1] += s["duration"] // 60
    in_bed = sum(s["duration"] for s in segments[got_in:]) / 3600
    return [
        {
            "score": 74,
            "message": f"You were in bed for **{in_bed:.1f} hours**",
            "date": "2015-01-20",
            "segments": segments,
            "insights": [
                {"sensor": "temperature", "condition": "IDEAL", "message": "The temperature was **just right**."},
                {"sensor": "humidity", "condition": "WARNING", "message": "The air was a little **dry**."},
                {"sensor": "particulates", "condition": "IDEAL", "message": "The air quality was **good**."},
                {"sensor": "sound", "condition": "IDEAL", "message": "Your bedroom was **quiet**."},
                {"sensor": "light", "condition": "IDEAL", "message": "Your bedroom was **dark**."},
            ],
            "statistics": {
                "total_sleep": sum(stretches),
                "sound_sleep": sum(s["duration"] for s in segments if s["sleep_depth"] >= 70) // 60,
                "times_awake": len(stretches) - 1,
                "time_to_sleep": (segments[fell]["timestamp"] - segments[got_in]["timestamp"]) // 60000,
                "uninterrupted_sleep": max(stretches),
            },
        }
    ]


ROOM_READING = datetime(2017, 3, 3, 7, 25, tzinfo=PST)


def sense_room_current() -> dict:
    """`GET /v1/room/current?temp_unit=c`: the five sensors' latest reading."""
    updated = ms(ROOM_READING)

    def sensor(value, unit, condition, message, ideal):
        return {"value": value, "message": message, "ideal_conditions": ideal, "condition": condition,
                "last_updated_utc": updated, "unit": unit}

    return {
        "temperature": sensor(19.4, "c", "IDEAL", "It's **just right** in here.",
                              "You sleep best when the temperature is between **15°C** and **19°C**."),
        "humidity": sensor(41.2, "%", "IDEAL", "The humidity is **just right**.",
                           "You sleep best when humidity is between **30%** and **60%**."),
        "particulates": sensor(12.7, "AQI", "IDEAL", "The air quality is **good**.",
                               "For your health, keep the AQI below **50**."),
        "light": sensor(3.6, "lux", "IDEAL", "It's **dark** in here.",
                        "You sleep best when the light is below **2 lux**."),
        "sound": sensor(38.0, "dB", "IDEAL", "It's **quiet** in here.",
                        "You sleep best when it is quieter than **40 dB**."),
    }


SENSOR_LEVELS = {  # base value, amplitude, decimals, for the v1 and v2 histories
    "temperature": (20.1, 0.8, 2),
    "humidity": (41.0, 3.0, 1),
    "light": (2.0, 2.0, 2),
    "sound": (37.0, 6.0, 1),
    "particulates": (14.0, 4.0, 2),
}


def sensor_reading(sensor: str, t: int) -> float:
    """The invented reading of one sensor in the 5-minute bucket starting at `t` (ms); -1 in a gap.

    A function of time alone, so every endpoint reports the same value for the same bucket."""
    base, amplitude, decimals = SENSOR_LEVELS[sensor]
    bucket = t // 300_000
    if bucket % 61 in (0, 1, 2):  # the Sense was offline now and then
        return -1.0
    noise = random.Random(f"{sensor}-{bucket}").uniform(-0.25, 0.25)
    return round(max(0.0, base + amplitude * (math.sin(bucket / 5) + noise)), decimals)


def five_minute_floor(dt: datetime) -> datetime:
    return dt.replace(minute=dt.minute - dt.minute % 5, second=0, microsecond=0)


HOURS_FROM = five_minute_floor(HAR_SESSION)
DAY_FROM = five_minute_floor(HAR_SESSION).replace(tzinfo=UTC)  # `from` is the local wall-clock time written as UTC


def sense_room_hours() -> dict:
    """`GET /v1/room/all_sensors/hours?quantity=3&from_utc=…`: 3 hours of 5-minute samples per sensor."""
    end, count = ms(HOURS_FROM), 3 * 12 + 1
    times = [end - (count - 1 - i) * 300_000 for i in range(count)]
    return {sensor: [{"datetime": t, "value": sensor_reading(sensor, t), "offset_millis": TZ_OFFSET_MS}
                     for t in times]
            for sensor in SENSOR_LEVELS}


def sense_room_day() -> list[dict]:
    """`GET /v1/room/temperature/day?from=…`: the day of 5-minute temperature samples up to `from`."""
    end, count = ms(DAY_FROM) - TZ_OFFSET_MS, 24 * 12
    times = [end - (count - i) * 300_000 for i in range(count)]
    return [{"datetime": t, "value": sensor_reading("temperature", t), "offset_millis": TZ_OFFSET_MS}
            for t in times]


V2_SENSORS = [  # type, name, unit, value, condition, message, scale as (name, min, max, condition)
    ("TEMPERATURE", "Temperature", "CELSIUS", 18.9, "IDEAL", "The temperature is just right.",
     [("Cold", None, 9.99, "ALERT"), ("Cool", 10.0, 14.99, "WARNING"), ("Ideal", 15.0, 19.99, "IDEAL"),
      ("Warm", 20.0, 25.99, "WARNING"), ("Hot", 26.0, None, "ALERT")]),
    ("HUMIDITY", "Humidity", "PERCENT", 43.51, "IDEAL", "The humidity is just right.",
     [("Dry", 0.0, 29.99, "WARNING"), ("Ideal", 30.0, 60.99, "IDEAL"), ("Humid", 61.0, 100.0, "WARNING")]),
    ("LIGHT", "Light", "LUX", 4.2, "WARNING", "It’s a little bright.",
     [("Ideal", 0.0, 1.99, "IDEAL"), ("Somewhat bright", 2.0, 14.99, "WARNING"), ("Bright", 15.0, None, "ALERT")]),
    ("SOUND", "Noise", "DB", 36.5, "IDEAL", "The noise level is just right.",
     [("Quiet", 0.0, 64.99, "IDEAL"), ("Noisy", 65.0, 89.99, "WARNING"), ("Very noisy", 90.0, None, "ALERT")]),
    ("PARTICULATES", "Air Quality", "MG_CM", 15.3, "IDEAL", "The air quality is good.",
     [("Ideal", 0.0, 49.9, "IDEAL"), ("Moderate", 50.0, 149.9, "WARNING"), ("Unhealthy", 150.0, None, "ALERT")]),
]
V2_HISTORY_SCOPE = "LAST_3H_5_MINUTE"


def sense_sensors_v2() -> dict:
    """`GET /v2/sensors`: current values with their scales."""
    return {
        "status": "OK",
        "sensors": [
            {"name": name, "type": kind, "unit": unit, "message": message,
             "scale": [{"name": n, "min": lo, "max": hi, "condition": c} for n, lo, hi, c in scale],
             "condition": condition, "value": value}
            for kind, name, unit, value, condition, message, scale in V2_SENSORS
        ],
    }


def sense_sensors_v2_request() -> dict:
    return {"scope": V2_HISTORY_SCOPE, "sensors": [kind for kind, *_ in V2_SENSORS]}


def sense_sensors_v2_history() -> dict:
    """`POST /v2/sensors` answer for the last 3 hours, 5-minute buckets, -1 for gaps."""
    end, count = ms(five_minute_floor(FLOW_SESSION)), 37
    times = [end - (count - 1 - i) * 300_000 for i in range(count)]
    return {
        "timestamps": [{"t": t, "o": TZ_OFFSET_MS} for t in times],
        "sensors": {kind: [sensor_reading(kind.lower(), t) for t in times] for kind, *_ in V2_SENSORS},
    }


# --- trends, insights, devices (v2) ----------------------------------------------------------------------

# The nights of the LAST_WEEK trends as of the flow's morning: Saturday 25 February to Friday 3 March 2017.
# None: before the Sense was set up again; -1: a night without data (both -1 on the wire); the last three are SENSE_NIGHTS
# (2017-03-01 with the flow's score). Values: (score, hours asleep).
TREND_NIGHTS = [None, (79, 7.4), (82, 7.8), -1, "2017-03-01", "2017-03-02", "2017-03-03"]
TREND_SCORES = {"2017-03-01": 76, "2017-03-02": 84, "2017-03-03": 88}
TREND_FIRST_NIGHT = datetime(2017, 2, 25, tzinfo=PST)


def trend_nights() -> list[tuple[float | None, float | None]]:
    """(score, hours asleep) of each TREND_NIGHTS night, taken from the timelines where the samples have them."""
    out = []
    for night in TREND_NIGHTS:
        if isinstance(night, str):
            metrics = {m["name"]: m for m in sense_timeline_v2(night, TREND_SCORES[night])["metrics"]}
            out.append((TREND_SCORES[night], round(metrics["total_sleep"]["value"] / 60, 1)))
        elif night is None or night == -1:
            out.append((night, night))
        else:
            out.append(night)
    return out


def sleep_depth_shares() -> list[float]:
    """Light, medium and sound sleep as fractions of the sleep of the timelines' nights (the bubbles)."""
    minutes = {"LIGHT": 0, "MEDIUM": 0, "SOUND": 0}
    for night, score in TREND_SCORES.items():
        for e in sense_timeline_v2(night, score)["events"]:
            if e["sleep_state"] in minutes:
                minutes[e["sleep_state"]] += e["duration_millis"] // 60_000
    total = sum(minutes.values())
    light, medium = round(minutes["LIGHT"] / total, 2), round(minutes["MEDIUM"] / total, 2)
    return [light, medium, round(1 - light - medium, 2)]


def float32_text(value: float) -> float:
    """`value` as Jackson writes a Java float: the shortest decimal that reads back as the same float32."""
    single = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(1, 10):
        shortest = float(f"{single:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", shortest))[0] == single:
            return shortest
    return single


def sense_trends_v2() -> dict:
    """`GET /v2/trends/LAST_WEEK` as suripu-core trends/v2 lays it out for the flow's morning (today: Saturday
    2017-03-04): one value per day from 25 February (-1 for days without data), the score grid in week rows from
    Sunday padded with nulls, durations as whole minutes / 60 in float32 named from yesterday backwards, and the
    sleep-depth bubbles (no days)."""
    nights = trend_nights()
    scores = [-1 if s is None else s for s, _ in nights]
    hours = [-1 if h is None or h == -1 else float32_text(round(h * 60) / 60) for _, h in nights]
    first = TREND_FIRST_NIGHT.isoweekday() % 7  # grid columns from Sunday
    grid = [None] * first + scores + [None] * (-(first + len(scores)) % 7)
    names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    yesterday = (TREND_FIRST_NIGHT + timedelta(days=len(nights) - 1)).isoweekday() % 7
    slept = [h for h in hours if h != -1]
    return {
        "available_time_scales": ["LAST_WEEK"],
        "graphs": [
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Score",
                "data_type": "SCORES",
                "graph_type": "GRID",
                "min_value": min(v for v in scores if v != -1),
                "max_value": max(scores),
                "sections": [{"values": grid[:7], "titles": names, "highlighted_values": [],
                              "highlighted_title": yesterday},
                             {"values": grid[7:], "titles": [], "highlighted_values": [yesterday],
                              "highlighted_title": None}],
                "condition_ranges": [{"min_value": 0, "max_value": 59, "condition": "ALERT"},
                                     {"min_value": 60, "max_value": 79, "condition": "WARNING"},
                                     {"min_value": 80, "max_value": 100, "condition": "IDEAL"}],
                "annotations": [],
            },
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Duration",
                "data_type": "HOURS",
                "graph_type": "BAR",
                "min_value": min(slept),
                "max_value": max(slept),
                "sections": [{"values": hours,
                              "titles": [names[(yesterday - k) % 7] for k in range(len(hours))],
                              "highlighted_values": [i for i, h in enumerate(hours) if h in (min(slept), max(slept))],
                              "highlighted_title": len(hours) - 1}],
                "condition_ranges": [],
                "annotations": [{"title": "AVG", "value": round(sum(slept) / len(slept), 1), "data_type": "HOURS"},
                                {"title": "SHORTEST", "value": min(slept), "data_type": "HOURS"},
                                {"title": "LONGEST", "value": max(slept), "data_type": "HOURS"}],
            },
            {
                "time_scale": "LAST_WEEK",
                "title": "Sleep Depth",
                "data_type": "PERCENTS",
                "graph_type": "BUBBLES",
                "min_value": 0,
                "max_value": 1,
                "sections": [{"values": sleep_depth_shares(), "titles": ["Light", "Medium", "Deep"],
                              "highlighted_values": [], "highlighted_title": None}],
                "condition_ranges": [],
                "annotations": [],
            },
        ],
    }


def insight_image(name: str) -> dict:
    return {f"phone_{n}x": f"https://insights.hello.example/images/{name}@{n}x.png" for n in (1, 2, 3)}


def sense_insights_v2() -> list[dict]:
    """`GET /v2/insights`: the cards, newest first. Every card carries the numeric account id."""
    slept = dict(zip(TREND_NIGHTS, trend_nights()))["2017-03-02"][1]
    cards = [
        (datetime(2017, 3, 4, 7, 2, 11, 512000, tzinfo=PST), "LIGHT", "Light", "Lights Out",
         "Your bedroom was a little **bright** when you went to bed last night. A dark room helps you fall asleep "
         "faster.", "Light and sleep", "DEFAULT"),
        (datetime(2017, 3, 3, 6, 48, 37, 90000, tzinfo=PST), "SLEEP_DURATION", "Sleep Duration", "A Good Night",
         f"You slept **{slept} hours** last night, within the **7 to 9 hours** recommended for adults.",
         "Sleep duration: what's the ideal?", "DEFAULT"),
        (datetime(2017, 3, 1, 7, 15, 4, 333000, tzinfo=PST), "AIR_QUALITY", "Air Quality", "Dusty Air",
         "The air in your bedroom had more **particulates** than usual. An air purifier may help.", None, "BASIC"),
        (datetime(2017, 2, 26, 21, 40, 58, 817000, tzinfo=PST), "GENERIC", "Sense", "Welcome Back",
         "Sense is back in your bedroom. Your **Sleep Insights** will appear here over the coming days.", None,
         "BASIC"),
    ]
    return [
        {
            "id": fixed_id("insight", i) if i < 3 else None,  # the oldest card predates card ids
            "account_id": SENSE_ACCOUNT_NUMBER,
            "title": title,
            "message": message,
            "category": category,
            "category_name": category_name,
            "timestamp": ms(at),
            "info_preview": preview,
            "image": insight_image(category.lower()) if insight_type == "DEFAULT" else None,
            "insight_type": insight_type,
        }
        for i, (at, category, category_name, title, message, preview, insight_type) in enumerate(cards)
    ]


def sense_devices_v2() -> dict:
    """`GET /v2/devices`: the Sense and its Sleep Pill, each with its last contact (the Wi-Fi name stays behind)."""
    return {
        "senses": [{"id": "9F3E2B71C0A4D58E", "firmware_version": "1.0.5.3", "state": "NORMAL",
                    "last_updated": ms(datetime(2017, 3, 4, 7, 30, 52, tzinfo=PST)), "color": "WHITE",
                    "wifi_info": {"ssid": "ExampleNet-5G", "rssi": -58, "condition": "GOOD",
                                  "last_updated": ms(datetime(2017, 3, 4, 7, 0, 3, tzinfo=PST))},
                    "hw_version": "SENSE"}],
        "pills": [{"id": "5C1A9E07B3D2F846", "firmware_version": "2", "battery_level": 91,
                   "last_updated": ms(datetime(2017, 3, 4, 7, 12, 26, tzinfo=PST)), "state": "NORMAL",
                   "color": "RED", "battery_type": "SEALED"}],
    }


# Questions: the app asks two on the morning of 2017-03-04; the user answers the first and skips the second.
QUESTIONS_DAY = datetime(2017, 3, 4, tzinfo=UTC)  # the server sends the local day as that day's UTC midnight
QUESTIONS = [  # (question id, account_question_id, type, ask_time, text, choices)
    (12, 90311, "CHOICE", "MORNING", "Do you sleep better when your bedroom is warm or cool?",
     [(31, "Warm"), (32, "Cool"), (33, "No difference")]),
    (17, 90312, "CHECKBOX", "ANYTIME", "Which of these did you have in the evening?",
     [(51, "Coffee"), (52, "Alcohol"), (53, "A big meal"), (54, "None of these")]),
]


def sense_questions() -> list[dict]:
    """`GET /v1/questions?date=`: today's questions with their choices (suripu-core Question and Choice)."""
    return [
        {"id": qid, "account_question_id": aqid, "text": text, "type": kind, "ask_local_date": ms(QUESTIONS_DAY),
         "ask_time": ask_time, "choices": [{"id": cid, "text": ctext, "question_id": qid} for cid, ctext in choices]}
        for qid, aqid, kind, ask_time, text, choices in QUESTIONS
    ]


def sense_question_answer() -> list[dict]:
    """The request body of `POST /v1/questions/save`: the choice picked for the first question."""
    qid, _, _, _, _, choices = QUESTIONS[0]
    cid, text = choices[1]
    return [{"id": cid, "text": text, "question_id": qid}]


def alarm(hour: int, minute: int, days: list[int], alarm_id: str, sound: tuple[int, str], enabled: bool = True,
          smart: bool = True) -> dict:
    """One repeated alarm as the server writes it (suripu-core Alarm): no date, `day_of_week` Monday = 1."""
    return {"id": alarm_id, "year": 0, "month": 0, "day_of_month": 0, "hour": hour, "minute": minute,
            "day_of_week": days, "repeated": True, "enabled": enabled, "editable": True, "smart": smart,
            "sound": {"id": sound[0], "name": sound[1], "url": ""}, "source": "MOBILE_APP", "expansions": []}


def sense_alarms(saved: bool) -> dict:
    """`GET /v2/alarms`, and after the user turned the weekend alarm on, the groups `POST /v2/alarms/{ms}` sent
    (and the server echoed)."""
    return {"expansions": [], "voice": [], "classic": [
        alarm(6, 45, [1, 2, 3, 4, 5], fixed_id("alarm", 1), (5, "Dusk")),
        alarm(8, 30, [6, 7], fixed_id("alarm", 2), (10, "Waves"), enabled=saved, smart=False),
    ]}


def sense_token_request() -> bytes:
    return urlencode({"grant_type": "password", "client_id": SENSE_CLIENT_ID, "client_secret": SENSE_CLIENT_SECRET,
                      "username": SENSE_USERNAME, "password": SENSE_PASSWORD}).encode()


def sense_token_response() -> dict:
    return {"access_token": SENSE_ACCESS_TOKEN, "refresh_token": SENSE_REFRESH_TOKEN, "token_type": "Bearer",
            "expires_in": 31536000, "account_id": SENSE_ACCOUNT_ID}


# ==========================================================================================================
# Unrelated traffic
# ==========================================================================================================

GOOGLE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Google</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body><div id="main"><img src="/images/branding/googlelogo/1x/googlelogo_color_92x30dp.png" alt="Google">
<form action="/search"><input name="q" value="" aria-label="Search"><button>Google Search</button></form>
<p>© 2017 – Privacy – Terms</p></div></body></html>
"""
FONTS_CSS = """/* latin */
@font-face { font-family: 'Roboto'; font-style: normal; font-weight: 400;
  src: local('Roboto'), url(https://fonts.gstatic.com/s/roboto/v15/example-400.woff2) format('woff2'); }
@font-face { font-family: 'Roboto'; font-style: normal; font-weight: 700;
  src: local('Roboto Bold'), url(https://fonts.gstatic.com/s/roboto/v15/example-700.woff2) format('woff2'); }
"""
GSTATIC_JS = "(function(){var a=window.gbar=window.gbar||{};a.init=function(){return!0};})();\n"
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
MQTT_CONNECT = b"\x10\x16\x00\x04MQTT\x04\x02\x00\x3c\x00\x0aphone-0001"
MQTT_CONNACK = b"\x20\x02\x00\x00"


def tiny_png(width: int = 24, height: int = 8) -> bytes:
    """A small striped RGB PNG, built byte by byte (deterministic)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colors = [(66, 133, 244), (234, 67, 53), (251, 188, 5), (52, 168, 83)]
    rows = b"".join(b"\x00" + b"".join(bytes(colors[(x // 6) % 4]) for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def timezone_api() -> dict:
    return {"dstOffset": 0, "rawOffset": -28800, "status": "OK", "timeZoneId": "America/Los_Angeles",
            "timeZoneName": "Pacific Standard Time"}


def suggestions() -> list:
    return ["hello sense export", ["hello sense export data", "hello sense api", "hello sense shutdown"], [], [],
            {"google:suggesttype": ["QUERY", "QUERY", "QUERY"]}]


# ==========================================================================================================
# Exchanges, rendered into both formats
# ==========================================================================================================


@dataclass
class Call:
    """One invented HTTP exchange, independent of the capture format."""

    method: str
    url: str
    started: datetime  # aware; when the request was sent
    status: int
    request_headers: list[tuple[str, str]]  # without Host / HTTP/2 pseudo-headers / Content-Length
    response_headers: list[tuple[str, str]]  # without Content-Encoding / Content-Length
    response_body: bytes = b""
    request_body: bytes | None = None
    http2: bool = False
    wire_encoding: str | None = None  # "gzip" or "br": how the body travelled (the HAR keeps only the header)
    har_base64: bool = False  # the HAR stores the body base64-encoded
    on_page: bool = False  # the HAR entry belongs to the browser page

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname

    @property
    def target(self) -> str:
        """Path and query as on the wire."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def wire_body(self) -> bytes:
        return encoding.encode(self.response_body, self.wire_encoding) if self.wire_encoding else self.response_body

    @property
    def timings(self) -> dict[str, int]:
        """HAR timings in ms; the flow timestamps use the same split."""
        wait = 40 + len(self.response_body) // 400
        return {"blocked": 2, "dns": -1, "connect": -1, "send": 1, "wait": wait,
                "receive": 3 + len(self.wire_body) // 2000, "ssl": -1}

    @property
    def elapsed_ms(self) -> int:
        return sum(v for v in self.timings.values() if v > 0)

    def full_request_headers(self) -> list[tuple[str, str]]:
        headers = list(self.request_headers)
        if self.request_body is not None:
            headers.append(("Content-Length", str(len(self.request_body))))
        if self.http2:
            return [(name.lower(), value) for name, value in headers]
        return [("Host", self.host), *headers]

    def full_response_headers(self) -> list[tuple[str, str]]:
        headers = list(self.response_headers)
        if self.wire_encoding:
            headers.append(("Content-Encoding", self.wire_encoding))
        if self.status not in (204, 304):
            headers.append(("Content-Length", str(len(self.wire_body))))
        return [(name.lower(), value) for name, value in headers] if self.http2 else headers

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), None)


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def band_call(started: datetime, url: str, body: dict, status: int = 200, ios: bool = False, **kw) -> Call:
    """A request of the Microsoft Health app (Android unless `ios`) to the Band cloud, with the WRAP token."""
    agent = "MicrosoftHealth/1.3.30303 CFNetwork/808.2.16 Darwin/16.3.0" if ios else "KApp/1.3.11003.3 (Android 5.0.2)"
    headers = [("Authorization", f'WRAP access_token="{BAND_WRAP_TOKEN}"'), ("Accept", "application/json"),
               ("User-Agent", agent), ("Accept-Encoding", "gzip"), ("Connection", "Keep-Alive")]
    response = [("Cache-Control", "no-cache"), ("Date", http_date(started)), ("Server", "Microsoft-IIS/8.5"),
                ("X-Powered-By", "ASP.NET")]
    if status == 200 and ("/v1/Events" in url or "/v2/User" in url or "/v1/RaisedInsights" in url):  # OData
        response += [("Content-Type", "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"),
                     ("DataServiceVersion", "3.0;")]
    else:
        response.append(("Content-Type", "application/json; charset=utf-8"))
    if status == 401:
        response.append(("WWW-Authenticate", "WRAP"))
    return Call("GET", url, started, status, headers, response, json_bytes(body), **kw)


def band_public_call(started: datetime, target: str, body: dict, **kw) -> Call:
    """A request of a third-party Android app to the public Microsoft Health API, with the account's bearer token."""
    headers = [("Authorization", f"bearer {BAND_PUBLIC_TOKEN}"), ("Accept", "application/json"),
               ("User-Agent", "okhttp/3.6.0"), ("Accept-Encoding", "gzip"), ("Connection", "Keep-Alive")]
    response = [("Cache-Control", "no-cache"), ("Content-Type", "application/json; charset=utf-8"),
                ("Date", http_date(started)), ("Server", "Microsoft-IIS/8.5"), ("X-Powered-By", "ASP.NET")]
    return Call("GET", f"https://{BAND_PUBLIC_HOST}{target}", started, 200, headers, response, json_bytes(body), **kw)


def sense_call(started: datetime, method: str, target: str, body, request: dict | list | None = None,
               ios: bool = False, status: int = 200, **kw) -> Call:
    """A request of the Sense app to api.hello.is, with the bearer token."""
    agent = "Sense/1.9.2 (iPhone; iOS 10.2.1; Scale/2.00)" if ios else "okhttp/2.7.5"
    headers = [("Authorization", f"Bearer {SENSE_ACCESS_TOKEN}"), ("X-Client-Version", "1.9.2" if ios else "1.4.3"),
               ("Accept", "application/json"), ("User-Agent", agent), ("Accept-Encoding", "gzip")]
    if request is not None:
        headers.append(("Content-Type", "application/json; charset=UTF-8"))
    response = [("Date", http_date(started)), ("Server", "nginx")]
    if body is not None:  # 204 No Content: questions answered or skipped
        response = [("Content-Type", "application/json"), *response, ("Vary", "Accept-Encoding")]
    return Call(method, f"https://{SENSE_HOST}{target}", started, status, headers, response,
                b"" if body is None else json_bytes(body), json_bytes(request) if request is not None else None, **kw)


def sense_token_call(started: datetime) -> Call:
    headers = [("Content-Type", "application/x-www-form-urlencoded"), ("X-Client-Version", "1.4.3"),
               ("User-Agent", "okhttp/2.7.5"), ("Accept-Encoding", "gzip")]
    response = [("Content-Type", "application/json"), ("Date", http_date(started)), ("Cache-Control", "no-store"),
                ("Server", "nginx")]
    return Call("POST", f"https://{SENSE_HOST}/v1/oauth2/token", started, 200, headers, response,
                json_bytes(sense_token_response()), sense_token_request())


def web_call(started: datetime, url: str, mime: str, body: bytes, status: int = 200,
             cookie: str | None = None, set_cookie: str | None = None, **kw) -> Call:
    """Browser or Google Play services traffic over HTTP/2 (unless the URL is plain http)."""
    https = url.startswith("https:")
    headers = [("User-Agent", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5) AppleWebKit/537.36 (KHTML, like Gecko) "
                              "Chrome/56.0.2924.87 Mobile Safari/537.36"),
               ("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate, br"), ("Accept-Language", "en-US,en;q=0.8")]
    if cookie:
        headers.append(("Cookie", cookie))
    response = [("Date", http_date(started)), ("Server", "gws"), ("Cache-Control", "private, max-age=0")]
    if mime:
        response.insert(0, ("Content-Type", mime))
    if set_cookie:
        response.append(("Set-Cookie", set_cookie))
    return Call("GET", url, started, status, headers, response, body, http2=https, **kw)


def band_url(host: str, key: str, query: str) -> str:
    return f"https://{host}/v1/Events({key})?{query}"


def android_sleep_url(first: str, last: str) -> str:
    """The Android app's sleep query for DayIds `first`..`last`, percent-encoded by `URLEncoder`."""
    return band_url(BAND_HOST, "eventType=%27Sleeping%27",
                    f"$filter=DayId+ge+datetime%27{first}%27+and+DayId+le+datetime%27{last}%27"
                    "&$expand=Sequences%2CInfo")


def cookie_expiry(started: datetime) -> str:
    """The `expires` attribute of a cookie set at `started` for half a year."""
    return http_date((started + timedelta(days=183)).replace(microsecond=0))


def har_calls() -> list[Call]:
    """The browser-and-app session exported as HAR (2017-03-03, morning)."""
    t0 = HAR_SESSION

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    return [
        web_call(at(0), "https://www.google.com/", "text/html; charset=UTF-8", GOOGLE_HTML.encode(),
                 cookie=f"NID={COOKIE_VALUE}; CONSENT=YES+US.en+20170226-08-0",
                 set_cookie=f"NID={SET_COOKIE_VALUE}; expires={cookie_expiry(at(0))}; path=/; domain=.google.com; "
                            "HttpOnly",
                 wire_encoding="gzip", on_page=True),
        web_call(at(0.214), "https://www.google.com/images/branding/googlelogo/1x/googlelogo_color_92x30dp.png",
                 "image/png", tiny_png(), har_base64=True, on_page=True),
        web_call(at(0.231), "https://www.gstatic.com/og/_/js/k=og.og2.en_US.example/rt=j/m=def/",
                 "text/javascript; charset=UTF-8", GSTATIC_JS.encode(), on_page=True),
        web_call(at(0.388), "https://ajax.googleapis.com/ajax/libs/jquery/3.1.1/jquery.min.js", "", b"", status=304,
                 on_page=True),
        web_call(at(0.517), "https://www.google-analytics.com/collect?v=1&_v=j47&t=pageview&tid=UA-000000-1"
                 "&cid=1234567890.1488555072&dl=https%3A%2F%2Fwww.google.com%2F", "image/gif", PIXEL_GIF,
                 har_base64=True, on_page=True),
        web_call(at(3.902), "https://www.google.com/complete/search?client=chrome-mobile&q=hello+sense+export",
                 "text/javascript; charset=UTF-8", json_bytes(suggestions()), on_page=True),
        sense_token_call(at(21.118)),
        sense_call(at(21.640), "GET", "/v2/timeline/2017-03-01", sense_timeline_v2("2017-03-01", 71)),
        sense_call(at(21.702), "GET", "/v2/timeline/2017-03-02", sense_timeline_v2("2017-03-02", 84)),
        sense_call(at(22.950), "GET", "/v1/room/current?temp_unit=c", sense_room_current(), har_base64=True),
        sense_call(at(23.114), "GET", f"/v1/room/all_sensors/hours?quantity=3&from_utc={ms(HOURS_FROM)}",
                   sense_room_hours()),
        sense_call(at(24.306), "GET", f"/v1/room/temperature/day?from={ms(DAY_FROM)}", sense_room_day()),
        sense_call(at(27.481), "GET", "/v1/timeline/2015-01-20", sense_timeline_v1()),
        web_call(at(40.027), "https://maps.googleapis.com/maps/api/timezone/json?location=37.7687,-122.4670"
                 f"&timestamp={int(at(40).timestamp())}", "application/json; charset=UTF-8",
                 json_bytes(timezone_api())),
        band_call(at(45.733), android_sleep_url("2015-01-05", "2015-01-11"),
                  odata_events(BAND_HOST, band_sleep_events())),
        band_call(at(49.310), band_url(BAND_HOST, "eventType='Running'", "$top=10&$expand=Sequences,MapPoints,Info"),
                  odata_events(BAND_HOST, [band_run_event()]), ios=True, wire_encoding="gzip"),
    ]


def flow_calls() -> list[Call]:
    """The next morning's session through mitmproxy in transparent mode (2017-03-04)."""
    t0 = FLOW_SESSION

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    run_id = event_id(RUN_START)
    return [
        web_call(at(0), "http://connectivitycheck.gstatic.com/generate_204", "", b"", status=204),
        web_call(at(1.402), "https://www.google.com/", "text/html; charset=UTF-8", GOOGLE_HTML.encode(),
                 cookie=f"NID={SET_COOKIE_VALUE}; CONSENT=YES+US.en+20170226-08-0", wire_encoding="br"),
        web_call(at(1.655), "https://fonts.googleapis.com/css?family=Roboto:400,700", "text/css; charset=utf-8",
                 FONTS_CSS.encode()),
        web_call(at(1.903), "https://www.google-analytics.com/collect?v=1&_v=j47&t=pageview&tid=UA-000000-1"
                 "&cid=1234567890.1488555072&dl=https%3A%2F%2Fwww.google.com%2F", "image/gif", PIXEL_GIF,
                 set_cookie=f"_gid=GA1.2.998877665.1488641501; expires={cookie_expiry(at(1.903))}; path=/; "
                            "domain=.google-analytics.com"),
        band_call(at(12.480), f"https://{KDS_HOST}/api/v1/user", kds_user()),
        band_call(at(13.115), band_url(BAND_HOST, "eventType='Workout'", "$top=1&$expand=Sequences,Info"),
                  odata_events(BAND_HOST, [band_workout_event()]), ios=True),
        band_call(at(15.871), band_url(BAND_HOST_EAST, f"eventId='{run_id}'", "$expand=Sequences"),
                  odata_events(BAND_HOST_EAST, [band_run_event(expand=("Sequences",))]), wire_encoding="gzip"),
        band_call(at(19.026), android_sleep_url("2015-01-12", "2015-01-18"),
                  {"error": "unauthorized", "message": "Authorization has been denied for this request."}, status=401),
        sense_call(at(30.244), "GET", "/v1/room/current?temp_unit=c", sense_room_current()),
        sense_call(at(31.019), "GET", "/v2/timeline/2017-03-01", sense_timeline_v2("2017-03-01", 76)),
        sense_call(at(31.087), "GET", "/v2/timeline/2017-03-02", sense_timeline_v2("2017-03-02", 84),
                   wire_encoding="gzip"),
        sense_call(at(31.160), "GET", "/v2/timeline/2017-03-03T07:31", sense_timeline_v2("2017-03-03", 88), ios=True),
        sense_timeline_cut_off(at(33.412)),
        sense_call(at(35.790), "GET", "/v2/sensors", sense_sensors_v2(), ios=True),
        sense_call(at(35.861), "POST", "/v2/sensors", sense_sensors_v2_history(), request=sense_sensors_v2_request(),
                   ios=True),
        web_call(at(52.318), "https://maps.googleapis.com/maps/api/timezone/json?location=37.7687,-122.4670"
                 f"&timestamp={int(at(52).timestamp())}", "application/json; charset=UTF-8",
                 json_bytes(timezone_api())),
        # added later: appended so that the flows above keep their positions (source_entry)
        band_call(at(57.204), band_daily_url(), band_daily_summary(), ios=True, wire_encoding="gzip"),
        band_call(at(58.651), android_hourly_url(), band_hourly_summary(), wire_encoding="gzip"),
        band_public_call(at(63.480), "/v1/me/Devices", public_devices()),
        band_public_call(at(64.117), "/v1/me/Activities?activityTypes=Run&activityIncludes=Details,MinuteSummaries,"
                         "MapPoints&splitDistanceType=Kilometer", public_activities(), wire_encoding="gzip"),
        band_public_call(at(69.932), f"/v1/me/Activities/{run_id}?activityIncludes=Details,MinuteSummaries,"
                         "MapPoints&splitDistanceType=Kilometer", public_run_activity(), wire_encoding="gzip"),
        sense_call(at(78.305), "GET", "/v2/trends/LAST_WEEK", sense_trends_v2(), ios=True),
        sense_call(at(80.712), "GET", "/v2/insights", sense_insights_v2(), ios=True),
        sense_call(at(83.046), "GET", "/v2/devices", sense_devices_v2(), ios=True),
        sense_call(at(86.410), "GET", "/v1/questions?date=2017-03-04", sense_questions()),
        sense_call(at(95.127), "POST", f"/v1/questions/save?account_question_id={QUESTIONS[0][1]}", None,
                   request=sense_question_answer(), status=204),
        sense_call(at(99.853), "PUT", f"/v1/questions/skip?account_question_id={QUESTIONS[1][1]}&id={QUESTIONS[1][0]}",
                   None, status=204),
        sense_call(at(104.288), "GET", "/v2/alarms", sense_alarms(saved=False)),
        sense_call(at(112.604), "POST", f"/v2/alarms/{ms(at(112.6))}", sense_alarms(saved=True),
                   request=sense_alarms(saved=True)),
        band_call(at(118.935), f"https://{BAND_HOST}/v1/RaisedInsights(DataUsed='Steps',Timespan='Week',"
                  "Scope='Global')", band_raised_insights(), ios=True),
    ]


# --- HAR --------------------------------------------------------------------------------------------------


def har_cookies(header: str | None, response: bool) -> list[dict]:
    """The HAR cookie objects for a Cookie (request) or Set-Cookie (response) header."""
    if not header:
        return []
    if not response:
        pairs = [part.split("=", 1) for part in header.split("; ")]
        return [{"name": n, "value": v, "expires": None, "httpOnly": False, "secure": False} for n, v in pairs]
    name_value, *attributes = header.split("; ")
    name, value = name_value.split("=", 1)
    attrs = dict(a.split("=", 1) if "=" in a else (a, True) for a in attributes)
    expires = datetime.strptime(attrs["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    return [{"name": name, "value": value, "path": attrs.get("path", "/"), "domain": attrs.get("domain", ""),
             "expires": f"{expires:%Y-%m-%dT%H:%M:%S}.000Z", "httpOnly": "HttpOnly" in attrs, "secure": False}]


def headers_size(first_line: str, headers: list[tuple[str, str]]) -> int:
    return len(first_line) + 2 + sum(len(n) + 2 + len(v) + 2 for n, v in headers) + 2


def har_entry(c: Call) -> dict:
    """One HAR 1.2 entry, shaped like a Chrome DevTools export."""
    version = "http/2.0" if c.http2 else "HTTP/1.1"
    request_headers = c.full_request_headers()
    if c.http2:
        request_headers = [(":authority", c.host), (":method", c.method), (":path", c.target),
                           (":scheme", "https"), *request_headers]
    response_headers = c.full_response_headers()
    request = {
        "method": c.method,
        "url": c.url,
        "httpVersion": version,
        "headers": [{"name": n, "value": v} for n, v in request_headers],
        "queryString": [{"name": n, "value": v} for n, v in parse_qsl(urlsplit(c.url).query, keep_blank_values=True)],
        "cookies": har_cookies(next((v for n, v in request_headers if n.lower() == "cookie"), None), response=False),
        "headersSize": -1 if c.http2 else headers_size(f"{c.method} {c.target} {version}", request_headers),
        "bodySize": len(c.request_body) if c.request_body is not None else 0,
    }
    if c.request_body is not None:
        mime = next(v for n, v in c.request_headers if n == "Content-Type")
        request["postData"] = {"mimeType": mime, "text": c.request_body.decode()}
        if mime == "application/x-www-form-urlencoded":
            request["postData"]["params"] = [{"name": n, "value": v} for n, v in parse_qsl(c.request_body.decode())]
    content = {"size": len(c.response_body), "mimeType": c.header("Content-Type") or "x-unknown"}
    if c.wire_encoding:
        content["compression"] = len(c.response_body) - len(c.wire_body)
    if c.response_body:
        if c.har_base64:
            content.update(text=base64.b64encode(c.response_body).decode(), encoding="base64")
        else:
            content["text"] = c.response_body.decode()
    reason = http.status_codes.RESPONSES.get(c.status, "")
    response = {
        "status": c.status,
        "statusText": "" if c.http2 else reason,
        "httpVersion": version,
        "headers": [{"name": n, "value": v} for n, v in response_headers],
        "cookies": har_cookies(c.header("Set-Cookie"), response=True),
        "content": content,
        "redirectURL": "",
        "headersSize": -1 if c.http2 else headers_size(f"{version} {c.status} {reason}", response_headers),
        "bodySize": 0 if c.status == 304 else len(c.wire_body),
    }
    entry = {"pageref": "page_1"} if c.on_page else {}
    entry |= {
        "startedDateTime": c.started.isoformat(timespec="milliseconds"),
        "time": c.elapsed_ms,
        "request": request,
        "response": response,
        "cache": {},
        "timings": c.timings,
        "serverIPAddress": SERVER_IPS[c.host],
    }
    return entry


def build_har(calls: list[Call]) -> dict:
    first = calls[0].started
    page = {"startedDateTime": first.isoformat(timespec="milliseconds"), "id": "page_1", "title": "Google",
            "pageTimings": {"onContentLoad": 402, "onLoad": 655}}
    return {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                    "pages": [page], "entries": [har_entry(c) for c in calls]}}


# --- mitmproxy flows --------------------------------------------------------------------------------------

TRANSPARENT = ProxyMode.parse("transparent")
CIPHER = "ECDHE-RSA-AES128-GCM-SHA256"


def fixed_id(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://databack.invalid/samples/{kind}/{n}"))


def connections(n: int, address: tuple[str, int], sni: str | None, alpn: bytes | None,
                start: float, end: float) -> tuple[connection.Client, connection.Server]:
    """The phone->proxy and proxy->server connections of flow `n`, with fixed ids and times."""
    tls = sni is not None
    tls_fields = dict(tls=tls, sni=sni, alpn=alpn, tls_version="TLSv1.2" if tls else None,
                      cipher=CIPHER if tls else None)
    client = connection.Client(
        id=fixed_id("client", n), peername=(PHONE_IP, 41000 + n), sockname=(PROXY_IP, 8080),
        state=connection.ConnectionState.CLOSED, timestamp_start=start - 0.090,
        timestamp_tls_setup=start - 0.020 if tls else None, timestamp_end=end + 0.500,
        proxy_mode=TRANSPARENT, **tls_fields)
    server = connection.Server(
        id=fixed_id("server", n), address=address, peername=address, sockname=(PROXY_IP, 52000 + n),
        state=connection.ConnectionState.CLOSED, timestamp_start=start - 0.080, timestamp_tcp_setup=start - 0.060,
        timestamp_tls_setup=start - 0.030 if tls else None, timestamp_end=end + 0.500, **tls_fields)
    return client, server


def http_flow(c: Call, n: int) -> http.HTTPFlow:
    """Flow `n` as mitmproxy records it in transparent mode: the URL holds the server IP, the name is in Host."""
    parts = urlsplit(c.url)
    https = parts.scheme == "https"
    address = (SERVER_IPS[c.host], 443 if https else 80)
    timings = c.timings
    t0 = c.started.timestamp()
    t1 = t0 + timings["send"] / 1000
    t2 = t1 + timings["wait"] / 1000
    t3 = t2 + timings["receive"] / 1000
    alpn = (b"h2" if c.http2 else b"http/1.1") if https else None
    client, server = connections(n, address, c.host if https else None, alpn, t0, t3)
    flow = http.HTTPFlow(client, server)
    flow.id = fixed_id("flow", n)
    flow.timestamp_created = t0
    version = b"HTTP/2.0" if c.http2 else b"HTTP/1.1"
    flow.request = http.Request(
        host=address[0], port=address[1], method=c.method.encode(), scheme=parts.scheme.encode(),
        authority=c.host.encode() if c.http2 else b"", path=c.target.encode(), http_version=version,
        headers=http.Headers([(n.encode(), v.encode()) for n, v in c.full_request_headers()]),
        content=c.request_body or b"", trailers=None, timestamp_start=t0, timestamp_end=t1)
    flow.response = http.Response(
        http_version=version, status_code=c.status,
        reason=b"" if c.http2 else http.status_codes.RESPONSES[c.status].encode(),
        headers=http.Headers([(n.encode(), v.encode()) for n, v in c.full_response_headers()]),
        content=c.wire_body, trailers=None, timestamp_start=t2, timestamp_end=t3)
    return flow


def mqtt_flow(n: int) -> tcp.TCPFlow:
    """A non-HTTP flow (an MQTT keep-alive of some other app): converters must skip it."""
    start = (FLOW_SESSION - timedelta(seconds=4)).timestamp()
    client, server = connections(n, MQTT_SERVER, None, None, start, start + 0.2)
    flow = tcp.TCPFlow(client, server)
    flow.id = fixed_id("flow", n)
    flow.timestamp_created = start
    flow.messages = [tcp.TCPMessage(True, MQTT_CONNECT, start + 0.01),
                     tcp.TCPMessage(False, MQTT_CONNACK, start + 0.12)]
    return flow


def build_flows(calls: list[Call]) -> list:
    return [mqtt_flow(0)] + [http_flow(c, n) for n, c in enumerate(calls, 1)]


# --- main -------------------------------------------------------------------------------------------------


def verify(har_calls_: list[Call], flow_calls_: list[Call]) -> None:
    """Read both files back and check they hold what was written."""
    har = json.loads(HAR_PATH.read_text(encoding="utf-8"))
    assert len(har["log"]["entries"]) == len(har_calls_)
    with HAR_PATH.open("rb") as f:  # mitmproxy's own HAR reader must accept the file too
        assert [fl.request.pretty_host for fl in mitmio.FlowReader(f).stream()] == [c.host for c in har_calls_]
    with FLOW_PATH.open("rb") as f:
        flows = list(mitmio.FlowReader(f).stream())
    assert isinstance(flows[0], tcp.TCPFlow)
    for flow, c in zip(flows[1:], flow_calls_, strict=True):
        assert flow.request.pretty_host == c.host and flow.response.content == c.response_body
    for path in (HAR_PATH, FLOW_PATH):
        assert path.stat().st_size < 300_000, f"{path.name} is too big"
        assert any(s.encode() in path.read_bytes() for s in SECRETS)


def main() -> None:
    har_list, flow_list = har_calls(), flow_calls()
    HAR_PATH.write_text(json.dumps(build_har(har_list), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with FLOW_PATH.open("wb") as f:
        writer = mitmio.FlowWriter(f)
        for flow in build_flows(flow_list):
            writer.add(flow)
    verify(har_list, flow_list)
    for path, calls in ((HAR_PATH, har_list), (FLOW_PATH, flow_list)):
        print(f"{path.name}: {path.stat().st_size:,} bytes, {len(calls)} HTTP exchanges")


if __name__ == "__main__":
    main()
