"""BuildKit's plain progress output: which steps ran, which were CACHED, which fetch dependencies.

A step is announced as ``#9 [build 4/6] RUN --mount=... go mod download`` and, when BuildKit reused
it, followed by ``#9 CACHED``. The dependency step of a Dockerfile is the RUN that fetches or builds
the dependencies before the sources are copied in: a source-only change must find it CACHED.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_ANNOUNCE = re.compile(r"^#(\d+) \[(.*?)\] (.*)$")
_HEAD = re.compile(
    r"^(?:(?P<platform>[a-z0-9]+/[a-z0-9_]+(?:/\w+)?) )?(?:(?P<stage>\S+) )?(?P<i>\d+)/(?P<n>\d+)$"
)
_CACHED = re.compile(r"^#(\d+) CACHED$")
_DONE = re.compile(r"^#(\d+) DONE ")
#: Commands that fetch or build dependencies (not the app).
DEPENDENCY = re.compile(
    r"\b(go mod download|cargo (?:fetch|chef cook|build)|uv (?:sync|pip install)"
    r"|pip3? (?:install|wheel|download)|python3?(?:\.\d+)? -m pip (?:install|wheel|download)"
    r"|poetry install|pdm install|npm ci)\b"
)
#: COPY sources that are the source tree (not manifests or lock files).
_SOURCE_TREES = frozenset({".", "./", "src", "src/", "./src", "./src/", "app", "app/", "./app"})


@dataclass(frozen=True)
class Step:
    """One Dockerfile step as BuildKit announced it."""

    number: int
    stage: str
    index: int
    total: int
    instruction: str
    cached: bool = False
    ran: bool = False  # BuildKit ran it (DONE without CACHED)

    @property
    def reused(self) -> bool:
        """Not run again: CACHED, or announced and never run (a cached step after it sufficed)."""
        return self.cached or not self.ran

    @property
    def keyword(self) -> str:
        return self.instruction.split(" ", 1)[0].upper()

    @property
    def label(self) -> str:
        """``[build 4/6] RUN go mod download``: mount and link flags dropped, whitespace folded."""
        return f"[{self.stage} {self.index}/{self.total}] {short_instruction(self.instruction)}"


def parse_steps(log: str) -> list[Step]:
    """Every Dockerfile step the log announces (internal steps left out), in log order."""
    steps: dict[int, Step] = {}
    cached: set[int] = set()
    done: set[int] = set()
    for line in log.splitlines():
        if match := _ANNOUNCE.match(line):
            number = int(match.group(1))
            head = _HEAD.match(match.group(2).strip())
            if head is None or number in steps:
                continue
            steps[number] = Step(
                number=number,
                stage=head.group("stage") or "stage-0",
                index=int(head.group("i")),
                total=int(head.group("n")),
                instruction=match.group(3).strip(),
            )
        elif match := _CACHED.match(line):
            cached.add(int(match.group(1)))
        elif match := _DONE.match(line):
            done.add(int(match.group(1)))
    return [
        Step(
            s.number,
            s.stage,
            s.index,
            s.total,
            s.instruction,
            cached=s.number in cached,
            ran=s.number in done and s.number not in cached,
        )
        for s in steps.values()
    ]


def short_instruction(instruction: str, limit: int = 72) -> str:
    """An instruction without ``--mount=``/``--link``/``--chown=`` flags, on one line."""
    words = instruction.split()
    kept = [w for w in words if not w.startswith(("--mount=", "--link", "--chown=", "--chmod="))]
    text = " ".join(w for w in kept if w != "\\")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_source_copy(step: Step) -> bool:
    """A COPY of the source tree from the build context (``COPY . .``, ``COPY src ./src``)."""
    if step.keyword not in ("COPY", "ADD"):
        return False
    try:
        words = shlex.split(step.instruction)[1:]
    except ValueError:
        words = step.instruction.split()[1:]
    if any(w.startswith("--from=") for w in words):
        return False
    args = [w for w in words if not w.startswith("--")]
    return any(source in _SOURCE_TREES for source in args[:-1])


def dependency_steps(steps: Sequence[Step]) -> list[Step]:
    """RUN steps that fetch/build dependencies before their stage copies the sources in."""
    first_source: dict[str, int] = {}
    for step in steps:
        if is_source_copy(step):
            first_source[step.stage] = min(first_source.get(step.stage, step.index), step.index)
    found = []
    for step in steps:
        if step.keyword != "RUN" or not DEPENDENCY.search(step.instruction):
            continue
        if step.index < first_source.get(step.stage, step.total + 1):
            found.append(step)
    return found


def cached_labels(steps: Iterable[Step]) -> list[str]:
    """Labels of the cached RUN/COPY/ADD steps (FROM, WORKDIR and the like left out)."""
    labels = [s.label for s in steps if s.cached and s.keyword in ("RUN", "COPY", "ADD")]
    return list(dict.fromkeys(labels))
