"""The suite's own rules (tests/conftest.py): strict skips under ./scripts/test, hermetic tests.

Each runs pytest in a subprocess, as a user or CI would, and reads its exit code and summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SKIPPING = """
import pytest

@pytest.mark.parametrize("combo", ["go-alpine"])
def test_every_debian_package_in_the_image_is_inventoried(combo):
    pytest.skip("the alpine stand-in: it has no package database for a scanner to read")

@pytest.mark.skipif(True, reason="the frobnicator is not installed")
def test_unlisted_mark():
    pass

def test_unlisted_call():
    pytest.skip("not written yet")

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
"""


def run_pytest(
    *args: str, cwd: Path, env: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def skipping_project(tmp_path: Path) -> Path:
    # Laid out so its test ids are those tests/allowed_skips.py lists for the alpine inventory.
    root = tmp_path / "project"
    test_file = root / "tests" / "docker" / "test_inventory.py"
    test_file.parent.mkdir(parents=True)
    test_file.write_text(SKIPPING)
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def suite_env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_under_strict_skips_an_unlisted_skip_fails_and_a_listed_one_is_printed(
    tmp_path: Path,
) -> None:
    root = skipping_project(tmp_path)
    ran = run_pytest("-p", "tests.conftest", cwd=root, env=suite_env(STAGEKIT_STRICT_SKIPS="1"))
    out = ran.stdout
    assert ran.returncode == 1, out
    assert "2 failed, 1 skipped, 1 xfailed" in out, out
    assert (
        "FAILED tests/docker/test_inventory.py::test_unlisted_mark - skipped, and this skip "
        "is not allowed under STAGEKIT_STRICT_SKIPS=1 (tests/allowed_skips.py): the frobnicator "
        "is not installed"
    ) in out
    assert "FAILED tests/docker/test_inventory.py::test_unlisted_call - skipped" in out
    assert "not written yet" in out
    summary = out.split("allowed skips (1, tests/allowed_skips.py)", 1)[1]
    assert (
        "tests/docker/test_inventory.py::test_every_debian_package_in_the_image_is_inventoried"
        "[go-alpine]: the alpine stand-in: it has no package database"
    ) in summary
    assert "allowed: the alpine stand-in is busybox and musl made from Debian's" in summary


def test_run_by_hand_every_skip_is_just_a_skip_with_its_reason(tmp_path: Path) -> None:
    root = skipping_project(tmp_path)
    ran = run_pytest("-p", "tests.conftest", cwd=root, env=suite_env(STAGEKIT_STRICT_SKIPS=None))
    assert ran.returncode == 0, ran.stdout
    assert "3 skipped, 1 xfailed" in ran.stdout
    assert "the frobnicator is not installed" in ran.stdout
    assert "allowed skips" not in ran.stdout


def test_a_module_level_skip_is_judged_too(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "test_module.py").write_text('import pytest\npytest.importorskip("no_such_module")\n')
    strict = run_pytest("-p", "tests.conftest", cwd=root, env=suite_env(STAGEKIT_STRICT_SKIPS="1"))
    assert strict.returncode != 0 and "no_such_module" in strict.stdout, strict.stdout


def test_a_users_config_git_settings_and_no_color_change_no_outcome(tmp_path: Path) -> None:
    """A hostile HOME: an org config choosing alpine, git signing every commit, NO_COLOR."""
    home = tmp_path / "home"
    (home / ".config" / "stagekit").mkdir(parents=True)
    (home / ".config" / "stagekit" / "config.toml").write_text(
        '[defaults]\nbase = "alpine"\nport = 9999\nlanguage = "rust"\n'
    )
    (home / ".config" / "git").mkdir()
    hostile_git = (
        "[commit]\n\tgpgsign = true\n[tag]\n\tgpgsign = true\n[gpg]\n\tprogram = /bin/false\n"
        "[init]\n\tdefaultBranch = odd\n[core]\n\tautocrlf = true\n"
    )
    (home / ".gitconfig").write_text(hostile_git)
    (home / ".config" / "git" / "config").write_text(hostile_git)
    real_home = Path.home()
    env = suite_env(
        HOME=str(home),
        XDG_CONFIG_HOME=None,
        STAGEKIT_CONFIG=str(home / ".config" / "stagekit" / "config.toml"),
        NO_COLOR="1",
        FORCE_COLOR="1",
        GIT_CONFIG_GLOBAL=None,
        GIT_CONFIG_NOSYSTEM=None,
        STAGEKIT_STRICT_SKIPS="1",
        # The toolchains stay where they are: only the user's settings are hostile.
        RUSTUP_HOME=os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        CARGO_HOME=os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
    )
    ran = run_pytest(
        "-q",
        f"--basetemp={tmp_path / 'base'}",
        "tests/fast/test_interactive.py",
        "tests/fast/test_smoke_unit.py::test_build_args_from_git_and_build_args_env",
        "tests/fast/test_new.py::test_answers_from_stdin",
        "tests/fast/test_new.py::test_missing_answer_names_the_next_flag",
        cwd=REPO,
        env=env,
    )
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert " passed" in ran.stdout and "failed" not in ran.stdout


def test_a_stray_stagekit_toml_above_the_tmp_folders_stops_the_run(tmp_path: Path) -> None:
    above = tmp_path / "above"
    above.mkdir()
    (above / "stagekit.toml").write_text('[defaults]\nbase = "alpine"\n')
    ran = run_pytest(
        f"--basetemp={above / 'base'}",
        "tests/fast/test_new.py::test_answers_from_stdin",
        cwd=REPO,
        env=suite_env(),
    )
    assert ran.returncode == 4, ran.stdout
    assert f"{above / 'stagekit.toml'} would apply to every project a test renders" in (
        ran.stdout + ran.stderr
    )
