"""The email confirmation link's token: it reads back as its member and address until it expires,
and anything else (another key, a changed byte, a payload the shop never signed, junk of any kind)
is refused without raising; the once-a-minute wait for another link."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.confirm_rules import (
    TOKEN_MAX,
    Confirmation,
    LinkProblem,
    address_digest,
    confirms_address,
    read_confirmation,
    resend_wait,
    sign_confirmation,
    signing_key,
)

KEY = signing_key("test-secret-key-" + "x" * 32)
NOW = datetime(2026, 12, 5, 9, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=48)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(payload: bytes, key: bytes = KEY) -> str:
    """A token for ``payload`` as the shop's signing would spell it."""
    return f"{b64(payload)}.{b64(hmac.new(key, payload, hashlib.sha256).digest())}"


def test_a_token_reads_back_as_its_member_and_address_until_it_expires() -> None:
    token = sign_confirmation(KEY, 42, "Minji@Example.test", LATER + timedelta(microseconds=900))
    read = read_confirmation(KEY, token, NOW)
    assert read == Confirmation(member_id=42, address=address_digest("minji@example.test"), expires_at=LATER)
    assert isinstance(read, Confirmation)
    assert confirms_address(read, "minji@example.test") and confirms_address(read, " MINJI@example.test")
    assert not confirms_address(read, "someone-else@example.test")  # the address changed since
    assert read_confirmation(KEY, token, LATER - timedelta(seconds=1)) == read
    assert read_confirmation(KEY, token, LATER) is LinkProblem.EXPIRED
    assert read_confirmation(KEY, token, LATER + timedelta(days=400)) is LinkProblem.EXPIRED
    assert "minji" not in base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()  # no address in the URL


def test_the_key_is_the_shops_secret_for_this_use_alone() -> None:
    other = signing_key("another-secret-" + "y" * 32)
    assert other != KEY and signing_key("test-secret-key-" + "x" * 32) == KEY
    assert KEY != b"test-secret-key-" + b"x" * 32  # not the secret itself
    with pytest.raises(ValueError):
        signing_key("")
    token = sign_confirmation(other, 42, "a@example.test", LATER)
    assert read_confirmation(KEY, token, NOW) is LinkProblem.INVALID


def test_a_changed_character_anywhere_is_refused() -> None:
    token = sign_confirmation(KEY, 42, "a@example.test", LATER)
    for i, char in enumerate(token):
        if char == ".":
            continue
        swapped = "A" if char != "A" else "B"
        tampered = token[:i] + swapped + token[i + 1 :]
        assert read_confirmation(KEY, tampered, NOW) is LinkProblem.INVALID, i


def test_a_longer_expiry_or_another_member_cannot_be_forged() -> None:
    token = sign_confirmation(KEY, 42, "a@example.test", LATER)
    payload, mac = token.split(".")
    text = base64.urlsafe_b64decode(payload + "==").decode()
    member, expires, digest = text.split(":")
    for forged in (f"43:{expires}:{digest}", f"{member}:{int(expires) + 3600}:{digest}"):
        assert read_confirmation(KEY, f"{b64(forged.encode())}.{mac}", NOW) is LinkProblem.INVALID


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"42",
        b"42:1800000000",
        b"0:1800000000:" + b"a" * 32,  # no member 0
        b"-1:1800000000:" + b"a" * 32,
        b"042:1800000000:" + b"a" * 32,  # one spelling per number
        b"42:-5:" + b"a" * 32,
        b"42:1800000000:" + b"A" * 32,  # digests are lower-case hex
        b"42:1800000000:" + b"a" * 31,
        b"42:1800000000:" + b"a" * 32 + b":x",
        b"42:999999999999:" + b"a" * 32,  # past any date there is
        b"\xff\xfe:1:" + b"a" * 32,
        "٤٢:1800000000:".encode() + b"a" * 32,  # digits of another script
    ],
)
def test_a_signed_payload_of_the_wrong_shape_is_refused(payload: bytes) -> None:
    assert read_confirmation(KEY, signed(payload), NOW) is LinkProblem.INVALID


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        "abc.",
        ".abc",
        "a.b.c",
        "a b.c",
        "YWJj.YWJj=",  # padding is not part of a token
        "YWJ.YWJj",  # not the canonical spelling of its bytes
        "토큰.토큰",
        "x" * (TOKEN_MAX + 1),
        None,
        42,
        b"abc.def",
    ],
)
def test_junk_is_refused_without_raising(token: object) -> None:
    assert read_confirmation(KEY, token, NOW) is LinkProblem.INVALID


@given(st.text(max_size=300))
def test_no_text_raises_or_confirms(token: str) -> None:
    assert read_confirmation(KEY, token, NOW) is LinkProblem.INVALID


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError):
        sign_confirmation(KEY, 42, "a@example.test", LATER.replace(tzinfo=None))
    with pytest.raises(ValueError):
        read_confirmation(KEY, "a.b", NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        resend_wait(NOW.replace(tzinfo=None), NOW, timedelta(minutes=1))
    with pytest.raises(ValueError):
        sign_confirmation(KEY, 0, "a@example.test", LATER)


def test_another_link_waits_a_minute_after_the_last() -> None:
    minute = timedelta(minutes=1)
    assert resend_wait(None, NOW, minute) == 0
    assert resend_wait(NOW, NOW, minute) == 60
    assert resend_wait(NOW - timedelta(seconds=59, milliseconds=500), NOW, minute) == 1  # rounded up
    assert resend_wait(NOW - timedelta(seconds=20), NOW, minute) == 40
    assert resend_wait(NOW - minute, NOW, minute) == 0
    assert resend_wait(NOW - timedelta(hours=3), NOW, minute) == 0
    assert resend_wait(NOW + timedelta(seconds=5), NOW, minute) == 65  # a clock a little ahead still waits
