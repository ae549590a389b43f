"""The same record captured twice appears once; where copies differ the most recent capture wins."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from converters.pipeline import RowBuffer
from converters.redaction import source_file
from converters.dedupe import by_key, dedupe, losses
from converters.tables import TABLES
from converters.devices.base import datetime_us


def rows_from(*exchanges):
    """Tables and the copies dropped (per file and table) from exchanges given as (file, file_index, entry, capture
    hour or None, participant, rows)."""
    buffer, indexes = RowBuffer(), {}
    for file, file_index, entry, hour, participant, rows in exchanges:
        when = None if hour is None else datetime_us(datetime(2017, 3, 3, hour, tzinfo=UTC))
        prov = {"participant_id": participant, "source_file": source_file(file), "source_entry": entry,
                "captured_at": when}
        buffer.add(rows, prov)
        indexes[file] = file_index
    index = pl.col("source_file").replace_strict(indexes).alias("_file_index")
    tables, copies = dedupe({n: parts[0].read().with_columns(index) for n, parts in buffer.parts().items()})
    return tables, losses(copies)


def event(event_id: str, calories: float) -> tuple[str, dict]:
    return "band_events", {"event_id": event_id, "calories_kcal": calories}


def night(day: int, score: int, events: list[int]) -> list[tuple[str, dict]]:
    n = date(2017, 3, day)
    rows = [("sense_nights", {"night": n, "score": score})]
    rows += [
        ("sense_timeline_events", {"night": n, "time": t * 3_600_000_000, "event_type": "IN_BED"})
        for t in events
    ]
    return rows


def test_identical_copies_are_kept_once_and_counted_as_duplicates_of_the_older_file():
    tables, losses = rows_from(("a.har", 0, 0, 1, None, [event("1", 100.0)]), ("b.flow", 1, 5, 2, None, [event("1", 100.0)]))
    assert tables["band_events"]["source_file"].to_list() == ["b.flow"]  # the later capture's provenance is kept
    assert losses.duplicates == {"a.har": {"band_events": 1}} and not losses.conflicts


def test_differing_copies_keep_the_most_recent_capture_whatever_the_file_order():
    tables, losses = rows_from(("new.har", 0, 0, 9, None, [event("1", 200.0)]), ("old.har", 1, 0, 1, None, [event("1", 100.0)]))
    assert tables["band_events"].select("calories_kcal", "source_file").rows() == [(200.0, "new.har")]
    assert losses.conflicts == {"old.har": {"band_events": 1}}


def test_without_capture_times_the_later_file_wins():
    tables, _ = rows_from(("a.har", 0, 0, None, None, [event("1", 100.0)]), ("b.har", 1, 0, None, None, [event("1", 150.0)]))
    assert tables["band_events"]["calories_kcal"].to_list() == [150.0]


def test_a_newer_night_replaces_all_rows_of_the_older_one():
    """An edited timeline drops an event: the old event must not linger beside the new night."""
    tables, losses = rows_from(("a.har", 0, 0, 1, None, night(2, 70, [1, 2, 3])), ("b.har", 1, 0, 2, None, night(2, 75, [1, 3])))
    assert tables["sense_nights"]["score"].to_list() == [75]
    assert sorted(t.hour for t in tables["sense_timeline_events"]["time"]) == [1, 3]
    assert losses.conflicts == {"a.har": {"sense_nights": 1}} and not losses.duplicates


def test_an_identical_night_is_one_duplicate_not_one_per_row():
    tables, losses = rows_from(("a.har", 0, 0, 1, None, night(2, 70, [1, 2])), ("b.har", 1, 3, 2, None, night(2, 70, [1, 2])))
    assert tables["sense_timeline_events"].height == 2
    assert losses.duplicates == {"a.har": {"sense_nights": 1}}


def test_same_night_of_two_participants_is_two_records():
    tables, losses = rows_from(("p1.har", 0, 0, 1, "p1", night(2, 70, [1])), ("p2.har", 1, 0, 1, "p2", night(2, 70, [1])))
    assert tables["sense_nights"].height == 2 and not losses.duplicates


def test_a_repeated_key_inside_one_response_is_one_row():
    tables, losses = rows_from(("a.har", 0, 0, 1, None, [event("7", 1.0), event("7", 1.0)]))
    assert tables["band_events"].height == 1 and losses.duplicates == {"a.har": {"band_events": 1}}


def test_fields_the_newest_copy_lacks_are_kept_from_older_copies():
    older = ("band_events", {"event_id": "1", "calories_kcal": 100.0, "steps": 900, "api": "private"})
    newer = ("band_events", {"event_id": "1", "calories_kcal": 110.0, "steps": None, "api": "public"})
    tables, losses = rows_from(("a.har", 0, 0, 1, None, [older]), ("b.har", 1, 0, 2, None, [newer]))
    assert tables["band_events"].select("calories_kcal", "steps", "api", "source_file").rows() == [
        (110.0, 900, "public", "b.har")
    ]
    assert losses.conflicts == {"a.har": {"band_events": 1}}


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", None]),
            st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "é"])),
            st.one_of(st.none(), st.sampled_from([1000.0, 1609.34, -0.0])),
            st.one_of(st.none(), st.integers(-3, 3)),
            st.integers(0, 10**6),
        ),
        max_size=30,
    ),
    presorted=st.booleans(),
)
def test_by_key_gives_the_sort_whether_or_not_the_rows_came_sorted(rows, presorted):
    table = TABLES["band_map_points"]  # key: participant_id, event_id, split_length_m, ordinal
    df = pl.DataFrame(rows, schema={"participant_id": pl.String, "event_id": pl.String, "split_length_m": pl.Float64,
                                    "ordinal": pl.Int64, "arrival": pl.Int64}, orient="row")
    if presorted:
        df = df.sort(list(table.key), nulls_last=True, maintain_order=True)
    expected = df.sort(list(table.key), nulls_last=True, maintain_order=True)
    assert by_key(table, df).equals(expected)


def test_a_copy_whose_every_value_the_kept_row_holds_is_a_duplicate_whichever_api_it_came_through():
    """The private and the public API's copies of one Band event always differ in `api` and in the fields one of
    them leaves out (the public API omits zeros and the private-only fields; the private one gives no offset), so
    every event fetched through both was counted a conflict, though no value of the copy dropped was lost: the row
    kept holds each (its own, or filled from the copy). Such a copy is a duplicate, in either order; one holding
    another value is still a conflict."""
    private = ("band_events", {"event_id": "1", "calories_kcal": 100.0, "steps": 900, "feeling": "Good",
                               "api": "private"})
    public = ("band_events", {"event_id": "1", "calories_kcal": 100.0, "utc_offset_s": 3600, "api": "public"})
    for older, newer in ((private, public), (public, private)):
        tables, losses = rows_from(("a.har", 0, 0, 1, None, [older]), ("b.har", 1, 0, 2, None, [newer]))
        assert tables["band_events"].select("calories_kcal", "steps", "utc_offset_s").rows() == [(100.0, 900, 3600)]
        assert losses.duplicates == {"a.har": {"band_events": 1}} and not losses.conflicts
    other = ("band_events", {"event_id": "1", "calories_kcal": 101.0, "api": "public"})
    _, losses = rows_from(("a.har", 0, 0, 1, None, [private]), ("b.har", 1, 0, 2, None, [other]))
    assert losses.conflicts == {"a.har": {"band_events": 1}} and not losses.duplicates
    # a copy whose value the kept row took from another, older copy of another value: that value was lost
    _, losses = rows_from(("a.har", 0, 0, 1, None, [("band_events", {"event_id": "1", "steps": 800})]),
                          ("b.har", 1, 0, 2, None, [private]), ("c.har", 2, 0, 3, None, [public]))
    assert losses.conflicts == {"a.har": {"band_events": 1}} and losses.duplicates == {"b.har": {"band_events": 1}}


@settings(max_examples=150, deadline=None)
@given(copies=st.lists(
    st.tuples(st.integers(0, 3),  # capture hour (ties happen)
              st.one_of(st.none(), st.sampled_from([100.0, 110.0])),
              st.one_of(st.none(), st.integers(1, 2)),
              st.one_of(st.none(), st.sampled_from(["Run", "Jog"])),
              st.sampled_from(["private", "public"])),
    min_size=2, max_size=6))
def test_a_copy_is_a_duplicate_exactly_when_the_row_kept_holds_each_of_its_values(copies):
    """Against the rule worked out by hand: the newest copy is kept, each field it lacks taken from the newest older
    copy that has it; a copy dropped is a duplicate where each value it holds is the row kept's (`api` aside)."""
    exchanges = [(f"f{i}.har", i, 0, hour + 1, None,
                  [("band_events", {"event_id": "1", "calories_kcal": kcal, "steps": steps, "name": name, "api": api})])
                 for i, (hour, kcal, steps, name, api) in enumerate(copies)]
    tables, losses = rows_from(*exchanges)
    order = sorted(range(len(copies)), key=lambda i: (copies[i][0], i))  # oldest first: hour, then file
    kept = {c: next((copies[i][n] for i in reversed(order) if copies[i][n] is not None), None)
            for n, c in ((1, "calories_kcal"), (2, "steps"), (3, "name"))}
    assert tables["band_events"].select(*kept).row(0) == tuple(kept.values())
    expected = {"duplicates": {}, "conflicts": {}}
    for i in order[:-1]:
        same = all(copies[i][n] is None or copies[i][n] == kept[c] for n, c in ((1, "calories_kcal"), (2, "steps"),
                                                                                 (3, "name")))
        expected["duplicates" if same else "conflicts"][f"f{i}.har"] = {"band_events": 1}
    assert (losses.duplicates, losses.conflicts) == (expected["duplicates"], expected["conflicts"])
