"""Running one function over many input files: one after another, or several at a time in worker processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

I = TypeVar("I")
R = TypeVar("R", bound=tuple)


def map_files(
    work: Callable[..., R], inputs: Sequence[I], jobs: int, progress: Callable[[I, Any], None] | None, *args: Any
) -> list[R]:
    """`work(inp, *args)` for every input, in input order, `jobs` at a time in separate processes. `progress(inp,
    None)` is called before a file converted here, `progress(inp, result[0])` after every file."""
    results: list[R] = []
    if jobs <= 1 or len(inputs) <= 1:
        for inp in inputs:
            if progress:
                progress(inp, None)
            results.append(work(inp, *args))
            if progress:
                progress(inp, results[-1][0])
        return results
    # spawn: forking a process that has polars' thread pool running can deadlock
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(work, inp, *args) for inp in inputs]
        for inp, future in zip(inputs, futures):
            results.append(future.result())
            if progress:
                progress(inp, results[-1][0])
    return results
