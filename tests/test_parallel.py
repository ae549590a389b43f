"""Files run in worker processes start costliest first, each result comes back with its input's index, and the
workers are gone once the files are done."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from converters import parallel
from converters.captures import reading_cost


class _PoolHere:
    """A stand-in for the process pool that runs each job at once, in this process, and notes the order of jobs."""

    started: list[str] = []

    def __init__(self, *args, **kwargs):
        _PoolHere.started = []

    def submit(self, work, inp, *args):
        _PoolHere.started.append(inp)
        future: Future = Future()
        future.set_result(work(inp, *args))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def shout(name: str, suffix: str) -> tuple[str]:
    return (name.upper() + suffix,)


def test_workers_start_the_costliest_files_first_and_results_keep_their_input_index(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _PoolHere)
    costs = {"a": 1, "b": 3, "c": 2, "d": 3}
    done = list(parallel.map_files(shout, list(costs), 2, None, "!", cost=costs.__getitem__))
    assert _PoolHere.started == ["b", "d", "c", "a"]  # ties in input order
    assert sorted(done) == [(0, ("A!",)), (1, ("B!",)), (2, ("C!",)), (3, ("D!",))]


def test_one_job_runs_the_files_in_input_order(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _PoolHere)
    _PoolHere.started = []
    done = list(parallel.map_files(shout, ["a", "b"], 1, None, "?", cost=lambda name: -ord(name)))
    assert done == [(0, ("A?",)), (1, ("B?",))] and _PoolHere.started == []


def worker_pid(name: str) -> tuple[int]:
    return (os.getpid(),)


def test_the_worker_processes_end_and_are_reaped_once_every_file_is_done_without_the_run_waiting_for_them(
    monkeypatch,
):
    shutdowns = []
    shutdown = parallel.ProcessPoolExecutor.shutdown
    monkeypatch.setattr(parallel.ProcessPoolExecutor, "shutdown",
                        lambda pool, *a, **k: shutdowns.append(threading.current_thread()) or shutdown(pool, *a, **k))
    done = dict(parallel.map_files(worker_pid, ["a", "b", "c", "d"], 2, None))
    pids = {pid for (pid,) in done.values()}
    assert sorted(done) == [0, 1, 2, 3] and os.getpid() not in pids
    parallel.wait_for_workers()
    # the workers were told to stop, and waited for, in a thread: the run went on meanwhile
    assert len(shutdowns) == 1 and shutdowns[0] is not threading.main_thread()
    for pid in pids:
        with pytest.raises(ProcessLookupError):  # not even a zombie: the pool has waited for it
            os.kill(pid, 0)


def test_a_flow_dump_counts_twice_its_size_and_an_unreadable_file_nothing(tmp_path):
    har, flow = tmp_path / "a.har", tmp_path / "a.flow"
    har.write_bytes(b'{"log": {"entries": []}}')
    flow.write_bytes(b"5:hello,")
    assert reading_cost(har) == har.stat().st_size
    assert reading_cost(flow) == 2 * flow.stat().st_size
    assert reading_cost(tmp_path / "missing.har") == 0


@pytest.mark.parametrize("command", [["inspect", "--quick"], ["convert", "--jobs", "2", "-o", "OUT"]])
def test_the_command_leaves_no_worker_behind_and_no_semaphores_for_the_resource_tracker(tmp_path, command):
    """Its workers told to stop without waiting (some perhaps still starting up), the command waits for them before
    it leaves: none outlives it holding its standard output, which a pipe's reader would wait on."""
    samples = Path(__file__).resolve().parents[1] / "samples"
    command = [str(tmp_path / "out") if word == "OUT" else word for word in command]
    done = subprocess.run(
        [sys.executable, "-m", "converters", command[0], str(samples / "phone-sync.har"),
         str(samples / "phone-sync.flow"), *command[1:]],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "resource_tracker" not in done.stderr
