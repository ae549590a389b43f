"""Every output reads cleanly in the tools researchers use: polars (through `converters.load`), pandas + pyarrow,
DuckDB and the real frictionless validator; Parquet, partitioned Parquet and CSV alike. Nothing reaches the
network: frictionless' validation runs with sockets refused."""

from __future__ import annotations

import csv
import hashlib
import json
import socket
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO

from converters import convert, load
from converters.tables import TABLES

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
LAYOUTS = {
    "parquet": {},
    "csv": {"format": "csv"},
    "by_participant_night": {"partition_by": ["participant_id", "night"], "participant_id": "P 1/ä"},
    "by_participant_day": {"partition_by": ["participant_id", "day"]},  # no participant: not a level
    "by_night": {"partition_by": ["night"]},  # tables without a night: one folder, one file
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("outputs")
    return {name: _converted(root / name, **options) for name, options in LAYOUTS.items()}


def _converted(out: Path, **options) -> Path:
    report = convert(SAMPLES, out, jobs=1, **options)
    assert report["valid"]
    return out


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("tests reach no network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _reference(outputs) -> dict[str, pl.DataFrame]:
    return load(outputs["parquet"])


def _declared(out: Path, name: str) -> list[str]:
    resources = json.loads((out / "datapackage.json").read_bytes())["resources"]
    return [f["name"] for f in next(r for r in resources if r["name"] == name)["schema"]["fields"]]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_frictionless_validates_the_data_package(outputs, layout, no_network):
    from frictionless import validate

    report = validate(outputs[layout] / "datapackage.json")
    problems = [(task.name, e.type, e.note) for task in report.tasks for e in task.errors]
    assert report.valid, problems[:10]
    assert len(report.tasks) == len(json.loads((outputs[layout] / "datapackage.json").read_bytes())["resources"])
    rows = {task.name: task.stats["rows"] for task in report.tasks}
    copies = pl.read_parquet(outputs[layout] / "copies.parquet").height  # de-duplication's notes, described too
    assert rows == {name: df.height for name, df in _reference(outputs).items()} | {"copies": copies}  # every row


@pytest.mark.parametrize("layout", LAYOUTS)
def test_load_gives_every_table_with_its_declared_types_whatever_the_layout(outputs, layout):
    reference = _reference(outputs)
    tables = load(outputs[layout])
    assert tables.keys() == reference.keys()
    for name, df in tables.items():
        if "participant_id" in LAYOUTS[layout] and name in TABLES:
            df = df.with_columns(pl.lit(None, pl.String).alias("participant_id"))
        declared = TABLES[name].schema
        extra = [c for c in df.columns if c not in declared]
        assert set(extra) <= ({"day"} if "day" in LAYOUTS[layout].get("partition_by", ()) else set()), name
        assert dict(df.drop(extra).schema) == dict(declared), name
        key = list(TABLES[name].key)
        assert df.drop(extra).sort(key).equals(reference[name].sort(key)), name


def test_load_is_lazy_when_asked_or_where_big(outputs):
    tables = load(outputs["csv"], lazy=True)
    assert all(isinstance(t, pl.LazyFrame) for t in tables.values())
    assert tables["band_events"].collect().height == 4
    assert load(REPO / "samples") == {}  # not an output


@pytest.mark.parametrize("layout", ["parquet", "by_participant_night", "by_participant_day", "by_night"])
def test_pandas_and_pyarrow_read_every_table_and_dataset(outputs, layout):
    reference = _reference(outputs)
    for name, expected in reference.items():
        path = outputs[layout] / (name if LAYOUTS[layout].get("partition_by") else f"{name}.parquet")
        frame = pd.read_parquet(path)
        table = pq.read_table(path)
        assert len(frame) == table.num_rows == expected.height, name
        assert list(frame.columns) == table.column_names == _declared(outputs[layout], name), name  # nothing else
        if name == "band_events":  # a 19-digit id stays text
            assert sorted(frame["event_id"]) == sorted(expected["event_id"])


@pytest.mark.parametrize("layout", ["parquet", "by_participant_night", "by_participant_day"])
def test_duckdb_reads_every_table_and_dataset(outputs, layout):
    for name, expected in _reference(outputs).items():
        path = outputs[layout] / name
        source = f"'{path}/**/*.parquet', hive_partitioning = true" if path.is_dir() else f"'{path}.parquet'"
        count = duckdb.sql(f"select count(*) from read_parquet({source})").fetchall()[0][0]
        columns = [c for c, *_ in duckdb.sql(f"describe select * from read_parquet({source})").fetchall()]
        assert count == expected.height and sorted(columns) == sorted(_declared(outputs[layout], name)), name


def test_partition_columns_are_in_the_path_only_and_a_night_is_filed_under_its_night(outputs):
    out = outputs["by_participant_night"]
    nights = sorted((out / "sense_nights").rglob("*.parquet"))
    assert {f.relative_to(out / "sense_nights").parts[0] for f in nights} == {"participant_id=P%201%2F%C3%A4"}
    for f in nights:
        night = date.fromisoformat(f.parent.name.removeprefix("night="))
        stored = pl.read_parquet(f)
        assert "participant_id" not in stored.columns and "night" not in stored.columns and "day" not in stored.columns
        assert stored.height == 1
        same = pl.col("source_file") == stored["source_file"][0], pl.col("source_entry") == stored["source_entry"][0]
        assert load(out)["sense_nights"].filter(*same)["night"].to_list() == [night]
    captured = {f.parent.name: pl.read_parquet(f)["captured_at"][0].date().isoformat() for f in nights}
    assert any(folder != f"night={day}" for folder, day in captured.items())  # the night, not the capture date
    assert set(pd.read_parquet(out / "sense_nights")["participant_id"]) == {"P 1/ä"}


def test_band_minutes_go_with_their_event_in_the_partition_of_its_local_day(outputs):
    out = outputs["by_participant_day"]
    tables = load(out)
    events = tables["band_events"].select("event_id", event_day="day_id")
    assert tables["band_events"]["day"].equals(tables["band_events"]["day_id"].alias("day"))
    for name in ("band_minutes", "band_sequences", "band_map_points"):
        rows = tables[name].join(events, on="event_id")
        assert rows.height == tables[name].height and (rows["day"] == rows["event_day"]).all(), name
    minutes = tables["band_minutes"].join(events, on="event_id")
    assert (minutes["time"].dt.date() != minutes["event_day"]).any()  # not the UTC date: a night stays whole
    assert not (out / "band_minutes" / "participant_id=__HIVE_DEFAULT_PARTITION__").exists()  # no null partitions
    sense = tables["sense_nights"]
    assert sense["day"].equals(sense["night"].alias("day"))  # a night's day is its night, not the capture date


def test_partitioning_by_night_alone_writes_tables_without_a_night_whole(outputs):
    out = outputs["by_night"]
    assert sorted(p.name for p in (out / "band_events").iterdir()) == ["00000000.parquet"]
    assert any((out / "sense_nights").glob("night=*"))


def test_csv_times_are_iso_8601_and_types_come_back_from_the_data_package(outputs):
    out = outputs["csv"]
    line = (out / "band_events.csv").read_text().splitlines()[1]
    assert "2015-01-11T16:12:31.271453Z" in line and "+0000" not in line  # (the public copy, to its id's µs)
    assert line.startswith('"2519813080487285469",')  # an id of 19 digits written as text
    rows = list(csv.DictReader((out / "band_events.csv").open(), quoting=csv.QUOTE_NONNUMERIC))
    assert rows[0]["event_id"] == "2519813080487285469" and rows[0]["duration_s"] == 1766.0
    resources = json.loads((out / "datapackage.json").read_bytes())["resources"]
    fields = {r["name"]: r["schema"]["fields"] for r in resources}
    texts = {f["name"]: "string" for f in fields["band_events"] if f["type"] == "string"}
    times = [f["name"] for f in fields["band_events"] if f["type"] == "datetime"]
    frame = pd.read_csv(out / "band_events.csv", dtype=texts, parse_dates=times)
    assert frame["event_id"].tolist() == load(outputs["parquet"])["band_events"]["event_id"].to_list()
    assert str(frame["start_time"].dt.tz) == "UTC"
    types = ", ".join(f"'{n}': 'VARCHAR'" for n in texts)
    ids = duckdb.sql(f"select event_id from read_csv('{out}/band_events.csv', types = {{{types}}})").fetchall()
    assert sorted(i for (i,) in ids) == sorted(load(outputs["parquet"])["band_events"]["event_id"])
    when = duckdb.sql(f"select typeof(start_time) from read_csv('{out}/band_events.csv') limit 1").fetchall()[0][0]
    assert when == "TIMESTAMP WITH TIME ZONE"


def test_an_all_empty_csv_column_keeps_its_declared_type(outputs):
    events = load(outputs["csv"])["band_events"]
    empty = [c for c in events.columns if events[c].null_count() == events.height]
    assert empty and all(events.schema[c] == TABLES["band_events"].schema[c] for c in empty)
    assert any(events.schema[c] != pl.String for c in empty)


def test_the_data_package_names_each_committed_file_by_its_hash(outputs):
    for layout in ("parquet", "csv"):
        out = outputs[layout]
        for resource in json.loads((out / "datapackage.json").read_bytes())["resources"]:
            data = (out / resource["path"]).read_bytes()
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource.get("bytes", len(data)) == len(data)


def test_convert_adds_only_new_inputs_to_an_output(tmp_path):
    out = tmp_path / "out"
    first = convert(SAMPLES[0], out, jobs=1)
    write_har(tmp_path / "extra.har", [entry(BAND_EVENTS_URL, band_event("42", calories=5))])
    second = convert([SAMPLES[0], tmp_path / "extra.har"], out, jobs=1)
    assert [f["file"] for f in second["files"]] == [f["file"] for f in first["files"]] + [str(tmp_path / "extra.har")]
    assert "42" in load(out)["band_events"]["event_id"].to_list()
    with pytest.raises(FileNotFoundError, match="no such file or folder: nothing.har"):
        convert("nothing.har", out)


def test_importing_the_package_loads_neither_polars_nor_the_pipeline():
    import subprocess
    import sys

    modules = ("polars", "converters.api", "converters.pipeline")
    code = f"import sys, converters; print(sorted(m for m in {modules} if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_every_csv_table_reads_in_pandas_and_duckdb_with_its_rows(outputs):
    out = outputs["csv"]
    for name, expected in _reference(outputs).items():
        path = out / f"{name}.csv"
        assert len(pd.read_csv(path)) == expected.height, name
        assert duckdb.sql(f"select count(*) from read_csv('{path}')").fetchall()[0][0] == expected.height, name


@pytest.mark.parametrize("path", ["../elsewhere.parquet", "/ABSOLUTE/elsewhere.parquet", "band_sequences.parquet"])
def test_load_never_reads_a_table_from_a_file_datapackage_names_outside_its_own(tmp_path, path):
    from converters import store

    out = tmp_path / "out"
    convert(SAMPLES[0], out, jobs=1)
    pl.DataFrame({"password": ["hunter2"]}).write_parquet(tmp_path / "elsewhere.parquet")
    package = json.loads((out / "datapackage.json").read_bytes())
    (events,) = [r for r in package["resources"] if r["name"] == "band_events"]
    events["path"] = path.replace("/ABSOLUTE", str(tmp_path))
    (out / "datapackage.json").write_text(json.dumps(package))
    with pytest.raises(store.OutError, match=f"^cannot read the run in {out}: datapackage.json: names another file "
                                             "for band_events$"):
        load(out)


def test_convert_on_a_full_disk_raises_the_out_error_it_documents(tmp_path, monkeypatch):
    from converters import spill, store

    monkeypatch.setattr(spill, "SPILL_ROWS", 7)  # the samples' rows go to the work folder in parts
    monkeypatch.setattr(spill, "PART_ROWS", 5)

    def full(self, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    monkeypatch.setattr(pl.DataFrame, "write_ipc", full)
    out = tmp_path / "out"
    with pytest.raises(store.OutError, match=f"^cannot write into {out}: No space left on device$"):
        convert(SAMPLES, out, jobs=1)
    assert not out.exists()  # made by the run, which committed nothing
