"""Syft's catalogue of an image, as typed values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The component type through which each language's own dependencies show (Syft's names).
ECOSYSTEM = {"go": "go-module", "rust": "rust-crate", "python": "python"}


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    type: str  # Syft's package type: deb, go-module, rust-crate, python, binary, ...
    purl: str


@dataclass(frozen=True)
class Inventory:
    """Every component Syft identified in one image, and the distribution it says it is."""

    image: str
    components: tuple[Component, ...]
    distro: str | None  # "debian 13", or None when the image says no distribution

    @classmethod
    def from_syft_json(cls, image: str, data: Mapping[str, Any]) -> Inventory:
        components = tuple(
            Component(
                str(a.get("name", "")),
                str(a.get("version", "")),
                str(a.get("type", "")),
                str(a.get("purl", "")),
            )
            for a in data.get("artifacts") or []
        )
        distro = data.get("distro") or {}
        name = " ".join(str(distro[k]) for k in ("id", "versionID") if distro.get(k))
        return cls(image, components, name or None)

    def counts(self) -> dict[str, int]:
        """Components by type, most first."""
        return dict(Counter(c.type for c in self.components).most_common())

    def of_type(self, kind: str) -> dict[str, str]:
        """name → version of the components of one type."""
        return {c.name: c.version for c in self.components if c.type == kind}

    def describe(self) -> str:
        counts = ", ".join(f"{kind} {n}" for kind, n in self.counts().items())
        distro = f"; distribution {self.distro}" if self.distro else ""
        return f"{len(self.components)} components ({counts or 'none'}){distro}"
