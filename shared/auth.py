"""Bearer tokens: which agency (and which staff member) makes a request.

A token is `<claims>.<signature>`, both base64url: the claims are JSON with
`agency`, `sub` (the user), `iat` and `exp`; the signature is HMAC-SHA256 of
the claims with LINKAGE_SECRET. Every agency's staff get tokens naming their
agency; a service accepts only its own agency's tokens.
"""
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from shared.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    agency: str
    subject: str


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret, claims_part):
    return _b64(hmac.new(secret.encode(), claims_part.encode(), hashlib.sha256).digest())


def issue_token(secret, agency, subject="staff", ttl_seconds=12 * 3600, now=None):
    now = int(now if now is not None else time.time())
    claims = {"agency": agency, "sub": subject, "iat": now, "exp": now + int(ttl_seconds)}
    claims_part = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return "%s.%s" % (claims_part, _sign(secret, claims_part))


def verify_token(secret, token, now=None):
    try:
        claims_part, signature = token.split(".")
    except ValueError:
        raise Unauthorized("malformed bearer token")
    if not hmac.compare_digest(_sign(secret, claims_part), signature):
        raise Unauthorized("bad token signature")
    try:
        claims = json.loads(_unb64(claims_part))
        agency, subject, expires = claims["agency"], claims["sub"], claims["exp"]
    except (ValueError, KeyError, TypeError):
        raise Unauthorized("malformed token claims")
    if (now if now is not None else time.time()) >= expires:
        raise Unauthorized("token expired")
    return Principal(agency=agency, subject=subject)


def authenticate(headers, secret, service):
    """The principal of a request to `service`: 401 without a valid token,
    403 when the token belongs to another agency."""
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    principal = verify_token(secret, token.strip())
    if principal.agency != service:
        raise Forbidden("a %s token cannot use the %s API" % (principal.agency, service))
    return principal
