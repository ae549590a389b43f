"""Where every field of an endpoint's payloads goes: into a column, or dropped for a stated reason.

Each data endpoint declares its `Fields`: source paths mapped to the table columns they fill, or to `Dropped`. Tests
walk every real payload in the reference material, every JSON Schema and the public API's Swagger, and fail on any
field that is neither; the data dictionary's column sources and its "Fields not kept" come from here.

A path names a field as the payload nests it: keys joined by `/`, `[]` for the items of an array, `*` for any key
(maps keyed by sensor names, say): `value[]/Sequences[]/HeartRateZones/Under`. Keys are matched case-insensitively
(the Band's private API writes `DeliveryID` and `DeliveryId`). A dropped path drops everything below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Union

ITEMS = "[]"
ANY_KEY = "*"


@dataclass(frozen=True, slots=True)
class Dropped:
    """A field deliberately not kept, and why: an envelope, an identifier of the account, or a value derivable
    exactly from others (which, and how)."""

    reason: str


Target = Union[str, tuple[str, ...], Dropped]  # "table.column", several of them, or Dropped


def segments(path: str) -> tuple[str, ...]:
    """`value[]/Sequences[]/Order` -> ("value", "[]", "Sequences", "[]", "Order"); `[]/date` -> ("[]", "date")."""
    out: list[str] = []
    for part in path.split("/") if path else ():
        name, brackets = re.fullmatch(r"(.*?)((?:\[\])*)", part).groups()
        if name:
            out.append(name)
        out += [ITEMS] * (len(brackets) // 2)
    return tuple(out)


def path_text(parts: tuple[str, ...]) -> str:
    """The inverse of `segments`."""
    text = ""
    for p in parts:
        text += p if p == ITEMS else (f"/{p}" if text else p)
    return text


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    target: Target | None = None


@dataclass(frozen=True)
class Fields:
    """The fate of every known field of one endpoint's payloads. `aliases` map a path prefix to another whose fields
    it shares: a bare event read as one item of `value[]`, a golf activity's `childActivities[]` as activities."""

    paths: Mapping[str, Target]
    aliases: Mapping[str, str] = field(default_factory=dict)
    _root: _Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        root = _Node()
        for path, target in self.paths.items():
            node = root
            for part in segments(path):
                node = node.children.setdefault(part.lower(), _Node())
            if node.target is not None:
                raise ValueError(f"{path} is listed twice")
            node.target = target
        object.__setattr__(self, "_root", root)

    def target(self, path: tuple[str, ...]) -> Target | None:
        """Where the field at `path` goes (a dropped ancestor drops it too); None when it is not accounted for."""
        for found in map(self._node, self._spellings(path)):
            if isinstance(found, Dropped):
                return found
            if found is not None and found.target is not None:
                return found.target
        return None

    def accounts_for(self, path: tuple[str, ...], container: bool = False) -> bool:
        """Whether the field at `path` is accounted for. A `container` (an object or array that came null or empty)
        is, when fields below it are."""
        for found in map(self._node, self._spellings(path)):
            if isinstance(found, Dropped) or (found is not None and (found.target is not None or container)):
                return True
        return False

    def _node(self, path: tuple[str, ...]) -> _Node | Dropped | None:
        """The node of `path` as written (a dropped ancestor's Dropped), or None."""
        node = self._root
        for part in path:
            if isinstance(node.target, Dropped):
                return node.target
            node = node.children.get(part.lower()) or (node.children.get(ANY_KEY) if part != ITEMS else None)
            if node is None:
                return None
        return node

    def _spellings(self, path: tuple[str, ...], depth: int = 0) -> Iterator[tuple[str, ...]]:
        """`path`, then the paths its aliases read it as."""
        yield path
        if depth < 4:
            for prefix, other in self.aliases.items():
                head = segments(prefix)
                if len(path) >= len(head) and all(_matches(h, p) for h, p in zip(head, path)):
                    yield from self._spellings(segments(other) + path[len(head):], depth + 1)

    def kept(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(path, columns) of every field kept."""
        for path, target in self.paths.items():
            if not isinstance(target, Dropped):
                yield path, (target,) if isinstance(target, str) else target

    def dropped(self) -> Iterator[tuple[str, str]]:
        """(path, reason) of every field deliberately not kept."""
        for path, target in self.paths.items():
            if isinstance(target, Dropped):
                yield path, target.reason


def _matches(pattern: str, part: str) -> bool:
    """Whether a path segment fits a pattern segment: the same key (any case), or any key for `*`."""
    return pattern.lower() == part.lower() or (pattern == ANY_KEY and part != ITEMS)


def leaf_paths(payload: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Every leaf of a JSON value as (path, container): container when the leaf is a null-able object or array that
    came null or empty (its fields are then accounted for by the fields below it). Scalars are leaves; so is null."""
    if isinstance(payload, dict):
        if not payload:
            yield prefix, True
        for key, value in payload.items():
            yield from leaf_paths(value, (*prefix, str(key)))
    elif isinstance(payload, list):
        if not payload:
            yield (*prefix, ITEMS), True
        for item in payload:
            yield from leaf_paths(item, (*prefix, ITEMS))
    else:
        yield prefix, payload is None
