"""Structure checks on a Dockerfile, parsed with BuildKit's own parser (PyPI ``dockerfile``).

These are the points of the staged-Dockerfile contract (docs/quality-gates.md) that a linter such
as hadolint does not know about: which stages exist and in what order, what the release stage
holds, how base images are pinned. Every function here is pure: text in, :class:`Problem` out.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from stagekit.contract import OCI_LABELS, Stage
from stagekit.lint.dockerfile_parse import (
    DockerfileSyntaxError,
    Instruction,
    ParsedStage,
    arg_defaults,
    expand,
    parse,
    split_stages,
    unquote,
)

Severity = Literal["error", "warning"]

REQUIRED_STAGES = tuple(stage.value for stage in Stage)
HEALTHCHECK_OPTIONS = ("interval", "timeout", "start-period", "start-interval")
KNOWN_INSTRUCTIONS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
#: Parts of an ARG/ENV name that say "this holds a secret" (build args end up in the image history).
SECRET_WORDS = frozenset(
    [
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PWORD",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "CREDENTIAL",
        "CREDENTIALS",
        "APIKEY",
        "AUTH",
    ]
)
SECRET_PAIRS = frozenset(
    {("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY"), ("SIGNING", "KEY"), ("CLIENT", "KEY")}
)

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_USER = re.compile(r"(?P<uid>\d+)(?::(?P<gid>\d+))?")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the Dockerfile, at a line (1-based) when it has one."""

    line: int | None
    message: str
    severity: Severity = "error"


def image_problem(reference: str) -> str | None:
    """Why an image reference is not pinned, or None (``scratch`` and digests are fine)."""
    if reference == "scratch" or "@" in reference:
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {reference!r} has no tag (that means :latest); pin a major.minor tag"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {reference!r} uses the tag latest; pin a major.minor tag"
    return None


# --- the checks ------------------------------------------------------------------------------


def check_directives(text: str) -> Iterator[Problem]:
    """No ``# syntax=`` parser directive: it makes BuildKit pull a frontend image."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            break
        match = _DIRECTIVE.match(stripped)
        if not stripped.startswith("#"):
            break
        if match and match.group(1).lower() == "syntax":
            yield Problem(
                number,
                "a '# syntax=' directive makes BuildKit pull a frontend image; "
                "use the engine's built-in frontend",
            )


def check_instructions(instructions: Sequence[Instruction]) -> Iterator[Problem]:
    for instruction in instructions:
        if instruction.cmd not in KNOWN_INSTRUCTIONS:
            yield Problem(instruction.line, f"unknown instruction {instruction.cmd}")
    if not any(i.cmd == "FROM" for i in instructions):
        yield Problem(None, "no FROM instruction")


def check_stages(stages: Sequence[ParsedStage]) -> Iterator[Problem]:
    """The four contract stages exist once each, in order, ``release`` last; helpers allowed."""
    seen: dict[str, ParsedStage] = {}
    for stage in stages:
        if stage.name is None:
            if stage is not stages[-1]:
                yield Problem(stage.line, "unnamed stage: name every stage with AS", "warning")
            continue
        if stage.name == "scratch":
            yield Problem(stage.line, "a stage must not be named 'scratch' (reserved image name)")
        if stage.name in seen:
            yield Problem(stage.line, f"stage {stage.name!r} is defined twice")
        seen.setdefault(stage.name, stage)
    missing = [name for name in REQUIRED_STAGES if name not in seen]
    build, test, release = Stage.BUILD.value, Stage.TEST.value, Stage.RELEASE.value
    for name in missing:
        yield Problem(None, f"missing stage {name!r} (the stages are {', '.join(REQUIRED_STAGES)})")
    if stages and release in seen and stages[-1].name != release:
        yield Problem(
            seen[release].line,
            f"{release} must be the last stage, so a plain 'docker build .' builds it",
        )
    if not missing:
        order = [seen[name].index for name in REQUIRED_STAGES]
        if order != sorted(order):
            yield Problem(
                seen[build].line,
                f"stages should come in the order {', '.join(REQUIRED_STAGES)}",
                "warning",
            )
        if build not in [s.name for s in chain(seen[test], stages)]:
            yield Problem(
                seen[test].line, f"stage {test} must be built FROM {build} (or a child of it)"
            )


def chain(stage: ParsedStage, stages: Sequence[ParsedStage]) -> list[ParsedStage]:
    """The stage and the stages it is built FROM, nearest first."""
    by_name = {s.name: s for s in stages[: stage.index] if s.name}
    out = [stage]
    current = stage
    while current.base.lower() in by_name and by_name[current.base.lower()] not in out:
        current = by_name[current.base.lower()]
        out.append(current)
    return out


def check_images(
    global_args: Mapping[str, str | None], stages: Sequence[ParsedStage]
) -> Iterator[Problem]:
    """Every image a FROM, ``COPY --from`` or ``RUN --mount=from=`` names is pinned (no latest)."""
    names: set[str] = set()
    for stage in stages:
        yield from _reference_problems(stage.base, stage.line, global_args, names, "FROM")
        stage_args = {**global_args, **arg_defaults(stage.instructions)}
        for instruction in stage.instructions:
            sources = instruction.flag("from") if instruction.cmd in ("COPY", "ADD") else []
            for mount in instruction.flag("mount") if instruction.cmd == "RUN" else []:
                options = dict(part.partition("=")[::2] for part in mount.split(","))
                if "from" in options:
                    sources.append(options["from"])
            for source in sources:
                if not source.isdigit():
                    yield from _reference_problems(
                        source, instruction.line, stage_args, names, instruction.cmd
                    )
        if stage.name:
            names.add(stage.name)


def _reference_problems(
    raw: str, line: int, args: Mapping[str, str | None], stage_names: set[str], where: str
) -> Iterator[Problem]:
    if raw.lower() in stage_names:
        return
    reference = expand(raw, args)
    if reference is None:
        yield Problem(line, f"{where} {raw!r}: a variable in it has no default value to check")
        return
    if reference.lower() in stage_names:
        return
    problem = image_problem(reference)
    if problem:
        yield Problem(line, f"{where}: {problem}")


def secret_like(name: str) -> bool:
    """Whether an ARG/ENV name looks like it carries a secret (``DB_PASSWORD``, ``API_KEY``)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if any(word in SECRET_WORDS for word in words):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(words))


def check_secret_names(instructions: Sequence[Instruction]) -> Iterator[Problem]:
    """No secret-looking ARG/ENV: their values stay in the image; use a secret mount instead."""
    for instruction in instructions:
        if instruction.cmd == "ARG":
            names = [word.partition("=")[0] for word in instruction.value]
        elif instruction.cmd == "ENV":
            names = list(instruction.value[0::2])
        else:
            continue
        for name in names:
            if secret_like(name):
                yield Problem(
                    instruction.line,
                    f"{instruction.cmd} {name} looks like a secret: build args and env stay in "
                    "the image; use RUN --mount=type=secret",
                )


def check_release(stages: Sequence[ParsedStage]) -> Iterator[Problem]:
    """What the release image must carry: non-root user, exec forms, health check, labels."""
    release = next((s for s in stages if s.name == Stage.RELEASE), None)
    if release is None:
        return
    lineage = chain(release, stages)
    inherited = [i for stage in reversed(lineage) for i in stage.instructions]

    def last(cmd: str) -> Instruction | None:
        found = [i for i in inherited if i.cmd == cmd]
        return found[-1] if found else None

    for instruction in release.of("RUN"):
        yield Problem(instruction.line, "RUN in the release stage: prepare files in build instead")
    yield from _check_user(last("USER"), release, arg_defaults(inherited))
    entrypoint = last("ENTRYPOINT")
    if entrypoint is None:
        yield Problem(release.line, "release has no ENTRYPOINT")
    elif not entrypoint.json or not entrypoint.value:
        yield Problem(entrypoint.line, 'ENTRYPOINT must be exec form (["/app", ...]): no shell')
    cmd = last("CMD")
    if cmd is not None and not cmd.json:
        yield Problem(cmd.line, 'CMD in release must be exec form (["arg", ...]): no shell')
    yield from _check_healthcheck(last("HEALTHCHECK"), release)
    if not any(i.cmd == "EXPOSE" for i in inherited):
        yield Problem(release.line, "release does not EXPOSE its port")
    if last("STOPSIGNAL") is None:
        yield Problem(release.line, "release has no STOPSIGNAL", "warning")
    for instruction in release.of("COPY"):
        if "--link" not in instruction.flags and not any(
            f.startswith("--link=") and f != "--link=false" for f in instruction.flags
        ):
            yield Problem(
                instruction.line,
                "COPY into release without --link (reproducible layers)",
                "warning",
            )
    labels = {unquote(key) for i in inherited if i.cmd == "LABEL" for key in i.value[0::2]}
    missing = [label for label in OCI_LABELS if label not in labels]
    if missing:
        yield Problem(release.line, f"release lacks the label(s) {', '.join(missing)}")


def _check_user(
    user: Instruction | None, release: ParsedStage, args: Mapping[str, str | None]
) -> Iterator[Problem]:
    if user is None:
        yield Problem(release.line, "release sets no USER: add a numeric non-root USER 65532:65532")
        return
    value = expand(user.value[0], args) if user.value else ""
    match = _USER.fullmatch(value or "")
    if not match:
        yield Problem(
            user.line,
            f"USER {user.value[0] if user.value else ''!r} must be numeric "
            "uid:gid (a name needs /etc/passwd and cannot be checked by runtimes)",
        )
        return
    if int(match.group("uid")) == 0:
        yield Problem(user.line, "release runs as root (USER 0)")
    elif match.group("gid") is not None and int(match.group("gid")) == 0:
        yield Problem(user.line, "release runs with group 0 (root's group)", "warning")


def _check_healthcheck(health: Instruction | None, release: ParsedStage) -> Iterator[Problem]:
    if health is None:
        yield Problem(release.line, "release has no HEALTHCHECK")
        return
    if health.value and health.value[0].upper() == "NONE":
        yield Problem(health.line, "HEALTHCHECK NONE in release: give it a health check")
        return
    if not health.json:
        yield Problem(health.line, 'HEALTHCHECK must be exec form CMD ["/app", ...]: no shell')
    options = {f[2:].partition("=")[0]: f.partition("=")[2] for f in health.flags}
    missing = [f"--{o}" for o in HEALTHCHECK_OPTIONS if o not in options]
    if missing:
        yield Problem(health.line, f"HEALTHCHECK lacks {', '.join(missing)}")
    for option in HEALTHCHECK_OPTIONS:
        if option in options and not _DURATION.fullmatch(options[option]):
            yield Problem(health.line, f"HEALTHCHECK --{option}={options[option]} is no duration")


def check_dockerfile(text: str) -> list[Problem]:
    """Every structure check on one Dockerfile's text."""
    problems = list(check_directives(text))
    try:
        instructions = parse(text)
    except DockerfileSyntaxError as exc:
        return [*problems, Problem(None, f"BuildKit's parser refused the file: {exc}")]
    preamble, stages = split_stages(instructions)
    problems += check_instructions(instructions)
    problems += check_stages(stages)
    problems += check_images(arg_defaults(preamble), stages)
    problems += check_secret_names(instructions)
    problems += check_release(stages)
    return sorted(problems, key=lambda p: (p.line or 0, p.message))
