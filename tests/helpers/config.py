"""A test that runs on an app with other settings than the suite's."""

from __future__ import annotations

import pytest


def with_settings(name: str, **changes: object) -> pytest.MarkDecorator:
    """Runs the test on an app whose settings have ``changes`` (``name`` is the case's id); the
    suite's ``settings`` fixture applies them."""
    return pytest.mark.parametrize("settings", [changes], ids=[name], indirect=True)
