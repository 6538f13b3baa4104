"""Custom scaffolds: a folder, or a git repository cloned shallowly into a temporary folder.

``stagekit new --scaffold SPEC`` accepts, in this order:

- a name from the org config's ``[scaffolds]`` table (its value is one of the forms below);
- a built-in scaffold's name (``go``, ``rust``, ``python``);
- a git URL: ``git+<url or path>``, ``https://…``, ``ssh://…``, ``git://…``, ``file://…`` or
  ``user@host:path``, optionally followed by ``#ref=<branch or tag>&subdirectory=<folder>``;
- a local folder holding a ``cookiecutter.json`` (used as it is, uncommitted changes included), or
  a local git repository without one at its top (a bare repository): cloned.

A repository is cloned with ``git clone --depth 1`` into a temporary folder that is removed when
the ``with`` block ends, whatever happens; git never prompts (``GIT_TERMINAL_PROMPT=0``, ssh in
batch mode) and the clone is killed after a timeout. Every scaffold is validated before anything
is asked or rendered (:func:`stagekit.model.catalog.load_scaffold`, then the keys custom scaffolds
need on top), and errors name the missing key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from stagekit.errors import ScaffoldError
from stagekit.model import Language
from stagekit.model.catalog import Scaffold, builtin, builtin_names, load_scaffold

CLONE_TIMEOUT = 120.0  # seconds for one `git clone --depth 1`
EXTENSION = "local_extensions.StagekitFilters"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)")
_FRAGMENT_KEYS = ("ref", "subdirectory")


@dataclass(frozen=True)
class Source:
    """Where a scaffold comes from, parsed from a ``--scaffold`` value or a config entry."""

    kind: Literal["builtin", "folder", "git"]
    location: str  # the language (builtin), the folder, or the URL git clones
    spec: str  # what the answers file records as the scaffold's source
    name: str
    ref: str | None = None
    subdirectory: str | None = None


@dataclass(frozen=True)
class Opened:
    """A scaffold ready to render, and the commit it was cloned at (git sources only)."""

    scaffold: Scaffold
    commit: str | None = None

    def record(self) -> dict[str, Any]:
        """What ``.stagekit.json`` records about the scaffold besides name, source and version."""
        return {"scaffold": {"commit": self.commit}} if self.commit else {}


def is_git_url(spec: str) -> bool:
    return spec.startswith("git+") or bool(_SCHEME.match(spec)) or bool(_SCP_LIKE.match(spec))


def absolute_spec(spec: str, folder: Path) -> str:
    """A config entry whose relative path (folder or ``git+path``) is relative to ``folder``."""
    if spec.startswith("git+") and not is_git_url(spec[4:]):
        location, sep, fragment = spec[4:].partition("#")
        return "git+" + str(_absolute(location, folder)) + sep + fragment
    if is_git_url(spec):
        return spec
    return str(_absolute(spec, folder))


def _absolute(text: str, folder: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


def resolve(text: str, configured: Mapping[str, str] | None = None) -> Source:
    """Parse a ``--scaffold`` value: a configured name, a built-in, a git URL or a folder."""
    configured = configured or {}
    if text in configured:
        return parse_spec(configured[text], name=text)
    if text in builtin_names():
        return Source("builtin", text, "builtin", text)
    return parse_spec(text)


def parse_spec(spec: str, name: str | None = None) -> Source:
    """A folder or git location (not a name)."""
    spec = spec.strip()
    if not spec:
        raise ScaffoldError("--scaffold needs a name, a folder or a git URL")
    if is_git_url(spec):
        return _git_source(spec, name)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "cookiecutter.json").is_file() and _is_git_repository(path):
            return _git_source("git+" + str(path.absolute()), name, recorded=spec)
        folder = path.absolute()
        return Source("folder", str(folder), str(folder), name or folder.name)
    if path.exists():
        raise ScaffoldError(f"scaffold {spec!r} is a file, not a folder or a git repository")
    raise ScaffoldError(
        f"scaffold {spec!r} not found: not a configured or built-in name, a folder or a git URL",
        "`stagekit scaffolds` lists the names; a git URL looks like "
        "git+https://host/team/template.git#ref=v1",
    )


def _git_source(spec: str, name: str | None, recorded: str | None = None) -> Source:
    location, _, fragment = spec.removeprefix("git+").partition("#")
    options: dict[str, str] = {}
    for key, value in parse_qsl(fragment, keep_blank_values=True):
        if key not in _FRAGMENT_KEYS:
            raise ScaffoldError(
                f"scaffold {spec!r}: unknown '#{key}='",
                "after '#' a git source takes ref=<branch or tag> and subdirectory=<folder>",
            )
        options[key] = value
    if not _SCHEME.match(location) and not _SCP_LIKE.match(location):
        path = Path(location).expanduser()
        if not path.exists():
            raise ScaffoldError(f"scaffold {spec!r}: no git repository at {path}")
        location = path.absolute().as_uri()  # file:// so that --depth 1 applies
    subdirectory = options.get("subdirectory") or None
    repo_name = re.sub(r"\.git$", "", location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    default_name = Path(subdirectory).name if subdirectory else repo_name
    return Source(
        "git",
        location,
        recorded or spec,
        name or default_name or "scaffold",
        ref=options.get("ref") or None,
        subdirectory=subdirectory,
    )


def _is_git_repository(path: Path) -> bool:
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir()
    return bare or (path / ".git").exists()


@contextmanager
def open_scaffold(
    text: str, configured: Mapping[str, str] | None = None, *, timeout: float = CLONE_TIMEOUT
) -> Iterator[Opened]:
    """The scaffold ``text`` names, valid; a cloned repository lives until the block ends."""
    source = resolve(text, configured)
    if source.kind == "builtin":
        yield Opened(builtin(Language(source.location)))
        return
    if source.kind == "folder":
        yield Opened(load_custom(Path(source.location), source.name, source.spec))
        return
    workdir = Path(tempfile.mkdtemp(prefix="stagekit-scaffold-"))
    try:
        checkout = workdir / "repo"
        commit = clone(source, checkout, timeout=timeout)
        folder = checkout
        if source.subdirectory:
            folder = (checkout / source.subdirectory).resolve()
            if not folder.is_relative_to(checkout.resolve()) or not folder.is_dir():
                raise ScaffoldError(
                    f"scaffold {source.spec!r}: no folder {source.subdirectory!r} in the repository"
                )
        yield Opened(load_custom(folder, source.name, source.spec), commit)
    finally:
        remove_tree(workdir)


def clone(source: Source, dest: Path, *, timeout: float = CLONE_TIMEOUT) -> str | None:
    """``git clone --depth 1`` without prompts, killed after ``timeout``; returns the commit."""
    git = shutil.which("git")
    if git is None:
        raise ScaffoldError(
            f"git is not installed: it is needed to fetch the scaffold {source.spec!r}"
        )
    command = [git, "-c", "advice.detachedHead=false", "clone", "--depth", "1", "--quiet"]
    if source.ref:
        command += ["--branch", source.ref]
    command += ["--", source.location, str(dest)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
            start_new_session=True,  # so a timeout kills git's helpers (ssh, remote-https) too
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ScaffoldError(
                f"git clone of {source.spec!r} took longer than {timeout:.0f} s: stopped",
                "check the URL and the network (proxy settings reach git through HTTPS_PROXY)",
            ) from None
        except BaseException:
            _kill_group(process)
            raise
        errors.seek(0)
        stderr = errors.read()
    if code != 0:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if line.startswith("fatal:")), None)
        raise ScaffoldError(
            f"cannot clone scaffold {source.spec!r}: {detail or (lines[-1] if lines else code)}",
            "git never prompts here: use a URL your credential helper or ssh agent can open",
        )
    head = subprocess.run(
        [git, "rev-parse", "HEAD"],
        cwd=dest,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return (head.stdout.strip() or None) if head.returncode == 0 else None


def _kill_group(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def remove_tree(path: Path) -> None:
    """Remove a folder, read-only files included (git's objects are read-only)."""

    def make_writable(function: Callable[..., Any], name: str, *_: Any) -> None:
        Path(name).chmod(stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
        function(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable)
    else:  # pragma: no cover - Python 3.11
        shutil.rmtree(path, onerror=make_writable)


# --- validation of a custom scaffold ----------------------------------------------------------


def load_custom(path: Path, name: str, source: str) -> Scaffold:
    """:func:`load_scaffold` plus what a scaffold outside stagekit must bring itself."""
    scaffold = load_scaffold(path, name=name, source=source)
    config = path / "cookiecutter.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    if "_registry" not in data:
        raise ScaffoldError(
            f"{config}: missing required key '_registry'",
            'declare "_registry": {"prefix": "", "map": {}} (cookiecutter ignores extra context '
            "for keys a template lacks, so a registry mirror would be skipped silently)",
        )
    if EXTENSION not in (data.get("_extensions") or []):
        raise ScaffoldError(
            f"{config}: missing required key '_extensions' with {EXTENSION!r}",
            "the templates escape answers with stagekit's filters; see docs/platform-teams.md",
        )
    if not (path / "local_extensions.py").is_file():
        raise ScaffoldError(
            f"{path}: missing local_extensions.py (stagekit's filters)",
            "copy stagekit's filters.py there as local_extensions.py; see docs/platform-teams.md",
        )
    return scaffold


# --- listing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One row of ``stagekit scaffolds``: a scaffold, or why it cannot be used."""

    name: str
    source: str
    scaffold: Scaffold | None = None
    commit: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "source": self.source}
        if self.scaffold is not None:
            s = self.scaffold
            data |= {
                "language": s.language.value,
                "scaffold_version": s.scaffold_version,
                "bases": [b.value for b in s.bases],
                "versions": list(s.versions),
                "unsupported": [
                    {
                        "base": r.base.value if r.base else None,
                        "version": r.version,
                        "reason": r.reason,
                    }
                    for r in s.unsupported
                ],
            }
        if self.commit:
            data["commit"] = self.commit
        if self.error:
            data["error"] = self.error
        return data


def list_scaffolds(
    configured: Mapping[str, str] | None = None, *, timeout: float = CLONE_TIMEOUT
) -> list[Entry]:
    """The built-in scaffolds, then the configured ones (git sources are cloned to read them)."""
    entries = [_entry(name, "builtin", name, None, timeout) for name in builtin_names()]
    for name, spec in (configured or {}).items():
        entries.append(_entry(name, spec, name, configured, timeout))
    return entries


def _entry(
    name: str, source: str, text: str, configured: Mapping[str, str] | None, timeout: float
) -> Entry:
    try:
        with open_scaffold(text, configured, timeout=timeout) as opened:
            return Entry(name, source, opened.scaffold, opened.commit)
    except ScaffoldError as exc:
        return Entry(name, source, error=exc.message)
