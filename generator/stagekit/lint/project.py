"""The ``stagekit lint`` checks of the project around the Dockerfile: the Makefile, the CI
workflow, every data file, and anything the template left behind.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from stagekit.contract import CI_TARGETS, MAKE_TARGETS, MAKEFILE, RECORD_FILE, Stage
from stagekit.lint.context import (
    CheckSkipError,
    Finding,
    LintContext,
    Severity,
    ToolError,
    load_yaml,
    tail,
)
from stagekit.lint.docker import is_loopback, published_host

WORKFLOWS = ".github/workflows"
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

_JINJA = (
    (re.compile(r"\{\{-?\s*cookiecutter"), "unrendered cookiecutter variable"),
    (re.compile(r"\{%|%\}"), "unrendered Jinja block ({% ... %})"),
    (re.compile(r"(?<!\$)\{#.*?#\}"), "unrendered Jinja comment ({# ... #})"),
)


# --- 5. Makefile ------------------------------------------------------------------------------

_BUILD_COMMAND = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b")
#: ``docker buildx bake``: the build arguments and the CA secret are the bake file's (check_bake).
_BAKE_COMMAND = re.compile(r"\bdocker\s+buildx\s+bake\b")
_RUN_COMMAND = re.compile(r"\bdocker\s+(?:container\s+)?run\b")


def check_makefile(ctx: LintContext) -> list[Finding]:
    """``make -n`` of every target succeeds; it builds (through bake, or with ``docker build``
    commands that pass the CA secret only when CA_BUNDLE is set); ``docker run`` publishes ports
    on 127.0.0.1 only."""
    ctx.file(MAKEFILE)
    make = ctx.tool("make")
    findings: list[Finding] = []
    printed: list[str] = []
    for target in MAKE_TARGETS:
        result = ctx.run([make, "--no-print-directory", "-n", target])
        if result.returncode != 0:
            findings.append(
                Finding("makefile", MAKEFILE, None, f"make -n {target}: {tail(result.stderr, 3)}")
            )
        elif "Nothing to be done for" in result.stdout:
            findings.append(Finding("makefile", MAKEFILE, None, f"make {target} does nothing"))
        else:
            printed.extend(result.stdout.splitlines())
    build_lines = [line for line in printed if _BUILD_COMMAND.search(line)]
    if not build_lines and not any(_BAKE_COMMAND.search(line) for line in printed):
        findings.append(
            Finding(
                "makefile",
                MAKEFILE,
                None,
                "make -n build/test/debug/release prints no docker build or bake command",
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
        [make, "--no-print-directory", "-n", *(s.value for s in Stage), f"CA_BUNDLE={ca}"]
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
            f"actionlint exited {result.returncode}: {tail(result.stderr + result.stdout)}"
        )
    try:
        items = json.loads(result.stdout or "[]")
    except ValueError:
        raise ToolError(f"actionlint printed no JSON: {tail(result.stdout)}") from None
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
        raise ToolError(f"actionlint exited 1 without findings: {tail(result.stderr)}")
    return findings


def check_workflow(ctx: LintContext) -> list[Finding]:
    """The workflow's shape without actionlint: jobs, steps, pinned actions, test/release builds."""
    findings: list[Finding] = []
    for path in _workflow_files(ctx):
        relative = str(path.relative_to(ctx.project))
        data = load_yaml(path)

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
        build_targets: dict[str, tuple[str, str]] = {}
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
                options = step.get("with") or {}
                if isinstance(options, Mapping):
                    build_targets.update(ci_builds(uses, options))
        for target in CI_TARGETS:
            caches = build_targets.get(target)
            if caches is None:
                add(
                    f"no docker/bake-action (or docker/build-push-action) step builds target "
                    f"{target!r}"
                )
            elif not all("type=gha" in cache for cache in caches):
                add(
                    f"the build of target {target!r} has no cache-from/cache-to type=gha", "warning"
                )
    return findings


def ci_builds(uses: str, options: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """The targets a workflow step builds, each with its cache-from and cache-to settings.

    docker/bake-action names bake targets (a list, comma or newline separated) and sets caches
    with ``set: <target>.cache-from=…`` (or ``*.cache-from``); docker/build-push-action builds
    one Dockerfile ``target`` with ``cache-from``/``cache-to`` inputs.
    """
    if uses.startswith("docker/build-push-action@"):
        caches = (str(options.get("cache-from", "")), str(options.get("cache-to", "")))
        return {str(options.get("target", "")): caches}
    if not uses.startswith("docker/bake-action@"):
        return {}
    targets = [t for t in re.split(r"[,\s]+", str(options.get("targets", ""))) if t]
    settings = [s.strip() for s in str(options.get("set", "")).splitlines()]

    def cache(target: str, key: str) -> str:
        prefixes = (f"{target}.{key}=", f"*.{key}=")
        return " ".join(s.partition("=")[2] for s in settings if s.startswith(prefixes))

    return {t: (cache(t, "cache-from"), cache(t, "cache-to")) for t in targets or ["default"]}


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
        record = json.loads((project / RECORD_FILE).read_text(encoding="utf-8"))
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
