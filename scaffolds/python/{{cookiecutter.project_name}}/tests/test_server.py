"""The real server in a child process: it serves, logs JSON and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_stops_cleanly_on_a_signal(signum: signal.Signals) -> None:
    port = unused_port()
    env = {**os.environ, "PORT": str(port), "LOG_LEVEL": "info"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "{{ cookiecutter.__package_name }}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 15
        body = None
        while body is None and time.monotonic() < deadline:
            try:
                with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    body = json.load(response)
            except OSError:
                time.sleep(0.05)
        assert body == {"status": "ok"}, "the server did not answer within 15 s"
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    messages = [json.loads(line)["msg"] for line in output.splitlines()]
    assert messages[0] == "starting" and messages[-1] == "stopped", messages
    assert "request" in messages
