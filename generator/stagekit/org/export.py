"""``stagekit scaffolds export``: a scaffold copied out as a self-contained folder to start from.

The built-in scaffolds reach shared material through relative symlinks (``local_extensions.py``
into stagekit's filters, ``templates/*`` to the partials the three scaffolds share), which a plain
copy breaks. The export reads through every link, so the copy holds real files only: the partials
land in ``templates/``, where cookiecutter's own loader looks for them. The copy is validated as
``stagekit new --scaffold`` would validate it, in a staging folder beside DEST that is moved into
place only when everything succeeded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagekit.errors import DestinationError, ScaffoldError
from stagekit.model.catalog import builtin_names
from stagekit.model.digest import content_files
from stagekit.org.sources import load_custom, open_scaffold


@dataclass(frozen=True)
class Exported:
    """What ``stagekit scaffolds export`` wrote."""

    name: str
    path: Path
    files: tuple[str, ...]


def export(name: str, dest: Path, configured: Mapping[str, str] | None = None) -> Exported:
    """Write the scaffold called ``name`` (built-in or configured) to ``dest``, links resolved."""
    configured = configured or {}
    if name not in configured and name not in builtin_names():
        known = ", ".join([*builtin_names(), *configured])
        raise ScaffoldError(
            f"unknown scaffold {name!r}", f"`stagekit scaffolds` lists the names: {known}"
        )
    dest = dest.absolute()
    _check_destination(dest)
    staging = Path(tempfile.mkdtemp(prefix=".stagekit-export-", dir=dest.parent))
    try:
        copy = staging / "scaffold"
        with open_scaffold(name, configured) as opened:
            files = copy_resolved(opened.scaffold.path, copy)
        load_custom(copy, name, str(dest))  # what `stagekit new --scaffold DEST` will check
        if dest.exists():
            dest.rmdir()  # empty, checked above
        copy.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported(name, dest, files)


def copy_resolved(source: Path, dest: Path) -> tuple[str, ...]:
    """Copy a scaffold's content (links followed, no ``.git`` or bytecode); the files copied."""
    copied: list[str] = []
    for relative, path in content_files(source):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        target.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
        copied.append(relative)
    return tuple(copied)


def _check_destination(dest: Path) -> None:
    if not dest.parent.is_dir():
        raise DestinationError(
            f"parent folder {dest.parent} does not exist", "create it first, or choose another DEST"
        )
    if dest.exists() and not dest.is_dir():
        raise DestinationError(f"destination {dest} exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()):
        raise DestinationError(
            f"destination {dest} exists and is not empty", "choose a new folder for the export"
        )
