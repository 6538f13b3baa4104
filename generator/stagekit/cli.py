"""The ``stagekit`` command: parse, call the library, print. Nothing else lives here.

Errors: every :class:`~stagekit.errors.StagekitError` is printed by :func:`main` as one line
(plus a hint line) on stderr and mapped to its exit code (docs/cli.md); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from stagekit import __version__
from stagekit.errors import EXIT_INTERRUPTED, AbortedError, StagekitError

NEW_EXAMPLES = """\
examples:
  stagekit new                                  ask everything (in a terminal)
  stagekit new payments --lang go --base scratch --no-input
  stagekit new --name payments --lang rust --base distroless --port 9000 --no-input
  stagekit new --answers answers.yaml           answers from a file (YAML or JSON)
  echo '{"name": "payments", "lang": "python"}' | stagekit new --answers - --no-input
"""

MAIN_EPILOG = """\
commands:
  new        create a service from a scaffold
  smoke      build, run and judge a generated project on a Docker Engine
  lint       check a generated project's Dockerfile and files
  scaffolds  list the scaffolds and what each offers

exit codes: 0 ok, 1 a check failed, 2 bad input, 3 no Docker Engine, 4 a build failed,
130 interrupted. See docs/cli.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stagekit",
        description="Scaffold a Go, Rust or Python service with a staged Dockerfile "
        "(build, test, debug, release) on alpine, distroless or scratch.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stagekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    new = sub.add_parser(
        "new",
        help="create a service from a scaffold",
        description="Create a new service. Asks in a terminal for every answer not given; "
        "with --no-input or without a terminal it never asks.",
        epilog=NEW_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("dest", nargs="?", type=Path, help="folder to create (default: ./NAME)")
    new.add_argument("--name", dest="project_name", help="project name, e.g. payments-api")
    new.add_argument("--lang", dest="language", choices=["go", "rust", "python"])
    new.add_argument("--base", choices=["distroless", "scratch", "alpine"], help="runtime base")
    new.add_argument("--version", dest="version", help="language version (from the catalog)")
    new.add_argument("--port", help="HTTP port the service listens on")
    new.add_argument("--description", help="one-paragraph description")
    new.add_argument("--owner", help="author or team (default: git config user.name)")
    new.add_argument("--module", dest="module_path", help="Go module path (Go only)")
    new.add_argument("--answers", metavar="FILE", help="answers file, YAML or JSON; - for stdin")
    new.add_argument("--no-input", action="store_true", help="never ask; use defaults")
    new.add_argument("--force", action="store_true", help="write into an existing folder")
    new.add_argument(
        "--overwrite", action="store_true", help="with --force: replace files that exist"
    )
    new.add_argument("--json", action="store_true", help="print the result as JSON")

    lint = sub.add_parser("lint", help="check a generated project's Dockerfile and files")
    lint.add_argument("project", nargs="?", type=Path, default=Path())
    lint.add_argument("--json", action="store_true", help="print the report as JSON")

    sub.add_parser("scaffolds", help="list the scaffolds and what each offers")

    try:
        from stagekit import cli_smoke
    except ImportError:  # pragma: no cover - smoke ships with stagekit; guard for partial installs
        pass
    else:
        cli_smoke.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stagekit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "new":
            return cmd_new(args)
        if args.command == "lint":
            return cmd_lint(args)
        if args.command == "scaffolds":
            return cmd_scaffolds()
        if args.command == "smoke":
            from stagekit import cli_smoke

            return cli_smoke.run(args)
        parser.print_help()
        return 0
    except AbortedError as exc:
        print_error(exc)
        return exc.exit_code
    except StagekitError as exc:
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stagekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def print_error(error: StagekitError, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    red, dim, reset = ("\033[31m", "\033[2m", "\033[0m") if use_color(stream) else ("", "", "")
    print(f"{red}stagekit: error:{reset} {error.message}", file=stream)
    if error.hint:
        print(f"{dim}  hint: {error.hint}{reset}", file=stream)


def _is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def cmd_new(args: argparse.Namespace) -> int:
    import json

    from stagekit.answers import load_answers_file, normalize_keys
    from stagekit.new import AnswerSources, new, resolve_answers

    flags = {
        key: getattr(args, key)
        for key in (
            "project_name",
            "language",
            "base",
            "version",
            "port",
            "description",
            "owner",
            "module_path",
        )
        if getattr(args, key) is not None
    }
    if args.project_name is None and args.dest is not None and "/" not in str(args.dest):
        flags["project_name"] = str(args.dest)
    file_answers = load_answers_file(args.answers) if args.answers else {}
    stdin_used = args.answers == "-"
    sources = AnswerSources(file=file_answers, flags=normalize_keys(flags, "flags"))
    scaffold, answers = resolve_answers(
        sources,
        no_input=args.no_input,
        interactive=_is_interactive() and not stdin_used,
    )
    result = new(answers, scaffold, args.dest, force=args.force, overwrite=args.overwrite)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(result.path),
                    "answers": answers.to_dict(),
                    "written": list(result.written),
                    "kept": list(result.kept),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    where = os.path.relpath(result.path)
    print(
        f"Created {where}: {answers.language} service on {answers.base}"
        f" ({len(result.written)} files)"
    )
    if result.kept:
        print(f"Kept {len(result.kept)} existing file(s) untouched (pass --overwrite to replace):")
        for name in result.kept:
            print(f"  {name}")
    print(f"Next: cd {where} && make test && make run   (or: stagekit smoke {where})")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from stagekit import lint as lint_module

    report = lint_module.lint(args.project)
    if args.json:
        import json

        print(json.dumps(report.to_json(), indent=2))
    else:
        print(lint_module.format_report(report))
    return 0 if report.ok else 1


def cmd_scaffolds() -> int:
    from stagekit.catalog import builtin
    from stagekit.model import Language

    for language in Language:
        scaffold = builtin(language)
        bases = ", ".join(base.value for base in scaffold.bases)
        versions = ", ".join(scaffold.versions)
        print(f"{scaffold.name:<8} builtin  bases: {bases}  versions: {versions}")
        for rule in scaffold.unsupported:
            what = " ".join(x for x in (rule.base, rule.version) if x)
            print(f"{'':<8}          not supported: {what}: {rule.reason}")
    return 0
