from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }}.settings import DEFAULT_PORT, Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.port == DEFAULT_PORT == {{ cookiecutter.port }}
    assert settings.log_level == "info"
    assert settings.shutdown_timeout == 5.0
    assert settings.host == "0.0.0.0"


def test_values_from_the_environment() -> None:
    settings = Settings.from_env({"PORT": "9090", "LOG_LEVEL": "WARN", "SHUTDOWN_TIMEOUT": "2s"})
    assert (settings.port, settings.log_level, settings.shutdown_timeout) == (9090, "warning", 2.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a number"),
        ({"PORT": "0"}, "between 1 and 65535"),
        ({"PORT": "70000"}, "between 1 and 65535"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT must be seconds"),
        ({"SHUTDOWN_TIMEOUT": "-1"}, "between 0 and 300"),
    ],
)
def test_invalid_values_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
