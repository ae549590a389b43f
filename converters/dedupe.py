"""De-duplication across all captures of a run: the same record captured twice appears once.

A record is one row of a table with a natural key, or, for tables with a `group` column (a Sense night),
all rows of that group that one exchange produced, across those tables: a newer capture of a night replaces
the older one entirely, so events removed by an edit do not linger. Of the copies of a record the most
recently captured wins (ties: the later file, then the later entry); for a single row, a field the winner lacks
(null) is filled from the most recent older copy that has it. Every other copy is counted against its own file:
as a duplicate when its content equals the winner's, else as a conflict.

It works on whole columns (polars, lazily: tables may be on disk), so rows from files converted in parallel, from
earlier runs or from other shards go through the same step and give the same result whatever order they arrived in.
The copies of a table on disk are taken in buckets of keys of about `spill.SORT_ROWS` rows, written there first, so
that an archive captured many times over is de-duplicated in memory that does not grow with it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import polars as pl

from . import spill
from .tables import TABLES, Table

FILE_INDEX = "_file_index"  # position of the source file in the run: breaks ties between equal capture times
PROVENANCE_COLUMNS = ("participant_id", "source_file", "source_entry", "captured_at")
RECENCY = ("captured_at", FILE_INDEX, "source_entry")
WHERE = (FILE_INDEX, "source_entry")  # the exchange a row came from


@dataclass
class Losses:
    """Copies dropped: source file -> table -> count."""

    duplicates: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    conflicts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, table: str, losers: pl.DataFrame) -> None:
        """`losers`: one row per dropped copy, with `source_file` and `_same` (equal to the winner)."""
        for source_file, same, n in losers.group_by("source_file", "_same").len().iter_rows():
            (self.duplicates if same else self.conflicts)[source_file][table] += n


def dedupe(
    frames: dict[str, list[pl.LazyFrame]], on_disk: dict[str, Path] | None = None
) -> tuple[dict[str, list[pl.LazyFrame]], Losses]:
    """One copy of every record; `frames` hold every table's rows with provenance and `_file_index`, in parts (and
    are emptied as they are done with). Parts are read one at a time, and only the rows of records captured more
    than once are held together: for a table in `on_disk` (table -> work folder), a bucket of them at a time."""
    losses = Losses()
    out = {}
    groups: dict[str, list[Table]] = {}
    for name in list(frames):
        table = TABLES[name]
        if table.group:
            groups.setdefault(table.group, []).append(table)  # taken below, with the group's other tables
        elif name == "rejects":
            out[name] = frames.pop(name)
        else:
            out[name] = _dedupe_rows(table, frames.pop(name), losses, (on_disk or {}).get(name))
    for tables in groups.values():
        out.update(_dedupe_groups(tables, {t.name: frames.pop(t.name) for t in tables}, losses))
    return out, losses


def _content_hash(table: Table) -> pl.Expr:
    content = [c for c in table.column_names if c not in PROVENANCE_COLUMNS]
    return pl.struct(content).hash().alias("_hash")


def _oldest_first(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(list(RECENCY), nulls_last=False, maintain_order=True)


def _dedupe_rows(table: Table, parts: list[pl.LazyFrame], losses: Losses, folder: Path | None) -> list[pl.LazyFrame]:
    key_hash = pl.struct(list(table.key)).hash().alias("_key_hash")
    # Rows whose key hash is seen once have a key seen once: they pass as they are. Counting hashes takes a tenth of
    # the memory of `is_duplicated` on the key (270 bytes a row); a collision only sends rows down the full path.
    hashes = pl.concat([p.select(key_hash).collect(engine="in-memory") for p in parts])
    repeated = hashes.group_by("_key_hash").len().filter(pl.col("len") > 1)
    if repeated.is_empty():
        return parts
    is_copy = key_hash.is_in(repeated["_key_hash"].implode())
    winners = []
    for copies in _copies(parts, key_hash, is_copy, repeated, folder):
        df = _winners(table, copies, losses)
        winners.append(df.lazy() if folder is None else spill.write_batch(df, folder))
    return [*(p.filter(~is_copy) for p in parts), *winners]


def _copies(
    parts: list[pl.LazyFrame], key_hash: pl.Expr, is_copy: pl.Expr, repeated: pl.DataFrame, folder: Path | None
) -> Iterator[pl.DataFrame]:
    """The rows `is_copy`, of the keys in `repeated` (`_key_hash`, `len`), every copy of a key in the same frame and
    in the order of `parts`: all at once, or, with a `folder`, in buckets of keys of about `spill.SORT_ROWS` rows,
    each part's copies written there by bucket first."""
    if folder is None or repeated["len"].sum() <= spill.SORT_ROWS:
        yield pl.concat([p.filter(is_copy).collect(engine="in-memory") for p in parts])
        return
    bucket = repeated.sort("_key_hash").select(
        "_key_hash", _bucket=((pl.col("len").cum_sum() - pl.col("len")) // spill.SORT_ROWS).cast(pl.Int64)
    )
    buckets: dict[int, list[Path]] = {}
    for part in parts:
        df = part.with_columns(key_hash).join(bucket.lazy(), on="_key_hash", maintain_order="left").drop("_key_hash")
        spill.write_groups(df.collect(engine="in-memory"), "_bucket", folder, buckets)
    for b in sorted(buckets):
        yield pl.read_ipc(buckets.pop(b))


def _winners(table: Table, copies: pl.DataFrame, losses: Losses) -> pl.DataFrame:
    """The newest copy of each key, with what it lacks filled from older copies; the others are counted."""
    key = list(table.key)
    df = _oldest_first(copies.with_columns(_content_hash(table)))
    last = pl.int_range(pl.len()).over(key) == pl.len().over(key) - 1
    df = df.with_columns(_winner=last, _same=pl.col("_hash") == pl.col("_hash").last().over(key))
    losses.count(table.name, df.filter(~pl.col("_winner")))
    # Field by field, a value the newest copy lacks (null) is kept from the newest older copy that has it:
    # the public Band API leaves out what the private one sent for the same event.
    content = [c for c in table.column_names if c not in PROVENANCE_COLUMNS and c not in key]
    df = df.with_columns(pl.col(content).forward_fill().over(key))
    return df.filter(pl.col("_winner")).drop("_hash", "_winner", "_same")


def _dedupe_groups(
    tables: list[Table], frames: dict[str, list[pl.LazyFrame]], losses: Losses
) -> dict[str, list[pl.LazyFrame]]:
    """Whole groups (e.g. nights): the newest exchange's rows of a group replace every older exchange's."""
    group = ["participant_id", tables[0].group]
    record = [*group, *RECENCY]
    hashes = [
        pl.concat([p.select(*record, "source_file", _content_hash(t)).collect(engine="in-memory") for p in frames[t.name]])
        .group_by([*record, "source_file"])
        .agg(pl.col("_hash").sort().alias(f"_hash_{t.name}"))
        for t in tables
    ]
    records = hashes[0]
    for h in hashes[1:]:
        records = records.join(h, on=[*record, "source_file"], how="full", coalesce=True, nulls_equal=True)
    records = _oldest_first(
        records.with_columns(_hash=pl.struct([f"_hash_{t.name}" for t in tables]).hash()).select(
            *record, "source_file", "_hash"
        )
    )
    last = pl.int_range(pl.len()).over(group) == pl.len().over(group) - 1
    records = records.with_columns(_winner=last, _same=pl.col("_hash") == pl.col("_hash").last().over(group))
    losses.count(tables[0].name, records.filter(~pl.col("_winner")))
    winners = records.filter(pl.col("_winner"))
    if winners.height == records.height:
        return frames  # every group captured once
    keep = winners.select(*group, *WHERE).lazy()
    return {
        t.name: [p.join(keep, on=[*group, *WHERE], how="semi", nulls_equal=True) for p in frames[t.name]]
        for t in tables
    }
