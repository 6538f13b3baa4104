"""The built-in scaffold revisions stagekit ships, so BASE can always be re-rendered offline.

Each released revision of a built-in scaffold is a reproducible ``.tar.gz`` in ``revisions/``
(symlinks resolved, so the filters behind ``local_extensions.py`` are in it) and a line in
``revisions/revisions.json``: language → scaffold_version → content digest. A change to a
scaffold's content without a ``scaffold_version`` bump fails a fast test; releasing a revision is
``python -m stagekit.update.shipped`` (it archives every built-in whose revision is not shipped).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path

from stagekit.errors import UpdateError
from stagekit.model import Language
from stagekit.model.catalog import builtin
from stagekit.model.digest import content_files, tree_digest

REVISIONS_DIR = Path(__file__).parent / "revisions"
TABLE_FILE = REVISIONS_DIR / "revisions.json"
#: Projects whose record names no revision were made by stagekit 0.1.0: revision 1.0.0.
FIRST_REVISION = "1.0.0"


def table() -> dict[str, dict[str, str]]:
    """language → scaffold_version → digest, for every shipped revision."""
    data: dict[str, dict[str, str]] = json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    return data


def archive_path(language: str, version: str) -> Path:
    return REVISIONS_DIR / f"{language}-{version}.tar.gz"


def is_shipped(language: str, version: str) -> bool:
    return version in table().get(language, {}) and archive_path(language, version).is_file()


def extract(language: str, version: str, dest: Path) -> Path:
    """Unpack revision ``version`` of the built-in ``language`` scaffold into ``dest``."""
    if not is_shipped(language, version):
        known = ", ".join(sorted(table().get(language, {}))) or "none"
        raise UpdateError(
            f"stagekit does not ship revision {version} of the built-in {language} scaffold",
            f"shipped revisions: {known}; upgrade stagekit if the project was made by a newer one",
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path(language, version), "r:gz") as archive:
        archive.extractall(dest, filter="data")
    folder = dest / language
    digest = tree_digest(folder)
    if digest != table()[language][version]:
        raise UpdateError(f"the shipped archive of {language} {version} is damaged ({digest})")
    return folder


def write_archive(source: Path, language: str, target: Path) -> None:
    """A reproducible archive of ``source`` (links resolved, fixed owners and times)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative, path in content_files(source):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{language}/{relative}")
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    with gzip.GzipFile(target, "wb", mtime=0) as packed:
        packed.write(buffer.getvalue())


def release(languages: Mapping[str, Path] | None = None) -> list[str]:
    """Archive every built-in scaffold whose current revision is not shipped yet."""
    current = table()
    done: list[str] = []
    for language in Language:
        scaffold = builtin(language)
        version = scaffold.scaffold_version
        source = (languages or {}).get(language.value, scaffold.path)
        digest = tree_digest(source)
        shipped = current.setdefault(language.value, {})
        if shipped.get(version) == digest:
            continue
        if version in shipped:
            raise UpdateError(
                f"the {language} scaffold changed but its scaffold_version is still {version}",
                "bump _stagekit.scaffold_version in its cookiecutter.json",
            )
        write_archive(source, language.value, archive_path(language.value, version))
        shipped[version] = digest
        done.append(f"{language.value} {version}")
    TABLE_FILE.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return done


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    for line in release() or ["every built-in revision is shipped already"]:
        print(line)
