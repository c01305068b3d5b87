"""Tokens no provider would sign, made by hand for the refusal tests: unsigned (`alg:
none`), "signed" with HMAC using the provider's public key as the secret (the classic
algorithm confusion), or with a made-up key id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_part(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims_for(idp, login: str, **extra) -> dict:
    now = int(time.time())
    return {
        "iss": idp.issuer,
        "aud": idp.audience,
        "sub": f"sub-{login}",
        "preferred_username": login,
        "iat": now,
        "exp": now + 300,
        **extra,
    }


def unsigned(idp, login: str) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": idp.current_kid}
    return f"{encode_part(header)}.{encode_part(claims_for(idp, login))}."


def hmac_with_public_key(idp, login: str) -> str:
    """HS256 over the token with the PEM of the provider's published public key as the secret."""
    public = jwt.PyJWK(idp.jwks()["keys"][0]).key
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": idp.current_kid}
    signing_input = f"{encode_part(header)}.{encode_part(claims_for(idp, login))}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def random_kid(idp, login: str) -> str:
    """RS256 in name, with a key id nobody published (the signature is noise)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": secrets.token_hex(8)}
    return f"{encode_part(header)}.{encode_part(claims_for(idp, login))}.{b64(secrets.token_bytes(256))}"


def tampered(token: str, **changes) -> str:
    """TOKEN with its payload changed (claims replaced), the signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{encode_part({**claims, **changes})}.{signature}"
