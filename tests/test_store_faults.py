"""Fault injection: a run that is killed, or whose write fails (no space, an I/O error), at any step of its life in
OUT (every step `converters.store.STEPS` names, in turn) leaves OUT, as the next command sees it, exactly as it
was before the run or exactly as the run would have left it; and running the command again gives what one clean
run gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO
from outs import Faults, assert_consistent, child_command, describe, state
from typer.testing import CliRunner

from converters import store
from converters.cli import app

runner = CliRunner()
faults = Faults()
SAMPLES = REPO / "samples"
BEFORE_COMMIT = list(store.STEPS)[: list(store.STEPS).index("commit") + 1]  # a kill there: OUT as before
UNDONE = {"apply", "sync-out"}  # a failure there is undone: OUT as before
# Steps reached only after an earlier fault: the faults that lead there (a run killed during its commit leaves a
# journal for the next to repair; a change undone follows a change that failed).
PRELUDES = {"repair": [("apply", 2, "kill")], "undo": [("apply", 2, "EIO", True)]}
# The second of each step that comes once per entry: one entry staged or changed already.
def occurrence(step: str) -> int:
    return 2 if step in ("stage", "apply") else 1


# Tables in files, or in partitioned folders; and the error a failing write raises (each at every step).
SCENARIOS = {"files": ([], "ENOSPC"), "folders": (["--partition-by", "participant_id,day"], "EIO")}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request, tmp_path_factory):
    """OUT after run A, and what run B (a capture changed, one added: tables replaced, some no longer there) makes
    of it; as tables in files or in partitioned folders."""
    root = tmp_path_factory.mktemp(request.param)
    options, error = SCENARIOS[request.param]
    a, b = root / "a" / "captures", root / "b" / "captures"  # the same name: the same inputs, as rows name them
    for folder in (a, b):
        folder.mkdir(parents=True)
        write_har(folder / "extra.har", [entry(BAND_EVENTS_URL, band_event("42", calories=5))])
    shutil.copy(SAMPLES / "phone-sync.flow", a / "cap")
    shutil.copy(SAMPLES / "phone-sync.har", b / "cap")  # changed: the flow's tables, rejects among them, go
    write_har(b / "more.har", [entry(BAND_EVENTS_URL, band_event("43", calories=7))])
    convert = lambda captures, out: runner.invoke(app, ["convert", str(captures), "-o", str(out), "-j", "1", *options])  # noqa: E731
    before_out, after_out, incremental = root / "before", root / "after", root / "incremental"
    assert convert(a, before_out).exit_code == 0
    assert convert(b, after_out).exit_code == 0
    shutil.copytree(before_out, incremental)
    assert convert(b, incremental).exit_code == 0
    before, after = state(before_out), state(after_out)
    assert state(incremental) == after  # run B after A gives what one clean run of B gives
    gone = {p.split("/")[0] for p in before} - {p.split("/")[0] for p in after}
    assert gone and before.keys() & after.keys()  # entries removed, and entries replaced
    return {"b": b, "before_out": before_out, "before": before, "after": after, "options": options,
            "error": error}


def fresh_out(scenario, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(scenario["before_out"], out)
    return out


def run_b(scenario, out: Path):
    return runner.invoke(app, ["convert", str(scenario["b"]), "-o", str(out), "-j", "1", *scenario["options"]])


def b_args(scenario, out: Path) -> list:
    """The command line of `run_b`, for a child process (`child_command`)."""
    return ["convert", scenario["b"], "-o", out, "-j", "1", *scenario["options"]]


def killed(faults_: list, *args) -> None:
    """A child running the command with these faults, killed by one of them."""
    assert subprocess.run(child_command(faults_, *args), capture_output=True).returncode == -9


def assert_next_command_sees(scenario, out: Path, expected: str) -> None:
    """What the next command into OUT sees once it holds the lock (repaired), then a re-run of B: one clean run."""
    with store.lock(out) as held:
        repaired = held.repaired
    seen = state(out)
    assert seen == scenario[expected], (expected, repaired, describe(seen))
    assert_consistent(out)
    again = run_b(scenario, out)
    assert again.exit_code == 0, again.output
    assert state(out) == scenario["after"]


def assert_ends(result, message: str) -> None:
    """Exit 1, and the last line says why; every line is one of databack's (no traceback)."""
    lines = result.output.splitlines()
    assert result.exit_code == 1 and lines[-1] == message, result.output
    assert all(line.startswith("databack: ") for line in lines), result.output


@pytest.mark.parametrize("step", list(store.STEPS))
def test_a_run_killed_at_any_step_leaves_out_before_or_after_it(scenario, tmp_path, step):
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    fault = (step, occurrence(step), "kill")
    if step == "repair":  # a first run killed in its commit, then the one repairing it
        killed(PRELUDES[step], *args)
        run = subprocess.run(child_command([fault], *args), capture_output=True, text=True)
    else:
        run = subprocess.run(child_command([*PRELUDES.get(step, []), fault], *args), capture_output=True, text=True)
    assert run.returncode == -9, f"never reached {step}: {run.stderr}"
    assert_next_command_sees(scenario, out, "before" if step in BEFORE_COMMIT and step not in PRELUDES else "after")


@pytest.mark.parametrize("step", list(store.STEPS))
def test_a_write_failing_at_any_step_leaves_out_before_or_after_it_and_says_so(scenario, tmp_path, step):
    out = fresh_out(scenario, tmp_path)
    error = scenario["error"]
    cause = "No space left on device" if error == "ENOSPC" else "Input/output error"
    if step == "repair":  # a run whose commit failed and could not be undone leaves a journal to repair
        faults.arm(*PRELUDES["undo"], ("undo", 1, "EIO"))
        assert run_b(scenario, out).exit_code == 1
        faults.disarm()
    faults.arm(*PRELUDES.get(step, []) if step != "repair" else [], (step, occurrence(step), error))
    result = run_b(scenario, out)
    assert faults.disarm()[-1] >= 1, f"never reached {step}"
    if step in ("journal-remove", "cleanup", "unlock"):  # every change made: what is left is the next run's
        assert result.exit_code == 0, result.output
        expected = "after"
    elif step == "repair":
        assert_ends(result, f"databack: cannot repair {out}: {cause}")
        expected = "after"
    elif step == "undo":  # the change failed, and so did undoing it: the journal completes the commit
        assert_ends(result, f"databack: cannot write into {out}: Input/output error; the next databack run into it "
                            "completes the commit")
        expected = "after"
    else:
        assert_ends(result, f"databack: cannot write into {out}: {cause}")
        expected = "before"
        assert state(out) == scenario["before"]  # as it was, at once: no repair needed
    if step not in ("repair", "undo"):
        assert_consistent(out)  # for a reader opening the files directly, before any other run
    assert_next_command_sees(scenario, out, expected)


def test_a_run_killed_while_it_repairs_a_killed_run_is_repaired_by_the_next(scenario, tmp_path):
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    killed([("apply", 2, "kill")], *args)
    killed([("apply", 1, "kill")], *args)
    assert_next_command_sees(scenario, out, "after")


def test_a_run_killed_while_undoing_a_failed_change_is_completed_by_the_next(scenario, tmp_path):
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    faulty = [("apply", 3, "EIO", True), ("undo", 2, "kill")]  # two changes made, one undone
    killed(faulty, *args)
    assert_next_command_sees(scenario, out, "after")


def test_the_rename_of_report_json_failing_undoes_every_table_replaced_before_it(scenario, tmp_path):
    out = fresh_out(scenario, tmp_path)
    faults.arm(("apply=report.json", 1, scenario["error"]))
    result = run_b(scenario, out)
    assert faults.disarm() == [1]
    assert result.exit_code == 1 and result.output.splitlines()[-1].startswith(f"databack: cannot write into {out}: ")
    assert state(out) == scenario["before"]
    assert_consistent(out)
    assert_next_command_sees(scenario, out, "before")


def test_a_run_killed_before_renaming_report_json_is_completed_by_the_next(scenario, tmp_path):
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    killed([("apply=report.json", 1, "kill")], *args)
    assert_next_command_sees(scenario, out, "after")


def test_a_journal_written_in_part_by_a_nearly_full_disk_is_written_whole_and_a_kill_after_it_is_repaired(
        scenario, tmp_path):
    # a write into a file system with room for part of it alone writes that part and says so: a journal cut short
    # was renamed into place as it was, and the next run, not able to read it, dropped it with OUT half changed
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    faults_ = [("journal", 1, "short-write"), ("apply", 2, "kill")]
    killed(faults_, *args)
    assert_next_command_sees(scenario, out, "after")


@pytest.mark.parametrize("command", ["convert", "report"])
def test_ctrl_c_while_a_run_finishes_a_killed_runs_commit_waits_for_it(scenario, tmp_path, command):
    # the next run makes the renames a killed run left journaled; Ctrl-C among them stopped it there, OUT half changed
    # (tables of the killed run, report.json of the one before) for every reader until yet another run, and the line
    # said OUT 'was left as it was'. The renames are made first, as in a commit
    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    killed([("apply", 2, "kill")], *args)
    again = args if command == "convert" else ["report", out]
    run = subprocess.run(child_command([("apply", 2, "interrupt")], *again), capture_output=True, text=True)
    assert run.returncode == 130, run.stderr
    seen = {path: content for path, content in state(out).items() if not path.startswith(".")}  # (leftovers aside)
    assert seen == scenario["after"]  # at once, for a reader
    assert_consistent(out)
    assert_next_command_sees(scenario, out, "after")


def test_load_of_an_out_a_run_was_killed_committing_into_reads_what_that_run_wrote(scenario, tmp_path):
    # every command reading OUT finishes a killed run's commit first; load() read the files as they lay, half made:
    # some tables of the killed run, others and datapackage.json of the run before, without a word
    from converters import load

    out = fresh_out(scenario, tmp_path)
    args = b_args(scenario, out)
    killed([("apply", 6, "kill")], *args)
    tables = load(out)
    assert state(out) == scenario["after"]
    rows = {r["name"]: r["stats"]["rows"] for r in json.loads((out / "datapackage.json").read_bytes())["resources"]}
    assert {name: frame.height for name, frame in tables.items()} == {n: r for n, r in rows.items() if n != "copies"}
