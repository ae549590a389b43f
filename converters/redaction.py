"""The redaction policy: what in a capture is a credential, and the one way captured text reaches an output.

What is a credential:
- by name: a header, cookie, query or form parameter, JSON key or multipart field whose name says it holds one
  (`password`, `client_secret`, `access_token`, `X-Api-Key`, `jsessionid`, `sig`, `X-Amz-Credential`, `PPFT`…;
  `credential_name`); a few names (`code`, `key`, `session`, `sid`, `auth`) only when their value looks like a
  token rather than a word, a number or a date;
- by shape (`shapes`): JWTs, `Bearer …` and other authorization schemes, PEM private keys, keys with a known
  prefix (AWS `AKIA…`, Google `AIza…`/`ya29.…`/`GOCSPX-…`, Firebase Cloud Messaging, Facebook, Square, GitHub,
  GitLab, Slack, Stripe, PyPI, OpenAI, Hugging Face…) and webhook URLs' secret paths (Slack, Discord, Telegram), in device text too; in `FULL` mode also long
  random tokens (base64 or alphanumeric mixing case and digits, 20+ characters; hex, 32+) that no id-named key holds;
- by place: URL userinfo (`https://alice:PW@host/`, a Host header's `alice:PW@host`), every cookie value, every
  header not known to be harmless (`HARMLESS_HEADERS`, for scrubbed copies), sign-in and token calls' bodies in any
  encoding.

Structure is read where there is some: JSON (its keys as text too, `[name, value]` lists, `{name, value}` objects
under compound keys too), JSON that does not parse (cut short, Latin-1 bytes, inside text) token by token, bodies in
UTF-16 or UTF-32 as their text and in legacy charsets byte for byte, forms, multipart parts (after a preamble too),
XML elements (CDATA too, labelled by an attribute or a `<Name>` element), pairs inside other pairs' values,
percent-encoded text, text escaped for HTML (`&quot;`) or a script (`\\"`, `\\x3d`), JWTs wrapped across lines.

`STRICT` mode (unambiguous shapes only) is for device data, whose ids must stay as they are; `FULL` for the rest.

Outputs take captured text only as `Safe`, which this module alone makes: the report's captured fields, inspect's
rows, table provenance, reject rows (`SafeRow`) and generic payloads (`SafeJson`) are checked for it where they are
written (`require`), so an output added without the policy fails loudly rather than leaking.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import hashlib
import heapq
import hmac
import html
import json
import math
import re
import traceback
import unicodedata
import zlib
from collections import Counter
from contextvars import ContextVar
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Iterator, Literal
from urllib.parse import quote, unquote, unquote_plus

import orjson

from . import limits

MARK = "REDACTED"  # a value replaced, in scrubbed copies and in table values
SEGMENT = "{redacted}"  # a path segment or parameter value replaced, in paths and templates shown
Mode = Literal["strict", "full"]
STRICT: Mode = "strict"
FULL: Mode = "full"
PSEUDONYM_HEX = 16  # hex digits kept of an HMAC-SHA256: 64 bits


# --- the type of text that went through the policy ------------------------------------------------------------

_KEY = object()


class Unredacted(TypeError):
    """Captured text reached an output without passing through the redaction policy (a bug of databack's)."""


class Safe(str):
    """Text that passed through the redaction policy; only this module makes one. Slicing, joining or formatting
    a Safe gives a plain str again, which outputs refuse."""

    __slots__ = ()

    def __new__(cls, text: str, key: object = None) -> Safe:
        if key is not _KEY:
            raise Unredacted("Safe text is made by converters.redaction alone: pass captured text through its policy")
        return str.__new__(cls, text)

    def __reduce__(self):  # pickled to and from worker processes
        return _released, (str(self),)


def _released(text: str) -> Safe:
    return text if type(text) is Safe else Safe(text, _KEY)


class SafeRow(dict):
    """A `rejects` row whose every text went through the policy (`reject_row`)."""

    def __init__(self, values: dict[str, Any], key: object = None):
        if key is not _KEY:
            raise Unredacted("reject rows are made by redaction.reject_row")
        super().__init__(values)

    def __reduce__(self):
        return _safe_row, (dict(self),)


def _safe_row(values: dict[str, Any]) -> SafeRow:
    return SafeRow(values, _KEY)


class SafeJson:
    """A JSON document for the generic export: credential-named keys dropped, credentials in values replaced."""

    __slots__ = ("value", "sha256")

    def __init__(self, value: Any, key: object = None):
        if key is not _KEY:
            raise Unredacted("generic payloads are made by redaction.generic_payload")
        self.value = value
        self.sha256 = hashlib.sha256(_dumps(value)).hexdigest()  # of the redacted document: no secret in it

    def __reduce__(self):
        return _safe_json, (self.value,)


def _safe_json(value: Any) -> SafeJson:
    return SafeJson(value, _KEY)


def require(value: Any, where: str) -> None:
    """Raise `Unredacted` unless every text in `value` (and every key of its mappings) is `Safe`."""
    if isinstance(value, str):
        if type(value) is not Safe:
            raise Unredacted(f"{where}: captured text that did not pass the redaction policy")
    elif isinstance(value, dict):
        for k, v in value.items():
            require(k, where)
            require(v, where)
    elif isinstance(value, (list, tuple)):
        for v in value:
            require(v, where)


def from_earlier_output(text: str | None, *, name: bool = False) -> Safe | None:
    """Text read back from an earlier run's report: redacted again (a no-op for what this policy wrote); a file
    name as `source_file` redacts one (that run chose whether to pseudonymise it)."""
    if text is None:
        return None
    return _released(file_name(text)) if name else _released(redact_text(text, FULL))


# --- names ---------------------------------------------------------------------------------------------------

# Compact names (lower case, letters and digits only) that hold a credential whatever their value.
_STRONG_PARTS = re.compile(
    "password|passwd|passphrase|passcode|secret|token|credential|authoriz|authenticat|cookie|jwt|assertion|saml"
    "|signature|verifier|apikey|accesskey|privatekey|signingkey|subscriptionkey|sessionkey|authkey|masterkey"
    "|encryptionkey|licensekey|clientkey|consumerkey|hmackey|sharedkey|accountkey|storagekey|csrf|xsrf|sessid"
    "|bearer|ppft|canary|captcha|wresult|hmac|sessionid|otpcode|mfacode|authcode|verificationcode|securitycode"
    "|smscode|resetcode"
    "|logincode|accesscode|activationcode|confirmationcode|twofactor|onetimecode|recoverycode|backupcode"
    "|securityanswer|secretanswer|pincode|otpvalue|connectionstring|mnemonic|seedphrase|recoveryphrase|magiclink"
    "|passwort|kennwort|motdepasse|contrasena|contrasea|contraseña|senha|wachtwoord|losenord|lsenord|lösenord"
    "|salasana|passord|adgangskode|jelszo|jelszó|lozinka|lykilord"
    "|lykilorð|wagwoord|katasandi|matkhau|mậtkhẩu|пароль|парола|лозинка|гасло|пароля|κωδικ|סיסמ|كلمةالمرور|كلمةالسر"
    "|رمزعبور|पासवर्ड|密码|密碼|口令|パスワード|暗証番号|비밀번호|암호|รหัสผ่าน|geheimnis|segredo|secreto"  # other languages
    "|clavedeacceso|codigodeverificacion|códigodeverificación|codigodeacceso|códigodeacceso|codedeverification"
    "|codedevérification|palavrapasse"
)
_STRONG_EXACT = frozenset(
    {"pwd", "pass", "pin", "otp", "totp", "hotp", "sig", "refresh", "xrefresh", "sso", "mfa", "2fa", "cred", "creds",
     "psk", "pswd", "pword", "pwrd", "puk", "cvn"}
)
_STRONG_ENDINGS = (  # user_pass, new_pw, userPin, email_otp, refreshTok, card_cvv; short words of other languages
    "pass", "pw", "pwd", "pin", "otp", "tok", "psk", "cvv", "cvc", "haslo", "hasło", "heslo", "geslo", "sifre", "şifre", "parola",
    "parolă",
)
_WORD_ENDINGS = ("bypass", "compass", "overpass", "underpass", "surpass", "spin", "footp", "tiktok")  # words
# Names that hold a credential only when the value looks like a token (`code=4/0AX4…`, not `"code": 404`): a few
# words, and names ending in `code` or `key` (`pairingCode`, `resetKey`) but those naming a code or key of data.
_WEAK_PARTS = re.compile("session|^auth|auth$|sid$|^ssid$|^access$|^state$|^ticket$|^nonce$|^sign$")  # see `_OPAQUE` too
_WEAK_ENDINGS = ("code", "key", "ticket")
_DATA_CODE = (
    "error", "status", "country", "language", "lang", "currency", "zip", "postal", "post", "area", "region",
    "locale", "timezone", "response", "http", "reason", "result", "exit", "return", "color", "colour", "product",
    "unit", "iso", "dial", "phone", "airport", "city", "province", "county", "event", "uni", "model", "sensor",
    "message", "warning", "condition", "sleep", "score", "activity", "workout", "sort", "partition", "row",
    "primary", "foreign", "cache", "lookup", "group", "idempotency", "public", "object", "map", "index",
    "translation", "string", "setting", "config", "feature", "hot", "short", "sound", "audio", "video", "file",
    "fault", "failure", "op", "source", "class", "category", "item", "sku", "channel", "routing", "bank", "tax",
    "diagnosis", "procedure", "char", "scan", "zone", "step", "stage", "type",
)
# Endings that say the value is about the credential, not the credential (`token_type`, `session_count`).
_HARMLESS_ENDINGS = (
    "type", "types", "expiry", "expires", "expiresin", "expiresat", "expiration", "expirationtime", "ttl", "lifetime",
    "maxage", "length", "count", "endpoint", "url", "uri", "format", "method", "scheme", "required", "enabled",
    "policy", "status", "kind", "start", "end", "date", "time", "duration", "timeout", "supported", "set",
)
# What a name that holds a credential's hash ends in (`pwdHash`, `pin_sha256`, `passHashed`), after that name.
_HASH_ENDINGS = ("hash", "hashed", "digest", "sha", "sha1", "sha256", "sha512", "md5", "crypt", "bcrypt", "scrypt")
# What follows a short credential name to say which one or what of it (`pinNumber`, `pwd_new`, `passConfirm`,
# `otpEntered`, `pinValue`), as `password_new` holds `password`.
_QUALIFIER_ENDINGS = (
    "new", "old", "current", "confirm", "confirmation", "confirmed", "again", "repeat", "repeated", "retype", "verify",
    "number", "num", "no", "value", "val", "entry", "entered", "input", "field", "text", "plain", "plaintext", "block",
)
_QUALIFIED = ("pin", "pw", "pwd", "pswd", "pass", "otp", "psk", "puk", "cvv", "cvc")  # (not `sig`: signum, SIG_BLOCK)
_ID_ENDINGS = ("id", "ids", "uuid", "guid", "hash", "sha", "sha1", "sha256", "md5", "etag", "digest", "checksum")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_WORD = re.compile(r"[\W_]+")  # what a name is compared without, letters of every script kept


def _with_marks(lower: str) -> str:
    """A name without what is no letter or digit, the marks that Indic and Thai letters carry kept."""
    return "".join(c for c in lower if c.isalnum() or unicodedata.category(c)[0] == "M")

NameClass = Literal["strong", "weak"] | None


@limits.short_cache(1 << 14)
def credential_name(name: str) -> NameClass:
    """"strong" for a name that always holds a credential, "weak" for one that does when the value looks like a
    token, None for any other name."""
    lower = name.lower()
    lower = lower[2:] if lower.startswith(("x-", "x_")) else lower  # X-Sig is sig
    kind = _name_class(_NOT_WORD.sub("", lower))
    if kind is None and not lower.isascii():  # with the marks of Indic and Thai letters (पासवर्ड), composed
        kind = _name_class(_with_marks(unicodedata.normalize("NFC", lower)))
    if kind is None and not lower.isascii():  # without Latin letters' accents and in ASCII's own width: pässword,
        folded = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))  # ｐｉｎ
        kind = _name_class(_NOT_WORD.sub("", folded)) if folded != lower else None
    return kind


def _name_class(compact: str) -> NameClass:
    if not compact or compact.endswith(_HARMLESS_ENDINGS) and not compact.endswith("reset"):  # (password_reset)
        return None
    numbered = compact.rstrip("0123456789") or compact  # pass1, pass2, pin2: a form's second field of a kind
    if numbered in _STRONG_EXACT or _STRONG_PARTS.search(compact) or (
        numbered.endswith(_STRONG_ENDINGS) and not numbered.endswith(_WORD_ENDINGS)
    ):
        return "strong"
    for ending in _HASH_ENDINGS:  # a credential's hash is one too: pwdHash, pin_sha256, as password_hash
        if compact.endswith(ending) and len(compact) > len(ending) and _name_class(compact[: -len(ending)]) == "strong":
            return "strong"
    for ending in _QUALIFIER_ENDINGS:  # a short name with a word saying which or what of it: pinNumber, pwd_new
        if compact.endswith(ending) and (rest := compact[: -len(ending)]).endswith(_QUALIFIED) and \
                _name_class(rest) == "strong":
            return "strong"
    if _WEAK_PARTS.search(compact) or (_weak_ending(compact)):
        return "weak"
    return None


def _weak_ending(compact: str) -> bool:
    ending = next((e for e in _WEAK_ENDINGS if compact.endswith(e)), None)
    return ending is not None and not compact[: -len(ending)].endswith(_DATA_CODE)


def _id_named(name: str | None) -> bool:
    return name is not None and _NOT_ALNUM.sub("", name.lower()).endswith(_ID_ENDINGS)


def _tokenish(value: Any) -> bool:
    """A value a weakly named field holds as a credential: text without spaces that is not a number, date or
    words (`invalid_grant`, `SLEEP_SCORE`), and has 6+ characters or mixes letters and digits (`c-1`)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if any(c.isspace() for c in text) or text in (MARK, SEGMENT):
        return False
    if len(text) < 6 and not (any(c.isdigit() for c in text) and any(c.isalpha() for c in text)):
        return False
    if _is_words(text) or _NUMBERISH.fullmatch(text) or _DATEISH.match(text):
        return False
    return True


_PLAIN_WORD = re.compile(r"[A-Za-z]+(?:[_\-.][A-Za-z]+)*")
_NUMBERISH = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_DATEISH = re.compile(r"\d{4}-\d{2}-\d{2}")


# Weak names whose values are opaque (a nonce, a ticket, a session): any single run without spaces counts, a word
# of lower-case letters too (`fizometedeburo`), but not an enum (`NONE`, `BASIC_AUTH`) or words joined by separators.
_OPAQUE = re.compile("session|^auth|^sid$|^ssid$|^ticket$|^nonce$")
_JOINED_WORDS = re.compile(r"[A-Za-z]+(?:[_\-.][A-Za-z]+)+|[A-Z][A-Z_]*")
_DIGITS_CODE = re.compile(r"\d{4,10}")  # a one-time code, a PIN: 482913


def weak_credential(name: str, value: Any) -> bool:
    """Whether a weakly named field (`credential_name(name) == "weak"`) holds a credential: its value looks like a
    token, or, under an opaque name, is any single run that is not an enum; under a code-named one, a string of 4 to
    10 digits (a one-time code; a JSON number is a status or error code)."""
    if not isinstance(value, str):
        return False
    if _tokenish(value):
        return True
    compact = _NOT_WORD.sub("", name.lower())
    text = value.strip()
    if compact.endswith("code") and _DIGITS_CODE.fullmatch(text):
        return True
    return (_OPAQUE.search(compact) is not None and len(text) >= 6 and text not in (MARK, SEGMENT)
            and not any(c.isspace() for c in text) and not _JOINED_WORDS.fullmatch(text)
            and not _NUMBERISH.fullmatch(text) and not _DATEISH.match(text))


def is_credential(name: str, value: Any) -> bool:
    """Whether the field `name` holding `value` holds a credential, by its name."""
    kind = credential_name(name)
    return kind == "strong" or (kind == "weak" and weak_credential(name, value))


# --- shapes --------------------------------------------------------------------------------------------------

_UNAMBIGUOUS = (
    r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*(?:\.[\w-]*\.[\w-]*)?"  # JWT, JWS, JWE
    r"|eyJ[\w+/]{4,}={0,2}\.[\w+/]{4,}={0,2}\.[\w+/]*={0,2}(?:\.[\w+/]*={0,2}\.[\w+/]*={0,2})?"  # (standard base64)
    r"|-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:.|\n)*?(?:-----END [A-Z0-9 ]*-----|$)"
    r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\b"  # AWS access key ids, and a
    r"(?:(?P<aws_sep>[ \t,;:|=\"']{1,4})[A-Za-z0-9/+]{40}(?![\w/+=]))?"  # secret key right after one (`_aws_sub`)
    r"|\bAIza[\w-]{35}"  # Google API keys
    r"|\bya29\.[\w-]{20,}"  # Google OAuth access tokens
    r"|\b1//0[\w-]{20,}"  # Google refresh tokens
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_\w{30,}"
    r"|\bxox[abposre]-[\w-]{10,}"  # Slack
    r"|\b[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|\bSG\.[\w-]{16,}\.[\w-]{16,}"  # SendGrid
    r"|\bglpat-[\w-]{20,}|\bnpm_[A-Za-z0-9]{30,}"
)
# `Scheme credentials`: what follows an authorization scheme (up to the end of a quoted string or the text).
_SCHEMES = (
    "Bearer", "WRAP", "OAuth", "Digest", "Negotiate", "NTLM", "Hawk", "MAC", "AWS4-HMAC-SHA256", "AWS", "SharedKey",
    "SharedAccessSignature", "Basic", "Token", "JWT", "DPoP", "SSWS", "Bot", "vapid", "SCRAM-SHA-1", "SCRAM-SHA-256",
    "HOBA", "Mutual", "ApiKey", "Api-Key", "Splunk", "GoogleLogin", "EG1-HMAC-SHA256",
)
_AUTH_SCHEME = r"\b(?:" + "|".join(map(re.escape, _SCHEMES)) + ")"
_SCHEME_VALUE = re.compile(
    _AUTH_SCHEME + r"([ \t]+)((?:[^\s,;\"']|(?<==)\"[^\"]*\")+(?:[ \t]*,[ \t]*[\w-]+=(?:\"[^\"]*\"|[^\s,;\"']+))*)",
    re.IGNORECASE,
)
_UNAMBIGUOUS_RE = re.compile(_UNAMBIGUOUS)
# The same shapes, searched for in text as `_unambiguous_text` does: JWTs apart, since the regex engine reads a run of
# `[\w-]` to its end from every `eyJ` in it (100 KB of `eyJeyJ…` took 6.5 s, its length squared), and the others.
_JWT = re.compile(r"eyJ[\w-]{4,}+\.[\w-]{4,}+\.[\w-]*+(?:\.[\w-]*+\.[\w-]*+)?")  # (as _UNAMBIGUOUS's first)
# ...and one whose parts are standard base64 (`+`, `/`, padding), as some libraries and hand-made tokens write them:
# taken where its first two parts show that alphabet (a base64url JWT followed by `/next` in a path is not one)
_JWT_STANDARD = re.compile(
    r"eyJ[\w+/]{4,}+={0,2}\.[\w+/]{4,}+={0,2}\.[\w+/]*+={0,2}(?:\.[\w+/]*+={0,2}\.[\w+/]*+={0,2})?")
_NOT_JWT_RE = re.compile(_UNAMBIGUOUS.split("|", 2)[2])  # (the shapes after the two JWTs')
# What each of the others holds (one of them), looked for by `in` first: text holding none holds no such shape, and the
# pattern's alternatives, tried at every character, cost a third to a half of the policy's time on text of none
_NOT_JWT_LITERALS = (
    "-----BEGIN ", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T", "AIza", "ya29.", "1//0",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "k_live_", "k_test_", "SG.", "glpat-", "npm_",
)
_WORD_RUN = re.compile(r"[\w-]*+")
_STANDARD_RUN = re.compile(r"[\w+/]*+")
# More vendors' keys: searched for only in text holding one of their prefixes (`_VENDOR_PREFIXES`, found by `in`),
# since every alternative of one pattern costs at every character of every text.
_VENDOR = (
    r"\bgl(?:dt|rt|rtr|ptt|ft|imt|soat|cbt|agent|oas|ffct)-[\w-]{20,}"  # GitLab's other tokens
    r"|\bpypi-AgE[\w-]{50,}"  # PyPI (a macaroon)
    r"|\bGOCSPX-[\w-]{20,}"  # Google OAuth client secrets
    r"|\bwhsec_[A-Za-z0-9+/=]{24,}"  # Stripe and Svix webhook signing secrets
    r"|\bsk-(?:proj|ant|svcacct|admin)-[\w-]{20,}"  # OpenAI, Anthropic
    r"|\bhf_[A-Za-z]{34}\b"  # Hugging Face
    r"|\bshp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}"  # Shopify
    r"|\bxapp-\d-[\w-]{20,}"  # Slack app-level tokens
    r"|(?<=hooks\.slack\.com/services/)[\w/]{20,}|(?<=hooks\.slack\.com/workflows/)[\w/]{20,}"  # Slack webhooks
    r"|(?<=/api/webhooks/)\d{6,}/[\w-]{20,}"  # Discord webhooks
    r"|(?<=/bot)\d{6,12}:[\w-]{30,}|\b\d{6,12}:AA[\w-]{30,}"  # Telegram bot tokens
    r"|\bdp\.(?:pt|st|sa|ct|scim|audit)\.(?:[\w-]{1,40}\.)?[A-Za-z0-9]{40,}"  # Doppler
    r"|\bSK[0-9a-fA-F]{32}\b"  # Twilio API keys
    r"|\bkey-(?=[a-z]*[0-9])(?=[0-9]*[a-z])[0-9a-z]{32}\b"  # Mailgun API keys (letters and digits, not a word)
    r"|\b(?:AAAA[\w-]{7}:)?APA91b[\w-]{100,}"  # Firebase Cloud Messaging: a server key, a registration token
    r"|\bEAA[A-Za-z0-9]{80,}"  # Facebook access tokens (EAAB…, EAAG…)
    r"|\bsq0(?:atp|csp|idb)-[\w-]{22,}"  # Square access tokens and application secrets
    r"|\bek_(?:live|test)_[A-Za-z0-9]{20,}"  # Stripe ephemeral keys
)
_VENDOR_RE = re.compile(_VENDOR)
_VENDOR_PREFIXES = (
    "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glsoat-", "glcbt-", "glagent-", "gloas-", "glffct-", "pypi-AgE",
    "GOCSPX-", "whsec_", "sk-proj-", "sk-ant-", "sk-svcacct-", "sk-admin-", "hf_", "shpat_", "shpss_", "shpca_",
    "shppa_", "xapp-", "hooks.slack.com/", "/api/webhooks/", ":AA", "/bot", "dp.pt.", "dp.st.", "dp.sa.", "dp.ct.",
    "dp.scim.", "dp.audit.", "SK", "key-", "APA91b", "EAA", "sq0", "ek_live_", "ek_test_",
)


def _unambiguous_sub(m: re.Match) -> str:
    """An AWS access key id with the secret key after it (`AKIA…,wJalr…` as the console's credentials file has them,
    `AKIA…:wJalr…`) loses both, the separator kept: the secret alone is 40 characters a device id could be."""
    return MARK if m["aws_sep"] is None else MARK + m["aws_sep"] + MARK


def _unambiguous_text(text: str) -> str:
    r"""`_UNAMBIGUOUS_RE.sub(_unambiguous_sub, text)`, in time linear in the text's length: a JWT is looked for only
    from the first `eyJ` of each run of `[\w-]` (one from a later `eyJ` of the run reads the same run to the same
    end, and what follows it, so it is found where the first is, or not at all), and the other shapes as before,
    the leftmost match first (no other shape begins with `e`)."""
    others = any(literal in text for literal in _NOT_JWT_LITERALS)
    if "eyJ" not in text:
        return _NOT_JWT_RE.sub(_unambiguous_sub, text) if others else text
    out, position = [], 0
    jwt = _jwt_from(text, 0)
    other = _NOT_JWT_RE.search(text) if others else None
    while jwt or other:
        if jwt and (other is None or jwt.start() < other.start()):
            m, shown = jwt, MARK
        else:
            m, shown = other, _unambiguous_sub(other)  # type: ignore[arg-type]
        out += [text[position : m.start()], shown]  # type: ignore[union-attr]
        position = m.end()  # type: ignore[union-attr]
        if jwt and jwt.start() < position:
            jwt = _jwt_from(text, position)
        if other and other.start() < position:
            other = _NOT_JWT_RE.search(text, position)
    out.append(text[position:])
    return "".join(out)


def _jwt_from(text: str, position: int) -> re.Match | None:
    """The first JWT beginning at `position` or after it: a match of `_JWT`, or of `_JWT_STANDARD` whose first two
    parts hold `+`, `/` or `=`. Each is tried from the first `eyJ` of each run of its alphabet alone (a later `eyJ` of
    the run reads the same run to the same end, and what follows it, so it is found where the first is, or not at
    all)."""
    url_end = standard_end = position
    while (at := text.find("eyJ", position)) >= 0:
        if at >= standard_end:
            if (m := _JWT_STANDARD.match(text, at)) and _standard_alphabet(m.group()):
                return m
            standard_end = _STANDARD_RUN.match(text, at).end()
        if at >= url_end:
            if m := _JWT.match(text, at):
                return m
            url_end = _WORD_RUN.match(text, at).end()
        position = max(at + 3, min(url_end, standard_end))  # (the next `eyJ` either may begin at)
    return None


def _standard_alphabet(token: str) -> bool:
    """Whether a JWT's first two parts are standard base64 (hold `+`, `/` or `=`)."""
    head, _, rest = token.partition(".")
    payload = rest.partition(".")[0]
    return any(c in head or c in payload for c in "+/=")


def _jwt_fullmatch(text: str) -> bool:
    return _JWT.fullmatch(text) is not None or (m := _JWT_STANDARD.fullmatch(text)) is not None and \
        _standard_alphabet(m.group())


def _vendor_sub(text: str) -> str:
    return _VENDOR_RE.sub(MARK, text) if any(p in text for p in _VENDOR_PREFIXES) else text


_CANDIDATE = re.compile(r"[A-Za-z0-9+/_\-~]{20,}={0,2}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WORDY = re.compile(r"[A-Z]?[a-z]{3,}")
_WORD_PART = re.compile(r"[A-Za-z]?[a-z0-9_\-.]*")


def looks_random(text: str) -> bool:
    """Whether a run of token characters (no spaces) is a long random token: hex of 32+ digits; 20+ characters
    mixing upper and lower case that do not read as words (camelCase identifiers do); or 24+ letters of one case and
    digits that do not read as words either (`q8v3nj4kqr1kd2m6g0v9ll5c07`, base32 `XK3XFEWFHHI3…`, not
    `python312sitepackages`)."""
    core = text.rstrip("=")
    n = len(core)
    if n < 20 or core.isdigit() or _UUID.fullmatch(core):
        return False
    if _random_piece(core):
        return True  # a random tail behind a vendor's prefix: dop_v1_<64 hex>, shpat_<32 hex>
    if _HEX.fullmatch(core):
        return n >= 32
    parts = re.split(r"[/+]", core)
    if len(parts) > 1 and sum(bool(_WORD_PART.fullmatch(p)) for p in parts) * 2 > len(parts):
        return False  # a path or phrase of words: lib/python3.12/site-packages, 27+and+DayId+le+datetime
    upper = sum(c.isupper() for c in core)
    lower = sum(c.islower() for c in core)
    digits = sum(c.isdigit() for c in core)
    if upper >= 2 and lower >= 2:
        wordy = _wordy(core)
        return (
            wordy <= n * (0.5 if n < 40 else 0.7) and (digits >= 1 or n >= 24 or wordy <= n * 0.25)
            and _entropy(core) >= 3.5
        )
    if n >= 24 and digits >= 2 and lower + upper >= 4 and core.isalnum():
        switches = sum(a.isdigit() != b.isdigit() for a, b in zip(core, core[1:]))
        return (switches * 5 >= n and digits >= 4 or _wordy(core.lower()) <= n * 0.3) and _entropy(core) >= 3.3
    return False


def _random_piece(core: str) -> bool:
    """Whether the longest piece of `core` between `_`, `-` or `~` (not all of it) is a random token alone."""
    pieces = _PIECE_SPLIT.split(core)
    longest = max(pieces, key=len)
    return len(pieces) > 1 and len(longest) >= 20 and looks_random(longest)


_PIECE_SPLIT = re.compile(r"[_\-~]")
_VOWELS = frozenset("aeiouy")
_CONSONANTS = re.compile("[b-df-hj-np-tv-xz]{5,}")


def _wordy(text: str) -> int:
    """How many characters of `text` are in runs that read as words: 3+ lower-case letters (after an optional
    capital) with vowels between their consonants (`Profile`, `Settings`; not `zfpwcq`)."""
    total = 0
    for run in _WORDY.findall(text):
        lower = run.lower()
        vowels = sum(c in _VOWELS for c in lower)
        if vowels and vowels * 5 >= len(lower) and not _CONSONANTS.search(lower):
            total += len(run)
    return total


_FILE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"\x1f\x8b", b"PK\x03\x04", b"RIFF", b"\x00\x00\x00")


def random_secret(text: str) -> bool:
    """`looks_random`, except base64 that holds a file (PNG, JPEG, PDF, gzip…) or text without a credential in it
    (a base64 JSON document is data; base64 of a SAML assertion or of `user:password` is not)."""
    if not looks_random(text):
        return False
    if len(text) < 48:
        return True
    try:
        altchars = b"-_" if "-" in text or "_" in text else None
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars)
    except ValueError:
        return True
    if decoded.startswith(_FILE_MAGIC):
        return False
    try:
        inner = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if sum(c.isprintable() or c.isspace() for c in inner) < len(inner) * 0.95:
        return True
    lowered = inner.lower()
    return "saml" in lowered or "assertion" in lowered or redact_text(inner, FULL) != inner


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def is_credential_value(text: str, mode: Mode = FULL) -> bool:
    """Whether the whole of `text` is a credential by its shape."""
    text = text.strip()
    if _UNAMBIGUOUS_RE.fullmatch(text) or _VENDOR_RE.fullmatch(text) or _SCHEME_VALUE.fullmatch(text) and \
            _scheme_credential(text):
        return True
    return mode == FULL and (_CANDIDATE.fullmatch(text) is not None and random_secret(text) or
                             _BASE64_RUN.fullmatch(text) is not None and _base64_user_password(text))


# A run of base64 (8+ characters, a digit, `+`, `/` or padding among them: not a word) that may encode
# `user:password`, as a Basic authorization does without its scheme's name (`u=YWxpY2U6aHVudGVyMg==`): too short to
# look random
_BASE64_RUN = re.compile(r"(?<![\w+/\-])(?=[A-Za-z+/]*[0-9+/=])[A-Za-z0-9+/]{8,200}={0,2}(?![\w+/=\-])")
# (not JSON, `{"sleep":3}`, nor a URL, `https://…`: base64 of data)
_USER_PASSWORD = re.compile(r"(?![A-Za-z][\w+.\-]*://)[^\s:{}\[\]\"<>]{1,64}:[^\s]{1,128}")
# ...but not, under an id's name (`id`, `node_id`: a JSON key, a table's column), the global object ids APIs write as
# base64 of `Type:id`: Relay's (`User:42`, `Order:<uuid>`: a type name, then a number or a UUID) and GitHub's legacy
# node ids (`04:User1`, `07:License13`: the type name's length, the type, its number), which generic tables keep as
# ids; elsewhere one is a user and a password or PIN like any other (`Alice:4821`)
_GLOBAL_ID = re.compile(
    r"[A-Z][A-Za-z]{2,}:(?:\d+|[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12})"
    r"|(?P<length>\d{2,3}):(?P<type>[A-Z][A-Za-z]+)\d+"
)
# ...and such a run in free text (`Synced with YWxpY2U6aHVudGVy`, no name before it), searched for at less cost: both
# cases, and the base64 of a `:` between printable characters at one of its three places in a group of three bytes
# (`O[i-n]`, `[DTjz][op]`, `[AEIMQUYcgkosw048]6`), so that words, numbers and ids are seldom decoded
_BASE64_COLON = "(?:O[i-n]|[DTjz][op]|[AEIMQUYcgkosw048]6)"
_BASE64_USERINFO = re.compile(
    r"(?<![\w+/\-])(?=[a-z0-9+/]*[A-Z])(?=[A-Z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*?" + _BASE64_COLON + ")"
    r"[A-Za-z0-9+/]{8,200}={0,2}(?![\w+/=\-])"
)


def _base64_user_password(run: str) -> bool:
    """Whether a base64 run encodes printable ASCII `user:password` (a name, a colon and a password)."""
    if len(run) % 4 == 1 or run.islower() or run.isupper() or run.isdigit():  # (base64 of text mixes cases)
        return False
    try:
        decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except ValueError:
        return False
    if not decoded.isascii() or not (text := decoded.decode("ascii")).isprintable():
        return False
    return _USER_PASSWORD.fullmatch(text) is not None


_BASE64_ID = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")


def global_id(value: str) -> bool:
    """Whether a value is base64 of a Relay or GitHub global object id (`_GLOBAL_ID`): kept under an id's name."""
    if len(value) > 256 or _BASE64_ID.fullmatch(value) is None:
        return False
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
    except ValueError:
        return False
    m = _GLOBAL_ID.fullmatch(text)
    return m is not None and (m["length"] is None or int(m["length"]) == len(m["type"]))


def _base64_user_password_sub(m: re.Match) -> str:
    return MARK if _base64_user_password(m.group()) else m.group()


def _scheme_credential(text: str) -> bool:
    m = _SCHEME_VALUE.match(text)
    return m is not None and _credential_after_scheme(m)


def _credential_after_scheme(m: re.Match) -> bool:
    """`Basic plan`, `token expired` are words: a scheme's credential has 8+ characters and is not a word."""
    value = m.group(2)
    return len(value) >= 8 and not _is_words(value)


def _is_words(text: str) -> bool:
    """Letters alone (with `_ - .` between words) that read as words: `invalid_grant`, `SLEEP_SCORE`, `invalidGrant`,
    not `dXNlcjpwYXNz`, nor lower-case letters without vowels between their consonants (`kqzvbnmrtw`)."""
    if not _PLAIN_WORD.fullmatch(text):
        return False
    letters = sum(c.isalpha() for c in text)
    return text.upper() == text or _wordy(text) * 4 >= letters * 3


# --- free text ------------------------------------------------------------------------------------------------

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]{1,15}://[^\s\"'<>`]+")
# (after `scheme:/` too: a path argument's `//` is one slash by the time it is a Path, `https:/alice:PW@host/…`;
# `(?<=/)` first, the cheap test at every position)
_USERINFO = re.compile(r"(?<=/)(?:(?<=//)|(?<=[A-Za-z0-9+.\-]:/))[^/\s@?#\"'<>]+@")
# ...and `user:password@host` without a scheme before it, as logs and connection strings write it (`bob:…@db:5432`,
# Go's `root:…@tcp(db:3306)/app`): the password replaced where it is no word, number or date (`From:alice@example.com`
# stays) or the host is a Go DSN's protocol
_BARE_USERINFO = re.compile(
    r"(?<![\w.+\-%/@:])[\w.\-+%]{1,64}:(?P<password>[^\s:@/\\\"'<>()\[\]{},;]{1,128})@"
    r"(?=(?P<dsn>(?:tcp|tcp6|unix|udp)\()|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d{1,5})?(?![\w.\-@]))"
)


def _bare_userinfo_sub(m: re.Match) -> str:
    password = m["password"]
    if password in (MARK, SEGMENT) or not (m["dsn"] or _tokenish(password)):
        return m.group()
    return m.group()[: m.start("password") - m.start()] + MARK + "@"


# A name's letters may carry marks (Latin, Indic, Thai: पासवर्ड); its separator may be CJK text's full-width colon
# or equals sign (密码：…, up to a full-width comma or semicolon) and spaces may be no-break ones.
_PAIR = re.compile(
    r"(?P<q>[\"']?)(?P<name>(?:(?<!\d)\d*+[^\W\d]|[$@])[\w.$\-\[\]\u0300-\u036f\u0900-\u0dff\u0e00-\u0e7f]{0,63}+)(?P=q)"
    # (a name begins where its digits do: one tried from each digit of a run of them would cost the run's length
    # squared, and finds nothing the run's first digit does not; a name shorter than the run of its characters is
    # followed by one of them, never by a quote, a space or a separator: the engine is not left to try each length)
    r"(?P<sep>[ \t\u00a0\u3000]*(?:=>|:=|[:=\uff1a\uff1d])[ \t\u00a0\u3000]*)"
    r"(?P<pre>(?:[bBuUrR]|[bB][rR]|[rR][bB])(?=[\"']))?"  # (a Python string's prefix: `'password': b'…'`)
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|\{[^{}\"'\n]*\}"  # (a connection string's `PWD={…}`)
    r"|[\w.]++\([^()\n]{0,256}+\)"  # (a call: SQL's `PASSWORD('…')`, `decode("…")`)
    # (`&`, `;` or `,` ends the value only before the next pair's name, which digits alone are not; `?` separates no
    # pairs: it is the value's. Possessive: no backtracking mark a character)
    r"|(?:[^\s&;,\"'<>(){}\[\]\uff0c\uff1b]++|[&;,](?!(?=[\w.\-\[\]%$]++=)[\d.\-\[\]%]*+(?:[^\W\d]|\$)))++)"
)
_SEPARATORS = (":", "=", "\uff1a", "\uff1d")  # what every pair's separator holds
_QUOTED = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"")


def redact_text(text: str, mode: Mode = FULL) -> str:
    """Free text (a message, a header-like line, a body that is neither JSON nor a form) with its credentials
    replaced: URLs' userinfo and secret parameters, `name=value` and `"name": "value"` pairs with a credential's
    name, authorization schemes' credentials, and credential-shaped runs, in percent-encoded text too."""
    return _text(text, mode, _PERCENT_LEVELS)


# --- bounded work on text nested in text -------------------------------------------------------------------------
# Text is looked into where it nests (a URL in a parameter of a URL, percent-encoded text in percent-encoded text,
# a path segment holding a URL, multipart in multipart), and some of it is looked into twice (a URL's parameter by
# the URL and by the percent-encoded run it is): a participant's kilobyte of URLs nested in URLs would cost work
# doubling with each level, and Python's recursion. The text a call of the policy is given (the outermost) buys
# `_WORK_FACTOR` times its length of nested text (at least `_WORK_FLOOR`), `_NESTING` levels deep at most; text
# nested beyond either makes the outermost text replaced whole (`MARK`): never less redacted, never unbounded.
_WORK_FACTOR = 32
_WORK_FLOOR = 1 << 16
_NESTING = 24
_WORK: ContextVar[list[int] | None] = ContextVar("redaction_work", default=None)  # [work left, levels open]


class _TooIntricate(Exception):
    pass


def _within_budget(size: int, whole: Any, function: Any, *args: Any) -> Any:
    """`function(*args)` on a text of `size`, costed against the outermost call's budget; `whole` where the outermost
    text went over it."""
    work = _WORK.get()
    if work is None:  # the outermost text: its budget
        token = _WORK.set([max(_WORK_FLOOR, _WORK_FACTOR * size), 0])
        try:
            return function(*args)
        except _TooIntricate:
            return whole
        finally:
            _WORK.reset(token)
    work[0] -= size
    if work[0] < 0 or work[1] >= _NESTING:
        raise _TooIntricate
    work[1] += 1
    try:
        return function(*args)
    finally:
        work[1] -= 1


def _text(text: str, mode: Mode, percent_levels: int) -> str:
    if not text:
        return text
    return _within_budget(len(text), MARK, _text_within, text, mode, percent_levels)


def _text_within(text: str, mode: Mode, percent_levels: int) -> str:
    if "eyJ" in text and ("\n" in text or "\\n" in text):  # (first: an authorization scheme's takes its first line)
        text = _WRAPPED_JWT.sub(_wrapped_jwt_sub, text)
    # (a query holds no device's ids; nor does a value a path names: device text's `https://…/reset/<token>`)
    text = _URL.sub(lambda m: redact_url(m.group(), FULL, path_mode=mode, named=True), text)
    if "/" in text:  # a path without scheme or host: href="/reset/<token>", `/api/token/…`, `go to /reset/…`
        text = _RELATIVE_PATH.sub(_relative_path_sub, text)
    if percent_levels and "%" in text:
        text = _PERCENT_RUN.sub(lambda m: _percent_sub(m.group(), mode, percent_levels - 1), text)
    if percent_levels and "\\u00" in text and _LETTER_ESCAPE.search(text):  # "pass\u0077ord": a name spelt in escapes
        decoded = _LETTER_ESCAPE.sub(_unescape, text)
        redacted = _text(decoded, mode, percent_levels - 1)
        if redacted != decoded:
            text = redacted  # (written unescaped: where the escapes were cannot be told once text was replaced)
    if percent_levels and "&" in text and _ENTITY.search(text):  # {&quot;token&quot;:…} in a page's attribute
        text = _ENTITY_RUN.sub(lambda m: _entity_sub(m.group(), mode, percent_levels - 1), text)
    if percent_levels and "\\" in text and _HIDING_ESCAPE.search(text):  # JSON.parse("{\"token\":…}") in a script
        text = _ESCAPED_STRING.sub(lambda m: _escaped_sub(m.group(), mode, percent_levels - 1), text)
    if percent_levels and '\\"' in text:  # a log's {\"password\":\"…\"}: JSON escaped, in no quoted string
        text = _ESCAPED_RUN.sub(lambda m: _escaped_run_sub(m.group(), mode, percent_levels - 1), text)
    text = _USERINFO.sub(MARK + "@", text)
    if "@" in text:
        text = _BARE_USERINFO.sub(_bare_userinfo_sub, text)
    text = _scheme_values(text)
    if "</" in text:  # (before the elements: a label `<Key>apiKey</Key>` is no key's value)
        text = _XML_PAIR.sub(_xml_pair_sub, text)
        text = _HTML_LABEL.sub(_html_label_sub, text)
    text = _XML_ELEMENT.sub(_xml_sub, text)
    if "<![CDATA[" in text:
        text = _XML_CDATA_ELEMENT.sub(_xml_sub, text)
    if "<" in text:
        text = _TAG.sub(_tag_sub, text)
    text = _pairs(text)
    if " " in text or "\t" in text:
        text = _spaced_pairs(text)
    if " -" in text or "/" in text or "|" in text:  # a command line's: mysql -p…, curl -u user:…, sqlplus bob/…@db
        text = _command_flags(text)
    if "," in text and ("\"" in text or "'" in text):  # setRequestHeader("X-Api-Key", "…"), ["password", "…"]
        text = _QUOTED_PAIR.sub(_quoted_pair_sub, text)
    if "'" in text or '"' in text or "`" in text or "input_value=" in text:  # an error's `'x' for field password`
        text = _quoted_inputs(text)
    text = _vendor_sub(_unambiguous_text(text))
    text = _BASE64_USERINFO.sub(_base64_user_password_sub, text)  # too short to look random; device text too
    if mode == STRICT and "eyJ" in text:  # (FULL finds such runs by their randomness, `random_secret`)
        text = _BASE64_JSON.sub(_base64_json_sub, text)
    if mode == FULL:
        text = _CANDIDATE.sub(lambda m: MARK if random_secret(m.group()) else m.group(), text)
    return text


# A path in text without a scheme and host, of two segments or more, as a value is written: the whole text, or after a
# space, a quote, `=` or `(` (a page's href="/reset/<token>", a JSON value `/confirm/…`, url=/…, prose's `go to
# /reset/…`; not a URL's path, which `_URL` judged, nor `3/4`). Each is found from its `/` at C speed, what is before
# it asked after.
_RELATIVE_PATH = re.compile(r"(?:/[\w.\-~%]++){2,}+")
_PATH_AFTER = frozenset("\"'=(` \t\r\n")


def _relative_path_sub(m: re.Match) -> str:
    """A path `_RELATIVE_PATH` found, judged as a URL's path where a segment before its last names a credential or
    an action (a token of a random shape is replaced wherever it is, by the rules after)."""
    path = m.group()
    if m.start() and m.string[m.start() - 1] not in _PATH_AFTER:
        return path
    segments = path.split("/")
    naming = [not s.isdigit() and _names_a_value(s) for s in segments]
    if not any(naming[:-1]):
        return path
    return "/".join(MARK if i > 1 and (naming[i - 1] or naming[i - 2]) and _value_named(segments, i) else s
                    for i, s in enumerate(segments))


@limits.short_cache(1 << 14)
def _names_a_value(segment: str) -> bool:
    """Whether a path segment names a credential or an action, whose value the segments after it may be."""
    return credential_name(unquote(segment)) is not None or not _ACTIONS.isdisjoint(
        w.lower() for w in _ACTION_WORDS.findall(unquote(segment)))


# A JWT split across lines (wrapped at a width in a log or a page, the lines indented; or their breaks written as
# `\n`): a run from `eyJ` whose next lines hold nothing but the token's characters, the last one up to what follows
_WRAPPED_JWT = re.compile(
    r"(?<![\w.+/=\-])eyJ[\w.+/=\-]*+(?:(?:\r?\n|(?:\\r)?\\n)[ \t]*[\w.+/=\-]++(?=[ \t]*(?:\r?\n|(?:\\r)?\\n)))*"
    r"(?:(?:\r?\n|(?:\\r)?\\n)[ \t]*[\w.+/=\-]++(?![ \t]+\w))"  # (not a line of words after it)
)
_LINE_BREAKS = re.compile(r"\s+|(?:\\r)?\\n")


def _wrapped_jwt_sub(m: re.Match) -> str:
    """A run `_WRAPPED_JWT` found, replaced where its lines joined are a JWT."""
    return MARK if _jwt_fullmatch(_LINE_BREAKS.sub("", m.group())) else m.group()


_BASE64_JSON = re.compile(r"(?<![\w+/\-])eyJ[A-Za-z0-9+/_\-]{12,}={0,2}(?![\w+/=\-])")  # base64 of `{"`


def _base64_json_sub(m: re.Match) -> str:
    """A base64 JSON object (`eyJwYXNzd29yZCI6…`: {"password": …}, a JWT's part without the others) that holds a
    credential, replaced: in device text too, where no id is base64 of text."""
    run = m.group()
    try:
        altchars = b"-_" if "-" in run or "_" in run else None
        inner = base64.b64decode(run + "=" * (-len(run) % 4), altchars=altchars).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return run
    return MARK if redact_text(inner, FULL) != inner else run


_PERCENT_RUN = re.compile(r"(?<![^\s\"'<>`])[^\s\"'<>`]*%[^\s\"'<>`]*")  # each run from its start: linear
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_PERCENT_DECODED = re.compile(r"[=:@/<\s]")  # what short decoded text needs to hold a credential (pairs, URLs…)


_PERCENT_LEVELS = 3  # percent-encoded text inside percent-encoded text, down to this many levels


def _percent_sub(run: str, mode: Mode, percent_levels: int) -> str:
    """A run of percent-encoded text (`https%3A%2F%2Fhost%2Fcb%3Ftoken%3D…`, `password%3D…`): redacted as the text
    it encodes, and encoded again where that lost a credential."""
    if not _PERCENT.search(run):
        return run
    decoded = unquote(run)
    if decoded == run or (len(decoded) < 16 and not _PERCENT_DECODED.search(decoded)):
        return run  # a word with an accent, `100%`: nothing a credential needs
    redacted = _text(decoded, mode, percent_levels)
    return run if redacted == decoded else quote(redacted, safe="/:@?&=;,+!$*()~'")


# HTML's character references of the characters that JSON, pairs and URLs are written with (`&quot;`, `&#61;`…), and
# a run of text holding one, from its start (a run is tried once: linear), up to a quote, a tag or a line's end
_ENTITY = re.compile(r"&(?:quot|apos|#0*(?:34|39|58|61)|#[xX]0*(?:22|27|3[aAdD]));")  # (not &amp;: `a=1&amp;b=…`
_ENTITY_RUN = re.compile(  # shows its pairs as they are)
    r"(?<![^\"'<>\n])[^\"'<>\n]*&(?:quot|apos|#0*(?:34|39|58|61)|#[xX]0*(?:22|27|3[aAdD]));[^\"'<>\n]*")


def _entity_sub(run: str, mode: Mode, percent_levels: int) -> str:
    """A run of HTML-escaped text (a data attribute's JSON, `a=1&amp;token=…`): redacted as the text it stands for,
    and escaped again where that lost a credential."""
    decoded = html.unescape(run)
    if decoded == run:
        return run
    redacted = _text(decoded, mode, percent_levels)
    return run if redacted == decoded else html.escape(redacted, quote=True)


# A backslash escape of JavaScript's and JSON's strings; a quoted string holding one is redacted as the text it stands
# for (`_QUOTED`'s strings: a script's JSON.parse("{\"token\":…}"), 'https://…?access_token\x3d…')
_ESCAPE = re.compile(r"\\(?:[\"'\\/bfnrt]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")
# what hides a pair or a URL: an escaped quote, slash, `=`, `:`, `&`, `?` or `@` (not \n, \t, \u00e9)
_HIDING_ESCAPE = re.compile(r"\\(?:[\"'/]|(?:x|u00)(?:2[2267fF]|3[aAdDfF]|40))")
# A quoted string of a script or JSON: from a quote no backslash escapes (each is read once: linear), to its end
_ESCAPED_STRING = re.compile(r"""(?<!\\)"(?:[^"\\\n]|\\.)*+"|(?<!\\)'(?:[^'\\\n]|\\.)*+'""")
_JS_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _escaped_sub(quoted: str, mode: Mode, percent_levels: int) -> str:
    inner = quoted[1:-1]
    if "\\" not in inner or not _HIDING_ESCAPE.search(inner):
        return quoted
    decoded = _ESCAPE.sub(_unescape, inner)
    redacted = _text(decoded, mode, percent_levels)
    if redacted == decoded:
        return quoted
    shown = json.dumps(redacted, ensure_ascii=False)[1:-1]
    return quoted[0] + (shown.replace("'", "\\'") if quoted[0] == "'" else shown) + quoted[0]


# Text escaped for a string but written outside one: a run from an escaped quote to the last before a quote that no
# backslash escapes or a line's end (a log line's `body {\"password\":\"…\"}`, a JSON string's value as parsed;
# never across a string's own quotes); and the escape of a letter, a digit, `_` or `-`, which no writer needs, so one
# that spells a name (`"pass\u0077ord"`) hides it
_ESCAPED_RUN = re.compile(r'\\"(?:[^"\\\n]|\\.)*\\"')
_LETTER_ESCAPE = re.compile(r"\\u00(?:2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])")


def _escaped_run_sub(run: str, mode: Mode, percent_levels: int) -> str:
    """A run `_ESCAPED_RUN` found, redacted as the text it stands for, and escaped again where that lost a
    credential."""
    decoded = _ESCAPE.sub(_unescape, run)
    redacted = _text(decoded, mode, percent_levels)
    return run if redacted == decoded else json.dumps(redacted, ensure_ascii=False)[1:-1]


def _unescape(m: re.Match) -> str:
    escape = m.group()[1:]
    if escape[0] in "xu":
        return chr(int(escape[1:], 16))
    return _JS_ESCAPES.get(escape, escape)


_XML_ELEMENT = re.compile(r"<((?:[\w.\-]+:)?([\w.\-]+))(\s[^<>]*)?>([^<]*)</\1>")
_XML_CDATA_ELEMENT = re.compile(r"<((?:[\w.\-]+:)?([\w.\-]+))(\s[^<>]*)?>\s*<!\[CDATA\[([^<\]]*)\]\]>\s*</\1>")


def _xml_sub(m: re.Match) -> str:
    """`<Password>…</Password>`, `<wsse:BinarySecurityToken …>…</…>`, `<pin><![CDATA[…]]></pin>`: the element's
    text replaced; so is that of an element labelled by a credential's name in an attribute (Android's saved
    preferences `<string name="auth_token">…</string>`, `<Property Name="Password">…`, `<entry key="api_key">…`)."""
    value = m.group(4)
    if not value.strip() or value.strip() == MARK:
        return m.group(0)
    if not is_credential(m.group(2), value.strip()) and not (
            m.group(3) and any(a.group(1).lower() in _LABEL_ATTRIBUTES and is_credential(a.group(2).strip("\"'"),
                                                                                         value.strip())
                               for a in _ATTRIBUTE.finditer(m.group(3)))):
        return m.group(0)
    return m.group(0)[: m.start(4) - m.start(0)] + MARK + m.group(0)[m.end(4) - m.start(0):]


# `<Name>db_password</Name><Value>…</Value>` (AWS's and SOAP services' parameters, as JSON's {"Name", "Value"})
_XML_PAIR = re.compile(
    r"<((?:[\w.\-]+:)?([\w.\-]+))>([^<]{1,64})</\1>(?:\s*<([\w.:\-]+)>[^<]{0,64}</\4>){0,3}?\s*"  # (<Type>…)
    r"<((?:[\w.\-]+:)?(\w*(?:[Vv]alues?|[Vv]al|[Dd]ata|[Cc]ontent|[Tt]ext)|v|string|integer))(\s[^<>]*)?>([^<]*)</\5>"
)  # (the nearest value element after the label)


# A page's label element (one of HTML's elements that show text, not XML's `<Name>`) and the text after it, past up
# to 4 tags (`<td>Password</td><td>…</td>`, `<b>PIN:</b> …`)
_HTML_LABEL = re.compile(
    r">[ \t]*+(?P<name>[^<>:\n]{2,40}+)(?<![ \t])[ \t]*+:?[ \t]*+"
    r"</(?:td|th|dt|dd|label|b|strong|span|div|p|li|em|i|u|font|legend|small|h[1-6])>"
    r"\s*+(?:<[A-Za-z][^<>]{0,200}+>\s*+){0,4}+"
    r"(?P<value>[^<>\s](?:[^<>\n]{0,126}+(?<![ \t]))?)[ \t]*+<"
)


def _html_label_sub(m: re.Match) -> str:
    """The text after a label element naming a credential, replaced where it is such a name's value in prose."""
    value, kind = m["value"], credential_name(m["name"].strip())
    if kind is None or value == MARK or not (_tokenish(value) or kind == "strong" and _DIGITS_CODE.fullmatch(value)):
        return m.group(0)
    if kind == "weak" and not weak_credential(m["name"].strip(), value):
        return m.group(0)
    return m.group(0)[: m.start("value") - m.start()] + MARK + m.group(0)[m.end("value") - m.start():]


_PLIST_VALUES = frozenset({"string", "data", "integer"})  # an Apple property list's <key>…</key><string>…</string>


def _xml_pair_sub(m: re.Match) -> str:
    """An XML value element after a label element naming a credential (`_LABELS`, `_VALUES`) has its text replaced."""
    value = m.group(8).strip()
    if m.group(2) not in _LABELS or (m.group(6) not in _VALUES and not (
            m.group(2) == "key" and m.group(6) in _PLIST_VALUES)) or value in ("", MARK) or not is_credential(
            m.group(3).strip(), value):
        return m.group(0)
    return m.group(0)[: m.start(8) - m.start(0)] + MARK + m.group(0)[m.end(8) - m.start(0):]


_TAG = re.compile(r"<[A-Za-z][\w:\-]*\s[^<>]*>")
_TAG_NAME = re.compile(r"<([\w:\-]+)")
# (a name from its first character, read once: one tried from each character of a long run without `=` after it
# would cost the run's length squared)
_ATTRIBUTE = re.compile(r"""(?<![\w:\-])([\w:\-]++)\s*+=\s*+("[^"]*"|'[^']*'|[^\s"'>]+)""")
_LABEL_ATTRIBUTES = ("name", "id", "property", "key", "http-equiv")
_VALUE_ATTRIBUTES = ("value", "content", "data-value")


def _tag_sub(m: re.Match) -> str:
    """`<input name="csrf_token" value="…">`, `<meta name="csrf-token" content="…">`: an element labelled by a
    credential's name has its value replaced, and so has a password field whatever its name (`<input
    type="password" name="f2" value="…">`) and an element named by one without a label (`<password value="…"/>`)."""
    tag = m.group(0)
    attributes = {a.group(1).lower(): a for a in _ATTRIBUTE.finditer(tag)}
    label = next((attributes[n].group(2).strip("\"'") for n in _LABEL_ATTRIBUTES if n in attributes),
                 _TAG_NAME.match(tag)[1].rpartition(":")[2])
    if "type" in attributes and attributes["type"].group(2).strip("\"'").lower() == "password":
        label = "password"
    value = next((attributes[n] for n in _VALUE_ATTRIBUTES if n in attributes), None)
    if label is None or value is None:
        return tag
    inner = value.group(2).strip("\"'")
    if inner in ("", MARK) or not is_credential(label, inner):
        return tag
    quote_ = value.group(2)[0] if value.group(2)[:1] in "\"'" else ""
    return tag[: value.start(2)] + f"{quote_}{MARK}{quote_}" + tag[value.end(2):]


def _scheme_sub(m: re.Match) -> str:
    return m.group(0)[: m.start(2) - m.start(0)] + MARK if _credential_after_scheme(m) else m.group(0)


_SCHEME_NAMES = sorted({scheme.lower() for scheme in _SCHEMES})
_SCHEME_SEARCHED = 64


def _scheme_values(text: str) -> str:
    """`_SCHEME_VALUE.sub(_scheme_sub, text)`, the pattern tried only where a scheme's name is in ASCII text (each
    found by `str.find`): tried from every word's start, its 28 names cost a µs a character of text like `a=a=…`.
    Text shorter than `_SCHEME_SEARCHED` is searched by the pattern (cheaper than 28 finds for a header's value)."""
    if len(text) < _SCHEME_SEARCHED or not text.isascii():  # (in any case: `ſ` is an `s` to the pattern, not `lower`)
        return _SCHEME_VALUE.sub(_scheme_sub, text)
    lower = text.lower()
    nexts = [(at, name) for name in _SCHEME_NAMES if (at := lower.find(name)) >= 0]  # each name's next, in a heap
    heapq.heapify(nexts)
    out, position = [], 0
    while nexts:
        start, name = nexts[0]
        if start >= position and (m := _SCHEME_VALUE.match(text, start)):
            out += [text[position:start], _scheme_sub(m)]
            position = m.end()
        if (at := lower.find(name, max(start + 1, position))) >= 0:
            heapq.heapreplace(nexts, (at, name))
        else:
            heapq.heappop(nexts)
    return "".join(out) + text[position:] if out else text


def _pairs(text: str, depth: int = 0) -> str:
    """`name=value`, `name: value` and `'name' => 'value'` pairs with a credential's name lose their values, those
    inside another pair's value too (`href="/reset?token=…"`, `next=/cb?code=…`, `config = "password=…"`), and an
    unquoted value under a name that always holds a credential with the words after it (a passphrase: `Wi-Fi
    password: correct horse battery`), up to the end of the line, a `;` or `,`, or the next pair."""
    if not any(separator in text for separator in _SEPARATORS):  # (no pair; the search costs a µs a character)
        return text
    if any(mark in text for mark in _YAML_MARKS):
        text = _yaml_values(text)
    out, position = [], 0
    for m in _PAIR.finditer(text):
        if m.start() < position:
            continue  # in a passphrase already replaced
        if _YAML_BLOCK.fullmatch(m["value"]):
            continue  # `password: |`: its text, on the lines below, is `_YAML_VALUE`'s
        strong = credential_name(m["name"])
        if strong != "strong" and m.start() and text[m.start() - 1] in " -" and _named_with_words_before(
                text, m.start(), m["name"]):  # security answer: …, recovery code: ABCD-EFGH, mot de passe : …
            strong = "strong"
            shown = _pair_sub(m, depth, named=True)
        else:
            shown = _pair_sub(m, depth)
        end = m.end()
        if shown != m.group(0) and m["value"][:1] not in "\"'" and not m["value"].endswith(("&", ";", ",", ")")) \
                and strong == "strong":  # (not after a call's value: `PASSWORD('…') ok`)
            end = _PHRASE_TAIL.match(text, end).end()
        out += [text[position : m.start()], shown]
        position = end
    if not out:
        return text
    out.append(text[position:])
    return "".join(out)


# A credential's name and its value with no `=` or `:` between, as prose and logs write them (`Your Wi-Fi password
# is Tr0ub4dor`, `use PIN 4821`, `password "…"`, `passwd -> …`, `api key\t…`, `Passwort ist …`): the value judged
# as a weak name's (a token, not a word, a number or a date: `password is incorrect`, `token expired` stay), a PIN's,
# a passcode's or a password's 4 to 10 digits too; a code named by the word before it where the two name a
# credential (`verification code 482913`, not `error code 4041`). Searched for in the text in lower case, where one
# of the names is.
_SPACED_NAMES = ("password", "passwd", "passcode", "passphrase", "pwd", "pw ", "pw\t", "psk", "pin ", "pin\t", "otp ",
                 "otp\t", "secret",
                 "token", "api key", "api_key", "api-key", "apikey", " code", "-code", "пароль", "passwort", "kennwort",
                 "contraseña", "senha", "wachtwoord", "mot de passe", "identified", "requirepass", "masterauth")
_SPACED_PAIR = re.compile(
    r"(?:(?<![\w\-=:/.])|(?<=(?<![\w\-])--))(?P<name>passwords?|passwd|passcode|passphrase|pwd|pw|psk|pin|otp|secret"
    r"|api[ _\-]?key"
    r"|(?:access |refresh |auth |session |bearer )?token|[^\W\d_]{2,14}[ \-]code|(?:one|two)[ \-]time[ \-]code"
    r"|пароль|passwort|kennwort|contraseña|senha|wachtwoord|mot de passe|requirepass|masterauth"
    r"|identified(?:[ \t]+with[ \t]+[\w'\"]{1,64}+)?[ \t]+by(?:[ \t]+(?:values|password))?)"
    r"(?P<sep>(?:[ \t]+(?:for|of|für|von|pour|de|para|voor)[ \t]+[^\s:]{1,64}+)?"  # (whose: `password for bob is …`)
    r"(?:[ \t]+(?:(?:was|has[ \t]+been|is|got|wurde)[ \t]+)?(?:changed|set|reset|updated|geändert)[ \t]+(?:to|auf)"
    r"[ \t]++|[ \t]+(?:is|was|ist|war|es|est|é|är|er|это)(?:[ \t]*+:[ \t]++|[ \t]++)"  # (spaces read once: linear)
    r"|[ \t]*+(?:->|\u2192|:)[ \t]*+|[ \t]+to[ \t]++|[ \t]++))"
    r"(?P<q>[\"'\u201c])?(?P<value>[^\s\"'\u201c\u201d<>=:]{4,128}?)(?(q)[\"'\u201d]|(?=[,;.)]*(?:\s|$)))"
)
_DIGITS_NAMES = frozenset({"pin", "passcode", "otp", "password", "passwords", "passwd", "pwd", "пароль", "passwort",
                           "kennwort", "contraseña", "senha", "wachtwoord", "mot de passe"})
# ...and the names after which any value is a password (SQL's `IDENTIFIED BY …`, Redis's `requirepass …`), and a code
# one-time codes come as in prose: `482913 is your verification code` (the word before `code` not one of data's)
_ALWAYS_NAMES = ("identified", "requirepass", "masterauth")
_SQL_ACCOUNT = re.compile(r"\b(?:(?:create|alter)[ \t]+(?:user|role|login)|grant|connect[ \t]+to)\b")
_CODE_FIRST = re.compile(r"(?<![\w.\-])(?P<value>\d{4,10})[ \t]+(?:is|es|est|ist|é)[ \t]+(?:your|the|ihr|dein|tu|su|"
                         r"votre|ton|seu|o)[ \t]+(?:[^\W\d_]{2,20}[ \t\-]){0,3}?(?P<name>[^\W\d_]{2,20}[ \t\-])?"
                         r"(?:code|pin|passcode|otp|password)\b")


def _spaced_pairs(text: str) -> str:
    lower = text.lower()
    if not any(name in lower for name in _SPACED_NAMES):
        return text
    if len(lower) != len(text):  # (a letter whose lower case is longer: positions would not line up)
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    out, position = [], 0
    spans = []
    for m in _SPACED_PAIR.finditer(lower):
        value = text[m.start("value") : m.end("value")].rstrip(".,;)")
        name = m["name"]
        if value in (MARK, SEGMENT):
            continue
        if name.endswith("code"):  # `verification code 482913`, `your code is 482913`, not `error code 4041`
            kind = credential_name(name)
            if not (kind == "strong" and (_DIGITS_CODE.fullmatch(value) or _tokenish(value)) or
                    kind == "weak" and _DIGITS_CODE.fullmatch(value)):  # (a weak one's digits: `your code …`)
                continue
        elif not (_tokenish(value) or name in _DIGITS_NAMES and _DIGITS_CODE.fullmatch(value) or
                  name.startswith(_ALWAYS_NAMES) and (m["q"] or not name.startswith("identified") or
                                                      _SQL_ACCOUNT.search(lower, 0, m.start()))):
            continue  # (`identified by` a word: SQL's where a user or role is named before it, not prose's)
        spans.append((m.start("value"), m.start("value") + len(value)))
    for m in _CODE_FIRST.finditer(lower) if "code" in lower or "pin" in lower or "pass" in lower else ():
        if m["name"] is None or credential_name(m["name"] + "code") is not None:  # (not `4041 is the error code`)
            spans.append(m.span("value"))
    spans.sort()
    return _replaced_values(text, [s for i, s in enumerate(spans) if not i or s[0] >= spans[i - 1][1]])


# A command line's flags that give a credential: a flag of a credential's name, one dash or two, before its value
# (`-storepass …`, `-pw …`, `--db-pass …`); `user:password` after a user's flag (`curl -u`, `--user`, `--proxy-user`,
# httpie's `-a`/`--auth`, smbclient's `-U user%password`); and the short flag of a password of the commands that
# take one so, in the rest of their command (to a line's end, `|`, `;` or `&`): glued to mysql's, MariaDB's, 7-Zip's
# and rar's `-p` (their `-p` alone asks for one), or after sshpass's, docker login's and mongo's `-p`, redis-cli's `-a`,
# the OpenLDAP tools' `-w`, sqlcmd's, bcp's and zip's `-P`
_FLAG_VALUE = r"""(?:'(?P<v1>[^'\n]{1,256})'|"(?P<v2>[^"\n]{1,256})"|(?P<v3>[^\s'"]{1,256}))"""
# (each from its `-`, at C speed; whether a space or a quote is before it is asked of each match)
_NAMED_FLAG = re.compile(r"--?+(?P<name>[A-Za-z][\w.\-]{1,40}+)(?=[ \t]++" + _FLAG_VALUE + ")")
_USER_FLAG = re.compile(r"(?:-[uUa]|--user|--proxy-user|--auth)(?:[ \t]++|=)?(?P<q>['\"]?)"
                        r"(?P<user>[^\s:%'\"@/]{1,64}+)[:%](?P<v3>[^\s'\"]{1,256}+)")
_FLAG_AFTER = frozenset(" \t\r\n'\"")
_COMMAND_WORDS = ("mysql", "mariadb", "7z", "rar", "sshpass", "docker", "podman", "mongo", "redis-cli", "ldap",
                  "sqlcmd", "bcp", "zip")
_COMMAND = re.compile(r"(?<![\w\-./])(?P<command>mysql\w*|mariadb[\w\-]*|7za?|rar|unrar|sshpass|"
                      r"(?:docker|podman)[ \t]+login|mongo(?:sh|dump|restore|export|import)?|redis-cli|ldap[a-z]+|"
                      r"sqlcmd|bcp|zip|unzip)"
                      r"(?![\w\-])[^\n|;&]*")
_GLUED = ("mysql", "mariadb", "7z", "rar", "unrar")
_SHORT_FLAGS = {"sshpass": "p", "docker": "p", "podman": "p", "mongo": "p", "redis-cli": "a", "ldap": "w",
                "sqlcmd": "P", "bcp": "P", "zip": "P", "unzip": "P"}
_SHORT_FLAG = {f: re.compile(rf"(?<=\s)-{f}[ \t]*+" + _FLAG_VALUE) for f in "paPw"}
_GLUED_FLAG = re.compile(r"(?<=\s)-p" + _FLAG_VALUE)
# ...Oracle's tools' `user/password` (`sqlplus bob/…@db`, `expdp system/… schemas=…`, `sqlldr userid=bob/…`), a
# connect string after a command's name; and `user/password@host` without one where the password is a token
_ORACLE = re.compile(r"(?<![\w\-./])(?:sqlplus|sqlldr|expdp|impdp|rman|dgmgrl)(?![\w\-])[^\n|;&]*")
_CONNECT = re.compile(r"(?<=[\s=])[\w$#.]{1,64}+/(?P<v3>[^\s@/'\"]{1,128}+)(?=@|\s|$)")
_BARE_CONNECT = re.compile(r"(?<![\w.+\-%/@:])[A-Za-z][\w$#.]{0,63}+/(?P<v3>[^\s@/:'\"<>]{1,128}+)@(?=[A-Za-z/])")
# ...and what a shell line echoes into a command that reads a password from its input (`echo 'bob:…' | chpasswd`,
# `echo … | passwd --stdin bob`, `echo … | sudo -S …`, `echo … | docker login --password-stdin`): the echoed text
# (past its `user:` for chpasswd)
_PIPED = re.compile(r"""(?<![\w\-])echo(?:[ \t]+-[neE]+)*[ \t]+(?:'(?P<v1>[^'\n]{1,256})'|"(?P<v2>[^"\n]{1,256})"|"""
                    r"""(?P<v3>[^\s'"|;&]{1,256}))[ \t]*\|[ \t]*(?:sudo[ \t]+(?:-[^S\s]\S*[ \t]+)*)?"""
                    r"(?P<reader>chpasswd|passwd|kinit|cryptsetup|sudo|docker|podman|helm|htpasswd|smbpasswd)"
                    r"(?![\w\-])(?P<rest>[^\n|;&]*)")
_STDIN_READERS = ("chpasswd", "passwd", "kinit", "cryptsetup", "smbpasswd")  # (the others with -S, -i or --…-stdin)


def _flag_value(m: re.Match) -> tuple[int, int, str]:
    group = next(g for g in ("v1", "v2", "v3") if m.group(g) is not None)
    return m.start(group), m.end(group), m.group(group)


def _replaced_values(text: str, spans: list[tuple[int, int]]) -> str:
    out, position = [], 0
    for start, end in spans:
        out += [text[position:start], MARK]
        position = end
    return "".join(out) + text[position:] if out else text


def _command_flags(text: str) -> str:
    spans = []
    for m in _NAMED_FLAG.finditer(text):
        if m.start() and text[m.start() - 1] not in _FLAG_AFTER:
            continue
        start, end, value = _flag_value(m)
        if credential_name(m["name"]) == "strong" and value not in (MARK, SEGMENT) and not value.startswith("-") \
                and (_tokenish(value) or _DIGITS_CODE.fullmatch(value)):
            spans.append((start, end))
    for m in _USER_FLAG.finditer(text):
        if (m.start() and text[m.start() - 1] not in _FLAG_AFTER) or m["v3"] in (MARK, SEGMENT) or \
                m["user"].isdigit() and m["v3"].isdigit():  # -u 1000:1000: a user and group
            continue
        spans.append((m.start("v3"), m.end("v3")))
    lower = text.lower()
    for m in _COMMAND.finditer(text) if any(word in lower for word in _COMMAND_WORDS) else ():
        command = m["command"].lower()
        family = next((c for c in (*_SHORT_FLAGS, *_GLUED) if command.startswith(c)), command)
        flag = _GLUED_FLAG if family in _GLUED else _SHORT_FLAG.get(_SHORT_FLAGS.get(family, ""))
        for f in flag.finditer(text, m.end("command"), m.end()) if flag else ():
            start, end, value = _flag_value(f)
            if value not in (MARK, SEGMENT) and not value.startswith("-"):
                spans.append((start, end))
    for m in _ORACLE.finditer(text) if "/" in text else ():
        spans += [c.span("v3") for c in _CONNECT.finditer(text, m.start(), m.end()) if c["v3"] not in (MARK, SEGMENT)]
    for m in _BARE_CONNECT.finditer(text) if "/" in text and "@" in text else ():
        if _tokenish(m["v3"]) and m["v3"] not in (MARK, SEGMENT):
            spans.append(m.span("v3"))
    for m in _PIPED.finditer(text) if "|" in text else ():
        start, end, value = _flag_value(m)
        reader, rest = m["reader"], m["rest"]
        if value in (MARK, SEGMENT) or reader not in _STDIN_READERS and not (
                "stdin" in rest or reader == "sudo" and " -S" in f" {rest}" or reader == "htpasswd" and " -i" in rest):
            continue
        if reader == "chpasswd" and ":" in value:
            start += value.index(":") + 1
        spans.append((start, end))
    spans = sorted(set(spans))
    return _replaced_values(text, [s for i, s in enumerate(spans) if not i or s[0] >= spans[i - 1][1]])


# A name and a value quoted one after the other with a comma between: a script's call (`setRequestHeader("X-Api-Key",
# "…")`, `localStorage.setItem('pin', '…')`), a `[name, value]` list in text; the name first at a quote that does
# not end a string (linear)
_QUOTED_PAIR = re.compile(
    r"(?<![\w\\])([\"'])([\w.\-]{1,64}+)\1[ \t]*,[ \t]*([\"'])((?:(?!\3)[^\\\n]|\\.){1,512}+)\3(?=[ \t]*[)\]])")


def _quoted_pair_sub(m: re.Match) -> str:
    value = m.group(4)
    if value in (MARK, SEGMENT) or not is_credential(m.group(2), value):
        return m.group(0)
    return m.group(0)[: m.start(4) - m.start(0)] + MARK + m.group(0)[m.end(4) - m.start(0):]


# What an error message quotes of a field's input: `Invalid value 'x' for field password`, `'x' is not valid for
# parameter "api_key"` (the value, then the field named after it), and pydantic's `input_value='x'` on the lines below
# the field's place (`password\n  Input should be … [type=…, input_value='x', …]`, `body -> pin`)
_QUOTED_FOR = re.compile(
    r"""(?P<q>['"`])(?P<value>[^'"`\n]{1,256}+)(?P=q)(?:[ \t]+[\w\-]{1,24}){0,4}?[ \t]+(?:for|of|in|to)[ \t]+"""
    r"(?:(?:the|a|an|be|valid|field|parameter|param|property|attribute|key|column|argument|input|option|setting|"
    r"header|variable|value)[ \t]+){0,3}(?P<n>['\"`]?)(?P<name>[\w.\-]{1,64})(?P=n)(?![\w.\-])")
_INPUT_VALUE = re.compile(r"""\binput_value=(?:'(?P<v1>[^'\n]{1,256})'|"(?P<v2>[^"\n]{1,256})"|(?P<v3>[^\s,\]]{1,256}))""")
_PLACE_WORD = re.compile(r"[^\W\d][\w\-]*")


def _quoted_inputs(text: str) -> str:
    spans = []
    for m in _QUOTED_FOR.finditer(text) if " for " in text or " of " in text or " in " in text or " to " in text else ():
        if m["value"] not in (MARK, SEGMENT) and is_credential(m["name"].rpartition(".")[2], m["value"]):
            spans.append(m.span("value"))
    for m in _INPUT_VALUE.finditer(text) if "input_value=" in text else ():
        lines = text[max(0, m.start() - 512) : m.start()].split("\n")[:-1]  # (the error's own line left out)
        place = next((line for line in reversed(lines) if line[:1] not in ("", " ", "\t")), None)
        words = _PLACE_WORD.findall(place or "")
        start, end, value = _flag_value(m)
        if words and value not in (MARK, SEGMENT) and is_credential(words[-1], value):
            spans.append((start, end))
    spans.sort()
    return _replaced_values(text, [s for i, s in enumerate(spans) if not i or s[0] >= spans[i - 1][1]])


# The word before a pair's name (`security answer`), itself no pair's value (`type=password name=…`), and the two
# words before one (`mot de passe`)
_WORD_BEFORE = re.compile(r"(?<![^\s,;(\[{])([^\W\d_]{2,24})[ \-]$")
_WORDS_BEFORE = re.compile(r"(?<![^\s,;(\[{])([^\W\d_]{2,24})[ \-]([^\W\d_]{2,24})[ \-]$")


def _named_with_words_before(text: str, start: int, name: str) -> bool:
    """Whether a pair's name with the word, or the two words, before it (the word before it no credential's name
    alone, the first of two none that always holds one: not `password reset: done`) is a name that always holds a
    credential."""
    if (before := _WORD_BEFORE.search(text, max(0, start - 26), start)) is None or credential_name(before[1]):
        return False
    if credential_name(before[1] + name) == "strong":
        return True
    two = _WORDS_BEFORE.search(text, max(0, start - 52), start)
    return two is not None and credential_name(two[1]) != "strong" and \
        credential_name(two[1] + two[2] + name) == "strong"  # (`code de vérification`: code alone is weak)

# The words after a credential's first (a passphrase), each not a pair's name nor replaced already: up to the end of
# the line, a `;` or `,`
_PHRASE_TAIL = re.compile(
    r"(?:[ \t]+(?!REDACTED(?![^\s&;,\"'<>(){}\[\]]))(?![^\s&;,\"'<>(){}\[\]=:]+[ \t]*(?:=>|[:=]))"
    r"[^\s&;,\"'<>(){}\[\]]+)*"
)


_YAML_BLOCK = re.compile(r"[|>][1-9]?[-+]?[1-9]?")  # a YAML block scalar's indicator: its text is on the lines below
_YAML_MARKS = (":\n", ":\r\n", ": |", ": >", ":|", ":>")  # what text holding one of these holds
# YAML's `password:` (or `password: |`) with its value on the lines below, indented more
_YAML_VALUE = re.compile(
    r"(?m)^([ \t]*)([\"']?)([^\s:\"'=#]{1,64})\2[ \t]*:[ \t]*(?P<block>[|>][1-9]?[-+]?[1-9]?[ \t]*)?"
    r"(?=\r?\n\1[ \t]+\S)"
)
_LINE = re.compile(r"\r?\n([ \t]*)[^\r\n]*")
_YAML_KEY = re.compile(r"[ \t]*(?:#|[^\s:]+[ \t]*:(?:[ \t]|$))")  # a line that is a key or a comment


def _yaml_values(text: str) -> str:
    """The value of a YAML key named like a credential that is on the lines below it (a block scalar's, or a plain
    one's alone on the next line) replaced, the key and indicator kept: `password: |` + `\n  REDACTED`."""
    out, position = [], 0
    for m in _YAML_VALUE.finditer(text):
        if m.start() < position or credential_name(m[3]) != "strong":
            continue
        first = _LINE.match(text, m.end())
        if not m["block"] and _YAML_KEY.match(text, first.start(1)) or text[first.end(1) : first.end()] == MARK:
            continue  # a mapping below it: its keys are judged as pairs
        end = first.end()
        while (line := _LINE.match(text, end)) and len(line[1]) > len(m[1]) and line.end() > line.end(1):
            end = line.end()  # the lines indented more than the key, blank ones not
        out += [text[position : first.end(1)], MARK]
        position = end
    if not out:
        return text
    out.append(text[position:])
    return "".join(out)


_PAIR_DEPTH = 16  # quoted values inside quoted values, down to this many: one deeper that holds a pair is replaced
# unquoted values inside unquoted values (`no such file: file:/…/password=…`, `msg: auth:password=…`), down to this
# many (each level searches what is left of the text again)
_UNQUOTED_DEPTH = 4


def _pair_sub(m: re.Match, depth: int, named: bool = False) -> str:
    """A pair with its value replaced where its name (or, `named`, its name with the word before it) holds a
    credential; pairs inside its value looked into."""
    value = m["value"]
    quote_ = value[0] if value[:1] in "\"'" and len(value) >= 2 else ""
    inner = value[1:-1] if quote_ else value
    if inner in (MARK, SEGMENT, ""):
        return m.group(0)
    if not named and not is_credential(m["name"], inner) and not (  # a neutral name's base64 of `user:password`
            _BASE64_RUN.fullmatch(inner) and _base64_user_password(inner)):
        if (not quote_ and depth >= _UNQUOTED_DEPTH) or not _PAIR.search(inner):
            return m.group(0)
        shown = _pairs(inner, depth + 1) if depth < _PAIR_DEPTH else MARK
        start = m.start("value") - m.start() + len(quote_)
        return m.group(0)[:start] + shown + m.group(0)[start + len(inner):]
    after = "" if quote_ else value[len(value.rstrip("&;,")):]  # `password=…; next` keeps its `;`
    return f"{m['q']}{m['name']}{m['q']}{m['sep']}{m['pre'] or ''}{quote_}{MARK}{quote_}{after}"


def exception_text(error: BaseException) -> str:
    """An exception's message without what it quotes (payload values, file names) and with credentials replaced:
    `could not convert string to float: '…'`."""
    return redact_text(_QUOTED.sub(lambda m: m.group()[0] + "…" + m.group()[0], str(error)), FULL)


def message(text: str) -> Safe:
    """A message of databack's that may hold captured text (a reader's reason, an error): credentials replaced."""
    return _released(redact_text(text, FULL))


def traceback_text(error: BaseException) -> Safe:
    """A traceback for `--debug`: where it happened, each exception's message as `exception_text` gives it."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for i, e in enumerate(reversed(chain)):
        if i:
            parts.append("\nThe above exception led to the following:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts += traceback.format_tb(e.__traceback__)
        parts.append(f"{type(e).__module__}.{type(e).__qualname__}: {exception_text(e)}\n")
    return _released(redact_text("".join(parts), FULL))


# --- URLs, parameters and paths --------------------------------------------------------------------------------

_SCHEME_HOST = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:)?//([^/?#]*)")


def redact_url(url: str, mode: Mode = FULL, marker: str = MARK, path_mode: Mode | None = None,
               named: bool | None = None) -> str:
    """A URL (or a path with its query) with userinfo, credential path segments and parameters, and secret query
    and fragment parameters replaced; everything else byte for byte. The path is judged in `path_mode` where given
    (a device's path, whose ids are data), the rest in `mode`; `named` as `redact_path`'s."""
    rest, hash_mark, fragment = url.partition("#")
    base, question_mark, query = rest.partition("?")
    prefix = ""
    if m := _SCHEME_HOST.match(base):
        authority = m.group(2)
        if "@" in authority:
            authority = MARK + "@" + authority.rpartition("@")[2]
        prefix, base = (m.group(1) or "") + "//" + authority, base[m.end() :]
    return (
        prefix
        + redact_path(base, path_mode or mode, marker, named)
        + question_mark
        + redact_params(query, mode)[0]
        + hash_mark
        + (_route(fragment, mode, marker) if fragment.startswith(("/", "!/")) else redact_params(fragment, mode)[0])
    )


def _route(fragment: str, mode: Mode, marker: str) -> str:
    """A single-page app's route in a fragment (`#/reset/<token>`, `#!/token/…?x=1`), judged as a path and its
    query."""
    route, question_mark, query = fragment.partition("?")
    return redact_path(route, mode, marker) + question_mark + redact_params(query, mode)[0]


def redact_params(query: str, mode: Mode = FULL, marker: str = MARK) -> tuple[str, int]:
    """(a query string, form body or fragment with its credential parameters' values replaced, how many)."""
    if not query:
        return query, 0
    params = re.split(r"([&;])", query)
    replaced = 0
    for i, param in enumerate(params):
        if i % 2 or not param:
            continue  # a separator
        name, equals, value = param.partition("=")
        # a bare token (`?eyJ…`), or one as a name (`?eyJ…=1`; no credential's shape has fewer than 8 characters)
        if (not equals or len(name) >= 8) and is_credential_value(unquote_plus(name), mode):
            params[i] = marker
            replaced += 1
            continue
        if not equals:
            continue
        if value in ("", MARK, SEGMENT):
            continue
        decoded = unquote_plus(value)
        if is_credential(unquote_plus(name), decoded) or is_credential_value(decoded, mode):
            params[i] = f"{name}={marker}"
            replaced += 1
        else:  # a URL, query or JSON inside: redirect_uri=https%3A…%3Ftoken%3D…, data=%7B%22password%22…
            inner = redact_string(decoded, mode, unquote_plus(name))
            if inner != decoded:
                params[i] = f"{name}={quote(inner, safe='')}"
                replaced += 1
    return "".join(params), replaced


_ODATA = re.compile(r"(?P<name>[^()]*)\((?P<args>[^()]*)\)(?P<rest>.*)", re.DOTALL)


def redact_path(path: str, mode: Mode = FULL, marker: str = SEGMENT, named: bool | None = None) -> str:
    """A URL path with credential-shaped segments replaced, and the values of credential-named matrix parameters
    (`;jsessionid=…`) and OData keys (`Events(token='…')`) replaced, names kept. A segment already replaced (by
    either marker) becomes `marker`. Outside device data (FULL), a segment after one named like a credential is
    its value when it looks like a token (`/api/token/abcDEF123ghiJKL456`, `/reset/password/…`), and so is one
    after a word after a segment that always names a credential (`/password/reset/…`, `/token/refresh/…`), and one
    after an action that mails a one-time token, or after the action and a word (`/reset/<token>`, `/activate/…`,
    `/verify-email/…`, `/verify/email/…`, `/invite/<token>/accept`), when it is no word, number, date or version;
    in STRICT mode too where `named` (a URL in device text: no device's path)."""
    segments = path.split("/")
    named = mode == FULL if named is None else named
    return "/".join(
        marker if named and i and _value_named(segments, i) else _segment(s, mode, marker)
        for i, s in enumerate(segments)
    )


def _value_named(segments: list[str], i: int) -> bool:
    """Whether the path segment `i` (not the first) is the value of a credential or an action the ones before it
    name."""
    s = segments[i]
    return _named_by(segments[i - 1], s) or i > 1 and credential_name(segments[i - 2]) == "strong" and \
        _named_by_two(segments[i - 2], segments[i - 1], s) or _after_action(segments[i - 1], s) or \
        i > 1 and _PLAIN_WORD.fullmatch(segments[i - 1]) is not None and _after_action(segments[i - 2], s)


# Actions whose links carry a one-time token in the path: a password reset, an account's activation, an e-mail's
# verification, an invitation, a magic sign-in link, an unsubscribe link
_ACTIONS = frozenset({"reset", "activate", "activation", "verify", "verification", "confirm", "confirmation",
                      "invite", "invitation", "unsubscribe", "recover", "recovery", "validate", "validation",
                      "magic", "unlock", "login", "signin"})
_ACTION_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_VERSION = re.compile(r"[vV]\d+(?:\.\d+)*")


@limits.short_cache(1 << 12)
def _after_action(previous: str, segment: str) -> bool:
    """Whether `segment` is the one-time token of an action that the path segment before it names."""
    if not segment or segment in (MARK, SEGMENT) or "(" in previous or ";" in previous:
        return False
    if _ACTIONS.isdisjoint(w.lower() for w in _ACTION_WORDS.findall(unquote(previous))):
        return False
    value = unquote(segment)
    return _tokenish(value) and not _VERSION.fullmatch(value)


@limits.short_cache(1 << 12)
def _named_by_two(first: str, word: str, segment: str) -> bool:
    """Whether `segment` is the value of a credential that the two path segments before it name, the second a
    word (`/password/reset/<token>`: `reset` names none alone)."""
    return _PLAIN_WORD.fullmatch(word) is not None and credential_name(first + "-" + word) == "strong" and \
        _named_by(first + "-" + word, segment)


@limits.short_cache(1 << 12)
def _named_by(previous: str, segment: str) -> bool:
    """Whether `segment` is the value of a credential that the path segment before it names."""
    if not segment or segment in (MARK, SEGMENT) or "(" in previous or ";" in previous:
        return False
    name, value = unquote(previous), unquote(segment)
    if _NOT_WORD.sub("", name.lower()).endswith(_CODE_NAMES) and _DIGITS_CODE.fullmatch(value):
        return credential_name(name) is not None  # /verify/otp/482913, /pin/7391 (not /errorcode/4040)
    kind, compact = credential_name(name), _NOT_WORD.sub("", name.lower())
    if kind == "strong" or (kind == "weak" and _OPAQUE.search(compact)):
        return _tokenish(value) or _LONG_RUN.fullmatch(value) is not None  # /session/fizometedeburo
    return False


_CODE_NAMES = ("pin", "otp", "code", "passcode")
_LONG_RUN = re.compile(r"[a-z]{12,}")  # one run of 12+ lower-case letters: a token that happens to read as words


@limits.short_cache(1 << 14)
def _segment(segment: str, mode: Mode, marker: str) -> str:
    if not segment:
        return segment
    base, semicolon, params = segment.partition(";")
    if semicolon:
        return _segment(base, mode, marker) + ";" + ";".join(_named_value(p, mode, marker) for p in params.split(";"))
    if segment in (MARK, SEGMENT):
        return marker
    decoded = unquote(segment)
    if is_credential_value(decoded, mode):
        return marker
    if (m := _ODATA.fullmatch(segment)) and m["args"]:
        args = ",".join(_odata_arg(a, mode, marker) for a in split_odata_args(m["args"]))
        return f"{_segment(m['name'], mode, marker)}({args}){m['rest']}"
    if mode == FULL and ("=" in decoded or ":" in decoded):  # name=value, a URL, scheme:value
        redacted = redact_text(decoded, mode)
        return segment if redacted == decoded else quote(redacted, safe=":@!$&'()*+,;=~")
    return segment


def _named_value(param: str, mode: Mode, marker: str) -> str:
    name, equals, value = param.partition("=")
    if not equals:
        return marker if param in (MARK, SEGMENT) or is_credential_value(unquote(param), mode) else param
    decoded = unquote(value)
    if value in (MARK, SEGMENT) or is_credential(name, decoded) or is_credential_value(decoded, mode):
        return f"{name}={marker}"
    return param


def _odata_arg(arg: str, mode: Mode, marker: str) -> str:
    name, equals, value = arg.partition("=")
    if not equals:
        name, value = "", arg
    stripped = value.strip()
    quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] == "'"
    inner = unquote(stripped[1:-1] if quoted else stripped)
    if inner in (MARK, SEGMENT) or (equals and is_credential(name, inner)) or is_credential_value(inner, mode):
        replaced = marker if marker == SEGMENT else f"'{marker}'" if quoted else marker
        return f"{name}={replaced}" if equals else replaced
    return arg


def split_odata_args(args: str) -> list[str]:
    """OData key arguments split at commas outside quotes ('' inside a quoted value toggles twice)."""
    parts, current, quoted = [], [], False
    for c in args:
        if c == "'":
            quoted = not quoted
        if c == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts if args else []


# --- what outputs show of a request ---------------------------------------------------------------------------

_METHOD = re.compile(r"[A-Z][A-Z0-9_\-]{0,23}")
_HOST_LABEL_SEP = re.compile(r"([.:\[\]])")


@limits.short_cache(1 << 12)
def host(name: str) -> Safe:
    """A host name with any label that is credential-shaped replaced, and a user and password before it
    (`alice:PW@host`, from a Host header that carried them) too."""
    if "@" in name:
        return _released(SEGMENT + "@" + host(name.rpartition("@")[2]))
    parts = _HOST_LABEL_SEP.split(name)
    return _released("".join(SEGMENT if is_credential_value(p, FULL) else p for p in parts))


@limits.short_cache(64)
def method(name: str) -> Safe:
    return _released(name if _METHOD.fullmatch(name) else SEGMENT)


@limits.short_cache(1 << 14)
def path(raw_path: str) -> Safe:
    """A path as captured (still percent-encoded), its credentials and e-mail addresses replaced by `SEGMENT`."""
    shown = redact_path(raw_path, FULL, SEGMENT)
    if "@" in shown or "%40" in shown:
        shown = "/".join(SEGMENT if _EMAIL.search(unquote(s)) else s for s in shown.split("/"))
    return _released(shown)


_EMAIL = re.compile(r"(?<![^\s/@:])[^\s/@:]++@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)+")  # (from a run's start: linear)


@limits.short_cache(1 << 14)
def template(raw_path: str) -> Safe:
    """The path template inspect shows (`/v1/Events(eventId={id})`), credentials replaced first: `/v1/account/
    {redacted}/profile`, `/v1/room/current;jsessionid={redacted}`, `Events(eventId={n},token={redacted})`."""
    from .inspect_captures import path_template

    return _released(path_template(redact_path(raw_path, FULL, SEGMENT)))  # segments judged before %2F is undone


@limits.short_cache(1 << 12)
def request_line(method_name: str, host_name: str, raw_path: str) -> Safe:
    """`GET host /path/{template}` for the report's undecoded device paths."""
    return _released(f"{method(method_name)} {host(host_name)} {template(raw_path)}")


def field_path(endpoint: str, parts: Iterable[str]) -> Safe:
    """`endpoint value[]/Name` for the report's fields of no known shape: each key as `json_pointer` shows it."""
    text = ""
    for part in parts:
        text += "[]" if part == "[]" else "/" * bool(text) + _pointer_key(part)
    return _released(f"{endpoint} {text}")


def param_names(names: Iterable[str]) -> list[Safe]:
    """Query parameter names to show (never values): a credential-shaped name becomes `SEGMENT`."""
    return [_released(SEGMENT if is_credential_value(n, FULL) else n) for n in names]


def vocabulary(name: str) -> Safe:
    """A name of databack's own (an endpoint or table name), for fields that also hold captured names."""
    return _released(name)


# --- JSON ---------------------------------------------------------------------------------------------------

_MAX_DEPTH = 200  # deeper JSON is replaced whole (Python's recursion would not reach orjson's 1024 levels)


class _TooDeep(Exception):
    pass


def redact_json(document: Any, mode: Mode = FULL, *, drop: bool = False) -> tuple[Any, int]:
    """(a copy of a parsed JSON document with credentials replaced, how many): values of credential-named keys at
    any depth (all leaves below a strongly named one), JSON, forms and URLs inside strings, credential-shaped
    strings (in FULL mode not under an id-named key). With `drop`, credential-named keys are left out instead."""
    counter = [0]
    try:
        return _json(document, mode, drop, None, counter, 0), counter[0]
    except (_TooDeep, RecursionError):
        return MARK, 1


Kept = Callable[[tuple[str, ...]], bool]  # whether a device's tables keep the field at a path (`[]`: an array's items)


def redact_device_json(document: Any, kept: Kept) -> tuple[Any, int]:
    """`redact_json` FULL, except that a value at a field a device's tables keep (`kept`) is judged as the tables
    judge it (STRICT: a random-looking Sense answer's text stays, as in the table), so that a scrubbed copy converts
    to the same device tables; what no table keeps is judged as any body's."""
    full, replaced = redact_json(document, FULL)
    if not replaced:
        return full, 0
    strict, _ = redact_json(document, STRICT)
    if strict == full:
        return full, replaced
    merged = _kept_strict(full, strict, (), kept)
    return merged, replaced if merged != document else 0


def _kept_strict(full: Any, strict: Any, path: tuple[str, ...], kept: Kept) -> Any:
    """`full`, with `strict`'s value at each kept path where the two differ (both made from one document)."""
    if type(full) is dict and type(strict) is dict and full.keys() == strict.keys():
        return {k: _kept_strict(v, strict[k], (*path, k), kept) for k, v in full.items()}
    if type(full) is list and type(strict) is list and len(full) == len(strict):
        return [_kept_strict(v, w, (*path, "[]"), kept) for v, w in zip(full, strict)]
    return strict if full != strict and kept(path) else full


def _json(value: Any, mode: Mode, drop: bool, key: str | None, counter: list[int], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        out = {}
        if "variables" in value and "query" in value:  # a GraphQL request
            value = _graphql_request(value, counter, depth)
        labels = [label for k in _LABELS.intersection(value) if (label := _label(value[k]))]  # {"name": …, "value": …}
        for k, v in value.items():
            name = k if isinstance(k, str) else str(k)
            kind = credential_name(name)
            if labels and name in _VALUES and any(is_credential(label, v) for label in labels):
                out[name] = _leaves(v, counter, depth + 1)
            elif kind == "strong" or (kind == "weak" and weak_credential(name, v)):
                if drop:
                    counter[0] += 1
                    continue
                out[_json_key(name, mode, out, counter)] = _leaves(v, counter, depth + 1)
            else:
                out[_json_key(name, mode, out, counter)] = _json(v, mode, drop, name, counter, depth + 1)
        return out
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and is_credential(value[0], value[1]):  # a header's pair
            return [_json(value[0], mode, drop, key, counter, depth + 1), _leaves(value[1], counter, depth + 1)]
        return [_json(v, mode, drop, key, counter, depth + 1) for v in value]
    if isinstance(value, str):
        redacted = redact_string(value, mode, key, depth)
        counter[0] += redacted != value
        return redacted
    return value


# An argument given a variable in a GraphQL document: `login(password: $p)`, `signIn(input: {pin: $code})`
# (a name from its first character, read once: linear)
_GRAPHQL_ARGUMENT = re.compile(r"(?<![_0-9A-Za-z])([_A-Za-z][_0-9A-Za-z]*+)\s*+:\s*+\$([_A-Za-z][_0-9A-Za-z]*)")


def _graphql_request(request: dict, counter: list[int], depth: int) -> dict:
    """A GraphQL request (`{"query": …, "variables": {…}}`) with each variable that the query passes to an argument
    named like a credential replaced as that argument's value would be (`login(password: $p)`, `{"p": …}`): the
    variable's own name may say nothing."""
    query, variables = request["query"], request["variables"]
    if not isinstance(query, str) or not isinstance(variables, dict) or "$" not in query:
        return request
    named = {variable: argument for argument, variable in _GRAPHQL_ARGUMENT.findall(query)}
    secret = {v for v, argument in named.items() if v in variables and is_credential(argument, variables[v])}
    if not secret:
        return request
    return request | {"variables": {k: _leaves(v, counter, depth + 2) if k in secret else v
                                    for k, v in variables.items()}}


# {"name": "api_key", "value": …}: keys whose value names the field whose value `_VALUES` holds (AWS's
# {"Name": …, "StringValue": …}, {"param": …, "value": …}, {"field": …, "data": …}, {"name": …, "content": …})
_LABELS = frozenset({"name", "key", "Name", "Key", "field", "Field", "parameter", "param", "Param", "header", "Header",
                     "loc", "path",
                     "label", "Label", "id", "type", "k", "attribute", "Attribute", "property", "Property",
                     "fieldName", "paramName", "headerName", "attributeName", "AttributeName"})
_VALUES = frozenset({"value", "Value", "val", "v", "values", "Values", "stringValue", "StringValue", "data", "Data",
                     "content", "Content", "text", "Text",
                     # ...and what validation errors quote: Spring's {field, rejectedValue}, pydantic's {loc, input}
                     "rejectedValue", "rejected_value", "invalidValue", "invalid_value", "input", "inputValue",
                     "input_value", "providedValue", "provided_value", "given", "received"})


def _label(label: Any) -> str | None:
    """The name a label key gives: its text, or the last text of a list (pydantic's `loc`: ["body", "password"])."""
    if isinstance(label, list) and label:
        label = label[-1]
    return label if isinstance(label, str) else None
# ...and the compound names APIs give them (CloudFormation's {ParameterKey, ParameterValue}, {headerName,
# headerValue}, {field_name, field_value}, {OptionName, Value}, {n, v}), in camelCase, PascalCase and snake_case
_LABEL_WORDS = ("parameter", "param", "field", "header", "property", "attribute", "attr", "option", "setting",
                "variable", "var", "env", "item", "entry", "claim", "secret", "config")


def _compounds(words: Iterable[str], endings: Iterable[str]) -> set[str]:
    return {form for w in words for e in endings
            for form in (w + e.capitalize(), w.capitalize() + e.capitalize(), f"{w}_{e}")}


_LABELS = _LABELS | _compounds(_LABEL_WORDS, ("name", "key", "label", "id")) | {"n", "variable", "Variable", "option"}
_VALUES = _VALUES | _compounds((*_LABEL_WORDS, "default", "current", "initial", "secure", "plain", "raw"),
                               ("value", "val", "data", "content")) | {"defaultValue", "default_value"}


def _json_key(name: str, mode: Mode, out: dict, counter: list[int]) -> str:
    shown = json_key(name, mode)
    if shown == name:
        return name
    counter[0] += 1
    key, n = shown, 1
    while key in out:
        n += 1
        key = f"{shown}-{n}"
    return key


def json_key(name: str, mode: Mode = FULL) -> str:
    """A JSON key as outputs show it: one shaped like a credential replaced whole, and credentials in one that is
    text replaced as in any text (`https://alice:PW@host/`, `/cb?access_token=…`)."""
    return _key_shown(name, mode) if len(name) <= _CACHED else _key(name, mode)


def json_pointer(parts: Iterable[Any]) -> str:
    """Where in a document something is (`/events/0/time`, a schema violation's place): each key as `json_key`
    shows it, then judged as a path's segments."""
    return "/" + "/".join(map(_pointer_key, parts))


def _pointer_key(part: Any) -> str:
    """A key of a place in a document as `json_key` shows it, then judged as a path's segment."""
    return redact_path(json_key(str(part)), FULL)


def _key(name: str, mode: Mode) -> str:
    return MARK if is_credential_value(name, mode) else redact_text(name, mode)


_key_shown = limits.short_cache(1 << 14)(_key)


def every_leaf(value: Any) -> tuple[Any, int]:
    """(`value` with every leaf replaced but booleans and nulls, how many): what is held where only a credential
    or a string is expected (a HAR header's value that is a list or a number)."""
    counter = [0]
    try:
        return _leaves(value, counter, 0), counter[0]
    except (_TooDeep, RecursionError):
        return MARK, 1


def _leaves(value: Any, counter: list[int], depth: int) -> Any:
    """Every leaf replaced but booleans and nulls (keys kept: the document keeps its shape)."""
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        return {k: _leaves(v, counter, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaves(v, counter, depth + 1) for v in value]
    if value is None or isinstance(value, bool) or value in ("", MARK):
        return value
    counter[0] += 1
    return MARK


def redact_string(value: str, mode: Mode = FULL, key: str | None = None, depth: int = 0) -> str:
    """A JSON string value: JSON inside it redacted and written back, a form or URL redacted, credential-shaped
    text replaced (a random-looking whole value only in FULL mode and not under an id-named key)."""
    stripped = value.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            inner = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:
            counter = [0]
            try:
                redacted = _json(inner, mode, False, key, counter, depth + 1)
            except (_TooDeep, RecursionError):
                return MARK
            return _dumps(redacted).decode() if counter[0] or _keys_left_out(stripped, inner) else value
    if _id_named(key) and global_id(stripped):
        return value  # a GraphQL node's id: `User:42`
    whole = FULL if mode == FULL and not _id_named(key) else STRICT
    return _plain_string(value, whole) if len(value) <= _CACHED else _plain(value, whole)


_CACHED = 256  # keys and strings up to this long are judged once each (a run's JSON repeats its keys and words)


def _plain(value: str, mode: Mode) -> str:
    """A string that is not JSON: a credential whole, a form, or free text."""
    stripped = value.strip()
    if is_credential_value(stripped, mode) or _BASE64_RUN.fullmatch(stripped) and _base64_user_password(stripped):
        return MARK  # (base64 of `user:password` in either mode: its padding is no form's `=`)
    if _FORM.fullmatch(stripped):
        return redact_params(value, mode)[0]
    return redact_text(value, mode)


_plain_string = lru_cache(maxsize=1 << 16)(_plain)


_FORM = re.compile(r"[\w.\-\[\]%$]+=[^&\s]*(?:&[\w.\-\[\]%$]+=[^&\s]*)+|[\w.\-%]+=[^&\s=]*")


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers over 64 bits, lone surrogates
        return json.dumps(value).encode()


_KEY_END = re.compile(r'(?<!\\)"\s*:')  # the end of a key (no string holds an unescaped quote)
_KEY_END_BYTES = re.compile(_KEY_END.pattern.encode())


def _keys_left_out(text: str | bytes, document: Any) -> bool:
    """Whether JSON `text` holds more keys than its parsed `document` (an object giving one key twice, of which the
    parser keeps the last): the text itself is then no copy to keep, as a value of an earlier key (`{"password":
    "…", "password": ""}`) was never judged. Keys are counted in C, as written (`":` not after a backslash; the
    text's again by a pattern where it seems to hold fewer, a space before a colon): never more than there are."""
    if not isinstance(document, (dict, list)):
        return False
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    dumped = _dumps(document)
    keys = dumped.count(b'":') - dumped.count(b'\\":')
    written = data.count(b'":') - data.count(b'\\":')
    if written < keys:
        written = len(_KEY_END_BYTES.findall(data))
    return written > keys


# --- bodies ---------------------------------------------------------------------------------------------------

BodyKind = Literal["device", "sign-in", "sign-in-request", "other"]
_BOUNDARY = re.compile(r"boundary=(?:\"([^\"]+)\"|([^;\s]+))", re.IGNORECASE)
_PART_NAME = re.compile(r"""\bname\*?=(?:"([^"]*)"|([^;\s]+))""", re.IGNORECASE)
_ASCII_RUN = re.compile(rb"[\x20-\x7e]{16,}")

# What a sign-in or token request sends that is not a credential (compact names): every other field's value is
# replaced, whatever its name (`pw`, `pin`, `answer`, a vendor's own), so the list is of harmless names.
SIGN_IN_FIELDS = frozenset(
    """granttype responsetype responsemode scope scopes clientid redirecturi redirecturl returnurl returnto next
    continue username login loginname email emailaddress loginhint locale lang language uilocales mkt remember
    rememberme keepmesignedin persistent staysignedin devicename devicetype deviceos platform os osversion appversion
    version sdkversion timezone tz country type format prompt display codechallengemethod codechallenge audience
    resource tenant action submit""".split()
)


def sign_in_field(name: str) -> bool:
    """Whether a field of a sign-in request is one whose value is kept (its credentials by shape still replaced)."""
    return _NOT_ALNUM.sub("", name.lower()) in SIGN_IN_FIELDS


def redact_body(data: bytes, content_type: str | None, kind: BodyKind, kept: Kept | None = None) -> bytes:
    """A request or response body with its credentials replaced, in its own encoding: JSON (kept valid), a form,
    multipart parts (by field name, and each part's body in turn), text; binary data has its printable runs checked.
    A sign-in request (`sign-in-request`) keeps only `SIGN_IN_FIELDS`' values, in any encoding; a sign-in call's
    body that is neither JSON, a form nor multipart is replaced whole. Device data keeps its ids (values under
    id-named keys; a device's JSON its tables' fields as they judge them, where `kept` says which they keep:
    `redact_device_json`). Returns `data` itself when nothing was replaced; `MARK` for a body whose parts nest
    deeper or cost more than the policy spends on one (`_within_budget`)."""
    if not data:
        return data
    return _within_budget(len(data), MARK.encode(), _body, data, content_type, kind, kept)


def _body(data: bytes, content_type: str | None, kind: BodyKind, kept: Kept | None = None) -> bytes:
    if data[:2] in _COMPRESSED or data[:4] == _ZSTD_MAGIC or data[:6] == _XZ_MAGIC or data[:3] == b"BZh":
        if (inner := _compressed_body(data, content_type, kind, kept)) is not None:
            return inner
    if (wide := _wide_text(data)) is not None:  # UTF-16 or UTF-32, or UTF-8 after a BOM
        if wide is _BINARY:
            inner = _brotli_body(data, content_type, kind, kept)
            return _binary_runs(data) if inner is None else inner
        encoding, bom, text, cut = wide
        redacted = redact_body(text.encode("utf-8", "surrogatepass"), content_type, kind, kept)
        if redacted == text.encode("utf-8", "surrogatepass"):
            return data
        return bom + redacted.decode("utf-8", "surrogatepass").encode(encoding, "surrogatepass") + cut
    signing_in = kind in ("sign-in", "sign-in-request")
    stripped = data.strip()
    broken_json = False
    if stripped[:1] in (b"{", b"[", b'"'):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            broken_json = stripped[:1] != b'"'
        else:
            redacted, replaced = _sign_in_json(document) if kind == "sign-in-request" else \
                redact_json(document, FULL) if kept is None else redact_device_json(document, kept)
            return _dumps(redacted) if replaced or _keys_left_out(data, document) else data
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.startswith("multipart/") or data.lstrip(b"\r\n").startswith(b"--"):
        if (parts := _redact_multipart(data, content_type, kind)) is not None:
            return parts
    if not signing_in and data.translate(None, _PLAIN_TEXT):  # (MessagePack, CBOR, BSON, protobuf: `_binary_pairs`)
        data = _binary_pairs(data)
    charset = ("utf-8", "surrogateescape")  # how the text is written back
    try:
        text, cut_character = data.decode("utf-8"), b""
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":  # cut inside a character
            text, cut_character = data[: error.start].decode("utf-8"), data[error.start:]
        elif stripped[:1] in (b"{", b"[") and not signing_in:  # JSON holding bytes that are no UTF-8 (Latin-1…)
            text, cut_character, broken_json = data.decode("utf-8", "surrogateescape"), b"", True
        elif signing_in:
            return MARK.encode()
        elif (inner := _brotli_body(data, content_type, kind, kept)) is not None:
            return inner
        elif len(data.translate(None, _TEXT_BYTES)) * 100 <= len(data):
            # text in another charset (Latin-1, Windows-1252, Shift_JIS…: a form, a page, a message), read byte for
            # byte as Latin-1 so that its ASCII (every name and separator) is read as text: `pin=4821` is too short
            # for the printable runs below
            text, cut_character, charset = data.decode("latin-1"), b"", ("latin-1", "replace")
        else:
            return _binary_runs(data)
    if _FORM.fullmatch(text.strip()):
        form = text.strip()
        redacted_text = _sign_in_params(form) if kind == "sign-in-request" else redact_params(form, FULL)[0]
        return data if redacted_text == form else redacted_text.encode(*charset)
    if signing_in and (kind == "sign-in-request" or media not in _PAGES):
        return data if text.strip() in ("", MARK) else MARK.encode()  # XML (SAML), plain text: replaced whole
    framed = _framed_text(text) if not signing_in and _FRAME_CHARACTER.search(text) else text
    if broken_json or (cut_character and text.lstrip()[:1] in ("{", "[")) or '{"' in text:  # JSON in text too
        redacted_text = redact_text(_broken_json(framed), FULL)
    else:
        redacted_text = redact_text(framed, FULL)
    return data if redacted_text == text else redacted_text.encode(*charset) + cut_character


# Binary data given as text (a HAR's postData of a binary type written as `text`: its bytes as Latin-1 characters, or
# with U+FFFD for those no UTF-8 reads): what holds a control character or U+FFFD, and a credential's name (its words
# found as `_binary_pairs` finds them), then 1 to 4 characters of a frame (a type, a length), then its value's printable
# run, where the frames are no longer bytes
_FRAME_CHARACTER = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_NAME_AFTER = re.compile(r"[\w.\-$]*+")
_FRAMED_VALUE = re.compile(r"[\x00-\x1f\x7f-\xbf\ufffd]{1,4}(?P<value>[\x21-\x7e][\x20-\x7e]{0,255}+)")


def _framed_text(text: str) -> str:
    """Binary data given as text with its framed credentials overwritten (their lengths kept): as bytes
    (`_binary_pairs`) where each character is one, else by a name's place and the frame after it."""
    if text and max(text) <= "\xff":
        latin = text.encode("latin-1")
        if (paired := _binary_pairs(latin)) != latin:
            text = paired.decode("latin-1")
    lower, spans = text.lower(), []
    for word in _binary_names():
        at = lower.find(word.decode())
        while at >= 0:
            end = _NAME_AFTER.match(text, at).end()
            if m := _FRAMED_VALUE.match(text, end):  # (most names in text have none: a space, a `=` after them)
                start = at - _NAME_AFTER.match(text[max(0, at - 63):at][::-1]).end()
                if (text[start].isalpha() or text[start] in "_$") and not m["value"].startswith(MARK) and \
                        is_credential(text[start:end], m["value"]):
                    spans.append(m.span("value"))
            at = lower.find(word.decode(), end)
    out, position = [], 0
    for start, end in sorted(set(spans)):
        if start >= position:
            out += [text[position:start], (MARK * ((end - start) // len(MARK) + 1))[: end - start]]
            position = end
    return "".join(out) + text[position:] if out else text


def _binary_runs(data: bytes) -> bytes:
    """Binary data with its framed credentials replaced (`_binary_pairs`) and its runs of printable ASCII (16 or more
    characters) redacted as text."""
    data = _binary_pairs(data)
    return _ASCII_RUN.sub(lambda m: redact_text(m.group().decode("ascii"), FULL).encode("ascii", "replace"), data)


# --- credentials in binary serialisations ----------------------------------------------------------------------
# MessagePack, CBOR, BSON and Protocol Buffers write a map's key and its value as strings each framed by a type and
# a length, not `name=value`: `{"password": "…"}` is `\xa8password\xab…` (MessagePack), `hpasswordk…` (CBOR, whose
# marks may be letters), `\x02password\x00\x0c\x00\x00\x00…\x00` (BSON), `\x0a\x08password\x12\x0b…` (a protobuf
# map). Where a credential's name is found in the bytes (`_NAME_WORDS`, searched for at C speed: most binary data
# holds none), the string around it is read as each format frames a key, and the value after it as that format
# frames one; a credential's value is overwritten in place, its length kept (MARK repeated; an integer, a PIN, as 0),
# so that the data still parses.
_NAME_BYTE = frozenset(b for b in range(0x21, 0x7F) if chr(b) not in "\"'<>{}[](),;:=&?/")  # (no mark's bytes)


@lru_cache(maxsize=1)
def _binary_names() -> tuple[bytes, ...]:
    """The words of credentials' names (`_NAME_WORDS`, in lower case), none that holds another: what a key's bytes,
    in lower case, are searched for (by `bytes.find`: a regex of them all took 0.75 s a MB)."""
    words = {w.lower() for w in _NAME_WORDS} | {"pw"}
    return tuple(w.encode("utf-8") for w in sorted(words) if not any(o != w and o in w for o in words))


def _serialised(data: bytes) -> bool:
    """Whether `data` begins as a MessagePack or CBOR map or array, a BSON document, a protobuf message's string
    field or a gRPC message does (not a file's magic bytes)."""
    first = data[0]
    if data.startswith(_FILE_MAGIC):
        return False
    if 0x80 <= first <= 0xBF or 0xDC <= first <= 0xDF or data[:3] == b"\xd9\xd9\xf7":  # (CBOR's self-description)
        return True
    if len(data) >= 5 and 5 <= int.from_bytes(data[:4], "little") <= len(data) and \
            data[int.from_bytes(data[:4], "little") - 1] == 0:
        return True
    if len(data) >= 5 and first in (0, 1) and int.from_bytes(data[1:5]) == len(data) - 5:  # gRPC's frame
        return True
    return first >= 0x08 and first & 7 == 2 and first < 0x80


def _binary_pairs(data: bytes) -> bytes:
    """`data` with the values of credential-named keys it frames as MessagePack, CBOR, BSON or protobuf overwritten
    (`data` itself where there is none)."""
    if len(data) < 4 or not _serialised(data):
        return data
    lower, found = data.lower(), {}
    for word in _binary_names():
        at = lower.find(word)
        while at >= 0:
            if (framed := _framed_pair(data, at, at + len(word))) is not None:
                found.setdefault(framed[1], framed)
            at = lower.find(word, at + 1)
    out, done = None, 0
    for name, at, stop, kind in (found[at] for at in sorted(found)):
        value = data[at:stop]
        shown = value.decode("utf-8", "replace") if kind == "text" else str(_integer(value, kind))
        if at >= done and shown and not MARK.startswith(shown[:8]) and is_credential(name, shown):
            out = bytearray(data) if out is None else out
            out[at:stop] = _overwritten(stop - at, kind)
            done = stop
    return data if out is None else bytes(out)


def _framed_pair(data: bytes, first: int, least: int) -> tuple[str, int, int, str] | None:
    """(the key, where its value begins and ends, the value's kind) of the longest key framed around a name found
    from `first` to `least` (beginning there or up to 64 name characters before) with a scalar value after it: a
    key's own letters may read as a shorter frame (`_the_sl` after a `t`, CBOR's text of 20), whose "value" is more
    of the key, and the key's real value after it."""
    best = None
    for start in range(first, max(0, first - 64), -1):
        if start < first and data[start] not in _NAME_BYTE:
            break
        for end, fmt in _framed_key(data, start, least):
            if (best is None or end > best[0]) and (found := _framed_value(data, end, fmt)) is not None:
                best = (end, data[start:end].rstrip(b"\x00").decode("utf-8", "replace"), *found)
    return None if best is None else best[1:]


def _integer(value: bytes, kind: str) -> int:
    if kind == "varint":
        return sum((b & 0x7F) << 7 * i for i, b in enumerate(value))
    if kind == "inline":  # (MessagePack's positive fixint, CBOR's small unsigned integer: the mark is the value)
        return value[0]
    return int.from_bytes(value, "little" if kind == "le" else "big")


def _overwritten(length: int, kind: str) -> bytes:
    """What a value of `length` bytes is overwritten with: MARK (repeated, cut) for text; 0 in the integer's coding."""
    if kind == "text":
        return (MARK * (length // len(MARK) + 1)).encode()[:length]
    if kind == "varint":
        return b"\x80" * (length - 1) + b"\x00"
    return bytes(length)


def _framed_key(data: bytes, start: int, least: int) -> Iterator[tuple[int, str]]:
    """(where the key's frame ends, the format of the value after it) for each format that frames a key beginning at
    `start` and ending at `least` or after it."""
    def key(length: int, fmt: str) -> Iterator[tuple[int, str]]:
        end = start + length
        if least <= end < len(data) and all(b in _NAME_BYTE for b in data[least:end]):
            yield end, fmt

    one = data[start - 1] if start >= 1 else -1
    two = data[start - 2] if start >= 2 else -1
    if 0xA0 <= one <= 0xBF:  # MessagePack: fixstr, str 8
        yield from key(one & 0x1F, "msgpack")
    if two == 0xD9:
        yield from key(one, "msgpack")
    if 0x60 <= one <= 0x77:  # CBOR: text, text of a length byte
        yield from key(one - 0x60, "cbor")
    if two == 0x78:
        yield from key(one, "cbor")
    if one in _BSON_TYPES and (nul := data.find(b"\x00", least, start + 65)) >= 0 and \
            all(b in _NAME_BYTE for b in data[least:nul]):  # BSON: a type, the name, a NUL
        yield nul + 1, f"bson{one}"
    if 0 < one < 0x80 and two >= 0x08 and two & 7 == 2:  # protobuf: a tag of wire type 2, a length of one byte
        yield from key(one, "protobuf")


_BSON_TYPES = frozenset({0x02, 0x05, 0x10, 0x12})  # string, binary, int32, int64


def _framed_value(data: bytes, at: int, fmt: str) -> tuple[int, int, str] | None:
    """(where it begins, where it ends, its kind: text, an integer big-endian, little-endian, a varint or one inline
    in its mark) of the scalar value that `fmt` frames at `at`; None for another (a map, a list, a float, a boolean)."""
    n = len(data)
    if at >= n:
        return None
    b = data[at]
    if fmt == "msgpack":
        if 0xA0 <= b <= 0xBF:
            start, length, kind = at + 1, b & 0x1F, "text"
        elif b in (0xD9, 0xC4) and at + 1 < n:
            start, length, kind = at + 2, data[at + 1], "text"
        elif b in (0xDA, 0xC5):
            start, length, kind = at + 3, int.from_bytes(data[at + 1 : at + 3]), "text"
        elif b <= 0x7F:
            start, length, kind = at, 1, "inline"
        elif 0xCC <= b <= 0xD3:
            start, length, kind = at + 1, 1 << (b & 3), "big"
        else:
            return None
    elif fmt == "cbor":
        major, low = b >> 5, b & 0x1F
        if major not in (0, 2, 3) or low > 0x1B:
            return None
        if low < 24:
            start, length, kind = (at, 1, "inline") if major == 0 else (at + 1, low, "text")
        else:
            size = 1 << (low - 24)
            if major == 0:
                start, length, kind = at + 1, size, "big"
            else:
                start, length, kind = at + 1 + size, int.from_bytes(data[at + 1 : at + 1 + size]), "text"
    elif fmt.startswith("bson"):
        element = int(fmt[4:])
        if element in (0x10, 0x12):
            start, length, kind = at, 4 if element == 0x10 else 8, "le"
        else:
            size = int.from_bytes(data[at : at + 4], "little")
            start, length, kind = at + (4 if element == 0x02 else 5), size - (element == 0x02), "text"
    else:  # protobuf: a tag, then a length (a varint) and the text, or a varint
        if at + 1 >= n or b < 0x08:
            return None
        if b & 7 == 2:
            start, length = at + 1, 0
            while start < n and start - at <= 3:  # (a length of up to 3 varint bytes: 2 MiB, more than any key's)
                length |= (data[start] & 0x7F) << 7 * (start - at - 1)
                start += 1
                if not data[start - 1] & 0x80:
                    break
            else:
                return None
            kind = "text"
        elif b & 7 == 0:
            end = at + 1
            while end < n and data[end] & 0x80 and end - at < 10:
                end += 1
            start, length, kind = at + 1, end + 1 - (at + 1), "varint"
        else:
            return None
    if length <= 0 or start + length > n or length > 4096:
        return None
    return start, start + length, kind


# Compressed data no Content-Encoding named (a header stripped, `identity` said, a capture saving raw bytes): gzip,
# zstd, zlib (deflate, a 32 KiB window, each level's header), bzip2 and xz (brotli has no magic bytes to tell it by)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_COMPRESSED = frozenset({b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"})


def _compressed_body(data: bytes, content_type: str | None, kind: BodyKind, kept: Kept | None
                     ) -> bytes | None:
    """A body that is compressed data, redacted as what it holds (within the limits a body is decompressed to):
    `data` itself where that held no credential, else the redacted content compressed again as it was (`MARK` for
    zstd, which the standard library cannot write); `MARK` where it decompresses beyond the limits (what it holds is
    never read), and for a stream whose data is broken or cut off and whose readable part holds a credential (one
    whose checksum alone is wrong is compressed again with that checksum); None where it is no such data after all
    (then read as binary, as before)."""
    from . import limits

    fmt = "zstd" if data[:4] == _ZSTD_MAGIC else "xz" if data[:6] == _XZ_MAGIC else \
        "bzip2" if limits.is_bzip2(data) else "gzip" if data[:2] in _COMPRESSED else None
    if fmt is None:
        return None
    whole, damaged = True, False
    try:  # (gzip's decoder reads a zlib header too, and checks the stream's checksum: no text passes for one)
        if fmt in ("gzip", "zstd"):
            inner = limits.decompress(data, fmt)
        else:
            inner, whole = limits.unpack(data, fmt)
    except limits.LimitHit:
        return MARK.encode()
    except (ValueError, ImportError):
        if fmt == "zstd":
            return None
        try:  # damaged: what it holds up to where it breaks, as anyone can read it
            inner, whole = limits.unpack(data, fmt)
        except limits.LimitHit:
            return MARK.encode()
        except ValueError:
            return None
        damaged = True
    redacted = redact_body(inner, content_type, kind, kept)
    if redacted == inner:  # (a damaged stream's part is no proof it was compressed data: `x^` may begin a text)
        return None if damaged else data
    if fmt == "zstd" or not whole:
        return MARK.encode()
    if fmt == "gzip":  # (gzip as gzip, zlib as zlib) a stream whose checksum is wrong compressed again with that
        # checksum, one cut off cut off (its checksum left out), so that it reads as it did, not as a sound stream
        trailer = 8 if data[:2] == b"\x1f\x8b" else 4
        sound = gzip.compress(redacted, mtime=0) if trailer == 8 else zlib.compress(redacted)
        if damaged:
            return sound[:-trailer] + data[-trailer:]
        return sound if limits.is_whole(data) else sound[:-trailer]
    if fmt == "bzip2":
        import bz2

        return bz2.compress(redacted)
    import lzma

    return lzma.compress(redacted)


def _brotli_body(data: bytes, content_type: str | None, kind: BodyKind, kept: Kept | None) -> bytes | None:
    """A binary body that is brotli data no Content-Encoding named (brotli has no magic bytes: it is told by
    decoding, which other data fails within its first bytes), redacted as what it holds: `data` itself where that
    held no credential, else the redacted content compressed again (`MARK` for a stream cut off); None where it is no
    brotli stream, or one that decodes to nothing, to bytes that are no text (text in a legacy charset can read as
    a stream cut off) or beyond the limits."""
    import brotli

    from . import limits

    if data.startswith(_FILE_MAGIC):
        return None
    whole = True
    try:
        inner = limits.decompress(data, "br")
    except limits.LimitHit:
        return None
    except ValueError:
        try:  # cut off: what it holds up to where it ends, as anyone can read it
            decompressor = brotli.Decompressor()
            inner = decompressor.process(data, output_buffer_limit=limits.current().max_body)
        except brotli.error:
            return None
        if decompressor.is_finished():  # (data after the stream's end: no brotli body)
            return None
        whole = False
    if not inner or len(inner.translate(None, _TEXT_BYTES)) * 100 > len(inner) or not whole and inner[:64] in data:
        return None  # (other data read as a stream cut off gives bytes, not text, or its own bytes as they are: an
        # uncompressed meta-block's, which the body's own reading redacts)
    redacted = redact_body(inner, content_type, kind, kept)
    if redacted == inner:
        return data
    return brotli.compress(redacted) if whole else MARK.encode()


def redact_logins(data: bytes) -> bytes:
    """A raw TCP, UDP or WebSocket message with the credentials of login protocols replaced, which no name=value pair
    labels and `redact_body` (which a message goes through after this) cannot tell from words: FTP's and POP3's
    `PASS …`, IMAP's `LOGIN user …` and `AUTHENTICATE`, SMTP's and Redis' `AUTH …` (a Redis array's arguments too),
    and the password (and a username holding a credential) of an MQTT CONNECT packet."""
    if not data:
        return data
    if data[:1] == b"\x10" and (connect := _mqtt_connect(data)) is not None:
        data = connect
    if b"PASS " in data or b"AUTH" in data or b"LOGIN " in data:
        data = _COMMAND_LOGIN.sub(rb"\g<head> " + MARK.encode(), data)
        data = _RESP_AUTH.sub(lambda m: m["head"] + _RESP_ARGUMENT.sub(
            b"$%d\r\n%s\r\n" % (len(MARK), MARK.encode()), m["arguments"]), data)
    return data


_SASL = rb"(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|SCRAM-SHA-1|SCRAM-SHA-256|NTLM|GSSAPI)"
_COMMAND_LOGIN = re.compile(  # (a mechanism's name alone is no secret: `AUTH LOGIN`, the credential on lines after)
    rb"(?m)^(?P<head>(?:[\w.\-]+ )?(?:PASS|LOGIN [^\s]+|AUTH(?:ENTICATE)?(?: " + _SASL + rb")?)) (?!(?:REDACTED|"
    + _SASL + rb")\r?$)(?P<secret>[^\r\n]+)"
)
_RESP_AUTH = re.compile(rb"(?i)(?P<head>\$4\r\nAUTH\r\n)(?P<arguments>(?:\$\d{1,9}\r\n[^\r\n]*\r\n)+)")
_RESP_ARGUMENT = re.compile(rb"\$\d{1,9}\r\n[^\r\n]*\r\n")


def _mqtt_connect(data: bytes) -> bytes | None:
    """An MQTT CONNECT packet (3.1, 3.1.1 or 5) with its password replaced, and its username where the policy finds
    a credential in it (AWS IoT's `?x-amz-customauthorizer-name=…&token=…`); None where `data` is no such packet."""
    def length(at: int) -> tuple[int, int]:  # a variable byte integer: (its value, where it ends)
        value = 0
        for shift in range(4):
            if at >= len(data):
                raise IndexError
            value |= (data[at] & 0x7F) << 7 * shift
            at += 1
            if not data[at - 1] & 0x80:
                return value, at
        raise IndexError

    def field(at: int) -> int:  # where a two-byte-length field starting at `at` ends
        end = at + 2 + int.from_bytes(data[at : at + 2], "big")
        if end > len(data):
            raise IndexError
        return end

    try:
        remaining, at = length(1)
        start, end = at, at + remaining  # the packet's variable header and payload (more packets may follow)
        name_end = field(at)
        if data[at + 2 : name_end] not in (b"MQTT", b"MQIsdp") or end > len(data):
            return None
        level, flags = data[name_end], data[name_end + 1]
        at = name_end + 4  # level, flags, keep alive
        if level == 5:
            properties, at = length(at)
            at += properties
        at = field(at)  # the client id
        if flags & 0x04:  # a will
            if level == 5:
                properties, at = length(at)
                at += properties
            at = field(field(at))
        parts = [data[:at]]
        if flags & 0x80:  # a username
            user_end = field(at)
            user = data[at + 2 : user_end].decode("utf-8", "replace")
            parts.append(data[at:user_end] if redact_text(user, FULL) == user else
                         len(MARK).to_bytes(2, "big") + MARK.encode())
            at = user_end
        if flags & 0x40:  # a password
            at = field(at)
            parts.append(len(MARK).to_bytes(2, "big") + MARK.encode())
        if at > end:
            return None
        parts.append(data[at:end])
    except IndexError:
        return None
    body = b"".join(parts)[start:]
    head = bytearray(data[:1])
    n = len(body)
    while True:  # the remaining length again, as a variable byte integer
        head.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(head) + body + data[end:]


# The bytes of text (printable ASCII, tabs and line ends, and every byte of the upper half, which legacy charsets
# use): a body with more than 1 % of others (control bytes, NULs) is binary
_PLAIN_TEXT = bytes([*range(0x20, 0x7F), 0x09, 0x0A, 0x0D])  # ASCII text: no binary serialisation's frames
_TEXT_BYTES = bytes([*range(0x20, 0x7F), 0x09, 0x0A, 0x0C, 0x0D, *range(0x80, 0x100)])
_PAGES = ("text/html", "application/javascript", "text/javascript", "text/css")


def _wide_text(data: bytes) -> tuple[str, bytes, str, bytes] | None:
    """(its encoding, its BOM, the text, the bytes of a character cut at its end) of a body in UTF-16 or UTF-32 (by
    its BOM, or the NULs around ASCII that JSON and forms begin with) or in UTF-8 after a BOM, as the device decoders
    read it; None for any other body or one that does not decode."""
    from .captures.sniff import json_encoding

    encoding = json_encoding(data)
    if encoding is None:
        return None
    bom = next((b for b in _BOMS if data.startswith(b)), b"")
    encoding = {"utf-8-sig": "utf-8", "utf-16": _BOMS.get(bom, "utf-16"), "utf-32": _BOMS.get(bom, "utf-32")}.get(
        encoding, encoding)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(data[len(bom):])
    except UnicodeDecodeError:
        return None
    if not bom and len(text.encode("ascii", "ignore")) * 10 < len(text) * 9:
        return _BINARY  # NULs that are no text's (a binary frame's length, a protobuf's zero): read as bytes
    return encoding, bom, text, decoder.getstate()[0]


_BINARY = ("", b"", "", b"")  # `_wide_text`'s answer for binary data


_BOMS = {codecs.BOM_UTF32_LE: "utf-32-le", codecs.BOM_UTF32_BE: "utf-32-be", codecs.BOM_UTF8: "utf-8",
         codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}  # UTF-32 LE's first: it holds UTF-16's
_JSON_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)(?:(")|\\?\Z)|[{}\[\],:]|[^\s{}\[\],:"]+', re.DOTALL)


def _broken_json(text: str) -> str:
    """JSON that does not parse (cut short, or damaged) with its credentials replaced token by token as
    `redact_json` would: values under credential-named keys (every leaf below a strongly named one), credential
    keys, and every string as `redact_string`, one cut short too; the rest of the text as it is."""
    replaced: list[tuple[int, int, str]] = []
    # open containers: [bracket, key, after its colon, every leaf secret, a label's name, the array's item, the
    # replacement of a `[name, value]` pair's value until the array is known to hold two items]
    stack: list[list] = []
    frame: list | None = None
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        first = token[0]
        if first == '"':
            value, is_open = _json_string(m.group(1)), m.group(2) is None
        elif first in "{[":
            secret = frame is not None and (frame[3] or _secret_name(frame, None))
            frame = [first, frame[1] if frame is not None and first == "[" else None, False, secret, None, 0, None]
            stack.append(frame)
            continue
        elif first in "}]":
            if stack:
                if (pair := stack.pop()[6]) is not None:  # `["password", "…"]`: two items, a header's pair
                    replaced.append(pair[0])
                frame = stack[-1] if stack else None
            continue
        elif first == ":":
            if frame is not None:
                frame[2] = True
            continue
        elif first == ",":
            if frame is not None and frame[0] == "{":
                frame[1], frame[2] = None, False
            elif frame is not None:
                frame[5] += 1
                if frame[6] is not None:  # a third item: no pair, the value redacted as any string
                    replaced += frame[6][1:]
                    frame[6] = None
            continue
        else:
            value = is_open = None
            if frame is None or frame[0] == "[" and not frame[3] or frame[0] == "{" and frame[1] is None:
                continue  # a number or a word that no credential's name holds
        if frame is not None and frame[0] == "{" and not frame[2]:  # a key
            frame[1] = token if value is None else value
            if value is not None and (shown := json_key(value)) != value:
                replaced.append((m.start(), m.end(), _string_token(shown, is_open)))
        elif frame is not None and (frame[3] or _secret_name(frame, value)):
            if token not in ("true", "false", "null") and value not in ("", MARK):
                replaced.append((m.start(), m.end(), _string_token(MARK, bool(is_open))))
        elif value is not None:
            key = frame[1] if frame is not None else None
            if frame is not None and frame[0] == "{" and key in _LABELS:
                frame[4] = value
            shown = [(m.start(), m.end(), _string_token(redacted, is_open))] if (
                redacted := redact_string(value, FULL, key)) != value else []
            if frame is not None and frame[0] == "[" and frame[5] < 2:
                if frame[5] == 0:
                    frame[4] = value
                elif frame[4] is not None and value not in ("", MARK) and is_credential(frame[4], value):
                    frame[6] = ((m.start(), m.end(), _string_token(MARK, bool(is_open))), *shown)
                    continue
            replaced += shown
    replaced += [f[6][0] for f in stack if f[6] is not None]  # cut short inside the pair: replaced
    if not replaced:
        return text
    replaced.sort()
    out, position = [], 0
    for start, end, shown in replaced:
        out += [text[position:start], shown]
        position = end
    out.append(text[position:])
    return "".join(out)


def _secret_name(frame: list, value: str | None) -> bool:
    """Whether the value at this point of an object (a string `value`, None for another) is a credential by the key
    that holds it, or by a `{"name": …, "value": …}` label before it."""
    key = frame[1]
    if frame[0] != "{" or key is None:
        return False
    if frame[4] is not None and key in _VALUES and is_credential(frame[4], value):
        return True
    kind = credential_name(key)
    return kind == "strong" or (kind == "weak" and weak_credential(key, value))


def _json_string(inner: str) -> str:
    """What the inside of a JSON string token stands for (its escapes undone where they are well formed)."""
    if "\\" not in inner:
        return inner
    try:
        value = orjson.loads(f'"{inner}"')
    except orjson.JSONDecodeError:
        return inner
    return value if isinstance(value, str) else inner


def _string_token(value: str, is_open: bool) -> str:
    """`value` as a JSON string token, left open (`is_open`) as one cut short at the end of the text was."""
    shown = _dumps(value).decode()
    return shown[:-1] if is_open else shown


def _sign_in_json(document: Any) -> tuple[Any, int]:
    """A sign-in request's JSON: the values of `SIGN_IN_FIELDS` redacted as any JSON, every other leaf replaced."""
    counter = [0]

    def walk(value: Any, depth: int) -> Any:
        if isinstance(value, dict):
            return {k: _json(v, FULL, False, k, counter, depth + 1) if sign_in_field(str(k))
                    else _leaves(v, counter, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        return _leaves(value, counter, depth)

    try:
        return walk(document, 0), counter[0]
    except (_TooDeep, RecursionError):
        return MARK, 1


def _sign_in_params(form: str) -> str:
    """A sign-in request's form: the values of `SIGN_IN_FIELDS` redacted as any parameter, every other replaced."""
    params = re.split(r"([&;])", form)
    for i, param in enumerate(params):
        name, equals, value = param.partition("=")
        if i % 2 == 0 and equals and value not in ("", MARK):
            params[i] = redact_params(param, FULL)[0] if sign_in_field(unquote_plus(name)) else f"{name}={MARK}"
    return "".join(params)


def _redact_multipart(data: bytes, content_type: str | None, kind: BodyKind) -> bytes | None:
    """Multipart parts redacted by their names and bodies; its lines end as its first delimiter's does (CRLF, or LF
    alone as some tools write it). What comes before the first delimiter (blank lines, a MIME preamble: `This is a
    multi-part message…`) is redacted as text, the parts after it as parts."""
    whole = data
    start = len(data) - len(data.lstrip(b"\r\n"))  # blank lines before the first delimiter
    m = _BOUNDARY.search(content_type or "")
    boundary = (m.group(1) or m.group(2)).encode() if m else data[start:].partition(b"\n")[0][2:].strip()
    if not boundary:
        return None
    delimiter = b"--" + boundary
    if not data.startswith(delimiter, start):
        if m is None or (at := data.find(b"\n" + delimiter)) < 0:
            return None
        start = at + 1  # after a preamble
    preamble, data = data[:start], data[start:]
    first_line = data[: data.find(b"\n") + 1] if b"\n" in data else data
    newline = b"\r\n" if first_line.endswith(b"\r\n") else b"\n"
    pieces = data.split(delimiter)
    changed = False
    for i, piece in enumerate(pieces[1:], 1):
        head, sep, body = piece.partition(newline * 2)
        if not sep:
            continue
        trailing = newline if body.endswith(newline) else b""
        content = body[: len(body) - len(trailing)]
        headers = head.decode("utf-8", "replace")
        field = _part_name(headers)
        part_type = next((line.split(":", 1)[1] for line in headers.splitlines()
                          if line.lower().startswith("content-type:")), None)
        value = content.decode("utf-8", "replace")
        plain = part_type is None and "\n" not in value and len(value) < 256  # a field, not a file
        if field and is_credential(field, value) or (kind == "sign-in-request" and plain and not sign_in_field(field)):
            new = MARK.encode() if content else content
        elif plain:  # by its name and shape, and as the text it is (JSON, a form, pairs: {"pin": "4821"})
            new = MARK.encode() if is_credential_value(value, FULL) else redact_body(
                content, None, "other" if kind in ("sign-in", "sign-in-request") else kind)
        else:
            new = redact_body(content, part_type, kind)
        new_head = _part_head(head, newline.decode())
        if new != content or new_head != head:
            pieces[i] = new_head + sep + new + trailing
            changed = True
    shown = redact_body(preamble, "text/plain", kind) if preamble.strip() else preamble
    return shown + delimiter.join(pieces) if changed or shown != preamble else whole


def _part_name(headers: str) -> str:
    """A part's field name: RFC 5987's `name*=UTF-8''pass%77ord` decoded, as a server reads it."""
    m = _PART_NAME.search(headers)
    field = (m.group(1) or m.group(2)) if m else ""
    if m and m.group().partition("=")[0].endswith("*") and "'" in field:
        field = unquote(field.split("'", 2)[-1])
    return field


def _part_head(head: bytes, newline: str) -> bytes:
    """A multipart part's headers: Content-Disposition and Content-Type as free text (a token as a file name), any
    other as a header of a request (`redact_header`)."""
    lines = head.decode("utf-8", "surrogateescape").split(newline)
    for n, header in enumerate(lines):
        name, colon, value = header.partition(":")
        if not colon:
            continue
        if name.strip().lower() in ("content-disposition", "content-type"):
            lines[n] = f"{name}:{redact_text(value, FULL)}"
        else:
            space = value[: len(value) - len(value.lstrip())]
            lines[n] = f"{name}:{space}{redact_header(name, value.lstrip(), FULL)[0]}"
    shown = newline.join(lines).encode("utf-8", "surrogateescape")
    return head if shown == head else shown


# --- outputs: rejects, generic, provenance ----------------------------------------------------------------------

def reject_row(
    endpoint: str, method_name: str | None, host_name: str | None, raw_path: str | None, status: int | None,
    reason: str, body: bytes | None,
) -> SafeRow:
    """A `rejects` row: the request as `path` shows it, the reason without quoted payload values, the body with
    its credentials replaced (UTF-8 text, or base64 when not UTF-8)."""
    text, encoding = None, None
    if body is not None:
        redacted = redact_body(body, None, "other")
        try:
            text, encoding = _released(redacted.decode("utf-8")), _released("utf-8")
        except UnicodeDecodeError:
            text, encoding = _released(base64.b64encode(redacted).decode("ascii")), _released("base64")
    return SafeRow(
        {
            "endpoint": vocabulary(endpoint),
            "method": None if method_name is None else method(method_name),
            "host": None if host_name is None else host(host_name),
            "path": None if raw_path is None else path(raw_path),
            "status": status,
            "reason": message(reason),
            "body": text,
            "body_encoding": encoding,
        },
        _KEY,
    )


# What a device table's text is searched for (Aho-Corasick in polars: 0.04 s a million values, where a regex took
# 9 s): the anchors of the unambiguous shapes; the rare values found are redacted as STRICT text in Python.
_STRICT_ANCHORS = [
    "eyJ", "-----BEGIN", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T", "AIza", "ya29.",
    "1//0", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "sk_live_", "sk_test_", "rk_live_",
    "rk_test_", "pk_live_", "pk_test_", "SG.", "glpat-", "npm_",
    "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glsoat-", "glcbt-", "glagent-", "gloas-", "glffct-", "pypi-AgE",
    "GOCSPX-", "whsec_", "sk-proj-", "sk-ant-", "sk-svcacct-", "sk-admin-", "hf_", "shpat_", "shpss_", "shpca_",
    "shppa_", "xapp-", "hooks.slack.com/", "/api/webhooks/", ":AA", "dp.pt.", "dp.st.", "dp.sa.", "dp.ct.",
    "dp.scim.", "dp.audit.", *(f"SK{c}" for c in "0123456789abcdefABCDEF"),  # Twilio's SK and hex, not SKU
    "APA91b", "EAA", "sq0atp-", "sq0csp-", "sq0idb-", "ek_live_", "ek_test_",
    "://", "%3A%2F%2F", "%3a%2f%2f",  # a URL, percent-encoded too
]
# ...and, in any case (ASCII's: others as written, upper case and capitalised), every name `credential_name` knows
# that a `name=value` or `name: value` pair would carry, and the schemes' names.
_NAME_WORDS = {*_STRONG_PARTS.pattern.split("|"), *_STRONG_EXACT, *_STRONG_ENDINGS, "session", "auth", "sid", "state",
               "ticket", "nonce", "access", "code", "key", "bearer", "digest", "negotiate", "ntlm", "hawk",
               "answer", "phrase"}  # the last words of names written as two (seed phrase; not magic link, few)
# ...and the last words of the names written as three (`clave de acceso: …`)
_NAME_WORDS |= {"acceso", "verificacion", "verificación", "verification", "vérification"}
_NAME_ANCHORS = sorted({form for word in _NAME_WORDS for form in (word, word.upper(), word.capitalize())})
# ...and every authorization scheme's name, in any case, before what could be its credential (as `_SCHEME_VALUE`
# reads them: a Band event named `Run DPoP …`), searched for by Rust's regex (not words: `robot walk`, `basic plan`)
_SCHEME_ANCHOR = "(?i)" + _AUTH_SCHEME + r"[ \t]+(?:\S{8}|[\w-]+=)"  # (`Hawk id="a", mac="…"`)
# ...and 8 base64 characters around the base64 of a `:` (`_BASE64_USERINFO`, without look-arounds, which Rust's regex
# has none of), in a value where a lower-case letter has a capital after it or a letter a digit, `+` or `/` beside
# it (base64 of `user:password`; not a sentence of capitalised words: `Tonight`, `Donation`)
_BASE64_ANCHOR = "|".join(f"[A-Za-z0-9+/]{{{k}}}{_BASE64_COLON}[A-Za-z0-9+/]{{{6 - k}}}" for k in range(7))
_BASE64_MIXED = "[a-z][A-Z]|[A-Za-z][0-9+/]|[0-9+/][A-Za-z]"
# ...and a user and password before a host without a scheme (`_BARE_USERINFO`: `sleeper:…@db.example.com`, not an
# e-mail address after a time)
_BARE_USERINFO_ANCHOR = r"[\w.+%\-]:[^\s:@/\\\"'<>()\[\]{},;]{1,128}@[A-Za-z0-9]"
# ...and, in any case, the words of free text's other rules: a path's action before its one-time token (`/reset/…`),
# SQL's `IDENTIFIED BY`, the commands that take a password as `user/password` or from their input (`sqlplus`,
# `echo … | sudo -S`)
_RULE_ANCHORS = [*(f"/{action[:6]}" for action in sorted(_ACTIONS)), "identified", "sqlplus", "sqlldr", "expdp",
                 "impdp", "rman", "dgmgrl", "sudo", "kinit", "cryptsetup"]
_PROVENANCE_TEXT = frozenset({"participant_id", "source_file"})


def strict_frame(df):
    """A frame of device rows with credentials in its text columns replaced (STRICT: ids and words stay as they
    are; `password=…` and `"token": "…"` pairs lose their values): device tables hold chosen fields, so this finds
    nothing unless a capture put a credential where data was. Each column's distinct values are searched, in one
    query for all columns (device text repeats: sensor names, event types, one event's id on each of its minutes).
    A LazyFrame is searched so too, and given back lazy."""
    import polars as pl

    lazy = isinstance(df, pl.LazyFrame)  # (a LazyFrame stays one: its text is searched now, replaced when collected)
    schema = df.collect_schema() if lazy else df.schema
    columns = [name for name, dtype in schema.items() if dtype == pl.String and name not in _PROVENANCE_TEXT]
    if not columns or not lazy and not df.height:
        return df
    # (named so that no table's column is: a generic table's text column `value` or `variable` met unpivot's own)
    value = pl.col("__text")
    found = (
        df.lazy().select(pl.col(name).unique().implode() for name in columns)
        .unpivot(variable_name="__column", value_name="__text").explode("__text")
        .with_columns(anchored=value.str.contains_any(_STRICT_ANCHORS)
                      | value.str.contains_any(_NAME_ANCHORS, ascii_case_insensitive=True)
                      | value.str.contains_any(_RULE_ANCHORS, ascii_case_insensitive=True)
                      | value.str.contains(_SCHEME_ANCHOR) | value.str.contains(_BARE_USERINFO_ANCHOR))
        .filter(pl.col("anchored") | value.str.contains(_BASE64_MIXED) & value.str.contains(_BASE64_ANCHOR))
        .collect(engine="in-memory")
    )
    changed: dict[str, dict[str, str]] = {}
    for name, text, anchored in found.iter_rows():  # (base64 alone: its runs, not the whole policy)
        if _id_named(name) and global_id(text.strip()):
            continue  # a GraphQL node's id, under an id's name: as `redact_string` keeps it
        redacted = redact_text(text, STRICT) if anchored else _BASE64_USERINFO.sub(_base64_user_password_sub, text)
        if redacted != text:
            changed.setdefault(name, {})[text] = redacted
    return df.with_columns(pl.col(name).replace(values) for name, values in changed.items()) if changed else df


def earlier_rows(table: str, df):
    """Rows of a table read back from an earlier run's OUT (to merge, or to add to): redacted again, since that run
    may have been made before this policy; what this policy wrote comes back as it was. `source_file` is redacted as
    `source_file` makes it, rejects' captured columns value by value (each distinct value once), other tables as
    `strict_frame`."""
    import polars as pl

    df = _earlier_names(df)
    if table != "rejects":
        return strict_frame(df)
    if not df.height:
        return df
    again = {"path": path, "host": host, "method": method, "reason": _reason_again}
    columns = []
    for name, redact in again.items():
        values = df.get_column(name).drop_nulls().unique().to_list()
        changed = {v: r for v in values if (r := redact(v)) != v}
        if changed:
            columns.append(pl.col(name).replace(changed))
    bodies = df.select("body", "body_encoding").drop_nulls().unique().rows()
    changed = {b: r for b, e in bodies if (r := _body_again(b, e)) != b}
    if changed:
        columns.append(pl.col("body").replace(changed))
    return df.with_columns(columns) if columns else df


_QUOTED_VALUE = re.compile(r"(?:(?<= is not allowed for )|(?<= does not allow )|(?<=None of ))[\"{\[].*?"
                           r"(?=(?: are valid under the given schema)?$)")


def _reason_again(text: str) -> Safe:
    """A reject's reason an older databack wrote, as `schema_violation` writes it now: the value a `not`, a false
    schema or `contains` quoted (JSON, maybe cut at the reason's length) named no more than `a value`."""
    return message(_QUOTED_VALUE.sub("a value", text))


def _earlier_names(df):
    """Rows read back with their `source_file` as `file_name` shows it (an older run wrote names as given)."""
    import polars as pl

    if "source_file" not in df.columns or not df.height:
        return df
    names = df.get_column("source_file").drop_nulls().unique().to_list()
    changed = {n: r for n in names if (r := file_name(n)) != n}
    return df.with_columns(pl.col("source_file").replace(changed)) if changed else df


def _body_again(text: str, encoding: str) -> str:
    if encoding == "base64":
        data = base64.b64decode(text)
        redacted = redact_body(data, None, "other")
        return text if redacted == data else base64.b64encode(redacted).decode("ascii")
    data = text.encode("utf-8", "surrogatepass")
    redacted = redact_body(data, None, "other")
    return text if redacted == data else redacted.decode("utf-8", "replace")


def generic_payload(payload: Any) -> SafeJson:
    """A JSON response for the generic export: credential-named keys left out (never a column), credentials in
    values replaced."""
    return SafeJson(redact_json(payload, FULL, drop=True)[0], _KEY)


def child_table(parent: Safe, field: str) -> Safe:
    """The generic table of an array inside a table's rows (`field` is a key of a `SafeJson`, already redacted)."""
    require(parent, "generic table")
    return _released(f"{parent}__{field.lower()}"[:200])  # (lower case, as the parent's: see `generic`)


def schema_violation(text: str, instance: Any) -> str:
    """A JSON Schema validator's message without the value it quotes (`{"password": …} is not of type "array"` ->
    `an object is not of type "array"`), first or after the schema's own literal (`{"required":["error"]} is not
    allowed for {…}`, `None of […] are valid under the given schema`)."""
    try:
        quoted, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        quoted, end = None, 0
    if end and quoted == instance:
        return describe(instance) + _instance_out(text[end:], instance)
    if not end and text[:1] in '{["-0123456789':  # a value quoted so that it cannot be read back: say less
        return f"{describe(instance)} does not fit the schema"
    return _instance_out(text, instance)  # the schema's own literal first, or words


_QUOTING_TAIL = re.compile(r"(?: is not allowed for | does not allow )")  # what `not` and a false schema end with


def _instance_out(text: str, instance: Any) -> str:
    """`text` with the instance it quotes after its start (as the validator writes it: JSON, keys sorted or not)
    named by its type."""
    if not isinstance(instance, (str, list, dict)):
        return text  # (a number, a boolean or null: their text would match the schema's own numbers)
    if m := _QUOTING_TAIL.search(text):
        return text[: m.end()] + describe(instance)
    for written in {_dumps(instance), orjson.dumps(instance, option=orjson.OPT_SORT_KEYS) if isinstance(
            instance, (list, dict)) else b""} - {b""}:
        text = text.replace(written.decode("utf-8", "replace"), describe(instance))
    return text


def describe(value: Any) -> str:
    """A payload value named by its type only."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    if isinstance(value, str):
        return "a string"  # not its length: a scrubbed copy's rejects would differ from the original's
    return "a number"


# --- file names -------------------------------------------------------------------------------------------------

def source_file(name: str, key: bytes | None = None) -> Safe:
    """What `source_file` holds: the input's name as given, or with a key (`--pseudonymize`), its folders replaced
    by one keyed hash of them (`d-3f9a1c2e5b7d4a60/2024-03-02-phone.har`): nothing above the file names a person,
    and the same folder gives the same hash in every run with the same key. A URL's folder is all of it before the
    file's name (`s3://bucket/study/p07`)."""
    if key is None or name == "<stdin>":
        return _released(file_name(name))
    folder, file = _folder_and_file(name)
    if not folder:
        return _released(file_name(file))
    return _released(f"{folder_pseudonym(folder, key)}/{file_name(file)}")


_PSEUDONYMISED = re.compile(r"d-[0-9a-f]{%d}/[^/\\]*" % PSEUDONYM_HEX)


def pseudonymised_again(name: str, key: bytes) -> Safe:
    """A `source_file` an earlier run wrote, as a run with `key` names it: one written with its folders (a run
    without --pseudonymize) has them hashed as `source_file` hashes them; one pseudonymised already stays."""
    return _released(name) if _PSEUDONYMISED.fullmatch(name) else source_file(name, key)


def file_name(name: str) -> str:
    """A file's name or path with the credentials it carries replaced as STRICT text shows them (a JWT, a known
    key's shape, `password=…`, base64 of `user:password`) and random tokens, folder by folder, each keeping its
    suffix (`p07/sync password=REDACTED.har`): ids, hashes and dates stay as they are."""
    return _FILE_NAME_SEP.sub(lambda m: _name_part(m.group()), name)


_FILE_NAME_SEP = re.compile(r"[^/\\]+")  # a folder's or a file's name in a path


def _name_part(part: str) -> str:
    redacted = _CANDIDATE.sub(_token_in_name, _BASE64_RUN.sub(_base64_user_password_sub, redact_text(part, STRICT)))
    if redacted == part:
        return part
    suffix = PurePosixPath(part).suffix
    return redacted if redacted.endswith(suffix) else redacted + suffix


def _token_in_name(m: re.Match) -> str:
    """A random token in a file's or folder's name (`sync-qMnzDMDSmJLlZrlXQficbBc44P9wWDJV.har`, a session saved
    under its id) replaced; hex (a file's hash) stays, and so do names of words and numbers alone
    (`HTTPToolkit_2024-03-02_10-11`), which look random as a whole."""
    run = m.group()
    if _HEX.fullmatch(run.rstrip("=")) or not random_secret(run) or all(
            piece.isdigit() or piece.isalpha() for piece in _PIECE_SPLIT.split(run.rstrip("=")) if piece):
        return run
    return MARK


def _folder_and_file(name: str) -> tuple[str, str]:
    """A path's or a URL's folder (`` for none) and file name."""
    if _URL_NAME.match(name):
        head, chained, rest = name.partition("::")
        scheme, _, path = head.partition("://")
        folder, _, file = path.rpartition("/")
        return (f"{scheme}://{folder}{chained}{rest}" if folder else ""), file
    posix = PurePosixPath(name.replace("\\", "/"))
    folder = str(posix.parent)
    return ("" if folder in (".", "") else folder), posix.name


_URL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+://")


def _url_folders(url: str) -> list[str]:
    """A URL's folders down to its host (`s3://b/study/p07`, `s3://b/study`, `s3://b`), the URL itself among them
    when it names no file (no suffix)."""
    folders = [url.rstrip("/")] if not PurePosixPath(url.partition("::")[0].partition("?")[0]).suffix else []
    folder = url
    while folder := _folder_and_file(folder)[0]:
        folders.append(folder)
    return folders


def url_name(url: str) -> str:
    """What an input at a URL is called in outputs: the URL without what it carries to reach the file (a user and
    password, the query, such as a signed URL's `X-Amz-Signature`, and the fragment), each link of a chained URL
    (`zip://a.har::s3://…`) alike."""
    return _url_name(url)


def _url_name(url: str, keep_user: bool = False) -> str:
    pieces = []
    for piece in url.split("::"):
        piece = piece.partition("#")[0].partition("?")[0]
        if not keep_user and (m := _SCHEME_HOST.match(piece)):
            piece = (m.group(1) or "") + "//" + m.group(2).rpartition("@")[2] + piece[m.end():]
        pieces.append(piece)
    return "::".join(pieces)


def participant_pseudonym(participant_id: str, key: bytes) -> str:
    """`p-<keyed hash>` of a participant id: stable across runs and batches with the same key, useless without it."""
    return "p-" + hmac.new(key, participant_id.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


_PARTICIPANT_PSEUDONYM = re.compile(r"p-[0-9a-f]{%d}" % PSEUDONYM_HEX)


def participant_again(participant_id: str, key: bytes) -> str:
    """A participant id an earlier run wrote, as a run with `key` writes it (one pseudonymised already stays)."""
    return participant_id if _PARTICIPANT_PSEUDONYM.fullmatch(participant_id) else participant_pseudonym(
        participant_id, key)


def folder_pseudonym(folder: str, key: bytes) -> str:
    """`d-<keyed hash>` of a folder, the same that `source_file` writes for the files in it."""
    digest = hmac.new(key, b"folder\0" + folder.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
    return f"d-{digest[:PSEUDONYM_HEX]}"


def hidden_folders(paths: Iterable[str | PurePosixPath], key: bytes | None) -> dict[str, str]:
    """With a key (`--pseudonymize`), every folder the paths name or lie in (as given, and absolute) with its
    pseudonym, for `line` to show instead: a message names no participant folder either. Empty without a key."""
    if key is None:
        return {}
    from pathlib import Path

    hidden: dict[str, str] = {}
    for given in paths:
        text = str(given)
        if text in ("-", "<stdin>"):
            continue
        if _URL_NAME.match(text):  # as outputs name it (`url_name`); as given and as messages show it alike
            named = _url_folders(url_name(text))
            for url in (url_name(text), _url_name(text, keep_user=True), _url_name(redact_text(text), keep_user=True)):
                hidden |= {f: folder_pseudonym(n, key) for f, n in zip(_url_folders(url), named)}
            continue
        path = Path(text)
        folders = [path, *path.parents] if path.is_dir() or not path.suffix else list(path.parents)
        for folder in folders:
            if str(folder) in (".", "", "/", folder.anchor):
                continue
            shown = folder_pseudonym(str(folder).replace("\\", "/"), key)
            hidden.setdefault(str(folder), shown)
            hidden.setdefault(str(folder.absolute()), shown)
            try:
                hidden.setdefault(str(folder.resolve()), shown)
            except OSError:
                pass
    return hidden


def line(text: str, hidden: dict[str, str] | None = None) -> Safe:
    """A line a command prints (a message, a summary, an error): credentials replaced, and the `hidden` folders
    (`hidden_folders`) by their pseudonyms wherever a path holds them: a folder of one name (`incoming`) only where
    a path goes on below it (`incoming/…`), so that a word of the message is never taken for it (`shown_path` names
    such a folder alone). Every line on standard error goes through here (cli's `_Messages`)."""
    shown = redact_text(text, FULL)
    if hidden:
        shown = _hiding_of(hidden).sub(lambda m: hidden[m.group(1) or m.group(2)], shown)
    return _released(shown)


_last_hiding: list[Any] = [None, 0, None]  # the dict `line` was last given, its size then, its pattern


def _hiding_of(hidden: dict[str, str]) -> re.Pattern:
    """The pattern of the `hidden` folders, made again only for another dict or once this one has grown (a run only
    ever adds folders to it, each with the one pseudonym its key gives): not sorted again for every line, which cost
    each line the number of folders (a pseudonymised run of 6,000 files in folders of their own, 18 s)."""
    last = _last_hiding
    if last[0] is hidden and last[1] == len(hidden):  # (held here: its id is not another dict's)
        return last[2]
    pattern = _hiding(tuple(sorted(hidden.items())))
    _last_hiding[:] = [hidden, len(hidden), pattern]
    return pattern


@lru_cache(maxsize=8)
def _hiding(hidden: tuple[tuple[str, str], ...]) -> re.Pattern:
    names = sorted((name for name, _ in hidden), key=len, reverse=True)
    paths = "|".join(re.escape(n) for n in names if "/" in n or "\\" in n) or "(?!)"
    single = "|".join(re.escape(n) for n in names if "/" not in n and "\\" not in n) or "(?!)"
    return re.compile(f"(?<![\\w.\\-])(?:({paths})(?![\\w.\\-])|({single})(?=[/\\\\]))")


def shown_path(path: str, hidden: dict[str, str]) -> str:
    """A path as a message names it: the hidden folder it is or lies in by its pseudonym (the deepest one)."""
    if path in hidden:
        return hidden[path]
    return line(path, hidden) if hidden else path


# --- sign-in calls --------------------------------------------------------------------------------------------

_SIGN_IN_URL = re.compile(
    r"oauth|token|log[-_]?[io]n|sign[-_]?[io]n|auth(?:enticat|oriz)|/auth(?:/|$)|password|session|credential|saml"
    r"|/sso\b|openid|/connect/|verif(?:y|ication)|/otp\b|/mfa\b|/2fa\b|two[-_]?factor|passcode|/pin\b",
    re.IGNORECASE,
)


def is_sign_in_url(host_and_path: str) -> bool:
    """Whether a URL (host and path, or the path alone) is a sign-in or token call. Device data routes are never
    asked: their bodies are data, whatever their path says."""
    return _SIGN_IN_URL.search(host_and_path) is not None


# --- headers and cookies (scrubbed copies) -------------------------------------------------------------------------

HARMLESS_HEADERS = frozenset(
    """accept accept-charset accept-encoding accept-language accept-ranges accept-patch accept-post
    access-control-allow-credentials access-control-allow-headers access-control-allow-methods
    access-control-allow-origin access-control-expose-headers access-control-max-age access-control-request-headers
    access-control-request-method age allow alt-svc cache-control connection content-disposition content-encoding
    content-language content-length content-location content-md5 content-range content-type cross-origin-embedder-policy
    cross-origin-opener-policy cross-origin-resource-policy date dnt etag expect expires host if-match
    if-modified-since if-none-match if-range if-unmodified-since keep-alive last-modified link location max-forwards
    origin pragma priority proxy-connection range referer referrer-policy retry-after sec-fetch-dest sec-fetch-mode
    sec-fetch-site sec-fetch-user sec-gpc sec-purpose sec-websocket-extensions sec-websocket-version server
    server-timing strict-transport-security te timing-allow-origin trailer transfer-encoding upgrade
    upgrade-insecure-requests user-agent vary via warning x-content-type-options x-frame-options x-powered-by
    x-xss-protection x-requested-with x-ua-compatible x-forwarded-proto x-forwarded-port x-cache x-cache-hits
    x-served-by cf-cache-status grpc-status grpc-encoding grpc-accept-encoding :authority :method :path :scheme
    :status""".split()
)
_HARMLESS_PREFIXES = ("sec-ch-", "x-android-", "x-ratelimit-", "ratelimit-")
_HARMLESS_SUFFIX = "version"  # X-Client-Version, DataServiceVersion, OData-MaxVersion
URL_HEADERS = frozenset({"location", "content-location", "referer", "origin", ":path", "link"})
HOST_HEADERS = frozenset({"host", ":authority"})
COOKIE_HEADERS = frozenset({"cookie", "cookie2"})
SET_COOKIE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
_COOKIE_ATTRIBUTES = frozenset(
    "path domain expires max-age samesite secure httponly priority partitioned version comment commenturl discard "
    "port".split()
)
_LEADING_SCHEME = re.compile(r"\s*([A-Za-z][\w.+\-]*)[ \t]+\S")
_COOKIE_TEXTS = frozenset({"path", "domain", "comment", "commenturl", "port"})  # attributes that hold captured text
HeaderKind = Literal["header", "cookie", "url"] | None


def redact_header(name: str, value: str, mode: Mode = FULL) -> tuple[str, HeaderKind]:
    """(the value a scrubbed copy keeps, what was replaced): harmless headers as they are (URLs redacted, unambiguous
    credentials replaced), every cookie value, and for any other header the whole value (an authorization scheme's
    name is kept: `Bearer REDACTED`)."""
    lower = name.strip().lower()
    if not value.strip() or value.strip() in (MARK, f"{MARK};"):
        return value, None
    if lower in COOKIE_HEADERS:
        redacted = redact_cookies(value)
        return redacted, "cookie" if redacted != value else None
    if lower in SET_COOKIE_HEADERS:
        redacted = redact_set_cookie(value)
        return redacted, "cookie" if redacted != value else None
    if lower in URL_HEADERS:  # a query is judged in full whatever the route (as its request's URL is)
        redacted = redact_url(value, FULL, path_mode=mode) if lower != "link" else redact_text(value, FULL)
        return redacted, "url" if redacted != value else None
    if lower in HOST_HEADERS and "@" in value:  # alice:PW@host
        return f"{MARK}@{value.rpartition('@')[2]}", "url"
    if lower in HARMLESS_HEADERS or lower.startswith(_HARMLESS_PREFIXES) or (
        lower.endswith(_HARMLESS_SUFFIX) and credential_name(lower) is None
    ):
        redacted = redact_text(value, STRICT)
        return redacted, "header" if redacted != value else None
    scheme = _LEADING_SCHEME.match(value)
    if scheme and re.fullmatch(_AUTH_SCHEME, scheme[1], re.IGNORECASE):
        redacted = f"{scheme[1]} {MARK}"
    else:
        redacted = MARK
    return redacted, "header" if redacted != value else None


_COOKIE_SPLIT = re.compile(r";|,(?=\s*[^\s=;,]+=)")


def redact_cookies(header: str) -> str:
    """`a=1; b=2` as `a=REDACTED; b=REDACTED`: every value, a nameless one too (names kept unless token-shaped)."""
    return _redact_cookie_pieces(header, attributes=False)


def redact_set_cookie(header: str) -> str:
    """Set-Cookie (one per line, or folded with commas: `a=1; Path=/, b=2`): every cookie's value replaced, its
    attributes (Path, Domain, Expires…) kept."""
    return "\n".join(_redact_cookie_pieces(line, attributes=True) for line in header.split("\n"))


def _redact_cookie_pieces(text: str, attributes: bool) -> str:
    out, position = [], 0
    for m in [*_COOKIE_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[position:end]
        name, equals, value = piece.partition("=")
        bare = name.strip().lower()
        if attributes and bare in _COOKIE_ATTRIBUTES:  # its value judged as what it is: a path or a comment's text
            shown = value if not value.strip() or bare not in _COOKIE_TEXTS else \
                redact_url(value, FULL) if bare in ("path", "commenturl") else redact_text(value, FULL)
            out.append(piece if shown == value else f"{name}={shown}")
        elif equals:
            shown = name if not is_credential_value(name.strip(), FULL) else name.replace(name.strip(), MARK)
            out.append(piece if value.strip() in ("", MARK) and shown == name else f"{shown}={MARK}")
        elif piece.strip() and piece.strip() != MARK:
            out.append(piece[: len(piece) - len(piece.lstrip())] + MARK)
        else:
            out.append(piece)
        if m:
            out.append(m.group())
            position = m.end()
    return "".join(out)
