"""Who calls, and who acts: API keys (keys.py), stored as hashes and verified in
constant time, a per-worker ring of them dropped on every key change; the acting
person proven by an OpenID Connect token (acting.py, tokens.py, with the provider's
keys cached per worker in provider.py); browser sign-in with the code flow and PKCE
(sign_in.py) and its signed session cookie (sessions.py).

May import: authz.audit, authz.contract, authz.config, authz.errors, models, PyJWT."""
