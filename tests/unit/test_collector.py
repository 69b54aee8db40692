"""A serving web process freezes what it holds once built and collects less often."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.core.collector import MIDDLE, OLD, YOUNG
from app.settings import PROJECT_ROOT


def test_the_web_process_freezes_what_it_holds_and_raises_the_thresholds(tmp_path):
    script = (
        "import gc, json\n"
        "before = (gc.get_threshold(), gc.get_freeze_count())\n"
        "from tasks.web import create_app\n"
        "create_app(); frozen = gc.get_freeze_count(); create_app()\n"
        "print(json.dumps([before, gc.get_threshold(), frozen, gc.get_freeze_count()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_", "REDIS_"))}
    env |= {"SMORE_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 48}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (threshold_before, frozen_before), threshold, frozen, frozen_after_second = json.loads(out.stdout.splitlines()[-1])
    assert threshold_before == [700, 10, 10] and frozen_before == 0
    assert threshold == [YOUNG, MIDDLE, OLD]
    assert frozen > 10_000  # the app's modules, templates and metadata
    assert abs(frozen_after_second - frozen) < 1_000  # once per process: the second app is not frozen
