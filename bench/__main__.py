"""``python -m bench all [--quick|--tiny] [--db sqlite|postgresql|both]``: every benchmark, on each
database (default both, each bench in a fresh database), then one table: path, database,
figure, floor (measured in the same run), ratio, goal, whether it is met, and the peak Python
memory at N/10 and N where it is asked.

Benches (each also runs alone, ``python -m bench.<name>`` with the same options):

* ``ussd``: first hop, walk to a price screen, SMS PRICE round trip under gunicorn with wrk,
  against a bare Flask endpoint and one indexed read + one upsert (``bench/ussd.py``);
* ``tick``: a scheduler tick against plain bulk statements on the same due rows (``bench/tick.py``);
* ``dispatch``: a broadcast's dispatch through the real SDK against the same SDK calls
  without the database (``bench/dispatch.py``);
* ``broadcast``: queueing a broadcast against a bare bulk insert (``bench/broadcast.py``);
* ``door``: hostile USSD hops answered at the door, and an SMS beside them (``bench/door.py``).

``--quick`` keeps the whole run within about 3 minutes on 2 quiet cores; ``--tiny`` (or
``BENCH_SIZE=tiny``) is the test suite's check that the harness works, its figures mean nothing.
Exit status 0 when every bench ran (a goal not met does not fail the command; the table says so).
"""
from __future__ import annotations

import sys

from bench import broadcast, dispatch, door, tick, ussd
from bench._support import parse_args, run_benches

BENCHES = {"ussd": ussd.run, "tick": tick.run, "dispatch": dispatch.run, "broadcast": broadcast.run,
           "door": door.run}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = []
    while argv and not argv[0].startswith("-"):
        names.append(argv.pop(0))
    if names in ([], ["all"]):
        names = list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown bench {', '.join(unknown)}: all or {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    args = parse_args(argv, name="bench " + " ".join(names))
    run_benches([(n, BENCHES[n]) for n in names], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
