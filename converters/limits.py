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

import json
import re
import sys
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache, wraps
from itertools import accumulate
from typing import Callable, Iterator

MiB, GiB = 1 << 20, 1 << 30
STRUCTURE_DEPTH = 1024  # most levels of a capture's own JSON (a HAR file) read: as deep as orjson parses
STRUCTURE_FLOOR = 16  # fewest levels of a capture's own JSON read, whatever --max-depth says (HAR itself needs 6)
RATIO_FLOOR = 1 * MiB  # a body decoded to no more than this is never refused for its ratio
_PIECE = 1 * MiB  # decompressed per step
_FIRST_STEP = 32  # compressed bytes handed to a decompressor first (`_steps`)
REJECT_BODY = 1 * MiB  # what a reject keeps of a body at most


@dataclass(frozen=True, slots=True)
class Limits:
    """The budget of a run (defaults: `DEFAULT`)."""

    max_body: int = 64 * MiB  # bytes of one body once decoded (decompressed, base64 undone), or read whole
    max_ratio: int = 250  # bytes a compressed body may decompress to per compressed byte (beyond RATIO_FLOOR)
    max_depth: int = 100  # levels of JSON objects and arrays, counted from the top of the document
    max_json_values: int = 1_000_000  # values (objects, arrays, items and members) of one JSON body or entry, or flow
    # a zip or tar archive of captures (`captures/archives.py`; its members' ratio is `max_ratio`)
    max_members: int = 10_000  # members listed (files, folders, links)
    max_member: int = 16 * GiB  # one member, decompressed
    max_archive: int = 64 * GiB  # all members together, decompressed

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
    "max_members": "--max-members",
    "max_member": "--max-member",
    "max_archive": "--max-archive",
}

_current: ContextVar[Limits] = ContextVar("limits", default=DEFAULT)

CACHED_TEXT = 256  # characters of a text argument that `short_cache` keeps at most


def short_cache(maxsize: int) -> Callable[[Callable], Callable]:
    """`functools.lru_cache(maxsize)` for what is judged once per text of a capture (a path's template, a host, a
    name's class), holding only calls whose every text argument is at most `CACHED_TEXT` characters: a longer one
    is judged each time, never kept (its work is its length's anyway). Caches of whole texts were bounded by their
    count alone: 65,536 requests, each to a path of its own 16 KB long (a 5 MB .har.gz), made inspect hold 1.17 GB."""

    def wrap(function: Callable) -> Callable:
        cached = lru_cache(maxsize=maxsize)(function)

        if function.__code__.co_argcount == 1:  # (most of them: a call costs a length more, not a loop)
            def call(text):
                return function(text) if len(text) > CACHED_TEXT else cached(text)
        else:
            def call(*args):
                for arg in args:
                    if type(arg) is str and len(arg) > CACHED_TEXT:
                        return function(*args)
                return cached(*args)
        call = wraps(function)(call)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call

    return wrap


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


class TooManyValues(LimitHit):
    """An item of a capture's JSON (a HAR entry) holds more values than `--max-json-values` allows: not built."""


_NAMES_A_LIMIT = re.compile(r"\((?:\d+ × )?--max-[a-z-]+\)")


def names_a_limit(reason: str) -> bool:
    """Whether a reason (a reject's, a skipped entry's) is a limit hit, as `LimitHit` words them."""
    return _NAMES_A_LIMIT.search(reason) is not None


def structure_depth(limits: Limits | None = None) -> int:
    """Levels of a capture's own JSON (a HAR file) read, from the top of the file: `max_depth`, but never fewer than
    `STRUCTURE_FLOOR` nor more than `STRUCTURE_DEPTH`. Values nested deeper are left out (`DepthPruner`)."""
    return min(STRUCTURE_DEPTH, max(STRUCTURE_FLOOR, (limits or current()).max_depth))


def max_string(limits: Limits | None = None) -> int:
    """Bytes of one string of a capture's own JSON (a HAR file) read at most, as the file writes it (escapes and
    all), the rest of it left out (`DepthPruner`, which counts them a piece of the file at a time, the string's first
    piece not): three times `max_body`, more than a body within it takes in base64 wrapped in lines or as text with
    its quotes escaped, and a MiB more. A participant's gigabytes of one string, gzipped into a few megabytes, are
    never held."""
    return 3 * (limits or current()).max_body + MiB


def structure_too_deep(depth: int) -> str:
    """Why parts of a HAR entry were left out: they were nested deeper than `depth` levels."""
    return f"HAR structure nested deeper than {depth} levels left out (--max-depth)"


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


def _layers_too_large(limits: Limits) -> LimitHit:
    return LimitHit(f"body's content codings, one over another, decode to more than {limits.max_ratio} times its size "
                    "as sent (--max-ratio)")


# --- bodies ----------------------------------------------------------------------------------------------------


def decompress(data: bytes, encoding: str, limits: Limits | None = None, sent: int | None = None) -> bytes:
    """`data` decoded per a Content-Encoding (`gzip`, `x-gzip`, `deflate`, `br`, `zstd`, `identity`, or a list of
    them, applied last first), in pieces, never holding more than `max_body` of output or more than `max_ratio` times
    the input (beyond `RATIO_FLOOR`): the body as sent (`sent` bytes, where `data` is decoded from it already),
    whatever the encodings it takes to get there (each within `max_ratio` of the one before, gzip over gzip unpacked
    60,000 times more than the body was). The codings undone after the first are fed no more than `max_ratio` times
    the body as sent (beyond `RATIO_FLOOR`) together: one that stores what it holds (zlib level 0) never decompresses
    past its input, and 30,000 of them would cost the body's size times their number. Raises `LimitHit`, or
    ValueError (`could not decode br body: …`) for damaged data or an unknown encoding."""
    limits = limits or current()
    sent = len(data) if sent is None else sent
    fed, budget, layers = 0, max(RATIO_FLOOR, limits.max_ratio * sent), 0
    for name in reversed([e.strip().lower() for e in encoding.split(",") if e.strip()]):
        if name in ("identity", "none"):
            continue
        decoder = _DECODERS.get(name)
        if decoder is None:
            raise ValueError(f"could not decode {name[:40]} body: unknown content encoding")
        if layers:
            fed += len(data)
            if fed > budget:
                raise _layers_too_large(limits)
        data = _decoded(name, decoder, data, limits, sent)
        layers += 1
    if len(data) > limits.max_body:  # identity
        raise body_too_large(limits, "")
    return data


def gunzip(data: bytes, limits: Limits | None = None, sent: int | None = None) -> bytes:
    """`data` gunzipped, under the same limits as `decompress` (`sent`: its size as sent); a stream cut off is an
    error."""
    return _decoded("gzip", _zlib(31, strict=True), data, limits or current(), sent)


def _decoded(name: str, decoder: Callable[[bytes], Pieces], data: bytes, limits: Limits, sent: int | None = None
             ) -> bytes:
    try:
        return _bounded(decoder(data), len(data) if sent is None else sent, limits)
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
        view, at = memoryview(data), 0
        while True:
            inflater = zlib.decompressobj(wbits)
            for step in _steps(view, at):
                at += len(step)
                yield inflater.decompress(step, _PIECE)
                while inflater.unconsumed_tail and not inflater.eof:
                    yield inflater.decompress(inflater.unconsumed_tail, _PIECE)
                if inflater.eof:
                    break
            if strict and not inflater.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            yield inflater.flush()
            at -= len(inflater.unused_data)
            if not (inflater.eof and view[at : at + 2] == b"\x1f\x8b"):
                return

    return pieces


def _steps(view: memoryview, at: int) -> Iterator[memoryview]:
    """The input from `at` on, in steps that double from `_FIRST_STEP`: a decompressor handed one step at a time
    copies back (its unused data, its unconsumed tail) no more than about what it has read, so a body of a million
    tiny gzip members or zstd frames costs its size, not its size times their number."""
    step = _FIRST_STEP
    while at < len(view):
        yield view[at : at + step]
        at, step = at + step, min(2 * step, _PIECE)


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
    view, at = memoryview(data), 0
    while at < len(view):  # a frame after another (as zstd.decompress reads them)
        decompressor = zstd.ZstdDecompressor()
        for step in _steps(view, at):
            at += len(step)
            yield decompressor.decompress(step, _PIECE)
            while not decompressor.eof and not decompressor.needs_input:
                yield decompressor.decompress(b"", _PIECE)
            if decompressor.eof:
                break
        if not decompressor.eof:
            raise EOFError("the data ends before the frame does")
        at -= len(decompressor.unused_data)


# Compressed data no Content-Encoding names, told by its first bytes (`redaction` sniffs a body for them): what
# `unpack` reads. gzip's and zlib's streams are read as the raw deflate after their header, so that a stream whose
# checksum is wrong, or cut off, still gives what it holds (as anyone can get it out).
_BZIP2_MAGIC = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")
XZ_MAGIC = b"\xfd7zXZ\x00"
_SALVAGE_STEP = 64  # compressed bytes handed to a decompressor at a time: what is lost of a stream where it breaks


def is_bzip2(data: bytes) -> bool:
    return data[:3] == b"BZh" and _BZIP2_MAGIC.match(data, 0, 10) is not None


def unpack(data: bytes, fmt: str, limits: Limits | None = None) -> tuple[bytes, bool]:
    """(what compressed `data` holds, whether that is the whole of it) for `fmt` `gzip` (a zlib header too),
    `bzip2` or `xz`: the data of a stream that is damaged or cut off up to where it breaks, checksums not checked
    (what a reader who wants it can get out of it; a damaged stream's checksum is unread), its first stream only,
    within `max_body` and `max_ratio` as `decompress` (`LimitHit`). Raises ValueError where no byte comes out (not
    such data)."""
    import bz2
    import lzma

    limits = limits or current()
    at = 0
    if fmt == "gzip" and data[:2] == b"\x1f\x8b":
        at = _gzip_header_end(data)
        decompressor, zlib_like = zlib.decompressobj(-15), True
    elif fmt == "gzip":  # zlib: two bytes of header (and a preset dictionary's id)
        at = 6 if len(data) > 1 and data[1] & 0x20 else 2
        decompressor, zlib_like = zlib.decompressobj(-15), True
    else:
        decompressor, zlib_like = (bz2.BZ2Decompressor() if fmt == "bzip2" else lzma.LZMADecompressor()), False
    out, whole = bytearray(), False
    view = memoryview(data)
    try:
        while at < len(view) and not decompressor.eof:
            step = view[at : at + _SALVAGE_STEP]
            at += len(step)
            piece = decompressor.decompress(step, _PIECE)
            while True:
                out += piece
                if len(out) > limits.max_body:
                    raise body_too_large(limits)
                if len(out) > RATIO_FLOOR and len(out) > limits.max_ratio * len(data):
                    raise _ratio_too_large(limits)
                if zlib_like and decompressor.unconsumed_tail and not decompressor.eof:
                    piece = decompressor.decompress(decompressor.unconsumed_tail, _PIECE)
                elif not zlib_like and not decompressor.eof and not decompressor.needs_input:
                    piece = decompressor.decompress(b"", _PIECE)
                else:
                    break
        whole = decompressor.eof
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
        pass
    if zlib_like:
        try:
            out += decompressor.flush()
        except zlib.error:
            pass
    if not out and not whole:
        raise ValueError(f"not {fmt} data")
    return bytes(out), whole


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def unlabeled(data: bytes, limits: Limits | None = None) -> bytes | None:
    """What a body holds that is whole compressed data no Content-Encoding named (a proxy or an app took the header
    off): zlib, bzip2, xz and zstd told by their first bytes, brotli (which has none) by decoding it, which other
    data fails within its first bytes; None where it is none of these, or a stream damaged or cut off. Within
    `max_body` and `max_ratio` (`LimitHit`). (gzip under none the capture readers gunzip already.)"""
    limits = limits or current()
    head = data[:6]
    try:
        if len(head) > 1 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
            return _decoded("gzip", _zlib(15, strict=True), data, limits)
        if is_bzip2(data) or head == XZ_MAGIC:
            inner, whole = unpack(data, "bzip2" if is_bzip2(data) else "xz", limits)
            return inner if whole else None
        if head.startswith(_ZSTD_MAGIC):
            return _decoded("zstd", _zstd, data, limits)
        return _decoded("br", _brotli, data, limits) or None
    except LimitHit:
        raise
    except ValueError:
        return None


def is_whole(data: bytes, limits: Limits | None = None) -> bool:
    """Whether gzip or zlib data (told by its header) is a whole stream, as `gunzip` reads one (its checksum and
    end there), not one cut off that `decompress` reads as far as it goes."""
    try:
        _decoded("gzip", _zlib(47, strict=True), data, limits or current())
    except ValueError:
        return False
    return True


def _gzip_header_end(data: bytes) -> int:
    """Where a gzip member's header ends (RFC 1952: its optional extra field, name, comment and header CRC)."""
    if len(data) < 10:
        raise ValueError("not gzip data")
    flags, at = data[3], 10
    if flags & 4:  # FEXTRA
        at += 2 + int.from_bytes(data[at : at + 2], "little")
    for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = data.find(b"\x00", at)
            if end < 0:
                raise ValueError("not gzip data")
            at = end + 1
    return at + 2 if flags & 2 else at  # FHCRC


_DECODERS: dict[str, Callable[[bytes], Pieces]] = {
    "gzip": _zlib(47),  # gzip or zlib, told by the header (as mitmproxy)
    "x-gzip": _zlib(47),
    "deflate": _deflate,
    "deflateraw": _zlib(-15),
    "br": _brotli,
    "zstd": _zstd,
}


def capture_ratio_too_large(limits: Limits) -> LimitHit:
    return LimitHit(f"capture decompresses to more than {limits.max_ratio} times its compressed size (--max-ratio)")


class Decompressed:
    """A compressed capture's bytes (a gzipped HAR or flow dump, a zlib-compressed .zhar) as its decompressing
    `stream` (buffered: `peek`, `read`, `read1`) gives them: past `RATIO_FLOOR`, no more than `max_ratio` times the
    capture's `compressed` size, as for a body. The read that takes them past it raises `LimitHit` (the reader's
    error, which ends the file: what came before it is handed on first). A capture of megabytes that unpacks to
    gigabytes (of whitespace, say, which no other limit sees) is read no further; the bytes are not copied."""

    def __init__(self, stream: object, compressed: int, limits: Limits | None = None):
        self._stream, self._limits = stream, limits or current()
        self._allowed = max(RATIO_FLOOR, self._limits.max_ratio * compressed)
        self.total = 0  # bytes given so far

    def _counted(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self._allowed:
            raise capture_ratio_too_large(self._limits)
        return data

    def peek(self, size: int = 0) -> bytes:
        return self._stream.peek(size)  # type: ignore[attr-defined]

    def read1(self, size: int = -1) -> bytes:
        return self._counted(self._stream.read1(size))  # type: ignore[attr-defined]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # all of it: a piece at a time, each counted
            return b"".join(iter(lambda: self.read1(_PIECE), b""))
        return self._counted(self._stream.read(size))  # type: ignore[attr-defined]

    def readable(self) -> bool:
        return True


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
_NOT_BRACKETS_OR_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{},"')  # what the gauge reads of JSON text
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes
_SQUARE = bytes.maketrans(b"{}", b"[]")


def value_counter() -> JsonGauge:
    """A `JsonGauge` that counts and raises at no limit."""
    return JsonGauge(replace(current(), max_json_values=sys.maxsize, max_depth=sys.maxsize))


class JsonGauge:
    """Counts the nesting depth and the values of JSON text fed to it in pieces, from its bytes alone (no parser),
    and raises `LimitHit` as soon as either passes its limit. Costs about a millisecond a megabyte (C-level byte
    operations on the brackets, commas and quotes alone; brackets are summed only where a piece could reach the
    limit). Text that is no JSON is counted somehow and left to the parser to refuse."""

    def __init__(self, limits: Limits | None = None, depth: int = 0):
        self.limits = limits or current()
        self.depth = depth  # levels open where the text fed so far ends
        self.values = 0
        self._in_string = False
        self._escaped = False  # a backslash at the end of the last piece escapes the first byte of the next

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        text, self._escaped = _unescaped(bytes(data), self._escaped)
        self.read_structure(text.translate(None, _NOT_STRUCTURE))

    def read_structure(self, kept: bytes) -> None:
        """Go on with text of which only the brackets, commas and quotes are left, its escaped quotes taken out."""
        structure, self._in_string = _outside_strings(kept, self._in_string)
        opens, depth_after, too_deep = _levels(structure, self.depth, self.limits.max_depth)
        self.values += opens + structure.count(b",")
        if self.values > self.limits.max_json_values:
            raise LimitHit(f"JSON of more than {self.limits.max_json_values:,} values (--max-json-values)")
        if too_deep:
            raise LimitHit(f"JSON nested deeper than {self.limits.max_depth} levels (--max-depth)")
        self.depth = depth_after


def _unescaped(data: bytes, escaped: bool) -> tuple[bytes, bool]:
    """(a piece of JSON text with its escaped backslashes and quotes taken out, whether its last byte is a backslash
    escaping the next piece's first), for a piece whose first byte is `escaped` or not. C-level byte operations."""
    text = b"\\" + data if escaped else data
    trailing = len(text) - len(text.rstrip(b"\\")) if text.endswith(b"\\") else 0
    if trailing:
        text = text[:-trailing]
    if b"\\" in text:  # escapes: what is left of a run of backslashes pairs up
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    return text, bool(trailing % 2)


def _outside_strings(kept: bytes, in_string: bool) -> tuple[bytes, bool]:
    """(the bytes of unescaped JSON text outside its strings, whether the text ends inside a string) for text that
    begins `in_string` or not; `kept` may be the text or only its brackets, commas and quotes."""
    kept = kept.replace(b'""', b"")  # a string without brackets or commas: the other quotes keep their place
    pieces = kept.split(b'"')  # the quotes left begin and end strings
    return b"".join(pieces[in_string::2]), in_string ^ (len(pieces) % 2 == 0)


def _levels(structure: bytes, depth: int, limit: int) -> tuple[int, int, bool]:
    """(the brackets `structure` opens, the depth where it ends, whether it goes deeper than `limit` on the way) for
    JSON text outside strings that begins `depth` levels down; brackets are summed only where it could."""
    brackets = structure.translate(None, _NOT_BRACKETS)
    opens = brackets.count(b"[") + brackets.count(b"{")
    too_deep = False
    if depth + opens > limit and not _shallow(brackets, depth, limit):
        with memoryview(brackets.translate(_STEPS)) as steps, steps.cast("b") as signed:
            too_deep = max(accumulate(signed, initial=depth)) > limit
    return opens, depth + 2 * opens - len(brackets), too_deep


def _shallow(brackets: bytes, depth: int, limit: int) -> bool:
    """Whether `brackets`, beginning `depth` levels down, surely stay within `limit`, found without summing them one
    by one: each pass takes out the innermost pairs, and no bracket is deeper than the levels open before it, the
    passes, and the brackets left open."""
    nested, passes = brackets.translate(_SQUARE), 0
    while b"[]" in nested:
        nested, passes = nested.replace(b"[]", b""), passes + 1
        if depth + passes > limit:
            return False
    return depth + passes + nested.count(b"[") <= limit


def check_json(data: bytes | bytearray, limits: Limits | None = None, depth: int = 0) -> None:
    """Raise `LimitHit` when UTF-8 JSON text nests deeper than `max_depth` (counting `depth` levels around it) or
    holds more than `max_json_values` values."""
    limits = limits or current()
    if b"\\" in data:  # escapes are taken out of the text first
        JsonGauge(limits, depth).feed(data)
        return
    if len(data) <= limits.max_json_values:  # no more values than bytes: only the depth can be over
        squares = data.translate(_SQUARE, _NOT_BRACKETS_OR_QUOTES)
        if depth + squares.count(b"[") <= limits.max_depth:  # strings' brackets too: an upper bound
            return
        # Without escapes, a bracket is in a string where an odd number of quotes comes before it: where none is
        # left once the quotes next to each other are taken out in pairs, the brackets are the text's own.
        squares = squares.replace(b'""', b"")
        if b'"' not in squares and _shallow(squares, depth, limits.max_depth):
            return
    kept = data.translate(None, _NOT_STRUCTURE)
    opens = kept.count(b"[") + kept.count(b"{")  # strings' brackets and commas too: an upper bound
    if depth + opens > limits.max_depth or opens + kept.count(b",") > limits.max_json_values:
        JsonGauge(limits, depth).read_structure(kept)


PRUNED = "databack: nested too deep, left out"  # what stands for a value `DepthPruner` leaves out
# runs of opening or closing brackets, whole strings, a quote opening a string that goes on past the piece
_TOKENS = re.compile(rb'[\[{]+|[\]}]+|"[^"\\]*+(?:\\.[^"\\]*+)*+"|"', re.DOTALL)
# the rest of a string: to its closing quote (group 1), or to the end of the piece, a lone backslash there (group 2)
# (possessive: the regex engine keeps no state for each escape to backtrack to, 30 MB for a MiB of `\u00e9`)
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+(?:(")|(\\)?\Z)', re.DOTALL)


# Four whole characters or escapes of a string (a piece may begin inside one: see `_aligned`): a string
# is cut short after them, where a closing quote makes valid JSON.
_STRING_CUT = re.compile(
    rb'(?:\\u[0-9a-fA-F]{4}|\\[^u]|[\x00-\x21\x23-\x5b\x5d-\x7f]'
    rb'|[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3}){4}',
    re.DOTALL,
)
_CUT_MARK = b" [databack: cut short, longer than a capture's string may be (--max-body)]"
_CUT_TEXT = _CUT_MARK.decode()


def check_string(text: str, limits: Limits | None = None) -> None:
    """Raise `LimitHit` for a body's text (or base64) that `DepthPruner` cut short, past `max_string` (it ends with
    the mark): the body is over its limit, whatever is left of it."""
    if text.endswith(_CUT_TEXT):
        raise LimitHit(f"body cut short as read: its text passed {size_text(max_string(limits))} as the file writes "
                       f"it, escapes and all (--max-body)")


def value_too_long(text: str, limits: Limits | None = None) -> bool:
    """Whether a value of a capture other than a body (a URL, a header's value, a comment) is longer than a body may
    be (`max_body`): judged, it would cost its length many times over (scrub held 1.36 GB for a 200 MB URL)."""
    return len(text) > (limits or current()).max_body


def values_too_long_note(count: int, limits: Limits | None = None) -> str:
    """What a report says of the `count` values `value_too_long` found, replaced whole."""
    longest = size_text((limits or current()).max_body)
    return f"{count} value{'s' * (count > 1)} other than bodies longer than {longest} replaced whole (--max-body)"


def _aligned(data: bytes | bytearray, escaped: bool) -> int:
    """Where in a piece inside a string the first whole character or escape begins, as far as the piece shows: past a
    character the backslash that ended the last piece escapes (`escaped`), and past UTF-8 continuation bytes. (Hex
    digits left of a `\\u` escape are read as characters: `_STRING_CUT` goes past four of them.)"""
    at = (5 if data[:1] == b"u" else 1) if escaped else 0
    while at < len(data) and 0x80 <= data[at] < 0xC0:
        at += 1
    return at


class DepthPruner:
    """A capture's JSON (a HAR file) fed in pieces and given back with every value that opens deeper than `limit`
    levels replaced by the string `marker` (`pruned` counts them): what a parser reads of it is never deeper, whatever
    the file holds. A piece that stays within the limit is given back as it is, for what `JsonGauge` costs; one that
    goes deeper is walked string by string and run of brackets by run. Text that is no JSON comes out as no JSON."""

    def __init__(self, limit: int, depth: int = 0, marker: str = PRUNED, max_string: int | None = None):
        self.limit = limit
        self.depth = depth  # levels open where the text fed so far ends
        self.pruned = 0
        self.max_string = max_string  # bytes of one string given back at most (about: `max_string`); None: any
        self.cut = 0  # strings cut short
        self._marker = json.dumps(marker).encode()
        self._in_string = False
        self._escaped = False  # the next piece's first byte is escaped by a backslash that ended the last one
        self._skipping = False  # inside a value left out
        self._string = 0  # bytes of the string open where the text fed so far ends (those of its first piece not)
        self._cutting = False  # inside a string cut short: its bytes are left out up to its closing quote
        # (with `max_string`) the pieces fed wholly inside the string open, held back until it ends, and whether the
        # first of them begins with a byte escaped by the last piece given back
        self._held: list[bytes] = []
        self._held_escaped = False

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """The text to give the parser for the next piece `data` of the file. With `max_string`, a piece wholly inside
        a string is held back (b"" is given back for it) until the string ends, then given back with the piece that
        ends it: a parser is handed a long string in one piece, not read again from its start at every piece
        (yajl's lexer does: a string across n pieces cost it n²/2 of them, a 193 MiB one some two minutes), and a
        string cut short (past `max_string`) is given back as its first characters and the mark alone, its bytes
        held dropped."""
        data = bytes(data)
        if self._cutting:
            return self._cut_rest(data)
        held = b""
        if self.max_string is not None and self._in_string and not self._skipping:
            rest = _STRING_REST.match(data, 1 if self._escaped else 0)
            if rest.group(1) is None:  # the string goes on past this piece: held back
                self._string += len(data)
                if not self._held:
                    self._held_escaped = self._escaped
                self._held.append(data)
                self._escaped = rest.group(2) is not None
                return self._cut_held() if self._string > self.max_string else b""
            self._string = 0
            if self._held:
                held, self._held = b"".join(self._held), []
        if not self._skipping and (state := self._within(data)) is not None:
            self.depth, self._in_string, self._escaped = state
            return held + data if held else data
        return held + self._walk(data) if held else self._walk(data)

    def flush(self) -> bytes:
        """What is held back at the end of the text (a string that the file ends in: cut off)."""
        held, self._held = b"".join(self._held), []
        return held

    def _cut_held(self) -> bytes:
        """The string held back, past `max_string`, cut short: its first whole characters (or escapes), the mark and a
        closing quote given back, the bytes held dropped; the rest of it is left out as it is read (`_cut_rest`)."""
        head = bytearray()
        for piece in self._held:  # enough of the first pieces to hold four characters whatever they are
            head += piece[: 64 - len(head)]
            if len(head) >= 64:
                break
        self._held = []
        cut = _STRING_CUT.match(head, _aligned(head, self._held_escaped))
        self.cut += 1
        self._cutting = True
        return (bytes(head[: cut.end()]) if cut else b"") + _CUT_MARK + b'"'

    def _cut_rest(self, data: bytes) -> bytes:
        """The rest of a string cut short left out, up to its closing quote (already given back); what follows it is
        fed on."""
        rest = _STRING_REST.match(data, 1 if self._escaped else 0)
        if rest.group(1) is None:
            self._escaped = rest.group(2) is not None
            return b""
        self._cutting = self._in_string = self._escaped = False
        self._string = 0
        return self.feed(data[rest.end():])

    def _within(self, data: bytes) -> tuple[int, bool, bool] | None:
        """The state after `data` when it goes no deeper than the limit (as `JsonGauge` counts), else None."""
        text, escaped = _unescaped(data, self._escaped)
        structure, in_string = _outside_strings(text.translate(None, _NOT_STRUCTURE), self._in_string)
        _, depth, too_deep = _levels(structure, self.depth, self.limit)
        return None if too_deep else (depth, in_string, escaped)

    def _walk(self, data: bytes) -> bytes:
        out = bytearray()
        start = None if self._skipping else 0  # where the bytes to keep begin; None inside a value left out
        depth, limit, at = self.depth, self.limit, 0
        if self._in_string:  # a string goes on from the last piece
            rest = _STRING_REST.match(data, 1 if self._escaped else 0)
            if rest.group(1) is None:  # and on past this one
                self._escaped = rest.group(2) is not None
                return data if start is not None else b""
            at = rest.end()
        self._in_string = self._escaped = False
        for token in _TOKENS.finditer(data, at):
            first = data[token.start()]
            if first in b"[{":
                if start is not None and depth + len(token.group()) > limit:  # opens past the limit: left out whole
                    out += data[start : token.start() + limit - depth]
                    out += self._marker
                    start = None
                    self.pruned += 1
                depth += len(token.group())
            elif first in b"]}":
                if start is None and depth - len(token.group()) <= limit:  # back within the limit
                    start = token.start() + depth - limit
                depth -= len(token.group())
            elif token.group() == b'"':  # a string that goes on past this piece
                self._in_string = True
                self._escaped = _STRING_REST.match(data, token.end()).group(2) is not None
                break
        if start is not None:
            out += data[start:]
        self.depth, self._skipping = depth, start is None
        return bytes(out)

    def end_of_value(self, data: bytes, level: int) -> int | None:
        """Where the text is back within `level` levels in the next piece `data`, walked on from where this pruner
        stands (the index after the bracket that closes the value open there), nothing given back; None where the
        value goes on past the piece, the walk going on with the next. What leaves out the rest of a value unread."""
        text, escaped = _unescaped(bytes(data), self._escaped)
        structure, in_string = _outside_strings(text.translate(None, _NOT_STRUCTURE), self._in_string or self._cutting)
        brackets = structure.translate(None, _NOT_BRACKETS)
        with memoryview(brackets.translate(_STEPS)) as steps, steps.cast("b") as signed:
            if min(accumulate(signed, initial=self.depth)) > level:  # not back within it here: no walk (a hundredth)
                self.depth += 2 * (brackets.count(b"[") + brackets.count(b"{")) - len(brackets)
                self._in_string, self._escaped, self._cutting, self._held = in_string, escaped, False, []
                return None
        at = 0
        if self._in_string or self._cutting:  # a string goes on from the last piece
            rest = _STRING_REST.match(data, 1 if self._escaped else 0)
            if rest.group(1) is None:  # and on past this one
                self._escaped = rest.group(2) is not None
                return None
            at = rest.end()
        self._in_string = self._cutting = self._escaped = False
        self._held = []
        for token in _TOKENS.finditer(data, at):
            first, size = data[token.start()], len(token.group())
            if first in b"[{":
                self.depth += size
            elif first in b"]}":
                if self.depth - size <= level:
                    end, self.depth = token.start() + self.depth - level, level
                    return end
                self.depth -= size
            elif size == 1:  # a string that goes on past this piece
                self._in_string = True
                self._escaped = _STRING_REST.match(data, token.end()).group(2) is not None
                return None
        return None

    def outside_strings_from(self, data: bytes) -> int | None:
        """Where the text given back for the next piece `data` is first outside a string (0 unless the text fed so far
        ends in one), or None where the string goes on past it. Asked before `data` is fed."""
        if not self._in_string or self._skipping or self._cutting:  # (a string cut short is closed already)
            return 0
        rest = _STRING_REST.match(data, 1 if self._escaped else 0)
        if rest.group(1) is None:
            return None
        return rest.end() + sum(len(piece) for piece in self._held)  # (the pieces held back come first)


class PrunedReader:
    """A capture's JSON read through a `DepthPruner` (to `limit` levels from the top): a parser reading through this
    (ijson) never builds a level past the limit, whatever the file holds."""

    def __init__(self, source: object, limit: int, marker: str = PRUNED, max_string: int | None = None,
                 most_values: int | None = None):
        self._read = source.read  # type: ignore[attr-defined]
        self.pruner = DepthPruner(limit, 0, marker, max_string)
        self._most = most_values  # values an item may hold (`item_read` says where one ends); None: any number
        self._values = value_counter()

    def item_read(self) -> None:
        """The parser has built an item (a HAR entry): the values of the next are counted from the next read."""
        self._values.values = 0

    def read(self, size: int = -1) -> bytes:
        """The next piece for the parser; `TooManyValues` before it where the pieces given since the last item built
        hold more than `most_values` (all of one item: another would have been built, a read's worth of values at
        most past the limit), the item left unbuilt."""
        if self._most is not None and self._values.values > self._most:
            raise TooManyValues(f"an entry of more than {self._most:,} values (--max-json-values)")
        while block := self._read(size):
            if pruned := self.pruner.feed(block):  # a block left out or held back whole: read on (b"" would end it)
                return self._counted(pruned)
        return self._counted(self.pruner.flush())

    def _counted(self, pruned: bytes) -> bytes:
        """`pruned`, its values counted (those the parser builds: a value nested too deep is one)."""
        if self._most is not None:
            self._values.feed(pruned)
        return pruned
