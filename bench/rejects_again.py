"""What an incremental run or a merge pays to pass an earlier run's rejects through the redaction policy again
(`redaction.earlier_rows`): N rejected Sense nights, as the policy wrote them, each cache emptied before a round.

    python bench/rejects_again.py [N]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from converters import redaction  # noqa: E402
from converters.tables import TABLES  # noqa: E402

CACHES = ("_plain_string", "_credential_shaped", "path", "host", "method", "_segment", "_named_by", "credential_name")


def rejects(n: int) -> pl.DataFrame:
    rng = random.Random(1)
    rows = []
    for i in range(n):
        night = f"2017-03-{i % 28 + 1:02d}"
        body = {"score": rng.randint(0, 100), "date": night, "events": {"bad": i}, "message": "You slept well.",
                "metrics": [{"name": "total_sleep", "value": rng.randint(100, 500), "unit": "MINUTES"}],
                "session_token": "REDACTED"}
        row = redaction.reject_row("sense/timeline-v2", "GET", "api.hello.is", f"/v2/timeline/{night}", 200,
                                   'at /events: an object of 1 keys is not of types "null", "array"',
                                   json.dumps(body).encode())
        rows.append(dict(row) | {"participant_id": None, "source_file": "a.har", "source_entry": i,
                                 "captured_at": None})
    table = TABLES["rejects"]
    return pl.DataFrame(rows).select(table.column_names).cast(table.schema)


def main(n: int) -> None:
    df = rejects(n)
    seconds = []
    for _ in range(5):
        for name in CACHES:
            if hasattr(getattr(redaction, name, None), "cache_clear"):
                getattr(redaction, name).cache_clear()
        start = time.perf_counter()
        again = redaction.earlier_rows("rejects", df)
        seconds.append(time.perf_counter() - start)
        assert again.equals(df)  # what the policy wrote comes back as it was
    median = statistics.median(seconds)
    print(f"{n} rejects again: median {median:.3f} s of 5, {median / n * 1e3:.4f} ms each")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
