"""Python's cyclic garbage collector while a capture is converted.

Parsing and decoding a capture allocate millions of short-lived dicts and lists (orjson's values, rows); with the
default threshold (a collection of the youngest generation every 700 net container allocations) the collector
took 0.35-0.5 s of a 200 MB full export's 9 s of CPU time. `converting()` collects the youngest generation every
`YOUNG_OBJECTS` instead (the collector's time falls to some 0.07 s), and restores the thresholds when the last
conversion in the process ends, even on an error. Garbage in reference cycles waits longer for its collection: a
cycle that holds polars frames raises the peak (one in `columns.made` did, by 40 MB), so conversions make none.
(`gc.freeze()` of what was imported gained nothing measurable: bench/README.md, issue 20.)
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

YOUNG_OBJECTS = 50_000  # the youngest generation's threshold while converting (Python's default: 700)

_lock = threading.Lock()
_inside = 0  # conversions under way in this process (threads of a Dask worker may convert several at once)
_before: tuple[int, ...] | None = None  # the thresholds to restore


@contextmanager
def converting() -> Iterator[None]:
    """The collector's policy for a conversion (see the module), in force while any conversion of this process is
    under way; the thresholds set before are restored after the last one (a threshold of 0, the collector turned
    off, stays so)."""
    global _inside, _before
    with _lock:
        if _inside == 0:
            _before = gc.get_threshold()
            gc.set_threshold(_before[0] and max(YOUNG_OBJECTS, _before[0]), *_before[1:])
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _before is not None:
                gc.set_threshold(*_before)
                _before = None
