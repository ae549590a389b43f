"""OUT's store: one writer at a time (a real second process stops or waits), all-or-nothing transactions, repair
of what killed runs left, and one line with the right exit code for every place OUT cannot be."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, fed_pipe, write_har
from conftest import REPO
from outs import Faults, assert_consistent, state
from typer.testing import CliRunner

from converters import store
from converters.cli import app

runner = CliRunner()
faults = Faults()
SAMPLES = REPO / "samples"
HOLDER = """
import sys, time
from pathlib import Path
from converters import store
with store.lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""

# `python -c CROSSED_MERGE SYNC ME OTHER ARGS...`: `databack ARGS...`, holding the first folder it locks until the
# other run (OTHER) holds one too or waits for one; each says so by a file in SYNC ("ME holds", "ME waits")
CROSSED_MERGE = """
import sys, time
from pathlib import Path
from types import SimpleNamespace
from converters import store
from converters.cli import main
sync, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def first_held_until_the_other_locks(event, args):
    if event == "databack.store" and args[0] == "locked" and not (sync / f"{me} holds").exists():
        (sync / f"{me} holds").touch()
        while not ((sync / f"{other} holds").exists() or (sync / f"{other} waits").exists()):
            time.sleep(0.01)

def waits(seconds):
    (sync / f"{me} waits").touch()
    time.sleep(seconds)

sys.addaudithook(first_held_until_the_other_locks)
store.time = SimpleNamespace(monotonic=time.monotonic, sleep=waits)
sys.argv = ["databack", *sys.argv[4:]]
main()
"""

# `python -c PAUSED_HOLDER OUT`: takes OUT's lock, saying "paused" and waiting for a line on standard input after
# each step that locks a file or links one in, then "locked" (and holds it until the next line)
PAUSED_HOLDER = """
import fcntl, os, sys
from pathlib import Path
from converters import store

def paused_after(call, when=lambda *args: True):
    def call_then_pause(*args):
        done = call(*args)
        if when(*args):
            print("paused", flush=True)
            sys.stdin.readline()
        return done
    return call_then_pause

fcntl.flock = paused_after(fcntl.flock, lambda fd, operation: operation & fcntl.LOCK_EX)
os.link = paused_after(os.link)
with store.lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def convert(*args: object):
    return runner.invoke(app, ["convert", *map(str, args), "-j", "1"])


def databack(*args: object) -> list[str]:
    return [sys.executable, "-m", "converters", *map(str, args)]


def hold(out: Path, seconds: float = 60) -> subprocess.Popen:
    """A real process holding OUT's lock (for `seconds`), once it says so."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    return holder


def visible(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


# --- transactions ------------------------------------------------------------------------------------------------


def test_a_transaction_changes_out_only_when_it_ends(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    (out / "gone.txt").write_text("old")
    (out / "table").mkdir()
    (out / "table" / "part.parquet").write_text("old part")
    with store.transaction(out) as tx:
        tx.path("a.txt").write_text("new a")
        tx.path("b.txt").write_text("new b")
        folder = tx.path("table")
        folder.mkdir()
        (folder / "other.parquet").write_text("new part")
        tx.remove("gone.txt")
        tx.remove("never-there.txt")
        assert (out / "a.txt").read_text() == "old a" and not (out / "b.txt").exists()
        assert (out / "gone.txt").exists() and (out / "table" / "part.parquet").exists()
    assert visible(out) == ["a.txt", "b.txt", "table"]
    assert (out / "a.txt").read_text() == "new a" and (out / "b.txt").read_text() == "new b"
    assert visible(out / "table") == ["other.parquet"]


def test_a_transaction_ended_by_an_exception_changes_nothing_and_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    with pytest.raises(ZeroDivisionError):  # not an I/O problem: raised as it is
        with store.transaction(out) as tx:
            tx.path("a.txt").write_text("new")
            1 / 0
    assert visible(out) == ["a.txt"] and (out / "a.txt").read_text() == "old"


def test_entries_change_in_the_order_they_were_first_named(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("")
    faults.arm()
    with store.transaction(out) as tx:
        for name in ("z.parquet", "a.parquet", "datapackage.json"):
            tx.path(name).write_text(name)
        tx.path("z.parquet").write_text("again")
        tx.remove("old.txt")
        tx.path("report.json").write_text("{}")
    order = [detail for step, detail in faults.steps if step == "apply"]
    faults.disarm()
    assert order == ["z.parquet", "a.parquet", "datapackage.json", "old.txt", "report.json"]
    with pytest.raises(ValueError, match="both written and removed"):
        with store.transaction(out) as tx:
            tx.path("report.json")
            tx.remove("report.json")
    for bad in ("", ".hidden", "a/b", ".."):
        with pytest.raises(ValueError, match="not an entry of OUT"):
            with store.transaction(out) as tx:
                tx.path(bad)


def test_a_table_turned_into_csv_or_folders_and_back_leaves_one_consistent_set(tmp_path):
    out = tmp_path / "out"
    for options in ([], ["--format", "csv"], ["--partition-by", "participant_id,night"], []):
        result = convert(SAMPLES / "phone-sync.har", "-o", out, "--force", *options)
        assert result.exit_code == 0, result.output
        assert_consistent(out)
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing of the run is left
    assert {p.suffix for p in out.iterdir()} == {".parquet", ".json"}


# --- one writer ----------------------------------------------------------------------------------------------------


def test_a_second_run_stops_at_once_naming_the_holder_and_runs_once_it_is_gone(tmp_path):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    holder = hold(out)
    try:
        result = convert(SAMPLES / "phone-sync.flow", "-o", out)
        assert (result.exit_code, result.output) == (
            1, f"databack: {out} is in use by another databack run (pid {holder.pid}); --wait to queue\n")
        started = time.monotonic()
        result = convert(SAMPLES / "phone-sync.flow", "-o", out, "--wait-timeout", "0.3")
        assert (result.exit_code, result.output) == (
            1, f"databack: {out} is still in use by another databack run (pid {holder.pid}) after 0.3 s\n")
        assert time.monotonic() - started >= 0.3
        assert state(out) == before | {".databack.lock": f"{holder.pid} {os.uname().nodename}\n".encode()}
    finally:
        holder.kill()  # the lock ends with its process
        holder.wait()
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    assert result.exit_code == 0, result.output
    assert visible(out) == sorted(p for p in visible(out) if not p.startswith("."))  # its lock file removed


def test_with_wait_a_second_run_queues_behind_the_first(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    holder = hold(out)
    waited = []

    def first_ends(seconds: float) -> None:  # the second run waits for OUT: the first ends only now
        if not waited:
            holder.kill()
            holder.wait()
        waited.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(store, "time", SimpleNamespace(monotonic=time.monotonic, sleep=first_ends))
    try:
        result = convert(SAMPLES / "phone-sync.har", "-o", out, "--wait")
    finally:
        holder.kill()
        holder.wait()
    assert waited and result.exit_code == 0, result.output
    assert_consistent(out)


def test_two_runs_into_one_out_at_once_never_lose_an_update(tmp_path):
    inputs = [write_har(tmp_path / f"p{i}.har", [entry(BAND_EVENTS_URL, band_event(str(i)))]) for i in (1, 2)]
    for attempt in range(2):
        for wait in ([], ["--wait"]):
            out = tmp_path / f"out-{attempt}-{len(wait)}"
            runs = [subprocess.Popen(databack("convert", p, "-o", out, "-j", "1", *wait), stderr=subprocess.PIPE, text=True)
                    for p in inputs]
            ended = [(run.wait(), run.stderr.read()) for run in runs]
            done = {str(p) for p, (code, _) in zip(inputs, ended) if code == 0}
            for p, (code, err) in zip(inputs, ended):
                assert code == 0 or (not wait and code == 1 and "is in use by another databack run (pid " in err), err
            report = json.loads((out / "report.json").read_text())
            assert {f["file"] for f in report["files"]} == done  # every run that ended well is in OUT
            events = set(pl.read_parquet(out / "band_events.parquet")["event_id"])
            assert events == {Path(p).stem[1:] for p in done}
            assert_consistent(out)
            if wait:
                assert len(done) == 2


# --- where OUT cannot be -------------------------------------------------------------------------------------------


def places(tmp_path: Path) -> dict[str, tuple[list[str], str, Path]]:
    """Per case: the arguments, the one line expected (exit 2) and the path that must be left as it was."""
    captures = tmp_path / "captures"
    captures.mkdir()
    har = captures / "a.har"
    shutil.copy(SAMPLES / "phone-sync.har", har)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    return {
        "a file": ([str(har), "-o", str(a_file)], f"cannot write into {a_file}: it is a file, not a folder", a_file),
        "an input file": ([str(har), "-o", str(har)], f"cannot write into {har}: it is also an input", har),
        "an input folder": ([str(captures), "-o", str(captures)], f"cannot write into {captures}: it is also an input",
                            captures),
        "a folder holding an input": ([str(har), "-o", str(tmp_path)], f"cannot write into {tmp_path}: it holds the "
                                      f"input {har}", captures),
        "in a missing folder": ([str(har), "-o", str(tmp_path / "nope" / "out")], f"cannot write into "
                                f"{tmp_path / 'nope' / 'out'}: its parent folder {tmp_path / 'nope'} does not exist",
                                tmp_path / "nope"),
        "in a file": ([str(har), "-o", str(a_file / "out")], f"cannot write into {a_file / 'out'}: its parent folder "
                      f"{a_file} is not a folder", a_file),
    }


@pytest.mark.parametrize("case", ["a file", "an input file", "an input folder", "a folder holding an input",
                                  "in a missing folder", "in a file"])
def test_out_where_it_cannot_be_is_one_line_and_a_usage_error(tmp_path, case):
    args, message, untouched = places(tmp_path)[case]
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    result = convert(*args)
    assert (result.exit_code, result.output) == (2, f"databack: {message}\n")
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before
    assert not untouched.exists() or untouched.is_file() or not any(p.name.startswith(".") for p in untouched.iterdir())


def test_another_runs_out_inside_an_input_folder_is_no_input(tmp_path):
    # 'databack convert study -o study/shards/N --shard I/N' (each shard's OUT in the folder converted) took the
    # other shards' OUT for inputs: their tables and report skipped files in the report (26 of them), different in
    # every shard and run, and a file a shard's commit removed meanwhile a failed input (exit 1)
    study = tmp_path / "study"
    (study / "p07").mkdir(parents=True)
    shutil.copy(SAMPLES / "phone-sync.har", study / "p07" / "sync.har")
    (study / "shards").mkdir()
    assert convert(SAMPLES / "phone-sync.flow", "-o", study / "shards" / "1").exit_code == 0
    (study / "shards" / "2").mkdir()
    holder = hold(study / "shards" / "2")  # a shard's first run, under way
    try:
        result = convert(study, "-o", study / "shards" / "3")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0, result.output
    report = json.loads((study / "shards" / "3" / "report.json").read_bytes())
    assert [f["file"] for f in report["files"]] == ["study/p07/sync.har"]
    # a folder of the user's holding a datapackage.json of their own (no databack run's report.json) is searched
    (study / "shards" / "1" / "report.json").write_text('{"study": "sleep", "databack": "no"}')
    result = convert(study, "-o", tmp_path / "again")
    assert result.exit_code == 0, result.output
    found = [f["file"] for f in json.loads((tmp_path / "again" / "report.json").read_bytes())["files"]]
    assert "study/shards/1/report.json" in found and "study/p07/sync.har" in found


def test_merge_into_one_of_its_inputs_is_a_usage_error(tmp_path):
    assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "s1").exit_code == 0
    result = runner.invoke(app, ["merge", str(tmp_path / "s1"), "-o", str(tmp_path / "s1")])
    assert (result.exit_code, result.output) == (2, f"databack: cannot write into {tmp_path / 's1'}: it is also an input\n")


@pytest.fixture
def mount(tmp_path):
    """Mount a tmpfs of a given size (and read-only or not) at a folder; skips where this cannot mount (not root,
    no mount(8), a container without the right)."""
    mounted = []

    def mount_tmpfs(folder: Path, size: str, read_only: bool = False) -> Path:
        folder.mkdir(exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        if shutil.which("mount") is None or os.geteuid() != 0:
            pytest.skip("mounting a small file system needs root and mount(8)")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "databack-test", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount_tmpfs
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_out_on_a_read_only_file_system_is_one_line_and_exit_1(tmp_path, mount):
    disk = mount(tmp_path / "disk", "4m")
    out = disk / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    for target in (out, disk / "new"):
        result = convert(SAMPLES / "phone-sync.flow", "-o", target)
        assert (result.exit_code, result.output) == (1, f"databack: cannot write into {target}: Read-only file system\n")
    assert state(out) == before
    merged = runner.invoke(app, ["merge", str(out), "-o", str(tmp_path / "merged")])  # read as it is
    assert merged.exit_code == 0, merged.output


def test_out_on_a_full_disk_is_left_as_it_was_and_converts_once_there_is_room(tmp_path, mount):
    disk = mount(tmp_path / "disk", "1200k")  # room for OUT (about 400 KB of tables) and its staged next state
    out = disk / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    free = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 60_000))  # 60 KB left: too little for the flow's tables
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: No space left on device\n")
    assert state(out) == before
    assert_consistent(out)
    filler.unlink()
    assert convert(SAMPLES / "phone-sync.flow", "-o", out).exit_code == 0
    clean = tmp_path / "clean"
    assert convert(SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", clean).exit_code == 0
    assert state(out) == state(clean)


@pytest.mark.parametrize("how", ["standard input", "a pipe"])
def test_a_full_disk_while_a_piped_capture_is_saved_into_out_is_one_line_and_leaves_out_as_it_was(tmp_path, mount, how):
    """A capture read from standard input or a pipe is saved into OUT's work folder first (readers seek): a full disk
    there stops the run as rows that cannot go to disk do, in one line, OUT as it was, the part saved removed."""
    disk = mount(tmp_path / "disk", "1200k")
    out = disk / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    capture = tmp_path / "big.har"  # more than the disk holds (saved whole before it is read)
    capture.write_bytes(SAMPLES.joinpath("phone-sync.har").read_bytes() + b" " * 2_000_000)
    if how == "standard input":
        with capture.open("rb") as stdin:
            run = subprocess.run(databack("convert", "-", "-o", out, "-j", "1"), stdin=stdin, capture_output=True,
                                 text=True)
    else:
        with fed_pipe(tmp_path / "fifo", capture.read_bytes()) as fifo:
            run = subprocess.run(databack("convert", fifo, "-o", out, "-j", "1"), capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (1, f"databack: cannot write into {out}: No space left on device\n")
    assert state(out) == before


@pytest.mark.parametrize("error", [
    OSError("No space left on device (os error 28)"),  # as polars' CSV and IPC writers raise it
    pl.exceptions.ComputeError("parquet: File out of specification: underlying IO error: Input/output error (os error 5)"),
])
def test_a_table_write_failing_in_polars_is_one_line_and_leaves_out_as_it_was(tmp_path, monkeypatch, error):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(pl.DataFrame, "write_parquet", fail)
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    cause = "No space left on device" if "28" in str(error) else "Input/output error"
    assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: {cause}\n")
    assert state(out) == before


# --- interruptions and repair --------------------------------------------------------------------------------------


def test_ctrl_c_before_the_commit_leaves_out_as_it_was(tmp_path):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    faults.arm(("stage", 2, "interrupt"))
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    faults.disarm()
    assert (result.exit_code, result.output.splitlines()[-1]) == (130, f"databack: interrupted; {out} was left as it was")
    assert state(out) == before


def test_ctrl_c_during_the_commit_waits_for_it_to_end(tmp_path):
    out, clean = tmp_path / "out", tmp_path / "clean"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    faults.arm(("apply", 2, "interrupt"))
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    faults.disarm()
    assert (result.exit_code, result.output.splitlines()[-1]) == (130, f"databack: interrupted; {out} holds this run's result")
    assert convert(SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", clean).exit_code == 0
    assert state(out) == state(clean)


@pytest.mark.parametrize("into", ["a new OUT", "an OUT of an earlier run"])
def test_sigterm_before_the_commit_stops_as_ctrl_c_does_leaving_no_saved_capture_in_out(tmp_path, into):
    # SIGTERM (a scheduler cancelling the job, `kill`) ended the run where it was: the capture piped in, being saved
    # into OUT's work folder (every credential in it), stayed there until another run into OUT, perhaps never (and a
    # new OUT stayed, holding only that); Ctrl-C removes it, and so does SIGTERM now, exiting as SIGTERM's (143)
    out = tmp_path / "out"
    if into == "an OUT of an earlier run":
        assert convert(SAMPLES / "phone-sync.flow", "-o", out).exit_code == 0
    before = state(out) if out.exists() else None
    capture = (SAMPLES / "phone-sync.har").read_bytes()
    run = subprocess.Popen(databack("convert", "-", "-o", out, "-j", "1"), stdin=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=False)
    try:
        run.stdin.write(capture)
        run.stdin.flush()  # (and left open: the run waits for the rest, saving it into OUT)
        for _ in range(1200):
            saved = list(out.glob(f"{store.WORK_PREFIX}*/*.capture")) if out.is_dir() else []
            if saved:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the capture piped in was never saved into OUT")
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 143, stderr
    assert stderr.decode().splitlines()[-1] == f"databack: interrupted; {out} was left as it was"
    if before is None:
        assert not out.exists()
    else:
        assert state(out) == before and not [p for p in out.iterdir() if p.name.startswith(".")]


def test_leftovers_of_killed_runs_are_removed_by_the_next_which_says_so(tmp_path):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    (out / ".databack-work-k2j4h5l6").mkdir()  # as earlier versions of databack left them too
    (out / ".databack-work-k2j4h5l6" / "0a1b.arrow").write_bytes(b"rows")
    (out / ".band_sequences.parquet.x8_3kq0a.tmp").write_bytes(b"PAR1")
    (out / ".band_events.old").mkdir()
    (out / ".databack-staging-abc").mkdir()
    (out / ".databack-journal.tmp").write_bytes(b'{"staging": ".databack-staging-abc", "chan')
    (out / ".my-notes.txt").write_text("not databack's")
    result = convert(SAMPLES / "phone-sync.har", "-o", out)
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        f"databack: repaired {out}: removed what a stopped run left (1 staging folder, 1 work folder, "
        "3 temporary files)")
    assert state(out) == before | {".my-notes.txt": b"not databack's"}


def test_a_users_hidden_files_shaped_like_an_older_databacks_leftovers_are_never_removed(tmp_path):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    (out / ".notes.20240101.tmp").write_text("the user's")  # hidden, 8 characters and .tmp, but no entry of OUT's
    (out / ".photos.old").mkdir()  # a folder set aside by the user, not a table's
    (out / ".photos.old" / "a.jpg").write_bytes(b"jpg")
    (out / ".band_events.old").write_text("a file, never a table's folder set aside")
    (out / ".report.json.k2j4h5l6.tmp").write_bytes(b'{"tab')  # an older databack's: removed
    result = convert(SAMPLES / "phone-sync.har", "-o", out)
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == f"databack: repaired {out}: removed what a stopped run left (1 temporary file)"
    assert state(out) == before | {".notes.20240101.tmp": b"the user's", ".photos.old/a.jpg": b"jpg",
                                   ".band_events.old": b"a file, never a table's folder set aside"}


def test_a_journal_that_cannot_be_read_is_dropped_and_said(tmp_path):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    (out / ".databack-staging-x").mkdir()
    (out / ".databack-staging-x" / "report.json").write_text("{}")
    (out / ".databack-journal.json").write_text('{"staging": "../elsewhere", "changes": [["replace", "report.json"]]}')
    with store.lock(out) as held:
        assert held.repaired == (f"repaired {out}: dropped a commit journal it could not read; removed what a stopped "
                                 "run left (1 staging folder)")
    assert state(out) == before


def test_merge_reads_each_shard_under_its_lock_after_repairing_it(tmp_path):
    folder = tmp_path / "captures"
    folder.mkdir()
    for p in ("phone-sync.har", "phone-sync.flow"):
        shutil.copy(SAMPLES / p, folder / p)
    for i in (1, 2):
        assert convert(folder, "-o", tmp_path / f"s{i}", "--shard", f"{i}/2").exit_code == 0
    assert convert(folder, "-o", tmp_path / "once").exit_code == 0
    (tmp_path / "s1" / ".databack-work-abc").mkdir()  # a killed run's leftovers in a shard
    holder = hold(tmp_path / "s2")
    try:
        result = runner.invoke(app, ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "-o", str(tmp_path / "m")])
        assert (result.exit_code, result.output.splitlines()[-1]) == (
            1, f"databack: {tmp_path / 's2'} is in use by another databack run (pid {holder.pid}); --wait to queue")
    finally:
        holder.kill()
        holder.wait()
    result = runner.invoke(app, ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "s1" / ".databack-work-abc").exists()
    once, merged = state(tmp_path / "once"), state(tmp_path / "m")
    assert {k: v for k, v in once.items() if k != "report.json"} == {k: v for k, v in merged.items() if k != "report.json"}


def test_a_merge_waiting_for_a_shard_holds_none_listed_before_it_that_sorts_after(tmp_path, monkeypatch):
    """Two merges of the same shards listed in other orders, with --wait, never each hold one the other waits for:
    while one waits for s1 (held, as by the other merge), s2 (listed first) is free for the other to take."""
    for i, sample in ((1, "phone-sync.har"), (2, "phone-sync.flow")):
        assert convert(SAMPLES / sample, "-o", tmp_path / f"s{i}").exit_code == 0
    holder = hold(tmp_path / "s1")
    s2_free = []

    def s1_let_go(seconds: float) -> None:  # the merge waits for s1: is s2 free meanwhile? Then s1 is let go
        if not s2_free:
            try:
                with store.lock(tmp_path / "s2"):
                    s2_free.append(True)
            except store.Busy:
                s2_free.append(False)
            holder.kill()
            holder.wait()
        time.sleep(seconds)

    monkeypatch.setattr(store, "time", SimpleNamespace(monotonic=time.monotonic, sleep=s1_let_go))
    try:
        result = runner.invoke(app, ["merge", str(tmp_path / "s2"), str(tmp_path / "s1"), "-o", str(tmp_path / "m"),
                                     "--wait"])
    finally:
        holder.kill()
        holder.wait()
    assert (result.exit_code, s2_free) == (0, [True]), result.output


def test_a_run_finding_out_locked_names_the_holder_even_while_it_is_taking_the_lock(tmp_path):
    """A second run asks for OUT while the holder is paused after each step of taking the lock (a file locked, a
    file linked in) and once it holds it: OUT is free, or in use by that pid, never by an unknown one. (Before,
    a holder paused between locking OUT's lock file and writing its pid into it was `pid unknown`.)"""
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", PAUSED_HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    answers = []
    try:
        while (said := holder.stdout.readline()) in ("paused\n", "locked\n"):
            try:
                with store.lock(out):
                    answers.append(f"{said.strip()}: free")
            except store.Busy as e:
                answers.append(f"{said.strip()}: {e}")
            holder.stdin.write("go\n")
            holder.stdin.flush()
    finally:
        holder.kill()
        holder.wait()
    in_use = f"{out} is in use by another databack run (pid {holder.pid}); --wait to queue"
    assert answers[-1] == f"locked: {in_use}"
    assert all(answer.endswith((": free", in_use)) for answer in answers), answers


def test_a_lock_file_a_killed_run_left_half_made_is_repaired_and_one_being_made_is_left(tmp_path):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    (out / f"{store.LOCK_MADE}0badf00d").write_text("4242 elsewhere\n")
    being_made = out / f"{store.LOCK_MADE}1234abcd"
    being_made.write_text(f"{os.getpid()}\n")
    fd = os.open(being_made, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the run making it holds it
        with store.lock(out) as held:
            assert held.repaired == f"repaired {out}: removed what a stopped run left (1 temporary file)"
            assert visible(out) == [store.LOCK, being_made.name]
    finally:
        os.close(fd)


def test_where_the_file_system_has_no_hard_links_the_lock_file_is_made_in_place(tmp_path, monkeypatch):
    import errno
    import socket

    def no_hard_links(*args, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "link", no_hard_links)
    out = tmp_path / "out"
    out.mkdir()
    with store.lock(out):
        assert visible(out) == [store.LOCK]
        assert (out / store.LOCK).read_text() == f"{os.getpid()} {socket.gethostname()}\n"


def test_two_merges_each_into_the_other_ones_shard_with_wait_both_finish(tmp_path):
    """Merge A (y into x) and merge B (x into y) at once, with --wait, each holding the first folder it locks until
    the other holds one too or waits for one: they lock x and y in one order, so one waits for the other and both
    finish. (Locking its OUT first, each held its OUT and waited for ever for the other's.)"""
    for name in ("x", "y"):  # (each the run of both files: a merge replaces no run of files its folders lack)
        assert convert(SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", tmp_path / name).exit_code == 0
    sync = tmp_path / "sync"
    sync.mkdir()
    merges = {
        me: subprocess.Popen([sys.executable, "-c", CROSSED_MERGE, str(sync), me, other,
                              "merge", str(tmp_path / shard), "-o", str(tmp_path / out), "--wait", "-j", "1"],
                             stderr=subprocess.PIPE, text=True, cwd=REPO)
        for me, other, shard, out in (("A", "B", "y", "x"), ("B", "A", "x", "y"))
    }
    try:
        ended = {me: merge.communicate(timeout=180) and merge.returncode for me, merge in merges.items()}
    except subprocess.TimeoutExpired:
        pytest.fail(f"the merges wait for each other for ever (sync files: {sorted(visible(sync))})")
    finally:
        for merge in merges.values():
            merge.kill()
            merge.wait()
    assert ended == {"A": 0, "B": 0}
    # each took x in turn: one waited for the other, which never waited
    assert visible(sync) in (["A holds", "A waits", "B holds"], ["A holds", "B holds", "B waits"])


def test_a_merge_waits_for_its_folders_at_most_wait_timeout_in_all(tmp_path, monkeypatch):
    """--wait-timeout bounds the wait for every folder a merge locks together, not for each: with s1 let go at 0.6 s
    and s2 held, the merge gives up at 1 s, not 1.6 (on a clock that moves only as the store sleeps)."""
    for i, sample in ((1, "phone-sync.har"), (2, "phone-sync.flow")):
        assert convert(SAMPLES / sample, "-o", tmp_path / f"s{i}").exit_code == 0
    holders = {name: hold(tmp_path / name) for name in ("s1", "s2")}
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 0.6 and holders["s1"].poll() is None:
            holders["s1"].kill()
            holders["s1"].wait()

    monkeypatch.setattr(store, "time", SimpleNamespace(monotonic=lambda: now[0], sleep=sleep))
    try:
        result = runner.invoke(app, ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "-o", str(tmp_path / "m"),
                                     "--wait-timeout", "1"])
    finally:
        for holder in holders.values():
            holder.kill()
            holder.wait()
    assert result.exit_code == 1, result.output
    s2 = tmp_path / "s2"
    assert f"{s2} is still in use by another databack run (pid {holders['s2'].pid}) after 1 s" in result.output
    assert holders["s1"].returncode is not None and now[0] < 1.01


def test_a_transaction_of_many_files_flushes_them_with_one_syncfs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    flushed = []
    monkeypatch.setattr(store, "_sync_file", flushed.append)
    with store.transaction(out) as tx:
        folder = tx.path("table")
        folder.mkdir()
        for i in range(store.SYNC_ONE_BY_ONE + 1):
            (folder / f"{i}.parquet").write_text(str(i))
    assert flushed == [] and len(list((out / "table").iterdir())) == store.SYNC_ONE_BY_ONE + 1
    monkeypatch.setattr(store, "_syncfs", lambda path: False)  # no syncfs (not Linux): one fsync each
    with store.transaction(out) as tx:
        tx.path("a.txt").write_text("a")
        tx.path("many").mkdir()
        for i in range(store.SYNC_ONE_BY_ONE + 1):
            (tx.path("many") / f"{i}").write_text(str(i))
    assert len(flushed) == store.SYNC_ONE_BY_ONE + 2


def test_an_out_that_another_run_makes_between_the_checks_is_not_taken_for_a_link_to_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    exists = Path.exists

    def made_meanwhile(path: Path, *args, **kwargs) -> bool:  # OUT is missing when looked at, then made at once
        if path == out and not os.path.lexists(out):
            out.mkdir()
            return False
        return exists(path, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", made_meanwhile)
    store.check_place(out)  # no OutError
    assert out.is_dir()


def test_a_symbolic_link_to_nothing_is_no_out(tmp_path):
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone")
    with pytest.raises(store.OutError, match="it is a symbolic link to nothing"):
        store.check_place(out)


def test_out_let_go_after_a_failed_unlock_has_removed_its_work_folder_before_another_run_takes_it(tmp_path,
                                                                                                  monkeypatch):
    rmtree = shutil.rmtree

    def slow_rmtree(path, **kwargs):  # the removal thread still busy when OUT is let go
        time.sleep(0.3)
        rmtree(path, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(store.shutil, "rmtree", slow_rmtree)
    faults.arm(("unlock", 1, "EIO"))
    with store.lock(out) as held:
        work = held.work()
        (work / "part.parquet").write_bytes(b"rows")
        held.work_done()
    assert faults.disarm() == [1]
    assert not work.exists()


def test_a_work_folder_done_with_is_removed_while_the_commit_is_made_and_gone_once_out_is_let_go(tmp_path):
    out = tmp_path / "out"
    with store.lock(out) as held:
        work = held.work()
        (work / "part.parquet").write_bytes(b"rows")
        with held.transaction() as tx:
            tx.path("report.json").write_text("{}")
            held.work_done()
        held.work_done()  # (once is enough)
    assert not work.exists()
    assert (out / "report.json").read_text() == "{}"
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]


def test_a_lock_file_that_is_a_symbolic_link_is_never_written_through(tmp_path):
    """A `.databack.lock` that links elsewhere (in a folder from someone else, given to merge or report) is no lock:
    the run writes nothing through it (the linked file keeps its bytes), says so in one line into OUT, and reads a
    shard holding one as it is."""
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    victim = tmp_path / "notes.txt"
    victim.write_text("a file of the user's\n")
    (out / store.LOCK).symlink_to(victim)
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    assert (result.exit_code, result.output) == (
        1, f"databack: cannot write into {out}: {store.LOCK} is a symbolic link, not databack's lock file (remove it)\n")
    assert victim.read_text() == "a file of the user's\n"
    merged = tmp_path / "merged"
    other = tmp_path / "other"
    assert convert(SAMPLES / "phone-sync.flow", "-o", other).exit_code == 0
    result = runner.invoke(app, ["merge", str(out), str(other), "-o", str(merged), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "a file of the user's\n"
    (out / store.LOCK).unlink()
    assert state(out) == before


DAMAGES = {  # what is wrong with an earlier run's OUT (a disk error, a hand, a databack of another version): the file
    "a table cut short": ("band_events.parquet", lambda out: os.truncate(out / "band_events.parquet", 1000)),
    "a table missing": ("band_events.parquet", lambda out: (out / "band_events.parquet").unlink()),
    "report.json cut short": ("report.json", lambda out: os.truncate(out / "report.json", 100)),
    "report.json of another shape": ("report.json", lambda out: (out / "report.json").write_text('{"tables": []}')),
    "report.json naming a file out of OUT": ("report.json", lambda out: (out / "report.json").write_text(
        (out / "report.json").read_text().replace('"band_events.parquet"', '"../elsewhere/band_events.parquet"'))),
    "copies.parquet cut short": ("copies.parquet", lambda out: os.truncate(out / "copies.parquet", 10)),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("command", ["convert", "merge", "report", "export omh"])
def test_an_earlier_run_that_cannot_be_read_back_is_one_line_naming_its_file_and_out_is_left_as_it_was(
    tmp_path, damage, command
):
    out, other = tmp_path / "out", tmp_path / "other"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", other).exit_code == 0
    file, damaging = DAMAGES[damage]
    if command in ("report", "export omh") and file == "copies.parquet":
        pytest.skip("report and export omh do not read copies.parquet")
    damaging(out)
    refused_as_one_line(tmp_path, command, file)


def refused_as_one_line(tmp_path: Path, command: str, file: str, *convert_args: str) -> str:
    """`command` on tmp_path/out (and tmp_path/other, for merge), whose `file` is damaged: exit 1, one line naming OUT
    and the file (given), OUT unchanged."""
    out, other = tmp_path / "out", tmp_path / "other"
    before = files(out)
    args = {"convert": ["convert", SAMPLES / "phone-sync.flow", "-o", out, "-j", "1", *convert_args],
            "merge": ["merge", out, other, "-o", tmp_path / "merged", "-j", "1"],
            "report": ["report", out],
            "export omh": ["export", "omh", out, "-o", tmp_path / "omh"]}[command]
    result = runner.invoke(app, list(map(str, args)))
    lines = result.output.splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(f"databack: cannot read the run in {out}: {file}: "), result.output
    assert files(out) == before
    return lines[0]


def _pages_damaged(out: Path) -> None:
    """band_events.parquet's data pages scrambled, its footer (schema, row groups) whole."""
    path = out / "band_events.parquet"
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(4, len(data) - footer):
        data[i] = (data[i] * 7 + 13) & 0xFF
    path.write_bytes(bytes(data))


def _csv_row_added(fields: str) -> Callable[[Path], None]:
    def damaging(out: Path) -> None:
        lines = (out / "band_events.csv").read_text().splitlines(keepends=True)
        lines.insert(2, lines[1].rstrip("\n") + ',"x"\n' if fields == "more" else '"a","b"\n')
        (out / "band_events.csv").write_text("".join(lines))
    return damaging


DEEP_DAMAGES = {  # a table whose file opens (a valid footer, a CSV header) but whose rows cannot be read
    "Parquet data pages damaged": ("parquet", "band_events.parquet", _pages_damaged),
    "a CSV row of more fields": ("csv", "band_events.csv", _csv_row_added("more")),
    "a CSV row of fewer fields": ("csv", "band_events.csv", _csv_row_added("fewer")),
}


@pytest.mark.parametrize("damage", list(DEEP_DAMAGES))
@pytest.mark.parametrize("command", ["convert", "merge", "report", "export omh"])
def test_a_table_damaged_deep_inside_is_one_line_naming_its_file_and_out_is_left_as_it_was(tmp_path, damage, command):
    fmt, file, damaging = DEEP_DAMAGES[damage]
    out, other = tmp_path / "out", tmp_path / "other"
    assert convert(SAMPLES / "phone-sync.har", "-o", out, "--format", fmt).exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", other, "--format", fmt).exit_code == 0
    damaging(out)
    line = refused_as_one_line(tmp_path, command, file, "--format", fmt)
    assert line.endswith("; the file is damaged: put back a copy of it, or convert the captures again into a new "
                         "folder"), line  # what to do


@pytest.mark.parametrize("command", ["convert", "merge"])
def test_a_generic_table_damaged_deep_inside_is_one_line_naming_its_file_and_out_is_left_as_it_was(tmp_path, command):
    # convert (adding to OUT, with --generic or without) and merge read an earlier run's generic tables too: one
    # whose data pages were damaged gave polars' ComputeError as a traceback, naming no file
    out, other = tmp_path / "out", tmp_path / "other"
    capture = write_har(tmp_path / "api.har", [entry("https://api.example.org/v1/sleep/2024-03-02.json",
                                                     {"sleep": [{"minutes": m, "stage": "deep"} for m in range(300)]})])
    assert convert(capture, "-o", out, "--generic", "api.example.org").exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", other).exit_code == 0
    (table,) = [p for p in out.glob("generic__*sleep.parquet")]
    data = bytearray(table.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(4, len(data) - footer):  # its data pages scrambled, its footer (schema, row groups) whole
        data[i] = (data[i] * 7 + 13) & 0xFF
    table.write_bytes(bytes(data))
    line = refused_as_one_line(tmp_path, command, table.name)
    assert line.endswith("; the file is damaged: put back a copy of it, or convert the captures again into a new "
                         "folder"), line  # what to do


def test_a_generic_tables_description_damaged_in_datapackage_json_is_one_line_naming_datapackage_json(tmp_path):
    # a field of a type no databack writes was 'GENERIC_TABLE.parquet: not a report this version of databack reads':
    # the table's file named, which is whole, for the description of it that is not
    out = tmp_path / "out"
    capture = write_har(tmp_path / "api.har", [entry("https://api.example.org/v1/sleep.json", {"minutes": 300})])
    assert convert(capture, "-o", out, "--generic", "api.example.org").exit_code == 0
    package = json.loads((out / "datapackage.json").read_bytes())
    (generic,) = [r for r in package["resources"] if r["name"].startswith("generic__")]
    generic["schema"]["fields"][0]["type"] = "a type of no databack's"
    (out / "datapackage.json").write_text(json.dumps(package))
    refused_as_one_line(tmp_path, "convert", "datapackage.json")


@pytest.mark.parametrize("command", ["merge", "convert"])
def test_a_failed_run_into_a_new_out_leaves_no_folder_and_one_into_an_existing_empty_folder_leaves_it(
    tmp_path, command
):
    shard = tmp_path / "shard"
    assert convert(SAMPLES / "phone-sync.har", "-o", shard).exit_code == 0
    (shard / "report.json").write_text('{"tables": []}')  # a merge of it fails
    given = tmp_path / "given"
    given.mkdir()
    for out in (tmp_path / "new", given):
        args = {"merge": ["merge", shard, "-o", out, "-j", "1"],
                "convert": ["convert", SAMPLES / "phone-sync.har", "-o", out, "-j", "1"]}[command]
        if command == "convert":  # a full disk as the tables are written
            from outs import child_command

            result = subprocess.run(child_command([("stage", 1, "ENOSPC")], *args), capture_output=True, text=True)
            assert result.returncode == 1, result.stderr
        else:
            result = runner.invoke(app, list(map(str, args)))
            assert result.exit_code == 1, result.output
    assert not (tmp_path / "new").exists()
    assert given.is_dir() and list(given.iterdir()) == []


@pytest.mark.parametrize("command", ["convert", "merge"])
def test_a_run_into_a_new_out_that_cannot_take_its_lock_leaves_no_folder(tmp_path, monkeypatch, command):
    # a full disk as the lock file was written (its holder's line) left the OUT the run had made, empty, behind
    assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "shard").exit_code == 0
    out, real = tmp_path / "new", store._write_all

    def full(fd, data):  # (the lock file being made in OUT: no room for its holder's line)
        written = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if written.parent == out and written.name.startswith(store.LOCK_MADE):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(store, "_write_all", full)
    args = {"merge": ["merge", tmp_path / "shard", "-o", out, "-j", "1"],
            "convert": ["convert", SAMPLES / "phone-sync.har", "-o", out, "-j", "1"]}[command]
    result = runner.invoke(app, list(map(str, args)))
    assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: No space left on device\n")
    assert not out.exists()


KILLED_AT_THE_LAST_RENAME = """
import os, signal, sys
real, target = os.replace, sys.argv[1]
def replace(src, dst, *args, **kwargs):  # killed (SIGKILL) with its file written, just before it takes its name
    if str(dst) == target:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.replace = replace
sys.argv = ["databack", *sys.argv[2:]]
from converters.cli import main
main()
"""


@pytest.mark.parametrize("command", ["report -o FILE", "scrub", "scrub an archive"])
def test_what_a_killed_report_or_scrub_left_is_removed_by_the_next_and_nothing_else(tmp_path, monkeypatch, command):
    import tempfile
    import zipfile

    out, folder, scratch = tmp_path / "out", tmp_path / "folder", tmp_path / "tmp"
    folder.mkdir()
    scratch.mkdir()
    if command == "report -o FILE":
        assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
        target = folder / "page.html"
        args = ["report", out, "-o", target]
    elif command == "scrub":
        target = folder / "copy.har"
        args = ["scrub", SAMPLES / "phone-sync.har", "-o", target]
    else:
        with zipfile.ZipFile(tmp_path / "study.zip", "w") as z:
            z.write(SAMPLES / "phone-sync.har", "p07/phone-sync.har")
        target = folder / "copy.zip"
        args = ["scrub", tmp_path / "study.zip", "-o", target]
    (folder / f".{target.name}.20240101.tmp").write_text("the user's")  # hidden, of a like shape: theirs
    (scratch / "databack-notes").mkdir()
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_THE_LAST_RENAME, str(target), *map(str, args)],
                            capture_output=True, text=True, env=os.environ | {"TMPDIR": str(scratch)})
    assert killed.returncode == -9, killed.stderr
    assert len(list(folder.iterdir())) == 2  # what it left: the file written in full, beside its name
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted([target.name, f".{target.name}.20240101.tmp"])
    assert sorted(p.name for p in scratch.iterdir()) == ["databack-notes"]


@pytest.mark.parametrize("linked", ["band_events.parquet", "copies.parquet", "a partitioned table's file"])
@pytest.mark.parametrize("command", ["convert", "merge", "report", "export omh", "load"])
def test_a_table_file_that_is_a_symbolic_link_is_never_read_from_where_it_leads(tmp_path, command, linked):
    from converters import load

    out, other, elsewhere = tmp_path / "out", tmp_path / "other", tmp_path / "elsewhere"
    layout = ["--partition-by", "participant_id"] if linked.startswith("a partitioned") else []
    assert convert(SAMPLES / "phone-sync.har", "-o", out, *layout).exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", other).exit_code == 0
    if command in ("report", "export omh", "load") and linked == "copies.parquet":
        pytest.skip("report, export omh and load do not read copies.parquet")
    if linked.startswith("a partitioned"):
        (file,) = [p for p in (out / "band_events").rglob("*.parquet")]
        shown = "band_events"
    else:
        file, shown = out / linked, linked
    elsewhere.mkdir()
    file.rename(elsewhere / file.name)  # a file of the user's, the same rows or not, that a link in OUT names
    file.symlink_to(elsewhere / file.name)
    args = {"convert": ["convert", SAMPLES / "phone-sync.flow", "-o", out, "-j", "1", *layout],
            "merge": ["merge", out, other, "-o", tmp_path / "merged", "-j", "1"],
            "report": ["report", out],
            "export omh": ["export", "omh", out, "-o", tmp_path / "omh"]}
    message = f"cannot read the run in {out}: {shown}: "
    if command == "load":
        with pytest.raises(store.OutError, match=re.escape(message) + ".*symbolic link"):
            load(out)
        return
    result = runner.invoke(app, list(map(str, args[command])))
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"databack: {message}") and "symbolic link" in result.output, result.output


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("step", ["stage", "apply"])
def test_ctrl_c_while_report_writes_its_page_into_out_says_what_out_holds_and_leaves_nothing_behind(tmp_path, step):
    """Before the commit: OUT as it was, the page staged removed at once (not left for the next run); during it
    (which Ctrl-C waits for): the new page, said so."""
    from outs import child_command

    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    (out / "report.html").write_text("an earlier page")
    before = state(out)
    run = subprocess.run(child_command([(step, 1, "interrupt")], "report", out), capture_output=True, text=True)
    assert run.returncode == 130, run.stderr
    if step == "stage":
        assert run.stderr == f"databack: interrupted; {out / 'report.html'} was left as it was\n"
        assert state(out) == before
    else:
        assert run.stderr == f"databack: interrupted; {out / 'report.html'} holds the new page\n"
        assert state(out).keys() == before.keys()
        assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("linked", ["staging folder", "old versions' folder"])
def test_a_journal_whose_staging_is_reached_through_a_symbolic_link_moves_nothing_in_or_out(tmp_path, linked):
    """A journal planted in a folder another gave (a shard to merge, an OUT to report or export), its staging folder
    a link to a folder of the user's: the repair moves no file of that folder into OUT, nor any of OUT's out to it;
    the journal is dropped, as one it cannot read."""
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    home = tmp_path / "home"
    home.mkdir()
    (home / "band_events.parquet").write_text("the user's")
    if linked == "staging folder":
        (out / ".databack-staging-x").symlink_to(home)
    else:
        (out / ".databack-staging-x").mkdir()
        (out / ".databack-staging-x" / store.OLD).symlink_to(home)
        (out / ".databack-staging-x" / "band_events.parquet").write_text("staged")
    (out / store.JOURNAL).write_text('{"staging": ".databack-staging-x", "changes": [["replace", '
                                     '"band_events.parquet"], ["remove", "report.json"]]}')
    result = runner.invoke(app, ["export", "omh", str(out), "-o", str(tmp_path / "omh")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in home.iterdir()) == ["band_events.parquet"]
    assert (home / "band_events.parquet").read_text() == "the user's"
    assert state(out) == before


WRITES_INTO_OUT = {  # a command writing a file of its own where it would replace, or sit inside, an entry of OUT
    "report -o a table's file": (lambda out, tmp: ["report", out, "-o", out / "band_events.parquet"], "page"),
    "report -o report.json": (lambda out, tmp: ["report", out, "-o", out / "report.json"], "page"),
    "report --figures in a table's folder": (
        lambda out, tmp: ["report", out, "-o", tmp / "page.html", "--figures", out / "band_minutes"], "figures"),
    "scrub -o report.json": (lambda out, tmp: ["scrub", SAMPLES / "phone-sync.har", "-o", out / "report.json"], "copy"),
    "scrub -o a table's folder/": (
        lambda out, tmp: ["scrub", SAMPLES / "phone-sync.har", "-o", f"{out / 'band_events'}/"], "copy"),
    "export omh -o a table's folder": (lambda out, tmp: ["export", "omh", out, "-o", out / "band_events"], "export"),
    "convert -o a table's folder": (
        lambda out, tmp: ["convert", SAMPLES / "phone-sync.flow", "-o", out / "band_events" / "more"], "convert"),
    "merge -o a folder through a link": (lambda out, tmp: ["merge", tmp / "s", "-o", tmp / "link" / "band_events"],
                                         "convert"),
    "export omh -o a link to a table's folder": (lambda out, tmp: ["export", "omh", out, "-o", tmp / "events"],
                                                 "export"),
}


@pytest.mark.parametrize("case", list(WRITES_INTO_OUT))
def test_a_file_of_another_command_is_never_written_over_or_into_outs_own_files(tmp_path, case):
    # OUT's tables, report.json and partitioned folders change only through its store: a page, scrubbed copy, export
    # or another run written there replaced a table or report.json (no lock, no commit: OUT unreadable), or sat inside
    # a table's folder (read as part of the table, or removed with it by OUT's next run)
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out, "--partition-by", "participant_id").exit_code == 0
    assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "s").exit_code == 0
    (tmp_path / "link").symlink_to(out)
    (tmp_path / "events").symlink_to(out / "band_events")
    args, what = WRITES_INTO_OUT[case]
    before = state(out)
    result = runner.invoke(app, list(map(str, args(out, tmp_path))))
    lines = result.output.splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("databack: cannot ") and f"of the databack output folder {out}" in lines[0], lines
    assert state(out) == before
    assert_consistent(out)
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0  # (readable)


@pytest.mark.parametrize("target", ["report.html", "notes.html"])
def test_report_o_outs_own_page_or_a_file_of_the_users_beside_the_tables_is_written(tmp_path, target):
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = {k: v for k, v in state(out).items()}
    result = runner.invoke(app, ["report", str(out), "-o", str(out / target)])
    assert result.exit_code == 0, result.output
    assert (out / target).read_text().startswith("<!DOCTYPE html>")
    assert {k: v for k, v in state(out).items() if k != target} == before
    assert_consistent(out)


@pytest.mark.parametrize("command", ["convert", "merge", "report", "export omh", "load"])
@pytest.mark.parametrize("planted", ["macOS's ._ file", "a notebook's checkpoint copy"])
def test_hidden_files_a_tool_leaves_in_a_partitioned_tables_folder_are_not_read_as_its_rows(tmp_path, command, planted):
    # macOS writes ._<name> beside every file it copies onto a shared or external drive, Jupyter keeps copies in
    # .ipynb_checkpoints: pyarrow (pandas) reads a dataset without them, but databack read every *.parquet below the
    # folder: the ._ file failed every command on OUT ('cannot read the run … File out of specification'), the copy
    # was read as rows of the table ('holds 184 rows where report.json counts 92')
    from converters import load

    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out, "--partition-by", "participant_id,day").exit_code == 0
    first = sorted((out / "band_minutes").rglob("*.parquet"))[0]
    if planted == "macOS's ._ file":
        (first.parent / f"._{first.name}").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    else:
        (out / "band_minutes" / ".ipynb_checkpoints").mkdir()
        shutil.copy(first, out / "band_minutes" / ".ipynb_checkpoints" / first.name)
    rows = json.loads((out / "report.json").read_bytes())["tables"]["band_minutes"]["rows"]
    if command == "load":
        assert load(out)["band_minutes"].height == rows
        return
    args = {"convert": ["convert", SAMPLES / "phone-sync.flow", "-o", out, "--partition-by", "participant_id,day"],
            "merge": ["merge", out, "-o", tmp_path / "merged"], "report": ["report", out],
            "export omh": ["export", "omh", out, "-o", tmp_path / "omh"]}[command]
    result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    if command == "merge":
        assert json.loads((tmp_path / "merged" / "report.json").read_bytes())["tables"]["band_minutes"]["rows"] == rows


def test_a_participant_id_too_long_for_a_folders_name_is_no_partition_level_and_the_run_writes(tmp_path):
    # a folder's name holds 255 bytes: participant_id=<the id percent-encoded>, 6 bytes for each Greek letter, failed
    # the whole run ('cannot write into OUT: File name too long'), nothing written
    import pandas as pd

    out, who = tmp_path / "out", "Ελένη Παπαδοπούλου-Καραγιαννοπούλου (κέντρο Θεσσαλονίκης)"
    args = ["--partition-by", "participant_id,night", "--participant", who]
    result = convert(SAMPLES / "phone-sync.har", "-o", out, *args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name.split("=")[0] for p in (out / "sense_nights").iterdir()) == ["night"] * 3
    package = {r["name"]: r for r in json.loads((out / "datapackage.json").read_bytes())["resources"]}
    assert package["sense_nights"]["partitions"] == ["night"]
    assert set(pd.read_parquet(out / "sense_nights")["participant_id"]) == {who}
    assert convert(SAMPLES / "phone-sync.flow", "-o", out, *args).exit_code == 0  # added to
    assert_consistent(out)
    assert set(pd.read_parquet(out / "band_events")["participant_id"]) == {who}
    short = tmp_path / "short"  # an id that fits is a level as before
    assert convert(SAMPLES / "phone-sync.har", "-o", short, "--partition-by", "participant_id", "--participant",
                   "Ελένη").exit_code == 0
    assert [p.name for p in (short / "sense_nights").iterdir()] == ["participant_id=%CE%95%CE%BB%CE%AD%CE%BD%CE%B7"]


@pytest.mark.parametrize("first", ["into a new OUT", "adding to OUT"])
def test_a_users_folder_named_like_a_table_is_never_removed_nor_replaced(tmp_path, first):
    # a folder of the user's own in OUT named as a table's dataset folder (rejects/, sleep_nights/) was removed with
    # its files at the commit, as a partitioned table of an earlier run no longer written, or replaced by the table;
    # a file of theirs named as a table's in the other format (rejects.csv beside Parquet tables) was removed too
    out = tmp_path / "out"
    if first == "adding to OUT":
        assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    for folder, file in (("rejects", "why-p07-was-excluded.txt"), ("sleep_nights", "diary.docx")):
        (out / folder).mkdir(parents=True)
        (out / folder / file).write_text("the user's")
    (out / "rejects.csv").write_text("participant,why\np07,withdrew\n")  # a list of their own, beside Parquet tables
    theirs = {p: p.read_bytes() for p in out.rglob("*") if p.suffix in (".txt", ".docx", ".csv")}
    assert convert(SAMPLES / "phone-sync.flow", "-o", out).exit_code == 0  # as files: no table goes there
    assert {p: p.read_bytes() for p in out.rglob("*") if p.suffix in (".txt", ".docx", ".csv")} == theirs
    (out / "rejects.csv").unlink()
    before = state(out)
    result = convert(SAMPLES / "phone-sync.flow", "-o", out, "--partition-by", "night", "--force")
    assert result.exit_code == 1 and result.output.splitlines()[-1] == (
        f"databack: cannot write into {out}: it holds a folder rejects that no databack run wrote (report.json lists "
        f"no such table folder): move it out of {out}, where the table rejects is written"), result.output
    assert state(out) == before
    shutil.rmtree(out / "rejects")
    shutil.rmtree(out / "sleep_nights")
    assert convert(SAMPLES / "phone-sync.flow", "-o", out, "--partition-by", "night").exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", out, "--force").exit_code == 0  # its own folders: replaced
    assert not (out / "rejects").exists() and (out / "rejects.parquet").is_file()
    assert_consistent(out)


USERS_TABLE_NAMED = {  # where OUT is, what of the user's is there, the options of the run that would write over it
    "a file as the table's, in a folder no run wrote": ("new", "band_events.parquet", "file", ()),
    "a file as the table's in the format asked for": ("har", "rejects.csv", "file", ("--format", "csv", "--force")),
    "a folder named as the table's file": ("new", "band_events.parquet", "folder", ()),
    "a file named as the table's dataset folder": ("har", "sleep_nights", "file", ("--partition-by", "night")),
}


@pytest.mark.parametrize("case", list(USERS_TABLE_NAMED))
def test_a_users_file_named_as_the_table_a_run_writes_is_never_replaced(tmp_path, case):
    # a file of the user's named as the table the run writes (their own band_events.parquet in a folder no run
    # wrote, their rejects.csv beside Parquet tables when the run writes CSV) was replaced by the table, and a folder
    # of theirs named band_events.parquet (or a file named sleep_nights, where a partitioned run writes its folder)
    # moved aside and removed with its files, without a word
    out = tmp_path / "out"
    first, name, kind, options = USERS_TABLE_NAMED[case]
    if first == "har":
        assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    else:
        out.mkdir()
    if kind == "folder":
        (out / name).mkdir()
        (out / name / "notes.txt").write_text("the user's")
    else:
        (out / name).write_text("the user's")
    before = state(out)
    result = convert(SAMPLES / "phone-sync.flow", "-o", out, *options)
    table = name.removesuffix(".parquet").removesuffix(".csv")
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        1, f"databack: cannot write into {out}: it holds a {kind} {name} that no databack run wrote (report.json "
           f"lists no such table {kind}): move it out of {out}, where the table {table} is written"), result.output
    assert state(out) == before
    _remove(out / name)
    assert convert(SAMPLES / "phone-sync.flow", "-o", out, *options).exit_code == 0
    assert_consistent(out)


def test_a_users_file_named_as_a_tables_folder_is_never_removed_by_a_run_writing_files(tmp_path):
    # a file of the user's named as a table's dataset folder, without an extension (notes saved as 'rejects', say),
    # was removed by the next run as an earlier run's partitioned table that it writes as a file
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    for name in ("rejects", "sleep_nights"):
        (out / name).write_text("the user's")
    assert convert(SAMPLES / "phone-sync.flow", "-o", out).exit_code == 0
    assert [(out / name).read_text() for name in ("rejects", "sleep_nights")] == ["the user's"] * 2
    assert (out / "rejects.parquet").is_file()


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize("error", ["ENOLCK", "EOPNOTSUPP", "ENOSYS"])
@pytest.mark.parametrize("given", ["a new OUT", "an OUT with a lock file"])
def test_an_out_whose_file_system_cannot_lock_files_is_one_line_and_left_as_it_was(tmp_path, monkeypatch, error,
                                                                                   given):
    # on a file system that takes no locks (NFS mounted with nolock: ENOLCK; some FUSE and SMB mounts: not
    # supported), a run ended in a traceback (OSError: Operation not supported), the new OUT left holding a lock file
    import fcntl

    out = tmp_path / "out"
    if given != "a new OUT":
        assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
        (out / store.LOCK).write_text("")  # (a killed run's)
    before = state(out) if out.exists() else None
    real, code = fcntl.flock, getattr(errno, error)

    def flock(fd, operation):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(out / store.LOCK)):
            raise OSError(code, os.strerror(code))
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    assert (result.exit_code, result.output) == (
        1, f"databack: cannot write into {out}: its file system cannot lock files ({os.strerror(code)}), so nothing "
           "would keep two runs from writing it at once: put OUT on one that can (a local disk, NFS with locking)\n")
    assert (state(out) if out.exists() else None) == before


@pytest.mark.parametrize("made", ["a folder", "a named pipe"])
def test_a_lock_file_that_is_no_file_is_one_line_naming_it(tmp_path, made):
    # 'cannot write into OUT: Is a directory' named nothing; a named pipe was 'Invalid argument' (its truncation)
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    os.mkdir(out / store.LOCK) if made == "a folder" else os.mkfifo(out / store.LOCK)
    before = state(out.parent)  # (the pipe and folder are no files: left out)
    for args in (["convert", SAMPLES / "phone-sync.flow", "-o", out], ["report", out]):
        result = runner.invoke(app, list(map(str, args)))
        assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: .databack.lock is not a "
                                                        "file, not databack's lock file (remove it)\n")
    assert state(out.parent) == before


def test_a_lock_file_another_users_killed_run_left_is_replaced_and_one_a_run_holds_names_it(tmp_path, monkeypatch):
    # in a folder a study team shares, a killed run's lock file is its user's (rw-r--r--): another member's run could
    # not open it to write (O_RDWR) and stopped, 'cannot write into OUT: Permission denied', for as long as it stayed,
    # though no run held it. flock needs no write access: a lock file no run holds is removed and made anew
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    lock = out / store.LOCK
    opened = os.open

    def as_another_user(path, flags, *args, **kwargs):  # (the tests run as root, whom no permission stops)
        if Path(path) == lock and lock.exists() and flags & (os.O_WRONLY | os.O_RDWR) and not flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, *args, **kwargs)

    holder = hold(out)
    try:
        monkeypatch.setattr(os, "open", as_another_user)
        result = convert(SAMPLES / "phone-sync.flow", "-o", out)
        assert (result.exit_code, result.output) == (
            1, f"databack: {out} is in use by another databack run (pid {holder.pid}); --wait to queue\n")
    finally:
        holder.kill()
        holder.wait()
    assert lock.exists()  # left by the killed holder: its user's
    result = convert(SAMPLES / "phone-sync.flow", "-o", out)
    assert result.exit_code == 0, result.output
    assert not lock.exists()
    assert_consistent(out)


def test_participant_ids_that_differ_only_in_case_are_no_partition_level(tmp_path):
    # participant_id=P07 and participant_id=p07 are one folder where names ignore case (macOS's APFS and Windows' NTFS
    # by default): the second participant's 00000000.parquet was written over the first's, its rows lost
    from converters import load

    out = tmp_path / "out"
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event("42"))])
    map_csv = tmp_path / "map.csv"
    (tmp_path / "P07").mkdir(), (tmp_path / "p07").mkdir()
    shutil.copy(har, tmp_path / "P07" / "c.har")
    shutil.copy(write_har(tmp_path / "d.har", [entry(BAND_EVENTS_URL, band_event("43"))]), tmp_path / "p07" / "d.har")
    map_csv.write_text("pattern,participant_id\nP07/*,P07\np07/*,p07\n")
    result = convert(tmp_path / "P07", tmp_path / "p07", "-o", out, "--participants", map_csv,
                     "--partition-by", "participant_id,day")
    assert result.exit_code == 0, result.output
    assert not any(p.name.startswith("participant_id=") for p in (out / "band_events").iterdir())
    assert sorted(load(out)["band_events"]["participant_id"]) == ["P07", "p07"]


def test_a_line_break_in_outs_path_leaves_each_message_one_line(tmp_path):
    # cli printed each part of a message between line breaks as a line of its own: an OUT named 'a\nb/out' split
    # 'cannot write into a' from 'b/out: its parent folder a' and 'b does not exist', and the summary's '-> a'
    folder = tmp_path / "a\nb"
    result = convert(SAMPLES / "phone-sync.har", "-o", folder / "out")
    assert (result.exit_code, result.output) == (
        2, f"databack: cannot write into {tmp_path}/a\\nb/out: its parent folder {tmp_path}/a\\nb does not exist\n")
    folder.mkdir()
    result = convert(SAMPLES / "phone-sync.har", "-o", folder / "out")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith(f"-> {tmp_path}/a\\nb/out")
    holder = hold(folder / "out")
    try:
        result = convert(SAMPLES / "phone-sync.flow", "-o", folder / "out")
    finally:
        holder.kill()
        holder.wait()
    assert (result.exit_code, result.output) == (
        1, f"databack: {tmp_path}/a\\nb/out is in use by another databack run (pid {holder.pid}); --wait to queue\n")


@pytest.mark.parametrize("layout", ["files", "folders"])
def test_load_while_a_run_commits_reads_one_run_never_tables_of_two(tmp_path, monkeypatch, layout):
    # load() takes no lock: a run committing while it read its tables one by one (a few seconds for big ones) gave
    # the tables read before the commit as the run before wrote them and those read after as the new run did,
    # with datapackage.json's types of the run before, without a word
    from converters import api, convert, load

    out = tmp_path / "out"
    partition_by = ["participant_id"] if layout == "folders" else []
    convert(SAMPLES / "phone-sync.har", out, participant_id="p1", jobs=1, partition_by=partition_by)
    before = {name: frame.height for name, frame in load(out).items()}
    scan_table, read = api.writers.scan_table, []

    def another_run_commits_after_the_first_table(*args, **kwargs):
        read.append(args[0])
        if len(read) == 2:
            convert(SAMPLES / "phone-sync.flow", out, participant_id="p2", jobs=1, partition_by=partition_by)
        return scan_table(*args, **kwargs)

    monkeypatch.setattr(api.writers, "scan_table", another_run_commits_after_the_first_table)
    seen = {name: frame.height for name, frame in load(out).items()}
    monkeypatch.undo()
    after = {name: frame.height for name, frame in load(out).items()}
    assert before != after
    assert seen == after


@pytest.mark.parametrize("layout", ["files", "folders"])
def test_a_lazyframe_load_gave_is_one_error_once_a_run_has_committed_never_another_runs_rows(tmp_path, layout):
    # a LazyFrame reads its files when collected: after a run committed into OUT, one of a table in a file read
    # that run's table beside the DataFrames of the run before, and one of a partitioned table the files then at the
    # paths listed before (p1's of the new run, p2's left out: 3 of its 5 events), without a word
    from converters import convert, load

    out = tmp_path / "out"
    partition_by = ["participant_id"] if layout == "folders" else []
    convert(SAMPLES / "phone-sync.har", out, participant_id="p1", jobs=1, partition_by=partition_by)
    tables = load(out, lazy=True)
    assert tables["band_events"].filter(pl.col("event_id").is_not_null()).select("event_id").collect().height == 3
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0  # a commit that changes no table
    assert tables["band_events"].collect().height == 3
    convert(SAMPLES / "phone-sync.flow", out, participant_id="p2", jobs=1, partition_by=partition_by)
    file = "band_events" if partition_by else "band_events.parquet"
    with pytest.raises(store.OutError) as changed:
        tables["band_events"].collect()
    assert str(changed.value) == f"cannot read the run in {out}: {file}: a run has committed into it since load() " \
                                 "read it: load it again"
    assert load(out, lazy=True)["band_events"].collect().height == 5


def test_a_merge_into_an_out_holding_a_run_of_other_files_stops_and_one_of_the_same_files_replaces_it(tmp_path):
    # merge replaced OUT's run with the folders merged: 'databack merge week2-shards/* -o results' over the results
    # of week 1 (or an OUT that convert wrote) left week 2's rows alone, week 1's lost without a word
    for name, sample in (("s1", "phone-sync.har"), ("s2", "phone-sync.flow")):
        assert convert(SAMPLES / sample, "-o", tmp_path / name).exit_code == 0
    out = tmp_path / "out"
    assert runner.invoke(app, ["merge", str(tmp_path / "s1"), "-o", str(out)]).exit_code == 0
    before = state(out)
    result = runner.invoke(app, ["merge", str(tmp_path / "s2"), "-o", str(out)])
    assert (result.exit_code, result.output) == (
        2, f"databack: cannot merge into {out}: it holds the run of 1 file that no folder merged holds "
           f"({SAMPLES / 'phone-sync.har'}), whose rows the merge would replace: merge it in too, into another folder, "
           "or remove it first\n")
    assert state(out) == before
    # the same merge made again, or with a new shard beside those merged before, replaces it
    for _ in range(2):
        result = runner.invoke(app, ["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert sorted(f["file"] for f in json.loads((out / "report.json").read_bytes())["files"]) == [
            str(SAMPLES / "phone-sync.flow"), str(SAMPLES / "phone-sync.har")]


def _written_by_a_newer_databack(out: Path) -> None:
    """OUT as a newer databack might leave it: a table and a column this version does not know."""
    report = json.loads((out / "report.json").read_bytes())
    report["databack_version"] = "0.2.0"
    report["tables"]["band_future"] = {"rows": 3, "duplicates": 0, "conflicts": 0, "file": "band_future.parquet"}
    events = pl.read_parquet(out / "band_events.parquet")
    events.write_parquet(out / "band_future.parquet")
    events.with_columns(pl.lit(7).alias("a_new_column")).write_parquet(out / "band_events.parquet")
    (out / "report.json").write_text(json.dumps(report))


@pytest.mark.parametrize("command", ["convert", "convert --force", "merge", "report", "export omh", "load"])
def test_an_out_a_newer_databack_wrote_is_one_line_saying_so_and_left_as_it_was(tmp_path, command):
    # nothing looked at the version that wrote OUT: a run adding to a newer databack's OUT left out of its report,
    # datapackage and merged tables the table and columns it did not know (their rows no longer listed, a column
    # gone), and report, export omh and load read what they knew of it, without a word
    from converters import load

    out, other = tmp_path / "out", tmp_path / "other"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    assert convert(SAMPLES / "phone-sync.flow", "-o", other).exit_code == 0
    _written_by_a_newer_databack(out)
    newer = "report.json: written by databack 0.2.0, newer than this one (0.1.0), whose tables and columns this " \
            "version may not know: read it with that version or a newer one"
    if command == "load":
        before = files(out)
        with pytest.raises(store.OutError) as refused:
            load(out)
        assert str(refused.value) == f"cannot read the run in {out}: {newer}"
        assert files(out) == before
        return
    name, _, option = command.partition(" --")
    refused_as_one_line(tmp_path, name, "report.json", *([f"--{option}"] if option else []))
    assert runner.invoke(app, ["convert", str(SAMPLES / "phone-sync.flow"), "-o", str(out)]).output == \
        f"databack: cannot read the run in {out}: {newer}\n"


@pytest.mark.parametrize("command", ["convert", "merge"])
@pytest.mark.parametrize("name", ["datapackage.json", "report.html", "copies.parquet"])
def test_a_users_file_named_as_outs_index_in_a_folder_no_run_wrote_is_never_replaced_nor_removed(tmp_path, name,
                                                                                                  command):
    # a run into a folder of the user's (no report.json) wrote its datapackage.json and copies.parquet over theirs
    # (a Frictionless package of their study's, say) and removed their report.html as a stale page, without a word
    out = tmp_path / "study"
    out.mkdir()
    (out / name).write_text("the user's own\n")
    (out / "notes.txt").write_text("notes\n")
    before = files(out)
    if command == "convert":
        result = convert(SAMPLES / "phone-sync.har", "-o", out)
    else:
        assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "s1").exit_code == 0
        result = runner.invoke(app, ["merge", str(tmp_path / "s1"), "-o", str(out), "-j", "1"])
    assert (result.exit_code, result.output) == (
        1, f"databack: cannot write into {out}: it holds {name}, which no databack run wrote (there is no "
           f"report.json): move it out of {out}, where databack writes its own\n")
    assert files(out) == before
    (out / name).unlink()
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    assert (out / "notes.txt").read_text() == "notes\n"


@pytest.mark.parametrize("command", ["convert", "merge", "convert()"])
def test_a_users_index_file_in_a_folder_no_run_wrote_is_refused_before_the_work(tmp_path, monkeypatch, command):
    # the refusal came at the commit only, after every capture was converted (hours, for an archive)
    from converters import api, pipeline

    out = tmp_path / "study"
    out.mkdir()
    (out / "datapackage.json").write_text("the user's own\n")
    assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "s1").exit_code == 0
    worked = []
    for name in ("convert_files", "merge"):
        monkeypatch.setattr(pipeline, name, lambda *a, **k: worked.append(name) or 1 / 0)
    line = f"cannot write into {out}: it holds datapackage.json, which no databack run wrote (there is no " \
           f"report.json): move it out of {out}, where databack writes its own"
    if command == "convert()":
        with pytest.raises(store.OutError, match=re.escape(line)):
            api.convert(SAMPLES / "phone-sync.har", out, jobs=1)
    else:
        args = ["convert", SAMPLES / "phone-sync.har"] if command == "convert" else ["merge", tmp_path / "s1"]
        result = runner.invoke(app, [*map(str, args), "-o", str(out), "-j", "1"])
        assert (result.exit_code, result.output) == (1, f"databack: {line}\n")
    assert worked == []
    assert sorted(p.name for p in out.iterdir()) == ["datapackage.json"]


def test_a_merge_into_an_out_a_newer_databack_wrote_is_one_line_and_leaves_it_as_it_was(tmp_path):
    # merge replaced a newer databack's OUT holding the same files with what this version knows of them, the tables
    # it did not know left behind as files no report.json lists, without a word
    assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "s1").exit_code == 0
    out = tmp_path / "out"
    assert runner.invoke(app, ["merge", str(tmp_path / "s1"), "-o", str(out)]).exit_code == 0
    _written_by_a_newer_databack(out)
    before = files(out)
    result = runner.invoke(app, ["merge", str(tmp_path / "s1"), "-o", str(out), "-j", "1"])
    assert (result.exit_code, result.output) == (
        1, f"databack: cannot read the run in {out}: report.json: written by databack 0.2.0, newer than this one "
           "(0.1.0), whose tables and columns this version may not know: read it with that version or a newer one\n")
    assert files(out) == before


@pytest.mark.parametrize("command", ["report", "report -o FILE", "export omh", "merge"])
def test_a_command_that_repairs_a_folder_it_reads_says_so_in_one_line(tmp_path, command):
    # report, export omh and merge (of the folders it reads) finished a killed run's commit or removed its leftovers
    # without a word, where convert said so: the page or export drawn from tables a stopped run put in place, unsaid
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    (out / f"{store.STAGING_PREFIX}abcdefgh").mkdir()  # what a run killed before its commit point leaves
    (out / f"{store.STAGING_PREFIX}abcdefgh" / "band_events.parquet").write_bytes(b"PAR1")
    args = {"report": ["report", out], "report -o FILE": ["report", out, "-o", tmp_path / "page.html"],
            "export omh": ["export", "omh", out, "-o", tmp_path / "omh"],
            "merge": ["merge", out, "-o", tmp_path / "merged", "-j", "1"]}[command]
    result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"databack: repaired {out}: removed what a stopped run left (1 staging folder)"
    assert not any(p.name.startswith(store.STAGING_PREFIX) for p in out.iterdir())


@pytest.mark.parametrize("command", ["convert", "convert adding", "merge", "report", "export omh", "load"])
def test_an_out_whose_path_is_not_utf8_is_one_line_saying_so(tmp_path, command):
    # polars takes no path that is not UTF-8 (a folder named in Latin-1 on an older share): convert into such a
    # folder ended in a traceback (TypeError: Object does not have a .write() method), and reading an OUT there
    # said 'band_events.parquet: not a report this version of databack reads'
    from converters import load

    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    out = folder / "out"
    if command != "convert":
        assert convert(SAMPLES / "phone-sync.har", "-o", tmp_path / "out").exit_code == 0
        (tmp_path / "out").rename(out)
    before = files(folder)
    if command == "load":
        with pytest.raises(store.OutError, match="its path is not UTF-8 text"):
            load(out)
        return
    args = {"convert": ["convert", SAMPLES / "phone-sync.har", "-o", out],
            "convert adding": ["convert", SAMPLES / "phone-sync.flow", "-o", out],
            "merge": ["merge", out, "-o", tmp_path / "merged"],
            "report": ["report", out],
            "export omh": ["export", "omh", out, "-o", tmp_path / "omh"]}[command]
    run = subprocess.run([os.fsencode(a) for a in databack(*args)], capture_output=True, cwd=REPO)
    shown = str(out).replace(os.fsdecode(b"\xe9"), "\\xe9")
    does = "read the run in" if command in ("merge", "export omh") else "write into"
    assert (run.returncode, run.stderr.decode()) == (
        1 if does == "read the run in" else 2,
        f"databack: cannot {does} {shown}: its path is not UTF-8 text (a byte of another encoding), which polars "
        "cannot read or write: rename it\n")
    assert files(folder) == before


@pytest.mark.parametrize("command", ["convert adding", "convert adding, partitioned", "convert, rows spilled", "merge",
                                     "report", "export omh", "load"])
def test_an_out_whose_path_holds_glob_characters_is_read_as_itself(tmp_path, monkeypatch, command):
    # polars takes a path to read as a glob: in an OUT named 'week [1]' (or 'week*'), a run adding to it read the
    # tables of the folder 'week 1' beside it ('holds 2 rows where report.json counts 3'), or none ('expanded paths
    # were empty'), and so did merge, report, export omh and load(), and a run's rows spilled into its work folder
    from converters import load, spill

    neighbour, out, plain = tmp_path / "week 1", tmp_path / "week [1]", tmp_path / "qzx-out"
    options = ["--partition-by", "participant_id,day", "--participant", "P1"] if "partitioned" in command else []
    assert convert(SAMPLES / "phone-sync.flow", "-o", neighbour).exit_code == 0
    if command == "convert, rows spilled":
        for name, value in (("SPILL_ROWS", 7), ("PART_ROWS", 5), ("SORT_ROWS", 11), ("HOLD_ROWS", 15)):
            monkeypatch.setattr(spill, name, value)
    for folder in (out, plain):
        assert convert(SAMPLES / "phone-sync.har", "-o", folder, *options).exit_code == 0
        if command.startswith("convert"):
            result = convert(SAMPLES / "phone-sync.flow", "-o", folder, *options)
            assert result.exit_code == 0, result.output
    if command.startswith("convert"):
        assert state(out) == state(plain)
    elif command == "load":
        assert {n: t.to_dicts() for n, t in load(out).items()} == {n: t.to_dicts() for n, t in load(plain).items()}
    else:
        made = {}
        (tmp_path / "merged").mkdir()
        for folder in (out, plain):
            args = {"merge": ["merge", folder, "-o", tmp_path / "merged" / folder.name, "-j", "1"],
                    "report": ["report", folder, "-o", tmp_path / f"{folder.name}.html"],
                    "export omh": ["export", "omh", folder, "-o", tmp_path / "omh" / folder.name]}[command]
            result = runner.invoke(app, list(map(str, args)))
            assert result.exit_code == 0, result.output
            made[folder] = files(tmp_path / "merged" / folder.name) if command == "merge" else \
                _page(tmp_path / f"{folder.name}.html", folder) if command == "report" else \
                files(tmp_path / "omh" / folder.name)
        if command == "merge":
            made = {f: {k: v for k, v in m.items() if k != "report.json"} for f, m in made.items()}
        assert made[out] == made[plain]


@pytest.mark.parametrize("command", ["convert adding", "merge", "report", "export omh", "load"])
def test_a_partitioned_out_in_a_folder_named_like_a_partition_level_is_read_back(tmp_path, command):
    # polars reads every name=value folder of a dataset's path as a level: in an OUT of partitioned tables below
    # /lake/site=boston/, every command reading it back failed ('path contains column not present in the given
    # Hive schema: "site"'); the first run only could write it
    from converters import load

    out, plain = tmp_path / "site=boston" / "out", tmp_path / "plain"
    out.parent.mkdir()
    options = ["--partition-by", "participant_id,day", "--participant", "p/07 é"]
    for folder in (out, plain):
        assert convert(SAMPLES / "phone-sync.har", "-o", folder, *options).exit_code == 0
    if command == "convert adding":
        for folder in (out, plain):
            result = convert(SAMPLES / "phone-sync.flow", "-o", folder, *options)
            assert result.exit_code == 0, result.output
        assert state(out) == state(plain)
    elif command == "load":
        assert {n: t.to_dicts() for n, t in load(out).items()} == {n: t.to_dicts() for n, t in load(plain).items()}
    else:
        args = {"merge": ["merge", out, "-o", tmp_path / "merged", "-j", "1"], "report": ["report", out],
                "export omh": ["export", "omh", out, "-o", tmp_path / "omh"]}[command]
        result = runner.invoke(app, list(map(str, args)))
        assert result.exit_code == 0, result.output


def _page(page: Path, out: Path) -> str:
    """The report page drawn of `out`, without its name and the time its run was made."""
    made = json.loads((out / "report.json").read_bytes())["generated_at"]
    return page.read_text().replace(out.name, "OUT").replace(made, "TIME")


def test_a_journal_whose_staging_folder_is_gone_is_dropped_and_said_and_out_read_as_it_is(tmp_path):
    # a journal whose staging folder a tool had removed (one that cleans hidden folders, a copy leaving it out) made
    # every command stop at 'cannot repair OUT: No such file or directory', for good
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    changes = [["replace", "band_events.parquet"], ["remove", "sense_nights.parquet"], ["replace", "report.json"]]
    (out / store.JOURNAL).write_text(json.dumps({"staging": f"{store.STAGING_PREFIX}abcdefgh", "changes": changes}))
    result = runner.invoke(app, ["report", str(out), "-o", str(tmp_path / "page.html")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"databack: repaired {out}: dropped a commit journal it could not read"
    assert state(out) == before


@pytest.mark.parametrize("name", ["notes.txt", "rejects.csv", "sleep_nights"])
@pytest.mark.parametrize("action", ["remove", "replace"])
def test_a_journal_naming_a_users_file_changes_nothing_of_theirs(tmp_path, action, name):
    # the repair made any change a journal named: one planted in a folder given to report, export omh or merge
    # (or a journal damaged on disk) removed a user's notes.txt, or replaced it with what its staging held; and
    # named as a table's entry that no run wrote (their rejects.csv beside Parquet tables, a sleep_nights file where
    # the run wrote sleep_nights.parquet), which a run never writes over nor removes, it did so still
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    (out / name).write_text("the user's notes\n")
    staging = out / f"{store.STAGING_PREFIX}abcdefgh"
    staging.mkdir()
    (staging / name).write_text("planted\n")
    (out / store.JOURNAL).write_text(json.dumps({"staging": staging.name, "changes": [[action, name]]}))
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (f"databack: repaired {out}: dropped a commit journal it could not read; "
                                             "removed what a stopped run left (1 staging folder)")
    assert (out / name).read_text() == "the user's notes\n"


@pytest.mark.parametrize("error", ["ENOLCK", "EOPNOTSUPP"])
def test_a_page_export_or_scrubbed_copy_is_written_where_the_file_system_cannot_lock_files(tmp_path, monkeypatch,
                                                                                            error):
    # a file written beside its name and moved into place (report -o, export omh, scrub -o) locks its temporary file
    # only so that another run does not take it for a killed run's leftover: on a file system that takes no locks (NFS
    # mounted with nolock, some FUSE and SMB mounts) the command stopped ('cannot write into dest/omh: No locks
    # available', scrub's 'failed: cannot read or write: …'), though a single rename into place needs no lock
    import fcntl

    out, dest = tmp_path / "out", tmp_path / "dest"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    dest.mkdir()
    real, code = fcntl.flock, getattr(errno, error)

    def flock(fd, operation):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(dest)):
            raise OSError(code, os.strerror(code))
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    for args in (["export", "omh", out, "-o", dest / "omh"], ["report", out, "-o", dest / "r.html"],
                 ["scrub", SAMPLES / "phone-sync.har", "-o", dest / "copy.har"]):
        result = runner.invoke(app, list(map(str, args)))
        assert result.exit_code == 0, result.output
    assert (dest / "r.html").stat().st_size and (dest / "copy.har").stat().st_size
    assert sorted(p.name for p in dest.rglob("*") if p.name.startswith(".")) == []  # no temporary file left
    assert any((dest / "omh").iterdir())


@pytest.mark.parametrize("command", ["convert", "report", "merge"])
def test_a_journal_a_newer_databack_left_is_one_line_and_its_commit_is_left_to_that_version(tmp_path, command):
    # journals named no form: one a newer databack left (its changes meaning other things) was read as this
    # version's and its staged entries moved into OUT, or dropped with them, OUT left half of the newer run's
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    staging = out / f"{store.STAGING_PREFIX}abcdefgh"
    staging.mkdir()
    shutil.copy(out / "band_minutes.parquet", staging / "band_events.parquet")
    journal = {"version": store.JOURNAL_VERSION + 1, "staging": staging.name,
               "changes": [["replace", "band_events.parquet"], ["remove", "sense_nights.parquet"]]}
    (out / store.JOURNAL).write_text(json.dumps(journal))
    before = files(out)
    args = {"convert": ["convert", SAMPLES / "phone-sync.flow", "-o", out, "-j", "1"], "report": ["report", out],
            "merge": ["merge", out, "-o", tmp_path / "merged", "-j", "1"]}[command]
    result = runner.invoke(app, list(map(str, args)))
    assert (result.exit_code, result.output) == (1, (
        f"databack: cannot repair {out}: a run of a newer databack was stopped in its commit, whose journal "
        f"({store.JOURNAL}, of form {store.JOURNAL_VERSION + 1}) this version cannot finish: run that version (or a "
        "newer one) into it first\n"))
    assert files(out) == before


@pytest.mark.parametrize("made", ["a named pipe", "a link to a device"])
def test_a_journal_that_is_no_file_is_dropped_never_waited_on_nor_followed(tmp_path, made):
    # the repair read the journal through whatever it was: a named pipe by that name made every command wait for
    # ever for a writer, a link to /dev/zero read without end
    out = tmp_path / "out"
    assert convert(SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = state(out)
    if made == "a named pipe":
        os.mkfifo(out / store.JOURNAL)
    else:
        (out / store.JOURNAL).symlink_to("/dev/zero")
    try:
        run = subprocess.run(databack("report", out, "-o", tmp_path / "page.html"), capture_output=True, text=True,
                             timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the journal was waited on or read without end")
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[0] == f"databack: repaired {out}: dropped a commit journal it could not read"
    assert state(out) == before and not os.path.lexists(out / store.JOURNAL)
