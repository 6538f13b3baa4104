"""Writing image layers as plain tar files, and reading Debian packages into them.

A layer is written entry by entry with ``tarfile``: Debian packages are streamed from
``dpkg-deb --fsys-tarfile`` (no temporary extraction, so modes, owners and set-uid bits stay
exact) and generated files (passwd, CA bundle, ...) are added from memory.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO

# Fixed mtime for generated entries, so a layer rebuilt from the same packages is the same tar.
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
# Debian 13 merges /usr: these top-level directories are symlinks into /usr.
USR_MERGED = ("bin", "sbin", "lib", "lib64")
# What Debian's slim images (and distroless) leave out; copyright files stay.
_DOC_PREFIXES = (
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/lintian/",
    "usr/share/linda/",
    "usr/share/groff/",
    "usr/share/locale/",
)


def is_doc(name: str) -> bool:
    """Whether a (normalised) path is documentation a container never needs."""
    if name.startswith("usr/share/doc/"):
        parts = name.split("/")
        # keep usr/share/doc/<pkg>/ and usr/share/doc/<pkg>/copyright
        return not (len(parts) == 4 or (len(parts) == 5 and parts[4] == "copyright"))
    return any(name.startswith(prefix) or name + "/" == prefix for prefix in _DOC_PREFIXES)


def normalise(name: str) -> str:
    """``./usr/bin/`` -> ``usr/bin``; the form every entry of our layers uses."""
    # PurePosixPath drops "./" and trailing slashes but keeps dotfiles such as ".profile".
    return str(PurePosixPath(name)).lstrip("/") or "."


def usr_merge(name: str) -> str:
    """Move ``bin/x`` to ``usr/bin/x`` (and sbin, lib, lib64), as a merged-/usr system has it."""
    head, _, rest = name.partition("/")
    if head in USR_MERGED and rest:
        return f"usr/{head}/{rest}"
    return name


class LayerWriter:
    """A tar layer under construction: parents before children, each path written once.

    The first entry for a path wins, so generated files written before the packages override
    what a package ships at the same path (e.g. distroless' own /etc/os-release).
    """

    def __init__(self, target: Path) -> None:
        # Closed in close(): the writer is itself the context manager.
        self._file = target.open("wb")
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT
        )
        self._seen: dict[str, bytes] = {}

    def close(self) -> None:
        self._tar.close()
        self._file.close()

    def __enter__(self) -> LayerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return normalise(name) in self._seen

    def _parents(self, name: str) -> None:
        parent = PurePosixPath(name).parent
        missing = []
        while str(parent) not in (".", "") and str(parent) not in self._seen:
            missing.append(str(parent))
            parent = parent.parent
        for path in reversed(missing):
            self.add_dir(path)

    def add(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> bool:
        """Add an entry (name normalised, owner names dropped); False if the path was taken."""
        info.name = normalise(info.name)
        if info.name == "." or info.name in self._seen:
            return False
        self._parents(info.name)
        info.uname = info.gname = ""
        self._seen[info.name] = info.type
        self._tar.addfile(info, data)
        return True

    def add_dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, EPOCH
        self.add(info)

    def add_file(
        self, name: str, content: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0
    ) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, EPOCH
        self.add(info, io.BytesIO(content))

    def add_symlink(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        info.mode, info.mtime = 0o777, EPOCH
        self.add(info)

    def add_hardlink(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.LNKTYPE
        info.linkname = normalise(target)
        info.mode, info.mtime = 0o755, EPOCH
        self.add(info)

    def add_path(self, source: Path, name: str, *, mode_or: int = 0) -> None:
        """Add one file, directory or symlink from the host, owned by root.

        A second name of an inode already added becomes a hard link, as in the source tree.
        """
        info = self._tar.gettarinfo(str(source), arcname=normalise(name))
        info.uid = info.gid = 0
        info.mode |= mode_or
        if info.isreg():
            with source.open("rb") as handle:
                self.add(info, handle)
        else:
            self.add(info)

    def add_tree(self, source: Path, name: str, *, mode_or: int = 0) -> None:
        """Add a host directory recursively (sorted, so the layer is stable)."""
        self.add_path(source, name, mode_or=mode_or)
        if source.is_dir() and not source.is_symlink():
            for child in sorted(source.iterdir()):
                self.add_tree(child, f"{name}/{child.name}", mode_or=mode_or)


def deb_members(deb: Path) -> Iterable[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """Every entry of a .deb's data, streamed from ``dpkg-deb --fsys-tarfile``."""
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    ) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                yield member, tar.extractfile(member) if member.isreg() else None
        if proc.wait(timeout=60) != 0:
            raise OSError(f"dpkg-deb could not read {deb}")


def add_deb(
    writer: LayerWriter, deb: Path, *, drop_docs: bool = True, merge_usr: bool = True
) -> None:
    """Unpack one Debian package into the layer (what ``dpkg-deb -x`` would do, minus docs)."""
    for member, data in deb_members(deb):
        name = normalise(member.name)
        if merge_usr:
            if name in USR_MERGED:
                continue  # the layer below holds these as symlinks into /usr
            name = usr_merge(name)
            if member.islnk():
                member.linkname = usr_merge(normalise(member.linkname))
        if drop_docs and is_doc(name):
            continue
        member.name = name
        writer.add(member, data)


def deb_control(deb: Path) -> bytes:
    """The control paragraph of a package, as distroless stores it under status.d/."""
    done = subprocess.run(
        ["dpkg-deb", "-f", str(deb)],
        capture_output=True,
        timeout=60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout


def deb_file(deb: Path, wanted: str) -> bytes:
    """One file's content from a package (by normalised path)."""
    for member, data in deb_members(deb):
        if normalise(member.name) == wanted and data is not None:
            return data.read()
    raise FileNotFoundError(f"{wanted} is not in {deb.name}")


def ca_bundle(deb: Path) -> bytes:
    """The CA bundle update-ca-certificates would write: every Mozilla cert, in name order."""
    certs: dict[str, bytes] = {}
    for member, data in deb_members(deb):
        name = normalise(member.name)
        if name.startswith("usr/share/ca-certificates/mozilla/") and data is not None:
            certs[name] = data.read()
    if not certs:
        raise FileNotFoundError(f"no certificates in {deb.name}")
    return b"".join(
        body if body.endswith(b"\n") else body + b"\n" for _, body in sorted(certs.items())
    )
