"""The README's data dictionary is the one generated from the table definitions (`make docs` rewrites it)."""

from __future__ import annotations

import os
import re

from conftest import REPO

from converters.tables import data_dictionary

BLOCK = re.compile(r"(<!-- data-dictionary:start[^\n]*-->\n)(.*?)(<!-- data-dictionary:end -->)", re.DOTALL)


def test_readme_data_dictionary_matches_the_table_definitions():
    readme = REPO / "README.md"
    text = readme.read_text()
    generated = data_dictionary()
    if os.environ.get("UPDATE_README"):
        text = BLOCK.sub(lambda m: m.group(1) + "\n" + generated + "\n" + m.group(3), text)
        readme.write_text(text)
    assert BLOCK.search(text).group(2).strip() == generated.strip()
