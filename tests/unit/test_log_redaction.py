"""What a log line may not carry: values under keys that name a secret, and secrets inside text
(reset links, card numbers, credentials, the process's own keys). Also which request ids a
client may choose."""

from __future__ import annotations

import pytest

from app.observability.logs import accepted_request_id, new_request_id
from app.observability.redaction import REDACTED, Scrubber, is_secret_key, redact_secret_keys


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "password_confirm",
        "current_password",
        "new_password",
        "secret",
        "payment_secret_key",
        "token",
        "_csrf_token",
        "x-csrftoken",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "session_id",
        "card_number",
        "api_key",
    ],
)
def test_keys_that_name_a_secret_are_secret(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["event", "member_id", "request_id", "route", "status", "event_id", "topic", "card"])
def test_ordinary_keys_are_not(key):
    assert not is_secret_key(key)


def test_secret_values_are_replaced_at_any_depth():
    event = {
        "event": "signing in",
        "password": "hunter2-hunter2",
        "form": {"email": "a@example.test", "password_confirm": "x", "nested": [{"token": "t"}]},
        "headers": [("cookie", "session=abc")],
        "member_id": 7,
    }
    out = redact_secret_keys(None, "info", event)
    assert out["password"] == REDACTED and out["member_id"] == 7 and out["event"] == "signing in"
    assert out["form"]["email"] == "a@example.test" and out["form"]["password_confirm"] == REDACTED
    assert out["form"]["nested"] == [{"token": REDACTED}]


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /password/reset/Zx9_abc-DEF123 410", "Zx9_abc-DEF123"),
        ('"next": "/login?next=password%2Freset%2FZx9abcDEF123"', "Zx9abcDEF123"),
        ("paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
        ("card=4242-4242-4242-4242", "4242-4242-4242-4242"),
        ("Authorization: Basic dGVzdF9za19zbW9yZV9zYW5kYm94Og==", "dGVzdF9za19zbW9yZV9zYW5kYm94Og=="),
        ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
        ("connecting to smtp://mailer:s3cr3t-pass@mail.example:587", "s3cr3t-pass"),
        ("posted password=hunter2hunter2&email=a", "hunter2hunter2"),
        ("posted _csrf_token=abc123def456&x=1", "abc123def456"),
        ("form {'email': 'a@b', 'password': 'hunter2hunter2'}", "hunter2hunter2"),
        ('session={"session": "f00dcafe1234"}', "f00dcafe1234"),
    ],
)
def test_secrets_inside_text_are_scrubbed(line, secret):
    scrubbed = Scrubber()(line)
    assert secret not in scrubbed and REDACTED in scrubbed


def test_the_process_own_secrets_are_scrubbed_wherever_they_appear():
    scrub = Scrubber(("test_sk_smore_sandbox", "short"))
    assert scrub("calling with key test_sk_smore_sandbox now") == f"calling with key {REDACTED} now"
    assert scrub("a short word stays") == "a short word stays"  # too short to be one of the shop's secrets


@pytest.mark.parametrize(
    "line",
    [
        '{"route": "/password/reset/{token}", "status": 410}',
        "order 1234567890123 placed",  # 13 digits that fail the card check
        '"timestamp": "2026-12-02T15:49:04.871032Z"',
        "Basic settings saved",
        "sold 12 of 50 units, 3 held",
    ],
)
def test_ordinary_text_is_left_alone(line):
    assert Scrubber()(line) == line


@pytest.mark.parametrize("value", ["abc-123", "a" * 128, "req:2026/12/02#1", "0af7651916cd43dd8448eb211c80319c"])
def test_sane_request_ids_are_kept(value):
    assert accepted_request_id(value) == value


@pytest.mark.parametrize("value", [None, "", "a" * 129, "has space", "tab\there", "new\nline", "é-accent", "nul\x00"])
def test_other_request_ids_are_not(value):
    assert accepted_request_id(value) is None


def test_new_request_ids_are_sane_and_different():
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100 and all(accepted_request_id(i) for i in ids)
