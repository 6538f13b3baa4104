"""BuildKit's own parse of a Dockerfile (PyPI ``dockerfile``), as typed values.

Instructions, stages, ``ARG`` defaults and word expansion as the builder sees them; the contract's
rules on that parse are :mod:`stagekit.lint.dockerfile`. Every function here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stagekit.contract import BUILD_ARG_NAME

_VARIABLE = re.compile(
    rf"\$(?:\{{(?P<braced>{BUILD_ARG_NAME.pattern})(?P<modifier>:?[-+][^}}]*)?\}}"
    rf"|(?P<plain>{BUILD_ARG_NAME.pattern}))"
)


@dataclass(frozen=True)
class Instruction:
    """One parsed instruction (a typed copy of ``dockerfile.Command``)."""

    cmd: str
    sub_cmd: str | None
    json: bool
    original: str
    line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]

    def flag(self, name: str) -> list[str]:
        """The values of ``--name=value`` flags (every occurrence, in order)."""
        prefix = f"--{name}="
        return [f[len(prefix) :] for f in self.flags if f.startswith(prefix)]


@dataclass
class ParsedStage:
    """One ``FROM`` and the instructions up to the next."""

    index: int
    name: str | None
    base: str
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]


class DockerfileSyntaxError(ValueError):
    """BuildKit's parser refused the file."""


def parse(text: str) -> list[Instruction]:
    """Parse with BuildKit's parser; raise :class:`DockerfileSyntaxError` if it refuses."""
    import dockerfile  # a compiled extension; only lint needs it

    try:
        commands: Iterable[Any] = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        raise DockerfileSyntaxError(str(exc)) from None
    return [
        Instruction(
            cmd=str(c.cmd).upper(),
            sub_cmd=c.sub_cmd,
            json=bool(c.json),
            original=str(c.original),
            line=int(c.start_line),
            flags=tuple(c.flags),
            value=tuple(c.value),
        )
        for c in commands
    ]


def split_stages(
    instructions: Sequence[Instruction],
) -> tuple[list[Instruction], list[ParsedStage]]:
    """The instructions before the first FROM (global ARGs), and the stages."""
    preamble: list[Instruction] = []
    stages: list[ParsedStage] = []
    for instruction in instructions:
        if instruction.cmd == "FROM":
            value = instruction.value
            name = value[2].lower() if len(value) >= 3 and value[1].upper() == "AS" else None
            base = value[0] if value else ""
            stages.append(ParsedStage(len(stages), name, base, instruction.line))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    return preamble, stages


def arg_defaults(instructions: Iterable[Instruction]) -> dict[str, str | None]:
    """``ARG NAME=default`` → ``{NAME: default}``; ``ARG NAME`` → ``{NAME: None}``."""
    out: dict[str, str | None] = {}
    for instruction in instructions:
        if instruction.cmd != "ARG":
            continue
        for word in instruction.value:
            name, sep, default = word.partition("=")
            out[name] = unquote(default) if sep else None
    return out


def expand(word: str, args: Mapping[str, str | None]) -> str | None:
    """Substitute ``$NAME``/``${NAME}``/``${NAME:-x}``/``${NAME:+x}``; None if one has no value."""
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group("braced") or match.group("plain")
        value = args.get(name)
        modifier = match.group("modifier") or ""
        if modifier.lstrip(":").startswith("-"):
            return value if value else modifier.lstrip(":")[1:]
        if modifier.lstrip(":").startswith("+"):
            return modifier.lstrip(":")[1:] if value else ""
        if value is None:
            unresolved = True
            return ""
        return value

    result = _VARIABLE.sub(substitute, word)
    return None if unresolved else result


def unquote(word: str) -> str:
    """A Dockerfile word as the builder sees it: quotes removed, backslash escapes applied."""
    out: list[str] = []
    quote: str | None = None
    chars = iter(word)
    for char in chars:
        if quote == "'":
            if char == "'":
                quote = None
            else:
                out.append(char)
        elif char == "\\":
            following = next(chars, "")
            if quote == '"' and following not in ('"', "\\", "$"):
                out.append(char)
            out.append(following)
        elif char in "\"'" and (quote is None or quote == char):
            quote = None if quote else char
        else:
            out.append(char)
    return "".join(out)
