"""OUT's store: one writer at a time, every change made all at once, and what a killed run left repaired by the next.

Every command that writes OUT goes through here, and reads OUT only while it holds it:

    from converters import store

    with store.lock(out, wait=0.0) as held:       # OUT locked for the whole run; a killed run's leftovers repaired
        held.repaired                              # one line saying what was repaired, or None
        work = held.work()                         # a scratch folder in OUT, removed when the run ends
        ...                                        # read OUT (an incremental run), convert
        with held.transaction() as tx:
            df.write_parquet(tx.path("band_events.parquet"))   # written into the staging folder, unseen
            tx.remove("band_steps.parquet")                     # removed at the commit
        # the block ends normally: committed; by an exception: the staging is dropped and OUT is untouched

    with store.transaction(out) as tx: ...         # lock, one commit, unlock: for a command that only writes

`tx.path(name)` is where to write the new version of OUT's entry `name` (a file, or a folder the caller makes,
such as a partitioned table). Entries change in the order they were first named: name OUT's index
(`report.json`) last. A problem with OUT itself is an `OutError`: one line naming OUT and the cause, `usage` set
when the cause is in the arguments (OUT is a file, an input, or has no parent folder) rather than on the disk.

The lock is `fcntl.flock` on `OUT/.databack.lock` (which names the holder's pid from the moment it is in
place, and is removed when it lets go), so it ends with its process, killed or not. A second run stops at once
with `Busy`, or polls for up to `wait` seconds.

How a commit works. Every entry the run changes is written into a staging folder in OUT (`.databack-staging-*`,
which readers of OUT's tables never look into) and flushed to disk (fsync). A journal naming the staging folder
and each change in order (replace `x` by its staged copy; remove `y`) is written beside OUT's files, flushed,
and renamed to `.databack-journal.json`: the commit point. The changes follow, one rename each: a file replaces
its old version in one `os.replace`, so a reader never finds it missing (the old one is kept as a hard link in
the staging folder); an old folder, or an entry removed, is first moved into the staging folder. Then OUT's
folder is flushed, the journal removed, and the staging folder with the old versions.

Should a change fail (an I/O error), the changes made are undone from the old versions kept, and OUT is as
before the run. Should the run be killed after the commit point, the next run to take the lock finds the
journal and makes the changes still to make (each moves a staged entry that is still there, so none is made
twice): OUT is then as the killed run would have left it. Without a journal, a killed run's staging and work
folders and temporary files are removed: OUT is as before it.

Each step sends the audit event `databack.store` (step, detail) just before it is taken (`STEPS`), for the
fault-injection tests; with no audit hook installed that costs nothing.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import orjson

LOCK = ".databack.lock"
LOCK_MADE = ".databack.lock-"  # and 8 hexadecimal digits: a lock file being made, before it is linked in as LOCK
JOURNAL = ".databack-journal.json"
JOURNAL_TEMP = ".databack-journal.tmp"
# The journal's form, written in it: one of a later form (a newer databack's) is left for that version to finish, never
# read by this one; one without is this form (every earlier version wrote it so)
JOURNAL_VERSION = 1
JOURNAL_MAX_BYTES = 1 << 26  # more is no journal of a run (one of 100,000 generic tables: about 10 MB)
STAGING_PREFIX = ".databack-staging-"
WORK_PREFIX = ".databack-work-"
OLD = ".old"  # in the staging folder: the old versions of the entries changed, until the commit ends

# Every step of a run's life in OUT, in order, each announced by `sys.audit("databack.store", step, detail)`
# just before it is taken. "stage", "apply" and "undo" come once per entry.
STEPS: dict[str, str] = {
    "locked": "OUT is locked; nothing is repaired or read yet",
    "repair": "a killed run's commit is about to be finished, or its leftovers removed (only when there are some)",
    "work": "the run's work folder is about to be made",
    "stage": "an entry is about to be written into the staging folder",
    "sync": "the staged entries are about to be flushed to disk",
    "journal": "the journal is about to be written and flushed",
    "commit": "the journal, flushed, is about to be renamed into place (the commit point)",
    "apply": "a change is about to be made in OUT",
    "sync-out": "OUT's folder is about to be flushed, every change made",
    "undo": "a change made is about to be undone, after a change or the flush failed (only then)",
    "journal-remove": "the journal is about to be removed",
    "cleanup": "the staging folder is about to be removed",
    "unlock": "the work folder is about to be removed and the lock let go",
}

# What earlier versions of databack left when killed: `.<entry>.<8 random characters>.tmp` files and folders
# (mkstemp/mkdtemp), and `.<table>.old` folders set aside while a table's folder was replaced, where <entry> is a
# name databack gives OUT's entries (`_databack_entry`): a user's `.notes.20240101.tmp` or `.photos.old` is theirs.
_OLD_TEMPORARY = re.compile(r"\.(?P<entry>.+)\.[a-z0-9_]{8}\.tmp|\.(?P<table>[A-Za-z0-9_]+)\.old")
_OUT_FILES = ("report.json", "report.html", "datapackage.json")


class OutError(Exception):
    """OUT cannot be written (or read): the one line to show, naming OUT and the cause. `usage` when the cause is
    in the arguments (exit 2), not on the disk (exit 1)."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class Busy(OutError):
    """Another run holds OUT."""


class NewerJournal(OutError):
    """A newer databack's run was stopped in its commit: its journal is left for that version to finish."""


@dataclass
class Transaction:
    """The changes one commit makes to OUT: entries staged with `path`, entries removed with `remove`."""

    out: Path
    staging: Path
    changes: list[tuple[str, str]] = field(default_factory=list)  # ("replace" | "remove", entry), in order
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _actions: dict[str, str] = field(default_factory=dict)  # entry -> its action in `changes`

    def path(self, name: str) -> Path:
        """Where to write the new version of OUT's entry `name` (a file, or a folder the caller makes)."""
        self._add("replace", name)
        _step("stage", name)
        return self.staging / name

    def remove(self, name: str) -> None:
        """Remove OUT's entry `name` (a file or a folder) at the commit, if it is there."""
        if os.path.lexists(self.out / name):
            self._add("remove", name)

    def _add(self, action: str, name: str) -> None:
        if not _is_entry(name):
            raise ValueError(f"not an entry of OUT: {name!r}")
        with self._guard:
            if self._actions.get(name, action) != action:
                raise ValueError(f"{name!r} is both written and removed")
            if name not in self._actions:  # (a dict beside the list: a run may stage thousands of generic tables)
                self._actions[name] = action
                self.changes.append((action, name))


class Store:
    """OUT, locked by this process until `close`."""

    def __init__(self, out: Path, lock_fd: int, made: bool = False) -> None:
        self.out = out
        self.made = made  # whether this run made OUT: removed when it lets go, should it have committed nothing
        self.repaired: str | None = None  # what was repaired on taking the lock, in one line
        self.repaired_read: list[str] = []  # the same of the output folders read (`lock`'s `read`), a line each
        self.committed = False  # whether a transaction of this run has changed OUT
        self._lock_fd = lock_fd
        self._work: Path | None = None
        self._removing: threading.Thread | None = None  # removes the work folder, once it is no longer needed

    def work(self) -> Path:
        """The run's scratch folder in OUT (rows spilled to disk, standard input saved), made on first use."""
        if self._work is None:
            try:
                _step("work", "")
                self._work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.out))
            except OSError as e:
                raise OutError(f"cannot write into {self.out}: {_reason(e)}") from e
        return self._work

    def work_done(self) -> None:
        """Nothing more is read from or written to the work folder: it is removed from now on, in a thread, while the
        run goes on (its commit: 8 x 50 MB captures' parts, 8 to 24 ms to remove); `close` waits for that."""
        if self._work is not None and self._removing is None:
            self._removing = threading.Thread(target=shutil.rmtree, args=(self._work,), kwargs={"ignore_errors": True},
                                              name="databack-work-removal")
            self._removing.start()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Changes to OUT, made all at once when the block ends normally; none when it ends by an exception."""
        try:
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        except OSError as e:
            raise OutError(f"cannot write into {self.out}: {_reason(e)}") from e
        tx = Transaction(self.out, staging)
        with self._dropped_on_error(staging):
            yield tx
            if not tx.changes:
                shutil.rmtree(staging, ignore_errors=True)
                return
            _step("sync", "")
            _sync_staged(staging, [name for action, name in tx.changes if action == "replace"])
        journal = {"version": JOURNAL_VERSION, "staging": staging.name, "changes": [list(c) for c in tx.changes]}
        with _signals_held():  # from the journal to the end of the commit, Ctrl-C waits
            with self._dropped_on_error(staging):
                _write_journal(self.out, journal)
            _commit(self.out, journal)
            self.committed = True

    @contextmanager
    def _dropped_on_error(self, staging: Path) -> Iterator[None]:
        """Should the block fail, the transaction is dropped (OUT untouched) and a failed write is an `OutError`."""
        try:
            yield
        except BaseException as e:
            _discard(self.out, staging)
            error = _as_out_error(e, self.out)
            if error is e:
                raise
            raise error from e

    def close(self) -> None:
        if self._removing is not None:  # first, whatever fails next: the next run must not remove it at once too
            self._removing.join()
        try:
            _step("unlock", "")
            if self._removing is None and self._work is not None:
                shutil.rmtree(self._work, ignore_errors=True)
            os.unlink(self.out / LOCK)  # while still holding it: see `_take_lock`
            if self.made and not self.committed:  # a run into a new OUT that failed leaves no empty folder
                os.rmdir(self.out)  # (only if empty: another run's lock file being made keeps it; see `_made_lock`)
        except OSError:
            pass  # what is left is removed by the next run
        finally:
            os.close(self._lock_fd)


@contextmanager
def lock(out: Path, wait: float = 0.0, inputs: Iterable[Path] = (), read: Iterable[Path] = ()) -> Iterator[Store]:
    """OUT (made if need be, but not its parent), locked until the block ends, what a killed run left repaired.
    `wait`: seconds to wait for other runs holding it (`math.inf`: as long as it takes). `inputs`: the run's
    input paths, none of which OUT may be or hold. `read`: output folders read as inputs (shards to merge), each
    held as `reading` holds it until the block ends too; OUT and they are locked in one order (sorted by resolved
    path) whatever the order given, so that two runs holding several (two merges, each one's OUT the other's
    shard) never each hold one the other waits for; `wait` is for them all. Raises `OutError` (`Busy` when
    another run holds one)."""
    read = list(read)
    check_place(out, [*inputs, *read])
    deadline = time.monotonic() + wait
    folders = {p.resolve(): p for p in read} | {out.resolve(): out}
    repaired = []
    with ExitStack() as stack:
        for _, folder in sorted(folders.items()):
            if folder is out:
                held = stack.enter_context(_holding(out, wait, deadline))
            elif line := stack.enter_context(_reading(folder, wait, deadline)):
                repaired.append(line)
        held.repaired_read = repaired
        yield held


@contextmanager
def _holding(out: Path, wait: float, deadline: float) -> Iterator[Store]:
    """OUT, placed already, locked (waiting until `deadline`) and repaired."""
    try:
        out.mkdir()
        made = True
    except FileExistsError:
        made = False
    except OSError as e:
        raise OutError(f"cannot write into {out}: {_reason(e)}") from None
    try:
        fd = _take_lock(out, wait, deadline)
    except BaseException:
        if made:  # (a full disk as its lock file is written, say): no empty folder left, as after a failed run
            try:
                os.rmdir(out)  # (only if empty: another run's lock file being made keeps it)
            except OSError:
                pass
        raise
    held = Store(out, fd, made)
    try:
        try:
            _step("locked", "")
        except OSError as e:
            raise OutError(f"cannot write into {out}: {_reason(e)}") from e
        try:
            held.repaired = repair(out)
        except OSError as e:
            raise OutError(f"cannot repair {out}: {_reason(e)}") from e
        yield held
    finally:
        held.close()


@contextmanager
def transaction(out: Path, wait: float = 0.0) -> Iterator[Transaction]:
    """OUT locked for one transaction."""
    with lock(out, wait) as held, held.transaction() as tx:
        yield tx


@contextmanager
def reading(folder: Path, wait: float = 0.0) -> Iterator[str | None]:
    """An output folder read as an input (a shard to merge), locked while it is read, so that no run writes it
    meanwhile and what a killed run left is repaired first: gives the line saying what was repaired, or None. A
    folder that cannot be written is read as it is, unless a killed run left a commit to finish in it."""
    with _reading(folder, wait, time.monotonic() + wait) as repaired:
        yield repaired


@contextmanager
def _reading(folder: Path, wait: float, deadline: float) -> Iterator[str | None]:
    with ExitStack() as stack:
        try:
            check_place(folder)
            held = stack.enter_context(_holding(folder, wait, deadline))
        except (Busy, NewerJournal):
            raise
        except OutError:
            if os.path.lexists(folder / JOURNAL):
                raise OutError(f"cannot read {folder}: a stopped run left a commit to finish, "
                               "and it cannot be written") from None
            held = None
        yield held and held.repaired


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+):/+")


def check_place(out: Path, inputs: Iterable[Path] = ()) -> None:
    """`OutError(usage=True)` where OUT cannot be: a URL, a file, in a folder that does not exist, an input, or a
    folder holding an input."""
    if m := _URL.match(str(out)):  # (`s3://b/x` as a Path is `s3:/b/x`)
        url = f"{m.group(1)}://{str(out)[m.end():]}"
        raise OutError(f"cannot write into {url}: OUT is a folder on a local or shared file system, not a URL (its "
                       "commit renames files into place, all at once, which object stores cannot do)", usage=True)
    if not utf8(out):
        raise OutError(f"cannot write into {out}: {NOT_UTF8}", usage=True)
    if (place := owner(out)) is not None:  # (a partitioned table's folder, say: removed with it by OUT's next run)
        raise OutError(f"cannot write into {out}: it is {place[1]} of the databack output folder {place[0]}, which "
                       "only its own runs change", usage=True)
    if not out.exists():
        if out.is_symlink():  # (not `lexists`, also true of a folder another run has made since `exists`)
            raise OutError(f"cannot write into {out}: it is a symbolic link to nothing", usage=True)
        parent = out.parent
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist"
            raise OutError(f"cannot write into {out}: its parent folder {parent} {what}", usage=True)
        return
    here = out.resolve()
    for p in inputs:
        resolved = p.resolve()
        if resolved == here:
            raise OutError(f"cannot write into {out}: it is also an input", usage=True)
        if here in resolved.parents:
            raise OutError(f"cannot write into {out}: it holds the input {p}", usage=True)
    if not out.is_dir():
        raise OutError(f"cannot write into {out}: it is a file, not a folder", usage=True)


NOT_UTF8 = "its path is not UTF-8 text (a byte of another encoding), which polars cannot read or write: rename it"


def utf8(folder: Path) -> bool:
    """Whether `folder`'s whole path is UTF-8 text: polars takes no other (a table written there failed with a
    TypeError, one read there was 'not a report this version reads')."""
    try:
        str(folder.absolute()).encode()
        return True
    except UnicodeEncodeError:
        return False


def owner(path: Path) -> tuple[Path, str] | None:
    """(OUT, entry) where `path` is, or lies within, an entry databack keeps in an output folder OUT (a folder holding
    report.json and datapackage.json): a table's file or folder, report.json, report.html, datapackage.json,
    copies.parquet, or one of its hidden `.databack-*`. Such an entry changes only through OUT's store: a page, copy or
    export written there by another command (unlocked, outside a commit) would replace a table, or be removed with it
    by the next run. None elsewhere."""
    try:
        # a folder reached through a link is the folder (a file's link is replaced, not written through)
        path = path.resolve() if path.is_dir() else path.parent.resolve() / path.name
    except (OSError, RuntimeError):
        return None
    for entry in (path, *path.parents):
        out = entry.parent
        if out == entry:
            break
        if (out / "report.json").is_file() and (out / "datapackage.json").is_file() \
                and (entry.name.startswith(".databack") or _databack_entry(entry.name)):
            return out, entry.name
    return None


def repair(out: Path) -> str | None:
    """Finish the commit a killed run left journaled in `out`, and remove what it left; the caller holds the lock.
    Returns one line saying what was done, or None when there was nothing to do."""
    done = []
    if os.path.lexists(out / JOURNAL):
        _step("repair", JOURNAL)
        journal = _read_journal(out)
        if journal is None:
            os.unlink(out / JOURNAL)  # not one this version wrote in full: nothing in it can be trusted
            done.append("dropped a commit journal it could not read")
        else:
            with _signals_held():  # as in the commit itself: Ctrl-C waits for the renames (milliseconds)
                left = _apply(out, journal)
                _finish(out, journal)
            done.append(f"finished the commit of a run that was stopped ({left} of {len(journal['changes'])} "
                        "changes were left to make)")
    leftovers = {"staging folder": 0, "work folder": 0, "temporary file": 0}
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        if entry.name.startswith(STAGING_PREFIX):
            kind = "staging folder"
        elif entry.name.startswith(WORK_PREFIX):
            kind = "work folder"
        elif entry.name == JOURNAL_TEMP or _old_temporary(entry):
            kind = "temporary file"
        elif entry.name.startswith(LOCK_MADE) and _abandoned(Path(entry.path)):
            kind = "temporary file"
        else:
            continue
        if not done and not any(leftovers.values()):
            _step("repair", entry.name)
        _remove(Path(entry.path))
        leftovers[kind] += 1
    if any(leftovers.values()):
        what = [f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in leftovers.items() if n]
        done.append(f"removed what a stopped run left ({', '.join(what)})")
    return f"repaired {out}: {'; '.join(done)}" if done else None


def _old_temporary(entry: os.DirEntry) -> bool:
    """Whether `entry` of OUT is what an earlier version of databack left there when killed (`_OLD_TEMPORARY`)."""
    if not (m := _OLD_TEMPORARY.fullmatch(entry.name)):
        return False
    if m.group("table") is not None:  # a table's folder set aside: a folder, never a link
        return _databack_entry(m.group("table")) and entry.is_dir(follow_symlinks=False)
    return _databack_entry(m.group("entry"))


def _databack_entry(name: str) -> bool:
    """Whether `name` is one databack gives an entry of OUT: a table's file or folder, or OUT's index files."""
    from .generic import TABLE_PREFIX
    from .tables import COPIES, TABLES

    if name in _OUT_FILES:
        return True
    table = name.removesuffix(".parquet").removesuffix(".csv")
    return table in TABLES or table == COPIES.name or (table.startswith(TABLE_PREFIX) and "/" not in table)


def _abandoned(made: Path) -> bool:
    """Whether a lock file being made (`_made_lock`) is no run's: none holds it locked."""
    import fcntl

    try:
        fd = os.open(made, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError as e:
        if e.errno == errno.ELOOP:
            return True  # a symbolic link: no run's lock file
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def reason(e: BaseException, folder: Path | None = None) -> str | None:
    """The cause of a failed write into `folder` as a person reads it (`No space left on device`), or None when
    `e` is not one: an OSError, or an error of polars' writers wrapping one (`... (os error 28)`, or with the
    cause lost, `Invalid thrift: transport error`, while `folder`'s file system is full)."""
    if not isinstance(e, OSError) and not type(e).__module__.startswith("polars"):
        return None
    if (isinstance(e, OSError) and e.strerror) or re.search(r"\(os error (\d+)\)", str(e)):
        return _reason(e)
    if folder is not None and _full(folder):
        return os.strerror(errno.ENOSPC)
    return _reason(e) if isinstance(e, OSError) else None


def _full(folder: Path) -> bool:
    """Whether the file system of `folder` has (almost) no room left: what a write that failed there has left
    it with, when that was the cause."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < 1 << 20 or (fs.f_files > 0 and fs.f_favail == 0)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    if m := re.search(r"\(os error (\d+)\)", str(e)):  # polars raises OSError("... (os error 28)") without errno
        return os.strerror(int(m.group(1)))
    return str(e) or type(e).__name__


def _as_out_error(e: BaseException, out: Path) -> BaseException:
    """A failed write as an `OutError`; anything else (a bug, an interrupt) as it is."""
    if isinstance(e, OutError):
        return e
    cause = reason(e, out)
    return OutError(f"cannot write into {out}: {cause}") if cause else e


def _step(step: str, detail: str) -> None:
    sys.audit("databack.store", step, detail)


def _is_entry(name: str) -> bool:
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


def _take_lock(out: Path, wait: float, deadline: float) -> int:
    """An open descriptor of OUT's lock file, locked; another run holding it is waited for until `deadline` (`wait`
    seconds from when the run began to lock its folders). A new lock file comes into place locked and naming its
    holder (`_made_lock`), so that a run finding it locked can say whose it is; one a killed run left is taken over
    where it is. The holder removes the file before letting go, so whoever then gets the lock of a file that is no
    longer OUT's tries again with the new one."""
    import fcntl

    path = out / LOCK
    while True:
        theirs = False  # a lock file this user may not write: another user's (a shared folder), read-only
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | _NOFOLLOW)
        except FileNotFoundError:
            fd = _made_lock(out)
            if fd is None:
                continue
            return fd
        except PermissionError:
            try:  # (flock needs no write access: whether a run holds it is known all the same)
                fd, theirs = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW), True
            except FileNotFoundError:
                continue  # its run has let go meanwhile
            except OSError as e:
                raise _lock_error(out, e) from None
        except OSError as e:
            raise _lock_error(out, e) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a named pipe, a device: nothing databack made
            os.close(fd)
            raise _lock_error(out, OSError(errno.EISDIR, "not a file"))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                if wait > 0:
                    raise Busy(f"{out} is still in use by another databack run ({holder}) after {wait:g} s") from None
                raise Busy(f"{out} is in use by another databack run ({holder}); --wait to queue") from None
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            continue
        except OSError as e:
            os.close(fd)
            raise _unlockable(out, e) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        if theirs:  # what another user's killed run left, no run's: removed (held meanwhile), a new one made
            try:
                os.unlink(path)
            except OSError as e:
                raise OutError(f"cannot write into {out}: {LOCK}, which no run holds, cannot be replaced: "
                               f"{_reason(e)}") from None
            finally:
                os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            _write_all(fd, _holder_line())
        except OSError as e:
            os.close(fd)
            raise OutError(f"cannot write into {out}: {_reason(e)}") from None
        return fd


def _made_lock(out: Path) -> int | None:
    """An open descriptor of a new lock file of OUT, locked and naming this run: made so under another name, then
    linked in as OUT's (where no run's is), all at once. None when another run's was linked in first, or where the
    file system has no hard links: an empty lock file is then made, which the caller locks and names itself in."""
    import fcntl

    made = out / f"{LOCK_MADE}{os.urandom(4).hex()}"
    try:
        try:
            fd = os.open(made, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:  # a run that made OUT and failed, waited for, removed it empty: made again
            out.mkdir(exist_ok=True)
            fd = os.open(made, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise OutError(f"cannot write into {out}: {_reason(e)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # (waits only while a run repairing OUT looks if it is held: `_abandoned`)
    except OSError as e:
        os.close(fd)
        made.unlink(missing_ok=True)
        raise _unlockable(out, e) from None
    try:
        _write_all(fd, _holder_line())
        os.link(made, out / LOCK)
        return fd
    except (FileExistsError, FileNotFoundError):
        os.close(fd)
        return None
    except OSError as e:
        os.close(fd)
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            raise OutError(f"cannot write into {out}: {_reason(e)}") from None
        try:
            os.close(os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW, 0o666))
        except OSError as e:
            raise _lock_error(out, e) from None
        return None
    finally:
        try:
            os.unlink(made)
        except OSError:
            pass  # (removed by the next run to repair OUT)


# A lock file is opened as itself, never through a symbolic link: a link named `.databack.lock` (in a folder given
# to merge or report, say) would have the run write its pid into whatever file the link names
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _lock_error(out: Path, e: OSError) -> OutError:
    if e.errno == errno.ELOOP:
        return OutError(f"cannot write into {out}: {LOCK} is a symbolic link, not databack's lock file (remove it)")
    if e.errno == errno.EISDIR:
        return OutError(f"cannot write into {out}: {LOCK} is not a file, not databack's lock file (remove it)")
    return OutError(f"cannot write into {out}: {_reason(e)}")


def _unlockable(out: Path, e: OSError) -> OutError:
    """OUT's file system takes no locks (NFS mounted with nolock: ENOLCK; some FUSE and SMB mounts: not supported),
    so that nothing would keep two runs from writing it at once."""
    return OutError(f"cannot write into {out}: its file system cannot lock files ({_reason(e)}), so nothing would "
                    "keep two runs from writing it at once: put OUT on one that can (a local disk, NFS with locking)")


def _holder_line() -> bytes:
    return f"{os.getpid()} {socket.gethostname()}\n".encode()


def _holder(fd: int) -> str:
    """`pid 4242` (with `on HOST` when not this one), as the holder wrote it (it may be writing it still)."""
    for _ in range(20):
        words = os.pread(fd, 256, 0).decode(errors="replace").split()
        if words and words[0].isdigit():
            host = " ".join(words[1:])
            return f"pid {words[0]}" + (f" on {host}" if host and host != socket.gethostname() else "")
        time.sleep(0.01)
    return "pid unknown"


def _write_journal(out: Path, journal: dict) -> None:
    _step("journal", "")
    temp = out / JOURNAL_TEMP
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | _NOFOLLOW, 0o666)
    try:
        _write_all(fd, orjson.dumps(journal))
        os.fsync(fd)
    finally:
        os.close(fd)
    _step("commit", "")
    os.rename(temp, out / JOURNAL)
    _sync_dir(out)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data`: a write may take only part of it (a file system with room for part alone takes that
    part, and fails on the next), and a journal cut short would be dropped by the next run, OUT left half changed."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_journal(out: Path) -> dict | None:
    """OUT's journal, or None where it is none this version wrote in full (damaged, planted); an `OutError` where a
    newer databack wrote it: its commit is left, untouched, for that version to finish."""
    try:
        journal = orjson.loads(_journal_bytes(out))
        version = journal.get("version", 1)
        if type(version) is int and version > JOURNAL_VERSION:
            raise NewerJournal(f"cannot repair {out}: a run of a newer databack was stopped in its commit, whose "
                               f"journal ({JOURNAL}, of form {version}) this version cannot finish: run that version "
                               "(or a newer one) into it first")
        if type(version) is not int or version != JOURNAL_VERSION:
            return None
        changes = [(str(action), str(name)) for action, name in journal["changes"]]
        staging = str(journal["staging"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    valid = staging.startswith(STAGING_PREFIX) and _is_entry(staging.lstrip("."))
    # each change one of an entry databack gives OUT: one naming a user's file (a journal planted in a folder given
    # to merge, report or export) would have the repair remove it, or replace it with what the staging holds
    if not valid or any(a not in ("replace", "remove") or not (_is_entry(n) and _databack_entry(n)) for a, n in changes):
        return None
    # its staging folder (and the old versions' folder in it) a folder of OUT's own, if there at all: one reached
    # through a symbolic link (a journal planted in a folder given to merge, report or export) would have the
    # repair move files into OUT from anywhere, and OUT's files out to there
    if any(os.path.lexists(p) and (p.is_symlink() or not p.is_dir()) for p in (out / staging, out / staging / OLD)):
        return None
    # and there: a run's journal goes before its staging folder does, so one without it (removed by a tool that
    # cleans hidden folders, left out of a copy) says nothing of what was made, and nothing it names can be moved
    if not os.path.lexists(out / staging):
        return None
    # nor one still to change a user's entry named as a table's (their rejects.csv beside Parquet tables, their
    # band_events.parquet where no run wrote), which no run writes over or removes (`writers._not_databacks`)
    from .writers import _not_databacks

    theirs = _not_databacks(out)
    if any(n in theirs and os.path.lexists(out / n) and (a == "remove" or os.path.lexists(out / staging / n))
           for a, n in changes):
        return None
    return {"staging": staging, "changes": changes}


def _journal_bytes(out: Path) -> bytes:
    """The journal's bytes; b"" where it is no file (a link, a named pipe: never followed nor waited on) or larger
    than any journal a run writes."""
    try:
        fd = os.open(out / JOURNAL, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOFOLLOW)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENXIO):
            return b""
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > JOURNAL_MAX_BYTES:
            return b""
        return os.read(fd, JOURNAL_MAX_BYTES + 1)
    finally:
        os.close(fd)


def _commit(out: Path, journal: dict) -> None:
    """Make the journal's changes; should one fail, undo those made, or leave them to the next run."""
    made: list[tuple[str, str, Path | None, bool]] = []
    try:
        _apply(out, journal, made)
        _step("sync-out", "")
        _sync_dir(out)
    except OSError as e:
        try:
            _undo(out, journal, made)
        except OSError:
            raise OutError(f"cannot write into {out}: {_reason(e)}; the next databack run into it completes "
                           "the commit") from e
        raise OutError(f"cannot write into {out}: {_reason(e)}") from e
    try:
        _finish(out, journal)
    except OSError:
        pass  # every change is made: the next run removes the journal and staging


def _apply(out: Path, journal: dict, made: list | None = None) -> int:
    """Make the journal's changes still to make; returns how many there were. Each is appended to `made` (when
    given) before it is made, as (action, entry, where its old version is kept, whether it had one)."""
    staging = out / journal["staging"]
    left = 0
    for action, name in journal["changes"]:
        target, staged = out / name, staging / name
        if not os.path.lexists(staged if action == "replace" else target):
            continue  # made already
        left += 1
        _step("apply", name)
        had, kept, swap = os.path.lexists(target), None, False
        if had:
            (staging / OLD).mkdir(exist_ok=True)
            kept = _free(staging / OLD / name)
            swap = action == "replace" and _is_file(target) and _is_file(staged)
            if swap:  # the old file keeps a name while the new one replaces it in one step
                try:
                    os.link(target, kept, follow_symlinks=False)
                except OSError:  # no hard links on this file system: the old version cannot be put back
                    kept = None
        if made is not None:
            made.append((action, name, kept, had))
        if had and not swap:
            os.rename(target, kept)
        if action == "replace":
            os.replace(staged, target)
    return left


def _undo(out: Path, journal: dict, made: list[tuple[str, str, Path | None, bool]]) -> None:
    """Put back the old versions of the changes `made`, last first, and the new ones into the staging folder (so
    that, should this be killed, the journal still completes the commit); then end the commit."""
    staging = out / journal["staging"]
    for action, name, kept, had in reversed(made):
        _step("undo", name)
        target, staged = out / name, staging / name
        if action == "replace" and not os.path.lexists(staged):  # the new version is in place
            if had and kept is None:
                raise OSError(errno.EIO, f"the old version of {name} was not kept")
            if had and _is_file(target) and _is_file(kept):
                os.link(target, staged, follow_symlinks=False)
                os.replace(kept, target)  # a reader never finds it missing
                continue
            os.rename(target, staged)
        if had and not os.path.lexists(target):
            os.rename(kept, target)
    _sync_dir(out)
    _finish(out, journal, undone=True)


def _finish(out: Path, journal: dict, undone: bool = False) -> None:
    """Every change made (or undone): remove the journal, then the staging folder. After changes undone, the
    journal's removal is flushed before the staged entries go: back after a power loss, it would move what is
    left of them. (After changes made, it finds nothing left to move.)"""
    _step("journal-remove", "")
    if os.path.lexists(out / JOURNAL):
        os.unlink(out / JOURNAL)
    if undone:
        _sync_dir(out)
    _step("cleanup", "")
    shutil.rmtree(out / journal["staging"], ignore_errors=True)


def _free(path: Path) -> Path:
    """`path`, or beside it a name not taken."""
    n = 0
    while os.path.lexists(path):
        n += 1
        path = path.with_name(f"{path.name}.{n}")
    return path


def _discard(out: Path, staging: Path) -> None:
    """Drop a transaction before (or at) its commit point: the journal first, if it was renamed in before the
    flush after it failed, and only then the staging, so that no journal outlives the entries it moves."""
    for name in (JOURNAL_TEMP, JOURNAL):
        try:
            os.unlink(out / name)
        except FileNotFoundError:
            pass
        except OSError:
            return  # the journal stays, and the staging with it: the next run completes the commit
    shutil.rmtree(staging, ignore_errors=True)


def _sync_staged(staging: Path, names: list[str]) -> None:
    """Flush the staged entries (every file and folder below a staged folder) to disk: one fsync each, or for
    more than `SYNC_ONE_BY_ONE` (a partitioned table's hundreds of files), one syncfs of the file system, which
    takes 20-40 ms where an fsync each took a second (623 files of a 200 MB HAR's partitioned tables). The
    fsyncs are made at once, in threads: the 11 tables of a 200 MB HAR in 8 ms rather than 36 (medians of 7)."""
    files: list[Path] = []
    folders = [staging]
    for name in names:
        if (staging / name).is_dir():
            for folder, _, children in os.walk(staging / name):
                folders.append(Path(folder))
                files += [Path(folder, child) for child in children]
        else:
            files.append(staging / name)
    if len(files) + len(folders) > SYNC_ONE_BY_ONE and _syncfs(staging):
        return
    with ThreadPoolExecutor(8) as flushing:  # at once: the file system commits them together
        list(flushing.map(_sync_file, files))
        list(flushing.map(_sync_dir, folders))


SYNC_ONE_BY_ONE = 64


def _syncfs(path: Path) -> bool:
    """syncfs(2) on the file system of `path` (Linux); False where there is none."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)
    return True


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):  # file systems that cannot flush a folder
            raise
    finally:
        os.close(fd)


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, onexc=_gone_already)
    else:
        path.unlink(missing_ok=True)


def _gone_already(function, path: str, e: BaseException) -> None:
    """`rmtree`'s errors but for an entry already removed (by the thread of a run in this process letting OUT go)."""
    if not isinstance(e, FileNotFoundError):
        raise e


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while the commit's renames are made (milliseconds), then take effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in received:
            signal.raise_signal(s)
