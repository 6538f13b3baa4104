"""``stagekit lint``: the quality gates every generated project passes, as a library.

Each check is a small function over a :class:`LintContext` (:mod:`stagekit.lint.context`) that
returns :class:`Finding` values or raises :class:`CheckSkipError` (its tool or file is missing);
:data:`CHECKS` is the plain list they are registered in, run in order by :func:`lint`. The checks
of what Docker's tools read are in :mod:`stagekit.lint.docker`, those of the rest of the project in
:mod:`stagekit.lint.project`. Nothing here prints or exits: the CLI renders the
:class:`LintReport` with :func:`format_report` or :meth:`LintReport.to_json`.

The external tools (hadolint, actionlint, ``docker compose``, ``docker buildx bake``, make) are run
with bounded time, an environment cleaned of variables that would change their verdict, and never
against a Docker Engine: ``compose config`` and ``bake --print`` only parse. See
docs/quality-gates.md for what each check holds a project to and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stagekit.errors import NotAProjectError
from stagekit.lint.context import CheckSkipError, Finding, LintContext, ToolError
from stagekit.lint.docker import (
    check_bake,
    check_compose,
    check_compose_ports,
    check_dockerfile,
    check_hadolint,
)
from stagekit.lint.project import (
    check_actionlint,
    check_leftovers,
    check_makefile,
    check_parse,
    check_workflow,
    jinja_leftovers,
    publish_problems,
)
from stagekit.lint.update_state import check_pending
from stagekit.tools import find_tool

__all__ = [
    "CHECKS",
    "Check",
    "CheckSkipError",
    "Finding",
    "LintContext",
    "LintReport",
    "ToolError",
    "find_tool",
    "format_report",
    "jinja_leftovers",
    "lint",
    "publish_problems",
]


@dataclass(frozen=True)
class LintReport:
    """What :func:`lint` found, which checks ran and which were skipped (and why)."""

    project: Path
    findings: list[Finding]
    checks_run: list[str]
    skipped: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        """No error (warnings alone do not fail a lint)."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "ok": self.ok,
            "checks_run": list(self.checks_run),
            "skipped": [{"check": c, "reason": r} for c, r in self.skipped],
            "findings": [asdict(f) for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    summary: str
    run: Callable[[LintContext], list[Finding]]


CHECKS: list[Check] = [
    Check("hadolint", "hadolint on the Dockerfile, default threshold", check_hadolint),
    Check("dockerfile", "stages, release image and pinning (BuildKit's parser)", check_dockerfile),
    Check("compose", "docker compose config -q", check_compose),
    Check("compose-ports", "compose publishes ports on 127.0.0.1 only", check_compose_ports),
    Check("bake", "docker buildx bake --print and its targets", check_bake),
    Check("makefile", "make -n of every target, CA secret, loopback ports", check_makefile),
    Check("actionlint", "actionlint on the CI workflows", check_actionlint),
    Check("workflow", "CI workflow shape: jobs, steps, pinned actions, builds", check_workflow),
    Check("parse", "every TOML/YAML/JSON file parses", check_parse),
    Check("leftovers", "no unrendered Jinja, no template machinery", check_leftovers),
    Check("update", "no pending stagekit update conflicts, no conflict markers", check_pending),
]


def lint(
    project_dir: Path,
    *,
    docker_host: str | None = None,
    tools: Mapping[str, str | None] | None = None,
    checks: Collection[str] | None = None,
) -> LintReport:
    """Run every check (or those named in ``checks``) on a project folder.

    ``tools`` overrides where a tool is found (``{"actionlint": "/path"}``; ``None`` = absent).
    ``docker_host`` is handed to the docker CLI; no check needs an engine to answer.
    """
    project = Path(project_dir).absolute()
    if not project.is_dir():
        raise NotAProjectError(f"{project} is not a folder")
    unknown = sorted(set(checks or ()) - {c.name for c in CHECKS})
    if unknown:
        raise NotAProjectError(
            f"unknown check(s): {', '.join(unknown)}",
            f"the checks are: {', '.join(c.name for c in CHECKS)}",
        )
    ctx = LintContext(project, docker_host, dict(tools or {}))
    findings: list[Finding] = []
    ran: list[str] = []
    skipped: list[tuple[str, str]] = []
    for check in CHECKS:
        if checks is not None and check.name not in checks:
            continue
        try:
            found = check.run(ctx)
        except CheckSkipError as exc:
            skipped.append((check.name, str(exc)))
            continue
        except ToolError as exc:
            found = [Finding(check.name, "", None, str(exc))]
        ran.append(check.name)
        findings.extend(found)
    return LintReport(project, findings, ran, skipped)


def format_report(report: LintReport) -> str:
    """The report as text: one ``path:line: severity: [check] message`` line per finding, then a
    summary (what the CLI prints)."""
    lines = []
    for finding in report.findings:
        message = finding.message.replace("\n", "\n    ")
        lines.append(f"{finding.location()}: {finding.severity}: [{finding.check}] {message}")
    for name, reason in report.skipped:
        lines.append(f"skipped {name}: {reason}")
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = "passed" if report.ok else "FAILED"
    lines.append(
        f"lint {verdict}: {len(report.checks_run)} check(s) run, {len(report.skipped)} skipped, "
        f"{errors} error(s), {warnings} warning(s) in {report.project}"
    )
    return "\n".join(lines)
