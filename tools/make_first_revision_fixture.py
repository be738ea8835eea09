"""Rebuild ``tests/data/first-revision-demo.json.gz``: a database filled by the release whose only
migration was the first one (``65fa7d0f021b``, initial_schema), dumped table by table.

    .venv/bin/python tools/make_first_revision_fixture.py [--commit SHA] [--out PATH]

It checks that release out in a temporary git worktree (``RELEASE``: the last commit whose
``service/migrations/versions`` held the first revision alone, identical to today's file),
runs that release's own code with this tree's virtualenv on an empty SQLite file: the demo
region (``flask --app service demo-data``, its default size and seed: 81 PGs, 1,496 farmers,
prices), then a few farmers' requests through its HTTP handlers (a USSD session, SMS ``PRICE``,
``NARX`` and an unknown word), so the outbox, the inbound SMS and the USSD tables hold rows too.
Every table's rows are written as SQLite stored them (ISO text for times, 0/1 for booleans,
JSON as text), ordered by rowid, with the revision, the commit and the build time
(``built_at``, UTC): the demo's dates are relative to it. ``tests/test_first_revision_data.py``
loads it (``docs/migrations.md`` §5). The worktree is removed afterwards.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = "65fa7d0f021b"
FIRST_FILE = "service/migrations/versions/20261129_65fa7d0f021b_initial_schema.py"
#: the last commit at which initial_schema was the only migration (the next one added b2c4e6a80002)
RELEASE = "e1fc85b"
OUT = ROOT / "tests" / "data" / "first-revision-demo.json.gz"

# run inside the old release's worktree, by this tree's python: the old code's own app and handlers
DRIVER = r'''
import sys
from service import create_app
app = create_app({"DATABASE_URL": sys.argv[1], "SMS_GATEWAY": "local", "WEBHOOK_TOKEN": "",
                  "SCHEDULER_EMBEDDED": False, "TESTING": True})
done = app.test_cli_runner().invoke(args=["demo-data"])
assert done.exit_code == 0, done.output
print(done.output.strip().splitlines()[-1])
from sqlalchemy import text
with app.extensions["dehqon.engine"].connect() as conn:
    phone = conn.scalar(text("SELECT phone FROM farmer ORDER BY id LIMIT 1"))
client = app.test_client()
def ussd(typed):
    body = client.post("/ussd", data={"sessionId": "ATUid_first_release", "serviceCode": "*384*7#",
                                       "phoneNumber": phone, "networkCode": "43404", "text": typed})
    assert body.status_code == 200, body.status_code
for typed in ("", "1"):
    ussd(typed)
client.post("/ussd/events", data={"sessionId": "ATUid_first_release", "status": "Success", "phoneNumber": phone})
for n, words in enumerate(["PRICE", "NARX piyoz", "HELLO"]):
    answer = client.post("/sms/inbound", data={"id": f"ATXid_first_{n}", "from": phone, "to": "7070",
                                               "text": words, "date": "2026-11-30 09:00:00"})
    assert answer.status_code == 200, answer.status_code
'''


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _check_release(commit: str) -> str:
    """The full id of ``commit``, refused unless its migrations are today's first revision alone."""
    full = _git("rev-parse", f"{commit}^{{commit}}")
    files = [f for f in _git("ls-tree", "--name-only", f"{full}:service/migrations/versions/").splitlines()
             if f.endswith(".py")]
    if files != [Path(FIRST_FILE).name]:
        sys.exit(f"{commit} has the migrations {files}, not the first revision alone")
    if _git("diff", full, "HEAD", "--", FIRST_FILE):
        sys.exit(f"the first revision at {commit} differs from today's {FIRST_FILE}")
    return full


def _value(value):
    return {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def dump(path: Path, commit: str, built_at: dt.datetime) -> dict:
    """Every table of the SQLite file at ``path`` (but ``alembic_version``): columns and rows by rowid."""
    conn = sqlite3.connect(path)
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision == [(FIRST,)], revision
    tables = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                "AND name <> 'alembic_version' ORDER BY name"):
        cursor = conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
        tables[name] = {"columns": [c[0] for c in cursor.description],
                        "rows": [[_value(v) for v in row] for row in cursor]}
    conn.close()
    return {"format": 1, "revision": FIRST, "commit": commit, "built_at": built_at.isoformat(), "tables": tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=RELEASE, help=f"the release to run (default {RELEASE})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    commit = _check_release(args.commit)
    with tempfile.TemporaryDirectory(prefix="dehqon-first-release-") as tmp:
        worktree, database = Path(tmp) / "release", Path(tmp) / "first.sqlite3"
        _git("worktree", "add", "--detach", str(worktree), commit)
        try:
            built_at = dt.datetime.now(dt.timezone.utc)
            done = subprocess.run([sys.executable, "-c", DRIVER, f"sqlite:///{database}"], cwd=worktree,
                                  capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(worktree)})
            if done.returncode:
                sys.exit(f"the release at {commit[:12]} failed:\n{done.stdout}{done.stderr}")
            print(done.stdout.strip())
            fixture = dump(database, commit, built_at)
        finally:
            _git("worktree", "remove", "--force", str(worktree))
    data = json.dumps(fixture, ensure_ascii=False, separators=(",", ":")).encode()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    rows = sum(len(t["rows"]) for t in fixture["tables"].values())
    print(f"{args.out}: {len(fixture['tables'])} tables, {rows} rows, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
