"""The command line as people meet it: help, a bare command, DEST naming, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from stagekit.cli.main import main


def test_help_lists_each_command_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("new", "smoke", "lint", "scaffolds", "schema", "update", "check", "diff"):
        listed = [line for line in out.splitlines() if line.split()[:1] == [command]]
        assert len(listed) == 1, (command, listed)


def test_a_bare_stagekit_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage: stagekit" in captured.err and "new" in captured.err


def test_a_dest_path_names_the_project_after_its_last_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    dest = tmp_path / "x" / "ledger-api"
    assert main(["new", f"{dest}/", "--lang", "go", "--base", "scratch", "--no-input"]) == 0
    record = json.loads((dest / ".stagekit.json").read_text())
    assert record["answers"]["project_name"] == "ledger-api"


def test_a_dest_whose_name_breaks_the_rules_is_refused_not_renamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "Ledger API"
    assert main(["new", str(dest), "--lang", "go", "--no-input"]) == 2
    assert "project name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang", ["rust", "python"])
def test_a_module_path_for_another_language_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    dest = tmp_path / "svc"
    code = main(["new", str(dest), "--lang", lang, "--module", "example.com/x/svc", "--no-input"])
    assert code == 2
    err = capsys.readouterr().err
    assert "module path is for Go projects" in err and len(err.strip().splitlines()) <= 2
    assert list(tmp_path.iterdir()) == []


def test_lint_refuses_a_folder_that_is_not_a_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert main(["lint", str(tmp_path)]) == 2
    assert "is not a stagekit project" in capsys.readouterr().err


# A docker CLI 28 without plugins: `docker compose --project-name x …` reads the flag as its own.
DOCKER_WITHOUT_PLUGINS = """#!/bin/sh
case "$1" in
  compose|buildx)
    case "$2" in
      --*) echo "unknown flag: $2" >&2 ;;
      *) echo "docker: unknown command: docker $1" >&2 ;;
    esac
    exit 1 ;;
esac
exit 0
"""


@pytest.fixture
def plugin_less_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "docker").write_text(DOCKER_WITHOUT_PLUGINS)
    (shims / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")


@pytest.mark.usefixtures("plugin_less_docker")
def test_missing_docker_plugins_are_named_skips_and_strict_fails_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "svc", "--lang", "go", "--base", "scratch", "--no-input"]) == 0
    capsys.readouterr()
    assert main(["lint", "svc"]) == 0
    out = capsys.readouterr().out
    assert "unknown flag" not in out and "error" not in out.replace("0 error(s)", "")
    assert "skipped compose: the docker compose plugin (Compose v2) is not installed" in out
    assert "install Debian's docker-compose" in out
    assert "skipped bake: the docker buildx plugin is not installed" in out
    assert main(["lint", "svc", "--strict"]) == 1
    err = capsys.readouterr().err
    assert "lint --strict:" in err and "check(s) skipped: compose, bake" in err


def test_output_cut_short_by_its_reader_is_quiet_and_keeps_what_was_done(tmp_path: Path) -> None:
    """`stagekit new … | head -1`: the reader closes the pipe; no traceback, exit 141 (128 +
    SIGPIPE, as a shell tool would report), and the project stays complete."""
    dest = tmp_path / "piped-svc"
    argv = ["new", str(dest), "--lang", "go", "--base", "scratch", "--no-input", "--owner", "t"]
    process = subprocess.Popen(
        [sys.executable, "-m", "stagekit", *argv, "--config", "/dev/null"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the first line is written: interpreter start-up takes longer
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert (dest / "Dockerfile").is_file() and (dest / ".stagekit.json").is_file()
