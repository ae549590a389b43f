"""Rows kept on disk rather than in memory, so that memory does not grow with the capture: a file's rows are written
in batches (Arrow IPC) once they pass `SPILL_ROWS`, and a table of more than `SORT_ROWS` rows is sorted on disk,
range by range of its key (an external sort), then written out one range at a time (`Sorted`).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import polars as pl
from polars.io.plugins import register_io_source

class SpillFailed(Exception):
    """Rows could not be written to the work folder (a full disk, say): the run cannot go on."""


SPILL_ROWS = 300_000  # rows one file's buffer (or a run's in-memory tables) holds before they go to disk
SORT_ROWS = 100_000  # rows sorted in memory at once; a bigger table is cut into ranges of about this many
HOLD_ROWS = 100_000  # rows of tables from disk that, once sorted, wait in memory to be written
SAMPLES_PER_RANGE = 64  # key values sampled per range to choose where ranges start


@dataclass(frozen=True)
class Sorted:
    """A table on disk in consecutive ranges of its key: Arrow IPC pieces per range, each range sorted by `key`
    as it is read (so that the rows are written to disk once, and read back once)."""

    ranges: tuple[tuple[Path, ...], ...]
    key: tuple[str, ...]

    @classmethod
    def written(cls, df: pl.DataFrame, folder: Path) -> Sorted:
        """`df`, already sorted, as one range in `folder`."""
        return cls(((_write(df, folder),),), ())

    @property
    def height(self) -> int:
        return height(pl.scan_ipc([path for pieces in self.ranges for path in pieces]))

    def lazy(self) -> pl.LazyFrame:
        return pl.concat([self._range(pl.scan_ipc(list(pieces))) for pieces in self.ranges])

    def write_parquet(self, path: Path) -> None:
        """Streamed a range at a time: polars' own scan of several files reads them at once, and its peak memory
        grows with the table."""
        source = register_io_source(lambda *_: self.batches(), schema=pl.read_ipc_schema(self.ranges[0][0]))
        source.sink_parquet(path)

    def write_csv(self, path: Path) -> None:
        with open(path, "wb") as f:
            for i, df in enumerate(self.batches()):
                df.write_csv(f, include_header=i == 0)

    def batches(self) -> Iterator[pl.DataFrame]:
        """The rows in key order, a range at a time."""
        for pieces in self.ranges:
            yield self._range(pl.read_ipc(list(pieces)))

    def _range[F: (pl.DataFrame, pl.LazyFrame)](self, frame: F) -> F:
        return frame.sort(list(self.key), nulls_last=True, maintain_order=True) if self.key else frame


Frame = pl.DataFrame | Sorted  # a table in memory, or sorted on disk
Rows = pl.DataFrame | list[pl.LazyFrame]  # one file's rows of a table: in memory, or batches on disk


def write_batch(df: pl.DataFrame, folder: Path) -> pl.LazyFrame:
    """`df` written into `folder`, as a frame that reads it back."""
    return pl.scan_ipc(_write(df, folder))


def write_groups(df: pl.DataFrame, by: str, folder: Path, pieces: dict[Any, list[Path]]) -> None:
    """The rows of `df` written into `folder`, a file for each value of its column `by` (left out of the file), each
    file's path added to `pieces[value]`."""
    for (value,), piece in df.partition_by(by, as_dict=True, include_key=False).items():
        pieces.setdefault(value, []).append(_write(piece, folder))


def _write(df: pl.DataFrame, folder: Path) -> Path:
    path = folder / f"{uuid.uuid4().hex}.arrow"
    try:  # lz4: polars memory-maps uncompressed files to read them, and the mapped pages count as this process's memory
        df.write_ipc(path, compression="lz4")
    except OSError as e:  # polars' IPC writer repeats the code in its message: "No space left on device (os error 28)"
        raise SpillFailed(re.sub(r" \(os error \d+\)$", "", e.strerror or str(e))) from None
    return path


def height(frame: pl.LazyFrame) -> int:
    return frame.select(pl.len()).collect(engine="in-memory").item()


def sort(parts: Sequence[pl.LazyFrame], key: Sequence[str], folder: Path | None) -> Frame:
    """The rows of `parts` sorted by `key` (nulls last, ties in their order): in memory when there is no `folder`
    or they are no more than `SORT_ROWS`; else on disk, part by part, so that no more than one part (or about
    `SORT_ROWS` rows) is held at once, cut into ranges of the key written into `folder`, each sorted when read."""
    key = list(key)
    n = None if folder is None else sum(height(p) for p in parts)
    if n is None or n <= SORT_ROWS:
        return pl.concat(parts).collect(engine="in-memory").sort(key, nulls_last=True, maintain_order=True)
    ranges = math.ceil(n / SORT_ROWS)
    step = max(1, n // (ranges * SAMPLES_PER_RANGE))
    sample = pl.concat([p.select(key).collect(engine="in-memory").gather_every(step) for p in parts])
    sample = sample.sort(key, nulls_last=True)
    bounds = [sample.row(len(sample) * j // ranges) for j in range(1, ranges)]
    range_of = pl.sum_horizontal([_after(key, b).cast(pl.Int32) for b in bounds]).alias("_range")
    pieces: dict[int, list[Path]] = {}
    for part in parts:  # each part's rows go to the range their key falls in
        write_groups(part.with_columns(range_of).collect(engine="in-memory"), "_range", folder, pieces)
    return Sorted(tuple(tuple(pieces[r]) for r in sorted(pieces)), tuple(key))


def _after(key: list[str], bound: tuple[Any, ...]) -> pl.Expr:
    """Rows whose key sorts after `bound` (lexicographically, nulls last)."""
    after = pl.lit(False)
    for name, value in reversed(list(zip(key, bound))):
        col = pl.col(name)
        if value is None:
            after = col.is_null() & after
        else:
            after = col.is_null() | (col > value) | ((col == value) & after)
    return after
