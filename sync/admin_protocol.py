"""Wire models of the city admin's endpoints (``/api/v1/admin``), shared by the server and the city TUI/CLI."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sync.protocol import ConflictOut, IdStr, PushResponse, Reason, Request

ADMIN_PREFIX = "/api/v1/admin"
# The kinds of item in the conflict queue: the merge's per-record conflicts, then the relational ones.
QUEUE_KINDS = ("field_conflict", "delete_vs_edit", "edit_vs_delete", "duplicate_person", "dissolved_team")
# Which side a resolved item took (``sync_conflict.decision``): every field the server's value (``city``), every
# field the upload's (``county``), a value typed for at least one field (``value``), some fields one side and
# some the other (``mixed``); a duplicate person merged into the first or later registration, or both kept.
DECISIONS = ("city", "county", "value", "mixed", "merge_first", "merge_later", "keep_both")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str | date):
        raise ValueError("expected a date as text, YYYY-MM-DD")
    return value


# A date in a strict request: ISO text only (pydantic alone would take a number as a Unix time).
IsoDate = Annotated[date, BeforeValidator(_iso_text), Field(strict=False)]


class FieldChoice(Request):
    """``city`` keeps the server's value, ``county`` takes the losing one, ``value`` sets ``value``."""

    take: Literal["city", "county", "value"]
    value: Any = None


class DecideRequest(Request):
    decisions: dict[str, FieldChoice] = Field(default_factory=dict)
    reason: Reason


class DuplicateRequest(Request):
    action: Literal["merge", "keep_both"]
    survivor: Literal["city", "county"] = "city"
    decisions: dict[str, FieldChoice] = Field(default_factory=dict)
    reason: Reason


class BulkRequest(Request):
    ids: list[IdStr] = Field(min_length=1, max_length=1000)  # ids as the queue gives them: no NUL for PostgreSQL
    take: Literal["city", "county"]
    reason: Reason


class BulkResponse(Model):
    outcome: dict[str, str]


class Sender(Model):
    """Who sent a value or an upload: the device (its node id; the label it was enrolled with, if any) and the
    label of the token it synced with (the clerk or office the city issued it to)."""

    node_id: str = ""
    device_label: str = ""
    token_label: str = ""


class Person(Model):
    """One of the two records of a duplicate person, as the admin compares them: the ID number masked, the
    county by name, the registration day (登记日期, else the day the record was created); ``first`` marks the
    earlier registration (先登记), the side ``survivor: "city"`` keeps."""

    id: str
    name: str
    id_number: str
    county_code: str
    county_name: str
    work_unit: str
    registered_on: date | None
    first: bool


class QueueItem(ConflictOut):
    """A queue item with what it is about by name: ``subject`` (the person with the ID number masked, the team,
    the activity) and the county's name; both "" where the server has none. ``server_sender`` sent the value
    the server held (uploaded first), ``incoming_sender`` this upload; empty where the city itself wrote it. A
    duplicate person also has ``people``: both records, the first registered first (the item is listed under
    both counties)."""

    subject: str = ""
    county_name: str = ""
    server_sender: Sender = Field(default_factory=Sender)
    incoming_sender: Sender = Field(default_factory=Sender)
    people: list[Person] = Field(default_factory=list)


class QueuePage(Model):
    items: list[QueueItem]
    total: int


class UploadReport(PushResponse):
    """One upload's per-record report, with each named record's subject (keyed ``table/id``)."""

    subjects: dict[str, str] = Field(default_factory=dict)


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
    sender: Sender = Field(default_factory=Sender)
    county_name: str = ""


class UploadPage(Model):
    items: list[Upload]
    total: int


class LockRequest(Request):
    county_code: str = Field(pattern=r"^[0-9]{6}$")
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    open_until: IsoDate
    reason: Reason


class LockResponse(Model):
    id: str
    county_code: str
    period: str
    open_until: date


class CountySummary(Model):
    """One county at a glance: open conflicts, the last upload and report received, and per month (oldest
    first, ``months`` of the page) how many uploads and conflicts came in."""

    county_code: str
    county_name: str
    open_conflicts: int
    last_upload: str = ""
    last_report: str = ""
    last_report_period: str = ""
    uploads: list[int]
    conflicts: list[int]


class SummaryPage(Model):
    months: list[str]
    counties: list[CountySummary]
