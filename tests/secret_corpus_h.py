"""An eighth corpus of planted secrets, made apart from the first seven (tests/secret_corpus*.py) by attacking where
data is packed or nested in ways they do not hold: bodies compressed with bzip2 or xz under no Content-Encoding,
gzip and zlib streams whose checksum is wrong, multipart fields holding JSON or a form under a harmless name, a
token given as a query parameter's name, GraphQL variables whose own names say nothing, and pairs inside pairs'
unquoted values.

    python tests/secret_corpus_h.py DIR
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.slumber.test"
_DRAWS = first.Draws(6262, "Hx{}qv-", 30)
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "bzip2-xz-unlabelled": "rejected Sense nights compressed with bzip2 and with xz under no Content-Encoding, and a "
                           "bzip2 TCP message, a password in each",
    "damaged-compressed": "rejected Sense nights gzipped (under Content-Encoding gzip, and none) and zlib-compressed "
                          "with a wrong checksum, a password in each",
    "multipart-field-text": "an upload's multipart fields without a Content-Type holding JSON with a PIN and a form "
                            "with a password, under harmless names",
    "token-param-name": "a JWT and a random token given as query parameters' names: the request's URL, Referer and "
                        "a redirect's Location",
    "graphql-variables": "a login mutation's password and a verify mutation's code in GraphQL variables named p and "
                         "c, the query naming them password and code",
    "pairs-in-unquoted-values": "password=… and psk=… in an unquoted value inside an unquoted value: a good Sense "
                                "night's message and a --generic response's text",
    "spaced-credentials": "a password after `is`, a PIN after a space and a password in quotes, no `=` or `:` "
                          "between: a good Sense night's message and a --generic response's text",
}


def _wrong_checksum(data: bytes) -> bytes:
    """A gzip or zlib stream whose checksum (gzip's CRC-32 before its size, zlib's Adler-32) is zeroed."""
    return data[:-8] + bytes(4) + data[-4:] if data[:2] == b"\x1f\x8b" else data[:-4] + bytes(4)


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], [("Content-Type", "application/json")],
               response_body=json.dumps(band_event("2519812557630091790")).encode()))

    def rejected(date: str, kind: str, n: int) -> bytes:
        night = first._night(b) | {"date": date, "events": "oops", "account": {"password": p(kind, pw(n))},
                                   "pad": [{"message": "Asleep", "sleep_depth": i} for i in range(40)]}
        return json.dumps(night).encode()

    def raw(encoding: str | None, data: bytes):
        def flow(f) -> None:
            f.response.raw_content = data
            if encoding:
                f.response.headers["Content-Encoding"] = encoding
        return flow

    for date in ("2017-03-08", "2017-03-09"):  # of a shape not known
        b.add(Call("GET", f"https://api.hello.is/v2/timeline/{date}", 200, [sense], [],
                   response_body=json.dumps(first._night(b) | {"date": date, "events": "oops"}).encode()))
    # compressed with bzip2 and xz, no Content-Encoding (HAR: base64)
    for date, compress, n in (("2017-03-10", bz2.compress, 1), ("2017-03-11", lzma.compress, 2)):
        data = compress(rejected(date, "bzip2-xz-unlabelled", n))
        b.add(Call("GET", f"https://api.hello.is/v2/timeline/{date}", 200, [sense], [], response_body=data,
                   flow=raw(None, data)))
    # damaged: a wrong checksum
    data = _wrong_checksum(gzip.compress(rejected("2017-03-12", "damaged-compressed", 3)))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-12", 200, [sense], [], response_body=data,
               flow=raw("gzip", data)))
    data = _wrong_checksum(zlib.compress(rejected("2017-03-13", "damaged-compressed", 4)))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-13", 200, [sense], [], response_body=data,
               flow=raw(None, data)))
    # multipart fields holding text
    boundary = "slumberform"
    form = (f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n'
            f'{{"device": "sense", "pin": "{p("multipart-field-text", digits(6))}"}}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="settings"\r\n\r\n'
            f'lang=en&password={p("multipart-field-text", pw(5))}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="log"; filename="log.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\nsynced\r\n--{boundary}--\r\n")
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/uploads", 200,
               [("Content-Type", f"multipart/form-data; boundary={boundary}")], [("Content-Type", "application/json")],
               form.encode(), b'{"minutes": 3}', content_type=f"multipart/form-data; boundary={boundary}"))
    # a token as a query parameter's name
    named = p("token-param-name", first.jwt("named"))
    random_name = p("token-param-name", token(32))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/pixel?{named}=1&lang=en", 200,
               [("Referer", f"https://www.slumber.test/welcome?lang=en&{random_name}=")],
               [("Content-Type", "application/json")], None, b'{"minutes": 4}'))
    b.add(Call("GET", "https://www.slumber.test/go", 302, [],
               [("Location", f"https://www.slumber.test/app?{p('token-param-name', first.jwt('location'))}=1")],
               None, b""))
    # GraphQL variables named by the query
    login = {"operationName": "Login",
             "query": "mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { ok } }",
             "variables": {"e": "a@slumber.test", "p": p("graphql-variables", pw(6))}}
    verify = {"query": "mutation($c: String!) { verify(code: $c) { ok } }",
              "variables": {"c": p("graphql-variables", "4/0A" + token(40))}}
    for body in (login, verify):
        b.add(Call("POST", f"https://{GENERIC_HOST}/graphql", 200, [("Content-Type", "application/json")],
                   [("Content-Type", "application/json")], json.dumps(body).encode(), b'{"data": {"minutes": 5}}'))
    # pairs inside pairs' unquoted values
    night = first._night(b)
    night["message"] = (f"Synced: wifi:psk={p('pairs-in-unquoted-values', pw(7))} ok. Your hub password is "
                        f"{p('spaced-credentials', pw(10))}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/status", 200, [], [("Content-Type", "application/json")], None,
               json.dumps({"minutes": 6,
                           "last_error": f"error: detail:password={p('pairs-in-unquoted-values', pw(8))}",
                           "hint": f"Unlock with PIN {p('spaced-credentials', digits(6))}",
                           "log": f'retrying with password "{p("spaced-credentials", pw(11))}"'}).encode()))


def _tcp_flow(secret: str):
    from mitmproxy import tcp
    from mitmproxy.test import tflow

    flow = tflow.ttcpflow()
    text = ("sync " * 40 + f"password={secret} " + "done " * 40).encode()
    flow.messages = [tcp.TCPMessage(True, bz2.compress(text), 1488554800.0)]
    flow.id = "00000000-0000-4000-8000-999999999997"
    return flow


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-h.har and corpus-h.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-h", _DRAWS, 4747, KINDS, _plant_everything,
                       lambda b: [_tcp_flow(b.plant("bzip2-xz-unlabelled", pw(9)))])


if __name__ == "__main__":
    first.main(build)
