"""The Python API, `from converters import convert, load`: what `databack convert` does, and OUT's tables read back
as polars frames of the types `datapackage.json` declares (from Parquet, CSV or partitioned datasets alike)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson
import polars as pl

from . import parallel, participants, pipeline, spill, store, writers
from .captures import archives
from .tables import COPIES, TABLES, UTC_TIME

LAZY_ROWS = 1_000_000  # `load`: tables with more rows come as LazyFrames
POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean,
                "date": pl.Date, "datetime": UTC_TIME}


def convert(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    out: str | os.PathLike,
    *,
    format: writers.OutputFormat = "parquet",
    partition_by: Iterable[str] = (),
    participant_id: str | None = None,
    jobs: int | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Convert captures (files, folders or globs) into OUT, as `databack convert` does: inputs converted before
    unchanged are kept rather than converted again (unless `force`), and those not given keep their rows. Returns
    the run's report (`report.json`); no archive it read is left open. Raises `store.OutError` where OUT cannot be
    written (a full disk; `store.Busy` while another run holds it) or what an earlier run left in it cannot be read
    back, `FileNotFoundError` for a path that is not there; an input that cannot be read is a failed file of the
    report, as for `databack convert`."""
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    out = Path(out)
    if missing := [str(p) for p in paths if not p.exists() and not pipeline.GLOB_CHARS & set(str(p))]:
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    partition_by = tuple(partition_by)
    if bad := [c for c in partition_by if c not in writers.PARTITION_COLUMNS]:
        raise ValueError(f"partition_by takes {', '.join(writers.PARTITION_COLUMNS)}, not {', '.join(bad)}")
    store.check_place(out, paths)
    inputs = participants.assign(pipeline.collect_inputs(paths, exclude=out), participant_id)
    with store.lock(out, inputs=paths) as held:
        tables, files = writers.read_output(out, generic_tables=True)[:2]
        writers.refuse_theirs(out)  # (before the work, not only at its commit)
        try:
            with writers.read_back([out] if files else []):
                conversion, _ = pipeline.update(inputs, tables, files, jobs=jobs or parallel.usable_cores(),
                                                spill_dir=held.work(),
                                                previous_copies=writers.read_copies(out) if files else None,
                                                force=force)
                with held.transaction() as tx:
                    return writers.write(conversion, tx, format, partition_by)
        except spill.SpillFailed as e:  # rows that cannot go to OUT's work folder (a full disk)
            raise store.OutError(f"cannot write into {out}: {e}") from None
        finally:
            archives.release()


def load(out: str | os.PathLike, lazy: bool | None = None) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """Every table of OUT by name (not `copies.parquet`), its columns of the types `datapackage.json` declares (a
    partitioned table's `day` included), a known table's in the data dictionary's order: DataFrames, or LazyFrames
    with `lazy=True` (by default, for a table of more than `LAZY_ROWS` rows). Empty for a folder without a databack
    output. A commit a killed run left half made is finished first (as the next run would). The tables are those of
    one run: where a run commits into OUT while they are read, they are read again; a LazyFrame reads its rows when
    collected, and once a run has committed its table anew since, raises `writers.EarlierRunUnreadable`. Raises `store.OutError` (`writers.EarlierRunUnreadable`, one line naming the
    file) where what OUT holds cannot be read back (or such a commit cannot be finished: OUT not writable), or
    `datapackage.json` names a table's file as any other path than its own (never read from outside OUT)."""
    out = Path(out)
    for _ in range(LOAD_TRIES):
        if os.path.lexists(out / store.JOURNAL):  # a killed run's commit, half made: finished first, as every reader
            with store.reading(out, wait=math.inf):  # does (a run in its commit: milliseconds)
                pass
        seen = _identities(out, _INDEX)
        if os.path.lexists(out / store.JOURNAL):  # (a commit begun since: its renames are waited for)
            continue
        read: list[tuple[str, tuple[int, int, int] | None]] = []
        try:
            tables = _load(out, lazy, read)
        except store.OutError:
            if _unchanged(out, seen, read):
                raise
            continue  # (a file a commit removed meanwhile, say)
        if _unchanged(out, seen, read):
            return tables
    with store.reading(out, wait=math.inf):  # commits one after the other: read while none can be made
        return _load(out, lazy, [])


LOAD_TRIES = 5  # `load`: reads of OUT with a commit made meanwhile before it reads holding OUT
_INDEX = ("datapackage.json", "report.json")  # replaced by every commit that changes a table


def _identities(out: Path, names: Iterable[str]) -> list[tuple[int, int, int] | None]:
    """What tells a version of each of OUT's entries `names` from another: a commit puts a new file or folder in
    place (another inode), and one undone puts the old back (its ctime changed by the link or rename kept it)."""
    identities = []
    for name in names:
        try:
            s = os.lstat(out / name)
            identities.append((s.st_ino, s.st_ctime_ns, s.st_mtime_ns))
        except OSError:
            identities.append(None)
    return identities


def _unchanged(out: Path, seen: list, read: list[str]) -> bool:
    """Whether no commit changed OUT while it was read: none under way, and its index and the tables' files as
    when they were first looked at (`read`: each table's file and its identity then)."""
    return not os.path.lexists(out / store.JOURNAL) and _identities(out, _INDEX) == seen \
        and _identities(out, [file for file, _ in read]) == [identity for _, identity in read]


def _load(out: Path, lazy: bool | None, read: list[tuple[str, tuple[int, int, int] | None]]) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """OUT's tables, as `load` gives them; each table's file, and its identity then, appended to `read`."""
    package = out / "datapackage.json"
    if not package.exists():
        return {}
    if not store.utf8(out):
        raise writers.EarlierRunUnreadable(f"cannot read the run in {out}: {store.NOT_UTF8}")
    if (out / "report.json").exists():
        with writers._earlier(out, "report.json"):
            writers.refuse_newer(orjson.loads((out / "report.json").read_bytes()))
    tables: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    with writers._earlier(out, "datapackage.json"):
        resources = orjson.loads(package.read_bytes())["resources"]
    for resource in resources:
        with writers._earlier(out, "datapackage.json"):
            name, file = resource["name"], resource["path"]
            if name == COPIES.name:  # de-duplication's notes, not data (pl.read_parquet reads them)
                continue
            if not writers.own_file(name, file):
                raise ValueError(f"names another file for {name}")
            schema = {f["name"]: POLARS_TYPES[f["type"]] for f in resource["schema"]["fields"]}
        identity = _identities(out, [file])[0]
        read.append((file, identity))
        with writers._earlier(out, file):
            writers.refuse_links(out / file)
            frame = writers.scan_table(out / file, schema, resource.get("partitions", []))
            if name in TABLES:
                order = TABLES[name].column_names
                frame = frame.select(*order, *(c for c in frame.collect_schema() if c not in order))
            big = resource.get("stats", {}).get("rows", 0) > LAZY_ROWS
            tables[name] = _as_found(frame, out, file, identity) if (big if lazy is None else lazy) else frame.collect()
    return tables


def _as_found(frame: pl.LazyFrame, out: Path, file: str, identity: tuple[int, int, int] | None) -> pl.LazyFrame:
    """`frame`, OUT's table file (or dataset folder) `file`, read when collected only while it is the one `load`
    found (`identity`): the table of the run the other tables are of. Once a run has committed into OUT since, a
    LazyFrame would read that run's table beside the others of the run before (or, of a partitioned table, the files
    then found at the paths listed before: some of its rows), so collecting it is one error naming the file, to load
    OUT again. Projections, filters and row limits still reach the scan."""
    from polars.io.plugins import register_io_source

    def still_found() -> None:
        if _identities(out, [file])[0] != identity:
            raise writers.EarlierRunUnreadable(f"cannot read the run in {out}: {file}: a run has committed into it "
                                               "since load() read it: load it again")

    def source(columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None,
               batch_size: int | None) -> Iterator[pl.DataFrame]:
        lf = frame if columns is None else frame.select(columns)
        lf = lf if predicate is None else lf.filter(predicate)
        lf = lf if n_rows is None else lf.head(n_rows)
        still_found()
        for batch in lf.collect_batches(chunk_size=batch_size):
            still_found()  # (read while it was the file found: a commit during the read is found after it)
            yield batch

    return register_io_source(source, schema=frame.collect_schema(), explain_name=f"databack {file}")
