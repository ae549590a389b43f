"""Validating Open mHealth / IEEE 1752.1 data points offline with jsonschema-rs, against the official schemas in
../shared/reference/omh (see its README: how $ids map to the files; omh *.x.json pointers are symlinks, or files
naming their target)."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

BASE = {"omh": "https://w3id.org/openmhealth/schemas/omh/", "ieee": "https://w3id.org/ieee/ieee-1752-schema/"}


def _no_download(uri: str) -> Any:
    raise ValueError(f"{uri} is not in the offline schema folder: nothing is downloaded")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class OmhSchemas:
    """Every schema of the folder in one registry, each under the URI it is referenced by (and its own $id)."""

    def __init__(self, folder: Path) -> None:
        resources = []
        for namespace, base in BASE.items():
            for path in sorted((folder / namespace).rglob("*.json")):
                text = path.read_text(encoding="utf-8")
                if not text.lstrip().startswith("{"):  # a *.x.json symlink checked out as a file naming its target
                    text = (path.parent / text.strip()).read_text(encoding="utf-8")
                schema = json.loads(text)
                resources.append((base + path.name, schema))
                if schema.get("$id", base + path.name) != base + path.name:
                    resources.append((schema["$id"], schema))
        self.count = len(resources)
        self._registry = jsonschema_rs.Registry(resources, retriever=_no_download)

    @cache
    def validator(self, namespace: str, name: str, version: str):
        uri = f"{BASE[namespace]}{name}-{version}.json"
        return jsonschema_rs.validator_for(
            {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": uri},
            registry=self._registry, retriever=_no_download, validate_formats=True, formats={"uuid": _is_uuid},
        )

    def errors(self, data_point: dict[str, Any]) -> list[str]:
        """The envelope's errors against omh data-point 1.0, then the body's against the schema its header names."""
        errors = [f"envelope: {e.message}" for e in self.validator("omh", "data-point", "1.0").iter_errors(data_point)]
        if errors:
            return errors
        sid = data_point["header"]["schema_id"]
        body = self.validator(sid["namespace"], sid["name"], sid["version"]).iter_errors(data_point["body"])
        return [f"body at /{'/'.join(map(str, e.instance_path))}: {e.message}" for e in body]
