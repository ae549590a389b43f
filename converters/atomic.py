"""A file that appears complete or not at all: written beside its final name, then moved into place (a scrubbed
copy, a report page written elsewhere than OUT, an export's files; what goes into OUT is written through OUT's
store, `store.py`); and scratch folders in the system's temporary folder (a capture read from a pipe, archive
members being scrubbed).

What a run killed meanwhile (SIGKILL, the OOM killer) leaves is told by its name and removed by the next run to
write there: a file being written is `.<name>.databack-<8 characters>.tmp` beside `<name>`, a scratch folder
`databack-<kind>-<8 characters>`, each locked (`fcntl.flock`) by its writer for as long as it is in use, so that
one still in use by another run is never taken for a leftover. Nothing else is ever removed. Files moved into
place together (`replace_all`) are journaled while they are (`.databack-files.json` beside them): should the run
be killed among the renames, the next to call `finish_stopped` there makes those left. Where the file system
takes no locks (NFS mounted with nolock, some FUSE and SMB mounts), the file is written all the same (its one rename
into place needs none), unlocked: no run takes it for a leftover then, so one a killed run left there stays."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import orjson

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_RANDOM = "[a-z0-9_]{8}"  # what tempfile puts in a name
_LOCK = ".lock"  # in a scratch folder: locked by the run using it
JOURNAL = ".databack-files.json"  # beside the files `replace_all` moves into place, while it does (locked by it)
_JOURNAL_MADE = ".databack-files-"  # and 8 characters and `.new`: a journal being written, before it takes its name
_JOURNAL_MAX_BYTES = 1 << 20
# what flock raises on a file system that takes no locks (NFS with nolock: ENOLCK; some FUSE and SMB mounts)
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only once written completely. What runs killed while writing
    `path` left beside it is removed first."""
    with staged(path) as tmp:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes files private; outputs get the usual permissions
        os.replace(tmp, path)


@contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, to write its new version into, removed when the block ends (unless moved
    into place meanwhile: `replace_all`). What runs killed while writing `path` left beside it is removed first."""
    remove_abandoned(path)
    # made under a name no run removes, locked, then given the name it is known by: never found unlocked by another
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.databack-", suffix=".new", dir=path.parent)
    try:
        _lock(fd)
        tmp = Path(name.removesuffix(".new") + ".tmp")
        os.rename(name, tmp)
    except BaseException:
        os.close(fd)
        Path(name).unlink(missing_ok=True)
        raise
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) while `replace_all` moved files into place: `written` when every one had taken its place
    (the signal waited for them)."""

    def __init__(self, written: bool) -> None:
        super().__init__()
        self.written = written


def replace_all(replaced: list[tuple[Path, Path]], removed: Iterable[Path] = ()) -> None:
    """Move each staged file (`staged`) into place, `(staged, path)`, and remove the files `removed`, all at once as
    far as a command sees: Ctrl-C and SIGTERM wait for the renames (then raise `Interrupted`), and a rename that fails
    (an I/O error) puts back what was changed before it, as it was, before the error is raised. (Killed meanwhile,
    some may have taken their places: the next `finish_stopped` there makes the others, `staged` removes the old
    versions kept aside.)"""
    from .store import _signals_held, _sync_file

    removed = list(removed)
    for tmp, _ in replaced:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes files private; outputs get the usual permissions
        _sync_file(tmp)  # on disk before the journal names it
    done = False
    try:
        with _signals_held():
            with _journaled(replaced, removed):
                _replace_all(replaced, removed)
            done = True
    except KeyboardInterrupt:
        raise Interrupted(done) from None


@contextmanager
def _journaled(replaced: list[tuple[Path, Path]], removed: list[Path]) -> Iterator[None]:
    """The block's renames journaled in their folder (where it has hard links): the journal, written in full and
    flushed, takes its name (`JOURNAL`) locked by this run, and is removed once the renames are made (or undone).
    A journal of another run's renames there is waited for, or finished (`finish_stopped`) if that run was killed."""
    folder = (replaced[0][1] if replaced else removed[0]).parent if replaced or removed else None
    if folder is None:
        yield
        return
    names = {p.name for _, p in replaced} | {p.name for p in removed}
    journal = orjson.dumps({"version": 1, "replace": [[tmp.name, path.name] for tmp, path in replaced],
                            "remove": [p.name for p in removed if os.path.lexists(p)]})
    while True:
        fd, made = tempfile.mkstemp(prefix=_JOURNAL_MADE, suffix=".new", dir=folder)
        try:
            _lock(fd)
            view = memoryview(journal)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.link(made, folder / JOURNAL)
            break
        except FileExistsError:
            os.close(fd)
            finish_stopped(folder, names)  # (waits for a run renaming there: milliseconds)
        except FileNotFoundError:  # taken for a killed run's by another run, before it was locked: made again
            os.close(fd)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            fd = None  # no hard links: renamed without a journal
            break
        finally:
            try:
                os.unlink(made)
            except FileNotFoundError:
                pass
    try:
        yield
    finally:
        if fd is not None:
            try:
                os.unlink(folder / JOURNAL)
            finally:
                os.close(fd)


def finish_stopped(folder: Path, names: Iterable[str]) -> tuple[int, int] | None:
    """Make the renames a `replace_all` killed among them left journaled in `folder` (of the files `names` alone:
    a journal is never trusted with others), and remove its journal: (renames made, renames it journaled), or
    None where there was none (a run making its renames there is waited for first)."""
    names = set(names)
    for entry in _entries(folder):  # journals a killed run was writing
        if entry.name.startswith(_JOURNAL_MADE) and entry.name.endswith(".new") and _abandoned(entry.path):
            os.unlink(entry.path)
    path = folder / JOURNAL
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        os.unlink(path)  # a link by that name: no run's journal
        return None
    try:
        _lock(fd)
        info = os.fstat(fd)
        try:
            if not os.path.samestat(info, os.stat(path, follow_symlinks=False)):
                return None  # its run made its renames and removed it meanwhile
        except FileNotFoundError:
            return None
        try:
            journal = orjson.loads(os.read(fd, _JOURNAL_MAX_BYTES) if stat.S_ISREG(info.st_mode) else b"")
            if journal.get("version") != 1:
                raise ValueError
            replace = [(str(tmp), str(name)) for tmp, name in journal["replace"]]
            remove = [str(name) for name in journal["remove"]]
        except (ValueError, TypeError, KeyError, AttributeError):
            replace, remove = [], []  # (damaged: nothing in it is trusted)
        made = 0
        for tmp, name in replace:
            staged_as = re.fullmatch(rf"\.{re.escape(name)}\.databack-{_RANDOM}\.tmp", tmp)
            if name in names and "/" not in name and staged_as and os.path.isfile(folder / tmp) \
                    and not os.path.islink(folder / tmp):
                os.replace(folder / tmp, folder / name)
                made += 1
        for name in remove:
            if name in names and "/" not in name and os.path.lexists(folder / name):
                os.unlink(folder / name)
                made += 1
        os.unlink(path)
        return made, len(replace) + len(remove)
    finally:
        os.close(fd)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        return list(os.scandir(folder))
    except OSError:
        return []


def _replace_all(replaced: list[tuple[Path, Path]], removed: list[Path]) -> None:
    made: list[tuple[Path, Path | None]] = []  # (path changed, its old version kept aside, or None where it had none)
    try:
        for tmp, path in [*replaced, *((None, p) for p in removed)]:
            had = os.path.lexists(path)
            if not had and tmp is None:
                continue
            old = path.with_name(f".{path.name}.databack-{os.urandom(4).hex()}.tmp") if had else None  # (as `staged`)
            made.append((path, old))
            if had:
                try:
                    if tmp is None:
                        raise OSError(errno.EPERM, "removed")
                    os.link(path, old, follow_symlinks=False)  # the old file keeps a name as the new one replaces it
                except OSError:  # (no hard links on this file system: set aside, the name missing for a moment)
                    os.rename(path, old)
            if tmp is not None:
                os.replace(tmp, path)
    except BaseException:
        for path, old in reversed(made):
            try:
                if old is not None and os.path.lexists(old):
                    os.replace(old, path)
                elif old is None:
                    os.unlink(path)
            except OSError:
                pass
        raise
    finally:
        for _, old in made:
            if old is not None:
                try:
                    os.unlink(old)
                except OSError:
                    pass  # (put back; or removed by the next run there)


def _lock(fd: int) -> None:
    """Lock `fd` for as long as it is open, where its file system takes locks (elsewhere it stays unlocked: no run
    takes an unlocked file there for a leftover, since none can tell whether a run holds it)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as e:
        if e.errno not in _NO_LOCKS:
            raise


def remove_abandoned(path: Path) -> int:
    """Remove what runs killed while writing `path` left beside it (`.<name>.databack-<8 characters>.tmp`, no run's
    any longer); returns how many."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.databack-{_RANDOM}\.tmp")
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False) and _abandoned(entry.path):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


@contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """A private folder in the system's temporary folder (`databack-<kind>-<8 characters>`), removed when the block
    ends; what runs killed left there before (folders of this kind no run holds) is removed first."""
    base = Path(tempfile.gettempdir())
    prefix = f"databack-{kind}-"
    _remove_abandoned_folders(base, prefix)
    made = Path(tempfile.mkdtemp(prefix=prefix, suffix=".new", dir=base))
    try:
        fd = os.open(made / _LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW, 0o600)
    except BaseException:
        shutil.rmtree(made, ignore_errors=True)
        raise
    folder = made.with_name(made.name.removesuffix(".new"))
    try:
        _lock(fd)
        os.rename(made, folder)
    except BaseException:
        os.close(fd)
        shutil.rmtree(made, ignore_errors=True)
        raise
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def _remove_abandoned_folders(base: Path, prefix: str) -> None:
    pattern = re.compile(rf"{re.escape(prefix)}{_RANDOM}")
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    uid = os.getuid()
    for entry in entries:
        try:
            if not (pattern.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_uid == uid):
                continue
        except OSError:
            continue
        if _abandoned(os.path.join(entry.path, _LOCK)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _abandoned(lock: str) -> bool:
    """Whether the file `lock` is no run's: none holds it locked (a link, or a file that cannot be opened, is kept)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
