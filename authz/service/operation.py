"""What every operation of the service layer does around its work."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from models.errors import DRIVER_ERRORS, classify

P = ParamSpec("P")
R = TypeVar("R")


def operation(method: Callable[P, R]) -> Callable[P, R]:
    """Mark METHOD as an operation of the service layer: whatever the database
    raises leaves it as the storage layer's StoreUnavailable or StoreConflict,
    never as a driver's exception, whichever door called."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    return run


def classified_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """CHUNKS, with a database failure while streaming classified like any other.
    The status and headers are sent by then, so the failure cannot become a 503:
    the server ends the connection without the chunked body's last chunk, and
    the client sees a transfer cut short, never a complete-looking file."""
    try:
        yield from chunks
    except DRIVER_ERRORS as error:
        raise classify(error) from error
