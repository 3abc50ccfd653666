"""At push the server enforces the reporting rules whatever a county's store says: a locked month's report
is refused until the city reopens it, and the reporting calendar is the city's alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from city_server import CityServer, push, running_city_server

from schema.models import new_id
from schema.rules import period_of
from sync.admin_protocol import ADMIN_PREFIX

ANYANG = "410522"


@pytest.fixture
def city(tmp_path) -> Iterator[CityServer]:
    with running_city_server(tmp_path) as server:
        yield server


def report_change(period: str, report_id: str | None = None) -> dict:
    return {"table": "monthly_report", "id": report_id or new_id(), "base_version": 0, "fields": {
        "county_code": ANYANG, "period": period, "status": "submitted", "is_nil": True}}


def test_a_report_for_a_locked_month_is_refused_until_the_city_reopens_it(city) -> None:
    old_month = "2024-03"
    change = report_change(old_month)
    refused = push(city, ANYANG, "node-a", [change])["results"][0]
    assert (refused["status"], refused["reason"]) == ("rejected", "period_locked")
    with city.client() as client:
        client.post(f"{ADMIN_PREFIX}/periods/lock", json={
            "county_code": ANYANG, "period": old_month,
            "open_until": (date.today() + timedelta(days=7)).isoformat(), "reason": "同意补报"}).raise_for_status()
    accepted = push(city, ANYANG, "node-a", [report_change(old_month, change["id"])])["results"][0]
    assert accepted["status"] == "applied", accepted


def test_this_months_report_is_accepted(city) -> None:
    answer = push(city, ANYANG, "node-a", [report_change(period_of(date.today()))])["results"][0]
    assert answer["status"] == "applied", answer


def test_a_county_cannot_write_the_reporting_calendar(city) -> None:
    change = {"table": "reporting_deadline", "id": new_id(), "base_version": 0, "fields": {
        "county_code": ANYANG, "name": "月报锁定", "kind": "period_lock", "period": "2024-03",
        "due_on": "2099-01-01", "note": "自己解锁"}}
    answer = push(city, ANYANG, "node-a", [change])["results"][0]
    assert (answer["status"], answer["reason"]) == ("rejected", "city_owned")
