"""A run on a Dask cluster (`--scheduler`) gives exactly the tables and report of a local run, also when a worker
dies in the middle of a task, and with inputs at URLs; without `--scheduler` or a URL, neither Dask nor fsspec is
imported."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import secret_corpus
from conftest import REPO
from typer.testing import CliRunner

from converters import pipeline, spill
from converters.cli import app

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
dask_cluster = pytest.importorskip("converters.dask_cluster")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, on this machine."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield cluster


@pytest.fixture
def captures(tmp_path):
    """The samples captured twice over (so that there are copies to drop), under a relative path: workers elsewhere
    must still find them."""
    folder = tmp_path / "captures"
    folder.mkdir()
    for i, sample in enumerate(SAMPLES * 2):
        shutil.copy(sample, folder / f"{i}-{sample.name}")
    return folder


@pytest.fixture
def small_parts(monkeypatch):
    """Limits small enough that tables are reduced in several ranges (each a task of its own) and go to disk."""
    monkeypatch.setattr(spill, "PART_ROWS", 50)
    monkeypatch.setattr(spill, "SORT_ROWS", 200)
    monkeypatch.setattr(spill, "SAMPLE_EVERY", 16)


def converted(out, *args, command=("convert", "captures"), code=0):
    result = CliRunner().invoke(app, [*command, "-o", str(out), "--format", "csv", *args])
    assert result.exit_code == code, result.output
    return output(out)


def output(out):
    """The report (less when it was made) and every table file's bytes."""
    report = json.loads((out / "report.json").read_text())
    del report["generated_at"]
    return report, {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def test_a_run_on_a_dask_cluster_gives_the_tables_and_report_of_a_local_run(cluster, captures, small_parts, monkeypatch):
    monkeypatch.chdir(captures.parent)
    local = converted(captures.parent / "local", "--jobs", "1")
    on_dask = converted(captures.parent / "dask", "--scheduler", cluster.scheduler_address)
    assert on_dask == local
    assert sum(t["duplicates"] for t in local[0]["tables"].values()) > 0
    assert not list((captures.parent / "dask").glob(".databack-*"))  # the work folder is gone


def test_inputs_at_a_url_on_a_dask_cluster_give_the_tables_of_a_local_run_of_the_paths(cluster, captures, small_parts,
                                                                                     monkeypatch):
    """Workers open each file through fsspec (`file://` here: a filesystem every worker process reaches), the
    archive's members too; the output is the local run's, but for the names, which are the files' URLs."""
    monkeypatch.chdir(captures.parent)
    shutil.make_archive(str(captures / "more"), "zip", captures, "0-phone-sync.har")
    local = converted(captures.parent / "local", "--jobs", "1")
    url = captures.as_uri()
    on_dask = converted(captures.parent / "dask", "--scheduler", cluster.scheduler_address, command=("convert", url))
    report, tables = on_dask
    report = json.loads(json.dumps(report).replace(f"{url}/", "captures/"))
    tables = {name: data.replace(f"{url}/".encode(), b"captures/") for name, data in tables.items()}
    assert (report, tables) == local
    assert "captures/more.zip/0-phone-sync.har" in [f["file"] for f in report["files"]]


def test_the_scheduler_can_come_from_dask_scheduler_address(cluster, captures, monkeypatch):
    monkeypatch.chdir(captures.parent)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    plain = converted(captures.parent / "plain", "--jobs", "1")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    tasks = cluster.scheduler.transition_counter
    assert converted(captures.parent / "local", "--jobs", "1") == plain
    assert tasks > 0 and cluster.scheduler.transition_counter == tasks  # only the first ran on the cluster


def test_shards_merged_on_a_dask_cluster_give_the_output_of_a_local_merge(cluster, captures, small_parts, monkeypatch):
    monkeypatch.chdir(captures.parent)
    for i in (1, 2):
        converted(captures.parent / f"shard{i}", "--jobs", "1", "--shard", f"{i}/2")
    shards = ("merge", "shard1", "shard2")
    tasks = cluster.scheduler.transition_counter
    local = converted(captures.parent / "local", "--jobs", "1", command=shards)
    assert cluster.scheduler.transition_counter == tasks
    on_dask = converted(captures.parent / "dask", "--scheduler", cluster.scheduler_address, command=shards)
    assert cluster.scheduler.transition_counter > tasks  # the merge's reduce ran on the cluster
    assert on_dask == local
    once = converted(captures.parent / "once", "--jobs", "1")  # one run over every capture: files in another order
    assert (on_dask[0]["tables"], on_dask[1]) == (once[0]["tables"], once[1])
    assert sum(t["duplicates"] for t in local[0]["tables"].values()) > 0  # (the same captures in both shards)


def test_errors_limits_and_redaction_on_a_dask_cluster_are_those_of_a_local_run(cluster, small_parts, tmp_path,
                                                                               monkeypatch):
    """Captures full of planted secrets in folders named after people (pseudonymised), a cut-off one, a broken one, a
    file that is no capture and a limit that rejects responses: the same tables, report, messages and exit code
    either way, and no secret in what the cluster's run wrote."""
    corpus = secret_corpus.build(tmp_path / "corpus")
    for person, capture in zip(("Anna Berg", "Ben Okafor"), (corpus.har, corpus.flow)):
        (tmp_path / "captures" / person).mkdir(parents=True)
        shutil.copy(capture, tmp_path / "captures" / person / f"phone{capture.suffix}")
    shutil.copy(SAMPLES[0], tmp_path / "captures" / "Anna Berg" / "sync.har")
    cut = SAMPLES[0].read_bytes()
    (tmp_path / "captures" / "Ben Okafor" / "cut-off.har").write_bytes(cut[: len(cut) // 2])
    (tmp_path / "captures" / "Ben Okafor" / "notes.txt").write_text("not a capture")
    (tmp_path / "captures" / "Ben Okafor" / "broken.har").write_text("{not JSON")
    (tmp_path / "study.key").write_text("a key of the study team, 32 bytes")
    monkeypatch.chdir(tmp_path)
    args = ["convert", "captures", "--pseudonymize", "--key-file", "study.key", "--max-json-values", "300",
            "--generic", secret_corpus.GENERIC_HOST, "--format", "csv"]
    runs = {}
    for name, where in (("local", ["--jobs", "1"]), ("dask", ["--scheduler", cluster.scheduler_address])):
        result = CliRunner().invoke(app, [*args, "-o", name, *where])
        runs[name] = result.exit_code, result.output.replace(f"-> {name}", "-> OUT"), output(tmp_path / name)
    assert runs["dask"] == runs["local"]
    code, messages, (report, tables) = runs["dask"]
    assert code == 1 and report["totals"]["files_failed"] == 1 and report["totals"]["files_partial"] >= 1
    assert "over a limit: JSON of more than 300 values (--max-json-values)" in messages
    texts = [messages, json.dumps(report), *(t.decode() for t in tables.values())]
    planted = ["Anna Berg", "Okafor", *(needle for needles in corpus.needles.values() for needle in needles)]
    assert [n for n in planted if any(n in text for text in texts)] == []


class KillOnce(distributed.WorkerPlugin):
    """Kills its worker's process (SIGKILL, as the out-of-memory killer would) 50 ms into the first file's task that
    any worker starts."""

    name = "kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "convert_file" in str(key):
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()


def test_a_worker_killed_in_the_middle_of_a_task_is_replaced_and_the_output_is_the_same(
    cluster, captures, small_parts, monkeypatch
):
    monkeypatch.chdir(captures.parent)
    local = converted(captures.parent / "local", "--jobs", "1")
    marker = captures.parent / "killed"
    with distributed.Client(cluster.scheduler_address) as client:
        client.register_plugin(KillOnce(str(marker)))
        on_dask = converted(captures.parent / "dask", "--scheduler", cluster.scheduler_address)
        client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists()  # a worker was killed
    assert on_dask == local


class ReadOrDie:
    """`convert_file` on a worker (which has not replaced it), but for a file named `kill…`: it kills the worker
    (SIGKILL, as the out-of-memory killer would) every time."""

    def __call__(self, inp, *args):
        if Path(inp.source_file).name.startswith("kill"):
            os.kill(os.getpid(), signal.SIGKILL)
        return importlib.import_module("converters.pipeline").convert_file(inp, *args)


def test_a_file_that_kills_every_worker_it_is_given_to_fails_alone_and_the_rest_is_a_local_runs(
    cluster, captures, monkeypatch
):
    """The scheduler gives up on the file's task (`KilledWorker`) after it has killed a few workers: that file fails
    with the reason, and the other files give the tables of a local run without it."""
    monkeypatch.chdir(captures.parent)
    local = converted(captures.parent / "local", "--jobs", "1")
    shutil.copy(SAMPLES[0], captures / "kill.har")
    monkeypatch.setattr(pipeline, "convert_file", ReadOrDie())
    report, tables = converted(captures.parent / "dask", "--scheduler", cluster.scheduler_address, code=1)
    assert tables == local[1]
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert [(f["file"], f["error"]) for f in failed] == [("captures/kill.har", dask_cluster.WORKERS_LOST)]


def test_a_scheduler_that_cannot_be_reached_is_one_line_and_out_is_left_as_it_was(captures, monkeypatch):
    monkeypatch.chdir(captures.parent)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"tcp://127.0.0.1:{s.getsockname()[1]}"  # (no one listens there once the socket is closed)
    for address, why in ((closed, "Timed out trying to connect"), ("foo://host:1", "unknown address scheme 'foo'")):
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
            result = CliRunner().invoke(app, ["convert", "captures", "-o", "out", "--scheduler", address])
        assert result.exit_code == 1
        assert re.fullmatch(f"databack: cannot reach the Dask scheduler at {address}: [^\n]*{why}[^\n]*; out was left "
                            "as it was\n", result.output), result.output
    assert not (captures.parent / "out").exists()


def test_a_cluster_with_no_worker_for_the_time_allowed_is_one_line_and_out_is_left_as_it_was(captures, monkeypatch):
    monkeypatch.chdir(captures.parent)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None, silence_logs=40) as empty:
        for wait, why in (("1s", f"no Dask worker joined the scheduler at {empty.scheduler_address} in 1 s: start "
                                 f"workers (dask worker {empty.scheduler_address}) or scale the cluster, or wait "
                                 'longer (DASK_DATABACK__WORKER_WAIT="1 hour"; 0: for ever)'),
                          ("soon", "databack.worker-wait of Dask's configuration is 'soon', not a time (such as "
                                   "'10 minutes')")):
            with dask.config.set({"databack.worker-wait": wait}):
                result = CliRunner().invoke(app, ["convert", "captures", "-o", "out", "--scheduler",
                                                  empty.scheduler_address])
            assert (result.exit_code, result.output) == (1, f"databack: {why}; out was left as it was\n")
    assert not (captures.parent / "out").exists()


def test_a_run_waits_for_the_workers_an_adaptive_cluster_starts_once_asked(captures, monkeypatch):
    """A cluster with no worker yet (dask-jobqueue's `adapt`, a batch job still in the queue): the run waits for the
    first and gives a local run's output."""
    monkeypatch.chdir(captures.parent)
    local = converted(captures.parent / "local", "--jobs", "1")
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as growing:
        later = threading.Timer(1.0, growing.scale, [2])
        later.start()
        assert converted(captures.parent / "out", "--scheduler", growing.scheduler_address) == local
        later.join()


class BeginThenWait:
    """`convert_file` on a worker that first notes it has begun (the file `began`) and then takes long."""

    def __init__(self, began: str) -> None:
        self.began = began

    def __call__(self, inp, *args):
        Path(self.began).touch()
        time.sleep(60)


def test_a_cluster_lost_amid_the_run_is_one_line_and_out_is_left_as_it_was(captures, monkeypatch, capfd):
    """The cluster shut down while its workers convert (the scheduler's job ended, the network cut): the run stops
    with one line, rather than the cancelled tasks' traceback or distributed's own of the reconnection it gives up,
    and OUT is left as it was."""
    monkeypatch.chdir(captures.parent)
    converted(captures.parent / "out", "--jobs", "1")
    before = output(captures.parent / "out")
    began = captures.parent / "began"
    monkeypatch.setattr(pipeline, "convert_file", BeginThenWait(str(began)))
    # (distributed's errors shown, as a run's are: the cluster's own loggers, in this process, stay at ERROR)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as doomed:
        def shut_down_once_begun():
            while not began.exists():
                time.sleep(0.05)
            doomed.close()

        closing = threading.Thread(target=shut_down_once_begun)
        closing.start()
        capfd.readouterr()
        result = CliRunner().invoke(app, ["convert", "captures", "-o", "out", "--format", "csv", "--force",
                                          "--scheduler", doomed.scheduler_address])
        closing.join()
        logged = capfd.readouterr().err
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"databack: lost the Dask cluster at {doomed.scheduler_address}: the "
                                              "connection to its scheduler was lost; out was left as it was"), \
        result.output
    assert "Traceback" not in logged, logged
    assert output(captures.parent / "out") == before


def test_without_a_scheduler_or_a_url_neither_dask_nor_fsspec_is_imported(tmp_path):
    code = (
        "import sys\n"
        "from converters import cli\n"
        f"try: cli.app(['convert', {str(SAMPLES[0])!r}, '-o', {str(tmp_path / 'out')!r}, '--jobs', '2'])\n"
        "except SystemExit as e: assert e.code == 0, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'fsspec')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
