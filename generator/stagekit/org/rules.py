"""The checks of one org config file; every problem is one line naming the file and dotted key.

The answer rules themselves live in :mod:`stagekit.model.answers` and
:mod:`stagekit.model.names`; this module applies them to ``[defaults]`` and adds the rules of the
other tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stagekit.contract import BUILD_ARG_NAME
from stagekit.errors import AnswersFileError, ConfigError, StagekitError, ValidationError
from stagekit.model.answers import (
    FIELDS,
    check_description,
    check_owner,
    check_port,
    normalize_keys,
    parse_base,
    parse_language,
)
from stagekit.model.catalog import builtin_names
from stagekit.model.config import NETWORK_SETTINGS, familiar_repository, module_path_for
from stagekit.model.names import validate_module_path, validate_project_name

_URL_SETTINGS = frozenset(
    {"python_index_url", "cargo_registry_mirror", "http_proxy", "https_proxy"}
)
# A value lands in an env file, a Makefile and HCL: one word without quotes, `$` or backslashes.
_VALUE = re.compile(r"[^\s\"'`$\\]+")
# host[:port][/path] of a registry: what goes in front of an image's repository.
_REGISTRY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)?")
_REPOSITORY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*")

_SECTIONS = ("defaults", "registry", "network", "scaffolds")
_REGISTRY_KEYS = ("prefix", "map", "upstreams", "pin")
_DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?")
_NETWORK_KEYS = (*NETWORK_SETTINGS, "ca_bundle", "args")


class _Checker:
    """Checks one file's data; every error names the file and the dotted key."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.folder = file.absolute().parent

    def fail(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.file}: {key}: {message}", hint)

    def unknown(self, key: str, known: Iterable[str]) -> ConfigError:
        return ConfigError(
            f"{self.file}: unknown key {key!r}", f"known keys here: {', '.join(sorted(known))}"
        )

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, not {_kind(value)}", f"write it as [{key}]")
        return value

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            hint = f'quote it: {key.rsplit(".", 1)[-1]} = "{value}"' if _scalar(value) else None
            raise self.fail(key, f"must be a string, not {_kind(value)}", hint)
        return value

    def path(self, key: str, value: Any) -> str:
        """A file path; relative paths are relative to the config file's folder."""
        text = self.string(key, value)
        if not text:
            return text
        candidate = Path(text).expanduser()
        return str(candidate if candidate.is_absolute() else self.folder / candidate)


def check_file(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """One file's data, checked and normalised; raises :class:`ConfigError` on the first problem."""
    check = _Checker(path)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            raise check.unknown(key, _SECTIONS)
        table = check.table(key, value)
        if key == "defaults":
            out[key] = _check_defaults(check, table)
        elif key == "registry":
            out[key] = _check_registry(check, table)
        elif key == "network":
            out[key] = _check_network(check, table)
        else:
            out[key] = _check_scaffolds(check, table)
    return out


def _check_defaults(check: _Checker, table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        dotted = f"defaults.{raw_key}"
        try:  # the answers' own aliases (name, lang, module) and key list
            (key,) = normalize_keys({raw_key: value}, str(check.file))
        except AnswersFileError:
            raise check.unknown(dotted, (f"defaults.{k}" for k in FIELDS)) from None
        if key == "port":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise check.fail(dotted, f"must be an integer, not {_kind(value)}")
        else:
            check.string(dotted, value)
        try:
            _check_default(key, value)
        except ValidationError as exc:
            message = exc.message.removeprefix(f"{exc.field}: ")
            raise check.fail(dotted, message, exc.hint) from None
        except StagekitError as exc:
            raise check.fail(dotted, exc.message, exc.hint) from None
        out[key] = value
    return out


def _check_default(key: str, value: Any) -> None:
    """The rules an answer follows that hold whatever the scaffold (the rest are checked later)."""
    if key == "project_name":
        validate_project_name(value)
    elif key == "language":
        parse_language(value)
    elif key == "base":
        parse_base(value)
    elif key == "port":
        check_port(value, debug_port=0)
    elif key == "description":
        check_description(value)
    elif key == "owner":
        check_owner(value)
    elif key == "module_path":
        validate_module_path(module_path_for(value, "project-name"))


def _check_registry(check: _Checker, table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"registry.{key}"
        if key not in _REGISTRY_KEYS:
            raise check.unknown(dotted, (f"registry.{k}" for k in _REGISTRY_KEYS))
        if key == "pin":
            if not isinstance(value, bool):
                raise check.fail(dotted, f"must be true or false, not {_kind(value)}")
            out[key] = value
        elif key == "prefix":
            prefix = check.string(dotted, value).strip().rstrip("/")
            if prefix and not _REGISTRY.fullmatch(prefix):
                raise check.fail(
                    dotted,
                    f"{value!r} is not a registry host[:port][/path]",
                    'example: prefix = "mirror.corp.example/dockerhub" (no https://, no tag)',
                )
            out[key] = prefix
        elif key == "upstreams":
            out[key] = {}
            for host, target in check.table(dotted, value).items():
                host_key = f"{dotted}.{_quote_key(host)}"
                upstream = "docker.io" if host in _DOCKER_HUB_HOSTS else host
                if not _HOST.fullmatch(upstream) or "." not in upstream:
                    raise check.fail(
                        host_key, "is not a registry host", 'e.g. "gcr.io" = "harbor.example/gcr"'
                    )
                mirror = check.string(host_key, target).strip().rstrip("/")
                if not _REGISTRY.fullmatch(mirror):
                    raise check.fail(host_key, f"{target!r} is not a registry host[:port][/path]")
                out[key][upstream] = mirror
        else:
            mapping = check.table(dotted, value)
            out[key] = {}
            for image, target in mapping.items():
                image_key = f"{dotted}.{_quote_key(image)}"
                repository = check.string(image_key, target).strip().rstrip("/")
                if not _REPOSITORY.fullmatch(repository):
                    raise check.fail(
                        image_key,
                        f"{target!r} is not an image repository",
                        "map an image to a repository without tag: "
                        'golang = "mirror.corp.example/golang"',
                    )
                out[key][familiar_repository(image)] = repository
    return out


def _check_network(check: _Checker, table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"network.{key}"
        if key not in _NETWORK_KEYS:
            raise check.unknown(dotted, (f"network.{k}" for k in _NETWORK_KEYS))
        if key == "ca_bundle":
            out[key] = check.path(dotted, value)
            if out[key] and not Path(out[key]).is_file():
                raise check.fail(dotted, f"{out[key]} is not a file")
        elif key == "args":
            out[key] = {}
            for name, arg in check.table(dotted, value).items():
                arg_key = f"{dotted}.{_quote_key(name)}"
                if not BUILD_ARG_NAME.fullmatch(name):
                    raise check.fail(
                        arg_key, f"is not a build argument name ({BUILD_ARG_NAME.pattern})"
                    )
                out[key][name] = _network_value(check, arg_key, arg, url=False)
        else:
            out[key] = _network_value(check, dotted, value, url=key in _URL_SETTINGS)
    return out


def _network_value(check: _Checker, key: str, value: Any, *, url: bool) -> str:
    text = check.string(key, value).strip()
    if not text:
        return text  # an empty value unsets what a farther file set
    if not _VALUE.fullmatch(text):
        raise check.fail(
            key, "must be one word without spaces, quotes, '$' or backslashes", "it lands in files"
        )
    if url:
        parts = urlsplit(text)
        if not parts.scheme or not parts.netloc:
            raise check.fail(key, f"{text!r} is not a URL (scheme://host…)")
    if "@" in (urlsplit(text).netloc if "://" in text else ""):
        raise check.fail(
            key,
            "carries credentials (user@ or user:password@ in the URL)",
            "every generated project would carry them in build-args.env; keep credentials out "
            "of the org config and pass them at build time",
        )
    return text


def _check_scaffolds(check: _Checker, table: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in table.items():
        dotted = f"scaffolds.{_quote_key(name)}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise check.fail(dotted, "a scaffold name is lowercase letters, digits, '.', '_', '-'")
        if name in builtin_names():
            raise check.fail(dotted, f"{name!r} is a built-in scaffold's name; choose another")
        spec = check.string(dotted, value).strip()
        if not spec:
            raise check.fail(dotted, "must name a folder or a git URL")
        try:
            # Imported here: sources pulls in subprocess/tempfile machinery only [scaffolds] needs.
            from stagekit.org.sources import absolute_spec

            out[name] = absolute_spec(spec, check.folder)
        except StagekitError as exc:
            raise check.fail(dotted, exc.message, exc.hint) from None
    return out


def _quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | bool)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
