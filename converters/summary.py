"""The lines a run's summary shows a person (on stderr): what was read, what went wrong, every file written."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .terminal import safe


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 row`, `1,234 rows`: a count with thousands separators and its noun in the right number."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def conversion_lines(report: dict[str, Any], out: str) -> list[str]:
    """The summary of a conversion (or merge) written into `out`: one line of totals, one per file that did not
    convert fully, then every file written in OUT as an aligned table (rows, and the copies de-duplication dropped:
    `duplicates` whose every value the row kept holds, `conflicts` differing from it)."""
    t = report["totals"]
    lines = [
        f"databack: {plural(t.get('files', 0), 'file')}, {plural(t.get('exchanges', 0), 'exchange')}: "
        f"{plural(t.get('device_responses', 0), 'device response')} decoded, {t.get('rejects', 0):,} rejected, "
        f"{plural(t.get('http_errors', 0), 'HTTP error')} -> {out}"
    ]
    lines += [f"  {safe(f['file'])}: {f['status']}: {safe(str(f['error']))}"
              for f in report["files"] if f["status"] != "ok"]
    if unknown := sum((Counter(f.get("unknown_fields", {})) for f in report["files"]), Counter()):
        commonest = sorted(unknown.items(), key=lambda item: (-item[1], item[0]))[:3]
        shown = [f"{safe(name)} ({plural(n, 'response')})" for name, n in commonest]
        more = f" and {len(unknown) - 3:,} more" if len(unknown) > 3 else ""
        lines.append(f"  fields databack does not know, in no table: {', '.join(shown)}{more} (see report.json)")
    written = [
        (tab["file"] + ("/" if report.get("partition_by") else ""), tab)
        for tab in report["tables"].values()
        if tab["rows"] and tab["file"]
    ]
    dropped = any(tab["duplicates"] or tab["conflicts"] for _, tab in written)
    width = max([len(name) for name, _ in written] + [len("datapackage.json")])
    rows_width = max([len(f"{tab['rows']:,}") for _, tab in written] + [4])
    header = f"  {'written':<{width}}  {'rows':>{rows_width}}"
    lines.append(header + ("  duplicates  conflicts" if dropped else ""))
    for name, tab in written:
        line = f"  {name:<{width}}  {tab['rows']:>{rows_width},}"
        if dropped:
            line += f"  {_count(tab['duplicates']):>10}  {_count(tab['conflicts']):>9}"
        lines.append(line.rstrip())
    lines += ["  copies.parquet", "  datapackage.json", "  report.json"]
    if dropped:
        lines.append("  (records captured more than once: duplicates are copies whose every value the row kept holds, "
                     "conflicts older copies that differ)")
    return lines


def export_lines(counts: dict[str, int], folder: str) -> list[str]:
    """The summary of an export into `folder`: one line of totals, then every file written with its data points."""
    lines = [f"databack: {plural(sum(counts.values()), 'data point')} in {plural(len(counts), 'file')} -> {folder}"]
    if counts:
        width = max(len(name) for name in counts)
        points_width = max([len(f"{n:,}") for n in counts.values()] + [len("data points")])
        lines.append(f"  {'written':<{width}}  {'data points':>{points_width}}")
        lines += [f"  {name:<{width}}  {n:>{points_width},}" for name, n in counts.items()]
    return lines


def report_lines(page: Any, path: Any, figures: Any, saved: int) -> list[str]:
    """The summary of `databack report`: what the page holds, where it is, and the figures saved."""
    lines = [f"databack: report of {plural(page.participants, 'participant')}, {plural(page.nights, 'night')}, "
             f"{plural(page.runs, 'run or workout', 'runs and workouts')} ({page.size_bytes / 1e6:.1f} MB) -> {path}"]
    if figures:
        lines.append(f"  {plural(saved, 'figure file')} in {figures}")
    lines.append(f"  open it in a browser: {path.resolve().as_uri()}")
    return lines


def _count(n: int) -> str:
    return f"{n:,}" if n else ""
