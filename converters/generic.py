"""Generic export for devices databack does not know: every JSON response from chosen hosts becomes tidy tables.

One table per host and path template (`api.fitbit.com /1/user/{id}/sleep/date/{date}.json`). A response's
scalars, with nested objects flattened into `parent_child` columns, make one row (a top-level array, one row per
item); every array inside becomes a child table named `<table>__<field>` (in lower case, as the table's own name: file
systems that ignore case would take two names differing in case alone for one file), whose rows carry their parent's
`_row_id` as `_parent_id` and their `_index` in the array (arrays of scalars give a `value` column). Column
types are inferred over all responses of the run at once, so they are the same in every file: integers, floats,
booleans, or text (anything mixed is written as text, non-strings as JSON). The same response body captured
twice on the same template is kept once.

What reaches a table went through the redaction policy: a key named like a credential (`access_token`,
`password`…) never becomes a column, credentials in values (JWTs, tokens, URLs' secret parameters) are replaced,
and table names come from the redacted path template.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Collection

import orjson
import polars as pl

from . import limits, redaction
from .redaction import Safe, SafeJson
from .tables import Column, Table

TABLE_PREFIX = "generic__"
COLUMN_CELLS = 64  # what a column costs (its frame's series, its Parquet metadata, its data package entry) in cells
RESPONSE = "_response_sha256"  # which response a row came from: the same body twice is one response
PROVENANCE = {
    "participant_id": pl.String,
    "source_file": pl.String,
    "source_entry": pl.Int64,
    "captured_at": pl.Int64,  # epoch µs until cast
    RESPONSE: pl.String,
}


def table_name(host: str, raw_path: str) -> Safe:
    """A file-system-safe table name from the host and the path template."""
    template = f"{redaction.host(host)} {redaction.template(raw_path)}"
    return redaction.vocabulary(TABLE_PREFIX + re.sub(r"[^a-z0-9]+", "_", template.lower()).strip("_")[:150])


@dataclass
class GenericRecords:
    """One file's rows of generic tables as plain records, until `frames` decides their types."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    empty_cells: int = 0  # cells of the tables' frames no row fills: a row lacks a column of its table
    columns: int = 0  # of all the tables
    _columns: dict[str, set[str]] = field(default_factory=dict)
    _values: dict[str, int] = field(default_factory=dict)  # cells each table's rows fill

    def add(self, table: Safe, payload: SafeJson, provenance: dict[str, Any]) -> None:
        """Rows of one response; every row carries the response's hash, so copies can be dropped later. Only what
        the redaction policy made is taken: a `Safe` table name and source file, a `SafeJson` payload. Raises
        `limits.LimitHit`, adding nothing, where the response would take the file's tables past their budget
        (`_take`)."""
        redaction.require([table, provenance["source_file"]], "generic table")
        if not isinstance(payload, SafeJson):
            raise redaction.Unredacted("generic payloads are made by redaction.generic_payload")
        prov = provenance | {RESPONSE: hashlib.sha256(table.encode() + payload.sha256.encode()).hexdigest()}
        row_id = f"{provenance['source_file']}#{provenance['source_entry']}"
        payload = payload.value
        rows: dict[str, list[dict[str, Any]]] = {}
        if isinstance(payload, list):
            for i, item in enumerate(payload):
                _add_row(rows, table, item, f"{row_id}/{i}", None, None, prov)
        else:
            _add_row(rows, table, payload, row_id, None, None, prov)
        self._take(rows)

    def _take(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Add a response's rows, within the budget of `max_json_values`: a table's frame is each of its rows by
        each of its columns, so the cells no row fills (keys each in one row of many would cost their product) may
        be `max_json_values`, and the columns of all tables (each costs about what 64 cells do) a 64th of it."""
        budget = limits.current().max_json_values
        empty, columns, grown = self.empty_cells, self.columns, {}
        for table, added in rows.items():
            known, filled = self._columns.get(table, set()), self._values.get(table, 0)
            held = len(self.tables.get(table, ()))
            now = known.union(*added)
            now_filled = filled + sum(map(len, added))
            empty += (held + len(added)) * len(now) - now_filled - (held * len(known) - filled)
            columns += len(now) - len(known)
            grown[table] = now, now_filled
        if empty > budget:
            raise limits.LimitHit(f"generic tables of more than {budget:,} empty cells (--max-json-values)")
        if columns > budget // COLUMN_CELLS:
            raise limits.LimitHit(f"generic tables of more than {budget // COLUMN_CELLS:,} columns (--max-json-values)")
        self.empty_cells, self.columns = empty, columns
        for table, (now, now_filled) in grown.items():
            self._columns[table], self._values[table] = now, now_filled
            self.tables.setdefault(table, []).extend(rows[table])


def _add_row(rows: dict[str, list[dict[str, Any]]], table: str, value: Any, row_id: str, parent: str | None,
             index: int | None, prov: dict[str, Any]) -> None:
    row: dict[str, Any] = {"_row_id": row_id}
    if parent is not None:
        row |= {"_parent_id": parent, "_index": index}
    row |= prov  # (first: a field of the response named as one of these takes another name, not its place)
    children: list[tuple[str, list]] = []
    if isinstance(value, dict):
        _flatten(value, "", row, children, set())
    else:
        row["value"] = value
    rows.setdefault(table, []).append(row)
    for name, items in children:
        for i, item in enumerate(items):
            _add_row(rows, redaction.child_table(table, name), item, f"{row_id}/{name}/{i}", row_id, i, prov)


def _flatten(obj: dict[str, Any], prefix: str, row: dict[str, Any], children: list[tuple[str, list]],
             arrays: set[str]) -> None:
    """`obj`'s plain values into `row` and its arrays into `children`, nested names joined by `_`. Names are made of
    letters and digits, so keys may meet in one (`heart_rate`, `heart-rate` and `heart: {rate}`), or meet a column
    the row has already (`participant_id`, `source_file`, `captured_at`): a name taken is followed by `_2`, `_3`…,
    in the order of the keys, so no value takes another's place."""
    for key, value in obj.items():
        name = prefix + re.sub(r"[^A-Za-z0-9]+", "_", str(key)).strip("_")
        if isinstance(value, dict):
            _flatten(value, name + "_", row, children, arrays)
        elif isinstance(value, list):  # (a child table is named in lower case: `Zones` and `zones` meet too)
            name = name if name.lower() not in arrays else _free(name, arrays, str.lower)
            arrays.add(name.lower())
            children.append((name, value))
        else:
            row[_free(name, row)] = value


def _free(name: str, taken: Collection[str], fold=lambda n: n) -> str:
    """`name`, or where it is taken the first of `name_2`, `name_3`… that is not (as `fold` gives each)."""
    if fold(name) not in taken:
        return name
    n = 2
    while fold(f"{name}_{n}") in taken:
        n += 1
    return f"{name}_{n}"


def frames(records: GenericRecords) -> dict[str, pl.DataFrame]:
    """One frame per generic table of a file, with column types inferred over all its rows; `combine` merges
    files with polars' supertypes, so a column is text everywhere as soon as it is text anywhere."""
    out = {}
    for table, rows in sorted(records.tables.items()):
        columns = sorted({c for row in rows for c in row} - PROVENANCE.keys())
        data = {c: _column([row.get(c) for row in rows]) for c in columns}
        data |= {c: pl.Series(c, [row[c] for row in rows], dtype=d) for c, d in PROVENANCE.items()}
        out[table] = pl.DataFrame(data).with_columns(pl.col("captured_at").cast(pl.Datetime("us", "UTC")))
    return out


def dedupe(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of each response once: of identical responses, the most recently captured copy is kept.
    Returns the rows kept and, per source file, the number of response copies dropped."""
    copies = df.select(RESPONSE, "captured_at", "source_file", "source_entry").unique()
    copies = copies.sort("captured_at", "source_file", "source_entry", nulls_last=False)
    winners = copies.group_by(RESPONSE, maintain_order=True).last()
    losers = copies.join(winners, on=[RESPONSE, "source_file", "source_entry"], how="anti")
    kept = df.join(winners.select(RESPONSE, "source_file", "source_entry"), on=[RESPONSE, "source_file", "source_entry"],
                   how="semi")
    return kept.sort("_row_id"), losers.group_by("source_file").len()


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _column(values: list[Any]) -> pl.Series:
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pl.Series(values, dtype=pl.Boolean)
    if kinds and kinds <= {int}:
        numbers = [v for v in values if v is not None]
        if _INT64[0] <= min(numbers) and max(numbers) <= _INT64[1]:
            return pl.Series(values, dtype=pl.Int64)
    if kinds and kinds <= {int, float}:  # (an integer no Int64 holds, orjson reads to 2**64 - 1: a float, as one
        # of more than 64 bits is read)
        return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64)
    return pl.Series([v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
                     dtype=pl.String)


def describe(name: str, df: pl.DataFrame) -> Table:
    """A table definition for a generic table, from the columns found (for the report and the data package)."""
    columns = tuple(
        Column(c, dtype, _DESCRIPTIONS.get(c, f"JSON field {c!r} (nested names joined by _)")) for c, dtype in df.schema.items()
    )
    return Table(name, "Generic export of JSON responses of an unknown API.", columns, ("participant_id", "_row_id"))


_DESCRIPTIONS = {
    "_row_id": "This row: source file # entry, then / position in enclosing arrays",
    "_parent_id": "The `_row_id` of the row whose array held this one",
    "_index": "Position in that array",
    "value": "The array's item, for arrays of plain values",
    RESPONSE: "SHA-256 of the response (with its table): the same response captured twice is kept once",
    "participant_id": "Study participant the capture belongs to (null unless given)",
    "source_file": "Capture file the row was read from",
    "source_entry": "0-based index of the HAR entry or flow in that file",
    "captured_at": "When the response was captured (UTC)",
}
