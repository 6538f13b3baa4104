"""What ``.stagekit.json`` says about where a project came from, as ``stagekit update`` reads it.

Schema 1 (stagekit 0.1.0) recorded answers and the scaffold's name and version only: such a
project was made from revision 1.0.0 of a built-in scaffold. Schema 2 adds the scaffold's kind
(builtin, folder, git) with its content digest, path or commit, and a digest per generated file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.contract import RECORD_FILE
from stagekit.model.answers import Answers
from stagekit.model.project import load_project
from stagekit.update.shipped import FIRST_REVISION


@dataclass(frozen=True)
class Record:
    """A project's ``.stagekit.json``, with the fields update needs typed."""

    path: Path
    raw: Mapping[str, Any] = field(repr=False)
    answers: Answers
    kind: str  # builtin, folder or git
    name: str
    source: str
    version: str
    digest: str | None
    commit: str | None
    folder: Path | None
    files: Mapping[str, str] | None  # None: schema 1, no digests
    pending: tuple[str, ...]

    @property
    def registry(self) -> dict[str, Any] | None:
        value = self.raw.get("registry")
        return dict(value) if isinstance(value, dict) else None

    @property
    def pins(self) -> dict[str, str]:
        """``stagekit pin``'s digests by ``name:tag`` (empty when the project is not pinned)."""
        value = self.raw.get("pins")
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def network(self) -> dict[str, Any]:
        value = self.raw.get("network")
        return dict(value) if isinstance(value, dict) else {}

    def describe(self) -> str:
        where = {"builtin": "built-in", "folder": "folder", "git": "git"}[self.kind]
        at = f" @ {self.commit[:12]}" if self.commit else ""
        return f"{where} scaffold {self.name} {self.version}{at}"


def read_record(project: Path) -> Record:
    """Read (and validate, as every command does) the project's ``.stagekit.json``."""
    loaded = load_project(project)
    raw: dict[str, Any] = json.loads((loaded.path / RECORD_FILE).read_text(encoding="utf-8"))
    scaffold = raw.get("scaffold") or {}
    commit = scaffold.get("commit") or None
    source = str(scaffold.get("source", "builtin"))
    kind = "git" if commit else "builtin" if source == "builtin" else "folder"
    files = raw.get("files")
    folder = scaffold.get("path") or (source if kind == "folder" else None)
    return Record(
        path=loaded.path,
        raw=raw,
        answers=loaded.answers,
        kind=kind,
        name=str(scaffold.get("name", loaded.language.value)),
        source=source,
        version=str(scaffold.get("version") or FIRST_REVISION),
        digest=scaffold.get("digest"),
        commit=commit,
        folder=Path(folder) if folder else None,
        files=dict(files) if isinstance(files, dict) else None,
        pending=tuple(str(p) for p in raw.get("pending") or ()),
    )
