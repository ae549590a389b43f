"""Running one function over many input files: one after another, or several at a time in worker processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Sequence, TypeVar

I = TypeVar("I")
R = TypeVar("R", bound=tuple)


def map_files(
    work: Callable[..., R], inputs: Sequence[I], jobs: int, progress: Callable[[I, Any], None] | None, *args: Any
) -> Iterator[R]:
    """`work(inp, *args)` for every input, yielded in input order, `jobs` at a time in separate processes.
    `progress(inp, None)` is called before a file converted here, `progress(inp, result[0])` after every file."""
    if jobs <= 1 or len(inputs) <= 1:
        for inp in inputs:
            if progress:
                progress(inp, None)
            result = work(inp, *args)
            if progress:
                progress(inp, result[0])
            yield result
        return
    # spawn: forking a process that has polars' thread pool running can deadlock
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(work, inp, *args) for inp in inputs]
        for inp, future in zip(inputs, futures):
            result = future.result()
            if progress:
                progress(inp, result[0])
            yield result
