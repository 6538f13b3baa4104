"""The ``pin`` subcommand: options, the call into :mod:`stagekit.pin`, and its output.

Exit codes (docs/cli.md): 0 pinned (or, with --check, every pin current); 1 --check found an
unpinned or stale reference; 3 no engine, or no registry answering (pin then changes nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stagekit.cli.smoke import add_project_argument
from stagekit.errors import EXIT_CHECK_FAILED, EXIT_ENGINE, EXIT_OK

PIN_EPILOG = """\
examples:
  stagekit pin                 pin every FROM image of this project to its current digest
  stagekit pin --check         list unpinned or stale references; write nothing (CI)
  stagekit new payments --pin  pin at generation (or `pin = true` in the org config's [new])

exit codes: 0 done (--check: all current), 1 --check found unpinned or stale references,
3 no Docker Engine or no registry answering (nothing changed).
"""


def register(subparsers: Any) -> None:
    pin = subparsers.add_parser(
        "pin",
        help="pin the Dockerfile's base images by digest",
        description="Resolve every FROM image (as the registry mapping wrote it) to the digest "
        "its registry serves for the tag, through the Docker Engine, and write name:tag@digest "
        "into the Dockerfile and the digests into .stagekit.json.",
        epilog=PIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_project_argument(pin)
    pin.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a reference is unpinned or its tag has moved",
    )
    pin.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from stagekit import pin

    report = pin.check(args.project) if args.check else pin.pin(args.project)
    failing = report.failing
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        verb = "Checked" if args.check else "Pinned"
        print(f"{verb} {len(report.entries)} base image references in {report.project}")
        print(report.format())
        if failing:
            names = ", ".join(sorted({e.reference for e in failing}))
            print(
                f"stagekit pin --check: not pinned to the current digest: {names}", file=sys.stderr
            )
    if failing:
        return EXIT_CHECK_FAILED
    if report.registry_error:
        return EXIT_ENGINE
    return EXIT_OK
