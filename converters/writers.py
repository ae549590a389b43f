"""Writing a conversion: one Parquet or CSV file per table that has rows, and `report.json`, all atomically."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator, Literal

import orjson

from . import __version__
from .convert import Conversion
from .tables import TABLES

OutputFormat = Literal["parquet", "csv"]


def report(conversion: Conversion, written: dict[str, Path]) -> dict[str, Any]:
    """The machine-readable report: totals, per table, per input file."""
    files = [f.as_dict() for f in conversion.files]
    totals: Counter[str] = Counter()
    for f in conversion.files:
        totals["files"] += 1
        totals[f"files_{f.status}"] += 1
        totals["exchanges"] += f.exchanges
        totals["device_responses"] += f.device_responses.total()
        totals["rejects"] += f.rejects
        totals["http_errors"] += f.http_errors.total()
        totals["auth"] += f.auth
        totals["undecoded_device_paths"] += f.undecoded_device_paths.total()
        totals["not_device"] += f.not_device
    return {
        "databack_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "valid": conversion.ok,
        "totals": dict(totals),
        "tables": {
            name: {
                "rows": conversion.tables[name].height if name in conversion.tables else 0,
                "duplicates": conversion.duplicates[name],
                "conflicts": conversion.conflicts[name],
                "file": written[name].name if name in written else None,
            }
            for name in TABLES
        },
        "files": files,
    }


def write(conversion: Conversion, out: Path, fmt: OutputFormat = "parquet") -> dict[str, Any]:
    """Write the tables and report into `out`; returns the report. Table files of earlier runs that this run
    has no rows for are removed, so `out` always shows one run."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, df in conversion.tables.items():
        path = out / f"{name}.{fmt}"
        with _atomic(path) as tmp:
            df.write_parquet(tmp) if fmt == "parquet" else df.write_csv(tmp)
        written[name] = path
    for name in TABLES:
        for ext in ("parquet", "csv"):
            stale = out / f"{name}.{ext}"
            if stale not in written.values() and stale.exists():
                stale.unlink()
    result = report(conversion, written)
    with _atomic(out / "report.json") as tmp:
        tmp.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return result


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only once written completely."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
