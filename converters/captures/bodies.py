"""Body decoding helpers shared by the HAR and flow readers."""

from __future__ import annotations

import re

from .. import limits

GZIP_MAGIC = b"\x1f\x8b"

_CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")


def dechunk(data: bytes) -> bytes | None:
    """The payload of an HTTP/1.1 chunked body, or None if `data` is not exactly such a body.

    Fiddler keeps the chunked framing in HAR bodies (`400\\r\\n…\\r\\n0\\r\\n\\r\\n`). The whole of `data` must
    parse as chunks followed by the last chunk (and optional trailers), so a body that merely starts with
    something hex-like is left alone.
    """
    payload = bytearray()
    position = 0
    while match := _CHUNK_SIZE_LINE.match(data, position):
        size = int(match[1], 16)
        start = match.end()
        if size == 0:
            rest = data[start:]
            if rest in (b"", b"\r\n") or rest.endswith(b"\r\n\r\n"):
                return bytes(payload)
            return None
        end = start + size
        if data[end : end + 2] != b"\r\n":
            return None
        payload += data[start:end]
        position = end + 2
    return None


def gunzip_if_gzipped(data: bytes, sent: int | None = None) -> bytes:
    """`data` gunzipped (within `limits.current()`) if it starts with the gzip magic, else `data` unchanged.

    Raises ValueError with a plain, secret-free reason ("could not decode gzip body: …") if the gzip data is damaged,
    `limits.LimitHit` if it decompresses beyond a limit (its ratio to `sent` bytes, where given: the body as sent).
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    return limits.gunzip(data, sent=sent)

