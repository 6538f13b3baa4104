"""``stagekit lint``: the quality gates every generated project passes, as a library.

Each check is a small function over a :class:`LintContext` that returns :class:`Finding` values or
raises :class:`CheckSkipError` (its tool or file is missing); :data:`CHECKS` is the plain list they
are registered in, run in order by :func:`lint`. Nothing here prints or exits: the CLI renders the
:class:`LintReport` with :func:`format_report` or :meth:`LintReport.to_json`.

The external tools (hadolint, actionlint, ``docker compose``, ``docker buildx bake``, make) are run
with bounded time, an environment cleaned of variables that would change their verdict, and never
against a Docker Engine: ``compose config`` and ``bake --print`` only parse. See
docs/quality-gates.md for what each check holds a project to and why.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from stagekit import dockerfile_checks
from stagekit.errors import NotAProjectError

Severity = Literal["error", "warning"]

DOCKERFILE = "Dockerfile"
COMPOSE_FILE = "compose.yaml"
BAKE_FILE = "docker-bake.hcl"
MAKEFILE = "Makefile"
WORKFLOWS = ".github/workflows"
ANSWERS_FILE = ".stagekit.json"

MAKE_TARGETS = ("build", "test", "debug", "release", "run", "smoke", "lint", "clean")
BAKE_TARGETS = ("test", "debug", "release", "release-multi")
MULTI_PLATFORMS = ("linux/amd64", "linux/arm64")
#: Folders no check looks into: tool output and caches, not the project's own files.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "target",
        ".cache",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
STRAY_NAMES = frozenset({"cookiecutter.json", "local_extensions.py", "__pycache__"})
TOML_LOCKS = frozenset({"Cargo.lock", "uv.lock", "poetry.lock", "pdm.lock"})
#: Environment variables that would change a tool's verdict; removed before running it.
_SCRUB_PREFIXES = (
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEFILES",
    "COMPOSE_",
    "HADOLINT_",
    "BUILDX_BAKE_",
    "CA_BUNDLE",
    "DOCKER_BUILD",
)
TOOL_TIMEOUT = 60.0

_JINJA = (
    (re.compile(r"\{\{-?\s*cookiecutter"), "unrendered cookiecutter variable"),
    (re.compile(r"\{%|%\}"), "unrendered Jinja block ({% ... %})"),
    (re.compile(r"(?<!\$)\{#.*?#\}"), "unrendered Jinja comment ({# ... #})"),
)


@dataclass(frozen=True)
class Finding:
    """One problem a check found; ``path`` is relative to the project ('' for the project)."""

    check: str
    path: str
    line: int | None
    message: str
    severity: Severity = "error"

    def location(self) -> str:
        where = self.path or "."
        return f"{where}:{self.line}" if self.line else where


@dataclass(frozen=True)
class LintReport:
    """What :func:`lint` found, which checks ran and which were skipped (and why)."""

    project: Path
    findings: list[Finding]
    checks_run: list[str]
    skipped: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        """No error (warnings alone do not fail a lint)."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "ok": self.ok,
            "checks_run": list(self.checks_run),
            "skipped": [{"check": c, "reason": r} for c, r in self.skipped],
            "findings": [asdict(f) for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


class CheckSkipError(Exception):
    """A check cannot run here (its tool or its file is missing); the reason is shown to users."""


class ToolError(Exception):
    """A tool could not give a verdict (it timed out, crashed or printed nothing readable)."""


@dataclass(frozen=True)
class LintContext:
    """What every check gets: the project, the tools found, and how to run them."""

    project: Path
    docker_host: str | None = None
    tools: Mapping[str, str | None] = field(default_factory=dict)
    timeout: float = TOOL_TIMEOUT

    def tool(self, name: str) -> str:
        """The path of a tool, or :class:`CheckSkipError` naming how to get it."""
        path = self.tools[name] if name in self.tools else find_tool(name)
        if not path:
            raise CheckSkipError(f"{name} not found next to {sys.executable} or on PATH")
        return path

    def file(self, relative: str) -> Path:
        path = self.project / relative
        if not path.is_file():
            raise CheckSkipError(f"{relative} not found")
        return path

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool in the project folder, bounded in time, with a cleaned environment."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
        if self.docker_host:
            clean["DOCKER_HOST"] = self.docker_host
        clean["DOCKER_CLI_HINTS"] = "false"
        clean["LC_ALL"] = "C"  # messages such as make's "Nothing to be done" are read
        clean.update(env or {})
        try:
            return subprocess.run(
                list(argv),
                cwd=self.project,
                env=clean,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolError(
                f"{Path(argv[0]).name} did not finish in {self.timeout:.0f} s"
            ) from None
        except OSError as exc:
            raise ToolError(f"cannot run {argv[0]}: {exc}") from None


def find_tool(name: str) -> str | None:
    """A tool installed next to this Python (a venv's ``bin/``), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- 1. hadolint ------------------------------------------------------------------------------


def check_hadolint(ctx: LintContext) -> list[Finding]:
    """hadolint at its default threshold; every finding it reports is an error."""
    ctx.file(DOCKERFILE)
    hadolint = ctx.tool("hadolint")
    # Only the project's own .hadolint.yaml may configure it, never the user's home.
    with tempfile.TemporaryDirectory(prefix="stagekit-hadolint-") as home:
        result = ctx.run(
            [hadolint, "-f", "json", "--no-color", DOCKERFILE],
            env={"HOME": home, "XDG_CONFIG_HOME": home},
        )
    try:
        items = json.loads(result.stdout or "[]")
    except ValueError:
        raise ToolError(
            f"hadolint exited {result.returncode}: {_tail(result.stdout + result.stderr)}"
        ) from None
    if not isinstance(items, list):
        raise ToolError("hadolint printed JSON that is not a list")
    findings = [
        Finding(
            "hadolint", DOCKERFILE, item.get("line"), f"{item.get('code')} {item.get('message')}"
        )
        for item in items
    ]
    if result.returncode not in (0, 1) or (result.returncode == 1 and not findings):
        raise ToolError(f"hadolint exited {result.returncode}: {_tail(result.stderr)}")
    return findings


# --- 2. Dockerfile structure ------------------------------------------------------------------


def check_dockerfile(ctx: LintContext) -> list[Finding]:
    """The staged-Dockerfile contract, on BuildKit's own parse of the file."""
    path = ctx.project / DOCKERFILE
    if not path.is_file():
        return [Finding("dockerfile", DOCKERFILE, None, "no Dockerfile in the project")]
    try:
        import dockerfile  # noqa: F401  (probe: the parser is a compiled extension)
    except ImportError:
        raise CheckSkipError(
            "the Python package 'dockerfile' (BuildKit's parser) is not installed"
        ) from None
    text = path.read_text(encoding="utf-8", errors="replace")
    return [
        Finding("dockerfile", DOCKERFILE, p.line, p.message, p.severity)
        for p in dockerfile_checks.check_dockerfile(text)
    ]


# --- 3. compose.yaml --------------------------------------------------------------------------


def _docker_plugin_missing(result: subprocess.CompletedProcess[str]) -> bool:
    text = result.stderr + result.stdout
    return result.returncode != 0 and (
        "unknown command" in text or "is not a docker command" in text
    )


def check_compose(ctx: LintContext) -> list[Finding]:
    """``docker compose config -q``: the file is valid for Compose v2 (no engine needed)."""
    ctx.file(COMPOSE_FILE)
    docker = ctx.tool("docker")
    result = ctx.run(
        [docker, "compose", "--project-name", "stagekit-lint", "-f", COMPOSE_FILE, "config", "-q"]
    )
    if _docker_plugin_missing(result):
        raise CheckSkipError("the docker compose plugin (Compose v2) is not installed")
    if result.returncode != 0:
        return [
            Finding("compose", COMPOSE_FILE, None, f"docker compose config: {_tail(result.stderr)}")
        ]
    return []


def published_host(spec: Any) -> str | None:
    """The host address of a Compose/``docker run -p`` port spec, or None if it has none."""
    if isinstance(spec, Mapping):
        host = spec.get("host_ip")
        return str(host) if host else None
    text = str(spec).strip()
    if text.startswith("["):
        host, sep, _ = text[1:].partition("]")
        return host if sep else None
    parts = text.split(":")
    return parts[0] if len(parts) >= 3 else None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_compose_ports(ctx: LintContext) -> list[Finding]:
    """Every port compose.yaml publishes is bound to 127.0.0.1 (the debugger is unauthenticated)."""
    path = ctx.file(COMPOSE_FILE)
    data = _load_yaml(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), Mapping):
        return [
            Finding("compose-ports", COMPOSE_FILE, None, "compose.yaml has no services mapping")
        ]
    findings = []
    for name, service in data["services"].items():
        if not isinstance(service, Mapping):
            continue
        if service.get("network_mode") == "host":
            findings.append(
                Finding(
                    "compose-ports",
                    COMPOSE_FILE,
                    None,
                    f"service {name}: network_mode host publishes every port on every interface",
                )
            )
        for spec in service.get("ports") or []:
            if not is_loopback(published_host(spec)):
                shown = json.dumps(spec) if isinstance(spec, Mapping) else str(spec)
                findings.append(
                    Finding(
                        "compose-ports",
                        COMPOSE_FILE,
                        None,
                        f"service {name}: port {shown} is published on every interface; "
                        'bind it to 127.0.0.1 ("127.0.0.1:HOST:CONTAINER")',
                    )
                )
    return findings


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise CheckSkipError(
            f"{path.name} does not parse ({exc.__class__.__name__}; see check 'parse')"
        ) from None


# --- 4. docker-bake.hcl -----------------------------------------------------------------------


def check_bake(ctx: LintContext) -> list[Finding]:
    """``docker buildx bake --print``: the file parses and has the contract's targets."""
    ctx.file(BAKE_FILE)
    docker = ctx.tool("docker")
    result = ctx.run([docker, "buildx", "bake", "-f", BAKE_FILE, "--print", *BAKE_TARGETS])
    if _docker_plugin_missing(result):
        raise CheckSkipError("the docker buildx plugin is not installed")
    if result.returncode != 0:
        return [
            Finding(
                "bake", BAKE_FILE, None, f"docker buildx bake --print: {_tail(result.stderr, 4)}"
            )
        ]
    try:
        targets = json.loads(result.stdout).get("target", {})
    except (ValueError, AttributeError):
        raise ToolError(
            f"docker buildx bake --print printed no JSON: {_tail(result.stdout)}"
        ) from None
    findings = []
    for name in ("test", "debug", "release"):
        stage = targets.get(name, {}).get("target")
        if stage != name:
            findings.append(
                Finding(
                    "bake", BAKE_FILE, None, f"target {name!r} builds stage {stage!r}, not {name!r}"
                )
            )
    multi = targets.get("release-multi", {})
    if multi.get("target") != "release":
        findings.append(
            Finding("bake", BAKE_FILE, None, "target 'release-multi' must build stage 'release'")
        )
    missing = [p for p in MULTI_PLATFORMS if p not in (multi.get("platforms") or [])]
    if missing:
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"target 'release-multi' lacks platform(s) {', '.join(missing)}",
            )
        )
    default = ctx.run([docker, "buildx", "bake", "-f", BAKE_FILE, "--print"])
    try:
        default_targets = sorted(json.loads(default.stdout).get("target", {}))
    except (ValueError, AttributeError):
        default_targets = []
    if default.returncode != 0 or default_targets != ["release"]:
        findings.append(
            Finding(
                "bake",
                BAKE_FILE,
                None,
                f"group 'default' must build exactly ['release'], not {default_targets}",
            )
        )
    return findings


# --- 5. Makefile ------------------------------------------------------------------------------

_BUILD_COMMAND = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b")
_RUN_COMMAND = re.compile(r"\bdocker\s+(?:container\s+)?run\b")


def check_makefile(ctx: LintContext) -> list[Finding]:
    """``make -n`` of every target succeeds; builds pass the CA secret only when CA_BUNDLE is set;
    ``docker run`` publishes ports on 127.0.0.1 only."""
    ctx.file(MAKEFILE)
    make = ctx.tool("make")
    findings: list[Finding] = []
    printed: list[str] = []
    for target in MAKE_TARGETS:
        result = ctx.run([make, "--no-print-directory", "-n", target])
        if result.returncode != 0:
            findings.append(
                Finding("makefile", MAKEFILE, None, f"make -n {target}: {_tail(result.stderr, 3)}")
            )
        elif "Nothing to be done for" in result.stdout:
            findings.append(Finding("makefile", MAKEFILE, None, f"make {target} does nothing"))
        else:
            printed.extend(result.stdout.splitlines())
    build_lines = [line for line in printed if _BUILD_COMMAND.search(line)]
    if not build_lines:
        findings.append(
            Finding(
                "makefile",
                MAKEFILE,
                None,
                "make -n build/test/debug/release prints no docker build command",
                "warning",
            )
        )
    leaking = [line.strip() for line in build_lines if "id=ca_bundle" in line]
    if leaking:
        findings.append(
            Finding(
                "makefile",
                MAKEFILE,
                None,
                f"{len(leaking)} build command(s) pass the ca_bundle secret although CA_BUNDLE "
                f"is unset, e.g.: {leaking[0]}",
            )
        )
    ca = "/stagekit-lint/ca-certificates.crt"
    with_ca = ctx.run(
        [make, "--no-print-directory", "-n", "build", "test", "debug", "release", f"CA_BUNDLE={ca}"]
    )
    lacking = [
        line.strip()
        for line in with_ca.stdout.splitlines()
        if _BUILD_COMMAND.search(line) and f"id=ca_bundle,src={ca}" not in line
    ]
    if lacking:
        findings.append(
            Finding(
                "makefile",
                MAKEFILE,
                None,
                f"with CA_BUNDLE set, {len(lacking)} build command(s) lack --secret "
                f"id=ca_bundle,src=$(CA_BUNDLE) (a comma inside $(if ...) splits its arguments: "
                f"write it as $(comma) with comma := ,), e.g.: {lacking[0]}",
            )
        )
    problems = dict.fromkeys(p for line in printed for p in publish_problems(line))
    findings.extend(Finding("makefile", MAKEFILE, None, problem) for problem in problems)
    return findings


def publish_problems(command: str) -> list[str]:
    """Ports a ``docker run`` command line publishes beyond loopback."""
    if not _RUN_COMMAND.search(command):
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    problems = []
    for index, word in enumerate(words):
        spec: str | None = None
        if word in ("-p", "--publish") and index + 1 < len(words):
            spec = words[index + 1]
        elif word.startswith("--publish="):
            spec = word.partition("=")[2]
        elif word.startswith("-p") and len(word) > 2 and not word.startswith("--"):
            spec = word[2:]
        elif word in ("-P", "--publish-all"):
            problems.append(
                f"{word} publishes every exposed port on every interface: {command.strip()}"
            )
        if spec is not None and not is_loopback(published_host(spec)):
            problems.append(f"docker run publishes {spec} on every interface; use 127.0.0.1:{spec}")
    return problems


# --- 6. CI workflow ---------------------------------------------------------------------------


def _workflow_files(ctx: LintContext) -> list[Path]:
    folder = ctx.project / WORKFLOWS
    files = (
        sorted(p for p in folder.glob("*") if p.suffix in (".yml", ".yaml"))
        if folder.is_dir()
        else []
    )
    if not files:
        raise CheckSkipError(f"no workflow in {WORKFLOWS}/")
    return files


def check_actionlint(ctx: LintContext) -> list[Finding]:
    """actionlint on the workflows; its shellcheck/pyflakes integrations are off (same verdict
    on every machine)."""
    files = _workflow_files(ctx)
    actionlint = ctx.tool("actionlint")
    relative = [str(p.relative_to(ctx.project)) for p in files]
    result = ctx.run(
        [actionlint, "-format", "{{json .}}", "-no-color", "-shellcheck=", "-pyflakes=", *relative]
    )
    if result.returncode not in (0, 1):
        raise ToolError(
            f"actionlint exited {result.returncode}: {_tail(result.stderr + result.stdout)}"
        )
    try:
        items = json.loads(result.stdout or "[]")
    except ValueError:
        raise ToolError(f"actionlint printed no JSON: {_tail(result.stdout)}") from None
    findings = [
        Finding(
            "actionlint",
            str(item.get("filepath", "")),
            item.get("line"),
            f"{item.get('message')} [{item.get('kind')}]",
        )
        for item in items or []
    ]
    if result.returncode == 1 and not findings:
        raise ToolError(f"actionlint exited 1 without findings: {_tail(result.stderr)}")
    return findings


def check_workflow(ctx: LintContext) -> list[Finding]:
    """The workflow's shape without actionlint: jobs, steps, pinned actions, test/release builds."""
    findings: list[Finding] = []
    for path in _workflow_files(ctx):
        relative = str(path.relative_to(ctx.project))
        data = _load_yaml(path)

        def add(message: str, severity: Severity = "error", where: str = relative) -> None:
            findings.append(Finding("workflow", where, None, message, severity))

        if not isinstance(data, Mapping):
            add("the workflow is not a mapping")
            continue
        if "on" not in data and True not in data:  # YAML 1.1 reads a bare `on:` key as true
            add("the workflow has no 'on' trigger")
        jobs = data.get("jobs")
        if not isinstance(jobs, Mapping) or not jobs:
            add("the workflow has no jobs")
            continue
        build_targets: dict[str, Mapping[str, Any]] = {}
        for job_name, job in jobs.items():
            if not isinstance(job, Mapping):
                add(f"job {job_name}: not a mapping")
                continue
            if "uses" in job:
                continue
            if "runs-on" not in job:
                add(f"job {job_name}: no runs-on")
            steps = job.get("steps")
            if not isinstance(steps, list) or not steps:
                add(f"job {job_name}: no steps")
                continue
            for number, step in enumerate(steps, start=1):
                if not isinstance(step, Mapping) or ("uses" in step) == ("run" in step):
                    add(f"job {job_name}, step {number}: needs exactly one of 'uses' and 'run'")
                    continue
                uses = str(step.get("uses", ""))
                if uses and not uses.startswith(("./", "docker://")) and "@" not in uses:
                    add(f"job {job_name}, step {number}: action {uses!r} is not pinned (@v…)")
                if uses.startswith("docker/build-push-action@"):
                    options = step.get("with") or {}
                    build_targets[str(options.get("target", ""))] = options
        for target in ("test", "release"):
            options = build_targets.get(target)
            if options is None:
                add(f"no docker/build-push-action step builds target {target!r}")
            elif "type=gha" not in str(options.get("cache-from", "")) or "type=gha" not in str(
                options.get("cache-to", "")
            ):
                add(
                    f"the build of target {target!r} has no cache-from/cache-to type=gha", "warning"
                )
    return findings


# --- 7. every TOML / YAML / JSON file parses --------------------------------------------------


def walk(root: Path) -> Iterator[Path]:
    """Every file and folder of the project in a stable order, never entering tool output and
    caches (:data:`SKIP_DIRS`) nor ``__pycache__`` (reported, not read)."""
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        here = Path(folder)
        for name in dirnames:
            yield here / name
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in sorted(filenames):
            yield here / name


def project_files(root: Path) -> Iterator[Path]:
    """Every file of the project, tool output and caches left out."""
    return (path for path in walk(root) if path.is_file())


def parse_problem(path: Path) -> tuple[int | None, str] | None:
    """Why a TOML/YAML/JSON file does not parse (line, message), or None; other files: None."""
    kind = _data_kind(path)
    if kind is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: {exc.reason} at byte {exc.start}"
    if kind == "toml":
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            return (int(line.group(1)) if line else None), f"TOML: {exc}"
    elif kind == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            return getattr(exc, "lineno", None), f"JSON: {exc}"
    else:
        import yaml

        try:
            for _ in yaml.safe_load_all(text):
                pass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            first = str(exc).splitlines()
            return (mark.line + 1 if mark else None), f"YAML: {' '.join(first)}"
    return None


def _data_kind(path: Path) -> str | None:
    if path.suffix == ".toml" or path.name in TOML_LOCKS:
        return "toml"
    if path.suffix in (".yaml", ".yml"):
        return "yaml"
    if path.suffix == ".json":
        return "json"
    return None


def check_parse(ctx: LintContext) -> list[Finding]:
    """Every TOML, YAML and JSON file of the project parses."""
    findings = []
    for path in project_files(ctx.project):
        problem = parse_problem(path)
        if problem:
            findings.append(Finding("parse", str(path.relative_to(ctx.project)), *problem))
    return findings


# --- 8. leftovers -----------------------------------------------------------------------------


def answer_masks(project: Path) -> list[str]:
    """The free-text answers as each file may carry them (escaped by every filter), longest first.

    A description may itself contain ``{% ... %}``: that is the user's text, not a leftover.
    """
    try:
        record = json.loads((project / ANSWERS_FILE).read_text(encoding="utf-8"))
        answers = record["answers"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    from stagekit import filters

    escapers: list[Callable[[object], str]] = [
        filters.toml_str,
        filters.json_str,
        filters.yaml_str,
        filters.hcl_str,
        filters.go_str,
        filters.rust_str,
        filters.py_str,
        filters.dockerfile_str,
        filters.md_line,
    ]
    masks: set[str] = set()
    for key in ("description", "owner"):
        value = answers.get(key) if isinstance(answers, Mapping) else None
        if not isinstance(value, str) or not value:
            continue
        # Each form as is and folded to one line (``md_line | toml_str`` in a pyproject.toml).
        for form in (value, filters.md_line(value)):
            masks.add(form)
            masks.update(escape(form) for escape in escapers)
            masks.add(json.dumps(form))  # ASCII-escaped JSON
    return sorted((m for m in masks if any(s in m for s in ("{", "%", "}"))), key=len, reverse=True)


def jinja_leftovers(text: str, masks: Iterable[str] = ()) -> list[tuple[int, str]]:
    """(line, what) of template syntax left in a rendered file, the user's own text masked."""
    for mask in masks:
        text = text.replace(mask, " " * len(mask))
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, what in _JINJA:
            if pattern.search(line):
                found.append((number, what))
    return found


def check_leftovers(ctx: LintContext) -> list[Finding]:
    """No template syntax left in any file or file name, no template machinery copied along."""
    findings = []
    masks = answer_masks(ctx.project)
    for path in walk(ctx.project):
        shown = str(path.relative_to(ctx.project))
        if path.name in STRAY_NAMES or path.suffix == ".pyc":
            findings.append(
                Finding(
                    "leftovers", shown, None, f"stray {path.name}: template machinery or bytecode"
                )
            )
            continue
        if any(token in path.name for token in ("{{", "{%", "}}", "%}")):
            findings.append(
                Finding("leftovers", shown, None, "unrendered template syntax in a file name")
            )
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        findings.extend(
            Finding("leftovers", shown, line, what) for line, what in jinja_leftovers(text, masks)
        )
    return findings


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    summary: str
    run: Callable[[LintContext], list[Finding]]


CHECKS: list[Check] = [
    Check("hadolint", "hadolint on the Dockerfile, default threshold", check_hadolint),
    Check("dockerfile", "stages, release image and pinning (BuildKit's parser)", check_dockerfile),
    Check("compose", "docker compose config -q", check_compose),
    Check("compose-ports", "compose publishes ports on 127.0.0.1 only", check_compose_ports),
    Check("bake", "docker buildx bake --print and its targets", check_bake),
    Check("makefile", "make -n of every target, CA secret, loopback ports", check_makefile),
    Check("actionlint", "actionlint on the CI workflows", check_actionlint),
    Check("workflow", "CI workflow shape: jobs, steps, pinned actions, builds", check_workflow),
    Check("parse", "every TOML/YAML/JSON file parses", check_parse),
    Check("leftovers", "no unrendered Jinja, no template machinery", check_leftovers),
]


def lint(
    project_dir: Path,
    *,
    docker_host: str | None = None,
    tools: Mapping[str, str | None] | None = None,
    checks: Collection[str] | None = None,
) -> LintReport:
    """Run every check (or those named in ``checks``) on a project folder.

    ``tools`` overrides where a tool is found (``{"actionlint": "/path"}``; ``None`` = absent).
    ``docker_host`` is handed to the docker CLI; no check needs an engine to answer.
    """
    project = Path(project_dir).absolute()
    if not project.is_dir():
        raise NotAProjectError(f"{project} is not a folder")
    unknown = sorted(set(checks or ()) - {c.name for c in CHECKS})
    if unknown:
        raise NotAProjectError(
            f"unknown check(s): {', '.join(unknown)}",
            f"the checks are: {', '.join(c.name for c in CHECKS)}",
        )
    ctx = LintContext(project, docker_host, dict(tools or {}))
    findings: list[Finding] = []
    ran: list[str] = []
    skipped: list[tuple[str, str]] = []
    for check in CHECKS:
        if checks is not None and check.name not in checks:
            continue
        try:
            found = check.run(ctx)
        except CheckSkipError as exc:
            skipped.append((check.name, str(exc)))
            continue
        except ToolError as exc:
            found = [Finding(check.name, "", None, str(exc))]
        ran.append(check.name)
        findings.extend(found)
    return LintReport(project, findings, ran, skipped)


def format_report(report: LintReport) -> str:
    """The report as text: one ``path:line: severity: [check] message`` line per finding, then a
    summary (what the CLI prints)."""
    lines = []
    for finding in report.findings:
        message = finding.message.replace("\n", "\n    ")
        lines.append(f"{finding.location()}: {finding.severity}: [{finding.check}] {message}")
    for name, reason in report.skipped:
        lines.append(f"skipped {name}: {reason}")
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = "passed" if report.ok else "FAILED"
    lines.append(
        f"lint {verdict}: {len(report.checks_run)} check(s) run, {len(report.skipped)} skipped, "
        f"{errors} error(s), {warnings} warning(s) in {report.project}"
    )
    return "\n".join(lines)
