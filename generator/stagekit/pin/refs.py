"""Image references in a Dockerfile's ``FROM`` lines, and writing digests into them.

A reference is read as BuildKit reads it: the ``FROM`` word with the global ``ARG`` defaults
expanded. Pinning writes the expanded, literal ``name:tag@sha256:…`` in place of the word, so a
pinned line says exactly what the build pulls and a bot (Dependabot) can bump tag and digest
together. Stage names and ``scratch`` are not images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stagekit.filters import _qualified, _split_reference
from stagekit.lint.dockerfile_parse import arg_defaults, expand, parse, split_stages

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    """``name[:tag][@digest]``, split as the registry sees it."""

    name: str
    tag: str
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        rest, _, digest = text.partition("@")
        name, _, tag = _split_reference(rest)
        return cls(name, tag or "latest", digest or None)

    @property
    def tagged(self) -> str:
        """``name:tag``: the key a pin is recorded under."""
        return f"{self.name}:{self.tag}"

    @property
    def registry(self) -> str:
        """The registry host that serves it (Docker Hub for a name without one)."""
        return _qualified(self.name).partition("/")[0]

    def pinned(self, digest: str) -> str:
        return f"{self.tagged}@{digest}"

    def __str__(self) -> str:
        return self.pinned(self.digest) if self.digest else self.tagged


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


@dataclass(frozen=True)
class FromImage:
    """One ``FROM`` line that names an image."""

    line: int  # 1-based, as the parse reports it
    written: str  # the word as the file has it (may hold ${ARG}s)
    ref: ImageRef  # the word with the global ARG defaults expanded


def base_images(text: str) -> list[FromImage]:
    """Every ``FROM`` that names an image, in file order (a reference may repeat)."""
    preamble, stages = split_stages(parse(text))
    defaults = arg_defaults(preamble)
    names: set[str] = set()
    found: list[FromImage] = []
    for stage in stages:
        word = stage.base
        if word.lower() not in names and word != "scratch":
            expanded = expand(word, defaults)
            if expanded is not None and expanded.lower() not in names:
                found.append(FromImage(stage.line, word, ImageRef.parse(expanded)))
        if stage.name:
            names.add(stage.name)
    return found


def rewrite(text: str, pins: Mapping[str, str]) -> str:
    """``text`` with every ``FROM`` image whose ``name:tag`` has a pin written as ``name:tag@pin``.

    A line whose reference already carries that digest is left as it is, byte for byte.
    """
    lines = text.splitlines(keepends=True)
    for image in base_images(text):
        digest = pins.get(image.ref.tagged)
        if digest is None or image.ref.digest == digest:
            continue
        index = image.line - 1
        lines[index] = lines[index].replace(image.written, image.ref.pinned(digest), 1)
    return "".join(lines)
