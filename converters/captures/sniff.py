"""Tell a HAR file from a mitmproxy flow dump by its first bytes."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from . import Format
from .bodies import GZIP_MAGIC

_HEAD_SIZE = 4096
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # HARs re-saved by Windows editors
ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")  # mitmproxy's .zhar
_TNETSTRING_START = re.compile(rb"\d{1,12}:")


def sniff_format(path: Path) -> Format | None:
    """Return "har" for JSON (after an optional BOM), zlib (.zhar) or gzipped JSON, "flow" for a (gzipped) tnetstring
    dump, None for an empty file or anything else. OSError (missing file, no permission) is left to the caller.
    """
    with open(path, "rb") as capture:
        head = capture.read(_HEAD_SIZE)
    if head.startswith(ZLIB_HEADERS):
        return "har"
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _HEAD_SIZE)
        except zlib.error:
            return None
    return _plain_format(head)


def _plain_format(head: bytes) -> Format | None:
    """The format of uncompressed capture bytes."""
    if head.removeprefix(BOM).lstrip().startswith(b"{"):
        return "har"
    if head.startswith(UTF16_BOMS) and head.decode("utf-16", "ignore").lstrip("\ufeff \t\r\n").startswith("{"):
        return "har"
    if _TNETSTRING_START.match(head):
        return "flow"
    if head.removeprefix(BOM).lstrip().startswith(b"["):
        return "json"  # a saved response that is a list (no HAR is)
    return None
