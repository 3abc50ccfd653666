"""Sync bundles: offline sync by file (USB stick, file transfer) for counties without a usable connection.

A bundle is one line of JSON (the header: format, kind, node identity, county, size and SHA-256 of the
body, who signed it and the Ed25519 signature of the rest of the header) followed by the body, the same
JSON the online protocol carries:

- ``push`` (county → city): the county's pending changes as push batches, plus its pull checkpoint, signed by
  the county device's key. The city imports it with the same merge code as an online push (``apply_push``),
  so importing the same bundle twice changes nothing: its batch ids get their stored answers back.
- ``return`` (city → county): the answers to those batches and everything that changed for the county
  since its checkpoint (the city's decisions included), signed by the city's key; the county applies it
  like a sync's answers and pull.

A checksum alone proves nothing (anyone can recompute one). Before anything is written a bundle is
refused (``BundleRefused``, saying which check failed and why) when its signature fails, its signer is
unknown to the importer or revoked, it carries a record of a county other than its signer's, or (a return
bundle) a record of a county other than the importing store's. A truncated file fails its size check.
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

from schema.identity import SigningKey, signature_valid
from schema.models import CITY_CODE
from schema.paths import os_reason, output_problem
from schema.store import Store
from sync.auth import Caller
from sync.bulk import rows_in
from sync.changes import Cursor, build_batch, pending_rows
from sync.client import SyncClient, SyncSummary
from sync.errors import IncompatibleVersion, SyncError
from sync.identity import check_file_identity, is_this_store
from sync.keys import RegisteredKey, canonical, fingerprint, registered_key, trusted_city_key
from sync.protocol import MAX_BATCH_CHANGES, PROTOCOL_VERSION, PulledRecord, PushRequest, PushResponse
from sync.pull import read_pull
from sync.push import apply_push
from sync.records import table_of
from sync.replica import Replica
from sync.serverdb import ServerDB, schema_version

FORMAT = "stvs-bundle"
FORMAT_VERSION = 2  # 2: signed (1 had a checksum only)
PUSH, RETURN = "push", "return"
EXPORTED_KEY = "bundle_batch:"  # county checkpoint key prefix: a batch written to a bundle, awaiting its answer
PULL_PAGE = 5000


class BundleError(SyncError):
    """A bundle file that cannot be used: unreadable, truncated, altered, of another kind or version."""


class BundleRefused(BundleError):
    """A whole bundle that is refused before anything is written; ``check`` names which check failed:
    ``signature``, ``unknown_signer``, ``revoked_signer``, ``signer_county`` (a record of another county than
    the signer's), ``store_county`` (a return bundle's record of another county than this store's)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"同步包被拒绝 (bundle refused, {check}): {message}")
        self.check = check


@dataclass
class Bundle:
    kind: str
    node_id: str
    county_code: str
    body: dict[str, Any]
    created_at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    signer: str = ""
    header: dict[str, Any] = field(default_factory=dict)  # as read, for the signature check


def write_bundle(bundle: Bundle, path: Path, key: SigningKey) -> None:
    """Write atomically (a half-written file never replaces a good one), readable by the owner only, signed
    with ``key`` (the county node's for a push bundle, the city's for a return bundle)."""
    body = json.dumps(bundle.body, ensure_ascii=False, separators=(",", ":")).encode()
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": bundle.kind, "node_id": bundle.node_id,
              "county_code": bundle.county_code, "created_at": bundle.created_at, "schema_version": schema_version(),
              "body_bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(), "signer": key.signer}
    header["signature"] = key.sign(_signed_part(header))
    path = Path(path)
    problem = output_problem(path)
    if problem:
        raise BundleError(problem)
    try:
        handle, temp = tempfile.mkstemp(prefix=".stvs-bundle-", dir=path.parent)
    except OSError as exc:
        raise BundleError(f"{path.parent}: 无法写入 (cannot write there): {os_reason(exc)}") from None
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
        raise BundleError(f"无法读取同步包 (cannot read the bundle) {path}: {os_reason(exc)}") from None
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
    try:
        content = json.loads(body)
        return Bundle(str(header["kind"]), str(header["node_id"]), str(header["county_code"]), content,
                      str(header["created_at"]), str(header.get("signer", "")), header)
    except (ValueError, KeyError):
        raise BundleError(f"{path}: 同步包内容无法读取 (the bundle's header or body is not what stvs-tui writes)") from None


def _signed_part(header: dict[str, Any]) -> bytes:
    """What the signature covers: every header field but the signature (the body through its SHA-256)."""
    return b"stvs-bundle\n" + canonical({k: v for k, v in header.items() if k != "signature"})


def _signed_by(bundle: Bundle, public_key: str) -> bool:
    return signature_valid(public_key, str(bundle.header.get("signature", "")), _signed_part(bundle.header))


# ---- county: export pending changes, apply a return bundle --------------------------------------------------


def export_push_bundle(store: Store, path: Path) -> int:
    """Write the store's pending changes to ``path``; return how many. They stay pending until the
    return bundle (or an online sync) brings the city's answers."""
    check_file_identity(store)  # a copied store exports as a new node (sync.identity)
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
    write_bundle(Bundle(PUSH, replica.node, store.county_code, {"batches": batches, "pull_since": pull_since}), path,
                 store.identity)
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
    if bundle.county_code != store.county_code or not is_this_store(store, bundle.node_id):
        raise BundleError(f"此回传包属于 {bundle.county_code} 的另一台设备 (this return bundle is for another device)")
    check_return_bundle(store, bundle)
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


def check_return_bundle(store: Store, bundle: Bundle) -> None:
    """Refuse a return bundle not signed by this store's city, or carrying another county's record."""
    city_key = trusted_city_key(store)
    if not city_key:
        raise BundleRefused("unknown_signer", "本机还不知道市里的公钥：请先在线同步一次，或运行 stvs-tui bundle trust-city "
                            "(this store does not know its city's key yet: sync online once, or run "
                            "`stvs-tui bundle trust-city FILE|KEY` with what the city gave you)")
    if not _signed_by(bundle, city_key):
        raise BundleRefused("signature", f"回传包不是本市签发的，或已被改动 (the return bundle is not signed by this "
                            f"store's city, key {fingerprint(city_key)}, or was altered after signing; "
                            f"it names signer {bundle.signer or '-'})")
    allowed = {store.county_code, CITY_CODE}
    for table, row_id, county in _return_records(bundle):
        if county not in allowed:
            raise BundleRefused("store_county", f"回传包含有 {county} 的记录 {table} {row_id}，不属于本县 {store.county_code} "
                                f"(a record of county {county}, not this store's)")


def _return_records(bundle: Bundle) -> list[tuple[str, str, str]]:
    """(table, id, county) of every record a return bundle would write: pulled rows and answers' rows."""
    found = [(r.get("table", ""), r.get("id", ""), str((r.get("record") or {}).get("county_code", "")))
             for r in bundle.body.get("pull", {}).get("changes", [])]
    found += [(r.get("table", ""), r.get("id", ""), str(r["record"].get("county_code", "")))
              for answer in bundle.body.get("answers", []) for r in answer.get("results", []) if r.get("record")]
    return found


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
    signer = check_county_bundle(db, bundle)
    requests = [PushRequest.model_validate(batch) for batch in bundle.body["batches"]]
    if any(request.node_id != bundle.node_id for request in requests):
        raise BundleError("同步包内批次的设备与包头不符 (a batch names another device than the bundle)")
    _check_records_county(db, signer, requests)
    caller = Caller(token_id=(signer.token_id or f"bundle:{bundle.node_id}")[:36], county_code=signer.county_code,
                    is_admin=False)
    summary = SyncSummary(server_url="bundle")
    answers = []
    for request in requests:
        response = apply_push(db, caller, request)
        SyncClient._count(response, summary)  # counted as an online sync counts
        answers.append(response.model_dump(mode="json"))
    since = int(bundle.body.get("pull_since", {}).get(db.server_id, 0))
    changes, next_since = _pull_all(db, caller, bundle.node_id, since)
    summary.pulled = len(changes)
    body = {"answers": answers, "pull": {"server_id": db.server_id, "changes": changes, "next_since": next_since}}
    return ImportResult(summary, Bundle(RETURN, bundle.node_id, bundle.county_code, body))


def check_county_bundle(db: ServerDB, bundle: Bundle) -> RegisteredKey:
    """The registered, unrevoked device that signed this bundle, for the county the bundle names; else refused."""
    with db.read() as connection:
        signer = registered_key(connection, bundle.node_id)
    if signer is None or bundle.signer != bundle.node_id:
        raise BundleRefused("unknown_signer", f"设备 {bundle.node_id} 未在市里登记：请县里运行 stvs-tui bundle enrol，"
                            f"市里用 stvs-tui node enrol 导入 (device {bundle.node_id} is not registered with the city: "
                            "it syncs online once, or the city imports its enrolment file)")
    if not _signed_by(bundle, signer.public_key):
        raise BundleRefused("signature", f"签名不符：同步包不是设备 {bundle.node_id} 签发的，或签名后被改动 (the signature "
                            f"fails for device {bundle.node_id}, key {fingerprint(signer.public_key)}: forged, or "
                            "altered after signing)")
    if signer.revoked_at is not None:
        raise BundleRefused("revoked_signer", f"设备 {bundle.node_id} 已于 {signer.revoked_at:%Y-%m-%d} 注销 (this device "
                            f"was revoked: {signer.revoked_reason or 'no reason given'})")
    if bundle.county_code != signer.county_code:
        raise BundleRefused("signer_county", f"包头写的是 {bundle.county_code}，签名设备属于 {signer.county_code} "
                            f"(the header names county {bundle.county_code}; its signer belongs to {signer.county_code})")
    return signer


def _check_records_county(db: ServerDB, signer: RegisteredKey, requests: list[PushRequest]) -> None:
    """Every record the bundle carries, as sent and as the city holds it, is of the signer's county."""
    ids: dict[str, list[str]] = {}
    for request in requests:
        for change in request.changes:
            for side in (change.fields, change.base):
                county = side.get("county_code", signer.county_code)
                if county != signer.county_code:
                    raise BundleRefused("signer_county", f"{change.table} {change.id} 属于 {county}，签名设备属于 "
                                        f"{signer.county_code} (a record of county {county!r}, not its signer's)")
            ids.setdefault(change.table, []).append(change.id)
    with db.read() as connection:
        for table, row_ids in ids.items():
            for row_id, county in rows_in(connection, f"SELECT id, county_code FROM {table_of(table).name} WHERE id",
                                          row_ids):
                if county != signer.county_code:
                    raise BundleRefused("signer_county", f"{table} {row_id} 是 {county} 的记录，签名设备属于 "
                                        f"{signer.county_code} (the city holds this record for county {county})")


def _pull_all(db: ServerDB, caller: Caller, node_id: str, since: int) -> tuple[list[dict[str, Any]], int]:
    changes: list[dict[str, Any]] = []
    while True:
        page = read_pull(db, caller, node_id, since, PULL_PAGE)
        changes.extend(c.model_dump(mode="json") for c in page.changes)
        since = page.next_since
        if not page.has_more:
            return changes, since
