"""De-duplication across all captures of a run: the same record captured twice appears once.

A record is one row of a table with a natural key, or, for tables with a `group` column (a Sense night),
all rows of that group that one exchange produced, across those tables: a newer capture of a night replaces
the older one entirely, so events removed by an edit do not linger. Of the copies of a record the most
recently captured wins (ties: the later file, then the later entry); for a single row, a field the winner lacks
(null) is filled from the most recent older copy that has it. Every other copy is counted against its own file:
as a duplicate when the row kept holds every value it holds (`api`, `api_version` aside), else as a conflict.

Every copy of a record captured more than once is noted in `COPIES` rows (the record, the file, a hash of the
copy's content as captured, or the kept copy's where it is a duplicate, whether it was kept), which OUT keeps
(`copies.parquet`): the counts are worked out from them alone (`losses`), so that a merge of shards, or a run adding
to an earlier one, where a kept row meets copies of other runs, counts as one run over every input would
(`reconcile`; a copy an earlier run dropped is known by its hash alone, so one that differed from the row that run
kept but holds nothing the row kept now lacks is still a conflict).

It works on whole columns, one range of keys at a time (`spill.ranges`: every copy of a record falls in the same
range), so that rows from files converted in parallel, from earlier runs or from other shards go through the same
step and give the same result whatever order they arrived in, and ranges can be done in parallel.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Collection, Sequence

import polars as pl

from .tables import COPIES as COPIES_TABLE
from .tables import TABLES, Table

FILE_INDEX = "_file_index"  # position of the source file in the run: breaks ties between equal capture times
PROVENANCE_COLUMNS = ("participant_id", "source_file", "source_entry", "captured_at")
RECENCY = ("captured_at", FILE_INDEX, "source_entry")
WHERE = (FILE_INDEX, "source_entry")  # the exchange a row came from
UNCOMPARED = ("api", "api_version")  # which API a copy came through: no value of the record (see `_winners`)


# A copy of a record captured more than once: `copies` copies of `table`'s record `record` (a hash of its key)
# in `source_file` whose content hashes to `hash`, the one kept or not (`tables.COPIES` describes them).
COPIES = COPIES_TABLE.schema


@dataclass
class Losses:
    """Copies dropped: source file -> table -> count."""

    duplicates: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    conflicts: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def losses(copies: pl.DataFrame) -> Losses:
    """The copies dropped, per file and table: a duplicate when its content equals the copy kept of its record (as
    captured, before fields it lacked were filled), else a conflict."""
    kept = copies.filter("kept").select("table", "record", kept_hash="hash")
    dropped = copies.filter(~pl.col("kept")).join(kept, on=["table", "record"], how="left")
    counted = Losses()
    same = pl.col("hash").eq_missing(pl.col("kept_hash")).alias("same")
    for source_file, table, same, n in dropped.group_by("source_file", "table", same).agg(pl.sum("copies")).iter_rows():
        (counted.duplicates if same else counted.conflicts)[source_file][table] += n
    return counted


def reconcile(earlier: pl.DataFrame, now: pl.DataFrame) -> pl.DataFrame:
    """The copies of records of earlier runs (`earlier`: their `copies.parquet`) and of this one (`now`: records
    whose rows met here, an earlier run's kept row among them) as one run over all inputs would have noted them. A
    row an earlier run kept is hashed here as it was kept (gaps filled): one that now differs from the copy kept takes
    the hash its run noted, and is kept or not as decided here. One found the same as the copy kept now (every value
    it holds, `_winners`) makes the copies its run found the same as it the same as that copy too: the copy kept now
    holds every value they held (and an older databack's hashes, of fewer columns, stay comparable)."""
    ids, kept, record = ["table", "record", "source_file"], pl.col("kept"), ["table", "record"]
    noted = earlier.filter(kept).select(*ids, noted="hash")
    now = now.join(noted, on=ids, how="left")
    # the copies found the same as the one kept now hash as it does here; they take its hash as captured
    label = now.filter(kept).select(*record, same_as="hash", label=pl.coalesce("noted", "hash"))
    now = now.join(label, on=record, how="left")
    same = pl.col("hash").eq_missing(pl.col("same_as"))
    alike = now.filter(pl.col("noted").is_not_null() & same).select(*record, hash="noted", to="label").unique()
    now = now.with_columns(hash=pl.when(same).then("label").otherwise(pl.coalesce("noted", "hash")))
    now = now.select(list(COPIES))
    still_kept = earlier.filter(kept).join(now.select(ids), on=ids, how="anti")
    dropped = earlier.filter(~kept).join(alike, on=[*record, "hash"], how="left")
    dropped = dropped.with_columns(hash=pl.coalesce("to", "hash")).select(list(COPIES))
    # a file's copies of a record noted by its run and found here too, of one hash, are one row, as one run notes them
    joined = pl.concat([dropped, still_kept, now])
    noted = [c for c in COPIES if c != "copies"]
    return joined.group_by(noted, maintain_order=True).agg(pl.sum("copies").cast(COPIES["copies"])).select(list(COPIES))


def dedupe(
    frames: dict[str, pl.DataFrame], ordered: Collection[str] = ()
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """One copy of every record, each table sorted by its key (nulls last, ties in their order), and the `COPIES` of
    records seen more than once; `frames` hold the rows of one range of keys of tables with provenance and
    `_file_index` (a table with a group together with the other tables of its group), those named in `ordered` in key
    order already. A table without a group is taken out of `frames` as it is sorted: its rows as they came are freed
    then, not held beside the sorted ones."""
    copies: list[pl.DataFrame] = []
    out = {}
    groups: dict[str, list[Table]] = {}
    for name in list(frames):
        table = TABLES[name]
        if table.group:
            groups.setdefault(table.group, []).append(table)  # taken below, with the group's other tables
        else:
            rows = frames.pop(name)
            out[name] = _dedupe_rows(table, rows if name in ordered else by_key(table, rows), copies)
    for tables in groups.values():
        kept = _dedupe_groups(tables, {t.name: frames[t.name] for t in tables}, copies)
        out.update({name: by_key(TABLES[name], df) for name, df in kept.items()})
    return out, pl.concat(copies) if copies else pl.DataFrame(schema=COPIES)


def by_key(table: Table, df: pl.DataFrame) -> pl.DataFrame:
    """`df` sorted by the table's key (nulls last, ties in their order): as it is where it already is (a range read
    from one sorted part), found by comparing each row with the one before, without the sort's copy."""
    key = list(table.key)
    if df.height < 2 or not df.select(_before_previous(key).slice(1).any()).item():
        return df
    return df.sort(key, nulls_last=True, maintain_order=True)


def _before_previous(key: list[str]) -> pl.Expr:
    """Rows whose key sorts before the previous row's (lexicographically, nulls last; the first row compares with
    nothing)."""
    return sorts_after([(pl.col(name).shift(1), pl.col(name)) for name in key])


def sorts_after(pairs: Sequence[tuple[pl.Expr, pl.Expr]], or_equal: bool | pl.Series = False) -> pl.Expr:
    """Where a key sorts after another (`pairs`: their columns side by side, in the key's order; lexicographically,
    nulls last, as `by_key` sorts), or is equal to it where `or_equal`."""
    after = pl.lit(or_equal)
    for a, b in reversed(pairs):
        after = (a > b).fill_null(a.is_null() & b.is_not_null()) | (a.eq_missing(b) & after)
    return after


def _content_hash(table: Table) -> pl.Expr:
    content = [c for c in table.column_names if c not in PROVENANCE_COLUMNS]
    return pl.struct(content).hash().alias("_hash")


def _oldest_first(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(list(RECENCY), nulls_last=False, maintain_order=True)


def _dedupe_rows(table: Table, df: pl.DataFrame, copies: list[pl.DataFrame]) -> pl.DataFrame:
    """`df` sorted by key without its copies: rows of a key seen once pass as they are (copies of a key are next to
    each other), those of a key seen more than once are replaced by the winning copy."""
    if table.name == "rejects" or df.height < 2:
        return df
    same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(c).shift(1)) for c in table.key])
    as_before = (pl.int_range(pl.len()) > 0) & same  # the same key as the row before
    copy = df.select(as_before | as_before.shift(-1, fill_value=False)).to_series()
    if not copy.any():
        return df
    winners = _winners(table, df.filter(copy), copies)
    return by_key(table, pl.concat([df.filter(~copy), winners]))


def _winners(table: Table, rows: pl.DataFrame, copies: list[pl.DataFrame]) -> pl.DataFrame:
    """The newest copy of each key, with what it lacks filled from older copies; every copy is noted in `copies`."""
    key = list(table.key)
    df = _oldest_first(rows.with_columns(_content_hash(table)))
    last = pl.int_range(pl.len()).over(key) == pl.len().over(key) - 1
    df = df.with_columns(_winner=last)
    # Field by field, a value the newest copy lacks (null) is kept from the newest older copy that has it:
    # the public Band API leaves out what the private one sent for the same event.
    content = [c for c in table.column_names if c not in PROVENANCE_COLUMNS and c not in key]
    winners = df.with_columns(pl.col(content).forward_fill().over(key)).filter(pl.col("_winner"))
    # A copy every value of which the row kept holds (its own, or one it took from an older copy) lost nothing: it is
    # noted with the hash of the copy kept (a duplicate), whatever fields it lacks or the kept copy took from it, and
    # whichever API it came through (`api`, `api_version`: the public and private copies of one Band event, a Sense
    # card through v1 and v2). One holding another value is a conflict.
    compared = [c for c in content if c not in UNCOMPARED]
    kept = winners.select(*key, *(pl.col(c).alias(f"{c}\0kept") for c in compared), pl.col("_hash").alias("\0kept"))
    df = df.join(kept, on=key, how="left", nulls_equal=True, maintain_order="left")
    same = pl.all_horizontal(pl.lit(True), *(
        pl.col(c).is_null() | pl.col(c).eq(pl.col(f"{c}\0kept")) for c in compared))
    df = df.select(*key, "source_file", "_winner", _hash=pl.when(same).then(pl.col("\0kept")).otherwise("_hash"))
    copies.append(_noted(table.name, key, df))
    return winners.drop("_hash", "_winner")


def _noted(table: str, key: list[str], df: pl.DataFrame) -> pl.DataFrame:
    """`COPIES` rows of copies (`df`: with `_hash` and `_winner`) of records seen more than once."""
    noted = df.select(
        table=pl.lit(table), record=pl.struct(key).hash(), source_file="source_file", hash="_hash", kept="_winner"
    )
    return noted.group_by(noted.columns, maintain_order=True).agg(copies=pl.len().cast(pl.UInt32))


def _dedupe_groups(
    tables: list[Table], frames: dict[str, pl.DataFrame], copies: list[pl.DataFrame]
) -> dict[str, pl.DataFrame]:
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
    records = records.with_columns(_winner=last)
    copies.append(_noted(tables[0].name, group, records.filter(pl.len().over(group) > 1)))
    winners = records.filter(pl.col("_winner"))
    if winners.height == records.height:
        return frames  # every group captured once
    keep = winners.select(*group, *WHERE)
    return {
        t.name: frames[t.name].join(keep, on=[*group, *WHERE], how="semi", nulls_equal=True, maintain_order="left")
        for t in tables
    }
