"""Time `databack convert` against the floor (json.load, a plain FlowReader pass) and the peer (haralyzer).

Every measured thing runs as its own child process (wall time from the parent, peak RSS from GNU time); the
things compared run alternately, `--repeat` rounds each, and ratios are the median of the per-round ratios.
Prints a Markdown table and writes it to bench/results.md as well. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from make_captures import DEVICE_SHARE, MB, describe, ensure, ensure_full_export

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
PY = sys.executable
TIME = "/usr/bin/time"  # GNU time, for the peak RSS of each child
# The environment the commands measured get: as this process found it. polars, once imported (make_year, for the
# report's data), sets _RJEM_MALLOC_CONF to its own allocator settings, which every child would inherit: databack
# then keeps freed memory for half a second rather than returning it (the 200 MB HAR peaked 100 MB higher).
ENV = dict(os.environ)
DATABACK = [PY, "-m", "converters"]
NOTED = [PY, str(ROOT / "bench" / "noted_convert.py")]  # databack, noting when the last file's conversion ended

FLOOR_HAR = """
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    json.load(f)
"""
FLOOR_FLOW = """
import sys
from mitmproxy import io
with open(sys.argv[1], "rb") as f:
    for _ in io.FlowReader(f).stream():
        pass
"""
PEER_HAR = r"""
import json, re, sys
from urllib.parse import urlsplit
from haralyzer import HarParser
device = re.compile(r"prodphs[a-z0-9]*\.dns-cargo\.com|api\.hello\.is")
parser = HarParser.from_file(sys.argv[1])
for page in parser.pages:
    for entry in page.entries:
        if device.fullmatch(urlsplit(entry.url).hostname or ""):
            json.loads(entry.response.text)
"""

# Per endpoint, over the device responses of a HAR: the best of five passes of orjson over their bodies, and of
# databack's schema check over the parsed payloads (what `devices.decode` does before decoding).
SCHEMA_COST = """
import sys, time, orjson
from collections import defaultdict
from pathlib import Path
from converters import devices
from converters.captures import Exchange, read_capture
from converters.hosts import BodyWanted
from converters.validation import validator
bodies = defaultdict(list)
for item in read_capture(Path(sys.argv[1]), wants_body=BodyWanted(())):
    if isinstance(item, Exchange) and (m := devices.match(item.host, item.method, item.path)):
        if devices.decodes(item, m) and m.endpoint.reads == "response" and item.body:
            bodies[m.endpoint.name, m.endpoint.schema].append(item.body)
def best(run):
    times = []
    for _ in range(5):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)
costs = {}
for (name, schema), group in sorted(bodies.items()):
    payloads, check = [orjson.loads(b) for b in group], validator(schema).is_valid
    parse_s = best(lambda: [orjson.loads(b) for b in group])
    check_s = best(lambda: [check(p) for p in payloads])
    costs[name] = {"responses": len(group), "bytes": sum(map(len, group)), "parse_s": parse_s, "check_s": check_s}
sys.stdout.write(orjson.dumps(costs).decode())
"""

# The device responses of a capture, decoded as `convert` does, a stage at a time (the best of three passes each):
# the JSON parse of their bodies, the schema check, and the decoders with the rows made into frames (RowBuffer).
DECODE_COST = """
import sys, time, orjson
from pathlib import Path
from converters import devices
from converters.captures import Exchange, read_capture
from converters.devices.base import Request
from converters.hosts import BodyWanted
from converters.pipeline import RowBuffer
from converters.redaction import source_file
from converters.limits import check_json
from converters.validation import schema_problem
items = []
for item in read_capture(Path(sys.argv[1]), wants_body=BodyWanted(())):
    if isinstance(item, Exchange) and (m := devices.match(item.host, item.method, item.path)):
        if devices.decodes(item, m) and m.endpoint.reads == "response" and item.body:
            request = Request(m.path_params, devices.parse_query(item.query), item.request_body, item.captured_at)
            items.append((item.body, m.endpoint, request))
def best(run):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)
payloads = [orjson.loads(body) for body, _, _ in items]
provenance = {"participant_id": None, "source_file": source_file("x.har"), "source_entry": 0, "captured_at": 0}
def decode():
    rows = RowBuffer()
    for payload, (_, endpoint, request) in zip(payloads, items):
        rows.add(endpoint.decode(payload, request), provenance)
    return sum(p.height for parts in rows.parts().values() for p in parts)
assert all(schema_problem(e.schema, p) is None for p, (_, e, _) in zip(payloads, items))
cost = {
    "responses": len(items), "bytes": sum(len(b) for b, _, _ in items), "rows": decode(),
    "parse_s": best(lambda: [orjson.loads(b) for b, _, _ in items]),
    "limits_s": best(lambda: [check_json(b) for b, _, _ in items]),
    "check_s": best(lambda: [schema_problem(e.schema, p) for p, (_, e, _) in zip(payloads, items)]),
    "decode_s": best(decode),
}
sys.stdout.write(orjson.dumps(cost).decode())
"""

FULL = {"har_mb": 200, "flow_mb": 100, "big_har_mb": 1000, "jobs_mb": 50, "full_export_mb": 200, "repeat": 3}
QUICK = {"har_mb": 20, "flow_mb": 10, "big_har_mb": 0, "jobs_mb": 5, "full_export_mb": 20, "repeat": 2}


@dataclass
class Case:
    """One thing to measure: a child process command line, run `repeat` times."""

    name: str
    argv: list[str]
    convert: bool = False  # a databack conversion: gets a fresh `-o` folder each run
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # user + system time of the process and those it waited for
    tail_s: list[float] = field(default_factory=list)  # from the end of the last file's conversion to the end
    error: str | None = None
    summary: str | None = None  # what the first conversion decoded, from its report.json

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.seconds)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb)


def run_once(case: Case, timeout: float) -> None:
    """Run the case's command once as a child process; record its wall time and peak RSS, or why it failed.

    Peak RSS comes from GNU time, not from this process's wait4: a child spawned from Python starts with the
    parent's peak RSS as its own, which would hide any figure below it.
    """
    with tempfile.TemporaryDirectory(prefix="databack-bench-") as tmp:
        rss_file, stderr_file, out = Path(tmp, "rss"), Path(tmp, "stderr"), Path(tmp, "out")
        argv = [TIME, "-f", "%M %U %S", "-o", str(rss_file), *case.argv, *(["-o", str(out)] if case.convert else [])]
        last_file = Path(tmp, "last-file")
        env = {**ENV, "DATABACK_BENCH_LAST_FILE": str(last_file)}
        with open(stderr_file, "wb") as stderr:
            started = time.perf_counter()
            child = subprocess.Popen(
                argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True, env=env
            )
            killer = threading.Timer(timeout, os.killpg, (child.pid, signal.SIGKILL))
            killer.start()
            child.wait()
            ended = time.time()
            elapsed = time.perf_counter() - started
            killer.cancel()
        if child.returncode == 0 and last_file.exists():
            case.tail_s.append(ended - float(last_file.read_text()))
        report = out / "report.json"
        if child.returncode == 0:
            case.seconds.append(elapsed)
            rss_kb, user_s, system_s = rss_file.read_text().split()[-3:]
            case.rss_mb.append(int(rss_kb) * 1024 / MB)
            case.cpu_s.append(float(user_s) + float(system_s))
            if case.convert and case.summary is None:
                case.summary = _conversion_summary(report)
        elif elapsed >= timeout:
            case.error = f"timed out after {timeout:.0f} s"
        else:
            lines = stderr_file.read_text(errors="replace").strip().splitlines() or ["no output"]
            problems = _file_problems(report) if report.exists() else []
            case.error = f"exit {child.returncode}: {'; '.join(problems) or lines[-1]}"[:200]


def measure(cases: list[Case], repeat: int, timeout: float) -> None:
    """Run the cases alternately (A B C A B C …); a case that fails is not run again."""
    for round_ in range(1, repeat + 1):
        for case in cases:
            if case.error is None:
                print(f"  [{round_}/{repeat}] {case.name}", file=sys.stderr, flush=True)
                run_once(case, timeout)


def side_by_side(a: Case, b: Case) -> float | None:
    """Median over rounds of a's time / b's time (None unless both ran every round)."""
    if not (a.ok and b.ok and len(a.seconds) == len(b.seconds)):
        return None
    return statistics.median(x / y for x, y in zip(a.seconds, b.seconds))


def _file_problems(report_path: Path) -> list[str]:
    """`file: status: error` of each input that did not convert fully."""
    files = orjson.loads(report_path.read_bytes())["files"]
    return [f"{Path(f['file']).name}: {f['status']}: {f['error']}" for f in files if f["status"] != "ok"]


def _conversion_summary(report_path: Path) -> str:
    report = orjson.loads(report_path.read_bytes())
    totals = report["totals"]
    rows = ", ".join(f"{name} {t['rows']:,}" for name, t in report["tables"].items() if t["rows"])
    exchanges, decoded = totals.get("exchanges", 0), totals.get("device_responses", 0)
    return f"{exchanges:,} exchanges, {decoded:,} device responses decoded; rows: {rows}"


class Table:
    """The results: Markdown rows of measurement | median s | peak RSS MB | ratio | target | met?."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []
        self.notes: list[str] = []

    def timing(self, case: Case) -> None:
        if case.ok:
            self.rows.append((case.name, f"{case.median_s:.2f}", f"{case.peak_mb:.0f}", "", "", ""))
        else:
            self.rows.append((case.name, f"failed ({case.error})", "", "", "", ""))
        if case.summary:
            self.notes.append(f"{case.name}: {case.summary}")

    def target(self, name: str, value: float | None, unit: str, target: str, met: bool | None) -> None:
        shown = "n/a" if value is None else f"{value:.0f}{unit}" if unit == " MB" else f"{value:.2f}{unit}"
        shown = f"{value:.1f}{unit}" if value is not None and unit == " %" else shown
        verdict = "n/a" if value is None or met is None else ("yes" if met else "NO")
        self.rows.append((name, "", "", shown, target, verdict))

    def markdown(self) -> str:
        header = ("measurement", "median s", "peak RSS MB", "ratio", "target", "met?")
        lines = [header, ("---",) * len(header), *self.rows]
        return "\n".join("| " + " | ".join(row) + " |" for row in lines)


def bench_har(args, table: Table) -> None:
    har = ensure("har", args.har_mb, args.seed)
    table.notes.append(f"capture {describe(har)}")
    label = f"HAR {args.har_mb:g} MB"
    floor = Case(f"{label}: json.load (floor)", [PY, "-c", FLOOR_HAR, str(har)])
    peer = Case(f"{label}: haralyzer pages/entries + json.loads (peer)", [PY, "-c", PEER_HAR, str(har)])
    databack = Case(f"{label}: databack convert", [*DATABACK, "convert", str(har)], convert=True)
    measure([floor, peer, databack], args.repeat, args.timeout)
    for case in (floor, peer, databack):
        table.timing(case)
    vs_floor, vs_peer = side_by_side(databack, floor), side_by_side(databack, peer)
    table.target(f"{label}: databack / floor", vs_floor, "x", "<= 1.5x", vs_floor is not None and vs_floor <= 1.5)
    table.target(f"{label}: databack / peer", vs_peer, "x", "<= 0.6x", vs_peer is not None and vs_peer <= 0.6)
    peak = databack.peak_mb if databack.ok else None
    table.target(f"{label}: databack peak RSS", peak, " MB", "<= 200 MB", peak is not None and peak <= 200)
    if not args.big_har_mb:
        return
    big_har = ensure("har", args.big_har_mb, args.seed)
    table.notes.append(f"capture {describe(big_har)}")
    big = Case(f"HAR {args.big_har_mb:g} MB: databack convert", [*DATABACK, "convert", str(big_har)], convert=True)
    measure([big], args.repeat, args.timeout)
    table.timing(big)
    growth = big.peak_mb / peak if big.ok and peak else None
    table.target(f"HAR {args.big_har_mb:g} MB: databack peak RSS / {label}'s", growth, "x", "<= 1.25x",
                 growth is not None and growth <= 1.25)


def bench_flow(args, table: Table) -> None:
    flow = ensure("flow", args.flow_mb, args.seed)
    table.notes.append(f"capture {describe(flow)}")
    label = f"Flow {args.flow_mb:g} MB"
    floor = Case(f"{label}: FlowReader.stream() (floor)", [PY, "-c", FLOOR_FLOW, str(flow)])
    databack = Case(f"{label}: databack convert", [*DATABACK, "convert", str(flow)], convert=True)
    measure([floor, databack], args.repeat, args.timeout)
    table.timing(floor)
    table.timing(databack)
    ratio = side_by_side(databack, floor)
    table.target(f"{label}: databack / floor", ratio, "x", "<= 0.5x", ratio is not None and ratio <= 0.5)


def bench_jobs(args, table: Table) -> None:
    """Many files: --jobs 1 against --jobs N, and the serial tail of each (the reduce, the writing and the exit, after
    the last file's conversion ended) over the --jobs 1 time: the serial fraction, which bounds any number of cores
    (Amdahl: at most 5 % for 10x on 16 cores)."""
    kinds = ("har", "flow") if args.jobs_kind == "mixed" else (args.jobs_kind,)
    files = [str(ensure(kinds[i % len(kinds)], args.jobs_mb, args.seed + 1 + i, device_share=args.device_share))
             for i in range(args.jobs_files)]
    what = "4 HAR, 4 flow" if args.jobs_kind == "mixed" and args.jobs_files == 8 else args.jobs_kind
    share = "" if args.device_share == DEVICE_SHARE else f", {args.device_share:.0%} device bytes"
    label = f"{args.jobs_files} x {args.jobs_mb:g} MB ({what}{share})"
    n = args.jobs_n or max(2, os.cpu_count() or 1)
    one = Case(f"{label}: databack convert --jobs 1", [*NOTED, "convert", *files, "--jobs", "1"], convert=True)
    many = Case(f"{label}: databack convert --jobs {n}", [*NOTED, "convert", *files, "--jobs", str(n)], convert=True)
    measure([one, many], args.repeat, args.timeout)
    table.timing(one)
    table.timing(many)
    speedup = side_by_side(one, many)
    table.target(f"{label}: speed-up of --jobs {n}", speedup, "x", ">= 10x on 16 cores" if n >= 16 else "",
                 speedup >= 10 if speedup is not None and n >= 16 else None)
    for case in (one, many):
        if case.tail_s:
            tail = statistics.median(case.tail_s)
            table.rows.append((f"{case.name}: after the last file (reduce, write, exit)", f"{tail:.2f}", "", "", "", ""))
    if one.ok and many.ok and len(many.tail_s) == len(one.seconds):
        fraction = statistics.median(t / s for t, s in zip(many.tail_s, one.seconds))
        table.target(f"{label}: serial fraction (--jobs {n}'s time after the last file / --jobs 1 time)",
                     100 * fraction, " %", "<= 5 %", fraction <= 0.05)
        busy = statistics.median(c / s for c, s in zip(one.cpu_s, one.seconds))
        table.rows.append((f"{label}: cores kept busy by --jobs 1 (CPU s / wall s)", "", "", f"{busy:.2f}", "", ""))
        table.rows.append((f"{label}: CPU s of --jobs {n} / --jobs 1", "", "", f"{side_by_side_cpu(many, one):.2f}x",
                           "", ""))
    if n == 2:
        bench_cores(args, table)


def side_by_side_cpu(a: Case, b: Case) -> float:
    return statistics.median(x / y for x, y in zip(a.cpu_s, b.cpu_s))


# Two equal pure-Python loops in a pool of 1 or 2 processes: what the machine's cores give to any parallel work.
CORES = """
import sys
from multiprocessing import get_context
def loop(n):
    x = 0
    for i in range(n):
        x += i
if __name__ == "__main__":
    with get_context("fork").Pool(int(sys.argv[1])) as pool:
        pool.map(loop, [30_000_000, 30_000_000])
"""


def bench_cores(args, table: Table) -> None:
    """The ceiling for --jobs 2: how much faster two processes run two equal CPU-bound loops than one process."""
    one = Case("2 CPU-bound loops, 1 process", [PY, "-c", CORES, "1"])
    two = Case("2 CPU-bound loops, 2 processes", [PY, "-c", CORES, "2"])
    measure([one, two], args.repeat, args.timeout)
    ceiling = side_by_side(one, two)
    shown = "n/a" if ceiling is None else f"{ceiling:.2f}x"
    table.rows.append(("speed-up of 2 processes on 2 CPU-bound loops (the ceiling for --jobs 2)", "", "", shown, "", ""))


def bench_schema(args, table: Table) -> None:
    """The schema check must cost less than the JSON parse: per endpoint, over the device responses of the HAR."""
    har = ensure("har", args.har_mb, args.seed)
    print("  schema check and JSON parse of each device response", file=sys.stderr, flush=True)
    try:
        child = subprocess.run([PY, "-c", SCHEMA_COST, str(har)], cwd=ROOT, capture_output=True, timeout=args.timeout)
        lines = child.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        why = None if child.returncode == 0 else f"exit {child.returncode}: {lines[-1]}"
    except subprocess.TimeoutExpired:
        why = f"timed out after {args.timeout:.0f} s"
    if why:
        label = f"HAR {args.har_mb:g} MB: schema check / JSON parse"
        table.rows.append((label, f"failed ({why[:200]})", "", "", "", ""))
        return
    for name, cost in orjson.loads(child.stdout).items():
        ratio = cost["check_s"] / cost["parse_s"]
        label = f"HAR {args.har_mb:g} MB: schema check / JSON parse, {name} ({cost['responses']} responses, "
        table.target(f"{label}{cost['bytes'] / MB:.0f} MB)", ratio, "x", "< 1x", ratio < 1)


def bench_full_export(args, table: Table) -> None:
    """A full export (most of its bytes device responses, every long-array endpoint; issue 20): its HAR against
    json.load and haralyzer, its flow dump (the same exchanges) against a FlowReader pass, side by side in the same
    rounds, and the decoding of its device responses per MB of their bodies."""
    har, flow = ensure_full_export(args.full_export_mb, args.seed)
    table.notes.append(f"capture {describe(har)}")
    table.notes.append(f"capture {describe(flow)}")
    label = f"Full export {args.full_export_mb:g} MB"
    har_floor = Case(f"{label} HAR: json.load (floor)", [PY, "-c", FLOOR_HAR, str(har)])
    har_peer = Case(f"{label} HAR: haralyzer pages/entries + json.loads (peer)", [PY, "-c", PEER_HAR, str(har)])
    har_databack = Case(f"{label} HAR: databack convert", [*DATABACK, "convert", str(har)], convert=True)
    flow_floor = Case(f"{label} flow: FlowReader.stream() (floor)", [PY, "-c", FLOOR_FLOW, str(flow)])
    flow_databack = Case(f"{label} flow: databack convert", [*DATABACK, "convert", str(flow)], convert=True)
    cases = [har_floor, har_peer, har_databack, flow_floor, flow_databack]
    measure(cases, args.repeat, args.timeout)
    for case in cases:
        table.timing(case)
    vs_floor, vs_peer = side_by_side(har_databack, har_floor), side_by_side(har_databack, har_peer)
    table.target(f"{label} HAR: databack / floor", vs_floor, "x", "<= 1.3x", vs_floor is not None and vs_floor <= 1.3)
    table.target(f"{label} HAR: databack / peer", vs_peer, "x", "<= 0.5x", vs_peer is not None and vs_peer <= 0.5)
    for case in (har_databack, flow_databack):
        peak = case.peak_mb if case.ok else None
        table.target(f"{case.name}: peak RSS", peak, " MB", "<= 200 MB", peak is not None and peak <= 200)
    ratio = side_by_side(flow_databack, flow_floor)
    table.target(f"{label} flow: databack / floor", ratio, "x", "<= 0.5x", ratio is not None and ratio <= 0.5)
    for case, floor in ((har_databack, har_floor), (flow_databack, flow_floor)):  # what a shared machine hides
        if case.ok and floor.ok:
            mine, floors = statistics.median(case.cpu_s), statistics.median(floor.cpu_s)
            cpu = f"CPU s (user + sys): databack {mine:.2f}, floor {floors:.2f}"
            table.rows.append((f"{case.name}: {cpu}", "", "", f"{side_by_side_cpu(case, floor):.2f}x", "(context)", ""))
    print("  decoding of the device responses, a stage at a time", file=sys.stderr, flush=True)
    try:
        child = subprocess.run([PY, "-c", DECODE_COST, str(har)], cwd=ROOT, capture_output=True, timeout=args.timeout)
        lines = child.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        why = None if child.returncode == 0 else f"exit {child.returncode}: {lines[-1]}"
    except subprocess.TimeoutExpired:
        why = f"timed out after {args.timeout:.0f} s"
    if why:
        table.rows.append((f"{label}: decoding per MB of device bodies", f"failed ({why[:200]})", "", "", "", ""))
        return
    cost = orjson.loads(child.stdout)
    mb = cost["bytes"] / MB
    what = f"{label}: per MB of device bodies ({cost['responses']:,} responses, {mb:.0f} MB, {cost['rows']:,} rows)"
    stages = (("limits_s", "JSON depth and values bound (limits.check_json)"), ("parse_s", "JSON parse"),
              ("check_s", "schema check"), ("decode_s", "decoders to frames"))
    for stage, name in stages:
        if stage in cost:
            table.rows.append((f"{what}: {name}", f"{cost[stage] / mb:.4f}", "", "", "", ""))
    ratio = cost["check_s"] / cost["parse_s"]
    table.target(f"{label}: schema check / JSON parse of the device bodies", ratio, "x", "< 1x", ratio < 1)


def bench_help(args, table: Table) -> None:
    typer = Case('python -c "import typer"', [PY, "-c", "import typer"])
    databack = Case("databack --help", [*DATABACK, "--help"])
    measure([typer, databack], args.repeat * 5, args.timeout)  # short runs: five times as many rounds
    table.timing(typer)
    table.timing(databack)
    ratio = side_by_side(databack, typer)
    table.target("databack --help / import typer", ratio, "x", "<= 1.5x", ratio is not None and ratio <= 1.5)


def bench_report(args, table: Table) -> None:
    """The HTML report of a year of one participant's data (bench/make_year.py): its time and its size."""
    from make_year import ensure_year  # loads polars

    out = ensure_year(args.seed)
    page = out.parent / f"{out.name}-report.html"
    table.notes.append(f"report of {out.relative_to(ROOT)}: " + _conversion_summary(out / "report.json").split("; ")[1])
    label = "a year of one participant's data"
    case = Case(f"{label}: databack report", [*DATABACK, "report", str(out), "-o", str(page)])
    measure([case], args.repeat, args.timeout)
    table.timing(case)
    size = page.stat().st_size / MB if case.ok else None
    table.target(f"{label}: report.html", size, " MB", "<= 20 MB", size is not None and size <= 20)


BENCHES = {"har": bench_har, "schema": bench_schema, "flow": bench_flow, "full": bench_full_export, "jobs": bench_jobs,
           "help": bench_help, "report": bench_report}


def drop_polars_from_page_cache() -> str:
    """polars' shared libraries dropped from the page cache (`posix_fadvise`, where no process maps them), to be read
    back from disk by the first command measured, so that every run of the bench starts from the same state. A
    library pip has just written sits in large page-cache folios, and a process maps a whole folio (up to 1 MiB on
    this machine's kernel) wherever it touches the code: right after `make install` a conversion's peak RSS counts
    some 25-35 MB more of polars' code than once the library has been read back (bench/README: the peak of one file).
    Returns what was done, for the results' header."""
    import importlib.util

    spec = importlib.util.find_spec("polars")  # (not imported: this process would map the library)
    if spec is None or spec.origin is None or not hasattr(os, "posix_fadvise"):
        return "left as it was"
    dropped = 0
    for library in Path(spec.origin).parent.parent.glob("*polars*/**/*.so"):
        with open(library, "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        dropped += library.stat().st_size
    return f"dropped {dropped / MB:.0f} MB of polars' libraries before measuring" if dropped else "left as it was"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit, dirty = (
        subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        for command in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain"])
    )
    return (
        f"nproc {os.cpu_count()}, {memory:.0f} GiB RAM, Python {platform.python_version()}, {platform.platform()}; "
        f"databack at {commit or '?'}{' with uncommitted changes' if dirty else ''}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    quick = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items())
    parser.add_argument("--quick", action="store_true", help=f"a fast sanity run: {quick}")
    parser.add_argument("--har-mb", type=float, help=f"HAR size (default {FULL['har_mb']})")
    parser.add_argument("--flow-mb", type=float, help=f"flow dump size (default {FULL['flow_mb']})")
    big_default = FULL["big_har_mb"]
    parser.add_argument("--big-har-mb", type=float, help=f"HAR for memory growth, 0: skip (default {big_default})")
    parser.add_argument("--jobs-mb", type=float, help=f"each capture of the many-files run (default {FULL['jobs_mb']})")
    parser.add_argument("--full-export-mb", type=float,
                        help=f"the full export's HAR; its flow dump: the same exchanges (default {FULL['full_export_mb']})")
    parser.add_argument("--jobs-files", type=int, default=8, help="captures of the many-files run (default 8)")
    parser.add_argument("--jobs-kind", choices=("mixed", "har", "flow"), default="mixed",
                        help="HAR and flow dumps alternately (the default), or one kind")
    parser.add_argument("--jobs-n", type=int, help="--jobs of the parallel run (default: the cores, at least 2)")
    parser.add_argument("--device-share", type=float, default=DEVICE_SHARE,
                        help=f"of the response body bytes in the many-files captures (default {DEVICE_SHARE})")
    parser.add_argument("--repeat", type=int, help=f"runs of each measurement (default {FULL['repeat']})")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated captures")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a child process is killed")
    args = parser.parse_args()
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    if unknown := set(args.only) - set(BENCHES):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    args = parse_args()
    if not os.access(TIME, os.X_OK):
        sys.exit(f"bench: needs GNU time at {TIME} for peak memory (Debian: apt-get install time)")
    page_cache = drop_polars_from_page_cache()
    table = Table()
    for group in BENCHES:
        if group in args.only:
            print(f"{group}:", file=sys.stderr, flush=True)
            BENCHES[group](args, table)
    report = "\n".join([
        "# databack benchmark",
        "",
        f"Command: `{shlex.join(sys.orig_argv)}`  ",
        f"Machine: {machine()}  ",
        f"Page cache: {page_cache}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}; {args.repeat} runs of each measurement, medians; "
        "ratios are medians of per-round ratios (help: 5x as many rounds); MB = 10^6 bytes.",
        "",
        table.markdown(),
        "",
        *(f"- {note}" for note in table.notes),
    ])
    print(report)
    RESULTS.write_text(report + "\n")


if __name__ == "__main__":
    main()
