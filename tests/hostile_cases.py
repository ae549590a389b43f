"""Hostile captures, built small or at full size: decompression bombs in flows and HAR bodies, deep nesting, a bogus
length prefix. Used by tests/test_limits.py (small sizes) and bench/hostile.py (the issue's sizes, for peak RSS)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Callable, Iterator

from builders import BAND_EVENTS_URL, band_event, entry, write_har

BAND_EVENTS = BAND_EVENTS_URL
PIECE = 1 << 20


def zeros(total: int) -> Iterator[bytes]:
    while total > 0:
        yield b"\0" * min(PIECE, total)
        total -= PIECE


def compress(encoding: str, pieces: Iterator[bytes]) -> bytes:
    """`pieces` compressed as a Content-Encoding says, a piece at a time (a bomb is never held whole)."""
    if encoding in ("gzip", "deflate"):
        packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        return b"".join(packer.compress(p) for p in pieces) + packer.flush()
    if encoding == "br":
        import brotli

        packer = brotli.Compressor(quality=5)
        return b"".join(packer.process(p) for p in pieces) + packer.finish()
    if encoding == "zstd":
        try:
            from compression import zstd
        except ImportError:
            from backports import zstd
        packer = zstd.ZstdCompressor()
        return b"".join(packer.compress(p) for p in pieces) + packer.flush()
    raise ValueError(encoding)


def band_body() -> bytes:
    return json.dumps(band_event()).encode()


def http_flow(url: str, body: bytes, encoding: str | None = None, status: int = 200):
    from mitmproxy.test import tflow, tutils

    flow = tflow.tflow(resp=True)
    flow.request = tutils.treq()
    flow.request.url = url
    headers = {"content-type": "application/json"} | ({"content-encoding": encoding} if encoding else {})
    fields = tuple((k.encode(), v.encode()) for k, v in headers.items())
    flow.response = tutils.tresp(status_code=status, headers=fields)
    flow.response.raw_content = body
    return flow


def dump(flows: list) -> bytes:
    from io import BytesIO

    from mitmproxy import io as mio

    out = BytesIO()
    writer = mio.FlowWriter(out)
    for flow in flows:
        writer.add(flow)
    return out.getvalue()


def flow_bomb(path: Path, encoding: str, size: int) -> Path:
    """A good Band flow, one whose body decompresses (per `encoding`) to `size` zero bytes, a good one again."""
    good = http_flow(BAND_EVENTS, band_body())
    bomb = http_flow(BAND_EVENTS, compress(encoding, zeros(size)), encoding)
    path.write_bytes(dump([good, bomb, http_flow(BAND_EVENTS, json.dumps(band_event("2")).encode())]))
    return path


def har_bomb(path: Path, size: int) -> Path:
    """A HAR whose second entry's body is base64 of gzip of `size` zero bytes, between two good Band entries."""
    bomb = entry(BAND_EVENTS, base64.b64encode(compress("gzip", zeros(size))).decode())
    bomb["response"]["content"]["encoding"] = "base64"
    return write_har(path, [entry(BAND_EVENTS, band_event()), bomb, entry(BAND_EVENTS, band_event("2"))])


def nested(levels: int, leaf: str = "1") -> str:
    return '{"a":' * levels + leaf + "}" * levels


def har_deep_custom(path: Path, levels: int, last: bool = False) -> Path:
    """A HAR whose first (or `last`) entry has a `_custom` field nested `levels` deep, and two good Band entries."""
    deep = entry(BAND_EVENTS, band_event("0"))
    deep["_custom"] = "@DEEP@"
    entries = [entry(BAND_EVENTS, band_event()), entry(BAND_EVENTS, band_event("2"))]
    entries.insert(len(entries) if last else 0, deep)
    text = json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}})
    path.write_text(text.replace('"@DEEP@"', nested(levels)))
    return path


def har_deep_body(path: Path, levels: int, url: str = BAND_EVENTS) -> Path:
    """A HAR whose middle entry's body (a device response at `url`) is JSON nested `levels` deep."""
    return write_har(path, [entry(BAND_EVENTS, band_event()), entry(url, nested(levels)),
                            entry(BAND_EVENTS, band_event("2"))])


def saved_deep(path: Path, levels: int) -> Path:
    path.write_text("[" * levels + "]" * levels)
    return path


def har_many_values(path: Path, values: int) -> Path:
    """A HAR whose middle entry's body is base64 of gzip of a JSON array of `values` empty objects."""
    def pieces() -> Iterator[bytes]:
        yield b"["
        for start in range(0, values, 100_000):
            yield b"{}," * min(100_000, values - start - 1) + (b"{}" if start + 100_000 >= values else b"")
        yield b"]"
    wide = entry(BAND_EVENTS, base64.b64encode(compress("gzip", pieces())).decode())
    wide["response"]["content"]["encoding"] = "base64"
    return write_har(path, [entry(BAND_EVENTS, band_event()), wide, entry(BAND_EVENTS, band_event("2"))])


def har_plain_values(path: Path, values: int) -> Path:
    """A HAR whose middle entry's body is a plain JSON array of `values` ones (no compression: no ratio to hit)."""
    wide = entry(BAND_EVENTS, "[" + ",".join(["1"] * values) + "]")
    return write_har(path, [entry(BAND_EVENTS, band_event()), wide, entry(BAND_EVENTS, band_event("2"))])


def flow_big_text(path: Path, size: int) -> Path:
    """A flow whose device response is `size` bytes of text that is not JSON, gzipped (about 4 to 1): within every
    limit up to 64 MiB, read whole, rejected with its body."""
    words = b"".join(b"w%d " % i for i in range(size // 8 + 1))[:size]  # compresses about 4 to 1
    body = compress("gzip", iter([words]))
    path.write_bytes(dump([http_flow(BAND_EVENTS, band_body()), http_flow(BAND_EVENTS, body, "gzip")]))
    return path


def bogus_prefix(path: Path, prefix: bytes = b"999999999999:") -> Path:
    """A good Band flow, then a length prefix far beyond the file's end."""
    path.write_bytes(dump([http_flow(BAND_EVENTS, band_body())]) + prefix + b"{}")
    return path


Builder = Callable[[Path], Path]


def har_deep_brackets(path: Path, levels: int) -> Path:
    """A HAR whose first entry's `_custom` field is `levels` nested arrays (2 bytes a level), then two good ones."""
    har_deep_custom(path, 1)
    path.write_text(path.read_text().replace(nested(1), "[" * levels + "]" * levels))
    return path


def har_replaced(path: Path, field: str, text: str, where: int = 1) -> Path:
    """Three Band entries, the `where`th with its response's `field` written as the raw JSON `text` (a lone
    surrogate's escape, a number no float holds…)."""
    entries = [entry(BAND_EVENTS, band_event(str(i))) for i in range(3)]
    entries[where]["response"][field] = "@RAW@"
    write_har(path, entries)
    path.write_text(path.read_text().replace('"@RAW@"', text))
    return path


def har_many_headers(path: Path, count: int, where: str = "first") -> Path:
    """A Band entry with `count` request and response headers, and a good one after it (`first`), or a good one
    before it and one after (`middle`), or two before it (`last`): one entry's own JSON of millions of values (no
    body limit bounds it). Gzipped where `path` ends in `.gz`."""
    headers = [{"name": f"X-{i}", "value": "v"} for i in range(count)]
    many = entry(BAND_EVENTS, band_event())
    many["request"]["headers"] = many["response"]["headers"] = headers
    good = [entry(BAND_EVENTS, band_event(str(n))) for n in (2, 3)]
    entries = {"first": [many, good[0]], "middle": [good[0], many, good[1]], "last": [*good, many]}[where]
    write_har(path, entries)
    if path.name.endswith(".gz"):
        path.write_bytes(zlib.compress(path.read_bytes(), 9, wbits=31))
    return path


def compressed_capture(path: Path, kind: str, size: int) -> Path:
    """A compressed capture (`kind`: "har.gz", "zhar" or "flow.gz") whose first entry or flow is a good Band one, then
    `size` bytes that compress about a thousand to one (a HAR's whitespace between entries, a flow's body of zeros),
    then a good one again: a few kB on disk that unpack to `size` and more."""
    first, last = band_event(), band_event("2")
    if kind == "flow.gz":
        flows = [http_flow(BAND_EVENTS, json.dumps(first).encode()), http_flow(BAND_EVENTS, b"\0" * size),
                 http_flow(BAND_EVENTS, json.dumps(last).encode())]
        pieces: Iterator[bytes] = iter([dump(flows)])
    else:
        head, tail = json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
            entry(BAND_EVENTS, first), "@GAP@", entry(BAND_EVENTS, last)]}}).encode().split(b'"@GAP@",')
        pieces = iter([head, *(b" " * min(PIECE, size - at) for at in range(0, size, PIECE)), tail])
    packer = zlib.compressobj(9, zlib.DEFLATED, 15 if kind == "zhar" else 31)
    path.write_bytes(b"".join(packer.compress(p) for p in pieces) + packer.flush())
    return path


def flow_gz_zeros(path: Path, flows: int, size: int) -> Path:
    """A gzipped dump: a good Band flow, `flows` flows whose bodies are `size` zero bytes (not compressed: the dump
    is), a good one again. Built a flow at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(dump([http_flow(BAND_EVENTS, band_body())]))]
    zero = dump([http_flow(BAND_EVENTS, b"\0" * size)])
    parts += [packer.compress(zero) for _ in range(flows)]
    parts += [packer.compress(dump([http_flow(BAND_EVENTS, json.dumps(band_event("2")).encode())])), packer.flush()]
    path.write_bytes(b"".join(parts))
    return path


def har_gz_long_string(path: Path, size: int, url: str = "https://www.example.com/",
                       text: bytes = b"ab\\u00e9\\\\") -> Path:
    """A gzipped HAR whose second entry (to `url`) has a body of one string of `size` bytes of `text` again and again
    (characters and escapes, `ab\\u00e9\\\\`, some 190 to 1 in gzip: within `--max-ratio`), between two good Band
    entries."""
    head, tail = json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
        entry(BAND_EVENTS, band_event()), entry(url, "@TEXT@"),
        entry(BAND_EVENTS, band_event("2"))]}}).encode().split(b"@TEXT@")
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    piece = text * (PIECE // len(text))
    parts = [packer.compress(head), *(packer.compress(piece) for _ in range(size // len(piece))), packer.compress(tail)]
    path.write_bytes(b"".join(parts) + packer.flush())
    return path


def har_entry_like_objects(path: Path, count: int, levels: int = 200) -> Path:
    """A HAR whose second entry nests a value `levels` deep (past --max-depth) and then an array of `count` objects
    that begin as entries do (`{"startedDateTime": 1}`), between two good Band entries."""
    first = entry(BAND_EVENTS, {"value": [band_event()]})
    other = entry("https://www.example.com/", "x")
    odd = {"startedDateTime": first["startedDateTime"], "_custom": "@DEEP@", "_x": "@LIKE@",
           **{k: v for k, v in other.items() if k != "startedDateTime"}}
    log = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                   "entries": [first, odd, entry(BAND_EVENTS, {"value": [band_event("2")]})]}}
    text = json.dumps(log).replace('"@DEEP@"', "[" * levels + "]" * levels)
    text = text.replace('"@LIKE@"', "[" + ", ".join(['{"startedDateTime": 1}'] * count) + "]")
    path.write_text(text)
    return path


def flow_host_last(path: Path, count: int) -> Path:
    """A dump whose second flow's request has `count` headers before its Host header, between two good Band flows."""
    from mitmproxy import http

    crowded = http_flow(BAND_EVENTS, band_body())
    crowded.request.headers = http.Headers([(b"x-h%d" % i, b"v") for i in range(count)] + [(b"Host", b"a.example")])
    path.write_bytes(dump([http_flow(BAND_EVENTS, band_body()), crowded, http_flow(BAND_EVENTS, band_body())]))
    return path


def nested_url(levels: int) -> str:
    """A URL whose `u` parameter is a URL whose `u` parameter is … `levels` deep, percent-encoded level by level."""
    text = "https://h/cb?access_token=hunter2hunter2SECRET"
    for _ in range(levels):
        text = "https://h/?u=" + text.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("?", "%3F")
    return text


def har_nested_text(path: Path, levels: int) -> Path:
    """A HAR whose second entry's URL nests a URL `levels` deep in its parameters, and whose body is 2 KB of plain
    `https://h/?u=https://h/?u=…`, between two good Band entries."""
    nested = entry(nested_url(levels), "https://h/?u=" * 160)
    nested["response"]["content"]["mimeType"] = "text/plain"
    return write_har(path, [entry(BAND_EVENTS, band_event()), nested, entry(BAND_EVENTS, band_event("2"))])


def har_device_text(path: Path, text: str) -> Path:
    """A HAR whose second entry is a Band response of `text` (no JSON: a reject, which keeps the body's first MiB
    redacted), between two good ones."""
    return write_har(path, [entry(BAND_EVENTS, band_event()), entry(BAND_EVENTS, text),
                            entry(BAND_EVENTS, band_event("2"))])


def har_many_nulls(path: Path, count: int) -> Path:
    """A HAR whose second entry is Band events of `count` nulls where events belong (each a schema violation)."""
    return write_har(path, [entry(BAND_EVENTS, band_event()), entry(BAND_EVENTS, {"value": [None] * count}),
                            entry(BAND_EVENTS, band_event("2"))])


def empty_frames(path: Path, count: int) -> Path:
    """A dump of a good Band flow, `count` empty tnetstring frames (`0:~`: no flow each), a good one again."""
    good = dump([http_flow(BAND_EVENTS, band_body())])
    path.write_bytes(good + b"0:~" * count + good)
    return path


def layered(encodings: list[str], size: int) -> bytes:
    """`size` bytes of text that each of `encodings` (applied in order, as a Content-Encoding list names them) packs
    no more than 250 times over, but all of them together far more: a short random line over and over."""
    import random

    pick = random.Random(3).choice
    line = bytes(pick(b"abcdefghijklmnop") for _ in range(320))
    body = compress(encodings[0], iter([(line * (size // len(line) + 1))[:size]]))
    for encoding in encodings[1:]:
        body = compress(encoding, iter([body]))
    return body


def stored_layers(data: bytes, count: int) -> bytes:
    """`data` in `count` zlib (`deflate`) codings one over another, each storing the one below (level 0): every
    coding makes the body 11 bytes longer, never shorter, so no coding decompresses more than its input, yet all of
    them together cost the body's size times their number to undo."""
    for _ in range(count):
        data = zlib.compress(data, 0)
    return data


def tar_header(name: str, kind: bytes, size: int) -> bytes:
    """A GNU tar header block of `kind` (b"0" a file, b"L" a long name, b"x"/b"g" pax, b"S" sparse)."""
    import tarfile

    fields = {"name": name, "mode": 0o644, "uid": 0, "gid": 0, "size": size, "mtime": 0, "type": kind,
              "linkname": "", "uname": "", "gname": "", "devmajor": 0, "devminor": 0, "prefix": ""}
    return tarfile.TarInfo._create_header(fields, tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def _tar_gz(path: Path, pieces: Iterator[bytes]) -> Path:
    """The tar blocks of `pieces`, each padded to 512 bytes, gzipped a piece at a time, and the archive's end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for piece in pieces:
            out.write(packer.compress(piece + bytes(-len(piece) % 512)))
        out.write(packer.compress(bytes(1024)) + packer.flush())
    return path


def tar_many_members(path: Path, count: int, size: int) -> Path:
    """A .tar.gz of `count` members of `size` bytes (a little random, the rest zeros), then the sample HAR."""
    import os

    har = (Path(__file__).resolve().parent.parent / "samples" / "phone-sync.har").read_bytes()

    def pieces() -> Iterator[bytes]:
        for i in range(count):
            yield tar_header(f"p/{i:05d}.bin", b"0", size) + (os.urandom(size // 300) + bytes(size))[:size]
        yield tar_header("p/zz.har", b"0", len(har)) + har
    return _tar_gz(path, pieces())


def tar_long_name(path: Path, size: int) -> Path:
    """A .tar.gz whose first header is a GNU long name of `size` bytes."""
    return _tar_gz(path, iter([tar_header("././@LongLink", b"L", size), *([b"x" * PIECE] * (size // PIECE))]))


def tar_name_chain(path: Path, count: int) -> Path:
    """A .tar.gz of `count` GNU long name headers in a row before a member."""
    return _tar_gz(path, iter([*(tar_header("././@LongLink", b"L", 10) + b"x" * 10 for _ in range(count)),
                               tar_header("a.txt", b"0", 1) + b"x"]))


def tar_global_pax(path: Path, keywords: int, members: int) -> Path:
    """A .tar.gz of a global pax header of `keywords` keywords, then `members` members of one byte."""
    records = []
    for i in range(keywords):
        body = b"k%x=\n" % i
        length = next(n for n in range(len(body) + 2, len(body) + 10) if len(b"%d " % n) + len(body) == n)
        records.append(b"%d " % length + body)
    data = b"".join(records)
    return _tar_gz(path, iter([tar_header("pax_global_header", b"g", len(data)) + data,
                               *(tar_header(f"m{i}.txt", b"0", 1) + b"x" for i in range(members))]))


def tar_sparse_map(path: Path, blocks: int) -> Path:
    """A .tar.gz of a GNU sparse member whose map runs over `blocks` extension blocks of 21 regions each."""
    header = bytearray(tar_header("s.har", b"S", 0))
    header[482], header[483:495] = 1, b"%011o\0" % 1000
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    block = bytearray(b"".join(b"%011o\0%011o\0" % (i + 1, 1) for i in range(21)) + bytes(8))
    block[504] = 1
    chunk = bytes(block) * 2048
    return _tar_gz(path, iter([bytes(header), *([chunk] * (blocks // 2048)), bytes(block[:504]) + bytes(8)]))


def flow_layered(path: Path, encodings: list[str], size: int) -> Path:
    """A good Band flow, one whose body is `size` bytes of text in `encodings` (each within --max-ratio), another."""
    bomb = http_flow(BAND_EVENTS, layered(encodings, size), ", ".join(encodings))
    path.write_bytes(dump([http_flow(BAND_EVENTS, band_body()), bomb, http_flow(BAND_EVENTS, band_body())]))
    return path


def flow_many_messages(path: Path, count: int, where: str = "websocket") -> Path:
    """A good Band flow, a flow holding `count` one-byte messages (a WebSocket flow's, or a TCP flow's), a good one
    again: a dump whose middle flow's values are nearly all it is (some 56 bytes a message), which mitmproxy's objects
    cost some 30 times over. Gzipped where `path` ends in `.gz` (about 20 to 1)."""
    from mitmproxy import tcp, websocket
    from mitmproxy.test import tflow

    good = http_flow(BAND_EVENTS, band_body())
    if where == "websocket":
        many = tflow.twebsocketflow()
        many.websocket.messages = [websocket.WebSocketMessage(1, True, b"x", 0.0) for _ in range(count)]
    else:
        many = tflow.ttcpflow()
        many.messages = [tcp.TCPMessage(True, b"x", 0.0) for _ in range(count)]
    data = dump([good, many, http_flow(BAND_EVENTS, json.dumps(band_event("2")).encode())])
    path.write_bytes(zlib.compress(data, 9, wbits=31) if path.name.endswith(".gz") else data)
    return path


def nested_tnetstring(levels: int) -> bytes:
    """Empty lists nested `levels` deep, as a tnetstring (written from the outside in: no recursion, linear)."""
    prefixes, length = [], 3  # `0:]` in `N:0:]]` in …
    for _ in range(levels - 1):
        prefixes.append(b"%d:" % length)
        length += len(prefixes[-1]) + 1
    return b"".join(reversed(prefixes)) + b"0:]" + b"]" * (levels - 1)


def flow_deep_metadata(path: Path, levels: int) -> Path:
    """A Band flow whose metadata holds lists nested `levels` deep, then a good one."""
    from mitmproxy.io import tnetstring

    deep = http_flow(BAND_EVENTS, json.dumps(band_event("3")).encode())
    deep.metadata = {"note": "@@"}

    def dumps(value) -> bytes:  # tnetstring.dumps, the placeholder written as the nested lists
        if isinstance(value, dict):
            body = b"".join(dumps(k) + dumps(v) for k, v in value.items())
            return b"%d:%s}" % (len(body), body)
        if isinstance(value, list):
            body = b"".join(map(dumps, value))
            return b"%d:%s]" % (len(body), body)
        return nested_tnetstring(levels) if value == "@@" else tnetstring.dumps(value)

    path.write_bytes(dumps(deep.get_state()) + dump([http_flow(BAND_EVENTS, band_body())]))
    return path


def zip_declaring(path: Path, entries: int, declared: int) -> Path:
    """A zip whose central directory lists `entries` members (each a name for the same stored member's data) while its
    end record declares `declared`: some 58 bytes an entry."""
    import struct
    import zipfile

    data, name = b'{"log": {"entries": []}}', b"a.har"
    crc = zlib.crc32(data)
    local = struct.pack(zipfile.structFileHeader, zipfile.stringFileHeader, 20, 0, 0, 0, 0, 0, crc, len(data),
                        len(data), len(name), 0) + name + data
    directory = b"".join(
        struct.pack(zipfile.structCentralDir, zipfile.stringCentralDir, 20, 0, 20, 0, 0, 0, 0, 0, crc, len(data),
                    len(data), 12, 0, 0, 0, 0, 0, 0) + b"m%07d.har" % i
        for i in range(entries)
    )
    end = struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, declared & 0xFFFF, declared & 0xFFFF,
                      len(directory), len(local), 0)
    path.write_bytes(local + directory + end)
    return path


def flow_text_body(path: Path, text: str, url: str = BAND_EVENTS) -> Path:
    """A dump of a good Band flow and a device response at `url` whose body is `text` (not JSON), gzipped: read
    whole and rejected with its body, which the policy reads as free text (as scrub does every text body)."""
    body = compress("gzip", iter([text.encode()]))
    path.write_bytes(dump([http_flow(BAND_EVENTS, band_body()), http_flow(url, body, "gzip")]))
    return path


def long_tag(size: int) -> str:
    """An HTML page of one tag holding a `size`-letter word (g to y: no hex, no digits, compressing some 1.6 to 1)
    and no `=` after it (its length squared before round 7)."""
    import random

    word = "".join(random.Random(7).choices("ghijklmnopqrstuvwxy", k=size))
    return "<html><body><a b" + word + "></a></body></html>"


def spaces_after_is(size: int) -> str:
    """`password is` followed by `size` spaces and tabs (compressing some 7 to 1; its length squared before
    round 7)."""
    import random

    return "password is " + "".join(random.Random(7).choices(" \t", k=size)) + "\n"


def har_custom_of(path: Path, text: str) -> Path:
    """A HAR whose first entry's `_custom` field is the raw JSON `text` (16 MiB of `[],` within a run: 540 MB
    before round 7), and two good Band entries."""
    har_deep_custom(path, 1)
    path.write_text(path.read_text().replace(nested(1), text))
    return path
