"""Stream the entries of a HAR file (plain, with a BOM, UTF-16 or UTF-32, zlib-compressed .zhar or gzipped, or HAR
Viewer's JSONP `.harp`) as `Exchange`s.

The file is never loaded whole: `log.entries` is parsed a run of entries at a time (`har_runs`).
"""

from __future__ import annotations

import base64
import codecs
import gzip
import io
import ipaddress
import re
import zlib
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import urlsplit

import ijson
import orjson

from .. import limits
from . import CaptureError, Exchange, Item, Skipped, WantsBody, decompressed, open_capture
from .bodies import GZIP_MAGIC, dechunk, gunzip_if_gzipped
from .har_runs import IJSON, READ_SIZE, Pruned, TooManyValues, har_entries
from .sniff import BOM, JSONP, ZLIB_HEADERS, json_encoding

NOT_A_HAR = "JSON but not a HAR file (no log.entries)"
# (a LimitHit: a compressed capture that unpacks to more than --max-ratio allows)
_STREAM_ERRORS = (ijson.JSONError, UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile, limits.LimitHit)


def read_har(path: Path, source_file: str, wants_body: WantsBody | None = None) -> Iterator[Item]:
    """Yield one `Exchange` per entry of `log.entries`, in file order, then a `CaptureError` if the file is unreadable.

    An entry too damaged to be an exchange (no request URL, say) is yielded as `Skipped(kind="malformed")`.
    `captured_at` is the entry's `startedDateTime` (when the request was sent) in UTC: HAR has no response
    timestamp, and the `time` exporters add to it is too often -1 or absurd to be worth the arithmetic.
    """
    entries_read = 0
    for text_encoding in (None, "cp1252"):  # not UTF-8 after all: read again as Windows' Latin-1
        try:
            for position, entry in enumerate(_har_entries(path, text_encoding)):
                if position >= entries_read:  # read again: the entries already yielded are passed over
                    yield _item(entry, entries_read, source_file, wants_body)
                    entries_read += 1
        except _STREAM_ERRORS as error:
            if text_encoding is None and _is_encoding_error(error):
                continue
            # a saved response cut off, say (not one read as far as a limit allows: not read again)
            if entries_read == 0 and not isinstance(error, limits.LimitHit) and _top_level_is_not_a_har(path):
                yield CaptureError(NOT_A_HAR, 0)
            else:
                yield CaptureError(_read_failure(error, entries_read), entries_read)
            return
        break
    if entries_read == 0 and not _has_entries_array(path):
        yield CaptureError(NOT_A_HAR, 0)


def _har_entries(path: Path, text_encoding: str | None) -> Iterator[object]:
    """The values of `log.entries`; a parse error is raised after every complete entry. The stream is read one read of
    a decompressor at a time, so that the data before a truncation is handed on before the error, not lost with it."""
    with _json_bytes(path, text_encoding) as json_bytes:
        yield from har_entries(json_bytes.read1)


def _has_entries_array(path: Path) -> bool:
    """Whether the JSON has a `log.entries` array; stops reading as soon as it is found."""
    with _json_bytes(path, None) as json_bytes:
        try:
            return any(
                prefix == "log.entries" and event == "start_array"
                for prefix, event, _ in IJSON.parse(_pruned(json_bytes))
            )
        except _STREAM_ERRORS:
            return False


def _pruned(json_bytes: BinaryIO) -> limits.PrunedReader:
    """The HAR's JSON as ijson reads it: no deeper than `limits.structure_depth`, no string longer than
    `limits.max_string`."""
    return limits.PrunedReader(json_bytes, limits.structure_depth(), max_string=limits.max_string())


def _top_level_is_not_a_har(path: Path) -> bool:
    """Whether the JSON, however far it can be read, is an object with keys but no `log` (a HAR's one key)."""
    keys = set()
    try:
        with _json_bytes(path, None) as json_bytes:
            for prefix, event, value in IJSON.parse(_pruned(json_bytes)):
                if prefix == "" and event == "map_key":
                    keys.add(value)
                    if value == "log":
                        return False
    except _STREAM_ERRORS:
        pass
    return bool(keys)


@contextmanager
def _json_bytes(path: Path, text_encoding: str | None) -> Iterator[BinaryIO]:
    """The file opened for reading its JSON as UTF-8 bytes: decompressed if zlib or gzip (to `--max-ratio` times its
    size: `limits.LimitHit` past it), positioned after any UTF-8 BOM, transcoded from UTF-16 or UTF-32 (by a BOM or
    the NULs around the first characters) or from `text_encoding`, and out of HAR Viewer's JSONP wrapping
    (`onInputData({...});`)."""
    with open_capture(path) as raw:
        magic = raw.peek(2)[:2]
        if magic == GZIP_MAGIC:
            stream: BinaryIO = decompressed(path, gzip.GzipFile(fileobj=raw))
        elif magic in ZLIB_HEADERS:
            stream = decompressed(path, io.BufferedReader(_ZlibReader(raw)))
        else:
            stream = raw
        if (encoding := json_encoding(_head(stream, 4))) not in (None, "utf-8-sig"):
            text_encoding = encoding
        if text_encoding:
            stream = io.BufferedReader(_Utf8Reader(stream, text_encoding))
        if stream.peek(3)[:3] == BOM:
            stream.read(3)
        head = _head(stream, 256)
        if (jsonp := JSONP.match(head)) and head[jsonp.end():].startswith(b"{"):
            stream.read(jsonp.end())
            stream = io.BufferedReader(_JsonpReader(stream))
        yield stream


def _head(stream: io.BufferedReader | gzip.GzipFile, size: int) -> bytes:
    """The first bytes of a stream, without consuming them; none when they cannot be read (the damage is then
    reported by the read proper)."""
    try:
        return stream.peek(size)[:size]
    except _STREAM_ERRORS:
        return b""


class _JsonpReader(io.RawIOBase):
    """The JSON inside a JSONP call whose opening `name(` was read: everything but the closing `)` (and `;`) at the
    end of the stream, held back a few bytes at a time until the end shows."""

    _TAIL = 64  # bytes held back: more than `)`, `;` and the whitespace around them
    _CLOSING = re.compile(rb"\)\s*;?\s*\Z")

    def __init__(self, source: BinaryIO):
        self._source = source
        self._held = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._done and len(self._held) <= self._TAIL:
            data = self._source.read(READ_SIZE)
            if not data:
                self._done = True
                if m := self._CLOSING.search(self._held):
                    self._held = self._held[: m.start()]
                break
            self._held += data
        available = self._held if self._done else self._held[: -self._TAIL]
        n = min(len(buffer), len(available))
        buffer[:n], self._held = available[:n], self._held[n:]
        return n


class _ZlibReader(io.RawIOBase):
    """The bytes a zlib stream (mitmproxy's .zhar) decompresses to, read on demand."""

    def __init__(self, compressed: BinaryIO):
        self._compressed = compressed
        self._inflater = zlib.decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._inflater.eof:
            compressed = self._inflater.unconsumed_tail or self._compressed.read(READ_SIZE)
            if not compressed:
                raise EOFError("compressed data ends before its end marker")
            data = self._inflater.decompress(compressed, len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
        return 0


class _Utf8Reader(io.RawIOBase):
    """The UTF-8 bytes of a text stream in another encoding, read on demand."""

    def __init__(self, source: BinaryIO, encoding: str):
        self._source = source
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            data = self._source.read(READ_SIZE)
            text = self._decoder.decode(data, final=not data)
            if not self._started and text:
                text, self._started = text.removeprefix("\ufeff"), True
            self._pending = text.encode("utf-8")
            if not data:
                break
        n = min(len(buffer), len(self._pending))
        buffer[:n], self._pending = self._pending[:n], self._pending[n:]
        return n


def _is_encoding_error(error: Exception) -> bool:
    reason = str(error)
    return isinstance(error, UnicodeDecodeError) or "UTF8" in reason or "codec can't decode" in reason


def _read_failure(error: Exception, entries_read: int) -> str:
    """Why reading stopped, in one line without the file's text (parsers quote the text around the error)."""
    if isinstance(error, limits.LimitHit):  # (its words are databack's own)
        return f"{error}; the rest is not read; {entries_read} entries read"
    reason = str(error).removeprefix("b'").replace("\\n", "\n").partition("\n")[0].rstrip(".")
    if isinstance(error, EOFError) or "premature EOF" in reason or "Incomplete JSON" in reason:
        problem = "cut off"
    elif _is_encoding_error(error):
        problem = "not UTF-8 text"
    elif isinstance(error, (zlib.error, gzip.BadGzipFile)):
        problem = "damaged compressed data"
    elif reason.startswith(("lexical error:", "parse error:")):  # yajl's first line names the problem, no text
        problem = f"not valid JSON ({reason})"
    else:
        problem = "not valid JSON"
    if not entries_read:
        return f"{problem} before the first entry"
    total = " of an unknown total" if problem == "cut off" else ""
    return f"{problem} after entry {entries_read}{total}; {entries_read} entries read"


def _item(entry: object, index: int, source_file: str, wants_body: WantsBody | None) -> Exchange | Skipped:
    """The exchange of one HAR entry: what can be read of it, `damaged` saying what could not, where the entry is
    not as HAR has it; `Skipped(kind="malformed")` with the reason where not even its request's URL can be read."""
    if isinstance(entry, TooManyValues):  # not built
        return Skipped(index, "too many values", entry.reason)
    if isinstance(entry, Pruned):  # values nested too deep left out: said where the exchange is read from
        item = _item(entry.entry, index, source_file, wants_body)
        reason = limits.structure_too_deep(entry.limit)
        if isinstance(item, Skipped):
            return Skipped(index, "too deep", reason)
        if entry.read:
            item.damaged = f"{item.damaged}; {reason}" if item.damaged else reason
        else:
            item.left_out = reason
        return item
    try:
        return _exchange(entry, index, source_file, wants_body)  # type: ignore[arg-type]
    except Exception:  # RecursionError, MemoryError too: this entry alone
        try:
            return _salvaged(entry, index, source_file, wants_body)
        except Exception as error:
            return Skipped(index, "malformed", f"an entry that cannot be read ({type(error).__name__})")


def _salvaged(entry: object, index: int, source_file: str, wants_body: WantsBody | None) -> Exchange | Skipped:
    """A damaged entry, repaired where HAR is plain about what was meant and read as any other: what was wrong goes
    into `damaged` (plain words, no captured text); a body that is not text is kept as the JSON it is."""
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        return Skipped(index, "malformed", "an entry without a request URL")
    damage: list[str] = []
    request = request | {"headers": _lenient_headers(request.get("headers"), "request", damage)}
    if not isinstance(request.get("method"), str):
        damage.append("request.method is not text")
        request["method"] = ""
    if request.get("postData") is not None and not isinstance(request["postData"], dict):
        damage.append("request.postData is not an object")
        request["postData"] = None
    response = entry.get("response") or None  # type: ignore[union-attr]
    if response is not None and not isinstance(response, dict):
        damage.append("response is not an object")
        response = None
    if response is not None:
        response = response | {"headers": _lenient_headers(response.get("headers"), "response", damage),
                               "content": _lenient_content(response.get("content"), damage)}
    repaired = {**entry, "request": request, "response": response}  # type: ignore[dict-item]
    exchange = _exchange(repaired, index, source_file, wants_body)
    exchange.damaged = "; ".join(damage) or "an entry not as HAR has it"
    return exchange


def _lenient_headers(headers: object, side: str, damage: list[str]) -> list[dict[str, str]]:
    """The headers that are name/value pairs of text, as HAR has them; what is not is told in `damage`."""
    if headers is None:
        return []
    if isinstance(headers, dict):  # {"Content-Type": "..."}: not HAR, but its pairs are plain
        damage.append(f"{side}.headers is an object, not a list")
        pairs = list(headers.items())
    elif isinstance(headers, list):
        pairs = [(h.get("name"), h.get("value")) if isinstance(h, dict) else (None, None) for h in headers]
    else:
        damage.append(f"{side}.headers is not a list")
        return []
    kept = [{"name": n, "value": v} for n, v in pairs if isinstance(n, str) and isinstance(v, str)]
    if len(kept) < len(pairs):
        damage.append(f"{len(pairs) - len(kept)} {side} header{'s' * (len(pairs) - len(kept) > 1)} not text")
    return kept


def _lenient_content(content: object, damage: list[str]) -> dict:
    """`response.content` with its text as text: a `text` that is not (a number, an object) as the JSON it is."""
    if content is None:
        return {}
    if not isinstance(content, dict):
        damage.append("response.content is not an object")
        return {}
    content = dict(content)
    for key in ("text", "_textBase64"):
        value = content.get(key)
        if value is not None and not isinstance(value, str):
            damage.append(f"response.content.{key} is not text")
            return {"text": orjson.dumps(value).decode()}
    if content.get("encoding") is not None and not isinstance(content["encoding"], str):
        damage.append("response.content.encoding is not text")
        del content["encoding"]
    return content


def _exchange(entry: dict, index: int, source_file: str, wants_body: WantsBody | None) -> Exchange:
    """Raises KeyError, TypeError, ValueError or AttributeError for a malformed entry.

    The entry's dicts are read directly: haralyzer's `HarEntry` wraps the same dict, and its `request`/`response`
    properties cost about 15 µs an access (its cached_property checks for coroutines), a fifth of an entry's cost."""
    request = entry["request"]
    scheme, url_host, port, path, query = _split_url(request["url"])
    raw_request_headers = request.get("headers")
    host = _host(url_host, raw_request_headers)
    response = entry.get("response") or None
    wanted = wants_body is None or wants_body(host)
    response_headers = _headers(response.get("headers")) if response and wanted else ()
    body, body_error = (None, None)
    if response and wanted:
        body, body_error = _response_body(response.get("content") or {}, response_headers)
    request_body, request_body_error = _request_body(request.get("postData")) if wanted else (None, None)
    started = _utc(entry.get("startedDateTime"))  # (HAR records no time of the response)
    return Exchange(
        source_file=source_file,
        source_entry=index,
        captured_at=started,
        sent_at=started,
        method=request["method"].upper(),
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        query=query,
        status=_status(response.get("status")) if response else None,
        request_headers=_headers(raw_request_headers) if wanted else (),
        response_headers=response_headers,
        request_body=request_body,
        body=body,
        body_error=body_error,
        request_body_error=request_body_error,
        mime_type=_mime_type(response.get("content")) if response and wanted else None,
        error=entry.get("_error") if isinstance(entry.get("_error"), str) else None,
    )


def _mime_type(content: object) -> str | None:
    """`content.mimeType`, where it gives one (Chrome writes "x-unknown" for none, others "")."""
    mime = content.get("mimeType") if isinstance(content, dict) else None
    return mime if isinstance(mime, str) and mime and mime != "x-unknown" else None


def _status(value: object) -> int | None:
    """The HTTP status as an int (some exporters write a string); None for 0 (no response) or nonsense."""
    try:
        return int(value) or None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _headers(har_headers: list | None) -> tuple[tuple[str, str], ...]:
    """The name/value pairs; TypeError where one is not text (the entry is then read by `_salvaged`)."""
    headers = tuple((header["name"], header["value"]) for header in har_headers or ())
    if not all(type(name) is str and type(value) is str for name, value in headers):
        raise TypeError("a header name or value is not text")
    return headers


def _utc(started: object) -> datetime | None:
    """`startedDateTime` as an aware UTC datetime (naive times are taken as UTC); None if absent or unparseable."""
    if not isinstance(started, str):
        return None
    try:
        moment = datetime.fromisoformat(started)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved out of range by its offset
        return None


_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def _split_url(url: str) -> tuple[str, str | None, int | None, str, str]:
    """(scheme, host, port, path, query) as `urlsplit` gives them. Captures repeat a few origins thousands of times,
    so the scheme and host part of a plain URL (no tabs or line breaks, which urlsplit drops) is split once each."""
    origin = _PLAIN_URL.match(url)
    if origin is None or not url.isprintable() or url[:1].isspace():
        parts = urlsplit(url)
        return parts.scheme, parts.hostname, parts.port, parts.path, parts.query
    path, _, query = url[origin.end() :].partition("#")[0].partition("?")
    return *_origin(origin.group()), path, query


@limits.short_cache(1024)
def _origin(scheme_and_host: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(scheme_and_host)
    return parts.scheme, parts.hostname, parts.port


def _host(url_host: str | None, har_headers: list | None) -> str:
    """The URL's host, unless it is an IP address (transparent proxying) and the Host or :authority header names one.
    The headers are only looked at then."""
    if url_host and not _is_ip(url_host):
        return url_host
    for name, value in _headers(har_headers):
        if name.lower() in ("host", ":authority"):
            try:
                header_host = urlsplit(f"//{value}").hostname
            except ValueError:
                continue
            if header_host:
                return header_host
    return url_host or ""


def _is_ip(host: str) -> bool:
    if not (host[:1].isdigit() or ":" in host):  # a name: no need to ask ipaddress (its ValueError is slow)
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _request_body(post_data: dict | None) -> tuple[bytes | None, str | None]:
    """(`postData.text` as UTF-8, or the non-spec `_textBase64` decoded, None); (None, None) without postData; (None,
    the limit) over a limit."""
    if not post_data:
        return None, None
    try:
        if post_data.get("text") is not None:
            return _utf8(post_data["text"]), None
        if post_data.get("_textBase64") is not None:
            return _base64_or_text(post_data["_textBase64"]), None
    except limits.LimitHit as hit:
        return None, f"request {hit}"
    return None, None


def _response_body(content: dict, response_headers: tuple[tuple[str, str], ...]) -> tuple[bytes | None, str | None]:
    """(body, body_error) from `response.content`: base64 undone, chunked framing removed, a gzipped body gunzipped,
    and one given in base64 as sent (Fiddler's, Charles') decoded per its Content-Encoding (`compressed_body`),
    within the limits (a body over one has the limit as its error)."""
    try:
        if content.get("text") is not None:
            text = content["text"]
            as_sent = content.get("encoding") == "base64"
            data = _base64_or_text(text) if as_sent else _utf8(text)
        elif content.get("_textBase64") is not None:
            as_sent, data = True, _base64_or_text(content["_textBase64"])
        else:
            return None, None
        sent = len(data)  # (--max-ratio: what every decoding below unpacks is weighed against it)
        if any(name.lower() == "transfer-encoding" and "chunked" in value.lower() for name, value in response_headers):
            dechunked = dechunk(data)
            data = data if dechunked is None else dechunked
        data = gunzip_if_gzipped(data, sent)
        return (compressed_body(data, response_headers, sent) or data) if as_sent else data, None
    except ValueError as error:  # limits.LimitHit too
        return None, str(error)


def compressed_body(data: bytes, headers: Iterable[tuple[str, str]], sent: int | None = None) -> bytes | None:
    """A body kept as sent, compressed per its Content-Encoding (br, deflate, zstd: gzip is known by its magic bytes)
    decoded; None where it is none (no such header, or text the tool decoded already, keeping the header). Raises
    `limits.LimitHit` for one over a limit (`sent`: the body's size as sent, where `data` is gunzipped from it)."""
    encoding = ", ".join(value for name, value in headers if name.lower() == "content-encoding").strip()
    if encoding.lower() in ("", "identity", "gzip", "x-gzip") or data.startswith(GZIP_MAGIC) or _is_text(data):
        return None
    try:
        return limits.decompress(data, encoding, sent=sent)
    except limits.LimitHit:
        raise
    except ValueError:
        return None


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _base64_or_text(text: str) -> bytes:
    """Base64-decoded `text`; the text itself as UTF-8 if it is not base64 (Firefox labelled plain text as base64).
    Raises `limits.LimitHit` for text that would decode to more than `max_body`, before decoding it."""
    limits.check_string(text)
    limits.check_base64(text)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        return _utf8(text)


def _utf8(text: str) -> bytes:
    """`text` as UTF-8; `limits.LimitHit` over `max_body` (or cut short as it was read: `limits.check_string`)."""
    limits.check_size(len(text))
    limits.check_string(text)
    return text.encode("utf-8", errors="replace")
