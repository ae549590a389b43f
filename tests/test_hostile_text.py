"""Hostile input, seventh round: free text the redaction policy searches costs time linear in its length. A pattern
searched through text (`finditer`, `search`, `sub`) that begins with a run of characters and needs something after
the run is tried from every position: begun inside a run, it reads the rest of the run again, so a run without what
it needs costs the run's length squared (a 48 KB HTML tag of one attribute-like word took 24 s, 1 MB would take
hours). Such patterns begin only where their run begins (a look-behind) and read it once (possessive). No timing:
where a match may begin is asserted, and long runs are redacted as before."""

from __future__ import annotations

import pytest

from converters import redaction

SECRET = "Tr0ub4dorXq7"


@pytest.mark.parametrize("pattern, text", [
    ("_ATTRIBUTE", 'name="x"'),  # an HTML or XML tag's attribute (`<input … value=…>`, `<string name=…>`)
    ("_EMAIL", "alice@example.org"),  # an e-mail address in a path's segment
    ("_GRAPHQL_ARGUMENT", "login(password: $p)"[6:]),  # a GraphQL argument given a variable
])
def test_a_pattern_searched_through_text_begins_only_where_its_run_begins(pattern, text):
    """Before: each also matched from the run's second character on (`ame="x"`), which is what made a run without
    what follows it (`=`, `@`, `:`) cost its length squared."""
    compiled = getattr(redaction, pattern)
    assert compiled.match(text, 0) is not None
    assert all(compiled.match(text, i) is None for i in range(1, 3))


LONG = 200_000


@pytest.mark.parametrize("text, kept", [
    ("<a b" + "z" * LONG + f'> <input type="password" value="{SECRET}">', "z" * LONG),  # a tag's long word
    ("<x b" + "z" * LONG + f'>1</x><a name="api_key" value="{SECRET}">', "z" * LONG),  # an element's
    ("Your Wi-Fi password is " + "\t" * LONG + f"\nYour Wi-Fi password is {SECRET}", "\t" * LONG),  # spaces after `is`
    ("password -> " + " " * LONG + f"\npassword -> {SECRET}", " " * LONG),
])
def test_free_text_with_a_long_run_is_redacted_in_one_reading(text, kept):
    """Before: the first three took minutes (a tag's or element's attribute name tried from each of its characters;
    the spaces after `password is` split every way between `[ \\t]*` and `[ \\t]+`)."""
    shown = redaction.redact_text(text)
    assert SECRET not in shown and kept in shown and "REDACTED" in shown


def test_a_long_path_segment_beside_an_at_sign_is_shown_in_one_reading():
    """Before: `_EMAIL.search` tried each character of a 200 KB segment as an address's start (minutes)."""
    segment = "a" * LONG
    assert redaction.path(f"/v1/{segment}@!/x") == f"/v1/{segment}@!/x"
    assert redaction.path(f"/v1/users/{segment}@example.org/x") == "/v1/users/{redacted}/x"


def test_a_graphql_query_of_one_long_name_is_read_once():
    """Before: `_GRAPHQL_ARGUMENT.findall` read a 200 KB name without `:` after it from each of its characters."""
    request = {"query": "q" * LONG + " login(pw: $p)", "variables": {"p": SECRET}}
    shown, _count = redaction.redact_json(request)
    assert SECRET not in str(shown["variables"]) and shown["query"].startswith("q" * LONG + " login(")


class _Refusing:
    def __getattr__(self, name):
        raise AssertionError(f"searched ({name})")


def test_text_holding_no_literal_of_the_unambiguous_shapes_is_not_searched_for_them(monkeypatch):
    """`_NOT_JWT_RE`'s alternatives (private keys, AWS, Google, GitHub, Slack, Stripe, SendGrid, GitLab, npm) were
    tried at every character of every text: a third to a half of the policy's time (16 MiB of spaces and tabs in a
    scrubbed body: 13 of 23 s). Each holds a literal (`_NOT_JWT_LITERALS`), looked for first."""
    monkeypatch.setattr(redaction, "_NOT_JWT_RE", _Refusing())
    for text in ("password is \t \t", "<a b=c>", '{"a": 1, "note": "AKI A"}', "ey J eyJ-x", "a" * 1000):
        redaction.redact_text(text)
        redaction.redact_text(text, redaction.STRICT)


@pytest.mark.parametrize("secret", [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",  # cut off: up to the end
    *(f"{prefix}ABCDEFGHIJKLMNOP" for prefix in ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA")),
    "A3TXABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYAB",
    "AIza" + "B" * 35, "ya29." + "c" * 20, "1//0" + "d" * 20,
    *(f"gh{c}_" + "E" * 30 for c in "pousr"), "github_pat_" + "F" * 30,
    *(f"xox{c}-" + "1234567890" for c in "abposre"),
    *(f"{c}k_{kind}_" + "G" * 10 for c in "rsp" for kind in ("live", "test")),
    "SG." + "h" * 16 + "." + "i" * 16, "glpat-" + "j" * 20, "npm_" + "K" * 30,
])
def test_each_unambiguous_shape_is_still_found_where_its_literal_is(secret):
    for text in (secret, f"see {secret} now", f'{{"x": "{secret}"}}', f"eyJ {secret}"):
        assert redaction._unambiguous_text(text) == redaction._UNAMBIGUOUS_RE.sub(redaction._unambiguous_sub, text)
        assert redaction._unambiguous_text(text) != text
