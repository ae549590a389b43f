"""Capture readers: HAR files and mitmproxy flow dumps, each turned into a stream of `Exchange` records.

A reader is a generator over one file. It yields, in file order:
- `Exchange` for every HTTP request/response pair (a response may be missing, and parts of a damaged entry),
- `Skipped` for every entry that is not HTTP (TCP, UDP, DNS flows…) or that cannot be read as an exchange at all
  (with its reason: what goes wrong in one entry costs that entry alone),
and, if the file cannot be read to its end, one final `CaptureError` (errors are values, not exceptions):
everything yielded before it is good and is kept.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Literal

from ..limits import LimitHit, Limits, current, size_text

Format = Literal["har", "flow", "json"]  # "json": a response saved on its own, not a capture


@dataclass(slots=True)
class Exchange:
    """One HTTP request and its response, as captured, with where it came from."""

    source_file: str  # the path as given to the reader
    source_entry: int  # 0-based index of the entry (HAR) or flow (mitmproxy) in the file
    captured_at: datetime | None  # when the response arrived (else the request was sent), tz-aware UTC
    method: str  # upper case
    scheme: str  # "https", "http"
    host: str  # lower case, no port; the Host header's name where the URL holds an IP (transparent mode)
    port: int | None
    path: str  # as on the wire (still percent-encoded), without the query
    query: str  # as on the wire, without the "?"
    status: int | None  # None when no response was captured
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    body: bytes | None  # the response body, decoded per Content-Encoding / base64; None when not captured
    body_error: str | None = None  # why the body could not be decoded (then `body` is None)
    request_body_error: str | None = None  # why the request body was not read, a limit (then `request_body` is None)
    error: str | None = None  # the capture's own word on why the exchange failed (mitmproxy's flow error, HAR `_error`)
    damaged: str | None = None  # what of the entry could not be read (its headers or body are then partly missing)
    left_out: str | None = None  # a limit that left out parts of the entry that the exchange is not read from
    mime_type: str | None = None  # the body's media type as the capture gives it beside the headers (HAR's mimeType)
    # When the request was sent, tz-aware UTC: the one time HAR (startedDateTime) and a flow both record, so that the
    # same exchange captured both ways gives records stamped by it (a reading without a time of its own) one time
    sent_at: datetime | None = None
    # The reading process found `body` JSON text within the limits' depth and values (`limits.check_json`): a decoder
    # parses it without checking it again.
    json_checked: bool = field(default=False, compare=False)

    def response_header(self, name: str) -> str | None:
        """The first response header of that name (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == name), None)

    def content_type(self) -> str | None:
        """The Content-Type header, or where the capture has none, the media type it gives the body."""
        return self.response_header("content-type") or self.mime_type


# Why no response was captured, from the capture's error message: (reason, words that tell it), first match wins.
_NO_RESPONSE_REASONS = (
    ("connection refused", ("refused",)),
    ("TLS handshake failed", ("tls", "ssl", "certificate", "handshake")),
    ("timed out", ("timed out", "timeout")),
    ("server not reached", ("connect call failed", "unreachable", "no route", "getaddrinfo", "name or service",
                            "name resolution", "nodename", "dns", "connect to")),
    ("connection closed", ("closed", "reset", "disconnect", "eof", "broken pipe")),
    ("killed", ("killed",)),
)


def no_response_reason(error: str | None) -> str:
    """Why an exchange has no response, in a few fixed words (never the capture's own text, which may quote hosts
    and addresses): "connection refused", "TLS handshake failed", …, "other error", or "none captured" without an
    error."""
    if not error:
        return "none captured"
    lowered = error.lower()
    return next((reason for reason, words in _NO_RESPONSE_REASONS if any(w in lowered for w in words)), "other error")


@dataclass(slots=True, frozen=True)
class Skipped:
    """An entry of the capture that is not an HTTP exchange (e.g. a TCP or DNS flow), or that could not be read as
    one (then `reason` says why)."""

    source_entry: int
    kind: str  # "tcp", "udp", "dns", …; "unreadable" (a flow), "malformed", "too deep" (a HAR entry) with a reason
    reason: str | None = None  # why an entry that may be HTTP was not read (a limit it hit…): plain words


@dataclass(slots=True, frozen=True)
class CaptureError:
    """The capture could not be read to its end. `entries_read` entries were yielded before the problem."""

    message: str  # one line, plain words, no secrets
    entries_read: int


Item = Exchange | Skipped | CaptureError


# Names that say "a capture": such a file that is not one is `failed` even when found in a folder (a stray file of
# another name found there is `skipped`); `.json` only when named on the command line.
CAPTURE_SUFFIXES = frozenset({".har", ".harp", ".zhar", ".flow", ".mitm", ".dump"})


def named_like_capture(path: Path) -> bool:
    """Whether the file's name (an archive member's too) ends like a capture's (`.har`, `.flow.gz`…)."""
    return bool(CAPTURE_SUFFIXES & {s.lower() for s in Path(str(path)).suffixes[-2:]})


def claims_capture(inp) -> bool:
    """Whether an input (`pipeline.Input`) is meant to be a capture: named on the command line, or named like one."""
    return inp.explicit or named_like_capture(inp.path)


def is_pipe(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(path.stat().st_mode)
    except OSError:
        return False


def spool_pipe(path: Path, folder: Path, budget: Limits | None = None) -> tuple[Path | None, str | None]:
    """(the file in `folder` holding what the pipe at `path` gives, None) or (None, why not): a pipe (`<(cat x.har)`,
    a named pipe) is read once, as `-` is, since readers look at a capture's first bytes, then read it from its
    start. A named pipe nothing writes into is refused rather than waited on for ever, and one that gives more than
    `piped_limit` is read no further."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return None, f"cannot read the file: {e.strerror or e}"
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        first = pipe.read(1 << 16)  # None: a writer, nothing written yet; b"": no writer
        if first == b"":
            return None, "a named pipe that nothing writes into: not read"
        os.set_blocking(fd, True)
        try:
            return spool(pipe, folder, "pipe-", first or b"", piped_limit(budget)), None
        except LimitHit as hit:
            return None, str(hit)


class _ReadFailed(Exception):
    """Reading what is spooled failed (not writing it): the OSError as it came, in `args[0]`."""


def piped_limit(budget: Limits | None = None) -> int:
    """Bytes of a capture piped in (`-`, `<(cat x.har)`) read at most: as many as one member of an archive may
    unpack to (`max_member`); `yes | databack convert -` filled the disk."""
    return (budget or current()).max_member


def spool(source: BinaryIO, folder: Path, prefix: str, first: bytes = b"", most: int | None = None) -> Path:
    """`first`, then all `source` gives, saved into a new file in `folder` (OUT's work folder: readers need to
    seek). A write that fails there (a full disk) is `spill.SpillFailed`, which stops the run in one line, as rows
    that cannot go to disk do; a read that fails is the OSError it raised; more than `most` bytes is `LimitHit`,
    the file removed and `source` read no further."""
    from .. import store
    from ..spill import SpillFailed

    def chunks() -> Iterator[bytes]:
        yield first
        while True:
            try:
                chunk = source.read(1 << 20)
            except OSError as e:
                raise _ReadFailed(e) from None
            if not chunk:
                return
            yield chunk

    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".capture", dir=folder)
        with os.fdopen(fd, "wb") as f:
            written = 0
            for chunk in chunks():
                written += len(chunk)
                if most is not None and written > most:
                    f.close()
                    os.unlink(name)
                    raise LimitHit(f"a capture piped in larger than {size_text(most)}: read no further "
                                   "(--max-member)")
                f.write(chunk)
    except _ReadFailed as e:
        raise e.args[0] from None
    except OSError as e:
        raise SpillFailed(store.reason(e, folder) or str(e)) from None
    return Path(name)


def open_capture(path: Path) -> BinaryIO:
    """A capture's bytes, buffered (`peek` works): a file's, or a zip or tar member's (`archives.ArchiveMember`)."""
    return open(path, "rb") if isinstance(path, (str, os.PathLike)) else path.open("rb")


def decompressed(path: Path, stream: BinaryIO) -> BinaryIO:
    """A compressed capture's bytes as its decompressing `stream` gives them, no more of them than `--max-ratio`
    times the capture's size as stored (a file's, an archive member's) allows (`limits.Decompressed`)."""
    from .. import limits

    size = (os.stat(path) if isinstance(path, (str, os.PathLike)) else path.stat()).st_size
    return limits.Decompressed(stream, size)  # type: ignore[return-value]


def detect_format(path: Path) -> Format | None:
    """Tell a HAR from a mitmproxy flow dump by the first bytes of the file, not its name."""
    from .sniff import sniff_format

    return sniff_format(path)


def reading_cost(path: Path) -> int:
    """About how much work reading the capture is, to start the costliest first: its size, a flow dump's counted
    twice (reading one takes about twice as long a byte as a HAR: mitmproxy builds its device flows); 0 if the file
    cannot be read. A compressed tar's members each cost the archive's size, so that they start in archive order
    (each process reads on from where it left the archive: `archives._Cursors`)."""
    try:
        if getattr(path, "compression", None):  # a compressed tar's member: all of them as one, in archive order
            return path.archive.stat().st_size  # type: ignore[attr-defined]
        if not stat.S_ISREG(path.stat().st_mode):  # a pipe or a device is never opened here
            return 0
        return path.stat().st_size * (2 if detect_format(path) == "flow" else 1)
    except OSError:
        return 0


WantsBody = Callable[[str], bool]  # host -> whether that exchange's headers and body are needed


def read_capture(
    path: Path, fmt: Format | None = None, *, display_name: str | None = None, wants_body: WantsBody | None = None
) -> Iterator[Item]:
    """Stream the items of one capture file. `display_name` is written as `source_file` (default: `str(path)`).

    With `wants_body`, exchanges whose host it refuses are yielded without headers and body (empty tuples and
    None), so readers can skip decoding what nobody will look at; every other field is filled as usual."""
    fmt = fmt or detect_format(path)
    name = display_name or str(path)
    if fmt == "har":
        from .har import read_har

        return read_har(path, name, wants_body)
    if fmt == "flow":
        from .flow import read_flows

        return read_flows(path, name, wants_body)
    return iter([CaptureError("not a HAR file or a mitmproxy flow dump", 0)])
