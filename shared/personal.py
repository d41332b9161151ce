"""Personal data at rest and in transit: authenticated encryption in the
application, so it is the same on FerretDB and MongoDB (neither encrypts a
field for us), and a keyed blind index for lookups by ID number.

A ciphertext is `enc:v1:<kid>:<base64url(nonce || AES-GCM ciphertext)>`: it
names the key that wrote it, so a keyring with a new key first and the old
ones after reads everything while `linkage keys rotate` re-encrypts. The
field name is the associated data, so a ciphertext copied into another
field does not decrypt. A value is encrypted as JSON, so a field may hold a
string (an ID number) or an object (a case's reporter).

A plain ID number cannot be looked up without being stored; an HMAC of it
under a key of its own can, and tells nothing without that key.
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class BadKeys(ValueError):
    """A key setting that is not `kid:base64-32-byte-key[,kid:key...]`."""


class Undecryptable(ValueError):
    """A ciphertext that is tampered with, in the wrong field, or under a key not listed."""


def development_key(secret, purpose, service=None):
    """32 bytes derived from the development secret: a laptop needs no key
    setting, and production refuses exactly these."""
    label = purpose if service is None else "%s:%s" % (purpose, service)
    return hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest()


def format_keys(keys):
    """The setting's text for [(kid, key bytes)]."""
    return ",".join("%s:%s" % (kid, base64.b64encode(key).decode()) for kid, key in keys)


def parse_keys(text, name):
    """[(kid, 32-byte key)] from `kid:base64,kid2:base64`, the first one first."""
    keys = []
    for item in str(text).split(","):
        kid, _, encoded = item.strip().partition(":")
        if not _KID.match(kid):
            raise BadKeys("%s: key id %r must be 1-32 letters, digits, - or _" % (name, kid))
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadKeys("%s: key %s is not base64" % (name, kid))
        if len(key) != 32:
            raise BadKeys("%s: key %s must be 32 bytes, not %d" % (name, kid, len(key)))
        if kid in dict(keys):
            raise BadKeys("%s: key id %s listed twice" % (name, kid))
        keys.append((kid, key))
    return tuple(keys)


def normalise_id(id_number):
    return id_number.strip().upper()


class Keyring:
    """The keys of one service (or of the transit between services): the
    first writes, all read. `enabled=False` writes plain values (the
    privacy proof's control run); plain values are read as they are either
    way (data written before encryption, until a rotation seals it)."""

    def __init__(self, keys, blind_key=None, enabled=True):
        self.keys = dict(keys)
        self.current = keys[0][0] if keys else None
        self.blind_key = blind_key
        self.enabled = enabled and bool(keys)
        self._ciphers = {kid: AESGCM(key) for kid, key in keys}

    def encrypt(self, value, field):
        nonce = os.urandom(12)
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = nonce + self._ciphers[self.current].encrypt(nonce, data, field.encode())
        return "%s%s:%s" % (PREFIX, self.current,
                            base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii"))

    def decrypt(self, text, field):
        kid, _, body = text[len(PREFIX):].partition(":") if is_sealed(text) else (None, "", "")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Undecryptable("%s: not a ciphertext of a listed key (kid %r)" % (field, kid))
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return json.loads(cipher.decrypt(raw[:12], raw[12:], field.encode()))
        except (InvalidTag, ValueError, binascii.Error):
            raise Undecryptable("%s: ciphertext under %s does not authenticate" % (field, kid))

    def seal(self, value, field):
        """`value` as stored or sent: encrypted, unless it is None or encryption is off."""
        if value is None or not self.enabled or is_sealed(value):
            return value
        return self.encrypt(value, field)

    def open(self, value, field):
        """`value` as the domain sees it."""
        return self.decrypt(value, field) if is_sealed(value) else value

    def stale(self, value):
        """Whether a stored value should be rewritten by a rotation: plain, or
        under a key that no longer writes."""
        if value is None or not self.enabled:
            return False
        return not is_sealed(value) or kid_of(value) != self.current

    def seal_fields(self, document, fields):
        return dict(document, **{f: self.seal(document[f], f) for f in fields if f in document})

    def open_fields(self, document, fields):
        if document is None:
            return None
        return dict(document, **{f: self.open(document[f], f) for f in fields if f in document})

    def blind_index(self, id_number):
        """Hex HMAC-SHA256 of the normalised ID number: equal for the same
        person, and meaningless without the blind-index key."""
        return hmac.new(self.blind_key, normalise_id(id_number).encode(), hashlib.sha256).hexdigest()


def is_sealed(value):
    return isinstance(value, str) and value.startswith(PREFIX)


def kid_of(text):
    return text[len(PREFIX):].partition(":")[0]


PLAIN = Keyring((), enabled=False)
