"""The garbage collector of a serving process, set for a crowd.

A request allocates thousands of container objects (scopes, headers, coroutines, futures, ORM
rows), nearly all freed by reference counting at once; with CPython's default thresholds (700, 10,
10) the cycle collector still runs a young collection every 700 allocations and, every hundred of
those, walks every object the process holds: its pools, templates, metadata and caches. So a serving
process, once built, moves what it holds to the permanent generation (``gc.freeze``: never walked
again) and collects less often, which cut the server CPU of a Buy press in a crowd by a fifth
(``docs/BENCHMARKS.md``). Cycles are still collected, later: at most a young collection every
``YOUNG`` allocations.

A young collection stops the process for as long as it walks what was allocated since the last
one: at 50,000 allocations a serving process stopped for 20-35 ms every second or two, and the
requests under way waited that long. At 10,000 it stops for 5-8 ms; the CPU is the same (a
collection costs what it walks), and middle collections come as seldom as before."""

from __future__ import annotations

import gc

YOUNG, MIDDLE, OLD = 10_000, 250, 100
_tuned = False


def tune_for_serving() -> None:
    """Freeze what the process holds now and raise the thresholds; once per process (a test run
    that builds many apps freezes only the first one's)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
