"""Property: a credential planted anywhere (random kind, random name spelling, random place, HAR or flow, beside
good device responses) reaches no output (tables, report, inspect) and no scrubbed copy, and the scrubbed copy
converts to the same device tables and rejects.

Examples: HYPOTHESIS_PROFILE=ci (default, 25), fuzz (FUZZ_EXAMPLES, 2500).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import string
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import orjson
import strategies as S
from conftest import REPO
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_secrets import capture_texts, leaks

from converters import inspect_captures, writers
from converters.pipeline import Input, convert
from converters.redaction import random_secret
from converters.scrub import scrub_capture

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 2500)) if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 25
property_settings = settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GENERIC_HOST = "api.example.com"
ALNUM = string.ascii_letters + string.digits

# Credential names as apps spell them; each is drawn in a random spelling (snake, kebab, camel, upper).
NAMES = ["password", "passwd", "new_password", "client_secret", "access_token", "refresh_token", "id_token",
         "auth_token", "session_token", "api_key", "x_api_key", "secret_key", "private_key", "subscription_key",
         "jwt", "sig", "signature", "code_verifier", "ppft", "pin", "otp", "authorization", "credentials",
         "sessionid", "jsessionid", "csrf_token", "security_token", "assertion", "saml_response", "secret", "pw",
         "user_pass", "pin_code", "new_pin", "otp_value", "security_answer"]


def spelled(name: str) -> st.SearchStrategy[str]:
    words = name.split("_")
    return st.sampled_from([
        name, "-".join(words), "".join(w.capitalize() for w in words),
        words[0] + "".join(w.capitalize() for w in words[1:]), name.upper(),
        "X-" + "-".join(w.capitalize() for w in words),
    ])


@st.composite
def shaped_secrets(draw) -> str:
    """A value that is a credential by its shape alone."""
    kind = draw(st.sampled_from(["jwt", "aws", "google", "github", "slack", "random", "bearer"]))
    if kind == "jwt":
        part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
        sub = draw(st.text(ALNUM, min_size=4, max_size=12))
        return f"{part({'alg': 'RS256'})}.{part({'sub': sub})}.{draw(st.text(ALNUM + '-_', min_size=20, max_size=60))}"
    if kind == "aws":
        return "AKIA" + draw(st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16))
    if kind == "google":
        return "AIza" + draw(st.text(ALNUM + "-_", min_size=35, max_size=35))
    if kind == "github":
        return "ghp_" + draw(st.text(ALNUM, min_size=36, max_size=36))
    if kind == "slack":
        team = draw(st.text(string.digits, min_size=10, max_size=12))
        return f"xoxb-{team}-" + draw(st.text(ALNUM, min_size=24, max_size=24))
    if kind == "bearer":
        value = st.text(ALNUM + "-._~+/", min_size=20, max_size=60).filter(lambda t: any(c.isdigit() for c in t))
        return "Bearer " + draw(value)
    return draw(st.text(ALNUM, min_size=24, max_size=64).filter(random_secret))


def named_secrets() -> st.SearchStrategy[str]:
    """A value that is a credential only by the name it is under: anything, even a plain word with a digit."""
    return st.text(ALNUM + "!#$%*+-./:=?@^_~", min_size=10, max_size=40).filter(
        lambda v: len(set(v)) >= 6 and any(c.isalpha() for c in v) and any(c.isdigit() for c in v))


PLACES = ["header", "named-query", "shaped-query", "cookie", "set-cookie", "userinfo", "shaped-path", "json-request",
          "json-other-response", "json-device-response", "json-rejected", "json-in-string", "form", "multipart",
          "shaped-generic-value", "shaped-text-body", "har-field", "flow-extra"]


@dataclass(frozen=True)
class Plant:
    place: str
    name: str
    value: str
    needle: str  # what must not be seen: the credential itself, without a scheme


@st.composite
def plants(draw) -> Plant:
    place = draw(st.sampled_from(PLACES))
    name = draw(spelled(draw(st.sampled_from(NAMES))))
    shaped = place.startswith("shaped") or place in ("userinfo",) or draw(st.booleans())
    value = draw(shaped_secrets() if shaped and place != "userinfo" else named_secrets())
    if place == "header":
        name = draw(st.text(string.ascii_letters + "-", min_size=3, max_size=20).map(lambda n: "X-" + n.strip("-")))
    needle = value.removeprefix("Bearer ")
    return Plant(place, name, value, needle)


def _night(extra: dict | None = None) -> dict:
    night = {"score": 80, "score_condition": "IDEAL", "message": "ok", "date": "2017-03-02",
             "events": [{"timestamp": 1488520800000, "timezone_offset": -28800000, "duration_millis": 60000,
                         "message": "Asleep", "sleep_depth": 50, "sleep_state": "SOUND", "event_type": "IN_BED"}],
             "metrics": [{"name": "total_sleep", "value": 400, "unit": "MINUTES", "condition": "IDEAL"}]}
    return night | (extra or {})


def planted_call(p: Plant, n: int) -> S.HttpCall:
    other = f"https://{GENERIC_HOST}/v1/things/{n}"
    json_headers = {"Content-Type": "application/json"}
    deep = {"outer": [{"inner": {p.name: p.value}}]}
    match p.place:
        case "header":
            return S.HttpCall("GET", other, 200, {p.name: p.value}, {}, None, b"{}")
        case "named-query":  # on a device data route, which converts all the same
            return S.HttpCall("GET", f"https://api.hello.is/v2/timeline/2017-03-0{n % 9 + 1}?{quote(p.name)}="
                              f"{quote(p.value, safe='')}", 200, {}, {}, None, orjson.dumps(_night()))
        case "shaped-query":  # under a neutral name: anywhere but a device data route, whose query is data
            return S.HttpCall("GET", f"https://api.hello.is/v9/unknown?q={quote(p.value, safe='')}", 200, {}, {},
                              None, b"{}")
        case "cookie":
            return S.HttpCall("GET", other, 200, {"Cookie": f"a=1; {p.name}={p.value}"}, {}, None, b"{}")
        case "set-cookie":
            return S.HttpCall("GET", other, 200, {}, {"Set-Cookie": f"x={p.value}; Path=/; HttpOnly"}, None, b"{}")
        case "userinfo":
            url = f"https://alice:{quote(p.value, safe='')}@{GENERIC_HOST}/v1/u"
            return S.HttpCall("GET", url, 200, {}, {}, None, b"{}")
        case "shaped-path":
            host = "api.hello.is" if n % 2 else GENERIC_HOST
            return S.HttpCall("GET", f"https://{host}/v1/share/{quote(p.value, safe='')}/items", 200, {}, {}, None,
                              b'{"items": []}')
        case "json-request":
            return S.HttpCall("POST", other, 200, json_headers, {}, orjson.dumps(deep), b"{}")
        case "json-other-response":
            return S.HttpCall("GET", other, 200, {}, json_headers, None, orjson.dumps(deep | {"ok": 1}))
        case "json-device-response":
            return S.HttpCall("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, {}, json_headers, None,
                              orjson.dumps(_night({"meta": deep})))
        case "json-rejected":
            return S.HttpCall("GET", "https://api.hello.is/v2/timeline/2017-03-03", 200, {}, json_headers, None,
                              orjson.dumps(_night({"events": "oops", "meta": deep})))
        case "json-in-string":
            return S.HttpCall("GET", "https://api.hello.is/v2/timeline/2017-03-04", 200, {}, json_headers, None,
                              orjson.dumps(_night({"events": "oops", "meta": json.dumps(deep)})))
        case "form":
            return S.HttpCall("POST", other, 200, {"Content-Type": "application/x-www-form-urlencoded"}, {},
                              f"user=a&{quote(p.name)}={quote(p.value, safe='')}".encode(), b"{}")
        case "multipart":
            body = f'--b0\r\nContent-Disposition: form-data; name="{p.name}"\r\n\r\n{p.value}\r\n--b0--\r\n'
            return S.HttpCall("POST", other, 200, {"Content-Type": "multipart/form-data; boundary=b0"}, {},
                              body.encode(), b"{}")
        case "shaped-generic-value":
            return S.HttpCall("GET", other, 200, {}, json_headers, None, orjson.dumps({"note": f"see {p.value} ok",
                                                                                      "link": p.value}))
        case "shaped-text-body":
            return S.HttpCall("GET", f"https://cdn.example.com/{n}.txt", 200, {}, {"Content-Type": "text/plain"}, None,
                              f"config:\n  value {p.value}\n".encode())
        case _:  # har-field, flow-extra: planted by `extras`
            return S.HttpCall("GET", other, 200, {}, {}, None, b"{}")


def har_bytes(calls: list[S.HttpCall], plants_: list[Plant]) -> bytes:
    entries = [S.har_entry(c) for c in calls]
    for i, p in enumerate(plants_):
        if p.place in ("har-field", "flow-extra"):
            url = f"https://app.example.com/a.js?{quote(p.name)}={quote(p.value, safe='')}"
            entries[i + 1]["_initiator"] = {"type": "script", "url": url}
            entries[i + 1]["comment"] = f"{p.name}={p.value}"
            message = {"type": "send", "opcode": 1, "data": json.dumps({p.name: p.value})}
            entries[i + 1]["_webSocketMessages"] = [message]
    return S.har_document(entries)


def flow_bytes(calls: list[S.HttpCall], plants_: list[Plant]) -> bytes:
    import io

    from mitmproxy import http, websocket
    from mitmproxy import io as mio

    buffer = io.BytesIO()
    writer = mio.FlowWriter(buffer)
    for i, call in enumerate(calls):
        flow = S.http_flow(call)
        flow.id = f"00000000-0000-4000-8000-{i:012d}"
        p = plants_[i - 1] if i else None
        if p is not None and p.place == "userinfo":
            flow.request.authority = f"alice:{quote(p.value, safe='')}@{GENERIC_HOST}"
        if p is not None and p.place in ("har-field", "flow-extra") and flow.response is not None:
            flow.response.trailers = http.Headers(((p.name.encode(), p.value.encode()),))
            flow.websocket = websocket.WebSocketData(messages=[
                websocket.WebSocketMessage(1, True, json.dumps({p.name: p.value}).encode(), 1.0)])
            flow.comment = f"{p.name}={p.value}"
        writer.add(flow)
    return buffer.getvalue()


@functools.cache
def own_words() -> str:
    """What databack may write of its own whatever the capture (column names, descriptions): its code and schemas.
    (Hypothesis draws strings from the code under test, and parts of them, as it generates.)"""
    files = [*(REPO / "converters").rglob("*.py"), *(REPO / "schemas").rglob("*.json")]
    return "\n".join(f.read_text() for f in sorted(files))


def device_tables(path: Path) -> tuple[dict, list]:
    result = convert([Input(path, "capture", True)])
    tables = {t: df.to_dicts() for t, df in result.tables.items() if not t.startswith("generic__")}
    return tables, [{k: v for k, v in f.as_dict().items() if k not in ("sha256", "size_bytes")} for f in result.files]


@property_settings
@given(device=S.device_calls(), planted=st.lists(plants(), min_size=1, max_size=4),
       fmt=st.sampled_from(["har", "flow"]))
def test_a_credential_planted_anywhere_reaches_no_output_and_no_scrubbed_copy(device, planted, fmt):
    good = S.HttpCall(device.method, device.url, 200, {}, {"Content-Type": "application/json"}, device.request_body,
                      device.response_body, device=device, kind="device")
    calls = [good, *(planted_call(p, n) for n, p in enumerate(planted))]
    raw = har_bytes(calls, planted) if fmt == "har" else flow_bytes(calls, planted)
    needles = tuple(p.needle for p in planted)
    assume(not leaks(needles, [device.response_body.decode("utf-8", "replace"), device.url]))  # data, not a plant
    assume(not leaks(needles, [own_words()]))  # databack's own (`ponse_sha2` of a column name), not a plant
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / f"planted.{fmt}"
        src.write_bytes(raw)
        assert set(leaks(needles, capture_texts(src))) == set(needles)  # planted where a reader sees it
        inputs = [replace(Input(src, src.name, True), generic=(GENERIC_HOST, "*.example.com"))]
        conversion = convert(inputs)
        report = writers.write(conversion, Path(d) / "out", "csv")
        inspection = inspect_captures.inspect(inputs)
        texts = [orjson.dumps(report).decode(), orjson.dumps(inspect_captures.as_dict(inspection)).decode(),
                 inspect_captures.render_table(inspection)]
        texts += [f.read_text(errors="replace") for f in (Path(d) / "out").rglob("*") if f.is_file()]
        assert leaks(needles, texts) == []
        copy = Path(d) / f"copy.{fmt}"
        assert scrub_capture(src, copy).status == "ok"
        assert leaks(needles, capture_texts(copy)) == []
        original = device_tables(src)
        assert all(original[0].get(table) for table, n in device.expected_rows.items() if n)  # the good response
        assert device_tables(copy) == original
