"""What the tests of OUT's store share: OUT's state as a reader sees it, whether its files agree with each other,
and faults injected at the store's steps (`converters.store.STEPS`) through its audit events."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import polars as pl


def state(out: Path) -> dict[str, object]:
    """Every file below `out`, hidden ones included, by path: its bytes, or for `report.json` its content without
    the time it was written (and its files in name order: an incremental run lists them in another order)."""
    files: dict[str, object] = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            rel = str(p.relative_to(out))
            if rel == "report.json":
                report = json.loads(p.read_bytes())
                report.pop("generated_at")
                report["files"].sort(key=lambda f: f["file"])
                files[rel] = report
            else:
                files[rel] = p.read_bytes()
    return files


def describe(s: dict[str, object]) -> list[str]:
    """A state's files, for an assertion message."""
    return sorted(s)


def assert_consistent(out: Path) -> None:
    """What a reader opening OUT's files directly finds agrees: every table report.json lists is there with its
    rows, and no other (beside copies.parquet); datapackage.json describes the same tables (and copies.parquet), with
    their rows, and the hashes and sizes of the files it names."""
    report = json.loads((out / "report.json").read_bytes())
    package = json.loads((out / "datapackage.json").read_bytes())
    listed = {name: t["file"] for name, t in report["tables"].items() if t["file"]}
    tables = {p.name for p in out.iterdir() if not p.name.startswith(".") and p.suffix not in (".json", ".html")}
    assert "copies.parquet" in tables, "no copies noted for later runs"
    tables.remove("copies.parquet")
    assert tables == set(listed.values()), "report.json lists other tables than OUT holds"
    resources = {r["name"]: r for r in package["resources"]}
    copies = resources.pop("copies")
    assert copies["path"] == "copies.parquet", "datapackage.json does not describe copies.parquet"
    assert copies["hash"] == "sha256:" + hashlib.sha256((out / "copies.parquet").read_bytes()).hexdigest()
    assert copies["stats"]["rows"] == pl.scan_parquet(out / "copies.parquet").select(pl.len()).collect().item()
    assert resources.keys() == listed.keys(), "datapackage.json describes other tables than report.json"
    for name, file in listed.items():
        path, resource = out / file, resources[name]
        if path.is_dir():
            rows = pl.scan_parquet(path / "**" / "*.parquet", hive_partitioning=True).select(pl.len()).collect().item()
        elif path.suffix == ".csv":
            rows = pl.read_csv(path, infer_schema=False).height
        else:
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        assert rows == report["tables"][name]["rows"] == resource["stats"]["rows"], name
        if path.suffix == ".csv":  # frictionless counts the bytes of a CSV only (pyarrow reads Parquet)
            assert resource["bytes"] == path.stat().st_size, name
        if not path.is_dir():
            assert resource["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(), name


ERRNO = {"ENOSPC": errno.ENOSPC, "EIO": errno.EIO}


class Faults:
    """Faults at the store's steps: (step, occurrence, action), the step "name" or "name=entry", the action "kill" (SIGKILL to this process),
    "interrupt" (SIGINT to it), "short-write" (the next `os.write` of this process, after the step, writes half its bytes and says so, as on a
    file system with room for part alone), "ENOSPC" or "EIO" (raised as the OSError the step would have failed with, at that occurrence and
    every later one, unless `once`). Armed through a process-wide audit hook (hooks cannot be removed): `arm`, then `disarm`."""

    def __init__(self) -> None:
        self.armed: list[dict] = []
        self.steps: list[tuple[str, str]] | None = None  # (step, detail) as they come, while armed
        sys.addaudithook(self._hook)

    def arm(self, *faults: tuple[str, int, str] | tuple[str, int, str, bool]) -> None:
        self.armed = [{"step": f[0], "at": f[1], "action": f[2], "once": f[3] if len(f) > 3 else False, "seen": 0}
                      for f in faults]
        self.steps = []

    def disarm(self) -> list[int]:
        """How many times each fault's step was reached."""
        seen = [f["seen"] for f in self.armed]
        self.armed, self.steps = [], None
        return seen

    def _hook(self, event: str, args: tuple) -> None:
        if event != "databack.store" or self.steps is None:
            return
        self.steps.append(args)
        for f in self.armed:
            step, _, detail = f["step"].partition("=")  # "apply=report.json": that step for that entry only
            if step != args[0] or (detail and detail != args[1]):
                continue
            f["seen"] += 1
            if f["seen"] == f["at"] or (f["seen"] > f["at"] and not f["once"]):
                if f["action"] == "kill":
                    sys.stdout.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                if f["action"] == "interrupt":  # Ctrl-C, as a terminal sends it
                    os.kill(os.getpid(), signal.SIGINT)
                    return
                if f["action"] == "short-write":
                    _write_short_once()
                    return
                code = ERRNO[f["action"]]
                raise OSError(code, os.strerror(code))


def _write_short_once() -> None:
    """The next `os.write` writes half its bytes (at least one) and returns how many, as a write may."""
    write = os.write

    def short(fd: int, data) -> int:
        os.write = write
        data = bytes(data)
        return write(fd, data[: max(1, len(data) // 2)])

    os.write = short


FAULT_CHILD = Path(__file__).with_name("fault_child.py")


def child_command(faults: list[tuple], *databack_args: object) -> list[str]:
    """A command line running databack in a process of its own, with `faults` armed."""
    return [sys.executable, str(FAULT_CHILD), json.dumps(faults), *map(str, databack_args)]
