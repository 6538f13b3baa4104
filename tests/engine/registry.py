"""The suite's container registry: the CNCF distribution registry (Debian's ``docker-registry``)
on 127.0.0.1, serving the stand-ins as a mirror would.

It runs with a config of the suite's own (never the package's, which listens on every interface
with htpasswd auth): ``http.addr`` 127.0.0.1:(5500 + engine instance), no auth, storage under the
engine's state root, deletes enabled. ``python -m tests.engine up`` starts it, ``down`` stops it,
``clean`` removes it with its storage.

Layout, so that every form of the org config's registry mapping can point at it:

- ``127.0.0.1:PORT/<fully qualified name>``: ``docker.io/library/golang:1.26-trixie``,
  ``gcr.io/distroless/static-debian13:nonroot``; the ``prefix`` form (``prefix =
  "127.0.0.1:PORT"``) and the ``upstreams`` form (``"gcr.io" = "127.0.0.1:PORT/gcr.io"``).
- ``127.0.0.1:PORT/library/golang:1.26-trixie``: Docker Hub's own paths, which is what a daemon
  with ``registry-mirrors`` asks a mirror for. Blobs are shared, so the second name costs one
  manifest.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import docker
import docker.errors
from stagekit.filters import _qualified, _split_reference

from tests.engine.daemon import _pids_of, _terminate, client
from tests.engine.errors import EngineError
from tests.engine.layers import NATIVE, PLATFORMS
from tests.engine.paths import EnginePaths
from tests.engine.util import start_detached, tail

PROGRAM = "docker-registry"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


class RegistryStartError(EngineError):
    """The registry did not answer in time."""


def config_text(where: EnginePaths) -> str:
    # JSON is YAML: one format the standard library writes.
    config = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(where.registry_root)},
            "delete": {"enabled": True},
        },
        "http": {"addr": where.registry_address},
    }
    return json.dumps(config, indent=2) + "\n"


def answers(where: EnginePaths, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(f"http://{where.registry_address}/v2/", timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def ensure_registry(timeout: float = 30, paths: EnginePaths | None = None) -> str:
    """Start the registry if it is not answering (bounded wait); return ``127.0.0.1:PORT``."""
    where = paths or EnginePaths.from_env()
    if answers(where):
        return where.registry_address
    program = shutil.which(PROGRAM)
    if program is None:
        raise EngineError(
            f"{PROGRAM} is not installed", "run scripts/install-engine.sh as root (Debian package)"
        )
    where.registry_root.mkdir(parents=True, exist_ok=True)
    where.registry_config.write_text(config_text(where))
    if not _pids_of(PROGRAM, str(where.registry_config)):
        offset = where.registry_log.stat().st_size if where.registry_log.exists() else 0
        start_detached([program, "serve", str(where.registry_config)], where.registry_log)
    else:
        offset = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(where):
            return where.registry_address
        time.sleep(0.2)
    log_tail = where.registry_log.read_text(errors="replace")[offset:]
    raise RegistryStartError(
        f"the suite's registry did not answer on {where.registry_address} within {timeout:.0f} s;"
        f" last lines of {where.registry_log}:\n" + tail(log_tail, 20),
        "python -m tests.engine down (or clean) and try again",
    )


def stop_registry(paths: EnginePaths | None = None) -> bool:
    where = paths or EnginePaths.from_env()
    pids = _pids_of(PROGRAM, str(where.registry_config))
    for pid in pids:
        _terminate(pid, 10)
    return bool(pids)


@dataclass(frozen=True)
class Child:
    """One platform's manifest, as an index lists it (or a single manifest standing alone)."""

    platform: str  # "linux/amd64", "linux/arm64/v8"
    descriptor: dict[str, object]  # mediaType, digest, size (and platform, in an index)
    config: str | None


@dataclass(frozen=True)
class Served:
    """What the registry serves for a tag: the manifest's digest and, per platform, its image."""

    digest: str
    children: tuple[Child, ...]
    index: bool

    @property
    def config(self) -> str | None:
        """The native (amd64) image's config digest, which is its image ID in the engine."""
        native = self.child(NATIVE_PLATFORM)
        return native.config if native else None

    def child(self, platform: str) -> Child | None:
        return next((c for c in self.children if c.platform == platform), None)


def fetch_manifest(where: EnginePaths, name: str, reference: str) -> tuple[str, str, bytes] | None:
    """(digest, media type, body) of ``name``'s manifest ``reference``; None when absent."""
    request = urllib.request.Request(
        f"http://{where.registry_address}/v2/{name}/manifests/{reference}",
        headers={"Accept": MANIFEST_TYPES},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            digest = str(response.headers.get("Docker-Content-Digest") or "")
            kind = str(response.headers.get("Content-Type") or "")
            return digest, kind, response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def platform_field(arch: str) -> dict[str, str]:
    """The OCI ``platform`` object of a Debian architecture (``arm64`` → arm64, variant v8)."""
    architecture, variant = PLATFORMS[arch]
    field = {"os": "linux", "architecture": architecture}
    if variant:
        field["variant"] = variant
    return field


def platform_of(descriptor: Mapping[str, object]) -> str:
    """``os/architecture[/variant]`` of an index entry ("" when it names no platform)."""
    platform = descriptor.get("platform")
    if not isinstance(platform, dict):
        return ""
    parts = [str(platform.get("os", "")), str(platform.get("architecture", ""))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def platform(arch: str) -> str:
    """``linux/arm64/v8`` for ``arm64``: how index entries are told apart."""
    return platform_of({"platform": platform_field(arch)})


NATIVE_PLATFORM = platform(NATIVE)


def served(where: EnginePaths, name: str, tag: str) -> Served | None:
    """``name:tag`` as the registry serves it, None if it has no such tag."""
    found = fetch_manifest(where, name, tag)
    if found is None:
        return None
    digest, kind, raw = found
    body = json.loads(raw)
    if "manifests" not in body:
        config = (body.get("config") or {}).get("digest")
        descriptor: dict[str, object] = {"mediaType": kind, "digest": digest, "size": len(raw)}
        # A single manifest is the native image: only the native stand-ins are pushed so.
        child = Child(NATIVE_PLATFORM, descriptor, str(config) if config else None)
        return Served(digest, (child,), index=False)
    children = []
    for entry in body["manifests"]:
        inner = fetch_manifest(where, name, str(entry["digest"]))
        config = json.loads(inner[2]).get("config", {}).get("digest") if inner else None
        children.append(Child(platform_of(entry), entry, str(config) if config else None))
    return Served(digest, tuple(children), index=True)


def qualified(reference: str) -> tuple[str, str]:
    """``golang:1.26`` → (``docker.io/library/golang``, ``1.26``), as the prefix form maps it
    (stagekit's own rule, so the registry's layout cannot drift from the mapping)."""
    repository, separator, rest = _split_reference(reference)
    return _qualified(repository), (rest if separator == ":" else "latest")


def mirror_names(reference: str) -> list[str]:
    """The names the registry holds ``reference`` under (see the module docstring)."""
    name, tag = qualified(reference)
    names = [f"{name}:{tag}"]
    if name.startswith("docker.io/"):
        names.append(f"{name.removeprefix('docker.io/')}:{tag}")
    return names


@dataclass(frozen=True)
class Pushed:
    reference: str  # the local stand-in
    name: str  # its name in the registry (without the address)
    digest: str
    pushed: bool  # False: the registry had that digest already


def push_images(
    references: Iterable[str],
    paths: EnginePaths | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> list[Pushed]:
    """Push each local image to the registry under its mirror names, once per machine.

    A name is skipped when the registry already serves, for its tag, a manifest whose image
    config is this image's (the config digest is the image ID): same image, nothing to send.
    """
    where = paths or EnginePaths.from_env()
    sdk = client(where.docker_host, timeout=900)
    done: list[Pushed] = []
    try:
        for reference in references:
            image = sdk.images.get(reference)
            for mirrored in mirror_names(reference):
                name, tag = mirrored.rsplit(":", 1)
                remote = f"{where.registry_address}/{name}"
                now = served(where, name, tag)
                if now is not None and now.config == image.id:
                    done.append(Pushed(reference, name, now.digest, pushed=False))
                    continue
                started = time.monotonic()
                image.tag(remote, tag)
                try:
                    _push(sdk, remote, tag)
                finally:
                    with contextlib.suppress(docker.errors.ImageNotFound):
                        sdk.images.remove(f"{remote}:{tag}", noprune=True)
                after = served(where, name, tag)
                if after is None or after.config != image.id:
                    raise EngineError(f"pushed {remote}:{tag}, but the registry does not serve it")
                log(f"pushed {reference} as {remote}:{tag} in {time.monotonic() - started:.1f} s")
                done.append(Pushed(reference, name, after.digest, pushed=True))
    finally:
        sdk.close()
    return done


def _push(sdk: docker.DockerClient, repository: str, tag: str) -> None:
    for line in sdk.api.push(repository, tag=tag, stream=True, decode=True):
        if isinstance(line, dict) and line.get("error"):
            raise EngineError(f"push of {repository}:{tag} failed: {line['error']}")


def disk_usage(paths: EnginePaths | None = None) -> int:
    where = paths or EnginePaths.from_env()
    if not where.registry_root.exists():
        return 0
    return sum(p.stat().st_size for p in where.registry_root.rglob("*") if p.is_file())
