"""A fourth corpus of planted secrets, made apart from the first three (tests/secret_corpus*.py) by attacking the
policy where it reads structure: JSON keys that are text (a URL with userinfo), `[name, value]` lists and objects
labelled otherwise than `{name, value}`, bodies no JSON parser reads (UTF-16, Latin-1 bytes), JSON inside text,
CDATA, percent-encoded URLs, pairs inside other pairs' values, names ending in `auth`, Indic and Thai names; and
in flows, what mitmproxy keeps beside the exchange (an edited flow's backup, its mark, connection errors, a host
with userinfo from the Host header).

    python tests/secret_corpus_d.py DIR
"""

from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.dozer.test"
_RANDOM = random.Random(2121)


def token(n: int = 28) -> str:
    return "".join(_RANDOM.choice(string.ascii_letters + string.digits) for _ in range(n))


def pw(n: int) -> str:
    return f"Dz{n}pw-" + "".join(_RANDOM.choice(string.ascii_lowercase) for _ in range(6)) + str(_RANDOM.randint(100,
                                                                                                               999))


KINDS = {
    "json-key-text": "a URL with userinfo and a /cb?access_token=… link as JSON keys (rejected body, --generic)",
    "pair-lists": "[\"Authorization\", …] lists and {header|id|type|k: name, value|v: …} objects in JSON",
    "xml-cdata": "<Password><![CDATA[…]]></Password> in a JSON string of a rejected body and a --generic one",
    "percent-encoded": "a percent-encoded URL with a token, and a multipart filename*= with token=…",
    "nested-pairs": "href=\"/reset?token=…\" in a page, config = \"password=…\", 'password' => '…'",
    "wide-body": "a rejected Sense night in UTF-16 (a BOM)",
    "latin1-body": "a rejected Sense night in Latin-1 (no UTF-8 parser reads it)",
    "json-in-text": "JSON nested below credential names in server-sent events",
    "name-shapes": "X-Custom-Auth, mnemonic, पासवर्ड and รหัสผ่าน as JSON keys",
    "device-text-i18n": "contraseña: … and HASŁO: … in a good Sense night's message",
    "schema-path-key": "a URL with userinfo as the key a schema violation names (Sense room readings)",
    "flow-backup": "an edited flow's backup (the request as captured) in a flow dump",
    "flow-conn-fields": "a flow's mark and its client and server connections' error messages",
    "host-userinfo": "a Host header of user:password@host, which gives a flow's host",
}


class _Builder(first._Builder):
    def __init__(self) -> None:
        super().__init__(KINDS)
        self.flow_secrets: dict[str, str] = {}


def _rejected(b: _Builder, date: str, **more) -> dict:
    night = first._night(b)
    night |= {"date": date, "events": {"bad": True}, **more}
    return night


def _plant_everything(b: _Builder) -> None:  # noqa: PLR0915 (one list of plantings)
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], response_body=json.dumps(band_event("2519812557630091750"))
               .encode()))
    night = first._night(b)
    night["message"] = (f"Wi-Fi contraseña: {p('device-text-i18n', pw(1))}; "
                        f"HASŁO: {p('device-text-i18n', pw(2))}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    # rejected device responses
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-05", 200, [sense], response_body=json.dumps(_rejected(
        b, "2017-03-05",
        links={f"https://bob:{p('json-key-text', pw(3))}@files.dozer.test/x": 1,
               f"/cb?access_token={p('json-key-text', token(30))}": 2},
        logged=[["Authorization", p("pair-lists", token(24).lower())], {"header": "X-Api-Key", "value": p(
            "pair-lists", pw(4))}, {"id": "password", "value": p("pair-lists", pw(5))}],
        soap=f"<Login><Password><![CDATA[{p('xml-cdata', pw(6))}]]></Password></Login>",
        page=quote(f"https://app.dozer.test/cb?access_token={p('percent-encoded', pw(7))}", safe=""),
        extra={"X-Custom-Auth": p("name-shapes", "dv" + token(8)), "पासवर्ड": p("name-shapes", pw(8)),
               "mnemonic": "abandon ability able about " + p("name-shapes", "absorb" + token(6).lower())},
    )).encode()))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-06", 200, [sense],
               [("Content-Type", "application/json; charset=utf-16")],
               response_body=json.dumps(_rejected(b, "2017-03-06", client={"password": p("wide-body", pw(9))}))
               .encode("utf-16")))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-07", 200, [sense], response_body=json.dumps(
        _rejected(b, "2017-03-07", client={"name": "Zoë", "password": p("latin1-body", pw(10)),
                                           "refresh_tokens": [p("latin1-body", pw(11))]}), ensure_ascii=False)
               .encode("latin-1")))
    room = {f"https://carol:{p('schema-path-key', pw(12))}@files.dozer.test/": "not a reading"}
    b.add(Call("GET", "https://api.hello.is/v1/room/current?temp_unit=c", 200, [sense],
               response_body=json.dumps(room).encode()))
    # --generic
    generic = {
        "links": {f"https://dan:{p('json-key-text', pw(13))}@files.dozer.test/y": 1},
        "logged": [{"k": "refresh_token", "v": p("pair-lists", pw(14))}, ["X-Auth-Token", p("pair-lists", pw(15))]],
        "soap": f"<pin><![CDATA[{p('xml-cdata', pw(16))}]]></pin>",
        "next": quote(f"https://bob:{p('percent-encoded', pw(17))}@app.dozer.test/", safe=""),
        "config": f"config = \"password={p('nested-pairs', pw(18))}; user=alice\"",
        "php": f"'password' => '{p('nested-pairs', pw(19))}'",
        "i18n": {"รหัสผ่าน": p("name-shapes", pw(20))},
        "minutes": 431,
    }
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/me", 200, [], [("Content-Type", "application/json")], None,
               json.dumps(generic).encode()))
    boundary = "dozer-b0undary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''"
                 f"{quote('token=' + p('percent-encoded', pw(21)))}.txt\r\n\r\nhello\r\n--{boundary}--\r\n")
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/upload", 200,
               [("Content-Type", f"multipart/form-data; boundary={boundary}")], [("Content-Type", "application/json")],
               multipart.encode(), b'{"stored": 1}', content_type=f"multipart/form-data; boundary={boundary}"))
    page = f'<html><a href="/reset?token={p("nested-pairs", pw(22))}">reset</a></html>'
    b.add(Call("GET", "https://www.dozer.test/mail", 200, [], [("Content-Type", "text/html")], None, page.encode(),
               content_type="text/html"))
    events = (f'data: {{"password": {{"current": "{p("json-in-text", pw(23))}"}}}}\n\n'
              f'data: {{"refresh_tokens": ["{p("json-in-text", pw(24))}"]}}\n\n')
    b.add(Call("GET", "https://www.dozer.test/stream", 200, [], [("Content-Type", "text/event-stream")], None,
               events.encode(), content_type="text/event-stream"))
    b.flow_secrets = {kind: p(kind, value) for kind, value in (
        ("flow-backup", token(32)), ("flow-conn-fields", pw(25)), ("host-userinfo", pw(26)))}
    b.needles["flow-conn-fields"].append(p("flow-conn-fields", pw(27)))


def _edited_flow(b: _Builder) -> object:
    """A flow edited in mitmproxy: its backup holds the request as captured."""
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.host, flow.request.path = GENERIC_HOST, "/v1/edited"
    flow.request.headers["Authorization"] = "Bearer " + b.flow_secrets["flow-backup"]
    flow.backup()
    flow.request.headers["Authorization"] = "Bearer edited"
    flow.marked = "password=" + b.flow_secrets["flow-conn-fields"]
    flow.client_conn.error = "TLS failed after token=" + b.needles["flow-conn-fields"][1]
    flow.server_conn.error = f"cannot reach https://erin:{b.flow_secrets['flow-conn-fields']}@proxy.dozer.test/"
    flow.id = "00000000-0000-4000-8000-999999999998"
    return flow


def _host_flow(b: _Builder) -> object:
    """A flow whose host comes from a Host header that carries a user and password."""
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    userinfo_host = f"frank:{b.flow_secrets['host-userinfo']}@www.dozer.test"
    flow.request.data.host, flow.request.authority, flow.request.path = userinfo_host, "", "/v1/hosted"
    flow.request.headers["Host"] = userinfo_host
    flow.id = "00000000-0000-4000-8000-999999999997"
    return flow


def build(folder: Path) -> Corpus:
    """Write corpus-d.har and corpus-d.flow into `folder`; returns them and the needles of every kind."""
    global _RANDOM
    _RANDOM = random.Random(2121)
    first._RANDOM = random.Random(2222)
    b = _Builder()
    _plant_everything(b)
    return first.write(b, folder, "corpus-d", [_edited_flow(b), _host_flow(b)])


if __name__ == "__main__":
    first.main(build)
