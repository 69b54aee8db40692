"""The proofs before a line's join (``app/web/proof.py``) without the app: a challenge made and its
solution verified once; a wrong signature, an expired challenge, a replayed solution and every kind
of malformed payload refused, never raised; the no-JavaScript ticket, too early, in time, replayed,
for someone or something else; and the single-use store's memory."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from pathlib import Path

import altcha
import pytest

from app.settings import Settings
from app.web.proof import CHALLENGE_SECONDS, MAX_PAYLOAD_CHARS, WAITED_SECONDS, ProofRefused, Proofs
from app.web.single_use import MemorySingleUse
from tests.helpers.clock import NOW
from tests.helpers.proof import encoded, solve

MEMBER, SUBJECT = 7, "line:12"


def proofs(secret: str = "unit-secret-" + "x" * 32, **changes: object) -> Proofs:
    settings = Settings(database_url="sqlite+aiosqlite://", secret_key=secret, var_dir=Path("/nonexistent"))
    return Proofs(settings.with_changes(**({"proof_of_work_max_number": 2_000} | changes)), MemorySingleUse())


async def refused(proof: Proofs, form: dict[str, str], member: int = MEMBER, subject: str = SUBJECT, now=None):
    with pytest.raises(ProofRefused) as caught:
        await proof.check(form, member, subject, now)
    assert caught.value.status_code == 400 and caught.value.message
    return caught.value


def test_a_challenge_is_the_widgets_v2_shape_signed_and_expiring():
    made = proofs().challenge()
    parameters = made["parameters"]
    assert set(made) == {"parameters", "signature"} and len(made["signature"]) == 64
    assert parameters["algorithm"] == "SHA-256" and parameters["cost"] == 1
    assert {"nonce", "salt", "keyPrefix", "keySignature"} <= set(parameters)
    assert 0 < parameters["expiresAt"] - time.time() <= CHALLENGE_SECONDS
    assert "data" not in parameters  # it names nobody
    again = proofs().challenge()
    assert again["parameters"]["nonce"] != parameters["nonce"] and again["signature"] != made["signature"]


async def test_a_solution_is_accepted_once():
    proof = proofs()
    payload = solve(proof.challenge())
    assert await proof.check({"altcha": payload}, MEMBER, SUBJECT) is None
    replay = await refused(proof, {"altcha": payload})
    assert "used already" in replay.message and replay.wait is None
    # by anyone, for anything, and however the payload is re-encoded
    await refused(proof, {"altcha": payload}, member=8, subject="draw:3")
    decoded = json.loads(base64.b64decode(payload))
    decoded["solution"]["time"] = 1.0
    await refused(proof, {"altcha": encoded(decoded)})


async def test_a_solution_holds_only_for_the_secret_that_signed_it():
    payload = solve(proofs(secret="another-" + "y" * 40).challenge())
    await refused(proofs(), {"altcha": payload})


async def test_a_tampered_challenge_or_solution_is_refused():
    proof = proofs()
    made = proof.challenge()
    payload = json.loads(base64.b64decode(solve(made)))
    easier = json.loads(json.dumps(payload))
    easier["challenge"]["parameters"]["expiresAt"] += 3600
    await refused(proof, {"altcha": encoded(easier)})
    wrong = json.loads(json.dumps(payload))
    wrong["solution"]["derivedKey"] = "00" * 32
    await refused(proof, {"altcha": encoded(wrong)})
    assert await proof.check({"altcha": encoded(payload)}, MEMBER, SUBJECT) is None  # the real one still works


async def test_an_expired_challenge_is_refused():
    proof = proofs()
    payload = solve(proof.challenge(now=time.time() - CHALLENGE_SECONDS - 1))
    await refused(proof, {"altcha": payload})
    assert proof.solution_holds(payload) is None


def _valid(proof: Proofs) -> dict:
    return json.loads(base64.b64decode(solve(proof.challenge())))


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


MALFORMED = [
    "x",
    "!!!!",
    "====",
    "가나다",
    "\x01\x02",
    "a" * (MAX_PAYLOAD_CHARS + 1),
    base64.b64encode(b"not json").decode(),
    base64.b64encode(b"\xff\xfe\xfd").decode(),
    encoded([]),
    encoded("text"),
    encoded(5),
    encoded(None),
    encoded({}),
    encoded({"challenge": None, "solution": None, "test": True}),  # the widget's test mode
    encoded({"challenge": [], "solution": []}),
    encoded({"challenge": {"parameters": None, "signature": "00"}, "solution": {"counter": 1, "derivedKey": "00"}}),
    encoded({"challenge": {"parameters": {}}, "solution": {}}),
    encoded({"algorithm": "SHA-256", "challenge": "ab", "number": 1, "salt": "s", "signature": "00"}),  # v1
    base64.b64encode(b'{"challenge": ' + b"[" * 2900).decode(),  # nested deeper than the decoder goes
    base64.b64encode(b'{"challenge": {"parameters": {"expiresAt": 1' + b"0" * 5000 + b"}}}").decode()[:4000],
]


@pytest.mark.parametrize("payload", MALFORMED, ids=range(len(MALFORMED)))
async def test_a_malformed_payload_is_refused_never_raised(payload):
    await refused(proofs(), {"altcha": payload})


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["challenge"]["parameters"].update(expiresAt="tomorrow"),
        lambda p: p["challenge"]["parameters"].update(expiresAt=True),
        lambda p: p["challenge"]["parameters"].update(expiresAt=10**400),
        lambda p: p["challenge"]["parameters"].update(expiresAt=float("nan")),
        lambda p: p["challenge"]["parameters"].update(nonce="zz", salt=None),
        lambda p: p["challenge"]["parameters"].update(data={"__proto__": 1}),
        lambda p: p["challenge"]["parameters"].update(data=_nested(200)),
        lambda p: p["challenge"]["parameters"].pop("keySignature"),
        lambda p: p["challenge"].update(signature=None),
        lambda p: p["challenge"].update(signature=12),
        lambda p: p["challenge"].update(signature=p["challenge"]["signature"].upper()),
        lambda p: p["solution"].update(counter="1", derivedKey=None),
        lambda p: p["solution"].update(derivedKey="not hex"),
        lambda p: p["solution"].update(derivedKey=["00"]),
        lambda p: p.pop("solution"),
    ],
    ids=range(15),
)
async def test_a_solution_with_odd_values_is_refused_never_raised(change):
    proof = proofs()
    payload = _valid(proof)
    change(payload)
    text = base64.b64encode(json.dumps(payload, allow_nan=True).encode()).decode()
    await refused(proof, {"altcha": text})


async def test_no_proof_answers_a_ticket_to_wait_for():
    proof = proofs(proof_of_time_seconds=5)
    answer = await refused(proof, {}, now=NOW)
    assert answer.wait is not None and answer.wait.ready_at == NOW + timedelta(seconds=5)
    assert "wait 5 seconds" in answer.message and answer.wait.seconds_left(NOW) == 5
    later = await refused(proof, {}, now=NOW + timedelta(seconds=0.2))  # from the next whole second
    assert later.wait.ready_at == NOW + timedelta(seconds=6) and "wait 5 seconds" in later.message


async def test_a_ticket_works_once_its_wait_is_over_and_only_once():
    proof = proofs(proof_of_time_seconds=5)
    ticket = (await refused(proof, {}, now=NOW)).wait
    early = await refused(proof, {"waited": ticket.token}, now=NOW + timedelta(seconds=3))
    assert early.wait == ticket and "2 more seconds" in early.message
    assert await proof.check({"waited": ticket.token}, MEMBER, SUBJECT, NOW + timedelta(seconds=5)) is None
    replay = await refused(proof, {"waited": ticket.token}, now=NOW + timedelta(seconds=6))
    assert "used already" in replay.message and replay.wait is None


async def test_a_ticket_is_for_its_member_and_subject_and_expires():
    proof = proofs(proof_of_time_seconds=1)
    token = (await refused(proof, {}, now=NOW)).wait.token
    later = NOW + timedelta(seconds=2)
    await refused(proof, {"waited": token}, member=MEMBER + 1, now=later)
    await refused(proof, {"waited": token}, subject="line:13", now=later)
    await refused(proof, {"waited": token}, now=NOW + timedelta(seconds=1 + WAITED_SECONDS))
    await refused(proofs(secret="another-" + "y" * 40), {"waited": token}, now=later)
    assert await proof.check({"waited": token}, MEMBER, SUBJECT, later) is None


@pytest.mark.parametrize(
    "token",
    ["x", ".", "a.b", "a" * 500 + "." + "b" * 43, "가.나", "Zm9v." + "A" * 43, "Zm9v=." + "A" * 43, "\x00.\x00"],
)
async def test_a_malformed_ticket_is_refused_never_raised(token):
    proof = proofs()
    answer = await refused(proof, {"waited": token}, now=NOW)
    assert answer.wait is None


async def test_a_forged_ticket_is_refused():
    proof = proofs(proof_of_time_seconds=0)
    token = (await refused(proof, {}, now=NOW)).wait.token
    payload, mac = token.split(".")
    other = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b"7:", b"8:", 1))
    await refused(proof, {"waited": other.rstrip(b"=").decode() + "." + mac}, member=8, now=NOW)


def test_a_difficulty_is_kept_within_what_the_widget_counts():
    assert proofs(proof_of_work_max_number=0).max_number == 1
    assert proofs(proof_of_work_max_number=10**12).max_number == 2**32
    made = proofs(proof_of_work_max_number=1).challenge()
    assert altcha.solve_challenge(altcha.Challenge.from_dict(made)).counter == 0


async def test_the_memory_store_forgets_a_key_when_its_time_is_over():
    clock = [1000.0]
    claims = MemorySingleUse(clock=lambda: clock[0])
    assert await claims.claim("a", 1010.0) and not await claims.claim("a", 1010.0)
    assert await claims.claim("b", 900.0)  # remembered a second anyway
    assert not await claims.claim("b", 900.0)
    clock[0] = 1011.0
    assert await claims.claim("c", 1020.0)
    assert len(claims) == 1  # "a" and "b" were dropped on the way
    assert await claims.claim("a", 1030.0)


def test_the_vendored_widget_is_the_version_its_name_says_with_its_licence():
    vendor = Path(__file__).resolve().parents[2] / "static" / "vendor"
    assert '"mounted","3.2.2"' in (vendor / "altcha-3.2.2.min.js").read_text(encoding="utf-8")
    assert "crypto.subtle.digest" in (vendor / "altcha-3.2.2-sha-worker.js").read_text(encoding="utf-8")
    for name in ("altcha-3.2.2", "htmx-2.0.11", "htmx-ext-sse-2.2.4"):
        licence = (vendor / f"{name}.LICENSE.txt").read_text(encoding="utf-8")
        assert ("MIT License" if name.startswith("altcha") else "Zero") in licence, name
