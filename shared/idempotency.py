"""`Idempotency-Key` on the APIs that create things: a retried request (the
same key from the same user) names the same resource, found again by `_id`,
the one lookup every backend answers from an index; the same key with a
different body is a 409."""
import hashlib
import hmac
import json
import uuid

from shared.errors import Conflict

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
NAMESPACE = uuid.UUID("6f1d3c2a-5b7e-4e0f-9a51-2c8d7e4b1f60")


def request_hash(body, key):
    """A keyed digest of the request, to tell a retry from another request
    under the same key. Keyed, because the body holds personal data (an ID
    number, a phone) whose plain hash could be found by trying them all."""
    text = json.dumps(body, sort_keys=True, default=str).encode()
    return hmac.new(key.encode(), text, hashlib.sha256).hexdigest()


def key_errors(key_header):
    """A bad Idempotency-Key, as a field error to report with the body's."""
    if key_header is not None and not 1 <= len(key_header) <= 128:
        return [{"field": HEADER, "reason": "must be 1 to 128 characters"}]
    return []


def resource_id(key_header, *scope):
    """A new id, or with a key the id that key (within `scope`) always names."""
    if key_header:
        return str(uuid.uuid5(NAMESPACE, ":".join(list(scope) + [key_header])))
    return str(uuid.uuid4())


def replay(found, request_hash, key_header, what):
    """A create found its id taken, held by `found`: the same request retried
    under its key is answered with it again; anything else under that key is
    a 409 naming `what`. None when nothing holds the id (another unique key
    refused the write: the caller says which)."""
    if found is None:
        return None
    if not key_header or found.get("request_hash") != request_hash:
        raise Conflict("Idempotency-Key %r was used for a different %s" % (key_header, what))
    return found
