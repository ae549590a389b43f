"""Tell a HAR file from a mitmproxy flow dump (or a saved JSON response) by its first bytes; read JSON text in any of
the encodings Windows tools write it in."""

from __future__ import annotations

import codecs
import re
import zlib
from pathlib import Path
from typing import Any

import orjson

from .. import limits
from . import Format, open_capture
from .bodies import GZIP_MAGIC

_HEAD_SIZE = 4096
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # HARs re-saved by Windows editors
# JSON's first two characters are ASCII: the NULs around them tell UTF-16 and UTF-32 written without a BOM (RFC 4627)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
JSONP = re.compile(rb"\s*[A-Za-z_$][\w$.]*\s*\(\s*")  # HAR Viewer's .harp: onInputData({...});
ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")  # mitmproxy's .zhar
_TNETSTRING_START = re.compile(rb"\d{1,12}:")


def sniff_format(path: Path) -> Format | None:
    """Return "har" for JSON (after an optional BOM), zlib (.zhar) or gzipped JSON, "flow" for a (gzipped) tnetstring
    dump, None for an empty file or anything else. OSError (missing file, no permission) is left to the caller.
    """
    with open_capture(path) as capture:
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
    if _TNETSTRING_START.match(head):
        return "flow"
    try:
        text = utf8_json(head, partial=True).lstrip()
    except UnicodeDecodeError:
        return None
    if text.startswith(b"{"):
        return "har"
    if text.startswith(b"["):
        return "json"  # a saved response that is a list (no HAR is)
    if (m := JSONP.match(text)) and text[m.end():].startswith(b"{"):
        return "har"  # HAR Viewer's JSONP form
    return None


def json_encoding(data: bytes) -> str | None:
    """The encoding of JSON text other than plain UTF-8, by its BOM or its NULs: utf-8-sig, utf-16, utf-32, ...;
    None for UTF-8 without a BOM."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    if len(data) >= 4 and 0 in data[:4]:
        if data[:3] == b"\x00\x00\x00":
            return "utf-32-be"
        if data[1:4] == b"\x00\x00\x00":
            return "utf-32-le"
        if data[0] == 0:
            return "utf-16-be"
        if data[1] == 0:
            return "utf-16-le"
    return None


def utf8_json(data: bytes, partial: bool = False) -> bytes:
    """JSON text as UTF-8 without a BOM, whatever encoding Windows tools saved it in (a BOM, UTF-16, UTF-32).
    `partial`: `data` is only the start of the text (a character cut in two at its end is left out)."""
    encoding = json_encoding(data)
    if encoding is None:
        return data
    if encoding == "utf-8-sig":
        return data[3:]
    return codecs.getincrementaldecoder(encoding)(errors="strict").decode(data, final=not partial).encode()


def loads_json(data: bytes, checked: bool = False) -> Any:
    """`orjson.loads` of JSON text in any of those encodings (orjson.JSONDecodeError when it is no JSON; a body not
    decodable in its encoding is no JSON either), once `limits.check_json` found it within the limits (else
    `limits.LimitHit`); `checked`: UTF-8 text it found so already (`Exchange.json_checked`)."""
    if json_encoding(data) is not None:
        try:
            data = utf8_json(data)
        except UnicodeDecodeError as e:
            raise orjson.JSONDecodeError(f"not {e.encoding} text: {e.reason}", "", 0) from None
    elif checked:
        return _loads(data)
    limits.check_json(data)
    return _loads(data)


def _loads(data: bytes) -> Any:
    """`orjson.loads`, an escaped lone surrogate read as U+FFFD as in a HAR's own JSON (a server's string cut
    inside an emoji: orjson refused the whole body for it, a Band response of every workout rejected for one name)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if "surrogate" not in str(e):
            raise
        from .har_runs import _lone_surrogates_replaced

        text = bytearray(data)
        if not _lone_surrogates_replaced(text):
            raise
        return orjson.loads(text)
