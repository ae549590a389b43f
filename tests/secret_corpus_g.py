"""A seventh corpus of planted secrets, made apart from the first six (tests/secret_corpus*.py) by attacking with
what phone apps and their SDKs send: authorization schemes and credential names of other kinds inside the device
payloads' own text (a Band event's name, a Sense night's message), OAuth and OIDC form bodies and redirects (PKCE,
refresh grants, id_token_hint), GraphQL variables and inline arguments, HTTP/2 pseudo-headers, SDK keys (Sentry
DSNs, FCM server keys), signed URLs of other clouds (CloudFront, GCS V2), WebSocket messages of other shapes,
cookies in odd casings, numbers under credential names and HAR's Chrome fields.

    python tests/secret_corpus_g.py DIR
"""

from __future__ import annotations

import base64
import json
import string
import sys
import zlib
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.dreamy.test"
_DRAWS = first.Draws(5151, "Gq{}vz-", 30)
token, hexed, pw, digits = _DRAWS.token, _DRAWS.hexed, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "device-text-schemes": "DPoP, Bot, SSWS and MAC credentials (short, not random) and clave de acceso: … in a Band "
                           "event's name and a Sense night's message",
    "oidc-forms": "refresh_token, code_verifier and client_assertion in a token call's form; id_token_hint in a "
                  "logout redirect's Location",
    "graphql": "a password in GraphQL variables and an inline argument of a mutation in a --generic response",
    "http2-pseudo": "a token in a HAR request's :path pseudo-header and userinfo in its :authority",
    "sdk-keys": "a Sentry DSN's key and X-Sentry-Auth's secret, an FCM server key in Authorization: key=…",
    "signed-urls-other": "CloudFront Policy/Signature and GCS V2 Signature URLs in a --generic response",
    "websocket-shapes": "STOMP-like CONNECT frames with passcode, a binary message and a close reason with a token",
    "cookie-casings": "cookie and set-cookie headers in lower and upper case with session values",
    "numeric-credentials": "a PIN and a one-time code as JSON numbers under credential names in --generic",
    "har-chrome-fields": "_initiator of type parser, a parent stack's frames, _securityState and timings' comment "
                         "holding tokens",
    "reset-path-token": "a password reset token (short of looking random) in /password/reset/<token> and "
                        "/password-reset/<token>: a page, its Location and Referer, and a --generic call",
    "unlabelled-compressed": "a rejected Sense night compressed (zlib) under no Content-Encoding, a password in it",
    "login-protocols": "IMAP LOGIN and an MQTT CONNECT's password in a raw TCP flow, PASS … over a WebSocket",
    "duplicate-keys": "a rejected Sense night giving password and refresh_token twice, the later values empty",
}


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    # device payloads' own text
    event = band_event("2519812557630091780")
    event["value"][0]["Name"] = f"Run DPoP {p('device-text-schemes', pw(1))}"
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], [("Content-Type", "application/json")],
               response_body=json.dumps(event).encode()))
    night = first._night(b)
    night["message"] = (f"Synced. Bot {p('device-text-schemes', pw(2))}; SSWS {p('device-text-schemes', pw(3))}; "
                        f"clave de acceso: {p('device-text-schemes', pw(4))}; code de vérification : "
                        f"{p('device-text-schemes', digits(7))}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    # OAuth / OIDC
    form = (f"grant_type=refresh_token&refresh_token={p('oidc-forms', token(40))}&client_id=app"
            f"&code_verifier={p('oidc-forms', token(43))}"
            f"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            f"&client_assertion={p('oidc-forms', pw(5))}")
    b.add(Call("POST", "https://id.dreamy.test/oauth2/token", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "application/json")],
               form.encode(), b'{"token_type": "Bearer", "expires_in": 3600}',
               content_type="application/x-www-form-urlencoded"))
    b.add(Call("GET", "https://id.dreamy.test/logout", 302, [],
               [("Location", f"https://id.dreamy.test/end_session?id_token_hint={p('oidc-forms', pw(6))}"
                             f"&post_logout_redirect_uri=com.dreamy.app%3A%2Flogout")], None, b""))
    # GraphQL
    graphql = {
        "data": {"viewer": {"id": 7, "minutes": 431}},
        "extensions": {
            "variables": {"input": {"email": "a@dreamy.test", "password": p("graphql", pw(7))}},
            "query": f'mutation {{ login(email: "a@dreamy.test", password: "{p("graphql", pw(8))}") {{ token }} }}',
        },
    }
    b.add(Call("POST", f"https://{GENERIC_HOST}/graphql", 200, [("Content-Type", "application/json")],
               [("Content-Type", "application/json")], b'{"query": "{ viewer { id } }"}',
               json.dumps(graphql).encode()))

    # HTTP/2 pseudo-headers (Chrome's HAR writes them as headers)
    def pseudo(e: dict) -> None:
        e["request"]["httpVersion"] = "h2"
        e["request"]["headers"] = [
            {"name": ":method", "value": "GET"},
            {"name": ":authority", "value": f"bo:{p('http2-pseudo', pw(9))}@{GENERIC_HOST}"},
            {"name": ":path", "value": f"/v1/feed?access_token={p('http2-pseudo', pw(10))}"},
            {"name": ":scheme", "value": "https"},
        ]
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/feed", 200, [], [("Content-Type", "application/json")], None,
               b'{"minutes": 12}', har=pseudo))
    # SDK keys
    dsn_key = p("sdk-keys", hexed())
    b.add(Call("POST", "https://o4504.ingest.sentry.io/api/4505/envelope/", 200,
               [("X-Sentry-Auth", f"Sentry sentry_version=7, sentry_key={dsn_key}, "
                                  f"sentry_secret={p('sdk-keys', hexed())}"), ("Content-Type", "application/json")],
               [("Content-Type", "application/json")],
               json.dumps({"dsn": f"https://{dsn_key}@o4504.ingest.sentry.io/4505"}).encode(), b"{}"))
    fcm = p("sdk-keys", "AAAA" + token(7) + ":APA91b" + token(134, string.ascii_letters + string.digits + "-_"))
    b.add(Call("POST", "https://fcm.googleapis.com/fcm/send", 200,
               [("Authorization", f"key={fcm}"), ("Content-Type", "application/json")], [],
               b'{"to": "/topics/news"}', b'{"message_id": 1}'))
    # signed URLs of other clouds, in a --generic response
    urls = {
        "minutes": 3,
        "download": (f"https://d111111abcdef8.cloudfront.net/export.zip?Policy={p('signed-urls-other', token(80))}"
                     f"&Signature={p('signed-urls-other', token(60))}&Key-Pair-Id=K2JCJMDEHXQW5F"),
        "avatar": ("https://storage.googleapis.com/dreamy/a.png?GoogleAccessId=svc%40dreamy.iam.gserviceaccount.com"
                   f"&Expires=1700000000&Signature={quote(p('signed-urls-other', token(40) + '+/' + token(20)))}"),
    }
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/exports", 200, [], [("Content-Type", "application/json")], None,
               json.dumps(urls).encode()))
    # WebSocket messages of other shapes
    stomp = f"CONNECT\naccept-version:1.2\nhost:rt\nlogin:alice\npasscode:{p('websocket-shapes', pw(11))}\n\n\x00"
    binary = b"\x0a\x05hello\x12\x1e" + p("websocket-shapes", token(30)).encode() + b"\x18\x01"
    close = f"session {p('websocket-shapes', token(36))} revoked"

    def ws_flow(f) -> None:
        from mitmproxy import websocket

        f.websocket = websocket.WebSocketData(messages=[
            websocket.WebSocketMessage(1, True, stomp.encode(), 1488554700),
            websocket.WebSocketMessage(2, False, binary, 1488554701)], close_reason=close, close_code=4001)

    b.add(Call("GET", "https://rt.dreamy.test/stomp", 101, [("Upgrade", "websocket")], [("Upgrade", "websocket")],
               har=lambda e: e.update(_webSocketMessages=[
                   {"type": "send", "time": 1.0, "opcode": 1, "data": stomp},
                   {"type": "receive", "time": 1.1, "opcode": 2,
                    "data": __import__("base64").b64encode(binary).decode()},
                   {"type": "receive", "time": 1.2, "opcode": 8, "data": close}]),
               flow=ws_flow))
    # cookies in odd casings
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/me", 200,
               [("cookie", f"SID={p('cookie-casings', token(26))}"), ("COOKIE", f"auth={p('cookie-casings', pw(12))}")],
               [("set-cookie", f"connect.sid=s%3A{p('cookie-casings', pw(13))}; Path=/"),
                ("SET-COOKIE", f"remember={p('cookie-casings', token(24))}; Path=/"),
                ("Content-Type", "application/json")], None, b'{"minutes": 5}'))
    # numbers under credential names
    numbers = {"minutes": 9, "device": {"pin": int(p("numeric-credentials", digits(6))),
                                        "otp_code": int(p("numeric-credentials", digits(7))),
                                        "passcode": float(p("numeric-credentials", digits(8)))}}
    rejected = first._night(b) | {"date": "2017-03-05", "events": "oops",
                                  "lock": {"pin": int(p("numeric-credentials", digits(6)))}}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-05", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    rejected = rejected | {"date": "2017-03-06", "lock": [{"name": "otp", "value": int(digits(5))}]}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-06", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/device", 200, [], [("Content-Type", "application/json")], None,
               json.dumps(numbers).encode()))

    # password reset tokens in paths
    reset = [p("reset-path-token", token(12, string.ascii_lowercase + string.digits)) for _ in range(3)]
    b.add(Call("GET", f"https://www.dreamy.test/password/reset/{reset[0]}", 302,
               [("Referer", f"https://mail.dreamy.test/password-reset/{reset[1]}")],
               [("Location", f"https://www.dreamy.test/password/reset/{reset[0]}/confirm")], None, b""))
    b.add(Call("POST", f"https://{GENERIC_HOST}/api/password/reset/{reset[2]}", 200,
               [("Content-Type", "application/json")], [("Content-Type", "application/json")], b'{"minutes": 1}',
               b'{"minutes": 2, "done": true}'))
    # a body compressed under no Content-Encoding
    rejected = first._night(b) | {"date": "2017-03-08", "events": "oops", "account": {"password": p(
        "unlabelled-compressed", pw(16))}}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-08", 200, [sense], [],
               response_body=zlib.compress(json.dumps(rejected).encode())))
    # a key given twice, the parser keeping the later (empty) value
    rejected = first._night(b) | {"date": "2017-03-09", "events": "oops"}
    del rejected["session_token"]  # (a value replaced would have the body written from the document anyway)
    text = json.dumps(rejected)[:-1] + (f', "password": "{p("duplicate-keys", pw(20))}", "password": "", '
                                        f'"refresh_token": "{p("duplicate-keys", pw(21))}", "refresh_token": null}}')
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-09", 200, [sense], [], response_body=text.encode()))
    # login protocols over a WebSocket (and a raw TCP flow: `_tcp_flow`)
    ftp = f"USER alice\r\nPASS {p('login-protocols', pw(17))}\r\n"
    b.add(Call("GET", "https://rt.dreamy.test/ftp", 101, [("Upgrade", "websocket")], [("Upgrade", "websocket")],
               har=lambda e: e.update(_webSocketMessages=[{"type": "send", "time": 1.0, "opcode": 1, "data": ftp}]),
               flow=lambda f: first._websocket(f, [ftp.encode()])))
    b.tcp_secrets = (p("login-protocols", pw(18)), p("login-protocols", pw(19)))
    # Chrome's HAR fields
    def chrome(e: dict) -> None:
        e["_initiator"] = {"type": "parser", "url": f"https://www.dreamy.test/login?token={p('har-chrome-fields', token(34))}",
                           "lineNumber": 12,
                           "stack": {"callFrames": [], "parent": {"description": "await", "callFrames": [
                               {"functionName": "f", "url": f"https://www.dreamy.test/a.js?sig={p('har-chrome-fields', token(32))}",
                                "lineNumber": 1, "columnNumber": 2}]}}}
        e["_securityState"] = f"secure; session={p('har-chrome-fields', pw(14))}"
        e["timings"]["comment"] = f"api_key={p('har-chrome-fields', pw(15))}"
        e["_priority"] = "High"
        e["_resourceType"] = "fetch"
    b.add(Call("GET", "https://www.dreamy.test/app", 200, [], [("Content-Type", "text/html")], None, b"<html></html>",
               content_type="text/html", har=chrome))


def _tcp_flow(secrets: tuple[str, str]):
    from mitmproxy import tcp
    from mitmproxy.test import tflow

    def field(b: bytes) -> bytes:
        return len(b).to_bytes(2, "big") + b

    mqtt = field(b"MQTT") + b"\x04\xc2\x00\x3c" + field(b"sense-42") + field(b"alice") + field(secrets[1].encode())
    flow = tflow.ttcpflow()
    flow.messages = [tcp.TCPMessage(True, f"a1 LOGIN alice {secrets[0]}\r\n".encode(), 1488554800.0),
                     tcp.TCPMessage(False, b"a1 OK\r\n", 1488554800.1),
                     tcp.TCPMessage(True, b"\x10" + bytes([len(mqtt)]) + mqtt, 1488554800.2)]
    flow.id = "00000000-0000-4000-8000-999999999998"
    return flow


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-g.har and corpus-g.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-g", _DRAWS, 4343, KINDS, _plant_everything,
                       lambda b: [_tcp_flow(b.tcp_secrets)])


if __name__ == "__main__":
    first.main(build)
