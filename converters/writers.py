"""Writing a conversion into OUT, and reading one back (to merge shards or to add to it incrementally).

OUT holds one Parquet or CSV file per table that has rows (or, partitioned, one Hive-style Parquet dataset
folder per table), `report.json` and `datapackage.json`. They are written through a transaction of OUT's store
(`store.py`): into its staging folder, then committed all at once, `report.json` last.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections import Counter
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Iterator, Literal
from urllib.parse import quote, unquote

import orjson
import polars as pl

from . import __version__, generic, redaction, spill, store, views
from .parallel import usable_cores
from .pipeline import Conversion, FileReport
from .dedupe import COPIES
from .digest import sha256_file
from .tables import COPIES as COPIES_TABLE
from .tables import TABLES, UTC_TIME, Column, Table

OutputFormat = Literal["parquet", "csv"]
COPIES_FILE = "copies.parquet"  # every copy of a record captured more than once (`dedupe.COPIES`), for later runs
HASHED_BY = "databack:hashed_by"  # its metadata: the polars version whose hashes it holds
TOTALS = ("files", "files_ok", "files_partial", "files_failed", "files_skipped", "exchanges", "device_responses",
          "rejects", "http_errors", "auth", "undecoded_device_paths", "generic_responses", "not_device")  # in order
PARTITION_COLUMNS = ("participant_id", "night", "day")
# CSV times in ISO 8601 with `Z` (polars' default `+0000` is not ISO's extended form, and pandas or a spreadsheet
# need telling); fractions of a second only where there are some. Every value that is not a number is quoted, a
# 19-digit id such as Band `event_id` too: text as CSV marks it (Python's csv.QUOTE_NONNUMERIC, LibreOffice's
# "quoted field as text"), and an empty text ("") told from a missing one (nothing)
CSV_OPTIONS = {"datetime_format": "%Y-%m-%dT%H:%M:%S%.fZ", "quote_style": "non_numeric"}
# Rows of a row group of a table's Parquet file: a fixed size (polars' own default), so that the file is the same
# whatever the chunks of its frame in memory, or the ranges it was reduced and streamed in (which depend on --jobs)
ROW_GROUP = 512**2
FRICTIONLESS_TYPES = {pl.String: "string", pl.Int64: "integer", pl.Float64: "number", pl.Boolean: "boolean",
                      pl.Date: "date", UTC_TIME: "datetime", pl.UInt64: "integer", pl.UInt32: "integer"}


def report(conversion: Conversion, written: dict[str, Path], fmt: str, partition_by: tuple[str, ...]) -> dict:
    """The machine-readable report: totals, per table, per input file."""
    tables, duplicates, conflicts = conversion.tables, conversion.duplicates, conversion.conflicts  # (each once:
    # they are built anew each time, and a run may have thousands of generic tables)
    redaction.require([name for name in tables if name not in TABLES], "generic table name")
    totals: Counter[str] = Counter(dict.fromkeys(TOTALS, 0))  # every count, zero ones too
    for f in conversion.files:
        totals["files"] += 1
        totals[f"files_{f.status}"] += 1
        totals["exchanges"] += f.exchanges
        totals["device_responses"] += f.device_responses.total()
        totals["rejects"] += f.rejects
        totals["http_errors"] += f.http_errors.total()
        totals["auth"] += f.auth
        totals["undecoded_device_paths"] += f.undecoded_device_paths.total()
        totals["generic_responses"] += f.generic_responses.total()
        totals["not_device"] += f.not_device
    return {
        "databack_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "valid": conversion.ok,
        "format": fmt,
        "partition_by": list(partition_by),
        "totals": dict(totals),
        "tables": {
            str(name): {
                "rows": tables[name].height if name in tables else 0,
                "duplicates": duplicates[name],
                "conflicts": conflicts[name],
                "file": written[name].name if name in written else None,
            }
            for name in [*TABLES, *(n for n in tables if n not in TABLES)]
        },
        "files": [f.as_dict() for f in conversion.files],
    }


def write(
    conversion: Conversion,
    out: Path | store.Transaction,
    fmt: OutputFormat = "parquet",
    partition_by: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write the tables, report and data package into OUT, all at once: through `out`, a transaction of OUT's
    store (the caller holds OUT), or into the folder `out`, locked for this. Returns the report. Table files of
    earlier runs that this run has no rows for are removed, so OUT always shows one state."""
    if partition_by and fmt != "parquet":
        raise ValueError("partitioned datasets are written as Parquet")
    if not isinstance(out, store.Transaction):
        with store.transaction(out) as tx:
            return write(conversion, tx, fmt, partition_by)
    tx = out
    theirs = _not_databacks(tx.out)
    _refuse_theirs(tx.out, theirs)
    _refuse_clash(tx.out, conversion.decoded, theirs, fmt, partition_by)  # (the views', once they are made)
    event_days = _event_days(conversion.decoded) if "day" in partition_by else None
    paths: dict[str, Path] = {}
    writing: dict[str, Future] = {}  # name -> (the SHA-256 of its file, its partition columns), once written
    # polars lets go of the GIL. The tables on disk are written in turn, in the order their ranges are reduced in,
    # beside the tables in memory: a writer holds a row group (up to `ROW_GROUP` rows) whole as it encodes it, and
    # at once they held them all (1 GB HAR, 15 % of device bodies: band_minutes' 200,000 rows, band_map_points'
    # 96,000 and a row group of sensor samples).
    with ThreadPoolExecutor(usable_cores()) as pool, ThreadPoolExecutor(1) as in_turn:

        def submit(tables: dict[str, spill.Frame]) -> None:
            todo = [(name, df) for name, df in tables.items() if name not in paths]
            for name, df in sorted(todo, key=_rows_first):  # the biggest first: no thread left with one
                paths[name] = tx.path(name if partition_by else f"{name}.{fmt}")
                writer = pool if isinstance(df, pl.DataFrame) else in_turn
                writing[name] = writer.submit(_write_table, name, df, paths[name], fmt, partition_by, event_days)

        submit(conversion.decoded)
        # the views read their tables whole: one on disk, once its writer no longer holds it (see `combine`); and
        # when they would hold more than `spill.VIEW_BYTES` of such tables, once every table on disk is written:
        # beside none of the writers' row groups (see `_view_bytes`)
        on_disk = [name for name in writing if not isinstance(conversion.decoded[name], pl.DataFrame)]
        futures.wait([writing[name] for name in on_disk if name in views.SOURCES])
        if _view_bytes(conversion.decoded, on_disk) > spill.VIEW_BYTES:
            futures.wait([writing[name] for name in on_disk])
        _refuse_clash(tx.out, conversion.tables, theirs, fmt, partition_by)
        submit(conversion.tables)  # the views, once made
        written = {name: paths[name] for name in conversion.tables}
        names = {p.name for p in written.values()}
        for name in [*TABLES, *(p.name.split(".")[0] for p in tx.out.glob(f"{generic.TABLE_PREFIX}*"))]:
            for stale in (f"{name}.parquet", f"{name}.csv", name):
                if stale not in names and stale not in theirs:
                    tx.remove(stale)
        tx.remove("report.html")  # drawn from the tables replaced: `databack report` draws it anew
        copies_written = pool.submit(_copies_written, conversion, tx.path(COPIES_FILE))  # while the last are written
    hashes = {name: future.result()[0] for name, future in writing.items()}
    levels = {name: future.result()[1] for name, future in writing.items() if partition_by}
    copies, copies_hash = copies_written.result()
    result = report(conversion, written, fmt, partition_by)
    package = datapackage(conversion, written, fmt, levels, hashes)
    package["resources"].append(_resource(COPIES_TABLE, tx.path(COPIES_FILE), "parquet", copies.height,
                                          hash=copies_hash))
    _write_json(tx.path("datapackage.json"), package)
    _write_json(tx.path("report.json"), result)  # last: OUT's index
    return result


def refuse_theirs(out: Path) -> None:
    """`store.OutError` where OUT, a folder no databack run wrote (no report.json), holds a datapackage.json,
    copies.parquet or report.html of the user's, which a run would write over or remove: said before the run's work,
    as at its commit."""
    _refuse_theirs(out, _not_databacks(out))


def _refuse_theirs(out: Path, theirs: set[str]) -> None:
    if own := sorted(theirs & {"datapackage.json", COPIES_FILE, "report.html"}):  # (a user's, written over)
        raise store.OutError(f"cannot write into {out}: it holds {own[0]}, which no databack run wrote (there is "
                             f"no report.json): move it out of {out}, where databack writes its own")


def _refuse_clash(out: Path, tables: dict[str, Any], theirs: set[str], fmt: str, partition_by: tuple[str, ...]) -> None:
    """`OutError` where a table would be written where a file or folder no databack run wrote is (a dataset folder,
    or the table's file in this format)."""
    if clash := sorted(entry for name in tables if (entry := name if partition_by else f"{name}.{fmt}") in theirs):
        what = "folder" if (out / clash[0]).is_dir() else "file"
        raise store.OutError(f"cannot write into {out}: it holds a {what} {clash[0]} that no databack run wrote "
                             f"(report.json lists no such table {what}): move it out of {out}, where the table "
                             f"{clash[0].removesuffix('.parquet').removesuffix('.csv')} is written")


def _not_databacks(out: Path) -> set[str]:
    """The entries of OUT named as a table's file or dataset folder that no earlier run wrote: the report.json there
    lists none of them as a table's, or there is none: a user's `rejects` folder or `rejects.csv` list of their own;
    and where there is none, a `datapackage.json`, `copies.parquet` or `report.html` of theirs. None where
    report.json cannot be read (OUT's every table-named entry is then taken for databack's, as before)."""
    try:
        listed = {str(t["file"]) for t in orjson.loads((out / "report.json").read_bytes())["tables"].values()}
    except FileNotFoundError:
        return {e.name for e in os.scandir(out) if e.name in ("datapackage.json", COPIES_FILE, "report.html")} | \
            _not_listed(out, set())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    return _not_listed(out, listed)


def _not_listed(out: Path, listed: set[str]) -> set[str]:
    """The entries of OUT named as a table's file or dataset folder, but for those `listed`."""
    named = [e.name for e in os.scandir(out) if e.name not in listed]
    return {name for name in named if (table := name.removesuffix(".parquet").removesuffix(".csv")) in TABLES
            or table.startswith(generic.TABLE_PREFIX)}


def _copies_written(conversion: Conversion, path: Path) -> tuple[pl.DataFrame, str]:
    """The run's copies, once every range is reduced (`Conversion.settle`: the copies of a table written as its ranges
    were reduced are counted once they all were), written to `path` in the same order whatever order the ranges came
    in; and the file's SHA-256."""
    conversion.settle()
    copies = conversion.copies.sort(pl.all())
    copies.write_parquet(path, metadata={HASHED_BY: pl.__version__})
    return copies, sha256_file(path)


def _view_bytes(tables: dict[str, spill.Frame], on_disk: list[str]) -> int:
    """About what the views hold as they read their tables on disk (written by now): a row of each such table for
    each of its rows (the 1 GB HAR's band_minutes, 200,768 rows: 58 MB so counted, 45 MB measured)."""
    return sum(tables[name].height * spill.row_bytes(TABLES[name].schema) for name in on_disk if name in views.SOURCES)


def _rows_first(table: tuple[str, spill.Frame]) -> float:
    """The order tables are written in: those still being reduced first (on disk, the biggest), then by rows."""
    return -math.inf if isinstance(table[1], spill.Coming) else -table[1].height


def _write_table(
    name: str, df: spill.Frame, path: Path, fmt: str, partition_by: tuple[str, ...], event_days: pl.LazyFrame | None
) -> tuple[str | None, list[str]]:
    """One table written (a DataFrame, or `spill.Sorted`): the SHA-256 of its file, taken while the file is still in
    the page cache (none for a partitioned dataset's folder), and its partition columns."""
    if partition_by:
        t = _definition(name, df)
        path.mkdir()
        levels = partition_levels(t, df, partition_by, event_days)
        _write_partitioned(t, df, path, levels, event_days)
        return None, levels
    df.write_parquet(path, row_group_size=ROW_GROUP) if fmt == "parquet" else df.write_csv(path, **CSV_OPTIONS)
    return sha256_file(path), []


def _write_partitioned(
    table: Table, df: spill.Frame, folder: Path, levels: list[str], event_days: pl.LazyFrame | None
) -> None:
    """A Hive-partitioned dataset in `folder`: `col=value/…/NNNNNNNN.parquet`, the partition columns in the path only
    (stored in the files too, pyarrow would refuse to merge their types with the ones it reads from the path). A table
    sorted on disk is written a range at a time, range `i` as `{i:08d}.parquet` in every partition it reaches: a
    partition's files, read in name order, give its rows in key order."""
    batches = [df] if isinstance(df, pl.DataFrame) else df.batches()
    for i, batch in enumerate(batches):
        batch = _with_day(table, batch.lazy(), event_days).collect() if "day" in levels else batch
        if not levels:
            batch.write_parquet(folder / f"{i:08d}.parquet")
            continue
        for key, rows in batch.partition_by(levels, as_dict=True, include_key=False, maintain_order=True).items():
            partition = folder.joinpath(*(f"{c}={_hive_value(v)}" for c, v in zip(levels, key)))
            partition.mkdir(parents=True, exist_ok=True)
            rows.write_parquet(partition / f"{i:08d}.parquet")


def _hive_value(value: Any) -> str:
    return quote(value.isoformat() if isinstance(value, date) else str(value), safe="")


def _definition(name: str, df: pl.DataFrame) -> Table:
    return TABLES[name] if name in TABLES else generic.describe(name, df)


def partition_levels(
    table: Table, df: spill.Frame, partition_by: tuple[str, ...], event_days: pl.LazyFrame | None
) -> list[str]:
    """The partition columns of a table: those asked for that it has (`day`: every table with a day, a night or a
    time of its own, see `DAY`), less any with a null (a path cannot say null to every reader: pyarrow fails) or a
    value too long for a folder's name (a participant id of 60 Greek letters is 255 bytes percent-encoded: the run
    failed, 'File name too long'), or values that differ only in case (`P07`, `p07`: one folder where file names
    ignore case, as macOS's and Windows' do by default, the second's files written over the first's). Such a column
    stays in the files."""
    wanted = [c for c in partition_by if c in table.column_names or c == "day" and _day(table) is not None]
    if not wanted:
        return []
    frame = _with_day(table, df.lazy(), event_days) if "day" in wanted else df.lazy()
    texts = [c for c in wanted if c in table.column_names and table.schema[c] == pl.String]
    counted = frame.select(pl.col(wanted).null_count(), *(pl.col(c).unique().implode().alias(f"{c} values")
                                                          for c in texts)).collect()  # one pass: few values
    folders = {c: [f"{c}={_hive_value(v)}" for v in counted[f"{c} values"][0]] for c in texts}
    return [c for c in wanted if counted[c][0] == 0
            and all(len(name.encode()) <= NAME_MAX for name in folders.get(c, ()))
            and len({name.lower() for name in folders.get(c, ())}) == len(folders.get(c, ()))]


NAME_MAX = 255  # bytes of a file's or folder's name (Linux, macOS, Windows' NTFS in UTF-16 units)


EVENT_DAY = "_event_day"
DAY = Column(
    "day",
    pl.Date,
    "Partition column of `--partition-by day`: the local day a row belongs to: its `night` or `day`; for Band rows "
    "of an event, the event's `day_id` (its minutes, splits and GPS points go with it); else its own `day_id`, or "
    "the local date (`utc_offset_s` where there is one, else UTC) of its first time",
)


def _day(table: Table) -> pl.Expr | None:
    """The expression of a table's `day` (see `DAY`), or None for a table with no day of its own (capture times are
    not one)."""
    names = table.column_names
    if "night" in names or "day" in names:
        return pl.col("night" if "night" in names else "day")
    sources = [pl.col(EVENT_DAY)] if "event_id" in names and table.name.startswith("band_") else []
    sources += [pl.col("day_id")] if "day_id" in names else []
    if times := [c for c in table.time_columns if c != "captured_at"]:
        offset = pl.duration(seconds=pl.col("utc_offset_s").fill_null(0)) if "utc_offset_s" in names else None
        sources.append((pl.col(times[0]) + offset if offset is not None else pl.col(times[0])).dt.date())
    return pl.coalesce(sources) if sources else None


def _with_day(table: Table, rows: pl.LazyFrame, event_days: pl.LazyFrame) -> pl.LazyFrame:
    """`rows` with their `day` column (see `DAY`)."""
    if "day" in table.column_names:
        return rows
    if uses_events := "event_id" in table.column_names and table.name.startswith("band_"):
        rows = rows.join(event_days, on=["participant_id", "event_id"], how="left", nulls_equal=True,
                         maintain_order="left")
    rows = rows.with_columns(_day(table).alias("day"))
    return rows.drop(EVENT_DAY) if uses_events else rows


def _event_days(tables: dict[str, spill.Frame]) -> pl.LazyFrame:
    """Each Band event's local day, for the rows that belong to it."""
    if "band_events" not in tables:
        return pl.LazyFrame(schema={"participant_id": pl.String, "event_id": pl.String, EVENT_DAY: pl.Date})
    events = tables["band_events"].lazy().select("participant_id", "event_id", pl.col("day_id").alias(EVENT_DAY))
    return events.unique(["participant_id", "event_id"]).collect().lazy()


def datapackage(
    conversion: Conversion, written: dict[str, Path], fmt: str, levels: dict[str, list[str]],
    hashes: dict[str, str | None],
) -> dict[str, Any]:
    """A Frictionless Data Package describing every table written (each file's SHA-256 in `hashes`), from the same
    definitions as the README.

    A partitioned table is one resource whose `path` is its dataset folder (pyarrow, which frictionless reads Parquet
    with, reads the whole dataset), its partition columns last, as readers of a dataset give them. A Parquet file has
    its hash but no `bytes` (frictionless never counts the bytes of what pyarrow reads, and would report every file),
    and its integer fields count `nan` as missing: frictionless reads Parquet through pandas, which turns a null
    integer into NaN."""
    tables = conversion.tables  # (once: it is built anew each time)
    resources = [
        _resource(_definition(name, tables[name]), path, fmt, tables[name].height,
                  levels.get(name, []), hashes[name])
        for name, path in written.items()
    ]
    return {"name": "databack-output", "profile": "tabular-data-package", "resources": resources}


def _resource(
    t: Table, path: Path, fmt: str, rows: int, partitions: list[str] = (), hash: str | None = None  # type: ignore
) -> dict[str, Any]:
    """The data package's resource of one table's file, or dataset folder partitioned by `partitions`."""
    columns = [c for c in t.columns if c.name not in partitions]
    columns += [DAY if c == "day" and c not in t.column_names else t.columns[t.column_names.index(c)]
                for c in partitions]
    resource = {
        "name": t.name,
        "profile": "tabular-data-resource",
        "description": t.description,
        "path": path.name,
        "format": fmt,
        "schema": {"fields": [_field(c, fmt) for c in columns]} | ({"primaryKey": list(t.key)} if t.key else {}),
        "stats": {"rows": rows},
    }
    if partitions:
        resource["partitions"] = list(partitions)
    if not path.is_dir():
        resource["hash"] = f"sha256:{hash}"
        if fmt == "csv":
            resource["bytes"] = path.stat().st_size
    return resource


def _field(c: Column, fmt: str) -> dict[str, Any]:
    field = {"name": c.name, "type": FRICTIONLESS_TYPES[c.dtype], "description": c.description}
    if c.unit:
        field["unit"] = c.unit
    if fmt == "parquet" and c.dtype == pl.Int64:
        field["missingValues"] = ["", "nan"]
    return field


def read_output(out: Path, generic_tables: bool = False) -> tuple[dict[str, list[pl.LazyFrame]], list[FileReport],
                                                                  dict[str, Any]]:
    """The tables, file reports and report of an earlier run in `out` (empty when there is none), to add to or
    merge. A table is read lazily, in slices of `spill.SPILL_ROWS` rows: however big, it is taken in as rows on
    disk are. Views are left out: they are made anew from the tables. `generic_tables`: the run's
    generic tables too, each whole, under its name as the policy gives it again (a `Safe`)."""
    scanned, previous = scan_output(out)
    tables = {}
    for name, lf in scanned.items():
        if not TABLES[name].derived:
            with _earlier(out, previous["tables"][name]["file"]):
                rows = _count(lf, previous["tables"][name])  # (a CSV's ragged row, say)
                tables[name] = [lf.slice(start, spill.SPILL_ROWS) for start in range(0, rows, spill.SPILL_ROWS)]
    if generic_tables and previous:
        tables |= _generic_tables(out, previous)
    with _earlier(out, "report.json"):
        files = [FileReport.from_dict(f) for f in previous.get("files", ())]
    return tables, files, previous


READ_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean, "date": pl.Date,
              "datetime": UTC_TIME}


def _generic_tables(out: Path, report: dict[str, Any]) -> dict[str, list[pl.LazyFrame]]:
    """The generic tables report.json lists in `out`, each as one LazyFrame of the types its datapackage.json
    declares (a CSV's columns would read as text), its rows as the report counts them."""
    return {redaction.from_earlier_output(name): [lf] for name, _, lf in _generic_scans(out, report)}


def _generic_scans(out: Path, report: dict[str, Any]) -> Iterator[tuple[str, str, pl.LazyFrame]]:
    """(name, file, LazyFrame) of each generic table report.json lists in `out`, as `_generic_tables` reads it."""
    listed = {name: info["file"] for name, info in report["tables"].items()
              if isinstance(name, str) and name.startswith(generic.TABLE_PREFIX) and info.get("file")}
    if not listed:
        return
    with _earlier(out, "datapackage.json"):
        resources = {r["name"]: r for r in orjson.loads((out / "datapackage.json").read_bytes())["resources"]}
    for name, file in sorted(listed.items()):
        with _earlier(out, file if own_file(name, file) else "report.json"):
            if not own_file(name, file):
                raise ValueError(f"names another file for {name}")
            if name not in resources:
                raise ValueError(f"datapackage.json does not describe {name}")
            resource = resources[name]
            with _earlier(out, "datapackage.json"):  # (its description, not the table's file)
                schema = {f["name"]: READ_TYPES[f["type"]] for f in resource["schema"]["fields"]}
            refuse_links(out / file)
            lf = scan_table(out / file, schema, resource.get("partitions", []))
            # its fields, then the provenance every row has, as `generic.frames` orders them (a partition level, last
            # in the data package, goes back in its place)
            lf = lf.select(*(c for c in schema if c not in generic.PROVENANCE),
                           *(c for c in generic.PROVENANCE if c in schema))
            _count(lf, report["tables"][name])
        yield name, file, lf


def refuse_replacing(out: Path, merged: list[FileReport]) -> None:
    """`store.OutError` (a usage error) where `out` holds a run of files that none of the folders merged into it
    holds (`merged`: their file reports): the merge would replace that run, its rows lost without a word. An `out`
    whose files all come again from the folders merged (the same merge made again, with new shards) is replaced."""
    refuse_theirs(out)
    if not (out / "report.json").exists():
        return
    with _earlier(out, "report.json"):
        report = orjson.loads((out / "report.json").read_bytes())
        refuse_newer(report)  # (its tables and columns that this version does not know: left behind, unlisted)
        held = [FileReport.from_dict(f).file for f in report["files"]]
    given = {f.file for f in merged}
    if lost := [name for name in held if name not in given]:
        n = len(lost)
        raise store.OutError(
            f"cannot merge into {out}: it holds the run of {n} file{'s' if n > 1 else ''} that no folder merged "
            f"holds ({lost[0]}{', …' if n > 1 else ''}), whose rows the merge would replace: merge it in too, into "
            "another folder, or remove it first", usage=True)


def read_copies(out: Path) -> pl.DataFrame | None:
    """The copies the run in `out` noted (`dedupe.COPIES`): none when there is no run; None when it noted none this
    version can use (an older databack's output, or hashes made by another version of polars)."""
    path = out / COPIES_FILE
    if not (out / "report.json").exists():
        return pl.DataFrame(schema=COPIES)
    with _earlier(out, COPIES_FILE):
        if path.is_symlink():
            raise ValueError("a symbolic link, not a file of its own")
        if not path.exists() or pl.read_parquet_metadata(path).get(HASHED_BY) != pl.__version__:
            return None
        return redaction.earlier_rows("copies", pl.read_parquet(path, glob=False))  # source_file as this policy writes it


def scan_output(out: Path, counted: bool = False) -> tuple[dict[str, pl.LazyFrame], dict[str, Any]]:
    """Every table of the run in `out` (views included, generic tables not: `read_output` reads them), each as a
    LazyFrame of its declared schema, and the run's report; empty when there is none.
    `counted`: each table's rows are counted first (a Parquet file's footer says; a CSV is read through), and one
    holding other rows than the report counts (a CSV's ragged row, say) is refused."""
    report_path = out / "report.json"
    if not report_path.exists():
        return {}, {}
    if not store.utf8(out):
        raise EarlierRunUnreadable(f"cannot read the run in {out}: {store.NOT_UTF8}")
    with _earlier(out, "report.json"):
        previous = orjson.loads(report_path.read_bytes())
        refuse_newer(previous)
        listed = {name: info["file"] for name, info in previous["tables"].items()}
    tables = {}
    for name, file in listed.items():
        if not file or name not in TABLES:
            continue
        own = own_file(name, file)
        with _earlier(out, file if own else "report.json"):
            if not own:
                raise ValueError(f"names another file for {name}")
            refuse_links(out / file)
            t = TABLES[name]
            tables[name] = scan_table(out / file, t.schema).select(t.column_names)
            if counted:
                _count(tables[name], previous["tables"][name])
    return tables, previous


def refuse_newer(report: Any) -> None:
    """ValueError where `report` (an output's report.json) was written by a newer databack than this one: its tables
    may hold tables and columns this version does not know, which it would leave out, unsaid, of what it reads,
    writes again or draws. (Older ones are read: a column added since is null in their rows.)"""
    version = report.get("databack_version") if isinstance(report, dict) else None
    if isinstance(version, str) and _release(version) > _release(__version__):
        raise ValueError(f"written by databack {version}, newer than this one ({__version__}), whose tables and "
                         "columns this version may not know: read it with that version or a newer one")


def _release(version: str) -> tuple[int, ...]:
    """The release numbers a version begins with (`0.2.0rc1`: (0, 2, 0)); () for none."""
    m = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(n) for n in m.group().split(".")) if m else ()


def _count(lf: pl.LazyFrame, listed: dict[str, Any]) -> int:
    """The rows of a table's file, ValueError where the report counted others."""
    rows = spill.height(lf)
    if rows != (counted := listed.get("rows", rows)):
        raise _Miscounted(f"holds {rows} rows where report.json counts {counted}")
    return rows


def own_file(name: str, file: object) -> bool:
    """Whether `file` is table `name`'s own file or folder in OUT (never a path out of OUT, nor another's)."""
    return isinstance(name, str) and "/" not in name and "\\" not in name and not name.startswith(".") and \
        file in (f"{name}.parquet", f"{name}.csv", name)


@contextmanager
def read_back(outs: list[Path]) -> Iterator[None]:
    """The tables of the runs in `outs` read back in this block (lazily: their data is decoded where it is used):
    a table file damaged deep inside (a Parquet data page, a CSV row of more fields), whose error polars gives
    without naming the file, is found and made the `EarlierRunUnreadable` naming it. Only should the block fail:
    each table is then read in full to find it (an error found in none goes on as it is)."""
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as e:
        if isinstance(e, store.OutError):
            raise
        for out in outs:
            if (damaged := _damaged(out)) is not None:
                raise damaged from e
        raise


def _damaged(out: Path) -> EarlierRunUnreadable | None:
    """The first of `out`'s tables (generic tables too) that cannot be read in full, as an `EarlierRunUnreadable`;
    None when all can."""
    try:
        scanned, previous = scan_output(out)
        files = {previous["tables"][name]["file"]: lf for name, lf in scanned.items()}
        files |= {file: lf for _, file, lf in _generic_scans(out, previous)}
        for file, lf in files.items():
            with _earlier(out, file):
                rows = spill.height(lf)
                for start in range(0, rows, spill.SPILL_ROWS):
                    lf.slice(start, spill.SPILL_ROWS).collect()
    except EarlierRunUnreadable as e:
        return e
    return None


def refuse_links(path: Path) -> None:
    """ValueError where a table's file, or a file of its dataset folder, is a symbolic link: OUT's tables are its
    own files, never read from elsewhere (a link in a folder given to merge, report or export to a file of the
    user's)."""
    if path.is_symlink():
        raise ValueError("a symbolic link, not a file of its own")
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            if any(os.path.islink(os.path.join(root, n)) for n in (*dirs, *files)):
                raise ValueError("holds a symbolic link, not a file of its own")


class EarlierRunUnreadable(store.OutError):
    """What an earlier run left in an output folder cannot be read back (a table file missing or damaged, a report
    this version cannot read)."""


class _Miscounted(ValueError):
    """A table's file holds other rows than report.json counts."""


DAMAGED = "the file is damaged: put back a copy of it, or convert the captures again into a new folder"


@contextmanager
def _earlier(out: Path, file: str) -> Iterator[None]:
    """Reading `file` of the run in `out`: what fails is an `EarlierRunUnreadable`, one line naming the file and
    the problem (and for a file whose contents cannot be read, what to do)."""
    try:
        yield
    except (OSError, ValueError, KeyError, TypeError, AttributeError, pl.exceptions.PolarsError) as e:
        damaged = isinstance(e, _Miscounted)
        if isinstance(e, (OSError, pl.exceptions.PolarsError)):
            cause = store.reason(e)
            damaged = cause is None  # its contents, not the disk (an I/O error) nor a file that cannot be opened
            cause = cause or (str(e).splitlines() or [type(e).__name__])[0]
        elif isinstance(e, (orjson.JSONDecodeError, ValueError)):
            cause = str(e)
        else:  # a key missing, a value of another type: another version's report, or none of databack's
            cause = "not a report this version of databack reads"
        if damaged:
            cause += f"; {DAMAGED}"
        raise EarlierRunUnreadable(f"cannot read the run in {out}: {file}: {cause}") from e


def scan_table(path: Path, schema: dict[str, pl.DataType], partitions: list[str] | None = None) -> pl.LazyFrame:
    """A table's file or partitioned dataset as `schema` declares it: CSV read as text and cast (an all-empty column
    or a 19-digit id keeps its type), Parquet cast alike; a dataset's `partitions` (by default: read from its first
    file's path) of their declared types (`day`: a date). Columns outside `schema` are left out; a column of
    `schema` the file lacks (written by an older databack, before the column was added) is null."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        written = {c: t for c, t in schema.items() if c in header}
        times = [c for c, t in written.items() if t == UTC_TIME]
        lf = pl.scan_csv(path, schema={c: pl.String if t == UTC_TIME else t for c, t in written.items()}, glob=False)
        lf = lf.with_columns(pl.col(times).str.to_datetime(time_unit="us", time_zone="UTC"))
        return lf.select([pl.col(c) if c in written else pl.lit(None, t).alias(c) for c, t in schema.items()])
    if path.is_dir():
        files = dataset_files(path)
        if partitions is None:
            partitions = [p.split("=", 1)[0] for p in files[0].relative_to(path).parts[:-1]] if files else []
        hive = {c: schema.get(c, DAY.dtype) for c in partitions}
        if not files:
            raise ValueError("a dataset folder holding no Parquet file of its own")
        if hive and "=" in str(path):  # polars would read a folder of OUT's path named x=1 as a level too: failed
            lf = pl.concat([pl.scan_parquet(f, glob=False).with_columns(_levels(f, path, hive)) for f in files])
        else:
            lf = pl.scan_parquet(files, hive_partitioning=bool(hive), hive_schema=hive or None, glob=False)
    else:
        lf = pl.scan_parquet(path, glob=False)  # (never a glob: OUT's path may hold [ ], * or ?, as in 'week [2]')
    extra = [pl.col(c) for c in partitions or () if c not in schema]
    written = lf.collect_schema()
    return lf.select([pl.col(c).cast(t) if c in written else pl.lit(None, t).alias(c) for c, t in schema.items()]
                     + extra)


def _levels(file: Path, folder: Path, hive: dict[str, pl.DataType]) -> list[pl.Expr]:
    """The partition levels of a dataset's `file` below `folder` (`participant_id=p%2F7/day=2015-01-08`), of their
    declared types, as polars' hive partitioning reads them: for a folder whose own path holds `=`, where polars
    would take a folder above it (`/lake/site=boston/out`) for a level as well (one scan a file: 20 times slower)."""
    levels = dict(part.split("=", 1) for part in file.relative_to(folder).parts[:-1])
    return [pl.lit(date.fromisoformat(unquote(levels[c])) if t == pl.Date else unquote(levels[c]), t).alias(c)
            for c, t in hive.items()]


def dataset_files(folder: Path) -> list[Path]:
    """The Parquet files of a partitioned dataset's folder, in name order, as pyarrow (pandas) and Spark find them:
    files and folders whose names begin with `.` or `_` are none of its own (macOS's `._x.parquet` on a shared or
    external drive, a `.DS_Store`, `_SUCCESS`, a notebook's `.ipynb_checkpoints` copy)."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        files += [Path(root, n) for n in names if n.endswith(".parquet") and not n.startswith((".", "_"))]
    return sorted(files, key=str)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
