"""A ninth corpus of planted secrets, made apart from the first eight (tests/secret_corpus*.py) by attacking encodings
they do not hold: base64 of a short `user:password` alone in free text and device text (no name, no scheme before
it), JWTs written in standard base64 (`+`, `/`, padding), credentials after a command line's flags and before a
host without a scheme, a body compressed with brotli under no Content-Encoding, and credentials in binary
serialisations (MessagePack, CBOR, BSON, a protobuf map) whose keys and values are framed
by type and length rather than written `name=value`.

    python tests/secret_corpus_i.py DIR
"""

from __future__ import annotations

import base64
import json
import struct
import sys
from pathlib import Path

import brotli

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.nodding.test"
_DRAWS = first.Draws(7373, "Nq{}zt-", 26)
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "base64-userinfo-in-text": "base64 of a short user:password alone in text: a good Sense night's message, a rejected "
                               "body's log line and a --generic response's text",
    "jwt-standard-base64": "a JWT whose parts are standard base64 (+, /, padding): a good Sense night's message and a "
                           "--generic response's text",
    "brotli-unlabelled": "a rejected Sense night compressed with brotli under no Content-Encoding, a password in it",
    "cli-flag-credentials": "a password and an API key after a command line's flags (--password …, --api-key '…') in "
                            "a rejected body's log and a --generic response's text",
    "bare-userinfo": "user:password@host without a scheme (a connection string, a Go DSN) in a rejected body's log and "
                     "a --generic response's text",
    "binary-serialised": "a password, a token and a PIN in MessagePack, CBOR and BSON bodies and a protobuf map: a "
                         "rejected Sense night and calls to another host",
}


def _basic(user: str) -> str:
    """base64 of `user:<a short password>`, too short to look random (under 20 characters)."""
    return base64.b64encode(f"{user}:{token(7)}".encode()).decode()


def _standard_jwt(subject: str) -> str:
    """A JWT written in standard base64, its claims holding `+` or `/` (a `>`, `?` or `~` third in a group of three
    bytes is one) and its signature too, most likely."""
    head = base64.b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode()
    claims = base64.b64encode(json.dumps({"sub": subject, "n": token(9), "scope": "sleep>>>??~~"}).encode()).decode()
    assert "+" in claims or "/" in claims
    return f"{head}.{claims}.{base64.b64encode(_DRAWS.random.randbytes(32)).decode()}"


def _msgpack(document: dict) -> bytes:
    import msgpack

    return msgpack.packb(document)


def _cbor(document: dict) -> bytes:
    """A CBOR map of text keys to text or small unsigned integer values."""
    def text(s: str) -> bytes:
        data = s.encode()
        return (bytes([0x60 + len(data)]) if len(data) < 24 else bytes([0x78, len(data)])) + data

    def value(v) -> bytes:
        return text(v) if isinstance(v, str) else bytes([0x1A]) + struct.pack(">I", v)

    return bytes([0xA0 + len(document)]) + b"".join(text(k) + value(v) for k, v in document.items())


def _bson(document: dict) -> bytes:
    """A BSON document of string and int32 values."""
    body = b""
    for k, v in document.items():
        if isinstance(v, str):
            data = v.encode() + b"\x00"
            body += b"\x02" + k.encode() + b"\x00" + struct.pack("<i", len(data)) + data
        else:
            body += b"\x10" + k.encode() + b"\x00" + struct.pack("<i", v)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _protobuf_map(field: int, entries: dict) -> bytes:
    """A protobuf message of one map<string, string> field."""
    def string(tag: int, s: str) -> bytes:
        data = s.encode()
        return bytes([tag, len(data)]) + data

    return b"".join(string(field << 3 | 2, (string(0x0A, k) + string(0x12, v)).decode("latin-1"))
                    for k, v in entries.items())


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], [("Content-Type", "application/json")],
               response_body=json.dumps(band_event("2519812557630091800")).encode()))
    night = first._night(b)
    night["message"] = (f"Synced with {p('base64-userinfo-in-text', _basic('hub'))} today. Session "
                        f"{p('jwt-standard-base64', _standard_jwt('night'))}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    rejected = first._night(b) | {"date": "2017-03-14", "events": "oops",
                                  "log": f"proxy auth {p('base64-userinfo-in-text', _basic('px'))} sent",
                                  "cmd": f"sync --password {p('cli-flag-credentials', pw(4))} --user sleeper",
                                  "db": f"connect sleeper:{p('bare-userinfo', pw(5))}@db.nodding.test:5432 failed"}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-14", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/status", 200, [], [("Content-Type", "application/json")], None,
               json.dumps({"minutes": 7, "note": f"creds {p('base64-userinfo-in-text', _basic('ev'))} ok",
                           "trace": f"bearer was {p('jwt-standard-base64', _standard_jwt('generic'))}",
                           "cmd": f"upload --api-key '{p('cli-flag-credentials', token(16))}' --quiet",
                           "dsn": f"root:{p('bare-userinfo', pw(6))}@tcp(db.nodding.test:3306)/sleep"}).encode()))

    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-17", 200, [sense],  # of a shape not known
               response_body=json.dumps(first._night(b) | {"date": "2017-03-17", "events": "oops"}).encode()))

    def raw(data: bytes):
        def flow(f) -> None:
            f.response.raw_content = data
        return flow

    # brotli under no Content-Encoding
    night = first._night(b) | {"date": "2017-03-15", "events": "oops", "account": {"password": p("brotli-unlabelled",
                                                                                                   pw(1))}}
    data = brotli.compress(json.dumps(night).encode())
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-15", 200, [sense], [], response_body=data,
               flow=raw(data)))
    # binary serialisations
    data = _msgpack({"date": "2017-03-16", "account": {"user": "sleeper", "password": p("binary-serialised", pw(2))},
                     "pin": p("binary-serialised", digits(6))})
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-16", 200, [sense],
               [("Content-Type", "application/msgpack")], response_body=data, content_type="application/msgpack",
               flow=raw(data)))
    for body, media in ((_cbor({"user": "sleeper", "access_token": p("binary-serialised", token(30)),
                                "minutes": 8}), "application/cbor"),
                        (_bson({"user": "sleeper", "password": p("binary-serialised", pw(3)), "minutes": 9}),
                         "application/bson"),
                        (_protobuf_map(3, {"lang": "en", "refresh_token": p("binary-serialised", token(32))}),
                         "application/x-protobuf")):
        b.add(Call("POST", f"https://{GENERIC_HOST}/v1/sync", 200, [("Content-Type", media)],
                   [("Content-Type", "application/json")], body, b'{"minutes": 10}', content_type=media))


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-i.har and corpus-i.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-i", _DRAWS, 4848, KINDS, _plant_everything)


if __name__ == "__main__":
    first.main(build)
