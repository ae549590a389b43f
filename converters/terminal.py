"""Text shown on a terminal: captured names, URLs and messages with their control characters escaped, so that a file
name or a URL holding `ESC[31m` or a BEL cannot colour, move or ring the terminal (or hide what a line says).

`safe` is the one function every line written to a terminal goes through (the summary and messages on stderr, the
progress bar, `inspect`'s table); it leaves printable text as it is and is idempotent. `safe_json` does the same for
JSON printed with `--json`: the JSON stays the same value, its strings escaped as JSON escapes them (`\\u009b`).
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


# What JSON encoders leave raw in strings though a terminal acts on it: DEL, the C1 controls (U+009B is CSI, as
# ESC [ is) and the bidirectional controls. (C0 controls are escaped by any JSON encoder; a lone surrogate is no UTF-8.)
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_json(text: str) -> str:
    """JSON text with the characters a terminal acts on that JSON encoders write raw as `\\uXXXX` escapes: the
    same JSON value, fit for a terminal. (Outside strings, JSON holds none of them.)"""
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def safe_lines(text: str) -> str:
    """`safe` for text of several lines: each line escaped, the line breaks kept."""
    return "\n".join(safe(line) for line in text.split("\n"))
