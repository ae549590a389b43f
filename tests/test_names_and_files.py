"""Names and files as the operating system gives them: a name that is not UTF-8 converts and is written in a lossless
text form, an unreadable folder fails (never passed over), a pipe or device named on the command line is read once
or refused in one line, a file named like a capture that is not one fails; and nothing a capture or a file name
holds reaches a terminal as a control character."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input, collect_inputs, convert_file, text_name
from converters.terminal import safe, safe_lines

runner = CliRunner()
NON_UTF8 = os.fsdecode(b"caf\xe9-\xff.har")  # as Python holds the name the OS gives


def run(*args):
    return runner.invoke(app, [str(a) for a in args], prog_name="databack")


def good_capture(path: Path) -> Path:
    return write_har(path, [entry(BAND_EVENTS_URL, band_event())])


def name_bytes(text: str) -> bytes:
    """The inverse of `text_name`, as the README documents it."""
    if "\\x" not in text:
        return text.encode()
    return re.sub(rb"\\(\\|x([0-9a-f]{2}))", lambda m: bytes.fromhex(m[2].decode()) if m[2] else b"\\",
                  text.encode())


@given(st.binary(min_size=1, max_size=30))
def test_the_text_form_of_any_name_is_lossless(raw):
    name = os.fsdecode(raw)
    text = text_name(name)
    text.encode("utf-8")  # always writable as UTF-8
    if text != name or "\\x" in text:
        assert name_bytes(text) == raw


def test_a_name_that_is_not_utf8_converts_and_is_written_escaped(tmp_path):
    folder = tmp_path / "p07"
    folder.mkdir()
    good_capture(folder / NON_UTF8)
    good_capture(folder / "good.har")
    result = run("convert", folder, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [f["file"] for f in report["files"]] == ["p07/caf\\xe9-\\xff.har", "p07/good.har"]
    assert set(pl.read_parquet(tmp_path / "out" / "band_events.parquet")["source_file"]) >= {"p07/good.har"}
    inspected = run("inspect", folder, "--json")
    assert inspected.exit_code == 0 and "p07/caf\\\\xe9-\\\\xff.har" in inspected.stdout


def test_an_unreadable_folder_fails_with_its_reason_and_the_rest_converts(tmp_path, monkeypatch):
    (tmp_path / "study" / "p01").mkdir(parents=True)
    (tmp_path / "study" / "p02").mkdir()
    good_capture(tmp_path / "study" / "p01" / "a.har")
    good_capture(tmp_path / "study" / "p02" / "b.har")
    scandir = os.scandir

    def refusing(path=None):
        if str(path).endswith("p02"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    inputs = collect_inputs([tmp_path / "study"])
    assert [(i.name, i.error) for i in inputs] == [
        ("study/p01/a.har", None), ("study/p02", "cannot read the folder: Permission denied")]
    result = run("convert", tmp_path / "study", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "  study/p02: failed: cannot read the folder: Permission denied" in result.stderr.splitlines()


def test_what_a_folder_holds_that_is_no_file_is_never_passed_over_in_silence(tmp_path):
    import socket

    study, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    (study / "p07").mkdir(parents=True)
    elsewhere.mkdir()
    good_capture(study / "p07" / "a.har")
    good_capture(elsewhere / "b.har")
    (study / "p07" / "sync.har").symlink_to(tmp_path / "gone.har")  # the capture it named moved or deleted
    (study / "loop.har").symlink_to("loop.har")
    (study / "linked").symlink_to(elsewhere)
    os.mkfifo(study / "p07" / "pipe.har")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(study / "p07" / "agent.sock"))
        (study / ".hidden.har").symlink_to(tmp_path / "gone.har")  # hidden: left out, as hidden files are
        result = run("convert", study, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 1, result.stderr
    files = {f["file"]: (f["status"], f["error"]) for f in json.loads(result.stdout)["files"]}
    assert files == {
        "study/linked": ("skipped", "a symbolic link to a folder: not followed"),
        "study/loop.har": ("failed", "cannot read: Too many levels of symbolic links"),
        "study/p07/a.har": ("ok", None),
        "study/p07/agent.sock": ("skipped", "a socket, not a capture file: not read"),
        "study/p07/pipe.har": ("skipped", "a named pipe, not a capture file: not read (name it on the command line to "
                                          "read it once)"),
        "study/p07/sync.har": ("failed", "a symbolic link to nothing: not read"),
    }
    assert "  study/p07/sync.har: failed: a symbolic link to nothing: not read" in result.stderr.splitlines()


def test_a_file_named_like_a_capture_that_is_not_one_fails_and_a_stray_file_is_skipped(tmp_path):
    folder = tmp_path / "p07"
    folder.mkdir()
    good_capture(folder / "a.har")
    (folder / "p07.har").write_text("<!doctype html><html><body>Sign in</body></html>")
    (folder / "empty.flow").write_bytes(b"")
    (folder / "README.txt").write_text("notes")
    (folder / "notes.json").write_text('{"log": []}')
    result = run("convert", folder, "-o", tmp_path / "out", "--json")
    files = {f["file"]: (f["status"], f["error"]) for f in json.loads(result.stdout)["files"]}
    assert files == {
        "p07/a.har": ("ok", None),
        "p07/p07.har": ("failed", "not a HAR file or a mitmproxy flow dump"),
        "p07/empty.flow": ("failed", "empty file"),
        "p07/README.txt": ("skipped", "not a HAR file or a mitmproxy flow dump"),
        "p07/notes.json": ("skipped", "JSON but not a HAR file (no log.entries)"),
    }
    assert result.exit_code == 1


def test_a_log_without_entries_is_never_read_as_a_device_response(tmp_path):
    for text in ('{"log": []}', '{"log": {"version": "1.2"}}'):
        path = tmp_path / "room.json"
        path.write_text(text)
        report, tables = convert_file(Input(path, "room.json", True, endpoint="sense/room-current"))
        assert (report.status, report.error, report.device_responses, tables) == (
            "failed", "JSON but not a HAR file (no log.entries)", {}, {})


@contextmanager
def fed_pipe(data: bytes):
    """`/dev/fd/N` of a pipe a thread writes `data` into, as `<(cat x.har)` gives one."""
    read_end, write_end = os.pipe()

    def feed():
        with os.fdopen(write_end, "wb") as w:
            w.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        yield f"/dev/fd/{read_end}"
    finally:
        writer.join()
        os.close(read_end)


def test_process_substitution_is_read_once(tmp_path):
    with fed_pipe(good_capture(tmp_path / "a.har").read_bytes()) as piped:
        result = run("convert", piped, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    (f,) = json.loads(result.stdout)["files"]
    assert (f["file"], f["status"], f["device_responses"]) == (piped, "ok", {"band/events": 1})


def test_a_pipe_whose_writer_has_written_nothing_yet_is_waited_on_not_refused(tmp_path):
    from converters.captures import spool_pipe

    read_end, write_end = os.pipe()  # the writer holds it open and writes only once the first read found it empty
    spooled: list = []
    reading = threading.Thread(target=lambda: spooled.append(spool_pipe(Path(f"/dev/fd/{read_end}"), tmp_path)))
    reading.start()
    while reading.is_alive() and not list(tmp_path.glob("pipe-*")):  # the spool is made after that first read
        reading.join(0.01)
    with os.fdopen(write_end, "wb") as w:
        w.write(b"late bytes")
    reading.join()
    os.close(read_end)
    ((path, error),) = spooled
    assert error is None and path.read_bytes() == b"late bytes"


def test_a_named_pipe_nothing_writes_into_and_a_device_are_refused_in_one_line(tmp_path):
    fifo = tmp_path / "capture.har"
    os.mkfifo(fifo)
    result = run("convert", fifo, "/dev/null", "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"  {fifo}: failed: a named pipe that nothing writes into: not read" in lines
    assert "  /dev/null: failed: a device, not a capture file: not read" in lines


# --- terminal -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("plain é 日本 name.har", "plain é 日本 name.har"),
    ("red\x1b[31mname\x1b[0m", "red\\x1b[31mname\\x1b[0m"),
    ("bell\x07 tab\t cr\r nl\n del\x7f", "bell\\x07 tab\\t cr\\r nl\\n del\\x7f"),
    ("csi\x9b31m", "csi\\u009b31m"),
    ("bidi\u202eevil", "bidi\\u202eevil"),
    (NON_UTF8, "caf\\xe9-\\xff.har"),
])
def test_safe_escapes_control_characters_and_is_idempotent(text, shown):
    assert safe(text) == shown and safe(safe(text)) == shown
    if "\n" not in text:
        assert safe_lines(f"{text}\n{text}") == f"{shown}\n{shown}"


@given(st.text())
def test_safe_text_has_no_control_characters(text):
    assert all(c.isprintable() or c == " " or not (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) for c in safe(text))
    assert "\x1b" not in safe(text) and "\x07" not in safe(text)


def test_escape_sequences_in_names_and_urls_reach_no_terminal_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_har(folder / "evil\x1b[31m\x07.har", [
        entry("https://example.com/\x1b[2J\x07/path", "x"),
        entry(BAND_EVENTS_URL, band_event()),
        {"request": {"url": 5}},  # a line about the file names it
    ])
    converted = run("convert", folder, "-o", tmp_path / "out")
    inspected = run("inspect", folder)
    for text in (converted.stderr, inspected.stdout, inspected.stderr):
        assert "\x1b" not in text and "\x07" not in text
    assert "in/evil\\x1b[31m\\x07.har: partial" in converted.stderr
    assert "  GET     /\\x1b[2J\\x07/path  " in inspected.stdout


def test_scrub_reads_a_pipe_once_and_refuses_a_device_in_one_line(tmp_path):
    with fed_pipe(good_capture(tmp_path / "a.har").read_bytes()) as piped:
        result = run("scrub", piped, "-o", tmp_path / "copy.har")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "copy.har").read_text())["log"]["entries"][0]["request"]["url"] == BAND_EVENTS_URL
    refused = run("scrub", "/dev/null", "-o", tmp_path / "null.har")
    assert (refused.exit_code, refused.stderr) == (2, "databack: not a file: /dev/null\n")


def test_json_output_escapes_del_c1_and_bidi_controls_and_keeps_the_value(tmp_path):
    url = "https://example.com/settings\x7f\x9b31m\x85\u202e/profile"  # DEL, CSI (C1 ESC [), NEL, RTL override
    capture = write_har(tmp_path / "c\x9b2J.har", [entry(url, "x"), entry(BAND_EVENTS_URL, band_event())])
    inspected = run("inspect", "--json", capture)
    converted = run("convert", "--json", capture, "-o", tmp_path / "out")
    for result in (inspected, converted):
        assert result.exit_code == 0, result.stderr
        assert not re.search("[\x7f-\x9f\u202e]", result.stdout + result.stderr)
    assert "\\u009b2J.har" in converted.stdout
    assert "/settings\\u007f\\u009b31m\\u0085\\u202e/profile" in inspected.stdout
    assert json.loads(inspected.stdout)["files"][0]["file"] == str(capture)  # the same value, once parsed


@given(st.text())
def test_safe_json_is_the_same_json_value_without_terminal_controls(text):
    import orjson

    from converters.terminal import safe_json
    try:
        encoded = orjson.dumps({"k": [text]}).decode()
    except orjson.JSONEncodeError:  # a lone surrogate: no UTF-8, never encoded
        return
    assert json.loads(safe_json(encoded)) == {"k": [text]}
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e]", safe_json(encoded))


# A file name is captured text too: a participant's export named after its session token or a sign-in form.
TOKEN_NAMED = {"sync_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.Qk9CX3NpZ25hdHVyZV8xMjM0.har": "Qk9CX3NpZ25hdHVyZV8xMjM0",
               "sync password=Hunter2Zq9x.har": "Hunter2Zq9x"}


def _token_named_captures(folder: Path) -> Path:
    folder.mkdir()
    for name in TOKEN_NAMED:
        good_capture(folder / name)
    with zipfile.ZipFile(folder.parent / "sent.zip", "w") as z:
        for name in TOKEN_NAMED:
            z.write(folder / name, f"phone/{name}")
    return folder.parent / "sent.zip"


def _every_text(out: Path) -> str:
    texts = [f.read_bytes().decode("utf-8", "replace") for f in sorted(out.rglob("*")) if f.is_file()]
    for f in sorted(out.rglob("*.parquet")):
        df = pl.read_parquet(f)
        texts += [str(v) for column in df.columns for v in df[column].to_list()]
    return "\n".join(texts)


def test_a_credential_in_a_file_name_reaches_no_output(tmp_path):
    archive = _token_named_captures(tmp_path / "p07")
    converted = run("convert", tmp_path / "p07", archive, "-o", tmp_path / "out", "--json", "--debug")
    assert converted.exit_code == 0, converted.stderr
    shown = [converted.stdout, converted.stderr, run("report", tmp_path / "out").stdout]
    shown += [run("inspect", tmp_path / "p07", archive, *args).stdout for args in ([], ["--json"])]
    held = "\n".join([*shown, _every_text(tmp_path / "out")])
    assert [secret for secret in TOKEN_NAMED.values() if secret in held] == []
    assert sorted(f["file"].rpartition("/")[2] for f in json.loads(converted.stdout)["files"]) == [
        "sync password=REDACTED.har", "sync password=REDACTED.har", "sync_REDACTED.har", "sync_REDACTED.har"]


def test_a_credential_in_a_file_name_an_older_databack_wrote_is_redacted_when_read_back(tmp_path, monkeypatch):
    from converters import redaction

    archive = _token_named_captures(tmp_path / "p07")
    with monkeypatch.context() as older:  # a databack that wrote file names as given
        older.setattr(redaction, "file_name", lambda name: name, raising=False)
        assert run("convert", tmp_path / "p07", "-o", tmp_path / "old").exit_code == 0
    assert "Hunter2Zq9x" in _every_text(tmp_path / "old")
    assert run("convert", archive, "-o", tmp_path / "old").exit_code == 0  # added to it
    assert run("merge", tmp_path / "old", "-o", tmp_path / "merged").exit_code == 0
    for out in ("old", "merged"):
        assert run("report", tmp_path / out).exit_code == 0
        assert [s for s in TOKEN_NAMED.values() if s in _every_text(tmp_path / out)] == [], out


def test_an_input_no_earlier_run_had_is_hashed_once_by_its_conversion(tmp_path, monkeypatch):
    """Only an input whose name an earlier run converted is hashed to tell whether it changed: a new one is hashed
    once, as it is read (a second pass over every file of a run otherwise)."""
    from converters import pipeline

    har = write_har(tmp_path / "a.har", [entry(BAND_EVENTS_URL, band_event("2519812557630091728"))])
    hashed = []
    monkeypatch.setattr(pipeline, "sha256_or_none", lambda path: hashed.append(path))
    pipeline.update([pipeline.Input(har, "a.har", True)], {}, [])
    assert hashed == [har]  # by its conversion, beside the parse


def test_files_whose_names_differ_only_by_a_credential_keep_their_rows_when_converted_again(tmp_path):
    """Both are `p07/sync password=REDACTED.har`: a rerun converts both again or skips both, never one alone
    (whose rows, filed under the shared name, would replace the other's)."""
    folder = tmp_path / "p07"
    folder.mkdir()
    write_har(folder / "sync password=Hunter2Zq9x.har", [entry(BAND_EVENTS_URL, band_event("2519812557630091728"))])
    changing = write_har(folder / "sync password=Wolke7Qp3r.har",
                         [entry(BAND_EVENTS_URL, band_event("2519812557630091999"))])
    events = tmp_path / "out" / "band_events.parquet"
    for _ in range(2):
        assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
        assert sorted(pl.read_parquet(events)["event_id"]) == ["2519812557630091728", "2519812557630091999"]
    changing.write_text(changing.read_text() + "\n")
    assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
    assert sorted(pl.read_parquet(events)["event_id"]) == ["2519812557630091728", "2519812557630091999"]


def test_a_file_whose_name_differs_from_an_earlier_ones_only_by_a_credential_keeps_that_files_rows_when_given_alone(
        tmp_path):
    """Both are `p07/sync password=REDACTED.har`: a later run given one of them, changed, adds its rows to the name's
    and the other file's rows (and report) stay, the passwords in neither."""
    folder = tmp_path / "p07"
    folder.mkdir()
    gone = write_har(folder / "sync password=Hunter2Zq9x.har", [entry(BAND_EVENTS_URL, band_event("2519812557630091728"))])
    changing = write_har(folder / "sync password=Wolke7Qp3r.har",
                         [entry(BAND_EVENTS_URL, band_event("2519812557630091999"))])
    out = tmp_path / "out"
    assert run("convert", folder, "-o", out).exit_code == 0
    gone.rename(tmp_path / "elsewhere.har")
    changing.write_text(changing.read_text() + "\n")
    result = run("convert", folder, "-o", out)
    assert result.exit_code == 0
    assert sorted(pl.read_parquet(out / "band_events.parquet")["event_id"]) == [
        "2519812557630091728", "2519812557630091999"]
    report = (out / "report.json").read_text()
    assert [f["file"] for f in json.loads(report)["files"]].count("p07/sync password=REDACTED.har") == 3
    for secret in ("Hunter2Zq9x", "Wolke7Qp3r"):
        assert secret not in report and secret not in result.output
    assert run("convert", folder, "-o", out).exit_code == 0  # unchanged now: skipped, its rows as they are
    assert sorted(pl.read_parquet(out / "band_events.parquet")["event_id"]) == [
        "2519812557630091728", "2519812557630091999"]


def test_files_whose_names_differ_only_by_a_credential_count_their_duplicates_once(tmp_path):
    """Copies are noted by the name a file is shown by: each report of a shared name was given all of the name's
    duplicates, so two such files counted theirs twice (the run's totals sum the files')."""
    named, shared = tmp_path / "named", tmp_path / "shared"
    for folder, names in ((named, ("a.har", "b.har")),
                          (shared, ("sync password=Hunter2Zq9x.har", "sync password=Wolke7Qp3r.har"))):
        folder.mkdir()
        for name in names:
            write_har(folder / name, [entry(BAND_EVENTS_URL, band_event("2519812557630091728"))])
        assert run("convert", folder, "-o", tmp_path / f"{folder.name}-out").exit_code == 0
    counts = [json.loads((tmp_path / f"{name}-out" / "report.json").read_text())["tables"]["band_events"]
              for name in ("named", "shared")]
    assert counts[0]["duplicates"] == 1 and counts[1] == counts[0]


def test_a_pseudonymised_run_adding_to_an_out_written_without_it_names_no_folder(tmp_path):
    """An OUT first written without --pseudonymize names each file with its folders and each participant by id (a
    person's name); a pseudonymised run adding to it kept both in every table and report.json, and converted the
    file again under its new name. They are pseudonymised as this run's are: the file is known and skipped."""
    folder = tmp_path / "incoming" / "Alice-Smith"
    folder.mkdir(parents=True)
    good_capture(folder / "phone.har")
    key = tmp_path / "study.key"
    key.write_text("a key of the study team, 32 bytes")
    out = tmp_path / "out"
    assert run("convert", tmp_path / "incoming", "-o", out, "--participant", "Alice-Smith").exit_code == 0
    result = run("convert", tmp_path / "incoming", "-o", out, "--participant", "Alice-Smith", "--pseudonymize", "--key-file", key)
    assert result.exit_code == 0 and "1 input already converted unchanged" in result.output
    texts = [result.output] + [f.read_bytes().decode("utf-8", "replace") for f in out.rglob("*") if f.is_file()]
    texts += [str(v) for f in out.glob("*.parquet") if f.name != "copies.parquet" for column in
              ("source_file", "participant_id") for v in pl.read_parquet(f)[column].to_list()]
    assert not [t for t in texts if "Alice" in t or "Smith" in t]
    assert pl.read_parquet(out / "band_events.parquet").height == 1
    [shown] = [f["file"] for f in json.loads((out / "report.json").read_text())["files"]]
    assert re.fullmatch(r"d-[0-9a-f]{16}/phone\.har", shown)


def test_a_random_token_or_base64_user_password_in_a_file_name_reaches_no_output(tmp_path):
    """A capture saved under its session's id (`sync-qMnz….har`) or named by base64 of `user:password` kept it in
    `source_file` (every table), report.json, the page and inspect: a file's name was redacted as STRICT text, by
    unambiguous shapes only. Random tokens and base64 `user:password` go too; hashes, dates and names of words and
    numbers (`HTTPToolkit_2024-03-02_10-11.har`) stay."""
    secrets = ("qMnzDMDSmJLlZrlXQficbBc44P9wWDJV", base64.b64encode(b"bo:Zq9x4Hunt").decode())
    names = [f"sync-{secrets[0]}.har", f"{secrets[1]}.har", "HTTPToolkit_2024-03-02_10-11.har",
             "3f9a1c2e5b7d4a60aa3f9a1c2e5b7d4a60aa3f9a.har"]
    (tmp_path / "p07").mkdir()
    for n, name in enumerate(names):
        write_har(tmp_path / "p07" / name, [entry(BAND_EVENTS_URL, band_event(str(2519812557630091728 + n)))])
    converted = run("convert", tmp_path / "p07", "-o", tmp_path / "out", "--json")
    assert converted.exit_code == 0, converted.stderr
    shown = [converted.stdout, converted.stderr, run("report", tmp_path / "out").stdout]
    shown += [run("inspect", tmp_path / "p07", *args).stdout for args in ([], ["--json"])]
    held = "\n".join([*shown, _every_text(tmp_path / "out")])
    assert [secret for secret in secrets if secret in held] == []
    assert sorted(f["file"] for f in json.loads(converted.stdout)["files"]) == [
        "p07/3f9a1c2e5b7d4a60aa3f9a1c2e5b7d4a60aa3f9a.har", "p07/HTTPToolkit_2024-03-02_10-11.har", "p07/REDACTED.har",
        "p07/REDACTED.har"]
