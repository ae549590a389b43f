"""A fifth corpus of planted secrets, made apart from the first four (tests/secret_corpus*.py) by attacking what
they did not hold: secrets in device text beside their shape's context (an AWS secret key after its id, Twilio and
Mailgun keys, base64 JSON), YAML values below their names, CJK text's full-width pairs, HTML password fields,
values labelled under other keys than `value` (AWS's StringValue…), card security codes, and HAR fields the
scrubber took for harmless (a multipart parameter's fileName, a cookie's path, a size given as text).

    python tests/secret_corpus_e.py DIR
"""

from __future__ import annotations

import base64
import json
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import secret_corpus as first  # noqa: E402
from builders import band_event  # noqa: E402
from secret_corpus import Call, Corpus  # noqa: E402

GENERIC_HOST = "api.snooze.test"
_DRAWS = first.Draws(3131, "Sz{}pw-")
token, pw, digits = _DRAWS.token, _DRAWS.pw, _DRAWS.digits

KINDS = {
    "aws-pair-device": "an AWS access key id and its secret key (a credentials file's line) in a good Sense night",
    "twilio-mailgun-device": "a Twilio API key (SK…) and a Mailgun key (key-…) in a good Sense night's message",
    "base64-json-device": "base64 JSON holding a password in a good Sense night's message",
    "yaml-values": "password: | and api_secret: with the value on the line below, in a rejected body and --generic",
    "cjk-pairs": "密码：… and パスワード＝… in a rejected body and a --generic one",
    "password-input": "<input value=… type=password> in a page and a --generic string",
    "label-keys": "{Name, StringValue}, {param, value}, {field, data} objects in a rejected body and --generic",
    "card-cvv": "cvv and card_cvc2 in a --generic response and a form (8 digits: found only where planted)",
    "har-part-fields": "a HAR multipart parameter's fileName, a cookie's path and a size given as text",
}


def _plant_everything(b: first._Builder) -> None:
    p = b.plant
    sense = ("Authorization", "Bearer 2." + token(40))
    b.add(Call("GET", first.BAND_EVENTS_URL, 200, [], response_body=json.dumps(band_event("2519812557630091760"))
               .encode()))
    aws_id = "AKIA" + token(16, string.ascii_uppercase + string.digits)
    aws_secret = token(18) + "/" + token(10) + "+" + token(10)
    hidden = base64.urlsafe_b64encode(json.dumps({"user": "bob", "password": pw(1)}).encode()).decode().rstrip("=")
    night = first._night(b)
    night["message"] = (f"Wi-Fi set up. {p('aws-pair-device', aws_id)},{p('aws-pair-device', aws_secret)} "
                        f"{p('twilio-mailgun-device', 'SK' + token(32, '0123456789abcdef'))} "
                        f"{p('twilio-mailgun-device', 'key-' + token(31, string.ascii_lowercase) + '7')} "
                        f"{p('base64-json-device', hidden)}")
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-02", 200, [sense],
               response_body=json.dumps(night).encode()))
    rejected = first._night(b) | {"date": "2017-03-05", "events": {"bad": True}}
    rejected |= {
        "config": f"user: bob\npassword: |\n  {p('yaml-values', pw(2))}\napi_secret:\n  {p('yaml-values', pw(3))}\n",
        "note": f"密码：{p('cjk-pairs', pw(4))}，用户：bob",
    }
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-05", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    rejected = first._night(b) | {"date": "2017-03-06", "events": {"bad": True}}
    rejected["attributes"] = [{"Name": "password", "StringValue": p("label-keys", pw(5))},
                              {"param": "client_secret", "value": p("label-keys", pw(6))}]
    b.add(Call("GET", "https://api.hello.is/v2/timeline/2017-03-06", 200, [sense],
               response_body=json.dumps(rejected).encode()))
    generic = {
        "config": f"db:\n  api_secret: >-\n    {p('yaml-values', pw(7))}\n  host: x\n",
        "i18n": f"パスワード＝{p('cjk-pairs', pw(8))}",
        "form": f'<input value="{p("password-input", pw(9))}" type="password" name="f2">',
        "fields": [{"field": "password", "data": p("label-keys", pw(10))}],
        "card": {"cvv": p("card-cvv", digits()), "minutes": 431},
    }
    b.add(Call("GET", f"https://{GENERIC_HOST}/v1/me", 200, [], [("Content-Type", "application/json")], None,
               json.dumps(generic).encode()))
    page = f'<html><form><input type=PASSWORD value="{p("password-input", pw(11))}"></form></html>'
    b.add(Call("GET", "https://www.snooze.test/login", 200, [], [("Content-Type", "text/html")], None, page.encode(),
               content_type="text/html"))
    form = f"card_cvc2={p('card-cvv', digits())}&amount=5"
    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/pay", 200,
               [("Content-Type", "application/x-www-form-urlencoded")], [("Content-Type", "application/json")],
               form.encode(), b'{"paid": 1}', content_type="application/x-www-form-urlencoded"))
    file_name, cookie_path, size = pw(12), pw(13), pw(14)

    def har_fields(e: dict) -> None:
        e["request"]["postData"] = {"mimeType": "multipart/form-data", "params": [
            {"name": "photo", "fileName": f"password={p('har-part-fields', file_name)}.png", "value": "x"}]}
        e["request"]["cookies"] = [{"name": "theme", "value": "dark",
                                    "path": f"/reset/token={p('har-part-fields', cookie_path)}"}]
        e["response"]["content"]["size"] = f"pw={p('har-part-fields', size)}"

    b.add(Call("POST", f"https://{GENERIC_HOST}/v1/upload", 200, [], [("Content-Type", "application/json")],
               b"x", b'{"stored": 1}', content_type="multipart/form-data", har=har_fields))


KEPT_BY_SCRUB: set[str] = set()


def build(folder: Path) -> Corpus:
    """Write corpus-e.har and corpus-e.flow into `folder`; returns them and the needles of every kind (those of
    HAR fields are in the HAR alone)."""
    return first.built(folder, "corpus-e", _DRAWS, 3232, KINDS, _plant_everything)


if __name__ == "__main__":
    first.main(build)
