"""The wire protocol (``/api/v1``): pydantic models shared by the server and the client.

Vocabulary after CouchDB and ODK Central: a push carries changes with the base version they were made
on; each gets a per-record answer; a pull reads the server change sequence after a checkpoint.
"""

from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import from_json

from schema.models import SYNCED_TABLES

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"
MAX_BATCH_CHANGES = 5000
MAX_PULL_LIMIT = 5000
MAX_REQUEST_BYTES = 32 * 1024 * 1024

TableName = Literal[SYNCED_TABLES]  # type: ignore[valid-type]
Status = Literal["applied", "merged", "conflict", "duplicate", "rejected"]
STATUSES: tuple[str, ...] = ("applied", "merged", "conflict", "duplicate", "rejected")

# Identifiers are plain ASCII tokens: nothing a database or a log line could trip on.
ID_PATTERN = r"^[0-9A-Za-z_.:\-]+$"
IdStr = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=ID_PATTERN)]
NodeIdStr = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
MAX_VERSION = 2**31 - 1


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _integral(value: Any) -> Any:
    """JSON has one kind of number: 3.0 is the integer 3 (as JSON Schema says), 3.5 and true are not."""
    return int(value) if type(value) is float and value.is_integer() else value


# An integer in a strict request: the number 3 written as 3 or 3.0, nothing else.
WireInt = Annotated[int, BeforeValidator(_integral)]


# A decision's reason: some visible text (whitespace alone is no reason, as the queue itself says) and no NUL
# (the text rules refuse it: PostgreSQL cannot store it), so the document promises what the server takes.
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*[^\s\x00\x1c-\x1f][^\x00]*$")]


class Request(Model):
    """A request body, taken as the document says: no value converted from another JSON type (a flag is not a
    number, text is not a number), so what the schema refuses the server refuses."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NoopProbe(Request):
    """Where a store stands, sent with the hello when it has nothing to push and nothing held back, so that a
    sync with nothing to do either way is one round trip: the server answers ``up_to_date`` when a pull from
    ``pull_since`` would bring nothing, the county partition's digest is the store's, and no decision on the
    county's conflicts came after ``resolutions_after``. Anything else, and the sync goes on as usual."""

    server_id: str = Field(max_length=64)  # the server the checkpoints below are of
    pull_since: WireInt = Field(ge=0, le=2**53 - 1)  # bounds JSON Schema tools compare exactly, as floats
    row_count: WireInt = Field(ge=0, le=2**53 - 1)
    digest: str = Field(max_length=128, pattern=r"^[0-9A-Za-z_.:+/=\-]*$")
    resolutions_after: str = Field(default="", max_length=40, pattern=r"^[0-9T:.+\-]*$")


class HelloRequest(Request):
    node_id: NodeIdStr
    protocol_version: WireInt
    schema_version: str = Field(max_length=32)
    client_version: str = Field(default="", max_length=32)
    # The node's Ed25519 public key (``ed25519:`` + base64): registered for the token's county at the first
    # hello, checked at every later one. Empty for a client that signs no bundles (scripts, the city admin).
    public_key: str = Field(default="", max_length=100, pattern=r"^(ed25519:[A-Za-z0-9+/=]{44})?$")
    # The store's history (``sync.identity``): its epoch, and the next one when it has changes to push.
    store_epoch: str = Field(default="", max_length=36, pattern=r"^[0-9A-Za-z_.:\-]*$")
    next_epoch: str = Field(default="", max_length=36, pattern=r"^[0-9A-Za-z_.:\-]*$")
    # Optional (protocol 1 still: an older server refuses the key with 422 and the client asks again without).
    noop_probe: NoopProbe | None = None


class HelloResponse(Model):
    protocol_version: int
    schema_version: str
    server_id: str
    server_time_ms: int
    county_code: str
    is_admin: bool
    city_key: str = ""  # the city's public key: the county accepts only return bundles it signed
    # "copied": the server knows this node id with a later history; the store must continue as a new node.
    identity: Literal["ok", "copied"] = "ok"
    # Only in the answer to a hello with a ``noop_probe`` (an older client is not shown fields it does not
    # know): true when there is nothing to do either way; ``pull_since`` is then the store's new pull checkpoint.
    up_to_date: bool = False
    pull_since: int = 0


class Change(Request):
    """One row's pending change: the changed fields, their values at ``base_version``, or a tombstone."""

    change_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    table: TableName
    id: IdStr
    base_version: WireInt = Field(ge=0, le=MAX_VERSION)
    base: dict[str, Any] = Field(default_factory=dict)
    fields: dict[str, Any] = Field(default_factory=dict)
    deleted: bool = False
    hlc: str = Field(default="", max_length=64, pattern=r"^[0-9A-Za-z_.:\-]*$")
    # The server's stamp of the base version's write, as the device was told it ("" when it does not know it):
    # the same version number reached by another history (the city's database put back from a backup, then
    # another device's edit) is told by it, and answered ``diverged`` (sync.push).
    base_stamp: str = Field(default="", max_length=64, pattern=r"^[0-9A-Za-z_.:\-]*$")


class PushRequest(Request):
    node_id: NodeIdStr
    protocol_version: WireInt = PROTOCOL_VERSION
    schema_version: str = Field(max_length=32)
    batch_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    changes: list[Change] = Field(max_length=MAX_BATCH_CHANGES)


class IncomingChange(NamedTuple):
    """A pushed ``Change`` as the server works on it (same fields; a tuple is cheaper than a model)."""

    change_id: str
    table: str
    id: str
    base_version: int
    base: dict[str, Any]
    fields: dict[str, Any]
    deleted: bool
    hlc: str
    base_stamp: str = ""


class IncomingPush(NamedTuple):
    """A ``PushRequest`` as the server works on it."""

    node_id: str
    protocol_version: int
    schema_version: str
    batch_id: str
    changes: list[IncomingChange]


def read_push(raw: bytes) -> IncomingPush:
    """``PushRequest.model_validate_json(raw)``, in the form the server works on.

    A body as the client sends it (every key present, every value of its exact JSON type) is parsed by
    pydantic-core's own JSON reader (``from_json``, the one ``model_validate_json`` reads with: an integer beyond
    64 bits stays an integer, as pydantic keeps it) and checked against the same constraints here, at about half
    of pydantic's cost per change. Anything else, valid or not, goes to pydantic itself, so what is accepted, and
    every error reported (as ``ValidationError``), is exactly pydantic's.

    (orjson read a body ~1 µs a change quicker but held ~12× the body while parsing it: 20 MB more for a 1.6 MB
    batch, the largest part of the server's peak memory; and it read 20-digit integers as floats, so every body
    was first scanned for them.)
    """
    try:
        body = from_json(raw, cache_strings="keys")
    except ValueError:
        body = None
    plain = _plain_push(body)
    if plain is not None:
        return plain
    request = PushRequest.model_validate_json(raw)
    return IncomingPush(request.node_id, request.protocol_version, request.schema_version, request.batch_id,
                        [IncomingChange(c.change_id, c.table, c.id, c.base_version, c.base, c.fields, c.deleted, c.hlc,
                                        c.base_stamp) for c in request.changes])


_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))  # used with fullmatch: no "$" before a newline
_PUSH_KEYS = frozenset(PushRequest.model_fields)
_CHANGE_KEYS = frozenset(Change.model_fields)
_TABLES = frozenset(SYNCED_TABLES)


def _plain_push(body: Any) -> IncomingPush | None:
    """The request if it is in the client's exact form and within every constraint of ``PushRequest``."""
    if type(body) is not dict or body.keys() != _PUSH_KEYS:
        return None
    node_id, version, schema, batch_id, items = (body["node_id"], body["protocol_version"], body["schema_version"],
                                                 body["batch_id"], body["changes"])
    if not (type(node_id) is str and len(node_id) <= 64 and _ID.fullmatch(node_id) and type(version) is int
            and type(schema) is str and len(schema) <= 32 and type(batch_id) is str and len(batch_id) <= 100
            and _ID.fullmatch(batch_id) and type(items) is list and len(items) <= MAX_BATCH_CHANGES):
        return None
    changes = _plain_changes(items)
    return None if changes is None else IncomingPush(node_id, version, schema, batch_id, changes)


_CHANGE_VALUES = itemgetter(*IncomingChange._fields)


def _plain_changes(items: list[Any]) -> list[IncomingChange] | None:
    """The changes if each is in the client's exact form and within every constraint of ``Change``: checked a
    column at a time (each check one pass in C over the batch's values, not eight tests per change)."""
    if not items:
        return []
    if set(map(type, items)) != {dict} or any(item.keys() != _CHANGE_KEYS for item in items):
        return None
    # (tuple.__new__ straight: the named tuple's own constructor is a Python function, a call per change)
    changes = list(map(tuple.__new__, repeat(IncomingChange), map(_CHANGE_VALUES, items)))
    change_ids, tables, row_ids, base_versions, bases, fields, deleted, hlcs, stamps = zip(*changes, strict=True)
    if not (_only(str, change_ids, row_ids, hlcs, tables, stamps) and _only(int, base_versions)
            and _only(dict, bases, fields) and _only(bool, deleted)):
        return None
    if not (min(map(len, change_ids)) > 0 and max(map(len, change_ids)) <= 200 and min(map(len, row_ids)) > 0
            and max(map(len, row_ids)) <= 36 and max(map(len, hlcs)) <= 64 and max(map(len, stamps)) <= 64
            and set(tables) <= _TABLES and min(base_versions) >= 0 and max(base_versions) <= MAX_VERSION
            # one test for them all: ":" is one of the pattern's characters, so the joined text passes exactly
            # when each part does (each change id and row id is not empty; an hlc or a stamp may be, as the
            # pattern allows)
            and _only_id_characters(":".join((*change_ids, *row_ids, *hlcs, *stamps)))):
        return None
    return changes


# The characters of ID_PATTERN (those of ASCII its pattern takes), as bytes: text is made of them alone when
# deleting them all leaves nothing.
_ID_BYTES = bytes(code for code in range(128) if _ID.fullmatch(chr(code)))


def _only_id_characters(text: str) -> bool:
    """``_ID.fullmatch(text)`` for a text (not empty) : every character one of ID_PATTERN's. One pass of
    ``bytes.translate`` in C, ~5× quicker than the regular expression's (0.5 µs a change over a push's ids)."""
    return bool(text) and text.isascii() and not text.encode().translate(None, _ID_BYTES)


def _only(kind: type, *columns: tuple[Any, ...]) -> bool:
    """Every value of the columns is of exactly this type (not a subclass: a flag is no integer here)."""
    return all(set(map(type, column)) == {kind} for column in columns)


class ChangeResult(Model):
    """The per-record import report. ``record`` is the server's row when it differs from what was sent."""

    change_id: str
    table: str
    id: str
    status: Status
    reason: str
    version: int = 0
    message: str = ""
    record: dict[str, Any] | None = None
    conflict_id: str | None = None
    # A new row for a natural key another row holds was merged into that row: its id (``record`` is that row).
    merged_into: str | None = None
    # The server's stamp of ``version``'s write, when it is not the change's own ``hlc`` (another write's, or the
    # change's clamped): the device keeps it with its sync base (``Change.base_stamp``).
    stamp: str = ""


class PushResponse(Model):
    batch_id: str
    server_time_ms: int
    results: list[ChangeResult]


class PulledRecord(Model):
    seq: int
    table: str
    id: str
    version: int
    updated_hlc: str = ""
    updated_by: str = ""
    record: dict[str, Any]


class PartitionDigest(Model):
    county_code: str
    last_seq: int
    row_count: int
    digest: str


class PullResponse(Model):
    changes: list[PulledRecord]
    next_since: int
    has_more: bool
    server_time_ms: int
    partition: PartitionDigest | None = None


class RediffPage(Model):
    """(id, version) of a county's rows of one table, in id order, and each row's content hash (16 hex
    digits of ``sync.records.row_hash``, in the same order): the targeted re-diff after a mismatch."""

    table: str
    # Documented as pairs of [id, version] without prefixItems, which OpenAPI 3.0 tools cannot read.
    rows: Annotated[list[tuple[str, int]], WithJsonSchema({"type": "array", "items": {
        "type": "array", "minItems": 2, "maxItems": 2, "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}})]
    hashes: list[Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]] = []
    next_after: str | None
    # Asked for (``stamps=true``): the server's stamp of each row's version (its ``updated_hlc``), in the same order.
    # Sent only then: a client from before it refuses a key it does not know.
    stamps: list[Annotated[str, Field(max_length=64)]] = []


class FetchRequest(Request):
    table: TableName
    ids: list[IdStr] = Field(max_length=MAX_PULL_LIMIT)


class FetchResponse(Model):
    records: list[PulledRecord]


class ConflictOut(Model):
    id: str
    county_code: str
    table: str
    row_id: str
    kind: str
    node_id: str
    base_version: int
    server_version: int
    fields: dict[str, dict[str, Any]]
    status: str
    created_at: str
    resolved_at: str | None = None
    resolved_by: str = ""
    resolution: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""
    decision: str = ""  # which side was taken (sync.admin_protocol.DECISIONS); "" while open


class ResolveRequest(Request):
    """Per field of the conflict: ``"server"`` keeps the provisional winner, ``"incoming"`` takes the
    losing value. Fields left out keep the server's value."""

    choices: dict[str, Literal["server", "incoming"]] = Field(default_factory=dict)
    reason: Reason


class ErrorBody(Model):
    code: str
    detail: str
