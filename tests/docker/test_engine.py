"""The suite's engine and stand-ins are what they claim, and a user's daemon is never touched.

Every container runs with ``--network none``, every wait is bounded, every container is removed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import cast

import docker
import docker.errors
import pytest
import requests

from tests.engine.daemon import client, ensure_daemon, ping
from tests.engine.errors import StandinError
from tests.engine.paths import EnginePaths
from tests.engine.recipes import RECIPE_LABEL, STANDIN_LABEL, host_go, host_rust
from tests.engine.standins import (
    Provision,
    StandinResult,
    StandinUnavailable,
    UnknownImageRefError,
    ensure_images,
    unavailable_reason,
)

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
WAIT = 120
GO = host_go()
RUST = host_rust()
GO_REF = f"golang:{'.'.join(GO.version.split('.')[:2])}-trixie" if GO else None
RUST_REF = f"rust:{'.'.join(RUST.version.split('.')[:2])}-trixie" if RUST else None
DISTROLESS = "gcr.io/distroless/{}-debian13:{}"
REFS = [
    ref
    for ref in (
        "debian:trixie-slim",
        GO_REF,
        RUST_REF,
        "python:3.13-slim-trixie",
        DISTROLESS.format("static", "nonroot"),
        DISTROLESS.format("static", "debug-nonroot"),
        DISTROLESS.format("cc", "nonroot"),
        DISTROLESS.format("python3", "nonroot"),
        DISTROLESS.format("python3", "debug-nonroot"),
        "alpine:3.22",
    )
    if ref is not None
]
SHELLS = {"sh", "bash", "dash", "ash", "busybox"}
PACKAGE_MANAGERS = {"dpkg", "apt", "apt-get", "apk"}


@pytest.fixture(scope="module")
def standins(docker_host: str) -> dict[str, StandinResult]:
    """Every stand-in these tests look at, provisioned once (seconds when already there)."""
    return {result.ref: result for result in ensure_images(docker_host, REFS)}


@pytest.fixture(scope="module")
def sdk(docker_host: str) -> Iterator[docker.DockerClient]:
    handle = client(docker_host)
    yield handle
    handle.close()


def run(
    sdk: docker.DockerClient,
    image: str,
    command: list[str] | None = None,
    *,
    entrypoint: list[str] | None = None,
    user: str | None = None,
) -> tuple[int, str]:
    """Run a container without network; return (exit code, combined output). Always removed."""
    container = sdk.containers.create(
        image, command=command, entrypoint=entrypoint, user=user, network_mode="none"
    )
    try:
        container.start()
        status = container.wait(timeout=WAIT)
        return int(status["StatusCode"]), container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def file_names(sdk: docker.DockerClient, image: str) -> dict[str, bool]:
    """Every path in the image's filesystem -> is it a directory (exported, never started)."""
    container = sdk.containers.create(image, command=["/nonexistent"], network_mode="none")
    try:
        # the stubs say str; the SDK streams bytes
        data = io.BytesIO(b"".join(cast(Iterator[bytes], container.export())))
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=data) as tar:
        return {member.name.rstrip("/"): member.isdir() for member in tar.getmembers()}


def test_every_standin_is_labelled_with_its_recipe(standins: dict[str, StandinResult]) -> None:
    for ref in REFS:
        result = standins[ref]
        assert result.standin, ref
        assert result.recipe and len(result.recipe) == 64, ref
        assert result.status in (Provision.BUILT, Provision.KEPT, Provision.TAGGED), ref


@pytest.mark.skipif(GO is None, reason="no Go toolchain on this machine")
def test_golang_prints_the_tags_version(
    standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    assert GO is not None and GO_REF is not None
    code, out = run(sdk, GO_REF, ["go", "version"])
    assert code == 0, out
    assert f"go version go{GO.version} " in out
    # The full-version tag is the same image.
    assert sdk.images.get(f"golang:{GO.version}-trixie").id == standins[GO_REF].image_id
    env = sdk.images.get(GO_REF).attrs["Config"]["Env"]
    assert "GOPATH=/go" in env and "GOTOOLCHAIN=local" in env


def test_other_toolchain_versions_are_refused() -> None:
    reason = unavailable_reason("golang:1.19-trixie")
    assert reason is not None and "the machine's toolchain is go" in reason
    assert unavailable_reason("python:3.12-alpine3.22") is not None
    with pytest.raises(UnknownImageRefError):
        unavailable_reason("example.com/nothing:1")


def test_unavailable_refs_raise_after_the_others_are_provisioned(docker_host: str) -> None:
    with pytest.raises(StandinUnavailable) as caught:
        ensure_images(docker_host, ["alpine:3.22", "python:3.12-alpine3.22"])
    assert "which is 3.13.5" in caught.value.reasons["python:3.12-alpine3.22"]
    assert [result.ref for result in caught.value.results] == ["alpine:3.22"]


def test_distroless_python3_is_313(
    standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    code, out = run(sdk, DISTROLESS.format("python3", "nonroot"), ["--version"])
    assert code == 0, out
    assert out.startswith("Python 3.13.")
    code, out = run(
        sdk,
        DISTROLESS.format("python3", "nonroot"),
        ["-c", "import os, ssl, sqlite3, ctypes; print(os.getuid(), os.getgid(), os.getcwd())"],
    )
    assert (code, out.strip()) == (0, "65532 65532 /home/nonroot")


@pytest.mark.parametrize("kind", ["static", "cc", "python3"])
def test_distroless_nonroot_has_no_shell(
    kind: str, standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    image = DISTROLESS.format(kind, "nonroot")
    config = sdk.images.get(image).attrs["Config"]
    assert config["User"] == "65532"
    assert config["WorkingDir"] == "/home/nonroot"
    with pytest.raises(docker.errors.APIError, match="sh"):
        run(sdk, image, entrypoint=["sh"])
    names = file_names(sdk, image)
    programs = SHELLS | PACKAGE_MANAGERS
    assert not [n for n, isdir in names.items() if not isdir and PurePosixPath(n).name in programs]
    assert "etc/ssl/certs/ca-certificates.crt" in names
    assert names["tmp"] and names["home/nonroot"]


def test_debug_has_busybox_sh(standins: dict[str, StandinResult], sdk: docker.DockerClient) -> None:
    image = DISTROLESS.format("static", "debug-nonroot")
    assert sdk.images.get(image).attrs["Config"]["Entrypoint"] == ["/busybox/sh"]
    code, out = run(sdk, image, ["-c", "id -u; id -g; ls -l /busybox/sh; stat -c %a /tmp"])
    assert code == 0, out
    assert out.split()[:2] == ["65532", "65532"]
    assert "/busybox/sh" in out and out.split()[-1] == "1777"


@pytest.mark.skipif(RUST is None, reason="no Rust toolchain on this machine")
def test_rust_has_minimal_profile_plus_clippy_and_rustfmt(
    standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    assert RUST is not None and RUST_REF is not None
    code, out = run(sdk, RUST_REF, ["rustup", "component", "list", "--installed"])
    assert code == 0, out
    expected = {
        f"{name}-{RUST.host}" for name in ("cargo", "clippy", "rust-std", "rustc", "rustfmt")
    }
    assert set(out.split()) == expected
    # Offline: adding what is installed is a no-op; anything else would need the network.
    code, out = run(sdk, RUST_REF, ["rustup", "component", "add", "clippy", "rustfmt"])
    assert code == 0, out
    code, out = run(sdk, RUST_REF, ["rustup", "component", "add", "rust-src"])
    assert code != 0, out
    code, out = run(sdk, RUST_REF, ["rustc", "--version"])
    assert code == 0 and f"rustc {RUST.version} " in out


def test_python_slim_has_upstream_links_and_pip(
    standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    script = (
        "python3 --version; python --version; command -v python3; pip --version;"
        " python3 -m venv /tmp/v && /tmp/v/bin/python -c 'import sys; print(sys.prefix)';"
        " ln -sf /usr/local/bin/python3.13 /usr/bin/python3.13 && /usr/bin/python3.13 -V"
    )
    code, out = run(sdk, "python:3.13-slim-trixie", ["sh", "-c", script])
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("Python 3.13.") and lines[1] == lines[0]
    assert lines[2] == "/usr/local/bin/python3"
    assert lines[3].startswith("pip ")
    assert lines[4] == "/tmp/v" and lines[5] == lines[0]


def test_alpine_has_sh_and_the_ca_bundle(
    standins: dict[str, StandinResult], sdk: docker.DockerClient
) -> None:
    script = (
        "test -x /bin/sh && test -s /etc/ssl/certs/ca-certificates.crt"
        " && test /etc/ssl/cert.pem -ef /etc/ssl/certs/ca-certificates.crt"
        " && test -e /lib/ld-musl-x86_64.so.1 && stat -c %a /tmp && grep ^nobody: /etc/passwd"
    )
    code, out = run(sdk, "alpine:3.22", ["/bin/sh", "-c", script])
    assert code == 0, out
    assert out.split()[0] == "1777"
    assert sdk.images.get("alpine:3.22").attrs["Config"]["Cmd"] == ["/bin/sh"]


def test_a_second_run_is_a_no_op(docker_host: str, standins: dict[str, StandinResult]) -> None:
    started = time.monotonic()
    again = {result.ref: result for result in ensure_images(docker_host, REFS)}
    took = time.monotonic() - started
    assert took < 30
    for ref in REFS:
        assert again[ref].status is Provision.KEPT, ref
        assert again[ref].image_id == standins[ref].image_id, ref


# --- isolation ----------------------------------------------------------------------------------


@contextlib.contextmanager
def user_daemon() -> Iterator[str]:
    """A throwaway "user" dockerd: own root and socket, no bridge, no iptables. Stopped after."""
    root = Path(tempfile.mkdtemp(prefix="sk-user-", dir="/tmp"))
    host = f"unix://{root}/docker.sock"
    config = root / "daemon.json"
    config.write_text("{}\n")
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [
            "dockerd",
            "--config-file", str(config),
            "--data-root", str(root / "data"),
            "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "dockerd.pid"),
            "--host", host,
            "--bridge", "none",
            "--iptables=false",
            "--ip6tables=false",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ping(host, timeout=2):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "the user dockerd did not start:\n" + (root / "dockerd.log").read_text()
                )
            time.sleep(0.3)
        yield host
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        for point in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _mounts_under(root: Path) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line.split()[4] for line in lines if line.split()[4].startswith(str(root))]


def _images(host: str) -> list[tuple[str, tuple[str, ...]]]:
    handle = client(host)
    try:
        return sorted((str(image.id), tuple(sorted(image.tags))) for image in handle.images.list())
    finally:
        handle.close()


def _tiny_image() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("users-own-alpine")
        data = b"the user's real alpine\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_users_daemon_is_left_untouched(
    docker_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with user_daemon() as user_host:
        users = client(user_host)
        try:
            # The user already has an alpine:3.22 of their own: the one a stand-in would shadow.
            users.api.import_image_from_data(_tiny_image(), repository="alpine", tag="3.22")
            own_alpine = str(users.images.get("alpine:3.22").id)
        finally:
            users.close()
        before = _images(user_host)

        monkeypatch.setenv("DOCKER_HOST", user_host)
        monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
        # In-process: the suite's daemon is what ensure_daemon returns, whatever DOCKER_HOST says.
        host = ensure_daemon()
        assert host == EnginePaths.from_env().docker_host == docker_host
        assert host != user_host
        results = ensure_images(host, ["alpine:3.22"])
        assert results[0].standin
        # Asked to provision on another daemon, it refuses.
        with pytest.raises(StandinError, match="not the suite's own daemon"):
            ensure_images(user_host, ["alpine:3.22"])
        # From a shell with DOCKER_HOST pointing at the user's daemon, the CLI does the same.
        env = {**os.environ, "DOCKER_HOST": user_host}
        done = subprocess.run(
            [sys.executable, "-m", "tests.engine", "images", "alpine:3.22"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr

        assert _images(user_host) == before
        users = client(user_host)
        try:
            image = users.images.get("alpine:3.22")
            assert str(image.id) == own_alpine
            assert STANDIN_LABEL not in (image.labels or {})
        finally:
            users.close()
        suite = client(docker_host)
        try:
            labels = suite.images.get("alpine:3.22").labels or {}
            assert labels.get(STANDIN_LABEL) == "true" and RECIPE_LABEL in labels
        finally:
            suite.close()
    with pytest.raises((docker.errors.DockerException, requests.RequestException)):
        client(user_host, timeout=2).ping()
