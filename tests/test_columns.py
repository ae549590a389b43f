"""Columnar decoding (converters/devices/columns.py) gives exactly the rows, or the reject reason, that decoding value
by value gives: the long arrays of Band events and Sense sensor histories, with every edge the value-by-value
converters handle (numbers as texts, nulls, gaps, 7-digit fractions, times out of range, integers too big)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converters.devices import band, columns, decode_payload, sense
from converters.devices.base import Block, Later, Request
from converters.pipeline import RowBuffer
from converters.redaction import source_file

INT64 = 2**63
LONG = columns.LONG  # as the module has it (the tests below but one set it to 0)
NUMBERS = st.one_of(
    st.none(),
    st.integers(-(2**53), 2**53),
    st.integers(-(2**66), 2**66),  # beyond 64 bits: an integer column rejects the exchange, a float one takes it
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 0.5, 2.5, -2.5, 1e16, 1e-7, 123456789.125, 2090, 1e300]),
)
DECIMALS = st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{1,18})?", fullmatch=True)  # the schema's numeric texts
NUMERIC = st.one_of(NUMBERS, DECIMALS, st.sampled_from(["-0", "0.1", "9007199254740993", "00012", "2090"]))
TEXTS = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["", "None", "Inactive"]))


@st.composite
def iso_times(draw) -> str:
    """Times as the schema lets them through: UTC (Z), naive or with an offset, fractions of 1 to 9 digits, and
    fields out of range (a second 60, an hour 24, a month 13, a year 0)."""
    if draw(st.integers(0, 9)) == 0:
        y, mo, d, h, mi, s = draw(st.sampled_from([
            (2017, 1, 1, 0, 0, 60), (2017, 1, 1, 24, 0, 0), (2017, 13, 1, 0, 0, 0), (0, 1, 1, 0, 0, 0),
            (2017, 2, 29, 0, 0, 0), (9999, 12, 31, 23, 59, 59), (1, 1, 1, 0, 0, 0),
        ]))
        base = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    else:
        t = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
        base = t.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    fraction = draw(st.one_of(st.just(""), st.from_regex(r"\.\d{1,9}", fullmatch=True)))
    zone = draw(st.sampled_from(["Z", "Z", "Z", "", "+00:00", "-08:00", "+0530"]))
    return base + fraction + zone


def minute(draw_time, values) -> dict:
    keys = ("StepsTaken", "CaloriesBurned", "AverageHeartRate", "PeakHeartRate", "LowestHeartRate", "FloorsClimbed")
    row = {"TimeOfDay": draw_time}
    row.update(zip(keys, values[:6]))
    row.update(zip(("TotalDistance", "TotalDistanceOnFoot", "UvExposure", "ItCal"), values[6:10]))
    row.update(zip(("ActivityLevel", "DayClassification"), values[10:12]))
    return row


MINUTES = st.lists(
    st.builds(minute, iso_times(), st.tuples(*[NUMBERS] * 6, *[NUMERIC] * 4, TEXTS, TEXTS).map(list)),
    min_size=1, max_size=6,
)
LOCATIONS = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    name: NUMERIC for name in ("Latitude", "Longitude", "AltitudeFromMSL", "EHPE", "EVPE", "SpeedOverGround")}))
POINTS = st.lists(st.fixed_dictionaries(
    {"MapPointOrdinal": st.integers(0, 2**31 - 1)},
    optional={
        "SecondsSinceStart": NUMBERS, "MapPointType": TEXTS, "HeartRate": NUMBERS, "TotalDistance": NUMERIC,
        "ActualDistance": NUMERIC, "Pace": NUMERIC, "ScaledPace": NUMBERS, "Speed": NUMERIC,
        "IsPaused": st.one_of(st.none(), st.booleans()), "IsResume": st.one_of(st.none(), st.booleans()),
        "SplitOrdinal": NUMBERS, "POIType": st.one_of(TEXTS, st.integers(-(2**40), 2**40)),
        "UserPOIOrdinal": NUMBERS, "Location": LOCATIONS,
    },
), min_size=1, max_size=5)
MS = st.one_of(st.integers(-62135596800000, 253402300799999), st.sampled_from([0, 1422471300000]))
OFFSETS = st.one_of(st.none(), st.sampled_from([-28800000, 3600000, 19800000, -28800500, 0]),
                    st.integers(-2 * 86_400_000, 2 * 86_400_000))
SAMPLE_VALUES = st.one_of(NUMBERS, st.sampled_from([-1, -1.0, 0, 0.0]))
SAMPLES = st.lists(st.fixed_dictionaries({"datetime": MS}, optional={"offset_millis": OFFSETS, "value": SAMPLE_VALUES}),
                   min_size=0, max_size=6)
CAPTURED = datetime(2017, 4, 20, 15, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def columns_for_any_length(monkeypatch):
    """The generated arrays are short: columns are made for them too, as for the long ones."""
    monkeypatch.setattr(columns, "LONG", 0)


@contextmanager
def value_by_value():
    """Decoders with columnar decoding turned off: every array decoded value by value."""
    def slow(table, height, convert, piece, slow_rows, long=None):
        yield from slow_rows()

    saved = band.columnar, sense.columnar
    band.columnar = sense.columnar = slow
    try:
        yield
    finally:
        band.columnar, sense.columnar = saved


def decoded(endpoint, payload, request) -> tuple[str | None, dict[str, list]]:
    """(reject reason, rows per table as the row buffer makes them), every float shown by repr (-0.0 is not 0.0),
    times as epoch µs. The reason is the decoder's, or the row buffer's for a value no column holds."""
    problem, rows, _ = decode_payload(payload, endpoint, request)
    buffer = RowBuffer()
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": 0, "captured_at": 0}
    undone = []
    buffer.add(rows, provenance, lambda reason: undone.append(reason) or [])
    tables = {}
    for name, parts in buffer.parts().items():
        frame = pl.concat([p.read() for p in parts]).with_columns(pl.col(pl.Datetime).dt.epoch("us"))  # (any year)
        tables[name] = (frame.schema, [tuple(map(repr, row)) for row in frame.rows()])
    return problem or (undone[0] if undone else None), {name: t for name, t in tables.items() if t[1]}


def same_either_way(endpoint, payload, request) -> tuple[str | None, dict]:
    fast = decoded(endpoint, payload, request)
    with value_by_value():
        slow = decoded(endpoint, payload, request)
    assert fast == slow
    return fast


EVENT = {"EventId": "2519813588563382907", "EventType": "Running", "StartTime": "2015-01-11T02:10:00.1234567Z"}
BAND = Request({}, {}, None, CAPTURED)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(MINUTES, st.one_of(st.none(), MINUTES))
def test_band_minute_rows_decode_by_columns_as_value_by_value(first, second):
    events = [{**EVENT, "Info": first}] + ([{**EVENT, "EventId": "2", "Info": second}] if second else [])
    same_either_way(band.EVENTS, {"value": events}, BAND)


@SETTINGS
@given(POINTS, st.sampled_from([EVENT["StartTime"], None]))
def test_band_map_points_decode_by_columns_as_value_by_value(points, start):
    event = {**EVENT, "MapPoints": points} | ({"StartTime": start} if start else {})
    same_either_way(band.EVENTS, {"value": [event]}, BAND)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["temperature", "humidity", "light", "sound"]), SAMPLES, max_size=4),
       st.sampled_from(["24hours", "week", None]))
def test_sense_all_sensor_histories_decode_by_columns_as_value_by_value(payload, period):
    request = Request({"period": period} if period else {}, {}, None, CAPTURED)
    same_either_way(sense.ALL_SENSORS, payload, request)


@SETTINGS
@given(SAMPLES, st.sampled_from(["day", "week", None]))
def test_sense_sensor_histories_decode_by_columns_as_value_by_value(samples, period):
    request = Request({"sensor": "humidity", **({"period": period} if period else {})}, {}, None, CAPTURED)
    same_either_way(sense.SENSOR_HISTORY, samples, request)


@SETTINGS
@given(st.lists(st.fixed_dictionaries({"t": MS}, optional={"o": OFFSETS}), max_size=5), st.data())
def test_sense_v2_sensor_histories_decode_by_columns_as_value_by_value(stamps, data):
    sensors = data.draw(st.dictionaries(st.sampled_from(["TEMPERATURE", "LIGHT", "CO2"]),
                                        st.lists(SAMPLE_VALUES, min_size=len(stamps), max_size=len(stamps))))
    same_either_way(sense.SENSORS_HISTORY, {"timestamps": stamps, "sensors": sensors},
                    Request({}, {}, b'{"scope": "DAY_5_MINUTE"}', CAPTURED))


def test_every_edge_of_a_minute_row_by_columns():
    minutes = [
        {"TimeOfDay": "2015-01-11T02:11:00Z", "StepsTaken": 26, "TotalDistance": "2090", "UvExposure": 1},
        {"TimeOfDay": "2015-01-11T02:12:00.1234567Z", "StepsTaken": None, "TotalDistance": 2090.5, "ItCal": "-0"},
        {"TimeOfDay": "2015-01-11T02:13:00", "CaloriesBurned": 2**70, "TotalDistance": None},
    ]
    problem, tables = same_either_way(band.EVENTS, {"value": [{**EVENT, "Info": minutes}]}, BAND)
    assert problem is None
    rows = [dict(zip(tables["band_minutes"][0], row)) for row in tables["band_minutes"][1]]
    assert [r["distance_m"] for r in rows] == ["20.9", "20.905", "None"]  # 2090 / 100, not 2090 * 0.01
    assert [r["itcal"] for r in rows] == ["None", "-0.0", "None"]
    assert rows[1]["time"] == str(int(datetime(2015, 1, 11, 2, 12, tzinfo=UTC).timestamp()) * 10**6 + 123456)


def test_a_too_big_integer_in_a_long_array_rejects_its_exchange_with_the_reason():
    for minutes in ([{"TimeOfDay": "2017-01-01T00:00:00Z", "StepsTaken": 10**19}],
                    [{"TimeOfDay": "2017-01-01T00:00:00Z", "StepsTaken": 1}, {"TimeOfDay": "2017-01-01T00:01:00Z",
                                                                              "FloorsClimbed": -(10**19)}]):
        problem, tables = same_either_way(band.EVENTS, {"value": [{**EVENT, "Info": minutes}]}, BAND)
        assert problem.startswith("could not be decoded: ValueError: ") and "does not fit a 64-bit integer" in problem
        assert tables == {}


def test_an_offset_of_more_than_a_day_rejects_a_sensor_history_with_the_reason():
    samples = [{"datetime": 1422471300000, "offset_millis": -28800000, "value": 1.0},
               {"datetime": 1422471600000, "offset_millis": 90_000_000, "value": 2.0}]
    problem, _ = same_either_way(sense.SENSOR_HISTORY, samples, Request({"sensor": "light", "period": "day"}, {},
                                                                        None, CAPTURED))
    assert problem == "could not be decoded: ValueError: a UTC offset of 90000000 ms is more than a day"


def test_the_buckets_every_sensor_reads_as_0_are_gaps_by_columns_too():
    at = [1422471300000, 1422471600000]
    payload = {name: [{"datetime": at[0], "value": 0.0}, {"datetime": at[1], "value": v}]
               for name, v in (("humidity", 0), ("light", 5.0), ("sound", -1))}
    _, tables = same_either_way(sense.ALL_SENSORS, payload, Request({"period": "24hours"}, {}, None, CAPTURED))
    values = [dict(zip(tables["sense_sensor_samples"][0], r))["value"] for r in tables["sense_sensor_samples"][1]]
    assert values.count("None") == 4  # the first bucket's three zeros, and the -1 gap; 0 in the second stays


@pytest.mark.parametrize("n", [LONG, LONG - 1])
def test_arrays_of_the_usual_shapes_are_decoded_by_columns_once_they_are_long(monkeypatch, n):
    """`LONG` rows or more: by columns, later (with other responses'); fewer, value by value (polars' fixed cost
    would outweigh the gain)."""
    monkeypatch.setattr(columns, "LONG", LONG)  # (the module's, not the fixture's 0)

    def by(arrays: int) -> list[type]:  # one `Later` for all of a response's arrays, or a block for each
        return [Later] if n >= LONG else [Block] * arrays

    def frames(endpoint, payload, request):
        return [type(rows) for _, rows in endpoint.decode(payload, request) if not isinstance(rows, dict)]

    minutes = [{"TimeOfDay": f"2015-01-{11 + m // 1440:02d}T{m // 60 % 24:02d}:{m % 60:02d}:00Z", "StepsTaken": m,
                "TotalDistance": str(m * 100), "ActivityLevel": "Inactive", "DayClassification": "None"}
               for m in range(n)]
    points = [{"MapPointOrdinal": i, "SecondsSinceStart": i * 10, "Location": {"Latitude": 476062000 + i}}
              for i in range(n)]
    assert frames(band.EVENTS, {"value": [{**EVENT, "Info": minutes, "MapPoints": points}]}, BAND) == by(1) * 2
    samples = [{"datetime": 1422471300000 + 300000 * i, "offset_millis": -28800000, "value": i / 3} for i in range(n)]
    assert frames(sense.ALL_SENSORS, {"light": samples[: n // 2], "sound": samples[n // 2:]},
                  Request({"period": "24hours"}, {}, None, CAPTURED)) == by(2)
    assert frames(sense.SENSOR_HISTORY, samples, Request({"sensor": "light", "period": "day"}, {}, None,
                                                         CAPTURED)) == by(1)
    stamps = {"timestamps": [{"t": s["datetime"], "o": s["offset_millis"]} for s in samples],
              "sensors": {"LIGHT": [s["value"] for s in samples]}}
    assert frames(sense.SENSORS_HISTORY, stamps, Request({}, {}, None, CAPTURED)) == by(1)


def buffered(responses, endpoint, request) -> tuple[list[str], dict]:
    """Many responses through one row buffer, as a file's are (each its own exchange): the reject reasons and the
    rows per table, as `decoded` shows them."""
    buffer, undone = RowBuffer(), []
    for n, payload in enumerate(responses):
        problem, rows, _ = decode_payload(payload, endpoint, request)
        provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": n,
                      "captured_at": 0}
        if problem:
            undone.append(f"{n}: {problem}")
        else:
            buffer.add(rows, provenance, lambda reason, n=n: undone.append(f"{n}: {reason}") or [])
    tables = {}
    for name, parts in buffer.parts().items():
        frame = pl.concat([p.read() for p in parts]).with_columns(pl.col(pl.Datetime).dt.epoch("us"))
        tables[name] = [tuple(map(repr, row)) for row in frame.rows()]
    return undone, tables


@SETTINGS
@given(st.lists(SAMPLES, min_size=1, max_size=6))
def test_many_responses_arrays_made_together_reject_only_their_own_exchange(histories):
    """The long arrays of many responses are converted at once; where one of them holds a value the columns do not
    take or the decoder refuses, that response alone falls back or is rejected, with the reason it has alone."""
    request = Request({"sensor": "light", "period": "day"}, {}, None, CAPTURED)
    fast = buffered(histories, sense.SENSOR_HISTORY, request)
    with value_by_value():
        assert buffered(histories, sense.SENSOR_HISTORY, request) == fast


def test_a_response_the_decoder_refuses_among_many_is_rejected_alone():
    good = [{"datetime": 1422471300000 + 300000 * i, "offset_millis": 3600000, "value": 1.0} for i in range(3)]
    bad = good[:1] + [{"datetime": 1422471600000, "offset_millis": 90_000_000, "value": 2.0}]
    west = [{"datetime": 1422471300000, "offset_millis": -90_000_000, "value": 1.0}] + good[1:]
    request = Request({"sensor": "light", "period": "day"}, {}, None, CAPTURED)
    undone, tables = buffered([good, bad, good, west, good], sense.SENSOR_HISTORY, request)
    assert undone == ["1: could not be decoded: ValueError: a UTC offset of 90000000 ms is more than a day",
                      "3: could not be decoded: ValueError: a UTC offset of -90000000 ms is more than a day"]
    assert len(tables["sense_sensor_samples"]) == 9
    with value_by_value():
        assert buffered([good, bad, good, west, good], sense.SENSOR_HISTORY, request) == (undone, tables)


def test_a_kind_of_array_with_few_rows_waiting_is_made_at_the_flush_with_more_of_its_kind(monkeypatch):
    """Once `LATER_ROWS` rows wait, the kinds with many of them are made; one with few waits for the flush, where
    it is made once with all of its kind (a conversion costs milliseconds whatever its rows), rows in order."""
    monkeypatch.setattr(RowBuffer, "LATER_ROWS", 80)  # kinds of 10 rows or more made at once
    made = []
    real = columns.made
    monkeypatch.setattr(columns, "made", lambda laters: made.append((laters[0].convert, len(laters))) or real(laters))
    buffer = RowBuffer()
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "captured_at": 0}
    light = Request({"sensor": "light", "period": "day"}, {}, None, CAPTURED)
    night = Request({}, {}, None, CAPTURED)
    for n in range(8):
        samples = [{"datetime": 1422471300000 + 300000 * i + n, "value": float(i)} for i in range(30)]
        events = [{"timestamp": 1422471300000 + n, "event_type": "SLEEP"}]
        for endpoint, payload, request in ((sense.SENSOR_HISTORY, samples, light),
                                           (sense.TIMELINE_V2, {"date": f"2017-04-1{n}", "events": events}, night)):
            assert decode_payload(payload, endpoint, request)[0] is None
            buffer.add(decode_payload(payload, endpoint, request)[1], provenance | {"source_entry": n})
    parts = buffer.parts()
    assert made == [(sense._sensor_history_frames, 3), (sense._sensor_history_frames, 3),
                    (sense._timeline_event_frames, 8), (sense._sensor_history_frames, 2)]
    assert pl.concat([p.read() for p in parts["sense_timeline_events"]])["source_entry"].to_list() == list(range(8))
    assert pl.concat([p.read() for p in parts["sense_sensor_samples"]]).height == 240


def test_all_sensor_histories_whose_bucket_keys_could_overflow_fall_back():
    """The buckets of many responses' samples are keyed by one integer (time x responses + response): where that
    could overflow (times the schema refuses, hundreds of responses at once), the arrays fall back."""
    def responses(last: int) -> list:
        times = [*range(0, 599_000, 1000), last]
        return [({"light": [{"datetime": t, "value": 0}], "sound": [{"datetime": t, "value": 0}]}, {"light": 300,
                                                                                                 "sound": 300})
                for t in times]

    assert sense._all_sensors_frames(responses(1422471300000))["value"].null_count() == 1200  # (all gaps)
    with pytest.raises(columns.Fallback):
        sense._all_sensors_frames(responses((2**63 - 1) // 1000 - 1))  # (past year 9999 too)


def test_a_type_the_columns_do_not_take_falls_back_to_value_by_value():
    items = columns.Items([{"TimeOfDay": "2017-01-01T00:00:60Z"}], {"TimeOfDay": pl.String})
    try:
        items.collect({"time": items.iso_utc("TimeOfDay")})
    except columns.Fallback:
        pass
    else:
        raise AssertionError("a second 60 was taken")


# fields the schema does not type: mostly what real payloads hold, now and then a type the columns do not take
def now_and_then(usual, odd: list):
    return st.integers(0, 19).flatmap(lambda n: st.sampled_from(odd) if n == 7 else usual)  # (0 comes up often)


UNTYPED = now_and_then(NUMBERS, [True, "12", 2**66, "x"])
UNTYPED_TEXTS = now_and_then(TEXTS, [1, 2**66, 5.0, False])
INTEGERS = now_and_then(st.one_of(st.none(), st.integers(-(2**53), 2**53), st.floats(-1e15, 1e15)),
                        [2**66, 1e300, -(2**63), "12"])  # (beyond 64 bits: the exchange is rejected)
ZONE_NAMES = ["Under", "HealthyHeart", "FitnessZone", "Aerobic", "Anaerobic", "RedLine", "Over", "MaxHR"]
ZONES = st.one_of(st.none(), st.just({}), st.dictionaries(
    now_and_then(st.sampled_from(ZONE_NAMES), ["healthyHeart", "MaxHr", "redline", "Other"]), NUMBERS, max_size=5))
FLOAT32S = st.one_of(NUMBERS, st.sampled_from([2.0999999046325684, 3.4000000953674316, 46.900001525878906, 1e39]))
SEQUENCES = st.lists(st.fixed_dictionaries(
    {"SequenceId": now_and_then(st.one_of(st.integers(-(2**63), 2**63 - 1),
                                          st.from_regex(r"-?[0-9]{1,20}", fullmatch=True)), [5.0, 2**64])},
    optional={
        "Order": INTEGERS, "SequenceType": TEXTS, "SleepType": TEXTS,
        "StartTime": st.one_of(st.none(), iso_times()), "Duration": NUMBERS, "PausedTime": NUMBERS,
        "SleepTime": NUMBERS, "StepsTaken": INTEGERS, "StepCount": now_and_then(INTEGERS, [True, "12", "x"]),
        "CaloriesBurned": NUMBERS,
        "CaloriesFromCarbs": NUMBERS, "CaloriesFromFat": NUMBERS, "AverageHeartRate": NUMBERS,
        "PeakHeartRate": NUMBERS, "LowestHeartRate": NUMBERS, "HeartRateZones": ZONES,
        "HRZoneClassification": UNTYPED_TEXTS, "TrainingEffect": FLOAT32S, "MaximalV02": FLOAT32S,
        "MaximalVO2": st.one_of(FLOAT32S, UNTYPED), "StressBalance": FLOAT32S,
        "AnalysisStatus": UNTYPED_TEXTS,
        "SplitDistance": NUMERIC, "DistanceWalkedInCm": UNTYPED, "TotalDistance": NUMERIC, "SplitPace": NUMERIC,
        "SplitSpeed": UNTYPED, "ActualDistance": NUMERIC, "OverallPace": NUMERIC, "AltitudeGain": UNTYPED,
        "AltitudeLoss": UNTYPED, "ClimbRateInCMPerHour": UNTYPED, "POIType": UNTYPED_TEXTS,
        "UserPOIOrdinal": now_and_then(INTEGERS, [True, "12", "x"]),
        "HoleNumber": now_and_then(INTEGERS, [True, "12", "x"]), "HolePar": INTEGERS, "UserScore": INTEGERS,
        "HoleDifficultyIndex": INTEGERS,
        "DistanceToPinInCm": NUMBERS, "LocationBlob": UNTYPED_TEXTS,
        "DayId": st.one_of(st.none(), iso_times(), st.sampled_from(
            ["", "2017-W01-1", "2017-02-29T00:00:00", "0000-01-01", "20170101", "2017-1-01T00:00:00", "2017-01-01"])),
    },
), min_size=1, max_size=5)


@SETTINGS
@given(SEQUENCES, st.one_of(st.none(), SEQUENCES))
def test_band_sequences_decode_by_columns_as_value_by_value(first, second):
    events = [{**EVENT, "Sequences": first}] + ([{**EVENT, "EventId": "2", "Sequences": second}] if second else [])
    same_either_way(band.EVENTS, {"value": events}, BAND)


def test_every_edge_of_a_sequence_by_columns():
    sequences = [
        {"SequenceId": 1, "TrainingEffect": 2.0999999046325684, "MaximalV02": None, "MaximalVO2": 46.900001525878906,
         "HeartRateZones": {"Under": 2, "MaxHR": 190}, "DayId": "2017-01-01T00:00:00", "StepsTaken": None,
         "StepCount": 12, "SplitDistance": "2090", "HRZoneClassification": 3},
        {"SequenceId": "2", "TrainingEffect": -0.0, "StressBalance": 1e39, "DayId": "", "HRZoneClassification": ""},
    ]
    problem, tables = same_either_way(band.EVENTS, {"value": [{**EVENT, "Sequences": sequences}]}, BAND)
    assert problem is None
    rows = [dict(zip(tables["band_sequences"][0], row)) for row in tables["band_sequences"][1]]
    assert [r["training_effect"] for r in rows] == ["2.1", "-0.0"]
    assert [r["vo2max_ml_kg_min"] for r in rows] == ["46.9", "None"]
    assert [r["hr_zone_under_s"] for r in rows] == ["120.0", "None"]
    assert [r["max_hr_bpm"] for r in rows] == ["190.0", "None"]
    assert [r["steps"] for r in rows] == ["12", "None"]
    assert [r["split_distance_m"] for r in rows] == ["20.9", "None"]
    assert [r["hr_zone_classification"] for r in rows] == ["'3'", "None"]
    assert [r["day_id"] for r in rows] == ["datetime.date(2017, 1, 1)", "None"]


TIMELINE_EVENTS = st.lists(st.fixed_dictionaries(
    {"timestamp": MS},
    optional={"timezone_offset": OFFSETS, "duration_millis": NUMBERS, "message": TEXTS,
              "sleep_depth": now_and_then(st.one_of(st.none(), st.integers(-(2**53), 2**53)), [2**66, 5.0, -0.0]),
              "sleep_state": TEXTS, "event_type": TEXTS, "sleep_period": TEXTS,
              "valid_actions": st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=3))},
), min_size=1, max_size=6)


@SETTINGS
@given(TIMELINE_EVENTS, st.one_of(st.none(), TIMELINE_EVENTS))
def test_sense_timeline_events_decode_by_columns_as_value_by_value(first, second):
    request = Request({"date": "2017-04-19"}, {}, None, CAPTURED)
    same_either_way(sense.TIMELINE_V2, {"date": "2017-04-19", "events": first}, request)
    if second:  # two nights through one row buffer, made together
        nights = [{"date": "2017-04-19", "events": first}, {"date": "2017-04-20", "events": second}]
        fast = buffered(nights, sense.TIMELINE_V2, request)
        with value_by_value():
            assert buffered(nights, sense.TIMELINE_V2, request) == fast


def test_every_edge_of_a_timeline_event_by_columns():
    request = Request({"date": "2017-04-19"}, {}, None, CAPTURED)
    events = [{"timestamp": 1492650000000, "timezone_offset": -25200000, "duration_millis": 631, "valid_actions": []},
              {"timestamp": 1492650060000, "timezone_offset": -25200001, "valid_actions": ["", "ADJUST_TIME"]},
              {"timestamp": 1492650120000, "sleep_depth": 5.0, "valid_actions": None}]
    problem, tables = same_either_way(sense.TIMELINE_V2, {"date": "2017-04-19", "events": events}, request)
    assert problem is None
    rows = [dict(zip(tables["sense_timeline_events"][0], r)) for r in tables["sense_timeline_events"][1]]
    assert [r["valid_actions"] for r in rows] == ["None", "',ADJUST_TIME'", "None"]
    assert [r["utc_offset_s"] for r in rows] == ["-25200", "-25201", "None"]  # floored, as Python's // does
    assert rows[0]["duration_s"] == "0.631"
    late = [{**events[0], "timezone_offset": 86_400_001}]
    problem, _ = same_either_way(sense.TIMELINE_V2, {"date": "2017-04-19", "events": late * 3}, request)
    assert problem == "could not be decoded: ValueError: a UTC offset of 86400001 ms is more than a day"


def trends_v2_row_by_row(payload, request):
    """What decode_trends_v2 gave before its sections became blocks: a dict a value (the reference)."""
    snapshot = sense._capture_day(request)
    for g in payload.get("graphs") or ():
        time_scale = sense._upper(g.get("time_scale")) or sense._upper(request.path_params.get("time_scale"))
        data_type, graph_type = sense._upper(g.get("data_type")), sense._upper(g.get("graph_type"))
        unit, factor = sense.TREND_UNITS.get(data_type, (None, 1.0))
        trend_set = sense._trend_set(2, time_scale, data_type, graph_type, snapshot)
        sections = g.get("sections") or []
        days = sense._v2_days(sections, time_scale, data_type, snapshot)
        for s_index, section in enumerate(sections):
            values = section.get("values") or []
            titles = section.get("titles") or []
            per_value = len(titles) == len(values)
            highlighted = set(section.get("highlighted_values") or ())
            for position, raw in enumerate(values):
                row = sense._trend_row(2, time_scale, data_type, graph_type, g.get("title"), trend_set, raw, unit,
                                       factor)
                if data_type == "HOURS" and row["value"] is not None:
                    row["value"] = round(sense.number(raw) * 60) * 60.0
                yield "sense_trends", {
                    **row,
                    "date": days[s_index][position] if days else None,
                    "snapshot_day": snapshot,
                    "section": s_index,
                    "section_title": None if per_value or not titles else ", ".join(str(t) for t in titles),
                    "position": position,
                    "label": titles[position] if per_value else None,
                    "highlighted": position in highlighted,
                }


TREND_VALUES = st.lists(st.one_of(st.none(), st.just(-1), st.integers(-100, 100), st.floats(-1e6, 1e6)),
                        max_size=9)
SECTIONS = st.lists(st.builds(
    lambda values, titles, highlighted: {"values": values, "titles": titles, "highlighted_values": highlighted},
    TREND_VALUES, st.one_of(st.none(), st.lists(st.sampled_from(["S", "M", "Jan", "x", None]), max_size=9)),
    st.one_of(st.none(), st.lists(st.integers(0, 9), max_size=3))), max_size=4)
GRAPHS = st.lists(st.builds(
    lambda data_type, scale, sections: {"data_type": data_type, "time_scale": scale, "graph_type": "GRID",
                                        "title": "Sleep", "sections": sections},
    st.sampled_from(["SCORES", "HOURS", "PERCENTS", "OTHER"]),
    st.sampled_from(["LAST_WEEK", "LAST_MONTH", "LAST_3_MONTHS", None]), SECTIONS), min_size=1, max_size=3)


@SETTINGS
@given(GRAPHS)
def test_sense_v2_trends_as_blocks_give_the_rows_they_gave_a_value_at_a_time(graphs):
    request = Request({"time_scale": "last_month"}, {}, None, CAPTURED)
    problem, tables = decoded(sense.TRENDS_V2, {"graphs": graphs}, request)
    buffer = RowBuffer()
    provenance = {"participant_id": None, "source_file": source_file("a.har"), "source_entry": 0, "captured_at": 0}
    undone = []
    if problem is None:
        buffer.add(trends_v2_row_by_row({"graphs": graphs}, request), provenance,
                   lambda reason: undone.append(reason) or [])
    reference = {}
    for name, parts in buffer.parts().items():
        frame = pl.concat([p.read() for p in parts]).with_columns(pl.col(pl.Datetime).dt.epoch("us"))
        reference[name] = (frame.schema, [tuple(map(repr, row)) for row in frame.rows()])
    assert tables == {name: t for name, t in reference.items() if t[1]}
    assert not undone


def test_an_integer_beyond_a_floats_precision_is_divided_as_value_by_value_divides_it():
    """Value by value, an integer is divided exactly (2**53 + 1 and beyond are no floats): by columns, such an array
    falls back rather than divide its float."""
    big = 1389090571228245642  # big / 100 != float(big) / 100
    for value in (big, 2**53 + 1, -(2**53) - 1):  # (the float of 2**53 + 1 is 2**53)
        minutes = [{"TimeOfDay": "2017-01-01T00:00:00Z", "TotalDistance": value}]
        _, tables = same_either_way(band.EVENTS, {"value": [{**EVENT, "Info": minutes}]}, BAND)
        assert dict(zip(tables["band_minutes"][0], tables["band_minutes"][1][0]))["distance_m"] == repr(value / 100)
    same_either_way(band.EVENTS, {"value": [{**EVENT, "Sequences": [{"SequenceId": 1, "SplitSpeed": big}]}]}, BAND)
    same_either_way(band.EVENTS, {"value": [{**EVENT, "MapPoints": [{"MapPointOrdinal": 1,
                                                                      "Location": {"Latitude": big}}]}]}, BAND)
    same_either_way(sense.TIMELINE_V2, {"date": "2017-04-19", "events": [{"timestamp": 0, "duration_millis": big}]},
                    Request({}, {}, None, CAPTURED))


def test_arrays_made_together_leave_no_reference_cycle_to_hold_their_frames():
    """Frames of a batch are freed once dropped, not at the garbage collector's next pass (which a conversion makes
    rarer: `converters.collector`), also where the batch is split because one response is refused."""
    import gc

    def convert(pieces: list[list[int]]) -> pl.DataFrame:
        if any(v < 0 for piece in pieces for v in piece):
            raise TypeError("refused")
        return pl.DataFrame({"x": [v for piece in pieces for v in piece]})

    laters = [Later(convert, piece, lambda: [], 2) for piece in ([1, 2], [3, 4], [-1, 5], [6, 7])]
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        frames = columns.made(laters)
        assert [f is None for f in frames] == [False, False, True, False]
        del frames
        gc.collect()
        cycled = [o for o in gc.garbage if isinstance(o, pl.DataFrame)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cycled == []
