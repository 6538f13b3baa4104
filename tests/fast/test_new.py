"""`stagekit new` end to end through the real CLI and cookiecutter: all or nothing, never a hang."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stagekit.errors import DestinationError, RenderError
from stagekit.model import Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin, load_scaffold
from stagekit.new.render import generate, jinja_literal

from tests.helpers import ALL_COMBINATIONS, REPO, run_cli


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_every_combination_renders_without_leftovers(tmp_path: Path, lang: str, base: str) -> None:
    result = run_cli(
        "new", "svc", "--lang", lang, "--base", base, "--owner", "Acme", "--no-input", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "svc"
    files = tree(project)
    assert "Dockerfile" in files and ".stagekit.json" in files
    for name, content in files.items():
        text = content.decode("utf-8", errors="replace")
        assert "cookiecutter" not in text, f"unrendered template text in {name}"
        assert "{%" not in text, f"unrendered Jinja block in {name}"
    assert not any(name.endswith(("local_extensions.py", "cookiecutter.json")) for name in files)
    assert [p.name for p in tmp_path.iterdir()] == ["svc"], "no staging folder may remain"
    record = json.loads(files[".stagekit.json"])
    assert record["answers"]["base"] == base and record["scaffold"]["name"] == lang


@pytest.mark.parametrize("lang", [lang.value for lang in Language])
def test_plain_cookiecutter_renders_what_stagekit_renders(tmp_path: Path, lang: str) -> None:
    """One source of truth: the scaffold works with cookiecutter alone, to the same files."""
    scaffold = builtin(Language(lang))
    plain = tmp_path / "plain"
    (tmp_path / "none.yaml").write_text("{}")
    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(scaffold.path), "--no-input", "-o", str(plain)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COOKIECUTTER_CONFIG": str(tmp_path / "none.yaml")},
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    answers = validate(scaffold, dict(defaults(scaffold, {})))
    ours = tmp_path / "ours"
    generate(scaffold, answers, ours)
    theirs = tree(plain / answers.project_name)
    mine = tree(ours)
    mine.pop(".stagekit.json")
    assert sorted(mine) == sorted(theirs)
    assert mine == theirs


def test_missing_answers_without_a_terminal_fail_fast_naming_the_flag(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("new", "--lang", "go", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "--name" in result.stderr and "Traceback" not in result.stderr
    assert "interactive session required" in result.stderr
    assert elapsed < 15, f"took {elapsed:.1f}s"
    assert list(tmp_path.iterdir()) == []


def test_missing_answer_names_the_next_flag(tmp_path: Path) -> None:
    result = run_cli("new", "svc", "--lang", "rust", cwd=tmp_path)
    assert result.returncode == 2
    assert "pass --base" in result.stderr


def test_answers_from_stdin(tmp_path: Path) -> None:
    answers = {"name": "from-stdin", "lang": "rust", "base": "scratch", "port": 9000}
    result = run_cli("new", "--answers", "-", "--no-input", cwd=tmp_path, stdin=json.dumps(answers))
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "from-stdin" / ".stagekit.json").read_text())
    assert record["answers"]["port"] == 9000 and record["answers"]["language"] == "rust"


def test_flags_override_the_answers_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: filed\nlang: go\nbase: alpine\n")
    result = run_cli("new", "--answers", "a.yaml", "--base", "scratch", "--no-input", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "filed" / ".stagekit.json").read_text())
    assert record["answers"]["base"] == "scratch"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "My Service"], "project name: must not contain spaces"),
        (["--name", "../x"], "project name: must be a plain name"),
        (["--name", "fn"], "Rust keyword"),
        (["--name", "x" * 300], "at most 63"),
        (["--name", "ok", "--port", "22"], "port: 22 is outside"),
        (
            ["--name", "ok", "--lang", "python", "--base", "distroless", "--version", "3.12"],
            "not supported",
        ),
        (["--name", "ok", "--module", "nodot/x"], "module path"),
        (["--name", "ok", "--description", "bad\x07bell"], "U+0007"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("new", *args, "--no-input", cwd=tmp_path)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("stagekit: error: ") and message in first, result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_destination_is_refused_and_untouched(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("mine\n")
    result = run_cli("new", "svc", "--lang", "go", "--no-input", cwd=tmp_path)
    assert result.returncode == 2 and "exists and is not empty" in result.stderr
    assert "--force" in result.stderr
    assert tree(tmp_path / "svc") == {"Dockerfile": b"mine\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["svc"]


def test_force_keeps_existing_files_and_lists_them(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("mine\n")
    (tmp_path / "svc" / "notes.txt").write_text("keep me\n")
    result = run_cli("new", "svc", "--lang", "go", "--no-input", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Dockerfile" in result.stdout and "untouched" in result.stdout
    assert (tmp_path / "svc" / "Dockerfile").read_text() == "mine\n"
    assert (tmp_path / "svc" / "notes.txt").read_text() == "keep me\n"
    assert (tmp_path / "svc" / "Makefile").is_file()
    again = run_cli(
        "new", "svc", "--lang", "go", "--no-input", "--force", "--overwrite", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "svc" / "Dockerfile").read_text() != "mine\n"
    assert (tmp_path / "svc" / "notes.txt").read_text() == "keep me\n"


def test_description_is_data_never_code(tmp_path: Path) -> None:
    text = '{{ 7*7 }} {% if true %}x{% endif %} "quotes" \\back\\slash ${{ github.sha }}\nline two'
    result = run_cli(
        "new", "svc", "--lang", "python", "--description", text, "--no-input", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "svc" / ".stagekit.json").read_text())
    assert record["answers"]["description"] == text
    readme = (tmp_path / "svc" / "README.md").read_text()
    assert "{{ 7*7 }}" in readme and "49" not in readme


def test_jinja_literal_is_the_identity_under_cookiecutter_rendering() -> None:
    from jinja2 import Environment

    for text in ["{{ 7*7 }}", "{% raw %}", "\"'\\", "🚀 ünï", "a\nb\tc", "{{ ''.__class__ }}"]:
        assert Environment().from_string(jinja_literal(text)).render() == text


def _broken_scaffold(tmp_path: Path, hook: str) -> Path:
    """A copy of the Go scaffold with a post-generation hook that fails (or is interrupted)."""
    scaffold = tmp_path / "broken"
    shutil.copytree(builtin(Language.GO).path, scaffold, symlinks=False)
    (scaffold / "hooks").mkdir()
    (scaffold / "hooks" / "post_gen_project.py").write_text(hook)
    return scaffold


def test_a_render_that_fails_half_way_leaves_nothing(tmp_path: Path) -> None:
    path = _broken_scaffold(tmp_path, "import sys\nsys.exit(1)\n")
    scaffold = load_scaffold(path, source="test")
    answers = validate(scaffold, dict(defaults(scaffold, {})))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RenderError, match="failed to render"):
        generate(scaffold, answers, out / "svc")
    assert list(out.iterdir()) == []


def test_ctrl_c_during_render_leaves_nothing(tmp_path: Path) -> None:
    hook = "import os, signal, time\nos.kill(os.getppid(), signal.SIGINT)\ntime.sleep(5)\n"
    path = _broken_scaffold(tmp_path, hook)
    scaffold = load_scaffold(path, source="test")
    answers = validate(scaffold, dict(defaults(scaffold, {})))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        generate(scaffold, answers, out / "svc")
    assert list(out.iterdir()) == []


def test_destination_parent_must_exist(tmp_path: Path) -> None:
    scaffold = builtin(Language.GO)
    answers = validate(scaffold, dict(defaults(scaffold, {})))
    with pytest.raises(DestinationError, match="does not exist"):
        generate(scaffold, answers, tmp_path / "missing" / "svc")
    assert list(tmp_path.iterdir()) == []


def test_help_and_version() -> None:
    for args in (["--help"], ["new", "--help"], ["--version"]):
        result = run_cli(*args, cwd=REPO)
        assert result.returncode == 0, result.stderr
    assert "examples:" in run_cli("new", "--help", cwd=REPO).stdout
    assert run_cli("--version", cwd=REPO).stdout.startswith("stagekit ")
