"""CPython built against musl: the layer that turns the alpine stand-in into python:3.13-alpine.

No Alpine archive and no container registry are reachable here, so the interpreter is built
from Debian's orig tarballs (upstream's releases, without Debian's patches) in a throwaway
trixie root, by ``musl-python.sh`` next to this module: every library behind a standard-library
extension module (OpenSSL, SQLite, libffi, zlib, bzip2, xz, ncurses, readline, libuuid, gdbm)
as a static PIC archive built with musl, then CPython linked dynamically against
``/lib/ld-musl-x86_64.so.1`` with a shared libpython under ``/usr/local``, as docker-library's
python:3.13-alpine does. The tarballs are pinned by SHA-256 here; the script's own digest is part
of the recipe, so editing it rebuilds the layer.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tests.engine.errors import StandinError
from tests.engine.layers import MMDEBSTRAP_TIMEOUT, SUITE, BuildContext, Layer, apt_sources, mirror
from tests.engine.tarlayer import LayerWriter
from tests.engine.util import file_sha256, run

SCRIPT = Path(__file__).with_name("musl-python.sh")
DOWNLOAD_TIMEOUT = 300
# The build root: the compiler and musl, the kernel's headers, what the libraries' build systems
# run (perl for OpenSSL, tcl for SQLite's amalgamation, autotools and libtool's ltdl macros for
# libffi's git tree), bluez's headers (socket.AF_BLUETOOTH, as the official image's bluez-dev
# gives) and tzdata for the zoneinfo database the image gets.
BUILD_PACKAGES = (
    "autoconf",
    "automake",
    "bzip2",
    "gcc",
    "libbluetooth-dev",
    "libc6-dev",
    "libltdl-dev",
    "libtool",
    "linux-libc-dev",
    "make",
    "musl",
    "musl-dev",
    "musl-tools",
    "perl",
    "pkgconf",
    "tcl",
    "tzdata",
    "xz-utils",
)


@dataclass(frozen=True)
class Source:
    """An orig tarball in Debian's pool, pinned by its SHA-256."""

    package: str
    file: str
    sha256: str

    def url(self) -> str:
        section = self.package[:4] if self.package.startswith("lib") else self.package[0]
        return f"{mirror()}/debian/pool/main/{section}/{self.package}/{self.file}"

    def version(self) -> str:
        """The upstream version (``python3.13_3.13.5.orig.tar.xz`` -> ``3.13.5``)."""
        match = re.fullmatch(r"[^_]+_(.+?)\.orig\.tar\.\w+", self.file)
        if match is None:
            raise StandinError(f"{self.file} is not named like an orig tarball")
        return match.group(1)


# Trixie's versions; a newer one where the archive served it (trixie-security's OpenSSL 3.5.9
# orig was not served here, its 3.5.7 was).
PYTHON_SOURCE = Source(
    "python3.13",
    "python3.13_3.13.5.orig.tar.xz",
    "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
)
LIBRARY_SOURCES = (
    Source(
        "openssl",
        "openssl_3.5.7.orig.tar.gz",
        "a8c0d28a529ca480f9f36cf5792e2cd21984552a3c8e4aa11a24aa31aeac98e8",
    ),
    Source(
        "sqlite3",
        "sqlite3_3.46.1.orig.tar.xz",
        "d0cdd2ece271b29e7ce18095745d892517ee26d0f270065b3a25c2e9eb11639c",
    ),
    Source(
        "libffi",
        "libffi_3.4.8.orig.tar.gz",
        "cbb7f0b3b095dc506387ec1e35b891bfb4891d05b90a495bc69a10f2293f80ff",
    ),
    Source(
        "zlib",
        "zlib_1.3.dfsg+really1.3.1.orig.tar.gz",
        "60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb",
    ),
    Source(
        "bzip2",
        "bzip2_1.0.8.orig.tar.gz",
        "ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269",
    ),
    Source(
        "xz-utils",
        "xz-utils_5.8.1.orig.tar.xz",
        "0b54f79df85912504de0b14aec7971e3f964491af1812d83447005807513cd9e",
    ),
    Source(
        "ncurses",
        "ncurses_6.5+20250216.orig.tar.gz",
        "b37baafa436e7133bb12a185cb8f60e1599b1947e9f0181c76f3190acf28b6eb",
    ),
    Source(
        "readline",
        "readline_8.2.orig.tar.gz",
        "3feb7171f16a84ee82ca18a36d7b9be109a52c04f492a053331d7d1095007c35",
    ),
    Source(
        "util-linux",
        "util-linux_2.41.5.orig.tar.xz",
        "f586e35d320ff537aab3ffeca37e9ecd482ccbe013590db4429a414d8aa6a728",
    ),
    Source(
        "gdbm",
        "gdbm_1.24.orig.tar.gz",
        "695e9827fdf763513f133910bc7e6cfdb9187943a4fec943e57449723d2b8dbf",
    ),
)


def _script_digest() -> str:
    return hashlib.sha256(SCRIPT.read_bytes()).hexdigest()


def fetch_source(source: Source, folder: Path) -> Path:
    """``source`` in ``folder``: downloaded once, checked against its pinned SHA-256."""
    target = folder / source.file
    if target.exists() and file_sha256(target) == source.sha256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        with (
            urllib.request.urlopen(source.url(), timeout=DOWNLOAD_TIMEOUT) as response,
            partial.open("wb") as out,
        ):
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise StandinError(f"cannot download {source.url()}: {exc}") from exc
    found = file_sha256(partial)
    if found != source.sha256:
        partial.unlink(missing_ok=True)
        raise StandinError(
            f"{source.url()} has SHA-256 {found}, not the pinned {source.sha256}: the archive "
            "changed; pin the new tarball in tests/engine/muslpython.py"
        )
    partial.rename(target)
    return target


@dataclass(frozen=True)
class MuslPython(Layer):
    """``/usr/local`` of python:3.13-alpine, built with musl, with ``/usr/share/zoneinfo`` and
    ``/etc/terminfo`` (what the official image's tzdata and ncurses-terminfo-base give).

    Facts: ``python_version`` and ``python_sha256`` (the tarball's, which is upstream's
    ``Python-X.Y.Z.tar.xz``: the official image's ``PYTHON_SHA256``), and the build's
    per-step seconds as ``seconds``.
    """

    python: Source = PYTHON_SOURCE
    libraries: tuple[Source, ...] = LIBRARY_SOURCES
    build_packages: tuple[str, ...] = BUILD_PACKAGES
    script_sha256: str = field(default_factory=_script_digest)
    revision: ClassVar[int] = 1
    native_only: ClassVar[str] = (
        "CPython compiled here for amd64 (for arm64 the whole build would run under QEMU)"
    )

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        folder = ctx.paths.cache / "sources"
        tarballs = [fetch_source(source, folder) for source in (self.python, *self.libraries)]
        work = Path(tempfile.mkdtemp(prefix="musl-python-", dir=ctx.paths.work))
        try:
            result = work / "out"
            steps = work / "steps.log"
            copy_in = " ".join(shlex.quote(str(path)) for path in tarballs)
            hooks = [
                f'mkdir "$1/src" && cp {copy_in} "$1/src/"',
                f'cp {shlex.quote(str(SCRIPT))} "$1/musl-python.sh"',
                f'chroot "$1" sh /musl-python.sh /src /out > {shlex.quote(str(steps))}',
                f'mv "$1/out" {shlex.quote(str(result))}',
            ]
            ctx.log(f"building {self.name} (CPython {self.python.version()} with musl)")
            run(
                [
                    "mmdebstrap",
                    "--variant=minbase",
                    "--mode=root",
                    "--format=null",
                    "--include=" + ",".join(self.build_packages),
                    *(f"--customize-hook={hook}" for hook in hooks),
                    SUITE,
                    "/dev/null",
                    *apt_sources(),
                ],
                timeout=MMDEBSTRAP_TIMEOUT * 2,
            )
            with LayerWriter(out) as writer:
                writer.add_tree(result / "etc", "etc")
                writer.add_tree(result / "usr", "usr")
            seconds = ", ".join(
                line.removeprefix("musl-python: ")
                for line in steps.read_text().splitlines()
                if line.startswith("musl-python: ")
            )
            return {
                "python_version": self.python.version(),
                "python_sha256": self.python.sha256,
                "seconds": seconds,
            }
        finally:
            shutil.rmtree(work, ignore_errors=True)
