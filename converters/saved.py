"""Single responses saved by hand (Postman, a browser, mitmproxy's "save body") as `.json` files.

Such a file has no URL: its endpoint is named by the user, or recognised by the payload's shape where that is
unambiguous. Its rows have no capture time. Bodies the app sent (answers to Sense questions) are not responses and
are never recognised by shape; `--endpoint` still reads them.
"""

from __future__ import annotations

from typing import Any, Callable

from . import devices
from .devices.base import Endpoint


def _band_events(p: Any) -> bool:
    items = p.get("value") if isinstance(p, dict) else None
    event = items[0] if isinstance(items, list) and items else p
    return isinstance(event, dict) and "EventId" in event and "EventType" in event


def _timeline_v2(p: Any) -> bool:
    return isinstance(p, dict) and "date" in p and ("events" in p or "metrics" in p)


def _timeline_v1(p: Any) -> bool:
    return isinstance(p, list) and bool(p) and all(isinstance(t, dict) and "segments" in t for t in p)


def _room_current(p: Any) -> bool:
    return isinstance(p, dict) and bool(p) and all(isinstance(v, dict) and "last_updated_utc" in v for v in p.values())


def _all_sensors(p: Any) -> bool:
    return (
        isinstance(p, dict)
        and bool(p)
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


def _raised_insights(p: Any) -> bool:
    items = p.get("value") if isinstance(p, dict) else None
    return isinstance(items, list) and bool(items) and isinstance(items[0], dict) and "RaisedInsightId" in items[0]


# Endpoint name -> the shape only its responses have.
SHAPES: dict[str, Callable[[Any], bool]] = {
    "band/events": _band_events,
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
    "band/raised-insights": _raised_insights,
}


def endpoint_named(name: str) -> Endpoint | None:
    return next((e for e in devices.endpoints() if e.name == name and e.kind == "data"), None)


def recognise(payload: Any) -> Endpoint | None:
    """The one endpoint whose shape the payload has; None when no shape, or more than one, fits."""
    fits = [name for name, fits in SHAPES.items() if fits(payload)]
    return endpoint_named(fits[0]) if len(fits) == 1 else None
