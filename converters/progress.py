"""How many bytes of the inputs a run has read so far, for a progress bar that moves within one big file.

Readers run in this process, in a reading process beside it, or in worker processes (`--jobs`), and none of them
is told about progress: the file offsets the operating system keeps are read instead (Linux: `/proc/<pid>/fdinfo`
of this process and its descendants). Where those cannot be read, a file counts once it is done.

A member of a zip or plain tar archive counts by the offset reached within its data in the archive (scaled to its
decompressed size); a compressed tar's member, read by decompressing the archive up to it, once it is done.
"""

from __future__ import annotations

import os
from pathlib import Path

from .captures.archives import ArchiveMember

_SLACK = 1 << 16  # a reader's buffer may take it that far past a member's data
Key = str | tuple[str, str]  # a file's real path; (the archive's real path, the member's name); ("", a file's URL)


class BytesRead:
    """Bytes read of a set of inputs: those of finished ones, plus the offset reached in those being read."""

    def __init__(self, paths: list[Path | ArchiveMember]):
        self.sizes: dict[Key, int] = {}
        self._spans: dict[Key, tuple[str, int, int]] = {}  # a member's file, and its data's start and length in it
        for p in paths:
            try:
                self.sizes[_key(p)] = p.stat().st_size
            except OSError:
                continue
            local = isinstance(p, ArchiveMember) and isinstance(p.archive, Path)
            if local and (p.kind == "zip" or p.compression is None):
                header = 30 + len(p.name.encode()) if p.kind == "zip" else 0
                self._spans[_key(p)] = (os.path.realpath(p.archive), p.offset, header + p.compressed_size)
        self.total = sum(self.sizes.values())
        self._done: set[Key] = set()

    def finished(self, path: Path | ArchiveMember) -> None:
        self._done.add(_key(path))

    def read(self) -> int:
        """Bytes read so far (never more than the total)."""
        done = sum(self.sizes.get(p, 0) for p in self._done)
        reading = set(self.sizes) - self._done
        files = {p for p in reading if isinstance(p, str)} | {self._spans[p][0] for p in reading if p in self._spans}
        offsets = _offsets(files)
        for key in reading:
            if isinstance(key, str):
                done += min(min(offsets.get(key, [0])), self.sizes[key])
            elif key in self._spans:
                archive, start, length = self._spans[key]
                inside = [o - start for o in offsets.get(archive, ()) if start <= o <= start + length + _SLACK]
                if inside and length:
                    done += self.sizes[key] * min(min(inside), length) // length
        return min(self.total, done)


def _key(path: Path | ArchiveMember) -> Key:
    """A local file by its real path (its offsets are read); a member of an archive, or a file at a URL (counted
    once finished), by a pair."""
    if isinstance(path, ArchiveMember):
        return (os.path.realpath(path.archive) if isinstance(path.archive, Path) else str(path.archive)), path.name
    if not isinstance(path, os.PathLike):
        return "", str(path)
    return os.path.realpath(path)


def _offsets(paths: set[str]) -> dict[str, list[int]]:
    """The offsets of each of `paths` open in this process or its descendants (one per open: a file's hash is
    taken beside its parse, and runs ahead of it)."""
    found: dict[str, list[int]] = {}
    if not paths:
        return found
    for pid in _family(os.getpid()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target not in paths:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    offset = int(info.readline().split()[1])  # "pos:\t<offset>"
            except (OSError, ValueError, IndexError):
                continue
            found.setdefault(target, []).append(offset)
    return found


def _family(pid: int) -> list[int]:
    """This process and its descendants (through every thread's `children`)."""
    family, todo = [], [pid]
    while todo:
        p = todo.pop()
        family.append(p)
        try:
            threads = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as children:
                    todo += [int(c) for c in children.read().split()]
            except (OSError, ValueError):
                continue
    return family
