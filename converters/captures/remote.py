"""Captures at a URL that fsspec can read (`s3://bucket/study/`, `gcs://…`, `file:///…`, `zip://*.har::s3://…`),
listed and read through fsspec, never copied to disk.

`is_url` tells such an argument from a path without importing anything; `listed(url)` finds the files it names (a
file, every file below a folder, or what a glob matches; hidden ones left out, as in folders), each a `RemoteFile`,
or says in one line why it cannot. A `RemoteFile` stands where a capture's `Path` stands (`open`, `read_bytes`,
`stat`, …, as `archives.ArchiveMember` does), so every reader (HAR, flow, saved responses, and databack's own
zip and tar reading, within the archive limits) reads it as it reads a file; it is pickled to worker processes and
Dask workers with its filesystem (fsspec filesystems pickle with their options) and opened there. It is never read
past the size its listing gave.

Names: a remote file is named by its URL less what a URL may carry to reach it (a user and password, a query such
as a signed URL's `X-Amz-Signature`, a fragment): `redaction.url_name`. Error messages never quote the URL.
fsspec is imported only when a URL is given (it comes with the `dask` extra, or the `remote` one); nothing is
fetched but what the URL names.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

from ..limits import DEFAULT, Limits
from ..redaction import exception_text, url_name
from .archives import Refused, refusal

URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+://")  # a scheme of two letters or more: `C:\` is a path
GLOB_CHARS = frozenset("*[")  # in a URL, `?` starts the query
_ARCHIVE_PROTOCOLS = frozenset({"zip", "tar", "libarchive"})  # fsspec's own archive readers: members are limited


class NoFsspec(Exception):
    """fsspec is not installed: a URL cannot be read at all (a usage error)."""


def is_url(text: str) -> bool:
    return bool(URL.match(text))


def is_glob(url: str) -> bool:
    """Whether a URL holds a glob: `*` or `[` before its query."""
    return bool(GLOB_CHARS & set(url.partition("?")[0]))


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file at a URL, as a path-like input: `open()` gives its bytes, at most `size` of them."""

    fs: Any  # an fsspec filesystem
    path: str  # the file's path in `fs`
    name: str  # its URL without credentials (`redaction.url_name`): what outputs call it
    size: int
    mtime: float = 0.0

    def __str__(self) -> str:
        return self.name

    def open(self, mode: str = "rb") -> io.BufferedReader:
        """The file's bytes (OSError, with a message that does not quote the URL, if it cannot be read)."""
        if mode != "rb":
            raise ValueError("remote files are read only, as bytes")
        try:
            f = self.fs.open(self.path, "rb")
        except Exception as e:  # noqa: BLE001 (each filesystem raises its own)
            raise _os_error(e, self.path) from None
        return io.BufferedReader(_Stream(f, self.path, self.size), 1 << 20)

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    def stat(self) -> os.stat_result:
        """A regular, read-only file of the listed size."""
        return os.stat_result((stat.S_IFREG | 0o444, 0, 0, 1, 0, 0, self.size, int(self.mtime), int(self.mtime),
                               int(self.mtime)))

    def absolute(self) -> RemoteFile:
        return self

    def exists(self) -> bool:
        return True

    def is_file(self) -> bool:
        return True

    def is_dir(self) -> bool:
        return False


class _Stream(io.RawIOBase):
    """An fsspec file as a raw stream for `io.BufferedReader`: seekable where it is, ending at the listed size, its
    failures OSError (a network error mid-file ends that file as a damaged one does)."""

    def __init__(self, f: Any, path: str, size: int) -> None:
        self._f, self._path, self._size = f, path, size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._call(self._f.seekable)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._call(self._f.seek, offset, whence)

    def tell(self) -> int:
        return self._call(self._f.tell)

    def readinto(self, buffer) -> int:
        left = self._size - self._call(self._f.tell)
        if left <= 0:
            return 0
        view = memoryview(buffer)[:left]
        data = self._call(self._f.read, len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._f.close()
            finally:
                super().close()

    def _call(self, method, *args):
        try:
            return method(*args)
        except Exception as e:  # noqa: BLE001 (each filesystem raises its own)
            raise _os_error(e, self._path) from None


def listed(url: str, budget: Limits = DEFAULT) -> list[RemoteFile | Refused] | str:
    """The files the URL names, sorted: the file itself, every file below it if it is a folder, or what it
    matches if it holds a glob (`*`, `[`; `?` starts a URL's query); hidden files and folders (`.name`) and
    `__MACOSX/` left out. Or one line saying why none can be read (no such file, a scheme no filesystem is
    installed for, …), naming no part of the URL. A file of fsspec's own archive reading (`zip://…::…`) past `--max-member` or `--max-ratio` is
    `Refused`, and more than `--max-members` of them refuse the URL. NoFsspec without fsspec."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise NoFsspec("reading a URL needs fsspec: pip install 'databack[remote]' (and the filesystem's package, "
                       "such as s3fs or gcsfs)") from None
    try:
        fs, path = url_to_fs(url)
    except ImportError as e:  # fsspec knows the scheme; its package is missing (fsspec's own words say which)
        return f"cannot read the URL: {str(e).splitlines()[0][:200]}"
    except ValueError as e:
        if "protocol" in str(e).lower():
            return f"cannot read the URL: no filesystem for {url.split('://')[0]}:// (fsspec knows none)"
        return f"cannot read the URL: {_reason(e, url)}"
    except Exception as e:  # noqa: BLE001
        return f"cannot read the URL: {_reason(e, url)}"
    try:
        if is_glob(path):
            found, top = fs.glob(path, detail=True), _glob_root(path)
            if not found:
                return "matches no file"
        elif fs.isdir(path):
            found, top = fs.find(path, detail=True), path
            if not found:
                return "no files in this folder (hidden ones aside)"
        else:
            found, top = {path: fs.info(path)}, None
    except Exception as e:  # noqa: BLE001
        return f"cannot read the URL: {_os_error(e, path).strerror}"
    files = [(p, info) for p, info in sorted(found.items())
             if info.get("type", "file") == "file" and not (top is not None and _hidden(p, top))]
    if not files:
        return "no files at this URL (hidden ones aside)"
    if set(_protocols(fs)) & _ARCHIVE_PROTOCOLS:  # fsspec's reading of an archive: databack's limits still hold
        if len(files) > budget.max_members:
            return f"more than {budget.max_members:,} members in the archive (--max-members): not read (a zip bomb?)"
        refused = {p: refusal(int(info.get("size") or 0), int(info.get("compress_size") or 0), budget)
                   for p, info in files}
    else:
        refused = {}
    return [Refused(_name(fs, p, url), refused[p]) if refused.get(p)
            else RemoteFile(fs, p, _name(fs, p, url), int(info.get("size") or 0), _mtime(info)) for p, info in files]


def _protocols(fs: Any) -> tuple[str, ...]:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def _name(fs: Any, path: str, url: str) -> str:
    """The file's URL: the filesystem's own for a plain URL; for a chained one (`zip://…::s3://…`), the member's
    path in the first filesystem and the rest of the chain as given."""
    _, chained, rest = url.partition("::")
    own = fs.unstrip_protocol(path)
    own = own if "://" in own else f"{_protocols(fs)[0]}://{path}"
    return url_name(f"{own}::{rest}" if chained else own)


def _glob_root(path: str) -> str:
    """The folders of a glob before its first wildcard: files are hidden by their parts below it."""
    head = re.split(r"[*\[]", path, maxsplit=1)[0]
    return head.rpartition("/")[0]


def _hidden(path: str, top: str) -> bool:
    below = path[len(top):].lstrip("/") if path.startswith(top) else path
    parts = below.split("/")
    return any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX"


def _mtime(info: dict) -> float:
    value = info.get("mtime") or 0.0
    return float(value) if isinstance(value, (int, float)) else 0.0


_ERRNO = {FileNotFoundError: errno.ENOENT, PermissionError: errno.EACCES, IsADirectoryError: errno.EISDIR,
          TimeoutError: errno.ETIMEDOUT}


def _os_error(error: BaseException, path: str) -> OSError:
    """An OSError whose `strerror` names the problem and not the file: the OS's words for a known errno, else the
    exception's type and its message without the path or what it quotes."""
    code = next((c for t, c in _ERRNO.items() if isinstance(error, t)), None)
    if code is None and isinstance(error, OSError) and error.errno:
        code = error.errno
    if code is not None:
        return OSError(code, os.strerror(code))
    return OSError(errno.EIO, _reason(error, path))


def _reason(error: BaseException, url: str) -> str:
    text = str(error).replace(url, "the URL").splitlines()
    first = exception_text(Exception(text[0][:200])) if text and text[0] else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
