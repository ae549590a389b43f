"""Files run in worker processes start costliest first, each result comes back with its input's index, and the
workers are gone once the files are done."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
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


class _CtrlC(Exception):
    """Raised by the test's Ctrl-C handler (not KeyboardInterrupt, which would stop the test session)."""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="signals are blocked where POSIX threads are")
@pytest.mark.parametrize("sent_to", ["this thread", "this process, beside another thread"])
def test_a_ctrl_c_while_the_workers_start_is_not_lost_it_stops_the_run_once_they_have_started(monkeypatch, sent_to):
    """A Ctrl-C sent to the main thread (held by the mask), or to the process while another thread can take it
    (noted by the handler), as the first worker starts: the run stops once every file is handed out, and the
    workers are ended."""
    submit = parallel.ProcessPoolExecutor.submit
    submitted: list[str] = []
    workers: set[int] = set()
    at_ctrl_c: list[int] = []

    def submit_then_ctrl_c(pool, work, inp, *args):
        future = submit(pool, work, inp, *args)
        submitted.append(inp)
        workers.update(pool._processes)
        if len(submitted) == 1:
            if sent_to == "this thread":
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            else:
                os.kill(os.getpid(), signal.SIGINT)
        return future

    def pressed(signum, frame):
        at_ctrl_c.append(len(submitted))
        raise _CtrlC

    monkeypatch.setattr(parallel.ProcessPoolExecutor, "submit", submit_then_ctrl_c)
    bystander_ends = threading.Event()
    bystander = threading.Thread(target=bystander_ends.wait)  # (a progress bar's, say): SIGINT is not blocked in it
    bystander.start()
    previous = signal.signal(signal.SIGINT, pressed)
    try:
        with pytest.raises(_CtrlC):
            list(parallel.map_files(worker_pid, ["a", "b", "c", "d"], 2, None))
    finally:
        signal.signal(signal.SIGINT, previous)
        bystander_ends.set()
        bystander.join()
    assert at_ctrl_c == [4] and workers
    for pid in workers:
        with pytest.raises(ProcessLookupError):  # ended and reaped
            os.kill(pid, 0)


def sigint_in_worker(name: str) -> tuple[dict[str, bool]]:
    """How this process's main thread stands with SIGINT, from /proc: ignored, blocked, pending."""
    status = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    bit = 1 << (signal.SIGINT - 1)
    return ({field: bool(int(status[field], 16) & bit) for field in ("SigIgn", "SigBlk", "SigPnd", "ShdPnd")},)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="read from /proc (Linux)")
def test_workers_sent_ctrl_c_as_they_start_ignore_it_and_are_left_with_it_neither_blocked_nor_pending(monkeypatch):
    """As the terminal sends Ctrl-C to every process of the run: a worker starting (SIGINT blocked) drops it once
    it ignores it; each converts its files unbothered, SIGINT ignored, not blocked, none pending."""
    submit = parallel.ProcessPoolExecutor.submit

    def submit_then_ctrl_c_to_the_workers(pool, *args):
        future = submit(pool, *args)
        for pid in pool._processes:
            os.kill(pid, signal.SIGINT)
        return future

    monkeypatch.setattr(parallel.ProcessPoolExecutor, "submit", submit_then_ctrl_c_to_the_workers)
    done = dict(parallel.map_files(sigint_in_worker, ["a", "b", "c", "d"], 2, None))
    parallel.wait_for_workers()
    assert sorted(done) == [0, 1, 2, 3]
    assert all(state == ({"SigIgn": True, "SigBlk": False, "SigPnd": False, "ShdPnd": False},)
               for state in done.values()), done


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


# `python -c RUN_KILLED`: a run converting two files in worker processes that take long; it prints the workers' pids
# once both have begun, and is then killed by the test
RUN_KILLED = """
import os, sys, threading, time
from converters import parallel
sys.path.insert(0, sys.argv[1])
from test_parallel import begin_then_sleep

def say_workers():
    while len([p for p in os.listdir(sys.argv[2])]) < 2:
        time.sleep(0.01)
    print(" ".join(os.listdir(sys.argv[2])), flush=True)

threading.Thread(target=say_workers, daemon=True).start()
list(parallel.map_files(begin_then_sleep, [sys.argv[2], sys.argv[2]], 2, None))
"""


def begin_then_sleep(folder: str) -> tuple[int]:
    """In a worker: says it has begun (a file named by its pid in `folder`), then takes long."""
    Path(folder, str(os.getpid())).touch()
    time.sleep(600)
    return (os.getpid(),)


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="read from /proc (Linux)")
def test_the_workers_of_a_run_killed_amid_its_files_end_with_it(tmp_path):
    """A run killed (SIGKILL, the OOM killer) while its workers convert: they end too, rather than finish their files
    into a work folder no run holds, then wait for ever to hand over their results, memory held."""
    began = tmp_path / "began"
    began.mkdir()
    run = subprocess.Popen([sys.executable, "-c", RUN_KILLED, str(Path(__file__).parent), str(began)],
                           stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in run.stdout.readline().split()]
    assert len(workers) == 2
    run.kill()
    run.wait()
    deadline = time.monotonic() + 60  # (not a timing: how long to wait before calling them left behind)
    while (alive := [pid for pid in workers if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "workers outlived their run"


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped by its new parent, is not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def dies_on_killer(name: str, folder: str) -> tuple[str]:
    """In a worker: notes each attempt at `name` (a file named by it and the pid in `folder`); the input `killer` kills
    its worker (SIGKILL, as the out-of-memory killer would) once `slow` has begun, and `slow` is still being read
    then (1.5 s past the killer's beginning: however loaded the machine, neither waits on the other's start by the
    clock)."""
    Path(folder, f"{name}.{os.getpid()}").touch()
    if name in ("killer", "slow"):
        other = "slow" if name == "killer" else "killer"
        deadline = time.monotonic() + 60
        while not any(Path(folder).glob(f"{other}.*")) and time.monotonic() < deadline:
            time.sleep(0.01)
    if name == "killer":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "slow":
        time.sleep(1.5)
    return (name.upper(),)


def test_a_file_that_kills_its_worker_fails_alone_and_the_files_beside_it_are_read_again(tmp_path):
    """The pool dies with the worker: the file read beside it then is read again, and the files not yet begun go to
    a new pool; the killer, begun there, is run again in a process of its own, where it kills its worker again, and
    fails alone with the reason."""
    names = ["slow", "killer", "c", "d"]
    done = dict(parallel.map_files(
        dies_on_killer, names, 2, None, str(tmp_path),
        cost=lambda name: -names.index(name), lost=lambda name, why: (f"{name}: {why}",),
    ))
    parallel.wait_for_workers()
    assert done == {0: ("SLOW",), 1: (f"killer: {parallel.WORKER_LOST}",), 2: ("C",), 3: ("D",)}
    attempts = Counter(p.name.split(".")[0] for p in tmp_path.iterdir())
    assert attempts["killer"] == 2 and attempts["slow"] == 2 and attempts["c"] == attempts["d"] == 1, attempts
    assert len({p.name.split(".")[1] for p in tmp_path.iterdir() if p.name.startswith("killer.")}) == 2


class _PoolDeadAtOnce(_PoolHere):
    """A stand-in for a process pool whose workers die as they start: every file's future fails, none begun."""

    made = 0

    def __init__(self, *args, **kwargs):
        _PoolDeadAtOnce.made += 1

    def submit(self, work, inp, *args):
        future: Future = Future()
        future.set_exception(BrokenProcessPool("a worker died starting"))
        return future


def test_pools_whose_workers_die_before_any_file_stop_the_run_after_a_few_tries(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _PoolDeadAtOnce)
    _PoolDeadAtOnce.made = 0
    with pytest.raises(parallel.WorkersLost, match="before beginning a file, 3 times"):
        list(parallel.map_files(shout, ["a", "b", "c"], 2, None, "!", lost=lambda name, why: (why,)))
    assert _PoolDeadAtOnce.made == parallel.POOL_TRIES


# `python -c RUN_WITH_A_KILLER TESTS COMMAND…`: databack's command line, its files read by `read_or_die`
RUN_WITH_A_KILLER = """
import sys
sys.path.insert(0, sys.argv.pop(1))
import test_parallel
from converters import cli, inspect_captures, pipeline
pipeline.convert_file = test_parallel.read_or_die("converters.pipeline", "convert_file")
inspect_captures.inspect_file = test_parallel.read_or_die("converters.inspect_captures", "inspect_file")
cli.main()
"""


class read_or_die:
    """`module.name(inp, …)` in a worker (which has not replaced it), but for a file named `kill…`, which kills its
    worker every time, and one named `once…`, which kills it the first time it is begun (SIGKILL, as the out-of-memory
    killer would)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, inp, *args):
        name = Path(inp.source_file).name
        if name.startswith("once"):
            try:
                os.close(os.open(Path(inp.path).with_suffix(".killed"), os.O_CREAT | os.O_EXCL))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
        if name.startswith("kill"):
            os.kill(os.getpid(), signal.SIGKILL)
        return getattr(importlib.import_module(self.module), self.name)(inp, *args)


@pytest.mark.parametrize("command", ["convert", "inspect"])
def test_a_file_that_kills_its_worker_fails_alone_with_the_reason_and_one_killed_once_is_read_again(tmp_path, command):
    """A file whose worker dies every time (out of memory, a crash in native code) is one failed file, named with the
    reason; one whose worker died once is read again; the others are read as if nothing had happened."""
    samples = Path(__file__).resolve().parents[1] / "samples"
    folder = tmp_path / "captures"
    folder.mkdir()
    for name, sample in (("a.har", "phone-sync.har"), ("b.flow", "phone-sync.flow"), ("once.flow", "phone-sync.flow"),
                         ("kill.har", "phone-sync.har")):
        shutil.copy(samples / sample, folder / name)

    def run(*args, alone=False):
        script = ["-c", RUN_WITH_A_KILLER, str(Path(__file__).parent)] if not alone else ["-m", "converters"]
        return subprocess.run([sys.executable, *script, command, *args], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)

    out = ["-o", str(tmp_path / "out"), "--format", "csv"] if command == "convert" else []
    killed = run("captures", "--jobs", "2", *out)
    (folder / "kill.har").unlink()
    expected = run("captures", "--jobs", "1", *[a.replace("out", "expected") for a in out], alone=True)
    assert killed.returncode == 1 and expected.returncode == 0, killed.stderr + expected.stderr
    if command == "convert":
        assert f"  captures/kill.har: failed: {parallel.WORKER_LOST}\n" in killed.stderr
    else:  # (the table's lines folded at the terminal's width)
        assert f"captures/kill.har - failed 0 exchanges; {parallel.WORKER_LOST}" in " ".join(killed.stdout.split())
    assert (folder / "once.killed").exists()  # its worker was killed once
    if command == "convert":
        tables = {p.name: p.read_bytes() for p in sorted((tmp_path / "out").glob("*.csv"))}
        assert tables == {p.name: p.read_bytes() for p in sorted((tmp_path / "expected").glob("*.csv"))}
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert [f["status"] for f in report["files"]] == ["ok", "ok", "failed", "ok"]


def test_the_usable_cores_are_those_the_cpu_affinity_allows_not_the_machines(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5, 7}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert parallel.usable_cores(tmp_path / "no-cgroup", tmp_path) == 3


@pytest.mark.parametrize("version, files, cpus", [
    ("v2", {"job/cpu.max": "150000 100000\n", "job/step/cpu.max": "max 100000\n"}, 2),  # a parent's limit holds
    ("v2", {"cpu.max": "max 100000\n", "job/step/cpu.max": "max 100000\n"}, 8),
    ("v1", {"cpu,cpuacct/docker/c1/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/docker/c1/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 3),
    ("v1", {"cpu,cpuacct/docker/c1/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/docker/c1/cpu.cfs_period_us": "100000\n"}, 8),
    ("v2", {"job/step/cpu.max": "20000 100000\n"}, 1),  # a fifth of a core: one
])
def test_a_cgroups_cpu_quota_caps_the_usable_cores_rounded_up(monkeypatch, tmp_path, version, files, cpus):
    """As `docker --cpus`, a Kubernetes limit or a systemd slice set it, in the process's cgroup or one above."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    cgroups = tmp_path / "sys-fs-cgroup"
    for name, text in files.items():
        (cgroups / name).parent.mkdir(parents=True, exist_ok=True)
        (cgroups / name).write_text(text)
    proc = tmp_path / "cgroup"
    proc.write_text("0::/job/step\n" if version == "v2" else "4:memory:/docker/c1\n3:cpu,cpuacct:/docker/c1\n0::/\n")
    assert parallel.usable_cores(proc, cgroups) == cpus


@pytest.mark.parametrize("command", [["convert", "-o", "OUT"], ["inspect"]])
def test_without_jobs_a_command_reads_files_in_as_many_processes_as_it_has_usable_cores(monkeypatch, tmp_path,
                                                                                      command):
    from typer.testing import CliRunner

    from converters import inspect_captures
    from converters.cli import app

    jobs = []
    map_files = parallel.map_files
    monkeypatch.setattr(parallel, "usable_cores", lambda: 3)
    for module in (parallel, inspect_captures):
        monkeypatch.setattr(module, "map_files", lambda work, inputs, n, *a, **k: jobs.append(n) or map_files(
            work, inputs, 1, *a, **k))
    samples = Path(__file__).resolve().parents[1] / "samples"
    command = [str(tmp_path / "out") if word == "OUT" else word for word in command]
    result = CliRunner().invoke(app, [command[0], str(samples / "phone-sync.har"), str(samples / "phone-sync.flow"),
                                      *command[1:]])
    assert result.exit_code == 0, result.output
    assert jobs == [3]


# `python -c SUBMITTED_MASKED TESTS`: in a process with no resource tracker yet, whether SIGINT was blocked as each
# file was handed to a worker (and so as each worker was started)
SUBMITTED_MASKED = """
import signal, sys
sys.path.insert(0, sys.argv[1])
from concurrent.futures import ProcessPoolExecutor
from converters import parallel
from test_parallel import worker_pid
masked = []
submit = ProcessPoolExecutor.submit
def noting_submit(pool, *args):
    masked.append(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    return submit(pool, *args)
ProcessPoolExecutor.submit = noting_submit
list(parallel.map_files(worker_pid, ["a", "b", "c", "d"], 2, None))
parallel.wait_for_workers()
print(masked)
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="signals are blocked where POSIX threads are")
def test_workers_start_with_ctrl_c_held_even_as_the_runs_first_pool_starts_the_resource_tracker():
    """The resource tracker, started by a run's first pool, unblocks SIGINT once it is up: a pool made while Ctrl-C
    is held left the workers started after it open to one, which killed a worker still starting up ('Fatal Python
    error: init_import_site … KeyboardInterrupt' on the run's standard error)."""
    done = subprocess.run([sys.executable, "-c", SUBMITTED_MASKED, str(Path(__file__).parent)], capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "[True, True, True, True]\n"), done.stderr
