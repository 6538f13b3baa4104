"""Run the service: ``python -m {{ cookiecutter.__package_name }}`` (settings from the environment).

uvicorn serves the app and handles SIGTERM and SIGINT: it stops accepting connections, lets
in-flight requests finish for at most ``SHUTDOWN_TIMEOUT`` seconds, runs the lifespan shutdown
and returns; the process then exits with code 0.
"""

from __future__ import annotations

import logging
import signal
import sys

import uvicorn

from {{ cookiecutter.__package_name }} import logs
from {{ cookiecutter.__package_name }}.app import build_info, create_app
from {{ cookiecutter.__package_name }}.settings import Settings, SettingsError

log = logging.getLogger("{{ cookiecutter.__package_name }}")
STARTUP_FAILURE = 3


def _after_drain(signum: int, frame: object) -> None:
    """The handler uvicorn restores and re-raises the signal to once it has drained."""


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        logs.configure("info")
        log.error("invalid settings", extra={"error": str(exc)})
        return 2
    logs.configure(settings.log_level)
    config = uvicorn.Config(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_config=None,  # logs.configure() already routes uvicorn's loggers to JSON
        log_level=settings.log_level,
        access_log=False,  # app.AccessLog writes structured access lines instead
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    server = uvicorn.Server(config)
    # uvicorn installs its own SIGTERM/SIGINT handlers while serving and, after a graceful
    # shutdown, re-raises the signal to the handler found before: make that a no-op, so the
    # process exits 0 instead of dying by the signal (or raising KeyboardInterrupt).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _after_drain)
    log.info("starting", extra={"port": settings.port, "version": build_info()["version"]})
    server.run()
    if not server.started:
        log.error("could not start", extra={"port": settings.port})
        return STARTUP_FAILURE
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
