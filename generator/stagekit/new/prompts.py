"""The interactive questions of ``stagekit new`` (questionary), validated as they are typed.

Only answers not already given (by flags, an answers file or an org config) are asked. Every
validator is the same function the non-interactive path uses, so both refuse the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stagekit.errors import AbortedError, MissingAnswerError, StagekitError
from stagekit.model import Base, Language
from stagekit.model.answers import FIELDS, check_description, check_owner, check_port, defaults
from stagekit.model.catalog import Scaffold
from stagekit.model.names import default_module_path, validate_module_path, validate_project_name

Validator = Callable[[str], bool | str]


def _validator(check: Callable[[str], object]) -> Validator:
    def validate(text: str) -> bool | str:
        try:
            check(text)
        except StagekitError as exc:
            return exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
        return True

    return validate


def _text(
    message: str, default: str, check: Callable[[str], object], instruction: str | None = None
) -> str:
    """Ask for text with ``default`` shown dimmed in the empty field: Enter takes it, and what is
    typed replaces it (questionary's own ``default`` pre-fills the buffer, so typing appends)."""
    import questionary

    answer: str = questionary.text(
        message,
        validate=_validator(lambda text: check(text or default)),
        instruction=instruction,
        placeholder=[("class:placeholder fg:ansibrightblack", default)],
    ).unsafe_ask()
    return answer or default


def ask(
    given: Mapping[str, Any],
    scaffold_for: Callable[[Language], Scaffold],
    owner_default: str | None,
) -> dict[str, Any]:
    """Ask for every missing answer, show a summary and ask for confirmation."""
    import questionary

    answers = dict(given)
    try:
        if "project_name" not in answers:
            answers["project_name"] = _text(
                "Project name:",
                "hello-service",
                validate_project_name,
                instruction="(lowercase letters, digits and hyphens)",
            )
        if "language" not in answers:
            answers["language"] = questionary.select(
                "Language:", choices=[lang.value for lang in Language], default="go"
            ).unsafe_ask()
        scaffold = scaffold_for(Language(answers["language"]))
        fallback = defaults(scaffold, answers, owner_default)
        if "base" not in answers:
            answers["base"] = questionary.select(
                "Runtime base of the release image:",
                choices=[
                    questionary.Choice(base.value, value=base.value, description=_BASE_HELP[base])
                    for base in scaffold.bases
                ],
                default=fallback["base"],
            ).unsafe_ask()
        if "version" not in answers:
            base = Base(answers["base"])
            choices = [v for v in scaffold.versions if scaffold.supports(base, v)]
            answers["version"] = questionary.select(
                f"{scaffold.language.value.capitalize()} version:",
                choices=choices,
                default=choices[0] if choices else None,
            ).unsafe_ask()
        if "port" not in answers:
            answers["port"] = _text(
                "HTTP port:",
                str(fallback["port"]),
                lambda text: check_port(text, scaffold.debug_port),
            )
        if "description" not in answers:
            answers["description"] = _text(
                "Short description:",
                str(fallback["description"]),
                check_description,
            )
        if "owner" not in answers:
            answers["owner"] = _text(
                "Owner (author or team):",
                str(fallback["owner"]),
                check_owner,
            )
        if scaffold.language is Language.GO and "module_path" not in answers:
            answers["module_path"] = _text(
                "Go module path:",
                default_module_path(str(answers["owner"]), str(answers["project_name"])),
                validate_module_path,
            )
        print_summary(answers)
        if not questionary.confirm("Create the project?", default=True).unsafe_ask():
            raise AbortedError("cancelled: nothing was created")
    except KeyboardInterrupt:
        raise AbortedError("cancelled: nothing was created") from None
    except EOFError:
        missing = next((key for key in FIELDS if key not in answers), "project_name")
        raise MissingAnswerError(FIELDS[missing][1], FIELDS[missing][0]) from None
    return answers


def print_summary(answers: Mapping[str, Any]) -> None:
    import questionary

    questionary.print("\nSummary", style="bold")
    for key, (_flag, label) in FIELDS.items():
        if key in answers:
            questionary.print(f"  {label:<18} {answers[key]}")


_BASE_HELP = {
    Base.DISTROLESS: "Google's distroless: CA certs, tzdata, nonroot user; no shell",
    Base.SCRATCH: "empty: only the app (smallest); no shell",
    Base.ALPINE: "alpine: a small image with a shell and a package manager",
}
