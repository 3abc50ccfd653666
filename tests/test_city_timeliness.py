"""Timeliness by the server's receipt, never the county laptop's clock: the ``report_receipt`` trigger on a
real server database (SQLite and PostgreSQL), grading on a fixed calendar, and a push through a real server
whose device clock is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from city_server import DATABASES, CityServer, database_url, push, running_city_server
from sqlmodel import Session

from schema.models import MonthlyReport, new_id
from schema.reporting import CellState, received_day, reporting_grid
from schema.server_models import ReportReceipt
from sync.admin_protocol import ADMIN_PREFIX
from sync.serverdb import ServerDB, open_server_db

ANYANG, TANGYIN = "410522", "410523"
COUNTIES = [(ANYANG, "安阳县"), (TANGYIN, "汤阴县")]


@pytest.fixture(params=DATABASES)
def server_db(request, tmp_path) -> Iterator[ServerDB]:
    db = open_server_db(database_url(request, tmp_path / "city"))
    yield db
    db.close()


def add_report(db: ServerDB, county: str, period: str, status: str, county_clock: datetime | None) -> str:
    with Session(db.engine) as session:
        report = MonthlyReport(county_code=county, period=period, status=status, submitted_at=county_clock,
                               version=1)
        session.add(report)
        session.commit()
        return report.id


def set_status(db: ServerDB, report_id: str, status: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.update(MonthlyReport).where(MonthlyReport.id == report_id).values(status=status))


def receipt(db: ServerDB, report_id: str) -> datetime | None:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(ReportReceipt.received_at)
                                  .where(ReportReceipt.report_id == report_id)).scalar()


def received_at(db: ServerDB, report_id: str, utc: datetime) -> None:
    """Pin a receipt to a fixed time (the fixed calendar of a test)."""
    with db.engine.begin() as connection:
        connection.execute(sa.update(ReportReceipt).where(ReportReceipt.report_id == report_id)
                           .values(received_at=utc))


def test_the_server_records_when_it_first_received_a_report_as_submitted(server_db) -> None:
    report = add_report(server_db, ANYANG, "2024-03", "draft", None)
    assert receipt(server_db, report) is None  # a draft is not received
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    set_status(server_db, report, "submitted")
    first = receipt(server_db, report)
    assert first is not None and before <= first <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=5)
    received_at(server_db, report, datetime(2024, 4, 3, 2))
    set_status(server_db, report, "accepted")  # accepted later: the first receipt stays
    set_status(server_db, report, "draft")
    set_status(server_db, report, "submitted")  # sent back and submitted again: still the first receipt
    assert receipt(server_db, report) == datetime(2024, 4, 3, 2)


def test_timeliness_counts_by_the_server_receipt_on_a_fixed_calendar(server_db) -> None:
    # 安阳县's laptop says 2 April (on time); the server first saw the report at 01:00 on 6 April, Beijing time.
    late = add_report(server_db, ANYANG, "2024-03", "submitted", datetime(2024, 4, 2, 9))
    received_at(server_db, late, datetime(2024, 4, 5, 17, 0))
    # 汤阴县's laptop clock runs a month fast; the server received it at 23:30 on 5 April, Beijing time.
    on_time = add_report(server_db, TANGYIN, "2024-03", "submitted", datetime(2024, 5, 5, 9))
    received_at(server_db, on_time, datetime(2024, 4, 5, 15, 30))
    with Session(server_db.engine) as session:
        by_server = reporting_grid(session, ["2024-03"], date(2024, 4, 20), COUNTIES, by_receipt=True)
        by_laptop = reporting_grid(session, ["2024-03"], date(2024, 4, 20), COUNTIES)
    assert by_server.cell(ANYANG, "2024-03").state == CellState.LATE
    assert by_server.cell(ANYANG, "2024-03").submitted_on == date(2024, 4, 6)
    assert by_server.cell(TANGYIN, "2024-03").state == CellState.ON_TIME
    assert by_server.timeliness().percent() == "50.0%" and by_server.completeness().percent() == "100.0%"
    assert by_laptop.cell(ANYANG, "2024-03").state == CellState.ON_TIME  # what the wrong clock would have said


def test_received_day_is_the_calendar_day_in_china() -> None:
    assert received_day(datetime(2024, 4, 5, 15, 59)) == date(2024, 4, 5)
    assert received_day(datetime(2024, 4, 5, 16, 0)) == date(2024, 4, 6)


@pytest.fixture(params=DATABASES)
def city(request, tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path, url=database_url(request, tmp_path / "city")) as server:
        yield server


def test_a_push_from_a_laptop_with_a_wrong_clock_is_graded_by_the_server(city) -> None:
    """The laptop stamps its March report 2 April 2024; the server receives it now, long after the due day
    (after the city reopened the long-locked month for it)."""
    with city.client() as client:
        reopened = client.post(f"{ADMIN_PREFIX}/periods/lock", json={
            "county_code": ANYANG, "period": "2024-03", "open_until": (date.today() + timedelta(days=30)).isoformat(),
            "reason": "补报"})
        assert reopened.status_code == 200, reopened.text
    report = new_id()
    answer = push(city, ANYANG, "node-a", [{"table": "monthly_report", "id": report, "base_version": 0, "fields": {
        "county_code": ANYANG, "period": "2024-03", "status": "submitted", "is_nil": True,
        "submitted_at": "2024-04-02T09:00:00"}}])
    assert answer["results"][0]["status"] == "applied", answer
    today = date.today()
    with city.client() as client:
        grid = client.get(f"{ADMIN_PREFIX}/reports", params={"first": "2024-03", "last": "2024-03",
                                                              "today": today.isoformat()}).json()
    cell = next(c for c in grid["cells"] if c["county_code"] == ANYANG)
    assert cell["state"] == "late" and cell["is_nil"]
    assert date.fromisoformat(cell["submitted_on"]) >= today - timedelta(days=1)
