"""Bearer tokens: one per county device, or an admin token for the city.

A token is ``secrets.token_urlsafe`` shown once; the server keeps only its SHA-256 and compares hashes
with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schema.models import CITY_CODE, new_id
from schema.server_models import SyncToken
from sync.bulk import driver_query

TOKEN_BYTES = 32


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the token says."""

    token_id: str
    county_code: str
    is_admin: bool

    def may_touch(self, county_code: str) -> bool:
        return self.is_admin or county_code == self.county_code

    def partitions(self) -> tuple[str, ...] | None:
        """County codes this caller pulls: its own and the city's reference data; None = all (admin)."""
        return None if self.is_admin else tuple(dict.fromkeys((self.county_code, CITY_CODE)))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(engine: Engine, county_code: str, *, admin: bool = False, label: str = "") -> str:
    """Create a token for ``county_code``; return it (the only time it exists in clear)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    table = SyncToken.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.insert(table), {
            "id": new_id(), "token_hash": hash_token(token), "county_code": county_code, "is_admin": admin,
            "label": label, "created_at": datetime.now(), "revoked_at": None,
        })
    return token


def authenticate(engine: Engine, token: str) -> Caller | None:
    """The caller a token stands for, or None if it is unknown or revoked."""
    with engine.connect() as connection:  # every request asks: one query through the driver
        return authenticate_on(connection, token)


def authenticate_on(connection: Connection, token: str) -> Caller | None:
    """``authenticate`` in a transaction of the caller's (the hello of a no-op sync reads all it needs in one)."""
    if not token or len(token) > 200:
        return None
    wanted = hash_token(token)
    rows = driver_query(connection, "SELECT id, token_hash, county_code, is_admin, revoked_at IS NOT NULL "
                                    "FROM sync_token WHERE token_hash = ?", (wanted,))
    if not rows:
        return None
    token_id, token_hash, county_code, is_admin, revoked = rows[0]
    if revoked or not hmac.compare_digest(token_hash, wanted):
        return None
    return Caller(token_id=token_id, county_code=county_code, is_admin=bool(is_admin))


def list_tokens(engine: Engine, county: str | None = None) -> list[dict[str, object]]:
    """Every token's id, county, kind, label and dates (never a hash), oldest first."""
    table = SyncToken.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.id, table.c.county_code, table.c.is_admin, table.c.label, table.c.created_at,
                      table.c.revoked_at).order_by(table.c.created_at, table.c.id)
    if county:
        query = query.where(table.c.county_code == county)
    with engine.connect() as connection:
        return [{**row._mapping, "is_admin": bool(row.is_admin), "created_at": row.created_at.isoformat(),
                 "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}
                for row in connection.execute(query)]
