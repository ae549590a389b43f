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

from itertools import repeat
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .base import UTC_RANGE_US, Later, Rows

if TYPE_CHECKING:
    import polars as pl

# ISO times that datetime.fromisoformat and `iso_utc` read alike: UTC (Z) or naive, any fraction (cut to µs).
ISO_UTC = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?Z?$"
DAY_MS = 86_400_000
EXACT = 2**53  # integers a float holds exactly


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
    frames: list[pl.DataFrame | None] = []
    if laters:
        _made_into(frames, laters)
    return frames


def _made_into(frames: list[pl.DataFrame | None], group: list[Later]) -> None:
    """`made`'s frames of `group`, appended to `frames`. (A function of the module, not one nested in `made`: a
    nested function that calls itself is a reference cycle, which kept every batch's frames until the garbage
    collector's next pass.)"""
    import polars as pl

    try:
        frame = group[0].convert([later.piece for later in group])
        if frame.height != sum(later.height for later in group):
            raise Fallback  # (a converter's bug: value by value says what the rows are)
    except (Fallback, pl.exceptions.PolarsError, TypeError, OverflowError):
        if len(group) == 1:
            frames.append(None)
        else:
            _made_into(frames, group[: len(group) // 2])
            _made_into(frames, group[len(group) // 2:])
        return
    start = 0
    for later in group:
        frames.append(frame.slice(start, later.height))
        start += later.height


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


SHORT = 5_000  # items up to which a regex costs less than the query asking whether one is needed


def _whole(items: list[dict[str, Any]], key: str) -> None:
    """Fallback where a value of `key` read into an integer column is a float with a fraction, which polars would cut
    as int() does (value by value, `base.integer` rejects its exchange). One pass over the values in C, making no
    list, where none is a float."""
    if float in set(map(type, map(dict.get, items, repeat(key)))) and not all(
            v.is_integer() for v in map(dict.get, items, repeat(key)) if type(v) is float):
        raise Fallback


class Items:
    """An array's items read into columns of the types given, and converters of those columns as polars expressions,
    made by one query (`frame`). polars reads as Python converts: JSON integers to floats as float() does, whole
    floats to integers as int() does (one with a fraction falls back: `_whole`), numbers to texts in their shortest
    round-trip digits, and fails on an integer beyond 64 bits (the array falls back). A converter that takes only
    some values (times within bounds) adds a check to the query, and the array falls back where one fails. (Each
    Series operation is a query of its own, some 50-300 µs: for the few thousand rows of a batch's sequences or
    timeline events, that was the whole cost.)"""

    def __init__(self, items: list[dict[str, Any]], schema: dict[str, pl.DataType], sparse: bool = False) -> None:
        """`sparse`: most keys of the schema are missing from most arrays (sequences: run, sleep, hike and golf
        fields): polars reads only the keys some item has (it costs some 30 µs a key, whatever the items). A key of
        objects (a `pl.Struct`: GPS locations, heart-rate zones) is read as a column a field (`column(key, field)`),
        from a list of the objects alone: read as a struct inside the items, its texts cost three times as much."""
        import polars as pl

        self.items = items
        self._present: set[str] | None = set().union(*items) if sparse else None
        nested = {key: dtype for key, dtype in schema.items() if isinstance(dtype, pl.Struct)}
        flat = {key: dtype for key, dtype in schema.items() if key not in nested}
        present = flat if self._present is None else {key: t for key, t in flat.items() if key in self._present}
        for key, dtype in present.items():
            if dtype == pl.Int64:
                _whole(items, key)
        self.df = pl.from_dicts(items, schema=present) if present else pl.DataFrame(height=len(items))
        columns = [pl.Series(key, [None], dtype).new_from_index(0, len(items))
                   for key, dtype in flat.items() if key not in present]
        for key, dtype in nested.items():
            fields = {f"{key}.{field.name}": field.dtype for field in dtype.fields}
            if self._present is None or key in self._present:
                objects = [value or {} for value in map(dict.get, items, repeat(key))]
                for field in dtype.fields:
                    if field.dtype == pl.Int64:
                        _whole(objects, field.name)
                read = pl.from_dicts(objects, schema={field.name: field.dtype for field in dtype.fields})
                columns += [column.alias(name) for column, name in zip(read.get_columns(), fields)]
            else:
                columns += [pl.Series(name, [None], t).new_from_index(0, len(items)) for name, t in fields.items()]
        self.df = self.df.hstack(columns)
        self.height = self.df.height
        self._checks: list[pl.Expr] = []
        self._divisors: dict[float, pl.Expr] = {}

    def typed(self, key: str, types: tuple[type, ...]) -> None:
        """A key the schema does not type: its values must be of these Python types (None aside), which polars reads
        as the value-by-value converter does, else the array falls back. Costs a pass over the items where the key
        is there at all."""
        if self._present is None:
            self._present = set().union(*self.items)
        if key in self._present and not {type(item.get(key)) for item in self.items} <= {*types, type(None)}:
            raise Fallback

    def given(self, values: pl.Series) -> pl.Expr:
        """A column made otherwise (one value an item), for the expressions of this query."""
        import polars as pl

        name = f"__given{self.df.width}"
        self.df = self.df.hstack([values.alias(name)])
        return pl.col(name)

    def runs(self, runs: Iterable[tuple[Any, int]], dtype: pl.DataType) -> pl.Expr:
        """A column of each value its count of times, in order ((value, count) each: an event's id or a night on each
        of its items): a Python object a run, not an item (the values are gathered in this query)."""
        import polars as pl

        values, counts = [], []
        for value, count in runs:
            values.append(value)
            counts.append(count)
        at = pl.int_range(0, len(values), dtype=pl.get_index_type()).repeat_by(pl.lit(pl.Series(counts,
                                                                                             dtype=pl.UInt64)))
        return pl.lit(pl.Series(values, dtype=dtype, strict=True)).gather(at.explode().drop_nulls())  # (0: a null)

    def check(self, ok: pl.Expr) -> None:
        """A condition every item must meet (null: met), else the array falls back."""
        self._checks.append(ok.fill_null(True).all())

    def collect(self, columns: dict[str, pl.Expr]) -> pl.DataFrame:
        """The columns, made by one query, with the checks."""
        import polars as pl

        ok = pl.all_horizontal(self._checks).alias("__ok") if self._checks else pl.lit(True).alias("__ok")
        query = self.df.lazy().select(*(e.alias(name) for name, e in columns.items()), ok)
        df = _collected(query)
        if df.height and not df.drop_in_place("__ok")[0]:
            raise Fallback
        return df

    def frame(self, table: str, columns: dict[str, pl.Expr | pl.Series | Any]) -> pl.DataFrame:
        """The rows of `table`, one an item, in its row schema: a column not given is null, a value neither an
        expression nor a Series is a constant."""
        import polars as pl

        from ..tables import TABLES

        exprs = {}
        for name, dtype in TABLES[table].row_schema.items():
            column = columns.get(name)
            if isinstance(column, pl.Series):
                column = self.given(column)
            elif not isinstance(column, pl.Expr):
                column = pl.lit(pl.Series(name, [column], dtype, strict=True)).first()
            exprs[name] = column.cast(dtype, strict=True)
        return self.collect(exprs)

    def column(self, key: str, field: str | None = None) -> pl.Expr:
        """The values of a key, or of a field of the objects under it."""
        import polars as pl

        return pl.col(key if field is None else f"{key}.{field}")

    def required(self, key: str) -> None:
        """A key the schema requires of every item (value by value, one missing is a KeyError)."""
        self.check(self.column(key).is_not_null())

    def numbers(self, key: str, field: str | None = None) -> pl.Expr:
        """`base.number` of every value, as floats: a JSON number, or the text of a decimal, which the schema
        writes `^-?\\d+(\\.\\d+)?$` (where float() and polars read the same number). Text of more digits than a
        float holds (infinity) falls back, where `base.number` refuses it (JSON's own numbers are finite)."""
        import polars as pl

        values = self.column(key, field).cast(pl.Float64, strict=True)
        if self.df.schema.get(key if field is None else f"{key}.{field}") == pl.String:
            self.check(values.is_finite())
        return values

    def scaled(self, key: str, divisor: float, field: str | None = None) -> pl.Expr:
        """`base.per` of every value: e.g. centimetres to metres with 100."""
        import polars as pl

        # divided by a column: polars multiplies by the inverse of a number (a literal, or even `pl.repeat` of one),
        # and 631 / 100 becomes 6.3100000000000005
        if divisor not in self._divisors:
            self._divisors[divisor] = self.given(pl.Series([float(divisor)], dtype=pl.Float64)
                                                 .new_from_index(0, self.height))
        # value by value, an integer is divided as an integer (exactly, then rounded): as a float only where the
        # float is the integer (2**53 is also the float of 2**53 + 1)
        self.check(self.numbers(key, field).is_between(-EXACT, EXACT, closed="none"))
        return self.numbers(key, field) / self._divisors[divisor]

    def integers(self, key: str) -> pl.Expr:
        """`base.integer` of every value: read as integers (see the class). Floats with a fraction, which the cast
        would cut, fall back (value by value, they reject the exchange)."""
        import polars as pl

        column = self.column(key)
        if self.df.schema.get(key, pl.Int64).is_float():
            self.check(column.round(0) == column)
        return column.cast(pl.Int64, strict=True)

    def texts(self, key: str) -> pl.Expr:
        return self.column(key)

    def text_or_none(self, key: str) -> pl.Expr:
        """`band.text_or_none` of every value ("" is null)."""
        import polars as pl

        return pl.when(self.column(key) != "").then(self.column(key))

    def flags(self, key: str) -> pl.Expr:
        return self.column(key)

    def dates(self, key: str) -> pl.Expr:
        """`base.iso_date` of every value (a text): the date its first ten characters write, "" as null. Other forms
        than YYYY-MM-DD (ISO week dates, a year 0) fall back."""
        import polars as pl

        head = pl.when(pl.col(key) != "").then(pl.col(key)).str.slice(0, 10)  # ("" is null)
        self.check(head.str.contains(r"^\d{4}-\d{2}-\d{2}$") & ~head.str.starts_with("0000"))
        return head.str.to_date("%Y-%m-%d", strict=True)

    def iso_utc(self, key: str) -> pl.Expr:
        """`base.iso_utc` of every value: UTC epoch µs of ISO times written in UTC (Z) or without a zone; a fraction
        of more than six digits cut to µs, as datetime.fromisoformat does. Other forms fall back. (Which form the
        array writes is asked first: the common `…Z` form needs no regex.)"""
        import polars as pl

        text = pl.col(key)
        seconds = text.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=True,
                                                            cache=False)  # (times are mostly distinct)
        # polars takes a second 60 and a year 0, which Python refuses
        valid = (text.str.slice(17, 2) < "60") & ~text.str.starts_with("0000")
        whole = (text.str.len_bytes() == 20) & text.str.ends_with("Z")
        if self.height > SHORT and _collected(self.df.lazy().select((whole & valid).fill_null(True).all())).item():
            return seconds.dt.epoch("us")
        fraction = text.str.extract(r"\.(\d+)").str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
        self.check(text.str.contains(ISO_UTC) & valid)
        return seconds.dt.epoch("us") + fraction

    def ms_utc(self, key: str) -> pl.Expr:
        """`base.ms_utc` of every value: epoch ms as epoch µs (within years 1 to 9999, else the array falls back)."""
        self.check(self.column(key).is_between(UTC_RANGE_US[0] // 1000, UTC_RANGE_US[1] // 1000))
        return self.column(key) * 1000

    def offsets_s(self, key: str) -> pl.Expr:
        """`sense._offset_s` of every value: UTC offsets in ms as seconds (floored). One of more than a day either
        way rejects the response, which the value-by-value path says."""
        self.check(self.column(key).is_between(-DAY_MS, DAY_MS))
        return self.column(key) // 1000

    def distinct(self, *exprs: pl.Expr) -> list[list]:
        """The distinct values of each expression (nulls aside), by one query."""
        import polars as pl

        query = self.df.lazy().select(e.drop_nulls().unique().implode().alias(str(n)) for n, e in enumerate(exprs))
        return list(_collected(query).row(0))


def _collected(query: pl.LazyFrame) -> pl.DataFrame:
    """A query of `Items`: one select of expressions over a frame in memory, where polars' optimizer has nothing to
    gain."""
    import polars as pl

    return query.collect(engine="in-memory", optimizations=pl.QueryOptFlags.none())


def first(present: pl.Expr, chosen: pl.Expr, other: pl.Expr) -> pl.Expr:
    """Of two keys, the value converted from the first where it is there (not null), else from the second (as
    `band._first` picks the raw value before converting it): `present` is the first key's raw column."""
    import polars as pl

    return pl.when(present.is_not_null()).then(chosen).otherwise(other)


def by_distinct(values: pl.Expr, distinct: list, convert: Callable[[Any], Any]) -> pl.Expr:
    """`convert` of every value, called once a distinct value (`Items.distinct`: for converters with no vectorized
    form, such as `band.single`); values it leaves as they are stay untouched (-0.0 is not 0.0)."""
    changed = [(v, c) for v in distinct if repr(c := convert(v)) != repr(v)]
    if not changed:
        return values
    old, new = zip(*changed)
    return values.replace(list(old), list(new))


def gaps_to_null(values: pl.Expr, gap: float = -1) -> pl.Expr:
    """Numbers with the gap marker (-1) as null."""
    import polars as pl

    return pl.when(values != gap).then(values)
