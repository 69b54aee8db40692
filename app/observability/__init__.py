"""Metrics, traces and logs: what operators see of the shop from the inside."""
