"""Content digests: of one generated file, and of a whole scaffold (symlinks followed).

A scaffold's digest covers every file a render depends on: the template tree, ``cookiecutter.json``,
hooks and the filters behind the ``local_extensions.py`` symlink, which is why links are read
through rather than recorded as links. Bytecode and editor files are not content
(:data:`stagekit.model.NOT_SCAFFOLD_CONTENT`), nor is ``.git``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from stagekit.model import is_scaffold_content


def file_digest(data: bytes) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(relative posix path, path)`` of every file under ``root``, sorted, links followed."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != ".git" and is_scaffold_content(d))
        for name in files:
            if not is_scaffold_content(name):
                continue
            path = Path(folder) / name
            found.append((path.relative_to(root).as_posix(), path))
    yield from sorted(found)


def tree_digest(root: Path) -> str:
    """One digest of every file's path, executable bit and bytes under ``root``."""
    total = hashlib.sha256()
    for relative, path in content_files(root):
        executable = "x" if os.access(path, os.X_OK) else "-"
        total.update(f"{relative}\0{executable}\0{file_digest(path.read_bytes())}\n".encode())
    return "sha256:" + total.hexdigest()


def project_digests(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """The digest of every file of a rendered project, by relative path (``skip`` left out)."""
    return {
        relative: file_digest(path.read_bytes())
        for relative, path in content_files(root)
        if relative not in skip
    }
