"""`databack inspect`: what captures hold, at a glance, without converting them.

One row per (host, method, path template, endpoint): how many exchanges, their status codes, content types and
response body bytes, and which databack endpoint recognised them ("undecoded" for a device host's path that
databack does not decode, None for hosts that are no device's). Plus one summary per file.

Path templates collapse what varies between requests of one route, as mitmproxy2swagger's do: ISO dates become
`{date}`, numbers `{n}`, UUIDs, hashes, tokens, e-mail addresses and short ids of letters and digits mixed (`u-77`)
`{id}`; OData keys keep their names and
short enum-like values (`Events(eventType='Sleeping')`) and lose ids (`Events(eventId={id})`).

Nothing secret is kept: no header values (only the media type of Content-Type, checked to look like one), no
bodies (only their length), no query values (only parameter names that look like names). Hosts, methods, path
templates, parameter names, file names and errors pass through the redaction policy (`Safe`), and `as_dict` and
`render_table` refuse any that did not: a JWT in a path shows as `{redacted}`, `;jsessionid=…` as
`;jsessionid={redacted}`.

Readers hand over response headers only with the body, so content types and byte counts need every body
decoded (only its length is kept). For HAR files that costs little: the JSON text is parsed whole either way
(200 MB: ~2.6-3.2 s against ~2-3 s). For flow dumps it costs ~6x, as mitmproxy must build every flow where the
reader can otherwise skim it (100 MB: ~5-8 s against ~0.7-1.1 s). `quick=True` reads neither headers nor
bodies: no content types, no bytes, everything else the same.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Literal
from urllib.parse import unquote_plus

from . import devices, limits
from .captures import (
    CaptureError, Exchange, Skipped, claims_capture, detect_format, named_like_capture, read_capture, reading_cost,
)
from .captures.archives import not_a_capture
from .captures.har import NOT_A_HAR
from .devices.base import normalise_path
from .parallel import map_files
from . import redaction
from .redaction import SEGMENT, Safe, split_odata_args
from .terminal import safe

if TYPE_CHECKING:  # convert imports modules that import path_template from here
    from .pipeline import Input

Status = Literal["ok", "partial", "failed", "skipped"]  # as convert's

UNDECODED = "undecoded"  # the endpoint of a device host's path databack does not decode
NONE = "none"  # status of an exchange without a response; content type of a response without the header
INVALID = "invalid"  # a Content-Type header that is not a media type

RowKey = tuple[str, str, str, str | None]  # host, method, path template, endpoint


@dataclass
class Row:
    """The exchanges of one (host, method, path template, endpoint)."""

    host: Safe
    method: Safe
    path: Safe  # the path template
    endpoint: str | None  # endpoint name, UNDECODED, or None (not a device host)
    count: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "200" -> n; NONE: no response captured
    content_types: Counter[str] = field(default_factory=Counter)  # "application/json" -> n; empty when quick
    bytes: int | None = 0  # response bodies, decoded (after Content-Encoding); None when quick
    query_params: Counter[str] = field(default_factory=Counter)  # parameter name -> exchanges that had it

    def add(self, other: Row) -> None:
        self.count += other.count
        self.statuses.update(other.statuses)
        self.content_types.update(other.content_types)
        self.bytes = None if self.bytes is None or other.bytes is None else self.bytes + other.bytes
        self.query_params.update(other.query_params)


@dataclass
class FileSummary:
    file: Safe
    format: str | None = None
    size_bytes: int | None = None
    status: Status = "ok"
    error: Safe | None = None  # the reader's message (one line, no secrets)
    exchanges: int = 0
    skipped_entries: Counter[str] = field(default_factory=Counter)  # entries that are not HTTP: "tcp", "malformed"…


@dataclass
class Inspection:
    rows: list[Row]  # sorted: count descending, then host, path, method
    files: list[FileSummary]
    quick: bool = False  # headers and bodies were skipped: no content types, no bytes

    @property
    def exchanges(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def recognised(self) -> int:
        """Exchanges an endpoint of databack's recognised (data or auth)."""
        return sum(r.count for r in self.rows if r.endpoint not in (None, UNDECODED))

    @property
    def auth(self) -> int:
        """Exchanges with an auth endpoint (recognised, never decoded: no data there)."""
        return sum(r.count for r in self.rows if r.endpoint in _auth_endpoints())

    @property
    def undecoded(self) -> int:
        return sum(r.count for r in self.rows if r.endpoint == UNDECODED)

    @property
    def hosts(self) -> int:
        return len({r.host for r in self.rows})

    @property
    def ok(self) -> bool:
        return all(f.status in ("ok", "skipped") for f in self.files)


ProgressCallback = Callable[["Input", "FileSummary | None"], None]


@lru_cache(maxsize=1)
def _auth_endpoints() -> frozenset[str]:
    return frozenset(e.name for e in devices.endpoints() if e.kind == "auth")


def inspect(
    inputs: list[Input],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    quick: bool = False,
    debug: bool = False,
) -> Inspection:
    """Inspect the inputs, `jobs` files at a time in separate processes (the result does not depend on `jobs`).
    `progress(inp, None)` is called before a file, `progress(inp, summary)` after it (as `convert`'s)."""
    done = map_files(
        inspect_file, inputs, jobs, progress, quick, debug, cost=lambda inp: reading_cost(inp.path), lost=failed_file
    )
    with closing(done):  # stopped here (Ctrl-C), the workers stop too
        results = [result for _, result in sorted(done, key=lambda done: done[0])]
    merged: dict[RowKey, Row] = {}
    for _, rows in results:
        for key, row in rows.items():
            if key in merged:
                merged[key].add(row)
            else:
                merged[key] = row
    ordered = sorted(merged.values(), key=lambda r: (-r.count, r.host, r.path, r.method, r.endpoint or ""))
    return Inspection(ordered, [s for s, _ in results], quick)


def inspect_file(inp: Input, quick: bool = False, debug: bool = False) -> tuple[FileSummary, dict[RowKey, Row]]:
    """One input's summary and rows. A bug of databack's fails this file alone (with `debug`, it raises)."""
    try:
        with limits.applied(inp.limits):
            return _inspect_file(inp, quick, debug)
    except Exception as e:
        if debug:
            raise
        return failed_file(inp, f"internal error ({type(e).__name__}); run again with --debug to see where")


def failed_file(inp: Input, why: str) -> tuple[FileSummary, dict[RowKey, Row]]:
    """The summary and (no) rows of an input that failed as a whole, for `why`."""
    return FileSummary(inp.source_file, status="failed", error=redaction.message(why)), {}


def _inspect_file(inp: Input, quick: bool, debug: bool = False) -> tuple[FileSummary, dict[RowKey, Row]]:
    summary = FileSummary(inp.source_file)
    rows: dict[RowKey, Row] = {}
    if inp.error or inp.skip:
        summary.status, summary.error = "failed" if inp.error else "skipped", redaction.message(inp.error or inp.skip)
        return summary, rows
    try:
        summary.size_bytes = inp.path.stat().st_size
        summary.format = detect_format(inp.path)
    except OSError as e:
        summary.status, summary.error = "failed", redaction.message(f"cannot read the file: {e.strerror or e}")
        return summary, rows
    if summary.format is None:
        reason = not_a_capture(inp.path, summary.size_bytes)
        summary.status, summary.error = ("failed" if claims_capture(inp) else "skipped"), redaction.message(reason)
        return summary, rows
    if summary.format == "json":
        summary.status, summary.error = ("failed" if named_like_capture(inp.path) else "skipped"), _NOT_A_CAPTURE
        return summary, rows
    wants_body = _no_host if quick else None
    unreadable = 0  # entries that could not be read at all
    limited: Counter[str] = Counter()  # bodies and entries over a limit, by the limit's reason
    try:
        for item in read_capture(inp.path, summary.format, display_name=inp.name, wants_body=wants_body):
            if isinstance(item, Exchange):
                summary.exchanges += 1
                try:
                    _count(item, rows, quick)
                except Exception:  # a bug of databack's on this exchange: counted, the file goes on
                    if debug:
                        raise
                    unreadable += 1
                damage = (item.damaged or "").split("; ")
                for error in (item.body_error, item.request_body_error, *damage, item.left_out):
                    if error and limits.names_a_limit(error):
                        limited[error] += 1
            elif isinstance(item, Skipped):
                summary.skipped_entries[item.kind] += 1
                if item.reason and limits.names_a_limit(item.reason):
                    limited[item.reason] += 1
                elif item.reason:
                    unreadable += 1
            elif isinstance(item, CaptureError):
                nothing_read = summary.exchanges == 0 and not summary.skipped_entries
                if nothing_read and item.message == NOT_A_HAR:
                    summary.format, summary.error = "json", _NOT_A_CAPTURE
                    summary.status = "failed" if named_like_capture(inp.path) else "skipped"
                else:
                    summary.status = "failed" if item.entries_read == 0 and nothing_read else "partial"
                    summary.error = redaction.message(item.message)
    except OSError as e:
        summary.status = "partial" if summary.exchanges else "failed"
        summary.error = redaction.message(f"cannot read the file: {e.strerror or e}")
    if limited:
        note = f"{limited.total()} over a limit: {'; '.join(sorted(limited))}"
        summary.status = "partial" if summary.status == "ok" else summary.status
        summary.error = redaction.message(f"{summary.error}; {note}" if summary.error else note)
    if unreadable:
        note = f"{unreadable} entr{'ies' if unreadable > 1 else 'y'} could not be read"
        summary.status = "failed" if summary.exchanges == 0 and summary.status != "partial" else (
            "partial" if summary.status == "ok" else summary.status)
        summary.error = redaction.message(f"{summary.error}; {note}" if summary.error else note)
    return summary, rows


_NOT_A_CAPTURE = redaction.vocabulary("JSON, but not a capture (a response saved on its own?): nothing to inspect")


def _no_host(host: str) -> bool:
    return False


def _count(ex: Exchange, rows: dict[RowKey, Row], quick: bool) -> None:
    template, endpoint = _classify(ex.host, ex.method, ex.path)
    key = (redaction.host(ex.host), redaction.method(ex.method), template, endpoint)
    row = rows.get(key)
    if row is None:
        row = rows[key] = Row(*key, bytes=None if quick else 0)
    row.count += 1
    row.statuses[NONE if ex.status is None else str(ex.status)] += 1
    if ex.query:
        row.query_params.update(redaction.param_names(query_names(ex.query)))
    if not quick and ex.status is not None:
        row.content_types[media_type(ex.content_type())] += 1
        if ex.body is not None and row.bytes is not None:
            row.bytes += len(ex.body)


@limits.short_cache(1 << 14)
def _classify(host: str, method: str, raw_path: str) -> tuple[Safe, str | None]:
    """(path template, endpoint name / UNDECODED / None) of a request."""
    m = devices.match(host, method, raw_path)
    endpoint = None if m is None else m.endpoint.name if m.endpoint else UNDECODED
    return redaction.template(raw_path), endpoint


# --- path templates ------------------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?[Ll]?")
_UUID = re.compile(r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?")
_HEX = re.compile(r"(?=[a-fA-F]*\d)[0-9a-fA-F]{16,}")
_DIGIT = re.compile(r"\d")
_TOKEN_CHARS = re.compile(r"[\w\-+/.~]+={0,2}")
_ODATA = re.compile(r"(?P<name>[^()]*)\((?P<args>[^()]*)\)")
_ODATA_KEY = re.compile(r"\s*([A-Za-z_]\w*)\s*=(.*)", re.DOTALL)
_TYPED_LITERAL = re.compile(r"[A-Za-z][\w.]*'(.*)'", re.DOTALL)  # datetime'2015-01-05', guid'…'
_WORD = re.compile(r"[A-Za-z][A-Za-z_\-]{0,31}")  # an enum-like value: Sleeping, h, LAST_WEEK
_FILE_NAME = re.compile(r"(.+?)(\.[A-Za-z][A-Za-z0-9]{0,4})")
_PARAM_NAME = re.compile(r"[A-Za-z_$][\w$.\-\[\]]{0,31}")


def path_template(raw_path: str) -> str:
    """The path percent-decoded (`normalise_path`) with its varying parts collapsed, segment by segment:
    `/v1/Events(eventId='2519…')` -> `/v1/Events(eventId={id})`, `/v2/timeline/2017-04-20T07:31` ->
    `/v2/timeline/{date}`, `/users/42` -> `/users/{n}`, `/c6b2fccb4bebbba5.webp` -> `/{id}.webp`. The query is not part of the path (see `query_names`)."""
    path = normalise_path(raw_path)
    return "/".join(_segment(s) for s in path.split("/"))


@limits.short_cache(1 << 14)
def _segment(segment: str) -> str:
    if not segment:
        return segment
    if m := _ODATA.fullmatch(segment):
        name = m["name"]
        return f"{_value(name) or name}({','.join(_odata_arg(a) for a in split_odata_args(m['args']))})"
    if kind := _value(segment):
        return kind
    if (m := _FILE_NAME.fullmatch(segment)) and (kind := _value(m[1])):
        return kind + m[2]  # a hashed or numbered file name: {id}.webp
    return segment


def _value(text: str) -> str | None:
    """`{date}`, `{n}` or `{id}` if `text` is one, else None (a word to keep)."""
    if _DATE.fullmatch(text):
        return "{date}"
    if _NUMBER.fullmatch(text):
        return "{n}"
    if _UUID.fullmatch(text) or _HEX.fullmatch(text) or "@" in text or _looks_like_token(text) or _mixed_id(text):
        return "{id}"
    return None


_VERSION = re.compile(r"[vV]\d+")


def _mixed_id(text: str) -> bool:
    """A short id of letters and digits mixed (`u-77`, `abc123`, `p07`, `a1b2c3`): two digits or more, and at
    least a third of its letters and digits, so that words with a number stay (`oauth2`, `generate_204`, `v12`,
    `googlelogo_color_92x30dp`), and no dot (`jquery-3.1.1`)."""
    if "." in text or _VERSION.fullmatch(text):
        return False
    digits = sum(c.isdigit() for c in text)
    letters = sum(c.isalpha() for c in text)
    return digits >= 2 and letters > 0 and digits * 3 >= digits + letters


def _looks_like_token(text: str) -> bool:
    """Base64, JWT or id-like strings: long, of token characters, and either mixing upper and lower case with
    digits, or a fifth digits and more."""
    if len(text) < 16 or not _TOKEN_CHARS.fullmatch(text):
        return False
    digits = len(_DIGIT.findall(text))
    if not digits or text.isdigit():
        return False
    return digits * 5 >= len(text) or len(text) >= 20 and not text.isupper() and not text.islower()


def _odata_arg(arg: str) -> str:
    if m := _ODATA_KEY.fullmatch(arg):
        return f"{m[1]}={_odata_value(m[2].strip())}"
    return _odata_value(arg.strip())


def _odata_value(value: str) -> str:
    """A short enum-like word is kept (quoted as written); numbers, dates, ids and anything else collapse; a value
    the redaction policy replaced stays its marker."""
    if value == SEGMENT:
        return value
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1]
        if _WORD.fullmatch(inner):
            return value
        if inner.isdigit():
            return "{id}" if len(inner) >= 6 else "{n}"
        return "{date}" if _DATE.fullmatch(inner) else "{id}"
    if m := _TYPED_LITERAL.fullmatch(value):
        return "{date}" if _DATE.fullmatch(m[1]) else "{id}"
    if _WORD.fullmatch(value) or value in ("", "true", "false", "null"):
        return value
    return _value(value) or "{id}"


def query_names(raw_query: str) -> list[str]:
    """The names of the query parameters (never their values), each once; a name that does not look like one
    (too long, digit-heavy: a bare token, say) is given as `{id}`."""
    names = dict.fromkeys(_query_name(part.partition("=")[0]) for part in raw_query.split("&") if part)
    return list(names)


@limits.short_cache(1 << 12)
def _query_name(raw_name: str) -> str:
    name = unquote_plus(raw_name)
    if _PARAM_NAME.fullmatch(name) and sum(c.isdigit() for c in name) <= 3:
        return name
    return "{n}" if _NUMBER.fullmatch(name) else "{id}"


_MEDIA_TYPE = re.compile(r"[\w.+\-]+/[\w.+\-]+")


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters; NONE without the header,
    INVALID if it is not a media type (so that no odd header value is ever shown)."""
    if content_type is None:
        return NONE
    return _media(content_type.split(";", 1)[0].strip().lower())


@limits.short_cache(1 << 10)
def _media(media: str) -> str:
    """INVALID too for a media type that holds a credential (`application/eyJ…`): it passes the policy unchanged."""
    return media if _MEDIA_TYPE.fullmatch(media) and redaction.redact_text(media, redaction.FULL) == media else INVALID


# --- output --------------------------------------------------------------------------------------------------


def _require_redacted(inspection: Inspection) -> None:
    """Raise `redaction.Unredacted` if captured text of the inspection did not pass the redaction policy."""
    for r in inspection.rows:
        redaction.require([r.host, r.method, r.path, *r.query_params], "inspect row")
    for f in inspection.files:
        redaction.require([f.file, *([f.error] if f.error else [])], "inspect file")


def as_dict(inspection: Inspection) -> dict[str, Any]:
    """The inspection as plain JSON-ready data (for `--json`)."""
    _require_redacted(inspection)
    return {
        "totals": {
            "files": len(inspection.files),
            "exchanges": inspection.exchanges,
            "skipped_entries": sum(sum(f.skipped_entries.values()) for f in inspection.files),
            "hosts": inspection.hosts,
            "recognised": inspection.recognised,
            "data": inspection.recognised - inspection.auth,
            "auth": inspection.auth,
            "undecoded": inspection.undecoded,
            "other": inspection.exchanges - inspection.recognised - inspection.undecoded,
            "quick": inspection.quick,
        },
        "rows": [
            {
                "host": r.host,
                "method": r.method,
                "path": r.path,
                "endpoint": r.endpoint,
                "count": r.count,
                "statuses": _sorted_counts(r.statuses),
                "content_types": _sorted_counts(r.content_types),
                "bytes": r.bytes,
                "query_params": _sorted_counts(r.query_params),
            }
            for r in inspection.rows
        ],
        "files": [
            {
                "file": f.file,
                "format": f.format,
                "size_bytes": f.size_bytes,
                "status": f.status,
                "error": f.error,
                "exchanges": f.exchanges,
                "skipped_entries": dict(sorted(f.skipped_entries.items())),
            }
            for f in inspection.files
        ],
    }


def _sorted_counts(counts: Counter[str]) -> dict[str, int]:
    return {str(k): n for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


WIDTH = 120
_CAPS = {"status": 18, "content type": 24, "endpoint": 28}
_RIGHT = {"count", "bytes"}
_FILES_LISTED = 10  # with more files, only those not ok are listed


def render_table(inspection: Inspection, width: int = WIDTH) -> str:
    """Plain text for a terminal, `width` characters wide at most (down to about 70): the rows grouped under their host (device hosts
    first, then the others; within each, hosts with the most exchanges first; rows as sorted), then the files and a
    totals line. Long paths lose their end to `…`.
    The path column shows the query parameter names seen (`?a&b`), never their values."""
    _require_redacted(inspection)
    headers = ("count", "method", "path", "status", *(() if inspection.quick else ("content type", "bytes")), "endpoint")
    by_host: dict[str, list[Row]] = {}
    for r in inspection.rows:
        by_host.setdefault(r.host, []).append(r)
    device_hosts = {r.host for r in inspection.rows if r.endpoint is not None}
    hosts = sorted(by_host, key=lambda h: (h not in device_hosts, -sum(r.count for r in by_host[h]), h))
    cells = {
        h: [
            {
                "count": str(r.count),
                "method": r.method,
                "path": safe(r.path + ("?" + "&".join(r.query_params) if r.query_params else "")),
                "status": _statuses(r.statuses),
                "content type": _content_types(r.content_types),
                "bytes": "?" if r.bytes is None else human_bytes(r.bytes),
                "endpoint": r.endpoint or "-",
            }
            for r in by_host[h]
        ]
        for h in hosts
    }
    every = [c for rows in cells.values() for c in rows]
    widths = _fitted({h: max([len(h), *(len(c[h]) for c in every)]) for h in headers}, width)
    lines = [_line(headers, {h: h for h in headers}, widths, header=True)] if every else ["no HTTP exchanges"]
    for host in hosts:
        lines.append(_fit(safe(f"{host} ({sum(r.count for r in by_host[host])})"), width))
        lines += [_line(headers, c, widths) for c in cells[host]]
    lines += ["", *_file_lines(inspection.files, width), *_wrapped(_totals(inspection), width)]
    return "\n".join(lines) + "\n"


# Columns cut, in turn, down to these widths until a line fits: the path first, then the others, then the path again.
_NARROWER = (("path", 30), ("content type", 10), ("endpoint", 16), ("status", 7), ("path", 16), ("endpoint", 10),
             ("path", 10))


def _fitted(widths: dict[str, int], width: int) -> dict[str, int]:
    """Each column's width: what its cells need, capped (`_CAPS`), then narrowed until a line fits `width`."""
    widths = {h: min(w, _CAPS.get(h, w)) for h, w in widths.items()}
    for column, narrowest in _NARROWER:
        over = sum(widths.values()) + 2 * (len(widths) - 1) - width
        if over <= 0:
            break
        if column in widths:
            widths[column] = max(min(widths[column], narrowest), widths[column] - over)
    return widths


def _line(headers: tuple[str, ...], cells: dict[str, str], widths: dict[str, int], header: bool = False) -> str:
    parts = []
    for h in headers:
        text = _fit(cells[h], widths[h], keep_end=h == "content type" and not header)  # …/json, not application…
        parts.append(text.rjust(widths[h]) if h in _RIGHT else text.ljust(widths[h]))
    return "  ".join(parts).rstrip()


def _fit(text: str, width: int, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if keep_end else text[: width - 1] + "…"


def _statuses(statuses: Counter[str]) -> str:
    if len(statuses) == 1:
        return next(iter(statuses))
    shown = sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))
    text = " ".join(f"{code}×{n}" for code, n in shown[:3])
    return text + (f" +{len(shown) - 3}" if len(shown) > 3 else "")


def _content_types(types: Counter[str]) -> str:
    if not types:
        return "-"  # no response
    (top, _), *rest = sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))
    return ("-" if top == NONE else top) + (f" +{len(rest)}" if rest else "")


def human_bytes(n: int) -> str:
    """Bytes in SI units (kB = 1000 B), three significant digits."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 999.5 or unit == "TB":
            return f"{n:.3g} {unit}" if n >= 100 else f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _wrapped(text: str, width: int, indent: str = "") -> list[str]:
    """A line that does not fit, broken between words (what it says is never cut)."""
    import textwrap

    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [text]


def _file_lines(files: list[FileSummary], width: int = WIDTH) -> list[str]:
    listed = files if len(files) <= _FILES_LISTED else [f for f in files if f.status != "ok"]
    name_width = min(max([len(safe(f.file)) for f in listed] or [0]), 48, max(16, width - 40))
    lines = []
    for f in listed:
        what = [_plural(f.exchanges, "exchange")] if f.status != "skipped" else []
        if f.skipped_entries:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(f.skipped_entries.items()))
            what.append(f"not HTTP: {kinds}")
        text = f"  {_fit(safe(f.file), name_width, keep_end=True):<{name_width}}  {f.format or '-':<4}  {f.status:<7}"
        lines += _wrapped((text + "  " + "; ".join(what + ([f.error] if f.error else []))).rstrip(), width, " " * 4)
    if hidden := len(files) - len(listed):
        lines.append(f"  … and {hidden} more files, all ok")
    return lines


def _totals(inspection: Inspection) -> str:
    i = inspection
    statuses = Counter(f.status for f in i.files)
    files = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    return (
        f"{_plural(len(i.files), 'file')} ({files}): {_plural(i.exchanges, 'exchange')} on {_plural(i.hosts, 'host')}; "
        f"{i.recognised - i.auth} to device data endpoints, {i.auth} auth, {i.undecoded} undecoded device paths, "
        f"{i.exchanges - i.recognised - i.undecoded} other"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
