# ruff: noqa: RUF001 -- the multiplication sign is what the tables print
"""The benchmarks' pure parts: statistics, targets, tables, image scans, build logs, sources."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from stagekit.model import Language

from benchmarks import generation, report, stats
from benchmarks.buildlog import cached_labels, dependency_steps, parse_steps, short_instruction
from benchmarks.measure import skip_reason
from benchmarks.sources import MARK, change_one_line, change_text, naive_dockerfile
from benchmarks.tables import Column, Table, render_markdown, render_text, width

# --- statistics -----------------------------------------------------------------------------------


def test_median_of_odd_even_and_nothing() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4, 1, 2, 3]) == 2.5
    assert stats.median([]) is None


def test_ratio_refuses_missing_and_zero() -> None:
    assert stats.ratio(841.0, 7.21) == pytest.approx(116.64, rel=1e-3)
    assert stats.ratio(None, 1.0) is None
    assert stats.ratio(1.0, None) is None
    assert stats.ratio(1.0, 0) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (12, "12 B"),
        (950_000, "950 kB"),
        (7_260_000, "7.26 MB"),
        (841_000_000, "841 MB"),
        (1_500_000_000, "1.5 GB"),
        (-222_000, "-222 kB"),
        (None, "-"),
    ],
)
def test_format_bytes_is_decimal_like_docker(size: int | None, text: str) -> None:
    assert stats.format_bytes(size) == text


def test_format_seconds_and_ratio() -> None:
    assert stats.format_seconds(0.0425) == "42 ms"
    assert stats.format_seconds(12.34) == "12.3 s"
    assert stats.format_seconds(185.4) == "185 s"
    assert stats.format_seconds(725) == "12m05s"
    assert stats.format_ratio(116.6) == "117×"
    assert stats.format_ratio(12.34) == "12.3×"
    assert stats.format_ratio(0.271) == "0.27×"
    assert stats.format_ratio(None) == "-"


def test_size_target_met_and_missed_by_how_much() -> None:
    met = stats.size_target("go/scratch", 7_260_000, 7_030_000)
    assert met.met is True and met.symbol == stats.MET
    missed = stats.size_target("go/scratch", 8_100_000, 7_000_000)
    assert missed.met is False and missed.symbol == stats.MISSED
    assert "600 kB over" in missed.detail
    assert stats.size_target("x", None, 1).met is None


def test_naive_target_uses_the_hundredfold_bound() -> None:
    assert stats.naive_target("go", 841_000_000, 7_210_000).met is True
    low = stats.naive_target("go", 500_000_000, 7_210_000)
    assert low.met is False and "69.3×" in low.detail
    assert stats.naive_target("go", None, 7_210_000).met is None


def test_rebuild_target_needs_speed_and_the_cached_dependency_step() -> None:
    assert stats.rebuild_target("rust", 100.0, 30.0, True, "[build 4/6] RUN cargo fetch").met
    slow = stats.rebuild_target("rust", 100.0, 50.0, True, "step")
    assert slow.met is False and "0.50" in slow.detail
    uncached = stats.rebuild_target("rust", 100.0, 10.0, False, "step")
    assert uncached.met is False and "NOT cached" in uncached.detail
    none = stats.rebuild_target("rust", 100.0, 10.0, True, None)
    assert none.met is False and "NOT found" in none.detail
    assert stats.rebuild_target("rust", None, 10.0, True).met is None


def test_generation_and_reproducibility_targets() -> None:
    assert stats.generation_target("go", 0.44, 0.40).met is True
    assert stats.generation_target("go", 0.45, 0.40).met is False
    same = stats.reproducible_target("go/scratch", "sha256:" + "a" * 64, "sha256:" + "a" * 64)
    assert same.met is True and same.detail == "a" * 12
    differ = stats.reproducible_target("go/scratch", "sha256:" + "a" * 64, "sha256:" + "b" * 64)
    assert differ.met is False and "≠" in differ.detail
    assert stats.reproducible_target("go/scratch", None, "sha256:x").met is None


# --- tables ---------------------------------------------------------------------------------------


def _table() -> Table:
    table = Table("Sizes", [Column("language"), Column("release", right=True)])
    table.add("go", "7.26 MB")
    table.add("python", "61 MB")
    table.notes.append("a | note")
    return table


def test_text_table_aligns_numbers_right() -> None:
    lines = render_text(_table()).splitlines()
    assert lines[0] == "Sizes" and lines[1] == "====="
    assert lines[2] == "language  release"
    assert lines[4] == "go        7.26 MB"
    assert lines[5] == "python      61 MB"
    assert lines[-1] == "  * a | note"


def test_text_table_counts_wide_characters() -> None:
    assert width("✓") == 1
    assert width("表") == 2
    table = Table("t", [Column("a"), Column("b")])
    table.add("表", "x")
    table.add("ab", "y")
    rows = render_text(table).splitlines()[4:]
    assert rows == ["表  x", "ab  y"]


def test_table_refuses_a_row_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="1 cells for 2 columns"):
        _table().add("only one")


def test_markdown_table_escapes_pipes_and_aligns() -> None:
    table = _table()
    table.add("a|b", "1\nMB")
    text = render_markdown(table)
    lines = text.splitlines()
    assert lines[0] == "## Sizes"
    assert lines[2] == "| language | release |"
    assert lines[3] == "|---|---:|"
    assert "| a\\|b | 1 MB |" in lines
    assert lines[-1] == "- a | note"


def test_empty_tables_say_so() -> None:
    table = Table("Nothing", [Column("a")])
    assert "(nothing measured)" in render_text(table)
    assert "| - |" in render_markdown(table)


# --- build logs -----------------------------------------------------------------------------------

LOG = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#5 [build 1/6] FROM docker.io/library/golang:1.26-trixie
#5 CACHED
#7 [build 2/6] WORKDIR /src
#7 CACHED
#8 [build 3/6] COPY go.mod go.sum* ./
#8 CACHED
#9 [build 4/6] RUN --mount=type=cache,target=/go/pkg/mod     --mount=type=secret     go mod download
#9 CACHED
#10 [build 5/6] COPY . .
#10 DONE 0.1s
#11 [build 6/6] RUN --mount=type=cache,target=/go/pkg/mod go build -o /out/app ./cmd/app
#11 DONE 5.0s
#12 [linux/amd64 deps 2/2] RUN cargo fetch --locked
#12 CACHED
#13 [release 1/2] COPY --link --from=build /out/ /
#13 DONE 0.0s
"""


def test_parse_steps_reads_stage_index_and_cached() -> None:
    steps = parse_steps(LOG)
    assert [s.number for s in steps] == [5, 7, 8, 9, 10, 11, 12, 13]
    by_number = {s.number: s for s in steps}
    assert by_number[9].stage == "build" and by_number[9].index == 4 and by_number[9].cached
    assert not by_number[11].cached
    assert by_number[12].stage == "deps"
    assert by_number[9].label == "[build 4/6] RUN go mod download"


def test_steps_that_ran_and_steps_that_were_reused() -> None:
    log = "#4 [build 2/4] RUN pip install uv\n#5 [build 3/4] RUN uv sync\n#5 CACHED\n"
    log += "#6 [build 4/4] COPY . .\n#6 DONE 0.1s\n"
    skipped, cached, ran = parse_steps(log)
    assert (skipped.cached, skipped.ran, skipped.reused) == (False, False, True)
    assert (cached.cached, cached.ran, cached.reused) == (True, False, True)
    assert (ran.cached, ran.ran, ran.reused) == (False, True, False)


def test_skip_reason_names_the_first_version_in_full() -> None:
    assert skip_reason(
        {"3.13": "python:3.13-alpine offline", "3.12": "python:3.12-alpine offline"}
    ) == ("3.13: python:3.13-alpine offline (likewise 3.12)")
    assert skip_reason({}) == "no version in the catalog"


def test_dependency_steps_come_before_the_sources() -> None:
    deps = dependency_steps(parse_steps(LOG))
    assert [s.number for s in deps] == [9, 12]  # not the go build after COPY . .


def test_a_cargo_build_after_the_sources_is_not_a_dependency_step() -> None:
    log = (
        "#3 [build 3/5] COPY Cargo.toml Cargo.lock ./\n"
        "#4 [build 4/5] COPY src ./src\n"
        "#5 [build 5/5] RUN cargo build --release --locked\n"
    )
    assert dependency_steps(parse_steps(log)) == []


def test_cached_labels_are_listed_once() -> None:
    log = "#3 [build 2/3] COPY a ./\n#3 CACHED\n#9 [build 2/3] COPY a ./\n#9 CACHED\n"
    assert cached_labels(parse_steps(log)) == ["[build 2/3] COPY a ./"]


def test_cached_labels_leave_out_from_and_workdir() -> None:
    labels = cached_labels(parse_steps(LOG))
    assert labels == [
        "[build 3/6] COPY go.mod go.sum* ./",
        "[build 4/6] RUN go mod download",
        "[deps 2/2] RUN cargo fetch --locked",
    ]


def test_short_instruction_folds_and_truncates() -> None:
    assert short_instruction("COPY --link --from=build /out/ /") == "COPY --from=build /out/ /"
    assert short_instruction("RUN " + "x" * 100, limit=20).endswith("…")


# --- sources --------------------------------------------------------------------------------------

GO_SERVER = """\
package server

import (
\t"fmt"
\t"net/http"
)

func Handler() {
\tmux.HandleFunc("GET /hello", hello)
}

func hello(w http.ResponseWriter, r *http.Request) {
\twriteJSON(w, map[string]string{"message": "Hello, " + name + "!"})
}
"""


def test_change_text_picks_the_greeting_not_imports_or_routes() -> None:
    changed = change_text(GO_SERVER)
    assert changed is not None
    number, _, new, text = changed
    assert number == 13
    assert '"Hello, ' + MARK + '"' in new
    assert text.count("\n") == GO_SERVER.count("\n")
    assert text.replace(MARK, "", 1) == GO_SERVER


def test_change_text_appends_the_given_mark() -> None:
    changed = change_text('print("Hello, world")\n', "!abc")
    assert changed is not None and changed[2] == 'print("Hello, world!abc")\n'


def test_change_text_without_literals_is_none() -> None:
    assert change_text("x = 1\n# just a comment\n") is None
    assert change_text('"""A docstring line."""\n') is None


def test_change_one_line_and_undo(tmp_path: Path) -> None:
    server = tmp_path / "internal" / "server" / "server.go"
    server.parent.mkdir(parents=True)
    server.write_text(GO_SERVER, encoding="utf-8")
    test_file = tmp_path / "internal" / "server" / "server_test.go"
    test_file.write_text('package server\nvar x = "Hello, test"\n', encoding="utf-8")
    change = change_one_line(tmp_path, Language.GO)
    assert change.path == server and change.line == 13
    assert server.read_text(encoding="utf-8") != GO_SERVER
    assert "server.go:13" in change.describe(tmp_path)
    change.undo()
    assert server.read_text(encoding="utf-8") == GO_SERVER


def test_a_greeting_wins_over_a_package_name(tmp_path: Path) -> None:
    package = tmp_path / "src" / "hello_service"
    package.mkdir(parents=True)
    (package / "__main__.py").write_text('log = getLogger("hello_service")\n', encoding="utf-8")
    (package / "app.py").write_text(
        '@app.get("/hello")\ndef hello(name):\n    return {"message": f"Hello, {name}!"}\n',
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text('x = "Hello, test"\n', encoding="utf-8")
    change = change_one_line(tmp_path, Language.PYTHON, "?")
    assert change.path == package / "app.py" and change.line == 3
    assert 'f"Hello, {name}!?"' in change.after


def test_change_one_line_falls_back_to_a_comment(tmp_path: Path) -> None:
    source = tmp_path / "src" / "main.rs"
    source.parent.mkdir()
    source.write_text("fn main() {}\n", encoding="utf-8")
    change = change_one_line(tmp_path, Language.RUST, "!r1")
    assert source.read_text(encoding="utf-8").endswith("// benchmark: one-line change !r1\n")
    change.undo()
    assert source.read_text(encoding="utf-8") == "fn main() {}\n"


def test_naive_dockerfiles_are_one_stage(tmp_path: Path) -> None:
    (tmp_path / "cmd" / "svc").mkdir(parents=True)
    go = naive_dockerfile(Language.GO, tmp_path, "golang:1.26-trixie", ["/usr/local/bin/svc"])
    assert go.count("FROM ") == 1 and "FROM golang:1.26-trixie AS naive" in go
    assert "go build -o /usr/local/bin/svc ./cmd/svc" in go and "COPY . ." in go
    assert 'CMD ["/usr/local/bin/svc"]' in go
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "svc"\n[[bin]]\nname = "svc-bin"\n', encoding="utf-8"
    )
    (tmp_path / "Cargo.lock").write_text("", encoding="utf-8")
    rust = naive_dockerfile(Language.RUST, tmp_path, "rust:1.95-trixie", None)
    assert "cargo build --release --locked" in rust and "/src/target/release/svc-bin" in rust
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\n[project.scripts]\nsvc = "svc.main:run"\n', encoding="utf-8"
    )
    python = naive_dockerfile(Language.PYTHON, tmp_path, "python:3.13-slim-trixie", None)
    assert "pip install ." in python and 'CMD ["svc"]' in python


# --- import times ---------------------------------------------------------------------------------

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |       rich._null_file
import time:       300 |        400 |     rich
import time:       500 |        900 |   rich.prompt
import time:       200 |       1100 | cookiecutter.main
import time:        50 |         50 |   questionary.constants
import time:        70 |        120 | questionary
import time:        10 |         10 | stagekit.cli.main
"""


def test_parse_importtime_and_chains() -> None:
    imports = generation.parse_importtime(IMPORTTIME)
    assert [(i.name, i.depth) for i in imports][:4] == [
        ("rich._null_file", 3),
        ("rich", 2),
        ("rich.prompt", 1),
        ("cookiecutter.main", 0),
    ]
    assert generation.importer_chain(imports, 0) == ["rich", "rich.prompt", "cookiecutter.main"]
    assert generation.heaviest(imports, 2) == [("cookiecutter", 1100), ("rich", 900)]
    found = generation.loaded(imports)
    assert found == {"questionary": [], "rich": ["cookiecutter.main"]}
    assert generation.blamed_on_stagekit(found) == ["questionary"]


def test_added_imports_are_what_cookiecutter_alone_does_not_load() -> None:
    ours = generation.parse_importtime(IMPORTTIME)
    theirs = [i for i in ours if not i.name.startswith(("stagekit", "questionary"))]
    total, heaviest = generation.added_imports(ours, theirs)
    assert total == 50 + 70 + 10
    assert heaviest == [
        ("questionary", 70),
        ("questionary.constants", 50),
        ("stagekit.cli.main", 10),
    ]


def test_bytecode_env_caches_every_module_even_under_dont_write(tmp_path: Path) -> None:
    # The generation comparison is only fair when both tools start from bytecode: an editable
    # stagekit under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile its source every run.
    (tmp_path / "probe_module.py").write_text("VALUE = 1\n", encoding="utf-8")
    cache = tmp_path / "pycache"
    env = generation.bytecode_env(cache, {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    generation.timed([sys.executable, "-c", "import probe_module"], tmp_path, env)
    assert list(cache.rglob("probe_module.*.pyc"))
    assert not (tmp_path / "__pycache__").exists()


# --- the report -----------------------------------------------------------------------------------


def _report(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": report.SCHEMA,
        "generated_at": "2026-01-01 00:00:00Z",
        "command": "python -m benchmarks.run --quick",
        "mode": "quick",
        "cold_mode": "prune",
        "source_date_epoch": 1700000000,
        "scope": {"languages": ["go"], "bases": ["scratch"]},
        "machine": {"cores": 2, "cpu": "cpu", "memory_bytes": 2**34, "kernel": "6", "os": "x"},
        "combinations": [{"language": "go", "base": "scratch", "version": "1.26", "reason": None}],
        "sizes": [
            {
                "language": "go",
                "base": "scratch",
                "image_bytes": 8_200_000,
                "payload_bytes": 7_000_000,
                "overhead_bytes": 1_200_000,
                "payload_paths": ["/usr/local/bin/app"],
                "naive_bytes": 841_000_000,
                "naive_ratio": 102.6,
                "missing": [],
            }
        ],
        "rebuild": [
            {
                "language": "go",
                "base": "scratch",
                "cold_s": [60.0],
                "rebuild_s": [6.0],
                "cold_median_s": 60.0,
                "rebuild_median_s": 6.0,
                "dependency_steps": ["[build 4/6] RUN go mod download"],
                "dependency_cached": True,
                "cached_steps": ["[build 4/6] RUN go mod download"],
                "steps_total": 7,
                "change": "server.go:13",
            }
        ],
        "generation": [
            {
                "language": "go",
                "base": "scratch",
                "stagekit_new_s": [0.4, 0.5],
                "cookiecutter_s": [0.4, 0.4],
                "stagekit_new_median_s": 0.45,
                "cookiecutter_median_s": 0.4,
                "ratio": 1.125,
                "same_files": True,
            }
        ],
        "imports": {"lazy_loaded": [], "lazy_loaded_by": {"rich": ["cookiecutter.main"]}},
        "reproducibility": [
            {"language": "go", "base": "scratch", "image_ids": ["sha256:aa", "sha256:aa"]}
        ],
        "errors": [],
    }
    data.update(overrides)
    return data


def test_targets_show_misses_and_what_was_not_measured() -> None:
    found = {t.name: t for t in report.targets(_report())}
    size = found["go/scratch: release ≤ payload + 500 kB"]
    assert size.met is False and "700 kB over" in size.detail
    assert found["go/scratch: naive single-stage / ours ≥ 100×"].met is True
    rust = found["rust/scratch: release ≤ payload + 500 kB"]
    assert rust.met is None and "covered go" in rust.detail
    assert found["go: stagekit new ≤ 1.1 × plain cookiecutter"].met is False
    assert found["go/scratch: identical image IDs"].met is True
    lazy = next(t for t in found.values() if "loads no" in t.name)
    assert lazy.met is True and "through cookiecutter" in lazy.detail
    python = next(t for t in found.values() if t.name.startswith("python: rebuild"))
    assert python.met is None


def test_a_skipped_combination_gives_its_reason() -> None:
    data = _report(
        scope={"languages": ["go", "python"], "bases": ["alpine"]},
        combinations=[
            {"language": "python", "base": "alpine", "reason": "python:3.13-alpine offline"}
        ],
        rebuild=[],
    )
    python = next(t for t in report.targets(data) if t.name.startswith("python: rebuild"))
    assert python.met is None and "python:3.13-alpine offline" in python.detail


def test_text_report_prints_every_section_and_the_miss() -> None:
    text = report.render_report_text(_report())
    titles = ["Machine", "Base images", "1. Image size", "2. Rebuild", "3. Generation"]
    titles += ["3b. Start-up", "3c. Heaviest", "3d. Modules", "4. Reproducibility", "Targets"]
    for title in titles:
        assert title in text
    assert "✗  go/scratch: release ≤ payload + 500 kB" in text
    assert "3 met, 2 missed" in text


def test_markdown_report_says_it_is_generated() -> None:
    text = report.render_report_markdown(_report(errors=["go/scratch: build failed"]))
    assert text.startswith("<!-- Generated by `python -m benchmarks.run`")
    assert "do not edit by hand" in text
    assert "## 1. Image size" in text and "## Targets" in text
    assert "## Errors" in text and "- go/scratch: build failed" in text


def test_from_json_renders_an_earlier_run_without_measuring(tmp_path: Path) -> None:
    import json

    from benchmarks.run import main

    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(_report()), encoding="utf-8")
    markdown = tmp_path / "benchmarks.md"
    printed: list[str] = []
    code = main(["--from-json", str(saved), "--markdown", str(markdown)], out=printed.append)
    assert code == 0
    assert "✗  go/scratch: release ≤ payload + 500 kB" in printed[0]
    assert markdown.read_text(encoding="utf-8").startswith("<!-- Generated by")
