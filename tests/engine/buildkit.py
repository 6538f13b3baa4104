"""The suite's remote builder: BuildKit's own daemon, on 127.0.0.1, registered with buildx.

``buildkitd`` is built from its Go module at a pinned version (``go install`` through the Go module
proxy; v0.18.2 is the newest release ``go install`` accepts: later ones carry ``exclude``
directives in their go.mod) with its version stamped, once per machine, into the engine's cache.
It runs rootful with Debian's ``runc`` (the OCI worker; no containerd), state under the engine's
state root, listening on tcp://127.0.0.1:(5600 + engine instance), and takes plain HTTP from the
suite's loopback registry. It cannot see the engine's images: its bases come from that registry,
through the org config's mapping. ``docker buildx create --driver remote`` makes it a builder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.engine.daemon import _pids_of, _terminate, engine_env
from tests.engine.errors import EngineError
from tests.engine.paths import EnginePaths
from tests.engine.util import start_detached, tail

VERSION = "v0.18.2"
MODULE = f"github.com/moby/buildkit/cmd/buildkitd@{VERSION}"


def builder_name(where: EnginePaths) -> str:
    return f"stagekit-remote-{where.instance}"


def address(where: EnginePaths) -> str:
    return f"tcp://127.0.0.1:{5600 + where.instance}"


def ensure_binary(where: EnginePaths) -> Path:
    """buildkitd at VERSION in the engine's cache, built on first use (about 2 minutes)."""
    binary = where.cache / "bin" / "buildkitd"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise EngineError("go is not installed: the suite builds buildkitd with it")
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    stamp = f"-X github.com/moby/buildkit/version.Version={VERSION}"
    done = subprocess.run(
        [go, "install", "-ldflags", stamp, MODULE],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        check=False,
    )
    if done.returncode != 0 or not binary.is_file():
        raise EngineError(f"go install {MODULE} failed:\n{tail(done.stderr, 20)}")
    return binary


def _config(where: EnginePaths) -> Path:
    config = where.state / "buildkitd.toml"
    config.write_text(
        f'root = "{where.state / "buildkit"}"\n'
        '[worker.oci]\n  enabled = true\n  binary = "runc"\n'
        "[worker.containerd]\n  enabled = false\n"
        f'[registry."{where.registry_address}"]\n  http = true\n  insecure = true\n'
    )
    return config


def _answers(where: EnginePaths) -> bool:
    host, port = address(where).removeprefix("tcp://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def ensure_builder(where: EnginePaths, timeout: float = 60) -> str:
    """Start buildkitd (if not running) and register it with buildx; return the builder's name."""
    config = _config(where)
    if not _answers(where):
        binary = ensure_binary(where)
        log = where.state / "buildkitd.log"
        start_detached([str(binary), "--config", str(config), "--addr", address(where)], log)
        deadline = time.monotonic() + timeout
        while not _answers(where):
            if time.monotonic() > deadline:
                raise EngineError(
                    f"buildkitd did not answer on {address(where)} within {timeout:.0f} s:\n"
                    + tail(log.read_text(errors="replace"), 20)
                )
            time.sleep(0.3)
    name = builder_name(where)
    _buildx(where, "rm", name)  # a registration left by an earlier run (absent: fails, fine)
    created = _buildx(where, "create", "--name", name, "--driver", "remote", address(where))
    if created.returncode != 0:
        raise EngineError(f"docker buildx create failed: {created.stderr.strip()}")
    booted = _buildx(where, "inspect", "--bootstrap", name)
    if booted.returncode != 0:
        raise EngineError(f"the remote builder does not answer: {booted.stderr.strip()}")
    return name


def _buildx(where: EnginePaths, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "buildx", *args],
        env=engine_env(where.docker_host),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stop_builder(where: EnginePaths) -> bool:
    pids = _pids_of("buildkitd", str(where.state / "buildkitd.toml"))
    for pid in pids:
        _terminate(pid, 20)
    return bool(pids)
