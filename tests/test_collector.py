"""The garbage collector's policy during a conversion (`converters.collector`)."""

from __future__ import annotations

import gc
import threading

import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har

from converters import collector
from converters import pipeline as conversion
from converters.pipeline import Input


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 11, 12)
    yield
    gc.set_threshold(*before)


def test_a_conversion_collects_less_often_and_restores_the_thresholds_after(tmp_path, monkeypatch, thresholds):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])
    during = []
    original = conversion._convert_file

    def noting(inp, *args):
        during.append(gc.get_threshold())
        return original(inp, *args)

    monkeypatch.setattr(conversion, "_convert_file", noting)
    result = conversion.convert([Input(har, "c.har", True)], jobs=1)
    assert result.files[0].status == "ok"
    assert during == [(collector.YOUNG_OBJECTS, 11, 12)]
    assert gc.get_threshold() == (700, 11, 12)


def test_the_thresholds_are_restored_when_a_conversion_fails(tmp_path, monkeypatch, thresholds):
    har = write_har(tmp_path / "c.har", [entry(BAND_EVENTS_URL, band_event())])

    def buggy(inp, *args):
        raise RuntimeError("bug")

    monkeypatch.setattr(conversion, "_convert_file", buggy)
    with pytest.raises(RuntimeError):
        conversion.convert([Input(har, "c.har", True)], debug=True)
    assert gc.get_threshold() == (700, 11, 12)


def test_overlapping_conversions_restore_the_thresholds_once_the_last_ends(thresholds):
    first_in, second_out = threading.Event(), threading.Event()
    seen_by_first = []

    def first():
        with collector.converting():
            first_in.set()
            second_out.wait()
            seen_by_first.append(gc.get_threshold())

    thread = threading.Thread(target=first)
    thread.start()
    try:
        first_in.wait()  # however late a loaded machine starts the thread
        with collector.converting():
            assert gc.get_threshold() == (collector.YOUNG_OBJECTS, 11, 12)
        assert gc.get_threshold() == (collector.YOUNG_OBJECTS, 11, 12)  # the first is still converting
    finally:
        second_out.set()
        thread.join()
    assert seen_by_first == [(collector.YOUNG_OBJECTS, 11, 12)]
    assert gc.get_threshold() == (700, 11, 12)


def test_a_collector_turned_off_or_set_higher_is_left_so(thresholds):
    gc.set_threshold(0, 11, 12)
    with collector.converting():
        assert gc.get_threshold() == (0, 11, 12)
    gc.set_threshold(10 * collector.YOUNG_OBJECTS, 11, 12)
    with collector.converting():
        assert gc.get_threshold() == (10 * collector.YOUNG_OBJECTS, 11, 12)
    assert gc.get_threshold() == (10 * collector.YOUNG_OBJECTS, 11, 12)
