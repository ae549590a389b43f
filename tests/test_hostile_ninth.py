"""Hostile input, ninth round: what one small or odd part of a capture may cost. No timing: what is held (traced
memory), what is replaced and what is said."""

from __future__ import annotations

import base64
import json
import tracemalloc

import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har

from converters import redaction
from converters.limits import Limits
from converters.pipeline import spool_stdin
from converters.scrub import scrub_capture

SECRET = "Tr0ub4dorXq7"


def _peak(function, *args):
    tracemalloc.start()
    try:
        result = function(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("unit", ["a=", "x:", "=a", "a:1,"])
def test_free_text_of_one_long_pair_value_is_redacted_without_a_mark_per_character(unit):
    """Before: `_PAIR`'s unquoted value, a repeated alternative, kept a backtracking mark per character: 1 MB of
    `a=a=…` (one pair whose value runs to the end) held 300 MB of the regex engine's stack, and its time with it
    (0.1 MB/s); a 64 MiB body of it some 20 GB."""
    text = unit * (1_000_000 // len(unit)) + f" password={SECRET}"
    shown, peak = _peak(redaction.redact_text, text)
    assert SECRET not in shown
    assert peak < 40 * len(text)  # copies of the text, never a mark per character (300 times its length)


class _MatchedOnlyAt:
    """`_SCHEME_VALUE`, its `match` recorded; searched through text (`sub`, `search`, `finditer`): refused."""

    def __init__(self, pattern):
        self.pattern, self.starts = pattern, []

    def match(self, text, start=0):
        self.starts.append(start)
        return self.pattern.match(text, start)

    def __getattr__(self, name):
        raise AssertionError(f"searched through the text ({name})")


def test_authorization_schemes_are_looked_for_only_where_a_schemes_name_is(monkeypatch):
    """Before: `_SCHEME_VALUE`'s 28 names were tried at every word's start, in any case: a µs a character of text
    like `a=a=…` (50 MB of it as a HAR comment: scrub took two minutes)."""
    spy = _MatchedOnlyAt(redaction._SCHEME_VALUE)
    monkeypatch.setattr(redaction, "_SCHEME_VALUE", spy)
    text = "a=" * 50_000 + f" Authorization: bearer {SECRET}, then BASIC dXNlcjpwYXNzd29yZA== and Basic plan"
    shown = redaction.redact_text(text)
    assert SECRET not in shown and "dXNlcjpwYXNzd29yZA==" not in shown and "Basic plan" in shown
    assert sorted(set(spy.starts)) == [text.index(word) for word in ("bearer", "BASIC", "Basic")]


def test_scrub_replaces_a_har_value_longer_than_a_body_may_be_whole_and_says_so(tmp_path):
    """Before: a 200 MB URL was judged by the policy, copied at each step (its query, its parameters, its value
    unquoted, base64-decoded): scrub held 1.36 GB. A value other than a body longer than `--max-body` is now replaced
    whole, unjudged; a body's base64 longer than that (within the body's own limit) is still scrubbed as a body."""
    mib = 1 << 20
    body = base64.b64encode(json.dumps({"note": "x" * (700 << 10), "token": SECRET}).encode()).decode()
    long = entry("https://api.example.org/v1/x?q=" + "a" * (2 * mib), body)
    long["response"]["content"]["encoding"] = "base64"
    long["request"]["headers"] = [{"name": "X-Long", "value": "b=" * mib}]
    long["comment"] = "c " * mib
    path = write_har(tmp_path / "long.har", [entry(BAND_EVENTS_URL, band_event("1")), long])
    report = scrub_capture(path, tmp_path / "copy.har", Limits(max_body=mib))
    assert report.status == "ok" and report.entries == 2
    assert report.message == "3 values other than bodies longer than 1 MiB replaced whole (--max-body)"
    copy = json.loads((tmp_path / "copy.har").read_text())["log"]["entries"]
    assert copy[0]["response"]["content"]["text"] == json.dumps(band_event("1"))
    scrubbed = copy[1]
    assert [scrubbed["request"]["url"], scrubbed["request"]["headers"][0]["value"], scrubbed["comment"]] == [
        "REDACTED"] * 3
    shown = json.loads(base64.b64decode(scrubbed["response"]["content"]["text"]))
    assert shown["token"] == "REDACTED" and shown["note"] == "x" * (700 << 10)


class _Endless:
    """A stream that gives `y\\n` for ever (`yes | databack convert -`), counting what was read of it."""

    def __init__(self):
        self.given = 0

    def read(self, size=-1):
        self.given += size
        return b"y\n" * (size // 2)


def test_a_capture_piped_in_past_the_member_limit_is_a_failed_input_read_no_further(tmp_path):
    """Before: standard input was spooled into OUT's work folder for as long as it gave bytes: `yes | databack
    convert -` filled the disk. Now it is read to `--max-member` at most, the file spooled removed."""
    stream = _Endless()
    inp = spool_stdin(stream, tmp_path, Limits(max_member=3 << 20))
    assert inp.name == "<stdin>"
    assert inp.error == "a capture piped in larger than 3 MiB: read no further (--max-member)"
    assert stream.given <= (3 << 20) + (1 << 20)  # the limit and a read
    assert list(tmp_path.iterdir()) == []
