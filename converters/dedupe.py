"""De-duplication across all captures of a run: the same record captured twice appears once.

A record is one row of a table with a natural key, or, for tables with a `group` column (a Sense night),
the whole set of rows of that group across those tables: a newer capture of a night replaces the older one
entirely, so events removed by an edit do not linger. Where copies differ, the most recently captured wins
(ties: the one read last) and a conflict is counted.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Iterable

from .tables import TABLES

Row = dict[str, Any]
PROVENANCE_COLUMNS = frozenset({"source_file", "source_entry", "captured_at"})
NEVER = datetime.min.replace(tzinfo=UTC)


class Deduper:
    def __init__(self) -> None:
        self._records: dict[tuple, tuple[tuple, list[tuple[str, Row]], Any]] = {}
        self._rejects: list[Row] = []
        self._seq = 0
        self.duplicates: Counter[str] = Counter()
        self.conflicts: Counter[str] = Counter()

    def add(self, rows: Iterable[tuple[str, Row]], provenance: Row) -> tuple[int, int]:
        """Add the rows decoded from one exchange; returns (duplicates, conflicts) among them."""
        self._seq += 1
        recency = (provenance["captured_at"] or NEVER, self._seq)
        groups: dict[tuple, list[tuple[str, Row]]] = {}
        before = self.duplicates.total(), self.conflicts.total()
        for table_name, row in rows:
            row.update(provenance)
            t = TABLES[table_name]
            if t.group:
                groups.setdefault((t.group, row["participant_id"], row[t.group]), []).append((table_name, row))
            else:
                self._merge((table_name, *(row[k] for k in t.key)), [(table_name, row)], recency)
        for key, record in groups.items():
            self._merge(key, record, recency)
        return self.duplicates.total() - before[0], self.conflicts.total() - before[1]

    def _merge(self, key: tuple, record: list[tuple[str, Row]], recency: tuple) -> None:
        content = _content(record)
        old = self._records.get(key)
        if old is not None:
            kind = record[0][0]
            if old[2] == content:
                self.duplicates[kind] += 1
            else:
                self.conflicts[kind] += 1
            if old[0] > recency:
                return
        self._records[key] = (recency, record, content)

    def add_reject(self, row: Row) -> None:
        self._rejects.append(row)

    def tables(self) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {name: [] for name in TABLES}
        for _, record, _ in self._records.values():
            for table_name, row in record:
                out[table_name].append(row)
        out["rejects"] = list(self._rejects)
        return out


def _content(record: list[tuple[str, Row]]) -> frozenset:
    """What two copies of a record must share to be the same: everything but where and when they were captured."""
    rows = Counter(
        (table_name, tuple((k, v) for k, v in row.items() if k not in PROVENANCE_COLUMNS))
        for table_name, row in record
    )
    return frozenset(rows.items())
