"""The county store's side of sync: checkpoints, the outbox, applying the server's answers and pulled
records (never over a row with unsynced edits), the sync base, the partition digest, and the figures
the dashboard shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from schema.enums import SyncState
from schema.identity import NODE_ID_SETTING, NODE_PUBLIC_KEY_SETTING
from schema.models import SYNCED_TABLES
from schema.store import Store
from schema.storefile import FIGURES_CHANGED
from sync import quarantine
from sync.bulk import driver_cursor, driver_rows
from sync.changes import any_in_id_range, load_bases, load_rows, marks, max_seq_of
from sync.hlc import HybridClock, Timestamp
from sync.identity import EPOCH_KEY
from sync.keys import CITY_KEY_SETTING, CITY_SERVER_SETTING
from sync.protocol import ChangeResult, PulledRecord, RediffPage
from sync.push import DIVERGED, UNKNOWN_ROW, UNKNOWN_VERSION, chunks, foreign_keys
from sync.records import DIGEST_ZERO, digest_xor, from_wire, row_hash, table_of
from sync.status import SyncStatus, sync_status  # noqa: F401  (re-exported: older imports)

# The dashboard's summary lives in sync.status (imported by the first screen without the sync engine).


# ``data`` is bound as orjson's UTF-8 bytes and cast to TEXT, which stores exactly what binding the
# decoded ``str`` stored, without decoding every record to ``str`` for sqlite3 to encode it back.
SET_CHECKPOINT = "INSERT INTO sync_checkpoint (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
UPSERT_BASE = ("INSERT INTO sync_base (tbl, row_id, version, data, stamp) VALUES {rows} "
               "ON CONFLICT(tbl, row_id) DO UPDATE SET version = excluded.version, data = excluded.data, "
               "stamp = excluded.stamp")
BASE_ROW = "(?, ?, ?, CAST(? AS TEXT), ?)"
BASE_ROWS_PER_STATEMENT = 190  # 5 parameters each: within the 999 of older SQLite builds
SYNCED, QUEUED, CONFLICT, ERROR = (SyncState.SYNCED.value, SyncState.QUEUED.value, SyncState.CONFLICT.value,
                                   SyncState.ERROR.value)


def upsert_bases(connection: Connection, rows: list[tuple[str, str, int, bytes, str]]) -> None:
    """Write (table, id, version, data, stamp) rows to the sync base, 190 rows per multi-row INSERT: sqlite3's
    executemany binds and steps the statement once per row, which cost a third of SQLite's own work."""
    cursor = driver_cursor(connection)
    try:
        for part in chunks(rows, BASE_ROWS_PER_STATEMENT):
            cursor.execute(UPSERT_BASE.format(rows=",".join([BASE_ROW] * len(part))),
                           [value for row in part for value in row])
    finally:
        cursor.close()


def _server_bases(table: str, items: Iterable[ChangeResult | PulledRecord]) -> list[tuple[str, str, int, bytes, str]]:
    """``upsert_bases`` rows of records the server sent (a push's answer or a fetch): its version, record and
    the stamp of that version's write."""
    return [(table, item.id, item.version, orjson.dumps(item.record),
             item.stamp if isinstance(item, ChangeResult) else item.updated_hlc) for item in items]


def _answer_stamp(result: ChangeResult, sent: dict[str, dict[str, Any]]) -> str:
    """The server's stamp of an answer's version: the one it says, or else the change's own (its write)."""
    return result.stamp or sent[result.change_id].get("hlc", "")


def later_history(server_stamp: str, base_stamp: str) -> bool:
    """Whether the server's older version of a row was written after this store's base version (both stamps
    known): it is no version this store's base came from, but another device's edit of the row on a server put
    back from a backup. (A version's ancestors were written before it: a hybrid clock takes in every stamp it
    reads, so their stamps are smaller.)"""
    return bool(server_stamp and base_stamp) and server_stamp > base_stamp


def _queue(connection: Connection, table: str, ids: list[str]) -> None:
    """Put rows in the change log (as an edit), so the next push sends them against their sync base."""
    at = datetime.now().isoformat()
    connection.exec_driver_sql("INSERT INTO change_log (tbl, row_id, op, at) VALUES (?, ?, 'U', ?)",
                               [(table, row_id, at) for row_id in ids])


# The checkpoint saying this store's sync bases were given their stamps once (``SyncClient.fill_stamps``): bases
# written before stamps were kept (migration 0020) have none, and without it a store set up then could not tell the
# server's other history of a row (its database put back, then another device's edit) from its own.
STAMPS_FILLED = "stamps_filled"
STAMPS_TRIED = "tried "  # its value, with the day, after a server that sent no stamps ("1" once they are filled)
# ``Replica.noop_state``: (source, key, value) rows; "waiting" and "recheck" rows say only that there are some.
NOOP_STATE = (
    f"SELECT 'checkpoint', key, value FROM sync_checkpoint WHERE key IN (?, 'digest', 'digest_rows', '{STAMPS_FILLED}') "
    "OR key LIKE 'pull_since:%' OR key LIKE 'resolutions_after:%' "
    "UNION ALL SELECT 'setting', key, value FROM setting WHERE key IN "
    f"('{EPOCH_KEY}', '{NODE_ID_SETTING}', '{NODE_PUBLIC_KEY_SETTING}', '{CITY_KEY_SETTING}', '{CITY_SERVER_SETTING}') "
    "UNION ALL SELECT * FROM (SELECT 'waiting', '', '' FROM change_log UNION ALL SELECT 'waiting', '', '' "
    "FROM sync_outbox UNION ALL SELECT 'waiting', '', '' FROM sync_quarantine LIMIT 1) "
    "UNION ALL SELECT * FROM (SELECT 'recheck', '', '' FROM row_recheck LIMIT 1)")
Digest = tuple[int, int]  # (row count, XOR of row hashes) while folding; saved as hex text
_ABSENT = object()


def _outcome(result: ChangeResult) -> str:
    """What happened to the change: a duplicate's stored status, else its status."""
    return result.reason if result.status == "duplicate" else result.status


def _rebase(old: tuple[int, dict[str, Any]] | None, sent: dict[str, Any], record: dict[str, Any],
            local: dict[str, Any] | None, *, lost: bool) -> dict[str, Any] | None:
    """A row the clerk edited again while its change was on the way, answered with the server's record.

    The server's record becomes the base, and the row takes it except where the clerk edited since the
    batch was built: those later edits were made on what was sent (or, for a field the change did not carry,
    on the old base), so they stay, to go in the next batch. But where the server's record holds another
    value for a field the clerk edited since than the one that edit was made on (the change lost a conflict
    on it, or another device changed a field the change did not carry), the base stays as it was (None is
    returned), so the next push meets the server's value as a conflict instead of overwriting it.
    ``{}``: nothing to write here.
    """
    if local is None:
        return {}
    expected = {**(old[1] if old else {}), **sent}
    edited = {name for name, value in local.items() if expected.get(name, _ABSENT) != value}
    # A field the change carried holds what was sent unless the change lost on it (a value the server only
    # normalised is no other value); a field it did not carry is compared with the old base.
    if any(name in expected and record.get(name) != expected[name] and (lost or name not in sent)
           for name in edited):
        return None
    return {**record, **{name: local[name] for name in edited}}


@dataclass
class Applied:
    """What applying pulled records did."""

    applied: int = 0
    skipped_pending: int = 0
    quarantined: int = 0


class Replica:
    """Local bookkeeping of one county store for the sync client."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.county = store.county_code
        self.node = store.node_id
        self.resend = 0  # rows answered ``unknown_row``, to send whole (see _resend_whole)

    # ---- checkpoints and outbox -------------------------------------------------------------------------

    def checkpoint(self, key: str, default: str = "") -> str:
        with self.store.engine.connect() as connection:
            value = connection.execute(sa.text("SELECT value FROM sync_checkpoint WHERE key = :k"), {"k": key}).scalar()
        return default if value is None else str(value)

    @staticmethod
    def set_checkpoints(connection: Connection, **values: str) -> None:
        if values:
            connection.exec_driver_sql(SET_CHECKPOINT, list(values.items()))

    def clock(self) -> HybridClock:
        """This store's hybrid clock, resumed from the last stamp saved (``hlc`` checkpoint)."""
        last = self.checkpoint("hlc")
        return HybridClock(self.node, Timestamp.parse(last) if last else None)

    def noop_state(self, server_key: str) -> dict[str, str] | None:
        """What a no-op probe needs, in one read (a sync with nothing to do is a few milliseconds, most of them
        this store's): the checkpoints (``server_key`` naming the server, its pull and resolutions ones, the
        digest after ``recheck``) and the settings the hello sends and compares (epoch, public key, the city's
        key). None when anything waits to be pushed or is held back, or this store has not synced with the
        server ``server_key`` names, or has not yet given its sync bases their stamps (``STAMPS_FILLED``)."""
        with self.store.engine.connect() as connection:
            rows = driver_rows(connection, NOOP_STATE, (server_key,))
        state = {key: value for source, key, value in rows if source in ("checkpoint", "setting")}
        if any(source == "waiting" for source, _key, _value in rows):
            return None
        server_id = state.get(server_key)
        if not server_id or f"pull_since:{server_id}" not in state or STAMPS_FILLED not in state:
            return None
        if any(source == "recheck" for source, _key, _value in rows):
            self.recheck()  # rows edited behind the change log's back: folded in first (rare)
            with self.store.engine.connect() as connection:
                count, value = self._digest_state(connection)
            state.update(digest_rows=str(count), digest=digest_xor(DIGEST_ZERO, value))
        state.setdefault("digest_rows", "0")
        state["digest"] = digest_xor(state.get("digest", DIGEST_ZERO))
        return state

    def save_checkpoints(self, **values: str) -> None:
        """In a transaction of their own, through the driver (every sync ends with it: ``Store.driver_transaction``)."""
        if values:
            with self.store.driver_transaction() as driver:
                driver.executemany(SET_CHECKPOINT, list(values.items()))

    def has_pending(self) -> bool:
        """Whether anything waits to be pushed (a change, or a batch sent and not yet answered)."""
        with self.store.engine.connect() as connection:
            return bool(driver_rows(connection, "SELECT 1 FROM change_log UNION ALL SELECT 1 FROM sync_outbox LIMIT 1", ()))

    def outbox(self) -> tuple[str, str] | None:
        """The batch sent but not yet answered (batch id, payload), if a sync was interrupted."""
        return next(iter(self.outboxes()), None)

    def outboxes(self) -> list[tuple[str, str]]:
        """Every batch sent but not yet answered, in the order they were sent (at most three, see push)."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT batch_id, payload FROM sync_outbox ORDER BY rowid")).all()
        return [(row[0], row[1]) for row in rows]

    def outbox_payload(self, batch_id: str) -> str:
        """A batch's body as kept in the outbox."""
        with self.store.engine.connect() as connection:
            return str(connection.execute(sa.text("SELECT payload FROM sync_outbox WHERE batch_id = :b"),
                                          {"b": batch_id}).scalar_one())

    def put_outbox(self, batch_id: str, payload: str | bytes) -> None:
        """Keep a batch until it is answered; ``payload`` as text or its UTF-8 bytes (stored as the same text:
        a batch is a megabyte, not worth decoding only for sqlite3 to encode it again)."""
        with self.store.engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO sync_outbox (batch_id, payload, created_at) "
                                       "VALUES (:b, CAST(:p AS TEXT), :t)"),
                               {"b": batch_id, "p": payload, "t": datetime.now()})

    def refuse_outbox(self, batch_id: str, refusal: str) -> None:
        """Note why the server refused a batch (it stays in the outbox; ``sync doctor`` shows the reason)."""
        with self.store.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE sync_outbox SET refused_at = ?, refusal = ? WHERE batch_id = ?",
                                       (datetime.now().isoformat(sep=" "), refusal, batch_id))

    def settle(self, rows: Iterable[Any]) -> None:
        """Forget log entries that hold no change to send (see ``OutgoingBatch.settled``)."""
        items = [{"t": r.table, "r": r.row_id, "s": r.max_seq} for r in rows]
        if not items:
            return
        with self.store.applying_remote_changes() as connection:
            connection.execute(sa.text("DELETE FROM change_log WHERE tbl = :t AND row_id = :r AND seq <= :s"), items)
            for item in items:
                connection.execute(sa.text(f"UPDATE {item['t']} SET sync_state = :st WHERE id = :r AND NOT EXISTS "
                                           "(SELECT 1 FROM change_log WHERE tbl = :t AND row_id = :r)"),
                                   {"st": SyncState.SYNCED.value, **item})

    # ---- answers to a push ------------------------------------------------------------------------------

    def apply_results(self, batch_id: str, changes: list[dict[str, Any]], results: list[ChangeResult]) -> None:
        """Record the server's answers in one transaction, and empty the outbox.

        A record the server sends back (merged, say) that this store cannot hold (it refers to a row deleted
        here) is quarantined like a pulled one, and its sync base left as it was, instead of failing the push.
        """
        try:
            self._apply_results(batch_id, changes, results, careful=False)
        except (sa.exc.IntegrityError, ValueError, TypeError):  # (see apply_pulled)
            self._apply_results(batch_id, changes, results, careful=True)

    def _apply_results(self, batch_id: str, changes: list[dict[str, Any]], results: list[ChangeResult],
                       careful: bool) -> None:
        sent = {c["change_id"]: c for c in changes}
        by_table: dict[str, list[ChangeResult]] = defaultdict(list)
        for result in results:
            by_table[result.table].append(result)
        with self.store.applying_remote_changes() as connection:
            if careful:
                connection.exec_driver_sql("PRAGMA defer_foreign_keys=OFF")
            digest = self._digest_state(connection)
            for table in SYNCED_TABLES:
                of_table = by_table.get(table)
                if of_table:
                    digest = self._apply_table_results(connection, table, of_table, sent, digest, careful)
            connection.execute(sa.text("DELETE FROM sync_outbox WHERE batch_id = :b"), {"b": batch_id})
            self._save_digest(connection, digest)

    def _apply_table_results(self, connection: Connection, table: str, results: list[ChangeResult],
                             sent: dict[str, dict[str, Any]], digest: Digest, careful: bool = False) -> Digest:
        folded = [r for r in results if r.merged_into and r.status != "rejected"]
        if folded:
            digest = self._apply_folds(connection, table, folded, sent, digest)
            results = [r for r in results if not r.merged_into or r.status == "rejected"]
        ids = [r.id for r in results]
        stamps: dict[str, str] = {}
        bases = load_bases(connection, table, ids, stamps)
        lost = [r for r in results if r.status == "rejected" and r.reason == UNKNOWN_VERSION and r.record is not None]
        # Another history of the row on the server (its database put back, then another device's edit): the row
        # goes again whole, as on no common base, a conflict for the city on each field that differs.
        diverged = {r.id for r in lost if later_history(r.stamp, stamps.get(r.id, ""))}
        unknown = [r for r in results if r.status == "rejected" and (r.reason in (UNKNOWN_ROW, DIVERGED)
                                                                     or r.id in diverged)]
        lost = [r for r in lost if r.id not in diverged]
        if unknown:
            digest = self._resend_whole(connection, table, unknown, bases, digest)
        if lost:
            digest = self._rebase_on_server(connection, table, lost, bases, digest)
            unknown += lost  # (neither is this store's error: both go again in this sync)
        accepted = [r for r in results if r.status != "rejected"]
        # Bulk statements go straight to sqlite3's executemany (exec_driver_sql): SQLAlchemy's per-row
        # parameter processing cost more than SQLite's own work for a 2,000-row batch.
        if accepted:
            connection.exec_driver_sql("DELETE FROM change_log WHERE tbl = ? AND row_id = ? AND seq <= ?",
                                       [(table, r.id, max_seq_of(r.change_id)) for r in accepted])
        still_pending = self._pending_ids(connection, table, ids)
        # Rows the clerk edited while the batch was on its way, and that come back changed: see _rebase.
        edited = [r.id for r in accepted if r.record is not None and r.id in still_pending]
        local = load_rows(connection, table, edited) if edited else {}
        base_rows, records, kept = [], [], set()
        held = self._unwritable_echoes(connection, table, accepted) if careful else set()
        kept |= held  # the local row stays at its version until the quarantined record is written
        for result in accepted:
            row_id, record = result.id, result.record
            if row_id in held:
                continue
            old = bases.get(row_id)
            if record is None:
                fields = sent[result.change_id]["fields"]
                data = {**old[1], **fields} if old else fields  # read only: no copy needed
            elif row_id not in still_pending:
                data = record
                records.append((row_id, result.version, record))
            else:
                rebased = _rebase(old, sent[result.change_id]["fields"], record, local.get(row_id),
                                  lost=_outcome(result) == "conflict")
                if rebased is None:
                    kept.add(row_id)
                    continue
                data = record
                if rebased:
                    records.append((row_id, result.version, rebased))
            base_rows.append((table, row_id, result.version, orjson.dumps(data), _answer_stamp(result, sent)))
            digest = self._fold(digest, table, row_id, old, result.version, data)
            if len(base_rows) == BASE_ROWS_PER_STATEMENT:
                # Written as they come, a statement's worth at a time: orjson's bytes hold a buffer of 4 KB
                # or more each, and a 2,000-row batch's base rows held at once were the client's peak
                # (15 MB of its 130).
                upsert_bases(connection, base_rows)
                base_rows = []
        upsert_bases(connection, base_rows)
        self._write_records(connection, table, records)
        self._set_states(connection, table, [r for r in results if r not in unknown], still_pending, kept)
        return digest

    def _apply_folds(self, connection: Connection, table: str, folded: list[ChangeResult],
                     sent: dict[str, dict[str, Any]], digest: Digest) -> Digest:
        """New rows the server merged into the row already holding their natural key (another device filed
        the same month's report first): this store's row becomes that one. Rows referring to it are pointed
        at the held row, it is removed, the held row is written with its version; an edit made to it while
        the batch was on the way goes on as an edit of the held row."""
        local = load_rows(connection, table, [r.id for r in folded])
        held = [r.merged_into for r in folded if r.merged_into]
        bases = load_bases(connection, table, held)
        busy = self._pending_ids(connection, table, held)
        for result in folded:
            mine, theirs = result.id, str(result.merged_into)
            later = self._forget_row(connection, table, mine, max_seq_of(result.change_id), theirs)
            if theirs in busy or result.record is None:
                continue  # the held row's own unsynced edits merge on the next push
            row = result.record
            if later and mine in local:
                row = _rebase(None, sent[result.change_id]["fields"], result.record, local[mine], lost=False) or row
                connection.execute(sa.text("INSERT INTO change_log (tbl, row_id, op, at) VALUES (:t, :r, 'U', :at)"),
                                   {"t": table, "r": theirs, "at": datetime.now().isoformat()})
            upsert_bases(connection, [(table, theirs, result.version, orjson.dumps(result.record),
                                       _answer_stamp(result, sent))])
            digest = self._fold(digest, table, theirs, bases.get(theirs), result.version, result.record)
            self._write_records(connection, table, [(theirs, result.version, row)])
            state = CONFLICT if _outcome(result) == "conflict" else QUEUED if later else SYNCED
            connection.exec_driver_sql(f"UPDATE {table} SET sync_state = ? WHERE id = ?", (state, theirs))
            if state == CONFLICT:
                connection.execute(sa.text(
                    "INSERT INTO sync_issue (tbl, row_id, status, reason, message, at) VALUES (:t, :r, :s, :reason, :m, "
                    ":at) ON CONFLICT(tbl, row_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
                    "message = excluded.message, at = excluded.at"),
                    {"t": table, "r": theirs, "s": CONFLICT, "reason": result.reason, "m": result.conflict_id or "",
                     "at": datetime.now()})
        return digest

    @staticmethod
    def _forget_row(connection: Connection, table: str, row_id: str, max_seq: int, successor: str) -> bool:
        """Remove a row that became ``successor`` (its references moved there); whether it had edits logged
        after ``max_seq`` (made while its change was on the way)."""
        later = bool(driver_rows(connection, "SELECT 1 FROM change_log WHERE tbl = ? AND row_id = ? AND seq > ? LIMIT 1",
                                 (table, row_id, max_seq)))
        for child in SYNCED_TABLES:
            for column, target in foreign_keys(child).items():
                if target == table:
                    connection.exec_driver_sql(f"UPDATE {child} SET {column} = ? WHERE {column} = ?", (successor, row_id))
        for statement in ("DELETE FROM change_log WHERE tbl = ? AND row_id = ?",
                          "DELETE FROM sync_base WHERE tbl = ? AND row_id = ?",
                          "DELETE FROM sync_issue WHERE tbl = ? AND row_id = ?"):
            connection.exec_driver_sql(statement, (table, row_id))
        connection.exec_driver_sql(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        return later

    def _resend_whole(self, connection: Connection, table: str, unknown: list[ChangeResult],
                      bases: dict[str, tuple[int, dict[str, Any]]], digest: Digest) -> Digest:
        """Rows the server does not know (its database was restored or recreated): forget their sync base so
        the next batch sends them whole, as new; a row deleted here the server never needs."""
        ids = [r.id for r in unknown]
        existing = self._existing_ids(connection, table, ids)
        for result in unknown:
            old = bases.get(result.id)
            digest = self._unfold(digest, table, result.id, old)
            if result.id not in existing:
                connection.exec_driver_sql("DELETE FROM change_log WHERE tbl = ? AND row_id = ? AND seq <= ?",
                                           (table, result.id, max_seq_of(result.change_id)))
        for part in chunks(ids):
            connection.exec_driver_sql(f"DELETE FROM sync_base WHERE tbl = ? AND row_id IN ({marks(part)})",
                                       (table, *part))
        self.resend += len(unknown)
        return digest

    def _rebase_on_server(self, connection: Connection, table: str, lost: list[ChangeResult],
                          bases: dict[str, tuple[int, dict[str, Any]]], digest: Digest) -> Digest:
        """Rows whose sync base is a version the server no longer holds (its database was put back from an older
        backup), answered ``unknown_version`` with the server's record: that record becomes the base, and the
        row, still queued, goes again in this sync as an edit of it, bringing back what the server lost."""
        for result in lost:
            assert result.record is not None
            digest = self._fold(digest, table, result.id, bases.get(result.id), result.version, result.record)
        upsert_bases(connection, _server_bases(table, lost))
        self.resend += len(lost)
        return digest

    def _unwritable_echoes(self, connection: Connection, table: str, accepted: list[ChangeResult]) -> set[str]:
        """Ids of the records the server sent back that this store cannot hold, each tried under a savepoint
        (then undone: the bulk write follows); they are quarantined, and their sync base stays as it was."""
        refused: list[tuple[PulledRecord, str, str]] = []
        for result in accepted:
            if result.record is None:
                continue
            try:
                with connection.begin_nested() as trial:
                    self._write_records(connection, table, [(result.id, result.version, result.record)])
                    trial.rollback()
            except (sa.exc.IntegrityError, ValueError, TypeError) as exc:
                record = PulledRecord(seq=0, table=table, id=result.id, version=result.version, record=result.record)
                error = str(exc.orig) if isinstance(exc, sa.exc.IntegrityError) else exc
                refused.append((record, *quarantine.diagnose(connection, record, error)))
        if refused:
            quarantine.hold(connection, refused)
        return {item[0].id for item in refused}

    def _set_states(self, connection: Connection, table: str, results: list[ChangeResult],
                    still_pending: set[str], kept: set[str]) -> None:
        issues: list[dict[str, Any]] = []
        cleared: list[str] = []
        rejected = {r.id for r in results if r.status == "rejected"} | kept
        # One UPDATE per (state, version) and chunk of ids, not one per row: an initial push puts
        # thousands of rows at version 1, synced.
        groups: dict[tuple[str, int | None], list[str]] = defaultdict(list)
        for result in results:
            status, row_id = result.status, result.id
            if status == "rejected":
                state = ERROR
            elif status == "conflict" or status == "duplicate" and result.reason == "conflict":
                state = CONFLICT
            else:
                state = QUEUED if row_id in still_pending else SYNCED
            groups[(state, None if row_id in rejected else result.version)].append(row_id)
            if state in (ERROR, CONFLICT):
                issues.append({"t": table, "r": row_id, "s": state, "reason": result.reason,
                               "m": result.message or (result.conflict_id or ""), "at": datetime.now()})
            else:
                cleared.append(row_id)
        for (state, version), ids in groups.items():
            assignments = "sync_state = ?" if version is None else "sync_state = ?, version = ?"
            values = (state,) if version is None else (state, version)
            for part in chunks(ids):
                connection.exec_driver_sql(f"UPDATE {table} SET {assignments} WHERE id IN ({marks(part)})",
                                           (*values, *part))
        if issues:
            connection.execute(sa.text(
                "INSERT INTO sync_issue (tbl, row_id, status, reason, message, at) VALUES (:t, :r, :s, :reason, :m, :at) "
                "ON CONFLICT(tbl, row_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
                "message = excluded.message, at = excluded.at"), issues)
        # Most tables have no issue at all: one look saves a DELETE per chunk of ids that finds nothing.
        if cleared and driver_rows(connection, "SELECT 1 FROM sync_issue WHERE tbl = ? LIMIT 1", (table,)):
            for part in chunks(cleared):
                connection.exec_driver_sql(f"DELETE FROM sync_issue WHERE tbl = ? AND row_id IN ({marks(part)})",
                                           (table, *part))

    # ---- pulled records ---------------------------------------------------------------------------------

    def apply_pulled(self, records: list[PulledRecord], next_since: int | None, server_key: str, *,
                     revive: bool = False, rewrite: bool = False) -> Applied:
        """Write pulled records (not over unsynced edits) and move the pull checkpoint, in one transaction.

        A record this store cannot hold (it refers to a row deleted here, or a local row holds its unique key)
        never fails the pull: the page is written again record by record, and such a record is quarantined
        with its reason (``sync.quarantine``). ``revive``: write rows this store lacks even at a version it
        has seen, tombstones too (the rows a quarantined record refers to, asked for again). ``rewrite``: write
        them even at the version this store has (the re-diff found their content differs), never over edits
        waiting to be pushed.
        """
        try:
            return self._apply_pulled(records, next_since, server_key, revive, rewrite, careful=False)
        except (sa.exc.IntegrityError, ValueError, TypeError):
            # (ValueError, TypeError: a value not of its column's type, such as a date typed by hand into a
            # SQLite city database, which the server sends as it is)
            return self._apply_pulled(records, next_since, server_key, revive, rewrite, careful=True)

    def _apply_pulled(self, records: list[PulledRecord], next_since: int | None, server_key: str, revive: bool,
                      rewrite: bool, careful: bool) -> Applied:
        outcome = Applied()
        with self.store.applying_remote_changes() as connection:
            digest = self._digest_state(connection)
            chosen = {table: self._fresh(connection, table, [r for r in records if r.table == table], outcome, revive,
                                         rewrite)
                      for table in SYNCED_TABLES}
            held = self._write_one_by_one(connection, chosen, revive) if careful else {}
            for table in SYNCED_TABLES:
                fresh = chosen[table]
                if fresh:
                    digest = self._apply_pulled_table(connection, table, fresh, digest, held, revive, write=not careful)
            outcome.applied += sum(len(fresh) for fresh in chosen.values()) - len(held)
            if held:
                quarantine.hold(connection, list(held.values()))
                outcome.quarantined += len(held)
            self._save_digest(connection, digest)
            if next_since is not None:
                self.set_checkpoints(connection, **{f"pull_since:{server_key}": str(next_since)})
        return outcome

    def _fresh(self, connection: Connection, table: str, records: list[PulledRecord], outcome: Applied,
               revive: bool, rewrite: bool = False) -> list[PulledRecord]:
        """The records to write: not over unsynced edits, and newer than what this store has."""
        if not records:
            return []
        ids = [r.id for r in records]
        pending = self._pending_ids(connection, table, ids)
        bases = load_bases(connection, table, ids)
        fresh = [r for r in records if r.id not in pending]
        outcome.skipped_pending += len(records) - len(fresh)
        # A version this store has already (its own push answered with it) brings nothing new, and
        # must not clear a conflict mark: only a newer version (say, the city's resolution) does.
        missing = self._missing_ids(connection, table, [r.id for r in fresh]) if revive else set()
        if rewrite:
            return fresh
        return [r for r in fresh if r.id not in bases or bases[r.id][0] < r.version or r.id in missing]

    def _write_one_by_one(self, connection: Connection, chosen: dict[str, list[PulledRecord]],
                          revive: bool) -> dict[tuple[str, str], tuple[PulledRecord, str, str]]:
        """Write each record under its own savepoint, foreign keys checked at once, parents' tables first;
        again while a pass writes any (a team's parent may come after it); return those refused, diagnosed."""
        connection.exec_driver_sql("PRAGMA defer_foreign_keys=OFF")
        waiting = [r for table in SYNCED_TABLES for r in chosen[table]]
        errors: dict[tuple[str, str], str | ValueError | TypeError] = {}
        while waiting:
            refused = []
            for record in waiting:
                try:
                    with connection.begin_nested():
                        self._write_records(connection, record.table, [(record.id, record.version, record.record)],
                                            hlc={record.id: (record.updated_hlc, record.updated_by)}, revive=revive)
                except sa.exc.IntegrityError as exc:
                    refused.append(record)
                    errors[(record.table, record.id)] = str(exc.orig)
                except (ValueError, TypeError) as exc:  # a value that is not of its column's type
                    refused.append(record)
                    errors[(record.table, record.id)] = exc
            if len(refused) == len(waiting):
                break
            waiting = refused
        return {(r.table, r.id): (r, *quarantine.diagnose(connection, r, errors[(r.table, r.id)])) for r in waiting}

    def _apply_pulled_table(self, connection: Connection, table: str, fresh: list[PulledRecord], digest: Digest,
                            held: dict[tuple[str, str], Any], revive: bool, write: bool) -> Digest:
        fresh = [r for r in fresh if (table, r.id) not in held]
        if not fresh:
            return digest
        ids = [r.id for r in fresh]
        bases = load_bases(connection, table, ids)
        upsert_bases(connection, _server_bases(table, fresh))
        for r in fresh:
            digest = self._fold(digest, table, r.id, bases.get(r.id), r.version, r.record)
        if write:
            self._write_records(connection, table, [(r.id, r.version, r.record) for r in fresh],
                                hlc={r.id: (r.updated_hlc, r.updated_by) for r in fresh}, revive=revive)
        connection.execute(sa.text("DELETE FROM sync_issue WHERE tbl = :t AND row_id = :r"),
                           [{"t": table, "r": row_id} for row_id in ids])
        quarantine.release(connection, table, ids)
        return digest

    def _write_records(self, connection: Connection, table_name: str, records: list[tuple[str, int, dict[str, Any]]],
                       hlc: dict[str, tuple[str, str]] | None = None, revive: bool = False) -> None:
        """Upsert server records into local rows; a tombstone for a row this store no longer has stays away
        (unless ``revive``: asked for because a row refers to it)."""
        if not records:
            return
        table = table_of(table_name)
        existing = self._existing_ids(connection, table_name, [r[0] for r in records])
        rows = []
        for row_id, version, record in records:
            if record.get("deleted") and row_id not in existing and not revive:
                continue
            values = from_wire(table_name, record) | {"id": row_id, "version": version,
                                                      "sync_state": SyncState.SYNCED.value}
            if hlc and row_id in hlc:
                values |= {"updated_hlc": hlc[row_id][0], "updated_by": hlc[row_id][1]}
            rows.append(values)
        # One executemany per set of columns (records of a table carry the same ones), not a statement per row.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for values in rows:
            groups[tuple(values)].append(values)
        for names, group in groups.items():
            statement = sqlite_insert(table)
            update = {k: statement.excluded[k] for k in names if k != "id"}
            connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=update), group)

    # ---- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def _pending_ids(connection: Connection, table: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(ids):
            if not any_in_id_range(connection, "change_log", table, part):
                continue
            found.update(row[0] for row in driver_rows(
                connection, f"SELECT DISTINCT row_id FROM change_log WHERE tbl = ? AND row_id IN ({marks(part)})",
                (table, *part)))
        return found

    def _missing_ids(self, connection: Connection, table: str, ids: list[str]) -> set[str]:
        return set(ids) - self._existing_ids(connection, table, ids)

    @staticmethod
    def _existing_ids(connection: Connection, table: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(ids):
            found.update(row[0] for row in driver_rows(connection, f"SELECT id FROM {table} WHERE id IN ({marks(part)})",
                                                       tuple(part)))
        return found

    def _unfold(self, digest: Digest, table: str, row_id: str, old: tuple[int, dict[str, Any]] | None) -> Digest:
        """Take a row out of the county's digest (its sync base is forgotten)."""
        if old is None or old[0] <= 0 or old[1].get("county_code") != self.county:
            return digest
        return digest[0] - 1, digest[1] ^ row_hash(table, row_id, old[0], old[1])

    def _fold(self, digest: Digest, table: str, row_id: str, old: tuple[int, dict[str, Any]] | None,
              version: int, record: dict[str, Any]) -> Digest:
        """Move a row from its old base version to ``version`` in the county's digest (row count, XOR)."""
        if record.get("county_code") != self.county:
            return digest
        count, value = digest
        if old is not None and old[0] > 0 and old[1].get("county_code") == self.county:
            value ^= row_hash(table, row_id, old[0], old[1])
        else:
            count += 1
        return count, value ^ row_hash(table, row_id, version, record)

    def _digest_state(self, connection: Connection) -> Digest:
        rows = dict(connection.execute(sa.text(
            "SELECT key, value FROM sync_checkpoint WHERE key IN ('digest', 'digest_rows')")).all())
        return int(rows.get("digest_rows", 0)), int(rows.get("digest", DIGEST_ZERO), 16)

    def _save_digest(self, connection: Connection, digest: Digest) -> None:
        self.set_checkpoints(connection, digest_rows=str(digest[0]), digest=digest_xor(DIGEST_ZERO, digest[1]))

    def digest(self) -> tuple[int, str]:
        """(row count, digest) of the county partition as this store holds it: the XOR of ``row_hash`` (table,
        id, version, canonical content) of its synced rows, kept as rows are written, after ``recheck``."""
        self.recheck()
        with self.store.engine.connect() as connection:
            count, value = self._digest_state(connection)
        return count, digest_xor(DIGEST_ZERO, value)

    def recheck(self) -> int:
        """Fold into the digest the rows edited behind the change log's back (at the ``sqlite3`` prompt with
        ``sync_guard.active`` set: a trigger notes them in ``row_recheck``, migration 0011) as they are now, so
        the digest disagrees with the server's and the re-diff gives them the server's values again. A row
        with a change waiting is left to its push. Returns how many rows differ from their sync base."""
        diverged = 0
        with self.store.engine.connect() as connection:  # the common case: nothing noted, and no write
            if not driver_rows(connection, "SELECT 1 FROM row_recheck LIMIT 1", ()):
                return 0
        with self.store.engine.begin() as connection:
            marks = driver_rows(connection, "DELETE FROM row_recheck RETURNING tbl, row_id", ())
            if not marks:
                return 0
            connection.exec_driver_sql(FIGURES_CHANGED)  # row_recheck's entries were part of their fingerprint
            digest = self._digest_state(connection)
            by_table: dict[str, list[str]] = defaultdict(list)
            for table, row_id in marks:
                if table in SYNCED_TABLES:
                    by_table[table].append(row_id)
            for table, ids in by_table.items():
                pending = self._pending_ids(connection, table, ids)
                bases = load_bases(connection, table, ids)
                local = load_rows(connection, table, ids)
                for row_id in ids:
                    old = bases.get(row_id)
                    if row_id in pending or old is None or old[0] <= 0 or old[1].get("county_code") != self.county:
                        continue
                    was, now = row_hash(table, row_id, old[0], old[1]), row_hash(table, row_id, old[0], local.get(row_id, {}))
                    if was != now:
                        digest = digest[0], digest[1] ^ was ^ now
                        diverged += 1
            self._save_digest(connection, digest)
        return diverged

    def recompute_digest(self) -> tuple[int, str]:
        """The digest rebuilt from the sync base (after a re-diff), and saved."""
        with self.store.applying_remote_changes() as connection:
            count, value = 0, DIGEST_ZERO
            rows = connection.execute(sa.text(
                "SELECT tbl, row_id, version, data FROM sync_base WHERE version > 0 "
                "AND json_extract(data, '$.county_code') = :c"), {"c": self.county})
            for table, row_id, version, data in rows:
                value = digest_xor(value, row_hash(table, row_id, version, orjson.loads(data)))
                count += 1
            self._save_digest(connection, (count, int(value, 16)))
        return count, value

    def base_hashes(self, table: str, after: str, until: str | None) -> dict[str, tuple[int, int]]:
        """(id → (base version, content hash)) of this county's rows of a table in an id range (for the
        re-diff): the hash of the row as it is here, or of its sync base while a change of it waits."""
        query = ("SELECT row_id, version, data FROM sync_base WHERE tbl = :t AND row_id > :a AND version > 0 "
                 "AND json_extract(data, '$.county_code') = :c")
        params: dict[str, Any] = {"t": table, "a": after, "c": self.county}
        if until is not None:
            query += " AND row_id <= :u"
            params["u"] = until
        with self.store.engine.connect() as connection:
            bases = {row_id: (version, data) for row_id, version, data in connection.execute(sa.text(query), params)}
            ids = list(bases)
            pending = self._pending_ids(connection, table, ids)
            local = load_rows(connection, table, [row_id for row_id in ids if row_id not in pending])
        return {row_id: (version, row_hash(table, row_id, version,
                                           local[row_id] if row_id in local else orjson.loads(data)))
                for row_id, (version, data) in bases.items()}

    def unstamped_bases(self) -> bool:
        """Whether a sync base of a synced version has no stamp (written before stamps were kept)."""
        with self.store.engine.connect() as connection:
            return bool(driver_rows(connection, "SELECT 1 FROM sync_base WHERE stamp = '' AND version > 0 LIMIT 1", ()))

    def fill_stamps(self, table: str, page: RediffPage) -> int:
        """Give the page's rows whose sync base has no stamp the server's stamp of their version: only where the
        server holds the very version the base is (the same number and content hash: the same write, or one that
        made the same row); a row the server holds otherwise keeps no stamp, as before. How many were given one."""
        # (a page whose lists differ in length is no answer of a server: zip's ValueError, ``fill_stamps``' to note)
        server = {row_id: (version, digest, stamp) for (row_id, version), digest, stamp
                  in zip(page.rows, page.hashes, page.stamps, strict=True) if stamp}
        ids = list(server)
        if not ids:
            return 0
        filled: list[tuple[str, str, str, int]] = []
        with self.store.driver_transaction() as driver:
            for part in chunks(ids):
                for row_id, version, data in driver.execute(
                        "SELECT row_id, version, data FROM sync_base WHERE tbl = ? AND stamp = '' AND version > 0 "
                        f"AND row_id IN ({marks(part)})", (table, *part)).fetchall():
                    known = server.get(row_id)
                    if known is not None and known[0] == version and \
                            known[1] == f"{row_hash(table, row_id, version, orjson.loads(data)):016x}":
                        filled.append((known[2], table, row_id, version))
            driver.executemany("UPDATE sync_base SET stamp = ? WHERE tbl = ? AND row_id = ? AND version = ? "
                               "AND stamp = ''", filled)
        return len(filled)

    def base_stamps(self, table: str, ids: list[str]) -> dict[str, str]:
        """The stamps of rows' sync bases, where known (the stamps alone: no base's record is read)."""
        stamps: dict[str, str] = {}
        with self.store.engine.connect() as connection:
            for part in chunks(ids):
                stamps.update(driver_rows(connection, "SELECT row_id, stamp FROM sync_base WHERE tbl = ? AND stamp != '' "
                                                      f"AND row_id IN ({marks(part)})", (table, *part)))
        return stamps

    def rebase(self, table: str, records: list[PulledRecord]) -> None:
        """Rows this store synced at a later version than the server now holds (its database was put back from an
        older backup, and the versions after it are gone there): the server's record becomes each row's sync
        base and the row is queued, so the next push sends it as an edit of what the server holds. What the
        server lost comes back as an edit of its row, applied as any edit is. (Sent whole, as new, it met the
        server's older row as an edit on no common base: a conflict for every field it had changed, and the
        county showed the older values until the city decided.)"""
        if not records:
            return
        with self.store.applying_remote_changes() as connection:
            upsert_bases(connection, _server_bases(table, records))
            _queue(connection, table, [r.id for r in records])

    def requeue(self, table: str, ids: list[str]) -> None:
        """Rows the server lacks although this store thinks it has them: send them again as new."""
        if not ids:
            return
        with self.store.applying_remote_changes() as connection:
            connection.exec_driver_sql("DELETE FROM sync_base WHERE tbl = ? AND row_id = ?", [(table, i) for i in ids])
            _queue(connection, table, ids)
