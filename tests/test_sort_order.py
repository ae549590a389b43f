"""A part's rows put in key order from their sorted runs (`spill.sort_order`) are in the order of polars' stable
sort: nulls last, ties in arrival order, whatever the key's types and however the rows come."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from converters import spill

SCHEMA = {"text": pl.String, "number": pl.Int64, "time": pl.Datetime("us", "UTC"), "day": pl.Date, "none": pl.String,
          "flag": pl.Boolean}
TEXTS = [None, "", "a", "b", "ab", "B", "é", "e\u0301", "ü", "日本", "😀", "sensor", "sensor-2"]  # bytes, not letters

row = st.tuples(
    st.sampled_from(TEXTS),
    st.none() | st.integers(-3, 3) | st.sampled_from([-(2**63), 2**63 - 1]),
    st.none() | st.datetimes(datetime(2016, 1, 1), datetime(2016, 1, 1, 0, 0, 3)).map(lambda t: t.replace(tzinfo=UTC)),
    st.none() | st.dates(date(2016, 1, 1), date(2016, 1, 3)),
    st.none(),
    st.none() | st.booleans(),
)
keys = st.lists(st.sampled_from(list(SCHEMA)), min_size=1, max_size=4, unique=True)


def arranged(rows: list[tuple], key: list[str], how: str, cuts: list[int], seed: int) -> pl.DataFrame:
    """The rows as they come: as drawn, sorted, reversed, in sorted runs (blocks of the sorted rows, shuffled) or in
    runs that overlap (blocks of the drawn rows, each sorted)."""
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_row_index("arrival")
    ordered = df.sort(key, nulls_last=True, maintain_order=True)
    bounds = sorted({0, df.height, *(c % (df.height + 1) for c in cuts)})
    if how == "sorted":
        return ordered
    if how == "reversed":
        return ordered.reverse()
    if how == "sorted blocks":
        blocks = [ordered.slice(a, b - a) for a, b in zip(bounds, bounds[1:])]
        random.Random(seed).shuffle(blocks)
        return pl.concat([df.clear(), *blocks])
    if how == "sorted runs":
        return pl.concat([df.clear(), *(df.slice(a, b - a).sort(key, nulls_last=True, maintain_order=True)
                                         for a, b in zip(bounds, bounds[1:]))])
    return df


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(row, max_size=40), key=keys, how=st.sampled_from(["drawn", "sorted", "reversed", "sorted blocks",
                                                                         "sorted runs"]),
       cuts=st.lists(st.integers(0, 40), max_size=6), seed=st.integers(0, 2**16), share=st.sampled_from([1, 4, 16]))
def test_rows_put_in_order_from_their_sorted_runs_are_in_the_order_of_polars_stable_sort_nulls_last(
    rows, key, how, cuts, seed, share
):
    """With few rows to a run (`share`) too: the runs are put in order however many there are."""
    df = arranged(rows, key, how, cuts, seed)
    original = spill.RUN_SHARE, spill.RUNS_FROM
    spill.RUN_SHARE, spill.RUNS_FROM = share, 0
    try:
        order = spill.sort_order(df, key)
    finally:
        spill.RUN_SHARE, spill.RUNS_FROM = original
    got = df if order is None else df[order]
    assert got.equals(df.sort(key, nulls_last=True, maintain_order=True))
    if how == "sorted":
        assert order is None


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(row, max_size=40), key=keys, how=st.sampled_from(["drawn", "sorted", "sorted blocks"]),
       cuts=st.lists(st.integers(0, 40), max_size=6), seed=st.integers(0, 2**16), runs_from=st.sampled_from([0, 100]),
       slice_rows=st.sampled_from([1, 3, 128]), every=st.integers(1, 5))
def test_a_part_on_disk_or_in_memory_holds_the_rows_sorted_by_its_key_written_in_slices_or_gathered(
    rows, key, how, cuts, seed, runs_from, slice_rows, every
):
    df = arranged(rows, key, how, cuts, seed)
    expected = df.sort(key, nulls_last=True, maintain_order=True)
    original = spill.RUNS_FROM, spill.RUN_SHARE, spill.SLICE_ROWS, spill.SAMPLE_EVERY
    spill.RUNS_FROM, spill.RUN_SHARE, spill.SLICE_ROWS, spill.SAMPLE_EVERY = runs_from, 1, slice_rows, every
    try:
        with tempfile.TemporaryDirectory() as folder:
            for part in (spill.Part.of(df, key), spill.Part.of(df, key, Path(folder))):
                assert part.read().equals(expected) and part.height == df.height
                assert part.sample.equals(expected.select(key).with_row_index(spill.POSITION).gather_every(every))
    finally:
        spill.RUNS_FROM, spill.RUN_SHARE, spill.SLICE_ROWS, spill.SAMPLE_EVERY = original


def test_a_days_sensor_samples_sensor_after_sensor_are_put_in_order_from_their_runs_and_kept_as_slices(tmp_path):
    """As the full export's sensor samples come: each day a run of each sensor's samples in time order (the days
    not in order), put in order from the runs rather than sorted, and written, or kept in memory, as slices of the
    frame (no gathered copy)."""
    days = [3, 0, 2, 1]
    df = pl.DataFrame({
        "participant_id": [None] * 4 * 3 * 2_000,
        "sensor": [s for _ in days for s in ("temperature", "humidity", "light") for _ in range(2_000)],
        "time": [datetime(2016, 1, 1 + d, tzinfo=UTC) + i * timedelta(seconds=30)
                 for d in days for _ in range(3) for i in range(2_000)],
    }, schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC")})
    key = ["participant_id", "sensor", "time"]
    order = spill.sort_order(df, key)
    assert order is not None and df[order].equals(df.sort(key, nulls_last=True, maintain_order=True))
    assert spill._sliced(df, order).n_chunks() <= 12  # a slice a run (or two, next to each other both ways)
    assert spill.Part.of(df, key, tmp_path).read().equals(df.sort(key, nulls_last=True, maintain_order=True))
    held = spill.Part.of(df, key)
    assert 1 < held.source.n_chunks() <= 12 and held.read().equals(df.sort(key, nulls_last=True, maintain_order=True))


def test_a_key_of_floats_is_sorted_by_polars_as_before():
    """Floats (NaN after every number, -0.0 equal to 0.0) are left to polars' sort."""
    df = pl.DataFrame({"x": [float("nan"), 1.0, None, -0.0, 0.0, float("nan"), -1.0]})
    order = spill.sort_order(df, ["x"])
    assert df[order].equals(df.sort("x", nulls_last=True, maintain_order=True))



@settings(max_examples=300, deadline=None)
@given(rows=st.lists(row, max_size=40), key=keys, how=st.sampled_from(["sorted blocks", "sorted runs"]),
       cuts=st.lists(st.integers(0, 40), max_size=6), seed=st.integers(0, 2**16))
def test_sorted_slices_put_in_key_order_are_the_rows_of_polars_stable_sort_and_put_so_wherever_no_keys_overlap(
    rows, key, how, cuts, seed
):
    """Slices of parts (each sorted) whose keys do not overlap (blocks of the sorted rows) are put in order without a
    sort; slices whose keys overlap (runs of the rows as drawn, each sorted), or hold one key between them, are not."""
    df = arranged(rows, key, "drawn" if how == "sorted runs" else "sorted", cuts, seed)
    bounds = sorted({0, df.height, *(c % (df.height + 1) for c in cuts)})
    slices = [df.slice(a, b - a).sort(key, nulls_last=True, maintain_order=True) for a, b in zip(bounds, bounds[1:])]
    random.Random(seed).shuffle(slices)
    got = spill.in_key_order(slices, key)
    expected = pl.concat([df.clear(), *slices]).sort(key, nulls_last=True, maintain_order=True)
    if got is not None:
        assert pl.concat([df.clear(), *got]).equals(expected)
    if how == "sorted blocks" and not df.select(pl.struct(key).is_duplicated().any()).item():
        assert got is not None


def test_a_days_sensor_samples_in_parts_of_other_days_are_put_in_order_without_a_sort_and_overlapping_ones_not():
    """As a range of the full export's sensor samples reads its parts: each part another few days (spilled as the
    capture went back in time), each sorted; slices of parts that hold the same days, or a key both hold, are left to
    the sort."""
    def part(days: list[int], sensor: str = "light") -> pl.DataFrame:
        times = [datetime(2016, 1, 1 + d, tzinfo=UTC) + i * timedelta(hours=1) for d in days for i in range(24)]
        return pl.DataFrame({"participant_id": None, "sensor": sensor, "time": times},
                            schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC")})

    key = ["participant_id", "sensor", "time"]
    later, earlier, empty = part([4, 5]), part([1, 2]), part([])
    assert [df.height for df in spill.in_key_order([later, empty, earlier], key)] == [48, 48]
    assert pl.concat(spill.in_key_order([later, empty, earlier], key)).equals(pl.concat([earlier, later]))
    assert spill.in_key_order([later, part([2, 4])], key) is None  # the days overlap
    assert spill.in_key_order([later, later.tail(1)], key) is None  # one key in both: copies, for the de-duplication
    assert spill.in_key_order([part([1], "temperature"), part([3])], key) is not None  # sensor before time
    assert spill.in_key_order([later], key) == [later]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(row, max_size=40), key=keys, cuts=st.lists(st.integers(0, 40), max_size=4),
       seed=st.integers(0, 2**16), most=st.sampled_from([2, 4, 16, 1_000]))
def test_sorted_frames_merged_by_blocks_are_the_rows_of_polars_stable_sort_of_them_together(rows, key, cuts, seed, most):
    """Frames each sorted (ties in arrival order), merged as blocks of each: the rows of polars' stable sort of them
    together, nulls last, equal keys in the frames' order; or None, left to the sort, past `MERGE_BLOCKS` blocks."""
    df = arranged(rows, key, "drawn", [], seed)
    bounds = sorted({0, df.height, *(c % (df.height + 1) for c in cuts)})
    frames = [df.slice(a, b - a).sort(key, nulls_last=True, maintain_order=True) for a, b in zip(bounds, bounds[1:])]
    original, spill.MERGE_BLOCKS = spill.MERGE_BLOCKS, most
    try:
        got = spill.merged_in_order(frames, key)
    finally:
        spill.MERGE_BLOCKS = original
    if got is not None:
        assert got.equals(pl.concat([df.clear(), *frames]).sort(key, nulls_last=True, maintain_order=True))
    if most == 1_000 and frames:
        assert got is not None


def test_the_last_files_sensor_samples_merged_into_a_range_take_a_few_blocks_and_a_float_key_is_left_to_the_sort():
    """As the rows of a run's last files fall among a range's earlier rows: each file's days a block among the
    others', without a copy of the rows."""
    def part(days: list[int]) -> pl.DataFrame:
        times = [datetime(2016, 1, 1 + d, tzinfo=UTC) + i * timedelta(hours=1) for d in days for i in range(24)]
        return pl.DataFrame({"participant_id": None, "sensor": "light", "time": times},
                            schema={"participant_id": pl.String, "sensor": pl.String, "time": pl.Datetime("us", "UTC")})

    key = ["participant_id", "sensor", "time"]
    earlier, last = part([0, 1, 4, 5]), part([2, 3])
    merged = spill.merged_in_order([earlier, last], key)
    assert merged.equals(pl.concat([earlier, last]).sort(key, nulls_last=True))
    assert merged.n_chunks() == 3
    assert spill.merged_in_order([earlier, earlier.clear()], key).equals(earlier)
    floats = pl.DataFrame({"x": [0.0, 1.0]})
    assert spill.merged_in_order([floats, floats], ["x"]) is None
