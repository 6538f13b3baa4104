"""The interactive flow, driven for real through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

DOWN = "\x1b[B"
ENTER = "\r"
CLEAR_LINE = "\x15"  # Ctrl-U: clears what was typed


def spawn(cwd: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"  # nobody answers cursor-position requests here
    env.pop("CI", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "stagekit", "new"],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    status = child.exitstatus
    assert isinstance(status, int)
    return status


def test_select_answers_confirm_and_the_project_appears(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    child.expect("Project name")
    child.send("Bad Name" + ENTER)
    child.expect("must not contain spaces")  # validated as typed; the prompt stays open
    child.send(CLEAR_LINE + "my-svc" + ENTER)
    child.expect("Language")
    child.send(ENTER)  # go
    child.expect("Runtime base")
    child.send(DOWN + ENTER)  # scratch
    child.expect("version")
    child.send(ENTER)
    child.expect("HTTP port")
    child.send("80" + ENTER)  # typed over the shown default 8080, not appended to it
    child.expect("outside 1024-65535")
    child.send(CLEAR_LINE + "9090" + ENTER)
    child.expect("description")
    child.send(ENTER)
    child.expect("Owner")
    child.send("Team Blue" + ENTER)
    child.expect("Go module path")
    child.expect("github.com/team-blue/my-svc")  # default derived from owner and name
    child.send(ENTER)
    child.expect("Summary")
    child.expect("Create the project")
    child.send("y")
    assert finish(child) == 0
    record = json.loads((tmp_path / "my-svc" / ".stagekit.json").read_text())
    assert record["answers"] == {
        **record["answers"],
        "project_name": "my-svc",
        "language": "go",
        "base": "scratch",
        "port": 9090,
        "owner": "Team Blue",
        "module_path": "github.com/team-blue/my-svc",
    }


def test_typing_replaces_the_default_and_enter_takes_it(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    child.expect("Project name")
    child.expect("hello-service")  # the default is shown
    child.send("payments-api" + ENTER)
    for prompt in ("Language", "Runtime base", "version", "HTTP port", "description", "Owner"):
        child.expect(prompt)
        child.send(ENTER)
    child.expect("Go module path")
    child.send(ENTER)
    child.expect("Create the project")
    child.send("y")
    assert finish(child) == 0
    record = json.loads((tmp_path / "payments-api" / ".stagekit.json").read_text())
    assert record["answers"]["project_name"] == "payments-api"
    assert record["answers"]["port"] == 8080  # Enter took the default
    assert record["answers"]["module_path"].endswith("/payments-api")


def test_ctrl_c_mid_prompt_creates_nothing(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    child.expect("Project name")
    child.send(ENTER)
    child.expect("Language")
    child.send("\x03")
    child.expect("cancelled")
    assert finish(child) == 130
    assert list(tmp_path.iterdir()) == []


def test_declining_the_confirmation_creates_nothing(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    for prompt in (
        "Project name",
        "Language",
        "Runtime base",
        "version",
        "HTTP port",
        "description",
        "Owner",
        "Go module path",
    ):
        child.expect(prompt)
        child.send(ENTER)
    child.expect("Create the project")
    child.send("n")
    assert finish(child) == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("at", ["Project name", "HTTP port"])
def test_eof_mid_prompt_creates_nothing(tmp_path: Path, at: str) -> None:
    child = spawn(tmp_path)
    for prompt in ("Project name", "Language", "Runtime base", "version", "HTTP port"):
        child.expect(prompt)
        if prompt == at:
            child.send(CLEAR_LINE + "\x04")  # Ctrl-D on an empty line: end of input
            break
        child.send(ENTER)
    child.expect("interactive session required")
    assert finish(child) == 2
    assert list(tmp_path.iterdir()) == []
