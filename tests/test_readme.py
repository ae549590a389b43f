"""The README is checked against the project: its data dictionary is the one generated from the table definitions,
its synopsis names every option, and its examples run, in order, in one scratch folder. `console` blocks (`$`
commands and their output) and `pycon` blocks (`>>>` lines and what they print) must give exactly what is shown;
`sh` and `python` blocks must succeed. `make docs` (UPDATE_README=1) rewrites the generated parts."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from conftest import REPO

from converters.cli import app
from converters.tables import data_dictionary

README = REPO / "README.md"
UPDATE = bool(os.environ.get("UPDATE_README"))
DICTIONARY = re.compile(r"(<!-- data-dictionary:start[^\n]*-->\n)(.*?)(<!-- data-dictionary:end -->)", re.DOTALL)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
NOT_RUN = re.compile(r"<!-- not run: [^>]+ -->\n$")


@dataclass
class Block:
    language: str
    body: str
    start: int  # offset of the body in the README
    end: int
    run: bool


def blocks(text: str) -> list[Block]:
    return [
        Block(m.group(1), m.group(2), m.start(2), m.end(2), not NOT_RUN.search(text, 0, m.start()))
        for m in FENCE.finditer(text)
    ]


def test_readme_data_dictionary_matches_the_table_definitions():
    text = README.read_text()
    generated = data_dictionary()
    if UPDATE:
        text = DICTIONARY.sub(lambda m: m.group(1) + "\n" + generated + "\n" + m.group(3), text)
        README.write_text(text)
    assert DICTIONARY.search(text).group(2).strip() == generated.strip()


def test_readme_synopsis_names_every_command_and_option():
    text = README.read_text()
    synopsis = next(b.body for b in blocks(text) if b.start > text.index("## Command line"))
    commands = list(typer.main.get_command(app).commands.items())
    while commands:
        name, command = commands.pop()
        if subcommands := getattr(command, "commands", None):  # a group: `export omh`
            commands += [(f"{name} {sub}", c) for sub, c in subcommands.items()]
            continue
        assert f"databack {name}" in synopsis
        for param in command.params:
            if param.param_type_name == "option":
                named = [o for o in param.opts if re.search(re.escape(o) + r"(?![\w-])", synopsis)]
                assert named, f"{name} {'/'.join(param.opts)} is not in the synopsis"
    assert "--version" in synopsis


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with what the README's examples start from: `samples/`, and a study team's `incoming/`."""
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("phone-sync.har", "phone-sync.flow"):
        shutil.copy(REPO / "samples" / name, samples / name)
    for source, target in [
        ("phone-sync.har", "incoming/p01/2024-03-02-phone.har"),
        ("phone-sync.flow", "incoming/p01/2024-03-09-phone.flow"),
        ("phone-sync.har", "incoming/p02/sync.har"),
    ]:
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(samples / source, tmp_path / target)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_examples_run_and_give_the_output_shown(scratch: Path):
    text = README.read_text()
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "100"}
    namespace: dict = {}
    rewritten, mismatches, last = [], [], 0
    for block in blocks(text):
        if not block.run:
            continue
        if block.language == "sh":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], env=env, capture_output=True)
            assert done.returncode == 0, f"README sh block failed:\n{block.body}\n{done.stderr.decode()}"
        elif block.language == "python":
            exec(compile(block.body, "README.md", "exec"), namespace)
        elif block.language in ("console", "pycon"):
            actual = _console(block.body, env) if block.language == "console" else _pycon(block.body, namespace)
            if _normal(actual) != _normal(block.body):
                mismatches.append(f"--- README\n{block.body}--- actual\n{actual}")
            rewritten += [text[last : block.start], actual]
            last = block.end
    if UPDATE:
        README.write_text("".join(rewritten) + text[last:])
    elif mismatches:
        pytest.fail("README examples differ from what they give (`make docs` rewrites them):\n" + "\n".join(mismatches))


def _console(body: str, env: dict) -> str:
    """Each `$` command (with its `\\` continuation lines) run in bash, followed by what it printed (stdout and
    stderr together)."""
    out = []
    commands = re.findall(r"^\$ (.*?(?:\\\n.*?)*)$", body, re.MULTILINE)
    for command in commands:
        done = subprocess.run(["bash", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out.append(f"$ {command}\n" + done.stdout.decode())
    return "".join(out)


def _pycon(body: str, namespace: dict) -> str:
    """Each `>>>` statement (with its `...` lines) run as the interactive interpreter would, followed by what it
    printed."""
    out = []
    for statement in re.findall(r"^>>> (.*(?:\n\.\.\. .*)*)", body, re.MULTILINE):
        source = re.sub(r"^\.\.\. ", "", statement, flags=re.MULTILINE)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source + "\n", "README.md", "single"), namespace)
        out.append(f">>> {statement}\n" + printed.getvalue())
    return "".join(out)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
