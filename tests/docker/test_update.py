"""stagekit update on the suite's engine (issue 16): the project committed as made by stagekit
0.1.0 (scaffold revision 1.0.0), with a local handler and its test, updated to the current
scaffold, passes ``stagekit smoke``, and the new handler answers in the release image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stagekit.cli.main import main
from stagekit.model import Language
from stagekit.model.catalog import builtin

from tests.docker.support import (
    SESSION_ARGS,
    get_json,
    host_port,
    run_smoke,
    running,
    wait_for_json,
)
from tests.helpers import REPO, host_versions

pytestmark = pytest.mark.docker

FIXTURE = REPO / "tests" / "fixtures" / "update" / "go-1.0.0"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
PING = """\
package server

import "net/http"

// ping is the service's own handler, added after generation.
func ping(w http.ResponseWriter, _ *http.Request) {
\twriteJSON(w, http.StatusOK, map[string]string{"pong": "fixture-svc"})
}
"""
PING_TEST = """\
package server

import (
\t"net/http"
\t"net/http/httptest"
\t"strings"
\t"testing"
)

func TestPing(t *testing.T) {
\trec := httptest.NewRecorder()
\tping(rec, httptest.NewRequest(http.MethodGet, "/ping", nil))
\tif rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "pong") {
\t\tt.Fatalf("ping: %d %s", rec.Code, rec.Body.String())
\t}
}
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def test_a_1_0_0_project_with_a_local_handler_updates_and_passes_smoke(
    tmp_path: Path,
    buildable: Callable[[str, str], str | None],
    build: Callable[..., Any],
    docker_client: Any,
) -> None:
    reason = buildable("go", "scratch")
    if reason is not None:
        pytest.skip(reason)
    version = host_versions()[Language.GO]
    assert version in builtin(Language.GO).versions  # buildable() said so
    project = tmp_path / "fixture-svc"
    shutil.copytree(FIXTURE, project)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "made by stagekit 0.1.0")
    server = project / "internal" / "server" / "server.go"
    server.write_text(
        server.read_text().replace(
            '\tmux.HandleFunc("GET /hello", hello)\n',
            '\tmux.HandleFunc("GET /hello", hello)\n\tmux.HandleFunc("GET /ping", ping)\n',
        )
    )
    (project / "internal" / "server" / "ping.go").write_text(PING)
    (project / "internal" / "server" / "ping_test.go").write_text(PING_TEST)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a handler of our own")

    assert main(["update", str(project), "--no-lint", "--set", f"version={version}"]) == 0
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["record_schema"] == 2
    assert record["scaffold"]["version"] == builtin(Language.GO).scaffold_version
    assert record["answers"]["version"] == version
    assert 'HandleFunc("GET /ping", ping)' in server.read_text()
    assert (project / "internal" / "server" / "ping_test.go").is_file()

    code, report, stderr = run_smoke(project, *SESSION_ARGS, "--max-size", "500MB", "--clean")
    assert code == 0, f"smoke failed: {report.get('failures')}\n{stderr[-2000:]}"

    outcome = build(project, "release", "stagekit-test/update-fixture:release")
    assert outcome.ok, outcome.log[-3000:]
    with running(
        docker_client,
        "stagekit-test/update-fixture:release",
        ports={"8080/tcp": ("127.0.0.1", None)},
        read_only=True,
        cap_drop=["ALL"],
    ) as container:
        port = host_port(container, 8080)
        wait_for_json(f"http://127.0.0.1:{port}/healthz", 15)
        assert get_json(f"http://127.0.0.1:{port}/ping") == (200, {"pong": "fixture-svc"})
    docker_client.images.remove("stagekit-test/update-fixture:release", force=True)
