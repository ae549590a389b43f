"""What a person sees of the command line: exact messages, summaries, listings, help and exit codes."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from typer.testing import CliRunner

from converters import __version__, pipeline
from converters.cli import app
from converters.devices import endpoints
from converters.progress import BytesRead
from converters.tables import TABLES

runner = CliRunner()
SAMPLES = REPO / "samples"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], prog_name="databack")


def test_version_names_the_command_and_its_version():
    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"databack {__version__}\n")


@pytest.mark.parametrize("command", ["", "convert", "merge", "inspect", "scrub", "endpoints"])
def test_help_shows_no_internals(command):
    result = run(*filter(None, [command, "--help"]))
    assert result.exit_code == 0
    for internal in ("{", "<int", "x>=1", "<path>", "<str>", "report.json to stdout" if command == "scrub" else "\0"):
        assert internal not in result.stdout.replace("{name}", "").replace("{n}", "").replace("{id}", ""), internal


def test_help_usage_lines_name_arguments_as_the_readme_does():
    assert run("convert", "--help").stdout.startswith("Usage: databack convert [OPTIONS] PATH...\n")
    assert run("merge", "--help").stdout.startswith("Usage: databack merge [OPTIONS] OUT1 OUT2...\n")
    assert run("scrub", "--help").stdout.startswith("Usage: databack scrub [OPTIONS] CAPTURE\n")
    assert "  -j, --jobs N " in run("convert", "--help").stdout


def test_the_summary_lists_every_file_written_aligned_with_counts_in_their_own_columns(tmp_path):
    out = tmp_path / "out"
    result = run("convert", SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", out)
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"databack: 2 files, 46 exchanges: 30 device responses decoded, 1 rejected, 1 HTTP error -> {out}"
    assert lines[1] == "  written                         rows  duplicates  conflicts"
    assert lines[2] == "  band_events.parquet                4           3"  # the private copies: duplicates
    assert "  sense_sensor_samples.parquet     622          36" in lines
    assert "  sense_question_choices.parquet     7" in lines  # the longest name sets the width
    assert lines[-4:-1] == ["  copies.parquet", "  datapackage.json", "  report.json"]
    assert lines[-1].startswith("  (records captured more than once: duplicates are copies whose every value")
    written = {line.split()[0] for line in lines[2:-1]}
    assert written == {p.name for p in out.iterdir()}  # every file in OUT is named, and only those


def test_the_summary_pluralises_and_separates_thousands(tmp_path):
    from converters.summary import conversion_lines, plural

    assert [plural(0, "file"), plural(1, "file"), plural(1234567, "row")] == ["0 files", "1 file", "1,234,567 rows"]
    report = {
        "totals": {"files": 1, "exchanges": 1, "device_responses": 1, "rejects": 0, "http_errors": 1},
        "files": [{"file": "a.har", "status": "ok"}],
        "partition_by": ["participant_id"],
        "tables": {"band_minutes": {"rows": 1234567, "duplicates": 0, "conflicts": 0, "file": "band_minutes"}},
    }
    assert conversion_lines(report, "OUT") == [
        "databack: 1 file, 1 exchange: 1 device response decoded, 0 rejected, 1 HTTP error -> OUT",
        "  written                rows",
        "  band_minutes/     1,234,567",
        "  copies.parquet",
        "  datapackage.json",
        "  report.json",
    ]


def test_a_rerun_says_how_many_inputs_it_skipped(tmp_path):
    run("convert", SAMPLES / "phone-sync.har", "-o", tmp_path / "out")
    result = run("convert", SAMPLES / "phone-sync.har", "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        f"databack: 1 input already converted unchanged in {tmp_path / 'out'}: skipped (--force converts it again)"
    )


def test_an_empty_folder_is_named_in_a_usage_error(tmp_path):
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / ".DS_Store").write_text("")
    result = run("convert", tmp_path / "incoming", "-o", tmp_path / "out")
    assert (result.exit_code, result.stderr) == (2, f"databack: no files in {tmp_path / 'incoming'} (hidden ones aside)\n")


def test_a_glob_that_matches_nothing_is_named_in_a_usage_error(tmp_path):
    pattern = str(tmp_path / "captures" / "*.har")
    for command in (["convert", pattern, "-o", tmp_path / "out"], ["inspect", pattern]):
        result = run(*command)
        assert (result.exit_code, result.stderr) == (2, f"databack: {pattern!r} matches no file\n")
    assert not (tmp_path / "out").exists()


def test_a_folder_without_captures_writes_nothing_and_says_why(tmp_path):
    folder = tmp_path / "p07"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a capture")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    result = run("convert", folder, "-o", tmp_path / "out", "-j", "1")
    assert result.exit_code == 2
    assert result.stderr == (
        f"databack: no captures in {folder}: 2 files, none a HAR file or a mitmproxy flow dump "
        "(e.g. p07/notes.txt: not a HAR file or a mitmproxy flow dump)\n"
    )
    assert not list((tmp_path / "out").glob("*.json"))


def test_jobs_below_one_is_a_usage_error_in_plain_words(tmp_path):
    result = run("convert", SAMPLES / "phone-sync.har", "-o", tmp_path / "out", "--jobs", "0")
    assert result.exit_code == 2
    assert "0 is not a number of processes (1 or more)" in result.stderr


def test_ctrl_c_during_a_conversion_says_out_was_kept_and_exits_130(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run("convert", SAMPLES / "phone-sync.har", "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "update", interrupted)
    result = run("convert", SAMPLES / "phone-sync.flow", "-o", out)
    assert (result.exit_code, result.stderr) == (130, f"databack: interrupted; {out} was left as it was\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no work folder left either


def test_ctrl_c_stops_a_real_run_with_one_line_and_no_worker_left(tmp_path):
    """A conversion in worker processes, interrupted as a terminal does (SIGINT to the whole process group)."""
    inputs = []
    for i in range(6):
        inputs.append(tmp_path / f"c{i}.flow")
        shutil.copy(SAMPLES / "phone-sync.flow", inputs[-1])
    command = [sys.executable, "-m", "converters", "convert", *map(str, inputs), "-o", str(tmp_path / "out"), "-j", "2"]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True, cwd=REPO)
    while child.poll() is None and not _converting_in_workers(child.pid):  # however late a loaded machine gets there
        time.sleep(0.01)
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    if child.returncode == 0:
        pytest.skip("the run ended before it was interrupted")
    assert child.returncode == 130
    assert stderr.decode().strip().splitlines()[-1] in (
        f"databack: interrupted; {tmp_path / 'out'} was left as it was",
        "databack: interrupted; nothing was written",
    )
    assert "Traceback" not in stderr.decode()
    assert not list((tmp_path / "out").glob("*.json")) if (tmp_path / "out").exists() else True
    for pid in _alive_in_group(child.pid):  # what ends on its own soon after (the resource tracker), waited for
        _wait_until_gone(pid)
    assert not _alive_in_group(child.pid)


@pytest.mark.parametrize(("one_file", "given", "expected"), [
    (True, False, "dirty_decay_ms:1,muzzy_decay_ms:0,narenas:1"),
    (False, False, "dirty_decay_ms:300,muzzy_decay_ms:0,narenas:1"),
    (False, True, "narenas:2"),
])
def test_polars_allocator_keeps_freed_pages_a_moment_for_one_file_and_longer_for_several(one_file, given, expected):
    """Set before polars is loaded (in a fresh interpreter, as the command runs); a setting in the environment wins."""
    code = ("import os, sys; from converters import cli; assert 'polars' not in sys.modules; "
            f"cli._allocator_given = {given}; cli._allocator(one_file={one_file}); "
            "print(os.environ['_RJEM_MALLOC_CONF'])")
    env = {**os.environ, "_RJEM_MALLOC_CONF": "narenas:2"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=True)
    assert done.stdout.strip() == expected


def _converting_in_workers(pid: int) -> bool:
    """Whether the run `pid` has worker processes and catches Ctrl-C: a Ctrl-C now stops a run under way (one
    pressed while they are started comes once they are). (Sent earlier, while Python starts, it is Python's
    traceback.)"""
    try:
        caught = re.search(r"^SigCgt:\s*(\w+)$", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return False
    workers = [p for p in _alive_in_group(pid) if b"spawn_main" in _cmdline(p)]
    return bool(workers) and caught is not None and bool(int(caught[1], 16) >> (signal.SIGINT - 1) & 1)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _wait_until_gone(pid: int) -> None:
    """Until the process `pid` (not a child of this one) has ended, however loaded the machine (120 s at most)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [], 120)  # readable once it has ended
    finally:
        os.close(fd)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of a process group that are still running (not zombies waiting to be reaped)."""
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def test_endpoints_lists_names_tables_and_readable_requests_aligned():
    result = run("endpoints")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "band/events                -> band_events, band_sequences, band_minutes, band_map_points",
        "    GET           prodphs*.dns-cargo.com/v1/Events[(…)]",
    ]
    assert "    GET           (api|dev-api|canary-api).hello.is/v2/timeline/{date}[T{n}:{n}]" in lines
    assert "    GET           api.microsofthealth.net/v1/me/Activities[/{id}]" in lines
    assert "band/auth                  -> (sign-in: counted, never decoded)" in lines
    assert not any(token in result.stdout for token in ("\\", "(?", "[^", "+", "$"))
    named = [line for line in lines if not line.startswith(" ")]
    assert {line.index("->") for line in named} == {27}
    assert [line.split()[0] for line in named] == [e.name for e in endpoints()]


def test_every_data_endpoint_declares_the_tables_it_fills():
    for endpoint in endpoints():
        if endpoint.kind == "data":
            assert endpoint.tables and set(endpoint.tables) <= set(TABLES), endpoint.name


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="file offsets are read from /proc (Linux)")
def test_bytes_read_follows_a_file_being_read_in_another_process(tmp_path):
    capture = tmp_path / "c.har"
    capture.write_bytes(b"x" * 100_000)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import sys,time; f=open({str(capture)!r},'rb',buffering=0); f.read(40000); "
         "print(flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        reader.stdout.readline()
        progress = BytesRead([capture])
        assert (progress.total, progress.read()) == (100_000, 40_000)
        progress.finished(capture)
        assert progress.read() == 100_000
    finally:
        reader.kill()
        reader.wait()


def test_inspect_names_a_missing_path_and_exits_2(tmp_path):
    result = run("inspect", tmp_path / "nope.har")
    assert (result.exit_code, result.stderr) == (2, f"databack: no such file or folder: {tmp_path / 'nope.har'}\n")


def test_scrub_help_says_what_json_prints():
    assert "Also print what was redacted, as JSON, to stdout." in run("scrub", "--help").stdout
    assert re.search(r"report\.json", run("scrub", "--help").stdout) is None
