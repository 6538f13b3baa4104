"""Reaching a container from the host: only through 127.0.0.1, every wait bounded.

Smoke publishes the release and debug containers' ports on loopback and probes them from here;
it never uses a container's bridge address (it is not reachable on every machine).
"""

from __future__ import annotations

import errno
import http.client
import socket

from stagekit.errors import StagekitError


class PortInUseError(StagekitError):
    """The loopback port asked for the release container is taken."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port 127.0.0.1:{port} is already in use",
                    "stop what listens there, pass another --host-port, or leave it out to let "
                    "smoke pick a free port",
                ) from None
            raise


def http_status(port: int, path: str, timeout: float = 3.0) -> tuple[int | None, str]:
    """GET ``http://127.0.0.1:port/path`` (no proxy): the status, or None and why."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "stagekit-smoke"})
        response = connection.getresponse()
        body = response.read(200).decode("utf-8", errors="replace").strip()
        return response.status, body
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        connection.close()


def tcp_accepts(port: int, hold: float = 1.0) -> tuple[bool, str]:
    """Does something inside the container accept on ``port``?

    Docker's userland proxy accepts on the host side whatever the container does and closes the
    connection when nothing listens behind it; so a connection only counts when it stays open for
    ``hold`` seconds (a debugger waits for its client to speak) or the server speaks first.
    """
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=3.0)
    except OSError as exc:
        return False, f"connect: {exc.strerror or exc}"
    with sock:
        sock.settimeout(hold)
        try:
            data = sock.recv(64)
        except TimeoutError:
            return True, "connection accepted and held open"
        except OSError as exc:
            return False, f"connection reset ({exc.strerror or exc})"
        if data:
            return True, "connection accepted; the server spoke first"
        return False, "connection closed at once (nothing listens behind the published port)"
