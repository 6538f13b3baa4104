"""``stagekit smoke``: the command's options, and the call into :mod:`stagekit.smoke.run`.

Exit codes (docs/smoke.md): 0 every check passed, 1 a check failed, 4 a build failed; errors
(not a project, no engine, port in use) are raised as ``StagekitError`` for ``stagekit.cli.main`` to
print (2, 3); Ctrl-C or SIGTERM remove the run's containers and exit 130.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from stagekit.contract import MULTI_PLATFORMS, Stage
from stagekit.errors import ValidationError

DESCRIPTION = """\
Build the test, debug and release stages of a stagekit project with BuildKit, inspect the
release image, run it read-only without capabilities on 127.0.0.1, and check that the debugger
port answers."""

EPILOG = """\
examples:
  stagekit smoke                          the project in the current folder, every stage
  stagekit smoke payments --stage release --max-size 20MB
  stagekit smoke --json > smoke.json      one JSON document for CI
  stagekit smoke --ca-bundle corp-root.pem   behind a TLS-intercepting proxy

exit codes: 0 passed, 1 a check failed, 2 bad input or not a project, 3 no Docker Engine,
4 a build failed, 130 interrupted (containers are removed either way). See docs/smoke.md.
"""


def register(subparsers: Any) -> None:
    """Add the ``smoke`` subcommand to ``stagekit``'s subparsers."""
    parser = subparsers.add_parser(
        "smoke",
        help="build, run and judge a generated project on a Docker Engine",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    """The optional PROJECT_DIR every command on a generated project takes."""
    parser.add_argument(
        "project",
        nargs="?",
        type=Path,
        default=Path(),
        metavar="PROJECT_DIR",
        help="the project's folder (default: the current folder)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_argument(parser)
    parser.add_argument(
        "--stage",
        dest="stages",
        action="append",
        choices=[s.value for s in _STAGES],
        help="build and check only this stage (repeatable; default: test, debug, release)",
    )
    parser.add_argument("--no-cache", action="store_true", help="build without BuildKit's cache")
    images = parser.add_mutually_exclusive_group()
    images.add_argument(
        "--keep",
        action="store_true",
        help="leave every image built (default: the test and debug images are removed)",
    )
    images.add_argument(
        "--clean", action="store_true", help="remove every image built, the release one too"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="bound of each wait: healthy, health endpoint, SIGTERM exit, debugger (default 120)",
    )
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="PATH",
        help="CA bundle for TLS-intercepting proxies; a corporate root alone is added to the "
        "system bundle",
    )
    parser.add_argument(
        "--max-size",
        type=_size,
        metavar="SIZE",
        help="fail when the release image is larger: 50MB, 12MiB or bytes",
    )
    parser.add_argument(
        "--platform",
        choices=list(MULTI_PLATFORMS),
        help="build and run for this platform; another than the engine's runs under emulation "
        "(QEMU), with every wait scaled (default: the engine's platform)",
    )
    parser.add_argument(
        "--builder",
        metavar="NAME",
        help="build on this buildx builder, e.g. a remote BuildKit (default: BUILDX_BUILDER, "
        "else buildx's current builder); the result is loaded into the engine to run",
    )
    parser.add_argument(
        "--sbom",
        type=Path,
        metavar="FILE",
        help="write the release image's SBOM (CycloneDX JSON, made by Syft) to FILE",
    )
    parser.add_argument(
        "--host-port",
        type=int,
        metavar="PORT",
        help="publish the release container on this 127.0.0.1 port (default: a free one)",
    )
    parser.add_argument(
        "--build-arg",
        dest="build_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a build argument (e.g. VERSION=1.2.3; repeatable)",
    )
    parser.add_argument(
        "--image",
        dest="images",
        action="append",
        default=[],
        metavar="STAGE=IMAGE",
        help="judge this image for STAGE instead of building it (e.g. release=app:1.2; repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")
    parser.add_argument("--no-lint", action="store_true", help="skip `stagekit lint`")


_STAGES = (Stage.TEST, Stage.DEBUG, Stage.RELEASE)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} s is not within (0, 3600]")
    return value


def _size(text: str) -> int:
    from stagekit.smoke.checks import parse_size

    try:
        return parse_size(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message}; {exc.hint}") from None


def parse_build_args(items: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError("build-arg", f"{item!r} is not KEY=VALUE")
        args[key] = value
    return args


def parse_images(items: list[str]) -> dict[Stage, str]:
    images: dict[Stage, str] = {}
    for item in items:
        stage, sep, reference = item.partition("=")
        if not sep or not reference or stage not in {s.value for s in _STAGES}:
            raise ValidationError(
                "image", f"{item!r} is not STAGE=IMAGE", "STAGE is test, debug or release"
            )
        images[Stage(stage)] = reference
    return images


def options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~stagekit.smoke.run.SmokeOptions` the parsed arguments ask for."""
    from stagekit.smoke.report import DEFAULT_STAGES, SmokeOptions

    stages = tuple(Stage(s) for s in args.stages) if args.stages else DEFAULT_STAGES
    return SmokeOptions(
        project=args.project,
        stages=stages,
        no_cache=args.no_cache,
        keep=args.keep,
        clean=args.clean,
        timeout=args.timeout,
        ca_bundle=args.ca_bundle,
        max_size=args.max_size,
        lint=not args.no_lint,
        host_port=args.host_port,
        build_args=parse_build_args(args.build_args),
        prebuilt=parse_images(args.images),
        sbom=args.sbom.absolute() if args.sbom else None,
        platform=args.platform,
        builder=args.builder,
    )


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so the run's finally blocks remove its containers."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Run the smoke test; print the table (or JSON); return the exit code."""
    from stagekit.smoke.output import LiveProgress, make_console, render_json, render_report
    from stagekit.smoke.run import smoke

    options = options_from_args(args)
    out = make_console(sys.stdout)
    progress_console = make_console(sys.stderr) if args.json else out
    live = progress_console.is_terminal
    with sigterm_as_interrupt():
        if args.json and not live:
            report = smoke(options)
        else:
            with LiveProgress(progress_console, live=live) as progress:
                report = smoke(options, on_event=progress)
    if args.json:
        print(render_json(report))
    else:
        render_report(report, out)
    return int(report.exit_code)
