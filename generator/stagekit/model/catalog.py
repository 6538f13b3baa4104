"""The typed catalog of scaffolds, read from each scaffold's ``cookiecutter.json``.

A scaffold's ``cookiecutter.json`` is the single source of truth: its public keys are the answers
(with their defaults and choice lists) and its private ``_stagekit`` key holds what the Python side
needs to know (images per base, ports, unsupported combinations). See docs/scaffolds.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import stagekit
from stagekit.contract import BUILD_ARG_NAME, IMAGE_ROLES
from stagekit.errors import ScaffoldError, UnsupportedCombinationError, ValidationError
from stagekit.filters import resolve_image
from stagekit.model import Base, Language

#: Keys every scaffold's cookiecutter.json must declare.
REQUIRED_KEYS = ("project_name", "description", "owner", "base", "version", "port", "_stagekit")
REQUIRED_CATALOG_KEYS = ("language", "scaffold_version", "version_arg", "images", "debug_port")
TEMPLATE_DIR = "{{cookiecutter.project_name}}"
#: Where cookiecutter's own loader finds partials for ``{% include %}``, ``{% extends %}`` and
#: ``{% import %}``, beside ``cookiecutter.json`` (its search path is ``.`` and ``../templates``,
#: from the template folder).
PARTIALS_DIR = "templates"


@dataclass(frozen=True)
class Unsupported:
    """A (base, version) pair a scaffold refuses, with the reason users are shown."""

    base: Base | None
    version: str | None
    reason: str

    def matches(self, base: Base, version: str) -> bool:
        return (self.base is None or self.base == base) and (
            self.version is None or self.version == version
        )


@dataclass(frozen=True)
class Scaffold:
    """One scaffold: where its template is and what its catalog says."""

    name: str
    path: Path
    language: Language
    scaffold_version: str
    bases: tuple[Base, ...]
    versions: tuple[str, ...]
    version_arg: str
    images: Mapping[str, Mapping[str, str]]
    debug_port: int
    health_path: str
    payload: Mapping[str, tuple[str, ...]]
    unsupported: tuple[Unsupported, ...]
    defaults: Mapping[str, Any] = field(repr=False)
    source: str = "builtin"
    #: Project names the scaffold refuses: its own dependencies (a crate or package cannot
    #: depend on its own name). Compared with ``-`` and ``_`` alike.
    reserved_names: tuple[str, ...] = ()
    #: Build arguments the Dockerfile declares for an org's network settings (GOPROXY, ...).
    network_args: tuple[str, ...] = ()

    @property
    def default_base(self) -> Base:
        return self.bases[0]

    @property
    def default_version(self) -> str:
        return self.versions[0]

    def image(
        self, role: str, base: Base, version: str, registry: Mapping[str, Any] | None = None
    ) -> str:
        """The concrete reference of the image for ``role`` (``${VERSION_ARG}`` substituted)."""
        per_base = self.images[role]
        reference = per_base.get(base.value, per_base.get("*"))
        if reference is None:
            raise ScaffoldError(f"scaffold {self.name!r} has no {role!r} image for base {base}")
        concrete = reference.replace("${" + self.version_arg + "}", version)
        return resolve_image(concrete, registry)

    def images_for(
        self, base: Base, version: str, registry: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """Every role's concrete image reference for one combination."""
        return {role: self.image(role, base, version, registry) for role in self.images}

    def check_name(self, name: str) -> None:
        """Refuse a project name that collides with one of the scaffold's dependencies."""
        normal = name.replace("_", "-")
        if normal in {r.replace("_", "-").lower() for r in self.reserved_names}:
            raise ValidationError(
                "project name",
                f"{name!r} is the name of a dependency of the {self.name} scaffold",
                "a package cannot depend on a package of its own name; choose another name",
            )

    def payload_for(self, base: Base) -> tuple[str, ...]:
        """Image paths that are the app itself (``{entrypoint}``: the ENTRYPOINT's program)."""
        return self.payload.get(base.value, self.payload.get("*", ("{entrypoint}",)))

    def check_supported(self, base: Base, version: str) -> None:
        """Refuse a combination the catalog does not support, naming what would work."""
        if base not in self.bases:
            raise UnsupportedCombinationError(
                f"base {base} is not offered by the {self.name} scaffold",
                f"choose one of: {', '.join(b.value for b in self.bases)}",
            )
        if version not in self.versions:
            raise UnsupportedCombinationError(
                f"{self.language} version {version!r} is not in the {self.name} scaffold's catalog",
                f"choose one of: {', '.join(self.versions)}",
            )
        for rule in self.unsupported:
            if rule.matches(base, version):
                works = [v for v in self.versions if self.supports(base, v)]
                alt_bases = [b.value for b in self.bases if self.supports(b, version)]
                hints = []
                if works:
                    hints.append(f"on {base} use version {', '.join(works)}")
                if alt_bases:
                    hints.append(f"version {version} works on {', '.join(alt_bases)}")
                raise UnsupportedCombinationError(
                    f"{self.language} {version} on {base} is not supported: {rule.reason}",
                    "; ".join(hints) or None,
                )

    def supports(self, base: Base, version: str) -> bool:
        return (
            base in self.bases
            and version in self.versions
            and not any(rule.matches(base, version) for rule in self.unsupported)
        )


def scaffolds_root() -> Path:
    """The built-in scaffolds: inside the wheel, or the source checkout's ``scaffolds/``."""
    package = Path(stagekit.__file__).resolve().parent  # wherever this module sits inside it
    packaged = package / "scaffolds"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "scaffolds"


def builtin_names() -> tuple[str, ...]:
    return tuple(language.value for language in Language)


@cache
def builtin(language: Language) -> Scaffold:
    """The built-in scaffold for a language (read once per process)."""
    return load_scaffold(scaffolds_root() / language.value, name=language.value)


def load_scaffold(path: Path, name: str | None = None, source: str = "builtin") -> Scaffold:
    """Read and validate a scaffold folder; errors name the missing or wrong key."""
    config = path / "cookiecutter.json"
    if not config.is_file():
        raise ScaffoldError(
            f"{path} is not a scaffold: it has no cookiecutter.json",
            "a stagekit scaffold is a cookiecutter template; see docs/scaffolds.md",
        )
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScaffoldError(f"{config}: cannot be read as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ScaffoldError(f"{config}: must hold a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ScaffoldError(
            f"{config}: missing required key {missing[0]!r}",
            f"a stagekit scaffold declares {', '.join(REQUIRED_KEYS)}; see docs/scaffolds.md",
        )
    if not (path / TEMPLATE_DIR).is_dir():
        raise ScaffoldError(f"{path}: missing the template folder {TEMPLATE_DIR!r}")
    catalog = data["_stagekit"]
    if not isinstance(catalog, dict):
        raise ScaffoldError(f"{config}: '_stagekit' must be an object")
    missing = [key for key in REQUIRED_CATALOG_KEYS if key not in catalog]
    if missing:
        raise ScaffoldError(f"{config}: missing required key '_stagekit.{missing[0]}'")
    images = catalog["images"]
    if not isinstance(images, dict):
        raise ScaffoldError(f"{config}: '_stagekit.images' must be an object")
    missing = [role for role in IMAGE_ROLES if role not in images]
    if missing:
        raise ScaffoldError(f"{config}: missing required key '_stagekit.images.{missing[0]}'")
    try:
        language = Language(catalog["language"])
        bases = tuple(Base(b) for b in _choices(data["base"]))
        versions = tuple(str(v) for v in _choices(data["version"]))
        unsupported = tuple(
            Unsupported(
                base=Base(rule["base"]) if rule.get("base") else None,
                version=str(rule["version"]) if rule.get("version") else None,
                reason=str(rule["reason"]),
            )
            for rule in catalog.get("unsupported", [])
        )
        debug_port = int(catalog["debug_port"])
        reserved = _names(catalog, "reserved_names", _ANY_NAME)
        network_args = _names(catalog, "network_args", BUILD_ARG_NAME)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScaffoldError(f"{config}: invalid catalog value ({exc})") from exc
    return Scaffold(
        name=name or path.name,
        path=path,
        language=language,
        scaffold_version=str(catalog["scaffold_version"]),
        bases=bases,
        versions=versions,
        version_arg=str(catalog["version_arg"]),
        images={role: dict(per_base) for role, per_base in images.items()},
        debug_port=debug_port,
        health_path=str(catalog.get("health_path", "/healthz")),
        payload=_payload(catalog.get("payload", ["{entrypoint}"])),
        unsupported=unsupported,
        defaults={k: v for k, v in data.items() if not k.startswith("_")},
        source=source,
        reserved_names=reserved,
        network_args=network_args,
    )


_ANY_NAME = re.compile(r".+")


def _names(catalog: Mapping[str, Any], key: str, shape: re.Pattern[str]) -> tuple[str, ...]:
    value = catalog.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, str) and shape.fullmatch(v) for v in value
    ):
        raise TypeError(f"'_stagekit.{key}' must be a list of names")
    return tuple(value)


def _payload(value: Any) -> dict[str, tuple[str, ...]]:
    if isinstance(value, dict):
        return {str(base): tuple(str(p) for p in paths) for base, paths in value.items()}
    return {"*": tuple(str(p) for p in value)}


def _choices(value: Any) -> list[Any]:
    if isinstance(value, list) and value:
        return value
    return [value]
