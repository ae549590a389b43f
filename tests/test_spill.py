"""Rows kept on disk give the same tables as rows kept in memory: batches written by a file's buffer and by a run
of many files, de-duplication over them, and the sort on disk, range by range."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime

import polars as pl
import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters import spill
from converters.cli import app
from converters.pipeline import Input, collect_inputs, convert, convert_files
from converters.tables import TABLES
from converters.writers import write

GOLDEN = REPO / "tests" / "golden"
SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


@pytest.fixture
def tiny_limits(monkeypatch):
    """Limits small enough that the samples go to disk, their bigger tables are sorted in several ranges, and the
    smaller ones, sorted in memory, partly wait on disk to be written."""
    monkeypatch.setattr(spill, "SPILL_ROWS", 7)
    monkeypatch.setattr(spill, "SORT_ROWS", 11)
    monkeypatch.setattr(spill, "HOLD_ROWS", 15)  # some tables sorted in memory go back to disk to wait
    monkeypatch.setattr(spill, "SAMPLES_PER_RANGE", 4)


def tables_of(conversion) -> dict[str, pl.DataFrame]:
    return {name: df.lazy().collect() for name, df in conversion.tables.items()}


def test_samples_spilled_and_sorted_on_disk_write_exactly_the_golden_tables(tiny_limits, tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    cwd = os.getcwd()
    os.chdir(REPO)  # source_file as in the golden tables: samples/…
    try:
        conversion = convert(collect_inputs([p.relative_to(REPO) for p in SAMPLES]), spill_dir=work)
        on_disk = sorted(name for name, df in conversion.tables.items() if isinstance(df, spill.Sorted))
        write(conversion, out, "csv")
    finally:
        os.chdir(cwd)
    assert "sense_sensor_samples" in on_disk and "band_minutes" in on_disk
    golden = sorted(p.name for p in GOLDEN.glob("*.csv"))
    assert sorted(p.name for p in out.glob("*.csv")) == golden
    for name in golden:
        assert (out / name).read_bytes() == (GOLDEN / name).read_bytes(), name


def test_duplicates_across_files_on_disk_are_dropped_and_counted_as_in_memory(tiny_limits, tmp_path):
    copies = []
    for i, sample in enumerate(SAMPLES * 2):  # every record captured twice, in four files
        copies.append(tmp_path / f"{i}-{sample.name}")
        shutil.copy(sample, copies[-1])
    inputs = [Input(p, p.name, True) for p in copies]
    work = tmp_path / "work"
    work.mkdir()
    in_memory = convert(inputs)
    on_disk = convert(inputs, spill_dir=work)
    assert any(isinstance(df, spill.Sorted) for df in on_disk.tables.values())
    assert sum(on_disk.duplicates.values()) > 0
    assert [f.as_dict() for f in on_disk.files] == [f.as_dict() for f in in_memory.files]
    expected = tables_of(in_memory)
    assert tables_of(on_disk).keys() == expected.keys()
    for name, df in tables_of(on_disk).items():
        assert df.equals(expected[name]), name


def test_copies_on_disk_are_de_duplicated_a_bucket_of_keys_at_a_time_and_as_in_memory(tiny_limits, tmp_path, monkeypatch):
    from converters import dedupe

    copies = []
    for i, sample in enumerate(SAMPLES * 3):  # every record captured three times over
        copies.append(tmp_path / f"{i}-{sample.name}")
        shutil.copy(sample, copies[-1])
    inputs = [Input(p, p.name, True) for p in copies]
    in_memory = convert(inputs)
    beside_one_key = []  # per frame of copies: its rows but those of its biggest key
    copies_of = dedupe._copies

    def watched(parts, key_hash, *args):
        for frame in copies_of(parts, key_hash, *args):
            beside_one_key.append(frame.height - frame.select(key_hash).group_by("_key_hash").len()["len"].max())
            yield frame

    monkeypatch.setattr(dedupe, "_copies", watched)
    work = tmp_path / "work"
    work.mkdir()
    on_disk = convert(inputs, spill_dir=work)
    assert len(beside_one_key) > 20 and max(beside_one_key) < spill.SORT_ROWS
    assert [f.as_dict() for f in on_disk.files] == [f.as_dict() for f in in_memory.files]
    expected = tables_of(in_memory)
    assert tables_of(on_disk).keys() == expected.keys()
    for name, df in tables_of(on_disk).items():
        assert df.equals(expected[name]), name


def test_a_run_writes_the_rows_of_the_files_it_holds_as_one_batch_per_table_and_gives_the_same_tables(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(spill, "SPILL_ROWS", 1500)  # one sample HAR's 707 rows stay in memory; three files' do not
    copies = []
    for i in range(8):
        copies.append(tmp_path / f"{i}-{SAMPLES[0].name}")
        shutil.copy(SAMPLES[0], copies[-1])
    inputs = [Input(p, p.name, True) for p in copies]
    in_memory = convert(inputs)
    work = tmp_path / "work"
    work.mkdir()
    *per_file, batches = convert_files(inputs, spill_dir=work)[1]
    assert batches.keys() == {name for name in in_memory.tables if not TABLES[name].derived}  # views come later
    for name, parts in batches.items():  # after the third file and the sixth, not after every file
        assert [sorted(p.collect()["source_file"].unique()) for p in parts] == [
            [c.name for c in copies[:3]],
            [c.name for c in copies[3:6]],
        ], name
    assert all(isinstance(df, pl.DataFrame) for tables in per_file[6:] for df in tables.values())
    on_disk = convert(inputs, spill_dir=work)
    assert [f.as_dict() for f in on_disk.files] == [f.as_dict() for f in in_memory.files]
    expected = tables_of(in_memory)
    assert tables_of(on_disk).keys() == expected.keys()
    for name, df in tables_of(on_disk).items():
        assert df.equals(expected[name]), name


def test_files_converted_in_worker_processes_with_rows_on_disk_give_the_same_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "SPILL_ROWS", 50)  # the run's in-memory tables go to disk as files come back
    inputs = [Input(p, p.name, True) for p in SAMPLES]
    work = tmp_path / "work"
    work.mkdir()
    expected = tables_of(convert(inputs))
    got = tables_of(convert(inputs, jobs=2, spill_dir=work))
    assert got.keys() == expected.keys()
    for name, df in got.items():
        assert df.equals(expected[name]), name


@pytest.mark.parametrize("partitioned", [False, True])
def test_the_cli_leaves_no_work_files_behind_and_writes_the_same_tables(tiny_limits, tmp_path, partitioned):
    runner = CliRunner()
    partitions = ["--partition-by", "participant_id,day"] if partitioned else []
    for out in ("small", "plain"):
        if out == "plain":
            spill.SPILL_ROWS, spill.SORT_ROWS = 10**9, 10**9
        args = ["convert", *map(str, SAMPLES), "-o", str(tmp_path / out), "--jobs", "1", *partitions]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert not list((tmp_path / "small").glob(".databack-*"))
    assert_same_tables(tmp_path / "small", tmp_path / "plain")


KEY = ["participant_id", "sensor", "time"]
rows = st.lists(
    st.tuples(
        st.sampled_from([None, "p1", "p2"]),
        st.sampled_from([None, "humidity", "temperature", "light"]),
        st.none() | st.datetimes(datetime(2016, 1, 1), datetime(2016, 1, 2)).map(lambda t: t.replace(tzinfo=UTC)),
        st.none() | st.dates(date(2016, 1, 1), date(2016, 1, 9)),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows, sort_rows=st.integers(1, 15), part_rows=st.integers(1, 20))
def test_sorting_on_disk_equals_sorting_in_memory_nulls_last_and_ties_in_order(
    tmp_path_factory, rows, sort_rows, part_rows
):
    df = pl.DataFrame(
        rows,
        schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC"), "day": pl.Date},
        orient="row",
    ).with_row_index("arrival")
    folder = tmp_path_factory.mktemp("sort")
    original = spill.SORT_ROWS
    spill.SORT_ROWS = sort_rows
    try:
        parts = [df.slice(i, part_rows).lazy() for i in range(0, max(df.height, 1), part_rows)]
        got = spill.sort(parts, [*KEY, "day"], folder).lazy().collect()
    finally:
        spill.SORT_ROWS = original
    assert got.equals(df.sort([*KEY, "day"], nulls_last=True, maintain_order=True))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_full_disk_under_the_work_folder_stops_the_run_with_one_line_and_leaves_out_as_it_was(
    tiny_limits, tmp_path, monkeypatch, jobs
):
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["convert", str(SAMPLES[0]), "-o", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(self, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_ipc", full)  # in this process: the files are read beside it
    result = CliRunner().invoke(app, ["convert", *map(str, SAMPLES), "-o", str(out), "--force", "-j", jobs])
    assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: No space left on device\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("layout", [[], ["--format", "csv"], ["--partition-by", "participant_id,day"]])
def test_a_rerun_reads_the_earlier_tables_in_slices_and_gives_the_tables_of_one_run(tiny_limits, tmp_path, layout):
    from converters.writers import read_output

    runner = CliRunner()
    again, once = tmp_path / "again", tmp_path / "once"
    assert runner.invoke(app, ["convert", str(SAMPLES[0]), "-o", str(again), "-j", "1", *layout]).exit_code == 0
    parts = read_output(again)[0]["sense_sensor_samples"]
    assert isinstance(parts, list) and len(parts) > 1  # slices of SPILL_ROWS rows
    result = runner.invoke(app, ["convert", *map(str, SAMPLES), "-o", str(again), "-j", "1", *layout])
    assert result.exit_code == 0 and "1 input already converted unchanged" in result.output
    spill.SPILL_ROWS, spill.SORT_ROWS = 10**9, 10**9
    assert runner.invoke(app, ["convert", *map(str, SAMPLES), "-o", str(once), "-j", "1", *layout]).exit_code == 0
    assert_same_tables(again, once)


def test_merging_shards_with_rows_on_disk_gives_the_tables_of_one_run(tiny_limits, tmp_path):
    runner = CliRunner()
    for i, sample in enumerate(SAMPLES):
        assert runner.invoke(app, ["convert", str(sample), "-o", str(tmp_path / f"shard{i}")]).exit_code == 0
    result = runner.invoke(app, ["merge", str(tmp_path / "shard0"), str(tmp_path / "shard1"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "m").glob(".databack-*"))
    spill.SPILL_ROWS, spill.SORT_ROWS = 10**9, 10**9
    assert runner.invoke(app, ["convert", *map(str, SAMPLES), "-o", str(tmp_path / "once")]).exit_code == 0
    assert_same_tables(tmp_path / "m", tmp_path / "once")


def assert_same_tables(a, b):
    """The same table files, or partitions of datasets, with the same rows in the same order (a partition's files
    read in name order: a table sorted on disk has a file per key range in a partition)."""
    got, expected = tables_in(a), tables_in(b)
    assert got.keys() == expected.keys() and len(got) > 8
    for name, df in expected.items():
        assert got[name].equals(df), name


def tables_in(out):
    read = {".parquet": pl.read_parquet, ".csv": pl.read_csv}
    files = sorted(p for p in out.rglob("*") if p.suffix in read and not p.name.startswith("."))
    tables = {}
    for folder in sorted({p.parent for p in files}):
        in_folder = [p for p in files if p.parent == folder]
        if folder == out:  # one file per table
            tables.update({str(p.relative_to(out)): read[p.suffix](p) for p in in_folder})
        else:  # a partition of a dataset
            tables[str(folder.relative_to(out))] = pl.concat([read[p.suffix](p) for p in in_folder])
    return tables
