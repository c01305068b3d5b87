"""The server's log lines: one event a line, whatever the message or exception holds."""

from __future__ import annotations

import logging
import sys

from authz.logs import CONTINUATION, FORMAT, OneLineFormatter


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("authz.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_message_is_one_line_with_its_control_characters_escaped():
    line = OneLineFormatter(FORMAT).format(record("user %s refused", "eve\n2026-01-01 INFO forged\x1b[0m"))
    assert "\n" not in line and line.endswith("WARNING authz.test user eve\\x0a2026-01-01 INFO forged\\x1b[0m refused")


def test_a_traceback_keeps_its_lines_each_marked_as_a_continuation():
    try:
        raise ValueError("bad\nWARNING authz.test forged\u2028too")
    except ValueError:
        text = OneLineFormatter(FORMAT).format(record("failed", exc_info=sys.exc_info()))
    first, *rest = text.split("\n")
    assert first.endswith("WARNING authz.test failed")
    assert rest[0] == CONTINUATION + "Traceback (most recent call last):"
    assert all(line.startswith(CONTINUATION) and line.isprintable() for line in rest)
    assert CONTINUATION + "WARNING authz.test forged\\u2028too" in rest


def test_plain_text_is_left_as_it_is():
    line = OneLineFormatter("%(message)s").format(record("Zürich: 日本 ok"))
    assert line == "Zürich: 日本 ok"
