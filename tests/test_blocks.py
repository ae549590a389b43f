"""Column blocks: the fast way decoders hand over long arrays gives exactly what rows one by one would."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from converters.redaction import source_file
from converters.pipeline import RowBuffer
from converters.devices.base import Block, Later, integer, integers, number, numbers, per, row_by_row, scaled, values_of

PLAIN_NUMBERS = st.one_of(st.none(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False))
WIRE_NUMBERS = st.one_of(PLAIN_NUMBERS, st.integers(-(10**6), 10**6).map(str), st.just(""))  # OData strings
WIRE_INTEGERS = st.one_of(st.none(), st.integers(-(2**53), 2**53), st.integers(-(10**6), 10**6).map(str))


@given(st.lists(WIRE_NUMBERS))
def test_a_number_column_converts_as_its_values_would_one_by_one(values):
    assert numbers(values) == [number(v) for v in values]


@given(st.lists(WIRE_INTEGERS))
def test_an_integer_column_converts_as_its_values_would_one_by_one(values):
    assert integers(values) == [integer(v) for v in values]


@given(st.lists(WIRE_NUMBERS), st.sampled_from([100, 1000, 10_000_000]))
def test_a_scaled_column_converts_as_its_values_would_one_by_one(values, divisor):
    assert scaled(values, divisor) == [per(v, divisor) for v in values]


def test_a_column_of_plain_numbers_is_passed_on_as_it_is():
    values = [1, 2.5, None]
    assert numbers(values) is values and integers([1, None]) == [1, None]


def test_values_of_reads_one_key_of_every_item_with_null_where_it_is_missing():
    assert values_of([{"a": 1}, {}, {"a": None}], "a") == [1, None, None]


def test_a_block_taken_apart_gives_its_rows_in_order():
    block = Block({"time": [1, 2], "value": [0.5, None]}, 2)
    assert list(row_by_row([("t", block), ("t", {"time": 3, "value": 1.0})])) == [
        ("t", {"time": 1, "value": 0.5}),
        ("t", {"time": 2, "value": None}),
        ("t", {"time": 3, "value": 1.0}),
    ]


def test_the_row_buffer_makes_the_same_frame_from_a_block_as_from_its_rows():
    block = Block(
        {
            "time": [1_500_000_000_000_000, 1_500_000_300_000_000],
            "utc_offset_s": [3600, 3600],
            "sensor": ["temperature", "temperature"],
            "value": [21, None],  # an int passed on as it is: the table's float column takes it
            "resolution_s": [300, 300],
        },
        2,
    )
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": 4, "captured_at": 1}
    from_block, from_rows = RowBuffer(), RowBuffer()
    assert from_block.add([("sense_sensor_samples", block)], provenance) == {"sense_sensor_samples": 2}
    from_rows.add(row_by_row([("sense_sensor_samples", block)]), provenance)
    (a,), (b,) = frames(from_block).values(), frames(from_rows).values()
    assert a.equals(b) and a["value"].to_list() == [21.0, None]


def test_columns_a_block_leaves_out_are_null():
    buffer = RowBuffer()
    buffer.add([("sense_sensor_samples", Block({"time": [1], "sensor": ["light"]}, 1))], {
        "participant_id": None, "source_file": source_file("a.har"), "source_entry": 0, "captured_at": None})
    (frame,) = frames(buffer).values()
    assert frame.select("value", "utc_offset_s", "resolution_s").row(0) == (None, None, None)


def test_an_integer_too_big_for_its_column_rejects_the_exchange_rather_than_becoming_null():
    from converters.devices import band, decode_payload
    from converters.devices.base import Request

    for where in ({"StepsTaken": 10**19}, {"Info": [{"TimeOfDay": "2017-01-01T00:00:00Z", "StepsTaken": 10**19}]}):
        event = {"EventId": "1", "EventType": "Running", "StartTime": "2017-01-01T00:00:00Z", **where}
        problem, rows, _ = decode_payload({"value": [event]}, band.EVENTS, Request({}, {}, None, None))
        assert problem == "could not be decoded: ValueError: 10000000000000000000 does not fit a 64-bit integer"
        assert rows == []


def test_a_value_its_column_cannot_hold_is_an_error_not_a_silent_null():
    import pytest

    buffer = RowBuffer()
    buffer.add([("sense_sensor_samples", Block({"time": [1], "resolution_s": [2**70]}, 1))], {
        "participant_id": None, "source_file": source_file("a.har"), "source_entry": 0, "captured_at": None})
    with pytest.raises(ValueError, match=r"a value that sense_sensor_samples.resolution_s \(Int64\) cannot hold"):
        frames(buffer)


def test_an_exchange_whose_value_no_column_holds_is_replaced_by_what_its_undo_gives():
    from converters.redaction import reject_row

    buffer = RowBuffer()
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "captured_at": None}
    reasons = []

    def undo(reason):
        reasons.append(reason)
        return [("rejects", reject_row("sense/sensor", "GET", "api.hello.is", "/x", 200, reason, b"{}"))]

    for entry, resolution in enumerate([60, 2**70, 300]):
        buffer.add([("sense_sensor_samples", Block({"time": [entry], "resolution_s": [resolution]}, 1))],
                   provenance | {"source_entry": entry}, undo)
    tables = frames(buffer)
    assert tables["sense_sensor_samples"]["resolution_s"].to_list() == [60, 300]
    assert tables["rejects"]["source_entry"].to_list() == [1]
    assert reasons == ["a value that sense_sensor_samples.resolution_s (Int64) cannot hold (TypeError)"]


def _together(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, how="diagonal_relaxed")


def made(frame: pl.DataFrame) -> Later:
    """Rows a decoder's columns make later, as `frame` (with the frames of other exchanges)."""
    return Later(_together, frame, lambda: iter(()), frame.height)


def frames(buffer: RowBuffer) -> dict:
    """The buffer's rows per table, as one frame (sorted by the table's key)."""
    return {name: pl.concat([p.read() for p in parts]) for name, parts in buffer.parts().items()}


def test_the_row_buffer_takes_rows_blocks_and_rows_made_by_columns_of_a_table_alike():
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": 4, "captured_at": 1}
    row = {"time": 1, "sensor": "light", "value": 1.0, "resolution_s": 300}
    frame = pl.DataFrame({"time": [2, 3], "sensor": ["light", "sound"], "value": [2.0, None]})  # a column left out
    buffer = RowBuffer()
    counts = buffer.add([("sense_sensor_samples", row), ("sense_sensor_samples", made(frame)),
                         ("sense_sensor_samples", Block({"time": [4], "sensor": ["co2"], "value": [4.0]}, 1))],
                        provenance)
    assert counts == {"sense_sensor_samples": 4}
    buffer.add([("sense_sensor_samples", made(frame.head(1)))], {**provenance, "source_entry": 5})
    (batch,) = frames(buffer).values()
    assert sorted(batch.select("sensor", "value", "resolution_s", "source_entry").rows(), key=str) == sorted([
        ("light", 1.0, 300, 4), ("light", 2.0, None, 4), ("sound", None, None, 4), ("co2", 4.0, None, 4),
        ("light", 2.0, None, 5)], key=str)
    assert batch["time"].dtype == pl.Datetime("us", "UTC")


def test_an_exchange_that_fails_midway_leaves_none_of_its_frames():
    import pytest
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": 4, "captured_at": 1}
    frame = pl.DataFrame({"time": [2], "sensor": ["light"], "value": [2.0]})

    def failing():
        yield "sense_sensor_samples", made(frame)
        raise ValueError("a bad value further on")

    buffer = RowBuffer()
    with pytest.raises(ValueError):
        buffer.add(failing(), provenance)
    buffer.add([("sense_sensor_samples", made(frame))], {**provenance, "source_entry": 5})
    (batch,) = frames(buffer).values()
    assert batch["source_entry"].to_list() == [5]


def test_an_exchange_whose_value_no_column_holds_is_taken_out_with_its_decoders_frames():
    """Its rows in one table fail the frame; its minutes, handed over as a decoder's frame, go with it; the frames of
    the exchanges before and after it stay, in the order of the exchanges."""
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "captured_at": None}
    reasons = []
    buffer = RowBuffer()
    for entry, resolution in enumerate([60, 2**70, 300]):
        samples = made(pl.DataFrame({"time": [entry, entry], "sensor": ["light", "sound"]}))
        buffer.add([("sense_sensor_samples", samples),
                    ("sense_sensor_samples", Block({"time": [entry], "resolution_s": [resolution]}, 1))],
                   provenance | {"source_entry": entry}, lambda reason: reasons.append(reason) or [])
    (batch,) = frames(buffer).values()
    assert sorted(batch.select("source_entry", "resolution_s").rows(), key=str) == sorted(
        [(0, None), (0, None), (0, 60), (2, None), (2, None), (2, 300)], key=str)
    assert len(reasons) == 1
