"""Tables: one per section, rendered as aligned text for the terminal or as Markdown."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A column heading; ``right`` aligns numbers on the right in text output."""

    title: str
    right: bool = False


@dataclass
class Table:
    """A titled table of text cells, with notes printed under it."""

    title: str
    columns: Sequence[Column]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["-" if cell is None else str(cell) for cell in cells])

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "columns": [c.title for c in self.columns],
            "rows": self.rows,
            "notes": self.notes,
        }


def width(text: str) -> int:
    """Terminal columns ``text`` takes (wide characters count twice, combining ones not at all)."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _pad(text: str, size: int, right: bool) -> str:
    gap = " " * (size - width(text))
    return gap + text if right else text + gap


def render_text(table: Table) -> str:
    """The table as aligned plain text: title, underline, header, rows, notes."""
    sizes = [width(c.title) for c in table.columns]
    for row in table.rows:
        for index, cell in enumerate(row):
            sizes[index] = max(sizes[index], width(cell))
    lines = [table.title, "=" * width(table.title)]
    header = "  ".join(_pad(c.title, sizes[i], c.right) for i, c in enumerate(table.columns))
    lines.append(header.rstrip())
    lines.append("  ".join("-" * size for size in sizes))
    for row in table.rows:
        cells = [_pad(cell, sizes[i], table.columns[i].right) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    if not table.rows:
        lines.append("(nothing measured)")
    lines.extend(f"  * {note}" for note in table.notes)
    return "\n".join(lines)


def markdown_cell(text: str) -> str:
    """A cell's text made safe for a Markdown table (pipes escaped, one line)."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split()) or " "


def render_markdown(table: Table, level: int = 2) -> str:
    """The table as a Markdown section: heading, pipe table, notes as a list."""
    lines = [f"{'#' * level} {table.title}", ""]
    lines.append("| " + " | ".join(markdown_cell(c.title) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.right else "---" for c in table.columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(markdown_cell(cell) for cell in row) + " |")
    if not table.rows:
        lines.append("| " + " | ".join(["-"] * len(table.columns)) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"- {' '.join(note.split())}" for note in table.notes)
    return "\n".join(lines)
