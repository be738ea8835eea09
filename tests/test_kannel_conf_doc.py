"""The example ``kannel.conf`` of ``docs/gateway-kannel.md`` §8, read group by group as Kannel reads
it: smsbox has a sender for a ``sendsms`` without ``from`` (``global-sender``, else every message
gets ``400 Sender missing``), and every group with a ``log-file`` sets a ``log-level`` that does not
log each message (2, warning: at 0 and 1 the phones, texts and webhook token are written)."""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "gateway-kannel.md"


def groups() -> list[dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## 8. ", 1)[1].split("\n## ", 1)[0]
    conf = re.search(r"```\n(.*?)```", section, re.S).group(1)
    found: list[dict[str, str]] = []
    for line in conf.splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        name, value = (part.strip() for part in line.split("=", 1))
        if name == "group":
            found.append({"group": value})
        else:
            found[-1][name] = value
    return found


def test_smsbox_has_a_global_sender():
    [smsbox] = [g for g in groups() if g["group"] == "smsbox"]
    assert smsbox.get("global-sender")


def test_every_log_file_has_a_log_level_that_does_not_log_each_message():
    logged = [g for g in groups() if "log-file" in g]
    assert {g["group"] for g in logged} == {"core", "smsbox"}
    assert [g.get("log-level") for g in logged] == ["2", "2"]


def test_section_8_says_why_and_names_the_access_log():
    section = DOC.read_text(encoding="utf-8").split("## 8. ", 1)[1].split("\n## ", 1)[0]
    assert "webhook token" in section and "access-log" in section and "global-sender" in section
