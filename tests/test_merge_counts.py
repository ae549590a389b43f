"""Duplicates and conflicts are counted the same whether the inputs are converted in one run, in shards merged
after, or added to an output run by run: every copy of a record is compared with the copy kept, as captured, and the
copies each run noted (`copies.parquet`) let a merge or a later run compare copies it never saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from converters.cli import app

runner = CliRunner()
SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]


def run(*args) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def counts(out: Path) -> tuple[dict, dict, dict]:
    report = json.loads((out / "report.json").read_bytes())
    tables = {name: (t["rows"], t["duplicates"], t["conflicts"]) for name, t in report["tables"].items()}
    files = {f["file"]: tuple({k: v for k, v in f[c].items() if v} for c in ("duplicates", "conflicts"))
             for f in report["files"]}
    rows = {p.name: pl.read_parquet(p).to_dicts() for p in sorted(out.glob("*.parquet")) if p.name != "copies.parquet"}
    return tables, files, rows


def event_captures(folder: Path) -> list[Path]:
    """One Band event captured four times: a, then b (changed), then c (as a), and d a byte copy of b."""
    folder.mkdir()
    times = ["2017-03-03T07:31:12-08:00", "2017-03-04T07:31:12-08:00", "2017-03-05T07:31:12-08:00"]
    paths = [write_har(folder / f"{name}.har", [entry(BAND_EVENTS_URL, band_event("42", calories), started=t)])
             for name, calories, t in zip("abc", (5, 6, 5), times)]
    shutil.copy(paths[1], folder / "d.har")
    return [*paths, folder / "d.har"]


SPLITS = [[[0, 1], [2, 3]], [[0, 2], [1, 3]], [[0], [1], [2], [3]], [[1, 3], [0], [2]]]


@pytest.mark.parametrize("split", SPLITS)
def test_merged_runs_count_as_one_run(tmp_path, split):
    files = event_captures(tmp_path / "in")
    run("convert", *files, "-o", tmp_path / "one", "-j", "1")
    one = counts(tmp_path / "one")
    assert one[0]["band_events"] == (1, 1, 2)  # a equals c, the one kept; b and its copy d differ
    outs = []
    for i, part in enumerate(split):
        run("convert", *(files[j] for j in part), "-o", tmp_path / f"part{i}", "-j", "1")
        outs.append(tmp_path / f"part{i}")
    run("merge", *outs, "-o", tmp_path / "merged")
    assert counts(tmp_path / "merged") == one
    run("merge", tmp_path / "merged", "-o", tmp_path / "again")  # a merge of a merge too
    assert counts(tmp_path / "again") == one


@pytest.mark.parametrize("given", ["the same folder twice", "one folder by two paths", "shards that overlap"])
def test_a_file_two_folders_merged_hold_is_counted_once(tmp_path, given):
    # 'databack merge s1 s1' (a shard given twice, by a glob and by name, say) or shards that overlap (a file
    # converted into two of them) counted each such file twice: its exchanges, and its records as duplicates of
    # themselves (band_events: 1 row, 5 duplicates rather than 1)
    files = event_captures(tmp_path / "in")
    run("convert", *files, "-o", tmp_path / "one", "-j", "1")
    if given == "shards that overlap":
        run("convert", *files[:3], "-o", tmp_path / "a", "-j", "1")
        run("convert", *files[1:], "-o", tmp_path / "b", "-j", "1")
        folders = [tmp_path / "a", tmp_path / "b"]
    else:
        folders = [tmp_path / "one", tmp_path / "one" if given == "the same folder twice" else tmp_path / "x/../one"]
        (tmp_path / "x").mkdir()
    run("merge", *folders, "-o", tmp_path / "merged")
    assert counts(tmp_path / "merged") == counts(tmp_path / "one")
    report = json.loads((tmp_path / "merged" / "report.json").read_bytes())
    assert (len(report["files"]), report["totals"]["exchanges"]) == (4, 4)


def test_adding_inputs_run_by_run_counts_as_one_run(tmp_path):
    files = event_captures(tmp_path / "in")
    run("convert", *files, "-o", tmp_path / "one", "-j", "1")
    for n in range(1, len(files) + 1):
        run("convert", *files[:n], "-o", tmp_path / "added", "-j", "1")
    assert counts(tmp_path / "added") == counts(tmp_path / "one")


def test_shards_of_the_samples_with_a_byte_copy_merge_to_the_counts_of_one_run(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in SAMPLES:
        shutil.copy(p, folder / p.name)
    shutil.copy(SAMPLES[0], folder / "copy.har")
    run("convert", folder, "-o", tmp_path / "one", "-j", "1")
    for i in (1, 2):
        run("convert", folder, "-o", tmp_path / f"s{i}", "-j", "1", "--shard", f"{i}/2")
    run("merge", tmp_path / "s1", tmp_path / "s2", "-o", tmp_path / "merged")
    one = counts(tmp_path / "one")
    assert one[1]["in/copy.har"][1]  # the copy's rows the flow dump changed are conflicts, in both ways of running
    assert counts(tmp_path / "merged") == one


def test_an_output_without_copies_noted_is_added_to_as_before(tmp_path):
    files = event_captures(tmp_path / "in")
    run("convert", *files[:2], "-o", tmp_path / "old", "-j", "1")
    (tmp_path / "old" / "copies.parquet").unlink()  # as an older databack left it
    run("convert", files[2], "-o", tmp_path / "new", "-j", "1")
    run("merge", tmp_path / "old", tmp_path / "new", "-o", tmp_path / "merged")
    tables, _, _ = counts(tmp_path / "merged")
    assert tables["band_events"][0] == 1 and sum(tables["band_events"][1:]) == 2  # every copy dropped is counted


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    captures=st.lists(  # per file: its capture time (ties happen) and events as (id, calories)
        st.tuples(st.integers(1, 3),
                  st.lists(st.tuples(st.sampled_from("12"), st.integers(1, 2)), min_size=1, max_size=3)),
        min_size=2, max_size=5,
    ),
    data=st.data(),
)
def test_any_split_of_the_inputs_merged_counts_as_one_run(tmp_path_factory, captures, data):
    root = tmp_path_factory.mktemp("split")
    files = []
    for i, (day, events) in enumerate(captures):
        bodies = [entry(BAND_EVENTS_URL, band_event(event_id, calories), started=f"2017-03-0{day}T07:31:12-08:00")
                  for event_id, calories in events]
        files.append(write_har(root / f"f{i}.har", bodies))
    groups = data.draw(st.lists(st.integers(0, 2), min_size=len(files), max_size=len(files)))
    run("convert", *files, "-o", root / "one", "-j", "1")
    outs = []
    for g in sorted(set(groups)):
        run("convert", *(f for f, h in zip(files, groups) if h == g), "-o", root / f"g{g}", "-j", "1")
        outs.append(root / f"g{g}")
    run("merge", *outs, "-o", root / "merged")
    assert counts(root / "merged") == counts(root / "one")
