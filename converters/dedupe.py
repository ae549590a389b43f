"""De-duplication across all captures of a run: the same record captured twice appears once.

A record is one row of a table with a natural key, or, for tables with a `group` column (a Sense night),
all rows of that group that one exchange produced, across those tables: a newer capture of a night replaces
the older one entirely, so events removed by an edit do not linger. Of the copies of a record the most
recently captured wins (ties: the later file, then the later entry); for a single row, a field the winner lacks
(null) is filled from the most recent older copy that has it. Every other copy is counted against its own file:
as a duplicate when its content equals the winner's, else as a conflict.

It works on whole columns, one range of keys at a time (`spill.ranges`: every copy of a record falls in the same
range), so that rows from files converted in parallel, from earlier runs or from other shards go through the same
step and give the same result whatever order they arrived in, and ranges can be done in parallel.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import polars as pl

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

    def add(self, other: Losses) -> None:
        for mine, theirs in ((self.duplicates, other.duplicates), (self.conflicts, other.conflicts)):
            for source_file, counts in theirs.items():
                mine[source_file].update(counts)


def dedupe(frames: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], Losses]:
    """One copy of every record, each table sorted by its key (nulls last, ties in their order); `frames` hold the
    rows of one range of keys of tables with provenance and `_file_index` (a table with a group together with the
    other tables of its group)."""
    losses = Losses()
    out = {}
    groups: dict[str, list[Table]] = {}
    for name, df in frames.items():
        table = TABLES[name]
        if table.group:
            groups.setdefault(table.group, []).append(table)  # taken below, with the group's other tables
        else:
            out[name] = _dedupe_rows(table, by_key(table, df), losses)
    for tables in groups.values():
        kept = _dedupe_groups(tables, {t.name: frames[t.name] for t in tables}, losses)
        out.update({name: by_key(TABLES[name], df) for name, df in kept.items()})
    return out, losses


def by_key(table: Table, df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(list(table.key), nulls_last=True, maintain_order=True)


def _content_hash(table: Table) -> pl.Expr:
    content = [c for c in table.column_names if c not in PROVENANCE_COLUMNS]
    return pl.struct(content).hash().alias("_hash")


def _oldest_first(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(list(RECENCY), nulls_last=False, maintain_order=True)


def _dedupe_rows(table: Table, df: pl.DataFrame, losses: Losses) -> pl.DataFrame:
    """`df` sorted by key without its copies: rows of a key seen once pass as they are (copies of a key are next to
    each other), those of a key seen more than once are replaced by the winning copy."""
    if table.name == "rejects" or df.height < 2:
        return df
    same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(c).shift(1)) for c in table.key])
    as_before = (pl.int_range(pl.len()) > 0) & same  # the same key as the row before
    copy = df.select(as_before | as_before.shift(-1, fill_value=False)).to_series()
    if not copy.any():
        return df
    winners = _winners(table, df.filter(copy), losses)
    return by_key(table, pl.concat([df.filter(~copy), winners]))


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


def _dedupe_groups(tables: list[Table], frames: dict[str, pl.DataFrame], losses: Losses) -> dict[str, pl.DataFrame]:
    """Whole groups (e.g. nights): the newest exchange's rows of a group replace every older exchange's."""
    group = ["participant_id", tables[0].group]
    record = [*group, *RECENCY]
    hashes = [
        frames[t.name]
        .select(*record, "source_file", _content_hash(t))
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
    keep = winners.select(*group, *WHERE)
    return {
        t.name: frames[t.name].join(keep, on=[*group, *WHERE], how="semi", nulls_equal=True, maintain_order="left")
        for t in tables
    }
