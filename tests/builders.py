"""Small synthetic HAR captures for tests."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def entry(
    url: str,
    body: Any = None,
    *,
    method: str = "GET",
    status: int = 200,
    started: str = "2017-03-03T07:31:12.345-08:00",
    request_headers: dict[str, str] | None = None,
    response_headers: dict[str, str] | None = None,
    post: str | None = None,
) -> dict[str, Any]:
    """A HAR 1.2 entry; a non-string body is written as JSON."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    content: dict[str, Any] = {"size": len(text or ""), "mimeType": "application/json"}
    if text is not None:
        content["text"] = text
    request = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in (request_headers or {}).items()],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(post or ""),
    }
    if post is not None:
        request["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": post}
    return {
        "startedDateTime": started,
        "time": 120.5,
        "request": request,
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in (response_headers or {}).items()],
            "cookies": [],
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 1, "wait": 100, "receive": 19.5},
    }


def write_har(path: Path, entries: list[dict[str, Any]]) -> Path:
    log = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "pages": [], "entries": entries}}
    path.write_text(json.dumps(log, indent=1))
    return path


def band_event(event_id: str = "2519812557630091728", calories: int = 242) -> dict[str, Any]:
    return {
        "odata.metadata": "https://prodphswus.dns-cargo.com/v1/$metadata#Events",
        "value": [
            {
                "EventId": event_id,
                "EventType": "Running",
                "StartTime": "2015-01-12T06:43:56.9908271Z",
                "DayId": "2015-01-11T00:00:00Z",
                "Duration": 1830,
                "CaloriesBurned": calories,
                "TotalDistance": 236702,
                "Info": [{"TimeOfDay": "2015-01-12T07:13:00Z", "StepsTaken": 146, "TotalDistance": "11906"}],
            }
        ],
    }


BAND_EVENTS_URL = "https://prodphswus.dns-cargo.com/v1/Events(eventType=%27Running%27)?$expand=Sequences%2CInfo"


@contextmanager
def fed_pipe(path: Path, data: bytes) -> Iterator[Path]:
    """A named pipe at `path` whose writer has it open before the block starts, writing `data` into it (then
    closing it) as the block reads it. A reader opening it finds its writer there, however slowly a writer
    process or thread would have started (databack refuses a pipe nothing writes into); a reader that stops
    early ends the writer at the block's end."""
    os.mkfifo(path)
    holding = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so that the writer opens it at once
    end = os.open(path, os.O_WRONLY)

    def write() -> None:
        try:
            with os.fdopen(end, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield path
    finally:
        os.close(holding)  # never read from: the data waits in the pipe for the block's reader
        writer.join()
        path.unlink()
