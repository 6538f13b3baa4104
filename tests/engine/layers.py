"""The layers stand-in images are made of, each a recipe that builds one tar file.

A recipe is plain data (package lists, versions, generated files); its SHA-256 names the cached
tar under the state directory, so a layer is rebuilt only when its recipe changes. Bump a class's
``revision`` when you change how it builds, not what it is given.

Kinds: ``DebianRoot`` here (a whole Debian root from ``mmdebstrap``: slim, build tools,
Python); ``GoToolchain`` / ``RustToolchain`` in ``toolchains``; ``DebPackages``, ``Busybox`` and
``AlpineRoot`` (packages unpacked one by one, the way distroless assembles images) in ``unpacked``;
``MuslPython`` (CPython compiled against musl in a throwaway root) in ``muslpython``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from tests.engine.errors import StandinError
from tests.engine.paths import EnginePaths
from tests.engine.util import file_sha256, run, tail

SUITE = "trixie"
NATIVE = "amd64"
# Debian's architecture names and the OCI platform each one is.
PLATFORMS = {"amd64": ("amd64", None), "arm64": ("arm64", "v8")}
MIRROR_ENV = "STAGEKIT_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org"
MMDEBSTRAP_TIMEOUT = 900
# Debian's slim images keep these out through a dpkg config that stays in the image.
SLIM_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*",
)
# The official images' /etc/apt/sources.list.d/debian.sources, deb822 style.
_DEBIAN_SOURCES = """\
Types: deb
URIs: {mirror}/debian
Suites: {suite} {suite}-updates
Components: main
Signed-By: {keyring}

Types: deb
URIs: {mirror}/debian-security
Suites: {suite}-security
Components: main
Signed-By: {keyring}
"""


def mirror() -> str:
    """The Debian mirror's base URL (``STAGEKIT_DEBIAN_MIRROR``, else deb.debian.org)."""
    return os.environ.get(MIRROR_ENV, DEFAULT_MIRROR).rstrip("/")


def apt_sources() -> list[str]:
    """One-line sources for mmdebstrap: the release, its updates and its security suite."""
    base = mirror()
    return [
        f"deb {base}/debian {SUITE} main",
        f"deb {base}/debian {SUITE}-updates main",
        f"deb {base}/debian-security {SUITE}-security main",
    ]


def digest(data: object) -> str:
    """SHA-256 of canonical JSON: the recipe hash."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class BuiltLayer:
    """A layer tar on disk, with its diff ID and what its build learned (e.g. versions)."""

    name: str
    path: Path
    diff_id: str
    size: int
    facts: dict[str, str]


class DebSource:
    """The .deb files that package-level layers unpack, downloaded once per provisioning run.

    ``mmdebstrap --variant=extract`` resolves the packages against the archive with apt's own
    verification; its downloads are kept under the state dir, keyed by the package set.
    """

    def __init__(self, paths: EnginePaths, packages: Iterable[str], arch: str = NATIVE) -> None:
        self._paths = paths
        self._packages = tuple(sorted(set(packages)))
        self.arch = arch
        self._lock = threading.Lock()
        self._files: dict[str, Path] | None = None

    def get(self, package: str) -> Path:
        """The .deb file of ``package`` (downloading the whole set on first use)."""
        with self._lock:
            if self._files is None:
                self._files = self._fetch()
        if package not in self._files:
            raise StandinError(f"package {package} was not downloaded (not in {self._packages})")
        return self._files[package]

    def _fetch(self) -> dict[str, Path]:
        # One download per architecture is kept; the native one keeps its old name.
        group = "" if self.arch == NATIVE else f"{self.arch}-"
        folder = self._paths.debs / (group + digest([self._packages, apt_sources()])[:16])
        done = folder / ".complete"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            # The extract variant pulls hard dependencies too; we unpack only what we name.
            hook = f'cp "$1"/var/cache/apt/archives/*.deb {shlex.quote(str(folder))}/'
            run(
                [
                    "mmdebstrap",
                    "--variant=extract",
                    "--mode=root",
                    "--format=null",
                    "--skip=download/empty",
                    "--skip=essential/unlink",
                    f"--architectures={self.arch}",
                    "--include=" + ",".join(self._packages),
                    f"--extract-hook={hook}",
                    SUITE,
                    "/dev/null",
                    *apt_sources(),
                ],
                timeout=MMDEBSTRAP_TIMEOUT,
            )
            done.touch()
            for stale in self._paths.debs.iterdir():
                same_group = stale.name.startswith(group) if group else "-" not in stale.name
                if stale != folder and same_group:
                    shutil.rmtree(stale, ignore_errors=True)
        return {deb.name.split("_", 1)[0]: deb for deb in folder.glob("*.deb")}


@dataclass
class BuildContext:
    """What a layer build may use: the state dir, the package source, a progress callback."""

    paths: EnginePaths
    debs: DebSource
    log: Callable[[str], None] = field(default=lambda _: None)


@dataclass(frozen=True)
class Layer:
    """Base of all layer recipes: a name plus data; ``build`` writes the tar.

    ``arch`` is the Debian architecture its packages come in (keyword-only; left out of the
    recipe when native, so the amd64 layers kept their hashes when arm64 came).
    """

    name: str
    arch: str = field(default=NATIVE, kw_only=True)
    revision: ClassVar[int] = 1
    # Why a layer exists only for this machine's architecture ("" for package-made layers, which
    # any architecture's packages can make): its toolchains, what its compiler built.
    native_only: ClassVar[str] = ""

    def recipe(self) -> dict[str, object]:
        data = asdict(self)
        if data["arch"] == NATIVE:
            del data["arch"]
        return {"kind": type(self).__name__, "revision": self.revision, **data}

    def recipe_hash(self) -> str:
        return digest(self.recipe())

    def deb_packages(self) -> tuple[str, ...]:
        """Packages this layer unpacks from ``DebSource`` (none for most kinds)."""
        return ()

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        raise NotImplementedError


@dataclass(frozen=True)
class DebianRoot(Layer):
    """A Debian trixie root from mmdebstrap (minbase + ``packages``), docs left out.

    ``hooks`` are shell commands run on the host after installation with ``$1`` = the root;
    ``facts`` are commands run inside the root whose output the image config may use.
    """

    packages: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    revision: ClassVar[int] = 1

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        facts_dir = Path(tempfile.mkdtemp(prefix="facts-", dir=ctx.paths.work))
        try:
            sources = _DEBIAN_SOURCES.format(mirror=mirror(), suite=SUITE, keyring="KEYRING")
            write_sources = (
                "k=/usr/share/keyrings/debian-archive-keyring.pgp; "
                '[ -e "$1$k" ] || k=/usr/share/keyrings/debian-archive-keyring.gpg; '
                'mkdir -p "$1"/etc/apt/sources.list.d; rm -f "$1"/etc/apt/sources.list; '
                f'printf %s {shlex.quote(sources)} | sed "s|KEYRING|$k|" '
                '> "$1"/etc/apt/sources.list.d/debian.sources'
            )
            command = [
                "mmdebstrap",
                "--variant=minbase",
                "--mode=root",
                "--format=tar",
                # A foreign root runs its maintainer scripts under QEMU (binfmt, arch-test).
                f"--architectures={self.arch}",
                "--skip=output/dev",
                *(f"--dpkgopt={opt}" for opt in SLIM_DPKG_EXCLUDES),
            ]
            if self.packages:
                command.append("--include=" + ",".join(self.packages))
            command += [f"--customize-hook={hook}" for hook in self.hooks]
            for key, inner in self.facts:
                target = shlex.quote(str(facts_dir / key))
                command.append(
                    f'--customize-hook=chroot "$1" sh -c {shlex.quote(inner)} > {target}'
                )
            command += [f"--customize-hook={write_sources}", SUITE, str(out), *apt_sources()]
            ctx.log(f"mmdebstrap {self.name}")
            run(command, timeout=MMDEBSTRAP_TIMEOUT)
            return {key: (facts_dir / key).read_text().strip() for key, _ in self.facts}
        finally:
            shutil.rmtree(facts_dir, ignore_errors=True)


def for_arch(layer: Layer, arch: str) -> Layer:
    """``layer`` made of ``arch``'s packages, under a name of its own (its own cache file)."""
    if arch == layer.arch:
        return layer
    return replace(layer, name=f"{layer.name}-{arch}", arch=arch)


class LayerCache:
    """Layer tars under ``<state>/cache/layers``, named by layer and recipe hash."""

    def __init__(self, paths: EnginePaths, keep: bool = True) -> None:
        self._dir = paths.layers
        self._dir.mkdir(parents=True, exist_ok=True)
        paths.work.mkdir(parents=True, exist_ok=True)
        self.keep = keep

    def _files(self, layer: Layer) -> tuple[Path, Path]:
        stem = f"{layer.name}.{layer.recipe_hash()[:16]}"
        return self._dir / f"{stem}.tar", self._dir / f"{stem}.json"

    def cached(self, layer: Layer) -> BuiltLayer | None:
        """The built layer if its tar and metadata are both there and agree."""
        tar, meta = self._files(layer)
        try:
            data = json.loads(meta.read_text())
            if tar.stat().st_size != data["size"]:
                return None
        except (FileNotFoundError, ValueError, KeyError):
            return None
        return BuiltLayer(layer.name, tar, data["diff_id"], data["size"], data["facts"])

    def build(self, layer: Layer, ctx: BuildContext) -> BuiltLayer:
        """Return the cached layer or build it (to a temporary name, then renamed)."""
        found = self.cached(layer)
        if found is not None:
            return found
        tar, meta = self._files(layer)
        partial = tar.with_suffix(".partial")
        try:
            facts = layer.build(ctx, partial)
        except (OSError, subprocess.SubprocessError, StandinError) as exc:
            partial.unlink(missing_ok=True)
            raise StandinError(f"building layer {layer.name} failed: {exc}") from exc
        except Exception as exc:
            partial.unlink(missing_ok=True)
            raise StandinError(f"building layer {layer.name} failed: {tail(str(exc), 30)}") from exc
        diff_id = f"sha256:{file_sha256(partial)}"
        size = partial.stat().st_size
        partial.rename(tar)
        meta.write_text(
            json.dumps(
                {
                    "diff_id": diff_id,
                    "size": size,
                    "facts": facts,
                    "recipe": layer.recipe(),
                },
                indent=1,
            )
        )
        for stale in self._dir.glob(f"{layer.name}.*"):
            if stale not in (tar, meta):
                stale.unlink(missing_ok=True)
        return BuiltLayer(layer.name, tar, diff_id, size, facts)

    def release(self, built: BuiltLayer) -> None:
        """Drop a layer's tar after loading when the cache is not kept (disk-tight machines)."""
        if not self.keep:
            built.path.unlink(missing_ok=True)
            built.path.with_suffix(".json").unlink(missing_ok=True)
