"""The per-file three-way merge (and the two-way fallback), computed entirely off-tree.

Files are paired by the scaffold file that produced them, so ``cmd/<old name>/main.go`` meets
``cmd/<new name>/main.go``. Every case is explicit; whenever the user's bytes and the scaffold's
disagree in a way that cannot be merged, the user's bytes stay and the file is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from stagekit.model.digest import file_digest
from stagekit.update.base import Rendered
from stagekit.update.gitrepo import merge_text

_SNIFF = 8000


class Status(StrEnum):
    UPDATED = "updated"  # the scaffold's new version replaced an untouched file
    MERGED = "merged"  # both sides changed; merged cleanly
    CONFLICT = "conflict"  # both sides changed; standard conflict markers, or the user's file kept
    KEPT_DELETED = "kept-deleted"  # the user deleted it; it stays deleted
    ADDED = "added"  # new in the scaffold
    REMOVED = "removed"  # the scaffold dropped it and the user had not changed it
    BINARY_CONFLICT = "binary-conflict"  # a binary file both sides changed; the user's bytes kept
    RESTORED = "restored"  # brought back by --restore
    MOVED = "moved"  # an answer renamed its path; the user's content moved with it


CONFLICTS = frozenset({Status.CONFLICT, Status.BINARY_CONFLICT})


@dataclass(frozen=True)
class Change:
    """One file's outcome: where it ends up, and the bytes to write there (None: delete)."""

    path: str
    status: Status
    result: bytes | None
    old_path: str | None = None  # removed when the file moved (answer-driven rename)
    mode: int | None = None  # for files the update creates
    base: bytes | None = None  # the three sides, for the index stages of a conflict
    ours: bytes | None = None
    theirs: bytes | None = None
    note: str = ""


@dataclass(frozen=True)
class Labels:
    ours: str
    base: str
    theirs: str


def is_binary(*sides: bytes | None) -> bool:
    return any(side is not None and b"\0" in side[:_SNIFF] for side in sides)


def _read(project: Path, relative: str) -> bytes | None:
    path = project / relative
    return path.read_bytes() if path.is_file() else None


def three_way(
    project: Path,
    base: Rendered,
    theirs: Rendered,
    labels: Labels,
    restore: frozenset[str] = frozenset(),
) -> list[Change]:
    """Compare BASE, the working tree (OURS) and THEIRS key by key."""
    changes: list[Change] = []
    for key in sorted(set(base.paths) | set(theirs.paths)):
        old = base.paths.get(key)
        new = theirs.paths.get(key)
        b = base.read(key) if old else None
        t = theirs.read(key) if new else None
        o = _read(project, old) if old else None
        change = _one(project, old, new, b=b, o=o, t=t, labels=labels, restore=restore)
        if change is not None:
            if change.mode is None and new is not None and change.result is not None:
                change = _with_mode(change, theirs.mode(key))
            changes.append(change)
    return changes


def _with_mode(change: Change, mode: int) -> Change:
    from dataclasses import replace

    return replace(change, mode=mode)


def _one(
    project: Path,
    old: str | None,
    new: str | None,
    *,
    b: bytes | None,
    o: bytes | None,
    t: bytes | None,
    labels: Labels,
    restore: frozenset[str],
) -> Change | None:
    if old is None and new is not None:  # the scaffold added it
        existing = _read(project, new)
        if existing is None:
            return Change(new, Status.ADDED, t)
        if existing == t:
            return None
        return _conflict(
            new, None, existing, t, labels=labels, note="the scaffold added a file you have"
        )
    if new is None and old is not None:  # the scaffold removed it
        if o is None:
            return None
        if o == b:
            return Change(old, Status.REMOVED, None)
        return _conflict(
            old, b, o, None, labels=labels, note="the scaffold removed it; your edits are kept"
        )
    assert old is not None and new is not None
    moved = old != new
    if o is None:  # the user deleted it
        if new in restore or old in restore:
            return Change(new, Status.RESTORED, t)
        return Change(
            new, Status.KEPT_DELETED, None, note="deleted locally; --restore brings it back"
        )
    if moved and _read(project, new) is not None:
        return _conflict(
            new, b, _read(project, new), t, labels=labels, note=f"renamed from {old} onto a file"
        )
    old_path = old if moved else None
    if o == t:
        return Change(new, Status.MOVED, o, old_path) if moved else None
    if o == b:
        return Change(new, Status.UPDATED, t, old_path)
    if t == b:
        return Change(new, Status.MOVED, o, old_path, note="your edits moved") if moved else None
    if is_binary(b, o, t):
        return Change(
            new,
            Status.BINARY_CONFLICT,
            o,
            old_path,
            base=b,
            ours=o,
            theirs=t,
            note="binary file changed on both sides: your bytes kept",
        )
    merged, conflicted = merge_text(
        o, b or b"", t or b"", (labels.ours, labels.base, labels.theirs)
    )
    if conflicted:
        return Change(new, Status.CONFLICT, merged, old_path, base=b, ours=o, theirs=t)
    return Change(new, Status.MERGED, merged, old_path)


def _conflict(
    path: str, b: bytes | None, o: bytes | None, t: bytes | None, *, labels: Labels, note: str
) -> Change:
    if o is None:
        return Change(path, Status.CONFLICT, t, base=b, theirs=t, note=note)
    if t is None or is_binary(b, o, t):
        status = Status.BINARY_CONFLICT if is_binary(b, o, t) else Status.CONFLICT
        return Change(path, status, o, base=b, ours=o, theirs=t, note=note)
    merged, _ = merge_text(o, b or b"", t, (labels.ours, labels.base, labels.theirs))
    return Change(path, Status.CONFLICT, merged, base=b, ours=o, theirs=t, note=note)


def two_way(
    project: Path, digests: Mapping[str, str], theirs: Rendered, labels: Labels
) -> list[Change]:
    """Without BASE: a file whose bytes still match its recorded digest is untouched."""
    changes: list[Change] = []
    paths = {relative: key for key, relative in theirs.paths.items()}
    for relative in sorted(set(digests) | set(paths)):
        o = _read(project, relative)
        t = theirs.read(paths[relative]) if relative in paths else None
        untouched = o is not None and file_digest(o) == digests.get(relative)
        if t is None:
            if o is None:
                continue
            if untouched:
                changes.append(Change(relative, Status.REMOVED, None))
            elif relative in digests:
                changes.append(
                    Change(relative, Status.CONFLICT, o, ours=o, note="removed by the scaffold")
                )
            continue
        if o is None:
            if relative in digests:
                changes.append(Change(relative, Status.KEPT_DELETED, None))
            else:
                changes.append(Change(relative, Status.ADDED, t, mode=theirs.mode(paths[relative])))
            continue
        if o == t:
            continue
        if untouched:
            changes.append(Change(relative, Status.UPDATED, t))
        else:
            changes.append(
                _conflict(relative, None, o, t, labels=labels, note="two-way: changed locally")
            )
    return changes
