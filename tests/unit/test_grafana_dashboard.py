"""docs/grafana/smore.json is a dashboard Grafana can import (valid JSON, the Prometheus data source
as a variable) and queries only metrics the shop records."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import app.observability.metrics  # noqa: F401  (registers the shop's metrics)
from app.observability.http import prometheus_config

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "smore.json"


def registered_names() -> set[str]:
    """Every sample name the registry can hold, the HTTP metrics of Litestar's plugin included
    (made on a first request, so made here)."""
    middleware = prometheus_config().middleware_class(app=None, config=prometheus_config())  # type: ignore[arg-type]
    labels = {"method": "GET", "path": "/", "status_code": 200, "app_name": "smore"}
    for make in (middleware.request_count, middleware.request_time, middleware.requests_in_progress):
        make(labels)
    middleware.requests_error_count(labels)
    return set(REGISTRY._names_to_collectors)  # every sample name of every registered metric


def queried_names(dashboard: dict) -> set[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    return {name for expr in exprs for name in re.findall(r"\b(smore_[a-z_]+)\b", expr)}


def test_the_dashboard_is_json_with_the_data_source_as_a_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_metric_the_dashboard_queries_is_recorded_by_the_shop() -> None:
    queried = queried_names(json.loads(DASHBOARD.read_text()))
    missing = queried - registered_names()
    assert missing == set()
    for wanted in (
        "smore_requests_total",
        "smore_drop_presses_total",
        "smore_batch_size_bucket",
        "smore_bids_total",
        "smore_payments_total",
        "smore_outbox_oldest_unsent_age_seconds",
        "smore_live_streams",
        "smore_db_pool_checked_out",
        "smore_event_handler_failures_total",
        "smore_queue_messages_total",
    ):
        assert wanted in queried, wanted
