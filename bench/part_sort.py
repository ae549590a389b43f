"""What putting each part in key order costs (`spill.Part.of`): the frames that reach it during a `convert --jobs 1`
of the captures given, each made a part by `Part.of` and by polars' sort of the whole key (the part gathered from
the sort's order a row group at a time, as before `spill.sort_order`), alternating, CPU time best of `--repeat`.

    .venv/bin/python bench/part_sort.py bench/data/har-200mb-seed0-full-v2.har
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import polars as pl

from converters import spill
from converters.cli import app


def frames(captures: list[str], out: Path) -> list[tuple[pl.DataFrame, tuple[str, ...], bool]]:
    """Each frame `Part.of` was given while converting `captures`, its key, and whether it went to disk."""
    seen, of = [], spill.Part.of.__func__

    def noted(cls, df, key, folder=None):
        seen.append((df, tuple(key), folder is not None))
        return of(cls, df, key, folder)

    spill.Part.of = classmethod(noted)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            app(["convert", *captures, "-o", str(out), "--jobs", "1"], standalone_mode=False)
    finally:
        spill.Part.of = classmethod(of)
    return seen


def sorted_part(df: pl.DataFrame, key: tuple[str, ...], folder: Path | None) -> spill.Part:
    """The part as polars' sort of the whole key makes it."""
    order = spill._arg_sort(df, key)
    sample = df.select(key)[order.gather_every(spill.SAMPLE_EVERY)]
    sample = sample.select(pl.int_range(0, df.height, spill.SAMPLE_EVERY, dtype=pl.get_index_type())
                           .alias(spill.POSITION), *key)
    source = df[order] if folder is None else spill._write_in_order(df, order, folder)
    return spill.Part(source, df.height, key, sample)


def best(makes: list, repeat: int) -> list[float]:
    """Each maker's CPU time, best of `repeat`, the makers taking turns."""
    times = [float("inf")] * len(makes)
    for _ in range(repeat):
        for i, make in enumerate(makes):
            start = time.process_time()
            make()
            times[i] = min(times[i], time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        seen = frames(args.captures, Path(work) / "out")
        folder = Path(work)
        totals = {"sort": 0.0, "Part.of": 0.0}
        print("| rows | key | on disk | sort ms | Part.of ms |\n| --- | --- | --- | --- | --- |")
        for df, key, on_disk in seen:
            where = folder if on_disk else None
            assert sorted_part(df, key, where).read().equals(spill.Part.of(df, key, where).read())
            sort, new = best([lambda: sorted_part(df, key, where), lambda: spill.Part.of(df, key, where)], args.repeat)
            totals["sort"] += sort
            totals["Part.of"] += new
            print(f"| {df.height:,} | {', '.join(key)} | {on_disk} | {sort * 1000:.1f} | {new * 1000:.1f} |")
        print(f"| {sum(df.height for df, _, _ in seen):,} | {len(seen)} parts | | {totals['sort'] * 1000:.0f} | "
              f"{totals['Part.of'] * 1000:.0f} |")


if __name__ == "__main__":
    main()
