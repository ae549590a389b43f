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
from itertools import repeat
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
    spelt: dict[str, _Node] = field(default_factory=dict)  # children by the keys payloads spell them with, as met


_NOWHERE = _Node()  # the node of a path the field map does not hold
_DEEPEST = 64  # `unknown_in_sample` names a value this deep as a whole (a hostile payload nests 1,000 levels)
_SPELLINGS = 64  # spellings a node remembers (`_Node.spelt`: `DeliveryId`, `DeliveryID`…; a hostile file has more)


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

    def unknown_in_sample(self, payload: Any, at_most: int = 5) -> list[tuple[str, ...]]:
        """The first few paths of fields of a payload that are neither kept nor dropped, looking at every key of
        every object but only the first and last item of each array, and the first item in between holding each key
        of an object item (or of an object it nests) those do not (`_ends`): a pass over the items' keys, as
        decoding them by columns makes, and a call an item only for the few items looked at."""
        unknown: list[tuple[str, ...]] = []
        self._sample(payload, self._root, (), unknown, at_most)
        return unknown

    def _sample(self, value: Any, node: _Node, path: tuple[str, ...], unknown: list, at_most: int) -> None:
        """`unknown_in_sample` below `node`, the node of `path` (`_NOWHERE` where the map has none: its leaves are
        judged by their whole paths, which an alias may know)."""
        kind = type(value)
        if len(path) == _DEEPEST and (kind is dict or kind is list):  # far below any field the map knows
            unknown.append(path)
        elif kind is dict or kind is list:
            parts = [(k, v) for k, v in value.items()] if kind is dict else [(ITEMS, v) for v in _ends(value, node.children.get(ITEMS) or _NOWHERE)]
            if not parts and node.target is None and not node.children and not self.accounts_for(path, True):
                unknown.append(path if kind is dict else (*path, ITEMS))  # where the map knows no fields
            for key, item in parts:
                child = node.spelt.get(key) or self._child(node, path, key)
                target, inner = child.target, type(item)
                if type(target) is Dropped or (target is not None and inner is not dict and inner is not list):
                    continue  # (a field kept, as most are: no call)
                if len(unknown) >= at_most:
                    return
                self._sample(item, child, (*path, key), unknown, at_most)
        elif node.target is None and (value is not None or not node.children) and not self.accounts_for(path):
            if path not in unknown:
                unknown.append(path)  # a value where the map knows only fields below it, or none

    def _child(self, node: _Node, path: tuple[str, ...], key: str) -> _Node:
        """The node of `path` + `key`: `node`'s child for it, else the node an alias reads it as (a dropped field's
        node stands for everything below it), else `_NOWHERE`."""
        child = node.children.get(key.lower())
        if child is not None:
            if len(node.spelt) < _SPELLINGS:
                node.spelt[key] = child
            return child
        if key != ITEMS and (child := node.children.get(ANY_KEY)) is not None:
            return child
        for spelling in self._spellings((*path, key)):
            found = self._node(spelling)
            if isinstance(found, Dropped):
                return _Node(target=found)
            if found is not None:
                return found
        return _NOWHERE

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


def _leaf(node: _Node | None) -> bool:
    """Whether a key's node is a field kept or dropped whole, with no fields below it to look for."""
    return node is not None and node.target is not None and not node.children


def _matches(pattern: str, part: str) -> bool:
    """Whether a path segment fits a pattern segment: the same key (any case), or any key for `*`."""
    return pattern.lower() == part.lower() or (pattern == ANY_KEY and part != ITEMS)


def _ends(items: list, node: _Node) -> list:
    """The first and last item of an array (its only one, or none), and, where its items are objects, the items in
    between that hold a key those two do not, at any depth of the objects they nest, that `node` (the items' node)
    does not know as a field kept or dropped (a field only some items carry: a minute's reading the Band took now
    and then; a key only some points' Location holds): a pass in C over the items' keys, one over their objects'
    keys, and a call an item only up to the items holding such keys."""
    if len(items) <= 2:
        return items
    ends, middle = [items[0], items[-1]], items[1:-1]
    if type(ends[0]) is not dict or type(ends[1]) is not dict or set(map(type, middle)) != {dict}:
        return ends
    return ends + _holding_unseen(ends, middle, node)


def _holding_unseen(seen: list[dict], items: list[dict], node: _Node) -> list[dict]:
    """The first of `items` holding each key that no object of `seen` holds and `node` does not know as a leaf, and
    the first holding each such key in the objects they nest under a key `node` knows fields below."""
    children = node.children
    others = set().union(*items).difference(*seen)
    others = {key for key in others if not _leaf(children.get(str(key).lower()) or children.get(ANY_KEY))}
    chosen: list[dict] = []
    for item in items if others else ():
        if not others.isdisjoint(item):
            chosen.append(item)
            others.difference_update(item)
            if not others:
                break
    for key in set().union(*seen):
        child = children.get(str(key).lower()) or children.get(ANY_KEY)
        if child is None or child.target is not None and not child.children or type(child.target) is Dropped:
            continue  # (a leaf, a dropped field, or one the map does not know: its items are looked at whole)
        values = list(map(dict.get, items, repeat(key)))  # (in C, as the passes below)
        if not set(map(type, values)) <= {dict, type(None)}:
            continue  # (arrays or values there: the items looked at show what they hold)
        inner = list(filter(None, values))
        found = set(map(id, _holding_unseen([s[key] for s in seen if type(s.get(key)) is dict], inner, child)))
        if found:
            taken = set(map(id, chosen))
            chosen += [item for item, value in zip(items, values) if id(value) in found and id(item) not in taken]
    return chosen


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
