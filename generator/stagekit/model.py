"""The closed sets stagekit works with: languages, runtime bases and Dockerfile stages."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    """A language that has a built-in scaffold."""

    GO = "go"
    RUST = "rust"
    PYTHON = "python"


class Base(StrEnum):
    """The runtime base of the release image."""

    DISTROLESS = "distroless"
    SCRATCH = "scratch"
    ALPINE = "alpine"


class Stage(StrEnum):
    """The stages every generated Dockerfile has, in file order; ``release`` is last."""

    BUILD = "build"
    TEST = "test"
    DEBUG = "debug"
    RELEASE = "release"
