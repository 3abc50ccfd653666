"""A city server that lost its database recovers from the county's store (issue 10, item 8).

The county synced, then kept working (``sqlite3`` edits, a soft delete, a hard delete); the city's database
is recreated empty and the server started again. The county's next sync sends every row the server does
not know whole (pending edits included), the digest disagrees, the repair runs, and the county ends in sync:
nothing lost, nothing doubled; on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from city_server import DATABASES, database_url
from clerk import COUNTY, Clerk, assert_in_sync, server_rows
from sync_fixtures import thread_server


@pytest.fixture(params=DATABASES)
def city_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield database_url(request, tmp_path / "city")


def lose_database(url: str) -> None:
    """The database is gone: the SQLite file deleted, or every PostgreSQL table dropped."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def test_a_server_recreated_empty_gets_every_row_back_with_the_pending_edits(city_url: str,
                                                                            tmp_path: Path) -> None:
    clerk = Clerk(tmp_path / "county").setup(volunteers=15)
    with thread_server(city_url) as city:
        clerk.sync(city.url, city.token(COUNTY))
    first, second, third, fourth = [row[0] for row in clerk.query("SELECT id FROM volunteer ORDER BY id LIMIT 4")]
    clerk.sql("UPDATE volunteer SET name = '恢复测试' WHERE id = ?", first)
    clerk.sql("UPDATE volunteer SET deleted = 1 WHERE id = ?", second)
    clerk.sql("DELETE FROM participation WHERE volunteer_id = ?", third)
    clerk.sql("DELETE FROM membership WHERE volunteer_id = ?", third)
    clerk.sql("DELETE FROM volunteer WHERE id = ?", third)
    clerk.sql("UPDATE volunteer SET mobile = '13912345678' WHERE id = ?", fourth)
    expected = clerk.rows()
    lose_database(city_url)
    with thread_server(city_url) as city:
        summary = clerk.sync(city.url, city.token(COUNTY))
        assert summary["rejected"] == 0 and summary["conflicts"] == 0
        assert summary["digest"] == "repaired"
        assert server_rows(city.db) == expected
        again = clerk.sync()
        assert again["digest"] == "match" and again["pushed"] == 0
        assert_in_sync(clerk, city.db)
        server = server_rows(city.db)
        assert server[("volunteer", first)]["name"] == "恢复测试"
        assert server[("volunteer", fourth)]["mobile"] == "13912345678"
        assert ("volunteer", second) not in server and ("volunteer", third) not in server
