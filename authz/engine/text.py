"""The text of a policy file: its bytes decoded as UTF-8, with every problem placed
on the line where it occurs, and names quoted so that an invisible character
shows in a message instead of hiding in it.

A UTF-8 byte-order mark at the start of a file is accepted and dropped: some
editors write one, it carries no content, and refusing it would only make the
author hunt for a character they cannot see. Anywhere else it is an invisible
character like any other, and is reported with its line and name."""

from __future__ import annotations

import unicodedata

from authz.errors import Problem

BOM = "\ufeff"


def decode(name: str, data: bytes) -> str | Problem:
    """The text of file NAME, or the problem that it is not UTF-8 (with its line)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        return Problem(
            name,
            data.count(b"\n", 0, exc.start) + 1,
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at column {exc.start - line_start + 1} "
            "cannot be read (save the file as UTF-8)",
        )


def lines_of(text: str) -> list[str]:
    """The lines of TEXT as an editor numbers them: split at newlines only (unlike
    str.splitlines, which also splits at form feeds and Unicode separators)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def invisible_character(line: str) -> str | None:
    """What is wrong with LINE if it holds a character one cannot see (a tab is fine)."""
    for column, char in enumerate(line, start=1):
        if char != "\t" and not char.isprintable():
            name = unicodedata.name(char, "a control character")
            bom = "; a byte-order mark may only open the file" if char == BOM else ""
            return f"invisible character U+{ord(char):04X} ({name}) at column {column}{bom}"
    return None


def quoted(name: str) -> str:
    """NAME in quotes, any invisible character spelt out (\\u200b)."""
    shown = "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in name)
    return f"'{shown}'"
