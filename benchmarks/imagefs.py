"""An image's filesystem, read from ``docker export``: which files, how big, where links lead.

The payload of a release image (``catalog.payload`` in ``.stagekit.json``; ``{entrypoint}`` is the
first ENTRYPOINT element) is measured here: the regular files at or below each path, following
symlinks, each file counted once.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ENTRYPOINT = "{entrypoint}"


@dataclass(frozen=True)
class Entry:
    kind: str  # file, dir, symlink, hardlink, other
    size: int = 0
    link: str = ""


def scan_tar(stream: Any) -> dict[str, Entry]:
    """Every path of a filesystem tar (read as a stream), keyed by its absolute path."""
    entries: dict[str, Entry] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            path = normalize(member.name)
            if member.isreg():
                entries[path] = Entry("file", member.size)
            elif member.isdir():
                entries[path] = Entry("dir")
            elif member.issym():
                entries[path] = Entry("symlink", 0, member.linkname)
            elif member.islnk():
                entries[path] = Entry("hardlink", 0, normalize(member.linkname))
            else:
                entries[path] = Entry("other")
    return entries


def normalize(name: str) -> str:
    """A tar member name as an absolute path: ``./usr/bin/`` → ``/usr/bin``."""
    name = name.removeprefix("./")
    return posixpath.normpath("/" + name.strip("/"))


def resolve(entries: Mapping[str, Entry], path: str, limit: int = 40) -> str | None:
    """``path`` with every symlink along it followed (inside the image), or None if dangling."""
    parts = _split(path)
    current = "/"
    hops = 0
    while parts:
        candidate = posixpath.join(current, parts.pop(0))
        entry = entries.get(candidate)
        if entry is not None and entry.kind == "symlink":
            hops += 1
            if hops > limit:
                return None
            base = "/" if entry.link.startswith("/") else current
            # The link's target replaces the walked prefix; what was still to walk follows it.
            parts = _split(posixpath.join(base, entry.link)) + parts
            current = "/"
            continue
        current = candidate
    return current if _exists(entries, current) else None


def _split(path: str) -> list[str]:
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


def _exists(entries: Mapping[str, Entry], path: str) -> bool:
    if path == "/" or path in entries:
        return True
    prefix = path.rstrip("/") + "/"
    return any(p.startswith(prefix) for p in entries)  # tars need not list folders themselves


def payload_paths(declared: Sequence[str], entrypoint: Sequence[str] | None) -> list[str]:
    """The catalog's payload with ``{entrypoint}`` replaced by the ENTRYPOINT's program."""
    program = entrypoint[0] if entrypoint else None
    paths: list[str] = []
    for declared_path in declared:
        if ENTRYPOINT in declared_path:
            if program is None:
                continue
            paths.append(declared_path.replace(ENTRYPOINT, program))
        else:
            paths.append(declared_path)
    return paths


def measure(entries: Mapping[str, Entry], paths: Iterable[str]) -> tuple[int, list[str]]:
    """Bytes of the regular files at or below ``paths`` (each counted once), and missing paths."""
    files: set[str] = set()
    missing: list[str] = []
    for path in paths:
        resolved = resolve(entries, path)
        if resolved is None:
            missing.append(path)
            continue
        entry = entries.get(resolved)
        if entry is not None and entry.kind in ("file", "hardlink"):
            files.add(_target(entries, resolved))
            continue
        prefix = resolved.rstrip("/") + "/"
        for name, below in entries.items():
            if name.startswith(prefix) and below.kind in ("file", "hardlink"):
                files.add(_target(entries, name))
    return sum(entries[p].size for p in files if p in entries), missing


def _target(entries: Mapping[str, Entry], path: str) -> str:
    entry = entries[path]
    return entry.link if entry.kind == "hardlink" and entry.link in entries else path


def total_file_bytes(entries: Mapping[str, Entry]) -> int:
    """Bytes of every regular file in the filesystem."""
    return sum(e.size for e in entries.values() if e.kind == "file")
