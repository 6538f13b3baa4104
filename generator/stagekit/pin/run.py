"""``stagekit pin``: write the digest of every base image into the Dockerfile and the record.

:func:`pin` asks the registry (through a :class:`~stagekit.pin.resolve.Resolver`) for every
reference first and writes only when all answered, so a registry that is down changes nothing.
The digests go to ``.stagekit.json`` under ``pins`` (``name:tag`` → digest), which is what
``stagekit update`` applies to the renders it merges, so a pinned line is not a user edit.
:func:`check` writes nothing: it lists references that are unpinned or whose tag has moved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagekit.contract import DOCKERFILE, RECORD_FILE
from stagekit.errors import RegistryError
from stagekit.model.digest import file_digest
from stagekit.model.project import load_project, record_text
from stagekit.pin.refs import base_images, rewrite
from stagekit.pin.resolve import EngineResolver, Resolver

#: What a reference's state is after ``pin`` or under ``pin --check``.
PINNED = "pinned"  # carries the digest the tag has now
NEWLY_PINNED = "newly pinned"  # pin wrote its digest
REPINNED = "re-pinned"  # pin replaced a digest the tag no longer has
UNPINNED = "unpinned"  # --check: no digest
STALE = "stale"  # --check: the tag has moved on
UNVERIFIED = "unverified"  # --check: pinned, but no registry answered to compare
FAILING = frozenset({UNPINNED, STALE})


@dataclass(frozen=True)
class PinEntry:
    line: int
    reference: str  # name:tag
    state: str
    digest: str | None  # what the Dockerfile says now (after pin: what it was given)
    previous: str | None = None  # re-pinned: the digest it replaced; stale: the one it has


@dataclass(frozen=True)
class PinReport:
    project: Path
    entries: tuple[PinEntry, ...]
    checked: bool  # --check: nothing was written
    registry_error: str | None = None  # --check with no registry answering

    @property
    def failing(self) -> list[PinEntry]:
        return [e for e in self.entries if e.state in FAILING]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "checked": self.checked,
            "ok": not self.failing and self.registry_error is None,
            "registry_error": self.registry_error,
            "references": [
                {
                    "line": e.line,
                    "reference": e.reference,
                    "state": e.state,
                    "digest": e.digest,
                    "previous": e.previous,
                }
                for e in self.entries
            ],
        }

    def format(self) -> str:
        lines = []
        for e in self.entries:
            digest = f"@{e.digest[:19]}…" if e.digest else ""
            was = f" (was {e.previous[:19]}…)" if e.previous else ""
            lines.append(f"  {DOCKERFILE}:{e.line:<4} {e.state:<13} {e.reference}{digest}{was}")
        if self.registry_error:
            lines.append(f"  no registry answered: {self.registry_error}")
        return "\n".join(lines)


def pin(project: Path, resolver: Resolver | None = None) -> PinReport:
    """Pin every ``FROM`` image of ``project`` to the digest its registry serves for the tag."""
    loaded = load_project(project)
    dockerfile = loaded.path / DOCKERFILE
    text = dockerfile.read_text(encoding="utf-8")
    images = base_images(text)
    digests: dict[str, str] = {}
    with ExitStack() as own:
        asked = resolver or own.enter_context(EngineResolver())
        for image in images:  # every question first: a registry that fails changes nothing
            if image.ref.tagged not in digests:
                digests[image.ref.tagged] = asked.digest(image.ref)
    entries = []
    for image in images:
        now, had = digests[image.ref.tagged], image.ref.digest
        state = PINNED if had == now else REPINNED if had else NEWLY_PINNED
        entries.append(
            PinEntry(image.line, image.ref.tagged, state, now, had if had != now else None)
        )
    pinned = rewrite(text, digests)
    record_path = loaded.path / RECORD_FILE
    record = json.loads(record_path.read_text(encoding="utf-8"))
    new_record = with_pins(record, digests, text.encode(), pinned.encode())
    if pinned != text:
        _replace(dockerfile, pinned)
    if new_record != record:
        _replace(record_path, record_text(new_record))
    return PinReport(loaded.path, tuple(entries), checked=False)


def check(project: Path, resolver: Resolver | None = None) -> PinReport:
    """Which references are unpinned or stale; writes nothing."""
    loaded = load_project(project)
    images = base_images((loaded.path / DOCKERFILE).read_text(encoding="utf-8"))
    entries: list[PinEntry] = []
    error: str | None = None
    answers: dict[str, str] = {}
    with ExitStack() as own:
        asked = resolver or own.enter_context(EngineResolver())
        for image in images:
            ref = image.ref
            if ref.digest is not None and error is None and ref.tagged not in answers:
                try:
                    answers[ref.tagged] = asked.digest(ref)
                except RegistryError as exc:
                    error = exc.message
    for image in images:
        ref = image.ref
        if ref.digest is None:
            entries.append(PinEntry(image.line, ref.tagged, UNPINNED, None))
            continue
        now = answers.get(ref.tagged)
        if now is None:
            entries.append(PinEntry(image.line, ref.tagged, UNVERIFIED, ref.digest))
        elif now == ref.digest:
            entries.append(PinEntry(image.line, ref.tagged, PINNED, ref.digest))
        else:
            entries.append(PinEntry(image.line, ref.tagged, STALE, now, ref.digest))
    return PinReport(loaded.path, tuple(entries), checked=True, registry_error=error)


def with_pins(
    record: Mapping[str, Any], pins: Mapping[str, str], before: bytes, after: bytes
) -> dict[str, Any]:
    """The record with ``pins`` merged in; the Dockerfile's digest follows the pinned file when
    it was stagekit's own (a file the user edited stays an edit for ``stagekit update``)."""
    out = dict(record)
    merged = {**(record.get("pins") or {}), **pins}
    if merged:
        out["pins"] = dict(sorted(merged.items()))
    files = record.get("files")
    if isinstance(files, dict) and files.get(DOCKERFILE) == file_digest(before):
        out["files"] = {**files, DOCKERFILE: file_digest(after)}
    return out


def _replace(path: Path, text: str) -> None:
    """Write through a sibling file and a rename: a reader sees the old file or the new one."""
    temporary = path.with_name(f".{path.name}.stagekit-pin")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(path.stat().st_mode & 0o777)
    temporary.replace(path)
