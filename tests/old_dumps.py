"""mitmproxy flow dumps in every flow format from 0.10 (2014) to 21 (today), written here rather than by old mitmproxy
releases: a flow is laid out as 0.10 or 0.11 wrote it (the layouts of the reference dumps `dumpfile-010.mitm` and
`dumpfile-011.mitm`), and taken to a later format by mitmproxy's own migrations (`mitmproxy.io.compat`), which say
what each format holds. A flow without a response is made at its format, as that release wrote one: the response
null, the error set."""

from __future__ import annotations

import copy
from typing import Any

# Every flow format: the release tuples up to 3.0, then the integers.
VERSIONS: list[tuple[int, int] | int] = [
    (0, 10), (0, 11), (0, 12), (0, 13), (0, 14), (0, 15), (0, 16), (0, 17), (0, 18), (0, 19), (1, 0), (2, 0), (3, 0),
    *range(4, 22),
]


def label(version: tuple[int, int] | int) -> str:
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _flow_0_10(host: str, path: str, body: bytes | None, started: float) -> dict[bytes, Any]:
    request = {
        b"client_conn": {b"address": [b"127.0.0.1", 56104], b"error": None, b"requestcount": 1},
        b"content": b"", b"headers": [[b"Host", host.encode()], [b"Accept", b"*/*"]], b"host": host.encode(),
        b"httpversion": [1, 1], b"ip": b"127.0.0.1", b"method": b"GET", b"path": path.encode(), b"port": 443,
        b"scheme": b"https", b"ssl_setup_timestamp": started, b"tcp_setup_timestamp": started,
        b"timestamp_end": started, b"timestamp_start": started,
    }
    response = None if body is None else {
        b"cert": None, b"code": 200, b"content": body, b"headers": [[b"Content-Type", b"application/json"]],
        b"httpversion": [1, 1], b"msg": b"OK", b"timestamp_end": started + 0.2, b"timestamp_start": started + 0.1,
    }
    return {b"error": None, b"request": request, b"response": response, b"version": [0, 10, 1]}


def _flow_0_11(host: str, path: str, body: bytes, started: float) -> dict[bytes, Any]:
    address = {b"address": [host.encode(), 443], b"use_ipv6": False}
    return {
        b"client_conn": {
            b"address": {b"address": [b"127.0.0.1", 60786], b"use_ipv6": False}, b"clientcert": None,
            b"ssl_established": True, b"timestamp_end": None, b"timestamp_ssl_setup": started,
            b"timestamp_start": started,
        },
        b"error": None,
        b"id": f"e072a53a-711a-46b7-aaa5-{int(started * 1000) % 10**12:012d}".encode(),
        b"intercepted": False,
        b"request": {
            b"content": b"", b"form_in": b"relative", b"form_out": b"relative",
            b"headers": [[b"Host", host.encode()], [b"Accept", b"*/*"]], b"host": host.encode(),
            b"httpversion": [1, 1], b"is_replay": False, b"method": b"GET", b"path": path.encode(), b"port": 443,
            b"scheme": b"https", b"timestamp_end": started, b"timestamp_start": started,
        },
        b"response": {
            b"code": 200, b"content": body, b"headers": [[b"Content-Type", b"application/json"]],
            b"httpversion": [1, 1], b"msg": b"OK", b"timestamp_end": started + 0.2, b"timestamp_start": started + 0.1,
        },
        b"server_conn": {
            b"address": address, b"cert": None, b"sni": host.encode(),
            b"source_address": {b"address": [b"192.168.10.90", 60788], b"use_ipv6": False},
            b"ssl_established": True, b"state": [], b"timestamp_end": None, b"timestamp_ssl_setup": started,
            b"timestamp_start": started, b"timestamp_tcp_setup": started,
        },
        b"type": b"http",
        b"version": [0, 11, 3],
    }


def _version(state: dict) -> tuple[int, int] | int:
    version = state.get(b"version", state.get("version"))
    return version if isinstance(version, int) else tuple(version)[:2]


def flow_state(
    version: tuple[int, int] | int,
    host: str,
    path: str,
    body: bytes | None,
    started: float = 1417000000.0,
    error: str | None = None,
    server_conn: bool = True,
) -> dict:
    """One HTTP flow's state in flow format `version`; `body` None: no response (and `error`, if given, set)."""
    from mitmproxy.io import compat

    if version == (0, 10):
        state = _flow_0_10(host, path, body, started)
        if error is not None:
            state[b"error"] = {b"msg": error.encode(), b"timestamp": started + 1}
        return state
    state = _flow_0_11(host, path, body or b"", started)
    while _version(state) != version:
        state = compat.converters[_version(state)](state)
    key = (lambda name: name.encode()) if b"request" in state else (lambda name: name)
    if body is None:
        state[key("response")] = None
        if error is not None:
            text = error.encode() if key("x") == b"x" else error
            state[key("error")] = {key("msg"): text, key("timestamp"): started + 1}
    if not server_conn:
        state[key("server_conn")] = None
    return copy.deepcopy(state)


def dump(*states: dict) -> bytes:
    """A flow dump of these states, framed as mitmproxy writes them (tnetstrings one after another)."""
    from mitmproxy.io import tnetstring

    return b"".join(tnetstring.dumps(state) for state in states)
