"""Property tests of the answers: free text is data, wherever it lands.

Arbitrary descriptions, owners and project names (unicode up to the astral planes, quotes,
braces, Jinja and GitHub expression syntax, backslashes, control characters, very long) either
fail validation with a clear :class:`ValidationError`, or render a project whose TOML/YAML/JSON
files parse, whose sources parse for their own language, that carries no template syntax of its
own, and that holds the text verbatim (``{{ 7*7 }}`` stays ``{{ 7*7 }}``, never ``49``). Never a
traceback, never a half-written project.

The filters that put text into Go, Rust and Python source are also checked against the real
compilers, many strings in one program per language.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stagekit.errors import StagekitError, ValidationError
from stagekit.filters import go_str, py_str, rust_str
from stagekit.lint import dockerfile_parse
from stagekit.lint.run import lint
from stagekit.model import Language
from stagekit.model.answers import check_text, defaults, validate
from stagekit.model.catalog import builtin
from stagekit.new.render import generate

from tests.helpers import native_caches

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("STAGEKIT_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    database=None,  # nothing written into the work tree; a failure prints its reproduction blob
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Pieces that have broken generators before: template syntax of every kind, escapes, quotes,
#: invisible and direction-changing characters, astral characters. All are valid in a description.
FRAGMENTS = [
    *("{{ 7*7 }}", "{{", "}}", "{% raw %}", "{% endraw %}", "{% if x %}", "{#", "#}", "${{ x }}"),
    *("${X}", "$X", "%{x}", "$$", '"', "'", '"""', "`", "\\", "\\n", "\\u0041", "\\x00"),
    *("\n", "\n\n", "\t", "\ufeff", "\u202e", "\u2066", "\u200b", "\u00a0", "\u3000"),
    *("\U0001f600", "\U0001d518", "#", ";", "&&", "<script>", " ", "  ", "-", "*", ">", "!"),
    *("@", "---", "...", "[", "]", "~", "=", ":", ": ", "- ", "? ", "&a", "*a", "%", ","),
]
#: What a description may not hold (the validator must refuse it, clearly).
REFUSED = ["\x00", "\x1b[31m", "\x7f", "\x85", "\r", "\u2028", "\u2029", "\ud800", "\ue000"]
REFUSED += ["\U0010fffd"]

#: The codepoints rustc refuses in source text (its lints text_direction_codepoint_in_*).
RUST_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

allowed_char = st.characters(exclude_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))


def accepted(fragments: list[str], newlines: bool, limit: int) -> st.SearchStrategy[str]:
    """Text the validator accepts: fragments and arbitrary allowed characters, not blank."""
    chars = st.one_of(allowed_char, st.sampled_from("\n\t")) if newlines else allowed_char
    pieces = st.one_of(st.sampled_from(fragments), st.text(alphabet=chars, max_size=12))
    mixed = st.lists(pieces, min_size=1, max_size=25).map(lambda parts: "".join(parts)[:limit])
    long = st.text(alphabet=allowed_char, min_size=limit - 10, max_size=limit)
    return st.one_of(mixed, mixed, long).filter(lambda text: bool(text.strip()))


def refused(limit: int) -> st.SearchStrategy[str]:
    """Text the validator must refuse: a forbidden character, blank, or too long."""
    return st.one_of(
        st.tuples(st.text(max_size=10), st.sampled_from(REFUSED), st.text(max_size=10)).map(
            "".join
        ),
        st.sampled_from(["", " ", "\n\t "]),
        st.text(alphabet=allowed_char, min_size=limit + 1, max_size=limit + 20),
    )


ONE_LINE = [f for f in FRAGMENTS if "\n" not in f and "\t" not in f]
free_text = st.one_of(*[accepted(FRAGMENTS, True, 500)] * 3, refused(500))
one_line_text = st.one_of(*[accepted(ONE_LINE, False, 100)] * 3, refused(100), st.just("a\tb"))
project_names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,4}){0,3}", fullmatch=True),
    st.text(max_size=70),
    st.sampled_from(
        ["main", "test", "std", "async", "con", "-x", "x-", "a--b", "Abc", "a_b", "1a"]
    ),
)
LANGUAGES = [language.value for language in Language]


def attempt(lang: str, parent: Path, overrides: dict[str, Any]) -> tuple[Path | None, Any]:
    """Validate and generate; (None, error) for a validation error, (project, answers) else."""
    scaffold = builtin(Language(lang))
    raw = {**defaults(scaffold, {}), **overrides}
    try:
        answers = validate(scaffold, raw)
    except ValidationError as exc:
        assert exc.message and exc.field, "a validation error names the field and the rule"
        assert "Traceback" not in exc.message
        return None, exc
    dest = parent / f"p{next(_counter)}"
    try:
        generate(scaffold, answers, dest)
    except StagekitError as exc:
        assert not dest.exists(), "a failed generate() must leave nothing behind"
        leftovers = [p.name for p in parent.iterdir() if p.name.startswith(".stagekit-")]
        assert not leftovers, f"staging folders left: {leftovers}"
        pytest.fail(f"valid answers did not render: {exc} ({overrides!r})")
    return dest, answers


_counter = itertools.count()


def check_project(project: Path, answers: Any) -> None:
    """Everything that must hold of a project rendered from valid answers."""
    report = lint(project, checks=["parse", "leftovers"])
    assert report.findings == [], [f"{f.path}:{f.line} {f.message}" for f in report.findings]
    record = json.loads((project / ".stagekit.json").read_text(encoding="utf-8"))
    assert record["answers"]["description"] == answers.description
    assert record["answers"]["owner"] == answers.owner
    assert record["answers"]["project_name"] == answers.project_name
    folded = " ".join(answers.description.split())
    # Cargo keeps the text as is; a Python package's Summary (core metadata) is one line, so
    # pyproject.toml carries it folded, like a Dockerfile LABEL.
    for manifest, table, expected in (
        ("Cargo.toml", "package", answers.description),
        ("pyproject.toml", "project", folded),
    ):
        path = project / manifest
        if path.is_file():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            assert data[table]["description"] == expected, manifest
    dockerfile = project / "Dockerfile"
    if dockerfile.is_file():
        label = release_label(dockerfile.read_text(encoding="utf-8"), "description")
        if label is not None and "$" not in label.replace("\\$", ""):
            # dockerfile_str folds whitespace (a LABEL value is one line); nothing else changes.
            assert dockerfile_parse.unquote(label) == " ".join(answers.description.split())
    for source in project.rglob("*.py"):
        ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    native_parse(project)


def release_label(text: str, key: str) -> str | None:
    _, stages = dockerfile_parse.split_stages(dockerfile_parse.parse(text))
    release = [s for s in stages if s.name == "release"]
    wanted = f"org.opencontainers.image.{key}"
    for instruction in release[0].of("LABEL") if release else []:
        pairs = dict(zip(instruction.value[0::2], instruction.value[1::2], strict=False))
        if wanted in pairs:
            return pairs[wanted]
    return None


def _rust_edition(project: Path) -> str:
    manifest = project / "Cargo.toml"
    if manifest.is_file():
        package = tomllib.loads(manifest.read_text(encoding="utf-8")).get("package", {})
        return str(package.get("edition", "2021"))
    return "2021"


def native_parse(project: Path) -> None:
    """Go and Rust sources parse (gofmt -e / rustfmt --check), when those tools are installed."""
    go_files = [str(p) for p in project.rglob("*.go")]
    gofmt = shutil.which("gofmt")
    if go_files and gofmt:
        result = subprocess.run(
            [gofmt, "-e", "-l", *go_files], capture_output=True, text=True, timeout=60, check=False
        )
        assert not result.stderr.strip(), f"gofmt: {result.stderr[-2000:]}"
    rust_files = [str(p) for p in project.rglob("*.rs")]
    for path in rust_files:
        # rustc denies these in literals and comments (text_direction_codepoint_in_literal);
        # rustfmt does not check them, so look here.
        text = Path(path).read_text(encoding="utf-8")
        found = sorted({f"U+{ord(c):04X}" for c in text if c in RUST_BIDI})
        assert not found, f"{path}: rustc refuses the direction-changing codepoints {found}"
    rustfmt = shutil.which("rustfmt")
    if rust_files and rustfmt:
        result = subprocess.run(
            [rustfmt, "--check", "--edition", _rust_edition(project), *rust_files],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "error" not in result.stderr, f"rustfmt: {result.stderr[-2000:]}"


@pytest.mark.parametrize("lang", LANGUAGES)
@PROPERTY_SETTINGS
@given(description=free_text, owner=one_line_text)
def test_free_text_renders_verbatim_or_is_refused(
    tmp_path: Path, lang: str, description: str, owner: str
) -> None:
    project, result = attempt(lang, tmp_path, {"description": description, "owner": owner})
    if project is None:
        event("refused")
        assert result.field in ("description", "owner")
        return
    event("rendered")
    check_project(project, result)
    shutil.rmtree(project)


@pytest.mark.parametrize("lang", LANGUAGES)
@PROPERTY_SETTINGS
@given(name=project_names)
def test_project_names_render_or_are_refused(tmp_path: Path, lang: str, name: str) -> None:
    overrides: dict[str, Any] = {"project_name": name}
    if lang == "go":
        overrides["module_path"] = f"example.com/acme/{name}"
    project, result = attempt(lang, tmp_path, overrides)
    if project is None:
        event("refused")
        assert result.field in ("project name", "module path")
        return
    event("rendered")
    assert (project / "Dockerfile").is_file()
    check_project(project, result)
    shutil.rmtree(project)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_template_syntax_in_answers_is_never_evaluated(tmp_path: Path, lang: str) -> None:
    description = '{{ 7*7 }} "quotes" \\back\\slash ${{ x }} {% raw %}\nsecond line'
    project, answers = attempt(lang, tmp_path, {"description": description, "owner": "{{ 6*7 }}"})
    assert project is not None, answers
    check_project(project, answers)
    plain, _ = attempt(lang, tmp_path, {"description": "plain text", "owner": "plain"})
    assert plain is not None

    def count(root: Path, text: str) -> int:
        # Content digests in .stagekit.json are hex: any "42" in them is not an evaluation.
        return sum(
            re.sub(
                r"sha256:[0-9a-f]{64}", "", p.read_text(encoding="utf-8", errors="replace")
            ).count(text)
            for p in root.rglob("*")
            if p.is_file()
        )

    # The same project with plain text has as many "49"s and "42"s: none came from evaluation.
    assert count(project, "49") == count(plain, "49"), "{{ 7*7 }} was evaluated"
    assert count(project, "42") == count(plain, "42"), "{{ 6*7 }} was evaluated"
    assert count(project, "{{ 7*7 }}") >= 2  # .stagekit.json and at least one generated file


#: Descriptions each scaffold is rendered with every run (the generated examples vary per run).
HARD_DESCRIPTIONS = [
    '{{ 7*7 }} "quotes" \\back\\slash ${{ x }} {% raw %}\nsecond line',
    "byte order mark \ufeff inside",
    "right-to-left \u202e override and \u2066isolate\u2069",
    "astral \U0001f600 \U0001d518 and zero width \u200b",
    'tab\tand \' single """ triple quotes `back` #!/bin/sh; rm -rf / && $(id) %{x} ${X}',
    "x" * 500,
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("description", HARD_DESCRIPTIONS, ids=range(len(HARD_DESCRIPTIONS)))
def test_hard_descriptions_render_verbatim(tmp_path: Path, lang: str, description: str) -> None:
    project, answers = attempt(lang, tmp_path, {"description": description, "owner": "O'Brien \""})
    assert project is not None, answers
    check_project(project, answers)


# --- the source-literal filters against the real compilers ---------------------------------


def literal_cases() -> list[str]:
    """Strings that are valid descriptions (what reaches the filters), fixed and random."""
    fixed = FRAGMENTS + ["".join(FRAGMENTS[i : i + 5]) for i in range(0, len(FRAGMENTS), 5)]
    rng = random.Random(20261128)
    ranges = [
        (0x20, 0x7E),
        (0xA0, 0x2FF),
        (0x2000, 0x206F),
        (0xFE00, 0xFFFD),
        (0x1F300, 0x1FAFF),
        (0x10000, 0x10FFFD),
        (0x9, 0xA),
    ]
    randoms: list[str] = []
    while len(randoms) < 300:
        text = "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(1, 12)))
        if _valid(text):
            randoms.append(text)
    return [c for c in fixed if _valid(c)] + randoms


def _valid(text: str) -> bool:
    try:
        check_text("description", text, 500, True)
    except ValidationError:
        return False
    return True


def _round_trip_failures(cases: list[str], decoded: list[str], literal: Any) -> list[str]:
    return [
        f"{case!r} -> {literal(case)} -> {back!r}"
        for case, back in zip(cases, decoded, strict=True)
        if case != back
    ]


def _refused(cases: list[str], stderr: str, source: str, first_line: int) -> list[str]:
    """The cases on the lines the compiler names (case i is on line first_line + i)."""
    lines = {int(n) for n in re.findall(rf"{re.escape(source)}:(\d+):", stderr)}
    return [case for i, case in enumerate(cases) if first_line + i in lines]


@pytest.fixture(scope="module")
def cases() -> list[str]:
    return literal_cases()


def test_py_str_round_trips(cases: list[str]) -> None:
    failures = [c for c in cases if ast.literal_eval(py_str(c)) != c]
    assert not failures, failures[:10]


def _go_program(cases: list[str]) -> str:
    body = ",\n".join(f"\t{go_str(c)}" for c in cases)
    return (
        'package main\n\nimport (\n\t"encoding/json"\n\t"os"\n)\n\n'
        f"var xs = []string{{\n{body},\n}}\n\n"
        "func main() { _ = json.NewEncoder(os.Stdout).Encode(xs) }\n"
    )


def test_go_str_round_trips_through_the_go_compiler(tmp_path: Path, cases: list[str]) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed")
    env = {**os.environ, **native_caches(), "GOTOOLCHAIN": "local"}

    def run(batch: list[str]) -> subprocess.CompletedProcess[str]:
        source = tmp_path / "main.go"
        source.write_text(_go_program(batch), encoding="utf-8")
        return subprocess.run(
            [go, "run", str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
            check=False,
        )

    result = run(cases)
    if result.returncode != 0:
        bad = _refused(cases, result.stderr, "main.go", first_line=9)
        pytest.fail(f"go_str literals Go refuses: {bad!r}\n{result.stderr[-1500:]}")
    failures = _round_trip_failures(cases, json.loads(result.stdout), go_str)
    assert not failures, failures[:10]


def _rust_program(cases: list[str]) -> str:
    body = ",\n".join(f"        {rust_str(c)}" for c in cases)
    return (
        "fn main() {\n    let xs: &[&str] = &[\n"
        f"{body},\n    ];\n"
        "    for x in xs {\n"
        "        let v: Vec<String> = x.chars().map(|c| (c as u32).to_string()).collect();\n"
        '        println!("{}", v.join(","));\n    }\n}\n'
    )


def test_rust_str_round_trips_through_rustc(tmp_path: Path, cases: list[str]) -> None:
    rustc = shutil.which("rustc")
    if rustc is None:
        pytest.skip("rustc is not installed")

    def run(batch: list[str]) -> subprocess.CompletedProcess[str]:
        source = tmp_path / "main.rs"
        source.write_text(_rust_program(batch), encoding="utf-8")
        return subprocess.run(
            [rustc, "--edition", "2021", "-o", str(tmp_path / "main"), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    result = run(cases)
    if result.returncode != 0:
        bad = _refused(cases, result.stderr, "main.rs", first_line=3)
        pytest.fail(f"rust_str literals rustc refuses: {bad!r}\n{result.stderr[-1500:]}")
    output = subprocess.run(
        [str(tmp_path / "main")], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    decoded = ["".join(chr(int(n)) for n in line.split(",") if n) for line in output]
    failures = _round_trip_failures(cases, decoded, rust_str)
    assert not failures, failures[:10]
