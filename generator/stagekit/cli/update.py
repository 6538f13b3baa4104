"""The ``update``, ``check`` and ``diff`` subcommands: options, and the calls into the library.

Exit codes (docs/cli.md): update 0 clean or nothing to do, 5 conflicts remain, 2 refused (dirty
tree, bad --set, not a git work tree), 1 lint or smoke failed after a clean update; check 0 up to
date, 1 behind; diff 0.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from stagekit.cli.smoke import add_project_argument
from stagekit.errors import EXIT_CHECK_FAILED, EXIT_CONFLICTS, EXIT_OK

COMMANDS = ("update", "check", "diff")

UPDATE_EPILOG = """\
examples:
  stagekit update                      three-way merge with the scaffold's current revision
  stagekit update --dry-run            print the report and the diff; write nothing
  stagekit update --set base=distroless --set port=9090
  stagekit update --ci --json          for a scheduled job: no unmerged entries, `pending` list
  stagekit update --continue           after resolving the conflicts
  stagekit update --abort              put everything back as it was

exit codes: 0 updated (or nothing to do), 5 conflicts remain, 2 refused (dirty tree, bad --set,
not a git work tree), 1 lint or smoke failed after a clean update, 130 interrupted.
"""


def register(subparsers: Any) -> None:
    """Add ``update``, ``check`` and ``diff`` to ``stagekit``'s subparsers."""
    update = subparsers.add_parser(
        "update",
        help="carry the project forward to its scaffold's new revision, keeping local edits",
        description="Three-way merge of every generated file: BASE (the render the project was "
        "made from), your working tree, and the render of the scaffold's new revision.",
        epilog=UPDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_project_argument(update)
    update.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change an answer (base, version, port, name, ...); repeatable",
    )
    update.add_argument(
        "--scaffold", metavar="PATH|GIT_URL", help="update to this scaffold (a new revision)"
    )
    update.add_argument(
        "--restore", action="append", default=[], metavar="PATH", help="bring back a deleted file"
    )
    update.add_argument("--dry-run", action="store_true", help="print the report and diff only")
    update.add_argument(
        "--ci",
        action="store_true",
        help="no unmerged entries, conflicts listed as `pending`; the report is Markdown",
    )
    update.add_argument("--no-lint", action="store_true", help="skip stagekit lint afterwards")
    update.add_argument("--smoke", action="store_true", help="also run stagekit smoke afterwards")
    update.add_argument("--json", action="store_true", help="print the report as JSON")
    resume = update.add_mutually_exclusive_group()
    resume.add_argument("--continue", dest="resume", action="store_true", help="finish an update")
    resume.add_argument("--abort", action="store_true", help="undo an unfinished update")

    check = subparsers.add_parser(
        "check", help="say whether the project is behind its scaffold (exit 1 when it is)"
    )
    add_project_argument(check)
    check.add_argument("--scaffold", metavar="PATH|GIT_URL", help="compare with this scaffold")
    check.add_argument("--json", action="store_true", help="print the result as JSON")

    diff = subparsers.add_parser("diff", help="show how the project drifted from its BASE")
    add_project_argument(diff)


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``update``, ``check`` or ``diff`` command; return its exit code."""
    from stagekit.update import run as library

    if args.command == "check":
        checked = library.check(args.project, scaffold=args.scaffold)
        if args.json:
            print(json.dumps(checked.to_json(), indent=2))
        else:
            state = "behind" if checked.behind else "up to date"
            print(
                f"{checked.project}: {state} (project: {checked.current}, latest: {checked.latest})"
            )
            if checked.pending:
                print(f"pending conflicts: {', '.join(checked.pending)}")
        return EXIT_CHECK_FAILED if checked.behind else EXIT_OK
    if args.command == "diff":
        print(library.drift(args.project), end="")
        return EXIT_OK
    if args.abort:
        paths = library.abort(args.project)
        print(f"stagekit update aborted: {len(paths)} file(s) restored")
        return EXIT_OK
    if args.resume:
        paths = library.resume(args.project)
        print(f"stagekit update finished: {len(paths)} resolved file(s) staged, record advanced")
        return _after(args)
    result = library.update(
        args.project,
        sets=library.parse_sets(args.sets),
        scaffold=args.scaffold,
        restore=args.restore,
        ci=args.ci,
        dry_run=args.dry_run,
    )
    plan = result.plan
    if args.json:
        print(json.dumps({**plan.to_json(), "written": result.written}, indent=2))
    elif args.ci:
        print(plan.format_markdown())
    else:
        print(plan.format_text())
        if args.dry_run:
            print(plan.unified_diff(), end="")
        elif result.conflicts and not args.ci:
            print(
                "conflicts are recorded in git (git status shows them): resolve, then"
                " `stagekit update --continue`, or `stagekit update --abort`"
            )
    if result.conflicts:
        return EXIT_CONFLICTS
    if args.dry_run or not result.written:
        return EXIT_OK
    return _after(args)


def _after(args: argparse.Namespace) -> int:
    """Lint (and smoke) the merged project; their failure is exit 1."""
    code = EXIT_OK
    if not args.no_lint:
        from stagekit.lint import run as lint

        report = lint.lint(args.project)
        if not report.ok:
            print(lint.format_report(report))
            code = EXIT_CHECK_FAILED
    if args.smoke and code == EXIT_OK:
        from stagekit.cli import smoke as cli_smoke
        from stagekit.cli.main import build_parser

        smoked = cli_smoke.run(build_parser().parse_args(["smoke", str(args.project)]))
        code = EXIT_OK if smoked == EXIT_OK else EXIT_CHECK_FAILED
    return code
