"""No planted secret reaches any output: tables (Parquet and CSV, generic ones too), partitions, report.json,
datapackage.json, stdout and stderr of `convert` (with --generic, --json, --debug), `report` (report.html),
`export omh`, `inspect` (table and --json),
`scrub` and the scrubbed copies themselves; pseudonymised runs name no folder; scrubbed copies convert to the same
device tables and rejects; the README's table of secrets lists every kind of the corpus (tests/secret_corpus.py).
"""

from __future__ import annotations

import base64
import bz2
import json
import lzma
import os
import re
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote_plus

import brotli
import polars as pl
import pytest
import secret_corpus
import secret_corpus_b
import secret_corpus_c
import secret_corpus_d
import secret_corpus_e
import secret_corpus_f
import secret_corpus_g
import secret_corpus_h
import secret_corpus_i
import secret_corpus_j
import secret_corpus_k
from conftest import REPO
from mitmproxy import io as mio
from typer.testing import CliRunner

from converters.captures import Exchange, read_capture
from converters.cli import app
from converters.pipeline import Input, convert

sys.path.insert(0, str(REPO / "samples"))
from make_samples import SECRETS as SAMPLE_SECRETS  # noqa: E402

SAMPLES = [REPO / "samples" / "phone-sync.har", REPO / "samples" / "phone-sync.flow"]
PEOPLE = ("Alice-Smith", "Bob-Jones")
runner = CliRunner()


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


ARROW_SCHEMA = re.compile(r"(?<=ARROW:schema)[^A-Za-z0-9+/]{0,3}([A-Za-z0-9+/]+={0,2})")


def _arrow_schema(m: re.Match) -> str:
    """The base64 Arrow schema after its length (a varint, whose last byte may be a base64 letter), decoded."""
    run = m.group(1)
    return base64.b64decode(run[len(run) % 4:]).decode("utf-8", "replace")


def output_texts(folder: Path) -> list[str]:
    """Every file below `folder`, as text, and every value of every Parquet file cast to text."""
    texts = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        text = f.read_bytes().decode("utf-8", "replace")
        if f.suffix == ".parquet":  # the footer's Arrow schema is base64, whose letters may spell a name by chance
            text = ARROW_SCHEMA.sub(_arrow_schema, text)
        texts.append(text)
        if f.suffix == ".parquet":
            df = pl.read_parquet(f)
            texts += [str(v) for column in df.columns for v in df[column].to_list()]
            texts += df.columns
            if "body_encoding" in df.columns:  # a reject's binary body: base64, maybe of compressed data
                texts += [_inflated(base64.b64decode(v)) for v in df.filter(pl.col("body_encoding") == "base64")[
                    "body"].to_list()]
    return texts


def _inflated(data: bytes) -> str:
    """Compressed data (gzip, zlib, bzip2, xz, brotli) as the text it holds, as anyone can get it out (a gzip or zlib
    stream whose checksum is wrong, or cut off, up to where it breaks); other bytes as text."""
    try:
        data = zlib.decompress(data, 47)
    except zlib.error:
        raw = data[10:] if data[:2] == b"\x1f\x8b" and data[3:4] == b"\x00" else data[2:] if data[:1] == b"\x78" else None
        try:
            data = zlib.decompressobj(-15).decompress(raw) or data if raw is not None else data
        except zlib.error:
            pass
    for decompressor, error in ((bz2.BZ2Decompressor, OSError), (lzma.LZMADecompressor, lzma.LZMAError)):
        try:
            data = decompressor().decompress(data) or data
        except (error, EOFError):
            pass
    try:
        data = brotli.Decompressor().process(data) or data
    except brotli.error:
        pass
    return data.decode("utf-8", "replace")


def capture_texts(path: Path) -> list[str]:
    """What a capture holds, as its readers and mitmproxy decode it: the bytes, every exchange's path, query,
    headers and bodies (un-gzipped, un-base64'd), and in a flow dump every message, trailer, comment and
    metadata."""
    texts = [path.read_bytes().decode("utf-8", "replace")]
    for item in read_capture(path):
        if isinstance(item, Exchange):
            texts += [f"{item.path}?{item.query}", repr(item.request_headers), repr(item.response_headers)]
            texts += [_inflated(body) for body in (item.request_body, item.body) if body]
            texts += [s for body in (item.request_body, item.body) if body for s in _json_strings(body)]
            texts += _decoded_strings([value.rpartition(" ")[2] for _, value in item.request_headers])  # Basic
    if path.suffix == ".flow":
        with path.open("rb") as f:
            for flow in mio.FlowReader(f).stream():
                texts.append(repr(flow.get_state()))
                websocket = getattr(flow, "websocket", None)
                for message in getattr(flow, "messages", None) or getattr(websocket, "messages", None) or ():
                    texts.append(_inflated(message.content))
                for message in (getattr(flow, "request", None), getattr(flow, "response", None)):
                    if message is not None and message.raw_content:
                        texts.append(_inflated(message.get_content(strict=False)))
    else:
        texts += _decoded_strings(json.loads(path.read_bytes()))
    return texts


def _json_strings(body: bytes) -> list[str]:
    """A JSON body's strings, base64-decoded too (a token in JSON stored base64 in a field)."""
    try:
        return _decoded_strings(json.loads(body))
    except ValueError:
        return []


def _decoded_strings(value) -> list[str]:
    """Strings of a JSON document, base64-decoded too where they are base64."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _decoded_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _decoded_strings(v)]
    if isinstance(value, str):
        try:
            return [value, _inflated(base64.b64decode(value, validate=True))]
        except ValueError:
            return [value]
    return []


def leaks(needles: tuple[str, ...], texts: list[str]) -> list[str]:
    """The needles found in the texts, as they are or percent-decoded, whole or in part (their first or last 10
    characters: a value cut short at a delimiter, or quoted cut off)."""
    parts = {n: {n, *(p for p in (n[:10], n[-10:]) if len(n) >= 14 and _distinctive(p))} for n in needles}
    found = []
    for text in texts:
        for variant in {text, unquote_plus(text)}:
            found += [n for n in needles if any(p in variant for p in parts[n])]
    return sorted(set(found))


def _distinctive(part: str) -> bool:
    """A part of a secret that no output holds by chance: 5+ different characters, letters and digits."""
    return len(set(part)) >= 5 and any(c.isalpha() for c in part) and any(c.isdigit() for c in part)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> secret_corpus.Corpus:
    return secret_corpus.build(tmp_path_factory.mktemp("corpus"))


def every_output(captures: list[str], generic: list[str], root: Path) -> dict[str, list[str]]:
    """Every output of every command over the captures, as texts, by what produced it."""
    texts: dict[str, list[str]] = {}
    for fmt, jobs in (("parquet", "1"), ("csv", "2")):  # in worker processes too: what they send back is checked
        out = root / fmt
        code, stdout, stderr = invoke(["convert", *captures, "-o", str(out), "--format", fmt, *generic, "--json",
                                       "--debug", "--jobs", jobs])
        assert code == 1 and re.search(r"partial: \d+ device responses of a shape databack does not know", stderr)
        texts[f"convert --format {fmt}"] = [stdout, stderr, *output_texts(out)]
    code, stdout, stderr = invoke(["report", str(root / "parquet")])
    assert code == 0, stderr
    texts["report"] = [stdout, stderr, (root / "parquet" / "report.html").read_text()]
    code, stdout, stderr = invoke(["export", "omh", str(root / "parquet"), "-o", str(root / "omh")])
    assert code == 0, stderr
    texts["export omh"] = [stdout, stderr, *output_texts(root / "omh")]
    code, stdout, stderr = invoke(["merge", str(root / "parquet"), str(root / "csv"), "-o", str(root / "merged"),
                                   "--json", "--jobs", "1"])
    texts["merge"] = [stdout, stderr, *output_texts(root / "merged")]
    for args in ([], ["--json"]):
        code, stdout, stderr = invoke(["inspect", *captures, *args, "--jobs", "1"])
        assert code == 0, stderr
        texts[f"inspect {' '.join(args)}"] = [stdout, stderr]
    scrubbed = root / "scrubbed" / "new"
    for capture in captures[:2]:
        code, stdout, stderr = invoke(["scrub", capture, "-o", f"{scrubbed}/", "--json"])
        assert code == 0, stderr
        texts[f"scrub {Path(capture).name}"] = [stdout, stderr, *capture_texts(scrubbed / Path(capture).name)]
    archive = root / "captures.zip"  # scrubbed as an archive too: a zip of the copies
    with zipfile.ZipFile(archive, "w") as z:
        for capture in captures[:2]:
            z.write(capture, f"p07/{Path(capture).name}")
    code, stdout, stderr = invoke(["scrub", str(archive), "-o", str(root / "scrubbed-archive.zip"), "--json"])
    assert code == 0, stderr
    texts["scrub of an archive"] = [stdout, stderr]
    with zipfile.ZipFile(root / "scrubbed-archive.zip") as z:
        for name in z.namelist():
            member = root / "from-archive" / name
            member.parent.mkdir(parents=True, exist_ok=True)
            member.write_bytes(z.read(name))
            texts["scrub of an archive"] += capture_texts(member)
    out = root / "from-scrubbed"
    code, stdout, stderr = invoke(["convert", str(scrubbed), "-o", str(out), "--format", "csv", *generic, "--json",
                                   "--jobs", "1"])
    texts["convert of the scrubbed copies"] = [stdout, stderr, *output_texts(out)]
    return texts


@pytest.fixture(scope="module")
def outputs(corpus, tmp_path_factory) -> dict[str, list[str]]:
    generic = ["--generic", secret_corpus.GENERIC_HOST, "--generic", "*.example.com", "--generic", "login.live.com"]
    return every_output([str(corpus.har), str(corpus.flow), *map(str, SAMPLES)], generic,
                        tmp_path_factory.mktemp("outputs"))


@pytest.fixture(scope="module")
def corpus_texts(corpus) -> list[str]:
    return capture_texts(corpus.har) + capture_texts(corpus.flow)


@pytest.mark.parametrize("kind", secret_corpus.KINDS)
def test_the_corpus_holds_each_kind_where_a_reader_sees_it(corpus, corpus_texts, kind):
    assert leaks(corpus.needles[kind], corpus_texts) == sorted(corpus.needles[kind])


@pytest.mark.parametrize("kind", secret_corpus.KINDS)
def test_no_output_holds_a_planted_secret(corpus, outputs, kind):
    found = {what: leaks(corpus.needles[kind], texts) for what, texts in outputs.items()}
    assert {what: needles for what, needles in found.items() if needles} == {}


def test_no_output_holds_a_secret_of_the_samples(outputs):
    found = {what: leaks(tuple(SAMPLE_SECRETS), texts) for what, texts in outputs.items()}
    assert {what: needles for what, needles in found.items() if needles} == {}


def test_outputs_still_hold_the_data(outputs):
    """The scans above look at real outputs: device rows, rejects, generic tables, templates."""
    csv = "\n".join(outputs["convert --format csv"])
    assert "2519812557630091728" in csv and "2519812557630091729" in csv  # both Band events, one on a "token" path
    assert "generic__api_example_com_v2_share_redacted_summary" in csv
    inspected = "\n".join(outputs["inspect --json"])
    assert "/v1/account/{redacted}/profile" in inspected
    assert "/v1/room/current;jsessionid={redacted}" in inspected
    assert "Events(eventId={id},token={redacted})" in inspected


def table_dicts(path: Path, name: str) -> tuple[dict, list]:
    result = convert([Input(path, name, True)])
    tables = {t: df.to_dicts() for t, df in result.tables.items() if not t.startswith("generic__")}
    return tables, [{k: v for k, v in f.as_dict().items() if k not in ("sha256", "size_bytes")} for f in result.files]


@pytest.mark.parametrize("capture", ["har", "flow"])
def test_scrubbed_corpus_converts_to_the_same_device_tables_rejects_and_report(corpus, tmp_path, capture):
    from converters.scrub import scrub_capture

    src = corpus.har if capture == "har" else corpus.flow
    report = scrub_capture(src, tmp_path / src.name)
    assert report.status == "ok"
    original, scrubbed = table_dicts(src, "corpus"), table_dicts(tmp_path / src.name, "corpus")
    assert {"band_events", "sense_timeline_events", "sense_room_readings", "rejects"} <= original[0].keys()
    assert len(original[0]["band_events"]) == 2  # one of them on a device path that says "token"
    assert scrubbed == original


# --- the later corpora, each made apart from the ones before (tests/secret_corpus_b.py: other names, shapes and
# places; tests/secret_corpus_c.py: other languages and scripts, short and numeric values, vendor key formats) ------

# name -> (its module, its --generic options, Band events and rejects it converts to)
LATER = {
    "b": (secret_corpus_b, ["--generic", secret_corpus_b.GENERIC_HOST, "--generic", "*.sleepwell.test"], (2, 2)),
    "c": (secret_corpus_c, ["--generic", secret_corpus_c.GENERIC_HOST, "--generic", "*.nightowl.test"], (1, 2)),
    "d": (secret_corpus_d, ["--generic", secret_corpus_d.GENERIC_HOST, "--generic", "*.dozer.test"], (1, 4)),
    "e": (secret_corpus_e, ["--generic", secret_corpus_e.GENERIC_HOST, "--generic", "*.snooze.test"], (1, 2)),
    "f": (secret_corpus_f, ["--generic", secret_corpus_f.GENERIC_HOST, "--generic", "*.drowsy.test"], (1, 4)),
    "g": (secret_corpus_g, ["--generic", secret_corpus_g.GENERIC_HOST, "--generic", "*.dreamy.test"], (1, 4)),
    "h": (secret_corpus_h, ["--generic", secret_corpus_h.GENERIC_HOST, "--generic", "*.slumber.test"], (1, 6)),
    "i": (secret_corpus_i, ["--generic", secret_corpus_i.GENERIC_HOST, "--generic", "*.nodding.test"], (1, 4)),
    "j": (secret_corpus_j, ["--generic", secret_corpus_j.GENERIC_HOST, "--generic", "*.dozing.test"], (1, 2)),
    "k": (secret_corpus_k, ["--generic", secret_corpus_k.GENERIC_HOST, "--generic", "*.drifting.test"], (1, 2)),
}
LATER_KINDS = [(name, kind) for name, (module, _, _) in LATER.items() for kind in module.KINDS]


@pytest.fixture(scope="module")
def later(tmp_path_factory):
    """The later corpus of a name, built once: `later(name)` is its Corpus."""
    built: dict[str, secret_corpus.Corpus] = {}

    def corpus(name: str) -> secret_corpus.Corpus:
        if name not in built:
            built[name] = LATER[name][0].build(tmp_path_factory.mktemp(f"corpus-{name}"))
        return built[name]

    return corpus


@pytest.fixture(scope="module")
def later_outputs(later, tmp_path_factory):
    """Every output over the later corpus of a name, made once: `later_outputs(name)`."""
    made: dict[str, dict[str, list[str]]] = {}

    def outputs(name: str) -> dict[str, list[str]]:
        if name not in made:
            corpus = later(name)
            made[name] = every_output([str(corpus.har), str(corpus.flow)], LATER[name][1],
                                      tmp_path_factory.mktemp(f"outputs-{name}"))
        return made[name]

    return outputs


@pytest.mark.parametrize(("name", "kind"), LATER_KINDS)
def test_a_later_corpus_holds_each_kind_where_a_reader_sees_it(later, name, kind):
    corpus = later(name)
    texts = capture_texts(corpus.har) + capture_texts(corpus.flow)
    assert leaks(corpus.needles[kind], texts) == sorted(corpus.needles[kind])


@pytest.mark.parametrize(("name", "kind"), LATER_KINDS)
def test_no_output_holds_a_secret_of_a_later_corpus(later, later_outputs, name, kind):
    kept_by_scrub = getattr(LATER[name][0], "KEPT_BY_SCRUB", set())
    found = {what: leaks(later(name).needles[kind], texts) for what, texts in later_outputs(name).items()
             if not (kind in kept_by_scrub and what.startswith("scrub "))}
    assert {what: needles for what, needles in found.items() if needles} == {}


@pytest.mark.parametrize("name", LATER)
@pytest.mark.parametrize("capture", ["har", "flow"])
def test_a_scrubbed_later_corpus_converts_to_the_same_device_tables_rejects_and_report(later, tmp_path, name,
                                                                                        capture):
    from converters.scrub import scrub_capture

    corpus = later(name)
    src = corpus.har if capture == "har" else corpus.flow
    assert scrub_capture(src, tmp_path / src.name).status == "ok"
    original, scrubbed = table_dicts(src, name), table_dicts(tmp_path / src.name, name)
    assert (len(original[0]["band_events"]), len(original[0]["rejects"])) == LATER[name][2]
    assert scrubbed == original


def test_the_second_corpus_outputs_still_hold_the_data(later_outputs):
    outputs = later_outputs("b")
    csv = "\n".join(outputs["convert --format csv"])
    assert "2519812557630091730" in csv and "2519812557630091731" in csv  # Band events on token-keyed paths
    assert "generic__cloud_sleepwell_test_v1_users_me_redacted_sleep" in csv and "firmware" in csv
    inspected = "\n".join(outputs["inspect --json"])
    assert "/v1/room/current;JSESSIONID={redacted};sid={redacted}" in inspected
    assert "/v2/account/{redacted}/settings" in inspected


def test_the_fifth_corpus_outputs_still_hold_the_data(later_outputs):
    csv = "\n".join(later_outputs("e")["convert --format csv"])
    assert "2519812557630091760" in csv and "Wi-Fi set up. REDACTED,REDACTED REDACTED REDACTED REDACTED" in csv
    assert ",431," in csv or ",431\n" in csv  # the generic response's minutes, beside the card's code


def test_the_third_corpus_outputs_still_hold_the_data(later_outputs):
    csv = "\n".join(later_outputs("c")["convert --format csv"])
    assert "2519812557630091740" in csv and "firmware" in csv and "SN-0042" in csv and "2.4.1" in csv
    assert ",431," in csv or ",431\n" in csv  # the generic response's minutes
    assert "You slept well. Wi-Fi password=REDACTED; пароль: REDACTED" in csv  # the rest of the message stays


@pytest.fixture(scope="module")
def pseudonymised(corpus, tmp_path_factory) -> tuple[Path, list[tuple[int, str, str]]]:
    """Two runs over folders named after people, with --pseudonymize: the second finds nothing new."""
    root = tmp_path_factory.mktemp("study")
    incoming = root / "incoming"
    for person, capture in zip(PEOPLE, (corpus.har, corpus.flow)):
        (incoming / person).mkdir(parents=True)
        (incoming / person / f"2024-03-02-phone{capture.suffix}").write_bytes(capture.read_bytes())
    (root / "participants.csv").write_text("pattern,participant_id\n" + "".join(f"*/{p}/*,{p}\n" for p in PEOPLE))
    (root / "study.key").write_text("a key of the study team, 32 bytes")
    args = ["convert", str(incoming), "-o", str(root / "tables"), "--participants", str(root / "participants.csv"),
            "--pseudonymize", "--key-file", str(root / "study.key"), "--partition-by", "participant_id", "--json",
            "--jobs", "1"]
    return root / "tables", [invoke(args), invoke(args)]


def test_a_pseudonymised_run_names_no_participant_folder_anywhere(pseudonymised):
    tables, runs = pseudonymised
    texts = output_texts(tables) + [text for _, stdout, stderr in runs for text in (stdout, stderr)]
    texts += [str(p.relative_to(tables)) for p in tables.rglob("*")]  # partition folders and file names
    names = [part for person in PEOPLE for part in (person, *person.split("-"))]
    assert [n for n in names if any(n in text for text in texts)] == []
    source_files = pl.read_parquet(tables / "band_events" / "**" / "*.parquet")["source_file"].unique().to_list()
    assert len(source_files) == 2 and all(re.fullmatch(r"d-[0-9a-f]{16}/2024-03-02-phone\.(har|flow)", s)
                                          for s in source_files)


def test_a_pseudonymised_source_file_is_stable_so_a_rerun_skips_what_it_converted(pseudonymised):
    tables, ((first_code, first, _), (second_code, second, stderr)) = pseudonymised
    assert first_code == second_code == 1  # the rejected nights make the files partial
    assert "2 inputs already converted unchanged" in stderr
    files = lambda report: sorted(f["file"] for f in json.loads(report)["files"])  # noqa: E731
    assert files(first) == files(second)


def test_a_pseudonymised_run_names_a_missing_input_by_its_file_name_alone(tmp_path):
    key = tmp_path / "k"
    key.write_text("a key of at least sixteen bytes")
    code, _, stderr = invoke(["convert", str(tmp_path / "Alice-Smith" / "sync.har"), "-o", str(tmp_path / "out"),
                              "--pseudonymize", "--key-file", str(key)])
    assert code == 2 and stderr == "databack: no such file or folder: sync.har\n"


def test_merge_redacts_what_an_older_report_still_holds(tmp_path):
    """report.json written before the policy kept raw paths and hosts: merging it writes them redacted."""
    out = tmp_path / "old"
    assert invoke(["convert", str(SAMPLES[0]), "-o", str(out)])[0] == 0
    report = json.loads((out / "report.json").read_bytes())
    token = secret_corpus.jwt("older")
    raw_path = f"GET api.hello.is /v1/account/{token}/x;jsessionid=A1B2C3D4E5F6"
    report["files"][0]["undecoded_device_paths"] = {raw_path: 1}
    report["files"][0]["error"] = f"cut off near access_token={token}"
    (out / "report.json").write_bytes(json.dumps(report).encode())
    code, stdout, stderr = invoke(["merge", str(out), "-o", str(tmp_path / "merged"), "--json"])
    merged = (tmp_path / "merged" / "report.json").read_text()
    assert code == 0 and leaks((token, "A1B2C3D4E5F6"), [stdout, stderr, merged]) == []
    assert "/v1/account/REDACTED/x;jsessionid=REDACTED" in merged


def test_scrub_writes_into_a_folder_creating_it_or_names_what_it_cannot_make(tmp_path):
    sample = SAMPLES[0]
    existing = tmp_path / "existing"
    existing.mkdir()
    assert invoke(["scrub", str(sample), "-o", str(existing)])[0] == 0
    assert invoke(["scrub", str(sample), "-o", f"{tmp_path}/new/deeper/"])[0] == 0
    assert invoke(["scrub", str(sample), "-o", str(tmp_path / "missing" / "copy.har")])[0] == 0
    assert [p.relative_to(tmp_path) for p in sorted(tmp_path.rglob("*.har"))] == [
        Path("existing/phone-sync.har"), Path("missing/copy.har"), Path("new/deeper/phone-sync.har")]
    (tmp_path / "a-file").write_text("")
    code, _, stderr = invoke(["scrub", str(sample), "-o", str(tmp_path / "a-file" / "copy.har")])
    assert code == 2 and f"cannot create the folder {tmp_path / 'a-file'}" in stderr


def test_debug_traceback_names_where_and_what_without_the_secret_it_quotes(tmp_path):
    """A bug whose message quotes a payload (here: a decoder raising with a token and a password in its message)
    is shown by --debug with its frames and exception type, its quoted values and credentials replaced."""
    secret, password = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZWJ1ZyJ9.c2lnbmF0dXJlLWRlYnVn", "Tr0ub4dor&3-debug"
    script = (
        "import sys\n"
        "from converters.devices import band\n"
        "def broken(payload, request):\n"
        f"    raise RuntimeError('bad event ' + repr({secret!r}) + ' password={password}')\n"
        "object.__setattr__(band.EVENTS, 'decode', broken)\n"
        "from converters.cli import main\n"
        "sys.argv = ['databack', 'convert', sys.argv[1], '-o', sys.argv[2], '--debug', '--jobs', '1']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(SAMPLES[0]), str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert "RuntimeError: bad event '…' password=REDACTED" in result.stderr
    assert "in broken" in result.stderr  # where it happened
    assert secret not in result.stderr and secret[:16] not in result.stderr and password not in result.stderr


def readme_kinds() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("<!-- secrets table -->", 2)[1]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.MULTILINE)


def test_the_readme_table_of_secrets_has_one_row_per_kind_of_the_corpora():
    assert readme_kinds() == [*secret_corpus.KINDS, *secret_corpus_b.KINDS, *secret_corpus_c.KINDS,
                              *secret_corpus_d.KINDS, *secret_corpus_e.KINDS, *secret_corpus_f.KINDS,
                              *secret_corpus_g.KINDS, *secret_corpus_h.KINDS, *secret_corpus_i.KINDS,
                              *secret_corpus_j.KINDS, *secret_corpus_k.KINDS]


def test_merge_and_a_rerun_redact_what_an_older_run_left_in_its_tables(tmp_path):
    """Tables written before the policy (or by an older one) keep raw rejects and device values: merging them, or
    converting into their OUT again, writes them redacted."""
    out = tmp_path / "old"
    assert invoke(["convert", str(SAMPLES[0]), "-o", str(out)])[0] == 0
    token, password = secret_corpus.jwt("older-table"), "Tr0ub4dor&3-older"
    reject = {"endpoint": "sense/timeline-v2", "method": "GET", "host": "api.hello.is",
              "path": f"/v2/timeline/{token}", "status": 200, "reason": f"bad body access_token={token}",
              "body": json.dumps({"events": "x", "password": password}), "body_encoding": "utf-8",
              "participant_id": None, "source_file": "old.har", "source_entry": 0, "captured_at": None}
    from converters.tables import TABLES

    rejects = TABLES["rejects"]
    pl.DataFrame([reject]).select(rejects.column_names).cast(rejects.schema).write_parquet(out / "rejects.parquet")
    report = json.loads((out / "report.json").read_bytes())
    report["tables"]["rejects"] = {"rows": 1, "duplicates": 0, "conflicts": 0, "file": "rejects.parquet"}
    (out / "report.json").write_bytes(json.dumps(report).encode())
    assert invoke(["merge", str(out), "-o", str(tmp_path / "merged")])[0] == 0
    assert invoke(["convert", str(SAMPLES[1]), "-o", str(out)])[0] == 0  # an incremental run into the old OUT
    for folder in (tmp_path / "merged", out):
        merged = pl.read_parquet(folder / "rejects.parquet").filter(pl.col("source_file") == "old.har").to_dicts()
        assert leaks((token, password), output_texts(folder)) == []
        assert merged[0]["path"] == "/v2/timeline/{redacted}" and json.loads(merged[0]["body"]) == {
            "events": "x", "password": "REDACTED"}


def test_a_rejected_body_cut_to_its_first_mib_keeps_no_credential_of_that_part(tmp_path):
    """A reject keeps the first MiB of its body: what is cut off does not parse, so its credentials are found
    token by token (below a credential's name, in arrays, one cut in the middle), as in a whole body."""
    from builders import entry, write_har

    night = secret_corpus._night(secret_corpus._Builder())
    night["events"] = {"bad": True}
    planted = ("Tr0ub4dor&3-nested", "Tr0ub4dor&3-listed", "Tr0ub4dor&3-cut")
    night["client"] = {"password": {"current": planted[0]}, "refresh_tokens": [planted[1]]}
    night["padding"] = "z" * (1024 * 1024 - 100 - len(json.dumps(night)))
    body = json.dumps(night)[:-1] + f', "access_token": "{planted[2]}' + "-and-on" * 100 + '"}'
    har = write_har(tmp_path / "big.har", [entry("https://api.hello.is/v2/timeline/2017-03-05", body)])
    (reject,) = convert([Input(har, "big.har", True)]).tables["rejects"].to_dicts()
    assert reject["reason"].endswith("body cut to its first 1 MiB")
    assert leaks(planted, [reject["body"]]) == [] and reject["body"].endswith('"access_token": "REDACTED')


def test_a_rejected_body_in_utf16_keeps_no_credential(tmp_path):
    """The Sense decoder reads a night in UTF-16 (a BOM tells it): rejected, its body (kept as base64, not being
    UTF-8) holds no credential in that encoding either."""
    from builders import entry, write_har

    night = secret_corpus._night(secret_corpus._Builder())
    night["events"] = {"bad": True}
    night["client"] = {"password": "Tr0ub4dor&3-wide", "sessionKey": "qMnzDMDSmJLlZrlXQficbBc44P9wWDJV"}
    e = entry("https://api.hello.is/v2/timeline/2017-03-05")
    e["response"]["content"] |= {"text": base64.b64encode(json.dumps(night).encode("utf-16")).decode(),
                                 "encoding": "base64"}
    (reject,) = convert([Input(write_har(tmp_path / "wide.har", [e]), "wide.har", True)]).tables["rejects"].to_dicts()
    assert reject["body_encoding"] == "base64" and reject["reason"].startswith("does not match schema")
    kept = json.loads(base64.b64decode(reject["body"]).decode("utf-16"))
    assert kept["client"] == {"password": "REDACTED", "sessionKey": "REDACTED"}
