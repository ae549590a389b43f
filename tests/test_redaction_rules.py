"""The redaction policy's rules, one by one: which names hold a credential, what a sign-in request keeps, what
scrub does to device bodies, and that every line a command prints passes the policy (credentials, and with
--pseudonymize the participant folders)."""

from __future__ import annotations

import base64
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_secrets import invoke

from converters import redaction
from converters.redaction import MARK, credential_name


@pytest.mark.parametrize("name", ["pw", "new_pw", "user_pass", "userPass", "pin_code", "newPin", "otp_value",
                                  "Passwort", "mot_de_passe", "contraseña", "senha", "refreshTok", "connectionString",
                                  "email_otp", "security_answer", "Password", "X-Client-Secret"])
def test_names_that_always_hold_a_credential(name):
    assert credential_name(name) == "strong"


@pytest.mark.parametrize("name", ["pairingCode", "invite_code", "device_code", "resetKey", "recovery_key", "code",
                                  "key", "session"])
def test_names_that_hold_a_credential_when_the_value_looks_like_a_token(name):
    assert credential_name(name) == "weak"
    assert redaction.is_credential(name, "PC-WX5m8hKnb2OJ") and not redaction.is_credential(name, "404")


@pytest.mark.parametrize("name", ["errorCode", "status_code", "countryCode", "postalCode", "zip_code", "sort_key",
                                  "RowKey", "hotkey", "bypass", "compass", "spin", "ping", "footprint", "unicode",
                                  "token_type", "expires_in", "code_challenge_method"])
def test_names_of_data_hold_no_credential(name):
    assert credential_name(name) is None


def test_a_sign_in_request_keeps_only_harmless_fields_in_json_forms_and_multipart():
    body = {"username": "alice@example.com", "grant_type": "password", "pw": "hunter2", "answer": "Rex",
            "device": {"pin": 1234, "name": "phone"}, "remember": True, "client_id": "app"}
    redacted = orjson.loads(redaction.redact_body(json.dumps(body).encode(), "application/json", "sign-in-request"))
    assert redacted == {"username": "alice@example.com", "grant_type": "password", "pw": MARK, "answer": MARK,
                        "device": {"pin": MARK, "name": MARK}, "remember": True, "client_id": "app"}
    form = b"login=alice&pw=hunter2&answer=Rex&scope=read"
    assert redaction.redact_body(form, None, "sign-in-request") == b"login=alice&pw=REDACTED&answer=REDACTED&scope=read"
    multipart = (b"--b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@example.com\r\n"
                 b"--b\r\nContent-Disposition: form-data; name=\"kennwort\"\r\n\r\nhunter2\r\n--b--\r\n")
    assert redaction.redact_body(multipart, "multipart/form-data; boundary=b", "sign-in-request") == multipart.replace(
        b"hunter2", MARK.encode())
    xml = b"<Login><Kennwort>hunter2</Kennwort></Login>"
    assert redaction.redact_body(xml, "text/xml", "sign-in-request") == b"REDACTED"


def test_a_device_body_loses_random_tokens_under_neutral_keys_and_keeps_its_ids():
    body = {"id": "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY", "events": "qMnzDMDSmJLlZrlXQficbBc44P9wWDJVHUn_-iur",
            "message": "You slept well.", "score": 80}
    redacted = orjson.loads(redaction.redact_body(json.dumps(body).encode(), "application/json", "device"))
    assert redacted == body | {"events": MARK}


def test_every_line_printed_passes_the_policy(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    code, _, stderr = invoke(["convert", f"{tmp_path}/{token}/*.har", "-o", str(tmp_path / "out")])
    assert code == 2 and stderr == f"databack: '{tmp_path}/REDACTED/*.har' matches no file\n"


@pytest.fixture
def study(tmp_path):
    """incoming/<person>/… as a study receives it, a key, and the pseudonym of each folder."""
    (tmp_path / "incoming" / "Maria Lopez" / "2024").mkdir(parents=True)
    (tmp_path / "incoming" / "Empty Person").mkdir()
    (tmp_path / "incoming" / "Maria Lopez" / "2024" / "phone.har").write_text('{"log": {"entries": []}}')
    (tmp_path / "incoming" / "Maria Lopez" / "notes.txt").write_text("not a capture")
    (tmp_path / "key").write_text("a key of the study team, 32 bytes")
    return tmp_path, lambda folder: redaction.folder_pseudonym(folder, b"a key of the study team, 32 bytes")


@pytest.mark.parametrize("args, message", [
    (["incoming/Maria Lopez/2024/phone.har", "-o", "incoming"],
     "cannot write into incoming: it holds the input {maria_2024}/phone.har"),  # OUT as given
    (["incoming/Empty Person", "-o", "out"], "no files in {empty} (hidden ones aside)"),
    (["incoming/Maria Lopez/*.xyz", "-o", "out"], "'{maria}/*.xyz' matches no file"),
])
def test_a_pseudonymised_run_names_no_participant_folder_in_its_usage_errors(study, monkeypatch, args, message):
    root, pseudonym = study
    monkeypatch.chdir(root)
    code, stdout, stderr = invoke(["convert", *args, "--pseudonymize", "--key-file", "key"])
    names = {"incoming": pseudonym("incoming"), "maria": pseudonym("incoming/Maria Lopez"),
             "maria_2024": pseudonym("incoming/Maria Lopez/2024"), "empty": pseudonym("incoming/Empty Person")}
    assert (code, stdout, stderr) == (2, "", f"databack: {message.format(**names)}\n")


def test_a_pseudonymised_run_names_files_that_are_no_captures_by_their_pseudonym(study, monkeypatch):
    root, pseudonym = study
    monkeypatch.chdir(root)
    (root / "incoming" / "Maria Lopez" / "2024" / "phone.har").unlink()
    code, _, stderr = invoke(["convert", "incoming/Maria Lopez", "-o", "out", "--pseudonymize", "--key-file", "key"])
    maria = pseudonym("incoming/Maria Lopez")
    assert code == 2 and "Maria" not in stderr and "Lopez" not in stderr
    assert stderr.startswith(f"databack: no captures in {maria}: 1 file, none a HAR file")


# --- every place databack writes, and what makes what it writes pass the policy ------------------------------------

WRITES = {"write", "write_text", "write_bytes", "write_parquet", "write_csv", "write_ndjson", "write_json",
          "write_ipc", "write_ipc_stream", "write_avro", "write_excel", "write_delta", "write_database", "sink_parquet",
          "sink_csv", "sink_ipc", "sink_ndjson", "writelines", "dump", "copyfile", "copy2", "copyfileobj"}
# (module, function) -> why what it writes has passed the redaction policy. A new place that writes (a file, a
# table, standard output or error) fails the test below until it is named here with its reason: route captured
# text through converters.redaction (a `Safe`, `SafeRow`, `SafeJson`, `redaction.line`…) first.
OUTPUT_SITES = {
    ("cli", "_Messages._write"): "what _Messages.print and print_lines give it: every line through redaction.line",
    ("cli", "_print_json"): "report dicts made by as_dict/writers.report, which require Safe captured text",
    ("cli", "inspect"): "inspect_captures.render_table: rows checked by _require_redacted",
    ("cli", "_show_version"): "databack's own text",
    ("cli", "endpoints"): "databack's own text (devices.listing)",
    ("cli", "report"): "report_html.write",
    ("cli", "_finish"): "writers.write",
    ("cli", "_leave"): "databack's own text",
    ("cli", "main"): "click's usage messages (a traceback goes through _Messages)",
    ("api", "convert"): "writers.write",
    ("writers", "_write_table"): "tables of RowBuffer (Safe provenance, SafeRow rejects, strict_frame) and "
                                  "GenericRecords, one each in a thread of writers.write",
    ("writers", "_copies_written"): "copies.parquet of writers.write: table names, record hashes and source_file "
                                    "(Safe) of the reduce",
    ("writers", "_write_partitioned"): "the same tables",
    ("writers", "_write_json"): "report.json and datapackage.json (writers.report requires Safe names)",
    ("spill", "Sorted.write_parquet"): "the same tables, sorted on disk (one-file pieces, by polars' engine)",
    ("spill", "_write_parquet"): "the same tables, sorted on disk",
    ("spill", "_write_csv"): "the same tables, sorted on disk",
    ("spill", "_write"): "the same tables, in the work folder",
    ("store", "_write_all"): "the lock file (a process id and host) and the journal (OUT's own file names)",
    ("atomic", "_journaled"): "export omh's journal: the names of its schema files and of their staged copies",
    ("export_omh", "export"): "data points from the tables written",
    ("report_html", "write"): "report.html: tables, and report.json read through redaction.from_earlier_output",
    ("report_html", "figures"): "figures drawn from the same data",
    ("report_html", "vega_bundle"): "a JavaScript bundle of the package",
    ("scrub", "_rewrite_har"): "the scrubbed copy: every value through the policy",
    ("scrub", "_copy_members"): "a scrubbed archive: members already scrubbed, under the archive's own names",
    ("scrub", "_JsonWriter.event"): "the scrubbed copy",
    ("scrub", "_JsonWriter.value"): "the scrubbed copy",
    ("scrub", "_JsonWriter._separate"): "the scrubbed copy",
    ("scrub", "_JsonWriter._end"): "the scrubbed copy",
    ("captures.pipe", "_start"): "a capture's bytes to the reading child process, not an output",
    ("captures.pipe", "_write_all"): "a capture's bytes to the reading child process, not an output",
    ("captures.__init__", "spool"): "a capture's bytes from standard input or a pipe into a work folder, to be read: "
                                    "not an output",
}


def output_sites() -> set[tuple[str, str]]:
    """(module, function) of every call in converters/ that writes: print(), os.write, .write(), .write_text(),
    .write_parquet() and the like."""
    import ast

    from conftest import REPO

    sites = set()
    for path in sorted((REPO / "converters").rglob("*.py")):
        module = ".".join(path.relative_to(REPO / "converters").with_suffix("").parts)
        scope: list[str] = []

        class Visitor(ast.NodeVisitor):
            def visit_FunctionDef(self, node) -> None:
                scope.append(node.name)
                self.generic_visit(node)
                scope.pop()

            visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

            def visit_Call(self, node: ast.Call) -> None:
                f = node.func
                if (isinstance(f, ast.Name) and f.id == "print") or (
                    isinstance(f, ast.Attribute) and (f.attr in WRITES or ast.unparse(f) == "os.write")
                ):
                    sites.add((module, ".".join(scope)))
                self.generic_visit(node)

        Visitor().visit(ast.parse(path.read_text()))
    return sites


def test_every_place_that_writes_is_one_whose_text_passed_the_redaction_policy():
    sites = output_sites()
    assert sorted(sites - OUTPUT_SITES.keys()) == []  # a new output: see OUTPUT_SITES
    assert sorted(OUTPUT_SITES.keys() - sites) == []  # gone: take it out of the list


def test_messages_are_printed_only_through_the_policy():
    """`err.print` is the only way to standard error: the console is `_Messages`, whose print passes
    redaction.line; no other printing console exists."""
    from conftest import REPO

    cli = (REPO / "converters" / "cli.py").read_text()
    assert cli.count("Console(") == 1 and "self.rich = Console(" in cli


def test_a_hidden_folder_of_one_name_is_replaced_only_where_a_path_goes_on_below_it():
    hidden = {"in": "d-1", "in/Maria Lopez": "d-2"}
    assert redaction.line("in/x.har: partial (kept in rejects); in/Maria Lopez: empty", hidden) == (
        "d-1/x.har: partial (kept in rejects); d-2: empty")
    assert redaction.shown_path("in", hidden) == "d-1"


def test_a_report_field_added_later_must_hold_text_that_passed_the_policy():
    from dataclasses import dataclass, field

    from converters.pipeline import FileReport

    @dataclass
    class Later(FileReport):
        exchange_errors: list[str] = field(default_factory=list)

    report = Later(redaction.source_file("a.har"), exchange_errors=["bad event token=eyJhbGciOiJIUzI1NiJ9.e30.x"])
    with pytest.raises(redaction.Unredacted, match="report field exchange_errors"):
        report.as_dict()
    report.exchange_errors = [redaction.message(e) for e in report.exchange_errors]
    assert report.as_dict()["exchange_errors"] == ["bad event token=REDACTED"]


@pytest.mark.parametrize("raw, shown", [
    ("/api/token/abcDEF123ghiJKL456", "/api/token/{redacted}"),  # a segment named by the one before it
    ("/v1/login/alice/pw/hunter2x", "/v1/login/alice/pw/{redacted}"),
    ("/v1/tokens/123", "/v1/tokens/123"),  # a number, not a token
    ("/v2/passwords/reset", "/v2/passwords/reset"),  # a word
    ("/v1/oauth2/token", "/v1/oauth2/token"),
    ("/blob/key:" + "3f60834aa9956c89e443ca4c1593193129e12ba4", "/blob/key:REDACTED"),  # scheme:value
])
def test_paths_lose_credential_values_named_by_the_segment_before_them(raw, shown):
    assert redaction.path(raw) == shown


def _random_tokens(shape: str, count: int = 400) -> list[str]:
    import base64
    import random
    import string

    rng = random.Random(shape)
    letters = {"urlsafe-16-bytes": None, "alnum-20": string.ascii_letters + string.digits,
               "lower-digits-24": string.ascii_lowercase + string.digits,
               "upper-digits-32": string.ascii_uppercase + string.digits}

    def one() -> str:
        if shape == "urlsafe-16-bytes":
            return base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")
        if shape == "base32-20-bytes":
            return base64.b32encode(rng.randbytes(20)).decode()
        return "".join(rng.choice(letters[shape]) for _ in range(int(shape.rsplit("-", 1)[1])))

    return [one() for _ in range(count)]


@pytest.mark.parametrize("shape, share", [("urlsafe-16-bytes", 0.97), ("alnum-20", 0.97), ("lower-digits-24", 0.95),
                                          ("upper-digits-32", 0.97), ("base32-20-bytes", 0.85)])
def test_random_tokens_of_common_shapes_are_credentials_by_their_shape(shape, share):
    """Tokens as generators make them (secrets.token_urlsafe, random letters and digits, base32 TOTP secrets): at
    least this share of 400 is caught by shape alone (a draw that happens to read as words is not)."""
    tokens = _random_tokens(shape)
    assert sum(redaction.is_credential_value(t) for t in tokens) >= share * len(tokens)


@pytest.mark.parametrize("text", ["getUserProfileSettings", "ConfigurationManagerFactory", "HTTPServerRequestHandlerV2",
                                  "AbstractSingletonProxyFactoryBean", "iPhone10Plus256GBSpaceGray",
                                  "XMLHttpRequestEventTarget", "sha256WithRSAEncryption", "python312sitepackages",
                                  "MB2017Q3FIRMWARE2BUILD4", "Ocp-Apim-Subscription-Key", "android5phone1080x1920",
                                  "SLEEPSCOREV2CONDITIONIDEAL2", "5f4fc6d2-55b6-4b6d-84da-26274dd80ce2"])
def test_identifiers_that_read_as_words_are_no_credential(text):
    assert not redaction.is_credential_value(text)


def test_a_debug_traceback_of_a_pseudonymised_run_names_no_participant_folder(study):
    """A bug whose message names an input's folder (unquoted) is shown by --debug with the folder's pseudonym."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    root, pseudonym = study
    capture = root / "incoming" / "Maria Lopez" / "2024" / "phone.har"
    capture.write_bytes((REPO / "samples" / "phone-sync.har").read_bytes())
    script = (
        "import sys\n"
        "from converters.devices import band\n"
        "def broken(payload, request):\n"
        "    raise RuntimeError('bad event of incoming/Maria Lopez/2024/phone.har')\n"
        "object.__setattr__(band.EVENTS, 'decode', broken)\n"
        "from converters.cli import main\n"
        "sys.argv = ['databack', 'convert', 'incoming', '-o', 'out', '--debug', '--jobs', '1', '--pseudonymize',\n"
        "            '--key-file', 'key']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                            env=os.environ | {"PYTHONPATH": str(REPO)})
    assert result.returncode == 1 and "in broken" in result.stderr
    assert f"RuntimeError: bad event of {pseudonym('incoming/Maria Lopez/2024')}/phone.har" in result.stderr
    assert "Maria" not in result.stderr and "Lopez" not in result.stderr


def test_a_pseudonymised_inspection_names_files_as_convert_does(study, monkeypatch):
    root, pseudonym = study
    monkeypatch.chdir(root)
    (root / "incoming" / "Maria Lopez" / "notes.txt").unlink()
    for args in ([], ["--json"]):
        code, stdout, stderr = invoke(["inspect", "incoming", *args, "--pseudonymize", "--key-file", "key", "--jobs",
                                       "1"])
        assert code == 0 and f"{pseudonym('incoming/Maria Lopez/2024')}/phone.har" in stdout
        assert "Maria" not in stdout + stderr and "Lopez" not in stdout + stderr


@pytest.mark.parametrize("name", ["пароль", "Пароль", "パスワード", "密码", "hasło", "nowe_haslo", "şifre", "jelszó",
                                  "비밀번호", "κωδικός", "user[password]", "credentials.secret", "ACCESS-TOKEN",
                                  "aCCESStOKEN"])
def test_names_in_any_script_and_casing_always_hold_a_credential(name):
    assert credential_name(name) == "strong"


@pytest.mark.parametrize("name", ["the_slot", "parolee_count", "wordCount"])
def test_words_that_end_or_hold_a_foreign_password_word_by_chance_are_not_credentials(name):
    assert credential_name(name) is None


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("auth", "fizometedeburo", True),  # an opaque name: a lower-case run that reads as a word is still a token
    ("nonce", "sabivimepamo", True),
    ("session", "kqzvbnmrtw", True),
    ("auth", "NONE", False),  # an enum
    ("session", "invalid_grant", False),  # words joined by separators
    ("auth", "basic", False),  # too short to be a token
    ("code", "482913", True),  # a one-time code
    ("pairingCode", "7391", True),
    ("code", "404", False),
    ("code", 482913, False),  # a JSON number under `code` is a status or error code
    ("state", "completed", False),
    ("resetKey", "kqzvbnmrtwxp", True),  # lower-case letters alone, no vowels between: not a word
    ("resetKey", "invalid_grant", False),
])
def test_weak_names_by_their_values(name, value, expected):
    assert redaction.is_credential(name, value) is expected


@pytest.mark.parametrize(("path", "shown"), [
    ("/verify/otp/482913", "/verify/otp/{redacted}"),
    ("/v1/pin/7391/check", "/v1/pin/{redacted}/check"),
    ("/errorcode/4040", "/errorcode/4040"),
    ("/v1/users/1234/nights", "/v1/users/1234/nights"),
    ("/v1/account/carol.diaz%40nightowl.test/devices", "/v1/account/{redacted}/devices"),
    ("/v1/session/kqzvbnmrtw/state", "/v1/session/{redacted}/state"),
    ("/session/fizometedeburo/x", "/session/{redacted}/x"),  # a long run after a credential's name
    ("/v1/session/current", "/v1/session/current"),
    ("/password/reset", "/password/reset"),
    ("/token/refresh", "/token/refresh"),
])
def test_paths_shown_lose_codes_and_email_addresses(path, shown):
    assert redaction.path(path) == shown


@pytest.mark.parametrize("key", ["dop_v1_" + "cc8f6eb61a8ed6137403de15b76b20f8910a3073a7a6093ef1cee3cdad112047",
                                 "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",
                                 "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF2x\n-----END PGP PRIVATE KEY BLOCK-----"])
def test_a_random_tail_behind_a_vendor_prefix_and_pgp_keys_are_credentials(key):
    assert redaction.redact_text(f"key {key} here") == f"key {MARK} here"
    assert redaction.redact_text("python312_site_packages_numpy_core 2519812557630091728_2519812557630091729") == \
        "python312_site_packages_numpy_core 2519812557630091728_2519812557630091729"


def test_a_verification_call_is_a_sign_in_call():
    assert all(redaction.is_sign_in_url(u) for u in ("app.test/api/phone/verify", "x.test/v2/mfa/challenge",
                                                      "x.test/account/two-factor", "x.test/otp"))
    assert not redaction.is_sign_in_url("api.hello.is/v2/timeline/2017-03-02")


def test_device_text_loses_credential_pairs_and_keeps_its_words():
    import polars as pl

    df = pl.DataFrame({"message": ["You slept well.", "Wi-Fi password=Sommer2041!ab; next", "пароль: Zx81kQ2",
                                   "Your room key is 42", "code: 404", None],
                       "event_id": ["2519812557630091728", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "a",
                                    "b", "c", "d"]})
    out = redaction.strict_frame(df)
    assert out["message"].to_list() == ["You slept well.", f"Wi-Fi password={MARK}; next", f"пароль: {MARK}",
                                        "Your room key is 42", "code: 404", None]
    assert out["event_id"].to_list() == ["2519812557630091728", MARK, "a", "b", "c", "d"]


_TAIL = "Zq8Xv3Lm9Pw2Rt6Yk1Hn4Bc7Df0Gj5Ks8Ae2Qw9Er4Ty7Ui1Op3As6Df"
VENDOR_KEYS = [  # each as its vendor makes it: a fixed prefix, a random tail
    "glrt-" + _TAIL[:20], "gldt-" + _TAIL[:24], "glptt-" + _TAIL[:40], "pypi-AgEIcHlwaS5vcmc" + _TAIL,
    "GOCSPX-" + _TAIL[:28], "whsec_" + _TAIL[:32], "sk-proj-" + _TAIL, "sk-ant-api03-" + _TAIL,
    "hf_" + "ZqXvLmPwRtYkHnBcDfGjKsAeQwErTyUiOp", "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", "xapp-1-A0" + _TAIL[:30],
    "dp.st.prd." + _TAIL[:43], "dp.pt." + _TAIL[:43], "5513476021:AA" + _TAIL[:33],
    # what phone apps' SDKs carry: an FCM server key, a Facebook access token, Square's token and secret, a Stripe
    # ephemeral key
    "AAAAq8Zk3fQ:APA91b" + (_TAIL * 3)[:134], "EAAG" + (_TAIL * 3)[:150], "sq0atp-" + _TAIL[:22],
    "sq0csp-" + _TAIL[:43], "ek_live_" + _TAIL[:24],
]
WEBHOOKS = {  # a URL whose path is the credential
    "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/" + _TAIL[:24]: "https://hooks.slack.com/services/" + MARK,
    "https://discord.com/api/webhooks/112233445566778899/" + _TAIL: "https://discord.com/api/webhooks/" + MARK,
    "https://api.telegram.org/bot5513476021:" + _TAIL[:35] + "/sendMessage":
        f"https://api.telegram.org/bot{MARK}/sendMessage",
}


@pytest.mark.parametrize("key", VENDOR_KEYS)
def test_device_text_loses_keys_of_known_vendor_shapes(key):
    import polars as pl

    df = pl.DataFrame({"message": [f"note {key} here", "2519812557630091728", "You slept 7:12 well", "AA:BB:CC"]})
    assert redaction.strict_frame(df)["message"].to_list() == [f"note {MARK} here", "2519812557630091728",
                                                               "You slept 7:12 well", "AA:BB:CC"]
    assert redaction.redact_text(f"note {key} here") == f"note {MARK} here"


@pytest.mark.parametrize(("url", "shown"), WEBHOOKS.items())
def test_device_text_loses_the_secret_path_of_a_webhook_url(url, shown):
    import polars as pl

    assert redaction.strict_frame(pl.DataFrame({"link": [url]}))["link"].to_list() == [shown]


_SCHEMES_IN_TEXT = ["DPoP", "SSWS", "Bot", "HOBA", "Mutual", "MAC", "Splunk", "SCRAM-SHA-256", "vapid", "AWS",
                    "basic", "oauth", "wrap", "BEARER", "Token", "ApiKey"]


@pytest.mark.parametrize("scheme", _SCHEMES_IN_TEXT)
def test_device_text_loses_a_credential_after_any_authorization_scheme_and_in_any_case(scheme):
    """strict_frame finds a value to redact by anchors; every scheme redact_text knows (in any case, as it reads
    them) is one: a Band event named `Run DPoP …` kept its credential (short, not random) in band_events."""
    import polars as pl

    df = pl.DataFrame({"name": [f"Run {scheme} Gq1vz-yivtpa410", f"Run {scheme}", "Morning run"]})
    assert redaction.strict_frame(df)["name"].to_list() == [f"Run {scheme} {MARK}", f"Run {scheme}", "Morning run"]


@pytest.mark.parametrize("text", ["clave de acceso: Gq4vz-rfoe", "código de verificación: 48213", "Code de vérification"
                                  " : 48213", "codigo de acceso = 48213", "CLAVE DE ACCESO: Gq4vz-rfoe"])
def test_device_text_loses_the_value_of_a_credential_name_written_as_three_words(text):
    import polars as pl

    redacted = redaction.strict_frame(pl.DataFrame({"message": [text]}))["message"].to_list()
    assert redacted == [redaction.redact_text(text, redaction.STRICT)] and MARK in redacted[0]


_DEVICE_TEXT = ["You slept well.", "Wi-Fi password=Sommer2041!ab; next", "пароль: Zx81kQ2", "Your room key is 42",
                "code: 404", "2519812557630091728", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "", "a",
                "Bearer abcDEF123ghiJKL456mnoPQR", "token: abcDEF123ghiJKL456mnoPQR", "AWAKE", "https://x.test/?q=1"]


@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(_DEVICE_TEXT)),
                          st.one_of(st.none(), st.sampled_from(_DEVICE_TEXT))), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_device_text_is_redacted_as_each_value_alone_would_be(rows):
    """strict_frame searches each column's distinct values once: every value comes out as redact_text (STRICT)
    makes it alone, repeated, null or next to other columns' values alike."""
    import polars as pl

    df = pl.DataFrame(rows, schema={"message": pl.String, "event_id": pl.String}, orient="row")
    out = redaction.strict_frame(df.with_columns(n=pl.int_range(pl.len())))
    for name in ("message", "event_id"):
        expected = [None if v is None else redaction.redact_text(v, redaction.STRICT) for v in df[name]]
        assert out[name].to_list() == expected
    assert out["n"].to_list() == list(range(df.height))


def test_an_html_element_labelled_by_a_credential_name_loses_its_value():
    page = ('<meta name="csrf-token" content="abcdEFGH1234ijkl"><input type=hidden name=api_key value=k3jd8fh2kd9>'
            '<input name="email" value="a@b.c"><meta property="og:title" content="Sleep"> a < b, c > d')
    assert redaction.redact_text(page) == (
        f'<meta name="csrf-token" content="{MARK}"><input type=hidden name=api_key value={MARK}>'
        '<input name="email" value="a@b.c"><meta property="og:title" content="Sleep"> a < b, c > d')


def test_a_multipart_parts_headers_are_scrubbed_too():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    body = (f'--bb\r\nContent-Disposition: form-data; name="file"; filename="{jwt}.json"\r\n'
            "X-Token: abcDEF123ghiJKL456mnoPQR\r\nContent-Type: application/json\r\n\r\n{}\r\n--bb--\r\n").encode()
    assert redaction.redact_body(body, "multipart/form-data; boundary=bb", "other") == (
        f'--bb\r\nContent-Disposition: form-data; name="file"; filename="{MARK}.json"\r\n'
        f"X-Token: {MARK}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n--bb--\r\n").encode()


def test_json_cut_short_loses_credentials_nested_below_their_names_and_one_cut_in_the_middle():
    """A body cut short (a reject keeps its first MiB) does not parse: its credentials are found token by token,
    as in JSON that parses, not only as `name=value` text would show them."""
    cut = ('{"date": "2017-03-02", "client": {"password": {"current": "Tr0ub4dor&3-nested"}, '
           '"refresh_tokens": ["Tr0ub4dor&3-listed", 7], "fields": [{"name": "api_key", "value": "Tr0ub4dor&3-pair"}'
           ']}, "message": "You slept well.", "access_token": "Tr0ub4dor&3-cut-in-the-mid')
    shown = redaction.redact_body(cut.encode(), None, "other").decode()
    assert shown == ('{"date": "2017-03-02", "client": {"password": {"current": "REDACTED"}, '
                     '"refresh_tokens": ["REDACTED", "REDACTED"], "fields": [{"name": "api_key", "value": "REDACTED"}'
                     ']}, "message": "You slept well.", "access_token": "REDACTED')
    in_a_character = '{"name": "Zoë", "password": {"v": "Tr0ub4dor&3"}, "t": "é'.encode()[:-1]
    assert redaction.redact_body(in_a_character, None, "other") == in_a_character.replace(b"Tr0ub4dor&3", b"REDACTED")


@pytest.mark.parametrize("encoding, bom", [("utf-16", b""), ("utf-16-le", b""), ("utf-16-be", b""), ("utf-32", b""),
                                           ("utf-8", b"\xef\xbb\xbf")])
def test_a_body_in_utf16_utf32_or_after_a_bom_loses_its_credentials_in_its_own_encoding(encoding, bom):
    """The device decoders read JSON in these encodings (as Windows tools write it): a rejected body in one keeps
    no credential either, nor does a form."""
    body = bom + json.dumps({"events": "x", "client": {"password": {"current": "Tr0ub4dor&3"}}}).encode(encoding)
    redacted = redaction.redact_body(body, None, "other")
    assert orjson.loads(redacted.removeprefix(bom).decode(encoding)) == {"events": "x",
                                                                       "client": {"password": {"current": MARK}}}
    form = "user=alice&password=Tr0ub4dor-3".encode(encoding)
    assert redaction.redact_body(form, None, "other").decode(encoding) == "user=alice&password=REDACTED"


def test_a_json_key_that_is_text_loses_the_credentials_text_would():
    """Keys are data too (a map of links, of sensors): a URL's userinfo or token in one is replaced, in documents,
    generic columns and the place a schema violation names."""
    from converters.validation import schema_problem

    document = {"links": {"https://bob:Tr0ub4dor-3@files.example.org/x": 1, "/cb?access_token=Tr0ub4dor-4": 2,
                          "temperature": 3}}
    assert redaction.redact_json(document)[0] == {"links": {"https://REDACTED@files.example.org/x": 1,
                                                            "/cb?access_token=REDACTED": MARK, "temperature": 3}}
    assert redaction.generic_payload(document).value == {"links": {"https://REDACTED@files.example.org/x": 1,
                                                                   "temperature": 3}}
    reason = schema_problem("sense-room-current.json", {"https://bob:Tr0ub4dor-3@files.example.org/": "x"})
    assert reason == 'at /https://REDACTED@files.example.org/: a string is not of types "null", "object"'


def test_a_scrubbed_har_keeps_no_credential_in_the_names_of_fields_it_does_not_know(tmp_path):
    from builders import entry

    from converters.scrub import scrub_capture

    e = entry("https://api.example.com/v1/x", {"ok": 1})
    e["https://carol:Tr0ub4dor-1@files.example.org/"] = "x"
    e["request"]["headers"].append({"name": "Accept", "value": "*/*", "/cb?code=4/0AX4XfWhTr0ub4dor-2": 1})
    har = {"log": {"version": "1.2", "https://erin:Tr0ub4dor-3@files.example.org/": {"a": 1}, "entries": [e]}}
    (tmp_path / "in.har").write_text(json.dumps(har))
    assert scrub_capture(tmp_path / "in.har", tmp_path / "out.har").status == "ok"
    copy = json.loads((tmp_path / "out.har").read_text())["log"]
    assert "Tr0ub4dor" not in (tmp_path / "out.har").read_text()
    assert list(copy) == ["version", "https://REDACTED@files.example.org/", "entries"]
    assert list(copy["entries"][0])[-1] == "https://REDACTED@files.example.org/"
    assert copy["entries"][0]["request"]["headers"][-1] == {"name": "Accept", "value": "*/*", "/cb?code=REDACTED": 1}


def test_an_xml_element_named_by_a_credential_loses_its_text_in_a_cdata_section_too():
    body = (b"<Login><User>alice</User><Password><![CDATA[Tr0ub4dor&3]]></Password><Pin>\n  <![CDATA[4829]]>\n</Pin>"
            b"<Note><![CDATA[hello]]></Note></Login>")
    assert redaction.redact_body(body, "text/xml", "other") == (
        b"<Login><User>alice</User><Password><![CDATA[REDACTED]]></Password><Pin>\n  <![CDATA[REDACTED]]>\n</Pin>"
        b"<Note><![CDATA[hello]]></Note></Login>")


@pytest.mark.parametrize("text, shown", [
    ('<a href="/reset?token=Tr0ub4dor-3">reset</a>', '<a href="/reset?token=REDACTED">reset</a>'),
    ("<div data-next='/cb?code=4/0AX4XfWhTr0ub4dor&lang=en'>", "<div data-next='/cb?code=REDACTED&lang=en'>"),
    ('config = "password=Tr0ub4dor-3; user=alice"', 'config = "password=REDACTED; user=alice"'),
    ("next=/cb?code=4/0AX4XfWhTr0ub4dor&lang=en", "next=/cb?code=REDACTED&lang=en"),
    ("set: session=fizometedeburo", "set: session=REDACTED"),
    ("'password' => 'Tr0ub4dor-3', 'user' => 'alice'", "'password' => 'REDACTED', 'user' => 'alice'"),
    (":api_key => Tr0ub4dor-3", ":api_key => REDACTED"),
    ('note: "hello world", ratio=3:4, at: 10:30', 'note: "hello world", ratio=3:4, at: 10:30'),
])
def test_a_credential_pair_inside_another_pairs_value_or_after_an_arrow_loses_its_value(text, shown):
    """A relative link in an attribute, a query inside a value, PHP's and Ruby's `=>`: no URL of its own says
    where the credential is, the pair inside does."""
    assert redaction.redact_text(text) == shown


@pytest.mark.parametrize("text, shown", [
    ("https%3A%2F%2Fapp.example.com%2Fcb%3Faccess_token%3DTr0ub4dor-3",
     "https://app.example.com/cb?access_token=REDACTED"),
    ("https%3A%2F%2Fbob%3ATr0ub4dor-3%40files.example.org%2Fx", "https://REDACTED@files.example.org/x"),
    ("saved%20form%3A%20password%3DTr0ub4dor-3", "saved%20form:%20password=REDACTED"),
    ("https://a.example.com/?next=https%253A%252F%252Fb.example.com%252F%253Fcode%253DTr0ub4dor-3",
     "https://a.example.com/?next=https%3A%2F%2Fb.example.com%2F%3Fcode%3DREDACTED"),
    ("caf%C3%A9 100%25 done", "caf%C3%A9 100%25 done"),
])
def test_percent_encoded_text_loses_the_credentials_it_encodes(text, shown):
    """A URL or a form percent-encoded in a JSON string or a page (an analytics event's page, a redirect kept
    twice encoded) hides its credentials from patterns that read plain text."""
    assert redaction.redact_text(text) == shown
    assert redaction.generic_payload({"page": text}).value == {"page": shown}


def test_a_headers_name_value_pair_as_a_list_or_labelled_otherwise_loses_its_value():
    """Logged headers and form fields come as [name, value] lists and as objects labelled by `header`, `id`,
    `type` or `k` beside a `value` or `v`: the name says the value is a credential, as `{name, value}` does."""
    document = {"headers": [["Authorization", "2.0c9b0e2fTr0ub4dor"], ["Accept", "*/*"]],
                "logged": [{"header": "X-Api-Key", "value": "Tr0ub4dor-1"}, {"id": "password", "value": "Tr0ub4dor-2"},
                           {"type": "password", "name": "login-form-pw", "value": "Tr0ub4dor-3"},
                           {"k": "refresh_token", "v": "Tr0ub4dor-4"}, {"id": "nickname", "value": "Rex"}],
                "tags": ["sleep", "password reset"]}
    assert redaction.redact_json(document)[0] == {
        "headers": [["Authorization", MARK], ["Accept", "*/*"]],
        "logged": [{"header": "X-Api-Key", "value": MARK}, {"id": "password", "value": MARK},
                   {"type": "password", "name": "login-form-pw", "value": MARK}, {"k": "refresh_token", "v": MARK},
                   {"id": "nickname", "value": "Rex"}],
        "tags": ["sleep", "password reset"]}


@pytest.mark.parametrize("name, value", [
    ("X-Custom-Auth", "c2VjcmV0LXRva2Vu"), ("deviceAuth", "dv-8843-kq2"), ("basicAuth", "alice:Tr0ub4dor"),
    ("connect.sid", "s%3AkT2x9.Qm"), ("mnemonic", "abandon ability able about above absent"),
    ("seed_phrase", "abandon ability able about"), ("recoveryPhrase", "correct horse battery staple"),
    ("creds", "alice/Tr0ub4dor"), ("wifi_psk", "Tr0ub4dor"), ("magic_link", "https://app.example.com/m/kT2x9Qm"),
])
def test_names_ending_in_auth_or_sid_and_phrases_that_restore_a_wallet_hold_credentials(name, value):
    assert redaction.is_credential(name, value)
    assert redaction.redact_json({name: value, "requiresAuth": True, "paid": "yes"})[0] == {
        name: MARK, "requiresAuth": True, "paid": "yes"}


def test_json_holding_bytes_that_are_no_utf8_loses_its_credentials_and_keeps_those_bytes():
    """A server that sends Latin-1 (`Zoë` as one byte): no JSON parser reads it, so it is rejected and kept; its
    credentials are found token by token as in any JSON that does not parse, its other bytes stay as they were."""
    body = '{"name": "Zoë", "password": "Tr0ub4dor-é", "refresh_tokens": ["Tr0ub4dor-3"], "pin": 4821}'.encode("latin-1")
    assert redaction.redact_body(body, None, "other") == (
        '{"name": "Zoë", "password": "REDACTED", "refresh_tokens": ["REDACTED"], "pin": "REDACTED"}'.encode("latin-1"))


def test_a_host_with_a_user_and_password_before_it_loses_them():
    """A Host header (or :authority) that carries `user:password@` gives a flow's host: the report's and inspect's
    hosts, and a scrubbed copy's header, keep the host alone."""
    assert redaction.host("bob:Tr0ub4dor-3@api.example.com") == "{redacted}@api.example.com"
    assert redaction.redact_header("Host", "bob:Tr0ub4dor-3@api.example.com") == ("REDACTED@api.example.com", "url")
    assert redaction.redact_header(":authority", "api.example.com:443") == ("api.example.com:443", None)


@pytest.mark.parametrize("body, shown", [
    (b'data: {"password": {"current": "Tr0ub4dor-1"}}\n\ndata: {"refresh_tokens": ["Tr0ub4dor-2"]}\n\n',
     b'data: {"password": {"current": "REDACTED"}}\n\ndata: {"refresh_tokens": ["REDACTED"]}\n\n'),
    (b'<script>window.__STATE__ = {"user": {"password": {"hash": "Tr0ub4dor-3"}, "name": "Rex"}};</script>',
     b'<script>window.__STATE__ = {"user": {"password": {"hash": "REDACTED"}, "name": "Rex"}};</script>'),
    (b'<p>5\'10" tall; {"note": "ok"} and "quoted words"</p>', b'<p>5\'10" tall; {"note": "ok"} and "quoted words"</p>'),
])
def test_json_inside_text_loses_the_credentials_nested_below_their_names(body, shown):
    """Server-sent events, a page's state, a log line: JSON inside text is redacted as JSON, not only as pairs."""
    assert redaction.redact_body(body, "text/event-stream", "other") == shown


def test_device_text_loses_a_pair_under_every_name_the_policy_knows():
    """Device tables are searched for anchors before the policy reads a value: every credential name it knows (in
    any script and casing, `contraseña`, `HASŁO`, `PPFT`, `csrf`) must be one, or a pair under it stays."""
    import polars as pl

    words = [w for w in redaction._STRONG_PARTS.pattern.split("|") + sorted(redaction._STRONG_EXACT) if len(w) > 2]
    texts = [f"Wi-Fi {form}: Tr0ub4dor-{i}" for i, w in enumerate(words) for form in (w, w.upper())]
    redacted = redaction.strict_frame(pl.DataFrame({"message": texts}))["message"].to_list()
    assert [t for t, r in zip(texts, redacted) if r != redaction.redact_text(t, redaction.STRICT)] == []
    assert all("Tr0ub4dor" not in r for r in redacted)


@pytest.mark.parametrize("name", ["पासवर्ड", "รหัสผ่าน", "user_पासवर्ड", "2fa"])
def test_names_whose_letters_carry_marks_or_begin_with_a_digit_hold_a_credential_in_json_and_text(name):
    """Devanagari and Thai letters carry vowel marks that are no letters to Python: a name was compared without
    them, so the policy's own पासवर्ड and รหัสผ่าน never matched, in JSON keys nor in text."""
    assert credential_name(name) == "strong"
    assert redaction.redact_json({name: "abc12345"})[0] == {name: MARK}
    assert redaction.redact_text(f"Wi-Fi {name}: abc12345") == f"Wi-Fi {name}: REDACTED"


def test_device_text_loses_a_user_and_password_of_a_percent_encoded_url():
    import polars as pl

    frame = pl.DataFrame({"link": ["https%3A%2F%2Fbob%3ATr0ub4dor%40files.example.org%2Fx", "https%3A%2F%2Fexample.org"]})
    assert redaction.strict_frame(frame)["link"].to_list() == ["https://REDACTED@files.example.org/x",
                                                               "https%3A%2F%2Fexample.org"]


@pytest.mark.parametrize("kind, note", [("other", b"hi"), ("sign-in-request", b"REDACTED")])
def test_a_multipart_body_whose_lines_end_in_lf_alone_loses_its_credential_fields(kind, note):
    """Some tools write multipart bodies with bare LF line ends: their parts were not found, so a sign-in's
    password stayed whole."""
    body = (b'--b\nContent-Disposition: form-data; name="password"\n\nTr0ub4dor-1\n'
            b'--b\nContent-Disposition: form-data; name="note"\n\nhi\n--b--\n')
    assert redaction.redact_body(body, None, kind) == body.replace(b"Tr0ub4dor-1", b"REDACTED").replace(
        b"\n\nhi\n", b"\n\n" + note + b"\n")


@pytest.mark.parametrize("name", ["pass1", "pass2", "pwd1", "pin2", "otp1", "pswd", "pword", "pwrd", "puk"])
def test_numbered_and_abbreviated_password_fields_always_hold_a_credential(name):
    """WordPress's password reset form posts pass1 and pass2: the name's number hid its ending."""
    assert credential_name(name) == "strong"
    assert redaction.redact_params(f"user_login=alice&{name}=Tr0ub4dor-3")[0] == f"user_login=alice&{name}=REDACTED"


def test_a_sign_parameter_holds_a_credential_when_its_value_looks_like_one():
    assert redaction.redact_params("sign=9f2c4e1a7b3d5f60&op=+")[0] == "sign=REDACTED&op=+"
    assert [credential_name(n) for n in ("version2", "step1", "spin2", "bypass1", "h264")] == [None] * 5


@pytest.mark.parametrize("text, shown", [
    ("Wi-Fi password: correct horse battery staple", "Wi-Fi password: REDACTED"),
    ("passphrase=abandon ability able about\nnext line", "passphrase=REDACTED\nnext line"),
    ("password: Tr0ub4dor and more; user: alice", "password: REDACTED; user: alice"),
    ("password: Tr0ub4dor user: alice", "password: REDACTED user: alice"),
    ("code: 404 not found", "code: 404 not found"),
])
def test_a_passphrase_in_text_is_replaced_whole_not_its_first_word(text, shown):
    assert redaction.redact_text(text) == shown


@pytest.mark.parametrize(("name", "shown"), [
    ("p07/sync password=Hunter2Zq9x.har", f"p07/sync password={MARK}.har"),
    ("p07/access_token=Zq8Xv3Lm9Pw2Rt6Yk1Hn4Bc7/night.har", f"p07/access_token={MARK}/night.har"),
    ("C:\\p07\\pin=48291377\\night.har", f"C:\\p07\\pin={MARK}\\night.har"),
    ("in/sync%20password%3DHunter2Zq9x.har", f"in/sync%20password={MARK}.har"),
    ("p07/a3f9c0d1e2b4a5f60718293a4b5c6d7e8f9a0b1c.har", "p07/a3f9c0d1e2b4a5f60718293a4b5c6d7e8f9a0b1c.har"),
    ("s3://bucket/study/p07/2024-03-02 phone.har", "s3://bucket/study/p07/2024-03-02 phone.har"),
])
def test_a_file_name_loses_its_credentials_folder_by_folder_and_keeps_ids(name, shown):
    assert redaction.file_name(name) == shown


@pytest.mark.parametrize("key", ["SK" + "8c0e4b6fa1d2937e5b0c4d8f1a2e3b7c", "SK" + "8C0E4B6FA1D2937E5B0C4D8F1A2E3B7C",
                                 "key-" + "3ax6xnjp29jd6fds4gc373sgvjxteol0"])
def test_device_text_loses_twilio_and_mailgun_keys(key):
    """A Twilio API key (`SK` and 32 hex digits) and a Mailgun key (`key-` and 32 letters and digits) are keys by their
    shape: STRICT text (device tables, file names) kept them whole, as a device id; words after `key-` stay."""
    import polars as pl

    df = pl.DataFrame({"message": [f"note {key} here", "key-" + "abcdefghijklmnopqrstuvwxyzabcdef", "TASK DESK SKU"]})
    assert redaction.strict_frame(df)["message"].to_list() == [f"note {MARK} here", "key-abcdefghijklmnopqrstuvwxyzabcdef",
                                                               "TASK DESK SKU"]
    assert redaction.file_name(f"p07/{key}.har") == f"p07/{MARK}.har"


@pytest.mark.parametrize("separator", [",", ":", " ", '", "', "\t", " | "])
def test_an_aws_secret_key_right_after_its_access_key_id_is_removed_from_device_text(separator):
    """The console's credentials file (`AKIA…,wJalr…`) and `id:secret` pairs: the 40-character secret alone looks like
    any id (kept in device text), but right after an access key id it is the key's secret; a 40-character id after
    other text stays."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = f"bob,,AKIAIOSFODNN7EXAMPLE{separator}{secret},https://console.test/"
    assert redaction.redact_text(text, redaction.STRICT) == f"bob,,{MARK}{separator}{MARK},https://console.test/"
    assert redaction.redact_text(f"device {secret}", redaction.STRICT) == f"device {secret}"


def test_a_password_field_loses_its_value_whatever_its_name_or_the_order_of_its_attributes():
    page = ('<input value="Tr0ub4dor-1" type="password"><input type=PASSWORD name=f2 value=Tr0ub4dor-2>'
            '<input type="text" name="q" value="sleep">')
    assert redaction.redact_text(page) == redaction.redact_text(page, redaction.STRICT) == (
        f'<input value="{MARK}" type="password"><input type=PASSWORD name=f2 value={MARK}>'
        '<input type="text" name="q" value="sleep">')


@pytest.mark.parametrize(("text", "shown"), [
    ("密码：Tr0ub4dor-1，用户：bob", f"密码：{MARK}，用户：bob"),
    ("パスワード＝Tr0ub4dor-2", f"パスワード＝{MARK}"),
    ("password\u00a0=\u00a0Tr0ub4dor-3", f"password\u00a0=\u00a0{MARK}"),
    ("比率：50%，時間：12:30", "比率：50%，時間：12:30"),
])
def test_a_pair_written_with_a_full_width_colon_or_no_break_spaces_loses_its_value(text, shown):
    """CJK text writes `name：value` with U+FF1A (and ＝); a pair's value ends at a full-width comma or semicolon."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("password: |\n  Tr0ub4dor-1\n  more\nuser: bob", f"password: |\n  {MARK}\nuser: bob"),
    ("db:\n  api_secret: >-\n    Tr0ub4dor-2\n  host: x", f"db:\n  api_secret: >-\n    {MARK}\n  host: x"),
    ("credentials:\n  user: bob\n  password:\n    Tr0ub4dor-3\n", f"credentials:\n  user: bob\n  password:\n    {MARK}\n"),
    ("password: |\r\n  Tr0ub4dor-4\r\nnext: 1", f"password: |\r\n  {MARK}\r\nnext: 1"),
    ("notes: |\n  slept well\nsleep:\n  deep: 3", "notes: |\n  slept well\nsleep:\n  deep: 3"),
])
def test_a_yaml_value_on_the_lines_below_its_credential_name_is_replaced(text, shown):
    """A block scalar (`password: |`) or a plain value alone on the next line: `name: value` on one line is all
    text pairs were, so both kept the password; other keys' blocks, and mappings below a credential's name, stay."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown
    assert redaction.redact_text(shown) == shown


@pytest.mark.parametrize("document", [
    {"field": "password", "data": "Tr0ub4dor-1"}, {"param": "password", "value": "Tr0ub4dor-1"},
    {"attribute": "password", "value": "Tr0ub4dor-1"}, {"Name": "password", "StringValue": "Tr0ub4dor-1"},
    {"key": "api_key", "stringValue": "Tr0ub4dor-1"}, {"name": "Authorization", "content": "Tr0ub4dor-1"},
    {"property": "client_secret", "text": "Tr0ub4dor-1"},
])
def test_a_value_labelled_by_a_credential_name_under_other_common_keys_is_replaced(document):
    """AWS's `{"Name", "StringValue"}`, `{"param", "value"}`, `{"field", "data"}`… as `{"name", "value"}` was; a
    label that names no credential keeps its value."""
    (label, value) = document
    redacted, _ = redaction.redact_json([document, {label: "sleep_score", value: "Tr0ub4dor-1"}])
    assert redacted == [{**document, value: MARK}, {label: "sleep_score", value: "Tr0ub4dor-1"}]
    assert "Tr0ub4dor" not in redaction.redact_body(json.dumps(document).encode(), "application/json", "other").decode()


@pytest.mark.parametrize("name", ["cvv", "cvc", "cvv2", "CVC2", "card_cvv"])
def test_a_cards_security_code_is_a_credential(name):
    assert redaction.redact_text(f"{name}=123&amount=5") == f"{name}={MARK}&amount=5"


def test_device_text_loses_base64_json_that_holds_a_credential():
    """`eyJ…` without a JWT's dots: base64 of a JSON object, replaced in STRICT text (device tables, file names) when
    what it encodes holds a credential; base64 JSON of data, and a JWT's header alone, stay."""
    import polars as pl

    secret = base64.urlsafe_b64encode(b'{"user":"bob","password":"Tr0ub4dor-1"}').decode().rstrip("=")
    data = base64.b64encode(b'{"sleep":3,"deep":40}').decode()
    df = pl.DataFrame({"message": [f"note {secret} here", data, "eyJhbGciOiJIUzI1NiJ9"]})
    assert redaction.strict_frame(df)["message"].to_list() == [f"note {MARK} here", data, "eyJhbGciOiJIUzI1NiJ9"]
    assert redaction.file_name(f"p07/{secret}.har") == f"p07/{MARK}.har"


@pytest.mark.parametrize(("text", "shown"), [
    ("security answer: Fluffy1", f"security answer: {MARK}"),
    ("Seed phrase: abandon ability able", f"Seed phrase: {MARK}"),
    ("note; recovery-phrase = abandon ability", f"note; recovery-phrase = {MARK}"),
    ("Sleep score: 82, Error code: 404, my answer: yes", "Sleep score: 82, Error code: 404, my answer: yes"),
])
def test_a_credential_name_written_as_two_words_loses_its_value(text, shown):
    """`security answer: …` in text is the `securityAnswer` a JSON key is: a pair's name was one word, so `answer`
    and `phrase` alone held nothing; a name is judged with the word before it where it is none alone."""
    import polars as pl

    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown
    assert redaction.strict_frame(pl.DataFrame({"message": [text]}))["message"].to_list() == [shown]


@pytest.mark.parametrize("name", ["pwdHash", "passHash", "pinHash", "pw_hash", "otpHash", "userPinHash", "pass1Hash",
                                  "pin_sha256", "pwd_digest", "passHashed", "pswd_md5", "cvvHash", "credHash"])
def test_a_credentials_hash_is_a_credential_under_a_short_name_as_under_password_hash(name):
    """`password_hash` held a credential (its name holds `password`), but `pwdHash`, `passHash` and `pinHash` did
    not: their ending named an id (`…hash`, whose values are not judged by their randomness), so a PIN's or
    password's hash, which opens the account to whoever cracks it offline, was kept in generic values, rejects and
    scrubbed bodies. A credential's name followed by hash, digest, sha… is a credential's, as `password_hash` is; the
    hash of data (`file_hash`, `spinHash`) is not."""
    assert credential_name("password_hash") == credential_name(name) == "strong"
    body = json.dumps({name: "5f4dcc3b5aa765d61d8327deb882cf99", "file_hash": "9e107d9d372bb6826bd81d3542a419d6"})
    for kind in ("device", "other"):
        shown = json.loads(redaction.redact_body(body.encode(), "application/json", kind))
        assert shown == {name: MARK, "file_hash": "9e107d9d372bb6826bd81d3542a419d6"}
    assert redaction.redact_text(f"{name}: $2b$12$KIXQJq8zPq1m0cJ4eW3oWe") == f"{name}: {MARK}"
    assert credential_name("file_hash") is None and credential_name("spinHash") is None
    assert credential_name("sessionHash") == "weak" and credential_name("pin_hash_type") is None


@pytest.mark.parametrize(("text", "shown"), [
    ('<string name="auth_token">Tr0ub4dor-x1</string>', f'<string name="auth_token">{MARK}</string>'),
    ('<Property Name="Password">Tr0ub4dor-x2</Property>', f'<Property Name="Password">{MARK}</Property>'),
    ("<entry key='api_key'>Tr0ub4dor-x3</entry>", f"<entry key='api_key'>{MARK}</entry>"),
    ("<Parameter><Name>db_password</Name><Type>SecureString</Type><Value>Tr0ub4dor-x4</Value></Parameter>",
     f"<Parameter><Name>db_password</Name><Type>SecureString</Type><Value>{MARK}</Value></Parameter>"),
    ('<string name="theme">dark</string><p><Name>Alice</Name> <Value>42</Value></p>',
     '<string name="theme">dark</string><p><Name>Alice</Name> <Value>42</Value></p>'),
])
def test_an_xml_element_labelled_by_a_credential_name_in_an_attribute_or_a_name_element_loses_its_text(text, shown):
    """Android's saved preferences (`<string name="auth_token">`), .NET and Java properties, AWS's and SOAP's
    `<Name>…</Name><Value>…</Value>` parameters: the element's own name says nothing, its label does (as JSON's
    {"name", "value"}), and the text was kept in rejects, generic values and scrubbed bodies."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown
    body = f'<?xml version="1.0"?><map>{text}</map>'.encode()
    assert redaction.redact_body(body, "text/xml", "other") == f'<?xml version="1.0"?><map>{shown}</map>'.encode()


JWT_PARTS = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJzdWIiOiJhbGljZSIsInNpZCI6Ijc3In0",
             "Tr0ub4dorSflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV")


@pytest.mark.parametrize("text", [
    f"token {JWT_PARTS[0]}.\n{JWT_PARTS[1]}.\n{JWT_PARTS[2]}\nThe end",
    f"{JWT_PARTS[0]}.{JWT_PARTS[1][:12]}\n  {JWT_PARTS[1][12:]}.{JWT_PARTS[2][:20]}\n  {JWT_PARTS[2][20:]}",
    f'"{JWT_PARTS[0]}\\n.{JWT_PARTS[1]}\\n.{JWT_PARTS[2]}"',
])
def test_a_jwt_split_across_lines_is_replaced_whole(text):
    """A JWT wrapped at a width (a log, a page, base64 line lengths) or its breaks written as `\\n`: no line alone is
    a JWT, so its claims and signature were kept, in device text whole."""
    import polars as pl

    for shown in (redaction.redact_text(text), redaction.redact_text(text, redaction.STRICT),
                  redaction.strict_frame(pl.DataFrame({"message": [text]}))["message"][0]):
        assert not any(part[4:16] in shown for part in JWT_PARTS), shown
        assert MARK in shown and ("The end" in shown) == ("The end" in text)


@pytest.mark.parametrize(("text", "shown"), [
    ("Driver={SQL Server};Server=db;Uid=sa;PWD={Tr0ub4dor;x1};", f"Driver={{SQL Server}};Server=db;Uid=sa;PWD={MARK};"),
    ("Server=db;User ID=sa;Password={Tr0ub4dor-x2};", f"Server=db;User ID=sa;Password={MARK};"),
    ('password := "Tr0ub4dor-x3"', f'password := "{MARK}"'),
    ("url={base}/v1?token={redacted}", "url={base}/v1?token={redacted}"),
])
def test_a_braced_connection_string_value_and_a_colon_equals_pair_lose_their_value(text, shown):
    """ODBC and ADO.NET connection strings quote a value in braces (`PWD={…;…}`), Go and Pascal write `:=`: the
    pair's value was not read, so the password stayed."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown


@pytest.mark.parametrize("name", ["pinNumber", "pin_number", "pinNo", "pinValue", "pinConfirm", "pinEntry", "pwd_new",
                                  "pwdNew", "pwdConfirm", "pass_new", "passConfirm", "otpNumber", "otpEntered"])
def test_a_short_credential_name_followed_by_a_word_saying_which_is_a_credential(name):
    """`pin`, `pwd`, `pass` and `otp` hold a credential alone or at a name's end (`newPin`), but not followed by a
    word saying which or what of it (`pinNumber`, `pwd_new`, `otpEntered`), as `password_new` did by its `password`:
    a PIN in a --generic column, a reject and a scrubbed body. Words ending so stay data."""
    assert credential_name(name) == "strong"
    assert redaction.generic_payload({name: "4821", "steps": 5}).value == {"steps": 5}
    for data in ("spinValue", "bypassNumber", "compassValue", "pinLength", "phoneNumber", "inputValue", "casino"):
        assert credential_name(data) is None


@pytest.mark.parametrize(("text", "encoding", "media"), [
    ("nom=José&pin=4821&x=1", "latin-1", "application/x-www-form-urlencoded"),
    ("Bienvenue José\npin: 4821\n", "cp1252", "text/plain"),
    ("ユーザー\npw=Tr0ub4\n", "shift_jis", "text/plain"),
    ("<p>Café</p><input name=pw value=Tr0ub4>", "latin-1", "text/html"),
])
def test_a_body_in_a_legacy_charset_loses_its_short_credentials(text, encoding, media):
    """A page, form or message in Latin-1, Windows-1252 or Shift_JIS is no UTF-8: it was searched as binary data,
    by runs of 16 printable ASCII characters, so `pin=4821` and `pw=Tr0ub4` (shorter) were kept in rejects and
    scrubbed copies. Text (no more than 1 % control bytes) is read byte for byte as Latin-1 and redacted as text,
    every other byte kept."""
    data = text.encode(encoding)
    redacted = redaction.redact_body(data, media, "other")
    assert b"4821" not in redacted and b"Tr0ub4" not in redacted and MARK.encode() in redacted
    assert redacted.replace(MARK.encode(), b"") == data.replace(b"4821", b"").replace(b"Tr0ub4", b"")
    binary = bytes(range(32)) * 4 + b"pin=4821"  # binary data: as before, its long printable runs alone
    assert redaction.redact_body(binary, "application/octet-stream", "other") == binary


def test_base64_of_a_user_and_password_is_replaced_without_a_basic_scheme_before_it():
    """`Authorization: Basic …` loses its credential by the scheme's name; the same base64 of `user:password` under
    a neutral name (`?u=…`, a JSON value, a line of text, a file's name) was kept when shorter than a random token
    (20 characters): base64 runs that decode to printable `name:password` are replaced, base64 of other text and
    numbers stay."""
    secret = base64.b64encode(b"alice:Tr0ub4dor").decode()
    short = base64.b64encode(b"bob:hunter2").decode().rstrip("=")
    assert redaction.redact_url(f"https://api.example.com/cb?u={secret}&v=2") == (
        f"https://api.example.com/cb?u={MARK}&v=2")
    assert redaction.generic_payload({"x": short, "n": 5}).value == {"x": MARK, "n": 5}
    assert redaction.redact_text(f"sent {secret} to the proxy") == f"sent {MARK} to the proxy"
    assert redaction.redact_text(f"u={short}", redaction.STRICT) == f"u={MARK}"
    assert redaction.file_name(f"p07/{secret}.har") == f"p07/{MARK}.har"
    kept = "id 2519812557630091728 aGVsbG8gd29ybGQ= (hello world) abc12345 ZXhhbXBsZQ== 2015-01-12T06:43:56.9908271Z"
    assert redaction.redact_text(kept) == kept


@pytest.mark.parametrize(("label", "value"), [
    ("ParameterKey", "ParameterValue"), ("parameterName", "parameterValue"), ("headerName", "headerValue"),
    ("fieldName", "fieldValue"), ("field_name", "field_value"), ("propertyName", "propertyValue"),
    ("OptionName", "Value"), ("variable", "value"), ("settingKey", "settingValue"), ("name", "defaultValue"),
    ("n", "v"),
])
def test_a_value_labelled_under_a_compound_key_is_replaced(label, value):
    """CloudFormation's `{ParameterKey, ParameterValue}`, `{headerName, headerValue}`, `{fieldName, fieldValue}`,
    Elastic Beanstalk's `{OptionName, Value}`, `{n, v}`: a label and its value under compound keys, read as
    `{name, value}` is (in parsed JSON and in JSON that does not parse); a label naming data keeps its value."""
    document = [{label: "DB_PASSWORD", value: "Tr0ub4dor-c1"}, {label: "sleep_score", value: "Tr0ub4dor-c2"}]
    assert redaction.redact_json(document)[0] == [{label: "DB_PASSWORD", value: MARK}, document[1]]
    broken = json.dumps(document)[:-2].encode()
    assert b"Tr0ub4dor-c1" not in redaction.redact_body(broken, "application/json", "other")
    assert b"Tr0ub4dor-c2" in redaction.redact_body(broken, "application/json", "other")


@pytest.mark.parametrize(("text", "shown"), [
    ('<div data-props="{&quot;access_token&quot;:&quot;Tr0ub4dor-e1&quot;,&quot;n&quot;:1}">',
     '<div data-props="{&quot;access_token&quot;:&quot;REDACTED&quot;,&quot;n&quot;:1}">'),
    ("<p>password&#61;Tr0ub4dor-e2</p>", "<p>password=REDACTED</p>"),
    ('<script>var s = JSON.parse("{\\"token\\":\\"Tr0ub4dor-e3\\",\\"n\\":1}");</script>',
     '<script>var s = JSON.parse("{\\"token\\":\\"REDACTED\\",\\"n\\":1}");</script>'),
    ("var u = 'https://x.example.com/cb?access_token\\x3dTr0ub4dor-e4';",
     "var u = 'https://x.example.com/cb?access_token=REDACTED';"),
    ('"https:\\/\\/bob:Tr0ub4dor-e5@files.example.org\\/x"', '"https://REDACTED@files.example.org/x"'),
    ('<p title="Tom &amp; Jerry">a &quot;quote&quot; &eacute;</p> "C:\\\\temp\\\\x" "caf\\u00e9 \\"ok\\""',
     '<p title="Tom &amp; Jerry">a &quot;quote&quot; &eacute;</p> "C:\\\\temp\\\\x" "caf\\u00e9 \\"ok\\""'),
])
def test_text_escaped_for_html_or_a_script_loses_the_credentials_it_encodes(text, shown):
    """A page's data attribute holds JSON as `{&quot;access_token&quot;:…}` (Rails', React's server-rendered props),
    a script `JSON.parse("{\\"token\\":…}")` or a URL with `\\x3d` and `\\/`: their pairs and URLs were hidden from the
    patterns reading plain text (in scrubbed pages and rejects). Such runs are redacted as the text they stand for,
    and escaped again where a credential went, as percent-encoded text is."""
    assert redaction.redact_text(text) == shown
    assert redaction.redact_body(text.encode(), "text/html", "other") == shown.encode()


@pytest.mark.parametrize(("before", "content_type"), [
    ("This is a multi-part message in MIME format.\r\n\r\n", "multipart/form-data; boundary=b"),
    ("\r\n", "multipart/form-data; boundary=b"), ("\r\n\r\n", "multipart/form-data; boundary=b"), ("\r\n", None),
])
def test_a_multipart_body_with_a_preamble_or_blank_lines_before_its_first_part_loses_its_credentials(before,
                                                                                                    content_type):
    """MIME lets a preamble or blank lines come before the first delimiter (mail-like clients, batch requests): the
    body did not start with the delimiter, so no part was found and it was redacted as text, where a part's name and
    its value are on different lines: the password was kept (scrubbed copies, rejects). Without a Content-Type, the
    boundary is read from the first line after blank ones."""
    parts = ('--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nTr0ub4dor-m1\r\n'
             '--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n--b--\r\n')
    redacted = redaction.redact_body((before + parts).encode(), content_type, "other")
    assert redacted == (before + parts.replace("Tr0ub4dor-m1", MARK)).encode()


@pytest.mark.parametrize(("text", "shown"), [
    ('<credentials><password value="Tr0ub4dor-p1"/></credentials>',
     f'<credentials><password value="{MARK}"/></credentials>'),
    ('<ns:AccessToken value="Tr0ub4dor-p2"></ns:AccessToken>', f'<ns:AccessToken value="{MARK}"></ns:AccessToken>'),
    ("<dict><key>AccessToken</key>\n\t<string>Tr0ub4dor-p3</string><key>theme</key><string>dark</string></dict>",
     f"<dict><key>AccessToken</key>\n\t<string>{MARK}</string><key>theme</key><string>dark</string></dict>"),
    ('<option value="token">Token</option><input type="text" value="hello">',
     '<option value="token">Token</option><input type="text" value="hello">'),
])
def test_an_element_named_by_a_credential_with_a_value_attribute_or_a_property_lists_key_loses_its_value(text,
                                                                                                        shown):
    """`<password value="…"/>` has no label attribute (its name is the label), and an Apple property list (an iOS
    app's settings, a plist response) gives a value as `<key>AccessToken</key><string>…</string>`: both kept the
    credential in rejects, generic values and scrubbed bodies."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown


def test_a_name_value_pair_list_in_json_cut_short_loses_its_value():
    """`[name, value]` lists (logged headers) lose their value in JSON that parses; in JSON cut short (a reject's
    first MiB, a damaged body) they were read as any strings, so `["password", "…"]` kept it. An array of two items
    whose first names a credential loses the second, one cut inside the pair too; arrays of more items stay."""
    body = ('{"headers": [["password", "Tr0ub4dor-l1"], ["Accept", "*/*"]], "words": ["token", "type", "x"], '
            '"last": ["api_key", "Tr0ub4dor-l2')
    assert redaction.redact_body(body.encode(), "application/json", "other").decode() == (
        '{"headers": [["password", "REDACTED"], ["Accept", "*/*"]], "words": ["token", "type", "x"], '
        '"last": ["api_key", "REDACTED')


@pytest.mark.parametrize(("url", "shown"), [
    ("https://app.example.com/#/reset/qMnzDMDSmJLlZrlXQficbBc44P9wWDJV",
     f"https://app.example.com/#/reset/{MARK}"),
    ("https://app.example.com/#!/token/fizometedeburoqa", f"https://app.example.com/#!/token/{MARK}"),
    ("https://app.example.com/#/invite/qMnzDMDSmJLlZrlXQficbBc44P9wWDJV/accept?lang=en",
     f"https://app.example.com/#/invite/{MARK}/accept?lang=en"),
    ("https://app.example.com/#/users/12345/settings", "https://app.example.com/#/users/12345/settings"),
])
def test_a_single_page_apps_route_in_a_fragment_loses_its_credential_segments(url, shown):
    """`#/reset/<token>`, `#!/token/<token>`: a fragment was read as parameters alone, so a route's token segment
    (where a path's was replaced) stayed in Location, Referer and redirectURL of scrubbed copies, and in generic
    values and rejects. A fragment beginning with `/` or `!/` is judged as a path and its query."""
    assert redaction.redact_url(url) == shown
    assert redaction.generic_payload({"next": url}).value == {"next": shown}


@pytest.mark.parametrize("scheme", ["DPoP", "SSWS", "Bot", "Splunk", "ApiKey", "Api-Key", "SCRAM-SHA-256", "HOBA",
                                    "Mutual"])
def test_other_authorization_schemes_lose_their_credential_in_text(scheme):
    """OAuth's DPoP, Okta's SSWS, Discord's Bot, Splunk's HEC (a UUID), ApiKey, SCRAM and HOBA: an authorization
    written in text (a logged request, a JSON value) under these schemes kept a credential too short or too regular
    to look random (Bearer, Basic, Digest, Hawk, AWS4-HMAC-SHA256… lost theirs); a scrubbed header keeps the
    scheme's name. Words after a scheme's name stay."""
    for credential in ("Tr0ub4dor-s1x", "12345678-1234-1234-1234-123456789012"):
        assert redaction.redact_text(f"sent {scheme} {credential} to the API") == f"sent {scheme} {MARK} to the API"
        assert redaction.redact_header("Authorization", f"{scheme} {credential}") == (f"{scheme} {MARK}", "header")
    assert redaction.redact_text(f"{scheme} forwarder started") == f"{scheme} forwarder started"


def test_a_reject_reason_names_the_value_a_not_or_contains_keyword_quotes_by_its_type(tmp_path):
    """jsonschema-rs quotes the value at fault after the schema's literal for `not` (`{"required":["error"]} is not
    allowed for {…}`: the Band public API's error answers, whole) and `contains` (`None of […] are valid…`), and a
    false schema (`False schema does not allow …`): the reason kept the body, credentials under a strong name and
    all (which `rejects.body` replaced). They are named by their type, as a value quoted first was."""
    from builders import entry, write_har

    from converters.pipeline import Input, convert

    body = {"error": {"code": "Unauthorized"}, "credentials": {"u": "bob", "p": "Tr0ub4dor-n1"}}
    har = write_har(tmp_path / "a.har", [entry("https://api.microsofthealth.net/v1/me/Activities", body)])
    (reject,) = convert([Input(har, "a.har", True)]).tables["rejects"].to_dicts()
    assert reject["reason"] == ('does not match schema band-public-activities.json: at /: {"required":["error"]} is '
                                "not allowed for an object of 2 keys")
    assert redaction.schema_violation('None of ["Tr0ub4dor-n2"] are valid under the given schema', [
        "Tr0ub4dor-n2"]) == "None of an array of 1 items are valid under the given schema"
    assert redaction.schema_violation('False schema does not allow "Tr0ub4dor-n3"', "Tr0ub4dor-n3") == (
        "False schema does not allow a string")


@pytest.mark.parametrize(("text", "shown"), [
    ("recovery code: ABCD-EFGH", f"recovery code: {MARK}"),
    ("mot de passe : Tr0ub4dor-w1", f"mot de passe : {MARK}"),
    ("Clave de acceso: Tr0ub4dor-w2", f"Clave de acceso: {MARK}"),
    ("código de verificación: 482193", f"código de verificación: {MARK}"),
    ("password reset: done\nerror code: NOT_FOUND\nmy answer: yes",
     "password reset: done\nerror code: NOT_FOUND\nmy answer: yes"),
])
def test_a_credential_name_written_as_two_or_three_words_loses_its_value_whatever_its_last_word_alone_is(text,
                                                                                                          shown):
    """`recovery code` was read as `code` alone, a name that holds a credential only when its value looks like a
    token (`ABCD-EFGH` reads as words), and French's `mot de passe`, Spanish's `clave de acceso` and `código de
    verificación` are three words, where a name was judged with the one word before it: the values were kept. A
    pair's name is judged with the one or two words before it wherever it is not a credential's alone."""
    assert redaction.redact_text(text) == shown


def test_a_reject_reason_an_older_databack_wrote_loses_the_value_a_not_keyword_quoted():
    """An OUT written before 5f92399 holds reasons quoting a `not`'s or a false schema's value whole (a Band error
    answer, credentials and all): read back (merge, a run adding to OUT) they are written as this policy writes
    them, the value named no more; this policy's own reasons come back as they were."""
    import polars as pl

    old = ('does not match schema band-public-activities.json: at /: {"required":["error"]} is not allowed for '
           '{"credentials":{"p":"Tr0ub4dor-o1","u":"bob"},"error":{"code":"Unauthorized"}}')
    new = ('does not match schema band-public-activities.json: at /: {"required":["error"]} is not allowed for an '
           "object of 2 keys")
    df = pl.DataFrame({"endpoint": ["x", "x"], "method": ["GET", "GET"], "host": ["h", "h"], "path": ["/", "/"],
                       "reason": [old, new], "body": [None, None], "body_encoding": [None, None],
                       "source_file": ["a.har", "a.har"]}, schema_overrides={"body": pl.String,
                                                                             "body_encoding": pl.String})
    assert redaction.earlier_rows("rejects", df)["reason"].to_list() == [
        'does not match schema band-public-activities.json: at /: {"required":["error"]} is not allowed for a value',
        new]


@pytest.mark.parametrize(("text", "shown"), [
    ('xhr.setRequestHeader("X-Api-Key", "Tr0ub4dor-q1");', f'xhr.setRequestHeader("X-Api-Key", "{MARK}");'),
    ("localStorage.setItem('pin', '4821');", f"localStorage.setItem('pin', '{MARK}');"),
    ('headers = [["Authorization", "Tr0ub4dor-q2"]]', f'headers = [["Authorization", "{MARK}"]]'),
    ('f("name", "Alice"), g("token", "type", "x")', 'f("name", "Alice"), g("token", "type", "x")'),
])
def test_a_name_and_value_quoted_as_a_scripts_arguments_lose_the_value(text, shown):
    """A page's script sets a header or stores a credential by name and value (`setRequestHeader("X-Api-Key",
    "…")`, `setItem('pin', '…')`), and text holds `[name, value]` lists: no `name=value` or `"name": value` pair,
    so the value was kept (scrubbed pages, rejects, generic values) unless it looked random."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("code de vérification : 482193", f"code de vérification : {MARK}"),
    ("Code de vérification: Gq4vz-rfoe", f"Code de vérification: {MARK}"),
    ("Code de verification = 4821", f"Code de verification = {MARK}"),
    ("code de la route: 12\ncode postal: 75001\npassword reset: done",
     "code de la route: 12\ncode postal: 75001\npassword reset: done"),
])
def test_a_three_word_credential_name_whose_first_word_is_a_weak_name_loses_its_value(text, shown):
    """French's `code de vérification` (a name the policy lists) begins with `code`, a name that holds a credential
    only when its value looks like a token: the first of two words before a pair's name was required to name none
    at all, so the code was kept. It is now required not to name one always (`password reset: done` stays)."""
    assert redaction.redact_text(text) == shown
    assert redaction.redact_text(text, redaction.STRICT) == shown


@pytest.mark.parametrize(("url", "shown"), [
    ("https://www.dreamy.test/password/reset/c8kq2mz7v1xw", "https://www.dreamy.test/password/reset/REDACTED"),
    ("https://www.dreamy.test/api/password/reset/3f2504e0-4f89-41d3-9a0c-0305e82c3301/confirm",
     "https://www.dreamy.test/api/password/reset/REDACTED/confirm"),
    ("https://www.dreamy.test/password-reset/Kq7vz2rfoe", "https://www.dreamy.test/password-reset/REDACTED"),
    ("https://www.dreamy.test/token/refresh/bk9x2z-3f9a1c2e5b7d4a60e8b1", "https://www.dreamy.test/token/refresh/REDACTED"),
    ("https://www.dreamy.test/a?password_reset=c8kq2mz7v1xw&reset=weekly", "https://www.dreamy.test/a?password_reset="
                                                                            "REDACTED&reset=weekly"),
    ("https://www.dreamy.test/password/reset/confirm/done", "https://www.dreamy.test/password/reset/confirm/done"),
    ("https://www.dreamy.test/v1/sessions/42/events?offset=5", "https://www.dreamy.test/v1/sessions/42/events?offset=5"),
])
def test_a_password_reset_token_in_a_urls_path_or_under_a_reset_name_is_a_credential(url, shown):
    """`/password/reset/<token>` (Laravel's route) was two segments that named no credential one by one (`reset`
    none, `password` not right before the token) and `password_reset`, `password-reset` ended in `set`, a harmless
    ending (`password_set`: a flag): a reset token short of looking random stayed in scrubbed URLs, inspect's
    templates and generic table names, and a `password_reset` parameter or key in every output. A segment after a
    word after a segment that always names a credential is judged as that credential's value, and `reset` is no
    harmless ending."""
    assert redaction.redact_url(url) == shown
    path, shown_path = (u.split("dreamy.test", 1)[1].partition("?")[0] for u in (url, shown))
    if MARK in shown_path:
        assert redaction.template(path) == shown_path.replace(MARK, redaction.SEGMENT)


def test_a_value_under_a_password_reset_name_is_a_credential_and_a_flag_stays():
    assert redaction.redact_json({"password_reset": "c8kq2mz7v1xw", "passwordReset": True, "offset": 5}) == (
        {"password_reset": MARK, "passwordReset": True, "offset": 5}, 1)


@pytest.mark.parametrize("later", ['""', "null", "true", '"REDACTED"', "0"])
def test_a_json_object_giving_a_key_twice_keeps_no_credential_of_the_earlier_value(tmp_path, later):
    """JSON may give a key twice; the parser keeps the last value, and the policy judged the parsed document: where
    the later value needed no replacing (empty, null, a flag), nothing was replaced and the body was kept as
    captured, the earlier value (a password, a token) with it, in rejects and scrubbed copies, and in JSON inside a
    string. A text holding more keys than its document is written from the redacted document."""
    from builders import entry, write_har

    from converters.pipeline import Input, convert
    from converters.scrub import scrub_capture

    body = ('{"score": 80, "date": "2017-03-05", "events": "oops", "account": {"password": "Tr0ub4dor-k2", '
            f'"password" : {later}}}, "sessionToken": "Tr0ub4dor-k3", "sessionToken": {later}}}')
    assert b"Tr0ub4dor" not in redaction.redact_body(body.encode(), "application/json", "other")
    assert "Tr0ub4dor" not in redaction.redact_json({"note": body})[0]["note"]
    har = write_har(tmp_path / "dup.har", [entry("https://api.hello.is/v2/timeline/2017-03-05", body)])
    (reject,) = convert([Input(har, "dup.har", True)]).tables["rejects"].to_dicts()
    assert "Tr0ub4dor" not in reject["body"]
    assert scrub_capture(har, tmp_path / "copy.har").status == "ok"
    assert b"Tr0ub4dor" not in (tmp_path / "copy.har").read_bytes()
    same = '{"note": "a\\": b", "k" : 2, "list": [{"a": 1}, {"a": 2}]}'  # no key twice: kept as captured
    assert redaction.redact_body(same.encode(), "application/json", "other") == same.encode()


def test_a_url_in_device_text_loses_a_random_token_in_its_query_and_fragment_and_keeps_its_path():
    """A URL in device text (a Sense message's link) was judged wholly as device data (STRICT: unambiguous shapes
    only), so a random token under a neutral parameter (`?t=…`, `#s=…`) stayed in the table, where scrub already
    judges a device call's URL headers' query and fragment as any (2d223c8): a path holds a device's ids, a query
    its tokens. Now the same in text: the path STRICT, the query and fragment FULL."""
    import polars as pl

    token = "Xq7Lm2Pz9Rt4Kv8Wn3Bc6Yd1"
    texts = [f"Read more at https://hello.is/insight?t={token} tonight", f"see https://x.test/cb#s={token}&x=1",
             f"https://x.test/u/{token}/p?event=2519812557630091728&day=2017-03-02"]
    assert redaction.strict_frame(pl.DataFrame({"message": texts}))["message"].to_list() == [
        f"Read more at https://hello.is/insight?t={MARK} tonight", f"see https://x.test/cb#s={MARK}&x=1", texts[2]]


@pytest.mark.parametrize("kind", ["other", "device", "sign-in"])
@pytest.mark.parametrize(("field", "text", "kept"), [
    ("meta", '{"pin": "58213", "minutes": 4}', '"minutes":4'),
    ("settings", "password=Tr0ub4dor-mp2&lang=en", "lang=en"),
    ("note", "wifi passphrase: Tr0ub4dor-mp3", "wifi passphrase: "),
    ("payload", '[{"name": "api_key", "value": "Tr0ub4dor-mp4"}]', '"name":"api_key"'),
])
def test_a_multipart_field_holding_json_a_form_or_pairs_loses_the_credentials_in_it(kind, field, text, kept):
    """A multipart field without a Content-Type of its own, on one line (a form's field, not a file), was judged by
    its name and its whole value's shape alone, so JSON, a form or a `name: value` pair in it under a harmless name
    (an app's `meta` field) kept its password, PIN or key in rejects, generic values and scrubbed copies. Its value
    is read as the text it is, as a part with a Content-Type is."""
    body = (f'--b\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{text}\r\n'
            f'--b\r\nContent-Disposition: form-data; name="lang"\r\n\r\nen\r\n--b--\r\n').encode()
    redacted = redaction.redact_body(body, "multipart/form-data; boundary=b", kind).decode()
    assert "Tr0ub4dor" not in redacted and "58213" not in redacted
    assert kept in redacted and 'name="lang"\r\n\r\nen\r\n' in redacted


JWT_NAME = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJuYW1lIiwiaWF0IjoxNDg4NTU0NzAwfQ"
            ".bknBzh_4JZsx-NuqBlWGoYKtAQdkevh2fxTwdKeVQ5k")


@pytest.mark.parametrize("url", [
    f"https://api.example.com/v1/q?{JWT_NAME}=1&lang=en",
    f"https://api.example.com/v1/q?lang=en&{JWT_NAME}=",
    "https://api.example.com/v1/q?lang=en&AKIAIOSFODNN7EXAMPLE=wJalrXUtnFEMI",
    f"https://api.example.com/cb?lang=en#{JWT_NAME}=true",
    "https://api.example.com/v1/q?lang=en&qMnzDMDSmJLlZrlXQficbBc44P9wWDJV=1",
])
def test_a_token_given_as_a_query_parameters_name_is_replaced(url):
    """A query or fragment parameter was judged by its value (and its name as a credential's name), its name shown
    as it was: a JWT, a key or a random token as the name (`?eyJ…=1`, an app's cache-buster or a tracking pixel's
    way of passing it) stayed in every scrubbed URL (the request's, Referer, Location, redirectURL). A name shaped
    like a credential replaces the parameter, as a bare token (`?eyJ…`) is."""
    redacted = redaction.redact_url(url)
    assert "eyJ" not in redacted and "AKIA" not in redacted and "qMnzDMDS" not in redacted
    assert "lang=en" in redacted and "https://api.example.com/" in redacted


@pytest.mark.parametrize(("query", "variables", "secret"), [
    ("mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
     {"e": "a@example.com", "p": "Tr0ub4dor-gq1"}, "p"),
    ("mutation($input1: SignInInput!, $s: String) { signIn(input: $input1, otp: $s) { ok } }",
     {"input1": {"email": "a@example.com"}, "s": "482913"}, "s"),
    ("mutation { verify(input: {email: \"a@example.com\", pin: $x}) { ok } }", {"x": "4829"}, "x"),
    ("mutation($c: String!) { exchange(code: $c) { accessToken } }", {"c": "4/0AX4XfWh" + "Qz7" * 10}, "c"),
])
def test_a_graphql_variable_passed_to_a_credential_named_argument_loses_its_value(query, variables, secret):
    """A GraphQL request names its credential in the query (`login(password: $p)`) and sends it in `variables`
    under the variable's own name, which may say nothing (`p`, `s`, `x`): the policy judged the variables by those
    names, so a login mutation's password, a one-time code or a PIN stayed in scrubbed request bodies. A variable
    the query passes to a credential-named argument is judged as that argument's value; the others stay."""
    body = json.dumps({"operationName": None, "query": query, "variables": variables}).encode()
    redacted = json.loads(redaction.redact_body(body, "application/json", "other"))
    assert redacted["variables"][secret] == MARK
    assert {k: v for k, v in redacted["variables"].items() if k != secret} == {
        k: v for k, v in variables.items() if k != secret}


def test_a_graphql_variable_passed_to_a_harmless_argument_stays():
    body = {"query": "query($c: String!, $t: String) { country(code: $c) { name(lang: $t) } }",
            "variables": {"c": "FR", "t": "en"}}
    assert redaction.redact_json(body) == (body, 0)


@pytest.mark.parametrize(("text", "kept"), [
    ("no such file: file:/data/p07/password=Tr0ub4dor-np1.har", "no such file: file:/data/p07/password="),
    ("error: detail:password=Tr0ub4dor-np2", "error: detail:password="),
    ("note=see:token=Tr0ub4dor-np3", "note=see:token="),
    ("Synced: wifi:psk=Tr0ub4dor-np4 ok", "Synced: wifi:psk="),
])
def test_a_pair_in_an_unquoted_value_inside_an_unquoted_value_loses_its_credential(text, kept):
    """A pair's unquoted value was looked into once: `a: b:password=…` is the pair `a` whose value holds the pair
    `b`, whose value `password=…` was not looked into, so the password stayed in free text: a message naming a
    path after a label (`no such file: file:/…/password=….har` on stderr), a log line in a body, a device's
    message. Unquoted values are looked into a few levels down (_UNQUOTED_DEPTH)."""
    for mode in (redaction.FULL, redaction.STRICT):
        redacted = redaction.redact_text(text, mode)
        assert "Tr0ub4dor" not in redacted and redacted.startswith(kept + MARK)


def test_scrub_names_a_missing_capture_given_as_a_url_without_its_credentials(tmp_path):
    code, _, stderr = invoke(["scrub", f"file://{tmp_path}/p07/password=Tr0ub4dor-np5.har", "-o", str(tmp_path)])
    assert code == 2 and "Tr0ub4dor" not in stderr and "password=REDACTED" in stderr


def test_scrub_names_a_missing_capture_given_as_a_url_with_userinfo_without_its_password(tmp_path):
    """A path argument's `//` is one slash by the time it is a Path (`https:/alice:PW@host/x.har`): userinfo after
    `scheme:/` is URL userinfo too, so the message naming the missing capture keeps no password."""
    code, _, stderr = invoke(["scrub", "https://alice:Tr0ub4dor-ui1@example.com/x.har", "-o", str(tmp_path)])
    assert code == 2 and "Tr0ub4dor" not in stderr and f"https:/{MARK}@example.com/x.har" in stderr
    text = "see sftp:/bob:Tr0ub4dor-ui2@files.example/a and //carol:Tr0ub4dor-ui3@h/"
    assert redaction.redact_text(text, redaction.FULL) == f"see sftp:/{MARK}@files.example/a and //{MARK}@h/"


@pytest.mark.parametrize(("text", "shown"), [
    ("Your Wi-Fi password is Tr0ub4dor-sp1", f"Your Wi-Fi password is {MARK}"),
    ("password is: Tr0ub4dor-sp2.", f"password is: {MARK}."),
    ("Use password Tr0ub4dor-sp3 to sign in", f"Use password {MARK} to sign in"),
    ('retrying with password "Tr0ub4dor-sp4"', f'retrying with password "{MARK}"'),
    ("passwd -> Tr0ub4dor-sp5", f"passwd -> {MARK}"),
    ("user\talice\npassword\tTr0ub4dor-sp6", f"user\talice\npassword\t{MARK}"),
    ("Unlock with PIN 4821, then pair", f"Unlock with PIN {MARK}, then pair"),
    ("API key Tr0ub4dorSp7 was rotated", f"API key {MARK} was rotated"),
    ("refresh token qMnzDMDSmJLlZrlXQf revoked", f"refresh token {MARK} revoked"),
    ("Your verification code is 482913.", f"Your verification code is {MARK}."),
    ("one-time code 482913", f"one-time code {MARK}"),
    ("Passwort ist Tr0ub4dor-sp8", f"Passwort ist {MARK}"),
    ("пароль Tr0ub4dor-sp9", f"пароль {MARK}"),
])
def test_a_credential_written_after_its_name_without_a_separator_is_replaced(text, shown):
    """Prose and logs name a credential and give it without `=` or `:` (`Your Wi-Fi password is …`, `use PIN 4821`,
    `password "…"`, a tab between): a pair needs its separator, so the value stayed in device text (a Sense night's
    message), rejects, generic values, messages and scrubbed copies whenever it was short of looking random. After a
    name that always holds a credential (password, passcode, PIN, secret, token, API key…) a value is judged as a
    weak name's is: a token (a PIN's or a password's digits too) is replaced."""
    assert redaction.redact_text(text) == redaction.redact_text(text, redaction.STRICT) == shown


@pytest.mark.parametrize("text", [
    "password is incorrect", "Your password reset link was sent", "password must have 8 characters",
    "token expired at 2017-03-05", "the token v2 API", "Enter your password.", "ping 12345678",
    '<input type=password name=f2 value="">', "secret santa 2017", "pin 2017-03-05 to the board",
    "error code 4041", "zip code 94107", "promo code SUMMER2017", "verification code sent",
])
def test_words_numbers_and_dates_after_a_credentials_name_stay(text):
    assert redaction.redact_text(text) == text


@pytest.mark.parametrize("frame", [
    b"\x00\x01" + b'{"password": "Tr0ub4dor-nf1", "pad": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}',  # a 2-byte length
    b"\x08\x00\x12\x1c" + b'{"password":"Tr0ub4dor-nf2"}',  # protobuf: a field of 0, then JSON in a string
    b"\x00\x2a" + b"sync " * 10 + b"api_key=Tr0ub4dor-nf3 done",
])
def test_a_binary_body_with_a_nul_in_its_first_bytes_is_read_as_bytes_not_as_utf16(frame):
    """A body with a NUL in its first four bytes was taken for UTF-16 or UTF-32 text (as JSON saved by Windows tools
    is) and read as that: a binary frame (a length prefix, a protobuf field of 0) gave CJK-looking text in which no
    credential shows, and the body was kept whole, its JSON or pairs with it (rejects, scrubbed bodies and binary
    WebSocket and TCP messages). Text in UTF-16 or UTF-32 without a BOM is mostly ASCII once decoded; what decodes to
    mostly other characters is read as bytes."""
    redacted = redaction.redact_body(frame, None, "other")
    assert b"Tr0ub4dor" not in redacted and redacted.startswith(frame[:2])


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_json_in_utf16_or_utf32_without_a_bom_is_still_redacted_in_its_encoding(encoding):
    document = {"password": "Tr0ub4dor-wide", "name": "Zoë", "minutes": 431}
    redacted = redaction.redact_body(json.dumps(document).encode(encoding), None, "other")
    assert json.loads(redacted.decode(encoding)) == document | {"password": MARK}


def test_base64_of_a_short_user_and_password_alone_in_text_is_replaced_in_device_text_too():
    """Base64 of `user:password` shorter than a random token (20 characters) was replaced under a name (`u=…`) and in
    a file's name, but alone in free text (a rejected body's log line, a message) and in device text (a Sense
    night's message, which STRICT text and `strict_frame` read) it stayed. It is replaced wherever it is; base64 of
    data (JSON, a URL, words) and ids stay."""
    import polars as pl

    short = base64.b64encode(b"hub:Zq9x4Hu").decode()  # YWxp-style, 16 characters
    plain = base64.b64encode(b"alice:hunter").decode()  # no digit in it: YWxpY2U6aHVudGVy
    for secret in (short, plain):
        for mode in (redaction.FULL, redaction.STRICT):
            assert redaction.redact_text(f"Synced with {secret} today", mode) == f"Synced with {MARK} today"
        df = pl.DataFrame({"message": [f"Synced with {secret} today", "Tonight Donation Onboarding 7h iPhone"]})
        assert redaction.strict_frame(df)["message"].to_list() == [f"Synced with {MARK} today", df["message"][1]]
    kept = ["aGVsbG8gd29ybGQ=", base64.b64encode(b'{"sleep":3,"deep":40}').decode(),
            base64.b64encode(b"https://api.hello.is/v1").decode(), "8AF6441AF72321F4", "2519812557630091728",
            "b1c2d3e4-0000-4000-8000-000000000001", "DoSomethingNow", "OnlineStatus2"]
    for text in kept:
        assert redaction.redact_text(f"x {text} y", redaction.STRICT) == f"x {text} y"
    assert redaction.strict_frame(pl.DataFrame({"id": kept}))["id"].to_list() == kept


def test_a_jwt_in_standard_base64_is_replaced_whole_in_device_text_too():
    """A JWT whose parts are standard base64 (`+`, `/`, `=`; hand-made tokens and some libraries write them so) was
    no JWT to the policy: device text (STRICT) kept it whole, free text all but a random-looking tail. It is one
    where its first two parts show that alphabet; a base64url JWT before `/` in a path still ends at the `/`."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    token = (f"{b64(b'{\"alg\":\"HS256\",\"typ\":\"JWT\"}')}.{b64(b'{\"sub\":\"alice>>>??~~\",\"iat\":1500000000}')}."
             f"{b64(bytes(range(200, 232)))}")
    assert "+" in token.split(".")[1] or "/" in token.split(".")[1]
    for mode in (redaction.FULL, redaction.STRICT):
        assert redaction.redact_text(f"Session {token} ok", mode) == f"Session {MARK} ok"
        assert redaction.redact_text(f"Session {token}\n", mode) == f"Session {MARK}\n"
    assert redaction.is_credential_value(token, redaction.STRICT)
    url_safe = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    assert redaction.redact_text(f"/data/{url_safe}/x.har", redaction.STRICT) == f"/data/{MARK}/x.har"


def test_a_brotli_body_under_no_content_encoding_keeps_no_credential():
    """Brotli has no magic bytes, so a body compressed with it under no Content-Encoding (a header stripped, as for
    the gzip, zlib, bzip2 and xz bodies the policy reads by their magic) was binary to the policy, and a rejected
    Sense night's password stayed in the reject's base64 body and the scrubbed copy. Such a body is told by decoding
    it: redacted as what it holds and compressed again; one cut off that holds a credential is replaced; binary
    data that is no brotli stream stays as it was."""
    import brotli

    body = json.dumps({"date": "2017-03-15", "events": "oops", "account": {"password": "Tr0ub4dor-br1"}}).encode()
    data = brotli.compress(body)
    redacted = redaction.redact_body(data, None, "other")
    assert json.loads(brotli.decompress(redacted))["account"] == {"password": MARK}
    row = redaction.reject_row("sense", "GET", "api.hello.is", "/v2/timeline/2017-03-15", 200, "not JSON", data)
    assert b"Tr0ub4dor-br1" not in brotli.decompress(base64.b64decode(row["body"]))
    long = brotli.compress(json.dumps({"password": "Tr0ub4dor-br2", "pad": list(range(3000))}).encode())
    assert redaction.redact_body(long[: len(long) * 3 // 4], None, "other") == MARK.encode()
    quiet = brotli.compress(json.dumps({"date": "2017-03-15", "score": 80}).encode())
    assert redaction.redact_body(quiet, None, "other") == quiet
    noise = bytes((i * 7919 + 13) % 251 for i in range(5000))
    assert redaction.redact_body(noise, None, "other") == noise


def _cbor_text(s: str) -> bytes:
    data = s.encode()
    return (bytes([0x60 + len(data)]) if len(data) < 24 else bytes([0x78, len(data)])) + data


def _bson_string(name: str, value: str) -> bytes:
    data = value.encode() + b"\x00"
    return b"\x02" + name.encode() + b"\x00" + len(data).to_bytes(4, "little") + data


@pytest.mark.parametrize("fmt", ["msgpack", "cbor", "bson", "protobuf"])
def test_credentials_framed_in_binary_serialisations_are_overwritten_in_place(fmt):
    """MessagePack, CBOR, BSON and protobuf write a map's key and value framed by type and length, no `=` between,
    in runs too short for the policy's printable runs (or, for MessagePack and CBOR, in bytes it read as Latin-1
    text): a password, a token or a PIN under its name stayed in rejects and scrubbed copies. A credential-named
    key's value is overwritten with as many bytes (MARK repeated; an integer as 0), so that the body still parses;
    other values, and data without such keys, stay."""
    secret, pin = "Tr0ub4dor-bin1", 482913
    if fmt == "msgpack":
        msgpack = pytest.importorskip("msgpack")
        document = {"user": "sleeper", "account": {"password": secret, "steps": 8012}, "pin": pin, "pins": [1, 2]}
        data = msgpack.packb(document)
        redacted = redaction.redact_body(data, "application/msgpack", "other")
        assert msgpack.unpackb(redacted) == {"user": "sleeper", "account": {"password": "REDACTEDREDACT", "steps": 8012},
                                             "pin": 0, "pins": [1, 2]}
        quiet = msgpack.packb({"user": "sleeper", "steps": [8012, 4], "session_count": 3})
        assert redaction.redact_body(quiet, None, "other") == quiet
        return
    if fmt == "cbor":
        data = bytes([0xA3]) + _cbor_text("user") + _cbor_text("sleeper") + _cbor_text("password") + \
            _cbor_text(secret) + _cbor_text("pin") + bytes([0x1A]) + pin.to_bytes(4, "big")
        expected = data.replace(secret.encode(), b"REDACTEDREDACT").replace(pin.to_bytes(4, "big"), bytes(4))
    elif fmt == "bson":
        body = _bson_string("user", "sleeper") + _bson_string("password", secret) + b"\x10pin\x00" + \
            pin.to_bytes(4, "little")
        data = (len(body) + 5).to_bytes(4, "little") + body + b"\x00"
        expected = data.replace(secret.encode(), b"REDACTEDREDACT").replace(pin.to_bytes(4, "little"), bytes(4))
    else:  # a map<string, string> field: entries of key (field 1) and value (field 2)
        entry = b"\x0a\x0drefresh_token\x12" + bytes([len(secret)]) + secret.encode()
        data = b"\x1a" + bytes([len(entry)]) + entry + b"\x22\x0bhello world"
        expected = data.replace(secret.encode(), b"REDACTEDREDACT")
    redacted = redaction.redact_body(data, None, "other")
    if fmt == "cbor":  # (its text marks are letters: a printable run of keys and values is judged as text, as before)
        assert secret.encode() not in redacted and pin.to_bytes(4, "big") not in redacted
    else:
        assert redacted == expected and len(redacted) == len(data)


def test_a_credential_after_a_command_lines_flag_is_replaced():
    """`--password …`, `--api-key …`, `--token '…'`: a command line in a log gives a credential after its flag
    with a space between, which the names' rule for prose did not read after `--` (`-` before a name is a compound's:
    `reset-password`). A flag's value is judged as a name's value in prose is: words stay."""
    for text in ("app --password Tr0ub4dor-f1 --user bob", "sync --api-key Tr0ub4dor-f2", "--token 'Tr0ub4dor-f3'"):
        for mode in (redaction.FULL, redaction.STRICT):
            assert "Tr0ub4dor" not in redaction.redact_text(text, mode) and MARK in redaction.redact_text(text, mode)
    for kept in ("reset-password token", "--password hunter", "--passwordless Tr0ub4dor-f4",
                 "x--password Tr0ub4dor-f5"):
        assert redaction.redact_text(kept) == kept


def test_a_user_and_password_before_a_host_without_a_scheme_lose_the_password():
    """`bob:…@db.example.com:5432` and Go's `root:…@tcp(db:3306)/app` give URL userinfo without a scheme, which the
    policy looked for only after `//` (or `scheme:/`): a connection string in a log kept its password. The password
    goes where it is no word, number or date, or the host is a Go DSN's protocol; an email after a label
    (`From:alice@example.com`), times and ids stay."""
    for text, shown in (("bob:Tr0ub4dor-u1@db.example.com:5432 ok", f"bob:{MARK}@db.example.com:5432 ok"),
                        ("root:hunter@tcp(127.0.0.1:3306)/app", f"root:{MARK}@tcp(127.0.0.1:3306)/app"),
                        ('"dsn": "svc:Zq9x4Hunt@cache.internal"', f'"dsn": "svc:{MARK}@cache.internal"')):
        for mode in (redaction.FULL, redaction.STRICT):
            assert redaction.redact_text(text, mode) == shown
    for kept in ("From:alice@example.com", "mailto:alice@example.com", "at 10:30@home", "id:2519812557@band"):
        assert redaction.redact_text(kept) == kept


def test_base64_global_object_ids_of_relay_and_github_are_ids_under_an_ids_name():
    """GraphQL APIs name objects by base64 of `Type:id` (Relay: `User:42`; GitHub's legacy node ids: `04:User1`), which
    a generic table keeps under an id's name as it keeps any id (a GitHub `license.node_id`, read under an id's name as
    STRICT text, was replaced). A user and password of that look stays replaced where the ids' shapes do not fit it."""
    import polars as pl

    ids = [base64.b64encode(text.encode()).decode() for text in (
        "User:1", "Product:1234", "Order:9f1c2a7e-1b2c-4d5e-8f90-123456789abc", "04:User1", "07:License13",
        "012:Organization42")]
    for text in ids:
        for key in ("id", "node_id", "ownerId"):
            for mode in (redaction.FULL, redaction.STRICT):
                assert redaction.redact_json({key: text, "ids": [text]}, mode) == ({key: text, "ids": [text]}, 0)
    assert redaction.strict_frame(pl.DataFrame({"license.node_id": ids}))["license.node_id"].to_list() == ids
    secrets = [base64.b64encode(text.encode()).decode() for text in (
        "alice:1234", "alice:hunter2", "05:User1", "Admin:hunter2", "User:12ab")]
    for text in secrets:
        for mode in (redaction.FULL, redaction.STRICT):
            assert redaction.redact_text(f"x {text} y", mode) == f"x {MARK} y", text
            assert redaction.redact_json({"id": text}, mode) == ({"id": MARK}, 1)


@pytest.mark.parametrize("decoded", ["Alice:4821", "Bob:20170314", "User:42"])
def test_base64_of_a_name_and_a_number_outside_an_ids_name_is_replaced(decoded):
    """Base64 of `Alice:4821` (a user and a PIN, as a Basic credential's without its scheme) has the shape of a Relay
    id (a capitalised name, a number), which was kept wherever it was: in free text, under any JSON key, in device
    text. Only under an id's name is it an id; elsewhere it is replaced as any base64 `user:password`."""
    import polars as pl

    run = base64.b64encode(decoded.encode()).decode()
    for mode in (redaction.FULL, redaction.STRICT):
        assert redaction.redact_text(f"Synced with {run} ok", mode) == f"Synced with {MARK} ok"
        assert redaction.redact_json({"ref": run, "note": f"auth {run}"}, mode)[0] == {"ref": MARK, "note": f"auth {MARK}"}
    assert redaction.strict_frame(pl.DataFrame({"name": [run]}))["name"].to_list() == [MARK]
    body = json.dumps({"data": {"viewer": {"login": run}}}).encode()
    assert run.encode() not in redaction.redact_body(body, "application/json", "other")


@pytest.mark.parametrize(("url", "shown"), [
    ("https://app.dozing.test/reset/8f3kQ2x9", "https://app.dozing.test/reset/REDACTED"),
    ("https://app.dozing.test/activate/abc123XYZ987", "https://app.dozing.test/activate/REDACTED"),
    ("https://app.dozing.test/verify-email/k3J9xQ2p?lang=en", "https://app.dozing.test/verify-email/REDACTED?lang=en"),
    ("https://app.dozing.test/account/confirm/Zx81kq9Lm2", "https://app.dozing.test/account/confirm/REDACTED"),
    ("https://app.dozing.test/invite/aB3dE5fG/accept", "https://app.dozing.test/invite/REDACTED/accept"),
    ("https://app.dozing.test/emailVerification/3f2504e0-4f89-41d3-9a0c-0305e82c3301",
     "https://app.dozing.test/emailVerification/REDACTED"),
    ("https://app.dozing.test/#/unsubscribe/Tq8zk1Lm", "https://app.dozing.test/#/unsubscribe/REDACTED"),
    ("https://app.dozing.test/verify/email/k3J9xQ2p", "https://app.dozing.test/verify/email/REDACTED"),
    # ids, words, numbers and dates after such a word stay
    ("https://app.dozing.test/invite/friends/42", "https://app.dozing.test/invite/friends/42"),
    ("https://app.dozing.test/confirm/2017-03-02", "https://app.dozing.test/confirm/2017-03-02"),
    ("https://app.dozing.test/reset/all", "https://app.dozing.test/reset/all"),
    ("https://app.dozing.test/activate/12345", "https://app.dozing.test/activate/12345"),
    ("https://app.dozing.test/v1/verify/device-list", "https://app.dozing.test/v1/verify/device-list"),
])
def test_a_one_time_token_after_an_action_in_a_urls_path_is_a_credential(url, shown):
    """A short token after an action that mails one (`/reset/<token>`, `/activate/<token>`, `/verify-email/<token>`,
    `/invite/<token>/accept`) named no credential (reset, activate, verify name none; a strong name was needed
    before it), and was too short to look random: it stayed in scrubbed URLs (Location, Referer), inspect's templates
    and --generic table names. A segment after such an action (or after the action and one word) is judged as a
    token: one that is no word, number or date."""
    assert redaction.redact_url(url) == shown
    path = url.split("dozing.test", 1)[1].partition("?")[0]
    if MARK in shown and "#" not in url:
        assert redaction.template(path) == shown.split("dozing.test", 1)[1].partition("?")[0].replace(
            MARK, redaction.SEGMENT)


@pytest.mark.parametrize(("text", "shown"), [
    ('request body {\\"user\\":\\"sleeper\\",\\"password\\":\\"Kw3pr-bznrlo275\\"} sent',
     f'request body {{\\"user\\":\\"sleeper\\",\\"password\\":\\"{MARK}\\"}} sent'),
    ('sent {\\"api_secret\\": \\"Kw7pr-eajxxb556\\", \\"n\\": 2}\nnext line',
     f'sent {{\\"api_secret\\": \\"{MARK}\\", \\"n\\": 2}}\nnext line'),
    ('cfg {"pass\\u0077ord":"Kw8pr-xrdegw458"}', f'cfg {{"password":"{MARK}"}}'),
    ('\\u0074oken=Kw9pr-xrdegw458', f'token={MARK}'),
    # escaped text that holds no credential is kept as it was
    ('run \\"C:\\\\Program Files\\\\app.exe\\" --quiet \\"caf\\u00e9\\"', 'run \\"C:\\\\Program Files\\\\app.exe\\" '
                                                                        '--quiet \\"caf\\u00e9\\"'),
    ('{\\"user\\":\\"sleeper\\",\\"minutes\\":7}', '{\\"user\\":\\"sleeper\\",\\"minutes\\":7}'),
    ('na\\u0069ve \\u0041BC', 'na\\u0069ve \\u0041BC'),
])
def test_json_whose_quotes_or_letters_are_escaped_in_free_text_loses_its_credentials(text, shown):
    """JSON written with backslash-escaped quotes outside any quoted string (a log line `body {\\"password\\":
    \\"…\\"}`, as a JSON string's value reads once parsed) was no pair to the policy, which unescaped a string's text
    only between quotes that no backslash escapes; and a key whose letters are written as `\\u0077` escapes (`"pass
    \\u0077ord"`) named nothing. Such text is read unescaped, and written unescaped or escaped again where that lost
    a credential; in rejects, --generic values and scrubbed copies alike."""
    assert redaction.redact_text(text) == shown
    assert redaction.redact_json({"log": text})[0] == {"log": shown}


def test_json_text_holding_escaped_strings_beside_a_credential_stays_json():
    """The escaped runs are read between a string's own quotes, never across them: JSON text keeps its shape."""
    text = '{"a": "say \\"hi\\"", "password": "Kw1pr-abcdef123", "b": "\\"q\\""}'
    shown = redaction.redact_text(text)
    assert "Kw1pr" not in shown and json.loads(shown) == {"a": 'say "hi"', "password": MARK, "b": '"q"'}


@pytest.mark.parametrize(("text", "shown"), [
    ("mysqldump -u sleeper -pKw1pr-azfvae458 sleepdb > dump.sql", f"mysqldump -u sleeper -p{MARK} sleepdb > dump.sql"),
    ("mysql -h db -usleeper -p'Kw6 pr-iessdb395' -e 'select 1'", f"mysql -h db -usleeper -p'{MARK}' -e 'select 1'"),
    ("sshpass -p Kw2pr-bnqjrg358 ssh sleeper@db.dozing.test", f"sshpass -p {MARK} ssh sleeper@db.dozing.test"),
    ("redis-cli -h cache -a Kw5pr-wctnjd352 ping", f"redis-cli -h cache -a {MARK} ping"),
    ("curl -u sleeper:Kw4pr-gdpuef853 https://x.dozing.test/", f"curl -u sleeper:{MARK} https://x.dozing.test/"),
    ("curl --user 'sleeper:Kw4pr-gdpuef853' -s", f"curl --user 'sleeper:{MARK}' -s"),
    ("http -a sleeper:hunter GET x.test", f"http -a sleeper:{MARK} GET x.test"),
    ("smbclient //srv/share -U sleeper%Kw3pr-bznrlo275", f"smbclient //srv/share -U sleeper%{MARK}"),
    ("docker login -u sleeper -p Kw7pr-eajxxb556 registry.dozing.test",
     f"docker login -u sleeper -p {MARK} registry.dozing.test"),
    ("ldapsearch -x -D cn=admin -w Kw8pr-xrdegw458 -b dc=x", f"ldapsearch -x -D cn=admin -w {MARK} -b dc=x"),
    ("mongosh -u sleeper -p Kw9pr-xrdegw458 --quiet", f"mongosh -u sleeper -p {MARK} --quiet"),
    ("sqlcmd -S srv -U sa -P Kw1pr-xrdegw458", f"sqlcmd -S srv -U sa -P {MARK}"),
    ("7z a -pKw2pr-xrdegw458 a.7z notes", f"7z a -p{MARK} a.7z notes"),
    ("keytool -importkeystore -storepass Kw3pr-xrdegw458 -keypass Kw4pr-xrdegw458",
     f"keytool -importkeystore -storepass {MARK} -keypass {MARK}"),
    ("plink -pw Kw5pr-xrdegw458 host; run --db-pass 48213377", f"plink -pw {MARK} host; run --db-pass {MARK}"),
    # flags that take no credential, a prompt for one, a user and group, words stay
    ("mysql -u sleeper -p sleepdb", "mysql -u sleeper -p sleepdb"),
    ("docker run -u 1000:1000 -p 8080:80 img", "docker run -u 1000:1000 -p 8080:80 img"),
    ("tar -a -p -czf out.tgz a:b; grep -p x", "tar -a -p -czf out.tgz a:b; grep -p x"),
    ("sync --password-stdin -u sleeper --token-name nightly", "sync --password-stdin -u sleeper --token-name nightly"),
])
def test_a_credential_after_a_command_lines_short_or_single_dash_flag_is_replaced(text, shown):
    """A command line in a log or a --generic value gives a password glued to mysql's `-p` (`-pSECRET`), after
    sshpass's `-p`, redis-cli's `-a`, docker's and mongo's `-p`, ldapsearch's `-w`, sqlcmd's `-P`, 7z's `-p`,
    keytool's `-storepass` (one dash), and as `user:password` after curl's `-u`, httpie's `-a`, smbclient's
    `-U user%password`: only `--password …` (two dashes, a name of the prose list) was read, so these stayed in
    rejects, --generic tables and scrubbed copies. A flag of a credential's name (one dash or two) is read as that
    name; the short flags by the command they follow; `user:password` after a user flag loses the password."""
    assert redaction.redact_text(text) == shown
    assert redaction.redact_json({"cmd": text})[0] == {"cmd": shown}


@pytest.mark.parametrize(("text", "shown"), [
    ('<a href="/reset/8f3kQ2x9">reset</a>', f'<a href="/reset/{MARK}">reset</a>'),
    ("/confirm/I5m49gDzuM", f"/confirm/{MARK}"),
    ("/password/reset/c8kq2mz7v1xw", f"/password/reset/{MARK}"),
    ("{'next': '/api/token/abcDEF123ghiJKL456?x=1', 'then': '/session/fizometedeburo'}",
     f"{{'next': '/api/token/{MARK}?x=1', 'then': '/session/{MARK}'}}"),
    ("redirect(/activate/abc123XYZ987?x=1) url=/verify-email/k3J9xQ2p", f"redirect(/activate/{MARK}?x=1) "
                                                                        f"url=/verify-email/{MARK}"),
    # paths holding no credential, a fraction, a log's request line (not looked into) stay
    ('"/v1/sessions/42/events" "/var/log/app/reset/all.log"', '"/v1/sessions/42/events" "/var/log/app/reset/all.log"'),
    ("3/4 of '/invite/friends' done", "3/4 of '/invite/friends' done"),
])
def test_a_credential_in_a_relative_paths_segments_in_text_is_replaced(text, shown):
    """A path in text without a scheme and host (a page's `href="/reset/…"`, a --generic value `/confirm/…` or
    `/password/reset/…`) was not read as a path: the segments that name a credential's value in a URL (after
    `/token/`, `/password/reset/`, `/activate/`) kept it there. Such a path (two segments or more, the whole text or
    after a quote, `=` or `(`, as a value is written) is judged as a URL's path is."""
    assert redaction.redact_text(text) == shown
    assert redaction.redact_json({"next": text})[0] == {"next": shown}


def test_a_credential_of_128_bytes_or_more_in_a_protobuf_map_is_overwritten_in_place():
    """A protobuf string's length is a varint: one of 128 bytes or more takes two bytes, and the policy read a value's
    length from one byte alone, so a long passphrase (words: no printable run's rule replaces it) under its name in
    a protobuf map stayed in rejects and scrubbed copies. The length is read as the varint it is."""
    secret = ("correct horse battery staple " * 6).strip()
    assert len(secret) >= 128
    value = b"\x12" + bytes([len(secret) & 0x7F | 0x80, len(secret) >> 7]) + secret.encode()
    entry = b"\x0a\x0apassphrase" + value
    data = b"\x1a" + bytes([len(entry) & 0x7F | 0x80, len(entry) >> 7]) + entry + b"\x22\x0bhello world"
    redacted = redaction.redact_body(data, None, "other")
    assert len(redacted) == len(data) and b"horse" not in redacted
    assert redacted == data.replace(secret.encode(), (MARK * 30).encode()[: len(secret)])


def test_device_text_loses_the_password_of_a_user_and_password_before_a_host_without_a_scheme():
    """`user:password@host` without a scheme (5bb3ad8) was replaced by redact_text in either mode, but strict_frame
    sends it only the values its anchors find, and no anchor found such a pair: a Sense night's message `Synced via
    sleeper:…@db.dozing.test` kept the password in sense_nights, the report and merged OUTs. A value holding a
    `:`, then no space up to an `@` before a host, is anchored; e-mail addresses and times stay."""
    import polars as pl

    values = ["Synced via sleeper:Hx9q2Lp-k1@db.dozing.test ok", "hub root:Hx9q2Lp-k2@tcp(db:3306)/sleep",
              "meeting at 10:30 with bob@example.com", "Synced at 06:30", "mailto:alice@example.com"]
    shown = redaction.strict_frame(pl.DataFrame({"message": values}))["message"].to_list()
    assert shown == [f"Synced via sleeper:{MARK}@db.dozing.test ok", f"hub root:{MARK}@tcp(db:3306)/sleep",
                     *values[2:]]


@pytest.mark.parametrize(("text", "shown"), [
    ("{'user': 'sleeper', 'password': b'Hx9q2Lp9'}", f"{{'user': 'sleeper', 'password': b'{MARK}'}}"),
    ("{u'token': u'Hx9q2Lp9-k1', 'n': 2}", f"{{u'token': u'{MARK}', 'n': 2}}"),
    ("SET PASSWORD = PASSWORD('Hx9q2Lp9') ok", f"SET PASSWORD = {MARK} ok"),
    ("api_key=decode(\"Hx9q2Lp9-k2\"), mode=fast", f"api_key={MARK}, mode=fast"),
    # a bytes value under no credential's name, a call under a neutral one stay
    ("{'name': b'sleeper', 'n': max(1, 2)}", "{'name': b'sleeper', 'n': max(1, 2)}"),
])
def test_a_credentials_value_written_as_a_bytes_literal_or_a_call_is_replaced_whole(text, shown):
    """A Python log's `{'password': b'…'}` (a bytes literal: its `b` before the quote) and SQL's `PASSWORD('…')`
    (a call) were read as an unquoted value ending before the quote or the parenthesis: `b` or `PASSWORD` was
    replaced, the password after it kept, in rejects, --generic values and scrubbed copies. A string's prefix
    (b, u, r) is read with its quoted value, and a call's parentheses with the name before them."""
    assert redaction.redact_text(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("the password for sleeper is Hx9q2Lp9", f"the password for sleeper is {MARK}"),
    ("password for sleeper: Hx9q2Lp9", f"password for sleeper: {MARK}"),
    ("Password changed to Hx9q2Lp9.", f"Password changed to {MARK}."),
    ("your password was reset to Hx9q2Lp9 today", f"your password was reset to {MARK} today"),
    ("set password to Hx9q2Lp9", f"set password to {MARK}"),
    ("hub pw is Hx9q2Lp9; wifi psk Kx7zq2Lp", f"hub pw is {MARK}; wifi psk {MARK}"),
    # words and numbers after the same words stay
    ("the password for sleeper is incorrect", "the password for sleeper is incorrect"),
    ("password changed to meet the policy", "password changed to meet the policy"),
    ("send the password to support", "send the password to support"),
])
def test_a_credential_after_its_name_and_words_saying_whose_or_what_became_of_it_is_replaced(text, shown):
    """Prose names a password's owner or what became of it between the name and the value (`the password for bob
    is …`, `Password changed to …`, `set password to …`), and writes `pw` and `psk` as names: the name's rule
    for prose read `is`, `:` or spaces alone between, so these kept the password in free text (rejects, --generic
    values, messages). `for <someone>` before the separator and `(was) changed/reset/set to` as one are read;
    the value is judged as before (words stay)."""
    assert redaction.redact_text(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("<tr><td>Password</td><td>Hx9q2Lp9</td></tr>", f"<tr><td>Password</td><td>{MARK}</td></tr>"),
    ("<th>API key</th>\n  <td><code>Hx9q2Lp9kq</code></td>", f"<th>API key</th>\n  <td><code>{MARK}</code></td>"),
    ("<label>PIN</label><span>4821</span>", f"<label>PIN</label><span>{MARK}</span>"),
    ("<b>Password:</b> Hx9q2Lp9<br>", f"<b>Password:</b> {MARK}<br>"),
    # a label's words, other labels, a heading before a paragraph stay
    ("<td>Password</td><td>Forgot it?</td><td>Status</td><td>ok3</td>",
     "<td>Password</td><td>Forgot it?</td><td>Status</td><td>ok3</td>"),
    ("<h2>Password</h2><p>Choose one of 8 characters or more</p>",
     "<h2>Password</h2><p>Choose one of 8 characters or more</p>"),
])
def test_a_credential_shown_beside_its_label_in_a_pages_elements_is_replaced(text, shown):
    """A page shows a credential beside its label in another element (`<td>Password</td><td>…</td>`, `<th>API
    key</th><td><code>…</code></td>`, `<b>Password:</b> …`: a hub's settings page, an account page): the label is
    an element's whole text, no pair or attribute, so the value stayed in free text (rejects, --generic values,
    scrubbed copies). The text after a label element naming a credential (past up to 4 tags) is judged as that
    name's value in prose is (a token or a PIN's digits; words stay)."""
    assert redaction.redact_text(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("password=0000?0000012=A", "password=REDACTED"),  # (found by fuzzing: `?0000012=A` was kept)
    ("password=0000?A0000012=", "password=REDACTED"),  # (and then `?A0000012=`)
    ("password=abc?user=bob", "password=REDACTED"),
    ("pwd: x1&22=33; next", "pwd: REDACTED; next"),
    ("password=abc&user=bob", "password=REDACTED&user=bob"),
    ("token=abc;$x=1", "token=REDACTED;$x=1"),
])
def test_a_value_in_text_runs_past_a_separator_unless_a_name_follows_it(text, shown):
    """`&`, `;` or `,` inside a credential's value ends it only before the next pair's name (digits alone before an
    equals sign are none), and `?`, which separates no pairs, never: the rest of the value is not left behind."""
    assert redaction.redact_text(text) == shown


ONE_TIME_AND_COMMAND_SECRETS = [
    ("Your code is 482913", "Your code is REDACTED"),
    ("Use code 482913 to sign in", "Use code REDACTED to sign in"),
    ("482913 is your Sense verification code.", "REDACTED is your Sense verification code."),
    ("Forgot it? go to /reset/Kq8zT3xw to choose another", "Forgot it? go to /reset/REDACTED to choose another"),
    ("Tap https://app.dozing.test/activate/Zx81kq9Lm2 now", "Tap https://app.dozing.test/activate/REDACTED now"),
    ("sqlplus bob/Ti9erQx@sleepdb", "sqlplus bob/REDACTED@sleepdb"),
    ("expdp system/manager schemas=sleep", "expdp system/REDACTED schemas=sleep"),
    ("ALTER USER bob IDENTIFIED BY tiger;", "ALTER USER bob IDENTIFIED BY REDACTED;"),
    ("CREATE USER 'b'@'%' IDENTIFIED WITH caching_sha2_password BY 'Pw4sure!'",
     "CREATE USER 'b'@'%' IDENTIFIED WITH caching_sha2_password BY 'REDACTED'"),
    ("requirepass Zq9hunter", "requirepass REDACTED"),
    ("echo 'bob:Zq9hunter' | chpasswd", "echo 'bob:REDACTED' | chpasswd"),
    ("echo hunter22 | sudo -S systemctl restart sleepd", "echo REDACTED | sudo -S systemctl restart sleepd"),
]


@pytest.mark.parametrize(("text", "shown"), ONE_TIME_AND_COMMAND_SECRETS)
def test_one_time_codes_reset_links_and_passwords_of_sql_and_shell_lines_leave_prose_and_device_text(text, shown):
    """Prose and device text (a Sense insight's, a Band event's name) write a one-time code without a pair's name
    (`Your code is 482913`, `482913 is your … code`), a reset link's path after a space (`go to /reset/<token>`; a URL's
    in device text), and passwords as SQL and shells write them (`sqlplus bob/…@db`, `IDENTIFIED BY …`, `requirepass
    …`, `echo 'bob:…' | chpasswd`): each was kept in tables (STRICT text), rejects and scrubbed copies."""
    import polars as pl

    for mode in (redaction.FULL, redaction.STRICT):
        assert redaction.redact_text(text, mode) == shown
    assert redaction.strict_frame(pl.DataFrame({"name": [text]}))["name"].to_list() == [shown]


@pytest.mark.parametrize("text", [
    "error code 4041", "4041 is the error code", "Your sleep score is 82", "the user was identified by name",
    "echo hello | grep h", "see images/logo@2x.png", "users/alice@example.com", "sqlplus / as sysdba",
    "go to /settings/sleep", "GET /v1/questions/2017-03-14",
])
def test_prose_and_commands_without_such_a_secret_stay(text):
    for mode in (redaction.FULL, redaction.STRICT):
        assert redaction.redact_text(text, mode) == text


@pytest.mark.parametrize("name", ["pässword", "Pässwort", "ｐａｓｓｗｏｒｄ", "ＰＩＮ", "çlient_sécret", "tökèn"])
def test_a_credential_under_a_name_with_accents_or_full_width_letters_is_replaced(name):
    """A JSON key, form field or pair's name spelt with accents (`pässword`, as a keyboard or an app's translation
    writes it) or in full-width letters named no credential: its value stayed in --generic tables, rejects and
    scrubbed copies. Names are also judged without their accents, in ASCII's width."""
    secret = "Tr0ub4dor-xq7"
    body = json.dumps({name: secret, "minutes": 3}, ensure_ascii=False).encode()
    assert secret.encode() not in redaction.redact_body(body, "application/json", "other")
    assert secret not in redaction.redact_text(f"{name}: {secret}")
    assert secret not in redaction.redact_params(f"{name}={secret}&a=1")[0]


@pytest.mark.parametrize("fmt", ["msgpack", "cbor"])
def test_a_credential_under_a_long_key_whose_letters_read_as_a_frame_is_overwritten(fmt):
    """A binary map's key of 32+ bytes (MessagePack's str 8, CBOR's text of a length byte) holds letters that read as
    a shorter key's frame (`t` is CBOR's text of 20): that frame was taken, its "value" more of the key, and the
    password after the key was kept in rejects and scrubbed copies (a body of any size)."""
    import msgpack

    key, secret = "account_password_for_the_sleep_service_backup", "Tr0ub4dor-xq7"
    if fmt == "msgpack":
        data = msgpack.packb({"pad": "x" * 5000, key: secret})
    else:
        data = (b"\xa2\x63pad\x79\x13\x88" + b"x" * 5000 + bytes([0x78, len(key)]) + key.encode()
                + bytes([0x60 + len(secret)]) + secret.encode())
    redacted = redaction.redact_body(data, "application/octet-stream", "other")
    assert secret.encode() not in redacted and key.encode() in redacted and len(redacted) == len(data)


@pytest.mark.parametrize(("text", "shown"), [
    ("Invalid value 'Zq9hunter22' for field password", f"Invalid value '{MARK}' for field password"),
    ('Value "hunter22x" is too short for parameter "user.password"',
     f'Value "{MARK}" is too short for parameter "user.password"'),
    ('Expected "x9Zq3" to be a valid pin', f'Expected "{MARK}" to be a valid pin'),
    ("1 validation error for Login\npassword\n  value is not a valid string (type=type_error.str; "
     "input_value='Zq9hunter22')", "1 validation error for Login\npassword\n  value is not a valid string "
                                   f"(type=type_error.str; input_value='{MARK}')"),
    ("body -> pin\n  Input should be a valid string [type=string_type, input_value=4821, input_type=int]",
     f"body -> pin\n  Input should be a valid string [type=string_type, input_value={MARK}, input_type=int]"),
    # the value of a field no credential's name names, and a label's words, stay
    ("'abc' is not a valid value for field color", None), ("Click 'Forgot' to reset your password", None),
    ("minutes\n  Input should be a valid integer [type=int_type, input_value='abc', input_type=str]", None),
])
def test_an_error_message_quoting_a_credentials_input_loses_it(text, shown):
    """A server's validation error quotes what was sent: `Invalid value '…' for field password`, pydantic's
    `input_value='…'` below the field's place, and in JSON Spring's {field, rejectedValue} and pydantic's {loc,
    input}: each kept the password in --generic tables, rejects and scrubbed copies."""
    for mode in (redaction.FULL, redaction.STRICT):
        assert redaction.redact_text(text, mode) == (text if shown is None else shown)


def test_a_validation_errors_field_and_the_value_it_rejected_lose_the_value():
    errors = {"errors": [{"field": "password", "rejectedValue": "Zq9hunter22"},
                         {"loc": ["body", "pin"], "input": "4821", "msg": "too short"},
                         {"loc": ["body", "minutes"], "input": 3, "msg": "too long"}]}
    assert redaction.redact_json(errors) == ({"errors": [
        {"field": "password", "rejectedValue": MARK}, {"loc": ["body", "pin"], "input": MARK, "msg": "too short"},
        {"loc": ["body", "minutes"], "input": 3, "msg": "too long"}]}, 2)


def test_a_multipart_fields_name_written_as_an_extended_value_names_its_credential():
    """RFC 5987/7578's `name*=UTF-8''pass%77ord` gives a part's name percent-encoded after its charset: the name was
    read as written, named no credential, and the part's password stayed in rejects and scrubbed copies."""
    secret = "Zq9hunter22x"
    body = ("--b1\r\nContent-Disposition: form-data; name*=UTF-8''pass%77ord\r\n\r\n" + secret +
            "\r\n--b1\r\nContent-Disposition: form-data; name*=utf-8'en'note\r\n\r\nhello\r\n--b1--\r\n").encode()
    redacted = redaction.redact_body(body, "multipart/form-data; boundary=b1", "other")
    assert secret.encode() not in redacted and b"hello" in redacted
