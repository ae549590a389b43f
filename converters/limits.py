"""The resource budget: how much one capture may make databack hold, whoever wrote it.

Captures come from participants: untrusted. Every limit below has a default, an option of `convert`, `inspect` and
`scrub` to raise it (`LIMIT_OPTIONS`), and a row in the README. A limit that is hit costs the one body, entry or
flow it concerns (a reject or a counted entry whose reason names the limit and its option); the rest of the file
is read on. Limits are checked before the work they bound is done: bodies are decompressed in pieces up to the
limit, base64 measured before it is decoded, JSON's nesting counted from its bytes before any parser builds a level
of it, a flow's length prefix weighed against what is left of the file.

The limits of a run are `Limits`, handed to the library's entry points (`Input.limits`, `scrub_capture`) and
`applied` around the work on one file; readers and decoders ask for the `current()` ones.
"""

from __future__ import annotations

import re
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import accumulate
from typing import Callable, Iterator

MiB, GiB = 1 << 20, 1 << 30
STRUCTURE_DEPTH = 1024  # levels of a capture's own JSON (a HAR file): as deep as orjson parses, never raised
RATIO_FLOOR = 1 * MiB  # a body decoded to no more than this is never refused for its ratio
_PIECE = 1 * MiB  # decompressed per step
REJECT_BODY = 1 * MiB  # what a reject keeps of a body at most


@dataclass(frozen=True, slots=True)
class Limits:
    """The budget of a run (defaults: `DEFAULT`)."""

    max_body: int = 64 * MiB  # bytes of one body once decoded (decompressed, base64 undone), or read whole
    max_ratio: int = 250  # bytes a compressed body may decompress to per compressed byte (beyond RATIO_FLOOR)
    max_depth: int = 100  # levels of JSON objects and arrays, counted from the top of the document
    max_json_values: int = 1_000_000  # values (objects, arrays, items and members) of one JSON body or entry

    @property
    def max_flow(self) -> int:
        """Bytes of one flow of a dump: four times `max_body` (its request and response, headers, metadata)."""
        return 4 * self.max_body + MiB


DEFAULT = Limits()
# The option that raises each limit, and what it is called in reasons and the README.
LIMIT_OPTIONS = {
    "max_body": "--max-body",
    "max_ratio": "--max-ratio",
    "max_depth": "--max-depth",
    "max_json_values": "--max-json-values",
}


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What a zip or tar archive of captures may hold (`captures/archives.py`); its members' ratio is `max_ratio`.
    Past any of them the archive, or the member, is refused with a message naming the limit."""

    members: int = 10_000  # members listed (files, folders, links)
    member_bytes: int = 16 << 30  # one member, decompressed
    total_bytes: int = 64 << 30  # all members together, decompressed


ARCHIVES = ArchiveLimits()

_current: ContextVar[Limits] = ContextVar("limits", default=DEFAULT)


def current() -> Limits:
    """The limits of the work going on (`DEFAULT` outside `applied`)."""
    return _current.get()


@contextmanager
def applied(limits: Limits | None) -> Iterator[Limits]:
    """Make `limits` the `current()` ones for the block (None: leave them as they are)."""
    if limits is None:
        yield current()
        return
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)


class LimitHit(ValueError):
    """A limit was hit; the message names it and the option that raises it, and quotes nothing of the capture."""


_NAMES_A_LIMIT = re.compile(r"\((?:\d+ × )?--max-[a-z-]+\)")


def names_a_limit(reason: str) -> bool:
    """Whether a reason (a reject's, a skipped entry's) is a limit hit, as `LimitHit` words them."""
    return _NAMES_A_LIMIT.search(reason) is not None or reason.startswith(STRUCTURE_TOO_DEEP)


STRUCTURE_TOO_DEEP = f"HAR structure nested deeper than {STRUCTURE_DEPTH} levels"


def size_text(n: int) -> str:
    """A byte count as the README and the options write it: `64 MiB`, `1.5 GiB`, `512 bytes`."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def parse_size(text: str) -> int:
    """`64MiB`, `64M`, `1.5 GiB`, `100000` (bytes) as a byte count; ValueError for anything else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if m is None:
        raise ValueError(f"not a size: {text!r} (e.g. 256MiB, 1GiB, 1000000)")
    return int(float(m[1]) * (1 << (10 * "kmgt".find(m[2]) + 10) if m[2] else 1))


def body_too_large(limits: Limits, how: str = "once decompressed") -> LimitHit:
    return LimitHit(f"body larger than {size_text(limits.max_body)} {how} (--max-body)".replace("  ", " "))


def _ratio_too_large(limits: Limits) -> LimitHit:
    return LimitHit(f"body decompresses to more than {limits.max_ratio} times its compressed size (--max-ratio)")


# --- bodies ----------------------------------------------------------------------------------------------------


def decompress(data: bytes, encoding: str, limits: Limits | None = None) -> bytes:
    """`data` decoded per a Content-Encoding (`gzip`, `x-gzip`, `deflate`, `br`, `zstd`, `identity`, or a list of
    them, applied last first), in pieces, never holding more than `max_body` of output or more than `max_ratio` times
    the input (beyond `RATIO_FLOOR`). Raises `LimitHit`, or ValueError (`could not decode br body: …`) for damaged
    data or an unknown encoding."""
    limits = limits or current()
    for name in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        if name in ("identity", "none"):
            continue
        decoder = _DECODERS.get(name)
        if decoder is None:
            raise ValueError(f"could not decode {name[:40]} body: unknown content encoding")
        data = _decoded(name, decoder, data, limits)
    if len(data) > limits.max_body:  # identity
        raise body_too_large(limits, "")
    return data


def gunzip(data: bytes, limits: Limits | None = None) -> bytes:
    """`data` gunzipped, under the same limits as `decompress`; a stream cut off is an error."""
    return _decoded("gzip", _zlib(31, strict=True), data, limits or current())


def _decoded(name: str, decoder: Callable[[bytes], Pieces], data: bytes, limits: Limits) -> bytes:
    try:
        return _bounded(decoder(data), len(data), limits)
    except LimitHit:
        raise
    except Exception as error:  # zlib.error, brotli.error, zstd.ZstdError, EOFError
        reason = str(error).partition("\n")[0] or type(error).__name__
        raise ValueError(f"could not decode {name} body: {reason}") from error


Pieces = Iterator[bytes]  # output pieces of a decompressor, each at most about _PIECE bytes


def _bounded(pieces: Pieces, compressed: int, limits: Limits) -> bytes:
    out = bytearray()
    for piece in pieces:
        out += piece
        if len(out) > limits.max_body:
            raise body_too_large(limits)
        if len(out) > RATIO_FLOOR and len(out) > limits.max_ratio * compressed:
            raise _ratio_too_large(limits)
    return bytes(out)


def _zlib(wbits: int, strict: bool = False) -> Callable[[bytes], Pieces]:
    """zlib's formats; a gzip stream's members one after another. Not `strict`: a stream cut off gives what it holds
    (as mitmproxy reads bodies)."""

    def pieces(data: bytes) -> Pieces:
        while True:
            inflater = zlib.decompressobj(wbits)
            yield inflater.decompress(data, _PIECE)
            while inflater.unconsumed_tail and not inflater.eof:
                yield inflater.decompress(inflater.unconsumed_tail, _PIECE)
            if strict and not inflater.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            yield inflater.flush()
            data = inflater.unused_data
            if not (inflater.eof and data.startswith(b"\x1f\x8b")):
                return

    return pieces


def _deflate(data: bytes) -> Pieces:
    """zlib-wrapped deflate, or raw deflate from servers that send it so (as mitmproxy reads them)."""
    try:
        zlib.decompressobj(15).decompress(data[:64], 1)  # its first bytes are a zlib header, or not
        wbits = 15
    except zlib.error:
        wbits = -15
    return _zlib(wbits)(data)


def _brotli(data: bytes) -> Pieces:
    import brotli

    decompressor = brotli.Decompressor()
    yield decompressor.process(data, output_buffer_limit=_PIECE)
    while not decompressor.can_accept_more_data():
        yield decompressor.process(b"", output_buffer_limit=_PIECE)
    if not decompressor.is_finished():
        raise EOFError("the data ends before the stream does")


def _zstd(data: bytes) -> Pieces:
    try:
        from compression import zstd  # Python 3.14
    except ImportError:
        from backports import zstd
    while data:  # a frame after another (as zstd.decompress reads them)
        decompressor = zstd.ZstdDecompressor()
        yield decompressor.decompress(data, _PIECE)
        while not decompressor.eof and not decompressor.needs_input:
            yield decompressor.decompress(b"", _PIECE)
        if not decompressor.eof:
            raise EOFError("the data ends before the frame does")
        data = decompressor.unused_data


_DECODERS: dict[str, Callable[[bytes], Pieces]] = {
    "gzip": _zlib(47),  # gzip or zlib, told by the header (as mitmproxy)
    "x-gzip": _zlib(47),
    "deflate": _deflate,
    "deflateraw": _zlib(-15),
    "br": _brotli,
    "zstd": _zstd,
}


def check_base64(text: str, limits: Limits | None = None) -> None:
    """Raise `LimitHit` when base64 `text` would decode to more than `max_body` (measured, not decoded)."""
    limits = limits or current()
    if len(text) > (limits.max_body + 2) // 3 * 4:
        characters = len(text) - sum(text.count(space) for space in "\r\n \t")  # base64 wrapped in lines
        if characters > (limits.max_body + 2) // 3 * 4:
            raise body_too_large(limits, "once decoded from base64")


def reject_body(body: bytes | None, reason: str) -> tuple[bytes | None, str]:
    """The body and reason a `rejects` row keeps: at most the body's first `REJECT_BODY` bytes (the redaction policy
    parses what it redacts, and a table of whole 64 MiB bodies would cost more than the limits spare), the reason
    saying so when the body is cut."""
    if body is None or len(body) <= REJECT_BODY:
        return body, reason
    return body[:REJECT_BODY], f"{reason}; body cut to its first {size_text(REJECT_BODY)}"


def check_size(size: int, limits: Limits | None = None) -> None:
    """Raise `LimitHit` for a body (or a saved response) of more than `max_body` bytes."""
    limits = limits or current()
    if size > limits.max_body:
        raise body_too_large(limits, "")


# --- JSON ------------------------------------------------------------------------------------------------------

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{},"')  # what the gauge reads of JSON text
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes
_SQUARE = bytes.maketrans(b"{}", b"[]")


class JsonGauge:
    """Counts the nesting depth and the values of JSON text fed to it in pieces, from its bytes alone (no parser),
    and raises `LimitHit` as soon as either passes its limit. Costs about a millisecond a megabyte (C-level byte
    operations on the brackets, commas and quotes alone; brackets are summed only where a piece could reach the
    limit). Text that is no JSON is counted somehow and left to the parser to refuse."""

    def __init__(self, limits: Limits | None = None, depth: int = 0, too_deep: str | None = None):
        self.limits = limits or current()
        self._too_deep = too_deep or f"JSON nested deeper than {self.limits.max_depth} levels (--max-depth)"
        self.depth = depth  # levels open where the text fed so far ends
        self.values = 0
        self._in_string = False
        self._backslash = b""  # a backslash at the end of the last piece, escaping the first byte of the next

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        data = self._backslash + bytes(data)
        trailing = len(data) - len(data.rstrip(b"\\")) if data.endswith(b"\\") else 0
        self._backslash = b"\\" if trailing % 2 else b""
        if trailing:
            data = data[:-trailing]
        if b"\\" in data:  # escapes: what is left of a run of backslashes pairs up
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        self.read_structure(data.translate(None, _NOT_STRUCTURE))

    def read_structure(self, kept: bytes) -> None:
        """Go on with text of which only the brackets, commas and quotes are left, its escaped quotes taken out."""
        kept = kept.replace(b'""', b"")  # a string without brackets or commas: the other quotes keep their place
        pieces = kept.split(b'"')  # the quotes left begin and end strings
        structure = b"".join(pieces[self._in_string :: 2])
        self._in_string ^= len(pieces) % 2 == 0
        brackets = structure.translate(None, _NOT_BRACKETS)
        opens = brackets.count(b"[") + brackets.count(b"{")
        self.values += opens + structure.count(b",")
        if self.values > self.limits.max_json_values:
            raise LimitHit(f"JSON of more than {self.limits.max_json_values:,} values (--max-json-values)")
        if self.depth + opens > self.limits.max_depth and not self._shallow(brackets):
            with memoryview(brackets.translate(_STEPS)) as steps, steps.cast("b") as signed:
                if max(accumulate(signed, initial=self.depth)) > self.limits.max_depth:
                    raise LimitHit(self._too_deep)
        self.depth += 2 * opens - len(brackets)

    def _shallow(self, brackets: bytes) -> bool:
        """Whether `brackets` surely stay within the depth limit, found without summing them one by one: each pass
        takes out the innermost pairs, and no bracket is deeper than the levels open before it, the passes, and
        the brackets left open."""
        nested, passes = brackets.translate(_SQUARE), 0
        while b"[]" in nested:
            nested, passes = nested.replace(b"[]", b""), passes + 1
            if self.depth + passes > self.limits.max_depth:
                return False
        return self.depth + passes + nested.count(b"[") <= self.limits.max_depth


def check_json(data: bytes | bytearray, limits: Limits | None = None, depth: int = 0) -> None:
    """Raise `LimitHit` when UTF-8 JSON text nests deeper than `max_depth` (counting `depth` levels around it) or
    holds more than `max_json_values` values."""
    limits = limits or current()
    if b"\\" in data:  # escapes are taken out of the text first
        JsonGauge(limits, depth).feed(data)
        return
    kept = data.translate(None, _NOT_STRUCTURE)
    opens = kept.count(b"[") + kept.count(b"{")  # strings' brackets and commas too: an upper bound
    if depth + opens > limits.max_depth or opens + kept.count(b",") > limits.max_json_values:
        JsonGauge(limits, depth).read_structure(kept)


class GaugedReader:
    """A capture's JSON (a HAR file) read through a `JsonGauge` counting its depth alone, to `STRUCTURE_DEPTH` (as
    deep as its entries are parsed in runs; values are bounded per body, not for a whole file): the read that brings
    text nested deeper raises `LimitHit` before a parser reading through this (ijson) builds a level of it."""

    def __init__(self, source: object):
        self._read = source.read  # type: ignore[attr-defined]
        self._gauge = JsonGauge(Limits(max_depth=STRUCTURE_DEPTH, max_json_values=1 << 62), 0, STRUCTURE_TOO_DEEP)

    def read(self, size: int = -1) -> bytes:
        block = self._read(size)
        self._gauge.feed(block)
        return block
