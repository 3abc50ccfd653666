"""The county's sync client: ``SyncClient(store, server_url, token).run(progress) -> SyncSummary``.

Push, then pull, then compare the county partition's digest with the server's. Every step is
resumable: a batch is written to the outbox before it is sent and resent byte for byte after a crash
(the server answers a replay from its stored answer), and the pull checkpoint moves in the same local
transaction as the rows it brought.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import orjson
from filelock import FileLock, Timeout
from pydantic import ValidationError

from schema.identity import NODE_ID_SETTING, NODE_PUBLIC_KEY_SETTING
from schema.models import SYNCED_TABLES, new_id
from schema.store import Store
from sync import quarantine
from sync.changes import Cursor, OutgoingBatch, PendingRow, build_batch, pending_rows
from sync.errors import (
    BatchMismatch,
    Forbidden,
    IncompatibleVersion,
    OutOfOrder,
    ProtocolError,
    ServerUnreachable,
    SyncError,
    TokenRefused,
)
from sync.gctune import bulk_allocation
from sync.hlc import ClockCheck, HybridClock
from sync.identity import EPOCH_KEY, check_file_identity, epoch_taken, hello_epochs, start_new_node
from sync.keys import CITY_KEY_SETTING, CITY_SERVER_SETTING, learn_city_key
from sync.protocol import (
    API_PREFIX,
    MAX_PULL_LIMIT,
    PROTOCOL_VERSION,
    FetchResponse,
    HelloResponse,
    PartitionDigest,
    PullResponse,
    PushResponse,
    RediffPage,
)
from sync.push import DIVERGED, UNKNOWN_ROW, UNKNOWN_VERSION, chunks
from sync.push_order import AFTER_HEADER, BATCH_HEADER, PIPELINE_HEADER
from sync.replica import STAMPS_FILLED, STAMPS_TRIED, Replica, later_history
from sync.resolutions import checkpoint_key, fetch_resolutions
from sync.serverdb import schema_version
from sync.transport import (
    CA_FILE_SETTING,
    INSECURE_URL_SETTING,
    certificate_problem,
    check_url,
    tls_verify,
    untrusted,
)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

RETRY_STATUSES = {500, 502, 503, 504}
JSON_CONTENT = {"Content-Type": "application/json"}
BUSY = "另一个同步正在进行 (another sync of this store is running)"
InFlight = tuple[str, list[dict[str, Any]], Future[bytes]]  # batch id, its changes, the server's answer
# Batches on the wire at once when the server keeps their order (sync.push_order): the next one is sent, and
# received by the server, while this one is applied.
PIPELINE_DEPTH = 2
DETAIL_LIMIT = 50  # rejected / conflicting records listed in a summary


@dataclass
class SyncProgress:
    """Where a running sync is: phase ``push`` / ``pull`` / ``verify``, records done, total if known."""

    phase: str
    done: int
    total: int | None = None


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncSummary:
    """What a sync did: per-record answers of the push, rows pulled, the city's decisions on this county's
    conflicts recorded (``resolutions``; why they could not be fetched in ``resolutions_error``), and the
    digest comparison."""

    server_url: str = ""
    pushed: int = 0
    applied: int = 0
    merged: int = 0
    conflicts: int = 0
    duplicates: int = 0
    rejected: int = 0
    pulled: int = 0
    skipped_pending: int = 0
    quarantined: int = 0
    resolutions: int = 0
    resolutions_error: str = ""
    digest: str = "not_compared"
    clock_skew_s: int = 0  # this device's clock minus the server's, when off by more than the bound
    clock_reset_from: str = ""  # a clock stamp left in the future (UTC), brought back to the server's time
    repaired: int = 0
    requeued: int = 0
    stamps_filled: int = 0  # sync bases written before stamps were kept, given the server's (``fill_stamps``)
    resumed_batch: bool = False
    # This store was a copy or a restored backup of that node and now syncs as a new one (sync.identity).
    former_node: str = ""
    seconds: float = 0.0
    rejected_records: list[dict[str, str]] = field(default_factory=list)
    conflict_records: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (its lists copied: a dict of text per record, copied one level, as
        ``dataclasses.asdict`` would; its deep copy was a fifth of the time a sync with nothing to do spent here)."""
        values = dict(vars(self))
        values["rejected_records"] = [dict(item) for item in self.rejected_records]
        values["conflict_records"] = [dict(item) for item in self.conflict_records]
        return values


def _tried_today() -> str:
    """The stamps' checkpoint after a server that sent none today."""
    return STAMPS_TRIED + date.today().isoformat()


class SyncClient:
    """Sync one county store with the city server."""

    def __init__(self, store: Store, server_url: str, token: str, *, batch_size: int = 2000,
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.5,
                 transport: httpx.BaseTransport | None = None, ca_file: str | None = None,
                 insecure_http: bool | None = None) -> None:
        """``ca_file`` and ``insecure_http`` default to what the store remembers (``stvs-tui sync --ca-file`` /
        ``--insecure-http`` for this URL): the TUI's sync runs with the command line's choices."""
        self.store = store
        self.server_url = server_url.rstrip("/")
        if insecure_http is None:
            insecure_http = bool(self.server_url) and store.setting(INSECURE_URL_SETTING) == self.server_url
        check_url(self.server_url, insecure_http=insecure_http)
        verify = tls_verify(store.setting(CA_FILE_SETTING) if ca_file is None else ca_file)
        self.batch_size = batch_size
        self.retries, self.backoff = retries, backoff
        # A copied store becomes a new node before anything is sent under the old id (see sync.identity).
        self.former_node = check_file_identity(store)
        self.replica = Replica(store)
        self.http = _HttpClient(base_url=self.server_url, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                 headers={"Authorization": f"Bearer {token}", "User-Agent": "stvs-tui-sync"},
                                 transport=transport, verify=verify)
        self.clock = self.replica.clock()
        self.clock_check: ClockCheck | None = None
        self._urls: dict[str, httpx.URL] = {}
        # Whether the server said it keeps a pipelined push's order (its hello's PIPELINE_HEADER): then up to
        # PIPELINE_DEPTH batches go on the wire at once.
        self.pipelined = False

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- the whole sync -----------------------------------------------------------------------------------

    def run(self, progress: ProgressCallback | None = None) -> SyncSummary:
        """Push, pull, verify. Raises a ``SyncError`` when the server cannot be used at all."""
        report = progress or (lambda _p: None)
        started = time.monotonic()
        summary = SyncSummary(server_url=self.server_url)
        with self._exclusive():
            probe, known = self._noop_probe()
            hello = self.hello(probe, known)
            if hello.up_to_date:  # nothing to push, pull, fetch or repair: this sync was the hello alone
                summary.digest = "match"
                return self._finish_run(summary, started, **{f"pull_since:{hello.server_id}": str(hello.pull_since)})
            unstamped = self._unstamped_bases()
            with bulk_allocation():
                self.push(summary, report)
            since, partition = self.pull(hello.server_id, summary, report)
            self.retry_quarantine(hello.server_id, summary)
            self.fetch_resolutions(hello.server_id, summary)
            self.verify(hello.server_id, since, partition, summary, report)
            return self._finish_run(summary, started, **{self._server_key: hello.server_id},
                                    **self._stamps_checkpoint(unstamped, summary))

    def _unstamped_bases(self) -> bool | None:
        """Whether sync bases wait for their stamps (``fill_stamps``); None when not to be asked now: filled, or a
        server that sent none was asked today. (Asked before the push: a new store has no bases yet, and the
        answer is then at once.)"""
        state = self.replica.checkpoint(STAMPS_FILLED, "")
        if state and not (state.startswith(STAMPS_TRIED) and state != _tried_today()):
            return None
        return self.replica.unstamped_bases()

    def _stamps_checkpoint(self, unstamped: bool | None, summary: SyncSummary) -> dict[str, str]:
        """The stamps' checkpoint after a whole sync (``fill_stamps``'s value; "1" when no base waited); nothing
        when not asked. The fill is the sync's extra: a server failing it is noted as one sending no stamps is (the
        day), and never fails the sync that has done its work."""
        if unstamped is None:
            return {}
        try:
            value = self.fill_stamps(summary) if unstamped else "1"
        except (SyncError, ValidationError, ValueError):  # (as fetch_resolutions: the next day's sync asks again)
            value = _tried_today()
        return {STAMPS_FILLED: value} if value else {}

    def _finish_run(self, summary: SyncSummary, started: float, **checkpoints: str) -> SyncSummary:
        summary.former_node = self.former_node
        summary.clock_skew_s, summary.clock_reset_from = self._clock_report()
        summary.seconds = round(time.monotonic() - started, 3)
        self.replica.save_checkpoints(hlc=str(self.clock.last), last_sync_at=datetime.now().isoformat(
            timespec="seconds"), last_summary=json.dumps(summary.to_dict(), ensure_ascii=False), **checkpoints)
        return summary

    @property
    def _server_key(self) -> str:
        """The checkpoint naming the server this URL answered as at the last full sync (for the no-op probe)."""
        return f"server_id:{self.server_url}"

    def _noop_probe(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Where this store stands, for a hello that may settle the whole sync (``NoopProbe``), and the settings
        that hello needs, read with it in one transaction; (None, {}) when it has something to push or hold
        back, or has not synced with this server before."""
        if self.former_node or self.replica.resend:
            return None, {}
        state = self.replica.noop_state(self._server_key)
        if state is None:
            return None, {}
        server_id = state[self._server_key]
        probe = {"server_id": server_id, "pull_since": int(state[f"pull_since:{server_id}"]),
                 "row_count": int(state["digest_rows"]), "digest": state["digest"],
                 "resolutions_after": state.get(checkpoint_key(server_id), "")}
        return probe, state

    def _clock_report(self) -> tuple[int, str]:
        """(this device's clock minus the server's, in seconds, when beyond the bound; the stamp brought back)."""
        check = self.clock_check
        if check is None:
            return 0, ""
        skew = round(check.skew_ms / 1000) if check.off else 0
        reset = "" if check.clamped_from_ms is None else \
            datetime.fromtimestamp(check.clamped_from_ms / 1000, tz=UTC).isoformat(timespec="seconds")
        return skew, reset

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One sync per store at a time (the TUI and a scheduled ``stvs-tui sync`` may both try)."""
        if self.store.path is None:
            yield
            return
        path = self.store.path.with_name(self.store.path.name + ".sync-lock")
        if fcntl is None:
            # filelock: an OS lock on Windows too (fcntl exists on Linux and macOS only).
            lock = FileLock(path)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise SyncError(BUSY) from None
            try:
                yield
            finally:
                lock.release()
            return
        # Where there is fcntl, its flock directly: the lock filelock takes there (so the two exclude each
        # other), at 7 µs instead of filelock's 300, a tenth of a sync with nothing to do.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncError(BUSY) from None
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def hello(self, probe: dict[str, Any] | None = None, known: dict[str, str] | None = None) -> HelloResponse:
        """Versions, the server's time, and this store's history: a copy or a restored backup of a node whose
        history went on elsewhere is answered "copied" and continues as a new node (``sync.identity``).
        With ``probe`` (``_noop_probe``), the server may answer that there is nothing else to do; ``known``:
        the settings read with the probe (``Replica.noop_state``), so that hello reads none again."""
        known = known or {}
        for _attempt in range(2):  # a new node id is unknown to the server: the second hello is "ok"
            if probe is not None and EPOCH_KEY in known:  # a probe has nothing to push: no new epoch to propose
                current, proposed = known[EPOCH_KEY], ""
            else:
                current, proposed = hello_epochs(self.store, pushing=probe is None and self.replica.has_pending())
            body = {"node_id": self.replica.node, "protocol_version": PROTOCOL_VERSION,
                    "schema_version": schema_version(),
                    "public_key": (known.get(NODE_PUBLIC_KEY_SETTING) if known.get(NODE_ID_SETTING) == self.replica.node
                                   else "") or self.store.identity.public_key,
                    "store_epoch": current, "next_epoch": proposed}
            response = self._say_hello(body, probe)
            hello = HelloResponse.model_validate_json(response.content)
            self.pipelined = response.headers.get(PIPELINE_HEADER) == "1"
            if hello.identity == "ok":
                break
            probe, known = None, {}  # a new node has no checkpoints to stand on, and new settings
            self._become_new_node()
        else:
            raise ProtocolError("服务器不接受本设备的新身份 (the server refused this device's new identity)")
        epoch_taken(self.store, proposed)
        self.clock_check = self.clock.anchor(hello.server_time_ms)
        self.clock.observe(hello.server_time_ms)
        if hello.city_key and (known.get(CITY_KEY_SETTING), known.get(CITY_SERVER_SETTING)) != (
                hello.city_key, hello.server_id):  # (learning the key it knows already would change nothing)
            learn_city_key(self.store, hello.server_id, hello.city_key)
        return hello

    def _say_hello(self, body: dict[str, Any], probe: dict[str, Any] | None) -> httpx.Response:
        if probe is None:
            return self._post_json("/sync/hello", body)
        try:
            return self._post_json("/sync/hello", {**body, "noop_probe": probe})
        except ProtocolError as exc:
            if not str(exc).startswith("HTTP 422"):
                raise
            # A server from before the probe refuses the unknown key: the same hello without it.
            return self._post_json("/sync/hello", body)

    def _become_new_node(self) -> None:
        former = start_new_node(self.store)
        self.former_node = self.former_node or former
        self.replica = Replica(self.store)
        self.clock = HybridClock(self.replica.node, self.clock.last)

    # ---- push ---------------------------------------------------------------------------------------------

    def push(self, summary: SyncSummary, report: ProgressCallback) -> None:
        """Send the pending rows batch by batch, keeping both sides busy: the next batch is built and put
        in the outbox while the server works on this one, and sent as soon as this one is answered, so the
        server merges it while this one's answer is written here. When the server keeps a pipelined push's
        order (``sync.push_order``), the next batch is sent before this one is answered: up to
        ``PIPELINE_DEPTH`` on the wire, each naming the one it follows, so the server goes from one to the
        next without waiting for the wire.

        The server applies the batches of a node one at a time and in order, parents before children: a batch
        is sent only after the one before was answered, or (pipelined) is applied only if the one it follows
        was. Every batch is in the outbox before it is sent and leaves it with its answer applied, so a crash
        leaves at most ``PIPELINE_DEPTH`` + 1 batches there, resent in order, one at a time, by the next sync (the
        server answers replays from its store).
        """
        for batch_id, payload in self.replica.outboxes():
            summary.resumed_batch = True
            answer = self._noting_refusal(batch_id, lambda payload=payload: self._post_push(_OutgoingBody(payload.encode())))
            self._finish(batch_id, orjson.loads(payload)["changes"], answer, summary)
        self._push_pending(summary, report)
        if self.replica.resend:
            # The server lacked rows this store had synced (answered ``unknown_row``): they go again, whole.
            summary.requeued += self.replica.resend
            self.replica.resend = 0
            self._push_pending(summary, report)

    def _push_pending(self, summary: SyncSummary, report: ProgressCallback) -> None:
        total = self.store.pending_change_count()
        cursor = Cursor()
        report(SyncProgress("push", 0, total))
        depth = PIPELINE_DEPTH if self.pipelined else 1
        with ThreadPoolExecutor(max_workers=PIPELINE_DEPTH, thread_name_prefix="sync-push") as sender:
            flight: deque[InFlight] = deque()  # sent, not yet answered, in the order sent
            while True:
                pending, batch = self._next_batch(cursor)
                self.replica.settle(batch.settled)
                staged = self._stage(batch.changes) if batch.changes else None
                answered, answer = None, b""
                if flight and (len(flight) >= depth or staged is None):
                    answered = flight.popleft()
                    answer = self._answer(answered)
                    if answer is None:
                        # Sent before the batch it follows was applied (another server process took that one,
                        # say): it and the batches sent after it go again, one at a time, as does the rest.
                        depth = 1
                        for item in (answered, *flight):
                            again = None if item is answered else self._answer(item)
                            self._finish(item[0], item[1], self._resend(item) if again is None else again, summary)
                            report(SyncProgress("push", summary.pushed, total))
                        flight.clear()
                        answered = None
                if staged:
                    after = flight[-1][0] if flight and depth > 1 else ""
                    body = _OutgoingBody(staged[2])
                    named = staged[0] if depth > 1 else ""  # (the server knows it as running only so named)
                    flight.append((staged[0], staged[1], sender.submit(self._post_push, body, named, after)))
                    # Until the batch is on the wire the sender thread needs the interpreter now and then; taken
                    # by the answer's bookkeeping below (a pydantic parse does not let go of it), each time it
                    # waited up to a switch interval: ~4 ms a batch the server sat idle.
                    body.written.wait()
                if answered is not None:
                    self._finish(answered[0], answered[1], answer, summary)
                    report(SyncProgress("push", summary.pushed, total))
                if not pending and not flight:
                    return

    def _resend(self, item: InFlight) -> bytes:
        """A batch sent again, alone (the one before it answered): its body as kept in the outbox."""
        payload = self.replica.outbox_payload(item[0])
        return self._noting_refusal(item[0], lambda: self._post_push(_OutgoingBody(payload.encode())))

    def _answer(self, item: InFlight) -> bytes | None:
        """The server's answer to a batch sent; None when it came before the batch it follows was applied
        (``OutOfOrder``: nothing of it was stored)."""
        try:
            return self._noting_refusal(item[0], item[2].result)
        except OutOfOrder:
            return None

    def _noting_refusal(self, batch_id: str, answer: Callable[[], bytes]) -> bytes:
        """The server's answer to a batch; a refusal of the batch itself is noted on it for ``sync doctor``."""
        try:
            return answer()
        except (BatchMismatch, Forbidden, ProtocolError) as exc:
            self.replica.refuse_outbox(batch_id, " ".join(str(exc).split()))
            raise

    def _next_batch(self, cursor: Cursor) -> tuple[list[PendingRow], OutgoingBatch]:
        with self.store.engine.connect() as connection:
            pending = pending_rows(connection, cursor, self.batch_size)
            return pending, build_batch(connection, pending, self.replica.node, self.clock)

    def _stage(self, changes: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], bytes]:
        """Put a batch in the outbox (before it is sent: a crash after sending must find it there)."""
        batch_id = new_id()
        payload = orjson.dumps({"node_id": self.replica.node, "protocol_version": PROTOCOL_VERSION,
                                "schema_version": schema_version(), "batch_id": batch_id, "changes": changes})
        self.replica.put_outbox(batch_id, payload)
        return batch_id, changes, payload

    def _post_push(self, body: _OutgoingBody, batch_id: str = "", after: str = "") -> bytes:
        """Sent from the sender thread: the socket wait frees the GIL for the work here meanwhile. Pipelined
        (``sync.push_order``), the headers name the batch (``batch_id``) and the unanswered one it follows."""
        headers = {**JSON_CONTENT, "Content-Length": str(len(body.payload))}
        if batch_id:
            headers[BATCH_HEADER] = batch_id
        if after:
            headers[AFTER_HEADER] = after
        try:
            answer = self._request("POST", "/sync/push", content=body, headers=headers).content
        finally:
            body.written.set()  # (also when the request failed before the body went: no one waits forever)
        # httpx keeps a request and its response in a reference cycle, freed only by the collector's older
        # generations: the megabyte body goes now (a copy is in the outbox; a retry above used it still).
        body.payload = b""
        return answer

    def _finish(self, batch_id: str, changes: list[dict[str, Any]], body: bytes, summary: SyncSummary) -> None:
        answer = PushResponse.model_validate_json(body)
        self.replica.apply_results(batch_id, changes, answer.results)
        self.clock.observe(answer.server_time_ms)
        self._count(answer, summary)

    @staticmethod
    def _count(answer: PushResponse, summary: SyncSummary) -> None:
        for result in answer.results:
            summary.pushed += 1
            status = result.reason if result.status == "duplicate" else result.status
            if result.status == "duplicate":
                summary.duplicates += 1
            elif status == "applied":
                summary.applied += 1
            elif status == "merged":
                summary.merged += 1
            if status == "conflict" and result.status != "duplicate":
                summary.conflicts += 1
                if len(summary.conflict_records) < DETAIL_LIMIT:
                    summary.conflict_records.append({"table": result.table, "id": result.id, "reason": result.reason,
                                                     "conflict_id": result.conflict_id or ""})
            # (unknown_row, unknown_version, diverged: the row is sent again, in this sync's push)
            if result.status == "rejected" and result.reason not in (UNKNOWN_ROW, UNKNOWN_VERSION, DIVERGED):
                summary.rejected += 1
                if len(summary.rejected_records) < DETAIL_LIMIT:
                    summary.rejected_records.append({"table": result.table, "id": result.id,
                                                     "reason": result.reason, "message": result.message})

    # ---- pull ---------------------------------------------------------------------------------------------

    def pull(self, server_id: str, summary: SyncSummary,
             report: ProgressCallback) -> tuple[int, PartitionDigest | None]:
        since = int(self.replica.checkpoint(f"pull_since:{server_id}", "0"))
        while True:
            page = PullResponse.model_validate_json(self._request(
                "GET", "/sync/pull", params={"since": since, "limit": MAX_PULL_LIMIT,
                                             "node_id": self.replica.node}).content)
            outcome = self.replica.apply_pulled(page.changes, page.next_since, server_id)
            summary.pulled += outcome.applied
            summary.skipped_pending += outcome.skipped_pending
            since = page.next_since
            report(SyncProgress("pull", summary.pulled))
            if not page.has_more:
                return since, page.partition

    def retry_quarantine(self, server_id: str, summary: SyncSummary) -> None:
        """Write quarantined records again, after asking the server for the rows they refer to that this
        store lacks (a row hard-deleted here comes back as what the server has: often its tombstone). A record
        held for a value that is none (typed by hand into the city's database) is asked for again as the
        server has it now: the city puts such a value right in place, without a new version to pull."""
        invalid: dict[str, list[str]] = defaultdict(list)
        for item in quarantine.quarantined(self.store):
            if item.reason == quarantine.INVALID:
                invalid[item.table].append(item.row_id)
        summary.repaired += self._refetch(invalid, server_id, revive=True, rewrite=True)
        for _ in range(len(SYNCED_TABLES)):  # a row asked for may refer to one missing too: a level a round
            wanted = quarantine.wanted_references(self.store)
            if not wanted:
                break
            summary.repaired += self._refetch(wanted, server_id, revive=True)
            if quarantine.wanted_references(self.store) == wanted:
                break  # the server has none of them either
        held = quarantine.quarantined(self.store)
        if held:
            summary.pulled += self.replica.apply_pulled([item.record for item in held], None, server_id).applied
        summary.quarantined = quarantine.count(self.store)

    def _refetch(self, ids: dict[str, list[str]], server_id: str, *, revive: bool, rewrite: bool = False) -> int:
        """Ask the server for rows (ids by table) as it has them now and write them; how many were written."""
        written = 0
        for table, of_table in ids.items():
            for part in chunks(of_table, MAX_PULL_LIMIT):
                fetched = FetchResponse.model_validate_json(
                    self._post_json("/sync/fetch", {"table": table, "ids": part}).content)
                written += self.replica.apply_pulled(fetched.records, None, server_id, revive=revive,
                                                     rewrite=rewrite).applied
        return written

    # ---- the city's decisions ----------------------------------------------------------------------------

    def fetch_resolutions(self, server_id: str, summary: SyncSummary) -> None:
        """After the pull, which brought the resolved rows: record why the city decided as it did."""
        fetched = fetch_resolutions(self._request, self.replica, server_id)
        summary.resolutions += fetched.recorded
        summary.resolutions_error = fetched.error

    # ---- verify -------------------------------------------------------------------------------------------

    def verify(self, server_id: str, since: int, partition: PartitionDigest | None, summary: SyncSummary,
               report: ProgressCallback) -> None:
        """Compare the county partition's digest; on a mismatch re-diff table by table and repair."""
        for _ in range(3):
            if partition is None or partition.last_seq <= since:
                break
            since, partition = self.pull(server_id, summary, report)
        if partition is None or partition.last_seq > since:
            summary.digest = "deferred"
            return
        if summary.quarantined:
            # The store lacks the quarantined versions on purpose: a re-diff would only fetch them again.
            summary.digest = "quarantined"
            return
        if self.replica.digest() == (partition.row_count, partition.digest):
            summary.digest = "match"
            return
        # Whatever the reason (pending edits included: the digest is of synced versions only), a
        # disagreement is repaired now: a server that lost rows gets them again, a stale row is fetched.
        report(SyncProgress("verify", 0))
        self.rediff(server_id, summary)
        server = PartitionDigest.model_validate_json(self._request("GET", "/sync/digest").content)
        if self.replica.digest() == (server.row_count, server.digest):
            summary.digest = "repaired"
        else:
            # Rows with edits not yet accepted keep their older base until they are: not an error.
            summary.digest = "deferred" if self.store.pending_change_count() else "mismatch"

    def fill_stamps(self, summary: SyncSummary) -> str | None:
        """Once, for a store whose sync bases were written before stamps were kept: each base takes the server's
        stamp of its version where the server holds that very version (``Replica.fill_stamps``), so that a later
        sync can tell the server's other history of a row from this store's. Only after a sync that found both
        sides alike (its digest matched or was repaired), by the re-diff's pages. The checkpoint's value: "1" when
        done; the day (``_tried_today``) when the server sends no stamps (one from before them: the store keeps its
        quiet no-op syncs and asks again the next day); None when the sides were not alike (asked at the next sync)."""
        if summary.digest not in ("match", "repaired"):
            return None
        for table, _after, page in self._rediff_pages(stamps=True):
            if page.rows and not page.stamps:
                return _tried_today()
            summary.stamps_filled += self.replica.fill_stamps(table, page)
        return "1"

    def rediff(self, server_id: str, summary: SyncSummary) -> None:
        """Targeted re-diff: compare (id, version, content hash) table by table, fetch what is stale or differs,
        resend what is missing."""
        for table, after, page in self._rediff_pages():
            self._repair_page(server_id, table, after, page, summary)
        self.replica.recompute_digest()
        if summary.requeued:
            self.push(summary, lambda _p: None)

    def _rediff_pages(self, stamps: bool = False) -> Iterator[tuple[str, str, RediffPage]]:
        """The re-diff's pages of this county's rows, table by table: (table, the id the page follows, the page);
        with ``stamps``, each row's stamp asked for too."""
        params: dict[str, Any] = {"limit": MAX_PULL_LIMIT, **({"stamps": "true"} if stamps else {})}
        for table in SYNCED_TABLES:
            after: str | None = ""
            while after is not None:
                page = RediffPage.model_validate_json(self._request(
                    "GET", "/sync/rediff", params={**params, "table": table, "after": after}).content)
                yield table, after, page
                after = page.next_after

    def _repair_page(self, server_id: str, table: str, after: str, page: RediffPage, summary: SyncSummary) -> None:
        local = self.replica.base_hashes(table, after, page.next_after)
        server = dict(page.rows)
        hashes = dict(zip(server, (int(h, 16) for h in page.hashes), strict=False))
        behind = [row_id for row_id, version in server.items() if local.get(row_id, (0, 0))[0] < version]
        ahead = [row_id for row_id, (version, _) in local.items() if row_id not in server or server[row_id] < version]
        # Same version, other content (a hand edit here or at the city): the server's row is taken, unless an
        # edit of it waits here (base_hashes then gives the base's hash, and the edit goes with the next push).
        differ = [row_id for row_id, version in server.items() if row_id in hashes and row_id in local
                  and local[row_id][0] == version and local[row_id][1] != hashes[row_id]]
        stamps = self.replica.base_stamps(table, differ + ahead) if differ or ahead else {}
        for wanted, rewrite in ((behind, False), (differ, True)):
            if not wanted:
                continue
            fetched = FetchResponse.model_validate_json(
                self._post_json("/sync/fetch", {"table": table, "ids": wanted}).content)
            records = fetched.records
            if rewrite:
                # The same version written by another write than this store's base (the server's database put
                # back from a backup, then another device's edit): not a hand edit of the content to take, but
                # another history. This store's row goes whole, a conflict for the city on each field that differs.
                other = {r.id for r in records if r.table == table and r.updated_hlc and stamps.get(r.id)
                         and r.updated_hlc != stamps[r.id]}
                if other:
                    self.replica.requeue(table, sorted(other))
                    summary.requeued += len(other)
                    records = [r for r in records if r.id not in other]
            applied = self.replica.apply_pulled(records, None, server_id, rewrite=rewrite).applied
            summary.repaired += applied if rewrite else len(wanted)
        if ahead:
            # The server lost rows or versions this store has: send them again so none is lost. A row it holds at an
            # older version (its database put back from a backup) goes as an edit of the server's record
            # (``Replica.rebase``); a row it lacks, or that went meanwhile, goes whole, as new.
            older = [row_id for row_id in ahead if row_id in server]
            fetched = FetchResponse.model_validate_json(self._post_json(
                "/sync/fetch", {"table": table, "ids": older}).content).records if older else []
            # (not one written after this store's base: another device's edit of the row on the restored server,
            # which this store's row must not replace; it goes whole, a conflict for the city)
            rebased = [record for record in fetched
                       if record.table == table and record.id in server and record.version < local[record.id][0]
                       and not later_history(record.updated_hlc, stamps.get(record.id, ""))]
            self.replica.rebase(table, rebased)
            again = {record.id for record in rebased}
            self.replica.requeue(table, [row_id for row_id in ahead if row_id not in again])
            summary.requeued += len(ahead)

    # ---- HTTP ---------------------------------------------------------------------------------------------

    def _url(self, path: str) -> httpx.URL:
        """The endpoint's whole URL, as httpx joins a path to the client's base URL, made once per path (httpx
        parsed and joined the two texts at every request: 150 µs, a tenth of a sync with nothing to do)."""
        url = self._urls.get(path)
        if url is None:
            base = self.http.base_url
            relative = httpx.URL(f"{API_PREFIX}{path}")
            url = self._urls[path] = base.copy_with(raw_path=base.raw_path + relative.raw_path.lstrip(b"/"))
        return url

    def _post_json(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """``_request("POST", path, json=body)``, the body made by orjson (httpx's ``json=`` is the standard
        library's encoder): every JSON body the client sends but a push's, which comes made."""
        return self._request("POST", path, content=orjson.dumps(body), headers=JSON_CONTENT)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call with timeouts, retried with exponential backoff when the server cannot answer."""
        last_error = ""
        url = self._url(path)
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                problem = certificate_problem(exc)
                if problem:  # trying again will not make the certificate trusted
                    raise untrusted(self.server_url, problem) from None
                last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code in RETRY_STATUSES:
                last_error = f"HTTP {response.status_code}"
                continue
            return _checked(response)
        if last_error.startswith("HTTP"):
            raise ProtocolError(f"服务器出错 (server error at {self.server_url}): {last_error}")
        raise ServerUnreachable(f"无法连接服务器 {self.server_url} (server unreachable: {last_error})")


class _OutgoingBody:
    """A push's body as httpx sends it (with its length given, in one piece, as bytes would go), saying when
    it has been written: httpx asks for the next piece only once this one is on the wire. Iterable again
    for a retry."""

    def __init__(self, payload: bytes) -> None:
        self.payload, self.written = payload, threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield self.payload
        self.written.set()


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps none: the sync API sets no cookies, and httpx read every answer's headers for them."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _HttpClient(httpx.Client):
    """``httpx.Client`` without cookies (``_NoCookies``): ~0.1 ms of a sync with nothing to do."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES


_NO_COOKIES = _NoCookies()


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code < 400:
        return response
    try:
        answer = response.json()
        detail, code = str(answer.get("detail", response.text)), answer.get("code")
    except (ValueError, AttributeError):
        detail, code = response.text[:300], None
    if response.status_code == 409 and code == "out_of_order":
        raise OutOfOrder(f"HTTP 409: {detail}")
    errors: dict[int, type[SyncError]] = {401: TokenRefused, 403: Forbidden, 409: BatchMismatch,
                                          426: IncompatibleVersion}
    kind = errors.get(response.status_code, ProtocolError)
    prefix = {401: "令牌被拒绝 (token refused)", 403: "无权访问 (forbidden)",
              426: "版本不兼容 (incompatible version)"}.get(response.status_code, f"HTTP {response.status_code}")
    raise kind(f"{prefix}: {detail}")
