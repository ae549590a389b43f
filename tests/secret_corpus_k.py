"""An eleventh corpus of planted secrets, made apart from the first ten (tests/secret_corpus*.py) by attacking what
they leave out: one-time codes and reset links in prose (`Your code is 482913`, `go to /reset/<token>`) in device
text, passwords as SQL and shells write them (`sqlplus bob/…@db`, `IDENTIFIED BY …`, `requirepass …`, `echo 'bob:…' |
chpasswd`), base64 of a name and a number outside an id's name (`Alice:4821`), names spelt with accents or in
full-width letters (`pässword`), validation errors quoting what was sent, and binary posted data a HAR gives as text.

    python tests/secret_corpus_k.py DIR
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

GENERIC_HOST = "api.drifting.test"
_DRAWS = first.Draws(1111, "Dr{}ft-", 26)
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "prose-one-time-codes": "a one-time code in prose without a pair's name (`Your code is …`, `… is your Sense "
                            "code`) and a reset link's token after a space (`go to /reset/…`): a good Sense night's "
                            "message, a Band event's name, a --generic response",
    "sql-shell-passwords": "passwords as SQL and shells write them (`sqlplus bob/…@db`, `IDENTIFIED BY …`, "
                           "`requirepass …`, `echo 'bob:…' | chpasswd`): a rejected body's log, a --generic response",
    "base64-name-number": "base64 of a name and a number (`Alice:4821`: a user and a PIN) outside an id's name: a "
                          "Sense night's message, a --generic response's value and text",
    "accented-names": "a password under `pässword`, `Pässwort`, `ｐａｓｓｗｏｒｄ`: --generic request and response JSON",
    "quoted-error-input": "a validation error quoting what was sent (`Invalid value '…' for field password`, "
                          "pydantic's `input_value=`, Spring's {field, rejectedValue}): a --generic response",
    "binary-text-body": "a MessagePack body a HAR gives as text (its bytes as Latin-1 characters) posted to another host",
}


def _mixed(n: int) -> str:
    while True:
        t = token(n)
        if any(c.isdigit() for c in t) and any(c.isalpha() for c in t):
            return t


def _plant_everything(b: first._Builder) -> None:
    import msgpack

    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    event = band_event("2519812557630091950")
    event["value"][0]["Name"] = f"Run. {p('prose-one-time-codes', digits(6))} is your Microsoft verification code"
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], [("Content-Type", "application/json")],
               response_body=json.dumps(event).encode()))
    pin = f"Alice:{digits(4)}"
    night = first._night(b) | {"date": "2017-03-02"}
    night["message"] = (f"Your code is {p('prose-one-time-codes', digits(6))}. Forgot it? go to "
                        f"/reset/{p('prose-one-time-codes', _mixed(9))} today. Synced with "
                        f"{p('base64-name-number', base64.b64encode(pin.encode()).decode())}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    rejected = first._night(b) | {
        "date": "2017-03-14", "events": "oops",
        "log": f"ran sqlplus sleeper/{p('sql-shell-passwords', pw(1))}@sleepdb; then ALTER USER sleeper IDENTIFIED BY "
               f"{p('sql-shell-passwords', pw(2))};",
        "setup": f"echo 'sleeper:{p('sql-shell-passwords', pw(3))}' | chpasswd"}
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-14", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-17", 200, [sense],  # of a shape not known
               response_body=json.dumps(first._night(b) | {"date": "2017-03-17", "events": "oops"}).encode()))
    bob = f"Bob:{digits(6)}"
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/settings", 200, [("Content-Type", "application/json")],
               [("Content-Type", "application/json")],
               json.dumps({"pässword": p("accented-names", pw(4)), "minutes": 2}, ensure_ascii=False).encode(),
               json.dumps({"minutes": 3, "Pässwort": p("accented-names", pw(5)),
                           "ｐａｓｓｗｏｒｄ": p("accented-names", pw(6)),
                           "ref": p("base64-name-number", base64.b64encode(bob.encode()).decode()),
                           "redis": f"requirepass {p('sql-shell-passwords', pw(7))}",
                           "hint": f"Use code {p('prose-one-time-codes', digits(6))} to sign in"},
                          ensure_ascii=False).encode()))
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/errors", 200, [], [("Content-Type", "application/json")], None,
               json.dumps({"minutes": 4,
                           "error": f"Invalid value '{p('quoted-error-input', pw(8))}' for field password",
                           "detail": "1 validation error for Login\npassword\n  value is not a valid string "
                                     f"(type=type_error.str; input_value='{p('quoted-error-input', pw(9))}')",
                           "errors": [{"field": "password",
                                       "rejectedValue": p("quoted-error-input", pw(10))}]}).encode()))
    packed = msgpack.packb({"user": "sleeper", "password": p("binary-text-body", pw(11))})
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/vault", 200, [("Content-Type", "application/octet-stream")],
               [("Content-Type", "application/json")], packed, b'{"minutes": 5}',
               content_type="application/octet-stream",
               har=lambda e: e["request"].__setitem__("postData", {"mimeType": "application/octet-stream",
                                                                   "text": packed.decode("latin-1")})))


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-k.har and corpus-k.flow into `folder`; returns them and the needles of every kind."""
    return first.built(folder, "corpus-k", _DRAWS, 6161, KINDS, _plant_everything)


if __name__ == "__main__":
    first.main(build)
