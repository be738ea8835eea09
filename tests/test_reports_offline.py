"""Every report page renders with the service cut off from any network but its own: the service and
Debian's Chromium run in a network namespace that has only a loopback (``unshare -n``), on the demo
region; each page answers 200, each of its images (the server-drawn charts) loads, no request
leaves 127.0.0.1, and each download answers 200 with its file type."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.staff import web
from staff_pages import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]

SCRIPT = Path(__file__).parent / "offline" / "report_pages.py"


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_every_report_page_renders_without_a_network():
    if not _can_unshare():
        pytest.fail("this test needs `unshare -n` (util-linux, run as root or with user namespaces)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE_URL"))}
    done = subprocess.run(["unshare", "-n", sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["outside"] == []
    assert "/staff/reports/gender" in found["pages"]
    for path, seen in found["pages"].items():
        assert seen["status"] == 200, (path, seen)
        assert seen["broken"] == [], (path, seen)
        assert seen["images"] >= (0 if path == "/staff/reports" else 1), (path, seen)  # the index has no chart
    assert "/staff/reports/gender.csv" in found["downloads"]
    for path, seen in found["downloads"].items():
        assert seen["status"] == 200 and seen["bytes"] > 0, (path, seen)
        assert seen["type"] == web.DOWNLOAD_TYPES[path.rsplit(".", 1)[1]], (path, seen)
