"""Which hosts' exchanges databack looks into: device API hosts, and hosts chosen for generic export.

Kept free of polars and the decoders, so that a reading process can import it cheaply.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from .devices import is_device_host


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
