"""What every ``stagekit lint`` check works with: the project, its tools, and what it reports.

A check is a function over a :class:`LintContext` that returns :class:`Finding` values, or raises
:class:`CheckSkipError` (its tool or file is missing: the reason is shown) or :class:`ToolError`
(the tool gave no verdict: reported as a finding). The checks themselves live in
:mod:`stagekit.lint.docker` and :mod:`stagekit.lint.project`; :mod:`stagekit.lint.run` runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stagekit.tools import find_tool

Severity = Literal["error", "warning"]

#: Environment variables that would change a tool's verdict; removed before running it.
_SCRUB_PREFIXES = (
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEFILES",
    "COMPOSE_",
    "HADOLINT_",
    "BUILDX_BAKE_",
    "CA_BUNDLE",
    "DOCKER_BUILD",
)
TOOL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Finding:
    """One problem a check found; ``path`` is relative to the project ('' for the project)."""

    check: str
    path: str
    line: int | None
    message: str
    severity: Severity = "error"

    def location(self) -> str:
        where = self.path or "."
        return f"{where}:{self.line}" if self.line else where


class CheckSkipError(Exception):
    """A check cannot run here (its tool or its file is missing); the reason is shown to users."""


class ToolError(Exception):
    """A tool could not give a verdict (it timed out, crashed or printed nothing readable)."""


@dataclass(frozen=True)
class LintContext:
    """What every check gets: the project, the tools found, and how to run them."""

    project: Path
    docker_host: str | None = None
    tools: Mapping[str, str | None] = field(default_factory=dict)
    timeout: float = TOOL_TIMEOUT

    def tool(self, name: str) -> str:
        """The path of a tool, or :class:`CheckSkipError` naming how to get it."""
        path = self.tools[name] if name in self.tools else find_tool(name)
        if not path:
            raise CheckSkipError(f"{name} not found next to {sys.executable} or on PATH")
        return path

    def file(self, relative: str) -> Path:
        path = self.project / relative
        if not path.is_file():
            raise CheckSkipError(f"{relative} not found")
        return path

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool in the project folder, bounded in time, with a cleaned environment."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
        if self.docker_host:
            clean["DOCKER_HOST"] = self.docker_host
        clean["DOCKER_CLI_HINTS"] = "false"
        clean["LC_ALL"] = "C"  # messages such as make's "Nothing to be done" are read
        clean.update(env or {})
        try:
            return subprocess.run(
                list(argv),
                cwd=self.project,
                env=clean,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolError(
                f"{Path(argv[0]).name} did not finish in {self.timeout:.0f} s"
            ) from None
        except OSError as exc:
            raise ToolError(f"cannot run {argv[0]}: {exc}") from None


def tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise CheckSkipError(
            f"{path.name} does not parse ({exc.__class__.__name__}; see check 'parse')"
        ) from None
