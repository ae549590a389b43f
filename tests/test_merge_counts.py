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


def merged_counts(tmp_path: Path, files: list[Path], split: list[list[int]]) -> tuple[dict, dict, dict]:
    """The counts of `tmp_path/merged`: each part of the split converted on its own, then merged."""
    for i, part in enumerate(split):
        run("convert", *(files[j] for j in part), "-o", tmp_path / f"part{i}", "-j", "1")
    run("merge", *(tmp_path / f"part{i}" for i in range(len(split))), "-o", tmp_path / "merged")
    return counts(tmp_path / "merged")


@pytest.mark.parametrize("split", SPLITS)
def test_merged_runs_count_as_one_run(tmp_path, split):
    files = event_captures(tmp_path / "in")
    run("convert", *files, "-o", tmp_path / "one", "-j", "1")
    one = counts(tmp_path / "one")
    assert one[0]["band_events"] == (1, 1, 2)  # a equals c, the one kept; b and its copy d differ
    assert merged_counts(tmp_path, files, split) == one
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


def one_run_and_merged_shards_of_the_samples_with_a_byte_copy(tmp_path) -> Path:
    """The samples and a byte copy of the HAR in `tmp_path/in` (returned), converted by one run into `one`, and by two
    shards `s1` and `s2` merged into `merged`."""
    folder = tmp_path / "in"
    folder.mkdir()
    for p in SAMPLES:
        shutil.copy(p, folder / p.name)
    shutil.copy(SAMPLES[0], folder / "copy.har")
    run("convert", folder, "-o", tmp_path / "one", "-j", "1")
    for i in (1, 2):
        run("convert", folder, "-o", tmp_path / f"s{i}", "-j", "1", "--shard", f"{i}/2")
    run("merge", tmp_path / "s1", tmp_path / "s2", "-o", tmp_path / "merged")
    return folder


def test_shards_of_the_samples_with_a_byte_copy_merge_to_the_counts_of_one_run(tmp_path):
    one_run_and_merged_shards_of_the_samples_with_a_byte_copy(tmp_path)
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


def both_apis_captures(folder: Path) -> list[Path]:
    """One Band run fetched through the private API (a), the public one (b: fields the private copy gave left out,
    an offset it did not give) and the private one again (c), a day apart each; d a copy of b."""
    from test_band_api import PRIVATE, PUBLIC, RUN_ID, private_run, public_run

    folder.mkdir()
    private_url = f"https://{PRIVATE}/v1/Events(eventId='{RUN_ID}')?$expand=Sequences,Info,MapPoints"
    public_url = f"https://{PUBLIC}/v1/me/Activities?activityIds={RUN_ID}&activityIncludes=Details,MinuteSummaries"
    urls, bodies = (private_url, public_url, private_url), (private_run(), public_run(), private_run())
    times = ["2017-03-03T07:31:12-08:00", "2017-03-04T07:31:12-08:00", "2017-03-05T07:31:12-08:00"]
    paths = [write_har(folder / f"{name}.har", [entry(url, body, started=t)])
             for name, url, body, t in zip("abc", urls, bodies, times)]
    shutil.copy(paths[1], folder / "d.har")
    return [*paths, folder / "d.har"]


@pytest.mark.parametrize("split", SPLITS)
def test_one_event_through_both_apis_counts_its_copies_as_duplicates_however_the_runs_are_split(tmp_path, split):
    """A copy of a public and a private copy of one event that agree on every value either holds is a duplicate,
    merged or added run by run as in one run."""
    files = both_apis_captures(tmp_path / "in")
    run("convert", *files, "-o", tmp_path / "one", "-j", "1")
    one = counts(tmp_path / "one")
    assert one[0]["band_events"] == (1, 3, 0)
    assert merged_counts(tmp_path, files, split) == one
    for part in split:
        run("convert", *(files[j] for j in part), "-o", tmp_path / "added", "-j", "1")
    assert counts(tmp_path / "added")[:2] == one[:2]


def test_an_out_an_older_databack_wrote_before_a_column_counts_the_same_copies_as_duplicates(tmp_path, monkeypatch):
    """An OUT written before band_daily_summaries.duration_s existed: its table lacks the column, and its
    copies.parquet holds hashes of the columns it had. A capture of the same day added to it was counted a conflict
    with every earlier copy (the kept row's and the new copy's content differed in the column alone, which the older
    version never read). The earlier copies are the same as the new one: duplicates."""
    from test_band_api import DAILY, PRIVATE

    import converters.dedupe as dedupe

    daily = f"https://{PRIVATE}/v2/UserDailySummary(timeZoneUtcOffset=60,startDate='2019-03-10',endDate='2019-03-10')"
    a, b, c = (write_har(tmp_path / f"{name}.har", [entry(daily, DAILY, started=f"2017-03-0{day}T07:31:00-08:00")])
               for name, day in (("a", 3), ("b", 4), ("c", 5)))
    out = tmp_path / "out"
    content_hash = dedupe._content_hash

    def older(table):  # the hash of the columns the older version had
        columns = [c for c in table.column_names if c not in dedupe.PROVENANCE_COLUMNS and c != "duration_s"]
        return pl.struct(columns).hash().alias("_hash")

    monkeypatch.setattr(dedupe, "_content_hash", older)
    run("convert", a, b, "-o", out, "-j", "1")
    table = out / "band_daily_summaries.parquet"
    pl.read_parquet(table).drop("duration_s").write_parquet(table)
    monkeypatch.setattr(dedupe, "_content_hash", content_hash)
    run("convert", a, b, c, "-o", out, "-j", "1")
    tables, files, _ = counts(out)
    assert tables["band_daily_summaries"] == (1, 2, 0)
    assert sorted(map(str, files.values())) == sorted(map(str, [({}, {}), *[({"band_daily_summaries": 1}, {})] * 2]))


@pytest.mark.parametrize("format", ["parquet", "csv"])
def test_shards_converted_with_generic_merge_to_the_generic_tables_of_one_run(tmp_path, format):
    # merge read the device tables of the folders merged, never their --generic ones: the merged OUT had no generic
    # table, while its report still counted each file's generic responses (their rows lost without a word)
    folder = tmp_path / "in"
    folder.mkdir()
    api = "https://api.example.com/v1/things/"
    bodies = [{"name": "a", "value": 1, "tags": [{"k": 1}]}, {"name": "b", "value": "two", "tags": []},
              {"name": "c", "value": 3.5, "extra": True}, {"name": "a", "value": 1, "tags": [{"k": 1}]}]
    for i, body in enumerate(bodies):  # the last one a copy of the first: a duplicate, whichever shard holds it
        started = f"2017-03-0{i + 1}T07:31:12-08:00"
        write_har(folder / f"f{i}.har", [entry(BAND_EVENTS_URL, band_event(str(40 + i))),
                                         entry(f"{api}{i}", body, started=started)])
    options = ["-j", "1", "--generic", "api.example.com", "--format", format]
    run("convert", folder, "-o", tmp_path / "one", *options)
    for i in (1, 2):
        run("convert", folder, "-o", tmp_path / f"s{i}", *options, "--shard", f"{i}/2")
    run("merge", tmp_path / "s1", tmp_path / "s2", "-o", tmp_path / "merged", "--format", format)
    generic = lambda out: {p.name: p.read_bytes() for p in sorted(out.glob("generic__*"))}  # noqa: E731
    one, merged = json.loads((tmp_path / "one" / "report.json").read_bytes()), json.loads(
        (tmp_path / "merged" / "report.json").read_bytes())
    assert len(generic(tmp_path / "one")) == 2 and {n for n in one["tables"] if n.startswith("generic__")}
    assert {n: t for n, t in merged["tables"].items() if n.startswith("generic__")} == {
        n: t for n, t in one["tables"].items() if n.startswith("generic__")}
    assert one["tables"]["generic__api_example_com_v1_things_n"]["rows"] == 3  # the copy dropped
    if format == "parquet":
        for name in generic(tmp_path / "one"):
            a, b = (pl.read_parquet(tmp_path / o / name) for o in ("one", "merged"))
            assert a.schema == b.schema and a.sort("_row_id").equals(b.sort("_row_id")), name
    else:
        assert generic(tmp_path / "merged") == generic(tmp_path / "one")
    assert counts(tmp_path / "merged")[:2] == counts(tmp_path / "one")[:2]


def test_copies_noted_by_a_merge_or_by_runs_adding_files_are_stored_as_one_run_stores_them(tmp_path):
    # a merge (or a run adding files) noted a file's copies of a record found by a shard and those found by the merge
    # as two rows of one (record, file, hash, kept), where one run notes one row counting both: the same counts, but
    # copies.parquet (and its hash in datapackage.json) other than one run's
    folder = one_run_and_merged_shards_of_the_samples_with_a_byte_copy(tmp_path)
    (tmp_path / "first" / "in").mkdir(parents=True)  # (named as in the folder: in/copy.har)
    shutil.copy(SAMPLES[0], tmp_path / "first" / "in" / "copy.har")
    run("convert", tmp_path / "first" / "in", "-o", tmp_path / "added", "-j", "1")
    run("convert", folder, "-o", tmp_path / "added", "-j", "1")
    one = pl.read_parquet(tmp_path / "one" / "copies.parquet")
    assert one.height and one["copies"].max() > 1
    for other in ("merged", "added"):
        assert pl.read_parquet(tmp_path / other / "copies.parquet").equals(one), other


def test_an_out_a_databack_keying_a_table_otherwise_wrote_counts_and_keeps_as_one_run_would(tmp_path, monkeypatch):
    """An OUT written while sense_insights was keyed by time and category (before 744607a): two cards made at one
    moment were one record there, the older card lost, counted a conflict, and its copies.parquet notes the record
    by the hash of the old key. A run adding a new capture to it kept the files unchanged (skipped), so the lost card
    stayed lost and the conflict counted, where one run over the same files keeps both cards and counts none. Files
    holding a copy of a record whose kept row this version keys otherwise (no row of the table has the record hash
    noted for it) are converted again."""
    import dataclasses

    from converters import tables as tables_module

    cards = [{"category": "GENERIC", "title": title, "message": "Hi.", "timestamp": 1428082329484}
             for title in ("Nice To Meet You", "Questions")]
    a, b = (write_har(tmp_path / f"{n}.har", [entry("https://api.hello.is/v1/insights", [card],
                                                    started=f"2017-03-0{n + 3}T07:31:00-08:00")])
            for n, card in enumerate(cards))
    c = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    out = tmp_path / "out"
    insights = tables_module.TABLES["sense_insights"]
    monkeypatch.setitem(tables_module.TABLES, "sense_insights", dataclasses.replace(insights, key=("time", "category")))
    run("convert", a, b, "-o", out, "-j", "1")
    assert counts(out)[0]["sense_insights"] == (1, 0, 1)  # (the older version's output)
    monkeypatch.setitem(tables_module.TABLES, "sense_insights", insights)
    run("convert", a, b, c, "-o", out, "-j", "1")
    fresh = tmp_path / "fresh"
    run("convert", a, b, c, "-o", fresh, "-j", "1")
    assert counts(out)[0]["sense_insights"] == (2, 0, 0)
    assert counts(out)[:2] == counts(fresh)[:2]
