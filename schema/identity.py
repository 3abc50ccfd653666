"""A device's identity as a sync node: its id and an Ed25519 key pair, made together and kept in the store.

The private key never leaves the store (a 0600 file); the public key is what the city registers (at the
first online sync, or from an enrolment file) to check the bundles this node signs. Keys are written as
text, ``ed25519:`` and the base64 of the 32 raw bytes, so that they fit a setting, a JSON file or a line
a clerk can read over the phone. The signing itself is ``cryptography``'s Ed25519: nothing hand-made.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from schema.models import new_id

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from schema.store import Store

KEY_PREFIX = "ed25519:"
NODE_ID_SETTING, NODE_KEY_SETTING = "node_id", "node_key"


class BadKey(ValueError):
    """Text that is not an ``ed25519:`` public key."""


def public_key_text(key: Ed25519PublicKey) -> str:
    return KEY_PREFIX + base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """The key written by ``public_key_text``; ``BadKey`` for anything else."""
    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        raise BadKey(f"不是 ed25519 公钥 (not an ed25519 public key): {str(text)[:40]!r}")
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.removeprefix(KEY_PREFIX), validate=True))
    except (binascii.Error, ValueError):
        raise BadKey(f"公钥已损坏 (damaged public key): {text[:40]!r}") from None


def private_key_text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def load_private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def signature_valid(public_key: str, signature: str, message: bytes) -> bool:
    """Whether ``signature`` (base64) is ``public_key``'s signature of ``message``; False for malformed input."""
    try:
        load_public_key(public_key).verify(base64.b64decode(signature, validate=True), message)
    except (BadKey, InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    """Who signs (a node id, or the city) and the private key it signs with."""

    signer: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_key_text(self.private_key.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode()


def new_signing_key(signer: str) -> SigningKey:
    return SigningKey(signer, Ed25519PrivateKey.generate())


# ---- the county store's node identity ----------------------------------------------------------------------


def node_identity(store: Store) -> SigningKey:
    """This store's node id and key, made on first use (a store created before keys existed keeps its node
    id and gets a key). Two processes asking at once get the same identity: the first write wins."""
    found = _read_identity(store.engine)
    if found is not None:
        return found
    key = Ed25519PrivateKey.generate()
    with store.engine.begin() as connection:
        for name, value in ((NODE_ID_SETTING, new_id()), (NODE_KEY_SETTING, private_key_text(key))):
            connection.execute(sa.text("INSERT INTO setting (key, value) VALUES (:k, :v) ON CONFLICT(key) DO NOTHING"),
                               {"k": name, "v": value})
    identity = _read_identity(store.engine)
    assert identity is not None
    return identity


def renew_node_identity(store: Store) -> SigningKey:
    """Make this store a new node: a new id and a new key pair, replacing both in one transaction.

    For a store that finds itself copied or restored: the copy must not sign as the node it was copied from.
    """
    node, key = new_id(), Ed25519PrivateKey.generate()
    with store.engine.begin() as connection:
        for name, value in ((NODE_ID_SETTING, node), (NODE_KEY_SETTING, private_key_text(key))):
            connection.execute(sa.text("INSERT INTO setting (key, value) VALUES (:k, :v) "
                                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), {"k": name, "v": value})
    return SigningKey(node, key)


def _read_identity(engine: Engine) -> SigningKey | None:
    with engine.connect() as connection:
        values = dict(connection.execute(sa.text("SELECT key, value FROM setting WHERE key IN (:n, :k)"),
                                         {"n": NODE_ID_SETTING, "k": NODE_KEY_SETTING}).all())
    if not values.get(NODE_ID_SETTING) or not values.get(NODE_KEY_SETTING):
        return None
    return SigningKey(values[NODE_ID_SETTING], load_private_key(values[NODE_KEY_SETTING]))
