"""Archive workflow: incremental re-runs, shards merged, partitioned datasets, a data package, safe writes."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, fed_pipe, write_har
from conftest import REPO
from typer.testing import CliRunner

from converters import pipeline, writers
from converters.cli import app
from converters.pipeline import Input, convert, shard

runner = CliRunner()
SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


def run(*args):
    result = runner.invoke(app, [*map(str, args), "-j", "1"] if args[0] == "convert" else list(map(str, args)))
    return result


def tables(out):
    return {p.stem: pl.read_parquet(p) for p in sorted(out.glob("*.parquet"))}


def assert_same_tables(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name


def archive(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    for p in SAMPLES:
        (folder / p.name).write_bytes(p.read_bytes())
    write_har(folder / "extra.har", [entry(BAND_EVENTS_URL, band_event("42", calories=5))])
    return folder


def test_rerun_skips_unchanged_inputs_and_gives_the_same_output(tmp_path):
    folder = archive(tmp_path)
    assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
    first = tables(tmp_path / "out")
    again = run("convert", folder, "-o", tmp_path / "out")
    assert again.exit_code == 0
    assert "3 inputs already converted unchanged" in again.output
    assert_same_tables(first, tables(tmp_path / "out"))


def test_incremental_runs_equal_one_run_over_everything(tmp_path):
    folder = archive(tmp_path)
    (folder / "phone-sync.flow").rename(tmp_path / "later.flow")
    assert run("convert", folder, "-o", tmp_path / "inc").exit_code == 0
    (tmp_path / "later.flow").rename(folder / "phone-sync.flow")
    assert run("convert", folder, "-o", tmp_path / "inc").exit_code == 0  # only the new file is converted
    assert run("convert", folder, "-o", tmp_path / "once").exit_code == 0
    assert_same_tables(tables(tmp_path / "once"), tables(tmp_path / "inc"))
    inc = json.loads((tmp_path / "inc" / "report.json").read_text())
    once = json.loads((tmp_path / "once" / "report.json").read_text())
    assert inc["tables"] == once["tables"]


def test_a_changed_input_replaces_its_earlier_rows(tmp_path):
    folder = archive(tmp_path)
    assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
    write_har(folder / "extra.har", [entry(BAND_EVENTS_URL, band_event("43", calories=5))])
    assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
    ids = set(tables(tmp_path / "out")["band_events"]["event_id"])
    assert "43" in ids and "42" not in ids


def test_force_converts_everything_again(tmp_path):
    folder = archive(tmp_path)
    assert run("convert", folder, "-o", tmp_path / "out").exit_code == 0
    forced = run("convert", folder, "-o", tmp_path / "out", "--force")
    assert forced.exit_code == 0 and "already converted" not in forced.output


@pytest.mark.parametrize("option", ["--force", "--generic", "force=True"])
def test_force_converts_the_inputs_given_again_and_keeps_the_rows_of_earlier_files_not_given(tmp_path, option):
    # --force (convert every input again, for new limits say) and --generic (which converts every input again)
    # started OUT over from the inputs given: week 1's files, not given again, lost every row and report
    from converters import convert as convert_api

    week1, week2 = tmp_path / "week1", tmp_path / "week2"
    week1.mkdir(), week2.mkdir()
    write_har(week1 / "a.har", [entry(BAND_EVENTS_URL, band_event("42", calories=5))])
    write_har(week2 / "b.har", [entry(BAND_EVENTS_URL, band_event("43", calories=7))])
    out, once = tmp_path / "out", tmp_path / "once"
    assert run("convert", week1, "-o", out).exit_code == 0
    assert run("convert", week2, "-o", out).exit_code == 0
    if option == "force=True":
        convert_api(week2, out, force=True)
    else:
        args = ["--force"] if option == "--force" else ["--generic", "api.example.com"]
        result = run("convert", week2, "-o", out, *args)
        assert result.exit_code == 0 and "already converted" not in result.output, result.output
    assert run("convert", week1, week2, "-o", once).exit_code == 0
    assert_same_tables(tables(once), tables(out))
    report = json.loads((out / "report.json").read_text())
    assert sorted(f["file"] for f in report["files"]) == ["week1/a.har", "week2/b.har"]
    assert report["tables"] == json.loads((once / "report.json").read_text())["tables"]


def test_an_input_that_cannot_be_read_now_keeps_the_rows_an_earlier_run_converted_from_it(tmp_path):
    # a capture in a folder on a drive not mounted now, or a cloud folder offline (a link to nothing), or that this
    # user may no longer read, was taken for a new version of the file with no rows: every row an earlier run had
    # converted from it was removed (a file no longer given at all keeps them)
    folder = archive(tmp_path)
    out = tmp_path / "out"
    assert run("convert", folder, "-o", out).exit_code == 0
    before = tables(out)
    files = json.loads((out / "report.json").read_text())["files"]
    (folder / "phone-sync.har").rename(tmp_path / "phone-sync.har")
    (folder / "phone-sync.har").symlink_to(tmp_path / "drive" / "phone-sync.har")
    result = run("convert", folder, "-o", out)
    assert result.exit_code == 1
    assert "databack: archive/phone-sync.har: a symbolic link to nothing: not read; the rows an earlier run " \
           "converted from it are kept" in result.output.splitlines()
    assert_same_tables(before, tables(out))
    assert sorted(json.loads((out / "report.json").read_text())["files"], key=str) == sorted(files, key=str)
    (folder / "phone-sync.har").unlink()
    (tmp_path / "phone-sync.har").rename(folder / "phone-sync.har")  # back: nothing to convert again
    assert "3 inputs already converted unchanged" in run("convert", folder, "-o", out).output


def test_a_changed_file_converted_again_gives_what_one_run_gives_with_the_files_that_share_its_records(tmp_path):
    # a record's winner (the newest copy) takes the fields it lacks from older copies, which no table keeps: a run
    # converting the newest capture's file again (changed) while skipping the older one (unchanged) made the record
    # from the new copy alone (its distance lost), and counted it otherwise than one run does
    def capture(path, started, calories, distance=True):
        body = band_event("42", calories=calories)
        if not distance:
            del body["value"][0]["TotalDistance"]
        write_har(path, [entry(BAND_EVENTS_URL, body, started=started),
                         entry(BAND_EVENTS_URL, band_event(f"5{calories}", calories=1), started=started)])

    folder, out, once = tmp_path / "archive", tmp_path / "out", tmp_path / "once"
    folder.mkdir()
    capture(folder / "older.har", "2017-03-01T07:31:12.345-08:00", 240)
    capture(folder / "newer.har", "2017-03-03T07:31:12.345-08:00", 242, distance=False)  # the public API's, say
    assert run("convert", folder, "-o", out).exit_code == 0
    capture(folder / "newer.har", "2017-03-03T07:31:12.345-08:00", 243, distance=False)  # changed
    assert run("convert", folder, "-o", out).exit_code == 0
    assert run("convert", folder, "-o", once).exit_code == 0
    assert_same_tables(tables(once), tables(out))
    event = tables(out)["band_events"].filter(pl.col("event_id") == "42").row(0, named=True)
    assert (event["calories_kcal"], event["distance_m"]) == (243, 2367.02)
    report, clean = (json.loads((o / "report.json").read_text()) for o in (out, once))
    assert report["tables"] == clean["tables"]


@pytest.mark.parametrize("how", ["standard input", "a named pipe"])
def test_captures_piped_in_on_two_days_each_keep_their_rows(tmp_path, how):
    # a capture piped in is named by its pipe (<stdin>, /dev/fd/63, the pipe's path), whatever comes through it:
    # the second day's capture was taken for a new version of the first day's, whose rows it replaced
    out, once = tmp_path / "out", tmp_path / "once"
    fifo = tmp_path / "captures.fifo"

    def piped(capture, *options):
        if how == "standard input":
            return runner.invoke(app, ["convert", "-", "-o", str(out), "-j", "1", *options], input=capture.read_bytes())
        with fed_pipe(fifo, capture.read_bytes()):
            return run("convert", fifo, "-o", out, *options)

    assert piped(SAMPLES[0]).exit_code == 0
    assert piped(SAMPLES[1]).exit_code == 0
    assert run("convert", *SAMPLES, "-o", once).exit_code == 0
    got, clean = (json.loads((o / "report.json").read_text()) for o in (out, once))
    assert got["totals"] == clean["totals"] and got["tables"] == clean["tables"]
    again = piped(SAMPLES[1])  # the same capture again: skipped, nothing counted twice
    assert again.exit_code == 0 and "1 input already converted unchanged" in again.output
    assert piped(SAMPLES[0], "--force").exit_code == 0  # (nor with --force)
    assert json.loads((out / "report.json").read_text())["totals"] == clean["totals"]


def test_shards_are_disjoint_and_cover_every_input():
    inputs = [Input(None, f"captures/p{i:02}.har", True) for i in range(40)]
    parts = [shard(inputs, i, 3) for i in (1, 2, 3)]
    assert sorted(x.name for p in parts for x in p) == sorted(x.name for x in inputs)
    assert all(parts)


def test_shards_merged_equal_one_run(tmp_path):
    folder = archive(tmp_path)
    for i in (1, 2):
        assert run("convert", folder, "-o", tmp_path / f"shard{i}", "--shard", f"{i}/2").exit_code == 0
    merged = run("merge", tmp_path / "shard1", tmp_path / "shard2", "-o", tmp_path / "merged")
    assert merged.exit_code == 0, merged.output
    assert run("convert", folder, "-o", tmp_path / "once").exit_code == 0
    assert_same_tables(tables(tmp_path / "once"), tables(tmp_path / "merged"))
    m = json.loads((tmp_path / "merged" / "report.json").read_text())
    o = json.loads((tmp_path / "once" / "report.json").read_text())
    assert sorted(f["file"] for f in m["files"]) == sorted(f["file"] for f in o["files"])
    for name in o["tables"]:
        assert m["tables"][name]["rows"] == o["tables"][name]["rows"]
        total = lambda r: r["tables"][name]["duplicates"] + r["tables"][name]["conflicts"]  # noqa: E731
        assert total(m) == total(o)


def test_shard_auto_takes_the_slurm_array_task_and_merge_in_parallel_equals_one_run(tmp_path, monkeypatch):
    folder = archive(tmp_path)
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "2")
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "0")  # --array=0-1
    for task in ("0", "1"):
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", task)
        assert run("convert", folder, "-o", tmp_path / f"auto{task}", "--shard", "auto").exit_code == 0
        assert run("convert", folder, "-o", tmp_path / f"shard{task}", "--shard", f"{int(task) + 1}/2").exit_code == 0
        assert_same_tables(tables(tmp_path / f"auto{task}"), tables(tmp_path / f"shard{task}"))
    merged = run("merge", tmp_path / "auto0", tmp_path / "auto1", "-o", tmp_path / "merged", "--jobs", "2")
    assert merged.exit_code == 0, merged.output
    assert run("convert", folder, "-o", tmp_path / "once").exit_code == 0
    assert_same_tables(tables(tmp_path / "once"), tables(tmp_path / "merged"))


def test_shard_auto_outside_a_slurm_array_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    result = run("convert", archive(tmp_path), "-o", tmp_path / "out", "--shard", "auto")
    assert (result.exit_code, result.output) == (
        2, "databack: --shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array)\n")


@pytest.mark.parametrize("array, task, shard", [
    ({"MIN": "1", "COUNT": "32"}, "7", (7, 32)),  # --array=1-32
    ({"MIN": "0", "COUNT": "32"}, "31", (32, 32)),  # --array=0-31
    ({"MIN": "0", "STEP": "2", "COUNT": "32"}, "62", (32, 32)),  # --array=0-62:2
    ({"MIN": "1", "STEP": "3", "COUNT": "4"}, "7", (3, 4)),  # --array=1-10:3: tasks 1, 4, 7, 10
])
def test_shard_auto_gives_each_task_of_an_evenly_spaced_array_its_own_slice(array, task, shard):
    env = {f"SLURM_ARRAY_TASK_{k}": v for k, v in {**array, "ID": task}.items()}
    assert pipeline.slurm_shard(env) == shard


@pytest.mark.parametrize("array, task, why", [
    ({"MIN": "5", "COUNT": "1"}, "5", "in an array of one task would take every input: give the slice, --shard I/N"),
    ({"MIN": "1", "COUNT": "3"}, "8", "cannot tell task 8's slice"),  # --array=1,3,8
    ({"MIN": "0", "STEP": "2", "COUNT": "4"}, "3", "cannot tell task 3's slice"),
])
def test_shard_auto_refuses_a_task_whose_slice_the_array_cannot_tell(tmp_path, monkeypatch, array, task, why):
    """A task run again alone (`sbatch --array=5`) would otherwise convert every input as its slice, and ids not
    evenly spaced give no slice: each is a usage error naming what to give instead."""
    for k, v in {**array, "ID": task}.items():
        monkeypatch.setenv(f"SLURM_ARRAY_TASK_{k}", v)
    if "STEP" not in array:
        monkeypatch.delenv("SLURM_ARRAY_TASK_STEP", raising=False)
    result = run("convert", archive(tmp_path), "-o", tmp_path / "out", "--shard", "auto")
    assert result.exit_code == 2 and result.output.startswith("databack: --shard auto ") and why in result.output
    assert not (tmp_path / "out").exists()


def test_merge_of_a_folder_that_is_no_output_is_a_usage_error(tmp_path):
    assert run("merge", tmp_path, "-o", tmp_path / "m").exit_code == 2


def test_partitioned_datasets_read_back_with_hive_partitioning(tmp_path):
    folder = archive(tmp_path)
    result = run("convert", folder, "-o", tmp_path / "out", "--participant", "P1", "--partition-by", "participant_id,night")
    assert result.exit_code == 0, result.output
    nights = pl.read_parquet(tmp_path / "out" / "sense_nights" / "**" / "*.parquet", hive_partitioning=True)
    assert set(nights["participant_id"]) == {"P1"} and nights.height == 4
    assert (tmp_path / "out" / "sense_nights" / "participant_id=P1").is_dir()
    # an all-null column (score_condition of v1 nights, say) keeps its declared type in every file
    for f in (tmp_path / "out" / "band_events").rglob("*.parquet"):
        assert pl.read_parquet_schema(f)["fall_asleep_time"] == pl.Datetime("us", "UTC")
    again = run("convert", folder, "-o", tmp_path / "out", "--participant", "P1", "--partition-by", "participant_id,night")
    assert again.exit_code == 0, again.output  # incremental over partitioned output
    day = run("convert", folder, "-o", tmp_path / "day", "--partition-by", "day")
    assert day.exit_code == 0 and any((tmp_path / "day" / "band_minutes").glob("day=*"))


def test_partitioning_csv_is_a_usage_error(tmp_path):
    assert run("convert", archive(tmp_path), "-o", tmp_path / "o", "--format", "csv", "--partition-by", "night").exit_code == 2


def test_datapackage_describes_every_table_from_the_same_definitions(tmp_path):
    assert run("convert", archive(tmp_path), "-o", tmp_path / "out").exit_code == 0
    package = json.loads((tmp_path / "out" / "datapackage.json").read_text())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    written = {n for n, t in report["tables"].items() if t["file"]}
    assert {r["name"] for r in package["resources"]} == written | {"copies"}
    copies = next(r for r in package["resources"] if r["name"] == "copies")
    assert copies["path"] == "copies.parquet" and [f["name"] for f in copies["schema"]["fields"]] == [
        "table", "record", "source_file", "hash", "kept", "copies"]
    events = next(r for r in package["resources"] if r["name"] == "band_events")
    fields = {f["name"]: f for f in events["schema"]["fields"]}
    assert fields["distance_m"] == {"name": "distance_m", "type": "number", "unit": "m",
                                    "description": "Total distance (TotalDistance); golf: distance walked; null when the event has none"}
    assert fields["start_time"]["type"] == "datetime" and events["schema"]["primaryKey"] == ["participant_id", "event_id"]
    assert events["stats"]["rows"] == report["tables"]["band_events"]["rows"]
    assert "bytes" not in events  # frictionless never counts a Parquet file's bytes, and would report a mismatch
    assert events["hash"] == "sha256:" + hashlib.sha256((tmp_path / "out" / "band_events.parquet").read_bytes()).hexdigest()
    assert fields["steps"]["missingValues"] == ["", "nan"]  # frictionless reads Parquet through pandas: NaN for null


def test_an_interrupted_write_leaves_the_previous_output_intact(tmp_path, monkeypatch):
    folder = archive(tmp_path)
    out = tmp_path / "out"
    assert run("convert", folder, "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = 0

    def fail_on_third_table(self, path, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return original(self, path, *args, **kwargs)

    original = pl.DataFrame.write_parquet
    monkeypatch.setattr(pl.DataFrame, "write_parquet", fail_on_third_table)
    with pytest.raises(KeyboardInterrupt):
        writers.write(convert([Input(p, p.name, True) for p in SAMPLES]), out)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after.keys() == before.keys()  # no temporary file left behind
    assert after["report.json"] == before["report.json"]
    for name in after:  # every table still complete and readable
        if name.endswith(".parquet"):
            pl.read_parquet(out / name)
