"""`stagekit doctor` without an engine, with old plugins, and its pieces; the engine case is in
tests/docker/test_doctor.py."""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import sys
import threading
from pathlib import Path

import pytest
from stagekit.cli.main import main
from stagekit.doctor import _Doctor, _emulation, doctor, engine_missing_hint
from stagekit.engine.client import version_tuple


def _shim(folder: Path, script: str) -> Path:
    folder.mkdir(exist_ok=True)
    docker = folder / "docker"
    docker.write_text("#!/bin/sh\n" + script)
    docker.chmod(0o755)
    return folder


def test_no_docker_cli_and_nobody_on_the_socket_fail_with_their_fixes(tmp_path: Path) -> None:
    env = {
        "PATH": str(tmp_path / "empty"),
        "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock",
        "HOME": str(tmp_path),
    }
    report = doctor(None, env)
    by_name = {check.name: check for check in report.checks}
    assert by_name["endpoint"].status == "ok" and "from DOCKER_HOST" in by_name["endpoint"].found
    assert by_name["engine"].status == "fail"
    assert f"no Docker Engine answers at unix://{tmp_path}/nobody.sock" in by_name["engine"].found
    assert by_name["docker CLI"].status == "fail" and by_name["docker CLI"].fix
    assert "buildx" not in by_name  # not asked without a CLI to ask
    assert not report.ok


def test_a_project_s_images_are_not_checked_without_an_engine_but_scratch_needs_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "svc", "--lang", "go", "--base", "scratch", "--no-input"]) == 0
    env = {"PATH": str(tmp_path / "empty"), "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock"}
    by_name = {check.name: check for check in doctor(tmp_path / "svc", env).checks}
    assert by_name["image release"].status == "ok"
    assert by_name["image build"].status == "fail"
    assert by_name["image build"].found == "golang:1.26-trixie: not checked, no engine answers"


def test_the_cli_prints_json_and_exits_1_without_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nobody.sock")
    monkeypatch.chdir(tmp_path)
    assert main(["doctor", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["project"] is None
    assert data["endpoint"] == f"unix://{tmp_path}/nobody.sock"
    assert {"name", "status", "found", "fix"} == set(data["checks"][0])
    statuses = {check["name"]: check["status"] for check in data["checks"]}
    assert statuses["engine"] == statuses["docker CLI"] == "fail"
    assert statuses["org config"] == "ok"


def test_plugins_just_below_the_minimum_are_named_with_their_version(tmp_path: Path) -> None:
    shims = _shim(
        tmp_path / "shims",
        'case "$1 $2" in\n'
        '  "buildx version") echo "github.com/docker/buildx v0.12.9 abcdef" ;;\n'
        '  "compose version") echo "Docker Compose version 1.29.2" ;;\n'
        "esac\n",
    )
    env = {"PATH": f"{shims}", "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock"}
    by_name = {check.name: check for check in doctor(None, env).checks}
    assert by_name["buildx"].status == "fail"
    assert by_name["buildx"].found == "docker buildx 0.12.9 is too old: 0.13 or newer is needed"
    assert by_name["compose"].found == "docker compose 1.29.2 is too old: 2.0 or newer is needed"


def test_missing_plugins_are_named_with_the_package_to_install(tmp_path: Path) -> None:
    shims = _shim(tmp_path / "shims", 'echo "docker: unknown command: docker $1" >&2\nexit 1\n')
    env = {"PATH": f"{shims}", "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock"}
    by_name = {check.name: check for check in doctor(None, env).checks}
    assert by_name["compose"].found == "the docker compose plugin is not installed"
    assert "docker-compose" in (by_name["compose"].fix or "")
    assert "docker-buildx" in (by_name["buildx"].fix or "")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n", "ok"),
        ("enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OC\n", "warn"),
        ("disabled\nflags: F\n", "warn"),
        (None, "warn"),
    ],
)
def test_arm64_emulation_needs_an_enabled_handler_with_the_fix_binary_flag(
    tmp_path: Path, text: str | None, status: str
) -> None:
    handler = tmp_path / "qemu-aarch64"
    if text is not None:
        handler.write_text(text)
    doc = _Doctor({})
    _emulation(doc, handler)
    assert doc.checks[0].status == status


def test_version_tuple_reads_the_forms_the_tools_print() -> None:
    assert version_tuple("26.1.5+dfsg1") == (26, 1, 5)
    assert version_tuple("github.com/docker/buildx 0.13.1+ds1 (abc)") == (0, 13, 1)
    assert version_tuple("v2.26") == (2, 26)
    assert version_tuple("unknown") is None


def test_new_points_to_doctor_only_when_the_engine_socket_is_missing(tmp_path: Path) -> None:
    hint = engine_missing_hint({"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert hint is not None and "stagekit doctor" in hint
    (tmp_path / "here.sock").touch()
    assert engine_missing_hint({"DOCKER_HOST": f"unix://{tmp_path}/here.sock"}) is None
    assert engine_missing_hint({"DOCKER_HOST": "tcp://127.0.0.1:2375"}) is None
    # A docker context names its own host: not guessed at here.
    (tmp_path / "config.json").write_text('{"currentContext": "desktop-linux"}')
    assert engine_missing_hint({"DOCKER_CONFIG": str(tmp_path)}) is None


def test_doctor_reads_the_python_next_to_it_for_hadolint(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/x.sock"}
    by_name = {check.name: check for check in doctor(None, env).checks}
    beside = Path(sys.executable).parent / "hadolint"
    assert by_name["hadolint"].status == ("ok" if beside.is_file() else "fail")
    assert os.environ.get("PATH")  # the real PATH was never touched


class _FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _fake_engine(socket_path: Path, version: str) -> _FakeEngine:
    """A unix socket that answers the engine's /_ping and /version as an old engine would."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/_ping"):
                body, kind = b"OK", "text/plain"
            else:
                body = json.dumps({"Version": version, "ApiVersion": "1.43"}).encode()
                kind = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Api-Version", "1.43")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def address_string(self) -> str:  # a unix socket has no client address
            return "fake-engine"

        def log_message(self, *args: object) -> None:
            pass

    server = _FakeEngine(str(socket_path), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_an_engine_just_below_the_minimum_is_named_by_doctor_and_refused_by_smoke(
    tmp_path: Path,
) -> None:
    from stagekit.engine.client import Endpoint, ping
    from stagekit.errors import EngineError

    socket_path = tmp_path / "old.sock"
    server = _fake_engine(socket_path, "24.0.9")
    try:
        env = {"PATH": os.environ["PATH"], "DOCKER_HOST": f"unix://{socket_path}"}
        engine = next(c for c in doctor(None, env).checks if c.name == "engine")
        assert engine.status == "fail"
        assert engine.found.startswith("Docker Engine 24.0.9 is too old: 25.0 or newer is needed")
        with pytest.raises(EngineError, match=r"Docker Engine 24\.0\.9 is too old: 25\.0"):
            ping(Endpoint(f"unix://{socket_path}", "DOCKER_HOST"), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
