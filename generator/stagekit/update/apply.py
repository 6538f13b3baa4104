"""The write phase of an update, and the ``--abort`` / ``--continue`` that follow a conflict.

Before the first byte is written, the state of every file the update touches is saved in the git
directory (``stagekit-update/state.json``, contents as git blobs), so ``--abort`` puts back exactly
what was there. SIGINT is deferred while files are written: an interrupted update is either not
started or complete, never half-written.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from stagekit.contract import RECORD_FILE
from stagekit.errors import UpdateError
from stagekit.update.gitrepo import Repo
from stagekit.update.merge import CONFLICTS
from stagekit.update.plan import Plan, dump_record

STATE_DIR = "stagekit-update"
#: Tests set it to a phase name ("merge" or "write") to pause there and interrupt the update.
PAUSE_ENV = "STAGEKIT_TEST_PAUSE_AT"
_MARKER = re.compile(rb"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)


def pause_for_tests(phase: str) -> None:
    """A test-only pause (docs/update.md): say where, then sleep so a test can send SIGINT."""
    if os.environ.get(PAUSE_ENV) == phase:
        print(f"stagekit-test-paused: {phase}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("STAGEKIT_TEST_PAUSE_SECONDS", "3")))


def has_markers(data: bytes) -> bool:
    return _MARKER.search(data) is not None


@contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold SIGINT until the block ends, then raise KeyboardInterrupt if one came."""
    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def state_file(repo: Repo) -> Path:
    name = repo.prefix.strip("/").replace("/", "__") or "root"
    return repo.git_dir / STATE_DIR / f"{name}.json"


@dataclass(frozen=True)
class Applied:
    conflicts: tuple[str, ...]
    record_written: bool


def apply(plan: Plan, repo: Repo, *, ci: bool) -> Applied:
    """Write the plan; record conflicts in git's index (or, with ``ci``, as ``pending``)."""
    project = plan.project
    touched = sorted(
        {c.path for c in plan.writes}
        | {c.old_path for c in plan.writes if c.old_path}
        | {RECORD_FILE}
    )
    state = {"paths": {p: _saved(repo, project / p) for p in touched}, "record": plan.record}
    conflicts = plan.conflicts
    record = dict(plan.record)
    if ci and conflicts:
        record["pending"] = list(conflicts)
    with deferred_sigint():
        state_path = state_file(repo)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        _write(state_path, json.dumps(state, indent=2).encode(), None)
        for index, change in enumerate(plan.writes):
            if change.old_path:
                _remove(project, change.old_path)
            target = project / change.path
            if change.result is None:
                _remove(project, change.path)
            else:
                _write(target, change.result, change.mode)
            if index == 0:
                pause_for_tests("write")
        changed = [p for p in touched if p != RECORD_FILE]
        write_record = ci or not conflicts
        if write_record:
            _write(project / RECORD_FILE, dump_record(record), None)
            changed.append(RECORD_FILE)
        repo.stage(changed)
        if not ci:
            for change in plan.changes:
                if change.status in CONFLICTS:
                    repo.record_conflict(change.path, change.base, change.ours, change.theirs)
        if write_record:
            state_path.unlink()
    return Applied(conflicts, write_record)


def _saved(repo: Repo, path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"exists": False}
    return {
        "exists": True,
        "blob": repo.hash_object(path.read_bytes()),
        "mode": path.stat().st_mode & 0o777,
    }


def _remove(project: Path, relative: str) -> None:
    """Delete a file, and the folders it leaves empty (git does not track folders)."""
    path = project / relative
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != project and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _write(path: Path, data: bytes, mode: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.stagekit-tmp")
    temporary.write_bytes(data)
    if mode is not None:
        temporary.chmod(mode)
    elif path.exists():
        temporary.chmod(path.stat().st_mode & 0o777)
    temporary.replace(path)


def _load_state(repo: Repo) -> dict[str, Any] | None:
    path = state_file(repo)
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def in_progress(repo: Repo) -> bool:
    return state_file(repo).is_file()


def abort(repo: Repo) -> list[str]:
    """Put back every file the interrupted update touched, and git's index for them."""
    state = _load_state(repo)
    if state is None:
        raise UpdateError("no stagekit update is in progress here", "nothing to abort")
    paths = sorted(state["paths"])
    with deferred_sigint():
        for relative, saved in state["paths"].items():
            target = repo.project / relative
            if saved["exists"]:
                _write(target, repo.cat(saved["blob"]), int(saved["mode"]))
            else:
                _remove(repo.project, relative)
        repo.run("reset", "--quiet", "--", *paths, check=False)
        state_file(repo).unlink()
    return paths


def finish(repo: Repo) -> list[str]:
    """``--continue``: refuse while markers or unmerged entries remain, then advance the record."""
    state = _load_state(repo)
    record_path = repo.project / RECORD_FILE
    current = json.loads(record_path.read_text(encoding="utf-8"))
    pending = list(current.get("pending") or [])
    if state is None and not pending:
        raise UpdateError("no stagekit update is in progress here", "nothing to continue")
    candidates = sorted(set(pending) | set(repo.unmerged()) | set(state["paths"] if state else ()))
    marked = [
        p
        for p in candidates
        if (repo.project / p).is_file() and has_markers((repo.project / p).read_bytes())
    ]
    if marked:
        raise UpdateError(
            f"conflict markers remain in: {', '.join(marked)}",
            "resolve them, then run stagekit update --continue again",
        )
    record = dict(state["record"]) if state else current
    record.pop("pending", None)
    with deferred_sigint():
        _write(record_path, dump_record(record), None)
        resolved = [p for p in candidates if p != RECORD_FILE]
        repo.stage([*resolved, RECORD_FILE])
        if state is not None:
            state_file(repo).unlink()
    return resolved
