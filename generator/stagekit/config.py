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
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stagekit.answers import (
    FIELDS,
    MAX_DESCRIPTION,
    MAX_OWNER,
    check_port,
    check_text,
    normalize_keys,
)
from stagekit.catalog import Scaffold, builtin_names
from stagekit.contract import BAKE_OVERRIDE_FILE, BUILD_ARGS_FILE
from stagekit.errors import AnswersFileError, ConfigError, StagekitError, ValidationError
from stagekit.filters import _qualified, _split_reference, hcl_str
from stagekit.model import Base, Language
from stagekit.names import validate_module_path, validate_project_name

CONFIG_NAMES = ("stagekit.toml", ".stagekit.toml")
USER_CONFIG = Path("stagekit") / "config.toml"
ENV_CONFIG = "STAGEKIT_CONFIG"


#: ``[network]`` settings: the build arguments each becomes, and the language whose tools read
#: them (None: every language). The Go, pip/uv and proxy variables are read by the tools
#: themselves; ``CARGO_REGISTRY_MIRROR`` is turned into a cargo source replacement by the Rust
#: scaffold's Dockerfile (cargo reads no environment variable for source replacement).
NETWORK_SETTINGS: dict[str, tuple[tuple[str, ...], Language | None]] = {
    "goproxy": (("GOPROXY",), Language.GO),
    "gosumdb": (("GOSUMDB",), Language.GO),
    "goprivate": (("GOPRIVATE",), Language.GO),
    "gonosumdb": (("GONOSUMDB",), Language.GO),
    "python_index_url": (("PIP_INDEX_URL", "UV_INDEX_URL"), Language.PYTHON),
    "cargo_registry_mirror": (("CARGO_REGISTRY_MIRROR",), Language.RUST),
    "http_proxy": (("HTTP_PROXY", "http_proxy"), None),
    "https_proxy": (("HTTPS_PROXY", "https_proxy"), None),
    "no_proxy": (("NO_PROXY", "no_proxy"), None),
}
#: BuildKit's predefined build arguments: every RUN sees them without an ARG, and they stay out of
#: the image history and the cache key. Every project gets them, whatever its scaffold declares.
PROXY_ARGS = frozenset(
    name
    for upper in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
    for name in (upper, upper.lower())
)
_URL_SETTINGS = frozenset(
    {"python_index_url", "cargo_registry_mirror", "http_proxy", "https_proxy"}
)

_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A value lands in an env file, a Makefile and HCL: one word without quotes, `$` or backslashes.
_VALUE = re.compile(r"[^\s\"'`$\\]+")
# host[:port][/path] of a registry: what goes in front of an image's repository.
_REGISTRY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)?")
_REPOSITORY = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*")

_SECTIONS = ("defaults", "registry", "network", "scaffolds")
_REGISTRY_KEYS = ("prefix", "map", "upstreams")
_DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?")
_NETWORK_KEYS = (*NETWORK_SETTINGS, "ca_bundle", "args")


@dataclass(frozen=True)
class Registry:
    """Where base images are pulled from, most specific first: a map per image repository, a
    mirror per upstream registry, a prefix in front of every (fully qualified) image."""

    prefix: str = ""
    map: Mapping[str, str] = field(default_factory=dict)
    upstreams: Mapping[str, str] = field(default_factory=dict)

    def context(self, scaffold: Scaffold | None = None) -> dict[str, Any] | None:
        """The value of the scaffolds' ``_registry`` key, or None when nothing is redirected.

        ``upstreams`` become ``map`` entries for the images ``scaffold``'s catalog names, so the
        ``image`` filter (and plain cookiecutter) needs to know only prefix and map.
        """
        mapping: dict[str, str] = {}
        if scaffold is not None and self.upstreams:
            for per_base in scaffold.images.values():
                for reference in per_base.values():
                    if reference == "scratch":
                        continue
                    repository = _split_reference(reference)[0]
                    host, _, path = _qualified(repository).partition("/")
                    if host in self.upstreams:
                        mapping[repository] = f"{self.upstreams[host]}/{path}"
        mapping.update(self.map)
        if not self.prefix and not mapping:
            return None
        return {"prefix": self.prefix, "map": mapping}


@dataclass(frozen=True)
class Network:
    """Build-time network settings: ``[network]`` values and raw ``[network.args]``."""

    settings: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None

    def all_args(self) -> dict[str, str]:
        """Every build argument the settings make, empty values left out."""
        out: dict[str, str] = {}
        for key, value in self.settings.items():
            for name in NETWORK_SETTINGS[key][0]:
                out[name] = value
        out.update(self.args)
        return {name: value for name, value in out.items() if value}

    def build_args(self, honoured: Collection[str]) -> dict[str, str]:
        """The build arguments for a scaffold declaring ``honoured`` (plus BuildKit's proxies)."""
        return {
            name: value
            for name, value in sorted(self.all_args().items())
            if name in honoured or name in PROXY_ARGS
        }

    def not_declared(self, language: Language, honoured: Collection[str]) -> list[str]:
        """Build arguments set for ``language``'s tools that a scaffold does not declare (so they
        are not passed): worth telling, unlike another language's settings."""
        wanted = {
            name
            for key, value in self.settings.items()
            if value and NETWORK_SETTINGS[key][1] is language
            for name in NETWORK_SETTINGS[key][0]
        }
        return sorted(wanted - set(honoured))


@dataclass(frozen=True)
class OrgConfig:
    """The merged org configuration, and the files it came from (lowest precedence first)."""

    defaults: Mapping[str, Any] = field(default_factory=dict)
    registry: Registry = field(default_factory=Registry)
    network: Network = field(default_factory=Network)
    scaffolds: Mapping[str, str] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def describe(self) -> str:
        return ", ".join(str(f) for f in self.files) if self.files else "no org config file"


# --- finding and reading ----------------------------------------------------------------------


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
    return _check_file(path, data)


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
        ),
        network=Network(
            settings={k: v for k, v in network.items() if k in NETWORK_SETTINGS},
            args=dict(network.get("args", {})),
            ca_bundle=Path(ca_bundle) if ca_bundle else None,
        ),
        scaffolds=dict(data.get("scaffolds", {})),
        files=files,
    )


# --- checking one file ------------------------------------------------------------------------


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


def _check_file(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
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
        if value not in {lang.value for lang in Language}:
            raise StagekitError(
                f"{value!r} is not a language", f"one of: {', '.join(lang for lang in Language)}"
            )
    elif key == "base":
        if value not in {base.value for base in Base}:
            raise StagekitError(
                f"{value!r} is not a base", f"one of: {', '.join(base for base in Base)}"
            )
    elif key == "port":
        check_port(value, debug_port=0)
    elif key == "description":
        check_text(key, value, MAX_DESCRIPTION, True)
    elif key == "owner":
        check_text(key, value, MAX_OWNER, False)
    elif key == "module_path":
        validate_module_path(module_path_for(value, "project-name"))


def module_path_for(template: str, project_name: str) -> str:
    """A ``[defaults] module_path`` may hold ``{project_name}``: the project's name goes there."""
    return template.replace("{project_name}", project_name)


def _check_registry(check: _Checker, table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"registry.{key}"
        if key not in _REGISTRY_KEYS:
            raise check.unknown(dotted, (f"registry.{k}" for k in _REGISTRY_KEYS))
        if key == "prefix":
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


def familiar_repository(name: str) -> str:
    """``docker.io/library/golang`` → ``golang``: the form the scaffolds' catalogs write."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


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
                if not _ARG_NAME.fullmatch(name):
                    raise check.fail(
                        arg_key, "is not a build argument name ([A-Za-z_][A-Za-z0-9_]*)"
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
            from stagekit.sources import absolute_spec

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


# --- what a generated project carries -----------------------------------------------------------


def build_args_file(args: Mapping[str, str], sources: Iterable[Path]) -> str:
    """``build-args.env``: one ``NAME=value`` per line (an env file; the Makefile reads it)."""
    where = ", ".join(str(s) for s in sources) or "the org config"
    lines = [
        "# Build arguments from the org configuration (the [network] table of " + where + ").",
        "# Every build of this project passes them: the Makefile (--build-arg),",
        f"# `docker buildx bake` ({BAKE_OVERRIDE_FILE}) and `stagekit smoke`. Proxy variables are",
        "# BuildKit's predefined build arguments: not in the image history nor the cache key.",
    ]
    lines += [f"{name}={value}" for name, value in sorted(args.items())]
    return "\n".join(lines) + "\n"


def bake_override_file(
    targets: Iterable[str], args: Mapping[str, str], ca_bundle: Path | None
) -> str:
    """``docker-bake.override.hcl``: bake reads it after docker-bake.hcl and merges it per key."""
    lines = [
        "# Written by `stagekit new` from the org configuration: `docker buildx bake` loads this",
        "# file after docker-bake.hcl and merges it key by key (the values of build-args.env).",
    ]
    if ca_bundle is not None:
        lines += ["", 'variable "CA_BUNDLE" {', f"  default = {hcl_str(str(ca_bundle))}", "}"]
    if args:
        width = max(len(name) for name in args)
        for target in targets:
            lines += ["", f"target {hcl_str(target)} {{", "  args = {"]
            lines += [
                f"    {name:<{width}} = {hcl_str(value)}" for name, value in sorted(args.items())
            ]
            lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


_BAKE_TARGET = re.compile(r'^\s*target\s+"([A-Za-z0-9][A-Za-z0-9_-]*)"', re.MULTILINE)


def bake_targets(bake_file_text: str) -> list[str]:
    """The public targets of a docker-bake.hcl (``_``-prefixed ones are internal)."""
    return list(dict.fromkeys(_BAKE_TARGET.findall(bake_file_text)))


def read_build_args(project: Path) -> dict[str, str]:
    """A project's ``build-args.env`` (what ``stagekit smoke`` passes as ``--build-arg``)."""
    path = project / BUILD_ARGS_FILE
    if not path.is_file():
        return {}
    args: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        if not sep or not _ARG_NAME.fullmatch(name):
            raise ConfigError(f"{path}:{number}: not a NAME=value line")
        args[name] = value
    return args
