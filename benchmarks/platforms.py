"""Platforms and builders: the release build of one project for amd64 vs arm64, and on the local
engine's BuildKit vs a remote one, side by side in one run.

Each build runs with ``--no-cache`` (cache mounts stay warm, as on a developer's machine), the
variants alternating run by run so that a machine getting busier favours none. Go on scratch is
the combination both platforms build here (docs/benchmarks.md says which steps emulate: none for
Go, whose build stage cross-compiles on the build platform). The remote builder is the suite's
buildkitd (tests/engine/buildkit.py), whose bases come from the loopback registry.

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

from benchmarks.stats import format_seconds, median, ratio
from tests.engine.buildkit import ensure_builder
from tests.engine.daemon import ensure_daemon
from tests.engine.paths import EnginePaths
from tests.engine.registry import ensure_registry, push_images
from tests.engine.standins import ensure_images

GO_REFS = ["golang:1.26-trixie"]
EPOCH = 1_700_000_000
BUILD_ARGS = {
    "SOURCE_DATE_EPOCH": str(EPOCH),
    "CREATED": created_label(EPOCH),
    "VERSION": "0.1.0",
    "REVISION": "bench",
}


def _render(folder: Path, name: str, config: str) -> Path:
    dest = folder / name
    argv = ["new", str(dest), "--lang", "go", "--base", "scratch", "--no-input", "--owner", "bench"]
    code = stagekit([*argv, "--config", config])
    if code != 0:
        raise SystemExit(f"stagekit new failed ({code})")
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    paths = EnginePaths.from_env()
    host = ensure_daemon(paths=paths)
    ensure_images(host, GO_REFS, paths=paths)
    address = ensure_registry(paths=paths)
    push_images(GO_REFS, paths=paths)
    builder = ensure_builder(paths)
    endpoint = Endpoint(host, "benchmark")
    with tempfile.TemporaryDirectory(prefix="stagekit-bench-") as tmp:
        folder = Path(tmp)
        config = folder / "org.toml"
        config.write_text(f'[registry]\nprefix = "{address}"\n')
        local = _render(folder, "bench-local", "/dev/null")
        remote = _render(folder, "bench-remote", str(config))
        variants = {
            "amd64, local BuildKit": (local, None, None),
            "arm64, local BuildKit": (local, "linux/arm64", None),
            "amd64, remote BuildKit": (remote, None, builder),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for name in order:
                project, platform, on = variants[name]
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
                outcome = buildx_build(endpoint, request)
                if not outcome.ok:
                    sys.stderr.write(outcome.tail(30) + "\n")
                    raise SystemExit(f"{name}: build failed")
                times[name].append(outcome.seconds)
    base = median(times["amd64, local BuildKit"])
    print("| go on scratch, release, --no-cache | median | runs | vs amd64 local |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        factor = ratio(median(values), base)
        shown = f"{factor:.2f} x" if factor is not None else "-"
        print(f"| {name} | {format_seconds(median(values))} | {len(values)} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
