"""Platforms and builders: each release build for amd64 vs arm64, and one project on the local
engine's BuildKit vs a remote one, side by side in one run.

Each build runs with ``--no-cache`` (cache mounts stay warm, as on a developer's machine), the
variants alternating run by run so that a machine getting busier favours none. Every project
takes its bases from the loopback registry, where the stand-ins are two-platform indexes
(tests/engine/indexes.py), so both platforms pull the same way. docs/benchmarks.md says which
steps run emulated: none for Go (its build stage cross-compiles on the build platform), Python's
whole build stage (uv, the venv, the interpreter pruning) on arm64. The remote builder is the
suite's buildkitd (tests/engine/buildkit.py).

Needs the suite's engine: ``python -m benchmarks.platforms [--runs N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stagekit.cli.main import main as stagekit
from stagekit.engine.client import (
    BuildRequest,
    Endpoint,
    buildx_build,
    created_label,
    system_ca_bundle,
)
from stagekit.model import Base, Language
from stagekit.model.catalog import builtin

from benchmarks.stats import format_seconds, median, ratio
from tests.engine.buildkit import ensure_builder
from tests.engine.daemon import ensure_daemon
from tests.engine.indexes import publish_indexes, with_foreign_standin
from tests.engine.paths import EnginePaths
from tests.engine.registry import ensure_registry, push_images
from tests.engine.standins import ensure_images
from tests.helpers import ARM64_COMBINATIONS, host_versions

EPOCH = 1_700_000_000
BUILD_ARGS = {
    "SOURCE_DATE_EPOCH": str(EPOCH),
    "CREATED": created_label(EPOCH),
    "VERSION": "0.1.0",
    "REVISION": "bench",
}


def _render(folder: Path, lang: str, base: str, config: Path) -> Path:
    dest = folder / f"bench-{lang}-{base}"
    argv = ["new", str(dest), "--lang", lang, "--base", base, "--no-input", "--owner", "bench"]
    code = stagekit([*argv, "--config", str(config)])
    if code != 0:
        raise SystemExit(f"stagekit new failed ({code})")
    return dest


def _bases(lang: str, base: str) -> list[str]:
    version = host_versions()[Language(lang)]
    if version is None:
        raise SystemExit(f"no {lang} toolchain here")
    refs = builtin(Language(lang)).images_for(Base(base), version).values()
    return [ref for ref in dict.fromkeys(refs) if ref != "scratch"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    paths = EnginePaths.from_env()
    host = ensure_daemon(paths=paths)
    refs = list(dict.fromkeys(ref for combo in ARM64_COMBINATIONS for ref in _bases(*combo)))
    ensure_images(host, refs, paths=paths)
    address = ensure_registry(paths=paths)
    push_images(refs, paths=paths)
    publish_indexes(with_foreign_standin(refs))
    builder = ensure_builder(paths)
    endpoint = Endpoint(host, "benchmark")
    with tempfile.TemporaryDirectory(prefix="stagekit-bench-") as tmp:
        folder = Path(tmp)
        config = folder / "org.toml"
        config.write_text(f'[registry]\nprefix = "{address}"\n')
        variants: dict[tuple[str, str], tuple[Path, str | None, str | None]] = {}
        for lang, base in ARM64_COMBINATIONS:
            project = _render(folder, lang, base, config)
            label = f"{lang} on {base}"
            variants[(label, "amd64, local BuildKit")] = (project, None, None)
            variants[(label, "arm64, local BuildKit")] = (project, "linux/arm64", None)
        first = f"{ARM64_COMBINATIONS[0][0]} on {ARM64_COMBINATIONS[0][1]}"
        variants[(first, "amd64, remote BuildKit")] = (
            variants[(first, "amd64, local BuildKit")][0],
            None,
            builder,
        )
        times: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for key in order:
                project, platform, on = variants[key]
                request = BuildRequest(
                    context=project,
                    target="release",
                    tag=f"stagekit-bench/platforms:{run}",
                    build_args=BUILD_ARGS,
                    ca_bundle=system_ca_bundle(),
                    no_cache=True,
                    platform=platform,
                    builder=on,
                )
                outcome = buildx_build(endpoint, request, timeout=3600)
                if not outcome.ok:
                    sys.stderr.write(outcome.tail(30) + "\n")
                    raise SystemExit(f"{key}: build failed")
                times[key].append(outcome.seconds)
    print("| release, --no-cache | platform, builder | median | runs | vs amd64 local |")
    print("|---|---|---:|---:|---:|")
    for (label, name), values in times.items():
        factor = ratio(median(values), median(times[(label, "amd64, local BuildKit")]))
        shown = f"{factor:.2f} x" if factor is not None else "-"
        print(f"| {label} | {name} | {format_seconds(median(values))} | {len(values)} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
