"""Staff accounts of one agency, kept in that agency's own database.

Passwords are hashed with scrypt (memory-hard, in Python's standard
library): 16 MiB and a random salt per password. A sign-in that fails
LOCKOUT_ATTEMPTS times within LOCKOUT_WINDOW_SECONDS locks the account for
LOCKOUT_SECONDS, whatever password comes next. A sign-in opens a session;
its token names the session, and signing out revokes it at once.
"""
import base64
import hashlib
import hmac
import os
import uuid
from datetime import timedelta

from shared import clock

USERS = "users"
SESSIONS = "sessions"
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}
MIN_PASSWORD = 10


class AccountError(ValueError):
    """An account command that cannot be done (no such user, weak password)."""


def password_problem(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return "must be at least %d characters" % MIN_PASSWORD
    if len(password) > 200:
        return "must be at most 200 characters"
    return None


def hash_password(password):
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return "scrypt$%d$%d$%d$%s$%s" % (SCRYPT["n"], SCRYPT["r"], SCRYPT["p"],
                                      base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def check_password(stored, password):
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected), maxmem=SCRYPT["maxmem"])
    except (ValueError, AttributeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


# A hash to check a password against when the user does not exist, so an
# unknown name costs the same time as a wrong password.
_DECOY = hash_password("decoy-password-never-used")


class Accounts:
    def __init__(self, db, agency):
        self.db = db
        self.agency = agency

    @staticmethod
    def create_indexes(db):
        db[SESSIONS].create_index("user")

    # --- administration (linkage users ...) --------------------------------

    def add(self, username, role, password):
        from pymongo.errors import DuplicateKeyError
        self._check_password(password)
        now = clock.utcnow()
        try:
            self.db[USERS].insert_one({
                "_id": username, "role": role, "password_hash": hash_password(password),
                "disabled": False, "failures": [], "locked_until": None,
                "created_at": now, "updated_at": now})
        except DuplicateKeyError:
            raise AccountError("%s already has a user %s" % (self.agency, username))

    def list(self):
        return list(self.db[USERS].find({}, {"password_hash": 0}).sort("_id", 1))

    def disable(self, username):
        self._set(username, {"disabled": True})
        self.db[SESSIONS].update_many({"user": username, "revoked_at": None},
                                      {"$set": {"revoked_at": clock.utcnow()}})

    def reset_password(self, username, password):
        self._check_password(password)
        self._set(username, {"password_hash": hash_password(password), "failures": [],
                             "locked_until": None, "disabled": False})

    def _set(self, username, fields):
        fields["updated_at"] = clock.utcnow()
        if self.db[USERS].update_one({"_id": username}, {"$set": fields}).matched_count != 1:
            raise AccountError("%s has no user %s" % (self.agency, username))

    @staticmethod
    def _check_password(password):
        problem = password_problem(password)
        if problem:
            raise AccountError("the password %s" % problem)

    # --- sign-in -------------------------------------------------------------

    def sign_in(self, username, password, settings):
        """(outcome, user): outcome is `ok`, `bad` (unknown user, wrong
        password or disabled: one answer for all), or `locked`; `locked_now`
        when this failure locked the account. The caller holds the user's lock."""
        now = clock.utcnow()
        user = self.db[USERS].find_one({"_id": username})
        if user is None:
            check_password(_DECOY, password)
            return "bad", None
        if user.get("locked_until") and user["locked_until"] > now:
            return "locked", user
        if check_password(user["password_hash"], password) and not user["disabled"]:
            self.db[USERS].update_one({"_id": username}, {"$set": {
                "failures": [], "locked_until": None, "last_sign_in_at": now}})
            return "ok", user
        window = now - timedelta(seconds=settings.lockout_window_seconds)
        failures = [at for at in user.get("failures", []) if at > window] + [now]
        update = {"failures": failures, "updated_at": now}
        locked = len(failures) >= settings.lockout_attempts
        if locked:
            update.update(locked_until=now + timedelta(seconds=settings.lockout_seconds), failures=[])
        self.db[USERS].update_one({"_id": username}, {"$set": update})
        return ("locked_now" if locked else "bad"), dict(user, **update)

    def open_session(self, user, ttl_seconds):
        now = clock.utcnow()
        session = {"_id": str(uuid.uuid4()), "user": user["_id"], "role": user["role"],
                   "issued_at": now, "expires_at": now + timedelta(seconds=ttl_seconds),
                   "revoked_at": None}
        self.db[SESSIONS].insert_one(session)
        return session

    def session_valid(self, session_id):
        session = self.db[SESSIONS].find_one({"_id": session_id}, {"revoked_at": 1})
        return session is not None and session["revoked_at"] is None

    def revoke(self, session_id):
        return self.db[SESSIONS].update_one(
            {"_id": session_id}, {"$set": {"revoked_at": clock.utcnow()}}).matched_count == 1
