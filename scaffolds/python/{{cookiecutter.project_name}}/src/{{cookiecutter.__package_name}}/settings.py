"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = {{ cookiecutter.port }}
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_ALIASES = {"warn": "warning", "fatal": "critical"}


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment.

    ``PORT``: TCP port on every interface; ``LOG_LEVEL``: one of ``LOG_LEVELS``;
    ``SHUTDOWN_TIMEOUT``: seconds in-flight requests may take to finish after SIGTERM/SIGINT.
    """

    port: int = DEFAULT_PORT
    log_level: str = "info"
    shutdown_timeout: float = 5.0
    host: str = "0.0.0.0"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            port=parse_port(env.get("PORT", "")),
            log_level=parse_log_level(env.get("LOG_LEVEL", "")),
            shutdown_timeout=parse_timeout(env.get("SHUTDOWN_TIMEOUT", "")),
        )


def parse_port(raw: str) -> int:
    if not raw.strip():
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"PORT must be a number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise SettingsError(f"PORT must be between 1 and 65535, got {port}")
    return port


def parse_log_level(raw: str) -> str:
    level = raw.strip().lower() or "info"
    level = _ALIASES.get(level, level)
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def parse_timeout(raw: str) -> float:
    text = raw.strip().removesuffix("s")
    if not text:
        return 5.0
    try:
        seconds = float(text)
    except ValueError:
        raise SettingsError(f"SHUTDOWN_TIMEOUT must be seconds, got {raw!r}") from None
    if not 0 <= seconds <= 300:
        raise SettingsError(f"SHUTDOWN_TIMEOUT must be between 0 and 300 s, got {raw!r}")
    return seconds
