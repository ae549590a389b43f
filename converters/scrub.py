"""Write a copy of a capture with its secrets replaced by a marker, for participants to send and study teams to keep.

What is replaced (values only: names and keys stay, so the copy keeps its shape):
- Authorization and Proxy-Authorization headers (the scheme is kept: `Bearer REDACTED`), and headers named like a
  credential (X-Auth-Token, X-Api-Key, X-CSRF-Token, …);
- cookie values in Cookie and Set-Cookie headers (attributes kept) and in the HAR `cookies` arrays;
- token-like query and fragment parameters (access_token, code, client_secret, sig, key, …): in the URL, the HAR
  `queryString`, mitmproxy's request path, and URL headers (Location, Referer, HTTP/2 `:path`), HAR `redirectURL`;
- on sign-in and token URLs (`/oauth2/token`, `login.live.com`, …): secret-named fields of form and JSON bodies,
  request and response; a body there that is neither form nor JSON is replaced whole.

Device data routes never match the sign-in and token URL pattern, so the copy converts to the same tables.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from urllib.parse import parse_qsl, unquote_plus

import ijson
import orjson
from ijson.common import ObjectBuilder

from .atomic import atomic_path
from .captures import Format, detect_format
from .credentials import is_sign_in_url
from .captures.flow import _open_dump
from .captures.flow import _read_failure as _flow_failure
from .captures.har import _STREAM_ERRORS, _base64_or_text, _is_encoding_error, _json_bytes
from .captures.har import _read_failure as _har_failure
from .captures.har_runs import ENTRY_PREFIX, IJSON, READ_SIZE

def _take_all(found: list) -> list:
    """Empty `found`, returning what it held."""
    taken = found[:]
    found.clear()
    return taken


if TYPE_CHECKING:
    from mitmproxy import http

REDACTED = "REDACTED"

_SECRET_NAMES = frozenset(
    "token code key sig sid auth session sessionid assertion client_assertion signature password passwd pwd secret "
    "apikey api_key api-key".split()
)
_SECRET_SUFFIXES = ("token", "secret", "password", "signature", "apikey", "api_key", "api-key")
_COOKIE_HEADERS = frozenset({"cookie", "cookie2"})
_SET_COOKIE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
_URL_HEADERS = frozenset({"location", "content-location", "referer", ":path"})
_SECRET_HEADER = re.compile(
    r"(?:^|[-_])(?:auth|token|secret|api-?key|password|passwd|session(?:id)?|x?csrf(?:token)?|xsrf|signature"
    r"|credentials?|jwt)(?:[-_]|$)"
)
_AUTH_SCHEME = re.compile(r"\s*([A-Za-z][\w.+-]*)\s+\S")
# Sign-in and token endpoints, searched in host + path; no device data route matches.
_DEPTH = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


@dataclass
class ScrubReport:
    """The outcome of one scrub; the counts are values replaced (a run over an already scrubbed copy counts 0)."""

    status: Literal["ok", "partial", "failed"] = "ok"
    message: str | None = None  # why the copy is partial or was not written; no secrets
    format: Format | None = None
    entries: int = 0  # HAR entries or flows written
    headers: int = 0  # Authorization and other credential header values
    cookies: int = 0  # cookie values, in headers and HAR `cookies` arrays
    query_params: int = 0  # query and fragment parameter values, wherever a URL or HAR `queryString` holds them
    token_bodies: int = 0  # request and response bodies of sign-in and token calls


def scrub_capture(src: Path, dst: Path) -> ScrubReport:
    """Write `src` (HAR, possibly gzip/zlib-compressed, or mitmproxy dump) to `dst` with its secrets replaced.

    A HAR is written as plain JSON, a dump uncompressed. `dst` is replaced atomically and only if something could be
    read; when the input is cut off or damaged, everything before the damage is written and the status is "partial".
    """
    try:
        if dst.exists() and dst.samefile(src):
            return ScrubReport("failed", "the output is the input file; choose another output path")
        fmt = detect_format(src)
    except OSError as error:
        return ScrubReport("failed", f"cannot read the file: {error.strerror or error}")
    if fmt == "har":
        scrub = _scrub_har
    elif fmt == "flow":
        scrub = _scrub_flows
    else:
        return ScrubReport("failed", "not a HAR file or a mitmproxy flow dump")
    try:
        with atomic_path(dst) as temp:
            with open(temp, "wb") as out:
                report = scrub(src, out)
            if report.status == "failed":
                raise _NothingReadable
    except _NothingReadable:
        pass
    except OSError as error:
        report = ScrubReport("failed", f"cannot read or write: {error.strerror or error}", fmt)
    return report


class _NothingReadable(Exception):
    """Raised to leave `dst` as it was when nothing of the input could be read."""


def _stopped(report: ScrubReport, message: str) -> None:
    """Record that reading stopped early: partial if entries were written, else failed."""
    report.status = "partial" if report.entries else "failed"
    report.message = message


# --- HAR ------------------------------------------------------------------------------------------------


def _scrub_har(src: Path, out: BinaryIO) -> ScrubReport:
    """Write the HAR as UTF-8 JSON, scrubbed; a file that turns out not to be UTF-8 is written again from the start,
    read as Windows' Latin-1 (as the HAR reader does)."""
    report, error = _rewrite_har(src, out, None)
    if error is not None and _is_encoding_error(error):
        out.seek(0)
        out.truncate()
        report, _ = _rewrite_har(src, out, "cp1252")
    return report


def _rewrite_har(src: Path, out: BinaryIO, text_encoding: str | None) -> tuple[ScrubReport, Exception | None]:
    """Re-emit the HAR's JSON event by event, each `log.entries` item built whole, scrubbed and written compact.
    Returns the report and the error that stopped reading, if any (the JSON written is then closed after the last
    complete entry)."""
    report = ScrubReport(format="har")
    events = ijson.sendable_list()
    parser = IJSON.parse_coro(events, use_float=True)
    rewriter = _HarRewriter(out, report)
    try:  # opening reads the first bytes too: a damaged compressed header fails here
        with _json_bytes(src, text_encoding) as json_bytes:
            for chunk in iter(partial(json_bytes.read1, READ_SIZE), b""):
                parser.send(chunk)
                rewriter.events(_take_all(events))
            parser.close()
    except _STREAM_ERRORS as error:
            rewriter.events(_take_all(events))  # those parsed before the error, in the same chunk
            rewriter.close_open()
            _stopped(report, _har_failure(error, report.entries))
            return report, error
    rewriter.events(_take_all(events))
    out.write(b"\n")
    if not rewriter.found_entries:
        report.status, report.message = "failed", "JSON but not a HAR file (no log.entries)"
    return report, None


class _HarRewriter:
    """Turns ijson parse events back into JSON, scrubbing each entry of `log.entries` on the way."""

    def __init__(self, out: BinaryIO, report: ScrubReport):
        self._json = _JsonWriter(out)
        self._report = report
        self._entry: ObjectBuilder | None = None  # the entry being built
        self._depth = 0  # of the entry being built
        self.found_entries = False

    def events(self, events: list[tuple[str, str, Any]]) -> None:
        for prefix, event, value in events:
            if self._entry is not None:
                self._entry.event(event, value)
                self._depth += _DEPTH.get(event, 0)
                if self._depth == 0:
                    self._write_entry(self._entry.value)
                    self._entry = None
            elif prefix == ENTRY_PREFIX and event in ("start_map", "start_array"):
                self._entry = ObjectBuilder()
                self._entry.event(event, value)
                self._depth = 1
            elif prefix == ENTRY_PREFIX:
                self._write_entry(value)  # a scalar entry, written as it is
            else:
                self.found_entries |= prefix == "log.entries" and event == "start_array"
                self._json.event(event, value)

    def close_open(self) -> None:
        """Drop an incomplete entry and close what is open, so the JSON written so far is complete."""
        self._entry = None
        self._json.close_open()

    def _write_entry(self, entry: Any) -> None:
        _scrub_har_entry(entry, self._report)
        self._json.value(_dumps(entry))
        self._report.entries += 1


class _JsonWriter:
    """Writes JSON from parse events and ready-encoded values; a key is written only with its value."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._closers: list[bytes] = []  # of the open containers, innermost last
        self._empty: list[bool] = []  # whether each open container has no member yet
        self._key: bytes | None = None

    def event(self, event: str, value: Any) -> None:
        if event == "map_key":
            self._key = _dumps(value)
        elif event in ("start_map", "start_array"):
            self._separate()
            self._out.write(b"{" if event == "start_map" else b"[")
            self._closers.append(b"}" if event == "start_map" else b"]")
            self._empty.append(True)
        elif event in ("end_map", "end_array"):
            self._end()
        else:
            self.value(_dumps(value))

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


def _dumps(value: Any) -> bytes:
    """Compact JSON; the standard library for what orjson refuses (integers over 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


def _scrub_har_entry(entry: Any, report: ScrubReport) -> None:
    """Scrub one HAR entry in place; parts that are not shaped as HAR 1.2 says are left alone."""
    if not isinstance(entry, dict):
        return
    request, response = entry.get("request"), entry.get("response")
    url = request.get("url") if isinstance(request, dict) else None
    token_call = isinstance(url, str) and is_sign_in_url(re.split(r"[?#]", url, maxsplit=1)[0])
    if isinstance(request, dict):
        if isinstance(url, str):
            request["url"] = _redact_url(url, report)
        _scrub_har_headers(request.get("headers"), report)
        report.query_params += _redact_values(request.get("queryString"))
        report.cookies += _redact_values(request.get("cookies"), every_name=True)
        if token_call and isinstance(request.get("postData"), dict):
            _scrub_har_body(request["postData"], report)
    if isinstance(response, dict):
        _scrub_har_headers(response.get("headers"), report)
        report.cookies += _redact_values(response.get("cookies"), every_name=True)
        if isinstance(response.get("redirectURL"), str):
            response["redirectURL"] = _redact_url(response["redirectURL"], report)
        if token_call and isinstance(response.get("content"), dict):
            _scrub_har_body(response["content"], report)


def _scrub_har_headers(headers: Any, report: ScrubReport) -> None:
    for header in headers if isinstance(headers, list) else ():
        if isinstance(header, dict) and isinstance(header.get("name"), str) and isinstance(header.get("value"), str):
            header["value"] = _redact_header(header["name"], header["value"], report)


def _redact_values(items: Any, every_name: bool = False) -> int:
    """Replace the `value` of each `{name, value}` item with a secret name (or any name); returns how many."""
    replaced = 0
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or item.get("value") in (None, "", REDACTED):
            continue
        if every_name or (isinstance(item.get("name"), str) and _is_secret_name(item["name"])):
            item["value"] = REDACTED
            replaced += 1
    return replaced


def _scrub_har_body(holder: dict, report: ScrubReport) -> None:
    """Scrub a token call's `postData` or `content`: its text (plain or base64), `_textBase64` and form `params`."""
    changed = _redact_values(holder.get("params")) > 0
    for key, is_base64 in (("text", holder.get("encoding") == "base64"), ("_textBase64", True)):
        text = holder.get(key)
        if not isinstance(text, str):
            continue
        data = _base64_or_text(text) if is_base64 else text.encode("utf-8", "replace")
        scrubbed = _redact_token_body(data)
        if scrubbed != data:
            holder[key] = base64.b64encode(scrubbed).decode() if is_base64 else scrubbed.decode("utf-8", "replace")
            changed = True
    report.token_bodies += changed


# --- mitmproxy flows ------------------------------------------------------------------------------------


def _scrub_flows(src: Path, out: BinaryIO) -> ScrubReport:
    """Copy the dump flow by flow, scrubbing HTTP flows; other flows (TCP, UDP, DNS…) are copied as they are."""
    from mitmproxy import exceptions, http
    from mitmproxy import io as mio

    read_errors = (
        exceptions.FlowReadException, KeyError, ValueError, IndexError, TypeError, AssertionError, EOFError, zlib.error,
        gzip.BadGzipFile,
    )  # as in captures.flow: mitmproxy lets the bare ones through on damaged dumps
    report = ScrubReport(format="flow")
    writer = mio.FlowWriter(out)
    with _open_dump(src) as dump:
        flows = iter(mio.FlowReader(dump).stream())
        while True:
            try:
                flow = next(flows)
            except StopIteration:
                return report
            except read_errors as error:
                _stopped(report, f"{_flow_failure(error)}; flows read: {report.entries}")
                return report
            if isinstance(flow, http.HTTPFlow):
                _scrub_http_flow(flow, report)
            writer.add(flow)
            report.entries += 1


def _scrub_http_flow(flow: http.HTTPFlow, report: ScrubReport) -> None:
    """Scrub request path, headers and (on token calls) bodies in place; WebSocket messages are left as they are."""
    request = flow.request
    path = _redact_url(request.path, report)
    if path != request.path:
        request.path = path
    token_call = is_sign_in_url(request.pretty_host + re.split(r"[?#]", path, maxsplit=1)[0])
    for message in (request, flow.response):
        if message is None:
            continue
        _scrub_mitmproxy_headers(message.headers, report)
        if token_call:
            data = message.get_content(strict=False)  # the raw bytes if Content-Encoding is wrong
            scrubbed = _redact_token_body(data) if data else data
            if scrubbed != data:
                message.set_content(scrubbed)  # re-encoded per Content-Encoding, Content-Length updated
                report.token_bodies += 1


def _scrub_mitmproxy_headers(headers: http.Headers, report: ScrubReport) -> None:
    fields = []
    for name, value in headers.fields:
        text = value.decode("utf-8", "surrogateescape")
        scrubbed = _redact_header(name.decode("utf-8", "surrogateescape"), text, report)
        fields.append((name, value if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")))
    headers.fields = tuple(fields)


# --- values ---------------------------------------------------------------------------------------------


def _is_secret_name(name: str) -> bool:
    """Whether a query parameter, form field or JSON key of this name holds a secret."""
    name = name.lower()
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def _redact_header(name: str, value: str, report: ScrubReport) -> str:
    """The header value with its secrets replaced; counted in `report` by kind."""
    lower = name.lower()
    if not value.strip():
        return value
    if lower in _COOKIE_HEADERS:
        return _redact_cookies(value, report)
    if lower in _SET_COOKIE_HEADERS:
        # one cookie per line (browsers join repeated Set-Cookie headers with newlines in HAR); attributes kept
        lines = [line.partition(";") for line in value.split("\n")]
        return "\n".join(_redact_cookies(pair, report) + sep + attributes for pair, sep, attributes in lines)
    if lower in _URL_HEADERS:
        return _redact_url(value, report)
    if lower in _CREDENTIAL_HEADERS:
        scheme = _AUTH_SCHEME.match(value)
        scrubbed = f"{scheme[1]} {REDACTED}" if scheme else REDACTED
    elif _SECRET_HEADER.search(lower):
        scrubbed = REDACTED
    else:
        return value
    report.headers += scrubbed != value
    return scrubbed


def _redact_cookies(header: str, report: ScrubReport) -> str:
    """`a=1; b=2` as `a=REDACTED; b=REDACTED` (a value without a name is replaced too)."""
    pairs = header.split(";")
    for i, pair in enumerate(pairs):
        name, equals, value = pair.partition("=")
        if equals and value.strip() and value.strip() != REDACTED:
            pairs[i] = f"{name}={REDACTED}"
        elif not equals and pair.strip() and pair.strip() != REDACTED:
            pairs[i] = pair[: len(pair) - len(pair.lstrip())] + REDACTED
        else:
            continue
        report.cookies += 1
    return ";".join(pairs)


def _redact_url(url: str, report: ScrubReport) -> str:
    """The URL (or path) with secret-named parameters of its query and fragment replaced; the rest byte for byte."""
    rest, hash_mark, fragment = url.partition("#")
    base, question_mark, query = rest.partition("?")
    query, in_query = _redact_query(query)
    fragment, in_fragment = _redact_query(fragment)  # implicit-grant redirects carry tokens in the fragment
    report.query_params += in_query + in_fragment
    return base + question_mark + query + hash_mark + fragment


def _redact_query(query: str) -> tuple[str, int]:
    """(the query with the values of secret-named parameters replaced, how many were replaced)."""
    params = query.split("&")
    replaced = 0
    for i, param in enumerate(params):
        name, equals, value = param.partition("=")
        if equals and value not in ("", REDACTED) and _is_secret_name(unquote_plus(name)):
            params[i] = f"{name}={REDACTED}"
            replaced += 1
    return "&".join(params), replaced


def _redact_token_body(data: bytes) -> bytes:
    """A token call's body with secret fields replaced: JSON and form bodies keep their keys; anything else
    becomes the marker."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        return orjson.dumps(document) if _redact_json(document) else data
    try:
        form = data.decode("utf-8")
        parse_qsl(form, keep_blank_values=True, strict_parsing=True)
    except ValueError:  # UnicodeDecodeError included
        return REDACTED.encode()
    return _redact_query(form)[0].encode()


def _redact_json(document: Any) -> bool:
    """Replace, in place, the values of secret-named keys at any depth; whether anything was replaced."""
    replaced = False
    if isinstance(document, dict):
        for key, value in document.items():
            if _is_secret_name(key) and value not in (None, "", REDACTED):
                document[key] = REDACTED
                replaced = True
            else:
                replaced |= _redact_json(value)
    elif isinstance(document, list):
        for item in document:
            replaced |= _redact_json(item)
    return replaced
