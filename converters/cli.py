"""The `databack` command line: parse options, call the library, print. No decoding happens here."""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys
from contextlib import contextmanager, nullcontext
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, NoReturn, Optional, get_type_hints

import typer
import typer.core

from .limits import DEFAULT as LIMITS
from .limits import RATIO_FLOOR, Limits, parse_size, size_text
from .terminal import safe, safe_json, safe_lines

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich costs more than the rest of start-up
)


class _Command(typer.core.TyperCommand):
    """A command whose usage line names its arguments as the README does (`PATH...`, not typer's `{PATH...}`)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in super().collect_usage_pieces(ctx)]


class OutputFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"databack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Get your data back: convert HAR and mitmproxy captures of Microsoft Band and Hello Sense traffic into tables."""


OUT = Annotated[
    Path, typer.Option("--out", "-o", metavar="OUT", help="Folder to write the tables, report.json and datapackage.json.")
]
FORMAT = Annotated[OutputFormat, typer.Option("--format", "-f", metavar="parquet|csv", help="Table file format.")]
PARTITION_BY = Annotated[
    Optional[list[str]],
    typer.Option(
        "--partition-by",
        metavar="COLUMNS",
        help="Write Hive-partitioned Parquet datasets by participant_id, night and/or day (comma-separated).",
    ),
]
JSON = Annotated[bool, typer.Option("--json", help="Also print the report (report.json) to stdout.")]
DEBUG = Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error (a bug in databack).")]
SCHEDULER = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        envvar="DASK_SCHEDULER_ADDRESS",
        metavar="ADDRESS",
        help="Run on this Dask cluster (tcp://HOST:8786; needs databack[dask]): OUT and the inputs on a file system "
        "its workers share.",
    ),
]
WAIT = Annotated[
    bool, typer.Option("--wait", help="If another databack run is writing OUT, wait until it ends (else stop at once).")
]


def _not_negative(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise typer.BadParameter(f"{value} is not a number of seconds (0 or more)")
    return value


WAIT_TIMEOUT = Annotated[
    Optional[float],
    typer.Option(
        "--wait-timeout",
        metavar="SECONDS",
        callback=_not_negative,
        help="Wait for another run at most this many seconds (implies --wait).",
    ),
]


def _at_least_one(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is not a number of processes (1 or more)")
    return value


JOBS = Annotated[
    Optional[int],
    typer.Option(
        "--jobs", "-j", metavar="N", callback=_at_least_one,
        help="Files read in N processes at once [default: the cores this process may use].",
    ),
]


def _size(value: str | None) -> int | None:
    try:
        return None if value is None else parse_size(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def _positive(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is not a limit (1 or more)")
    return value


def _levels(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 1000:
        raise typer.BadParameter(f"{value} is not a depth from 1 to 1000 (1024 levels is as deep as JSON is parsed)")
    return value


def _option(name: str, metavar: str, check: Callable, help: str) -> Any:
    return Annotated[Optional[str if check is _size else int], typer.Option(
        name, metavar=metavar, callback=check, show_default=False, help=help)]


# The resource budget (converters/limits.py): its options, defined once here, on every command that reads captures
# (`_with_limits`), each named after the limit it sets (`limits.LIMIT_OPTIONS`).
LIMIT_OPTIONS = {
    "max_body": _option(
        "--max-body", "SIZE", _size, "Largest body once decompressed or decoded, e.g. 512MiB; a flow may hold 4 times "
        f"it [default: {size_text(LIMITS.max_body)}].",
    ),
    "max_ratio": _option(
        "--max-ratio", "N", _positive, "How many times its compressed size a body, an archive member or a compressed "
        f"tar may decompress to (past {size_text(RATIO_FLOOR)}) [default: {LIMITS.max_ratio}].",
    ),
    "max_depth": _option(
        "--max-depth", "LEVELS", _levels, "Deepest nesting of JSON objects and arrays read (bodies, HAR files, saved "
        f"responses) [default: {LIMITS.max_depth}].",
    ),
    "max_json_values": _option(
        "--max-json-values", "N", _positive,
        f"Most values in one JSON body, saved response or flow of a dump [default: {LIMITS.max_json_values:,}].",
    ),
    "max_members": _option(
        "--max-members", "N", _positive, f"Most members of a zip or tar archive [default: {LIMITS.max_members:,}].",
    ),
    "max_member": _option(
        "--max-member", "SIZE", _size,
        f"Largest archive member once decompressed [default: {size_text(LIMITS.max_member)}].",
    ),
    "max_archive": _option(
        "--max-archive", "SIZE", _size,
        f"Most bytes of all an archive's members once decompressed [default: {size_text(LIMITS.max_archive)}].",
    ),
}


def _with_limits(command: Callable) -> Callable:
    """A command taking the resource budget's options (`LIMIT_OPTIONS`, before `--debug`), given to it as one
    `budget: limits.Limits`: the defaults, with the options given."""
    from dataclasses import replace

    hints = get_type_hints(command, include_extras=True)
    params = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()
              if p.name != "budget"]
    at = next((i for i, p in enumerate(params) if p.name == "debug"), len(params))
    params[at:at] = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=option)
                     for name, option in LIMIT_OPTIONS.items()]

    @functools.wraps(command)
    def with_budget(*args: Any, **kwargs: Any) -> Any:
        given = {name: value for name in LIMIT_OPTIONS if (value := kwargs.pop(name)) is not None}
        return command(*args, budget=replace(LIMITS, **given), **kwargs)

    with_budget.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    with_budget.__annotations__ = {p.name: p.annotation for p in params}
    return with_budget


PSEUDONYMIZE = Annotated[
    bool, typer.Option("--pseudonymize", help="Write participant ids and folders as keyed hashes (needs --key-file).")
]
KEY_FILE = Annotated[
    Optional[Path], typer.Option("--key-file", metavar="KEY", help="File holding the secret key for --pseudonymize.")
]


@app.command(cls=_Command, short_help="Convert captures into tables, a report and a data package.")
@_with_limits
def convert(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="Capture files (HAR or mitmproxy flow), zip or tar archives of them, folders to search, quoted globs, "
            "URLs fsspec reads (s3://…), or - for stdin.",
            show_default=False,
        ),
    ],
    out: OUT,
    format: FORMAT = OutputFormat.parquet,
    participant: Annotated[
        Optional[str], typer.Option("--participant", metavar="ID", help="Participant id written into every row.")
    ] = None,
    participants: Annotated[
        Optional[Path],
        typer.Option(
            "--participants", metavar="MAP.csv", help="CSV of pattern,participant_id: globs over the input paths."
        ),
    ] = None,
    pseudonymize: PSEUDONYMIZE = False,
    key_file: KEY_FILE = None,
    jobs: JOBS = None,
    shard: Annotated[
        Optional[str],
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Convert only the I-th of N slices of the inputs; auto: the Slurm array task's.",
        ),
    ] = None,
    scheduler: SCHEDULER = None,
    force: Annotated[
        bool, typer.Option("--force", help="Convert every input again, even those OUT already holds unchanged.")
    ] = False,
    endpoint: Annotated[
        Optional[list[str]],
        typer.Option(
            "--endpoint",
            metavar="[GLOB=]NAME",
            help="Read saved single responses (.json) as this endpoint (names: databack endpoints); GLOB=NAME "
            "(repeatable) for the files the glob matches.",
        ),
    ] = None,
    generic_hosts: Annotated[
        Optional[list[str]],
        typer.Option(
            "--generic", metavar="HOST", help="Host glob (repeatable) whose JSON responses become generic tables."
        ),
    ] = None,
    partition_by: PARTITION_BY = None,
    json_report: JSON = False,
    wait: WAIT = False,
    wait_timeout: WAIT_TIMEOUT = None,
    budget: Limits = LIMITS,
    debug: DEBUG = False,
) -> None:
    """Convert captures into tables: OUT/<table>.parquet (or .csv), OUT/report.json and OUT/datapackage.json.

    Re-running into the same OUT converts only new or changed inputs and merges them in (--force redoes all).
    Exit code 0 when every capture converted fully, 1 when any failed or was cut short (the rest is still written),
    2 for a usage error, 130 when interrupted.
    """
    from dataclasses import replace

    from . import parallel
    from .captures import pipe

    hosts = tuple(h.lower() for h in generic_hosts or ())
    paths, local = _paths(paths)
    alone = local if len(local) == len(paths) else []  # (a URL is not read ahead)
    jobs = jobs or parallel.usable_cores()
    pipe.read_ahead(alone, jobs, hosts, budget)  # while polars loads (a third of a second)
    _allocator(one_file=len(alone) == 1 and alone[0].is_file())
    from . import pipeline as conversion
    from . import participants as people
    from . import saved, writers
    from .summary import plural

    err = _console()
    stdin = Path("-") in paths
    paths, local = [p for p in paths if p != Path("-")], [p for p in local if p != Path("-")]
    if missing := _missing(conversion, local):  # pseudonymised runs name no folder, not even here
        _usage_error(err, f"no such file or folder: {', '.join(Path(m).name if pseudonymize else m for m in missing)}")
    if participant and participants:
        _usage_error(err, "give --participant or --participants, not both")
    if pseudonymize != bool(key_file):
        _usage_error(err, "--pseudonymize and --key-file go together")
    slice_ = _parse_shard(err, shard) if shard else None
    try:
        endpoints_read_as = saved.endpoint_rules(endpoint or [])
    except ValueError as e:
        _usage_error(err, str(e))
    partitions = _parse_partitions(err, partition_by, format)
    try:
        rules = people.read_map(participants) if participants else None
        key = people.read_key(key_file) if key_file else None
    except people.ParticipantMapError as e:
        _usage_error(err, str(e))
    err.hide(paths, key)  # a pseudonymised run names no folder, in messages neither
    _check_place(err, out, local)  # before looking for inputs in a folder that may be OUT itself
    inputs = _collect(err, conversion, paths, budget, out)
    err.hide([i.name for i in inputs], key)
    with _locked(err, out, wait, wait_timeout, local) as held, _ctrl_c() as stop_if_interrupted:
        inputs = [s for i in inputs for s in _spooled(conversion, i, held.work(), budget)]
        if stdin:
            inputs += conversion.archive_members(conversion.spool_stdin(sys.stdin.buffer, held.work(), budget), budget)
        if slice_:
            inputs = conversion.shard(inputs, *slice_)
        inputs = [replace(i, endpoint=saved.endpoint_for(endpoints_read_as, i.name), generic=hosts, limits=budget)
                  for i in people.assign(inputs, participant, rules, key)]
        # with --generic, every input given is converted again (as with --force); the earlier files not given keep
        # their rows either way, of generic tables too
        previous_tables, previous_files, _ = writers.read_output(out, generic_tables=True)
        writers.refuse_theirs(out)  # (before the work, not only at its commit)
        previous_copies = writers.read_copies(out) if previous_files else None
        with writers.read_back([out] if previous_files else []):  # an earlier table damaged deep inside: one line
            with _progress(err, inputs) as advance:
                result, skipped = conversion.update(
                    inputs, previous_tables, previous_files, advance, jobs, debug,
                    held.work(), scheduler, previous_copies,
                    streamed=True,  # written by `_finish`, as tables on disk are reduced
                    key=key, force=force or bool(hosts),
                )
            unread = [i for i in skipped if i.error]  # (their earlier rows kept)
            skipped = [i for i in skipped if not i.error]
            if skipped:
                err.print(
                    f"databack: {plural(len(skipped), 'input')} already converted unchanged in {out}: "
                    f"skipped (--force converts {'it' if len(skipped) == 1 else 'them'} again)"
                )
            for i in unread:
                err.print(f"databack: {i.source_file}: {i.error}; the rows an earlier run converted from "
                          "it are kept")
            try:
                if result.files and all(f.status == "skipped" for f in result.files):
                    _usage_error(err, _no_captures([err.path(p) for p in paths], result.files))
                stop_if_interrupted()
                _finish(err, result, held, format, partitions, json_report, failed=bool(unread))
            finally:  # (however it ends: the work folder is removed next)
                result.reduced()


@app.command(cls=_Command, short_help="Merge the outputs of several runs (shards) into one.")
def merge(
    outputs: Annotated[
        list[Path],
        typer.Argument(metavar="OUT1 OUT2...", help="Output folders of earlier runs (e.g. one per shard).", show_default=False),
    ],
    out: OUT,
    format: FORMAT = OutputFormat.parquet,
    partition_by: PARTITION_BY = None,
    json_report: JSON = False,
    jobs: JOBS = None,
    scheduler: SCHEDULER = None,
    wait: WAIT = False,
    wait_timeout: WAIT_TIMEOUT = None,
) -> None:
    """Merge the outputs of several runs into one, removing duplicates across them, as if it were one run.

    Exit code 0 when every capture of every run converted fully, 1 when any failed or was cut short, 2 for a usage
    error, 130 when interrupted.
    """
    from . import parallel
    from . import pipeline as conversion
    from . import writers

    err = _console()
    if missing := [str(p) for p in outputs if not (p / "report.json").is_file()]:
        _usage_error(err, f"not a databack output folder (no report.json): {', '.join(missing)}")
    partitions = _parse_partitions(err, partition_by, format)
    # each folder read while no run writes it
    with _locked(err, out, wait, wait_timeout, outputs, read=outputs) as held, _ctrl_c() as stop_if_interrupted:
        outputs_read = [(*writers.read_output(p, generic_tables=True)[:2], writers.read_copies(p)) for p in outputs]
        writers.refuse_replacing(out, [f for _, files, _ in outputs_read for f in files])  # (OUT's run: its rows)
        with writers.read_back(outputs):  # a table damaged deep inside: one line naming it
            result = conversion.merge(outputs_read, held.work(), jobs or parallel.usable_cores(), scheduler)
            stop_if_interrupted()
            _finish(err, result, held, format, partitions, json_report)


@app.command(cls=_Command, short_help="Write a copy of a capture without passwords, tokens and cookies.")
@_with_limits
def scrub(
    capture: Annotated[
        Path, typer.Argument(metavar="CAPTURE", help="A HAR file or mitmproxy flow dump, or a zip or tar archive of "
                             "them (copied as a zip archive).", show_default=False)
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="COPY",
            help="Where to write the scrubbed copy: a file, or a folder (existing, or ending in /); missing folders "
            "are created.",
        ),
    ],
    json_report: Annotated[
        bool, typer.Option("--json", help="Also print what was redacted, as JSON, to stdout.")
    ] = False,
    budget: Limits = LIMITS,
) -> None:
    """Write a copy of a capture without its secrets: every header value but harmless ones, cookies, URL userinfo
    and token-like parameters, passwords, tokens and other credentials in bodies, WebSocket messages and free text.
    The copy converts to the same device tables.

    Exit code 0 when the whole capture was copied, 1 when it was cut short or unreadable, 2 for a usage error,
    130 when interrupted (no copy is written).
    """
    from .atomic import scratch_folder
    from .captures import is_pipe, spool_pipe
    from .scrub import KINDS, output_path, scrub_capture

    err = _console()
    source: Path | None = capture
    with scratch_folder("spool") as spool:
        if is_pipe(capture):  # `<(cat x.har)`: read once, as convert reads it
            source, error = spool_pipe(capture, Path(spool), budget)
            if error:
                _usage_error(err, f"{capture}: {error}")
        elif not capture.is_file():
            _usage_error(err, f"not a file: {capture}" if capture.exists() else f"no such file: {capture}")
        try:
            target = output_path(capture, out)
        except OSError as e:
            _usage_error(err, str(e))
        with _interrupted(err, "no copy was written"):
            report = scrub_capture(source, target, budget)  # type: ignore[arg-type]
    redacted = ", ".join(f"{report.counts[k]} {k}" for k in KINDS)
    err.print(f"databack: {capture}: {report.status}" + (f": {report.message}" if report.message else ""))
    if report.entries or report.status != "failed":
        err.print(f"  {report.entries} entries written to {target}, values redacted: {redacted}")
    else:
        err.print(f"  nothing written to {target}")
    if json_report:
        _print_json(report.as_dict())
    raise typer.Exit(0 if report.status == "ok" else 1)


@app.command(cls=_Command, short_help="Show what captures hold, per host and path, without converting.")
@_with_limits
def inspect(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...", help="Capture files, zip or tar archives, folders, quoted globs or URLs fsspec reads.",
            show_default=False,
        ),
    ],
    json_report: Annotated[bool, typer.Option("--json", help="Print the inspection as JSON.")] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="Skip response bodies: much faster on flow dumps, no sizes or content types.")
    ] = False,
    jobs: JOBS = None,
    budget: Limits = LIMITS,
    pseudonymize: PSEUDONYMIZE = False,
    key_file: KEY_FILE = None,
    debug: DEBUG = False,
) -> None:
    """What the captures hold: per host, method and path template, the count, statuses, content types, bytes and
    the databack endpoint that recognises it. Nothing is written; no header, body or query value is shown; with
    --pseudonymize, no folder name either (files named as convert's source_file)."""
    import shutil
    from dataclasses import replace

    from . import pipeline as conversion
    from . import inspect_captures, parallel, redaction
    from .atomic import scratch_folder
    from . import participants as people

    err = _console()
    paths, local = _paths(paths)
    if missing := _missing(conversion, local):
        _usage_error(err, f"no such file or folder: {', '.join(Path(m).name if pseudonymize else m for m in missing)}")
    if pseudonymize != bool(key_file):
        _usage_error(err, "--pseudonymize and --key-file go together")
    try:
        key = people.read_key(key_file) if key_file else None
    except people.ParticipantMapError as e:
        _usage_error(err, str(e))
    err.hide(paths, key)
    inputs = [replace(i, limits=budget, source_file=redaction.source_file(i.name, key))
              for i in _collect(err, conversion, paths, budget)]
    err.hide([i.name for i in inputs], key)
    with _interrupted(err, "nothing was written"), scratch_folder("spool") as spool:
        inputs = [s for i in inputs for s in _spooled(conversion, i, Path(spool), budget)]
        with _progress(err, inputs, "inspecting") as advance:
            result = inspect_captures.inspect(inputs, advance, jobs or parallel.usable_cores(), quick, debug)
    if json_report:
        _print_json(inspect_captures.as_dict(result))
    else:
        # the terminal's width (or COLUMNS); piped into a file, the table's own
        width = shutil.get_terminal_size((inspect_captures.WIDTH, 24)).columns
        sys.stdout.write(safe_lines(inspect_captures.render_table(result, width)))  # (it ends in a newline)
    raise typer.Exit(0 if result.ok else 1)


@app.command(cls=_Command, short_help="Write an offline HTML page of a run: nights, workouts, trends.")
def report(
    out: Annotated[
        Path,
        typer.Argument(metavar="OUT", help="The output folder of a run (holding report.json).", show_default=False),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", metavar="FILE", help="Where to write the page [default: OUT/report.html]."),
    ] = None,
    figures: Annotated[
        Optional[Path],
        typer.Option("--figures", metavar="DIR", help="Also save every chart as SVG and PNG in this folder."),
    ] = None,
    participant: Annotated[
        Optional[list[str]], typer.Option("--participant", help="Only this participant (repeatable), as in the tables.")
    ] = None,
    wait: WAIT = False,
    wait_timeout: WAIT_TIMEOUT = None,
) -> None:
    """One self-contained HTML page of the run, to open offline in a browser: an overview, every night (hypnogram,
    events, heart rate, room, figures), every run or workout (heart rate, pace, the GPS route coloured by pace,
    splits) and each participant's trends. Nothing in it is fetched from the network.

    Exit code 0 when written, 1 when it could not be written, 2 for a usage error.
    """
    from . import report_html, store
    from .summary import report_lines

    err = _console()
    if not (out / "report.json").is_file():
        _usage_error(err, f"not a databack output folder (no report.json): {out}")
    try:
        with _ctrl_c():  # (Ctrl-C: what was written meanwhile is removed)
            path, page, saved = report_html.write(out, output, _wait_limit(wait, wait_timeout), figures,
                                                  tuple(participant or ()))
    except KeyboardInterrupt as e:
        page_path = output or out / "report.html"
        written = isinstance(e, report_html.Interrupted) and e.written
        err.print(f"databack: interrupted; {page_path} {'holds the new page' if written else 'was left as it was'}")
        raise typer.Exit(130) from None
    except (report_html.ReportUnavailable, report_html.UnknownParticipant) as e:
        _usage_error(err, str(e))
    except store.OutError as e:
        err.print(f"databack: {e}")
        raise typer.Exit(2 if e.usage else 1)
    except OSError as e:
        _cannot_write(err, output or figures or out, e.strerror or e)
    if page.repaired:
        err.print(f"databack: {page.repaired}")
    for line in report_lines(page, path, figures, len(saved)):
        err.print(line)


export_app = typer.Typer(help="Write a run's tables in a standard format.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("omh", cls=_Command, short_help="Open mHealth / IEEE 1752.1 data points, as JSON Lines.")
def export_omh(
    out: Annotated[
        Path,
        typer.Argument(metavar="OUT", help="The output folder of a run (holding report.json).", show_default=False),
    ],
    folder: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder to write the JSON Lines files into.")
    ],
    wait: WAIT = False,
    wait_timeout: WAIT_TIMEOUT = None,
) -> None:
    """Open mHealth / IEEE 1752.1 data points, one JSON Lines file per schema: sleep episodes and stages, heart
    rate, step counts, physical activities, GPS positions and room temperature.

    Exit code 0 when written, 1 when FOLDER could not be written, 2 for a usage error.
    """
    from . import export_omh as omh
    from . import store
    from .summary import export_lines

    from .atomic import Interrupted

    err = _console()
    if not (out / "report.json").is_file():
        _usage_error(err, f"not a databack output folder (no report.json): {out}")
    try:
        with _ctrl_c() as check:
            with store.reading(out, _wait_limit(wait, wait_timeout)) as repaired:  # no run changes the tables
                if repaired:  # while they are read
                    err.print(f"databack: {repaired}")
                if finished := omh.finish_stopped(folder):
                    err.print(f"databack: {finished}")
                counts = omh.export(out, folder)
            check()
    except KeyboardInterrupt as e:  # (Ctrl-C while the files took their names waited for them: they hold it)
        written = isinstance(e, Interrupted) and e.written
        err.print(f"databack: interrupted; {folder} {'holds the new export' if written else 'was left as it was'}")
        raise typer.Exit(130) from None
    except store.OutError as e:
        err.print(f"databack: {e}")
        raise typer.Exit(2 if e.usage else 1)
    except OSError as e:
        _cannot_write(err, folder, e.strerror or e)
    for line in export_lines(counts, str(folder)):
        err.print(line)


@app.command(cls=_Command, short_help="List the endpoints databack decodes and the tables they fill.")
def endpoints() -> None:
    """List the device endpoints databack decodes: each name (for --endpoint) and the tables it fills, then the
    requests it answers. In a request, {name} is a value taken from the path, [...] an optional part, (a|b) either
    form, {n} digits, {id} any path segment, * any host name part; paths match whatever their letters' case."""
    from .devices.listing import render

    print(safe_lines(render()))


def _finish(err, result, held, format: OutputFormat, partitions: tuple[str, ...], json_report: bool,
            failed: bool = False) -> NoReturn:
    from . import writers

    with held.transaction() as tx:
        report = writers.write(result, tx, format.value, partitions)
        held.work_done()  # (every table written: the rows in the work folder are read no more)
    _print_summary(err, report, held.out)
    if json_report:
        _print_json(report)
    raise typer.Exit(0 if result.ok and not failed else 1)


@contextmanager
def _locked(
    err, out: Path, wait: bool, wait_timeout: float | None, inputs: list[Path], read: list[Path] = ()
) -> Iterator:
    """OUT's store (and the output folders `read`), held for the command: what a killed run left is repaired (and
    said) first. Where OUT cannot be written (in use, a file, an input, a full disk…), one line and exit 1, or 2
    when the arguments are the cause."""
    from . import store
    from .parallel import WorkersLost
    from .spill import SpillFailed

    held = None
    try:
        with store.lock(out, _wait_limit(wait, wait_timeout), inputs, read) as held:
            for repaired in [held.repaired, *held.repaired_read]:  # (OUT's, and the folders merge reads)
                if repaired:
                    err.print(f"databack: {repaired}")
            yield held
    except store.OutError as e:
        _out_error(err, e)
    except SpillFailed as e:
        _cannot_write(err, out, e)
    except WorkersLost as e:
        err.print(f"databack: {e}; {out} {_left(held)}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        err.print(f"databack: interrupted; {out} {_left(held)}")
        raise typer.Exit(130)


def _left(held) -> str:
    """What OUT holds after a run stopped before its end."""
    return "holds this run's result" if held is not None and held.committed else "was left as it was"


def _check_place(err, out: Path, inputs: list[Path]) -> None:
    from . import store

    try:
        store.check_place(out, inputs)
    except store.OutError as e:
        _out_error(err, e)


def _out_error(err, e) -> NoReturn:
    err.print(f"databack: {e}")
    raise typer.Exit(2 if e.usage else 1)


def _wait_limit(wait: bool, wait_timeout: float | None) -> float:
    """Seconds to wait for another run holding an output folder."""
    import math

    return (math.inf if wait_timeout is None else wait_timeout) if wait or wait_timeout is not None else 0.0


def _cannot_write(err, out: Path, reason: object) -> NoReturn:
    err.print(f"databack: cannot write into {out}: {reason}")
    raise typer.Exit(1)


def _print_json(data: dict) -> None:
    import orjson

    sys.stdout.write(safe_json(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()) + "\n")


def _console() -> _Messages:
    global _messages
    _messages = _Messages()
    return _messages


_messages: _Messages | None = None  # the command's, once it has one


class _Messages:
    """Standard error, the way every message, summary and error line of a command goes out: each line passes the
    redaction policy (`redaction.line`: credentials replaced, and after `hide` the participant folders of a
    pseudonymised run named by their pseudonyms), then `terminal.safe` (control characters escaped). Through rich
    (which draws the progress bar) only on a terminal."""

    def __init__(self) -> None:
        self.rich = None
        if sys.stderr.isatty():
            from rich.console import Console

            self.rich = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)  # names are not markup
        self.hidden: dict[str, str] = {}

    @property
    def is_terminal(self) -> bool:
        return self.rich is not None

    def hide(self, paths, key: bytes | None) -> None:
        """Name the folders of these paths (as given) by their pseudonyms from now on, when there is a key."""
        from .redaction import hidden_folders

        self.hidden |= hidden_folders(paths, key)

    def path(self, path: Path | str) -> str:
        """A path to put in a message: a hidden folder (or one it lies in) by its pseudonym."""
        from .redaction import shown_path

        return shown_path(str(path), self.hidden)

    def print(self, text: str = "") -> None:
        """One message, one line: a line break inside it (a path holding one, say) is shown as `\\n`."""
        from .redaction import line

        self._write(safe(line(text, self.hidden)))

    def print_lines(self, text: str) -> None:
        """Text of several lines (a traceback), each passing the policy as `print`'s."""
        from .redaction import line

        self._write("\n".join(safe(line(part, self.hidden)) for part in text.split("\n")))

    def _write(self, shown: str) -> None:
        if self.rich is not None:
            self.rich.print(shown)
        else:
            print(shown, file=sys.stderr)


def _parse_shard(err, shard: str) -> tuple[int, int]:
    if shard == "auto":
        from .pipeline import slurm_shard

        try:
            return slurm_shard(os.environ)
        except ValueError as e:
            _usage_error(err, str(e))
    index, _, count = shard.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        _usage_error(err, f"--shard takes I/N with 1 <= I <= N, not {shard!r}")
    return int(index), int(count)


def _parse_partitions(err, partition_by: list[str] | None, format: OutputFormat) -> tuple[str, ...]:
    from .writers import PARTITION_COLUMNS

    columns = tuple(c.strip() for value in partition_by or () for c in value.split(",") if c.strip())
    if bad := [c for c in columns if c not in PARTITION_COLUMNS]:
        _usage_error(err, f"--partition-by takes {', '.join(PARTITION_COLUMNS)}, not {', '.join(bad)}")
    if columns and format != OutputFormat.parquet:
        _usage_error(err, "--partition-by writes Parquet datasets: leave out --format csv")
    return columns


def _usage_error(err, message: str) -> NoReturn:
    err.print(f"databack: {message}")
    raise typer.Exit(2)


def _progress(console, inputs: list, label: str = "converting"):
    """A progress bar on stderr, by bytes read (so that one big file moves too), shown only on a terminal. The
    callback it yields is told when a file starts (`file_report` None) and ends."""
    if not console.is_terminal:
        return nullcontext(lambda inp, file_report: None)
    import threading

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .progress import BytesRead

    @contextmanager
    def bar():
        read = BytesRead([i.path for i in inputs if not (i.error or i.skip)])
        stop = threading.Event()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console.rich,
            transient=True,
        ) as progress:
            task = progress.add_task(label, total=read.total or None)

            def poll() -> None:
                while not stop.wait(0.25):
                    progress.update(task, completed=read.read())

            def advance(inp, file_report) -> None:
                if file_report is None:
                    progress.update(task, description=safe(inp.source_file))
                else:
                    read.finished(inp.path)
                    progress.update(task, completed=read.read())

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            try:
                yield advance
            finally:
                stop.set()
                poller.join()

    return bar()


def _paths(given: list[str]) -> tuple[list[Path | str], list[Path]]:
    """The arguments as inputs: a URL (`scheme://…`) as it is, anything else a path; and the paths alone."""
    if any("://" in p for p in given):
        from .captures.remote import is_url
    else:
        is_url = bool  # noqa: E731 (nothing to import: the one-file run's reading starts at once)
    paths = [p if "://" in p and is_url(p) else Path(p) for p in given]
    return paths, [p for p in paths if isinstance(p, Path)]


def _missing(conversion, paths: list[Path]) -> list[str]:
    return [str(p) for p in paths if not p.exists() and not conversion.GLOB_CHARS & set(str(p))]


def _collect(err, conversion, paths: list[Path | str], budget, out: Path | None = None) -> list:
    """The inputs the paths name, each file once; a glob that matches no file, or a folder that holds none, is a usage
    error (a URL that names none is an input that fails); a URL without fsspec installed is one too."""
    from .captures.remote import NoFsspec

    inputs = []
    for path in paths:
        try:
            found = conversion.collect_inputs([path], exclude=out, budget=budget)
        except NoFsspec as e:
            _usage_error(err, str(e))
        if isinstance(path, str):
            inputs += found
            continue
        if not found and path.is_dir():
            _usage_error(err, f"no files in {err.path(path)} (hidden ones aside)")
        if not found and not path.exists():
            _usage_error(err, f"{err.path(path)!r} matches no file")
        inputs += found
    return conversion.inputs_once(inputs)


def _spooled(conversion, inp, folder: Path, budget) -> list:
    """An input that is a pipe named on the command line (`<(cat x.har)`) read once into `folder` (an archive's
    members then), or the input as it is."""
    if not (inp.explicit and inp.error is None and conversion.is_pipe(inp.path)):
        return [inp]
    return conversion.archive_members(conversion.spooled(inp, folder, budget), budget)


def _no_captures(paths: list[str], files: list) -> str:
    """Why a run that found only files that are not captures has nothing to convert."""
    from .summary import plural

    first = files[0]
    return (
        f"no captures in {', '.join(map(str, paths))}: {plural(len(files), 'file')}, none a HAR file or a mitmproxy "
        f"flow dump (e.g. {first.file}: {first.error})"
    )


_terminated = False  # whether the command was stopped by SIGTERM (as Ctrl-C stops it), to exit as SIGTERM's


@contextmanager
def _ctrl_c() -> Iterator[Callable[[], None]]:
    """Ctrl-C raises KeyboardInterrupt as usual; yields a check that raises it again if it was pressed but lost
    (raised where Python can only ignore it, in a finaliser say): call it before committing anything. A second
    Ctrl-C, while the first is being dealt with, stops at once (the next run repairs what is left in OUT).
    SIGTERM (a scheduler stopping the job, `kill`) stops the command as Ctrl-C does, what it made in OUT (its work
    folder: captures piped in, saved whole) removed; the command then exits 143, as one SIGTERM ended."""
    pressed = []
    command = os.getpid()

    def on_ctrl_c(signum, frame) -> None:
        if pressed:
            _leave("stopped at once")
        pressed.append(True)
        raise KeyboardInterrupt

    def on_sigterm(signum, frame) -> None:
        global _terminated
        if os.getpid() != command:  # a worker process forked meanwhile: ended as by default
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        _terminated = True
        on_ctrl_c(signum, frame)

    def check() -> None:
        if pressed:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield check
    finally:  # in the command, what is left is printing what was done; called in a test, Python's handler is back
        signal.signal(signal.SIGINT, previous if previous is signal.default_int_handler else signal.SIG_IGN)
        signal.signal(signal.SIGTERM, previous_term)


@contextmanager
def _interrupted(err, kept: str) -> Iterator[None]:
    """Ctrl-C: one line saying what was kept, and exit code 130 (as a shell gives a command stopped by SIGINT)."""
    try:
        with _ctrl_c() as check:
            yield
            check()
    except KeyboardInterrupt:
        err.print(f"databack: interrupted; {kept}")
        raise typer.Exit(130) from None


def _leave(message: str) -> NoReturn:
    os.write(2, f"\ndataback: {safe(message)}\n".encode(errors="replace"))
    os._exit(130)


def _print_summary(err, report: dict, out: Path) -> None:
    from .summary import conversion_lines

    for line in conversion_lines(report, str(out)):
        err.print(line)


# polars' allocator (jemalloc) keeps freed pages for half a second by default. Returned at once instead, the garbage
# of one step of a conversion is not still held at the next (peak memory on a 200 MB HAR: 234 MB -> 187 MB, 0.1 s
# more time): every command but a conversion. Conversions of several files keep them 0.3 s: de-duplicating, sorting and
# writing their tables after the last file faults in 680 MB of pages handed back a moment before (8 x 50 MB, --jobs
# 2: 1.0 s of CPU time, half of it page faults, against 0.6 s), for a peak some 40 MB higher. They also keep one
# arena for all threads, not jemalloc's four per core: the tail's threads (ranges, tables, the view, polars' own)
# each took fresh pages from an arena of its own while others held freed ones (8 x 50 MB, three alternating rounds:
# peak 350 -> 309 MB with --jobs 1, 326 -> 288 MB with --jobs 2; page faults after the last file 38,000-45,000 ->
# 21,000-24,000). A conversion of one file keeps one arena and its freed pages a millisecond: its polars threads
# free and fault in again pages all the time (the 200 MB full export: 577,000 page faults, 1.7 s of system time),
# and within a millisecond most are taken again (185,000 faults, 0.75 s; CPU 5.9 -> 4.7 s, wall 3.5 -> 3.0 s), for a
# peak some 10-20 MiB higher (full export 217-229 -> 236-247 MiB, the 15 % HAR 187-199 -> 201-206 MiB; 3 ms: a
# higher peak, 10 ms: no fewer faults; bench/README.md). Read when polars is first loaded; a setting in the
# environment wins.
FREED_AT_ONCE = "dirty_decay_ms:0,muzzy_decay_ms:0"
FREED_NEXT = "dirty_decay_ms:1,muzzy_decay_ms:0,narenas:1"
FREED_SOON = "dirty_decay_ms:300,muzzy_decay_ms:0,narenas:1"
_allocator_given = False  # whether the environment set polars' allocator


def _allocator(one_file: bool) -> None:
    """polars' allocator for a conversion of one file or of several, if polars is not loaded yet (see FREED_SOON)."""
    if not _allocator_given and "polars" not in sys.modules:
        os.environ["_RJEM_MALLOC_CONF"] = FREED_NEXT if one_file else FREED_SOON


def main() -> NoReturn:
    global _allocator_given
    _allocator_given = "_RJEM_MALLOC_CONF" in os.environ
    os.environ.setdefault("_RJEM_MALLOC_CONF", FREED_AT_ONCE)
    signal.signal(signal.SIGINT, lambda signum, frame: _leave("interrupted; nothing was written"))
    try:
        app()
        code = 0
    except SystemExit as e:
        if isinstance(e.code, str):
            sys.stderr.write(safe_lines(e.code) + "\n")
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except Exception as e:  # a bug of databack's (--debug lets them through): shown with its messages redacted
        from .redaction import traceback_text

        (_messages or _Messages()).print_lines(traceback_text(e).rstrip("\n"))  # the command's, hiding what it hides
        code = 1
    # Everything is written and closed by now: leave without the interpreter's teardown, which frees every object
    # and stops polars' threads one by one (0.15 s of a conversion of a 200 MB HAR), as mypy's `hard_exit` does.
    if _terminated and code == 130:
        code = 128 + signal.SIGTERM
    if (parallel := sys.modules.get(f"{__package__}.parallel")) is not None:  # (not imported for --help)
        parallel.wait_for_workers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
