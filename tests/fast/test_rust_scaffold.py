"""The Rust scaffold without Docker: the generated crate passes cargo fmt, clippy and its tests
natively, hadolint is silent on every Dockerfile it can render, the shipped Cargo.lock places the
project's own entry where cargo sorts it for any name, plain cookiecutter renders exactly what
stagekit renders, and free text lands in every file as data."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import string
import subprocess
import time
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from stagekit.model import Base, Language
from stagekit.model.catalog import builtin
from stagekit.model.names import ProjectNames

from tests.helpers import (
    NASTY,
    NASTY_OWNER,
    REPO,
    cookiecutter_cli,
    files_of,
    native_caches,
    native_service_index,
    render_project,
    shellcheck,
)

SCAFFOLD = REPO / "scaffolds" / "rust"
TEMPLATE = SCAFFOLD / "{{cookiecutter.project_name}}"
BASES = [base.value for base in Base]
VERSIONS = list(builtin(Language.RUST).versions)
CARGO = shutil.which("cargo")
needs_cargo = pytest.mark.skipif(CARGO is None, reason="no Rust toolchain on this machine")
# Names that sort before, between and after the dependencies in Cargo.lock, or share a prefix.
LOCK_NAMES = ["a", "zzz-svc", "tokio-app", "serde-thing", "http-body-x", "axum0", "zmij-z"]


def cargo_env() -> dict[str, str]:
    return {**os.environ, **native_caches(), "CARGO_TERM_COLOR": "never"}


def run(cmd: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=cargo_env(), check=False
    )


def render_in(folder: Path, base: str = "distroless", **answers: Any) -> Path:
    """render_project into a folder of its own (created here)."""
    folder.mkdir(parents=True, exist_ok=True)
    return render_project(folder, "rust", base, **answers)


def lock_names(lock_text: str) -> list[str]:
    return re.findall(r'^name = "([^"]+)"$', lock_text, re.MULTILINE)


def random_name(rng: random.Random) -> str:
    letters = string.ascii_lowercase
    parts = [
        rng.choice(letters) + "".join(rng.choices(letters + string.digits, k=rng.randint(0, 8)))
        for _ in range(rng.randint(1, 3))
    ]
    return "-".join(parts)


def relock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rust_relock", SCAFFOLD / "relock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- native tools -------------------------------------------------------------------------


@needs_cargo
def test_fmt_clippy_and_tests_pass_natively(tmp_path: Path) -> None:
    project = render_project(tmp_path, "rust", "scratch")
    fmt = run(["cargo", "fmt", "--check"], project)
    assert fmt.returncode == 0, f"cargo fmt --check:\n{fmt.stdout}{fmt.stderr}"
    clippy = run(["cargo", "clippy", "--locked", "--all-targets", "--", "-D", "warnings"], project)
    assert clippy.returncode == 0, f"cargo clippy -D warnings:\n{clippy.stderr}"
    started = time.monotonic()
    test = run(["cargo", "test", "--locked"], project)
    print(f"cargo test: {time.monotonic() - started:.1f}s\n{test.stdout}")
    assert test.returncode == 0, f"cargo test failed:\n{test.stdout}{test.stderr}"
    passed = sum(int(n) for n in re.findall(r"test result: ok\. (\d+) passed", test.stdout))
    assert passed >= 15, f"expected the unit and integration tests to run, got:\n{test.stdout}"
    assert "tests/service.rs" in test.stderr, "the integration tests in tests/ did not run"


def test_the_rust_sources_do_not_depend_on_the_base(tmp_path: Path) -> None:
    """One native run above covers every base: only the Docker files differ between bases."""
    rendered = {base: files_of(render_in(tmp_path / base, base)) for base in BASES}
    docker_files = {"Dockerfile", "README.md"}
    for base in BASES[1:]:
        different = {
            name for name in rendered[base] if rendered[base][name] != rendered[BASES[0]][name]
        }
        assert different <= docker_files, f"{base}: {different - docker_files} differ"


@needs_cargo
def test_a_failing_rust_test_fails_cargo_test(tmp_path: Path) -> None:
    """The native check above can fail: a broken handler is caught by the generated tests."""
    project = render_project(tmp_path, "rust")
    server = project / "src" / "server.rs"
    text = server.read_text()
    assert '"Hello, {name}!"' in text
    server.write_text(text.replace('"Hello, {name}!"', '"Hi, {name}"'))
    test = run(["cargo", "test", "--locked", "--lib"], project)
    assert test.returncode != 0, f"cargo test passed on a broken handler:\n{test.stdout}"
    assert "hello_greets" in test.stdout and "FAILED" in test.stdout


@needs_cargo
def test_rustfmt_is_clean_for_the_longest_name_and_description(tmp_path: Path) -> None:
    """Import lines carry the crate name and the description reaches the code: the generated
    code must stay formatted at 63 characters of name and 500 of description."""
    name = ("svc-" + "abcdefghij" * 7)[:63]
    assert len(name) == 63
    description = ("Ein sehr langer Text über 服务 " * 30)[:500]
    project = render_project(tmp_path, "rust", project_name=name, description=description)
    fmt = run(["cargo", "fmt", "--check"], project)
    assert fmt.returncode == 0, f"cargo fmt --check with a {len(name)}-char name:\n{fmt.stdout}"


# --- Cargo.lock -----------------------------------------------------------------------------


def test_lock_entry_lands_at_its_sorted_position_for_any_name(tmp_path: Path) -> None:
    """Pure rendering, many names: the lock is cargo's own for the dependencies, sorted by name
    as cargo sorts (bytes), with the project's entry exactly once."""
    rng = random.Random(5)
    names = LOCK_NAMES + [random_name(rng) for _ in range(40)]
    reference: list[str] | None = None
    for name in names:
        lock = render_in(tmp_path / name, project_name=name) / "Cargo.lock"
        text = lock.read_text()
        listed = lock_names(text)
        assert listed.count(name) == 1, f"{name}: own entry {listed.count(name)} times"
        assert listed == sorted(listed, key=str.encode), f"{name}: entries out of order"
        deps = [n for n in listed if n != name]
        reference = reference or deps
        assert deps == reference, f"{name}: the dependency entries differ"
        assert "{" not in text and "%" not in text, f"{name}: Jinja left in Cargo.lock"
        assert text.startswith("# This file is automatically @generated by Cargo.\n")
        assert text.endswith("\n") and not text.endswith("\n\n")
        assert "\n\n\n" not in text
        tomllib.loads(text)


@needs_cargo
@pytest.mark.parametrize("name", [*LOCK_NAMES, random_name(random.Random()), "q" + "0" * 5])
def test_cargo_accepts_the_lock_unchanged(tmp_path: Path, name: str) -> None:
    """`cargo metadata --locked` accepts the lock, and cargo without --locked (which rewrites the
    file in its own order) leaves it byte for byte as rendered."""
    project = render_project(tmp_path, "rust", project_name=name)
    rendered = (project / "Cargo.lock").read_bytes()
    locked = run(["cargo", "metadata", "--locked", "--format-version=1"], project)
    assert locked.returncode == 0, f"{name}: {locked.stderr}"
    free = run(["cargo", "metadata", "--format-version=1"], project)
    assert free.returncode == 0, free.stderr
    assert (project / "Cargo.lock").read_bytes() == rendered, (
        f"{name}: cargo rewrote Cargo.lock (the project's entry is out of place)"
    )


@needs_cargo
def test_a_random_name_builds_with_locked(tmp_path: Path) -> None:
    name = random_name(random.Random()) + "-svc"
    project = render_project(tmp_path, "rust", project_name=name)
    build = run(["cargo", "build", "--locked"], project)
    print(f"{name}: cargo build --locked rc={build.returncode}")
    assert build.returncode == 0, f"{name}: {build.stderr[-3000:]}"


@needs_cargo
def test_the_lock_template_is_what_relock_generates(tmp_path: Path) -> None:
    """The template is relock.py's output for the current Cargo.toml, not hand-edited."""
    relock = relock_module()
    project = render_project(tmp_path, "rust", project_name=relock.PLACEHOLDER)
    assert (
        relock.to_template((project / "Cargo.lock").read_text())
        == (TEMPLATE / "Cargo.lock").read_text()
    )


def test_relock_refuses_a_lock_it_cannot_template() -> None:
    relock = relock_module()
    with pytest.raises(ValueError, match="expected one"):
        relock.to_template('version = 4\n\n[[package]]\nname = "other"\nversion = "1.0.0"\n')


# --- the Dockerfile -----------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_dockerfile_keeps_the_contract(tmp_path: Path, base: str) -> None:
    import dockerfile

    project = render_project(tmp_path, "rust", base, version="1.94")
    text = (project / "Dockerfile").read_text()
    assert not text.startswith("# syntax"), "a syntax line makes BuildKit pull a frontend"
    assert "ARG RUST_VERSION=1.94\n" in text
    commands = dockerfile.parse_string(text)
    froms = [c for c in commands if c.cmd.upper() == "FROM"]
    stages = [c.value[2] for c in froms]
    named = [s for s in stages if s in ("build", "test", "debug", "release")]
    assert named == ["build", "test", "debug", "release"], stages
    assert stages[-1] == "release" and "scratch" not in stages
    by_name = {c.value[2]: c for c in froms}
    assert by_name["build"].value[0] == "rust:${RUST_VERSION}-trixie"
    assert by_name["build"].flags == ("--platform=$BUILDPLATFORM",)
    assert by_name["test"].value[0] == "build"
    assert by_name["debug"].value[0] == "debian:trixie-slim"
    assert froms[-1].value[0] == builtin(Language.RUST).images["release"][base]

    def stage(name: str) -> list[Any]:
        start = commands.index(by_name[name]) + 1
        later = [i for i, c in enumerate(commands) if c.cmd.upper() == "FROM" and i >= start]
        return list(commands[start : later[0] if later else len(commands)])

    release = stage("release")
    kinds = [c.cmd.upper() for c in release]
    assert "RUN" not in kinds, "the release stage must have no RUN"
    assert [c.value for c in release if c.cmd.upper() == "USER"] == [("65532:65532",)]
    copies = [c for c in release if c.cmd.upper() == "COPY"]
    assert copies and all("--link" in c.flags for c in copies)
    (entrypoint,) = [c for c in release if c.cmd.upper() == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value == ("/usr/local/bin/demo-svc",)
    (health,) = [c for c in release if c.cmd.upper() == "HEALTHCHECK"]
    assert health.value == ("CMD", "/usr/local/bin/demo-svc", "healthcheck")
    assert {f.split("=")[0] for f in health.flags} == {
        "--interval",
        "--timeout",
        "--start-period",
        "--start-interval",
    }
    assert ("SIGTERM",) in [c.value for c in release if c.cmd.upper() == "STOPSIGNAL"]

    build_runs = [" ".join(c.value) for c in stage("build") if c.cmd.upper() == "RUN"]
    dependency_step = next(r for r in build_runs if "cargo fetch" in r)
    assert "cargo build --locked --release" in dependency_step
    final = build_runs[-1]
    # The release binary carries its crate list for scanners (docs/smoke.md, "Inventory").
    assert "cargo auditable build --locked --release" in final and "/out/usr/local/bin/" in final
    assert any("cargo install --locked" in r and "cargo-auditable" in r for r in build_runs)
    assert 'ARG RELEASE_RUSTFLAGS="-C target-feature=+crt-static"' in text
    # Every step that may download takes the optional CA secret.
    for command in commands:
        joined = " ".join(command.value)
        if command.cmd.upper() == "RUN" and re.search(r"cargo fetch|apt-get|rustup", joined):
            assert any("id=ca_bundle" in f for f in command.flags), joined
    test_run = " ".join(" ".join(c.value) for c in stage("test") if c.cmd.upper() == "RUN")
    for needle in (
        "cargo fmt --check",
        "cargo clippy --locked --all-targets -- -D warnings",
        "cargo test --locked",
    ):
        assert needle in test_run, f"{needle!r} missing from the test stage"
    assert "rustup component add clippy rustfmt" in text
    debug = stage("debug")
    (gdb,) = [c for c in debug if c.cmd.upper() == "ENTRYPOINT"]
    assert gdb.json and gdb.value[0] == "/usr/bin/gdbserver"
    assert "0.0.0.0:2345" in gdb.value and gdb.value[-1] == "/usr/local/bin/demo-svc"


def test_the_dependency_recipe_hides_name_version_and_description(tmp_path: Path) -> None:
    """The recipe stage's script, run natively: two projects that differ only in name,
    description, version and comments get the same recipe, so they share the dependency layer."""
    import dockerfile

    recipes = []
    for index, (name, description) in enumerate([("demo-svc", "one"), ("zz-other-name", NASTY)]):
        project = render_in(tmp_path / name, project_name=name, description=description)
        if index:
            cargo_toml = project / "Cargo.toml"
            cargo_toml.write_text(
                cargo_toml.read_text().replace('version = "0.1.0"', 'version = "2.3.4"', 1)
                + "\n# a comment edited later\n"
            )
            cargo_lock = project / "Cargo.lock"
            cargo_lock.write_text(
                cargo_lock.read_text().replace(
                    f'name = "{name}"\nversion = "0.1.0"', f'name = "{name}"\nversion = "2.3.4"'
                )
            )
        commands = dockerfile.parse_file(str(project / "Dockerfile"))
        start = next(
            i for i, c in enumerate(commands) if c.cmd.upper() == "FROM" and c.value[2] == "recipe"
        )
        script = next(c.value[0] for c in commands[start + 1 :] if c.cmd.upper() == "RUN")
        out = tmp_path / f"recipe-{index}"
        result = subprocess.run(
            # The bind mount's source is the project's own script.
            [
                "sh",
                "-c",
                script.replace("/tmp/cargo-", "docker/cargo-").replace("/recipe", str(out)),
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        recipes.append(files_of(out))
    assert recipes[0] == recipes[1], "the recipe depends on the project's name or description"
    manifest = tomllib.loads(recipes[0]["Cargo.toml"].decode())
    assert manifest["package"] == {"name": "app", "version": "0.0.0", "edition": "2024"}
    assert "lib" not in manifest and "bin" not in manifest
    assert set(manifest["dependencies"]) >= {"axum", "tokio"}
    assert manifest["profile"]["release"]["lto"] == "fat"
    lock = recipes[0]["Cargo.lock"].decode()
    # The package's own entry, renamed, moves to the end: its place no longer depends on the name.
    assert lock.split("\n\n")[-1].startswith('[[package]]\nname = "app"\nversion = "0.0.0"\n')
    assert lock_names(lock).count("app") == 1 and not lock.endswith("\n\n")
    if CARGO is not None:
        locked = run(["cargo", "metadata", "--locked", "--format-version=1"], tmp_path / "recipe-0")
        assert locked.returncode == 0, f"cargo refuses the recipe's lock: {locked.stderr}"


# --- plain cookiecutter = stagekit ---------------------------------------------------------


def test_derived_names_agree_with_stagekit(tmp_path: Path) -> None:
    name = "my-rust-svc"
    plain = cookiecutter_cli(tmp_path, SCAFFOLD, f"project_name={name}")
    names = ProjectNames.derive(name)
    manifest = tomllib.loads((plain / "Cargo.toml").read_text())
    assert manifest["package"]["name"] == names.project
    assert manifest["lib"]["name"] == names.crate == "my_rust_svc"
    assert manifest["bin"] == [{"name": names.binary, "path": "src/main.rs"}]


# --- free text is data ---------------------------------------------------------------------


@needs_cargo
def test_free_text_lands_literally_and_every_file_parses(tmp_path: Path) -> None:
    project = render_project(tmp_path, "rust", "scratch", description=NASTY, owner=NASTY_OWNER)

    manifest = tomllib.loads((project / "Cargo.toml").read_text())
    assert manifest["package"]["description"] == NASTY
    assert manifest["package"]["authors"] == [NASTY_OWNER]

    # Rust: the description is a string constant that the service returns as is.
    target = Path(native_caches()["CARGO_TARGET_DIR"])
    built = run(["cargo", "build", "--locked", "--bin", "demo-svc"], project)
    assert built.returncode == 0, built.stderr[-3000:]
    binary = tmp_path / "svc"
    shutil.copy2(target / "debug" / "demo-svc", binary)
    assert native_service_index(binary)["description"] == NASTY

    import dockerfile

    labels = [
        c for c in dockerfile.parse_file(str(project / "Dockerfile")) if c.cmd.upper() == "LABEL"
    ]
    values = dict(zip(labels[0].value[::2], labels[0].value[1::2], strict=True))
    raw = values["org.opencontainers.image.description"]
    assert raw.startswith('"') and raw.endswith('"')
    unescaped = re.sub(r"\\(.)", r"\1", raw[1:-1])
    assert unescaped == " ".join(NASTY.split())

    for name in ("compose.yaml", ".github/workflows/ci.yml"):
        assert isinstance(yaml.safe_load((project / name).read_text()), dict), name
    recorded = json.loads((project / ".stagekit.json").read_text())
    assert recorded["answers"]["description"] == NASTY
    readme = (project / "README.md").read_text()
    assert NASTY in readme and " ".join(NASTY_OWNER.split()) in readme


# --- docker/cargo-recipe.sh: the dependency recipe -------------------------------------------


def test_the_recipe_script_passes_shellcheck(tmp_path: Path) -> None:
    project = render_project(tmp_path, "rust", "scratch")
    done = shellcheck("docker/cargo-recipe.sh", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_recipe_script_refuses_a_manifest_without_a_package(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    shutil.copy(TEMPLATE / "docker" / "cargo-recipe.sh", tmp_path / "docker")
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    (tmp_path / "Cargo.lock").write_text("")
    done = subprocess.run(
        ["sh", "docker/cargo-recipe.sh", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "cargo-recipe: no [package] name in Cargo.toml"
