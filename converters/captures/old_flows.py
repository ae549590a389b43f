"""Repairs of flow states that mitmproxy 12's own migrations (`mitmproxy.io.compat`) cannot take.

- Format 0.10 (mitmproxy 0.10.x, January to November 2014) predates the flow `type` and keeps the client
  connection inside the request; mitmproxy never migrated it. It is rewritten here in the 0.11 layout, from which
  mitmproxy's chain of migrations takes over.
- 0.11 to 0.18 dumps may hold a server connection whose `source_address` is null, on which the migration fails.
- 0.10 to 0.15 flows without a response (a refused connection, a failed TLS handshake, a request cut off) break
  the migrations up to 0.16, which change the response's fields without asking whether there is one
  (`convert_013_014` calls `.pop` on it); and a flow without a server connection (0.10 to 0.13) breaks those that
  change the connection's fields. Such a flow goes through them with a stand-in, taken out again at 0.16 (the
  response) or kept as an unknown address (the connection).
"""

from __future__ import annotations

import uuid
from typing import Any

State = dict[bytes, Any]
NO_ADDRESS = {b"address": [b"0.0.0.0", 0], b"use_ipv6": False}


def migrate(state: State) -> dict:
    """The state in the current flow format: repaired where needed, then migrated by mitmproxy."""
    from mitmproxy.io import compat

    state = repair(state)
    no_response = _version(state) < (0, 16) and b"response" in state and state[b"response"] is None
    if no_response:  # a stand-in the migrations up to 0.16 can change, removed again after them
        state[b"response"] = {b"code": 0, b"content": b"", b"httpversion": [1, 1]} if _version(state) < (0, 14) else {}
        while _version(state) < (0, 16):
            state = compat.converters[_version(state)](state)
        state[b"response"] = None
    return compat.migrate_flow(state)


def _version(state: dict) -> tuple:
    """The flow format as a tuple: (0, 11) for the old release numbers, (1000 + n,) for the later integers n."""
    version = state.get(b"version", state.get("version"))
    if isinstance(version, int):
        return (1000 + version,)
    return tuple(version)[:2] if isinstance(version, (list, tuple)) else (1000 + 10**6,)


def repair(state: State) -> State:
    """The state, in a shape mitmproxy's migrations accept; unchanged when it needs nothing."""
    version = state.get(b"version")
    if isinstance(version, list) and version[:2] == [0, 10]:
        state = from_0_10(state)
    request = state.get(b"request")
    if _version(state) < (0, 14) and state.get(b"server_conn", False) is None and isinstance(request, dict):
        # no connection was made: its address is the request's
        state[b"server_conn"] = {
            b"address": {b"address": [request.get(b"host") or b"", request.get(b"port") or 0], b"use_ipv6": False},
            b"source_address": dict(NO_ADDRESS), b"cert": None, b"sni": None, b"ssl_established": False,
            b"state": [], b"timestamp_start": None, b"timestamp_tcp_setup": None, b"timestamp_ssl_setup": None,
            b"timestamp_end": None,
        }
    server = state.get(b"server_conn")
    if isinstance(server, dict) and b"source_address" in server and server[b"source_address"] is None:
        server[b"source_address"] = dict(NO_ADDRESS)
    return state


def from_0_10(old: State) -> State:
    """A 0.10 flow in the 0.11 layout: connections moved out of the request, a type and an id added."""
    request, response = old[b"request"], old.get(b"response")
    client = request.get(b"client_conn") or {}
    https = request.get(b"scheme") == b"https"
    new_request = {k: request.get(k) for k in (b"content", b"headers", b"host", b"httpversion", b"method", b"path",
                                               b"port", b"scheme", b"timestamp_end", b"timestamp_start")}
    new_request |= {b"form_in": b"relative", b"form_out": b"relative", b"is_replay": False}
    return {
        b"type": b"http",
        b"version": [0, 11, 3],
        b"id": str(uuid.uuid5(uuid.NAMESPACE_OID, repr(old))).encode(),  # stable: the same flow, the same id
        b"intercepted": False,
        b"error": old.get(b"error"),
        b"client_conn": {
            b"address": {b"address": list(client.get(b"address") or [b"", 0]), b"use_ipv6": False},
            b"clientcert": None,
            b"ssl_established": https,
            b"timestamp_start": request.get(b"timestamp_start"),
            b"timestamp_ssl_setup": None,
            b"timestamp_end": None,
        },
        b"server_conn": {
            b"address": {b"address": [request.get(b"host"), request.get(b"port")], b"use_ipv6": False},
            b"source_address": dict(NO_ADDRESS),
            b"cert": (response or {}).get(b"cert"),
            b"sni": None,
            b"ssl_established": https,
            b"state": [],
            b"timestamp_start": request.get(b"tcp_setup_timestamp"),
            b"timestamp_tcp_setup": request.get(b"tcp_setup_timestamp"),
            b"timestamp_ssl_setup": request.get(b"ssl_setup_timestamp"),
            b"timestamp_end": None,
        },
        b"request": new_request,
        b"response": None if response is None else {
            k: response.get(k) for k in (b"code", b"content", b"headers", b"httpversion", b"msg", b"timestamp_end",
                                         b"timestamp_start")
        },
    }
