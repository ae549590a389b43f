"""Stream the flows of a mitmproxy dump (plain or gzipped) as `Exchange`s.

The dump is framed flow by flow (`tnetstring_walk.frames`) and each flow is built by mitmproxy's own code, as its
FlowReader builds it. With `wants_body`, a flow is not built once mitmproxy has built one of the same layout (keys and
value types of the flow, its request and response) in the dump: its entry is skimmed from the raw bytes instead, large
values jumped over; a flow whose host `wants_body` refuses without its headers and bodies, a wanted one with them
(read as mitmproxy reads them; where they are not plainly well-formed, mitmproxy builds the flow). A skim costs under
a tenth of building the flow, a wanted one with its headers (bodies aside) a fourth; damage deep inside a skimmed
flow (e.g. in its connections) goes unnoticed.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
import zlib
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NamedTuple

from . import CaptureError, Exchange, Item, Skipped, WantsBody, decompressed, old_flows, open_capture
from . import tnetstring_walk as walk
from .. import limits
from .bodies import GZIP_MAGIC

if TYPE_CHECKING:
    from mitmproxy import flow, http

# Messages of mitmproxy's that carry no flow data; its others may quote the flow's state (headers, bodies).
_PLAIN_READER_MESSAGES = ("Invalid data format", "Unknown flow type")
_VERSION_MESSAGE = "cannot read files with flow format version"
_HAR_STARTS = (b"{", b"\xef\xbb\xbf{")  # FlowReader reads a dump that starts so as a HAR file
# Flow formats `_Skimmer` reads, minding the migrations (mitmproxy.io.compat) that touch what it reads: 8 -> 9 adds
# request.authority, 11 -> 12 merges WebSocket flows (flagged in metadata), 13 -> 14 fills a missing response start.
_SKIMMED_VERSIONS = range(7, 22)
_HEADER_START = re.compile(rb"(\d{1,12}):(\d{1,12}):")  # the length prefixes of a header and of its name
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_flows(path: Path, source_file: str, wants_body: WantsBody | None = None) -> Iterator[Item]:
    """Yield an `Exchange` per HTTP flow and a `Skipped` per other flow (kind "tcp", "udp", "dns"…), in file order,
    then a `CaptureError` if the dump cannot be read to its end (cut off, damaged, or a format mitmproxy refuses)."""
    from mitmproxy import exceptions

    read_errors = (
        exceptions.FlowReadException,
        KeyError,  # mitmproxy lets these through bare on damaged dumps
        ValueError,
        IndexError,
        TypeError,
        AssertionError,  # mitmproxy's set_state asserts it used every key of a flow's state
        EOFError,  # gzipped dump cut off
        zlib.error,
        gzip.BadGzipFile,
    )
    with _open_dump(path) as dump:
        entries = _entries(dump, source_file, wants_body)
        flows_read = 0
        while True:
            try:
                entry = next(entries)
            except StopIteration:
                return
            except read_errors as error:
                yield CaptureError(f"{_read_failure(error)}; flows read: {flows_read}", flows_read)
                return
            yield entry
            flows_read += 1


def _entries(
    dump: io.BufferedReader | gzip.GzipFile, source_file: str, wants_body: WantsBody | None
) -> Iterator[Exchange | Skipped]:
    """The entries of the dump in file order; where it cannot be read on, raises what FlowReader would raise.
    With `wants_body`, a flow is skimmed rather than built when mitmproxy has built one of its layout before and it is
    not HTTP or `wants_body` refuses its host."""
    from mitmproxy import io as mio
    from mitmproxy.version import FLOW_FORMAT_VERSION

    if dump.peek(4).startswith(_HAR_STARTS):
        for index, flow in enumerate(mio.FlowReader(dump).stream()):
            yield _entry(flow, index, source_file, wants_body)
        return
    # A mitmproxy with a newer flow format would migrate the flows the skim reads as they are.
    skimmer = _Skimmer(source_file) if wants_body and FLOW_FORMAT_VERSION == _SKIMMED_VERSIONS[-1] else None
    accepted_layouts: set[tuple] = set()  # layouts of the flows mitmproxy has built so far
    for index, payload in enumerate(_payloads(dump)):
        try:
            _within_values(payload)
        except Exception as error:  # this flow alone, never built: the next one is read
            yield Skipped(index, "too many values" if isinstance(error, limits.LimitHit) else "unreadable",
                          flow_failure(error))
            continue
        skim = skimmer.skim(payload, index) if skimmer else None
        if skim and skim.layout in accepted_layouts:
            if isinstance(skim.entry, Skipped) or not wants_body(skim.entry.host):
                yield skim.entry
                continue
            if (whole := skimmer.whole(payload, skim)) is not None:
                yield whole
                continue
        try:
            flow = _materialise(payload)
            entry = _entry(flow, index, source_file, wants_body)
        except Exception as error:  # this flow alone: its frame was whole, the next one is read
            yield Skipped(index, "unreadable", flow_failure(error))
            continue
        if skim:
            accepted_layouts.add(skim.layout)
        yield entry


def flow_failure(error: Exception) -> str:
    """Why one flow, whole in the dump, could not be built: plain words, no flow data."""
    if isinstance(error, limits.LimitHit):  # a limit this flow alone hit: the rest is read
        return str(error)
    return _read_failure(error).removeprefix("cut off or damaged: ")


def read_dump(dump: io.BufferedReader | gzip.GzipFile, left_out: list[int] | None = None
              ) -> Iterator[flow.Flow | Exception]:
    """Every flow of an opened dump, built by mitmproxy as `FlowReader.stream()` builds them (after the repairs of
    `old_flows`), or the exception that building that one flow met (the next is built all the same), read a flow at
    a time within `limits.current()` (a length prefix beyond what is left, or beyond a flow's limit, raises
    `tnetstring_walk.FrameTooLarge` rather than being read); broken framing raises FlowReader's exception. A list or
    dict nested deeper than `limits.structure_depth()` (free metadata, say) is left out of its flow, the rest of the
    flow built (`_materialise`): a 1 is appended to `left_out` for each."""
    from mitmproxy import io as mio

    if dump.peek(4).startswith(_HAR_STARTS):
        yield from mio.FlowReader(dump).stream()
        return
    for payload in _payloads(dump):
        try:
            _within_values(payload)
            yield _materialise(payload, left_out)
        except Exception as error:
            yield error


def _within_values(payload: bytes) -> None:
    """Raise `limits.LimitHit` where the flow `payload` holds more values (every field, header, WebSocket or TCP
    message, metadata item…) than `--max-json-values` allows, before anything of it is built: mitmproxy's objects
    for a flow cost some 30 to 300 times its bytes in memory where its values are tiny (a 113 MB flow of 2 million
    WebSocket messages, gzipped to 5.6 MB, made scrub hold 3.4 GB). Only a frame long enough to hold that many is
    walked (`tnetstring_walk.count_values`: at most that many steps, nothing built); one that is not plainly
    well-formed there raises FlowReadException rather than being handed to mitmproxy's lenient parse, which would
    build it whole."""
    most = limits.current().max_json_values
    if len(payload) <= walk.MIN_VALUE * most:
        return
    try:
        count = walk.count_values(payload, most)
    except ValueError as error:
        from mitmproxy import exceptions

        raise exceptions.FlowReadException("Invalid data format.") from error
    if count > most:
        raise limits.LimitHit(f"a flow of more than {most:,} values (--max-json-values)")


def _payloads(dump: io.BufferedReader | gzip.GzipFile) -> Iterator[bytes]:
    """Each flow's tnetstring without its length prefix; broken framing raises FlowReader's exception."""
    from mitmproxy import exceptions

    try:
        yield from walk.frames(dump, limits.current().max_flow)
    except (walk.FrameTooLarge, limits.LimitHit):
        raise
    except ValueError as error:
        raise exceptions.FlowReadException("Invalid data format.") from error


def _materialise(payload: bytes, left_out: list[int] | None = None) -> flow.Flow:
    """Build one flow as `FlowReader.stream()` does (its checks, migrations and exceptions), but for a list or dict
    nested deeper than `limits.structure_depth()`, which is left out (`tnetstring_walk.LEFT_OUT` stands for it; a 1
    appended to `left_out` for each): a flow's own fields are a few levels deep, and its free metadata nested
    100,000 levels cost the whole flow (RecursionError) where a HAR's `_custom` field costs that value alone."""
    from mitmproxy import exceptions
    from mitmproxy import flow as mflow
    from mitmproxy.io import tnetstring

    try:
        try:
            state = walk.parse(payload, limits.structure_depth(), left_out)
        except Exception:  # not plainly well-formed: mitmproxy's parse gives its value or its error
            state = tnetstring.parse(payload[-1], memoryview(payload)[:-1])  # what tnetstring.load does with a frame
        try:
            if not isinstance(state, dict):
                raise ValueError("Invalid flow: not a dict")
            return mflow.Flow.from_state(old_flows.migrate(state))
        except ValueError as error:
            raise exceptions.FlowReadException(error) from error
    except (ValueError, TypeError, IndexError) as error:
        raise exceptions.FlowReadException("Invalid data format.") from error


def _entry(flow: flow.Flow, index: int, source_file: str, wants_body: WantsBody | None) -> Exchange | Skipped:
    from mitmproxy import http

    if isinstance(flow, http.HTTPFlow):
        return _exchange(flow, index, source_file, wants_body)
    return Skipped(index, type(flow).__name__.lower().removesuffix("flow"))


class _Skim(NamedTuple):
    layout: tuple  # version, type, and the keys and value types of the flow, its request and its response
    entry: Exchange | Skipped  # an Exchange without headers and bodies
    request: walk.Span | None = None  # where the request's dict is
    response: walk.Span | None = None  # the response's (None where it is null)


class _Skimmer:
    """Reads flows' entries straight from their bytes, for one dump (whose flows mostly share a few layouts)."""

    def __init__(self, source_file: str):
        self.source_file = source_file
        self.flow_shapes = walk.Shapes(frozenset({"version", "type", "metadata", "request", "response", "error"}))
        self.error_shapes = walk.Shapes(frozenset({"msg"}))
        self.request_shapes = walk.Shapes(
            frozenset(
                {"method", "scheme", "host", "port", "path", "authority", "http_version", "headers", "timestamp_start"}
            )
        )
        self.response_shapes = walk.Shapes(frozenset({"status_code", "timestamp_start", "timestamp_end"}))

    def skim(self, payload: bytes, index: int) -> _Skim | None:
        """The flow's entry, or None where it would not be exactly what mitmproxy gives: another flow format, a
        field missing or of an odd type, bytes that are not well-formed."""
        try:
            return self._skim(payload, index)
        except (KeyError, ValueError):  # UnicodeError is a ValueError
            return None

    def _skim(self, payload: bytes, index: int) -> _Skim | None:
        flow_layout, top = self.flow_shapes.match(payload, (payload[-1], 0, len(payload) - 1))
        version, kind = _scalar(payload, top["version"], int), _scalar(payload, top["type"], str)
        if version not in _SKIMMED_VERSIONS:
            return None
        if version < 12 and not _is_empty_dict(top["metadata"]):
            return None  # metadata may flag a WebSocket flow, which the 11 -> 12 migration merges with its handshake
        if kind != "http":
            return _Skim((version, kind, flow_layout), Skipped(index, kind))
        request_layout, request = self.request_shapes.match(payload, top["request"])
        error_layout, error = None, None
        if top["error"][0] != walk.NULL:
            error_layout, fields = self.error_shapes.match(payload, top["error"])
            error = _scalar(payload, fields["msg"], str, bytes)
            error = _text(error.decode("utf-8", "surrogateescape") if isinstance(error, bytes) else error)
        response_layout, response = None, None
        if top["response"][0] != walk.NULL:
            response_layout, response = self.response_shapes.match(payload, top["response"])

        host = _scalar(payload, request["host"], str, bytes)
        authority = _scalar(payload, request["authority"], bytes) if "authority" in request else b""  # from v9 on
        host = _pretty_host(
            host.decode("idna") if isinstance(host, bytes) else host,  # as mitmproxy's Request() does
            authority,
            _scalar(payload, request["http_version"], bytes),
            _host_headers(payload, request["headers"]),
        )
        request_start = _scalar(payload, request["timestamp_start"], int, float)
        status = response_start = response_end = None
        if response_layout:  # mitmproxy takes an empty response for none
            status = _scalar(payload, response["status_code"], int)
            response_start = _scalar(payload, response["timestamp_start"], int, float, type(None))
            response_end = _scalar(payload, response["timestamp_end"], int, float, type(None))
            if response_start is None and version < 14:
                return None  # the 13 -> 14 migration makes up the response's timestamps
        target = _text(_scalar(payload, request["path"], bytes).decode("utf-8", "surrogateescape"))
        path, _, query = target.partition("?")
        exchange = Exchange(
            source_file=self.source_file,
            source_entry=index,
            captured_at=_utc(next(filter(None, (response_end, response_start, request_start)), None)),
            sent_at=_utc(request_start),
            method=_text(_scalar(payload, request["method"], bytes).decode("utf-8", "surrogateescape")).upper(),
            scheme=_text(_scalar(payload, request["scheme"], bytes).decode("utf-8", "surrogateescape")),
            host=_text(host.lower()),
            port=_scalar(payload, request["port"], int),
            path=path,
            query=query,
            status=status,
            request_headers=(),
            response_headers=(),
            request_body=None,
            body=None,
            error=error,
        )
        response_span = top["response"] if top["response"][0] != walk.NULL else None
        return _Skim((version, kind, flow_layout, request_layout, response_layout, error_layout), exchange,
                     top["request"], response_span)

    def whole(self, payload: bytes, skim: _Skim) -> Exchange | None:
        """The skimmed exchange with its headers and bodies, read from the bytes as mitmproxy reads them, or None where
        they are not plainly well-formed (headers that are not pairs of bytes, trailers): mitmproxy then builds the
        flow, and says what is wrong with it."""
        try:
            request = walk.fields(payload, skim.request)  # type: ignore[arg-type]
            response = walk.fields(payload, skim.response) if skim.response else {}  # {}: none, as mitmproxy has it
            request_fields = _header_fields(payload, request["headers"])
            request_content = _scalar(payload, request["content"], bytes, type(None))
            response_fields: tuple[tuple[bytes, bytes], ...] = ()
            response_content = None
            if response:
                response_fields = _header_fields(payload, response["headers"])
                response_content = _scalar(payload, response["content"], bytes, type(None))
            if request["trailers"][0] != walk.NULL or (response and response["trailers"][0] != walk.NULL):
                return None
        except Exception:  # (parsing a header list may meet a RecursionError, say)
            return None
        body, body_error = _response_body(response_content, response_fields) if response else (None, None)
        request_body, request_body_error = _request_body(request_content, request_fields)
        return replace(
            skim.entry,  # type: ignore[arg-type]
            request_headers=_headers(request_fields),
            response_headers=_headers(response_fields),
            request_body=request_body,
            body=body,
            body_error=body_error,
            request_body_error=request_body_error,
        )


def _scalar(data: bytes, span: walk.Span, *types: type) -> object:
    """The value at `span`, which must be of one of `types` (else ValueError)."""
    value = walk.scalar(data, span)
    if not isinstance(value, types):
        raise ValueError(f"expected {types}, got {type(value).__name__}")
    return value


def _header_fields(data: bytes, span: walk.Span) -> tuple[tuple[bytes, bytes], ...]:
    """A message's header list as mitmproxy's `Headers.fields` holds it; ValueError unless it is a list of pairs of
    bytes (which mitmproxy refuses, or reads otherwise)."""
    if span[0] != walk.LIST:
        raise ValueError("headers are not a list")
    fields = tuple(map(tuple, walk.value(data, span)))  # type: ignore[call-overload]
    if not all(len(field) == 2 and type(field[0]) is bytes and type(field[1]) is bytes for field in fields):
        raise ValueError("a header is not a pair of bytes")
    return fields  # type: ignore[return-value]


def _is_empty_dict(span: walk.Span) -> bool:
    tag, start, end = span
    return tag == walk.DICT and start == end


def _host_headers(data: bytes, span: walk.Span) -> list[bytes]:
    """The values of the Host headers in a header list (a list of [name, value] lists of bytes). A Host header holds
    `4:host,` once lower-cased, so the headers after the last such bytes are not looked at. Those bytes are looked for
    again only once the headers read pass them: the list is searched once (looked for from every header, a Host
    header at the end of 50,000 cost 12 s, the square of their number)."""
    tag, start, end = span
    if tag != walk.LIST:
        raise ValueError("headers are not a list")
    lowered = data[start:end].lower()
    values = []
    position = start
    found = lowered.find(b"4:host,")
    while found >= 0:  # each header is `LEN:` `N:name,` `M:value,` `]`
        match = _HEADER_START.match(data, position, end)
        if match is None:
            raise ValueError("a header is not a list")
        header_end = match.end(1) + 1 + int(match[1])
        name_end = match.end() + int(match[2])
        if header_end >= end or data[header_end] != walk.LIST:
            raise ValueError("a header is not a list")
        if name_end - match.end() == 4 and data[match.end() : name_end].lower() == b"host":
            name, (value_tag, value_start, value_end) = walk.items(data, match.end(1) + 1, header_end)
            if name[0] != walk.BYTES or value_tag != walk.BYTES:
                raise ValueError("a header name or value is not bytes")
            values.append(data[value_start:value_end])
        position = header_end + 1
        if found < position - start:
            found = lowered.find(b"4:host,", position - start)
    return values


def _pretty_host(host: str, authority: bytes, http_version: bytes, host_headers: list[bytes]) -> str:
    """What mitmproxy's `Request.pretty_host` gives for these request fields."""
    host_header = ", ".join(value.decode("utf-8", "surrogateescape") for value in host_headers)
    if http_version in (b"HTTP/2.0", b"HTTP/3"):
        try:
            host_header = authority.decode("idna") or host_header
        except UnicodeError:
            host_header = authority.decode("utf8", "surrogateescape") or host_header
    return _authority_host(host_header) if host_header else host


@limits.short_cache(1024)
def _authority_host(authority: str) -> str:
    from mitmproxy.net.http import url

    return url.parse_authority(authority, check=False)[0]


@contextmanager
def _open_dump(path: Path) -> Iterator[io.BufferedReader | gzip.GzipFile]:
    """The dump opened for reading (FlowReader needs `peek`), decompressed if gzipped: to `--max-ratio` times its
    size (`limits.LimitHit` past it)."""
    with open_capture(path) as raw:
        yield decompressed(path, gzip.GzipFile(fileobj=raw)) if raw.peek(2)[:2] == GZIP_MAGIC else raw


def _read_failure(error: Exception) -> str:
    """Why reading stopped, in one line without flow data."""
    if isinstance(error, limits.LimitHit):  # a gzipped dump unpacking to more than --max-ratio allows
        return f"{error}; the rest is not read"
    if isinstance(error, walk.FrameTooLarge) and error.left is not None:
        return (f"cut off or damaged: a flow's length prefix says {error.claimed:,} bytes, {error.left:,} are left: "
                "the rest is unreadable")
    if isinstance(error, walk.FrameTooLarge):
        return f"a flow larger than {limits.size_text(error.allowed or 0)} (4 × --max-body); the rest is not read"
    if isinstance(error, KeyError):
        key = error.args[0] if error.args else "?"
        key = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        return f"cut off or damaged: a flow is missing the key {key[:40]!r}"
    if isinstance(error, EOFError):
        return "cut off"
    if isinstance(error, (zlib.error, gzip.BadGzipFile)):
        return "damaged compressed data"
    reason = str(error).partition("\n")[0].rstrip(".")
    if _VERSION_MESSAGE in reason:
        return reason
    if reason.startswith(_PLAIN_READER_MESSAGES):
        return f"cut off or damaged: {reason[:80]}"
    return f"cut off or damaged: invalid flow data ({type(error).__name__})"


def _exchange(flow: http.HTTPFlow, index: int, source_file: str, wants_body: WantsBody | None) -> Exchange:
    request, response = flow.request, flow.response
    host = _text(request.pretty_host.lower())  # the Host / :authority header's name where the URL holds an IP
    full = wants_body is None or wants_body(host)
    path, _, query = _text(request.path).partition("?")
    timestamps = (response.timestamp_end, response.timestamp_start) if response else ()
    body = body_error = request_body = request_body_error = None
    if response and full:
        body, body_error = _response_body(response.raw_content, response.headers.fields)
    if full:
        request_body, request_body_error = _request_body(request.raw_content, request.headers.fields)
    return Exchange(
        source_file=source_file,
        source_entry=index,
        captured_at=_utc(next(filter(None, (*timestamps, request.timestamp_start)), None)),
        sent_at=_utc(request.timestamp_start),
        method=_text(request.method).upper(),
        scheme=_text(request.scheme),
        host=host,
        port=request.port,
        path=path,
        query=query,
        status=response.status_code if response else None,
        request_headers=_headers(request.headers.fields) if full else (),
        response_headers=_headers(response.headers.fields) if response and full else (),
        request_body=request_body,
        body=body,
        body_error=body_error,
        request_body_error=request_body_error,
        error=_text(flow.error.msg) if flow.error else None,
    )


def _text(value: str) -> str:
    """A request field as mitmproxy gives it (bytes that are not UTF-8 held as lone surrogates, by surrogateescape)
    with each lone surrogate as U+FFFD, as the HAR reader has them: no table or report.json can hold a surrogate."""
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


Fields = tuple[tuple[bytes, bytes], ...]  # a message's headers, as mitmproxy's `Headers.fields`


def _response_body(raw: bytes | None, fields: Fields) -> tuple[bytes | None, str | None]:
    """(body, body_error): the body decoded per Content-Encoding (gzip, deflate, br, zstd…), and gunzipped where it
    is gzip under none (a proxy or an app that took the header off), as the HAR reader reads it; within the
    limits."""
    try:
        body = _content(raw, fields)
        if body is not None and body.startswith(GZIP_MAGIC) and _encoding(fields).strip().lower() in ("", "identity"):
            body = limits.gunzip(body)
        return body, None
    except ValueError as error:  # limits.LimitHit too; both say why in plain words
        return None, str(error)


def _request_body(raw: bytes | None, fields: Fields) -> tuple[bytes | None, str | None]:
    """(request body, None): the body decoded per Content-Encoding, as it is where it does not decode; (None, why)
    over a limit."""
    try:
        return _content(raw, fields), None
    except limits.LimitHit as hit:
        return None, f"request {hit}"
    except ValueError:
        return raw, None


def _decoded(message: http.Message) -> bytes | None:
    """What mitmproxy's `message.content` gives, decoded by `limits.decompress` rather than all at once."""
    return _content(message.raw_content, message.headers.fields)


def _content(raw: bytes | None, fields: Fields) -> bytes | None:
    """`_decoded` for a message's raw content and headers (`headers.fields`)."""
    if raw is None:
        return None
    return limits.decompress(raw, _encoding(fields) or "identity")


def _encoding(fields: Fields) -> str:
    """`headers.get("content-encoding")`: every such header's value, joined."""
    return ", ".join(value.decode("utf-8", "surrogateescape") for name, value in fields
                     if name.lower() == b"content-encoding")


def _headers(fields: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("utf-8", "replace"), value.decode("utf-8", "replace")) for name, value in fields)


def _utc(timestamp: float | None) -> datetime | None:
    """A Unix timestamp as an aware UTC datetime; None if absent (mitmproxy writes 0 for unknown) or out of range."""
    if not timestamp:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
