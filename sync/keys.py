"""Who may sign what: the city's register of node keys, the enrolment file, and the city key a county trusts.

- The server keeps each county device's public key (``node_key``): registered at its first online sync,
  tied to its token's county, or from the enrolment file a county that never goes online writes
  (``stvs-tui bundle enrol``) and the city admin imports (``stvs-tui node enrol``). Revoking a lost device
  revokes its key and the token it synced with.
- A county store keeps the city's public key (settings ``city_public_key``, ``city_server_id``): learned at
  the first online sync, or given by a city-key file or the line ``stvs-tui token add`` prints. A return
  bundle is accepted only when signed by that key.

Every file here is one JSON object, signed where it says who made it (the enrolment file is signed by the
node's own key: whoever wrote it holds the private key).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.identity import BadKey, check_public_key, signature_valid
from schema.server_models import NodeKey, SyncToken
from schema.store import Store
from sync.errors import Forbidden, SyncError
from sync.serverdb import ServerDB

NODE_KEY = NodeKey.__table__  # type: ignore[attr-defined]
TOKEN = SyncToken.__table__  # type: ignore[attr-defined]
ENROLMENT_FORMAT, CITY_KEY_FORMAT = "stvs-enrolment", "stvs-city-key"
CITY_KEY_SETTING, CITY_SERVER_SETTING = "city_public_key", "city_server_id"
MAX_KEY_FILE_BYTES = 64 * 1024


class KeyRefused(Forbidden):
    """A node key the city will not take: the node is revoked, belongs to another county, or has another key."""


class KeyFileError(SyncError):
    """An enrolment or city-key file that cannot be used: unreadable, not ours, or its signature fails."""


def fingerprint(public_key: str) -> str:
    """A short form of a public key for two people to compare over the phone (16 hex digits in 4 groups)."""
    digest = hashlib.sha256(public_key.encode()).hexdigest()[:16]
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the JSON object with sorted keys, no spaces, UTF-8."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# ---- the city's register of node keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredKey:
    node_id: str
    county_code: str
    public_key: str
    token_id: str
    source: str
    label: str
    registered_at: datetime
    revoked_at: datetime | None
    revoked_reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "county_code": self.county_code, "fingerprint": fingerprint(self.public_key),
                "source": self.source, "label": self.label, "registered_at": self.registered_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "revoked_reason": self.revoked_reason}


def registered_key(connection: Connection, node_id: str) -> RegisteredKey | None:
    row = connection.execute(sa.select(NODE_KEY).where(NODE_KEY.c.node_id == node_id)).first()
    return None if row is None else RegisteredKey(**row._mapping)


def register_node_key(db: ServerDB, node_id: str, county_code: str, public_key: str, *, token_id: str = "",
                      source: str = "sync", label: str = "") -> RegisteredKey:
    """Register ``node_id``'s key for ``county_code``, or confirm the one registered; ``KeyRefused`` when the
    node is revoked, belongs to another county or is registered with another key (a copy of a store must
    become a node of its own, see ``schema.identity.renew_node_identity``)."""
    try:
        check_public_key(public_key)
    except BadKey as exc:
        raise KeyRefused(str(exc)) from None

    def work(connection: Connection) -> RegisteredKey:
        connection.execute(sa.text(
            "INSERT INTO node_key (node_id, county_code, public_key, token_id, source, label, registered_at, "
            "revoked_at, revoked_reason) VALUES (:n, :c, :k, :t, :s, :l, :at, NULL, '') "
            "ON CONFLICT (node_id) DO NOTHING"), {"n": node_id, "c": county_code, "k": public_key, "t": token_id,
                                                  "s": source, "l": label[:100], "at": datetime.now()})
        found = registered_key(connection, node_id)
        assert found is not None
        return found

    with db.read() as connection:
        known = registered_key(connection, node_id)
    found = known or db.run_write(work)  # a write only the first time: every sync says hello
    if found.revoked_at is not None:
        raise KeyRefused(f"设备 {node_id} 已于 {found.revoked_at:%Y-%m-%d} 被注销 (this device was revoked: "
                         f"{found.revoked_reason or 'no reason given'}); 请向市里申请新令牌 (ask the city for a new token)")
    if found.county_code != county_code:
        raise KeyRefused(f"设备 {node_id} 属于 {found.county_code}，不属于 {county_code} "
                         f"(this device is registered for county {found.county_code})")
    if found.public_key != public_key:
        raise KeyRefused(f"设备 {node_id} 已用另一把密钥登记 (this device id is registered with another key: "
                         f"{fingerprint(found.public_key)}); 复制的数据库须作为新设备 (a copied store must become a new node)")
    return found


def node_keys(db: ServerDB, county: str | None = None) -> list[RegisteredKey]:
    query = sa.select(NODE_KEY).order_by(NODE_KEY.c.county_code, NODE_KEY.c.registered_at)
    if county:
        query = query.where(NODE_KEY.c.county_code == county)
    with db.read() as connection:
        return [RegisteredKey(**row._mapping) for row in connection.execute(query)]


def revoke_node(db: ServerDB, node_id: str, reason: str) -> RegisteredKey:
    """Revoke a (lost) device: its key signs nothing the city accepts any more, and the token it synced with is
    refused too. ``KeyFileError`` when the city knows no such device."""
    now = datetime.now()

    def work(connection: Connection) -> RegisteredKey | None:
        found = registered_key(connection, node_id)
        if found is None:
            return None
        connection.execute(sa.update(NODE_KEY).where(NODE_KEY.c.node_id == node_id, NODE_KEY.c.revoked_at.is_(None))
                           .values(revoked_at=now, revoked_reason=reason[:200]))
        if found.token_id:
            connection.execute(sa.update(TOKEN).where(TOKEN.c.id == found.token_id, TOKEN.c.revoked_at.is_(None))
                               .values(revoked_at=now))
        return registered_key(connection, node_id)

    revoked = db.run_write(work)
    if revoked is None:
        raise KeyFileError(f"市里没有登记设备 {node_id} (no device {node_id} is registered; see `stvs-tui node list`)")
    return revoked


def revoke_token(db: ServerDB, token_id: str, reason: str) -> list[str]:
    """Revoke a token and the keys of every device that registered with it; the revoked node ids.
    ``KeyFileError`` when there is no such token."""
    now = datetime.now()

    def work(connection: Connection) -> list[str] | None:
        if connection.execute(sa.update(TOKEN).where(TOKEN.c.id == token_id)
                              .values(revoked_at=sa.func.coalesce(TOKEN.c.revoked_at, now))).rowcount == 0:
            return None
        nodes = [r.node_id for r in connection.execute(sa.select(NODE_KEY.c.node_id).where(
            NODE_KEY.c.token_id == token_id, NODE_KEY.c.revoked_at.is_(None)))]
        connection.execute(sa.update(NODE_KEY).where(NODE_KEY.c.token_id == token_id, NODE_KEY.c.revoked_at.is_(None))
                           .values(revoked_at=now, revoked_reason=reason[:200]))
        return nodes

    nodes = db.run_write(work)
    if nodes is None:
        raise KeyFileError(f"没有令牌 {token_id} (no token {token_id}; see `stvs-tui token list`)")
    return nodes


# ---- files: the enrolment a county writes, the city key a county is given ----------------------------------


@dataclass(frozen=True)
class Enrolment:
    node_id: str
    county_code: str
    public_key: str
    label: str
    created_at: str


def write_enrolment(store: Store, path: Path, label: str = "") -> Enrolment:
    """Write this store's node id, county and public key to ``path``, signed by the node's own key."""
    identity = store.identity
    enrolment = Enrolment(identity.signer, store.county_code, identity.public_key, label,
                          datetime.now().isoformat(timespec="seconds"))
    document = {"format": ENROLMENT_FORMAT, "format_version": 1, **enrolment.__dict__}
    _write_json(path, document | {"signature": identity.sign(canonical(document))})
    return enrolment


def read_enrolment(path: Path) -> Enrolment:
    """Read an enrolment file; ``KeyFileError`` unless it is whole and signed by the key it carries."""
    document = _read_json(path, ENROLMENT_FORMAT)
    signature = document.pop("signature", "")
    try:
        enrolment = Enrolment(**{name: str(document[name]) for name in Enrolment.__dataclass_fields__})
    except KeyError as exc:
        raise KeyFileError(f"{path}: 登记文件缺少 {exc.args[0]} (the enrolment file lacks {exc.args[0]})") from None
    if not signature_valid(enrolment.public_key, str(signature), canonical(document)):
        raise KeyFileError(f"{path}: 登记文件签名不符，已被改动 (the enrolment file's signature fails: it was altered)")
    return enrolment


def enrol_node(db: ServerDB, enrolment: Enrolment) -> RegisteredKey:
    """The city admin takes a county device's enrolment: its bundles are accepted from now on."""
    return register_node_key(db, enrolment.node_id, enrolment.county_code, enrolment.public_key,
                             source="enrolment", label=enrolment.label)


def write_city_key(db: ServerDB, path: Path) -> str:
    """Write the city's public key (and server id) for counties that never sync online; return the key."""
    key = db.city_key.public_key
    _write_json(path, {"format": CITY_KEY_FORMAT, "format_version": 1, "server_id": db.server_id, "public_key": key})
    return key


def read_city_key(source: str) -> tuple[str, str]:
    """(server id, public key) from a city-key file, or from a key given as text (``ed25519:…``; no server id)."""
    if source.startswith("ed25519:"):
        try:
            check_public_key(source)
        except BadKey as exc:
            raise KeyFileError(str(exc)) from None
        return "", source
    document = _read_json(Path(source), CITY_KEY_FORMAT)
    try:
        check_public_key(document.get("public_key", ""))
    except BadKey as exc:
        raise KeyFileError(f"{source}: {exc}") from None
    return str(document.get("server_id", "")), document["public_key"]


# ---- the county's side: which city it trusts ---------------------------------------------------------------


def trusted_city_key(store: Store) -> str:
    """The city public key this store accepts return bundles from ("" if none yet)."""
    return store.setting(CITY_KEY_SETTING)


def trust_city(store: Store, server_id: str, public_key: str) -> None:
    store.set_settings(**{CITY_KEY_SETTING: public_key, CITY_SERVER_SETTING: server_id})


def learn_city_key(store: Store, server_id: str, public_key: str) -> None:
    """Keep the key of the city this store syncs with online (the token and TLS say who it is).

    A new city database (another server id) brings a new key and replaces the old; the same database
    presenting another key is refused: it cannot happen honestly.
    """
    known = trusted_city_key(store)
    if known == public_key:
        if store.setting(CITY_SERVER_SETTING) != server_id:
            trust_city(store, server_id, public_key)
        return
    if known and store.setting(CITY_SERVER_SETTING) == server_id:
        raise KeyRefused(f"市服务器 {server_id} 出示的密钥 {fingerprint(public_key)} 与本机保存的 {fingerprint(known)} "
                         "不同 (the city server presents another key than the one this store trusts): 请与市里核实")
    trust_city(store, server_id, public_key)


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=".stvs-key-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read_json(path: Path, kind: str) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()[:MAX_KEY_FILE_BYTES + 1]
    except OSError as exc:
        raise KeyFileError(f"无法读取 {path} (cannot read: {exc.strerror})") from None
    try:
        document = json.loads(raw) if len(raw) <= MAX_KEY_FILE_BYTES else None
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("format") != kind:
        raise KeyFileError(f"{path} 不是 {kind} 文件 (not a {kind} file)")
    return document

