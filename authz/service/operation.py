"""What every operation of the service layer does around its work."""

from __future__ import annotations

import functools
from collections.abc import Callable
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
