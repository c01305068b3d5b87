"""Text made safe to print on one line."""

from __future__ import annotations

import pytest

from authz.printable import printable


@pytest.mark.parametrize(
    "text, shown",
    [
        ("alice@example.test", "alice@example.test"),
        ("Zürich 日本 a\\nb", "Zürich 日本 a\\nb"),  # printable, backslash included, left alone
        ("a\nb\r\tc\x00", "a\\x0ab\\x0d\\x09c\\x00"),
        ("\x1b[31mred\x7f", "\\x1b[31mred\\x7f"),
        ("\x85\xa0", "\\x85\\xa0"),  # NEL, no-break space
        ("\u2028\u202e\ufeff", "\\u2028\\u202e\\ufeff"),  # separator, bidi override, BOM
        ("\U000e0001\U0010fffd", "\\U000e0001\\U0010fffd"),  # tag, private use
    ],
)
def test_non_printable_characters_are_escaped(text, shown):
    assert printable(text) == shown
    assert printable(text).isprintable()
