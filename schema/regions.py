"""The region list (GB/T 2260) as data: Anyang's ships with the package; another city loads its own CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import Session, delete

from schema.enums import RegionLevel
from schema.errors import InvalidValue
from schema.models import Region
from schema.validators import normalize_region_code

DEFAULT_REGION_FILE = Path(__file__).parent / "data" / "regions_410500.csv"


def read_regions(path: Path = DEFAULT_REGION_FILE) -> list[Region]:
    """Read a region CSV (columns code, name, level, parent_code, note); a bad line names its row."""
    regions: list[Region] = []
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            try:
                code = normalize_region_code(row.get("code", ""), field="code")
                if RegionLevel.from_label(row.get("level", "")) is None:
                    raise InvalidValue("level", f"unknown level {row.get('level')!r}")
            except InvalidValue as exc:
                raise InvalidValue(exc.error.field, f"{path} row {line_no}: {exc.error.message}") from None
            regions.append(Region(code=code, name=row["name"].strip(), level=row["level"].strip(),
                                  parent_code=(row.get("parent_code") or "").strip() or None,
                                  note=(row.get("note") or "").strip()))
    return regions


def install_regions(session: Session, regions: list[Region]) -> None:
    """Replace the region list in one transaction."""
    session.exec(delete(Region))
    session.add_all(regions)
    session.commit()


def county_regions(regions: list[Region]) -> list[Region]:
    """Units that run a county store: every region below the city (development zones included)."""
    return [r for r in regions if r.level != RegionLevel.CITY.value]
