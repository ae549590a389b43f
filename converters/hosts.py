"""Which hosts' exchanges databack looks into: device API hosts, and hosts chosen for generic export.

The device modules take their host patterns from here: kept free of polars and the decoders, so that a reading
process can import it cheaply.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

BAND = re.compile(r"prodphs[a-z0-9]+\.dns-cargo\.com", re.IGNORECASE)  # the private OData API
BAND_LOGIN = re.compile(r"[a-z]*kds\.dns-cargo\.com", re.IGNORECASE)  # sign-in and discovery (prodkds, stgkds…)
BAND_PUBLIC = re.compile(r"api\.microsofthealth\.net", re.IGNORECASE)  # the public Health Cloud API
SENSE = re.compile(r"(?:api|dev-api|canary-api)\.hello\.is", re.IGNORECASE)
DEVICE_HOSTS = (BAND, BAND_LOGIN, BAND_PUBLIC, SENSE)


def is_device_host(host: str) -> bool:
    """Whether any device's API lives on this host (its exchanges need headers and bodies)."""
    return any(pattern.fullmatch(host) for pattern in DEVICE_HOSTS)


def host_matches(host: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatchcase(host, g.lower()) for g in globs)


class BodyWanted:
    """A capture reader's `wants_body`: headers and bodies of device hosts and of hosts matching `generic_globs`."""

    def __init__(self, generic_globs: tuple[str, ...] = ()):
        self.generic_globs = generic_globs
        self._answers: dict[str, bool] = {}  # a capture asks about the same few hosts thousands of times

    def __call__(self, host: str) -> bool:
        answer = self._answers.get(host)
        if answer is None:
            answer = self._answers[host] = is_device_host(host) or host_matches(host, self.generic_globs)
        return answer
