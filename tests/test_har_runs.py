"""Parsing `log.entries` in runs (orjson) gives exactly what ijson's parse of the whole file gives: the same entries
in the same order, and the same error after the same entries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from unittest.mock import patch

import ijson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converters.captures import har_runs
from converters.captures.har import _json_bytes
from converters.captures.har_runs import IJSON, har_entries

REPO = Path(__file__).resolve().parents[1]
HARS = sorted((REPO.parent / "shared/reference/captures/har").glob("*.har")) + [REPO / "samples/phone-sync.har"]


def ijson_entries(read) -> tuple[list, str | None]:
    """What ijson alone makes of the stream: the entries, then the error type it stopped at (if any)."""
    return _collect(IJSON.items(_Stream(read), "log.entries.item", use_float=True))


def runs_entries(read) -> tuple[list, str | None]:
    return _collect(har_entries(read))


def _collect(values) -> tuple[list, str | None]:
    got: list = []
    try:
        for value in values:
            got.append(value)
    except (ijson.JSONError, UnicodeDecodeError, EOFError) as error:
        return got, type(error).__name__
    return got, None


class _Stream:
    def __init__(self, read):
        self.read = read


def reads_of(data: bytes, block: int = 7, fail_at: int | None = None):
    """A `read` over `data`, in blocks of `block` bytes, that raises EOFError at `fail_at` (as a cut-off gzip does)."""
    stream = io.BytesIO(data if fail_at is None else data[:fail_at])

    def read(size: int) -> bytes:
        if size == 0:  # ijson's check for bytes or text
            return b""
        chunk = stream.read(min(size, block))
        if not chunk and fail_at is not None:
            raise EOFError("compressed data ended")
        return chunk

    return read


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of a few bytes: every entry boundary is a cut."""
    monkeypatch.setattr(har_runs, "RUN_BYTES", 1)
    monkeypatch.setattr(har_runs, "MAX_RUN_BYTES", 1 << 20)


@pytest.mark.parametrize("path", HARS, ids=lambda p: p.name)
def test_runs_give_the_entries_ijson_gives_for_real_hars(path: Path, small_runs):
    if not path.exists():
        pytest.skip("../shared/reference is not present")
    with _json_bytes(path, None) as stream:
        data = stream.read()
    assert runs_entries(reads_of(data, 1 << 20)) == ijson_entries(reads_of(data, 1 << 20))


def test_runs_parse_most_entries_and_ijson_only_the_last(small_runs, monkeypatch):
    """The sample's entries change their first key half-way (pageref, then startedDateTime): both are learnt."""
    by_ijson = []

    def counted(data, in_entries):
        for value in original(data, in_entries):
            by_ijson.append(value)
            yield value

    original = har_runs._ijson_items
    monkeypatch.setattr(har_runs, "_ijson_items", counted)
    data = (REPO / "samples/phone-sync.har").read_bytes()
    entries, error = runs_entries(reads_of(data, 1 << 20))
    assert error is None and len(entries) == 16 and len(by_ijson) == 1


def test_a_file_smaller_than_a_run_is_parsed_in_runs_but_for_its_last_entry(monkeypatch):
    """Once the file is read, what is left is cut at every entry (first keys learnt again as needed)."""
    by_ijson = []
    original = har_runs._ijson_items
    monkeypatch.setattr(har_runs, "_ijson_items", lambda *a, **k: (by_ijson.append(v) or v for v in original(*a, **k)))
    data = (REPO / "samples/phone-sync.har").read_bytes()
    assert len(data) < har_runs.RUN_BYTES
    entries, error = runs_entries(reads_of(data, 1 << 20))
    assert (entries, error) == ijson_entries(reads_of(data, 1 << 20))
    assert len(entries) == 16 and len(by_ijson) == 1


def test_an_entries_key_nested_before_the_log_entries_is_not_taken_for_them(small_runs):
    doc = {"log": {"creator": {"name": "x", "entries": [{"a": 1}, {"a": 2}]}, "entries": [{"a": 3}, {"a": 4}]}}
    data = json.dumps(doc).encode()
    assert runs_entries(reads_of(data)) == ([{"a": 3}, {"a": 4}], None)


def test_a_read_that_fails_comes_after_every_entry_read_before_it(small_runs):
    data = json.dumps({"log": {"entries": [{"k": i, "text": "x" * 50} for i in range(40)]}}).encode()
    for fail_at in (30, len(data) // 2, len(data) - 3):
        got = runs_entries(reads_of(data, 64, fail_at))
        assert got == ijson_entries(reads_of(data, 64, fail_at)) and got[1] == "EOFError"


JSON_TEXT = st.text(st.sampled_from(['"', "\\", "}", "{", ",", "[", "]", ":", " ", "\n", "a", "é", "\u2028"]))
FIRST_KEYS = ["startedDateTime", "pageref", "_initiator", "name"]


@st.composite
def hars(draw) -> dict:
    """HAR-like documents made to trip cuts: entries whose first key varies, strings of JSON punctuation (as
    bodies of JSON are), and objects nested in arrays that begin with an entry's first key."""
    entries = []
    for _ in range(draw(st.integers(0, 12))):
        keys = draw(st.permutations(FIRST_KEYS))[: draw(st.integers(1, 4))]
        entry: dict = {key: draw(JSON_TEXT) for key in keys}
        entry["request"] = {"headers": [{key: draw(JSON_TEXT)} for key in draw(st.lists(st.sampled_from(FIRST_KEYS)))]}
        # (integers beyond 64 bits, and -2**63, ijson's parser refuses; orjson reads them as floats: not compared)
        numbers = st.one_of(st.integers(1 - 2**63, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False))
        entry["time"] = draw(numbers)
        entries.append(entry)
    log = {"version": "1.2", "entries": entries}
    if draw(st.booleans()):  # pages first, perhaps with an "entries" of their own (the runs leave all to ijson then)
        page = {"startedDateTime": "x", "entries": []} if draw(st.booleans()) else {"startedDateTime": "x"}
        log = {"pages": [page], **log, "comment": "after"}
    elif draw(st.booleans()):  # pages after the entries, beginning as entries do: no cut there may be taken
        log = {**log, "pages": [{"startedDateTime": "x", "id": str(i)} for i in range(draw(st.integers(1, 3)))]}
    return {"log": log}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    har=hars(),
    indent=st.sampled_from([None, 0, 2]),
    run_bytes=st.integers(1, 300),
    block=st.integers(1, 200),
    damage=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.sampled_from([b"", b"#", b"]", b"\xff", b'"']))),
)
def test_runs_give_what_ijson_gives_for_any_har_whole_cut_off_or_damaged(har, indent, run_bytes, block, damage):
    data = json.dumps(har, indent=indent, ensure_ascii=False).encode()
    if damage is not None:  # cut off (b"") or damaged at some point
        at = int(damage[0] * len(data))
        data = data[:at] + damage[1] + (data[at + 1 :] if damage[1] else b"")
    with patch.object(har_runs, "RUN_BYTES", run_bytes), patch.object(har_runs, "MAX_RUN_BYTES", 2 * run_bytes + 600):
        got = runs_entries(reads_of(data, block))
    assert got == ijson_entries(reads_of(data, block))
    if damage is None:
        assert got == (har["log"]["entries"], None)


def with_surrogates(code_points: list[int]) -> str:
    return "".join(map(chr, code_points))


@given(st.lists(st.one_of(st.integers(0xD800, 0xDFFF), st.sampled_from([0x61, 0x5C, 0x22, 0x1F600])), max_size=12))
def test_lone_surrogates_read_as_replacement_characters_and_pairs_as_what_they_pair_to(code_points):
    text = with_surrogates(code_points)
    escaped = bytearray(json.dumps([text]).encode())  # ensure_ascii: every surrogate as its escape, as Chrome writes
    length = len(escaped)
    har_runs._lone_surrogates_replaced(escaped)
    assert len(escaped) == length
    assert json.loads(escaped) == [text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")]


@pytest.mark.parametrize("where", [0, 1, 2])
@pytest.mark.parametrize("surrogate", ["\\ud800", "\\udc80", "\\\\\\udfff"])
def test_an_entry_with_a_lone_surrogate_costs_nothing_wherever_it_is(small_runs, where, surrogate):
    entries = [{"startedDateTime": str(i), "request": {"url": f"u{i}"}} for i in range(3)]
    entries[where]["request"]["headers"] = [{"name": "X", "value": "@S@"}]
    data = json.dumps({"log": {"entries": entries}}).replace('"@S@"', f'"a{surrogate}b"').encode()
    got, error = runs_entries(reads_of(data, 64))
    assert error is None and [e["startedDateTime"] for e in got] == ["0", "1", "2"]
    value = got[where]["request"]["headers"][0]["value"]
    assert value == ("a\\\ufffdb" if surrogate.startswith("\\\\") else "a\ufffdb")


@pytest.mark.parametrize("where", [0, 1, 2])
@pytest.mark.parametrize("number", ["1" + "0" * 400, "2e999", "-1.5E+400"])
def test_a_number_no_float_holds_in_an_entry_reads_as_null_and_costs_nothing_else(small_runs, where, number):
    entries = [{"startedDateTime": str(i), "time": 1.5, "request": {"url": f"u{i}", "body": "1" * 400}} for i in range(3)]
    entries[where]["time"] = "@N@"
    data = json.dumps({"log": {"entries": entries}}).replace('"@N@"', number).encode()
    got, error = runs_entries(reads_of(data, 64))
    assert error is None and [e["time"] for e in got] == [None if i == where else 1.5 for i in range(3)]
    assert all(e["request"]["body"] == "1" * 400 for e in got)  # digits in strings are text


@pytest.mark.parametrize("where", [0, 2])
def test_an_integer_beyond_64_bits_reads_as_the_float_orjson_makes_of_it_in_the_last_entry_too(small_runs, where):
    entries = [{"startedDateTime": str(i), "time": 1.5, "request": {"url": f"u{i}"}} for i in range(3)]
    entries[where]["time"] = 2**70
    got, error = runs_entries(reads_of(json.dumps({"log": {"entries": entries}}).encode(), 64))
    assert error is None and [e["time"] for e in got] == [float(2**70) if i == where else 1.5 for i in range(3)]


def test_digits_in_a_string_left_open_at_the_end_of_the_text_are_no_number():
    text = bytearray(b'[1' + b"0" * 30 + b', "abc' + b"1" * 30)
    assert har_runs._huge_numbers_replaced(text, len(text))
    assert text == b"[" + b"1e+30".ljust(31) + b', "abc' + b"1" * 30
