"""Executors: where a run's work happens. Locally, files are converted one after another or several at a time in
worker processes, and the reduce's tasks run in threads of this process (polars lets go of the GIL); on a Dask
cluster (`dask_cluster.DaskExecutor`, the `databack[dask]` extra), both are tasks of the cluster."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence, TypeVar

I = TypeVar("I")
R = TypeVar("R", bound=tuple)
T = TypeVar("T")


class Executor:
    """The local executor: `jobs` processes for files, `jobs` threads for the reduce's tasks."""

    local = True  # the work folder is this machine's, and a worker may start processes of its own

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs

    def map_files(
        self, work: Callable[..., R], inputs: Sequence[I], progress: Callable[[I, Any], None] | None, *args: Any,
        cost: Callable[[I], float] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """(index, `work(inp, *args)`) for every input, as it is done (see `map_files`)."""
        return map_files(work, inputs, self.jobs, progress, *args, cost=cost)

    def map(self, work: Callable[[I], T], items: Sequence[I]) -> list[tuple[int, T]]:
        """(index, `work(item)`) for every item."""
        if self.jobs <= 1 or len(items) <= 1:
            return [(i, work(item)) for i, item in enumerate(items)]
        with ThreadPoolExecutor(min(self.jobs, len(items))) as pool:
            return list(enumerate(pool.map(work, items)))

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def executor(jobs: int = 1, scheduler: str | None = None) -> Executor:
    """The local executor, or with a `scheduler` address (tcp://HOST:8786), the Dask cluster's."""
    if scheduler is None:
        return Executor(jobs)
    from .dask_cluster import DaskExecutor  # the optional extra: imported only when asked for

    return DaskExecutor(scheduler)


def map_files(
    work: Callable[..., R],
    inputs: Sequence[I],
    jobs: int,
    progress: Callable[[I, Any], None] | None,
    *args: Any,
    cost: Callable[[I], float] | None = None,
) -> Iterator[tuple[int, R]]:
    """(index of the input, `work(inp, *args)`) for every input as it is done: one after another in input order, or
    `jobs` at a time in separate processes, started costliest first (by `cost`), so that no process is left with a
    long file at the end while the others wait. `progress(inp, None)` is called before a file converted here,
    `progress(inp, result[0])` after every file."""
    if jobs <= 1 or len(inputs) <= 1:
        for index, inp in enumerate(inputs):
            if progress:
                progress(inp, None)
            result = work(inp, *args)
            if progress:
                progress(inp, result[0])
            yield index, result
        return
    order = sorted(range(len(inputs)), key=lambda i: -cost(inputs[i])) if cost else range(len(inputs))
    # spawn: forking a process that has polars' thread pool running can deadlock
    spawn = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_worker_started)
    futures = {}
    try:
        with _workers_deaf_to_ctrl_c():  # (a Ctrl-C meanwhile comes as it ends: the workers are stopped below)
            for index in order:
                futures[pool.submit(work, inputs[index], *args)] = index
        for future in as_completed(futures):
            index = futures[future]
            result = future.result()
            if progress:
                progress(inputs[index], result[0])
            yield index, result
    except BaseException:  # Ctrl-C, or the caller stopped: no other file is converted
        _terminate_workers(pool)
        pool.shutdown(cancel_futures=True)  # waits for them to end
        raise
    # every file is done: the workers are told to stop, and end (their memory handed back) while the run goes on,
    # rather than it waiting for them (7 to 50 ms after the last of 8 x 50 MB files, --jobs 2); `wait_for_workers`
    # waits for them before the command leaves
    stopping = threading.Thread(target=pool.shutdown, name="workers stopping")
    stopping.start()
    _stopping[:] = [*filter(threading.Thread.is_alive, _stopping), stopping]  # (a library caller may never wait)


_stopping: list[threading.Thread] = []  # the threads waiting for the workers of a pool to end


def wait_for_workers() -> None:
    """Wait until the workers of every pool told to stop have ended and the pool is closed: before leaving without
    the interpreter's teardown, else a worker still starting up never hears it was told to stop and outlives the
    command, and the pool's semaphores are left for the resource tracker to warn about."""
    while _stopping:
        _stopping.pop().join()


@contextmanager
def _workers_deaf_to_ctrl_c():
    """Workers started in here ignore Ctrl-C (SIGINT), which the terminal sends them too: this process stops them
    (no traceback from each of them). One pressed meanwhile is held, not lost, and comes as the block ends (in the
    main thread: KeyboardInterrupt). SIGINT is blocked in this thread, so that a worker starts with it blocked (the
    mask is kept across exec) until it ignores it (`_worker_started`), as CPython's resource tracker does; one sent
    to another thread of this process is noted by a handler meanwhile. Where signals cannot be blocked (Windows),
    Ctrl-C is ignored meanwhile instead, and the workers start ignoring it (kept across exec)."""
    main = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "pthread_sigmask"):
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            yield
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum)) if main else None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one held by the mask goes to the handler
        if main:
            signal.signal(signal.SIGINT, previous)
            for signum in pressed:
                signal.raise_signal(signum)


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """End the workers of a pool now, amid their files (`terminate_workers` from Python 3.14 on)."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _worker_started() -> None:
    """In a worker, before its first file: Ctrl-C ignored, then unblocked (ignoring it drops one held meanwhile);
    once it is told to stop, the process ends without the interpreter's teardown (0.15 s of freeing objects, which
    the run would wait for), as the command itself does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    atexit.register(os._exit, 0)
    threading.Thread(target=_ended_with, args=(os.getppid(),), name="databack-run-watch", daemon=True).start()


PARENT_CHECKED_S = 0.5


def _ended_with(run: int) -> None:
    """In a worker: end it once the run that started it is gone (killed: SIGKILL, the OOM killer), rather than
    have it finish its file into a work folder no longer the run's, then wait for ever, memory held, to hand over
    its result (its siblings keep the result pipe open)."""
    while os.getppid() == run:
        time.sleep(PARENT_CHECKED_S)
    os._exit(1)
