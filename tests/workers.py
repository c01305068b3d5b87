"""A server worker as the tests drive it: the service layer, with its state in
reach (the change feed, the caches, the reloader) and answers as plain data."""

from __future__ import annotations

from typing import Any

import msgspec

from authz.config import Settings
from authz.contract.checks import CheckRequest
from authz.service import Service


class Worker:
    def __init__(self, settings: Settings):
        self.service = Service.start(settings)
        runtime = self.service._runtime
        self.feed, self.members, self.keys, self.snapshot = (
            runtime.feed,
            runtime.members,
            runtime.keys,
            runtime.snapshot,
        )
        self.reloader = getattr(runtime.policy, "_reloader", None)

    @property
    def table(self):
        return self.service._runtime.table

    def check(self, body: dict[str, Any]) -> dict[str, Any]:
        return msgspec.to_builtins(self.service.decisions.check(msgspec.convert(body, CheckRequest)))

    def policy(self) -> dict[str, Any]:
        return msgspec.to_builtins(self.service.policy.describe())
