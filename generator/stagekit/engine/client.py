"""The Docker Engine: one resolved endpoint for the SDK and the CLI, and BuildKit builds.

The docker SDK's ``from_env()`` reads ``DOCKER_HOST`` but ignores ``docker context``; the CLI
honours both. stagekit resolves the endpoint once (``DOCKER_HOST``, else the active context, else
the default socket) and hands the same address to both. Builds go through ``docker buildx build``
because the SDK's build call speaks only to the legacy builder, which cannot ``RUN --mount``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stagekit.errors import EngineError

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_HOST = "unix:///var/run/docker.sock"
SYSTEM_CA_BUNDLES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),  # Debian, Ubuntu, Alpine
    Path("/etc/pki/tls/certs/ca-bundle.crt"),  # Fedora, RHEL
    Path("/etc/ssl/cert.pem"),  # macOS, Alpine
)
#: What the generated Dockerfiles and stagekit's own calls need (docs/cli.md cites each).
MIN_ENGINE = (25, 0)  # HEALTHCHECK --start-interval arrived in Docker Engine 25.0 (API 1.44)
MIN_BUILDX = (0, 13)  # the oldest buildx these builds are tested with (Debian 13's 0.13.1)
MIN_COMPOSE = (2, 0)  # `docker compose` as a CLI plugin (Compose v2)
START_HINT = (
    "start Docker (e.g. `sudo systemctl start docker`), or point DOCKER_HOST / `docker context use`"
    " at a running engine"
)


@dataclass(frozen=True)
class Endpoint:
    """Where the engine answers, and how it was chosen (for error messages)."""

    host: str
    source: str  # "DOCKER_HOST", "context <name>" or "default"

    def cli_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for docker CLI subprocesses that pins them to this endpoint."""
        env = dict(os.environ if base is None else base)
        env["DOCKER_HOST"] = self.host
        env.pop("DOCKER_CONTEXT", None)  # DOCKER_HOST and DOCKER_CONTEXT together is an error
        return env

    def client(self, timeout: int = 60) -> DockerClient:
        """A docker SDK client on this endpoint (TLS settings from the environment, if any)."""
        import docker

        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        try:
            return docker.from_env(environment=env, timeout=timeout)
        except docker.errors.DockerException as exc:
            raise EngineError(
                f"cannot reach the Docker Engine at {self.host} ({self.source}): {exc}", START_HINT
            ) from None


def resolve_endpoint(env: Mapping[str, str] | None = None) -> Endpoint:
    """``DOCKER_HOST``, else the active ``docker context``, else the default socket."""
    env = os.environ if env is None else env
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "DOCKER_HOST")
    context = env.get("DOCKER_CONTEXT") or current_context(env)
    if context and context != "default":
        host = _context_host(context, env)
        return Endpoint(host, f"context {context}")
    return Endpoint(DEFAULT_HOST, "default")


def current_context(env: Mapping[str, str]) -> str | None:
    """The active `docker context` in the CLI's config.json (DOCKER_CONFIG honoured), if any."""
    import json

    config_dir = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        data = json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("currentContext") if isinstance(data, dict) else None
    return str(value) if value else None


def _context_host(context: str, env: Mapping[str, str]) -> str:
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise EngineError("the docker CLI is not installed", "install Docker's CLI and buildx")
    child_env = {k: v for k, v in env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    result = subprocess.run(
        [docker_cli, "context", "inspect", context, "--format", "{{.Endpoints.docker.Host}}"],
        capture_output=True,
        text=True,
        timeout=15,
        env=child_env,
        check=False,
    )
    host = result.stdout.strip()
    if result.returncode != 0 or not host:
        detail = (result.stderr.strip().splitlines() or ["no endpoint"])[-1]
        raise EngineError(f"cannot read docker context {context!r}: {detail}", START_HINT)
    return host


#: ``uname -m`` / the Engine's ``Arch`` → the platform architecture Docker names.
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def engine_platform(client: DockerClient) -> str:
    """The engine's own platform, ``linux/amd64`` or ``linux/arm64``."""
    version = client.version()
    arch = str(version.get("Arch") or "")
    return f"{version.get('Os', 'linux')}/{_ARCHES.get(arch, arch)}"


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``26.1.5+dfsg1`` → ``(26, 1, 5)``; ``v0.13.1`` → ``(0, 13, 1)``; None without digits."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def ping(endpoint: Endpoint, timeout: int = 10) -> str:
    """Check that the engine answers and buildx exists; return the engine version."""
    import docker

    try:
        client = endpoint.client(timeout=timeout)
        version = str(client.version().get("Version", "unknown"))
        client.close()
    except (docker.errors.DockerException, OSError) as exc:
        raise EngineError(
            f"no Docker Engine answers at {endpoint.host} ({endpoint.source})",
            f"{START_HINT} ({type(exc).__name__})",
        ) from None
    if shutil.which("docker") is None:
        raise EngineError("the docker CLI is not installed", "install Docker's CLI and buildx")
    check = subprocess.run(
        ["docker", "buildx", "version"],
        capture_output=True,
        text=True,
        timeout=30,
        env=endpoint.cli_env(),
        check=False,
    )
    if check.returncode != 0:
        raise EngineError(
            "docker buildx is not installed: stagekit builds with BuildKit",
            "install the buildx plugin (Debian: docker-buildx)",
        )
    engine = version_tuple(version)
    if engine is not None and engine[:2] < MIN_ENGINE:
        raise EngineError(
            f"Docker Engine {version} is too old: {MIN_ENGINE[0]}.{MIN_ENGINE[1]} or newer is "
            "needed (the Dockerfiles use HEALTHCHECK --start-interval)",
            "upgrade Docker Engine; `stagekit doctor` lists what else is missing",
        )
    buildx = version_tuple(check.stdout.replace("github.com/docker/buildx", ""))
    if buildx is not None and buildx[:2] < MIN_BUILDX:
        raise EngineError(
            f"docker buildx {'.'.join(map(str, buildx))} is too old: "
            f"{MIN_BUILDX[0]}.{MIN_BUILDX[1]} or newer is needed",
            "upgrade the buildx plugin (Debian: docker-buildx)",
        )
    return version


# --- CA bundle -----------------------------------------------------------------------------------


def system_ca_bundle() -> Path | None:
    return next((path for path in SYSTEM_CA_BUNDLES if path.is_file()), None)


def full_ca_bundle(user_bundle: Path | None, workdir: Path) -> Path | None:
    """The bundle to hand builds as the ``ca_bundle`` secret.

    The secret is mounted over the image's system bundle during dependency steps, so it must hold
    every root those steps need: a user's corporate root alone is appended to the system bundle.
    """
    system = system_ca_bundle()
    if user_bundle is None:
        return system
    if not user_bundle.is_file():
        raise EngineError(f"CA bundle not found: {user_bundle}")
    text = user_bundle.read_text(encoding="utf-8", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise EngineError(f"{user_bundle} holds no PEM certificate")
    if system is None or user_bundle.resolve() == system.resolve():
        return user_bundle
    combined = workdir / "ca-bundle.crt"
    combined.write_text(
        system.read_text(encoding="utf-8", errors="replace").rstrip() + "\n" + text,
        encoding="utf-8",
    )
    return combined


# --- builds --------------------------------------------------------------------------------------


def source_date_epoch(project: Path, env: Mapping[str, str] | None = None) -> int:
    """``SOURCE_DATE_EPOCH`` from the environment, else the last commit's time, else 0."""
    env = os.environ if env is None else env
    if env.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(env["SOURCE_DATE_EPOCH"])
    try:
        result = subprocess.run(
            ["git", "log", "-1", "--format=%ct"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    value = result.stdout.strip()
    return int(value) if result.returncode == 0 and value.isdigit() else 0


def created_label(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BuildRequest:
    """One ``docker buildx build`` of one target."""

    context: Path
    target: str
    tag: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None
    no_cache: bool = False
    platform: str | None = None
    builder: str | None = None  # a buildx builder by name (default: BUILDX_BUILDER, else buildx's)


@dataclass(frozen=True)
class BuildOutcome:
    """The result of one build: success, time, the plain progress log and the cached steps."""

    target: str
    tag: str
    ok: bool
    seconds: float
    log: str
    cached_steps: tuple[str, ...]
    image_id: str | None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.rstrip().splitlines()[-lines:])


_STEP = re.compile(r"^#(\d+) (\[.*)$")
_CACHED = re.compile(r"^#(\d+) CACHED$")


def cached_steps(log: str) -> tuple[str, ...]:
    """Names of the steps BuildKit's plain progress output reports as CACHED."""
    names: dict[str, str] = {}
    cached: list[str] = []
    for line in log.splitlines():
        if match := _STEP.match(line):
            names.setdefault(match.group(1), match.group(2))
        elif (match := _CACHED.match(line)) and match.group(1) in names:
            cached.append(names[match.group(1)])
    return tuple(dict.fromkeys(cached))


def build_command(request: BuildRequest, iidfile: Path) -> list[str]:
    command = [
        "docker",
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "--target",
        request.target,
        "--tag",
        request.tag,
        "--iidfile",
        str(iidfile),
    ]
    if request.no_cache:
        command.append("--no-cache")
    if request.platform:
        command += ["--platform", request.platform]
    if request.builder:
        command += ["--builder", request.builder]
    if request.ca_bundle is not None:
        command += ["--secret", f"id=ca_bundle,src={request.ca_bundle}"]
    for key, value in request.build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    command.append(str(request.context))
    return command


def buildx_build(
    endpoint: Endpoint,
    request: BuildRequest,
    *,
    timeout: float = 1800,
    on_line: Callable[[str], None] | None = None,
) -> BuildOutcome:
    """Run one BuildKit build; never raises for a failed build (``ok`` says), only for no engine."""
    with tempfile.TemporaryDirectory(prefix="stagekit-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        command = build_command(request, iidfile)
        started = time.monotonic()
        lines: list[str] = []
        try:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=endpoint.cli_env(),
                cwd=request.context,
            )
        except FileNotFoundError:
            raise EngineError("the docker CLI is not installed", "install Docker's CLI") from None
        deadline = started + timeout
        assert process.stdout is not None
        try:
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if on_line is not None:
                    on_line(lines[-1])
                if time.monotonic() > deadline:
                    process.kill()
                    lines.append(f"stagekit: build timed out after {timeout:.0f}s")
                    break
            returncode = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        seconds = time.monotonic() - started
        log = "\n".join(lines)
        image_id = iidfile.read_text().strip() if iidfile.is_file() else None
    return BuildOutcome(
        target=request.target,
        tag=request.tag,
        ok=returncode == 0 and image_id is not None,
        seconds=seconds,
        log=log,
        cached_steps=cached_steps(log),
        image_id=image_id,
    )
