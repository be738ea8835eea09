"""Run inside a network namespace with only its loopback (``unshare -n``, from
tests/test_reports_offline.py): a fresh SQLite database with the demo region, the service served on
127.0.0.1, Debian's Chromium logged in as the demo administrator, every report page of the staff
application opened (every GET route under ``/staff/reports`` that takes no argument and is a page,
not a download or a chart). Prints one JSON object: per page its status, the images that did not
load, and any request that left 127.0.0.1; per download its status and type."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
    from werkzeug.serving import make_server

    from service import create_app
    from staff_pages import CHROMIUM, CHROMIUM_ARGS, browser_login

    folder = Path(tempfile.mkdtemp(prefix="dehqon-offline-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'dehqon.db'}", "SCHEDULER_EMBEDDED": False,
                      "STAFF_SESSION_DIR": str(folder / "sessions"), "SECRET_KEY": "offline-test-" + "x" * 32})
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    # a few farmers text and dial, so that the message and activity reports have figures to draw
    from sqlalchemy import select

    from service.farmers.models import Farmer

    with app.app_context():
        phones = app.extensions["dehqon.sessionmaker"]().scalars(
            select(Farmer.phone).where(Farmer.erased_at.is_(None)).order_by(Farmer.id).limit(5)).all()
    client = app.test_client()
    for n, phone in enumerate(phones):
        client.post("/sms/inbound", data={"from": phone, "to": "12345", "text": "НАРХ помидор", "id": f"off-{n}",
                                          "date": "2026-12-01 09:00:00"})
        client.post("/ussd", data={"sessionId": f"off-{n}", "serviceCode": "*384#", "phoneNumber": phone, "text": ""})
    pages, downloads = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff/reports") or "GET" not in rule.methods:
            continue
        if rule.arguments:
            if rule.arguments == {"fmt"}:
                downloads.extend(rule.rule.replace("<fmt>", f) for f in ("csv", "xlsx"))
            continue
        if rule.rule.endswith((".csv", ".xlsx")):
            downloads.append(rule.rule)
        elif not rule.rule.endswith((".svg", ".png")):
            pages.append(rule.rule)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    out = {"pages": {}, "downloads": {}, "outside": []}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
                else out["outside"].append(r.url))
        browser_login(page, base, "demo.admin", "dehqon-demo-only")
        for path in sorted(pages):
            response = page.goto(base + path, wait_until="load")
            broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
            out["pages"][path] = {"status": response.status, "images": page.evaluate("document.images.length"),
                                  "broken": broken, "heading": page.locator("h1").first.inner_text()}
        for path in sorted(downloads):
            response = page.request.get(base + path)
            out["downloads"][path] = {"status": response.status, "type": response.headers.get("content-type", ""),
                                      "bytes": len(response.body())}
        browser.close()
    server.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
