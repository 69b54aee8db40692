"""Fixtures of the web tests."""

from __future__ import annotations

import httpx
import pytest

from tasks import runtime


@pytest.fixture
async def shop(app):
    """The app's gateway client (web and worker) reaches the app's own sandbox in-process."""
    transport = httpx.ASGITransport(app=app)
    app.state.gateway_transport = transport
    runtime.set_gateway_transport(transport)
    yield app
    runtime.set_gateway_transport(None)
