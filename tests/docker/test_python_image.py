"""The Python scaffold on the real engine (issue 6's "done when"): test, debug and release build
on distroless and scratch (alpine where a python alpine image can be had), a project with a random
name builds with --locked, the release image runs hardened and healthy and stops cleanly, scratch
and distroless have no shell, the compiled extension runs, a failing test or lint finding fails the
test stage, a source-only change reuses the dependency step, debugpy stops at a breakpoint, and
the release sizes are printed beside the payload and a naive single-stage image."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from stagekit.engine.client import BuildOutcome
from stagekit.errors import ValidationError
from stagekit.model.names import validate_project_name
from stagekit.tools import find_tool

from tests.docker.support import (
    HARDENED,
    MB,
    PORT,
    SCRATCH_ETC,
    Built,
    assert_no_shell,
    assert_release_metadata,
    copy_project,
    get_json,
    host_port,
    image_entries,
    regular_files,
    remove_image,
    run_hardened_release,
    running,
    wait_for_json,
)
from tests.helpers import render_project

pytestmark = pytest.mark.docker

BASES = ["distroless", "scratch", "alpine"]
SHELL_FREE = ["distroless", "scratch"]
DEBUG_PORT = 5678
NAIVE_SCRATCH_COPY = 64.6 * MB  # ANCHORS.md: interpreter + libraries + whole stdlib, measured
DEV_ONLY = ("pytest", "_pytest", "ruff", "httpx2", "debugpy", "pygments", "pluggy")
RESERVED = json.loads(
    (Path(__file__).resolve().parents[2] / "scaffolds/python/cookiecutter.json").read_text()
)["_stagekit"]["reserved_names"]


# --- helpers ----------------------------------------------------------------------------------


def package(built: Built) -> str:
    return built.project.name.replace("-", "_")


def run_once(client: Any, image: str, **kwargs: Any) -> tuple[int, str]:
    """Run a container to its end (bounded), return its exit code and output; always removed."""
    container = client.containers.run(image, detach=True, **kwargs)
    try:
        result = container.wait(timeout=60)
        return int(result["StatusCode"]), container.logs().decode()
    finally:
        with suppress(docker.errors.NotFound):
            container.remove(force=True)


def bytes_under(entries: dict[str, tarfile.TarInfo], *prefixes: str) -> int:
    return sum(
        m.size
        for name, m in entries.items()
        if m.isfile() and any(name == p or name.startswith(p + "/") for p in prefixes)
    )


def dependency_step(outcome: BuildOutcome) -> list[str]:
    return [s for s in outcome.cached_steps if "uv sync --locked --no-install-project" in s]


class Dap:
    """A minimal client of the Debug Adapter Protocol (what debugpy speaks), for one session."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        self.seq = 0
        self.events: list[dict[str, Any]] = []

    def send(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        self.seq += 1
        message = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def receive(self) -> dict[str, Any]:
        length = 0
        while True:
            line = self.reader.readline()
            assert line, "debugpy closed the connection"
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        message: dict[str, Any] = json.loads(self.reader.read(length))
        return message

    def response(self, seq: int) -> dict[str, Any]:
        while True:
            message = self.receive()
            if message["type"] == "response" and message["request_seq"] == seq:
                assert message["success"], f"{message['command']}: {message.get('message')}"
                return message
            if message["type"] == "event":
                self.events.append(message)

    def call(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.response(self.send(command, arguments))

    def event(self, name: str) -> dict[str, Any]:
        for index, message in enumerate(self.events):
            if message["event"] == name:
                return self.events.pop(index)
        while True:
            message = self.receive()
            if message["type"] == "event" and message["event"] == name:
                return message
            if message["type"] == "event":
                self.events.append(message)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


# --- every stage on every base ----------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_test_debug_and_release_build(
    builds: Callable[[str, str], Built], buildable: Callable[[str, str], str | None], base: str
) -> None:
    reason = buildable("python", base)
    if reason is not None:
        print(f"python/{base}: skipped: {reason}")
        pytest.skip(reason)
    built = builds("python", base)
    print(f"python/{base} build seconds: {built.seconds}")
    assert set(built.images) == {"test", "debug", "release"}, built.logs.keys()
    log = built.logs["test"]
    for command in ("ruff check .", "ruff format --check .", "python -m pytest"):
        assert command in log, f"the test stage does not run {command!r}"
    checks = [s for s in built.outcomes["test"].cached_steps if "ruff check" in s]
    if not checks:  # ran now (not taken from BuildKit's cache): its output is in the log
        assert "All checks passed!" in log and "already formatted" in log, "ruff did not run"
        assert re.search(r"\b\d+ passed\b", log) and " failed" not in log, "pytest did not run"


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ("test", "deliberate failure"),
        ("lint", "F401"),
    ],
)
def test_a_failing_test_or_lint_finding_fails_the_test_stage(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    tmp_path: Path,
    change: str,
    expect: str,
) -> None:
    project = copy_project(builds("python", "distroless"), tmp_path)
    if change == "test":
        (project / "tests" / "test_deliberate.py").write_text(
            "def test_deliberately_fails() -> None:\n"
            '    raise AssertionError("deliberate failure")\n'
        )
    else:
        app = project / "src" / project.name.replace("-", "_") / "app.py"
        app.write_text("import os\n" + app.read_text())
    outcome = build(project, "test", f"stagekit-test/python-failing-{change}:test")
    print(f"failing {change}: test stage ok={outcome.ok} in {outcome.seconds:.1f}s")
    assert not outcome.ok, f"the test stage passed although {change} fails"
    assert expect in outcome.log, outcome.tail(30)


def random_name(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        head = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(
            rng.choice(alphabet) for _ in range(rng.randint(2, 8))
        )
        tail = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        name = f"{head}-{tail}"
        try:
            validate_project_name(name)
        except ValidationError:
            continue
        if name not in RESERVED:
            return name


def test_a_project_with_a_random_name_builds_locked_and_runs(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    builds("python", "scratch")  # provisioned and warm
    seed = time.time_ns()
    name = random_name(random.Random(seed))
    print(f"random project name {name!r} (seed {seed})")
    project = render_project(tmp_path, "python", "scratch", project_name=name)
    tag = f"stagekit-test/python-random:{name}"
    try:
        outcome = build(project, "release", tag)
        assert outcome.ok, f"{name}: {outcome.tail(30)}"
        assert "uv sync --locked --no-install-project --no-dev" in outcome.log
        config = docker_client.images.get(tag).attrs["Config"]
        module = name.replace("-", "_")
        assert config["Entrypoint"] == ["/app/.venv/bin/python", "-m", module]
        code, output = run_once(
            docker_client,
            tag,
            entrypoint=["/app/.venv/bin/python", "-c"],
            command=[
                "from importlib.metadata import version; import sys;"
                f" print(version({name!r}), sys.version_info[:2])"
            ],
            **HARDENED,
        )
        print(f"{name}: release built in {outcome.seconds:.1f}s; {output.strip()}")
        assert code == 0 and output.startswith("0.1.0 (3, 13)"), output
    finally:
        remove_image(docker_client, tag)


def test_a_lock_that_does_not_match_fails_the_build(
    builds: Callable[[str, str], Built], build: Callable[..., BuildOutcome], tmp_path: Path
) -> None:
    """--locked: a dependency added to pyproject.toml without `uv lock` fails the build."""
    project = copy_project(builds("python", "distroless"), tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('  "uvicorn>=0.30",\n', '  "uvicorn>=0.30",\n  "idna>=3",\n')
    )
    outcome = build(project, "release", "stagekit-test/python-unlocked:release")
    print(f"unlocked dependency: ok={outcome.ok} after {outcome.seconds:.1f}s")
    assert not outcome.ok, "the build accepted a pyproject.toml that uv.lock does not match"
    assert "--locked" in outcome.log and "needs to be updated" in outcome.log, outcome.tail(20)


def test_a_dependency_that_needs_a_pruned_module_fails_the_scratch_build(
    builds: Callable[[str, str], Built], build: Callable[..., BuildOutcome], tmp_path: Path
) -> None:
    """diskcache imports sqlite3, which the scratch runtime prunes: the build fails in the
    `runtime` stage, naming the module and what to change, instead of the release failing at
    its first import in production. Its `test` stage (full interpreter) would have passed."""
    uv = find_tool("uv")
    if uv is None:
        pytest.fail("uv is not installed: it is a test dependency (pyproject's test extra)")
    project = copy_project(builds("python", "scratch"), tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            '  "uvicorn>=0.30",\n', '  "uvicorn>=0.30",\n  "diskcache==5.6.3",\n'
        )
    )
    env = {
        **os.environ,
        "UV_NATIVE_TLS": "1",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    locked = subprocess.run(
        [uv, "lock"], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert locked.returncode == 0, locked.stderr[-2000:]
    outcome = build(project, "release", "stagekit-test/python-needs-sqlite:release")
    print(f"diskcache on scratch: ok={outcome.ok} after {outcome.seconds:.1f}s")
    assert not outcome.ok, "a release whose dependency needs a pruned module was built"
    log = outcome.log
    assert "diskcache (from diskcache 5.6.3) does not import in the runtime" in log, outcome.tail(
        30
    )
    assert "No module named 'sqlite3'" in log, outcome.tail(30)
    assert "it needs the standard-library module 'sqlite3': delete it from PRUNE" in log
    assert "python_runtime.py imports /runtime /app/.venv" in log


# --- the release container --------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_release_runs_hardened_healthy_and_stops_on_sigterm(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("python", base)
    entrypoint = ["/app/.venv/bin/python", "-m", package(built)]
    config = assert_release_metadata(docker_client, built, entrypoint)
    assert "HOME=/home/nonroot" in config["Env"]

    def index_names_the_project(port: int) -> None:
        status, body = get_json(f"http://127.0.0.1:{port}/")
        assert status == 200 and body["name"] == built.project.name, body

    lines = run_hardened_release(docker_client, built, f"python/{base}", index_names_the_project)
    messages = [line["msg"] for line in lines]
    assert messages[0] == "starting" and messages[-1] == "stopped", messages
    assert any(m.startswith("Uvicorn running on") for m in messages), messages
    assert any(line.get("path") == "/hello" and line.get("status") == 200 for line in lines), (
        "no structured access log line"
    )


@pytest.mark.parametrize("base", BASES)
def test_the_compiled_extension_and_the_venv_run_as_shipped(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    """pydantic-core's compiled extension loads, bytecode is precompiled and hash-based, the
    venv's interpreter is the runtime's, and no dev dependency reached the release image."""
    built = builds("python", base)
    script = (
        "import json, sys, importlib.util, pydantic_core, ssl\n"
        "from pydantic_core import _pydantic_core as ext\n"
        f"spec = importlib.util.find_spec({package(built)!r} + '.app')\n"
        "pyc = open(importlib.util.cache_from_source(spec.origin), 'rb').read(8)\n"
        "print(json.dumps({'ext': ext.__file__, 'version': pydantic_core.__version__,"
        " 'valid': pydantic_core.SchemaValidator({'type': 'int'}).validate_python('42'),"
        " 'pyc_flags': int.from_bytes(pyc[4:8], 'little'),"
        " 'base': sys._base_executable, 'ssl': ssl.OPENSSL_VERSION,"
        " 'dont_write': sys.dont_write_bytecode}))\n"
    )
    code, output = run_once(
        docker_client,
        built.images["release"],
        entrypoint=["/app/.venv/bin/python", "-c", script],
        **HARDENED,
    )
    assert code == 0, output
    info = json.loads(output.strip().splitlines()[-1])
    print(f"python/{base}: {info}")
    assert info["ext"].endswith(".so") and info["valid"] == 42
    assert info["pyc_flags"] == 3, "checked hash-based bytecode (valid whatever the file times)"
    assert info["dont_write"] is True
    python = "/usr/local/bin/python3.13" if base == "alpine" else "/usr/bin/python3.13"
    assert info["base"] == python

    entries = image_entries(docker_client, built.images["release"])
    site = [n for n in entries if "/site-packages/" in n]
    leaked = sorted(
        {n.split("/site-packages/")[1].split("/")[0] for n in site}
        & {*DEV_ONLY, *(f"{d}.py" for d in DEV_ONLY)}
    )
    assert leaked == [], f"dev/debug dependencies in the release venv: {leaked}"
    assert not [n for n in entries if n.startswith("src/") or n.startswith("tests/")]


@pytest.mark.parametrize("base", SHELL_FREE)
def test_release_has_no_shell(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("python", base)
    entries = assert_no_shell(docker_client, built.images["release"], base)
    if base == "scratch":
        tops = {n.split("/", 1)[0] for n in entries if n}
        assert tops <= {"app", "etc", "home", "usr", "lib64", "lib", "var"}, sorted(tops)
        etc = sorted(n for n in regular_files(entries) if n.startswith("etc/"))
        # os-release: the scanner's distribution (docs/smoke.md, "Inventory").
        assert etc == sorted([*SCRATCH_ETC, "etc/os-release"]), etc
        var = [n for n in regular_files(entries) if n.startswith("var/")]
        assert var and all(n.startswith("var/lib/dpkg/status.d/") for n in var), var
        binaries = [n for n in entries if n.startswith("usr/bin/")]
        assert binaries == ["usr/bin/python3.13"], binaries


# --- the debug container ----------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_debugger_answers_and_stops_at_a_breakpoint(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("python", base)
    source = f"/src/src/{package(built)}/app.py"
    lines = (built.project / "src" / package(built) / "app.py").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if 'f"Hello, {name}!"' in text)
    ports = {f"{DEBUG_PORT}/tcp": ("127.0.0.1", None), f"{PORT}/tcp": ("127.0.0.1", None)}
    with running(docker_client, built.images["debug"], ports=ports) as container:
        app_port = host_port(container, PORT)
        status, _, answered = wait_for_json(f"http://127.0.0.1:{app_port}/healthz", 30)
        assert status == 200, "the app does not serve under debugpy"
        dap_port = host_port(container, DEBUG_PORT)
        print(f"python/{base}: app under debugpy answered after {answered:.1f}s; DAP on {dap_port}")
        assert {p[0] for p in container.top()["Processes"]} == {"65532"}

        dap = Dap(dap_port)
        try:
            dap.call("initialize", {"adapterID": "debugpy", "clientID": "stagekit-test"})
            attach = dap.send("attach", {"justMyCode": True})
            dap.event("initialized")
            placed = dap.call(
                "setBreakpoints", {"source": {"path": source}, "breakpoints": [{"line": line}]}
            )
            assert placed["body"]["breakpoints"][0]["verified"], placed
            dap.call("configurationDone")
            dap.response(attach)

            reply: dict[str, Any] = {}

            def request() -> None:
                try:
                    reply["result"] = get_json(f"http://127.0.0.1:{app_port}/hello?name=dap", 30)
                except OSError as exc:
                    reply["error"] = exc

            thread = threading.Thread(target=request, daemon=True)
            thread.start()
            stopped = dap.event("stopped")
            assert stopped["body"]["reason"] == "breakpoint", stopped
            thread_id = stopped["body"]["threadId"]
            frames = dap.call("stackTrace", {"threadId": thread_id})["body"]["stackFrames"]
            top = frames[0]
            print(
                f"python/{base}: stopped in {top['name']} at {top['source']['path']}:{top['line']}"
            )
            assert (top["source"]["path"], top["line"]) == (source, line)
            dap.call("continue", {"threadId": thread_id})
            thread.join(30)
            assert reply.get("result") == (200, {"message": "Hello, dap!"}), reply
        finally:
            dap.close()


# --- the dependency step and a source-only change ---------------------------------------------


def test_a_source_change_reuses_the_dependency_step(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    built = builds("python", "scratch")
    project = copy_project(built, tmp_path)
    tags = ["stagekit-test/python-change:1", "stagekit-test/python-change:2"]
    try:
        first = build(project, "release", tags[0])
        assert first.ok, first.tail(30)
        app = project / "src" / package(built) / "app.py"
        # New in every run, so the rebuild cannot come from an earlier run's build cache.
        greeting = f"Hello there {time.time_ns()}"
        app.write_text(app.read_text().replace('f"Hello, {name}!"', f'f"{greeting}, {{name}}!"'))
        second = build(project, "release", tags[1])
        assert second.ok, second.tail(30)
        cached = dependency_step(second)
        print(
            f"python/scratch: release {first.seconds:.1f}s; after a one-line change"
            f" {second.seconds:.1f}s; dependency step CACHED: {cached}"
        )
        assert cached, f"the dependency step was not CACHED; cached: {second.cached_steps}"
        interpreter = [s for s in second.cached_steps if "python_runtime.py interpreter" in s]
        assert interpreter, "the scratch interpreter stage does not depend on the app"
        # ... and the change is in the image (uv rebuilt the project, not its cached wheel).
        with running(
            docker_client, tags[1], ports={f"{PORT}/tcp": ("127.0.0.1", None)}, **HARDENED
        ) as container:
            port = host_port(container, PORT)
            wait_for_json(f"http://127.0.0.1:{port}/healthz", 15)
            _, body = get_json(f"http://127.0.0.1:{port}/hello?name=you")
            assert body == {"message": f"{greeting}, you!"}, body
    finally:
        for tag in tags:
            remove_image(docker_client, tag)


# --- reproducible -----------------------------------------------------------------------------


def test_release_is_reproducible(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
) -> None:
    built = builds("python", "scratch")
    tags = ["stagekit-test/python-repro:1", "stagekit-test/python-repro:2"]
    try:
        first = build(built.project, "release", tags[0], no_cache=True)
        second = build(built.project, "release", tags[1], no_cache=True)
        assert first.ok and second.ok, (first.tail(20), second.tail(20))
        print(
            f"no-cache release builds: {first.seconds:.1f}s, {second.seconds:.1f}s;"
            f" ids {first.image_id} {second.image_id}"
        )
        assert first.image_id == second.image_id == built.outcomes["release"].image_id
    finally:
        for tag in tags:
            remove_image(docker_client, tag)


# --- sizes ------------------------------------------------------------------------------------


NAIVE = """\
# What a first Dockerfile for the same app looks like: one stage, pip install.
FROM python:3.13-slim-trixie AS naive
WORKDIR /src
COPY . .
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt pip install --root-user-action=ignore .
CMD ["python3", "-m", "{module}"]
"""


def test_release_sizes_beside_the_payload_and_a_naive_image(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    buildable: Callable[[str, str], str | None],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    rows: list[tuple[str, int, int, int]] = []
    for base in BASES:
        if buildable("python", base) is not None:
            print(f"python/{base}: not measured ({buildable('python', base)})")
            continue
        built = builds("python", base)
        image = docker_client.images.get(built.images["release"])
        entries = image_entries(docker_client, built.images["release"])
        venv = bytes_under(entries, "app/.venv")
        interpreter = bytes_under(entries, "usr") if base == "scratch" else 0
        rows.append((base, image.attrs["Size"], venv, interpreter))

    project = copy_project(builds("python", "scratch"), tmp_path)
    (project / "Dockerfile").write_text(NAIVE.format(module=project.name.replace("-", "_")))
    naive = build(project, "naive", "stagekit-test/python-naive:latest")
    try:
        assert naive.ok, naive.tail(30)
        naive_size = docker_client.images.get("stagekit-test/python-naive:latest").attrs["Size"]
    finally:
        remove_image(docker_client, "stagekit-test/python-naive:latest")

    print("\nPython 3.13, FastAPI + uvicorn (uncompressed, amd64):")
    print(
        f"{'image':<24}{'size':>10}{'venv':>10}{'interpreter':>13}{'payload':>10}{'overhead':>10}"
    )
    for base, size, venv, interpreter in rows:
        payload = venv + interpreter
        print(
            f"{'release ' + base:<24}{size / MB:>9.1f}M{venv / MB:>9.1f}M{interpreter / MB:>12.1f}M"
            f"{payload / MB:>9.1f}M{(size - payload) / MB:>9.2f}M"
        )
    print(f"{'naive single-stage':<24}{naive_size / MB:>9.1f}M")

    sizes = {base: (size, venv + interpreter) for base, size, venv, interpreter in rows}
    scratch_size, scratch_payload = sizes["scratch"]
    assert scratch_size <= scratch_payload + 0.5 * MB, (
        f"scratch {scratch_size:,} B > payload {scratch_payload:,} B + 0.5 MB"
    )
    assert scratch_size < 0.75 * NAIVE_SCRATCH_COPY, (
        f"scratch {scratch_size / MB:.1f} MB is not well below the naive copy's 64.6 MB"
    )
    assert scratch_size < naive_size / 3, (scratch_size, naive_size)
    if "distroless" in sizes:
        size, payload = sizes["distroless"]
        base_size = docker_client.images.get("gcr.io/distroless/python3-debian13:nonroot").attrs[
            "Size"
        ]
        assert size <= payload + base_size + 0.5 * MB, (size, payload, base_size)
