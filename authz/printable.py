"""Text made safe to print as part of one line: every character that is not
printable (str.isprintable: controls such as newline and escape, format
characters such as the bidirectional overrides, line and paragraph separators,
unassigned code points) written as a backslash escape.

The same character rule as login ids and site numbers (models.identifiers), so
whatever an identifier may hold is shown as it is. Used where text that a caller
chose reaches a line someone reads: the audit trail's refusals and listings,
and the log. The escapes are for reading, not for decoding (a backslash is left
as it is)."""

from __future__ import annotations


def printable(text: str) -> str:
    """TEXT with each non-printable character as \\xHH, \\uHHHH or \\UHHHHHHHH."""
    if text.isprintable():  # the common case: one C-speed scan, no copy
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
