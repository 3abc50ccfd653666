"""A value typed wrong in the ``sqlite3`` shell (a date that is none: ``2026-13-45``) stops only its own record.

The client used to turn every stored date into its wire form on the way out, and a date that is none raised
there: the sync failed before it sent anything, and every sync after it, until someone found the row. Now such a
value goes as it is, the server refuses that record (naming the row, the field and the value), the rest of the
batch is applied, and once the clerk puts the value right the record goes with the next sync.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clerk import COUNTY, Clerk, server_rows, two_devices
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


def test_a_date_typed_wrong_in_the_city_databases_sqlite3_shell_stops_no_sync(city: ThreadServer,
                                                                            tmp_path: Path) -> None:
    """The same at the city (a SQLite database; PostgreSQL's typed columns never hold such a value): every pull,
    fetch and push of the county failed with a 500 reading that row, for every device, until someone found
    it. Now the server sends the value as it is; a device holds that record back (quarantined, the field and
    the value named, `sync doctor` says the city must correct it) and the rest of its sync goes; once the city
    puts it right, the next sync writes it."""
    token = city.token(COUNTY)
    county = Clerk(tmp_path / "county").setup(volunteers=5)
    county.sync(city.url, token)
    fresh = Clerk(tmp_path / "fresh")  # a new laptop of the county, set up from the server
    assert fresh.cli("init", "--county", COUNTY)[0] == 0
    row = county.query("SELECT id FROM volunteer ORDER BY id LIMIT 1")[0][0]
    database = Path(str(city.db.engine.url.database))
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE volunteer SET birth_date = '2026-13-45', name = '市里改名' WHERE id = ?", (row,))
    connection.close()
    county.sql("UPDATE volunteer SET notes = '县里又改' WHERE id <> ?", row)  # the rest of the county's work

    for clerk in (county, fresh):
        summary = clerk.sync(city.url, token)
        assert summary["rejected"] == 0, summary
        held = clerk.query("SELECT reason, detail FROM sync_quarantine WHERE tbl = 'volunteer' AND row_id = ?", row)
        assert held and held[0][0] == "invalid" and "birth_date" in held[0][1] and "2026-13-45" in held[0][1]
        code, out, _ = clerk.cli("sync", "doctor")
        assert "请市科协改正" in out, out
    assert fresh.query("SELECT COUNT(*) FROM volunteer")[0][0] == 4  # every other volunteer written
    assert {r["notes"] for key, r in server_rows(city.db).items() if key[0] == "volunteer" and key[1] != row} == {
        "县里又改"}

    with sqlite3.connect(database) as connection:  # the city corrects it
        connection.execute("UPDATE volunteer SET birth_date = '1980-03-05' WHERE id = ?", (row,))
    connection.close()
    for clerk in (county, fresh):
        clerk.sync()
        assert clerk.query("SELECT name, birth_date FROM volunteer WHERE id = ?", row) == [("市里改名", "1980-03-05")]
        assert clerk.query("SELECT COUNT(*) FROM sync_quarantine")[0][0] == 0
        assert clerk.sync()["digest"] == "match"


def test_a_merged_record_sent_back_with_such_a_value_is_held_back_not_a_failed_sync(city: ThreadServer,
                                                                                   tmp_path: Path) -> None:
    """The server's answer to a push carries the merged record when another device changed the row meanwhile:
    with the city's hand-typed date in it, writing it raised on the device (a ValueError, not the constraint
    failure the answer's quarantine caught) and the sync failed; it is held back like a pulled one."""
    first, second, row = two_devices(city.url, city.token(COUNTY), tmp_path, volunteers=5)
    with sqlite3.connect(Path(str(city.db.engine.url.database))) as connection:
        connection.execute("UPDATE volunteer SET birth_date = '2026-13-45' WHERE id = ?", (row,))
    connection.close()
    second.sql("UPDATE volunteer SET notes = '二号机改' WHERE id = ?", row)
    second.sync()
    first.sql("UPDATE volunteer SET mobile = '13912345678' WHERE id = ?", row)
    summary = first.sync()
    assert (summary["applied"] + summary["merged"], summary["rejected"]) == (1, 0), summary
    server = server_rows(city.db)[("volunteer", row)]
    assert (server["notes"], server["mobile"], server["birth_date"]) == ("二号机改", "13912345678", "2026-13-45")
    held = first.query("SELECT reason, detail FROM sync_quarantine WHERE row_id = ?", row)
    assert held and held[0][0] == "invalid" and "2026-13-45" in held[0][1]
