"""Starting the service: settings it cannot run with stop it with one sentence (no traceback),
the port is a setting of ``make run``/``flask serve``, and the simulator's address is printed
only when the simulator is served (the ``local`` gateway)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
GOOD_TOKEN = "t" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WEBHOOK_TOKEN", "AT_API_KEY", "SMS_GATEWAY", "PORT", "HOST")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'start.sqlite3'}", "SCHEDULER_EMBEDDED": "0",
                "PYTHONUNBUFFERED": "1"}, **extra)
    return env


REFUSED = [
    pytest.param({"SMS_GATEWAY": "africastalking", "AT_API_KEY": "k"},
                 "Error: SMS_GATEWAY=africastalking needs WEBHOOK_TOKEN", id="AT without a token"),
    pytest.param({"SMS_GATEWAY": "africastalking", "AT_API_KEY": "k", "WEBHOOK_TOKEN": "s3cret"},
                 "Error: WEBHOOK_TOKEN must be at least 32 characters long (one of the tokens has 6)",
                 id="AT with a 6-character token"),
    pytest.param({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": GOOD_TOKEN},
                 "Error: SMS_GATEWAY=africastalking needs AT_API_KEY", id="AT without an API key"),
    pytest.param({"SMS_GATEWAY": "pigeon"}, "Error: SMS_GATEWAY must be one of local, africastalking",
                 id="unknown gateway"),
    pytest.param({"PORT": "http"}, "Error: PORT must be a port number from 1 to 65535", id="bad port"),
]


@pytest.mark.slow
@pytest.mark.parametrize("settings, sentence", REFUSED)
def test_flask_serve_refuses_with_one_sentence(tmp_path, settings, sentence):
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "service", "serve"], cwd=PROJECT,
                          env=_env(tmp_path, **settings), capture_output=True, text=True, timeout=60)
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, said
    assert said.startswith(sentence), said
    assert "Traceback" not in said and len(said.splitlines()) == 1, said
    assert GOOD_TOKEN not in said and "s3cret" not in said


@pytest.mark.slow
@pytest.mark.parametrize("settings, sentence", REFUSED[:3])
def test_gunicorn_refuses_with_one_sentence_before_any_worker(tmp_path, settings, sentence):
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{_free_port()}",
                           "service:create_app()"], cwd=PROJECT, env=_env(tmp_path, **settings),
                          capture_output=True, text=True, timeout=60)
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, said
    assert sentence in said and "Traceback" not in said, said
    assert "Booting worker" not in said, said


def _serve_until_listening(tmp_path, args, **settings) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "serve", *args], cwd=PROJECT,
                            env=_env(tmp_path, **settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    while not any("http://" in line for line in lines):
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            pytest.fail("serve ended early:\n" + "".join(lines))
        lines.append(line)
    return proc, lines


def _healthz(port: int) -> bytes:
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                return resp.read()
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing answers on port {port}")


@pytest.mark.slow
def test_port_is_a_setting_and_the_simulator_is_announced_with_the_local_gateway(tmp_path):
    port = _free_port()
    proc, lines = _serve_until_listening(tmp_path, [], PORT=str(port))
    try:
        assert f"Phone simulator: http://127.0.0.1:{port}/simulator\n" in lines
        assert _healthz(port) == b"ok"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_no_simulator_address_when_the_simulator_is_not_served(tmp_path):
    port = _free_port()
    proc, lines = _serve_until_listening(tmp_path, ["--port", str(port)], SMS_GATEWAY="africastalking",
                                         WEBHOOK_TOKEN=GOOD_TOKEN, AT_API_KEY="k")
    try:
        assert not any("simulator" in line.lower() and "no simulator" not in line for line in lines), lines
        assert f"Listening on http://127.0.0.1:{port} (africastalking gateway; no simulator)\n" in lines
        assert _healthz(port) == b"ok"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/simulator", timeout=2)
        assert err.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_make_run_hands_its_port_and_host_to_serve():
    done = subprocess.run(["make", "-n", "run", "PORT=5123", "HOST=0.0.0.0"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=30)
    serve = [line for line in done.stdout.splitlines() if " serve" in line]
    assert serve and serve[-1].endswith("serve --host 0.0.0.0 --port 5123"), done.stdout
    plain = subprocess.run(["make", "-n", "run"], cwd=PROJECT, capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")})
    assert [line for line in plain.stdout.splitlines() if " serve" in line][-1].rstrip().endswith("--app service serve")
