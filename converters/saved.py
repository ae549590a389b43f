"""Single responses saved by hand (Postman, a browser, mitmproxy's "save body", an API export) as `.json` files.

Such a file has no URL: its endpoint is named by the user (`--endpoint NAME`, or per file `--endpoint GLOB=NAME`),
or recognised by the payload's shape where that is unambiguous. Its rows have no capture time. `AMBIGUOUS` says
which endpoints are never recognised, and why; `--endpoint` still reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, Callable

from . import devices
from .devices.base import Endpoint


def _items(p: Any, key: str) -> list | None:
    """The non-empty list `p[key]` of objects, else None."""
    items = p.get(key) if isinstance(p, dict) else None
    return items if isinstance(items, list) and items and all(isinstance(i, dict) for i in items) else None


def _band_events(p: Any) -> bool:
    items = _items(p, "value")
    event = items[0] if items else p
    return isinstance(event, dict) and "EventId" in event and "EventType" in event


DAILY_ONLY = ("NumberOfActiveHours", "DailyHeartRateZones", "CardioScore", "IntenseCardioSeconds", "SourceDevices")


def _odata_set(p: Any) -> str | None:
    """The entity set an OData answer names in its odata.metadata (`…/$metadata#UserDailySummary` ->
    `userdailysummary`)."""
    meta = p.get("odata.metadata") if isinstance(p, dict) else None
    return meta.rpartition("#")[2].lower() if isinstance(meta, str) and "#" in meta else None


def _band_daily(p: Any) -> bool:
    items = _items(p, "value")
    if _odata_set(p) is not None:
        return _odata_set(p) == "userdailysummary"
    return bool(items) and all("TimeOfDay" in i for i in items) and any(k in i for i in items for k in DAILY_ONLY)


def _band_hourly(p: Any) -> bool:
    """UserActivity rows: named so by odata.metadata, or without daily fields and an hour apart."""
    items = _items(p, "value")
    if _odata_set(p) is not None:
        return _odata_set(p) in ("userhourlysummary", "useractivities")
    if not items or len(items) < 2 or not all(isinstance(i.get("TimeOfDay"), str) for i in items):
        return False
    if any(k in i for i in items for k in DAILY_ONLY):
        return False
    try:
        times = sorted(datetime.fromisoformat(i["TimeOfDay"]) for i in items)
        return all((b - a).total_seconds() == 3600 for a, b in zip(times, times[1:]))
    except (ValueError, TypeError):
        return False


def _raised_insights(p: Any) -> bool:
    items = _items(p, "value")
    return bool(items) and "RaisedInsightId" in items[0]


def _public_activities(p: Any) -> bool:
    if not isinstance(p, dict) or "error" in p:
        return False
    if "activityType" in p and "id" in p:  # one activity, as /Activities/{id} answered
        return True
    lists = [k for k, v in p.items() if k.endswith("Activities") and isinstance(v, list)]
    return bool(lists) and set(p) <= {*lists, "nextPage", "itemCount"}


def _public_summaries(p: Any) -> bool:
    return isinstance(p, dict) and isinstance(p.get("summaries"), list) and set(p) <= {"summaries", "nextPage",
                                                                                        "itemCount"}


def _public_devices(p: Any) -> bool:
    if isinstance(p, dict):
        return isinstance(p.get("deviceProfiles"), list) or ("deviceFamily" in p and "id" in p)
    return isinstance(p, list) and bool(p) and all(isinstance(d, dict) and "deviceFamily" in d for d in p)


def _timeline_v2(p: Any) -> bool:
    return isinstance(p, dict) and "date" in p and ("events" in p or "metrics" in p)


def _timeline_v1(p: Any) -> bool:
    return isinstance(p, list) and bool(p) and all(isinstance(t, dict) and "segments" in t for t in p)


def _room_current(p: Any) -> bool:
    return isinstance(p, dict) and bool(p) and all(isinstance(v, dict) and "last_updated_utc" in v for v in p.values())


def _all_sensors(p: Any) -> bool:
    return (
        isinstance(p, dict)
        and any(isinstance(v, list) and v for v in p.values())
        and all(isinstance(v, list) and all(isinstance(s, dict) and "datetime" in s for s in v[:1]) for v in p.values())
    )


def _sensors_current(p: Any) -> bool:
    return isinstance(p, dict) and isinstance(p.get("sensors"), list) and "timestamps" not in p


def _sensors_history(p: Any) -> bool:
    return isinstance(p, dict) and isinstance(p.get("timestamps"), list) and isinstance(p.get("sensors"), dict)


def _list_of(*keys: str) -> Callable[[Any], bool]:
    return lambda p: isinstance(p, list) and bool(p) and all(isinstance(x, dict) and set(keys) <= x.keys() for x in p)


def _trends_v2(p: Any) -> bool:
    return isinstance(p, dict) and isinstance(p.get("graphs"), list)


def _sense_devices(p: Any) -> bool:
    return isinstance(p, dict) and ("senses" in p or "pills" in p) and "sensors" not in p


def _alarm_groups(p: Any) -> bool:
    groups = ("classic", "voice", "expansions")
    return isinstance(p, dict) and any(g in p for g in groups) and all(isinstance(p.get(g, []), list) for g in groups)


# Endpoint name -> the shape only its responses have.
SHAPES: dict[str, Callable[[Any], bool]] = {
    "band/events": _band_events,
    "band/daily-summaries": _band_daily,
    "band/hourly-summaries": _band_hourly,
    "band/raised-insights": _raised_insights,
    "band-public/activities": _public_activities,
    "band-public/summaries": _public_summaries,
    "band-public/devices": _public_devices,
    "sense/timeline-v2": _timeline_v2,
    "sense/timeline-v1": _timeline_v1,
    "sense/room-current": _room_current,
    "sense/room-all-sensors": _all_sensors,
    "sense/sensors-current": _sensors_current,
    "sense/sensors-history": _sensors_history,
    "sense/trends-v2": _trends_v2,
    "sense/trends-v1": _list_of("data_points", "data_type"),
    "sense/insights": lambda p: _list_of("category", "title", "message")(p) or _list_of("created_utc", "message")(p),
    "sense/devices": _sense_devices,
    "sense/questions": _list_of("id", "text", "choices"),
    "sense/alarms": lambda p: _alarm_groups(p) or _list_of("hour", "minute", "day_of_week")(p),
}
# Endpoints never recognised by shape, and why (`--endpoint` reads them).
AMBIGUOUS = {
    "sense/room-sensor-history": "a list of samples names no sensor: the sensor is only in the URL",
    "sense/question-answers": "what the app sent, not a response: a list of choices, as a question's choices are",
    "sense/question-skips": "read from the URL's query, which a saved body does not have",
}


def endpoint_named(name: str) -> Endpoint | None:
    return next((e for e in devices.endpoints() if e.name == name and e.kind == "data"), None)


def recognise(payload: Any) -> Endpoint | None:
    """The one endpoint whose shape the payload has; None when no shape, or more than one, fits."""
    fits = [name for name, fits in SHAPES.items() if fits(payload)]
    return endpoint_named(fits[0]) if len(fits) == 1 else None


_CODE = re.compile(r"[A-Za-z][\w.-]{0,39}|\d{3}")


def api_error(payload: Any) -> str | None:
    """For a saved error answer of a device API, what it is (`an error answer (BadArgument)`); else None. The
    Health API answers `{"error": {"code", "message", …}}`, Hello's Dropwizard `{"code": 401, "message": …}`."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error") if set(payload) == {"error"} else payload
    if not isinstance(error, dict) or "code" not in error or not set(error) <= {"code", "message", "target",
                                                                                 "details", "innererror", "errors"}:
        return None
    code = str(error["code"])
    return f"an error answer of the API ({code})" if _CODE.fullmatch(code) else "an error answer of the API"


@dataclass(frozen=True, slots=True)
class EndpointRule:
    """`--endpoint NAME` (pattern None: every saved response) or `--endpoint GLOB=NAME` (files the glob matches)."""

    pattern: str | None
    endpoint: str


def endpoint_rules(specs: list[str]) -> list[EndpointRule]:
    """The rules of `--endpoint` options, patterned ones first; ValueError naming an endpoint that does not exist."""
    rules = []
    for spec in specs:
        pattern, sep, name = spec.rpartition("=")
        if endpoint_named(name) is None:
            raise ValueError(f"no endpoint {name!r}: `databack endpoints` lists them")
        rules.append(EndpointRule(pattern if sep else None, name))
    return sorted(rules, key=lambda r: r.pattern is None)


def endpoint_for(rules: list[EndpointRule], name: str) -> str | None:
    """The endpoint the first rule that fits the file names: a shell-style glob (`*` may cross folders, as in
    --participants) over the file's path as given or found (`study/p07/run.json`), or over its file name alone."""
    given = name.replace("\\", "/")
    for rule in rules:
        if rule.pattern is None or any(fnmatchcase(s, rule.pattern) for s in (given, PurePosixPath(given).name)):
            return rule.endpoint
    return None
