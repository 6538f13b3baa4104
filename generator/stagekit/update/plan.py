"""An update's plan: each file's outcome, the new record, and their text, JSON and diff forms."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagekit.model.project import record_text
from stagekit.update.merge import CONFLICTS, Change, Status, is_binary


@dataclass(frozen=True)
class Plan:
    """What an update does to a project, computed off-tree before anything is written."""

    project: Path
    mode: str  # "three-way", or "two-way" when BASE could not be had
    current: str
    target: str
    changes: tuple[Change, ...]
    record: dict[str, Any]  # the .stagekit.json to write once no conflict remains
    notes: tuple[str, ...] = ()  # pins: what re-pinning THEIRS did

    @property
    def conflicts(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes if c.status in CONFLICTS)

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.status is not Status.KEPT_DELETED)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "mode": self.mode,
            "from": self.current,
            "to": self.target,
            "files": [
                {
                    "path": c.path,
                    "status": c.status.value,
                    **({"from_path": c.old_path} if c.old_path else {}),
                    **({"note": c.note} if c.note else {}),
                }
                for c in self.changes
            ],
            "conflicts": list(self.conflicts),
            "notes": list(self.notes),
        }

    def format_text(self) -> str:
        lines = [f"stagekit update: {self.current} -> {self.target} ({self.mode})"]
        if self.mode == "two-way":
            lines.append(
                "  two-way mode: the old scaffold revision is gone, so files you changed are"
                " conflicts and untouched ones (by recorded digest) take the new version"
            )
        if not self.changes:
            lines.append("  nothing to do: the project matches the scaffold")
        width = max((len(c.status.value) for c in self.changes), default=0)
        for change in self.changes:
            moved = f" (from {change.old_path})" if change.old_path else ""
            note = f"  - {change.note}" if change.note else ""
            lines.append(f"  {change.status.value:<{width}}  {change.path}{moved}{note}")
        lines += [f"  pins: {note}" for note in self.notes]
        return "\n".join(lines)

    def format_markdown(self) -> str:
        """The report as a pull-request body (``update --ci``)."""
        lines = [f"Scaffold update: **{self.current}** → **{self.target}** ({self.mode})", ""]
        if self.mode == "two-way":
            lines += ["The old scaffold revision is gone: files changed locally are conflicts.", ""]
        lines += [
            f"- `{c.status.value}` {c.path}"
            + (f" (from {c.old_path})" if c.old_path else "")
            + (f": {c.note}" if c.note else "")
            for c in self.changes
        ] or ["Nothing changed in the files."]
        lines += [f"- pins: {note}" for note in self.notes]
        if self.conflicts:
            lines += [
                "",
                f"**{len(self.conflicts)} conflict(s)** are committed with their markers and listed"
                " as `pending` in `.stagekit.json` (`stagekit lint` fails until they are resolved):"
                " resolve them on this branch, then run `stagekit update --continue`.",
            ]
        return "\n".join(lines)

    def unified_diff(self) -> str:
        """The diff the plan applies to the working tree (what --dry-run shows)."""
        out: list[str] = []
        for change in self.writes:
            sources = [(change.old_path, None)] if change.old_path else []
            for path, after in [*sources, (change.path, change.result)]:
                before_file = self.project / path if path else None
                before = before_file.read_bytes() if before_file and before_file.is_file() else b""
                out.extend(file_diff(path or change.path, before, after or b""))
        return "".join(out)


def file_diff(path: str, before: bytes, after: bytes) -> list[str]:
    if before == after:
        return []
    if is_binary(before, after):
        return [f"Binary files a/{path} and b/{path} differ\n"]
    lines = difflib.unified_diff(
        before.decode(errors="replace").splitlines(keepends=True),
        after.decode(errors="replace").splitlines(keepends=True),
        f"a/{path}",
        f"b/{path}",
    )
    return [
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    ]


def dump_record(record: dict[str, Any]) -> bytes:
    return record_text(record).encode()
