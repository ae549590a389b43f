"""Write a copy of a capture with its secrets replaced by a marker, for participants to send and study teams to keep.

What is a secret is the redaction policy's (`redaction`); this module applies it to every part of a HAR file or a
mitmproxy dump, replacing values only (names and keys stay, so the copy keeps its shape):
- headers and flow trailers: every value but those of known-harmless headers (`redaction.HARMLESS_HEADERS`:
  Content-Type, Date, User-Agent…); an authorization scheme's name is kept (`Bearer REDACTED`); every cookie value
  in Cookie and Set-Cookie (folded or not) and in the HAR `cookies` arrays;
- URLs, wherever they are (request URL, HAR `queryString`, `redirectURL`, Referer, Location, Origin, `:path`,
  `_initiator`, pages): userinfo, credential path segments and parameters (`;jsessionid=`), and query and fragment
  parameters named like a credential or shaped like one;
- bodies, request and response, in every encoding (JSON kept valid, JSON inside JSON strings, forms, HAR
  `postData.params`, multipart parts, text; base64 and gzip undone and redone): credential-named fields, and
  credential-shaped values; a sign-in or token call's body that is none of these is replaced whole; WebSocket and
  TCP messages likewise;
- every other field of the capture (HAR comments, `_webSocketMessages`, flow metadata and comments) as free text.

Device data routes are scrubbed by name and unambiguous shapes only (`redaction.STRICT`), so the copy converts to
the same device tables; rejects differ only where a value was redacted.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Literal, NamedTuple
from urllib.parse import unquote_plus

import ijson
import orjson
from ijson.common import ObjectBuilder

from . import devices, limits, redaction, store
from .atomic import atomic_path, scratch_folder
from .captures import Format, detect_format
from .captures.archives import archive_kind
from .captures.bodies import GZIP_MAGIC, dechunk
from .captures.flow import _decoded, _open_dump, flow_failure, read_dump
from .captures.flow import _read_failure as _flow_failure
from .captures.har import (
    _STREAM_ERRORS, _base64_or_text, _host, _is_encoding_error, _json_bytes, _split_url, compressed_body,
)
from .captures.har import _read_failure as _har_failure
from .captures.har_runs import ENTRY_PREFIX, IJSON, READ_SIZE, SurrogatesReplaced, _huge_numbers_replaced
from .devices.base import Endpoint
from .devices.fields import Dropped, Fields
from .redaction import FULL, MARK, STRICT, BodyKind, Mode, Safe

if TYPE_CHECKING:
    from mitmproxy import http

REDACTED = MARK
PAGE_PREFIX = "log.pages.item"
_BUILT = (ENTRY_PREFIX, PAGE_PREFIX)  # array items built whole and scrubbed as objects
_DEPTH = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


@dataclass
class ScrubReport:
    """The outcome of one scrub; the counts are values replaced (a run over an already scrubbed copy counts 0)."""

    status: Literal["ok", "partial", "failed"] = "ok"
    message: Safe | None = None  # why the copy is partial or was not written; no secrets
    format: Format | Literal["archive"] | None = None
    entries: int = 0  # HAR entries or flows written
    counts: Counter[str] = field(default_factory=Counter)  # what was replaced: headers, cookies, urls, bodies, other

    def as_dict(self) -> dict[str, Any]:
        redaction.require(self.message, "scrub message")
        return {"status": self.status, "message": self.message, "format": self.format, "entries": self.entries,
                "redacted": {k: self.counts[k] for k in KINDS}}


KINDS = ("headers", "cookies", "urls", "bodies", "other")


def output_path(capture: Path, out: str) -> Path:
    """Where `scrub CAPTURE -o OUT` writes: into OUT when it is a folder (existing, or written with a trailing `/`;
    a tar archive's copy, a zip archive, named `….zip`), else to OUT; missing folders on the way are created.
    Raises OSError naming the path that cannot be made."""
    target = Path(out)
    if out.endswith(("/", os.sep)) or target.is_dir():
        name = capture.name
        if capture.is_file() and (kind := archive_kind(capture)) is not None and kind[0] == "tar":
            name = _TAR_SUFFIX.sub("", name) + ".zip"
        target = target / name
    if (place := store.owner(target)) is not None:
        raise OSError(f"cannot write the copy to {target}: it would replace {place[1]} of the databack output folder "
                      f"{place[0]} (write it outside that folder's files)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create the folder {target.parent}: {error.strerror or error}") from error
    return target


_TAR_SUFFIX = re.compile(r"(\.tar)?(\.(gz|tgz|bz2|tbz2?|xz|txz))?$", re.IGNORECASE)


def scrub_capture(src: Path, dst: Path, budget: limits.Limits | None = None) -> ScrubReport:
    """Write `src` (HAR, possibly gzip/zlib-compressed, or mitmproxy dump; or a zip or tar archive of them, copied
    as a zip archive of its captures) to `dst` with its secrets replaced.

    A HAR is written as plain JSON, a dump uncompressed. `dst` is replaced atomically and only if something could be
    read; when the input is cut off or damaged, everything before the damage is written and the status is "partial".
    Within `budget` (default: `limits.current()`): a body over a limit is replaced whole, and so is a value of the
    HAR nested deeper than `limits.structure_depth`; a flow too long stops the copy there ("partial").
    """
    with limits.applied(budget):
        return _scrub_capture(src, dst)


def _scrub_capture(src: Path, dst: Path) -> ScrubReport:
    try:
        if dst.exists() and dst.samefile(src):
            return _failed("the output is the input file; choose another output path")
        if (kind := archive_kind(src)) is not None:
            return _scrub_archive(src, kind, dst)
        fmt = detect_format(src)
    except OSError as error:
        return _failed(f"cannot read the file: {error.strerror or error}")
    if fmt == "har":
        scrub = _scrub_har
    elif fmt == "flow":
        scrub = _scrub_flows
    else:
        return _failed("not a HAR file or a mitmproxy flow dump")
    try:
        with atomic_path(dst) as temp:
            with open(temp, "wb") as out:
                report = scrub(src, out)
            _limits_note(report)
            if report.status == "failed":
                raise _NothingReadable
    except _NothingReadable:
        pass
    except OSError as error:
        report = _failed(f"cannot read or write: {error.strerror or error}", fmt)
    return report


def _scrub_archive(src: Path, kind: tuple, dst: Path) -> ScrubReport:
    """A zip or tar archive (as convert reads them) written as a zip archive of its captures, each scrubbed, under
    the same names; a member that is no capture, or cannot be read, is left out (the copy is then partial) and
    named in the message, as nothing of it can be known to be safe."""
    from .captures.archives import ArchiveError, members

    report = ScrubReport(format="archive")
    try:
        found = members(src, kind, limits.current())
    except ArchiveError as error:
        return _failed(str(error))
    left_out: list[str] = []
    try:
        _copy_members(found, dst, left_out, report)
    except _NothingReadable:
        return _failed("no member could be copied: " + "; ".join(left_out[:5]) if left_out else "an empty archive")
    except OSError as error:
        return _failed(f"cannot read or write: {error.strerror or error}", "archive")
    if left_out:
        report.status = "partial"
        report.message = redaction.message(f"{len(left_out)} of {len(found)} members not copied whole: "
                                           + "; ".join(left_out[:5]) + ("; …" if len(left_out) > 5 else ""))
    return report


def _copy_members(found: list, dst: Path, left_out: list[str], report: ScrubReport) -> None:
    """Each capture of `found` scrubbed into the zip archive `dst` (written whole or not at all)."""
    import shutil
    import zipfile

    from .captures.archives import ArchiveMember
    from .pipeline import text_name

    with scratch_folder("scrub") as work, atomic_path(dst) as temp:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in found:
                if not isinstance(member, ArchiveMember):
                    left_out.append(f"{member.name} ({member.reason})")
                    continue
                spooled, copy = Path(work) / "member", Path(work) / "copy"
                try:
                    with member.open() as data, open(spooled, "wb") as out:
                        shutil.copyfileobj(data, out)
                except OSError as error:
                    left_out.append(f"{member.name} (cannot read it: {error.strerror or error})")
                    continue
                if archive_kind(spooled) is not None:
                    left_out.append(f"{member.name} (an archive in an archive: not read)")
                    continue
                scrubbed = _scrub_capture(spooled, copy)
                if scrubbed.status == "failed":
                    left_out.append(f"{member.name} ({scrubbed.message})")
                    continue
                archive.write(copy, redaction.file_name(text_name(member.name)))  # named as convert names it
                report.entries += scrubbed.entries
                report.counts.update(scrubbed.counts)
                if scrubbed.status == "partial":
                    left_out.append(f"{member.name}: partial ({scrubbed.message})")
        if not archive.namelist():
            raise _NothingReadable


def _failed(message: str, fmt: Format | None = None) -> ScrubReport:
    return ScrubReport("failed", redaction.message(message), fmt)


class _NothingReadable(Exception):
    """Raised to leave `dst` as it was when nothing of the input could be read."""


def _stopped(report: ScrubReport, message: str) -> None:
    """Record that reading stopped early: partial if entries were written, else failed."""
    report.status = "partial" if report.entries else "failed"
    report.message = redaction.message(message)


def _take_all(found: list) -> list:
    """Empty `found`, returning what it held."""
    taken = found[:]
    found.clear()
    return taken


# --- what a request is ---------------------------------------------------------------------------------------------


class Route(NamedTuple):
    """Whose bodies an exchange's are, how its URL is scrubbed, and the device endpoint whose data it holds."""

    kind: BodyKind
    mode: Mode
    endpoint: Endpoint | None = None

    def kept(self, side: str) -> redaction.Kept | None:
        """Which fields of its `side` body ("request", "response") its device's tables keep (`redaction.Kept`), where
        its endpoint reads that body and maps its fields."""
        fields = self.endpoint.fields if self.endpoint is not None and self.endpoint.reads == side else None
        return None if fields is None else partial(_kept, fields)


def _kept(fields: Fields, path: tuple[str, ...]) -> bool:
    return (target := fields.target(path)) is not None and not isinstance(target, Dropped)


def _route(host: str, method: str, path: str) -> Route:
    """A device data route's bodies, path and query are data (STRICT, so that the copy converts the same; its bodies'
    fields that no table keeps as any body's), a device's sign-in or a URL that says sign-in or token is a sign-in
    call, the rest other."""
    m = devices.match(host, method, path)
    if m is not None and m.endpoint is not None and m.endpoint.kind == "data":
        return Route("device", STRICT, m.endpoint)
    if (m is not None and m.endpoint is not None) or redaction.is_sign_in_url(host + path):
        return Route("sign-in", FULL)
    return Route("other", FULL)


def _request_kind(kind: BodyKind) -> BodyKind:
    """What a request body of a call of this kind is: a sign-in call's request keeps only harmless fields."""
    return "sign-in-request" if kind == "sign-in" else kind


def _body(data: bytes, content_type: str | None, kind: BodyKind, counts: Counter[str], sent: int | None = None,
          kept: redaction.Kept | None = None) -> bytes:
    """`redaction.redact_body`, through chunked framing and gzip as the HAR reader undoes them (`sent`: the body's
    size as sent, where `data` is decoded from it already: --max-ratio weighs against it). A body over a limit
    cannot be looked into: it is replaced whole (and noted in `counts`). `kept`: `redaction.redact_body`'s."""
    sent = len(data) if sent is None else sent
    dechunked = dechunk(data) if data[:1].isalnum() else None
    if dechunked is not None:
        redacted = _body(dechunked, content_type, kind, counts, sent, kept)
        return data if redacted == dechunked else redacted
    if data.startswith(GZIP_MAGIC):
        try:
            inflated = limits.gunzip(data, sent=sent)
        except limits.LimitHit as hit:
            return _over_limit(hit, counts)
        except ValueError:  # damaged or cut off: the policy reads what it holds up to where it breaks
            if kind in ("sign-in", "sign-in-request"):
                return MARK.encode()
            return _redacted(data, content_type, kind, counts, kept)
        redacted = _redacted(inflated, content_type, kind, counts, kept)
        return data if redacted == inflated else gzip.compress(redacted, mtime=0)
    return _redacted(data, content_type, kind, counts, kept)


def _redacted(data: bytes, content_type: str | None, kind: BodyKind, counts: Counter[str],
              kept: redaction.Kept | None = None) -> bytes:
    """`redaction.redact_body`, which parses JSON whole: JSON over the depth or values limit is replaced whole."""
    if data[:64].lstrip()[:1] in (b"{", b"["):
        try:
            limits.check_json(data)
        except limits.LimitHit as hit:
            return _over_limit(hit, counts)
    return redaction.redact_body(data, content_type, kind, kept)


OVER_LIMIT = "over a limit: "  # what `counts` keys of bodies replaced whole for a limit begin with


def _over_limit(hit: limits.LimitHit, counts: Counter[str]) -> bytes:
    """The marker that replaces a body over a limit whole, the limit noted in `counts` (the body is counted where
    it is replaced, as any other)."""
    counts[OVER_LIMIT + str(hit)] += 1
    return MARK.encode()


def _add_note(report: ScrubReport, note: str) -> None:
    """Add `note` to the report's message, after what it says already."""
    report.message = redaction.message(f"{report.message}; {note}" if report.message else note)


def _limits_note(report: ScrubReport) -> None:
    """Move the bodies replaced for a limit from the counts into the report's message (the copy is still whole)."""
    hits = Counter({k.removeprefix(OVER_LIMIT): n for k, n in report.counts.items() if k.startswith(OVER_LIMIT)})
    if not hits:
        return
    for reason in hits:
        del report.counts[OVER_LIMIT + reason]
    bodies = f"{hits.total()} bod{'ies' if hits.total() > 1 else 'y'}"
    _add_note(report, f"{bodies} over a limit replaced whole: {'; '.join(sorted(hits))}")


# --- HAR ------------------------------------------------------------------------------------------------


def _scrub_har(src: Path, out: BinaryIO) -> ScrubReport:
    """Write the HAR as UTF-8 JSON, scrubbed; a file that turns out not to be UTF-8 is written again from the start,
    read as Windows' Latin-1, and one holding a number the parser cannot hold, with such numbers as the HAR reader
    reads them (`null`, or a float)."""
    text_encoding: str | None = None
    report, error = _rewrite_har(src, out, text_encoding)
    if error is not None and _is_encoding_error(error):
        out.seek(0)
        out.truncate()
        text_encoding = "cp1252"
        report, error = _rewrite_har(src, out, text_encoding)
    if error is not None and ("overflow" in str(error) or "invalid char" in str(error)):  # (NaN, Infinity too)
        out.seek(0)
        out.truncate()
        report, _ = _rewrite_har(src, out, text_encoding, numbers=True)
    return report


def _rewrite_har(
    src: Path, out: BinaryIO, text_encoding: str | None, numbers: bool = False
) -> tuple[ScrubReport, Exception | None]:
    """Re-emit the HAR's JSON event by event, each `log.entries` and `log.pages` item built whole, scrubbed and
    written compact; with `numbers`, those beyond a float's or 64 bits' range replaced as the HAR reader reads them.
    Returns the report and the error that stopped reading, if any (the JSON written is then closed after the last
    complete entry)."""
    report = ScrubReport(format="har")
    events = ijson.sendable_list()
    parser = IJSON.parse_coro(events, use_float=True)
    rewriter = _HarRewriter(out, report)
    # what is nested too deep: replaced whole; a string longer than a body's limit allows: cut short
    pruner = limits.DepthPruner(limits.structure_depth(), 0, MARK, limits.max_string())
    try:  # opening reads the first bytes too: a damaged compressed header fails here
        with _json_bytes(src, text_encoding) as json_bytes:
            # lone surrogates replaced as the HAR reader reads them
            for chunk in iter(partial(SurrogatesReplaced(json_bytes.read).read, READ_SIZE), b""):
                outside = pruner.outside_strings_from(chunk)
                if pruned := pruner.feed(chunk):  # (a chunk left out or held back whole is no end of the file)
                    rewriter.weigh(pruned)
                    if numbers and outside is not None:
                        with_numbers = bytearray(pruned)
                        _huge_numbers_replaced(with_numbers, len(with_numbers), outside)
                        pruned = bytes(with_numbers)
                    parser.send(pruned)
                rewriter.events(_take_all(events))
            parser.close()
    except _STREAM_ERRORS as error:
        rewriter.events(_take_all(events))  # those parsed before the error, in the same chunk
        rewriter.close_open()
        _stopped(report, _har_failure(error, report.entries))
        _pruned_note(report, pruner)
        _too_many_note(report, rewriter.too_many)
        _too_long_note(report, rewriter.too_long)
        return report, error
    rewriter.events(_take_all(events))
    out.write(b"\n")
    _pruned_note(report, pruner)
    _too_many_note(report, rewriter.too_many)
    _too_long_note(report, rewriter.too_long)
    if not rewriter.found_entries:
        report.status, report.message = "failed", redaction.message("JSON but not a HAR file (no log.entries)")
    return report, None


def _pruned_note(report: ScrubReport, pruner: limits.DepthPruner) -> None:
    """Values of the HAR nested too deep, replaced whole: counted, and said in the report's message."""
    _deep_note(report, pruner.pruned, pruner.limit)


def _deep_note(report: ScrubReport, count: int, limit: int | None = None) -> None:
    """Values of the capture nested deeper than `limit` (`limits.structure_depth()`), replaced whole: counted, and said
    in the report's message."""
    if count:
        limit = limits.structure_depth() if limit is None else limit
        report.counts["other"] += count
        note = f"{count} value{'s' * (count > 1)} nested deeper than {limit} levels replaced whole (--max-depth)"
        _add_note(report, note)


def _too_many_note(report: ScrubReport, count: int) -> None:
    """Entries (or pages) of more values than `--max-json-values`, left out of the copy: partial, and said."""
    if count:
        most = limits.current().max_json_values
        note = f"{count} entr{'ies' if count > 1 else 'y'} of more than {most:,} values left out (--max-json-values)"
        report.status = "partial" if report.status == "ok" else report.status
        _add_note(report, note)


def _too_long_note(report: ScrubReport, count: int) -> None:
    """Values other than bodies too long to judge (`limits.value_too_long`), replaced whole: counted, and said."""
    if count:
        report.counts["other"] += count
        _add_note(report, limits.values_too_long_note(count))


class _HarRewriter:
    """Turns ijson parse events back into JSON, scrubbing each entry and page on the way, and every other string
    (creator, comments) as free text."""

    def __init__(self, out: BinaryIO, report: ScrubReport):
        self._json = _JsonWriter(out)
        self._report = report
        self._item: ObjectBuilder | None = None  # the entry or page being built
        self._prefix = ""
        self._depth = 0  # of the item being built
        self._key: str | None = None  # the last key outside items
        self.found_entries = False
        self._values = limits.value_counter()  # of the text parsed since the item being built began
        self._skipping = False  # in an item left out
        self.too_many = 0  # items left out for their values
        self.too_long = 0  # values other than bodies replaced whole for their length (`limits.value_too_long`)

    def weigh(self, chunk: bytes) -> None:
        """Count the values of the next chunk parsed, before its events: an item being built when those parsed since
        it began (counted from the chunk after: a chunk's worth past the limit at most) are more than
        `--max-json-values` allows is left out, not built on (ijson's objects cost some 15 times their text)."""
        if self._item is not None and self._values.values > limits.current().max_json_values:
            self._item, self._skipping = None, True
            self.too_many += 1
        self._values.feed(chunk)

    def events(self, events: list[tuple[str, str, Any]]) -> None:
        for prefix, event, value in events:
            if self._item is not None or self._skipping:
                if self._item is not None:
                    self._item.event(event, value)
                self._depth += _DEPTH.get(event, 0)
                if self._depth == 0:
                    if self._item is not None:
                        self._write_item(self._prefix, self._item.value)
                    self._item, self._skipping = None, False
            elif prefix in _BUILT and event in ("start_map", "start_array"):
                self._item, self._prefix, self._depth = ObjectBuilder(), prefix, 1
                self._item.event(event, value)
                self._values.values = 0
            elif prefix in _BUILT:
                self._write_item(prefix, value)  # a scalar item
            else:
                self.found_entries |= prefix == "log.entries" and event == "start_array"
                if event == "map_key":
                    self._key = value
                    shown = redaction.json_key(value)
                    self._report.counts["other"] += shown != value
                    value = shown
                elif event == "string":
                    value = self._free_string(value)
                self._json.event(event, value)

    def _free_string(self, value: str) -> str:
        if limits.value_too_long(value):
            self.too_long += 1
            return MARK
        redacted = MARK if self._key and redaction.is_credential(self._key, value) else \
            redaction.redact_string(value, FULL, self._key)
        self._report.counts["other"] += redacted != value
        return redacted

    def close_open(self) -> None:
        """Drop an incomplete item and close what is open, so the JSON written so far is complete."""
        self._item, self._skipping = None, False
        self._json.close_open()

    def _write_item(self, prefix: str, item: Any) -> None:
        item, replaced = _long_values_replaced(item)
        self.too_long += replaced
        if prefix == ENTRY_PREFIX and isinstance(item, dict):
            _scrub_har_entry(item, self._report.counts)
            self._report.entries += 1
        elif prefix == ENTRY_PREFIX:  # no entry the reader takes (text, a list): every leaf replaced
            item, replaced = redaction.every_leaf(item)
            self._report.counts["other"] += replaced
            self._report.entries += 1
        else:
            item, replaced = redaction.redact_json(item, FULL)
            self._report.counts["other"] += replaced
        self._json.value(redaction._dumps(item))


def _long_values_replaced(item: Any) -> tuple[Any, int]:
    """(an entry or page with every string `limits.value_too_long` finds replaced whole, but its bodies' text and
    base64, which `_scrub_har_body` weighs as bodies; how many)."""
    if isinstance(item, str):
        return (MARK, 1) if limits.value_too_long(item) else (item, 0)
    parts = ((item.get("request"), "postData"), (item.get("response"), "content")) if isinstance(item, dict) else ()
    bodies = {id(part[name]) for part, name in parts if isinstance(part, dict) and isinstance(part.get(name), dict)}
    replaced, stack = 0, [item]
    while stack:
        holder = stack.pop()
        if isinstance(holder, dict):
            keys: Iterable = [k for k in holder if k not in ("text", "_textBase64")] if id(holder) in bodies else holder
        elif isinstance(holder, list):
            keys = range(len(holder))
        else:
            continue
        for key in keys:
            value = holder[key]
            if isinstance(value, str):
                if limits.value_too_long(value):
                    holder[key] = MARK
                    replaced += 1
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return item, replaced


class _JsonWriter:
    """Writes JSON from parse events and ready-encoded values; a key is written only with its value."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._closers: list[bytes] = []  # of the open containers, innermost last
        self._empty: list[bool] = []  # whether each open container has no member yet
        self._key: bytes | None = None

    def event(self, event: str, value: Any) -> None:
        if event == "map_key":
            self._key = redaction._dumps(value)
        elif event in ("start_map", "start_array"):
            self._separate()
            self._out.write(b"{" if event == "start_map" else b"[")
            self._closers.append(b"}" if event == "start_map" else b"]")
            self._empty.append(True)
        elif event in ("end_map", "end_array"):
            self._end()
        else:
            self.value(redaction._dumps(value))

    def value(self, encoded: bytes) -> None:
        self._separate()
        self._out.write(encoded)

    def close_open(self) -> None:
        self._key = None
        while self._closers:
            self._end()

    def _separate(self) -> None:
        if self._empty:
            if not self._empty[-1]:
                self._out.write(b",")
            self._empty[-1] = False
        if self._key is not None:
            self._out.write(self._key + b":")
            self._key = None

    def _end(self) -> None:
        self._out.write(self._closers.pop())
        self._empty.pop()


_REQUEST_FIELDS = frozenset({"method", "url", "httpVersion", "headers", "queryString", "cookies", "postData",
                             "headersSize", "bodySize"})
_RESPONSE_FIELDS = frozenset({"status", "statusText", "httpVersion", "headers", "cookies", "content", "redirectURL",
                              "headersSize", "bodySize"})
_BODY_FIELDS = frozenset({"size", "compression", "mimeType", "text", "encoding", "_textBase64", "params"})


def _scrub_har_entry(entry: Any, counts: Counter[str]) -> None:
    """Scrub one HAR entry in place; parts that are not shaped as HAR 1.2 says are scrubbed as free text."""
    if not isinstance(entry, dict):
        return
    request, response = entry.get("request"), entry.get("response")
    route = _har_route(request)
    kind, mode = route.kind, route.mode
    if isinstance(entry.get("_webSocketMessages"), list):
        _scrub_har_logins(entry["_webSocketMessages"], "device" if kind == "device" else "other", counts)
    _scrub_other_fields(entry, {"request", "response"}, counts)
    if isinstance(request, dict):
        _scrub_other_fields(request, _REQUEST_FIELDS, counts)
        _scrub_words(request, ("method", "httpVersion", "headersSize", "bodySize"), counts)
        if isinstance(request.get("url"), str):
            request["url"] = _url(request["url"], mode, counts)
        else:
            _scrub_words(request, ("url",), counts)  # no URL the reader takes: replaced if it holds any text
        _scrub_har_headers(_listed(request, "headers", counts), mode, counts)
        _scrub_pairs(_listed(request, "queryString", counts), FULL, counts, "urls")
        _scrub_cookies(_listed(request, "cookies", counts), counts)
        if isinstance(request.get("postData"), dict):
            _scrub_har_body(request["postData"], _request_kind(kind), mode, counts, kept=route.kept("request"))
        else:  # no body the reader takes: replaced if it holds any text
            _scrub_words(request, ("postData",), counts)
    elif request is not None:
        entry["request"], replaced = redaction.redact_json(request, FULL)
        counts["other"] += replaced
    if isinstance(response, dict):
        _scrub_other_fields(response, _RESPONSE_FIELDS - {"statusText"}, counts)  # the reason phrase as free text
        _scrub_words(response, ("httpVersion", "status", "headersSize", "bodySize"), counts)
        _scrub_har_headers(_listed(response, "headers", counts), mode, counts)
        _scrub_cookies(_listed(response, "cookies", counts), counts)
        if isinstance(response.get("redirectURL"), str):
            response["redirectURL"] = _url(response["redirectURL"], FULL, counts)
        else:
            _scrub_words(response, ("redirectURL",), counts)
        if isinstance(response.get("content"), dict):
            headers = [(h["name"], h["value"]) for h in response.get("headers") or () if isinstance(h, dict)
                       and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)]
            _scrub_har_body(response["content"], kind, mode, counts, headers, route.kept("response"))
        else:
            _scrub_words(response, ("content",), counts)
    elif response is not None:
        entry["response"], replaced = redaction.redact_json(response, FULL)
        counts["other"] += replaced


def _scrub_har_logins(messages: list, kind: BodyKind, counts: Counter[str]) -> None:
    """Chrome's `_webSocketMessages`: login protocols' credentials in a message's data (`redaction.redact_logins`),
    a binary one's (opcode 2) read from its base64 and scrubbed as a flow's binary message is (as a body: compressed
    data, JSON, pairs and printable runs in it); each message is then scrubbed as free text with the entry."""
    for m in messages:
        data = m.get("data") if isinstance(m, dict) else None
        if not isinstance(data, str) or not data:
            continue
        binary = m.get("opcode") == 2
        try:
            raw = base64.b64decode(data, validate=True) if binary else data.encode("utf-8", "surrogatepass")
        except ValueError:
            continue
        scrubbed = redaction.redact_logins(raw)
        if binary:
            scrubbed = _redacted(scrubbed, None, kind, counts)
        if scrubbed != raw:
            m["data"] = base64.b64encode(scrubbed).decode() if binary else scrubbed.decode("utf-8", "surrogatepass")
            counts["other"] += 1


def _scrub_words(holder: dict, fields: Iterable[str], counts: Counter[str]) -> None:
    """Fields that hold a word (method, HTTP version, encoding): replaced whole if the policy finds a credential, or
    if it is no text (a list, an object)."""
    for name in fields:
        value = holder.get(name)
        if isinstance(value, (list, dict)):
            holder[name], replaced = redaction.every_leaf(value)
            counts["other"] += replaced
            continue
        if isinstance(value, str) and value not in ("", MARK) and redaction.redact_text(value, FULL) != value:
            holder[name] = MARK
            counts["other"] += 1


def _har_route(request: Any) -> Route:
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        return Route("sign-in", FULL)  # nothing says what it is: the strictest treatment
    try:
        _, url_host, _, path, _ = _split_url(request["url"])
        host = _host(url_host, request.get("headers") if isinstance(request.get("headers"), list) else None)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Route("sign-in", FULL)
    method = request.get("method")
    return _route(host.lower(), method.upper() if isinstance(method, str) else "", path)


def _scrub_other_fields(holder: dict, known: frozenset[str] | set[str], counts: Counter[str]) -> None:
    """The fields of `holder` not in `known` scrubbed as any JSON, their names too (in their places)."""
    if all(k in known for k in holder):
        return
    fields = list(holder.items())
    holder.clear()
    for key, value in fields:
        if key in known:
            holder[key] = value
            continue
        redacted, replaced = redaction.redact_json({key: value}, FULL)  # the key's name counts too
        if isinstance(redacted, dict):
            shown, value = next(iter(redacted.items()))
        else:  # nested too deep: replaced whole
            shown, value = redaction.json_key(key), redacted
        name, n = shown, 1
        while name in holder or name != key and name in known:
            n += 1
            name = f"{shown}-{n}"
        holder[name] = value
        counts["other"] += replaced


def _url(url: str, mode: Mode, counts: Counter[str]) -> str:
    """A URL scrubbed: its path in `mode` (STRICT on a device's route), its query and fragment FULL."""
    redacted = redaction.redact_url(url, FULL, path_mode=mode)
    counts["urls"] += redacted != url
    return redacted


_ITEM_FIELDS = frozenset({"name", "value"})  # of a HAR header, cookie or parameter; the rest (comment…) free text


def _listed(holder: dict, key: str, counts: Counter[str]) -> list | None:
    """`holder[key]`, a list of `{name, value}` items as HAR has them: an object of names and values (which the HAR
    reader takes as its pairs) made one; anything else (a string, a number) has every leaf replaced."""
    value = holder.get(key)
    if isinstance(value, dict):
        holder[key] = value = [{"name": name, "value": item} for name, item in value.items()]
    elif value is not None and not isinstance(value, list):
        holder[key], replaced = redaction.every_leaf(value)
        counts["other"] += replaced
        return None
    return value


def _scrub_har_headers(headers: Any, mode: Mode, counts: Counter[str]) -> None:
    for header in headers if isinstance(headers, list) else ():
        if isinstance(header, dict):
            _scrub_other_fields(header, _ITEM_FIELDS, counts)
        if isinstance(header, dict) and isinstance(header.get("name"), str) and isinstance(header.get("value"), str):
            _scrub_name(header, counts, "headers")
            header["value"], what = redaction.redact_header(header["name"], header["value"], mode)
            if what:
                counts[_COUNTED[what]] += 1
        elif isinstance(header, dict) and header.get("value") is not None:  # a list, a number: not HAR's
            _scrub_name(header, counts, "headers")
            header["value"], replaced = redaction.every_leaf(header["value"])
            counts["headers"] += replaced


_COUNTED = {"header": "headers", "cookie": "cookies", "url": "urls"}
_COOKIE_FIELDS = frozenset({"path", "domain", "expires", "httpOnly", "secure", "sameSite"})
_PART_FIELDS = frozenset({"fileName", "contentType"})  # of a HAR postData parameter (a multipart part)


def _scrub_pairs(items: Any, mode: Mode, counts: Counter[str], kind: str, sign_in: bool = False) -> None:
    """`{name, value}` items (query parameters, form fields): a credential's value replaced (with `sign_in`, every
    value but those of `redaction.SIGN_IN_FIELDS`), any other value scrubbed as a string."""
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            _scrub_other_fields(item, _ITEM_FIELDS | _PART_FIELDS, counts)
            _scrub_words(item, _PART_FIELDS, counts)  # a multipart part's file name: `password=….txt`, a token
            _scrub_name(item, counts, kind)
        if not isinstance(item, dict) or item.get("value") in (None, "", MARK):
            continue
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        if not isinstance(item["value"], str):  # a number, a list: as JSON under its name
            if sign_in and not redaction.sign_in_field(name):
                item["value"], replaced = redaction.every_leaf(item["value"])
            else:
                redacted, replaced = redaction.redact_json({name: item["value"]}, FULL)
                item["value"] = redacted[name] if isinstance(redacted, dict) and name in redacted else MARK
            counts[kind] += replaced
            continue
        value = item["value"]
        if redaction.is_credential(name, value) or redaction.is_credential_value(value, mode) or (
            sign_in and not redaction.sign_in_field(name)
        ):
            item["value"] = MARK
        else:
            item["value"] = redaction.redact_string(value, mode, name)
        counts[kind] += item["value"] != value


def _scrub_name(item: dict, counts: Counter[str], kind: str) -> None:
    """A `{name, value}` item's name that is itself a credential (a bare token as a query parameter: `?eyJ…`), or
    that holds one (a whole header line as its name, `Authorization: Bearer …`; `?token:…`; a cookie `sid=…`)."""
    name = item.get("name")
    if isinstance(name, str) and name != MARK and (shown := _name_shown(name)) != name:
        item["name"] = shown
        counts[kind] += 1


def _name_shown(name: str) -> str:
    """A header's, parameter's or cookie's name as a copy keeps it: a credential whole, or its credentials replaced."""
    if redaction.is_credential_value(unquote_plus(name), FULL):
        return MARK
    return redaction.redact_text(name, FULL)


def _scrub_cookies(items: Any, counts: Counter[str]) -> None:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            _scrub_other_fields(item, _ITEM_FIELDS | _COOKIE_FIELDS, counts)
            _scrub_words(item, _COOKIE_FIELDS, counts)  # words, dates and flags: replaced where they hold more
            _scrub_name(item, counts, "cookies")
        if isinstance(item, dict) and item.get("value") not in (None, "", MARK):
            item["value"] = MARK
            counts["cookies"] += 1


def _parses(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def _scrub_har_body(holder: dict, kind: BodyKind, mode: Mode, counts: Counter[str],
                    headers: list[tuple[str, str]] | None = None, kept: redaction.Kept | None = None) -> None:
    """A `postData` or `content`: its text (plain or base64), `_textBase64` and form `params`; other fields as
    free text. A body in base64 as sent, compressed per its Content-Encoding (`headers`), is scrubbed decoded and
    compressed again."""
    _scrub_other_fields(holder, _BODY_FIELDS, counts)
    _scrub_words(holder, ("encoding", "compression", "size"), counts)
    _scrub_pairs(_listed(holder, "params", counts), FULL, counts, "bodies", sign_in=kind == "sign-in-request")
    mime = holder.get("mimeType") if isinstance(holder.get("mimeType"), str) else None
    if mime is not None:  # as the Content-Type header it copies
        holder["mimeType"], what = redaction.redact_header("content-type", mime)
        counts["headers"] += what is not None
    for key, is_base64 in (("text", holder.get("encoding") == "base64"), ("_textBase64", True)):
        text = holder.get(key)
        if text is not None and not isinstance(text, str):  # an object, a number: the reader takes it as its JSON
            data = redaction._dumps(text)
            scrubbed = _body(data, mime, kind, counts, kept=kept)
            if scrubbed != data:
                holder[key] = orjson.loads(scrubbed) if _parses(scrubbed) else scrubbed.decode("utf-8", "replace")
                counts["bodies"] += 1
            continue
        if not isinstance(text, str) or not text:
            continue
        try:
            limits.check_string(text)  # cut short as it was read: over the body's limit, replaced whole
            data = _base64_or_text(text) if is_base64 else text.encode("utf-8", "replace")
            compressed = compressed_body(data, headers) if is_base64 and headers else None
            # gzipped, perhaps over the coding its Content-Encoding names (a tool's gzip over a server's deflate), as
            # the HAR reader reads it: gunzipped (once), then decoded per the header
            gunzipped = _gunzipped(data) if compressed is None and is_base64 and headers else None
            if gunzipped is not None:
                compressed = compressed_body(gunzipped, headers, len(data))
        except limits.LimitHit as hit:
            holder[key] = _over_limit(hit, counts).decode()
            counts["bodies"] += 1
            continue
        if compressed is not None:  # scrubbed as what it holds, compressed again as it was sent
            scrubbed = _body(compressed, mime, kind, counts, len(data), kept)
            if scrubbed == compressed:
                scrubbed = data
            else:
                scrubbed = _compressed_again(scrubbed, headers)
                scrubbed = scrubbed if gunzipped is None else gzip.compress(scrubbed, mtime=0)
        elif gunzipped is not None:  # gzip alone: what `_body` does with it, from the data gunzipped above
            redacted = _redacted(gunzipped, mime, kind, counts, kept)
            scrubbed = data if redacted == gunzipped else gzip.compress(redacted, mtime=0)
        else:
            scrubbed = _body(data, mime, kind, counts, kept=kept)
        if scrubbed != data:
            holder[key] = base64.b64encode(scrubbed).decode() if is_base64 else scrubbed.decode("utf-8", "replace")
            counts["bodies"] += 1


def _gunzipped(data: bytes) -> bytes | None:
    """`data` gunzipped where it is gzip (`limits.LimitHit` for one over a limit), else None."""
    if not data.startswith(GZIP_MAGIC):
        return None
    try:
        return limits.gunzip(data)
    except limits.LimitHit:
        raise
    except ValueError:
        return None


def _compressed_again(data: bytes, headers: list[tuple[str, str]]) -> bytes:
    """`data` compressed per the Content-Encoding of `headers`, each coding in the order it was applied."""
    from mitmproxy.net import encoding

    codings = ", ".join(value for name, value in headers if name.lower() == "content-encoding")
    for coding in (c.strip().lower() for c in codings.split(",")):
        if coding not in ("", "identity", "none"):
            data = encoding.encode(data, coding)
    return data


# --- mitmproxy flows ------------------------------------------------------------------------------------


def _scrub_flows(src: Path, out: BinaryIO) -> ScrubReport:
    """Copy the dump flow by flow, scrubbing HTTP flows, their WebSocket messages, and TCP and UDP messages; DNS
    flows are copied as they are."""
    from mitmproxy import exceptions, http
    from mitmproxy import io as mio

    read_errors = (
        exceptions.FlowReadException, KeyError, ValueError, IndexError, TypeError, AssertionError, EOFError, zlib.error,
        gzip.BadGzipFile,
    )  # as in captures.flow: mitmproxy lets the bare ones through on damaged dumps
    report = ScrubReport(format="flow")
    writer = mio.FlowWriter(out)
    unreadable: list[str] = []  # why each flow left out could not be built
    deep: list[int] = []  # a 1 for each value nested too deep, left out of its flow
    with _open_dump(src) as dump:
        flows = read_dump(dump, deep)
        while True:
            try:
                flow = next(flows)
            except StopIteration:
                _note_unreadable(report, unreadable)
                _deep_note(report, len(deep))
                return report
            except read_errors as error:
                _stopped(report, f"{_flow_failure(error)}; flows read: {report.entries}")
                _deep_note(report, len(deep))
                return report
            if isinstance(flow, Exception):
                unreadable.append(flow_failure(flow))
                continue
            if isinstance(flow, http.HTTPFlow):
                _scrub_http_flow(flow, report.counts)
            else:
                _scrub_messages(getattr(flow, "messages", None), "other", report.counts)
            _scrub_flow_fields(flow, report.counts)
            writer.add(flow)
            report.entries += 1


def _note_unreadable(report: ScrubReport, reasons: list[str]) -> None:
    """Flows that could not be built are left out of the copy: partial (failed when no flow was written)."""
    if reasons:
        flows = f"{len(reasons)} flow{'s' * (len(reasons) > 1)}"
        _stopped(report, f"{flows} could not be read and {'were' if len(reasons) > 1 else 'was'} left out "
                         f"(the first: {reasons[0]})")


def _scrub_http_flow(flow: http.HTTPFlow, counts: Counter[str]) -> None:
    """Scrub request path, headers, trailers, bodies and WebSocket messages in place."""
    request = flow.request
    route = _route(request.pretty_host.lower(), request.method.upper(), request.path.partition("?")[0])
    kind, mode = route.kind, route.mode
    path = _url(request.path, mode, counts)
    if path != request.path:
        request.path = path
    if "@" in request.authority:  # absolute-form requests may carry userinfo: alice:PW@host
        request.authority = f"{MARK}@{request.authority.rpartition('@')[2]}"
        counts["urls"] += 1
    if "@" in request.data.host:  # the host a Host header with userinfo gave
        request.data.host = f"{MARK}@{request.data.host.rpartition('@')[2]}"
        counts["urls"] += 1
    for message, body_kind, side in ((request, _request_kind(kind), "request"), (flow.response, kind, "response")):
        if message is None:
            continue
        _scrub_mitmproxy_headers(message.headers, mode, counts)
        if message.trailers:
            _scrub_mitmproxy_headers(message.trailers, mode, counts)
        _scrub_message_body(message, body_kind, counts, route.kept(side))
    if flow.websocket is not None:
        _scrub_messages(flow.websocket.messages, "device" if kind == "device" else "other", counts)


def _scrub_message_body(message: http.Message, kind: BodyKind, counts: Counter[str],
                        kept: redaction.Kept | None = None) -> None:
    """The body, decoded per Content-Encoding and encoded again; one that does not decode is scrubbed as it is."""
    content_type = message.headers.get("content-type")
    try:
        data = _decoded(message)
    except limits.LimitHit as hit:
        message.headers.pop("content-encoding", None)
        message.raw_content = _over_limit(hit, counts)
        counts["bodies"] += 1
        return
    except ValueError:
        raw = message.raw_content
        if raw:
            scrubbed = _redacted(raw, content_type, kind, counts, kept)
            if scrubbed != raw:
                message.raw_content = scrubbed
                counts["bodies"] += 1
        return
    if data:
        scrubbed = _redacted(data, content_type, kind, counts, kept)
        if scrubbed != data:
            message.set_content(scrubbed)  # re-encoded per Content-Encoding, Content-Length updated
            counts["bodies"] += 1


def _scrub_messages(messages: Any, kind: BodyKind, counts: Counter[str]) -> None:
    """WebSocket, TCP or UDP messages (login protocols' credentials too: `redaction.redact_logins`)."""
    for m in messages or ():
        content = m.content
        if isinstance(content, bytes) and content:
            scrubbed = _redacted(redaction.redact_logins(content), None, kind, counts)
            if scrubbed != content:
                m.content = scrubbed
                counts["other"] += 1


def _scrub_flow_fields(flow: Any, counts: Counter[str]) -> None:
    """A flow's method, HTTP versions and TLS server names, as words (replaced whole where the policy finds a
    credential); its comment, mark, metadata, error messages (its own and its connections'), response reason and
    WebSocket close reason, as free text. Its backup (the flow as captured, kept by mitmproxy once it was edited or
    replayed: every header and body as they were) is left out."""
    if getattr(flow, "_backup", None) is not None:
        flow._backup = None
        counts["other"] += 1
    if getattr(flow, "metadata", None):
        metadata, replaced = redaction.redact_json(flow.metadata, FULL)
        if replaced:
            flow.metadata = metadata
            counts["other"] += replaced
    for holder, name in ((getattr(flow, "request", None), "method"), (getattr(flow, "request", None), "http_version"),
                         (getattr(flow, "response", None), "http_version"), (getattr(flow, "client_conn", None), "sni"),
                         (getattr(flow, "server_conn", None), "sni")):  # words, as a HAR's (`_scrub_words`)
        word = getattr(holder, name, None)
        if isinstance(word, str) and word not in ("", MARK) and redaction.redact_text(word, FULL) != word:
            setattr(holder, name, MARK)
            counts["other"] += 1
    for holder, name in ((flow, "comment"), (flow, "marked"), (flow.error, "msg"),
                         (getattr(flow, "client_conn", None), "error"), (getattr(flow, "server_conn", None), "error"),
                         (getattr(flow, "response", None), "reason"),
                         (getattr(flow, "websocket", None), "close_reason")):
        text = getattr(holder, name, None)
        if isinstance(text, str) and text:
            redacted = redaction.redact_text(text, FULL)
            if redacted != text:
                setattr(holder, name, redacted)
                counts["other"] += 1


def _scrub_mitmproxy_headers(headers: http.Headers, mode: Mode, counts: Counter[str]) -> None:
    fields = []
    for name, value in headers.fields:
        text, name_text = value.decode("utf-8", "surrogateescape"), name.decode("utf-8", "surrogateescape")
        scrubbed, what = redaction.redact_header(name_text, text, mode)
        if what:
            counts[_COUNTED[what]] += 1
        if name_text != MARK and (shown := _name_shown(name_text)) != name_text:  # a token, or a line, as a name
            name = shown.encode("utf-8", "surrogateescape")
            counts["headers"] += 1
        fields.append((name, value if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")))
    headers.fields = tuple(fields)
