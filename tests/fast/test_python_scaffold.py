"""The Python scaffold without Docker: the generated project passes ruff and pytest natively on
every base, its uv.lock is valid (`uv lock --check`) for any project name, hadolint is silent on
every Dockerfile it can render, plain cookiecutter renders exactly what stagekit renders, free
text lands in every file as data, and the scratch runtime builder gives an interpreter that runs
on its own."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from stagekit.errors import ValidationError
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin
from stagekit.model.names import ProjectNames, validate_project_name
from stagekit.new.render import generate
from stagekit.tools import find_tool

from tests.helpers import (
    NASTY,
    NASTY_OWNER,
    REPO,
    cookiecutter_run,
    dockerfile_word,
    native_caches,
    render_project,
)

SCAFFOLD = REPO / "scaffolds" / "python"
BASES = [base.value for base in Base]
CATALOG = builtin(Language.PYTHON)
VERSIONS = list(CATALOG.versions)
RESERVED = json.loads((SCAFFOLD / "cookiecutter.json").read_text())["_stagekit"]["reserved_names"]
DEBUG_PORT = 5678


UV = find_tool("uv")
needs_uv = pytest.mark.skipif(
    UV is None, reason="uv (PyPI `uv`, a test dependency) is not installed"
)


def uv_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    return {
        **env,
        "UV_CACHE_DIR": native_caches()["UV_CACHE_DIR"],
        # The tests' own interpreter (3.11 here): requires-python admits it.
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }


def uv(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    assert UV is not None
    return subprocess.run(
        [UV, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=uv_env(),
        check=False,
    )


def lock_names(lock: str) -> list[str]:
    return re.findall(r'^\[\[package\]\]\nname = "([^"]+)"$', lock, re.MULTILINE)


# --- native tools -------------------------------------------------------------------------


@needs_uv
@pytest.mark.parametrize("base", BASES)
def test_ruff_and_pytest_pass_natively(tmp_path: Path, base: str) -> None:
    project = render_project(tmp_path, "python", base)
    synced = uv(project, "sync", "--locked")
    assert synced.returncode == 0, f"uv sync --locked failed on {base}:\n{synced.stderr}"
    check = uv(project, "run", "--locked", "ruff", "check", ".")
    assert check.returncode == 0, f"ruff check on {base}:\n{check.stdout}{check.stderr}"
    fmt = uv(project, "run", "--locked", "ruff", "format", "--check", ".")
    assert fmt.returncode == 0, f"ruff format --check on {base}:\n{fmt.stdout}{fmt.stderr}"
    tests = uv(project, "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider")
    print(tests.stdout.strip().splitlines()[-1])
    assert tests.returncode == 0, f"pytest on {base}:\n{tests.stdout}{tests.stderr}"
    summary = re.search(r"(\d+) passed", tests.stdout)
    assert summary and int(summary.group(1)) >= 20, tests.stdout
    assert "warning" not in tests.stdout.splitlines()[-1], tests.stdout


@needs_uv
def test_a_failing_test_and_a_lint_finding_fail_natively(tmp_path: Path) -> None:
    """The native checks above can fail: a broken handler and an unused import are caught."""
    project = render_project(tmp_path, "python")
    assert uv(project, "sync", "--locked").returncode == 0
    app = project / "src" / "demo_svc" / "app.py"
    app.write_text(app.read_text().replace('f"Hello, {name}!"', 'f"Hi, {name}"'))
    tests = uv(project, "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider")
    assert tests.returncode != 0, f"pytest passed on a broken handler:\n{tests.stdout}"
    assert "Hello, Pythonista!" in tests.stdout
    app.write_text("import os\n" + app.read_text())
    check = uv(project, "run", "--locked", "ruff", "check", ".")
    assert check.returncode != 0 and "F401" in check.stdout, check.stdout


# --- uv.lock, rendered with the project's own name ------------------------------------------


def random_names(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    names: list[str] = []
    while len(names) < count:
        parts = [
            rng.choice("abcdefghijklmnopqrstuvwxyz")
            + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        ]
        parts += [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
            for _ in range(rng.randint(0, 2))
        ]
        name = "-".join(parts)
        try:
            validate_project_name(name)
        except ValidationError:
            continue
        if name not in RESERVED:
            names.append(name)
    return names


# Names around every dependency (just before, just after, prefixes, extensions) and both ends.
EDGE_NAMES = [
    "a",
    "annotated",
    "anyio-x",
    "b",
    "demo-svc",
    "fastapi-app",
    "h1",
    "h12",
    "httpx3",
    "pydantic-x",
    "pydantic-core-x",
    "pydanticx",
    "typing-extensions-x",
    "uvicorn2",
    "z",
    "zz9-top",
]
SEED = 20261128


def bump_and_relock(project: Path, lock_text: str) -> tuple[str, str]:
    """Bump the project's version and let uv rewrite the lock: (what uv wrote, what it should be
    if ``lock_text`` was in uv's own order). uv leaves an unchanged lock alone and compares locks
    by content, so a change is what makes it write the file out in its own order."""
    name = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"', 1))
    own = f'name = "{name}"\nversion = "0.1.0"\n'
    assert lock_text.count(own) == 1
    expected = lock_text.replace(own, f'name = "{name}"\nversion = "0.1.1"\n')
    relocked = uv(project, "lock")
    assert relocked.returncode == 0, relocked.stderr
    return (project / "uv.lock").read_text(), expected


@needs_uv
@pytest.mark.parametrize("name", EDGE_NAMES + random_names(6, SEED))
def test_uv_lock_is_current_for_any_project_name(tmp_path: Path, name: str) -> None:
    """`uv lock --check` accepts the rendered lock, and it is what uv itself writes, byte for
    byte, with the project's own entry where uv sorts it."""
    project = render_project(tmp_path, "python", "scratch", project_name=name)
    lock = (project / "uv.lock").read_text()
    names = lock_names(lock)
    assert names == sorted(names) and names.count(name) == 1, names
    checked = uv(project, "lock", "--check")
    assert checked.returncode == 0, f"uv lock --check for {name!r}:\n{checked.stderr}"
    written, expected = bump_and_relock(project, lock)
    assert written == expected, f"uv orders the lock of {name!r} otherwise: {lock_names(written)}"


@needs_uv
def test_the_lock_checks_can_fail(tmp_path: Path) -> None:
    """Both checks above can fail: a lock naming another project fails `uv lock --check`, and
    uv writes a lock whose own entry is out of place in another order."""
    project = render_project(tmp_path, "python", project_name="demo-svc")
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original.replace('name = "demo-svc"', 'name = "other-svc"'))
    checked = uv(project, "lock", "--check")
    assert checked.returncode != 0, "uv accepted a lock file of another project"
    pyproject.write_text(original)

    lock = project / "uv.lock"
    header, *blocks = lock.read_text().split("\n[[package]]\n")
    own = next(b for b in blocks if b.startswith('name = "demo-svc"'))
    others = [b.rstrip("\n") + "\n" for b in blocks if b is not own]
    moved = "\n[[package]]\n".join([header, *others, own])
    lock.write_text(moved)
    assert uv(project, "lock", "--check").returncode == 0, "uv compares locks by content"
    written, expected = bump_and_relock(project, moved)
    assert written != expected and lock_names(written) == sorted(lock_names(written))


def test_reserved_names_cover_every_locked_package(tmp_path: Path) -> None:
    project = render_project(tmp_path, "python")
    locked = set(lock_names((project / "uv.lock").read_text())) - {"demo-svc"}
    assert locked <= set(RESERVED), f"relock.py must reserve: {sorted(locked - set(RESERVED))}"
    assert {"fastapi", "pydantic-core", "uvicorn", "pytest", "py", "debugpy"} <= set(RESERVED)


@pytest.mark.parametrize("name", ["fastapi", "pydantic-core", "py"])
def test_a_dependency_name_is_refused_with_a_reason(tmp_path: Path, name: str) -> None:
    # stagekit refuses it while validating the answers; the hook refuses it for plain cookiecutter.
    with pytest.raises(ValidationError, match="dependency of the python scaffold"):
        render_project(tmp_path, "python", project_name=name)
    assert not (tmp_path / name).exists(), "nothing may be left behind"
    result = cookiecutter_run(tmp_path, SCAFFOLD, f"project_name={name}")
    assert result.returncode != 0
    assert f"project name {name!r} is taken by one of the service's dependencies" in result.stderr


# --- the Dockerfile -----------------------------------------------------------------------


def run_commands(commands: list, stage: str, froms: list) -> list:  # type: ignore[type-arg]
    start = commands.index(next(f for f in froms if f.value[2] == stage))
    following = [f for f in froms if commands.index(f) > start]
    end = commands.index(following[0]) if following else len(commands)
    return commands[start + 1 : end]


@pytest.mark.parametrize("base", BASES)
def test_dockerfile_keeps_the_contract(tmp_path: Path, base: str) -> None:
    import dockerfile

    project = render_project(tmp_path, "python", base)
    text = (project / "Dockerfile").read_text()
    assert not text.startswith("# syntax"), "a syntax line makes BuildKit pull a frontend"
    commands = list(dockerfile.parse_string(text))
    froms = [c for c in commands if c.cmd.upper() == "FROM"]
    stages = [c.value[2] for c in froms]
    named = [s for s in stages if s in ("build", "test", "debug", "release")]
    assert named == ["build", "test", "debug", "release"], stages
    assert stages[-1] == "release" and "scratch" not in stages
    assert froms[-1].value[0] == CATALOG.images["release"][base]
    assert froms[0].value[0] == CATALOG.images["build"][base]
    assert froms[stages.index("debug")].value[0] == CATALOG.images["debug"][base]
    assert "ARG PYTHON_VERSION=3.13\n" in text and "ARG UV_VERSION=" in text

    build = run_commands(commands, "build", froms)
    runs = [c for c in build if c.cmd.upper() == "RUN"]
    install_uv, deps, project_step = runs
    assert re.search(r'pip install .*"uv==\$\{UV_VERSION\}"', install_uv.original)
    assert "PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in install_uv.original
    assert "uv sync --locked --no-install-project --no-dev" in deps.original
    for mount in (
        "--mount=type=cache,target=/root/.cache/uv",
        "--mount=type=bind,source=uv.lock,target=uv.lock",
        "--mount=type=bind,source=pyproject.toml,target=pyproject.toml",
        "--mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false",
    ):
        assert mount in deps.flags, (mount, deps.flags)
    # The dependency step comes before the sources and before SOURCE_DATE_EPOCH, whose value
    # changes with every commit: a source-only change (or a new commit) reuses it.
    order = [c.cmd.upper() + " " + " ".join(c.value) for c in build]
    copy_all = order.index("COPY . .")
    assert build.index(deps) < copy_all < build.index(project_step)
    assert [c.value for c in build[:copy_all] if c.cmd.upper() == "ARG"] == [
        ("PIP_INDEX_URL", "UV_INDEX_URL"),
        ("PYTHON_VERSION",),
        ("UV_VERSION",),
    ]
    assert "uv sync --locked --no-editable --no-dev" in project_step.original
    env = " ".join(" ".join(c.value) for c in build if c.cmd.upper() == "ENV")
    for needle in ("UV_COMPILE_BYTECODE 1", "UV_LINK_MODE copy", "UV_PYTHON_DOWNLOADS 0"):
        assert needle in env, (needle, env)
    python = "/usr/local/bin/python" if base == "alpine" else "/usr/bin/python"
    assert f"UV_PYTHON {python}${{PYTHON_VERSION}}" in env

    https = [
        c for c in commands if c.cmd.upper() == "RUN" and re.search(r"uv sync|pip ", c.original)
    ]
    assert all(
        any(f.startswith("--mount=type=secret,id=ca_bundle") for f in c.flags) for c in https
    ), "every step that downloads takes the CA secret"

    test = " ".join(c.original for c in run_commands(commands, "test", froms))
    for needle in ("uv sync --locked", "ruff check .", "ruff format --check .", "pytest"):
        assert needle in test, needle
    debug = run_commands(commands, "debug", froms)
    (entrypoint,) = [c for c in debug if c.cmd.upper() == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value == (
        "/app/.venv/bin/python",
        "-m",
        "debugpy",
        "--listen",
        f"0.0.0.0:{DEBUG_PORT}",
        "-m",
        "demo_svc",
    )
    assert "--group debug" in " ".join(c.original for c in commands if "debug" in c.original)

    release = run_commands(commands, "release", froms)
    kinds = [c.cmd.upper() for c in release]
    assert "RUN" not in kinds, "the release stage must have no RUN"
    assert [c.value for c in release if c.cmd.upper() == "USER"] == [("65532:65532",)]
    copies = [c for c in release if c.cmd.upper() == "COPY"]
    assert copies and all("--link" in c.flags for c in copies)
    assert copies[-1].value == ("/app", "/app") and "--from=build" in copies[-1].flags
    (entrypoint,) = [c for c in release if c.cmd.upper() == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value == ("/app/.venv/bin/python", "-m", "demo_svc")
    (health,) = [c for c in release if c.cmd.upper() == "HEALTHCHECK"]
    assert health.value == ("CMD", "/app/.venv/bin/python", "-m", "demo_svc.healthcheck")
    assert {f.split("=")[0] for f in health.flags} == {
        "--interval",
        "--timeout",
        "--start-period",
        "--start-interval",
    }
    assert ("SIGTERM",) in [c.value for c in release if c.cmd.upper() == "STOPSIGNAL"]
    release_env = " ".join(" ".join(c.value) for c in release if c.cmd.upper() == "ENV")
    assert "HOME /home/nonroot" in release_env and "PYTHONDONTWRITEBYTECODE 1" in release_env
    (label,) = [c for c in release if c.cmd.upper() == "LABEL"]
    keys = {label.value[i] for i in range(0, len(label.value), 2)}
    assert keys == {
        f"org.opencontainers.image.{k}"
        for k in ("title", "description", "source", "version", "revision", "created", "licenses")
    }
    assert (base == "scratch") == ("interpreter" in stages and "runtime" in stages)
    assert (project / "docker" / "python_runtime.py").is_file() == (base == "scratch")


def test_catalog_payload_and_rules() -> None:
    assert CATALOG.payload_for(Base.DISTROLESS) == ("/app/.venv",)
    assert CATALOG.payload_for(Base.SCRATCH) == ("/app/.venv", "/usr")
    assert not CATALOG.supports(Base.DISTROLESS, "3.12")
    assert CATALOG.supports(Base.SCRATCH, "3.12") and CATALOG.supports(Base.ALPINE, "3.12")
    assert CATALOG.debug_port == DEBUG_PORT


# --- plain cookiecutter = stagekit ---------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_default_project_layout_and_pyproject(tmp_path: Path, base: str) -> None:
    # Plain cookiecutter renders the same tree: tests/fast/test_project_files.py.
    given = {"base": base}
    answers = validate(CATALOG, {**defaults(CATALOG, given), **given})
    ours = generate(CATALOG, answers, tmp_path / answers.project_name).path
    names = ProjectNames.derive(answers.project_name)
    assert (ours / "src" / names.package / "__main__.py").is_file()
    pyproject = tomllib.loads((ours / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == names.dist
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert "debugpy" not in str(pyproject["project"]["dependencies"])
    assert {"dev", "debug"} <= set(pyproject["dependency-groups"])


# --- free text is data ---------------------------------------------------------------------


@needs_uv
def test_free_text_lands_literally_and_every_file_parses(tmp_path: Path) -> None:
    project = render_project(tmp_path, "python", "scratch", description=NASTY, owner=NASTY_OWNER)
    folded = " ".join(NASTY.split())

    # TOML, and the installed metadata the service answers GET / from.
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == folded
    assert uv(project, "sync", "--locked").returncode == 0
    probe = uv(
        project,
        "run",
        "--locked",
        "python",
        "-c",
        "import json; from fastapi.testclient import TestClient;"
        " from demo_svc.app import create_app;"
        " print(json.dumps(TestClient(create_app()).get('/').json()))",
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["description"] == folded
    check = uv(project, "run", "--locked", "ruff", "check", ".")
    assert check.returncode == 0, check.stdout

    # Dockerfile: one line, literal.
    import dockerfile

    labels = [
        c for c in dockerfile.parse_file(str(project / "Dockerfile")) if c.cmd.upper() == "LABEL"
    ]
    values = dict(zip(labels[0].value[::2], labels[0].value[1::2], strict=True))
    assert dockerfile_word(values["org.opencontainers.image.description"]) == folded

    # YAML, JSON and Markdown.
    for name in ("compose.yaml", ".github/workflows/ci.yml"):
        assert isinstance(yaml.safe_load((project / name).read_text()), dict), name
    recorded = json.loads((project / ".stagekit.json").read_text())
    assert recorded["answers"]["description"] == NASTY
    assert recorded["catalog"]["payload"] == ["/app/.venv", "/usr"]
    readme = (project / "README.md").read_text()
    assert NASTY in readme and " ".join(NASTY_OWNER.split()) in readme


# --- the scratch runtime builder ------------------------------------------------------------


def debian_python() -> Path | None:
    """A Debian-built interpreter on this machine (static libpython, /usr/lib/python3.X)."""
    for candidate in sorted(Path("/usr/bin").glob("python3.[0-9]*")):
        if re.fullmatch(r"python3\.\d+", candidate.name) and not candidate.is_symlink():
            return candidate
    return None


DEBIAN_PYTHON = debian_python()


@pytest.mark.skipif(
    DEBIAN_PYTHON is None or os.geteuid() != 0 or shutil.which("ldd") is None,
    reason="needs root, ldd and a Debian python3.X in /usr/bin",
)
def test_scratch_runtime_runs_alone_in_a_chroot(tmp_path: Path) -> None:
    """docker/python_runtime.py gives an interpreter that starts with nothing else around it,
    as uid 65532, from a bytecode-only standard library, without the pruned modules."""
    assert DEBIAN_PYTHON is not None
    project = render_project(tmp_path, "python", "scratch")
    runtime = tmp_path / "runtime"
    built = subprocess.run(
        [str(DEBIAN_PYTHON), "docker/python_runtime.py", "interpreter", str(runtime)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    print(built.stdout.strip())
    version = DEBIAN_PYTHON.name.removeprefix("python")
    archive = runtime / "usr" / "lib" / f"python{version.replace('.', '')}.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert "os.pyc" in names and "json/__init__.pyc" in names
        assert not [n for n in names if n.endswith(".py")], "sources are not shipped"
        for pruned in ("test/", "tkinter/", "idlelib/", "ensurepip/", "sqlite3/", "unittest/"):
            assert not [n for n in names if n.startswith(pruned)], pruned
        assert "encodings/utf_8.pyc" in names and "encodings/shift_jis.pyc" not in names
        flags = int.from_bytes(zipped.read("os.pyc")[4:8], "little")
        assert flags == 1, "unchecked hash-based bytecode: valid without its source"
    files = [p for p in runtime.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    print(f"runtime for {DEBIAN_PYTHON}: {len(files)} files, {size / 1e6:.2f} MB")

    script = (
        "import sys, ssl, json, asyncio, decimal, hashlib, zlib, ctypes, uuid, email.message,"
        " urllib.request, codecs\n"
        "print(json.dumps({'path': sys.path, 'prefix': sys.prefix, 'ssl': ssl.OPENSSL_VERSION,"
        " 'sha': hashlib.sha256(b'x').hexdigest()[:8]}))\n"
        "for gone in ('sqlite3', 'tkinter', 'unittest'):\n"
        "    try:\n"
        "        __import__(gone)\n"
        "    except ImportError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(gone + ' should be pruned')\n"
        "try:\n"
        "    codecs.lookup('shift_jis')\n"
        "except LookupError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('CJK codecs should be pruned')\n"
    )
    chroot = shutil.which("chroot") or shutil.which("chroot", path="/usr/sbin:/sbin")
    assert chroot, "chroot (coreutils) is not installed"
    ran = subprocess.run(
        [
            chroot,
            "--userspec=65532:65532",
            str(runtime),
            f"/usr/bin/python{version}",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"LANG": "C.UTF-8", "PATH": "/usr/bin"},
    )
    if ran.returncode != 0 and "Operation not permitted" in ran.stderr:
        pytest.skip(f"chroot is not permitted here: {ran.stderr.strip()}")
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    assert ran.stderr == "", f"the interpreter warned: {ran.stderr}"
    info = json.loads(ran.stdout)
    assert info["prefix"] == "/usr" and info["sha"] == "2d711642"
    assert f"/usr/lib/python{version.replace('.', '')}.zip" in info["path"]
