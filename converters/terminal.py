"""Text shown on a terminal: captured names, URLs and messages with their control characters escaped, so that a file
name or a URL holding `ESC[31m` or a BEL cannot colour, move or ring the terminal (or hide what a line says).

`safe` is the one function every line written to a terminal goes through (the summary and messages on stderr, the
progress bar, `inspect`'s table); it leaves printable text as it is and is idempotent.
"""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL, the bidirectional controls that reorder what follows them, and lone
# surrogates (the bytes of a file name that are not UTF-8, as Python's surrogateescape holds them)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as surrogateescape holds it: the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """`text` as one line fit for a terminal: control characters escaped (`\\x1b`, `\\x07`, `\\n`, `\\u202e`), a
    byte that is not UTF-8 as `\\xNN`; anything else as it is."""
    return _UNSAFE.sub(_escape, text)


def safe_lines(text: str) -> str:
    """`safe` for text of several lines: each line escaped, the line breaks kept."""
    return "\n".join(safe(line) for line in text.split("\n"))
