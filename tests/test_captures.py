"""Capture readers: HAR files and mitmproxy dumps, real (reference captures) and synthetic (built in tmp_path)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from builders import entry
from hypothesis import given, settings
from hypothesis import strategies as st

from converters.captures import CaptureError, Exchange, Skipped, detect_format, read_capture
from converters.captures.bodies import dechunk
from converters.captures.flow import read_flows
from converters.captures.har import _split_url, read_har

CAPTURES = Path(__file__).resolve().parents[2] / "shared/reference/captures"
REFERENCE_FILES = sorted(CAPTURES.glob("*/*")) if CAPTURES.is_dir() else []
REFERENCE_HARS = [path for path in REFERENCE_FILES if path.parent.name == "har"]


def reference_capture(name: str) -> Path:
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"reference capture {name} is absent")
    return path


def read(path: Path) -> list:
    return list(read_capture(path))


def exchanges(items: list) -> list[Exchange]:
    return [item for item in items if isinstance(item, Exchange)]


def har_bytes(*entries: dict) -> bytes:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "test"}, "entries": list(entries)}}).encode()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- every reference capture --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda path: path.name)
def test_sniff_format_names_the_folder_of_every_reference_capture(path: Path):
    assert detect_format(path) == {"har": "har", "flow": "flow"}[path.parent.name]


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda path: path.name)
def test_every_reference_capture_reads_without_raising_into_consistent_items(path: Path):
    items = read(path)
    errors = [item for item in items if isinstance(item, CaptureError)]
    assert errors in ([], [items[-1]]), "a CaptureError can only come last"
    entries = [item for item in items if not isinstance(item, CaptureError)]
    assert [item.source_entry for item in entries] == list(range(len(entries)))
    if errors:
        assert errors[0].entries_read == len(entries)
    for exchange in exchanges(items):
        assert exchange.source_file == str(path)
        assert exchange.captured_at is None or exchange.captured_at.utcoffset().total_seconds() == 0
        assert exchange.method == exchange.method.upper()
        assert exchange.host == exchange.host.lower()
        assert exchange.scheme in ("http", "https")
        assert "?" not in exchange.path
        assert exchange.body_error is None or exchange.body is None


@pytest.mark.parametrize("path", REFERENCE_HARS, ids=lambda path: path.name)
def test_har_yields_one_exchange_per_entry_with_bodies_as_exported(path: Path):
    entries = json.loads(path.read_text(encoding="utf-8-sig"))["log"]["entries"]
    items = read(path)
    assert all(isinstance(item, Exchange) for item in items)
    urls = [urlsplit(har_entry["request"]["url"]) for har_entry in entries]
    expected = [(url.hostname, url.path, url.query) for url in urls]
    assert [(item.host, item.path, item.query) for item in items] == expected
    for exchange, har_entry in zip(items, entries, strict=True):
        content = har_entry["response"]["content"]
        if "text" not in content:
            assert exchange.body is None and exchange.body_error is None
        elif content.get("encoding") == "base64":
            assert exchange.body == base64.b64decode(content["text"])
        else:
            assert exchange.body == content["text"].encode()


def test_chrome_har_keeps_the_entry_whose_pageref_names_no_page():
    path = reference_capture("har/chrome.har")
    log = json.loads(path.read_text())["log"]
    page_ids = {page["id"] for page in log["pages"]}
    orphan_urls = [har_entry["request"]["url"] for har_entry in log["entries"] if har_entry["pageref"] not in page_ids]
    assert orphan_urls, "chrome.har should hold an entry whose page is missing"
    hosts_and_paths = {(item.host, item.path) for item in read(path)}
    assert ("www.google.com", "/images/branding/googlelogo/2x/googlelogo_light_color_272x92dp.png") in hosts_and_paths


def test_chrome_failed_request_has_no_status_and_no_body():
    failed = read(reference_capture("har/chrome.har"))[1]
    assert (failed.host, failed.status, failed.body, failed.body_error) == ("www.google.com", None, None, None)


def test_chrome_har_start_time_becomes_utc_and_base64_304_body_decodes():
    first = read(reference_capture("har/chrome.har"))[0]
    assert first.captured_at == datetime(2023, 3, 30, 0, 0, 54, 250000, tzinfo=UTC)
    assert first.status == 304
    assert first.body.lstrip().lower().startswith(b"<!doctype html")


def test_har_with_bom_reads_like_the_same_har_without_it():
    with_bom, without = read(reference_capture("har/with-bom.har")), read(reference_capture("har/postdata.har"))
    assert len(with_bom) == 1
    with_bom[0].source_file = without[0].source_file
    assert with_bom == without


def test_postdata_har_request_body_is_the_post_text():
    exchange = read(reference_capture("har/postdata.har"))[0]
    assert exchange.method == "POST"
    assert json.loads(exchange.request_body)["metadata"]["domain"] == "reqbin.com"


def test_charles_har_without_pages_and_with_null_redirect_url_reads():
    (exchange,) = read(reference_capture("har/charles.har"))
    assert (exchange.host, exchange.path, exchange.query, exchange.status) == ("mitmproxy.org", "/", "=", 200)
    assert exchange.captured_at == datetime(2023, 3, 30, 0, 37, 42, 482000, tzinfo=UTC)  # from -07:00


def test_firefox_base64_favicon_decodes_and_bodyless_images_have_no_body():
    items = read(reference_capture("har/firefox.har"))
    favicon = next(item for item in items if item.path == "/favicon.ico")
    assert favicon.body.startswith(b"\x00\x00\x01\x00")  # ICO header
    assert sum(item.body is None for item in items) == 5


def test_mitmproxy_010_dump_is_read_through_our_migration_to_0_11():
    (ex,) = read(reference_capture("flow/dumpfile-010.mitm"))  # mitmproxy 12 alone refuses format 0.10
    assert (ex.method, ex.host, ex.path, ex.status) == ("GET", "example.com", "/", 200)
    assert ex.body.startswith(b"<!doctype html>")  # gzip-encoded in the dump, decoded
    assert ex.captured_at.isoformat() == "2016-07-08T21:54:10.262529+00:00"


def test_a_null_server_source_address_no_longer_breaks_mitmproxy_s_migration(tmp_path):
    from mitmproxy.io import tnetstring

    state = tnetstring.loads(reference_capture("flow/dumpfile-011.mitm").read_bytes())
    state[b"server_conn"][b"source_address"] = None  # as some 2014 dumps have it
    path = tmp_path / "null-source.mitm"
    path.write_bytes(tnetstring.dumps(state))
    (ex,) = read(path)
    assert isinstance(ex, Exchange) and ex.host == "example.com" and ex.status == 200


def test_corrupted_gzip_body_gives_an_exchange_with_a_body_error_and_no_body_bytes_in_it():
    (exchange,) = read(reference_capture("flow/corrupted_gzip_body.mitm"))
    assert exchange.status == 200 and exchange.body is None
    assert exchange.body_error.startswith("could not decode gzip body: ")
    assert "\\x" not in exchange.body_error


def test_tcp_flows_are_skipped_in_place_and_http_flows_kept():
    items = read(reference_capture("flow/diff_data.mitm"))
    assert [type(item).__name__ for item in items] == ["Exchange"] * 4 + ["Skipped"] * 2 + ["Exchange"]
    assert [item.kind for item in items if isinstance(item, Skipped)] == ["tcp", "tcp"]
    assert items[-1].host == "slack.com" and items[-1].path == "/beacon/timing" and "ver=" in items[-1].query


@pytest.mark.parametrize("name", ["flow/websocket.mitm", "flow/dumpfile-7-websocket.mitm"])
def test_websocket_dumps_give_their_handshakes_as_exchanges(name: str):
    items = read(reference_capture(name))
    assert items and all(isinstance(item, Exchange) for item in items)
    assert 101 in {item.status for item in items}


def test_flows_without_response_have_no_status_and_no_body():
    items = read(reference_capture("flow/incomplete_log.mitm"))
    assert len(items) == 4
    assert all((item.status, item.body, item.response_headers) == (None, None, ()) for item in items)


def test_old_011_dump_reads_with_host_and_time():
    (exchange,) = read(reference_capture("flow/dumpfile-011.mitm"))
    where = (exchange.scheme, exchange.host, exchange.port, exchange.path)
    assert (where, exchange.status) == (("https", "example.com", 443, "/"), 200)
    assert exchange.captured_at == datetime.fromtimestamp(1469208634.797, UTC)  # the response's end
    assert ("Host", "example.com") in exchange.request_headers


# --- synthetic HAR files ------------------------------------------------------------------------------------------

URL = "https://api.example.com/v1/sleep?from=1"


def with_content(har_entry: dict, **content) -> dict:
    """`har_entry` with its `response.content` replaced."""
    har_entry["response"]["content"] = {"size": 0, "mimeType": "application/json", **content}
    return har_entry


def test_har_cut_off_mid_entry_keeps_complete_entries_and_ends_with_a_capture_error(tmp_path):
    secret = entry(URL, {"ok": 1}, request_headers={"Authorization": "Bearer SECRET-TOKEN"})
    data = har_bytes(entry(URL, {"ok": 1}), entry(URL, {"ok": 2}), secret)
    items = read(write(tmp_path, "cut.har", data[: data.index(b"SECRET-TOKEN") + 8]))
    assert len(exchanges(items)) == 2
    assert items[-1] == CaptureError("cut off after entry 2 of an unknown total; 2 entries read", 2)


def test_har_with_trailing_garbage_keeps_all_entries_and_quotes_no_text(tmp_path):
    items = read(write(tmp_path, "trailing.har", har_bytes(entry(URL), entry(URL)) + b" SECRET-TOKEN"))
    assert len(exchanges(items)) == 2
    assert isinstance(items[-1], CaptureError) and items[-1].entries_read == 2
    assert "not valid JSON" in items[-1].message and "SECRET" not in items[-1].message


def test_json_without_log_entries_is_reported_as_not_a_har(tmp_path):
    path = write(tmp_path, "other.json", json.dumps({"log": {"pages": []}, "entries": [1]}).encode())
    assert detect_format(path) == "har"
    assert read(path) == [CaptureError("JSON but not a HAR file (no log.entries)", 0)]


def test_har_with_empty_entries_yields_nothing(tmp_path):
    assert read(write(tmp_path, "empty-log.har", har_bytes())) == []


def test_a_latin1_har_is_read_as_windows_latin1(tmp_path):
    good = har_bytes(entry(URL, "first"), entry(URL, "cafe"), entry(URL, "last"))
    path = write(tmp_path, "latin1.har", good.replace(b"cafe", b"caf\xe9"))
    items = read(path)
    assert [i.body for i in items] == [b"first", "café".encode(), b"last"]  # each entry once, in order
    assert [i.source_entry for i in items] == [0, 1, 2]


def test_a_utf16_har_is_read(tmp_path):
    text = har_bytes(entry(URL, "caf\u00e9 \u2603")).decode("utf-8")
    for encoding in ("utf-16", "utf-16-be"):
        data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
        path = write(tmp_path, f"{encoding}.har", data)
        assert detect_format(path) == "har"
        assert [i.body for i in read(path)] == ["caf\u00e9 \u2603".encode()]


def test_empty_file_is_neither_format_and_reads_as_a_capture_error(tmp_path):
    path = write(tmp_path, "empty.har", b"")
    assert detect_format(path) is None
    assert [type(item) for item in read(path)] == [CaptureError]
    assert [type(item) for item in read_har(path, "empty.har")] == [CaptureError]


def test_sniff_format_recognises_bom_whitespace_and_tnetstrings_but_not_text(tmp_path):
    assert detect_format(write(tmp_path, "a", b"\xef\xbb\xbf \r\n\t{")) == "har"
    assert detect_format(write(tmp_path, "b", b"1383:7:version")) == "flow"
    assert detect_format(write(tmp_path, "c", b"hello {")) is None
    assert detect_format(write(tmp_path, "d", b"1234567890123:")) is None


@pytest.mark.parametrize("compress", [lambda data: zlib.compress(data, 9), gzip.compress], ids=["zhar", "gzip"])
def test_compressed_har_with_bom_reads_like_the_plain_one(tmp_path, compress):
    data = har_bytes(entry(URL), entry("http://api.example.com:8080/b"))
    path = write(tmp_path, "c.zhar", compress(b"\xef\xbb\xbf" + data))
    assert detect_format(path) == "har"
    assert [(item.port, item.path) for item in read_har(path, "x")] == [(None, "/v1/sleep"), (8080, "/b")]


@pytest.mark.parametrize("compress", [lambda data: zlib.compress(data, 9), gzip.compress], ids=["zhar", "gzip"])
def test_compressed_har_cut_off_keeps_complete_entries(tmp_path, compress):
    compressed = compress(har_bytes(*[entry(f"https://e.example/{n}", {"n": n}) for n in range(1000)]))
    items = list(read_har(write(tmp_path, "cut.zhar", compressed[: len(compressed) // 2]), "x"))
    assert isinstance(items[-1], CaptureError) and items[-1].message.startswith("cut off")
    assert 0 < items[-1].entries_read == len(items) - 1 < 1000


def test_base64_of_a_gzipped_body_is_gunzipped(tmp_path):
    text = base64.b64encode(gzip.compress(b'{"steps": 1}')).decode()
    (exchange,) = read(write(tmp_path, "gz.har", har_bytes(with_content(entry(URL), text=text, encoding="base64"))))
    assert (exchange.body, exchange.body_error) == (b'{"steps": 1}', None)


def test_damaged_gzip_body_has_a_body_error_instead_of_a_body(tmp_path):
    text = base64.b64encode(gzip.compress(b'{"steps": 1}')[:15]).decode()
    (exchange,) = read(write(tmp_path, "gz.har", har_bytes(with_content(entry(URL), text=text, encoding="base64"))))
    assert exchange.body is None and exchange.body_error.startswith("could not decode gzip body: ")


def test_fiddler_chunked_framing_in_a_base64_body_is_removed(tmp_path):
    framed = b'5\r\n{"a":\r\n3;ext=1\r\n 1}\r\n0\r\n\r\n'
    fiddler = entry(URL, response_headers={"Transfer-Encoding": "chunked"})
    with_content(fiddler, text=base64.b64encode(framed).decode(), encoding="base64")
    (exchange,) = read(write(tmp_path, "fiddler.har", har_bytes(fiddler)))
    assert exchange.body == b'{"a": 1}'


def test_dechunk_refuses_bodies_that_are_not_exactly_chunked():
    assert dechunk(b"0\r\n\r\n") == b""
    assert dechunk(b"abc\r\nnot a chunk") is None
    assert dechunk(b"2\r\nab\r\n") is None  # no last chunk
    assert dechunk(b'{"a": 1}') is None


def test_base64_label_on_plain_text_falls_back_to_the_text(tmp_path):
    firefox_bug = with_content(entry(URL), text='{"a":1}', encoding="base64")
    (exchange,) = read(write(tmp_path, "ff-bug.har", har_bytes(firefox_bug)))
    assert exchange.body == b'{"a":1}'


def test_entry_without_response_or_with_status_0_has_no_status(tmp_path):
    no_response = entry(URL)
    del no_response["response"]
    failed = with_content(entry(URL, status=0))  # Chrome: a failed request, content without text
    items = read(write(tmp_path, "no-response.har", har_bytes(no_response, failed)))
    assert [(item.status, item.body, item.body_error) for item in items] == [(None, None, None)] * 2


def test_ip_url_takes_its_host_from_the_host_header(tmp_path):
    transparent = entry("https://10.1.2.3/v1/a%20b?x=%2F", request_headers={"Host": "API.Example.com:443"})
    plain_ip = entry("http://[::1]:8080/x")
    items = read(write(tmp_path, "ip.har", har_bytes(transparent, plain_ip)))
    assert [(item.host, item.port, item.path, item.query) for item in items] == [
        ("api.example.com", None, "/v1/a%20b", "x=%2F"),
        ("::1", 8080, "/x", ""),
    ]


def test_naive_and_offset_start_times_become_utc(tmp_path):
    times = ["2014-11-12T08:00:05.9153325", "2014-11-12T08:00:05.9153325+03:00", "yesterday"]
    items = read(write(tmp_path, "times.har", har_bytes(*[entry(URL, started=started) for started in times])))
    assert [item.captured_at for item in items] == [
        datetime(2014, 11, 12, 8, 0, 5, 915332, tzinfo=UTC),
        datetime(2014, 11, 12, 5, 0, 5, 915332, tzinfo=UTC),
        None,
    ]


def test_malformed_entry_is_skipped_and_later_entries_still_read(tmp_path):
    items = read(write(tmp_path, "odd.har", har_bytes(entry(URL), {"request": {}}, 7, entry(URL))))
    assert [type(item).__name__ for item in items] == ["Exchange", "Skipped", "Skipped", "Exchange"]
    assert items[1] == Skipped(1, "malformed", "an entry without a request URL") and items[3].source_entry == 3
    assert items[2] == Skipped(2, "malformed", "an entry without a request URL")


def test_request_body_from_post_text_or_base64_field(tmp_path):
    text_post = entry(URL, method="post", post='{"\u00fc": 1}')
    base64_post = entry(URL, method="POST")
    base64_post["request"]["postData"] = {"mimeType": "x", "_textBase64": base64.b64encode(b"\x00\x01").decode()}
    params_post = entry(URL, method="POST")
    params_post["request"]["postData"] = {"mimeType": "x", "params": [{"name": "a", "value": "1"}]}
    items = read(write(tmp_path, "post.har", har_bytes(text_post, base64_post, params_post)))
    assert [(item.method, item.request_body) for item in items] == [
        ("POST", '{"\u00fc": 1}'.encode()),
        ("POST", b"\x00\x01"),
        ("POST", None),
    ]


# --- synthetic mitmproxy dumps ------------------------------------------------------------------------------------


def test_dump_cut_off_mid_flow_keeps_the_complete_flows(tmp_path):
    data = reference_capture("flow/successful_log.mitm").read_bytes()
    first_flow_length = int(data.split(b":", 1)[0]) + len(data.split(b":", 1)[0]) + 2
    path = write(tmp_path, "cut.mitm", data[: first_flow_length + 500])
    items = read(path)
    assert len(exchanges(items)) == 1
    said = int(data[first_flow_length:].split(b":", 1)[0])  # the second flow's length prefix
    left = 500 - len(str(said)) - 1
    message = (f"cut off or damaged: a flow's length prefix says {said:,} bytes, {left:,} are left: the rest is "
               "unreadable; flows read: 1")
    assert items[-1] == CaptureError(message, 1)


def test_gzipped_dump_reads_like_the_plain_one(tmp_path):
    plain = reference_capture("flow/diff_data.mitm")
    path = write(tmp_path, "dump.mitm.gz", gzip.compress(plain.read_bytes()))
    assert detect_format(path) == "flow"
    assert [(type(item), item.source_entry) for item in read(path)] == [
        (type(item), item.source_entry) for item in read(plain)
    ]


def test_flow_missing_its_type_is_an_unreadable_entry_with_a_plain_reason(tmp_path):
    from mitmproxy.io import tnetstring

    (skipped,) = read_flows(write(tmp_path, "no-type.mitm", tnetstring.dumps({b"version": 21})), "x")
    assert skipped == Skipped(0, "unreadable", "a flow is missing the key 'type'")


def test_damaged_flow_error_does_not_quote_flow_data(tmp_path):
    from mitmproxy import io as mio
    from mitmproxy.io import tnetstring

    data = reference_capture("flow/successful_log.mitm").read_bytes()
    state = next(iter(mio.FlowReader(io.BytesIO(data)).stream())).get_state()
    state["client_conn"]["unexpected"] = b"SECRET-TOKEN"  # mitmproxy's message lists the unexpected fields' values
    items = list(read_flows(write(tmp_path, "odd.mitm", tnetstring.dumps(state)), "x"))
    assert items == [Skipped(0, "unreadable", "invalid flow data (FlowReadException)")]


URL_TEXT = st.text(alphabet=st.sampled_from("ab:/?#@[]%.-_ 09\tÉ"), max_size=20)


@settings(max_examples=300)
@given(scheme=st.sampled_from(["https", "HTTP", "ftp", "", " https", "1x"]), rest=URL_TEXT)
def test_the_cached_url_split_agrees_with_urlsplit(scheme, rest):
    url = f"{scheme}://{rest}" if scheme else rest
    try:
        parts = urlsplit(url)
        expected: tuple = (parts.scheme, parts.hostname, parts.port, parts.path, parts.query)
    except ValueError:
        expected = ("ValueError",)
    try:
        got: tuple = _split_url(url)
    except ValueError:
        got = ("ValueError",)
    assert got == expected


def _zstd_compress(data: bytes) -> bytes:
    try:
        from compression import zstd  # Python 3.14
    except ImportError:
        from backports import zstd
    return zstd.compress(data)


@pytest.mark.parametrize("fmt", ["zlib", "brotli", "bzip2", "xz", "zstd", "brotli cut off"])
def test_a_device_body_compressed_under_no_content_encoding_is_read_as_what_it_holds(tmp_path, fmt):
    """Before: a device response compressed with anything but gzip, whose Content-Encoding a proxy or an app took
    off, was a reject 'not JSON: str is not valid UTF-8' (the redaction policy reads such bodies, the readers only
    gunzipped gzip): the Band event it held was in no table. Now zlib, bzip2, xz and zstd (told by their magic) and
    brotli (told by decoding it) are read as what they hold; a stream cut off stays a reject."""
    import bz2
    import lzma

    import brotli
    from builders import BAND_EVENTS_URL, band_event, write_har

    from converters.pipeline import collect_inputs, convert

    raw = json.dumps(band_event()).encode()
    packed = {"zlib": zlib.compress, "brotli": brotli.compress, "bzip2": bz2.compress, "xz": lzma.compress,
              "zstd": _zstd_compress, "brotli cut off": lambda d: brotli.compress(d)[:-8]}[fmt](raw)
    har_entry = entry(BAND_EVENTS_URL)
    har_entry["response"]["content"] = {"size": len(raw), "mimeType": "application/json", "encoding": "base64",
                                        "text": base64.b64encode(packed).decode()}
    result = convert(collect_inputs([write_har(tmp_path / "a.har", [har_entry])]))
    if fmt == "brotli cut off":
        (reject,) = result.tables["rejects"].to_dicts()
        assert reject["reason"].startswith("not JSON")
    else:
        assert "rejects" not in result.tables or result.tables["rejects"].height == 0
        assert result.tables["band_events"]["event_id"].to_list() == ["2519812557630091728"]
