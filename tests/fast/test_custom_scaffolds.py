"""Custom scaffolds: from a folder, from a git repository (cloned, then removed), by a configured
name; validated before anything is asked, with the missing key named."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stagekit.errors import ScaffoldError
from stagekit.model import Language
from stagekit.model.catalog import builtin
from stagekit.model.digest import tree_digest
from stagekit.org.sources import list_scaffolds, open_scaffold, resolve

from tests.helpers import run_cli

GIT_ID = ["-c", "user.name=Template Team", "-c", "user.email=t@example.com"]


def isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STAGEKIT_CONFIG"}
    (tmp_path / "xdg").mkdir(exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env | {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "TMPDIR": str(tmp_path / "tmp"),  # where clones go: checked empty afterwards
        "NO_COLOR": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *GIT_ID, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"},
        check=True,
    )
    return result.stdout.strip()


def team_scaffold(folder: Path, **changes: Any) -> Path:
    """A team's own scaffold: a copy of scaffolds/go (links followed), keys changed or removed."""
    shutil.copytree(builtin(Language.GO).path, folder)
    config = folder / "cookiecutter.json"
    data = json.loads(config.read_text())
    data["_stagekit"]["scaffold_version"] = "7.1.0"
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is None:
            del target[key]
        else:
            target[key] = value
    config.write_text(json.dumps(data, indent=2))
    return folder


def git_repository(folder: Path) -> str:
    git("init", "--quiet", "--initial-branch=main", cwd=folder)
    git("add", "--all", cwd=folder)
    git("commit", "--quiet", "-m", "team scaffold", cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder)


def try_open(spec: str, **options: Any) -> None:
    with open_scaffold(spec, **options):
        pass


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


# --- rendering ----------------------------------------------------------------------------------


def test_a_scaffold_from_a_local_folder_renders(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "templates" / "payments-go")
    env = isolated_env(tmp_path)
    result = run_cli(
        "new", "ledger", "--scaffold", str(folder), "--base", "scratch", "--no-input",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"from scaffold {folder}" in result.stdout
    project = tmp_path / "ledger"
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["scaffold"] == {
        "name": "payments-go",
        "source": str(folder),
        "version": "7.1.0",
        "digest": tree_digest(folder),  # what stagekit update needs to find this revision again
        "path": str(folder),
    }
    assert record["answers"]["language"] == "go" and record["answers"]["base"] == "scratch"
    assert (project / "cmd" / "ledger").is_dir() and (project / "Dockerfile").is_file()
    assert not (project / "cookiecutter.json").exists()


def test_a_scaffold_from_a_local_git_repository_is_cloned_at_its_commit(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "repos" / "payments-go")
    commit = git_repository(folder)
    # Uncommitted work must not reach a project made from the repository's URL.
    readme = folder / "{{cookiecutter.project_name}}" / "README.md"
    readme.write_text(readme.read_text() + "\nUNCOMMITTED\n")
    env = isolated_env(tmp_path)
    for spec, dest in ((folder.as_uri(), "from-url"), (f"git+{folder}", "from-path")):
        result = run_cli("new", dest, "--scaffold", spec, "--no-input", cwd=tmp_path, env=env)
        assert result.returncode == 0, f"{spec}: {result.stderr}"
        project = tmp_path / dest
        record = json.loads((project / ".stagekit.json").read_text())
        assert record["scaffold"].pop("digest").startswith("sha256:")
        assert record["scaffold"] == {
            "name": "payments-go",
            "source": spec,
            "version": "7.1.0",
            "commit": commit,
        }
        assert "UNCOMMITTED" not in (project / "README.md").read_text(), "cloned, not copied"
        assert leftovers(tmp_path) == [], "the clone must be removed"
    # The same folder used as a folder renders the working tree, uncommitted change included.
    result = run_cli(
        "new", "as-folder", "--scaffold", str(folder), "--no-input", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "UNCOMMITTED" in (tmp_path / "as-folder" / "README.md").read_text()


def test_a_branch_and_a_subdirectory_of_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "monorepo"
    team_scaffold(repo / "templates" / "go-service")
    git_repository(repo)
    git("checkout", "--quiet", "-b", "v2", cwd=repo)
    config = repo / "templates" / "go-service" / "cookiecutter.json"
    data = json.loads(config.read_text())
    data["_stagekit"]["scaffold_version"] = "8.0.0"
    config.write_text(json.dumps(data))
    git("commit", "--quiet", "-am", "v2", cwd=repo)
    git("checkout", "--quiet", "main", cwd=repo)
    spec = f"{repo.as_uri()}#ref=v2&subdirectory=templates/go-service"
    with open_scaffold(spec) as opened:
        clone_root = opened.scaffold.path.parents[1]
        assert opened.scaffold.name == "go-service"
        assert opened.scaffold.scaffold_version == "8.0.0"
        assert opened.commit == git("rev-parse", "v2", cwd=repo)
        assert clone_root.is_dir()
    assert not clone_root.exists(), "the temporary clone is removed when the block ends"
    with pytest.raises(ScaffoldError, match="no folder 'nowhere' in the repository"):
        try_open(f"{repo.as_uri()}#subdirectory=nowhere")
    with pytest.raises(ScaffoldError, match="no folder"):
        try_open(f"{repo.as_uri()}#subdirectory=../../etc")


def test_a_configured_name_and_the_scaffolds_listing(tmp_path: Path) -> None:
    team_scaffold(tmp_path / "org" / "templates" / "payments")
    repo = team_scaffold(tmp_path / "org" / "repos" / "events")
    git_repository(repo)
    (tmp_path / "org" / "stagekit.toml").write_text(
        '[scaffolds]\npayments = "templates/payments"\nevents = "git+repos/events"\n'
        'broken = "templates/missing"\n'
    )
    env = isolated_env(tmp_path)
    org = tmp_path / "org"
    result = run_cli("new", "ledger", "--scaffold", "payments", "--no-input", cwd=org, env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads((org / "ledger" / ".stagekit.json").read_text())
    assert record["scaffold"]["name"] == "payments"
    assert record["scaffold"]["source"] == str(org / "templates" / "payments")

    listing = run_cli("scaffolds", "--json", cwd=org, env=env)
    assert listing.returncode == 2, "a configured scaffold that cannot be used is an error"
    assert listing.stderr == "stagekit: error: scaffold 'broken' is unavailable\n"
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert rows["payments"]["language"] == "go"
    assert rows["payments"]["versions"] == list(builtin(Language.GO).versions)
    assert rows["payments"]["bases"] == ["distroless", "scratch", "alpine"]
    assert rows["events"]["source"] == f"git+{org / 'repos' / 'events'}"
    assert len(rows["events"]["commit"]) == 40
    assert "not found" in rows["broken"]["error"]
    assert rows["go"]["source"] == "builtin" and rows["rust"]["source"] == "builtin"
    assert leftovers(tmp_path) == []

    text = run_cli("scaffolds", cwd=org, env=env)
    lines = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip()}
    assert "bases: distroless, scratch, alpine" in lines["payments"]
    assert "source: builtin" in lines["go"]
    assert "unavailable:" in lines["broken"]


def test_listing_without_configured_scaffolds_succeeds(tmp_path: Path) -> None:
    entries = list_scaffolds({})
    names = [e.name for e in entries]
    assert names[:2] == ["go", "rust"]
    assert all(e.source == "builtin" for e in entries)


def test_the_registry_mapping_reaches_a_custom_scaffold(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "payments-go")
    (tmp_path / "stagekit.toml").write_text('[registry]\nprefix = "mirror.corp.example/hub"\n')
    result = run_cli(
        "new", "mirrored", "--scaffold", str(folder), "--no-input",
        cwd=tmp_path, env=isolated_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    froms = [
        line.split()[-3]
        for line in (tmp_path / "mirrored" / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ") and " AS " in line and not line.split()[-3].isidentifier()
    ]
    assert froms and all(f.startswith("mirror.corp.example/hub/") for f in froms), froms


# --- refused up front, with the key named -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"port": None}, "missing required key 'port'"),
        ({"_stagekit__debug_port": None}, "missing required key '_stagekit.debug_port'"),
        ({"_stagekit__images__debug": None}, "missing required key '_stagekit.images.debug'"),
        ({"_stagekit": None}, "missing required key '_stagekit'"),
        ({"_registry": None}, "missing required key '_registry'"),
        ({"_extensions": None}, "missing required key '_extensions'"),
        ({"_stagekit__network_args": "GOPROXY"}, "'_stagekit.network_args' must be a list"),
        ({"_stagekit__language": "cobol"}, "invalid catalog value"),
    ],
)
def test_a_scaffold_missing_a_required_key_is_refused_with_the_key_named(
    tmp_path: Path, changes: dict[str, Any], named: str
) -> None:
    folder = team_scaffold(tmp_path / "incomplete", **changes)
    env = isolated_env(tmp_path)
    started = time.monotonic()
    result = run_cli("new", "svc", "--scaffold", str(folder), "--no-input", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout
    assert named in result.stderr, result.stderr
    assert result.stderr.startswith(f"stagekit: error: {folder}"), "the file is named"
    assert not (tmp_path / "svc").exists()
    assert time.monotonic() - started < 30


def test_missing_template_folder_and_filters_are_refused(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "no-filters")
    (folder / "local_extensions.py").unlink()
    with pytest.raises(ScaffoldError, match=r"missing local_extensions\.py"):
        try_open(str(folder))
    shutil.rmtree(folder / "{{cookiecutter.project_name}}")
    with pytest.raises(ScaffoldError, match="missing the template folder"):
        try_open(str(folder))


def test_a_broken_git_repository_is_refused_in_the_same_way_and_the_clone_removed(
    tmp_path: Path,
) -> None:
    folder = team_scaffold(tmp_path / "repo", _registry=None)
    git_repository(folder)
    env = isolated_env(tmp_path)
    result = run_cli(
        "new", "svc", "--scaffold", folder.as_uri(), "--no-input", cwd=tmp_path, env=env
    )
    assert result.returncode == 2
    assert "missing required key '_registry'" in result.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nowhere/at-all", "not found: not a configured or built-in name, a folder or a git URL"),
        ("file:///nonexistent/repo.git", "cannot clone scaffold 'file:///nonexistent/repo.git'"),
        ("git+/nonexistent/repo", "no git repository at /nonexistent/repo"),
        ("https://x.invalid/r.git#branch=v1", "unknown '#branch='"),
    ],
)
def test_bad_sources_are_one_clear_error(tmp_path: Path, spec: str, message: str) -> None:
    result = run_cli(
        "new", "svc", "--scaffold", spec, "--no-input", cwd=tmp_path, env=isolated_env(tmp_path)
    )
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[0], result.stderr
    assert not (tmp_path / "svc").exists() and leftovers(tmp_path) == []


def test_a_missing_ref_names_gits_reason(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "repo")
    git_repository(folder)
    with pytest.raises(ScaffoldError, match=r"cannot clone .*: fatal: .*v9"):
        try_open(f"{folder.as_uri()}#ref=v9")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung git server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    server.close()


def test_a_hung_clone_is_stopped_at_the_timeout(
    tmp_path: Path, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)  # straight to the silent server
    url = f"http://127.0.0.1:{silent_server}/team/scaffold.git"
    started = time.monotonic()
    with pytest.raises(ScaffoldError, match=r"took longer than 2 s: stopped"):
        try_open(url, timeout=2)
    elapsed = time.monotonic() - started
    print(f"hung clone stopped after {elapsed:.1f} s")
    assert elapsed < 10, f"the timeout must bound the clone (took {elapsed:.1f} s)"


def test_how_sources_are_recognised(tmp_path: Path) -> None:
    folder = team_scaffold(tmp_path / "plain")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True, timeout=30)
    assert resolve("go").kind == "builtin"
    assert resolve(str(folder)).kind == "folder"
    assert resolve(str(bare)).kind == "git", "a bare repository has no cookiecutter.json: cloned"
    assert resolve("git@git.corp.example:team/go.git").kind == "git"
    assert resolve("ssh://git@git.corp.example/team/go.git").name == "go"
    assert resolve("payments", {"payments": str(folder)}).name == "payments"
    source = resolve("git+https://git.corp.example/t/templates.git#ref=v1&subdirectory=svc/go")
    assert (source.location, source.ref, source.subdirectory, source.name) == (
        "https://git.corp.example/t/templates.git",
        "v1",
        "svc/go",
        "go",
    )
