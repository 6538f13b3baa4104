"""Jinja filters that escape free text for the syntax of each generated file.

This module is self-contained on purpose: every scaffold links it as its ``local_extensions.py``
(cookiecutter's local-extension mechanism), so plain ``cookiecutter scaffolds/<lang>`` renders
exactly what ``stagekit new`` renders. It imports nothing from stagekit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# rustc refuses direction-changing code points inside literals (the "Trojan Source" lint).
_RUST_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unicode_escape(char: str, short: str, long: str) -> str:
    code = ord(char)
    return (short if code <= 0xFFFF else long).format(code)


def toml_str(value: object) -> str:
    """A TOML basic string, quotes included."""
    out = []
    for char in str(value):
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif _CONTROL.match(char):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def json_str(value: object) -> str:
    """A JSON string, quotes included (non-ASCII kept as is)."""
    return json.dumps(str(value), ensure_ascii=False)


def yaml_str(value: object) -> str:
    """A YAML double-quoted scalar, quotes included.

    JSON strings are valid YAML double-quoted scalars; non-ASCII stays literal so that no surrogate
    pair escape reaches a YAML parser.
    """
    return json_str(value)


def hcl_str(value: object) -> str:
    """An HCL string (docker-bake.hcl), quotes included; template sequences escaped."""
    body = json.dumps(str(value), ensure_ascii=False)[1:-1]
    return '"' + body.replace("${", "$${").replace("%{", "%%{") + '"'


def go_str(value: object) -> str:
    """A Go interpreted string literal, quotes included."""
    out = []
    for char in str(value):
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif _CONTROL.match(char) or char in "\u2028\u2029\ufeff":
            # gc refuses a byte-order mark anywhere in a source file, even inside a literal.
            out.append(_unicode_escape(char, "\\u{:04x}", "\\U{:08x}"))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def rust_str(value: object) -> str:
    """A Rust string literal, quotes included."""
    out = []
    for char in str(value):
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif _CONTROL.match(char) or char in _RUST_BIDI:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def py_str(value: object) -> str:
    """A Python string literal, quotes included."""
    text = str(value)
    # repr() picks the quote style and escapes control characters; force double quotes so that
    # ruff's formatter leaves the generated code alone.
    literal = repr(text)
    if literal.startswith("'"):
        literal = '"' + literal[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
    return literal


def dockerfile_str(value: object) -> str:
    """A double-quoted Dockerfile word for LABEL values: one line, ``$`` and quotes escaped."""
    text = " ".join(str(value).split())
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped + '"'


def md_line(value: object) -> str:
    """Markdown inline text on a single line."""
    return " ".join(str(value).split())


def resolve_image(reference: str, registry: Mapping[str, Any] | None) -> str:
    """Apply an org's registry mapping to an image reference (``scratch`` stays ``scratch``).

    ``registry["map"]`` maps a repository (``golang``, ``gcr.io/distroless/static-debian13``) to a
    replacement repository; otherwise a non-empty ``registry["prefix"]`` is put in front of the
    reference in its fully qualified form (``docker.io/library/golang`` for ``golang``).
    """
    if reference == "scratch" or not registry:
        return reference
    repository, sep, tag = _split_reference(reference)
    mapping = registry.get("map") or {}
    if repository in mapping:
        return f"{mapping[repository]}{sep}{tag}"
    prefix = str(registry.get("prefix") or "").rstrip("/")
    if not prefix:
        return reference
    return f"{prefix}/{_qualified(repository)}{sep}{tag}"


def _split_reference(reference: str) -> tuple[str, str, str]:
    """Split ``repo:tag`` / ``repo@digest`` into repository, separator and the rest."""
    if "@" in reference:
        repository, _, digest = reference.partition("@")
        return repository, "@", digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], ":", reference[colon + 1 :]
    return reference, "", ""


def _qualified(repository: str) -> str:
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return repository
    if "/" not in repository:
        return f"docker.io/library/{repository}"
    return f"docker.io/{repository}"


@pass_context
def image(context: Context, role: str) -> str:
    """The reference of the image for ``role`` on the chosen base, registry mapping applied."""
    cookiecutter = context["cookiecutter"]
    images = cookiecutter["_stagekit"]["images"][role]
    reference = images.get(cookiecutter["base"], images.get("*"))
    if reference is None:
        raise KeyError(f"no {role!r} image for base {cookiecutter['base']!r}")
    return resolve_image(str(reference), cookiecutter.get("_registry"))


FILTERS = {
    "toml_str": toml_str,
    "json_str": json_str,
    "yaml_str": yaml_str,
    "hcl_str": hcl_str,
    "go_str": go_str,
    "rust_str": rust_str,
    "py_str": py_str,
    "dockerfile_str": dockerfile_str,
    "md_line": md_line,
    "image": image,
}


class StagekitFilters(Extension):
    """Registers the escaping filters and the ``image`` filter on cookiecutter's environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
