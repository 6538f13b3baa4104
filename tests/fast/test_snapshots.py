"""Snapshots of what users read: the rendered Dockerfile and README of every language x base.

Any change to them shows up in review as a diff of tests/snapshots/. After an intended change,
rewrite them and review the diff:

    STAGEKIT_UPDATE_SNAPSHOTS=1 python -m pytest tests/fast/test_snapshots.py

A missing snapshot fails (it never passes silently); so does a snapshot no combination produces.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.helpers import ALL_COMBINATIONS, REPO, render_project

SNAPSHOTS = REPO / "tests" / "snapshots"
FILES = ("Dockerfile", "README.md")
UPDATE = os.environ.get("STAGEKIT_UPDATE_SNAPSHOTS") == "1"
HOW = "STAGEKIT_UPDATE_SNAPSHOTS=1 python -m pytest tests/fast/test_snapshots.py"


def snapshot_path(lang: str, base: str, name: str) -> Path:
    """``tests/snapshots/go-scratch.Dockerfile``, ``tests/snapshots/go-scratch.README.md``."""
    return SNAPSHOTS / f"{lang}-{base}.{name}"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def compare(snapshot: Path, actual: str) -> str | None:
    """Why ``actual`` does not match the snapshot (a message with a diff), or None."""
    if not snapshot.is_file():
        return f"no snapshot {_shown(snapshot)}: create it with `{HOW}` and review it"
    expected = snapshot.read_text(encoding="utf-8")
    if expected == actual:
        return None
    lines = list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{snapshot.name} (snapshot)",
            tofile=f"{snapshot.name} (rendered now)",
        )
    )
    shown = "".join(lines[:80])
    if len(lines) > 80:
        shown += f"... {len(lines) - 80} more diff lines\n"
    return f"{_shown(snapshot)} changed; if intended, run `{HOW}`:\n{shown}"


@pytest.mark.parametrize(
    ("lang", "base"), ALL_COMBINATIONS, ids=[f"{lang}-{base}" for lang, base in ALL_COMBINATIONS]
)
def test_rendered_files_match_their_snapshots(tmp_path: Path, lang: str, base: str) -> None:
    project = render_project(tmp_path, lang, base=base)
    problems = []
    for name in FILES:
        rendered = project / name
        if not rendered.is_file():
            problems.append(f"{lang}/{base} renders no {name}")
            continue
        actual = rendered.read_text(encoding="utf-8")
        snapshot = snapshot_path(lang, base, name)
        if UPDATE:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            snapshot.write_text(actual, encoding="utf-8")
            continue
        problem = compare(snapshot, actual)
        if problem:
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


def test_no_snapshot_is_orphaned() -> None:
    """A snapshot of a combination that no longer exists would never be compared again."""
    expected = {
        snapshot_path(lang, base, name).name for lang, base in ALL_COMBINATIONS for name in FILES
    }
    present = {p.name for p in SNAPSHOTS.glob("*") if p.is_file()} if SNAPSHOTS.is_dir() else set()
    orphans = sorted(present - expected)
    if UPDATE:
        for name in orphans:
            (SNAPSHOTS / name).unlink()
        return
    assert not orphans, f"snapshots no combination renders (delete them, or run `{HOW}`): {orphans}"


def test_a_missing_or_changed_snapshot_fails_with_instructions(tmp_path: Path) -> None:
    """The comparison itself can fail: an absent file, a changed line."""
    absent = compare(tmp_path / "go-scratch.Dockerfile", "FROM scratch\n")
    assert absent is not None and "no snapshot" in absent and HOW in absent
    snapshot = tmp_path / "go-scratch.Dockerfile"
    snapshot.write_text("FROM scratch AS release\nUSER 65532:65532\n", encoding="utf-8")
    changed = compare(snapshot, "FROM scratch AS release\nUSER 0\n")
    assert changed is not None and "-USER 65532:65532" in changed and "+USER 0" in changed
    assert compare(snapshot, "FROM scratch AS release\nUSER 65532:65532\n") is None
