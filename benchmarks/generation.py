"""Generation time: ``stagekit new --no-input`` against plain ``cookiecutter --no-input``.

Both run as subprocesses of the installed console scripts on the same scaffold, alternating order
run by run so that a machine getting busier does not favour either; one warm-up run of each is not
counted. ``-X importtime`` shows where stagekit's start-up goes.

Every timed command runs with :func:`bytecode_env`: compiled bytecode cached for *all* modules in
one folder of the work directory. ``pip install`` compiles a wheel's modules, so an installed
stagekit and cookiecutter both start from bytecode; an editable checkout under
``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile stagekit's source on every run while
cookiecutter's came compiled, and the comparison would measure the install method.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.stats import median, ratio

#: Libraries ``stagekit new --no-input`` has no use for: loading them is start-up time wasted.
LAZY = ("docker", "questionary", "prompt_toolkit", "rich")
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass(frozen=True)
class Import:
    name: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(text: str) -> list[Import]:
    """The lines of ``python -X importtime`` output (stderr), in order."""
    found = []
    for line in text.splitlines():
        if match := _IMPORTTIME.match(line):
            depth = max(0, (len(match.group(3)) - 1) // 2)
            found.append(Import(match.group(4), int(match.group(1)), int(match.group(2)), depth))
    return found


def heaviest(imports: Sequence[Import], count: int = 10) -> list[tuple[str, int]]:
    """Top-level packages by the cumulative time of their outermost import (µs)."""
    best: dict[str, int] = {}
    for item in imports:
        root = item.name.split(".")[0]
        best[root] = max(best.get(root, 0), item.cumulative_us)
    return sorted(best.items(), key=lambda kv: -kv[1])[:count]


def importer_chain(imports: Sequence[Import], index: int) -> list[str]:
    """Who imported ``imports[index]``: its parent, grandparent, ... up to a top-level import.

    ``-X importtime`` prints an import after everything it imported, one level deeper; the parent
    of an entry is the first later entry with a smaller depth.
    """
    chain = []
    depth = imports[index].depth
    for item in imports[index + 1 :]:
        if item.depth < depth:
            chain.append(item.name)
            depth = item.depth
            if depth == 0:
                break
    return chain


def loaded(imports: Sequence[Import], packages: Sequence[str] = LAZY) -> dict[str, list[str]]:
    """Which of ``packages`` were imported, each with the chain of its outermost import."""
    found: dict[str, list[str]] = {}
    depth: dict[str, int] = {}
    for index, item in enumerate(imports):
        root = item.name.split(".")[0]
        if root not in packages or depth.get(root, item.depth + 1) <= item.depth:
            continue
        depth[root] = item.depth
        chain = importer_chain(imports, index)
        found[root] = [name for name in chain if name.split(".")[0] != root]
    return {p: found[p] for p in packages if p in found}


def blamed_on_stagekit(
    found: Mapping[str, Sequence[str]], upstream: str = "cookiecutter"
) -> list[str]:
    """Loaded packages no import of ``upstream`` pulled in (stagekit could avoid them)."""
    return [
        package
        for package, chain in found.items()
        if not any(name.split(".")[0] == upstream for name in chain)
    ]


def bytecode_env(cache: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) with every module's bytecode kept in ``cache``."""
    env = {**(os.environ if base is None else base), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def timed(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> float:
    """Wall time of one successful subprocess run (raises with its stderr when it fails)."""
    started = time.perf_counter()
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {' / '.join(tail)}")
    return seconds


@dataclass
class GenerationResult:
    language: str
    base: str
    stagekit_s: list[float] = field(default_factory=list)
    cookiecutter_s: list[float] = field(default_factory=list)
    same_files: bool | None = None

    @property
    def stagekit_median(self) -> float | None:
        return median(self.stagekit_s)

    @property
    def cookiecutter_median(self) -> float | None:
        return median(self.cookiecutter_s)

    @property
    def ratio(self) -> float | None:
        return ratio(self.stagekit_median, self.cookiecutter_median)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "base": self.base,
            "stagekit_new_s": self.stagekit_s,
            "cookiecutter_s": self.cookiecutter_s,
            "stagekit_new_median_s": self.stagekit_median,
            "cookiecutter_median_s": self.cookiecutter_median,
            "ratio": self.ratio,
            "same_files": self.same_files,
        }


def _files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name != ".stagekit.json"
    }


def compare_generation(
    *,
    language: str,
    base: str,
    scaffold_path: Path,
    stagekit: str,
    cookiecutter: str,
    runs: int,
    workdir: Path,
    env: Mapping[str, str],
) -> GenerationResult:
    """``runs`` timed runs of each (after one warm-up each), alternating which goes first."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "cookiecutter-config.yaml"
    config.write_text(
        json.dumps(
            {
                "cookiecutters_dir": str(workdir / "cc-templates"),
                "replay_dir": str(workdir / "cc-replay"),
            }
        ),
        encoding="utf-8",
    )
    env = {**env, "COOKIECUTTER_CONFIG": str(config)}
    result = GenerationResult(language, base)

    def run_stagekit(index: int) -> float:
        dest = workdir / f"stagekit-{index}" / "hello-service"
        dest.parent.mkdir()
        command = [stagekit, "new", str(dest), "--lang", language, "--base", base, "--no-input"]
        return timed(command, workdir, env)

    def run_cookiecutter(index: int) -> float:
        out = workdir / f"cookiecutter-{index}"
        out.mkdir()
        command = [cookiecutter, str(scaffold_path), "--no-input", "-o", str(out), f"base={base}"]
        return timed(command, workdir, env)

    run_stagekit(-1)
    run_cookiecutter(-1)
    for index in range(runs):
        if index % 2 == 0:
            result.stagekit_s.append(run_stagekit(index))
            result.cookiecutter_s.append(run_cookiecutter(index))
        else:
            result.cookiecutter_s.append(run_cookiecutter(index))
            result.stagekit_s.append(run_stagekit(index))
    result.same_files = _files(workdir / "stagekit--1" / "hello-service") == _files(
        workdir / "cookiecutter--1" / "hello-service"
    )
    return result


def startup(
    commands: Mapping[str, Sequence[str]], runs: int, cwd: Path, env: Mapping[str, str]
) -> dict[str, list[float]]:
    """Start-up times of short commands (``stagekit --version`` and baselines), interleaved."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        timed(command, cwd, env)  # warm-up
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, cwd, env))
    return times


def added_imports(
    ours: Sequence[Import], theirs: Sequence[Import], count: int = 12
) -> tuple[int, list[tuple[str, int]]]:
    """Modules ``ours`` imports that ``theirs`` does not: total self time, and the heaviest (µs)."""
    known = {item.name for item in theirs}
    extra = [item for item in ours if item.name not in known]
    heaviest_first = sorted(extra, key=lambda item: -item.self_us)
    return sum(i.self_us for i in extra), [(i.name, i.self_us) for i in heaviest_first[:count]]


def importtime(command: Sequence[str], workdir: Path, env: Mapping[str, str]) -> list[Import]:
    """Run ``python -X importtime ...`` (``command`` starts after ``-X importtime``)."""
    python, *rest = command
    result = subprocess.run(
        [python, "-X", "importtime", *rest],
        cwd=workdir,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env=dict(env),
        check=False,
    )
    if result.returncode != 0:
        tail = " / ".join(result.stderr.strip().splitlines()[-2:])
        raise RuntimeError(
            f"{' '.join(rest)} under -X importtime exited {result.returncode}: {tail}"
        )
    return parse_importtime(result.stderr)
