"""A real OpenID Connect provider on loopback for tests.

`OidcProvider.start(tmp_dir)` runs tests/support/oidc (Node.js, the certified
oidc-provider package) as a child process, and `token_for` walks the
authorization-code + PKCE flow over HTTP the way a browser would: authorize,
the provider's login form, automatic consent, the redirect carrying the code,
then the token endpoint. Stdlib only.

    with OidcProvider.start(tmp_path) as idp:
        access = idp.token_for("alice@acme.example")              # JWT, aud = idp.audience
        id_token = idp.token_for("alice@acme.example", kind="id")  # aud = the client id
        expired = idp.mint({"sub": "x", "exp": 1})                 # genuinely signed
        idp.rotate_keys(keep_old=False)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import selectors
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from tests.support.npm import NpmError, npm_ci

PROVIDER_DIR = Path(__file__).with_name("oidc")

DEFAULT_ACCOUNTS = [
    {
        "sub": "7f1c2a9e-alice",
        "preferred_username": "alice@acme.example",
        "email": "alice@acme.example",
        "name": "Alice Example",
    },
    {
        "sub": "3b8d4e10-bob",
        "preferred_username": "bob@acme.example",
        "email": "bob@acme.example",
        "name": "Bob Example",
    },
]
DEFAULT_AUDIENCE = "urn:authz:api"
DEFAULT_RESOURCES = {DEFAULT_AUDIENCE: {"scope": "authz:admin", "accessTokenTTL": 600}}
# Nothing listens on port 9 (discard): the flow stops at the 302 and reads the code.
DEFAULT_CLIENT = {
    "client_id": "authz-console",
    "client_secret": "console-secret-for-tests-only",
    "redirect_uris": ["http://127.0.0.1:9/console/callback"],
    "post_logout_redirect_uris": ["http://127.0.0.1:9/console/"],
    "grant_types": ["authorization_code"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": "openid email profile",
}
OIDC_SCOPE = "openid email profile"


class OidcProviderError(RuntimeError):
    pass


# --- a browser without a screen: cookies kept, redirects returned rather than followed -----


@dataclass
class Response:
    status: int
    url: str
    headers: Any
    body: str

    @property
    def location(self) -> str | None:
        loc = self.headers.get("Location")
        return urllib.parse.urljoin(self.url, loc) if loc else None


class _KeepEveryResponse(urllib.request.HTTPErrorProcessor):
    # Replacing the error processor means 3xx and 4xx come back as plain responses, so
    # the flow can stop at the redirect to the client (whose server need not exist).
    def http_response(self, request, response):
        return response

    https_response = http_response


class HttpSession:
    """One user agent: its own cookie jar (so its own provider session)."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _KeepEveryResponse()
        )

    def request(self, url: str, form: dict[str, str] | None = None, headers=None) -> Response:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, headers=headers or {})
        with self._opener.open(req, timeout=15) as resp:
            body = resp.read().decode("utf-8", "replace")
            return Response(resp.status, url, resp.headers, body)


class _Forms(HTMLParser):
    """Each <form id=...>: its action and the values of its inputs."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action", ""), "fields": {}}
            self.forms[attrs.get("id", "")] = self._current
        elif tag == "input" and self._current is not None and attrs.get("name"):
            self._current["fields"][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the provider process ---------------------------------------------------------------------


def _node_ready() -> str:
    """Path to node, after `npm ci` if node_modules is missing or older than the lock."""
    node = shutil.which("node")
    if not node:
        raise OidcProviderError(
            f"The test OpenID Connect provider needs Node.js (>= 20) on PATH; it lives in {PROVIDER_DIR}."
        )
    try:
        npm_ci(PROVIDER_DIR)
    except NpmError as exc:
        raise OidcProviderError(str(exc)) from exc
    return node


def _read_line(proc: subprocess.Popen, deadline: float) -> bytes:
    """The child's first stdout line, or an error once it exits or the deadline passes."""
    fd, buf = proc.stdout.fileno(), b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                raise TimeoutError("no ready line from the OIDC provider in time")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError(f"the OIDC provider exited (code {proc.wait()})")
            buf += chunk
    return buf.split(b"\n", 1)[0]


class OidcProvider:
    def __init__(self, proc, log_path: Path, ready: dict, config: dict) -> None:
        self._proc = proc
        self.log_path = log_path
        self.issuer: str = ready["issuer"]
        self.port: int = ready["port"]
        self.config = config
        self.discovery = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        self.jwks_uri: str = self.discovery["jwks_uri"]

    @classmethod
    def start(
        cls,
        tmp_dir: str | os.PathLike,
        *,
        accounts: list[dict] | None = None,
        clients: list[dict] | None = None,
        resources: dict[str, dict] | None = None,
        port: int = 0,
        timeout: float = 30.0,
    ) -> OidcProvider:
        """accounts: {sub, preferred_username?, email?, name?}; clients: oidc-provider client
        metadata (the first is the default client); resources: {audience: {scope?,
        accessTokenTTL?}}, each an API that gets JWT access tokens (the first is the default)."""
        node = _node_ready()
        tmp_dir = Path(tmp_dir)
        config = {
            "accounts": DEFAULT_ACCOUNTS if accounts is None else accounts,
            "clients": [DEFAULT_CLIENT] if clients is None else clients,
            "resources": DEFAULT_RESOURCES if resources is None else resources,
        }
        config_path = tmp_dir / "oidc-config.json"
        config_path.write_text(json.dumps(config, indent=2))
        log_path = tmp_dir / "oidc-provider.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    node,
                    str(PROVIDER_DIR / "provider.mjs"),
                    "--port",
                    str(port),
                    "--config",
                    str(config_path),
                    "--exit-with-stdin",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                bufsize=0,
            )
        try:
            ready = json.loads(_read_line(proc, time.monotonic() + timeout))
            return cls(proc, log_path, ready, config)
        except Exception as exc:
            _end(proc)
            raise OidcProviderError(f"{exc}; its log:\n{log_path.read_text()[-3000:]}") from exc

    def stop(self) -> None:
        _end(self._proc)

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- configuration shortcuts ---

    @property
    def client(self) -> dict:
        return self.config["clients"][0]

    @property
    def audience(self) -> str:
        return next(iter(self.config["resources"]))

    def client_by_id(self, client_id: str | None) -> dict:
        if client_id is None:
            return self.client
        for client in self.config["clients"]:
            if client["client_id"] == client_id:
                return client
        raise KeyError(client_id)

    def jwks(self) -> dict:
        return self._get_json(self.jwks_uri)

    # --- the authorization-code + PKCE flow ---

    def tokens_for(
        self,
        login: str | None,
        *,
        audience: str | None = None,
        client_id: str | None = None,
        session: HttpSession | None = None,
    ) -> dict:
        """The token endpoint's JSON (access_token, id_token, ...) for `login` (its
        preferred_username or email). With `audience`, the access token is a JWT for that
        API. login=None expects `session` to be signed in already (single sign-on)."""
        client = self.client_by_id(client_id)
        redirect_uri = client["redirect_uris"][0]
        session = session or HttpSession()
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(16)
        params = {
            "client_id": client["client_id"],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": OIDC_SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        if audience:
            params["resource"] = audience
            api_scope = self.config["resources"].get(audience, {}).get("scope")
            if api_scope:
                params["scope"] += f" {api_scope}"

        url = f"{self.discovery['authorization_endpoint']}?{urllib.parse.urlencode(params)}"
        resp = self.authorize(url, redirect_uri, login, session)
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(resp.location).query))
        if "error" in answer:
            raise OidcProviderError(f"authorization failed: {answer}")
        if answer.get("state") != state or answer.get("iss") != self.issuer:
            raise OidcProviderError(f"authorization response with wrong state or iss: {answer}")

        token_form = {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        if audience:
            token_form["resource"] = audience
        resp = session.request(self.discovery["token_endpoint"], token_form, headers=_basic_auth(client))
        if resp.status != 200:
            raise OidcProviderError(f"token endpoint said {resp.status}: {resp.body}")
        return json.loads(resp.body)

    def authorize(self, url: str, redirect_uri: str, login: str | None, session: HttpSession) -> Response:
        """Follow an authorization request URL as a browser would, through the provider's
        login form (as `login`; None: `session` is signed in already) and consent, up to
        the redirect to `redirect_uri` (returned, not followed: it carries code or error)."""
        resp = session.request(url)
        for _ in range(12):  # authorize -> login -> authorize -> consent -> authorize -> client
            to = (resp.location or "") if resp.status in (302, 303) else ""
            if to.startswith(redirect_uri):
                return resp
            if to.startswith(self.issuer + "/"):
                resp = session.request(to)
                continue
            form = _Forms(resp.body).forms.get("login") if resp.status == 200 else None
            if form is None:
                raise OidcProviderError(f"unexpected {resp.status} from {resp.url}: {resp.body[:800]}")
            if login is None:
                raise OidcProviderError("the provider asked for a login (no session)")
            action = urllib.parse.urljoin(resp.url, form["action"])
            resp = session.request(action, {**form["fields"], "login": login})
            login = None  # one attempt: a second login form means the login was refused
        raise OidcProviderError(f"no redirect to {redirect_uri}; last was {resp.url}")

    def token_for(self, login: str, *, audience: str | None = None, kind: str = "access") -> str:
        """kind='access': a JWT access token whose aud is `audience` (default: the first
        resource). kind='id': an ID token; `audience` then names the client (its aud)."""
        if kind == "access":
            return self.tokens_for(login, audience=audience or self.audience)["access_token"]
        if kind == "id":
            return self.tokens_for(login, client_id=audience)["id_token"]
        raise ValueError(f"kind must be 'access' or 'id', not {kind!r}")

    def logout(self, session: HttpSession, id_token: str, post_logout_redirect_uri: str | None = None) -> Response:
        """RP-initiated logout as the console will do it; returns the final response (the
        redirect to post_logout_redirect_uri, or the provider's signed-out page)."""
        params = {"id_token_hint": id_token}
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        url = f"{self.discovery['end_session_endpoint']}?{urllib.parse.urlencode(params)}"
        return self.end_session(session, url)

    def end_session(self, session: HttpSession, url: str) -> Response:
        """Follow an end_session URL (where a client sends the browser to sign out): the
        provider's logout form is posted as its script would; returns the answer to it."""
        page = session.request(url)
        form = _Forms(page.body).forms.get("op.logoutForm")
        if page.status != 200 or form is None:
            raise OidcProviderError(f"unexpected {page.status} from {url}: {page.body[:800]}")
        return session.request(urllib.parse.urljoin(page.url, form["action"]), form["fields"])

    # --- test-only control endpoints ---

    def mint(self, claims: dict, *, kid: str | None = None, typ: str = "JWT", lifetime: int = 300) -> str:
        """A JWT signed by this provider's current key (or by `kid`, even a dropped one).
        Defaults iss, aud (the default audience), iat and exp; a claim set to None is left out."""
        now = int(time.time())
        merged = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + lifetime}
        merged.update(claims)
        body = {"claims": {k: v for k, v in merged.items() if v is not None}, "typ": typ}
        if kid:
            body["kid"] = kid
        return self._control("/__test/mint", body)["token"]

    def rotate_keys(self, keep_old: bool = True) -> str:
        """A new current signing key; the old ones stay in the JWKS unless keep_old=False.
        Returns the new kid."""
        return self._control("/__test/rotate", {"keep_old": keep_old})["kid"]

    @property
    def current_kid(self) -> str:
        return self._get_json(f"{self.issuer}/__test/keys")["kid"]

    def add_client(self, client: dict) -> None:
        """Registers (or replaces, by client_id) a client, e.g. once the console's port is known."""
        self._control("/__test/clients", client)
        self.config["clients"] = [c for c in self.config["clients"] if c["client_id"] != client["client_id"]] + [client]

    def _control(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(
            f"{self.issuer}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        return self._open_json(req)

    def _get_json(self, url: str) -> dict:
        return self._open_json(urllib.request.Request(url))

    @staticmethod
    def _open_json(req: urllib.request.Request) -> dict:
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise OidcProviderError(f"{req.full_url}: {err.code} {err.read()[:800]!r}") from err


def _basic_auth(client: dict) -> dict:
    # RFC 6749 2.3.1: id and secret are form-urlencoded before the Basic encoding.
    quote = urllib.parse.quote_plus
    pair = f"{quote(client['client_id'])}:{quote(client['client_secret'])}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe:
            pipe.close()
