"""The waiting room on plain data: early joiners are shuffled by the recorded seed and stand before
later arrivals (who keep their order of arrival), places are let in at the set rate, admissions
never outrun the units left, and an admission token only opens the door for its own member and
product until it expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.drops.line_rules import (
    Admission,
    Entry,
    Joined,
    admissions_due,
    admitted_by,
    entry,
    estimated_wait,
    line_order,
    new_nonce,
    read_admission,
    read_signed_admission,
    sign_admission,
)

FAST = settings(max_examples=150, deadline=None, derandomize=True)
SEED = bytes(range(32)).hex()
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = b"a secret of the shop, for tests only"


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def seeded(seed: str, ids: list[int]) -> list[int]:
    """The shuffle written out again: ascending sha256("<seed>:<member id>") hex, then id."""
    return sorted(ids, key=lambda i: (hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), i))


# The order of the line


def test_early_joiners_stand_before_late_ones() -> None:
    joined = [Joined(9, at(5)), Joined(1, at(-300)), Joined(7, at(1)), Joined(4, at(-1)), Joined(2, at(-60))]
    order = line_order(SEED, joined, START)
    assert set(order[:3]) == {1, 4, 2}
    assert order[3:] == [7, 9]


def test_late_arrivals_keep_their_order_of_arrival_ties_by_member_id() -> None:
    joined = [Joined(30, at(9)), Joined(20, at(0)), Joined(50, at(2)), Joined(40, at(2)), Joined(10, at(0.5))]
    # joining exactly at the start is late: it is not before the start
    assert line_order(SEED, joined, START) == [20, 10, 40, 50, 30]


def test_the_early_joiners_are_in_the_seeded_order() -> None:
    joined = [Joined(m, at(-m)) for m in range(1, 11)]
    assert line_order(SEED, joined, START) == [2, 4, 10, 8, 3, 9, 6, 7, 1, 5]
    assert line_order(SEED, joined, START) == seeded(SEED, list(range(1, 11)))
    other = hashlib.sha256(b"another seed").hexdigest()
    assert line_order(other, joined, START) == seeded(other, list(range(1, 11)))
    assert line_order(other, joined, START) != line_order(SEED, joined, START)


@FAST
@given(
    people=st.dictionaries(
        st.integers(min_value=1, max_value=10**6), st.integers(min_value=-3600, max_value=3600), max_size=30
    ),
    data=st.data(),
)
def test_the_line_depends_on_who_joined_when_not_on_the_listing_order(
    people: dict[int, int], data: st.DataObject
) -> None:
    joined = [Joined(member, at(offset)) for member, offset in people.items()]
    order = line_order(SEED, data.draw(st.permutations(joined)), START)
    assert order == line_order(SEED, joined, START)
    early = [m for m, offset in people.items() if offset < 0]
    late = sorted((m for m, offset in people.items() if offset >= 0), key=lambda m: (people[m], m))
    assert order == seeded(SEED, early) + late


def test_a_member_in_the_line_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        line_order(SEED, [Joined(1, at(-5)), Joined(1, at(5))], START)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        line_order(SEED, [Joined(1, datetime(2026, 3, 1, 11, 0))], START)
    with pytest.raises(ValueError):
        admitted_by(START.replace(tzinfo=None), 10, START)


# The rate


def test_nobody_is_let_in_before_the_start() -> None:
    assert admitted_by(START, 10, at(-0.000001)) == 0
    assert admitted_by(START, 10, at(-3600)) == 0


def test_the_first_place_is_let_in_at_the_start() -> None:
    assert admitted_by(START, 1, START) == 1
    assert admitted_by(START, 600, START) == 1


def test_places_are_let_in_at_the_rate_after_the_start() -> None:
    assert admitted_by(START, 1, at(59.999999)) == 1
    assert admitted_by(START, 1, at(60)) == 2
    assert admitted_by(START, 30, at(10)) == 6  # one every two seconds
    assert admitted_by(START, 3, at(20)) == 2
    assert admitted_by(START, 3, at(19.999999)) == 1
    assert admitted_by(START, 120, at(3600)) == 7201


def test_the_rate_is_at_least_one_a_minute() -> None:
    for rate in (0, -5):
        with pytest.raises(ValueError):
            admitted_by(START, rate, at(10))
        with pytest.raises(ValueError):
            estimated_wait(5, 1, rate)


@FAST
@given(micros=st.integers(min_value=0, max_value=10**11), rate=st.integers(min_value=1, max_value=10_000))
def test_admitted_by_is_the_formula_exactly_and_never_goes_down(micros: int, rate: int) -> None:
    now = START + timedelta(microseconds=micros)
    assert admitted_by(START, rate, now) == floor(Fraction(micros, 10**6) * rate / 60) + 1
    assert admitted_by(START, rate, now + timedelta(microseconds=1)) >= admitted_by(START, rate, now)


# The estimate


def test_a_place_already_let_in_waits_for_nothing() -> None:
    assert estimated_wait(3, 3, 10) == timedelta(0)
    assert estimated_wait(1, 50, 10) == timedelta(0)


def test_the_wait_is_the_places_ahead_at_the_rate_rounded_up() -> None:
    assert estimated_wait(11, 1, 4) == timedelta(seconds=150)
    assert estimated_wait(2, 1, 7) == timedelta(seconds=9)  # 8.57… s
    assert estimated_wait(15, 1, 7) == timedelta(seconds=120)  # exactly 2 minutes, not rounded up
    assert estimated_wait(4, 0, 60) == timedelta(seconds=4)


def test_a_place_starts_at_one() -> None:
    with pytest.raises(ValueError):
        estimated_wait(0, 0, 10)
    with pytest.raises(ValueError):
        estimated_wait(3, -1, 10)


# Who to admit now


LINE = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]


def test_the_places_let_in_by_now_are_admitted_in_line_order() -> None:
    assert admissions_due(LINE, 0, START, 60, at(2), units_left=100, outstanding=0) == [11, 12, 13]
    assert admissions_due(LINE, 0, START, 60, at(-1), units_left=100, outstanding=0) == []


def test_no_place_is_admitted_twice() -> None:
    assert admissions_due(LINE, 3, START, 60, at(2), units_left=100, outstanding=0) == []
    assert admissions_due(LINE, 3, START, 60, at(4), units_left=100, outstanding=0) == [14, 15]
    assert admissions_due(LINE, 8, START, 60, at(3600), units_left=100, outstanding=0) == [19, 20]
    assert admissions_due(LINE, 10, START, 60, at(3600), units_left=100, outstanding=0) == []


def test_admissions_never_outrun_the_free_units() -> None:
    assert admissions_due(LINE, 0, START, 60, at(9), units_left=4, outstanding=0) == [11, 12, 13, 14]
    assert admissions_due(LINE, 0, START, 60, at(9), units_left=4, outstanding=3) == [11]
    assert admissions_due(LINE, 2, START, 60, at(9), units_left=4, outstanding=4) == []
    assert admissions_due(LINE, 2, START, 60, at(9), units_left=4, outstanding=6) == []
    assert admissions_due(LINE, 0, START, 60, at(9), units_left=0, outstanding=0) == []
    assert admissions_due(LINE, 0, START, 60, at(9), units_left=-1, outstanding=0) == []


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        admissions_due(LINE, -1, START, 60, at(9), units_left=4, outstanding=0)
    with pytest.raises(ValueError):
        admissions_due(LINE, 0, START, 60, at(9), units_left=4, outstanding=-1)


@FAST
@given(
    size=st.integers(min_value=0, max_value=40),
    units=st.integers(min_value=0, max_value=12),
    rate=st.integers(min_value=1, max_value=120),
    steps=st.lists(st.tuples(st.integers(min_value=0, max_value=20), st.sampled_from(["bought", "expired", "wait"]))),
)
def test_a_run_of_the_room_admits_each_place_once_in_order_within_the_units(
    size: int, units: int, rate: int, steps: list[tuple[int, str]]
) -> None:
    line = list(range(100, 100 + size))
    admitted: list[int] = []
    outstanding: list[int] = []
    units_left, now = units, at(-5)
    for seconds, what in steps:
        now += timedelta(seconds=seconds)
        due = admissions_due(line, len(admitted), START, rate, now, units_left, len(outstanding))
        room = units_left - len(outstanding) if units_left > 0 else 0
        let_in = min(admitted_by(START, rate, now), size)
        assert len(due) == max(0, min(room, let_in - len(admitted)))  # as many as allowed, no more
        admitted += due
        outstanding += due
        assert admitted == line[: len(admitted)]  # each place once, in line order
        if outstanding and what != "wait":
            outstanding.pop(0)
            if what == "bought":
                units_left -= 1
        assert units_left >= 0


# Admissions


ADMISSION = Admission(member_id=42, product_id=7, expires_at=at(300), nonce="n0nce-of-the-test")


def test_an_admission_survives_the_round_trip() -> None:
    token = sign_admission(SECRET, ADMISSION)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)  # URL-safe, no padding
    assert read_admission(SECRET, token, 42, 7, at(0)) == ADMISSION
    assert read_admission(SECRET, token, 42, 7, at(299)) == ADMISSION


def test_the_token_is_the_documented_payload_and_its_hmac() -> None:
    payload = f"42:7:{int(at(300).timestamp())}:n0nce-of-the-test".encode()
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    expected = ".".join(base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in (payload, mac))
    assert sign_admission(SECRET, ADMISSION) == expected


def test_the_expiry_is_kept_in_whole_seconds_never_later() -> None:
    admission = Admission(1, 2, at(300.75), "nonce")
    read = read_admission(SECRET, sign_admission(SECRET, admission), 1, 2, START)
    assert read is not None
    assert read.expires_at == at(300)


def test_an_admission_is_refused_from_its_expiry_on() -> None:
    token = sign_admission(SECRET, ADMISSION)
    assert read_admission(SECRET, token, 42, 7, at(300)) is None
    assert read_admission(SECRET, token, 42, 7, at(301)) is None


def test_an_admission_opens_the_door_only_for_its_member_and_product() -> None:
    token = sign_admission(SECRET, ADMISSION)
    assert read_admission(SECRET, token, 43, 7, START) is None
    assert read_admission(SECRET, token, 42, 8, START) is None
    assert read_admission(SECRET, token, 7, 42, START) is None


def test_a_tampered_or_foreign_token_is_refused() -> None:
    token = sign_admission(SECRET, ADMISSION)
    payload, mac = token.split(".")
    other = sign_admission(SECRET, Admission(43, 7, at(300), "n0nce-of-the-test"))
    assert read_admission(SECRET, f"{other.split('.')[0]}.{mac}", 43, 7, START) is None  # payload swapped
    flipped = mac[:5] + ("A" if mac[5] != "A" else "B") + mac[6:]
    assert read_admission(SECRET, f"{payload}.{flipped}", 42, 7, START) is None  # signature changed
    assert read_admission(b"another secret", token, 42, 7, START) is None
    longer = sign_admission(SECRET, Admission(42, 7, at(9999), "n0nce-of-the-test"))
    assert read_admission(SECRET, f"{longer.split('.')[0]}.{mac}", 42, 7, START) is None  # expiry pushed


def test_a_token_in_another_encoding_of_the_same_bytes_is_refused() -> None:
    token = sign_admission(SECRET, ADMISSION)
    payload, mac = token.split(".")
    # 32 bytes of MAC end in a character whose two low bits are unused: changing them keeps the bytes
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(mac[-1])
    twin = mac[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    assert twin != mac and base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(mac + "=")
    assert read_admission(SECRET, f"{payload}.{twin}", 42, 7, START) is None
    assert read_admission(SECRET, f"{payload}=.{mac}", 42, 7, START) is None


def test_a_signed_payload_of_the_wrong_shape_is_refused() -> None:
    def signed(payload: bytes) -> str:
        mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
        return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in (payload, mac))

    for payload in [
        b"42:7:1900000000",
        b"42:7:x:nonce",
        b"42:7:1900000000:",
        b"\xff:7:1:n",
        b"42:7:99999999999999999:n",
    ]:
        assert read_admission(SECRET, signed(payload), 42, 7, START) is None
    assert read_admission(SECRET, signed(b"42:7:1900000000:with:colons"), 42, 7, START) is not None


GARBAGE = ["", ".", "..", "a.", ".a", "abc", "a.b.c", "a.b", "====.====", "YQ.YQ", "é.é", "a b.c", "\x00.\x00"]


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_tokens_are_refused(token: str) -> None:
    assert read_admission(SECRET, token, 42, 7, START) is None


@FAST
@given(token=st.text())
def test_reading_any_text_never_raises(token: str) -> None:
    assert read_admission(SECRET, token, 42, 7, START) is None


@FAST
@given(token=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=", max_size=120))
def test_reading_any_token_shaped_text_never_raises(token: str) -> None:
    assert read_admission(SECRET, token, 42, 7, START) is None


def test_signing_needs_a_secret_a_nonce_and_an_aware_expiry() -> None:
    with pytest.raises(ValueError):
        sign_admission(b"", ADMISSION)
    with pytest.raises(ValueError):
        sign_admission(SECRET, Admission(42, 7, at(300), ""))
    with pytest.raises(ValueError):
        sign_admission(SECRET, Admission(42, 7, datetime(2026, 3, 1, 12, 5), "nonce"))


def test_nonces_are_fresh_and_url_safe() -> None:
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", nonce) for nonce in nonces)


def test_a_signed_admission_is_read_after_its_expiry_only_without_the_clock() -> None:
    token = sign_admission(SECRET, ADMISSION)
    assert read_admission(SECRET, token, 42, 7, at(301)) is None
    assert read_signed_admission(SECRET, token, 42, 7) == ADMISSION
    assert read_signed_admission(SECRET, token, 43, 7) is None
    assert read_signed_admission(SECRET, token, 42, 8) is None
    assert read_signed_admission(b"another secret", token, 42, 7) is None
    assert read_signed_admission(SECRET, token[:-2] + "AA", 42, 7) is None


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_tokens_are_not_signed_admissions(token: str) -> None:
    assert read_signed_admission(SECRET, token, 42, 7) is None


# Going in on an admission

KEY, OTHER_KEY = "k" * 32, "o" * 32
EXPIRES = at(600)
TOKEN_EXPIRES = at(600)


def test_an_unused_live_admission_lets_its_press_in() -> None:
    assert entry(EXPIRES, None, KEY, TOKEN_EXPIRES, at(0)) is Entry.LET_IN
    assert entry(EXPIRES, None, KEY, TOKEN_EXPIRES, at(599.999)) is Entry.LET_IN


def test_no_row_is_an_unknown_admission() -> None:
    assert entry(None, None, KEY, TOKEN_EXPIRES, at(0)) is Entry.UNKNOWN


def test_an_admission_is_expired_from_its_expiry_or_its_tokens_whichever_is_first() -> None:
    assert entry(EXPIRES, None, KEY, TOKEN_EXPIRES, at(600)) is Entry.EXPIRED
    assert entry(at(600.5), None, KEY, at(600), at(600.2)) is Entry.EXPIRED  # the token's whole second
    assert entry(at(300), None, KEY, TOKEN_EXPIRES, at(300)) is Entry.EXPIRED


def test_a_used_admission_refuses_any_other_press() -> None:
    assert entry(EXPIRES, KEY, OTHER_KEY, TOKEN_EXPIRES, at(1)) is Entry.USED
    assert entry(EXPIRES, KEY, OTHER_KEY, TOKEN_EXPIRES, at(700), answered=True) is Entry.USED


def test_the_press_it_was_used_with_comes_in_again_while_it_lives_or_once_answered() -> None:
    assert entry(EXPIRES, KEY, KEY, TOKEN_EXPIRES, at(1)) is Entry.REPLAY
    assert entry(EXPIRES, KEY, KEY, TOKEN_EXPIRES, at(700), answered=True) is Entry.REPLAY
    # unanswered after the expiry: its unit may have gone to the next place
    assert entry(EXPIRES, KEY, KEY, TOKEN_EXPIRES, at(700)) is Entry.EXPIRED


def test_going_in_needs_aware_times() -> None:
    with pytest.raises(ValueError):
        entry(EXPIRES, None, KEY, TOKEN_EXPIRES, datetime(2026, 3, 1, 12, 0))
    with pytest.raises(ValueError):
        entry(datetime(2026, 3, 1, 12, 0), None, KEY, TOKEN_EXPIRES, at(0))


@FAST
@given(
    expires=st.integers(min_value=-100, max_value=100),
    token_expires=st.integers(min_value=-100, max_value=100),
    used=st.sampled_from([None, KEY, OTHER_KEY]),
    answered=st.booleans(),
)
def test_only_an_unused_admission_or_its_own_press_ever_comes_in(
    expires: int, token_expires: int, used: str | None, answered: bool
) -> None:
    verdict = entry(at(expires), used, KEY, at(token_expires), at(0), answered)
    alive = expires > 0 and token_expires > 0
    if verdict is Entry.LET_IN:
        assert used is None and alive
    if verdict is Entry.REPLAY:
        assert used == KEY and (alive or answered)
    if used == OTHER_KEY:
        assert verdict is Entry.USED
