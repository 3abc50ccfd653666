"""County store: ``volunteer_search``, a narrow local copy of what the volunteer list's filter looks in, so that a
filter keystroke scans ~40 bytes a person instead of the whole volunteer row (100k people: 10–15 ms of SQLite
instead of 50–190 ms).

One row per volunteer, keyed by the volunteer's rowid (``rid``: the list's own order, newest first, so that a
scan for the first page stops at the page's last match): the name; ``digits``, the mobile and the parts of the ID
number the list shows (``mask_id_number``: the first six and last four characters, or the first and last of a
short number), apart with spaces so that no fragment runs across them, upper case (an ID number's X); then the
county and the deleted flag. The hidden digits of an ID number are not stored here at all.

Kept by triggers on ``volunteer`` (insert, an update that changes one of those columns, delete), whatever writes
the row: the app, an import, a sync pull (the triggers do not look at ``sync_guard``) or an edit at the
``sqlite3`` prompt. Local only: not a synced table, no change capture, never sent. A copy of a store restored
from a ``.dump`` (which renumbers rowids) gets it right again with ``stvs_tui.queries.rebuild_volunteer_search``.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen here on purpose, as a migration must be (stvs_tui.queries.SEARCH_DIGITS is the same expression).
def shown_id(row: str) -> str:
    number = f"{row}id_number"
    return (f"CASE WHEN length({number}) > 8 THEN substr({number}, 1, 6) || ' ' || substr({number}, -4) "
            f"WHEN length({number}) > 2 THEN substr({number}, 1, 1) || ' ' || substr({number}, -1) ELSE '' END")


def _row(row: str) -> str:
    return f"{row}name, upper({row}mobile || ' ' || {shown_id(row)}), {row}county_code, {row}deleted"


COLUMNS = "rid, name, digits, county_code, deleted"


def upgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    # The searched columns first: a row's later columns are decoded only for its matches.
    op.execute("CREATE TABLE volunteer_search (rid INTEGER PRIMARY KEY, name TEXT NOT NULL, digits TEXT NOT NULL, "
               "county_code TEXT NOT NULL, deleted INTEGER NOT NULL)")
    op.execute(f"INSERT INTO volunteer_search ({COLUMNS}) SELECT rowid, {_row('')} FROM volunteer")
    op.execute("CREATE TRIGGER trg_volunteer_search_insert AFTER INSERT ON volunteer BEGIN "
               f"INSERT OR REPLACE INTO volunteer_search ({COLUMNS}) VALUES (NEW.rowid, {_row('NEW.')}); END")
    # Only when one of them (or the rowid) changed: a sync pull sets every column. Delete and insert rather
    # than update: an update that moved the rowid leaves no row under the old one.
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("rowid", "county_code", "deleted", "name", "mobile",
                                                              "id_number"))
    op.execute(f"CREATE TRIGGER trg_volunteer_search_update AFTER UPDATE ON volunteer WHEN {changed} BEGIN "
               "DELETE FROM volunteer_search WHERE rid = OLD.rowid; "
               f"INSERT OR REPLACE INTO volunteer_search ({COLUMNS}) VALUES (NEW.rowid, {_row('NEW.')}); END")
    op.execute("CREATE TRIGGER trg_volunteer_search_delete AFTER DELETE ON volunteer BEGIN "
               "DELETE FROM volunteer_search WHERE rid = OLD.rowid; END")


def downgrade(role: str = "county") -> None:
    if role != "county" or op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS trg_volunteer_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS volunteer_search")
