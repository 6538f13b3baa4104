"""What keeps a generated project current: its Dependabot file, and actions pinned by commit SHA.

Every ``uses:`` in every workflow stagekit ships (the scaffolds' and the docs') names a full
commit SHA with the release as a comment, and the table in docs/pinning.md lists the same action,
release and SHA: one pin, written the same everywhere. The Dependabot files are validated with
check-jsonschema's built-in Dependabot schema (from SchemaStore).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, render_project

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.M)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})$")
COMMENT = re.compile(r"^\s+# (?P<tag>v\d+\.\d+\.\d+)$")
TABLE_ROW = re.compile(
    r"^\| `(?P<action>[\w.-]+/[\w.-]+)` \| (?P<tag>v\d+\.\d+\.\d+) \| `(?P<sha>[0-9a-f]{40})` \|",
    re.M,
)
ECOSYSTEM = {"go": "gomod", "rust": "cargo", "python": "uv"}


def check_dependabot(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its built-in Dependabot schema (SchemaStore's), offline."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.dependabot",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def shipped_workflows() -> dict[str, str]:
    """Every workflow text stagekit ships: the scaffolds' templates, the workflow partial they
    share, and the docs' examples."""
    scaffolds = REPO / "scaffolds"
    found = {
        str(p.relative_to(REPO)): p.read_text(encoding="utf-8")
        for p in sorted(
            [
                *scaffolds.glob("*/*/.github/workflows/*.yml"),
                scaffolds / "templates" / "ci.yml.jinja",
            ]
        )
    }
    for doc in [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]:
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", doc.read_text(), re.S)):
            if "uses:" in block:
                found[f"{doc.relative_to(REPO)}#{i}"] = block
    return found


def pins_in(text: str) -> list[tuple[str, str, str]]:
    """(action, sha, release) of each ``uses:``; a ``uses:`` that breaks the rule raises."""
    out = []
    for match in USES.finditer(text):
        ref, rest = match.group("ref"), match.group("rest")
        pinned, comment = PINNED.match(ref), COMMENT.match(rest)
        if ref.startswith("./"):
            continue  # a local action is the repository's own code
        if not pinned or not comment:
            raise AssertionError(f"not pinned to a commit SHA with a # vX.Y.Z comment: {ref}{rest}")
        out.append((pinned.group("action"), pinned.group("sha"), comment.group("tag")))
    return out


def test_every_shipped_uses_is_a_sha_with_its_release_and_the_docs_table_agrees() -> None:
    table = {
        m.group("action"): (m.group("sha"), m.group("tag"))
        for m in TABLE_ROW.finditer((REPO / "docs" / "pinning.md").read_text(encoding="utf-8"))
    }
    seen: set[str] = set()
    workflows = shipped_workflows()
    assert len(workflows) >= 4
    for where, text in workflows.items():
        for action, sha, tag in pins_in(text):
            assert table.get(action) == (sha, tag), f"{where}: {action}@{sha} # {tag}"
            seen.add(action)
    assert seen == set(table), "the table lists exactly the actions in use"


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v4",
        "      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262",
        "      - uses: actions/checkout@11d5960 # v4.4.0",
        "        uses: docker/build-push-action@main # v6.19.2",
    ],
)
def test_the_rule_refuses_tags_short_shas_and_missing_comments(line: str) -> None:
    with pytest.raises(AssertionError, match="not pinned"):
        pins_in(line + "\n")


@pytest.mark.parametrize("lang", sorted(ECOSYSTEM))
def test_the_dependabot_file_validates_and_covers_images_actions_and_dependencies(
    tmp_path: Path, lang: str
) -> None:
    project = render_project(tmp_path, lang, "distroless")
    config = project / ".github" / "dependabot.yml"
    checked = check_dependabot(config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    updates = yaml.safe_load(config.read_text())["updates"]
    assert {u["package-ecosystem"] for u in updates} == {
        "docker",
        "github-actions",
        ECOSYSTEM[lang],
    }
    assert all(u["directory"] == "/" and u["groups"] for u in updates), "grouped: few PRs"


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "dependabot.yml"
    bad.write_text("version: 2\nupdates:\n  - package-ecosystem: gomodules\n    directory: /\n")
    checked = check_dependabot(bad)
    assert checked.returncode == 1 and "gomodules" in checked.stdout
