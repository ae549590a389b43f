"""Sense questions (asked, answered in the request body, skipped in the query) and alarms (state snapshots)."""

from __future__ import annotations

import copy
import json
from datetime import date

import polars as pl
import pytest
from builders import entry, write_har
from typer.testing import CliRunner

from converters import devices
from converters.cli import app
from converters.pipeline import Input, convert
from converters.devices import sense
from converters.devices.base import Request
from converters.tables import TABLES
from converters.validation import schema_problem

SENSE = "https://api.hello.is"

# The shape of hello/suripu-android app/src/test/assets/questions.json (ids, types and the quirks kept: the first
# question has no account_question_id nor ask date, the second one's choices name another question_id), texts
# rewritten.
QUESTIONS = [
    {"choices": [{"id": 123456789, "question_id": 123, "text": "HOT"},
                 {"id": 987654321, "question_id": 123, "text": "COLD"}],
     "id": 123, "text": "Do you sleep better when it is hot or cold?", "type": "CHOICE"},
    {"account_question_id": 800, "ask_local_date": 1418342400000, "ask_time": "MORNING",
     "choices": [{"id": 20, "question_id": 21, "text": "Smoking"}, {"id": 30, "question_id": 21, "text": "Coffee"},
                 {"id": 40, "question_id": 21, "text": "Alcohol"}, {"id": 50, "question_id": 21, "text": "Math"}],
     "id": 99, "text": "What are you addicted to?", "type": "CHECKBOX"},
]
# hello/suripu-android app/src/test/assets/smart_alarms.json, as it is.
SMART_ALARMS = {
    "expansions": [],
    "voice": [],
    "classic": [{"day_of_month": 0, "day_of_week": [1], "editable": True, "enabled": True, "hour": 7, "minute": 30,
                 "month": 0, "repeated": True, "sound": {"id": 0, "name": None}, "year": 0}],
}


def endpoint(method: str, path: str) -> str | None:
    m = devices.match("api.hello.is", method, path)
    return None if m is None else (m.endpoint.name if m.endpoint else "undecoded")


def decode(ep, payload, query=None) -> dict[str, list]:
    assert schema_problem(ep.schema, payload) is None
    out: dict[str, list] = {}
    for table, row in ep.decode(payload, Request({}, query or {}, None, None)):
        assert set(row) <= set(TABLES[table].row_schema), f"{table}: rows carry only the table's columns"
        out.setdefault(table, []).append(dict.fromkeys(TABLES[table].row_schema) | row)
    return out


def convert_har(tmp_path, entries, name="x.har"):
    har = write_har(tmp_path / name, entries)
    result = convert([Input(har, name, True)])
    return result, result.files[0]


def at(seconds: int) -> str:
    return f"2017-03-04T07:{30 + seconds // 60:02d}:{seconds % 60:02d}.000-08:00"


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("GET", "/v1/questions", "sense/questions"),
        ("GET", "/questions", "sense/questions"),  # 2014: no version
        ("POST", "/v1/questions/save", "sense/question-answers"),
        ("PUT", "/v1/questions/skip", "sense/question-skips"),
        ("GET", "/v1/questions/more", "undecoded"),
        ("POST", "/v1/questions", "undecoded"),  # deprecated: the server ignores it
        ("PUT", "/v1/questions/12/skip", "undecoded"),  # deprecated: the server ignores it
        ("GET", "/v2/alarms", "sense/alarms"),
        ("GET", "/v1/alarms", "sense/alarms"),
        ("POST", "/v2/alarms/1488641600000", "sense/alarms"),
        ("POST", "/v1/alarms/1488641600000", "sense/alarms"),
        ("POST", "/v2/alarms1488641600000", "sense/alarms"),  # a SenseKit version left out the slash
        ("GET", "/v1/alarms/sounds", "undecoded"),  # the fixed ringtone list, with signed links
        ("GET", "/v2/alarms/sounds", "undecoded"),
    ],
)
def test_routes(method, path, expected):
    assert endpoint(method, path) == expected


# --- questions --------------------------------------------------------------------------------------------------


def test_questions_fixture_gives_a_row_per_question_and_per_choice_offered():
    t = decode(sense.QUESTIONS, QUESTIONS)
    first, second = t["sense_questions"]
    assert first == {"account_question_id": None, "question_id": 123, "ask_date": None, "ask_time": None,
                     "question_type": "CHOICE", "text": "Do you sleep better when it is hot or cold?"}
    # ask_local_date is the local day as a UTC midnight in ms: 1418342400000 is 2014-12-12T00:00Z
    assert (second["account_question_id"], second["ask_date"], second["ask_time"]) == (800, date(2014, 12, 12), "MORNING")
    choices = t["sense_question_choices"]
    assert [(c["question_id"], c["choice_id"], c["position"]) for c in choices] == [
        (123, 123456789, 0), (123, 987654321, 1), (99, 20, 0), (99, 30, 1), (99, 40, 2), (99, 50, 3)]


def test_question_enum_names_are_written_upper_case():
    (row,) = decode(sense.QUESTIONS, [{"id": 1, "type": "checkbox", "ask_time": "anytime"}])["sense_questions"]
    assert (row["question_type"], row["ask_time"]) == ("CHECKBOX", "ANYTIME")


def test_answers_are_read_from_the_request_body_of_save(tmp_path):
    picked = [{"id": 30, "text": "Coffee", "question_id": 21}, {"id": 40, "text": "Alcohol", "question_id": 21}]
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/save?account_question_id=800", None, method="POST", status=204,
              post=json.dumps(picked)),
    ])
    assert f.device_responses == {"sense/question-answers": 1} and f.rejects == 0
    answers = result.tables["sense_question_answers"]
    assert answers.select("account_question_id", "question_id", "action", "choice_id", "choice_text").rows() == [
        (800, 21, "answered", 30, "Coffee"), (800, 21, "answered", 40, "Alcohol")]


def test_a_skip_is_read_from_the_query(tmp_path):
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/skip?account_question_id=801&id=17", None, method="PUT", status=204),
    ])
    assert f.device_responses == {"sense/question-skips": 1}
    assert result.tables["sense_question_answers"].select(
        "account_question_id", "question_id", "action", "choice_id", "choice_text").rows() == [
        (801, 17, "skipped", None, None)]


def test_a_skip_without_its_question_in_the_query_is_rejected_with_the_reason(tmp_path):
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/skip?account_question_id=801", None, method="PUT", status=204),
    ])
    (reject,) = result.tables["rejects"].to_dicts()
    assert f.rejects == 1 and '"id" is a required property' in reject["reason"] and reject["body"] is None


def test_an_answer_whose_request_body_was_not_captured_is_rejected(tmp_path):
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/save?account_question_id=800", None, method="POST", status=204),
    ])
    (reject,) = result.tables["rejects"].to_dicts()
    assert f.rejects == 1 and reject["reason"] == "the capture holds no request body"


def test_a_rejected_answer_keeps_the_request_body_it_could_not_read(tmp_path):
    sent = json.dumps({"id": 30})  # one choice, not a list
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/save?account_question_id=800", None, method="POST", status=204, post=sent),
    ])
    (reject,) = result.tables["rejects"].to_dicts()
    assert reject["endpoint"] == "sense/question-answers" and reject["body"] == sent
    assert reject["path"] == "/v1/questions/save"  # the query is never kept


def test_an_answer_the_service_refused_is_an_http_error_not_an_answer(tmp_path):
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v1/questions/save?account_question_id=800", {"code": 500}, method="POST", status=500,
              post=json.dumps([{"id": 30, "question_id": 21}])),
    ])
    assert dict(f.http_errors) == {"500": 1} and "sense_question_answers" not in result.tables


def test_the_same_answer_and_question_captured_twice_appear_once(tmp_path):
    calls = [
        entry(f"{SENSE}/v1/questions?date=2014-12-12", QUESTIONS),
        entry(f"{SENSE}/v1/questions/save?account_question_id=800", None, method="POST", status=204,
              post=json.dumps([{"id": 30, "text": "Coffee", "question_id": 21}])),
    ]
    later = [copy.deepcopy(e) | {"startedDateTime": at(300 + i)} for i, e in enumerate(calls)]
    result, f = convert_har(tmp_path, calls + later)
    assert result.tables["sense_questions"].height == 2
    assert result.tables["sense_question_choices"].height == 6
    assert result.tables["sense_question_answers"].height == 1
    assert f.duplicates == {"sense_questions": 2, "sense_question_choices": 6, "sense_question_answers": 1}


def test_a_saved_questions_response_is_recognised_but_a_saved_answer_body_needs_its_endpoint_named(tmp_path):
    questions, answer = tmp_path / "questions.json", tmp_path / "answer.json"
    questions.write_text(json.dumps(QUESTIONS))
    answer.write_text(json.dumps([{"id": 30, "text": "Coffee", "question_id": 21}]))
    (f,) = convert([Input(questions, "questions.json", True)]).files
    assert (f.status, f.read_as) == ("ok", "sense/questions")
    (g,) = convert([Input(answer, "answer.json", True)]).files
    assert g.status == "failed" and "name one with --endpoint" in g.error
    named = convert([Input(answer, "answer.json", True, endpoint="sense/question-answers")])
    assert named.tables["sense_question_answers"].select("account_question_id", "choice_id").rows() == [(None, 30)]


# --- alarms -----------------------------------------------------------------------------------------------------


def test_smart_alarms_fixture_is_one_classic_alarm_on_mondays():
    (row,) = decode(sense.ALARMS, SMART_ALARMS)["sense_alarms"]
    assert {k: v for k, v in row.items() if k != "alarm_set"} == {
        "kind": "classic", "position": 0, "alarm_id": None, "hour": 7, "minute": 30, "repeat_days": "MO",
        "repeated": True, "ring_date": None, "enabled": True, "smart": None, "editable": True, "sound_id": 0,
        "sound_name": None, "source": None, "expansions": None}
    assert len(row["alarm_set"]) == 16


def ios_alarm(**kw) -> dict:
    """An alarm as SenseKit's SENAlarm.dictionaryValue sends it: no date for repeated alarms, "" for no sound."""
    return {"editable": True, "enabled": True, "sound": {"name": "", "id": ""}, "id": "8C0E4D1A-2B3F-4A5C-9D6E",
            "hour": 6, "minute": 5, "repeated": True, "smart": False, "day_of_week": [7, 6]} | kw


def test_ios_alarms_one_time_with_its_day_and_repeated_without_sound():
    once = ios_alarm(repeated=False, day_of_week=[], year=2017, month=3, day_of_month=5, hour=9, minute=0)
    rows = decode(sense.ALARMS, {"classic": [ios_alarm(), once], "voice": [], "expansions": []})["sense_alarms"]
    assert [(r["repeat_days"], r["ring_date"], r["sound_id"], r["sound_name"]) for r in rows] == [
        ("SA,SU", None, None, ""), (None, date(2017, 3, 5), None, "")]
    assert [r["position"] for r in rows] == [0, 1]


def test_alarm_kinds_come_from_the_v2_group_or_the_v1_source():
    voice = {"hour": 7, "minute": 0, "source": "VOICE_SERVICE", "expansions": [{"id": 4, "enable": True},
                                                                                 {"id": 9, "enable": False}]}
    v2 = decode(sense.ALARMS, {"classic": [SMART_ALARMS["classic"][0]], "voice": [voice], "expansions": []})
    v1 = decode(sense.ALARMS, [SMART_ALARMS["classic"][0], voice])
    for rows in (v2["sense_alarms"], v1["sense_alarms"]):
        assert [(r["kind"], r["position"]) for r in rows] == [("classic", 0), ("voice", 0)]
        assert rows[1]["expansions"] == "4:on,9:off"
    assert {r["alarm_set"] for r in v1["sense_alarms"]} == {r["alarm_set"] for r in v2["sense_alarms"]}


def test_a_changed_alarm_list_has_another_fingerprint():
    changed = copy.deepcopy(SMART_ALARMS)
    changed["classic"][0]["enabled"] = False
    (a,), (b,) = (decode(sense.ALARMS, p)["sense_alarms"] for p in (SMART_ALARMS, changed))
    assert a["alarm_set"] != b["alarm_set"]


def test_sound_links_never_reach_the_tables(tmp_path):
    signed = "https://hello-audio.s3.amazonaws.com/ringtones/Dusk.mp3?Signature=planted-signature-0201"
    alarms = copy.deepcopy(SMART_ALARMS)
    alarms["classic"][0]["sound"] = {"id": 5, "name": "Dusk", "url": signed}
    result, _ = convert_har(tmp_path, [entry(f"{SENSE}/v2/alarms", alarms)])
    assert "planted-signature" not in str(result.tables["sense_alarms"].rows())


@pytest.mark.parametrize("field, value", [("hour", 24), ("minute", -1), ("day_of_week", [8]), ("month", 13)])
def test_alarm_schema_bounds_time_fields(field, value):
    alarm = SMART_ALARMS["classic"][0] | {field: value}
    assert schema_problem(sense.ALARMS.schema, {"classic": [alarm]}) is not None
    assert schema_problem(sense.ALARMS.schema, [alarm]) is not None


def test_an_impossible_one_time_date_is_rejected_whole(tmp_path):
    alarm = SMART_ALARMS["classic"][0] | {"repeated": False, "year": 2017, "month": 2, "day_of_month": 30}
    result, f = convert_har(tmp_path, [entry(f"{SENSE}/v2/alarms", {"classic": [alarm]})])
    assert f.rejects == 1 and "could not be decoded" in result.tables["rejects"]["reason"][0]


def test_the_same_alarm_list_captured_twice_is_once_with_the_newest_provenance(tmp_path):
    result, f = convert_har(tmp_path, [
        entry(f"{SENSE}/v2/alarms", SMART_ALARMS, started=at(0)),
        entry(f"{SENSE}/v1/alarms", SMART_ALARMS["classic"], started=at(60)),  # the same state through v1
        entry(f"{SENSE}/v2/alarms/1488641700000", SMART_ALARMS, method="POST", started=at(120),
              post=json.dumps(SMART_ALARMS)),
    ])
    alarms = result.tables["sense_alarms"]
    assert alarms.height == 1 and alarms["source_entry"].to_list() == [2]
    assert f.duplicates == {"sense_alarms": 2}


def test_each_alarm_state_captured_is_kept_with_its_capture_time(tmp_path):
    enabled_off = copy.deepcopy(SMART_ALARMS)
    enabled_off["classic"][0]["enabled"] = False
    result, _ = convert_har(tmp_path, [
        entry(f"{SENSE}/v2/alarms", SMART_ALARMS, started=at(0)),
        entry(f"{SENSE}/v2/alarms/1488641700000", enabled_off, method="POST", started=at(120),
              post=json.dumps(enabled_off)),
    ])
    alarms = result.tables["sense_alarms"].sort("captured_at")
    assert alarms["enabled"].to_list() == [True, False]
    assert alarms["alarm_set"].n_unique() == 2
    assert alarms["captured_at"].dtype == pl.Datetime("us", "UTC")


def test_saved_alarm_responses_are_recognised_by_shape(tmp_path):
    for name, payload in (("v2.json", SMART_ALARMS), ("v1.json", SMART_ALARMS["classic"])):
        path = tmp_path / name
        path.write_text(json.dumps(payload))
        (f,) = convert([Input(path, name, True)]).files
        assert (f.status, f.read_as, f.rows["sense_alarms"]) == ("ok", "sense/alarms", 1), name


def test_endpoints_command_lists_the_question_and_alarm_endpoints():
    result = CliRunner().invoke(app, ["endpoints"])
    assert result.exit_code == 0
    for name in ("sense/questions", "sense/question-answers", "sense/question-skips", "sense/alarms",
                 "band/raised-insights"):
        assert name in result.output
