"""The vocabulary of device modules: routes, endpoints, and value converters shared by decoders."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Literal
from urllib.parse import parse_qsl, unquote

from .fields import Fields

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

Row = dict[str, Any]  # column -> value; times as UTC epoch microseconds (int), converted by the table writer


@dataclass(frozen=True, slots=True)
class Block:
    """Many rows of one table as equal-length columns: how decoders hand over long arrays (minutes, samples) without
    building a dict per row. A column left out is null."""

    columns: dict[str, list]
    height: int

    def rows(self) -> Iterator[Row]:
        names = list(self.columns)
        return (dict(zip(names, values)) for values in zip(*self.columns.values()))


@dataclass(frozen=True, slots=True)
class Later:
    """Many rows of one table that columnar decoding makes later, together with other responses' of the same kind:
    one polars pass for many responses at the row buffer's next batch (`columns.made`). `convert` makes the rows of
    a list of pieces (in their order), `slow` this piece's rows value by value; `height` rows either way."""

    convert: Callable[[list], Any]  # pieces -> polars.DataFrame of the table's row columns
    piece: Any
    slow: Callable[[], Iterable[tuple[str, Row | Block]]]
    height: int

    def rows(self) -> Iterator[Row]:
        return (row for _, row in row_by_row(self.slow()))


Rows = Iterable[tuple[str, Row | Block | Later]]  # (table name, row or block of rows) pairs


def row_by_row(decoded: Rows) -> Iterator[tuple[str, Row]]:
    """Decoded rows with every block taken apart into single rows."""
    for table, rows in decoded:
        if isinstance(rows, (Block, Later)):
            yield from ((table, row) for row in rows.rows())
        else:
            yield table, rows


@dataclass(frozen=True, slots=True)
class Request:
    """What a decoder may know of the request besides the payload."""

    path_params: dict[str, str]
    query: dict[str, str]
    body: bytes | None
    captured_at: datetime | None
    sent_at: datetime | None = None  # when the request was sent (the time HAR and flow captures both record)

    @property
    def sent_or_captured(self) -> datetime | None:
        """When the request was sent, else when it was captured: the time of a record that has none of its own, the
        same for an exchange captured as HAR and as a flow (a flow's captured_at is its response's end)."""
        return self.sent_at or self.captured_at


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # e.g. "band/events"
    kind: Literal["data", "auth"]
    schema: str | None = None  # file name in schemas/, for data endpoints
    decode: Callable[[Any, Request], Rows] | None = None
    # Where the data is: the response body, the JSON body the app sent (answers to Sense questions), or the query.
    reads: Literal["response", "request", "query"] = "response"
    tables: tuple[str, ...] = ()  # the tables its decoder fills (`databack endpoints` lists them)
    fields: Fields | None = None  # where every field of its payloads goes (data endpoints)
    # Its decoder hands long arrays over by columns (`Later`), made together with other responses' by the process that
    # converts the file: a reading process leaves such responses to it.
    by_columns: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    path: re.Pattern[str]  # matched in full against the percent-decoded path
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    hosts: re.Pattern[str]
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class Match:
    device: Device
    endpoint: Endpoint | None  # None: a device host, but a path databack does not decode
    path: str  # the normalised (percent-decoded) path
    path_params: dict[str, str] = field(default_factory=dict)


def route(methods: str, path: str, endpoint: Endpoint) -> Route:
    """A route from a space-separated method list and a path regex (case-insensitive)."""
    return Route(frozenset(methods.split()), re.compile(path, re.IGNORECASE), endpoint)


def normalise_path(raw_path: str) -> str:
    """Percent-decode a URL path, fold repeated slashes and drop a trailing one."""
    path = re.sub(r"/{2,}", "/", unquote(raw_path))
    return path.rstrip("/") or "/"


def parse_query(raw_query: str) -> dict[str, str]:
    """Query parameters, decoded ('+' is a space), keys lower-cased; the first of repeated keys wins."""
    params: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        params.setdefault(k.lower(), v)
    return params


# The instants a datetime holds (years 1 to 9999 in UTC) as epoch µs: "0001-01-01T00:00:00+14:00" is written with
# a year fromisoformat reads, but falls before them in UTC, where no table's reader could take it.
UTC_RANGE_US = ((datetime.min.replace(tzinfo=UTC) - EPOCH) // MICROSECOND,
                (datetime.max.replace(tzinfo=UTC) - EPOCH) // MICROSECOND)


def iso_utc(value: Any) -> int | None:
    """An ISO 8601 timestamp as UTC epoch µs (naive ones are taken as UTC); 7-digit fractions keep µs. ValueError
    for one that is before year 1 or after year 9999 once in UTC."""
    if not value:
        return None
    t = datetime.fromisoformat(value)
    return in_utc_range(((t.replace(tzinfo=UTC) if t.tzinfo is None else t) - EPOCH) // MICROSECOND)


def in_utc_range(us: int) -> int:
    """UTC epoch µs as they are, or ValueError for an instant before year 1 or after year 9999 in UTC (a time worked
    out from others, a start plus seconds since, as those read)."""
    if not UTC_RANGE_US[0] <= us <= UTC_RANGE_US[1]:
        raise ValueError("a time before year 1 or after year 9999 in UTC")
    return us


def datetime_us(value: datetime | None) -> int | None:
    """An aware datetime as UTC epoch µs."""
    return None if value is None else (value - EPOCH) // MICROSECOND


def ms_utc(value: Any) -> int | None:
    """Epoch milliseconds as epoch µs, within years 1 to 9999 in UTC (`in_utc_range`); a fraction of a millisecond
    (a float's) is kept to the nearest µs, exactly, rather than cut towards zero."""
    if value is None:
        return None
    return in_utc_range(round(Fraction(value) * 1000) if type(value) is float else int(value) * 1000)


def iso_date(value: Any) -> date | None:
    """The calendar date of an ISO timestamp as written, without converting its zone (Band DayId, Sense dates)."""
    return date.fromisoformat(value[:10]) if value else None


def number(value: Any) -> float | None:
    """A number that may arrive as a JSON string (OData Int64) as a float; None stays None. Text of more digits
    than a float holds (309 and more: float() gives infinity, where JSON's own such number is no JSON) raises
    ValueError: its exchange is rejected, as an integer too big for 64 bits is."""
    if value is None or value == "":
        return None
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"a number of {len(str(value)):,} characters, more than a float holds")
    return v


def per(value: Any, divisor: float) -> float | None:
    """`number(value) / divisor`, e.g. centimetres to metres with 100 (division keeps 11906 cm = 119.06 m exact)."""
    v = number(value)
    return None if v is None else v / divisor


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def identifier(value: Any) -> str:
    """A record's id as text: a text as it is, an integer's digits. ValueError for a number written with a fraction
    or an exponent, or beyond 64 bits (which the JSON parser reads as a float): a float holds it only roughly
    (2519812557630091728.0 is 2.519812557630092e+18), and ids it rounds alike would be one record."""
    if type(value) is str or type(value) is int:
        return str(value)
    kind = "number a float holds only roughly" if type(value) is float else "value of another kind"
    raise ValueError(f"an id written as a JSON {kind}")


def integer(value: Any) -> int | None:
    """An integer column's value; one too big for a 64-bit integer raises ValueError (its exchange is rejected,
    where the table would otherwise hold a null), as does a number with a fraction (12.7), which
    int() would cut to 12 without a word (text of a fraction is refused by int() itself). A whole number written
    as a float (3.0) is that integer."""
    if value is None or value == "":
        return None
    if type(value) is float and not value.is_integer():
        raise ValueError(f"{value!r} has a fraction, where an integer column takes a whole number")
    v = int(value)
    if not INT64_MIN <= v <= INT64_MAX:
        raise ValueError(f"{v} does not fit a 64-bit integer")
    return v


# Column converters for blocks: the converters above applied to every value of a column. Columns whose values are
# already of the output type (as the schema check usually leaves them) are passed on as they are.
_NUMBERS = frozenset({int, float, type(None)})
_INTEGERS = frozenset({int, type(None)})


def values_of(items: list[dict[str, Any]], key: str) -> list:
    return [item.get(key) for item in items]


def numbers(values: list) -> list:
    return values if set(map(type, values)) <= _NUMBERS else [number(v) for v in values]


def integers(values: list) -> list:
    if set(map(type, values)) <= _INTEGERS and all(INT64_MIN <= v <= INT64_MAX for v in values if v is not None):
        return values
    return [integer(v) for v in values]


def scaled(values: list, divisor: float) -> list:
    """`per` of every value: e.g. centimetres to metres with 100."""
    return [None if v is None else v / divisor for v in numbers(values)]
