"""Rows kept on disk give the same tables as rows kept in memory: parts written by a file's buffer and gathered by a
run of many files, and the reduce, a range of keys at a time."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters import spill
from converters.cli import app
from converters.pipeline import Input, RowBuffer, collect_inputs, convert, convert_file, convert_files
from converters.devices.base import datetime_us
from converters.redaction import source_file
from converters.tables import TABLES
from converters.writers import write

GOLDEN = REPO / "tests" / "golden"
SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


@pytest.fixture
def tiny_limits(monkeypatch):
    """Limits small enough that the samples go to disk in many parts, their bigger tables are reduced in several
    ranges and wait on disk to be written, and the smaller ones stay in memory."""
    monkeypatch.setattr(spill, "SPILL_ROWS", 7)
    monkeypatch.setattr(spill, "PART_ROWS", 5)
    monkeypatch.setattr(spill, "SORT_ROWS", 11)
    monkeypatch.setattr(spill, "HOLD_ROWS", 15)
    monkeypatch.setattr(spill, "SAMPLE_EVERY", 3)


def tables_of(conversion) -> dict[str, pl.DataFrame]:
    return {name: df.lazy().collect() for name, df in conversion.tables.items()}


def test_samples_in_parts_on_disk_reduced_in_ranges_write_exactly_the_golden_tables(tiny_limits, tmp_path):
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


def test_a_file_converted_in_the_runs_process_keeps_its_last_rows_in_memory_a_workers_go_to_disk(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(spill, "PART_ROWS", 5)  # (SPILL_ROWS as it is: nothing goes to disk while the file is read)
    sample = Input(SAMPLES[0], SAMPLES[0].name, True)
    _, here = convert_file(sample, spill_dir=tmp_path, in_process=True)
    _, worker = convert_file(sample, spill_dir=tmp_path)
    assert here.keys() == worker.keys()
    big = [name for name, parts in worker.items() if parts[0].height >= 5]
    assert big and all(isinstance(worker[name][0].source, os.PathLike) for name in big)
    for name, parts in here.items():
        assert len(parts) == 1 and isinstance(parts[0].source, pl.DataFrame)
        assert parts[0].source.equals(worker[name][0].read()), name


def test_a_runs_one_file_whose_rows_stayed_in_memory_is_reduced_into_memory_past_hold_rows(monkeypatch, tmp_path):
    """Its parts are in memory already: its reduced ranges take their place, rather than waiting on disk to be
    written; the rows of several files beyond `HOLD_ROWS` still wait on disk."""
    monkeypatch.setattr(spill, "HOLD_ROWS", 1)
    monkeypatch.setattr(spill, "SORT_ROWS", 11)  # several ranges a table
    on_disk = []
    for files in (SAMPLES[:1], SAMPLES):
        work = tmp_path / f"work{len(files)}"
        work.mkdir()
        conversion = convert([Input(p, p.name, True) for p in files], spill_dir=work)
        on_disk.append(sorted(name for name, df in conversion.tables.items() if not isinstance(df, pl.DataFrame)))
    assert on_disk[0] == [] and "sense_sensor_samples" in on_disk[1]


def test_a_buffer_past_its_rows_writes_its_big_tables_and_keeps_small_ones_whole_in_memory(monkeypatch, tmp_path):
    monkeypatch.setattr(spill, "SPILL_ROWS", 40)
    monkeypatch.setattr(spill, "PART_ROWS", 15)
    monkeypatch.setattr(RowBuffer, "BATCH", 10)  # a flush every 10 rows
    buffer = RowBuffer(tmp_path, end_on_disk=False)
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "captured_at": None}
    for entry in range(60):  # 5 minutes of an event, and a night, an exchange each
        minutes = [("band_minutes", {"event_id": f"e{entry % 7}", "time": datetime_us(datetime(2017, 3, 3, 1, entry, i,
                                                                                                 tzinfo=UTC))})
                   for i in range(5)]
        nights = [("sense_nights", {"night": date(2017, 1, 1 + entry % 28), "score": entry})] if entry % 6 == 0 else []
        buffer.add(minutes + nights, provenance | {"source_entry": entry})
    parts = buffer.parts()
    assert len(parts["band_minutes"]) > 2 and all(isinstance(p.source, os.PathLike) for p in parts["band_minutes"])
    (nights,) = parts["sense_nights"]  # never PART_ROWS: in memory, one part
    assert isinstance(nights.source, pl.DataFrame) and nights.height == 10
    minutes = pl.concat([p.read() for p in parts["band_minutes"]])
    assert minutes.height == 300 and sorted(minutes["source_entry"].unique()) == list(range(60))


@pytest.mark.parametrize("on_disk", [True, False])
def test_a_credential_in_device_text_is_redacted_in_parts_on_disk_and_in_memory(monkeypatch, tmp_path, on_disk):
    """Rows and decoders' frames alike, whether their table goes to disk while the file is read or stays in memory:
    the frames of a part are redacted together as the part is made."""
    from converters.devices import band, columns
    from converters.devices.base import Request
    from converters.redaction import MARK

    monkeypatch.setattr(spill, "SPILL_ROWS", 10 if on_disk else 10**9)
    monkeypatch.setattr(spill, "PART_ROWS", 5)
    monkeypatch.setattr(RowBuffer, "BATCH", 10)
    monkeypatch.setattr(columns, "LONG", 0)  # the minutes by columns
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    buffer = RowBuffer(tmp_path, end_on_disk=on_disk)
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "captured_at": None}
    for entry in range(12):
        event_id = token if entry % 3 == 0 else f"e{entry}"
        event = {"EventId": event_id, "EventType": "Sleep", "StartTime": "2017-03-03T01:00:00Z",
                 "Info": [{"TimeOfDay": f"2017-03-03T01:0{i}:00Z", "StepsTaken": i} for i in range(4)]}
        rows = list(band.decode_events({"value": [event]}, Request({}, {}, None, None)))
        rows.append(("band_minutes", {"event_id": event_id, "time": datetime_us(datetime(2017, 3, 4, 1, entry,
                                                                                         tzinfo=UTC))}))
        buffer.add(rows, provenance | {"source_entry": entry})
    parts = buffer.parts()
    assert all(isinstance(p.source, os.PathLike) == on_disk for p in parts["band_minutes"])
    for name in ("band_minutes", "band_events"):
        ids = pl.concat([p.read() for p in parts[name]])["event_id"]
        assert token not in ids.to_list() and ids.to_list().count(MARK) == (20 if name == "band_minutes" else 4)


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


def test_copies_on_disk_are_de_duplicated_a_range_at_a_time_each_reading_little_beyond_its_range(
    tiny_limits, tmp_path, monkeypatch
):
    from converters import pipeline

    copies = []
    for i, sample in enumerate(SAMPLES * 3):  # every record captured three times over
        copies.append(tmp_path / f"{i}-{sample.name}")
        shutil.copy(sample, copies[-1])
    inputs = [Input(p, p.name, True) for p in copies]
    in_memory = convert(inputs)
    beyond = []  # per range of a table: rows read that are not in the range
    reduce_range = pipeline.reduce_range

    def watched(task):
        in_range = spill.in_range(task.prefix, task.low, task.high)
        for name, slices in task.slices.items():
            if not slices:
                continue
            read = pl.concat([part.read(start, stop) for part, start, stop in slices])
            beyond.append((read.height - read.filter(in_range).height, len(slices)))
        return reduce_range(task)

    monkeypatch.setattr(pipeline, "reduce_range", watched)
    work = tmp_path / "work"
    work.mkdir()
    on_disk = convert(inputs, spill_dir=work)
    assert len(beyond) > 20 and all(n <= 2 * spill.SAMPLE_EVERY * parts for n, parts in beyond)
    assert [f.as_dict() for f in on_disk.files] == [f.as_dict() for f in in_memory.files]
    assert sum(on_disk.duplicates.values()) > 0
    expected = tables_of(in_memory)
    assert tables_of(on_disk).keys() == expected.keys()
    for name, df in tables_of(on_disk).items():
        assert df.equals(expected[name]), name


def test_a_run_gathers_the_small_parts_of_the_files_it_holds_and_leaves_the_last_ones_as_they_came(
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
    parts = convert_files(inputs, spill_dir=work)[1]
    assert parts.keys() == {name for name in in_memory.tables if not TABLES[name].derived}  # views come later
    for name, table in parts.items():  # after the third file, the sixth; the last two as they came, in memory
        assert [sorted(p.read()["source_file"].unique()) for p in table] == [
            [c.name for c in copies[:3]],
            [c.name for c in copies[3:6]],
            [copies[6].name],
            [copies[7].name],
        ], name
        assert [isinstance(p.source, pl.DataFrame) for p in table] == [False, False, True, True], name
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


@settings(max_examples=80, deadline=None)
@given(rows=rows, sort_rows=st.integers(1, 15), part_rows=st.integers(1, 20), every=st.integers(1, 5))
def test_ranges_of_sorted_parts_give_every_row_once_in_key_order_nulls_last_and_ties_in_order(
    rows, sort_rows, part_rows, every
):
    """Also: `Part.read_in` keeps the rows of a slice in its range, searching only a sample's rows at each end (and
    filtering the whole where a bound is beyond those ends)."""
    df = pl.DataFrame(
        rows,
        schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC"), "day": pl.Date},
        orient="row",
    ).with_row_index("arrival")
    original = spill.SAMPLE_EVERY
    spill.SAMPLE_EVERY = every
    try:
        parts = [spill.Part.of(df.slice(i, part_rows), KEY) for i in range(0, max(df.height, 1), part_rows)]
        bounds = spill.ranges(parts, KEY[:2], sort_rows)
        edges = [None, *bounds, None]
        cuts = [p.cut(bounds) for p in parts]
        got = []
        for r in range(len(bounds) + 1):
            read = [p.read(*cut[r]) for p, cut in zip(parts, cuts)]
            in_range = spill.in_range(KEY[:2], edges[r], edges[r + 1])
            got.append(pl.concat(read).filter(in_range))
            assert pl.concat([p.read_in(*cut[r], edges[r], edges[r + 1]) for p, cut in zip(parts, cuts)]).equals(got[-1])
            whole = [p.read_in(0, p.height, edges[r], edges[r + 1]) for p in parts]  # not a slice `cut` gave
            assert pl.concat(whole).equals(pl.concat([p.read() for p in parts]).filter(in_range))
    finally:
        spill.SAMPLE_EVERY = original
    got = [g.sort(KEY, nulls_last=True, maintain_order=True) for g in got]
    assert pl.concat(got).equals(df.sort(KEY, nulls_last=True, maintain_order=True))
    assert len(bounds) == len(set(bounds))


@settings(max_examples=80, deadline=None)
@given(rows=rows, bounds=rows, width=st.integers(1, 3), every=st.integers(1, 5))
def test_a_parts_cut_finds_by_bisection_the_samples_that_sort_before_each_bound_as_polars_compares_them(
    rows, bounds, width, every
):
    """`Part.cut` counts, in Python, the samples before each bound that `spill.before` counts in polars: nulls
    after every value, times and texts in polars' order."""
    schema = {"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC"), "day": pl.Date}
    original = spill.SAMPLE_EVERY
    spill.SAMPLE_EVERY = every
    prefix = KEY[:width]
    bounds = sorted({b[:width] for b in bounds}, key=spill._nulls_last)
    try:
        part = spill.Part.of(pl.DataFrame(rows, schema=schema, orient="row"), KEY)
        cut = part.cut(bounds)
    finally:
        spill.SAMPLE_EVERY = original
    below = [part.sample.select(spill.before(prefix, b).sum()).item() for b in bounds]
    expected = list(zip([0, *(max(0, (n - 1) * every + 1) for n in below)],
                        [*(min(part.height, n * every) for n in below), part.height]))
    assert cut == (expected if bounds else [(0, part.height)])


@settings(max_examples=40, deadline=None)
@given(rows=rows, group=st.integers(1, 7), every=st.integers(1, 5))
def test_a_part_written_a_row_group_at_a_time_holds_the_rows_and_samples_of_the_part_in_memory(rows, group, every):
    df = pl.DataFrame(
        rows,
        schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC"), "day": pl.Date},
        orient="row",
    ).with_row_index("arrival")
    original = spill.SAMPLE_EVERY, spill.ROW_GROUP
    spill.SAMPLE_EVERY, spill.ROW_GROUP = every, group
    try:
        with tempfile.TemporaryDirectory() as folder:
            written, held = spill.Part.of(df, KEY, Path(folder)), spill.Part.of(df, KEY)
            assert isinstance(written.source, Path) and written.height == held.height
            assert written.read().equals(held.read())
            assert written.sample.equals(held.sample) and written.sample.schema == held.sample.schema
    finally:
        spill.SAMPLE_EVERY, spill.ROW_GROUP = original


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("writing", ["write_parquet", "write_ipc"])  # parts; a table's ranges on disk
def test_a_full_disk_under_the_work_folder_stops_the_run_with_one_line_and_leaves_out_as_it_was(
    tiny_limits, tmp_path, monkeypatch, jobs, writing
):
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["convert", str(SAMPLES[0]), "-o", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(self, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, writing, full)  # in this process: the files are read beside it
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


@pytest.mark.parametrize(
    "later", ["other participants", "copies", "a night's other table", "other participants, records hashed alike",
              "other participants, one file", "other participants, written beside"]
)
def test_a_reduce_begun_ahead_on_the_files_done_gives_the_tables_and_counts_of_a_reduce_at_the_end(
    tiny_limits, tmp_path, monkeypatch, later
):
    """`Ahead` reduces the first files' parts while the last ones convert; `combine` then merges the later rows into
    its ranges, or reduces a range again from all its rows where they share a record (a key; a night, even through
    another table of the night) with the earlier ones, as told by the hashes of the records: two records hashed
    alike only make their range be reduced again. The later rows of a table without a group are de-duplicated on
    their own (`dedupe`) only where two of them are copies of one record (the two samples, a HAR and a flow dump of
    one sync, are copies of each other); else they are merged into the range's rows by blocks (`spill.merged_in_order`).
    Those merged into a range on disk are kept in memory beside its file, or written beside it once such rows hold
    `spill.BESIDE_BYTES`, and merged in as it is written."""
    from copy import deepcopy

    from converters import pipeline
    from converters.parallel import Executor

    if later.endswith("written beside"):
        monkeypatch.setattr(spill, "BESIDE_BYTES", 0)
    work = tmp_path / "work"
    work.mkdir()
    copies = [tmp_path / f"copy-{p.name}" for p in SAMPLES]
    for sample, copy in zip(SAMPLES, copies):
        shutil.copy(sample, copy)
    if later.endswith("one file"):
        copies = copies[:1]
    participant = "p2" if later.startswith("other participants") else "p1"
    if later.endswith("hashed alike"):
        records = pipeline._records
        monkeypatch.setattr(pipeline, "_records", lambda *a: None if (r := records(*a)) is None else r * 0)
    reports, parts1 = convert_files([Input(p, p.name, True, participant_id="p1") for p in SAMPLES], spill_dir=work)
    reports2, parts2 = convert_files([Input(p, p.name, True, participant_id=participant) for p in copies],
                                     spill_dir=work)
    if later == "a night's other table":  # the later night's metrics alone, the earlier night without them
        parts1 = {name: rows for name, rows in parts1.items() if name != "sense_night_metrics"}
        parts2 = {"sense_night_metrics": parts2["sense_night_metrics"]}
    reports += reports2
    parts = pipeline._joined([parts1, parts2])
    at_the_end = pipeline.combine(deepcopy(reports), parts, work)
    shared = []
    share_records = pipeline._share_records
    monkeypatch.setattr(pipeline, "_share_records", lambda *a: shared.append(share_records(*a)) or shared[-1])
    ahead = pipeline.Ahead([r.file for r in reports], work, Executor(2))
    ahead.start(parts1)
    ahead.wait(pipeline._indexes(r.file for r in reports))
    deduped = []  # the tables of each later range `dedupe` took
    dedupe = pipeline.dedupe
    monkeypatch.setattr(pipeline, "dedupe", lambda frames, *a: deduped.append(list(frames)) or dedupe(frames, *a))
    merged = []  # whether the later rows merged into a range (or a range's piece, as written) went in by blocks
    merged_in_order = spill.merged_in_order

    def noted_merge(frames, key):  # (a key Python orders otherwise than polars, a float's, is left to a sort)
        merged.append((m := merged_in_order(frames, key)) is not None or not spill._ordered_alike(
            next(df for df in frames).schema, key))
        return m

    monkeypatch.setattr(spill, "merged_in_order", noted_merge)
    begun = pipeline.combine(deepcopy(reports), parts, work, Executor(2), ahead=ahead)
    assert ahead.results and (any(shared) if not later.startswith("other participants") or later.endswith("alike")
                              else shared and not any(shared))
    if later.startswith("other participants") and not later.endswith("alike"):  # none shared with the earlier rows
        minutes_deduped = any(names == ["band_minutes"] for names in deduped)
        assert minutes_deduped == (not later.endswith("one file"))  # two later files, copies of each other
        assert ["sense_sensor_samples"] in deduped  # a sample's own copies of sensor samples (72 of its 473)
    assert all(r.records is not None for results in ahead.results.values() for r in results if "rejects" not in r.tables)
    assert [f.as_dict() for f in begun.files] == [f.as_dict() for f in at_the_end.files]
    assert sum(begun.duplicates.values()) + sum(begun.conflicts.values()) > 0
    expected = tables_of(at_the_end)
    assert tables_of(begun).keys() == expected.keys()
    for name, df in tables_of(begun).items():
        assert df.equals(expected[name]), name
        assert spill.in_memory(begun.tables[name]).equals(expected[name]), name  # read a piece at a time
    beside = [f for df in begun.tables.values() if isinstance(df, spill.Sorted) for piece in df.pieces for f in piece[1:]]
    if later.startswith("other participants") and not later.endswith("alike"):
        assert len(merged) >= len(beside) > 0 and all(merged)  # after the earlier rows: 2 blocks
        kinds = {Path if isinstance(f, Path) else type(f) for f in beside}
        assert kinds == ({Path} if later.endswith("written beside") else {pl.DataFrame}), kinds


def test_a_table_whose_ranges_are_still_being_reduced_gives_each_range_once_it_is_done_and_the_same_files(tmp_path):
    """`spill.Coming`: the rows of a range are there to be written while the ranges after it are still being
    reduced; the file written is the one its `Sorted` gives once every range is done."""
    import threading

    key = ("k",)
    frames = [pl.DataFrame({"k": [1, 2], "v": ["a", None]}), pl.DataFrame({"k": [3], "v": ["c"]})]
    written = [spill.Sorted.written([df], tmp_path, key) for df in frames]
    last_done = threading.Event()

    def last_range():
        assert last_done.wait(10)
        return written[1]

    coming = spill.Coming([lambda: written[0], lambda: pl.DataFrame(), last_range], key)
    batches = coming.batches()
    assert next(batches).equals(frames[0])  # while the last range is still being reduced
    last_done.set()
    assert [df.to_dicts() for df in batches] == [frames[1].to_dicts()]
    whole = spill.Sorted.joined(written)
    for fmt in ("parquet", "csv"):
        getattr(coming, f"write_{fmt}")(tmp_path / f"coming.{fmt}")
        getattr(whole, f"write_{fmt}")(tmp_path / f"whole.{fmt}")
        assert (tmp_path / f"coming.{fmt}").read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()
    assert coming.height == 3 and coming.lazy().collect().equals(pl.concat(frames))


def test_a_table_handed_to_its_writer_keeps_in_memory_only_the_ranges_it_waits_for_and_lets_go_of_each_taken(
    tmp_path
):
    """`spill.Handoff`: a range is wanted in memory once the writer waits for it or one `AHEAD` before it, not
    before the writer takes the table. A `Coming` table with ranges in memory gives them to its writer and lets go
    of each once taken; its file is the one written from disk; it is never read whole after."""
    hand = spill.Handoff()
    assert not hand.wanted(0)
    hand.waiting(1)
    assert [hand.wanted(i) for i in range(4)] == [True, True, True, False]

    key = ("k",)
    frames = [pl.DataFrame({"k": [1, 2], "v": ["a", None]}), pl.DataFrame({"k": [3], "v": ["c"]}),
              pl.DataFrame({"k": [4, 5, 6], "v": ["d", "e", None]})]
    written = [spill.Sorted.written([df], tmp_path, key) for df in frames]
    ranges = [frames[0], written[1], pl.DataFrame(), frames[2]]
    forgotten = []

    def coming() -> spill.Coming:
        return spill.Coming([lambda r=r: r for r in ranges], key, spill.Handoff(),
                            [lambda i=i: forgotten.append(i) for i in range(len(ranges))])

    taking = coming()
    assert [df.to_dicts() for df in taking.batches()] == [df.to_dicts() for df in frames]
    assert forgotten == [0, 3] and taking.height == 6
    with pytest.raises(RuntimeError):
        taking.lazy()
    for fmt in ("parquet", "csv"):
        getattr(coming(), f"write_{fmt}")(tmp_path / f"handed.{fmt}")
        getattr(spill.Sorted.joined(written), f"write_{fmt}")(tmp_path / f"whole.{fmt}")
        assert (tmp_path / f"handed.{fmt}").read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()


def test_views_read_only_the_tables_they_name_and_the_others_are_handed_to_their_writers():
    """A view reading a table outside `views.SOURCES` (which may be handed to its writer range by range, never to be
    read whole) is a bug that raises."""
    from converters import views
    from converters.views import frame

    assert frame(views._Sources({}), "band_minutes").collect().is_empty()
    with pytest.raises(KeyError):
        frame(views._Sources({}), "sense_sensor_samples")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_written_as_their_ranges_are_reduced_are_the_files_and_counts_of_a_reduce_written_after(
    tiny_limits, tmp_path, fmt, monkeypatch
):
    """`combine(streamed=True)` returns once the tables in memory are reduced, those on disk as `spill.Coming`,
    written as their ranges are done (the sensor samples' handed to the writer in memory where it waits for them):
    the same files, copies and report, counted once `settle` returns."""
    import threading
    from copy import deepcopy

    import orjson

    from converters import pipeline
    from converters.parallel import Executor

    work = tmp_path / "work"
    work.mkdir()
    copies = [tmp_path / f"copy-{p.name}" for p in SAMPLES]
    for sample, copy in zip(SAMPLES, copies):
        shutil.copy(sample, copy)
    reports, parts1 = convert_files([Input(p, p.name, True, participant_id="p1") for p in SAMPLES], spill_dir=work)
    reports2, parts2 = convert_files([Input(p, p.name, True, participant_id="p1") for p in copies], spill_dir=work)
    reports += reports2
    parts = pipeline._joined([parts1, parts2])
    outs, handed = {}, []
    wanted = spill.Handoff.wanted
    monkeypatch.setattr(spill.Handoff, "wanted", lambda self, i: handed.append(wanted(self, i)) or handed[-1])
    waited_for: dict[spill.Handoff, threading.Event] = {}  # a table's first range, by the writer taking its ranges
    waiting = spill.Handoff.waiting
    monkeypatch.setattr(spill.Handoff, "waiting",
                        lambda self, i: waiting(self, i) or waited_for.setdefault(self, threading.Event()).set())
    reduce_range = pipeline.reduce_range

    # The sensor samples' first range is reduced once their writer waits for it, however late a loaded machine
    # starts the writer (the other thread reduces the other ranges meanwhile): it is handed in memory.
    def samples_first_range_once_their_writer_waits(task):
        if list(task.slices) == ["sense_sensor_samples"] and task.hand is not None and task.index == 0:
            waited_for.setdefault(task.hand, threading.Event()).wait()
        return reduce_range(task)

    monkeypatch.setattr(pipeline, "reduce_range", samples_first_range_once_their_writer_waits)
    for streamed in (False, True):
        ahead = pipeline.Ahead([r.file for r in reports], work, Executor(2))
        ahead.start(parts1)
        conversion = pipeline.combine(deepcopy(reports), parts, work, Executor(2), ahead=ahead, streamed=streamed)
        coming = [name for name, df in conversion.decoded.items() if isinstance(df, spill.Coming)]
        assert bool(coming) == streamed and (conversion.settling is not None) == streamed
        outs[streamed] = tmp_path / f"out-{streamed}"
        write(conversion, outs[streamed], fmt)
    files = sorted(p.name for p in outs[False].iterdir())
    assert files == sorted(p.name for p in outs[True].iterdir()) and f"sense_sensor_samples.{fmt}" in files
    assert True in handed
    for name in files:
        if name == "report.json":
            after, streamed = (orjson.loads((out / name).read_bytes()) | {"generated_at": None} for out in outs.values())
            assert streamed == after and after["tables"]["sense_sensor_samples"]["duplicates"] > 0
        else:
            assert (outs[False] / name).read_bytes() == (outs[True] / name).read_bytes(), name


def test_a_tables_parquet_file_is_the_same_whatever_ranges_it_was_reduced_in_on_disk_or_in_memory(tmp_path):
    """Its row groups are of a fixed size (`writers.ROW_GROUP`), not the ranges or chunks its rows came in (polars
    writes chunks of 100,000 rows or more each as a row group of its own), which depend on --jobs (a reduce begun
    ahead cuts ranges from the files done by then) and on whether the table waited on disk."""
    from converters.pipeline import Conversion

    table = TABLES["sense_sensor_samples"]
    n = 240_000
    i = pl.int_range(n)
    given = {
        "sensor": pl.lit(pl.Series(["humidity", "light", "temperature"])).gather(i * 3 // n),
        "resolution_s": pl.lit(300),
        "time": pl.lit(datetime(2016, 1, 1, tzinfo=UTC)) + pl.duration(minutes=5 * (i % 80_000)),
        "value": i / 7,
        "source_file": pl.lit("a.har"),
        "source_entry": i,
    }
    rows = pl.select([given[c].cast(t).alias(c) if c in given else pl.lit(None, t).alias(c)
                      for c, t in table.schema.items()])
    rows = rows.sort(list(table.key), nulls_last=True, maintain_order=True)
    cuts = {"two ranges": [0, 120_000, n], "three ranges": [0, 30_000, 130_000, n]}
    frames = {"in memory, one chunk": rows}
    for name, cut in cuts.items():
        ranges = [rows.slice(a, b - a) for a, b in zip(cut, cut[1:])]
        frames[f"{name} in memory"] = pl.concat(ranges, rechunk=False)
        frames[f"{name} on disk"] = spill.Sorted.joined([spill.Sorted.written([r], tmp_path, table.key) for r in ranges])
    written = {}
    for k, (name, frame) in enumerate(frames.items()):
        write(Conversion([], {"sense_sensor_samples": frame}), tmp_path / f"out{k}")
        written[name] = (tmp_path / f"out{k}" / "sense_sensor_samples.parquet").read_bytes()
    assert all(data == written["in memory, one chunk"] for data in written.values()), written.keys()


def _band_minutes_ranges(count: int) -> list:
    """`count` tasks of the reduce, each a range of 1,000 band_minutes rows (in memory)."""
    from converters.pipeline import Reduce

    rows = pl.DataFrame(schema=TABLES["band_minutes"].schema).clear(1000)
    part = spill.Part.of(rows, TABLES["band_minutes"].key)
    return [Reduce({"band_minutes": [(part, 0, 1000)]}, ("participant_id",), None, None, {}, None)
            for _ in range(count)]


def _most_reduced_at_once(tasks: list, fill: int) -> int:
    """How many of `tasks` `pipeline._within_memory` let run at once, in 4 threads; each waits until `fill` run
    (at most 10 s), so that a loaded machine that starts the threads late cannot show fewer than the budget allows."""
    from concurrent.futures import ThreadPoolExecutor
    import threading
    import time

    from converters.pipeline import _within_memory

    running, most, lock, filled = set(), [0], threading.Lock(), threading.Event()

    def reduce(task):
        with lock:
            running.add(id(task))
            most[0] = max(most[0], len(running))
            if len(running) >= fill:
                filled.set()
        filled.wait(10)
        time.sleep(0.02)
        with lock:
            running.discard(id(task))
        return task

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(_within_memory(reduce), tasks)) == tasks
    return most[0]


@pytest.mark.parametrize("fit", [1, 2])
def test_ranges_reduced_at_once_hold_no_more_than_the_budget_together_and_one_always_runs(monkeypatch, fit):
    from converters.pipeline import _range_bytes

    tasks = _band_minutes_ranges(6)
    monkeypatch.setattr(spill, "REDUCE_BYTES", fit * _range_bytes(tasks[0]))
    assert _most_reduced_at_once(tasks, fit) == fit
    monkeypatch.setattr(spill, "REDUCE_BYTES", 1)  # a range bigger than the budget still runs, alone
    assert _most_reduced_at_once(tasks, 1) == 1


def test_a_full_disk_while_the_tables_on_disk_are_written_as_their_ranges_are_reduced_stops_the_run_alike(
    tiny_limits, tmp_path, monkeypatch
):
    """With --jobs 2 the ranges reduced ahead take in the last rows while the tables are written: a range that
    cannot be written then stops the run with the same one line, OUT left as it was."""
    from converters import pipeline

    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["convert", str(SAMPLES[0]), "-o", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    reduce_range, failed = pipeline.reduce_range, []

    def full_at_the_end(task):
        if task.earlier is not None and task.folder is not None:  # a range on disk, taking in the last rows
            failed.append(task)
            raise spill.SpillFailed("No space left on device")
        return reduce_range(task)

    monkeypatch.setattr(pipeline, "reduce_range", full_at_the_end)
    result = CliRunner().invoke(app, ["convert", *map(str, SAMPLES), "-o", str(out), "--force", "-j", "2"])
    assert (result.exit_code, result.output) == (1, f"databack: cannot write into {out}: No space left on device\n")
    assert failed and {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_writer_holding_a_row_group_leaves_the_reduce_fewer_ranges_at_once_and_one_always_runs(monkeypatch):
    """What a table on disk's writer holds (`spill.writing`: the rows it took, up to a row group) counts in the
    reduce's budget: ranges that fit two at once run one at a time while it holds as much as one, two again once
    it is done."""
    from converters.pipeline import _range_bytes

    tasks = _band_minutes_ranges(4)
    need = _range_bytes(tasks[0])
    monkeypatch.setattr(spill, "REDUCE_BYTES", 2 * need)
    with spill.writing() as add:
        add(need)
        assert _most_reduced_at_once(tasks, 1) == 1
    assert spill.writing_bytes() == 0
    assert _most_reduced_at_once(tasks, 2) == 2


def test_a_writer_is_counted_as_holding_the_rows_it_took_up_to_one_row_group():
    frames = [pl.DataFrame({"n": range(rows)}) for rows in (3, 4, 5)]
    with spill.writing() as add:
        assert list(spill._counted(iter(frames), add, 5)) == frames
        assert spill.writing_bytes() == 5 * spill.row_bytes({"n": pl.Int64})
    assert spill.writing_bytes() == 0


def test_tables_on_disk_are_written_one_at_a_time_and_the_views_made_once_they_all_are_written(tmp_path, monkeypatch):
    """A writer holds a row group of its table on disk whole, and the views read their tables whole: the tables on
    disk are written in turn, in the order of their ranges, beside the tables in memory; the views, which read one of
    them and would hold more than `spill.VIEW_BYTES` of it, are made once every table on disk is written."""
    import threading
    import time

    from converters import writers
    from converters.pipeline import Conversion

    events, lock = [], threading.Lock()
    write_table = writers._write_table

    def noted(name, *args):
        with lock:
            events.append(("begin", name))
        time.sleep(0.02)
        try:
            return write_table(name, *args)
        finally:
            with lock:
                events.append(("end", name))

    def derive():
        with lock:
            events.append(("views", "sleep_nights"))
        return {}

    monkeypatch.setattr(writers, "_write_table", noted)
    monkeypatch.setattr(spill, "VIEW_BYTES", 0)
    on_disk = {name: spill.Sorted.written([pl.DataFrame(schema=TABLES[name].schema).clear(10)], tmp_path,
                                          TABLES[name].key)
               for name in ("band_minutes", "band_map_points", "sense_sensor_samples")}
    in_memory = {"band_events": pl.DataFrame(schema=TABLES["band_events"].schema).clear(5)}
    write(Conversion([], on_disk | in_memory, views=derive), tmp_path / "out")
    written = [event for event in events if event[1] in on_disk]
    assert written == [(when, name) for name in on_disk for when in ("begin", "end")]
    assert events.index(("views", "sleep_nights")) > max(events.index(("end", name)) for name in on_disk)


def test_views_that_hold_little_of_the_tables_on_disk_are_made_while_the_others_are_written(tmp_path, monkeypatch):
    """Views that read a small table on disk (under `spill.VIEW_BYTES`) are made once its writer is done, while the
    other tables on disk are written (the many-file tail would wait for them after its last file)."""
    import threading

    from converters import writers
    from converters.pipeline import Conversion

    made, seen = threading.Event(), []
    write_table = writers._write_table

    def noted(name, *args):
        if name == "sense_sensor_samples":
            seen.append(made.wait(10))  # the views are made meanwhile, or not before this writer is done
        return write_table(name, *args)

    def derive():
        made.set()
        return {}

    monkeypatch.setattr(writers, "_write_table", noted)
    on_disk = {name: spill.Sorted.written([pl.DataFrame(schema=TABLES[name].schema).clear(10)], tmp_path,
                                          TABLES[name].key)
               for name in ("band_minutes", "sense_sensor_samples")}
    write(Conversion([], on_disk, views=derive), tmp_path / "out")
    assert seen == [True]
