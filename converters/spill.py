"""Rows kept on disk rather than in memory, so that memory does not grow with the archive, and cut so that each cut
can be reduced on its own, in parallel.

Every file's rows of a table come as `Part`s: sorted by the table's key, written into the work folder (Parquet) once
a buffer passes `SPILL_ROWS`, each with a sample of its keys. From the samples the reduce chooses `ranges` of the key
of about `SORT_ROWS` rows, and reads of each part only the slice a range needs (`Part.read`); a range is de-duplicated
and sorted on its own, and a big table's ranges come back as `Sorted` pieces on disk, to be written in order.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
import uuid
import weakref
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import polars as pl
from polars.io.plugins import register_io_source

from . import store
from .dedupe import sorts_after


class SpillFailed(Exception):
    """Rows could not be written to the work folder (a full disk, say): the run cannot go on."""


SPILL_ROWS = 300_000  # rows a buffer holds before they go to disk as a part
PART_ROWS = 20_000  # a file's rows of a table that go to disk as a part at its end; fewer come back in memory
MAX_PARTS = 64  # files whose parts in memory are gathered into one part at most
SORT_ROWS = 50_000  # rows of a range: the reduce holds about this many of a table at once
HOLD_ROWS = 100_000  # rows of reduced tables kept in memory to be written; beyond, ranges wait on disk
REDUCE_BYTES = 40 << 20  # about what the ranges reduced at once in a process hold, with writers' row groups (one runs)
BESIDE_BYTES = 64 << 20  # about what the rows merged into ranges on disk hold in memory in a process, at most
VIEW_BYTES = 32 << 20  # about what the views may hold of tables on disk beside their writers; beyond, they wait
SAMPLE_EVERY = 128  # a part's key is sampled every this many rows (its first row included)
POSITION = "_position"  # a sampled row's position in its part
ROW_GROUP = 16_384  # rows of a Parquet row group in the work folder: a range's slice of a part reads whole groups


@dataclass(frozen=True)
class Part:
    """Rows of one table sorted by `key` (nulls last, ties in arrival order): a Parquet file, or a frame in memory;
    `sample` holds the key of every `SAMPLE_EVERY`-th row, with its `_position`."""

    source: Path | pl.DataFrame
    height: int
    key: tuple[str, ...]
    sample: pl.DataFrame

    @classmethod
    def of(cls, df: pl.DataFrame, key: Sequence[str], folder: Path | None = None) -> Part:
        """`df` sorted by `key`, kept in memory, or with a `folder`, written there (a row group at a time, without a
        sorted copy of the whole of it, where its order is not a few runs of its rows). Kept in memory, rows whose
        order is long runs are slices of `df` in that order, not a gathered copy of it: a run's one file keeps its
        parts so, and the copy came on top of the frames it is made from (the 15 % HAR's 185,000 sensor samples in
        642 runs: the top at the end of the file's conversion 5-9 MiB lower)."""
        key, index = tuple(key), pl.get_index_type()
        order = sort_order(df, key)
        sampled = pl.int_range(0, df.height, SAMPLE_EVERY, dtype=index, eager=True)
        sample = df.select(key)[sampled if order is None else order.gather_every(SAMPLE_EVERY)]
        sample = sample.select(sampled.alias(POSITION), *key)
        if folder is None:
            source = df if order is None else sliced if (sliced := _sliced(df, order)) is not None else df[order]
        elif order is None:
            source = _write(df, folder)
        elif (sliced := _sliced(df, order)) is not None:
            source = _write(sliced, folder)
        else:
            source = _write_in_order(df, order, folder)
        return cls(source, df.height, key, sample)

    def read(self, start: int = 0, stop: int | None = None) -> pl.DataFrame:
        stop = self.height if stop is None else stop
        if isinstance(self.source, pl.DataFrame):
            return self.source.slice(start, stop - start)
        return pl.scan_parquet(self.source, glob=False).slice(start, stop - start).collect(engine="in-memory")

    def read_in(self, start: int, stop: int, low: tuple[Any, ...] | None, high: tuple[Any, ...] | None) -> pl.DataFrame:
        """The rows of a slice `cut` gave that are in its range (key prefix from `low` up to `high`, see `in_range`).
        The part being sorted, only the rows before its first sample in the range and after its last can be outside
        it: those ends (a sample's rows each) are searched by bisection, in Python as `cut` does, rather than every
        row filtered by `in_range` (a polars query of four key columns: 1.5 ms a slice, as much as reading it). Ends
        that hold no bound (not a slice `cut` gave) are filtered so."""
        df = self.read(start, stop)
        if low is None and high is None:
            return df
        prefix = list(self.key[: len(low if low is not None else high)])
        n, edge = df.height, min(df.height, SAMPLE_EVERY)

        def first_not_before(rows: pl.DataFrame, bound: tuple[Any, ...]) -> int:  # the rows bisected looked at alone
            keys = rows.select(prefix)  # (all of them as Python values: 0.24 ms an end against 0.06, 128 rows)
            return bisect_left(range(keys.height), _nulls_last(bound), key=lambda i: _nulls_last(keys.row(i)))

        first = 0 if low is None else first_not_before(df.head(edge), low)
        last = n if high is None else n - edge + first_not_before(df.tail(edge), high)
        if (first == edge < n) or (last == n - edge > 0) or last < first:  # a bound beyond the ends searched
            return df.filter(in_range(prefix, low, high))
        return df.slice(first, last - first)

    def cut(self, bounds: Sequence[tuple[Any, ...]]) -> list[tuple[int, int]]:
        """For each range between `bounds` (sorted key prefixes: range r holds the keys from bound r-1 up to bound r),
        the rows of this part that may hold it: a slice reaching at most one sample beyond the range on each side.
        The samples before each bound are found by bisection of the sample (in key order), in Python: a query of
        `before` per bound took 0.3 to 1.5 ms a part, which the reduce after the last file waited for."""
        if not bounds:
            return [(0, self.height)]
        prefix = list(self.key[: len(bounds[0])])
        samples = [_nulls_last(row) for row in self.sample.select(prefix).iter_rows()]
        below = [bisect_left(samples, _nulls_last(b)) for b in bounds]  # samples before each bound
        starts = [0, *(max(0, (n - 1) * SAMPLE_EVERY + 1) for n in below)]
        stops = [*(min(self.height, n * SAMPLE_EVERY) for n in below), self.height]
        return list(zip(starts, stops))


RUNS_FROM = 20_000  # rows from which `sort_order` looks for sorted runs: polars sorts fewer in the time that takes
RUN_SHARE = 16  # `sort_order` puts the rows' sorted runs in order where there is at most one a this many rows
SLICE_ROWS = 128  # rows a run of a part's rows in key order holds on average, at least, for it to be written in slices
_COMPARABLE = (pl.String, pl.Boolean)  # besides integers and times: types whose `<` is the order of polars' sort


def _ordered_alike(schema: pl.Schema, key: Sequence[str]) -> bool:
    """Whether Python's `<` on the values of `key` is the order of polars' sort (integers, times, `_COMPARABLE`)."""
    return all(t.is_integer() or t.is_temporal() or t in _COMPARABLE for t in (schema[name] for name in key))


def sort_order(df: pl.DataFrame, key: Sequence[str]) -> pl.Series | None:
    """The positions of `df`'s rows sorted by `key` (nulls last, ties in arrival order), as polars' stable sort
    gives them; None where they are in that order already. Rows mostly come in long sorted runs, each of one value
    of the key but its last column (a sensor's samples of a day, sensor after sensor, day after day): where the
    runs, sorted by their first rows, follow each other without overlapping, their rows in that order are the
    sorted rows (a part of the full export's sensor samples, 230,000 rows: 4 ms against 22 for the sort)."""
    key = [name for name in key if df[name].null_count() < df.height]  # a key column of nulls orders nothing
    if df.height < 2 or not key:
        return None
    if df.height < RUNS_FROM or not _ordered_alike(df.schema, key):
        return _arg_sort(df, key)
    index = pl.get_index_type()
    rows = df.select(key)
    *prefix, last = key
    changes = pl.any_horizontal(pl.col(n).ne_missing(pl.col(n).shift(-1)) for n in prefix) if prefix else pl.lit(False)
    falls = sorts_after([(pl.col(last), pl.col(last).shift(-1))])
    found = rows.select(ends=(changes | falls).head(df.height - 1).arg_true().cast(index).implode(),  # runs' last rows
                        fell=(falls & ~changes).any())  # out of order inside a value of the prefix
    ends, fell = found["ends"][0], found["fell"][0]
    if not ends.len() or not fell and not _any_after(rows[ends], rows[ends + 1], False):
        return None
    if ends.len() * RUN_SHARE > df.height:
        return _arg_sort(df, key)
    starts = pl.concat([pl.Series([0], dtype=index), ends + 1])
    stops = pl.concat([ends + 1, pl.Series([df.height], dtype=index)])
    by_first = _arg_sort(rows[starts], key)  # the runs by their first rows
    starts, stops = starts[by_first], stops[by_first]
    came_before = starts.cast(pl.Int64).diff().tail(-1) < 0  # the next run came before this one
    if _any_after(rows[stops.head(-1) - 1], rows[starts.tail(-1)], came_before):  # runs overlap
        return _arg_sort(df, key)
    return pl.select(pl.int_ranges(starts, stops, dtype=index)).to_series().explode()


def in_key_order(frames: Sequence[pl.DataFrame], key: Sequence[str]) -> list[pl.DataFrame] | None:
    """Frames, each sorted by `key` (slices of parts), put in the order of their keys where that is the order of
    their rows sorted together: no two hold keys that overlap (each one's last key sorts before the next one's
    first), as parts of one file's rows spilled day after day do. Their rows then need no sort (a gather of every
    column), nor a check. None where keys overlap, or where Python orders a key's type otherwise than polars."""
    if sum(df.height > 0 for df in frames) < 2:
        return list(frames)
    frames = [df for df in frames if df.height]
    if not _ordered_alike(frames[0].schema, key):
        return None
    keys = [df.select(key) for df in frames]
    ends = sorted((_nulls_last(k.row(0)), _nulls_last(k.row(-1)), i) for i, k in enumerate(keys))
    if any(not last < first for (_, last, _), (first, _, _) in zip(ends, ends[1:])):
        return None
    return [frames[i] for _, _, i in ends]


MERGE_BLOCKS = 16  # blocks of rows `merged_in_order` takes from sorted frames at most; beyond, they are left to a sort


def merged_in_order(frames: Sequence[pl.DataFrame], key: Sequence[str]) -> pl.DataFrame | None:
    """Frames each sorted by `key`, in the order of polars' stable sort of them together (nulls last, ties in the
    frames' order), as slices of them (no copy): blocks of each, whose ends are found by bisection, in Python, as
    `Part.cut` does. The last files of a run fall in a few blocks among a range's earlier rows (3 to 8 blocks a range
    of the 8 x 50 MB captures): 0.6 ms a range of 60,000 sensor samples, against 2.7 ms for polars' sort and gather.
    None where Python orders a key's type otherwise than polars, or where the frames interleave in more than
    `MERGE_BLOCKS` blocks."""
    frames = [df for df in frames if df.height] or list(frames[:1])
    if len(frames) < 2:
        return frames[0] if frames else None
    if not _ordered_alike(frames[0].schema, key):
        return None
    merged: pl.DataFrame | None = frames[0]
    for df in frames[1:]:
        if (merged := _merged(merged, df, list(key))) is None:
            return None
    return merged


def _merged(a: pl.DataFrame, b: pl.DataFrame, key: list[str]) -> pl.DataFrame | None:
    """`a` and `b` merged by blocks (see `merged_in_order`): `a`'s rows up to the first that sorts after `b`'s next
    row (its equal rows first), then `b`'s up to the first that does not sort before `a`'s next, and so on."""
    keys_a, keys_b = a.select(key), b.select(key)

    def in_a(i: int) -> tuple:
        return _nulls_last(keys_a.row(i))

    def in_b(j: int) -> tuple:
        return _nulls_last(keys_b.row(j))

    blocks: list[pl.DataFrame] = []
    i = j = 0
    while i < a.height and j < b.height:
        if len(blocks) + 2 > MERGE_BLOCKS:
            return None
        stop = bisect_right(range(a.height), in_b(j), lo=i, key=in_a)
        if stop > i:
            blocks.append(a.slice(i, stop - i))
            i = stop
        if i < a.height:
            stop = bisect_left(range(b.height), in_a(i), lo=j, key=in_b)
            blocks.append(b.slice(j, stop - j))
            j = stop
    blocks += [df.slice(start) for df, start in ((a, i), (b, j)) if start < df.height]
    return pl.concat(blocks, rechunk=False)


def _arg_sort(df: pl.DataFrame, key: Sequence[str]) -> pl.Series:
    return df.select(pl.arg_sort_by(list(key), nulls_last=True, maintain_order=True)).to_series()


def _any_after(a: pl.DataFrame, b: pl.DataFrame, or_equal: bool | pl.Series) -> bool:
    """Whether a row of `a` sorts after the row of `b` at its place (lexicographically, nulls last), or is equal to
    it where `or_equal`."""
    pairs = pl.concat([a.rename(lambda name: f"a{name}"), b.rename(lambda name: f"b{name}")], how="horizontal")
    after = sorts_after([(pl.col(f"a{name}"), pl.col(f"b{name}")) for name in a.columns], or_equal)
    return pairs.select(after.any()).item()


def _nulls_last(values: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """Key values as Python compares them in the order of `before` (and of polars' sort): lexicographically, a null
    after every value (two nulls are equal: never compared with each other). Strings compare alike, as the order of
    UTF-8 bytes is that of the characters."""
    return tuple((value is None, value) for value in values)


def ranges(parts: Sequence[Part], prefix: Sequence[str], rows: int = 0) -> list[tuple[Any, ...]]:
    """Bounds that cut the parts' rows into ranges of about `rows` (default `SORT_ROWS`) by the first columns of the
    key, `prefix`: a value of the prefix never spans two ranges. No bounds for one range."""
    n = sum(p.height for p in parts)
    count = math.ceil(n / (rows or SORT_ROWS))
    if count <= 1:
        return []
    prefix = list(prefix)
    sample = pl.concat([p.sample.select(prefix) for p in parts]).sort(prefix, nulls_last=True)
    picked = [sample.row(len(sample) * j // count) for j in range(1, count)]
    return [b for i, b in enumerate(picked) if i == 0 or b != picked[i - 1]]  # an equal bound would cut nothing


def in_range(prefix: Sequence[str], low: tuple[Any, ...] | None, high: tuple[Any, ...] | None) -> pl.Expr:
    """Rows whose key prefix is from `low` (None: from the start) up to `high` (None: to the end)."""
    expr = pl.lit(True)
    if low is not None:
        expr = expr & ~before(list(prefix), low)
    if high is not None:
        expr = expr & before(list(prefix), high)
    return expr


def before(key: list[str], bound: Sequence[Any]) -> pl.Expr:
    """Rows whose key sorts before `bound` (lexicographically, nulls last)."""
    less = pl.lit(False)
    for name, value in reversed(list(zip(key, bound))):
        col = pl.col(name)
        if value is None:
            less = col.is_not_null() | less
        else:
            less = col.is_not_null() & ((col < value) | ((col == value) & less))
    return less


@dataclass(frozen=True)
class Sorted:
    """A table on disk as pieces in key order, read and written a piece at a time. A piece is one Arrow IPC file
    (written and read back at a fraction of Parquet's cost, as they are only a way station), or several, each sorted
    by `key`, whose rows merged make it: a range reduced ahead and the rows merged into it later (a file, or a frame
    in memory), merged as they are written (`merged_in_order`, else sorted together)."""

    pieces: tuple[tuple[Path | pl.DataFrame, ...], ...]
    heights: tuple[int, ...]
    key: tuple[str, ...]

    @classmethod
    def written(cls, dfs: Sequence[pl.DataFrame], folder: Path, key: Sequence[str]) -> Sorted:
        return cls(tuple((_write(df, folder, piece=True),) for df in dfs), tuple(df.height for df in dfs), tuple(key))

    @classmethod
    def joined(cls, ranges: Sequence[Sorted]) -> Sorted:
        pieces, heights = [p for r in ranges for p in r.pieces], [h for r in ranges for h in r.heights]
        return cls(tuple(pieces), tuple(heights), ranges[0].key)

    def merged(self, df: pl.DataFrame, folder: Path) -> Sorted:
        """This one-piece table with the rows of `df` (sorted by key, no key of which it holds) beside its own: kept
        in memory while the rows so kept in this process hold at most `BESIDE_BYTES`, else written to `folder`.
        They are the rows of the last files of a run, merged in after it (`pipeline.Ahead`): the 8 x 50 MB
        captures' last two files' sensor samples and minutes (130,000 rows, 15 MB) took 0.05 s of CPU to write
        as Arrow IPC and 0.02 s to read back, after the last file."""
        (piece,), (height,) = self.pieces, self.heights
        beside = df if _held_beside(df) else _write(df, folder, piece=True)
        return Sorted(((*piece, beside),), (height + df.height,), self.key)

    @property
    def height(self) -> int:
        return sum(self.heights)

    def lazy(self) -> pl.LazyFrame:
        return pl.concat([_by_key(pl.concat([_scan(f) for f in piece]), self.key) if len(piece) > 1
                          else _scan(piece[0]) for piece in self.pieces])

    def columns(self, names: Sequence[str]) -> pl.DataFrame:
        """Some of the columns, in no particular order."""
        return pl.concat([_read(f, list(names)) for piece in self.pieces for f in piece])

    def write_parquet(self, path: Path, **options: Any) -> None:
        """Pieces of one file each by polars' streaming engine, which reads them as it writes (the full export's
        830,000 sensor samples in 0.20 s against 0.38 s a piece at a time); pieces of several files, to be sorted as
        they are read, a piece at a time (`_write_parquet`): polars' engine would sort them all at once (3 million
        rows: 255 MB more memory against 36 MB)."""
        if all(len(piece) == 1 for piece in self.pieces):
            with writing() as add:
                rows = self.height if (group := options.get("row_group_size")) is None else min(self.height, group)
                add(rows * row_bytes(self.lazy().collect_schema()))
                self.lazy().sink_parquet(path, **options)
        else:
            _write_parquet(self, path, **options)

    def write_csv(self, path: Path, **options: Any) -> None:
        _write_csv(self, path, **options)

    def batches(self) -> Iterator[pl.DataFrame]:
        """The pieces in order, each next one read (and sorted) in a thread while this one is taken."""
        return _batches(self._each(), self.key)

    def _each(self) -> Iterator[tuple[Path | pl.DataFrame, ...]]:
        return iter(self.pieces)


class Handoff:
    """Where the ranges of a table on disk go as they are reduced, for a writer that takes them in order: a range its
    writer waits for, or one of the next `AHEAD`, stays in memory, handed to it, rather than written to the work
    folder and read back (the full export's tail alone: 1.89 → 1.52 s of CPU time); the others are written, as the
    writer is not taking the table yet (another one first) or is behind."""

    AHEAD = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: int | None = None  # the range the writer waits for, once it takes the table

    def wanted(self, index: int) -> bool:
        with self._lock:
            return self._waiting is not None and index < self._waiting + self.AHEAD

    def waiting(self, index: int) -> None:
        with self._lock:
            self._waiting = index


_beside_lock = threading.Lock()
_beside_bytes = 0  # what the frames `Sorted.merged` kept in memory hold, about


def _held_beside(df: pl.DataFrame) -> bool:
    """Whether `df` may be kept in memory beside a piece on disk: the frames kept so, until freed, stay within
    `BESIDE_BYTES`."""
    global _beside_bytes
    need = df.estimated_size()
    with _beside_lock:
        if _beside_bytes + need > BESIDE_BYTES:
            return False
        _beside_bytes += need
    weakref.finalize(df, _freed_beside, need)
    return True


def _freed_beside(size: int) -> None:
    global _beside_bytes
    with _beside_lock:
        _beside_bytes -= size


def _scan(piece_file: Path | pl.DataFrame) -> pl.LazyFrame:
    return piece_file.lazy() if isinstance(piece_file, pl.DataFrame) else pl.scan_ipc(piece_file, glob=False)


def _read(piece_file: Path | pl.DataFrame, columns: list[str] | None = None) -> pl.DataFrame:
    if isinstance(piece_file, pl.DataFrame):
        return piece_file if columns is None else piece_file.select(columns)
    lf = pl.scan_ipc(piece_file, glob=False)  # (never a glob: OUT's path, where the work folder is, may hold [ ])
    return (lf if columns is None else lf.select(columns)).collect()


class Coming:
    """A table on disk whose ranges are still being reduced (`ranges`: each waits for its range, in key order, and
    gives it, written, or empty in memory): written as each range is done, the ranges after it being reduced
    meanwhile; otherwise as the `Sorted` it becomes once every range is done. With a `Handoff`, a range may come in
    memory instead, to the writer that takes the ranges (`batches`), which lets go of it once taken (`forget`, a
    callable a range): such a table is not to be read whole after its writer began."""

    def __init__(
        self, ranges: Sequence[Callable[[], Sorted | pl.DataFrame]], key: Sequence[str],
        hand: Handoff | None = None, forget: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._ranges, self.key = list(ranges), tuple(key)
        self._done: Sorted | None = None
        self._hand, self._forget = hand, list(forget)
        self._taken: dict[int, int] = {}  # range -> its rows, of the ranges handed in memory and let go of

    def done(self) -> Sorted:
        """The table, once every range is done."""
        if self._done is None:
            ranges = [r for r in (wait() for wait in self._ranges) if r.height]
            if self._taken or any(isinstance(r, pl.DataFrame) for r in ranges):
                raise RuntimeError("a table handed to its writer range by range is not read whole")
            self._done = Sorted.joined(ranges)
        return self._done

    @property
    def height(self) -> int:
        if self._hand is None:
            return self.done().height
        return sum(self._taken[r] if r in self._taken else wait().height for r, wait in enumerate(self._ranges))

    def lazy(self) -> pl.LazyFrame:
        return self.done().lazy()

    def columns(self, names: Sequence[str]) -> pl.DataFrame:
        return self.done().columns(names)

    def write_parquet(self, path: Path, **options: Any) -> None:
        _write_parquet(self, path, **options)

    write_csv, batches = Sorted.write_csv, Sorted.batches

    def _each(self) -> Iterator[tuple[Path | pl.DataFrame, ...] | pl.DataFrame]:
        if self._done is not None:
            yield from self._done.pieces
            return
        for r, wait in enumerate(self._ranges):
            if self._hand is not None:
                self._hand.waiting(r)
            if not (frame := wait()).height:
                continue
            if isinstance(frame, pl.DataFrame):  # handed in memory
                self._taken[r] = frame.height
                self._forget[r]()
                yield frame
            else:
                yield from frame.pieces


def _write_parquet(table: Sorted | Coming, path: Path, **options: Any) -> None:
    """A table on disk streamed into a Parquet file a piece at a time (each read while the one before is written)."""
    with writing() as add:
        batches = table.batches()
        first = next(batches)
        taken = _counted(chain([first], batches), add, options.get("row_group_size"))
        register_io_source(lambda *_: taken, schema=first.schema).sink_parquet(path, **options)


_held = threading.Condition()  # notified as the rows held by the reduce's ranges, or by writers, are let go of
_reducing_bytes = 0  # what the ranges reduced now in this process hold, about (see `reducing`)
_writing_bytes = 0  # what the writers of tables on disk hold of their row groups, about (see `writing`)


def writing_bytes() -> int:
    return _writing_bytes


@contextmanager
def reducing(need: int) -> Iterator[None]:
    """Held while a range that holds about `need` bytes is reduced, once the ranges reduced at once (threads of this
    process) hold no more than `REDUCE_BYTES` with it and the row groups writers hold (`writing`), or it alone."""
    global _reducing_bytes
    with _held:
        _held.wait_for(lambda: not _reducing_bytes or _reducing_bytes + _writing_bytes + need <= REDUCE_BYTES)
        _reducing_bytes += need
    try:
        yield
    finally:
        with _held:
            _reducing_bytes -= need
            _held.notify_all()


@contextmanager
def writing() -> Iterator[Callable[[int], None]]:
    """While a table on disk is written into a Parquet file: a callable that adds to what its writer is said to hold
    (`writing_bytes`), until it is done. A writer holds a row group whole (up to 262,144 rows) while it encodes it;
    the reduce runs fewer ranges at once meanwhile (`reducing`)."""
    global _writing_bytes
    mine = 0

    def add(size: int) -> None:
        global _writing_bytes
        nonlocal mine
        with _held:
            mine += size
            _writing_bytes += size

    try:
        yield add
    finally:
        with _held:
            _writing_bytes -= mine
            _held.notify_all()


def _counted(batches: Iterator[pl.DataFrame], add: Callable[[int], None], group: int | None) -> Iterator[pl.DataFrame]:
    """`batches` as a writer takes them, their rows counted (`add`) up to one row group's (`group`) at most."""
    rows = 0
    for df in batches:
        counted = df.height if group is None else max(0, min(rows + df.height, group) - rows)
        add(counted * row_bytes(df.schema))
        rows += df.height
        yield df


def _write_csv(table: Sorted | Coming, path: Path, **options: Any) -> None:
    with open(path, "wb") as f:
        for i, df in enumerate(table.batches()):
            df.write_csv(f, include_header=i == 0, **options)


def _batches(pieces: Iterator[tuple[Path | pl.DataFrame, ...]], key: tuple[str, ...]) -> Iterator[pl.DataFrame]:
    """The pieces in order, each next one found (for a `Coming` table, once its range is done) and read (and sorted)
    in a thread while this one is taken."""
    with ThreadPoolExecutor(1) as reading:
        coming = reading.submit(_read_next, pieces, key)
        while (df := coming.result()) is not None:
            coming = reading.submit(_read_next, pieces, key)
            yield df


def _read_next(pieces: Iterator[tuple[Path | pl.DataFrame, ...]], key: tuple[str, ...]) -> pl.DataFrame | None:
    """The next piece's rows, sorted (its files' rows merged); None after the last."""
    piece = next(pieces, None)
    if piece is None or isinstance(piece, pl.DataFrame):  # (a range handed in memory: sorted)
        return piece
    frames = [_read(f) for f in piece]
    if (merged := merged_in_order(frames, key)) is not None:
        return merged
    return _by_key(pl.concat(frames), key)


def _by_key(frame: pl.DataFrame | pl.LazyFrame, key: Sequence[str]) -> pl.DataFrame | pl.LazyFrame:
    """A piece's files' rows sorted by `key` together (nulls last, ties in arrival order). By polars' sort, not
    `sort_order`: on a piece, each file's rows sorted, it took 2 ms where `sort_order` took 3.5 (60,000 sensor
    samples, 8 x 50 MB `--jobs 2`)."""
    return frame.sort(list(key), nulls_last=True, maintain_order=True)


Frame = pl.DataFrame | Sorted | Coming  # a table in memory, or sorted on disk (or its ranges still being reduced)


def in_memory(frame: Frame) -> pl.DataFrame:
    return frame if isinstance(frame, pl.DataFrame) else pl.concat(list(frame.batches()))


def _sliced(df: pl.DataFrame, order: pl.Series) -> pl.DataFrame | None:
    """`df`'s rows in `order` as slices of it (no copy), where the order is runs of `SLICE_ROWS` rows or more on
    average: a sensor-sample part of the full export (230,000 rows in 833 runs) in 3 ms rather than gathered in 11
    (and written in 27 ms rather than 24, from so many chunks)."""
    starts = (order.cast(pl.Int64).diff() != 1).fill_null(True).arg_true()
    if starts.len() * SLICE_ROWS > df.height:
        return None
    stops = starts.tail(-1).append(pl.Series([df.height], dtype=starts.dtype))
    return pl.concat([df.slice(order[start], stop - start) for start, stop in zip(starts, stops)], rechunk=False)


def _write_in_order(df: pl.DataFrame, order: pl.Series, folder: Path) -> Path:
    """`df`'s rows in `order` as a part (see `_write`), gathered a row group at a time."""
    def groups(*_: Any) -> Iterator[pl.DataFrame]:
        return (df[order.slice(start, ROW_GROUP)] for start in range(0, df.height, ROW_GROUP))

    return _write(register_io_source(groups, schema=df.schema), folder)


def _write(df: pl.DataFrame | pl.LazyFrame, folder: Path, piece: bool = False) -> Path:
    """`df` as a Parquet part (lz4: a third faster to write than zstd, and read back as fast), or as a `Sorted`
    piece in Arrow IPC (zstd: 5 ms to write and 3 to read back 85,000 rows, against 14 and 2 for a Parquet part)."""
    path = folder / f"{uuid.uuid4().hex}.{'arrow' if piece else 'parquet'}"
    try:
        if piece:
            df.write_ipc(path, compression="zstd")
        elif isinstance(df, pl.LazyFrame):
            df.sink_parquet(path, compression="lz4", statistics=False, row_group_size=ROW_GROUP)
        else:
            df.write_parquet(path, compression="lz4", statistics=False, row_group_size=ROW_GROUP)
    except Exception as e:  # polars' writers report the system's error in words of their own
        if (cause := store.reason(e, folder)) is None:
            raise
        raise SpillFailed(cause) from None
    return path


def row_bytes(schema: Mapping[str, pl.DataType]) -> int:
    """About what a row of `schema` takes in memory: a text's view 16 bytes (a short text is in it), a value 8."""
    return sum(16 if dtype in (pl.String, pl.Binary) else 8 for dtype in schema.values())


def hand_back_freed() -> None:
    """Memory that Python's objects freed, kept by the C library's allocator (glibc), given back to the system
    before a file's last frames are built and before the reduce: after decoding the 200 MB full export it held some
    40 MB free in holes between objects still in use (the 15 % HAR: 27 MB), which the frames (polars' own allocator)
    would have come on top of. Nothing where there is no `malloc_trim` (not glibc)."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def height(frame: pl.LazyFrame) -> int:
    return frame.select(pl.len()).collect(engine="in-memory").item()
