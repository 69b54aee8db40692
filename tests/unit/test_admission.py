"""The door of a web process: at most ``limit`` requests at work, the rest wait their turn (first
come, first served) and get a 503 page with ``Retry-After`` after ``patience`` seconds; streams,
static files, the health check and the embedded sandbox gateway never wait; Buy presses and bids
wait in a line of their own, which they leave when they join their batch."""

from __future__ import annotations

import asyncio

from app.web.admission import AdmissionMiddleware, Door, PressLine


def app_that_takes(seconds: float, log: list[str]):
    async def app(scope, receive, send):
        log.append(f"start {scope['path']}")
        await asyncio.sleep(seconds)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        log.append(f"end {scope['path']}")

    return app


async def call(app, path: str, method: str = "GET") -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "headers": [], "query_string": b"", "root_path": ""}
    await app(
        scope | {"raw_path": path.encode(), "scheme": "http", "server": ("t", 80), "client": ("c", 1)}, receive, send
    )
    start = sent[0]
    return start["status"], dict(start["headers"])


async def test_requests_past_the_limit_wait_their_turn_in_order():
    log: list[str] = []
    door = AdmissionMiddleware(app_that_takes(0.05, log), limit=2, patience=5)
    results = await asyncio.gather(*(call(door, f"/p{i}") for i in range(6)))
    assert [status for status, _ in results] == [200] * 6
    starts = [entry for entry in log if entry.startswith("start")]
    assert starts == [f"start /p{i}" for i in range(6)]  # first come, first served
    running = 0
    for entry in log:  # never more than two at work
        running += 1 if entry.startswith("start") else -1
        assert running <= 2


async def test_a_request_that_waits_too_long_gets_a_503_with_retry_after():
    door = AdmissionMiddleware(app_that_takes(0.5, []), limit=1, patience=0.1)
    (first, _), (second, headers) = await asyncio.gather(call(door, "/slow"), call(door, "/late"))
    assert (first, second) == (200, 503)
    assert headers[b"retry-after"] == b"5" and headers[b"content-type"].startswith(b"text/html")


async def test_streams_static_files_presses_and_bids_never_wait():
    log: list[str] = []
    door = AdmissionMiddleware(app_that_takes(0.3, log), limit=1, patience=0.05)
    calls = [
        call(door, "/products/1"),  # takes the only slot
        call(door, "/products/1/events"),
        call(door, "/static/css/site.css"),
        call(door, "/healthz"),
        call(door, "/products/1/buy", "POST"),
        call(door, "/auctions/1/bids", "POST"),
        call(door, "/sandbox-gateway/v1/payments/confirm", "POST"),
    ]
    results = await asyncio.gather(*calls)
    assert [status for status, _ in results] == [200] * 7


async def test_every_route_waits_at_the_same_door():
    """Litestar makes a middleware per route handler: the turns are the process's, not the route's."""
    from litestar import Litestar, get
    from litestar.middleware.base import DefineMiddleware

    from app.web.admission import Door

    @get("/slow")
    async def slow() -> str:
        await asyncio.sleep(0.5)
        return "slow"

    @get("/other")
    async def other() -> str:
        return "other"

    async def after(seconds: float, coroutine):
        await asyncio.sleep(seconds)
        return await coroutine

    app = Litestar([slow, other], middleware=[DefineMiddleware(AdmissionMiddleware, door=Door(1, 0.1))])
    (first, _), (second, _) = await asyncio.gather(call(app, "/slow"), after(0.1, call(app, "/other")))
    assert (first, second) == (200, 503)


async def test_presses_wait_in_a_line_of_their_own_and_leave_it_when_they_join_their_batch():
    """At most ``press_limit`` presses read their session and form at once, in order of arrival;
    a press that joins its batch gives its place to the next, and waits for its answer outside."""
    from app.core.lanes import Lanes

    log: list[str] = []
    front = 0
    most_in_front = 0

    async def decide(_key, items):
        log.append(f"batch {items}")
        await asyncio.sleep(0.2)  # the batch's transaction
        return items

    lanes: Lanes[int, int] = Lanes(decide, max_batch=100)

    async def app(scope, receive, send):
        nonlocal front, most_in_front
        number = int(scope["path"].split("/")[2])
        front += 1
        most_in_front = max(most_in_front, front)
        log.append(f"start {number}")
        await asyncio.sleep(0.02)  # session, form, key
        front -= 1
        answer = await lanes.submit("product", number)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(answer).encode()})

    door = PressLine(app, Door(limit=1, patience=5, press_limit=2))
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(call(door, f"/products/{i}/buy", "POST") for i in range(8)))
    elapsed = asyncio.get_running_loop().time() - started
    assert [status for status, _ in results] == [200] * 8
    assert [e for e in log if e.startswith("start")] == [f"start {i}" for i in range(8)]  # in order
    assert most_in_front == 2
    # Had a press kept its place until its answer, the line would have taken 4 batches (0.8 s).
    assert [e for e in log if e.startswith("batch")] == ["batch [0, 1]", "batch [2, 3, 4, 5, 6, 7]"]
    assert elapsed < 0.6


async def test_a_page_request_never_waits_behind_the_press_line():
    log: list[str] = []
    turns = Door(limit=4, patience=0.1, press_limit=1)
    door = PressLine(AdmissionMiddleware(app_that_takes(0.3, log), door=turns), turns)
    page = call(door, "/products/1")
    first, second = call(door, "/products/1/buy", "POST"), call(door, "/products/1/buy", "POST")
    statuses = [status for status, _ in await asyncio.gather(first, second, page)]
    assert statuses == [200, 503, 200]  # the second press waited past the patience; the page did not
