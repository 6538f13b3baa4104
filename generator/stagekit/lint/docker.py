"""The ``stagekit lint`` checks of what Docker's own tools read: the Dockerfile (hadolint and the
staged-Dockerfile contract), compose.yaml and docker-bake.hcl.

``docker compose config`` and ``docker buildx bake --print`` only parse: no check needs an engine.
"""

from __future__ import annotations

import ipaddress
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagekit.contract import (
    BAKE_DEFAULT_TARGETS,
    BAKE_FILE,
    BAKE_MULTI_TARGET,
    BAKE_STAGE_TARGETS,
    BAKE_TARGETS,
    COMPOSE_FILE,
    DOCKERFILE,
    MULTI_PLATFORMS,
    Stage,
)
from stagekit.lint import dockerfile as dockerfile_checks
from stagekit.lint.context import (
    CheckSkipError,
    Finding,
    LintContext,
    ToolError,
    load_yaml,
    tail,
)

# --- 1. hadolint ------------------------------------------------------------------------------


def check_hadolint(ctx: LintContext) -> list[Finding]:
    """hadolint at its default threshold; every finding it reports is an error."""
    ctx.file(DOCKERFILE)
    hadolint = ctx.tool("hadolint")
    # Only the project's own .hadolint.yaml may configure it, never the user's home.
    with tempfile.TemporaryDirectory(prefix="stagekit-hadolint-") as home:
        result = ctx.run(
            [hadolint, "-f", "json", "--no-color", DOCKERFILE],
            env={"HOME": home, "XDG_CONFIG_HOME": home},
        )
    try:
        items = json.loads(result.stdout or "[]")
    except ValueError:
        raise ToolError(
            f"hadolint exited {result.returncode}: {tail(result.stdout + result.stderr)}"
        ) from None
    if not isinstance(items, list):
        raise ToolError("hadolint printed JSON that is not a list")
    findings = [
        Finding(
            "hadolint", DOCKERFILE, item.get("line"), f"{item.get('code')} {item.get('message')}"
        )
        for item in items
    ]
    if result.returncode not in (0, 1) or (result.returncode == 1 and not findings):
        raise ToolError(f"hadolint exited {result.returncode}: {tail(result.stderr)}")
    return findings


# --- 2. Dockerfile structure ------------------------------------------------------------------


def check_dockerfile(ctx: LintContext) -> list[Finding]:
    """The staged-Dockerfile contract, on BuildKit's own parse of the file."""
    path = ctx.project / DOCKERFILE
    if not path.is_file():
        return [Finding("dockerfile", DOCKERFILE, None, "no Dockerfile in the project")]
    try:
        import dockerfile  # noqa: F401  (probe: the parser is a compiled extension)
    except ImportError:
        raise CheckSkipError(
            "the Python package 'dockerfile' (BuildKit's parser) is not installed"
        ) from None
    text = path.read_text(encoding="utf-8", errors="replace")
    return [
        Finding("dockerfile", DOCKERFILE, p.line, p.message, p.severity)
        for p in dockerfile_checks.check_dockerfile(text)
    ]


# --- 3. compose.yaml --------------------------------------------------------------------------


#: The docker CLI plugins lint runs, and where each comes from.
_PLUGINS = {
    "compose": "the docker compose plugin (Compose v2) is not installed: install Debian's "
    "docker-compose or Docker's docker-compose-plugin",
    "buildx": "the docker buildx plugin is not installed: install Debian's docker-buildx or "
    "Docker's docker-buildx-plugin",
}


def _require_plugin(ctx: LintContext, docker: str, plugin: str) -> None:
    # Asked up front: without the plugin, `docker compose --project-name x` makes the CLI read
    # the flag as its own and answer "unknown flag", which reads like a finding about the file.
    result = ctx.run([docker, plugin, "version"])
    if result.returncode != 0:
        raise CheckSkipError(_PLUGINS[plugin])


def check_compose(ctx: LintContext) -> list[Finding]:
    """``docker compose config -q``: the file is valid for Compose v2 (no engine needed)."""
    ctx.file(COMPOSE_FILE)
    docker = ctx.tool("docker")
    _require_plugin(ctx, docker, "compose")
    result = ctx.run(
        [docker, "compose", "--project-name", "stagekit-lint", "-f", COMPOSE_FILE, "config", "-q"]
    )
    if result.returncode != 0:
        return [
            Finding("compose", COMPOSE_FILE, None, f"docker compose config: {tail(result.stderr)}")
        ]
    return []


def published_host(spec: Any) -> str | None:
    """The host address of a Compose/``docker run -p`` port spec, or None if it has none."""
    if isinstance(spec, Mapping):
        host = spec.get("host_ip")
        return str(host) if host else None
    text = str(spec).strip()
    if text.startswith("["):
        host, sep, _ = text[1:].partition("]")
        return host if sep else None
    parts = text.split(":")
    return parts[0] if len(parts) >= 3 else None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_compose_ports(ctx: LintContext) -> list[Finding]:
    """Every port compose.yaml publishes is bound to 127.0.0.1 (the debugger is unauthenticated)."""
    path = ctx.file(COMPOSE_FILE)
    data = load_yaml(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), Mapping):
        return [
            Finding("compose-ports", COMPOSE_FILE, None, "compose.yaml has no services mapping")
        ]
    findings = []
    for name, service in data["services"].items():
        if not isinstance(service, Mapping):
            continue
        if service.get("network_mode") == "host":
            findings.append(
                Finding(
                    "compose-ports",
                    COMPOSE_FILE,
                    None,
                    f"service {name}: network_mode host publishes every port on every interface",
                )
            )
        for spec in service.get("ports") or []:
            if not is_loopback(published_host(spec)):
                shown = json.dumps(spec) if isinstance(spec, Mapping) else str(spec)
                findings.append(
                    Finding(
                        "compose-ports",
                        COMPOSE_FILE,
                        None,
                        f"service {name}: port {shown} is published on every interface; "
                        'bind it to 127.0.0.1 ("127.0.0.1:HOST:CONTAINER")',
                    )
                )
    return findings


# --- 4. docker-bake.hcl -----------------------------------------------------------------------


def check_bake(ctx: LintContext) -> list[Finding]:
    """``docker buildx bake --print``: the file parses and has the contract's targets."""
    ctx.file(BAKE_FILE)
    docker = ctx.tool("docker")
    _require_plugin(ctx, docker, "buildx")
    result = ctx.run([docker, "buildx", "bake", "-f", BAKE_FILE, "--print", *BAKE_TARGETS])
    if result.returncode != 0:
        return [
            Finding(
                "bake", BAKE_FILE, None, f"docker buildx bake --print: {tail(result.stderr, 4)}"
            )
        ]
    try:
        targets = json.loads(result.stdout).get("target", {})
    except (ValueError, AttributeError):
        raise ToolError(
            f"docker buildx bake --print printed no JSON: {tail(result.stdout)}"
        ) from None
    findings = []
    for name in BAKE_STAGE_TARGETS:
        stage = targets.get(name, {}).get("target")
        if stage != name:
            findings.append(
                Finding(
                    "bake", BAKE_FILE, None, f"target {name!r} builds stage {stage!r}, not {name!r}"
                )
            )
    multi = targets.get(BAKE_MULTI_TARGET, {})
    if multi.get("target") != Stage.RELEASE:
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"target {BAKE_MULTI_TARGET!r} must build stage {Stage.RELEASE.value!r}",
            )
        )
    missing = [p for p in MULTI_PLATFORMS if p not in (multi.get("platforms") or [])]
    if missing:
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"target {BAKE_MULTI_TARGET!r} lacks platform(s) {', '.join(missing)}",
            )
        )
    findings += _bake_ca_secret(ctx, docker, targets)
    default = ctx.run([docker, "buildx", "bake", "-f", BAKE_FILE, "--print"])
    try:
        default_targets = sorted(json.loads(default.stdout).get("target", {}))
    except (ValueError, AttributeError):
        default_targets = []
    if default.returncode != 0 or default_targets != list(BAKE_DEFAULT_TARGETS):
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"group 'default' must build exactly {list(BAKE_DEFAULT_TARGETS)}, "
                f"not {default_targets}",
            )
        )
    return findings


def _bake_ca_secret(ctx: LintContext, docker: str, unset: Mapping[str, Any]) -> list[Finding]:
    """Every stage target mounts the ``ca_bundle`` secret when CA_BUNDLE is set, and none when
    it is unset (bake's targets as ``--print`` shows them without it: ``unset``)."""

    def secrets(target: Mapping[str, Any]) -> str:
        return " ".join(str(s) for s in target.get("secret") or [])

    findings = [
        Finding(
            "bake",
            BAKE_FILE,
            None,
            f"target {name!r} mounts the ca_bundle secret although CA_BUNDLE is unset",
        )
        for name in BAKE_STAGE_TARGETS
        if "id=ca_bundle" in secrets(unset.get(name, {}))
    ]
    with tempfile.TemporaryDirectory(prefix="stagekit-lint-") as folder:
        ca = Path(folder, "ca-certificates.crt")
        ca.touch()  # bake stats a secret's file even to --print
        result = ctx.run(
            [docker, "buildx", "bake", "-f", BAKE_FILE, "--print", *BAKE_STAGE_TARGETS],
            env={"CA_BUNDLE": str(ca)},
        )
    try:
        with_ca = json.loads(result.stdout).get("target", {}) if result.returncode == 0 else {}
    except (ValueError, AttributeError):
        with_ca = {}
    lacking = [
        name
        for name in BAKE_STAGE_TARGETS
        if f"id=ca_bundle,src={ca}" not in secrets(with_ca.get(name, {}))
    ]
    if lacking:
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"with CA_BUNDLE set, target(s) {', '.join(lacking)} lack the secret "
                f'id=ca_bundle,src=${{CA_BUNDLE}} (secret = CA_BUNDLE != "" ? [...] : [])',
            )
        )
    return findings
