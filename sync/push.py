"""Server side of a push: the whole batch in one transaction, each change merged under a row lock, a
per-record answer for each, and the answer stored so a replay returns it again (exactly-once effect).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from functools import cache, partial
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schema.errors import InvalidRecord
from schema.models import CITY_CODE, NATURAL_KEYS, SYNCED_TABLES, TABLE_MODELS, new_id
from schema.rules import change_errors
from schema.server_models import SyncBatch, SyncConflict, SyncNode, SyncReceipt
from sync.auth import Caller
from sync.bulk import (
    driver_execute,
    driver_query,
    driver_rows_in,
    driver_values,
    insert_params,
    insert_rows,
    select_by_ids,
    update_params,
    update_rows,
)
from sync.errors import BatchMismatch, Forbidden, NestedTooDeep, OutOfOrder
from sync.hlc import MAX_CLOCK_DRIFT_MS, clamp_stamp, wall_ms
from sync.merge import MergeResult, merge_record
from sync.partition import RowChange, record_changes
from sync.period_locks import PeriodGuard
from sync.protocol import STATUSES, Change, IncomingChange, IncomingPush, PushRequest, PushResponse
from sync.records import (
    CREATED_AT,
    clean_incoming,
    from_wire,
    row_params_maker,
    row_to_wire,
    table_of,
    to_wire,
    wire_fields,
    wire_params,
)
from sync.serverdb import ServerDB

BATCH = SyncBatch.__table__  # type: ignore[attr-defined]
RECEIPT = SyncReceipt.__table__  # type: ignore[attr-defined]
RECEIPT_COLUMNS = ("change_id", "batch_id", "status", "reason", "version")
CORRECTION = TABLE_MODELS["hours_correction"].__table__  # type: ignore[attr-defined]
CONFLICT = SyncConflict.__table__  # type: ignore[attr-defined]
NODE = SyncNode.__table__  # type: ignore[attr-defined]
CHUNK = 500  # ids per IN (...) list
# Levels of lists and objects a hashed value may nest (a change is 2 deep, its values flat); pydantic's own
# JSON parser refuses bodies past about 200.
MAX_NESTING = 64
UNKNOWN_ROW = "unknown_row"  # the reason a node's change to a row this server lacks is answered with
# ... and to a row this server holds at an older version than the change's base (``BatchRun._process``)
UNKNOWN_VERSION = "unknown_version"
# ... and to a row this server holds at the change's base version written by another write than the one the
# node's base stamp names: another history reached the same number (``BatchRun._process``)
DIVERGED = "diverged"
# A push as the server received it (``read_push``) or as a bundle import built it: the same fields.
Push = PushRequest | IncomingPush
AnyChange = Change | IncomingChange


@cache
def foreign_keys(table: str) -> dict[str, str]:
    """column → referenced table, for the references a pushed record must not leave dangling."""
    return {fk.parent.name: fk.column.table.name for fk in table_of(table).foreign_keys}


@cache
def _references(table: str) -> tuple[tuple[str, str], ...]:
    """``foreign_keys(table)``'s (column, referenced table) pairs."""
    return tuple(foreign_keys(table).items())


def _natural_keys(columns: tuple[str, ...], records: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """How many of ``records`` hold each value of the natural key ``columns`` (a missing column as None). A new
    row carries every column, as a whole row does: one ``itemgetter`` call a row then (for two columns or more:
    of one column it gives the value, not a key's tuple). A key holding a list or an object (a hostile body's) is
    left out: no row can hold it, and cleaning refuses that record by itself."""
    if len(columns) > 1:
        try:
            return Counter(map(itemgetter(*columns), records))
        except (KeyError, TypeError):  # (TypeError: a key that does not hash)
            pass
    keys = (tuple(record.get(column) for column in columns) for record in records)
    return Counter(key for key in keys if not any(isinstance(value, list | dict) for value in key))


# A RowChange made from its values' tuple in one C call (the named tuple's own constructor is a Python function).
_new_row_change = partial(tuple.__new__, RowChange)


@cache
def defaults(table: str) -> dict[str, Any]:
    """Wire defaults of the optional fields, so a new record that leaves one out is still complete."""
    model = TABLE_MODELS[table]
    return {name: to_wire(info.get_default(call_default_factory=True)) for name, info in model.model_fields.items()
            if name in wire_fields(table) and not info.is_required()}


def content_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Key-sorted compact JSON (orjson is an order of magnitude quicker than pydantic's dump per change)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits: orjson refuses them, json does not
        # orjson also refuses what nests deeper than 254 levels, where json would end in a RecursionError
        if nesting_depth(value) > MAX_NESTING:
            raise NestedTooDeep(f"请求内容嵌套超过 {MAX_NESTING} 层 (the body nests objects or lists deeper than "
                                f"{MAX_NESTING} levels; a record's values are plain text, numbers and flags)") from None
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def nesting_depth(value: Any) -> int:
    """How deep lists, tuples and objects nest in ``value`` (walked without recursion: the point is to
    measure bodies too deep to recurse into)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list | tuple):
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_NESTING:  # deeper is too deep already: no need to walk it all
            stack.extend((child, depth + 1) for child in item)
    return deepest


def content_key(table: str, row_id: str, base_version: int, base: Any, fields: Any, deleted: bool) -> str:
    """A change's identity: what it does to which row, from which base. The client's change id ends in its
    first 16 characters and the server keeps its receipts by it, so both sides agree on what "the same
    change" is: neither the node that sent it nor its HLC stamp is part of it. A change re-stamped after a
    bundle, replayed by a store restored from a backup, or sent by two copies of one store is recognised
    as one change (``duplicate``); anything else is another change, merged as such."""
    return hashlib.sha256(canonical_json((table, row_id, base_version, base, fields, deleted))).hexdigest()


def change_hash(change: AnyChange) -> str:
    """The receipt key of a pushed change: table and row, then its ``content_key``. (Led by the row's id, a
    UUIDv7, so receipts go into their index nearly in order, as the rows do.)"""
    key = content_key(change.table, change.id, change.base_version, change.base, change.fields, change.deleted)
    return f"{change.table}:{change.id}:{key}"


def change_hashes(changes: Iterable[AnyChange]) -> dict[str, str]:
    """``change_hash`` of each change, by change id: ``canonical_json``'s orjson dump and the key made in one
    comprehension (three calls a change fewer); a batch orjson cannot dump goes change by change, as before."""
    try:
        return {c.change_id: f"{c.table}:{c.id}:" + _sha256(_dumps(
                    (c.table, c.id, c.base_version, c.base, c.fields, c.deleted), option=_SORTED)).hexdigest()
                for c in changes}
    except (orjson.JSONEncodeError, TypeError):
        return {change.change_id: change_hash(change) for change in changes}


_sha256, _dumps, _SORTED = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS


def request_hash(request: Push, change_hashes: Iterable[str]) -> str:
    """The whole batch's content, built from its changes' ids and keys rather than a second dump of the
    request (the ids too: the stored answer names them)."""
    head = canonical_json((request.node_id, request.protocol_version, request.schema_version, request.batch_id,
                           [change.change_id for change in request.changes]))
    return hashlib.sha256(head + "".join(change_hashes).encode()).hexdigest()


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def apply_push(db: ServerDB, caller: Caller, request: Push) -> PushResponse:
    """Apply a pushed batch, or return the stored answer if this batch was applied before."""
    return PushResponse.model_validate_json(push_answer(db, caller, request))


def push_answer(db: ServerDB, caller: Caller, request: Push, after: str = "") -> bytes:
    """``apply_push`` as the JSON the server sends (and stores for a replay), without a model round trip.
    ``after``: the batch this one follows, sent before it by the same device (``sync.push_order``); unless that
    one was committed, nothing is applied: ``OutOfOrder``."""
    hashes = change_hashes(request.changes)
    batch_hash = request_hash(request, hashes.values())
    tables = {change.table for change in request.changes}  # (the rows it may write: ServerDB.write)
    for careful in (False, True, True):
        stored = _stored_answer(db, caller, request, batch_hash)
        if stored is not None:
            return stored
        if after and not _committed(db, request.node_id, after):
            raise OutOfOrder(f"batch {request.batch_id} follows batch {after}, which this server has not applied: "
                             "send it again once that one is answered")
        try:
            return db.run_write(lambda c, careful=careful: BatchRun(db, c, caller, request, batch_hash, hashes,
                                                                    careful).run(), tables=tables)
        except sa.exc.IntegrityError:
            # A constraint the checks did not foresee, or the same batch committed by a concurrent
            # retry: look for the stored answer, else redo with one savepoint per change.
            continue
    return db.run_write(lambda c: BatchRun(db, c, caller, request, batch_hash, hashes, True).run(), tables=tables)


def _committed(db: ServerDB, node: str, batch_id: str) -> bool:
    """Whether this node's batch ``batch_id`` was applied (its answer stored)."""
    with db.engine.connect() as connection:
        return bool(driver_query(connection, "SELECT 1 FROM sync_batch WHERE batch_id = ? AND node_id = ?",
                                 (batch_id, node)))


def _stored_answer(db: ServerDB, caller: Caller, request: Push, batch_hash: str) -> bytes | None:
    """The answer stored for this batch id, for the node and county that sent it and no one else: another
    device replaying the body (or reusing the id) gets 403, before anything about the batch is compared."""
    batch_id = request.batch_id
    with db.engine.connect() as connection:  # (through the driver: a statement every push batch makes)
        found = driver_query(connection, "SELECT request_hash, response, node_id, county_code FROM sync_batch "
                             "WHERE batch_id = ?", (batch_id,))
    if not found:
        return None
    request_hash, response, node_id, county_code = found[0]
    if node_id != request.node_id or county_code != caller.county_code:
        raise Forbidden(f"batch {batch_id} was sent by another device")
    if request_hash != batch_hash:
        raise BatchMismatch(f"batch {batch_id} was received before with different content")
    return str(response).encode()


class BatchRun:
    """One push batch inside one write transaction."""

    def __init__(self, db: ServerDB, connection: Connection, caller: Caller, request: Push,
                 batch_hash: str, hashes: dict[str, str], careful: bool) -> None:
        self.db, self.connection, self.caller, self.request = db, connection, caller, request
        self.request_hash, self.hashes, self.careful = batch_hash, hashes, careful
        self.node = request.node_id
        self.by = self.node[:64]  # the rows' ``updated_by``
        # A stamp further ahead of the server's time than the bound is not stored as sent (a laptop's wrong clock).
        self.now_ms = wall_ms()
        self.stamp_limit = f"{self.now_ms + MAX_CLOCK_DRIFT_MS:013d}"
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.known_refs: dict[str, dict[str, str]] = {}  # table → {id: county_code} of rows referred to
        self.writes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.row_changes: list[RowChange] = []
        self.conflicts: list[dict[str, Any]] = []
        self.receipts: list[tuple[str, str, str, str, int]] = []  # RECEIPT_COLUMNS
        self.guard = PeriodGuard(connection, caller)
        # table → the maker of a new row's parameters, where a new row may be written so (``_new_row_params``)
        self.new_rows = _new_row_params() if connection.dialect.name == "sqlite" else {}
        self.natural: dict[str, dict[tuple[Any, ...], str]] = {}  # table → natural key → the row holding it
        self.batch_corrections: dict[str, set[float]] = {}
        # The batch's changes by table (in their order), for the batch's lookups: one pass over the changes
        # instead of one per lookup.
        self.by_table: dict[str, list[AnyChange]] = defaultdict(list)
        for change in request.changes:
            self.by_table[change.table].append(change)

    def run(self) -> bytes:
        self._check_node()
        receipts = self._load_receipts()
        self._load_rows()
        self._load_natural_keys()
        self._load_references()
        self._collect_corrections()
        results = [self._duplicate(c, receipts[c.change_id]) if c.change_id in receipts else self._process(c)
                   for c in self.request.changes]
        if not self.careful:
            self._flush_writes()
        record_changes(self.db, self.connection, self.row_changes)
        return self._store(results)

    # ---- reading ------------------------------------------------------------------------------------------

    def _check_node(self) -> None:
        check_node(self.connection, self.node, self.caller)

    def _load_receipts(self) -> dict[str, Receipt]:
        """The receipts of changes received before, by change id. A receipt is kept by the change's content
        key (its ``change_id`` column), whichever node sent it and under whatever id."""
        keys = {key: change_id for change_id, key in self.hashes.items()}
        found: dict[str, Receipt] = {}
        for change_id, status, version in driver_rows_in(
                self.connection, "SELECT change_id, status, version FROM sync_receipt WHERE change_id", list(keys),
                chunk=CHUNK):
            found[keys[change_id]] = Receipt(status, version)
        return found

    def _load_rows(self) -> None:
        """Read (and on PostgreSQL lock, in id order so two batches never deadlock) the rows concerned."""
        for name in SYNCED_TABLES:
            changes = self.by_table.get(name)
            if changes:
                for row in select_by_ids(self.connection, table_of(name), sorted({c.id for c in changes}), chunk=CHUNK,
                                         for_update=self.db.is_postgres):
                    self.rows[(name, row["id"])] = {"version": row["version"], "record": row_to_wire(name, row),
                                                    "hlc": row["updated_hlc"], "by": row["updated_by"]}

    def _load_natural_keys(self) -> None:
        """The natural keys of this batch's new rows that another row may hold: a row on the server (loaded,
        and locked on PostgreSQL, like the batch's own rows), or another new row of this batch. Only those
        keys are kept (``self.natural``: key → the row holding it, "" for the first new row to come), so
        the new rows of an initial push cost one lookup each."""
        new_rows = {name: [c for c in changes if (name, c.id) not in self.rows] if self.rows else changes
                    for name, changes in self.by_table.items() if name in NATURAL_KEYS}
        for name, changes in new_rows.items():
            if not changes:
                continue
            columns = NATURAL_KEYS[name]
            table, last = table_of(name), columns[-1]
            keys = _natural_keys(columns, [c.fields for c in changes])
            found: dict[tuple[Any, ...], str] = {}
            values = sorted({key[-1] for key in keys if isinstance(key[-1], str)})
            # Through the driver (the columns are text): an initial push's batch finds the rows earlier batches
            # wrote for the same people, thousands of them, which a Core select typed and wrapped one by one.
            for row in driver_rows_in(self.connection, f"SELECT id, {', '.join(columns)} FROM {name} WHERE {last}",
                                      values, chunk=CHUNK):
                key = row[1:]
                if key in keys:
                    found[key] = row[0]
            twins = sorted(row_id for row_id in found.values() if (name, row_id) not in self.rows)
            for row in select_by_ids(self.connection, table, twins, chunk=CHUNK, for_update=self.db.is_postgres):
                self.rows[(name, row["id"])] = {"version": row["version"], "record": row_to_wire(name, row),
                                                "hlc": row["updated_hlc"], "by": row["updated_by"]}
            shared = {key: "" for key, count in keys.items() if count > 1} | found
            if shared:
                self.natural[name] = shared

    def _load_references(self) -> None:
        wanted: dict[str, set[str]] = {}
        for name, changes in self.by_table.items():
            for column, target in _references(name):
                # (tested before it goes in the set: a hostile body's value may be a list, which no set takes)
                wanted.setdefault(target, set()).update(
                    {value for c in changes if isinstance(value := c.fields.get(column), str) and value})
        for target, ids in wanted.items():
            if not ids:
                continue
            self.known_refs[target] = dict(driver_rows_in(self.connection, f"SELECT id, county_code FROM {target} "
                                                          "WHERE id", sorted(ids), chunk=CHUNK))

    # ---- one change -------------------------------------------------------------------------------------

    def _duplicate(self, change: AnyChange, receipt: Receipt) -> Result:
        """The stored status, with the row as it is now: the node takes that version and record as its base."""
        current = self.rows.get((change.table, change.id))
        if current is not None and not self.caller.may_touch(current["record"]["county_code"]):
            return self._forbidden(change, current["record"]["county_code"])
        if current is None:
            return result(change, "duplicate", receipt.status, receipt.version)
        return result(change, "duplicate", receipt.status, current["version"], record=current["record"],
                      stamp=current["hlc"])

    def _reject(self, change: AnyChange, reason: str, message: str) -> Result:
        return result(change, "rejected", reason, 0, message=message[:2000])

    def _forbidden(self, change: AnyChange, county: str) -> Result:
        return self._reject(change, "forbidden", f"county_code: 本设备不能写入{county}的记录 "
                                                 f"(this token may not write county {county}'s records)")

    def _process(self, change: AnyChange) -> Result:
        """One change, decided on what would be stored: the server's row decides who may touch it; a new row's
        county is the cleaned (normalised) value, so a code that only becomes another county's after
        normalisation is refused as surely as one sent plainly."""
        key = (change.table, change.id)
        current = self.rows.get(key)
        if current is not None and not self.caller.may_touch(current["record"]["county_code"]):
            return self._forbidden(change, current["record"]["county_code"])
        if current is None and change.base_version > 0:
            # The node has synced this row, but this server does not know it (its database was restored or
            # recreated): the node sends the whole row again, as new (see Replica.apply_results).
            return self._reject(change, UNKNOWN_ROW, "服务器上没有这条记录，设备将整条重新上传 "
                                                     "(the server does not have this record: the device sends it whole)")
        if current is not None and change.base_version > current["version"]:
            # The node synced a later version than this server now holds: its database was put back from an older
            # backup, and the versions after it are gone. Merged on that base, the change would bring back only
            # what it edits now, and its echo would take the lost versions from the node too. The node gets this
            # server's record instead, makes it its base and sends its row again, as an edit of it (see
            # Replica.apply_results): what the server lost comes back with it.
            return result(change, "rejected", UNKNOWN_VERSION, current["version"], record=current["record"],
                          stamp=current["hlc"],
                          message="服务器上的这条记录比本设备同步过的旧（服务器由较早的备份恢复），设备将在其上重新上传 "
                                  "(the server holds an older version than this device synced: its database was put "
                                  "back from an older backup; the device sends its row again as an edit of it)")
        if (current is not None and change.base_stamp and current["hlc"] and change.base_version == current["version"]
                and change.base_stamp != current["hlc"]):
            # The version the node edited is not this server's version of that number: its database was put
            # back from a backup and another device's edit took the row to that number again. Merged as if on
            # it, the change would bring only what it edits now, and the node's lost version would be replaced.
            # The node sends its row again whole, on no common base: a conflict for the city on each field that
            # differs (see Replica.apply_results).
            return result(change, "rejected", DIVERGED, current["version"], record=current["record"],
                          stamp=current["hlc"],
                          message="服务器上同一版本的这条记录由别处写成（服务器由较早的备份恢复后又被修改），设备将整条重新上传，由市里裁决 "
                                  "(another write holds this version on the server: its database was put back from a "
                                  "backup and the row edited since; the device sends its row whole, for the city "
                                  "to decide)")
        if current is not None and change.hlc and current["by"] == self.by and change.hlc < current["hlc"]:
            return self._superseded(change, current)
        try:
            cleaned = clean_incoming(change.table, change.fields, partial=current is not None, strict_types=True)
        except InvalidRecord as exc:
            return self._reject(change, "invalid", str(exc))
        if current is None:
            if not cleaned.get("county_code"):
                return self._reject(change, "invalid", "county_code: 不能为空 (required)")
            if not self.caller.may_touch(cleaned["county_code"]):
                return self._forbidden(change, cleaned["county_code"])
            # A whole row (as a device sends a new one) has every wire column already: the cleaned row is ours
            # (made by clean_incoming), so it is the record itself, not copied (cleaned is read after this only
            # for the references it sets, which ``deleted`` below is not).
            incoming = cleaned if len(cleaned) == len(wire_fields(change.table)) else {**defaults(change.table),
                                                                                     **cleaned}
            twin = self._natural_twin(change, incoming)
            if twin is not None:
                return self._fold(change, cleaned, twin)
        else:
            incoming = dict(cleaned)
            if incoming.get("county_code", current["record"]["county_code"]) != current["record"]["county_code"]:
                return self._reject(change, "county_change", "记录不能改属其他县区 (a record cannot move to another county)")
        if change.deleted:
            incoming["deleted"] = True
        base = change.base
        if current is not None:
            base = dict(base)
            for derived in cleaned.keys() - change.fields.keys():
                base.setdefault(derived, current["record"].get(derived))
        if current is None:
            return self._insert(change, cleaned, incoming)
        moved = current["version"] != change.base_version
        merged = merge_record(base, current["record"], incoming, server_moved=moved)
        return self._checked_accept(change, current, cleaned, merged, moved)

    def _natural_twin(self, change: AnyChange, incoming: dict[str, Any]) -> str | None:
        """The id of the row that already holds this new row's natural key, if another row does."""
        shared = self.natural.get(change.table)
        if not shared:
            return None
        key = tuple(incoming.get(column) for column in NATURAL_KEYS[change.table])
        twin = shared.get(key)
        if twin is None:
            return None
        if not twin or twin == change.id or (change.table, twin) not in self.rows:
            shared[key] = twin or change.id  # a later new row of this batch with the key meets this one
            return None
        return twin

    def _fold(self, change: AnyChange, cleaned: dict[str, Any], twin: str) -> Result:
        """A new row for a natural key another row holds (two devices filed the same month's report): one
        logical record. Its values are merged into that row as an edit made on no common base: what both
        say agrees, what differs is a conflict for the city (the held row's value stays meanwhile); a held
        row that was deleted takes the new values. The node is told which row it became (``merged_into``)."""
        current = self.rows[(change.table, twin)]
        if not self.caller.may_touch(current["record"]["county_code"]):
            return self._reject(change, "natural_key", "另一县区的记录已占用此键 (another county's record holds this key)")
        incoming = {name: value for name, value in cleaned.items() if name != CREATED_AT}
        revive = bool(current["record"].get("deleted"))
        if revive:
            incoming["deleted"] = False
        merged = merge_record({}, current["record"], incoming, server_moved=not revive)
        return self._checked_accept(change, current, cleaned, merged, True, row_id=twin)

    def _checked_accept(self, change: AnyChange, current: dict[str, Any] | None, cleaned: dict[str, Any],
                        merged: MergeResult, moved: bool, row_id: str | None = None) -> Result:
        """Accept a merge that changes nothing, or one the domain's rules allow and whose references resolve.
        Only references the change sets are checked: those already on the server's row were checked when
        written, and rows are tombstoned, never removed."""
        if merged.changed:
            refusal = self._refusal(change, current, merged.record)
            if refusal:
                return self._reject(change, *refusal)
            dangling = self._dangling_reference(change.table, cleaned, merged.record["county_code"])
            if dangling:
                return self._reject(change, *dangling)
        return self._accept(change, current, cleaned, merged, moved, row_id=row_id)

    def _insert(self, change: AnyChange, cleaned: dict[str, Any], record: dict[str, Any]) -> Result:
        """A new row: ``_checked_accept`` and ``_accept`` of ``merge_record``'s answer to it (applied, inserted, the
        record as made in ``_process``), written out for the one case an initial push is made of: the same
        checks in the same order (the reporting calendar, then the references), the same row, receipt and answer."""
        table, row_id, hlc, by = change.table, change.id, change.hlc, self.by
        refusal = self.guard.refusal(table, record) or self._dangling_reference(table, cleaned, record["county_code"])
        if refusal:
            return self._reject(change, *refusal)
        stamp = self._stamp(hlc)
        key = (table, row_id)
        # (not written before in this batch: it would be in ``rows``)
        make = None if self.careful else self.new_rows.get(table)
        params = None if make is None else make(record, row_id, 1, stamp, by, "synced")
        if params is not None:  # the row's parameters straight from its record (``_new_row_params``)
            self.writes[key] = (NEW, params)
        else:
            values = {**record, "id": row_id, "version": 1, "updated_hlc": stamp, "updated_by": by,
                      "sync_state": "synced"}
            if self.careful and not self._write_now(table, "insert", values):
                return self._reject(change, *BROKEN_CONSTRAINT)
            self.writes[key] = ("insert", values)
        self.rows[key] = {"version": 1, "record": record, "hlc": hlc, "by": by}
        self.row_changes.append(_new_row_change((record["county_code"], table, row_id, None, 1, self.node, None,
                                                 record)))
        self._receipt(change, "applied", "inserted", 1)
        # The row goes back only when it differs from what the node sent.
        return result(change, "applied", "inserted", 1, record=record if record != change.fields else None,
                      stamp=stamp)

    def _superseded(self, change: AnyChange, current: dict[str, Any]) -> Result:
        """An older state of a row than this node has already written (a bundle imported after the online
        sync that carried a later edit): the node's later change holds everything this one did."""
        self._receipt(change, "applied", "superseded", current["version"])
        return result(change, "applied", "superseded", current["version"], record=current["record"],
                      stamp=current["hlc"])

    def _refusal(self, change: AnyChange, current: dict[str, Any] | None,
                 record: dict[str, Any]) -> tuple[str, str] | None:
        """The domain's rules (schema.rules, as the county's screens apply them) and the reporting calendar."""
        if current is not None:
            before = current["record"]
            corrected_to = self._corrected_to(change.id) if _hours_moved(change.table, before, record) else ()
            errors = change_errors(change.table, before, record, corrected_to)
            if errors:
                return "rule", "; ".join(str(error) for error in errors)
        return self.guard.refusal(change.table, record)

    def _corrected_to(self, participation_id: str) -> set[float]:
        """New hours of the corrections of a participation: sent in this batch, or already on the server."""
        found = set(self.batch_corrections.get(participation_id, ()))
        found.update(value for (value,) in self.connection.execute(
            sa.select(CORRECTION.c.new_hours).where(CORRECTION.c.participation_id == participation_id,
                                                    CORRECTION.c.deleted.is_(False))))
        return found

    def _collect_corrections(self) -> None:
        """Hours corrections this batch brings, valid and of the caller's county, by participation: a
        participation's confirmed hours may move to a correction's new hours in the same batch."""
        for change in self.by_table.get("hours_correction", ()):
            if change.deleted:
                continue
            try:
                cleaned = clean_incoming(change.table, change.fields, partial=True, strict_types=True)
            except InvalidRecord:
                continue
            if "new_hours" in cleaned and self.caller.may_touch(str(cleaned.get("county_code", ""))):
                self.batch_corrections.setdefault(str(cleaned.get("participation_id")), set()).add(cleaned["new_hours"])

    def _dangling_reference(self, table: str, record: dict[str, Any], owner: str) -> tuple[str, str] | None:
        """A reference the record sets that the server lacks, or one to another county's row (the city's own
        reference rows, such as its detachment, may be referred to by every county)."""
        for column, target in _references(table):
            value = record.get(column)
            if not value:
                continue
            known = self.known_refs.get(target)
            county = None if known is None else known.get(value)
            if county is None and (target, value) in self.rows:
                county = self.rows[(target, value)]["record"]["county_code"]
            if county is None:
                return "missing_reference", (f"{column}: 引用的记录不存在 "
                                             f"(refers to {target} {value}, which the server does not have)")
            if county != CITY_CODE and county != owner:
                return "forbidden", (f"{column}: 不能引用其他县区的记录 "
                                     f"(refers to {target} {value} of another county)")
        return None

    def _accept(self, change: AnyChange, current: dict[str, Any] | None, cleaned: dict[str, Any],
                merged: MergeResult, moved: bool, row_id: str | None = None) -> Result:
        """Write the merged record (to ``row_id``: another row than the change's when folded into it)."""
        row_id = row_id or change.id
        key = (change.table, row_id)
        version = current["version"] if current else 0
        stamp = current["hlc"] if current else ""  # the version's stamp: the row's, or this write's below
        if merged.changed:
            write = self._write_for(change, row_id, current, merged.record, version + 1)
            stamp = write[1]["updated_hlc"]
            if self.careful and not self._write_now(change.table, *write):
                return self._reject(change, *BROKEN_CONSTRAINT)
            self.writes[key] = write  # (its kind as the row's earlier write in the batch had it: ``_write_for``)
            self.rows[key] = {"version": version + 1, "record": merged.record, "hlc": change.hlc, "by": self.by}
            self.row_changes.append(RowChange(merged.record["county_code"], change.table, row_id,
                                              current["version"] if current else None, version + 1, self.node,
                                              current["record"] if current else None, merged.record))
            version += 1
        conflict_id = self._open_conflict(change, row_id, merged, version) if merged.status == "conflict" else None
        self._receipt(change, merged.status, merged.reason, version)
        # The row goes back only when it differs from what the node will assume: its base plus what it sent.
        as_sent = merged.record != change.fields if current is None else cleaned != change.fields
        echo = merged.status != "applied" or moved or as_sent
        return result(change, merged.status, merged.reason, version, record=merged.record if echo else None,
                      conflict_id=conflict_id, merged_into=row_id if row_id != change.id else None, stamp=stamp)

    def _write_for(self, change: AnyChange, row_id: str, current: dict[str, Any] | None, record: dict[str, Any],
                   version: int) -> tuple[str, dict[str, Any]]:
        """The row to write, in wire form plus the server's columns (``_execute_writes`` types it)."""
        values = {**record, "id": row_id, "version": version, "updated_hlc": self._stamp(change.hlc),
                  "updated_by": self.by, "sync_state": "synced"}
        inserting = current is None or self.writes.get((change.table, row_id), ("",))[0] in ("insert", NEW)
        return ("insert" if inserting else "update", values)

    def _stamp(self, hlc: str) -> str:
        """The change's stamp as stored: one further ahead of the server's time than the bound is clamped."""
        return hlc if hlc[:13] <= self.stamp_limit else clamp_stamp(hlc, self.now_ms)

    def _receipt(self, change: AnyChange, status: str, reason: str, version: int) -> None:
        """The change's receipt, kept by its content key, written with the batch."""
        self.receipts.append((self.hashes[change.change_id], self.request.batch_id, status, reason, version))

    def _open_conflict(self, change: AnyChange, row_id: str, merged: MergeResult, version: int) -> str:
        conflict_id = new_id()
        self.conflicts.append({
            "id": conflict_id, "county_code": merged.record["county_code"], "tbl": change.table, "row_id": row_id,
            "kind": merged.reason, "change_id": change.change_id, "node_id": self.node,
            "base_version": change.base_version, "server_version": version,
            "fields": json.dumps({name: {"base": c.base, "server": c.server, "incoming": c.incoming}
                                  for name, c in merged.conflicts.items()}, ensure_ascii=False),
            "status": "open", "created_at": datetime.now(), "resolved_at": None, "resolved_by": "",
            "resolution": "", "reason": "", "resolved_version": 0})
        return conflict_id

    # ---- writing ------------------------------------------------------------------------------------------

    def _write_now(self, table_name: str, kind: str, values: dict[str, Any]) -> bool:
        try:
            with self.connection.begin_nested():
                _execute_writes(self.connection, table_name, kind, [values])
        except sa.exc.IntegrityError:
            return False
        return True

    def _flush_writes(self) -> None:
        grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for (table, _), (kind, values) in self.writes.items():
            grouped[(table, kind)].append(values)
        for name in SYNCED_TABLES:
            params = grouped.get((name, NEW))
            if params:
                insert_params(self.connection, table_of(name), _column_names(name), params)
            for kind in ("insert", "update"):
                rows = grouped.get((name, kind))
                if rows:
                    _execute_writes(self.connection, name, kind, _parents_first(name, rows))

    def _store(self, results: list[Result]) -> bytes:
        """Keep conflicts, receipts and the upload report with its answer (what a replay gets back)."""
        if self.conflicts:
            self.connection.execute(sa.insert(CONFLICT), self.conflicts)
        insert_params(self.connection, RECEIPT, RECEIPT_COLUMNS, self.receipts)
        counts = dict.fromkeys(STATUSES, 0)
        for item in results:
            counts[item["status"]] += 1
        # The answer goes out as stored: PushResponse's JSON shape, written directly (5,000 models per
        # batch would cost more than the merge).
        response = orjson.dumps({"batch_id": self.request.batch_id, "server_time_ms": wall_ms(),
                                 "results": results})
        now = datetime.now()
        self.connection.execute(sa.insert(BATCH), {
            "batch_id": self.request.batch_id, "node_id": self.node, "county_code": self.caller.county_code,
            "received_at": now, "request_hash": self.request_hash, "changes": len(results),
            "applied": counts["applied"], "merged": counts["merged"], "conflicts": counts["conflict"],
            "duplicates": counts["duplicate"], "rejected": counts["rejected"], "response": response.decode()})
        touch_node(self.connection, self.node, self.caller, pushed=now)
        return response


Result = dict[str, Any]  # a ChangeResult in its JSON form
BROKEN_CONSTRAINT = ("constraint", "违反数据库约束 (breaks a database constraint)")


class Receipt(NamedTuple):
    """A change's receipt, as a replay of it is answered from."""

    status: str
    version: int


def result(change: AnyChange, status: str, reason: str, version: int, *, message: str = "",
           record: dict[str, Any] | None = None, conflict_id: str | None = None,
           merged_into: str | None = None, stamp: str = "") -> Result:
    """One per-record answer in ``ChangeResult``'s JSON form; ``message``, ``record`` and ``conflict_id`` only
    when they say something (their defaults are "", null and null): most answers of a push are a plain
    "applied", and the answer is sent, parsed and stored for replays once per record."""
    item: Result = {"change_id": change.change_id, "table": change.table, "id": change.id, "status": status,
                    "reason": reason, "version": version}
    if message:
        item["message"] = message
    if record is not None:
        item["record"] = record
    if conflict_id is not None:
        item["conflict_id"] = conflict_id
    if merged_into is not None:
        item["merged_into"] = merged_into
    if stamp and stamp != change.hlc:  # (most answers' version is the change's own write, under its own stamp)
        item["stamp"] = stamp
    return item


def _hours_moved(table: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    return table == "participation" and before.get("hours") != after.get("hours")


def check_node(connection: Connection, node: str, caller: Caller) -> None:
    """A node id belongs to the county that first used it; another county's token may not borrow it."""
    found = driver_query(connection, "SELECT county_code FROM sync_node WHERE node_id = ?", (node,))
    if found and not caller.may_touch(found[0][0]):
        raise Forbidden(f"node {node} belongs to county {found[0][0]}")


def touch_node(connection: Connection, node: str, caller: Caller, *, pushed: datetime | None = None,
               pulled: datetime | None = None, pull_seq: int | None = None) -> None:
    """Record that a node was seen (and how far it has pulled: the server's checkpoint for it). Through the
    driver: every sync makes this write, a no-op sync's only one."""
    now = datetime.now()
    values: dict[str, Any] = {"last_seen": now}
    if pushed:
        values["last_push_at"] = pushed
    if pulled:
        values["last_pull_at"] = pulled
    if pull_seq is not None:
        values["last_pull_seq"] = pull_seq
    sql = f"UPDATE sync_node SET {', '.join(f'{name} = ?' for name in values)} WHERE node_id = ?"
    if not driver_execute(connection, sql, (*driver_values(connection, NODE, values), node)):
        connection.execute(sa.insert(NODE), {
            "node_id": node, "county_code": caller.county_code, "token_id": caller.token_id, "first_seen": now,
            "last_seen": now, "last_push_at": pushed, "last_pull_at": pulled, "last_pull_seq": pull_seq or 0})


def _execute_writes(connection: Connection, table_name: str, kind: str, rows: list[dict[str, Any]]) -> None:
    """Write rows given in wire form plus the server's columns (every row carries every column)."""
    table = table_of(table_name)
    if connection.dialect.name != "sqlite":
        typed = [from_wire(table_name, row) for row in rows]
        (insert_rows if kind == "insert" else update_rows)(connection, table, typed)
        return
    names = _column_names(table_name)
    if kind == "insert":
        insert_params(connection, table, names, wire_params(table_name, names, rows))
    else:
        names = (*(name for name in names if name != "id"), "id")
        update_params(connection, table, names, wire_params(table_name, names, rows))


# A new row whose driver parameters were made straight from its record (``BatchRun._insert``): (NEW, the tuple
# in ``_column_names`` order) in ``BatchRun.writes``, where another write is ("insert" or "update", its values).
NEW = "new"
# The server's columns of a row a push writes, as ``_new_row_params``' makers take them after the record.
WRITE_COLUMNS = ("id", "version", "updated_hlc", "updated_by", "sync_state")


@cache
def _column_names(table_name: str) -> tuple[str, ...]:
    return tuple(table_of(table_name).c.keys())


@cache
def _new_row_params() -> dict[str, Any]:
    """Per synced table, ``row_params_maker``'s function for a new row of it on SQLite, except a table whose rows
    refer to rows of its own (teams under teams: ``_parents_first`` orders those, as ``insert`` writes)."""
    return {name: row_params_maker(name, _column_names(name), WRITE_COLUMNS) for name in SYNCED_TABLES
            if name not in foreign_keys(name).values()}


def _parents_first(table_name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order rows of a self-referencing table (teams under teams) so a parent is written before its child."""
    self_refs = [column for column, target in foreign_keys(table_name).items() if target == table_name]
    if not self_refs or len(rows) < 2:
        return rows
    pending = {row["id"]: row for row in rows}
    ordered: list[dict[str, Any]] = []
    while pending:
        ready = [row for row in pending.values() if all(row.get(c) not in pending for c in self_refs)]
        for row in ready or list(pending.values()):
            ordered.append(pending.pop(row["id"]))
    return ordered
