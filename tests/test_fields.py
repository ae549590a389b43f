"""Every field of every real payload, JSON Schema and Swagger definition is a column or dropped with a reason.

The field maps (`Endpoint.fields`) say where each source field goes; these tests walk the reference material and
fail on any leaf path that is neither kept nor dropped, and check that what the maps name exists."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import orjson
import pytest

from converters import devices
from converters.devices import band_public
from converters.devices.base import Request
from converters.devices.fields import Dropped, leaf_paths, path_text, segments
from converters.tables import PROVENANCE, TABLES, data_dictionary
from converters.validation import schema

# Every real payload of the reference material -> the endpoint that reads it.
REFERENCE_PAYLOADS = {
    "band-private/run.json": "band/events",
    "band-private/workout.json": "band/events",
    "band-private/guidedworkout.json": "band/events",
    "band-public/activities.json": "band-public/activities",
    "band-public/one_activity.json": "band-public/activities",
    "band-public/summary_day.json": "band-public/summaries",
    "band-public/hourly_summary.json": "band-public/summaries",
    "band-public/devices.json": "band-public/devices",
    "band-public/wrong_request.json": "band-public/devices",  # an error answer: what every public endpoint drops
    "sense/timeline_v1_2014.json": "sense/timeline-v1",
    "sense/timeline_v1_with_statistics.json": "sense/timeline-v1",
    "sense/current_conditions.json": "sense/room-current",
    "sense/room_sensor_history.json": "sense/room-all-sensors",
    "sense/get_sensors_v2.json": "sense/sensors-current",
    "sense/post_sensors_v2_LAST_3H_5_MINUTE.json": "sense/sensors-history",
    "sense/all_trends.json": "sense/trends-v1",
    "sense/single_trend.json": "sense/trends-v1",
    "sense/insights.json": "sense/insights",
}
# The public API's Swagger definitions -> the endpoint whose answers they describe.
SWAGGER = {
    "ActivitiesResponse": "band-public/activities",
    "SummaryResponse": "band-public/summaries",
    "DeviceProfile": "band-public/devices",
    "ErrorResponse": "band-public/activities",
}


def data_endpoints() -> dict[str, devices.Endpoint]:
    return {e.name: e for e in devices.endpoints() if e.kind == "data"}


def unaccounted(endpoint: devices.Endpoint, paths) -> list[str]:
    return sorted({path_text(p) for p, container in paths if not endpoint.fields.accounts_for(p, container)})


def test_every_data_endpoint_has_a_field_map():
    assert [name for name, e in data_endpoints().items() if e.fields is None] == []


def test_every_reference_payload_is_listed(reference):
    found = {f"{p.parent.name}/{p.name}" for d in ("band-private", "band-public", "sense")
             for p in (reference / d).glob("*.json") if p.name != "swagger_cloudapi_v1.json"}
    assert found == set(REFERENCE_PAYLOADS)


@pytest.mark.parametrize("name", sorted(REFERENCE_PAYLOADS))
def test_every_leaf_of_every_real_payload_is_kept_or_dropped_with_a_reason(reference, name):
    endpoint = data_endpoints()[REFERENCE_PAYLOADS[name]]
    payload = orjson.loads((reference / name).read_bytes())
    assert unaccounted(endpoint, leaf_paths(payload)) == []


@pytest.mark.parametrize("endpoint", sorted(data_endpoints()))
def test_every_field_of_every_json_schema_is_kept_or_dropped_with_a_reason(endpoint):
    e = data_endpoints()[endpoint]
    assert unaccounted(e, schema_paths(schema(e.schema))) == []


@pytest.mark.parametrize("definition", sorted(SWAGGER))
def test_every_field_of_the_public_api_swagger_is_kept_or_dropped_with_a_reason(reference, definition):
    swagger = json.loads((reference / "band-public" / "swagger_cloudapi_v1.json").read_text())
    endpoint = data_endpoints()[SWAGGER[definition]]
    paths = swagger_paths(swagger, definition)
    if definition == "DeviceProfile":  # /v1/me/Devices answers {"deviceProfiles": [DeviceProfile…], "itemCount"}
        paths = [(("deviceProfiles", "[]", *p), c) for p, c in paths] + [(("itemCount",), False)]
    assert paths and unaccounted(endpoint, paths) == []


def test_every_column_a_field_map_names_exists_and_every_device_column_is_filled_or_derived():
    named = Counter()
    for e in data_endpoints().values():
        for path, columns in e.fields.kept():
            for column in columns:
                table, _, name = column.partition(".")
                assert table in TABLES and name in TABLES[table].column_names, (e.name, path, column)
                named[column] += 1
    provenance = {c.name for c in PROVENANCE}
    for t in TABLES.values():
        if t.derived or t.name == "rejects":
            continue
        for c in t.columns:
            if c.name not in provenance and f"{t.name}.{c.name}" not in named:
                assert c.name in DERIVED, f"{t.name}.{c.name} is filled from no source field"


# Columns worked out by databack rather than read from a field (each one's description says how).
DERIVED = {"api", "api_version", "resolution_s", "position", "section", "trend_set", "snapshot_day", "device_kind",
           "action", "alarm_set", "device_filter"}


def test_every_reason_to_drop_a_field_is_stated():
    for e in data_endpoints().values():
        for path, reason in e.fields.dropped():
            assert len(reason) > 20, (e.name, path, reason)


def test_the_data_dictionary_lists_every_field_not_kept():
    text = data_dictionary()
    for e in data_endpoints().values():
        for path, reason in e.fields.dropped():
            assert f"- `{path}`: {reason}" in text


def test_every_device_table_says_where_local_time_comes_from():
    assert [t.name for t in TABLES.values() if not t.derived and t.name != "rejects" and not t.local_time] == []


# --- walking JSON Schemas and Swagger definitions ----------------------------------------------------------------

def schema_paths(schema: dict) -> list[tuple[tuple[str, ...], bool]]:
    """Every leaf path a JSON Schema describes (objects' properties, arrays' items, maps' any key as `*`)."""
    out: list[tuple[tuple[str, ...], bool]] = []

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rpartition("/")[2]]
        return node

    def walk(node: dict, path: tuple[str, ...], seen: tuple[str, ...]) -> None:
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return
            walk(resolve(node), path, (*seen, ref))
            return
        branches = [b for k in ("then", "else") if isinstance(b := node.get(k), dict)]
        branches += [*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())]
        for branch in branches:
            walk(branch, path, seen)
        leaf = True
        for key, sub in (node.get("properties") or {}).items():
            walk(sub, (*path, key), seen)
            leaf = False
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, "*"), seen)
            leaf = False
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, "[]"), seen)
            leaf = False
        elif "array" in _types(node) and "items" not in node:
            out.append(((*path, "[]"), True))
            leaf = False
        if leaf and path and not branches and ("type" in node or not node):
            out.append((path, "object" in _types(node) or "array" in _types(node)))

    walk(schema, (), ())
    return out


def _types(node: dict) -> set[str]:
    t = node.get("type", ())
    return {t} if isinstance(t, str) else set(t)


def swagger_paths(swagger: dict, definition: str) -> list[tuple[tuple[str, ...], bool]]:
    out: list[tuple[tuple[str, ...], bool]] = []
    defs = swagger["definitions"]

    def walk(node: dict, path: tuple[str, ...], seen: tuple[str, ...]) -> None:
        if "$ref" in node:
            name = node["$ref"].rpartition("/")[2]
            if name not in seen:
                walk(defs[name], path, (*seen, name))
            return
        if node.get("type") == "array":
            walk(node.get("items") or {}, (*path, "[]"), seen)
        elif node.get("properties"):
            for key, sub in node["properties"].items():
                walk(sub, (*path, key), seen)
        elif path and not node.get("allOf"):
            out.append((path, False))

    walk(defs[definition], (), (definition,))
    return out


def test_the_schema_walker_sees_through_refs_branches_and_maps():
    schema = {"$defs": {"x": {"type": "object", "properties": {"a": {"type": "number"}}}},
              "oneOf": [{"type": "array", "items": {"$ref": "#/$defs/x"}},
                        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}]}
    assert sorted(p for p, _ in schema_paths(schema)) == [("*", "[]"), ("[]", "a")]


def test_paths_with_dots_in_keys_and_nested_arrays_round_trip():
    assert segments("odata.metadata") == ("odata.metadata",)
    assert segments("value[]/Sequences[]/Order") == ("value", "[]", "Sequences", "[]", "Order")
    assert segments("[]/options[]") == ("[]", "options", "[]")
    for text in ("value[]/odata.type", "[]/segments[]/sensors[]/name", "*[]/datetime"):
        assert path_text(segments(text)) == text


def test_a_field_map_accounts_for_null_containers_dropped_subtrees_aliases_and_any_key():
    fields = band_public.ACTIVITY_FIELDS
    assert fields.accounts_for(("runActivities", "[]", "mapPoints", "[]", "location"), container=True)
    assert not fields.accounts_for(("runActivities", "[]", "mapPoints", "[]", "location"), container=False)
    assert fields.accounts_for(("error", "details", "[]", "target"))  # below a dropped path
    assert fields.accounts_for(("activityType",))  # a bare activity: the fields of a collection's item
    assert fields.accounts_for(("RUNACTIVITIES", "[]", "ID"))  # keys match whatever their case
    assert not fields.accounts_for(("runActivities", "[]", "noSuchField"))
    assert isinstance(fields.target(("userId",)), Dropped)


# --- fields of captured payloads that no field map knows -----------------------------------------------------------

def _ends_only(value):
    """The payload with each array cut to its first and last item: what `unknown_in_sample` looks at."""
    if isinstance(value, dict):
        return {k: _ends_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ends_only(v) for v in (value if len(value) <= 2 else [value[0], value[-1]])]
    return value


def _objects(value, path=()):
    """(path, object) of every object of a payload, itself included."""
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from _objects(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v, (*path, "[]"))


@pytest.mark.parametrize("name", sorted(REFERENCE_PAYLOADS))
def test_the_sampled_check_finds_what_walking_every_value_finds_in_the_items_it_looks_at(reference, name):
    endpoint = data_endpoints()[REFERENCE_PAYLOADS[name]]
    payload = _ends_only(orjson.loads((reference / name).read_bytes()))
    assert endpoint.fields.unknown_in_sample(payload) == []
    for n, (path, obj) in enumerate(_objects(payload)):  # a new field in each object in turn, holding each kind
        value = [1, None, {"x": 1}, [], "text", {}][n % 6]
        obj["brandNewField"] = value
        expected = devices.unknown_fields(payload, endpoint.fields, at_most=100)
        found = [path_text(p) for p in endpoint.fields.unknown_in_sample(payload, at_most=100)]
        del obj["brandNewField"]
        assert found == expected, (path, value)
        assert found or path, "a new field beside the payload's own fields is always unknown"


def test_the_sampled_check_sees_a_field_the_last_item_of_a_long_array_holds_and_stops_at_a_few(reference):
    endpoint = data_endpoints()["band/events"]
    event = orjson.loads((reference / "band-private/run.json").read_bytes())["value"][0]
    event["Info"] = [dict(event["Info"][0]) for _ in range(500)]
    event["Info"][-1]["Oxygen"] = 97
    found = endpoint.fields.unknown_in_sample({"value": [event]})
    assert [path_text(p) for p in found] == ["value[]/Info[]/Oxygen"]
    many = {"value": [{**event, **{f"new{i}": i for i in range(100)}}]}
    assert len(endpoint.fields.unknown_in_sample(many)) == 5


def test_the_sampled_check_reads_aliases_and_passes_over_what_is_dropped():
    public = data_endpoints()["band-public/activities"]
    golf = {"golfActivities": [{"id": "1", "childActivities": [{"id": "2", "caloriesBurnedSummary": {"new": 1}}]}]}
    assert [path_text(p) for p in public.fields.unknown_in_sample(golf)] == [
        "golfActivities[]/childActivities[]/caloriesBurnedSummary/new"]
    assert public.fields.unknown_in_sample({"golfActivities": [{"id": "1", "childActivities": [{"id": "2"}]}]}) == []
    sense = data_endpoints()["sense/devices"]
    assert sense.fields.unknown_in_sample({"senses": [{"id": "A", "wifi_info": {"ssid": {"anything": [1]}}}]}) == []


def test_the_sampled_check_names_a_field_nested_a_thousand_levels_deep_at_a_depth_it_can_reach():
    deep: object = 1
    for _ in range(1000):
        deep = {"a": deep}
    found = data_endpoints()["band/events"].fields.unknown_in_sample({"value": [{"EventId": "1", "new": deep}]})
    assert [len(p) for p in found] == [64] and found[0][:4] == ("value", "[]", "new", "a")


def test_a_field_only_items_in_the_middle_of_a_long_array_hold_is_reported_unknown(reference):
    """Before: the check looked at the first and last item of each array only, so a field that only some minutes in
    between carried (a reading the Band took now and then), unknown to the field map, was in no table and counted
    nowhere: the response's unknown_fields were empty. Now the first item in between holding each key the ends do
    not, that the map does not know as a field, is looked at too; a known field some middle items hold costs no
    look, and an unknown one below it (a middle minute's Location with a new key) is seen."""
    endpoint = data_endpoints()["band/events"]
    event = orjson.loads((reference / "band-private/run.json").read_bytes())["value"][0]
    event["Info"] = [dict(event["Info"][0]) for _ in range(500)]
    event["Info"][250]["Middle"] = 1
    event["Info"][300]["Middle"] = 2
    event["Info"][400]["Altitude"] = {"Meters": 3}
    found = endpoint.fields.unknown_in_sample({"value": [event]}, at_most=100)
    assert [path_text(p) for p in found] == ["value[]/Info[]/Middle", "value[]/Info[]/Altitude/Meters"]
    assert devices.decode_payload({"value": [event]}, endpoint, Request({}, {}, None, None)).unknown == tuple(found)


def test_a_field_only_the_middle_items_nested_objects_hold_is_reported_unknown(reference):
    """Before: a key below one every item holds (each GPS point's Location, each sequence's HeartRateZones) that
    only items in between held was not seen: the points' Location with a new key, in no table, counted nowhere.
    Now the objects the items nest are looked at as the items are, at any depth; a middle item's own new key too."""
    endpoint = data_endpoints()["band/events"]
    event = orjson.loads((reference / "band-private/run.json").read_bytes())["value"][0]
    point = {"MapPointOrdinal": 0, "Location": {"Latitude": 1, "Longitude": 2, "Fix": {"Satellites": 7}}}
    event["MapPoints"] = [copy.deepcopy(point) | {"MapPointOrdinal": n} for n in range(300)]
    event["MapPoints"][120]["Location"]["Accuracy"] = 3
    event["MapPoints"][150]["Location"]["Fix"]["Dop"] = 1.2  # (below a field already named unknown at the ends)
    event["MapPoints"][200]["Location"]["Latitude"] = 5  # (a field the map knows: nothing to say)
    zones = [s["HeartRateZones"] for s in event["Sequences"]]
    event["Sequences"] = [copy.deepcopy(event["Sequences"][0]) for _ in range(5)]
    event["Sequences"][2]["HeartRateZones"] = dict(zones[0] or {}, Peak=9)
    found = [path_text(p) for p in endpoint.fields.unknown_in_sample({"value": [event]}, at_most=100)]
    assert sorted(found) == ["value[]/MapPoints[]/Location/Accuracy", "value[]/MapPoints[]/Location/Fix/Satellites",
                             "value[]/Sequences[]/HeartRateZones/Peak"]
