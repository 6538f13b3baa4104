"""What the benchmarks do to a generated project: a one-line source change, a naive Dockerfile.

Both work from the rendered files and ``.stagekit.json`` alone, so a scaffold that changes its
layout keeps working here without a language branch per file name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from stagekit.model import Language

#: Where each language keeps the sources a one-line change may touch, and their suffix.
SOURCE_ROOTS: dict[Language, tuple[tuple[str, ...], str]] = {
    Language.GO: (("internal", "cmd", "."), ".go"),
    Language.RUST: (("src",), ".rs"),
    Language.PYTHON: (("src",), ".py"),
}
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ROUTE = re.compile(r"^(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) )?/")
_SKIP_LINE = re.compile(
    r'^\s*(?:import\b|from\b|use\b|package\b|mod\b|extern\b|#\[|#!|//|#|"""|\'\'\'|r#")'
)
_GREETING = re.compile(r"\bhello\b", re.IGNORECASE)  # not hello_service: "_" is a word character
MARK = "!"
NAIVE_STAGE = "naive"


@dataclass(frozen=True)
class Change:
    """One line changed in one file (enough to undo it)."""

    path: Path
    line: int  # 1-based
    before: str
    after: str
    original: str  # the whole file before the change

    def undo(self) -> None:
        self.path.write_text(self.original, encoding="utf-8")

    def describe(self, root: Path, context: int = 30) -> str:
        """``file:line: …old… → …new…``, trimmed to where the two lines differ."""
        where = f"{self.path.relative_to(root)}:{self.line}"
        before, after = self.before.strip(), self.after.strip()
        start = next(
            (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
            min(len(before), len(after)),
        )
        left = max(0, start - context)

        def trim(text: str) -> str:
            piece = text[left : start + context]
            return ("…" if left else "") + piece + ("…" if start + context < len(text) else "")

        return f"{where}: {trim(before)} → {trim(after)}"


def is_test_file(path: Path) -> bool:
    name = path.name
    return (
        name.endswith("_test.go")
        or name.startswith("test_")
        or name.endswith("_test.py")
        or "tests" in path.parts
        or name == "conftest.py"
    )


def source_files(project: Path, language: Language) -> list[Path]:
    """The project's non-test source files, preferred folders first."""
    roots, suffix = SOURCE_ROOTS[language]
    seen: dict[Path, None] = {}
    for root in roots:
        folder = project / root
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob(f"*{suffix}")):
            relative = path.relative_to(project)
            if relative.parts[0].startswith(".") or "target" in relative.parts:
                continue
            if not is_test_file(relative):
                seen.setdefault(path, None)
    return list(seen)


def literal_score(text: str) -> int:
    """How much a string looks like a greeting a handler returns (``"Hello, "``): 0 to 3."""
    return (2 if _GREETING.search(text) else 0) + (1 if " " in text else 0)


def pick_literal(line: str) -> tuple[int, int] | None:
    """The span of the best string literal's contents on a line to change, or None."""
    if _SKIP_LINE.match(line):
        return None
    best: tuple[int, tuple[int, int]] | None = None
    for match in _LITERAL.finditer(line):
        text = match.group(1)
        if not re.search(r"[A-Za-z]", text) or _ROUTE.match(text):
            continue
        score = literal_score(text)
        if best is None or score > best[0]:
            best = (score, match.span(1))
    return best[1] if best else None


def best_literal(text: str) -> tuple[int, int, tuple[int, int]] | None:
    """The literal to change in ``text``: (score, line number, span), greetings first."""
    candidates: list[tuple[int, int, tuple[int, int]]] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        span = pick_literal(line)
        if span is not None:
            candidates.append((literal_score(line[span[0] : span[1]]), number, span))
    return max(candidates, key=lambda c: (c[0], -c[1])) if candidates else None


def change_text(text: str, mark: str = MARK) -> tuple[int, str, str, str] | None:
    """Append ``mark`` to one string literal: (line number, old line, new line, new text)."""
    best = best_literal(text)
    if best is None:
        return None
    _, number, (_, end) = best
    lines = text.splitlines(keepends=True)
    old = lines[number - 1]
    new = old[:end] + mark + old[end:]
    lines[number - 1] = new
    return number, old, new, "".join(lines)


def change_one_line(project: Path, language: Language, mark: str = MARK) -> Change:
    """Change one string literal in the best-scoring source file (greetings in handlers first).

    ``mark`` is what gets appended; a new one per rebuild keeps BuildKit from finding the changed
    sources in its cache from an earlier rebuild.
    """
    best: tuple[int, Path, str] | None = None
    for path in source_files(project, language):
        original = path.read_text(encoding="utf-8")
        found = best_literal(original)
        if found is None:
            continue
        score = 2 * found[0] + (1 if _HANDLER.search(original) else 0)
        if best is None or score > best[0]:
            best = (score, path, original)
    if best is None:
        # No literal anywhere: a comment line still changes the sources the build copies.
        files = source_files(project, language)
        if not files:
            raise FileNotFoundError(f"no {language} source file in {project}")
        path = files[0]
        original = path.read_text(encoding="utf-8")
        comment = "#" if language is Language.PYTHON else "//"
        line = f"{comment} benchmark: one-line change {mark}\n"
        text = original if original.endswith("\n") else original + "\n"
        path.write_text(text + line, encoding="utf-8")
        return Change(path, text.count("\n") + 1, "", line, original)
    _, path, original = best
    changed = change_text(original, mark)
    assert changed is not None  # best_literal found one in this text
    number, old, new, text = changed
    path.write_text(text, encoding="utf-8")
    return Change(path, number, old, new, original)


_HANDLER = re.compile(r"handler|Handler|http\.|axum|Router|route|app\.(?:get|route)", re.I)


# --- the naive single-stage Dockerfile ----------------------------------------------------------

_CA = "--mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false"


def naive_dockerfile(
    language: Language, project: Path, build_image: str, entrypoint: list[str] | None
) -> str:
    """A one-stage Dockerfile for the same app: FROM the build image, COPY ., build, CMD.

    What a first Dockerfile usually looks like: the whole toolchain, the sources and every build
    by-product stay in the image. The CA secret is mounted because this network needs it to fetch
    dependencies; it adds nothing to the image.
    """
    program = Path(entrypoint[0]).name if entrypoint else project.name
    if language is Language.GO:
        package = f"./cmd/{program}" if (project / "cmd" / program).is_dir() else "."
        build = f"go build -o /usr/local/bin/{program} {package}"
        cmd = [f"/usr/local/bin/{program}"]
    elif language is Language.RUST:
        build = (
            "cargo build --release --locked"
            if (project / "Cargo.lock").is_file()
            else ("cargo build --release")
        )
        cmd = [f"/src/target/release/{_rust_binary(project, program)}"]
    else:
        # pip reads its own CA bundle unless told: PIP_CERT points it at the system's (the secret).
        build = "PIP_CERT=/etc/ssl/certs/ca-certificates.crt pip install ."
        cmd = _python_command(project)
    cmd_json = "[" + ", ".join(f'"{part}"' for part in cmd) + "]"
    return (
        "# Naive single-stage build (benchmark baseline): toolchain, sources and build output\n"
        "# all stay in the one image.\n"
        f"FROM {build_image} AS {NAIVE_STAGE}\n"
        "WORKDIR /src\n"
        "COPY . .\n"
        f"RUN {_CA} \\\n    {build}\n"
        f"CMD {cmd_json}\n"
    )


def _rust_binary(project: Path, fallback: str) -> str:
    try:
        data = tomllib.loads((project / "Cargo.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return fallback
    bins = data.get("bin")
    if isinstance(bins, list) and bins and isinstance(bins[0], dict) and "name" in bins[0]:
        return str(bins[0]["name"])
    return str(data.get("package", {}).get("name", fallback))


def _python_command(project: Path) -> list[str]:
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ["python3", "-m", project.name.replace("-", "_")]
    scripts = data.get("project", {}).get("scripts", {})
    if isinstance(scripts, dict) and scripts:
        return [str(next(iter(scripts)))]
    name = str(data.get("project", {}).get("name", project.name))
    return ["python3", "-m", name.replace("-", "_")]
