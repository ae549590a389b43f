"""The Python API, `from converters import convert, load`: what `databack convert` does, and OUT's tables read back
as polars frames of the types `datapackage.json` declares (from Parquet, CSV or partitioned datasets alike)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable

import orjson
import polars as pl

from . import participants, pipeline, spill, store, writers
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
        tables, files = writers.read_output(out)[:2]
        try:
            with writers.read_back([out] if files else []):
                conversion, _ = pipeline.update(inputs, tables, files, jobs=jobs or os.cpu_count() or 1,
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
    output. A commit a killed run left half made is finished first (as the next run would). Raises `store.OutError`
    (`writers.EarlierRunUnreadable`, one line naming the file) where what OUT holds cannot be read back (or such a
    commit cannot be finished: OUT not writable), or `datapackage.json` names a table's file as any other path than
    its own (never read from outside OUT)."""
    out = Path(out)
    if os.path.lexists(out / store.JOURNAL):  # a killed run's commit, half made: finished first, as every reader does
        with store.reading(out, wait=math.inf):  # (a run in its commit: milliseconds)
            pass
    package = out / "datapackage.json"
    if not package.exists():
        return {}
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
        with writers._earlier(out, file):
            writers.refuse_links(out / file)
            frame = writers.scan_table(out / file, schema, resource.get("partitions", []))
            if name in TABLES:
                order = TABLES[name].column_names
                frame = frame.select(*order, *(c for c in frame.collect_schema() if c not in order))
            big = resource.get("stats", {}).get("rows", 0) > LAZY_ROWS
            tables[name] = frame if (big if lazy is None else lazy) else frame.collect()
    return tables
