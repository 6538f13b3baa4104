"""How a smoke run looks: live progress while building, then the result table, or JSON.

rich draws the live display only on a terminal; elsewhere (CI logs, pipes) each finished stage
prints one plain line. rich honours ``NO_COLOR`` and ``TERM=dumb`` itself.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from stagekit.smoke.checks import format_bytes
from stagekit.smoke.report import (
    BuildOutput,
    CheckFinished,
    PhaseStarted,
    SmokeEvent,
    SmokeReport,
    StageFinished,
    StageStarted,
)

if TYPE_CHECKING:
    from typing import TextIO

_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
_PLAIN_WIDTH = 120


def make_console(stream: TextIO, *, width: int | None = None) -> Console:
    """A console on ``stream``: colour only on a terminal without NO_COLOR; wide when piped."""
    terminal = stream.isatty() and os.environ.get("TERM") != "dumb"
    return Console(
        file=stream,
        force_terminal=terminal,
        no_color=bool(os.environ.get("NO_COLOR")) or not terminal,
        width=width if width is not None else (None if terminal else _PLAIN_WIDTH),
        highlight=False,
        soft_wrap=False,
    )


class LiveProgress:
    """Consumes :class:`~stagekit.smoke.run.SmokeEvent` s; a context manager around the run."""

    def __init__(self, console: Console, *, live: bool | None = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[line]}", markup=True),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self._live: Live | None = None
        self._phase: str | None = None

    def __enter__(self) -> LiveProgress:
        if self.live:
            self._live = Live(
                Group(self.progress), console=self.console, refresh_per_second=8, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, value, traceback)
            self._live = None

    def __call__(self, event: SmokeEvent) -> None:
        if isinstance(event, StageStarted):
            self._close_phase()
            self._start(f"build:{event.stage.value}", f"building {event.stage.value}")
        elif isinstance(event, BuildOutput):
            task = self.tasks.get(f"build:{event.stage.value}")
            if task is not None and event.line.strip():
                self.progress.update(task, line=escape(_shorten(event.line)))
        elif isinstance(event, StageFinished):
            result = event.result
            key = f"build:{result.stage.value}"
            word = "built" if result.ok else "[bold red]FAILED[/]"
            self._finish(key, f"{word} {result.stage.value}", _stage_note(result.ok, result.size))
            if not self.live:
                state = "built" if result.ok else "FAILED"
                extra = f", {result.cached_steps} steps cached" if result.ok else ""
                self.console.print(
                    f"{state} {result.stage.value} in {result.seconds:.1f} s"
                    f" ({format_bytes(result.size)}{extra})",
                    markup=False,
                )
        elif isinstance(event, PhaseStarted):
            self._close_phase()
            self._phase = f"phase:{event.phase}"
            self._start(self._phase, event.text)
        elif isinstance(event, CheckFinished):
            check = event.check
            if self._phase == "phase:lint" and check.name == "lint":
                self._finish(self._phase, f"lint {check.status}", escape(_shorten(check.detail)))
                self._phase = None
            if check.failed and not self.live:
                self.console.print(f"check failed: {check.name}: {check.detail}", markup=False)

    def _close_phase(self) -> None:
        if self._phase is not None:
            self._finish(self._phase, None, "")
            self._phase = None

    def _start(self, key: str, text: str) -> None:
        if key in self.tasks:
            self.progress.reset(self.tasks[key])
            self.progress.update(self.tasks[key], description=escape(text), line="")
        else:
            self.tasks[key] = self.progress.add_task(escape(text), total=None, line="")

    def _finish(self, key: str, text: str | None, line: str) -> None:
        task = self.tasks.get(key)
        if task is None:
            return
        if text is None:
            self.progress.update(task, total=1, completed=1, line=line)
        else:
            self.progress.update(task, total=1, completed=1, description=text, line=line)
        self.progress.stop_task(task)


def _shorten(line: str, width: int = 70) -> str:
    line = line.strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def _stage_note(ok: bool, size: int | None) -> str:
    return format_bytes(size) if ok else "see the log tail below"


def render_report(report: SmokeReport, console: Console) -> None:
    """The result a person reads: stages, payload, checks, verdict (and a failed build's log)."""
    stages = Table(
        title=f"stagekit smoke: {report.name} ({report.language} on {report.base})",
        title_justify="left",
    )
    for column, justify in (
        ("stage", "left"),
        ("result", "left"),
        ("time", "right"),
        ("image", "left"),
        ("size", "right"),
    ):
        stages.add_column(column, justify=justify)  # type: ignore[arg-type]
    for result in report.stages:
        status = "passed" if result.ok else "failed"
        stages.add_row(
            result.stage.value,
            Text("built" if result.ok else "FAILED", style=_STYLE[status]),
            f"{result.seconds:.1f} s",
            result.image or "-",
            format_bytes(result.size),
        )
    console.print(stages)
    if report.emulated:
        console.print(
            f"platform {report.platform}, run under emulation (QEMU): every wait scaled"
            f" x{report.timeout_scale:g}",
            markup=False,
        )
    if report.payload is not None:
        p = report.payload
        base = f", base {p.base_image} {format_bytes(p.base_size)}" if p.base_image else ""
        console.print(
            f"release {format_bytes(p.image_size)} = payload {format_bytes(p.payload_bytes)}"
            f" ({', '.join(p.paths)}) + overhead {format_bytes(p.overhead)}{base}",
            markup=False,
        )
    if report.inventory is not None:
        kinds = ", ".join(f"{k} {n}" for k, n in report.inventory["by_type"].items())
        sbom = f"; SBOM {report.inventory['sbom']}" if report.inventory.get("sbom") else ""
        console.print(
            f"inventory (Syft): {report.inventory['components']} components ({kinds}){sbom}",
            markup=False,
        )
    if report.checks:
        checks = Table(show_header=True)
        checks.add_column("check")
        checks.add_column("stage")
        checks.add_column("result")
        checks.add_column("detail", overflow="fold")
        for check in report.checks:
            checks.add_row(
                check.name,
                check.stage.value if check.stage else "project",
                Text(check.status, style=_STYLE[check.status]),
                Text(check.detail),
            )
        console.print(checks)
    failed = report.build_failure
    if failed is not None and failed.log_tail:
        console.print(
            f"last lines of the {failed.stage.value} build log:", style="bold", markup=False
        )
        console.print(Text(failed.log_tail), soft_wrap=True)
    console.print(verdict(report), style="green" if report.ok else "bold red", markup=False)


def verdict(report: SmokeReport) -> str:
    """One line: passed with counts, or the first reason it failed."""
    passed = sum(1 for c in report.checks if c.status == "passed")
    skipped = sum(1 for c in report.checks if c.skipped)
    counts = f"{passed} checks passed, {len(report.failed_checks)} failed, {skipped} skipped"
    timing = f" in {report.seconds:.1f} s"
    if report.ok:
        return f"smoke passed: {counts}{timing}"
    failed = report.build_failure
    if failed is not None:
        return f"smoke failed: build of stage {failed.stage.value!r} failed: {failed.detail}"
    reasons = "; ".join(f"{c.name}: {c.detail}" for c in report.failed_checks)
    return f"smoke failed ({counts}): {reasons}"


def render_json(report: SmokeReport) -> str:
    return report.to_json()


__all__ = ["LiveProgress", "make_console", "render_json", "render_report", "verdict"]
