"""Loading a stand-in into the daemon: a ``docker save``-format archive, streamed.

``docker import`` makes one layer per image; loading our own archive keeps upstream's layering
(golang and rust share the Debian layer, all distroless images share their bottom layers, stored
once), and sets the whole image config (env, user, workdir, entrypoint, labels) exactly.
The archive is generated on the fly, so no second copy of the layers is written.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

import docker
import docker.errors

from tests.engine.errors import StandinError
from tests.engine.layers import PLATFORMS, BuiltLayer
from tests.engine.recipes import ImageSpec

_CHUNK = 1 << 20


def image_config(
    spec: ImageSpec, layers: Sequence[BuiltLayer], created: str | None = None
) -> bytes:
    """The image config JSON (Docker/OCI image spec) for ``spec`` on ``layers``.

    ``created`` defaults to now; a fixed one makes the config (and so the image's digest) a
    function of the recipe alone, which the registry's stand-ins rely on."""
    facts: dict[str, str] = {}
    for layer in layers:
        facts.update(layer.facts)
    env = [f"{key}={value}" for key, value in spec.config.env]
    for key, fact in spec.config.env_facts:
        if fact not in facts:
            raise StandinError(f"{spec.name}: no layer reported {fact!r} for {key}")
        env.append(f"{key}={facts[fact]}")
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    config: dict[str, Any] = {
        "Env": env,
        "Labels": spec.labels(),
    }
    if spec.config.cmd is not None:
        config["Cmd"] = list(spec.config.cmd)
    if spec.config.entrypoint is not None:
        config["Entrypoint"] = list(spec.config.entrypoint)
    if spec.config.user:
        config["User"] = spec.config.user
    if spec.config.workdir:
        config["WorkingDir"] = spec.config.workdir
    architecture, variant = PLATFORMS[spec.arch]
    document: dict[str, Any] = {
        "architecture": architecture,
        "os": "linux",
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [
            {"created": created, "created_by": f"stagekit stand-in layer {layer.name}"}
            for layer in layers
        ],
    }
    if variant:
        document["variant"] = variant
    return json.dumps(document, sort_keys=True).encode()


def _entry(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _pad(size: int) -> bytes:
    return b"\0" * (-size % tarfile.BLOCKSIZE)


def archive_stream(spec: ImageSpec, layers: Sequence[BuiltLayer]) -> Iterator[bytes]:
    """The bytes of a ``docker load`` archive holding one image with all of ``spec``'s tags."""
    config = image_config(spec, layers)
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    names = []
    for layer in layers:
        name = f"{layer.diff_id.removeprefix('sha256:')}/layer.tar"
        names.append(name)
        yield _entry(name, layer.size)
        with layer.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
        yield _pad(layer.size)
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": list(spec.tags), "Layers": names}]
    ).encode()
    for name, body in ((config_name, config), ("manifest.json", manifest)):
        yield _entry(name, len(body))
        yield body
        yield _pad(len(body))
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def load(sdk: docker.DockerClient, spec: ImageSpec, layers: Sequence[BuiltLayer]) -> str:
    """Load ``spec`` into the daemon; return its image ID."""
    try:
        replies = sdk.api.load_image(archive_stream(spec, layers))  # type: ignore[no-untyped-call]
        for reply in replies:
            if "error" in reply:
                raise StandinError(f"loading {spec.name} failed: {reply['error']}")
        return str(sdk.images.get(spec.tags[0]).id)
    except docker.errors.DockerException as exc:
        raise StandinError(f"loading {spec.name} failed: {exc}") from exc
