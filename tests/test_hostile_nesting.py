"""Hostile input, second round: text nested in text (URLs in URLs' parameters, percent-encoded runs inside them,
multipart in multipart) costs bounded work and no RecursionError; a capture holding some is scrubbed and converted,
and what it nests stays redacted. No timing: work is counted by the text the policy's URL pass is given."""

from __future__ import annotations

import re

from builders import entry, write_har

from converters import redaction
from converters.scrub import scrub_capture

SECRET = "hunter2hunter2SECRET"


def _nested_in_parameters(levels: int) -> str:
    """A URL whose `u` parameter is a URL whose `u` parameter is … (each level percent-encoding the one below)."""
    text = f"https://h/cb?access_token={SECRET}"
    for _ in range(levels):
        text = "https://h/?u=" + text.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("?", "%3F")
    return text


class _CountingPattern:
    """`redaction._URL` with the length of every text its `sub` is given summed up."""

    def __init__(self, pattern: re.Pattern):
        self.pattern, self.seen = pattern, 0

    def sub(self, repl, text):
        self.seen += len(text)
        return self.pattern.sub(repl, text)

    def __getattr__(self, name):
        return getattr(self.pattern, name)


def test_urls_nested_in_parameters_cost_work_linear_in_their_length(monkeypatch):
    """Before: each level was looked into twice (by the URL and by its percent-encoded run), so 1 KB of 18 levels
    cost about 2^18 times its length (seconds; 25 levels, minutes)."""
    text = _nested_in_parameters(18)
    assert len(text) < 2000
    counting = _CountingPattern(redaction._URL)
    monkeypatch.setattr(redaction, "_URL", counting)
    shown = redaction.redact_text(f"see {text} now")
    assert SECRET not in shown
    assert counting.seen <= 64 * max(len(text), 1 << 16)  # the budget of one text, with room


def test_a_url_nested_hundreds_of_times_is_redacted_without_recursion_error():
    """Before: RecursionError (2 KB of `https://h/?u=https://h/?u=…`), which stopped `scrub` with a traceback."""
    text = "https://h/?u=" * 400 + f"https://h/cb?access_token={SECRET}"
    for shown in (redaction.redact_text(text), redaction.redact_url(text), redaction.path("/a/" + text)):
        assert SECRET not in shown


def test_mild_nesting_is_redacted_as_before():
    from urllib.parse import quote

    text = "https://h/?u=" + quote("https://h2/?next=" + quote(f"https://h3/cb?access_token={SECRET}&x=1", safe=""),
                                    safe="")
    shown = redaction.redact_text(text)
    assert SECRET not in shown and shown.startswith("https://h/?u=https%3A%2F%2Fh2") and "REDACTED" in shown


def test_multipart_nested_in_multipart_is_redacted_without_recursion_error():
    body = f"--z\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{SECRET}\r\n--z--\r\n".encode()
    for level in range(2000):
        boundary = b"b%d" % level
        body = b"--" + boundary + b"\r\nContent-Type: multipart/mixed\r\n\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
    shown = redaction.redact_body(body, None, "other")
    assert SECRET.encode() not in shown


def test_scrub_of_a_capture_with_a_url_nested_hundreds_of_times(tmp_path):
    nested = "https://h/?u=" * 400 + f"https://h/cb?access_token={SECRET}"
    src = write_har(tmp_path / "nested.har", [
        entry("https://api.hello.is/v1/room/current?r=" + nested, {"temperature": {"value": 20}}),
        entry("https://www.example.com/", "see " + nested),
    ])
    report = scrub_capture(src, tmp_path / "out.har")
    assert report.status == "ok"
    assert SECRET not in (tmp_path / "out.har").read_text()


# --- flows: a dump of many tiny frames -------------------------------------------------------------------------


def test_a_dump_of_many_tiny_frames_asks_for_its_file_size_once(tmp_path, monkeypatch):
    """Before: an fstat and a tell a frame (a fifth of the time of 300,000 empty frames)."""
    import os

    from converters.captures import tnetstring_walk

    path = tmp_path / "tiny.flow"
    path.write_bytes(b"0:}" * 1000 + b"0:~")
    calls = []
    real = os.fstat
    monkeypatch.setattr(tnetstring_walk.os, "fstat", lambda fd: calls.append(fd) or real(fd))
    with open(path, "rb") as dump:
        assert len(list(tnetstring_walk.frames(dump))) == 1001
    assert len(calls) <= 2


def test_a_last_frame_longer_than_the_file_says_what_is_left(tmp_path):
    import pytest

    from converters.captures import tnetstring_walk

    path = tmp_path / "short.flow"
    path.write_bytes(b"0:}" * 3 + b"10:abc,")
    with open(path, "rb") as dump:
        frames = tnetstring_walk.frames(dump)
        assert [next(frames) for _ in range(3)] == [b"}"] * 3
        with pytest.raises(tnetstring_walk.FrameTooLarge) as raised:
            next(frames)
    assert (raised.value.claimed, raised.value.left, raised.value.allowed) == (10, 4, None)


def test_a_dump_that_grows_while_it_is_read_is_read_on(tmp_path):
    from converters.captures import tnetstring_walk

    path = tmp_path / "growing.flow"
    path.write_bytes(b"0:}")
    with open(path, "rb") as dump:
        frames = tnetstring_walk.frames(dump)
        assert next(frames) == b"}"
        with open(path, "ab") as more:
            more.write(b"3:abc,")
        assert next(frames) == b"abc,"
