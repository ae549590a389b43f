"""`python -m converters …` that also writes, to the file named by DATABACK_BENCH_LAST_FILE, the wall-clock time
(`time.time()`) at which the last input file's conversion ended: the start of the run's serial tail (reduce,
write, exit), for the serial fraction in bench/run.py."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

from converters import cli

progress = cli._progress


@contextmanager
def _noted(console, total: int, label: str = "converting"):
    with progress(console, total, label) as advance:

        def note(inp, file_report) -> None:
            advance(inp, file_report)
            if file_report is not None:  # a file is done: the last one to be done overwrites the others
                with open(os.environ["DATABACK_BENCH_LAST_FILE"], "w") as f:
                    f.write(repr(time.time()))

        yield note


if __name__ == "__main__":  # (not in the worker processes, which import this module again)
    cli._progress = _noted
    cli.main()
