"""The Dask executor (the `databack[dask]` extra; imported only for `--scheduler`): a run's files and the reduce's
ranges as tasks of a Dask cluster. Workers read the inputs and write their parts into the run's work folder in OUT,
so both must be on a file system every worker shares, at the same paths. A task whose worker dies is run again
elsewhere by the scheduler (a file whose task kills every worker it is tried on fails alone); its files have names
of their own, so a half-written one is never read."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import CancelledError
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar

import dask
from dask.utils import parse_timedelta
from distributed import Client, KilledWorker, as_completed
from distributed.comm.core import CommClosedError

from .parallel import WorkersLost, Executor

I = TypeVar("I")
R = TypeVar("R", bound=tuple)
T = TypeVar("T")
# how long a run waits for the cluster's first worker (an adaptive cluster starts its workers once asked; a batch
# job's may wait in the queue): Dask's configuration `databack.worker-wait` (DASK_DATABACK__WORKER_WAIT), 0 for ever
WORKER_WAIT = "10 minutes"
CLIENT_LOG = logging.getLogger("distributed.client")
WORKERS_LOST = "every Dask worker that read it was killed or crashed (out of memory?): the scheduler gave up on it"


class DaskExecutor(Executor):
    local = False

    def __init__(self, address: str) -> None:
        super().__init__(jobs=1)
        self.address = address
        self.client: Client | None = None

    def __enter__(self) -> DaskExecutor:
        CLIENT_LOG.addFilter(_quiet_about_the_lost_connection)
        try:
            self._connect()
        except BaseException:  # (Ctrl-C while waiting for a worker too: the client is closed, the filter removed)
            self.__exit__()
            raise
        return self

    def _connect(self) -> None:
        """The client of the scheduler at `address`, once the cluster has a worker (`databack.worker-wait`)."""
        try:
            self.client = Client(self.address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:  # (ValueError: an address of no known scheme)
            raise WorkersLost(f"cannot reach the Dask scheduler at {self.address}: {_first_line(e)}") from None
        wait = dask.config.get("databack.worker-wait", WORKER_WAIT)
        try:
            wait = parse_timedelta(wait, default="s")
        except (TypeError, ValueError, KeyError):  # (KeyError: an unknown unit)
            raise WorkersLost(f"databack.worker-wait of Dask's configuration is {wait!r}, not a time (such as "
                              f"{WORKER_WAIT!r})") from None
        try:
            self.client.wait_for_workers(1, timeout=wait)
        except TimeoutError:
            raise WorkersLost(
                f"no Dask worker joined the scheduler at {self.address} in {wait:g} s: start workers (dask worker "
                f"{self.address}) or scale the cluster, or wait longer (DASK_DATABACK__WORKER_WAIT=\"1 hour\"; 0: "
                "for ever)"
            ) from None

    def __exit__(self, *exc_info: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        CLIENT_LOG.removeFilter(_quiet_about_the_lost_connection)

    def map_files(
        self, work: Callable[..., R], inputs: Sequence[I], progress: Callable[[I, Any], None] | None, *args: Any,
        cost: Callable[[I], float] | None = None, lost: Callable[[I, str], R] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """(index, `work(inp, *args)`) for every input as it is done; the costliest are given the highest priority.
        A file whose task killed every worker the scheduler tried it on (`KilledWorker`) is `lost(inp, why)`."""
        order = sorted(range(len(inputs)), key=lambda i: -cost(inputs[i])) if cost else list(range(len(inputs)))
        futures = {
            self.client.submit(work, inputs[index], *args, pure=False, priority=len(order) - rank): index
            for rank, index in enumerate(order)
        }
        with self._cluster_kept():
            for future in as_completed(futures, loop=self.client.loop):
                index = futures[future]
                if lost is not None and isinstance(future.exception(), KilledWorker):
                    result = lost(inputs[index], WORKERS_LOST)
                else:
                    result = future.result()
                if progress:
                    progress(inputs[index], result[0])
                yield index, result

    def map(self, work: Callable[[I], T], items: Sequence[I]) -> list[tuple[int, T]]:
        with self._cluster_kept():
            futures = self.client.map(work, items, pure=False)
            return list(enumerate(self.client.gather(futures)))

    @contextmanager
    def _cluster_kept(self) -> Iterator[None]:
        """The connection to the scheduler lost (the cluster shut down, the network cut): `WorkersLost`, not the
        tasks' cancellations."""
        try:
            yield
        except CancelledError:  # (each task's own: "convert_file-… cancelled for reason: scheduler-connection-lost")
            raise WorkersLost(f"lost the Dask cluster at {self.address}: the connection to its scheduler was lost") \
                from None
        except CommClosedError as e:
            raise WorkersLost(f"lost the Dask cluster at {self.address}: {_first_line(e)}") from None


def _quiet_about_the_lost_connection(record: logging.LogRecord) -> bool:
    """False for the client's traceback of a connection to the scheduler that failed or was given up (its reconnect
    cancelled as the client closes): the run says so in one line (`WorkersLost`)."""
    failed = record.exc_info[0] if record.exc_info else None
    return not (failed and issubclass(failed, (CancelledError, asyncio.CancelledError, CommClosedError, OSError,
                                               TimeoutError)))


def _first_line(e: BaseException) -> str:
    return (str(e).strip() or type(e).__name__).splitlines()[0].rstrip(".")
