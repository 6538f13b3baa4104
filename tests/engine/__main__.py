"""``python -m tests.engine``: start, inspect, stop and remove the suite's Docker Engine.

Exit codes: 0 done; 1 an engine error (message and hint on stderr); 2 bad usage;
3 some references cannot be provisioned on this machine (the others were).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from tests.engine.buildkit import stop_builder
from tests.engine.daemon import clean, ensure_daemon, status, stop_daemon
from tests.engine.errors import EngineError, StandinUnavailable
from tests.engine.indexes import publish_indexes
from tests.engine.paths import EnginePaths
from tests.engine.registry import answers, disk_usage, ensure_registry, push_images, stop_registry
from tests.engine.standins import StandinResult, ensure_images, image_size_table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser(
        "up", help="start the suite's dockerd and registry; print `export DOCKER_HOST=...`"
    )
    up.add_argument("--timeout", type=float, default=60)
    images = sub.add_parser("images", help="provision stand-in base images for REF...")
    images.add_argument("refs", nargs="+", metavar="REF")
    push = sub.add_parser("push", help="push local images REF... to the suite's registry (once)")
    push.add_argument("refs", nargs="+", metavar="REF")
    index = sub.add_parser(
        "index",
        help="serve stand-ins REF... as two-platform indexes (amd64 + arm64) in the registry",
    )
    index.add_argument("refs", nargs="+", metavar="REF")
    sub.add_parser("status", help="is it running, and which images it holds")
    sub.add_parser("down", help="stop the suite's dockerd and registry (keeps their images)")
    sub.add_parser(
        "clean", help="stop both; remove the data root, registry storage, caches, bridge, NAT chain"
    )
    return parser


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _print_results(results: Sequence[StandinResult]) -> None:
    rows = image_size_table(results)
    if not rows:
        return
    width = max(len(row[0]) for row in rows)
    for ref, state, short, size in rows:
        print(f"{ref:<{width}}  {state:<7}  {short:<12}  {size}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the only place that turns engine errors into output and exit codes."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "up":
            host = ensure_daemon(timeout=args.timeout)
            _log(f"registry on {ensure_registry()}")
            print(f"export DOCKER_HOST={host}")
        elif args.command == "push":
            ensure_daemon()
            ensure_registry()
            started = time.monotonic()
            for pushed in push_images(args.refs, log=_log):
                state = "pushed" if pushed.pushed else "present"
                print(f"{pushed.name}  {pushed.digest}  {state}")
            _log(f"done in {time.monotonic() - started:.1f} s; registry storage {disk_usage()} B")
        elif args.command == "index":
            host = ensure_daemon()
            ensure_registry()
            started = time.monotonic()
            ensure_images(host, args.refs, log=_log)
            for published in publish_indexes(args.refs, log=_log):
                state = "written" if published.written else "present"
                platforms = ", ".join(published.platforms)
                print(f"{published.reference}  {published.digest}  {platforms}  {state}")
            _log(f"done in {time.monotonic() - started:.1f} s")
        elif args.command == "images":
            host = ensure_daemon()
            started = time.monotonic()
            try:
                results = ensure_images(host, args.refs, log=_log)
            except StandinUnavailable as exc:
                _print_results(exc.results)
                for ref, reason in exc.reasons.items():
                    print(f"{ref}: unavailable: {reason}", file=sys.stderr)
                return 3
            _print_results(results)
            _log(f"done in {time.monotonic() - started:.1f} s")
        elif args.command == "status":
            where = EnginePaths.from_env()
            print(status().as_json())
            state = "answering" if answers(where) else "not running"
            print(f"registry {where.registry_address}: {state}, {disk_usage()} B stored")
        elif args.command == "down":
            if stop_builder(EnginePaths.from_env()):
                print("remote builder stopped")
            print("registry stopped" if stop_registry() else "registry not running")
            print("stopped" if stop_daemon() else "not running")
        elif args.command == "clean":
            if stop_builder(EnginePaths.from_env()):
                print("removed buildkitd process")
            if stop_registry():
                print("removed registry process")
            for item in clean():
                print(f"removed {item}")
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
