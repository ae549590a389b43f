"""The resource budget (converters/limits.py): hostile captures cost the one exchange, entry or flow over a limit,
with a reason naming the limit and its option; the rest of the file converts, and the accounting adds up.
Memory is measured in bench/hostile.py (`make hostile`), not here."""

from __future__ import annotations

import base64
import gzip
import json
import os
import tracemalloc
import zlib

import hostile_cases as H
import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters import limits
from converters.captures import read_capture
from converters.cli import app
from converters.inspect_captures import inspect
from converters.limits import LimitHit, Limits
from converters.pipeline import Input, convert
from converters.scrub import scrub_capture

EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 25
SMALL = Limits(max_body=1 << 20)  # bombs of a few MiB hit it
ENCODINGS = ("gzip", "deflate", "br", "zstd")
runner = CliRunner()


def converted(path, budget=SMALL, generic=(), jobs=1):
    result = convert([Input(path, path.name, True, limits=budget, generic=generic)], jobs=jobs)
    (report,) = result.files
    assert report.accounted() == report.exchanges
    return report, result.tables


def rejects(tables) -> list[dict]:
    return tables["rejects"].lazy().collect().to_dicts() if "rejects" in tables else []


# --- decompression ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_each_encoding_decodes_what_it_encoded(encoding):
    data = json.dumps(band_event()).encode() * 50
    assert limits.decompress(H.compress(encoding, iter([data])), encoding) == data


def test_a_list_of_encodings_is_undone_last_first():
    data = b'{"a": 1}' * 100
    assert limits.decompress(H.compress("br", iter([gzip.compress(data)])), "gzip, br") == data


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_bomb_stops_at_the_limit_without_holding_more(encoding):
    bomb = H.compress(encoding, H.zeros(64 << 20))
    tracemalloc.start()
    with pytest.raises(LimitHit) as hit:
        limits.decompress(bomb, encoding, Limits(max_body=1 << 20, max_ratio=10**9))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(hit.value) == "body larger than 1 MiB once decompressed (--max-body)"
    assert peak < 8 << 20  # the limit and a piece or two, never the 64 MiB


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_body_that_decompresses_too_many_times_its_size_names_the_ratio(encoding):
    with pytest.raises(LimitHit, match=r"more than 250 times its compressed size \(--max-ratio\)"):
        limits.decompress(H.compress(encoding, H.zeros(8 << 20)), encoding)


@pytest.mark.parametrize("encodings", [["gzip", "gzip"], ["deflate", "zstd"], ["gzip", "br", "gzip"]])
def test_a_body_encoded_twice_over_is_weighed_against_its_size_as_sent(encodings):
    """Each coding was weighed against what the one before it gave: 486 bytes of gzip over gzip unpacked to 8 MiB (a
    flow of 6 KB to 60 MiB, 700 MB of memory to convert and a minute to scrub), where --max-ratio allows 1 MiB."""
    body = H.layered(encodings, 8 << 20)
    assert len(body) < 8_000
    with pytest.raises(LimitHit, match=r"more than 250 times its compressed size \(--max-ratio\)"):
        limits.decompress(body, ", ".join(encodings))
    assert len(limits.decompress(body, ", ".join(encodings), Limits(max_ratio=10**5))) == 8 << 20  # (the case)


@pytest.mark.parametrize("encodings, header", [(["deflate", "zstd"], "deflate, zstd"), (["deflate", "gzip"], "deflate")])
def test_a_har_body_kept_as_sent_in_two_codings_is_weighed_against_its_size_as_sent(tmp_path, encodings, header):
    """A body in base64 as sent (Fiddler's, Charles'), in the codings its Content-Encoding names, or gzipped over
    them (known by its magic bytes): the same bypass of --max-ratio."""
    sent = H.layered(encodings, 8 << 20)
    bomb = entry(BAND_EVENTS_URL, base64.b64encode(sent).decode(), response_headers={"Content-Encoding": header})
    bomb["response"]["content"]["encoding"] = "base64"
    path = write_har(tmp_path / "bomb.har", [entry(BAND_EVENTS_URL, band_event()), bomb])
    report, tables = converted(path, limits.DEFAULT)
    reason = "body decompresses to more than 250 times its compressed size (--max-ratio)"
    assert [r["reason"] for r in rejects(tables)] == [reason] and tables["band_events"].height == 1
    assert report.error == f"1 entry over a limit: {reason}"
    if encodings[-1] != "gzip":  # (scrub gunzips such a body, and looks no further into what that gives)
        scrubbed = scrub_capture(path, tmp_path / "copy.har")
        assert scrubbed.message == f"1 body over a limit replaced whole: {reason}"


def test_a_flow_body_encoded_twice_over_is_one_reject_and_scrub_replaces_it_whole(tmp_path):
    bomb = H.http_flow(BAND_EVENTS_URL, H.layered(["gzip", "gzip"], 8 << 20), "gzip, gzip")
    path = tmp_path / "bomb.flow"
    path.write_bytes(H.dump([H.http_flow(BAND_EVENTS_URL, H.band_body()), bomb]))
    report, tables = converted(path, limits.DEFAULT)
    reason = "body decompresses to more than 250 times its compressed size (--max-ratio)"
    assert [r["reason"] for r in rejects(tables)] == [reason] and tables["band_events"].height == 1
    assert report.error == f"1 entry over a limit: {reason}"
    scrubbed = scrub_capture(path, tmp_path / "copy.flow")
    assert scrubbed.message == f"1 body over a limit replaced whole: {reason}"


def test_a_body_in_many_codings_costs_its_ratio_not_its_size_times_their_number(tmp_path, monkeypatch):
    """Each coding of a Content-Encoding list was weighed alone: one that stores (zlib level 0, 11 bytes a coding) never
    decompresses past its input, so 30,000 of them (`deflate, deflate, …`: a 300 KB gzipped flow) cost 21 s of CPU
    for one exchange (quadratic: 100,000 some 4 minutes). The codings undone after the first now feed the decoders
    at most --max-ratio times the body as sent (past its first MiB) together: past that, the exchange is a reject
    naming --max-ratio, the rest of the file converts, and scrub replaces the body whole."""
    fed: list[int] = []
    make = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *args: _Counted(make, fed, *args))
    body = H.stored_layers(H.band_body(), 2_000)
    reason = "body's content codings, one over another, decode to more than 250 times its size as sent (--max-ratio)"
    with pytest.raises(LimitHit) as hit:
        limits.decompress(body, ", ".join(["deflate"] * 2_000))
    assert str(hit.value) == reason
    assert sum(fed) <= 2 * (limits.RATIO_FLOOR + 250 * len(body))  # before: 1,000 times the body
    monkeypatch.undo()
    assert limits.decompress(H.stored_layers(H.band_body(), 20), ", ".join(["deflate"] * 20)) == H.band_body()
    bomb = H.http_flow(BAND_EVENTS_URL, body, ", ".join(["deflate"] * 2_000))
    path = tmp_path / "layers.flow"
    path.write_bytes(H.dump([H.http_flow(BAND_EVENTS_URL, H.band_body()), bomb]))
    report, tables = converted(path, limits.DEFAULT)
    assert [r["reason"] for r in rejects(tables)] == [reason] and tables["band_events"].height == 1
    assert report.error == f"1 entry over a limit: {reason}"
    assert scrub_capture(path, tmp_path / "copy.flow").message == f"1 body over a limit replaced whole: {reason}"


def test_small_bodies_are_never_refused_for_their_ratio():
    assert limits.decompress(gzip.compress(b"\0" * (1 << 20)), "gzip") == b"\0" * (1 << 20)


def test_damaged_and_unknown_encodings_say_so():
    with pytest.raises(ValueError, match="could not decode br body"):
        limits.decompress(b"not brotli at all", "br")
    with pytest.raises(ValueError, match="could not decode bz2_codec body: unknown content encoding"):
        limits.decompress(b"BZh9", "bz2_codec")  # Python's codecs would inflate it, unbounded


def _zstd_module():
    try:
        from compression import zstd
    except ImportError:
        from backports import zstd
    return zstd


class _Counted:
    """A decompressor that notes how many compressed bytes it is handed in `fed`."""

    def __init__(self, make, fed: list[int], *args):
        self._decompressor, self._fed = make(*args), fed

    def decompress(self, data, *args):
        self._fed.append(len(data))
        return self._decompressor.decompress(data, *args)

    def __getattr__(self, name):
        return getattr(self._decompressor, name)


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_a_body_of_many_tiny_members_costs_its_size_not_its_size_times_their_number(monkeypatch, encoding):
    """A gzip body is its members one after another, a zstd body its frames: 20,000 empty ones after the data must
    not hand each member's decompressor all that follows it (quadratic: a 4 MB flow took 16 s, 64 MB an hour)."""
    fed: list[int] = []
    if encoding == "gzip":
        empty, make = gzip.compress(b"", mtime=0), zlib.decompressobj
        monkeypatch.setattr(zlib, "decompressobj", lambda *args: _Counted(make, fed, *args))
    else:
        zstd = _zstd_module()
        empty, make = zstd.compress(b""), zstd.ZstdDecompressor
        monkeypatch.setattr(zstd, "ZstdDecompressor", lambda *args: _Counted(make, fed, *args))
    data = json.dumps(band_event()).encode()
    body = H.compress(encoding, iter([data])) + empty * 20_000
    assert limits.decompress(body, encoding) == data
    assert sum(fed) <= 6 * len(body)  # main: 1,000 to 2,000 times it


@settings(max_examples=EXAMPLES, deadline=None)
@given(encoding=st.sampled_from(ENCODINGS), size=st.integers(0, 6 << 20), fill=st.sampled_from([b"\0", b"ab", b"{}"]),
       max_body=st.integers(1, 8 << 20), max_ratio=st.integers(1, 5000))
def test_decompression_gives_the_body_or_names_the_limit_it_passed(encoding, size, fill, max_body, max_ratio):
    data = (fill * (size // len(fill) + 1))[:size]
    compressed = H.compress(encoding, iter([data]))
    budget = Limits(max_body=max_body, max_ratio=max_ratio)
    too_big = size > max_body
    too_dense = size > limits.RATIO_FLOOR and size > max_ratio * len(compressed)
    try:
        assert limits.decompress(compressed, encoding, budget) == data
        assert not too_big and not too_dense
    except LimitHit as hit:
        assert ("--max-body" in str(hit) and too_big) or ("--max-ratio" in str(hit) and too_dense)


def test_base64_is_measured_before_it_is_decoded():
    limits.check_base64("A" * 1000, Limits(max_body=750))
    with pytest.raises(LimitHit, match="once decoded from base64"):
        limits.check_base64("A" * 1008, Limits(max_body=750))


def test_sizes_read_as_the_options_write_them():
    assert [limits.parse_size(t) for t in ("64MiB", "64M", "1.5 GiB", "100000", "2kb")] == [
        64 << 20, 64 << 20, 3 << 29, 100000, 2048]
    assert limits.size_text(64 << 20) == "64 MiB" and limits.size_text(3 << 29) == "1.5 GiB"
    with pytest.raises(ValueError):
        limits.parse_size("lots")


# --- JSON depth and values ---------------------------------------------------------------------------------------


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}",\\ab\n\u00e9', max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(value=json_values, cuts=st.lists(st.integers(0, 400), max_size=12))
def test_the_gauge_finds_the_depth_however_the_text_is_cut(value, cuts):
    text = json.dumps(value).encode()  # escapes of quotes and backslashes, brackets inside strings
    true_depth = depth(value)
    bounds = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:])]

    def gauged(max_depth: int) -> bool:
        gauge = limits.JsonGauge(Limits(max_depth=max_depth, max_json_values=10**9))
        try:
            for piece in pieces:
                gauge.feed(piece)
        except LimitHit:
            return False
        return True

    assert gauged(max(true_depth, 1))
    if true_depth > 1:
        assert not gauged(true_depth - 1)


def pruned(value, limit: int, level: int = 0):
    """`value` with every object or array that opens deeper than `limit` levels replaced by the marker."""
    if isinstance(value, (dict, list)) and level + 1 > limit:
        return limits.PRUNED
    if isinstance(value, dict):
        return {k: pruned(v, limit, level + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [pruned(v, limit, level + 1) for v in value]
    return value


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(value=json_values, limit=st.integers(1, 6), cuts=st.lists(st.integers(0, 400), max_size=12),
       spaced=st.booleans())
def test_the_pruner_leaves_out_what_opens_past_the_limit_however_the_text_is_cut(value, limit, cuts, spaced):
    text = json.dumps(value, indent=1 if spaced else None).encode()
    bounds = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    pruner = limits.DepthPruner(limit)
    out = b"".join(pruner.feed(text[a:b]) for a, b in zip(bounds, bounds[1:]))
    assert json.loads(out) == pruned(value, limit)
    assert depth(json.loads(out)) <= limit and (out == text) == (pruner.pruned == 0)


def test_a_reader_through_the_pruner_never_hands_a_parser_more_levels_than_the_limit():
    import io

    deep = b'{"log":{"pages":' + b'[{"a":' * 200_000 + b"1" + b"}]" * 200_000 + b',"entries":[{"x":"[[{{\\"}]}}'
    reader = limits.PrunedReader(io.BytesIO(deep), 16)
    text = b"".join(iter(lambda: reader.read(1 << 16), b""))
    assert text == b'{"log":{"pages":' + b'[{"a":' * 7 + b'"databack: nested too deep, left out"' + b"}]" * 7 + \
        b',"entries":[{"x":"[[{{\\"}]}}' and reader.pruner.pruned == 1


@settings(max_examples=EXAMPLES * 4, deadline=None)
@given(value=json_values, max_depth=st.integers(1, 12), max_values=st.integers(1, 60))
def test_a_whole_text_is_judged_as_the_gauge_judges_it_in_pieces(value, max_depth, max_values):
    text = json.dumps(value, ensure_ascii=False).encode()  # without escapes too: check_json's own way
    budget = Limits(max_depth=max_depth, max_json_values=max_values)

    def passes(check) -> bool:
        try:
            check()
        except LimitHit:
            return False
        return True

    gauge = limits.JsonGauge(budget)
    in_pieces = passes(lambda: [gauge.feed(text[i : i + 5]) for i in range(0, len(text), 5)])
    assert passes(lambda: limits.check_json(text, budget)) == in_pieces
    assert passes(lambda: limits.check_json(text, Limits(max_depth=max(depth(value), 1), max_json_values=10**9)))


def test_the_gauge_counts_values_outside_strings_only():
    limits.check_json(json.dumps(["a,b,c,[{"] * 9).encode(), Limits(max_json_values=10))
    with pytest.raises(LimitHit, match=r"JSON of more than 10 values \(--max-json-values\)"):
        limits.check_json(json.dumps(list(range(20))).encode(), Limits(max_json_values=10))


def test_deep_json_is_refused_before_it_is_parsed():
    with pytest.raises(LimitHit, match=r"JSON nested deeper than 100 levels \(--max-depth\)"):
        limits.check_json(b"[" * 200_000)


def refused(check, text: bytes, lim: Limits, around: int) -> str | None:
    try:
        check(text, lim, around)
    except LimitHit as e:
        return str(e)
    return None


def gauge_alone(text: bytes, lim: Limits, around: int) -> None:
    limits.JsonGauge(lim, around).feed(text)


@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(value=json_values, soup=st.text(alphabet='[]{}",\\a', max_size=40), as_json=st.booleans(),
       max_depth=st.integers(0, 8), around=st.integers(0, 3), max_values=st.sampled_from([3, 40, 10**9]))
def test_check_json_refuses_exactly_what_the_gauge_refuses(value, soup, as_json, max_depth, around, max_values):
    """Its few passes over the whole text decide as the gauge does, with the same reason: JSON with brackets, quotes
    and backslashes in its strings, and text that is no JSON (unpaired brackets and quotes), at any depth around it
    and any limits."""
    text = json.dumps(value).encode() if as_json else soup.encode()
    lim = Limits(max_depth=max_depth, max_json_values=max_values)
    assert refused(limits.check_json, text, lim, around) == refused(gauge_alone, text, lim, around)
    if as_json and max_values == 10**9:
        assert (refused(limits.check_json, text, lim, around) is None) == (around + depth(value) <= max_depth)


@settings(max_examples=EXAMPLES * 8, deadline=None)
@given(soup=st.text(alphabet='[]{}",a', max_size=60), max_depth=st.integers(0, 8), around=st.integers(0, 3))
def test_text_without_escapes_no_longer_than_the_values_limit_is_judged_by_its_depth_as_the_gauge_does(
    soup, max_depth, around
):
    """check_json's pass for text without backslashes, no more bytes long than `max_json_values`: its quotes and
    brackets alone decide, as the gauge does (brackets in strings, quotes unpaired, text that is no JSON)."""
    text = soup.encode()
    lim = Limits(max_depth=max_depth, max_json_values=max(len(text), 1))
    assert refused(limits.check_json, text, lim, around) == refused(gauge_alone, text, lim, around)


def test_deep_json_with_many_brackets_in_strings_is_refused():
    """Brackets that strings hold, escaped quotes around them or not, can neither hide a level nor add one."""
    deep = ("[" * 101 + "]" * 101).encode()
    hidden = ('["' + "]" * 150 + '",' + "[" * 101 + '"' + "[" * 150 + '"' + "]" * 101 + "]").encode()
    escaped = 0  # at every level, strings whose escaped quotes pair up around a bracket: "\"]\"" and "\"[\""
    for _ in range(101):
        escaped = ['"]"', escaped, '"["']
    for text in (deep, hidden, json.dumps(escaped).encode()):
        with pytest.raises(LimitHit, match=r"JSON nested deeper than 100 levels"):
            limits.check_json(text)
    limits.check_json(('["' + "[" * 500 + '", {"a": ["]]]"]}]').encode())


# --- whole captures -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_flow_bomb_is_one_reject_and_the_flows_around_it_convert(tmp_path, encoding):
    report, tables = converted(H.flow_bomb(tmp_path / "bomb.flow", encoding, 8 << 20), Limits(1 << 20, 10**6))
    assert report.device_responses.total() == 2 and report.rejects == 1
    (reject,) = rejects(tables)
    reason = "body larger than 1 MiB once decompressed (--max-body)"
    assert reject["reason"] == reason and reject["body"] is None
    assert report.status == "partial" and report.error == f"1 entry over a limit: {reason}"


def test_the_limits_reach_the_process_that_reads_beside(tmp_path):
    path = H.flow_bomb(tmp_path / "bomb.flow", "gzip", 8 << 20)
    _, tables = converted(path, Limits(max_body=1 << 20, max_ratio=10**6), jobs=2)  # a reading process of its own
    assert [r["reason"] for r in rejects(tables)] == ["body larger than 1 MiB once decompressed (--max-body)"]


def test_a_har_base64_gzip_bomb_is_one_reject_without_its_body(tmp_path):
    report, tables = converted(H.har_bomb(tmp_path / "bomb.har", 32 << 20), Limits(max_body=1 << 20, max_ratio=10**6))
    assert report.device_responses.total() == 2
    (reject,) = rejects(tables)
    assert reject["reason"] == "body larger than 1 MiB once decompressed (--max-body)" and reject["body"] is None


def test_a_har_body_too_long_in_base64_is_refused_before_decoding(tmp_path):
    big = entry(BAND_EVENTS_URL, base64.b64encode(b"x" * (2 << 20)).decode())
    big["response"]["content"]["encoding"] = "base64"
    path = write_har(tmp_path / "big.har", [entry(BAND_EVENTS_URL, band_event()), big])
    report, tables = converted(path)
    assert [r["reason"] for r in rejects(tables)] == ["body larger than 1 MiB once decoded from base64 (--max-body)"]
    assert report.device_responses.total() == 1


TOO_DEEP = "HAR structure nested deeper than 100 levels left out (--max-depth)"


@pytest.mark.parametrize("levels", [100, 500, 1030, 100_000])
@pytest.mark.parametrize("where", ["first", "last"])
def test_a_custom_field_nested_too_deep_is_left_out_and_every_entry_converts(tmp_path, levels, where):
    """Nested past --max-depth (100 levels from the top of the file: 94 in `_custom`) in a field the exchange is not
    read from, within orjson's reach or not, in a run or in the last entry (which the streaming parser reads)."""
    path = H.har_deep_custom(tmp_path / "deep.har", levels, last=where == "last")
    for jobs in (1, 2):
        report, _ = converted(path, limits.DEFAULT, jobs=jobs)
        assert report.device_responses.total() == 3 and report.skipped_entries == {}
        assert (report.status, report.error) == ("partial", f"1 entry over a limit: {TOO_DEEP}")
    report, _ = converted(path, Limits(max_depth=1000))
    assert (report.status == "ok") == (levels < 990)


@pytest.mark.parametrize("levels", [200, 100_000])
@pytest.mark.parametrize("field", ["headers", "content"])
def test_a_response_nested_too_deep_is_a_reject_with_its_body_and_the_others_convert(tmp_path, levels, field):
    deep = entry(BAND_EVENTS_URL, band_event("0"))
    deep["response"][field if field == "headers" else "content"] = (
        [{"name": "X", "value": "@DEEP@"}] if field == "headers" else deep["response"]["content"] | {"_x": "@DEEP@"})
    text = json.dumps({"log": {"entries": [entry(BAND_EVENTS_URL, band_event()), deep]}})
    path = tmp_path / "deep.har"
    path.write_text(text.replace('"@DEEP@"', H.nested(levels)))
    report, tables = converted(path, limits.DEFAULT)
    assert report.device_responses == {"band/events": 1} and report.rejects == 1
    (reject,) = rejects(tables)
    assert reject["reason"].endswith(TOO_DEEP) and json.loads(reject["body"]) == band_event("0")
    assert report.error.startswith(f"1 entry over a limit: {TOO_DEEP}; 1 device response rejected")


def test_a_deep_device_body_is_a_reject_naming_the_limit(tmp_path):
    report, tables = converted(H.har_deep_body(tmp_path / "deep.har", 50_000), limits.DEFAULT)
    assert report.device_responses.total() == 2
    (reject,) = rejects(tables)
    assert reject["reason"] == "JSON nested deeper than 100 levels (--max-depth)"
    assert reject["body"] == H.nested(50_000)  # under 1 MiB: kept whole


def test_a_reject_keeps_the_first_mib_of_its_body(tmp_path):
    path = write_har(tmp_path / "big.har", [entry(BAND_EVENTS_URL, "x" * (3 << 20)), entry(BAND_EVENTS_URL, band_event())])
    report, tables = converted(path, limits.DEFAULT)
    (reject,) = rejects(tables)
    assert reject["reason"].endswith("; body cut to its first 1 MiB") and reject["body"] == "x" * (1 << 20)
    assert report.device_responses.total() == 1


@pytest.mark.parametrize("reader", ["har", "flow"])
def test_a_request_body_over_the_limit_is_named_where_it_is_read_and_counted_where_not(tmp_path, reader):
    answers = "https://api.hello.is/v1/questions/save?account_question_id=7"  # its rows come from the request body
    big = "[" + ",".join(['{"id": 1}'] * 200_000) + "]"  # 2 MiB, over the 1 MiB limit
    if reader == "har":
        path = write_har(tmp_path / "up.har", [entry(answers, "{}", method="POST", post=big),
                                              entry(BAND_EVENTS_URL, band_event(), method="GET", post=big)])
    else:
        answer, upload = H.http_flow(answers, b"{}"), H.http_flow(BAND_EVENTS_URL, H.band_body())
        answer.request.method = "POST"
        for flow in (answer, upload):
            flow.request.content = big.encode()
        path = tmp_path / "up.flow"
        path.write_bytes(H.dump([answer, upload]))
    reason = "request body larger than 1 MiB (--max-body)"
    for jobs in (1, 2):
        report, tables = converted(path, jobs=jobs)
        assert [r["reason"] for r in rejects(tables)] == [reason]  # the answers: rejected for the limit
        assert report.device_responses == {"band/events": 1}  # the events, whose request body is no data: kept
        assert report.status == "partial" and report.error == f"2 entries over a limit: {reason}"
    inspected = inspect([Input(path, path.name, True, limits=SMALL)]).files[0]
    assert inspected.status == "partial" and reason in inspected.error


@pytest.mark.parametrize("levels", [150, 990, 100_000])
def test_a_deep_generic_response_is_a_reject_and_the_file_converts(tmp_path, levels):
    path = H.har_deep_body(tmp_path / "deep.har", levels, "https://api.example.org/v1/things")
    report, tables = converted(path, limits.DEFAULT, generic=("api.example.org",))
    assert report.device_responses.total() == 2 and report.rejects == 1
    assert rejects(tables)[0]["reason"] == "JSON nested deeper than 100 levels (--max-depth)"


def test_a_generic_response_within_a_raised_depth_is_exported(tmp_path):
    path = H.har_deep_body(tmp_path / "deep.har", 150, "https://api.example.org/v1/things")
    report, _ = converted(path, Limits(max_depth=200), generic=("api.example.org",))
    assert report.generic_responses.total() == 1 and report.rejects == 0


GENERIC = "https://api.example.org/v1/things"


@pytest.mark.parametrize("body, reason", [
    ([{f"k{i}": i} for i in range(2_000)], "generic tables of more than 1,000,000 empty cells (--max-json-values)"),
    ({f"k{i}": i for i in range(16_000)}, "generic tables of more than 15,625 columns (--max-json-values)"),
    ({f"k{i}": [i] for i in range(2_000)}, "generic tables of more than 15,625 columns (--max-json-values)"),
], ids=["keys-each-in-one-row", "columns", "child-tables"])
def test_a_generic_response_whose_tables_would_cost_far_more_than_its_values_is_a_reject(tmp_path, body, reason):
    """Each generic table is every row by every column: 10,000 one-key rows of a 190 KB HAR made 100 million cells,
    2.6 GB; 200,000 keys of one object, 1.4 GB; an object of 3,000 arrays (47 KB), 3,000 tables and files. The
    responses around it are exported."""
    small = [{"a": i, "b": [i]} for i in range(3)]
    path = write_har(tmp_path / "c.har", [entry(GENERIC, small), entry(GENERIC, body), entry(GENERIC + "/2", small)])
    report, tables = converted(path, limits.DEFAULT, generic=("api.example.org",))
    assert report.status == "partial" and report.generic_responses.total() == 2
    assert [r["reason"] for r in rejects(tables)] == [reason]
    assert {name: frame.shape for name, frame in tables.items() if name.startswith("generic__")} == {
        "generic__api_example_org_v1_things": (3, 7), "generic__api_example_org_v1_things__b": (3, 9),
        "generic__api_example_org_v1_things_n": (3, 7), "generic__api_example_org_v1_things_n__b": (3, 9)}


def test_generic_tables_within_a_raised_values_limit_are_exported(tmp_path):
    path = write_har(tmp_path / "c.har", [entry(GENERIC, [{f"k{i}": i} for i in range(1_100)])])
    report, tables = converted(path, Limits(max_json_values=2_000_000), generic=("api.example.org",))
    assert report.generic_responses.total() == 1 and report.rejects == 0
    assert tables["generic__api_example_org_v1_things"].shape == (1_100, 1_100 + 6)


def test_a_saved_response_nested_too_deep_is_a_reject(tmp_path):
    report, tables = converted(H.saved_deep(tmp_path / "deep.json", 100_000), limits.DEFAULT)
    assert report.status == "partial" and report.rejects == 1
    assert rejects(tables)[0]["reason"] == "JSON nested deeper than 100 levels (--max-depth)"


def test_a_body_of_too_many_values_is_a_reject(tmp_path):
    wide = entry(BAND_EVENTS_URL, "[" + ",".join(["{}"] * 2000) + "]")
    path = write_har(tmp_path / "wide.har", [wide, entry(BAND_EVENTS_URL, band_event())])
    report, tables = converted(path, Limits(max_json_values=1000))
    assert rejects(tables)[0]["reason"] == "JSON of more than 1,000 values (--max-json-values)"
    assert report.device_responses.total() == 1


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzipped"])
def test_a_bogus_length_prefix_keeps_the_flow_before_it(tmp_path, compressed):
    path = H.bogus_prefix(tmp_path / "bogus.flow")
    if compressed:
        path.write_bytes(gzip.compress(path.read_bytes()))
    report, _ = converted(path, limits.DEFAULT)
    assert report.device_responses.total() == 1 and report.status == "partial"
    if compressed:  # how much is left is not known before it is read
        assert report.error == "a flow larger than 257 MiB (4 × --max-body); the rest is not read; flows read: 1"
    else:
        assert report.error == ("cut off or damaged: a flow's length prefix says 999,999,999,999 bytes, 2 are left: "
                                "the rest is unreadable; flows read: 1")


def test_a_flow_longer_than_a_flow_may_be_is_not_read(tmp_path):
    path = tmp_path / "long.flow.gz"
    path.write_bytes(gzip.compress(H.dump([H.http_flow(BAND_EVENTS_URL, H.band_body())]) + b"99999999:{}"))
    report, _ = converted(path, Limits(max_body=1 << 20))
    assert report.device_responses.total() == 1
    assert report.error == "a flow larger than 5 MiB (4 × --max-body); the rest is not read; flows read: 1"


@pytest.mark.parametrize("where", ["websocket", "tcp"])
def test_a_flow_of_more_values_than_max_json_values_is_one_entry_over_a_limit_never_built(tmp_path, where, monkeypatch):
    """Before: a flow's values were bounded by nothing but its length (4 × --max-body), and mitmproxy's objects cost
    some 30 times a flow's bytes where its values are tiny: a 113 MB flow of 2 million WebSocket messages (5.6 MB
    gzipped) made scrub hold 3.4 GB for 45 s, convert and inspect 0.8 GB. Now a flow of more values than
    --max-json-values is left out before anything of it is built, one entry over a limit naming the option; the flows
    around it convert, inspect and scrub as before, and within a raised limit it is read whole."""
    from converters.captures import tnetstring_walk

    path = H.flow_many_messages(tmp_path / "many.flow", 2_000, where)
    budget = Limits(max_json_values=1_000)
    reason = "a flow of more than 1,000 values (--max-json-values)"
    built = []
    parse = tnetstring_walk.parse
    def counted(payload, *more):
        built.append(len(payload))
        return parse(payload, *more)

    monkeypatch.setattr(tnetstring_walk, "parse", counted)
    report, tables = converted(path, budget)
    assert report.status == "partial" and report.error == f"1 entry over a limit: {reason}"
    assert tables["band_events"].height == 2 and report.device_responses.total() == 2
    assert max(built) < 50_000  # the 110 KB flow was never parsed
    (summary,) = inspect([Input(path, path.name, True, limits=budget)]).files
    assert summary.exchanges == 2 and summary.status == "partial" and summary.error == f"1 over a limit: {reason}"
    scrubbed = scrub_capture(path, tmp_path / "copy.flow", budget)
    assert scrubbed.status == "partial" and scrubbed.entries == 2 and reason in scrubbed.message
    assert [type(i).__name__ for i in read_capture(tmp_path / "copy.flow")] == ["Exchange", "Exchange"]
    report, _ = converted(path, Limits(max_json_values=100_000))  # within a raised limit: the flow read whole
    assert report.status == "ok"
    assert scrub_capture(path, tmp_path / "copy2.flow", Limits(max_json_values=100_000)).entries == 3


@pytest.mark.parametrize(("where", "sizes"), [
    ("middle", {"MAX_RUN_BYTES": 16 << 10}),  # longer than a run may be: ijson reads it
    ("last", {}),  # the file's last entry: ijson reads it
    ("middle", {}),  # within a run (round 7: its objects more than the limit, ijson reads the run)
])
def test_a_har_entry_of_more_values_than_max_json_values_is_one_entry_over_a_limit_never_built(tmp_path, where, sizes,
                                                                                               monkeypatch):
    """Before: a HAR entry's own JSON (its headers, cookies, _custom fields) was bounded by nothing, and ijson's
    objects cost some 15 times their text: a 1.2 MB .har.gz of one entry of 3 million headers (87 MB) took convert
    and inspect 1.2 GB, scrub 1.0 GB and 32 s. Now an entry of more values than --max-json-values is left out before
    it is built (ijson is stopped within a read of the limit), one entry over a limit naming the option; the entries
    around it convert, inspect and scrub as before, and within a raised limit it is read whole."""
    from converters import scrub as scrub_module
    from converters.captures import har_runs

    for name, size in {"READ_SIZE": 4 << 10, **sizes}.items():  # (reads of 4 KiB: of a limit of 1,000 values, some)
        monkeypatch.setattr(har_runs, name, size)
    monkeypatch.setattr(scrub_module, "READ_SIZE", 4 << 10)
    path = H.har_many_headers(tmp_path / "many.har", 20_000, where)
    budget = Limits(max_json_values=1_000)
    reason = "an entry of more than 1,000 values (--max-json-values)"
    with limits.applied(budget):
        kinds = [type(i).__name__ for i in read_capture(path)]
    assert kinds == (["Exchange", "Exchange", "Skipped"] if where == "last" else ["Exchange", "Skipped", "Exchange"])
    report, tables = converted(path, budget)
    assert report.status == "partial" and report.error == f"1 entry over a limit: {reason}"
    assert tables["band_events"].height == 2
    (summary,) = inspect([Input(path, path.name, True, limits=budget)]).files
    assert summary.exchanges == 2 and summary.status == "partial" and summary.error == f"1 over a limit: {reason}"
    scrubbed = scrub_capture(path, tmp_path / "copy.har", budget)
    assert scrubbed.status == "partial" and scrubbed.entries == 2
    assert "1 entry of more than 1,000 values left out (--max-json-values)" in scrubbed.message
    assert [type(i).__name__ for i in read_capture(tmp_path / "copy.har")] == ["Exchange", "Exchange"]
    report, _ = converted(path, Limits(max_json_values=1_000_000))  # within a raised limit: the entry read whole
    assert report.status == "ok" and report.exchanges == 3
    assert scrub_capture(path, tmp_path / "copy2.har", Limits(max_json_values=1_000_000)).entries == 3


def test_values_of_a_har_outside_its_entries_count_against_no_entry(tmp_path, monkeypatch):
    """The values before an entry (a creator's or a `_custom` field's of the log, a page's) are no entry's: each
    entry's are counted from where it begins, so the entries after a log of many values are read and copied."""
    from converters import scrub as scrub_module
    from converters.captures import har_runs

    monkeypatch.setattr(har_runs, "READ_SIZE", 4 << 10)
    monkeypatch.setattr(scrub_module, "READ_SIZE", 4 << 10)
    path = H.har_many_headers(tmp_path / "log.har", 1, "middle")
    har = json.loads(path.read_text())
    path.write_text(json.dumps({"log": {"_custom": [[1, 2]] * 3_000, **har["log"]}}))
    budget = Limits(max_json_values=1_000)
    assert converted(path, budget)[0].status == "ok"
    scrubbed = scrub_capture(path, tmp_path / "copy.har", budget)
    assert scrubbed.status == "ok" and scrubbed.entries == 3


_JSON_TEXT = st.text(alphabet=st.sampled_from('ab"\\[]{},: \u00e9'), max_size=8)
_JSON_VALUES = st.recursive(st.none() | st.integers() | _JSON_TEXT, lambda inner: st.lists(inner, max_size=4)
                            | st.dictionaries(_JSON_TEXT, inner, max_size=4), max_leaves=20)


@settings(max_examples=EXAMPLES, deadline=None)
@given(value=st.lists(_JSON_VALUES, min_size=1) | st.dictionaries(_JSON_TEXT, _JSON_VALUES, min_size=1),
       after=_JSON_VALUES, data=st.data())
def test_the_end_of_a_value_is_found_from_anywhere_inside_it_in_pieces(value, after, data):
    """`DepthPruner.end_of_value`, which leaves out the rest of an entry over the values limit unread, from any byte
    inside a list or dict (in a string, after a backslash too), the rest fed in pieces of any size."""
    text = json.dumps(value, ensure_ascii=False).encode()
    head = data.draw(st.integers(1, len(text) - 1))  # its `[` or `{` read, its closing bracket not
    pruner = limits.DepthPruner(1000, 0)
    pruner.feed(b"[" + text[:head])
    rest = text[head:] + b"," + json.dumps(after).encode() + b"]"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(rest) - 1), max_size=4)))
    left = b""
    for start, end in zip([0, *cuts], [*cuts, len(rest)]):
        piece = rest[start:end]
        if (at := pruner.end_of_value(piece, 1)) is not None:
            left = piece[at:] + rest[end:]
            break
    assert left == b"," + json.dumps(after).encode() + b"]"


def test_a_har_entry_of_more_values_than_max_json_values_is_stopped_within_a_read_of_the_limit(tmp_path, monkeypatch):
    """What ijson builds of such an entry, read 4 KiB at a time under a limit of 1,000 values: a few reads' worth,
    not the entry's 40,000 headers (16 MB of objects)."""
    from converters.captures import har_runs

    monkeypatch.setattr(har_runs, "READ_SIZE", 4 << 10)
    monkeypatch.setattr(har_runs, "MAX_RUN_BYTES", 16 << 10)  # (past the longest run: ijson reads it)
    path = H.har_many_headers(tmp_path / "many.har", 20_000, "middle")

    def peak(budget: Limits) -> int:
        with limits.applied(budget):
            tracemalloc.start()
            assert len(list(read_capture(path))) == 3
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return peak

    assert peak(Limits(max_json_values=1_000)) < peak(Limits(max_json_values=1_000_000)) / 20


@settings(max_examples=EXAMPLES, deadline=None)
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.binary()
                          | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                          max_leaves=60),
       most=st.integers(0, 80))
def test_the_values_of_a_flow_are_counted_as_the_parser_builds_them(value, most):
    from mitmproxy.io import tnetstring

    from converters.captures import tnetstring_walk as walk

    def values(v):
        items = [*v.keys(), *v.values()] if isinstance(v, dict) else v if isinstance(v, list) else []
        return 1 + sum(map(values, items))

    frame = tnetstring.dumps(value)
    frame = frame[frame.index(b":") + 1:]
    assert walk.count_values(frame, most) == min(values(walk.parse(frame)), most + 1)


def test_a_flow_nested_a_million_levels_is_counted_without_recursion():
    from converters.captures import tnetstring_walk as walk

    frame = H.nested_tnetstring(1_000_001)
    frame = frame[frame.index(b":") + 1:]
    assert walk.count_values(frame, 10**7) == 1_000_001
    assert walk.count_values(frame, 10) == 11


@pytest.mark.parametrize("levels", [1_500, 100_000])
def test_a_flow_whose_metadata_is_nested_too_deep_loses_that_value_alone(tmp_path, levels):
    """Before: a flow whose free metadata held lists nested 100,000 levels (or 1,500) was unreadable as a whole
    (RecursionError), so convert and inspect lost its exchange (a Band response: its rows) and scrub left it out of
    the copy, where a HAR's `_custom` value nested so is left out alone. Now values nested deeper than --max-depth
    are left out of the flow (scrub writes `REDACTED`'s kin, the HAR's marker, and says so), the flow read on."""
    path = H.flow_deep_metadata(tmp_path / "deep.flow", levels)
    report, tables = converted(path, limits.DEFAULT)
    assert report.status == "ok" and tables["band_events"].height == 2 and report.device_responses.total() == 2
    (summary,) = inspect([Input(path, path.name, True)]).files
    assert summary.exchanges == 2 and summary.status == "ok"
    scrubbed = scrub_capture(path, tmp_path / "copy.flow", limits.DEFAULT)
    assert scrubbed.status == "ok" and scrubbed.entries == 2
    assert scrubbed.message == "1 value nested deeper than 100 levels replaced whole (--max-depth)"
    report, tables = converted(tmp_path / "copy.flow", limits.DEFAULT)
    assert report.status == "ok" and tables["band_events"].height == 2
    scrubbed = scrub_capture(path, tmp_path / "copy2.flow", Limits(max_depth=200))  # within a raised depth: kept
    assert scrubbed.message is None if levels < 200 else scrubbed.message.startswith("1 value nested deeper than 200")


@pytest.mark.parametrize("kind", ["har.gz", "zhar", "flow.gz"])
def test_a_compressed_capture_is_read_to_max_ratio_times_its_size_and_what_came_before_converts(tmp_path, kind):
    """Before: a gzipped or zlib-compressed capture had no ratio limit, only its bodies did: 512 MB of whitespace
    between two HAR entries, 520 KB gzipped, cost 25-44 s of CPU to read, and gigabytes cost minutes. Now the
    capture's decompressed bytes stop at `--max-ratio` times its size (past the first MiB), as a body's do: the
    entries before convert, the file is partial with the limit and its option named, in convert, inspect and scrub."""
    path = H.compressed_capture(tmp_path / f"gap.{kind}", kind, 8 << 20)
    assert path.stat().st_size * limits.DEFAULT.max_ratio < 8 << 20
    unit = "flows read: 1" if kind == "flow.gz" else "1 entries read"
    reason = "capture decompresses to more than 250 times its compressed size (--max-ratio); the rest is not read"
    report, tables = converted(path, limits.DEFAULT)
    assert report.device_responses.total() == 1 and report.status == "partial"
    assert report.error == f"{reason}; {unit}" and tables["band_events"].height == 1
    (summary,) = inspect([Input(path, path.name, True)]).files
    assert summary.exchanges == 1 and summary.status == "partial" and summary.error == f"{reason}; {unit}"
    scrubbed = scrub_capture(path, tmp_path / "copy", limits.DEFAULT)
    assert scrubbed.status == "partial" and scrubbed.entries == 1 and reason in scrubbed.message
    # within a raised ratio the whole file converts, as every compressed capture within the default one does
    report, tables = converted(path, Limits(max_ratio=10_000))
    assert report.status == "ok" and tables["band_events"].height == 2


def test_inspect_reads_within_the_same_limits(tmp_path):
    path = H.flow_bomb(tmp_path / "bomb.flow", "gzip", 8 << 20)
    result = inspect([Input(path, "bomb.flow", True, limits=SMALL)])
    (summary,) = result.files
    assert summary.exchanges == 3 and summary.status == "partial"
    assert summary.error == "1 over a limit: body larger than 1 MiB once decompressed (--max-body)"


def test_scrub_replaces_a_bomb_whole_and_copies_the_rest(tmp_path):
    path = H.flow_bomb(tmp_path / "bomb.flow", "gzip", 8 << 20)
    report = scrub_capture(path, tmp_path / "copy.flow", SMALL)
    assert report.status == "ok" and report.entries == 3
    assert report.message == "1 body over a limit replaced whole: body larger than 1 MiB once decompressed (--max-body)"
    items = list(read_capture(tmp_path / "copy.flow"))
    assert [i.body for i in items][1] == b"REDACTED"


def test_scrub_keeps_what_comes_before_a_bogus_prefix(tmp_path):
    report = scrub_capture(H.bogus_prefix(tmp_path / "bogus.flow"), tmp_path / "copy.flow")
    assert report.status == "partial" and report.entries == 1
    assert "the rest is unreadable" in report.message


@pytest.mark.parametrize("levels", [150, 2000, 2_000_000])  # 2,000,000 brackets: reads of 1 MiB left out whole
def test_scrub_replaces_structure_nested_too_deep_whole_and_copies_every_entry(tmp_path, levels):
    path = H.har_deep_custom(tmp_path / "deep.har", levels if levels < 10_000 else 1)
    if levels >= 10_000:
        path.write_text(path.read_text().replace(H.nested(1), "[" * levels + "]" * levels))
    report = scrub_capture(path, tmp_path / "copy.har")
    assert report.status == "ok" and report.entries == 3
    assert report.message == "1 value nested deeper than 100 levels replaced whole (--max-depth)"
    assert converted(tmp_path / "copy.har", limits.DEFAULT)[0].device_responses.total() == 3


@pytest.mark.parametrize("levels", [150, 600, 990])
def test_scrub_copies_structure_within_a_raised_depth(tmp_path, levels):
    path = H.har_deep_custom(tmp_path / "deep.har", levels)
    report = scrub_capture(path, tmp_path / "copy.har", Limits(max_depth=1000))
    assert report.status == "ok" and report.entries == 3 and report.message is None
    original, copy = (json.loads(p.read_text())["log"]["entries"] for p in (path, tmp_path / "copy.har"))
    assert copy[1:] == original[1:]  # (past 200 levels the policy replaces `_custom` whole: it cannot look into it)
    assert copy[0]["_custom"] == original[0]["_custom"] or levels > 200


def test_scrub_replaces_a_body_over_a_json_limit_whole(tmp_path):
    report = scrub_capture(H.har_deep_body(tmp_path / "deep.har", 2000), tmp_path / "copy.har")
    assert report.status == "ok" and report.entries == 3 and report.counts["bodies"] == 1
    assert report.message == "1 body over a limit replaced whole: JSON nested deeper than 100 levels (--max-depth)"
    copy = json.loads((tmp_path / "copy.har").read_text())
    assert copy["log"]["entries"][1]["response"]["content"]["text"] == "REDACTED"


def test_a_raised_limit_lets_the_body_through(tmp_path):
    body = json.dumps(band_event()).encode()
    flow = H.http_flow(BAND_EVENTS_URL, gzip.compress(body), "gzip")
    path = tmp_path / "one.flow"
    path.write_bytes(H.dump([flow]))
    assert converted(path, Limits(max_body=100))[0].rejects == 1
    assert converted(path, Limits(max_body=len(body)))[0].device_responses.total() == 1


def test_the_cli_options_raise_the_limits_and_a_hit_is_said_in_one_line(tmp_path):
    path = H.flow_bomb(tmp_path / "bomb.flow", "gzip", 3 << 20)
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out"), "-j", "1", "--max-body", "2MiB"])
    assert result.exit_code == 1
    assert f"  {path}: partial: 1 entry over a limit: body decompresses to more than 250 times its compressed size " \
        "(--max-ratio)" in result.output.splitlines()
    raised = ["--max-body", "2MiB", "--max-ratio", "2000"]
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out1"), "-j", "1", *raised])
    assert f"  {path}: partial: 1 entry over a limit: body larger than 2 MiB once decompressed (--max-body)" \
        in result.output.splitlines()
    raised = ["--max-body", "4MiB", "--max-ratio", "2000"]
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out2"), "-j", "1", *raised])
    rejected = pl.read_parquet(tmp_path / "out2" / "rejects.parquet")["reason"].to_list()
    assert rejected == ["not JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0); body cut to "
                        "its first 1 MiB"]  # 3 MiB of zeros, read whole


def test_the_cli_refuses_limits_that_are_no_limits(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path), "--max-depth", "5000"])
    assert result.exit_code == 2 and "5000 is not a depth from 1 to 1000" in result.output
    result = runner.invoke(app, ["scrub", str(tmp_path), "-o", str(tmp_path / "x"), "--max-body", "lots"])
    assert result.exit_code == 2 and "not a size: 'lots'" in result.output


@settings(max_examples=EXAMPLES, deadline=None)
@given(kinds=st.lists(st.sampled_from(["good", "bomb", "deep", "wide", "deep-entry"]), min_size=1, max_size=6))
def test_any_mix_of_hostile_entries_costs_those_entries_alone(tmp_path_factory, kinds):
    folder = tmp_path_factory.mktemp("mix")
    entries = []
    for i, kind in enumerate(kinds):
        if kind == "good":
            entries.append(entry(BAND_EVENTS_URL, band_event(str(i))))
        elif kind == "bomb":
            e = entry(BAND_EVENTS_URL, base64.b64encode(zlib.compress(b" " * (3 << 20))).decode(),
                      response_headers={"Content-Encoding": "deflate"})
            e["response"]["content"]["text"] = base64.b64encode(gzip.compress(b" " * (3 << 20))).decode()
            e["response"]["content"]["encoding"] = "base64"
            entries.append(e)
        elif kind == "deep":
            entries.append(entry(BAND_EVENTS_URL, H.nested(300)))
        elif kind == "wide":
            entries.append(entry(BAND_EVENTS_URL, "[" + ",".join(["1"] * 3000) + "]"))
        else:
            e = entry(BAND_EVENTS_URL, band_event(str(i)))
            e["_custom"] = json.loads(H.nested(200))  # past --max-depth: left out, and the entry converts
            entries.append(e)
    report, tables = converted(write_har(folder / "mix.har", entries), Limits(max_body=1 << 20, max_json_values=2000))
    goods = kinds.count("good") + kinds.count("deep-entry")
    assert report.device_responses.total() == goods and report.exchanges == len(kinds)
    assert report.rejects == len(kinds) - goods == len(rejects(tables))
    assert (report.status == "partial") == (kinds.count("good") < len(kinds))


def test_the_readme_table_gives_every_limit_its_default_and_option():
    from conftest import REPO

    text = (REPO / "README.md").read_text()
    table = text[text.index("<!-- limits table"):].split("\n\n")[0].splitlines()[3:]
    rows: dict[str, str] = {}
    for row in table:  # option -> default, of the first row naming it
        rows.setdefault(row.split(" | ")[2].strip("` ").split()[0], row.split(" | ")[1])
    d = limits.DEFAULT
    assert set(limits.LIMIT_OPTIONS.values()) <= set(rows)
    assert rows["--max-body"] == limits.size_text(d.max_body) and rows["--max-ratio"] == str(d.max_ratio)
    assert rows["--max-depth"] == str(d.max_depth) and rows["--max-json-values"] == f"{d.max_json_values:,}"
    assert rows["--max-members"] == f"{d.max_members:,}"
    assert rows["--max-member"] == limits.size_text(d.max_member)
    assert rows["--max-archive"] == limits.size_text(d.max_archive)
    assert f"past its first {limits.size_text(limits.RATIO_FLOOR)}" in text
    floor, cap = limits.STRUCTURE_FLOOR, limits.STRUCTURE_DEPTH
    assert f"`--max-depth` (never fewer than {floor} levels; never more than {cap}, as deep as JSON is parsed)" in text


@settings(max_examples=EXAMPLES, deadline=None)
@given(good=st.integers(0, 3), claimed=st.integers(0, 10**12 - 1), tail=st.binary(max_size=64),
       compressed=st.booleans())
def test_any_length_prefix_keeps_every_flow_before_it(tmp_path_factory, good, claimed, tail, compressed):
    data = H.dump([H.http_flow(BAND_EVENTS_URL, H.band_body()) for _ in range(good)]) + b"%d:" % claimed + tail
    path = tmp_path_factory.mktemp("prefix") / "x.flow"
    path.write_bytes(gzip.compress(data) if compressed else data)
    items = list(read_capture(path))
    assert [type(i).__name__ for i in items[:good]] == ["Exchange"] * good
    if claimed + 1 > len(tail):  # a frame the file cannot hold: an error after the good flows, nothing allocated for it
        assert type(items[-1]).__name__ == "CaptureError" and items[-1].entries_read >= good


def test_a_har_entry_of_more_arrays_than_max_json_values_within_a_run_is_one_entry_over_a_limit(tmp_path,
                                                                                                monkeypatch):
    """Before: a run (up to 16 MiB of entries) was parsed whole by orjson, whose empty array costs some 35 times its
    two bytes, so an entry of more values than the limit within a run was built (16 MiB of `[],` in a `_custom`
    field: 540 MB) and converted, where the same entry longer than a run was one entry over a limit. A run opening
    more arrays and objects than the limit is read by ijson, each entry's values counted."""
    from converters.captures import har_runs

    monkeypatch.setattr(har_runs, "READ_SIZE", 4 << 10)  # (ijson is stopped within a read of the limit)
    path = H.har_custom_of(tmp_path / "lists.har", "[" + "[]," * 20_000 + "[]]")
    budget = Limits(max_json_values=1_000)
    with limits.applied(budget):
        kinds = [type(i).__name__ for i in read_capture(path)]
    assert kinds == ["Skipped", "Exchange", "Exchange"]
    report, tables = converted(path, budget)
    assert report.status == "partial" and "an entry of more than 1,000 values (--max-json-values)" in report.error
    assert tables["band_events"].height == 2
    report, tables = converted(path, Limits(max_json_values=100_000))  # within the limit: read whole, as before
    assert report.status == "ok" and tables["band_events"].height == 3


def test_what_inspect_and_convert_keep_once_done_does_not_grow_with_a_captures_long_strings(tmp_path):
    """The caches of what is judged once per text (a path's template and endpoint, a host, a name's class) held every
    text whole, up to their count: a 5 MB .har.gz of 65,536 requests, each to a path of its own 16 KB long, took
    inspect 1.17 GB (within every limit). Texts longer than a few hundred characters are judged each time, never
    kept: what the caches hold is bounded whatever the capture holds."""
    import gc

    tail = "a" * 40_000
    entries = [entry(BAND_EVENTS_URL, band_event())]
    entries += [entry(f"https://api.example.org/{i}/{tail}?{tail}{i}=1", "ok",
                      request_headers={f"{tail}{i}": "1", "Host": f"h{i}{'b' * 200}.example.org"})
                for i in range(150)]
    path = write_har(tmp_path / "long.har", entries)
    warm = write_har(tmp_path / "warm.har", [entry(BAND_EVENTS_URL, band_event()), entry("https://a.example.org/", "")])
    inspect([Input(warm, warm.name, True)]), converted(warm, limits.DEFAULT)  # (modules, short caches: not below)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    summary = inspect([Input(path, path.name, True)], quick=False)
    report, _ = converted(path, limits.DEFAULT)
    del summary, report, _
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert kept < 2 << 20  # before: 150 paths of 40 KB held by several caches, some 36 MB
