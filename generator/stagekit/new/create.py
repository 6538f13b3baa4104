"""``stagekit new`` as a library: gather answers from every source, validate, render.

Precedence, lowest first: the scaffold's defaults, the org config's defaults, an answers file,
flags, then prompts (only for what is still missing, and only on a terminal; the org config's
defaults are then the prompts' defaults).

The org config also says where base images come from (``registry``) and which build-time network
settings the project carries: ``build-args.env`` (read by ``stagekit smoke``),
``docker-bake.override.hcl`` (read by ``docker buildx bake``) and a ``network`` section in
``.stagekit.json``; only the build arguments the scaffold declares in ``_stagekit.network_args``
are written, plus BuildKit's predefined proxy arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagekit.errors import MissingAnswerError, ValidationError
from stagekit.model import Base, Language
from stagekit.model.answers import (
    FIELDS,
    Answers,
    defaults,
    git_user_name,
    parse_language,
    validate,
)
from stagekit.model.catalog import Scaffold, builtin
from stagekit.model.config import OrgConfig, module_path_for
from stagekit.model.names import validate_project_name
from stagekit.new.render import NewResult, generate
from stagekit.org.project_files import network_files


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
    if scaffold is not None and "language" in sources.config:
        # An org-wide default language does not apply to a scaffold chosen by name.
        config = {k: v for k, v in sources.config.items() if k != "language"}
        sources = dataclasses.replace(sources, config=config)
    given = sources.merged()
    explicit = {**sources.file, **sources.flags}  # what the user said for this project
    _check_early(given)
    if scaffold is not None or "language" in explicit:
        _check_module_path(
            explicit, scaffold.language if scaffold else parse_language(given["language"])
        )
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
            from stagekit.new.prompts import ask as ask_questions

            ask = ask_questions
        chosen = scaffold

        def scaffold_for(language: Language) -> Scaffold:
            found = chosen if chosen is not None else scaffold_for_language(language)
            return with_config_defaults(found, sources.config)

        # Config defaults become prompt defaults rather than silent answers.
        asked = ask(explicit, scaffold_for, owner_default or given.get("owner"))
        given = {**sources.config, **asked}
    if scaffold is None:
        language = parse_language(given.get("language", Language.GO.value))
        scaffold = scaffold_for_language(language)
    _check_module_path(explicit, scaffold.language)
    module_path = given.get("module_path")
    if isinstance(module_path, str) and "{project_name}" in module_path:
        name = str(given.get("project_name", scaffold.defaults["project_name"]))
        given = {**given, "module_path": module_path_for(module_path, name)}
    merged = {**defaults(scaffold, given, owner_default), **given}
    return scaffold, validate(scaffold, merged)


def with_config_defaults(scaffold: Scaffold, config: Mapping[str, Any]) -> Scaffold:
    """The scaffold as the prompts see it: the org config's answers as defaults, its base and
    version first in the choice lists. Only for asking; rendering uses the scaffold as it is."""
    if not config:
        return scaffold
    scaffold_defaults = dict(scaffold.defaults)
    for key in ("description", "owner", "port"):
        if key in config:
            scaffold_defaults[key] = config[key]
    bases, versions = scaffold.bases, scaffold.versions
    if str(config.get("base")) in {b.value for b in bases}:
        first = Base(str(config["base"]))
        bases = (first, *(b for b in bases if b != first))
    if str(config.get("version")) in versions:
        chosen = str(config["version"])
        versions = (chosen, *(v for v in versions if v != chosen))
    return dataclasses.replace(scaffold, defaults=scaffold_defaults, bases=bases, versions=versions)


def _check_early(given: Mapping[str, Any]) -> None:
    """Refuse a bad flag before asking anything else."""
    if "project_name" in given:
        validate_project_name(str(given["project_name"]))
    if "language" in given:
        parse_language(given["language"])


def _check_module_path(explicit: Mapping[str, Any], language: Language) -> None:
    """A module path said for this project is a Go answer; an org default may name one for all."""
    if "module_path" in explicit and language is not Language.GO:
        raise ValidationError(
            "module_path",
            f"a module path is for Go projects, and this one is {language.value}",
            "drop --module (or module_path from the answers file)",
        )


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
    config: OrgConfig | None = None,
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> NewResult:
    """Create a project from validated answers; ``dest`` defaults to ``./<project name>``.

    ``config`` supplies the registry mapping (unless ``registry`` is given) and the network
    settings; ``record`` adds fields to ``.stagekit.json`` (e.g. the commit a scaffold came from).
    """
    target = dest if dest is not None else Path.cwd() / answers.project_name
    files: dict[str, str] = {}
    extra: dict[str, dict[str, Any]] = {key: dict(value) for key, value in (record or {}).items()}
    if config is not None:
        if registry is None:
            registry = config.registry.context(scaffold)
        files, network = network_files(scaffold, config)
        if network:
            extra.setdefault("network", {}).update(network)
    return generate(
        scaffold,
        answers,
        target,
        force=force,
        overwrite=overwrite,
        registry=registry,
        extra_files=files,
        record=extra,
    )
