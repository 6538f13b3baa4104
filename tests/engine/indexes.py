"""Two-platform stand-ins in the suite's registry: the native image and its arm64 twin, one index.

The engine keeps the classic image store, which holds one platform per name, so arm64 stand-ins
are never loaded into it. They are made from the same recipes on Debian's arm64 packages (a
foreign Debian root runs its maintainer scripts under QEMU), written straight to the loopback
registry through its HTTP API (gzip layers, an OCI manifest), and listed beside the native
image in an OCI image index under every mirror name, as upstream publishes its images. A
project rendered with the org config's mapping pointed at the registry then builds for either
platform from the same ``FROM`` line: BuildKit picks the platform's entry from the index.

An index is written once per recipe: the arm64 image's config has a fixed creation time, so its
digest is a function of the recipe, and a registry that already lists it is left alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tests.engine.archive import image_config
from tests.engine.errors import EngineError, StandinUnavailable
from tests.engine.layers import NATIVE, BuildContext, BuiltLayer, DebSource, LayerCache
from tests.engine.paths import EnginePaths
from tests.engine.recipes import ImageSpec, Unavailable, resolve
from tests.engine.registry import (
    NATIVE_PLATFORM,
    Served,
    mirror_names,
    platform,
    platform_field,
    push_images,
    served,
)
from tests.engine.util import file_sha256, locked

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
# The arm64 configs' creation time: fixed, so a recipe always gives the same image digest.
CREATED = "2025-08-09T00:00:00Z"
LAYER_WORKERS = 2


@dataclass(frozen=True)
class Published:
    reference: str  # the upstream reference the index stands in for
    names: tuple[str, ...]  # its names in the registry (without the address)
    digest: str  # the index's digest
    platforms: tuple[str, ...]
    written: bool  # False: the registry listed this recipe's image already


def with_foreign_standin(references: Iterable[str], arch: str = "arm64") -> list[str]:
    """The references that have an ``arch`` stand-in, sorted (the toolchain images have none:
    they run on the build platform)."""
    return sorted({ref for ref in references if isinstance(resolve(ref, arch), ImageSpec)})


def publish_indexes(
    references: Iterable[str],
    arch: str = "arm64",
    paths: EnginePaths | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> list[Published]:
    """Serve each reference as a two-platform index (native + ``arch``); the native stand-ins
    must be provisioned in the engine already. Raises StandinUnavailable for references that
    have no ``arch`` stand-in, before anything is written."""
    where = paths or EnginePaths.from_env()
    wanted = list(dict.fromkeys(references))
    specs: dict[str, ImageSpec] = {}
    reasons: dict[str, str] = {}
    for ref in wanted:
        found = resolve(ref, arch)
        if isinstance(found, ImageSpec):
            specs[ref] = found
        elif isinstance(found, Unavailable):
            reasons[ref] = found.reason
        else:
            reasons[ref] = f"{ref} has no {arch} stand-in"
    if reasons:
        raise StandinUnavailable(reasons, [])
    with locked(where.images_lock, 3600, f"publishing {arch} stand-ins"):
        push_images(wanted, paths=where, log=log)
        layers = _build_layers(where, list(specs.values()), arch, log)
        return [_publish(where, ref, spec, layers, log) for ref, spec in specs.items()]


def _build_layers(
    where: EnginePaths, specs: list[ImageSpec], arch: str, log: Callable[[str], None]
) -> dict[str, BuiltLayer]:
    unique = {layer.recipe_hash(): layer for spec in specs for layer in spec.layers}
    packages = [pkg for layer in unique.values() for pkg in layer.deb_packages()]
    ctx = BuildContext(where, DebSource(where, packages, arch), log)
    cache = LayerCache(where)
    with ThreadPoolExecutor(LAYER_WORKERS) as pool:
        futures = {key: pool.submit(cache.build, layer, ctx) for key, layer in unique.items()}
        return {key: future.result() for key, future in futures.items()}


def _publish(
    where: EnginePaths,
    ref: str,
    spec: ImageSpec,
    built: dict[str, BuiltLayer],
    log: Callable[[str], None],
) -> Published:
    layers = [built[layer.recipe_hash()] for layer in spec.layers]
    config = image_config(spec, layers, created=CREATED)
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    names = [mirrored.rsplit(":", 1) for mirrored in mirror_names(ref)]
    wanted = platform(spec.arch)
    current = [served(where, name, tag) for name, tag in names]
    if all(_lists(now, wanted, config_digest) for now in current):
        first = current[0]
        assert first is not None
        platforms = tuple(child.platform for child in first.children)
        return Published(ref, tuple(n for n, _ in names), first.digest, platforms, written=False)
    registry = _Registry(where)
    manifest = _upload_image(registry, [n for n, _ in names], config, layers, log)
    digest = ""
    for (name, tag), now in zip(names, current, strict=True):
        native = now.child(NATIVE_PLATFORM) if now else None
        if native is None:
            raise EngineError(f"the registry does not serve the native {name}:{tag} to index")
        foreign = {**manifest, "platform": platform_field(spec.arch)}
        native_entry = {**native.descriptor, "platform": platform_field(NATIVE)}
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [native_entry, foreign]}
        digest = registry.put_manifest(name, tag, OCI_INDEX, json.dumps(index).encode())
    log(f"{ref}: {NATIVE_PLATFORM} + {wanted} as one index {digest[:19]}")
    names_only = tuple(n for n, _ in names)
    return Published(ref, names_only, digest, (NATIVE_PLATFORM, wanted), written=True)


def _lists(now: Served | None, wanted: str, config_digest: str) -> bool:
    if now is None or not now.index:
        return False
    child = now.child(wanted)
    return child is not None and child.config == config_digest and now.config is not None


def _upload_image(
    registry: _Registry,
    names: list[str],
    config: bytes,
    layers: list[BuiltLayer],
    log: Callable[[str], None],
) -> dict[str, object]:
    """Upload ``layers`` (gzip) and ``config`` to every name; return the manifest's descriptor."""
    work = Path(tempfile.mkdtemp(prefix="index-", dir=registry.where.work))
    try:
        descriptors = []
        for layer in layers:
            blob, digest = _gzip(layer.path, work)
            log(f"uploading {layer.name} ({blob.stat().st_size / 1e6:.0f} MB gzip)")
            for name in names:
                registry.put_blob(name, digest, blob)
            descriptors.append(
                {"mediaType": OCI_LAYER, "digest": digest, "size": blob.stat().st_size}
            )
            blob.unlink()
        config_file = work / "config.json"
        config_file.write_bytes(config)
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        for name in names:
            registry.put_blob(name, config_digest, config_file)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": descriptors,
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        for name in names:
            registry.put_manifest(name, digest, OCI_MANIFEST, manifest)
        return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _gzip(tar: Path, work: Path) -> tuple[Path, str]:
    """The layer compressed (mtime 0: the same tar always gives the same blob) and its digest."""
    out = work / (tar.name + ".gz")
    with (
        tar.open("rb") as source,
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=1, fileobj=raw, mtime=0) as packed,
    ):
        shutil.copyfileobj(source, packed, 1 << 20)
    return out, "sha256:" + file_sha256(out)


class _Registry:
    """The few distribution API calls an upload needs (plain HTTP on loopback)."""

    def __init__(self, where: EnginePaths) -> None:
        self.where = where
        self.base = f"http://{where.registry_address}/v2"

    def _call(
        self,
        method: str,
        url: str,
        data: bytes | BinaryIO | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                response.read()
                return int(response.status), dict(response.headers)
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code == 404:
                return 404, {}
            detail = exc.read().decode(errors="replace")[:300]
            raise EngineError(f"registry: {method} {url} answered {exc.code}: {detail}") from exc

    def put_blob(self, name: str, digest: str, path: Path) -> None:
        status, _ = self._call("HEAD", f"{self.base}/{name}/blobs/{digest}")
        if status == 200:
            return
        _, headers = self._call("POST", f"{self.base}/{name}/blobs/uploads/", b"")
        location = headers.get("Location", "")
        if location.startswith("/"):
            location = f"http://{self.where.registry_address}{location}"
        joiner = "&" if "?" in location else "?"
        size = path.stat().st_size
        with path.open("rb") as body:
            self._call(
                "PUT",
                f"{location}{joiner}digest={digest}",
                body,
                {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )

    def put_manifest(self, name: str, reference: str, kind: str, body: bytes) -> str:
        _, headers = self._call(
            "PUT", f"{self.base}/{name}/manifests/{reference}", body, {"Content-Type": kind}
        )
        return headers.get("Docker-Content-Digest", "")
