"""The lint check an unfinished update leaves behind: ``pending`` conflicts, conflict markers.

``stagekit update --ci`` commits conflicts with their markers and lists them as ``pending`` in
``.stagekit.json``; lint fails until ``stagekit update --continue`` clears that list, and on any
conflict marker left in a project file.
"""

from __future__ import annotations

import json
import re

from stagekit.contract import RECORD_FILE
from stagekit.lint.context import Finding, LintContext
from stagekit.lint.project import project_files

_MARKER = re.compile(rb"^(<{7}|>{7}) ", re.MULTILINE)


def check_pending(ctx: LintContext) -> list[Finding]:
    findings: list[Finding] = []
    try:
        record = json.loads((ctx.project / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    pending = record.get("pending") if isinstance(record, dict) else None
    for path in pending or []:
        message = "conflict of a stagekit update still pending: resolve it, then run"
        findings.append(
            Finding("update", str(path), None, f"{message} `stagekit update --continue`")
        )
    for path in project_files(ctx.project):
        try:
            match = _MARKER.search(path.read_bytes())
        except OSError:
            continue
        if match:
            line = path.read_bytes()[: match.start()].count(b"\n") + 1
            relative = str(path.relative_to(ctx.project))
            findings.append(Finding("update", relative, line, "conflict marker left in the file"))
    return findings
