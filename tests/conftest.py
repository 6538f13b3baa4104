"""Suite-wide settings: every test is fast-tier unless marked ``docker``.

Two session-wide rules:
- **Hermetic.** Nothing of the user's own setup changes an outcome: their stagekit config
  (``$XDG_CONFIG_HOME``/``~/.config/stagekit/config.toml``, ``STAGEKIT_CONFIG``), their git config
  and ``NO_COLOR``-style variables are out of reach of every test and every process it starts.
  HOME itself is left alone, and go's settings file is pinned before ``XDG_CONFIG_HOME`` moves:
  rustup, cargo, go, pip and uv keep their toolchains, caches and index settings.
- **No silent loss of coverage.** With ``STAGEKIT_STRICT_SKIPS=1`` (``./scripts/test`` sets it),
  a skip not listed in tests/allowed_skips.py is reported as a failure; see that module.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.allowed_skips import AllowedSkip, allowed

STRICT_SKIPS = "STAGEKIT_STRICT_SKIPS"
CONFIG_NAMES = ("stagekit.toml", ".stagekit.toml")  # as generator/stagekit/org/config.py looks for


def _isolate_environment() -> None:
    # Set at import, before any test or fixture runs, so subprocesses inherit it too.
    empty = Path(tempfile.mkdtemp(prefix="stagekit-tests-env-"))
    atexit.register(shutil.rmtree, empty, ignore_errors=True)
    (empty / "xdg").mkdir()
    (empty / "gitconfig").touch()
    for name in (
        "STAGEKIT_CONFIG",
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ):
        os.environ.pop(name, None)
    # Toolchain settings under the real config folder stay in force (go's `go env -w` file holds
    # GOTOOLCHAIN=local here; a pip or uv index setting is how this machine reaches its packages).
    user_config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    os.environ.setdefault("GOENV", str(user_config / "go" / "env"))
    for variable, file in (("PIP_CONFIG_FILE", "pip/pip.conf"), ("UV_CONFIG_FILE", "uv/uv.toml")):
        if (user_config / file).is_file():
            os.environ.setdefault(variable, str(user_config / file))
    os.environ["XDG_CONFIG_HOME"] = str(empty / "xdg")  # stagekit's user config, git's too
    os.environ["GIT_CONFIG_GLOBAL"] = str(empty / "gitconfig")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"


_isolate_environment()


@pytest.fixture(scope="session", autouse=True)
def _no_stray_config_above_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """stagekit reads stagekit.toml in every folder above a destination, tmp_path's included."""
    base = tmp_path_factory.getbasetemp()
    stray = [d / n for d in base.parents for n in CONFIG_NAMES if (d / n).is_file()]
    if stray:
        pytest.exit(
            f"{', '.join(map(str, stray))} would apply to every project a test renders under "
            f"{base}: remove it, or run pytest with --basetemp outside that folder",
            returncode=4,
        )


# --- skips ------------------------------------------------------------------------------------

_allowed_seen = pytest.StashKey[list[tuple[str, str, AllowedSkip]]]()


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return longrepr[2].removeprefix("Skipped: ")
    return str(longrepr)


def _judge_skip(report: pytest.TestReport | pytest.CollectReport, config: pytest.Config) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not os.environ.get(STRICT_SKIPS):
        return
    reason = _skip_reason(report)
    entry = allowed(report.nodeid, reason)
    if entry is not None:
        config.stash.setdefault(_allowed_seen, []).append((report.nodeid, reason, entry))
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped, and this skip is not allowed under {STRICT_SKIPS}=1 (tests/allowed_skips.py): "
        f"{reason}"
    )
    if isinstance(report, pytest.TestReport) and report.when == "setup":
        # A skipif mark skips in setup; shown as a failed test, not as an error in a fixture.
        report.when = "call"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _judge_skip(report, item.config)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _judge_skip(report, collector.config)  # a module-level skip or importorskip
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    seen = config.stash.get(_allowed_seen, [])
    if not seen:
        return
    terminalreporter.section(f"allowed skips ({len(seen)}, tests/allowed_skips.py)")
    for nodeid, reason, entry in seen:
        terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(f"    allowed: {entry.why}")
