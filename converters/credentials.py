"""Where credentials travel: sign-in and token calls, whose bodies hold passwords, client secrets and tokens."""

from __future__ import annotations

import re

_SIGN_IN_URL = re.compile(
    r"oauth|token|log[-_]?[io]n|sign[-_]?[io]n|auth(?:enticat|oriz)|/auth(?:/|$)|password|session|credential",
    re.IGNORECASE,
)


def is_sign_in_url(host_and_path: str) -> bool:
    """Whether a URL (host and path, or the path alone) is a sign-in or token call."""
    return _SIGN_IN_URL.search(host_and_path) is not None
