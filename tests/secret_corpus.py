"""A corpus of planted secrets: a HAR file and a mitmproxy dump holding every kind of credential databack must keep
out of its outputs and out of scrubbed copies, beside good device responses (Band events, a Sense night, Sense
room readings) that must still convert.

`build(folder)` writes `corpus.har` and `corpus.flow` and returns what was planted: per kind (`KINDS`, one row each
in the README's table of secrets), the strings ("needles") no output may contain. Every value is made here,
deterministically; the shapes are real ones (JWTs, AWS keys, PEM keys, SAML assertions…), the names varied, so
that what catches them is the policy's rules and not a list of these values.

    python tests/secret_corpus.py DIR     # writes the corpus into DIR, to look at
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))
from builders import BAND_EVENTS_URL, band_event, entry  # noqa: E402

# kind id -> what it is. The README's table of secrets has one row per kind, named by its id.
KINDS = {
    "authorization-bearer": "Authorization: Bearer token",
    "authorization-basic": "Authorization: Basic (user:password in base64)",
    "authorization-wrap": "Band's Authorization: WRAP access_token=\"…\"",
    "authorization-digest": "Authorization: Digest … response=\"…\"",
    "proxy-authorization": "Proxy-Authorization",
    "x-authorization": "X-Authorization header",
    "x-accesstoken": "X-AccessToken header",
    "ocp-apim-subscription-key": "Ocp-Apim-Subscription-Key (Azure API keys)",
    "x-authentication": "X-Authentication header",
    "x-forwarded-authorization": "X-Forwarded-Authorization header",
    "x-refresh": "X-Refresh header",
    "x-api-key": "X-Api-Key header",
    "unknown-header": "a header of any other name (X-Sense-Context: …)",
    "www-authenticate": "a token in a WWW-Authenticate challenge",
    "cookie": "Cookie header, every cookie",
    "set-cookie-folded": "Set-Cookie folded with commas (the second cookie)",
    "set-cookie-lines": "Set-Cookie, one cookie per line (as browsers write HAR)",
    "har-cookies": "HAR request and response `cookies` arrays",
    "query-access-token": "access_token= in a query string (and HAR queryString)",
    "query-jwt": "jwt= in a query string",
    "query-session-id": "session_id= in a query string",
    "query-code": "OAuth code= in a redirect",
    "query-random-token": "a random token under any parameter name (?t=…)",
    "fragment-token": "#access_token=… in a fragment",
    "redirect-url": "HAR redirectURL with jwt= and session_id=",
    "url-userinfo": "basic auth in a URL (https://alice:PW@host/)",
    "initiator-url": "HAR _initiator URLs (url, stack frames) with token=",
    "referer": "Referer header with access_token=",
    "location": "Location header with id_token= in the fragment",
    "signed-url-sig": "Azure SAS link (sig=)",
    "signed-url-amz": "S3 presigned link (X-Amz-Credential, X-Amz-Signature, X-Amz-Security-Token)",
    "google-api-key": "Google API key (key=AIza…)",
    "nested-redirect-uri": "token inside a percent-encoded redirect_uri",
    "path-jwt": "a JWT as a path segment of a device path",
    "path-jsessionid": ";jsessionid= matrix parameter",
    "path-odata-token": "OData key token='…' of a Band path",
    "path-random-token": "a random token as a path segment (generic export)",
    "sign-in-form": "sign-in form body (password, client_secret)",
    "sign-in-json": "sign-in JSON body (password, client_secret)",
    "sign-in-multipart": "sign-in multipart body (password field)",
    "sign-in-xml": "sign-in body that is neither form nor JSON (XML)",
    "token-response": "token response (access_token, refresh_token, id_token)",
    "token-call-fields": "token-call fields jwt, authorization, code_verifier, PPFT",
    "base64-token-response": "token response stored base64 in HAR / gzip in a flow",
    "password-other-body": "password in a body that is not a sign-in call",
    "postdata-params": "password in HAR postData.params",
    "saml-assertion": "SAMLResponse (base64 XML assertion) in a form post",
    "device-body-key": "a credential-named key inside a good device response",
    "rejected-body-key": "credential-named keys in a rejected device response",
    "rejected-json-in-string": "a token in JSON inside a JSON string of a rejected body",
    "reason-quotes-value": "a secret as the value a schema violation would quote",
    "generic-credential-keys": "credential-named keys in a --generic response (top level, nested, in arrays)",
    "generic-jwt-value": "a JWT under a neutral key in a --generic response",
    "generic-signed-url": "a signed URL (Signature=) inside a --generic response",
    "aws-keys": "AWS access key id and secret access key in a text body",
    "xml-element": "credential-named XML elements in a body that is no sign-in call (SOAP)",
    "name-value-pairs": "[{\"name\": \"api_key\", \"value\": …}] pairs in a JSON body",
    "form-json-param": "JSON inside a form parameter (data=%7B%22password%22…)",
    "private-key": "PEM private key in a JSON body",
    "bearer-in-text": "Bearer token inside an HTML page",
    "prefixed-tokens": "GitHub (ghp_), Slack (xoxb-), Stripe (sk_live_), Google (ya29.) tokens in a body",
    "websocket-message": "tokens in WebSocket messages (HAR _webSocketMessages, flows)",
    "tcp-message": "credentials in a raw TCP flow's messages",
    "flow-trailers": "request and response trailers of a flow",
    "flow-metadata": "a flow's comment and metadata",
    "har-comment": "a HAR entry's comment",
    "har-page-title": "a HAR page's title (Chrome writes the page URL)",
}

GENERIC_HOST = "api.example.com"
_RANDOM = random.Random(16)
_ALNUM = string.ascii_letters + string.digits


def token(n: int = 32) -> str:
    return "".join(_RANDOM.choice(_ALNUM) for _ in range(n))


def jwt(subject: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(_RANDOM.randbytes(32)).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'iat': 1488554700})}.{signature}"


def password(n: int) -> str:
    return f"Tr0ub4dor&{n:02d}-" + token(6)


class Draws:
    """A later corpus's random values (tokens, passwords, digits), drawn from its own generator: `reseed` at the start
    of its `build` makes the same corpus every time. `password` is the pattern of its passwords' start (`Gq{}vz-`)."""

    def __init__(self, seed: int, password: str, token_length: int = 28):
        self._seed, self._password, self._token_length = seed, password, token_length
        self.random = random.Random(seed)

    def reseed(self) -> None:
        self.random.seed(self._seed)

    def token(self, n: int | None = None, alphabet: str = _ALNUM) -> str:
        return "".join(self.random.choice(alphabet) for _ in range(self._token_length if n is None else n))

    def hexed(self, n: int = 32) -> str:
        return self.token(n, "0123456789abcdef")

    def pw(self, n: int) -> str:
        lower = "".join(self.random.choice(string.ascii_lowercase) for _ in range(6))
        return self._password.format(n) + lower + str(self.random.randint(100, 999))

    def digits(self, n: int = 8) -> str:
        return str(self.random.randint(10 ** (n - 1), 10**n - 1))


@dataclass
class Call:
    method: str
    url: str
    status: int | None = 200
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes | None = None
    response_body: bytes | None = None
    content_type: str = "application/json"
    har: Callable[[dict], None] | None = None  # changes to the HAR entry
    flow: Callable[[Any], None] | None = None  # changes to the flow
    gzip_response: bool = False  # in the flow: Content-Encoding gzip; in HAR: base64


@dataclass
class Corpus:
    har: Path
    flow: Path
    needles: dict[str, tuple[str, ...]]  # kind -> strings no output may contain


class _Builder:
    def __init__(self, kinds: dict[str, str] = KINDS) -> None:  # (a later corpus's kinds: its needles)
        self.calls: list[Call] = []
        self.needles: dict[str, list[str]] = {kind: [] for kind in kinds}
        self.pages: list[dict] = []
        self.tcp_secrets: tuple[str, str] = ("", "")
        self._device_key = token(36)  # a credential-named key planted in every good Sense night

    def plant(self, kind: str, value: str, *more: str) -> str:
        self.needles[kind] += [value, *more]
        return value

    def add(self, call: Call) -> None:
        self.calls.append(call)


def _plant_everything(b: _Builder) -> None:
    sense_auth = ("Authorization", "Bearer " + b.plant("authorization-bearer", "2." + token(40)))
    user_pw = password(1)
    basic = base64.b64encode(f"alice:{user_pw}".encode()).decode()
    b.plant("authorization-basic", basic, user_pw)
    wrap = ("Authorization", f'WRAP access_token="{b.plant("authorization-wrap", "http%3a%2f%2f" + token(48))}"')
    digest_response = b.plant("authorization-digest", _RANDOM.randbytes(16).hex())
    headers = [
        ("X-Authorization", b.plant("x-authorization", token(36))),
        ("X-AccessToken", b.plant("x-accesstoken", "ax-" + token(30))),
        ("Ocp-Apim-Subscription-Key", b.plant("ocp-apim-subscription-key", _RANDOM.randbytes(16).hex())),
        ("X-Authentication", b.plant("x-authentication", "auth-" + token(24))),
        ("X-Forwarded-Authorization", "Bearer " + b.plant("x-forwarded-authorization", token(44))),
        ("X-Refresh", b.plant("x-refresh", "rf." + token(40))),
        ("X-Api-Key", b.plant("x-api-key", "key_" + token(28))),
        ("X-Sense-Context", b.plant("unknown-header", "ctx:" + token(20) + ":plain")),
        ("Authorization", "Basic " + basic),
        ("Proxy-Authorization",
         "Basic " + b.plant("proxy-authorization", base64.b64encode(b"proxy:" + token(12).encode()).decode())),
        ("Cookie", f"sid={b.plant('cookie', token(26))}; theme={b.plant('cookie', 'dark-' + token(10))}"),
    ]
    # good device responses, with credentials all around them
    b.add(Call("GET", BAND_EVENTS_URL + "&access_token=" + b.plant("query-access-token", token(40)), 200,
               [wrap, *headers, ("Accept", "application/json")],
               [("Set-Cookie", f"ARRAffinity={b.plant('set-cookie-folded', token(30))}; Path=/; HttpOnly, "
                               f"ASP.NET_SessionId={b.plant('set-cookie-folded', token(24).lower())}; Path=/; "
                               "Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
                ("Content-Type", "application/json")],
               response_body=json.dumps(band_event("2519812557630091728")).encode(),
               har=lambda e: _har_cookies(e, b)))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02?jwt=" + b.plant("query-jwt", jwt("query-jwt"))
               + "&session_id=" + b.plant("query-session-id", token(32).lower()), 200,
               [sense_auth, ("Authorization", f'Digest username="alice", realm="hello", nonce="abc", '
                                               f'response="{digest_response}"')],
               [("Set-Cookie", f"AWSALB={b.plant('set-cookie-lines', token(40))}; Path=/\n"
                               f"AWSALBCORS={b.plant('set-cookie-lines', token(40))}; Path=/; SameSite=None")],
               response_body=json.dumps(_night(b)).encode()))
    b.add(Call("GET", "https://api.hello.is/v1/room/current?temp_unit=c", 200, [sense_auth],
               [("WWW-Authenticate",
                 f'Bearer realm="hello", error="stale", t="{b.plant("www-authenticate", token(30))}"')],
               response_body=json.dumps(_room()).encode()))
    # a device data path with "token" in it: its body is data and stays
    b.add(Call("GET", "https://prodphswus.dns-cargo.com/v1/Events(eventId='2519812557630091729',token='"
               + b.plant("path-odata-token", token(34)) + "')", 200, [wrap],
               response_body=json.dumps(band_event("2519812557630091729", calories=300)).encode()))
    b.add(Call("GET", "https://api.hello.is/v1/account/" + b.plant("path-jwt", jwt("path")) + "/profile", 200,
               [sense_auth], response_body=b'{"name": "Sleeper"}'))
    b.add(Call("GET",
               "https://api.hello.is/v1/room/current;jsessionid=" + b.plant("path-jsessionid", token(32).upper()), 200,
               [sense_auth], response_body=json.dumps(_room()).encode()))
    # rejected device responses
    rejected = _night(b)
    rejected["events"] = "oops"
    rejected["access_token"] = b.plant("rejected-body-key", token(36))
    rejected["account"] = {"password": b.plant("rejected-body-key", password(2)),
                           "sessionToken": b.plant("rejected-body-key", token(28))}
    rejected["meta"] = json.dumps({"refresh_token": b.plant("rejected-json-in-string", token(38)), "n": 1})
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-03", 200, [sense_auth],
               response_body=json.dumps(rejected).encode()))
    quoted = _night(b)
    quoted["date"] = "2017-03-04"
    quoted["events"] = b.plant("reason-quotes-value", jwt("reason"))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-04", 200, [sense_auth],
               response_body=json.dumps(quoted).encode()))
    # sign-in and token calls
    client_secret = b.plant("sign-in-form", token(40))
    sign_in_password = quote(b.plant("sign-in-form", password(3)))
    b.add(Call("POST", "https://login.example.com/oauth2/v2.0/token", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "application/json")],
               f"grant_type=password&username=alice%40example.com&password={sign_in_password}"
               f"&client_secret={client_secret}".encode(),
               json.dumps({"access_token": b.plant("token-response", jwt("access")),
                           "refresh_token": b.plant("token-response", "M.R3_BAY." + token(60)),
                           "id_token": b.plant("token-response", jwt("id")), "token_type": "Bearer",
                           "expires_in": 3600}).encode(),
               content_type="application/x-www-form-urlencoded"))
    b.add(Call("POST", "https://api.hello.is/v1/oauth2/token", 200, [("Content-Type", "application/json")], [],
               json.dumps({"grant_type": "password", "username": "alice@example.com",
                           "password": b.plant("sign-in-json", password(4)),
                           "client_secret": b.plant("sign-in-json", "cs-" + token(20))}).encode(),
               json.dumps({"access_token": b.plant("base64-token-response", "2." + token(32)),
                           "refresh_token": b.plant("base64-token-response", "2." + token(32)),
                           "token_type": "Bearer"}).encode(), gzip_response=True))
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nalice\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"passwd\"\r\n\r\n"
                 f"{b.plant('sign-in-multipart', password(5))}\r\n--{boundary}--\r\n")
    b.add(Call("POST", "https://login.example.com/login", 200,
               [("Content-Type", f"multipart/form-data; boundary={boundary}")], [("Content-Type", "text/html")],
               multipart.encode(), b"<html>welcome</html>", content_type=f"multipart/form-data; boundary={boundary}"))
    ppft = b.plant("token-call-fields", "DeNjYpuC!" + token(40) + "$$")
    b.add(Call("POST", "https://login.live.com/ppsecure/post.srf", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "text/html")],
               f"login=alice%40example.com&PPFT={quote(ppft)}&code_verifier={b.plant('token-call-fields', token(43))}"
               f"&jwt={b.plant('token-call-fields', jwt('field'))}"
               f"&authorization={b.plant('token-call-fields', 'plain-' + token(20))}".encode(),
               b"<html>ok</html>", content_type="application/x-www-form-urlencoded"))
    b.add(Call("POST", "https://sso.example.com/auth/soap/login", 200, [("Content-Type", "text/xml")],
               [("Content-Type", "text/xml")],
               f"<Envelope><Body><Login><User>alice</User><Secret>{b.plant('sign-in-xml', password(6))}</Secret>"
               f"</Login></Body></Envelope>".encode(),
               f"<Envelope><Body><Ticket>{b.plant('sign-in-xml', token(30))}</Ticket></Body></Envelope>".encode(),
               content_type="text/xml"))
    assertion_id = "_" + _RANDOM.randbytes(20).hex()
    saml = base64.b64encode(
        f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion ID="{assertion_id}">'
        f"<saml:Subject>alice@example.com</saml:Subject><ds:SignatureValue>{token(80)}</ds:SignatureValue>"
        "</saml:Assertion></samlp:Response>".encode()).decode()
    b.plant("saml-assertion", saml[40:100])
    b.add(Call("POST", "https://app.example.com/saml/acs", 302, [("Content-Type", "application/x-www-form-urlencoded")],
               [("Location", "https://app.example.com/home#id_token=" + b.plant("location", jwt("location")))],
               f"SAMLResponse={quote(saml)}&RelayState=home".encode(), b"",
               content_type="application/x-www-form-urlencoded"))
    # bodies that are not sign-in calls
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/profile", 200, [("Content-Type", "application/json")], [],
               json.dumps({"name": "Alice", "password": b.plant("password-other-body", password(7)),
                           "settings": {"new_password": b.plant("password-other-body", password(8))}}).encode(),
               json.dumps({"saved": True}).encode(),
               har=lambda e: e["request"]["postData"].update(
                   params=[{"name": "pwd", "value": b.plant("postdata-params", password(9))}])))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v2/share/{b.plant('path-random-token', token(40))}/summary"
               f"?t={b.plant('query-random-token', token(48))}", 200, [],
               [("Content-Type", "application/json")], None,
               json.dumps({
                   "user": "alice", "steps": 8012, "access_token": b.plant("generic-credential-keys", token(40)),
                   "auth": {"api_key": b.plant("generic-credential-keys", "ak_" + token(30)), "scope": "read"},
                   "devices": [{"id": 1, "pairing_secret": b.plant("generic-credential-keys", password(10))}],
                   "avatar": b.plant("generic-jwt-value", jwt("avatar")),
                   "photo": "https://cdn.example.com/p.jpg?Expires=1700000000&Signature="
                            + b.plant("generic-signed-url", token(64)) + "&Key-Pair-Id=APKAEIBAERJR2EXAMPLE",
                   "pem": "-----BEGIN PRIVATE KEY-----\n"
                          + b.plant("private-key", base64.b64encode(_RANDOM.randbytes(48)).decode())
                          + "\n-----END PRIVATE KEY-----\n",
                   "notes": "ci tokens: " + b.plant("prefixed-tokens", "ghp_" + token(36)) + " "
                            + b.plant("prefixed-tokens", "xoxb-" + token(12) + "-" + token(24)),
               }).encode()))
    b.add(Call("POST", "https://cdn.example.com/soap/Sync", 200, [("Content-Type", "text/xml")],
               [("Content-Type", "text/xml")], b"<Envelope><Body><Ping/></Body></Envelope>",
               f"<Envelope><Header><wsse:Security><wsse:BinarySecurityToken ValueType=\"x\">"
               f"{b.plant('xml-element', token(40))}</wsse:BinarySecurityToken><Password>"
               f"{b.plant('xml-element', password(15))}</Password></wsse:Security></Header></Envelope>".encode(),
               content_type="text/xml"))
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/settings", 200,
               [("Content-Type", "application/x-www-form-urlencoded")],
               [("Content-Type", "application/json")],
               ("data=" + quote(json.dumps({"user": "alice", "password": b.plant("form-json-param", password(16))}),
                                safe="")).encode(),
               json.dumps({"attributes": [{"name": "theme", "value": "dark"},
                                          {"name": "api_key", "value": b.plant("name-value-pairs", "nv-" + token(26))},
                                          {"Key": "ClientSecret", "Value": b.plant("name-value-pairs", password(17))}]
                           }).encode(), content_type="application/x-www-form-urlencoded"))
    aws_id = b.plant("aws-keys", "AKIA" + "".join(_RANDOM.choice(string.ascii_uppercase + string.digits)
                                                  for _ in range(16)))
    aws_secret = b.plant("aws-keys", base64.b64encode(_RANDOM.randbytes(30)).decode())
    b.add(Call("GET", "https://cdn.example.com/config.txt", 200, [], [("Content-Type", "text/plain")], None,
               f"[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_secret}\n"
               f"stripe={b.plant('prefixed-tokens', 'sk_live_' + token(24))}\n".encode(), content_type="text/plain"))
    b.add(Call("GET", "https://app.example.com/dashboard", 200, [], [("Content-Type", "text/html")], None,
               f"<script>fetch('/api', {{headers: {{'Authorization': "
               f"'Bearer {b.plant('bearer-in-text', token(44))}'}}}})"
               f"</script><a href=\"/x?at={b.plant('prefixed-tokens', 'ya29.' + token(60))}\">x</a>".encode(),
               content_type="text/html"))
    # URLs everywhere
    b.add(Call("GET", f"https://alice:{b.plant('url-userinfo', password(11))}@cdn.example.com/private/report.pdf", 200,
               [("Referer", "https://app.example.com/cb?access_token=" + b.plant("referer", token(38)))],
               [], None, b"%PDF-1.4", content_type="application/pdf"))
    b.add(Call("GET", "https://app.example.com/oauth/callback?code=" + b.plant("query-code", "4/0A" + token(60))
               + "&state=xyz&redirect_uri="
               + quote("https://app.example.com/done?token=" + b.plant("nested-redirect-uri", token(34)), safe=""),
               302, [], [("Location", "https://app.example.com/next")], None, b"",
               har=lambda e: e["response"].update(redirectURL="https://app.example.com/next?jwt="
                                                   + b.plant("redirect-url", jwt("redirect")) + "&session_id="
                                                   + b.plant("redirect-url", token(28).lower()) + "#access_token="
                                                   + b.plant("fragment-token", token(40)) + "&token_type=bearer")))
    b.add(Call("GET", "https://files.blob.core.windows.net/c/sleep.csv?sv=2021-08-06&se=2030-01-01&sr=b&sp=r&sig="
               + quote(b.plant("signed-url-sig", base64.b64encode(_RANDOM.randbytes(32)).decode()), safe=""), 200, [],
               [], None, b"a,b\n1,2\n", content_type="text/csv"))
    b.add(Call("GET", "https://bucket.s3.amazonaws.com/export.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
               + b.plant("signed-url-amz", "ASIA" + "".join(_RANDOM.choice(string.ascii_uppercase) for _ in range(16)))
               + "%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"
               "&X-Amz-Security-Token=" + quote(b.plant("signed-url-amz", "IQoJb3JpZ2luX2VjE" + token(80)), safe="")
               + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + b.plant("signed-url-amz", _RANDOM.randbytes(32).hex()),
               200, [], [], None, b"PK\x03\x04", content_type="application/zip"))
    b.add(Call("GET", "https://maps.googleapis.com/maps/api/staticmap?center=0,0&key="
               + b.plant("google-api-key", "AIza" + token(35)), 200, [], [], None, b"\x89PNG", content_type="image/png",
               har=lambda e: e.update(_initiator={
                   "type": "script",
                   "url": "https://app.example.com/app.js?token=" + b.plant("initiator-url", token(36)),
                   "stack": {"callFrames": [{"functionName": "load",
                                             "url": "https://app.example.com/boot.js?auth_token="
                                             + b.plant("initiator-url", token(32)), "lineNumber": 1}]}},
                   comment="signed in with password=" + b.plant("har-comment", password(12)))))
    # WebSocket, TCP, trailers, comments
    ws_token = b.plant("websocket-message", token(40))
    ws_slack = b.plant("websocket-message", "xoxp-" + token(10) + "-" + token(30))
    b.add(Call("GET", "https://rt.example.com/socket", 101, [("Upgrade", "websocket")], [("Upgrade", "websocket")],
               har=lambda e: e.update(_webSocketMessages=[
                   {"type": "send", "time": 1.0, "opcode": 1, "data": json.dumps({"op": "auth", "token": ws_token})},
                   {"type": "receive", "time": 1.1, "opcode": 1, "data": "note " + ws_slack}]),
               flow=lambda f: _websocket(f, [json.dumps({"op": "auth", "token": ws_token}).encode(),
                                             ("note " + ws_slack).encode()])))
    trailer_secret = b.plant("flow-trailers", token(36))
    b.add(Call("POST", "https://grpc.example.com/sync.Sync/Push", 200, [("Content-Type", "application/grpc")],
               [("Content-Type", "application/grpc")], b"\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00",
               content_type="application/grpc",
               flow=lambda f: _trailers(f, trailer_secret, b.plant("flow-trailers", token(30)),
                                        b.plant("flow-metadata", password(13)), b.plant("flow-metadata", token(33)))))
    b.tcp_secrets = (b.plant("tcp-message", token(38)), b.plant("tcp-message", password(14)))
    b.pages.append({"startedDateTime": "2017-03-03T15:31:00.000Z", "id": "page_1",
                    "title": "https://app.example.com/?access_token=" + b.plant("har-page-title", token(40)),
                    "pageTimings": {}})
    b.plant("device-body-key", b._device_key)


def _night(b: _Builder) -> dict:
    return {
        "score": 80, "score_condition": "IDEAL", "message": "You slept well.", "date": "2017-03-02",
        "events": [{"timestamp": 1488520800000 + i * 60000, "timezone_offset": -28800000, "duration_millis": 60000,
                    "message": "Asleep", "sleep_depth": 50, "sleep_state": "SOUND", "event_type": "IN_BED"}
                   for i in range(3)],
        "metrics": [{"name": "total_sleep", "value": 400, "unit": "MINUTES", "condition": "IDEAL"}],
        "session_token": b._device_key,
    }


def _room() -> dict:
    return {"temperature": {"value": 21.5, "message": "ok", "condition": "IDEAL", "last_updated_utc": 1488554700000,
                            "unit": "c"}}


def _har_cookies(e: dict, b: _Builder) -> None:
    e["request"]["cookies"] = [{"name": "sid", "value": b.plant("har-cookies", token(26))}]
    e["response"]["cookies"] = [{"name": "ARRAffinity", "value": b.plant("har-cookies", token(30)), "path": "/"}]
    e["request"]["queryString"] = [{"name": "access_token", "value": b.needles["query-access-token"][0]}]


def _websocket(flow: Any, messages: list[bytes]) -> None:
    from mitmproxy import websocket

    flow.websocket = websocket.WebSocketData(
        messages=[websocket.WebSocketMessage(1, i % 2 == 0, m, 1488554700 + i) for i, m in enumerate(messages)])


def _trailers(flow: Any, request_secret: str, response_secret: str, comment_secret: str, meta_secret: str) -> None:
    from mitmproxy import http

    flow.request.trailers = http.Headers(((b"x-request-signature", request_secret.encode()),))
    flow.response.trailers = http.Headers(((b"grpc-status", b"0"), (b"x-session", response_secret.encode())))
    flow.comment = f"logged in with password={comment_secret}"
    flow.metadata = {"auth": {"session": meta_secret}}


def _har_entry(call: Call) -> dict:
    headers = call.request_headers
    e = entry(call.url, None, method=call.method, status=call.status or 0, request_headers={},
              post=None if call.request_body is None else call.request_body.decode("utf-8", "replace"))
    e["request"]["headers"] = [{"name": k, "value": v} for k, v in headers]
    e["response"]["headers"] = [{"name": k, "value": v} for k, v in call.response_headers]
    if call.request_body is not None:
        e["request"]["postData"]["mimeType"] = call.content_type
    content = e["response"]["content"]
    body = call.response_body
    if body is not None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if call.gzip_response or text is None:
            content.update(text=base64.b64encode(body).decode(), encoding="base64")
        else:
            content["text"] = text
        content["size"] = len(body)
    if call.har:
        call.har(e)
    return e


def _flow(call: Call, n: int) -> Any:
    from urllib.parse import urlsplit

    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=call.status is not None)
    url = urlsplit(call.url)
    request = flow.request
    request.method, request.scheme = call.method, url.scheme
    request.host, request.port = url.hostname or "", url.port or 443
    request.path = call.url.split(url.netloc, 1)[1] or "/"
    if url.username:
        request.authority = url.netloc
    request.headers.fields = tuple((k.encode(), v.encode()) for k, v in call.request_headers)
    request.content = call.request_body
    request.timestamp_start = 1488554700.0 + n
    request.timestamp_end = request.timestamp_start + 0.05
    if flow.response is not None:
        response = flow.response
        response.status_code = call.status
        fields = []
        for k, v in call.response_headers:
            fields += [(k.encode(), line.encode()) for line in v.split("\n")]  # one field per Set-Cookie line
        response.headers.fields = tuple(fields)
        if call.gzip_response:
            response.headers["Content-Encoding"] = "gzip"
        response.content = call.response_body
        response.timestamp_start = request.timestamp_end + 0.1
        response.timestamp_end = response.timestamp_start + 0.02
    if call.flow:
        call.flow(flow)
    flow.id = f"00000000-0000-4000-8000-{n:012d}"
    flow.client_conn.id = f"00000000-0000-4000-8001-{n:012d}"
    flow.server_conn.id = f"00000000-0000-4000-8002-{n:012d}"
    return flow


def _tcp_flow(secrets: tuple[str, str]) -> Any:
    from mitmproxy import tcp
    from mitmproxy.test import tflow

    flow = tflow.ttcpflow()
    flow.messages = [tcp.TCPMessage(True, f"AUTH token={secrets[0]}\r\n".encode(), 1488554800.0),
                     tcp.TCPMessage(False, b"+OK\r\n", 1488554800.1),
                     tcp.TCPMessage(True, f"LOGIN alice password={secrets[1]}\r\n".encode(), 1488554800.2)]
    flow.id = "00000000-0000-4000-8000-999999999999"
    return flow


def build(folder: Path) -> Corpus:
    """Write corpus.har and corpus.flow into `folder`; returns them and the needles of every kind."""
    global _RANDOM
    _RANDOM = random.Random(16)  # the same corpus on every call
    b = _Builder()
    _plant_everything(b)
    return write(b, folder, "corpus", [_tcp_flow(b.tcp_secrets)])


def built(folder: Path, stem: str, draws: Draws, seed: int, kinds: dict[str, str],
          plant: Callable[[_Builder], None], more_flows: Callable[[_Builder], list] = lambda b: []) -> Corpus:
    """A later corpus written as `stem` into `folder`: its `draws` reseeded and this module's generator seeded with
    `seed` (the same corpus every time), what `plant` plants in a builder of its `kinds`, then `more_flows` of it."""
    global _RANDOM
    draws.reseed()
    _RANDOM = random.Random(seed)
    b = _Builder(kinds)
    plant(b)
    return write(b, folder, stem, more_flows(b))


def write(b: _Builder, folder: Path, stem: str, more_flows: list) -> Corpus:
    """Write what `b` planted as `stem`.har and `stem`.flow (with `more_flows` at its end) into `folder`."""
    har = {"log": {"version": "1.2", "creator": {"name": stem, "version": "1"}, "pages": b.pages,
                   "entries": [_har_entry(c) for c in b.calls]}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.har").write_text(json.dumps(har, indent=1))
    from mitmproxy import io as mio

    buffer = io.BytesIO()
    writer = mio.FlowWriter(buffer)
    for n, call in enumerate(b.calls):
        writer.add(_flow(call, n))
    for flow in more_flows:
        writer.add(flow)
    (folder / f"{stem}.flow").write_bytes(buffer.getvalue())
    needles = {kind: tuple(dict.fromkeys(values)) for kind, values in b.needles.items()}
    if empty := [kind for kind, values in needles.items() if not values]:
        raise AssertionError(f"kinds planted nowhere: {empty}")
    return Corpus(folder / f"{stem}.har", folder / f"{stem}.flow", needles)


def main(build: Callable[[Path], Corpus]) -> None:
    corpus = build(Path(sys.argv[1]))
    print(f"{corpus.har}, {corpus.flow}: {len(corpus.needles)} kinds, "
          f"{sum(len(v) for v in corpus.needles.values())} secrets")


if __name__ == "__main__":
    main(build)
