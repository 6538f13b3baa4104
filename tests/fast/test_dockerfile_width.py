"""Generated Dockerfiles are read by the app developers who own them: no line runs past 100
columns, except a FROM or ARG line that carries an image digest (one line to pin and to merge)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ALL_COMBINATIONS, render_project

WIDTH = 100
DIGEST_LINE = re.compile(r"^(FROM|ARG)\b.*@sha256:[0-9a-f]{64}")


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_no_dockerfile_line_is_wider_than_100_columns(lang: str, base: str, tmp_path: Path) -> None:
    project = render_project(tmp_path, lang, base)
    wide = [
        f"{number}: {line}"
        for number, line in enumerate((project / "Dockerfile").read_text().splitlines(), 1)
        if len(line) > WIDTH and not DIGEST_LINE.match(line)
    ]
    assert not wide, "\n".join(wide)
