"""Rendering a scaffold into a new project, all or nothing.

cookiecutter renders into a staging folder beside the destination (same filesystem), and the result
is moved into place only when everything succeeded; any failure, or Ctrl-C, removes the staging
folder, so nothing is left behind. cookiecutter's config and replay files live in that staging
folder too, never in the user's home.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagekit import __version__
from stagekit.contract import RECORD_FILE
from stagekit.errors import DestinationError, RenderError
from stagekit.model import is_scaffold_content
from stagekit.model.answers import Answers
from stagekit.model.catalog import Scaffold
from stagekit.model.digest import project_digests, tree_digest
from stagekit.model.project import record_data, record_text

#: Answer keys cookiecutter treats as choice lists; they are matched against the choices as is.
_CHOICE_KEYS = frozenset({"base", "version"})


@dataclass(frozen=True)
class NewResult:
    """What ``stagekit new`` produced."""

    path: Path
    answers: Answers
    scaffold: Scaffold
    written: tuple[str, ...]
    kept: tuple[
        str, ...
    ] = ()  # existing files left untouched (``--force`` without ``--overwrite``)


def jinja_literal(text: str) -> str:
    """A Jinja expression that evaluates to ``text`` and can contain no template syntax.

    cookiecutter renders every ``extra_context`` value as a template; a string literal made only of
    ``\\u`` escapes turns that rendering into the identity, so free text is never evaluated.
    """
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}" for c in text)
    return '{{ "' + escaped + '" }}'


def extra_context(answers: Answers, registry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``extra_context`` handed to cookiecutter for these answers."""
    context: dict[str, Any] = {
        key: value if key in _CHOICE_KEYS else jinja_literal(value)
        for key, value in answers.context().items()
    }
    if registry:
        context["_registry"] = dict(registry)
    return context


def generate(
    scaffold: Scaffold,
    answers: Answers,
    dest: Path,
    *,
    force: bool = False,
    overwrite: bool = False,
    registry: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, str] | None = None,
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> NewResult:
    """Render ``scaffold`` with ``answers`` into ``dest``: everything, or nothing on failure.

    ``extra_files`` (relative path → text) are written beside the rendered files (a scaffold may
    not ship them itself); ``record`` adds fields to the sections of ``.stagekit.json``.
    """
    dest = dest.absolute()
    _check_destination(dest, force)
    parent = dest.parent
    staging = Path(tempfile.mkdtemp(prefix=".stagekit-", dir=parent))
    try:
        rendered = _render(scaffold, answers, staging, registry)
        _drop_foreign_files(rendered)
        _write_extra_files(rendered, scaffold, extra_files or {})
        _write_answers_file(rendered, scaffold, answers, registry, record or {})
        written = tuple(sorted(_relative_files(rendered)))
        kept = _place(rendered, dest, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return NewResult(
        path=dest,
        answers=answers,
        scaffold=scaffold,
        written=tuple(f for f in written if f not in kept),
        kept=kept,
    )


def _check_destination(dest: Path, force: bool) -> None:
    if not dest.parent.is_dir():
        raise DestinationError(
            f"parent folder {dest.parent} does not exist", "create it first, or choose another DEST"
        )
    if dest.exists() and not dest.is_dir():
        raise DestinationError(f"destination {dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DestinationError(
            f"destination {dest} exists and is not empty",
            "choose a new folder, or pass --force to add the scaffold's files"
            " (existing files are kept unless --overwrite)",
        )
    if not os.access(dest.parent, os.W_OK):
        raise DestinationError(f"cannot write to {dest.parent}")


def _render(
    scaffold: Scaffold, answers: Answers, staging: Path, registry: Mapping[str, Any] | None
) -> Path:
    # Imported here: cookiecutter is the slowest import stagekit has, and only `new` needs it.
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter
    from jinja2 import TemplateError

    home = staging / ".cookiecutter"
    home.mkdir()
    config_file = home / "config.yaml"
    config_file.write_text(
        json.dumps(
            {
                "cookiecutters_dir": str(home / "templates"),
                "replay_dir": str(home / "replay"),
            }
        ),
        encoding="utf-8",
    )
    output = staging / "out"
    output.mkdir()
    try:
        project = cookiecutter(
            str(scaffold.path),
            no_input=True,
            extra_context=extra_context(answers, registry),
            output_dir=str(output),
            config_file=str(config_file),
        )
    except (CookiecutterException, TemplateError, OSError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RenderError(
            f"scaffold {scaffold.name!r} failed to render: {detail}",
            "nothing was written; this is a bug in the scaffold if it is a built-in one",
        ) from exc
    return Path(project)


def _drop_foreign_files(project: Path) -> None:
    # cookiecutter copies the template folder as it finds it on disk: whatever lies there that
    # the scaffold does not define must not reach the project.
    for folder, dirnames, filenames in os.walk(project):
        for name in [*dirnames, *filenames]:
            if not is_scaffold_content(name):
                path = Path(folder) / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        dirnames[:] = [d for d in dirnames if (Path(folder) / d).is_dir()]


def _write_extra_files(project: Path, scaffold: Scaffold, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        target = project / relative
        if target.exists():
            raise RenderError(
                f"scaffold {scaffold.name!r} ships {relative}, which stagekit writes itself",
                "remove that file from the scaffold; see docs/platform-teams.md",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _write_answers_file(
    project: Path,
    scaffold: Scaffold,
    answers: Answers,
    registry: Mapping[str, Any] | None,
    extra: Mapping[str, Mapping[str, Any]],
) -> None:
    # What `stagekit update` needs to re-render this exact project (BASE) and to tell which files
    # the user touched: the scaffold's content digest, and a digest per file.
    record = record_data(
        scaffold,
        answers,
        registry,
        extra,
        stagekit_version=__version__,
        scaffold_digest=tree_digest(scaffold.path),
        files=project_digests(project, frozenset({RECORD_FILE})),
    )
    (project / RECORD_FILE).write_text(record_text(record), encoding="utf-8")


def _relative_files(root: Path) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    ]


def _place(rendered: Path, dest: Path, overwrite: bool) -> tuple[str, ...]:
    """Move the rendered tree to ``dest``; return the existing files that were kept."""
    if not dest.exists():
        rendered.rename(dest)
        return ()
    if not any(dest.iterdir()):
        dest.rmdir()
        rendered.rename(dest)
        return ()
    files = sorted(_relative_files(rendered))
    kept = tuple(f for f in files if (dest / f).exists() and not overwrite)
    blocked = [f for f in files if _parent_is_file(dest, f)]
    if blocked:
        raise DestinationError(
            f"cannot write {blocked[0]}: a file in {dest} stands where a folder is needed"
        )
    for relative in files:
        if relative in kept:
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (rendered / relative).replace(target)
    return kept


def _parent_is_file(dest: Path, relative: str) -> bool:
    parent = (dest / relative).parent
    while parent != dest:
        if parent.exists() and not parent.is_dir():
            return True
        parent = parent.parent
    return False
