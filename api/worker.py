"""The gunicorn worker: gunicorn's sync worker, with a deadline on reading each
request, so that a client who trickles its request cannot hold a worker.

From the moment a connection is accepted, the request line, the headers and
the body (at most AUTHZ_MAX_BODY_BYTES of it) must arrive within
AUTHZ_READ_DEADLINE_MS, or the connection is answered 408 and closed. The body
is read whole into memory before the app runs, so the app never waits on a
client. A body announced larger than the limit is left unread: the app answers
413 at once (api/decoding.py).

The deadline is an interval timer (SIGALRM) armed at accept and disarmed once
the request is read: a sync worker has one thread, which the signal interrupts
wherever it waits. Many slow clients at once are a front's job: see
deploy/nginx/ (it buffers whole requests before they reach a worker)."""

from __future__ import annotations

import io
import os
import signal
from typing import Any

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

from authz.config import Settings


class ReadDeadlineExpired(Exception):
    """The client did not send its request in time."""


def _expired(signum: int, frame: Any) -> None:
    raise ReadDeadlineExpired()


class ReadDeadlineWorker(SyncWorker):
    def init_process(self) -> None:
        settings = Settings.from_env(os.environ)
        self.read_deadline = settings.read_deadline_ms / 1000
        self.body_limit = settings.max_body_bytes
        signal.signal(signal.SIGALRM, _expired)
        super().init_process()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, self.read_deadline)
        try:
            super().handle(listener, client, addr)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def handle_request(self, listener: Any, req: Any, client: Any, addr: Any) -> None:
        length = req.body.reader.length if hasattr(req.body.reader, "length") else None
        if length is None or length <= self.body_limit:
            # Whole (or, chunked, one byte past the limit: the app answers 413 then).
            req.body = io.BytesIO(req.body.read(self.body_limit + 1))
        signal.setitimer(signal.ITIMER_REAL, 0)  # read: the app's own time is not limited here
        super().handle_request(listener, req, client, addr)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, ReadDeadlineExpired):
            self.log.info("request not received within %.1f s: answered 408", self.read_deadline)
            util.write_error(client, 408, "Request Timeout", "the request was not received in time")
            return
        super().handle_error(req, client, addr, exc)
