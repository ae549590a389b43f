"""Hostile input, fourth round: what a reader does per byte of a capture stays bounded whatever the capture holds.
No timing: the work is counted where it would grow with the square of the input."""

from __future__ import annotations

import json

from hostile_cases import har_entry_like_objects

from converters.captures import Exchange, har_runs, read_capture


def test_an_entry_too_deep_holding_thousands_of_entry_like_objects_costs_a_few_parses(tmp_path, monkeypatch):
    """Before: an entry nested too deep is parsed apart from the others of its run, from cut to cut, and each cut
    inside it (an object that begins as entries do) cost a parse of all the run before it, with no end but the
    run's: a HAR of 1.4 MB (60,000 such objects) took more than 5 minutes to inspect, 2.9 MB more than 5 too. Now
    `MAX_MISCUTS` cuts in a row inside a value send the rest to ijson, as the runs themselves do: the parses are
    counted (before: one per object before the run's end). The entries read are the same."""
    monkeypatch.setattr(har_runs, "RUN_BYTES", 32 << 10)  # (the run ends past some of the objects, as 1 MiB does)
    path = har_entry_like_objects(tmp_path / "like.har", 6000)
    parses = []
    parse_run, parse_pruned = har_runs._Data.parse_run, har_runs._Data.parse_pruned
    monkeypatch.setattr(har_runs._Data, "parse_run", lambda data, end: parses.append(end) or parse_run(data, end))
    monkeypatch.setattr(har_runs._Data, "parse_pruned", lambda data, end: parses.append(end) or parse_pruned(data, end))
    items = list(read_capture(path))
    assert len(parses) < 4 * har_runs.MAX_MISCUTS  # before: 2,608
    exchanges = [item for item in items if isinstance(item, Exchange)]
    assert [e.host for e in exchanges] == ["prodphswus.dns-cargo.com", "www.example.com", "prodphswus.dns-cargo.com"]
    assert exchanges[0].body and exchanges[2].body and "--max-depth" in exchanges[1].left_out


def test_a_flows_host_header_after_thousands_of_headers_is_searched_for_once(tmp_path):
    """Before: the flow reader looked for the bytes of a Host header (`4:host,`) from every header of the request up
    to the last such bytes, each search reading the rest of the list: a Host header after 50,000 others cost 12 s to
    convert, 200,000 more than a minute (the square of their number). Now the list is searched again only once the
    headers read pass what the last search found: the searches are counted (`bytes.find`, by a profile hook; no
    timing), and the host is the Host header's as before."""
    import sys

    from converters.captures import flow as flow_reader
    from hostile_cases import flow_host_last

    path = flow_host_last(tmp_path / "crowded.flow", 20_000)
    finds = []

    def count(frame, event, arg):
        if event == "c_call" and getattr(arg, "__qualname__", "") == "bytes.find":
            finds.append(frame.f_code.co_name)

    sys.setprofile(count)
    try:
        items = list(flow_reader.read_flows(path, "crowded.flow", lambda host: True))  # (as convert reads them)
    finally:
        sys.setprofile(None)
    assert finds.count("_host_headers") < 10  # before: 20,004 for this flow
    assert [item.host for item in items] == ["prodphswus.dns-cargo.com", "a.example", "prodphswus.dns-cargo.com"]


def test_a_pseudonymised_runs_lines_do_not_sort_its_hidden_folders_again_for_each_line(monkeypatch):
    """Before: every line a pseudonymised run printed sorted all the hidden folders (three names each) to look up
    their pattern: a run of 6,000 files in folders of their own, each with a line, spent 18 s of its 34 there (the
    square of the files). Now the pattern is made once for the folders, and again only once folders are added: the
    patterns made are counted (no timing). What is shown is the same."""
    from converters import redaction

    made = []
    hiding = redaction._hiding
    monkeypatch.setattr(redaction, "_hiding", lambda items: made.append(len(items)) or hiding(items))
    hidden = redaction.hidden_folders([f"incoming/person-{i:04d}/phone.har" for i in range(300)], b"k" * 32)
    shown = [redaction.line(f"incoming/person-{i:04d}/phone.har: failed: cut off", hidden) for i in range(300)]
    assert len(made) == 1  # before: 300
    assert all("person-" not in text and text.endswith("/phone.har: failed: cut off") for text in shown)
    hidden |= redaction.hidden_folders(["later/person-9999/phone.har"], b"k" * 32)
    assert "person-9999" not in redaction.line("later/person-9999/phone.har", hidden) and len(made) == 2


def test_escaped_emoji_across_reads_are_read_as_emoji_and_the_rest_of_the_file_too(tmp_path, monkeypatch):
    """Before: lone surrogates were replaced a read of the file at a time, so an emoji's escapes (`\\ud83d\\ude00`, as
    Python's json and others write text) cut by the end of a read were taken for two lone surrogates, and a high
    one's escape itself cut in two left the low one alone where the parser then found the high one whole: it read
    the string as no UTF-8, and the rest of the file was lost (scrub: 'partial: not UTF-8 text after entry 1', the
    Band entry after it gone; the reader's ijson path alike). Now each read is cut where no such escape is split:
    whatever the reads, the text is read whole and every entry with it."""
    from builders import write_har

    from converters import scrub
    from converters.captures import har_runs, read_capture
    from hostile_cases import BAND_EVENTS, band_event, entry

    text = "chat \U0001F600 " * 4000  # 36 KB: escapes of pairs, as json.dumps writes them
    path = write_har(tmp_path / "emoji.har", [entry(BAND_EVENTS, {"value": [band_event()]}),
                                              entry("https://www.example.com/", text),
                                              entry(BAND_EVENTS, {"value": [band_event("2")]})])
    assert "\\ud83d\\ude00" in path.read_text()
    monkeypatch.setattr(har_runs, "MAX_RUN_BYTES", 8 << 10)  # (runs hold less than the string: ijson reads it)
    monkeypatch.setattr(har_runs, "RUN_BYTES", 2 << 10)
    for read in range(4096, 4096 + 12):  # an escape cut at every one of its bytes by some read
        monkeypatch.setattr(har_runs, "READ_SIZE", read)
        monkeypatch.setattr(scrub, "READ_SIZE", read)
        items = list(read_capture(path))
        assert [type(item).__name__ for item in items] == ["Exchange"] * 3, read
        assert items[1].body == text.encode()
        report = scrub.scrub_capture(path, tmp_path / f"copy{read}.har")
        assert (report.status, report.entries) == ("ok", 3), (read, report.message)
        copied = json.loads((tmp_path / f"copy{read}.har").read_text())["log"]["entries"][1]
        assert copied["response"]["content"]["text"] == text


def test_the_small_entries_at_the_end_of_a_har_are_parsed_without_a_thousand_brackets_each(tmp_path, monkeypatch):
    """Before: once a HAR is read to its end, what is left of it is parsed an entry a run, and every run was wrapped
    in as many brackets as leave orjson the depth limit's levels (some 1,850 bytes) and walked down them again: a MiB
    of small entries (110 bytes each) cost 1.6 s, the whole reading of the file 2.0 s where 1.1 s do. Now a short
    run that opens fewer brackets than the limit allows levels is parsed as it is: the bytes orjson is given are
    counted (no timing). An entry nested too deep is still refused for its depth and read without what is too deep."""
    import orjson

    entries = [{"startedDateTime": "2017-03-03T07:31:12Z", "request": {"url": f"https://h{i}.example/p", "method": "GET"}}
               for i in range(2000)]
    entries[1500]["_custom"] = json.loads("[" * 150 + "]" * 150)  # past --max-depth: left out
    path = tmp_path / "small.har"
    path.write_text(json.dumps({"log": {"entries": entries}}))
    given = []

    class Counting:
        JSONDecodeError = orjson.JSONDecodeError

        @staticmethod
        def loads(data):
            given.append(len(data))
            return orjson.loads(data)

    monkeypatch.setattr(har_runs, "orjson", Counting)
    items = list(read_capture(path))
    assert [item.host for item in items] == [f"h{i}.example" for i in range(2000)]
    assert "--max-depth" in items[1500].left_out and not items[1499].left_out
    assert sum(given) < 3 * path.stat().st_size  # before: 18 times it
