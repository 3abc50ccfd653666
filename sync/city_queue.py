"""The city's decisions on the conflict queue, beyond keeping or taking a losing value.

- Field conflicts: per field keep the city's (server's) value, take the county's (the losing one) or type
  a value; a reason is always required; a bulk "take county" / "take city" over a selection.
- Relational items the merge cannot see record by record, opened by ``detect_relational``:
  ``duplicate_person`` (one ID number registered by two counties: merge into one, or keep both with a note)
  and ``dissolved_team`` (an activity added for a team dissolved meanwhile: held and flagged until the city
  keeps it, moves it to another team or cancels it; never dropped).

Every decision is written as a new version of the rows concerned (``sync.city_writes``), and the item keeps
who decided what and why: the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from schema.enums import ActivityStatus, TeamStatus, VolunteerStatus
from schema.errors import FieldError, InvalidRecord
from schema.models import Activity, Team, Volunteer, new_id
from sync.city_writes import CITY_NODE, current_record, update_as_city
from sync.conflicts import ConflictClosed, ConflictNotFound, _out, item_decision
from sync.protocol import ConflictOut
from sync.push import CONFLICT
from sync.serverdb import ServerDB

DUPLICATE_PERSON = "duplicate_person"
DISSOLVED_TEAM = "dissolved_team"
RELATIONAL_KINDS = (DUPLICATE_PERSON, DISSOLVED_TEAM)
# Fields of a duplicate item shown for orientation only: which record is which, never chosen.
IDENTITY_FIELDS = ("id", "county_code")
COMPARED_VOLUNTEER_FIELDS = ("name", "id_type", "id_number", "sex", "birth_date", "mobile", "phone2", "work_unit",
                             "title", "expertise", "talent_tags", "availability", "publicity_consent",
                             "stvs_status", "stvs_registered_on", "status", "joined_on", "notes")
Take = Literal["city", "county", "value"]


@dataclass(frozen=True)
class FieldDecision:
    """Keep the city's value, take the county's, or set ``value`` (typed by the admin)."""

    take: Take
    value: Any = None


@dataclass(frozen=True)
class QueueFilter:
    county: str | None = None
    table: str | None = None
    kind: str | None = None
    status: str | None = "open"
    decision: str | None = None  # which side a resolved item took (sync.admin_protocol.DECISIONS)

    def where(self) -> list[sa.ColumnElement[bool]]:
        columns = {"table": CONFLICT.c.tbl, "kind": CONFLICT.c.kind, "status": CONFLICT.c.status,
                   "decision": CONFLICT.c.decision}
        found = [columns[name] == value for name, value in vars(self).items()
                 if value and value != "all" and name in columns]
        return found + ([of_county(self.county)] if self.county else [])


def of_county(county: str) -> sa.ColumnElement[bool]:
    """Items of ``county``: its own, and a duplicate person one of whose two records is the county's (the item
    sits with the later registration's county, and is listed under both)."""
    partner = aliased(Volunteer)
    pair = sa.or_(CONFLICT.c.change_id == sa.literal("dup:") + partner.id + ":" + CONFLICT.c.row_id,
                  CONFLICT.c.change_id == sa.literal("dup:") + CONFLICT.c.row_id + ":" + partner.id)
    other = sa.exists(sa.select(partner.id).where(partner.county_code == county, pair))
    return sa.or_(CONFLICT.c.county_code == county, sa.and_(CONFLICT.c.kind == DUPLICATE_PERSON, other))


def query_queue(db: ServerDB, wanted: QueueFilter, *, limit: int = 100, offset: int = 0,
                extra: Sequence[sa.ColumnElement[bool]] = ()) -> tuple[list[ConflictOut], int]:
    """A page of the queue and how many items match in all: open items oldest first, resolved ones (the audit
    trail) latest decision first. ``extra``: more conditions (search, dates: ``sync.city_audit``)."""
    where = [*wanted.where(), *extra]
    order = (CONFLICT.c.resolved_at.desc(), CONFLICT.c.id) if wanted.status == "resolved" else \
        (CONFLICT.c.created_at, CONFLICT.c.id)
    with db.read() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(CONFLICT).where(*where)).scalar_one()
        rows = connection.execute(sa.select(CONFLICT).where(*where).order_by(*order)
                                  .limit(limit).offset(offset))
        return [_out(row) for row in rows], int(total)


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidRecord("sync_conflict", [FieldError("reason", "须说明处理理由 (a reason is required)")])
    return reason.strip()[:500]


def _open_item(connection: Connection, conflict_id: str) -> Any:
    item = connection.execute(sa.select(CONFLICT).where(CONFLICT.c.id == conflict_id).with_for_update()).first()
    if item is None:
        raise ConflictNotFound(f"conflict {conflict_id} not found")
    if item.status != "open":
        raise ConflictClosed(f"conflict {conflict_id} was resolved already")
    return item


def _close(connection: Connection, conflict_id: str, resolution: dict[str, Any], reason: str, by: str,
           version: int, decision: str) -> ConflictOut:
    connection.execute(sa.update(CONFLICT).where(CONFLICT.c.id == conflict_id).values(
        status="resolved", resolved_at=datetime.now(), resolved_by=by[:64], reason=reason,
        resolution=json.dumps(resolution, ensure_ascii=False, default=str), resolved_version=version,
        decision=decision))
    return _out(connection.execute(sa.select(CONFLICT).where(CONFLICT.c.id == conflict_id)).one())


# ---- field conflicts (and an activity held for a dissolved team) -------------------------------------------


def decide(db: ServerDB, conflict_id: str, decisions: Mapping[str, FieldDecision], reason: str,
           by: str) -> ConflictOut:
    """Resolve a field conflict: fields not named keep the city's value. The row gets a new version."""
    why = _require_reason(reason)
    return db.run_write(lambda c: _decide(db, c, conflict_id, decisions, why, by))


def _decide(db: ServerDB, connection: Connection, conflict_id: str, decisions: Mapping[str, FieldDecision],
            reason: str, by: str) -> ConflictOut:
    item = _open_item(connection, conflict_id)
    if item.kind == DUPLICATE_PERSON:
        raise InvalidRecord(item.tbl, [FieldError("kind", "重复人员须选择合并或保留两条 (a duplicate needs merge or "
                                                          "keep both)")])
    fields = json.loads(item.fields)
    unknown = sorted(set(decisions) - set(fields))
    if unknown:
        raise InvalidRecord(item.tbl, [FieldError(n, "不是该冲突的字段 (not a field of this conflict)") for n in unknown])
    current = current_record(connection, item.tbl, item.row_id)
    taken = {name: decisions.get(name, FieldDecision("city")) for name in fields}
    chosen = {name: _chosen(fields[name], current.get(name), decision) for name, decision in taken.items()}
    if item.kind == DISSOLVED_TEAM:
        _check_team_move(connection, item.county_code, chosen)
    version = update_as_city(db, connection, item.tbl, item.row_id, chosen, by)
    # The side as the admin chose it, not as read back from the values (the city's may have moved since).
    return _close(connection, conflict_id, chosen, reason, by, version, item_decision({d.take for d in taken.values()}))


def _chosen(field: Mapping[str, Any], city_now: Any, decision: FieldDecision) -> Any:
    if decision.take == "county":
        return field["incoming"]
    if decision.take == "value":
        return decision.value
    # The city's value as the row holds it now (it may have moved since the conflict opened).
    return city_now


def _check_team_move(connection: Connection, county: str, chosen: Mapping[str, Any]) -> None:
    """An activity held for a dissolved team may stay (cancelled or not) or move to an active team of its county."""
    if chosen.get("status") == ActivityStatus.CANCELLED.value:
        return
    team = connection.execute(sa.select(Team.status, Team.county_code).where(Team.id == chosen.get("team_id"))).first()
    if team is None or team.county_code != county:
        raise InvalidRecord("activity", [FieldError("team_id", "队伍不存在或不属本县 (no such team in this county)")])


def decide_many(db: ServerDB, conflict_ids: list[str], take: Literal["city", "county"], reason: str,
                by: str) -> dict[str, str]:
    """Bulk: every field of every item to one side; one item's failure never blocks the others.

    Returns per id ``"resolved"`` or the reason it was not.
    """
    why = _require_reason(reason)
    outcome: dict[str, str] = {}
    with db.read() as connection:  # one read for the lot: an id the queue does not hold costs no write
        known = dict(connection.execute(sa.select(CONFLICT.c.id, CONFLICT.c.fields)
                                        .where(CONFLICT.c.id.in_(set(conflict_ids)))).all())
    for conflict_id in conflict_ids:
        if conflict_id not in known:
            outcome[conflict_id] = str(ConflictNotFound(f"conflict {conflict_id} not found"))
            continue
        try:
            names = json.loads(known[conflict_id])
            decide(db, conflict_id, {name: FieldDecision(take) for name in names}, why, by)
            outcome[conflict_id] = "resolved"
        except (ConflictNotFound, ConflictClosed, InvalidRecord) as exc:
            outcome[conflict_id] = str(exc)
    return outcome


# ---- duplicate person across counties -----------------------------------------------------------------------


def decide_duplicate(db: ServerDB, conflict_id: str, action: Literal["merge", "keep_both"], reason: str, by: str,
                     *, survivor: Literal["city", "county"] = "city",
                     decisions: Mapping[str, FieldDecision] | None = None) -> ConflictOut:
    """Merge the two records into the survivor's (``city`` = the first registered, ``county`` = the later one),
    or keep both with a note. The merged-away record stays (its county's teams and activities refer to
    it) but is made inactive with a note naming the survivor."""
    why = _require_reason(reason)
    return db.run_write(lambda c: _decide_duplicate(db, c, conflict_id, action, why, by, survivor, decisions or {}))


def _decide_duplicate(db: ServerDB, connection: Connection, conflict_id: str, action: str, reason: str, by: str,
                      survivor: str, decisions: Mapping[str, FieldDecision]) -> ConflictOut:
    item = _open_item(connection, conflict_id)
    if item.kind != DUPLICATE_PERSON:
        raise InvalidRecord(item.tbl, [FieldError("kind", "不是重复人员事项 (not a duplicate person item)")])
    fields = json.loads(item.fields)
    first, later = fields["id"]["server"], fields["id"]["incoming"]
    first_county, later_county = fields["county_code"]["server"], fields["county_code"]["incoming"]
    if action == "keep_both":
        note = "与{county}登记的同一证件人员并存（市科协核定：{reason}）"
        update_as_city(db, connection, "volunteer", first, {"notes": _noted(
            connection, first, note.format(county=later_county, reason=reason))}, by)
        version = update_as_city(db, connection, "volunteer", later, {"notes": _noted(
            connection, later, note.format(county=first_county, reason=reason))}, by)
        return _close(connection, conflict_id, {"action": "keep_both"}, reason, by, version, "keep_both")
    keep, drop = (first, later) if survivor == "city" else (later, first)
    keep_county = first_county if survivor == "city" else later_county
    values = _merged_values(fields, decisions)
    update_as_city(db, connection, "volunteer", keep, values, by)
    version = update_as_city(db, connection, "volunteer", drop, {
        "status": VolunteerStatus.INACTIVE.value,
        "notes": _noted(connection, drop, f"已并入{keep_county}记录 {keep}（市科协：{reason}）")}, by)
    return _close(connection, conflict_id, {"action": "merge", "survivor": keep, **values}, reason, by, version,
                  "merge_first" if survivor == "city" else "merge_later")


def _merged_values(fields: Mapping[str, Any], decisions: Mapping[str, FieldDecision]) -> dict[str, Any]:
    """The fields a decision names: the first record's value (city), the later one's (county) or a typed one.
    Fields not named keep the survivor's own value."""
    values = {}
    for name, decision in decisions.items():
        if name in IDENTITY_FIELDS or name not in fields:
            continue
        sides = fields[name]
        values[name] = {"city": sides["server"], "county": sides["incoming"]}.get(decision.take, decision.value)
    return values


def _noted(connection: Connection, volunteer_id: str, note: str) -> str:
    current = current_record(connection, "volunteer", volunteer_id)["notes"] or ""
    return (f"{current}；{note}" if current else note)[:500]


# ---- detection of relational items --------------------------------------------------------------------------


def detect_relational(db: ServerDB) -> int:
    """Open an item for each new duplicate person and each activity of a dissolved team; return how many.

    Idempotent: an item's ``change_id`` names the pair (or activity), so a decided case never reopens.
    """
    return db.run_write(lambda c: _open_duplicates(c) + _open_dissolved(c))


def _known(connection: Connection, change_ids: list[str]) -> set[str]:
    if not change_ids:
        return set()
    return set(connection.execute(sa.select(CONFLICT.c.change_id).where(CONFLICT.c.change_id.in_(change_ids))).scalars())


def _open_duplicates(connection: Connection) -> int:
    first, later = aliased(Volunteer), aliased(Volunteer)
    pairs = connection.execute(
        sa.select(first.id, later.id)
        .join(later, sa.and_(later.id_number == first.id_number, later.id_type == first.id_type,
                             later.county_code != first.county_code, later.id > first.id))
        .where(first.deleted.is_(False), later.deleted.is_(False), first.id_number != "")
    ).all()
    known = _known(connection, [f"dup:{a}:{b}" for a, b in pairs])
    opened = 0
    for a, b in pairs:
        if f"dup:{a}:{b}" in known:
            continue
        one, two = sorted(({**current_record(connection, "volunteer", a, lock=False), "id": a},
                           {**current_record(connection, "volunteer", b, lock=False), "id": b}), key=registration)
        fields = {name: {"base": None, "server": one[name], "incoming": two[name]}
                  for name in (*IDENTITY_FIELDS, *COMPARED_VOLUNTEER_FIELDS)
                  if name in IDENTITY_FIELDS or one[name] != two[name]}
        _insert_item(connection, two["county_code"], "volunteer", two["id"], DUPLICATE_PERSON, f"dup:{a}:{b}",
                     fields, two["version"])
        opened += 1
    return opened


def registered_on(record: Mapping[str, Any]) -> date | None:
    """A person's registration day: 登记日期 (``joined_on``), else the day the record was created."""
    joined, created = record.get("joined_on"), record.get("created_at")
    if isinstance(joined, str):
        joined = date.fromisoformat(joined) if joined else None
    if joined is None and isinstance(created, str) and created:
        created = datetime.fromisoformat(created)
    return joined or (created.date() if isinstance(created, datetime) else None)


def registration(record: Mapping[str, Any]) -> tuple[date, str, str]:
    """Sort key of two records of one person: the earlier registration first (then creation, then id)."""
    return registered_on(record) or date.max, str(record.get("created_at") or ""), str(record["id"])


def _open_dissolved(connection: Connection) -> int:
    rows = connection.execute(
        sa.select(Activity.id, Activity.county_code, Activity.team_id, Activity.status, Activity.version)
        .join(Team, Team.id == Activity.team_id)
        .where(Team.status == TeamStatus.DISSOLVED.value, Activity.deleted.is_(False),
               Activity.status != ActivityStatus.CANCELLED.value,
               sa.or_(Team.dissolved_on.is_(None), sa.func.date(Activity.starts_at) >= Team.dissolved_on))
    ).all()
    known = _known(connection, [f"dissolved:{row.id}" for row in rows])
    opened = 0
    for row in rows:
        if f"dissolved:{row.id}" in known:
            continue
        fields = {"team_id": {"base": row.team_id, "server": row.team_id, "incoming": row.team_id},
                  "status": {"base": row.status, "server": row.status, "incoming": row.status}}
        _insert_item(connection, row.county_code, "activity", row.id, DISSOLVED_TEAM, f"dissolved:{row.id}", fields,
                     row.version)
        opened += 1
    return opened


def _insert_item(connection: Connection, county: str, table: str, row_id: str, kind: str, change_id: str,
                 fields: dict[str, Any], version: int) -> None:
    connection.execute(sa.insert(CONFLICT), {
        "id": new_id(), "county_code": county, "tbl": table, "row_id": row_id, "kind": kind, "change_id": change_id,
        "node_id": CITY_NODE, "base_version": version, "server_version": version,
        "fields": json.dumps(fields, ensure_ascii=False, default=str), "status": "open", "created_at": datetime.now(),
        "resolved_at": None, "resolved_by": "", "resolution": "", "reason": "", "resolved_version": 0,
        "decision": ""})
