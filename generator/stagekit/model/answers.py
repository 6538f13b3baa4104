"""Answers: the validated, typed values one project is generated from.

Answers come from several places (scaffold defaults, an org config, an answers file, flags,
prompts); they are merged as plain mappings of text and validated once, here, into a frozen
:class:`Answers`. Free text is checked for characters no file format can carry, never for
"dangerous" content: it is data, and the scaffolds escape it for each file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stagekit.errors import AnswersFileError, ValidationError
from stagekit.model import Base, Language
from stagekit.model.catalog import Scaffold
from stagekit.model.names import (
    ProjectNames,
    default_module_path,
    validate_module_path,
    validate_project_name,
)

MAX_DESCRIPTION = 500
MAX_OWNER = 100
MIN_PORT = 1024  # the release image runs as non-root with every capability dropped
MAX_PORT = 65535

#: Answer keys, the flag that sets each, and a label for prompts and errors.
FIELDS: dict[str, tuple[str, str]] = {
    "project_name": ("--name", "project name"),
    "language": ("--lang", "language"),
    "base": ("--base", "runtime base"),
    "version": ("--version", "language version"),
    "port": ("--port", "HTTP port"),
    "description": ("--description", "description"),
    "owner": ("--owner", "owner"),
    "module_path": ("--module", "Go module path"),
}
_ALIASES = {"name": "project_name", "lang": "language", "module": "module_path"}
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True)
class Answers:
    """Everything a scaffold is rendered from; valid by construction (see :func:`validate`)."""

    project_name: str
    language: Language
    base: Base
    version: str
    port: int
    description: str
    owner: str
    module_path: str | None = None

    @property
    def names(self) -> ProjectNames:
        return ProjectNames.derive(self.project_name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["language"] = self.language.value
        data["base"] = self.base.value
        if self.module_path is None:
            del data["module_path"]
        return data

    def context(self) -> dict[str, str]:
        """The scaffold's public cookiecutter keys, as text."""
        data = {
            "project_name": self.project_name,
            "description": self.description,
            "owner": self.owner,
            "base": self.base.value,
            "version": self.version,
            "port": str(self.port),
        }
        if self.module_path is not None:
            data["module_path"] = self.module_path
        return data


def normalize_keys(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Map aliases (``name``, ``lang``, ``module``) to answer keys; refuse unknown keys."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        canonical = _ALIASES.get(key, key)
        if canonical not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise AnswersFileError(f"{source}: unknown answer {key!r}", f"known answers: {known}")
        if value is not None:
            out[canonical] = value
    return out


def load_answers_file(path: str, stdin_text: str | None = None) -> dict[str, Any]:
    """Read an answers file (YAML or JSON; ``-`` is standard input) into answer keys."""
    source = "standard input" if path == "-" else path
    if path == "-":
        text = stdin_text if stdin_text is not None else sys.stdin.read()
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AnswersFileError(f"answers file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AnswersFileError(f"cannot read answers file {path}: {exc}") from None
    data: Any
    try:
        data = json.loads(text)
    except ValueError:
        import yaml  # only needed for YAML answers files

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "syntax error"
            raise AnswersFileError(f"{source}: neither JSON nor YAML ({first})") from None
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]  # a .stagekit.json of an earlier project is an answers file too
    if not isinstance(data, dict):
        raise AnswersFileError(f"{source}: must be a mapping of answers (key: value)")
    return normalize_keys(data, source)


def git_user_name(cwd: Path | None = None) -> str | None:
    """The user's ``git config user.name``, if git and the setting exist."""
    try:
        result = subprocess.run(
            ["git", "config", "--get", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=cwd,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    name = result.stdout.strip()
    return name or None


def defaults(
    scaffold: Scaffold, given: Mapping[str, Any], owner: str | None = None
) -> dict[str, Any]:
    """The default for every answer, some depending on answers already given."""
    base_defaults = scaffold.defaults
    name = str(given.get("project_name", base_defaults["project_name"]))
    owner_value = str(given.get("owner") or owner or base_defaults["owner"])
    result: dict[str, Any] = {
        "project_name": base_defaults["project_name"],
        "language": scaffold.language.value,
        "base": scaffold.default_base.value,
        "version": scaffold.default_version,
        "port": int(str(base_defaults["port"])),
        "description": base_defaults["description"],
        "owner": owner_value,
    }
    if scaffold.language is Language.GO:
        result["module_path"] = default_module_path(owner_value, name)
    return result


def check_text(field: str, value: Any, limit: int, multiline: bool) -> str:
    """Free text: a string of printable characters (newline/tab where allowed) within a limit."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    if not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > limit:
        raise ValidationError(field, f"is {len(value)} characters long; at most {limit}")
    allowed = "\n\t" if multiline else ""
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in _BAD_CATEGORIES:
            what = "a line break" if char in "\n\r\u2028\u2029" else f"U+{ord(char):04X}"
            raise ValidationError(field, f"contains {what}, which is not allowed here")
    return value


def check_description(value: Any) -> str:
    """A description: one paragraph of free text (newlines and tabs allowed)."""
    return check_text("description", value, MAX_DESCRIPTION, True)


def check_owner(value: Any) -> str:
    """An owner (author or team): one line of free text."""
    return check_text("owner", value, MAX_OWNER, False)


def check_port(value: Any, debug_port: int) -> int:
    field = "port"
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a number") from None
    if not MIN_PORT <= port <= MAX_PORT:
        raise ValidationError(
            field,
            f"{port} is outside {MIN_PORT}-{MAX_PORT}",
            "the release image runs as non-root without capabilities, so it cannot bind below 1024",
        )
    if port == debug_port:
        raise ValidationError(field, f"{port} is the debugger's port; choose another")
    return port


def parse_language(value: Any) -> Language:
    """A language answer: one of the languages that have a built-in scaffold."""
    try:
        return Language(str(value))
    except ValueError:
        choices = ", ".join(lang.value for lang in Language)
        raise ValidationError(
            "language", f"{value!r} is not a supported language", f"choose one of: {choices}"
        ) from None


def parse_base(value: Any) -> Base:
    """A base answer: one of the runtime bases."""
    try:
        return Base(str(value))
    except ValueError:
        choices = ", ".join(b.value for b in Base)
        raise ValidationError(
            "base", f"{value!r} is not a base", f"choose one of: {choices}"
        ) from None


def validate(scaffold: Scaffold, raw: Mapping[str, Any]) -> Answers:
    """Turn merged raw answers into :class:`Answers`, or raise the first rule broken."""
    names = validate_project_name(str(raw["project_name"]))
    scaffold.check_name(names.project)
    language = str(raw.get("language", scaffold.language.value))
    if language != scaffold.language.value:
        raise ValidationError(
            "language", f"{language!r} does not match the scaffold's language {scaffold.language}"
        )
    base = parse_base(raw["base"])
    version = str(raw["version"])
    scaffold.check_supported(base, version)
    module_path = None
    if scaffold.language is Language.GO:
        module_path = validate_module_path(str(raw["module_path"]))
    return Answers(
        project_name=names.project,
        language=scaffold.language,
        base=base,
        version=version,
        port=check_port(raw["port"], scaffold.debug_port),
        description=check_description(raw["description"]),
        owner=check_owner(raw["owner"]),
        module_path=module_path,
    )
