"""Reading the shop's ``/metrics``: the samples of a scrape, by name and labels."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
        return sum(
            s.value for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(s.name == name and all(s.labels.get(k) == v for k, v in labels.items()) for s in self.samples)

    def paths(self, name: str) -> set[str]:
        return {s.labels["path"] for s in self.samples if s.name == name and "path" in s.labels}


async def scrape(client: Any, headers: dict[str, str] | None = None) -> Scrape:
    r = await client.get("/metrics", headers=BEARER if headers is None else headers)
    assert r.status_code == 200, r.status_code
    return Scrape(r.text)
