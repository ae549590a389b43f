"""Stream the flows of a mitmproxy dump (plain or gzipped) as `Exchange`s, via mitmproxy's own FlowReader."""

from __future__ import annotations

import gzip
import io
import zlib
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from . import CaptureError, Exchange, Item, Skipped, WantsBody
from .bodies import GZIP_MAGIC, decode_failure

if TYPE_CHECKING:
    from mitmproxy import http

# Messages of mitmproxy's that carry no flow data; its others may quote the flow's state (headers, bodies).
_PLAIN_READER_MESSAGES = ("Invalid data format", "Unknown flow type")
_VERSION_MESSAGE = "cannot read files with flow format version"


def read_flows(path: Path, source_file: str, wants_body: WantsBody | None = None) -> Iterator[Item]:
    """Yield an `Exchange` per HTTP flow and a `Skipped` per other flow (kind "tcp", "udp", "dns"…), in file order,
    then a `CaptureError` if the dump cannot be read to its end (cut off, damaged, or a format mitmproxy refuses)."""
    from mitmproxy import exceptions, http
    from mitmproxy import io as mio

    read_errors = (
        exceptions.FlowReadException,
        KeyError,  # mitmproxy lets these through bare on damaged dumps
        ValueError,
        IndexError,
        TypeError,
        EOFError,  # gzipped dump cut off
        zlib.error,
        gzip.BadGzipFile,
    )
    with _open_dump(path) as dump:
        flows = iter(mio.FlowReader(dump).stream())
        flows_read = 0
        while True:
            try:
                flow = next(flows)
            except StopIteration:
                return
            except read_errors as error:
                yield CaptureError(f"{_read_failure(error)}; flows read: {flows_read}", flows_read)
                return
            if isinstance(flow, http.HTTPFlow):
                yield _exchange(flow, flows_read, source_file)
            else:
                yield Skipped(flows_read, type(flow).__name__.lower().removesuffix("flow"))
            flows_read += 1


@contextmanager
def _open_dump(path: Path) -> Iterator[io.BufferedReader | gzip.GzipFile]:
    """The dump opened for reading, decompressed if gzipped (FlowReader needs `peek`, which both have)."""
    with open(path, "rb") as raw:
        yield gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == GZIP_MAGIC else raw


def _read_failure(error: Exception) -> str:
    """Why reading stopped, in one line without flow data."""
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


def _exchange(flow: http.HTTPFlow, index: int, source_file: str) -> Exchange:
    request, response = flow.request, flow.response
    path, _, query = request.path.partition("?")
    timestamps = (response.timestamp_end, response.timestamp_start) if response else ()
    body, body_error = _response_body(response) if response else (None, None)
    return Exchange(
        source_file=source_file,
        source_entry=index,
        captured_at=_utc(next(filter(None, (*timestamps, request.timestamp_start)), None)),
        method=request.method.upper(),
        scheme=request.scheme,
        host=request.pretty_host.lower(),  # the Host / :authority header's name where the URL holds an IP
        port=request.port,
        path=path,
        query=query,
        status=response.status_code if response else None,
        request_headers=_headers(request.headers.fields),
        response_headers=_headers(response.headers.fields) if response else (),
        request_body=request.get_content(strict=False),
        body=body,
        body_error=body_error,
    )


def _response_body(response: http.Response) -> tuple[bytes | None, str | None]:
    """(body, body_error): the body decoded per Content-Encoding (gzip, deflate, br, zstd…)."""
    try:
        return response.content, None
    except ValueError as error:
        # mitmproxy's message quotes the body's first bytes; the error it wraps does not.
        encoding = response.headers.get("content-encoding", "")
        return None, decode_failure(encoding, error.__context__ or error)


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
