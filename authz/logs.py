"""How the server's log lines are written: one event a line, so a value a caller
chose (a path, a login id) can never start a line of its own and pass for
another event. The message's non-printable characters are escaped
(authz.printable); a traceback keeps its lines, each marked as a continuation.
Code that logs request data escapes it too, for logging set up elsewhere."""

from __future__ import annotations

import logging

from authz.printable import printable

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
CONTINUATION = "  | "  # starts every line of a traceback, which no event line does


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have formatted the exception first (exc_text is cached
        # on the record): format it here as well, and leave the record as it was.
        cached = record.exc_text
        record.exc_text = _continuation(cached) if cached and not record.exc_info else None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return _continuation(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _continuation(super().formatStack(stack_info))


def _continuation(text: str) -> str:
    return "\n".join(CONTINUATION + printable(line) for line in text.rstrip("\n").split("\n"))


def configure(level: str) -> None:
    """Log to stderr at LEVEL, one event a line."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("casbin").setLevel(logging.WARNING)  # it logs every rule at INFO
