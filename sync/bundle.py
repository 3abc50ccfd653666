"""Sync bundles: offline sync by file (USB stick, file transfer) for counties without a usable connection.

A bundle is one line of JSON (the header: format, kind, node identity, county, size and SHA-256 of the
body) followed by the body, the same JSON the online protocol carries:

- ``push`` (county → city): the county's pending changes as push batches, plus its pull checkpoint.
  The city imports it with the same merge code as an online push (``apply_push``), so importing the same
  bundle twice changes nothing: its batch ids get their stored answers back.
- ``return`` (city → county): the answers to those batches and everything that changed for the county
  since its checkpoint (the city's decisions included); the county applies it like a sync's answers and pull.

A truncated or altered file fails its size or checksum check and is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schema.store import Store
from sync.auth import Caller
from sync.changes import Cursor, build_batch, pending_rows
from sync.client import SyncClient, SyncSummary
from sync.errors import IncompatibleVersion, SyncError
from sync.protocol import MAX_BATCH_CHANGES, PROTOCOL_VERSION, PulledRecord, PushRequest, PushResponse
from sync.pull import read_pull
from sync.push import apply_push
from sync.replica import Replica
from sync.serverdb import ServerDB, schema_version

FORMAT = "stvs-bundle"
FORMAT_VERSION = 1
PUSH, RETURN = "push", "return"
EXPORTED_KEY = "bundle_batch:"  # county checkpoint key prefix: a batch written to a bundle, awaiting its answer
PULL_PAGE = 5000


class BundleError(SyncError):
    """A bundle file that cannot be used: unreadable, truncated, altered, of another kind or version."""


@dataclass
class Bundle:
    kind: str
    node_id: str
    county_code: str
    body: dict[str, Any]
    created_at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))


def write_bundle(bundle: Bundle, path: Path) -> None:
    """Write atomically (a half-written file never replaces a good one), readable by the owner only."""
    body = json.dumps(bundle.body, ensure_ascii=False, separators=(",", ":")).encode()
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": bundle.kind, "node_id": bundle.node_id,
              "county_code": bundle.county_code, "created_at": bundle.created_at, "schema_version": schema_version(),
              "body_bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=".stvs-bundle-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(json.dumps(header, ensure_ascii=False).encode() + b"\n" + body)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_bundle(path: Path) -> Bundle:
    """Read and check a bundle; raises ``BundleError`` saying what is wrong with it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(f"无法读取同步包 {path} (cannot read the bundle: {exc.strerror})") from None
    head, _, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError
    except ValueError:
        raise BundleError(f"{path} 不是 stvs-tui 同步包 (not an stvs-tui bundle)") from None
    if header.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"同步包格式版本 {header.get('format_version')} 不受支持 (unsupported bundle format)")
    if len(body) != header.get("body_bytes"):
        raise BundleError(f"同步包不完整（应有 {header.get('body_bytes')} 字节，实有 {len(body)} 字节），可能被截断 "
                          "(the bundle is truncated: copy it again)")
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise BundleError("同步包校验和不符，内容已被改动或损坏 (checksum mismatch: the bundle was altered or damaged)")
    if header.get("schema_version") != schema_version():
        raise IncompatibleVersion(f"同步包的数据结构版本 {header.get('schema_version')} 与本程序 {schema_version()} 不同，"
                                  "请两端使用同一版本 stvs-tui (bundle from another schema version)")
    return Bundle(header["kind"], header["node_id"], header["county_code"], json.loads(body), header["created_at"])


# ---- county: export pending changes, apply a return bundle --------------------------------------------------


def export_push_bundle(store: Store, path: Path) -> int:
    """Write the store's pending changes to ``path``; return how many. They stay pending until the
    return bundle (or an online sync) brings the city's answers."""
    replica = Replica(store)
    clock = replica.clock()
    batches: list[dict[str, Any]] = []
    cursor = Cursor()
    while True:
        with store.engine.connect() as connection:
            pending = pending_rows(connection, cursor, MAX_BATCH_CHANGES)
            batch = build_batch(connection, pending, replica.node, clock)
        if not pending:
            break
        if batch.changes:
            batches.append(PushRequest(node_id=replica.node, protocol_version=PROTOCOL_VERSION,
                                       schema_version=schema_version(), batch_id=f"bundle-{_batch_key(batch.changes)}",
                                       changes=batch.changes).model_dump(mode="json"))
    pull_since = {key.removeprefix("pull_since:"): int(value) for key, value in _checkpoints(store, "pull_since:")}
    write_bundle(Bundle(PUSH, replica.node, store.county_code, {"batches": batches, "pull_since": pull_since}), path)
    replica.save_checkpoints(hlc=str(clock.last), **{f"{EXPORTED_KEY}{b['batch_id']}": json.dumps(b["changes"])
                                                     for b in batches})
    return sum(len(b["changes"]) for b in batches)


def _batch_key(changes: list[dict[str, Any]]) -> str:
    """The same pending changes always make the same batch id, so a re-exported bundle is recognised."""
    return hashlib.sha256("\n".join(c["change_id"] for c in changes).encode()).hexdigest()[:32]


def _checkpoints(store: Store, prefix: str) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        return [(k, v) for k, v in connection.execute(
            sa.text("SELECT key, value FROM sync_checkpoint WHERE key LIKE :p"), {"p": f"{prefix}%"}).all()]


def apply_return_bundle(store: Store, bundle: Bundle) -> SyncSummary:
    """Apply the city's answers and changes to the county store, as an online sync would."""
    if bundle.kind != RETURN:
        raise BundleError("这是县里导出的上传包，应在市里导入 (this is a county's upload bundle: import it at the city)")
    if bundle.county_code != store.county_code or bundle.node_id != store.node_id:
        raise BundleError(f"此回传包属于 {bundle.county_code} 的另一台设备 (this return bundle is for another device)")
    replica, summary = Replica(store), SyncSummary(server_url="bundle")
    exported = dict(_checkpoints(store, EXPORTED_KEY))
    for answer in bundle.body["answers"]:
        response = PushResponse.model_validate(answer)
        key = f"{EXPORTED_KEY}{response.batch_id}"
        if key not in exported:
            continue  # answered already (the same return bundle applied twice)
        replica.apply_results(response.batch_id, json.loads(exported[key]), response.results)
        _drop_checkpoint(store, key)
        SyncClient._count(response, summary)  # counted as an online sync counts
    records = [PulledRecord.model_validate(r) for r in bundle.body["pull"]["changes"]]
    outcome = replica.apply_pulled(records, bundle.body["pull"]["next_since"], bundle.body["pull"]["server_id"])
    summary.pulled, summary.skipped_pending = outcome.applied, outcome.skipped_pending
    return summary


def _drop_checkpoint(store: Store, key: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM sync_checkpoint WHERE key = :k"), {"k": key})


# ---- city: import a county's bundle, write its return bundle ----------------------------------------------


@dataclass
class ImportResult:
    summary: SyncSummary
    return_bundle: Bundle


def import_push_bundle(db: ServerDB, bundle: Bundle) -> ImportResult:
    """Merge a county's bundle with the same code as an online push; make the return bundle for it."""
    if bundle.kind != PUSH:
        raise BundleError("这是市里的回传包，应在县里导入 (this is a return bundle: import it on the county's device)")
    caller = Caller(token_id=f"bundle:{bundle.node_id}"[:36], county_code=bundle.county_code, is_admin=False)
    summary = SyncSummary(server_url="bundle")
    answers = []
    for batch in bundle.body["batches"]:
        request = PushRequest.model_validate(batch)
        if request.node_id != bundle.node_id:
            raise BundleError("同步包内批次的设备与包头不符 (a batch names another device than the bundle)")
        response = apply_push(db, caller, request)
        SyncClient._count(response, summary)  # counted as an online sync counts
        answers.append(response.model_dump(mode="json"))
    since = int(bundle.body.get("pull_since", {}).get(db.server_id, 0))
    changes, next_since = _pull_all(db, caller, bundle.node_id, since)
    summary.pulled = len(changes)
    body = {"answers": answers, "pull": {"server_id": db.server_id, "changes": changes, "next_since": next_since}}
    return ImportResult(summary, Bundle(RETURN, bundle.node_id, bundle.county_code, body))


def _pull_all(db: ServerDB, caller: Caller, node_id: str, since: int) -> tuple[list[dict[str, Any]], int]:
    changes: list[dict[str, Any]] = []
    while True:
        page = read_pull(db, caller, node_id, since, PULL_PAGE)
        changes.extend(c.model_dump(mode="json") for c in page.changes)
        since = page.next_since
        if not page.has_more:
            return changes, since
