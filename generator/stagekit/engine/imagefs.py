"""An image's flattened filesystem, read from ``docker export``: paths, sizes, where links lead.

``stagekit smoke`` and the benchmarks both measure a release image's payload here, so the figure
the smoke report prints and the one ``docs/benchmarks.md`` commits are the same computation: the
regular files at or below each payload path, symlinks followed inside the image, every file
(and every hard link to it) counted once.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The PATH a container gets when its image sets none (the engine's default).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class FsEntry:
    kind: str  # file, dir, symlink, hardlink, other
    size: int = 0
    link: str = ""  # a symlink's target as written; a hard link's as an absolute path


def normalize(name: str) -> str:
    """A tar member name as an absolute path: ``./usr/bin/`` → ``/usr/bin``."""
    return posixpath.normpath("/" + name.removeprefix("./").strip("/"))


def scan_tar(stream: io.RawIOBase | io.BufferedIOBase) -> dict[str, FsEntry]:
    """Every path of a flattened filesystem tar, read as a stream (never held whole)."""
    entries: dict[str, FsEntry] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if member.isreg():
                entry = FsEntry("file", member.size)
            elif member.isdir():
                entry = FsEntry("dir")
            elif member.issym():
                entry = FsEntry("symlink", 0, member.linkname)
            elif member.islnk():
                entry = FsEntry("hardlink", 0, normalize(member.linkname))
            else:
                entry = FsEntry("other")
            entries[normalize(member.name)] = entry
    return entries


class ChunkStream(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (the SDK's export generator)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def resolve_path(entries: Mapping[str, FsEntry], path: str, limit: int = 40) -> str | None:
    """``path`` with every symlink in it followed inside the image; ``None`` on a loop.

    ``..`` is applied to the path walked so far, after the links in it were followed, as the
    kernel does; the result need not exist.
    """
    parts = [p for p in path.split("/") if p]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = "/" + "/".join([*resolved, part])
        entry = entries.get(candidate)
        if entry is not None and entry.kind == "symlink":
            hops += 1
            if hops > limit:
                return None
            if entry.link.startswith("/"):
                resolved = []
            parts = [p for p in entry.link.split("/") if p] + parts
            continue
        resolved.append(part)
    return "/" + "/".join(resolved)


def _file_of(entries: Mapping[str, FsEntry], path: str) -> str | None:
    """The path holding the bytes of the regular file at ``path`` (a hard link's target)."""
    entry = entries.get(path)
    if entry is None:
        return None
    if entry.kind == "file":
        return path
    if entry.kind == "hardlink":
        target = entries.get(entry.link)
        return entry.link if target is not None and target.kind == "file" else None
    return None


def which(entries: Mapping[str, FsEntry], program: str, path_env: str = DEFAULT_PATH) -> str:
    """Where the runtime finds ``program`` (absolute, or looked up in PATH)."""
    if "/" in program:
        return program
    for folder in path_env.split(":"):
        candidate = f"{folder.rstrip('/')}/{program}"
        resolved = resolve_path(entries, candidate)
        if resolved is not None and _file_of(entries, resolved) is not None:
            return candidate
    return program


def entrypoint_program(entries: Mapping[str, FsEntry], config: Mapping[str, Any]) -> str:
    """The program an image's ENTRYPOINT starts, found as the runtime would; "" when none."""
    entrypoint: Sequence[str] = config.get("Entrypoint") or []
    if not entrypoint:
        return ""
    env = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
    return which(entries, entrypoint[0], env.get("PATH", DEFAULT_PATH))


def measure_payload(
    entries: Mapping[str, FsEntry], paths: Iterable[str]
) -> tuple[int, tuple[str, ...]]:
    """Bytes of the regular files at or below ``paths`` (each counted once), and missing paths."""
    files: set[str] = set()
    missing: list[str] = []
    for path in paths:
        resolved = resolve_path(entries, path)
        if resolved is None:
            missing.append(path)
            continue
        found = _file_of(entries, resolved)
        if found is not None:
            files.add(found)
            continue
        # A folder (tars need not list folders themselves): every regular file below it.
        prefix = resolved.rstrip("/") + "/"
        below = [p for p in entries if p.startswith(prefix)]
        if resolved not in entries and not below:
            missing.append(path)
        files.update(f for f in (_file_of(entries, p) for p in below) if f is not None)
    return sum(entries[p].size for p in files), tuple(missing)


def total_file_bytes(entries: Mapping[str, FsEntry]) -> int:
    """Bytes of every regular file in the filesystem (hard links add nothing)."""
    return sum(e.size for e in entries.values() if e.kind == "file")
