"""Device routes: which captured exchanges are a device's API responses, and how each endpoint decodes into rows.

Each device module declares one `DEVICE`: a regex of its API hosts and a table of
`Route(methods, path regex, Endpoint)`; this module matches an exchange against all of them, and decodes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from .. import limits
from ..limits import LimitHit
from ..redaction import exception_text
from ..captures.sniff import loads_json
from ..validation import schema_problem
from . import band, band_public, sense
from .base import Device, Endpoint, Match, Request, normalise_path, parse_query
from .fields import Fields, leaf_paths, path_text

if TYPE_CHECKING:
    from ..captures import Exchange

DEVICES: tuple[Device, ...] = (band.DEVICE, band.LOGIN, band_public.DEVICE, sense.DEVICE)


def match(host: str, method: str, raw_path: str) -> Match | None:
    """The device endpoint an exchange belongs to; None when the host is no device's."""
    for device in DEVICES:
        if device.hosts.fullmatch(host):
            path = normalise_path(raw_path)
            for r in device.routes:
                if method in r.methods and (m := r.path.fullmatch(path)):
                    return Match(device, r.endpoint, path, m.groupdict())
            return Match(device, None, path)
    return None


def endpoints() -> list[Endpoint]:
    """Every endpoint of every device, once each."""
    seen: dict[str, Endpoint] = {}
    for device in DEVICES:
        for r in device.routes:
            seen.setdefault(r.endpoint.name, r.endpoint)
    return list(seen.values())


def decodes(ex: Exchange, m: Match) -> bool:
    """Whether an exchange of a device host is one to decode into rows: on a route databack decodes, not a sign-in,
    and not an HTTP error (one without a response is decoded, to be rejected for that)."""
    return m.endpoint is not None and m.endpoint.kind != "auth" and (ex.status is None or 200 <= ex.status < 300)


def decode(ex: Exchange, m: Match) -> Decoding:
    """The rows of a good device response, else the reason to reject it."""
    assert m.endpoint is not None
    if ex.status is None:  # a body beside it: the capture's status was not a number, or 0
        return Decoding("the response has a body but no HTTP status" if ex.body else "no response was captured", [])
    reads = m.endpoint.reads
    if reads == "query":
        payload = parse_query(ex.query)
    elif (body := read_body(ex, reads)) is None:
        if reads == "request":
            return Decoding(ex.request_body_error or "the capture holds no request body", [])
        return Decoding(ex.body_error or "the capture holds no response body", [])
    else:
        try:
            payload = loads_json(body, ex.json_checked and body is ex.body)  # a BOM, UTF-16 or UTF-32 too
        except orjson.JSONDecodeError as e:
            payload = _unlabeled_json(body, f"not JSON: {e}")
            if isinstance(payload, Decoding):
                return payload
        except LimitHit as e:
            return Decoding(str(e), [])
    request = Request(m.path_params, parse_query(ex.query), ex.request_body, ex.captured_at, ex.sent_at)
    return decode_payload(payload, m.endpoint, request)


def _unlabeled_json(body: bytes, problem: str) -> Any:
    """The JSON a body that is none holds as compressed data no Content-Encoding named (zlib, bzip2, xz, zstd,
    brotli: `limits.unlabeled`), as the capture readers gunzip gzip under none; else a Decoding rejecting it for
    `problem` (or the limit it went over)."""
    try:
        inner = limits.unlabeled(body)
        if inner is not None:
            return loads_json(inner)
    except orjson.JSONDecodeError:
        pass
    except LimitHit as e:
        return Decoding(str(e), [])
    return Decoding(problem, [])


class UnknownShape(str):
    """The reason a response was rejected when its shape is not one databack knows (it does not fit the endpoint's
    schema, or it decodes to no rows while holding fields the endpoint's field map does not know): the data it holds
    is in no table, so its file is `partial`, not `ok`."""


class Undecodable(str):
    """The reason a response was rejected when a value of it could not be decoded (the decoder's error)."""


def undecodable(error: Exception) -> Undecodable:
    return Undecodable(f"could not be decoded: {type(error).__name__}: {exception_text(error)}")


class Decoding(NamedTuple):
    """What decoding a device response gave: its rows, or the reason it is rejected; and the paths of fields it
    holds that its endpoint's field map does not know (none when rejected), which no table keeps."""

    problem: str | None
    rows: list
    unknown: tuple[tuple[str, ...], ...] = ()


def decode_payload(payload: Any, endpoint: Endpoint, request: Request) -> Decoding:
    """The rows of a payload that matches the endpoint's schema and decodes, else the reason it does not."""
    if problem := schema_problem(endpoint.schema, payload):
        return Decoding(UnknownShape(f"does not match schema {endpoint.schema}: {problem}"), [])
    try:
        rows = list(endpoint.decode(payload, request))
    except (ValueError, TypeError, KeyError, ArithmeticError) as e:
        return Decoding(undecodable(e), [])
    if not endpoint.fields:
        return Decoding(None, rows)
    if not rows and (unknown := unknown_fields(payload, endpoint.fields)):
        return Decoding(UnknownShape(f"decodes to nothing; fields of no known shape: {', '.join(unknown)}"), [])
    return Decoding(None, rows, tuple(endpoint.fields.unknown_in_sample(payload)) if rows else ())


def unknown_fields(payload: Any, fields: Fields, at_most: int = 5) -> list[str]:
    """The first few field paths of a payload its endpoint's field map neither keeps nor drops (names only)."""
    unknown: list[str] = []
    for path, container in leaf_paths(payload):
        text = path_text(path)
        if text not in unknown and not fields.accounts_for(path, container):
            unknown.append(text)
            if len(unknown) == at_most:
                break
    return unknown


def read_body(ex: Exchange, reads: str) -> bytes | None:
    """The body an endpoint decodes: the response's, the request's, or none (it reads the query)."""
    return ex.body if reads == "response" else ex.request_body if reads == "request" else None
