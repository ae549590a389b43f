"""The pipeline: capture files -> exchanges -> endpoint match -> schema check -> rows -> de-duplicated tables + report.

Every exchange ends in exactly one report category: a device response decoded into rows, rejected
(kept whole in the `rejects` table), an HTTP error on a device route, auth, a device path databack does not
decode, or not a device response at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Literal

import orjson
import polars as pl

from . import devices, generic, limits, redaction, saved, spill, views
from .spill import Part
from .captures import CaptureError, Exchange, Skipped, detect_format, read_capture, reading_cost
from .captures.archives import ArchiveError, ArchiveMember, archive_kind, members, not_a_capture
from .captures.pipe import Decoded, NotDevice, read_capture_beside
from .captures.sniff import loads_json
from .dedupe import FILE_INDEX, Losses, dedupe
from .digest import sha256_or_none
from .hosts import BodyWanted, host_matches
from .parallel import Executor, executor
from .captures.har import NOT_A_HAR
from .devices.base import Block, Frame, Request, Rows, datetime_us
from .redaction import Safe, SafeRow
from .tables import TABLES, UTC_TIME

Status = Literal["ok", "partial", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class Input:
    path: Path | ArchiveMember  # a file, or a member of a zip or tar archive (read in place)
    name: str  # as written to `source_file`: the path as given, or for files found in a folder, below its parent
    explicit: bool  # named on the command line (not found by walking a folder)
    participant_id: str | None = None
    error: str | None = None  # a reason not to convert this input at all (e.g. no participant for it)
    skip: str | None = None  # a reason to pass it over as holding no capture, nothing lost (a link in an archive)
    endpoint: str | None = None  # for saved single responses: read them as this endpoint
    generic: tuple[str, ...] = ()  # host globs whose JSON responses are exported generically
    source_file: Safe | None = None  # what outputs call it: `name`, or pseudonymised (`participants.assign`)
    limits: limits.Limits = limits.DEFAULT  # the resource budget it is read within

    def __post_init__(self) -> None:
        if self.source_file is None:
            object.__setattr__(self, "source_file", redaction.source_file(self.name))


@dataclass
class FileReport:
    """What happened to one input file; every exchange is counted in exactly one category. Its captured text
    (every field but `OWN`: the file's name, the error, hosts, paths, generic table names) is `Safe`: `as_dict`,
    the way to every output, refuses any that is not."""

    file: Safe
    participant_id: str | None = None
    format: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    status: Status = "ok"
    error: Safe | None = None
    exchanges: int = 0
    device_responses: Counter[str] = field(default_factory=Counter)  # endpoint -> responses decoded into rows
    rejects: int = 0
    http_errors: Counter[str] = field(default_factory=Counter)  # HTTP status -> count, on device routes
    auth: int = 0
    read_as: str | None = None  # saved single responses: the endpoint the file was read as
    undecoded_device_paths: Counter[str] = field(default_factory=Counter)  # "GET host path" -> count
    generic_responses: Counter[str] = field(default_factory=Counter)  # generic table -> JSON responses exported
    not_device: int = 0
    unrecognised_hosts: Counter[str] = field(default_factory=Counter)
    skipped_entries: Counter[str] = field(default_factory=Counter)  # entries that are not HTTP: "tcp", "malformed"…
    rows: Counter[str] = field(default_factory=Counter)  # table -> rows decoded (before de-duplication)
    duplicates: Counter[str] = field(default_factory=Counter)  # table -> copies dropped, identical to the one kept
    conflicts: Counter[str] = field(default_factory=Counter)  # table -> copies dropped that differ from the one kept

    def accounted(self) -> int:
        return (
            sum(self.device_responses.values())
            + self.rejects
            + sum(self.http_errors.values())
            + self.auth
            + sum(self.undecoded_device_paths.values())
            + sum(self.generic_responses.values())
            + self.not_device
        )

    # Fields whose text is databack's own (statuses, formats, endpoint and table names, HTTP statuses, hashes) or
    # the run's (participant ids): every other field holds captured text, which must be `Safe` (a field added
    # later is one of those until named here).
    OWN = frozenset({"participant_id", "format", "sha256", "status", "read_as", "device_responses", "http_errors",
                     "skipped_entries", "rows", "duplicates", "conflicts"})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileReport:
        """A report as `as_dict` wrote it (e.g. read back from report.json), its captured text redacted again."""
        fields = {k: Counter(v) if isinstance(v, dict) else v for k, v in d.items()}
        for k, value in fields.items():
            if k in cls.OWN:
                continue
            if isinstance(value, Counter):
                fields[k] = Counter({redaction.from_earlier_output(n): c for n, c in value.items()})
            elif isinstance(value, str):
                fields[k] = redaction.from_earlier_output(value, name=k == "file")
        return cls(**fields)

    def as_dict(self) -> dict[str, Any]:
        for k, value in self.__dict__.items():
            if k not in self.OWN:
                redaction.require(value, f"report field {k}")
        return {k: ({str(n): c for n, c in sorted(v.items())} if isinstance(v, Counter) else v)
                for k, v in self.__dict__.items()}


@dataclass
class Conversion:
    """The result of a run: every table that has rows (de-duplicated, sorted by key) and a report per input file.
    A table may be `spill.Sorted`: sorted on disk, to be written range by range (it too has `height`, `lazy()`,
    `write_parquet` and `write_csv`)."""

    files: list[FileReport]
    tables: dict[str, spill.Frame]

    @property
    def duplicates(self) -> Counter[str]:
        """Per table: copies dropped that were identical to the one kept."""
        return sum((f.duplicates for f in self.files), Counter())

    @property
    def conflicts(self) -> Counter[str]:
        """Per table: copies dropped that differed from the one kept (the most recent capture)."""
        return sum((f.conflicts for f in self.files), Counter())

    @property
    def ok(self) -> bool:
        return all(f.status in ("ok", "skipped") for f in self.files)


# Provenance as the row buffer holds it: capture times as epoch µs until the frame is built.
PROVENANCE_SCHEMA = {
    "participant_id": pl.String,
    "source_file": pl.String,
    "source_entry": pl.Int64,
    "captured_at": pl.Int64,
}

# Per table, the columns of decoded rows (provenance aside), worked out once rather than for every row added.
ROW_COLUMNS = {name: tuple(t.row_schema) for name, t in TABLES.items()}
# Per table, in the table's order: each column's name, its type in the row buffer, and whether it holds times.
BUFFER_COLUMNS = {
    name: tuple((c, (t.row_schema | PROVENANCE_SCHEMA)[c], t.schema[c] == UTC_TIME) for c in t.column_names)
    for name, t in TABLES.items()
}

ProgressCallback = Callable[[Input, FileReport | None], None]
FileRows = dict[str, list[Part] | pl.DataFrame]  # a file's rows: a table's parts, a generic table's frame


GLOB_CHARS = frozenset("*?[")


def collect_inputs(paths: Iterable[Path], exclude: Path | None = None) -> list[Input]:
    """Files named; files found below folders named (recursively, sorted, hidden files left out), named relative
    to the folder's parent (`study/p07/a.har`); and what globs the shell did not expand (`'captures/*.har'`)."""
    inputs: list[Input] = []
    excluded = exclude.resolve() if exclude else None
    for p in paths:
        if not p.exists() and GLOB_CHARS & set(str(p)):
            anchor = Path(p.anchor) if p.is_absolute() else Path()
            matched = sorted(anchor.glob(str(p.relative_to(anchor)) if p.is_absolute() else str(p)))
            inputs += [Input(m, str(m), explicit=True) for m in matched if m.is_file()]
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    if excluded is None or excluded not in f.resolve().parents:
                        inputs.append(Input(f, str(Path(p.resolve().name) / rel), explicit=False))
        else:
            inputs.append(Input(p, str(p), explicit=True))
    return [member for inp in inputs for member in archive_members(inp)]


def archive_members(inp: Input) -> list[Input]:
    """A zip or tar archive's members as inputs of their own, named below the archive's name (`study.zip/p07/a.har`),
    found as files in a folder are; the input itself if it is no archive. An archive that cannot be listed, or is
    past a limit, is one failed input; a member refused (an unsafe name, past a limit) a failed one, a link a
    skipped one."""
    try:
        kind = archive_kind(inp.path) if isinstance(inp.path, Path) else None
    except OSError:
        return [inp]  # the conversion says why the file cannot be read
    if kind is None:
        return [inp]
    try:
        found = members(inp.path, kind)
    except (ArchiveError, OSError) as e:
        reason = str(e) if isinstance(e, ArchiveError) else f"cannot read the file: {e.strerror or e}"
        return [replace(inp, error=reason)]
    if not found:
        return [replace(inp, error=f"an empty {kind[0]} archive: no files in it")]
    return [
        Input(m, f"{inp.name}/{m.name}", explicit=False) if isinstance(m, ArchiveMember)
        else Input(inp.path, f"{inp.name}/{m.name}", explicit=False, **{"skip" if m.skip else "error": m.reason})
        for m in found
    ]


def spool_stdin(stream: BinaryIO, folder: Path) -> Input:
    """A capture piped in on standard input, saved to `folder` (readers need to seek) and named `<stdin>`."""
    fd, name = tempfile.mkstemp(prefix="stdin-", suffix=".capture", dir=folder)
    with os.fdopen(fd, "wb") as f:
        shutil.copyfileobj(stream, f, 1 << 20)
    return Input(Path(name), "<stdin>", explicit=True)




def convert(
    inputs: list[Input],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    debug: bool = False,
    spill_dir: Path | None = None,
    scheduler: str | None = None,
) -> Conversion:
    """Convert the inputs, `jobs` files at a time in separate processes (or as tasks of the Dask cluster at
    `scheduler`); the result does not depend on either. Where records conflict the most recent capture wins (ties: the
    file whose name sorts last, then the later entry). With `spill_dir`, rows go there rather than stay in memory,
    and big tables come back as `spill.Sorted` files in it (keep it until they are written)."""
    with executor(jobs, scheduler) as ex:
        reports, parts = convert_files(inputs, progress, jobs, debug, spill_dir, ex)
        return combine(reports, parts, spill_dir, ex)


def update(
    inputs: list[Input],
    previous_tables: dict[str, list[pl.LazyFrame]],
    previous_files: list[FileReport],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    debug: bool = False,
    spill_dir: Path | None = None,
    scheduler: str | None = None,
) -> tuple[Conversion, list[Input]]:
    """Add to an earlier run: inputs whose name and SHA-256 it already converted are skipped (their rows and
    reports kept), the others converted and merged in, duplicates removed across old and new. Returns the
    conversion and the inputs skipped."""
    done = {f.file: f.sha256 for f in previous_files if f.status != "failed"}
    skipped = [
        i for i in inputs
        if i.error is None and i.skip is None and i.source_file in done
        and done[i.source_file] == sha256_or_none(i.path)
    ]
    todo = [i for i in inputs if i not in skipped]
    redone = {i.source_file for i in todo}
    with executor(jobs, scheduler) as ex:
        kept = _taken_in({n: [s.filter(~pl.col("source_file").is_in(redone)) for s in slices]
                          for n, slices in previous_tables.items()}, spill_dir, ex)
        reports, parts = convert_files(todo, progress, jobs, debug, spill_dir, ex)
        reports = [f for f in previous_files if f.file not in redone] + reports
        return combine(reports, _joined([kept, parts]), spill_dir, ex), skipped


def merge(
    outputs: list[tuple[dict[str, list[pl.LazyFrame]], list[FileReport]]],
    spill_dir: Path | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> Conversion:
    """Combine the tables and reports of several runs (e.g. shards of one archive) as if they were one run."""
    with executor(jobs, scheduler) as ex:
        parts = [_taken_in(tables, spill_dir, ex) for tables, _ in outputs]
        return combine([f for _, files in outputs for f in files], _joined(parts), spill_dir, ex)


def _taken_in(tables: dict[str, list[pl.LazyFrame]], spill_dir: Path | None, ex: Executor) -> dict[str, list[Part]]:
    """Tables of an earlier run, read in slices here (where OUT is), as parts (each slice sorted anew: a partitioned
    dataset is not read in key order)."""
    slices = [(name, s) for name, table in tables.items() if name in TABLES for s in table]
    spill_dir = spill_dir and spill_dir.absolute()
    here = Executor(ex.jobs if ex.local else os.cpu_count() or 1)
    done = here.map(_slice_part, [(s, TABLES[name].key, spill_dir) for name, s in slices])
    parts: dict[str, list[Part]] = {}
    for (name, _), (_, part) in zip(slices, sorted(done, key=lambda d: d[0])):
        if part.height:
            parts.setdefault(name, []).append(part)
    return parts


def _slice_part(task: tuple[pl.LazyFrame, tuple[str, ...], Path | None]) -> Part:
    rows, key, folder = task
    return Part.of(rows.collect(engine="in-memory"), key, folder)


def _joined(runs: list[dict[str, list]]) -> dict[str, list]:
    joined: dict[str, list] = {}
    for run in runs:
        for name, parts in run.items():
            joined.setdefault(name, []).extend(parts)
    return joined


def shard(inputs: list[Input], index: int, count: int) -> list[Input]:
    """The `index`-th (1-based) of `count` slices of the inputs, chosen by a hash of each input's name, so every
    job of a cluster array gets a disjoint, stable share however the inputs are listed."""
    return [i for i in inputs if int(hashlib.sha256(i.name.encode()).hexdigest(), 16) % count == index - 1]


def convert_files(
    inputs: list[Input],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    debug: bool = False,
    spill_dir: Path | None = None,
    ex: Executor | None = None,
) -> tuple[list[FileReport], dict[str, list]]:
    """Each input's report, in input order, and the rows of all of them: per table, its parts (generic tables: frames).
    Parts small enough to come back in memory are gathered as they come, and written as one part per table once
    they add up to `spill.SPILL_ROWS` (or `spill.MAX_PARTS` files), so that the parts to reduce stay few however many
    files there are."""
    spill_dir = spill_dir and spill_dir.absolute()  # a part's path, wherever it is read
    if ex is not None and not ex.local:  # read by workers elsewhere, whose working folder is not this one
        inputs = [replace(i, path=i.path.absolute()) for i in inputs]
    separate_reader = ex is None or ex.local  # a Dask worker may not start processes of its own
    separate_reader = separate_reader and jobs >= 2 * min(jobs, len(inputs))  # two cores for each file at once
    reports: dict[int, FileReport] = {}  # input index -> its report
    parts: dict[str, list] = {}
    small: dict[str, list[pl.DataFrame]] = {}  # per table: rows of parts come back in memory, not yet in a part
    held = files = 0
    with nullcontext(ex) if ex is not None else executor(jobs) as ex:
        done = ex.map_files(
            convert_file, inputs, progress, debug, separate_reader, spill_dir, cost=lambda inp: reading_cost(inp.path)
        )
        with closing(done):  # stopped here (Ctrl-C, a full disk), the workers stop too
            for index, (report, tables) in done:
                reports[index] = report
                files += 1
                for name, rows in tables.items():
                    if name not in TABLES:
                        parts.setdefault(name, []).append(rows)  # a generic table's frame
                        continue
                    for part in rows:
                        if isinstance(part.source, pl.DataFrame):
                            small.setdefault(name, []).append(part.source)
                            held += part.height
                        else:
                            parts.setdefault(name, []).append(part)
                last = len(reports) == len(inputs)
                if held >= spill.SPILL_ROWS or files >= spill.MAX_PARTS or last:
                    folder = None if last and ex.local else spill_dir  # what is left at the end stays in memory
                    for name, dfs in small.items():
                        parts.setdefault(name, []).append(Part.of(pl.concat(dfs), TABLES[name].key, folder))
                    small, held, files = {}, 0, 0
    return [reports[i] for i in range(len(inputs))], parts


def combine(
    reports: list[FileReport], parts: dict[str, list], spill_dir: Path | None = None, ex: Executor | None = None
) -> Conversion:
    """Rows of files (new, or kept from earlier runs and shards) as one de-duplicated set of tables; the copies
    dropped are added to each file's report. Ties between copies captured at the same time go to the file whose
    name sorts last, however the files were listed, sharded or added. Each table (with a group: the group's tables
    together) is cut into ranges of its key, reduced each on its own, `ex`'s tasks at a time; a table bigger than
    what fits in `spill.HOLD_ROWS` comes back as `spill.Sorted` pieces in `spill_dir`."""
    indexes = {name: i for i, name in enumerate(sorted({r.file for r in reports}))}
    spill_dir = spill_dir and spill_dir.absolute()
    ex = ex or Executor()
    units: dict[str, list[str]] = {}  # what is reduced together: a table, or the tables of a group
    for name in TABLES:
        if parts.get(name):
            units.setdefault(TABLES[name].group or name, []).append(name)
    tasks, held = [], 0  # held: rows of the tables kept in memory once reduced, up to `spill.HOLD_ROWS`
    for unit, names in units.items():
        prefix = TABLES[names[0]].key[:2] if TABLES[names[0]].group else TABLES[names[0]].key
        unit_parts = [p for name in names for p in parts[name]]
        rows = sum(p.height for p in unit_parts)
        in_memory = spill_dir is None or ex.local and held + rows <= spill.HOLD_ROWS  # (a cluster's come on disk)
        held += rows if in_memory else 0
        folder = None if in_memory else spill_dir
        bounds = spill.ranges(unit_parts, prefix)
        edges = [None, *bounds, None]
        cuts = {name: [p.cut(bounds) for p in parts[name]] for name in names}
        for r in range(len(bounds) + 1):
            slices = {name: [(p, *cut[r]) for p, cut in zip(parts[name], cuts[name]) if cut[r][1] > cut[r][0]]
                      for name in names}
            tasks.append(Reduce(slices, prefix, edges[r], edges[r + 1], indexes, folder))
    results = [result for _, result in sorted(ex.map(reduce_range, tasks), key=lambda d: d[0])]
    losses = Losses()
    pieces: dict[str, list] = {}
    for result in results:
        losses.add(result.losses)
        for name, rows in result.tables.items():
            pieces.setdefault(name, []).append(rows)
    others = {}
    for name in sorted(n for n in parts if n not in TABLES):
        others[name], dropped = generic.dedupe(pl.concat(parts[name], how="diagonal_relaxed"))
        for source_file, n in dropped.iter_rows():
            losses.duplicates[source_file][name] += n
    for report in reports:
        report.duplicates.update(losses.duplicates[report.file])
        report.conflicts.update(losses.conflicts[report.file])
    ordered: dict[str, spill.Frame] = {}
    for name in TABLES:
        ranges = [p for p in pieces.get(name, ()) if isinstance(p, Path) or p.height]
        if ranges:
            ordered[name] = spill.Sorted(tuple(ranges)) if isinstance(ranges[0], Path) else pl.concat(ranges)
    ordered |= views.derive(ordered)  # written with the tables they come from
    return Conversion(reports, ordered | others)


@dataclass(frozen=True)
class Reduce:
    """One range of keys of a table, or of the tables of a group: per table, the slices of its parts that hold it."""

    slices: dict[str, list[tuple[Part, int, int]]]
    prefix: tuple[str, ...]
    low: tuple[Any, ...] | None
    high: tuple[Any, ...] | None
    indexes: dict[str, int]  # source file -> its place among the run's file names
    folder: Path | None  # where to write the range, if not kept in memory


@dataclass(frozen=True)
class Reduced:
    tables: dict[str, pl.DataFrame | Path]  # the range, de-duplicated and sorted, or where it was written
    losses: Losses


def reduce_range(task: Reduce) -> Reduced:
    """A range de-duplicated and sorted: its rows read from their parts, and copies dropped and counted."""
    in_range = spill.in_range(task.prefix, task.low, task.high)
    file_index = pl.col("source_file").replace_strict(task.indexes, default=-1, return_dtype=pl.Int64)
    frames = {}
    for name, slices in task.slices.items():
        rows = [part.read(start, stop) for part, start, stop in slices]
        df = pl.concat(rows) if rows else pl.DataFrame(schema=TABLES[name].schema)
        frames[name] = df.filter(in_range).with_columns(file_index.alias(FILE_INDEX))
    tables, losses = dedupe(frames)
    out = {}
    for name, df in tables.items():
        df = df.drop(FILE_INDEX)
        out[name] = df if task.folder is None or df.is_empty() else spill.Sorted.written([df], task.folder).pieces[0]
    return Reduced(out, losses)


class RowBuffer:
    """One file's rows per table, gathered as columns (rows and blocks) or frames (columnar decoding), and turned
    into polars frames of the table's schema every `BATCH` rows."""

    BATCH = 10_000

    def __init__(self, spill_dir: Path | None = None) -> None:
        self._columns: dict[str, dict[str, list]] = {}  # table -> column (provenance included) -> values
        self._staged: dict[str, list[pl.DataFrame]] = {}  # table -> frames of its rows in order, not yet a batch
        self._decoded: dict[str, tuple[list[pl.DataFrame], dict[str, list]]] = {}  # table -> decoders' frames
        # (in the table's row schema) not yet staged, and their provenance as columns
        self._pending: Counter[str] = Counter()  # table -> rows in `_columns` and `_staged`
        self._frames: dict[str, list[pl.DataFrame]] = {}
        self._spilled: dict[str, list[Part]] = {}  # table -> parts written to `spill_dir`
        self._spill_dir = spill_dir
        self._held = 0  # rows in `_frames`

    def add(self, rows: Rows, provenance: dict[str, Any]) -> Counter[str]:
        """Add the rows of one exchange, all with the same provenance; returns how many went into each table.
        Captured text must have passed the redaction policy: `source_file` is `Safe`, a reject row a `SafeRow`."""
        redaction.require(provenance["source_file"], "source_file")
        counts: Counter[str] = Counter()
        listed: Counter[str] = Counter()  # rows of `counts` added to `_columns`
        for table, row in rows:
            if table == "rejects" and not isinstance(row, SafeRow):
                raise redaction.Unredacted("rejects rows are made by redaction.reject_row")
            if isinstance(row, Frame):
                if listed[table]:  # the rows before it first, in order
                    self._add_provenance(table, listed.pop(table), provenance)
                self._stage_columns(table)
                frames, given = self._decoded.get(table) or self._decoded.setdefault(table, ([], _empty_provenance()))
                frames.append(row.frame)
                for name, value in provenance.items():
                    given[name].extend(repeat(value, row.height))
                counts[table] += row.height
                continue
            if table in self._decoded:
                self._stage_decoded(table)
            columns = self._columns.get(table) or self._columns.setdefault(table, _empty_columns(table))
            if isinstance(row, Block):
                for name in ROW_COLUMNS[table]:
                    values = row.columns.get(name)
                    columns[name].extend(values if values is not None else repeat(None, row.height))
                counts[table] += row.height
                listed[table] += row.height
            else:
                for name in ROW_COLUMNS[table]:
                    columns[name].append(row.get(name))
                counts[table] += 1
                listed[table] += 1
        for table, n in listed.items():
            self._add_provenance(table, n, provenance)
        for table, n in counts.items():
            self._pending[table] += n
            if self._pending[table] >= self.BATCH:
                self._flush(table)
        return counts

    def _add_provenance(self, table: str, n: int, provenance: dict[str, Any]) -> None:
        columns = self._columns[table]
        for name, value in provenance.items():
            columns[name].extend(repeat(value, n))

    def _stage_columns(self, table: str) -> None:
        """The rows gathered as columns become a frame, built a column at a time: a query to cast the times took as
        long as building the frame, for the few rows a small capture has."""
        columns = self._columns.pop(table, None)
        if not columns or not columns["source_entry"]:
            return
        series = []
        for name, dtype, is_time in BUFFER_COLUMNS[table]:
            # strict: a value its column cannot hold is an error, never a silent null (decoders reject those first)
            try:
                column = pl.Series(name, columns[name], dtype, strict=True)
            except TypeError as e:
                raise ValueError(f"{table}: {e}") from None
            series.append(column.cast(UTC_TIME) if is_time else column)
        self._staged.setdefault(table, []).append(pl.DataFrame(series))

    def _stage_decoded(self, table: str) -> None:
        """The decoders' frames become one, with their provenance and times as UTC."""
        frames, given = self._decoded.pop(table)
        df = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)
        columns = df.get_columns()
        columns += [pl.Series(name, values, PROVENANCE_SCHEMA[name], strict=True) for name, values in given.items()]
        by_name = {c.name: c for c in columns}
        staged = []
        for name, dtype, is_time in BUFFER_COLUMNS[table]:
            column = by_name.get(name)
            if column is None:  # a column the decoder left out is null
                column = pl.Series(name, [None], dtype).new_from_index(0, df.height)
            try:  # strict: a value its column cannot hold is an error, never a silent null
                column = column.cast(dtype, strict=True)
            except pl.exceptions.InvalidOperationError as e:
                raise ValueError(f"{table}: {e}") from None
            staged.append(column.cast(UTC_TIME) if is_time else column)
        self._staged.setdefault(table, []).append(pl.DataFrame(staged))

    def _flush(self, table: str) -> None:
        """The table's rows not yet in a batch become one."""
        if table in self._decoded:
            self._stage_decoded(table)
        self._stage_columns(table)
        staged = self._staged.pop(table, [])
        self._pending.pop(table, None)
        if not staged:
            return
        df = staged[0] if len(staged) == 1 else pl.concat(staged)
        if table != "rejects":  # whose rows the policy made whole
            df = redaction.strict_frame(df)
        self._frames.setdefault(table, []).append(df)
        self._held += df.height
        if self._spill_dir is not None and self._held >= spill.SPILL_ROWS:
            for name in list(self._frames):
                self._spill(name)

    def _spill(self, table: str) -> None:
        part = Part.of(pl.concat(self._frames.pop(table)), TABLES[table].key, self._spill_dir)
        self._spilled.setdefault(table, []).append(part)
        self._held = sum(df.height for dfs in self._frames.values() for df in dfs)

    def parts(self) -> dict[str, list[Part]]:
        """Every table's rows as parts, in the order of the rows: written to disk once they passed `SPILL_ROWS`,
        and what is left too if it is `spill.PART_ROWS` or more; else in memory."""
        for table in list(self._pending):
            self._flush(table)
        for table in list(self._frames):
            rows = sum(df.height for df in self._frames[table])
            if table in self._spilled or rows >= spill.PART_ROWS and self._spill_dir is not None:
                self._spill(table)
        memory = {name: [Part.of(pl.concat(dfs), TABLES[name].key)] for name, dfs in self._frames.items()}
        return {name: self._spilled.get(name, []) + memory.get(name, []) for name in {**self._spilled, **memory}}


def _empty_provenance() -> dict[str, list]:
    return {name: [] for name in PROVENANCE_SCHEMA}


def _empty_columns(table: str) -> dict[str, list]:
    return {name: [] for name in (*ROW_COLUMNS[table], *PROVENANCE_SCHEMA)}


def convert_file(
    inp: Input, debug: bool = False, separate_reader: bool = False, spill_dir: Path | None = None
) -> tuple[FileReport, FileRows]:
    """One input's report and rows (not yet de-duplicated against other files). A bug of databack's fails this
    file alone with a one-line message (with `debug`, it raises for its traceback). With `separate_reader`, the
    capture is parsed by a process of its own while this one decodes (two cores for one file). With `spill_dir`,
    rows beyond `spill.SPILL_ROWS` are written there; `spill.SpillFailed` (a full disk) stops the run."""
    try:
        with limits.applied(inp.limits):
            return _convert_file(inp, separate_reader, spill_dir)
    except spill.SpillFailed:
        raise  # not this file's fault: the run stops
    except Exception as e:
        if debug:
            raise
        error = redaction.message(f"internal error ({type(e).__name__}); run again with --debug to see where")
        return FileReport(inp.source_file, participant_id=inp.participant_id, status="failed", error=error), {}


def _convert_file(
    inp: Input, separate_reader: bool, spill_dir: Path | None
) -> tuple[FileReport, FileRows]:
    report = FileReport(inp.source_file, participant_id=inp.participant_id)
    if inp.error or inp.skip:
        report.status, report.error = "failed" if inp.error else "skipped", redaction.message(inp.error or inp.skip)
        return report, {}
    if separate_reader:  # the reading process takes the hash as it reads
        frames = _read_file(inp, report, separate_reader, spill_dir)
        report.sha256 = report.sha256 or sha256_or_none(inp.path)  # (unless the file was not read there)
        return report, frames
    with ThreadPoolExecutor(1) as hashing:  # the hash is taken beside the parse: hashlib lets go of the GIL
        digest = hashing.submit(sha256_or_none, inp.path)
        frames = _read_file(inp, report, separate_reader, spill_dir)
        report.sha256 = digest.result()  # None if unreadable now, though read above: the next run converts it again
    return report, frames


def _read_file(
    inp: Input, report: FileReport, separate_reader: bool, spill_dir: Path | None
) -> FileRows:
    rows, others = RowBuffer(spill_dir), generic.GenericRecords()
    try:
        report.size_bytes = inp.path.stat().st_size
        report.format = detect_format(inp.path)
    except OSError as e:
        report.status, report.error = "failed", redaction.message(f"cannot read the file: {e.strerror or e}")
        return {}
    if report.format is None:
        reason = not_a_capture(inp.path, report.size_bytes)
        report.status, report.error = ("failed" if inp.explicit else "skipped"), redaction.message(reason)
        return {}
    try:
        limited: Counter[str] = Counter()  # exchanges and entries over a limit, by the limit's reason
        if report.format == "json":
            _note_unknown_shapes(report, _convert_saved(inp, report, rows, limited))
            _note_limits(report, limited)
            return rows.parts()
        if separate_reader:
            items = read_capture_beside(
                inp.path, report.format, inp.name, inp.generic, on_digest=lambda d: setattr(report, "sha256", d)
            )
        else:
            items = read_capture(inp.path, report.format, display_name=inp.name, wants_body=BodyWanted(inp.generic))
        unknown_shapes = 0
        for item in items:
            if isinstance(item, CaptureError) and item.message == NOT_A_HAR and not report.exchanges:
                unknown_shapes += _convert_saved(inp, report, rows, limited)
            elif isinstance(item, Exchange):
                report.exchanges += 1
                unknown_shapes += _route_exchange(item, inp, report, rows, others, limited=limited)
            elif isinstance(item, Decoded):
                report.exchanges += 1
                unknown_shapes += _route_exchange(
                    item.exchange, inp, report, rows, others, (item.problem, item.rows), limited
                )
            elif isinstance(item, NotDevice):  # counted by the reading process: what `_route_exchange` would do
                report.exchanges += item.hosts.total()
                report.not_device += item.hosts.total()
                report.unrecognised_hosts.update({redaction.host(h): n for h, n in item.hosts.items()})
            elif isinstance(item, Skipped):
                report.skipped_entries[item.kind] += 1
                if item.reason and limits.names_a_limit(item.reason):
                    limited[item.reason] += 1
            elif isinstance(item, CaptureError):
                if item.entries_read == 0 and report.exchanges == 0 and not report.skipped_entries:
                    report.status = "failed"
                else:
                    report.status = "partial"
                report.error = redaction.message(item.message)
    except OSError as e:
        report.status = "partial" if report.exchanges else "failed"
        report.error = redaction.message(f"cannot read the file: {e.strerror or e}")
    else:
        _note_unknown_shapes(report, unknown_shapes)
        _note_limits(report, limited)
    return rows.parts() | generic.frames(others)


def _note_unknown_shapes(report: FileReport, count: int) -> None:
    """A file with device responses of a shape databack does not know is `partial`: their data is in no table."""
    if count:
        message = f"{count} device response{'s' * (count > 1)} of a shape databack does not know (kept in rejects)"
        report.status = "partial" if report.status == "ok" else report.status
        report.error = redaction.message(f"{report.error}; {message}" if report.error else message)


def _note_limits(report: FileReport, limited: Counter[str]) -> None:
    """A file with exchanges or entries over a limit is `partial`, and says which limits (and their options)."""
    if limited:
        count = limited.total()
        message = f"{count} {'entries' if count > 1 else 'entry'} over a limit: {'; '.join(sorted(limited))}"
        report.status = "partial" if report.status == "ok" else report.status
        report.error = redaction.message(f"{report.error}; {message}" if report.error else message)


def _route_exchange(
    ex: Exchange,
    inp: Input,
    report: FileReport,
    rows: RowBuffer,
    others: generic.GenericRecords,
    predecoded: tuple[str | None, list] | None = None,
    limited: Counter[str] | None = None,
) -> bool:
    """Count the exchange in its report category; a device response goes into `rows` (decoded here, or as
    `predecoded` by the reading process), a rejected one into the `rejects` table (one over a limit counted in
    `limited` too). True for a device response rejected because its shape is not one databack knows."""
    provenance = {
        "participant_id": inp.participant_id,
        "source_file": inp.source_file,
        "source_entry": ex.source_entry,
        "captured_at": datetime_us(ex.captured_at),
    }
    m = devices.match(ex.host, ex.method, ex.path)
    if m is None:
        try:
            payload = _generic_payload(ex, inp)
        except limits.LimitHit as e:  # a response of a host chosen for generic export, over a limit
            table = generic.table_name(ex.host, ex.path)
            report.rejects += 1
            row = redaction.reject_row(table, ex.method, ex.host, ex.path, ex.status, str(e), None)
            rows.add([("rejects", row)], provenance)
            if limited is not None:
                limited[str(e)] += 1
            return False
        if payload is not None:
            table = generic.table_name(ex.host, ex.path)
            others.add(table, redaction.generic_payload(payload), provenance)
            report.generic_responses[table] += 1
            return False
        report.not_device += 1
        report.unrecognised_hosts[redaction.host(ex.host)] += 1
        return False
    ep = m.endpoint
    if ep is None:
        report.undecoded_device_paths[redaction.request_line(ex.method, ex.host, ex.path)] += 1
        return False
    if ep.kind == "auth":
        report.auth += 1
        return False
    if ex.status is not None and not 200 <= ex.status < 300:
        report.http_errors[str(ex.status)] += 1
        return False
    problem, decoded = predecoded or devices.decode(ex, m)
    if problem is not None:
        report.rejects += 1
        if limited is not None and limits.names_a_limit(problem):
            limited[problem] += 1
        body = devices.read_body(ex, ep.reads)
        row = redaction.reject_row(ep.name, ex.method, ex.host, ex.path, ex.status, problem, body)
        rows.add([("rejects", row)], provenance)
        return isinstance(problem, devices.UnknownShape)
    report.device_responses[ep.name] += 1
    report.rows.update(rows.add(decoded, provenance))
    return False


def _generic_payload(ex: Exchange, inp: Input) -> Any:
    """The JSON of a successful response from a host chosen for generic export, else None; `limits.LimitHit` for
    one over a limit (its body, or its JSON)."""
    if not (inp.generic and (ex.body or ex.body_error) and ex.status and 200 <= ex.status < 300):
        return None
    if not host_matches(ex.host, inp.generic) or redaction.is_sign_in_url(ex.path):  # credentials: never exported
        return None
    if ex.body is None:
        if ex.body_error and limits.names_a_limit(ex.body_error):
            raise limits.LimitHit(ex.body_error)
        return None
    try:
        payload = loads_json(ex.body)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, (dict, list)) else None


def _not_json(error: orjson.JSONDecodeError, data: bytes) -> str:
    """Why a saved file is no JSON: cut off (the text ends before its value does), or the parser's words."""
    if "unexpected end of data" in str(error) or "EOF" in str(error):
        return f"cut-off JSON: the text ends before its value does ({len(data):,} bytes)"
    return f"not JSON: {error}"


def _convert_saved(inp: Input, report: FileReport, rows: RowBuffer, limited: Counter[str]) -> bool:
    """A single response saved as a JSON file: one exchange, read as the endpoint named or recognised. True when it
    was rejected for a shape databack does not know. One over a limit is a reject (counted in `limited`)."""
    report.format, report.exchanges = "json", 1
    provenance = {
        "participant_id": inp.participant_id, "source_file": inp.source_file, "source_entry": 0, "captured_at": None
    }
    try:
        limits.check_size(inp.path.stat().st_size)
        data = inp.path.read_bytes()
        payload = loads_json(data)
    except limits.LimitHit as e:
        if not (inp.explicit or inp.endpoint):  # found in a folder: nothing says it is a response
            report.status, report.error, report.exchanges = "skipped", redaction.message(str(e)), 0
            return False
        name = inp.endpoint or "saved response"
        report.rejects += 1
        rows.add([("rejects", redaction.reject_row(name, None, None, inp.source_file, None, str(e), None))], provenance)
        limited[str(e)] += 1
        return False
    except orjson.JSONDecodeError as e:
        report.status, report.error = ("failed" if inp.explicit else "skipped"), redaction.message(_not_json(e, data))
        report.exchanges = 0
        return False
    endpoint = saved.endpoint_named(inp.endpoint) if inp.endpoint else saved.recognise(payload)
    if endpoint is None:
        report.status = "failed" if inp.explicit else "skipped"
        if error := saved.api_error(payload):
            report.error = redaction.message(f"{error}, saved on its own: no data")
        else:
            report.error = redaction.message(
                "JSON, but neither a HAR file nor a response databack recognises (name one with --endpoint)"
            )
        report.exchanges = 0
        return False
    report.read_as = endpoint.name
    problem, decoded = devices.decode_payload(payload, endpoint, Request({}, {}, None, None))
    if problem is not None:
        report.rejects += 1
        body = orjson.dumps(payload)
        rows.add([("rejects", redaction.reject_row(endpoint.name, None, None, inp.source_file, None, problem, body))],
                 provenance)
        return isinstance(problem, devices.UnknownShape)
    report.device_responses[endpoint.name] += 1
    report.rows.update(rows.add(decoded, provenance))
    return False
