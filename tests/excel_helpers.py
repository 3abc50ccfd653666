"""Workbooks and stores for the Excel tests, made on the fly (no binary fixtures in the repo)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook

from schema.models import Volunteer
from schema.store import Store
from schema.validators import id_check_char
from stvs_tui.demo import generate, store_demo

DEMO_TODAY = date(2026, 6, 15)
HEADERS = ["姓名", "证件号码", "手机号码", "工作单位", "人才类别"]


def resident_id(born: str = "19850312", serial: str = "123", region: str = "410522") -> str:
    body = f"{region}{born}{serial}"
    return body + id_check_char(body)


def write_book(path: Path, rows: Iterable[Sequence[Any]], *, above: Sequence[Sequence[Any]] = (),
               sheet: str = "名册") -> Path:
    """A workbook as a clerk would make it in Excel: optional title lines, then a header and rows."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet
    for line in above:
        ws.append(list(line))
    for row in rows:
        ws.append(list(row))
    workbook.save(path)
    return path


def fill_demo(store: Store, volunteers: int = 120, seed: int = 3) -> None:
    store_demo(store, generate("410522", "安阳县", volunteers, seed, DEMO_TODAY))


def volunteer_count(store: Store) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(Volunteer)).scalar_one()


def change_count(store: Store) -> int:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT COUNT(*) FROM change_log").scalar_one()
