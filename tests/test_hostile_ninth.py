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
