"""What `databack endpoints` shows: every endpoint with the tables it fills and the requests it answers, the route
regexes written as a person reads a URL (`/v1/Events[(…)]`, `/v2/timeline/{date}`, `prodphs*.dns-cargo.com`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # Python 3.11 moved the regex parser; its token vocabulary is unchanged since 3.5
    from re import _constants as sre, _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as sre
    import sre_parse

from . import DEVICES
from .base import Endpoint


ANY = frozenset({"GET", "POST", "PUT", "DELETE"})


@dataclass(frozen=True)
class Listed:
    endpoint: Endpoint
    requests: list[tuple[str, str]]  # ("GET", "prodphs*.dns-cargo.com/v1/Events[(…)]")


def listing() -> list[Listed]:
    """Every endpoint once, in the devices' order, with every request form routed to it."""
    found: dict[str, Listed] = {}
    for device in DEVICES:
        host = readable(device.hosts.pattern, host=True)
        for r in device.routes:
            entry = found.setdefault(r.endpoint.name, Listed(r.endpoint, []))
            methods = "any" if r.methods >= ANY else " ".join(sorted(r.methods))
            entry.requests.append((methods, host + readable(r.path.pattern)))
    return list(found.values())


def readable(pattern: str, host: bool = False) -> str:
    """A route regex as a URL template: a named group is `{name}`, an optional part `[…]`, alternatives
    `(a|b)`, a run of digits `{n}`, any other run of characters `*` in a host, `{id}` for a path segment and
    `…` elsewhere."""
    return _render(sre_parse.parse(pattern), host)


def _render(items, host: bool) -> str:
    out = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.SUBPATTERN:
            group, _, _, inner = arg
            name = next((n for n, i in items.state.groupdict.items() if i == group), None) if group else None
            out.append(f"{{{name}}}" if name else _render(inner, host))
        elif op is sre.BRANCH:
            out.append("(" + "|".join(_render(b, host) for b in arg[1]) + ")")
        elif op is sre.IN and all(o is sre.LITERAL for o, _ in arg):
            out.append("(" + "|".join(chr(c) for _, c in arg) + ")")
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, inner = arg
            if (low, high) == (0, 1):
                out.append("[" + _render(inner, host) + "]")
            else:
                out.append(_run(inner, host))
        elif op is sre.AT:
            continue
        else:
            out.append(_run([(op, arg)], host))
    return "".join(out)


def _run(inner, host: bool) -> str:
    """A repeated or single character class."""
    classes = [a for o, a in inner if o is sre.IN] if all(o is sre.IN for o, _ in inner) else []
    if classes and all(a == [(sre.CATEGORY, sre.CATEGORY_DIGIT)] for a in classes):
        return "{n}"
    if host:
        return "*"
    if list(inner) == [(sre.NOT_LITERAL, ord("/"))]:  # [^/]: a path segment
        return "{id}"
    return "…"


def render() -> str:
    """The listing as text: an endpoint's name and the tables it fills, then its requests, aligned."""
    entries = listing()
    name_width = max(len(e.endpoint.name) for e in entries)
    method_width = max(len(methods) for e in entries for methods, _ in e.requests)
    lines = []
    for e in entries:
        fills = ", ".join(e.endpoint.tables) if e.endpoint.kind == "data" else "(sign-in: counted, never decoded)"
        lines.append(f"{e.endpoint.name:<{name_width}}  -> {fills}")
        for methods, url in e.requests:
            lines.append(f"    {methods:<{method_width}}  {url}")
    return "\n".join(lines)
