"""The closed sets stagekit works with: languages and runtime bases (stages: ``contract``)."""

from __future__ import annotations

from enum import StrEnum
from fnmatch import fnmatchcase

#: What no scaffold defines, though a copy of one may hold it: bytecode (pip compiles the .py files
#: of the scaffolds inside an installed stagekit), OS and editor droppings. Never rendered, and
#: not part of a scaffold's content digest.
NOT_SCAFFOLD_CONTENT = ("__pycache__", "*.pyc", "*.pyo", ".DS_Store", "Thumbs.db", "*~", ".*.swp")


def is_scaffold_content(name: str) -> bool:
    """False for a file or folder name matching :data:`NOT_SCAFFOLD_CONTENT`."""
    return not any(fnmatchcase(name, pattern) for pattern in NOT_SCAFFOLD_CONTENT)


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
