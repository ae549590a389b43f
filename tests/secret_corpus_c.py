"""A third corpus of planted secrets, designed apart from the first two (tests/secret_corpus.py, secret_corpus_b.py)
as a hostile tester would: credential names in other languages and scripts and odd casings, short and lower-case
tokens and numeric PINs under credential names, vendor key formats (AWS, GCP, Azure, Slack, GitHub, Stripe,
OpenAI, Discord, PGP…), JSON inside base64 and inside JSON arrays in strings, JWTs as keys, names and header names,
SPA fragments, HAR comments at every level, WebSocket frames of other protocols (STOMP, socket.io), nested form
names, and Bearer tokens in headers that are not about authorization.

    python tests/secret_corpus_c.py DIR
"""

from __future__ import annotations

import base64
import json
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
import secret_corpus_b as second  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "data.nightowl.test"
token, hex_token = second.token, second.hex_token  # drawn from the second corpus's generator, seeded anew in build


def lower_letters(n: int) -> str:
    """Lower-case letters alone, pronounceable (consonant, vowel): what reads as a word to a shape rule."""
    draw = second._RANDOM.choice
    return "".join(draw("bdfgklmnprstvz") + draw("aeiou") for _ in range(n // 2))


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def jwt(subject: str, parts: int = 3) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    tail = [base64.urlsafe_b64encode(second._RANDOM.randbytes(24)).decode().rstrip("=") for _ in range(parts - 2)]
    return ".".join([part({"alg": "ES256", "kid": "n1"}), part({"sub": subject, "aud": "nightowl"}), *tail])


def human_password(n: int) -> str:
    """A password people choose: words, a year and a sign."""
    return f"Sommer{2020 + n}!" + lower_letters(4)


KINDS = {
    "i18n-json-keys": "password keys in other languages and scripts (Passwort, contraseña, пароль, パスワード, 密码…)",
    "i18n-query-names": "password parameters in other languages in a query string (Kennwort, senha, hasło, şifre)",
    "casing-names": "credential names in odd casings (ACCESS-TOKEN, aCCESStOKEN, X_API_KEY, SessionID)",
    "short-lower-values": "short and lower-case values without digits under credential names (token, auth, sid…)",
    "numeric-pins": "numeric PINs and one-time codes under code, pin, otp and passcode names",
    "fragment-spa-route": "a token in a URL fragment that is a route (#/callback?access_token=…), a bare JWT fragment",
    "har-comments": "comments on a HAR log, page, request, response, header, cookie, query item and body",
    "har-custom-fields": "custom HAR fields (_securityDetails, _resourceType-like vendor fields) holding tokens",
    "websocket-protocols": "STOMP passcode and socket.io jwt in WebSocket messages (HAR and flow)",
    "header-name-token": "a header whose name is itself a token (HAR and flow)",
    "bearer-other-headers": "Bearer tokens in headers not about authorization (Warning, X-Forwarded-User, Link)",
    "proxy-basic-lower": "Proxy-Authorization with a lower-case basic scheme",
    "form-nested-names": "user[password], credentials.secret, auth[token] in a form body of no sign-in call",
    "multipart-i18n": "a multipart field named Passwort, a text part holding api_key: …, a token in a part's header",
    "json-in-base64": "a token in JSON stored base64 inside a JSON string",
    "json-array-in-string": "a refresh_token in a JSON array inside a JSON string",
    "jwt-as-key": "a JWT as a JSON key and as a cookie name",
    "jwe-five-parts": "an encrypted JWT (five parts) under a neutral key",
    "pem-variants": "RSA, EC, OpenSSH, encrypted and PGP private key blocks",
    "cloud-keys": "AWS secret key, GCP service account key, Azure connection string and SAS",
    "chat-keys": "Slack webhook URL and app token, Discord and Telegram bot tokens",
    "vendor-prefixed": "OpenAI, Anthropic, Hugging Face, Stripe webhook, GitLab, DigitalOcean, Shopify, PyPI keys",
    "mapbox-token": "a Mapbox public token (pk.eyJ…) in a query",
    "rejected-i18n": "a rejected device body with credential keys in other languages and a base64 JSON token",
    "reason-i18n": "a rejected body whose wrong value is a password under a foreign key",
    "generic-i18n-keys": "a --generic response with foreign credential keys and vendor keys as values",
    "verify-call": "a one-time code posted to a verification endpoint (not a sign-in URL by its words)",
    "device-text-pairs": "password=… and пароль: … inside a good device response's message (a table's text)",
    "html-hidden-inputs": "a CSRF token and an API key in an HTML page's hidden input and meta element",
    "jwt-content-type": "a JWT as a response's media type (inspect's content type column)",
    "email-path": "an e-mail address as a path segment (report, inspect, rejects, generic tables; scrub keeps it)",
}
KEPT_BY_SCRUB = {"email-path"}  # not a credential: a scrubbed copy keeps it, as it keeps a sign-in's user name


# Numbers planted are 8 digits: a shorter one turns up in an output's timings or hashes by chance.


def _plant_everything(b: first._Builder) -> None:  # noqa: PLR0915 (one list of plantings)
    p = b.plant
    # good device responses, with odd names and places around them
    header_name = p("header-name-token", token(32))
    night = first._night(b)
    night["message"] = ("You slept well. Wi-Fi password=" + p("device-text-pairs", human_password(21))
                        + "; пароль: " + p("device-text-pairs", human_password(22)))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02?ACCESS-TOKEN=" + p("casing-names", token(30))
               + "&aCCESStOKEN=" + p("casing-names", token(28)) + "&SessionID=" + p("casing-names", lower_letters(12)),
               200, [(header_name, "1"), ("Authorization", "Bearer " + token(30)),
                     ("Warning", '199 - "Bearer ' + p("bearer-other-headers", token(34)) + '"'),
                     ("X-Forwarded-User", "Bearer " + p("bearer-other-headers", token(30))),
                     ("Proxy-Authorization", "basic " + p("proxy-basic-lower", b64("proxy:" + human_password(1))))],
               [("Link", "<https://cdn.nightowl.test/a.js?X-Auth=" + p("bearer-other-headers", token(26))
                 + ">; rel=preload"), ("Content-Type", "application/json")],
               response_body=json.dumps(night).encode(),
               har=lambda e: _har_comments(e, b)))
    b.add(Call("GET", "https://api.hello.is/v1/room/current", 200, [("X_API_KEY", p("casing-names", token(24)))],
               response_body=json.dumps(first._room()).encode(),
               har=lambda e: e.update(_securityDetails={"protocol": "TLS 1.3",
                                                        "sessionTicket": p("har-custom-fields", token(40)),
                                                        "pinnedKey": "sha256/" + p("har-custom-fields", b64(
                                                            second._RANDOM.randbytes(32)))})))
    b.add(Call("GET", "https://prodphscus.dns-cargo.com/v1/Events?$filter=x", 200, [],
               response_body=json.dumps(band_event("2519812557630091740", calories=300)).encode()))
    # rejected device responses
    rejected = first._night(b)
    rejected["date"] = "2017-03-07"
    rejected["events"] = {"broken": True}
    rejected["konto"] = {"Passwort": p("rejected-i18n", human_password(2)),
                         "пароль": p("rejected-i18n", human_password(3)),
                         "blob": b64(json.dumps({"access_token": p("rejected-i18n", token(36))}))}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-07", 200, [],
               response_body=json.dumps(rejected).encode()))
    quoted = first._night(b)
    quoted["date"] = "2017-03-08"
    quoted["events"] = {"contraseña": p("reason-i18n", human_password(4))}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-08", 200, [],
               response_body=json.dumps(quoted).encode()))
    # unknown device paths, a person in them
    b.add(Call("GET", "https://api.hello.is/v1/account/" + p("email-path", "carol.diaz@nightowl.test")
               + "/devices", 200, [], response_body=b'{"ok": true}'))
    # a generic API
    generic = {
        "minutes": 431,
        "Passwort": p("generic-i18n-keys", human_password(5)),
        "mot_de_passe": p("generic-i18n-keys", human_password(6)),
        "пароль": p("i18n-json-keys", human_password(7)),
        "パスワード": p("i18n-json-keys", human_password(8)),
        "密码": p("i18n-json-keys", human_password(9)),
        "contraseña": p("i18n-json-keys", human_password(10)),
        "hasło": p("i18n-json-keys", human_password(11)),
        "şifre": p("i18n-json-keys", human_password(12)),
        "token": p("short-lower-values", lower_letters(10)),
        "auth": p("short-lower-values", lower_letters(14)),
        "nonce": p("short-lower-values", lower_letters(12)),
        "api_key": p("short-lower-values", "hunter"),
        "code": p("numeric-pins", "48291375"),
        "pin": p("numeric-pins", "73910846"),
        "device": {"otp": p("numeric-pins", "55901287"), "firmware": "2.4.1", "serial": "SN-0042"},
        "payload": b64(json.dumps({"session": {"refresh_token": p("json-in-base64", token(40))}})),
        "history": json.dumps([{"refresh_token": p("json-array-in-string", token(38))}]),
        jwt("as-key"): {"seen": 1},
        "blob": p("jwe-five-parts", jwt("jwe", parts=5)),
        "notes": [
            "aws_secret_access_key = " + p("cloud-keys", token(40)),
            "DefaultEndpointsProtocol=https;AccountName=nightowl;AccountKey=" + p("cloud-keys", b64(
                second._RANDOM.randbytes(48))) + ";EndpointSuffix=core.windows.net",
            "https://nightowl.blob.core.windows.net/c/x.csv?sv=2022-11-02&se=2030-01-01&sp=r&sig="
            + p("cloud-keys", b64(second._RANDOM.randbytes(32)).replace("+", "%2B").replace("/", "%2F")),
            "https://hooks.slack.com/services/T0" + p("chat-keys", token(8, string.ascii_uppercase + string.digits))
            + "/B0" + token(8, string.ascii_uppercase + string.digits) + "/" + p("chat-keys", token(24)),
            "xapp-1-A0" + p("chat-keys", token(9, string.ascii_uppercase + string.digits) + "-" + hex_token(60)),
            "discord: " + p("chat-keys", b64(str(second._RANDOM.randrange(10**17, 10**18))).rstrip("=") + "." + token(6)
                            + "." + token(27)),
            "telegram bot " + p("chat-keys", str(second._RANDOM.randrange(10**8, 10**9)) + ":AA" + token(33)),
            "openai " + p("vendor-prefixed", "sk-proj-" + token(48)),
            "anthropic " + p("vendor-prefixed", "sk-ant-api03-" + token(40)),
            "hf " + p("vendor-prefixed", "hf_" + token(34)),
            "stripe webhook " + p("vendor-prefixed", "whsec_" + token(32)),
            "gitlab " + p("vendor-prefixed", "glpat-" + token(20)),
            "do " + p("vendor-prefixed", "dop_v1_" + hex_token(64)),
            "shopify " + p("vendor-prefixed", "shpat_" + hex_token(32)),
            "pypi " + p("vendor-prefixed", "pypi-AgEIcHlwaS5vcmc" + token(50)),
        ],
        "service_account": json.dumps({"type": "service_account", "project_id": "nightowl-1",
                                       "private_key_id": p("cloud-keys", hex_token(40)),
                                       "private_key": "-----BEGIN PRIVATE KEY-----\n" + p("cloud-keys", token(64))
                                       + "\n-----END PRIVATE KEY-----\n",
                                       "client_email": "svc@nightowl-1.iam.gserviceaccount.com"}),
        "keys": ["-----BEGIN RSA PRIVATE KEY-----\n" + p("pem-variants", token(64)) + "\n-----END RSA PRIVATE KEY-----",
                 "-----BEGIN EC PRIVATE KEY-----\n" + p("pem-variants", token(48)) + "\n-----END EC PRIVATE KEY-----",
                 "-----BEGIN OPENSSH PRIVATE KEY-----\n" + p("pem-variants", token(70))
                 + "\n-----END OPENSSH PRIVATE KEY-----",
                 "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + p("pem-variants", token(64))
                 + "\n-----END ENCRYPTED PRIVATE KEY-----",
                 "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + p("pem-variants", token(64))
                 + "\n-----END PGP PRIVATE KEY BLOCK-----"],
    }
    b.add(Call("GET", f"https://{GENERIC_HOST}/v3/people/carol%40nightowl.test/nights", 200, [],
               [("Content-Type", "application/json")], None, json.dumps(generic).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v3/tiles?access_token=" + p("mapbox-token", "pk." + jwt("map")[4:60]),
               200, [], [("Content-Type", "application/json")], None, b'{"tiles": 3}'))
    # URLs with fragments
    b.add(Call("GET", "https://app.nightowl.test/start", 302, [],
               [("Location", "https://app.nightowl.test/#/auth/callback?access_token=" + p("fragment-spa-route",
                                                                                           token(30))
                 + "&expires_in=3600"), ("Content-Location", "/x#" + p("fragment-spa-route", jwt("frag")))],
               None, b""))
    page = (f'<html><head><meta name="csrf-token" content="{p("html-hidden-inputs", lower_letters(16))}"></head>'
            f'<body><form><input type="hidden" name="api_key" value="{p("html-hidden-inputs", token(14))}">'
            '<input name="q" value="sleep"></form></body></html>')
    b.add(Call("GET", "https://app.nightowl.test/settings", 200, [], [("Content-Type", "text/html")], None,
               page.encode(), content_type="text/html"))
    media = "application/vnd." + p("jwt-content-type", jwt("media"))
    b.add(Call("GET", "https://app.nightowl.test/api/feed", 200, [], [("Content-Type", media)], None, b"x",
               har=lambda e: e["response"]["content"].update(mimeType=media)))
    # bodies of calls that are no sign-in by their URL
    b.add(Call("POST", f"https://{GENERIC_HOST}/v3/profile/update", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "application/json")],
               ("user%5Bname%5D=carol&user%5Bpassword%5D=" + p("form-nested-names", human_password(13))
                + "&credentials.secret=" + p("form-nested-names", lower_letters(16))
                + "&auth%5Btoken%5D=" + p("form-nested-names", lower_letters(12))
                + "&Kennwort=" + p("i18n-query-names", human_password(14))).encode(),
               b'{"saved": true}', content_type="application/x-www-form-urlencoded"))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v3/legacy?senha=" + p("i18n-query-names", human_password(15))
               + "&has%C5%82o=" + p("i18n-query-names", human_password(16)) + "&%C5%9Fifre="
               + p("i18n-query-names", human_password(17)), 200, [], [], None, b"{}"))
    boundary = "nightowl-7f3a"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"Passwort\"\r\n\r\n"
                 f"{p('multipart-i18n', human_password(18))}\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"config\"; filename=\"app.yaml\"\r\n"
                 f"X-Upload-Token: {p('multipart-i18n', token(28))}\r\n"
                 "Content-Type: text/plain\r\n\r\n"
                 f"server: x\napi_key: {p('multipart-i18n', token(30))}\n"
                 f"\r\n--{boundary}--\r\n")
    b.add(Call("POST", f"https://{GENERIC_HOST}/v3/upload", 200,
               [("Content-Type", f"multipart/form-data; boundary={boundary}")], [("Content-Type", "application/json")],
               multipart.encode(), b'{"stored": 1}', content_type=f"multipart/form-data; boundary={boundary}"))
    b.add(Call("POST", "https://app.nightowl.test/api/phone/verify", 200,
               [("Content-Type", "application/json")], [("Content-Type", "application/json")],
               json.dumps({"phone": "+15550100", "code": p("verify-call", "73190462")}).encode(), b'{"ok": true}'))
    # WebSockets and cookies named by a JWT
    stomp = "CONNECT\naccept-version:1.2\nlogin:carol\npasscode:" + p("websocket-protocols", human_password(19)) \
        + "\n\n\x00"
    socketio = '42["auth",{"jwt":"' + p("websocket-protocols", jwt("ws")) + '"}]'
    cookie_name = p("jwt-as-key", jwt("cookie-name"))
    b.add(Call("GET", "https://ws.nightowl.test/socket", 101, [("Cookie", f"{cookie_name}=1")], [], None, None,
               har=lambda e: e.update(_webSocketMessages=[
                   {"type": "send", "time": 1488554700.1, "opcode": 1, "data": stomp},
                   {"type": "send", "time": 1488554700.2, "opcode": 1, "data": socketio}]),
               flow=lambda f: first._websocket(f, [stomp.encode(), socketio.encode()])))
    b.needles["jwt-as-key"].append(next(k for k in generic if k.startswith("eyJ")))


def _har_comments(e: dict, b: first._Builder) -> None:
    p = b.plant
    e["comment"] = "synced with api_key=" + p("har-comments", token(30))
    e["request"]["comment"] = "session " + p("har-comments", jwt("comment"))
    e["response"]["comment"] = "password: " + p("har-comments", human_password(20))
    e["request"]["headers"].append({"name": "X-Trace", "value": "1", "comment": "secret=" + p("har-comments",
                                                                                          token(24))})
    e["request"]["queryString"] = [{"name": "t", "value": "1", "comment": "Bearer " + p("har-comments", token(28))}]
    e["request"]["cookies"] = [{"name": "c", "value": "1", "comment": "token " + p("har-comments", jwt("c"))}]
    e["response"]["content"]["comment"] = "refresh_token=" + p("har-comments", token(32))


def build(folder: Path) -> Corpus:
    """Write corpus-c.har and corpus-c.flow into `folder`; returns them and the needles of every kind."""
    second._RANDOM = random.Random(1818)
    first._RANDOM = random.Random(1919)
    b = first._Builder(KINDS)
    b.pages = [{"id": "page_1", "title": "https://app.nightowl.test/#/welcome?id_token="
                + b.plant("har-comments", jwt("page")), "startedDateTime": "2017-03-03T15:31:12.345Z",
                "pageTimings": {}, "comment": "login secret: " + b.plant("har-comments", token(26))}]
    _plant_everything(b)
    corpus = first.write(b, folder, "corpus-c", [])
    har = json.loads(corpus.har.read_text())
    har["log"]["comment"] = "captured with client_secret=" + b.plant("har-comments", token(30))
    corpus.har.write_text(json.dumps(har, indent=1, ensure_ascii=False))
    needles = {kind: tuple(dict.fromkeys(values)) for kind, values in b.needles.items()}
    return Corpus(corpus.har, corpus.flow, needles)


if __name__ == "__main__":
    first.main(build)
