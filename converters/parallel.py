"""Executors: where a run's work happens. Locally, files are converted one after another or several at a time in
worker processes, and the reduce's tasks run in threads of this process (polars lets go of the GIL); on a Dask
cluster (`dask_cluster.DaskExecutor`, the `databack[dask]` extra), both are tasks of the cluster."""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
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
        cost: Callable[[I], float] | None = None, lost: Callable[[I, str], R] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """(index, `work(inp, *args)`) for every input, as it is done (see `map_files`)."""
        return map_files(work, inputs, self.jobs, progress, *args, cost=cost, lost=lost)

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


def usable_cores(proc_cgroup: Path = Path("/proc/self/cgroup"), cgroups: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may use, the default number of jobs: those its CPU affinity allows (a Slurm job's
    allocation, `taskset`), fewer where a cgroup caps its CPU time (`docker --cpus`, a Kubernetes limit), rounded
    up, as polars counts them; `os.cpu_count()` counts the machine's."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not on macOS and Windows)
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota(proc_cgroup, cgroups)
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


V1_QUOTA = ("cpu.cfs_quota_us", "cpu.cfs_period_us")


def _cgroup_cpu_quota(proc_cgroup: Path, cgroups: Path) -> float | None:
    """The CPUs' worth of time a second the process's cgroups allow it (the least of its own and its parents'), or
    None for no limit: cgroup v2's `cpu.max` (`QUOTA PERIOD`, `max` for none), v1's `cpu.cfs_quota_us` over
    `cpu.cfs_period_us` (-1 for none)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            folder, files = cgroups, ("cpu.max",)
        elif "cpu" in controllers.split(","):
            folder, files = cgroups / ("cpu" if (cgroups / "cpu").is_dir() else controllers), V1_QUOTA
        else:
            continue
        here = folder / path.lstrip("/")
        for level in (here, *here.parents):
            try:
                words = " ".join((level / name).read_text() for name in files).split()
                quota, period = float(words[0]), float(words[1])
            except (OSError, ValueError, IndexError):  # no such file here, or `max`: no limit at this level
                pass
            else:
                if quota > 0 and period > 0:
                    quotas.append(quota / period)
            if level == folder:
                break
    return min(quotas, default=None)


class WorkersLost(Exception):
    """The processes or the cluster a run's work was given to cannot be started or reached, or were lost amid it."""


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
    lost: Callable[[I, str], R] | None = None,
) -> Iterator[tuple[int, R]]:
    """(index of the input, `work(inp, *args)`) for every input as it is done: one after another in input order, or
    `jobs` at a time in separate processes, started costliest first (by `cost`), so that no process is left with a
    long file at the end while the others wait. `progress(inp, None)` is called before a file converted here,
    `progress(inp, result[0])` after every file.

    A worker process that dies amid a file (killed by the out-of-memory killer, a crash in native code) takes the
    pool with it: the files it had not begun go to a new pool, and each file begun in it is run again in a process of
    its own, so that a file that kills its worker costs itself alone: its result is `lost(inp, why)` (without
    `lost`, the pool's error is raised). Pools that die before any file is begun, a few in a row: `WorkersLost`."""
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
    waiting, alone = list(order), set()  # files not done; those begun in a pool that died (each run on its own)
    fruitless = 0  # pools in a row that died before any of their files was begun
    while waiting:
        rounds = [([i], 1) for i in waiting if i in alone] or [(waiting, jobs)]
        started = _SPAWN.RawArray("b", len(inputs))  # set by a worker as it begins a file
        # spawn: forking a process that has polars' thread pool running can deadlock. (Made before Ctrl-C is held
        # from the workers: making the first pool starts the resource tracker, which unblocks SIGINT once started.)
        pools = [ProcessPoolExecutor(workers, mp_context=_SPAWN, initializer=_worker_started, initargs=(started,))
                 for _, workers in rounds]
        futures, done, begun = {}, set(), False
        try:
            with _workers_deaf_to_ctrl_c():  # (a Ctrl-C meanwhile comes as it ends: the workers are stopped below)
                for pool, (indices, _) in zip(pools, rounds):
                    for index in indices:
                        futures[pool.submit(_Marked(work, index), inputs[index], *args)] = index
            for future in as_completed(futures):
                index = futures[future]
                if lost is not None and isinstance(future.exception(), BrokenProcessPool):
                    if not started[index]:
                        continue  # the next pool's
                    begun = True
                    if index not in alone:
                        alone.add(index)  # run again, on its own
                        continue
                    result = lost(inputs[index], WORKER_LOST)  # its worker died again, with it alone
                else:
                    result = future.result()
                done.add(index)
                if progress:
                    progress(inputs[index], result[0])
                yield index, result
        except BaseException:  # Ctrl-C, or the caller stopped: no other file is converted
            for pool in pools:
                _terminate_workers(pool)
                pool.shutdown(cancel_futures=True)  # waits for them to end
            raise
        waiting = [index for index in waiting if index not in done]
        if waiting:
            for pool in pools:
                pool.shutdown()
            fruitless = 0 if begun else fruitless + 1
            if fruitless == POOL_TRIES:
                raise WorkersLost(
                    f"the worker processes died before beginning a file, {POOL_TRIES} times (out of memory?)"
                )
    # every file is done: the workers are told to stop, and end (their memory handed back) while the run goes on,
    # rather than it waiting for them (7 to 50 ms after the last of 8 x 50 MB files, --jobs 2); `wait_for_workers`
    # waits for them before the command leaves
    for pool in pools:
        stopping = threading.Thread(target=pool.shutdown, name="workers stopping")
        stopping.start()
        _stopping[:] = [*filter(threading.Thread.is_alive, _stopping), stopping]  # (a library caller may never wait)


POOL_TRIES = 3  # pools started in a row that die before their first file begins: the run stops
WORKER_LOST = "the worker process reading it was killed or crashed (out of memory?), again when it was read alone"
_SPAWN = multiprocessing.get_context("spawn")


class _Marked:
    """`work` that notes in its worker, as it begins, that the input at `index` was begun (see `map_files`)."""

    def __init__(self, work: Callable[..., R], index: int) -> None:
        self.work, self.index = work, index

    def __call__(self, inp: I, *args: Any) -> R:
        if _started is not None:
            _started[self.index] = 1
        return self.work(inp, *args)


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


_started: Any = None  # in a worker: its pool's flags of the inputs begun (`map_files`)


def _worker_started(started: Any) -> None:
    """In a worker, before its first file: Ctrl-C ignored, then unblocked (ignoring it drops one held meanwhile);
    once it is told to stop, the process ends without the interpreter's teardown (0.15 s of freeing objects, which
    the run would wait for), as the command itself does."""
    global _started
    _started = started
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
