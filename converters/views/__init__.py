"""Derived views: tables worked out from the decoded tables of a run, by rules written in the data dictionary.

They are made anew from the de-duplicated tables every time a run's tables are combined, and written with them.
"""

from __future__ import annotations

from typing import Mapping

import polars as pl

from ..tables import TABLES


# The decoded tables the views read (whole, while the tables are written): the others may be handed to their writers
# range by range (`spill.Handoff`), never to be read whole.
SOURCES = frozenset({"band_events", "band_sequences", "band_minutes", "sense_nights", "sense_timeline_events",
                     "sense_night_metrics"})


def derive(tables: Mapping[str, pl.DataFrame | object]) -> dict[str, pl.DataFrame]:
    """The views that have rows, made from `tables` (name -> a DataFrame, or anything with `.lazy()`)."""
    from . import sleep_nights

    views = {"sleep_nights": sleep_nights.derive(_Sources(tables))}
    return {name: df for name, df in views.items() if df.height}


def frame(tables: Mapping[str, object], name: str) -> pl.LazyFrame:
    """A decoded table as a LazyFrame; an empty one of its schema when the run has no rows for it."""
    table = tables.get(name)
    return table.lazy() if table is not None else pl.LazyFrame(schema=TABLES[name].schema)


def of_event_splits(tables: Mapping[str, object], name: str) -> pl.LazyFrame:
    """A Band event's splits or GPS track (`name`: band_sequences or band_map_points) as its band_events row names
    them: the set of the split length its newest capture asked for (`split_length_m`: a run fetched in kilometres
    and in miles has a set of each). An event whose table holds no set of that length (an OUT an older databack
    wrote) keeps all its rows."""
    key = ["participant_id", "event_id"]
    chosen = frame(tables, "band_events").select(*key, pl.col("split_length_m").alias("_chosen"))
    match = pl.col("split_length_m").eq_missing(pl.col("_chosen"))
    return (frame(tables, name).join(chosen, on=key, how="left", nulls_equal=True, maintain_order="left")
            .filter(match | ~match.any().over(key)).drop("_chosen"))


class _Sources(dict):
    """The tables a view may read: `SOURCES` (another is a bug of the view's: it raises)."""

    def get(self, name: str, default: object = None) -> object:
        if name not in SOURCES:
            raise KeyError(f"views read only their SOURCES, not {name}")
        return super().get(name, default)
