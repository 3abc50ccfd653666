"""A device's identity as a sync node: its id and an Ed25519 key pair, made together and kept in the store.

The private key never leaves the store (a 0600 file); the public key is what the city registers (at the
first online sync, or from an enrolment file) to check the bundles this node signs. Keys are written as
text, ``ed25519:`` and the base64 of the 32 raw bytes, so that they fit a setting, a JSON file or a line
a clerk can read over the phone. The signing itself is ``cryptography``'s Ed25519: nothing hand-made.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from schema.models import new_id

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from sqlalchemy.engine import Engine

    from schema.store import Store

# ``cryptography`` is imported only where a key is made, signs or verifies: it costs some 8 MB of memory, and
# the online sync (which only names its key) and the server's push path need none of it.
KEY_PREFIX = "ed25519:"
PUBLIC_KEY_PATTERN = re.compile(r"^ed25519:[A-Za-z0-9+/]{43}=$")  # 32 bytes in base64
NODE_ID_SETTING, NODE_KEY_SETTING, NODE_PUBLIC_KEY_SETTING = "node_id", "node_key", "node_public_key"


class BadKey(ValueError):
    """Text that is not an ``ed25519:`` public key."""


def check_public_key(text: str) -> str:
    """``text`` if it is a public key as ``new_key_pair`` writes one; ``BadKey`` otherwise."""
    if not isinstance(text, str) or not PUBLIC_KEY_PATTERN.match(text):
        raise BadKey(f"不是 ed25519 公钥 (not an ed25519 public key): {str(text)[:40]!r}")
    return text


def load_public_key(text: str) -> Ed25519PublicKey:
    """The key written by ``new_key_pair``; ``BadKey`` for anything else."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    check_public_key(text)
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.removeprefix(KEY_PREFIX), validate=True))
    except (binascii.Error, ValueError):
        raise BadKey(f"公钥已损坏 (damaged public key): {text[:40]!r}") from None


def new_key_pair() -> tuple[str, str]:
    """A new Ed25519 key pair as text: (private key, public key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    private = base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()
    return private, public_key_of(private)


def public_key_of(private_key: str) -> str:
    """The public key (text) of a private key kept as text."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key, validate=True))
    return KEY_PREFIX + base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def signature_valid(public_key: str, signature: str, message: bytes) -> bool:
    """Whether ``signature`` (base64) is ``public_key``'s signature of ``message``; False for malformed input."""
    from cryptography.exceptions import InvalidSignature

    try:
        load_public_key(public_key).verify(base64.b64decode(signature, validate=True), message)
    except (BadKey, InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    """Who signs (a node id, or the city), with its key pair as text (the private key never printed)."""

    signer: str
    private_key: str = field(default="", repr=False)
    public_key: str = ""

    def sign(self, message: bytes) -> str:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(self.private_key, validate=True))
        return base64.b64encode(key.sign(message)).decode()


def new_signing_key(signer: str) -> SigningKey:
    return SigningKey(signer, *new_key_pair())


# ---- the county store's node identity ----------------------------------------------------------------------


def node_identity(store: Store) -> SigningKey:
    """This store's node id and key pair, made on first use (a store created before keys existed keeps its node
    id and gets a key pair). Two processes asking at once get the same identity: the first write wins."""
    found = _read_identity(store.engine)
    if found is not None and found.public_key:
        return found
    private, public = (found.private_key, "") if found is not None else new_key_pair()
    with store.engine.begin() as connection:
        for name, value in ((NODE_ID_SETTING, new_id()), (NODE_KEY_SETTING, private)):
            connection.execute(sa.text("INSERT INTO setting (key, value) VALUES (:k, :v) ON CONFLICT(key) DO NOTHING"),
                               {"k": name, "v": value})
        # The first write holds the store's write lock: the key read now is the one that stays, and the public
        # half written with it is its own (derived when it is not the key made here).
        kept = connection.execute(sa.text("SELECT value FROM setting WHERE key = :k"), {"k": NODE_KEY_SETTING}).scalar_one()
        connection.execute(sa.text("INSERT INTO setting (key, value) VALUES (:k, :v) "
                                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
                           {"k": NODE_PUBLIC_KEY_SETTING, "v": public if kept == private and public else public_key_of(kept)})
    identity = _read_identity(store.engine)
    assert identity is not None and identity.public_key
    return identity


def renew_node_identity(store: Store) -> SigningKey:
    """Make this store a new node: a new id and a new key pair, replacing both in one transaction.

    For a store that finds itself copied or restored: the copy must not sign as the node it was copied from.
    """
    renewed = new_signing_key(new_id())
    with store.engine.begin() as connection:
        for name, value in ((NODE_ID_SETTING, renewed.signer), (NODE_KEY_SETTING, renewed.private_key),
                            (NODE_PUBLIC_KEY_SETTING, renewed.public_key)):
            connection.execute(sa.text("INSERT INTO setting (key, value) VALUES (:k, :v) "
                                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), {"k": name, "v": value})
    return renewed


def _read_identity(engine: Engine) -> SigningKey | None:
    names = (NODE_ID_SETTING, NODE_KEY_SETTING, NODE_PUBLIC_KEY_SETTING)
    with engine.connect() as connection:
        values = dict(connection.execute(sa.text("SELECT key, value FROM setting WHERE key IN (:n, :k, :p)"),
                                         dict(zip("nkp", names, strict=True))).all())
    if not values.get(NODE_ID_SETTING) or not values.get(NODE_KEY_SETTING):
        return None
    return SigningKey(values[NODE_ID_SETTING], values[NODE_KEY_SETTING], values.get(NODE_PUBLIC_KEY_SETTING, ""))
