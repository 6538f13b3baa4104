from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.__package_name }} import healthcheck


def serve(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def healthy() -> Iterator[int]:
    server = serve(200)
    yield server.server_address[1]
    server.shutdown()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_exits_0_when_healthz_answers_200(healthy: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", str(healthy))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the probe must bypass proxies
    assert healthcheck.main() == 0


def test_exits_1_on_an_error_status(monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(503)
    try:
        monkeypatch.setenv("PORT", str(server.server_address[1]))
        assert healthcheck.main() == 1
    finally:
        server.shutdown()


def test_exits_1_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", str(unused_port()))
    assert healthcheck.main() == 1


def test_exits_1_on_a_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "nope")
    assert healthcheck.main() == 1
