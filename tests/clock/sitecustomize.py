"""Puts every Python process of a test run on one simulated clock (``make test-at``).

With ``TEST_CLOCK_AT`` (an ISO instant with its offset, e.g. ``2026-12-01T22:30+05:00``)
and ``TEST_CLOCK_BASE`` (the real Unix time the run started) in the environment, this
module, imported by Python at start-up because ``tests/clock`` is on ``PYTHONPATH``,
moves the process's wall clock (``time.time``, ``datetime.now``, ``date.today`` ...)
to ``TEST_CLOCK_AT`` plus the real time elapsed since ``TEST_CLOCK_BASE``, ticking.
Subprocesses the tests start inherit the environment, so the service processes they
run (``flask serve``, gunicorn, dispatchers) share the same clock. The monotonic clock
and timed waits are left alone (Debian's libfaketime 0.9.10 fakes the monotonic clock
too, and Python's timed waits then never wake up).
"""
from __future__ import annotations

import datetime as _dt
import os as _os
import time as _time

_at, _base = _os.environ.get("TEST_CLOCK_AT"), _os.environ.get("TEST_CLOCK_BASE")
if _at and _base:
    import time_machine as _time_machine

    _start = _dt.datetime.fromisoformat(_at) + _dt.timedelta(seconds=_time.time() - float(_base))
    _time_machine.travel(_start, tick=True).start()
