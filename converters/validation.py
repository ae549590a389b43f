"""JSON Schema checks of device payloads, with the schemas shipped in `schemas/` (Draft 2020-12)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from . import redaction

MAX_MESSAGE = 300  # characters of a validation message kept in the rejects table


def schema_dir() -> Path:
    """`converters/schemas` in an installed wheel, else the repository's `schemas/` (editable install)."""
    packaged = Path(str(files("converters"))) / "schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "schemas"


@cache
def schema(schema_name: str) -> dict[str, Any]:
    return orjson.loads((schema_dir() / schema_name).read_bytes())


@cache
def validator(schema_name: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(schema(schema_name))


def schema_problem(schema_name: str, payload: Any) -> str | None:
    """None when the payload fits the schema, else the first violation as one line: `at /path: message`, the value
    at fault named by its type alone (`a string is not one of …`)."""
    v = validator(schema_name)
    try:
        if v.is_valid(payload):  # (some 10 % faster than `validate` on what fits)
            return None
        v.validate(payload)  # the first violation alone: `iter_errors` finds them all before it yields the first
        return None  # (a million nulls where objects belong: seconds and gigabytes)
    except jsonschema_rs.ValidationError as violation:
        error = violation
    except ValueError:  # jsonschema-rs stops at about 260 levels of nesting, orjson parses up to 1024
        return "nested too deeply to check against the schema"
    where = redaction.json_pointer(error.instance_path)
    message = f"at {where}: {redaction.schema_violation(error.message, error.instance)}"  # no payload value quoted
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
