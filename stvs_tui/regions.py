"""The region list in a county store: loaded once from the shipped list, read by code.

Shared by the county TUI and the command line (both open stores), so it sits below both.
"""

from __future__ import annotations

from sqlmodel import select

from schema.models import Region
from schema.regions import install_regions, read_regions
from schema.store import Store


def ensure_regions(store: Store) -> None:
    """Load the shipped region list into a store that has none yet. Looked for as a reader (every start asks, and
    need not wait for a sync's write); loaded in a write session, which waits its turn while another program
    writes (and looks again: another process may have loaded it meanwhile)."""
    with store.session() as session:
        if session.exec(select(Region.code).limit(1)).first() is not None:
            return
    with store.write_session() as session:
        if session.exec(select(Region.code).limit(1)).first() is None:
            install_regions(session, read_regions())


def region_names(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {r.code: r.name for r in session.exec(select(Region).order_by(Region.code))}
