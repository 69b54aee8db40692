"""The in-memory view counter of a web process: fed from several threads, it loses nothing."""

from __future__ import annotations

import threading

from app.catalog.popularity import ViewCounter


def test_the_counter_loses_nothing_across_threads():
    counter = ViewCounter()
    taken: list[int] = []
    stop = threading.Event()

    def add(product_id: int) -> None:
        for _ in range(20_000):
            counter.add(product_id)

    def take() -> None:
        while not stop.is_set():
            taken.append(sum(counter.take().values()))

    takers = [threading.Thread(target=take)]
    adders = [threading.Thread(target=add, args=(n % 3,)) for n in range(4)]
    for t in takers + adders:
        t.start()
    for t in adders:
        t.join(timeout=30)
    stop.set()
    for t in takers:
        t.join(timeout=30)
    assert sum(taken) + counter.pending() == 4 * 20_000
