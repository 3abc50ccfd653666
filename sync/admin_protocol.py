"""Wire models of the city admin's endpoints (``/api/v1/admin``), shared by the server and the city TUI/CLI."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.protocol import ConflictOut

ADMIN_PREFIX = "/api/v1/admin"
# The kinds of item in the conflict queue: the merge's per-record conflicts, then the relational ones.
QUEUE_KINDS = ("field_conflict", "delete_vs_edit", "edit_vs_delete", "duplicate_person", "dissolved_team")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldChoice(Model):
    """``city`` keeps the server's value, ``county`` takes the losing one, ``value`` sets ``value``."""

    take: Literal["city", "county", "value"]
    value: Any = None


class DecideRequest(Model):
    decisions: dict[str, FieldChoice] = Field(default_factory=dict)
    reason: str = Field(min_length=1, max_length=500)


class DuplicateRequest(Model):
    action: Literal["merge", "keep_both"]
    survivor: Literal["city", "county"] = "city"
    decisions: dict[str, FieldChoice] = Field(default_factory=dict)
    reason: str = Field(min_length=1, max_length=500)


class BulkRequest(Model):
    ids: list[str] = Field(min_length=1, max_length=1000)
    take: Literal["city", "county"]
    reason: str = Field(min_length=1, max_length=500)


class BulkResponse(Model):
    outcome: dict[str, str]


class QueuePage(Model):
    items: list[ConflictOut]
    total: int


class DetectResponse(Model):
    opened: int


class Upload(Model):
    """One upload report: a sync push or an imported bundle, with its counts."""

    batch_id: str
    node_id: str
    county_code: str
    received_at: str
    changes: int
    applied: int
    merged: int
    conflicts: int
    duplicates: int
    rejected: int


class UploadPage(Model):
    items: list[Upload]
    total: int


class LockRequest(Model):
    county_code: str = Field(pattern=r"^\d{6}$")
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    open_until: date
    reason: str = Field(min_length=1, max_length=500)


class LockResponse(Model):
    id: str
    county_code: str
    period: str
    open_until: date
