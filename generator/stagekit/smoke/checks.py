"""What ``stagekit smoke`` judges, as pure functions: image metadata, the image filesystem, sizes.

Nothing here talks to an engine: :mod:`stagekit.smoke.run` gathers the data (``docker inspect``,
``docker history``, ``docker export`` read by :mod:`stagekit.engine.imagefs`) and hands it to these
functions, which the fast tier tests directly. Each judgement is a :class:`CheckResult`; ``skipped``
checks never fail a run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stagekit.contract import OCI_LABEL_PREFIX, OCI_LABELS, Stage
from stagekit.engine.imagefs import FsEntry
from stagekit.errors import ValidationError
from stagekit.model import Base
from stagekit.sbom.inventory import ECOSYSTEM, Inventory

if TYPE_CHECKING:  # only the types: smoke imports the lint machinery when it runs lint
    from stagekit.lint.context import Finding
    from stagekit.lint.run import LintReport

#: What the release stage may add besides the payload and the base image: the CA bundle and
#: passwd/group (docs/smoke.md). The contract's scratch bound is payload + 0.5 MB.
SIZE_ALLOWANCE = 500_000
#: File names that are a shell (or a multi-call binary that is one) wherever they are.
SHELL_NAMES = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox", "toybox"})
#: Programs the exec probe tries to start: PATH lookup, the usual path, distroless debug's.
SHELL_PROBES = ("sh", "/bin/sh", "/busybox/sh")
SHELL_FREE_BASES = frozenset({Base.SCRATCH, Base.DISTROLESS})


@dataclass(frozen=True)
class CheckResult:
    """One judgement. ``skipped`` checks are neither passed nor failed; they never fail a run."""

    name: str
    ok: bool
    detail: str
    stage: Stage | None = Stage.RELEASE
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "passed" if self.ok else "failed"

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stage": self.stage.value if self.stage else None,
            "status": self.status,
            "ok": self.ok,
            "detail": self.detail,
        }


def skipped(name: str, reason: str, stage: Stage | None = Stage.RELEASE) -> CheckResult:
    return CheckResult(name, ok=True, detail=reason, stage=stage, skipped=True)


@dataclass(frozen=True)
class Payload:
    """The release image measured against the app's own files (``_stagekit.payload``)."""

    paths: tuple[str, ...]
    payload_bytes: int
    image_size: int
    base_image: str | None
    base_size: int
    missing: tuple[str, ...] = ()

    @property
    def overhead(self) -> int:
        return self.image_size - self.payload_bytes

    @property
    def allowance(self) -> int:
        return self.base_size + SIZE_ALLOWANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": list(self.paths),
            "payload_bytes": self.payload_bytes,
            "image_size": self.image_size,
            "overhead": self.overhead,
            "base_image": self.base_image,
            "base_size": self.base_size,
            "allowance": self.allowance,
            "missing": list(self.missing),
        }


# --- judgements --------------------------------------------------------------------------


def judge_user(user: str | None) -> CheckResult:
    """Numeric, non-root ``uid[:gid]``: names need /etc/passwd and hide root behind an alias."""
    name = "user"
    value = (user or "").strip()
    if not value:
        return CheckResult(name, False, "no USER: the container runs as root")
    uid, _, gid = value.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        return CheckResult(name, False, f"USER {value} is not numeric (uid[:gid])")
    if int(uid) == 0:
        return CheckResult(name, False, f"USER {value}: the container runs as root")
    if gid and int(gid) == 0:
        return CheckResult(name, False, f"USER {value}: the root group (gid 0)")
    return CheckResult(name, True, f"USER {value}")


def judge_entrypoint(entrypoint: Sequence[str] | None) -> CheckResult:
    name = "entrypoint"
    if not entrypoint:
        return CheckResult(name, False, "no ENTRYPOINT")
    program = entrypoint[0]
    if program in ("/bin/sh", "sh", "/bin/bash", "/busybox/sh") and "-c" in entrypoint[1:2]:
        return CheckResult(
            name, False, f"shell form ({' '.join(entrypoint)}): signals miss the app"
        )
    return CheckResult(name, True, f"exec form {json.dumps(list(entrypoint))}")


def judge_exposed(exposed: Mapping[str, Any] | None, port: int) -> CheckResult:
    name = "exposed port"
    ports = sorted(exposed or {})
    want = f"{port}/tcp"
    if ports == [want]:
        return CheckResult(name, True, f"EXPOSE {port}")
    if not ports:
        return CheckResult(name, False, f"no EXPOSE; the answered port is {port}")
    if want not in ports:
        return CheckResult(name, False, f"exposes {', '.join(ports)}, not the answered port {port}")
    return CheckResult(
        name, False, f"exposes {', '.join(ports)}: more than the answered port {port}"
    )


def judge_healthcheck(healthcheck: Mapping[str, Any] | None) -> CheckResult:
    name = "healthcheck"
    test = list((healthcheck or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return CheckResult(name, False, "no HEALTHCHECK")
    if test[0] == "CMD-SHELL":
        return CheckResult(name, False, f"shell form ({' '.join(test[1:])}): needs a shell")
    if test[0] != "CMD" or len(test) < 2:
        return CheckResult(name, False, f"unexpected health check {test}")
    timing = []
    for key, label in (("Interval", "interval"), ("StartPeriod", "start-period")):
        if (healthcheck or {}).get(key):
            timing.append(f"{label} {int(healthcheck[key]) / 1e9:g}s")  # type: ignore[index]
    suffix = f" ({', '.join(timing)})" if timing else ""
    return CheckResult(name, True, f"exec form {json.dumps(test[1:])}{suffix}")


_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")


def judge_labels(labels: Mapping[str, str] | None, created: str | None = None) -> CheckResult:
    name = "labels"
    labels = labels or {}
    missing = [key.rsplit(".", 1)[1] for key in OCI_LABELS if key not in labels]
    if missing:
        return CheckResult(name, False, f"missing {OCI_LABEL_PREFIX}.{{{','.join(missing)}}}")
    got = labels[f"{OCI_LABEL_PREFIX}.created"]
    if created is not None and got != created:
        return CheckResult(
            name, False, f"created={got!r}, expected {created!r} (SOURCE_DATE_EPOCH)"
        )
    if not _RFC3339_UTC.match(got):
        return CheckResult(name, False, f"created={got!r} is not an RFC 3339 UTC time")
    version = labels[f"{OCI_LABEL_PREFIX}.version"]
    return CheckResult(
        name, True, f"{len(OCI_LABELS)} OCI labels (version {version}, created {got})"
    )


def _is_run(created_by: str) -> bool:
    text = created_by.strip()
    if text.startswith("RUN ") or text.startswith("|"):
        return True  # BuildKit: "RUN /bin/sh -c …" or "|2 A=b /bin/sh -c …" (RUN with args)
    return "/bin/sh -c" in text and "#(nop)" not in text  # the legacy builder's RUN


def judge_layers(
    layer_count: int, added: Sequence[Mapping[str, Any]], base_layers: int | None
) -> CheckResult:
    """The release stage adds only COPY layers (no RUN: nothing executes in the runtime base).

    ``added`` are the ``docker image history`` entries above the base image's (newest first);
    ``base_layers`` is the base image's layer count (0 for scratch; None: base not in the engine).
    """
    name = "layers"
    if base_layers is None:
        return skipped(name, f"{layer_count} layers (base image not in the engine to compare)")
    runs = [str(h.get("CreatedBy", "")) for h in added if _is_run(str(h.get("CreatedBy", "")))]
    if runs:
        return CheckResult(
            name, False, f"{len(runs)} RUN step(s) in the release stage: {runs[0][:80]}"
        )
    return CheckResult(
        name,
        True,
        f"{layer_count} layers: base {base_layers} + {layer_count - base_layers} added (no RUN)",
    )


def judge_size_budget(size: int, max_size: int | None) -> CheckResult:
    name = "size budget"
    if max_size is None:
        return skipped(name, f"{format_bytes(size)}; no --max-size given")
    verdict = "within" if size <= max_size else "over"
    return CheckResult(
        name, size <= max_size, f"{format_bytes(size)} {verdict} {format_bytes(max_size)}"
    )


def judge_payload(payload: Payload) -> CheckResult:
    name = "size vs payload"
    if payload.missing:
        return CheckResult(
            name, False, f"payload path(s) not in the image: {', '.join(payload.missing)}"
        )
    ok = payload.overhead <= payload.allowance
    base = f"base {format_bytes(payload.base_size)} + " if payload.base_size else ""
    detail = (
        f"{format_bytes(payload.image_size)} = payload {format_bytes(payload.payload_bytes)}"
        f" + overhead {format_bytes(payload.overhead)}"
        f" ({'within' if ok else 'over'} {base}{format_bytes(SIZE_ALLOWANCE)})"
    )
    return CheckResult(name, ok, detail)


def judge_no_shell(
    base: Base, found: Sequence[str], probes: Mapping[str, str] | None = None
) -> CheckResult:
    """On scratch and distroless no shell may exist: the file listing and the exec probe agree."""
    name = "no shell"
    if base not in SHELL_FREE_BASES:
        return skipped(name, f"{base.value} ships a shell by design")
    if found:
        return CheckResult(name, False, f"shell in the image: {', '.join(sorted(found))}")
    outcomes = dict(probes or {})
    started = [f"{p} ({o})" for p, o in outcomes.items() if o == "ran" or o.startswith("exit")]
    if started:
        return CheckResult(name, False, f"a shell started: {', '.join(started)}")
    refused = [probe for probe, outcome in outcomes.items() if outcome == "refused"]
    other = [f"{probe}: {outcome}" for probe, outcome in outcomes.items() if probe not in refused]
    tried = f"; exec of {', '.join(refused)} refused" if refused else ""
    tried += f"; {'; '.join(other)}" if other else ""
    names = "/".join(sorted(SHELL_NAMES - {"toybox", "mksh"}))
    return CheckResult(name, True, f"no {names} in the filesystem{tried}")


def format_bytes(size: int | None) -> str:
    """Decimal units, as docker prints sizes: 1.39 MB, 950 kB, 12 B."""
    if size is None:
        return "-"
    sign = "-" if size < 0 else ""
    value = float(abs(size))
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def parse_size(text: str) -> int:
    """``50MB`` (10^6), ``12MiB`` (2^20), ``1.5GB``, ``123456`` (bytes) → bytes.

    A bare ``M``/``K``/``G`` is refused: docker reads ``50m`` as MiB, others as MB.
    """
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        hint = "write e.g. 50MB (10^6 bytes), 12MiB (2^20 bytes) or a number of bytes"
        raise ValidationError("max-size", f"{text!r} is not a size", hint)
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValidationError("max-size", f"{text!r} is not a positive size")
    return size


# --- shells in the image filesystem (read by stagekit.engine.imagefs) ---------------------------


def find_shells(entries: Mapping[str, FsEntry]) -> list[str]:
    """Every path of the image named like a shell (folders aside), sorted."""
    return sorted(
        path
        for path, entry in entries.items()
        if entry.kind != "dir" and path.rsplit("/", 1)[-1] in SHELL_NAMES
    )


def lint_check(report: LintReport) -> CheckResult:
    """A ``stagekit lint`` report as one check: its errors fail it, warnings are noted."""
    errors = report.errors
    notes = [f"{len(report.skipped)} lint check(s) skipped"]
    if report.warnings:
        notes.insert(0, f"{len(report.warnings)} warning(s)")
    if report.ok:
        return CheckResult("lint", True, f"clean ({', '.join(notes)})", stage=None)
    shown = "; ".join(_describe_finding(f) for f in errors[:3])
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return CheckResult("lint", False, f"{len(errors)} error(s): {shown}{more}", stage=None)


def _describe_finding(finding: Finding) -> str:
    message = finding.message.splitlines()[0] if finding.message else ""
    if len(message) > 160:
        message = message[:159] + "…"
    return f"{finding.location()}: [{finding.check}] {message}"


#: Why a language's dependencies can be invisible to a scanner, and what makes them visible.
_INVISIBLE = {
    "go": "the binary's build info (go version -m) is gone: do not strip it",
    "rust": "the binary carries no dependency list: build it with cargo auditable",
    "python": "no distribution metadata (dist-info) in the image",
}


def judge_inventory(found: Inventory, language: str) -> CheckResult:
    """A scanner must see the app's own dependencies, not only the base image's packages."""
    kind = ECOSYSTEM[language]
    if not found.of_type(kind):
        reason = _INVISIBLE.get(language, "")
        return CheckResult("inventory", False, f"{found.describe()}: no {kind}; {reason}")
    return CheckResult("inventory", True, found.describe())
