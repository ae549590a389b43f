"""The same record captured twice appears once; where copies differ the most recent capture wins."""

from __future__ import annotations

from datetime import UTC, date, datetime

from converters.dedupe import Deduper


def prov(file: str, entry: int, hour: int | None, participant: str | None = None) -> dict:
    when = None if hour is None else datetime(2017, 3, 3, hour, tzinfo=UTC)
    return {"participant_id": participant, "source_file": file, "source_entry": entry, "captured_at": when}


def event(event_id: str, calories: float) -> tuple[str, dict]:
    return "band_events", {"event_id": event_id, "calories_kcal": calories}


def night(day: int, score: int, events: list[int]) -> list[tuple[str, dict]]:
    n = date(2017, 3, day)
    rows = [("sense_nights", {"night": n, "score": score})]
    rows += [("sense_timeline_events", {"night": n, "time": t, "event_type": "IN_BED"}) for t in events]
    return rows


def test_identical_copies_are_kept_once_and_counted_as_duplicates():
    d = Deduper()
    assert d.add([event("1", 100.0)], prov("a.har", 0, 1)) == (0, 0)
    assert d.add([event("1", 100.0)], prov("b.flow", 5, 2)) == (1, 0)
    (row,) = d.tables()["band_events"]
    assert row["source_file"] == "b.flow"  # equal content: the later capture's provenance is kept
    assert d.duplicates["band_events"] == 1 and not d.conflicts


def test_differing_copies_keep_the_most_recent_capture_whatever_the_reading_order():
    d = Deduper()
    d.add([event("1", 200.0)], prov("new.har", 0, 9))
    assert d.add([event("1", 100.0)], prov("old.har", 0, 1)) == (0, 1)
    (row,) = d.tables()["band_events"]
    assert row["calories_kcal"] == 200.0 and row["source_file"] == "new.har"
    assert d.conflicts["band_events"] == 1


def test_without_capture_times_the_copy_read_last_wins():
    d = Deduper()
    d.add([event("1", 100.0)], prov("a.har", 0, None))
    d.add([event("1", 150.0)], prov("b.har", 0, None))
    assert d.tables()["band_events"][0]["calories_kcal"] == 150.0


def test_a_newer_night_replaces_all_rows_of_the_older_one():
    """An edited timeline drops an event: the old event must not linger beside the new night."""
    d = Deduper()
    d.add(night(2, 70, [1, 2, 3]), prov("a.har", 0, 1))
    assert d.add(night(2, 75, [1, 3]), prov("b.har", 0, 2)) == (0, 1)
    t = d.tables()
    assert [r["score"] for r in t["sense_nights"]] == [75]
    assert sorted(r["time"] for r in t["sense_timeline_events"]) == [1, 3]
    assert d.conflicts["sense_nights"] == 1


def test_same_night_of_two_participants_is_two_records():
    d = Deduper()
    d.add(night(2, 70, [1]), prov("p1.har", 0, 1, participant="p1"))
    d.add(night(2, 70, [1]), prov("p2.har", 0, 1, participant="p2"))
    assert len(d.tables()["sense_nights"]) == 2 and not d.duplicates


def test_a_repeated_key_inside_one_response_is_one_row():
    d = Deduper()
    assert d.add([event("7", 1.0), event("7", 1.0)], prov("a.har", 0, 1)) == (1, 0)
    assert len(d.tables()["band_events"]) == 1
