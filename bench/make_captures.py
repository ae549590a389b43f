"""Generate large mixed captures for the benchmark: a HAR file or a mitmproxy flow dump of a given size.

Like a real phone capture, most of it is unrelated traffic (other JSON APIs, analytics beacons, HTML pages,
images); DEVICE_SHARE of the response body bytes are Microsoft Band and Hello Sense API responses in their
real shapes: Band sleep events (minute rows, sequences) and runs (minute rows, splits, GPS map points),
Sense v2 timelines and v2 sensor history. Every Band event and Sense night is distinct, so conversion
produces many rows, and different seeds cover different days. A seed gives the same traffic in both
formats. Files are streamed out exchange by exchange, never held in memory whole.

A full export (`--full-export`) is the capture a participant sends after pulling everything at once: FULL_SHARE of
the body bytes are device responses, of every long-array endpoint (Band events with minute rows, sequences and GPS
points; Sense v2 timelines and sensor histories, v1 all-sensor and one-sensor histories, v1 and v2 trends), and its
HAR and flow dump hold the same exchanges (`ensure_full_export`).

    python bench/make_captures.py har 200           # -> bench/data/har-200mb-seed0-v2.har (+ .stats.json)
    python bench/make_captures.py flow 100 --seed 3
    python bench/make_captures.py har 200 --full-export   # -> har-200mb-seed0-full-v2.har and the flow beside it
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
import sys
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import orjson

VERSION = 2  # part of the file name: bump it when the traffic changes, so cached captures are regenerated
DATA = Path(__file__).resolve().parent / "data"
MB = 1_000_000
DEVICE_SHARE = 0.15  # of the response body bytes (decoded)
FULL_SHARE = 0.6  # of a full export's response body bytes
V1_SKIP_DAYS = {"sense_all_sensors": 400, "sense_sensor_history": 700}  # older days (v1 routes ended in 2016)
ANCHOR = date(2017, 6, 1)  # newest day of device history for seed 0
SEED_SPAN_DAYS = 1000  # seed n starts n * SEED_SPAN_DAYS earlier: captures up to ~1 GB of different seeds never overlap
CAPTURED = datetime(2017, 6, 2, 8, 0, tzinfo=UTC)  # when the capture of seed n starts (plus n days)
TICKS_AT_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01
TICKS_PER_S = 10_000_000
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ODATA_TYPE = "Microsoft.Khronos.Cloud.Ods.Data.Entities."
BAND_HOST = "prodphswus.dns-cargo.com"
SENSE_HOST = "api.hello.is"
SENSE_OFFSET_MS = -7 * 3_600_000  # the sleeper's UTC offset
PHONE_UA = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MTC20K) AppleWebKit/537.36 Chrome/58.0.3029.83 Mobile"
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo "
    "consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla pariatur excepteur "
    "sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum"
).split()
JSON_HOSTS = (
    "graph.facebook.com",
    "api.twitter.com",
    "www.googleapis.com",
    "api.spotify.com",
    "api.weather.com",
    "api.instagram.com",
    "api.dropboxapi.com",
    "maps.googleapis.com",
    "login.live.com",
    "settings.crashlytics.com",
)
BEACON_HOSTS = ("app-measurement.com", "api.mixpanel.com", "in.appcenter.ms", "www.google-analytics.com")
PAGE_HOSTS = ("en.m.wikipedia.org", "www.nytimes.com", "www.reddit.com", "hello.is", "news.ycombinator.com")
IMAGE_HOSTS = ("scontent.cdninstagram.com", "pbs.twimg.com", "i.imgur.com", "lh3.googleusercontent.com")
IMAGE_MAGIC = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n",
    "webp": b"RIFF\0\0\0\0WEBPVP8 ",
}
REASONS = {200: b"OK", 204: b"No Content"}
V1_SENSORS = ("temperature", "humidity", "particulates", "sound", "light")
SENSOR_LEVELS = {  # Sense v2 sensor: typical value, spread
    "TEMPERATURE": (21.5, 1.5),
    "HUMIDITY": (45.0, 6.0),
    "LIGHT": (20.0, 20.0),
    "PARTICULATES": (30.0, 10.0),
    "SOUND": (35.0, 8.0),
    "CO2": (600.0, 150.0),
    "TVOC": (80.0, 30.0),
    "UV": (0.5, 0.5),
    "PRESSURE": (1013.0, 5.0),
}


class Body:
    """A response body, with its gzipped and base64 forms made once, when first asked for."""

    def __init__(self, data: bytes, mime: str):
        self.data, self.mime = data, mime

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.data, 6, mtime=0)

    @cached_property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def binary(self) -> bool:
        return self.mime.startswith("image/")


@dataclass(slots=True)
class Exchange:
    """One synthetic HTTP exchange, independent of the capture format."""

    time: float  # when the request was sent, Unix seconds
    duration: float  # until the response was complete, seconds
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    status: int
    response_headers: list[tuple[str, str]]
    body: Body
    gzip: bool  # sent with Content-Encoding: gzip: stored compressed in flows, decoded in HAR (as exporters do)
    device: bool


class Traffic:
    """An endless, reproducible stream of exchanges in which device responses keep DEVICE_SHARE of the body bytes."""

    def __init__(self, seed: int, device_share: float = DEVICE_SHARE, full_export: bool = False):
        self.device_share = device_share
        self.full_export = full_export
        self.rng = random.Random(seed)
        self.clock = (CAPTURED + timedelta(days=seed)).timestamp()
        self.newest_day = ANCHOR - timedelta(days=SEED_SPAN_DAYS * seed)
        self.days_used: dict[str, int] = {}
        self.exchanges = self.device_exchanges = self.body_bytes = self.device_bytes = 0
        self.token = "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=64))
        self.json_pool = [self._json_body() for _ in range(200)]
        self.page_pool = [self._page_body() for _ in range(20)]
        self.image_pool = [self._image_body() for _ in range(100)]

    def __iter__(self) -> Iterator[Exchange]:
        device_kinds, device_weights = (self._band_sleep, self._band_run, self._sense_timeline, self._sense_sensors), (
            1, 1, 3, 2)
        if self.full_export:  # every long-array endpoint
            device_kinds = (self._band_export, self._sense_timeline, self._sense_sensors, self._sense_all_sensors,
                            self._sense_sensor_history, self._sense_trends_v2, self._sense_trends_v1)
            device_weights = (2, 8, 4, 4, 4, 1, 1)
        other_kinds = (self._json_api, self._beacon, self._page, self._image)
        while True:
            device = self.device_bytes < self.device_share * self.body_bytes
            kinds, weights = (device_kinds, device_weights) if device else (other_kinds, (50, 15, 4, 31))
            ex = self.rng.choices(kinds, weights)[0]()
            self.clock += self.rng.expovariate(1.25)
            self.exchanges += 1
            self.body_bytes += len(ex.body.data)
            if device:
                self.device_exchanges += 1
                self.device_bytes += len(ex.body.data)
            yield ex

    def stats(self) -> dict[str, int]:
        return {
            "exchanges": self.exchanges,
            "device_exchanges": self.device_exchanges,
            "body_bytes": self.body_bytes,
            "device_body_bytes": self.device_bytes,
        }

    def _exchange(
        self,
        url: str,
        body: Body,
        *,
        device: bool,
        gzipped: bool,
        method: str = "GET",
        request_headers: list[tuple[str, str]] = (),
        request_body: bytes | None = None,
        status: int = 200,
        server: str = "nginx",
    ) -> Exchange:
        response_headers = [
            ("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(self.clock))),
            ("Server", server),
            ("Cache-Control", "private, max-age=0" if device else "public, max-age=86400"),
            ("X-Request-Id", f"{self.rng.getrandbits(128):032x}"),
        ]
        if body.data:
            response_headers.append(("Content-Type", body.mime))
        if gzipped:
            response_headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        headers = [("User-Agent", PHONE_UA), ("Accept-Encoding", "gzip, deflate"), ("Accept-Language", "en-US")]
        headers += request_headers
        duration = 0.05 + self.rng.expovariate(5) + len(body.data) / 2e6
        return Exchange(
            self.clock, duration, method, url, headers, request_body, status, response_headers, body, gzipped, device
        )

    def _next_day(self, kind: str, days: int = 1) -> date:
        """The next older day (or span of `days`) of device history of this kind: each kind walks back from the
        seed's newest day (v1 Sense kinds from further back)."""
        used = self.days_used[kind] = self.days_used.get(kind, 0) + days
        return self.newest_day - timedelta(days=used + V1_SKIP_DAYS.get(kind, 0))

    # -- Microsoft Band (BAND-API.md §A): GET /v1/Events(eventType='…')?$expand=…

    def _band_events(self, event_type: str | None, expand: str, events: list[dict]) -> Exchange:
        payload = {"odata.metadata": f"https://{BAND_HOST}/v1/$metadata#Events", "value": events}
        key = f"(eventType=%27{event_type}%27)" if event_type else ""
        url = f"https://{BAND_HOST}/v1/Events{key}?$expand={expand}&$top={len(events)}"
        headers = [
            ("Authorization", f"WRAP access_token={self.token}"),
            ("Accept", "application/json"),
            ("DataServiceVersion", "3.0"),
        ]
        body = Body(orjson.dumps(payload), "application/json; odata=minimalmetadata; charset=utf-8")
        return self._exchange(
            url, body, device=True, gzipped=True, request_headers=headers, server="Microsoft-IIS/8.5"
        )

    def _band_sleep(self) -> Exchange:
        events = [self._sleep_event(self._next_day("band_sleep")) for _ in range(self.rng.choice((1, 1, 2, 3)))]
        return self._band_events("Sleeping", "Sequences%2CInfo", events)

    def _band_run(self) -> Exchange:
        events = [self._run_event(self._next_day("band_run")) for _ in range(self.rng.choice((1, 1, 2)))]
        return self._band_events("Running", "Info%2CSequences%2CMapPoints", events)

    def _band_export(self) -> Exchange:
        """The full export: `/v1/Events?$expand=Sequences,Info,MapPoints` paged by the app, every kind of event in
        each page (sleeps with minute rows and sequences, runs with GPS points as well)."""
        events = []
        for _ in range(self.rng.randint(2, 6)):
            if self.rng.random() < 0.6:
                events.append(self._sleep_event(self._next_day("band_sleep")))
            else:
                events.append(self._run_event(self._next_day("band_run")))
        return self._band_events(None, "Sequences%2CInfo%2CMapPoints", events)

    def _sleep_event(self, night: date) -> dict:
        """A night of 7-9 hours: alternating awake and sleep sequences, and a minute row per minute."""
        rng = self.rng
        start = _ticks(night, 21 * 3600 + rng.randrange(4 * 3600)) + rng.randrange(TICKS_PER_S)
        total = rng.randrange(7 * 3600, 9 * 3600)
        day_id = f"{night.isoformat()}T00:00:00Z"
        sequences, offset = [], 0
        while offset < total:
            if len(sequences) % 2 == 0:  # awake spells between sleep spells; the first one is falling asleep
                kind, sleep_type = rng.choice(("Awake", "Awake", "Dozing", "Snoozing")), "UNKNOWN"
                length, hr = 60 * rng.randint(1, 12), rng.randint(55, 75)
            else:
                kind, sleep_type = "Sleep", rng.choice(("RestlessSleep", "RestfulSleep"))
                length, hr = 60 * rng.randint(10, 50), rng.randint(48, 62)
            length = min(length, total - offset)
            sequences.append({
                "odata.type": ODATA_TYPE + "SleepEventSequenceDTO",
                "SequenceId": str(start + offset * TICKS_PER_S),
                "StartTime": _iso7(start + offset * TICKS_PER_S),
                "SequenceType": kind,
                "SleepType": sleep_type,
                "Order": len(sequences) + 1,
                "Duration": length,
                "SleepTime": length if kind == "Sleep" else 0,
                "CaloriesBurned": length // 60,
                "AverageHeartRate": hr,
                "LowestHeartRate": hr - rng.randint(1, 5),
                "PeakHeartRate": hr + rng.randint(1, 12),
                "LocationBlob": ZERO_GUID,
                "DayId": day_id,
            })
            offset += length
        asleep = sum(s["SleepTime"] for s in sequences)
        restful = sum(s["Duration"] for s in sequences if s["SleepType"] == "RestfulSleep")
        falling_asleep = sequences[0]["Duration"]
        return {
            "odata.type": ODATA_TYPE + "UserSleepEventDTO",
            "Info": self._minute_rows(start, total, steps=(0, 3), hr=(48, 70), distance=0),
            "Sequences": sequences,
            "EventId": str(start),
            "ParentEventId": "0",
            "Name": None,
            "DeliveryID": 0,
            "EventType": "Sleeping",
            "StartTime": _iso7(start),
            "DayId": day_id,
            "Duration": total,
            "CaloriesBurned": total // 60,
            "AverageHeartRate": 56,
            "PeakHeartRate": 80,
            "LowestHeartRate": 47,
            "Feeling": "Unknown",
            "Flags": 0,
            "IsAutoDetected": rng.random() < 0.3,
            "FallAsleepTime": _iso7(start + falling_asleep * TICKS_PER_S),
            "WakeUpTime": _iso7(start + total * TICKS_PER_S),
            "NumberOfWakeups": len(sequences) // 2,
            "RestingHeartRate": rng.randint(47, 60),
            "SleepEfficiencyPercentage": round(100 * asleep / total, 1),
            "SleepTime": asleep,
            "AwakeTime": total - asleep,
            "TimeToFallAsleep": falling_asleep,
            "TotalRestfulSleep": restful,
            "TotalRestlessSleep": asleep - restful,
            "SleepRestorationMsg": "",
        }

    def _run_event(self, day: date) -> dict:
        """A 25-60 minute morning run: a split sequence per km, a minute row per minute, 250-350 GPS map points."""
        rng = self.rng
        start = _ticks(day, 6 * 3600 + rng.randrange(3 * 3600)) + rng.randrange(TICKS_PER_S)
        duration = rng.randrange(1500, 3600)
        speed = rng.randint(240, 340)  # cm/s
        distance = duration * speed  # cm
        pace = round(100_000 / speed * 1000)  # ms/km
        splits = []
        for n in range(1, distance // 100_000 + 2):
            split = min(100_000, distance - (n - 1) * 100_000)
            offset = round((n - 1) * 100_000 / speed)
            splits.append({
                "odata.type": ODATA_TYPE + "RunEventSequenceDTO",
                "SequenceId": str(start + offset * TICKS_PER_S),
                "StartTime": _iso7(start + offset * TICKS_PER_S),
                "SequenceType": "Running",
                "Order": n,
                "Duration": round(split / speed),
                "CaloriesBurned": round(split / speed) // 6,
                "AverageHeartRate": rng.randint(140, 160),
                "LowestHeartRate": rng.randint(100, 130),
                "PeakHeartRate": rng.randint(160, 185),
                "LocationBlob": ZERO_GUID,
                "TotalDistance": min(n * 100_000, distance),
                "SplitDistance": split,
                "SplitPace": pace + rng.randint(-20_000, 20_000),
                "OverallPace": pace,
                "ActualDistance": split,
                "PausedTime": 0,
            })
        points = rng.randint(250, 350)
        lat = 476_062_000 + rng.randint(-500_000, 500_000)  # degrees x 10^7, around Seattle
        lon = -1_223_321_000 + rng.randint(-500_000, 500_000)
        altitude = 5000  # cm
        map_points = []
        for n in range(points):
            since = round(n * duration / (points - 1))
            kind = "Start" if n == 0 else "End" if n == points - 1 else "Split" if n % 60 == 0 else "WayPoint"
            lat += rng.randint(-900, 1100)
            lon += rng.randint(-900, 1100)
            altitude += rng.randint(-60, 60)
            map_points.append({
                "SecondsSinceStart": since,
                "MapPointType": kind,
                "MapPointOrdinal": n,
                "SplitOrdinal": since * speed // 100_000,
                "ActualDistance": since * speed,
                "TotalDistance": since * speed,
                "HeartRate": rng.randint(120, 180),
                "Pace": pace + rng.randint(-50_000, 50_000),
                "ScaledPace": rng.randint(40, 100),
                "Speed": speed + rng.randint(-30, 30),
                "Location": {
                    "Latitude": lat,
                    "Longitude": lon,
                    "AltitudeFromMSL": altitude,
                    "EHPE": rng.randint(300, 1500),
                    "EVPE": rng.randint(500, 2500),
                    "SpeedOverGround": speed,
                },
                "IsPaused": False,
                "IsResume": False,
            })
        return {
            "odata.type": ODATA_TYPE + "UserRunEventDTO",
            "Info": self._minute_rows(start, duration, steps=(140, 180), hr=(120, 180), distance=speed * 60),
            "Sequences": splits,
            "MapPoints": map_points,
            "EventId": str(start),
            "ParentEventId": "0",
            "Name": f"{distance / 160_934:.2f}mi run",
            "DeliveryID": 0,
            "EventType": "Running",
            "StartTime": _iso7(start),
            "DayId": f"{day.isoformat()}T00:00:00Z",
            "Duration": duration,
            "CaloriesBurned": duration // 6,
            "AverageHeartRate": 152,
            "PeakHeartRate": 181,
            "LowestHeartRate": 98,
            "Feeling": "Unknown",
            "Flags": 1,
            "AnalysisStatus": "Successful",
            "RecoveryTime": 86_400,
            "PausedTime": 0,
            "TotalDistance": distance,
            "ActualDistance": distance,
            "SplitDistance": 100_000,
            "WayPointDistance": 2_500,
            "Pace": pace,
            "StepsTaken": duration * 160 // 60,
            "FinishHeartRate": rng.randint(150, 180),
            "TrainingEffect": round(rng.uniform(2, 4), 1),
        }

    def _minute_rows(self, start: int, seconds: int, *, steps: tuple, hr: tuple, distance: int) -> list[dict]:
        """`Info[]` of an event: one row per minute, newest first, as the API sends them."""
        rng = self.rng
        first = datetime.fromtimestamp((start - TICKS_AT_EPOCH) // TICKS_PER_S // 60 * 60, UTC)
        rows = []
        for minute in range(seconds // 60, -1, -1):
            avg = rng.randint(*hr)
            rows.append({
                "TimeOfDay": f"{first + timedelta(minutes=minute):%Y-%m-%dT%H:%M:%S}Z",
                "DayClassification": "None",
                "ActivityLevel": "Vigorous" if distance else "Inactive",
                "StepsTaken": rng.randint(*steps),
                "CaloriesBurned": rng.randint(9, 14) if distance else rng.randint(1, 2),
                "UvExposure": 0,
                "Location": None,
                "PeakHeartRate": avg + rng.randint(0, 8),
                "LowestHeartRate": avg - rng.randint(0, 8),
                "AverageHeartRate": avg,
                "TotalDistance": str(distance + rng.randint(0, 300) if distance else 0),  # a string: OData Int64
                "TotalDistanceOnFoot": distance,
                "FloorsClimbed": 0,
                "ItCal": 0,
            })
        return rows

    # -- Hello Sense (SENSE-API.md §2a, §2d)

    def _sense_headers(self) -> list[tuple[str, str]]:
        return [
            ("Authorization", f"Bearer 2.{self.token[:32]}"),
            ("X-Client-Version", "1.4.2"),
            ("Accept", "application/json"),
        ]

    def _sense_timeline(self) -> Exchange:
        """GET /v2/timeline/{night}: 40-90 sleep-depth segments, a few motion and sound events, the night's metrics."""
        rng = self.rng
        night = self._next_day("sense_night")
        t = int(datetime(night.year, night.month, night.day, 22, tzinfo=UTC).timestamp() * 1000) - SENSE_OFFSET_MS
        t += rng.randrange(0, 7_200_000, 60_000)
        fell_asleep = t + rng.randrange(300_000, 1_800_000, 60_000)
        events = [
            _sense_event(t, 0, "GOT_IN_BED", 0, "You got in bed."),
            _sense_event(t, 0, "LIGHTS_OUT", 0, "Lights out."),
            _sense_event(fell_asleep, 0, "FELL_ASLEEP", 10, "You fell asleep."),
        ]
        t = fell_asleep
        for _ in range(rng.randint(40, 90)):
            length, depth = rng.randrange(180_000, 900_000, 60_000), rng.randint(1, 100)
            events.append(_sense_event(t, length, "IN_BED", depth, ""))
            if rng.random() < 0.15:
                kind = rng.choice(("GENERIC_MOTION", "GENERIC_SOUND", "SNORED", "PARTNER_MOTION"))
                events.append(_sense_event(t + length // 2, 60_000, kind, depth, f"{kind.lower()} detected."))
            t += length
        events.append(_sense_event(t, 0, "WOKE_UP", 0, "You woke up."))
        events.append(_sense_event(t + 600_000, 0, "GOT_OUT_OF_BED", 0, "You got up."))
        asleep, score = (t - fell_asleep) // 60_000, rng.randint(40, 98)
        metrics = [
            {"name": "total_sleep", "value": asleep, "unit": "MINUTES", "condition": "IDEAL"},
            {"name": "sound_sleep", "value": asleep // 3, "unit": "MINUTES", "condition": "IDEAL"},
            {"name": "time_to_sleep", "value": rng.randint(5, 30), "unit": "MINUTES", "condition": "IDEAL"},
            {"name": "times_awake", "value": rng.randint(0, 4), "unit": "QUANTITY", "condition": "WARNING"},
            {"name": "fell_asleep", "value": fell_asleep, "unit": "TIMESTAMP", "condition": "IDEAL"},
            {"name": "woke_up", "value": t, "unit": "TIMESTAMP", "condition": "IDEAL"},
        ]
        for sensor in ("temperature", "humidity", "particulates", "sound", "light"):
            metrics.append({"name": sensor, "value": None, "unit": "CONDITION", "condition": "IDEAL"})
        payload = {
            "score": score,
            "score_condition": "IDEAL" if score >= 80 else "WARNING" if score >= 60 else "ALERT",
            "message": f"You were asleep for **{asleep / 60:.1f} hours** and sleeping soundly for {asleep // 3} min.",
            "date": night.isoformat(),
            "events": events,
            "metrics": metrics,
            "sleep_periods": ["NIGHT"],
            "locked_down": False,
        }
        when = f"T{rng.randint(6, 10):02d}:{rng.randint(0, 59):02d}" if rng.random() < 0.3 else ""  # 2017 app
        url = f"https://{SENSE_HOST}/v2/timeline/{night.isoformat()}{when}"
        body = Body(orjson.dumps(payload), "application/json")
        return self._exchange(url, body, device=True, gzipped=True, request_headers=self._sense_headers())

    def _sense_sensors(self) -> Exchange:
        """POST /v2/sensors for a day at 5 minutes: 288 timestamps and 5 or 9 parallel arrays (-1 = gap)."""
        rng = self.rng
        day = self._next_day("sense_sensors")
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        sensors = list(SENSOR_LEVELS)[: rng.choice((5, 9))]
        stamps = [{"t": start + i * 300_000, "o": SENSE_OFFSET_MS} for i in range(288)]
        values = {}
        for name in sensors:
            level, spread = SENSOR_LEVELS[name]
            values[name] = [-1 if rng.random() < 0.02 else round(abs(rng.gauss(level, spread)), 2) for _ in stamps]
        body = Body(orjson.dumps({"timestamps": stamps, "sensors": values}), "application/json")
        request = orjson.dumps({"scope": "DAY_5_MINUTE", "sensors": sensors})
        headers = [*self._sense_headers(), ("Content-Type", "application/json")]
        url = f"https://{SENSE_HOST}/v2/sensors"
        return self._exchange(
            url, body, device=True, gzipped=True, method="POST", request_headers=headers, request_body=request
        )

    def _sense_all_sensors(self) -> Exchange:
        """GET /v1/room/all_sensors/24hours: five sensors' 288 five-minute samples (SENSE-API.md §2d), a gap (-1) now
        and then, and now and then a bucket in which every sensor reads 0 (the server's default: no reading)."""
        rng = self.rng
        day = self._next_day("sense_all_sensors")
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        stamps = [start + i * 300_000 for i in range(288)]
        empty = {t for t in stamps if rng.random() < 0.01}
        payload = {
            name: [{"datetime": t, "offset_millis": SENSE_OFFSET_MS,
                    "value": 0.0 if t in empty else self._v1_value(name)} for t in stamps]
            for name in V1_SENSORS
        }
        url = f"https://{SENSE_HOST}/v1/room/all_sensors/24hours?from_utc={start + 86_400_000}"
        body = Body(orjson.dumps(payload), "application/json")
        return self._exchange(url, body, device=True, gzipped=True, request_headers=self._sense_headers())

    def _sense_sensor_history(self) -> Exchange:
        """GET /v1/room/{sensor}/week: a week of one sensor's hourly samples."""
        rng = self.rng
        day = self._next_day("sense_sensor_history", 7)
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        name = rng.choice(V1_SENSORS)
        payload = [{"datetime": start + i * 3_600_000, "offset_millis": SENSE_OFFSET_MS, "value": self._v1_value(name)}
                   for i in range(168)]
        url = f"https://{SENSE_HOST}/v1/room/{name}/week?from={start + 7 * 86_400_000}"
        body = Body(orjson.dumps(payload), "application/json")
        return self._exchange(url, body, device=True, gzipped=True, request_headers=self._sense_headers())

    def _v1_value(self, name: str) -> float:
        level, spread = SENSOR_LEVELS[name.upper()]
        return -1 if self.rng.random() < 0.02 else round(abs(self.rng.gauss(level, spread)), 2)

    def _sense_trends_v2(self) -> Exchange:
        """GET /v2/trends/LAST_3_MONTHS: a score grid per month, durations per month, the sleep-depth bubbles."""
        rng = self.rng
        months = [rng.choice((30, 31)) for _ in range(3)]
        scores = [{"values": [rng.choice((-1, *range(40, 99))) for _ in range(n)], "titles": [name]}
                  for n, name in zip(months, ("MAR", "APR", "MAY"))]
        hours = [{"values": [round(rng.uniform(5, 9.5), 2) for _ in range(n)], "titles": [name]}
                 for n, name in zip(months, ("MAR", "APR", "MAY"))]
        payload = {
            "available_time_scales": ["LAST_WEEK", "LAST_MONTH", "LAST_3_MONTHS"],
            "graphs": [
                {"time_scale": "LAST_3_MONTHS", "title": "Sleep Score", "data_type": "SCORES", "graph_type": "GRID",
                 "min_value": 0, "max_value": 100, "sections": scores},
                {"time_scale": "LAST_3_MONTHS", "title": "Sleep Duration", "data_type": "HOURS",
                 "graph_type": "BAR", "min_value": 0, "max_value": 9.5, "sections": hours},
                {"time_scale": "LAST_3_MONTHS", "title": "Sleep Depth", "data_type": "PERCENTS",
                 "graph_type": "BUBBLES", "sections": [{"values": [0.3, 0.45, 0.25],
                                                        "titles": ["LIGHT", "MEDIUM", "SOUND"]}]},
            ],
        }
        body = Body(orjson.dumps(payload), "application/json")
        url = f"https://{SENSE_HOST}/v2/trends/LAST_3_MONTHS"
        return self._exchange(url, body, device=True, gzipped=True, request_headers=self._sense_headers())

    def _sense_trends_v1(self) -> Exchange:
        """GET /v1/insights/trends/graph: a month of nightly sleep scores (UTC midnights, the server's stamps)."""
        rng = self.rng
        day = self._next_day("sense_trends_v1", 30)
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        points = [{"data_label": rng.choice(("GOOD", "OK", "BAD")), "datetime": start + i * 86_400_000,
                   "offset_millis": SENSE_OFFSET_MS, "x_value": "", "y_value": float(rng.randint(40, 98))}
                  for i in range(30)]
        payload = [{"data_points": points, "data_type": "SLEEP_SCORE", "graph_type": "TIME_SERIES_LINE",
                    "options": ["1W", "2W", "1M", "3M", "ALL"], "time_period": "1M",
                    "title": "SLEEP SCORE OVER TIME"}]
        body = Body(orjson.dumps(payload), "application/json")
        url = f"https://{SENSE_HOST}/v1/insights/trends/graph?data_type=SLEEP_SCORE&time_period=1M"
        return self._exchange(url, body, device=True, gzipped=True, request_headers=self._sense_headers())

    # -- unrelated traffic: bodies come from pools made once per seed; URLs differ every time

    def _json_api(self) -> Exchange:
        rng = self.rng
        url = f"https://{rng.choice(JSON_HOSTS)}/v2/{rng.choice(WORDS)}/{rng.getrandbits(40)}?fields=id%2Cname&limit=25"
        headers = [("Authorization", f"Bearer {self.token[::-1]}"), ("Accept", "application/json")]
        body = rng.choice(self.json_pool)
        return self._exchange(url, body, device=False, gzipped=rng.random() < 0.5, request_headers=headers)

    def _beacon(self) -> Exchange:
        rng = self.rng
        url = f"https://{rng.choice(BEACON_HOSTS)}/collect?v=1&tid=UA-{rng.getrandbits(24)}&z={rng.getrandbits(32)}"
        event = orjson.dumps({"event": rng.choice(WORDS), "ts": int(self.clock * 1000), "session": self.token[:16]})
        return self._exchange(
            url,
            Body(b"", "text/plain"),
            device=False,
            gzipped=False,
            method="POST",
            request_headers=[("Content-Type", "application/json")],
            request_body=event,
            status=204,
        )

    def _page(self) -> Exchange:
        rng = self.rng
        url = f"https://{rng.choice(PAGE_HOSTS)}/{'-'.join(rng.choices(WORDS, k=4))}-{rng.getrandbits(20)}.html"
        headers = [("Accept", "text/html,application/xhtml+xml"), ("Cookie", f"sid={self.token[8:40]}")]
        return self._exchange(url, rng.choice(self.page_pool), device=False, gzipped=True, request_headers=headers)

    def _image(self) -> Exchange:
        rng = self.rng
        body = rng.choice(self.image_pool)
        url = f"https://{rng.choice(IMAGE_HOSTS)}/{rng.getrandbits(64):016x}.{body.mime.removeprefix('image/')}"
        return self._exchange(url, body, device=False, gzipped=False, request_headers=[("Accept", "image/*")])

    def _json_body(self) -> Body:
        """A feed-like JSON document of 300 B to 200 kB (median 4 kB)."""
        rng = self.rng
        size = min(200_000, max(300, int(rng.lognormvariate(8.3, 1.0))))
        items, length = [], 0
        while length < size:
            item = {
                "id": str(rng.getrandbits(63)),
                "type": rng.choice(("post", "photo", "track", "place", "user")),
                "created_at": f"2017-05-{rng.randint(1, 31):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}Z",
                "title": " ".join(rng.choices(WORDS, k=rng.randint(3, 10))),
                "text": " ".join(rng.choices(WORDS, k=rng.randint(10, 60))),
                "score": round(rng.random() * 100, 3),
                "counts": {"likes": rng.randint(0, 5000), "shares": rng.randint(0, 300)},
                "tags": rng.choices(WORDS, k=rng.randint(0, 6)),
                "user": {"id": rng.getrandbits(40), "avatar": f"https://i.imgur.com/{rng.getrandbits(32):08x}.jpg"},
            }
            items.append(item)
            length += len(orjson.dumps(item))
        paging = {"next": f"https://graph.facebook.com/v2.9/feed?after={rng.getrandbits(64):x}"}
        return Body(orjson.dumps({"data": items, "paging": paging}), "application/json; charset=utf-8")

    def _page_body(self) -> Body:
        """An HTML page of 15 to 150 kB."""
        rng = self.rng
        size = rng.randint(15_000, 150_000)
        title = " ".join(rng.choices(WORDS, k=6))
        parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>\n']
        length = 0
        while length < size:
            heading, text = " ".join(rng.choices(WORDS, k=5)), " ".join(rng.choices(WORDS, k=80))
            parts.append(f'<div class="story"><h2>{heading}</h2><p>{text}</p></div>\n')
            length += len(parts[-1])
        parts.append("</body></html>\n")
        return Body("".join(parts).encode(), "text/html; charset=utf-8")

    def _image_body(self) -> Body:
        """Incompressible bytes behind an image header, 1 to 400 kB (median 20 kB)."""
        rng = self.rng
        size = min(400_000, max(1_000, int(rng.lognormvariate(9.9, 1.0))))
        kind = rng.choice(list(IMAGE_MAGIC))
        return Body(IMAGE_MAGIC[kind] + rng.randbytes(size), f"image/{kind}")


def _ticks(day: date, seconds: int) -> int:
    """.NET ticks of `seconds` after UTC midnight of `day` (Band event and sequence ids are such ticks)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return TICKS_AT_EPOCH + (int(midnight) + seconds) * TICKS_PER_S


def _iso7(ticks: int) -> str:
    """Band time format: UTC, 7 fractional digits, Z."""
    seconds, fraction = divmod(ticks - TICKS_AT_EPOCH, TICKS_PER_S)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:07d}Z"


def _sense_event(t: int, duration: int, kind: str, depth: int, message: str) -> dict:
    return {
        "timestamp": t,
        "timezone_offset": SENSE_OFFSET_MS,
        "duration_millis": duration,
        "message": message,
        "sleep_depth": depth,
        "sleep_state": "AWAKE" if depth < 5 else "LIGHT" if depth < 10 else "MEDIUM" if depth < 70 else "SOUND",
        "event_type": kind,
        "valid_actions": ["ADJUST_TIME", "VERIFY"],
    }


# -- writers


def write_har(path: Path, traffic: Traffic, size: int) -> None:
    """A HAR 1.2 file of about `size` bytes, one entry a line; no pages and no pageref, as proxies export them."""
    head = b'{"log":{"version":"1.2","creator":{"name":"databack bench","version":"1"},"pages":[],"entries":[\n'
    tail = b"\n]}}\n"
    with open(path, "wb") as f:
        f.write(head)
        written, separator = len(head) + len(tail), b""
        for ex in traffic:
            chunk = separator + orjson.dumps(_har_entry(ex))
            f.write(chunk)
            written += len(chunk)
            separator = b",\n"
            if written >= size:
                break
        f.write(tail)


def _har_entry(ex: Exchange) -> dict:
    url = urlsplit(ex.url)
    wait = ex.duration * 700  # ms
    content = {"size": len(ex.body.data), "mimeType": ex.body.mime}
    if ex.body.binary:
        content |= {"text": ex.body.base64, "encoding": "base64"}
    elif ex.body.data:
        content["text"] = ex.body.data.decode()
    request = {
        "method": ex.method,
        "url": ex.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in [("Host", url.hostname), *ex.request_headers]],
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(url.query)],
        "headersSize": -1,
        "bodySize": len(ex.request_body or b""),
    }
    if ex.request_body is not None:
        request["postData"] = {"mimeType": "application/json", "text": ex.request_body.decode()}
    return {
        "startedDateTime": datetime.fromtimestamp(ex.time, UTC).isoformat(timespec="milliseconds"),
        "time": round(ex.duration * 1000, 3),
        "request": request,
        "response": {
            "status": ex.status,
            "statusText": REASONS[ex.status].decode(),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in ex.response_headers],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0.2, "wait": round(wait, 3), "receive": round(ex.duration * 1000 - wait - 0.2, 3)},
        "serverIPAddress": _server_ip(url.hostname),
    }


def write_flow(path: Path, traffic: Traffic, size: int, count: int | None = None) -> None:
    """A mitmproxy flow dump of about `size` bytes, or of `count` exchanges: HTTPS flows as mitmproxy 12 records
    them (TLS, certificates).

    Each flow's state is a copy of one template state with the exchange's values, written with mitmproxy's
    own tnetstring encoder (what FlowWriter.add does after `get_state()`), which is much faster than
    building HTTPFlow objects.
    """
    from mitmproxy.io import tnetstring

    template = _flow_template()
    with open(path, "wb") as f:
        for n, ex in enumerate(traffic):
            tnetstring.dump(_flow_state(ex, n, template), f)
            if (n + 1 == count) if count else f.tell() >= size:
                break


def _flow_template() -> dict:
    """The state of one HTTPS flow through mitmproxy, with a certificate on both sides of the proxy."""
    from mitmproxy import certs
    from mitmproxy.test import tflow

    _, cert = certs.create_ca("databack bench", "bench.invalid", 2048)
    tls = {"tls": True, "tls_version": "TLSv1.2", "cipher": "ECDHE-RSA-AES128-GCM-SHA256", "alpn": b"http/1.1"}
    state = tflow.tflow(resp=True).get_state()
    state["client_conn"] |= tls | {"peername": ("192.168.1.23", 51234), "mitmcert": certs.Cert(cert).to_pem()}
    state["server_conn"] |= tls | {"sockname": ("192.168.1.2", 40123), "certificate_list": [certs.Cert(cert).to_pem()]}
    state["request"] |= {"port": 443, "scheme": b"https", "http_version": b"HTTP/1.1"}
    return state


def _flow_state(ex: Exchange, n: int, template: dict) -> dict:
    url = urlsplit(ex.url)
    host, start, end = url.hostname, ex.time, ex.time + ex.duration
    content = ex.body.gzipped if ex.gzip else ex.body.data
    flow_id, client_id, server_id = (str(uuid.UUID(int=(4 * n + i) * 0x9E3779B97F4A7C15)) for i in (0, 1, 2))
    client = {"id": client_id, "sni": host, "timestamp_start": start - 0.08, "timestamp_end": end + 5}
    server = {
        "id": server_id,
        "address": (host, 443),
        "peername": (_server_ip(host), 443),
        "sni": host,
        "timestamp_start": start - 0.07,
        "timestamp_tcp_setup": start - 0.05,
        "timestamp_tls_setup": start - 0.03,
        "timestamp_end": end + 5,
    }
    request = {
        "host": host,
        "method": ex.method.encode(),
        "path": (url.path + (f"?{url.query}" if url.query else "")).encode(),
        "headers": _fields([("Host", host), *ex.request_headers]),
        "content": ex.request_body or b"",
        "timestamp_start": start,
        "timestamp_end": start + 0.001,
    }
    response = {
        "status_code": ex.status,
        "reason": REASONS[ex.status],
        "headers": _fields([*ex.response_headers, ("Content-Length", str(len(content)))]),
        "content": content,
        "timestamp_start": start + ex.duration * 0.7,
        "timestamp_end": end,
    }
    return template | {
        "id": flow_id,
        "timestamp_created": start,
        "client_conn": template["client_conn"] | client,
        "server_conn": template["server_conn"] | server,
        "request": template["request"] | request,
        "response": template["response"] | response,
    }


def _fields(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers]


def _server_ip(host: str) -> str:
    h = zlib.crc32(host.encode())
    return f"{h >> 24 & 127 | 1}.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255}"


# -- the cache


def ensure(kind: str, mb: float, seed: int = 0, *, device_share: float = DEVICE_SHARE, force: bool = False) -> Path:
    """The cached capture of that kind ("har" or "flow"), size in MB, seed and share of device response bytes;
    generated first if missing."""
    share = "" if device_share == DEVICE_SHARE else f"-device{device_share:g}"
    path = DATA / f"{kind}-{mb:g}mb-seed{seed}{share}-v{VERSION}.{kind}"
    writer = write_har if kind == "har" else write_flow
    return _cached(path, force, lambda: Traffic(seed, device_share),
                   lambda out, traffic: writer(out, traffic, int(mb * MB)))


def ensure_full_export(mb: float, seed: int = 0, *, force: bool = False) -> tuple[Path, Path]:
    """The cached full export (`Traffic(full_export=True)`): a HAR of about `mb` MB, and a flow dump of the same
    exchanges (smaller: gzip bodies stay compressed); generated first if missing."""
    name = f"{mb:g}mb-seed{seed}-full-v{VERSION}"
    har = _cached(DATA / f"har-{name}.har", force, lambda: Traffic(seed, FULL_SHARE, full_export=True),
                  lambda out, traffic: write_har(out, traffic, int(mb * MB)))
    count = orjson.loads(_stats_path(har).read_bytes())["exchanges"]
    flow = _cached(DATA / f"flow-{name}.flow", force, lambda: Traffic(seed, FULL_SHARE, full_export=True),
                   lambda out, traffic: write_flow(out, traffic, 0, count))
    return har, flow


def _cached(path: Path, force: bool, traffic: Callable[[], Traffic], write: Callable[[Path, Traffic], None]) -> Path:
    """`path`, written first (with its .stats.json) unless it is there already."""
    stats_path = _stats_path(path)
    if path.exists() and stats_path.exists() and not force:
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    source = traffic()
    partial = path.with_name(path.name + ".partial")
    write(partial, source)
    partial.replace(path)
    stats = {"format": path.suffix[1:], "file_bytes": path.stat().st_size, **source.stats()}
    stats["seconds"] = round(time.perf_counter() - started, 1)
    stats_path.write_bytes(orjson.dumps(stats, option=orjson.OPT_INDENT_2))
    print(f"  {describe(path)}", file=sys.stderr, flush=True)
    return path


def describe(path: Path) -> str:
    """One line on what a generated capture holds (from its .stats.json)."""
    s = orjson.loads(_stats_path(path).read_bytes())
    share = 100 * s["device_body_bytes"] / s["body_bytes"]
    return (
        f"{path.name}: {s['file_bytes'] / MB:.0f} MB, {s['exchanges']:,} exchanges, {s['device_exchanges']:,} of them "
        f"device ({share:.0f}% of response body bytes), generated in {s['seconds']} s"
    )


def _stats_path(path: Path) -> Path:
    return path.with_name(path.name + ".stats.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("kind", choices=("har", "flow"))
    parser.add_argument("mb", type=float, help="file size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device-share", type=float, default=DEVICE_SHARE, help="of the response body bytes")
    parser.add_argument("--full-export", action="store_true",
                        help=f"a full export ({FULL_SHARE:.0%} device bytes, every endpoint): a HAR and a flow dump")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args()
    if args.full_export:
        print(*ensure_full_export(args.mb, args.seed, force=args.force), sep="\n")
    else:
        print(ensure(args.kind, args.mb, args.seed, device_share=args.device_share, force=args.force))


if __name__ == "__main__":
    main()
