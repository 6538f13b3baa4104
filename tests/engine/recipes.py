"""Which stand-in answers which upstream reference: image specs from patterns.

Every supported reference maps to an ``ImageSpec``: the tags it carries, its layers (bottom
first) and its config. References that are known but cannot be made here (another toolchain
version, another Alpine or Python release) resolve to a reason instead; anything else is an
unknown reference.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.engine.errors import StandinError
from tests.engine.layers import NATIVE, DebianRoot, Layer, digest, for_arch
from tests.engine.muslpython import MuslPython
from tests.engine.toolchains import GoToolchain, RustToolchain
from tests.engine.unpacked import AlpineRoot, Busybox, DebPackages

# Bump when the image-level assembly (config, labels) changes in a way recipes do not show.
IMAGE_REVISION = 1
STANDIN_LABEL = "org.stagekit.standin"
RECIPE_LABEL = "org.stagekit.recipe"
NAME_LABEL = "org.stagekit.standin.name"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config a stand-in sets (as ``docker import --change`` would)."""

    env: tuple[tuple[str, str], ...] = (("PATH", PATH),)
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    user: str = ""
    workdir: str = ""
    # Env values taken from layer facts at load time: (ENV name, fact key).
    env_facts: tuple[tuple[str, str], ...] = ()

    def recipe(self) -> dict[str, object]:
        return {
            "env": [list(pair) for pair in self.env],
            "cmd": None if self.cmd is None else list(self.cmd),
            "entrypoint": None if self.entrypoint is None else list(self.entrypoint),
            "user": self.user,
            "workdir": self.workdir,
            "env_facts": [list(pair) for pair in self.env_facts],
        }


@dataclass(frozen=True)
class ImageSpec:
    """One stand-in image: all its tags, its layers and its config."""

    name: str
    tags: tuple[str, ...]
    layers: tuple[Layer, ...]
    config: ImageConfig = field(default_factory=ImageConfig)
    note: str = ""
    arch: str = NATIVE

    def recipe_hash(self) -> str:
        """The hash stored in the ``org.stagekit.recipe`` label."""
        recipe: dict[str, object] = {
            "revision": IMAGE_REVISION,
            "tags": sorted(self.tags),
            "layers": [layer.recipe_hash() for layer in self.layers],
            "config": self.config.recipe(),
        }
        if self.arch != NATIVE:  # native specs kept their hashes when arm64 came
            recipe["arch"] = self.arch
        return digest(recipe)

    def labels(self) -> dict[str, str]:
        return {STANDIN_LABEL: "true", RECIPE_LABEL: self.recipe_hash(), NAME_LABEL: self.name}


@dataclass(frozen=True)
class Unavailable:
    """A known reference that this machine cannot reconstruct, and why."""

    ref: str
    reason: str


@dataclass(frozen=True)
class Builtin:
    """``scratch``: nothing to provision."""

    ref: str


Resolution = ImageSpec | Unavailable | Builtin


# --- the machine's toolchains ---------------------------------------------------------------


@dataclass(frozen=True)
class HostGo:
    version: str  # "1.26.8"
    goroot: Path


@dataclass(frozen=True)
class HostRust:
    version: str  # "1.95.0"
    host: str  # "x86_64-unknown-linux-gnu"
    sysroot: Path
    rustup: Path


def _output(command: list[str]) -> str | None:
    if not shutil.which(command[0]):
        return None
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def host_go() -> HostGo | None:
    """The machine's Go toolchain (``go env``), or None."""
    out = _output(["go", "env", "GOVERSION", "GOROOT"])
    if out is None:
        return None
    lines = out.split()
    match = re.fullmatch(r"go(\d+\.\d+(?:\.\d+)?)", lines[0]) if lines else None
    if match is None or len(lines) < 2:
        return None
    return HostGo(match.group(1), Path(lines[1]))


def host_rust() -> HostRust | None:
    """The machine's Rust toolchain (``rustc -vV``, sysroot, rustup), or None."""
    info = _output(["rustc", "-vV"])
    sysroot = _output(["rustc", "--print", "sysroot"])
    rustup = shutil.which("rustup")
    if info is None or sysroot is None or rustup is None:
        return None
    version = re.search(r"^release: (\S+)", info, re.MULTILINE)
    host = re.search(r"^host: (\S+)", info, re.MULTILINE)
    if version is None or host is None:
        return None
    return HostRust(
        version.group(1), host.group(1), Path(sysroot.strip()).resolve(), Path(rustup).resolve()
    )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


# --- layers -----------------------------------------------------------------------------------

SLIM_ROOT = DebianRoot(name="trixie-slim")
# Upstream golang and rust images start from buildpack-deps (scm + compilers); this is the part
# Go and Rust builds use, shared by both images as one layer.
BUILD_ROOT = DebianRoot(
    name="trixie-build",
    packages=(
        "ca-certificates",
        "curl",
        "wget",
        "netbase",
        "git",
        "openssh-client",
        "procps",
        "xz-utils",
        "bzip2",
        "unzip",
        "patch",
        "gcc",
        "g++",
        "libc6-dev",
        "make",
        "pkg-config",
        "libssl-dev",
        "zlib1g-dev",
    ),
)
PYTHON_ROOT = DebianRoot(
    name="trixie-python3.13",
    packages=("ca-certificates", "netbase", "tzdata", "python3.13", "python3.13-venv"),
    hooks=(
        # Upstream's CPython has no PEP 668 marker: pip may install into the system.
        'rm -f "$1"/usr/lib/python3.13/EXTERNALLY-MANAGED',
        # pip the way upstream has it (/usr/local/bin/pip, pip3, pip3.13), from Debian's own
        # wheel; Debian disables ensurepip outside virtual environments.
        'chroot "$1" sh -c '
        + shlex.quote(
            'w=$(ls /usr/share/python-wheels/pip-*.whl) && python3.13 "$w/pip" install '
            "--quiet --no-index --no-cache-dir --root-user-action=ignore "
            '--disable-pip-version-check "$w"'
        ),
        'find "$1"/usr/local/lib -name __pycache__ -prune -exec rm -rf {} +',
        # A second name of the real binary, not a symlink: a build stage may then link
        # /usr/bin/python3.13 -> /usr/local/bin/python3.13 (as it must upstream) without a loop.
        'ln -f "$1"/usr/bin/python3.13 "$1"/usr/local/bin/python3.13',
        'ln -sf python3.13 "$1"/usr/local/bin/python3',
        'ln -sf python3 "$1"/usr/local/bin/python',
    ),
    facts=(
        ("python_version", "python3.13 -c 'import platform; print(platform.python_version())'"),
    ),
)

DISTROLESS_STATIC = DebPackages(
    name="distroless-static",
    packages=("base-files", "netbase", "tzdata", "tzdata-legacy", "media-types"),
    distroless_root=True,
)
DISTROLESS_LIBC = DebPackages(name="distroless-libc", packages=("libc6",))
DISTROLESS_SSL = DebPackages(name="distroless-ssl", packages=("libssl3t64", "libzstd1", "zlib1g"))
DISTROLESS_CC = DebPackages(
    name="distroless-cc", packages=("libgomp1", "libstdc++6", "libgcc-s1", "gcc-14-base")
)
DISTROLESS_PYTHON = DebPackages(
    name="distroless-python3",
    packages=(
        "libbz2-1.0",
        "libdb5.3t64",
        "libexpat1",
        "liblzma5",
        "libsqlite3-0",
        "libuuid1",
        "libncursesw6",
        "libtinfo6",
        "libcom-err2",
        "libcrypt1",
        "libc-bin",
        "libgssapi-krb5-2",
        "libk5crypto3",
        "libkeyutils1",
        "libkrb5-3",
        "libkrb5support0",
        "libnsl2",
        "libreadline8t64",
        "libtirpc3t64",
        "libffi8",
        "libpython3.13-minimal",
        "libpython3.13-stdlib",
        "python3.13-minimal",
        "python3.13-venv",
    ),
    aliases=(("usr/bin/python", "/usr/bin/python3.13"), ("usr/bin/python3", "/usr/bin/python3.13")),
)
DISTROLESS_BUSYBOX = Busybox(name="distroless-busybox")
ALPINE_ROOT = AlpineRoot(name="alpine-3.22", release="3.22")
MUSL_PYTHON = MuslPython(name="musl-python-3.13")
# docker-library's python:3.13-alpine: `ENV PATH /usr/local/bin:$PATH` on alpine's PATH, the
# release manager's key, the version and the tarball's SHA-256; `CMD ["python3"]`.
PYTHON_ALPINE_CONFIG = ImageConfig(
    env=(
        ("PATH", f"/usr/local/bin:{PATH}"),
        ("GPG_KEY", "7169605F62C751356D054A26A821E680E5FA6305"),
    ),
    cmd=("python3",),
    env_facts=(("PYTHON_VERSION", "python_version"), ("PYTHON_SHA256", "python_sha256")),
)

DISTROLESS_KINDS: dict[str, tuple[Layer, ...]] = {
    "static": (DISTROLESS_STATIC,),
    "base-nossl": (DISTROLESS_STATIC, DISTROLESS_LIBC),
    "base": (DISTROLESS_STATIC, DISTROLESS_LIBC, DISTROLESS_SSL),
    "cc": (DISTROLESS_STATIC, DISTROLESS_LIBC, DISTROLESS_SSL, DISTROLESS_CC),
    "python3": (
        DISTROLESS_STATIC,
        DISTROLESS_LIBC,
        DISTROLESS_SSL,
        DISTROLESS_CC,
        DISTROLESS_PYTHON,
    ),
}
DISTROLESS_TAGS = ("latest", "nonroot", "debug", "debug-nonroot")
RUST_COMPONENTS = ("rustc", "cargo", "rust-std", "clippy-preview", "rustfmt-preview")
RUST_PROXIES = (
    "cargo",
    "cargo-clippy",
    "cargo-fmt",
    "cargo-miri",
    "clippy-driver",
    "rls",
    "rust-analyzer",
    "rust-gdb",
    "rust-gdbgui",
    "rust-lldb",
    "rustc",
    "rustdoc",
    "rustfmt",
)

# --- reference patterns -----------------------------------------------------------------------

KNOWN = (
    "debian:trixie-slim",
    "golang:<X.Y>-trixie (the machine's Go)",
    "rust:<X.Y>-trixie (the machine's Rust)",
    "python:3.13-slim-trixie",
    "gcr.io/distroless/{static,base,base-nossl,cc,python3}-debian13:{latest,nonroot,debug,"
    "debug-nonroot}",
    "alpine:3.22",
    "python:3.13-alpine3.22",
    "scratch",
)


def _debian_slim(ref: str, match: re.Match[str]) -> Resolution:
    return ImageSpec("debian-trixie-slim", (ref,), (SLIM_ROOT,), ImageConfig(cmd=("bash",)))


def _golang(ref: str, match: re.Match[str]) -> Resolution:
    wanted = match.group(1)
    go = host_go()
    if go is None:
        return Unavailable(ref, f"cannot provision {ref} here: no Go toolchain on this machine")
    if wanted not in (go.version, _minor(go.version)):
        return Unavailable(
            ref, f"cannot provision golang:{wanted} here: the machine's toolchain is go{go.version}"
        )
    tags = tuple(f"golang:{v}-trixie" for v in (_minor(go.version), go.version))
    config = ImageConfig(
        env=(
            ("PATH", f"/go/bin:/usr/local/go/bin:{PATH}"),
            ("GOLANG_VERSION", go.version),
            ("GOTOOLCHAIN", "local"),
            ("GOPATH", "/go"),
        ),
        cmd=("bash",),
        workdir="/go",
    )
    layer = GoToolchain(name=f"go-{go.version}", version=go.version, goroot=str(go.goroot))
    return ImageSpec(f"golang-{go.version}-trixie", tags, (BUILD_ROOT, layer), config)


def _rust(ref: str, match: re.Match[str]) -> Resolution:
    wanted = match.group(1)
    rust = host_rust()
    if rust is None:
        return Unavailable(ref, f"cannot provision {ref} here: no rustc/rustup on this machine")
    if wanted not in (rust.version, _minor(rust.version)):
        return Unavailable(
            ref,
            f"cannot provision rust:{wanted} here: the machine's toolchain is rustc {rust.version}",
        )
    tags = tuple(f"rust:{v}-trixie" for v in (_minor(rust.version), rust.version))
    layer = RustToolchain(
        name=f"rust-{rust.version}",
        version=rust.version,
        host=rust.host,
        sysroot=str(rust.sysroot),
        rustup=str(rust.rustup),
        components=RUST_COMPONENTS,
        proxies=RUST_PROXIES,
    )
    config = ImageConfig(
        env=(
            ("PATH", f"/usr/local/cargo/bin:{PATH}"),
            ("RUSTUP_HOME", "/usr/local/rustup"),
            ("CARGO_HOME", "/usr/local/cargo"),
            ("RUST_VERSION", rust.version),
        ),
        cmd=("bash",),
    )
    return ImageSpec(f"rust-{rust.version}-trixie", tags, (BUILD_ROOT, layer), config)


def _python_slim(ref: str, match: re.Match[str]) -> Resolution:
    if match.group(1) != "3.13":
        return Unavailable(
            ref,
            f"cannot provision {ref} here: Debian trixie's Python is 3.13, the only "
            "python:*-slim-trixie stand-in",
        )
    config = ImageConfig(
        env=(("PATH", PATH), ("LANG", "C.UTF-8")),
        cmd=("python3",),
        env_facts=(("PYTHON_VERSION", "python_version"),),
    )
    return ImageSpec("python-3.13-slim-trixie", (ref,), (PYTHON_ROOT,), config)


def _python_alpine(ref: str, match: re.Match[str]) -> Resolution:
    tag = re.fullmatch(r"(\d+\.\d+(?:\.\d+)?)-alpine([\d.]*)", match.group(1))
    version, alpine = (tag.group(1), tag.group(2)) if tag else ("", "")
    if version not in ("3.13", MUSL_PYTHON.python.version()):
        return Unavailable(
            ref,
            f"cannot provision {ref} offline: its CPython is built here from Debian trixie's "
            f"source, which is {MUSL_PYTHON.python.version()} (the archives reachable here have "
            "no other); pull the real image where a registry is reachable (STAGEKIT_TRY_PULL=1)",
        )
    if alpine != "3.22":
        return Unavailable(
            ref,
            f"cannot provision {ref} offline: the alpine stand-in is 3.22 only; pull the real "
            "image where a registry is reachable (STAGEKIT_TRY_PULL=1)",
        )
    return ImageSpec(
        "python-3.13-alpine3.22",
        (ref,),
        (ALPINE_ROOT, MUSL_PYTHON),
        PYTHON_ALPINE_CONFIG,
    )


def _distroless(ref: str, match: re.Match[str]) -> Resolution:
    kind, tag = match.group(1), match.group(2) or "latest"
    debug = tag.startswith("debug")
    nonroot = tag.endswith("nonroot")
    layers = DISTROLESS_KINDS[kind] + ((DISTROLESS_BUSYBOX,) if debug else ())
    path = PATH + (":/busybox" if debug else "")
    env: tuple[tuple[str, str], ...] = (
        ("PATH", path),
        ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
    )
    entrypoint: tuple[str, ...] | None = ("/busybox/sh",) if debug else None
    if kind == "python3":
        env += (("LANG", "C.UTF-8"),)
        entrypoint = ("/usr/bin/python3.13",)
    config = ImageConfig(
        env=env,
        entrypoint=entrypoint,
        user="65532" if nonroot else "0",
        workdir="/home/nonroot" if nonroot else "/",
    )
    tags = (f"gcr.io/distroless/{kind}-debian13:{tag}",)
    return ImageSpec(f"distroless-{kind}-debian13-{tag}", tags, layers, config)


def _alpine(ref: str, match: re.Match[str]) -> Resolution:
    return ImageSpec(
        "alpine-3.22",
        (ref,),
        (ALPINE_ROOT,),
        ImageConfig(cmd=("/bin/sh",)),
    )


PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str, re.Match[str]], Resolution]], ...] = (
    (re.compile(r"(?:docker\.io/)?(?:library/)?debian:trixie-slim"), _debian_slim),
    (re.compile(r"(?:docker\.io/)?(?:library/)?golang:(\d+\.\d+(?:\.\d+)?)-trixie"), _golang),
    (re.compile(r"(?:docker\.io/)?(?:library/)?rust:(\d+\.\d+(?:\.\d+)?)-trixie"), _rust),
    (
        re.compile(r"(?:docker\.io/)?(?:library/)?python:(\d+\.\d+(?:\.\d+)?)-slim-trixie"),
        _python_slim,
    ),
    (re.compile(r"(?:docker\.io/)?(?:library/)?python:([\w.-]*alpine[\w.-]*)"), _python_alpine),
    (
        re.compile(
            r"gcr\.io/distroless/(static|base|base-nossl|cc|python3)-debian13"
            r"(?::(latest|nonroot|debug|debug-nonroot))?"
        ),
        _distroless,
    ),
    (re.compile(r"(?:docker\.io/)?(?:library/)?alpine:3\.22"), _alpine),
)


def _foreign(spec: ImageSpec, arch: str) -> Resolution:
    """``spec`` for another architecture: the same recipe on that architecture's packages.

    The toolchain images are native only: generated Dockerfiles run Go and Rust builds on
    ``$BUILDPLATFORM`` and cross-compile, so no arm64 golang or rust image is ever asked for.
    """
    native = [layer for layer in spec.layers if layer.native_only]
    if native:
        return Unavailable(
            spec.tags[0],
            f"no {arch} stand-in for {spec.tags[0]}: it holds "
            + "; ".join(f"{layer.native_only} ({layer.name})" for layer in native),
        )
    layers = tuple(for_arch(layer, arch) for layer in spec.layers)
    return replace(spec, name=f"{spec.name}-{arch}", layers=layers, arch=arch)


def names_a_standin(ref: str) -> bool:
    """Whether ``ref`` is a reference stand-ins are made for (no toolchain is asked)."""
    return any(pattern.fullmatch(ref) for pattern, _ in PATTERNS)


def resolve(ref: str, arch: str = NATIVE) -> Resolution | None:
    """The spec (or reason) for ``ref`` on ``arch``; None when no recipe knows it."""
    if ref == "scratch":
        return Builtin(ref)
    for pattern, make in PATTERNS:
        match = pattern.fullmatch(ref)
        if match is not None:
            try:
                found = make(ref, match)
            except StandinError as exc:
                return Unavailable(ref, str(exc))
            if isinstance(found, ImageSpec) and arch != NATIVE:
                return _foreign(found, arch)
            return found
    return None
