"""The profile's parts: a sample goes to the first named part in its stack, else its innermost layer."""

from __future__ import annotations

from bench.parts import part_of, shares


def test_a_sample_goes_to_the_named_part_anywhere_in_its_stack_else_to_its_innermost_layer(tmp_path):
    session = "Runner.run (asyncio/runners.py:1);PrometheusMiddleware.__call__ (litestar/x.py:2);"
    session += "RotatingSessionBackend.load_from_connection (app/web/sessions.py:3);Redis.get (redis/client.py:4)"
    metrics = "Runner.run (asyncio/runners.py:1);PrometheusMiddleware.__call__ (litestar/plugins/prometheus/m.py:2)"
    loop = "Runner.run (asyncio/runners.py:1)"
    assert part_of(session.split(";")) == "session read (Redis)"
    assert part_of(metrics.split(";")) == "metrics"
    assert part_of(loop.split(";")) == "event loop"
    assert part_of(["mystery (nowhere.py:1)"]) == "other"
    raw = tmp_path / "w.txt"
    raw.write_text(f"{session} 3\n{metrics} 1\n\nnot a sample\n")
    assert shares([str(raw)]) == [("session read (Redis)", 0.75), ("metrics", 0.25)]
