"""Every old dump reads: flows without a response (a refused connection, a failed TLS handshake) in every flow format
from 0.10 (2014) to 21 are read and counted by reason, and the flows after them convert; scrub copies them too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from old_dumps import VERSIONS, dump, flow_state, label

from converters.captures import Exchange, no_response_reason, read_capture
from converters.pipeline import Input, convert_file
from converters.scrub import scrub_capture

BAND_HOST = "prodphswus.dns-cargo.com"
EVENTS_PATH = "/v1/Events(eventType='Running')"
RUN = {"value": [{"EventId": "2519812557630091728", "EventType": "Running", "StartTime": "2015-01-12T06:43:56Z",
                  "Duration": 1830, "CaloriesBurned": 242}]}


def refused_then_device_flow(tmp_path: Path, version, server_conn: bool = True) -> Path:
    """As a person sees it first when setting up interception: a refused connection, then the device's response."""
    path = tmp_path / f"dump-{label(version)}.mitm"
    path.write_bytes(dump(
        flow_state(version, BAND_HOST, EVENTS_PATH, None, error="Connection refused", server_conn=server_conn),
        flow_state(version, "www.example.com", "/", None, started=1417000050.0, error="TLS handshake failed: x"),
        flow_state(version, BAND_HOST, EVENTS_PATH, json.dumps(RUN).encode(), started=1417000100.0),
    ))
    return path


@pytest.mark.parametrize("version", VERSIONS, ids=label)
def test_flows_without_a_response_read_in_every_format_and_the_flows_after_them_convert(tmp_path, version):
    path = refused_then_device_flow(tmp_path, version)
    refused, tls, device = read_capture(path)
    assert isinstance(refused, Exchange) and (refused.status, refused.body, refused.error) == (
        None, None, "Connection refused")
    assert (refused.host, refused.path) == (BAND_HOST, EVENTS_PATH)
    assert tls.status is None and tls.error.startswith("TLS handshake failed")
    assert device.status == 200 and json.loads(device.body) == RUN
    report, _ = convert_file(Input(path, path.name, True))
    assert (report.status, report.error) == ("ok", None)
    assert report.no_response == {"connection refused": 1, "TLS handshake failed": 1}
    assert report.device_responses == {"band/events": 1} and report.exchanges == report.accounted() == 3


@pytest.mark.parametrize("version", [(0, 10), (0, 11), (0, 12), (0, 13)], ids=label)
def test_a_flow_without_a_server_connection_in_a_2014_dump_reads(tmp_path, version):
    """mitmproxy 0.11 to 0.13 wrote a refused connection's flow with no server connection at all."""
    refused, _, device = read_capture(refused_then_device_flow(tmp_path, version, server_conn=False))
    assert (refused.status, refused.error, device.status) == (None, "Connection refused", 200)


@pytest.mark.parametrize("version", [(0, 10), (0, 11), (0, 13), (0, 15), (0, 18), (1, 0), 7, 21], ids=label)
def test_scrub_copies_every_flow_of_an_old_dump_without_a_response(tmp_path, version):
    path = refused_then_device_flow(tmp_path, version)
    report = scrub_capture(path, tmp_path / "scrubbed.mitm")
    assert (report.status, report.entries) == ("ok", 3)
    statuses = [item.status for item in read_capture(tmp_path / "scrubbed.mitm")]
    assert statuses == [None, None, 200]


def test_scrub_leaves_out_a_flow_it_cannot_build_and_says_so(tmp_path):
    flows = [flow_state(21, BAND_HOST, EVENTS_PATH, json.dumps(RUN).encode()) for _ in range(3)]
    del flows[1]["request"]["method"]
    path = tmp_path / "damaged.mitm"
    path.write_bytes(dump(*flows))
    report = scrub_capture(path, tmp_path / "scrubbed.mitm")
    assert (report.status, report.entries) == ("partial", 2)
    assert report.message == "1 flow could not be read and was left out (the first: Invalid data format)"


def test_a_har_entry_without_a_response_counts_its_error(tmp_path):
    from builders import entry, write_har

    har_entry = entry("https://www.example.com/", None, status=0)  # as mitmproxy writes a flow without response
    har_entry["_error"] = "net::ERR_CONNECTION_REFUSED"
    har_entry["response"]["content"] = {}
    path = write_har(tmp_path / "refused.har", [har_entry])
    (exchange,) = read_capture(path)
    assert (exchange.status, exchange.error) == (None, "net::ERR_CONNECTION_REFUSED")
    report, _ = convert_file(Input(path, path.name, True))
    assert report.no_response == {"connection refused": 1} and report.not_device == 1


@pytest.mark.parametrize(("error", "reason"), [
    (None, "none captured"),
    ("Connection refused", "connection refused"),
    ("[Errno 111] Connection refused", "connection refused"),
    ("TLS handshake failed", "TLS handshake failed"),
    ("Certificate verification error for api.hello.is: unable to get local issuer certificate", "TLS handshake failed"),
    ("Multiple exceptions: [Errno 60] Connect call failed ('123.58.180.8', 80)", "server not reached"),
    ("Connection killed.", "killed"),
    ("peer closed connection", "connection closed"),
    ("Server connection to ('x', 443) timed out", "timed out"),
    ("something odd", "other error"),
])
def test_no_response_reasons_are_a_few_fixed_words(error, reason):
    assert no_response_reason(error) == reason
