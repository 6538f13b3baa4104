"""``stagekit new`` as a library: gather answers from every source, validate, render.

Precedence, lowest first: the scaffold's defaults, the org config's defaults, an answers file,
flags, then prompts (only for what is still missing, and only on a terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.answers import FIELDS, Answers, defaults, git_user_name, validate
from stagekit.catalog import Scaffold, builtin
from stagekit.errors import MissingAnswerError, ValidationError
from stagekit.model import Language
from stagekit.names import validate_project_name
from stagekit.render import NewResult, generate


@dataclass(frozen=True)
class AnswerSources:
    """Raw answers from each source, lowest precedence first (each already key-normalised)."""

    config: Mapping[str, Any] = field(default_factory=dict)
    file: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, Any] = field(default_factory=dict)

    def merged(self) -> dict[str, Any]:
        return {**self.config, **self.file, **self.flags}


def scaffold_for_language(language: Language) -> Scaffold:
    return builtin(language)


def resolve_answers(
    sources: AnswerSources,
    *,
    no_input: bool,
    interactive: bool,
    scaffold: Scaffold | None = None,
    owner_default: str | None = None,
    ask: Callable[..., dict[str, Any]] | None = None,
) -> tuple[Scaffold, Answers]:
    """Merge, prompt for what is missing when allowed, apply defaults, validate."""
    given = sources.merged()
    explicit = {**sources.file, **sources.flags}  # what the user said for this project
    _check_early(given)
    if scaffold is not None and "language" in given and given["language"] != scaffold.language:
        raise ValidationError(
            "language", f"{given['language']!r} does not match the scaffold's {scaffold.language}"
        )
    if owner_default is None and "owner" not in given:
        owner_default = git_user_name()
    missing = _missing(explicit, scaffold)
    if missing and not no_input:
        if not interactive:
            key = missing[0]
            raise MissingAnswerError(FIELDS[key][1], FIELDS[key][0])
        if ask is None:
            from stagekit.prompts import ask as ask_questions

            ask = ask_questions
        chosen = scaffold

        def scaffold_for(language: Language) -> Scaffold:
            return chosen if chosen is not None else scaffold_for_language(language)

        # Config defaults become prompt defaults rather than silent answers.
        asked = ask(explicit, scaffold_for, owner_default or given.get("owner"))
        given = {**sources.config, **asked}
    if scaffold is None:
        language = _language(given.get("language", Language.GO.value))
        scaffold = scaffold_for_language(language)
    merged = {**defaults(scaffold, given, owner_default), **given}
    return scaffold, validate(scaffold, merged)


def _language(value: Any) -> Language:
    try:
        return Language(str(value))
    except ValueError:
        choices = ", ".join(lang.value for lang in Language)
        raise ValidationError(
            "language", f"{value!r} is not a supported language", f"choose one of: {choices}"
        ) from None


def _check_early(given: Mapping[str, Any]) -> None:
    """Refuse a bad flag before asking anything else."""
    if "project_name" in given:
        validate_project_name(str(given["project_name"]))
    if "language" in given:
        _language(given["language"])


def _missing(given: Mapping[str, Any], scaffold: Scaffold | None) -> list[str]:
    language = scaffold.language.value if scaffold else given.get("language")
    keys = [key for key in FIELDS if key != "module_path" or language in (None, "go")]
    if scaffold is not None:
        keys.remove("language")
    return [key for key in keys if key not in given]


def new(
    answers: Answers,
    scaffold: Scaffold,
    dest: Path | None = None,
    *,
    force: bool = False,
    overwrite: bool = False,
    registry: Mapping[str, Any] | None = None,
) -> NewResult:
    """Create a project from validated answers; ``dest`` defaults to ``./<project name>``."""
    target = dest if dest is not None else Path.cwd() / answers.project_name
    return generate(scaffold, answers, target, force=force, overwrite=overwrite, registry=registry)
