"""``stagekit update``, ``check`` and ``diff`` as library calls: typed in, typed results out.

Order of an update: read the record, refuse a dirty tree, render BASE and THEIRS off-tree,
merge every file off-tree (the plan), then, unless ``dry_run``, the write phase. Nothing is written
before the plan is complete, so an error or Ctrl-C before the write phase changes no byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagekit.contract import RECORD_FILE
from stagekit.errors import AnswersFileError, DirtyTreeError, UpdateError
from stagekit.model.answers import normalize_keys, validate
from stagekit.model.digest import tree_digest
from stagekit.update import apply as applying
from stagekit.update.base import Rendered, base_scaffold, render, target_scaffold, workspace
from stagekit.update.gitrepo import open_repo
from stagekit.update.merge import Labels, three_way, two_way
from stagekit.update.plan import Plan, file_diff
from stagekit.update.record import Record, read_record

#: Answers that never change on update: the language is the scaffold's.
_FIXED = frozenset({"language"})


@dataclass(frozen=True)
class UpdateResult:
    plan: Plan
    written: bool
    conflicts: tuple[str, ...]


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``--set key=value`` pairs, keys as ``new``'s flags and answers files name them."""
    raw: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AnswersFileError(f"--set {item!r}: expected KEY=VALUE", "e.g. --set port=9090")
        raw[key.strip()] = value
    sets = normalize_keys(raw, "--set")
    fixed = sorted(set(sets) & _FIXED)
    if fixed:
        raise AnswersFileError(
            f"--set {fixed[0]}: cannot change on update", "generate a new project instead"
        )
    return sets


def plan_update(
    project: Path,
    *,
    sets: Mapping[str, Any] | None = None,
    scaffold: str | None = None,
    restore: Sequence[str] = (),
    check_clean: bool = True,
) -> Plan:
    """Compute the whole update off-tree; write nothing."""
    record = read_record(project)
    repo = open_repo(record.path)
    if applying.in_progress(repo):
        raise UpdateError(
            "a stagekit update is in progress here",
            "resolve the conflicts and run stagekit update --continue, or --abort",
        )
    if record.pending:
        raise UpdateError(
            f"conflicts of the last update are pending: {', '.join(record.pending)}",
            "resolve them, then run stagekit update --continue",
        )
    with target_scaffold(record, scaffold) as (target, commit), workspace() as tmp:
        merged = {**record.answers.to_dict(), **(sets or {})}
        answers = validate(target, merged)
        theirs = render(target, answers, record, tmp / "theirs", commit=commit, repin=True)
        with base_scaffold(record) as base_source:
            base: Rendered | None = None
            if base_source is not None:
                base = render(
                    base_source, record.answers, record, tmp / "base", commit=record.commit
                )
            if base is None and record.files is None:
                raise UpdateError(
                    f"the scaffold revision of this project is gone ({record.describe()})"
                    " and the project records no file digests",
                    "point --scaffold at that revision's folder, or regenerate the project",
                )
            old_paths = set(base.paths.values()) if base else set(record.files or {})
            managed = set(theirs.paths.values()) | old_paths
            managed.add(RECORD_FILE)
            if check_clean:
                dirty = repo.dirty(sorted(managed))
                if dirty:
                    raise DirtyTreeError(dirty)
            target_name = f"{target.name} {target.scaffold_version}"
            if commit:
                target_name += f" @ {commit[:12]}"
            labels = Labels(
                "ours (your project)",
                f"base ({record.describe()})",
                f"theirs ({target_name})",
            )
            if base is not None:
                changes = three_way(record.path, base, theirs, labels, frozenset(restore))
                mode = "three-way"
            else:
                changes = two_way(record.path, record.files or {}, theirs, labels)
                mode = "two-way"
        new_record = _next_record(record, json.loads(theirs.record))
    return Plan(
        record.path, mode, record.describe(), target_name, tuple(changes), new_record, theirs.notes
    )


def _next_record(record: Record, rendered: dict[str, Any]) -> dict[str, Any]:
    """THEIRS's record, keeping what the old record says that a render does not produce."""
    out = dict(rendered)
    for key, value in record.raw.items():
        if key not in out and key != "pending":
            out[key] = value
    return out


def update(
    project: Path,
    *,
    sets: Mapping[str, Any] | None = None,
    scaffold: str | None = None,
    restore: Sequence[str] = (),
    ci: bool = False,
    dry_run: bool = False,
) -> UpdateResult:
    """Plan, then (unless ``dry_run``) write; conflicts stay in git's index, or as ``pending``."""
    plan = plan_update(project, sets=sets, scaffold=scaffold, restore=restore)
    applying.pause_for_tests("merge")
    if dry_run:
        return UpdateResult(plan, False, plan.conflicts)
    if not plan.changes and not _record_changes(plan):
        return UpdateResult(plan, False, ())
    repo = open_repo(plan.project)
    applied = applying.apply(plan, repo, ci=ci)
    return UpdateResult(plan, True, applied.conflicts)


def _record_changes(plan: Plan) -> bool:
    current = json.loads((plan.project / RECORD_FILE).read_text(encoding="utf-8"))
    keys = ("scaffold", "answers", "record_schema", "files")
    return any(current.get(k) != plan.record.get(k) for k in keys)


def abort(project: Path) -> list[str]:
    record = read_record(project)
    return applying.abort(open_repo(record.path))


def resume(project: Path) -> list[str]:
    record = read_record(project)
    return applying.finish(open_repo(record.path))


@dataclass(frozen=True)
class UpdateStatus:
    """Where a project stands against its scaffold (`stagekit update --check`)."""

    project: Path
    current: str
    latest: str
    behind: bool
    pending: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "current": self.current,
            "latest": self.latest,
            "behind": self.behind,
            "pending": list(self.pending),
        }


def check(project: Path, *, scaffold: str | None = None) -> UpdateStatus:
    """Whether the project is behind its scaffold (by revision and content), writing nothing."""
    record = read_record(project)
    with target_scaffold(record, scaffold) as (target, commit):
        if record.kind == "git":
            behind = commit != record.commit
        else:
            digest = tree_digest(target.path)
            behind = target.scaffold_version != record.version or (
                record.digest is not None and digest != record.digest
            )
        latest = f"{target.name} {target.scaffold_version}" + (
            f" @ {commit[:12]}" if commit else ""
        )
    return UpdateStatus(record.path, record.describe(), latest, behind, record.pending)


def drift(project: Path) -> str:
    """The unified diff from the project's BASE to its working tree (``stagekit diff``)."""
    record = read_record(project)
    with workspace() as tmp, base_scaffold(record) as source:
        if source is None:
            raise UpdateError(
                f"the scaffold revision this project was made from is gone ({record.describe()})",
                "stagekit diff needs BASE; see docs/update.md",
            )
        base = render(source, record.answers, record, tmp, commit=record.commit)
        out: list[str] = []
        for key in sorted(base.paths, key=lambda k: base.paths[k]):
            relative = base.paths[key]
            mine = record.path / relative
            out.extend(
                file_diff(relative, base.read(key), mine.read_bytes() if mine.is_file() else b"")
            )
    return "".join(out)
