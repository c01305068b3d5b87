"""HTTP API (Falcon): resources, middleware, error mapping, OpenAPI."""
