"""Hostile input, second round: text nested in text (URLs in URLs' parameters, percent-encoded runs inside them,
multipart in multipart) costs bounded work and no RecursionError; a capture holding some is scrubbed and converted,
and what it nests stays redacted. No timing: work is counted by the text the policy's URL pass is given."""

from __future__ import annotations

import io
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


# --- HAR: one string of gigabytes, gzipped into a few megabytes --------------------------------------------------


def _har_with_long_string(path, length: int):
    import gzip
    import json

    from builders import BAND_EVENTS_URL, band_event

    log = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "pages": [], "entries": [
        entry(BAND_EVENTS_URL, {"value": [band_event()]}),
        entry("https://www.example.com/", "PLACEHOLDER"),
        entry(BAND_EVENTS_URL, {"value": [band_event()]}),
    ]}}
    head, tail = json.dumps(log).encode().split(b"PLACEHOLDER")
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(length >> 20):
            out.write(b"ab\\u00e9\\\\" * (1 << 17))  # a MiB of characters, escapes and all
        out.write(tail)
    return path


def test_a_har_string_longer_than_a_body_may_be_is_never_held_whole(tmp_path, monkeypatch):
    """Before: ijson built the whole string (a 512 MiB one, 500 KB gzipped, took 1.1 GB to inspect); now what is past
    `limits.max_string` of it is left out as it is read, and the entry is over the body's limit as before."""
    import tracemalloc

    from converters import limits
    from converters.captures import Exchange, har_runs, read_capture

    # runs of entries parsed by orjson hold up to MAX_RUN_BYTES before ijson reads on: smaller, to see the string
    monkeypatch.setattr(har_runs, "MAX_RUN_BYTES", 2 << 20)
    monkeypatch.setattr(har_runs, "RUN_BYTES", 256 << 10)
    path = _har_with_long_string(tmp_path / "long.har.gz", 16 << 20)
    budget = limits.Limits(max_body=256 << 10)
    assert limits.max_string(budget) < 2 << 20
    tracemalloc.start()
    with limits.applied(budget):
        items = list(read_capture(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 << 20  # the limit, a few reads and the parser's copies: never the 16 MiB string (before: 24)
    exchanges = [item for item in items if isinstance(item, Exchange)]
    assert len(exchanges) == 3 and "max-body" in str(exchanges[1].body_error)


def test_strings_cut_short_leave_valid_json_whatever_the_pieces():
    import json

    from converters import limits

    for text in ["a" * 200, "é" * 200, "\\u00e9" * 100, "\\\\" * 100, '\\"' * 100, "ab\\nc" * 50, "\U0001F600" * 60]:
        document = ('{"x": "' + text + '", "z": "' + text + '", "y": [1, "b"]}').encode()
        for piece in (5, 7, 16, 33, 64, 101, 1000):
            pruner = limits.DepthPruner(100, 0, max_string=20)
            shown = json.loads(b"".join(pruner.feed(document[i : i + piece]) for i in range(0, len(document), piece)))
            assert shown["y"] == [1, "b"]
            whole = json.loads(document)["x"]
            for key in ("x", "z"):
                assert whole.startswith(shown[key].split(" [databack")[0])
                if 32 <= piece < len(document) // 3:
                    assert pruner.cut and "cut short" in shown[key]
            unlimited = limits.DepthPruner(100, 0)
            assert b"".join(unlimited.feed(document[i : i + piece]) for i in range(0, len(document), piece)) == document


def test_a_long_har_string_is_handed_to_the_parser_in_one_piece():
    """Before: a string across n pieces of the file was handed on a piece at a time, and ijson's yajl lexer reads the
    string again from its start at every piece given (n²/2 pieces' work: a 64 MiB string in 1 MiB reads took 11 s, a
    193 MiB one, cut at `max_string`, two minutes). Now the pieces wholly inside a string are held back and given
    with the piece that ends it, the string in two blocks at most: asserted as such (no timing), and nothing is lost or changed, cut off inside the
    string too (`flush`)."""
    import json

    from converters import limits

    text = "ab\\u00e9\\\\" * 5000 + '\\"'  # 50 KB of characters and escapes
    document = ('{"log": {"entries": [{"a": "x"}, {"t": "' + text + '", "n": [1, "b"]}]}}').encode()
    for piece in (7, 1000, 4096, 30_000):
        pruner = limits.DepthPruner(100, 0, max_string=1 << 20)
        given = [pruner.feed(document[i : i + piece]) for i in range(0, len(document), piece)]
        assert b"".join(given) == document
        start = document.index(text.encode())
        ends = [sum(map(len, given[: n + 1])) for n in range(len(given))]  # where each block given ends
        blocks = [n for n, end in enumerate(ends) if end > start and given[n] and end - len(given[n]) < start + len(text)]
        assert len(blocks) <= 2  # the string in the block it begins in and the one it ends in (before: 50 KB / piece)
        assert json.loads(b"".join(given))["log"]["entries"][1]["t"] == json.loads(document)["log"]["entries"][1]["t"]
        cut_off = document[: len(document) // 2]  # a file that ends inside the string: every byte given on
        pruner = limits.DepthPruner(100, 0, max_string=1 << 20)
        given = [pruner.feed(cut_off[i : i + piece]) for i in range(0, len(cut_off), piece)]
        assert b"".join(given) + pruner.flush() == cut_off
    reader = limits.PrunedReader(io.BytesIO(document), 100, max_string=1 << 20)
    assert b"".join(iter(lambda: reader.read(1000), b"")) == document


def test_a_body_cut_short_as_read_is_over_the_body_limit_and_never_held(tmp_path, monkeypatch):
    """Before: a string past `max_string` was handed to the parser up to the limit (3 × --max-body + 1 MiB: 193 MiB,
    two minutes and 500-730 MB for a gzipped HAR of 2.8 MB), then cut, and the body was what was left: of escapes
    (`\\u0001`, 6 bytes a character), less than --max-body, taken as the body it was not (a Band response of
    `\\x01`s and the mark). Now the string's pieces are held back until it ends and dropped where it is cut:
    the parser is given what the block it begins in holds of it and the mark, and the body is over its limit (`body
    cut short as read: … (--max-body)`), the other entries read and scrubbed as ever. On main: a body of 2.6 MB."""
    import gzip
    import json
    import tracemalloc

    from builders import BAND_EVENTS_URL, band_event

    from converters import limits, scrub
    from converters.captures import Exchange, har_runs, read_capture

    monkeypatch.setattr(har_runs, "MAX_RUN_BYTES", 2 << 20)  # (a run holds less than the string: ijson reads it)
    monkeypatch.setattr(har_runs, "RUN_BYTES", 256 << 10)
    log = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
        entry(BAND_EVENTS_URL, {"value": [band_event()]}), entry(BAND_EVENTS_URL, "PLACEHOLDER"),
        entry(BAND_EVENTS_URL, {"value": [band_event("2")]})]}}
    head, tail = json.dumps(log).encode().split(b"PLACEHOLDER")
    path = tmp_path / "escapes.har.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        for _ in range(32):
            out.write(b"\\u0001" * (1 << 17))  # 768 KiB of escapes: 128 Ki characters
        out.write(tail)
    budget = limits.Limits(max_body=4 << 20)  # max_string: 13 MiB (of the string's 24 MiB, 4 Mi characters)
    tracemalloc.start()
    with limits.applied(budget):
        items = list(read_capture(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    exchanges = [item for item in items if isinstance(item, Exchange)]
    assert len(exchanges) == 3 and exchanges[0].body and exchanges[2].body
    assert exchanges[1].body is None and exchanges[1].body_error == (
        "body cut short as read: its text passed 13 MiB as the file writes it, escapes and all (--max-body)")
    assert peak < 3 * limits.max_string(budget)  # what is held back, then dropped; the parser never had it
    report = scrub.scrub_capture(path, tmp_path / "copy.har", budget)
    assert report.entries == 3 and "1 body over a limit replaced whole: body cut short as read" in report.message
    assert (tmp_path / "copy.har").stat().st_size < 100_000


# --- free text: a long run of digits -------------------------------------------------------------------------------


def test_a_long_run_of_digits_is_tried_as_a_pair_name_once():
    """Before: `_PAIR` tried a name from every digit of a run and read the run to its end each time (the work the
    square of the run's length): 40 KB of digits took 4 s, a 1 MiB number in a device field (kept in its reject)
    most of an hour. Now a name begins only where a run of digits does, so each digit is read from one start: what
    bounds the work, asserted as such (no timing). What is found is the same: the run's first digit finds it."""
    text = "9" * 10 + "pin=1234"
    assert redaction._PAIR.match(text, 0)["name"] == "9999999999pin"
    assert all(redaction._PAIR.match(text, start) is None for start in range(1, 11))  # its first letter's too
    assert redaction.redact_text(text) == "9999999999pin=REDACTED"
    shown = redaction.redact_text('{"Duration": "' + "9" * 200_000 + '", "password": "hunter2"}')
    assert "hunter2" not in shown and "9" * 200_000 in shown


class _CountingMatch:
    """`redaction._JWT` with the positions its `match` was tried from kept."""

    def __init__(self, pattern: re.Pattern):
        self.pattern, self.tried = pattern, []

    def match(self, text: str, position: int = 0):
        self.tried.append(position)
        return self.pattern.match(text, position)


def test_a_run_of_eyj_is_tried_as_a_jwt_once(monkeypatch):
    """Before: the JWT of `_UNAMBIGUOUS` was tried from every `eyJ` of a run of `[\\w-]`, each reading the run to its
    end (the work the square of the run's length): 100 KB of `eyJeyJ…` took 6.5 s to redact (0.02 MB/s), a MiB of it
    in a reject's body some ten minutes. Now it is tried from the first `eyJ` of a run alone (a later one reads the
    same run to the same end: it is a JWT where the first is, or not at all), asserted as such (no timing); what is
    found is what the one regex finds, JWTs and the other shapes around them alike."""
    counting = _CountingMatch(redaction._JWT)
    monkeypatch.setattr(redaction, "_JWT", counting)
    for run in ("eyJ" * 30_000, "eyJaaaa-" * 10_000, "x-" + "eyJa" * 20_000 + " " + "eyJ_" * 20_000):
        assert redaction.redact_text(run, redaction.STRICT) == run
        assert len(counting.tried) == run.count(" ") + 1  # once a run
        counting.tried.clear()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    texts = [f"{jwt}", f"a-eyJ-eyJxx {jwt} eyJ", f"eyJeyJ{jwt[3:]}", f"AKIAABCDEFGHIJKLMNOP-{jwt}.x.y",
             f"xoxb-0123456789-{jwt}", f"{jwt}.{jwt}", f"ya29.{'a' * 20}-{jwt}", "eyJaaaa.eyJbbbb.eyJcccc.eyJd",
             f"{'eyJ' * 50}.{jwt}", f"é{jwt}é", f"-----BEGIN RSA PRIVATE KEY-----\n{jwt}\n-----END RSA PRIVATE KEY-----"]
    for text in texts:
        assert redaction._unambiguous_text(text) == redaction._UNAMBIGUOUS_RE.sub(redaction._unambiguous_sub, text)
    assert redaction.redact_text(f"token {jwt} ok") == "token REDACTED ok"


def test_text_without_a_separator_is_not_searched_for_pairs(monkeypatch):
    """`_PAIR` tried a name from every character of a run of name characters, 64 of them each: 100 KB of `a_B…` or
    `Aaaa…-` took 0.2-0.3 s (0.3-0.4 MB/s, every pattern else 0.05 s). Its name no longer gives characters back (none
    shorter is followed by a separator), and text holding no `:`, `=`, `：` or `＝` holds no pair: not searched."""
    class Refusing:
        def finditer(self, *args):
            raise AssertionError("searched")

    monkeypatch.setattr(redaction, "_PAIR", Refusing())
    for text in ("a_B" * 30_000, "Aaaaaaaaaaaaaaaaaaaaaaa-" * 4000, "password hunter2", "密码 x"):
        assert redaction._pairs(text) == text
    monkeypatch.undo()
    assert redaction.redact_text("a_B" * 30_000 + " password=hunter2").endswith("password=REDACTED")
    assert redaction._PAIR.pattern.count("{0,63}+") == 1


# --- device payloads: a million violations of the schema -----------------------------------------------------------


def test_a_payload_of_many_violations_costs_the_first_one_alone():
    """Before: `iter_errors` built every violation before it yielded the first: 300,000 nulls where events belong
    took 7.5 s and 391 MiB (a 5 MB capture, 1.8 GB to convert); now the first violation alone is found."""
    import tracemalloc

    from converters import validation

    payload = {"value": [None] * 100_000}
    validation.validator("band-events.json")  # (the schema's own compilation is not what is measured)
    tracemalloc.start()
    problem = validation.schema_problem("band-events.json", payload)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert problem == 'at /value/0: null is not of type "object"'
    assert peak < 4 << 20  # before: about 130 MiB
    assert validation.schema_problem("band-events.json", {"value": []}) is None


# --- HAR: NaN and Infinity, as Python's json module writes them ----------------------------------------------------


def test_nan_and_infinity_in_a_har_cost_no_entry(tmp_path):
    """Before: the HAR reader stopped at the first `NaN` (`json.dump` writes one for a float('nan') `time`): the file
    was `partial`, every entry after it lost, and `scrub` wrote the entries before it alone. Now they read as `null`,
    as numbers beyond a float's range do."""
    import json

    from converters.captures import Exchange, read_capture

    entries = [entry(f"https://www.example.com/{i}", {"n": i}) for i in range(6)]
    entries[1]["time"] = float("nan")
    entries[3]["timings"]["wait"] = float("inf")
    entries[4]["timings"]["send"] = float("-inf")
    for separators, name in ((None, "spaced"), ((",", ":"), "compact")):
        path = tmp_path / f"{name}.har"
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}, separators=separators))
        items = list(read_capture(path))
        assert [type(item) for item in items] == [Exchange] * 6, items[-1:]
        report = scrub_capture(path, tmp_path / f"{name}-out.har")
        assert report.status == "ok"
        scrubbed = json.loads((tmp_path / f"{name}-out.har").read_text())["log"]["entries"]
        assert len(scrubbed) == 6 and scrubbed[1]["time"] is None and scrubbed[0]["time"] == 120.5
