"""Zip and tar archives of captures, read in place: every member is an input of its own, never unpacked to disk.

`members(path)` lists an archive's members as `ArchiveMember`s (or says why it cannot be read); an `ArchiveMember`
stands where a capture's `Path` stands (`open`, `read_bytes`, `stat`, `absolute`), is pickled to worker processes
as it is (the archive's path, the member's name and where its data lies), and is read there straight from the
archive: a zip member from its own offset, a plain tar's too, a compressed tar's (gzip, bzip2, xz) by
decompressing the archive up to it, or on from where this process left it (`_Cursors`). Nothing is written anywhere and no member name is used as a path: a name with
`..` or an absolute one is refused, and links inside a tar are never followed.

The limits (the run's `--max-members`, `--max-member`, `--max-archive` and `--max-ratio`) keep a hostile archive
(a zip bomb: a member, or all of them together, far bigger once decompressed than in the archive, or overlapping
members) from costing more than a capture that size would: they are checked on the sizes and counts the archive declares before anything is
decompressed (a compressed tar's as its listing goes), and a member is never read past its declared size.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat as stat_module
import struct
import tarfile
import zipfile
import zlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from ..limits import DEFAULT, RATIO_FLOOR, Limits, size_text
from ..redaction import exception_text
from .bodies import GZIP_MAGIC

Kind = Literal["zip", "tar"]
Compression = Literal["gz", "bz2", "xz"] | None

class ArchiveError(ValueError):
    """The archive cannot be read (damaged, or past a limit): one line, without captured data."""


class MemberDamaged(OSError):
    """A member's data cannot be read to its end (damaged or cut off), raised as reading a file can fail."""


_DAMAGE = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile, ValueError)


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """One member of an archive, as a path-like input: `open()` gives its decompressed bytes."""

    archive: Path  # or a `remote.RemoteFile`: an archive at a URL
    name: str  # the member's name in the archive (folders separated by /)
    kind: Kind
    compression: Compression  # a tar's; a zip member's own method is read from its header
    offset: int  # zip: the member's local header; tar: the member's data (in the decompressed stream)
    size: int  # decompressed
    compressed_size: int  # zip: the member's data in the archive; tar: `size`, or 0 for a compressed tar
    crc: int = 0  # zip: CRC-32 of the data, checked when it has been read
    method: int = 0  # zip: compression method
    flags: int = 0  # zip: general purpose flag bits

    def __str__(self) -> str:
        return f"{self.archive}/{self.name}"

    def open(self, mode: str = "rb") -> io.BufferedReader:
        """The member's bytes, decompressed, never more than its declared size (OSError if the archive cannot be
        read, `MemberDamaged` where its data is damaged)."""
        if mode != "rb":
            raise ValueError("archive members are read only, as bytes")
        raw = None if self.compression else _open(self.archive, buffering=0)  # unbuffered: no read-ahead
        try:
            if self.kind == "zip":
                stream = _MemberStream(_zip_data(raw, self), raw, None)
            elif self.compression is None:
                raw.seek(self.offset)
                stream = _MemberStream(raw, raw, self.size)
            else:  # no seeking in a compressed stream: decompressed up to the member, or on from where it was left
                stream = _CursorStream(_cursors.take(self, raw), self)
        except BaseException as e:
            if raw is not None:
                raw.close()
            if isinstance(e, _DAMAGE) and not isinstance(e, OSError):
                raise MemberDamaged(f"damaged inside the archive: {_reason(e)}") from None
            raise
        return io.BufferedReader(stream, 1 << 20)

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()

    def sha256(self) -> str:
        """The SHA-256 of the member's data: a compressed tar's taken as its data was last read, where it was read
        to its end or is read on from where it was left (no decompressing the archive from its start again)."""
        if self.compression is not None and (known := _cursors.digest(self)):
            return known
        h = hashlib.sha256()
        with self.open() as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    def stat(self) -> os.stat_result:
        """The archive's `stat`, with the member's size (and a regular file's mode)."""
        s = self.archive.stat()
        fields = list(s)
        fields[stat_module.ST_MODE], fields[stat_module.ST_SIZE] = stat_module.S_IFREG | 0o444, self.size
        return os.stat_result(fields)

    def absolute(self) -> ArchiveMember:
        return replace(self, archive=self.archive.absolute())

    def exists(self) -> bool:
        return self.archive.exists()

    def is_file(self) -> bool:
        return self.archive.is_file()

    def is_dir(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Refused:
    """A member not read, and why (a link, an unsafe name, past a limit); `skip`: nothing lost (a link)."""

    name: str
    reason: str
    skip: bool = False


NESTED = "an archive inside an archive: not opened (unpack the outer one)"


def not_a_capture(path: Path | ArchiveMember, size: int) -> str:
    """Why a file whose format is not recognised is no capture: empty, an archive in an archive, or neither."""
    if size == 0:
        return "empty file"
    if isinstance(path, ArchiveMember):
        with path.open() as f:
            head = f.read(512)
        if head.startswith((b"PK\x03\x04", GZIP_MAGIC, b"BZh", b"\xfd7zXZ\x00")) or _is_tar(head):
            return NESTED
    return "not a HAR file or a mitmproxy flow dump"


def archive_kind(path: Path) -> tuple[Kind, Compression] | None:
    """("zip", None), ("tar", None|"gz"|"bz2"|"xz") by the file's first bytes, or None for any other file (a gzipped
    HAR is a capture, not an archive). OSError is left to the caller."""
    with _open(path) as f:
        head = f.read(512)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return "zip", None
        if _is_tar(head):
            return "tar", None
        for magic, compression in ((GZIP_MAGIC, "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz")):
            if head.startswith(magic):
                f.seek(0)
                try:
                    inner = _decompressed(f, compression).read(512)  # type: ignore[arg-type]
                except (OSError, EOFError, lzma.LZMAError, ValueError):
                    return None
                return ("tar", compression) if _is_tar(inner) else None  # type: ignore[return-value]
    return None


def members(path: Path, kind: tuple[Kind, Compression], budget: Limits = DEFAULT) -> list[ArchiveMember | Refused]:
    """The archive's files in archive order, each an `ArchiveMember`, or `Refused` with the reason; folders and hidden
    files (`.DS_Store`, `__MACOSX/`) are left out. ArchiveError when the archive cannot be listed or is past a
    limit of the run's `budget` as a whole."""
    check = _Totals(kind, path.stat().st_size, budget)
    try:
        listed = _zip_members(path, check) if kind[0] == "zip" else _tar_members(path, kind[1], check)
    except ArchiveError:
        raise
    except _DAMAGE as e:
        raise ArchiveError(f"damaged {_describe(kind)}: {_reason(e)}") from None
    found = [m for m in listed if not _hidden(m.name)]
    if kind[0] == "zip":
        _check_no_overlap([m for m in found if isinstance(m, ArchiveMember)])
    return [_checked(m, budget) if isinstance(m, ArchiveMember) else m for m in found]


class _Totals:
    """The archive's limits as a whole, checked member by member as the listing goes (a compressed tar is listed by
    decompressing it: a bomb is stopped at the header that takes it past a limit, before its data)."""

    def __init__(self, kind: tuple[Kind, Compression], archive_size: int, budget: Limits):
        self.kind, self.archive_size, self.budget = kind, archive_size, budget
        self.count = self.size = self.decompressed = 0

    def members(self, count: int) -> None:
        if count > self.budget.max_members:
            raise ArchiveError(f"more than {self.budget.max_members:,} members in the {_describe(self.kind)} "
                               "(--max-members): not read (a zip bomb?)")

    def read(self, count: int) -> None:
        """`count` more bytes of a compressed tar decompressed as it is listed."""
        self.decompressed += count
        if self.decompressed > RATIO_FLOOR and self.decompressed > self.budget.max_ratio * self.archive_size:
            raise ArchiveError(f"{_describe(self.kind)} more than {self.budget.max_ratio} times bigger once "
                               "decompressed (--max-ratio): not read (a zip bomb?)")

    def add(self, size: int) -> None:
        self.count, self.size = self.count + 1, self.size + size
        self.members(self.count)
        if self.size > self.budget.max_archive:
            raise ArchiveError(f"{_describe(self.kind)} of more than {size_text(self.budget.max_archive)} once "
                               "decompressed (--max-archive): not read (a zip bomb?)")
        ratio = self.budget.max_ratio
        if self.kind[1] is not None and self.size > RATIO_FLOOR and self.size > ratio * self.archive_size:
            raise ArchiveError(f"{_describe(self.kind)} more than {ratio} times bigger once decompressed "
                               "(--max-ratio): not read (a zip bomb?)")


# --- zip -------------------------------------------------------------------------------------------------------

def _zip_members(path: Path, check: _Totals) -> list[ArchiveMember | Refused]:
    listed: list[ArchiveMember | Refused] = []
    # The entries of the central directory are counted before zipfile reads them (it builds an object of some 500
    # bytes for each, and ignores the count the archive declares: a 58 MB zip declaring 1 entry but holding a million
    # took 576 MB and 15 s to be refused for --max-members, one declaring 65,535 but holding 3 was refused unread).
    with _open(path) as f, zipfile.ZipFile(_Utf8FlagsMended.of(f, check)) as archive:
        mended = getattr(archive.fp, "mended", ())
        for index, info in enumerate(archive.infolist()):
            check.add(info.file_size)
            if info.is_dir():
                continue
            # a name flagged UTF-8 that is none: its bytes as a name found on disk holds them (surrogateescape)
            name = _clean(info.filename.encode("cp437").decode("utf-8", "surrogateescape") if index in mended
                          else info.filename)
            if problem := _unsafe(name):
                listed.append(Refused(name, problem))
            elif stat_module.S_ISLNK(info.external_attr >> 16):
                listed.append(Refused(name, "a symbolic link inside the archive: not followed", skip=True))
            elif info.flag_bits & 0x1:
                listed.append(Refused(name, "encrypted inside the archive: not read"))
            elif info.compress_type not in _ZIP_METHODS:
                listed.append(Refused(name, f"compressed with zip method {info.compress_type}, which databack cannot "
                                            "decompress: not read"))
            else:
                listed.append(ArchiveMember(path, name, "zip", None, info.header_offset, info.file_size,
                                            info.compress_size, info.CRC, info.compress_type, info.flag_bits))
    return listed


_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


class _Utf8FlagsMended(io.RawIOBase):
    """A zip archive's bytes with the UTF-8 flag taken off each central directory entry whose name is no UTF-8, so
    that zipfile lists that name (as cp437, as a name without the flag) rather than failing the whole archive on it;
    `mended` holds those entries' places in the directory."""

    def __init__(self, raw: BinaryIO, start: int, directory: bytes, mended: frozenset[int]):
        self._raw, self._start, self._directory, self.mended = raw, start, directory, mended

    @classmethod
    def of(cls, raw: BinaryIO, check: _Totals | None = None) -> BinaryIO:
        """`raw` itself where every name flagged UTF-8 is UTF-8 (or there is no directory: zipfile says so). Each
        entry of the directory is counted by `check.members` (ArchiveError past `--max-members`) as it is met."""
        end = zipfile._EndRecData(raw)  # (private, but unchanged since Python 2)
        if not end:
            return raw
        size = end[zipfile._ECD_SIZE]
        start = end[zipfile._ECD_LOCATION] - size  # where zipfile reads the directory from
        if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        raw.seek(max(start, 0))
        directory, at, number, mended = bytearray(raw.read(size)), 0, 0, set()
        while at + zipfile.sizeCentralDir <= len(directory):
            fields = struct.unpack(zipfile.structCentralDir, directory[at : at + zipfile.sizeCentralDir])
            if fields[zipfile._CD_SIGNATURE] != zipfile.stringCentralDir:
                break
            name_at, flags = at + zipfile.sizeCentralDir, fields[zipfile._CD_FLAG_BITS]
            if flags & 0x800 and not _is_utf8(directory[name_at : name_at + fields[zipfile._CD_FILENAME_LENGTH]]):
                struct.pack_into("<H", directory, at + 8, flags & ~0x800)  # the flags follow 8 bytes of header
                mended.add(number)
            at = name_at + sum(fields[zipfile._CD_FILENAME_LENGTH : zipfile._CD_COMMENT_LENGTH + 1])
            number += 1
            if check is not None:
                check.members(number)
        raw.seek(0)
        return cls(raw, start, bytes(directory), frozenset(mended)) if mended else raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer) -> int:
        at = self._raw.tell()
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        low, high = max(at, self._start), min(at + len(data), self._start + len(self._directory))
        if low < high:
            buffer[low - at : high - at] = self._directory[low - self._start : high - self._start]
        return len(data)


def _is_utf8(name: bytes | bytearray) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_no_overlap(found: list[ArchiveMember]) -> None:
    """Members whose data overlaps (the same compressed bytes listed many times over) are a zip bomb."""
    ordered = sorted(found, key=lambda m: m.offset)
    for a, b in zip(ordered, ordered[1:]):
        if a.offset + 30 + a.compressed_size > b.offset:
            raise ArchiveError("zip archive whose members overlap: not read (a zip bomb?)")


def _zip_data(raw: BinaryIO, member: ArchiveMember) -> BinaryIO:
    """The member's decompressed data (zipfile's own reader: it stops at the declared size and checks the CRC)."""
    raw.seek(member.offset)
    header = raw.read(zipfile.sizeFileHeader)
    if len(header) != zipfile.sizeFileHeader:
        raise zipfile.BadZipFile("cut off at a member's header")
    fields = struct.unpack(zipfile.structFileHeader, header)
    if fields[0] != zipfile.stringFileHeader:
        raise zipfile.BadZipFile("a member's header is damaged")
    raw.seek(fields[10] + fields[11], os.SEEK_CUR)  # the name and extra field as the local header has them
    info = zipfile.ZipInfo(member.name)
    info.compress_type, info.compress_size, info.file_size = member.method, member.compressed_size, member.size
    info.CRC, info.flag_bits = member.crc, member.flags
    return zipfile.ZipExtFile(raw, "r", info, None, False)


# --- tar -------------------------------------------------------------------------------------------------------

def _tar_members(path: Path, compression: Compression, check: _Totals) -> list[ArchiveMember | Refused]:
    listed: list[ArchiveMember | Refused] = []
    with _open(path) as raw:
        source = raw if compression is None else _Weighed(_decompressed(raw, compression), check)
        # a plain tar's members are passed over by seeking; a compressed one is read as a stream, once
        with tarfile.open(fileobj=source, mode="r:" if compression is None else "r|", tarinfo=_TarInfo) as archive:
            for info in archive:
                check.add(info.size if info.isfile() else 0)
                name = _clean(info.name)
                if info.isdir():
                    continue
                if problem := _unsafe(name):
                    listed.append(Refused(name, problem))
                elif info.issym() or info.islnk():
                    listed.append(Refused(name, "a link inside the archive: not followed", skip=True))
                elif info.issparse():
                    listed.append(Refused(name, "a sparse file inside the archive (tar -S): not read"))
                elif not info.isfile():
                    listed.append(Refused(name, "not a regular file inside the archive (a device or FIFO): not read",
                                          skip=True))
                else:
                    listed.append(ArchiveMember(path, name, "tar", compression, info.offset_data, info.size,
                                                info.size if compression is None else 0))
    return listed


class _TarInfo(tarfile.TarInfo):
    """tarfile's headers, but a header that extends the next (a GNU long name or link, a pax header) of more than
    `EXTENSION` bytes, more than `CHAIN` of them before a member, or pax headers of more than `PAX_KEYS` keywords
    for a member (its own and the global ones), is an `ArchiveError`: tarfile reads such a header's data whole into
    memory (a 1 MB .tar.gz with a long name of 1 GiB: 3.2 GB), a header it extends by calling itself again
    (thousands of long names in a row, 50 KB gzipped: a RecursionError that ended the run), and gives every member
    after a global pax header a copy of all its keywords, keeping every member (a 230 KB .tar.gz of a global header
    of 107,000 keywords and 300 members: 1.2 GB, 10,000 members some 40 GB)."""

    EXTENSION = 1 << 20  # (a path is a few KiB at most; pax records of attributes too)
    CHAIN = 32
    PAX_KEYS = 128  # (path, times, ids, names, size, a file's extended attributes: a dozen or two)
    _KINDS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
              tarfile.SOLARIS_XHDTYPE)

    def _proc_sparse(self, archive):  # type: ignore[no-untyped-def]
        """A GNU sparse member's header, its extension blocks passed over, not gathered: tarfile keeps each of their
        regions (some 130 bytes of memory for 24 read: a 900 KB .tar.gz of 200 MB of them took 670 MB). The member
        is never read (`_tar_members`: its data is not its bytes as they lie)."""
        isextended = self._sparse_structs[1]
        del self._sparse_structs
        while isextended:
            block = archive.fileobj.read(tarfile.BLOCKSIZE)
            if len(block) < tarfile.BLOCKSIZE:
                raise tarfile.ReadError("the archive ends inside a sparse file's header")
            isextended = bool(block[504])
        self.sparse = []
        self.offset_data = archive.fileobj.tell()
        archive.offset = self.offset_data + self._block(self.size)
        return self

    def _proc_member(self, archive):  # type: ignore[no-untyped-def]
        if self.type not in self._KINDS:
            return super()._proc_member(archive)
        if self.size > self.EXTENSION:
            raise ArchiveError(f"tar archive with a header of {size_text(self.size)} (a long name or pax header, "
                               f"more than {size_text(self.EXTENSION)}): not read (a tar bomb?)")
        chained = getattr(archive, "_databack_chained", 0)
        if chained >= self.CHAIN:
            raise ArchiveError(f"tar archive with more than {self.CHAIN} long name or pax headers before a member: "
                               "not read (a tar bomb?)")
        archive._databack_chained = chained + 1
        try:
            member = super()._proc_member(archive)
        finally:
            archive._databack_chained = chained
        if max(len(archive.pax_headers), len(member.pax_headers)) > self.PAX_KEYS:
            raise ArchiveError(f"tar archive with pax headers of more than {self.PAX_KEYS} keywords for a member: "
                               "not read (a tar bomb?)")
        return member


class _Weighed(io.RawIOBase):
    """A compressed tar's decompressed bytes as its listing reads them, every one weighed against `--max-ratio`
    (`_Totals.read`): headers, padding and what lies between members too, not only the sizes members declare."""

    def __init__(self, stream: BinaryIO, check: _Totals):
        self._stream, self._check = stream, check

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self._check.read(len(data))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size is not None and size >= 0 else 1 << 20)
        self._check.read(len(data))
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


def _is_tar(block: bytes) -> bool:
    """A tar header block: POSIX (ustar) or GNU magic, and a header checksum that adds up."""
    if len(block) < 512 or block[257:262] != b"ustar":
        return False
    try:
        return tarfile.nti(block[148:156]) in tarfile.calc_chksums(block)
    except tarfile.HeaderError:
        return False


def _decompressed(raw: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "bz2":
        return bz2.BZ2File(raw, "rb")
    return lzma.LZMAFile(raw, "rb")


def _skip(stream: BinaryIO, count: int) -> None:
    """Read past `count` bytes (of a decompressed stream: no seeking there), a megabyte at a time."""
    while count > 0:
        data = stream.read(min(count, 1 << 20))
        if not data:
            raise tarfile.ReadError("the archive ends before a member's data")
        count -= len(data)


class _MemberStream(io.RawIOBase):
    """A member's data: the stream's next `size` bytes (a tar member's; None: all of it, a zip member's reader
    stops by itself), damage said as `MemberDamaged`; closing it closes the archive's file."""

    def __init__(self, stream: BinaryIO, raw: BinaryIO, size: int | None):
        self._stream, self._raw, self._left = stream, raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        wanted = len(buffer) if self._left is None else min(len(buffer), self._left)
        try:
            data = self._stream.read(wanted) if wanted else b""
        except _DAMAGE as e:
            if isinstance(e, OSError):
                raise
            raise MemberDamaged(f"damaged inside the archive: {_reason(e)}") from None
        if self._left is not None:
            if wanted and not data:
                raise MemberDamaged("damaged inside the archive: it ends inside a member")
            self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._stream.close()
            finally:
                self._raw.close()
        super().close()


class _Cursor:
    """A compressed tar's decompressing stream, left at `position` (of the decompressed stream), within or after the
    member whose data begins at `start`: `hasher` holds the SHA-256 of that member's data up to `position`, and
    `head` that data itself while it is no longer than `HEAD` (None past it)."""

    HEAD = 1 << 20  # (what io.BufferedReader takes at its first read, as a sniff of the first bytes does)

    def __init__(self, key: tuple, raw: BinaryIO, source: BinaryIO, start: int):
        self.key, self.raw, self.source, self.start, self.position = key, raw, source, start, start
        self.hasher = hashlib.sha256()
        self.head: bytearray | None = bytearray()
        self.damaged = False

    def close(self) -> None:
        try:
            self.source.close()
        finally:
            self.raw.close()


class _Cursors:
    """The decompressing streams of compressed tars that members were last read from, in this process, to read
    the next member on from where one was left rather than decompressing the archive from its start for each (its
    members are read in archive order: listed, sniffed, converted, hashed), and a member read again (a sniff's
    first bytes, then all of it; its data, then its hash) from what was kept of it. Without them, reading every
    member of a compressed tar of N members decompressed it some N times over (a 300 KB .tar.gz of 1,000 small
    members: minutes, and hours for 10,000), each member's sniff, hash and read from the archive's start."""

    KEEP = 4  # streams left open at once (each holds a decompressor and at most `_Cursor.HEAD` of a member)
    DIGESTS = 100_000  # members' hashes kept

    def __init__(self) -> None:
        self._idle: OrderedDict[int, _Cursor] = OrderedDict()
        self._digests: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(member: ArchiveMember) -> tuple:
        archive = member.archive
        if isinstance(archive, (str, os.PathLike)):
            s = os.stat(archive)
            return (os.fspath(archive), member.compression, s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns)
        return (str(archive), member.compression, id(archive))

    def take(self, member: ArchiveMember, raw: BinaryIO | None) -> tuple[_Cursor, int]:
        """A stream for `member` and how many bytes of its data are read already (its kept head's): one left at its
        data, or before it, or a new one."""
        key = self.key(member)
        with self._lock:
            mine = [c for c in self._idle.values() if c.key == key and c.start == member.offset
                    and c.head is not None and len(c.head) == c.position - c.start]
            ahead = [c for c in self._idle.values() if c.key == key and c.position <= member.offset]
            cursor = mine[0] if mine else max(ahead, key=lambda c: c.position, default=None)
            if cursor is not None:
                del self._idle[id(cursor)]
        if cursor is not None and cursor.start == member.offset and cursor.head is not None:
            return cursor, 0
        if cursor is None:
            raw = _open(member.archive) if raw is None else raw
            try:
                cursor = _Cursor(key, raw, _decompressed(raw, member.compression), 0)  # type: ignore[arg-type]
            except BaseException:
                raw.close()
                raise
        try:
            _skip(cursor.source, member.offset - cursor.position)
        except BaseException:
            cursor.close()
            raise
        cursor.start = cursor.position = member.offset
        cursor.hasher, cursor.head = hashlib.sha256(), bytearray()
        return cursor, 0

    def give_back(self, cursor: _Cursor) -> None:
        if cursor.damaged:
            cursor.close()
            return
        with self._lock:
            self._idle[id(cursor)] = cursor
            dropped = [self._idle.popitem(last=False)[1] for _ in range(len(self._idle) - self.KEEP)]
        for old in dropped:
            old.close()

    def read_to_end(self, member: ArchiveMember, cursor: _Cursor) -> None:
        """Note the member's hash once its data is read to its end."""
        with self._lock:
            self._digests[(cursor.key, member.offset, member.size)] = cursor.hasher.hexdigest()
            while len(self._digests) > self.DIGESTS:
                self._digests.popitem(last=False)

    def digest(self, member: ArchiveMember) -> str | None:
        """The member's hash where its data was read to its end, or is read on to it from where it was left."""
        key = self.key(member)
        with self._lock:
            if known := self._digests.get((key, member.offset, member.size)):
                return known
            left = [c for c in self._idle.values() if c.key == key and c.start == member.offset]
            if not left:
                return None
            cursor = self._idle.pop(id(left[0]))
        with _CursorStream((cursor, 0), member, replay=False) as stream:
            while stream.read(1 << 20):
                pass
        with self._lock:
            return self._digests.get((key, member.offset, member.size))

    def release(self) -> None:
        """Close every stream kept and forget the hashes: the work that read the archives is done."""
        self._close_idle()
        with self._lock:
            self._digests.clear()

    def forget(self) -> None:
        """In a forked child: the parent's streams are left to it (their files' offsets are shared)."""
        self._lock = threading.Lock()
        self._close_idle()  # (this process's copies of the descriptors)

    def _close_idle(self) -> None:
        """Close the streams kept; one whose close fails is passed over (the caller's work is done)."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), OrderedDict()
        for cursor in idle:
            try:
                cursor.close()
            except Exception:
                pass


_cursors = _Cursors()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_cursors.forget)


def release() -> None:
    """Close the compressed tars this process kept open to read their members on (`_Cursors`): once a conversion is
    done, a process that goes on (a notebook, a service) holds no archive open (on Windows, one could not be
    deleted)."""
    _cursors.release()


class _CursorStream(io.RawIOBase):
    """A compressed tar member's data, read from a `_Cursor` (its kept head first, unless `replay` is off: read on
    from where the cursor was left), the cursor given back when closed; damage said as `MemberDamaged`."""

    def __init__(self, taken: tuple[_Cursor, int], member: ArchiveMember, replay: bool = True):
        self._cursor, self._member = taken[0], member
        self._at = 0 if replay else self._cursor.position - member.offset  # of the member's data, given out

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        c, size = self._cursor, self._member.size
        if c.head is not None and self._at < len(c.head):  # what was read of it before
            data = bytes(c.head[self._at : self._at + len(buffer)])
        else:
            wanted = min(len(buffer), size - (c.position - c.start))
            try:
                data = c.source.read(wanted) if wanted > 0 else b""
            except _DAMAGE as e:
                c.damaged = True
                if isinstance(e, OSError):
                    raise
                raise MemberDamaged(f"damaged inside the archive: {_reason(e)}") from None
            except BaseException:
                c.damaged = True
                raise
            if wanted > 0 and not data:
                c.damaged = True
                raise MemberDamaged("damaged inside the archive: it ends inside a member")
            c.position += len(data)
            c.hasher.update(data)
            if c.head is not None:
                if len(c.head) + len(data) <= _Cursor.HEAD:
                    c.head += data
                else:
                    c.head = None
            if data and c.position - c.start == size:
                _cursors.read_to_end(self._member, c)
        self._at += len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            _cursors.give_back(self._cursor)
        super().close()


# --- checks ----------------------------------------------------------------------------------------------------

def _clean(name: str) -> str:
    """The member's name without `./` parts (`tar -C folder .` writes `./p07/a.har`)."""
    return "/".join(p for p in name.split("/") if p not in (".", "")) if not name.startswith("/") else name


def _unsafe(name: str) -> str | None:
    """Why a member's name cannot be used as a name below the archive's: absolute, a drive, or going up."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in parts or "\0" in name:
        return "a member name that leaves the archive (absolute, or with ..): not read"
    return None


def _hidden(name: str) -> bool:
    """Hidden as files found in a folder are (a part starting with a dot), and macOS's `__MACOSX/` resource forks."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p.startswith(".") and p != ".." for p in parts) or (bool(parts) and parts[0] == "__MACOSX")


def _checked(member: ArchiveMember, budget: Limits) -> ArchiveMember | Refused:
    reason = refusal(member.size, member.compressed_size, budget)
    return Refused(member.name, reason) if reason else member


def refusal(size: int, compressed: int, budget: Limits) -> str | None:
    """Why a member of that size once decompressed (and compressed, where known: else 0) is not read, or None."""
    if size > budget.max_member:
        return (f"{size_text(size)} once decompressed, more than the limit of {size_text(budget.max_member)} for "
                "one member (--max-member): not read")
    if compressed and size > RATIO_FLOOR and size > budget.max_ratio * compressed:
        return (f"{size // compressed:,} times bigger once decompressed (more than {budget.max_ratio}x, "
                "--max-ratio): not read (a zip bomb?)")
    return None


def _open(path, buffering: int = -1) -> BinaryIO:
    """An archive's bytes: a file's, or those of a `remote.RemoteFile` (always buffered)."""
    return open(path, "rb", buffering=buffering) if isinstance(path, (str, os.PathLike)) else path.open()


def _describe(kind: tuple[Kind, Compression]) -> str:
    return "zip archive" if kind[0] == "zip" else "tar archive" if kind[1] is None else f"{kind[1]} tar archive"


def _reason(error: Exception) -> str:
    """What zipfile or tarfile said, without the names it quotes (`Bad CRC-32 for file '…'`): a member's folders
    may name a person, which --pseudonymize hides, and the member is named where the message is shown."""
    text = exception_text(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
