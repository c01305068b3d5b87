"""The OpenID Connect provider as this service sees it: its discovery document, its
signing keys (the JWKS) and its token endpoint, reached over HTTP.

One per worker (gunicorn sync workers: one request at a time, so no locks). The
discovery document is read once, when first needed (the service starts while the
provider is down). Signing keys are cached for `jwks_cache_s`; a token naming a key
id the cache lacks fetches them again at once (the provider rotated its keys), but
at most once per `jwks_refresh_min_s`, so a stream of made-up key ids cannot make
the service hammer the provider. A failed fetch keeps the keys held (logged), and
is retried no sooner than a second later."""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authz.errors import ProviderUnavailable

log = logging.getLogger("authz.authn")

HTTP_TIMEOUT_S = 5.0  # a sync worker waits at most this long for the provider
MAX_DOCUMENT_BYTES = 512 * 1024
RETRY_AFTER_FAILURE_S = 1.0
# Keys that can verify a signature. Symmetric ("oct") keys are never taken from a JWKS.
_KEY_TYPES = {"RSA", "EC", "OKP"}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def http_json(request: urllib.request.Request) -> Answer:
    """The provider's JSON answer, whatever its status; ProviderUnavailable when it
    cannot be reached or does not answer a JSON object."""
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
            status, raw = resp.status, resp.read(MAX_DOCUMENT_BYTES + 1)
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as err:  # refused, timed out, TLS, a malformed URL
        raise _unavailable(f"{request.full_url}: {err}") from err
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _unavailable(f"{request.full_url}: answer larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _unavailable(f"{request.full_url}: answered {status} without a JSON object")
    return Answer(status, body)


def _unavailable(why: str) -> ProviderUnavailable:
    log.warning("identity provider unavailable: %s", why)
    return ProviderUnavailable("the identity provider cannot be reached; nothing was decided; try again")


def safe_url(url: Any) -> bool:
    """https, or http on loopback (a provider on the same machine)."""
    if not isinstance(url, str):
        return False
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme == "https" and bool(parts.hostname)) or (
        parts.scheme == "http" and parts.hostname in _LOOPBACK
    )


class OpenIdProvider:
    def __init__(
        self,
        issuer: str,
        *,
        jwks_cache_s: float,
        jwks_refresh_min_s: float,
        http: Callable[[urllib.request.Request], Answer] = http_json,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer
        self._cache_s, self._refresh_min_s = jwks_cache_s, jwks_refresh_min_s
        self._http, self._clock = http, clock
        self._metadata: dict[str, Any] | None = None
        self._metadata_retry_at = 0.0
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetch_at = 0.0  # when the keys are fetched again
        self._unknown_kid_fetch_at = 0.0  # the earliest an unknown kid may fetch them
        self.key_fetches = 0  # JWKS fetches attempted (for tests and logs)

    # --- discovery -------------------------------------------------------------------

    def endpoint(self, name: str) -> str | None:
        """An endpoint of the discovery document (authorization_endpoint, ...), or None."""
        value = self._discovery().get(name)
        return value if isinstance(value, str) else None

    def _discovery(self) -> dict[str, Any]:
        if self._metadata is None:
            now = self._clock()
            if now < self._metadata_retry_at:
                raise ProviderUnavailable("the identity provider cannot be reached; nothing was decided; try again")
            self._metadata_retry_at = now + RETRY_AFTER_FAILURE_S
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            answer = self._http(urllib.request.Request(url, headers={"Accept": "application/json"}))
            self._metadata = self._checked_metadata(url, answer)
        return self._metadata

    def _checked_metadata(self, url: str, answer: Answer) -> dict[str, Any]:
        body = answer.body
        if answer.status != 200:
            raise _unavailable(f"{url}: answered {answer.status}")
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer asked.
        if body.get("issuer") != self.issuer:
            raise _unavailable(f"{url}: names issuer {body.get('issuer')!r}, not {self.issuer!r}")
        endpoints = ("jwks_uri", "authorization_endpoint", "token_endpoint", "end_session_endpoint")
        unsafe = [name for name in endpoints if name in body and not safe_url(body[name])]
        if unsafe or "jwks_uri" not in body:
            raise _unavailable(f"{url}: no jwks_uri, or an endpoint neither https nor loopback: {unsafe}")
        return body

    # --- signing keys ------------------------------------------------------------------

    def signing_key(self, kid: str) -> dict[str, Any] | None:
        """The public JWK with this key id, or None if the provider does not publish it;
        ProviderUnavailable if no keys could be had at all."""
        now = self._clock()
        if now >= self._fetch_at:
            self._fetch_keys(now)
        elif self._keys and kid not in self._keys and now >= self._unknown_kid_fetch_at:
            self._unknown_kid_fetch_at = now + self._refresh_min_s
            self._fetch_keys(now)
        if not self._keys:
            raise ProviderUnavailable("the identity provider cannot be reached; nothing was decided; try again")
        return self._keys.get(kid)

    def _fetch_keys(self, now: float) -> None:
        """Fetch the JWKS. On failure keep the keys held, and try again no sooner than
        RETRY_AFTER_FAILURE_S later."""
        self._fetch_at = now + RETRY_AFTER_FAILURE_S
        self.key_fetches += 1
        try:
            url = self.endpoint("jwks_uri") or ""
            answer = self._http(urllib.request.Request(url, headers={"Accept": "application/json"}))
            if answer.status != 200:
                raise _unavailable(f"{url}: answered {answer.status}")
            keys = _public_keys(answer.body)
            if not keys:
                raise _unavailable(f"{url}: no usable signing key")
        except ProviderUnavailable:
            if self._keys:
                log.warning("keeping the %d signing keys fetched before", len(self._keys))
            return
        self._keys = keys
        self._fetch_at = now + self._cache_s

    # --- the token endpoint ---------------------------------------------------------------

    def redeem(self, form: Mapping[str, str], client_id: str, client_secret: str) -> Answer:
        """POST FORM to the token endpoint, the client authenticated with HTTP Basic
        (client_secret_basic, the method every provider supports)."""
        url = self.endpoint("token_endpoint")
        if not url:
            raise _unavailable("the discovery document names no token_endpoint")
        quote = urllib.parse.quote_plus  # RFC 6749 2.3.1: each part form-encoded first
        basic = base64.b64encode(f"{quote(client_id)}:{quote(client_secret)}".encode()).decode()
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        answer = self._http(request)
        if answer.status >= 500:
            raise _unavailable(f"{url}: answered {answer.status}")
        return answer


def _public_keys(jwks: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """kid -> JWK, for the JWKS's public signature keys. Keys without a kid, for
    encryption, symmetric or carrying private parts are left out."""
    keys = jwks.get("keys")
    found: dict[str, dict[str, Any]] = {}
    for key in keys if isinstance(keys, list) else []:
        if (
            isinstance(key, dict)
            and isinstance(key.get("kid"), str)
            and key.get("kty") in _KEY_TYPES
            and key.get("use", "sig") == "sig"
            and "d" not in key
        ):
            found[key["kid"]] = key
    return found
