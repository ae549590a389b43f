"""The flow reader's fast path: a flow whose host `wants_body` refuses is skimmed from its bytes instead of being built
by mitmproxy, and gives the same entry (without headers and bodies) and the same errors as building it."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest
from builders import entry

from converters.captures import CaptureError, Exchange, Skipped
from converters.captures import flow as flow_reader
from converters.captures import tnetstring_walk
from converters.captures.flow import read_flows

CAPTURES = Path(__file__).resolve().parents[2] / "shared/reference/captures/flow"
SAMPLE = Path(__file__).resolve().parents[1] / "samples/phone-sync.flow"
DUMPS = (sorted(CAPTURES.iterdir()) if CAPTURES.is_dir() else []) + ([SAMPLE] if SAMPLE.is_file() else [])
WHERE = ("source_entry", "method", "scheme", "host", "port", "path", "query", "status", "captured_at")


def refuse_all(host: str) -> bool:
    return False


def where(items: list) -> list:
    """Each item, an Exchange cut down to the fields the fast path fills."""
    return [tuple(getattr(item, name) for name in WHERE) if isinstance(item, Exchange) else item for item in items]


def has_no_headers_or_bodies(exchange: Exchange) -> bool:
    headers_and_bodies = (exchange.request_headers, exchange.response_headers, exchange.request_body, exchange.body)
    return headers_and_bodies == ((), (), None, None)


def dump_bytes(*flows) -> bytes:
    from mitmproxy.io import tnetstring

    return b"".join(tnetstring.dumps(flow.get_state() if hasattr(flow, "get_state") else flow) for flow in flows)


def write(tmp_path: Path, data: bytes, name: str = "dump.mitm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def odd_flows() -> list:
    """HTTP flows whose host mitmproxy finds in different places, and flows of other kinds."""
    from mitmproxy import http
    from mitmproxy.test import tflow

    def http_flow(host="example.com", headers=(), http_version="HTTP/1.1", authority="", **changes):
        flow = tflow.tflow(resp=changes.pop("resp", True), err=changes.pop("err", False), ws=changes.pop("ws", False))
        flow.request.data.host, flow.request.data.authority = host, authority.encode()
        flow.request.data.http_version = http_version.encode()
        flow.request.headers = http.Headers([(name.encode(), value) for name, value in headers])
        for name, value in changes.items():
            setattr(flow.request.data, name, value)
        return flow

    no_response_times = http_flow(path=b"/late")
    no_response_times.response.timestamp_end = None
    zero_times = http_flow(timestamp_start=0)
    zero_times.response.timestamp_start = zero_times.response.timestamp_end = 0
    return [
        http_flow("10.0.0.1", [("Host", b"API.Example.com:8443")], path=b"/v1/x?a=1&b=%20"),  # transparent mode
        http_flow("10.0.0.2", [("hOsT", b"[2001:db8::1]:8080")]),
        http_flow("10.0.0.3", [("Host", b"a.example"), ("Accept", b"*/*"), ("HOST", b"b.example")]),
        http_flow("10.0.0.4", [("Host", b"\xff\xfe.example")]),
        http_flow("10.0.0.5", [("Host", b"")]),
        http_flow("10.0.0.6", [("X-Host", b"decoy.example"), ("Accept", b"4:host,")]),
        http_flow("h2.example", [("Host", b"ignored.example")], "HTTP/2.0", "H2.Example.com:443"),
        http_flow("h2.example", [("Host", b"fallback.example")], "HTTP/2.0"),
        http_flow("h3.example", [], "HTTP/3", "xn--bcher-kva.example"),
        http_flow("bücher.example", [], method=b"post", scheme=b"http", port=8080),
        http_flow("10.0.0.7", [("Host", b"\xff.example")], path=b"/v1/\xff\xe2\x82?q=\xc3", method=b"G\xffT"),
        http_flow(resp=False),
        http_flow(resp=False, err=True),
        http_flow(ws=True),
        no_response_times,
        zero_times,
        tflow.ttcpflow(),
        tflow.tudpflow(),
        tflow.tdnsflow(),
    ]


# --- reference captures and the sample dump -----------------------------------------------------------------------


@pytest.mark.parametrize("path", DUMPS, ids=lambda path: path.name)
def test_refusing_every_host_gives_the_entries_and_errors_of_building_every_flow(path: Path):
    full = list(read_flows(path, "x"))
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(full)
    assert all(has_no_headers_or_bodies(item) for item in fast if isinstance(item, Exchange))


@pytest.mark.parametrize("path", DUMPS, ids=lambda path: path.name)
def test_exchanges_of_wanted_hosts_are_identical_to_building_every_flow(path: Path):
    full = list(read_flows(path, "x"))
    hosts = sorted({item.host for item in full if isinstance(item, Exchange)})
    wanted = set(hosts[::2])
    fast = list(read_flows(path, "x", wanted.__contains__))
    assert where(fast) == where(full)
    for built, read in zip(full, fast):
        if isinstance(built, Exchange) and built.host in wanted:
            assert read == built
        elif isinstance(built, Exchange):
            assert has_no_headers_or_bodies(read)


@pytest.mark.parametrize("path", DUMPS, ids=lambda path: path.name)
def test_each_skimmed_flow_is_what_mitmproxy_builds_and_current_formats_are_skimmed(path: Path):
    full = list(read_flows(path, "x"))
    skimmer = flow_reader._Skimmer("x")
    with flow_reader._open_dump(path) as dump:
        skims = [skimmer.skim(payload, index) for index, payload in enumerate(flow_reader._payloads(dump))]
    for skim, built in zip(skims, full):
        if skim is not None:
            assert where([skim.entry]) == where([built])
    old_format = path.name in ("dumpfile-010.mitm", "dumpfile-011.mitm", "dumpfile-018.mitm")
    websockets_before_v12 = path.name == "dumpfile-7-websocket.mitm"  # built: the 11 -> 12 migration merges them
    assert all(skim is None for skim in skims) if old_format or websockets_before_v12 else None not in skims


def test_old_flow_without_response_start_gets_the_timestamps_mitmproxy_makes_up(tmp_path):
    from mitmproxy.io import tnetstring

    path = CAPTURES / "dumpfile-7.mitm"  # flow format 11: its migration to 14 fills a missing response start
    if not path.is_file():
        pytest.skip("reference capture dumpfile-7.mitm is absent")
    state = tnetstring.load(io.BytesIO(path.read_bytes()))
    state["response"]["timestamp_start"] = None
    path = write(tmp_path, dump_bytes(state, state))
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(read_flows(path, "x"))
    assert fast[1].captured_at.timestamp() == state["request"]["timestamp_end"] + 1


# --- synthetic dumps ------------------------------------------------------------------------------------------------


def test_hosts_from_host_headers_and_authorities_match_mitmproxy_and_repeated_layouts_are_not_built(
    tmp_path, monkeypatch
):
    flows = odd_flows()
    path = write(tmp_path, dump_bytes(*flows, *flows))  # the second copy of a layout is skimmed
    full = list(read_flows(path, "x"))
    hosts = {item.host for item in full if isinstance(item, Exchange)}
    assert hosts >= {"api.example.com", "2001:db8::1", "a.example, b.example", "h2.example.com", "bücher.example"}
    built = []
    materialise = flow_reader._materialise
    monkeypatch.setattr(flow_reader, "_materialise", lambda payload: built.append(1) or materialise(payload))
    assert where(read_flows(path, "x", refuse_all)) == where(full)
    assert len(built) <= len(flows)


def test_flows_of_wanted_hosts_are_built_with_headers_and_bodies(tmp_path):
    flows = odd_flows()
    path = write(tmp_path, dump_bytes(*flows, *flows))
    full = list(read_flows(path, "x"))
    fast = list(read_flows(path, "x", lambda host: host.endswith(".example")))
    assert [item for item in fast if isinstance(item, Exchange) and item.host.endswith(".example")] == [
        item for item in full if isinstance(item, Exchange) and item.host.endswith(".example")
    ]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzipped"])
def test_dump_cut_off_anywhere_gives_the_complete_flows_then_the_same_error(tmp_path, compress):
    data = dump_bytes(*odd_flows()[:4])
    data = gzip.compress(data) if compress else data
    for cut in range(1, len(data), max(1, len(data) // 40)):
        path = write(tmp_path, data[:cut])
        assert where(read_flows(path, "x", refuse_all)) == where(read_flows(path, "x")), cut


def test_dump_cut_off_mid_flow_reports_flows_read(tmp_path):
    data = dump_bytes(*odd_flows()[:3])
    items = list(read_flows(write(tmp_path, data[:-10]), "x", refuse_all))
    assert items[-1].entries_read == 2
    assert items[-1].message.startswith("cut off or damaged: a flow's length prefix says ")
    assert items[-1].message.endswith(" are left: the rest is unreadable; flows read: 2")


@pytest.mark.parametrize("tail", [b"garbage", b"\x00" * 512, b"12:not a flow!", b"99999999999999:", b"5:abc"])
def test_trailing_garbage_or_padding_gives_the_same_error_after_the_good_flows(tmp_path, tail):
    path = write(tmp_path, dump_bytes(*odd_flows()[:3]) + tail)
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(read_flows(path, "x"))
    assert len(fast) == 4 and isinstance(fast[-1], CaptureError) and fast[-1].entries_read == 3


@pytest.mark.parametrize("missing", ["type", "client_conn", "request", "metadata"])
def test_flow_missing_a_key_after_good_flows_of_its_layout_is_unreadable_alone(tmp_path, missing):
    flows = odd_flows()[:2]
    damaged = flows[0].get_state()
    del damaged[missing]
    path = write(tmp_path, dump_bytes(*flows, damaged, flows[1]))
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(read_flows(path, "x"))
    assert fast[2] == Skipped(2, "unreadable", f"a flow is missing the key {missing!r}")
    assert isinstance(fast[3], Exchange) and fast[3].source_entry == 3  # the flow after it is read


def test_request_missing_a_key_after_good_flows_is_unreadable_alone(tmp_path):
    flows = odd_flows()[:2]
    damaged = flows[0].get_state()
    del damaged["request"]["timestamp_end"]
    path = write(tmp_path, dump_bytes(*flows, damaged, flows[0]))
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(read_flows(path, "x"))
    assert [type(item) for item in fast[2:]] == [Skipped, Exchange] and fast[2].kind == "unreadable"


@pytest.mark.parametrize("version", [(0, 10), [0, 10], 99, 6.5, "21"])
def test_unsupported_flow_format_versions_are_unreadable_flows_with_mitmproxy_s_reason(tmp_path, version):
    flows = odd_flows()[:2]
    odd = flows[0].get_state()
    odd["version"] = version
    path = write(tmp_path, dump_bytes(*flows, odd, flows[1]))
    fast = list(read_flows(path, "x", refuse_all))
    assert where(fast) == where(read_flows(path, "x"))
    assert isinstance(fast[2], Skipped) and fast[2].kind == "unreadable" and fast[2].reason
    assert isinstance(fast[3], Exchange)


def test_dump_of_format_0_10_reads_alike_with_and_without_the_fast_path():
    path = CAPTURES / "dumpfile-010.mitm"
    if not path.is_file():
        pytest.skip("reference capture dumpfile-010.mitm is absent")
    (fast,) = read_flows(path, "x", refuse_all)
    (full,) = read_flows(path, "x")
    assert (fast.host, fast.path, fast.status) == (full.host, full.path, full.status) == ("example.com", "/", 200)


def test_gzipped_dump_is_skimmed_like_the_plain_one(tmp_path):
    data = dump_bytes(*odd_flows())
    plain = list(read_flows(write(tmp_path, data), "x", refuse_all))
    gzipped = list(read_flows(write(tmp_path, gzip.compress(data), "dump.mitm.gz"), "x", refuse_all))
    assert gzipped == plain and all(not isinstance(item, CaptureError) for item in plain)


def test_dump_that_starts_like_a_har_is_read_as_mitmproxy_reads_it(tmp_path):
    har = {"log": {"version": "1.2", "entries": [entry("https://api.example.com/v1/x?a=1", {"ok": 1})]}}
    path = write(tmp_path, json.dumps(har).encode())
    assert where(read_flows(path, "x", refuse_all)) == where(read_flows(path, "x"))


def test_skimming_never_raises_on_mutated_flows():
    payloads = [dump_bytes(flow)[dump_bytes(flow).index(b":") + 1 :] for flow in odd_flows()]
    skimmer = flow_reader._Skimmer("x")
    rng = random.Random(0)
    for _ in range(1500):
        payload = bytearray(rng.choice(payloads))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(payload))
            action = rng.randrange(3)
            if action == 0:
                payload[position] = rng.choice(b"0123456789:,;#^!~]}\x00")
            elif action == 1:
                del payload[position : position + rng.randint(1, 20)]
            else:
                payload[position:position] = rng.randbytes(rng.randint(1, 5))
        if payload:
            skim = skimmer.skim(bytes(payload), 0)
            assert skim is None or isinstance(skim.entry, (Exchange, Skipped))


def test_reading_never_raises_on_mutated_dumps(tmp_path):
    data = dump_bytes(*odd_flows()[:3])
    rng = random.Random(1)
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            items = list(read_flows(write(tmp_path, bytes(mutated)), "x", refuse_all))
        except AssertionError:  # mitmproxy's on an unexpected key in a flow; the reader lets it through, as before
            continue
        assert all(isinstance(item, (Exchange, Skipped)) for item in items[:-1])


def test_frames_are_cut_where_mitmproxy_cuts_them(tmp_path):
    from mitmproxy.io import tnetstring

    data = dump_bytes(*odd_flows()[:3])
    stream = io.BytesIO(data)
    expected = [tnetstring.load(stream) for _ in range(3)]
    with open(write(tmp_path, data), "rb") as dump:
        frames = list(tnetstring_walk.frames(dump))
    assert [tnetstring.parse(frame[-1], memoryview(frame)[:-1]) for frame in frames] == expected


def mitmproxy_parse(frame: bytes) -> object:
    from mitmproxy.io import tnetstring

    return tnetstring.parse(frame[-1], memoryview(frame)[:-1])


def same_values(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True, b"" != "")."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_values(k, l) for k, l in zip(a, b)) and \
            all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_values, a, b))
    return a == b or (a != a and b != b)  # nan


@pytest.mark.parametrize("path", DUMPS, ids=lambda path: path.name)
def test_the_walk_parses_every_flow_of_the_reference_dumps_as_mitmproxy_does(path: Path):
    with flow_reader._open_dump(path) as dump:
        for frame in flow_reader._payloads(dump):
            assert same_values(tnetstring_walk.parse(frame), mitmproxy_parse(frame))


def test_the_walk_parses_what_mitmproxy_parses_or_raises_for_mitmproxy_to_parse():
    """On mutated flows, odd values and length prefixes: where the walk gives a value, mitmproxy's parse gives the
    same; where the walk raises, mitmproxy's parse is asked (its value or its error is the flow's)."""
    odd = [b"3: 12#", b"4:1_00#", b"3:+12#", b"3:nan^", b"4:-inf^", b"2:\xff\xfe;", b"0:~", b"1:x~", b"4:true!",
           b"4:True!", b"12:3:1_0#1:x,}", b"9:2:a,2:b,]", b"6:1:a,0:~}", b"14:1:a;1:1#1:a;1:2#}", b"8:0:]0:],}",
           b"7: 1:a,2:b,]", b"8:01:a,1:b]", b"3:1:a]"]
    payloads = [frame[frame.index(b":") + 1 :] for frame in odd] + \
        [dump_bytes(flow)[dump_bytes(flow).index(b":") + 1 :] for flow in odd_flows()]
    rng = random.Random(2)
    mutated = []
    for _ in range(3000):
        payload = bytearray(rng.choice(payloads))
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(payload))
            payload[position] = rng.choice(b"0123456789: ,;#^!~]}_+-\x00")
        mutated.append(bytes(payload))
    walked = 0
    for payload in payloads + mutated:
        try:
            value = tnetstring_walk.parse(payload)
        except Exception:
            continue
        walked += 1
        assert same_values(value, mitmproxy_parse(payload))
    assert walked > 500


def bodied_flows() -> list:
    """Flows of one host with bodies and headers of every kind the reader decodes or refuses, each twice in a row:
    the second of each layout is read from its bytes."""
    import hostile_cases as H
    from mitmproxy import http
    from mitmproxy.test import tflow

    def with_body(response_headers=(), content=b'{"a": 1}', request_headers=(), request_content=b"", resp=True):
        flow = tflow.tflow(resp=resp)
        flow.request.headers = http.Headers([(n.encode(), v) for n, v in request_headers])
        flow.request.raw_content = request_content
        if resp:
            flow.response.headers = http.Headers([(n.encode(), v) for n, v in response_headers])
            flow.response.raw_content = content
        return flow

    data = json.dumps({"values": list(range(300))}).encode()
    flows = [with_body([("Content-Encoding", encoding.encode())], H.compress(encoding, iter([data])))
             for encoding in ("gzip", "deflate", "br", "zstd")]
    flows += [
        with_body([("content-encoding", b"gzip"), ("CONTENT-ENCODING", b"identity")], gzip.compress(data)),
        with_body([("Content-Encoding", b"")], data),
        with_body([("Content-Encoding", b""), ("Content-Encoding", b"")], data),
        with_body([("Content-Encoding", b"gzip")], b"not gzip at all"),
        with_body([("Content-Encoding", b"x-unknown")], data),
        with_body([("Content-Encoding", b"gzip")], gzip.compress(b"{}" * (3 << 20))),  # over max_body
        with_body([("Content-Type", b"application/json; charset=\xff")], content=None),
        with_body(request_headers=[("Content-Encoding", b"gzip")], request_content=gzip.compress(data)),
        with_body(request_headers=[("Content-Encoding", b"gzip")], request_content=b"not gzip"),
        with_body(request_headers=[("Content-Encoding", b"gzip")], request_content=gzip.compress(b"{}" * (3 << 20))),
        with_body(resp=False),
    ]
    trailers = with_body([("Content-Encoding", b"gzip")], gzip.compress(data))
    trailers.response.trailers = http.Headers([(b"X-Checksum", b"1")])
    return [flow for flow in [*flows, trailers] for flow in (flow, flow)]


def test_wanted_flows_read_from_their_bytes_are_what_mitmproxy_builds(tmp_path, monkeypatch):
    from converters import limits

    states = [flow.get_state() for flow in bodied_flows()]
    path = write(tmp_path, dump_bytes(*states))
    built_flows = []
    materialise = flow_reader._materialise
    monkeypatch.setattr(flow_reader, "_materialise", lambda payload: built_flows.append(1) or materialise(payload))
    with limits.applied(limits.Limits(max_body=1 << 20)):
        built = list(read_flows(path, "x"))
        built_flows.clear()
        read = list(read_flows(path, "x", lambda host: True))
    assert read == built
    assert len(built_flows) < len(states) // 2  # the second of each layout is not built


@pytest.mark.parametrize("header", [[b"Host"], [b"Host", b"a", b"b"], [b"Host", "a"], [1, b"a"], b"Host: a"])
def test_a_wanted_flow_with_headers_mitmproxy_refuses_is_built_by_mitmproxy(tmp_path, header):
    flows = odd_flows()[:1] * 2
    damaged = flows[0].get_state()
    damaged["request"]["headers"] = [[b"Accept", b"*/*"], header]
    path = write(tmp_path, dump_bytes(*flows, damaged, flows[0]))
    read = list(read_flows(path, "x", lambda host: True))
    assert read == list(read_flows(path, "x"))


@pytest.mark.parametrize("header", [(), (("Content-Encoding", b"identity"),)], ids=["no header", "identity"])
def test_a_gzipped_body_under_no_content_encoding_is_read_as_the_har_reader_reads_it(tmp_path, header):
    """A proxy or an app that takes Content-Encoding off leaves a gzipped body under none: the HAR reader gunzips it
    (by its magic bytes), the flow reader kept it gzipped, so a Sense night captured so was a reject ('not JSON') in
    a flow and rows in a HAR. Both read what it holds, built by mitmproxy or read from the flow's bytes."""
    import base64

    from mitmproxy import http
    from mitmproxy.test import tflow

    from builders import write_har

    from converters.captures import read_capture

    night = json.dumps({"score": 80, "date": "2017-03-05"}).encode()
    flow = tflow.tflow(resp=True)
    flow.request.host, flow.request.path = "api.hello.is", "/v2/timeline/2017-03-05"
    flow.response.headers = http.Headers([(n.encode(), v) for n, v in header])
    flow.response.raw_content = gzip.compress(night)
    path = write(tmp_path, dump_bytes(flow, flow))
    assert [x.body for x in read_flows(path, "x")] == [night, night]  # built by mitmproxy
    assert [x.body for x in read_flows(path, "x", lambda host: True)] == [night, night]  # the second from its bytes
    e = entry("https://api.hello.is/v2/timeline/2017-03-05", None,
              response_headers={name: value.decode() for name, value in header})
    e["response"]["content"].update(text=base64.b64encode(gzip.compress(night)).decode(), encoding="base64")
    assert [x.body for x in read_capture(write_har(tmp_path / "a.har", [e]))] == [night]
