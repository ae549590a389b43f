"""A second corpus of planted secrets, kept apart from the first (tests/secret_corpus.py) and made without looking
at what the policy's rules name: other header names, other token shapes (hex, lower-case, URL-safe base64, dotted,
custom authorization schemes), JWTs in device paths, secrets in OData keys, in multipart bodies of any call, in JSON
inside strings twice over, in redirectURL, `_initiator`, Referer and Location, URL userinfo, folded Set-Cookie with
dates, flow trailers. It stands for the held-out captures a study team would bring.

    python tests/secret_corpus_b.py DIR
"""

from __future__ import annotations

import base64
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

GENERIC_HOST = "cloud.sleepwell.test"
_RANDOM = random.Random(1616)
_ALNUM = string.ascii_letters + string.digits


def token(n: int = 32, alphabet: str = _ALNUM) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(n))


def hex_token(n: int = 40) -> str:
    return token(n, "0123456789abcdef")


def lower_token(n: int = 32) -> str:
    """Lower-case letters and digits, as many session ids are."""
    while True:
        t = token(n, string.ascii_lowercase + string.digits)
        if sum(c.isdigit() for c in t) >= n // 4:
            return t


def urlsafe(n_bytes: int = 32) -> str:
    return base64.urlsafe_b64encode(_RANDOM.randbytes(n_bytes)).decode().rstrip("=")


def jwt(subject: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'RS256', 'kid': 'k1'})}.{part({'sub': subject, 'exp': 1900000000})}." \
           + urlsafe(64)


def pw(n: int) -> str:
    return f"correct-Horse{n}-" + token(5)


KINDS = {
    "hdr-custom-scheme": "Authorization with a scheme of the vendor's own (Hello …)",
    "hdr-bare-authorization": "Authorization holding a bare token, no scheme",
    "hdr-api-token": "Api-Token, X-Device-Auth, X-Goog-Api-Key, X-Csrftoken, X-Hub-Signature headers",
    "hdr-vendor-session": "X-Sleepwell-Session, X-Client-Assertion headers",
    "hdr-amz-security-token": "X-Amz-Security-Token header",
    "cookie-secure-prefix": "__Secure- and __Host- cookies (next-auth session token)",
    "set-cookie-folded-dates": "Set-Cookie folded with commas, Expires dates between, three cookies",
    "query-apikey": "apikey=, sessionKey=, auth=, sid= in query strings",
    "query-google-signed": "X-Goog-Credential and X-Goog-Signature of a signed Google Cloud Storage URL",
    "query-akamai": "Akamai hdnts=exp=…~hmac=… token",
    "query-oauth1": "OAuth 1 oauth_signature and oauth_token",
    "query-hex-token": "a 40-digit hex token under a neutral parameter name",
    "device-query-token": "access_token and a random token under a neutral name in the query of a device data call",
    "path-jwt-sense": "a JWT as a segment of a Sense device path",
    "path-odata-unnamed": "an OData key that is a bare JWT: Events('eyJ…')",
    "path-odata-named": "OData keys accessToken='…' and Sig='…'",
    "path-matrix": ";JSESSIONID= and ;sid= matrix parameters",
    "path-urlsafe": "a URL-safe base64 token as a path segment",
    "path-lower": "a lower-case session id as a path segment",
    "multipart-other": "credential-named fields in a multipart upload that is no sign-in call",
    "multipart-json-part": "a JSON part of a multipart body with refresh_token",
    "sign-in-short-names": "sign-in fields pw, pin_code, user_pass",
    "json-in-json-in-string": "a token in JSON inside a JSON string inside a JSON string of a rejected body",
    "rejected-camel-keys": "camelCase credential keys in a rejected body (apiSecret, authToken, sessionKey)",
    "rejected-bearer-value": "Bearer … and basic-auth URLs as values in a rejected body",
    "reason-value": "a rejected body whose wrong value is a random token",
    "redirect-url-code": "HAR redirectURL with code= and a userinfo",
    "initiator-stack": "HAR _initiator stack URLs with sig= and key=",
    "referer-userinfo": "Referer with userinfo and token=",
    "location-code": "Location with code= and id_token=",
    "url-userinfo-device": "userinfo in the URL of a device call",
    "flow-trailer-auth": "flow trailers: authorization and grpc-message with a token",
    "generic-camel-keys": "camelCase and dashed credential keys in a --generic response",
    "generic-token-values": "hex and URL-safe tokens, Bearer … under neutral keys of a --generic response",
    "generic-path-token": "a hex token as a path segment of a --generic host",
    "text-body-pairs": "key: value and key=value lines in a text body (YAML, env files)",
    "reason-phrase": "a token in the HTTP reason phrase (HAR statusText, a flow's response reason)",
}


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    bearer = ("Authorization", "Hello " + p("hdr-custom-scheme", urlsafe(30)))
    headers = [
        ("Api-Token", p("hdr-api-token", hex_token(40))),
        ("X-Device-Auth", p("hdr-api-token", urlsafe(24))),
        ("X-Goog-Api-Key", p("hdr-api-token", "AIza" + token(35))),
        ("X-Csrftoken", p("hdr-api-token", token(32))),
        ("X-Hub-Signature-256", "sha256=" + p("hdr-api-token", hex_token(64))),
        ("X-Sleepwell-Session", p("hdr-vendor-session", lower_token(30))),
        ("X-Client-Assertion", p("hdr-vendor-session", jwt("assertion"))),
        ("X-Amz-Security-Token", p("hdr-amz-security-token", "FwoGZXIvYXdzE" + token(60))),
        ("Cookie", f"__Secure-next-auth.session-token={p('cookie-secure-prefix', urlsafe(40))}; "
                   f"__Host-csrf={p('cookie-secure-prefix', hex_token(48))}; lang=en"),
        ("User-Agent", "Sense/1.4 (iPhone; iOS 10.2)"),
    ]
    sense_bearer = ("Authorization", p("hdr-bare-authorization", "2." + hex_token(32)))
    # good device responses
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02?access_token="
               + p("device-query-token", lower_token(36)) + "&t=" + p("device-query-token", urlsafe(24)), 200,
               [bearer, *headers],
               [("Set-Cookie", f"srv={p('set-cookie-folded-dates', token(20))}; Expires=Thu, 01 Jan 2026 00:00:00 GMT; "
                               f"Path=/, JSESSIONID={p('set-cookie-folded-dates', hex_token(32).upper())}; Path=/; "
                               f"Secure, trk={p('set-cookie-folded-dates', lower_token(24))}; Max-Age=600"),
                ("Content-Type", "application/json")],
               response_body=json.dumps(first._night(b)).encode()))
    b.add(Call("GET", "https://api.hello.is/v1/room/current;JSESSIONID=" + p("path-matrix", hex_token(32).upper())
               + ";sid=" + p("path-matrix", lower_token(26)), 200, [sense_bearer],
               response_body=json.dumps(first._room()).encode()))
    b.add(Call("GET", "https://prodphscus.dns-cargo.com/v1/Events(accessToken='" + p("path-odata-named", urlsafe(30))
               + "',Sig='" + p("path-odata-named", hex_token(40)) + "')", 200, [sense_bearer],
               response_body=json.dumps(band_event("2519812557630091730", calories=310)).encode()))
    device_userinfo = pw(1)
    p("url-userinfo-device", device_userinfo)
    b.add(Call("GET", f"https://alice:{device_userinfo}@prodphscus.dns-cargo.com/v1/Events('"
               + p("path-odata-unnamed", jwt("odata")) + "')", 200, [],
               response_body=json.dumps(band_event("2519812557630091731", calories=320)).encode()))
    # unknown device paths: the report and inspect show them as templates
    b.add(Call("GET", "https://api.hello.is/v2/account/" + p("path-jwt-sense", jwt("sense-path")) + "/settings", 200,
               [sense_bearer], response_body=b'{"ok": true}'))
    b.add(Call("GET", "https://api.hello.is/v1/share/" + p("path-urlsafe", urlsafe(33)) + "/x", 200, [sense_bearer],
               response_body=b'{"ok": true}'))
    b.add(Call("GET", "https://api.hello.is/v1/session/" + p("path-lower", lower_token(32)) + "/state", 200,
               [sense_bearer], response_body=b'{"ok": true}'))
    # rejected device responses
    rejected = first._night(b)
    rejected["date"] = "2017-03-05"
    rejected["events"] = {"bad": True}
    rejected["context"] = json.dumps({"payload": json.dumps({"auth": {"bearer": p("json-in-json-in-string",
                                                                                  urlsafe(30))}})})
    rejected["client"] = {"apiSecret": p("rejected-camel-keys", token(30)),
                          "authToken": p("rejected-camel-keys", lower_token(30)),
                          "sessionKey": p("rejected-camel-keys", hex_token(32))}
    rejected["links"] = ["Bearer " + p("rejected-bearer-value", urlsafe(28)),
                         f"https://bob:{p('rejected-bearer-value', pw(2))}@files.example.org/x"]
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-05", 200, [sense_bearer],
               response_body=json.dumps(rejected).encode()))
    quoted = first._night(b)
    quoted["date"] = "2017-03-06"
    quoted["events"] = p("reason-value", urlsafe(30))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-06", 200, [sense_bearer],
               response_body=json.dumps(quoted).encode()))
    # multipart bodies
    boundary = "sleepwell-b0undary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"api_secret\"\r\n\r\n"
                 f"{p('multipart-other', token(30))}\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"; filename=\"m.json\"\r\n"
                 "Content-Type: application/json\r\n\r\n"
                 + json.dumps({"refresh_token": p("multipart-json-part", urlsafe(40)), "n": 2})
                 + f"\r\n--{boundary}--\r\n")
    b.add(Call("POST", f"https://{GENERIC_HOST}/upload", 200,
               [("Content-Type", f"multipart/form-data; boundary={boundary}")], [("Content-Type", "application/json")],
               multipart.encode(), b'{"stored": 1}', content_type=f"multipart/form-data; boundary={boundary}"))
    b.add(Call("POST", "https://accounts.sleepwell.test/api/v3/login", 200,
               [("Content-Type", "application/json")], [("Content-Type", "application/json")],
               json.dumps({"user": "alice", "pw": p("sign-in-short-names", pw(3)),
                           "pin_code": p("sign-in-short-names", "73" + token(4, string.digits)),
                           "user_pass": p("sign-in-short-names", pw(4))}).encode(),
               json.dumps({"ok": True}).encode()))
    # URLs everywhere
    b.add(Call("GET", "https://storage.googleapis.com/bkt/export.zip?X-Goog-Algorithm=GOOG4-RSA-SHA256"
               "&X-Goog-Credential=" + quote(p("query-google-signed", "svc@proj.iam.gserviceaccount.com/20240101/auto/"
                                               "storage/goog4_request"), safe="")
               + "&X-Goog-Date=20240101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature="
               + p("query-google-signed", hex_token(256)), 200, [], [], None, b"PK\x03\x04",
               content_type="application/zip"))
    b.add(Call("GET", "https://media.sleepwell.test/a.mp3?hdnts=exp=1700000000~acl=/*~hmac="
               + p("query-akamai", hex_token(64)), 200, [], [], None, b"ID3", content_type="audio/mpeg"))
    b.add(Call("GET", "https://api.sleepwell.test/1.1/data?oauth_consumer_key=ck&oauth_token="
               + p("query-oauth1", lower_token(30)) + "&oauth_signature="
               + quote(p("query-oauth1", base64.b64encode(_RANDOM.randbytes(20)).decode()), safe="")
               + "&oauth_signature_method=HMAC-SHA1&apikey=" + p("query-apikey", lower_token(32))
               + "&sessionKey=" + p("query-apikey", hex_token(24)) + "&auth=" + p("query-apikey", urlsafe(18))
               + "&sid=" + p("query-apikey", lower_token(20)) + "&v=" + p("query-hex-token", hex_token(40)),
               200, [], [], None, b"{}"))
    b.add(Call("GET", "https://app.sleepwell.test/login/callback", 302, [
        ("Referer", f"https://carol:{p('referer-userinfo', pw(5))}@app.sleepwell.test/start?token="
                    + p("referer-userinfo", lower_token(30)))],
        [("Location", "https://app.sleepwell.test/home?code=" + p("location-code", urlsafe(24)) + "&state=abc#id_token="
          + p("location-code", jwt("loc")))], None, b"",
        har=lambda e: e["response"].update(
            redirectURL=f"https://dave:{p('redirect-url-code', pw(6))}@app.sleepwell.test/next?code="
                        + p("redirect-url-code", urlsafe(26)))))
    b.add(Call("GET", "https://cdn.sleepwell.test/img/logo.png", 200, [], [], None, b"\x89PNG",
               content_type="image/png",
               har=lambda e: e.update(_initiator={
                   "type": "parser", "url": "https://app.sleepwell.test/index.html?sig=" + p("initiator-stack",
                                                                                            urlsafe(32)),
                   "lineNumber": 3,
                   "stack": {"callFrames": [{"url": "https://app.sleepwell.test/x.js?key="
                                             + p("initiator-stack", "AIza" + token(35)), "lineNumber": 9}],
                             "parent": {"callFrames": [{"url": "https://app.sleepwell.test/y.js?session="
                                                        + p("initiator-stack", lower_token(28))}]}}})))
    # generic export
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/users/me/" + p("generic-path-token", hex_token(40)) + "/sleep", 200,
               [], [("Content-Type", "application/json")], None,
               json.dumps({"minutes": 420, "clientSecret": p("generic-camel-keys", token(30)),
                           "x-api-key": p("generic-camel-keys", lower_token(32)),
                           "device": {"pairingCode": p("generic-camel-keys", "PC-" + token(12)),
                                      "firmware": "1.2.3"},
                           "share_link": "Bearer " + p("generic-token-values", urlsafe(30)),
                           "etag_like": p("generic-token-values", hex_token(40)),
                           "blob": p("generic-token-values", urlsafe(36))}).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/config.env", 200, [], [("Content-Type", "text/plain")], None,
               f"API_SECRET={p('text-body-pairs', token(30))}\nclient_secret: {p('text-body-pairs', lower_token(30))}\n"
               f"db_password = {p('text-body-pairs', pw(7))}\n".encode(), content_type="text/plain"))
    reason = "Unauthorized: token " + p("reason-phrase", urlsafe(30)) + " expired"
    b.add(Call("GET", "https://app.sleepwell.test/api/me", 401, [], [], None, b"",
               har=lambda e: e["response"].update(statusText=reason),
               flow=lambda f: setattr(f.response, "reason", reason)))
    auth_trailer = p("flow-trailer-auth", urlsafe(30))
    msg_trailer = p("flow-trailer-auth", hex_token(40))
    b.add(Call("POST", "https://grpc.sleepwell.test/sync.V2/Push", 200, [("Content-Type", "application/grpc")],
               [("Content-Type", "application/grpc")], b"\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00",
               content_type="application/grpc", flow=lambda f: _trailers(f, auth_trailer, msg_trailer)))


def _trailers(flow, auth: str, message: str) -> None:
    from mitmproxy import http

    flow.request.trailers = http.Headers(((b"authorization", f"Bearer {auth}".encode()),))
    flow.response.trailers = http.Headers(((b"grpc-status", b"16"), (b"grpc-message", f"bad token {message}".encode())))


def build(folder: Path) -> Corpus:
    """Write corpus-b.har and corpus-b.flow into `folder`; returns them and the needles of every kind."""
    global _RANDOM
    _RANDOM = random.Random(1616)
    first._RANDOM = random.Random(1717)  # the first corpus's helpers (its night's device key) draw from it
    b = first._Builder(KINDS)
    _plant_everything(b)
    return first.write(b, folder, "corpus-b", [])


if __name__ == "__main__":
    first.main(build)
