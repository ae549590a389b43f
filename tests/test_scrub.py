"""`scrub_capture` removes every secret from HAR and flow captures and changes nothing the conversion reads."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
from pathlib import Path

import pytest
from builders import BAND_EVENTS_URL, band_event, entry, write_har
from conftest import REFERENCE, REPO
from mitmproxy import http, tcp
from mitmproxy import io as mitmio
from mitmproxy.test import tflow

from converters.captures import Exchange, read_capture
from converters.pipeline import Input, convert
from converters.scrub import KINDS, REDACTED, scrub_capture

sys.path.insert(0, str(REPO / "samples"))
from make_samples import SECRETS  # noqa: E402

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
VARYING_REPORT_FIELDS = ("size_bytes", "sha256")  # of the file itself, not of what it holds


def exposed_secrets(path) -> set[str]:
    """The planted secrets (or their first 12 characters) found in the file's bytes or in what a reader decodes
    from it: every header, path, query and request and response body (gunzipped, un-brotlied, base64-decoded)."""
    texts = [path.read_bytes().decode("utf-8", "replace")]
    for item in read_capture(path):
        if isinstance(item, Exchange):
            texts += [f"{item.path}?{item.query}", repr(item.request_headers), repr(item.response_headers)]
            texts += [body.decode("utf-8", "replace") for body in (item.request_body, item.body) if body]
    return {secret for secret in SECRETS for text in texts if secret in text or secret[:12] in text}


def counts(report) -> tuple[int, ...]:
    """(entries, headers, cookies, urls, bodies, other) of a ScrubReport."""
    return report.entries, *(report.counts[k] for k in KINDS)


def conversion(path, name):
    result = convert([Input(path, name, True)])
    (report,) = result.files
    return result.tables, {k: v for k, v in report.as_dict().items() if k not in VARYING_REPORT_FIELDS}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_no_planted_secret_survives_scrubbing_of_the_samples(tmp_path, sample):
    scrubbed = tmp_path / sample.name
    report = scrub_capture(sample, scrubbed)
    assert report.status == "ok" and report.message is None
    assert exposed_secrets(sample)  # the scan finds them before scrubbing
    assert exposed_secrets(scrubbed) == set()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_scrubbed_sample_converts_to_the_same_tables_and_report(tmp_path, sample):
    scrubbed = tmp_path / sample.name
    scrub_capture(sample, scrubbed)
    original_tables, original_report = conversion(sample, sample.name)
    scrubbed_tables, scrubbed_report = conversion(scrubbed, sample.name)
    assert scrubbed_report == original_report
    assert scrubbed_tables.keys() == original_tables.keys() and len(original_tables) > 3
    for name, table in original_tables.items():
        assert scrubbed_tables[name].equals(table), name


def test_sample_counts_say_what_was_replaced(tmp_path):
    report = scrub_capture(SAMPLES[0], tmp_path / "out.har")
    # 8 Authorization headers; the Cookie and Set-Cookie headers and the 3 cookies of the HAR arrays; the token
    # call's form (its text and 2 of its params) and its response
    assert counts(report) == (16, 8, 5, 0, 5, 0)  # bodies: the sign-in, and the v1 night's signed sound link


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_scrubbing_a_scrubbed_copy_finds_nothing_more(tmp_path, sample):
    once, twice = tmp_path / f"once-{sample.name}", tmp_path / f"twice-{sample.name}"
    scrub_capture(sample, once)
    report = scrub_capture(once, twice)
    assert report.status == "ok"
    assert counts(report)[1:] == (0, 0, 0, 0, 0)


def test_tokens_in_query_basic_auth_and_json_oauth_body_are_replaced_keeping_names(tmp_path):
    device = entry(BAND_EVENTS_URL + "&access_token=tok-1&Code=c-2", band_event(),
                   request_headers={"Authorization": "Basic dXNlcjpwYXNz", "X-Auth-Token": "tok-3", "Accept": "*/*"})
    device["request"]["queryString"] = [{"name": "$expand", "value": "Sequences,Info"},
                                        {"name": "access_token", "value": "tok-1"}, {"name": "Code", "value": "c-2"}]
    oauth = entry("https://api.hello.is/v1/oauth2/token", {"access_token": "tok-4", "id_token": "tok-5",
                                                          "token_type": "Bearer", "expires_in": 3600}, method="POST")
    oauth["request"]["postData"] = {"mimeType": "application/json",
                                    "text": json.dumps({"grant_type": "password", "username": "a@example.com",
                                                        "password": "pw-6", "client_secret": "cs-7"})}
    src = write_har(tmp_path / "in.har", [device, oauth])
    report = scrub_capture(src, tmp_path / "out.har")

    out = json.loads((tmp_path / "out.har").read_text())["log"]["entries"]
    request = out[0]["request"]
    assert request["url"] == BAND_EVENTS_URL + f"&access_token={REDACTED}&Code={REDACTED}"
    assert request["queryString"][0]["value"] == "Sequences,Info"
    assert [q["value"] for q in request["queryString"][1:]] == [REDACTED, REDACTED]
    assert {h["name"]: h["value"] for h in request["headers"]} == {
        "Authorization": f"Basic {REDACTED}", "X-Auth-Token": REDACTED, "Accept": "*/*"}
    assert json.loads(out[1]["request"]["postData"]["text"]) == {
        "grant_type": "password", "username": "a@example.com", "password": REDACTED, "client_secret": REDACTED}
    assert json.loads(out[1]["response"]["content"]["text"]) == {
        "access_token": REDACTED, "id_token": REDACTED, "token_type": "Bearer", "expires_in": 3600}
    assert out[0]["response"] == json.loads(src.read_text())["log"]["entries"][0]["response"]  # device data as is
    assert counts(report) == (2, 2, 0, 3, 2, 0)  # urls: the URL once, 2 queryString items


def test_flow_token_call_is_scrubbed_keeping_content_encoding_and_other_flows_as_they_were(tmp_path):
    oauth = tflow.tflow(resp=True, live=False)
    oauth.request.method, oauth.request.host = "POST", "api.hello.is"
    oauth.request.path = "/v1/oauth2/token?code=c-1&state=s"
    oauth.request.headers.update({"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "sid=c-2; lang=en"})
    oauth.request.content = b"grant_type=password&username=u&password=pw-3"
    oauth.response.headers["content-encoding"] = "gzip"
    oauth.response.content = b'{"access_token":"tok-4","refresh_token":"tok-5","expires_in":3600}'
    websocket = tflow.twebsocketflow()
    websocket.websocket.messages[0].content = b"access_token=tok-6"
    other = tflow.ttcpflow()
    src = tmp_path / "in.flow"
    with src.open("wb") as f:
        writer = mitmio.FlowWriter(f)
        for flow in (oauth, websocket, other):
            writer.add(flow)

    report = scrub_capture(src, tmp_path / "out.flow")

    with (tmp_path / "out.flow").open("rb") as f:
        flows = list(mitmio.FlowReader(f).stream())
    assert [type(flow) for flow in flows] == [http.HTTPFlow, http.HTTPFlow, tcp.TCPFlow]
    request, response = flows[0].request, flows[0].response
    assert request.path == f"/v1/oauth2/token?code={REDACTED}&state=s"
    assert request.headers["authorization"] == f"Basic {REDACTED}"
    assert request.headers["cookie"] == f"sid={REDACTED}; lang={REDACTED}"
    assert request.content == f"grant_type=password&username=u&password={REDACTED}".encode()
    assert response.headers["content-encoding"] == "gzip" and response.raw_content.startswith(b"\x1f\x8b")
    assert json.loads(response.content) == {"access_token": REDACTED, "refresh_token": REDACTED, "expires_in": 3600}
    assert [m.content for m in flows[1].websocket.messages] == [
        f"access_token={REDACTED}".encode(), *(m.content for m in websocket.websocket.messages[1:])]
    assert flows[2].get_state() == other.get_state()
    # headers: Authorization, tflow's own "header" and "header-response", the WebSocket handshake's Sec-WebSocket-Key
    assert counts(report) == (3, 4, 1, 1, 2, 1)


def test_truncated_har_is_partial_with_its_complete_entries_scrubbed(tmp_path):
    auth = {"Authorization": "Bearer tok-1"}
    entries = [entry(BAND_EVENTS_URL, band_event(str(n)), request_headers=auth) for n in range(3)]
    text = write_har(tmp_path / "full.har", entries).read_text()
    cut = tmp_path / "cut.har"
    cut.write_text(text[: text.rindex("tok-1") + 2])  # inside the last entry's Authorization value

    report = scrub_capture(cut, tmp_path / "out.har")

    assert report.status == "partial" and report.entries == 2 and report.counts["headers"] == 2
    assert report.message == "cut off after entry 2 of an unknown total; 2 entries read"
    log = json.loads((tmp_path / "out.har").read_text())["log"]  # complete JSON, closed after the last good entry
    assert log["version"] == "1.2" and log["pages"] == []
    scrubbed_auth = [{"name": "Authorization", "value": f"Bearer {REDACTED}"}]
    assert [e["request"]["headers"] for e in log["entries"]] == [scrubbed_auth] * 2
    assert "tok-" not in (tmp_path / "out.har").read_text()


def test_truncated_flow_dump_is_partial_with_its_complete_flows_scrubbed(tmp_path):
    data = SAMPLES[1].read_bytes()
    with SAMPLES[1].open("rb") as f:
        flows = len(list(mitmio.FlowReader(f).stream()))
    cut = tmp_path / "cut.flow"
    cut.write_bytes(data[: len(data) * 2 // 3])

    report = scrub_capture(cut, tmp_path / "out.flow")

    assert report.status == "partial" and 0 < report.entries < flows
    assert report.message.endswith(f"flows read: {report.entries}")
    with (tmp_path / "out.flow").open("rb") as f:
        assert len(list(mitmio.FlowReader(f).stream())) == report.entries
    assert exposed_secrets(tmp_path / "out.flow") == set()


def test_compressed_har_is_written_as_plain_json(tmp_path):
    src = tmp_path / "phone-sync.har.gz"
    src.write_bytes(gzip.compress(SAMPLES[0].read_bytes()))
    report = scrub_capture(src, tmp_path / "out.har")
    assert report.status == "ok" and report.entries == 16
    assert len(json.loads((tmp_path / "out.har").read_bytes())["log"]["entries"]) == 16


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_har_in_another_text_encoding_is_written_as_utf8(tmp_path, encoding):
    auth = {"Authorization": "Bearer tok-1"}
    entries = [entry(BAND_EVENTS_URL, band_event(), request_headers=auth),
               entry("https://www.example.com/", "<p>café</p>", request_headers=auth)]
    src = tmp_path / "in.har"
    src.write_bytes(json.dumps({"log": {"version": "1.2", "entries": entries}}, ensure_ascii=False).encode(encoding))

    report = scrub_capture(src, tmp_path / "out.har")

    assert report.status == "ok" and report.counts["headers"] == 2
    out = json.loads((tmp_path / "out.har").read_text(encoding="utf-8"))["log"]["entries"]
    assert out[1]["response"]["content"]["text"] == "<p>café</p>"
    original_tables, original_report = conversion(src, "in.har")
    scrubbed_tables, scrubbed_report = conversion(tmp_path / "out.har", "in.har")
    assert scrubbed_report == original_report and original_tables.keys() == scrubbed_tables.keys()
    assert all(scrubbed_tables[name].equals(table) for name, table in original_tables.items())


def test_base64_token_response_is_scrubbed_and_stays_base64(tmp_path):
    oauth = entry("https://login.example.com/oauth20_token.srf", method="POST")
    oauth["response"]["content"].update(text=base64.b64encode(b'{"refresh_token":"tok-1"}').decode(), encoding="base64")
    scrub_capture(write_har(tmp_path / "in.har", [oauth]), tmp_path / "out.har")
    content = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["response"]["content"]
    assert json.loads(base64.b64decode(content["text"])) == {"refresh_token": REDACTED}


@pytest.mark.parametrize("content", [b"", b"just some text\n", b'{"not": "a HAR"}', b'[{"saved": "response"}]'],
                         ids=["empty", "text", "json-object", "json-list"])
def test_input_that_is_not_a_capture_fails_without_writing(tmp_path, content):
    src = tmp_path / "notes.txt"
    src.write_bytes(content)
    report = scrub_capture(src, tmp_path / "out.har")
    assert report.status == "failed" and report.message
    assert list(tmp_path.iterdir()) == [src]  # neither the output nor a temporary file


def test_output_that_is_the_input_file_is_refused(tmp_path):
    src = write_har(tmp_path / "in.har", [entry(BAND_EVENTS_URL, band_event(), request_headers={"Cookie": "a=b"})])
    before = src.read_bytes()
    os.link(src, tmp_path / "link.har")
    for dst in (src, tmp_path / "link.har"):
        report = scrub_capture(src, dst)
        assert report.status == "failed" and "input" in report.message
    assert src.read_bytes() == before


def test_scrub_command_writes_a_copy_and_reports_what_it_redacted(tmp_path):
    from typer.testing import CliRunner

    from converters.cli import app

    result = CliRunner().invoke(app, ["scrub", str(REPO / "samples" / "phone-sync.har"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "phone-sync.har"
    assert copy.stat().st_mode & 0o044  # readable like any other output, not private to its writer
    assert not any(secret in copy.read_text() for secret in SECRETS)
    assert "redacted:" in result.output
    missing = CliRunner().invoke(app, ["scrub", str(tmp_path / "nope.har"), "-o", str(tmp_path / "x.har")])
    assert missing.exit_code == 2


# every flow format, 0.10 too: scrub builds flows as the converter does (captures.flow.read_dump)
REFERENCE_CAPTURES = sorted(p.name for p in (REFERENCE / "captures").rglob("*") if p.is_file())


@pytest.mark.parametrize("name", REFERENCE_CAPTURES)
def test_a_scrubbed_reference_capture_converts_to_the_same_tables_and_counts(reference, tmp_path, name):
    """Real captures of every browser and mitmproxy version (../shared/reference/captures): the copy reads as the
    original does, to the same device tables, the same exchanges in every category, the same generic tables' rows."""
    (src,) = (reference / "captures").rglob(name)
    report = scrub_capture(src, tmp_path / name)
    assert report.status == "ok", report.message

    def converted(path):
        result = convert([Input(path, name, True, generic=("*",))])
        (file,) = result.files
        tables = {t: df.to_dicts() if not t.startswith("generic__") else df.height for t, df in result.tables.items()}
        return tables, {k: v for k, v in file.as_dict().items() if k not in VARYING_REPORT_FIELDS}

    assert converted(tmp_path / name) == converted(src)


def test_a_har_query_parameter_or_cookie_named_by_a_token_loses_its_name(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    e = entry(f"https://x.example.com/a?{token}", {"ok": 1})
    e["request"]["queryString"] = [{"name": token, "value": ""}]
    e["request"]["cookies"] = [{"name": "Zk3aB9xQ1mN7pL2vR8tYwQ4e", "value": "1"}]
    scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har")
    request = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["request"]
    assert request["url"] == f"https://x.example.com/a?{REDACTED}"
    assert request["queryString"] == [{"name": REDACTED, "value": ""}]
    assert request["cookies"] == [{"name": REDACTED, "value": REDACTED}]


def test_har_header_cookie_and_parameter_comments_are_scrubbed_as_free_text(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    e = entry("https://x.example.com/a?t=1", {"ok": 1})
    e["request"]["headers"] = [{"name": "Accept", "value": "*/*", "comment": f"secret={token[-20:]}"}]
    e["request"]["queryString"] = [{"name": "t", "value": "1", "comment": f"Bearer {token[-24:]}"}]
    e["request"]["cookies"] = [{"name": "c", "value": "1", "path": "/", "comment": f"logged in, {token}"}]
    scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har")
    request = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["request"]
    assert request["headers"] == [{"name": "Accept", "value": "*/*", "comment": f"secret={REDACTED}"}]
    assert request["queryString"] == [{"name": "t", "value": "1", "comment": REDACTED}]  # a credential whole
    assert request["cookies"] == [{"name": "c", "value": REDACTED, "path": "/", "comment": f"logged in, {REDACTED}"}]


def scrubbed_flow(tmp_path, flow):
    """`flow` written to a dump, scrubbed (the copy must be ok and hold no `Tr0ub4dor`), and read back from the copy."""
    with (tmp_path / "in.flow").open("wb") as f:
        mitmio.FlowWriter(f).add(flow)
    assert scrub_capture(tmp_path / "in.flow", tmp_path / "out.flow").status == "ok"
    assert b"Tr0ub4dor" not in (tmp_path / "out.flow").read_bytes()
    with (tmp_path / "out.flow").open("rb") as f:
        (copy,) = list(mitmio.FlowReader(f).stream())
    return copy


def test_a_flow_header_named_by_a_token_loses_its_name(tmp_path):
    flow = tflow.tflow(resp=True)
    name = b"Zk3aB9xQ1mN7pL2vR8tYwQ4eHn5"
    flow.request.headers.fields = ((name, b"1"), (b"Accept", b"*/*"))
    copy = scrubbed_flow(tmp_path, flow)
    assert copy.request.headers.fields == ((REDACTED.encode(), REDACTED.encode()), (b"Accept", b"*/*"))


def test_an_edited_flow_is_copied_without_its_backup_and_its_mark_and_connection_errors_are_scrubbed(tmp_path):
    """mitmproxy keeps a flow edited or replayed with a backup of it as captured (headers, bodies): the dump
    holds it, so the copy leaves it out."""
    flow = tflow.tflow(resp=True)
    flow.request.headers["Authorization"] = "Bearer Zk3aB9xQ1mN7pL2vR8tYwQ4eHn5-before"
    flow.request.content = b'{"password": "Tr0ub4dor&3-before"}'
    flow.backup()
    flow.request.headers["Authorization"] = "Bearer Zk3aB9xQ1mN7pL2vR8tYwQ4eHn5-edited"
    flow.request.content = b'{"password": "Tr0ub4dor&3-edited"}'
    flow.marked = "password=Tr0ub4dor&3-mark"
    flow.client_conn.error = "TLS failed after token=Tr0ub4dor3-client"
    flow.server_conn.error = "cannot connect to https://bob:Tr0ub4dor3-server@proxy.example.com/"
    copy = scrubbed_flow(tmp_path, flow)
    assert copy.get_state()["backup"] is None
    assert (copy.marked, copy.client_conn.error, copy.server_conn.error) == (
        "password=REDACTED", "TLS failed after token=REDACTED", "cannot connect to https://REDACTED@proxy.example.com/")


def test_a_flows_host_from_a_host_header_with_a_user_and_password_loses_them(tmp_path):
    flow = tflow.tflow(resp=True)
    flow.request.data.host, flow.request.authority = "bob:Tr0ub4dor3@api.example.com", ""
    flow.request.headers["Host"] = "bob:Tr0ub4dor3@api.example.com"
    copy = scrubbed_flow(tmp_path, flow)
    assert (copy.request.host, copy.request.headers["Host"]) == ("REDACTED@api.example.com",) * 2


def test_har_header_and_parameter_values_that_are_no_strings_lose_their_credentials(tmp_path):
    """A HAR written by a tool of its own may give a header's value as a list or a number: they were copied as
    they were."""
    e = entry("https://x.example.com/a", {"ok": 1}, method="POST", post="a=1")
    e["request"]["headers"] += [{"name": "Authorization", "value": ["Bearer Zk3aB9xQ1mN7pL2vR8tYwQ4e"]},
                                {"name": "X-Api-Key", "value": 73918264500011}, {"name": "Accept", "value": None}]
    e["request"]["queryString"] = [{"name": "password", "value": 7391826450}, {"name": "n", "value": 3},
                                   {"name": "token", "value": ["Tr0ub4dor3"]}]
    e["request"]["postData"]["params"] = [{"name": "pin", "value": 4821}]
    scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har")
    request = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["request"]
    assert request["headers"][-3:] == [{"name": "Authorization", "value": [REDACTED]},
                                       {"name": "X-Api-Key", "value": REDACTED}, {"name": "Accept", "value": None}]
    assert request["queryString"] == [{"name": "password", "value": REDACTED}, {"name": "n", "value": 3},
                                      {"name": "token", "value": [REDACTED]}]
    assert request["postData"]["params"] == [{"name": "pin", "value": REDACTED}]


def test_a_har_body_given_as_an_object_is_scrubbed_as_the_json_the_reader_takes_it_for(tmp_path):
    """The HAR reader takes a `content.text` that is an object as its JSON (a device response too): the copy had
    it as it was."""
    night = {"date": "2017-03-02", "events": [], "session_token": "Zk3aB9xQ1mN7pL2vR8tYwQ4eHn5",
             "client": {"password": "Tr0ub4dor&3"}}
    e = entry("https://api.example.com/v1/me", None)
    e["response"]["content"]["text"] = night
    scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har")
    copy = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["response"]["content"]["text"]
    assert copy == night | {"session_token": REDACTED, "client": {"password": REDACTED}}


def test_har_headers_cookies_and_parameters_given_as_objects_or_text_are_scrubbed(tmp_path):
    """The HAR reader takes headers given as an object of names and values as their pairs: the copy had them, and
    cookies, query and form parameters so given, as they were."""
    e = entry("https://x.example.com/a", {"ok": 1}, method="POST", post="a=1")
    e["request"]["headers"] = {"Authorization": "Bearer Zk3aB9xQ1mN7pL2vR8tYwQ4e", "Accept": "*/*"}
    e["request"]["cookies"] = {"sid": "Tr0ub4dor-1"}
    e["request"]["queryString"] = {"token": "Tr0ub4dor-2", "n": "3"}
    e["request"]["postData"]["params"] = {"password": "Tr0ub4dor-3"}
    e["response"]["headers"] = "Set-Cookie: sid=Tr0ub4dor-4"
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    copy = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]
    request = copy["request"]
    assert request["headers"] == [{"name": "Authorization", "value": f"Bearer {REDACTED}"},
                                  {"name": "Accept", "value": "*/*"}]
    assert request["cookies"] == [{"name": "sid", "value": REDACTED}]
    assert request["queryString"] == [{"name": "token", "value": REDACTED}, {"name": "n", "value": "3"}]
    assert request["postData"]["params"] == [{"name": "password", "value": REDACTED}]
    assert copy["response"]["headers"] == REDACTED


def test_a_har_entry_that_is_no_object_is_copied_with_every_leaf_replaced(tmp_path):
    har = {"log": {"version": "1.2", "entries": ["GET https://x.example.com/?access_token=Tr0ub4dor-1",
                                                 ["Authorization", "Tr0ub4dor-2"], 7]}}
    (tmp_path / "in.har").write_text(json.dumps(har))
    assert scrub_capture(tmp_path / "in.har", tmp_path / "out.har").entries == 3
    assert json.loads((tmp_path / "out.har").read_text())["log"]["entries"] == [REDACTED, [REDACTED, REDACTED],
                                                                                REDACTED]


def test_har_url_method_and_body_fields_of_another_type_are_replaced(tmp_path):
    e = entry("https://x.example.com/a", {"ok": 1})
    e["request"]["url"] = ["https://bob:Tr0ub4dor-1@x.example.com/?token=Tr0ub4dor-2"]
    e["request"]["method"] = ["GET", "Tr0ub4dor-3"]
    e["response"]["redirectURL"] = {"to": "https://x.example.com/?access_token=Tr0ub4dor-4"}
    e["request"]["postData"] = "password=Tr0ub4dor-5"
    e["response"]["content"] = '{"access_token": "Tr0ub4dor-6"}'
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    copy = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]
    assert (copy["request"]["url"], copy["request"]["method"], copy["response"]["redirectURL"]) == (
        [REDACTED], [REDACTED, REDACTED], {"to": REDACTED})
    assert (copy["request"]["postData"], copy["response"]["content"]) == (REDACTED, REDACTED)


def test_har_fields_that_hold_a_word_lose_a_credential_put_there(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    e = entry("https://x.example.com/a", {"ok": 1})
    e["request"]["httpVersion"] = f"HTTP/1.1 {token}"
    e["response"]["httpVersion"] = "HTTP/2"
    e["response"]["content"]["mimeType"] = f"application/json; t={token}"
    scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har")
    copy = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]
    assert (copy["request"]["httpVersion"], copy["response"]["httpVersion"]) == (REDACTED, "HTTP/2")
    assert copy["response"]["content"]["mimeType"] == f"application/json; t={REDACTED}"


def test_a_multipart_file_name_cookie_attributes_sizes_and_status_lose_a_credential_put_there(tmp_path):
    """HAR fields the scrubber took as harmless and copied as they were: a postData parameter's fileName and
    contentType (a multipart part's), a cookie's path, domain, expires and flags, the sizes and the status; plain ones
    stay."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    e = entry("https://x.example.com/upload", {"ok": 1}, method="POST")
    e["request"]["postData"] = {"mimeType": "multipart/form-data", "size": "pw=Tr0ub4dor-1", "params": [
        {"name": "photo", "fileName": "password=Tr0ub4dor-2.txt", "contentType": f"image/png; t={token}",
         "value": "x"},
        {"name": "scan", "fileName": "scan.png", "contentType": "image/png", "value": "y"}]}
    e["request"]["cookies"] = [{"name": "sid", "value": "s", "path": f"/reset/{token}", "domain": "pin=Tr0ub4dor-3",
                                "expires": f"Bearer {token}", "httpOnly": True, "sameSite": "Lax"}]
    e["request"]["headersSize"], e["request"]["bodySize"] = f"Bearer {token}", "password=Tr0ub4dor-4"
    e["response"]["status"], e["response"]["headersSize"] = "password=Tr0ub4dor-5", token
    e["response"]["content"]["size"] = f"token={token}"
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    text = (tmp_path / "out.har").read_text()
    assert "Tr0ub4dor" not in text and token[:24] not in text
    copy = json.loads(text)["log"]["entries"][0]
    assert [(p["fileName"], p["contentType"]) for p in copy["request"]["postData"]["params"]] == [
        (REDACTED, REDACTED), ("scan.png", "image/png")]
    assert (copy["request"]["cookies"][0]["httpOnly"], copy["request"]["cookies"][0]["sameSite"]) == (True, "Lax")


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_is_copied_as_a_zip_of_its_scrubbed_captures_leaving_out_what_is_no_capture(tmp_path, kind):
    import tarfile
    import zipfile

    from typer.testing import CliRunner

    from converters.cli import app

    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    har = write_har(tmp_path / "sync.har", [entry(BAND_EVENTS_URL + f"&access_token={token}", band_event())])
    (tmp_path / "notes.txt").write_text(f"password={token}")
    archive = tmp_path / f"study.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as z:
            z.write(har, "p07/sync.har")
            z.write(tmp_path / "notes.txt", "p07/notes.txt")
    else:
        with tarfile.open(archive, "w:gz") as t:
            t.add(har, "p07/sync.har")
            t.add(tmp_path / "notes.txt", "p07/notes.txt")
    result = CliRunner().invoke(app, ["scrub", str(archive), "-o", f"{tmp_path}/shared/"])
    assert result.exit_code == 1 and result.stderr.startswith(
        f"databack: {archive}: partial: 1 of 2 members not copied whole: p07/notes.txt (not a HAR file")
    with zipfile.ZipFile(tmp_path / "shared" / "study.zip") as z:
        assert z.namelist() == ["p07/sync.har"]
        (tmp_path / "copy.har").write_bytes(z.read("p07/sync.har"))
    assert token not in (tmp_path / "copy.har").read_text()
    events = [conversion(path, "sync.har")[0]["band_events"][0].to_dicts() for path in (har, tmp_path / "copy.har")]
    assert events[0] == events[1] and len(events[0]) == 1


def test_a_tar_member_whose_name_is_not_utf8_is_copied_under_the_name_convert_gives_it(tmp_path):
    """tarfile holds such a name's bytes as surrogates, which a zip's names cannot hold: the copy died with a
    traceback (UnicodeEncodeError), nothing written."""
    import tarfile
    import zipfile

    har = write_har(tmp_path / "sync.har", [entry(BAND_EVENTS_URL, band_event())])
    archive = tmp_path / "study.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as t:
        t.add(har, "p\udcff/sync.har")  # the bytes p 0xFF /sync.har
    report = scrub_capture(archive, tmp_path / "copy.zip")
    assert report.status == "ok" and report.entries == 1
    with zipfile.ZipFile(tmp_path / "copy.zip") as z:
        assert z.namelist() == ["p\\xff/sync.har"]
    from converters.pipeline import collect_inputs

    assert [i.name for i in collect_inputs([archive])] == [f"{archive}/p\\xff/sync.har"]


def test_a_credential_in_an_archive_member_name_is_not_copied_into_the_scrubbed_archive(tmp_path):
    """A member's name is captured text: a copy named after its session token or sign-in form kept them."""
    import zipfile

    har = write_har(tmp_path / "sync.har", [entry(BAND_EVENTS_URL, band_event())])
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(har, "p07/sync_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg.har")
        z.write(har, "p07/sync password=Hunter2Zq9x.har")
    report = scrub_capture(archive, tmp_path / "copy.zip")
    assert report.status == "ok" and report.entries == 2
    with zipfile.ZipFile(tmp_path / "copy.zip") as z:
        assert z.namelist() == ["p07/sync_REDACTED.har", "p07/sync password=REDACTED.har"]


def test_a_lone_surrogate_is_copied_as_the_converter_reads_it(tmp_path):
    from builders import BAND_EVENTS_URL, band_event, entry

    har = {"log": {"entries": [entry(BAND_EVENTS_URL, band_event(), response_headers={"Date": "@S@"})]}}
    path = tmp_path / "s.har"
    path.write_text(json.dumps(har).replace('"@S@"', '"a\\udc80"'))
    report = scrub_capture(path, tmp_path / "copy.har")
    assert report.status == "ok" and report.entries == 1
    copy = json.loads((tmp_path / "copy.har").read_text())
    assert copy["log"]["entries"][0]["response"]["headers"][0]["value"] == "a\ufffd"


@pytest.mark.parametrize("number", ["1" + "0" * 400, "2e999", str(2**70)])
def test_a_number_the_parser_cannot_hold_is_copied_as_the_converter_reads_it(tmp_path, number):
    from builders import BAND_EVENTS_URL, band_event, entry

    entries = [entry(BAND_EVENTS_URL, band_event(str(i))) for i in range(3)]
    entries[1]["time"] = "@N@"
    entries[2]["response"]["content"]["comment"] = "1" * 30  # digits in a string stay as they are
    path = tmp_path / "n.har"
    path.write_text(json.dumps({"log": {"entries": entries}}).replace('"@N@"', number))
    report = scrub_capture(path, tmp_path / "copy.har")
    assert (report.status, report.entries) == ("ok", 3)
    copy = json.loads((tmp_path / "copy.har").read_text())["log"]["entries"]
    assert copy[1]["time"] == (float(2**70) if number == str(2**70) else None)
    assert copy[2]["response"]["content"]["comment"] == "1" * 30


def test_url_headers_of_a_device_call_lose_random_tokens_in_their_query_as_its_url_does(tmp_path):
    """A device data route's path is judged by unambiguous shapes only (its ids are data), its query in full: but
    Referer, Location, Content-Location and Link were judged wholly as the path, so a random token under a neutral
    name (`?t=…`, `#t=…`) stayed in the copy of a Band or Sense call, where the same URL elsewhere lost it."""
    token = "qMnzDMDSmJLlZrlXQficbBc44P9wWDJ"
    e = entry(BAND_EVENTS_URL, band_event(),
              request_headers={"Referer": f"https://app.example.com/cb?t={token}1"},
              response_headers={"Location": f"https://app.example.com/cb#t={token}2",
                                "Link": f"<https://api.example.com/y?c={token}3>; rel=next",
                                "Content-Location": f"/v1/Events?s={token}4"})
    src = write_har(tmp_path / "in.har", [e])
    assert scrub_capture(src, tmp_path / "out.har").status == "ok"
    copy = (tmp_path / "out.har").read_text()
    assert token not in copy and copy.count(f"={REDACTED}") == 4
    assert conversion(tmp_path / "out.har", "x")[0]["band_events"].equals(conversion(src, "x")[0]["band_events"])


def test_a_set_cookie_attributes_path_and_comment_lose_the_credentials_they_hold(tmp_path):
    """Set-Cookie's attributes were kept as they were (Path, Domain, Expires… are no secrets): but a Path holds a
    URL's path (`/u/<session id>`, `/reset/password/<token>`) and a Comment free text (`token=…`), which kept their
    credentials in the copy. Path and CommentURL are judged as a URL's path, Comment and Domain as text; dates and
    flags stay."""
    token = "qMnzDMDSmJLlZrlXQficbBc44P9wWDJ"
    header = (f"a=1; Path=/u/{token}1; Comment=token={token}2; Domain=example.com, "
              f"b=2; path=/reset/password/{token}3; Expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly")
    e = entry("https://api.example.com/v1/x", {"ok": 1}, response_headers={"Set-Cookie": header})
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    (kept,) = [h["value"] for h in json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["response"][
        "headers"] if h["name"] == "Set-Cookie"]
    assert kept == (f"a={REDACTED}; Path=/u/{REDACTED}; Comment=token={REDACTED}; Domain=example.com, "
                    f"b={REDACTED}; path=/reset/password/{REDACTED}; Expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly")


@pytest.mark.parametrize("coding", ["br", "deflate", "zstd", "deflate, br"])
def test_a_har_body_kept_compressed_as_sent_is_read_and_scrubbed_as_what_it_holds(tmp_path, coding):
    """Fiddler and Charles can keep a body as sent: base64 of its br, deflate or zstd bytes with its Content-Encoding.
    The HAR reader undid gzip alone, so such a Band event was a reject and a Sense night's password stayed in
    `rejects.body` (compressed, base64) and in the scrubbed copy. Such a body is decoded per its Content-Encoding
    (text a tool decoded already, keeping the header, is left as it is) and the copy compresses it again."""
    from mitmproxy.net import encoding

    def sent(body: bytes) -> str:
        for c in coding.split(", "):
            body = encoding.encode(body, c)
        return base64.b64encode(body).decode()

    night = {"score": 80, "message": "ok", "date": "2017-03-05", "events": {"bad": True}, "password": "Tr0ub4dor-z1"}
    entries = [entry(BAND_EVENTS_URL, None, response_headers={"Content-Encoding": coding}),
               entry("https://api.hello.is/v2/timeline/2017-03-05", None, response_headers={"Content-Encoding": coding}),
               entry("https://api.hello.is/v2/timeline/2017-03-06", night | {"date": "2017-03-06"},
                     response_headers={"Content-Encoding": coding})]  # decoded already, the header kept
    for e, body in zip(entries[:2], (band_event(), night)):
        e["response"]["content"].update(text=sent(json.dumps(body).encode()), encoding="base64")
    src = write_har(tmp_path / "in.har", entries)
    tables, _ = conversion(src, "in.har")
    assert len(tables["band_events"]) == 1 and len(tables["rejects"]) == 2
    assert all("Tr0ub4dor" not in r["body"] and '"password":"REDACTED"' in r["body"].replace(" ", "")
               for r in tables["rejects"].to_dicts())
    assert scrub_capture(src, tmp_path / "out.har").status == "ok"
    copy = json.loads((tmp_path / "out.har").read_text())["log"]["entries"]
    held = [json.loads(read_capture_body(e, coding)) for e in copy[:2]]
    assert held[0] == band_event() and held[1] == night | {"password": REDACTED}
    assert conversion(tmp_path / "out.har", "in.har")[0]["rejects"].equals(tables["rejects"])


def read_capture_body(har_entry: dict, coding: str) -> bytes:
    from mitmproxy.net import encoding

    body = base64.b64decode(har_entry["response"]["content"]["text"])
    for c in reversed(coding.split(", ")):
        body = encoding.decode(body, c)
    return body


def test_a_name_that_holds_a_credential_loses_it_in_headers_parameters_and_cookies(tmp_path):
    """A header's, query parameter's or cookie's name was replaced only when it was a token whole: a tool that writes
    a whole header line as its name (`Authorization: Bearer …`), `?token:…` (no `=`) and a cookie named `sid=…`
    kept the credential in the copy. Such a name loses what it holds as any text does; names stay otherwise."""
    e = entry("https://api.example.com/v1/x", {"ok": 1})
    e["request"]["headers"] += [{"name": "Authorization: Bearer Tr0ub4dor-h1", "value": ""},
                                {"name": "password=Tr0ub4dor-h2", "value": "1"}, {"name": "X-Request-Id", "value": "7"}]
    e["request"]["queryString"] = [{"name": "token:Tr0ub4dor-h3", "value": ""}, {"name": "lang", "value": "en"}]
    e["request"]["cookies"] = [{"name": "sid=Tr0ub4dor-h4", "value": ""}]
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    assert "Tr0ub4dor" not in (tmp_path / "out.har").read_text()
    request = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["request"]
    assert [h["name"] for h in request["headers"]] == ["Authorization: REDACTED REDACTED", "password=REDACTED",
                                                       "X-Request-Id"]
    assert [q["name"] for q in request["queryString"]] == ["token:REDACTED", "lang"]
    flow = tflow.tflow(resp=True)
    flow.request.headers.fields = ((b"X-Auth-Token: Tr0ub4dor-h5", b""), (b"Accept", b"*/*"))
    assert scrubbed_flow(tmp_path, flow).request.headers.fields == ((b"X-Auth-Token: REDACTED", b""),
                                                                     (b"Accept", b"*/*"))


def _inflated(data: bytes) -> bytes:
    """`data` gunzipped or inflated where it is compressed (a gzip or zlib stream), else as it is."""
    import zlib

    try:
        return zlib.decompress(data, 47)
    except zlib.error:
        return data


@pytest.mark.parametrize("encoding", [None, "identity", "x-custom", "compress", "br"])
@pytest.mark.parametrize("compressed", ["gzip", "zlib"])
def test_a_compressed_body_that_no_content_encoding_decodes_loses_its_credentials(tmp_path, encoding, compressed):
    """A body of gzip or zlib data whose Content-Encoding is missing (a header stripped), `identity`, or one that
    fails to decode it was read by the policy as binary data (runs of printable characters), in which compressed
    text shows nothing: the password stayed, compressed, in the rejected body (base64) and in the scrubbed copy.
    Such a body is decompressed within the body limits, redacted as what it holds and compressed again."""
    import zlib

    night = {"score": 80, "date": "2017-03-05", "events": "oops", "account": {"password": "Tr0ub4dor-zq1"}}
    body = json.dumps(night).encode()
    flow = tflow.tflow(resp=True)
    flow.request.host, flow.request.path = "api.hello.is", "/v2/timeline/2017-03-05"
    flow.response.headers.clear()
    flow.response.headers["Content-Type"] = "application/json"
    if encoding:
        flow.response.headers["Content-Encoding"] = encoding
    flow.response.raw_content = gzip.compress(body) if compressed == "gzip" else zlib.compress(body)
    with (tmp_path / "in.flow").open("wb") as f:
        mitmio.FlowWriter(f).add(flow)
    (reject,) = convert([Input(tmp_path / "in.flow", "in.flow", True)]).tables["rejects"].to_dicts()
    kept = base64.b64decode(reject["body"]) if reject["body_encoding"] == "base64" else (reject["body"] or "").encode()
    assert b"Tr0ub4dor" not in _inflated(kept)
    assert scrub_capture(tmp_path / "in.flow", tmp_path / "out.flow").status == "ok"
    with (tmp_path / "out.flow").open("rb") as f:
        (copy,) = list(mitmio.FlowReader(f).stream())
    assert json.loads(_inflated(copy.response.raw_content)) == night | {"account": {"password": REDACTED}}


def _mqtt_connect(user: bytes, password: bytes) -> bytes:
    """An MQTT 3.1.1 CONNECT packet with a client id, a username and a password."""
    def field(b: bytes) -> bytes:
        return len(b).to_bytes(2, "big") + b

    body = field(b"MQTT") + b"\x04\xc2\x00\x3c" + field(b"sense-42") + field(user) + field(password)
    return b"\x10" + bytes([len(body)]) + body


LOGINS = [  # (a message a client sends, the parts of it that must stay)
    (b"USER alice\r\nPASS Tr0ub4dor-f1\r\n", [b"USER alice\r\n", b"PASS "]),
    (b"a1 LOGIN alice Tr0ub4dor-i1\r\n", [b"a1 LOGIN alice "]),
    (b"AUTH PLAIN AGFsaWNlAFRyMHViNGRvcg==\r\n", [b"AUTH PLAIN "]),  # (base64 of \0alice\0Tr0ub4dor)
    (b"AUTH LOGIN\r\n", [b"AUTH LOGIN\r\n"]),
    (b"*2\r\n$4\r\nAUTH\r\n$12\r\nTr0ub4dor-r1\r\n*1\r\n$4\r\nPING\r\n", [b"*2\r\n$4\r\nAUTH\r\n$8\r\n", b"$4\r\nPING"]),
    (_mqtt_connect(b"alice", b"Tr0ub4dor-m1") + b"\x30\x05\x00\x01ahi", [b"MQTT", b"sense-42", b"\x05alice", b"0\x05\x00\x01ahi"]),
]


@pytest.mark.parametrize(("message", "kept"), LOGINS)
def test_a_login_protocols_credential_in_a_tcp_or_websocket_message_is_scrubbed(tmp_path, message, kept):
    """FTP and POP3's `PASS …`, IMAP's `LOGIN user …`, SMTP's `AUTH PLAIN …`, Redis' `AUTH` (RESP) and an MQTT
    CONNECT packet's password are labelled by no name=value pair, and short: a raw TCP flow's or a WebSocket's
    messages kept them in the scrubbed copy (flow and HAR). The commands keep their shape (an MQTT packet its
    lengths), the credential is `REDACTED`."""
    flow = tflow.ttcpflow()
    flow.messages = [tcp.TCPMessage(True, message, 1488554800.0)]
    with (tmp_path / "in.flow").open("wb") as f:
        mitmio.FlowWriter(f).add(flow)
    assert scrub_capture(tmp_path / "in.flow", tmp_path / "out.flow").status == "ok"
    with (tmp_path / "out.flow").open("rb") as f:
        (copy,) = list(mitmio.FlowReader(f).stream())
    scrubbed = copy.messages[0].content
    assert b"Tr0ub4dor" not in scrubbed and b"AGFsaWNl" not in scrubbed and all(k in scrubbed for k in kept)
    if message.startswith(b"\x10"):  # the packet's remaining length is its length again
        assert scrubbed[1] == scrubbed.index(b"0\x05") - 2
    e = entry("https://rt.dreamy.test/socket", None, status=101)
    binary = message.startswith(b"\x10")
    e["_webSocketMessages"] = [{"type": "send", "time": 1.0, "opcode": 2 if binary else 1,
                                "data": base64.b64encode(message).decode() if binary else message.decode()}]
    write_har(tmp_path / "in.har", [e])
    assert scrub_capture(tmp_path / "in.har", tmp_path / "out.har").status == "ok"
    (data,) = (m["data"] for m in json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0][
        "_webSocketMessages"])
    data = base64.b64decode(data) if binary and data != REDACTED else data.encode()
    assert b"Tr0ub4dor" not in data and b"AGFsaWNl" not in data


@pytest.mark.parametrize("inner", ["deflate", "raw deflate", "br"])
def test_a_har_body_gzipped_over_the_coding_its_header_names_is_scrubbed_as_what_it_holds(tmp_path, inner):
    """A tool can gzip a body kept as sent over the server's coding (base64 of gzip over deflate or br, the header
    saying deflate or br). The reader gunzips it and decodes it per the header; scrub gunzipped it and redacted the
    deflate or br bytes as binary, so a Sense night's password stayed in the copy. The copy now holds what the
    reader reads, scrubbed, and coded again as it was sent."""
    import gzip
    import zlib

    from mitmproxy.net import encoding

    night = {"score": 80, "message": "ok", "date": "2017-03-05", "events": {"bad": True}, "password": "Tr0ub4dor-g1"}
    body = json.dumps(night).encode()
    if inner == "raw deflate":  # what IIS sent as deflate: no zlib header
        coder = zlib.compressobj(wbits=-15)
        coded, header = coder.compress(body) + coder.flush(), "deflate"
    else:
        coded, header = encoding.encode(body, inner), inner
    e = entry("https://api.hello.is/v2/timeline/2017-03-05", None, response_headers={"Content-Encoding": header})
    e["response"]["content"].update(text=base64.b64encode(gzip.compress(coded)).decode(), encoding="base64")
    src = write_har(tmp_path / "in.har", [e])
    tables, _ = conversion(src, "in.har")
    assert len(tables["rejects"]) == 1 and "Tr0ub4dor" not in tables["rejects"]["body"][0]
    assert scrub_capture(src, tmp_path / "out.har").status == "ok"
    (kept,) = json.loads((tmp_path / "out.har").read_text())["log"]["entries"]
    held = encoding.decode(gzip.decompress(base64.b64decode(kept["response"]["content"]["text"])), header)
    assert json.loads(held) == night | {"password": REDACTED}
    assert conversion(tmp_path / "out.har", "in.har")[0]["rejects"].equals(tables["rejects"])


def _readable(data: bytes) -> bytes:
    """What compressed `data` holds as anyone can get it out: gzip and zlib read as the raw deflate after their
    header (a wrong checksum unread, a stream cut off up to where it ends), bzip2 and xz; other data as it is."""
    import bz2
    import lzma
    import zlib

    raw = data[10:] if data[:2] == b"\x1f\x8b" else data[2:] if data[:1] == b"\x78" else None
    if raw is not None:
        try:
            return zlib.decompressobj(-15).decompress(raw)
        except zlib.error:
            return data
    for decompressor in (bz2.BZ2Decompressor(), lzma.LZMADecompressor()):
        try:
            return decompressor.decompress(data)
        except (OSError, lzma.LZMAError):
            pass
    return data


def _damaged(data: bytes) -> bytes:
    """A gzip or zlib stream with a wrong checksum (gzip's CRC-32, before its size; zlib's Adler-32) zeroed."""
    return data[:-8] + bytes(4) + data[-4:] if data[:2] == b"\x1f\x8b" else data[:-4] + bytes(4)


COMPRESSIONS = {  # how a body is sent: its data, its Content-Encoding in a flow
    "bzip2": (lambda b: __import__("bz2").compress(b), None),
    "xz": (lambda b: __import__("lzma").compress(b), None),
    "gzip-wrong-checksum": (lambda b: _damaged(gzip.compress(b)), None),
    "gzip-wrong-checksum-as-its-encoding": (lambda b: _damaged(gzip.compress(b)), "gzip"),
    "zlib-wrong-checksum": (lambda b: _damaged(__import__("zlib").compress(b)), None),
    "deflate-wrong-checksum-as-its-encoding": (lambda b: _damaged(__import__("zlib").compress(b)), "deflate"),
    "gzip-cut-off": (lambda b: gzip.compress(b)[:-40], None),
}


@pytest.mark.parametrize("capture", ["flow", "har"])
@pytest.mark.parametrize("sent", COMPRESSIONS)
def test_a_bzip2_xz_or_damaged_compressed_body_keeps_no_credential(tmp_path, sent, capture):
    """bzip2 and xz data under no Content-Encoding were not told by their magic bytes, and a gzip or zlib stream whose
    checksum is wrong (or, in a HAR, cut off) did not decompress, so the policy read each as binary, its printable
    runs showing nothing: the password stayed, compressed, in the rejected body (base64) and the scrubbed copy, where
    anyone decompressing it (a damaged stream up to where it breaks) reads it. Such a body is read as what it holds:
    bzip2 and xz redacted and compressed again, a damaged stream whose readable part holds a credential replaced
    whole."""
    compress, encoding = COMPRESSIONS[sent]
    night = {"score": 80, "date": "2017-03-05", "events": "oops", "account": {"password": "Tr0ub4dor-zq2"},
             "pad": [{"message": "Asleep", "sleep_depth": i} for i in range(40)]}
    data = compress(json.dumps(night).encode())
    assert b"Tr0ub4dor" in _readable(data) and b"Tr0ub4dor" not in data
    src = _sense_night_capture(tmp_path, capture, data, encoding, {"Content-Type": "application/json"})
    (reject,) = convert([Input(src, src.name, True)]).tables["rejects"].to_dicts()
    kept = base64.b64decode(reject["body"]) if reject["body_encoding"] == "base64" else (reject["body"] or "").encode()
    assert b"Tr0ub4dor" not in _readable(kept)
    assert scrub_capture(src, tmp_path / f"out.{capture}").status == "ok"
    if capture == "flow":
        with (tmp_path / "out.flow").open("rb") as f:
            (copy,) = list(mitmio.FlowReader(f).stream())
        scrubbed = copy.response.raw_content
    else:
        content = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["response"]["content"]
        scrubbed = base64.b64decode(content["text"]) if content.get("encoding") == "base64" else content["text"].encode()
    assert b"Tr0ub4dor" not in _readable(scrubbed)
    if sent in ("bzip2", "xz"):  # compressed again as it was, the rest of it kept
        assert json.loads(_readable(scrubbed)) == night | {"account": {"password": REDACTED}}


def _sense_night_capture(tmp_path: Path, capture: str, data: bytes, encoding: str | None,
                         headers: dict[str, str] | None = None) -> Path:
    """`in.flow` or `in.har`: one Sense night answered with `data` (as sent, under `encoding` and `headers`)."""
    if capture == "flow":
        flow = tflow.tflow(resp=True)
        flow.request.host, flow.request.path = "api.hello.is", "/v2/timeline/2017-03-05"
        flow.response.headers.clear()
        for name, value in {**(headers or {}), **({"Content-Encoding": encoding} if encoding else {})}.items():
            flow.response.headers[name] = value
        flow.response.raw_content = data
        with (tmp_path / "in.flow").open("wb") as f:
            mitmio.FlowWriter(f).add(flow)
    else:
        e = entry("https://api.hello.is/v2/timeline/2017-03-05")
        e["response"]["content"] |= {"text": base64.b64encode(data).decode(), "encoding": "base64"}
        write_har(tmp_path / "in.har", [e])
    return tmp_path / f"in.{capture}"


@pytest.mark.parametrize("capture", ["flow", "har"])
@pytest.mark.parametrize("sent", [s for s in COMPRESSIONS if s not in ("bzip2", "xz")])
def test_a_damaged_compressed_bodys_scrubbed_copy_converts_to_the_same_reject(tmp_path, sent, capture):
    """A gzip or zlib body whose checksum is wrong, or cut off, is scrubbed into one that reads as it did: its
    checksum as wrong (compressed again with the checksum it came with), a cut-off one cut off, so the copy's
    reject has the original's reason (`could not decode gzip body: … incorrect data check`, `not JSON`), not that of
    a body replaced whole or made sound."""
    compress, encoding = COMPRESSIONS[sent]
    night = {"score": 80, "date": "2017-03-05", "events": "oops", "account": {"password": "Tr0ub4dor-zq3"},
             "pad": [{"message": "Asleep", "sleep_depth": i} for i in range(40)]}
    data = compress(json.dumps(night).encode())
    src, copy = _sense_night_capture(tmp_path, capture, data, encoding), tmp_path / f"out.{capture}"
    assert scrub_capture(src, copy).status == "ok"
    reasons = [[r["reason"] for r in convert([Input(p, "in", True)]).tables["rejects"].to_dicts()] for p in (src, copy)]
    assert reasons[0] == reasons[1]


@pytest.mark.parametrize("data", [
    b"\x00\x01" + json.dumps({"password": "Tr0ub4dor-wb1", "pad": "a" * 300}).encode(),
    b"\x08\x01" + b"sync " * 40 + b"api_key=Tr0ub4dor-wb2 " + b"done " * 40,
    gzip.compress(b"sync " * 40 + b"password=Tr0ub4dor-wb3 " + b"done " * 40),
])
def test_a_har_websocket_binary_messages_credentials_are_scrubbed_as_a_flows_are(tmp_path, data):
    """Chrome's `_webSocketMessages` keep a binary message (opcode 2) as base64: scrub read it only for login
    protocols and then judged its base64 text as free text, which hides what it holds, so a JSON document, a pair or
    compressed data in it kept its credential (a flow's binary message is scrubbed as a body). It is read as a flow's
    is."""
    e = entry("https://rt.example.com/socket", None, status=101)
    e["_webSocketMessages"] = [{"type": "send", "time": 1.0, "opcode": 2, "data": base64.b64encode(data).decode()}]
    assert scrub_capture(write_har(tmp_path / "in.har", [e]), tmp_path / "out.har").status == "ok"
    (message,) = json.loads((tmp_path / "out.har").read_text())["log"]["entries"][0]["_webSocketMessages"]
    kept = base64.b64decode(message["data"])
    assert b"Tr0ub4dor" not in _readable(kept) and b"Tr0ub4dor" not in kept


def test_a_flows_method_http_versions_and_server_names_lose_the_credentials_they_hold(tmp_path):
    """A HAR's method and HTTP versions are words the policy judges (a credential in one: replaced whole), but a
    flow's were copied as captured: a status line `HTTP/1.1 token=…` (what a hostile peer sends is kept as sent),
    a method of `GET password=…`, a TLS server name holding one stayed in the scrubbed copy."""
    flow = tflow.tflow(resp=True)
    flow.request.method = "GET password=Tr0ub4dor3-m"
    flow.request.http_version = "HTTP/1.1 token=Tr0ub4dor3-v"
    flow.response.http_version = "HTTP/1.1 token=Tr0ub4dor3-w"
    flow.client_conn.sni = "token=Tr0ub4dor3-c.example.com"
    flow.server_conn.sni = "token=Tr0ub4dor3-s.example.com"
    copy = scrubbed_flow(tmp_path, flow)
    assert (copy.request.method, copy.request.http_version, copy.response.http_version) == (REDACTED,) * 3
    assert (copy.client_conn.sni, copy.server_conn.sni) == (REDACTED,) * 2
    plain = scrubbed_flow(tmp_path, tflow.tflow(resp=True))
    assert (plain.request.method, plain.request.http_version, plain.client_conn.sni) == ("GET", "HTTP/1.1",
                                                                                        tflow.tflow().client_conn.sni)


@pytest.mark.parametrize("capture", ["har", "flow"])
def test_a_scrubbed_device_response_keeps_what_its_tables_keep_and_converts_to_the_same_tables(tmp_path, capture):
    """Tables judge a device's text STRICT (ids and random-looking text stay), but scrub judged a device's JSON body
    FULL, so a Sense choice's text that looks random (`0000011123456789ABab`) was kept in sense_question_choices and
    replaced in the scrubbed copy, which converted differently. A field the tables keep is judged as they judge it
    (a real secret there still goes); a field no table keeps as any body's."""
    token = "kQ8zT3xwLm2Rv9Bn4Yp7Hc"  # random-looking: FULL replaces it
    questions = [{"id": 7, "text": "Rate your sleep", "account_question_id": 12, "ask_time": "anytime",
                  "choices": [{"id": 0, "text": "0000011123456789ABab"}, {"id": 1, "text": "aZ9kQ2xW7pL4mN8vB3cR"},
                              {"id": 2, "text": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"},
                              {"id": 3, "text": "password=Tr0ub4dor-q7", "hint": token}]}]
    url = "https://api.hello.is/v1/questions?date=2017-03-14"
    if capture == "har":
        src = write_har(tmp_path / "q.har", [entry(url, questions)])
    else:
        flow = tflow.tflow(resp=True)
        flow.request = http.Request.make("GET", url, b"", {"Host": "api.hello.is"})
        flow.response = http.Response.make(200, json.dumps(questions).encode(), {"Content-Type": "application/json"})
        src = tmp_path / "q.flow"
        with src.open("wb") as f:
            mitmio.FlowWriter(f).add(flow)
    dst = tmp_path / f"copy{src.suffix}"
    assert scrub_capture(src, dst).status == "ok"
    (original, _), (scrubbed, _) = conversion(src, "q"), conversion(dst, "q")
    texts = original["sense_question_choices"]["text"].to_list()
    assert texts == ["0000011123456789ABab", "aZ9kQ2xW7pL4mN8vB3cR", REDACTED, f"password={REDACTED}"]
    assert {t: df.to_dicts() for t, df in scrubbed.items()} == {t: df.to_dicts() for t, df in original.items()}
    copied = dst.read_bytes()
    assert token.encode() not in copied and b"Tr0ub4dor" not in copied and b"eyJhbGciOiJIUzI1NiJ9" not in copied


@pytest.mark.parametrize("given_as", ["latin-1", "utf-8 replaced", "tlv"])
def test_binary_posted_data_a_har_gives_as_text_loses_its_framed_credentials(tmp_path, given_as):
    """A HAR gives a binary request body (application/octet-stream, MessagePack) as `text`: its bytes as Latin-1
    characters, or with U+FFFD where UTF-8 reads none. Scrub read that text's UTF-8, whose bytes no longer frame the
    map (`\\xa8` is `\\xc2\\xa8`), so the password stayed in the copy. Such text is read as the bytes it stands for,
    and a credential's name, a few frame characters and a printable value as a pair, its length kept."""
    import msgpack

    secret = "Zq9Tr0ub4dor-x"
    packed = msgpack.packb({"user": "sleeper", "password": secret})
    text = {"latin-1": packed.decode("latin-1"), "utf-8 replaced": packed.decode("utf-8", "replace"),
            "tlv": "\x01\x04user\x02\x07sleeper\x01\x08passcode\x02" + chr(len(secret)) + secret}[given_as]
    e = entry("https://api.other.test/v1/upload", {"ok": 1}, method="POST", post="x")
    e["request"]["postData"] = {"mimeType": "application/octet-stream", "text": text}
    src = write_har(tmp_path / "a.har", [e])
    assert scrub_capture(src, tmp_path / "copy.har").status == "ok"
    copied = json.loads((tmp_path / "copy.har").read_text())["log"]["entries"][0]["request"]["postData"]["text"]
    assert secret not in copied and "sleeper" in copied and len(copied) == len(text)
