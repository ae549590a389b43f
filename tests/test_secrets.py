"""No Authorization header, cookie, OAuth token, password or client secret reaches a table, the report or a message."""

from __future__ import annotations

import json
import sys

import polars as pl
import pytest
from builders import BAND_EVENTS_URL, band_event, entry
from conftest import REPO
from typer.testing import CliRunner

from converters.cli import app

sys.path.insert(0, str(REPO / "samples"))
from make_samples import SECRETS  # noqa: E402

EXTRA = ["planted-auth-0101", "planted-cookie-0102", "planted-token-0103", "planted-password-0104"]


def planted_har(path):
    """A capture with secrets in headers, query strings, the token exchange, a reject and a cut-off entry."""
    auth = {"Authorization": f"Bearer {EXTRA[0]}", "Cookie": f"session={EXTRA[1]}"}
    entries = [
        entry(BAND_EVENTS_URL + f"&access_token={EXTRA[2]}", band_event(), request_headers=auth,
              response_headers={"Set-Cookie": f"s={EXTRA[1]}"}),
        entry("https://api.hello.is/v1/oauth2/token", {"access_token": EXTRA[2], "refresh_token": EXTRA[2]},
              method="POST", post=f"grant_type=password&username=a&password={EXTRA[3]}&client_secret={EXTRA[3]}"),
        entry(f"https://api.hello.is/v2/timeline/2017-03-04?token={EXTRA[2]}", {"events": "oops"}, request_headers=auth),
        entry("https://www.example.com/", "<html></html>", request_headers=auth),
    ]
    text = json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}})
    cut = text.rindex(EXTRA[0]) + 5  # cut inside the last entry's Authorization value
    path.write_text(text[:cut])
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_no_planted_secret_reaches_any_output(tmp_path, fmt):
    out = tmp_path / "out"
    inputs = [str(REPO / "samples" / "phone-sync.har"), str(REPO / "samples" / "phone-sync.flow"),
              str(planted_har(tmp_path / "planted.har"))]
    result = CliRunner().invoke(app, ["convert", *inputs, "-o", str(out), "--format", fmt, "--json"])
    assert result.exit_code == 1  # the planted capture is cut off
    texts = [result.output, result.stdout]
    for f in out.iterdir():
        texts.append(f.read_bytes().decode("utf-8", "replace"))
        if f.suffix == ".parquet":  # compressed columns: scan the values too
            df = pl.read_parquet(f)
            texts += [str(v) for col in df.columns for v in df[col].to_list()]
    assert len(list(out.iterdir())) > 5
    for secret in SECRETS + EXTRA:
        for text in texts:
            assert secret not in text
            assert secret[:12] not in text  # not even part of one
