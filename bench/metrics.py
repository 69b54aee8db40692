"""The server's own account of a drop benchmark run: ``/metrics`` (with ``METRICS_TOKEN``) read after
the run, its presses by outcome and its batch sizes printed beside the benchmark's own counts."""

from __future__ import annotations

import collections
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# What the benchmark's client calls an answer, by the server's press outcome.
SAME_OUTCOMES = ("granted", "sold_out", "limit")


def scrape(port: int, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def presses(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> collections.Counter[str]:
    counted: collections.Counter[str] = collections.Counter()
    for (name, labels), value in samples.items():
        if name == "smore_drop_presses_total" and value:
            counted[dict(labels)["outcome"]] += int(value)
    return counted


def batches(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], lane: str = "drop") -> str:
    """Batches decided, their mean size, and how many were at most each bucket's size."""
    count = samples.get(("smore_batch_size_count", (("lane", lane),)), 0.0)
    total = samples.get(("smore_batch_size_sum", (("lane", lane),)), 0.0)
    seconds = samples.get(("smore_batch_seconds_sum", (("lane", lane),)), 0.0)
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == "smore_batch_size_bucket" and dict(labels).get("lane") == lane
    )
    spread = ", ".join(f"≤{le:g}: {int(v)}" for le, v in buckets if le != float("inf"))
    if not count:
        return "no batches"
    return (
        f"{int(count)} batches, {int(total)} presses decided in them, mean size {total / count:.1f}, "
        f"mean decision {seconds / count * 1000:.1f} ms (cumulative: {spread})"
    )


def report(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], bench: collections.Counter[str]) -> str:
    server = presses(samples)
    others = sum(n for k, n in bench.items() if k not in SAME_OUTCOMES)
    server_others = sum(n for k, n in server.items() if k not in SAME_OUTCOMES)
    agree = all(server[k] == bench[k] for k in SAME_OUTCOMES) and server_others == others
    lines = [
        "Server's /metrics after the run (smore_drop_presses_total, smore_batch_size):",
        "  presses   "
        + "  ".join(f"{k} {server[k]:,}" for k in SAME_OUTCOMES)
        + f"  other {server_others:,}"
        + (f" ({dict(server - collections.Counter({k: server[k] for k in SAME_OUTCOMES}))})" if server_others else ""),
        "  benchmark " + "  ".join(f"{k} {bench[k]:,}" for k in SAME_OUTCOMES) + f"  other {others:,}",
        f"  {'they agree' if agree else 'THEY DISAGREE'}",
        "  batches   " + batches(samples),
    ]
    return "\n".join(lines)
