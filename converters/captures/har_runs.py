"""The values of a HAR's `log.entries`, parsed in runs: many entries at a time by orjson, in half the time ijson's
C parser takes to build them one by one.

A run ends where an entry begins the way entries seen so far begin: `}`, `,`, `{` and one of their first keys.
Such a cut may still fall inside a string or between objects nested deeper; parsing the run (wrapped in `[` `]`)
then fails at its very end, and the run goes on to the next cut. Every run starts where the last one ended, at a
point its parse proved to lie between two entries, so the runs that parse hold exactly the entries, in order.

Once the file is read, what is left of it is cut at every entry, so that small files too are parsed in runs. ijson
parses what runs cannot: the head (to find the array), the tail after the last cut (the last entry), and the rest of
the file from a run that fails anywhere else (damaged or cut-off data, another text encoding, a lone surrogate), so
that errors and odd values come out as ijson gives them. One difference is left: an integer beyond 64 bits, which
ijson refuses (the file is read up to it), orjson reads as a float.

Neither parser builds a level deeper than `limits.structure_depth()`: orjson is handed each run inside as many
brackets as put the limit at its own 1024 levels, and an entry it refuses for its depth is parsed again with the
values nested too deep left out (`limits.DepthPruner`); ijson reads through a `limits.PrunedReader`. Such an entry
comes as `Pruned`.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator

import ijson
import orjson

from .. import limits

try:
    IJSON = ijson.get_backend("yajl2_c")
except ImportError:
    IJSON = ijson

READ_SIZE = 1 << 20  # ijson's C parser is twice as fast with 1 MB reads as with its default 64 kB
RUN_BYTES = 1 << 20  # a run ends at the first cut after this many bytes
MAX_RUN_BYTES = 16 << 20  # no cut that parses within this many bytes: ijson reads the rest (memory stays bounded)
MAX_FIRST_KEYS = 8  # first keys of entries that cuts are looked for at (learnt when no cut is found)
MAX_MISCUTS = 8  # cuts inside a value in one run: ijson reads the rest (a file unlike any HAR seen)
ENTRY_PREFIX = "log.entries.item"

_ENTRIES = re.compile(rb'"entries"\s*:\s*(\[)')
_ENTRY = re.compile(r'[\s,]*(\{\s*("(?:[^"\\]|\\.)*")\s*:)')  # an entry and its first key, in text
_DECODER = json.JSONDecoder()
_IN_LOG = b'{"log":{"entries":'  # what puts ijson where the runs stopped: in `log.entries`, as deep as in a HAR


def har_entries(read: Callable[[int], bytes]) -> Iterator[object]:
    """The values of `log.entries` in the JSON that `read(size)` returns block by block; an error of the JSON (or
    raised by `read`) is raised after every entry before it."""
    data = _Data(read)
    while (found := _ENTRIES.search(data.bytes)) is None and len(data.bytes) < MAX_RUN_BYTES and data.more():
        pass
    if found is None or not _opens_entries(bytes(data.bytes[: found.end()])):
        yield from _ijson_items(data, in_entries=False)
        return
    data.consume(found.start(1))  # the runs' bytes begin with the `[` of the array, or the `,` after the last run
    while len(data.bytes) < 1024 and data.more():  # enough to see the first entry's first key
        pass
    first_keys = _first_keys(data.bytes[1:1024], [])
    cuts = _cuts(first_keys)
    searched, miscuts, relearnt = 0, 0, False  # of this run: bytes searched for cuts, cuts inside a value, keys
    while first_keys and miscuts < MAX_MISCUTS:
        # once the file is read, its last bytes are cut at every entry: ijson is left the last entry alone
        cut = cuts.search(data.bytes, max(1 if data.ended else RUN_BYTES, searched))
        if cut is None:
            if (len(data.bytes) >= 2 * RUN_BYTES or data.ended) and not relearnt:  # entries that begin otherwise?
                relearnt, known = True, len(first_keys)
                if len(_first_keys(data.bytes[1:], first_keys)) > known:
                    cuts, searched = _cuts(first_keys), 0
                    continue
            if data.ended or len(data.bytes) >= MAX_RUN_BYTES:
                break
            searched = max(0, len(data.bytes) - 1024)  # a cut may straddle the next read
            if not data.more():
                searched = 0
            continue
        if data.too_many_containers(cut.start(1)):
            break  # ijson reads the run and the rest, counting each entry's values (`_ijson_items`)
        try:
            entries = data.parse_run(cut.start(1))
        except orjson.JSONDecodeError as error:
            if _too_deep(error):  # an entry nested too deep: the others of the run parsed apart from it
                if not (yield from _apart(data, cuts, cut.start(1))):
                    break
                searched, miscuts, relearnt = 0, 0, False
                continue
            if data.at_run_end(error):  # a cut inside a value: on to the next one
                searched, miscuts = cut.end(), miscuts + 1
                continue
            if _lone_surrogates_replaced(data.bytes, cut.start(1)) or _huge_numbers_replaced(data.bytes, cut.start(1)):
                continue  # parsed again
            break
        yield from entries
        data.consume(cut.start(1))
        searched, miscuts, relearnt = 0, 0, False
    yield from _ijson_items(data, in_entries=True)


@dataclass(frozen=True, slots=True)
class Pruned:
    """An entry with values nested deeper than `limit` levels left out (each replaced by `limits.PRUNED`); `read`:
    whether one was in its request or response, which the exchange is read from."""

    entry: object
    limit: int
    read: bool

    @staticmethod
    def of(entry: object, limit: int) -> object:
        """`entry` as it is when nothing of it was left out, else a `Pruned`."""
        if not isinstance(entry, dict):
            return Pruned(entry, limit, True) if _holds_marker(entry) else entry
        read = any(_holds_marker(entry.get(key)) for key in ("request", "response"))
        if read or any(_holds_marker(value) for key, value in entry.items() if key not in ("request", "response")):
            return Pruned(entry, limit, read)
        return entry


def _holds_marker(value: object) -> bool:
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value == limits.PRUNED:
            return True
    return False


def _too_deep(error: orjson.JSONDecodeError) -> bool:
    return str(error).startswith("depth limit exceeded")


def _apart(data: _Data, cuts: re.Pattern[bytes], end: int) -> Iterator[object]:
    """The entries of the run up to the comma at `end`, which orjson refused for an entry nested too deep, parsed
    from cut to cut, each piece too deep parsed with what is nested too deep left out (`Pruned`); the bytes parsed
    are consumed. Returns False, with the rest left, where a piece does not parse either way (a cut inside a value
    that goes on to `end`), or once `MAX_MISCUTS` cuts in a row fall inside a value: each costs a parse of all the
    piece before it, and an entry holding thousands (an array of objects that begin as entries do) cost their
    number times the run (a HAR of 1.4 MB, minutes)."""
    position, miscuts = 1, 0
    while True:
        cut = cuts.search(data.bytes, position, end)
        stop = cut.start(1) if cut else end
        try:
            entries = data.parse_run(stop)
        except orjson.JSONDecodeError as error:
            try:
                entries = data.parse_pruned(stop) if _too_deep(error) else None
            except orjson.JSONDecodeError:
                entries = None
            if entries is None:
                miscuts += 1
                if cut is None or miscuts >= MAX_MISCUTS:
                    return False
                position = cut.end()  # a cut inside a value
                continue
        miscuts = 0
        yield from entries
        data.consume(stop)
        if stop == end:
            return True
        end, position = end - stop, 1


# an escaped high surrogate that no low one follows, or a low one that no high one comes before (in text whose
# escaped backslashes are taken out: every `\u` left begins an escape)
_LONE = re.compile(rb"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                   rb"|[c-fC-F][0-9a-fA-F]{2}(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))")
_REPLACEMENT = rb"\ufffd"  # as long as a surrogate's escape


def _lone_surrogates_replaced(text: bytearray, end: int = -1) -> bool:
    """Replace each escaped lone surrogate (`\\udc80`: JavaScript strings hold them, Chrome writes them, orjson and
    ijson refuse them) in the JSON text `text[:end]` by the escape of U+FFFD, in place: the text keeps its length.
    Whether there was one. The escaped backslashes are taken out first (as many other bytes put in their place, so
    that what is found is where it was), and the lone surrogates are found by one regex: the work of a Python step
    is done for each lone one alone, not for each surrogate's escape (0.7 s a MiB of escaped emoji, a string of
    150 MiB of them, gzipped into 760 KB, took minutes)."""
    end = len(text) if end < 0 else end
    if text.find(b"\\ud", 0, end) < 0 and text.find(b"\\uD", 0, end) < 0:  # (the regex reads a MB in 50 ms)
        return False
    with memoryview(text) as view, view[:end] as part:
        plain = part.tobytes().replace(b"\\\\", b"__")
    replaced = False
    for lone in _LONE.finditer(plain):
        text[lone.start() : lone.end()] = _REPLACEMENT
        replaced = True
    return replaced


_HIGH = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")
_CARRIED = 80  # bytes of a read at most given with the next one instead (a run of backslashes longer: cut inside it)


def _whole_escapes_end(data: bytes | bytearray) -> int:
    """Where a read of JSON text may end so that no escape of a surrogate, nor a pair of them, is split with the next
    read: before the run of backslashes that holds the last one among its last 12 bytes, and before a high
    surrogate's escape just before it. Its length where none is near its end (or the run is too long to carry)."""
    last = data.rfind(b"\\", max(0, len(data) - 12))
    if last < 0:
        return len(data)
    cut = _run_start(data, last)
    if cut >= 6 and _HIGH.match(data, cut - 6, cut):
        cut = _run_start(data, cut - 6)
    return cut if cut >= 0 else len(data)


def _run_start(data: bytes | bytearray, at: int) -> int:
    """Where the run of backslashes that the one at `at` is part of begins (its pairs are escaped backslashes); -1
    where it begins more than `_CARRIED` bytes before the end."""
    floor = len(data) - _CARRIED
    while at > 0 and data[at - 1] == 0x5C:
        if at <= floor:
            return -1
        at -= 1
    return at if at >= floor else -1


class SurrogatesReplaced:
    """The reads of a JSON text (`read(size)`) with their escaped lone surrogates replaced, each read cut where no
    surrogate's escape or pair of them is split (what follows the cut is given with the next read): replaced a read
    at a time, a pair split across two reads was two lone ones to each, and a high one's escape cut in two left its
    low one alone where the parser found the high one whole, which it reads as no UTF-8: the rest of the file lost
    (scrub of a string of escaped emoji longer than a read)."""

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self._carried = b""
        self._error: Exception | None = None  # raised by `read` once what was carried before it is given

    def held(self) -> tuple[bytes, Exception | None]:
        """(the bytes read but not given yet, the error reading after them): what another reader reads next."""
        return self._carried, self._error

    def read(self, size: int = -1) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        while True:
            try:
                block = self._read(size)
            except Exception as error:
                if not self._carried:
                    raise
                block, self._error = b"", error
            if not block:  # the end (or an error): what was carried, as it is
                data, self._carried = self._carried, b""
                break
            data = self._carried + block if self._carried else block
            cut = _whole_escapes_end(data)
            data, self._carried = (data[:cut], data[cut:]) if cut < len(data) else (data, b"")
            if data:
                break
        if data.find(b"\\ud") < 0 and data.find(b"\\uD") < 0:
            return bytes(data)
        text = bytearray(data)
        _lone_surrogates_replaced(text)
        return bytes(text)


# strings, and numbers that may be beyond a float's range (orjson refuses them) or an integer beyond 64 bits (ijson)
# (and `NaN`, `Infinity`, `-Infinity`, which Python's json module writes and no parser here reads)
_BIG_NUMBER = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|(-?[0-9]{19,}(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|'
                         rb'-?[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]{3,}|-?Infinity|NaN)|(")', re.DOTALL)  # group 2: a string
# left open


def _huge_numbers_replaced(text: bytearray, end: int, start: int = 0) -> bool:
    """In the JSON text `text[start:end]` (which begins outside a string), replace each number beyond a float's range
    and each `NaN`, `Infinity` and `-Infinity` by `null`, and each integer beyond 64 bits by the float orjson reads it
    as, in place and padded with spaces: the text keeps its length, but where a `NaN` (one byte longer once `null`)
    was replaced. A string that goes on past `end` ends the search. Whether a number was replaced."""
    replacements = []
    for match in _BIG_NUMBER.finditer(text, start, end):
        if match.start(2) >= 0:
            break
        if match.start(1) < 0:
            continue
        number = float(match[1])
        if math.isinf(number) or math.isnan(number):
            new = b"null"
        elif match[1].lstrip(b"-").isdigit() and abs(int(match[1])) >= 2**63:
            new = repr(number).encode()
        else:
            continue
        replacements.append((match.start(1), match.end(1), new.ljust(match.end(1) - match.start(1))))
    for at, to, new in reversed(replacements):  # from the end: a `NaN` moves what follows it
        text[at:to] = new
    return bool(replacements)


def _first_keys(entries: bytes | bytearray, known: list[bytes]) -> list[bytes]:
    """`known`, with the first keys (as JSON text) of the entries that the JSON text `entries` begins with added, as
    far as it holds whole entries (and up to `MAX_FIRST_KEYS` keys)."""
    text = entries.decode(errors="replace")
    at = 0
    while len(known) < MAX_FIRST_KEYS and (entry := _ENTRY.match(text, at)):
        if (key := entry.group(2).encode()) not in known:
            known.append(key)
        try:
            at = _DECODER.raw_decode(text, entry.start(1))[1]
        except (ValueError, RecursionError):  # cut short, damaged or too deep: all there is to learn is learnt
            break
    return known


def _cuts(first_keys: list[bytes]) -> re.Pattern[bytes]:
    """Where an entry ends and one that begins with one of `first_keys` follows (group 1 is the comma)."""
    return re.compile(rb"\}\s*(,)\s*\{\s*(?:" + b"|".join(re.escape(key) for key in first_keys) + rb")\s*:")


def _opens_entries(head: bytes) -> bool:
    """Whether the JSON text `head` ends where the `log.entries` array opens (and not, say, in a nested "entries")."""
    last = None
    try:
        for last in IJSON.parse(limits.PrunedReader(io.BytesIO(head), limits.structure_depth())):
            pass
    except (ijson.JSONError, UnicodeDecodeError):
        pass
    return last is not None and last[:2] == ("log.entries", "start_array")


def _ijson_items(data: _Data, in_entries: bool) -> Iterator[object]:
    """The entries from where `data` stands, parsed by ijson: from the start of the file, or `in_entries`, from the
    `[` or `,` before the next entry (or the `]` after the last). An entry of more values than `--max-json-values`
    allows is not built (ijson's objects cost some 15 times their text: an entry of 3 million headers, 87 MB, took
    1.2 GB): `TooManyValues` stands for it, and the entries after it are read (`limits.TooManyValues` raised where
    the file is read from its start: the item may be no entry)."""
    most = limits.current().max_json_values
    while True:
        if in_entries:
            if data.ended:  # the rest of the file, from between two entries: its numbers no parser holds, as in runs
                _huge_numbers_replaced(data.bytes, len(data.bytes))
            if data.bytes[:1] == b"]":  # (no entry follows)
                data.bytes[:0] = b"["
            else:
                data.bytes[:1] = b"["
            data.bytes[:0] = _IN_LOG
        reader = limits.PrunedReader(data, data.limit, max_string=limits.max_string(), most_values=most)
        try:
            for entry in IJSON.items(reader, ENTRY_PREFIX, use_float=True, buf_size=READ_SIZE):
                reader.item_read()
                yield Pruned.of(entry, data.limit) if reader.pruner.pruned else entry
            return
        except limits.TooManyValues as hit:
            if not in_entries:
                raise
            yield TooManyValues(str(hit))
            if not data.past_value(reader.pruner, ENTRY_LEVEL):
                return


ENTRY_LEVEL = 3  # levels open around an entry where ijson reads from `_IN_LOG`: {"log": {"entries": [


@dataclass(frozen=True, slots=True)
class TooManyValues:
    """An entry of more values than `--max-json-values` allows, left out unbuilt; `reason` says so."""

    reason: str


_SHORT_RUN = 64 << 10  # bytes of a run whose brackets are counted before it is parsed (`_Data.parse_run`)


class _Data:
    """The bytes not parsed yet, read a block at a time. An error reading is held back and raised by `read`, ijson's
    way in, once the bytes before it are read: ijson yields the entries in them first."""

    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self.limit = limits.structure_depth()
        self.most_values = limits.current().max_json_values
        pads = 1026 - self.limit  # orjson's 1024 levels, less the run's own and the two above `log.entries`
        self._pads = (b"[" * pads, b"]" * pads)
        self.bytes = bytearray()
        self._error: Exception | None = None
        self._ended = False
        self._rest: SurrogatesReplaced | None = None  # what ijson reads
        self._padded = True  # whether the last run was parsed inside the brackets (`parse_run`)

    @property
    def ended(self) -> bool:
        """Whether the stream is read to its end (or reading failed)."""
        return self._ended

    def more(self) -> bool:
        """Read one more block; False at the end of the stream or once reading failed."""
        if self._ended:
            return False
        try:
            block = self._read(READ_SIZE)
        except Exception as error:  # raised again by `read`, in its place
            self._error, self._ended = error, True
            return False
        self._ended = not block
        self.bytes += block
        return bool(block)

    def parse_run(self, end: int) -> list:
        """orjson's parse of the bytes up to the comma at `end`, as an array: their first byte (`[` or `,`) and the
        comma stand in for its brackets. It is parsed inside brackets that leave orjson `limit` levels of the file
        to read (a copy, a fortieth of the parse): an entry nested deeper is refused for its depth. A short run that
        opens fewer brackets than the limit allows levels is parsed as it is: the brackets and the walk down them
        cost some 170 µs a run, and the end of a file is parsed an entry a run (a MiB of small entries, 1.6 s)."""
        self.bytes[0], self.bytes[end] = ord("["), ord("]")
        try:
            with memoryview(self.bytes) as view, view[: end + 1] as run:
                self._padded = not (end < _SHORT_RUN and (short := run.tobytes()).count(b"[") + short.count(b"{")
                                    <= self.limit - 2)
                if not self._padded:
                    return orjson.loads(short)
                value = orjson.loads(b"".join((self._pads[0], run, self._pads[1])))
        finally:
            self.bytes[end] = ord(",")
        for _ in self._pads[0]:
            value = value[0]
        return value

    def too_many_containers(self, end: int) -> bool:
        """Whether the run up to the comma at `end` opens more arrays and objects than `--max-json-values` allows one
        entry values (strings' brackets too: an upper bound). orjson builds a run whole, and an empty array or
        object costs some 35 times its two bytes: 16 MiB of `[],` in one entry's `_custom` field took 540 MB,
        where such an entry longer than a run was stopped at the limit. Each opens and closes one: a run shorter
        than twice the limit (2 MB; most runs are 1 MiB and an entry) is not counted, a longer one by two counts
        of a byte (some 0.6 ms a MiB)."""
        return end > 2 * self.most_values and \
            self.bytes.count(b"[", 0, end) + self.bytes.count(b"{", 0, end) > self.most_values

    def at_run_end(self, error: orjson.JSONDecodeError) -> bool:
        """Whether `parse_run` failed at the end of the run (where a run cut inside a value fails)."""
        return error.doc is not None and error.pos >= len(error.doc) - 1 - len(self._pads[1]) * self._padded

    def parse_pruned(self, end: int) -> list:
        """`parse_run`'s entries with the values nested deeper than `limit` levels left out, each such entry as
        `Pruned`."""
        self.bytes[0], self.bytes[end] = ord("["), ord("]")
        try:
            pruner = limits.DepthPruner(self.limit, 2)  # the run's `[` stands for `log.entries`, 3 levels down
            entries = orjson.loads(pruner.feed(self.bytes[: end + 1]))
        finally:
            self.bytes[end] = ord(",")
        return [Pruned.of(entry, self.limit) for entry in entries]

    def consume(self, size: int) -> None:
        del self.bytes[:size]  # cheap: a bytearray moves its start rather than its bytes

    def read(self, size: int) -> bytes:
        """What is left, then the rest of the stream, a block at a time, lone surrogates replaced
        (`SurrogatesReplaced`: ijson reads no run, whose parse finds them)."""
        if size == 0:  # ijson's check for bytes or text
            return b""
        if self._rest is None:
            self._rest = SurrogatesReplaced(self._unparsed)
        return self._rest.read(size)

    def past_value(self, pruner: limits.DepthPruner, level: int) -> bool:
        """Leave out the rest of the value that `pruner` (reading what `read` gave) stopped in, up to where the text is
        back within `level` levels: what follows it is read next, from where a parse may begin (past white space).
        False where the text ends first."""
        while block := self.read(READ_SIZE):
            if (end := pruner.end_of_value(block, level)) is not None:
                carried, error = self._rest.held() if self._rest is not None else (b"", None)
                self._rest = None  # (a new parse reads through a new one)
                self._error = error or self._error
                self.bytes[:0] = block[end:] + carried
                while not self.bytes.lstrip() and self.more():
                    pass
                del self.bytes[: len(self.bytes) - len(self.bytes.lstrip())]
                return bool(self.bytes)
        return False

    def _unparsed(self, size: int) -> bytes:
        """What is left, then the rest of the stream, a block at a time; an error reading in its place."""
        if self.bytes:  # (a block at a time too: what ijson reads is counted a read at a time, `PrunedReader`)
            data = bytes(self.bytes[:size]) if 0 < size < len(self.bytes) else bytes(self.bytes)
            del self.bytes[: len(data)]
            return data
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return b"" if self._ended else self._read(size)
