"""The SHA-256 of an input file: how a re-run knows the files it already converted (kept in the report)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .captures import open_capture
from .captures.archives import ArchiveMember


def sha256_file(path: Path) -> str:
    if isinstance(path, ArchiveMember):  # (a compressed tar's member: from where it was last read)
        return path.sha256()
    h = hashlib.sha256()
    with open_capture(path) as f:  # a file, or a member of an archive
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sha256_or_none(path: Path) -> str | None:
    """None when the file cannot be read (so that the next run converts it again)."""
    try:
        return sha256_file(path)
    except OSError:
        return None
