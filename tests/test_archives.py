"""Zip and tar archives of captures: every member converts as the file it holds would, read in place (never
unpacked), named `archive.zip/inner.har`, with names, links and sizes that cannot lead anywhere they should not."""

from __future__ import annotations

import io
from dataclasses import replace
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO
from typer.testing import CliRunner

from converters import participants
from converters.captures.archives import ArchiveError, ArchiveMember, archive_kind, members
from converters import limits
from converters.limits import DEFAULT
from converters.cli import app
from converters.pipeline import Input, collect_inputs, convert
from converters.progress import BytesRead

SAMPLES = REPO / "samples"
HAR, FLOW = SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow"
TAR_MODES = {"caps.tar": "w", "caps.tar.gz": "w:gz", "caps.tgz": "w:gz", "caps.tar.bz2": "w:bz2", "caps.tar.xz": "w:xz"}


def study_zip(path: Path, **extra: bytes) -> Path:
    """A participant's zip: a HAR in a folder, a flow dump at the top, a stray note, macOS's litter."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(HAR, "p07/phone-sync.har")
        z.write(FLOW, "phone-sync.flow")
        z.writestr("notes.txt", "sent from my phone")
        z.writestr("__MACOSX/p07/._phone-sync.har", b"\0\x05\x16\x07")
        z.writestr("p07/.DS_Store", b"\0\0\0\1Bud1")
        for name, data in extra.items():
            z.writestr(name, data)
    return path


def study_tar(path: Path, mode: str) -> Path:
    with tarfile.open(path, mode) as t:
        t.add(HAR, "./p07/phone-sync.har")  # as `tar -C folder .` names them
        t.add(FLOW, "./phone-sync.flow")
        note = tarfile.TarInfo("./notes.txt")
        note.size = 18
        t.addfile(note, io.BytesIO(b"sent from my phone"))
    return path


def tables_without_source(result) -> dict[str, pl.DataFrame]:
    return {name: df.drop("source_file") for name, df in result.tables.items() if "source_file" in df.columns}


@pytest.fixture(scope="module")
def plain():
    return convert(collect_inputs([HAR, FLOW]))


@pytest.mark.parametrize("name", ["caps.zip", *TAR_MODES])
def test_every_member_of_an_archive_converts_as_the_files_themselves(tmp_path, plain, name):
    archive = study_zip(tmp_path / name) if name.endswith(".zip") else study_tar(tmp_path / name, TAR_MODES[name])
    result = convert(collect_inputs([archive]))
    archive_name = str(archive)
    assert [(f.file, f.status) for f in result.files] == [
        (f"{archive_name}/p07/phone-sync.har", "ok"),
        (f"{archive_name}/phone-sync.flow", "ok"),
        (f"{archive_name}/notes.txt", "skipped"),
    ]
    converted = tables_without_source(result)
    assert converted.keys() == tables_without_source(plain).keys()
    for table, df in tables_without_source(plain).items():
        assert converted[table].equals(df), table
    assert set(result.tables["band_events"]["source_file"]) <= {f"{archive_name}/p07/phone-sync.har",
                                                                 f"{archive_name}/phone-sync.flow"}
    har = next(f for f in result.files if f.file.endswith(".har"))
    assert (har.size_bytes, har.format) == (HAR.stat().st_size, "har")
    assert har.sha256 == next(f.sha256 for f in plain.files if f.file.endswith(".har"))


def test_archive_members_convert_in_worker_processes_and_beside_a_reading_process(tmp_path, plain):
    archive = study_zip(tmp_path / "caps.zip")
    inputs = collect_inputs([archive])
    assert all(isinstance(i.path, ArchiveMember) for i in inputs)
    in_workers = convert(inputs, jobs=2)  # three members: each converted in a worker of its own
    one_beside = convert([inputs[0]], jobs=2)  # one member, two cores: parsed by a reading process
    assert in_workers.tables["band_events"].equals(convert(inputs).tables["band_events"])
    alone = convert([i for i in collect_inputs([HAR])])
    assert one_beside.tables["sense_nights"].drop("source_file").equals(alone.tables["sense_nights"].drop("source_file"))


def test_an_archive_found_in_a_folder_is_named_below_it_and_its_folders_pseudonymised(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    study_zip(study / "anna-schmidt.zip")
    rules = [participants.Rule("*/p07/*", "p07"), participants.Rule("*", "other")]
    inputs = participants.assign(collect_inputs([study]), rules=rules, key=b"k" * 32)
    names = [i.name for i in inputs]
    assert names == ["study/anna-schmidt.zip/p07/phone-sync.har", "study/anna-schmidt.zip/phone-sync.flow",
                     "study/anna-schmidt.zip/notes.txt"]
    assert inputs[0].participant_id == participants.pseudonym("p07", b"k" * 32)
    assert inputs[1].participant_id == participants.pseudonym("other", b"k" * 32)
    for inp in inputs:
        assert "anna" not in inp.source_file and "p07" not in inp.source_file.rpartition("/")[0]
        assert inp.source_file.startswith("d-")


def test_member_names_that_leave_the_archive_are_refused_and_links_are_never_followed(tmp_path):
    outside = tmp_path / "secret.har"
    outside.write_bytes(HAR.read_bytes())
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as t:
        t.add(HAR, "good.har")
        t.add(HAR, "../escape.har")
        absolute = t.gettarinfo(HAR, "absolute.har")
        absolute.name = "/etc/absolute.har"  # (`add` would take the slash off)
        with open(HAR, "rb") as f:
            t.addfile(absolute, f)
        link = tarfile.TarInfo("link.har")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        t.addfile(link)
        hard = tarfile.TarInfo("hard.har")
        hard.type, hard.linkname = tarfile.LNKTYPE, "../secret.har"
        t.addfile(hard)
    result = convert(collect_inputs([archive]))
    by_name = {f.file.removeprefix(f"{archive}/"): f for f in result.files}
    assert by_name["good.har"].status == "ok"
    for name in ("../escape.har", "/etc/absolute.har"):
        assert (by_name[name].status, by_name[name].exchanges) == ("failed", 0)
        assert "leaves the archive" in by_name[name].error
    for name in ("link.har", "hard.har"):
        assert (by_name[name].status, by_name[name].exchanges) == ("skipped", 0)
        assert "not followed" in by_name[name].error
    assert set(result.tables["band_events"]["source_file"]) == {f"{archive}/good.har"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar", "secret.har"]  # nothing unpacked anywhere


def test_a_zip_member_declared_far_bigger_than_its_data_is_refused_unread(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.har", b"\0" * (20 << 20))  # 20 MB of zeros: about 20 kB, 1000 times smaller
        z.write(HAR, "good.har")
    result = convert(collect_inputs([archive]))
    bomb, good = result.files
    assert (bomb.status, good.status) == ("failed", "ok")
    assert "times bigger once decompressed (more than 250x, --max-ratio): not read" in bomb.error
    raised = convert(collect_inputs([archive], budget=replace(DEFAULT, max_ratio=2000))).files
    assert [(f.status, f.error) for f in raised] == [("failed", "not a HAR file or a mitmproxy flow dump"), ("ok", None)]


def test_archives_past_the_limits_fail_as_a_whole_with_the_limit_named(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"c{i}.har", b"{}")
    kind = archive_kind(archive)
    with pytest.raises(ArchiveError, match=r"more than 4 members in the zip archive \(--max-members\): not read"):
        members(archive, kind, replace(DEFAULT, max_members=4))
    with pytest.raises(ArchiveError, match=r"zip archive of more than 9 bytes once decompressed \(--max-archive\)"):
        members(archive, kind, replace(DEFAULT, max_archive=9))
    assert len(members(archive, kind)) == 5


@pytest.mark.parametrize("declared", [1, 65_535])
def test_a_zip_is_held_to_max_members_by_the_entries_its_directory_holds_not_the_count_it_declares(
        tmp_path, monkeypatch, declared):
    """Before: the limit was checked on the count the end record declares, and zipfile (which ignores that count)
    then built an object for every entry of the directory: a 58 MB zip declaring 1 entry but holding a million took
    576 MB and 15 s to be refused, and a zip declaring 65,535 entries but holding 5 was refused unread. Now the
    directory's entries are counted as its bytes are walked, before zipfile reads any of them."""
    archive = tmp_path / "declared.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"c{i}.har", b"{}")
    data = bytearray(archive.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = declared.to_bytes(2, "little") * 2  # entries on this disk, entries in all
    archive.write_bytes(bytes(data))
    kind = archive_kind(archive)
    assert len(members(archive, kind)) == 5
    read = []
    real = zipfile.ZipFile._RealGetContents
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: read.append(1) or real(self))
    with pytest.raises(ArchiveError, match=r"more than 4 members in the zip archive \(--max-members\): not read"):
        members(archive, kind, replace(DEFAULT, max_members=4))
    assert read == []  # refused before zipfile read the directory


def test_members_whose_data_overlaps_are_a_zip_bomb(tmp_path):
    archive = tmp_path / "overlap.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.har", b"x" * 1000)
    data = bytearray(archive.read_bytes())
    # a second central directory entry for the same local data (how non-recursive zip bombs are built)
    end = data.rindex(b"PK\x05\x06")
    central = data[data.index(b"PK\x01\x02"):end]
    record = data[end:]
    central_two = central + central.replace(b"a.har", b"b.har")
    record[8:10] = record[10:12] = (2).to_bytes(2, "little")
    record[12:16] = len(central_two).to_bytes(4, "little")
    archive.write_bytes(bytes(data[:data.index(b"PK\x01\x02")]) + central_two + record)
    (f,) = convert(collect_inputs([archive])).files
    assert (f.file, f.status, f.error) == (str(archive), "failed", "zip archive whose members overlap: not read (a zip bomb?)")


def test_a_damaged_member_fails_alone_with_one_line(tmp_path):
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.write(HAR, "bad.har")
        z.write(FLOW, "good.flow")
    data = bytearray(archive.read_bytes())
    spot = data.index(b'"entries"') + 2000
    data[spot:spot + 4] = b"XXXX"  # the stored HAR's text changes: its CRC no longer matches
    archive.write_bytes(bytes(data))
    bad, good = convert(collect_inputs([archive])).files
    assert good.status == "ok"
    assert bad.status in ("partial", "failed") and "damaged inside the archive: Bad CRC-32" in bad.error


def test_a_damaged_members_folders_are_not_quoted_in_its_error_where_they_are_pseudonymised(tmp_path):
    """zipfile names the member it found damaged (`Bad CRC-32 for file 'carol-diary/bad.har'`): the error said so
    into stderr, report.json and inspect, where --pseudonymize hides the folders of what it names."""
    archive = tmp_path / "incoming" / "bob-jones" / "phone.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.write(HAR, "carol-diary/bad.har")
    data = bytearray(archive.read_bytes())
    spot = data.index(b'"entries"') + 2000
    data[spot:spot + 4] = b"XXXX"
    archive.write_bytes(bytes(data))
    key = tmp_path / "study.key"
    key.write_text("a key of the study team, 32 bytes")
    pseudonymised = ["--pseudonymize", "--key-file", key, "--jobs", "1"]
    result = CliRunner().invoke(app, [str(a) for a in ["convert", tmp_path / "incoming", "-o", tmp_path / "out",
                                                       *pseudonymised]])
    inspected = CliRunner().invoke(app, [str(a) for a in ["inspect", tmp_path / "incoming", *pseudonymised]])
    assert "damaged inside the archive: Bad CRC-32" in result.output
    for text in (result.output, inspected.output, (tmp_path / "out" / "report.json").read_text()):
        assert "carol" not in text and "bob" not in text


def test_a_zip_member_flagged_utf8_whose_name_is_not_is_read_with_the_others(tmp_path):
    """zipfile refuses the whole listing over such a name (UnicodeDecodeError): the archive failed, its good members
    unread. It is named with its bytes, as a file on disk of that name is."""
    archive = tmp_path / "names.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(HAR, "p07/caf\u00e9.har")  # a name that is not ASCII: written UTF-8, with the flag
        z.write(FLOW, "p07/good.flow")
    archive.write_bytes(archive.read_bytes().replace("caf\u00e9".encode(), b"caf\xe9\xe9"))  # Latin-1, as some tools
    inputs = collect_inputs([archive])
    assert [i.name for i in inputs] == [f"{archive}/p07/caf\\xe9\\xe9.har", f"{archive}/p07/good.flow"]
    odd, good = convert(inputs).files
    assert (odd.status, good.status) == ("ok", "ok")
    assert odd.device_responses == convert([Input(HAR, "x", True)]).files[0].device_responses


def test_a_damaged_archive_is_one_failed_input(tmp_path):
    archive = tmp_path / "cut.zip"
    archive.write_bytes(study_zip(tmp_path / "whole.zip").read_bytes()[:-30])  # the central directory's end cut off
    assert archive_kind(archive) == ("zip", None)
    (f,) = convert(collect_inputs([archive])).files
    assert (f.file, f.status) == (str(archive), "failed") and f.error.startswith("damaged zip archive: ")


def test_a_gzipped_capture_is_a_capture_not_an_archive(tmp_path):
    import gzip

    gz = tmp_path / "c.har.gz"
    gz.write_bytes(gzip.compress(HAR.read_bytes()))
    assert archive_kind(gz) is None
    assert [i.path for i in collect_inputs([gz])] == [gz]


def test_the_command_converts_an_archive_and_a_rerun_skips_its_unchanged_members(tmp_path):
    archive = study_zip(tmp_path / "caps.zip")
    runner = CliRunner()
    first = runner.invoke(app, ["convert", str(archive), "-o", str(tmp_path / "out")])
    assert first.exit_code == 0, first.output
    assert f"  {archive}/notes.txt: skipped: not a HAR file or a mitmproxy flow dump\n" in first.stderr
    again = runner.invoke(app, ["convert", str(archive), "-o", str(tmp_path / "out")])
    assert "databack: 3 inputs already converted unchanged" in again.stderr
    inspected = runner.invoke(app, ["inspect", str(archive)])
    assert inspected.exit_code == 0 and "sense/timeline-v2" in inspected.stdout


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="file offsets are read from /proc (Linux)")
def test_bytes_read_follows_a_zip_member_being_read_in_another_process(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("first.har", b"y" * 50_000)
        z.writestr("big.har", b"x" * 5_000_000)
    first, big = (m for m in members(archive, archive_kind(archive)))
    reader = subprocess.Popen(
        [sys.executable, "-c", "import pickle,sys,time; m=pickle.loads(sys.stdin.buffer.read()); "
         "f=m.open(); f.read(400_000); print(flush=True); time.sleep(30)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        import pickle

        reader.stdin.write(pickle.dumps(big))
        reader.stdin.close()
        reader.stdout.readline()
        progress = BytesRead([first, big])
        assert progress.total == 5_050_000
        assert 300_000 < progress.read() < 3_000_000  # within the big member (read a megabyte at a time, or less)
        progress.finished(first)
        progress.finished(big)
        assert progress.read() == 5_050_000
    finally:
        reader.kill()
        reader.wait()


def test_an_archive_member_is_no_path_to_open_by_mistake(tmp_path):
    (member, *_) = members(study_zip(tmp_path / "c.zip"), ("zip", None))
    with pytest.raises(TypeError, match="ArchiveMember"):
        open(member, "rb")
    assert member.read_bytes() == HAR.read_bytes()
    assert isinstance(Input(member, "c.zip/p07/phone-sync.har", False).path, ArchiveMember)


def test_an_archive_inside_an_archive_is_said_to_be_one_and_not_opened(tmp_path):
    inner = study_zip(tmp_path / "inner.zip")
    outer = tmp_path / "outer.tar.gz"
    with tarfile.open(outer, "w:gz") as t:
        t.add(inner, "inner.zip")
        t.add(HAR, "sync.har")
    nested, har = convert(collect_inputs([outer])).files
    assert (nested.file, nested.status, nested.error) == (
        f"{outer}/inner.zip", "skipped", "an archive inside an archive: not opened (unpack the outer one)")
    assert har.status == "ok"


def test_an_archive_piped_on_standard_input_is_read_member_by_member(tmp_path):
    archive = study_zip(tmp_path / "caps.zip")
    result = CliRunner().invoke(app, ["convert", "-", "-o", str(tmp_path / "out"), "--json"],
                                input=archive.read_bytes())
    assert result.exit_code == 0, result.output
    import json

    files = [f["file"] for f in json.loads(result.stdout)["files"]]
    assert files == ["<stdin>/p07/phone-sync.har", "<stdin>/phone-sync.flow", "<stdin>/notes.txt"]


def test_a_compressed_tar_bomb_is_stopped_at_its_header_before_its_data_is_decompressed(tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(HAR, "good.har")
        zeros = tarfile.TarInfo("zeros.har")
        zeros.size = 40 << 20
        t.addfile(zeros, io.BytesIO(bytes(zeros.size)))
    assert archive.stat().st_size < 200_000
    (f,) = convert(collect_inputs([archive])).files
    assert (f.file, f.status, f.error) == (
        str(archive), "failed", "gz tar archive more than 250 times bigger once decompressed (--max-ratio): not read "
        "(a zip bomb?)")


def test_an_archive_read_through_a_pipe_is_read_member_by_member(tmp_path):
    import json
    import threading

    archive = study_zip(tmp_path / "caps.zip")
    read_end, write_end = os.pipe()  # as `<(cat caps.zip)` gives one: /dev/fd/N

    def write() -> None:
        with open(write_end, "wb") as f:
            f.write(archive.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        pipe = f"/dev/fd/{read_end}"
        result = CliRunner().invoke(app, ["convert", pipe, "-o", str(tmp_path / "out"), "--json"])
    finally:
        writer.join()
        os.close(read_end)
    assert result.exit_code == 0, result.output
    assert [f["file"] for f in json.loads(result.stdout)["files"]] == [
        f"{pipe}/p07/phone-sync.har", f"{pipe}/phone-sync.flow", f"{pipe}/notes.txt"]


def test_the_archive_limits_are_options_of_every_command_that_reads_captures(tmp_path):
    archive = study_zip(tmp_path / "caps.zip")
    runner = CliRunner()
    few = runner.invoke(app, ["convert", str(archive), "-o", str(tmp_path / "a"), "--max-members", "4"])
    assert few.exit_code == 1
    assert f"  {archive}: failed: more than 4 members in the zip archive (--max-members): not read (a zip bomb?)" \
        in few.stderr.splitlines()
    small = runner.invoke(app, ["convert", str(archive), "-o", str(tmp_path / "b"), "--max-member", "1KiB"])
    assert small.exit_code == 1
    too_big = "once decompressed, more than the limit of 1 KiB for one member (--max-member): not read"
    assert sum(too_big in line for line in small.stderr.splitlines()) == 2  # the two captures; the note is smaller
    total = runner.invoke(app, ["inspect", str(archive), "--max-archive", "1KiB"], env={"COLUMNS": "300"})
    assert total.exit_code == 1 and "zip archive of more than 1 KiB once decompressed (--max-archive)" in total.stdout
    raised = runner.invoke(app, ["convert", str(archive), "-o", str(tmp_path / "c"), "--max-members", "5",
                                 "--max-member", "1GiB", "--max-archive", "2GiB"])
    assert raised.exit_code == 0, raised.stderr
    for command in ("convert", "inspect", "scrub"):
        usage = runner.invoke(app, [command, "--help"]).stdout
        assert all(option in usage for option in limits.LIMIT_OPTIONS.values()), command


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_a_compressed_tar_of_many_members_is_decompressed_a_few_times_not_once_a_member(tmp_path, monkeypatch, mode):
    """Each member was read (sniffed, hashed, parsed) by decompressing the archive from its start: a 300 KB .tar.gz
    of 1,000 small members took minutes to convert or inspect, 10,000 of them hours. Counted: the bytes the
    decompressors give, over the archive's size once decompressed."""
    from converters import inspect_captures
    from converters.captures import archives

    archive = tmp_path / "many.tar"
    with tarfile.open(archive, mode) as t:
        for i in range(150):
            junk = tarfile.TarInfo(f"p07/{i:03d}.txt")
            junk.size = 8_000
            t.addfile(junk, io.BytesIO(os.urandom(200) + bytes(7_800)))
        t.add(HAR, "p07/phone-sync.har")
    whole = sum(m.size + 1024 for m in members(archive, archive_kind(archive)))  # (its headers: 512 B and padding)
    given = []

    class Counted(io.RawIOBase):
        def __init__(self, stream):
            self.stream = stream

        def readable(self):
            return True

        def readinto(self, buffer):
            data = self.stream.read(len(buffer))
            buffer[: len(data)] = data
            given.append(len(data))
            return len(data)

        def close(self):
            self.stream.close()
            super().close()

    decompressed = archives._decompressed
    monkeypatch.setattr(archives, "_decompressed", lambda raw, kind: io.BufferedReader(Counted(decompressed(raw, kind))))
    result = convert(collect_inputs([archive]))
    assert [f.status for f in result.files].count("ok") == 1 and len(result.files) == 151
    assert result.tables["sense_nights"].height == 3
    assert next(f.sha256 for f in result.files if f.status == "ok") == convert(collect_inputs([HAR])).files[0].sha256
    again = collect_inputs([archive])
    inspect_captures.inspect(again, quick=True)
    inspect_captures.inspect(again)
    assert sum(given) < 8 * whole  # 5 times (listed twice, converted, inspected twice); on integ 472 times (gz)


def _tar_headers(count: int, kind: bytes, size: int) -> bytes:
    """`count` headers of `kind` (a GNU long name: L; a pax header: x), each of `size` bytes of data, then a HAR."""
    def header(name: str, kind: bytes, size: int) -> bytes:
        fields = {"name": name, "mode": 0o644, "uid": 0, "gid": 0, "size": size, "mtime": 0, "type": kind,
                  "linkname": "", "uname": "", "gname": "", "devmajor": 0, "devminor": 0, "prefix": ""}
        return tarfile.TarInfo._create_header(fields, tarfile.GNU_FORMAT, "utf-8", "surrogateescape")

    def padded(data: bytes) -> bytes:
        return data + bytes(-len(data) % 512)

    record = b"%d path=x\n" % (len("path=x\n") + 3) if kind == b"x" else b"x" * 10
    data = record if size <= len(record) else padded(record) + bytes(size - len(padded(record)))
    return (b"".join(header("././@LongLink", kind, size) + padded(data) for _ in range(count))
            + header("p07/phone-sync.har", b"0", HAR.stat().st_size) + padded(HAR.read_bytes()) + bytes(1024))


@pytest.mark.parametrize("name, count, kind, size, reason", [
    ("chain.tar.gz", 3_000, b"L", 10, "more than 32 long name or pax headers before a member"),
    ("chain.tar", 3_000, b"x", 10, "more than 32 long name or pax headers before a member"),
    ("long.tar.gz", 1, b"L", 64 << 20, "a header of 64 MiB (a long name or pax header, more than 1 MiB)"),
    ("pax.tar.gz", 1, b"x", 64 << 20, "a header of 64 MiB (a long name or pax header, more than 1 MiB)"),
])
def test_a_tar_of_long_name_or_pax_headers_past_their_bounds_is_one_failed_input(tmp_path, name, count, kind, size, reason):
    """tarfile reads a long name's or pax header's data whole, and reads the header it extends by calling itself:
    a 1 MB .tar.gz with a long name of 1 GiB took 3.2 GB, 3,000 long names in a row (50 KB) a RecursionError that ended
    the whole run with a traceback, the other inputs unconverted."""
    import gzip
    import tracemalloc

    data = _tar_headers(count, kind, size)
    archive = tmp_path / name
    archive.write_bytes(gzip.compress(data, 6, mtime=0) if name.endswith(".gz") else data)
    tracemalloc.start()
    try:
        inputs = collect_inputs([archive, HAR])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    result = convert(inputs)
    assert [(f.status, f.error) for f in result.files] == [
        ("failed", f"tar archive with {reason}: not read (a tar bomb?)"), ("ok", None)]
    assert result.tables["sense_nights"].height == 3


def test_a_compressed_tar_is_weighed_against_max_ratio_as_it_is_listed_not_only_by_its_members_sizes(tmp_path):
    import gzip

    headers = _tar_headers(20, b"x", 1 << 20)  # 20 MiB of pax headers before a small member: no member's size
    archive = tmp_path / "pax.tar.gz"
    archive.write_bytes(gzip.compress(headers, 9, mtime=0))
    assert archive.stat().st_size < 80_000
    (f,) = convert(collect_inputs([archive])).files
    assert (f.status, f.error) == ("failed", "gz tar archive more than 250 times bigger once decompressed "
                                              "(--max-ratio): not read (a zip bomb?)")


def test_a_tar_whose_global_pax_header_every_member_would_copy_is_one_failed_input(tmp_path):
    """tarfile gives every member after a global pax header a copy of its keywords, and keeps every member: a 230 KB
    .tar.gz of a global header of 107,000 keywords and 300 members took 1.2 GB to list, 10,000 members some 40 GB."""
    archive = tmp_path / "global.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT,
                      pax_headers={f"k{i}": "" for i in range(1_000)}) as t:
        for i in range(5):
            t.add(HAR, f"p07/{i}.har")
    result = convert(collect_inputs([archive, HAR]))
    assert [(f.status, f.error) for f in result.files] == [
        ("failed", "tar archive with pax headers of more than 128 keywords for a member: not read (a tar bomb?)"),
        ("ok", None)]
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT, pax_headers={f"k{i}": "" for i in range(20)}) as t:
        for i in range(5):
            t.add(HAR, f"p07/{i}.har")  # (a few keywords, as archivers write them: read)
    assert [f.status for f in convert(collect_inputs([archive])).files] == ["ok"] * 5


def test_a_sparse_member_is_refused_and_its_map_never_gathered(tmp_path):
    """A GNU sparse member (tar -S) was read as the bytes that lie in the archive, which are not its data (holes
    left out: 'damaged', or other bytes); and tarfile gathers each region of its map (a 900 KB .tar.gz of 200 MB of
    map blocks took 670 MB to list). It is refused, its map passed over; the members after it convert."""
    import gzip
    import tracemalloc

    header = bytearray(tarfile.TarInfo._create_header(
        {"name": "p07/holes.har", "mode": 0o644, "uid": 0, "gid": 0, "size": 0, "mtime": 0,
         "type": tarfile.GNUTYPE_SPARSE, "linkname": "", "uname": "", "gname": "", "devmajor": 0, "devminor": 0,
         "prefix": ""}, tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
    header[482], header[483:495] = 1, b"%011o\0" % 4096  # extended; its size with the holes
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    block = bytearray(b"".join(b"%011o\0%011o\0" % (i + 1, 1) for i in range(21)) + bytes(8))
    block[504] = 1
    last = bytes(block[:504]) + bytes(8)
    good = tarfile.TarInfo("p07/phone-sync.har")
    good.size = HAR.stat().st_size
    data = (bytes(header) + bytes(block) * 100_000 + last + good.tobuf(tarfile.GNU_FORMAT) + HAR.read_bytes()
            + bytes(-good.size % 512) + bytes(1024))
    archive = tmp_path / "sparse.tar.gz"
    archive.write_bytes(gzip.compress(data, 9, mtime=0))
    tracemalloc.start()
    try:
        inputs = collect_inputs([archive])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    result = convert(inputs)
    assert [(f.file.rpartition("/")[2], f.status, f.error) for f in result.files] == [
        ("holes.har", "failed", "a sparse file inside the archive (tar -S): not read"), ("phone-sync.har", "ok", None)]


def test_a_conversion_leaves_no_archive_open_in_the_process_that_goes_on(tmp_path):
    """Members of a compressed tar are read on from where the last one was left (`archives._Cursors`), the streams
    kept open in the process: after `convert` a notebook held the archive open (on Windows, it could not be
    deleted). `convert` closes them once it is done."""
    from converters import convert

    archive = tmp_path / "caps.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(HAR, "p07/a.har")
        t.add(HAR, "p07/b.har")
    convert(archive, tmp_path / "out", jobs=1)
    opened = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert str(archive.resolve()) not in opened
