"""The city admin's endpoints (``/api/v1/admin``), mounted on the sync server's app by ``mount_admin_routes``.

Every route wants an admin token. The queue, uploads, city reports and period locks are the same
functions the CLI and tests call directly (``sync.city_queue``, ``sync.city_reporting``).
"""

# No "from __future__ import annotations": FastAPI must see the route signatures' local Annotated types.

import json
import re
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection

from schema.errors import InvalidRecord, InvalidValue
from schema.server_models import SyncToken
from schema.validators import mask_id_number
from sync import city_audit, city_queue
from sync.admin_protocol import (
    ADMIN_PREFIX,
    DECISIONS,
    BulkRequest,
    BulkResponse,
    DecideRequest,
    DetectResponse,
    DuplicateRequest,
    FieldChoice,
    LockRequest,
    LockResponse,
    Person,
    QueueItem,
    QueuePage,
    Sender,
    SummaryPage,
    Upload,
    UploadPage,
    UploadReport,
)
from sync.auth import Caller, authenticate
from sync.city_reporting import server_city_reports, set_period_lock
from sync.city_writes import current_record
from sync.conflicts import get_conflict
from sync.errors import Forbidden
from sync.http_errors import responses
from sync.protocol import ID_PATTERN, ConflictOut, PushResponse
from sync.push import BATCH
from sync.serverdb import ServerDB
from sync.subjects import county_names, subjects

TOKEN = SyncToken.__table__  # type: ignore[attr-defined]
_bearer = HTTPBearer(auto_error=False)


def _decisions(choices: dict[str, FieldChoice]) -> dict[str, city_queue.FieldDecision]:
    return {name: city_queue.FieldDecision(c.take, c.value) for name, c in choices.items()}


def admin_name(db: ServerDB, caller: Caller) -> str:
    """Who decided, for the audit trail: the admin token's label, else its id."""
    with db.read() as connection:
        label = connection.execute(sa.select(TOKEN.c.label).where(TOKEN.c.id == caller.token_id)).scalar()
    return f"admin:{label or caller.token_id}"[:64]


def list_uploads(db: ServerDB, county: str | None, limit: int, offset: int) -> UploadPage:
    columns = [c for c in BATCH.c if c.name not in ("response", "request_hash")]
    where = [BATCH.c.county_code == county] if county else []
    with db.read() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(BATCH).where(*where)).scalar_one()
        rows = connection.execute(sa.select(*columns).where(*where)
                                  .order_by(BATCH.c.received_at.desc(), BATCH.c.batch_id).limit(limit).offset(offset))
        rows = rows.all()
        sent = city_audit.senders(connection, {r.node_id for r in rows})
        counties = county_names(connection)
        items = [Upload(**(dict(r._mapping) | {"received_at": r.received_at.isoformat(timespec="seconds")}),
                        sender=sent.get(r.node_id) or Sender(node_id=r.node_id),
                        county_name=counties.get(r.county_code, "")) for r in rows]
    return UploadPage(items=items, total=int(total))


def upload_report(db: ServerDB, batch_id: str) -> UploadReport:
    """The per-record report of one upload, as the county was answered, with the records named."""
    with db.read() as connection:
        stored = connection.execute(sa.select(BATCH.c.response).where(BATCH.c.batch_id == batch_id)).scalar()
        if stored is None:
            raise HTTPException(404, f"upload {batch_id} not found")
        response = PushResponse.model_validate_json(stored)
        named = subjects(connection, ((r.table, r.id) for r in response.results))
    return UploadReport(**response.model_dump(), subjects={f"{table}/{row_id}": name
                                                           for (table, row_id), name in named.items()})


def named_items(db: ServerDB, items: list[ConflictOut]) -> list[QueueItem]:
    """Queue items with their subject and county named (one query per table, not per item); a duplicate
    person with both records side by side."""
    with db.read() as connection:
        named = subjects(connection, ((i.table, i.row_id) for i in items))
        counties = county_names(connection)
        people = {i.id: duplicate_people(connection, i, counties) for i in items
                  if i.kind == city_queue.DUPLICATE_PERSON}
        nodes = city_audit.value_senders(connection, items)
        sent = city_audit.senders(connection, {node for pair in nodes.values() for node in pair})
    return [QueueItem(**i.model_dump(), subject=named.get((i.table, i.row_id), ""),
                      county_name=counties.get(i.county_code, ""),
                      server_sender=_sender(sent, nodes[i.id][0]), incoming_sender=_sender(sent, nodes[i.id][1]),
                      people=people.get(i.id, []))
            for i in items]


def _day_param(name: str, value: str | None) -> date | None:
    """A day as ``YYYY-MM-DD`` text: a number, which pydantic would read as a Unix time, is refused."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(name, f"“{value}”不是有效日期，应为YYYY-MM-DD (not a date)") from None


def _sender(known: dict[str, Sender], node: str) -> Sender:
    return known.get(node) or Sender(node_id=node)


def duplicate_people(connection: Connection, item: ConflictOut, counties: dict[str, str]) -> list[Person]:
    """The two records of a duplicate person in the item's order (the first registered, then the later one),
    as they are now; the earlier registration is marked ``first`` whatever order an older item has."""
    ids = [item.fields.get("id", {}).get(side) for side in ("server", "incoming")]
    records = []
    for row_id in ids:
        try:
            records.append({**current_record(connection, "volunteer", str(row_id), lock=False), "id": row_id})
        except InvalidRecord:  # one of the two is gone: nothing to compare side by side
            return []
    first = min(records, key=city_queue.registration)["id"]
    return [Person(id=r["id"], name=r["name"], id_number=mask_id_number(r["id_number"]),
                   county_code=r["county_code"], county_name=counties.get(r["county_code"], ""),
                   work_unit=r["work_unit"], registered_on=city_queue.registered_on(r), first=r["id"] == first)
            for r in records]


def mount_admin_routes(app: FastAPI) -> None:
    """Add the admin routes to the sync server's ``app`` (its database is ``app.state.db``)."""
    db: ServerDB = app.state.db

    def admin(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
        found = authenticate(db.engine, credentials.credentials if credentials else "")
        if found is None:
            raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        if not found.is_admin:
            raise Forbidden("an admin token is needed")
        return found

    _queue_routes(app, db, Annotated[Caller, Depends(admin)])
    _report_routes(app, db, Annotated[Caller, Depends(admin)])


def _queue_routes(app: FastAPI, db: ServerDB, AdminDep: Any) -> None:  # noqa: N803
    from fastapi import Path as PathParam

    IdPath = Annotated[str, PathParam(max_length=100, pattern=ID_PATTERN)]  # noqa: N806

    @app.get(f"{ADMIN_PREFIX}/queue", responses=responses(403))
    def queue(who: AdminDep, county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
              table: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]*$")] = None,
              kind: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]*$")] = None,
              status: Annotated[str | None, Query(pattern="^(open|resolved|all)$")] = "open",
              decision: Annotated[str | None, Query(pattern=f"^({'|'.join(DECISIONS)})$")] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
              search: Annotated[str | None, Query(max_length=100, pattern=SEARCH)] = None,
              resolved_from: Annotated[str | None, Query(json_schema_extra={"format": "date"})] = None,
              resolved_to: Annotated[str | None, Query(json_schema_extra={"format": "date"})] = None) -> QueuePage:
        """The conflict queue filtered by county, table, kind and status (resolved ones are the audit trail, latest
        decision first); ``search``: a person's name (part), full ID number or mobile, a team's or activity's name,
        words of the reason or the deciding admin; ``resolved_from``/``resolved_to``: days of the decision;
        ``decision``: which side a resolved item took (``city``: the server's value on every field, ``county``:
        the upload's, ``value``: a typed value on at least one field, ``mixed``; ``merge_first``,
        ``merge_later``, ``keep_both`` for a duplicate person)."""
        extra = [*city_audit.resolved_between(_day_param("resolved_from", resolved_from),
                                              _day_param("resolved_to", resolved_to))]
        if search and search.strip():
            extra.append(city_audit.search_where(search))
        items, total = city_queue.query_queue(db, city_queue.QueueFilter(county, table, kind, status, decision),
                                              limit=limit, offset=offset, extra=extra)
        return QueuePage(items=named_items(db, items), total=total)

    # Fixed paths before /queue/{conflict_id}: a wrong method on them is answered with their own Allow header.
    @app.post(f"{ADMIN_PREFIX}/queue/detect", responses=responses(403))
    def detect(who: AdminDep) -> DetectResponse:
        """Open items for duplicate persons across counties and activities of dissolved teams."""
        return DetectResponse(opened=city_queue.detect_relational(db))

    @app.post(f"{ADMIN_PREFIX}/queue/bulk", responses=responses(400, 403))
    def bulk(body: BulkRequest, who: AdminDep) -> BulkResponse:
        """Take the county's or the city's values for every field of every selected item."""
        return BulkResponse(outcome=city_queue.decide_many(db, body.ids, body.take, body.reason,
                                                           admin_name(db, who)))

    @app.get(f"{ADMIN_PREFIX}/queue/{{conflict_id}}", responses=responses(403, 404))
    def item(conflict_id: IdPath, who: AdminDep) -> QueueItem:
        """One item of the queue, open or resolved."""
        return named_items(db, [get_conflict(db, conflict_id)])[0]

    @app.post(f"{ADMIN_PREFIX}/queue/{{conflict_id}}/decide", responses=responses(400, 403, 404, 409))
    def decide(conflict_id: IdPath, body: DecideRequest, who: AdminDep) -> ConflictOut:
        """Per field keep the city's value, take the county's or set a typed value; a reason is required."""
        return city_queue.decide(db, conflict_id, _decisions(body.decisions), body.reason, admin_name(db, who))

    @app.post(f"{ADMIN_PREFIX}/queue/{{conflict_id}}/duplicate", responses=responses(400, 403, 404, 409))
    def duplicate(conflict_id: IdPath, body: DuplicateRequest, who: AdminDep) -> ConflictOut:
        """A duplicate person: merge into one record, or keep both with a note."""
        return city_queue.decide_duplicate(db, conflict_id, body.action, body.reason, admin_name(db, who),
                                           survivor=body.survivor, decisions=_decisions(body.decisions))

    @app.get(f"{ADMIN_PREFIX}/uploads", responses=responses(403))
    def uploads(who: AdminDep, county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> UploadPage:
        """Upload reports (sync pushes and imported bundles), newest first."""
        return list_uploads(db, county, limit, offset)

    @app.get(f"{ADMIN_PREFIX}/uploads/{{batch_id}}", responses=responses(403, 404))
    def upload(batch_id: IdPath, who: AdminDep) -> UploadReport:
        """The per-record report behind one upload."""
        return upload_report(db, batch_id)


MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# Search text: any printable text (no NUL or other control character: PostgreSQL refuses a NUL in text).
SEARCH = r"^[^\x00-\x1f\x7f]*$"


def _report_routes(app: FastAPI, db: ServerDB, AdminDep: Any) -> None:  # noqa: N803
    @app.get(f"{ADMIN_PREFIX}/reports", responses=responses(403))
    def reports(who: AdminDep, first: Annotated[str, Query(pattern=MONTH)],
                last: Annotated[str, Query(pattern=MONTH)],
                today: Annotated[date | None, Query()] = None) -> dict[str, Any]:
        """Counties × months reporting grid, team minimums and activities by kind and venue."""
        found = server_city_reports(db, first, last, today or date.today())
        return json.loads(json.dumps(found.to_dict()))

    @app.get(f"{ADMIN_PREFIX}/summary", responses=responses(403))
    def summary(who: AdminDep, months: Annotated[int, Query(ge=1, le=24)] = 6,
                today: Annotated[str | None, Query(pattern=r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$",
                                                   json_schema_extra={"format": "date"})] = None) -> SummaryPage:
        """Per county: open conflicts, last upload, last report received, uploads and conflicts per month (the
        ``months`` months up to ``today``'s, a day of 1900–2199)."""
        return city_audit.county_summary(db, _day_param("today", today) or date.today(), months)

    @app.post(f"{ADMIN_PREFIX}/periods/lock", responses=responses(400, 403))
    def lock(body: LockRequest, who: AdminDep) -> LockResponse:
        """Reopen (a later day) or lock (an earlier day) a month for one county, or all with 410500."""
        row_id = set_period_lock(db, body.county_code, body.period, body.open_until,
                                 body.reason, admin_name(db, who))
        return LockResponse(id=row_id, county_code=body.county_code, period=body.period, open_until=body.open_until)
