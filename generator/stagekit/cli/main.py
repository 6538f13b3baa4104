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
from typing import TYPE_CHECKING, TextIO

from stagekit import __version__
from stagekit.contract import BAKE_OVERRIDE_FILE, BUILD_ARGS_FILE, RECORD_FILE
from stagekit.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    StagekitError,
)
from stagekit.model import Base, Language

if TYPE_CHECKING:
    from stagekit.pin import PinReport

NEW_EXAMPLES = """\
examples:
  stagekit new                                  ask everything (in a terminal)
  stagekit new payments --lang go --base scratch --no-input
  stagekit new --name payments --lang rust --base distroless --port 9000 --no-input
  stagekit new --answers answers.yaml           answers from a file (YAML or JSON)
  echo '{"name": "payments", "lang": "python"}' | stagekit new --answers - --no-input
  stagekit new payments --scaffold ./templates/payments-go --no-input
  stagekit new payments --scaffold git+https://git.corp.example/t/go.git#ref=v2 --no-input
  stagekit new payments --scaffold payments       a name from the org config's [scaffolds]

org config (docs/platform-teams.md): --config FILE, else $STAGEKIT_CONFIG, else
~/.config/stagekit/config.toml and every stagekit.toml / .stagekit.toml above DEST (nearest wins).
"""

MAIN_EPILOG = """\
exit codes: 0 ok, 1 a check failed, 2 bad input, 3 no Docker Engine, 4 a build failed,
5 update left conflicts, 130 interrupted. See docs/cli.md.
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
    new.add_argument("--lang", dest="language", choices=[x.value for x in Language])
    new.add_argument("--base", choices=[x.value for x in Base], help="runtime base")
    new.add_argument("--version", dest="version", help="language version (from the catalog)")
    new.add_argument("--port", help="HTTP port the service listens on")
    new.add_argument("--description", help="one-paragraph description")
    new.add_argument("--owner", help="author or team (default: git config user.name)")
    new.add_argument("--module", dest="module_path", help="Go module path (Go only)")
    new.add_argument("--answers", metavar="FILE", help="answers file, YAML or JSON; - for stdin")
    new.add_argument(
        "--scaffold",
        metavar="NAME|PATH|GIT_URL",
        help="a configured or built-in scaffold name, a scaffold folder, or a git URL",
    )
    _config_option(new)
    new.add_argument("--no-input", action="store_true", help="never ask; use defaults")
    new.add_argument("--force", action="store_true", help="write into an existing folder")
    new.add_argument(
        "--overwrite", action="store_true", help="with --force: replace files that exist"
    )
    new.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pin the base images by digest, as `stagekit pin` does (default: the org config's "
        "[registry] pin, else no); needs the engine and the registry",
    )
    new.add_argument("--json", action="store_true", help="print the result as JSON")

    lint = sub.add_parser("lint", help="check a generated project's Dockerfile and files")
    lint.add_argument("project", nargs="?", type=Path, default=Path())
    lint.add_argument("--json", action="store_true", help="print the report as JSON")
    lint.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) when a check was skipped, e.g. for a missing tool",
    )

    scaffolds = sub.add_parser(
        "scaffolds",
        help="list the scaffolds and what each offers",
        description="List the built-in scaffolds and those the org config names "
        "(git sources are cloned to read them).",
    )
    _config_option(scaffolds)
    scaffolds.add_argument("--json", action="store_true", help="print the list as JSON")
    scaffolds_sub = scaffolds.add_subparsers(dest="scaffolds_command", metavar="SUBCOMMAND")
    export = scaffolds_sub.add_parser(
        "export",
        help="copy a scaffold out as a self-contained folder to start your own from",
        description="Write the built-in or configured scaffold NAME to DEST with every link "
        "resolved (stagekit's filters, the shared partials), ready for "
        "`stagekit new --scaffold DEST`. DEST must not exist or be empty.",
    )
    export.add_argument("name", metavar="NAME", help="a built-in or configured scaffold name")
    export.add_argument("dest", metavar="DEST", type=Path, help="folder to create")
    _config_option(export)

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of the answers",
        description="Print a JSON Schema (draft 2020-12) of the answers `stagekit new --answers` "
        "takes: choices from the scaffold catalog, defaults from the org config.",
    )
    schema.add_argument("--lang", dest="language", choices=[x.value for x in Language])
    schema.add_argument("--scaffold", metavar="NAME|PATH|GIT_URL", help="one scaffold's answers")
    _config_option(schema)

    doctor = sub.add_parser(
        "doctor",
        help="check that this machine can build what stagekit generates",
        description="Check the Docker endpoint, Engine, buildx, compose, hadolint, the org config, "
        "the CA bundle, arm64 emulation and the base images (a project's, or every scaffold's). "
        "Exit 0 when everything needed is there, 1 otherwise.",
    )
    doctor.add_argument(
        "project", nargs="?", type=Path, help="a stagekit project (default: this folder, if one)"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")

    from stagekit.cli import smoke as cli_smoke

    cli_smoke.register(sub)
    from stagekit.cli import update as cli_update

    cli_update.register(sub)
    from stagekit.cli import pin as cli_pin

    cli_pin.register(sub)
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
            return cmd_scaffolds(args)
        if args.command == "schema":
            return cmd_schema(args)
        if args.command == "doctor":
            return cmd_doctor(args)
        if args.command == "smoke":
            from stagekit.cli import smoke as cli_smoke

            return cli_smoke.run(args)
        if args.command == "pin":
            from stagekit.cli import pin as cli_pin

            return cli_pin.run(args)
        if args.command in ("update", "check", "diff"):
            from stagekit.cli import update as cli_update

            return cli_update.run(args)
        # No command is a usage error, as argparse treats one: the help goes where errors go.
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    except StagekitError as exc:
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stagekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `stagekit new ... | head -1`: what the command did stands; only its output was cut
        # short. Quiet, as a shell tool killed by SIGPIPE is; stdout is pointed at /dev/null so
        # that Python's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _pin_new(project: Path, *, created: bool) -> PinReport:
    """``new --pin``: a project this command created is removed again when pinning fails."""
    import shutil

    from stagekit.pin import pin

    try:
        return pin(project)
    except StagekitError as exc:
        if created:
            shutil.rmtree(project, ignore_errors=True)
            exc.hint = f"nothing was created; {exc.hint or 'try again, or drop --pin'}"
        else:
            exc.hint = f"the files were written unpinned; run `stagekit pin {project}` later"
        raise


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="org config file (TOML); only this file is read (default: search, see docs)",
    )


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
    from contextlib import ExitStack

    from stagekit.model.answers import load_answers_file, normalize_keys
    from stagekit.new.create import AnswerSources, new, resolve_answers
    from stagekit.org.config import load_config

    if TYPE_CHECKING:
        from stagekit.org.sources import Opened

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
    if args.project_name is None and args.dest is not None:
        # The folder's own name is the project's (`new /srv/x/ledger-api` → ledger-api); one
        # that breaks the name rules is refused by them, never replaced by a default.
        flags["project_name"] = args.dest.absolute().name
    dest_parent = args.dest.absolute().parent if args.dest is not None else Path.cwd()
    config = load_config(dest_parent, args.config)
    file_answers = load_answers_file(args.answers) if args.answers else {}
    stdin_used = args.answers == "-"
    sources = AnswerSources(
        config=config.defaults, file=file_answers, flags=normalize_keys(flags, "flags")
    )
    with ExitStack() as stack:
        opened: Opened | None = None
        if args.scaffold:  # cloned (if git) and validated before anything is asked
            from stagekit.org.sources import open_scaffold

            opened = stack.enter_context(open_scaffold(args.scaffold, config.scaffolds))
        scaffold, answers = resolve_answers(
            sources,
            no_input=args.no_input,
            interactive=_is_interactive() and not stdin_used,
            scaffold=opened.scaffold if opened else None,
        )
        existed = (args.dest or Path(answers.project_name)).absolute().exists()
        result = new(
            answers,
            scaffold,
            args.dest,
            force=args.force,
            overwrite=args.overwrite,
            config=config,
            record=opened.record() if opened else None,
        )
    pinned = None
    if args.pin if args.pin is not None else config.registry.pin:
        pinned = _pin_new(result.path, created=not existed)
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(result.path),
                    "answers": answers.to_dict(),
                    "scaffold": {"name": scaffold.name, "source": scaffold.source},
                    "config_files": [str(f) for f in config.files],
                    "written": list(result.written),
                    "kept": list(result.kept),
                    "pins": pinned.to_json()["references"] if pinned else None,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    where = os.path.relpath(result.path)
    origin = "" if scaffold.source == "builtin" else f" from scaffold {scaffold.source}"
    print(
        f"Created {where}: {answers.language} service on {answers.base}"
        f" ({len(result.written)} files){origin}"
    )
    if config.files:
        print(f"Org config: {config.describe()}")
    _print_network(result.path)
    if pinned:
        print(f"Pinned {len(pinned.entries)} base image references by digest (stagekit pin)")
    if result.kept:
        print(f"Kept {len(result.kept)} existing file(s) untouched (pass --overwrite to replace):")
        for name in result.kept:
            print(f"  {name}")
    print(f"Next: cd {where} && make test && make run   (or: stagekit smoke {where})")
    from stagekit.doctor import engine_missing_hint

    hint = engine_missing_hint()
    if hint:
        print(hint)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from stagekit.lint import run as lint_module
    from stagekit.model.project import load_project

    load_project(args.project)  # refuses a folder that is not a stagekit project, as smoke does
    report = lint_module.lint(args.project)
    if args.json:
        print(report.to_json())
    else:
        print(lint_module.format_report(report))
    if args.strict and report.skipped:
        # A skipped check proved nothing; under --strict that is a failure, never a pass.
        names = ", ".join(name for name, _reason in report.skipped)
        print(
            f"stagekit: lint --strict: {len(report.skipped)} check(s) skipped: {names}",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from stagekit.contract import RECORD_FILE
    from stagekit.doctor import doctor

    project = args.project
    if project is None and (Path.cwd() / RECORD_FILE).is_file():
        project = Path.cwd()
    report = doctor(project.absolute() if project is not None else None)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        fancy = (sys.stdout.encoding or "").lower().replace("-", "") == "utf8"
        marks = (
            {"ok": "✓", "warn": "!", "fail": "✗"}
            if fancy
            else {"ok": "[ok]", "warn": "[warn]", "fail": "[fail]"}
        )
        width = max(len(check.name) for check in report.checks)
        for check in report.checks:
            print(f"{marks[check.status]} {check.name:<{width}}  {check.found}")
            if check.fix:
                print(f"  {'':<{width}}  fix: {check.fix}")
        failed = [check.name for check in report.checks if check.status == "fail"]
        print(
            "doctor: everything stagekit needs is here"
            if report.ok
            else f"doctor: {len(failed)} problem(s): {', '.join(failed)}"
        )
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _print_network(project: Path) -> None:
    """Say which network settings the project carries (from its .stagekit.json)."""
    import json

    try:
        record = json.loads((project / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    network = record.get("network") or {}
    names = sorted(network.get("build_args") or {})
    if names:
        where = [f"{BUILD_ARGS_FILE} (smoke)"]
        if (project / BAKE_OVERRIDE_FILE).is_file():
            where.insert(0, f"{BAKE_OVERRIDE_FILE} (bake, make)")
        print(f"Build arguments in {' and '.join(where)}: {', '.join(names)}")
    if network.get("not_declared"):
        print(
            "Not passed (the scaffold's Dockerfile declares no ARG for them): "
            + ", ".join(network["not_declared"])
        )


def cmd_scaffolds(args: argparse.Namespace) -> int:
    import json

    from stagekit.org.config import load_config
    from stagekit.org.sources import list_scaffolds

    config = load_config(Path.cwd(), args.config)
    if args.scaffolds_command == "export":
        from stagekit.org.export import export

        exported = export(args.name, args.dest, config.scaffolds)
        print(
            f"Exported scaffold {exported.name!r} to {exported.path}"
            f" ({len(exported.files)} files); use it with"
            f" `stagekit new --scaffold {exported.path}`"
        )
        return 0
    entries = list_scaffolds(config.scaffolds)
    if args.json:
        print(json.dumps([entry.to_json() for entry in entries], indent=2, ensure_ascii=False))
    else:
        width = max(len(entry.name) for entry in entries)
        for entry in entries:
            if entry.scaffold is None:
                print(f"{entry.name:<{width}}  {entry.source}  unavailable: {entry.error}")
                continue
            scaffold = entry.scaffold
            bases = ", ".join(base.value for base in scaffold.bases)
            versions = ", ".join(scaffold.versions)
            at = f" @ {entry.commit[:12]}" if entry.commit else ""
            print(
                f"{entry.name:<{width}}  {scaffold.language:<6}  bases: {bases}  "
                f"versions: {versions}  source: {entry.source}{at}"
            )
            for rule in scaffold.unsupported:
                what = " ".join(x for x in (rule.base, rule.version) if x)
                print(f"{'':<{width}}  not supported: {what}: {rule.reason}")
    failed = [entry for entry in entries if entry.error]
    for entry in failed:
        print(f"stagekit: error: scaffold {entry.name!r} is unavailable", file=sys.stderr)
    return 2 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from stagekit.model import Language
    from stagekit.model.catalog import builtin
    from stagekit.model.schema import answers_schema
    from stagekit.org.config import load_config
    from stagekit.org.sources import open_scaffold

    config = load_config(Path.cwd(), args.config)
    if args.scaffold:
        with open_scaffold(args.scaffold, config.scaffolds) as opened:
            scaffold = opened.scaffold
            if args.language and args.language != scaffold.language.value:
                raise StagekitError(
                    f"--lang {args.language} does not match scaffold {scaffold.name!r}"
                    f" ({scaffold.language})"
                )
            schema = answers_schema([scaffold], config.defaults)
    elif args.language:
        schema = answers_schema([builtin(Language(args.language))], config.defaults)
    else:
        schema = answers_schema([builtin(lang) for lang in Language], config.defaults)
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0
