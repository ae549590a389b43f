"""The pipeline: capture files -> exchanges -> endpoint match -> schema check -> rows -> de-duplicated tables + report.

Every exchange ends in exactly one report category: a device response decoded into rows, rejected
(kept whole in the `rejects` table), an HTTP error on a device route, auth, a device path databack does not
decode, or not a device response at all.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import threading
from collections import Counter
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import chain, repeat
from pathlib import Path
from typing import Any, BinaryIO, Callable, Collection, Iterable, Literal, Mapping

import orjson
import polars as pl

from . import collector, devices, generic, limits, redaction, saved, spill, views
from .spill import Part
from .captures import (
    CaptureError, Exchange, Skipped, claims_capture, detect_format, is_pipe, no_response_reason, piped_limit,
    read_capture, reading_cost, spool, spool_pipe,
)
from .captures.archives import ArchiveError, ArchiveMember, archive_kind, members, not_a_capture
from .captures.remote import RemoteFile
from .captures.pipe import PARSED, Decoded, NotDevice, read_capture_beside
from .captures.sniff import loads_json
from .dedupe import COPIES, FILE_INDEX, by_key, dedupe, losses, reconcile
from .digest import sha256_file, sha256_or_none
from .hosts import BodyWanted, host_matches
from .parallel import Executor, executor, usable_cores
from .captures.har import NOT_A_HAR
from .devices import columns
from .devices.base import Block, Later, Request, Rows, datetime_us
from .redaction import Safe, SafeRow
from .tables import TABLES, UTC_TIME, Table

Status = Literal["ok", "partial", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class Input:
    path: Path | ArchiveMember | RemoteFile  # a file, a member of a zip or tar archive (read in place), a URL's file
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
    no_response: Counter[str] = field(default_factory=Counter)  # of the exchanges, those without a response: why
    rows: Counter[str] = field(default_factory=Counter)  # table -> rows decoded (before de-duplication)
    duplicates: Counter[str] = field(default_factory=Counter)  # table -> copies dropped whose values the row kept holds
    conflicts: Counter[str] = field(default_factory=Counter)  # table -> copies dropped that differ from the one kept
    unknown_fields: Counter[str] = field(default_factory=Counter)  # "endpoint path" -> decoded responses holding it

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
                     "skipped_entries", "no_response", "rows", "duplicates", "conflicts"})

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
        """Every field; `duplicates` and `conflicts` name the same tables, every one the file has rows in among them."""
        for k, value in self.__dict__.items():
            if k not in self.OWN:
                redaction.require(value, f"report field {k}")
        tables = dict.fromkeys([*self.rows, *self.duplicates, *self.conflicts], 0)
        return {k: ({str(n): c for n, c in sorted(({**tables, **v} if k in ("duplicates", "conflicts") else v).items())}
                    if isinstance(v, Counter) else v)
                for k, v in self.__dict__.items()}


@dataclass
class Conversion:
    """The result of a run: every table that has rows (de-duplicated, sorted by key) and a report per input file.
    A table may be `spill.Sorted`: sorted on disk, to be written range by range (it too has `height`, `lazy()`,
    `write_parquet` and `write_csv`), or `spill.Coming`: its ranges still being reduced (see `combine`'s
    `streamed`); the files' counts of copies and `copies` are then there once `settle` returns. The views may still
    be being made from the other tables, in a thread, when it is returned, or wait to be begun (`derive`): `tables`
    waits for them, `decoded` holds the others (to be written meanwhile)."""

    files: list[FileReport]
    decoded: dict[str, spill.Frame]  # the tables decoded from captures, then the generic tables
    copies: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COPIES))  # see `dedupe.COPIES`
    views: dict[str, pl.DataFrame] | Future | Callable[[], dict[str, pl.DataFrame]] = field(default_factory=dict)
    settling: Callable[[], pl.DataFrame] | None = None  # gives `copies` and counts them in `files`, once
    reducing: list[Future] = field(default_factory=list)  # the ranges still being reduced, if `settling`

    def settle(self) -> None:
        """Wait for every range to be reduced, and count the copies (see `settling`); raises what a range raised."""
        self.reduced()
        if self.settling is not None:
            self.copies, self.settling = self.settling(), None

    def reduced(self) -> None:
        """Wait for every range to be reduced (or to have failed): nothing is written into the work folder after."""
        futures.wait(self.reducing)

    def derive(self) -> None:
        """Begin making the views, in a thread, if they wait to be begun (see `combine`)."""
        if callable(self.views):
            deriving = ThreadPoolExecutor(1, thread_name_prefix="databack-views")
            self.views = deriving.submit(self.views)
            deriving.shutdown(wait=False)

    @property
    def tables(self) -> dict[str, spill.Frame]:
        """Every table: those decoded, the views, then the generic tables."""
        self.derive()
        if isinstance(self.views, Future):
            self.views = self.views.result()
        decoded = {name: df for name, df in self.decoded.items() if name in TABLES}
        return decoded | self.views | {name: df for name, df in self.decoded.items() if name not in TABLES}

    @property
    def duplicates(self) -> Counter[str]:
        """Per table: copies dropped each value of which the row kept holds."""
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


def _buffer_columns(table: Table) -> tuple[tuple[str, pl.DataType, bool], ...]:
    types, schema = table.row_schema | PROVENANCE_SCHEMA, table.schema  # once a table, not a column: 8 ms at import
    return tuple((c, types[c], schema[c] == UTC_TIME) for c in table.column_names)


# Per table, in the table's order: each column's name, its type in the row buffer, and whether it holds times.
BUFFER_COLUMNS = {name: _buffer_columns(t) for name, t in TABLES.items()}

ProgressCallback = Callable[[Input, FileReport | None], None]
FileRows = dict[str, list[Part] | pl.DataFrame]  # a file's rows: a table's parts, a generic table's frame


GLOB_CHARS = frozenset("*?[")
UNKNOWN_FIELDS_NAMED = 50  # fields a file's report names that no field map knows (a hostile file may hold millions)
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def text_name(name: str) -> str:
    """A path as the operating system gave it (Python holds the bytes of a name that are not UTF-8 as surrogates), as
    text written to outputs (`source_file`): unchanged when it is UTF-8; else each byte that is not UTF-8 as `\\xNN`
    and each backslash doubled, so that the bytes can be told back: `caf\\xe9.har` is the name `caf` 0xE9 `.har`."""
    if not _UNDECODABLE.search(name):
        return name
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", name.replace("\\", "\\\\"))


def collect_inputs(
    paths: Iterable[Path | str], exclude: Path | None = None, budget: limits.Limits = limits.DEFAULT
) -> list[Input]:
    """Files named; files found below folders named (recursively, sorted, hidden files left out), named relative
    to the folder's parent (`study/p07/a.har`); what globs the shell did not expand (`'captures/*.har'`); the files
    a URL names (a text with `scheme://`: `remote.listed`), named by their URLs less credentials; and the members
    of zip and tar archives among them (listed within `budget`). A folder or URL that cannot be read is an input
    that fails with the reason (never passed over in silence); a named pipe named (`<(cat x.har)`) is to be read
    once (`spooled`), a device or socket is refused."""
    inputs: list[Input] = []
    excluded = exclude.resolve() if exclude else None
    for p in paths:
        if isinstance(p, str):  # a URL (a local path is a Path)
            inputs += _url_inputs(p, budget)
        elif not p.exists() and GLOB_CHARS & set(str(p)):
            anchor = Path(p.anchor) if p.is_absolute() else Path()
            matched = sorted(anchor.glob(str(p.relative_to(anchor)) if p.is_absolute() else str(p)))
            inputs += [Input(m, text_name(str(m)), explicit=True) for m in matched if m.is_file()]
        elif p.is_dir():
            inputs += _folder_inputs(p, excluded)
        else:
            inputs.append(Input(p, text_name(str(p)), explicit=True, error=_special_file(p)))
    return [member for inp in inputs_once(inputs) for member in archive_members(inp, budget)]


def inputs_once(inputs: list[Input]) -> list[Input]:
    """`inputs` with a file reached more than once (named twice, by two paths or a link, or named and found in a
    folder named too; an archive's member so too) taken once, under the name it was first reached by (`explicit`
    where it was named anywhere): read twice, its exchanges would be counted twice and its every record a duplicate of
    itself."""
    first: dict[tuple, int] = {}
    kept: list[Input] = []
    for inp in inputs:
        identity = None if inp.error or inp.skip else _file_identity(inp.path)
        if identity is None or (at := first.setdefault(identity, len(kept))) == len(kept):
            kept.append(inp)
        elif inp.explicit:
            kept[at] = replace(kept[at], explicit=True)
    return kept


def _file_identity(path: Path | ArchiveMember | RemoteFile) -> tuple | None:
    """What tells a local file (its device and inode) or a member of a local archive apart; None for anything else (a
    pipe, a URL's file) or a file that cannot be looked at."""
    member = path if isinstance(path, ArchiveMember) else None
    file = member.archive if member is not None else path
    try:
        st = file.stat() if isinstance(file, Path) else None
    except OSError:
        return None
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino) + ((member.name, member.offset) if member is not None else ())


def archive_members(inp: Input, budget: limits.Limits = limits.DEFAULT) -> list[Input]:
    """A zip or tar archive's members as inputs of their own, named below the archive's name (`study.zip/p07/a.har`),
    found as files in a folder are; the input itself if it is no archive. An archive that cannot be listed, or is
    past a limit, is one failed input; a member refused (an unsafe name, past a limit) a failed one, a link a
    skipped one."""
    if inp.error or inp.skip or is_pipe(inp.path):  # (a pipe is read once, later: never opened here)
        return [inp]
    try:
        kind = None if isinstance(inp.path, ArchiveMember) else archive_kind(inp.path)
    except OSError:
        return [inp]  # the conversion says why the file cannot be read
    if kind is None:
        return [inp]
    try:
        found = members(inp.path, kind, budget)
    except (ArchiveError, OSError) as e:
        reason = str(e) if isinstance(e, ArchiveError) else f"cannot read the file: {e.strerror or e}"
        return [replace(inp, error=reason)]
    if not found:
        return [replace(inp, error=f"an empty {kind[0]} archive: no files in it")]
    return [
        Input(m, f"{inp.name}/{text_name(m.name)}", explicit=False) if isinstance(m, ArchiveMember)
        else Input(inp.path, f"{inp.name}/{text_name(m.name)}", explicit=False,
                   **{"skip" if m.skip else "error": m.reason})
        for m in found
    ]


def _url_inputs(url: str, budget: limits.Limits) -> list[Input]:
    """The files a URL names, as `collect_inputs` has them: named on the command line when the URL names them (a
    file, a glob), found when it is a folder; or the URL as one input that fails, with the reason."""
    from .captures import remote

    found = remote.listed(url, budget)
    if isinstance(found, str):
        name = redaction.url_name(url)
        return [Input(Path(name), name, explicit=True, error=found)]
    named = remote.is_glob(url) or (len(found) == 1 and found[0].name == redaction.url_name(url))
    return [Input(f, f.name, explicit=named) if isinstance(f, remote.RemoteFile)
            else Input(Path(f.name), f.name, explicit=named, **{"skip" if f.skip else "error": f.reason})
            for f in found]


def _folder_inputs(folder: Path, excluded: Path | None) -> list[Input]:
    """The files below `folder` (sorted, hidden ones and `excluded` left out), and its sub-folders that cannot be
    read, each an input that fails. What else is there is never passed over in silence: a link to nothing, or that
    cannot be followed, fails; a link to a folder (not followed), a named pipe, socket or device is skipped."""
    found: list[tuple[Path, str | None, str | None]] = []  # (path, error, skip)
    top = Path(folder.resolve().name)

    def unreadable(error: OSError) -> None:
        found.append((Path(error.filename), f"cannot read the folder: {error.strerror or error}", None))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        here = Path(root)
        kept = []
        for d in dirs:
            if d.startswith(".") or (excluded is not None and (here / d).resolve() == excluded) \
                    or _output_folder(here / d):
                continue
            if (here / d).is_symlink():  # (os.walk lists it, and does not go into it)
                found.append((here / d, None, "a symbolic link to a folder: not followed"))
            else:
                kept.append(d)
        dirs[:] = kept
        found += [(here / f, *_found_file(here / f)) for f in files if not f.startswith(".")]
    return [Input(f, text_name(str(top / f.relative_to(folder))), explicit=False, error=error, skip=skip)
            for f, error, skip in sorted(found)]


def _output_folder(folder: Path) -> bool:
    """Whether `folder` is a databack output folder (another run's OUT: a shard's beside this one's, say), which holds
    no capture: one a run holds (its lock), or holding a report.json a databack run wrote and a datapackage.json. Its
    files would be inputs skipped (tables, report) or, where a run commits into it meanwhile, failed (removed)."""
    from .store import LOCK

    if os.path.lexists(folder / LOCK):
        return True
    if not (folder / "datapackage.json").is_file():
        return False
    try:
        with open(folder / "report.json", "rb") as f:
            return b'"databack_version"' in f.read(200)  # (written first: report.json's first key)
    except OSError:
        return False


def _found_file(path: Path) -> tuple[str | None, str | None]:
    """(error, skip) of what a folder holds that is not a folder: (None, None) for a file (reading it says why it
    cannot be read, if it cannot)."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        if isinstance(e, FileNotFoundError) and path.is_symlink():
            return "a symbolic link to nothing: not read", None
        return f"cannot read: {e.strerror or e}", None
    if stat.S_ISREG(mode):
        return None, None
    if stat.S_ISFIFO(mode):
        return None, "a named pipe, not a capture file: not read (name it on the command line to read it once)"
    return None, _special_file(path) or "not a file: not read"


def _special_file(path: Path) -> str | None:
    """Why a path named on the command line is not read as a file: a device or a socket (a named pipe is read
    once, see `spooled`); None for a file, a pipe, or what cannot be looked at (reading it says why)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a capture file: not read"
    if stat.S_ISSOCK(mode):
        return "a socket, not a capture file: not read"
    return None


def spooled(inp: Input, folder: Path, budget: limits.Limits | None = None) -> Input:
    """An input that is a pipe (`<(cat x.har)`, a named pipe) read once into `folder` (`captures.spool_pipe`)."""
    path, error = spool_pipe(inp.path, folder, budget)
    return replace(inp, error=error) if error else replace(inp, path=path)


def spool_stdin(stream: BinaryIO, folder: Path, budget: limits.Limits | None = None) -> Input:
    """A capture piped in on standard input, saved to `folder` (readers need to seek) and named `<stdin>`; one
    larger than `captures.piped_limit` is a failed input, read no further."""
    try:
        return Input(spool(stream, folder, "stdin-", most=piped_limit(budget)), "<stdin>", explicit=True)
    except limits.LimitHit as hit:
        return Input(Path("-"), "<stdin>", explicit=True, error=str(hit))


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
        ahead = Ahead([i.source_file for i in inputs], spill_dir, ex)
        reports, parts = convert_files(inputs, progress, jobs, debug, spill_dir, ex, ahead)
        return combine(reports, parts, spill_dir, ex, ahead=ahead)


def update(
    inputs: list[Input],
    previous_tables: dict[str, list[pl.LazyFrame]],
    previous_files: list[FileReport],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    debug: bool = False,
    spill_dir: Path | None = None,
    scheduler: str | None = None,
    previous_copies: pl.DataFrame | None = None,
    streamed: bool = False,
    key: bytes | None = None,
    force: bool = False,
) -> tuple[Conversion, list[Input]]:
    """Add to an earlier run: inputs whose name and SHA-256 it already converted are skipped (their rows and
    reports kept; with `force`, none is: each is converted again, its rows replacing its earlier ones), the others
    converted and merged in (the earlier files not given keep their rows either way, of generic tables too, and so
    do those that cannot be read now: skipped too, with the reason as their `error`), duplicates removed across old
    and new, and counted as one run over all inputs would, given the earlier run's `copies.parquet`
    (`previous_copies`; None: an output without one, whose counts are added to). Returns the conversion and the
    inputs skipped. `streamed`: see `combine`.
    With `key` (a pseudonymised run), the files and participants an earlier run named as they are (a run without
    --pseudonymize) are pseudonymised as this run names them (see `_pseudonymised_again`)."""
    if key is not None:
        previous_tables, previous_files, previous_copies = _pseudonymised_again(
            previous_tables, previous_files, previous_copies, key)
    done: dict[str, set[str | None]] = {}  # name -> the SHA-256 of each earlier file of that name
    for f in previous_files:
        if f.status != "failed":
            done.setdefault(f.file, set()).add(f.sha256)
    # A name the policy changed (`sync password=REDACTED.har`: any holding its mark) may be that of several files,
    # this run's and earlier runs', which nothing written tells apart: an input of such a name adds its rows to those
    # of the name, replacing none (which earlier file, if any, it is a new version of cannot be known; one not given
    # again keeps its rows), and is skipped where an earlier file of the name had its content (with `force` too: its
    # rows are not told apart from the others of the name).
    # So is a capture piped in (`-`, `<(zcat x.har.gz)`, a named pipe), saved into the work folder: its name
    # (`<stdin>`, `/dev/fd/63`) is the pipe's, the same for whatever capture comes through it another day.
    shared = {i.source_file for i in inputs if redaction.MARK in i.source_file or _piped(i, spill_dir)}
    # (a file is hashed here only if an earlier one had its name). One that cannot be read now (a link to nothing, a
    # file of a drive not mounted or a cloud folder offline, no permission, an I/O error) is no new version of the
    # file: its earlier rows and report are kept, as those of a file not given are, and it comes back with the reason
    # as its `error` among those skipped
    unchanged, unread = set(), {}
    for i in inputs:
        if i.skip is None and i.source_file in done:
            try:
                digest = sha256_file(i.path)
            except OSError as e:
                unread[id(i)] = i.error or f"cannot read: {e.strerror or e}"
                continue
            if i.error is None and (not force or i.source_file in shared) and digest in done[i.source_file]:
                unchanged.add(id(i))
    if previous_copies is not None and unchanged:
        # A record with a copy in a file converted again (changed) is made anew from every copy of it: its winner took
        # the fields it lacked from older copies, which no table keeps (the rows of those files hold the records they
        # won). So the files given unchanged that hold its other copies are converted again too, and theirs in turn;
        # so are the files holding copies of a record an earlier version keyed otherwise (`_rekeyed`)
        again = {i.source_file for i in inputs if i.source_file in done and id(i) not in unchanged | unread.keys()}
        rekeyed = _rekeyed(previous_copies, previous_tables) - shared
        pulled = _sharing(previous_copies, (again | rekeyed) - shared) | rekeyed
        unchanged -= {id(i) for i in inputs if i.source_file in pulled and i.source_file not in shared}
    skipped = [i if id(i) in unchanged else replace(i, error=unread[id(i)]) for i in inputs
               if id(i) in unchanged or id(i) in unread]
    todo = [i for i in inputs if id(i) not in unchanged and id(i) not in unread]
    redone = {i.source_file for i in todo} - shared
    with executor(jobs, scheduler) as ex:
        earlier = {n: [s.filter(~pl.col("source_file").is_in(redone)) for s in slices]
                   for n, slices in previous_tables.items()}
        kept = _taken_in(earlier, spill_dir, ex)
        kept_generic = _generic_in(earlier)  # (the earlier files' rows of generic tables: this run may make none)
        files = [f.file for f in previous_files if f.file not in redone] + [i.source_file for i in todo]
        ahead = Ahead(files, spill_dir, ex, kept)
        reports, parts = convert_files(todo, progress, jobs, debug, spill_dir, ex, ahead)
        reports = [f for f in previous_files if f.file not in redone] + reports
        if previous_copies is not None:  # a record whose kept copy is converted again is noted anew
            orphans = previous_copies.filter(pl.col("kept") & pl.col("source_file").is_in(redone))
            previous_copies = previous_copies.join(orphans.select("table", "record"), on=["table", "record"],
                                                   how="anti").filter(~pl.col("source_file").is_in(redone))
        return combine(reports, _joined([kept, kept_generic, parts]), spill_dir, ex, previous_copies, ahead,
                       streamed), skipped


def _piped(inp: Input, work: Path | None) -> bool:
    """Whether `inp` came through a pipe, read once into the work folder `work` (or is a member of an archive that
    did)."""
    path = inp.path.archive if isinstance(inp.path, ArchiveMember) else inp.path
    return work is not None and isinstance(path, Path) and path.parent == work


def _rekeyed(copies: pl.DataFrame, tables: dict[str, list[pl.LazyFrame]]) -> set[str]:
    """The files holding a kept copy (`dedupe.COPIES` rows) of a record no row of its table, as this version keys
    it, is: an earlier version keyed the table otherwise (sense_insights by time and category alone, where two cards
    made at one moment were one record, the older lost) or hashed keys otherwise (another polars). Their records are
    made anew from their copies, converted again (`_sharing` adds the files holding the others)."""
    kept = copies.filter("kept").select("table", "record", "source_file")
    if not kept.height:
        return set()
    found = []
    for name in kept["table"].unique().to_list():
        table = TABLES.get(name)
        if table is None or table.derived:
            continue
        if table.group:  # a group's record is noted under the first of its tables, its rows in any of them
            key, names = ["participant_id", table.group], [t.name for t in TABLES.values() if t.group == table.group]
        else:
            key, names = list(table.key), [name]
        for frame in chain.from_iterable(tables.get(n, ()) for n in names):
            if set(key) <= set(frame.collect_schema().names()):
                found.append(frame.select(table=pl.lit(name), record=pl.struct(key).hash(), source_file="source_file"))
    known = pl.concat(found).unique().collect() if found else kept.clear()
    stale = kept.join(known, on=["table", "record", "source_file"], how="anti", nulls_equal=True)
    return set(stale["source_file"].to_list())


def _sharing(copies: pl.DataFrame, names: set[str]) -> set[str]:
    """The files that hold a copy of a record one of `names` holds a copy of (`dedupe.COPIES` rows), and so on."""
    held = copies.select("table", "record", "source_file")
    found = set(names)
    while True:
        records = held.filter(pl.col("source_file").is_in(found)).select("table", "record")
        more = set(held.join(records, on=["table", "record"], how="semi")["source_file"].unique()) - found
        if not more:
            return found - names
        found |= more


def _pseudonymised_again(
    tables: dict[str, list[pl.LazyFrame]], files: list[FileReport], copies: pl.DataFrame | None, key: bytes,
) -> tuple[dict[str, list[pl.LazyFrame]], list[FileReport], pl.DataFrame | None]:
    """An earlier run's tables, reports and copies with the files it named with their folders, and the participants
    it named by their ids, pseudonymised as a run with `key` names them: a pseudonymised run adding to an OUT written
    without --pseudonymize knows its files (skipped where unchanged) and leaves no folder or id in it. Copies are
    noted by a hash of their participant's id: where ids change, the earlier counts are added to instead (None)."""
    renamed = {f.file: n for f in files if (n := redaction.pseudonymised_again(f.file, key)) != f.file}
    people = {p: n for f in files if (p := f.participant_id) and (n := redaction.participant_again(p, key)) != p}
    if not renamed and not people:
        return tables, files, copies
    files = [replace(f, file=renamed.get(f.file, f.file), participant_id=people.get(f.participant_id,
                                                                                    f.participant_id))
             for f in files]
    columns = [pl.col("source_file").replace(renamed), pl.col("participant_id").replace(people)]
    # a generic table's row ids begin with their file's name (`alice/x.har#3/items/0`): renamed as it is
    ids = [pl.when(pl.col("source_file").is_in(list(renamed)) & pl.col(c).str.starts_with(pl.col("source_file")))
           .then(pl.concat_str(pl.col("source_file").replace(renamed),
                               pl.col(c).str.slice(pl.col("source_file").str.len_chars())))
           .otherwise(pl.col(c)).alias(c) for c in ("_row_id", "_parent_id")]
    tables = {name: [s.with_columns(*(ids[:1 + ("_parent_id" in s.collect_schema())] if name not in TABLES else []),
                                    *columns) for s in slices] for name, slices in tables.items()}
    if copies is not None:
        copies = None if people else copies.with_columns(pl.col("source_file").replace(renamed))
    return tables, files, copies


def merge(
    outputs: list[tuple[dict[str, list[pl.LazyFrame]], list[FileReport], pl.DataFrame | None]],
    spill_dir: Path | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> Conversion:
    """Combine the tables, reports and `copies.parquet` of several runs (e.g. shards of one archive) as if they were
    one run (an output without copies noted has its counts added to instead). A file several of them hold (the
    same folder given twice, shards that overlap: the same name and content) is taken once, from the first."""
    outputs = _each_file_once(outputs)
    copies = [c for _, _, c in outputs]
    with executor(jobs, scheduler) as ex:
        parts = [_taken_in(tables, spill_dir, ex) | _generic_in(tables) for tables, _, _ in outputs]
        earlier = None if any(c is None for c in copies) else pl.concat(copies) if copies else None
        return combine([f for _, files, _ in outputs for f in files], _joined(parts), spill_dir, ex, earlier)


def _each_file_once(
    outputs: list[tuple[dict[str, list[pl.LazyFrame]], list[FileReport], pl.DataFrame | None]],
) -> list[tuple[dict[str, list[pl.LazyFrame]], list[FileReport], pl.DataFrame | None]]:
    """The outputs to merge, each file in one alone: an output's files of a name whose every version there (by
    SHA-256) an output before it holds already are left out of it (their rows, reports and copies), so that a file
    is not counted twice, nor its records as duplicates of themselves. Files of a name in other versions stay."""
    taken: dict[str, set[str | None]] = {}
    once = []
    for tables, files, copies in outputs:
        versions: dict[str, set[str | None]] = {}
        for f in files:
            versions.setdefault(f.file, set()).add(f.sha256)
        again = {name for name, shas in versions.items() if shas <= taken.get(name, set())}
        for name, shas in versions.items():
            taken.setdefault(name, set()).update(shas)
        if again:
            tables = {n: [s.filter(~pl.col("source_file").is_in(again)) for s in slices] for n, slices in tables.items()}
            files = [f for f in files if f.file not in again]
            copies = None if copies is None else copies.filter(~pl.col("source_file").is_in(again))
        once.append((tables, files, copies))
    return once


def _taken_in(tables: dict[str, list[pl.LazyFrame]], spill_dir: Path | None, ex: Executor) -> dict[str, list[Part]]:
    """Tables of an earlier run, read in slices here (where OUT is), as parts (each slice sorted anew: a partitioned
    dataset is not read in key order)."""
    slices = [(name, s) for name, table in tables.items() if name in TABLES for s in table]
    spill_dir = spill_dir and spill_dir.absolute()
    here = Executor(ex.jobs if ex.local else usable_cores())
    done = here.map(_slice_part, [(name, s, TABLES[name].key, spill_dir) for name, s in slices])
    parts: dict[str, list[Part]] = {}
    for (name, _), (_, part) in zip(slices, sorted(done, key=lambda d: d[0])):
        if part.height:
            parts.setdefault(name, []).append(part)
    return parts


def _generic_in(tables: dict[str, list[pl.LazyFrame]]) -> dict[str, list[pl.DataFrame]]:
    """The generic tables of an earlier run (a shard), each a frame as a file's are, through the redaction policy
    again (as `_slice_part`'s); `combine` joins them with polars' supertypes and drops copies of a response."""
    return {name: [frame for s in table if (frame := redaction.earlier_rows(name, s.collect())).height]
            for name, table in tables.items() if name not in TABLES}


def _slice_part(task: tuple[str, pl.LazyFrame, tuple[str, ...], Path | None]) -> Part:
    """A slice of an earlier run's table, through the redaction policy again (that run's databack may have been
    older: what this policy wrote is left as it is)."""
    name, rows, key, folder = task
    return Part.of(redaction.earlier_rows(name, rows.collect(engine="in-memory")), key, folder)


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


def slurm_shard(env: Mapping[str, str]) -> tuple[int, int]:
    """The slice (I, N) of a Slurm job array's task, for `--shard auto`: `--array=1-32` gives its tasks 1/32 to 32/32,
    `--array=0-62:2` its 32 tasks too. ValueError where the environment cannot tell it: outside an array, ids not
    evenly spaced (`--array=1,3,8`), or an array of one task (`--array=5`, a task run again: every input would be its
    slice)."""
    task, first, step, count = (env.get(f"SLURM_ARRAY_TASK_{v}", "") for v in ("ID", "MIN", "STEP", "COUNT"))
    if not (task.isdigit() and count.isdigit()):
        raise ValueError("--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array)")
    if int(count) == 1:
        raise ValueError(f"--shard auto in an array of one task would take every input: give the slice, --shard "
                         f"I/N (task {task} of the array it was run again for)")
    offset, spacing = int(task) - int(first if first.isdigit() else 1), max(int(step), 1) if step.isdigit() else 1
    index = offset // spacing + 1
    if offset < 0 or offset % spacing or index > int(count):
        raise ValueError(f"--shard auto cannot tell task {task}'s slice in an array of {count} tasks whose ids are not "
                         "evenly spaced (--array=1,3,8): give --shard I/N")
    return index, int(count)


def convert_files(
    inputs: list[Input],
    progress: ProgressCallback | None = None,
    jobs: int = 1,
    debug: bool = False,
    spill_dir: Path | None = None,
    ex: Executor | None = None,
    ahead: Ahead | None = None,
) -> tuple[list[FileReport], dict[str, list]]:
    """Each input's report, in input order, and the rows of all of them: per table, its parts (generic tables: frames).
    Parts small enough to come back in memory are gathered as they come, and written as one part per table once
    they add up to `spill.SPILL_ROWS` (or `spill.MAX_PARTS` files), so that the parts to reduce stay few however many
    files there are. Those left at the end stay as they came (each sorted already): the reduce reads them as they
    are, rather than the run waiting for them to be gathered after its last file. With `ahead` (and local worker
    processes), the reduce of the files done starts once every file left is in a worker."""
    spill_dir = spill_dir and spill_dir.absolute()  # a part's path, wherever it is read
    if ex is not None and not ex.local:  # read by workers elsewhere, whose working folder is not this one
        inputs = [replace(i, path=i.path.absolute()) for i in inputs]
    separate_reader = ex is None or ex.local  # a Dask worker may not start processes of its own
    separate_reader = separate_reader and jobs >= 2 * min(jobs, len(inputs))  # two cores for each file at once
    reports: dict[int, FileReport] = {}  # input index -> its report
    parts: dict[str, list] = {}
    small: dict[str, list[Part]] = {}  # per table: parts come back in memory, not yet gathered
    held = files = 0
    with nullcontext(ex) if ex is not None else executor(jobs) as ex:
        # a run's one file is converted in this process: what it leaves at the end is kept in memory, not gathered
        # with other files' parts (with --jobs 1 and many files, each file's big tables still go to disk at its end)
        in_process = ex.local and len(inputs) <= 1
        done = ex.map_files(
            convert_file, inputs, progress, debug, separate_reader, spill_dir, in_process,
            cost=lambda inp: reading_cost(inp.path), lost=failed_file,
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
                            small.setdefault(name, []).append(part)
                            held += part.height
                        else:
                            parts.setdefault(name, []).append(part)
                last = len(reports) == len(inputs)
                if ahead and not ahead.started and jobs > 1 and ex.local and 0 < len(inputs) - len(reports) <= jobs:
                    for name, in_memory in small.items():
                        parts.setdefault(name, []).extend(in_memory)
                    small, held, files = {}, 0, 0
                    ahead.start(parts)
                if last and ex.local:  # what is left at the end stays in memory, as it came
                    for name, in_memory in small.items():
                        parts.setdefault(name, []).extend(in_memory)
                elif held >= spill.SPILL_ROWS or files >= spill.MAX_PARTS or last:
                    for name, in_memory in small.items():
                        rows = pl.concat([p.source for p in in_memory])
                        parts.setdefault(name, []).append(Part.of(rows, TABLES[name].key, spill_dir))
                    small, held, files = {}, 0, 0
    return [reports[i] for i in range(len(inputs))], parts


def combine(
    reports: list[FileReport],
    parts: dict[str, list],
    spill_dir: Path | None = None,
    ex: Executor | None = None,
    earlier_copies: pl.DataFrame | None = None,
    ahead: Ahead | None = None,
    streamed: bool = False,
) -> Conversion:
    """Rows of files (new, or kept from earlier runs and shards) as one de-duplicated set of tables; the copies
    dropped are counted in each file's report, from the copies noted here and by the earlier runs
    (`earlier_copies`: `dedupe.reconcile`), as one run would count them (without them, added to the counts
    each report has). Ties between copies captured at the same time go to the file whose
    name sorts last, however the files were listed, sharded or added. Each table (with a group: the group's tables
    together) is cut into ranges of its key, reduced each on its own, `ex`'s tasks at a time; a table bigger than
    what fits in `spill.HOLD_ROWS` comes back as `spill.Sorted` pieces in `spill_dir`. The ranges `ahead` reduced
    while the last files converted only take in the rows that came after. `streamed` (with local threads): the
    conversion is returned once the tables in memory are reduced, a table on disk as a `spill.Coming`, to be written
    as its ranges are done; its counts and copies are there once `Conversion.settle` returns."""
    spill.hand_back_freed()
    indexes = _indexes(r.file for r in reports)
    spill_dir = spill_dir and spill_dir.absolute()
    ex = ex or Executor()
    plan, _ = _plan(parts, indexes, spill_dir, ex, ahead.wait(indexes) if ahead else None)
    streamed = streamed and ex.local and ex.jobs > 1 and any(plan.values())
    if streamed:  # a table on disk that no view reads is handed to its writer as its ranges are done
        plan = {unit: [replace(task, hand=hand, index=i) for i, task in enumerate(tasks)]
                if (hand := _handoff(tasks)) else tasks for unit, tasks in plan.items()}
    tasks = [task for unit in plan.values() for task in unit]
    results = _reducing(tasks, ex) if streamed else [
        _done(result) for _, result in sorted(ex.map(reduce_range, tasks), key=lambda d: d[0])]
    others, generic_copies = {}, []
    for name in sorted(n for n in parts if n not in TABLES):
        others[name], dropped = generic.dedupe(pl.concat(parts[name], how="diagonal_relaxed"))
        generic_copies.append((name, dropped))

    def settle() -> pl.DataFrame:  # once every range is reduced: the copies, counted in the reports
        copies = pl.concat([pl.DataFrame(schema=COPIES), *(r.result().copies for r in results)])
        copies = copies if earlier_copies is None else reconcile(earlier_copies, copies)
        counted = losses(copies)
        for name, dropped in generic_copies:
            for source_file, n in dropped.iter_rows():
                counted.duplicates[source_file][name] += n
        named: set[str] = set()  # files of one name (`sync password=REDACTED.har`) share their copies: counted once
        for report in reports:
            if earlier_copies is not None:  # every copy is in `copies`: counted anew
                report.duplicates, report.conflicts = Counter(), Counter()
            if report.file in named:
                continue
            named.add(report.file)
            report.duplicates.update(counted.duplicates[report.file])
            report.conflicts.update(counted.conflicts[report.file])
        return copies

    ordered: dict[str, spill.Frame] = {}
    at = 0
    try:
        for unit in plan.values():
            names = list(unit[0].slices)
            ranges, at = results[at:at + len(unit)], at + len(unit)
            if streamed and len(names) == 1 and unit[0].folder is not None:  # written as its ranges are done
                key, forget = TABLES[names[0]].key, [partial(_forget, r, names[0]) for r in ranges]
                ordered[names[0]] = spill.Coming([partial(_range_of, r, names[0]) for r in ranges], key,
                                                 unit[0].hand, forget)
                continue
            for name in names:
                done = [frame for r in ranges if (frame := _range_of(r, name)).height]
                if done:
                    ordered[name] = spill.Sorted.joined(done) if isinstance(done[0], spill.Sorted) else pl.concat(done)
    except BaseException:
        futures.wait(results)  # none is left writing into the work folder
        raise
    ordered = {name: ordered[name] for name in TABLES if name in ordered}
    conversion = Conversion(reports, ordered | others, views=partial(views.derive, ordered), settling=settle,
                            reducing=results)
    # made while the tables are written; from a table on disk, once its writer is done with it (`writers.write`):
    # it held it whole, a row group, and the views read it whole (the 1 GB HAR's band_minutes: 200,000 rows)
    if not any(name in ordered and not isinstance(ordered[name], pl.DataFrame) for name in views.SOURCES):
        conversion.derive()
    if not streamed:
        conversion.settle()
    return conversion


def _reducing(tasks: list[Reduce], ex: Executor) -> list[Future]:
    """Each task's result to come, reduced in `ex.jobs` threads: the ranges kept in memory first (the views wait
    for their tables), then those on disk (written as each is done)."""
    pool = ThreadPoolExecutor(min(ex.jobs, len(tasks)), thread_name_prefix="databack-reduce")
    results: list[Future] = [None] * len(tasks)  # type: ignore[list-item]
    for i in sorted(range(len(tasks)), key=lambda i: tasks[i].folder is not None):
        results[i] = pool.submit(reduce_range, tasks[i])
    pool.shutdown(wait=False)
    return results


def _done(result: Reduced) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _range_of(result: Future, name: str) -> spill.Frame:
    """A table's rows in a range once it is reduced (none where the range never had any)."""
    return result.result().tables.get(name, pl.DataFrame())


def _forget(result: Future, name: str) -> None:
    """A range handed to its writer let go of, once taken (see `spill.Handoff`)."""
    result.result().tables.pop(name, None)


def _handoff(tasks: list[Reduce]) -> spill.Handoff | None:
    """A `spill.Handoff` for the ranges of a table on disk that a writer takes as they are done (`spill.Coming`),
    unless a view reads it (views read their tables whole, while the tables are written)."""
    names = list(tasks[0].slices) if tasks else []
    if len(names) != 1 or tasks[0].folder is None or names[0] in views.SOURCES:
        return None
    return spill.Handoff()


def _indexes(files: Iterable[str]) -> dict[str, int]:
    """Each source file's place among the run's file names: what breaks ties between equal capture times."""
    return {name: i for i, name in enumerate(sorted(set(files)))}


def _plan(
    parts: dict[str, list], indexes: dict[str, int], spill_dir: Path | None, ex: Executor, ahead: Ahead | None = None,
    noting: bool = False,
) -> tuple[dict[str, list[Reduce]], int]:
    """Per unit (a table, or the tables of a group), the task of each range of its key; and the rows of the units
    kept in memory once reduced (up to `spill.HOLD_ROWS`, or all of a run's one file kept in memory). A unit
    `ahead` reduced keeps its ranges: its tasks take the parts that came after. `noting`: the ranges note their
    records, to take in more rows later."""
    units: dict[str, list[str]] = {}  # what is reduced together: a table, or the tables of a group
    for name in TABLES:
        if parts.get(name):
            units.setdefault(TABLES[name].group or name, []).append(name)
    plan, held = {}, ahead.held if ahead else 0
    fresh = {unit: sum(p.height for name in names for p in parts[name]) for unit, names in units.items()
             if not (ahead and ahead.plan.get(unit))}
    # The rows of a run's one file, if they all stayed in memory while it was read (fewer than `spill.SPILL_ROWS`),
    # stay there once reduced, in place of their parts: the 15 % 200 MB HAR's 185,000 sensor samples written from
    # memory rather than streamed from their ranges took 0.06-0.08 s less CPU after the file, and peaked no higher.
    in_memory = len(indexes) == 1 and all(
        isinstance(p.source, pl.DataFrame) for names in units.values() for name in names for p in parts[name])
    kept = set()
    for unit in sorted(fresh, key=fresh.__getitem__):  # the smallest kept first: the biggest wait on disk
        if spill_dir is None or ex.local and (in_memory or held + fresh[unit] <= spill.HOLD_ROWS):  # (a cluster: disk)
            kept.add(unit)
            held += fresh[unit]
    for unit, names in units.items():
        prefix = TABLES[names[0]].key[:2] if TABLES[names[0]].group else TABLES[names[0]].key
        earlier = ahead.plan.get(unit) if ahead else None
        if earlier:
            new = {name: [p for p in parts[name] if id(p) not in ahead.taken] for name in names}
            bounds, folder = [task.high for task in earlier[:-1]], earlier[0].folder
        else:
            new = {name: parts[name] for name in names}
            unit_parts = [p for name in names for p in parts[name]]
            folder = None if unit in kept else spill_dir
            bounds = spill.ranges(unit_parts, prefix)
        edges = [None, *bounds, None]
        cuts = {name: [p.cut(bounds) for p in new[name]] for name in names}
        plan[unit] = []
        for r in range(len(bounds) + 1):
            slices = {name: [(p, *cut[r]) for p, cut in zip(new[name], cuts[name]) if cut[r][1] > cut[r][0]]
                      for name in names}
            done = (ahead.results[unit][r], earlier[r].slices) if earlier else (None, None)
            plan[unit].append(Reduce(slices, prefix, edges[r], edges[r + 1], indexes, folder, *done, noting=noting))
    return plan, held


class Ahead:
    """The reduce begun before the last files are done, on the rows of the files done (and of earlier runs): in a
    thread of this process, once every file left is in a worker, so that it runs as the workers' cores free up.
    After the last file, `combine` de-duplicates only the rows that came since, each range merging them into the
    range reduced here; a range where they share a record (a key, or a group's night) with the earlier rows is
    reduced again from all its rows. The tables and counts are those of a reduce of everything at the end."""

    def __init__(
        self, files: Iterable[str], spill_dir: Path | None, ex: Executor, earlier: dict[str, list[Part]] | None = None
    ) -> None:
        self.indexes = _indexes(files)  # of every file the run will combine
        self.spill_dir = spill_dir and spill_dir.absolute()
        self.ex, self.earlier = ex, earlier or {}
        self.taken: set[int] = set()  # the parts reduced here, by id
        self.plan: dict[str, list[Reduce]] = {}
        self.results: dict[str, list[Reduced]] = {}
        self.held = 0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, parts: dict[str, list]) -> None:
        """Reduce `parts` (those of the files done so far) in the background."""
        parts = _joined([self.earlier, {name: rows for name, rows in parts.items() if name in TABLES}])
        self.taken = {id(p) for rows in parts.values() for p in rows}
        self._thread = threading.Thread(target=self._run, args=(parts,), name="databack-ahead", daemon=True)
        self._thread.start()

    def _run(self, parts: dict[str, list[Part]]) -> None:
        try:
            plan, self.held = _plan(parts, self.indexes, self.spill_dir, self.ex, noting=True)
            tasks = [(unit, task) for unit, unit_tasks in plan.items() for task in unit_tasks]
            done = sorted(self.ex.map(reduce_range, [task for _, task in tasks]), key=lambda d: d[0])
            for (unit, _), (_, result) in zip(tasks, done):
                self.results.setdefault(unit, []).append(result)
            self.plan = plan
        except BaseException as e:  # raised in the run's thread by `wait`
            self._error = e

    def wait(self, indexes: dict[str, int]) -> Ahead | None:
        """This, once its reduce is done; None if it never started or ranked the files otherwise than `indexes`."""
        if self._thread is None:
            return None
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self if indexes == self.indexes else None


@dataclass(frozen=True)
class Reduce:
    """One range of keys of a table, or of the tables of a group: per table, the slices of its parts that hold it;
    and the range as reduced ahead (`Ahead`) from the slices of the parts before them, if it was."""

    slices: dict[str, list[tuple[Part, int, int]]]
    prefix: tuple[str, ...]
    low: tuple[Any, ...] | None
    high: tuple[Any, ...] | None
    indexes: dict[str, int]  # source file -> its place among the run's file names
    folder: Path | None  # where to write the range, if not kept in memory
    earlier: Reduced | None = None
    earlier_slices: dict[str, list[tuple[Part, int, int]]] | None = None
    noting: bool = False  # note the hashes of the range's records (`Reduced.records`): more rows are to come
    hand: spill.Handoff | None = None  # of a table on disk its writer takes range by range (see `spill.Handoff`)
    index: int = 0  # the range's place among its table's


@dataclass(frozen=True)
class Reduced:
    tables: dict[str, spill.Frame]  # the range, de-duplicated and sorted, in memory or written
    copies: pl.DataFrame  # `dedupe.COPIES` of the records seen more than once
    records: pl.Series | None = None  # a hash of each of its records (see `_records`), where they were noted


def _within_memory(reduce: Callable[[Reduce], Reduced]) -> Callable[[Reduce], Reduced]:
    """`reduce`, run once the ranges reduced at once (threads of this process) hold no more than `spill.REDUCE_BYTES`
    with this one and the row groups writers hold (`spill.reducing`), or alone: two ranges of a wide table
    (band_minutes' 70,000 rows of 27 columns, twice each, as read and sorted) would otherwise add some 100 MB to the
    peak at once, and two ranges beside the writer of band_minutes' 200,000 rows (1 GB HAR) some 40 MB."""

    @functools.wraps(reduce)
    def within(task: Reduce) -> Reduced:
        with spill.reducing(_range_bytes(task)):
            return reduce(task)

    return within


def _range_bytes(task: Reduce) -> int:
    """What reducing a range holds at most, about: its rows twice (as read, and sorted)."""
    slices = [(name, stop - start) for name, parts in task.slices.items() for _, start, stop in parts]
    return 2 * sum(rows * spill.row_bytes(TABLES[name].schema) for name, rows in slices)


@_within_memory
def reduce_range(task: Reduce) -> Reduced:
    """A range de-duplicated and sorted: its rows read from their parts, and copies dropped and counted. A range
    reduced ahead takes in the new rows, de-duplicated on their own, unless they share a record with it (in a range
    on disk, they are written beside it, to be sorted in as it is written)."""
    if task.earlier is None:
        return _reduced(task, *dedupe(*_read_range(task, task.slices)))
    if not any(task.slices.values()):
        return task.earlier
    names = list(task.slices)
    tables, copies, new_records, ordered = _new_rows(*_read_range(task, task.slices))
    if _share_records(names, task.earlier, tables, new_records):
        slices = {name: task.earlier_slices.get(name, []) + rows for name, rows in task.slices.items()}
        return _reduced(task, *dedupe(*_read_range(task, slices)))
    copies = pl.concat([task.earlier.copies, copies])  # of other records
    merged: dict[str, spill.Frame] = {}
    for name in task.slices:
        new, earlier = tables[name].drop(FILE_INDEX), task.earlier.tables.get(name)
        new = new if name in ordered else by_key(TABLES[name], new)
        if earlier is None or not earlier.height or not new.height:
            merged[name] = new if earlier is None or not earlier.height else earlier
        elif isinstance(earlier, spill.Sorted):
            merged[name] = earlier.merged(new, task.folder)
        elif (blocks := spill.merged_in_order([earlier, new], TABLES[name].key)) is not None:
            merged[name] = blocks
        else:
            merged[name] = pl.concat([earlier, new]).sort(list(TABLES[name].key), nulls_last=True, maintain_order=True)
    noted = task.earlier.records
    records = pl.concat([noted, new_records]) if task.noting and noted is not None and new_records is not None else None
    return _reduced(task, merged, copies, records)


def _new_rows(
    frames: dict[str, pl.DataFrame], ordered: Collection[str] = ()
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.Series | None, Collection[str]]:
    """The rows that came after a range was reduced ahead (the frames of one unit, those named in `ordered` in key
    order), de-duplicated, their copies, a hash of each row's record (`_records`), and the tables whose rows are in
    key order. A table without a group whose rows hold no two copies of a record (as those hashes tell: two records
    hashed alike only send it through `dedupe`) is left as it came, its rows not checked for copies one by one (the
    last two files' 100,000 sensor samples: 0.024 s of CPU for `dedupe` of their seven ranges)."""
    names = list(frames)
    if len(names) == 1 and not TABLES[names[0]].group:
        hashes = _records(names, frames)
        if hashes is None or not hashes.is_duplicated().any():
            return frames, pl.DataFrame(schema=COPIES), hashes, ordered
    tables, copies = dedupe(frames, ordered)
    return tables, copies, _records(names, tables), names


def _read_range(
    task: Reduce, slices: dict[str, list[tuple[Part, int, int]]]
) -> tuple[dict[str, pl.DataFrame], set[str]]:
    """The range's rows of each table, in one chunk, and the tables whose rows are in key order as read
    (`spill.in_key_order`: no sort). One chunk, as polars' check, sort and writing of the slices' many chunks
    allocate more (the full export's 830,000 sensor samples in 17 ranges: 125,000 page faults, against 104,000 in
    one chunk, and 85,000 where the slices in key order need no sort)."""
    file_index = pl.col("source_file").replace_strict(task.indexes, default=-1, return_dtype=pl.Int64)
    frames, ordered = {}, set()
    for name, parts in slices.items():
        rows = [part.read_in(start, stop, task.low, task.high) for part, start, stop in parts]
        if (in_order := spill.in_key_order(rows, TABLES[name].key)) is not None:
            rows = in_order
            ordered.add(name)
        df = pl.concat(rows, rechunk=True) if rows else pl.DataFrame(schema=TABLES[name].schema)
        frames[name] = df.with_columns(file_index.alias(FILE_INDEX))
    return frames, ordered


def _reduced(
    task: Reduce, tables: dict[str, spill.Frame], copies: pl.DataFrame, records: pl.Series | None = None
) -> Reduced:
    """The range's tables, written to its folder if it has one; with `noting`, its records' hashes (`records`, else
    worked out here from its frames)."""
    if task.noting and records is None:
        records = _records(list(tables), tables)
    out = {}
    for name, df in tables.items():
        if isinstance(df, pl.DataFrame):
            df = df.drop(FILE_INDEX, strict=False)
            if task.folder is not None and df.height and not (task.hand and task.hand.wanted(task.index)):
                df = spill.Sorted.written([df], task.folder, TABLES[name].key)
        out[name] = df
    return Reduced(out, copies, records)


def _record(names: list[str]) -> list[str] | None:
    """The columns that name a record of these tables (one unit): a row's key, or for tables with a group, a group
    (the rows of one night); None for rejects, which are never de-duplicated."""
    table = TABLES[names[0]]
    if table.name == "rejects":
        return None
    return ["participant_id", table.group] if table.group else list(table.key)


def _records(names: list[str], tables: dict[str, spill.Frame]) -> pl.Series | None:
    """A hash of the record of each row of `tables` (frames in memory) of one unit (`_record`): rows of one record
    hash alike, and rows of two records almost never do."""
    record = _record(names)
    if record is None:
        return None
    hashes = [df.select(pl.struct(record).hash()).to_series() for name, df in tables.items() if name in names]
    return pl.concat(hashes) if hashes else pl.Series(dtype=pl.UInt64)


def _share_records(
    names: list[str], earlier: Reduced, new: dict[str, pl.DataFrame], new_records: pl.Series | None
) -> bool:
    """Whether rows of `new` are copies of a record in `earlier` (a range of one unit, see `_record`). Where the
    earlier range noted its records' hashes, by them (two records hashed alike only make the range be reduced again
    from all its rows, which gives the same tables)."""
    record = _record(names)
    if record is None:
        return False
    if earlier.records is not None and new_records is not None:  # the set made of the fewer hashes (the new rows'
        fewer, more = sorted((new_records, earlier.records), key=len)  # mostly: 0.7 -> 0.45 ms a range of 45,000)
        return more.is_in(fewer.implode()).any()
    table = TABLES[names[0]]

    def records(tables: dict[str, spill.Frame]) -> pl.DataFrame:
        frames = [df.select(record) if isinstance(df, pl.DataFrame) else df.columns(record)
                  for name, df in tables.items() if name in names]
        return pl.concat(frames or [pl.DataFrame(schema={c: table.schema[c] for c in record})])

    return records(new).join(records(earlier.tables), on=record, how="semi", nulls_equal=True).height > 0


class RowBuffer:
    """One file's rows per table, gathered as columns and turned into polars frames of the table's schema every
    `BATCH` rows (or once the exchanges buffered hold `HELD_BYTES` of bodies), all tables at once. An exchange whose
    rows a frame cannot hold (a value too big for its column, of the wrong type) is taken out of every table by
    itself: its `undo` gives the rows that stand for it instead (a reject), and the others are kept. Rows columnar
    decoding makes (`Later`) are made once `LATER_ROWS` of them wait (the kinds with many of them) or at the flush,
    those of one kind converted together into frames (already of the table's types; their provenance added at the
    flush); an exchange whose rows they cannot make (a value the decoder refuses) is taken out as above, with the
    decoder's reason, and one taken out leaves none of its frames. The device tables' text is redacted (`_redacted`)
    as their frames become a part."""

    BATCH = 100_000  # rows of all tables together (frames of 10,000 rows of all tables cost 15 % more time)
    HELD_BYTES = 64 << 20
    LATER_ROWS = 50_000  # rows of `Later`s made at once: enough to share polars' cost, while their payloads wait

    def __init__(self, spill_dir: Path | None = None, end_on_disk: bool = True) -> None:
        self._columns: dict[str, dict[str, list]] = {}  # table -> column (provenance included) -> values
        self._added: list[_Added] = []  # the exchanges whose rows are in `_columns`, in order
        self._decoded: list[tuple[str, pl.DataFrame, dict[str, Any]]] = []  # decoders' frames not yet flushed:
        # (table, frame, provenance), in order
        self._buffered = self._held_bytes = 0
        self._frames: dict[str, list[pl.DataFrame]] = {}
        self._spilled: dict[str, list[Future[Part]]] = {}  # table -> parts written (or being written) to `spill_dir`
        self._writing: ThreadPoolExecutor | None = None  # writes them while rows go on coming
        self._in_flight: list[Future[Part]] = []  # the parts of the last spill
        self._spill_dir = spill_dir
        self._end_on_disk = end_on_disk  # a worker's: what is left at the end would be pickled back otherwise
        self._held = 0  # rows in `_frames`
        self._later = 0  # rows of the `Later`s in `_decoded`
        self._flushing = False

    def add(
        self, rows: Rows, provenance: dict[str, Any], undo: Callable[[str], Rows] | None = None, held_bytes: int = 0
    ) -> Counter[str]:
        """Add the rows of one exchange, all with the same provenance; returns how many went into each table.
        Captured text must have passed the redaction policy: `source_file` is `Safe`, a reject row a `SafeRow`.
        `undo(reason)` is called if the exchange's rows cannot be built into frames: it gives the rows to add instead
        (`held_bytes`: what keeping it until then holds in memory)."""
        redaction.require(provenance["source_file"], "source_file")
        if self._later >= self.LATER_ROWS and not self._flushing:
            self._make_later(self.LATER_ROWS // 8)  # before the exchange is added, as the flush
        if (self._buffered >= self.BATCH or self._held_bytes >= self.HELD_BYTES) and not self._flushing:
            self._flush()  # before the exchange is added: `undo` is never called while its caller is still counting
        counts: Counter[str] = Counter()
        starts = {table: len(columns["source_entry"]) for table, columns in self._columns.items()}
        pieces = len(self._decoded)
        framed: Counter[str] = Counter()
        try:
            for table, row in rows:
                if table == "rejects" and not isinstance(row, SafeRow):
                    raise redaction.Unredacted("rejects rows are made by redaction.reject_row")
                if isinstance(row, Later):
                    self._decoded.append((table, row, provenance))
                    framed[table] += row.height
                    continue
                if table not in self._columns:
                    self._columns[table], starts[table] = _empty_columns(table), 0
                counts[table] += _append_row(self._columns[table], table, row)
        except BaseException:  # nothing of the exchange stays
            self._truncate(starts)
            del self._decoded[pieces:]
            raise
        self._later += framed.total()
        for table, n in counts.items():
            columns = self._columns[table]
            for name, value in provenance.items():
                columns[name].extend(repeat(value, n))
        if counts or framed:
            spans = {t: (starts[t], starts[t] + n) for t, n in counts.items()}
            self._added.append(_Added(spans, undo, (pieces, len(self._decoded)), provenance))
            self._buffered += counts.total()
            self._held_bytes += held_bytes
        self._buffered += framed.total()
        return counts + framed

    def _truncate(self, lengths: dict[str, int]) -> None:
        for table, columns in list(self._columns.items()):
            for values in columns.values():
                del values[lengths.get(table, 0):]

    def _flush(self) -> None:
        """The buffered rows of every table become frames. Should a table's frame fail, the exchanges whose rows
        fail on their own are taken out (and their `undo` rows put in), and the frames built again."""
        self._flushing = True
        try:
            self._make_later()
            frames = {table: _frame(table, columns) for table, columns in self._columns.items()}
        except _Unbuildable:
            self._take_out_failing()
            frames = {table: _frame(table, columns) for table, columns in self._columns.items()}  # raises: a bug
        finally:
            self._flushing = False
        for table, df in _decoded_frames(self._decoded).items():  # in the order of the exchanges, as rows are
            frames[table] = df if table not in frames else pl.concat([frames[table], df]).sort(
                "source_entry", maintain_order=True)  # (rows and frames of one table: where some fell back)
        self._columns, self._added, self._buffered, self._held_bytes, self._decoded = {}, [], 0, 0, []
        for table, df in frames.items():
            self._frames.setdefault(table, []).append(df)
            self._held += df.height
        if self._spill_dir is not None and self._held >= spill.SPILL_ROWS:
            for part in self._in_flight:  # one spill written at a time: rows held stay bounded
                part.result()
            self._in_flight = []
            heights = {name: sum(df.height for df in dfs) for name, dfs in self._frames.items()}
            small = sum(n for n in heights.values() if n < spill.PART_ROWS) < spill.SPILL_ROWS // 2
            for name, n in heights.items():  # small tables stay (unless many): not cut in parts of a few rows each,
                if n >= spill.PART_ROWS or not small:  # written and read back one by one
                    self._in_flight.append(self._spill(name))

    def _make_later(self, least: int = 0) -> None:
        """The `Later`s buffered as frames, those of one table and kind converted together (`columns.made`), else
        value by value; the exchanges whose rows they cannot make are taken out (`_take_out`). Only the kinds of
        which at least `least` rows wait: the others wait for the flush, where they are made with more of their kind
        (each conversion costs some milliseconds whatever its rows)."""
        kinds: dict[tuple[str, Callable], list[int]] = {}  # (table, convert) -> indexes in `_decoded`
        waiting: Counter[tuple[str, Callable]] = Counter()
        for i, (table, rows, _) in enumerate(self._decoded):
            if isinstance(rows, Later):
                kinds.setdefault((table, rows.convert), []).append(i)
                waiting[table, rows.convert] += rows.height
        self._later = 0  # (those left wait at most until the flush: `BATCH` rows)
        kinds = {kind: indexes for kind, indexes in kinds.items() if waiting[kind] >= least}
        if not kinds:
            return
        failing: dict[int, str] = {}  # index in `_decoded` -> reason
        flushing, self._flushing = self._flushing, True  # (no flush while an exchange is taken out)
        try:
            for (table, _), indexes in kinds.items():
                for i, df in zip(indexes, columns.made([self._decoded[i][1] for i in indexes])):
                    table, later, provenance = self._decoded[i]
                    if df is None:
                        try:
                            df = _rows_frame(table, later.slow())
                        except _Unbuildable as e:
                            failing[i] = str(e)
                        except (ValueError, TypeError, KeyError, ArithmeticError) as e:
                            failing[i] = devices.undecodable(e)
                        except Exception as e:  # a bug of databack's: this exchange alone, as `_route_exchange` does
                            failing[i] = f"databack failed on this exchange ({type(e).__name__})"
                    self._decoded[i] = (table, df, provenance)
            if failing:
                self._take_out({n: failing[i] for n, added in enumerate(self._added)
                                for i in range(*added.pieces) if i in failing})
        finally:
            self._flushing = flushing

    def _take_out_failing(self) -> None:
        failing: dict[int, str] = {}  # index in `_added` -> reason
        for i, added in enumerate(self._added):
            for table, (start, stop) in added.spans.items():
                columns = self._columns[table]
                try:
                    _frame(table, {name: values[start:stop] for name, values in columns.items()})
                except _Unbuildable as e:
                    failing[i] = str(e)
                    break
        if failing:
            self._take_out(failing)

    def _take_out(self, failing: dict[int, str]) -> None:
        """The exchanges of `failing` (index in `_added` -> reason) out of every table, their `undo` rows in."""
        added_before, columns = self._added, self._columns
        dropped = {j for i in failing for j in range(*added_before[i].pieces)}  # the failing exchanges' frames
        kept = [j for j in range(len(self._decoded)) if j not in dropped]
        self._decoded, at = [self._decoded[j] for j in kept], {j: n for n, j in enumerate(kept)}
        self._columns, self._added, self._buffered = {}, [], 0
        for i, added in enumerate(added_before):  # the rows of the others, each exchange's rows together as they were
            if i in failing:
                continue
            for table, (start, stop) in added.spans.items():
                target = self._columns.setdefault(table, _empty_columns(table))
                begin = len(target["source_entry"])
                for name, values in columns[table].items():
                    target[name].extend(values[start:stop])
                added.spans[table] = (begin, begin + stop - start)
            start, stop = added.pieces
            added.pieces = (at.get(start, len(kept)), at.get(start, len(kept)) + stop - start)
            self._added.append(added)
            self._buffered += sum(stop - start for start, stop in added.spans.values())
        for i, reason in failing.items():
            added = added_before[i]
            if added.undo is None:  # rows made to stand for an exchange (a reject) that no frame holds: a bug
                raise ValueError(f"rows no frame holds: {reason}")
            self.add(added.undo(reason), added.provenance)

    def _spill(self, table: str) -> Future[Part]:
        """The table's frames sorted and written to `spill_dir` as a part, in a thread: the decoding goes on meanwhile
        (polars lets go of the GIL), rather than waiting for the sort and the write."""
        if self._writing is None:
            self._writing = ThreadPoolExecutor(1, thread_name_prefix="databack-spill")
        part = self._writing.submit(_spilled, table, [self._frames.pop(table)], self._spill_dir)
        self._spilled.setdefault(table, []).append(part)
        self._held = sum(df.height for dfs in self._frames.values() for df in dfs)
        return part

    def parts(self) -> dict[str, list[Part]]:
        """Every table's rows as parts, in the order of the rows: written to disk once they passed `SPILL_ROWS`,
        and what is left too if it is `spill.PART_ROWS` or more and `end_on_disk`; else in memory."""
        if self._columns or self._decoded:
            self._flush()
        for table in list(self._frames):
            rows = sum(df.height for df in self._frames[table])
            if table in self._spilled or rows >= spill.PART_ROWS and self._spill_dir is not None and self._end_on_disk:
                self._spill(table)
        memory = {name: [Part.of(_redacted(name, pl.concat(self._frames.pop(name))), TABLES[name].key)]
                  for name in list(self._frames)}
        if self._writing is not None:
            self._writing.shutdown()
        spilled = {name: [part.result() for part in parts] for name, parts in self._spilled.items()}
        return {name: spilled.get(name, []) + memory.get(name, []) for name in {**spilled, **memory}}


def _spilled(table: str, frames: list[list[pl.DataFrame]], folder: Path) -> Part:
    """A part of `table` written from the frames in `frames` (redacted), taken out of it: they are freed once sorted,
    not held until written."""
    return Part.of(_redacted(table, pl.concat(frames.pop())), TABLES[table].key, folder)


@dataclass(slots=True)
class _Added:
    """The rows one exchange added to a `RowBuffer`: per table, their span in its columns."""

    spans: dict[str, tuple[int, int]]
    undo: Callable[[str], Rows] | None
    pieces: tuple[int, int]  # the range of its decoders' frames in `RowBuffer._decoded`
    provenance: dict[str, Any]


class _Unbuildable(ValueError):
    """A column of a table could not be built from the values buffered for it."""


def _frame(table: str, columns: dict[str, list]) -> pl.DataFrame:
    """The buffered rows of `table` as a frame, built a column at a time: a query to cast the times took as long as
    building the frame, for the few rows a small capture has. Raises `_Unbuildable` naming the column (never the
    value, which is captured data) where a value is one its column cannot hold: strict, never a silent null."""
    series = []
    for name, dtype, is_time in BUFFER_COLUMNS[table]:
        try:
            column = pl.Series(name, columns[name], dtype, strict=True)
            series.append(column.cast(UTC_TIME) if is_time else column)
        except Exception as e:
            raise _Unbuildable(f"a value that {table}.{name} ({dtype}) cannot hold ({type(e).__name__})") from None
    return pl.DataFrame(series)


def _redacted(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """A table's frame with credentials in its text replaced (`redaction.strict_frame`): once for all the frames of a
    part, as it is made (a query a frame cost 1 ms each, some 100 for the full export); rejects are rows the policy
    made whole."""
    return df if table == "rejects" else redaction.strict_frame(df)


def _append_row(columns: dict[str, list], table: str, row: dict | Block) -> int:
    """A row, or a block's rows, appended to `table`'s row columns (a column the row lacks: null); how many."""
    if isinstance(row, Block):
        for name in ROW_COLUMNS[table]:
            values = row.columns.get(name)
            columns[name].extend(values if values is not None else repeat(None, row.height))
        return row.height
    for name in ROW_COLUMNS[table]:
        columns[name].append(row.get(name))
    return 1


def _rows_frame(table: str, rows: Rows) -> pl.DataFrame:
    """Rows of `table` (rows and blocks) as a frame of its row columns, as `_frame` builds them (`_Unbuildable`)."""
    columns: dict[str, list] = {name: [] for name in ROW_COLUMNS[table]}
    for _, row in rows:
        _append_row(columns, table, row)
    series = []
    for name, dtype in TABLES[table].row_schema.items():
        try:
            series.append(pl.Series(name, columns[name], dtype, strict=True))
        except Exception as e:
            raise _Unbuildable(f"a value that {table}.{name} ({dtype}) cannot hold ({type(e).__name__})") from None
    return pl.DataFrame(series)


def _decoded_frames(pieces: list[tuple[str, pl.DataFrame, dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """Decoders' frames, (table, frame, provenance) each, as one frame per table of the buffer's: with their
    provenance, times as UTC, a column the decoders left out null; strict, as `_frame`."""
    tables: dict[str, tuple[list[pl.DataFrame], list[dict[str, Any]]]] = {}
    for table, frame, provenance in pieces:
        frames, provenances = tables.setdefault(table, ([], []))
        frames.append(frame)
        provenances.append(provenance)
    out = {}
    for table, (frames, provenances) in tables.items():
        df = frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)
        given = {c.name: c for c in df.get_columns()}
        heights = [frame.height for frame in frames]
        given |= {name: _runs(name, [p[name] for p in provenances], heights, dtype)
                  for name, dtype in PROVENANCE_SCHEMA.items()}
        series = []
        for name, dtype, is_time in BUFFER_COLUMNS[table]:
            column = given.get(name)
            if column is None:
                column = pl.Series(name, [None], dtype).new_from_index(0, df.height)
            column = column.cast(dtype, strict=True)
            series.append(column.cast(UTC_TIME) if is_time else column)
        out[table] = pl.DataFrame(series)
    return out


def _runs(name: str, values: list, counts: list[int], dtype: pl.DataType) -> pl.Series:
    """Each value repeated its count of times, a run of equal values at once (a file's provenance is one value for
    all its rows, or one an exchange): a Python object a row only where runs are short (a Series costs some 10 µs)."""
    runs: list[list] = []  # [value, count]
    for value, count in zip(values, counts):
        if runs and runs[-1][0] == value and type(runs[-1][0]) is type(value):
            runs[-1][1] += count
        else:
            runs.append([value, count])
    if len(runs) * 200 > sum(counts):
        return pl.Series(name, list(chain.from_iterable(map(repeat, values, counts))), dtype, strict=True)
    parts = [pl.Series(name, [value], dtype, strict=True).new_from_index(0, count) for value, count in runs if count]
    return pl.concat(parts) if parts else pl.Series(name, [], dtype)


def _empty_columns(table: str) -> dict[str, list]:
    return {name: [] for name in (*ROW_COLUMNS[table], *PROVENANCE_SCHEMA)}


def convert_file(
    inp: Input,
    debug: bool = False,
    separate_reader: bool = False,
    spill_dir: Path | None = None,
    in_process: bool = False,
) -> tuple[FileReport, FileRows]:
    """One input's report and rows (not yet de-duplicated against other files). A bug of databack's fails this
    file alone with a one-line message (with `debug`, it raises for its traceback). With `separate_reader`, the
    capture is parsed by a process of its own while this one decodes (two cores for one file). With `spill_dir`,
    rows beyond `spill.SPILL_ROWS` are written there, and the file's last `spill.PART_ROWS` or more of a table too
    unless it is the run's one file converted `in_process` (nothing is pickled or gathered: they stay in memory);
    `spill.SpillFailed` (a full disk) stops the run."""
    try:
        with limits.applied(inp.limits), collector.converting():
            return _convert_file(inp, separate_reader, spill_dir, debug, in_process)
    except spill.SpillFailed:
        raise  # not this file's fault: the run stops
    except Exception as e:
        if debug:
            raise
        return failed_file(inp, f"internal error ({type(e).__name__}); run again with --debug to see where")


def failed_file(inp: Input, why: str) -> tuple[FileReport, FileRows]:
    """The report and (no) rows of an input that failed as a whole, for `why`."""
    return FileReport(inp.source_file, participant_id=inp.participant_id, status="failed",
                      error=redaction.message(why)), {}


def _convert_file(
    inp: Input, separate_reader: bool, spill_dir: Path | None, debug: bool = False, in_process: bool = False
) -> tuple[FileReport, FileRows]:
    report = FileReport(inp.source_file, participant_id=inp.participant_id)
    if inp.error or inp.skip:
        report.status, report.error = "failed" if inp.error else "skipped", redaction.message(inp.error or inp.skip)
        return report, {}
    # the reading process takes the hash once it has read the file; so does this one for a compressed tar's member,
    # whose data is hashed as it is read (archives._Cursors), not decompressed from the archive's start again
    if separate_reader or getattr(inp.path, "compression", None):
        frames = _read_file(inp, report, separate_reader, spill_dir, debug, in_process)
        report.sha256 = report.sha256 or sha256_or_none(inp.path)  # (unless the file was not read there)
        return report, frames
    with ThreadPoolExecutor(1) as hashing:  # the hash is taken beside the parse: hashlib lets go of the GIL
        digest = hashing.submit(sha256_or_none, inp.path)
        frames = _read_file(inp, report, separate_reader, spill_dir, debug, in_process)
        report.sha256 = digest.result()  # None if unreadable now, though read above: the next run converts it again
    return report, frames


def _read_file(
    inp: Input,
    report: FileReport,
    separate_reader: bool,
    spill_dir: Path | None,
    debug: bool = False,
    in_process: bool = False,
) -> FileRows:
    rows, others = RowBuffer(spill_dir, end_on_disk=not in_process), generic.GenericRecords()
    unreadable: Counter[str] = Counter()  # entries not read at all: reason -> count
    troubles: Counter[str] = Counter()  # device responses rejected for damage or failures: reason -> count
    try:
        report.size_bytes = inp.path.stat().st_size
        report.format = detect_format(inp.path)
    except OSError as e:
        report.status, report.error = "failed", redaction.message(f"cannot read the file: {e.strerror or e}")
        return {}
    if report.format is None:
        reason = not_a_capture(inp.path, report.size_bytes)
        report.status, report.error = ("failed" if claims_capture(inp) else "skipped"), redaction.message(reason)
        return {}
    try:
        limited: Counter[str] = Counter()  # exchanges and entries over a limit, by the limit's reason
        if report.format == "json":
            _note_unknown_shapes(report, _convert_saved(inp, report, rows, limited))
            _note_limits(report, limited)
            return rows.parts()
        if separate_reader:
            items = read_capture_beside(
                inp.path, report.format, inp.name, inp.generic, lambda d: setattr(report, "sha256", d), pause=True
            )
        else:
            items = read_capture(inp.path, report.format, display_name=inp.name, wants_body=BodyWanted(inp.generic))
        unknown_shapes = 0
        for item in items:
            if item is PARSED:  # the reading process's hash comes next: taken while the last frames are made, below
                break
            if isinstance(item, CaptureError) and item.message == NOT_A_HAR and not report.exchanges:
                unknown_shapes += _convert_saved(inp, report, rows, limited)
            elif isinstance(item, Exchange):
                report.exchanges += 1
                _note_entry_limits(item, limited)
                if item.status is None:
                    report.no_response[no_response_reason(item.error)] += 1
                unknown_shapes += _route_exchange(
                    item, inp, report, rows, others, troubles, limited=limited, debug=debug
                )
            elif isinstance(item, Decoded):
                report.exchanges += 1
                _note_entry_limits(item.exchange, limited)
                if item.exchange.status is None:
                    report.no_response[no_response_reason(item.exchange.error)] += 1
                unknown_shapes += _route_exchange(
                    item.exchange, inp, report, rows, others, troubles, item.decoding, limited, debug
                )
            elif isinstance(item, NotDevice):  # counted by the reading process: what `_route_exchange` would do
                report.exchanges += item.hosts.total()
                report.not_device += item.hosts.total()
                report.no_response.update(item.no_response)
                report.unrecognised_hosts.update({redaction.host(h): n for h, n in item.hosts.items()})
            elif isinstance(item, Skipped):
                report.skipped_entries[item.kind] += 1
                if item.reason and limits.names_a_limit(item.reason):
                    limited[item.reason] += 1
                elif item.reason:
                    unreadable[item.reason] += 1
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
    if in_process:  # the run's one file: what decoding freed goes back before its last frames are built on top of it
        spill.hand_back_freed()  # (a worker's next file would fault it in again)
    tables = rows.parts() | generic.frames(others)  # (rows no frame holds are rejected while building them)
    if separate_reader:
        for _ in items:  # the reading process's hash (`on_digest`), and its end
            pass
    _note_troubles(report, unreadable, troubles)
    return tables


def _note_entry_limits(ex: Exchange, limited: Counter[str]) -> None:
    """What a limit left out of the exchange's entry (its request body, values nested too deep) is counted as an entry
    over that limit, once (a device response rejected for it is not counted again)."""
    for reason in (ex.request_body_error, *(ex.damaged or "").split("; "), ex.left_out):
        if reason and limits.names_a_limit(reason):
            limited[reason] += 1


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
    troubles: Counter[str],
    predecoded: devices.Decoding | None = None,
    limited: Counter[str] | None = None,
    debug: bool = False,
) -> bool:
    """Count the exchange in its report category; a device response goes into `rows` (decoded here, or as
    `predecoded` by the reading process), a rejected one into the `rejects` table (one over a limit counted in
    `limited` too). True for a device response rejected because its shape is not one databack knows. Whatever goes
    wrong in the exchange (a damaged entry, a value no column holds, a bug of databack's) rejects it alone, its
    reason counted in `troubles` (with `debug`, a bug raises, for its traceback)."""
    provenance = {
        "participant_id": inp.participant_id,
        "source_file": inp.source_file,
        "source_entry": ex.source_entry,
        "captured_at": datetime_us(ex.captured_at),
    }
    try:
        return _route(ex, inp, report, rows, others, troubles, provenance, predecoded, limited)
    except spill.SpillFailed:
        raise  # not this exchange's fault: the run stops
    except Exception as e:
        if debug:
            raise
        reason = f"databack failed on this exchange ({type(e).__name__})"
        troubles[reason] += 1
        rows.add([("rejects", _reject_row(_endpoint_name(ex), ex, reason, ex.body))], provenance)
        report.rejects += 1
        return False


def _route(
    ex: Exchange,
    inp: Input,
    report: FileReport,
    rows: RowBuffer,
    others: generic.GenericRecords,
    troubles: Counter[str],
    provenance: dict[str, Any],
    predecoded: devices.Decoding | None,
    limited: Counter[str] | None,
) -> bool:
    """`_route_exchange`, which is called again should this raise: nothing is counted before all else is done."""
    m = devices.match(ex.host, ex.method, ex.path)
    if m is None:
        table = None
        try:
            if (payload := _generic_payload(ex, inp)) is not None:
                table = generic.table_name(ex.host, ex.path)
                others.add(table, redaction.generic_payload(payload), provenance)
        except limits.LimitHit as e:  # a response of a host chosen for generic export, over a limit
            row = _reject_row(table or generic.table_name(ex.host, ex.path), ex, str(e), ex.body)
            rows.add([("rejects", row)], provenance)
            report.rejects += 1
            if limited is not None:
                limited[str(e)] += 1
            return False
        if table is not None:
            report.generic_responses[table] += 1
            return False
        host = redaction.host(ex.host)
        report.not_device += 1
        report.unrecognised_hosts[host] += 1
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
    if ex.damaged:  # the capture's entry itself is damaged: what is left of it is not decoded
        problem, decoded, unknown = f"damaged entry: {ex.damaged}", [], ()
    else:
        problem, decoded, unknown = predecoded or devices.decode(ex, m)
    if problem is not None:
        rows.add([("rejects", _reject_row(ep.name, ex, problem, devices.read_body(ex, ep.reads)))], provenance)
        report.rejects += 1
        if ex.damaged:
            troubles[problem] += 1
        counted = ex.damaged or problem == ex.request_body_error  # counted as the file was read
        if limited is not None and limits.names_a_limit(problem) and not counted:
            limited[problem] += 1
        return isinstance(problem, devices.UnknownShape)

    def undo(reason: str) -> Rows:  # the rows fit no frame: the response is rejected after all
        _uncount_decoded(report, ep.name, counts, unknown_names)
        if not isinstance(reason, devices.Undecodable):  # (a decoder's reason is a reject, as `decode` gives it)
            troubles[reason] += 1
        return [("rejects", _reject_row(ep.name, ex, reason, devices.read_body(ex, ep.reads)))]

    held = len(ex.body or b"") + len(ex.request_body or b"")
    unknown_names = _unknown_field_names(report, ep.name, unknown)
    counts = rows.add(decoded, provenance, undo, held)
    _count_decoded(report, ep.name, counts, unknown_names)
    return False


def _unknown_field_names(report: FileReport, endpoint: str, unknown: tuple[tuple[str, ...], ...]) -> list[Safe]:
    """The names the report counts a decoded response's fields under that its endpoint's field map does not know:
    `endpoint path` for the first `UNKNOWN_FIELDS_NAMED` of a file, any more as `endpoint (other fields)`."""
    names = []
    for path in unknown:
        name = redaction.field_path(endpoint, path)
        if name not in report.unknown_fields and len(report.unknown_fields) >= UNKNOWN_FIELDS_NAMED:
            name = redaction.vocabulary(f"{endpoint} (other fields)")
        names.append(name)
    return names


def _count_decoded(report: FileReport, endpoint: str, rows: Counter[str], unknown_names: list[Safe]) -> None:
    """Count a device response decoded into `rows` (table -> rows), holding the fields `unknown_names` names."""
    report.device_responses[endpoint] += 1
    report.rows.update(rows)
    report.unknown_fields.update(unknown_names)


def _uncount_decoded(report: FileReport, endpoint: str, rows: Counter[str], unknown_names: list[Safe]) -> None:
    """Take back `_count_decoded`'s counts of a response rejected after all, and count it a reject."""
    report.device_responses.subtract({endpoint: 1})
    report.rows.subtract(rows)
    report.unknown_fields.subtract(unknown_names)
    report.device_responses, report.rows = +report.device_responses, +report.rows  # (drops the zeros)
    report.unknown_fields = +report.unknown_fields
    report.rejects += 1


def _reject_row(endpoint: str, ex: Exchange, reason: str, body: bytes | None) -> SafeRow:
    """The exchange's `rejects` row, with at most the first MiB of its body (`limits.reject_body`); without its body
    where the policy cannot take that in."""
    body, reason = limits.reject_body(body, reason)
    try:
        return redaction.reject_row(endpoint, ex.method, ex.host, ex.path, ex.status, reason, body)
    except Exception:
        return redaction.reject_row(endpoint, ex.method, ex.host, ex.path, ex.status, reason, None)


def _endpoint_name(ex: Exchange) -> str:
    """The name of the endpoint the exchange is a response of, "-" where none (or that cannot be told)."""
    try:
        m = devices.match(ex.host, ex.method, ex.path)
    except Exception:
        return "-"
    return m.endpoint.name if m is not None and m.endpoint is not None else "-"


def _note_troubles(report: FileReport, unreadable: Counter[str], troubles: Counter[str]) -> None:
    """A file where single entries could not be read, or device responses were rejected for damage or a failure of
    databack's, is `partial` (`failed` when not one entry could be read), with what happened in its message."""
    notes = []
    if unreadable:
        n = unreadable.total()
        notes.append(f"{n} entr{'ies' if n > 1 else 'y'} could not be read ({_reasons(unreadable)})")
    if troubles:
        n = troubles.total()
        notes.append(f"{n} device response{'s' * (n > 1)} rejected ({_reasons(troubles)})")
    if notes:
        nothing_read = report.exchanges == 0 and report.skipped_entries.total() == unreadable.total()
        report.status = "failed" if nothing_read else "partial" if report.status == "ok" else report.status
        message = "; ".join(notes)
        report.error = redaction.message(f"{report.error}; {message}" if report.error else message)


def _reasons(counts: Counter[str], shown: int = 3) -> str:
    """`reason` or `reason (2); other reason (1); …` (the commonest `shown`)."""
    if len(counts) == 1:
        return next(iter(counts))
    common = counts.most_common(shown)
    return "; ".join(f"{reason} ({n})" for reason, n in common) + ("; …" if len(counts) > shown else "")


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
        with inp.path.open("rb") as saved_file:  # no more of it than a reject keeps
            body, reason = limits.reject_body(saved_file.read(limits.REJECT_BODY + 1), str(e))
        rows.add([("rejects", redaction.reject_row(name, None, None, inp.source_file, None, reason, body))], provenance)
        limited[str(e)] += 1
        return False
    except orjson.JSONDecodeError as e:
        report.status = "failed" if claims_capture(inp) else "skipped"
        report.error = redaction.message(_not_json(e, data))
        report.exchanges = 0
        return False
    if isinstance(payload, dict) and "log" in payload:  # a HAR without entries (`{"log": []}`): no device response
        report.status = "failed" if claims_capture(inp) else "skipped"
        report.error = redaction.message(NOT_A_HAR)
        report.exchanges = 0
        return False
    endpoint = saved.endpoint_named(inp.endpoint) if inp.endpoint else saved.recognise(payload)
    if endpoint is None:
        report.status = "failed" if claims_capture(inp) else "skipped"
        if error := saved.api_error(payload):
            report.error = redaction.message(f"{error}, saved on its own: no data")
        else:
            report.error = redaction.message(
                "JSON, but neither a HAR file nor a response databack recognises (name one with --endpoint)"
            )
        report.exchanges = 0
        return False
    report.read_as = endpoint.name
    problem, decoded, unknown = devices.decode_payload(payload, endpoint, Request({}, {}, None, None))
    if problem is not None:
        report.rejects += 1
        body, reason = limits.reject_body(orjson.dumps(payload), problem)
        rows.add([("rejects", redaction.reject_row(endpoint.name, None, None, inp.source_file, None, reason, body))],
                 provenance)
        return isinstance(problem, devices.UnknownShape)
    def undo(reason: str) -> Rows:  # the rows fit no frame, or could not be decoded: rejected after all
        _uncount_decoded(report, endpoint.name, counts, unknown_names)
        body, cut = limits.reject_body(orjson.dumps(payload), reason)
        return [("rejects", redaction.reject_row(endpoint.name, None, None, inp.source_file, None, cut, body))]

    unknown_names = _unknown_field_names(report, endpoint.name, unknown)
    counts = rows.add(decoded, provenance, undo)
    _count_decoded(report, endpoint.name, counts, unknown_names)
    return False
