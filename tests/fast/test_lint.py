"""`stagekit.lint`: a known-good project passes every check; each check fails on known-bad input.

The project here is written by the test (not rendered from a scaffold), so these tests hold the
checks themselves to account whatever state the scaffolds are in; test_quality_gates.py runs the
same checks over every rendered combination.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from stagekit.errors import NotAProjectError
from stagekit.lint import dockerfile as dc
from stagekit.lint import dockerfile_parse as dp
from stagekit.lint.run import (
    CHECKS,
    Finding,
    LintReport,
    format_report,
    jinja_leftovers,
    lint,
    publish_problems,
)

from tests.helpers import lint_tools

GOOD: dict[str, str] = {
    "Dockerfile": """\
        # demo-svc: four stages
        ARG GO_VERSION=1.26
        ARG DEBUG_IMAGE=gcr.io/distroless/static-debian13:debug-nonroot

        FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-trixie AS build
        WORKDIR /src
        COPY go.mod ./
        RUN --mount=type=cache,target=/go/pkg/mod \\
            --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt \\
            go mod download
        COPY . .
        ARG SOURCE_DATE_EPOCH=0
        RUN --mount=type=cache,target=/go/pkg/mod \\
            CGO_ENABLED=0 go build -trimpath -o /out/app . \\
         && touch -d "@${SOURCE_DATE_EPOCH}" /out/app

        FROM build AS test
        RUN go vet ./... && go test ./...

        FROM ${DEBUG_IMAGE} AS debug
        COPY --from=build /out/app /app
        USER 65532:65532
        ENTRYPOINT ["/app"]

        FROM scratch AS release
        ARG VERSION=0.1.0
        ARG REVISION=unknown
        ARG CREATED=1970-01-01T00:00:00Z
        ARG SOURCE_URL=
        LABEL org.opencontainers.image.title="demo-svc" \\
              org.opencontainers.image.description="A \\"quoted\\" {% raw %} service" \\
              org.opencontainers.image.source="${SOURCE_URL}" \\
              org.opencontainers.image.version="${VERSION}" \\
              org.opencontainers.image.revision="${REVISION}" \\
              org.opencontainers.image.created="${CREATED}" \\
              org.opencontainers.image.licenses="Apache-2.0"
        COPY --link --from=build /out/app /app
        ENV PORT=8080
        USER 65532:65532
        EXPOSE 8080
        STOPSIGNAL SIGTERM
        HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --start-interval=1s \\
          CMD ["/app", "healthcheck"]
        ENTRYPOINT ["/app"]
        """,
    "compose.yaml": """\
        services:
          app:
            build: {context: ., target: release}
            ports: ["127.0.0.1:8080:8080"]
            read_only: true
            cap_drop: [ALL]
            security_opt: ["no-new-privileges:true"]
          debug:
            profiles: [debug]
            build: {context: ., target: debug}
            ports:
              - "127.0.0.1:40000:40000"
              - {target: 8080, published: "8080", host_ip: 127.0.0.1}
        """,
    "docker-bake.hcl": """\
        variable "VERSION" {
          default = "0.1.0"
        }
        variable "CA_BUNDLE" {
          default = ""
        }
        group "default" {
          targets = ["release"]
        }
        target "_common" {
          context = "."
          args = { VERSION = VERSION }
          secret = CA_BUNDLE != "" ? ["id=ca_bundle,src=${CA_BUNDLE}"] : []
        }
        target "test" {
          inherits = ["_common"]
          target   = "test"
        }
        target "debug" {
          inherits = ["_common"]
          target   = "debug"
        }
        target "release" {
          inherits = ["_common"]
          target   = "release"
          tags     = ["demo-svc:${VERSION}"]
        }
        target "release-multi" {
          inherits  = ["release"]
          platforms = ["linux/amd64", "linux/arm64"]
        }
        """,
    "Makefile": """\
        IMAGE ?= demo-svc
        CA_BUNDLE ?=
        DOCKER_BUILD ?= docker buildx build
        comma := ,
        BUILD_FLAGS = $(if $(CA_BUNDLE),--secret id=ca_bundle$(comma)src=$(CA_BUNDLE))
        .PHONY: build test debug release run smoke lint clean
        build:
        \t$(DOCKER_BUILD) $(BUILD_FLAGS) --target build .
        test:
        \t$(DOCKER_BUILD) $(BUILD_FLAGS) --target test .
        debug:
        \t$(DOCKER_BUILD) $(BUILD_FLAGS) --target debug -t $(IMAGE):debug .
        \tdocker run --rm -p 127.0.0.1:40000:40000 $(IMAGE):debug
        release:
        \t$(DOCKER_BUILD) $(BUILD_FLAGS) --target release -t $(IMAGE) .
        run: release
        \tdocker run --rm --read-only -p 127.0.0.1:8080:8080 $(IMAGE)
        smoke:
        \tstagekit smoke .
        lint:
        \tstagekit lint .
        clean:
        \t-docker image rm $(IMAGE)
        """,
    ".github/workflows/ci.yml": """\
        name: ci
        on:
          push:
          pull_request:
        jobs:
          image:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: docker/setup-buildx-action@v3
              - uses: docker/build-push-action@v6
                with:
                  target: test
                  cache-from: type=gha
                  cache-to: type=gha,mode=max
              - uses: docker/build-push-action@v6
                with:
                  target: release
                  tags: demo-svc:${{ github.sha }}
                  cache-from: type=gha
                  cache-to: type=gha,mode=max
        """,
    "pyproject.toml": """\
        [project]
        name = "demo-svc"
        description = "A \\"quoted\\" {% raw %} service"
        """,
    ".stagekit.json": json.dumps(
        {"answers": {"description": 'A "quoted" {% raw %} service', "owner": "Team {{ x }}"}}
    ),
    "README.md": '# demo-svc\n\nA "quoted" {% raw %} service, by Team {{ x }}.\n\n'
    "    docker inspect -f '{{.State.Health.Status}}' demo\n",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` (dedented) under ``root``; return ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "demo-svc", GOOD)


def run(project: Path, check: str) -> LintReport:
    return lint(project, tools=lint_tools(), checks=[check])


def messages(report: LintReport) -> str:
    return "\n".join(f"{f.check} {f.location()} {f.severity}: {f.message}" for f in report.findings)


def mutate(project: Path, relative: str, edit: Callable[[str], str]) -> None:
    path = project / relative
    before = path.read_text(encoding="utf-8")
    after = edit(before)
    assert after != before, f"the mutation of {relative} changed nothing"
    path.write_text(after, encoding="utf-8")


def test_the_known_good_project_passes_every_check(good: Path) -> None:
    report = lint(good, tools=lint_tools())
    assert report.findings == [], messages(report)
    assert report.skipped == [], report.skipped
    assert report.checks_run == [c.name for c in CHECKS]
    assert report.ok


# --- each check fails on known-bad input ---------------------------------------------------

BAD_CASES: list[tuple[str, str, Callable[[str], str], str]] = [
    # (check, file, mutation, a substring the finding must contain)
    ("hadolint", "Dockerfile", lambda t: t.replace("WORKDIR /src", "RUN cd /src"), "DL3003"),
    ("hadolint", "Dockerfile", lambda t: t + "CMD /app serve\n", "DL3025"),
    ("dockerfile", "Dockerfile", lambda t: "# syntax=docker/dockerfile:1\n" + t, "syntax"),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("AS test", "AS tests"),
        "missing stage 'test'",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t + "FROM build AS extra\n",
        "release must be the last stage",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("FROM build AS test", "FROM golang:1.26-trixie AS test"),
        "must be built FROM build",
    ),
    ("dockerfile", "Dockerfile", lambda t: t.replace("AS debug", "AS scratch"), "named 'scratch'"),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("golang:${GO_VERSION}-trixie AS", "golang AS"),
        "no tag",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("debug-nonroot\n", "latest\n"),
        "tag latest",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("COPY . .", "COPY --from=ghcr.io/astral-sh/uv /uv /bin/\nCOPY . ."),
        "no tag",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("ARG GO_VERSION=1.26", "ARG GO_VERSION"),
        "no default value",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("USER 65532:65532\nEXPOSE", "USER 0:0\nEXPOSE"),
        "runs as root",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("USER 65532:65532\nEXPOSE", "USER nonroot\nEXPOSE"),
        "must be numeric",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("USER 65532:65532\nEXPOSE", "EXPOSE"),
        "sets no USER",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace('ENTRYPOINT ["/app"]\n', "ENTRYPOINT /app\n").replace(
            "USER 65532:65532\nENTRYPOINT /app\n", 'USER 65532:65532\nENTRYPOINT ["/app"]\n', 1
        ),
        "ENTRYPOINT must be exec form",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace('CMD ["/app", "healthcheck"]', "CMD /app healthcheck"),
        "HEALTHCHECK must be exec form",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace(" --start-interval=1s", ""),
        "HEALTHCHECK lacks --start-interval",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("--interval=10s", "--interval=often"),
        "is no duration",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace(
            "--interval=10s --timeout=3s --start-period=15s --start-interval=1s \\\n"
            '  CMD ["/app", "healthcheck"]',
            "NONE",
        ),
        "HEALTHCHECK NONE",
    ),
    ("dockerfile", "Dockerfile", lambda t: t.replace("EXPOSE 8080\n", ""), "EXPOSE"),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("STOPSIGNAL SIGTERM", 'RUN ["/app", "migrate"]\nSTOPSIGNAL SIGTERM'),
        "RUN in the release stage",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace(' \\\n      org.opencontainers.image.licenses="Apache-2.0"', ""),
        "org.opencontainers.image.licenses",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("ARG SOURCE_URL=", "ARG GITHUB_TOKEN="),
        "GITHUB_TOKEN looks like a secret",
    ),
    (
        "dockerfile",
        "Dockerfile",
        lambda t: t.replace("ENV PORT=8080", "ENV PORT=8080 DB_PASSWORD=x"),
        "DB_PASSWORD looks like a secret",
    ),
    ("dockerfile", "Dockerfile", lambda t: t.replace("WORKDIR /src", "WORKDIRR /src"), "unknown"),
    ("compose", "compose.yaml", lambda t: t.replace("read_only: true", "read_only: maybe"), ""),
    ("compose", "compose.yaml", lambda t: t.replace("build: {", "biuld: {", 1), "biuld"),
    (
        "compose-ports",
        "compose.yaml",
        lambda t: t.replace('"127.0.0.1:40000:40000"', '"40000:40000"'),
        "40000:40000",
    ),
    (
        "compose-ports",
        "compose.yaml",
        lambda t: t.replace("host_ip: 127.0.0.1", "host_ip: 0.0.0.0"),
        "every interface",
    ),
    (
        "compose-ports",
        "compose.yaml",
        lambda t: t.replace("read_only: true", "read_only: true\n    network_mode: host"),
        "network_mode host",
    ),
    ("bake", "docker-bake.hcl", lambda t: t.replace('target   = "test"\n', ""), "'test'"),
    (
        "bake",
        "docker-bake.hcl",
        lambda t: t.replace('"release-multi"', '"release-all"'),
        "release-multi",
    ),
    ("bake", "docker-bake.hcl", lambda t: t.replace(', "linux/arm64"', ""), "linux/arm64"),
    (
        "bake",
        "docker-bake.hcl",
        lambda t: t.replace('targets = ["release"]', 'targets = ["test"]'),
        "default",
    ),
    ("bake", "docker-bake.hcl", lambda t: t.replace("}\n", "", 1), "bake --print"),
    (
        "bake",
        "docker-bake.hcl",
        lambda t: t.replace(
            'CA_BUNDLE != "" ? ["id=ca_bundle,src=${CA_BUNDLE}"]',
            'true ? ["id=ca_bundle,src=docker-bake.hcl"]',
        ),
        "although CA_BUNDLE is unset",
    ),
    (
        "bake",
        "docker-bake.hcl",
        lambda t: t.replace('CA_BUNDLE != "" ?', "false ?"),
        "with CA_BUNDLE set, target(s) test, debug, release lack",
    ),
    ("makefile", "Makefile", lambda t: t.replace("clean:", "tidy:"), "make clean does nothing"),
    (
        "makefile",
        "Makefile",
        lambda t: t.replace("build:\n", "build: missing-file\n"),
        "make -n build",
    ),
    (
        "makefile",
        "Makefile",
        lambda t: t.replace("id=ca_bundle$(comma)src=", "id=ca_bundle,src="),
        "lack --secret id=ca_bundle",
    ),
    (
        "makefile",
        "Makefile",
        lambda t: t.replace("BUILD_FLAGS = $(if $(CA_BUNDLE),", "BUILD_FLAGS = $(if x,"),
        "although CA_BUNDLE is unset",
    ),
    (
        "makefile",
        "Makefile",
        lambda t: t.replace("-p 127.0.0.1:40000:40000", "-p 40000:40000"),
        "40000",
    ),
    ("makefile", "Makefile", lambda t: t.replace("--read-only -p 127.0.0.1:8080:8080", "-P"), "-P"),
    ("actionlint", ".github/workflows/ci.yml", lambda t: t.replace("runs-on", "run-on"), "runs-on"),
    (
        "actionlint",
        ".github/workflows/ci.yml",
        lambda t: t.replace("github.sha", "github.shaa"),
        "shaa",
    ),
    ("workflow", ".github/workflows/ci.yml", lambda t: t.replace("runs-on", "run-on"), "runs-on"),
    ("workflow", ".github/workflows/ci.yml", lambda t: t.replace("@v4", ""), "not pinned"),
    (
        "workflow",
        ".github/workflows/ci.yml",
        lambda t: t.replace("target: test", "target: tests"),
        "'test'",
    ),
    (
        "workflow",
        ".github/workflows/ci.yml",
        lambda t: t.replace("type=gha,mode", "type=local,mode"),
        "gha",
    ),
    ("parse", "pyproject.toml", lambda t: t.replace('"demo-svc"', '"demo-svc'), "TOML"),
    ("parse", "compose.yaml", lambda t: t.replace("cap_drop: [ALL]", "cap_drop: [ALL"), "YAML"),
    ("parse", ".stagekit.json", lambda t: t.replace("{", "{,", 1), "JSON"),
    (
        "leftovers",
        "README.md",
        lambda t: t + "{{ cookiecutter.project_name }}\n",
        "unrendered cookiecutter variable",
    ),
    ("leftovers", "README.md", lambda t: t + "{% if x %}\n", "unrendered Jinja block"),
    ("leftovers", "Makefile", lambda t: t + "# {# a note #}\n", "unrendered Jinja comment"),
    ("update", "README.md", lambda t: t + "<<<<<<< ours\n", "conflict marker left"),
]


@pytest.mark.parametrize(
    ("check", "relative", "edit", "expected"),
    BAD_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CASES)],
)
def test_each_check_fails_on_known_bad_input(
    good: Path, check: str, relative: str, edit: Callable[[str], str], expected: str
) -> None:
    assert run(good, check).findings == [], "the good project must pass before the mutation"
    mutate(good, relative, edit)
    report = run(good, check)
    assert report.checks_run == [check], report.skipped
    assert report.findings, f"{check} found nothing"
    assert any(expected in f.message or expected in f.path for f in report.findings), messages(
        report
    )
    assert all(f.check == check for f in report.findings)


BAKE_MAKEFILE = """\
    DOCKER ?= docker
    CA_BUNDLE ?=
    export CA_BUNDLE
    BAKE = $(DOCKER) buildx bake -f docker-bake.hcl
    .PHONY: build test debug release run smoke lint clean
    build:
    \t$(BAKE) build
    test:
    \t$(BAKE) test
    debug:
    \t$(BAKE) --load debug
    \t$(DOCKER) run --rm -p 127.0.0.1:40000:40000 demo-svc:debug
    release:
    \t$(BAKE) --load release
    run: release
    \t$(DOCKER) run --rm --read-only -p 127.0.0.1:8080:8080 demo-svc
    smoke: release
    \t$(DOCKER) run -d --read-only -p 127.0.0.1::8080 demo-svc
    lint:
    \tstagekit lint .
    clean:
    \t-$(DOCKER) image rm demo-svc
    """

BAKE_WORKFLOW = """\
    name: ci
    on: [push]
    jobs:
      image:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - uses: docker/bake-action@v6
            with:
              source: .
              targets: test
              set: |
                test.cache-from=type=gha,scope=test
                test.cache-to=type=gha,scope=test,mode=max
          - uses: docker/bake-action@v6
            with:
              source: .
              targets: release
              load: true
              set: |
                *.cache-from=type=gha
                *.cache-to=type=gha,mode=max
          - run: make smoke-image
    """


def test_a_makefile_that_builds_through_bake_passes(good: Path) -> None:
    """Build arguments and the CA secret are then bake's: check_bake judges them."""
    (good / "Makefile").write_text(textwrap.dedent(BAKE_MAKEFILE), encoding="utf-8")
    assert run(good, "makefile").findings == []
    assert run(good, "bake").findings == []


def test_a_workflow_that_builds_through_bake_action(good: Path) -> None:
    workflow = good / ".github/workflows/ci.yml"
    workflow.write_text(textwrap.dedent(BAKE_WORKFLOW), encoding="utf-8")
    assert run(good, "workflow").findings == []
    workflow.write_text(
        textwrap.dedent(BAKE_WORKFLOW).replace("*.cache-from=type=gha", "*.cache-from=type=local"),
        encoding="utf-8",
    )
    found = run(good, "workflow").findings
    assert [(f.severity, f.message) for f in found] == [
        ("warning", "the build of target 'release' has no cache-from/cache-to type=gha")
    ]
    workflow.write_text(
        textwrap.dedent(BAKE_WORKFLOW).replace("targets: test", "targets: lint"), encoding="utf-8"
    )
    found = run(good, "workflow").findings
    assert any("builds target 'test'" in f.message and f.severity == "error" for f in found)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cookiecutter.json", "{}"),
        ("local_extensions.py", ""),
        ("pkg/__pycache__/x.cpython-311.pyc", ""),
        ("{{cookiecutter.project_name}}/main.go", "package main\n"),
    ],
)
def test_leftovers_finds_stray_files(good: Path, name: str, content: str) -> None:
    write_tree(good, {name: content})
    report = run(good, "leftovers")
    assert not report.ok and report.findings, messages(report)


def test_every_registered_check_has_a_known_bad_case() -> None:
    covered = {case[0] for case in BAD_CASES}
    assert covered == {c.name for c in CHECKS}


# --- skips, missing files, failures of the tools themselves ----------------------------------


def test_a_missing_tool_is_skipped_with_its_reason(good: Path) -> None:
    report = lint(good, tools={"hadolint": None, "actionlint": None, "docker": None})
    assert dict(report.skipped).keys() == {"hadolint", "actionlint", "compose", "bake"}
    assert "hadolint not found" in dict(report.skipped)["hadolint"]
    assert "skipped hadolint: hadolint not found" in format_report(report)
    assert report.ok  # skips are reported, not failures


def test_missing_dockerfile_is_an_error_and_other_missing_files_skip(tmp_path: Path) -> None:
    report = lint(tmp_path, tools=lint_tools())
    assert not report.ok
    assert [f.message for f in report.errors] == ["no Dockerfile in the project"]
    skipped = dict(report.skipped)
    assert "Dockerfile not found" in skipped["hadolint"]
    assert "compose.yaml not found" in skipped["compose"]
    assert "no workflow" in skipped["workflow"]


def test_a_tool_that_hangs_or_crashes_is_an_error_not_a_pass(good: Path, tmp_path: Path) -> None:
    crash = tmp_path / "crash"
    crash.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    crash.chmod(0o755)
    report = lint(good, tools={"hadolint": str(crash)}, checks=["hadolint"])
    assert not report.ok and "boom" in report.errors[0].message


def test_unknown_check_names_and_missing_folders_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError, match="unknown check"):
        lint(tmp_path, checks=["nope"])
    with pytest.raises(NotAProjectError, match="not a folder"):
        lint(tmp_path / "absent")


def test_report_renders_as_text_and_json(tmp_path: Path) -> None:
    report = LintReport(
        tmp_path,
        [
            Finding("hadolint", "Dockerfile", 3, "DL3008 Pin versions"),
            Finding("dockerfile", "Dockerfile", None, "no STOPSIGNAL", "warning"),
        ],
        ["hadolint", "dockerfile"],
        [("actionlint", "actionlint not found")],
    )
    text = format_report(report)
    assert "Dockerfile:3: error: [hadolint] DL3008 Pin versions" in text
    assert "Dockerfile: warning: [dockerfile] no STOPSIGNAL" in text
    assert "skipped actionlint: actionlint not found" in text
    assert text.splitlines()[-1].startswith("lint FAILED: 2 check(s) run, 1 skipped, 1 error(s)")
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["skipped"] == [
        {"check": "actionlint", "reason": "actionlint not found"}
    ]
    assert data["findings"][0] == {
        "check": "hadolint",
        "path": "Dockerfile",
        "line": 3,
        "message": "DL3008 Pin versions",
        "severity": "error",
    }
    warning_only = LintReport(tmp_path, [report.findings[1]], ["dockerfile"], [])
    assert warning_only.ok and "lint passed" in format_report(warning_only)


# --- the pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("docker run -p 127.0.0.1:8080:8080 img", False),
        ("docker run -p 127.0.0.1::8080 img", False),
        ("docker run --publish=[::1]:8080:8080 img", False),
        ("docker run -p8080:8080 img", True),
        ("docker run --publish 0.0.0.0:8080:8080 img", True),
        ("docker container run -P img", True),
        ("docker build -p 8080 .", False),  # not a run
    ],
)
def test_publish_problems(command: str, bad: bool) -> None:
    assert bool(publish_problems(command)) is bad


def test_jinja_leftovers_ignore_github_expressions_go_templates_and_the_users_text() -> None:
    clean = "run: echo ${{ github.sha }} ${#arr[@]}\n-f '{{.State.Health.Status}}'\n"
    assert jinja_leftovers(clean) == []
    assert jinja_leftovers("a {% if %}\n") == [(1, "unrendered Jinja block ({% ... %})")]
    assert jinja_leftovers('description = "x {% y %}"', ['"x {% y %}"']) == []


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("GITHUB_TOKEN", True),
        ("API_KEY", True),
        ("aws_secret_access_key", True),
        ("PRIVATE_KEY_PATH", True),
        ("NPM_AUTH", True),
        ("GPG_KEY", False),
        ("TOKENIZER_MODEL", False),
        ("SOURCE_DATE_EPOCH", False),
        ("CA_BUNDLE", False),
    ],
)
def test_secret_like_names(name: str, secret: bool) -> None:
    assert dc.secret_like(name) is secret


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("scratch", None),
        ("golang:1.26-trixie", None),
        ("localhost:5000/golang:1.26", None),
        ("localhost:5000/golang", "no tag"),
        ("gcr.io/distroless/static-debian13", "no tag"),
        ("gcr.io/distroless/static-debian13:latest", "latest"),
        ("alpine@sha256:" + "0" * 64, None),
    ],
)
def test_image_problem(reference: str, problem: str | None) -> None:
    found = dc.image_problem(reference)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_expand_and_unquote() -> None:
    args = {"V": "1.26", "EMPTY": "", "NONE": None}
    assert dp.expand("golang:${V}-trixie", args) == "golang:1.26-trixie"
    assert dp.expand("x:$V", args) == "x:1.26"
    assert dp.expand("x:${EMPTY:-3}", args) == "x:3"
    assert dp.expand("x:${NONE}", args) is None
    assert dp.expand("x:${MISSING}", args) is None
    assert dp.unquote('"a \\"b\\" \\$c \\d"') == 'a "b" $c \\d'
    assert dp.unquote("'a \\b'") == "a \\b"


def test_tool_output_and_caches_are_not_read(good: Path) -> None:
    write_tree(
        good,
        {
            "target/debug/bad.json": "{",
            ".venv/lib/site.toml": "= broken",
            ".git/info.yaml": "a: [",
            "node_modules/x/{{cookiecutter.name}}.js": "{% x %}",
        },
    )
    report = lint(good, tools=lint_tools(), checks=["parse", "leftovers"])
    assert report.findings == [], messages(report)
