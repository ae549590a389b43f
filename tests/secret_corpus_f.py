"""A sixth corpus of planted secrets, made apart from the first five (tests/secret_corpus*.py) by attacking where
their policy did not read: XML elements labelled by an attribute or a `<Name>` element, JWTs split across lines,
braced connection-string values, short credential names with a word after them (`pinNumber`), bodies in legacy
charsets, a device call's URL headers, base64 of `user:password` under a neutral name, text escaped for HTML or a
script, labels under compound keys and Set-Cookie attributes.

    python tests/secret_corpus_f.py DIR
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.drowsy.test"
_DRAWS = first.Draws(4141, "Dz{}pw-")
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "xml-labels": "<string name=\"auth_token\">, <entry key=…>, <Name>db_password</Name><Value>… in a rejected body, a "
                  "--generic value and a page",
    "wrapped-jwt": "a JWT split across lines in a good Sense night's message and a --generic value",
    "braced-conn": "PWD={…} and Password={…} in connection strings in a rejected body and a --generic value",
    "pin-qualifiers": "pinNumber, pwd_new and otpEntered in a --generic response and a form",
    "legacy-charset": "code PIN : … and pw=… between Latin-1 letters in a page on a device route and on another host",
    "device-url-headers": "random tokens in the query of a Band call's Referer, Location and Link",
    "base64-userinfo": "base64 of a short user:password under ?u=, a --generic value and a text pair",
    "escaped-text": "{&quot;access_token&quot;:…} in a page's attribute, JSON.parse(\"{\\\"token\\\":…}\") in a script",
    "compound-labels": "{ParameterKey, ParameterValue} and {headerName, headerValue} in a rejected body and --generic",
    "set-cookie-attributes": "a token in a Set-Cookie's Path and Comment",
}


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    jwt = first.jwt("drowsy-" + token(8))
    wrapped = jwt[:30] + "\n  " + jwt[30:70] + "\n  " + jwt[70:]
    p("wrapped-jwt", jwt.split(".")[1], jwt.split(".")[2])
    night = first._night(b)
    night["message"] = f"Synced. token\n  {wrapped}\nSleep well."
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    user_password = p("base64-userinfo", base64.b64encode(f"bo:{token(9)}".encode()).decode())  # 16 characters
    rejected = first._night(b) | {"date": "2017-03-05", "events": {"bad": True}}
    rejected |= {
        "prefs": f'<map><string name="auth_token">{p("xml-labels", pw(2))}</string>'
                 f'<string name="theme">dark</string></map>',
    }
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-05", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    rejected = first._night(b) | {"date": "2017-03-06", "events": {"bad": True}}
    rejected |= {
        "db": f"Driver={{ODBC}};Server=db;Uid=sa;PWD={{{p('braced-conn', pw(3))}}};",
        "note": f"proxy u={user_password}",
    }
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-06", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    page = (f"<html><p>Votre code PIN\xa0: {p('legacy-charset', digits())} \xe9t\xe9 envoy\xe9</p>"  # Latin-1 bytes
            f"<p>\xe0 pw={p('legacy-charset', token(9))}\xe9</p>")
    b.add(Call("GET", "https://api.hello.is/v1/room/current", 200, [sense], [("Content-Type", "text/html")], None,
               page.encode("latin-1"), content_type="text/html"))
    b.add(Call("GET", "https://www.drowsy.test/account", 200, [], [("Content-Type", "text/html; charset=iso-8859-1")],
               None, page.encode("latin-1"), content_type="text/html"))
    rand = [p("device-url-headers", token(30)) for _ in range(3)]
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [("Referer", f"https://app.drowsy.test/cb?t={rand[0]}")],
               [("Location", f"https://app.drowsy.test/next#s={rand[1]}"),
                ("Link", f"<https://api.drowsy.test/v1/x?c={rand[2]}>; rel=next"), ("Content-Type", "application/json")],
               response_body=json.dumps(band_event("2519812557630091770")).encode()))
    generic = {
        "settings": [{"pinNumber": p("pin-qualifiers", digits()), "minutes": 431}],
        "config": f'<Parameters><Parameter><Name>db_password</Name><Type>SecureString</Type>'
                  f'<Value>{p("xml-labels", pw(5))}</Value></Parameter></Parameters>',
        "conn": f"Server=db;User ID=sa;Password={{{p('braced-conn', pw(6))}}};",
        "log": f"session started\n{wrapped}\n",
        "proxy": p("base64-userinfo", base64.b64encode(f"ev:{token(9)}".encode()).decode()),
    }
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/me?u={user_password}", 200, [],
               [("Content-Type", "application/json")], None, json.dumps(generic).encode()))
    prefs = (f'<?xml version="1.0"?><properties><entry key="api_key">{p("xml-labels", pw(8))}</entry>'
             f"</properties>")
    b.add(Call("GET", "https://www.drowsy.test/prefs.xml", 200, [], [("Content-Type", "text/xml")], None,
               prefs.encode(), content_type="text/xml"))
    page = (f'<html><div data-props="{{&quot;access_token&quot;:&quot;{p("escaped-text", pw(10))}&quot;}}"></div>'
            f'<script>var s = JSON.parse("{{\\"token\\":\\"{p("escaped-text", pw(11))}\\"}}");</script></html>')
    cookie = (f"theme=dark; Path=/u/{p('set-cookie-attributes', token(30))}; "
              f"Comment=token={p('set-cookie-attributes', pw(12))}; HttpOnly")
    b.add(Call("GET", "https://www.drowsy.test/home", 200, [], [("Content-Type", "text/html"), ("Set-Cookie", cookie)],
               None, page.encode(), content_type="text/html"))
    rejected = first._night(b) | {"date": "2017-03-07", "events": {"bad": True}}
    rejected["stack"] = [{"ParameterKey": "DBPassword", "ParameterValue": p("compound-labels", pw(13))}]
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-07", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    headers = {"headers": [{"headerName": "X-Api-Key", "headerValue": p("compound-labels", pw(14))}], "minutes": 12}
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/hooks", 200, [], [("Content-Type", "application/json")], None,
               json.dumps(headers).encode()))
    form = f"pwd_new={p('pin-qualifiers', pw(9))}&otpEntered={p('pin-qualifiers', digits())}&lang=en"
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/settings", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "application/json")],
               form.encode(), b'{"saved": 1}', content_type="application/x-www-form-urlencoded"))


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-f.har and corpus-f.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-f", _DRAWS, 4242, KINDS, _plant_everything)


if __name__ == "__main__":
    first.main(build)
