"""Captures at URLs that fsspec reads (`file://`, `zip://…::file://…`, and a filesystem registered here whose URLs
carry a user, a password and a signature, as signed object-store URLs do): listed as folders, globs and files, read
by the same readers as local files, named by their URLs less what they carry to reach the file, and a URL that
cannot be read is one failed input while the rest converts. OUT stays a local folder. Nothing leaves this machine."""

from __future__ import annotations

import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO
from typer.testing import CliRunner

from converters.cli import app

fsspec = pytest.importorskip("fsspec")
from fsspec.implementations.local import LocalFileSystem  # noqa: E402

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
USER, PASSWORD, SIGNATURE = "alice", "Pw-7c1d9e44b2", "9f3b2c71e0d54a6b8c2d1e0f9a8b7c6d"
NEEDLES = (PASSWORD, SIGNATURE, f"{USER}:")


class SignedFileSystem(LocalFileSystem):
    """Local files behind URLs that carry credentials, as HTTP's and signed object stores' do: the URLs it gives
    back (`unstrip_protocol`) hold the user, password and signature it was reached with."""

    protocol = "signedtest"
    root_marker = "/"

    @classmethod
    def _strip_protocol(cls, path):
        m = re.fullmatch(r"(?:signedtest://)?(?:[^@/]*@)?([^?]*)(?:\?.*)?", path)
        return m.group(1).rstrip("/") or "/"

    def unstrip_protocol(self, name: str) -> str:
        return f"signedtest://{USER}:{PASSWORD}@{name}?X-Amz-Signature={SIGNATURE}"


@pytest.fixture
def signed():
    fsspec.register_implementation(SignedFileSystem.protocol, SignedFileSystem, clobber=True)
    yield
    from fsspec.registry import _registry

    _registry.pop(SignedFileSystem.protocol, None)


@pytest.fixture
def captures(tmp_path):
    """study/p07/ with the two samples, a note, and hidden files that are never read."""
    folder = tmp_path / "study" / "p07"
    folder.mkdir(parents=True)
    for sample in SAMPLES:
        shutil.copy(sample, folder / sample.name)
    (folder / "notes.txt").write_text("not a capture")
    (folder / ".hidden.har").write_text("{")
    (tmp_path / "study" / ".cache").mkdir()
    (tmp_path / "study" / ".cache" / "x.har").write_text("{")
    return tmp_path / "study"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], prog_name="databack")


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def tables(out: Path, rename: tuple[str, str] = ("", "")) -> dict[str, pl.DataFrame]:
    """Every table, its `source_file` names with `rename[0]` replaced by `rename[1]`."""
    found = {}
    for path in sorted(out.glob("*.parquet")):
        df = pl.read_parquet(path)
        if "source_file" in df.columns:
            df = df.with_columns(pl.col("source_file").str.replace(rename[0], rename[1], literal=True))
        found[path.name] = df
    return found


def outputs(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def test_a_url_folder_converts_as_the_folder_does_named_by_its_urls(captures, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = run("convert", "study", "-o", "local", "--jobs", "1")
    url = captures.as_uri()
    remote = run("convert", url, "-o", "remote", "--jobs", "1")
    assert (remote.exit_code, local.exit_code) == (0, 0), remote.output
    files = [(f["file"], f["status"]) for f in report(tmp_path / "remote")["files"]]
    assert files == [(f"{url}/p07/notes.txt", "skipped"), (f"{url}/p07/phone-sync.flow", "ok"),
                     (f"{url}/p07/phone-sync.har", "ok")]  # hidden files and folders left out
    assert tables(tmp_path / "remote", (f"{url}/", "study/")).keys() == tables(tmp_path / "local").keys()
    for name, df in tables(tmp_path / "remote", (f"{url}/", "study/")).items():
        assert df.equals(tables(tmp_path / "local")[name]), name


def test_a_url_glob_and_a_url_file_and_an_archive_through_fsspec(captures, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile(tmp_path / "p07.zip", "w") as z:
        z.write(SAMPLES[0], "p07/phone-sync.har")
    glob = f"{captures.as_uri()}/*/*.har"
    one = f"{captures.as_uri()}/p07/notes.txt"
    member = f"zip://p07/*.har::{(tmp_path / 'p07.zip').as_uri()}"
    result = run("convert", glob, one, member, (tmp_path / "p07.zip").as_uri(), "-o", "out", "--jobs", "2")
    files = [(f["file"], f["status"], f["exchanges"]) for f in report(tmp_path / "out")["files"]]
    assert files == [
        (f"{captures.as_uri()}/p07/phone-sync.har", "ok", 16),
        (one, "failed", 0),  # named on the command line: a file that is no capture fails
        (f"zip://p07/phone-sync.har::{(tmp_path / 'p07.zip').as_uri()}", "ok", 16),
        (f"{(tmp_path / 'p07.zip').as_uri()}/p07/phone-sync.har", "ok", 16),  # databack's own archive reading
    ], result.output
    assert result.exit_code == 1


def test_archive_limits_hold_for_fsspecs_own_archive_reading(tmp_path):
    with zipfile.ZipFile(tmp_path / "p07.zip", "w") as z:
        z.write(SAMPLES[0], "p07/phone-sync.har")
    result = run("convert", f"zip://**::{(tmp_path / 'p07.zip').as_uri()}", "-o", tmp_path / "out",
                 "--max-member", "1KiB")
    (file,) = report(tmp_path / "out")["files"]
    assert file["status"] == "failed" and "--max-member" in file["error"], result.output


def test_a_url_that_cannot_be_read_is_one_failed_input_and_the_rest_converts(captures, tmp_path):
    missing = f"{captures.as_uri()}/p08/sync.har"
    result = run("convert", f"{captures.as_uri()}/p07/phone-sync.har", missing, "nosuchscheme://bucket/x.har",
                 f"{captures.as_uri()}/*.flow", "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"  {missing}: failed: cannot read the URL: No such file or directory" in lines
    assert "  nosuchscheme://bucket/x.har: failed: cannot read the URL: no filesystem for nosuchscheme:// (fsspec " \
           "knows none)" in lines
    assert f"  {captures.as_uri()}/*.flow: failed: matches no file" in lines
    assert report(tmp_path / "out")["files"][0]["status"] == "ok"
    assert pl.read_parquet(tmp_path / "out" / "band_events.parquet").height > 0


def test_credentials_in_urls_reach_no_table_report_or_message(signed, captures, tmp_path):
    folder = f"signedtest://{USER}:{PASSWORD}@{captures}?X-Amz-Signature={SIGNATURE}"
    missing = f"signedtest://{USER}:{PASSWORD}@{captures}/p09/x.har?X-Amz-Signature={SIGNATURE}"
    result = run("convert", folder, missing, "-o", tmp_path / "out", "--jobs", "1", "--json")
    assert result.exit_code == 1
    files = [(f["file"], f["status"]) for f in report(tmp_path / "out")["files"]]
    assert files == [(f"signedtest://{captures}/p07/notes.txt", "skipped"),
                     (f"signedtest://{captures}/p07/phone-sync.flow", "ok"),
                     (f"signedtest://{captures}/p07/phone-sync.har", "ok"),
                     (f"signedtest://{captures}/p09/x.har", "failed")], result.output
    for needle in NEEDLES:
        assert needle not in result.output
        assert needle.encode() not in outputs(tmp_path / "out")
    text = run("convert", missing, "-o", tmp_path / "out2", "--jobs", "1")
    assert text.exit_code == 1 and all(needle not in text.output for needle in NEEDLES)


def test_pseudonymised_urls_name_no_folder(captures, tmp_path):
    key = tmp_path / "key"
    key.write_text("k" * 32)
    url = f"{captures.as_uri()}/p07"
    result = run("convert", url, f"{url}/nothing.har", "-o", tmp_path / "out", "--pseudonymize", "--key-file", key,
                 "--jobs", "1")
    assert result.exit_code == 1
    names = [f["file"] for f in report(tmp_path / "out")["files"]]
    assert [n.split("/")[1] for n in names] == ["notes.txt", "phone-sync.flow", "phone-sync.har", "nothing.har"]
    assert len({n.split("/")[0] for n in names}) == 1 and names[0].startswith("d-")
    for text in (result.output.encode(), outputs(tmp_path / "out")):
        assert b"p07" not in text and str(captures).encode() not in text


def test_out_as_a_url_is_a_usage_error(captures, tmp_path):
    result = run("convert", captures, "-o", "s3://bucket/tables")
    assert (result.exit_code, result.output) == (2, (
        "databack: cannot write into s3://bucket/tables: OUT is a folder on a local or shared file system, not a URL "
        "(its commit renames files into place, all at once, which object stores cannot do)\n"))


def test_without_fsspec_a_url_is_a_usage_error(captures, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    result = run("convert", captures.as_uri(), "-o", tmp_path / "out")
    assert (result.exit_code, result.output) == (2, (
        "databack: reading a URL needs fsspec: pip install 'databack[remote]' (and the filesystem's package, such as "
        "s3fs or gcsfs)\n"))


def test_inspect_reads_urls_too(captures):
    result = run("inspect", f"{captures.as_uri()}/p07/*.har", "--quick")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("1 file (1 ok): 16 exchanges on 7 hosts; 8 to device data endpoints, 1 auth, 0 "
                                  "undecoded device paths, 7 other\n")


class DroppingFileSystem(LocalFileSystem):
    """Local files whose connection drops after the first 20,000 bytes read, saying so with a signed URL."""

    protocol = "droppingtest"
    root_marker = "/"

    @classmethod
    def _strip_protocol(cls, path):
        return path.removeprefix("droppingtest://").rstrip("/") or "/"

    def unstrip_protocol(self, name: str) -> str:
        return f"droppingtest://{name}"

    def _open(self, path, mode="rb", **kwargs):
        f = super()._open(path, mode, **kwargs)
        read = f.read

        def dropping(n=-1):
            if f.tell() > 0:
                raise ConnectionResetError(f"reset: https://{USER}:{PASSWORD}@host/x?X-Amz-Signature={SIGNATURE}")
            return read(20_000)

        f.read = dropping
        return f


def test_a_connection_lost_in_the_middle_of_a_file_leaves_it_partial_and_says_so_without_credentials(captures,
                                                                                                    tmp_path):
    fsspec.register_implementation(DroppingFileSystem.protocol, DroppingFileSystem, clobber=True)
    try:
        result = run("convert", f"droppingtest://{captures}/p07/phone-sync.har", "-o", tmp_path / "out", "--jobs", "1")
    finally:
        from fsspec.registry import _registry

        _registry.pop(DroppingFileSystem.protocol, None)
    assert result.exit_code == 1
    assert (f"  droppingtest://{captures}/p07/phone-sync.har: partial: cannot read the file: ConnectionResetError: "
            "reset: https://REDACTED@host/x?X-Amz-Signature=REDACTED") in result.output.splitlines()
    assert not any(needle.encode() in outputs(tmp_path / "out") for needle in NEEDLES)
