"""One project name, and the identifiers each ecosystem derives from it, each checked by its rules.

The project name is deliberately narrow (a DNS label: lowercase letters, digits, single hyphens)
so that every derived identifier is valid by construction except for the ecosystems' reserved
words, which are checked here one by one.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from dataclasses import dataclass

from stagekit.errors import ValidationError

MAX_NAME = 63  # a DNS label, and comfortably under every ecosystem's own limit
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")

# Rust: strict and reserved keywords (2021 edition), and crate names cargo refuses.
RUST_KEYWORDS = frozenset(
    [
        "as",
        "async",
        "await",
        "break",
        "const",
        "continue",
        "crate",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "macro",
        "override",
        "priv",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "try",
        "gen",
        "union",
    ]
)
RUST_RESERVED_CRATES = frozenset({"std", "core", "alloc", "proc_macro", "test", "build", "deps"})
# Windows device names: cargo and Go both refuse them as package/directory names.
WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)
# Go: `go build` treats these paths specially; a command directory under cmd/ must avoid them.
GO_RESERVED = frozenset({"main", "internal", "vendor", "testdata", "std", "cmd", "all"})

_MODULE_ELEMENT = re.compile(r"[A-Za-z0-9._~-]+")
_DOMAIN = re.compile(r"[a-z0-9.-]+")


@dataclass(frozen=True)
class ProjectNames:
    """The identifiers derived from one project name."""

    project: str
    image: str
    binary: str
    crate: str
    dist: str
    package: str

    @classmethod
    def derive(cls, name: str) -> ProjectNames:
        snake = name.replace("-", "_")
        return cls(project=name, image=name, binary=name, crate=snake, dist=name, package=snake)


def validate_project_name(name: str) -> ProjectNames:
    """Check a project name against every ecosystem's rules and return its derived names."""
    field = "project name"
    if not name:
        raise ValidationError(field, "must not be empty", "example: payments-api")
    if len(name) > MAX_NAME:
        raise ValidationError(field, f"is {len(name)} characters long; at most {MAX_NAME}")
    if not _NAME.fullmatch(name):
        suggestion = suggest_name(name)
        hint = f"try {suggestion!r}" if suggestion else "example: payments-api"
        raise ValidationError(field, f"{_describe_bad_name(name)}", hint)
    names = ProjectNames.derive(name)
    if names.crate in RUST_KEYWORDS:
        raise ValidationError(field, f"{name!r} is a Rust keyword and cannot name a crate")
    if names.crate in RUST_RESERVED_CRATES:
        raise ValidationError(field, f"{name!r} is a crate name reserved by Rust/cargo")
    if keyword.iskeyword(names.package) or keyword.issoftkeyword(names.package):
        raise ValidationError(field, f"{name!r} is a Python keyword and cannot name a package")
    if names.package in sys.stdlib_module_names:
        raise ValidationError(
            field, f"{name!r} would shadow Python's standard-library module {names.package!r}"
        )
    if name in GO_RESERVED:
        raise ValidationError(field, f"{name!r} is a path Go's tooling reserves")
    if name in WINDOWS_RESERVED:
        raise ValidationError(field, f"{name!r} is a reserved device name on Windows")
    return names


def _describe_bad_name(name: str) -> str:
    if any(c.isspace() for c in name):
        return "must not contain spaces"
    if "/" in name or "\\" in name or name.startswith("."):
        return "must be a plain name, not a path"
    if name[0].isdigit():
        return "must start with a letter, not a digit"
    if any(c.isupper() for c in name):
        return "must be lowercase"
    if "_" in name:
        return "use hyphens, not underscores (the Rust and Python names get underscores)"
    if "--" in name or name.startswith("-") or name.endswith("-"):
        return "hyphens must separate letters or digits (no leading, trailing or double hyphen)"
    if any(ord(c) > 127 for c in name):
        return "must use ASCII letters, digits and hyphens only"
    return "may hold only lowercase letters, digits and single hyphens, starting with a letter"


def suggest_name(text: str) -> str:
    """A valid project name close to ``text`` (``"My Service"`` → ``"my-service"``), or ''."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = re.sub(r"^[0-9-]+", "", slug)[:MAX_NAME].rstrip("-")
    return slug if slug and _NAME.fullmatch(slug) else ""


def owner_slug(owner: str) -> str:
    """A path element from an owner's name, for the default Go module path."""
    return suggest_name(owner) or "example"


def default_module_path(owner: str, name: str) -> str:
    return f"github.com/{owner_slug(owner)}/{name}"


def validate_module_path(path: str) -> str:
    """Check a Go module path by the rules of ``golang.org/x/mod/module.CheckPath``."""
    field = "module path"
    if not path:
        raise ValidationError(field, "must not be empty", "example: github.com/acme/payments-api")
    if len(path) > 400:
        raise ValidationError(field, "is too long")
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise ValidationError(field, f"{path!r} has an empty path element")
    elements = path.split("/")
    first = elements[0]
    if "." not in first:
        raise ValidationError(
            field,
            f"first element {first!r} must be a domain name with a dot",
            "example: github.com/acme/payments-api",
        )
    if not _DOMAIN.fullmatch(first) or first.startswith("-"):
        raise ValidationError(
            field, f"first element {first!r} may hold only lowercase letters, digits, '.' and '-'"
        )
    for element in elements:
        if not _MODULE_ELEMENT.fullmatch(element):
            raise ValidationError(field, f"element {element!r} holds a character Go refuses")
        if element.startswith(".") or element.endswith("."):
            raise ValidationError(field, f"element {element!r} must not start or end with a dot")
        if element.split(".")[0].lower() in WINDOWS_RESERVED:
            raise ValidationError(field, f"element {element!r} is a reserved Windows name")
    return path
