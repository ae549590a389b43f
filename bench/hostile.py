"""Peak memory of `databack convert`, `inspect` and `scrub` on hostile captures (issue 14's resource budget).

Each case (tests/hostile_cases.py, at the issue's sizes) is built once into `--cases DIR`, then every command runs
on it as its own child process, and its peak RSS (and that of every process it waited for: `os.wait4`) is
reported. With `--before CHECKOUT`, the same commands also run on another checkout of databack (e.g. main before
the budget: `git worktree add /tmp/before-14 d373f8a`) with this interpreter, under an address-space cap
(`--cap-gb`, default 4) and a time-out, so that a case that would take 12 GB is killed instead of the machine.
Prints a Markdown table and writes it to bench/hostile.md. `make hostile` runs it. Not a test: it measures, and
says whether every case stayed below `--target-mb` (1000) with the default limits.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile_cases as H  # noqa: E402

GiB = 1 << 30


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    build: object  # Path -> Path
    commands: tuple[str, ...] = ("convert", "inspect", "scrub")
    extra: tuple[str, ...] = ()  # convert's extra options


CASES = [
    *(Case(f"{enc} bomb in a flow (1 GiB of zeros)", f"bomb-{enc}.flow",
           lambda p, enc=enc: H.flow_bomb(p, enc, GiB)) for enc in ("br", "zstd", "gzip", "deflate")),
    Case("base64 gzip bomb in a HAR (1 GiB)", "bomb.har", lambda p: H.har_bomb(p, GiB)),
    Case("HAR _custom nested 100,000 levels", "deep-custom.har", lambda p: H.har_deep_custom(p, 100_000)),
    Case("device body nested 100,000 levels", "deep-body.har", lambda p: H.har_deep_body(p, 100_000)),
    Case("--generic body nested 990 levels", "deep-generic.har",
         lambda p: H.har_deep_body(p, 990, "https://api.example.org/v1/things"), ("convert",),
         ("--generic", "api.example.org")),
    Case("saved .json nested 100,000 levels", "deep.json", lambda p: H.saved_deep(p, 100_000), ("convert",)),
    Case("body of 20 million JSON values (60 MB, in gzip)", "wide.har", lambda p: H.har_many_values(p, 20_000_000)),
    Case("body of 1.5 million JSON values, plain (3 MB)", "values.har", lambda p: H.har_plain_values(p, 1_500_000)),
    Case("60 MB text body in gzip, under every limit", "big-text.flow", lambda p: H.flow_big_text(p, 60 << 20)),
    Case("bogus length prefix after a good flow", "bogus.flow", lambda p: H.bogus_prefix(p)),
    Case("HAR _custom nested 100,000 levels in the last entry", "deep-custom-last.har",
         lambda p: H.har_deep_custom(p, 100_000, last=True)),
    Case("HAR _custom of 8 million nested arrays (16 MB)", "deep-brackets.har",
         lambda p: H.har_deep_brackets(p, 8_000_000)),
    Case("lone surrogate in a device response's header", "surrogate.har",
         lambda p: H.har_replaced(p, "headers", '[{"name": "X", "value": "a\\udc80"}]')),
    Case("10**400 as an entry's status", "huge-status.har", lambda p: H.har_replaced(p, "status", "1" + "0" * 400)),
    Case("one entry of 2 x 400,000 headers (51 MB)", "many-headers.har", lambda p: H.har_many_headers(p, 400_000)),
    # the third round's (r3-): what the second round fixed, and its own
    Case("gzipped HAR, 512 MiB of whitespace between entries", "r3-whitespace.har.gz",
         lambda p: H.compressed_capture(p, "har.gz", 512 << 20)),
    Case("gzipped dump, 16 flows of 64 MiB of zeros (1 GiB)", "r3-zeros.flow.gz", lambda p: H.flow_gz_zeros(p, 16, 64 << 20)),
    Case("gzipped HAR, one string of 512 MiB (escapes)", "r3-long-string.har.gz",
         lambda p: H.har_gz_long_string(p, 512 << 20)),
    Case("HAR, a URL nested 25 levels in its parameters, 2 KB of URLs in URLs", "r3-nested.har",
         lambda p: H.har_nested_text(p, 25)),
    Case("HAR, a Band response of 1 MiB of digits", "r3-digits.har", lambda p: H.har_device_text(p, "9" * (1 << 20))),
    Case("HAR, a Band response of 1 MiB of eyJeyJ…", "r3-eyj.har", lambda p: H.har_device_text(p, "eyJ" * 349_526)),
    Case("HAR, a Band response of 1 MiB of Aaaa…-Aaaa…- and one =", "r3-runs.har",
         lambda p: H.har_device_text(p, ("Aaaaaaaaaaaaaaaaaaaaaaa-" * 43_691)[: 1 << 20] + "=1")),
    Case("HAR, Band events of 900,000 nulls (5.4 MB)", "r3-nulls.har", lambda p: H.har_many_nulls(p, 900_000)),
    Case("HAR, NaN as a response's status", "r3-nan.har", lambda p: H.har_replaced(p, "status", "NaN")),
    Case("dump of 300,000 empty frames", "r3-frames.flow", lambda p: H.empty_frames(p, 300_000)),
    # the fourth round's (r4-)
    Case("gzipped HAR, a Band response of one string of 512 MiB of \\u0001 escapes", "r4-long-escapes.har.gz",
         lambda p: H.har_gz_long_string(p, 512 << 20, H.BAND_EVENTS, b"\\u0001")),
    Case("HAR, an entry nested too deep holding 60,000 objects that begin as entries do (1.4 MB)",
         "r4-entry-like.har", lambda p: H.har_entry_like_objects(p, 60_000)),
    Case("dump, a request's Host header after 200,000 others", "r4-host-last.flow",
         lambda p: H.flow_host_last(p, 200_000)),
    Case("gzipped HAR, a response of one string of 150 MiB of escaped emoji (\\ud83d\\ude00)", "r4-emoji.har.gz",
         lambda p: H.har_gz_long_string(p, 150 << 20, text=b"\\ud83d\\ude00")),
    # the fifth round's (r5-)
    Case("gzipped tar of 500 members of 50 KB (junk) and a HAR", "r5-many.tar.gz",
         lambda p: H.tar_many_members(p, 500, 50_000)),
    Case("flow, a body of 60 MiB in gzip, gzip, gzip (729 bytes, each coding within --max-ratio)", "r5-layered.flow",
         lambda p: H.flow_layered(p, ["gzip", "gzip", "gzip"], 60 << 20)),
    Case("gzipped tar, a GNU long name of 1 GiB", "r5-long-name.tar.gz", lambda p: H.tar_long_name(p, GiB)),
    Case("gzipped tar, 5,000 GNU long names in a row", "r5-name-chain.tar.gz", lambda p: H.tar_name_chain(p, 5_000)),
    Case("gzipped tar, a global pax header of 107,000 keywords and 300 members", "r5-global-pax.tar.gz",
         lambda p: H.tar_global_pax(p, 107_000, 300)),
    Case("gzipped tar, a sparse member's map of 400,000 blocks (200 MB)", "r5-sparse.tar.gz",
         lambda p: H.tar_sparse_map(p, 400_000)),
    # the sixth round's (r6-)
    Case("gzipped dump, a WebSocket flow of 2 million one-byte messages (113 MB)", "r6-messages.flow.gz",
         lambda p: H.flow_many_messages(p, 2_000_000)),
    Case("dump, a Band flow whose metadata is nested 100,000 levels, first of its layout", "r6-deep-metadata.flow",
         lambda p: H.flow_deep_metadata(p, 100_000)),
    Case("zip declaring 1 entry, its directory listing a million (58 MB)", "r6-directory.zip",
         lambda p: H.zip_declaring(p, 1_000_000, 1)),
    Case("gzipped HAR, one entry of 2 x 1.5 million headers (87 MB) between two Band entries", "r6-entry-values.har.gz",
         lambda p: H.har_many_headers(p, 1_500_000, "middle")),
    # the seventh round's (r7-)
    Case("dump, a Band response of a 16 MiB HTML tag holding one long word, gzipped", "r7-long-tag.flow",
         lambda p: H.flow_text_body(p, H.long_tag(16 << 20))),
    Case("dump, a Band response of 'password is' and 16 MiB of spaces and tabs, gzipped", "r7-tabs.flow",
         lambda p: H.flow_text_body(p, H.spaces_after_is(16 << 20))),
    Case("HAR, 15 MiB of empty arrays in the first entry's _custom field (within a run)", "r7-lists.har",
         lambda p: H.har_custom_of(p, "[" + "[]," * ((15 << 20) // 3) + "[]]")),
]


@dataclass
class Run:
    peak_mb: float | None
    seconds: float
    code: int | None  # None: killed (time-out or signal)
    said: str  # the line that tells the outcome


def measure(argv: list[str], env: dict[str, str], cap_bytes: int | None, timeout: float, cwd: Path) -> Run:
    """Run `argv` in `cwd` (not a checkout, whose converters/ would shadow PYTHONPATH's), capped, and return its peak
    RSS (os.wait4: the largest of it and of the children it waited for)."""
    def cap() -> None:
        if cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=err, stderr=err, env=env, preexec_fn=cap,
                                 cwd=cwd)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = [line for line in err.read().decode(errors="replace").splitlines() if line.strip()]
    code = child.returncode if child.returncode >= 0 else None
    said = _outcome(lines, code, cap_bytes)
    return Run(usage.ru_maxrss / 1024, seconds, code, said)


def _outcome(lines: list[str], code: int | None, cap_bytes: int | None) -> str:
    """What the run says about the file: its line of the summary (or scrub's, or inspect's), or how it died."""
    text = "\n".join(lines)
    if code is None:
        return "killed (time-out)"
    if "memory allocation" in text or "MemoryError" in text and "internal error" not in text:
        return "out of memory: " + ("a Rust panic" if "memory allocation" in text else "a MemoryError traceback")
    for line in lines:
        if any(word in line for word in (": partial", ": failed", ": ok", "internal error", "partial ", "failed ")):
            return " ".join(line.split())[:160]
    return f"exit {code}" + (f": {lines[-1].strip()[:120]}" if lines else "")


def command(cmd: str, case: Case, path: Path, scratch: Path) -> list[str]:
    if cmd == "convert":
        return ["convert", str(path), "-o", str(scratch / "out"), "--jobs", "1", *case.extra]
    if cmd == "inspect":
        return ["inspect", str(path), "--jobs", "1"]
    return ["scrub", str(path), "-o", str(scratch / f"copy-{path.name}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=Path(tempfile.gettempdir()) / "databack-hostile")
    parser.add_argument("--before", type=Path, help="another checkout of databack to measure too (run capped)")
    parser.add_argument("--cap-gb", type=float, default=4.0, help="address-space cap of the --before runs")
    parser.add_argument("--after", type=Path, default=ROOT, help="the checkout to measure [default: this one]")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--before-timeout", type=float, default=60.0, help="seconds per --before run")
    parser.add_argument("--target-mb", type=float, default=1000.0)
    parser.add_argument("--only", help="cases whose file name contains this")
    args = parser.parse_args()

    args.cases.mkdir(parents=True, exist_ok=True)
    cases = [c for c in CASES if not args.only or args.only in c.file]
    rows = []
    for case in cases:
        path = args.cases / case.file
        if not path.exists():
            print(f"building {case.file}", file=sys.stderr)
            case.build(path)  # type: ignore[operator]
        for cmd in case.commands:
            runs = {}
            for label, checkout in (("before", args.before), ("after", args.after)):
                if checkout is None:
                    continue
                env = {**os.environ, "PYTHONPATH": str(checkout)}
                with tempfile.TemporaryDirectory() as scratch:
                    argv = [sys.executable, "-m", "converters", *command(cmd, case, path, Path(scratch))]
                    cap = int(args.cap_gb * GiB) if label == "before" else None
                    timeout = args.before_timeout if label == "before" else args.timeout
                    runs[label] = measure(argv, env, cap, timeout, Path(scratch))
                print(f"{case.file} {cmd} {label}: {runs[label]}", file=sys.stderr)
            rows.append((case, cmd, path.stat().st_size, runs))
    table = render(rows, args)
    print(table)
    (ROOT / "bench" / "hostile.md").write_text(table + "\n")


def _mb(run: Run | None, cap_gb: float) -> str:
    if run is None:
        return "n/a"
    if run.code is None:
        return f"killed after {run.seconds:.0f} s at {run.peak_mb:,.0f} MB"
    if run.peak_mb and run.peak_mb > 0.75 * cap_gb * 1024:
        return f"{run.peak_mb:,.0f} MB: stopped at the {cap_gb:.0f} GB cap"
    return f"{run.peak_mb:,.0f} MB, {run.seconds:,.1f} s"


def _said(run: Run | None) -> str:
    return "" if run is None else run.said.replace("|", "/").replace(str(Path(tempfile.gettempdir())) + "/", "")


def render(rows: list, args: argparse.Namespace) -> str:
    commit = subprocess.run(["git", "-C", str(args.after), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = [
        "# Hostile captures: peak memory",
        "",
        f"`{' '.join(['bench/hostile.py', *sys.argv[1:]])}` on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_version()}), commit {commit}. Peak RSS of the command and the processes it waited for "
        f"(`os.wait4`); each `convert` with `--jobs 1`.",
    ]
    if args.before:
        lines.append(f"`before`: {args.before}, capped at {args.cap_gb:.0f} GB of address space and "
                     f"{args.before_timeout:.0f} s; `after`: {args.after}.")
    lines += ["", "| case | file | command | before | before: what it says | after | after: what it says |",
              "|---|---|---|---|---|---|---|"]
    worst = 0.0
    for case, cmd, size, runs in rows:
        after = runs.get("after")
        worst = max(worst, after.peak_mb or 0) if after else worst
        before = runs.get("before")
        lines.append(f"| {case.name} | {size:,} B | `{cmd}` | {_mb(before, args.cap_gb)} | {_said(before)} | "
                     f"{_mb(after, args.cap_gb)} | {_said(after)} |")
    met = "met" if worst < args.target_mb else "NOT met"
    lines += ["", f"Largest peak after: {worst:,.0f} MB; target below {args.target_mb:,.0f} MB: {met}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
