"""Hostile input, ninth round: what one small or odd part of a capture may cost. No timing: what is held (traced
memory), what is replaced and what is said."""

from __future__ import annotations

import tracemalloc

import pytest

from converters import redaction

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
