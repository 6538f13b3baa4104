"""The Go scaffold on the real engine (issue 4's "done when"): every stage builds on every base,
a failing test fails the test stage, the release image runs hardened and healthy and stops cleanly,
scratch and distroless have no shell, delve answers and stops at a breakpoint, the scratch image
is the binary plus at most 0.5 MB, and a project with a third-party dependency builds with a
go.sum and fails as documented without one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.engine.client import (
    BuildOutcome,
    BuildRequest,
    Endpoint,
    buildx_build,
    system_ca_bundle,
)
from stagekit.model import Base
from stagekit.sbom import inventory

from tests.docker.inventory import go_missing
from tests.docker.support import (
    MB,
    PORT,
    SCRATCH_ETC,
    Built,
    assert_no_shell,
    assert_release_metadata,
    binary_path,
    build_args,
    copy_project,
    file_from_image,
    get_json,
    host_port,
    regular_files,
    remove_image,
    run_hardened_release,
    running,
    wait_for_json,
)
from tests.helpers import native_caches

pytestmark = pytest.mark.docker

BASES = [base.value for base in Base]
DEBUG_PORT = 40000
DEPENDENCY = "github.com/google/uuid@v1.6.0"


# --- helpers ----------------------------------------------------------------------------------


def go(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["go", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **native_caches(), "GOTOOLCHAIN": "local"},
        check=False,
    )


class Delve:
    """A minimal client for delve's JSON-RPC API v2 (what IDEs speak), one call at a time."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0

    def send(self, method: str, params: dict[str, Any]) -> None:
        self.next_id += 1
        request = {"method": f"RPCServer.{method}", "params": [params], "id": self.next_id}
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.send(method, params)
        line = self.reader.readline()
        assert line, f"delve closed the connection during {method}"
        reply = json.loads(line)
        assert reply.get("error") is None, f"delve {method}: {reply['error']}"
        return reply["result"]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


# --- every stage on every base ----------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_test_debug_and_release_build(builds: Callable[[str, str], Built], base: str) -> None:
    built = builds("go", base)
    print(f"go/{base} build seconds: {built.seconds}")
    assert set(built.images) == {"test", "debug", "release"}, built.logs.keys()
    assert "go vet ./..." in built.logs["test"] and "go test ./..." in built.logs["test"]


def test_a_failing_go_test_fails_the_test_stage(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    tmp_path: Path,
) -> None:
    project = copy_project(builds("go", "scratch"), tmp_path)
    (project / "internal" / "server" / "deliberate_test.go").write_text(
        "package server\n\n"
        'import "testing"\n\n'
        "func TestDeliberatelyFails(t *testing.T) {\n"
        '\tt.Fatal("deliberate failure")\n'
        "}\n"
    )
    outcome = build(project, "test", "stagekit-test/go-failing:test")
    print(f"failing test stage: ok={outcome.ok} in {outcome.seconds:.1f}s")
    assert not outcome.ok, "the test stage passed although a Go test fails"
    assert "deliberate failure" in outcome.log and "FAIL" in outcome.log, outcome.tail(30)


# --- the release container --------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_release_runs_hardened_healthy_and_stops_on_sigterm(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("go", base)
    config = assert_release_metadata(docker_client, built, [binary_path(built)])
    assert config["Labels"]["org.opencontainers.image.version"] == "0.1.0"
    lines = run_hardened_release(docker_client, built, f"go/{base}")
    messages = [line["msg"] for line in lines]
    assert "listening" in messages and messages[-1] == "stopped", messages


@pytest.mark.parametrize("base", ["scratch", "distroless"])
def test_release_has_no_shell(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("go", base)
    entries = assert_no_shell(docker_client, built.images["release"], base)
    if base == "scratch":
        files = regular_files(entries)
        assert files == {*SCRATCH_ETC, binary_path(built).lstrip("/")}, sorted(files)


# --- the debug container ----------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_debugger_answers_and_stops_at_a_breakpoint(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("go", base)
    ports = {f"{DEBUG_PORT}/tcp": ("127.0.0.1", None), f"{PORT}/tcp": ("127.0.0.1", None)}
    with running(docker_client, built.images["debug"], ports=ports) as container:
        app_port = host_port(container, PORT)
        status, _, answered = wait_for_json(f"http://127.0.0.1:{app_port}/healthz", 30)
        assert status == 200, "the app does not serve under delve (--continue)"
        dlv_port = host_port(container, DEBUG_PORT)
        print(f"go/{base}: app under delve answered after {answered:.1f}s; delve on {dlv_port}")

        delve = Delve(dlv_port)
        try:
            version = delve.call("GetVersion", {})
            print(
                f"go/{base}: {version['DelveVersion'].splitlines()[0]}, API {version['APIVersion']}"
            )
            assert version["APIVersion"] == 2
            delve.call("Command", {"name": "halt"})
            module = (built.project / "go.mod").read_text().split()[1]
            function = f"{module}/internal/server.hello"
            breakpoint_ = delve.call("CreateBreakpoint", {"Breakpoint": {"functionName": function}})
            assert breakpoint_["Breakpoint"]["file"] == "/src/internal/server/server.go"

            reply: dict[str, Any] = {}

            def request() -> None:
                time.sleep(0.5)  # after `continue` below is sent
                try:
                    reply["result"] = get_json(f"http://127.0.0.1:{app_port}/hello?name=dlv", 30)
                except OSError as exc:
                    reply["error"] = exc

            thread = threading.Thread(target=request, daemon=True)
            thread.start()
            state = delve.call("Command", {"name": "continue"})["State"]
            where = state["currentThread"]
            print(f"go/{base}: stopped at {where['function']['name']} line {where['line']}")
            assert where["function"]["name"] == function
            assert where["breakPoint"] is not None
            delve.send("Command", {"name": "continue"})  # let the request finish
            thread.join(30)
            assert reply.get("result") == (200, {"message": "Hello, dlv!"}), reply
        finally:
            delve.close()


# --- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_release_size_over_the_binary(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("go", base)
    image = docker_client.images.get(built.images["release"])
    binary = len(file_from_image(docker_client, built.images["release"], binary_path(built)))
    overhead = image.attrs["Size"] - binary
    print(
        f"go/{base}: release image {image.attrs['Size']:,} B, binary {binary:,} B,"
        f" overhead {overhead:,} B"
    )
    if base == "scratch":
        assert overhead <= 0.5 * MB, (
            f"scratch image {image.attrs['Size']:,} B > binary {binary:,} B + 0.5 MB"
        )
    else:
        base_ref = (
            "gcr.io/distroless/static-debian13:nonroot" if base == "distroless" else "alpine:3.22"
        )
        base_size = docker_client.images.get(base_ref).attrs["Size"]
        print(f"go/{base}: base image {base_ref} {base_size:,} B")
        # Our passwd/group/CA bundle replace the base's own; allow them on top of the base.
        assert image.attrs["Size"] <= binary + base_size + 0.5 * MB


# --- reproducible -----------------------------------------------------------------------------


def test_release_is_reproducible(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
) -> None:
    built = builds("go", "scratch")
    first = build(built.project, "release", "stagekit-test/go-repro:1", no_cache=True)
    second = build(built.project, "release", "stagekit-test/go-repro:2", no_cache=True)
    try:
        assert first.ok and second.ok, (first.tail(20), second.tail(20))
        print(
            f"no-cache release builds: {first.seconds:.1f}s, {second.seconds:.1f}s;"
            f" ids {first.image_id} {second.image_id}"
        )
        assert first.image_id == second.image_id == built.outcomes["release"].image_id
    finally:
        remove_image(docker_client, "stagekit-test/go-repro:1")
        remove_image(docker_client, "stagekit-test/go-repro:2")


# --- cross-compilation ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["release", "delve"])
def test_arm64_is_cross_compiled(
    builds: Callable[[str, str], Built], endpoint: Endpoint, docker_client: Any, target: str
) -> None:
    """On scratch (no arm64 base image needed) the release and delve cross-compile for arm64."""
    built = builds("go", "scratch")
    tag = f"stagekit-test/go-arm64:{target}"
    request = BuildRequest(
        context=built.project,
        target=target,
        tag=tag,
        build_args=build_args(),
        ca_bundle=system_ca_bundle(),
        platform="linux/arm64",
    )
    outcome = buildx_build(endpoint, request, timeout=1800)
    try:
        print(f"linux/arm64 {target}: ok={outcome.ok} in {outcome.seconds:.1f}s")
        assert outcome.ok, outcome.tail(30)
        assert docker_client.images.get(tag).attrs["Architecture"] == "arm64"
        path = binary_path(built) if target == "release" else "/out/dlv"
        elf = file_from_image(docker_client, tag, path)
        machine = int.from_bytes(elf[18:20], "little")
        assert elf[:4] == b"\x7fELF" and machine == 0xB7, f"{path} is not an aarch64 ELF"
    finally:
        remove_image(docker_client, tag)


# --- a project with a third-party dependency -------------------------------------------------


def add_dependency(project: Path) -> None:
    """Use github.com/google/uuid from the server package, as a user would add a module."""
    (project / "internal" / "server" / "requestid.go").write_text(
        "package server\n\n"
        'import "github.com/google/uuid"\n\n'
        "// NewRequestID returns a random request ID.\n"
        "func NewRequestID() string { return uuid.NewString() }\n"
    )
    (project / "internal" / "server" / "requestid_test.go").write_text(
        "package server\n\n"
        'import "testing"\n\n'
        "func TestNewRequestID(t *testing.T) {\n"
        "\tif a, b := NewRequestID(), NewRequestID(); len(a) != 36 || a == b {\n"
        '\t\tt.Fatalf("ids %q, %q", a, b)\n'
        "\t}\n"
        "}\n"
    )
    got = go(project, "get", DEPENDENCY)
    assert got.returncode == 0, got.stderr
    tidy = go(project, "mod", "tidy")
    assert tidy.returncode == 0, tidy.stderr
    assert "github.com/google/uuid v1.6.0" in (project / "go.mod").read_text()
    assert (project / "go.sum").is_file()


def test_dependency_with_go_sum_builds_and_is_linked(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    built = builds("go", "scratch")
    project = copy_project(built, tmp_path)
    add_dependency(project)
    tags = ["stagekit-test/go-dep:test", "stagekit-test/go-dep:release", "stagekit-test/go-dep:r2"]
    try:
        tested = build(project, "test", tags[0])
        assert tested.ok, tested.tail(30)
        released = build(project, "release", tags[1])
        assert released.ok, released.tail(30)
        binary = tmp_path / "binary"
        binary.write_bytes(file_from_image(docker_client, tags[1], binary_path(built)))
        info = go(tmp_path, "version", "-m", str(binary))
        assert "github.com/google/uuid\tv1.6.0" in info.stdout, info.stdout
        # A scanner sees the module at that version, and the Go stdlib's (issue 18).
        found = inventory(tags[1], Endpoint(os.environ["DOCKER_HOST"], "test suite"))
        assert go_missing(found, binary) == [], found.describe()
        assert found.of_type("go-module")["github.com/google/uuid"] == "v1.6.0"

        # A one-line source change (new in every run, so the compile cannot come from an
        # earlier session's cache) reuses the dependency step and recompiles.
        server = project / "internal" / "server" / "server.go"
        greeting = f'"Hello {time.time_ns()}, "'
        server.write_text(server.read_text().replace('"Hello, "', greeting))
        rebuilt = build(project, "release", tags[2])
        assert rebuilt.ok, rebuilt.tail(30)
        download = [step for step in rebuilt.cached_steps if "go mod download" in step]
        compiled = [step for step in rebuilt.cached_steps if "go build" in step]
        print(
            f"dependency project: release {released.seconds:.1f}s; after a one-line change"
            f" {rebuilt.seconds:.1f}s; go mod download cached: {bool(download)};"
            f" go build cached: {bool(compiled)}"
        )
        assert download, f"go mod download was not CACHED; cached: {rebuilt.cached_steps}"
        assert not compiled, "the changed source was not recompiled"
    finally:
        for tag in tags:
            remove_image(docker_client, tag)


def test_dependency_without_go_sum_fails_as_documented(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    tmp_path: Path,
) -> None:
    """README: without go.sum the build fails with Go's own message and never edits go.sum."""
    built = builds("go", "scratch")
    project = copy_project(built, tmp_path)
    add_dependency(project)
    (project / "go.sum").unlink()
    outcome = build(project, "release", "stagekit-test/go-nosum:release")
    print(f"dependency without go.sum: ok={outcome.ok} after {outcome.seconds:.1f}s")
    assert not outcome.ok, "the build silently accepted a dependency without go.sum"
    assert "missing go.sum entry" in outcome.log, outcome.tail(30)
    readme = (built.project / "README.md").read_text()
    assert "missing go.sum entry" in readme and "commit `go.sum`" in readme
