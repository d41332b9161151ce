"""Sign-in and sign-out, on every service:

    POST   /api/v1/session   {username, password} -> a token for that user's role (201)
    GET    /api/v1/session   who the token is: agency, user, roles, permissions, expiry
    DELETE /api/v1/session   sign out: the token is refused from now on (204)
"""
import time

from marshmallow import Schema, fields, validate
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared import clock, roles
from shared.auth import Principal, issue_token
from shared.errors import Conflict, TooManyRequests, Unauthorized
from shared.platform import Platform
from shared.users import Accounts, USERS
from shared.web import api

VIA = "POST /api/v1/session"


class SignInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SessionSchema(Schema):
    agency = fields.String()
    user = fields.String()
    roles = fields.List(fields.String())
    permissions = fields.List(fields.String())
    session = fields.Boolean()
    expires_at = fields.String(allow_none=True)


class SignedInSchema(SessionSchema):
    token = fields.String()


SIGN_IN = SignInSchema()
SESSION = SessionSchema()
SIGNED_IN = SignedInSchema()


def who(principal, agency):
    return {"agency": agency, "user": principal.subject, "roles": list(principal.roles),
            "permissions": sorted(roles.permissions(agency, principal.roles)),
            "session": bool(principal.session_id),
            "expires_at": clock.isoformat(clock.utcfromtimestamp(principal.expires))
            if principal.expires else None}


class AccountStore(DependencyProvider):
    """The agency's accounts and sessions (shared/users.py)."""
    platform = Platform()

    def start(self):
        Accounts.create_indexes(self.platform.db)

    def get_dependency(self, worker_ctx):
        return Accounts(self.platform.db, self.container.service_name)


class Sessions:
    accounts = AccountStore()

    @api("POST", "/api/v1/session", public=True, body=SIGN_IN, responses={201: SIGNED_IN, 401: None, 429: None},
         summary="Sign in: a token for the user's role, until it expires or they sign out")
    def sign_in(self, request):
        body = request.data
        agency, settings = self.infra.settings.service, self.infra.settings
        with self.infra.writes.locked(USERS, body["username"]):
            outcome, user = self.accounts.sign_in(body["username"], body["password"], settings)
        if outcome == "ok":
            session = self.accounts.open_session(user, settings.session_ttl_seconds)
            self.audit.account_event(user["_id"], "sign_in", VIA, "role %s" % user["role"])
            ttl = settings.session_ttl_seconds
            token = issue_token(settings.secret, agency, user["_id"], ttl, roles=[user["role"]],
                                session_id=session["_id"])
            principal = Principal(agency, user["_id"], (user["role"],), session["_id"],
                                  int(time.time() + ttl))
            return 201, dict(who(principal, agency), token=token)
        if outcome in ("locked", "locked_now"):
            if outcome == "locked_now":
                self.audit.account_event(body["username"], "locked", VIA,
                                         "%d failed sign-ins" % settings.lockout_attempts)
            retry = max(1, int((user["locked_until"] - clock.utcnow()).total_seconds()))
            raise TooManyRequests("too many failed sign-ins: the account is locked for %d s" % retry,
                                  headers={"Retry-After": str(retry)})
        self.audit.account_event(body["username"], "sign_in_failed", VIA, "bad credentials")
        raise Unauthorized("unknown user or wrong password")

    @api("GET", "/api/v1/session", responses={200: SESSION}, summary="Who this token is")
    def current_session(self, request):
        return who(request.principal, self.infra.settings.service)

    @api("DELETE", "/api/v1/session", responses={204: None, 409: None},
         summary="Sign out: this session's token is refused from now on")
    def sign_out(self, request):
        principal = request.principal
        if not principal.session_id:
            raise Conflict("a machine token has no session to end; it expires on its own")
        self.accounts.revoke(principal.session_id)
        self.audit.account_event(principal.subject, "sign_out", "DELETE /api/v1/session", "")
        return Response(status=204)
