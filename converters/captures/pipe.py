"""Read a capture in a separate process: the child parses, the caller decodes what it hands over, on two cores.

`read_capture_beside` yields what `read_capture` yields, except that exchanges of hosts that are neither a device's
nor chosen for generic export, which the caller would only count, come as `NotDevice` counts, and that device
responses come `Decoded` while the caller is behind (`BEHIND_BYTES` wait for it, in the pipe or queued): the child
parses in half the time the caller takes to decode, and so takes over part of the decoding; but not the responses
whose long arrays the caller converts by columns, many at once (`Endpoint.by_columns`: value by value, with their
rows pickled, they cost both processes more); those it hands over, it checks as JSON within the limits
(`Exchange.json_checked`), which the caller's decoder then need not do. The child
(`python -m converters.captures.pipe`) imports only the readers and the host patterns (the decoders once it has
one to decode), and pickles the items to its standard output in batches, from a queue of at most `QUEUE_BATCHES`:
it parses on while the caller decodes, but never more than that far ahead. Once every item is sent, it says so
(`PARSED`), then takes the file's SHA-256 and sends it last: the hash no longer takes a core from the parse and the
decoding, and is taken while the caller makes the file's last frames. `read_ahead` starts the child of a run's one
capture before the caller has even loaded polars (a fork of the caller, where it can be one: `_Forked`).
"""

from __future__ import annotations

import array
import io
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator, NoReturn

try:
    import fcntl
    import termios
except ImportError:  # Windows: pipes keep their default size, and the caller decodes every device response
    fcntl = termios = None  # type: ignore[assignment]

from .. import collector, limits
from ..digest import sha256_or_none
from ..hosts import BodyWanted, is_device_host
from . import Exchange, Format, Item, detect_format, no_response_reason, read_capture
from .sniff import json_encoding

if TYPE_CHECKING:
    from .. import devices

BATCH_ITEMS = 256
BATCH_BODY_BYTES = 256 << 10  # well below the pipe's size: the child goes on parsing while a batch is decoded
PIPE_BYTES = 1 << 20
QUEUE_BATCHES = 128  # pickled batches waiting for the pipe: at most about 32 MB
BEHIND_BYTES = PIPE_BYTES // 2  # not yet read by the caller: it is behind, and the child decodes device responses


class ReaderCrashed(Exception):
    """The reading process failed; the message holds its traceback."""


@dataclass(frozen=True, slots=True)
class NotDevice:
    """Exchanges of hosts databack does not look into, in a row of the capture: host -> count."""

    hosts: Counter[str]
    no_response: Counter[str] = field(default_factory=Counter)  # of them, those without a response: reason -> count


@dataclass(frozen=True, slots=True)
class Decoded:
    """A device response the reading process decoded: what `devices.decode` gave, and the exchange: a
    rejected one with its bodies; one decoded into rows with what a reject keeps of the body it read and no other
    (should its rows fit no column, the caller rejects it after all, with that body)."""

    exchange: Exchange
    decoding: devices.Decoding


class _Parsed:
    """Every item of the capture is sent; its `Digest` follows."""

    def __repr__(self) -> str:
        return "PARSED"

    def __reduce__(self) -> str:
        return "PARSED"  # unpickled as the one instance


PARSED = _Parsed()


@dataclass(frozen=True, slots=True)
class Digest:
    """The SHA-256 of the capture, sent after its items."""

    sha256: str | None  # None: the file could not be read for it


_ahead: tuple[subprocess.Popen | _Forked, bytes] | None = None  # a reading process started early, and its request
# In the reading process: decode value by value (importing polars would cost it a third of a second, and its frames
# would have to be pickled); the caller decodes by columns what it takes itself.
_by_value = False


def read_ahead(
    paths: list[Path], jobs: int, generic_globs: tuple[str, ...], budget: limits.Limits = limits.DEFAULT
) -> None:
    """When the run will read its one capture file beside (two cores or more), start reading it now, while this
    process loads polars: `read_capture_beside` takes up what was read if it asks for the same (`budget` too)."""
    global _ahead
    if _ahead is None and jobs >= 2 and len(paths) == 1 and paths[0].is_file():
        with suppress(OSError), limits.applied(budget):
            if (fmt := detect_format(paths[0])) in ("har", "flow"):
                request = _request(paths[0], fmt, str(paths[0]), generic_globs)
                _ahead = (_Forked(request) if _forks() else _start(request)), request


def read_capture_beside(
    path: Path,
    fmt: Format,
    display_name: str,
    generic_globs: tuple[str, ...],
    on_digest: Callable[[str | None], None] | None = None,
    pause: bool = False,
) -> Iterator[Item | NotDevice | _Parsed]:
    """The items of one capture, read with `BodyWanted(generic_globs)` by a child process, except that exchanges of
    hosts not wanted come as `NotDevice` counts (in order with the other items). `on_digest` gets the file's SHA-256,
    which the child takes once it has sent every item. With `pause`, `PARSED` comes after the items: the caller can
    make its frames while the child hashes, then iterate on for the hash."""
    global _ahead
    request = _request(path, fmt, display_name, generic_globs)
    if _ahead is not None and _ahead[1] == request:
        child = _ahead[0]
    else:
        if _ahead is not None:
            _ahead[0].kill()  # read ahead for something else
        child = _start(request)
    _ahead = None
    with child:
        assert child.stdout is not None
        try:
            yield from _received(child.stdout, on_digest, pause)
        finally:
            child.kill()  # the caller stopped early or failed: the child has nothing more to do


def _request(path: Path, fmt: Format, display_name: str, generic_globs: tuple[str, ...]) -> bytes:
    """What the child is asked to read, and within which limits (the `current` ones)."""
    named = str(path) if isinstance(path, Path) else path
    return pickle.dumps((named, fmt, display_name, generic_globs, limits.current()))


def _start(request: bytes) -> subprocess.Popen:
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    child = subprocess.Popen(  # a session of its own: Ctrl-C stops the converting process, which kills it
        [sys.executable, "-P", "-m", "converters.captures.pipe"],  # -P: never this package from a folder named so in
        # the working directory (which `-m` puts first), but the caller's (PYTHONPATH)
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert child.stdin is not None and child.stdout is not None
    _widen(child.stdout.fileno())
    try:
        child.stdin.write(request)
        child.stdin.close()
    except BrokenPipeError:  # it ended before it read the request (it could not start): reading it says it crashed
        with suppress(BrokenPipeError):
            child.stdin.close()
    return child


def _widen(pipe: int) -> None:
    """A pipe of `PIPE_BYTES` (1 MB) rather than 64 kB: fewer waits on either side (Linux only)."""
    if fcntl is not None:
        with suppress(OSError):
            fcntl.fcntl(pipe, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)


def _forks() -> bool:
    """Whether the reading process can be forked from this one: on Linux (macOS's system libraries are not safe to
    fork), while this process has no thread but its own (polars, once loaded, runs threads of its own, which a fork
    would copy half-way)."""
    return sys.platform.startswith("linux") and "polars" not in sys.modules and threading.active_count() == 1


class _Forked:
    """A reading process forked from this one rather than started anew: it reads at once, where a new interpreter
    takes some 0.08 s of CPU to start and import the readers. What is used of a `subprocess.Popen`."""

    def __init__(self, request: bytes) -> None:
        read_end, write_end = os.pipe()
        _widen(read_end)
        self.pid = os.fork()
        if self.pid == 0:  # the reading process: serves the request, and never returns into this one's code
            _serve_forked(request, read_end, write_end)
        os.close(write_end)
        self.stdout = open(read_end, "rb")
        self.returncode: int | None = None

    def kill(self) -> None:
        if self.returncode is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def __enter__(self) -> _Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stdout.close()
        self.wait()


def _serve_forked(request: bytes, read_end: int, write_end: int) -> NoReturn:
    """The forked reading process: as `python -m converters.captures.pipe` is (a session of its own, Ctrl-C as
    Python has it), and it leaves without the interpreter's teardown, which is the converting process's. What `_serve`
    does not send (a bug outside its reading) ends it silently: the caller says the reading process crashed."""
    global _by_value
    code = 1
    try:
        os.close(read_end)
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _by_value = True
        out = open(write_end, "wb")
        _serve(io.BytesIO(request), out)
        with suppress(BrokenPipeError):  # the caller went away: nothing is left to say
            out.close()
        code = 0
    finally:
        os._exit(code)


def _received(
    stream: BinaryIO, on_digest: Callable[[str | None], None] | None = None, pause: bool = False
) -> Iterator[Item | NotDevice | _Parsed]:
    while True:
        try:
            batch = pickle.load(stream)
        except EOFError:
            raise ReaderCrashed("the reading process ended without finishing") from None
        if batch is None:
            return
        if batch is PARSED:
            if pause:
                yield batch
            continue
        if isinstance(batch, Digest):
            if on_digest:
                on_digest(batch.sha256)
            continue
        if isinstance(batch, OSError):
            raise batch
        if isinstance(batch, str):
            raise ReaderCrashed(batch)
        yield from batch


class _ReaderGone(Exception):
    """The converting process stopped reading (it went away, or did not take up a capture read ahead)."""


def _serve(requests: BinaryIO, out: BinaryIO) -> None:
    """The child's side: read the capture named on stdin, write pickled batches of items, the file's `Digest`, then
    None (or the OSError that stopped the reading, or the traceback of a bug). A thread writes the batches, so that
    the parse goes on, up to `QUEUE_BATCHES` ahead, while the pipe is full (a capture read ahead gets ahead)."""
    path, fmt, display_name, generic_globs, budget = pickle.load(requests)
    path = Path(path) if isinstance(path, str) else path  # a file, or a member of an archive
    with limits.applied(budget), collector.converting():
        _serve_read(path, fmt, display_name, generic_globs, out)


def _serve_read(path: Path, fmt: Format, display_name: str, generic_globs: tuple[str, ...], out: BinaryIO) -> None:
    queue: Queue[bytes | None] = Queue(QUEUE_BATCHES)
    gone = threading.Event()
    queued = _Backlog()
    writer = threading.Thread(target=_write_all, args=(queue, out, gone, queued))
    writer.start()

    def send(message: object) -> None:
        if gone.is_set():
            raise _ReaderGone
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        queued.add(len(data))
        queue.put(data)

    batch: list[Item | NotDevice] = []
    body_bytes = 0
    not_device: Counter[str] = Counter()
    no_response: Counter[str] = Counter()  # of `not_device`
    wanted = BodyWanted(generic_globs)
    in_pipe = _unread_counter(out)
    try:
        for item in read_capture(path, fmt, display_name=display_name, wants_body=wanted):
            exchange = isinstance(item, Exchange)
            if exchange and not wanted(item.host) and not (item.damaged or item.left_out):  # counted as it is
                not_device[item.host] += 1
                if item.status is None:
                    no_response[no_response_reason(item.error)] += 1
                if len(not_device) < BATCH_ITEMS:
                    continue
                batch.append(NotDevice(not_device, no_response))  # counts of that many hosts go as they are
                not_device, no_response = Counter(), Counter()
            else:
                if not_device:
                    batch.append(NotDevice(not_device, no_response))
                    not_device, no_response = Counter(), Counter()
                body_bytes += len(getattr(item, "body", None) or b"")  # for decoded ones, about the size of the rows
                device = exchange and is_device_host(item.host)
                if device and _caller_behind(in_pipe, queued):
                    item = _decoded(item)
                if device and isinstance(item, Exchange):  # for the caller to decode
                    _check_json(item)
                batch.append(item)
            if len(batch) >= BATCH_ITEMS or body_bytes >= BATCH_BODY_BYTES:
                send(batch)
                batch, body_bytes = [], 0
        send(batch + [NotDevice(not_device, no_response)] if not_device else batch)
        send(PARSED)
        send(Digest(sha256_or_none(path)))  # (while the caller makes its last frames)
        send(None)
    except _ReaderGone:
        pass
    except OSError as error:  # the file could not be read: the caller reports it as it would its own
        with suppress(_ReaderGone):
            send(error)
    except Exception:
        with suppress(_ReaderGone):
            send(traceback.format_exc())
    finally:
        queue.put(None)
        writer.join()


def _not_a_pipe() -> int:
    return 0


def _unread_counter(out: BinaryIO) -> Callable[[], int]:
    """A function giving the bytes written to the pipe `out` that its reader has not read yet; 0 where that cannot
    be asked (not a pipe, or not Linux or a BSD)."""
    count = array.array("i", [0])
    try:
        fd = out.fileno()
        fcntl.ioctl(fd, termios.FIONREAD, count)  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return _not_a_pipe

    def unread() -> int:
        fcntl.ioctl(fd, termios.FIONREAD, count)  # type: ignore[union-attr]
        return count[0]

    return unread


def _check_json(ex: Exchange) -> None:
    """Check a device response's body as JSON text within the limits here, beside the caller's decoding: where it is,
    the caller's decoder parses it without checking it again (`Exchange.json_checked`)."""
    if ex.body and json_encoding(ex.body) is None:
        try:
            limits.check_json(ex.body)
        except limits.LimitHit:
            return  # the caller meets it again, and rejects the response
        ex.json_checked = True


def _decoded(ex: Exchange) -> Exchange | Decoded:
    """A device response decoded here, or the exchange as it is if it is not one to decode (or decoding it meets a
    bug: the caller meets it again, and reports it as it would)."""
    from .. import devices  # once the caller is behind: the decoders' import takes a tenth of a second

    if _by_value:
        devices.columns.by_columns = False
    if ex.damaged:  # rejected by the caller, with its body
        return ex
    m = devices.match(ex.host, ex.method, ex.path)
    if m is None or not devices.decodes(ex, m) or m.endpoint.by_columns:  # (the caller's by columns, with others')
        return ex
    try:
        decoding = devices.decode(ex, m)
    except Exception:
        return ex
    if decoding.problem:
        return Decoded(ex, decoding)
    reads = m.endpoint.reads
    body = devices.read_body(ex, reads)  # one byte past what a reject keeps: the reject then says it is cut
    kept = body[: limits.REJECT_BODY + 1] if body is not None else None
    return Decoded(replace(ex, body=kept if reads == "response" else None,
                           request_body=kept if reads == "request" else None), decoding)


class _Backlog:
    """Bytes of pickled batches put on the queue and not yet written to the pipe."""

    def __init__(self) -> None:
        self.bytes = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.bytes += count


def _caller_behind(in_pipe: Callable[[], int], queued: _Backlog) -> bool:
    """Whether the caller has `BEHIND_BYTES` or more still to read: in the pipe, and (where the pipe can be asked)
    waiting on the queue for it. The queue counts too: under load the writing thread may not have run yet, and
    the parse is then ahead though the pipe looks empty."""
    unread = in_pipe()
    return unread >= BEHIND_BYTES or (in_pipe is not _not_a_pipe and unread + queued.bytes >= BEHIND_BYTES)


def _write_all(queue: Queue[bytes | None], out: BinaryIO, gone: threading.Event, queued: _Backlog) -> None:
    while (data := queue.get()) is not None:
        if not gone.is_set():
            try:
                out.write(data)
            except BrokenPipeError:
                gone.set()  # and the rest is taken off the queue unwritten, so that the parse is never held up
        queued.add(-len(data))
    if not gone.is_set():
        with suppress(BrokenPipeError):
            out.flush()


if __name__ == "__main__":
    from converters.captures import pipe  # run as itself, not as __main__: `NotDevice` must unpickle as pipe.NotDevice

    pipe._by_value = True

    pipe._serve(sys.stdin.buffer, sys.stdout.buffer)
