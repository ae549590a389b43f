"""Columnar decoding of long arrays (minute rows, GPS points, sensor samples, timeline events): polars reads the
array's items into typed columns at once, and units, times, offsets and gaps are converted by vectorized
expressions, with no Python call per value; the arrays of many responses are converted together (`Later`, `made`).

Each converter here gives exactly what the value-by-value converter of `base` gives for every value of the column,
or makes the array fall back (`Fallback`) where it cannot be sure to (a type or a text form it does not take): the
decoder then decodes that array value by value, which also raises the same error for a value that rejects its
exchange. The types a column may hold are the ones the endpoint's JSON Schema allows for its field (checked before
decoding), which is why every field read here is typed there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .base import INT64_MAX, Later, Rows

if TYPE_CHECKING:
    import polars as pl

# ISO times that datetime.fromisoformat and `iso_utc` read alike: UTC (Z) or naive, any fraction (cut to µs).
ISO_UTC = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?Z?$"
MS_BOUND = INT64_MAX // 1000  # epoch ms that still fit epoch µs
DAY_MS = 86_400_000


class Fallback(Exception):
    """The array holds a type or a text form the columnar converters do not take: decode it value by value."""


by_columns = True  # False in a process that decodes without polars (the reading process: see captures/pipe.py)
# Rows an array needs to be made by columns: polars costs some 0.5-1 ms a conversion whatever its length, which value
# by value costs at about a thousand items; conversions of many responses at once (`Later`) share it.
LONG = 100


def columnar(table: str, height: int, convert: Callable[[list], pl.DataFrame], piece: Any,
             slow: Callable[[], Rows], long: int | None = None) -> Rows:
    """The `height` rows of `table` that `piece` holds: made by columns later (`Later`, converted together with other
    responses' pieces by `convert`) where there are at least `long` (`LONG` unless given: rows of wide tables, whose
    every value costs Python calls, pay sooner), else value by value (`slow`) now."""
    if not by_columns or height < (LONG if long is None else long):
        yield from slow()
    elif height:
        yield table, Later(convert, piece, slow, height)


def made(laters: list[Later]) -> list[pl.DataFrame | None]:
    """Each `Later`'s rows by columns, all of them converted at once (they share their `convert`): a slice of one
    frame each; where the conversion does not take them all, each half is converted on its own, and so on; None for
    one it does not take alone, whose rows are made value by value (`Later.slow`)."""
    import polars as pl

    frames: list[pl.DataFrame | None] = []

    def convert(group: list[Later]) -> None:
        try:
            frame = group[0].convert([later.piece for later in group])
            if frame.height != sum(later.height for later in group):
                raise Fallback  # (a converter's bug: value by value says what the rows are)
        except (Fallback, pl.exceptions.PolarsError, TypeError, OverflowError):
            if len(group) == 1:
                frames.append(None)
            else:
                convert(group[: len(group) // 2])
                convert(group[len(group) // 2:])
            return
        start = 0
        for later in group:
            frames.append(frame.slice(start, later.height))
            start += later.height

    if laters:
        convert(laters)
    return frames


def frame(table: str, height: int, columns: dict[str, pl.Series | Any]) -> pl.DataFrame:
    """`height` rows of `table` in its row schema: a column not given is null, a value not a Series is a constant."""
    import polars as pl

    from ..tables import TABLES

    out = []
    for name, dtype in TABLES[table].row_schema.items():
        column = columns.get(name)
        if not isinstance(column, pl.Series):
            column = pl.Series(name, [column], dtype, strict=True).new_from_index(0, height)
        out.append(column.cast(dtype, strict=True).alias(name))
    return pl.DataFrame(out)


class Items:
    """An array's items read into columns of the types given, and converters of those columns. polars reads as
    Python converts: JSON integers to floats as float() does, floats to integers truncated as int() does, numbers to
    texts in their shortest round-trip digits, and fails on an integer beyond 64 bits (the array falls back). The
    converters use polars' native Series operations (a query costs some 50 µs more, which for arrays of a few
    hundred values is the whole cost)."""

    def __init__(self, items: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> None:
        import polars as pl

        self.items = items
        self.df = pl.from_dicts(items, schema=schema)
        self.height = self.df.height
        self._present: set[str] | None = None

    def typed(self, key: str, types: tuple[type, ...]) -> None:
        """A key the schema does not type: its values must be of these Python types (None aside), which polars reads
        as the value-by-value converter does, else the array falls back. Costs a pass over the items where the key
        is there at all."""
        if self._present is None:
            self._present = set().union(*self.items)
        if key in self._present and not {type(item.get(key)) for item in self.items} <= {*types, type(None)}:
            raise Fallback

    def frame(self, table: str, columns: dict[str, pl.Series | Any]) -> pl.DataFrame:
        """The rows of `table`, one an item (see `frame`)."""
        return frame(table, self.height, columns)

    def column(self, key: str, field: str | None = None) -> pl.Series:
        """The values of a key, or of a field of the objects under it."""
        column = self.df.get_column(key)
        return column if field is None else column.struct.field(field)

    def required(self, key: str) -> None:
        """A key the schema requires of every item (value by value, one missing is a KeyError)."""
        if self.df.get_column(key).null_count():
            raise Fallback

    def numbers(self, key: str, field: str | None = None) -> pl.Series:
        """`base.number` of every value, as floats: a JSON number, or the text of a decimal, which the schema
        writes `^-?\\d+(\\.\\d+)?$` (where float() and polars read the same number)."""
        import polars as pl

        return self.column(key, field).cast(pl.Float64, strict=True)

    def scaled(self, key: str, divisor: float, field: str | None = None) -> pl.Series:
        """`base.per` of every value: e.g. centimetres to metres with 100."""
        import polars as pl

        # divided by a column: polars multiplies by the inverse of a number, and 2090 / 100 = 20.900000000000002
        divisors = pl.Series([float(divisor)], dtype=pl.Float64).new_from_index(0, self.height)
        return self.numbers(key, field) / divisors

    def integers(self, key: str) -> pl.Series:
        """`base.integer` of every value: read as integers (see the class)."""
        import polars as pl

        return self.column(key).cast(pl.Int64, strict=True)

    def texts(self, key: str) -> pl.Series:
        return self.column(key)

    def text_or_none(self, key: str) -> pl.Series:
        """`band.text_or_none` of every value ("" is null)."""
        column = self.column(key)
        return column.set(column == "", None) if (column == "").any() else column

    def flags(self, key: str) -> pl.Series:
        return self.column(key)

    def dates(self, key: str) -> pl.Series:
        """`base.iso_date` of every value (a text): the date its first ten characters write, "" as null. Other forms
        than YYYY-MM-DD (ISO week dates, a year 0) fall back."""
        import polars as pl

        head = pl.when(pl.col(key) != "").then(pl.col(key)).str.slice(0, 10)  # ("" is null)
        checked = self.df.lazy().select(
            head.str.to_date("%Y-%m-%d", strict=True).alias(key),
            (head.str.contains(r"^\d{4}-\d{2}-\d{2}$") & ~head.str.starts_with("0000")).fill_null(True).all()
            .alias("ok"),
        ).collect(engine="in-memory")
        if not checked.get_column("ok")[0]:
            raise Fallback
        return checked.to_series(0)

    def joined(self, key: str) -> pl.Series:
        """`sense._joined` of every value (a list of texts): joined by ',', null for none or an empty list."""
        column = self.column(key)
        return column.list.join(",").set(column.list.len().fill_null(0) == 0, None)

    def iso_utc(self, key: str) -> pl.Series:
        """`base.iso_utc` of every value: UTC epoch µs of ISO times written in UTC (Z) or without a zone; a fraction
        of more than six digits cut to µs, as datetime.fromisoformat does. Other forms fall back."""
        import polars as pl

        text = pl.col(key)
        seconds = text.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=True)
        # polars takes a second 60 and a year 0, which Python refuses
        valid = (text.str.slice(17, 2) < "60") & ~text.str.starts_with("0000")
        whole = (text.str.len_bytes() == 20) & text.str.ends_with("Z")  # the common form: no regex needed
        checked = self.df.lazy().select(
            seconds.dt.epoch("us"), (whole & valid).fill_null(True).all().alias("ok")
        ).collect(engine="in-memory")
        if checked.get_column("ok")[0]:
            return checked.to_series(0)
        fraction = text.str.extract(r"\.(\d+)").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
        checked = self.df.lazy().select(
            seconds.dt.epoch("us") + fraction, (text.str.contains(ISO_UTC) & valid).fill_null(True).all().alias("ok")
        ).collect(engine="in-memory")
        if not checked.get_column("ok")[0]:
            raise Fallback
        return checked.to_series(0)

    def ms_utc(self, key: str) -> pl.Series:
        """`base.ms_utc` of every value: epoch ms as epoch µs."""
        column = self.column(key)
        if not _within(column, -MS_BOUND, MS_BOUND):
            raise Fallback
        return column * 1000

    def offsets_s(self, key: str) -> pl.Series:
        """`sense._offset_s` of every value: UTC offsets in ms as seconds (floored). One of more than a day either
        way rejects the response, which the value-by-value path says."""
        column = self.column(key)
        if not _within(column, -DAY_MS, DAY_MS):
            raise Fallback
        return column // 1000


def _within(column: pl.Series, low: int, high: int) -> bool:
    return column.null_count() == len(column) or (low <= column.min() and column.max() <= high)


def first(present: pl.Series, chosen: pl.Series, other: pl.Series) -> pl.Series:
    """Of two keys, the value converted from the first where it is there (not null), else from the second (as
    `band._first` picks the raw value before converting it): `present` is the first key's raw column."""
    return chosen.zip_with(present.is_not_null(), other)


def by_distinct(values: pl.Series, convert: Callable[[Any], Any]) -> pl.Series:
    """`convert` of every value, called once a distinct value (for converters with no vectorized form, such as
    `band.single`); values it leaves as they are stay untouched (-0.0 is not 0.0)."""
    changed = [(v, c) for v in values.drop_nulls().unique().to_list() if repr(c := convert(v)) != repr(v)]
    if not changed:
        return values
    old, new = zip(*changed)
    return values.replace(list(old), list(new))


def gaps_to_null(values: pl.Series, gap: float = -1) -> pl.Series:
    """Numbers with the gap marker (-1) as null."""
    marked = values == gap
    return values.set(marked, None) if marked.any() else values
