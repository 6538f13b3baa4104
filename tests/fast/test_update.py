"""stagekit update, check and diff on real git repositories (issue 16).

Scaffold revisions are made here: a built-in scaffold copied with its symlinks resolved (v1) and an
edited copy (v2: a Dockerfile line, a new file, a removed file, a renamed path, a binary file).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stagekit.cli.main import main
from stagekit.lint.run import lint
from stagekit.model import Language
from stagekit.model.catalog import builtin
from stagekit.model.digest import tree_digest
from stagekit.update.shipped import extract, table

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "update" / "go-1.0.0"
TPL = "{{cookiecutter.project_name}}"
BINARY_V1 = bytes(range(256)) * 4
BINARY_V2 = bytes(reversed(range(256))) * 4
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout


def commit_all(cwd: Path, message: str = "change") -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-qm", message)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def index_snapshot(root: Path) -> str:
    return git(root, "ls-files", "--stage")


@pytest.fixture(scope="module")
def revisions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two revisions of a folder scaffold made from the built-in Go one."""
    root = tmp_path_factory.mktemp("scaffolds")
    v1 = root / "v1"
    shutil.copytree(builtin(Language.GO).path, v1, symlinks=False)
    (v1 / TPL / "assets").mkdir()
    (v1 / TPL / "assets" / "logo.bin").write_bytes(BINARY_V1)
    v2 = root / "v2"
    shutil.copytree(v1, v2)
    catalog = json.loads((v2 / "cookiecutter.json").read_text())
    catalog["_stagekit"]["scaffold_version"] = "9.1.0"
    (v2 / "cookiecutter.json").write_text(json.dumps(catalog, indent=2))
    dockerfile = v2 / TPL / "Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(text.replace("#   test     go vet", "#   test     go vet (v2)"))
    (v2 / TPL / "NOTICE.md").write_text("Made from the v2 scaffold.\n")
    (v2 / TPL / "internal" / "healthcheck" / "healthcheck_test.go").unlink()
    (v2 / TPL / "internal" / "config").rename(v2 / TPL / "internal" / "settings")
    (v2 / TPL / "assets" / "logo.bin").write_bytes(BINARY_V2)
    return v1, v2


def version_of(scaffold: Path) -> str:
    return str(
        json.loads((scaffold / "cookiecutter.json").read_text())["_stagekit"]["scaffold_version"]
    )


def make_project(tmp_path: Path, scaffold: Path | str, *extra: str) -> Path:
    args = [
        "new",
        str(tmp_path / "svc"),
        "--name",
        "svc",
        "--scaffold",
        str(scaffold),
        "--no-input",
    ]
    assert main([*args, "--base", "scratch", *extra]) == 0
    project = tmp_path / "svc"
    git(project, "init", "-q")
    commit_all(project, "generated")
    return project


def update(project: Path, *args: str) -> int:
    return main(["update", str(project), "--no-lint", *args])


def report(
    project: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = update(project, "--json", *args)
    return code, json.loads(capsys.readouterr().out)


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["status"] for f in data["files"]}


# --- revisions -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(Language))
def test_scaffold_content_is_a_shipped_revision(language: Language, tmp_path: Path) -> None:
    """Changing a scaffold's content without bumping its scaffold_version fails here."""
    scaffold = builtin(language)
    shipped = table()[language.value]
    assert scaffold.scaffold_version in shipped, "release it: python -m stagekit.update.shipped"
    assert tree_digest(scaffold.path) == shipped[scaffold.scaffold_version], (
        f"the {language} scaffold changed: bump _stagekit.scaffold_version in its"
        " cookiecutter.json, then run python -m stagekit.update.shipped"
    )
    for version in shipped:
        extract(language.value, version, tmp_path / version)  # verifies the archive's digest


@pytest.mark.parametrize("language", list(Language))
def test_the_current_revision_archive_renders_what_the_built_in_renders(
    language: Language, tmp_path: Path
) -> None:
    """The archive holds the shared partials as files: BASE renders without stagekit's source."""
    scaffold = builtin(language)
    shipped = extract(language.value, scaffold.scaffold_version, tmp_path / "shipped")
    assert not any(p.is_symlink() for p in shipped.rglob("*"))
    renders = {}
    for name, source in (("builtin", language.value), ("archive", str(shipped))):
        (tmp_path / name).mkdir()
        argv = ["new", str(tmp_path / name / "svc"), "--scaffold", source, "--no-input"]
        assert main([*argv, "--owner", "o", "--config", os.devnull]) == 0
        renders[name] = snapshot(tmp_path / name / "svc")
        renders[name].pop(".stagekit.json")
    assert renders["archive"] == renders["builtin"]


def test_revision_1_0_0_rerenders_the_stagekit_0_1_0_fixture(tmp_path: Path) -> None:
    from stagekit.update.base import base_scaffold, render
    from stagekit.update.record import read_record

    record = read_record(FIXTURE)
    assert record.kind == "builtin" and record.version == "1.0.0" and record.files is None
    with base_scaffold(record) as scaffold:
        assert scaffold is not None
        rendered = render(scaffold, record.answers, record, tmp_path)
    expected = snapshot(FIXTURE)
    got = snapshot(rendered.root)
    old_record = json.loads(expected.pop(".stagekit.json"))
    new_record = json.loads(got.pop(".stagekit.json"))
    assert got == expected
    assert new_record["answers"] == old_record["answers"]
    assert new_record["catalog"] == old_record["catalog"]


def test_new_records_revision_answers_and_digests(
    tmp_path: Path, revisions: tuple[Path, Path]
) -> None:
    project = make_project(tmp_path, revisions[0])
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["record_schema"] == 2
    assert record["scaffold"]["digest"] == tree_digest(revisions[0])
    assert record["scaffold"]["path"] == str(revisions[0])
    assert set(record["files"]) == set(snapshot(project)) - {".stagekit.json"}


# --- the cases ---------------------------------------------------------------------------------


def test_nothing_to_do_exits_0_and_writes_nothing(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, revisions[0])
    before = snapshot(project)
    code, data = report(project, capsys)
    assert code == 0 and data["files"] == [] and data["written"] is False
    assert snapshot(project) == before


def test_every_case_of_a_three_way_update(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    main_go = project / "cmd" / "svc" / "main.go"
    main_go.write_text(main_go.read_text() + "// a local edit\n")  # changed only locally
    (project / "README.md").unlink()  # deleted by the user
    health_test = project / "internal" / "healthcheck" / "healthcheck_test.go"
    health_test.write_text(health_test.read_text() + "// mine\n")  # removed by v2, changed here
    (project / "NOTICE.md").write_text("my own notice\n")  # v2 adds one
    (project / "assets" / "logo.bin").write_bytes(b"\0mine" * 40)  # binary on both sides
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# a local note\n")  # merged with v2's line
    commit_all(project)

    code, data = report(project, capsys, "--scaffold", str(v2))
    got = statuses(data)
    assert code == 5
    assert got["Dockerfile"] == "merged"
    assert "cmd/svc/main.go" not in got  # kept as is
    assert got["README.md"] == "kept-deleted"
    assert got["internal/healthcheck/healthcheck_test.go"] == "conflict"
    assert got["NOTICE.md"] == "conflict"
    assert got["assets/logo.bin"] == "binary-conflict"
    assert got["internal/config/config.go"] == "removed"  # the scaffold renamed the folder
    assert got["internal/settings/config.go"] == "added"
    text = dockerfile.read_text()
    assert "go vet (v2)" in text and "# a local note" in text
    assert main_go.read_text().endswith("// a local edit\n")
    assert not (project / "README.md").exists()
    assert health_test.read_text().endswith("// mine\n")  # never deleted
    assert (project / "assets" / "logo.bin").read_bytes() == b"\0mine" * 40
    notice = (project / "NOTICE.md").read_text()
    assert "<<<<<<< ours" in notice and ">>>>>>> theirs" in notice
    status = git(project, "status", "--porcelain")
    assert "AA NOTICE.md" in status
    assert "UU assets/logo.bin" in status
    assert "UD internal/healthcheck/healthcheck_test.go" in status
    record = json.loads((project / ".stagekit.json").read_text())
    # never advances while a conflict remains
    assert record["scaffold"]["version"] == version_of(v1)


def test_conflict_on_the_same_line_has_git_markers_and_is_unmerged(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("#   test     go vet", "#   test  MINE"))
    commit_all(project)
    code, data = report(project, capsys, "--scaffold", str(v2))
    assert code == 5 and statuses(data)["Dockerfile"] == "conflict"
    text = dockerfile.read_text()
    assert "<<<<<<< ours" in text and "MINE" in text and "go vet (v2)" in text
    assert "UU Dockerfile" in git(project, "status", "--porcelain")
    stages = {line.split()[2] for line in git(project, "ls-files", "-u", "Dockerfile").splitlines()}
    assert stages == {"1", "2", "3"}


def test_continue_refuses_markers_then_advances_the_record(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("#   test     go vet", "#   test  MINE"))
    commit_all(project)
    assert update(project, "--scaffold", str(v2)) == 5
    assert update(project, "--continue") == 2  # markers remain
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["scaffold"]["version"] == version_of(v1)
    text = dockerfile.read_text()
    start, end = text.index("<<<<<<<"), text.index(">>>>>>>")
    end = text.index("\n", end) + 1
    dockerfile.write_text(text[:start] + "#   test     resolved\n" + text[end:])
    assert update(project, "--continue") == 0
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["scaffold"]["version"] == "9.1.0"
    assert record["scaffold"]["path"] == str(v2)
    assert git(project, "ls-files", "-u") == ""
    commit_all(project, "update to v2")
    capsys.readouterr()
    assert update(project, "--scaffold", str(v2)) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_abort_restores_exactly_the_state_before(
    tmp_path: Path, revisions: tuple[Path, Path]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    (project / "NOTICE.md").write_text("my own notice\n")
    commit_all(project)
    before, index = snapshot(project), index_snapshot(project)
    assert update(project, "--scaffold", str(v2)) == 5
    assert snapshot(project) != before
    assert update(project, "--abort") == 0
    assert snapshot(project) == before
    assert index_snapshot(project) == index
    assert git(project, "status", "--porcelain") == ""


def test_dry_run_writes_nothing_and_prints_report_and_diff(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    before, index = snapshot(project), index_snapshot(project)
    capsys.readouterr()
    assert update(project, "--scaffold", str(v2), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "updated  Dockerfile" in out
    assert "+#   test     go vet (v2)" in out and "--- a/Dockerfile" in out
    assert "+Made from the v2 scaffold." in out
    assert snapshot(project) == before and index_snapshot(project) == index


def test_ci_mode_leaves_no_unmerged_entries_and_records_pending(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    (project / "NOTICE.md").write_text("my own notice\n")
    commit_all(project)
    code, data = report(project, capsys, "--scaffold", str(v2), "--ci")
    assert code == 5 and data["conflicts"] == ["NOTICE.md"]
    assert git(project, "ls-files", "-u") == ""
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["scaffold"]["version"] == "9.1.0" and record["pending"] == ["NOTICE.md"]
    findings = lint(project, checks=["update"]).findings
    assert {(f.path, f.line is None) for f in findings} == {
        ("NOTICE.md", True),
        ("NOTICE.md", False),
    }
    capsys.readouterr()
    assert main(["check", str(project), "--json", "--scaffold", str(v2)]) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == ["NOTICE.md"]
    commit_all(project, "ci update")
    assert update(project, "--scaffold", str(v2)) == 2  # pending conflicts first
    (project / "NOTICE.md").write_text("resolved\n")
    assert update(project, "--continue") == 0
    assert "pending" not in json.loads((project / ".stagekit.json").read_text())
    assert lint(project, checks=["update"]).ok


def test_dirty_tree_outside_git_and_bad_set_are_refused(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    (project / "Makefile").write_text("dirty\n")
    capsys.readouterr()
    assert update(project, "--scaffold", str(v2)) == 2
    assert (
        "uncommitted changes in files stagekit update manages: Makefile" in capsys.readouterr().err
    )
    git(project, "checkout", "Makefile")
    assert update(project, "--set", "base=nope") == 2
    assert update(project, "--set", "language=rust") == 2
    assert update(project, "--set", "port") == 2
    shutil.rmtree(project / ".git")
    assert update(project) == 2
    assert "is not in a git work tree" in capsys.readouterr().err


def test_restore_brings_a_deleted_file_back(tmp_path: Path, revisions: tuple[Path, Path]) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    (project / "README.md").unlink()
    commit_all(project)
    assert update(project, "--scaffold", str(v2), "--restore", "README.md") == 0
    assert (project / "README.md").is_file()


def test_answer_driven_rename_moves_the_users_edits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "go")
    main_go = project / "cmd" / "svc" / "main.go"
    main_go.write_text(main_go.read_text() + "// my handler wiring\n")
    commit_all(project)
    code, data = report(project, capsys, "--set", "name=payments")
    assert code == 0
    assert statuses(data)["cmd/payments/main.go"] == "merged"
    moved = project / "cmd" / "payments" / "main.go"
    assert moved.read_text().endswith("// my handler wiring\n")
    assert not main_go.exists()
    assert json.loads((project / ".stagekit.json").read_text())["answers"]["project_name"] == (
        "payments"
    )


def test_switching_scratch_to_distroless_keeps_edits_to_other_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, "go")
    dockerfile = project / "Dockerfile"
    text = dockerfile.read_text()
    assert "FROM scratch" in text
    marker = "# test stage: my extra note\n"
    dockerfile.write_text(text.replace("FROM build AS test\n", "FROM build AS test\n" + marker))
    commit_all(project)
    assert update(project, "--set", "base=distroless", "--set", "port=9090") == 0
    text = dockerfile.read_text()
    assert marker in text and "FROM scratch" not in text and "distroless" in text
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["answers"]["base"] == "distroless" and record["answers"]["port"] == 9090


def test_two_way_mode_when_the_old_folder_revision_is_gone(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    gone = tmp_path / "v1-copy"
    shutil.copytree(v1, gone)
    project = make_project(tmp_path, gone)
    main_go = project / "cmd" / "svc" / "main.go"
    main_go.write_text(main_go.read_text() + "// mine\n")
    commit_all(project)
    shutil.rmtree(gone)
    code, data = report(project, capsys, "--scaffold", str(v2))
    got = statuses(data)
    assert data["mode"] == "two-way" and code == 5
    assert got["Dockerfile"] == "updated" and got["cmd/svc/main.go"] == "conflict"
    assert main_go.read_text().count("// mine") == 1


def test_check_and_diff(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    capsys.readouterr()
    assert main(["check", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["behind"] is False
    assert main(["check", str(project), "--json", "--scaffold", str(v2)]) == 1
    assert json.loads(capsys.readouterr().out)["behind"] is True
    assert main(["diff", str(project)]) == 0
    assert capsys.readouterr().out == ""
    (project / "Makefile").write_text((project / "Makefile").read_text() + "# drift\n")
    assert main(["diff", str(project)]) == 0
    out = capsys.readouterr().out
    assert "--- a/Makefile" in out and "+# drift" in out


def test_fixture_1_0_0_updates_three_way_to_the_current_scaffold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "fixture-svc"
    shutil.copytree(FIXTURE, project)
    git(project, "init", "-q")
    commit_all(project, "made by stagekit 0.1.0")
    code, data = report(project, capsys)
    assert code == 0 and data["mode"] == "three-way"
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["record_schema"] == 2 and "files" in record


# --- Ctrl-C -----------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["merge", "write"])
def test_ctrl_c_leaves_the_tree_unchanged_or_complete(
    tmp_path: Path, revisions: tuple[Path, Path], phase: str
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    before, index = snapshot(project), index_snapshot(project)
    env = {**os.environ, "STAGEKIT_TEST_PAUSE_AT": phase, "STAGEKIT_TEST_PAUSE_SECONDS": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stagekit",
            "update",
            str(project),
            "--no-lint",
            "--scaffold",
            str(v2),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.strip() == f"stagekit-test-paused: {phase}"
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    if phase == "merge":
        assert snapshot(project) == before and index_snapshot(project) == index
    else:  # every file written, then the interrupt
        record = json.loads((project / ".stagekit.json").read_text())
        assert record["scaffold"]["version"] == "9.1.0"
        assert (project / "NOTICE.md").is_file()
        assert not (project / "internal" / "config").exists()


def test_the_fleet_workflow_in_the_docs_passes_actionlint(tmp_path: Path) -> None:
    guide = (REPO / "docs" / "platform-teams.md").read_text()
    section = guide.split("## Keeping a fleet up to date", 1)[1]
    workflow = section.split("```yaml\n", 1)[1].split("```\n", 1)[0]
    assert "stagekit check --json" in workflow and "stagekit update --ci" in workflow
    actionlint = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(REPO / ".cache" / "native" / "bin")
    )
    if actionlint is None:
        pytest.skip("actionlint not found (tests/fast/test_lint.py builds it into .cache/native)")
    target = tmp_path / ".github" / "workflows" / "stagekit-update.yml"
    target.parent.mkdir(parents=True)
    target.write_text(workflow)
    done = subprocess.run(
        [actionlint, "-shellcheck=", "-pyflakes=", str(target)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_git_scaffold_is_merged_three_way_from_its_recorded_commit(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    repo = tmp_path / "template"
    shutil.copytree(v1, repo)
    git(repo, "init", "-q")
    commit_all(repo, "v1")
    project = make_project(tmp_path, f"git+{repo}")
    first = json.loads((project / ".stagekit.json").read_text())["scaffold"]["commit"]
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# a local note\n")
    commit_all(project)
    shutil.rmtree(repo / TPL)
    shutil.copytree(v2 / TPL, repo / TPL)
    shutil.copy(v2 / "cookiecutter.json", repo / "cookiecutter.json")
    commit_all(repo, "v2")
    capsys.readouterr()
    assert main(["check", str(project), "--json"]) == 1
    code, data = report(project, capsys)
    assert data["mode"] == "three-way"
    assert statuses(data)["Dockerfile"] == "merged"
    assert code == 0
    scaffold = json.loads((project / ".stagekit.json").read_text())["scaffold"]
    assert scaffold["version"] == "9.1.0" and scaffold["commit"] != first
    assert "# a local note" in dockerfile.read_text() and "go vet (v2)" in dockerfile.read_text()


def test_ci_prints_a_pull_request_body(
    tmp_path: Path, revisions: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = revisions
    project = make_project(tmp_path, v1)
    (project / "NOTICE.md").write_text("my own notice\n")
    commit_all(project)
    capsys.readouterr()
    assert update(project, "--scaffold", str(v2), "--ci") == 5
    body = capsys.readouterr().out
    assert body.startswith("Scaffold update: **folder scaffold ") and "9.1.0** (three-way)" in body
    assert "- `conflict` NOTICE.md" in body and "- `updated` Dockerfile" in body
    assert "**1 conflict(s)**" in body and "stagekit update --continue" in body


def test_a_project_in_a_subfolder_of_a_monorepo(
    tmp_path: Path, revisions: tuple[Path, Path]
) -> None:
    v1, v2 = revisions
    mono = tmp_path / "mono"
    (mono / "services").mkdir(parents=True)
    args = ["new", str(mono / "services" / "svc"), "--name", "svc", "--scaffold", str(v1)]
    assert main([*args, "--no-input", "--base", "scratch"]) == 0
    project = mono / "services" / "svc"
    (project / "NOTICE.md").write_text("my own notice\n")
    git(mono, "init", "-q")
    commit_all(mono, "monorepo")
    (mono / "unrelated.txt").write_text("not managed by stagekit\n")  # dirty, but not ours
    assert update(project, "--scaffold", str(v2)) == 5
    assert "AA services/svc/NOTICE.md" in git(mono, "status", "--porcelain")
    assert update(project, "--abort") == 0
    assert git(mono, "status", "--porcelain") == "?? unrelated.txt\n"
