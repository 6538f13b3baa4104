"""Stand-in base images: local reconstructions tagged with the exact upstream references.

No registry is reachable here, so the images generated Dockerfiles start FROM are rebuilt from
Debian's archive and the machine's own toolchains (see docs/test-engine.md). BuildKit uses a
local image of that name without pulling, so the Dockerfiles build unmodified.

``ensure_images(docker_host, refs)`` provisions each reference on the suite's own daemon: an
image whose ``org.stagekit.recipe`` label matches its recipe is kept (a second run takes
seconds); otherwise its layers are built (in parallel, cached under the state dir) and loaded.
Known references that cannot be made here raise ``StandinUnavailable`` after all the others are
provisioned; unknown ones raise ``UnknownImageRefError`` before anything is done.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import docker
import docker.errors
from docker.models.images import Image

from tests.engine.archive import load
from tests.engine.daemon import client, engine_env
from tests.engine.errors import StandinError, StandinUnavailable, UnknownImageRefError
from tests.engine.layers import BuildContext, BuiltLayer, DebSource, Layer, LayerCache
from tests.engine.paths import EnginePaths
from tests.engine.recipes import (
    KNOWN,
    NAME_LABEL,
    RECIPE_LABEL,
    STANDIN_LABEL,
    Builtin,
    ImageSpec,
    Unavailable,
    resolve,
)
from tests.engine.util import locked

__all__ = [
    "Provision",
    "StandinResult",
    "StandinUnavailable",
    "UnknownImageRefError",
    "ensure_images",
    "unavailable_reason",
]

TRY_PULL_ENV = "STAGEKIT_TRY_PULL"
KEEP_LAYERS_ENV = "STAGEKIT_ENGINE_KEEP_LAYERS"
PULL_TIMEOUT = 30
# Two cores: two mmdebstrap runs keep both busy; a third job is mostly waiting on disk or network.
LAYER_WORKERS = 3
LOAD_WORKERS = 2


class Provision(enum.Enum):
    """How a reference came to be present."""

    KEPT = "kept"  # a stand-in with the same recipe was already there
    BUILT = "built"  # built (or rebuilt) and loaded now
    TAGGED = "tagged"  # the same stand-in existed under a sibling tag; only tagged
    PULLED = "pulled"  # the real image, pulled now (STAGEKIT_TRY_PULL=1)
    REAL = "real"  # a real (non-stand-in) image of that name was already there
    BUILTIN = "builtin"  # scratch: nothing to provision


@dataclass(frozen=True)
class StandinResult:
    """One provisioned reference."""

    ref: str
    status: Provision
    image_id: str | None = None
    standin: bool = False
    recipe: str | None = None
    size: int = 0
    seconds: float = 0.0


def unavailable_reason(ref: str) -> str | None:
    """Why ``ref`` cannot be provisioned here (None if it can); raises for unknown references."""
    found = resolve(ref)
    if found is None:
        raise UnknownImageRefError(ref, KNOWN)
    return found.reason if isinstance(found, Unavailable) else None


def ensure_images(
    docker_host: str,
    refs: Iterable[str],
    *,
    paths: EnginePaths | None = None,
    log: Callable[[str], None] | None = None,
    allow_any_daemon: bool = False,
) -> list[StandinResult]:
    """Make every reference in ``refs`` present on the suite's daemon at ``docker_host``.

    Returns one result per distinct reference, in order. Stand-ins are only ever provisioned on
    the suite's own daemon: another ``docker_host`` is refused unless ``allow_any_daemon``.
    """
    where = paths or EnginePaths.from_env()
    say = log or (lambda _: None)
    if docker_host != where.docker_host and not allow_any_daemon:
        raise StandinError(
            f"refusing to provision stand-ins on {docker_host}: not the suite's own daemon "
            f"({where.docker_host})",
            "a Debian-made alpine:3.22 there would shadow the real one; use "
            "tests.engine.daemon.ensure_daemon()",
        )
    wanted = list(dict.fromkeys(refs))
    plan: dict[str, ImageSpec | Unavailable | Builtin] = {}
    for ref in wanted:
        found = resolve(ref)
        if found is None:
            raise UnknownImageRefError(ref, KNOWN)
        plan[ref] = found
    with locked(where.images_lock, 3600, "provisioning stand-in images"):
        sdk = client(docker_host, timeout=900)
        try:
            results = _provision(sdk, docker_host, where, plan, say)
        finally:
            sdk.close()
    reasons = {ref: item.reason for ref, item in plan.items() if isinstance(item, Unavailable)}
    if reasons:
        raise StandinUnavailable(reasons, results)
    return results


def _provision(
    sdk: docker.DockerClient,
    docker_host: str,
    where: EnginePaths,
    plan: dict[str, ImageSpec | Unavailable | Builtin],
    say: Callable[[str], None],
) -> list[StandinResult]:
    results: dict[str, StandinResult] = {}
    todo: dict[str, ImageSpec] = {}
    for ref, item in plan.items():
        if isinstance(item, Builtin):
            results[ref] = StandinResult(ref, Provision.BUILTIN)
        elif isinstance(item, ImageSpec):
            present = _present(sdk, ref, item)
            if present is not None:
                results[ref] = present
            elif os.environ.get(TRY_PULL_ENV) == "1" and _pull(docker_host, ref, say):
                results[ref] = _result(sdk, ref, Provision.PULLED, 0.0)
            else:
                todo.setdefault(item.name, item)
    if todo:
        built = _build_all(sdk, where, list(todo.values()), say)
        for ref, item in plan.items():
            if isinstance(item, ImageSpec) and ref not in results:
                seconds = built[item.name]
                results[ref] = _result(sdk, ref, Provision.BUILT, seconds)
    return [results[ref] for ref in plan if ref in results]


def _present(sdk: docker.DockerClient, ref: str, spec: ImageSpec) -> StandinResult | None:
    """A result if ``ref`` is already usable: a current stand-in or a real image."""
    image = _get(sdk, ref)
    recipe = spec.recipe_hash()
    if image is not None:
        labels = image.labels or {}
        if labels.get(STANDIN_LABEL) != "true":
            return _result(sdk, ref, Provision.REAL, 0.0)
        if labels.get(RECIPE_LABEL) == recipe:
            for tag in spec.tags:  # e.g. golang:1.26.8-trixie beside golang:1.26-trixie
                if _get(sdk, tag) is None:
                    _tag(image, tag)
            return _result(sdk, ref, Provision.KEPT, 0.0)
        return None
    # A sibling tag (golang:1.26-trixie vs golang:1.26.8-trixie) may already hold it.
    for tag in spec.tags:
        sibling = _get(sdk, tag)
        if sibling is not None and (sibling.labels or {}).get(RECIPE_LABEL) == recipe:
            _tag(sibling, ref)
            return _result(sdk, ref, Provision.TAGGED, 0.0)
    return None


def _tag(image: Image, ref: str) -> None:
    repository, _, name = ref.rpartition(":")
    image.tag(repository, name)


def _get(sdk: docker.DockerClient, ref: str) -> Image | None:
    try:
        return sdk.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def _result(sdk: docker.DockerClient, ref: str, status: Provision, seconds: float) -> StandinResult:
    image = sdk.images.get(ref)
    labels = image.labels or {}
    return StandinResult(
        ref=ref,
        status=status,
        image_id=str(image.id),
        standin=labels.get(STANDIN_LABEL) == "true",
        recipe=labels.get(RECIPE_LABEL),
        size=int(image.attrs.get("Size", 0)),
        seconds=round(seconds, 1),
    )


def _pull(docker_host: str, ref: str, say: Callable[[str], None]) -> bool:
    """Try the real image, bounded: only when STAGEKIT_TRY_PULL=1 (offline, never wait)."""
    say(f"trying docker pull {ref}")
    try:
        done = subprocess.run(
            ["docker", "pull", "--quiet", ref],
            env=engine_env(docker_host),
            capture_output=True,
            timeout=PULL_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _build_all(
    sdk: docker.DockerClient,
    where: EnginePaths,
    specs: list[ImageSpec],
    say: Callable[[str], None],
) -> dict[str, float]:
    """Build every layer the specs need (in parallel), load each image as its layers are ready."""
    cache = LayerCache(where, keep=os.environ.get(KEEP_LAYERS_ENV, "1") != "0")
    layers: dict[str, Layer] = {}
    for spec in specs:
        for layer in spec.layers:
            layers.setdefault(layer.recipe_hash(), layer)
    packages = [pkg for layer in layers.values() for pkg in layer.deb_packages()]
    ctx = BuildContext(where, DebSource(where, packages), say)
    started = time.monotonic()
    seconds: dict[str, float] = {}
    old_ids = {spec.name: _current_ids(sdk, spec) for spec in specs}
    jobs: list[Future[tuple[str, float]]] = []
    futures: dict[str, Future[BuiltLayer]] = {}
    guard = threading.Lock()
    waiting = {spec.name: {layer.recipe_hash() for layer in spec.layers} for spec in specs}

    def load_one(spec: ImageSpec) -> tuple[str, float]:
        built = [futures[layer.recipe_hash()].result() for layer in spec.layers]
        say(f"loading {spec.name}")
        load(sdk, spec, built)
        took = time.monotonic() - started
        say(f"{spec.name} ready after {took:.0f} s")
        return spec.name, took

    with ThreadPoolExecutor(LOAD_WORKERS) as loads:

        def layer_done(key: str, _: Future[BuiltLayer]) -> None:
            # Load each image as soon as its own layers exist, not in the order asked for.
            with guard:
                for spec in specs:
                    pending = waiting[spec.name]
                    if key in pending:
                        pending.discard(key)
                        if not pending:
                            jobs.append(loads.submit(load_one, spec))

        with ThreadPoolExecutor(LAYER_WORKERS) as layer_pool:
            # Slowest first: the toolchain layers and the build root gate the biggest images.
            order = sorted(layers.items(), key=lambda item: _weight(item[1]), reverse=True)
            for key, layer in order:
                futures[key] = layer_pool.submit(cache.build, layer, ctx)
            for key, future in futures.items():
                future.add_done_callback(functools.partial(layer_done, key))
        errors: list[str] = []
        for job in list(jobs):
            try:
                name, took = job.result()
                seconds[name] = took
            except StandinError as exc:
                errors.append(str(exc))
    if errors:
        raise StandinError("; ".join(dict.fromkeys(errors)))
    for future in futures.values():
        cache.release(future.result())
    _remove_replaced(sdk, old_ids)
    return seconds


def _weight(layer: Layer) -> int:
    return {"RustToolchain": 4, "DebianRoot": 3, "GoToolchain": 2}.get(type(layer).__name__, 1)


def _current_ids(sdk: docker.DockerClient, spec: ImageSpec) -> set[str]:
    ids = set()
    for tag in spec.tags:
        image = _get(sdk, tag)
        if image is not None and (image.labels or {}).get(NAME_LABEL) == spec.name:
            ids.add(str(image.id))
    return ids


def _remove_replaced(sdk: docker.DockerClient, old_ids: dict[str, set[str]]) -> None:
    """Delete stand-ins that a rebuild left untagged, so stale recipes don't pile up on disk."""
    for ids in old_ids.values():
        for image_id in ids:
            image = None
            try:
                image = sdk.images.get(image_id)
            except docker.errors.ImageNotFound:
                continue
            if not image.tags:
                # still used by a container: the next provisioning takes it
                with contextlib.suppress(docker.errors.APIError):
                    sdk.images.remove(image_id)


def image_size_table(results: Iterable[StandinResult]) -> list[tuple[str, str, str, str]]:
    """Rows (ref, status, short id, size in MB) for printing."""
    rows = []
    for result in results:
        short = (result.image_id or "").removeprefix("sha256:")[:12]
        size = f"{result.size / 1e6:.1f} MB" if result.image_id else "-"
        rows.append((result.ref, result.status.value, short, size))
    return rows
