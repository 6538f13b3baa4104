"""``python -m benchmarks.run``: measure, print the tables, write JSON and Markdown.

    python -m benchmarks.run                      full run (destructive to the build cache)
    python -m benchmarks.run --quick              go/scratch only, one repetition (CI)
    python -m benchmarks.run --json out.json --markdown docs/benchmarks.md

The engine is the one ``DOCKER_HOST`` (or the docker context) names. A full run prunes the
engine's whole build cache (``docker builder prune -af``) several times: do not run it while
others build on the same engine. Exit status: 0 when every measurement ran (whatever the targets
say, unless ``--strict``), 1 when a build or measurement failed or ``--strict`` saw a missed
target, 3 when no engine answers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from requests.exceptions import RequestException
from stagekit.engine.client import BuildOutcome, ping, resolve_endpoint, system_ca_bundle
from stagekit.engine.imagefs import entrypoint_program, measure_payload, total_file_bytes
from stagekit.errors import StagekitError
from stagekit.model import Base, Language
from stagekit.model.project import load_project

from benchmarks import generation, report, update_time
from benchmarks.buildlog import cached_labels, dependency_steps, parse_steps
from benchmarks.machine import load, machine_facts, tool_versions
from benchmarks.measure import TAG_PREFIX, Combo, Engine, plan, render
from benchmarks.sources import NAIVE_STAGE, change_one_line, naive_dockerfile
from benchmarks.stats import median, ratio

SOURCE_DATE_EPOCH = 1_700_000_000
#: Bases in the order a language's first (cold, rebuilt) build uses them.
REBUILD_BASE_ORDER = (Base.SCRATCH, Base.DISTROLESS, Base.ALPINE)


@dataclass(frozen=True)
class Settings:
    quick: bool
    languages: list[Language]
    bases: list[Base]
    generation_runs: int
    startup_runs: int
    rebuild_rounds: int
    cold_mode: str
    stagekit: str
    cookiecutter: str
    python: str
    keep_images: bool
    bases_given: bool


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Image sizes, rebuild and generation times, reproducibility; one table per"
        " section. A full run prunes the engine's build cache.",
    )
    parser.add_argument("--quick", action="store_true", help="go/scratch only, fewest runs (CI)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every figure as JSON")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="write the Markdown report")
    parser.add_argument(
        "--cold",
        choices=["prune", "no-cache"],
        default="prune",
        help="how cold builds start: after `docker builder prune -af` (default) or with"
        " --no-cache (keeps every other user's build cache; cache mounts stay warm)",
    )
    parser.add_argument("--lang", action="append", choices=[x.value for x in Language])
    parser.add_argument("--base", action="append", choices=[x.value for x in Base])
    parser.add_argument("--runs", type=int, help="generation runs (default 15; quick 2)")
    parser.add_argument("--keep-images", action="store_true", help="keep the benchmark's images")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="IN",
        help="measure nothing: print (and --markdown) the report of an earlier --json run",
    )
    here = Path(sys.executable).parent
    parser.add_argument("--stagekit", default=_script(here, "stagekit"))
    parser.add_argument("--cookiecutter", default=_script(here, "cookiecutter"))
    return parser.parse_args(argv)


def _script(folder: Path, name: str) -> str:
    candidate = folder / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def settings_from(args: argparse.Namespace) -> Settings:
    languages = [Language(x) for x in args.lang] if args.lang else list(Language)
    bases = [Base(x) for x in args.base] if args.base else list(REBUILD_BASE_ORDER)
    if args.quick:
        languages = languages[:1] if args.lang else [Language.GO]
        bases = bases[:1] if args.base else [Base.SCRATCH]
    python = str(Path(args.stagekit).parent / "python")
    return Settings(
        quick=args.quick,
        languages=languages,
        bases=bases,
        generation_runs=args.runs or (2 if args.quick else 15),
        startup_runs=3 if args.quick else 15,
        rebuild_rounds=1 if args.quick else 2,
        cold_mode=args.cold,
        stagekit=args.stagekit,
        cookiecutter=args.cookiecutter,
        python=python if Path(python).exists() else sys.executable,
        keep_images=args.keep_images,
        bases_given=bool(args.base) or args.quick,
    )


def say(message: str) -> None:
    load1 = load()[0]
    print(f"[{time.strftime('%H:%M:%S')} load {load1:.2f}] {message}", file=sys.stderr, flush=True)


def offline_reason(ref: str) -> str | None:
    """Why a missing base image cannot be provisioned here (the test engine's stand-in recipes)."""
    try:
        from tests.engine.standins import unavailable_reason
    except ImportError:
        return None
    try:
        return unavailable_reason(ref)
    except Exception:  # an unknown reference: nothing to explain
        return None


# --- the sections ---------------------------------------------------------------------------------


def measure_generation(settings: Settings, work: Path, data: dict[str, Any]) -> None:
    from stagekit.model.catalog import builtin

    rows = []
    env = generation.bytecode_env(work / "pycache")
    data["bytecode"] = (
        "compiled once and reused by every timed command of both tools (PYTHONPYCACHEPREFIX),"
        " as after pip install"
    )
    for language in settings.languages:
        try:
            scaffold = builtin(language)
        except StagekitError as exc:
            data["errors"].append(f"{language}/generation: no scaffold ({exc})")
            continue
        base = settings.bases[0] if settings.bases_given else scaffold.default_base
        say(f"generation: {language} ({base}), {settings.generation_runs} runs of each")
        try:
            result = generation.compare_generation(
                language=language.value,
                base=base.value,
                scaffold_path=scaffold.path,
                stagekit=settings.stagekit,
                cookiecutter=settings.cookiecutter,
                runs=settings.generation_runs,
                workdir=work / f"generation-{language}",
                env=env,
            )
        except (RuntimeError, OSError) as exc:
            data["errors"].append(f"{language}/generation: {exc}")
            continue
        rows.append(result.to_dict())
    data["generation"] = rows
    data["update"] = measure_update(settings, work, env, data)
    say(f"start-up: {settings.startup_runs} runs of each")
    commands = {
        "stagekit --version": [settings.stagekit, "--version"],
        "cookiecutter --version": [settings.cookiecutter, "--version"],
        "python -I -c pass (interpreter alone)": [settings.python, "-I", "-c", "pass"],
        # --default: an unset name (as on CI, or in the hermetic test session) is no failure.
        "git config --get user.name (stagekit new asks it)": [
            "git",
            "config",
            "--default",
            "",
            "--get",
            "user.name",
        ],
    }
    try:
        times = generation.startup(commands, settings.startup_runs, work, env)
        data["startup"] = {
            name: {"runs_s": values, "median_s": median(values)} for name, values in times.items()
        }
    except (RuntimeError, OSError) as exc:
        data["errors"].append(f"start-up: {exc}")
    language = settings.languages[0]
    folder = work / "importtime"
    (folder / "stagekit").mkdir(parents=True)
    (folder / "cookiecutter").mkdir()
    try:
        from stagekit.model.catalog import builtin

        ours = generation.importtime(
            [settings.python, "-m", "stagekit", "new", str(folder / "stagekit" / "hello-service"),
             "--lang", language.value, "--base", "scratch", "--no-input"],
            folder,
            env,
        )  # fmt: skip
        theirs = generation.importtime(
            [settings.python, "-m", "cookiecutter", str(builtin(language).path), "--no-input",
             "-o", str(folder / "cookiecutter"), "base=scratch"],
            folder,
            env,
        )  # fmt: skip
        found = generation.loaded(ours)
        added_us, added = generation.added_imports(ours, theirs)
        data["imports"] = {
            "language": language.value,
            "total_us": sum(i.cumulative_us for i in ours if i.depth == 0),
            "cookiecutter_total_us": sum(i.cumulative_us for i in theirs if i.depth == 0),
            "heaviest": generation.heaviest(ours),
            "added_over_cookiecutter_us": added_us,
            "added_over_cookiecutter": added,
            "lazy_loaded_by": found,
            "lazy_loaded": generation.blamed_on_stagekit(found),
        }
    except (RuntimeError, OSError, StagekitError) as exc:
        data["errors"].append(f"importtime: {exc}")


def build_rounds(
    engine: Engine, combos: list[Combo], settings: Settings, work: Path, data: dict[str, Any]
) -> dict[str, str]:
    """Two rounds; each starts every language cold. Returns combo key → last good release tag."""
    by_language: dict[Language, list[Combo]] = {}
    for combo in combos:
        if combo.reason is None:
            by_language.setdefault(combo.language, []).append(combo)
    for group in by_language.values():
        group.sort(key=lambda c: REBUILD_BASE_ORDER.index(c.base))
    repro: dict[str, dict[str, Any]] = {}
    rebuild: dict[Language, dict[str, Any]] = {}
    latest: dict[str, str] = {}
    no_cache = settings.cold_mode == "no-cache"
    for round_number in (1, 2):
        for language, group in by_language.items():
            if settings.cold_mode == "prune":
                seconds, reclaimed = engine.prune()
                data["prunes"].append(
                    {
                        "round": round_number,
                        "before": language.value,
                        "seconds": seconds,
                        "reclaimed": reclaimed,
                    }
                )
                say(f"round {round_number}: pruned the build cache ({reclaimed}) before {language}")
            for position, combo in enumerate(group):
                assert combo.project is not None
                what = "cold" if position == 0 else "after its sibling base"
                say(f"round {round_number}: {combo.key} release ({what})")
                outcome = engine.build(
                    combo.project, combo.tag(f"build{round_number}"), no_cache=no_cache
                )
                row = repro.setdefault(
                    combo.key,
                    {
                        "language": combo.language.value,
                        "base": combo.base.value,
                        "image_ids": [None, None],
                        "seconds": [None, None],
                    },
                )
                if not outcome.ok:
                    _failed(data, combo.key, f"round {round_number} release build", outcome)
                    continue
                row["image_ids"][round_number - 1] = outcome.image_id
                row["seconds"][round_number - 1] = outcome.seconds
                latest[combo.key] = combo.tag(f"build{round_number}")
                if position == 0:
                    entry = rebuild.setdefault(
                        language,
                        {
                            "language": language.value,
                            "base": combo.base.value,
                            "cold_s": [],
                            "rebuild_s": [],
                        },
                    )
                    entry["cold_s"].append(outcome.seconds)
                    if round_number <= settings.rebuild_rounds:
                        _rebuild(engine, combo, work, entry, data)
    for row in repro.values():
        ids = row["image_ids"]
        row["identical"] = (ids[0] == ids[1]) if None not in ids else None
    data["reproducibility"] = list(repro.values())
    for entry in rebuild.values():
        entry["cold_median_s"] = median(entry["cold_s"])
        entry["rebuild_median_s"] = median(entry["rebuild_s"])
        entry["ratio"] = ratio(entry["rebuild_median_s"], entry["cold_median_s"])
    data["rebuild"] = list(rebuild.values())
    return latest


def _rebuild(
    engine: Engine, combo: Combo, work: Path, entry: dict[str, Any], data: dict[str, Any]
) -> None:
    """Copy the project, change one line, rebuild the release target on the warm cache."""
    assert combo.project is not None
    copy = work / "rebuild" / combo.language.value / combo.project.name
    if not copy.exists():
        shutil.copytree(combo.project, copy, symlinks=True)
    mark = f"!{uuid.uuid4().hex[:8]}"  # new sources every time, never in the cache already
    change = change_one_line(copy, combo.language, mark)
    entry["change"] = change.describe(copy)
    say(f"  rebuild after one-line change: {entry['change']}")
    try:
        outcome = engine.build(copy, combo.tag("rebuild"))
    finally:
        change.undo()
    if not outcome.ok:
        _failed(data, combo.key, "rebuild after a one-line change", outcome)
        return
    steps = parse_steps(outcome.log)
    deps = dependency_steps(steps)
    entry["rebuild_s"].append(outcome.seconds)
    entry.setdefault("runs", []).append(
        {
            "seconds": outcome.seconds,
            "change": entry["change"],
            "cached_steps": cached_labels(steps),
            "engine_cached_steps": list(outcome.cached_steps),
            "dependency_steps": [s.label for s in deps],
            # No dependency step at all counts as not cached: everything rebuilds then.
            "dependency_cached": bool(deps) and all(s.reused for s in deps),
            "dependency_rebuilt": [s.label for s in deps if not s.reused],
            "steps_total": sum(1 for s in steps if s.keyword in ("RUN", "COPY", "ADD")),
        }
    )
    last = entry["runs"][-1]
    entry["cached_steps"] = last["cached_steps"]
    entry["steps_total"] = last["steps_total"]
    entry["dependency_steps"] = last["dependency_steps"]
    entry["dependency_cached"] = all(run["dependency_cached"] for run in entry["runs"])


def _failed(data: dict[str, Any], key: str, what: str, outcome: BuildOutcome) -> None:
    data["errors"].append(f"{key}: {what} failed after {outcome.seconds:.0f} s")
    say(f"FAILED: {key}: {what}\n{outcome.tail(25)}")


def measure_sizes(
    engine: Engine, combos: list[Combo], latest: dict[str, str], work: Path, data: dict[str, Any]
) -> None:
    """Release vs payload (exported filesystem) and vs a naive single-stage build."""
    naive: dict[str, dict[str, Any]] = {}
    for combo in combos:
        if combo.reason is not None or combo.language.value in naive:
            continue
        assert combo.project is not None and combo.scaffold is not None
        copy = work / "naive" / combo.language.value / combo.project.name
        shutil.copytree(combo.project, copy, symlinks=True)
        release = engine.image(latest.get(combo.key, "")) if combo.key in latest else None
        entrypoint = (
            list((release.attrs.get("Config") or {}).get("Entrypoint") or []) if release else None
        )
        build_image = combo.images["build"]
        dockerfile = naive_dockerfile(combo.language, copy, build_image, entrypoint)
        (copy / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        tag = f"{TAG_PREFIX}/{combo.language}-naive:latest"
        say(f"naive single-stage build: {combo.language} on {build_image}")
        outcome = engine.build(copy, tag, target=NAIVE_STAGE)
        run_line = [line for line in dockerfile.splitlines() if line.startswith("    ")]
        entry: dict[str, Any] = {
            "image": build_image,
            "build": run_line[0].strip() if run_line else "",
            "dockerfile": dockerfile,
            "ok": outcome.ok,
            "seconds": outcome.seconds,
            "bytes": None,
        }
        if outcome.ok:
            image = engine.image(tag)
            entry["bytes"] = int(image.attrs.get("Size") or 0) if image is not None else None
        else:
            _failed(data, f"{combo.language}/naive", "naive single-stage build", outcome)
        naive[combo.language.value] = entry
    data["naive"] = naive
    rows = []
    for combo in combos:
        if combo.key not in latest:
            continue
        assert combo.project is not None
        tag = latest[combo.key]
        image = engine.image(tag)
        if image is None:
            data["errors"].append(f"{combo.key}: image {tag} vanished before it was measured")
            continue
        say(f"size: {combo.key} (exporting the filesystem)")
        config = image.attrs.get("Config") or {}
        entries = engine.export(tag)
        # The same measurement as `stagekit smoke`: ENTRYPOINT found through the image's PATH.
        paths = load_project(combo.project).payload_paths(entrypoint_program(entries, config))
        payload, missing = measure_payload(entries, paths)
        size = int(image.attrs.get("Size") or 0)
        release_ref = combo.images.get("release", "scratch")
        base = engine.image_facts(release_ref)
        naive_bytes = naive.get(combo.language.value, {}).get("bytes")
        rows.append(
            {
                "language": combo.language.value,
                "base": combo.base.value,
                "version": combo.version,
                "tag": tag,
                "image_id": image.id,
                "image_bytes": size,
                "files_bytes": total_file_bytes(entries),
                "payload_paths": paths,
                "payload_bytes": payload,
                "missing": missing,
                "overhead_bytes": size - payload,
                "release_base": release_ref,
                "release_base_bytes": base.get("size"),
                "naive_bytes": naive_bytes,
                "naive_ratio": ratio(naive_bytes, size),
            }
        )
    data["sizes"] = rows


def describe_images(engine: Engine, combos: list[Combo], data: dict[str, Any]) -> None:
    used: dict[str, list[str]] = {}
    for combo in combos:
        if combo.reason is not None:
            continue
        for role, ref in combo.images.items():
            if ref != "scratch":
                used.setdefault(ref, []).append(f"{combo.key} {role}")
    data["images"] = [{**engine.image_facts(ref), "used_by": who} for ref, who in used.items()]
    toolchains: dict[str, str] = {}
    for combo in combos:
        if combo.reason is None and combo.images.get("build") not in toolchains:
            ref = combo.images["build"]
            toolchains[ref] = engine.toolchain(combo.language, ref)
    data["toolchains_in_images"] = toolchains


def measure_update(
    settings: Settings, work: Path, env: dict[str, str], data: dict[str, Any]
) -> list[dict[str, Any]]:
    """``stagekit update --no-lint`` of an untouched project vs ``stagekit new`` (issue 16)."""
    rows = []
    for language in settings.languages:
        base = settings.bases[0] if settings.bases_given else Base.SCRATCH
        say(f"update: {language} ({base}), {settings.generation_runs} runs of each")
        try:
            result = update_time.compare_update(
                language=language.value,
                base=base.value,
                stagekit=settings.stagekit,
                runs=settings.generation_runs,
                workdir=work / f"update-{language}",
                env=env,
            )
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            data["errors"].append(f"{language}/update: {exc}")
            continue
        rows.append(result.to_dict())
    return rows


# --- the run --------------------------------------------------------------------------------------


def run(settings: Settings, command: str, work: Path) -> dict[str, Any]:
    """Every section, in order; the report mapping (errors listed in it, never raised)."""
    endpoint = resolve_endpoint()
    engine_version = ping(endpoint)
    client = endpoint.client(timeout=900)
    engine = Engine(endpoint, client, system_ca_bundle(), SOURCE_DATE_EPOCH, say)
    data: dict[str, Any] = {
        "schema": report.SCHEMA,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "command": command,
        "mode": "quick" if settings.quick else "full",
        "cold_mode": settings.cold_mode,
        "source_date_epoch": SOURCE_DATE_EPOCH,
        "scope": {
            "languages": [x.value for x in settings.languages],
            "bases": [x.value for x in settings.bases],
        },
        "machine": machine_facts(),
        "errors": [],
        "prunes": [],
    }
    info = client.info()
    version = client.version()
    data["engine"] = {
        "host": endpoint.host,
        "version": engine_version,
        "api_version": version.get("ApiVersion"),
        "storage_driver": info.get("Driver"),
        "os": info.get("OperatingSystem"),
        "running_containers_at_start": info.get("ContainersRunning"),
    }
    data["versions"] = tool_versions(settings.stagekit, settings.cookiecutter, endpoint.cli_env())
    try:
        combos = plan(engine, settings.languages, settings.bases, offline_reason)
        data["combinations"] = [
            {
                "language": c.language.value,
                "base": c.base.value,
                "version": c.version,
                "reason": c.reason,
            }
            for c in combos
        ]
        for combo in combos:
            if combo.reason is None:
                combo.project = render(combo, work / "projects" / f"{combo.language}-{combo.base}")
        describe_images(engine, combos, data)
        measure_generation(settings, work, data)
        if settings.cold_mode == "prune":
            say("WARNING: pruning the engine's whole build cache (docker builder prune -af)")
        latest = build_rounds(engine, combos, settings, work, data)
        measure_sizes(engine, combos, latest, work, data)
    except (OSError, ValueError, RuntimeError, DockerException, RequestException) as exc:
        # The engine went away, a file vanished...: report what was measured, and why it stopped.
        data["errors"].append(f"run aborted: {type(exc).__name__}: {exc}")
        say(f"ABORTED: {type(exc).__name__}: {exc}")
    finally:
        data["machine"]["load_at_end"] = [round(x, 2) for x in load()]
        with contextlib.suppress(DockerException, RequestException):
            data["engine"]["running_containers_at_end"] = client.info().get("ContainersRunning")
        if not settings.keep_images:
            engine.remove_tags()
        client.close()
    data["targets"] = [t.to_dict() for t in report.targets(data)]
    return data


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    command = "python -m benchmarks.run" + (
        " " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
        data["targets"] = [t.to_dict() for t in report.targets(data)]
    else:
        work = Path(tempfile.mkdtemp(prefix="stagekit-bench-"))
        try:
            data = run(settings, command, work)
        except StagekitError as exc:
            print(f"benchmarks: error: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"  hint: {exc.hint}", file=sys.stderr)
            return exc.exit_code
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out(report.render_report_text(data))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.render_report_markdown(data), encoding="utf-8")
    if data["errors"]:
        return 1
    if args.strict and any(t["met"] is False for t in data["targets"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
