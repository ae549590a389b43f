"""Whose data each input is: one id for a run, or a map of path patterns to ids; optionally pseudonymised."""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from . import redaction
from .pipeline import Input


class ParticipantMapError(ValueError):
    """The participants map cannot be used (a usage error: nothing is converted)."""


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    participant_id: str


def read_map(path: Path) -> list[Rule]:
    """Rules from a CSV with the columns `pattern,participant_id`, in file order (the first match wins)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"pattern", "participant_id"} <= set(reader.fieldnames):
                raise ParticipantMapError(f"{path}: needs the columns pattern,participant_id")
            rules = [Rule((r["pattern"] or "").strip(), (r["participant_id"] or "").strip()) for r in reader]
    except OSError as e:
        raise ParticipantMapError(f"{path}: {e.strerror or e}") from e
    except (csv.Error, UnicodeDecodeError) as e:  # a NUL, a field past csv's limit, bytes that are no UTF-8
        raise ParticipantMapError(f"{path}: not a CSV of UTF-8 text ({type(e).__name__})") from e
    if bad := [i + 2 for i, r in enumerate(rules) if not r.pattern or not r.participant_id]:
        raise ParticipantMapError(f"{path}: empty pattern or participant_id on line {bad[0]}")
    return rules


def matches(pattern: str, name: str) -> bool:
    """A shell-style glob over the input's path as given (`*` may cross folders), or over its file name alone."""
    path = name.replace("\\", "/")
    return fnmatchcase(path, pattern) or fnmatchcase(PurePosixPath(path).name, pattern)


def pseudonym(participant_id: str, key: bytes) -> str:
    """A keyed hash of the id: stable across runs and batches with the same key, useless without it."""
    return redaction.participant_pseudonym(participant_id, key)


def read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as e:
        raise ParticipantMapError(f"{path}: {e.strerror or e}") from e
    if len(key) < 16:
        raise ParticipantMapError(f"{path}: the key must be at least 16 bytes")
    return key


def assign(
    inputs: list[Input], participant_id: str | None = None, rules: list[Rule] | None = None, key: bytes | None = None
) -> list[Input]:
    """Each input with its participant id and its `source_file` (both pseudonymised with `key`); with `rules`, an
    input no rule matches gets an error instead and is not converted."""
    assigned = []
    for inp in inputs:
        pid, error = participant_id, inp.error
        if rules is not None:
            pid = next((r.participant_id for r in rules if matches(r.pattern, inp.name)), None)
            error = error or (None if pid is not None or inp.skip else "no pattern of the participants map matches this file")
        if pid is not None and key is not None:
            pid = pseudonym(pid, key)
        assigned.append(
            replace(inp, participant_id=pid, error=inp.error or error, source_file=redaction.source_file(inp.name, key))
        )
    return assigned
