"""Skim tnetstrings, the format of mitmproxy's flow dumps, without parsing what is not needed.

A tnetstring is `LEN:DATA<tag>` (tags: `,` bytes, `;` str, `#` int, `^` float, `!` bool, `~` null, `]` list,
`}` dict); a dump is a plain concatenation of them. Values are located by their length prefixes, so large byte
strings are jumped over, never copied or decoded. A value is handled as a `Span`: its tag and where its DATA lies
in the buffer. Bytes that are not well-formed (as far as a function looks) raise ValueError, and nothing else
(`frames` also lets through what its stream raises).
"""

from __future__ import annotations

import io
import os
import re
from typing import BinaryIO, Iterator

Span = tuple[int, int, int]  # (tag, start, end): the value is data[start:end], its tag the byte at data[end]

BYTES, STR, INT, FLOAT, BOOL, NULL, LIST, DICT = b",;#^!~]}"
_TAGS = frozenset(b",;#^!~]}")
_MAX_PREFIX = 12  # digits, as mitmproxy's tnetstring.load allows


class FrameTooLarge(ValueError):
    """A length prefix that cannot be right: more than a plain file has `left`, or more than the caller `allowed`."""

    def __init__(self, claimed: int, left: int | None = None, allowed: int | None = None):
        super().__init__(claimed, left, allowed)
        self.claimed, self.left, self.allowed = claimed, left, allowed


def frames(stream: BinaryIO, max_size: int | None = None) -> Iterator[bytes]:
    """Each top-level tnetstring of `stream` as `DATA<tag>` (without its length prefix), read exactly as
    mitmproxy's `tnetstring.load` reads it (so a gzip stream fails at the same point), but a piece at a time: a length
    prefix claiming more than `max_size` bytes, or more than a plain file has left, raises `FrameTooLarge` before
    anything is read for it. Stops at the end of the stream between two tnetstrings; raises ValueError where the
    framing breaks (cut off, no length prefix). A plain file's size is asked for once, and again only where a
    prefix claims more than it had left (a dump still being written may have grown): where `stream` stands is counted
    from the bytes read, so a dump of many tiny flows costs no system call a flow."""
    at, end = _where(stream)
    while True:
        char = stream.read(1)
        if not char:
            return
        digits = b""
        while char.isdigit():
            digits += char
            if len(digits) > _MAX_PREFIX:
                raise ValueError("not a tnetstring: absurdly large length prefix")
            char = stream.read(1)
        if char != b":" or not digits:
            raise ValueError("not a tnetstring: missing or invalid length prefix")
        size = int(digits) + 1
        if end is not None:
            at += len(digits) + 1
            if size > end - at and (end := _size(stream)) is not None and size > end - at:
                raise FrameTooLarge(size - 1, left=end - at)
        if max_size is not None and size > max_size:
            raise FrameTooLarge(size - 1, allowed=max_size)
        payload = stream.read(size) if size <= _PIECE else _read_pieces(stream, size)
        if len(payload) != size:
            raise ValueError("not a tnetstring: cut off")
        at += size
        yield payload


_PIECE = 16 << 20


def _where(stream: BinaryIO) -> tuple[int, int | None]:
    """(where `stream` stands, the size of its file) for a plain file; (0, None) for anything else (a decompressing
    stream, a pipe)."""
    if not isinstance(getattr(stream, "raw", stream), io.FileIO):
        return 0, None
    try:
        return stream.tell(), os.fstat(stream.fileno()).st_size
    except OSError:
        return 0, None


def _size(stream: BinaryIO) -> int | None:
    """The size of the plain file `stream` reads now; None where it cannot be told."""
    try:
        return os.fstat(stream.fileno()).st_size
    except OSError:
        return None


def _read_pieces(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes of `stream` (fewer at its end), read a piece at a time: a stream that ends early never has the
    whole size allocated for it."""
    pieces = []
    while size > 0 and (piece := stream.read(min(size, _PIECE))):
        pieces.append(piece)
        size -= len(piece)
    return b"".join(pieces)


def items(data: bytes, start: int, end: int) -> list[Span]:
    """The spans of the tnetstrings that fill data[start:end] exactly (a list's or a dict's DATA)."""
    spans = []
    position = start
    while position < end:
        colon = data.find(b":", position, position + _MAX_PREFIX + 1)
        if colon < 0 or not data[position:colon].isdigit():
            raise ValueError("not a tnetstring: missing or invalid length prefix")
        value_end = colon + 1 + int(data[position:colon])
        if value_end >= end or data[value_end] not in _TAGS:
            raise ValueError("not a tnetstring: cut off or unknown type tag")
        spans.append((data[value_end], colon + 1, value_end))
        position = value_end + 1
    return spans


def parse(payload: bytes, levels: int = 1 << 30, left_out: list[int] | None = None) -> object:
    """The value of a frame `DATA<tag>` (what `frames` yields), as mitmproxy's `tnetstring.parse` builds it, in a sixth
    less time: offsets into the bytes rather than memoryviews, scalars read in the loop of their list or dict.
    Only plain length prefixes (ASCII digits) are read: anything else raises (ValueError, TypeError for a key that
    is no key, RecursionError), and the caller parses with mitmproxy's own, for its value or its error.
    A list or dict nested deeper than `levels` (the frame's own value is level 1) is not read: `LEFT_OUT` stands for
    it, and a 1 is appended to `left_out` (where given) for each."""
    tag = payload[-1]
    if tag == LIST or tag == DICT:
        return _container(payload, 0, len(payload) - 1, tag, levels, left_out)
    return _value(payload, 0, len(payload) - 1, tag)


LEFT_OUT = "databack: nested too deep, left out"  # as `limits.PRUNED`, what a HAR's value nested too deep reads as


def _container(data: bytes, start: int, end: int, tag: int, levels: int = 1 << 30,
               left_out: list[int] | None = None) -> list | dict:
    values: list = []
    position = start
    while position < end:
        colon = data.find(b":", position, end)
        prefix = data[position:colon]
        if colon < 0 or not prefix.isdigit():
            raise ValueError("not a tnetstring: missing or invalid length prefix")
        value_start = colon + 1
        value_end = value_start + int(prefix)
        if value_end >= end:
            raise ValueError("not a tnetstring: invalid length prefix")
        value_tag = data[value_end]
        if value_tag == BYTES:
            values.append(data[value_start:value_end])
        elif value_tag == LIST or value_tag == DICT:
            if levels > 1:
                values.append(_container(data, value_start, value_end, value_tag, levels - 1, left_out))
            else:  # (its bytes are not looked into: a malformed value there goes unnoticed)
                values.append(LEFT_OUT)
                if left_out is not None:
                    left_out.append(1)
        else:
            values.append(_value(data, value_start, value_end, value_tag))
        position = value_end + 1
    if tag == LIST:
        return values
    if len(values) % 2:
        raise ValueError("not a tnetstring: a dict key without a value")
    return dict(zip(values[::2], values[1::2]))  # a key given twice: its first place, its last value (as mitmproxy)


MIN_VALUE = 3  # bytes of the shortest tnetstring (`0:,`, `0:~`): a frame holds at most len // MIN_VALUE values


def count_values(payload: bytes, most: int) -> int:
    """How many values the frame `payload` (`DATA<tag>`, as `frames` yields it) holds, itself and every item, key and
    member within, as `parse` would build them; counting stops once past `most` (the count then is `most + 1`).
    Nothing is built and nothing recurses: the frame is walked by its length prefixes, byte strings jumped over,
    so a frame nested a million levels deep or of millions of values costs at most `most` steps. ValueError where
    the frame is not plainly well-formed as `parse` reads it."""
    tag = payload[-1]
    count = 1
    if tag != LIST and tag != DICT or count > most:
        return count
    ends = [len(payload) - 1]  # the ends of the containers being walked, innermost last
    position = 0
    find, isdigit = payload.find, bytes.isdigit
    while ends:
        end = ends[-1]
        if position >= end:
            ends.pop()
            position = end + 1
            continue
        colon = find(b":", position, end)
        if colon < 0 or not isdigit(payload[position:colon]):
            raise ValueError("not a tnetstring: missing or invalid length prefix")
        value_end = colon + 1 + int(payload[position:colon])
        if value_end >= end:
            raise ValueError("not a tnetstring: invalid length prefix")
        count += 1
        if count > most:
            return count
        if payload[value_end] == LIST or payload[value_end] == DICT:
            ends.append(value_end)
            position = colon + 1
        else:
            position = value_end + 1
    return count


def value(data: bytes, span: Span) -> object:
    """The value at `span`, as `parse` builds it (and raising as it does)."""
    return _value(data, span[1], span[2], span[0])


def _value(data: bytes, start: int, end: int, tag: int) -> object:
    if tag == LIST or tag == DICT:
        return _container(data, start, end, tag)
    return scalar(data, (tag, start, end))


def fields(data: bytes, span: Span) -> dict[str, Span]:
    """The items of a dict with str keys, as {key: value span}; a key given twice keeps its last value (as in
    mitmproxy's parse)."""
    tag, start, end = span
    if tag != DICT:
        raise ValueError("not a dict")
    spans = items(data, start, end)
    if len(spans) % 2:
        raise ValueError("a dict key without a value")
    found = {}
    for (key_tag, key_start, key_end), value in zip(spans[::2], spans[1::2]):
        if key_tag != STR:
            raise ValueError("a dict key that is not a str")
        found[data[key_start:key_end].decode()] = value
    return found


def scalar(data: bytes, span: Span) -> bytes | str | int | float | bool | None:
    """The value of a non-container tnetstring, as mitmproxy's `tnetstring.parse` gives it; ValueError if invalid."""
    tag, start, end = span
    raw = data[start:end]
    if tag == BYTES:
        return raw
    if tag == STR:
        return raw.decode()
    if tag == INT:
        return int(raw)
    if tag == FLOAT:
        return float(raw)
    if tag == BOOL and raw in (b"true", b"false"):
        return raw == b"true"
    if tag == NULL and not raw:
        return None
    raise ValueError("not a valid scalar tnetstring")


_SHORT = 40  # values up to this length are matched inside a Shape's regexes, longer ones jumped over
_SHORT_ITEM = b"(?:%s)" % b"|".join(b"%d:.{%d}" % (n, n) for n in range(_SHORT + 1))  # `LEN:DATA`, LEN checked
_SHORT_VALUES = {tag: _SHORT_ITEM + re.escape(bytes([tag])) for tag in (BYTES, STR, INT, FLOAT, LIST, DICT)}
_SHORT_VALUES |= {NULL: rb"0:~", BOOL: rb"(?:4:true|5:false)!"}
_MAX_SHAPE_KEYS = 64


class Shape:
    """The layout of a dict (its keys in order, their values' tags) compiled to a few regexes, which find the wanted
    values of any dict of that layout mostly in C: a value that was short in the dict the shape was made from is
    matched inside a regex (its length checked there), a longer one is jumped over by its length prefix."""

    def __init__(self, found: dict[str, Span], wanted: frozenset[str]):
        """The shape of a dict whose `fields` are `found`."""
        self.layout = tuple((key, tag) for key, (tag, _, _) in found.items())
        self._wanted = wanted
        # Each step: a regex up to a long value's length prefix, the (key, tag) of the wanted short values it
        # captures (in group order), and the (key, tag) of that long value.
        self._steps: list[tuple[re.Pattern[bytes], list[tuple[str, int]], tuple[str, int]]] = []
        pattern, groups = b"", []
        for key, (tag, start, end) in found.items():
            encoded = key.encode()
            pattern += re.escape(b"%d:%s;" % (len(encoded), encoded))
            if end - start > _SHORT:
                self._steps.append((re.compile(pattern + rb"(\d{1,12}):", re.S), groups, (key, tag)))
                pattern, groups = b"", []
            elif key in wanted:
                groups.append((key, tag))
                pattern += b"(%s)" % _SHORT_VALUES[tag]
            else:
                pattern += _SHORT_VALUES[tag]
        self._last = re.compile(pattern, re.S), groups

    def match(self, data: bytes, span: Span) -> dict[str, Span] | None:
        """The spans of the wanted values of the dict at `span`, or None if that dict is not of this layout."""
        tag, position, end = span
        if tag != DICT:
            return None
        found: dict[str, Span] = {}
        for regex, groups, (key, value_tag) in self._steps:
            match = regex.match(data, position, end)
            if match is None:
                return None
            if groups:
                _add_groups(data, match, groups, found)
            position = match.end()
            value_end = position + int(match[len(groups) + 1])
            if value_end >= end or data[value_end] != value_tag:
                return None
            if key in self._wanted:
                found[key] = (value_tag, position, value_end)
            position = value_end + 1
        regex, groups = self._last
        match = regex.fullmatch(data, position, end)
        if match is None:
            return None
        _add_groups(data, match, groups, found)
        return found


def _add_groups(data: bytes, match: re.Match[bytes], groups: list[tuple[str, int]], found: dict[str, Span]) -> None:
    """Add the spans of the short values captured by `match` (their groups hold `LEN:DATA<tag>`)."""
    for group, (key, tag) in enumerate(groups, 1):
        item_start, item_end = match.span(group)
        found[key] = (tag, data.index(b":", item_start) + 1, item_end - 1)


class Shapes:
    """The shapes of one kind of dict met so far; makes a new one for a dict none fits, up to `limit` of them."""

    def __init__(self, wanted: frozenset[str], limit: int = 8):
        self._wanted = wanted
        self._limit = limit
        self._known: list[Shape] = []

    def match(self, data: bytes, span: Span) -> tuple[tuple[tuple[str, int], ...], dict[str, Span]]:
        """The layout of the dict at `span` and the spans of its wanted values (of others too when no shape fits)."""
        for shape in self._known:
            found = shape.match(data, span)
            if found is not None:
                return shape.layout, found
        found = fields(data, span)
        if len(self._known) < self._limit and len(found) <= _MAX_SHAPE_KEYS:  # else walk on the slow way
            shape = Shape(found, self._wanted)
            if shape.match(data, span) is not None:  # None where the dict repeats a key
                self._known.append(shape)
        return tuple((key, tag) for key, (tag, _, _) in found.items()), found
