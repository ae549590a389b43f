"""Derived views: tables worked out from the decoded tables of a run, by rules written in the data dictionary.

They are made anew from the de-duplicated tables every time a run's tables are combined, and written with them.
"""

from __future__ import annotations

from typing import Mapping

import polars as pl

from ..tables import TABLES


def derive(tables: Mapping[str, pl.DataFrame | object]) -> dict[str, pl.DataFrame]:
    """The views that have rows, made from `tables` (name -> a DataFrame, or anything with `.lazy()`)."""
    from . import sleep_nights

    views = {"sleep_nights": sleep_nights.derive(tables)}
    return {name: df for name, df in views.items() if df.height}


def frame(tables: Mapping[str, object], name: str) -> pl.LazyFrame:
    """A decoded table as a LazyFrame; an empty one of its schema when the run has no rows for it."""
    table = tables.get(name)
    return table.lazy() if table is not None else pl.LazyFrame(schema=TABLES[name].schema)
