"""The org configuration as typed values: answer defaults, the registry mirror, network settings.

:mod:`stagekit.org.config` finds and merges the files, :mod:`stagekit.org.rules` checks each one;
what a project then carries from it is written by :mod:`stagekit.org.project_files`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.filters import _qualified, _split_reference
from stagekit.model import Language
from stagekit.model.catalog import Scaffold

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


@dataclass(frozen=True)
class Registry:
    """Where base images are pulled from, most specific first: a map per image repository, a
    mirror per upstream registry, a prefix in front of every (fully qualified) image."""

    prefix: str = ""
    map: Mapping[str, str] = field(default_factory=dict)
    upstreams: Mapping[str, str] = field(default_factory=dict)
    pin: bool = False  # `stagekit new` pins the base images by digest (as --pin does)

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


def module_path_for(template: str, project_name: str) -> str:
    """A ``[defaults] module_path`` may hold ``{project_name}``: the project's name goes there."""
    return template.replace("{project_name}", project_name)


def familiar_repository(name: str) -> str:
    """``docker.io/library/golang`` → ``golang``: the form the scaffolds' catalogs write."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
