"""``stagekit smoke`` on the suite's engine: every buildable combination passes, broken projects
fail with the named reason, and an interrupted run leaves no container behind.

Each run is the real command (``python -m stagekit smoke``) in a subprocess. The passing runs
reuse the session's builds (``builds`` fixture) as they are: ``--image STAGE=TAG`` for each stage,
so they do not depend on BuildKit's cache surviving the rest of the suite (measured: with the cache
intact, smoke's own rebuild of all three stages takes 0.2-0.7 s each). Smoke's own build path is
exercised by the broken projects below. The JSON reports are kept under
``.artifacts/smoke/<lang>-<base>.json``.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docker.support import SESSION_ARGS, run_smoke, smoke_command, smoke_env
from tests.helpers import ALL_COMBINATIONS, REPO, render_project

pytestmark = pytest.mark.docker

ARTIFACTS = REPO / ".artifacts" / "smoke"
SMOKE_LABEL = "org.stagekit.smoke.run"
RELEASE_CHECKS = {
    "user",
    "entrypoint",
    "exposed port",
    "healthcheck",
    "labels",
    "layers",
    "size vs payload",
    "size budget",
    "no shell",
    "hardened run",
    "healthy",
    "health endpoint",
    "sigterm",
}


def leftovers(docker_client: Any, run_id: str | None = None) -> list[str]:
    wanted = f"{SMOKE_LABEL}={run_id}" if run_id else SMOKE_LABEL
    return [c.name for c in docker_client.containers.list(all=True, filters={"label": wanted})]


def summary(report: dict[str, Any]) -> str:
    stages = ", ".join(
        f"{s['stage']} {'ok' if s['ok'] else 'FAILED'} {s['seconds']}s "
        f"({s['cached_steps']} cached, {s['size']} B)"
        for s in report["stages"]
    )
    failed = "; ".join(report["failures"]) or "none"
    return f"stages: {stages}; failures: {failed}"


# --- every combination ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "base"), ALL_COMBINATIONS, ids=[f"{lang}-{base}" for lang, base in ALL_COMBINATIONS]
)
def test_smoke_passes(
    lang: str,
    base: str,
    builds: Callable[[str, str], Any],
    buildable: Callable[[str, str], str | None],
    docker_client: Any,
) -> None:
    reason = buildable(lang, base)
    if reason is not None:
        pytest.skip(reason)
    built = builds(lang, base)
    started = time.monotonic()
    images = [f"--image={stage}={tag}" for stage, tag in built.images.items()]
    code, report, stderr = run_smoke(built.project, *SESSION_ARGS, *images, "--max-size", "500MB")
    seconds = time.monotonic() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{lang}-{base}.json").write_text(json.dumps(report, indent=2) + "\n")
    payload = report.get("payload") or {}
    print(
        f"smoke {lang}/{base}: exit {code} in {seconds:.1f} s; {summary(report)}; "
        f"release {payload.get('image_size')} B = payload {payload.get('payload_bytes')} B + "
        f"overhead {payload.get('overhead')} B (session builds: {built.seconds})"
    )
    assert code == 0, f"{lang}/{base}: {summary(report)}\n{stderr[-2000:]}"
    assert report["ok"] is True and report["exit_code"] == 0
    assert [s["stage"] for s in report["stages"]] == ["test", "debug", "release"]
    # The session's builds are judged as they are, not rebuilt.
    for stage in report["stages"]:
        assert stage["ok"] and stage["image"] == built.images[stage["stage"]], stage
    checks = {c["name"]: c for c in report["checks"]}
    assert RELEASE_CHECKS | {"lint", "debug port"} <= set(checks), sorted(checks)
    assert checks["lint"]["status"] == "passed", checks["lint"]
    expected_skips = {"no shell"} if base == "alpine" else set()
    assert {n for n, c in checks.items() if c["status"] == "skipped"} == expected_skips
    assert payload["payload_bytes"] > 0 and payload["overhead"] <= payload["allowance"], payload
    assert leftovers(docker_client, report["run_id"]) == []
    # Images smoke did not build are never removed.
    assert report["removed_images"] == []
    for tag in built.images.values():
        docker_client.images.get(tag)


# --- broken projects -----------------------------------------------------------------------------


def render_go(tmp_path: Path, name: str) -> Path:
    return render_project(tmp_path, "go", "scratch", project_name=name)


@pytest.fixture
def go_ready(buildable: Callable[[str, str], str | None]) -> None:
    reason = buildable("go", "scratch")
    if reason is not None:
        pytest.skip(reason)


def test_failing_unit_test_fails_the_build(tmp_path: Path, go_ready: None) -> None:
    project = render_go(tmp_path, "broken-test")
    (project / "internal" / "server" / "zz_broken_test.go").write_text(
        'package server\n\nimport "testing"\n\n'
        "func TestDeliberatelyBroken(t *testing.T) {\n"
        '\tt.Fatal("deliberately broken by the smoke test")\n}\n'
    )
    code, report, _ = run_smoke(project, "--no-lint", "--clean")
    print(f"failing test: exit {code}; {summary(report)}")
    assert code == 4, summary(report)
    assert [(s["stage"], s["ok"]) for s in report["stages"]] == [("test", False)]
    assert report["failures"][0].startswith("build of stage 'test' failed"), report["failures"]
    assert "deliberately broken by the smoke test" in report["stages"][0]["log_tail"]


def break_health(project: Path) -> None:
    """/healthz answers 500: the image's self-probe and smoke's GET both see it."""
    server = project / "internal" / "server" / "server.go"
    source = server.read_text()
    broken, count = re.subn(
        r"(HealthPath,\s*func\([^)]*\)\s*\{\s*writeJSON\(w,\s*)http\.StatusOK",
        r"\1http.StatusInternalServerError",
        source,
    )
    assert count == 1, "the Go scaffold's health handler changed: update break_health()"
    server.write_text(broken)


def unhealthy_project(tmp_path: Path, name: str) -> Path:
    project = render_go(tmp_path, name)
    break_health(project)
    return project


def test_never_healthy_fails(tmp_path: Path, go_ready: None, docker_client: Any) -> None:
    code, report, _ = run_smoke(
        unhealthy_project(tmp_path, "broken-health"),
        "--no-lint",
        "--stage",
        "release",
        "--timeout",
        "60",
        "--clean",
    )
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["status"] == "failed"}
    print(f"never healthy: exit {code}; {summary(report)}")
    assert code == 1, summary(report)
    assert set(failed) == {"healthy", "health endpoint"}, failed
    assert "unhealthy after" in failed["healthy"] or "still starting" in failed["healthy"]
    assert "→ 500" in failed["health endpoint"]
    assert leftovers(docker_client, report["run_id"]) == []
    # --clean: the run's images are gone too.
    assert report["removed_images"] == ["stagekit-smoke/broken-health:release"]
    assert docker_client.images.list(name="stagekit-smoke/broken-health") == []


def test_root_image_fails(tmp_path: Path, go_ready: None) -> None:
    project = render_go(tmp_path, "broken-root")
    dockerfile = project / "Dockerfile"
    text = dockerfile.read_text()
    head, sep, release = text.partition(" AS release")
    assert sep and "USER 65532:65532" in release, "the release stage changed: update this test"
    dockerfile.write_text(head + sep + release.replace("USER 65532:65532", "USER 0:0"))
    code, report, _ = run_smoke(project, "--no-lint", "--stage", "release", "--clean")
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["status"] == "failed"}
    print(f"root image: exit {code}; failed checks: {failed}")
    assert code == 1, summary(report)
    assert failed == {"user": "USER 0:0: the container runs as root"}


def test_shell_in_a_distroless_release_fails(
    tmp_path: Path, buildable: Callable[[str, str], str | None], docker_client: Any
) -> None:
    reason = buildable("go", "distroless")
    if reason is not None:
        pytest.skip(reason)
    project = render_project(tmp_path, "go", "distroless", project_name="broken-shell")
    dockerfile = project / "Dockerfile"
    text, count = re.subn(
        r"^FROM gcr\.io/distroless/static-debian13:nonroot AS release$",
        "FROM gcr.io/distroless/static-debian13:debug-nonroot AS release",
        dockerfile.read_text(),
        flags=re.MULTILINE,
    )
    assert count == 1, "the release FROM line changed: update this test"
    dockerfile.write_text(text)
    # The default image policy too: the debug image is removed, the release image stays.
    code, report, _ = run_smoke(project, "--no-lint", "--stage", "debug", "--stage", "release")
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["status"] == "failed"}
    print(f"shell in distroless: exit {code}; failed checks: {failed}")
    assert code == 1, summary(report)
    assert "/busybox/sh" in failed.get("no shell", ""), failed
    assert report["removed_images"] == ["stagekit-smoke/broken-shell:debug"]
    docker_client.images.remove("stagekit-smoke/broken-shell:release")


# --- errors and interruption ---------------------------------------------------------------------


def test_port_in_use_is_a_clear_error(tmp_path: Path, go_ready: None) -> None:
    project = render_go(tmp_path, "port-taken")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            smoke_command(project, "--stage", "release", "--host-port", str(port)),
            capture_output=True,
            text=True,
            timeout=120,
            env=smoke_env(),
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert f"port 127.0.0.1:{port} is already in use" in result.stderr
    assert "--host-port" in result.stderr


@pytest.fixture
def running_smoke(
    tmp_path: Path, go_ready: None, docker_client: Any
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A smoke run whose release container is up (and never healthy, so it stays up)."""
    project = unhealthy_project(tmp_path, "interrupted")
    process = subprocess.Popen(
        smoke_command(project, "--no-lint", "--stage", "release", "--timeout", "300"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=smoke_env(),
    )
    run_id = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            for container in docker_client.containers.list(filters={"label": SMOKE_LABEL}):
                if "-release-" in container.name and container.status == "running":
                    run_id = container.labels[SMOKE_LABEL]
                    break
            if run_id:
                break
            time.sleep(0.5)
        assert run_id, f"no release container appeared (exit {process.poll()})"
        yield process, run_id
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
        if run_id:
            for container in docker_client.containers.list(
                all=True, filters={"label": f"{SMOKE_LABEL}={run_id}"}
            ):
                container.remove(force=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_leaves_no_container(
    running_smoke: tuple[subprocess.Popen[str], str], signum: int, docker_client: Any
) -> None:
    process, run_id = running_smoke
    assert leftovers(docker_client, run_id), "the release container should be running now"
    time.sleep(1.0)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    seconds = time.monotonic() - sent
    remaining = leftovers(docker_client, run_id)
    print(
        f"{signal.Signals(signum).name}: exit {process.returncode} after {seconds:.1f} s; "
        f"containers left: {remaining}"
    )
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr
    assert remaining == []
