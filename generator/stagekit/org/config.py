"""Org configuration: answer defaults, a registry mirror for base images, network settings.

A platform team writes one TOML file (docs/platform-teams.md)::

    [defaults]                 # any answer: owner, base, port, version, description, module_path…
    owner = "Payments Team"
    module_path = "git.corp.example/payments/{project_name}"

    [registry]                 # where base images come from
    prefix = "mirror.corp.example/dockerhub"
    [registry.map]
    golang = "mirror.corp.example/golang"
    [registry.upstreams]       # one mirror project per upstream registry (Harbor, Artifactory)
    "gcr.io" = "harbor.corp.example/gcr"
    # pin = true               # stagekit new pins base images by digest (stagekit pin)

    [network]                  # build-time settings every generated project carries
    goproxy = "https://goproxy.corp.example,direct"
    https_proxy = "http://proxy.corp.example:3128"
    ca_bundle = "/etc/pki/corp-root.pem"
    [network.args]             # any other build argument a (custom) scaffold honours
    NPM_CONFIG_REGISTRY = "https://npm.corp.example/"

    [scaffolds]                # custom scaffolds by name (stagekit new --scaffold payments)
    payments = "git+https://git.corp.example/templates/payments-go.git#ref=v2"

Where it is found, lowest precedence first, merged key by key (the nearest file wins):
the user's ``$XDG_CONFIG_HOME/stagekit/config.toml`` (``~/.config/...``), then ``stagekit.toml`` or
``.stagekit.toml`` in every folder from the filesystem root down to the destination's parent.
``--config FILE`` (or ``STAGEKIT_CONFIG``) replaces that search: only that file is read.

Every problem is one line naming the file and the dotted key. Nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagekit.errors import ConfigError
from stagekit.model.config import NETWORK_SETTINGS, Network, OrgConfig, Registry
from stagekit.org.rules import check_file

CONFIG_NAMES = ("stagekit.toml", ".stagekit.toml")
USER_CONFIG = Path("stagekit") / "config.toml"
ENV_CONFIG = "STAGEKIT_CONFIG"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/stagekit/config.toml``, else ``~/.config/stagekit/config.toml``."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME")
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return root / USER_CONFIG


def discover(start: Path, env: Mapping[str, str] | None = None) -> list[Path]:
    """The config files that apply to a destination under ``start``, lowest precedence first."""
    files: list[Path] = []
    user = user_config_path(env)
    if user.is_file():
        files.append(user)
    folder = start.absolute()
    chain = [folder, *folder.parents]
    for directory in reversed(chain):
        found = [directory / name for name in CONFIG_NAMES if (directory / name).is_file()]
        if len(found) > 1:
            raise ConfigError(
                f"{directory} holds both {CONFIG_NAMES[0]} and {CONFIG_NAMES[1]}",
                "keep one of them: stagekit would not know which one wins",
            )
        files.extend(found)
    return files


def load_config(
    start: Path | None = None,
    explicit: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> OrgConfig:
    """The org configuration for a destination whose parent is ``start`` (default: the cwd).

    ``explicit`` (``--config``), else ``$STAGEKIT_CONFIG``, is the only file read when given.
    """
    env = os.environ if env is None else env
    if explicit is None and env.get(ENV_CONFIG):
        explicit = Path(env[ENV_CONFIG])
    if explicit is not None:
        if not explicit.exists() or explicit.is_dir():  # /dev/null: no org config at all
            raise ConfigError(f"config file not found: {explicit}")
        files = [explicit]
    else:
        files = discover(start if start is not None else Path.cwd(), env)
    merged: dict[str, Any] = {}
    for path in files:
        _merge(merged, read_file(path))
    return _build(merged, tuple(files))


def read_file(path: Path) -> dict[str, Any]:
    """One config file, checked and normalised (paths made absolute, answer aliases resolved)."""
    # Imported here: most runs find no config file, and `stagekit new` start-up is measured.
    import tomllib

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return check_file(path, data)


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Merge tables key by key; a value (not a table) in ``layer`` replaces the one in ``into``."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = _copy(value)


def _copy(value: Any) -> Any:
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def _build(data: Mapping[str, Any], files: tuple[Path, ...]) -> OrgConfig:
    registry = data.get("registry", {})
    network = data.get("network", {})
    ca_bundle = network.get("ca_bundle")
    return OrgConfig(
        defaults=dict(data.get("defaults", {})),
        registry=Registry(
            prefix=str(registry.get("prefix", "")).rstrip("/"),
            map=dict(registry.get("map", {})),
            upstreams=dict(registry.get("upstreams", {})),
            pin=bool(registry.get("pin", False)),
        ),
        network=Network(
            settings={k: v for k, v in network.items() if k in NETWORK_SETTINGS},
            args=dict(network.get("args", {})),
            ca_bundle=Path(ca_bundle) if ca_bundle else None,
        ),
        scaffolds=dict(data.get("scaffolds", {})),
        files=files,
    )
