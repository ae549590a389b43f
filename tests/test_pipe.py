"""Reading a capture in a separate process (two cores for one file) changes nothing in what is converted."""

from __future__ import annotations

import io
import itertools
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har

from converters.captures import CaptureError, Exchange
from converters import devices, pipeline
from converters.limits import DEFAULT
from converters.captures import pipe
from converters.captures.pipe import (
    PARSED,
    Decoded,
    NotDevice,
    ReaderCrashed,
    _received,
    _serve,
    read_capture_beside,
)
from conftest import frames_of

from converters.pipeline import Input, convert_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def converted(path: Path, name: str, separate_reader: bool, generic: tuple[str, ...] = ()):
    report, frames = convert_file(Input(path, name, True, generic=generic), separate_reader=separate_reader)
    return report.as_dict(), {table: df.to_dicts() for table, df in sorted(frames_of(frames).items())}


@pytest.mark.parametrize("sample", ["phone-sync.har", "phone-sync.flow"])
def test_a_separate_reader_gives_the_same_report_and_rows(sample):
    assert converted(SAMPLES / sample, sample, True) == converted(SAMPLES / sample, sample, False)


def test_a_separate_reader_hands_over_bodies_of_generic_hosts(tmp_path):
    har = write_har(tmp_path / "g.har", [entry("https://api.example.com/v1/things", {"things": [{"id": 1}]})])
    beside = converted(har, "g.har", True, generic=("api.example.com",))
    assert beside == converted(har, "g.har", False, generic=("api.example.com",))
    assert beside[0]["generic_responses"] == {"generic__api_example_com_v1_things": 1}


def test_a_separate_reader_reports_a_cut_off_capture_as_the_caller_would(tmp_path):
    data = (SAMPLES / "phone-sync.har").read_bytes()
    cut = tmp_path / "cut.har"
    cut.write_bytes(data[: len(data) * 2 // 3])
    beside = converted(cut, "cut.har", True)
    assert beside == converted(cut, "cut.har", False)
    assert beside[0]["status"] == "partial" and beside[0]["error"].startswith("cut off after entry")


def test_the_reading_process_sends_batches_then_an_end_marker():
    request, out = io.BytesIO(pickle.dumps((str(SAMPLES / "phone-sync.har"), "har", "s.har", (), DEFAULT))), io.BytesIO()
    _serve(request, out)
    out.seek(0)
    items = list(_received(out))
    exchanges = [i for i in items if isinstance(i, Exchange)]
    counted = sum(i.hosts.total() for i in items if isinstance(i, NotDevice))
    assert len(exchanges) + counted == 16 and counted > 0
    assert [i.source_entry for i in exchanges] == sorted(i.source_entry for i in exchanges)


def test_exchanges_of_other_hosts_are_only_counted_and_in_order_with_a_cut_off(tmp_path):
    others = [entry(f"https://cdn{i % 3}.example.com/app.js", {"x": i}) for i in range(300)]  # more than a batch
    data = write_har(tmp_path / "o.har", others).read_bytes()
    cut = tmp_path / "cut.har"
    cut.write_bytes(data[: len(data) - 40])
    request, out = io.BytesIO(pickle.dumps((str(cut), "har", "cut.har", (), DEFAULT))), io.BytesIO()
    _serve(request, out)
    out.seek(0)
    items = list(_received(out))
    assert not any(isinstance(i, Exchange) for i in items)
    assert isinstance(items[-1], CaptureError) and isinstance(items[-2], NotDevice)
    beside = converted(cut, "cut.har", True)
    assert beside == converted(cut, "cut.har", False)
    assert beside[0]["status"] == "partial" and beside[0]["not_device"] == 299
    assert beside[0]["unrecognised_hosts"] == {"cdn0.example.com": 100, "cdn1.example.com": 100, "cdn2.example.com": 99}


def test_exchanges_of_more_other_hosts_than_a_batch_holds_are_counted_in_order_with_a_device_response(tmp_path):
    others = [entry(f"https://cdn{i}.example.com/app.js", {"x": i}) for i in range(300)]  # 300 hosts, once each
    har = write_har(tmp_path / "h.har", [*others, entry(BAND_EVENTS_URL, band_event()), *others[:5]])
    beside = converted(har, "h.har", True)
    assert beside == converted(har, "h.har", False)
    assert beside[0]["not_device"] == 305 and beside[0]["device_responses"] == {"band/events": 1}


def test_the_reading_process_passes_an_unreadable_file_on_as_the_oserror_it_met(tmp_path):
    request, out = io.BytesIO(pickle.dumps((str(tmp_path), "har", "folder.har", (), DEFAULT))), io.BytesIO()
    _serve(request, out)
    out.seek(0)
    with pytest.raises(IsADirectoryError):
        list(_received(out))


def test_a_bug_in_the_reading_process_arrives_with_its_traceback():
    request, out = io.BytesIO(pickle.dumps((None, "har", "x.har", (), DEFAULT))), io.BytesIO()  # None: no path at all
    _serve(request, out)
    out.seek(0)
    with pytest.raises(ReaderCrashed, match="Traceback"):
        list(_received(out))


def test_a_reading_process_that_dies_midway_is_an_error_not_a_short_capture():
    stream = io.BytesIO(pickle.dumps([]))  # one empty batch, then nothing: no end marker
    with pytest.raises(ReaderCrashed, match="ended without finishing"):
        list(_received(stream))


def test_a_reading_process_that_ends_before_it_reads_its_request_has_crashed_however_soon_it_ended(monkeypatch):
    """Ended before its request was written to it, as after (not the file's "Broken pipe", which would fail the
    capture as unreadable)."""
    start = subprocess.Popen

    def ended_at_once(command, **kwargs):  # a reading process that could not start, and has ended already
        child = start([sys.executable, "-c", "pass"], **kwargs)
        child.wait()
        return child

    monkeypatch.setattr(pipe, "_ahead", None)  # (none read ahead: it is started here)
    monkeypatch.setattr(pipe.subprocess, "Popen", ended_at_once)
    with pytest.raises(ReaderCrashed, match="ended without finishing"):
        list(read_capture_beside(SAMPLES / "phone-sync.har", "har", "s.har", ()))


def test_the_reading_process_runs_this_package_even_from_a_folder_holding_another_named_converters(
    tmp_path, monkeypatch
):
    (tmp_path / "converters").mkdir()
    (tmp_path / "converters" / "__init__.py").write_text("raise SystemExit('the wrong converters package')")
    monkeypatch.chdir(tmp_path)
    assert list(read_capture_beside(SAMPLES / "phone-sync.har", "har", "s.har", ()))


def test_stopping_early_ends_the_reading_process():
    items = read_capture_beside(SAMPLES / "phone-sync.har", "har", "s.har", ())
    assert isinstance(next(items), (Exchange, NotDevice))
    items.close()  # the generator's cleanup kills the child; a leftover child would keep the test run waiting


def test_one_file_with_two_jobs_converts_as_with_one(tmp_path):
    from typer.testing import CliRunner

    from converters.cli import app

    outputs = []
    for jobs in ("1", "2"):  # two jobs for one file: it is parsed by a reading process of its own
        out = tmp_path / f"j{jobs}"
        result = CliRunner().invoke(app, ["convert", str(SAMPLES / "phone-sync.flow"), "-o", str(out), "-j", jobs])
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in out.glob("*.csv")} or {
            p.name: pl.read_parquet(p).to_dicts() for p in out.glob("*.parquet")})
    assert outputs[0] == outputs[1] and len(outputs[0]) > 5


def test_a_capture_read_ahead_is_taken_up_by_the_same_request_and_gives_the_same_items():
    from converters.captures import pipe

    har = SAMPLES / "phone-sync.har"
    pipe.read_ahead([har, SAMPLES / "phone-sync.flow"], 2, ())
    pipe.read_ahead([har], 1, ())
    pipe.read_ahead([SAMPLES], 2, ())
    assert pipe._ahead is None  # several files, one core, a folder: nothing to read beside
    pipe.read_ahead([har], 2, ())
    assert pipe._ahead is not None
    child = pipe._ahead[0]
    items = list(read_capture_beside(har, "har", str(har), ()))
    assert pipe._ahead is None and child.returncode is not None  # taken up, read, ended
    assert items == list(read_capture_beside(har, "har", str(har), ()))


def test_a_capture_read_ahead_for_another_request_is_stopped_and_the_right_one_read():
    from converters.captures import pipe

    har = SAMPLES / "phone-sync.har"
    pipe.read_ahead([har], 2, ("api.example.com",))
    child = pipe._ahead[0]
    items = list(read_capture_beside(har, "har", str(har), ()))  # no generic hosts after all
    assert child.wait(timeout=30) != 0  # killed
    assert items == list(read_capture_beside(har, "har", str(har), ()))


def test_a_capture_read_ahead_and_not_taken_up_ends_quietly_when_its_reader_goes(tmp_path, capfd):
    from converters.captures import pipe

    big = [entry("https://api.example.com/v1/things", {"things": ["x" * 100_000]}) for _ in range(40)]
    har = write_har(tmp_path / "big.har", big)  # more than the pipe holds
    child = pipe._start(pipe._request(har, "har", "big.har", ("api.example.com",)))
    child.stdout.close()  # the converting process went away without reading
    assert child.wait(timeout=30) == 0
    assert capfd.readouterr().err == ""


FORKED_READER = """
import sys
from pathlib import Path
from converters.captures import pipe
har, big = Path(sys.argv[1]), Path(sys.argv[2])
digests = []
pipe.read_ahead([har], 2, ())
child = pipe._ahead[0]
assert isinstance(child, pipe._Forked), type(child)
forked = list(pipe.read_capture_beside(har, "har", str(har), (), on_digest=digests.append))
assert pipe._ahead is None and child.returncode is not None  # taken up, read, ended
started = list(pipe.read_capture_beside(har, "har", str(har), (), on_digest=digests.append))  # a new interpreter
assert forked and forked == started and digests[0] == digests[1], (len(forked), len(started), digests)
pipe.read_ahead([har], 2, ("api.example.com",))
assert list(pipe.read_capture_beside(har, "har", str(har), ())) == forked  # the one read ahead stopped
child = pipe._Forked(pipe._request(big, "har", "big.har", ("api.example.com",)))
child.stdout.close()  # the converting process went away without reading
assert child.wait() == 0
print("ok")
"""


def test_a_capture_read_ahead_before_polars_is_loaded_is_read_by_a_fork_of_the_command_alike(tmp_path):
    """The command reads its one capture ahead in a fork of itself (no interpreter to start, no imports), while it
    has no thread of its own but one: the same items and hash as a reading process started anew; stopped, or left
    by its reader, it ends as that one does (quietly)."""
    big = [entry("https://api.example.com/v1/things", {"things": ["x" * 100_000]}) for _ in range(40)]
    write_har(tmp_path / "big.har", big)  # more than the pipe holds
    done = subprocess.run([sys.executable, "-c", FORKED_READER, str(SAMPLES / "phone-sync.har"),
                           str(tmp_path / "big.har")], capture_output=True, text=True, cwd=SAMPLES.parent, timeout=120)
    assert (done.stdout, done.stderr) == ("ok\n", "")


def test_the_reading_process_takes_the_files_hash_and_sends_it_after_the_items():
    from converters.digest import sha256_file

    digests = []
    items = list(read_capture_beside(SAMPLES / "phone-sync.flow", "flow", "s.flow", (), on_digest=digests.append))
    assert items and digests == [sha256_file(SAMPLES / "phone-sync.flow")]
    report, _ = convert_file(Input(SAMPLES / "phone-sync.flow", "s.flow", True), separate_reader=True)
    assert report.sha256 == digests[0]


def test_paused_the_items_end_at_parsed_and_the_hash_comes_when_iterated_on():
    """How a caller makes the file's frames while the reading process hashes the file (the hash no longer shares the
    cores with the parse): the same items before `PARSED`, no hash yet, then the hash."""
    from converters.digest import sha256_file

    flow, digests = SAMPLES / "phone-sync.flow", []
    items = read_capture_beside(flow, "flow", "s.flow", (), digests.append, pause=True)
    before = list(itertools.takewhile(lambda item: item is not PARSED, items))
    assert before == list(read_capture_beside(flow, "flow", "s.flow", ())) and before and digests == []
    assert list(items) == [] and digests == [sha256_file(flow)]


@pytest.mark.parametrize("sample", ["phone-sync.har", "phone-sync.flow"])
def test_with_a_reading_process_the_converting_process_never_hashes_the_file_itself(sample, monkeypatch):
    """The hash comes from the reading process once the caller drains it after the file's frames (`PARSED`): a
    caller that stopped early would take it again itself (`_convert_file`'s fallback), a second pass over the file."""
    from converters.digest import sha256_file

    hashed_here = []
    monkeypatch.setattr(pipeline, "sha256_or_none", lambda path: hashed_here.append(path))
    report, _ = convert_file(Input(SAMPLES / sample, sample, True), separate_reader=True)
    assert hashed_here == [] and report.sha256 == sha256_file(SAMPLES / sample)


def served_here(path: Path, fmt, name: str, globs: tuple[str, ...], on_digest=None, pause=False):
    """What `read_capture_beside` yields, served by `_serve` in this process, decoding value by value as the reading
    process does (`pipe._by_value`: its rows are pickled)."""
    request, out = io.BytesIO(pipe._request(path, fmt, name, globs)), io.BytesIO()
    saved = pipe._by_value, devices.columns.by_columns
    pipe._by_value = True
    try:
        _serve(request, out)
    finally:
        pipe._by_value, devices.columns.by_columns = saved
    out.seek(0)
    yield from _received(out, on_digest, pause)


def test_a_reading_process_whose_caller_is_behind_decodes_and_the_report_and_rows_are_the_same(tmp_path, monkeypatch):
    log = json.loads((SAMPLES / "phone-sync.har").read_text())
    entries = log["log"]["entries"]
    rejected = json.loads(json.dumps(entries[7]))  # a Sense timeline whose body is not JSON: rejected, body kept
    rejected["response"]["content"]["text"] = "{not json"
    failed = json.loads(json.dumps(entries[9]))  # an HTTP error: counted, not decoded
    failed["response"]["status"] = 500
    entries += [rejected, failed]
    har = tmp_path / "behind.har"
    har.write_text(json.dumps(log))
    monkeypatch.setattr(pipe, "BEHIND_BYTES", 0)  # always behind: every device response is decoded there
    items = list(served_here(har, "har", "behind.har", ()))
    decoded = [i for i in items if isinstance(i, Decoded)]
    assert len(decoded) == 5 and [d.decoding.problem is None for d in decoded].count(False) == 1
    left = [i for i in items if isinstance(i, Exchange) and (m := devices.match(i.host, i.method, i.path))
            and devices.decodes(i, m)]  # long arrays: converted by columns by the caller, many at once
    assert len(left) == 4 and all(devices.match(i.host, i.method, i.path).endpoint.by_columns for i in left)
    assert all(d.exchange.body for d in decoded)  # a reject keeps its body; one decoded what a reject would keep
    monkeypatch.setattr(pipeline, "read_capture_beside", served_here)
    beside = converted(har, "behind.har", True)
    assert beside == converted(har, "behind.har", False)
    assert beside[0]["rejects"] == 1 and beside[0]["http_errors"] == {"500": 1}


def test_a_flow_read_by_a_process_whose_caller_is_behind_converts_the_same(monkeypatch):
    flow = SAMPLES / "phone-sync.flow"
    monkeypatch.setattr(pipe, "BEHIND_BYTES", 0)
    assert any(isinstance(i, Decoded) for i in served_here(flow, "flow", "s.flow", ()))
    monkeypatch.setattr(pipeline, "read_capture_beside", served_here)
    assert converted(flow, "s.flow", True) == converted(flow, "s.flow", False)


def test_a_reading_process_decodes_once_the_pipe_holds_more_than_its_reader_has_read(tmp_path, monkeypatch):
    log = json.loads((SAMPLES / "phone-sync.har").read_text())
    log["log"]["entries"] = log["log"]["entries"][7:16] * 40  # device responses, some 4 MB of them
    har = tmp_path / "many.har"
    har.write_text(json.dumps(log))
    child = pipe._start(pipe._request(har, "har", "many.har", ()))
    unread = pipe._unread_counter(child.stdout)
    for _ in range(600):  # not read until the pipe is full: the reading process is behind from then on
        if unread() >= pipe.PIPE_BYTES // 2:
            break
        time.sleep(0.1)
    with child:
        items = list(_received(child.stdout))
    assert sum(isinstance(i, Decoded) for i in items) > 0
    monkeypatch.setattr(pipeline, "read_capture_beside", lambda *args, **kwargs: iter(items))
    assert converted(har, "many.har", True) == converted(har, "many.har", False)


def test_how_far_behind_the_caller_is_is_what_the_pipe_holds_unread():
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as reader, open(write_end, "wb", buffering=0) as writer:
        unread = pipe._unread_counter(writer)
        writer.write(b"x" * 1000)
        assert unread() == 1000
        reader.read(400)
        assert unread() == 600
    assert pipe._unread_counter(io.BytesIO())() == 0  # not a pipe: never behind


def test_the_caller_is_behind_by_what_the_pipe_holds_and_what_waits_on_the_queue_for_it():
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0), open(write_end, "wb", buffering=0) as writer:
        in_pipe, queued = pipe._unread_counter(writer), pipe._Backlog()
        writer.write(b"x" * 1000)
        assert not pipe._caller_behind(in_pipe, queued)
        queued.add(pipe.BEHIND_BYTES - 1000)  # the writing thread has not run yet: the parse is ahead all the same
        assert pipe._caller_behind(in_pipe, queued)
        queued.add(-1)
        assert not pipe._caller_behind(in_pipe, queued)
    queued.add(pipe.BEHIND_BYTES)  # not a pipe: its reader's pace is unknown, and the queue alone does not count
    assert not pipe._caller_behind(pipe._unread_counter(io.BytesIO()), queued)


def test_device_responses_the_caller_decodes_are_checked_as_json_by_the_reading_process(tmp_path, monkeypatch):
    """The caller parses their bodies without `check_json`; one over a limit, or not UTF-8 JSON, is checked there
    again, and rejected as before."""
    from converters import limits
    from converters.captures import sniff

    log = json.loads((SAMPLES / "phone-sync.har").read_text())
    entries = log["log"]["entries"]
    deep = json.loads(json.dumps(entries[7]))  # a Sense timeline nested past --max-depth: rejected for it
    deep["response"]["content"]["text"] = "[" * 150 + "]" * 150
    entries.append(deep)
    har = tmp_path / "checked.har"
    har.write_text(json.dumps(log))
    items = list(served_here(har, "har", "checked.har", ()))
    device = [i for i in items if isinstance(i, Exchange) and devices.match(i.host, i.method, i.path)]
    checked = [i for i in device if i.json_checked]
    assert checked and all(i.body for i in checked) and not device[-1].json_checked  # the deep one
    checks = []
    check_json = limits.check_json
    monkeypatch.setattr(limits, "check_json", lambda data, *args: checks.append(data) or check_json(data, *args))
    monkeypatch.setattr(pipeline, "read_capture_beside", lambda *args, **kwargs: iter(items))
    beside = converted(har, "checked.har", True)
    assert checks and not any(body is i.body for body in checks for i in checked)  # the deep one alone
    monkeypatch.setattr(limits, "check_json", check_json)
    assert beside == converted(har, "checked.har", False)
    assert beside[0]["rejects"] == 1


def test_a_body_checked_as_json_is_parsed_unchecked_and_checked_again_when_it_is_not_utf8():
    from converters import limits
    from converters.captures import sniff

    deep = ("[" * 150 + "]" * 150).encode()  # (no reading process flags it: the flag alone is tried here)
    with pytest.raises(limits.LimitHit):
        sniff.loads_json(deep)
    assert len(sniff.loads_json(deep, checked=True)) == 1
    for text in (deep.decode().encode("utf-16"), b"\xef\xbb\xbf" + deep):
        with pytest.raises(limits.LimitHit):
            sniff.loads_json(text, checked=True)
