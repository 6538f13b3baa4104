"""A project that stagekit generated, read back from its answers file.

``stagekit new`` writes ``.stagekit.json`` into every project (:func:`record_data` is its layout):
the answers, the scaffold it came from and the part of the scaffold's catalog that smoke and lint
need (language, debugger port, health path, payload paths, concrete images per role). Reading that
file, rather than the scaffold, lets a project be judged long after, and far from, its scaffold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.contract import DOCKERFILE, RECORD_FILE
from stagekit.errors import NotAProjectError
from stagekit.filters import _split_reference
from stagekit.model import Base, Language
from stagekit.model.answers import Answers, check_port, parse_base, parse_language
from stagekit.model.catalog import Scaffold

#: The layout of the record this stagekit writes and reads. stagekit 0.1.0 wrote no
#: ``record_schema`` key (schema 1: no digests); schema 2 adds the scaffold's content digest, its
#: folder or commit, and a digest per file. A stagekit older than a record refuses it.
RECORD_SCHEMA = 2
_NEW_HINT = "run it inside a folder made by `stagekit new`, or pass that folder as PROJECT_DIR"


@dataclass(frozen=True)
class Project:
    """A generated project: where it is, what it was made from, and what its catalog says."""

    path: Path
    answers: Answers
    scaffold_name: str
    scaffold_version: str
    stagekit_version: str
    debug_port: int
    health_path: str
    payload: tuple[str, ...]
    images: Mapping[str, str] = field(default_factory=dict)
    pins: Mapping[str, str] = field(default_factory=dict)  # stagekit pin: name:tag → digest

    @property
    def name(self) -> str:
        return self.answers.project_name

    @property
    def language(self) -> Language:
        return self.answers.language

    @property
    def base(self) -> Base:
        return self.answers.base

    @property
    def port(self) -> int:
        return self.answers.port

    @property
    def dockerfile(self) -> Path:
        return self.path / DOCKERFILE

    def image(self, role: str) -> str:
        """The image of ``role`` as the build pulls it: ``name@digest`` once pinned."""
        reference = self.images.get(role, "scratch")
        digest = self.pins.get(reference)
        if digest is None:
            return reference
        return f"{_split_reference(reference)[0]}@{digest}"

    def payload_paths(self, entrypoint: str) -> tuple[str, ...]:
        """The payload's image paths with ``{entrypoint}`` replaced by the ENTRYPOINT's program.

        Without a program the placeholder stays, so the measurement reports it missing.
        """
        if not entrypoint:
            return self.payload
        return tuple(path.replace("{entrypoint}", entrypoint) for path in self.payload)


def record_data(
    scaffold: Scaffold,
    answers: Answers,
    registry: Mapping[str, Any] | None,
    extra: Mapping[str, Mapping[str, Any]],
    *,
    stagekit_version: str,
    scaffold_digest: str,
    files: Mapping[str, str],
) -> dict[str, Any]:
    """The record of a project made from ``scaffold`` and ``answers``; ``extra`` adds fields to
    its sections (``network``, ``scaffold.commit``)."""
    identity: dict[str, Any] = {
        "name": scaffold.name,
        "source": scaffold.source,
        "version": scaffold.scaffold_version,
        "digest": scaffold_digest,
    }
    if scaffold.source != "builtin" and not extra.get("scaffold", {}).get("commit"):
        identity["path"] = str(scaffold.path.absolute())
    record: dict[str, Any] = {
        "record_schema": RECORD_SCHEMA,
        "stagekit_version": stagekit_version,
        "scaffold": identity,
        "answers": answers.to_dict(),
        "files": dict(files),
        # What smoke and lint need to judge the project without the scaffold at hand.
        "catalog": {
            "language": scaffold.language.value,
            "debug_port": scaffold.debug_port,
            "health_path": scaffold.health_path,
            "payload": list(scaffold.payload_for(answers.base)),
            "images": scaffold.images_for(answers.base, answers.version, registry),
        },
    }
    if registry:
        record["registry"] = dict(registry)
    for section, fields in extra.items():
        record.setdefault(section, {}).update(fields)
    return record


def record_text(record: Mapping[str, Any]) -> str:
    """The record as the file holds it."""
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def load_project(path: Path) -> Project:
    """Read the project in ``path`` from its ``.stagekit.json``; refuse any other folder."""
    path = Path(path).absolute()
    if not path.exists():
        raise NotAProjectError(f"{path} does not exist", _NEW_HINT)
    if not path.is_dir():
        raise NotAProjectError(f"{path} is not a folder", _NEW_HINT)
    record_file = path / RECORD_FILE
    if not record_file.is_file():
        hint = _NEW_HINT
        parent = next((p for p in path.parents if (p / RECORD_FILE).is_file()), None)
        if parent is not None:
            hint = f"the stagekit project around it is {parent}: pass that folder"
        raise NotAProjectError(f"{path} is not a stagekit project: it has no {RECORD_FILE}", hint)
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotAProjectError(
            f"{record_file} cannot be read as JSON ({exc})",
            "restore it from version control, or regenerate the project with `stagekit new`",
        ) from None
    project = _from_record(path, record_file, record)
    if not project.dockerfile.is_file():
        raise NotAProjectError(
            f"{path} has no Dockerfile", "restore it, or regenerate the project with `stagekit new`"
        )
    return project


def _from_record(path: Path, record_file: Path, record: Any) -> Project:
    try:
        if not isinstance(record, dict):
            raise TypeError("the file must hold a JSON object")
        version = record.get("record_schema", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"record_schema {version!r} is not a positive integer")
        if version > RECORD_SCHEMA:
            raise NotAProjectError(
                f"{record_file} has record schema {version}; this stagekit reads up to "
                f"{RECORD_SCHEMA}",
                "upgrade stagekit (pipx upgrade stagekit) to work on this project",
            )
        answers = _answers(_mapping(record, "answers"))
        scaffold = _mapping(record, "scaffold")
        catalog = _mapping(record, "catalog")
        language = parse_language(catalog.get("language", answers.language.value))
        if language is not answers.language:
            raise ValueError(f"catalog language {language} differs from answer {answers.language}")
        images = _mapping(catalog, "images")
        payload = catalog.get("payload", ["{entrypoint}"])
        if not isinstance(payload, list) or not all(isinstance(p, str) for p in payload):
            raise TypeError("'catalog.payload' must be a list of paths")
        return Project(
            path=path,
            answers=answers,
            scaffold_name=str(scaffold.get("name", language.value)),
            scaffold_version=str(scaffold.get("version", "")),
            stagekit_version=str(record.get("stagekit_version", "")),
            debug_port=int(catalog["debug_port"]),
            health_path=_health_path(catalog.get("health_path", "/healthz")),
            payload=tuple(payload),
            images={str(role): str(ref) for role, ref in images.items()},
            pins={str(k): str(v) for k, v in (record.get("pins") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise NotAProjectError(
            f"{record_file} is not a valid stagekit answers file ({detail})",
            "restore it from version control, or regenerate the project with `stagekit new`",
        ) from None


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key!r} must be a JSON object")
    return value


def _answers(data: Mapping[str, Any]) -> Answers:
    module_path = data.get("module_path")
    return Answers(
        project_name=str(data["project_name"]),
        language=parse_language(data["language"]),
        base=parse_base(data["base"]),
        version=str(data["version"]),
        port=check_port(data["port"], debug_port=0),
        description=str(data.get("description", "")),
        owner=str(data.get("owner", "")),
        module_path=str(module_path) if module_path is not None else None,
    )


def _health_path(value: Any) -> str:
    text = str(value)
    if not text.startswith("/"):
        raise ValueError(f"health path {text!r} must start with '/'")
    return text
