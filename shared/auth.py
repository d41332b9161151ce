"""Bearer tokens: which agency, which staff member and which roles make a request.

A token is `<claims>.<signature>`, both base64url: the claims are JSON with
`agency`, `sub` (the user), `roles`, `iat`, `exp` and, for a staff sign-in,
`sid` (the session, which sign-out revokes); the signature is HMAC-SHA256 of
the claims with the agency's own key. Each service holds only its own
agency's key (LINKAGE_SECRET in its environment; in development a key
derived per agency from the development secret), so no service can mint
another agency's tokens, and a service accepts only its own agency's.
"""
import base64
import binascii
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
    roles: tuple = ()
    session_id: str = None
    expires: int = None


def development_key(secret, agency):
    """An agency's key derived from a development secret: agencies differ
    even on a laptop, so a token of one is never taken by another."""
    return hmac.new(secret.encode(), ("token-key:%s" % agency).encode(), hashlib.sha256).hexdigest()


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key, claims_part):
    return _b64(hmac.new(key.encode(), claims_part.encode(), hashlib.sha256).digest())


def issue_token(key, agency, subject="staff", ttl_seconds=12 * 3600, now=None, roles=None,
                session_id=None):
    from shared.roles import roles_of
    now = int(now if now is not None else time.time())
    claims = {"agency": agency, "sub": subject, "iat": now, "exp": now + int(ttl_seconds),
              "roles": list(roles if roles is not None else roles_of(agency))}
    if session_id:
        claims["sid"] = session_id
    claims_part = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return "%s.%s" % (claims_part, _sign(key, claims_part))


def _split(token):
    parts = token.split(".")
    if len(parts) != 2:
        raise Unauthorized("malformed bearer token")
    return parts


def _decode(claims_part):
    try:
        claims = json.loads(_unb64(claims_part))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed token claims")
    if not isinstance(claims, dict):
        raise Unauthorized("malformed token claims")
    return claims


def claimed_agency(token):
    """The agency a token names, before its signature is checked (only to
    answer 403 rather than 401 to another agency's token)."""
    return _decode(_split(token)[0]).get("agency")


def verify_token(key, token, now=None):
    if not token.isascii():
        raise Unauthorized("malformed bearer token")
    claims_part, signature = _split(token)
    if not hmac.compare_digest(_sign(key, claims_part), signature):
        raise Unauthorized("bad token signature")
    claims = _decode(claims_part)
    try:
        agency, subject, expires = claims["agency"], claims["sub"], claims["exp"]
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles) \
                or not isinstance(expires, (int, float)):
            raise TypeError
    except (KeyError, TypeError):
        raise Unauthorized("malformed token claims")
    if (now if now is not None else time.time()) >= expires:
        raise Unauthorized("token expired")
    return Principal(agency=agency, subject=subject, roles=tuple(roles), session_id=claims.get("sid"),
                     expires=int(expires))


def bearer(headers):
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    token = token.strip()
    if not token.isascii():
        raise Unauthorized("malformed bearer token")
    return token


def authenticate(headers, key, service):
    """The principal of a request to `service`: 401 without a valid token,
    403 when the token belongs to another agency."""
    token = bearer(headers)
    try:
        agency = claimed_agency(token)
    except Unauthorized:
        agency = service  # let the signature check say what is wrong
    if agency != service:
        raise Forbidden("a %s token cannot use the %s API" % (agency, service))
    return verify_token(key, token)
