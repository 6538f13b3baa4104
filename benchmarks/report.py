# ruff: noqa: RUF001 -- the multiplication and minus signs are meant: people read these tables
"""The report: one JSON-able mapping in, tables, targets and Markdown out (no engine here).

``benchmarks.run`` fills the mapping; everything printed or written is derived from it, so the
terminal, ``--json`` and ``--markdown`` always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import stats
from benchmarks.stats import Target, format_bytes, format_ratio, format_seconds, short_id
from benchmarks.tables import Column, Table, render_markdown, render_text

SCHEMA = "stagekit.benchmarks/1"
SIZE_TARGET_LANGUAGES = ("go", "rust")
REBUILD_TARGET_LANGUAGES = ("rust", "python")


def _rows(report: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return list(report.get(key) or [])


def _find(rows: Sequence[Mapping[str, Any]], **match: str) -> Mapping[str, Any] | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _why_not(report: Mapping[str, Any], language: str, base: str | None = None) -> str:
    """Why a language (or combination) has no figures in this report."""
    scope = report.get("scope") or {}
    if language not in scope.get("languages", []):
        return (
            f"not measured: this run covered {', '.join(scope.get('languages', [])) or 'nothing'}"
        )
    if base is not None and base not in scope.get("bases", []):
        return f"not measured: this run covered bases {', '.join(scope.get('bases', []))}"
    for combo in _rows(report, "combinations"):
        same = combo["language"] == language and (base is None or combo["base"] == base)
        if same and combo.get("reason"):
            return f"not built here: {combo['reason']}"
    errors = [e for e in report.get("errors") or [] if e.startswith(f"{language}/")]
    return f"failed: {errors[0]}" if errors else "not measured"


def _unmeasured(target: Target, reason: str) -> Target:
    return Target(target.name, None, reason) if target.met is None else target


def targets(report: Mapping[str, Any]) -> list[Target]:
    """Every target of the issue, met (True), missed (False) or not measured here (None)."""
    found: list[Target] = []
    sizes = _rows(report, "sizes")
    for language in SIZE_TARGET_LANGUAGES:
        row = _find(sizes, language=language, base="scratch")
        label = f"{language}/scratch"
        reason = _why_not(report, language, "scratch")
        if row is None:
            found.append(_unmeasured(stats.size_target(label, None, None), reason))
            found.append(_unmeasured(stats.naive_target(label, None, None), reason))
            continue
        found.append(stats.size_target(label, row.get("image_bytes"), row.get("payload_bytes")))
        naive = stats.naive_target(label, row.get("naive_bytes"), row.get("image_bytes"))
        found.append(_unmeasured(naive, "naive build failed or not run"))
    rebuilds = _rows(report, "rebuild")
    for language in REBUILD_TARGET_LANGUAGES:
        row = _find(rebuilds, language=language)
        if row is None:
            found.append(
                _unmeasured(
                    stats.rebuild_target(language, None, None, None), _why_not(report, language)
                )
            )
            continue
        found.append(
            stats.rebuild_target(
                f"{language} ({row['base']})",
                row.get("cold_median_s"),
                row.get("rebuild_median_s"),
                row.get("dependency_cached"),
                (row.get("dependency_steps") or [None])[-1],
            )
        )
    generation = _rows(report, "generation")
    for row in generation:
        found.append(
            stats.generation_target(
                f"{row['language']}",
                row.get("stagekit_new_median_s"),
                row.get("cookiecutter_median_s"),
            )
        )
    if not generation:
        found.append(_unmeasured(stats.generation_target("any", None, None), "not measured"))
    for row in _rows(report, "update"):
        found.append(
            stats.update_target(
                row["language"], row.get("update_median_s"), row.get("new_median_s")
            )
        )
    imports = report.get("imports") or {}
    lazy_name = "stagekit new --no-input loads no prompt/docker/rich libraries of its own"
    if "lazy_loaded" in imports:
        loaded = imports["lazy_loaded"]
        via_cookiecutter = [p for p in imports.get("lazy_loaded_by") or {} if p not in loaded]
        detail = "loaded: " + ", ".join(loaded) if loaded else "none loaded"
        if via_cookiecutter:
            detail += f" ({', '.join(via_cookiecutter)} only through cookiecutter's own imports)"
        found.append(Target(lazy_name, not loaded, detail))
    else:
        found.append(Target(lazy_name, None, "not measured"))
    repro = _rows(report, "reproducibility")
    for row in repro:
        ids = [*(row.get("image_ids") or []), None, None]
        found.append(stats.reproducible_target(f"{row['language']}/{row['base']}", ids[0], ids[1]))
    if not repro:
        found.append(Target("identical image IDs", None, "nothing built twice"))
    return found


# --- tables ---------------------------------------------------------------------------------------


def machine_table(report: Mapping[str, Any]) -> Table:
    table = Table("Machine, engine and versions", [Column("what"), Column("value")])
    machine = report.get("machine") or {}
    engine = report.get("engine") or {}
    table.add("date (UTC)", report.get("generated_at"))
    table.add("command", report.get("command"))
    table.add("mode", report.get("mode"))
    table.add("cold builds", _cold_text(report.get("cold_mode")))
    table.add("CPU", f"{machine.get('cpu')} × {machine.get('cores')} cores ({machine.get('arch')})")
    memory = machine.get("memory_bytes")
    table.add("memory", f"{memory / 2**30:.1f} GiB" if memory else "-")
    table.add("kernel / OS", f"{machine.get('kernel')} / {machine.get('os')}")
    start = machine.get("load_at_start") or []
    end = machine.get("load_at_end") or []
    table.add(
        "load average (1/5/15 min)",
        f"start {' '.join(str(x) for x in start)} → end {' '.join(str(x) for x in end)}",
    )
    table.add(
        "running containers on the engine",
        f"start {engine.get('running_containers_at_start')}"
        f" → end {engine.get('running_containers_at_end')}",
    )
    table.add(
        "Docker Engine",
        f"{engine.get('version')} (API {engine.get('api_version')}, {engine.get('storage_driver')}"
        f" storage) at {engine.get('host')}",
    )
    for name, value in (report.get("versions") or {}).items():
        table.add(name, value)
    for image, value in (report.get("toolchains_in_images") or {}).items():
        table.add(f"toolchain in {image}", value)
    return table


def _cold_text(mode: str | None) -> str:
    if mode == "prune":
        return "after `docker builder prune -af` (cache mounts included), base images present"
    if mode == "no-cache":
        return "`--no-cache` builds: layers rebuilt, cache mounts kept (not fully cold)"
    return str(mode)


def images_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        "Base images",
        [
            Column("image"),
            Column("ID"),
            Column("size", True),
            Column("stand-in"),
            Column("used by"),
        ],
    )
    for image in _rows(report, "images"):
        if not image.get("present"):
            table.add(image["ref"], "missing", "-", "-", ", ".join(image.get("used_by", [])))
            continue
        standin = "yes (offline stand-in)" if image.get("standin") else "no"
        table.add(
            image["ref"],
            short_id(image.get("id")),
            format_bytes(image.get("size")),
            standin,
            ", ".join(image.get("used_by", [])),
        )
    standins = [i["ref"] for i in _rows(report, "images") if i.get("standin")]
    if standins:
        table.notes.append(
            "Stand-ins (label org.stagekit.standin=true) are local reconstructions tagged with the"
            " upstream references: no registry is reachable here. Sizes of images built on them"
            " differ somewhat from images built on the real bases."
        )
    return table


def sizes_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        "1. Image size: release image vs its payload and a naive single-stage build",
        [
            Column("language"),
            Column("base"),
            Column("release", True),
            Column("payload", True),
            Column("overhead", True),
            Column("of which base image", True),
            Column("naive single-stage", True),
            Column("naive / ours", True),
        ],
    )
    for row in _rows(report, "sizes"):
        table.add(
            row["language"],
            row["base"],
            format_bytes(row.get("image_bytes")),
            format_bytes(row.get("payload_bytes")),
            format_bytes(row.get("overhead_bytes")),
            format_bytes(row.get("release_base_bytes")),
            format_bytes(row.get("naive_bytes")),
            format_ratio(row.get("naive_ratio")),
        )
    payloads: dict[str, list[str]] = {}
    for row in _rows(report, "sizes"):
        payloads.setdefault(row["language"], list(row.get("payload_paths") or []))
        if row.get("missing"):
            table.notes.append(
                f"{row['language']}/{row['base']}: payload path(s) not in the image: "
                + ", ".join(row["missing"])
            )
    for language, paths in payloads.items():
        table.notes.append(f"{language} payload (catalog.payload): {', '.join(paths or [])}")
    for language, naive in (report.get("naive") or {}).items():
        state = "" if naive.get("ok") else " — FAILED"
        table.notes.append(
            f"{language} naive: FROM {naive.get('image')}, COPY . ., `{naive.get('build')}`,"
            f" CMD{state}"
        )
    table.notes.append(
        "overhead = release − payload: the CA bundle, passwd/group, labels and the release base"
        " image's own files."
    )
    for combo in _rows(report, "combinations"):
        if combo.get("reason"):
            table.notes.append(f"skipped {combo['language']}/{combo['base']}: {combo['reason']}")
    return table


def rebuild_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        "2. Rebuild after a one-line source change vs a cold build (release target)",
        [
            Column("language"),
            Column("base"),
            Column("cold", True),
            Column("rebuild", True),
            Column("rebuild / cold", True),
            Column("dependency step"),
            Column("cached steps", True),
        ],
    )
    for row in _rows(report, "rebuild"):
        deps = row.get("dependency_steps") or []
        cached = row.get("dependency_cached")
        # The last one is the main dependency step (an earlier one may install a tool, e.g. uv).
        dep_text = ("CACHED " if cached else "rebuilt ") + deps[-1] if deps else "none found"
        value = stats.ratio(row.get("rebuild_median_s"), row.get("cold_median_s"))
        cold_n = len(row.get("cold_s") or [])
        rebuild_n = len(row.get("rebuild_s") or [])
        table.add(
            row["language"],
            row["base"],
            f"{format_seconds(row.get('cold_median_s'))} (n={cold_n})",
            f"{format_seconds(row.get('rebuild_median_s'))} (n={rebuild_n})",
            f"{value:.2f}" if value is not None else "-",
            dep_text,
            f"{len(row.get('cached_steps') or [])} of {row.get('steps_total', 0)}",
        )
    for row in _rows(report, "rebuild"):
        table.notes.append(f"{row['language']} change: {row.get('change')}")
        deps = row.get("dependency_steps") or []
        if len(deps) > 1:
            table.notes.append(f"{row['language']} dependency steps: {'; '.join(deps)}")
        rebuilt = sorted(
            {s for run in row.get("runs") or [] for s in run.get("dependency_rebuilt") or []}
        )
        if rebuilt:
            table.notes.append(f"{row['language']} dependency steps REBUILT: {'; '.join(rebuilt)}")
        cached = row.get("cached_steps") or []
        table.notes.append(
            f"{row['language']} CACHED in the rebuild: " + ("; ".join(cached) if cached else "none")
        )
    table.notes.append(f"cold = {_cold_text(report.get('cold_mode'))}; medians of n runs.")
    return table


def generation_tables(report: Mapping[str, Any]) -> list[Table]:
    runs = Table(
        "3. Generation time: stagekit new --no-input vs plain cookiecutter --no-input",
        [
            Column("language"),
            Column("base"),
            Column("stagekit new", True),
            Column("cookiecutter", True),
            Column("stagekit / cookiecutter", True),
            Column("runs", True),
            Column("same files"),
        ],
    )
    for row in _rows(report, "generation"):
        value = row.get("ratio")
        same = row.get("same_files")
        runs.add(
            row["language"],
            row["base"],
            format_seconds(row.get("stagekit_new_median_s")),
            format_seconds(row.get("cookiecutter_median_s")),
            f"{value:.3f}" if value is not None else "-",
            len(row.get("stagekit_new_s") or []),
            "yes" if same else ("NO" if same is False else "-"),
        )
    runs.notes.append(
        "Medians of subprocess runs of the installed console scripts, alternating order, after one"
        " warm-up each; stagekit new also validates the answers, asks git for the owner and"
        " writes .stagekit.json."
    )
    if report.get("bytecode"):
        runs.notes.append(f"Bytecode: {report['bytecode']}.")
    startup = Table(
        "3b. Start-up time", [Column("command"), Column("median", True), Column("runs", True)]
    )
    for name, data in (report.get("startup") or {}).items():
        startup.add(name, format_seconds(data.get("median_s")), len(data.get("runs_s") or []))
    imports = report.get("imports") or {}
    heavy = Table(
        "3c. Heaviest imports of `stagekit new --no-input` (python -X importtime)",
        [Column("package"), Column("cumulative", True)],
    )
    for name, micros in imports.get("heaviest") or []:
        heavy.add(name, format_seconds(micros / 1e6))
    if "total_us" in imports:
        theirs = format_seconds(imports.get("cookiecutter_total_us", 0) / 1e6)
        heavy.notes.append(
            f"all imports together: {format_seconds(imports['total_us'] / 1e6)}"
            f" (plain cookiecutter's: {theirs})"
        )
    for package, chain in (imports.get("lazy_loaded_by") or {}).items():
        who = " ← ".join(chain) if chain else "stagekit directly"
        heavy.notes.append(f"{package} loaded via {who}")
    if "lazy_loaded" in imports:
        loaded = imports["lazy_loaded"]
        heavy.notes.append(
            "loaded by stagekit's own imports but not needed by `new --no-input`: "
            + (", ".join(loaded) if loaded else "none (cookiecutter's own imports excepted)")
        )
    added = Table(
        "3d. Modules `stagekit new` imports that plain cookiecutter does not (self time)",
        [Column("module"), Column("self", True)],
    )
    for name, micros in imports.get("added_over_cookiecutter") or []:
        added.add(name, format_seconds(micros / 1e6))
    if "added_over_cookiecutter_us" in imports:
        added.notes.append(
            "together: "
            + format_seconds(imports["added_over_cookiecutter_us"] / 1e6)
            + " (one -X importtime run each; importtime itself slows imports down)"
        )
    return [runs, startup, heavy, added]


def reproducibility_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        "4. Reproducibility: two cold builds of each project, same SOURCE_DATE_EPOCH",
        [
            Column("language"),
            Column("base"),
            Column("build 1 image ID"),
            Column("build 2 image ID"),
            Column("identical"),
            Column("build 1", True),
            Column("build 2", True),
        ],
    )
    for row in _rows(report, "reproducibility"):
        ids = [*(row.get("image_ids") or []), None, None]
        seconds = [*(row.get("seconds") or []), None, None]
        same = row.get("identical")
        table.add(
            row["language"],
            row["base"],
            short_id(ids[0]),
            short_id(ids[1]),
            "yes" if same else ("NO" if same is False else "-"),
            format_seconds(seconds[0]),
            format_seconds(seconds[1]),
        )
    epoch = report.get("source_date_epoch")
    table.notes.append(
        f"SOURCE_DATE_EPOCH={epoch}; each round starts every language from"
        f" {_cold_text(report.get('cold_mode'))}."
    )
    return table


def targets_table(found: Sequence[Target]) -> Table:
    table = Table("Targets", [Column(""), Column("target"), Column("measured")])
    for target in found:
        table.add(target.symbol, target.name, target.detail)
    met = sum(1 for t in found if t.met)
    missed = sum(1 for t in found if t.met is False)
    unmeasured = sum(1 for t in found if t.met is None)
    table.notes.append(f"{met} met, {missed} missed, {unmeasured} not measured in this run.")
    return table


def update_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        "3c. Update time: stagekit update --no-lint of an untouched project vs stagekit new",
        [
            Column("language"),
            Column("base"),
            Column("stagekit update --no-lint", True),
            Column("stagekit new", True),
            Column("update / new", True),
            Column("runs", True),
            Column("stagekit lint (apart)", True),
        ],
    )
    for row in _rows(report, "update"):
        value = row.get("ratio")
        table.add(
            row["language"],
            row["base"],
            format_seconds(row.get("update_median_s")),
            format_seconds(row.get("new_median_s")),
            f"{value:.2f}" if value is not None else "-",
            len(row.get("update_s") or []),
            format_seconds(row.get("lint_median_s")),
        )
    table.notes.append(
        "An update renders BASE and THEIRS off-tree and merges every file; medians of alternating"
        " subprocess runs after one warm-up each; lint is what update runs afterwards by default."
    )
    return table


def all_tables(report: Mapping[str, Any]) -> list[Table]:
    return [
        machine_table(report),
        images_table(report),
        sizes_table(report),
        rebuild_table(report),
        *generation_tables(report),
        update_table(report),
        reproducibility_table(report),
        targets_table(targets(report)),
    ]


def render_report_text(report: Mapping[str, Any]) -> str:
    parts = [render_text(table) for table in all_tables(report)]
    errors = report.get("errors") or []
    if errors:
        parts.append("Errors\n======\n" + "\n".join(f"  * {e}" for e in errors))
    return "\n\n".join(parts) + "\n"


def render_report_markdown(report: Mapping[str, Any]) -> str:
    header = [
        "<!-- Generated by `python -m benchmarks.run`; do not edit by hand: rerun the script. -->",
        "# Benchmarks",
        "",
        f"Generated by `{report.get('command')}` on {report.get('generated_at')}"
        " (the script writes this file; edits by hand are lost on the next run).",
        "How small stagekit's images are, how fast they rebuild, how long generation takes and"
        " whether builds are reproducible, measured side by side in one run on the machine below."
        " Times on a shared machine are noisy: the ratios are what counts.",
    ]
    body = [render_markdown(table) for table in all_tables(report)]
    errors = report.get("errors") or []
    if errors:
        body.append("## Errors\n\n" + "\n".join(f"- {' '.join(e.split())}" for e in errors))
    return "\n".join(header) + "\n\n" + "\n\n".join(body) + "\n"
