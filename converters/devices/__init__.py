"""Device routes: which captured exchanges are a device's API responses, and how each endpoint decodes into rows.

Each device module declares one `DEVICE`: a regex of its API hosts and a table of
`Route(methods, path regex, Endpoint)`; this module matches an exchange against all of them.
"""

from __future__ import annotations

from . import band, band_public, sense
from .base import Device, Endpoint, Match, normalise_path

DEVICES: tuple[Device, ...] = (band.DEVICE, band.LOGIN, band_public.DEVICE, sense.DEVICE)


def match(host: str, method: str, raw_path: str) -> Match | None:
    """The device endpoint an exchange belongs to; None when the host is no device's."""
    for device in DEVICES:
        if device.hosts.fullmatch(host):
            path = normalise_path(raw_path)
            for r in device.routes:
                if method in r.methods and (m := r.path.fullmatch(path)):
                    return Match(device, r.endpoint, path, m.groupdict())
            return Match(device, None, path)
    return None


def endpoints() -> list[Endpoint]:
    """Every endpoint of every device, once each."""
    seen: dict[str, Endpoint] = {}
    for device in DEVICES:
        for r in device.routes:
            seen.setdefault(r.endpoint.name, r.endpoint)
    return list(seen.values())
