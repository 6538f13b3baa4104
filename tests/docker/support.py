"""Helpers the language image tests share: hardened containers, loopback HTTP, image contents."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import docker.errors
import pytest
from stagekit.engine.client import BuildOutcome, created_label

from tests.engine.paths import EnginePaths
from tests.helpers import REPO

SOURCE_DATE_EPOCH = 1_700_000_000
PORT = 8080
MB = 1_000_000
HEALTHY_WITHIN = 15.0  # seconds; --start-interval=1s should make it ~1-2 s
STOP_WITHIN = 6.0  # seconds; the drain is bounded at 5 s and nothing is in flight
#: How every release image must run in production (the contract's hardening).
HARDENED: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "user": "65532:65532",
}
#: What a scratch release holds besides the app: the non-root user and the CA bundle.
SCRATCH_ETC = ("etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt")
#: File names that are a shell (or a multi-call binary that is one).
SHELLS = ("sh", "bash", "ash", "dash", "busybox")
# Loopback requests must never go through an HTTP(S)_PROXY from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


BINFMT_ARM64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def emulation_missing() -> str | None:
    """Why arm64 binaries cannot run here, or None."""
    try:
        text = BINFMT_ARM64.read_text()
    except OSError:
        return "no binfmt handler for arm64 (qemu-aarch64) is registered: the kernel refused it"
    if not text.startswith("enabled"):
        return "the binfmt handler for arm64 (qemu-aarch64) is disabled"
    flags = next(
        (line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags")), ""
    )
    if "F" not in flags:
        return (
            "the binfmt handler for arm64 lacks the fix-binary flag (F): containers cannot use it"
        )
    return None


@dataclass
class Built:
    """One combination rendered and built (test, debug, release) once per session."""

    lang: str
    base: str
    project: Path
    images: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, BuildOutcome] = field(default_factory=dict)


def build_args(epoch: int = SOURCE_DATE_EPOCH) -> dict[str, str]:
    return {
        "SOURCE_DATE_EPOCH": str(epoch),
        "CREATED": created_label(epoch),
        "VERSION": "0.1.0",
        "REVISION": "test",
    }


def binary_path(built: Built) -> str:
    return f"/usr/local/bin/{built.project.name}"


@contextmanager
def running(client: Any, image: str, **kwargs: Any) -> Iterator[Any]:
    """A detached container that is always force-removed."""
    container = client.containers.run(image, detach=True, **kwargs)
    try:
        yield container
    finally:
        with suppress(docker.errors.NotFound):
            container.remove(force=True)


def host_port(container: Any, port: int) -> int:
    """The 127.0.0.1 port Docker published for the container's ``port``."""
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"]
    (binding,) = [b for b in bindings if b["HostIp"] == "127.0.0.1"]
    return int(binding["HostPort"])


def get_json(url: str, timeout: float = 2.0) -> tuple[int, Any]:
    try:
        with OPENER.open(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def wait_for_json(url: str, within: float) -> tuple[int, Any, float]:
    """Poll ``url`` until it answers (any status), within a bound; status, body, seconds taken."""
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < within:
        try:
            status, body = get_json(url)
            return status, body, time.monotonic() - started
        except (OSError, ValueError) as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {within:.0f}s (last error: {last})")


def health_status(container: Any) -> str:
    container.reload()
    return str(container.attrs["State"].get("Health", {}).get("Status", "none"))


def file_from_image(client: Any, image: str, path: str) -> bytes:
    """The content of the file at ``path`` in ``image``, following symlinks (at most 8)."""
    container = client.containers.create(image)
    try:
        for _ in range(8):
            stream, _ = container.get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                member = archive.getmembers()[0]
                if member.issym():
                    path = str(PurePosixPath(path).parent / member.linkname)
                    continue
                extracted = archive.extractfile(member)
                assert extracted is not None, path
                return extracted.read()
        raise AssertionError(f"{path}: too many symlinks")
    finally:
        container.remove(force=True)


def image_entries(client: Any, image: str) -> dict[str, tarfile.TarInfo]:
    """Every path in the image's layers (through `docker save`), later layers winning."""
    data = b"".join(client.images.get(image).save(named=False))
    entries: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer_path in manifest[0]["Layers"]:
            layer = saved.extractfile(layer_path)
            assert layer is not None
            with tarfile.open(fileobj=io.BytesIO(layer.read())) as members:
                for member in members.getmembers():
                    entries[member.name.rstrip("/")] = member
    return entries


def image_files(client: Any, image: str) -> list[str]:
    """Every path but directories in the image's layers."""
    return sorted(name for name, m in image_entries(client, image).items() if not m.isdir())


def copy_project(built: Built, dest: Path) -> Path:
    project = dest / built.project.name
    shutil.copytree(built.project, project)
    return project


def remove_image(client: Any, tag: str) -> None:
    with suppress(docker.errors.ImageNotFound):
        client.images.remove(tag, force=True)


def assert_release_metadata(client: Any, built: Built, entrypoint: list[str]) -> dict[str, Any]:
    """The release image's config as the contract wants it; the config, for more checks."""
    config: dict[str, Any] = client.images.get(built.images["release"]).attrs["Config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == entrypoint
    labels = config["Labels"]
    assert labels["org.opencontainers.image.created"] == created_label(SOURCE_DATE_EPOCH)
    assert labels["org.opencontainers.image.revision"] == "test"
    return config


def run_hardened_release(
    client: Any, built: Built, label: str, more: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Run the release image as production would (read-only, no capabilities, no new privileges,
    published on 127.0.0.1 only): it answers /healthz and /hello, runs every process as 65532,
    turns healthy within a bound and exits 0 soon after SIGTERM. ``more(port)`` checks the
    language's own endpoints. Returns the container's JSON log lines."""
    started = time.monotonic()
    with running(
        client, built.images["release"], ports={f"{PORT}/tcp": ("127.0.0.1", None)}, **HARDENED
    ) as container:
        port = host_port(container, PORT)
        status, body, answered = wait_for_json(f"http://127.0.0.1:{port}/healthz", 15)
        print(f"{label}: /healthz answered {status} {body} after {answered:.2f}s")
        assert (status, body) == (200, {"status": "ok"})
        status, body = get_json(f"http://127.0.0.1:{port}/hello?name=stagekit")
        assert (status, body) == (200, {"message": "Hello, stagekit!"})
        if more is not None:
            more(port)

        processes = container.top()["Processes"]
        assert {p[0] for p in processes} == {"65532"}, f"processes run as {processes}"

        state = health_status(container)
        while state != "healthy" and time.monotonic() - started < HEALTHY_WITHIN:
            time.sleep(0.2)
            state = health_status(container)
        print(f"{label}: health {state!r} {time.monotonic() - started:.1f}s after start")
        assert state == "healthy", f"health is {state!r} after {HEALTHY_WITHIN:.0f}s"

        stopping = time.monotonic()
        container.kill(signal="SIGTERM")
        result = container.wait(timeout=30)
        stopped_after = time.monotonic() - stopping
        logs = container.logs().decode()
        print(f"{label}: SIGTERM -> exit {result['StatusCode']} in {stopped_after:.2f}s")
        assert result["StatusCode"] == 0, f"exit code {result['StatusCode']}; logs:\n{logs}"
        assert stopped_after < STOP_WITHIN, f"took {stopped_after:.1f}s to stop"
        return [json.loads(line) for line in logs.splitlines() if line.strip()]


def regular_files(entries: dict[str, tarfile.TarInfo]) -> set[str]:
    return {name for name, member in entries.items() if not member.isdir()}


def assert_no_shell(client: Any, image: str, base: str) -> dict[str, tarfile.TarInfo]:
    """No shell among the image's files, and none starts; the image's entries, for more checks."""
    entries = image_entries(client, image)
    shells = sorted(n for n in regular_files(entries) if n.rsplit("/", 1)[-1] in SHELLS)
    assert shells == [], f"shells in the {base} image: {shells}"
    container = client.containers.create(image, entrypoint=["/bin/sh", "-c", "true"])
    try:
        with pytest.raises(docker.errors.APIError, match="no such file or directory"):
            container.start()
    finally:
        container.remove(force=True)
    return entries


#: The session builds' arguments (tests/docker/support.py ``build_args``): same args, same cache.
SESSION_ARGS = ["--build-arg", "VERSION=0.1.0", "--build-arg", "REVISION=test"]


def smoke_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "generator"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env["SOURCE_DATE_EPOCH"] = str(SOURCE_DATE_EPOCH)
    env.pop("DOCKER_CONTEXT", None)
    env["NO_COLOR"] = "1"
    return env


def smoke_command(project: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "stagekit", "smoke", str(project), *options]


def run_smoke(project: Path, *options: str, timeout: float = 900) -> tuple[int, Any, str]:
    """Run ``stagekit smoke --json``; return the exit code, the JSON document and stderr."""
    result = subprocess.run(
        smoke_command(project, "--json", *options),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=smoke_env(),
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(
            f"smoke printed no JSON (exit {result.returncode}):\n{result.stdout[-2000:]}\n"
            f"{result.stderr[-3000:]}"
        )
    return result.returncode, report, result.stderr


@dataclass(frozen=True)
class LoopbackRegistry:
    """The suite's registry (tests/engine/registry.py): its address and its access log."""

    address: str  # 127.0.0.1:PORT
    paths: EnginePaths

    def log_offset(self) -> int:
        return self.paths.registry_log.stat().st_size

    def manifest_requests(self, since: int) -> list[tuple[str, str]]:
        """(repository, client) of each manifest asked for since ``since`` (GET, or HEAD when
        the client has the manifest by digest already and only resolves the tag), in order."""
        text = self.paths.registry_log.read_bytes()[since:].decode(errors="replace")
        found = re.findall(
            r'"(?:GET|HEAD) /v2/(\S+?)/manifests/\S+ HTTP[^"]*" 200 \d+ "[^"]*" "([^"]*)"', text
        )
        return [(repository, agent) for repository, agent in found]


def new_project(
    dest: Path, lang: str, base: str, config: Path | str = "/dev/null", *extra: str
) -> Path:
    """``stagekit new DEST`` in-process, with every answer given (owner ``t``)."""
    from stagekit.cli.main import main

    argv = ["new", str(dest), "--lang", lang, "--base", base, "--no-input", "--owner", "t"]
    assert main([*argv, "--config", str(config), *extra]) == 0
    return dest
