"""A value typed wrong in the ``sqlite3`` shell (a date that is none: ``2026-13-45``) stops only its own record.

The client used to turn every stored date into its wire form on the way out, and a date that is none raised
there: the sync failed before it sent anything, and every sync after it, until someone found the row. Now such a
value goes as it is, the server refuses that record (naming the row, the field and the value), the rest of the
batch is applied, and once the clerk puts the value right the record goes with the next sync.
"""

from __future__ import annotations

from pathlib import Path

from clerk import COUNTY, Clerk, server_rows
from sync_fixtures import ThreadServer


def test_a_date_typed_wrong_in_the_sqlite3_shell_stops_only_its_own_record(city: ThreadServer,
                                                                           tmp_path: Path) -> None:
    clerk = Clerk(tmp_path / "county").setup(volunteers=5)
    clerk.sync(city.url, city.token(COUNTY))
    first, second, third = [row[0] for row in clerk.query("SELECT id FROM volunteer ORDER BY id LIMIT 3")]
    clerk.sql("UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", first)
    clerk.sql("UPDATE volunteer SET created_at = '2026-02-30 25:61:00.000000' WHERE id = ?", second)
    clerk.sql("UPDATE volunteer SET name = '改名测试' WHERE id = ?", third)

    summary = clerk.sync()
    assert (summary["applied"], summary["rejected"]) == (1, 2), summary
    messages = {item["id"]: item["message"] for item in summary["rejected_records"]}
    assert "birth_date" in messages[first] and "2026-13-45" in messages[first]
    assert "created_at" in messages[second] and "2026-02-30 25:61:00" in messages[second]
    server = server_rows(city.db)
    assert server[("volunteer", third)]["name"] == "改名测试"
    assert server[("volunteer", first)]["birth_date"] != "2026-13-45"
    assert clerk.query("SELECT sync_state FROM volunteer WHERE id IN (?, ?)", first, second) == [("error",), ("error",)]

    clerk.sql("UPDATE volunteer SET birth_date = '1980-03-05' WHERE id = ?", first)
    clerk.sql("UPDATE volunteer SET created_at = '2026-02-28 10:00:00.000000' WHERE id = ?", second)
    again = clerk.sync()
    assert (again["applied"], again["rejected"]) == (2, 0), again
    server = server_rows(city.db)
    assert server[("volunteer", first)]["birth_date"] == "1980-03-05"
    assert server[("volunteer", second)]["created_at"] == "2026-02-28T10:00:00"
    assert clerk.sync()["digest"] == "match"
