"""The Rust scaffold on the real engine (issue 5's "done when"): every stage builds on every base,
a failing test fails the test stage, a project with a random crate name builds with --locked, the
release image runs hardened and healthy and stops cleanly, scratch and distroless have no shell,
a one-line source change reuses the compiled dependencies, the scratch image is the binary plus at
most 0.5 MB, and the debug image serves gdb's remote protocol."""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import string
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from stagekit.engine.client import BuildOutcome
from stagekit.model import Base, Language

from tests.docker.support import (
    HARDENED,
    MB,
    PORT,
    SCRATCH_ETC,
    Built,
    assert_no_shell,
    assert_release_metadata,
    binary_path,
    copy_project,
    file_from_image,
    get_json,
    host_port,
    regular_files,
    run_hardened_release,
    running,
    wait_for_json,
)
from tests.helpers import host_versions, render_project

pytestmark = pytest.mark.docker

BASES = [base.value for base in Base]
DEBUG_PORT = 2345
DEPENDENCY_STEP = "cargo fetch"  # the build stage's step that compiles the dependencies


# --- helpers ----------------------------------------------------------------------------------


def step_seconds(log: str, needle: str) -> float | None:
    """How long the BuildKit step whose title contains ``needle`` ran (None if CACHED)."""
    number = None
    for line in log.splitlines():
        if number is None and line.startswith("#") and needle in line and "[" in line:
            number = line.split()[0]
        elif number is not None and line.startswith(f"{number} DONE "):
            return float(line.split()[2].rstrip("s"))
        elif number is not None and line == f"{number} CACHED":
            return None
    return None


def compiled_crates(log: str, needle: str) -> list[str]:
    """The crates cargo compiled in the step whose title contains ``needle``."""
    number = None
    crates = []
    for line in log.splitlines():
        if number is None and line.startswith("#") and needle in line and "[" in line:
            number = line.split()[0]
        elif number is not None and line.startswith(f"{number} ") and "Compiling " in line:
            crates.append(line.split("Compiling ", 1)[1].split()[0])
    return crates


def rsp_packet(data: bytes) -> bytes:
    return b"$" + data + b"#" + b"%02x" % (sum(data) % 256)


def rsp_read(sock: socket.socket) -> bytes:
    """One packet of gdb's remote serial protocol (acknowledged), without framing."""
    buffer = b""
    while True:
        char = sock.recv(1)
        if not char:
            raise EOFError("gdbserver closed the connection")
        if not buffer and char in b"+-":
            continue
        buffer += char
        if buffer.startswith(b"$") and b"#" in buffer and len(buffer.rsplit(b"#", 1)[1]) == 2:
            sock.sendall(b"+")
            return buffer[1 : buffer.rindex(b"#")]


# --- every stage on every base ----------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_test_debug_and_release_build(builds: Callable[[str, str], Built], base: str) -> None:
    built = builds("rust", base)
    print(f"rust/{base} build seconds: {built.seconds}")
    assert set(built.images) == {"test", "debug", "release"}, built.logs.keys()
    log = built.logs["test"]
    for needle in ("cargo fmt --check", "cargo clippy --locked", "cargo test --locked"):
        assert needle in log, f"{needle!r} not in the test stage's log"


def test_a_failing_rust_test_fails_the_test_stage(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    tmp_path: Path,
) -> None:
    project = copy_project(builds("rust", "scratch"), tmp_path)
    (project / "tests" / "deliberate.rs").write_text(
        '#[test]\nfn deliberately_fails() {\n    panic!("deliberate failure");\n}\n'
    )
    outcome = build(project, "test", "stagekit-test/rust-failing:test")
    print(f"failing test stage: ok={outcome.ok} in {outcome.seconds:.1f}s")
    assert not outcome.ok, "the test stage passed although a Rust test fails"
    assert "deliberate failure" in outcome.log and "FAILED" in outcome.log, outcome.tail(30)


def test_a_random_crate_name_builds_with_locked(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    tmp_path: Path,
) -> None:
    builds("rust", "scratch")  # provisioned and (usually) the dependency layer is warm
    rng = random.Random()
    name = rng.choice(string.ascii_lowercase) + "".join(
        rng.choices(string.ascii_lowercase + string.digits, k=7)
    )
    name = f"{name}-{rng.choice(['svc', 'api', 'x9'])}"
    version = host_versions()[Language.RUST]
    project = render_project(tmp_path, "rust", "scratch", project_name=name, version=version)
    outcome = build(project, "release", f"stagekit-test/rust-random-{name}:release")
    compiled = compiled_crates(outcome.log, 'cp "target/$target/release/')
    print(
        f"random crate name {name!r}: ok={outcome.ok} in {outcome.seconds:.1f}s;"
        f" compiled in the final step: {compiled}"
    )
    assert outcome.ok, outcome.tail(40)
    assert "--locked" in outcome.log
    assert compiled == [name], f"the final step compiled {compiled}, not only {name}"


# --- the release container --------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_release_runs_hardened_healthy_and_stops_on_sigterm(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("rust", base)
    config = assert_release_metadata(docker_client, built, [binary_path(built)])
    assert config["Labels"]["org.opencontainers.image.version"] == "0.1.0"

    def index_names_the_build(port: int) -> None:
        status, body = get_json(f"http://127.0.0.1:{port}/")
        assert status == 200 and body["version"] == "0.1.0" and body["revision"] == "test"

    lines = run_hardened_release(docker_client, built, f"rust/{base}", index_names_the_build)
    messages = [line["message"] for line in lines]
    assert messages[0] == "listening" and messages[-1] == "stopped", messages
    assert "shutdown requested" in messages


@pytest.mark.parametrize("base", ["scratch", "distroless"])
def test_release_has_no_shell(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("rust", base)
    entries = assert_no_shell(docker_client, built.images["release"], base)
    if base == "scratch":
        files = regular_files(entries)
        assert files == {*SCRATCH_ETC, binary_path(built).lstrip("/")}, sorted(files)


# --- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_release_size_over_the_binary(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("rust", base)
    image = docker_client.images.get(built.images["release"])
    binary = len(file_from_image(docker_client, built.images["release"], binary_path(built)))
    overhead = image.attrs["Size"] - binary
    print(
        f"rust/{base}: release image {image.attrs['Size']:,} B, binary {binary:,} B,"
        f" overhead {overhead:,} B"
    )
    assert binary < 5 * MB, f"the release binary is {binary:,} B: size tuning lost?"
    if base == "scratch":
        assert overhead <= 0.5 * MB, (
            f"scratch image {image.attrs['Size']:,} B > binary {binary:,} B + 0.5 MB"
        )
    else:
        base_ref = (
            "gcr.io/distroless/static-debian13:nonroot" if base == "distroless" else "alpine:3.22"
        )
        base_size = docker_client.images.get(base_ref).attrs["Size"]
        print(f"rust/{base}: base image {base_ref} {base_size:,} B")
        assert image.attrs["Size"] <= binary + base_size + 0.5 * MB


# --- dependency caching -----------------------------------------------------------------------


def test_a_one_line_change_reuses_the_compiled_dependencies(
    builds: Callable[[str, str], Built],
    build: Callable[..., BuildOutcome],
    docker_client: Any,
    tmp_path: Path,
) -> None:
    """Cold (no layer cache) build, then a one-line change in src/: the dependency step is CACHED
    and only the crate itself is compiled. The cold build, with the same sources and
    SOURCE_DATE_EPOCH as the session's build, must also give the same image (reproducible)."""
    built = builds("rust", "scratch")
    project = built.project
    cold = build(project, "release", "stagekit-test/rust-cold:release", no_cache=True)
    assert cold.ok, cold.tail(40)
    dependencies = step_seconds(cold.log, DEPENDENCY_STEP)
    assert dependencies is not None, "the dependency step was not run by a --no-cache build"
    reproducible = cold.image_id == docker_client.images.get(built.images["release"]).id

    changed = copy_project(built, tmp_path)
    server = changed / "src" / "server.rs"
    # New in every run, so the compile cannot come from an earlier run's build cache.
    marker = f'"Hello, {{name}}! {time.time_ns()}"'
    server.write_text(server.read_text().replace('"Hello, {name}!"', marker, 1))
    rebuild = build(changed, "release", "stagekit-test/rust-rebuild:release")
    assert rebuild.ok, rebuild.tail(40)
    cached = [step for step in rebuild.cached_steps if DEPENDENCY_STEP in step]
    compiled = compiled_crates(rebuild.log, 'cp "target/$target/release/')
    ratio = rebuild.seconds / cold.seconds
    print(
        f"rust/scratch release: cold {cold.seconds:.1f}s (dependency step {dependencies:.1f}s),"
        f" rebuild after a one-line change {rebuild.seconds:.1f}s (ratio {ratio:.2f});"
        f" dependency step CACHED: {bool(cached)}; compiled: {compiled};"
        f" cold build reproduces the session's image: {reproducible}"
    )
    assert cached, f"the dependency step was not CACHED: {rebuild.cached_steps}"
    assert compiled == [built.project.name], f"the rebuild compiled {compiled}"
    assert ratio < 0.6, f"rebuild {rebuild.seconds:.1f}s is {ratio:.2f} of cold"
    assert reproducible, "two builds of the same sources gave different release images"


# --- the debug container ----------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_gdbserver_answers_and_the_app_runs_when_continued(
    builds: Callable[[str, str], Built], docker_client: Any, base: str
) -> None:
    built = builds("rust", base)
    ports = {f"{DEBUG_PORT}/tcp": ("127.0.0.1", None), f"{PORT}/tcp": ("127.0.0.1", None)}
    with running(docker_client, built.images["debug"], ports=ports) as container:
        debug_port = host_port(container, DEBUG_PORT)
        app_port = host_port(container, PORT)
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", debug_port), timeout=10)
                sock.sendall(rsp_packet(b"qSupported:swbreak+;hwbreak+"))
                features = rsp_read(sock)
                break
            except (OSError, EOFError):
                assert time.monotonic() < deadline, "gdbserver did not answer within 30 s"
                time.sleep(0.2)
        try:
            assert b"PacketSize=" in features, features
            sock.sendall(rsp_packet(b"?"))
            stop = rsp_read(sock)
            print(f"rust/{base}: gdbserver stop reply {stop[:40]!r}")
            assert stop.startswith((b"T05", b"S05")), "the program is not stopped at its start"
            with pytest.raises(OSError):
                get_json(f"http://127.0.0.1:{app_port}/healthz", timeout=1)
            sock.sendall(rsp_packet(b"c"))
            status, body, answered = wait_for_json(f"http://127.0.0.1:{app_port}/healthz", 30)
            print(f"rust/{base}: app answered {status} {answered:.1f}s after `continue`")
            assert (status, body) == (200, {"status": "ok"})
        finally:
            sock.close()


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed on this machine")
def test_gdb_stops_at_a_breakpoint_in_the_handler(
    builds: Callable[[str, str], Built], docker_client: Any
) -> None:
    built = builds("rust", "scratch")
    crate = built.project.name.replace("-", "_")
    ports = {f"{DEBUG_PORT}/tcp": ("127.0.0.1", None), f"{PORT}/tcp": ("127.0.0.1", None)}
    with running(docker_client, built.images["debug"], ports=ports) as container:
        debug_port = host_port(container, DEBUG_PORT)
        app_port = host_port(container, PORT)
        reply: dict[str, Any] = {}

        def request() -> None:
            with suppress(AssertionError):
                reply["result"] = wait_for_json(f"http://127.0.0.1:{app_port}/hello?name=gdb", 60)

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        session = subprocess.run(
            [
                "gdb",
                "-batch",
                "-nx",
                "-ex",
                "set pagination off",
                "-ex",
                f"target remote 127.0.0.1:{debug_port}",
                "-ex",
                f"break {crate}::server::hello",
                "-ex",
                "continue",
                "-ex",
                "detach",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        thread.join(60)
        hit = [line for line in session.stdout.splitlines() if "hit Breakpoint 1" in line]
        print(f"rust/scratch gdb: {hit}")
        assert hit and f"{crate}::server::hello" in hit[0], session.stdout[-3000:]
        assert "src/server.rs" in hit[0]
        status, body, _ = reply["result"]
        assert (status, body) == (200, {"message": "Hello, gdb!"})


# --- name resolution in the scratch release -----------------------------------------------------

RESOLVER = """\
use std::net::ToSocketAddrs;

fn main() {
    let mut ok = true;
    for name in std::env::args().skip(1) {
        match (name.as_str(), 80).to_socket_addrs() {
            Ok(addrs) => addrs.for_each(|a| println!("{name} {}", a.ip())),
            Err(e) => {
                println!("{name} error {e}");
                ok = false;
            }
        }
    }
    std::process::exit(if ok { 0 } else { 1 });
}
"""
#: A loopback address of its own, so no local resolver already on 127.0.0.1:53 is in the way.
DNS_ADDRESS = "127.0.0.42"
DNS_NAME, DNS_ANSWER = "db.stagekit.test", "10.20.30.40"
HOSTS_NAME, HOSTS_ANSWER = "cache.stagekit.test", "10.9.8.7"


def dns_answer(query: bytes) -> bytes:
    """A reply to one DNS query: an A record for DNS_NAME, an empty NOERROR for anything else."""
    labels, at = [], 12
    while query[at]:
        labels.append(query[at + 1 : at + 1 + query[at]].decode())
        at += 1 + query[at]
    qtype = int.from_bytes(query[at + 1 : at + 3], "big")
    question = query[12 : at + 5]
    found = ".".join(labels).lower() == DNS_NAME and qtype == 1
    header = query[:2] + b"\x81\x80" + b"\x00\x01" + (b"\x00\x01" if found else b"\x00\x00")
    header += b"\x00\x00\x00\x00"
    answer = b""
    if found:
        answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(DNS_ANSWER)
    return header + question + answer


def test_the_scratch_release_resolves_names_from_hosts_and_dns(
    builds: Callable[[str, str], Built], tmp_path: Path, docker_client: Any
) -> None:
    """A Rust program built with the release's own flags (static glibc) resolves a name from
    /etc/hosts and one from a DNS server, in the scratch release's filesystem (no nsswitch.conf,
    no NSS modules): the container runs on the host network with a resolv.conf naming the
    responder this test runs on loopback."""
    built = builds("rust", "scratch")
    dockerfile = (built.project / "Dockerfile").read_text()
    flags = re.search(r'^ARG RELEASE_RUSTFLAGS="([^"]*)"', dockerfile, re.MULTILINE)
    assert flags is not None, "the Dockerfile names no RELEASE_RUSTFLAGS"
    crate = tmp_path / "resolver"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "resolver"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (crate / "src" / "main.rs").write_text(RESOLVER)
    target = "x86_64-unknown-linux-gnu"
    compiled = subprocess.run(
        ["cargo", "build", "--release", "--offline", "--target", target],
        cwd=crate,
        env={**os.environ, "RUSTFLAGS": flags.group(1), "CARGO_TARGET_DIR": str(tmp_path / "t")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    binary = tmp_path / "t" / target / "release" / "resolver"
    assert b"ld-linux" not in binary.read_bytes()[:4096], "not a static binary"
    (tmp_path / "hosts").write_text(f"127.0.0.1 localhost\n{HOSTS_ANSWER} {HOSTS_NAME}\n")
    (tmp_path / "resolv.conf").write_text(f"nameserver {DNS_ADDRESS}\noptions timeout:2\n")

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((DNS_ADDRESS, 53))
    server.settimeout(0.2)
    asked: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, client = server.recvfrom(512)
            except TimeoutError:
                continue
            asked.append(query[13:].split(b"\x00", 1)[0].decode(errors="replace"))
            server.sendto(dns_answer(query), client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        output = docker_client.containers.run(
            built.images["release"],
            entrypoint=["/resolver"],
            command=[HOSTS_NAME, DNS_NAME],
            network_mode="host",
            volumes={
                str(binary): {"bind": "/resolver", "mode": "ro"},
                str(tmp_path / "hosts"): {"bind": "/etc/hosts", "mode": "ro"},
                str(tmp_path / "resolv.conf"): {"bind": "/etc/resolv.conf", "mode": "ro"},
            },
            remove=True,
            stdout=True,
            stderr=True,
            **HARDENED,
        ).decode()
    finally:
        stop.set()
        thread.join(5)
        server.close()
    print(output, f"DNS queries seen: {asked}")
    assert f"{HOSTS_NAME} {HOSTS_ANSWER}" in output, output
    assert f"{DNS_NAME} {DNS_ANSWER}" in output, output
    assert asked, "the DNS answer did not come from the test's responder"
