"""Update time: ``stagekit update --no-lint`` of an untouched project vs ``stagekit new`` of it.

An update renders two trees (BASE and THEIRS) and merges them with the working tree, so it costs
about two ``new`` runs; the issue's target is at most 2x. Both run as subprocesses of the installed
console script on the same answers, alternating order, after one warm-up each; ``stagekit lint``
(which ``update`` runs afterwards unless ``--no-lint``) is timed apart.

Runs alone, without an engine: ``python -m benchmarks.update_time [--runs N] [--lang go]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.generation import bytecode_env, timed
from benchmarks.stats import format_seconds, median, ratio

_GIT = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


@dataclass
class UpdateResult:
    language: str
    base: str
    update_s: list[float] = field(default_factory=list)
    new_s: list[float] = field(default_factory=list)
    lint_s: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return ratio(median(self.update_s), median(self.new_s))

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "base": self.base,
            "update_s": self.update_s,
            "new_s": self.new_s,
            "lint_s": self.lint_s,
            "update_median_s": median(self.update_s),
            "new_median_s": median(self.new_s),
            "lint_median_s": median(self.lint_s),
            "ratio": self.ratio,
        }


def compare_update(
    *,
    language: str,
    base: str,
    stagekit: str,
    runs: int,
    workdir: Path,
    env: Mapping[str, str],
    lint_runs: int = 3,
) -> UpdateResult:
    """Median-ready timings of ``update --no-lint`` (nothing to do) and ``new``, same answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**env, **_GIT}
    answers = ["--lang", language, "--base", base, "--owner", "Bench", "--no-input"]
    project = workdir / "project"
    timed([stagekit, "new", str(project), "--name", "bench-svc", *answers], workdir, env)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        subprocess.run(["git", *command], cwd=project, env=env, check=True, capture_output=True)
    result = UpdateResult(language, base)

    def run_new(index: int) -> float:
        dest = workdir / f"new-{index}"
        seconds = timed([stagekit, "new", str(dest), "--name", "bench-svc", *answers], workdir, env)
        shutil.rmtree(dest)
        return seconds

    def run_update() -> float:
        return timed([stagekit, "update", str(project), "--no-lint"], workdir, env)

    run_new(-1)  # warm-up, not counted
    run_update()
    for index in range(runs):
        if index % 2:
            result.update_s.append(run_update())
            result.new_s.append(run_new(index))
        else:
            result.new_s.append(run_new(index))
            result.update_s.append(run_update())
    for _ in range(lint_runs):
        # lint may find problems on a machine without its tools; only its time is reported here.
        env_lint = dict(env)
        started = _now()
        subprocess.run(
            [stagekit, "lint", str(project)],
            cwd=workdir,
            env=env_lint,
            capture_output=True,
            check=False,
        )
        result.lint_s.append(_now() - started)
    return result


def _now() -> float:
    import time

    return time.perf_counter()


def table_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The Markdown table of :func:`compare_update` rows."""
    lines = [
        "| language | base | stagekit update --no-lint | stagekit new | update / new | runs |"
        " stagekit lint (apart) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        value = row.get("ratio")
        lines.append(
            f"| {row['language']} | {row['base']} | {format_seconds(row.get('update_median_s'))}"
            f" | {format_seconds(row.get('new_median_s'))}"
            f" | {f'{value:.2f}' if value is not None else '-'} | {len(row.get('update_s') or [])}"
            f" | {format_seconds(row.get('lint_median_s'))} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_time", description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--lang", action="append", choices=["go", "rust", "python"])
    parser.add_argument("--base", default="scratch")
    here = Path(sys.executable).parent
    parser.add_argument("--stagekit", default=str(here / "stagekit"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="stagekit-bench-update-"))
    try:
        env = bytecode_env(work / "pycache", os.environ)
        rows = [
            compare_update(
                language=language,
                base=args.base,
                stagekit=args.stagekit,
                runs=args.runs,
                workdir=work / language,
                env=env,
            ).to_dict()
            for language in args.lang or ["go"]
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(table_lines(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
