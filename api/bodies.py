"""JSON bodies of the check routes, read and written with orjson directly.

Falcon's media machinery (handler lookup, a bounded stream wrapper, a decode to
str, the render step) were a quarter of the instructions a check adds to a bare
Falcon endpoint (bench/instructions.py: 96k of them before, 70k after). Only the
plain case takes the short way: a non-empty body sent as exactly
application/json. Anything else goes through req.get_media, so its errors
(415 for another type, 400 for an empty body) are Falcon's, as on every route."""

from __future__ import annotations

from typing import Any

import falcon
import orjson


def read_json(req: falcon.Request) -> Any:
    if req.content_type != falcon.MEDIA_JSON or not req.content_length:
        return req.get_media()
    try:
        return orjson.loads(req.stream.read(req.content_length))
    except orjson.JSONDecodeError as error:
        raise falcon.MediaMalformedError("JSON") from error  # as Falcon words it


def write_json(resp: falcon.Response, value: Any) -> None:
    resp.data = orjson.dumps(value)
    resp.content_type = falcon.MEDIA_JSON
