"""The HTTP API: health, a sample endpoint and build information."""

from __future__ import annotations

import logging
import time
from importlib import metadata
from typing import Annotated, Any

from fastapi import FastAPI, Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.__package_name }} import DIST_NAME

access_log = logging.getLogger("{{ cookiecutter.__package_name }}.access")


def build_info() -> dict[str, str]:
    """Name, version and description of the installed distribution (from pyproject.toml)."""
    try:
        meta = metadata.metadata(DIST_NAME)
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return {"name": DIST_NAME, "version": "unknown", "description": ""}
    return {
        "name": DIST_NAME,
        "version": meta["Version"],
        "description": meta.get("Summary") or "",
    }


class AccessLog:
    """Logs one structured line per HTTP request: method, path, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )


def create_app() -> FastAPI:
    info = build_info()
    app = FastAPI(title=info["name"], version=info["version"], description=info["description"])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the image's HEALTHCHECK probes it."""
        return {"status": "ok"}

    @app.get("/hello")
    async def hello(
        name: Annotated[str, Query(min_length=1, max_length=100)] = "world",
    ) -> dict[str, str]:
        """A sample endpoint: greets ``name``."""
        return {"message": f"Hello, {name}!"}

    @app.get("/")
    async def root() -> dict[str, Any]:
        """Which build is running."""
        return info

    app.add_middleware(AccessLog)
    return app
