"""Generic export: JSON of an API databack does not know becomes tidy tables, children carrying their parent's key."""

from __future__ import annotations

import json
from collections import Counter

import polars as pl
from builders import entry, write_har
from typer.testing import CliRunner

from converters.cli import app
from converters.pipeline import Input, convert
from converters.generic import table_name

runner = CliRunner()
SLEEP_URL = "https://api.fitbit.com/1.2/user/-/sleep/date/{}.json"


def night(date: str, minutes_asleep, stages: list[dict], extra: dict | None = None) -> dict:
    return {
        "sleep": [
            {
                "dateOfSleep": date,
                "minutesAsleep": minutes_asleep,
                "isMainSleep": True,
                "levels": {"summary": {"deep": {"count": 3, "minutes": 80}}, "data": stages},
                **(extra or {}),
            }
        ],
        "summary": {"totalMinutesAsleep": minutes_asleep, "stages": None},
    }


def capture(tmp_path, name="fitbit.har"):
    stage = {"dateTime": "2024-03-02T23:10:00.000", "level": "light", "seconds": 600}
    return write_har(
        tmp_path / name,
        [
            entry(SLEEP_URL.format("2024-03-02"), night("2024-03-02", 412, [stage, stage | {"level": "deep"}])),
            entry(SLEEP_URL.format("2024-03-03"), night("2024-03-03", 398.5, [stage], {"efficiency": "n/a"})),
            entry(SLEEP_URL.format("2024-03-03"), night("2024-03-03", 398.5, [stage], {"efficiency": "n/a"})),
            entry("https://api.fitbit.com/oauth2/token", {"access_token": "SECRET-TOKEN"}, method="POST"),
            entry("https://www.example.com/x.json", {"a": 1}),
        ],
    )


def test_table_names_come_from_the_host_and_the_path_template():
    assert table_name("api.fitbit.com", "/1.2/user/-/sleep/date/2024-03-02.json") == table_name(
        "api.fitbit.com", "/1.2/user/-/sleep/date/2024-03-03.json"
    )
    assert table_name("api.fitbit.com", "/1/user/-/sleep/date/2024-03-02.json").startswith("generic__api_fitbit_com")


def test_nested_json_becomes_parent_and_child_tables_with_consistent_types(tmp_path):
    result = convert([Input(capture(tmp_path), "fitbit.har", True, generic=("api.fitbit.com",))])
    (f,) = result.files
    name = table_name("api.fitbit.com", "/1.2/user/-/sleep/date/2024-03-02.json")
    assert f.generic_responses == {name: 3} and f.accounted() == f.exchanges
    assert f.not_device == 2  # the token call is never exported; example.com is not asked for
    top = result.tables[name]
    assert top.height == 2  # the repeated response is kept once
    assert result.duplicates[name] == 1
    assert set(top.columns) >= {"summary_totalMinutesAsleep", "summary_stages", "_row_id", "source_file", "captured_at"}
    assert top.schema["summary_totalMinutesAsleep"] == pl.Float64  # 412 and 398.5: numbers, one type everywhere
    sleep = result.tables[f"{name}__sleep"]
    assert sleep.schema["levels_summary_deep_minutes"] == pl.Int64
    assert set(sleep["_parent_id"]) <= set(top["_row_id"])
    stages = result.tables[f"{name}__sleep__levels_data"]
    assert stages.height == 3 and set(stages["_parent_id"]) <= set(sleep["_row_id"])
    assert sorted(stages["level"]) == ["deep", "light", "light"]


def test_a_column_that_is_text_in_one_file_is_text_in_all(tmp_path):
    a = write_har(tmp_path / "a.har", [entry(SLEEP_URL.format("2024-03-02"), {"score": 80})])
    b = write_har(tmp_path / "b.har", [entry(SLEEP_URL.format("2024-03-03"), {"score": "n/a"})])
    result = convert([Input(p, p.name, True, generic=("api.fitbit.com",)) for p in (a, b)])
    (df,) = [df for n, df in result.tables.items() if n.startswith("generic__")]
    assert df.schema["score"] == pl.String and sorted(df["score"]) == ["80", "n/a"]


def test_generic_cli_writes_tables_listed_in_report_and_datapackage_without_secrets(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", str(capture(tmp_path)), "-o", str(out), "--generic", "*.fitbit.com"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    generic_tables = [n for n, t in report["tables"].items() if n.startswith("generic__") and t["rows"]]
    assert len(generic_tables) == 3
    package = json.loads((out / "datapackage.json").read_text())
    assert set(generic_tables) <= {r["name"] for r in package["resources"]}
    for f in out.iterdir():
        assert b"SECRET-TOKEN" not in f.read_bytes()


def test_users_with_ids_of_letters_and_digits_share_one_table(tmp_path):
    nights = [entry(f"https://api.sleep.example/v3/users/{user}/nights/2017-01-09", {"score": n})
              for n, user in enumerate(["u-77", "u-78", "abc123"])]
    result = convert([Input(write_har(tmp_path / "n.har", nights), "n.har", True, generic=("api.sleep.example",))])
    assert [n for n in result.tables if n.startswith("generic__")] == [
        "generic__api_sleep_example_v3_users_id_nights_date"]
    assert result.tables["generic__api_sleep_example_v3_users_id_nights_date"].height == 3


def test_an_integer_no_int64_holds_is_a_number_of_its_column_not_the_end_of_its_file(tmp_path):
    """orjson reads integers to 2**64 - 1 (a uint64 id, a hash); one past Int64 in a generic column failed the whole
    file with an internal error (TypeError), every table of it lost. It is a float, as an integer of more than 64
    bits is read, and the other rows are as they were."""
    path = write_har(tmp_path / "big.har", [entry(SLEEP_URL.format("2024-03-02"), {"score": 80, "n": 1}),
                                            entry(SLEEP_URL.format("2024-03-03"), {"score": 2**64 - 1, "n": 2}),
                                            entry(SLEEP_URL.format("2024-03-04"), {"score": -(2**63), "n": 3})])
    result = convert([Input(path, path.name, True, generic=("api.fitbit.com",))])
    (f,) = result.files
    assert (f.status, f.error) == ("ok", None)
    (df,) = [df for n, df in result.tables.items() if n.startswith("generic__")]
    assert df.schema["score"] == pl.Float64 and df.sort("n")["score"].to_list() == [80.0, 2.0**64, -(2.0**63)]
    assert df.schema["n"] == pl.Int64


def test_fields_whose_names_meet_in_one_column_each_keep_their_value(tmp_path):
    """A column's name is its key's letters and digits, nested names joined by _, and every row carries its
    provenance: a response's participant_id, source_file or captured_at was overwritten by the row's provenance,
    and of heart_rate, heart-rate and heart: {rate} (or row_id and _row_id, index and _index in an array's items)
    one value was kept, the others lost without a word. A name taken is followed by _2, _3…, in the keys' order."""
    body = {"participant_id": "P-from-api", "source_file": "export.csv", "captured_at": 17, "heart_rate": 60,
            "heart-rate": 61, "heart": {"rate": 62}, "row_id": "x", "_row_id": "y",
            "items": [{"index": 1, "_index": 2, "parent_id": 3}], "items_": [{"index": 4}]}
    har = write_har(tmp_path / "x.har", [entry("https://api.example.org/v1/day.json", body)])
    result = convert([Input(har, "x.har", True, participant_id="P07", generic=("api.example.org",))])
    tables = {n: df for n, df in result.tables.items() if n.startswith("generic__")}
    (row,) = tables["generic__api_example_org_v1_day_json"].to_dicts()
    assert (row["participant_id"], row["source_file"], row["_row_id"]) == ("P07", "x.har", "x.har#0")
    assert (row["participant_id_2"], row["source_file_2"], row["captured_at_2"]) == ("P-from-api", "export.csv", 17)
    assert (row["heart_rate"], row["heart_rate_2"], row["heart_rate_3"]) == (60, 61, 62)
    assert (row["row_id"], row["row_id_2"]) == ("x", "y")
    items = tables["generic__api_example_org_v1_day_json__items"].to_dicts()
    assert [(i["index"], i["index_2"], i["parent_id"], i["_index"]) for i in items] == [(1, 2, 3, 0)]
    (other,) = tables["generic__api_example_org_v1_day_json__items_2"].to_dicts()  # items_: an array of its own
    assert other["index"] == 4 and other["_row_id"] == "x.har#0/items_2/0"


def test_generic_tables_never_differ_in_case_alone(tmp_path):
    """A child table was named by its array's key as written, so `Zones` and `zones` (in one response, or in two
    responses of one template) made tables generic__…__Zones and generic__…__zones: one file on a file system
    that ignores case (macOS, Windows, an exFAT drive), the second table's rows written over the first's. Child
    tables are named in lower case, as top-level ones are; arrays whose names meet so each keep a table of their own
    (`zones_2`)."""
    url = "https://api.example.org/v1/day.json"
    har = write_har(tmp_path / "x.har", [entry(url, {"Zones": [{"a": 1}], "zones": [{"a": 2}]}),
                                         entry(url, {"Zones": [{"a": 3}], "id": 2})])
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", str(har), "-o", str(out), "--generic", "api.example.org"])
    assert result.exit_code == 0, result.output
    names = [p.name for p in out.iterdir() if p.name.startswith("generic__")]
    assert len({n.lower() for n in names}) == len(names), names
    children = {n: pl.read_parquet(out / n)["a"].to_list() for n in names if "json__" in n}
    assert sorted(v for values in children.values() for v in values) == [1, 2, 3]
    assert children == {"generic__api_example_org_v1_day_json__zones.parquet": [1, 3],
                        "generic__api_example_org_v1_day_json__zones_2.parquet": [2]}


def test_a_run_adding_files_keeps_the_generic_rows_of_the_earlier_files(tmp_path):
    """Generic tables were made anew by every run: a run adding a capture to OUT (without --generic, or with it for
    the new file alone) removed every generic row of the earlier files, their report still counting their generic
    responses, without a word. The earlier files not converted again keep them, as they keep their device rows; a
    file converted again (changed) has its generic rows made anew (none without --generic). A pseudonymised run
    adding to an OUT written without --pseudonymize names their files in row ids as it names them elsewhere."""
    from builders import BAND_EVENTS_URL, band_event

    from outs import assert_consistent

    folder = tmp_path / "alice-smith"
    folder.mkdir()
    url = "https://api.example.org/v1/day/"
    for name, n in (("a", 1), ("b", 2)):
        write_har(folder / f"{name}.har", [entry(f"{url}{n}", {"n": n, "parts": [{"k": n}]}),
                                           entry(BAND_EVENTS_URL, band_event(str(40 + n)))])
    out = tmp_path / "out"

    def convert_(*args) -> dict:
        result = runner.invoke(app, ["convert", *map(str, args), "-o", str(out), "-j", "1"])
        assert result.exit_code == 0, result.output
        assert_consistent(out)
        return {p.name: sorted(pl.read_parquet(p)["source_file"].to_list()) for p in out.glob("generic__*")}

    both = convert_(folder, "--generic", "api.example.org")
    assert both == {"generic__api_example_org_v1_day_n.parquet": ["alice-smith/a.har", "alice-smith/b.har"],
                    "generic__api_example_org_v1_day_n__parts.parquet": ["alice-smith/a.har", "alice-smith/b.har"]}
    new = write_har(tmp_path / "new.har", [entry(BAND_EVENTS_URL, band_event("99"))])
    assert convert_(new) == both  # added without --generic
    write_har(folder / "a.har", [entry(BAND_EVENTS_URL, band_event("41"))])  # changed: no generic response now
    assert convert_(folder) == {"generic__api_example_org_v1_day_n.parquet": ["alice-smith/b.har"],
                                "generic__api_example_org_v1_day_n__parts.parquet": ["alice-smith/b.har"]}
    key = tmp_path / "study.key"
    key.write_text("a key of the study team, 32 bytes")
    write_har(tmp_path / "other.har", [entry(BAND_EVENTS_URL, band_event("98"))])
    convert_(tmp_path / "other.har", "--pseudonymize", "--key-file", key)
    for p in out.glob("generic__*"):
        table = pl.read_parquet(p)
        assert table.height == 1 and "alice" not in str(table.to_dicts()), table.to_dicts()
        assert table["_row_id"][0].startswith(table["source_file"][0] + "#")


def test_many_generic_tables_cost_their_number_not_its_square(tmp_path, monkeypatch):
    """Each generic table's row in report.json and datapackage.json built every table's frame (`Conversion.tables`,
    the views and all) and summed every file's copies again, and each file OUT's commit staged was checked against
    all staged before it: 8 files of 2,232 tables each (2,000 hosts a file, within the columns' limit) took 67 s of
    CPU, 4 files 16 s, 1 file 5.6 s. What a run does per table no longer goes through every table."""
    from converters import pipeline, store

    calls: Counter[str] = Counter()
    for name in ("tables", "duplicates", "conflicts"):
        getter = getattr(pipeline.Conversion, name).fget
        monkeypatch.setattr(pipeline.Conversion, name, property(
            lambda self, getter=getter, name=name: (calls.update([name]), getter(self))[1]))

    class Walked(list):
        def __iter__(self):
            calls["staged walked"] += 1
            return super().__iter__()

    add = store.Transaction._add
    monkeypatch.setattr(store.Transaction, "_add", lambda self, *a: (
        setattr(self, "changes", Walked(self.changes)) if type(self.changes) is list else None, add(self, *a))[1])
    hosts = 150
    path = write_har(tmp_path / "hosts.har", [entry(f"https://h{i}.example.org/x.json", {"a": i}) for i in range(hosts)])
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "out"), "--generic", "*"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert sum(n.startswith("generic__") and t["rows"] == 1 for n, t in report["tables"].items()) == hosts
    assert max(calls.values()) < hosts / 5, calls  # before: tables 628 times, the copies 173, the staged 155
