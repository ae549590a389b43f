"""How many bytes of the inputs a run has read so far, for a progress bar that moves within one big file.

Readers run in this process, in a reading process beside it, or in worker processes (`--jobs`), and none of them
is told about progress: the file offsets the operating system keeps are read instead (Linux: `/proc/<pid>/fdinfo`
of this process and its descendants). Where those cannot be read, a file counts once it is done.
"""

from __future__ import annotations

import os
from pathlib import Path


class BytesRead:
    """Bytes read of a set of input files: those of finished files, plus the offset reached in files being read."""

    def __init__(self, paths: list[Path]):
        self.sizes: dict[str, int] = {}
        for p in paths:
            try:
                self.sizes[os.path.realpath(p)] = p.stat().st_size
            except OSError:
                continue
        self.total = sum(self.sizes.values())
        self._done: set[str] = set()

    def finished(self, path: Path) -> None:
        self._done.add(os.path.realpath(path))

    def read(self) -> int:
        """Bytes read so far (never more than the total)."""
        done = sum(self.sizes.get(p, 0) for p in self._done)
        offsets = _offsets(set(self.sizes) - self._done)
        return min(self.total, done + sum(min(offset, self.sizes[p]) for p, offset in offsets.items()))


def _offsets(paths: set[str]) -> dict[str, int]:
    """The offset of each of `paths` open in this process or its descendants: the smallest, where a file is open
    more than once (its hash is taken beside its parse, and runs ahead of it)."""
    found: dict[str, int] = {}
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
            found[target] = min(offset, found.get(target, offset))
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
