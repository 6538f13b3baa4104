"""stagekit smoke without an engine: options, judgements, the image filesystem, the report."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from stagekit.cli import smoke as cli_smoke
from stagekit.contract import Stage
from stagekit.engine.imagefs import FsEntry
from stagekit.engine.loopback import PortInUseError, check_port_free, http_status, tcp_accepts
from stagekit.errors import NotAProjectError, ValidationError
from stagekit.model import Base
from stagekit.model.project import load_project
from stagekit.smoke.checks import (
    SIZE_ALLOWANCE,
    CheckResult,
    Payload,
    find_shells,
    format_bytes,
    judge_entrypoint,
    judge_exposed,
    judge_healthcheck,
    judge_labels,
    judge_layers,
    judge_no_shell,
    judge_payload,
    judge_size_budget,
    judge_user,
    lint_check,
    parse_size,
    skipped,
)
from stagekit.smoke.output import make_console, render_report, verdict
from stagekit.smoke.report import SmokeOptions, SmokeReport, StageResult
from stagekit.smoke.run import _failure_line, _Run, build_args
from stagekit.smoke.runtime import scaled_healthcheck

from tests.helpers import render_project

# --- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50MB", 50_000_000),
        ("12MiB", 12 * 2**20),
        ("123456", 123_456),
        ("1.5GB", 1_500_000_000),
        ("700kB", 700_000),
        ("2 KiB", 2048),
        ("10b", 10),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["50M", "12m", "abc", "", "-5MB", "0", "5 parsecs"])
def test_parse_size_refuses_ambiguous_or_wrong(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_size(text)
    assert "max-size" in str(info.value)


def test_format_bytes() -> None:
    assert format_bytes(None) == "-"
    assert format_bytes(12) == "12 B"
    assert format_bytes(1_390_000) == "1.39 MB"
    assert format_bytes(950_000) == "950 kB"
    assert format_bytes(-20_000) == "-20 kB"


# --- judging inspect data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "ok", "words"),
    [
        ("65532:65532", True, "USER 65532:65532"),
        ("1000", True, "USER 1000"),
        ("", False, "runs as root"),
        (None, False, "runs as root"),
        ("0", False, "runs as root"),
        ("0:0", False, "runs as root"),
        ("root", False, "not numeric"),
        ("nonroot:nonroot", False, "not numeric"),
        ("65532:0", False, "root group"),
    ],
)
def test_judge_user(user: str | None, ok: bool, words: str) -> None:
    check = judge_user(user)
    assert check.ok is ok and words in check.detail


def test_judge_entrypoint() -> None:
    assert judge_entrypoint(["/usr/local/bin/app"]).ok
    assert not judge_entrypoint(None).ok
    shell = judge_entrypoint(["/bin/sh", "-c", "/app"])
    assert not shell.ok and "shell form" in shell.detail


def test_judge_exposed() -> None:
    assert judge_exposed({"8080/tcp": {}}, 8080).ok
    assert "no EXPOSE" in judge_exposed(None, 8080).detail
    assert "not the answered port 8080" in judge_exposed({"9090/tcp": {}}, 8080).detail
    both = judge_exposed({"8080/tcp": {}, "40000/tcp": {}}, 8080)
    assert not both.ok and "more than" in both.detail


def test_judge_healthcheck() -> None:
    good = judge_healthcheck(
        {"Test": ["CMD", "/app", "healthcheck"], "Interval": 10_000_000_000, "StartPeriod": 15e9}
    )
    assert good.ok and "interval 10s" in good.detail and "start-period 15s" in good.detail
    assert not judge_healthcheck(None).ok
    assert not judge_healthcheck({"Test": ["NONE"]}).ok
    shell = judge_healthcheck({"Test": ["CMD-SHELL", "curl -f localhost"]})
    assert not shell.ok and "needs a shell" in shell.detail


def _labels(**override: str) -> dict[str, str]:
    keys = ("title", "description", "source", "version", "revision", "created", "licenses")
    labels = {f"org.opencontainers.image.{k}": "x" for k in keys}
    labels["org.opencontainers.image.created"] = "2023-11-14T22:13:20Z"
    labels.update(override)
    return labels


def test_judge_labels() -> None:
    assert judge_labels(_labels(), "2023-11-14T22:13:20Z").ok
    labels = _labels()
    del labels["org.opencontainers.image.revision"]
    missing = judge_labels(labels)
    assert not missing.ok and "revision" in missing.detail
    wrong = judge_labels(_labels(), "1970-01-01T00:00:00Z")
    assert not wrong.ok and "SOURCE_DATE_EPOCH" in wrong.detail
    assert judge_labels(_labels()).ok  # a prebuilt image: any RFC 3339 time
    garbled = judge_labels(_labels(**{"org.opencontainers.image.created": "yesterday"}))
    assert not garbled.ok and "RFC 3339" in garbled.detail


def test_judge_layers() -> None:
    copies = [{"CreatedBy": "COPY /out/ / # buildkit"}, {"CreatedBy": "LABEL a=b"}]
    assert judge_layers(3, copies, 1).ok
    assert "base 1 + 2 added" in judge_layers(3, copies, 1).detail
    runs = [*copies, {"CreatedBy": "RUN /bin/sh -c apk add curl # buildkit"}]
    assert not judge_layers(4, runs, 1).ok
    with_args = [{"CreatedBy": "|1 X=1 /bin/sh -c make"}]
    assert not judge_layers(2, with_args, 0).ok
    legacy = [{"CreatedBy": "/bin/sh -c #(nop)  COPY file:abc in / "}]
    assert judge_layers(1, legacy, 0).ok
    assert judge_layers(3, copies, None).skipped


def test_size_checks() -> None:
    assert judge_size_budget(10, None).skipped
    assert judge_size_budget(10_000_000, 50_000_000).ok
    over = judge_size_budget(60_000_000, 50_000_000)
    assert not over.ok and "over 50 MB" in over.detail

    def payload(image: int, app: int, base: int = 0, missing: tuple[str, ...] = ()) -> Payload:
        return Payload(("/app",), app, image, "b" if base else None, base, missing)

    assert judge_payload(payload(1_400_000, 1_390_000)).ok  # scratch: the binary + a few kB
    assert not judge_payload(payload(1_390_000 + SIZE_ALLOWANCE + 1, 1_390_000)).ok
    assert judge_payload(payload(3_000_000 + 2_000_000, 3_000_000, base=2_000_000)).ok
    assert payload(5, 3).overhead == 2
    gone = judge_payload(payload(5, 0, missing=("/app",)))
    assert not gone.ok and "/app" in gone.detail


def test_judge_no_shell() -> None:
    assert judge_no_shell(Base.ALPINE, ["/bin/sh"]).skipped
    clean = judge_no_shell(Base.SCRATCH, [], {"sh": "refused", "/bin/sh": "refused"})
    assert clean.ok and "refused" in clean.detail
    found = judge_no_shell(Base.DISTROLESS, ["/busybox/sh", "/busybox/busybox"])
    assert not found.ok and "/busybox/sh" in found.detail
    ran = judge_no_shell(Base.DISTROLESS, [], {"sh": "ran", "/bin/sh": "exit 2"})
    assert not ran.ok and ran.detail == "a shell started: sh (ran), /bin/sh (exit 2)"
    odd = judge_no_shell(Base.SCRATCH, [], {"sh": "refused", "/bin/sh": "start failed (oom)"})
    assert odd.ok and "exec of sh refused; /bin/sh: start failed (oom)" in odd.detail


# --- shells in the image filesystem ----------------------------------------------------------


def test_find_shells() -> None:
    entries = {
        "/busybox": FsEntry("dir"),
        "/busybox/sh": FsEntry("symlink", 0, "busybox"),
        "/busybox/busybox": FsEntry("file", 10),
        "/usr/share/sh": FsEntry("dir"),  # a folder named sh is no shell
        "/bin/bash": FsEntry("file", 10),
    }
    assert find_shells(entries) == ["/bin/bash", "/busybox/busybox", "/busybox/sh"]


# --- loopback ----------------------------------------------------------------------------------


def _server(behaviour: str) -> tuple[socket.socket, threading.Thread]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            if behaviour == "hold":
                conn.settimeout(3)
                with contextlib.suppress(OSError):
                    conn.recv(1)
            elif behaviour == "greet":
                conn.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(("behaviour", "ok"), [("hold", True), ("greet", True), ("close", False)])
def test_tcp_accepts(behaviour: str, ok: bool) -> None:
    listener, thread = _server(behaviour)
    with listener:
        accepted, why = tcp_accepts(listener.getsockname()[1], hold=0.5)
        thread.join(5)
    assert accepted is ok, why


def test_tcp_accepts_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    accepted, why = tcp_accepts(port)
    assert not accepted and "connect" in why


def test_check_port_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            check_port_free(port)
    assert f"127.0.0.1:{port} is already in use" in info.value.message
    assert "--host-port" in (info.value.hint or "")
    check_port_free(port)  # free again once closed


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/healthz" else 500
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status":"ok"}' if status == 200 else b"broken")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_status_ignores_proxies(http_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # would break a proxy-aware client
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert http_status(http_server, "/healthz") == (200, '{"status":"ok"}')
    assert http_status(http_server, "/broken") == (500, "broken")


# --- options -----------------------------------------------------------------------------------


def test_options_normalize_and_validate(tmp_path: Path) -> None:
    options = SmokeOptions(tmp_path, stages=(Stage.RELEASE, Stage.TEST, Stage.RELEASE))
    assert options.stages == (Stage.TEST, Stage.RELEASE)
    with pytest.raises(ValidationError, match="contradict"):
        SmokeOptions(tmp_path, keep=True, clean=True)
    with pytest.raises(ValidationError, match="build"):
        SmokeOptions(tmp_path, stages=(Stage.BUILD,))
    with pytest.raises(ValidationError):
        SmokeOptions(tmp_path, stages=())
    with pytest.raises(ValidationError, match="timeout"):
        SmokeOptions(tmp_path, timeout=0)
    with pytest.raises(ValidationError, match="image-prefix"):
        SmokeOptions(tmp_path, image_prefix="Bad Prefix")
    with pytest.raises(ValidationError, match="build-arg"):
        SmokeOptions(tmp_path, build_args={"NOT VALID": "x"})
    assert SmokeOptions(tmp_path, image_prefix="ci/stagekit-smoke").image_prefix


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stagekit")
    sub = parser.add_subparsers(dest="command")
    cli_smoke.register(sub)
    return parser.parse_args(["smoke", *argv])


def test_cli_options(tmp_path: Path) -> None:
    args = _parse(
        str(tmp_path),
        "--stage", "release", "--stage", "test",
        "--max-size", "50MB", "--timeout", "30", "--json", "--no-lint", "--keep",
        "--build-arg", "VERSION=1.2.3", "--build-arg", "REVISION=abc=def",
        "--ca-bundle", "corp.pem", "--host-port", "18080", "--no-cache",
        "--image", "release=app:1.2", "--image", "test=reg.example/app:test",
    )  # fmt: skip
    options = cli_smoke.options_from_args(args)
    assert options.project == tmp_path
    assert options.stages == (Stage.TEST, Stage.RELEASE)
    assert options.max_size == 50_000_000
    assert options.timeout == 30.0
    assert options.lint is False and options.keep is True and options.clean is False
    assert options.no_cache is True and options.host_port == 18080
    assert options.ca_bundle == Path("corp.pem")
    assert dict(options.build_args) == {"VERSION": "1.2.3", "REVISION": "abc=def"}
    assert args.json is True
    assert dict(options.prebuilt) == {
        Stage.RELEASE: "app:1.2",
        Stage.TEST: "reg.example/app:test",
    }


def test_cli_defaults() -> None:
    options = cli_smoke.options_from_args(_parse())
    assert options.project == Path()
    assert options.stages == (Stage.TEST, Stage.DEBUG, Stage.RELEASE)
    assert (options.keep, options.clean, options.lint, options.max_size) == (
        False,
        False,
        True,
        None,
    )
    assert options.timeout == 120.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--keep", "--clean"], "not allowed with argument"),
        (["--max-size", "50M"], "is not a size"),
        (["--stage", "build"], "invalid choice"),
        (["--timeout", "-1"], "not within"),
    ],
)
def test_cli_refuses(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parse(*argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_bad_build_arg() -> None:
    with pytest.raises(ValidationError, match="KEY=VALUE"):
        cli_smoke.options_from_args(_parse("--build-arg", "NOEQUALS"))
    with pytest.raises(ValidationError, match="STAGE=IMAGE"):
        cli_smoke.options_from_args(_parse("--image", "build=x:1"))
    with pytest.raises(ValidationError, match="that stage is not run"):
        cli_smoke.options_from_args(_parse("--stage", "test", "--image", "release=x:1"))


# --- build arguments ---------------------------------------------------------------------------


def test_build_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = SimpleNamespace(path=tmp_path)  # not a git checkout
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    args = build_args(project, {})  # type: ignore[arg-type]
    assert args == {
        "SOURCE_DATE_EPOCH": "1700000000",
        "CREATED": "2023-11-14T22:13:20Z",
        "REVISION": "unknown",
    }
    pinned = build_args(project, {"SOURCE_DATE_EPOCH": "0", "VERSION": "2.0.0"})  # type: ignore[arg-type]
    assert pinned["CREATED"] == "1970-01-01T00:00:00Z" and pinned["VERSION"] == "2.0.0"


def test_build_args_from_git_and_build_args_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "build-args.env").write_text(
        "# org settings\nGOPROXY=https://goproxy.corp.example,direct\nVERSION=from-file\n"
    )
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    env = {**os.environ, "GIT_COMMITTER_DATE": "@1700000000 +0000"}
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    subprocess.run([*git, "tag", "v1.4.0"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    project = SimpleNamespace(path=tmp_path)
    args = build_args(project, {})  # type: ignore[arg-type]
    assert args["SOURCE_DATE_EPOCH"] == "1700000000" and args["REVISION"] == head
    assert args["GOPROXY"] == "https://goproxy.corp.example,direct"
    assert args["VERSION"] == "from-file"  # build-args.env over git, --build-arg over both
    (tmp_path / "build-args.env").unlink()
    assert build_args(project, {})["VERSION"] == "1.4.0"  # type: ignore[arg-type]
    assert build_args(project, {"VERSION": "9"})["VERSION"] == "9"  # type: ignore[arg-type]


def test_failure_line() -> None:
    log = "#12 [test 1/1] RUN go test ./...\n#12 1.2 --- FAIL: TestHello\n#12 ERROR: process "
    log += '"/bin/sh -c go test" did not complete successfully: exit code: 1\n'
    log += 'ERROR: failed to solve: process "/bin/sh -c go test" did not complete successfully'
    assert _failure_line(log) == "`go test` failed (exit code: 1)"
    long = 'ERROR: failed to solve: process "/bin/sh -c apt-get update  && apt-get install -y '
    long += 'gdbserver && rm -rf /var/lib/apt/lists/* && useradd nonroot" did not complete '
    long += "successfully: exit code: 100"
    assert _failure_line(long) == (
        "`apt-get update && apt-get install -y gdbserver && rm -rf /var/lib/apt/lists/* &…`"
        " failed (exit code: 100)"
    )
    missing = "#1 [internal] load build definition\nERROR: failed to solve: target stage "
    missing += '"debug" could not be found'
    assert _failure_line(missing) == 'failed to solve: target stage "debug" could not be found'
    assert _failure_line("") == ""


# --- lint's report as one smoke check ----------------------------------------------------------


def test_lint_report_becomes_one_check(tmp_path: Path) -> None:
    from stagekit.lint.run import Finding, LintReport

    def report(findings: list[Finding]) -> LintReport:
        return LintReport(tmp_path, findings, ["hadolint"], [("actionlint", "not found")])

    errors = [Finding("hadolint", "Dockerfile", 3, f"DL300{i} problem\nmore") for i in range(5)]
    failed = lint_check(report(errors))
    assert failed.failed and failed.detail.startswith("5 error(s): Dockerfile:3: [hadolint] DL3000")
    assert "(+2 more)" in failed.detail and "\n" not in failed.detail
    warning = Finding("compose", "compose.yaml", None, "odd", severity="warning")
    clean = lint_check(report([warning]))
    assert clean.status == "passed" and clean.stage is None
    assert clean.detail == "clean (1 warning(s), 1 lint check(s) skipped)"


def test_lint_that_cannot_run_fails_the_check(tmp_path: Path) -> None:
    """A lint that refuses the project is a failed check, never a passed or skipped one."""
    events: list[Any] = []
    fake = SimpleNamespace(
        emit=events.append,
        project=SimpleNamespace(path=tmp_path / "gone"),
        endpoint=SimpleNamespace(host="unix:///nowhere.sock"),
    )
    check = _Run.lint(fake)  # type: ignore[arg-type]
    assert check.failed and check.detail.startswith("lint could not run: ")


# --- report ------------------------------------------------------------------------------------


def _report(*, build_ok: bool = True, checks: tuple[CheckResult, ...] = ()) -> SmokeReport:
    stages = (
        StageResult(Stage.TEST, True, 3.2, "p/x:test", 900_000_000, "built", 7),
        StageResult(
            Stage.RELEASE,
            build_ok,
            1.0,
            "p/x:release" if build_ok else None,
            2_000_000 if build_ok else None,
            "built" if build_ok else "process did not complete successfully: exit code: 1",
            0,
            "" if build_ok else "--- FAIL: TestHealthz\nFAIL",
        ),
    )
    return SmokeReport(
        project=Path("/tmp/x"),
        name="x",
        language="go",
        base="scratch",
        port=8080,
        run_id="abc",
        engine="unix:///run/docker.sock",
        stages=stages,
        checks=checks,
        payload=Payload(("/usr/local/bin/x",), 1_900_000, 2_000_000, None, 0),
        seconds=9.5,
    )


def test_report_verdicts_and_json() -> None:
    passing = _report(checks=(CheckResult("user", True, "USER 65532:65532"), skipped("lint", "no")))
    assert passing.ok and passing.exit_code == 0 and passing.failures() == []
    data = json.loads(passing.to_json())
    assert data["schema"] == "stagekit.smoke.run/1"
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["summary"] == {"passed": 1, "failed": 0, "skipped": 1}
    assert data["payload"]["overhead"] == 100_000
    assert data["stages"][0] == {
        "stage": "test",
        "ok": True,
        "seconds": 3.2,
        "image": "p/x:test",
        "size": 900_000_000,
        "cached_steps": 7,
        "detail": "built",
        "log_tail": None,
    }
    assert [c["status"] for c in data["checks"]] == ["passed", "skipped"]

    root = _report(checks=(CheckResult("user", False, "USER 0: the container runs as root"),))
    assert not root.ok and root.exit_code == 1
    assert root.failures() == ["user: USER 0: the container runs as root"]

    broken = _report(build_ok=False)
    assert broken.exit_code == 4 and broken.build_failure is not None
    assert broken.failures()[0].startswith("build of stage 'release' failed")
    assert json.loads(broken.to_json())["stages"][1]["log_tail"].endswith("FAIL")


def test_render_report_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    failing = _report(
        checks=(
            CheckResult("healthy", False, "unhealthy after 40.2 s"),
            CheckResult("debug port", True, "ok", Stage.DEBUG),
        )
    )
    render_report(failing, make_console(out))
    text = out.getvalue()
    assert "\x1b[" not in text  # no colour codes when not a terminal / NO_COLOR
    for words in ("stage", "release", "2 MB", "payload 1.9 MB", "overhead 100 kB", "healthy"):
        assert words in text, text
    assert "smoke failed" in text and "unhealthy after 40.2 s" in text

    out = io.StringIO()
    render_report(_report(build_ok=False), make_console(out))
    assert "last lines of the release build log" in out.getvalue()
    assert "--- FAIL: TestHealthz" in out.getvalue()
    assert verdict(_report()).startswith("smoke passed")


def test_cli_run_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import stagekit.smoke.run

    reports = {
        "pass": _report(),
        "check": _report(checks=(CheckResult("user", False, "root"),)),
        "build": _report(build_ok=False),
    }
    for kind, expected in (("pass", 0), ("check", 1), ("build", 4)):
        monkeypatch.setattr(
            stagekit.smoke.run, "smoke", lambda options, report=reports[kind], **kw: report
        )
        assert cli_smoke.run(_parse("--json")) == expected
        data = json.loads(capsys.readouterr().out)
        assert data["exit_code"] == expected
        assert cli_smoke.run(_parse()) == expected
        assert "stagekit smoke: x" in capsys.readouterr().out


# --- loading a project -------------------------------------------------------------------------


def test_load_project(tmp_path: Path) -> None:
    folder = render_project(tmp_path, "go", "scratch", port="9000")
    project = load_project(folder)
    assert project.name == "demo-svc" and project.base is Base.SCRATCH and project.port == 9000
    assert project.health_path == "/healthz" and project.debug_port == 40000
    assert project.images["release"] == "scratch"
    assert project.payload_paths("/usr/local/bin/demo-svc") == ("/usr/local/bin/demo-svc",)


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError) as info:
        load_project(tmp_path)
    assert "has no .stagekit.json" in info.value.message
    assert "stagekit new" in (info.value.hint or "")
    with pytest.raises(NotAProjectError, match="does not exist"):
        load_project(tmp_path / "missing")


def test_not_a_project_inside_one(tmp_path: Path) -> None:
    folder = render_project(tmp_path, "go", "scratch")
    with pytest.raises(NotAProjectError) as info:
        load_project(folder / "cmd")
    assert str(folder) in (info.value.hint or "")


def test_broken_answers_file(tmp_path: Path) -> None:
    folder = render_project(tmp_path, "go", "alpine")
    record = folder / ".stagekit.json"
    data = json.loads(record.read_text())
    del data["catalog"]["debug_port"]
    record.write_text(json.dumps(data))
    with pytest.raises(NotAProjectError, match="debug_port"):
        load_project(folder)
    record.write_text("{not json")
    with pytest.raises(NotAProjectError, match="cannot be read as JSON"):
        load_project(folder)
    record.write_text(json.dumps({**data, "catalog": {**data["catalog"], "debug_port": 40000}}))
    (folder / "Dockerfile").unlink()
    with pytest.raises(NotAProjectError, match="no Dockerfile"):
        load_project(folder)


def test_record_schema(tmp_path: Path) -> None:
    """Today's records carry schema 2 (0.1.0's had none: 1); a newer layout is refused."""
    folder = render_project(tmp_path, "python", "distroless")
    record = folder / ".stagekit.json"
    data = json.loads(record.read_text())
    assert data["record_schema"] == 2
    assert load_project(folder).name == "demo-svc"
    record.write_text(json.dumps({k: v for k, v in data.items() if k != "record_schema"}))
    assert load_project(folder).name == "demo-svc"
    record.write_text(json.dumps({**data, "record_schema": 3}))
    with pytest.raises(NotAProjectError, match="record schema 3") as info:
        load_project(folder)
    assert "upgrade stagekit" in (info.value.hint or "")
    record.write_text(json.dumps({**data, "record_schema": "3"}))
    with pytest.raises(NotAProjectError, match="not a positive integer"):
        load_project(folder)


# --- errors through the CLI (no engine needed) ---------------------------------------------------


def test_cli_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stagekit.cli.main import main

    folder = render_project(tmp_path, "go", "scratch")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert main(["smoke", str(folder), "--no-lint"]) == 3
    err = capsys.readouterr().err
    assert f"Docker Engine at unix://{tmp_path}/no-engine.sock (DOCKER_HOST)" in err
    assert "hint: start Docker" in err


def test_smoke_refuses_a_remote_engine(tmp_path: Path) -> None:
    from stagekit.engine.client import Endpoint
    from stagekit.errors import EngineError

    # Imported the way docs/smoke.md shows the library.
    from stagekit.smoke.run import SmokeOptions as Options
    from stagekit.smoke.run import smoke

    folder = render_project(tmp_path, "go", "scratch")
    with pytest.raises(EngineError, match="remote"):
        smoke(Options(folder), endpoint=Endpoint("tcp://build-box:2376", "DOCKER_HOST"))


def test_cli_not_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stagekit.cli.main import main

    assert main(["smoke", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a stagekit project: it has no .stagekit.json" in err
    assert "stagekit new" in err


def _events() -> list[Any]:
    from stagekit.smoke.report import (
        BuildOutput,
        CheckFinished,
        PhaseStarted,
        StageFinished,
        StageStarted,
    )

    result = StageResult(Stage.TEST, True, 3.2, "p/x:test", 900_000_000, "built", 7)
    return [
        PhaseStarted(None, "lint", "linting the project"),
        CheckFinished(CheckResult("lint", False, "1 error(s): [x] y", stage=None)),
        StageStarted(Stage.TEST, "p/x:test"),
        BuildOutput(Stage.TEST, "#5 [build 2/6] RUN [weird] markup"),
        StageFinished(result),
        PhaseStarted(Stage.RELEASE, "run", "running the release container"),
        CheckFinished(CheckResult("healthy", True, "healthy after 1.3 s")),
    ]


def test_progress_plain_lines() -> None:
    from stagekit.smoke.output import LiveProgress

    out = io.StringIO()
    with LiveProgress(make_console(out)) as progress:
        assert progress.live is False  # not a terminal: no live display
        for event in _events():
            progress(event)
    lines = out.getvalue().splitlines()
    assert lines == [
        "check failed: lint: 1 error(s): [x] y",
        "built test in 3.2 s (900 MB, 7 steps cached)",
    ]


def test_progress_live_draws_every_event() -> None:
    from stagekit.smoke.output import LiveProgress

    out = io.StringIO()
    console = make_console(out, width=100)
    with LiveProgress(console, live=True) as progress:
        for event in _events():
            progress(event)
        tasks = {t.description: t for t in progress.progress.tasks}
    assert tasks["lint failed"].finished and tasks["built test"].finished
    assert not tasks["running the release container"].finished


# --- platform and builder ------------------------------------------------------------------------


def test_platform_and_builder_reach_the_build_command(tmp_path: Path) -> None:
    from stagekit.engine.client import BuildRequest, build_command

    request = BuildRequest(
        tmp_path, "release", "p/x:release", platform="linux/arm64", builder="fleet"
    )
    command = build_command(request, tmp_path / "iid")
    assert command[command.index("--platform") + 1] == "linux/arm64"
    assert command[command.index("--builder") + 1] == "fleet"
    assert "--builder" not in build_command(BuildRequest(tmp_path, "release", "t"), tmp_path / "i")


def test_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="linux/s390x is not one of linux/amd64, linux/arm64"):
        SmokeOptions(tmp_path, platform="linux/s390x")


def test_the_report_says_the_platform_and_the_emulation(tmp_path: Path) -> None:
    from dataclasses import replace

    from rich.console import Console
    from stagekit.smoke.output import render_report

    report = replace(_report(), platform="linux/arm64", emulated=True, timeout_scale=5.0)
    assert report.to_dict()["platform"] == {
        "name": "linux/arm64",
        "emulated": True,
        "timeout_scale": 5.0,
    }
    console = Console(record=True, width=120)
    render_report(report, console)
    assert "platform linux/arm64, run under emulation (QEMU): every wait scaled x5" in (
        console.export_text()
    )


def test_under_emulation_the_images_healthcheck_timings_are_scaled_and_its_command_kept() -> None:
    second = 1_000_000_000
    config = {
        "Healthcheck": {
            "Test": ["CMD", "/app/.venv/bin/python", "-m", "svc.healthcheck"],
            "Interval": 10 * second,
            "Timeout": 3 * second,
            "StartPeriod": 15 * second,
            "StartInterval": 1 * second,
        }
    }
    override = scaled_healthcheck(config, 5.0)["healthcheck"]
    assert override["Test"] == config["Healthcheck"]["Test"]
    assert (override["Interval"], override["Timeout"]) == (50 * second, 15 * second)
    assert (override["StartPeriod"], override["StartInterval"]) == (75 * second, 5 * second)
    assert override.get("Retries") is None  # the engine's default, as the image had it
    assert scaled_healthcheck(config, 1.0) == {}  # native: the image's own timings
    assert scaled_healthcheck({"Healthcheck": None}, 5.0) == {}  # none: the check says so
