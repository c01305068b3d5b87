"""The HTTP door (Falcon): the app factory and its routes (app.py), thin
resources (resources/), the request and answer codec (decoding.py, endpoint.py),
middleware, the generated OpenAPI document (openapi.py), and domain and storage
errors mapped to HTTP in one place (errors.py).

May import: authz.service, authz.contract, the shared modules of authz, and of
models only the error vocabulary and the login-id rule (see pyproject.toml)."""
