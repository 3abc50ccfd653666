"""Tables of the sync machinery: server-only ones (tokens, nodes, node keys, upload reports, receipts, the change
sequence, partition digests, the conflict queue) and the county store's own (outbox, checkpoints, issues).

Schema layer: plain tables, no HTTP. Created by migration 0003 for the role that needs them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

# ---- city server -------------------------------------------------------------------------------------------


class SyncToken(SQLModel, table=True):
    """A bearer token for one county device or a city admin; only its SHA-256 is stored."""

    __tablename__ = "sync_token"

    id: str = Field(primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    county_code: str = Field(max_length=6)
    is_admin: bool = False
    label: str = Field(default="", max_length=100)
    created_at: NaiveDatetime = Field(default_factory=datetime.now)
    revoked_at: NaiveDatetime | None = None


class SyncNode(SQLModel, table=True):
    """A device that syncs (one county store); the server's checkpoint of how far it has pulled."""

    __tablename__ = "sync_node"

    node_id: str = Field(primary_key=True, max_length=64)
    county_code: str = Field(max_length=6)
    token_id: str = Field(default="", max_length=36)
    first_seen: NaiveDatetime = Field(default_factory=datetime.now)
    last_seen: NaiveDatetime = Field(default_factory=datetime.now)
    last_push_at: NaiveDatetime | None = None
    last_pull_at: NaiveDatetime | None = None
    last_pull_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # The store history this node id was last seen with (see sync.identity): another one is a copy.
    store_epoch: str = Field(default="", max_length=36)


class NodeKey(SQLModel, table=True):
    """A county device's Ed25519 public key: the bundles it signs are checked against it.

    Registered at the device's first online sync (``source`` "sync", tied to the token's county) or from
    its enrolment file (``source`` "enrolment"); a revoked key signs nothing the city accepts.
    """

    __tablename__ = "node_key"

    node_id: str = Field(primary_key=True, max_length=64)
    county_code: str = Field(max_length=6, index=True)
    public_key: str = Field(max_length=100)
    token_id: str = Field(default="", max_length=36)
    source: str = Field(max_length=16)
    label: str = Field(default="", max_length=100)
    registered_at: NaiveDatetime = Field(default_factory=datetime.now)
    revoked_at: NaiveDatetime | None = None
    revoked_reason: str = Field(default="", max_length=200)


class SyncBatch(SQLModel, table=True):
    """One received push (the upload report): its counts and the stored answer, replayed on a retry."""

    __tablename__ = "sync_batch"

    batch_id: str = Field(primary_key=True, max_length=100)
    node_id: str = Field(max_length=64, index=True)
    county_code: str = Field(max_length=6, index=True)
    received_at: NaiveDatetime = Field(default_factory=datetime.now)
    request_hash: str = Field(max_length=64)
    changes: int = 0
    applied: int = 0
    merged: int = 0
    conflicts: int = 0
    duplicates: int = 0
    rejected: int = 0
    response: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SyncReceipt(SQLModel, table=True):
    """The answer given to one change id, so that a replay of it anywhere returns the same answer."""

    __tablename__ = "sync_receipt"
    # Kept by its key alone on SQLite (migration 0019); the key ends in the change's content key.
    __table_args__ = {"sqlite_with_rowid": False}

    change_id: str = Field(primary_key=True, max_length=200)
    batch_id: str = Field(max_length=100)
    status: str = Field(max_length=16)
    reason: str = Field(default="", max_length=40)
    version: int = 0


class ServerChange(SQLModel, table=True):
    """The server change sequence: one row per applied change; pull reads it by ``seq``.

    ``seq`` is allocated and committed under one lock (see sync.partition), so a reader never sees a
    sequence number while a smaller one may still commit.
    """

    __tablename__ = "server_change"
    __table_args__ = (Index("ix_server_change_county_seq", "county_code", "seq"),)

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                             primary_key=True, autoincrement=True))
    county_code: str = Field(max_length=6)
    tbl: str = Field(max_length=32)
    row_id: str = Field(max_length=36)
    version: int = 0
    origin_node: str = Field(default="", max_length=64)


class PartitionState(SQLModel, table=True):
    """Per county: the last change sequence number and a digest of its rows (XOR of ``row_hash``: table, id,
    version and canonical content); ``''`` while it waits to be rebuilt (migration 0011)."""

    __tablename__ = "partition_state"

    county_code: str = Field(primary_key=True, max_length=6)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    row_count: int = 0
    digest: str = Field(default="0000000000000000", max_length=16)


class RowRecheck(SQLModel, table=True):
    """A row whose content changed without a new version (a hand edit of the database), noted by a trigger
    with the row as it was (JSON), until the partition digest is brought up to its content (migration 0011;
    on a county store ``old`` is empty and the sync base holds what it was)."""

    __tablename__ = "row_recheck"

    tbl: str = Field(primary_key=True, max_length=32)
    row_id: str = Field(primary_key=True, max_length=36)
    county_code: str = Field(default="", max_length=6, index=True)
    old: str | None = None


class SyncConflict(SQLModel, table=True):
    """A conflict in the city's queue: the provisional winner is on the row; every losing value is here.

    ``fields`` is JSON ``{field: {"base": b, "server": s, "incoming": i}}``; ``resolution`` is JSON
    ``{field: chosen value}`` once resolved, and ``decision`` which side it took (``sync.admin_protocol.DECISIONS``:
    ``city``, ``county``, ``value``, ``mixed``, ``merge_first``, ``merge_later``, ``keep_both``; migration 0013),
    so the audit trail is filtered on it in SQL.
    """

    __tablename__ = "sync_conflict"
    __table_args__ = (Index("ix_sync_conflict_row", "tbl", "row_id"),
                      Index("ix_sync_conflict_county_status", "county_code", "status"),
                      Index("ix_sync_conflict_status_decision", "status", "decision"))

    id: str = Field(primary_key=True, max_length=36)
    county_code: str = Field(max_length=6)
    tbl: str = Field(max_length=32)
    row_id: str = Field(max_length=36)
    kind: str = Field(max_length=24)
    change_id: str = Field(max_length=200)
    node_id: str = Field(max_length=64)
    base_version: int = 0
    server_version: int = 0
    fields: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    status: str = Field(default="open", max_length=16)
    created_at: NaiveDatetime = Field(default_factory=datetime.now)
    resolved_at: NaiveDatetime | None = None
    resolved_by: str = Field(default="", max_length=64)
    resolution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reason: str = Field(default="", max_length=500)
    resolved_version: int = 0
    decision: str = Field(default="", max_length=16)


class ReportReceipt(SQLModel, table=True):
    """When the server first received a county's monthly report as submitted (or accepted): timeliness counts
    by this, never by the county laptop's clock (``monthly_report.submitted_at``).

    Written by a database trigger on ``monthly_report`` (migration 0005), so every write path records it:
    an online push, an imported bundle, the city's own edits. ``received_at`` is UTC from the database's
    clock; the first receipt stays when a report is sent back and submitted again.
    """

    __tablename__ = "report_receipt"

    report_id: str = Field(primary_key=True, max_length=36)
    county_code: str = Field(max_length=6)
    period: str = Field(max_length=7)
    received_at: NaiveDatetime


SERVER_MODELS: tuple[type[SQLModel], ...] = (
    SyncToken, SyncNode, NodeKey, SyncBatch, SyncReceipt, ServerChange, PartitionState, SyncConflict, ReportReceipt,
)

# ---- county store ------------------------------------------------------------------------------------------


class SyncOutbox(SQLModel, table=True):
    """The batch being pushed, written before it is sent: after a crash it is sent again, byte for byte."""

    __tablename__ = "sync_outbox"

    batch_id: str = Field(primary_key=True, max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: NaiveDatetime = Field(default_factory=datetime.now)


class SyncCheckpoint(SQLModel, table=True):
    """Sync checkpoints as key / value: on a county store its pull cursor, digest and last sync; on the
    server its identity (both roles have this table)."""

    __tablename__ = "sync_checkpoint"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SyncIssue(SQLModel, table=True):
    """Why a local row is in state conflict or error, as the server said (shown to the clerk)."""

    __tablename__ = "sync_issue"

    tbl: str = Field(primary_key=True, max_length=32)
    row_id: str = Field(primary_key=True, max_length=36)
    status: str = Field(max_length=16)
    reason: str = Field(default="", max_length=40)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    at: NaiveDatetime = Field(default_factory=datetime.now)


COUNTY_MODELS: tuple[type[SQLModel], ...] = (SyncOutbox, SyncCheckpoint, SyncIssue)
