"""A tenth corpus of planted secrets, made apart from the first nine (tests/secret_corpus*.py) by attacking what
they leave out: short one-time tokens after an action in a URL's path (`/reset/<token>`, `/activate/<token>`,
`/verify-email/<token>`, in a URL or a path alone in text), credentials glued to a command line's short flags
(`mysql -p<password>`, `curl -u user:<password>`, `sshpass -p <password>`), JSON whose quotes are escaped with
backslashes written in free text (a log line's `{\\"password\\":\\"…\\"}`), and a long passphrase in a
protobuf map (a two-byte length).

    python tests/secret_corpus_j.py DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.dozing.test"
_DRAWS = first.Draws(9191, "Kw{}pr-", 26)
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "action-path-token": "a short one-time token after an action in a URL's path (/reset/…, /activate/…, "
                         "/verify-email/…, /confirm/…, /invite/…): a page's Location, Referer and href, a --generic "
                         "call and a path in its response",
    "short-flag-credentials": "a password glued to mysql's -p, after sshpass's -p and redis-cli's -a, curl's -u "
                              "user:password: a rejected body's log and a --generic response's text",
    "escaped-json-text": "JSON with backslash-escaped quotes in free text ({\\\"password\\\":\\\"…\\\"}) and a key "
                         "escaped as \\u0077: a rejected body's log and a --generic response's text",
    "protobuf-long-value": "a passphrase of 128 bytes or more (a two-byte length) in a protobuf map posted to another "
                           "host (in the flow)",
}


def _mixed(n: int) -> str:
    """A short token that mixes letters and digits (a reset token of 8 to 12 characters)."""
    while True:
        t = token(n)
        if any(c.isdigit() for c in t) and any(c.isalpha() for c in t):
            return t


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], [("Content-Type", "application/json")],
               response_body=json.dumps(band_event("2519812557630091900")).encode()))
    # one-time tokens after an action in a path
    reset, activate, verify = (p("action-path-token", _mixed(n)) for n in (8, 12, 9))
    b.add(Call("POST", f"https://{GENERIC_HOST}/account/forgot", 302, [("Referer", f"https://app.dozing.test/"
                                                                       f"verify-email/{verify}")],
               [("Location", f"https://app.dozing.test/reset/{reset}")], b"email=a%40b.test", b"",
               content_type="application/x-www-form-urlencoded"))
    b.add(Call("GET", f"https://{GENERIC_HOST}/activate/{activate}", 200, [], [("Content-Type", "application/json")],
               None, json.dumps({"minutes": 3, "next": f"/confirm/{p('action-path-token', _mixed(10))}"}).encode()))
    b.add(Call("GET", "https://app.dozing.test/welcome", 200, [], [("Content-Type", "text/html")], None,
               f'<a href="/activate/{p("action-path-token", _mixed(11))}">Activate</a>'.encode(),
               content_type="text/html"))
    b.add(Call("GET", f"https://{GENERIC_HOST}/invite/{p('action-path-token', _mixed(8))}/accept", 200, [],
               [("Content-Type", "application/json")], None, b'{"minutes": 4}'))
    # credentials after a command line's short flags, and escaped JSON in text
    rejected = first._night(b) | {
        "date": "2017-03-14", "events": "oops",
        "cmd": f"mysqldump -u sleeper -p{p('short-flag-credentials', pw(1))} sleepdb > dump.sql",
        "ssh": f"sshpass -p {p('short-flag-credentials', pw(2))} ssh sleeper@db.dozing.test",
        "log": f"request body {{\\\"user\\\":\\\"sleeper\\\",\\\"password\\\":\\\""
               f"{p('escaped-json-text', pw(3))}\\\"}} sent"}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-14", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    phrase = p("protobuf-long-value", "correct horse battery staple nightly sleeper dozing pillow blanket lantern "
                                      f"meadow river quiet harbour winter orchard {pw(9)}")
    assert len(phrase) >= 128
    value = b"\x12" + bytes([len(phrase) & 0x7F | 0x80, len(phrase) >> 7]) + phrase.encode()
    entry = b"\x0a\x0apassphrase" + value
    body = b"\x1a" + bytes([len(entry) & 0x7F | 0x80, len(entry) >> 7]) + entry
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/vault", 200, [("Content-Type", "application/x-protobuf")],
               [("Content-Type", "application/json")], body, b'{"minutes": 11}', content_type="application/x-protobuf",
               har=lambda e: e["request"].pop("postData")))  # (a HAR keeps binary posted data as text: no frames)
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-17", 200, [sense],  # of a shape not known
               response_body=json.dumps(first._night(b) | {"date": "2017-03-17", "events": "oops"}).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/status", 200, [], [("Content-Type", "application/json")], None,
               json.dumps({"minutes": 7,
                           "curl": f"curl -u sleeper:{p('short-flag-credentials', pw(4))} https://x.dozing.test/",
                           "redis": f"redis-cli -h cache -a {p('short-flag-credentials', pw(5))} ping",
                           "mysql": f"mysql -h db -usleeper -p{p('short-flag-credentials', pw(6))} -e 'select 1'",
                           "log": f"sent {{\\\"api_secret\\\": \\\"{p('escaped-json-text', pw(7))}\\\"}}",
                           "raw": f'cfg {{"pass\\u0077ord":"{p("escaped-json-text", pw(8))}"}}'}).encode()))


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-j.har and corpus-j.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-j", _DRAWS, 5151, KINDS, _plant_everything)


if __name__ == "__main__":
    first.main(build)
