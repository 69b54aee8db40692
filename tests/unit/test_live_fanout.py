"""The rooms of shared live streams (app/live/fanout.py): one subscription per channel, every
viewer gets every message, a slow viewer holds nobody back and keeps only the newest state, quiet
streams ping, and a viewer that leaves or is stopped leaves nothing behind."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from app.live.fanout import PING, LiveStream, Rooms, Viewer


class FakeChannels:
    """The channels plugin as a room uses it: a subscription per channel, fed by ``publish``."""

    def __init__(self) -> None:
        self.queues: dict[str, list[asyncio.Queue]] = {}
        self.subscriptions = 0

    @asynccontextmanager
    async def start_subscription(self, channels):
        queue: asyncio.Queue = asyncio.Queue()
        self.subscriptions += 1
        for channel in channels:
            self.queues.setdefault(channel, []).append(queue)

        class Subscriber:
            async def iter_events(self):
                while True:
                    yield await queue.get()

        try:
            yield Subscriber()
        finally:
            for channel in channels:
                self.queues[channel].remove(queue)

    def publish(self, channel: str, data: str) -> None:
        for queue in self.queues.get(channel, []):
            queue.put_nowait(data)


def encode(raw, language):
    return f"event: state\r\ndata: {language}:{raw}\r\n\r\n".encode()


class Connection:
    """One viewer's connection: what it received, a ``receive`` that answers once it hangs up, and
    (``slow``) a server whose writes wait until ``release``."""

    def __init__(self, slow: bool = False) -> None:
        self.bodies: list[bytes] = []
        self.gone = asyncio.Event()
        self.ended = False
        self.writable = asyncio.Event()
        if not slow:
            self.writable.set()

    async def send(self, message) -> None:
        if not self.writable.is_set():
            await self.writable.wait()
        if message.get("more_body"):
            self.bodies.append(message["body"])
        else:
            self.ended = True
            self.gone.set()  # a server's receive answers once the response is complete

    async def receive(self):
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def events(self) -> list[bytes]:
        return [b for b in self.bodies if b != PING]


async def watch(rooms: Rooms, connection: Connection, channel: str = "auction:1", language: str = "en"):
    room = rooms.room(channel, encode)
    viewer = Viewer(room, None, language, None)
    room.join(viewer)
    await room.live
    stream = LiveStream(viewer, [b"first"])
    return viewer, asyncio.ensure_future(stream.run(connection.receive, connection.send))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.01)


async def test_every_viewer_gets_every_message_from_one_subscription_per_channel():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=60)
    english, korean = Connection(), Connection()
    await watch(rooms, english)
    await watch(rooms, korean, language="ko")
    await settle()
    for n in range(3):
        channels.publish("auction:1", str(n))
    await settle()
    assert channels.subscriptions == 1
    assert english.bodies == [b"first", *(encode(str(n), "en") for n in range(3))]
    assert korean.bodies == [b"first", *(encode(str(n), "ko") for n in range(3))]
    assert rooms.viewer_count == 2


async def test_a_slow_viewer_holds_nobody_back_and_keeps_only_the_newest_state():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=60)
    fast, slow = Connection(), Connection(slow=True)
    await watch(rooms, fast)
    slow_viewer, _ = await watch(rooms, slow)
    await settle()
    assert slow.bodies == []  # its first write waits
    for n in range(10):
        channels.publish("auction:1", str(n))
    await settle()
    assert fast.bodies == [b"first", *(encode(str(n), "en") for n in range(10))]
    assert slow_viewer.newest == encode("9", "en"), "one message kept for it, the newest"
    slow.writable.set()
    await settle()
    assert slow.bodies == [b"first", encode("9", "en")]
    channels.publish("auction:1", "10")  # caught up: written as they come again
    await settle()
    assert slow.bodies[-1] == fast.bodies[-1] == encode("10", "en")


async def test_a_quiet_stream_pings():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=0.1)
    connection = Connection()
    await watch(rooms, connection)
    await asyncio.sleep(0.4)
    assert connection.bodies[0] == b"first" and PING in connection.bodies[1:]
    assert connection.events() == [b"first"]


async def test_a_viewer_that_leaves_leaves_nothing_behind():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=60)
    connections = [Connection() for _ in range(3)]
    runs = [(await watch(rooms, c))[1] for c in connections]
    await settle()
    for connection in connections:
        connection.gone.set()  # the browser hangs up
    await asyncio.wait_for(asyncio.gather(*runs), 1)
    assert rooms.viewer_count == 0 and rooms.rooms == {}, "the last viewer closes the room"
    await settle()
    assert channels.queues["auction:1"] == [], "and its subscription"
    channels.publish("auction:1", "late")  # nobody to write to, nothing raised
    connection = Connection()
    await watch(rooms, connection)  # a new viewer opens the room again
    channels.publish("auction:1", "again")
    await settle()
    assert connection.bodies == [b"first", encode("again", "en")]


async def test_stopping_ends_every_stream():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=60)
    connections = [Connection() for _ in range(3)]
    runs = [(await watch(rooms, c, channel=f"product:{i}"))[1] for i, c in enumerate(connections)]
    await settle()
    rooms.stop()
    await asyncio.wait_for(asyncio.gather(*runs), 1)
    assert all(c.ended for c in connections)
    assert rooms.viewer_count == 0 and rooms.rooms == {}


async def test_a_crowded_room_lets_other_work_run_between_slices_and_its_newest_message_wins():
    channels = FakeChannels()
    rooms = Rooms(channels, heartbeat_seconds=60)
    room = rooms.room("auction:1", encode)
    await room.live
    got: dict[int, list[bytes]] = {n: [] for n in range(400)}
    first_written = asyncio.Event()
    written: list[int] = []

    def connection(n: int):
        async def send(message) -> None:
            until = time.perf_counter() + 0.0005  # half a millisecond each: 0.2 s for all 400
            while time.perf_counter() < until:
                pass
            got[n].append(message["body"])
            written.append(n)
            first_written.set()

        return send

    for n in range(400):
        viewer = Viewer(room, connection(n), "en", None)
        viewer.started = True
        room.join(viewer)
    seen_by_other_work: list[int] = []

    async def other_work() -> None:
        while len(seen_by_other_work) < 50 and (room._round is not None or not written):
            seen_by_other_work.append(len(written))
            await asyncio.sleep(0)

    work = asyncio.ensure_future(other_work())
    channels.publish("auction:1", "old")
    await first_written.wait()  # the room's task takes the message and writes its first slice
    channels.publish("auction:1", "new")
    await asyncio.wait_for(work, 5)
    async with asyncio.timeout(5):
        while room._round is not None:  # noqa: ASYNC110 (the room has no event for its round's end)
            await asyncio.sleep(0.01)
    assert any(0 < n < 400 for n in seen_by_other_work), "other work ran while the viewers were written"
    assert all(bodies[-1] == encode("new", "en") for bodies in got.values()), "every viewer has the newest"
    never_old = [n for n, bodies in got.items() if encode("old", "en") not in bodies]
    assert never_old, "viewers the older message had not reached yet got only the newer one"
    assert len(written) < 800
