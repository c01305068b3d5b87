"""The baseline for the benchmark: the cheapest Falcon app that answers
`POST /v1/check` with a JSON body of the same shape and size as a real decision.
No middleware, no authentication, no database, no metrics: it measures what
gunicorn + Falcon cost on this machine, so the service's own cost is the rest.

Served by the same gunicorn config as the service (bench.py passes this module
as the WSGI app on the command line, which overrides the config's `wsgi_app`)."""

import json

import falcon

# A typical allowed decision, serialised once: the baseline pays no JSON encoding.
ANSWER = json.dumps(
    {
        "allowed": True,
        "decision_id": "0" * 32,
        "policy_version": "0" * 12,
        "change_seq": 1,
        "reason": {
            "code": "allowed",
            "role": "user",
            "application": "purchase_download",
            "level": "downloads",
            "rule": "p, user, purchase_download:downloads, download_software",
            "source": "policy.csv:24",
        },
    }
).encode()


class ConstantCheck:
    def on_post(self, req, resp):
        req.bounded_stream.read()  # read the body as the service does, but don't parse it
        resp.content_type = falcon.MEDIA_JSON
        resp.data = ANSWER


app = falcon.App()
app.add_route("/v1/check", ConstantCheck())
