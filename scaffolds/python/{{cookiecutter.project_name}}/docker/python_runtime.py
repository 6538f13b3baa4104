"""Assemble a Python runtime for a `scratch` image: the interpreter, the shared libraries it loads
and a pruned, precompiled standard library, laid out under DEST as they will be in the image.

Run by the Dockerfile's `interpreter` and `runtime` stages with the build image's own Python:

    python3 python_runtime.py interpreter DEST  # interpreter, stdlib, lib-dynload, their libraries
    python3 python_runtime.py libs DEST PATH... # libraries the extension modules under PATH need
    python3 python_runtime.py imports DEST VENV # every distribution imports in DEST as it does here
    python3 python_runtime.py records DEST      # package records for scanners (last)

Layout in the image (Debian's, so the venv's `bin/python -> /usr/bin/python3.X` resolves):
- /usr/bin/python3.X                       the interpreter (a copy of the build image's)
- /usr/lib/python3XY.zip                   the standard library as bytecode only (no sources), in
                                           the zip archive Python puts on sys.path by default
- /usr/lib/python3.X/lib-dynload/          the standard library's extension modules that are kept
- /usr/lib/<multiarch>/lib*.so.*           every shared library those ELF files load (ldd), under
                                           the name the dynamic loader looks for
- /lib64/ld-linux-x86-64.so.2 (amd64)      the dynamic loader, at the path the ELF files name
- /var/lib/dpkg/status.d/<package>[.md5sums] a record of each Debian package files were copied
                                           from, as distroless images keep them, and
- /etc/os-release                          the build image's, so a scanner (Syft, Trivy, Grype)
                                           knows the packages' distribution and can report them

Everything the standard library ships for development, terminals, GUIs, databases and CJK codecs
is left out (PRUNE below). If your code needs one of those modules, delete its name from PRUNE.
`imports` makes sure of it at build time: each top-level module of every distribution in the venv
(your app too) is imported with the build image's full Python and then in the assembled runtime
(chroot); one that imports in the first but not the second fails the build, naming the module it
needs. Modules that fail in both (an optional extra's) are not errors.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
INTERPRETER = Path(f"/usr/bin/python{VERSION}")
STDLIB = Path(f"/usr/lib/python{VERSION}")
STDLIB_ZIP = Path(f"/usr/lib/python{sys.version_info.major}{sys.version_info.minor}.zip")

#: Standard-library packages and modules no service needs at run time: test suites, IDLE, Tk,
#: turtle, pip's bootstrap, venv, the REPL, terminal UIs, local databases, documentation data.
PRUNE = frozenset(
    {
        "test",
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
        "ensurepip",
        "venv",
        "lib2to3",
        "pydoc_data",
        "unittest",
        "doctest",
        "_pyrepl",
        "curses",
        "dbm",
        "sqlite3",
        "__hello__",
        "__phello__",
        "antigravity",
        "this",
        "sitecustomize",  # Debian's: a link to /etc/python3.X, which the image does not have
    }
)
#: Extension modules in lib-dynload left out with them: test helpers, terminals, databases, Tk,
#: and the CJK codecs (the `encodings` modules that use them are left out too).
PRUNE_EXTENSIONS = re.compile(
    r"^(_test|xx|_ctypes_test|_xxtestfuzz|_curses|readline|_dbm|_gdbm|_sqlite3|_tkinter"
    r"|_codecs_|_multibytecodec)"
)
SKIP_DIRS = frozenset({"__pycache__", "site-packages", "dist-packages", "lib-dynload"})
#: glibc loads libgcc_s with dlopen (thread exit and cancellation), so ldd does not list it.
DLOPENED = ("libgcc_s.so.1",)
#: A fixed time for the zip's entries: the archive is the same on every build.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Where each file under DEST came from, kept while the runtime is assembled (``records`` reads
#: and removes it): copies may land under another name than their source's.
SOURCES = ".python-runtime-sources"
DPKG_INFO = Path("/var/lib/dpkg/info")
#: Fields of a package's status that describe the package itself (dpkg-query's format); the
#: install state and configuration files are the build image's, not the runtime's.
RECORD_FIELDS = (
    "Package",
    "Source",
    "Version",
    "Architecture",
    "Maintainer",
    "Installed-Size",
    "Homepage",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    interpreter = commands.add_parser("interpreter", help="interpreter, stdlib and libraries")
    interpreter.add_argument("dest", type=Path)
    libs = commands.add_parser("libs", help="libraries that extension modules need")
    libs.add_argument("dest", type=Path)
    libs.add_argument("paths", type=Path, nargs="+")
    imports = commands.add_parser("imports", help="every distribution imports in the runtime")
    imports.add_argument("dest", type=Path)
    imports.add_argument("venv", type=Path)
    records = commands.add_parser("records", help="package records and os-release for scanners")
    records.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    if args.command == "interpreter":
        copy_interpreter(args.dest)
    elif args.command == "imports":
        return check_imports(args.dest, args.venv)
    elif args.command == "records":
        write_records(args.dest)
    else:
        elves = [path for root in args.paths for path in shared_objects(root)]
        copy_libraries(args.dest, elves)
    report(args.dest)
    return 0


def copy_interpreter(dest: Path) -> None:
    executable = Path(sys.executable).resolve()
    install(executable, dest, INTERPRETER)
    stdlib = Path(sysconfig.get_path("stdlib"))
    dynload = next(Path(p) for p in sys.path if p.endswith("lib-dynload"))
    build_zip(stdlib, dest / STDLIB_ZIP.relative_to("/"))
    for source in stdlib_sources(stdlib):  # the zip's content comes from these files
        remember(dest, STDLIB_ZIP, source)
    kept = []
    for module in sorted(dynload.iterdir()):
        if module.suffix == ".so" and not PRUNE_EXTENSIONS.match(module.name):
            kept.append(install(module, dest, STDLIB / "lib-dynload" / module.name))
    copy_libraries(dest, [executable, *kept])


def build_zip(stdlib: Path, target: Path) -> None:
    """The pure-Python standard library, compiled to bytecode, in one reproducible archive.

    Compressed only where zlib is built into the interpreter (Debian's is): zipimport needs zlib
    to read compressed entries, and stored ones need nothing.
    """
    compression = zipfile.ZIP_DEFLATED if "zlib" in sys.builtin_module_names else zipfile.ZIP_STORED
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        zipfile.ZipFile(target, "w", compression) as archive,
    ):
        compiled = Path(scratch, "module.pyc")
        for source in stdlib_sources(stdlib):
            relative = source.relative_to(stdlib)
            # Unchecked hash: valid without its source; tracebacks name the original path.
            py_compile.compile(
                str(source),
                cfile=str(compiled),
                dfile=str(STDLIB / relative),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            entry = zipfile.ZipInfo(str(relative.with_suffix(".pyc")), ZIP_TIME)
            entry.compress_type = compression
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, compiled.read_bytes())


def stdlib_sources(stdlib: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and d not in PRUNE and not d.startswith("config-")
        )
        for name in sorted(files):
            path = Path(root, name)
            if name.endswith(".py") and path.stem not in PRUNE and not uses_cjk_codecs(path):
                yield path


def uses_cjk_codecs(path: Path) -> bool:
    return path.parent.name == "encodings" and b"import _codecs_" in path.read_bytes()


def shared_objects(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and ".so" in path.suffixes and is_elf(path):
            yield path


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def copy_libraries(dest: Path, elves: Iterable[Path]) -> None:
    """Every library the ELF files load, each where the dynamic loader of the image finds it."""
    libraries: dict[str, Path] = {}
    loader: Path | None = None
    for elf in elves:
        for name, path in ldd(elf):
            if name == "loader":
                loader = path
            else:
                libraries.setdefault(name, path)
    libc = libraries.get("libc.so.6")
    for name in DLOPENED:
        if libc is not None and (libc.parent / name).exists():
            libraries.setdefault(name, libc.parent / name)
    for name, path in sorted(libraries.items()):
        folder = path.parent.resolve()
        if folder.is_relative_to("/usr/local"):
            # Not on the loader's default path; the interpreter's RUNPATH ($ORIGIN/../lib, in
            # the official python images) and the default path both reach /usr/lib.
            folder = Path("/usr/lib")
        if not (dest / folder.relative_to("/") / name).exists():
            install(path, dest, folder / name)
    if loader is not None:
        copy_loader(dest, loader)


def copy_loader(dest: Path, loader: Path) -> None:
    """The dynamic loader at its real path and, where the path the ELF files name goes through a
    link (Debian's /lib64 -> usr/lib64), the same link."""
    real = loader.parent.resolve() / loader.name
    if not (dest / real.relative_to("/")).exists():
        install(loader, dest, real)
    named = dest / loader.relative_to("/")
    if real == loader or named.exists():
        return
    if loader.parent.is_symlink():
        link = dest / loader.parent.relative_to("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(loader.parent.readlink())
    else:
        install(loader, dest, loader)


_LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(/\S+) \(0x[0-9a-f]+\)$")


def ldd(elf: Path) -> Iterator[tuple[str, Path]]:
    """(soname, path) of each library ``elf`` loads; ("loader", path) for the dynamic loader."""
    result = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or "not found" in result.stdout:
        raise SystemExit(f"ldd {elf} failed:\n{result.stdout}{result.stderr}")
    for line in result.stdout.splitlines():
        match = _LDD_LINE.match(line)
        if match:
            name, path = match.groups()
            yield (name or "loader", Path(path))


def install(source: Path, dest: Path, target: Path) -> Path:
    """Copy ``source`` (links followed) to ``target`` inside ``dest``."""
    out = dest / target.relative_to("/")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, out, follow_symlinks=True)
    out.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
    remember(dest, target, source)
    return out


def remember(dest: Path, target: Path, source: Path) -> None:
    with (dest / SOURCES).open("a", encoding="utf-8") as sources:
        sources.write(f"{target}\t{source.resolve()}\n")


def write_records(dest: Path) -> None:
    """A distroless-style dpkg record for every package a copied file belongs to, from dpkg's
    own file lists (never a fixed list), and the distribution's os-release."""
    owners = package_files()
    copied: dict[str, set[str]] = {}  # package → the paths in the image that came from it
    for line in (dest / SOURCES).read_text(encoding="utf-8").splitlines():
        target, source = line.split("\t")
        for package in owners.get(source, ()):
            copied.setdefault(package, set()).add(target)
    (dest / SOURCES).unlink()
    records = dest / "var/lib/dpkg/status.d"
    records.mkdir(parents=True, exist_ok=True)
    for package, targets in sorted(copied.items()):
        name = package.split(":", 1)[0]
        (records / name).write_text(status_of(package), encoding="utf-8")
        sums = DPKG_INFO / f"{package}.md5sums"
        if sums.is_file():
            kept = [
                line
                for line in sums.read_text(encoding="utf-8").splitlines()
                if "/" + line.split(maxsplit=1)[-1] in targets
            ]
            (records / f"{name}.md5sums").write_text("".join(f"{x}\n" for x in kept))
    (dest / "etc").mkdir(exist_ok=True)
    shutil.copyfile(Path("/etc/os-release").resolve(), dest / "etc/os-release")
    print(f"{dest}: records of {len(copied)} packages: {', '.join(sorted(copied))}")


def package_files() -> dict[str, list[str]]:
    """Real path of each file dpkg installed → the packages that list it (``pkg[:arch]``)."""
    owners: dict[str, list[str]] = {}
    for listing in sorted(DPKG_INFO.glob("*.list")):
        package = listing.name.removesuffix(".list")
        for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
            path = Path(line)
            if line.startswith("/") and path.is_file():
                owners.setdefault(str(path.resolve()), []).append(package)
    return owners


def status_of(package: str) -> str:
    fields = "".join(name + ": ${" + name + "}\n" for name in RECORD_FIELDS)
    shown = subprocess.run(
        ["dpkg-query", "-W", "-f", fields, package],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "".join(line + "\n" for line in shown.splitlines() if not line.endswith(": "))


#: Run by each interpreter under test: import every module named, report the failures as JSON.
#: One process per interpreter (not one per module): under emulation each start costs seconds.
PROBE = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:  # an import may raise anything, SystemExit included
        needs = exc.name if isinstance(exc, ImportError) else None
        failed[name] = [f"{type(exc).__name__}: {exc}"[:240], needs]
print(json.dumps(failed))
"""


def check_imports(dest: Path, venv: Path) -> int:
    """Exit 1 when a module imports with this image's Python but not in the runtime at DEST."""
    modules = top_level_modules(venv)
    names = sorted(modules)
    full = run_probe([str(venv / "bin" / "python"), "-I", "-c", PROBE, *names])
    probe_root = Path(tempfile.mkdtemp(prefix="runtime-probe-"))
    try:
        # The image as it will be: the runtime, with the venv at its own path.
        shutil.copytree(dest, probe_root, symlinks=True, dirs_exist_ok=True)
        shutil.copytree(venv, probe_root / venv.relative_to("/"), symlinks=True)
        command = [str(venv / "bin" / "python"), "-I", "-c", PROBE, *names]
        pruned = run_probe(["chroot", str(probe_root), *command])
    finally:
        shutil.rmtree(probe_root, ignore_errors=True)
    lost = {name: pruned[name] for name in names if name in pruned and name not in full}
    for name, (error, needs) in sorted(lost.items()):
        print(
            f"{name} (from {modules[name]}) does not import in the runtime: {error}; "
            f"{advice(needs)}",
            file=sys.stderr,
        )
    if lost:
        print(
            f"{len(lost)} module(s) import with the build image's Python but not in the "
            "runtime: the release would fail at run time",
            file=sys.stderr,
        )
        return 1
    both = ", ".join(sorted(full)) or "none"
    print(
        f"imports: {len(names) - len(full)} of {len(names)} top-level modules import in the "
        f"runtime as in the build image (failing in both, not needed: {both})"
    )
    return 0


def advice(needs: str | None) -> str:
    """What to change so that the runtime has the module an import needs."""
    if not needs:
        return "see the error above"
    top = needs.split(".")[0]
    if top in PRUNE:
        return f"it needs the standard-library module {top!r}: delete it from PRUNE"
    if PRUNE_EXTENSIONS.match(top):
        return (
            f"it needs the standard library's extension module {top!r}: "
            "take it out of PRUNE_EXTENSIONS"
        )
    return f"it needs {needs!r}, which the runtime does not have"


def run_probe(command: list[str]) -> dict[str, list[str | None]]:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd="/", check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"import probe failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def top_level_modules(venv: Path) -> dict[str, str]:
    """Each top-level module the venv's distributions install, and the distribution's name."""
    site = next(venv.glob("lib/python*/site-packages"))
    found: dict[str, str] = {}
    for dist in metadata.distributions(path=[str(site)]):
        owner = f"{dist.metadata['Name']} {dist.version}"
        listed = dist.read_text("top_level.txt")
        names = set(listed.split()) if listed else {top_of(f.parts) for f in dist.files or ()}
        for name in names:
            present = (site / name).exists() or any(site.glob(f"{name}.*"))
            if name.isidentifier() and present:
                found.setdefault(name, owner)
    return found


def top_of(parts: tuple[str, ...]) -> str:
    """The top-level module a RECORD path belongs to ("" for metadata, scripts, data)."""
    first = parts[0]
    if first.endswith((".dist-info", ".data", ".pth")) or first in ("..", "__pycache__"):
        return ""
    if len(parts) > 1:
        return first
    return first.split(".")[0] if first.endswith((".py", ".so", ".pyd")) else ""


def report(dest: Path) -> None:
    files = [p for p in dest.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    print(f"{dest}: {len(files)} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
